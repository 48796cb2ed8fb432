// Independent checkers of the notification service's webhook signatures
// (test-only; run by t/backends/083-notification-webhook.t when
// t/js/node_modules is installed).
//
//   node webhooks.mjs < {"secret": "whsec_...", "public_key": "whpk_..."
//                        (optional), "requests": [{"headers": {...},
//                        "body": "..."}]}
//
// prints one JSON line: {"results": [{"standardwebhooks": bool, "svix":
// bool, "v1a": bool or null, "v1": n (the v1 signatures listed)}, ...]}:
// npm standardwebhooks and npm svix each verify the request with the
// secret (their own parsing of the headers, timestamp tolerance and
// constant-time comparison), and node's crypto verifies the v1a Ed25519
// signature with the public key over "<id>.<timestamp>.<body>".

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));

function tryVerify(fn) {
    try {
        fn();
        return true;
    } catch (e) {
        return false;
    }
}

function v1a(publicKey, headers, body) {
    const raw = Buffer.from(publicKey.replace(/^whpk_/, ''), 'base64');
    const spki = Buffer.concat([
        Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    const key = crypto.createPublicKey({ key: spki, format: 'der',
                                         type: 'spki' });
    const content = Buffer.from(headers['webhook-id'] + '.'
        + headers['webhook-timestamp'] + '.' + body, 'utf8');
    const sigs = (headers['webhook-signature'] || '').split(' ')
        .filter((s) => s.startsWith('v1a,'))
        .map((s) => Buffer.from(s.slice(4), 'base64'));
    if (sigs.length === 0) {
        return false;
    }
    return sigs.some((sig) => crypto.verify(null, content, key, sig));
}

const results = input.requests.map((r) => {
    const h = {};
    for (const [k, v] of Object.entries(r.headers)) {
        h[k.toLowerCase()] = v;
    }
    return {
        standardwebhooks: tryVerify(() =>
            new StandardWebhook(input.secret).verify(r.body, h)),
        svix: tryVerify(() => new SvixWebhook(input.secret).verify(r.body, h)),
        v1a: input.public_key ? v1a(input.public_key, h, r.body) : null,
        v1: (h['webhook-signature'] || '').split(' ')
            .filter((s) => s.startsWith('v1,')).length,
    };
});

process.stdout.write(JSON.stringify({ results }) + '\n');
