#!/bin/bash
# pcap_fuzz.sh [SECONDS] - build fuzz/pcap_fuzz.c with clang (libFuzzer,
# ASan, UBSan) into build-fuzz/ and run it for SECONDS (default 60) on a
# seed corpus: tests/data/pcap/live.pcap and the damaged captures
# tests/data/pcap/mkpcap.py writes. Leaves nothing running.
. "$(dirname "$0")/lib.sh"
mkdir -p "$out/pcap-corpus"
fuzz_cc pcap_fuzz fuzz/pcap_fuzz.c src/source/pcapsrc.c src/source/pcapdec.c src/source/pcapsmtp.c \
	src/source/tcpflow.c src/source/tcpreasm.c src/smtp/*.c src/util/buf.c src/util/arena.c \
	src/util/xalloc.c src/util/hash.c src/util/ip.c src/util/limits.c src/util/log.c \
	-lpcap -lcrypto
cp tests/data/pcap/live.pcap "$out/pcap-corpus/"
# small seeds of every link type, pcap and pcapng, IPv4 and IPv6, a reset
# and an open session, reordered segments (mkpcap.py's own damage helpers)
/usr/bin/python3 - "$out/pcap-corpus" <<'PY'
import os, random, sys
sys.path.insert(0, "tests/data/pcap")
import mkpcap as m
out = sys.argv[1]
tr = m.load("swaks-1.txt")
links = (m.LINK_ETHERNET, m.LINK_NULL, m.LINK_RAW, m.LINK_LOOP, m.LINK_SLL, m.LINK_SLL2)
for i, link in enumerate(links):
    pk = m.session(tr, end=("fin", "rst", "open")[i % 3], mss=200 + 150 * i)
    m.write_pcap(os.path.join(out, "link%d.pcap" % link), pk, link=link)
    m.write_pcapng(os.path.join(out, "link%d.pcapng" % link), pk, link=link)
pk = m.session(tr, client=("2001:db8::7", 40002), server=("2001:db8::25", 25))
m.write_pcap(os.path.join(out, "v6.pcap"), pk)
pk = m.session(m.load("smtplib-1.txt"), mss=300)
body = pk[3:-3]
random.Random(1).shuffle(body)
m.write_pcap(os.path.join(out, "shuffled.pcap"), pk[:3] + body + pk[-3:], vlans=((0x8100, 100),))
PY
"$out/pcap_fuzz" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 "$out/pcap-corpus"
