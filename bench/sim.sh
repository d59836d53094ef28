#!/bin/bash
# bench/sim.sh - how fast `spamtide simulate` writes an mbox on one core.
#
# Usage: bench/sim.sh [BUILD_DIR] [SCENARIO] [OUT_DIR]
#   BUILD_DIR defaults to ./build, SCENARIO to rustock-2011 (about 400,000
#   messages), OUT_DIR to /dev/shm (memory, so the disk does not set the
#   pace) or /tmp where /dev/shm is missing.
# Prints messages, bytes, wall and CPU seconds and messages per second,
# pinned to one core with taskset when it is there. The target is at least
# 100,000 messages per second.
set -eu
BUILD=${1:-build}
SCENARIO=${2:-rustock-2011}
OUT=${3:-/dev/shm}
[ -d "$OUT" ] || OUT=/tmp
BIN=$BUILD/spamtide
[ -x "$BIN" ] || { echo "no $BIN: build first" >&2; exit 1; }
F=$(mktemp -u "$OUT/spamtide-bench-XXXXXX").mbox
trap 'rm -f "$F" "$F.truth" "$F.events.json"' EXIT
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"

for run in 1 2 3; do
	T=$( { /usr/bin/time -f "%e %U %S" $PIN "$BIN" simulate --scenario "$SCENARIO" --out "$F" >/dev/null; } 2>&1 | tail -1)
	N=$(wc -l < "$F.truth")
	B=$(stat -c %s "$F")
	set -- $T
	awk -v n="$N" -v b="$B" -v w="$1" -v u="$2" -v s="$3" -v r="$run" 'BEGIN {
		printf "run %d: %d messages, %.0f MB, %.2f s wall, %.2f s CPU: %.0f messages/s (wall), %.0f messages/s (CPU)\n",
		       r, n, b / 1e6, w, u + s, n / w, n / (u + s) }'
done
