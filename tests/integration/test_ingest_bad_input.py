"""Bad input (issue: foundation, item 8). What cannot be stored is reported
with file and position, the rest is stored, exit 3; what can be stored with
a fallback is stored and counted as a warning, exit 0; a store that cannot
be written stops the command with exit 1 and keeps what was committed."""
import os
import sqlite3
import subprocess

from spamtide_test import CORPORA, check, finish, run, tmpdir

d = tmpdir()


def write(name, data):
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---- stored with a fallback: exit 0, counted in the summary ----
fb = os.path.join(d, "fallback")
write("fallback/nul.eml", b"Subject: nul\x00bytes\nMessage-ID: <nul@x>\n\nbody\x00with nul\n")
write("fallback/headers-only.eml", b"Subject: only headers\nMessage-ID: <ho@x>\n")
write("fallback/long-line.eml", b"Subject: " + b"x" * (1024 * 1024) + b"\nMessage-ID: <long@x>\n\nbody\n")
write("fallback/many-headers.eml",
      b"".join(b"X-H%d: v\n" % i for i in range(100000)) + b"Message-ID: <many@x>\n\nbody\n")
deep = b"MIME-Version: 1.0\nMessage-ID: <deep@x>\n"
for i in range(1000):
    deep += b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
deep += b"Content-Type: text/plain\n\ndeep\n"
for i in reversed(range(1000)):
    deep += b"--b%d--\n" % i
write("fallback/deep-mime.eml", deep)
write("fallback/bad-base64.eml", b"Message-ID: <b64@x>\nContent-Type: text/plain\n"
      b"Content-Transfer-Encoding: base64\n\nSGVsbG8g!!d29y#bGQ=\n")
write("fallback/bad-qp.eml", b"Message-ID: <qp@x>\nContent-Type: text/plain\n"
      b"Content-Transfer-Encoding: quoted-printable\n\nbad =ZZ escape=\n")
write("fallback/bad-charset.eml", b"Message-ID: <cs@x>\nSubject: =?x-unknown?Q?caf=E9?=\n"
      b"Content-Type: text/plain; charset=x-no-such-charset\n\ncaf\xe9\n")
write("fallback/year-0102.eml", b"Message-ID: <y0102@x>\nDate: Mon, 1 Jan 0102 00:00:00 +0000\n\nbody\n")
write("fallback/year-2099.eml",
      b"Received: from a ([192.0.2.1]) by b; Thu, 1 Jan 2099 00:00:00 +0000\n"
      b"Message-ID: <y2099@x>\nDate: Wed, 16 Mar 2011 15:30:00 +0000\n\nbody\n")

db = os.path.join(d, "fb.db")
p = run("ingest", "--quiet", "--db", "sqlite:" + db, fb)
check(p.returncode == 0, "fallbacks exit 0", p)
check("10 stored, 0 duplicates, 10 stored with fallbacks, 0 skipped" in p.stdout, "fallback summary", p)
con = sqlite3.connect(db)
rows = dict(con.execute("select message_id, warnings from messages"))
check(len(rows) == 10, "10 rows: %r" % rows)
for mid, w in rows.items():
    check(w != 0, "%s carries a warning" % mid)
ts = con.execute("select datetime(ts,'unixepoch') from messages where message_id='<y2099@x>'").fetchone()[0]
check(ts == "2011-03-16 15:30:00", "2099 Received date skipped for Date: got %s" % ts)
ts = con.execute("select ts from messages where message_id='<y0102@x>'").fetchone()[0]
check(ts == int(os.stat(os.path.join(fb, "year-0102.eml")).st_mtime),
      "year 0102 falls back to the file's mtime")
con.close()

# ---- cannot be stored: reported with file and position, the rest stored, exit 3 ----
bad = os.path.join(d, "bad")
write("bad/garbage.bin", bytes((i * 7919 + 13) % 256 for i in range(65536)).replace(b"\n", b"\x01"))
write("bad/truncated.eml", b"Message-ID: <t@x>\nSubject: cut\nTo: someb")
write("bad/empty.eml", b"")
write("bad/good.eml", b"Message-ID: <good@x>\nSubject: fine\n\nok\n")
write("bad/mbox", b"From a@b Mon Dec  2 12:00:00 2002\nMessage-ID: <m1@x>\n\none\n\n"
      b"From a@b Mon Dec  2 12:00:01 2002\n\x00\x01\x02\x03 binary junk\n\n"
      b"From a@b Mon Dec  2 12:00:02 2002\nMessage-ID: <m3@x>\n\nthree\n")
os.symlink(".", os.path.join(bad, "loop"))
os.symlink(os.path.join(d, "no-such-file"), os.path.join(bad, "dangling"))
db = os.path.join(d, "bad.db")
p = run("ingest", "--quiet", "--db", "sqlite:" + db, bad)
check(p.returncode == 3, "unstorable input exits 3", p)
check("3 stored" in p.stdout and "6 skipped" in p.stdout, "3 stored, 6 skipped", p)
for want in ("garbage.bin: message 1 at byte 0: not a mail message",
             "truncated.eml: message 1 at line 1 (byte 0): truncated",
             "empty.eml: empty file",
             "loop: symlink loop",
             "dangling: No such file",
             "mbox: message 2 at byte"):
    check(want in p.stderr, "stderr names: " + want, p)
con = sqlite3.connect(db)
ids = sorted(r[0] for r in con.execute("select message_id from messages"))
check(ids == ["<good@x>", "<m1@x>", "<m3@x>"], "the readable messages stored: %r" % ids)
con.close()

# ---- a store that cannot be written: exit 1, committed rows intact ----
good = write("one/good.eml", b"Message-ID: <one@x>\nSubject: x\n\nbody\n")
corrupt = write("corrupt.db", b"this is not a database" * 500)
p = run("ingest", "--quiet", "--db", "sqlite:" + corrupt, good)
check(p.returncode == 1 and "not a spamtide database, or corrupt" in p.stderr, "corrupt store: exit 1", p)


def try_mount(path, size):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                          capture_output=True).returncode == 0


ro = os.path.join(d, "ro")
if try_mount(ro, "4m"):
    try:
        p = run("ingest", "--quiet", "--db", "sqlite:" + ro + "/t.db", good)
        check(p.returncode == 0, "ingest into the future read-only store", p)
        subprocess.run(["mount", "-o", "remount,ro", ro], check=True)
        p = run("ingest", "--quiet", "--db", "sqlite:" + ro + "/t.db",
                write("two/other.eml", b"Message-ID: <two@x>\n\nbody\n"))
        check(p.returncode == 1 and "read-only" in p.stderr, "read-only store: exit 1", p)
        p = run("report", "--db", "sqlite:" + ro + "/t.db", "--format", "json")
        check(p.returncode == 0 and '"messages": 1' in p.stdout, "read-only store still reports", p)
    finally:
        subprocess.run(["umount", ro])
else:
    # without mount rights: a read-only file is refused to an unprivileged user
    path = os.path.join(d, "ro.db")
    p = run("ingest", "--quiet", "--db", "sqlite:" + path, good)
    os.chmod(path, 0o444)
    if os.geteuid() != 0:
        p = run("ingest", "--quiet", "--db", "sqlite:" + path,
                write("two/other.eml", b"Message-ID: <two@x>\n\nbody\n"))
        check(p.returncode == 1, "read-only store: exit 1", p)

# a reader who may write neither the store nor its directory (an analyst
# reading the trap's store): report reads it all the same
if os.geteuid() == 0:
    import shutil
    from spamtide_test import SPAMTIDE
    shared = os.path.join(d, "shared")
    os.mkdir(shared)
    os.chmod(d, 0o755)
    os.chmod(shared, 0o755)
    binary = os.path.join(shared, "spamtide")
    shutil.copy(SPAMTIDE, binary)
    os.chmod(binary, 0o755)
    db = os.path.join(shared, "trap.db")
    p = run("ingest", "--quiet", "--db", "sqlite:" + db, good)
    check(p.returncode == 0, "a store of root's", p)
    for f in os.listdir(shared):
        os.chmod(os.path.join(shared, f), 0o755 if f == "spamtide" else 0o644)
    p = subprocess.run([binary, "report", "--db", "sqlite:" + db, "--format", "json"],
                       capture_output=True, text=True, timeout=120, user=65534, group=65534,
                       extra_groups=[])
    check(p.returncode == 0 and '"messages": 1' in p.stdout,
          "another user reports from a store in a directory it may not write", p)
    check(sorted(os.listdir(shared)) == sorted(["spamtide", "trap.db"]),
          "and leaves nothing there: %r" % os.listdir(shared))

full = os.path.join(d, "full")
if try_mount(full, "1m"):
    try:
        # the corpora are ~30 MB: the 1 MB disk fills up part way
        p = run("ingest", "--quiet", "--limit", "commit_batch=50", "--db",
                "sqlite:" + full + "/t.db", CORPORA)
        check(p.returncode == 1, "full disk: exit 1", p)
        check("disk full" in p.stderr or "disk I/O" in p.stderr, "full disk: a clear message", p)
        q = run("report", "--db", "sqlite:" + full + "/t.db", "--format", "json")
        check(q.returncode == 0, "the store still opens after the disk filled", q)
        stored = int(p.stdout.split(" stored")[0].split()[-1]) if " stored" in p.stdout else -1
        import json
        n = json.loads(q.stdout)["total"]["messages"] if q.returncode == 0 else -2
        check(n > 0 and n == stored, "committed messages kept and reported (%d stored, %d in store)"
              % (stored, n), p)
    finally:
        subprocess.run(["umount", full])
else:
    print("note: no mount rights; full-disk case not exercised here")

finish()
