"""simulate --out F.pcap: tshark reads it without malformed packets or
expert warnings, decodes the SMTP commands, and the messages it finds
(Message-IDs in the IMF layer, at their packet times) match F.truth and
F.events.json. Messages of STARTTLS sessions are opaque; each such session
carries one legit message, so legit = visible + STARTTLS sessions."""
import collections
import datetime
import json
import os
import subprocess
import sys
import tempfile

SPAMTIDE = os.environ["SPAMTIDE"]
TMP = tempfile.mkdtemp(prefix="spamtide-simpcap-")
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what, file=sys.stderr)


def tshark(*args):
    p = subprocess.run(["tshark", "-n", "-r", os.path.join(TMP, "t.pcap"), *args], capture_output=True,
                       text=True, timeout=300)
    check(p.returncode == 0, f"tshark {args}: status {p.returncode}: {p.stderr[:300]}")
    return p


p = subprocess.run([SPAMTIDE, "simulate", "--scenario", "three-day", "--seed", "4", "--out", "t.pcap"],
                   cwd=TMP, capture_output=True, text=True, timeout=120)
check(p.returncode == 0, f"simulate: {p.returncode} {p.stderr}")
p2 = subprocess.run([SPAMTIDE, "simulate", "--scenario", "three-day", "--seed", "4", "--out", "u.pcap"],
                    cwd=TMP, capture_output=True, text=True, timeout=120)
with open(os.path.join(TMP, "t.pcap"), "rb") as a, open(os.path.join(TMP, "u.pcap"), "rb") as b:
    check(a.read() == b.read(), "the same seed gives different pcaps")

truth = {}
with open(os.path.join(TMP, "t.pcap.truth")) as f:
    for line in f:
        k, v = line.rstrip("\n").split("\t")
        truth[k] = v
events = json.load(open(os.path.join(TMP, "t.pcap.events.json")))

# no malformed packets, no expert warnings or errors
out = tshark()
check("alformed" not in out.stdout + out.stderr, "tshark reports malformed packets")
exp = tshark("-q", "-z", "expert,warn")
body = [l for l in exp.stdout.splitlines() if l.strip() and not l.startswith("=") and "Expert" not in l]
check(not body, "tshark expert warnings:\n" + "\n".join(body[:10]))

# the SMTP commands
cmds = collections.Counter(tshark("-Y", "smtp.req", "-T", "fields", "-e", "smtp.req.command").stdout.split())
print("commands:", dict(cmds))
for c in ("MAIL", "RCPT", "DATA", "QUIT"):
    check(cmds[c] > 0, f"no {c} commands decoded")
check(cmds["EHLO"] + cmds["HELO"] > 0, "no greetings decoded")
starttls = cmds["STAR"] + cmds["STARTTLS"]   # tshark splits STARTTLS as STAR + TLS

# the messages: Message-ID and packet time
seen = collections.Counter()
minutes = collections.defaultdict(list)
ids = set()
for line in tshark("-Y", "imf", "-T", "fields", "-e", "frame.time_epoch", "-e", "imf.message_id").stdout.splitlines():
    t, mid = line.split("\t")
    check(mid in truth, f"pcap message {mid} not in truth")
    check(mid not in ids, f"pcap message {mid} twice")
    ids.add(mid)
    label = truth.get(mid, "?")
    seen[label] += 1
    minutes[label].append(int(float(t)) // 60 * 60)
want = collections.Counter(truth.values())
print("pcap:", dict(seen), "STARTTLS sessions:", starttls, "truth:", dict(want))
for label in want:
    if label == "legit":
        check(seen[label] + starttls == want[label],
              f"legit: {seen[label]} visible + {starttls} STARTTLS != {want[label]}")
    else:
        check(seen[label] == want[label], f"{label}: {seen[label]} in the pcap, {want[label]} in truth")
check(starttls > 0, "no STARTTLS session in three-day (legit uses it 30% of the time)")


def iso(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


for i, e in enumerate(events):
    if e["type"] != "ceased":
        continue
    at = iso(e["at"])
    until = min([iso(r["at"]) for r in events[i + 1:] if r["family"] == e["family"] and r["type"] == "resumed"]
                or [10 ** 12])
    times = minutes[e["family"]]
    check(not [t for t in times if at < t < until], f"{e['family']}: pcap messages during the silence")
    check(at in times, f"{e['family']}: no pcap message in the minute of ceased {e['at']}")

subprocess.run(["rm", "-rf", TMP])
if FAILED:
    print(f"{len(FAILED)} checks failed", file=sys.stderr)
    sys.exit(1)
print("ok")
