
/*
 * Copyright (C) Tollgate
 *
 * Strict standard base64.  Decoding works on groups of four symbols; only
 * the last group may hold padding, "xx==" for one byte or "xxx=" for two,
 * and the bits of its last symbol that fall past the data must be zero.
 */


#include "gw_b64std.h"


static const char  gw_b64std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static int gw_b64std_value(unsigned char c);


ssize_t
gw_b64std_decode(unsigned char *dst, const unsigned char *src, size_t len)
{
    int       v[4];
    size_t    i, j, n, pad;
    unsigned  bits;

    if (len % 4 != 0) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i += 4) {
        pad = 0;

        if (i + 4 == len) {
            if (src[i + 3] == '=') {
                pad = (src[i + 2] == '=') ? 2 : 1;
            }
        }

        for (j = 0; j < 4 - pad; j++) {
            v[j] = gw_b64std_value(src[i + j]);
            if (v[j] < 0) {
                return -1;
            }
        }

        for ( /* void */ ; j < 4; j++) {
            v[j] = 0;
        }

        bits = ((unsigned) v[0] << 18) | ((unsigned) v[1] << 12)
               | ((unsigned) v[2] << 6) | (unsigned) v[3];

        if ((pad == 1 && (bits & 0xff) != 0)
            || (pad == 2 && (bits & 0xffff) != 0))
        {
            return -1;
        }

        if (dst != NULL) {
            dst[n] = (unsigned char) (bits >> 16);

            if (pad < 2) {
                dst[n + 1] = (unsigned char) (bits >> 8);
            }

            if (pad < 1) {
                dst[n + 2] = (unsigned char) bits;
            }
        }

        n += 3 - pad;
    }

    return (ssize_t) n;
}


size_t
gw_b64std_encode(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t          i;
    unsigned        bits;
    unsigned char  *d;

    d = dst;

    for (i = 0; i + 3 <= len; i += 3) {
        bits = ((unsigned) src[i] << 16) | ((unsigned) src[i + 1] << 8)
               | src[i + 2];
        *d++ = gw_b64std_alphabet[bits >> 18];
        *d++ = gw_b64std_alphabet[(bits >> 12) & 0x3f];
        *d++ = gw_b64std_alphabet[(bits >> 6) & 0x3f];
        *d++ = gw_b64std_alphabet[bits & 0x3f];
    }

    if (len - i == 1) {
        bits = (unsigned) src[i] << 16;
        *d++ = gw_b64std_alphabet[bits >> 18];
        *d++ = gw_b64std_alphabet[(bits >> 12) & 0x3f];
        *d++ = '=';
        *d++ = '=';

    } else if (len - i == 2) {
        bits = ((unsigned) src[i] << 16) | ((unsigned) src[i + 1] << 8);
        *d++ = gw_b64std_alphabet[bits >> 18];
        *d++ = gw_b64std_alphabet[(bits >> 12) & 0x3f];
        *d++ = gw_b64std_alphabet[(bits >> 6) & 0x3f];
        *d++ = '=';
    }

    return (size_t) (d - dst);
}


static int
gw_b64std_value(unsigned char c)
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
