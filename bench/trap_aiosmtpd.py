"""A small SMTP trap in Python, the way Python honeypots are built: aiosmtpd
accepts everything and the handler writes each message into a Maildir
(tmp/, fsync, rename into new/) before answering 250. The peer of
`spamtide trap` in bench/trap; run under /usr/bin/python3 (Debian's
python3-aiosmtpd).

usage: trap_aiosmtpd.py PORT MAILDIR
Prints "ready" once it listens; stops on SIGTERM.
"""
import asyncio
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP


class MaildirHandler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.n = 0
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = "%d.P%dQ%d.bench" % (time.time(), os.getpid(), self.n)
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(b"Return-Path: <%s>\r\n" % (envelope.mail_from or "").encode())
            f.write(envelope.original_content or envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return "250 2.0.0 Ok: queued"


async def main(port, maildir):
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
    # an explicit hostname: without it aiosmtpd resolves the host name on
    # every connection
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="trap.bench", decode_data=False), "127.0.0.1", port,
        backlog=1024)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
