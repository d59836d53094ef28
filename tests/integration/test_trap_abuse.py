"""spamtide trap under protocol abuse: every case asserts the exact reply
and that the trap lives on. Pregreet (with a banner delay), bare LF, a
100 KB line, 10,000 RCPTs, DATA before MAIL, NUL bytes, garbage instead
of a TLS handshake, a client sending 1 byte at a time, 2,000 connections
from one address, a client vanishing mid-DATA, a client that never reads
its replies, a Content-Type whose parameters once made GMime (and the
trap) run out of memory.
"""
import os
import resource
import selectors
import socket
import ssl
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish  # noqa: E402
from test_trap import HOST, QID, Trap, connect, read_all, recv_reply, split_spool  # noqa: E402

TOO_MANY = b"421 4.7.0 " + HOST.encode() + b" Error: too many connections\r\n"


def conversation(t, payload, source="127.0.0.1", timeout=2.0):
    """send payload after the banner; everything the trap answers until it closes or is quiet"""
    s = connect(t.port, source)
    banner = recv_reply(s)
    s.sendall(payload)
    out = read_all(s, timeout)
    s.close()
    return banner, out


def counts(t):
    return len(t.spool_files()), len(t.rows())


def stamp(what, t0=[time.time()]):
    if os.environ.get("TRAP_TEST_TIMES"):
        print("%6.2f s  %s" % (time.time() - t0[0], what), file=sys.stderr)


def basic_abuse(t):
    n0 = counts(t)

    # DATA before MAIL
    b, out = conversation(t, b"HELO a.example\r\nDATA\r\nQUIT\r\n", "127.0.0.2")
    check(b == b"220 %s ESMTP\r\n" % HOST.encode(), "banner %r" % b)
    check(out == b"250 %s\r\n503 5.5.1 Error: need MAIL command\r\n221 2.0.0 Bye\r\n" % HOST.encode(),
          "DATA before MAIL: %r" % out)

    stamp('# NUL in a command')
    # NUL in a command
    _, out = conversation(t, b"HE\x00LO x\r\nNOOP\r\nQUIT\r\n", "127.0.0.3")
    check(out == b"500 5.5.2 Error: NUL character in command\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
          "NUL in a command: %r" % out)

    stamp('# a 100 KB line')
    # a 100 KB line is skipped to its end; the next command is answered
    _, out = conversation(t, b"X" * 100000 + b"\r\nNOOP\r\nQUIT\r\n", "127.0.0.4")
    check(out == b"500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
          "100 KB line: %r" % out)
    check(t.metric("spamtide_trap_rejections_total", 'limit="smtp_line"') == 1,
          "rejections{smtp_line} counted")

    stamp('# bare LF everywhere')
    # bare LF everywhere; NUL bytes in the message are kept
    data = b"Subject: lf only\n\nbody line\nwith a NUL \x00 here\n"
    _, out = conversation(t, b"HELO lf.example\nMAIL FROM:<lf@sender.example>\n"
                          b"RCPT TO:<v@example.com>\nDATA\n" + data + b".\nQUIT\n", "127.0.0.5")
    m = QID.search(out)
    check(out.startswith(b"250 %s\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 " % HOST.encode()) and
          m is not None and out.endswith(b"221 2.0.0 Bye\r\n"), "bare LF session: %r" % out)
    if m:
        qid = m.group(1).decode()
        t.wait_sessions(4)
        files, rows = t.spool_files(), t.rows()
        check(qid in files and split_spool(files[qid])[2] == data,
              "bare LF message kept byte for byte: %r" % (files.get(qid, b"")[-80:],))
        check(qid in rows and "line_end=lf" in (rows[qid]["dialect"] or ""),
              "dialect says line_end=lf")

    stamp('# 10,000 RCPTs')
    # 10,000 RCPTs: 1,000 accepted, the rest 452 until the command limit says 421
    payload = (b"HELO many.example\r\nMAIL FROM:<m@sender.example>\r\n" +
               b"".join(b"RCPT TO:<r%d@example.net>\r\n" % i for i in range(10000)) +
               b"DATA\r\nQUIT\r\n")
    _, out = conversation(t, payload, "127.0.0.6", timeout=5)
    lines = out.split(b"\r\n")
    c = Counter(l[:9] for l in lines if l)
    check(c[b"250 2.1.5"] == 1000, "10,000 RCPT: 1,000 accepted (%r)" % c)
    check(c[b"452 4.5.3"] == 8998, "10,000 RCPT: 452 4.5.3 for the rest (%r)" % c)
    check(lines[-2] == b"421 4.7.0 %s Error: too many commands" % HOST.encode(),
          "10,000 RCPT: the command limit ends it: %r" % lines[-3:])
    check(t.metric("spamtide_trap_rejections_total", 'limit="smtp_rcpts"') == 8998,
          "rejections{smtp_rcpts}")

    stamp('# a TLS handshake on the plain port')
    # a TLS handshake on the plain port
    hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64)
    _, out = conversation(t, hello, "127.0.0.7")
    check(out == b"421 4.7.0 %s Error: TLS handshake without STARTTLS\r\n" % HOST.encode(),
          "ClientHello without STARTTLS: %r" % out)

    stamp('# STARTTLS, then garbage')
    # STARTTLS, then garbage instead of a handshake
    s = connect(t.port, "127.0.0.8")
    recv_reply(s)
    s.sendall(b"EHLO g.example\r\n")
    ehlo = recv_reply(s)
    check(b"250-STARTTLS" in ehlo or b"250 STARTTLS" in ehlo, "STARTTLS offered: %r" % ehlo)
    s.sendall(b"STARTTLS\r\n")
    check(recv_reply(s) == b"220 2.0.0 Ready to start TLS\r\n", "STARTTLS accepted")
    s.sendall(b"GARBAGE, NOT A CLIENT HELLO\r\n" * 20)
    out = read_all(s, 5)
    s.close()
    check(out == b"" or not out.startswith(b"2"), "no SMTP after a failed handshake: %r" % out[:100])
    t.wait_sessions(7)
    check(any("outcome=tls-failed" in l for l in t.session_lines()), "tls-failed logged")

    stamp('# a real STARTTLS')
    # a real STARTTLS still works after that
    s = connect(t.port, "127.0.0.9")
    recv_reply(s)
    s.sendall(b"EHLO ok.example\r\n")
    recv_reply(s)
    s.sendall(b"STARTTLS\r\n")
    recv_reply(s)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ts = ctx.wrap_socket(s, server_hostname=HOST)
    ts.sendall(b"EHLO ok.example\r\n")
    r = recv_reply(ts)
    check(r.startswith(b"250-") and b"STARTTLS" not in r, "EHLO inside TLS: %r" % r)
    ts.sendall(b"QUIT\r\n")
    check(recv_reply(ts) == b"221 2.0.0 Bye\r\n", "QUIT inside TLS")
    ts.close()

    stamp('# a client vanishing')
    # a client vanishing mid-DATA: nothing stored, nothing acknowledged
    before = counts(t)
    s = connect(t.port, "127.0.0.10")
    recv_reply(s)
    s.sendall(b"HELO v.example\r\nMAIL FROM:<v@sender.example>\r\nRCPT TO:<x@example.com>\r\n"
              b"DATA\r\n")
    got = b""
    while b"354 " not in got:
        got += s.recv(4096)
    s.sendall(b"Subject: cut off\r\n\r\nhalf a mess")
    time.sleep(0.2)
    s.close()
    t.wait_sessions(9)
    time.sleep(0.3)
    check(counts(t) == before, "vanished mid-DATA: nothing stored (%r vs %r)" % (counts(t), before))
    check(any("helo=v.example" in l and "outcome=client-close" in l and "messages=0" in l
              for l in t.session_lines()), "vanished client logged as client-close")
    check(counts(t)[0] == n0[0] + 1, "only the bare-LF message was stored")

    stamp('# a Content-Type that made GMime grow without bound')
    # 31 bytes 0xff before "boundary=": asking GMime for the boundary made
    # it re-encode the parameters without end (4 GB, the trap aborted).
    # The message is accepted, stored and attributed like any other
    data = b"Subject: params\r\nContent-Type:multipart/e;" + b"\xff" * 31 + b"boundary=\xa6\r\n\r\nx\r\n"
    _, out = conversation(t, b"HELO p.example\r\nMAIL FROM:<p@sender.example>\r\n"
                          b"RCPT TO:<v@example.com>\r\nDATA\r\n" + data + b".\r\nQUIT\r\n", "127.0.0.11",
                          timeout=5)
    m = QID.search(out)
    check(m is not None and out.endswith(b"221 2.0.0 Bye\r\n"), "hostile Content-Type accepted: %r" % out)
    t.wait_sessions(10)
    if m:
        qid = m.group(1).decode()
        rows = t.rows()
        check(qid in rows, "hostile Content-Type stored and attributed")
    check(t.alive(), "trap alive after the abuse")


def many_connections(t):
    """2,000 connections from 127.0.0.1: 50 banners, 1,950 refusals"""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    socks = []
    for _ in range(2000):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.1", 0))
        s.connect_ex(("127.0.0.1", t.port))
        socks.append(s)
    first = {}
    deadline = time.time() + 30
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    while len(first) < len(socks) and time.time() < deadline:
        for key, _ in sel.select(1):
            s = key.fileobj
            try:
                d = s.recv(200)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                d = b"reset"
            first[s.fileno()] = d
            sel.unregister(s)
    sel.close()
    c = Counter(d[:4] for d in first.values())
    check(len(first) == 2000, "every one of 2,000 connections answered (%d)" % len(first))
    check(c[b"220 "] == 50, "50 banners from one address (%r)" % c)
    refused = [d for d in first.values() if d.startswith(b"421")]
    check(len(refused) == 1950 and all(d == TOO_MANY for d in refused),
          "1,950 get '%r' (%r)" % (TOO_MANY, c))
    # another address is not affected
    b, out = conversation(t, b"QUIT\r\n", "127.0.0.99")
    check(b.startswith(b"220 ") and out == b"221 2.0.0 Bye\r\n", "127.0.0.99 still served")
    for s in socks:
        s.close()
    check(t.metric("spamtide_trap_rejections_total", 'limit="sessions_per_client"') == 1950,
          "rejections{sessions_per_client} = 1950")
    time.sleep(0.5)
    check(t.alive(), "trap alive after 2,000 connections")


def send_message(s, tag):
    """one message and QUIT on an open session; the 250's match or None"""
    s.sendall(b"MAIL FROM:<%s@sender.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n" % tag.encode())
    got = b""
    while b"354 " not in got:
        d = s.recv(4096)
        if not d:
            return None
        got += d
    s.sendall(b"Subject: %s\r\n\r\nhi\r\n.\r\nQUIT\r\n" % tag.encode())
    return QID.search(read_all(s, 3))


def pregreet():
    t = Trap(banner_delay=800)
    try:
        s = connect(t.port, "127.0.0.20")
        t0 = time.time()
        s.sendall(b"EHLO early.example\r\n")
        got = b""
        while b"250 ENHANCEDSTATUSCODES\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
        waited = time.time() - t0
        banner = b"220 %s ESMTP\r\n" % HOST.encode()
        check(got.startswith(banner + b"250-%s\r\n" % HOST.encode()),
              "pregreet: the banner, then the EHLO answer: %r" % got)
        check(0.6 < waited < 5, "pregreet: banner after the delay (%.2f s)" % waited)
        m = send_message(s, "pre")
        check(m is not None, "pregreet: message accepted")
        # a polite client, for comparison
        s2 = connect(t.port, "127.0.0.21")
        recv_reply(s2)
        s2.sendall(b"EHLO polite.example\r\n")
        recv_reply(s2)
        m2 = send_message(s2, "polite")
        t.wait_sessions(2)
        rows = t.rows()
        if m and m2:
            a, b = rows[m.group(1).decode()]["dialect"], rows[m2.group(1).decode()]["dialect"]
            check("pregreet=yes" in a, "pregreet recorded: %r" % a)
            check("pregreet=yes" not in b, "a polite client is no pregreeter: %r" % b)
        check(t.alive(), "alive after pregreet")
    finally:
        rc = t.stop()
    check(rc == 0, "pregreet trap exits 0 (%d)" % rc)


def slow_and_deaf():
    t = Trap(limits=("smtp_idle_ms=1000", "smtp_session_ms=2500", "smtp_commands=10000000"))
    try:
        timeout = b"421 4.4.2 %s Error: timeout exceeded\r\n" % HOST.encode()
        # silent: the idle limit
        s = connect(t.port, "127.0.0.30")
        recv_reply(s)
        t0 = time.time()
        out = read_all(s, 5)
        check(out == timeout, "idle client gets %r: %r" % (timeout, out))
        check(0.8 < time.time() - t0 < 3, "after about smtp_idle_ms")
        # one byte every 0.2 s: never idle, but the session limit ends it
        s = connect(t.port, "127.0.0.31")
        recv_reply(s)
        got = b""
        t0 = time.time()
        s.setblocking(False)
        for ch in b"NOOP\r\n" * 10:
            try:
                s.send(bytes([ch]))
            except OSError:
                break
            time.sleep(0.2)
            try:
                d = s.recv(4096)
                if not d:
                    break
                got += d
            except BlockingIOError:
                pass
            if got.endswith(timeout):
                break
        s.setblocking(True)
        got += read_all(s, 2)
        check(got.startswith(b"250 2.0.0 Ok\r\n") and got.endswith(timeout),
              "1 byte at a time: NOOPs answered, then %r: %r" % (timeout, got))
        check(2.0 < time.time() - t0 < 5, "slow client cut at about smtp_session_ms (%.1f s)"
              % (time.time() - t0))
        check(t.metric("spamtide_trap_rejections_total", 'limit="smtp_session_ms"') == 1,
              "rejections{smtp_session_ms}")
        check(t.metric("spamtide_trap_rejections_total", 'limit="smtp_idle_ms"') == 1,
              "rejections{smtp_idle_ms}")

        # a client that sends commands and never reads the replies is no
        # longer read: the trap does not buffer replies without bound
        s = connect(t.port, "127.0.0.32")
        recv_reply(s)
        s.setblocking(False)
        chunk = b"NOOP\r\n" * 10000
        sent, stuck_since = 0, None
        t0 = time.time()
        while time.time() - t0 < 20 and sent < 200 * 1024 * 1024:
            try:
                sent += s.send(chunk)
                stuck_since = None
            except BlockingIOError:
                if stuck_since is None:
                    stuck_since = time.time()
                elif time.time() - stuck_since > 0.5:
                    break
                time.sleep(0.01)
        with open("/proc/%d/status" % t.proc.pid) as f:
            rss = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
        stamp("deaf client: %d bytes sent, trap peak RSS %d kB" % (sent, rss))
        check(sent < 100 * 1024 * 1024, "the trap stopped reading a deaf client (%d bytes sent)" % sent)
        check(rss < 200 * 1024, "trap peak RSS stays bounded (%d kB)" % rss)
        s.close()
        check(t.alive(), "alive after slow and deaf clients")
    finally:
        rc = t.stop()
    check(rc == 0, "slow trap exits 0 (%d)" % rc)


def main():
    t = Trap(tls=True)
    try:
        basic_abuse(t)
        many_connections(t)
    finally:
        rc = t.stop()
    check(rc == 0, "trap exits 0 (%d): %s" % (rc, t.log()[-1500:]))
    pregreet()
    slow_and_deaf()
    finish()


if __name__ == "__main__":
    main()
