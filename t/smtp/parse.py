#!/usr/bin/python3
# An independent reading of a received message by Python's email package
# (policy default: RFC 2047 words and RFC 2231 parameters decoded), for
# t/backends/08e-notification-email.t: one JSON object on stdout.
#
#   parse.py FILE.eml

import base64
import email
import email.policy
import hashlib
import json
import sys


def main():
    with open(sys.argv[1], 'rb') as f:
        raw = f.read()

    msg = email.message_from_bytes(raw, policy=email.policy.default)

    out = {
        'subject': msg['subject'],
        'from': str(msg['from']),
        'message_id': msg['message-id'],
        'date': msg['date'].datetime.isoformat() if msg['date'] else None,
        'to': [[a.display_name, a.addr_spec] for a in msg['to'].addresses],
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
