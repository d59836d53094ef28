"""simulate --smtp against spamtide trap (issue: the main job): the
simulator's bots, each from its own 127.x.y.z address and in its own SMTP
dialect, deliver into a trap whose knowledge base was learned from sandbox
samples; at least 99 % of the stored messages are attributed to the family
that sent them, and every message the simulator saw accepted is stored."""
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish, run, tmpdir  # noqa: E402
from test_trap import Trap  # noqa: E402

d = tmpdir()
kb = os.path.join(d, "kb")
for fam in ("heron", "wren"):
    sample = os.path.join(d, "sandbox-%s.mbox" % fam)
    p = run("simulate", "--scenario", "three-day", "--sandbox", fam, "--count", "200", "--seed", "1",
            "--out", sample)
    check(p.returncode == 0, "sandbox samples of " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, sample)
    check(p.returncode == 0, "learn " + fam, p)
os.chmod(d, 0o755)
os.chmod(kb, 0o755)

trap = Trap("--kb", kb)
try:
    truth = os.path.join(d, "live")
    p = run("simulate", "--scenario", "three-day", "--seed", "2", "--max", "1500",
            "--smtp", "127.0.0.1:%d" % trap.port, "--rate", "1500", "--out", truth, timeout=300)
    check(p.returncode == 0, "every message delivered", p)
    m = re.search(r"(\d+) delivered", p.stdout + p.stderr)
    delivered = int(m.group(1)) if m else -1
    check(delivered == 1500, "1500 messages delivered (%d)" % delivered, p)
finally:
    check(trap.stop() == 0, "the trap stops cleanly on SIGTERM")

labels = dict(l.rstrip("\n").split("\t") for l in open(truth + ".truth"))
con = sqlite3.connect("file:%s?mode=ro" % trap.db, uri=True)
rows = con.execute("SELECT m.message_id, f.name, m.dialect_id FROM messages m "
                   "JOIN families f ON f.id = m.family_id").fetchall()
con.close()
check(len(rows) == delivered, "every accepted message stored: %d rows, %d delivered"
      % (len(rows), delivered))
right = 0
wrong = []
for mid, fam, dialect in rows:
    want = labels.get(mid)
    if want is None:
        wrong.append((mid, fam, "no label"))
        continue
    want = want if want in ("heron", "wren") else "unknown"
    if fam == want:
        right += 1
    else:
        wrong.append((mid, fam, want))
rate = right / len(rows) if rows else 0
print("attributed as sent: %d of %d (%.2f %%)" % (right, len(rows), 100 * rate))
check(rate >= 0.99, "at least 99 %% attributed to the family that sent them (%.4f): %r"
      % (rate, wrong[:5]))
check(all(r[2] and r[2].startswith("dialect:") for r in rows), "every row has its dialect id")
finish()
