"""Ingest all of ../shared/corpora (2,900 real messages) and check hand-verified
values, idempotence, and the report's schema on real data."""
import json
import os
import sqlite3

from spamtide_test import (CORPORA, check, check_report_schema, finish, run, tmpdir)

d = tmpdir()
db = os.path.join(d, "t.db")

p = run("ingest", "--quiet", "--db", "sqlite:" + db, CORPORA)
# README.md in the corpora folder is not mail: reported, and the exit status says so
check(p.returncode == 3, "ingest of the corpora exits 3 (README.md skipped)", p)
check("README.md" in p.stderr and "not a mail message" in p.stderr, "README.md reported", p)
check("2900 stored" in p.stdout, "all 2,900 messages stored", p)

con = sqlite3.connect(db)
count = con.execute("select count(*) from messages").fetchone()[0]
check(count == 2900, "2900 rows, got %d" % count)


def row(name):
    return con.execute(
        "select datetime(ts, 'unixepoch'), client_ip, helo, msgid_shape, message_id from messages"
        " where source like ?", ("%" + name + "#1",)).fetchone()


# Verified by reading the files: the top Received: hops are the archive's
# own (127.0.0.1, 192.168.x.x); the first external hop names the client.
r = row("csdmc2010-2009-2010/TRAIN_00011.eml")
check(r is not None and r[0] == "2010-04-15 12:14:12", "TRAIN_00011 receive time: %r" % (r,))
check(r is not None and r[1] == "120.60.8.28" and r[2] == "mtnl.net.in",
      "TRAIN_00011 client and HELO: %r" % (r,))
r = row("csdmc2010-2009-2010/TRAIN_00003.eml")
check(r is not None and r[3] == "<HEX12$HEX8$HEX8@DOMAIN>", "TRAIN_00003 Message-ID shape: %r" % (r,))
check(r is not None and r[1] == "58.108.196.180", "TRAIN_00003 client: %r" % (r,))

# every message got a plausible time: the corpora span 2001-2010
bad = con.execute("select count(*) from messages where ts < strftime('%s','2001-01-01') or "
                  "ts > strftime('%s','2010-12-31')").fetchone()[0]
check(bad == 0, "%d messages with an implausible receive time" % bad)
# the rollups hold exactly the stored rows
minutes = 0
for (blob,) in con.execute("select counts from minute_counts"):
    minutes += sum(int.from_bytes(blob[i:i + 4], "little") for i in range(0, len(blob), 4))
check(minutes == 2900, "minute rollups sum to 2900, got %d" % minutes)
daily = con.execute("select sum(messages) from daily").fetchone()[0]
check(daily == 2900, "daily rollups sum to 2900, got %s" % daily)
con.close()

# the same files again: nothing counted twice
p = run("ingest", "--quiet", "--db", "sqlite:" + db, CORPORA)
check("0 stored, 2900 duplicates" in p.stdout, "second ingest stores nothing new", p)

p = run("report", "--db", "sqlite:" + db, "--format", "json")
check(p.returncode == 0, "report json", p)
rep = json.loads(p.stdout)
check_report_schema(rep)
check(rep["total"]["messages"] == 2900, "report total 2900")
check(sum(d["total"] for d in rep["daily"]) == 2900, "daily totals sum to 2900")
check(rep["sensors"] == [{"name": "default", "messages": 2900}], "one sensor: %r" % rep["sensors"])

p = run("report", "--db", "sqlite:" + db, "--from", "2010-01-01", "--to", "2010-02-01", "--format", "json")
rep = json.loads(p.stdout)
check(rep["period"] == {"from": "2010-01-01T00:00:00Z", "to": "2010-02-01T00:00:00Z"}, "period as asked")
check(len(rep["daily"]) == 31, "31 days in January: %d" % len(rep["daily"]))
con = sqlite3.connect(db)
want = con.execute("select count(*) from messages where ts >= strftime('%s','2010-01-01') and "
                   "ts < strftime('%s','2010-02-01')").fetchone()[0]
check(rep["total"]["messages"] == want, "January total %d, want %d" % (rep["total"]["messages"], want))

p = run("report", "--db", "sqlite:" + db)
check(p.returncode == 0 and "messages" in p.stdout, "text report", p)
p = run("report", "--db", "sqlite:" + db, "--format", "csv", "--bucket", "1d",
        "--from", "2010-01-01", "--to", "2010-01-08")
lines = p.stdout.strip().splitlines()
check(lines[0].startswith("t,total"), "csv header", p)
check(len(lines) == 8, "csv: header and 7 days, got %d" % len(lines), p)

finish()
