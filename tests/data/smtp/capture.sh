#!/bin/bash
# capture.sh - record what real SMTP clients send, as transcripts for
# tests/unit/test_smtp.c. Run as root from this directory:
#   ./capture.sh [PORT]
# It serves mimic.py (which answers like spamtide's core) on 127.0.0.1,
# captures with tcpdump, drives swaks, Python's smtplib and Postfix's
# smtp-source twice each (other addresses, recipients, HELO names and
# message counts the second time), and writes swaks-N.txt, smtplib-N.txt
# and smtp-source-N.txt through pcap2transcript.py. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")"
PORT=${1:-22526}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

/usr/bin/python3 ./mimic.py "$PORT" & pids+=($!)
sleep 0.5

capture() {  # capture NAME: runs the client function NAME_sessions under tcpdump
	local name=$1
	tcpdump -i lo -U -w "$tmp/$name.pcap" "tcp port $PORT" >/dev/null 2>&1 & local td=$!
	pids+=($td)
	sleep 1
	"${name//-/_}_sessions"
	sleep 1
	kill "$td"; wait "$td" 2>/dev/null || true
	/usr/bin/python3 ./pcap2transcript.py "$tmp/$name.pcap" "$PORT" . "$name"
	for f in "$name"-*.txt; do sed -i "1a # client: $2" "$f"; done
}

swaks_sessions() {
	swaks --server 127.0.0.1:$PORT --helo mail1.example.net \
	      --from alice@example.net --to bob@example.org >/dev/null
	swaks --server 127.0.0.1:$PORT --helo relay7.example.com \
	      --from carol@example.com --to dave@example.org,erin@example.net >/dev/null
}

smtplib_sessions() {
	/usr/bin/python3 - "$PORT" <<'PY'
import smtplib, sys
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port, local_hostname="host1.example.net")
s.sendmail("alice@example.net", ["bob@example.org"], "Subject: one\r\n\r\nhello\r\n")
s.quit()
s = smtplib.SMTP("127.0.0.1", port, local_hostname="mx9.example.org")
s.sendmail("carol@example.com", ["dave@example.org", "erin@example.net"],
           "Subject: two\r\n\r\n.leading dot\r\n")
s.sendmail("frank@example.com", ["gina@example.org"], "Subject: three\r\n\r\nbye\r\n")
s.quit()
PY
}

smtp_source_sessions() {
	smtp-source -m 1 -r 1 -M host1.example.net -f alice@example.net \
	            -t bob@example.org 127.0.0.1:$PORT
	smtp-source -d -m 2 -r 3 -M relay7.example.com -f carol@example.com \
	            -t dave@example.org 127.0.0.1:$PORT
}

capture swaks "$(swaks --version | head -1)"
capture smtplib "Python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])') smtplib"
capture smtp-source "Postfix $(dpkg-query -W -f='${Version}' postfix) smtp-source"
