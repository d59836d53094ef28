"""spamtide trap and least privilege: started as root it requires --user
(exit 2) and serves as that user (every thread, checked in /proc) while
still storing messages (SQLite's -wal/-shm opened before the drop); with
--chroot the spool, store and knowledge base must lie inside (exit 2
otherwise) and everything still works there, SIGHUP's knowledge base
reload included; started as another user it runs as that user.

Needs root for most of it: as another user only the last part runs.
"""
import json
import os
import pwd
import signal
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import SPAMTIDE, check, finish, run, tmpdir  # noqa: E402
from test_trap import AS_ROOT, QID, Trap  # noqa: E402

NOBODY = pwd.getpwnam("nobody")


def ids(pid):
    """the Uid: and Gid: lines of every thread of pid"""
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, task)) as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        out.append((st["Uid"].split(), st["Gid"].split(), st["Groups"].split()))
    return out


def deliver(t, n=3, tag="priv"):
    qids = []
    for i in range(n):
        c = smtplib.SMTP("127.0.0.1", t.port, local_hostname="%s.example" % tag, timeout=20)
        c.ehlo()
        c.docmd("MAIL FROM:<%s@sender.example>" % tag)
        c.docmd("RCPT TO:<v@example.com>")
        code, resp = c.data(b"Subject: %s %d\r\n\r\nhello\r\n" % (tag.encode(), i))
        c.quit()
        m = QID.search(b"%d %s" % (code, resp))
        check(m is not None, "%s: message %d accepted (%d %r)" % (tag, i, code, resp))
        if m:
            qids.append(m.group(1).decode())
    return qids


def stored(t, qids, what):
    files, rows = t.spool_files(), t.rows()
    check(all(q in files for q in qids), "%s: messages in the spool" % what)
    check(all(q in rows for q in qids), "%s: messages in the store" % what)


def hangup(t, says):
    """SIGHUP; true when the log then says so"""
    t.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while says not in t.log() and time.time() < deadline:
        time.sleep(0.05)
    return says in t.log()


def as_root():
    d = tmpdir()
    # root without --user: usage error
    r = run("trap", "--listen", "127.0.0.1:0", "--spool", os.path.join(d, "s"),
            "--db", "sqlite:" + os.path.join(d, "x.db"))
    check(r.returncode == 2, "root without --user: exit 2", r)
    check("--user" in r.stderr, "root without --user: says why", r)
    r = run("trap", "--listen", "127.0.0.1:0", "--user", "no-such-user-here", "--spool",
            os.path.join(d, "s"), "--db", "sqlite:" + os.path.join(d, "x.db"))
    check(r.returncode == 1 and "no-such-user-here" in r.stderr, "unknown user: exit 1", r)

    # --user nobody: every thread runs as nobody, and messages are stored
    t = Trap(user="nobody")
    try:
        for uid, gid, groups in ids(t.proc.pid):
            check(uid == [str(NOBODY.pw_uid)] * 4, "serving uid is nobody: %r" % uid)
            check(gid == [str(NOBODY.pw_gid)] * 4, "serving gid is nobody's: %r" % gid)
            check(groups in ([], [str(NOBODY.pw_gid)]), "no supplementary groups: %r" % groups)
        qids = deliver(t, 5, "nobody")
        t.wait_sessions(5)
        stored(t, qids, "--user nobody")
        check(os.stat(os.path.join(t.spool, "new")).st_uid == NOBODY.pw_uid,
              "spool directories belong to the user")
    finally:
        rc = t.stop()
    check(rc == 0, "--user nobody: exit 0 (%d) %s" % (rc, t.log()[-500:]))

    # --chroot: paths outside are a usage error
    root = os.path.join(d, "jail")
    os.makedirs(os.path.join(root, "db"))
    os.makedirs(os.path.join(root, "kb"))
    os.chmod(d, 0o755)
    for bad in (["--spool", os.path.join(d, "outside")],
                ["--db", "sqlite:" + os.path.join(d, "outside.db")],
                ["--kb", os.path.join(d, "kb-outside")]):
        args = ["trap", "--listen", "127.0.0.1:0", "--user", "nobody", "--chroot", root,
                "--spool", os.path.join(root, "spool"),
                "--db", "sqlite:" + os.path.join(root, "db", "t.db"),
                "--kb", os.path.join(root, "kb")] + bad
        r = run(*args)
        check(r.returncode == 2 and "chroot" in r.stderr, "chroot, %s outside: exit 2" % bad[0], r)

    # --chroot: everything inside works, also the SQLite WAL after the drop
    # (an ASan build cannot look for leaks at exit inside a chroot without
    # /proc; the runs above check the same code for leaks)
    t = Trap("--chroot", root, "--kb", os.path.join(root, "kb"), user="nobody",
             spool=os.path.join(root, "spool"), db=os.path.join(root, "db", "t.db"),
             workdir=d, env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"})
    try:
        check(os.readlink("/proc/%d/root" % t.proc.pid) == os.path.realpath(root),
              "the trap is chrooted")
        qids = deliver(t, 20, "jail")
        t.wait_sessions(20)
        stored(t, qids, "--chroot")
        # a broken rule file: the old knowledge base stays
        with open(os.path.join(root, "kb", "broken.rule"), "w") as f:
            f.write("this is not a rule file\n")
        check(hangup(t, "knowledge base not reloaded"), "SIGHUP with a broken rule: kept the old kb")
        os.unlink(os.path.join(root, "kb", "broken.rule"))
        with open(os.path.join(root, "kb", "testfam.rule"), "w") as f:
            f.write("family testfam\nx_mailer = \"NoSuchMailer 1.0\"\n")
        check(hangup(t, "knowledge base reloaded"), "SIGHUP inside the chroot reloads the kb")
        qids = deliver(t, 3, "after-hup")
        t.wait_sessions(23)
        stored(t, qids, "after SIGHUP")
    finally:
        rc = t.stop()
    check(rc == 0, "--chroot: exit 0 (%d) %s" % (rc, t.log()[-800:]))
    r = run("report", "--db", "sqlite:" + os.path.join(root, "db", "t.db"), "--format", "json")
    check(r.returncode == 0 and json.loads(r.stdout)["total"]["messages"] == 23,
          "report reads what the chrooted trap stored", r)


def as_other_user():
    """started as nobody (no --user): runs as nobody"""
    d = tmpdir()
    home = os.path.join(d, "home")
    os.makedirs(home)
    if AS_ROOT:
        os.chmod(d, 0o755)
        os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
        pre = drop_to_nobody
    else:
        pre = None
    t = Trap(user=None, spool=os.path.join(home, "spool"), db=os.path.join(home, "t.db"),
             workdir=d, preexec=pre)
    try:
        me = os.geteuid() if not AS_ROOT else NOBODY.pw_uid
        for uid, _, _ in ids(t.proc.pid):
            check(uid == [str(me)] * 4, "started as uid %d, runs as it: %r" % (me, uid))
        qids = deliver(t, 3, "plain-user")
        t.wait_sessions(3)
        stored(t, qids, "started as another user")
    finally:
        rc = t.stop()
    check(rc == 0, "started as another user: exit 0 (%d) %s" % (rc, t.log()[-500:]))


def drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


def main():
    if AS_ROOT:
        as_root()
    else:
        print("not root: the root-only checks are skipped", file=sys.stderr)
    as_other_user()
    finish()


if __name__ == "__main__":
    main()
