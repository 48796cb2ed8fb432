
/*
 * Copyright (C) Tollgate
 *
 * Idempotency keys: the strict sf-string parser, the record's key and
 * the Redis scripts (gw_idem.h says what each does).
 *
 * The parser follows RFC 8941's algorithm for a String (4.2.5) and a top
 * level Item (4.2), but refuses parameters: the draft defines none, and
 * accepting "k";p=1 beside "k" would give one key two spellings.  Leading
 * and trailing spaces are dropped as the RFC says (nginx has dropped them
 * already; a direct caller may not have).
 */


#include <string.h>

#include <openssl/evp.h>

#include "gw_idem.h"


int
gw_idem_key_parse(const unsigned char *value, size_t len, size_t max,
    unsigned char *out, size_t *out_len, const char **err)
{
    size_t                n;
    unsigned char         c;
    const unsigned char  *p, *end;
    const char           *dummy;

    if (err == NULL) {
        err = &dummy;
    }

    *out_len = 0;

    if (max > GW_IDEM_KEY_MAX) {
        max = GW_IDEM_KEY_MAX;
    }

    p = value;
    end = value + len;

    while (p < end && *p == ' ') {
        p++;
    }

    while (end > p && end[-1] == ' ') {
        end--;
    }

    if (p == end || *p != '"') {
        *err = "the value is not a quoted string";
        return GW_IDEM_MALFORMED;
    }

    p++;
    n = 0;

    for ( ;; ) {

        if (p == end) {
            *err = "the string has no closing quote";
            return GW_IDEM_MALFORMED;
        }

        c = *p++;

        if (c == '"') {
            break;
        }

        if (c == '\\') {
            if (p == end || (*p != '"' && *p != '\\')) {
                *err = "the string holds an escape other than \\\" or \\\\";
                return GW_IDEM_MALFORMED;
            }

            c = *p++;

        } else if (c < 0x20 || c > 0x7e) {
            *err = "the string holds a byte that is not printable ASCII";
            return GW_IDEM_MALFORMED;
        }

        if (n == max) {
            return GW_IDEM_TOO_LONG;
        }

        out[n++] = c;
    }

    if (p != end) {
        *err = "something follows the closing quote";
        return GW_IDEM_MALFORMED;
    }

    if (n == 0) {
        *err = "the key is empty";
        return GW_IDEM_MALFORMED;
    }

    *out_len = n;

    return GW_IDEM_OK;
}


int
gw_idem_record_key(const unsigned char *scope, size_t scope_len,
    const unsigned char *key, size_t key_len, unsigned char *out)
{
    int            rc;
    size_t         i;
    unsigned int   mdlen;
    EVP_MD_CTX    *md;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return -1;
    }

    rc = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
         && EVP_DigestUpdate(md, scope, scope_len) == 1
         && EVP_DigestUpdate(md, "", 1) == 1
         && EVP_DigestUpdate(md, key, key_len) == 1
         && EVP_DigestFinal_ex(md, digest, &mdlen) == 1
         && mdlen == 32;

    EVP_MD_CTX_free(md);

    if (!rc) {
        return -1;
    }

    memcpy(out, GW_IDEM_PREFIX, sizeof(GW_IDEM_PREFIX) - 1);
    out += sizeof(GW_IDEM_PREFIX) - 1;

    for (i = 0; i < 32; i++) {
        *out++ = hex[digest[i] >> 4];
        *out++ = hex[digest[i] & 0xf];
    }

    return 0;
}


int
gw_idem_headers_next(const unsigned char **p, const unsigned char *end,
    const unsigned char **name, size_t *name_len,
    const unsigned char **value, size_t *value_len)
{
    const unsigned char  *s, *nul;

    s = *p;

    if (s == end) {
        return 0;
    }

    nul = memchr(s, '\0', end - s);
    if (nul == NULL || nul == s) {
        return -1;
    }

    *name = s;
    *name_len = nul - s;
    s = nul + 1;

    nul = memchr(s, '\0', end - s);
    if (nul == NULL) {
        return -1;
    }

    *value = s;
    *value_len = nul - s;
    *p = nul + 1;

    return 1;
}


const char  gw_idem_begin_script[] =
"local h = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status',\n"
"                     'headers', 'body')\n"
"if not h[1] then\n"
"  redis.call('HSET', KEYS[1], 'state', 'pending', 'fp', ARGV[1],\n"
"             'owner', ARGV[3])\n"
"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"  return {'new'}\n"
"end\n"
"if h[2] ~= ARGV[1] then\n"
"  return {'mismatch'}\n"
"end\n"
"if h[1] == 'pending' then\n"
"  return {'pending'}\n"
"end\n"
"return {h[1], h[3] or '', h[4] or '', h[5] or ''}\n";


const char  gw_idem_store_script[] =
"local o = redis.call('HGET', KEYS[1], 'owner')\n"
"if o then\n"
"  if o ~= ARGV[1] then\n"
"    return 0\n"
"  end\n"
"  redis.call('DEL', KEYS[1])\n"
"elseif redis.call('EXISTS', KEYS[1]) == 1 then\n"
"  return 0\n"
"end\n"
"redis.call('HSET', KEYS[1], 'state', ARGV[3], 'fp', ARGV[2],\n"
"           'status', ARGV[4], 'headers', ARGV[5], 'body', ARGV[6])\n"
"redis.call('PEXPIRE', KEYS[1], ARGV[7])\n"
"return 1\n";


const char  gw_idem_release_script[] =
"if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then\n"
"  redis.call('DEL', KEYS[1])\n"
"  return 1\n"
"end\n"
"return 0\n";
