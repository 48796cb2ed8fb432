
/*
 * Copyright (C) Tollgate
 *
 * The intrinsic functions over strings and numbers: Base64Encode,
 * Base64Decode, Hash (OpenSSL's EVP digests), MathRandom, MathAdd,
 * StringSplit, UUID (OpenSSL's CSPRNG).  Text is counted in characters
 * (UTF-8 code points), as AWS counts its caps.
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw_asl_intrinsic_int.h"
#include "gw_b64std.h"


static const struct {
    const char          *name;
    const EVP_MD      *(*md)(void);
} gw_asl_ihashes[] = {
    { "MD5", EVP_md5 },
    { "SHA-1", EVP_sha1 },
    { "SHA-256", EVP_sha256 },
    { "SHA-384", EVP_sha384 },
    { "SHA-512", EVP_sha512 }
};


static int
gw_asl_ifn_text_cap(gw_asl_icall_t *call, json_t *s, gw_asl_err_t *err)
{
    size_t  n;

    n = gw_asl_iutf8_count(json_string_value(s), json_string_length(s));

    if (n > GW_ASL_I_TEXT_MAX) {
        return gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, "%s: %zu "
                            "characters, more than %d", call->fn->name, n,
                            GW_ASL_I_TEXT_MAX);
    }

    return 0;
}


/* the UTF-8 bytes of the string, standard base64 with padding */

json_t *
gw_asl_ifn_b64_encode(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t          n, len;
    json_t         *v;
    unsigned char  *out;

    if (gw_asl_ifn_text_cap(call, argv[0], err) != 0) {
        return NULL;
    }

    len = json_string_length(argv[0]);

    out = malloc(gw_b64std_encoded_len(len) + 1);
    if (out == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Base64Encode: out of "
                               "memory");
    }

    n = gw_b64std_encode(out, (const unsigned char *)
                         json_string_value(argv[0]), len);

    v = json_stringn((char *) out, n);
    free(out);

    if (v == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Base64Encode: out of "
                               "memory");
    }

    return v;
}


/*
 * Standard base64, padding optional (as Java's decoder takes it), no
 * white space; the bytes must be UTF-8 text (a JSON string holds no
 * other).
 */

json_t *
gw_asl_ifn_b64_decode(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t          len;
    json_t         *v;
    ssize_t         n;
    unsigned char  *in, *out;

    if (gw_asl_ifn_text_cap(call, argv[0], err) != 0) {
        return NULL;
    }

    len = json_string_length(argv[0]);

    in = malloc(len + 3);
    out = malloc(gw_b64std_decoded_max(len + 3) + 1);

    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return gw_asl_ifn_fail(err, call, "States.Base64Decode: out of "
                               "memory");
    }

    memcpy(in, json_string_value(argv[0]), len);

    if (len % 4 == 2) {
        in[len++] = '=';
        in[len++] = '=';

    } else if (len % 4 == 3) {
        in[len++] = '=';
    }

    n = gw_b64std_decode(out, in, len);
    free(in);

    if (n < 0) {
        free(out);
        return gw_asl_ifn_fail(err, call, "States.Base64Decode: not "
                               "base64");
    }

    v = json_stringn((char *) out, (size_t) n);
    free(out);

    if (v == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Base64Decode: the bytes "
                               "decoded are not UTF-8 text");
    }

    return v;
}


static const EVP_MD *
gw_asl_ifn_hash_md(const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(gw_asl_ihashes) / sizeof(gw_asl_ihashes[0]); i++)
    {
        if (strcmp(name, gw_asl_ihashes[i].name) == 0) {
            return gw_asl_ihashes[i].md();
        }
    }

    return NULL;
}


int
gw_asl_ifn_hash_known(const char *name)
{
    return gw_asl_ifn_hash_md(name) != NULL;
}


json_t *
gw_asl_ifn_hash(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    char           hex[EVP_MAX_MD_SIZE * 2 + 1];
    size_t         i;
    unsigned       len;
    const char    *alg;
    const EVP_MD  *md;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    alg = json_string_value(argv[1]);

    md = gw_asl_ifn_hash_md(alg);
    if (md == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Hash: the algorithm "
                               "\"%.64s\" is none of MD5, SHA-1, SHA-256, "
                               "SHA-384, SHA-512", alg);
    }

    if (gw_asl_ifn_text_cap(call, argv[0], err) != 0) {
        return NULL;
    }

    if (EVP_Digest(json_string_value(argv[0]), json_string_length(argv[0]),
                   digest, &len, md, NULL)
        != 1)
    {
        return gw_asl_ifn_fail(err, call, "States.Hash: the digest failed");
    }

    for (i = 0; i < len; i++) {
        hex[i * 2] = digits[digest[i] >> 4];
        hex[i * 2 + 1] = digits[digest[i] & 0x0f];
    }

    return json_stringn(hex, len * 2);
}


static uint64_t
gw_asl_ifn_splitmix(uint64_t *state)
{
    uint64_t  z;

    *state += 0x9e3779b97f4a7c15ULL;

    z = *state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


/*
 * An integer in [start, end): AWS's guide has the end excluded (the
 * oracle includes it).  With a seed, the same seed draws the same
 * number; without one, the bits come from OpenSSL's CSPRNG.  Rejection
 * sampling keeps every value equally likely.
 */

json_t *
gw_asl_ifn_random(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    int64_t   start, end;
    uint64_t  span, r, limit, state;

    start = gw_asl_ifn_int(argv[0]);
    end = gw_asl_ifn_int(argv[1]);

    if (end <= start) {
        return gw_asl_ifn_fail(err, call, "States.MathRandom: the end "
                               "(%lld) must be greater than the start "
                               "(%lld)", (long long) end, (long long) start);
    }

    span = (uint64_t) end - (uint64_t) start;
    limit = UINT64_MAX - UINT64_MAX % span;
    state = (argc == 3) ? (uint64_t) gw_asl_ifn_int(argv[2]) : 0;

    do {
        if (argc == 3) {
            r = gw_asl_ifn_splitmix(&state);

        } else if (RAND_bytes((unsigned char *) &r, sizeof(r)) != 1) {
            return gw_asl_ifn_fail(err, call, "States.MathRandom: no random "
                                   "bytes");
        }

    } while (r >= limit);

    return json_integer((int64_t) ((uint64_t) start + r % span));
}


/*
 * Each argument rounded half up to an integer first (floor(x + 0.5),
 * computed without the addition's own rounding: 2.5 is 3, -1.5 is -1,
 * -2.5 is -2), as executions recorded against AWS showed; the sum is an
 * integer.
 */

static int
gw_asl_ifn_round(json_t *v, int64_t *out)
{
    double  d, f;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }

    d = json_real_value(v);
    f = floor(d);

    if (d - f >= 0.5) {
        f += 1.0;
    }

    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) {
        return -1;
    }

    *out = (int64_t) f;

    return 0;
}


json_t *
gw_asl_ifn_add(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    int64_t  a, b, sum;

    if (gw_asl_ifn_round(argv[0], &a) != 0
        || gw_asl_ifn_round(argv[1], &b) != 0
        || __builtin_add_overflow(a, b, &sum))
    {
        return gw_asl_ifn_fail(err, call, "States.MathAdd: out of the range "
                               "of 64-bit integers");
    }

    return json_integer(sum);
}


/*
 * The delimiter is a set of characters (UTF-8 characters, not bytes):
 * the string is cut at each of them and empty pieces are dropped, as
 * executions recorded against AWS showed.  An empty delimiter cuts
 * nothing.
 */

json_t *
gw_asl_ifn_split(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t       n, dn, k, j, piece, clen, dlen;
    json_t      *out;
    unsigned     cut;
    const char  *s, *d;

    s = json_string_value(argv[0]);
    n = json_string_length(argv[0]);
    d = json_string_value(argv[1]);
    dn = json_string_length(argv[1]);

    out = json_array();
    if (out == NULL) {
        goto nomem;
    }

    piece = 0;

    for (k = 0; k < n; k += clen) {
        clen = gw_asl_iutf8_len((const unsigned char *) s + k, n - k);
        if (clen == 0) {
            clen = 1;
        }

        cut = 0;

        for (j = 0; !cut && j < dn; j += dlen) {
            dlen = gw_asl_iutf8_len((const unsigned char *) d + j, dn - j);
            if (dlen == 0) {
                dlen = 1;
            }

            cut = (dlen == clen && memcmp(s + k, d + j, clen) == 0);
        }

        if (!cut) {
            continue;
        }

        if (k > piece
            && json_array_append_new(out, json_stringn(s + piece, k - piece))
               != 0)
        {
            goto nomem;
        }

        piece = k + clen;
    }

    if (n > piece
        && json_array_append_new(out, json_stringn(s + piece, n - piece))
           != 0)
    {
        goto nomem;
    }

    return out;

nomem:

    json_decref(out);
    return gw_asl_ifn_fail(err, call, "States.StringSplit: out of memory");
}


/* a version 4 UUID from OpenSSL's CSPRNG, in lower case */

json_t *
gw_asl_ifn_uuid(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    char           out[37];
    size_t         i, o;
    unsigned char  b[16];

    static const char  digits[] = "0123456789abcdef";

    if (RAND_bytes(b, sizeof(b)) != 1) {
        return gw_asl_ifn_fail(err, call, "States.UUID: no random bytes");
    }

    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;

    for (i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }

        out[o++] = digits[b[i] >> 4];
        out[o++] = digits[b[i] & 0x0f];
    }

    return json_stringn(out, o);
}
