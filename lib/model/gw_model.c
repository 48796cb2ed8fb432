
/*
 * Copyright (C) Tollgate
 *
 * The data model's rules, shared by the gateway, the services and gwctl so
 * that a value one side writes is exactly what the other accepts.  Every
 * check here is a strict whitelist over a length the caller gives (no
 * NUL-terminated input is assumed), so a value read from Redis or from a
 * client is tested the same way as one typed on a command line.
 *
 * Keys are made here too: 32 bytes from RAND_bytes in base64url without
 * padding.  The small encoder is local rather than lib/jose's, so that this
 * file links with libcrypto alone.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gw_model.h"


static size_t gw_model_utf8_char(const unsigned char *s, size_t len,
    uint32_t *cp);
static int gw_model_id_char(unsigned char c);


static const char  gw_model_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char  gw_model_hex[] = "0123456789abcdef";


static int
gw_model_id_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}


int
gw_model_id_valid(const char *id, size_t len)
{
    size_t  i;

    if (id == NULL || len == 0 || len > GW_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!gw_model_id_char((unsigned char) id[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * Decodes the well-formed UTF-8 sequence at s into *cp and returns its
 * length (1 to 4), or 0 for an ill-formed one: a stray continuation byte,
 * a truncated sequence, an overlong form, a surrogate, a value above
 * U+10FFFF.
 */

static size_t
gw_model_utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    c = s[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2; c &= 0x1f; min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3; c &= 0x0f; min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4; c &= 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (n > len) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


int
gw_model_printable(const char *s, size_t len)
{
    size_t                n;
    uint32_t              c;
    const unsigned char  *p, *end;

    if (s == NULL) {
        return len == 0;
    }

    p = (const unsigned char *) s;
    end = p + len;

    while (p < end) {
        n = gw_model_utf8_char(p, end - p, &c);

        if (n == 0 || c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            return 0;
        }

        p += n;
    }

    return 1;
}


int
gw_model_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > GW_NAME_MAX) {
        return 0;
    }

    return gw_model_printable(name, len);
}


int
gw_model_tags_valid(const char *tags, size_t len)
{
    size_t       j, n, tlen[GW_TAGS_MAX];
    const char  *p, *end, *comma, *tag[GW_TAGS_MAX];

    if (len == 0) {
        return 1;
    }

    if (tags == NULL) {
        return 0;
    }

    p = tags;
    end = tags + len;
    n = 0;

    for ( ;; ) {
        comma = memchr(p, ',', end - p);

        if (comma == NULL) {
            comma = end;
        }

        if (n == GW_TAGS_MAX || !gw_model_id_valid(p, comma - p)) {
            return 0;
        }

        for (j = 0; j < n; j++) {
            if (tlen[j] == (size_t) (comma - p)
                && memcmp(tag[j], p, tlen[j]) == 0)
            {
                return 0;
            }
        }

        tag[n] = p;
        tlen[n] = comma - p;
        n++;

        if (comma == end) {
            break;
        }

        p = comma + 1;
    }

    return 1;
}


static void
gw_model_hex_digest(const unsigned char *md, char *hex)
{
    size_t  i;

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = gw_model_hex[md[i] >> 4];
        hex[2 * i + 1] = gw_model_hex[md[i] & 0x0f];
    }

    hex[2 * SHA256_DIGEST_LENGTH] = '\0';
}


void
gw_model_key_hash(const unsigned char *key, size_t len, char *hex)
{
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256(key, len, md);

    gw_model_hex_digest(md, hex);
}


struct gw_key_hasher_s {
    EVP_MD      *md;
    EVP_MD_CTX  *ctx;
};


gw_key_hasher_t *
gw_key_hasher_create(void)
{
    gw_key_hasher_t  *h;

    h = calloc(1, sizeof(gw_key_hasher_t));
    if (h == NULL) {
        return NULL;
    }

    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();

    if (h->md == NULL || h->ctx == NULL) {
        gw_key_hasher_free(h);
        return NULL;
    }

    return h;
}


int
gw_key_hasher_hash(gw_key_hasher_t *h, const unsigned char *key, size_t len,
    char *hex)
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1
        || EVP_DigestUpdate(h->ctx, key, len) != 1
        || EVP_DigestFinal_ex(h->ctx, md, &n) != 1
        || n != SHA256_DIGEST_LENGTH)
    {
        return -1;
    }

    gw_model_hex_digest(md, hex);

    return 0;
}


void
gw_key_hasher_free(gw_key_hasher_t *h)
{
    if (h == NULL) {
        return;
    }

    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}


int
gw_model_hash_valid(const char *hex, size_t len)
{
    size_t  i;

    if (hex == NULL || len != GW_KEY_HASH_HEX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((hex[i] >= '0' && hex[i] <= '9')
              || (hex[i] >= 'a' && hex[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


int
gw_model_key_valid(const char *key, size_t len)
{
    size_t       i;
    const char  *sym;

    if (key == NULL || len != GW_KEY_LEN
        || memcmp(key, GW_KEY_TEXT_PREFIX, sizeof(GW_KEY_TEXT_PREFIX) - 1)
           != 0)
    {
        return 0;
    }

    sym = NULL;

    for (i = sizeof(GW_KEY_TEXT_PREFIX) - 1; i < len; i++) {
        if (key[i] == '\0') {
            return 0;
        }

        sym = strchr(gw_model_b64url, key[i]);

        if (sym == NULL) {
            return 0;
        }
    }

    /*
     * 43 symbols carry 258 bits for 256: the last symbol's two low bits
     * are padding and must be zero, so each key has one spelling.
     */

    return ((sym - gw_model_b64url) & 0x03) == 0;
}


int
gw_model_key_generate(char *key)
{
    size_t         i, n;
    uint32_t       v;
    unsigned char  raw[GW_KEY_RANDOM_BYTES + 1];

    if (RAND_bytes(raw, GW_KEY_RANDOM_BYTES) != 1) {
        memset(key, 0, GW_KEY_LEN + 1);
        return -1;
    }

    /* 32 bytes end in a group of two: a zero byte completes it */

    raw[GW_KEY_RANDOM_BYTES] = 0;

    memcpy(key, GW_KEY_TEXT_PREFIX, sizeof(GW_KEY_TEXT_PREFIX) - 1);
    n = sizeof(GW_KEY_TEXT_PREFIX) - 1;

    for (i = 0; i < GW_KEY_RANDOM_BYTES; i += 3) {
        v = ((uint32_t) raw[i] << 16) | ((uint32_t) raw[i + 1] << 8)
            | raw[i + 2];

        key[n++] = gw_model_b64url[(v >> 18) & 0x3f];
        key[n++] = gw_model_b64url[(v >> 12) & 0x3f];

        if (n < GW_KEY_LEN) {
            key[n++] = gw_model_b64url[(v >> 6) & 0x3f];
        }

        if (n < GW_KEY_LEN) {
            key[n++] = gw_model_b64url[v & 0x3f];
        }
    }

    key[GW_KEY_LEN] = '\0';

    OPENSSL_cleanse(raw, sizeof(raw));

    return 0;
}


gw_model_key_state_e
gw_model_key_state(const char *status, size_t len, int64_t expires,
    int64_t now)
{
    if (status == NULL) {
        return GW_MODEL_KEY_IS_INVALID;
    }

    if (len == sizeof(GW_MODEL_REVOKED) - 1
        && memcmp(status, GW_MODEL_REVOKED, len) == 0)
    {
        return GW_MODEL_KEY_IS_REVOKED;
    }

    if (len != sizeof(GW_MODEL_ACTIVE) - 1
        || memcmp(status, GW_MODEL_ACTIVE, len) != 0
        || expires < 0)
    {
        return GW_MODEL_KEY_IS_INVALID;
    }

    if (expires != 0 && expires <= now) {
        return GW_MODEL_KEY_IS_EXPIRED;
    }

    return GW_MODEL_KEY_USABLE;
}


int
gw_model_ttl_parse(const char *s, size_t len, int64_t *seconds)
{
    size_t   i, digits;
    int64_t  n, unit;

    if (s == NULL || len == 0) {
        return -1;
    }

    unit = 1;
    digits = len;

    switch (s[len - 1]) {

    case 's':
        digits--;
        break;

    case 'm':
        unit = 60;
        digits--;
        break;

    case 'h':
        unit = 3600;
        digits--;
        break;

    case 'd':
        unit = 86400;
        digits--;
        break;

    default:
        break;
    }

    if (digits == 0 || s[0] == '0') {
        return -1;
    }

    n = 0;

    for (i = 0; i < digits; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');

        /* checked on every digit, so n * 10 never overflows */

        if (n > GW_KEY_TTL_MAX) {
            return -1;
        }
    }

    if (n > GW_KEY_TTL_MAX / unit) {
        return -1;
    }

    *seconds = n * unit;

    return 0;
}


int
gw_model_event_parse(const char *msg, size_t len, gw_model_event_t *ev)
{
    size_t       klen;
    const char  *id;

    ev->kind = GW_MODEL_EVENT_NONE;
    ev->id = NULL;
    ev->id_len = 0;

    if (msg == NULL) {
        return -1;
    }

    klen = sizeof(GW_MODEL_EVENT_KEY) - 1;

    if (len > klen && memcmp(msg, GW_MODEL_EVENT_KEY, klen) == 0
        && msg[klen] == ' ')
    {
        id = msg + klen + 1;

        if (!gw_model_hash_valid(id, len - klen - 1)) {
            return -1;
        }

        ev->kind = GW_MODEL_EVENT_IS_KEY;
        ev->id = id;
        ev->id_len = len - klen - 1;

        return 0;
    }

    klen = sizeof(GW_MODEL_EVENT_CONSUMER) - 1;

    if (len > klen && memcmp(msg, GW_MODEL_EVENT_CONSUMER, klen) == 0
        && msg[klen] == ' ')
    {
        id = msg + klen + 1;

        if (!gw_model_id_valid(id, len - klen - 1)) {
            return -1;
        }

        ev->kind = GW_MODEL_EVENT_IS_CONSUMER;
        ev->id = id;
        ev->id_len = len - klen - 1;

        return 0;
    }

    klen = sizeof(GW_MODEL_EVENT_CLIENT) - 1;

    if (len > klen && memcmp(msg, GW_MODEL_EVENT_CLIENT, klen) == 0
        && msg[klen] == ' ')
    {
        id = msg + klen + 1;

        if (!gw_model_id_valid(id, len - klen - 1)) {
            return -1;
        }

        ev->kind = GW_MODEL_EVENT_IS_CLIENT;
        ev->id = id;
        ev->id_len = len - klen - 1;

        return 0;
    }

    klen = sizeof(GW_MODEL_EVENT_JTI) - 1;

    if (len > klen && memcmp(msg, GW_MODEL_EVENT_JTI, klen) == 0
        && msg[klen] == ' ')
    {
        id = msg + klen + 1;

        if (!gw_model_id_valid(id, len - klen - 1)) {
            return -1;
        }

        ev->kind = GW_MODEL_EVENT_IS_JTI;
        ev->id = id;
        ev->id_len = len - klen - 1;

        return 0;
    }

    klen = sizeof(GW_MODEL_EVENT_KEYS) - 1;

    if (len == klen && memcmp(msg, GW_MODEL_EVENT_KEYS, klen) == 0) {
        ev->kind = GW_MODEL_EVENT_IS_KEYS;
        ev->id = msg + klen;
        ev->id_len = 0;

        return 0;
    }

    return -1;
}
