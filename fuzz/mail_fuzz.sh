#!/bin/bash
# mail_fuzz.sh [SECONDS] - build fuzz/mail_fuzz.c with clang (libFuzzer,
# ASan, UBSan) into build-fuzz/ and run it for SECONDS (default 60) on a
# seed corpus of real spam: a few hundred messages of ../shared/corpora.
# Needs build/embedded.c (make build). Leaves nothing running.
. "$(dirname "$0")/lib.sh"
mkdir -p "$out/mail-corpus"
[ -f build/embedded.c ] || make build >/dev/null
# libFuzzer's own main; the pipeline's store code is linked but unused
fuzz_cc mail_fuzz fuzz/mail_fuzz.c src/mail/*.c src/attrib/*.c src/pipeline/pipeline.c src/pipeline/store_worker.c \
	src/store/*.c src/analysis/*.c src/smtp/*.c src/util/*.c build/embedded.c \
	$(pkg-config --cflags --libs gmime-3.0 libpcre2-8 sqlite3 gsl) -lcrypto -lm
# seeds: up to 300 messages of the shared corpora, each at most 64 KB
find ../shared/corpora -type f -size -64k 2>/dev/null | sort > "$out/mail-seeds.txt" || true
head -300 "$out/mail-seeds.txt" | while read -r f; do
	cp "$f" "$out/mail-corpus/$(echo "$f" | md5sum | cut -c1-16)"
done
"$out/mail_fuzz" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 "$out/mail-corpus"
