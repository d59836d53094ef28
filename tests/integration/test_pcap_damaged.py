"""test_pcap_damaged.py - `spamtide ingest` of synthetic captures, clean and
damaged (written by tests/data/pcap/mkpcap.py): every link type and IP
version gives the same rows as the clean capture; reordered, duplicated
and overlapping segments, sequence wrap-around and port reuse lose nothing;
dropped segments, a cut file, a short snaplen, a capture starting
mid-session, resets, fragments, idle and evicted flows and a one-sided
capture each give their account on stderr (file and packet number) and
exit 3, storing what can be stored and never invented bytes.

Sessions: swaks and Python smtplib (transcripts of real clients,
tests/data/smtp) and an illustrative bot that pipelines, with a message of
several segments. Addresses are documentation ranges.
"""
import hashlib
import os
import random
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish, run, tmpdir, SRCDIR  # noqa: E402

TESTDATA = os.environ.get("TESTDATA", os.path.join(SRCDIR, "tests", "data"))
sys.path.insert(0, os.path.join(TESTDATA, "pcap"))
import mkpcap as m  # noqa: E402

D = tmpdir()
T0 = 1300000000.0          # 2011-03-13T07:06:40Z

BODY = b"".join(b"Line %04d of an illustrative bot's message, long enough to span packets.\r\n"
                % i for i in range(100))


def bot(n=1):
    """The illustrative bot's session; n makes its message unique."""
    return [
    ("S", b"220 mx.example ESMTP\r\n"),
    ("C", b"HELO bot-1234\r\n"),
    ("S", b"250 mx.example\r\n"),
    ("C", b"MAIL FROM:<bot@example.com>\r\nRCPT TO:<u1@example.org>\r\n"
          b"RCPT TO:<u2@example.org>\r\nDATA\r\n"),
    ("S", b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    ("C", b"Subject: cheap pills\r\nMessage-ID: <bot%d@example.com>\r\n\r\n" % n + BODY +
          b".\r\n"),
    ("S", b"250 ok: queued\r\n"),
    ("C", b"QUIT\r\n"),
    ("S", b"221 bye\r\n"),
    ]


BOT = bot()
SESSIONS = [
    # (transcript, client, t0)
    (m.load("swaks-1.txt"), ("192.0.2.7", 40001), T0),
    (m.load("smtplib-2.txt"), ("192.0.2.8", 40002), T0 + 60),
    (BOT, ("192.0.2.9", 40003), T0 + 120),
]
SERVER = ("198.51.100.25", 25)


def sha16(b):
    return hashlib.sha256(b).hexdigest()[:32].upper()


def end_times(pk, client):
    """Packet times at which each DATA of the client's session ended."""
    stream = b"".join(p.payload for p in pk if p.src == client)
    ends, pos = [], 0
    while True:
        i = stream.find(b"\r\n.\r\n", pos)
        if i < 0:
            break
        ends.append(i + 5)
        pos = i + 5
    out, off = [], 0
    for p in pk:
        if p.src != client or not p.payload:
            continue
        off += len(p.payload)
        while ends and ends[0] <= off:
            out.append(int(p.t))
            ends.pop(0)
    return out


def build(client_fn=None, server=SERVER, **kw):
    """The three sessions one after another; expected rows by envelope sender."""
    pk, want = [], []
    for tr, client, t0 in SESSIONS:
        if client_fn:
            client = client_fn(client)
        s = m.session(tr, client=client, server=server, t0=t0, split=700, **kw)
        pk += s
        for body, t in zip(m.messages(tr), end_times(s, client)):
            want.append((sha16(body), len(body), t, client[0]))
    return pk, want


def ingest(path, *extra):
    db = os.path.join(D, "db-%d.sqlite" % random.randrange(1 << 30))
    r = run("ingest", "--quiet", "--db", "sqlite:" + db, *extra, path)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT hex(hash), size, ts, client_ip, helo, envelope_from, rcpts, "
                       "dialect_id, encrypted, source FROM messages ORDER BY id").fetchall()
    con.close()
    os.unlink(db)
    return r, rows


def same_rows(name, rows, want, dialects=None):
    got = [(x[0], x[1], x[2], x[3]) for x in rows]
    check(got == want, "%s: rows\n   got  %s\n   want %s" % (name, got, want))
    if dialects is not None:
        check([x[7] for x in rows] == dialects, "%s: dialects %s, want %s"
              % (name, [x[7] for x in rows], dialects))


def write(name, pk, **kw):
    path = os.path.join(D, name)
    (m.write_pcapng if name.endswith(".pcapng") else m.write_pcap)(path, pk, **kw)
    return path


def main():
    pk, want = build()
    clean = write("clean.pcap", pk)
    r, rows = ingest(clean)
    check(r.returncode == 0 and r.stderr == "", "clean capture: exit 0, nothing on stderr", r)
    same_rows("clean", rows, want)
    dialects = [x[7] for x in rows]
    check(dialects[:3] == ["dialect:b6caf3a7", "dialect:0c139aa7", "dialect:0c139aa7"],
          "swaks and smtplib keep the ids docs/dialect.md gives them: %s" % dialects)
    check([x[4] for x in rows] == ["mail1.example.net", "mx9.example.org", "mx9.example.org",
                                   "bot-1234"], "HELOs: %s" % [x[4] for x in rows])
    check([x[6] for x in rows] == [1, 2, 1, 2], "recipients: %s" % [x[6] for x in rows])
    check([x[9] for x in rows] == ["%s#%d" % (clean, i) for i in range(1, 5)], "sources")

    # ---- the same sessions in every framing: the same rows ----
    framings = [
        ("pcapng", "x.pcapng", {}),
        ("nanosecond pcap", "x.pcap", {"nanos": True}),
        ("big-endian pcap", "x.pcap", {"big_endian": True}),
        ("802.1Q", "x.pcap", {"vlans": ((0x8100, 7),)}),
        ("QinQ", "x.pcapng", {"vlans": ((0x88a8, 5), (0x8100, 7))}),
        ("Linux SLL", "x.pcap", {"link": m.LINK_SLL}),
        ("Linux SLL2", "x.pcap", {"link": m.LINK_SLL2}),
        ("raw IP", "x.pcap", {"link": m.LINK_RAW}),
        ("BSD null", "x.pcap", {"link": m.LINK_NULL}),
        ("OpenBSD loop", "x.pcap", {"link": m.LINK_LOOP}),
    ]
    for name, fname, kw in framings:
        r, rows = ingest(write(fname, pk, **kw))
        check(r.returncode == 0 and r.stderr == "", name + ": exit 0, quiet", r)
        same_rows(name, rows, want, dialects)

    def v6(c):
        return ("2001:db8::%x" % c[1], c[1])
    pk6, want6 = build(client_fn=v6, server=("2001:db8::25", 25))
    for name, kw in (("IPv6", {}), ("IPv6 extension headers, SLL2",
                                    {"link": m.LINK_SLL2, "v6_ext": (0, 60)})):
        r, rows = ingest(write("v6.pcap", pk6, **kw))
        check(r.returncode == 0 and r.stderr == "", name + ": exit 0", r)
        same_rows(name, rows, want6, dialects)

    # ---- damage that loses nothing ----
    rnd = random.Random(7)

    def shuffled_data(pkts):
        """Client data segments swapped with their neighbours, in bursts."""
        out = [p.copy() for p in pkts]
        for i in range(3, len(out) - 3, 5):
            if out[i].payload and out[i + 2].payload and out[i].src == out[i + 2].src:
                out[i], out[i + 2] = out[i + 2], out[i]
        return out

    def duplicated(pkts):
        return [q for p in pkts for q in (p, p.copy())]

    def overlapping(pkts):
        """Each data segment preceded by a copy of its first half and followed
        by an overlapping resend of its second half with other bytes in front."""
        out = []
        for p in pkts:
            if len(p.payload) > 8:
                h = len(p.payload) // 2
                a = p.copy()
                a.payload = p.payload[:h]
                out.append(a)
                out.append(p)
                b = p.copy()
                b.seq = (p.seq + h - 4) & 0xffffffff
                b.payload = b"XXXX" + p.payload[h:]     # the 4 bytes delivered first stay
                out.append(b)
            else:
                out.append(p)
        return out

    for name, fn in (("reordered", shuffled_data), ("duplicated", duplicated),
                     ("overlapping", overlapping)):
        r, rows = ingest(write("x.pcap", fn(pk)))
        check(r.returncode == 0 and r.stderr == "", name + ": exit 0, quiet", r)
        same_rows(name, rows, want, dialects)

    pkw, wantw = build(isn_c=0xfffffc00, isn_s=0xffffffe0)
    r, rows = ingest(write("wrap.pcap", pkw))
    check(r.returncode == 0 and r.stderr == "", "sequence wrap-around: exit 0", r)
    same_rows("sequence wrap-around", rows, wantw, dialects)

    # port reuse: the first session's FIN is missing, a new SYN follows on the same 4-tuple
    a = m.session(SESSIONS[0][0], client=("192.0.2.7", 40001), t0=T0, end="open")
    b = m.session(BOT, client=("192.0.2.7", 40001), t0=T0 + 5, isn_c=9999999, split=700)
    r, rows = ingest(write("reuse.pcap", a + b))
    check(r.returncode == 0 and len(rows) == 2 and rows[1][5] == "bot@example.com",
          "port reuse: both sessions' messages", r)

    # a session on another port with a 220 banner; HTTP on another port: nothing
    odd = m.session(BOT, server=("198.51.100.25", 8025), t0=T0, split=700)
    http = m.session([("C", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                      ("S", b"HTTP/1.1 200 OK\r\n\r\nhello\r\n")],
                     server=("198.51.100.25", 80), client=("192.0.2.50", 5000), t0=T0)
    r, rows = ingest(write("odd.pcap", http + odd))
    check(r.returncode == 0 and len(rows) == 1 and rows[0][4] == "bot-1234",
          "a 220 banner on port 8025 is SMTP; HTTP is not", r)
    r, rows = ingest(os.path.join(D, "odd.pcap"), "--smtp-ports", "8025")
    check(r.returncode == 0 and len(rows) == 1, "--smtp-ports 8025", r)

    # STARTTLS: one encrypted row, no content
    tls = [("S", b"220 mx.example ESMTP\r\n"), ("C", b"EHLO box.example.net\r\n"),
           ("S", b"250-mx.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n"),
           ("C", b"STARTTLS\r\n"), ("S", b"220 2.0.0 go ahead\r\n"),
           ("C", b"\x16\x03\x01" + bytes(rnd.randrange(256) for _ in range(3000))),
           ("S", b"\x16\x03\x03" + bytes(rnd.randrange(256) for _ in range(2000)))]
    r, rows = ingest(write("tls.pcap", m.session(tls, t0=T0)))
    check(r.returncode == 0 and len(rows) == 1 and rows[0][8] == 1 and rows[0][1] == 0 and
          rows[0][4] == "box.example.net" and rows[0][2] == int(T0),
          "STARTTLS: one encrypted row: %s" % rows, r)

    # a transaction the trap's core refuses (SMTPUTF8) but the captured server took
    utf8 = [("S", b"220 mx.example ESMTP\r\n"), ("C", b"EHLO mta.example.net\r\n"),
            ("S", b"250-mx.example\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n"),
            ("C", b"MAIL FROM:<a@example.net> SMTPUTF8\r\n"), ("S", b"250 ok\r\n"),
            ("C", b"RCPT TO:<b@example.org>\r\n"), ("S", b"250 ok\r\n"),
            ("C", b"DATA\r\n"), ("S", b"354 go\r\n"),
            ("C", b"Subject: x\r\n\r\nhi\r\n.\r\n"), ("S", b"250 ok\r\n")]
    r, rows = ingest(write("utf8.pcap", m.session(utf8, t0=T0)))
    check(r.returncode == 3 and "message 1 of the session came in a way spamtide's SMTP core "
          "refuses (BDAT, or SMTPUTF8 or DSN parameters) and the server took it; not stored"
          in r.stderr and not rows, "SMTPUTF8: said, exit 3", r)

    # ---- damage that loses something: an account, exit 3 ----
    def data_segments(pkts, client):
        return [i for i, p in enumerate(pkts) if p.src == client and len(p.payload) >= 700]

    bot_client = SESSIONS[2][1]
    i = data_segments(pk, bot_client)[2]
    dropped = pk[:i] + pk[i + 1:]
    r, rows = ingest(write("drop.pcap", dropped))
    check(r.returncode == 3, "a dropped DATA segment: exit 3", r)
    check("message 1 of the session cut by bytes the capture missed (the server acknowledged "
          "them) inside DATA; not stored" in r.stderr and "192.0.2.9:40003 > 198.51.100.25:25"
          in r.stderr and "drop.pcap: packet " in r.stderr, "the account of the drop", r)
    same_rows("drop", rows, want[:3])

    # a dropped command segment: the rest of that session is not parsed
    j = [k for k, p in enumerate(pk) if p.src == SESSIONS[1][1] and
         p.payload.startswith(b"rcpt TO:<gina")][0]
    r, rows = ingest(write("dropcmd.pcap", pk[:j] + pk[j + 1:]))
    check(r.returncode == 3 and "bytes from the client after bytes the capture missed" in
          r.stderr and "were not parsed; messages in them are lost" in r.stderr,
          "a dropped command: the rest unparsed, exit 3", r)
    same_rows("dropcmd", rows, [want[0], want[1], want[3]])

    # the file cut in the middle of a record inside the bot's DATA
    i = data_segments(pk, bot_client)[3]
    path = write("cut.pcap", pk[:i + 1], cut=300)
    r, rows = ingest(path)
    check(r.returncode == 3 and "truncated" in r.stderr and "the rest of the file is not read"
          in r.stderr, "a cut file: exit 3 and says so", r)
    check("cut by the end of the capture inside DATA" in r.stderr,
          "a cut file: the message in progress is cut", r)
    same_rows("a cut file", rows, want[:3])

    # snaplen shorter than the packets
    # (200 bytes keep smtplib's short messages, not swaks's nor the bot's)
    r, rows = ingest(write("snap.pcap", pk, snaplen=200))
    check(r.returncode == 3 and "cut by the capture's snaplen (packets cut short) inside DATA"
          in r.stderr and r.stderr.count("\n") == 2, "snaplen 200: exit 3, says snaplen", r)
    same_rows("snaplen", rows, want[1:3])

    # a capture that starts in the middle of the sessions
    k = data_segments(pk, SESSIONS[1][1])
    start = [x for x, p in enumerate(pk) if p.src == SESSIONS[1][1] and p.payload][3]
    r, rows = ingest(write("mid.pcap", pk[start:]))
    check(r.returncode == 3 and "the capture joins this session in the middle" in r.stderr and
          r.stderr.count("joins") == 1, "mid-session start: one account, exit 3", r)
    same_rows("mid-session", rows, want[3:])

    # resets: inside DATA (cut), after QUIT (nothing lost)
    bs = m.session(BOT, t0=T0, split=700)
    k = data_segments(bs, ("192.0.2.7", 40001))[1]
    rst = bs[:k + 1] + [m.Pkt(T0 + 1, bs[k].src, bs[k].dst, bs[k].seq + 700, bs[k].ack,
                               m.RST | m.ACK)]
    r, rows = ingest(write("rst.pcap", rst))
    check(r.returncode == 3 and "cut by a reset from the client inside DATA" in r.stderr and
          not rows, "RST inside DATA: cut, exit 3", r)
    r, rows = ingest(write("rst2.pcap", m.session(BOT, t0=T0, split=700, end="rst")))
    check(r.returncode == 0 and len(rows) == 1, "RST after QUIT: the message, exit 0", r)

    # an IPv4 fragment in the middle of a message
    fr = [p.copy() for p in bs]
    fr[k].frag = (0, True)
    r, rows = ingest(write("frag.pcap", fr))
    check(r.returncode == 3 and "1 IP fragments of TCP segments skipped (the first is packet "
          "%d)" % (k + 1) in r.stderr and "inside DATA" in r.stderr,
          "a fragment: counted, said, and the message it cut", r)

    # idle in packet time, a flow table too small, too much out of order
    idle = [p.copy() for p in bs]
    for p in idle[k + 1:]:
        p.t += 3600
    r, rows = ingest(write("idle.pcap", idle), "--limit", "pcap_flow_idle_s=60")
    check(r.returncode == 3 and "cut by the session going idle (pcap_flow_idle_s)" in r.stderr,
          "idle mid-DATA: cut", r)
    k0 = data_segments(bs, ("192.0.2.7", 40001))[0]
    ooo = bs[:k0] + bs[k0 + 1:]
    ooo = [p for p in ooo if not (p.src == SERVER and p.ack > bs[k0].seq)]  # no proving ACKs
    r, rows = ingest(write("ooo.pcap", ooo), "--limit", "pcap_flow_bytes=4096")
    check(r.returncode == 3 and "a hole with more than pcap_flow_bytes waiting behind it" in
          r.stderr, "out-of-order bytes over the limit: a loss, said", r)

    many = []
    for n in range(2000):
        s = m.session(bot(n), client=("192.0.2.%d" % (n % 250 + 1), 1024 + n), t0=T0,
                      isn_c=n * 7919, split=700)
        many.append(s)
    inter = [p for rnd_pk in zip(*many) for p in rnd_pk]     # all 2000 open at once
    for x, p in enumerate(inter):
        p.t = T0 + x * 1e-5
    r, rows = ingest(write("many.pcap", inter))
    check(r.returncode == 0 and len(rows) == 2000, "2000 concurrent sessions: all stored "
          "(%d)" % len(rows), r)
    r, rows = ingest(os.path.join(D, "many.pcap"), "--limit", "pcap_flows=100")
    check(r.returncode == 3 and "eviction from the full flow table (pcap_flows)" in r.stderr,
          "a full flow table: evictions said, exit 3", r)
    lost = r.stderr.count("\n")
    check(2000 <= len(rows) + lost <= 2050 and len(rows) >= 100,
          "a full flow table: each session stored or accounted for (%d + %d)"
          % (len(rows), lost), r)

    # one-sided: only the client's packets; its acknowledgements say when the server spoke
    one = [p for p in pk if p.src[1] != 25]
    r, rows = ingest(write("one.pcap", one))
    check(r.returncode == 0 and r.stderr == "", "client side only: exit 0", r)
    same_rows("client side only", rows, want, dialects)
    # a server that never speaks, a client that does not stop
    mute = m.session([("C", b"HELO x\r\nMAIL FROM:<a@example.net>\r\n" * 200)], t0=T0)
    r, rows = ingest(write("mute.pcap", mute), "--limit", "pcap_flow_bytes=4096")
    check(r.returncode == 3 and "the server's side of the session is not in the capture" in
          r.stderr and not rows, "a mute server: said, nothing stored", r)

    # not a capture libpcap reads; a link type we do not decode
    path = os.path.join(D, "junk.pcap")
    with open(path, "wb") as f:
        f.write(b"\xd4\xc3\xb2\xa1" + bytes(rnd.randrange(256) for _ in range(100)))
    r, rows = ingest(path)
    check(r.returncode == 3 and "not a readable capture" in r.stderr, "junk with a magic", r)
    r, rows = ingest(write("wifi.pcap", bs, header_link=105))
    check(r.returncode == 3 and "link type" in r.stderr and "not supported" in r.stderr,
          "802.11: not supported, said", r)

    # random damage: never a crash, always an account or the rows
    for seed in range(30):
        rr = random.Random(seed)
        pkts = [p.copy() for p in pk]
        for _ in range(rr.randrange(1, 8)):
            op = rr.randrange(4)
            x = rr.randrange(len(pkts))
            if op == 0:
                del pkts[x]
            elif op == 1:
                pkts.insert(rr.randrange(len(pkts)), pkts[x].copy())
            elif op == 2 and pkts[x].payload:
                pkts[x].payload = pkts[x].payload[:rr.randrange(len(pkts[x].payload))]
            else:
                y = rr.randrange(len(pkts))
                pkts[x], pkts[y] = pkts[y], pkts[x]
        r, rows = ingest(write("rand.pcap", pkts, cut=rr.choice((0, 0, 7, 100))))
        check(r.returncode in (0, 3) and "panic" not in r.stderr and
              (r.returncode == 0) == (r.stderr == ""),
              "random damage %d: exit 0 or 3 with an account" % seed, r)


if __name__ == "__main__":
    main()
    finish()
