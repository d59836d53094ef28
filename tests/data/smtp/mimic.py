#!/usr/bin/python3
"""mimic.py PORT - a one-process SMTP sink on 127.0.0.1:PORT that answers
exactly as spamtide's SMTP core does in a plain session (same banner, EHLO
keywords, replies, "queued as Q<n>"), so that real clients captured against
it send what they would send to the trap. Used by capture.sh only; it
serves sessions one after another until killed. Not a test of the core."""
import socket
import sys

HOST = "trap.example"
SIZE = 33554432
EHLO = ("250-%s\r\n250-PIPELINING\r\n250-SIZE %d\r\n250-8BITMIME\r\n"
        "250 ENHANCEDSTATUSCODES\r\n" % (HOST, SIZE))


def serve(conn, queued):
    f = conn.makefile("rb")
    conn.sendall(("220 %s ESMTP\r\n" % HOST).encode())
    in_txn = False
    rcpts = 0
    while True:
        line = f.readline()
        if not line:
            return queued
        verb = line.split(b" ")[0].strip().upper()
        if verb == b"EHLO":
            out = EHLO
            in_txn = False
        elif verb == b"HELO":
            out = "250 %s\r\n" % HOST
            in_txn = False
        elif verb == b"MAIL":
            out = "250 2.1.0 Ok\r\n"
            in_txn, rcpts = True, 0
        elif verb == b"RCPT":
            out = "250 2.1.5 Ok\r\n"
            rcpts += 1
        elif verb == b"DATA":
            conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            while True:
                d = f.readline()
                if not d or d in (b".\r\n", b".\n"):
                    break
            queued += 1
            out = "250 2.0.0 Ok: queued as Q%d\r\n" % queued
            in_txn = False
        elif verb in (b"RSET", b"NOOP"):
            out = "250 2.0.0 Ok\r\n"
        elif verb == b"QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            return queued
        else:
            out = "500 5.5.2 Error: command not recognized\r\n"
        conn.sendall(out.encode())


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(8)
    while True:
        conn, _ = s.accept()
        serve(conn, 0)
        conn.close()


if __name__ == "__main__":
    main()
