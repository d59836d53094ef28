#!/bin/bash
# capture.sh - record small live captures of real SMTP clients for
# tests/unit/test_pcap.c. Run as root from this directory:
#   ./capture.sh [PORT]
# Writes:
#   live.pcap, live-N.txt  swaks, Python's smtplib (two messages, a leading
#                          dot) and Postfix's smtp-source (two messages,
#                          three recipients) against Postfix's smtp-sink;
#   tls.pcap, tls-N.txt    swaks with STARTTLS, then swaks without it,
#                          against tls_server.py (aiosmtpd, offers STARTTLS).
# The .txt files are the capture's TCP streams as tshark reassembles them
# (../smtp/pcap2transcript.py): the unit test feeds them to the SMTP core
# directly and checks that reading the capture gives the same messages and
# dialects. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")"
PORT=${1:-22527}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_tcpdump() {  # start_tcpdump FILE
	tcpdump -i lo -U --immediate-mode -w "$1" "tcp port $PORT" 2>"$tmp/tcpdump.err" & TD=$!
	pids+=($TD)
	for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.err" && break; sleep 0.1; done
	sleep 1   # "listening" comes before the capture really starts
}
stop_tcpdump() {
	sleep 0.5
	kill -INT "$TD"; wait "$TD" || true
	cat "$tmp/tcpdump.err" >&2
}

smtp-sink -u nobody 127.0.0.1:$PORT 100 & SINK=$!
pids+=($SINK)
sleep 0.5
start_tcpdump live.pcap
swaks --server 127.0.0.1:$PORT --helo mail1.example.net \
      --from alice@example.net --to bob@example.org >/dev/null
/usr/bin/python3 - "$PORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="mx9.example.org")
s.sendmail("carol@example.com", ["dave@example.org", "erin@example.net"],
           "Subject: two\r\n\r\n.leading dot\r\n")
s.sendmail("frank@example.com", ["gina@example.org"], "Subject: three\r\n\r\nbye\r\n")
s.quit()
PY
smtp-source -m 2 -r 3 -M relay7.example.com -f carol@example.com \
            -t dave@example.org 127.0.0.1:$PORT
stop_tcpdump
kill "$SINK"; wait "$SINK" 2>/dev/null || true
rm -f live-*.txt
/usr/bin/python3 ../smtp/pcap2transcript.py live.pcap "$PORT" . live

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tls.example \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
/usr/bin/python3 ./tls_server.py "$PORT" "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/srv.out" &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$tmp/srv.out" && break; sleep 0.1; done
start_tcpdump tls.pcap
swaks --server 127.0.0.1:$PORT --tls --helo secure.example.net \
      --from alice@example.net --to bob@example.org >/dev/null
swaks --server 127.0.0.1:$PORT --helo plain.example.net \
      --from carol@example.net --to dave@example.org >/dev/null
stop_tcpdump
rm -f tls-*.txt
/usr/bin/python3 ../smtp/pcap2transcript.py tls.pcap "$PORT" . tls
ls -l live.pcap tls.pcap
