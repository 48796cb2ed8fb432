// Independent checkers for the identity service's tests (test-only; run
// by t/backends/*identity*.t when `make deps` installed t/js/node_modules).
//
//   node check.mjs verify --issuer I --jwks URL --audience A [--alg ES256]
//       [--max-age S]
//       reads access tokens, one per line, on stdin, and checks each as it
//       comes (a writer may feed it for a minute) with npm jose
//       (jwtVerify, remote JWKS, typ at+jwt, issuer, audience) and npm
//       oauth4webapi (validateJwtAccessToken, RFC 9068); prints
//       {"checked": n, "ok": n, "failed": n, "errors": [...] (at most 5),
//        "kids": [...], "max_age": s, "fetches": n (jose's),
//        "lag_max": s (the most a token waited since its iat)}
//       Both keep the key set as a cache that honours the JWKS's
//       Cache-Control would: for its max-age (read from a first fetch, or
//       --max-age), then fetched again before the next token; a kid they
//       lack within that time is a failure (jose refetches on an unknown
//       kid only after its 30 s cooldown, oauth4webapi after 60 s), so a
//       server that signs with a key before every such cache holds it is
//       caught.
//
//   node check.mjs unwrap --kek FILE --record JSON
//       the private key (PKCS #8 PEM) of a gw:identity:keys record,
//       decrypted with the key-encryption key as docs/identity.md says
//       (AES-256-GCM, the kid as additional data): lets a test sign what
//       the service never would (an ID-token-like JWT) with its real key
//
//   node check.mjs client --issuer I --client-id ID
//       (--secret S [--auth basic|post] | --key FILE [--alg ES256])
//       [--discovery oidc|oauth2] OP [name=value ...]
//       openid-client as a real client, after discovery of the issuer:
//       OP token (client credentials; name=value adds scope, resource),
//       introspect TOKEN, revoke TOKEN, exchange (token exchange grant,
//       name=value as the form), discover (prints the metadata);
//       prints the answer as JSON, or {"error", "error_description",
//       "status"} when the server refused

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

function args(argv) {
    const opt = {}, rest = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith('--')) {
            opt[argv[i].slice(2)] = argv[++i];
        } else {
            rest.push(argv[i]);
        }
    }
    return [opt, rest];
}

function insecure(url) {
    return new URL(url).protocol === 'http:';
}

async function maxAgeOf(url) {
    const res = await fetch(url);
    const cc = res.headers.get('cache-control') || '';
    const m = /(?:^|[ ,])max-age=(\d+)/.exec(cc);
    if (/no-store|no-cache/.test(cc)) {
        return 0;
    }
    return m ? Number(m[1]) : 300;
}

async function verify(opt) {
    const maxAge = opt['max-age'] !== undefined ? Number(opt['max-age'])
                                                : await maxAgeOf(opt.jwks);
    const url = new URL(opt.jwks);
    const out = { checked: 0, ok: 0, failed: 0, errors: [], kids: [],
                  max_age: maxAge, fetches: 0, lag_max: 0 };
    const jwks = jose.createRemoteJWKSet(url, {
        cacheMaxAge: maxAge * 1000,
        [jose.customFetch]: (...a) => { out.fetches++; return fetch(...a); },
    });
    const options = insecure(opt.jwks)
        ? { [oauth.allowInsecureRequests]: true } : {};
    if (opt.alg) {
        options.signingAlgorithms = [opt.alg];
    }
    const kids = new Set();
    let as, asAt = 0;

    const input = readline.createInterface({ input: process.stdin,
                                             crlfDelay: Infinity });
    for await (const line of input) {
        const token = line.trim();
        if (token === '') {
            continue;
        }
        out.checked++;
        /* oauth4webapi keeps a key set per authorization server object
         * for 5 minutes: a new object when max-age has passed */
        if (as === undefined || Date.now() - asAt >= maxAge * 1000) {
            as = { issuer: opt.issuer, jwks_uri: opt.jwks };
            asAt = Date.now();
        }
        try {
            const { protectedHeader, payload } = await jose.jwtVerify(token, jwks, {
                issuer: opt.issuer, audience: opt.audience, typ: 'at+jwt',
                algorithms: opt.alg ? [opt.alg] : undefined,
                requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
            });
            const req = new Request('http://resource.test/', {
                headers: { authorization: `Bearer ${token}` },
            });
            await oauth.validateJwtAccessToken(as, req, opt.audience,
                                               options);
            kids.add(protectedHeader.kid);
            out.lag_max = Math.max(out.lag_max,
                                   Date.now() / 1000 - payload.iat);
            out.ok++;
        } catch (e) {
            out.failed++;
            if (out.errors.length < 5) {
                out.errors.push(`${e.code || e.name}: ${e.message}`);
            }
        }
    }
    out.kids = [...kids];
    return out;
}

function b64u(s) {
    return Buffer.from(s, 'base64url');
}

function unwrap(opt) {
    const kek = fs.readFileSync(opt.kek);
    const rec = JSON.parse(opt.record);
    const sealed = b64u(rec.private);
    const d = crypto.createDecipheriv('aes-256-gcm', kek, b64u(rec.iv));
    d.setAAD(Buffer.from(rec.kid));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const der = Buffer.concat([d.update(sealed.subarray(0,
                                                        sealed.length - 16)),
                               d.final()]);
    const key = crypto.createPrivateKey({ key: der, format: 'der',
                                          type: 'pkcs8' });
    return { pem: key.export({ format: 'pem', type: 'pkcs8' }) };
}

async function clientAuth(opt) {
    if (opt.key) {
        const pem = fs.readFileSync(opt.key, 'utf8');
        const alg = opt.alg || 'ES256';
        const key = await jose.importPKCS8(pem, alg);
        return client.PrivateKeyJwt({ key, kid: opt.kid });
    }
    return opt.auth === 'post' ? client.ClientSecretPost(opt.secret)
                               : client.ClientSecretBasic(opt.secret);
}

async function clientOp(opt, rest) {
    const op = rest.shift();
    const params = new URLSearchParams();
    let positional;

    /* name=value in order; a name may repeat (resource, RFC 8707) */
    for (const r of rest) {
        const i = r.indexOf('=');
        if (i < 0) {
            positional = r;
        } else {
            params.append(r.slice(0, i), r.slice(i + 1));
        }
    }

    const options = { algorithm: opt.discovery || 'oidc' };
    if (insecure(opt.issuer)) {
        options.execute = [client.allowInsecureRequests];
    }
    const config = await client.discovery(new URL(opt.issuer),
                                          opt['client-id'], undefined,
                                          await clientAuth(opt), options);

    switch (op) {
    case 'discover':
        return config.serverMetadata();
    case 'token':
        return await client.clientCredentialsGrant(config, params);
    case 'introspect':
        return await client.tokenIntrospection(config, positional);
    case 'revoke':
        await client.tokenRevocation(config, positional);
        return { revoked: true };
    case 'exchange':
        return await client.genericGrantRequest(config,
            'urn:ietf:params:oauth:grant-type:token-exchange', params);
    default:
        throw new Error(`unknown operation ${op}`);
    }
}

const [opt, rest] = args(process.argv.slice(3));
let out;

try {
    switch (process.argv[2]) {
    case 'verify':
        out = await verify(opt);
        break;
    case 'unwrap':
        out = unwrap(opt);
        break;
    default:
        out = await clientOp(opt, rest);
    }
} catch (e) {
    out = { error: e.error || e.code || e.name,
            error_description: e.error_description || e.message,
            status: e.status };
}

process.stdout.write(JSON.stringify(out) + '\n');
