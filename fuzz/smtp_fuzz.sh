#!/bin/bash
# smtp_fuzz.sh [SECONDS] - build fuzz/smtp_fuzz.c with clang (libFuzzer,
# ASan, UBSan) into build-fuzz/ and run it for SECONDS (default 60) on the
# seed corpus made from tests/data/smtp transcripts. Leaves nothing running.
. "$(dirname "$0")/lib.sh"
mkdir -p "$out/corpus"
fuzz_cc smtp_fuzz fuzz/smtp_fuzz.c src/smtp/*.c src/util/buf.c src/util/arena.c src/util/xalloc.c \
	src/util/hash.c src/util/ip.c src/util/limits.c src/util/log.c \
	-lcrypto
# seeds: each transcript's client bytes as one feed after a greet
for f in tests/data/smtp/*.txt; do
	/usr/bin/python3 - "$f" "$out/corpus/$(basename "$f" .txt)" <<'PY'
import sys
data = b"\x03"
for line in open(sys.argv[1]):
    if line.startswith("C "):
        seg = line[2:].rstrip("\n").encode().decode("unicode_escape").encode("latin-1")
        while seg:
            chunk, seg = seg[:31], seg[31:]
            data += bytes([len(chunk) << 3]) + chunk
        data += b"\x06\x04"
open(sys.argv[2], "wb").write(data)
PY
done
"$out/smtp_fuzz" -max_total_time="$secs" -max_len=4096 "$out/corpus"
