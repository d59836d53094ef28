"""spamtide trap under load: Postfix's smtp-source (every message in the
spool and the store), dialect fingerprints (one bot script from two
addresses gets one id; different programs get different ids), and SIGTERM
in the middle of a load (every message that got a 250 is in the spool and
the store; the trap exits 0).
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish  # noqa: E402
from test_trap import HOST, QID, Trap, connect, read_all, recv_reply, split_spool  # noqa: E402


def smtp_source(t, n=4000):
    before = len(t.spool_files())
    base = len(t.session_lines())
    p = subprocess.run(["smtp-source", "-s", "20", "-m", str(n), "-l", "2048",
                        "-f", "source@sender.example", "-t", "victim@example.com",
                        "127.0.0.1:%d" % t.port], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "smtp-source -s 20 -m %d" % n, p)
    t.wait_sessions(base + n)
    files, rows = t.spool_files(), t.rows()
    check(len(files) == before + n, "smtp-source: %d files in new/ (%d)" % (n, len(files) - before))
    check(set(files) == set(rows), "smtp-source: every file has its row and every row its file")
    bad = 0
    for qid, data in files.items():
        rp, rcv, body = split_spool(data)
        r = rows.get(qid)
        if (rp != b"Return-Path: <source@sender.example>\r\n" or r is None or
                r["size"] != len(body) or
                not rcv.startswith(b"Received: from ") or
                (b" (spamtide) with SMTP id %s\r\n\tfor <victim@example.com>; " % qid.encode())
                not in rcv):
            bad += 1
    check(bad == 0, "smtp-source: %d files whose header or size disagree with the store" % bad)
    check(len({r["dialect_id"] for r in rows.values()}) == 1, "smtp-source: one dialect")


BOT = [b"helo %s\r\n", b"mail from: <%s>\r\n", b"rcpt to: <%s>\r\n", b"data\r\n"]


def bot(t, source, helo, sender, rcpt):
    """an illustrative bot: lower-case verbs, a space after the colon, no QUIT"""
    s = connect(t.port, source)
    recv_reply(s)
    for line, arg in zip(BOT, (helo, sender, rcpt, None)):
        s.sendall(line % arg.encode() if arg else line)
        recv_reply(s)
    s.sendall(b"Subject: pills\r\n\r\nbuy now\r\n.\r\n")
    m = QID.search(recv_reply(s))
    s.close()
    return m.group(1).decode() if m else None


def dialects(t):
    base = len(t.session_lines())
    a = bot(t, "127.0.0.50", "a1b2c3", "x@one.example", "v1@example.com")
    b = bot(t, "127.0.0.51", "zz9xx8", "y@two.example", "v2@example.net")
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(t.port), "--helo",
                        "sw.example", "--from", "s@sender.example", "--to", "v@example.com"],
                       capture_output=True, text=True, timeout=60)
    m = QID.search(p.stdout.encode())
    sw = m.group(1).decode() if m else None
    import smtplib
    c = smtplib.SMTP("127.0.0.1", t.port, local_hostname="py.example", timeout=20)
    c.sendmail("p@sender.example", ["v@example.com"], b"Subject: x\r\n\r\nhello\r\n")
    c.quit()
    t.wait_sessions(base + 4)
    rows = t.rows()
    py = [q for q, r in rows.items() if r["envelope_from"] == "p@sender.example"]
    check(None not in (a, b, sw) and len(py) == 1, "dialect clients delivered")
    if None in (a, b, sw) or len(py) != 1:
        return
    ids = {k: rows[q]["dialect_id"] for k, q in (("bot1", a), ("bot2", b), ("swaks", sw),
                                                 ("smtplib", py[0]))}
    check(rows[a]["client_ip"] == "127.0.0.50" and rows[b]["client_ip"] == "127.0.0.51",
          "the bot ran from two addresses")
    check(ids["bot1"] == ids["bot2"], "one bot script, two addresses, one dialect: %r" % ids)
    check(len({ids["bot1"], ids["swaks"], ids["smtplib"]}) == 3,
          "bot, swaks and smtplib have three dialects: %r" % ids)


def sigterm_during_load():
    t = Trap(limits=("drain_ms=500",))
    acked, errors = set(), []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k):
        source = "127.0.1.%d" % (k + 1)
        while not stop.is_set():
            try:
                s = connect(t.port, source, timeout=10)
                if not recv_reply(s).startswith(b"220"):
                    s.close()
                    return
                s.sendall(b"EHLO load%d.example\r\n" % k)
                recv_reply(s)
                for i in range(100000):    # until the drain ends the session
                    s.sendall(b"MAIL FROM:<l%d@sender.example>\r\nRCPT TO:<v@example.com>\r\n"
                              b"DATA\r\n" % k)
                    got = b""
                    while got.count(b"\r\n") < 3:
                        d = s.recv(4096)
                        if not d:
                            raise ConnectionError("closed")
                        got += d
                    if b"354 " not in got:
                        raise ConnectionError("no 354: %r" % got)
                    s.sendall(b"Subject: load %d %d\r\n\r\nbody\r\n.\r\n" % (k, i))
                    r = recv_reply(s)
                    m = QID.search(r)
                    if m:
                        with lock:
                            acked.add(m.group(1).decode())
                    if not r.startswith(b"250"):
                        raise ConnectionError("reply %r" % r)
                s.sendall(b"QUIT\r\n")
                read_all(s, 2)
                s.close()
            except (OSError, ConnectionError) as e:
                with lock:
                    errors.append(str(e))
                return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for th in threads:
        th.start()
    # one session that only waits: certainly still open when drain_ms ends
    # (the load's may all have ended by then, at a limit or on an error)
    idle = connect(t.port, "127.0.1.100", timeout=10)
    check(recv_reply(idle).startswith(b"220"), "idle session greeted")
    # load for 1.5 s, and until some messages were acknowledged (a loaded
    # machine may need longer for them)
    deadline = time.time() + 30
    time.sleep(1.5)
    while len(acked) <= 50 and time.time() < deadline:
        time.sleep(0.1)
    n_before = len(acked)
    stamp("SIGTERM after %d acknowledged" % n_before)
    t0 = time.time()
    rc = t.stop()
    took = time.time() - t0
    stop.set()
    for th in threads:
        th.join(30)
    check(rc == 0, "SIGTERM under load: exit 0 (%d): %s" % (rc, t.log()[-1500:]))
    check(took < 10, "drained in time (%.1f s)" % took)
    check(n_before > 50, "load was running when SIGTERM came (%d acknowledged)" % n_before)
    files, rows = t.spool_files(), t.rows()
    missing_f = [q for q in acked if q not in files]
    missing_r = [q for q in acked if q not in rows]
    check(not missing_f, "every acknowledged message is in the spool (%d of %d missing)"
          % (len(missing_f), len(acked)))
    check(not missing_r, "every acknowledged message is in the store (%d of %d missing)"
          % (len(missing_r), len(acked)))
    check(set(files) == set(rows), "spool and store agree after the drain (%d files, %d rows)"
          % (len(files), len(rows)))
    # a 250 can be lost when the drain's close resets a connection the
    # client was still writing to: at most one message per session
    check(len(set(files) - acked) <= len(threads),
          "stored but unacknowledged: at most one per session (%d stored, %d acked)"
          % (len(files), len(acked)))
    check("no longer accepting" in t.log() and "stopped" in t.log(), "drain logged")
    check("drain time is over" in t.log(), "sessions still open after drain_ms were closed "
          "(load clients' errors: %d, first: %s)" % (len(errors), errors[:1]))
    idle.close()
    check(not any(th.is_alive() for th in threads), "every client session was ended")


def stamp(what, t0=[time.time()]):
    if os.environ.get("TRAP_TEST_TIMES"):
        print("%6.2f s  %s" % (time.time() - t0[0], what), file=sys.stderr)


def main():
    t = Trap()
    try:
        stamp("started")
        smtp_source(t)
        stamp("smtp-source")
        dialects(t)
        stamp("dialects")
        check(t.alive(), "alive after the load")
    finally:
        rc = t.stop()
    check(rc == 0, "trap exits 0 (%d)" % rc)
    stamp("stopped")
    sigterm_during_load()
    stamp("sigterm")
    finish()


if __name__ == "__main__":
    main()
