#!/usr/bin/python3
"""pcap2transcript.py PCAP SERVER_PORT OUTDIR PREFIX - turn each TCP stream of
a capture into a transcript file OUTDIR/PREFIX-N.txt (N from 1): one line per
TCP segment with payload, "C " for client bytes and "S " for server bytes,
escaped (\\r \\n \\t \\\\ \\xNN). Lines starting with '#' are comments.
Needs tshark."""
import subprocess
import sys


def esc(b):
    out = []
    for c in b:
        if c == 0x0d:
            out.append("\\r")
        elif c == 0x0a:
            out.append("\\n")
        elif c == 0x09:
            out.append("\\t")
        elif c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def main():
    pcap, port, outdir, prefix = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    rows = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields",
         "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    streams = {}
    for r in rows:
        stream, sport, payload = r.split("\t")
        d = "S" if sport == port else "C"
        streams.setdefault(int(stream), []).append((d, bytes.fromhex(payload.replace(":", ""))))
    for i, k in enumerate(sorted(streams), 1):
        with open("%s/%s-%d.txt" % (outdir, prefix, i), "w") as f:
            f.write("# %s session %d; see capture.sh\n" % (prefix, i))
            for d, b in streams[k]:
                f.write("%s %s\n" % (d, esc(b)))


if __name__ == "__main__":
    main()
