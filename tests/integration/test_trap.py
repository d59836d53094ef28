"""spamtide trap with real clients: swaks (plain and STARTTLS), Python's
smtplib (plain, STARTTLS, many recipients, pipelined), the spool byte for
byte, the store, /metrics, and `report` reading while the trap writes.

Also the helpers the other test_trap_*.py files import (Trap, raw SMTP
conversations). Every trap listens on 127.0.0.1 port 0 (the port it got
is read from its log) and is stopped with SIGTERM.
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import SPAMTIDE, check, finish, run, tmpdir  # noqa: E402

AS_ROOT = os.geteuid() == 0
HOST = "trap.test"


class Trap:
    """A running `spamtide trap` with its own spool, store and log."""

    def __init__(self, *extra, banner_delay=0, limits=(), tls=False, http=True,
                 user="auto", listen=("127.0.0.1:0",), workdir=None, env=None,
                 preexec=None, spool=None, db=None, wait=True):
        self.dir = workdir or tmpdir()
        self.spool = spool or os.path.join(self.dir, "spool")
        self.db = db or os.path.join(self.dir, "trap.db")
        self.logpath = os.path.join(self.dir, "trap.log")
        args = [SPAMTIDE, "trap", "--sensor", "test", "--hostname", HOST,
                "--spool", self.spool, "--db", "sqlite:" + self.db,
                "--limit", "smtp_banner_delay_ms=%d" % banner_delay]
        for a in listen:
            args += ["--listen", a]
        for lim in limits:
            args += ["--limit", lim]
        if http:
            args += ["--http", "127.0.0.1:0"]
        if tls:
            self.cert, self.key = make_cert(self.dir)
            args += ["--tls-cert", self.cert, "--tls-key", self.key]
        if user == "auto":
            user = "nobody" if AS_ROOT else None
        if user:
            args += ["--user", user]
        args += list(extra)
        self.args = args
        self.log_file = open(self.logpath, "w")
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        if env:
            e.update(env)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log_file,
                                     env=e, preexec_fn=preexec)
        self.port = None
        self.ports = []
        self.http_port = None
        if wait:
            self.wait_ready(len(listen), http)

    def wait_ready(self, nlisten, http):
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.log()
            self.ports = [int(p) for p in re.findall(r"listening on \S+:(\d+)", text)]
            m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", text)
            if m:
                self.http_port = int(m.group(1))
            ready = len(self.ports) >= nlisten and (not http or self.http_port)
            if ready and ("running as" in text or not AS_ROOT or "--user" not in self.args):
                self.port = self.ports[0]
                return
            if self.proc.poll() is not None:
                raise RuntimeError("trap exited %d: %s" % (self.proc.returncode, text))
            time.sleep(0.05)
        raise RuntimeError("trap not ready: " + self.log())

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def session_lines(self):
        return [l for l in self.log().splitlines() if " session client=" in l]

    def wait_sessions(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.session_lines()) >= n:
                return True
            time.sleep(0.05)
        return False

    def alive(self):
        """the trap still answers a new session with its banner"""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.settimeout(5)
            banner = recv_reply(s)
            s.sendall(b"QUIT\r\n")
            recv_reply(s)
            s.close()
            return banner.startswith(b"220 ")
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http_port,
                                    timeout=10) as r:
            return r.read().decode()

    def metric(self, name, labels=None):
        text = self.metrics()
        want = name + ("{%s}" % labels if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def spool_files(self):
        """queue id -> bytes of each file in new/"""
        out = {}
        d = os.path.join(self.spool, "new")
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                out[name.split(".")[1]] = f.read()
        return out

    def rows(self):
        """queue id -> row of the messages table"""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        con.row_factory = sqlite3.Row
        out = {}
        for r in con.execute("SELECT * FROM messages"):
            out[r["source"].rsplit("#", 1)[1]] = dict(r)
        con.close()
        return out


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + HOST],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def recv_reply(s):
    """one SMTP reply (all its lines)"""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" " and data.endswith(b"\r\n"):
            return data


def connect(port, source="127.0.0.1", timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_all(s, timeout=2.0):
    """everything the server sends until it closes or is quiet for timeout"""
    out = b""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    return out


def split_spool(data):
    """(Return-Path line, Received field, the bytes after them)"""
    first = data.index(b"\r\n") + 2
    i = first
    while True:
        j = data.index(b"\r\n", i) + 2
        if data[j:j + 1] != b"\t":
            return data[:first], data[first:j], data[j:]
        i = j


QID = re.compile(rb"250 2\.0\.0 Ok: queued as ([0-9A-Z]+)")


def message(n, extra=""):
    return ("From: bot%d@sender.example\r\nTo: victim@example.com\r\n"
            "Subject: offer %d%s\r\nMessage-ID: <%d.test@sender.example>\r\n\r\n"
            "Cheap watches, number %d.\r\n.leading dot line\r\n" % (n, n, extra, n, n)).encode()


def check_delivered(t, sent, what):
    """sent: queue id -> (data bytes, mail_from, rcpts, helo); each in spool and store"""
    files, rows = t.spool_files(), t.rows()
    for qid, (data, mail_from, rcpts, helo) in sent.items():
        check(qid in files, "%s: %s in the spool" % (what, qid))
        check(qid in rows, "%s: %s in the store" % (what, qid))
        if qid not in files or qid not in rows:
            continue
        rp, rcv, body = split_spool(files[qid])
        check(body == data, "%s: %s spool bytes are the DATA bytes\n got %r\nwant %r"
              % (what, qid, body[:300], data[:300]))
        check(rp == b"Return-Path: <%s>\r\n" % mail_from.encode(), "%s: Return-Path %r" % (what, rp))
        check(rcv.startswith(b"Received: from %s (unknown [127.0.0.1])\r\n\tby %s (spamtide) with "
                             % (helo.encode(), HOST.encode())), "%s: Received line %r" % (what, rcv))
        check((b"\r\n\tfor <%s>; " % rcpts[0].encode() in rcv) == (len(rcpts) == 1),
              "%s: 'for' clause iff one recipient: %r" % (what, rcv))
        r = rows[qid]
        check(r["envelope_from"] == mail_from, "%s: envelope_from %r" % (what, r["envelope_from"]))
        check(r["rcpts"] == len(rcpts), "%s: rcpts %r want %d" % (what, r["rcpts"], len(rcpts)))
        check(r["size"] == len(data), "%s: size %r want %d" % (what, r["size"], len(data)))
        check(r["client_ip"] == "127.0.0.1", "%s: client_ip %r" % (what, r["client_ip"]))
        check(r["helo"] == helo, "%s: helo %r" % (what, r["helo"]))
        check((r["dialect_id"] or "").startswith("dialect:"), "%s: dialect id" % what)
        check("helo_verb=" in (r["dialect"] or ""), "%s: dialect facts stored" % what)
        check(r["encrypted"] == 0, "%s: not encrypted" % what)


def smtplib_tests(t):
    import smtplib
    sent = {}
    # plain, one recipient
    c = smtplib.SMTP("127.0.0.1", t.port, local_hostname="client.example", timeout=20)
    data = message(1)
    _, _ = c.ehlo()
    code, resp = c.docmd("MAIL FROM:<bot1@sender.example>")
    check(code == 250, "smtplib MAIL %d" % code)
    code, resp = c.docmd("RCPT TO:<victim@example.com>")
    code, resp = c.data(data)
    m = QID.search(b"%d %s" % (code, resp))
    check(m is not None, "smtplib: 250 queued as, got %d %r" % (code, resp))
    if m:
        sent[m.group(1).decode()] = (data, "bot1@sender.example", ["victim@example.com"],
                                     "client.example")
    # many recipients
    rcpts = ["r%d@example.net" % i for i in range(300)]
    refused = c.sendmail("bulk@sender.example", rcpts, message(2))
    check(refused == {}, "smtplib: 300 recipients accepted")
    c.quit()

    # pipelined by hand: the whole transaction in one write
    s = connect(t.port)
    recv_reply(s)
    data = message(3)
    s.sendall(b"EHLO pipe.example\r\nMAIL FROM:<p@sender.example>\r\nRCPT TO:<a@example.com>\r\n"
              b"RCPT TO:<b@example.com>\r\nDATA\r\n")
    got = b""
    while got.count(b"\r\n354 ") == 0 and not got.startswith(b"354 "):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.sendall(data.replace(b"\r\n.", b"\r\n..") + b".\r\nQUIT\r\n")
    got = read_all(s, 5)
    s.close()
    m = QID.search(got)
    check(m is not None and b"221 2.0.0 Bye" in got, "pipelined: 250 and 221, got %r" % got)
    if m:
        sent[m.group(1).decode()] = (data, "p@sender.example", ["a@example.com", "b@example.com"],
                                     "pipe.example")

    # STARTTLS
    c = smtplib.SMTP("127.0.0.1", t.port, local_hostname="tls.example", timeout=20)
    c.ehlo()
    check(c.has_extn("starttls"), "smtplib: STARTTLS offered")
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.starttls(context=ctx)
    c.ehlo()
    data = message(4)
    c.docmd("MAIL FROM:<tls@sender.example>")
    c.docmd("RCPT TO:<victim@example.com>")
    code, resp = c.data(data)
    m = QID.search(b"%d %s" % (code, resp))
    check(m is not None, "smtplib STARTTLS: 250, got %d %r" % (code, resp))
    c.quit()
    tls_qid = m.group(1).decode() if m else None
    if m:
        sent[tls_qid] = (data, "tls@sender.example", ["victim@example.com"], "tls.example")
    return sent, tls_qid


def swaks(t, *args):
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(t.port),
                           "--helo", "swaks.example", "--from", "sw@sender.example",
                           "--to", "victim@example.com", *args],
                          capture_output=True, text=True, timeout=60)


def stamp(what, t0=[time.time()]):
    if os.environ.get("TRAP_TEST_TIMES"):
        print("%6.2f s  %s" % (time.time() - t0[0], what), file=sys.stderr)


def ipv6(t):
    """a message over IPv6 (the second --listen): [IPv6:...] in Received:, ::1 stored"""
    import smtplib
    c = smtplib.SMTP("::1", t.ports[1], local_hostname="six.example", timeout=20)
    c.ehlo()
    c.docmd("MAIL FROM:<six@sender.example>")
    c.docmd("RCPT TO:<v@example.com>")
    code, resp = c.data(message(6))
    c.quit()
    m = QID.search(b"%d %s" % (code, resp))
    check(m is not None, "IPv6: queued (%d %r)" % (code, resp))
    if not m:
        return
    q = m.group(1).decode()
    deadline = time.time() + 10
    while q not in t.rows() and time.time() < deadline:
        time.sleep(0.05)
    files, rows = t.spool_files(), t.rows()
    check(q in files and b"Received: from six.example (unknown [IPv6:::1])\r\n" in files[q],
          "IPv6: Received line with [IPv6:::1]")
    check(q in rows and rows[q]["client_ip"] == "::1", "IPv6: client ::1 stored")


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def main():
    d = tmpdir()
    six = have_ipv6()
    t = Trap(tls=True, listen=("127.0.0.1:0", "[::1]:0") if six else ("127.0.0.1:0",))
    try:
        # swaks, plain and STARTTLS
        body = os.path.join(d, "body.eml")
        raw = message(10)
        with open(body, "wb") as f:
            f.write(raw)
        p = swaks(t, "--data", body)
        check(p.returncode == 0, "swaks plain", p)
        m = QID.search(p.stdout.encode())
        plain = m.group(1).decode() if m else None
        check(plain is not None, "swaks plain: queued", p)
        p = swaks(t, "--data", body, "--tls")
        check(p.returncode == 0, "swaks STARTTLS", p)
        check("TLS started" in p.stdout, "swaks really started TLS", p)
        m = QID.search(p.stdout.encode())
        tls = m.group(1).decode() if m else None
        check(tls is not None, "swaks STARTTLS: queued", p)
        sent = {}
        for q in (plain, tls):
            if q:
                # swaks ends the data with CRLF "." CRLF even after a final CRLF
                sent[q] = (raw + b"\r\n", "sw@sender.example", ["victim@example.com"],
                           "swaks.example")

        stamp("swaks")
        s2, tls2 = smtplib_tests(t)
        stamp("smtplib")
        if six:
            ipv6(t)
        else:
            print("no ::1 here: the IPv6 check is skipped", file=sys.stderr)
        sent.update(s2)
        nses = 6 if six else 5
        t.wait_sessions(nses)
        check_delivered(t, sent, "clients")
        files = t.spool_files()
        for q in (tls, tls2):
            if q in files:
                check(b"with ESMTPS id " + q.encode() in files[q], "TLS session: ESMTPS in Received")
        if plain in files:
            check(b"with ESMTP id " + plain.encode() in files[plain], "plain session: ESMTP")
        rows = t.rows()
        first_smtplib = list(s2)[0]
        if plain in rows and first_smtplib in rows:
            check(rows[plain]["dialect_id"] != rows[first_smtplib]["dialect_id"],
                  "swaks and smtplib have different dialects: %r %r"
                  % (rows[plain]["dialect_id"], rows[first_smtplib]["dialect_id"]))

        # the log: one line per session with the fields
        lines = t.session_lines()
        check(len(lines) == nses, "one log line per session (%d)" % len(lines))
        check(any("helo=swaks.example" in l and "messages=1" in l and "outcome=quit" in l and
                  "family=" in l and "dialect=dialect:" in l and "size=" in l for l in lines),
              "session line fields: %r" % lines[:2])

        # metrics
        text = t.metrics()
        for name in ("spamtide_trap_messages_total", "spamtide_trap_bytes_total",
                     "spamtide_trap_sessions_total", "spamtide_trap_sessions_active",
                     "spamtide_trap_rejections_total", "spamtide_trap_commit_seconds_bucket",
                     "spamtide_trap_durable_seconds_count", "spamtide_trap_dialect_sessions_total"):
            check(name in text, "/metrics has %s" % name)
        total = sum(float(l.split()[-1]) for l in text.splitlines()
                    if l.startswith("spamtide_trap_messages_total{"))
        check(total == len(t.rows()), "messages_total %s == rows %d" % (total, len(t.rows())))
        check(t.metric("spamtide_trap_sessions_total", 'outcome="quit"') == nses,
              "sessions by outcome")
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % t.http_port, timeout=5)
            check(False, "/other is 404")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "/other is 404")

        stamp("checks")
        # report reads the store while smtp-source keeps the trap writing
        n = 1500
        # counted before smtp-source starts: its first messages can be
        # committed before a count taken after the Popen
        before = len(t.rows())
        src = subprocess.Popen(["smtp-source", "-s", "10", "-m", str(n), "-l", "1024",
                                "-f", "load@sender.example", "-t", "victim@example.com",
                                "127.0.0.1:%d" % t.port],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = []
        while src.poll() is None:
            r = run("report", "--db", "sqlite:" + t.db, "--format", "json")
            check(r.returncode == 0, "report while the trap writes", r)
            if r.returncode == 0:
                seen.append(json.loads(r.stdout)["total"]["messages"])
            time.sleep(0.05)
        check(src.returncode == 0, "smtp-source finished (%s)" % src.stderr.read()[:500])
        check(len(seen) >= 2, "report ran during the load (%d times)" % len(seen))
        check(seen == sorted(seen), "report totals only grow: %r" % seen[:20])
        check(all(before <= x <= before + n for x in seen),
              "report totals in range %d..%d: %r" % (before, before + n, seen[:40]))
        check(t.wait_sessions(nses + n), "every load session logged (%d of %d)"
              % (len(t.session_lines()), nses + n))
        r = run("report", "--db", "sqlite:" + t.db, "--format", "json")
        got = json.loads(r.stdout)["total"]["messages"] if r.returncode == 0 else None
        check(got == before + n, "report after the load counts every message (%s, want %d + %d;"
              " now %d, last message %d)" % (got, before, n, time.time(),
                                             max(v["ts"] for v in t.rows().values())), r)
        files = t.spool_files()
        check(len(files) == before + n, "spool holds every message (%d)" % len(files))
        src_rows = [v for v in t.rows().values() if v["envelope_from"] == "load@sender.example"]
        check(len(src_rows) == n, "store has every smtp-source message (%d)" % len(src_rows))
        check(len({v["dialect_id"] for v in src_rows}) == 1, "smtp-source: one dialect")
        check(t.alive(), "trap alive after the load")
        stamp("load")
    finally:
        rc = t.stop()
        stamp("stopped")
    check(rc == 0, "trap exits 0 after SIGTERM (got %d): %s" % (rc, t.log()[-2000:]))
    check("stopped" in t.log(), "trap logged its stop")
    finish()


if __name__ == "__main__":
    main()
