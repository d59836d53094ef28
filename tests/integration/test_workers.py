"""classify, ingest and report on several threads (--jobs): the same answers, in the
same order, as on one. On the simulator's mixed capture (sessions, STARTTLS
sessions without content) and mbox, and on the real corpora (charsets of
every kind), with a message that is not mail and an empty file among them:
classify's JSON, text and --truth output, and what it says on stderr, are
byte for byte those of --jobs 1; ingest stores
the same rows with the same ids, hashes and rollups, and a second ingest
finds every message a duplicate (encrypted sessions too: they have no
bytes to hash, so their flow and time are hashed). report, whose events
are judged on several threads, gives the same report with --jobs 4 as
with --jobs 1.

`make test` also runs this script against a ThreadSanitizer build
(test-tsan): any data race fails it."""
import json
import os
import shutil
import sqlite3
import subprocess

from spamtide_test import CORPORA, SRCDIR, check, finish, run, tmpdir

d = tmpdir()
kb = os.path.join(d, "kb")
for fam in ("heron", "wren"):
    sample = os.path.join(d, "sandbox-%s.mbox" % fam)
    p = run("simulate", "--scenario", "three-day", "--sandbox", fam, "--count", "100", "--seed", "1",
            "--out", sample)
    check(p.returncode == 0, "sandbox samples of " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, sample)
    check(p.returncode == 0, "learn " + fam, p)

inputs = {}
for ext in ("pcap", "mbox"):
    path = os.path.join(d, "mix." + ext)
    p = run("simulate", "--scenario", "three-day", "--seed", "2", "--out", path)
    check(p.returncode == 0, "mixed traffic as " + ext, p)
    inputs[ext] = [path]
# real mail of every charset, and one file that is not mail
real = os.path.join(d, "real")
shutil.copytree(os.path.join(CORPORA, "csdmc2010-2009-2010"), real)
with open(os.path.join(real, "zz-not-mail.eml"), "w") as f:
    f.write("this is not a mail message\n")
# and one the source itself skips: its account must come in its turn too
open(os.path.join(real, "zz-empty.eml"), "w").close()
inputs["real"] = [real, os.path.join(CORPORA, "spamassassin")]
FORMATS = (["--format", "json"], ["--format", "text"],
           ["--format", "json", "--truth", os.path.join(d, "mix.mbox.truth")])
if os.environ.get("SPAMTIDE_SANITIZER") == "thread":
    # ten times slower: the JSON lines only, and the smaller real corpus
    # (its charsets are as varied)
    inputs["real"] = [real]
    FORMATS = FORMATS[:1]

for what, paths in inputs.items():
    for fmt in FORMATS:
        if what == "real" and "--truth" in fmt:
            continue
        outs = []
        for jobs in ("1", "4"):
            p = run("classify", "--kb", kb, "--jobs", jobs, *fmt, *paths)
            check(p.returncode in (0, 3), "classify %s %s --jobs %s" % (what, fmt, jobs), p)
            outs.append((p.returncode, p.stdout, p.stderr))
        check(outs[0] == outs[1], "classify %s %s: --jobs 4 answers as --jobs 1 (%d and %d bytes)"
              % (what, " ".join(fmt), len(outs[0][1]), len(outs[1][1])))
        check(len(outs[0][1]) > 200, "classify %s %s printed something" % (what, " ".join(fmt)))

ROWS = ("SELECT id, ts, sensor_id, family_id, confidence, campaign, hash, source, client_ip, helo, "
        "envelope_from, rcpts, size, message_id, msgid_shape, subject, x_mailer, dialect_id, dialect, "
        "encrypted, warnings, features FROM messages ORDER BY id")
ROLLUPS = ("SELECT * FROM minute_counts ORDER BY day, sensor_id, family_id",
           "SELECT * FROM hourly ORDER BY hour, sensor_id, family_id",
           "SELECT * FROM hourly_clients ORDER BY hour, sensor_id, family_id",
           "SELECT * FROM daily_clients ORDER BY day, sensor_id, family_id",
           "SELECT * FROM campaign_daily ORDER BY day, campaign, family_id")


def stored(db):
    con = sqlite3.connect(db)
    got = [con.execute(ROWS).fetchall()] + [con.execute(q).fetchall() for q in ROLLUPS]
    con.close()
    return got


for what, paths in inputs.items():
    got = []
    for jobs in ("1", "4"):
        db = os.path.join(d, "%s-%s.db" % (what, jobs))
        p = run("ingest", "--quiet", "--kb", kb, "--jobs", jobs, "--db", "sqlite:" + db, *paths)
        check(p.returncode in (0, 3), "ingest %s --jobs %s" % (what, jobs), p)
        got.append((p.returncode, p.stdout.split("(")[0], p.stderr, stored(db)))
        if jobs == "4":
            p = run("ingest", "--quiet", "--kb", kb, "--jobs", jobs, "--db", "sqlite:" + db, *paths)
            check(p.returncode in (0, 3) and " 0 stored," in p.stdout,
                  "ingest %s again: every message a duplicate" % what, p)
    check(got[0] == got[1], "ingest %s: --jobs 4 stores what --jobs 1 does (%d rows)"
          % (what, len(got[0][3][0])))
    check(len(got[0][3][0]) > 100, "ingest %s stored rows" % what)
    if what == "real":
        check("not a mail message" in got[1][2] and "empty file" in got[1][2],
              "the file that is not mail and the empty one are reported", None)

# report judges families for events on several threads: the same report.
# A store of bench/events (seed 6: 6 families over 29 days, two pauses,
# a drop and a surge)
env = dict(os.environ, SPAMTIDE=os.path.abspath(os.environ["SPAMTIDE"]),
           BENCH_EVENTS_DB=os.path.join(d, "events.db"))
p = subprocess.run(["/usr/bin/python3", os.path.join(SRCDIR, "bench", "events"), "1", "6"],
                   capture_output=True, text=True, env=env, timeout=900)
check(p.returncode == 0, "bench/events builds a store", p)
outs = []
for jobs in ("1", "4"):
    p = run("report", "--db", "sqlite:" + env["BENCH_EVENTS_DB"], "--format", "json", "--jobs", jobs)
    check(p.returncode == 0, "report --jobs " + jobs, p)
    outs.append((p.stdout, p.stderr))
check(outs[0] == outs[1], "report: --jobs 4 answers as --jobs 1 (%d bytes)" % len(outs[0][0]))
events = json.loads(outs[0][0])["events"] if outs[0][0] else []
check({"ceased", "resumed", "drop", "surge"} <= {e["type"] for e in events},
      "report: the store has events of every type (%d events)" % len(events))
p = run("report", "--jobs", "0", "--db", "sqlite:" + env["BENCH_EVENTS_DB"])
check(p.returncode == 2 and "--jobs" in p.stderr, "report --jobs 0 is a usage error", p)

p = run("classify", "--jobs", "0", inputs["mbox"][0])
check(p.returncode == 2 and "--jobs" in p.stderr, "--jobs 0 is a usage error", p)
p = run("ingest", "--jobs", "x", inputs["mbox"][0])
check(p.returncode == 2 and "--jobs" in p.stderr, "--jobs x is a usage error", p)
finish()
