
/*
 * Copyright (C) Tollgate
 *
 * Strict base64url: the RFC 4648 vectors without padding, round trips of
 * every length up to 300 bytes, and every way a string can be one byte off
 * the canonical form: each of the 256 byte values at each position,
 * padding, the standard alphabet's '+' and '/', a length of 1 modulo 4,
 * and non-zero bits past the last byte.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_b64url.h"
#include "tap.h"


static ssize_t
decode_str(const char *s, unsigned char *out)
{
    return gw_b64url_decode(out, (const unsigned char *) s, strlen(s));
}


static void
test_vectors(void)
{
    size_t          i;
    ssize_t         n;
    unsigned char   out[64];
    static const char  *vec[][2] = {
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" }
    };

    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        n = gw_b64url_encode(out, (const unsigned char *) vec[i][0],
                             strlen(vec[i][0]));
        out[n] = '\0';
        is_str((char *) out, vec[i][1], "encode \"%s\"", vec[i][0]);

        n = decode_str(vec[i][1], out);
        ok(n == (ssize_t) strlen(vec[i][0])
           && memcmp(out, vec[i][0], n) == 0, "decode \"%s\"", vec[i][1]);
    }

    /* 0xfb 0xff uses both URL-safe symbols */

    n = gw_b64url_encode(out, (const unsigned char *) "\xfb\xff", 2);
    out[n] = '\0';
    is_str((char *) out, "-_8", "encode uses '-' and '_'");

    n = decode_str("-_8", out);
    ok(n == 2 && out[0] == 0xfb && out[1] == 0xff, "decode '-' and '_'");

    is_int(decode_str("+/8", out), -1, "'+' and '/' rejected");
    is_int(decode_str("-/8", out), -1, "'/' rejected");
    is_int(decode_str("+_8", out), -1, "'+' rejected");
}


static void
test_round_trips(void)
{
    size_t          len, bad;
    ssize_t         n;
    unsigned char   src[300], enc[400], dec[300];

    srand(4242);

    for (len = 0; len < sizeof(src); len++) {
        src[len] = (unsigned char) rand();
    }

    bad = 0;

    for (len = 0; len <= sizeof(src); len++) {
        n = gw_b64url_encode(enc, src, len);

        if ((size_t) n != gw_b64url_encoded_len(len)) {
            bad++;
            continue;
        }

        if (gw_b64url_decoded_len((size_t) n) != len) {
            bad++;
            continue;
        }

        if (gw_b64url_decode(dec, enc, n) != (ssize_t) len
            || memcmp(dec, src, len) != 0)
        {
            bad++;
        }
    }

    is_int(bad, 0, "round trips of 0..300 random bytes");
}


static void
test_rejects(void)
{
    int            c;
    size_t         pos, accepted, wrong;
    ssize_t        n;
    unsigned char  s[16], out[16];

    is_int(decode_str("Zg==", out), -1, "padding \"==\" rejected");
    is_int(decode_str("Zm8=", out), -1, "padding \"=\" rejected");
    is_int(decode_str("Zm9v====", out), -1, "padding after a group rejected");
    is_int(decode_str("Z", out), -1, "length 1 rejected");
    is_int(decode_str("Zm9vY", out), -1, "length 5 (1 mod 4) rejected");
    is_int(decode_str("Zm9vYmFyZ", out), -1, "length 9 (1 mod 4) rejected");
    is_int(decode_str("Zh", out), -1, "non-zero trailing bits, 2 symbols");
    is_int(decode_str("Zm9", out), -1, "non-zero trailing bits, 3 symbols");
    is_int(decode_str("Zm9vZh", out), -1,
           "non-zero trailing bits after a group");
    is_int(decode_str("Zg", out), 1, "\"Zg\" has clean trailing bits");
    is_int(decode_str(" Zm9v", out), -1, "leading space rejected");
    is_int(decode_str("Zm9v\n", out), -1, "trailing newline rejected");
    is_int(decode_str("Zm 9v", out), -1, "inner space rejected");
    is_int(gw_b64url_decode(out, (const unsigned char *) "Zm\0v", 4), -1,
           "NUL byte rejected");

    /*
     * Every byte value at every position of "Zm9vYmE" (7 symbols): exactly
     * the 64 alphabet symbols may be accepted, and at the last position
     * only the 16 whose low 2 bits are zero.
     */

    wrong = 0;

    for (pos = 0; pos < 7; pos++) {
        accepted = 0;

        for (c = 0; c < 256; c++) {
            memcpy(s, "Zm9vYmE", 7);
            s[pos] = (unsigned char) c;

            n = gw_b64url_decode(out, s, 7);
            if (n >= 0) {
                accepted++;

                if (n != 5 || strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                     "mnopqrstuvwxyz0123456789-_", c) == NULL
                    || c == 0)
                {
                    wrong++;
                }
            }
        }

        if (accepted != (pos == 6 ? 16 : 64)) {
            wrong++;
            diag("position %zu: %zu byte values accepted", pos, accepted);
        }
    }

    is_int(wrong, 0, "only alphabet symbols accepted at every position");

    is_int(gw_b64url_decode(out, (const unsigned char *) "", 0), 0,
           "empty input decodes to nothing");
}


int
main(void)
{
    test_vectors();
    test_round_trips();
    test_rejects();

    return done_testing();
}
