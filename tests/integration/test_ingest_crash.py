"""A message that crashes the parser does not end `ingest`, nor lose it.

The parser bug is a preloaded stand-in (parser_crash.c: GMime's stream
constructor, crashing on a header of the test's). `ingest` reads in a
child process; its supervisor runs the reading again on one thread:
- a message that crashes it every time is stored unparsed (its size; the
  warning `unparsed`), said on stderr with its file and position, exit 3;
  every other message read as usual, none stored twice; running it again
  stores nothing new;
- a message that crashed it once is read on the second run, exit 0;
- SIGTERM to `ingest` reaches the reading process: it stops as it would
  alone (exit 1, "interrupted"), and is not run again; SIGHUP likewise;
  the parent killed outright, the reading process ends too; SIGCHLD
  ignored by whoever started it changes nothing;
- with --jobs 2 (workers in flight beside the crash) and --jobs 1;
- `learn` from the same samples: the poison left out (exit 3), the rule
  written from the others;
- `classify` (text and JSON Lines, --jobs 1 and 2): one answer per message
  but the poison, in order, none twice and none cut, exit 3; the same
  answers as without the crash; a message not mail answered before a
  death still makes the exit 3;
- a crash in the reading itself (the mbox split: parser_crash.c's read(2)),
  outside any message: where in the file it came is the suspect; twice
  there, the messages before it are stored and the rest of that file is
  not read (said, with the last message and its byte), the next file is,
  exit 3, none stored twice; once, all is read (exit 0); at the file's
  start, the file is skipped; classify answers the messages before it,
  once each, in order; a note on an input is said once, not by each
  reading process again.
"""
import difflib
import os
import signal
import sqlite3
import subprocess
import time

from spamtide_test import SPAMTIDE, check, finish, tmpdir

UNPARSED = 1 << 10
SHIM = os.environ.get("PARSER_CRASH", "build/tests/libparser_crash.so")


def env(extra=None):
    e = dict(os.environ)
    e["LD_PRELOAD"] = SHIM
    # an ASan build: the preloaded library comes before ASan's runtime
    e["ASAN_OPTIONS"] = ":".join(x for x in (e.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if x)
    e.update(extra or {})
    return e


def mbox(path, marks):
    """an mbox of len(marks) messages; marks[i] the X-Parser-Test value or None"""
    with open(path, "wb") as f:
        for i, mark in enumerate(marks):
            f.write(b"From bot@example.org Wed Mar 16 15:%02d:00 2011\n" % i)
            f.write(b"From: bot%d@example.org\nTo: victim@example.com\n" % i)
            f.write(b"Subject: offer %d\nMessage-ID: <%d.crash@example.org>\n" % (i, i))
            f.write(b"Date: Wed, 16 Mar 2011 15:%02d:00 +0000\n" % i)
            f.write(b"\ncheap pills http://example.net/%d\n" % i)
            if mark:    # in the body: what the MIME parser is given
                f.write(b"X-Parser-Test: %s\n" % mark.encode())
            f.write(b"\n")
    return path


def ingest(db, path, jobs, extra_env=None):
    return subprocess.run([SPAMTIDE, "ingest", "--quiet", "--jobs", str(jobs), "--db",
                           "sqlite:" + db, path], capture_output=True, text=True, timeout=300,
                          env=env(extra_env))


def rows(db):
    con = sqlite3.connect(db)
    out = {r[0]: (r[1], r[2], r[3]) for r in
           con.execute("SELECT source, subject, warnings, size FROM messages")}
    con.close()
    return out


def answers(out):
    """classify's answers: a line each, and in text its evidence lines"""
    blocks = []
    for line in out.splitlines():
        if line.startswith("\t") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def check_poison(d, jobs):
    box = mbox(os.path.join(d, "poison%d.mbox" % jobs),
               [None, None, "segv", None, None, None, None, None])
    db = os.path.join(d, "poison%d.db" % jobs)
    p = ingest(db, box, jobs)
    what = "--jobs %d: " % jobs
    check(p.returncode == 3, what + "exit 3", p)
    check("died of signal" in p.stderr and "poison%d.mbox#3" % jobs in p.stderr,
          what + "the death said, with the message", p)
    check("(the second time: it is not read again)" in p.stderr, what + "the skip said", p)
    check("message 3 at byte" in p.stderr and "stored unparsed" in p.stderr,
          what + "the unparsed message reported with its position", p)
    check("1 stored unparsed" in p.stdout, what + "counted in the summary", p)
    r = rows(db)
    check(len(r) == 8, what + "eight rows, none twice: %r" % sorted(r))
    for src, (subject, warnings, size) in sorted(r.items()):
        if src.endswith("#3"):
            check(subject is None and warnings & UNPARSED and size > 0,
                  what + "the poison stored unparsed: %r" % ((subject, warnings, size),))
        else:
            n = int(src.rsplit("#", 1)[1])
            check(subject == "offer %d" % (n - 1) and not warnings & UNPARSED,
                  what + "%s read: %r" % (src, subject))
    # run again: the same messages, nothing new stored
    p = ingest(db, box, jobs)
    check(p.returncode == 3 and "0 stored," in p.stdout, what + "again: nothing new", p)
    check(len(rows(db)) == 8, what + "again: still eight rows")


def big_mbox(path, n, fat=None, marks=None):
    """an mbox of n messages, larger than the reader's 256 KB buffer;
    message fat (1-based) 3 KB longer; marks[i] the X-Parser-Test value
    of message i + 1, or None"""
    with open(path, "wb") as f:
        for i in range(n):
            f.write(b"From bot@example.org Wed Mar 16 16:%02d:00 2011\n" % (i % 60))
            f.write(b"From: big%d@example.org\nTo: victim@example.com\n" % i)
            f.write(b"Subject: big %d\nMessage-ID: <%d.big@example.org>\n" % (i, i))
            f.write(b"Date: Wed, 16 Mar 2011 16:%02d:00 +0000\n" % (i % 60))
            f.write(b"\ncheap pills http://example.net/%d\n%s\n" % (i, b"x" * 400))
            if fat == i + 1:
                f.write(b"y" * 3000 + b"\n")
            if marks and marks[i]:
                f.write(b"X-Parser-Test: %s\n" % marks[i].encode())
            f.write(b"\n")
    return path


def check_reader_crash(d):
    big = big_mbox(os.path.join(d, "reader-crash.mbox"), 1000)
    other = mbox(os.path.join(d, "after.mbox"), [None] * 4)
    empty = os.path.join(d, "empty.eml")
    open(empty, "wb").close()
    crash = {"READER_CRASH": "reader-crash", "READER_CRASH_AT": str(256 * 1024)}
    for jobs in (1, 2):
        what = "reader crash, --jobs %d: " % jobs
        db = os.path.join(d, "reader%d.db" % jobs)
        args = [SPAMTIDE, "ingest", "--quiet", "--jobs", str(jobs), "--db", "sqlite:" + db,
                empty, big, other]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env(crash))
        check(p.returncode == 3, what + "exit 3", p)
        check(p.stderr.count("empty.eml: empty file; skipped") == 1,
              what + "a note said once, not again by each reading process", p)
        check("reader-crash.mbox after message" in p.stderr and
              "(the second time: the rest of the file is not read)" in p.stderr,
              what + "the place said twice, then left", p)
        note = [x for x in p.stderr.splitlines() if "the rest of the file is not read" in x
                and "reading it crashed twice after message" in x]
        check(len(note) == 1, what + "one note of what was not read", p)
        last = int(note[0].split("after message ")[1].split()[0])
        r = rows(db)
        big_rows = sorted(int(k.rsplit("#", 1)[1]) for k in r if "reader-crash" in k)
        check(0 < last < 1000 and big_rows == list(range(1, last + 1)),
              what + "messages 1..%d of the file stored, once each: %d rows" %
              (last, len(big_rows)))
        check(sum(1 for k in r if k.startswith(other)) == 4, what + "the next file read", p)
        check(all(not w & UNPARSED for _, w, _ in r.values()), what + "nothing unparsed")
        p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env(crash))
        check(p.returncode == 3 and "0 stored," in p.stdout and len(rows(db)) == last + 4,
              what + "again: nothing new", p)

    # a note said before the crash by every reading process (a message over
    # the size limit) does not silence the one only the last says
    fat = big_mbox(os.path.join(d, "reader-crash-fat.mbox"), 1000, fat=100)
    db = os.path.join(d, "reader-limit.db")
    p = subprocess.run([SPAMTIDE, "ingest", "--quiet", "--limit", "message_size=2048", "--db",
                        "sqlite:" + db, fat], capture_output=True, text=True, timeout=300, env=env(crash))
    check(p.returncode == 3 and p.stderr.count("message 100 at line") == 1 and
          "reading it crashed twice after message" in p.stderr,
          "reader crash after a skip: the skip said once, the rest of the file said", p)

    db = os.path.join(d, "reader-once.db")
    p = subprocess.run([SPAMTIDE, "ingest", "--quiet", "--db", "sqlite:" + db, big, other],
                       capture_output=True, text=True, timeout=300,
                       env=env(dict(crash, READER_CRASH_ONCE=os.path.join(d, "reader.flag"))))
    check(p.returncode == 0 and "died" in p.stderr and len(rows(db)) == 1004,
          "reader crash once: all read, exit 0 (%d rows)" % len(rows(db)), p)

    db = os.path.join(d, "reader-start.db")
    p = subprocess.run([SPAMTIDE, "ingest", "--quiet", "--db", "sqlite:" + db, big, other],
                       capture_output=True, text=True, timeout=300,
                       env=env(dict(crash, READER_CRASH_AT="0")))
    check(p.returncode == 3 and "reader-crash.mbox at its start" in p.stderr and
          "reader-crash.mbox: the reader died in it twice at its start; not read" in p.stderr and
          len(rows(db)) == 4, "reader crash at the start: the file skipped, the next read", p)

    for jobs in (1, 2):
        what = "classify, reader crash, --jobs %d: " % jobs
        args = [SPAMTIDE, "classify", "--format", "json", "--jobs", str(jobs), big, other]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env(crash))
        ref = subprocess.run(args, capture_output=True, text=True, timeout=300)
        got = p.stdout.splitlines()
        note = [x for x in p.stderr.splitlines() if "the rest of the file is not read" in x
                and "reading it crashed twice after message" in x]
        check(p.returncode == 3 and len(note) == 1, what + "exit 3, the rest said", p)
        last = int(note[0].split("after message ")[1].split()[0])
        want = [a for a in ref.stdout.splitlines()
                if "reader-crash.mbox#" not in a or
                int(a.split("reader-crash.mbox#")[1].split('"')[0]) <= last]
        check(len(want) == last + 4 and got == want,
              what + "the answers before it and the next file's, once, in order:\n%s" %
              "\n".join(list(difflib.unified_diff(want, got, lineterm=""))[:20]))


def main():
    d = tmpdir()
    check(os.path.exists(SHIM), "the preloaded parser bug is built: %s" % SHIM)
    for jobs in (1, 2):
        check_poison(d, jobs)
    check_reader_crash(d)

    # a path longer than a slot holds: the messages of it are still told
    # apart (only the poison stored unparsed)
    deep = os.path.join(d, *(["x" * 200] * 6))
    os.makedirs(deep, exist_ok=True)
    box = mbox(os.path.join(deep, "long.mbox"), [None, None, "segv", None, None, None, None, None])
    db = os.path.join(d, "long.db")
    p = ingest(db, box, 1)
    r = rows(db)
    check(p.returncode == 3 and len(r) == 8 and
          sum(1 for _, (subject, warnings, _) in r.items() if warnings & UNPARSED) == 1,
          "a long path: one message stored unparsed, seven read: %r" %
          sorted((k[-8:], v[0], v[1]) for k, v in r.items()), p)

    # a message that crashed the parser once is read the second time
    box = mbox(os.path.join(d, "once.mbox"), [None, "once", None])
    db = os.path.join(d, "once.db")
    p = ingest(db, box, 2, {"PARSER_TEST_ONCE": os.path.join(d, "once.flag")})
    check(p.returncode == 0, "crashed once: exit 0", p)
    check("while reading" in p.stderr and "once.mbox#2" in p.stderr and
          "unparsed" not in p.stderr,
          "crashed once: said, not skipped", p)
    r = rows(db)
    check(len(r) == 3 and all(s == "offer %d" % (int(k.rsplit("#", 1)[1]) - 1)
                              for k, (s, _, _) in r.items()),
          "crashed once: every message read: %r" % r)

    # learn from sandbox samples, one of which crashes the parser
    box = mbox(os.path.join(d, "learn.mbox"), [None, None, "segv", None, None, None])
    kb = os.path.join(d, "kb")
    p = subprocess.run([SPAMTIDE, "learn", "--family", "crashbot", "--kb", kb, box],
                       capture_output=True, text=True, timeout=300, env=env())
    check(p.returncode == 3, "learn: exit 3", p)
    check("learn.mbox#3 (the second time: it is not read again)" in p.stderr and
          "duplicates" not in p.stderr, "learn: the poison said", p)
    check("learn.mbox#3: the parser died on it; left out" in p.stderr, "learn: left out", p)
    check(os.path.exists(os.path.join(kb, "crashbot.rule")) and "wrote" in p.stdout,
          "learn: the rule written from the others", p)
    check("learned crashbot from 5 samples" in p.stdout, "learn: five samples", p)

    # classify: the answers of the messages around the poison, each once
    marks = [None] * 12
    marks[5] = "segv"
    box = mbox(os.path.join(d, "classify.mbox"), marks)
    clean = mbox(os.path.join(d, "clean.mbox"), [None] * 12)
    for fmt in ("text", "json"):
        for jobs in (1, 2):
            what = "classify --format %s --jobs %d: " % (fmt, jobs)
            args = [SPAMTIDE, "classify", "--format", fmt, "--jobs", str(jobs)]
            p = subprocess.run(args + [box], capture_output=True, text=True, timeout=300, env=env())
            ref = subprocess.run(args + [clean], capture_output=True, text=True, timeout=300)
            check(p.returncode == 3 and "classify.mbox#6: the parser died on it; skipped" in p.stderr,
                  what + "exit 3, the poison said", p)
            got = answers(p.stdout)
            want = [a.replace("clean.mbox", "classify.mbox") for a in answers(ref.stdout)
                    if "clean.mbox#6\t" not in a and "clean.mbox#6\"" not in a]
            check(len(want) == 11 and got == want, what + "every other answer, once, in order:\n%s"
                  % "\n".join(difflib.unified_diff(want, got, lineterm="")))

    # SIGTERM to ingest: passed on to the reading process, which stops
    box = mbox(os.path.join(d, "slow.mbox"), [None, "slow", None])
    db = os.path.join(d, "slow.db")
    proc = subprocess.Popen([SPAMTIDE, "ingest", "--quiet", "--jobs", "1", "--db",
                             "sqlite:" + db, box], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    time.sleep(1.5)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    check(time.time() - t0 < 10, "SIGTERM: stopped without waiting for the slow parse")
    check(proc.returncode == 1 and "interrupted" in out,
          "SIGTERM: the reading stopped as it would alone: %d %r %r" % (proc.returncode, out, err))
    check("died" not in err, "SIGTERM: not taken for a crash: %r" % err)

    # SIGHUP (a closed terminal): the same, not a death with nothing kept
    db = os.path.join(d, "hup.db")
    proc = subprocess.Popen([SPAMTIDE, "ingest", "--quiet", "--jobs", "1", "--db",
                             "sqlite:" + db, box], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    time.sleep(1.5)
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=60)
    check(proc.returncode == 1 and "interrupted" in out and len(rows(db)) >= 1,
          "SIGHUP: stopped as for SIGTERM, what was read kept: %d %r %r" % (proc.returncode, out, err))

    # the parent killed outright: the reading process does not go on alone
    db = os.path.join(d, "orphan.db")
    proc = subprocess.Popen([SPAMTIDE, "ingest", "--quiet", "--jobs", "1", "--db",
                             "sqlite:" + db, box], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    time.sleep(1.5)
    kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.time() + 10
    while kids and time.time() < deadline:
        kids = [k for k in kids if os.path.exists("/proc/%s" % k) and
                open("/proc/%s/stat" % k).read().split(")")[-1].split()[0] != "Z"]
        time.sleep(0.1)
    check(not kids, "the parent killed: its reading process ended too (left: %r)" % kids)

    # SIGCHLD ignored by whoever started us: the reading process is still
    # waited for (it was "lost", exit 1, every message stored)
    box = mbox(os.path.join(d, "chld.mbox"), [None, None, None])
    db = os.path.join(d, "chld.db")
    p = subprocess.run([SPAMTIDE, "ingest", "--quiet", "--db", "sqlite:" + db, box], capture_output=True,
                       text=True, timeout=300, env=env(),
                       preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    check(p.returncode == 0 and "lost" not in p.stderr and len(rows(db)) == 3,
          "SIGCHLD ignored: exit 0, three rows", p)

    # classify: a message not mail, answered before a death (its answer
    # relayed: past the child's 64 KiB of answers), still makes the exit 3
    # after the run again
    marks = [None] * 1500
    marks[1400] = "once"
    box = mbox(os.path.join(d, "notmail.mbox"), marks)
    with open(box, "rb") as f:
        data = f.read()
    first = data.index(b"From: bot1@")
    end = data.index(b"\nFrom bot@", first)
    data = data[:first] + b"\x01\x02 no header here\n" + data[end:]
    with open(box, "wb") as f:
        f.write(data)
    p = subprocess.run([SPAMTIDE, "classify", "--jobs", "1", box], capture_output=True, text=True,
                       timeout=300, env=env({"PARSER_TEST_ONCE": os.path.join(d, "notmail.flag")}))
    check(p.returncode == 3 and "not a mail message" in p.stderr and "while reading" in p.stderr,
          "classify: a skip before a death still exits 3", p)
    # answers relayed before the death (more than the relay's 64 KB) are
    # passed over unread by the next process, with their notes: the poison's
    # note is still said
    box = big_mbox(os.path.join(d, "notmail-many.mbox"), 1502, marks=[None] * 1501 + ["segv"])
    with open(box, "rb") as f:
        data = f.read()
    first = data.index(b"From: big0@")
    end = data.index(b"\nFrom bot@", first)
    with open(box, "wb") as f:
        f.write(data[:first] + b"\x01\x02 no header here\n" + data[end:])
    check(data.count(b"\nFrom bot@") == 1501, "1,502 messages in notmail-many.mbox")
    p = subprocess.run([SPAMTIDE, "classify", "--jobs", "1", box], capture_output=True, text=True,
                       timeout=300, env=env())
    check(p.returncode == 3 and "notmail-many.mbox#1502: the parser died on it; skipped" in p.stderr and
          p.stderr.count("not a mail message") == 1,
          "classify: the poison said after 1,500 answers, the note before it once", p)
    finish()


if __name__ == "__main__":
    main()
