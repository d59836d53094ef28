"""A period that cuts hours and days counts what is inside it, and only that.

The rollups hold whole hours (recipients, bytes, client sketches) and
whole days (campaigns); a period from 10:06 to 10:07 used to count the
whole hour's recipients and bytes (15 clients for 7 messages) and the
whole day's campaigns (283 messages of a campaign in a period with
none). Each sub-period here (inside one hour, across hours, across days,
on whole hours, on whole days) is checked against the messages table of
the same store, counted directly: messages, recipients and bytes exactly,
distinct clients within what the HyperLogLog sketch allows, the largest
campaigns and their counts exactly; and each day of the daily table
against its messages.
"""
import json
import os
import sqlite3

from spamtide_test import check, finish, run, tmpdir

PERIODS = [
    ("2011-03-02T10:06:00Z", "2011-03-02T10:07:00Z"),    # one minute
    ("2011-03-02T10:02:00Z", "2011-03-02T10:03:00Z"),
    ("2011-03-02T10:10:00Z", "2011-03-02T10:50:00Z"),    # inside an hour
    ("2011-03-01T09:47:00Z", "2011-03-01T11:00:00Z"),    # a cut hour, a whole one
    ("2011-03-02T07:30:00Z", "2011-03-04T08:30:00Z"),    # cut hours and days
    ("2011-03-02T12:04:00Z", "2011-03-03T17:04:00Z"),
    ("2011-03-02T06:00:00Z", "2011-03-02T09:00:00Z"),    # whole hours
    ("2011-03-02T00:00:00Z", "2011-03-03T00:00:00Z"),    # a whole day
]


def seconds(t):
    import datetime
    return int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


d = tmpdir()
mbox = os.path.join(d, "t.mbox")
path = os.path.join(d, "p.db")
p = run("simulate", "--scenario", "three-day", "--out", mbox)
check(p.returncode == 0, "simulate", p)
p = run("ingest", "--db", "sqlite:" + path, mbox)
check(p.returncode == 0, "ingest", p)
con = sqlite3.connect(path)
for a, b in PERIODS:
    what = "%s to %s: " % (a, b)
    p = run("report", "--db", "sqlite:" + path, "--format", "json", "--from", a, "--to", b)
    check(p.returncode == 0, what + "report", p)
    if p.returncode != 0:
        continue
    r = json.loads(p.stdout)
    lo, hi = seconds(a), seconds(b)
    m, rc, by, cl = con.execute("SELECT count(*), coalesce(sum(rcpts), 0), coalesce(sum(size), 0),"
                                " count(DISTINCT client_ip) FROM messages WHERE ts >= ? AND ts < ?",
                                (lo, hi)).fetchone()
    t = r["total"]
    check((t["messages"], t["recipients"], t["bytes"]) == (m, rc, by),
          what + "messages, recipients, bytes %r, counted %r" %
          ((t["messages"], t["recipients"], t["bytes"]), (m, rc, by)))
    check(abs(t["clients"] - cl) <= max(2, 0.04 * cl), what + "clients %d, counted %d" % (t["clients"], cl))
    for f in r["families"]:
        fm, frc, fby = con.execute(
            "SELECT count(*), coalesce(sum(rcpts), 0), coalesce(sum(size), 0) FROM messages m"
            " JOIN families f ON f.id = m.family_id WHERE f.name = ? AND ts >= ? AND ts < ?",
            (f["name"], lo, hi)).fetchone()
        check((f["messages"], f["recipients"], f["bytes"]) == (fm, frc, fby),
              what + "%s: %r, counted %r" % (f["name"], (f["messages"], f["recipients"], f["bytes"]),
                                             (fm, frc, fby)))
    camp = con.execute("SELECT campaign, count(*) AS n FROM messages WHERE ts >= ? AND ts < ?"
                       " AND campaign IS NOT NULL GROUP BY campaign ORDER BY n DESC, campaign LIMIT 10",
                       (lo, hi)).fetchall()
    got = [(c["id"], c["messages"]) for c in r["campaigns"]]
    check(got == [tuple(x) for x in camp], what + "campaigns %r, counted %r" % (got[:4], camp[:4]))
    for day in r["daily"]:
        d0 = max(lo, seconds(day["date"] + "T00:00:00Z"))
        d1 = min(hi, seconds(day["date"] + "T00:00:00Z") + 86400)
        n = con.execute("SELECT count(*) FROM messages WHERE ts >= ? AND ts < ?", (d0, d1)).fetchone()[0]
        check(day["total"] == n, what + "%s: %d messages, counted %d" % (day["date"], day["total"], n))
finish()
