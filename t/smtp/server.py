#!/usr/bin/python3
# A real SMTP server for the email channel's tests (Debian's
# python3-aiosmtpd), started by t/backends/Smtp.pm:
#
#   server.py --dir DIR [--mode plain|starttls|implicit] [--cert F --key F]
#             [--require-starttls] [--auth USER:PASS] [--mech PLAIN|LOGIN]
#             [--reply ADDR=CODE TEXT]... [--data-reply CODE TEXT]
#             [--size BYTES] [--delay SECONDS]
#
# It listens on 127.0.0.1, port chosen by the system, written to
# DIR/port once it accepts.  Every message it takes is DIR/NNNN.eml (the
# bytes as received, dot-unstuffed) beside DIR/NNNN.json (envelope:
# mail_from, rcpt_tos, tls, auth).  --reply answers RCPT TO for ADDR with
# CODE TEXT (451, 550...); --data-reply answers every DATA so.  Each AUTH
# tried is a line of DIR/auth.log: "MECH LOGIN ok|bad".  --delay holds
# each DATA's answer back, a line "NNNN" in DIR/held once the message's
# end is in and the answer waits (the message's files are written when
# the answer goes); DIR/maxconn is the most connections it had
# open at once (counted right without STARTTLS).

import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--mode', default='plain',
                    choices=['plain', 'starttls', 'implicit'])
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--require-starttls', action='store_true')
    ap.add_argument('--auth')
    ap.add_argument('--mech')
    ap.add_argument('--reply', action='append', default=[])
    ap.add_argument('--data-reply')
    ap.add_argument('--size', type=int, default=33554432)
    ap.add_argument('--delay', type=float, default=0)
    a = ap.parse_args()

    replies = {}
    for r in a.reply:
        addr, text = r.split('=', 1)
        replies[addr] = text

    count = [0]

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address,
                              rcpt_options):
            if address in replies:
                return replies[address]
            envelope.rcpt_tos.append(address)
            return '250 OK'

        async def handle_DATA(self, server, session, envelope):
            if a.delay:
                with open(os.path.join(a.dir, 'held'), 'a') as f:
                    f.write('%04d\n' % (count[0] + 1))
                await asyncio.sleep(a.delay)
            if a.data_reply:
                return a.data_reply
            count[0] += 1
            base = os.path.join(a.dir, '%04d' % count[0])
            with open(base + '.eml.tmp', 'wb') as f:
                f.write(envelope.original_content)
            meta = {
                'mail_from': envelope.mail_from,
                'rcpt_tos': envelope.rcpt_tos,
                'tls': a.mode == 'implicit' or session.ssl is not None,
                'auth': (session.auth_data.login.decode()
                         if isinstance(session.auth_data, LoginPassword)
                         else None),
            }
            with open(base + '.json', 'w') as f:
                json.dump(meta, f)
            os.rename(base + '.eml.tmp', base + '.eml')
            return '250 2.0.0 queued as %04d' % count[0]

    def authenticator(server, session, envelope, mechanism, data):
        ok = False
        login = ''
        if isinstance(data, LoginPassword):
            login = data.login.decode('utf-8', 'replace')
            user, pw = a.auth.split(':', 1)
            ok = (data.login == user.encode()
                  and data.password == pw.encode())
        with open(os.path.join(a.dir, 'auth.log'), 'a') as f:
            f.write('%s %s %s\n' % (mechanism, login, 'ok' if ok else 'bad'))
        return AuthResult(success=ok, handled=False,
                          auth_data=data if ok else None)

    ctx = None
    if a.mode != 'plain':
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    kw = dict(hostname='mx.tollgate.test', data_size_limit=a.size,
              decode_data=False)
    if a.mode == 'starttls':
        kw.update(tls_context=ctx, require_starttls=a.require_starttls)
    if a.auth:
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=(a.mode != 'implicit'))
        if a.mech:
            kw.update(auth_exclude_mechanism=[
                m for m in ('PLAIN', 'LOGIN') if m != a.mech])

    conns = [0, 0]

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            if self.transport is None:
                conns[0] += 1
                if conns[0] > conns[1]:
                    conns[1] = conns[0]
                    with open(os.path.join(a.dir, 'maxconn'), 'w') as f:
                        f.write('%d\n' % conns[1])
            super().connection_made(transport)

        def connection_lost(self, exc):
            conns[0] -= 1
            super().connection_lost(exc)

    async def run():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(
            lambda: CountingSMTP(Handler(), **kw), '127.0.0.1', 0,
            ssl=ctx if a.mode == 'implicit' else None)
        port = srv.sockets[0].getsockname()[1]
        with open(os.path.join(a.dir, 'port.tmp'), 'w') as f:
            f.write('%d\n' % port)
        os.rename(os.path.join(a.dir, 'port.tmp'),
                  os.path.join(a.dir, 'port'))
        async with srv:
            await srv.serve_forever()

    asyncio.run(run())


if __name__ == '__main__':
    main()
