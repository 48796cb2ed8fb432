// Independent checkers for the identity service's tests (test-only; run
// by t/backends/*identity*.t when `make deps` installed t/js/node_modules).
//
//   node check.mjs verify --issuer I --jwks URL --audience A [--alg ES256]
//       reads access tokens, one per line, on stdin; checks each with
//       npm jose (jwtVerify, remote JWKS, typ at+jwt, issuer, audience)
//       and npm oauth4webapi (validateJwtAccessToken, RFC 9068); prints
//       {"checked": n, "ok": n, "failed": n, "errors": [...]} (at most 5)
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

import * as fs from 'node:fs';
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

async function verify(opt) {
    const input = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
    const jwks = jose.createRemoteJWKSet(new URL(opt.jwks));
    const as = { issuer: opt.issuer, jwks_uri: opt.jwks };
    const options = insecure(opt.jwks)
        ? { [oauth.allowInsecureRequests]: true } : {};
    if (opt.alg) {
        options.signingAlgorithms = [opt.alg];
    }
    const out = { checked: 0, ok: 0, failed: 0, errors: [] };

    for (const token of input) {
        out.checked++;
        try {
            await jose.jwtVerify(token, jwks, {
                issuer: opt.issuer, audience: opt.audience, typ: 'at+jwt',
                algorithms: opt.alg ? [opt.alg] : undefined,
                requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
            });
            const req = new Request('http://resource.test/', {
                headers: { authorization: `Bearer ${token}` },
            });
            await oauth.validateJwtAccessToken(as, req, opt.audience,
                                               options);
            out.ok++;
        } catch (e) {
            out.failed++;
            if (out.errors.length < 5) {
                out.errors.push(`${e.code || e.name}: ${e.message}`);
            }
        }
    }
    return out;
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
    const params = {};
    let positional;

    for (const r of rest) {
        const i = r.indexOf('=');
        if (i < 0) {
            positional = r;
        } else {
            params[r.slice(0, i)] = r.slice(i + 1);
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
    out = process.argv[2] === 'verify' ? await verify(opt)
                                       : await clientOp(opt, rest);
} catch (e) {
    out = { error: e.error || e.code || e.name,
            error_description: e.error_description || e.message,
            status: e.status };
}

process.stdout.write(JSON.stringify(out) + '\n');
