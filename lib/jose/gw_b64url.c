
/*
 * Copyright (C) Tollgate
 *
 * Strict base64url.  The decoder maps each input byte through one 256-entry
 * table in which every byte outside the URL-safe alphabet is 0xff, so the
 * alphabet check, the padding check and the white-space check are the same
 * single lookup.  Groups of four symbols make three bytes; a tail of two or
 * three symbols makes one or two bytes, and the bits of its last symbol that
 * fall past the end must be zero: otherwise "AB" and "AA" would decode to
 * the same byte and a signature could be replayed under another spelling.
 */


#include "gw_b64url.h"


#define GW_B64_BAD  0xff


static const unsigned char  gw_b64url_dec[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /*  !"#$%&'() */
    0xff, 0xff, 0xff, 0xff, 0xff,   62, 0xff, 0xff,     /* *+,-./ */
      52,   53,   54,   55,   56,   57,   58,   59,     /* 01234567 */
      60,   61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* 89:;<=>? */
    0xff,    0,    1,    2,    3,    4,    5,    6,     /* @ABCDEFG */
       7,    8,    9,   10,   11,   12,   13,   14,     /* HIJKLMNO */
      15,   16,   17,   18,   19,   20,   21,   22,     /* PQRSTUVW */
      23,   24,   25, 0xff, 0xff, 0xff, 0xff,   63,     /* XYZ[\]^_ */
    0xff,   26,   27,   28,   29,   30,   31,   32,     /* `abcdefg */
      33,   34,   35,   36,   37,   38,   39,   40,     /* hijklmno */
      41,   42,   43,   44,   45,   46,   47,   48,     /* pqrstuvw */
      49,   50,   51, 0xff, 0xff, 0xff, 0xff, 0xff,     /* xyz{|}~  */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};


static const char  gw_b64url_enc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


ssize_t
gw_b64url_decode(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t          rest;
    unsigned char  *d;
    unsigned char   a, b, c, e;

    rest = len % 4;

    if (rest == 1) {
        return -1;
    }

    d = dst;

    for (len -= rest; len != 0; len -= 4) {
        a = gw_b64url_dec[src[0]];
        b = gw_b64url_dec[src[1]];
        c = gw_b64url_dec[src[2]];
        e = gw_b64url_dec[src[3]];

        /* a symbol is below 64; GW_B64_BAD sets the two high bits */

        if ((a | b | c | e) & 0xc0) {
            return -1;
        }

        *d++ = (unsigned char) (a << 2 | b >> 4);
        *d++ = (unsigned char) (b << 4 | c >> 2);
        *d++ = (unsigned char) (c << 6 | e);

        src += 4;
    }

    if (rest == 0) {
        return d - dst;
    }

    a = gw_b64url_dec[src[0]];
    b = gw_b64url_dec[src[1]];

    if ((a | b) & 0xc0) {
        return -1;
    }

    *d++ = (unsigned char) (a << 2 | b >> 4);

    if (rest == 2) {

        /* one byte: the low 4 bits of the second symbol are unused */

        if (b & 0x0f) {
            return -1;
        }

        return d - dst;
    }

    c = gw_b64url_dec[src[2]];

    /* two bytes: the low 2 bits of the third symbol are unused */

    if (c & (0xc0 | 0x03)) {
        return -1;
    }

    *d++ = (unsigned char) (b << 4 | c >> 2);

    return d - dst;
}


size_t
gw_b64url_encode(unsigned char *dst, const unsigned char *src, size_t len)
{
    unsigned char  *d;

    d = dst;

    while (len >= 3) {
        *d++ = gw_b64url_enc[src[0] >> 2];
        *d++ = gw_b64url_enc[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = gw_b64url_enc[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = gw_b64url_enc[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len != 0) {
        *d++ = gw_b64url_enc[src[0] >> 2];

        if (len == 1) {
            *d++ = gw_b64url_enc[(src[0] & 0x03) << 4];

        } else {
            *d++ = gw_b64url_enc[((src[0] & 0x03) << 4) | (src[1] >> 4)];
            *d++ = gw_b64url_enc[(src[1] & 0x0f) << 2];
        }
    }

    return d - dst;
}
