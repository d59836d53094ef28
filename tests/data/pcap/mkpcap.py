#!/usr/bin/python3
"""mkpcap.py - write synthetic packet captures of SMTP sessions, clean or
damaged, for spamtide's tests (tests/integration/test_pcap_damaged.py).

Pure Python (struct), no dependencies. A session is built from a transcript
(tests/data/smtp/*.txt: "C "/"S " lines, escaped) into TCP packets: the
three-way handshake, each transcript line as segments of at most `mss`
bytes, each answered by an ACK, and a FIN exchange (or a RST). Damage is
done on the packet list (reorder, drop, duplicate, overlap, cut at the
snaplen) and on the file (cut mid-record). Frames can be Ethernet (with
VLAN/QinQ tags), Linux cooked SLL/SLL2, raw IP, BSD null or OpenBSD loop,
over IPv4 or IPv6 (with extension headers); files pcap or pcapng.

Everything here is synthetic: addresses are documentation ranges, the
transcripts are of real clients (see tests/data/smtp/capture.sh).

    import mkpcap
    pk = mkpcap.session(mkpcap.load("swaks-1.txt"), t0=1300000000.0)
    mkpcap.write_pcap("x.pcap", pk)
"""
import struct
import sys
import os

TESTDATA = os.environ.get("TESTDATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

LINK_ETHERNET, LINK_NULL, LINK_RAW, LINK_LOOP, LINK_SLL, LINK_SLL2 = 1, 0, 101, 108, 113, 276


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
            continue
        n = s[i + 1]
        if n == "r":
            out += b"\r"
        elif n == "n":
            out += b"\n"
        elif n == "t":
            out += b"\t"
        elif n == "\\":
            out += b"\\"
        elif n == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 2
        else:
            raise ValueError("bad escape \\" + n)
        i += 2
    return bytes(out)


def load(name):
    """A transcript: [(side, bytes)], side 'C' or 'S'."""
    path = name if os.path.sep in name else os.path.join(TESTDATA, "smtp", name)
    ev = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("#") or len(line) < 2:
                continue
            ev.append((line[0], unescape(line[2:].rstrip("\n"))))
    return ev


def messages(transcript):
    """What the client sent after each DATA's 354, dot-unstuffed: [bytes]."""
    client = b"".join(b for s, b in transcript if s == "C")
    out = []
    pos = 0
    while True:
        i = client.find(b"\r\nDATA\r\n", pos)
        j = client.lower().find(b"\r\ndata\r\n", pos)
        if i < 0 or (0 <= j < i):
            i = j
        if i < 0:
            return out
        start = i + 8
        end = client.find(b"\r\n.\r\n", start - 2)
        body = client[start:end + 2]
        lines = body.split(b"\r\n")
        body = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
        out.append(body)
        pos = end + 5


class Pkt:
    """One TCP segment with its time; src/dst are (ip, port)."""

    def __init__(self, t, src, dst, seq, ack, flags, payload=b""):
        self.t, self.src, self.dst = t, src, dst
        self.seq, self.ack, self.flags, self.payload = seq, ack, flags, payload
        self.snap = None            # bytes of the frame kept (None: all)
        self.frag = None            # IPv4 fragment: (offset in 8-byte units, more)

    def copy(self):
        p = Pkt(self.t, self.src, self.dst, self.seq, self.ack, self.flags, self.payload)
        p.snap, p.frag = self.snap, self.frag
        return p


def session(transcript, client=("192.0.2.7", 40001), server=("198.51.100.25", 25),
            t0=1300000000.0, isn_c=1000, isn_s=500000, mss=1400, step=0.001,
            end="fin", split=None):
    """TCP packets of one session. end: 'fin', 'rst' (client resets), 'open'.
    split: bytes per client segment inside long lines (default mss)."""
    t = [t0]
    pk = []
    cs, ss = isn_c, isn_s

    def emit(src, dst, seq, ack, flags, payload=b""):
        pk.append(Pkt(t[0], src, dst, seq & 0xffffffff, ack & 0xffffffff, flags, payload))
        t[0] += step

    emit(client, server, cs, 0, SYN)
    emit(server, client, ss, cs + 1, SYN | ACK)
    cs += 1
    ss += 1
    emit(client, server, cs, ss, ACK)
    for side, data in transcript:
        size = (split or mss) if side == "C" else mss
        for off in range(0, len(data), size):
            chunk = data[off:off + size]
            if side == "C":
                emit(client, server, cs, ss, ACK | PSH, chunk)
                cs += len(chunk)
                emit(server, client, ss, cs, ACK)
            else:
                emit(server, client, ss, cs, ACK | PSH, chunk)
                ss += len(chunk)
                emit(client, server, cs, ss, ACK)
    if end == "fin":
        emit(client, server, cs, ss, FIN | ACK)
        emit(server, client, ss, cs + 1, FIN | ACK)
        emit(client, server, cs + 1, ss + 1, ACK)
    elif end == "rst":
        emit(client, server, cs, ss, RST | ACK)
    return pk


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_bytes(p):
    hdr = struct.pack("!HHIIBBHHH", p.src[1], p.dst[1], p.seq, p.ack, 5 << 4, p.flags,
                      65535, 0, 0)
    return hdr + p.payload


def ip_bytes(p, v6_ext=()):
    """The IP datagram of p (IPv6 when the address has a ':')."""
    seg = tcp_bytes(p)
    if ":" in p.src[0]:
        nxt = 6
        ext = b""
        for h in reversed(v6_ext):      # e.g. (0, 60): hop-by-hop, then destination options
            ext = struct.pack("!BB6x", nxt, 0) + ext
            nxt = h
        return struct.pack("!IHBB16s16s", 6 << 28, len(ext) + len(seg), nxt, 64,
                           ip6(p.src[0]), ip6(p.dst[0])) + ext + seg
    frag = 0
    if p.frag:
        frag = (0x2000 if p.frag[1] else 0) | p.frag[0]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, frag, 64, 6, 0,
                      ip4(p.src[0]), ip4(p.dst[0]))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + seg


def frame(p, link=LINK_ETHERNET, vlans=(), v6_ext=()):
    d = ip_bytes(p, v6_ext)
    v6 = ":" in p.src[0]
    etype = 0x86dd if v6 else 0x0800
    if link == LINK_ETHERNET:
        first = vlans[0][0] if vlans else etype
        return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", first) + \
            _vlan_stack(vlans, etype) + d
    if link == LINK_SLL:
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", etype) + d
    if link == LINK_SLL2:
        return struct.pack("!HHIHBB8s", etype, 0, 1, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0") + d
    if link == LINK_RAW:
        return d
    if link == LINK_NULL:
        return struct.pack("<I", 30 if v6 else 2) + d
    if link == LINK_LOOP:
        return struct.pack("!I", 24 if v6 else 2) + d
    raise ValueError(link)


def _vlan_stack(vlans, etype):
    """The bytes after the first TPID: each tag's TCI and the next type."""
    out = b""
    for i, (tpid, vid) in enumerate(vlans):
        nxt = vlans[i + 1][0] if i + 1 < len(vlans) else etype
        out += struct.pack("!HH", vid, nxt)
    return out


def _records(pk, link, vlans, v6_ext, snaplen):
    for p in pk:
        f = frame(p, link, vlans, v6_ext)
        keep = len(f)
        if snaplen:
            keep = min(keep, snaplen)
        if p.snap is not None:
            keep = min(keep, p.snap)
        yield p.t, f[:keep], len(f)


def write_pcap(path, pk, link=LINK_ETHERNET, vlans=(), v6_ext=(), snaplen=0, cut=0,
               nanos=False, big_endian=False, header_link=None):
    """A classic pcap file; cut: drop that many bytes from the end;
    header_link: another link type in the file header than the frames have."""
    e = ">" if big_endian else "<"
    magic = 0xa1b23c4d if nanos else 0xa1b2c3d4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen or 262144,
                                link if header_link is None else header_link))
    for t, data, orig in _records(pk, link, vlans, v6_ext, snaplen):
        sec = int(t)
        frac = int(round((t - sec) * (1e9 if nanos else 1e6)))
        out += struct.pack(e + "IIII", sec, frac, len(data), orig) + data
    if cut:
        del out[-cut:]
    with open(path, "wb") as f:
        f.write(out)


def write_pcapng(path, pk, link=LINK_ETHERNET, vlans=(), v6_ext=(), snaplen=0):
    """A pcapng file: one section, one interface, enhanced packet blocks (µs)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = bytearray(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out += block(1, struct.pack("<HHI", link, 0, snaplen or 262144))
    for t, data, orig in _records(pk, link, vlans, v6_ext, snaplen):
        us = int(round(t * 1e6))
        out += block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xffffffff, len(data), orig) +
                     data)
    with open(path, "wb") as f:
        f.write(out)


def main():
    """mkpcap.py TRANSCRIPT OUT.pcap: a clean capture of one session."""
    if len(sys.argv) != 3:
        sys.exit("usage: mkpcap.py TRANSCRIPT OUT.pcap")
    write_pcap(sys.argv[2], session(load(sys.argv[1])))


if __name__ == "__main__":
    main()
