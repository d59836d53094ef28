# lib.sh - sourced by the fuzz/*_fuzz.sh scripts: the working directory,
# the run's length and one clang command line for every target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out"

# fuzz_cc TARGET SOURCES... [LIBS]: build-fuzz/TARGET with libFuzzer, ASan, UBSan
fuzz_cc() {
	local target=$1
	shift
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc \
		-D_GNU_SOURCE -Werror=implicit-function-declaration \
		-DSPAMTIDE_VERSION='"fuzz"' "$@" -o "$out/$target"
}
