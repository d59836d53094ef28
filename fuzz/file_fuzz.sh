#!/bin/bash
# file_fuzz.sh [SECONDS] - build fuzz/file_fuzz.c with clang (libFuzzer,
# ASan, UBSan) into build-fuzz/ and run it for SECONDS (default 60) on a
# seed corpus: small mbox files made of messages of ../shared/corpora
# (LF and CRLF, ">From " quoted, a From_ line of every form the splitter
# knows) and some single messages. Needs build/embedded.c (make build).
# Leaves nothing running.
. "$(dirname "$0")/lib.sh"
mkdir -p "$out/file-corpus"
[ -f build/embedded.c ] || make build >/dev/null
fuzz_cc file_fuzz fuzz/file_fuzz.c src/source/source.c src/source/reader.c src/source/pcap[a-z]*.c \
	src/source/tcp*.c src/mail/*.c src/attrib/*.c src/pipeline/pipeline.c \
	src/pipeline/store_worker.c src/store/*.c src/analysis/*.c src/smtp/*.c src/util/*.c build/embedded.c \
	$(pkg-config --cflags --libs gmime-3.0 libpcre2-8 sqlite3 gsl) -lpcap -lcrypto -lm
/usr/bin/python3 - "$out/file-corpus" <<'PY'
import glob, os, random, sys
out = sys.argv[1]
rng = random.Random(1)
msgs = sorted(f for f in glob.glob("../shared/corpora/*/*") if os.path.getsize(f) < 8192)
rng.shuffle(msgs)
froms = [b"From MAILER-DAEMON Mon Dec  2 12:00:00 2002\n", b"From - Tue Mar 15 09:30:12 2011\n",
         b"From bot@example.com Wed Mar 16 15:29:59 2011\n", b"From a@b  Thu Jan  1 00:00:00 1970\n"]
for i in range(40):
    body = b""
    for j in range(rng.randint(1, 3)):
        m = open(msgs[(3 * i + j) % len(msgs)], "rb").read()
        m = m.replace(b"\nFrom ", b"\n>From ")
        body += froms[(i + j) % len(froms)] + m.rstrip(b"\n") + b"\n\n"
    if i % 4 == 1:
        body = body.replace(b"\n", b"\r\n")
    open(os.path.join(out, "mbox-%02d" % i), "wb").write(body)
for i in range(20):
    open(os.path.join(out, "eml-%02d" % i), "wb").write(open(msgs[(200 + i) % len(msgs)], "rb").read())
PY
"$out/file_fuzz" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 "$out/file-corpus"
