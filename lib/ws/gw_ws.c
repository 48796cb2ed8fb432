
/*
 * Copyright (C) Tollgate
 *
 * WebSocket (RFC 6455) handshake checks, server frame headers and the
 * client frame parser of a push subscriber (gw_ws.h).  The parser reads
 * a header only: the caller holds the payload's bytes (at most the cap
 * it gives, and a control frame's 125) until the frame is whole.
 */


#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "gw_ws.h"


#define GW_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static int gw_ws_b64_value(unsigned char c);
static int gw_ws_utf8_valid(const unsigned char *p, size_t n);


static int
gw_ws_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;
}


int
gw_ws_key_valid(const unsigned char *key, size_t len)
{
    int     v;
    size_t  i;

    if (len != GW_WS_KEY_LEN || key[22] != '=' || key[23] != '=') {
        return 0;
    }

    for (i = 0; i < 22; i++) {
        v = gw_ws_b64_value(key[i]);

        if (v < 0) {
            return 0;
        }
    }

    /* 16 bytes are 128 bits: the 22nd character carries 2 of them */

    return (v & 0x0f) == 0;
}


int
gw_ws_accept(unsigned char *out, const unsigned char *key, size_t len)
{
    size_t         n;
    EVP_MD_CTX    *md_ctx;
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];
    unsigned char  b64[GW_WS_ACCEPT_LEN + 1];

    md_ctx = EVP_MD_CTX_new();
    if (md_ctx == NULL) {
        return -1;
    }

    n = sizeof(GW_WS_GUID) - 1;

    if (EVP_DigestInit_ex(md_ctx, EVP_sha1(), NULL) != 1
        || EVP_DigestUpdate(md_ctx, key, len) != 1
        || EVP_DigestUpdate(md_ctx, GW_WS_GUID, n) != 1
        || EVP_DigestFinal_ex(md_ctx, md, &md_len) != 1
        || md_len != SHA_DIGEST_LENGTH)
    {
        EVP_MD_CTX_free(md_ctx);
        return -1;
    }

    EVP_MD_CTX_free(md_ctx);

    if (EVP_EncodeBlock(b64, md, SHA_DIGEST_LENGTH) != GW_WS_ACCEPT_LEN) {
        return -1;
    }

    memcpy(out, b64, GW_WS_ACCEPT_LEN);

    return 0;
}


int
gw_ws_list_has(const unsigned char *v, size_t len, const char *token)
{
    size_t                tlen, elen;
    const unsigned char  *p, *end, *e;

    tlen = strlen(token);
    end = v + len;
    p = v;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        e = p;

        while (e < end && *e != ',') {
            e++;
        }

        elen = e - p;

        while (elen > 0 && (p[elen - 1] == ' ' || p[elen - 1] == '\t')) {
            elen--;
        }

        if (elen == tlen && strncasecmp((const char *) p, token, tlen) == 0)
        {
            return 1;
        }

        p = e;
    }

    return 0;
}


size_t
gw_ws_head_len(uint64_t len)
{
    return (len < 126) ? 2 : (len <= 0xffff) ? 4 : 10;
}


size_t
gw_ws_head(unsigned char *out, unsigned opcode, uint64_t len)
{
    int  i;

    out[0] = (unsigned char) (0x80 | (opcode & 0x0f));

    if (len < 126) {
        out[1] = (unsigned char) len;
        return 2;
    }

    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char) (len >> 8);
        out[3] = (unsigned char) len;
        return 4;
    }

    out[1] = 127;

    for (i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char) (len >> (56 - 8 * i));
    }

    return 10;
}


size_t
gw_ws_close_frame(unsigned char *out, unsigned code)
{
    if (code == 0) {
        return gw_ws_head(out, GW_WS_CLOSE, 0);
    }

    gw_ws_head(out, GW_WS_CLOSE, 2);
    out[2] = (unsigned char) (code >> 8);
    out[3] = (unsigned char) code;

    return 4;
}


int
gw_ws_parse_head(gw_ws_frame_t *f, const unsigned char *p, size_t n,
    uint64_t max)
{
    int       i;
    size_t    head;
    unsigned  fin, opcode, len7;
    uint64_t  len;

    if (n < 2) {
        return GW_WS_AGAIN;
    }

    fin = p[0] & 0x80;
    opcode = p[0] & 0x0f;
    len7 = p[1] & 0x7f;

    if ((p[0] & 0x70) != 0                       /* RSV1-3: no extension */
        || (opcode > GW_WS_BINARY && opcode < GW_WS_CLOSE)
        || opcode > GW_WS_PONG
        || (p[1] & 0x80) == 0)                   /* a client masks */
    {
        return GW_WS_PROTOCOL_ERROR;
    }

    if ((opcode & 0x08) && (!fin || len7 > GW_WS_CONTROL_MAX)) {
        return GW_WS_PROTOCOL_ERROR;
    }

    if (len7 < 126) {
        len = len7;
        head = 2;

    } else if (len7 == 126) {
        if (n < 4) {
            return GW_WS_AGAIN;
        }

        len = ((uint64_t) p[2] << 8) | p[3];
        head = 4;

        if (len < 126) {                         /* not the fewest bytes */
            return GW_WS_PROTOCOL_ERROR;
        }

    } else {
        if (n < 10) {
            return GW_WS_AGAIN;
        }

        if (p[2] & 0x80) {                       /* the top bit is 0 */
            return GW_WS_PROTOCOL_ERROR;
        }

        len = 0;

        for (i = 0; i < 8; i++) {
            len = (len << 8) | p[2 + i];
        }

        head = 10;

        if (len <= 0xffff) {
            return GW_WS_PROTOCOL_ERROR;
        }
    }

    if (len > max) {
        return GW_WS_TOO_BIG;
    }

    if (!(opcode & 0x08)) {                      /* we take no data */
        return GW_WS_UNACCEPTABLE;
    }

    if (n < head + 4) {
        return GW_WS_AGAIN;
    }

    memcpy(f->mask, p + head, 4);
    f->opcode = opcode;
    f->len = len;
    f->head = head + 4;

    return 1;
}


void
gw_ws_unmask(unsigned char *p, size_t n, const unsigned char *mask,
    uint64_t off)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] ^= mask[(off + i) & 3];
    }
}


unsigned
gw_ws_close_code(const unsigned char *p, size_t n)
{
    unsigned  code;

    if (n == 0) {
        return 0;
    }

    if (n == 1) {
        return GW_WS_PROTOCOL_ERROR;
    }

    code = ((unsigned) p[0] << 8) | p[1];

    /* 1004-1006 and 1015 are never sent; 1016-2999 are unassigned */

    if (!((code >= 1000 && code <= 1003)
          || (code >= 1007 && code <= 1014)
          || (code >= 3000 && code <= 4999)))
    {
        return GW_WS_PROTOCOL_ERROR;
    }

    if (!gw_ws_utf8_valid(p + 2, n - 2)) {
        return GW_WS_INVALID_DATA;
    }

    return code;
}


size_t
gw_ws_utf8_seq(const unsigned char *p, size_t n)
{
    size_t    k, more;
    uint32_t  cp, min;

    if (n == 0) {
        return 0;
    }

    if (p[0] < 0x80) {
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        more = 1;
        min = 0x80;
        cp = p[0] & 0x1f;

    } else if ((p[0] & 0xf0) == 0xe0) {
        more = 2;
        min = 0x800;
        cp = p[0] & 0x0f;

    } else if ((p[0] & 0xf8) == 0xf0) {
        more = 3;
        min = 0x10000;
        cp = p[0] & 0x07;

    } else {
        return 0;
    }

    if (n - 1 < more) {
        return 0;
    }

    for (k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[k] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return more + 1;
}


static int
gw_ws_utf8_valid(const unsigned char *p, size_t n)
{
    size_t  i, k;

    for (i = 0; i < n; i += k) {
        k = gw_ws_utf8_seq(p + i, n - i);

        if (k == 0) {
            return 0;
        }
    }

    return 1;
}
