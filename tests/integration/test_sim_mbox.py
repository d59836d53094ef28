"""simulate --out F.mbox: byte-identical for a seed, readable by Python's
mailbox, per-family counts as in F.truth, the trap's Received line in the
DESIGN.md form, events that the message times bear out, and the command
line contract (help, usage errors, malformed scenario files)."""
import collections
import datetime
import email.utils
import json
import mailbox
import os
import re
import subprocess
import sys
import tempfile

SPAMTIDE = os.environ["SPAMTIDE"]
TMP = tempfile.mkdtemp(prefix="spamtide-sim-")
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, want=0):
    p = subprocess.run([SPAMTIDE, "simulate", *args], cwd=TMP, capture_output=True, text=True, timeout=120)
    check(p.returncode == want, f"simulate {' '.join(args)}: status {p.returncode}, want {want}\n"
          f"stdout: {p.stdout[:500]}\nstderr: {p.stderr[:500]}")
    return p


def read(path):
    with open(os.path.join(TMP, path), "rb") as f:
        return f.read()


def truth_of(path):
    t = {}
    for line in read(path).decode().splitlines():
        key, label = line.split("\t")
        check(key not in t, f"{path}: {key} twice")
        t[key] = label
    return t


TRAP_RECEIVED = re.compile(
    r"^from (\S+) \(unknown \[(\d+\.\d+\.\d+\.\d+)\]\)\s+by trap\.example\.net \(spamtide\) "
    r"with E?SMTPS? id [0-9A-F]{10}(?:\s+for <[^>]+>)?;\s+(.+)$", re.S)

# --- same seed, same bytes; another seed, other bytes --------------------------------
run("--scenario", "three-day", "--out", "a.mbox", "--seed", "7")
run("--scenario", "three-day", "--out", "b.mbox", "--seed", "7")
run("--scenario", "three-day", "--out", "c.mbox", "--seed", "8")
for ext in ("", ".truth", ".events.json"):
    check(read("a.mbox" + ext) == read("b.mbox" + ext), f"seed 7 twice: a.mbox{ext} differs from b.mbox{ext}")
check(read("a.mbox") != read("c.mbox"), "seeds 7 and 8 give the same mbox")
check(read("a.mbox.truth") != read("c.mbox.truth"), "seeds 7 and 8 give the same truth")

# --- the mbox read back ------------------------------------------------------------------
truth = truth_of("a.mbox.truth")
events = json.loads(read("a.mbox.events.json"))
counts = collections.Counter()
minutes = collections.defaultdict(list)     # family -> minutes of its messages
n = 0
for msg in mailbox.mbox(os.path.join(TMP, "a.mbox")):
    n += 1
    mid = msg["Message-ID"]
    check(mid in truth, f"message {n}: Message-ID {mid} not in the truth file")
    label = truth.get(mid, "?")
    counts[label] += 1
    received = msg.get_all("Received")[0]
    m = TRAP_RECEIVED.match(received)
    check(m is not None, f"message {n}: topmost Received not the trap's: {received!r}")
    if m:
        when = email.utils.parsedate_to_datetime(m.group(3)).timestamp()
        minutes[label].append(int(when // 60) * 60)
    check(msg.get_payload() is not None, f"message {n}: no body")
    check(msg["Return-Path"] is not None and msg["Delivered-To"] is not None,
          f"message {n}: delivery headers missing")
check(n == len(truth), f"mbox holds {n} messages, truth {len(truth)}")
want = collections.Counter(truth.values())
check(counts == want, f"per-family counts from the mbox {dict(counts)} != truth {dict(want)}")
for label in ("heron", "wren", "unknown", "legit"):
    check(counts[label] > 0, f"no {label} messages")
print("mbox:", n, "messages", dict(counts))

# --- events borne out by the message times ---------------------------------------------
def iso_min(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


check(any(e["type"] == "ceased" for e in events), "no ceased event in three-day")
for i, e in enumerate(events):
    for key in ("family", "type", "at", "before_rate_per_hour", "after_rate_per_hour", "confidence", "impact"):
        check(key in e, f"event {i} lacks {key}")
    if e["type"] != "ceased":
        continue
    at = iso_min(e["at"])
    until = min([iso_min(r["at"]) for r in events[i + 1:] if r["family"] == e["family"] and r["type"] == "resumed"]
                or [10 ** 12])
    times = minutes[e["family"]]
    inside = [t for t in times if at < t < until]
    before = [t for t in times if at - 1800 < t <= at]
    check(not inside, f"{e['family']}: {len(inside)} messages between ceased {e['at']} and its return")
    check(len(before) > 0, f"{e['family']}: no messages in the 30 minutes before ceased {e['at']}")
    check(at in times, f"{e['family']}: no message in the minute of ceased {e['at']}")
    if until < 10 ** 12:
        check(until in times, f"{e['family']}: no message in the minute it resumed")

# --- sandbox ---------------------------------------------------------------------------------
run("--scenario", "three-day", "--sandbox", "wren", "--count", "50", "--out", "sb.mbox")
sb = list(mailbox.mbox(os.path.join(TMP, "sb.mbox")))
check(len(sb) == 50, f"sandbox: {len(sb)} messages, want 50")
check(all("[10.66.6.6]" in m.get_all("Received")[0] for m in sb), "sandbox: not all from 10.66.6.6")
check(set(truth_of("sb.mbox.truth").values()) == {"wren"}, "sandbox: truth holds other labels")
check(json.loads(read("sb.mbox.events.json")) == [], "sandbox: events not empty")

# --- --max, a scenario file, --list ----------------------------------------------------------
run("--scenario", "three-day", "--out", "max.mbox", "--max", "25")
check(len(truth_of("max.mbox.truth")) == 25, "--max 25 did not give 25 messages")
conf = os.path.join(os.environ["SRCDIR"], "sim", "scenarios", "three-day.conf")
run("--scenario", conf, "--out", "file.mbox", "--seed", "7")
check(read("file.mbox") == read("a.mbox"), "the scenario file and the built-in one differ")
p = run("--list")
check("rustock-2011" in p.stdout and "two-week" in p.stdout, "--list lacks the built-in scenarios")

# --- usage errors and malformed files --------------------------------------------------------
p = run("--help")
check(p.stdout.startswith("usage: spamtide simulate"), "--help does not start with usage")
run("--no-such-option", want=2)
run("--out", "x.mbox", want=2)                                   # no scenario
run("--scenario", "three-day", want=2)                           # nothing to write
run("--scenario", "three-day", "--out", "x.txt", want=2)         # unknown extension
run("--scenario", "three-day", "--out", "x.mbox", "--seed", "abc", want=2)
run("--scenario", "three-day", "--out", "x.mbox", "--sandbox", "nosuch", want=2)
p = run("--scenario", "no-such-scenario", "--out", "x.mbox", want=1)
check("no-such-scenario" in p.stderr, "a missing scenario is not named")
bad = os.path.join(TMP, "bad.conf")
with open(bad, "w") as f:
    f.write("[scenario]\nstart = 2011-01-01\nend = 2011-01-02\n\n[family x]\nrate = 5\npool = 10\n"
            "templates = nope\nheader = Message-ID: <{hex:8}@a.example>\n")
p = run("--scenario", bad, "--out", "x.mbox", want=1)
check(f"{bad}:8: templates: no [template nope]" in p.stderr, f"malformed file error: {p.stderr!r}")
p = run("--scenario", "three-day", "--out", "/nonexistent/dir/x.mbox", want=1)
check("/nonexistent/dir/x.mbox" in p.stderr, "an unwritable output is not named")

subprocess.run(["rm", "-rf", TMP])
if FAILED:
    print(f"{len(FAILED)} checks failed", file=sys.stderr)
    sys.exit(1)
print("ok")
