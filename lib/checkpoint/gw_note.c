
/*
 * Copyright (C) Tollgate
 *
 * Signed notes.  The parser checks the whole message once for UTF-8 and
 * control characters, splits it at the last blank line, and reads the
 * signature lines after it; each line's base64 is checked in full but
 * decoded only when a key asks for it, so an unknown post-quantum
 * signature of several kilobytes costs no copy.
 *
 * Keys are in gw_note_key.c.  Ed25519 goes through OpenSSL's EVP raw-key
 * interface.  Every failure
 * clears OpenSSL's error queue before returning, so a caller that checks
 * the queue (the gateway does) never sees our leftovers.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "gw_b64std.h"
#include "gw_note.h"


#define GW_NOTE_DASH      "\xe2\x80\x94 "   /* U+2014 and a space */
#define GW_NOTE_DASH_LEN  4
#define GW_NOTE_SIG_LEN   64                /* Ed25519 */


static int gw_note_utf8(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);
static int gw_note_parse_sig(gw_note_sig_t *sig, const unsigned char *line,
    size_t len, const char **err);
static int gw_note_verify_sig(const gw_note_sig_t *sig,
    const gw_note_vkey_t *key, const unsigned char *text, size_t len);


int
gw_note_parse(gw_note_t *note, const unsigned char *msg, size_t len,
    const char **err)
{
    size_t                i, j;
    const unsigned char  *p, *end, *nl;

    memset(note, 0, sizeof(gw_note_t));

    if (len > GW_NOTE_MAX_LEN) {
        *err = "signed note too long";
        return -1;
    }

    if (gw_note_text_check(msg, len, err) != 0) {
        return -1;
    }

    /* the text ends at the last blank line, and keeps its newline */

    for (i = len - 1; i > 0; i--) {
        if (msg[i] == '\n' && msg[i - 1] == '\n') {
            break;
        }
    }

    if (i == 0) {
        *err = "signed note has no signature";
        return -1;
    }

    note->text = msg;
    note->text_len = i;

    p = msg + i + 1;
    end = msg + len;

    if (p == end) {
        *err = "signed note has no signature";
        return -1;
    }

    while (p < end) {
        nl = memchr(p, '\n', end - p);

        if (note->nsigs == GW_NOTE_MAX_SIGS) {
            *err = "signed note has too many signatures";
            return -1;
        }

        if (gw_note_parse_sig(&note->sigs[note->nsigs], p, nl - p, err)
            != 0)
        {
            return -1;
        }

        note->nsigs++;
        p = nl + 1;
    }

    for (i = 0; i < note->nsigs; i++) {
        for (j = 0; j < i; j++) {
            if (note->sigs[i].id == note->sigs[j].id
                && note->sigs[i].name_len == note->sigs[j].name_len
                && memcmp(note->sigs[i].name, note->sigs[j].name,
                          note->sigs[i].name_len) == 0)
            {
                *err = "signed note has two signatures of one key";
                return -1;
            }
        }
    }

    return 0;
}


/* one line without its newline: "— name base64" */

static int
gw_note_parse_sig(gw_note_sig_t *sig, const unsigned char *line, size_t len,
    const char **err)
{
    ssize_t               n;
    unsigned char         head[6];
    const unsigned char  *sp, *b64, *end;

    end = line + len;

    if (len < GW_NOTE_DASH_LEN
        || memcmp(line, GW_NOTE_DASH, GW_NOTE_DASH_LEN) != 0)
    {
        *err = "signature line does not start with an em dash";
        return -1;
    }

    line += GW_NOTE_DASH_LEN;

    sp = memchr(line, ' ', end - line);
    if (sp == NULL) {
        *err = "signature line has no signature";
        return -1;
    }

    if ((size_t) (sp - line) > GW_NOTE_NAME_MAX
        || gw_note_name_check(line, sp - line) != 0)
    {
        *err = "signature line has an invalid key name";
        return -1;
    }

    b64 = sp + 1;

    if ((size_t) (end - b64) > GW_NOTE_SIG_B64_MAX) {
        *err = "signature too long";
        return -1;
    }

    /* key ID and at least one byte of signature: 5 bytes, 8 symbols */

    n = gw_b64std_decode(NULL, b64, end - b64);

    if (n < 5
        || gw_b64std_decode(head, b64, (end - b64 > 8) ? 8 : end - b64) < 4)
    {
        *err = "signature is not base64 of a key ID and a signature";
        return -1;
    }

    sig->name = line;
    sig->name_len = sp - line;
    sig->id = ((uint32_t) head[0] << 24) | ((uint32_t) head[1] << 16)
              | ((uint32_t) head[2] << 8) | head[3];
    sig->b64 = b64;
    sig->b64_len = end - b64;

    return 0;
}


int
gw_note_verify(const gw_note_t *note, const gw_note_vkey_t *keys,
    size_t nkeys, size_t *verified, const char **err)
{
    size_t                i, k, good;
    const gw_note_sig_t  *sig;

    good = 0;

    if (verified != NULL) {
        *verified = 0;
    }

    for (i = 0; i < note->nsigs; i++) {
        sig = &note->sigs[i];

        for (k = 0; k < nkeys; k++) {
            if (keys[k].id == sig->id
                && keys[k].name_len == sig->name_len
                && memcmp(keys[k].name, sig->name, sig->name_len) == 0)
            {
                break;
            }
        }

        if (k == nkeys) {
            continue;           /* an unknown key: ignored */
        }

        if (gw_note_verify_sig(sig, &keys[k], note->text, note->text_len)
            != 0)
        {
            *err = "signature of a known key does not verify";
            return -1;
        }

        good++;
    }

    if (good == 0) {
        *err = "signed note has no signature of a known key";
        return -1;
    }

    if (verified != NULL) {
        *verified = good;
    }

    return 0;
}


static int
gw_note_verify_sig(const gw_note_sig_t *sig, const gw_note_vkey_t *key,
    const unsigned char *text, size_t len)
{
    int             rc;
    EVP_MD_CTX     *ctx;
    unsigned char   raw[4 + GW_NOTE_SIG_LEN + 3];

    if (sig->b64_len != gw_b64std_encoded_len(4 + GW_NOTE_SIG_LEN)
        || gw_b64std_decode(raw, sig->b64, sig->b64_len)
           != 4 + GW_NOTE_SIG_LEN)
    {
        return -1;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1
         && EVP_DigestVerify(ctx, raw + 4, GW_NOTE_SIG_LEN, text, len) == 1;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return rc ? 0 : -1;
}


int
gw_note_sign(const gw_note_skey_t *key, const unsigned char *text,
    size_t len, unsigned char **out, size_t *out_len, const char **err)
{
    int             rc;
    size_t          siglen, size;
    EVP_MD_CTX     *ctx;
    unsigned char  *p, raw[4 + GW_NOTE_SIG_LEN];

    *out = NULL;
    *out_len = 0;
    ctx = NULL;
    p = NULL;
    rc = -1;

    if (gw_note_text_check(text, len, err) != 0) {
        goto done;
    }

    size = len + 1 + GW_NOTE_DASH_LEN + key->vkey.name_len + 1
           + gw_b64std_encoded_len(sizeof(raw)) + 1;

    if (size > GW_NOTE_MAX_LEN) {
        *err = "signed note too long";
        goto done;
    }

    p = malloc(size);
    if (p == NULL) {
        *err = "out of memory";
        goto done;
    }

    raw[0] = (unsigned char) (key->vkey.id >> 24);
    raw[1] = (unsigned char) (key->vkey.id >> 16);
    raw[2] = (unsigned char) (key->vkey.id >> 8);
    raw[3] = (unsigned char) key->vkey.id;
    siglen = GW_NOTE_SIG_LEN;

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1
        || EVP_DigestSign(ctx, raw + 4, &siglen, text, len) != 1
        || siglen != GW_NOTE_SIG_LEN)
    {
        *err = "Ed25519 signing failed";
        goto done;
    }

    memcpy(p, text, len);
    size = len;
    p[size++] = '\n';
    memcpy(p + size, GW_NOTE_DASH, GW_NOTE_DASH_LEN);
    size += GW_NOTE_DASH_LEN;
    memcpy(p + size, key->vkey.name, key->vkey.name_len);
    size += key->vkey.name_len;
    p[size++] = ' ';
    size += gw_b64std_encode(p + size, raw, sizeof(raw));
    p[size++] = '\n';

    *out = p;
    *out_len = size;
    p = NULL;
    rc = 0;

done:

    free(p);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


int
gw_note_text_check(const unsigned char *text, size_t len, const char **err)
{
    int                   n;
    uint32_t              cp;
    const unsigned char  *p, *end;

    if (len == 0 || text[len - 1] != '\n') {
        *err = "note text does not end in a newline";
        return -1;
    }

    end = text + len;

    for (p = text; p < end; /* void */) {
        if (*p >= 0x80) {
            n = gw_note_utf8(p, end, &cp);
            if (n < 0) {
                *err = "note is not UTF-8";
                return -1;
            }

            p += n;
            continue;
        }

        if ((*p < 0x20 && *p != '\n') || *p == 0x7f) {
            *err = "note has a control character";
            return -1;
        }

        p++;
    }

    return 0;
}


int
gw_note_name_check(const unsigned char *name, size_t len)
{
    int                   n;
    uint32_t              cp;
    const unsigned char  *p, *end;

    if (len == 0) {
        return -1;
    }

    end = name + len;

    for (p = name; p < end; p += n) {
        if (*p < 0x80) {
            if (*p <= 0x20 || *p == 0x7f || *p == '+') {
                return -1;
            }

            n = 1;
            continue;
        }

        n = gw_note_utf8(p, end, &cp);
        if (n < 0) {
            return -1;
        }

        /* Unicode White_Space, and the C1 controls */

        if (cp <= 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a)
            || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
            || cp == 0x205f || cp == 0x3000)
        {
            return -1;
        }
    }

    return 0;
}


/* one multi-byte UTF-8 sequence: its length, or -1 when ill-formed */

static int
gw_note_utf8(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    int       i, n;
    uint32_t  c, min;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2; c = *p & 0x1f; min = 0x80;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3; c = *p & 0x0f; min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4; c = *p & 0x07; min = 0x10000;

    } else {
        return -1;
    }

    if (end - p < n) {
        return -1;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return -1;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return -1;
    }

    *cp = c;

    return n;
}
