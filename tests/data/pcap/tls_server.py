#!/usr/bin/python3
"""tls_server.py PORT CERT KEY - an SMTP server on 127.0.0.1:PORT that
offers STARTTLS (aiosmtpd, Debian's python3-aiosmtpd) and accepts every
message, for captures of STARTTLS sessions. Runs until killed."""
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: queued"


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    c = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx,
                   require_starttls=False, server_hostname="tls.example")
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
