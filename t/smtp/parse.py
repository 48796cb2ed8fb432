#!/usr/bin/python3
# An independent reading of a received message by Python's email package
# (policy default: RFC 2047 words and RFC 2231 parameters decoded), for
# t/backends/08e-notification-email.t: one JSON object on stdout.
#
# Display names are decoded by the package's older decode_header(): the
# default policy's address parser keeps the white space between two
# adjacent encoded words of a phrase, which RFC 2047 (6.2) says to drop.
#
#   parse.py FILE.eml

import base64
import email
import email.header
import email.policy
import email.utils
import hashlib
import json
import sys


def names(raw):
    """[[display name, address], ...] of the To field, RFC 2047 decoded"""
    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for name, addr in email.utils.getaddresses(legacy.get_all('to', [])):
        out.append([str(email.header.make_header(
            email.header.decode_header(name))), addr])
    return out


def main():
    with open(sys.argv[1], 'rb') as f:
        raw = f.read()

    msg = email.message_from_bytes(raw, policy=email.policy.default)

    out = {
        'subject': msg['subject'],
        'from': str(msg['from']),
        'message_id': msg['message-id'],
        'date': msg['date'].datetime.isoformat() if msg['date'] else None,
        'to': names(raw),
        'mime_version': msg['mime-version'],
        'types': [p.get_content_type() for p in msg.walk()],
        'defects': [],
        'text': None,
        'html': None,
        'attachments': [],
    }

    for p in msg.walk():
        out['defects'] += [type(d).__name__ for d in p.defects]
        if p.is_multipart():
            continue
        if p.get_content_disposition() == 'attachment':
            data = p.get_payload(decode=True)
            out['attachments'].append({
                'filename': p.get_filename(),
                'content_type': p.get_content_type(),
                'sha256': hashlib.sha256(data).hexdigest(),
                'base64': base64.b64encode(data).decode(),
            })
        elif p.get_content_type() == 'text/plain':
            out['text'] = p.get_content()
        elif p.get_content_type() == 'text/html':
            out['html'] = p.get_content()

    for h, v in msg.items():
        out['defects'] += [type(d).__name__
                           for d in getattr(v, 'defects', [])]

    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == '__main__':
    main()
