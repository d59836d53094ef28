"""The trap's online event detector, through the real binary: a store holding
the last five days of two families (written by the simulator up to this
minute, ingested), one of which stopped three hours ago; the trap seeds its
detector from that history at start, and /metrics says, from the first
scrape, the one active and the other ceased; and `report` over that store
ends its period now, so the family still sending is not read as ceased.
Then the same families in a store that ends two hours ago (the trap was
down): the minutes since are not silence, so only the family that had
stopped before is ceased, in the trap and in `report` (a store no trap ran
on was watched up to its last message; once the trap has run on it, its
uptime says so). Last, an archive that ends at noon days ago: `report`
reads no silence after its last message. (The minute-by-minute decisions
with a simulated clock are
tests/unit/test_trap_online.c.)

Five days, not four: the first is partial (it begins at this minute of the
day, and a store that begins late does not teach a family its day), and
three whole days of history come before the detector judges (DESIGN.md).
With four, a test run in the first three hours of a UTC day had the
family stop before the detector could judge it, in the last day of its
history, and neither the trap nor `report` could call it ceased yet."""
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish, run, tmpdir  # noqa: E402
from test_trap import Trap  # noqa: E402

now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
d = tmpdir()
def write_conf(path, end, takedown=now - datetime.timedelta(hours=3)):
    with open(path, "w") as f:
        f.write(CONF % (iso(end - datetime.timedelta(days=5)), iso(end), iso(takedown)))


CONF = ("""# illustrative families, for this test only
[scenario]
name = recent
title = The last five days, one family stopped three hours ago
start = %s
end = %s
rcpt_domains = example.com

[template offer]
domains = offer.example
products = Watch|Bag
subject = {product} {pct}%% off
body = {product} for ${amount}. {sentence} {url}

[family egret]
rate = 90
pool = 5000
templates = offer
helo = {lower:6}
header = Message-ID: <{hex:16}@{from_domain}>
header = From: <{from}>
header = To: <{rcpt}>
header = Subject: {subject}
header = Date: {date}

[family ibis]
rate = 90
pool = 5000
takedown = %s
templates = offer
greet = HELO
helo = {ip}
header = Message-ID: <{digits:10}.{HEX:6}@{from_domain}>
header = Date: {date:gmt}
header = From: {sfirst} <{from}>
header = Subject: {subject}
header = To: <{rcpt}>
header = X-Mailer: Illustrative 1.0

[unknown]
# spam no family claims: many senders, never judged ceased (no state)
rate = 30
pool = 100000
""")
conf = os.path.join(d, "recent.conf")
write_conf(conf, now)

kb = os.path.join(d, "kb")
for fam in ("egret", "ibis"):
    sample = os.path.join(d, fam + ".mbox")
    p = run("simulate", "--scenario", conf, "--sandbox", fam, "--count", "200", "--seed", "1", "--out", sample)
    check(p.returncode == 0, "sandbox samples of " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, sample)
    check(p.returncode == 0, "learn " + fam, p)


def history(where, conf, seed):
    """The scenario's traffic, simulated and ingested: (its mbox, the store)."""
    mbox, db = os.path.join(where, "history.mbox"), os.path.join(where, "trap.db")
    p = run("simulate", "--scenario", conf, "--seed", str(seed), "--out", mbox)
    check(p.returncode == 0, "simulate the history in " + where, p)
    p = run("ingest", "--quiet", "--kb", kb, "--db", "sqlite:" + db, mbox)
    check(p.returncode == 0, "ingest the history in " + where, p)
    os.chmod(where, 0o755)
    return mbox, db


mbox, db = history(d, conf, 2)
os.chmod(kb, 0o755)

# the report over a live store: its period ends now, not at the end of the
# day (minutes still to come are no family's silence)
p = run("report", "--db", "sqlite:" + db, "--format", "json")
check(p.returncode == 0, "report over the history", p)
if p.returncode == 0:
    rep = json.loads(p.stdout)
    ceased = [e for e in rep["events"] if e["type"] == "ceased"]
    check([e["family"] for e in ceased] == ["ibis"], "only ibis ceased: %r" % rep["events"])
    check(rep["period"]["to"] <= iso(now + datetime.timedelta(minutes=2)),
          "the period ends now: %s" % rep["period"]["to"])

def states(db, what):
    """The trap started on db: each family's state in /metrics, and its log."""
    trap = Trap("--kb", kb, db=db)
    try:
        got = {fam: trap.metric("spamtide_trap_family_state", 'family="%s"' % fam)
               for fam in ("egret", "ibis")}
        check('spamtide_trap_family_state{family="unknown"}' not in trap.metrics(),
              "%s: unknown, no family, has no state" % what)
        log = open(trap.logpath).read()
    finally:
        check(trap.stop() == 0, "%s: the trap stops cleanly on SIGTERM" % what)
    return got, log


got, log = states(db, "seeded until now")
check(got["egret"] == 1, "egret, sending until now, is active (%r)" % got)
check(got["ibis"] == 2, "ibis, silent for three hours, has ceased (%r)" % got)
check(re.search(r"online detector: ibis ceased", log) is not None, "the log says so: " + log[-2000:])

# A trap that was down for the last two hours: its store ends then. That
# silence is the sensor's: egret, sending until the store ends, is still
# active at the restart (not ceased, to resume with its first message);
# ibis had stopped an hour before the store ends, and has ceased.
down = os.path.join(d, "down")
os.makedirs(down)
conf2 = os.path.join(down, "down.conf")
write_conf(conf2, now - datetime.timedelta(hours=2))
mbox2, db2 = history(down, conf2, 3)


def ceased_in_report(db, *extra):
    p = run("report", "--db", "sqlite:" + db, "--format", "json", *extra)
    check(p.returncode == 0, "report over " + db, p)
    return sorted(e["family"] for e in json.loads(p.stdout)["events"] if e["type"] == "ceased") \
        if p.returncode == 0 else None


# before any trap ran on it, the store was watched up to its last message
# (an archive's end is no family's cessation): the two hours since are no
# silence of egret's; ibis, which stopped an hour before the end, ceased
got_ceased = ceased_in_report(db2)
check(got_ceased == ["ibis"], "without uptime, the store ends with its last message: %r" % got_ceased)
got, log = states(db2, "down for two hours")
check(got["egret"] == 1, "after two hours down, egret is active, not ceased (%r)" % got)
check(got["ibis"] == 2, "ibis, which stopped before the trap did, has ceased (%r)" % got)

# The trap recorded its run (store_mark_up): from its last archived message
# to its start nothing watched, so `report` skips those two hours, as the
# trap's own detector did; only ibis ceased. The text says so.
got_ceased = ceased_in_report(db2)
check(got_ceased == ["ibis"], "with the trap's uptime, only ibis ceased: %r" % got_ceased)
p = run("report", "--db", "sqlite:" + db2)
check(p.returncode == 0 and re.search(r"No trap watched for 2\.\d hours of this period \(1 stretch\)",
                                      p.stdout) is not None,
      "the text report tells the unwatched hours", p)
# and a restart reads the same uptime: egret still active, ibis ceased
got, log = states(db2, "restarted on a store with uptime")
check(got == {"egret": 1, "ibis": 2}, "after a restart, egret active and ibis ceased (%r)" % got)

# An archive that ends at noon, days ago (no trap ran on it): its period
# runs to midnight, but nothing was watched after its last message, and
# only ibis (taken down at 09:00) ceased, not egret, sending until noon
# (read as ceased at 11:59 before). Nor a --to after its last day (an
# analyst's generous "to the end of the year"): the end of a capture is
# not every family's cessation.
old = os.path.join(d, "old")
os.makedirs(old)
conf3 = os.path.join(old, "old.conf")
end3 = (now - datetime.timedelta(days=3)).replace(hour=12, minute=0)
write_conf(conf3, end3, end3 - datetime.timedelta(hours=3))
mbox3, db3 = history(old, conf3, 4)
check(ceased_in_report(db3) == ["ibis"], "an archive is read up to its last message")
check(ceased_in_report(db3, "--to", iso(end3 + datetime.timedelta(hours=6))) == ["ibis"],
      "a --to after the archive's last day reads no silence after it")
check(ceased_in_report(db3, "--to", "2036-01-01") == ["ibis"], "nor a --to ten years on")
finish()
