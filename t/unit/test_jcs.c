
/*
 * Copyright (C) Tollgate
 *
 * RFC 8785 canonical JSON (lib/jcs).  Three sources of truth:
 *   - the cyberphone/json-canonicalization vectors in
 *     ../shared/data/jcs-testdata/testdata: every input must give its
 *     output byte for byte (and its outhex), and every output must be a
 *     fixed point;
 *   - the numbers of RFC 8785 appendix B, and the first lines of that
 *     suite's ES6 number file, regenerated here from the recipe in its
 *     README (the fixed values listed there, 2,000 values above the
 *     smallest normal, then doubles from a SHA-256 chain) and compared by
 *     the SHA-256 the README publishes: 10,000 lines by default, or
 *     GW_JCS_ES6_LINES of 1000, 10000, 100000 or 1000000;
 *   - hand-made cases: UTF-16 ordering of names above U+FFFF, escaping,
 *     doubles for integers, the caps and the errors.
 * The shared data is found through GW_SHARED_DATA (default
 * ../shared/data, from the top of the checkout); without it those checks
 * are skipped, with a message.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_jcs.h"
#include "tap.h"


#define ES6_STATIC_MAX  256


/* the README's table: SHA-256 of the first lines of the file */

static const struct {
    size_t       lines;
    const char  *sha256;
} es6_hashes[] = {
    { 1000,
      "be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687" },
    { 10000,
      "b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892" },
    { 100000,
      "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7" },
    { 1000000,
      "49415fee2c56c77864931bd3624faad425c3c577d6d74e89a83bc725506dad16" }
};


static const struct {
    uint64_t     bits;
    const char  *text;
} numbers[] = {
    { 0x0000000000000000ULL, "0" },
    { 0x8000000000000000ULL, "0" },
    { 0x0000000000000001ULL, "5e-324" },
    { 0x8000000000000001ULL, "-5e-324" },
    { 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
    { 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
    { 0x4340000000000000ULL, "9007199254740992" },
    { 0xc340000000000000ULL, "-9007199254740992" },
    { 0x4430000000000000ULL, "295147905179352830000" },
    { 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
    { 0x44b52d02c7e14af6ULL, "1e+23" },
    { 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
    { 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
    { 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
    { 0x444b1ae4d6e2ef50ULL, "1e+21" },
    { 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
    { 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
    { 0x41b3de4355555553ULL, "333333333.3333332" },
    { 0x41b3de4355555554ULL, "333333333.33333325" },
    { 0x41b3de4355555555ULL, "333333333.3333333" },
    { 0x41b3de4355555556ULL, "333333333.3333334" },
    { 0x41b3de4355555557ULL, "333333333.33333343" },
    { 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
    { 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
    { 0x4340000000000001ULL, "9007199254740994" },
    { 0x0010000000000000ULL, "2.2250738585072014e-308" },
    { 0x000fffffffffffffULL, "2.225073858507201e-308" },
    { 0x3fd3333333333333ULL, "0.3" },
    { 0x3e7ad7f29abcaf48ULL, "1e-7" }
};

#define NNUMBERS  (sizeof(numbers) / sizeof(numbers[0]))


static const struct {
    const char  *in;
    const char  *out;                   /* NULL: must be rejected */
    const char  *name;
} texts[] = {
    { "{\"\xee\x80\x80\":1,\"\xf0\x90\x80\x80\":2,\"\xef\xbf\xbf\":3}",
      "{\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1,\"\xef\xbf\xbf\":3}",
      "U+10000 sorts before U+E000 (UTF-16 order)" },
    { "{\"b\":1,\"a\":{\"d\":[],\"c\":{}},\"\":null}",
      "{\"\":null,\"a\":{\"c\":{},\"d\":[]},\"b\":1}", "nested sorting" },
    { "{\"ab\":1,\"a\":2,\"aa\":3}", "{\"a\":2,\"aa\":3,\"ab\":1}",
      "a prefix sorts first" },
    { "\"\\u0000\\u001f\\u007f\\u2028/\\b\\f\\n\\r\\t\"",
      "\"\\u0000\\u001f\x7f\xe2\x80\xa8/\\b\\f\\n\\r\\t\"",
      "escapes: controls only, lower-case hex" },
    { "9007199254740993", "9007199254740992",
      "an integer beyond 2^53 reads as a double" },
    { "123456789012345678901234567890", "1.2345678901234568e+29",
      "a huge integer reads as a double" },
    { "-0", "0", "minus zero" },
    { "[1E5, 1e-7, 0.1e1, 100e-2, -1.50]", "[100000,1e-7,1,1,-1.5]",
      "number layouts" },
    { " [ true , false , null ] ", "[true,false,null]", "literals" },
    { "1e400", NULL, "a number beyond the doubles is rejected" },
    { "{\"a\":1,\"a\":2}", NULL, "duplicate names are rejected" },
    { "\"\\ud800\"", NULL, "a lone surrogate is rejected" },
    { "[1,]", NULL, "invalid JSON is rejected" },
    { "", NULL, "empty text is rejected" }
};

#define NTEXTS  (sizeof(texts) / sizeof(texts[0]))


static char  data_dir[1024];


static unsigned char *
slurp(const char *path, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);

    buf = malloc(n + 1);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    *len = fread(buf, 1, n, f);
    buf[*len] = '\0';

    fclose(f);

    return buf;
}


static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
test_vector(const char *name)
{
    char            path[2048], hex[4];
    size_t          in_len, out_len, hex_len, len, i, j;
    const char     *err;
    unsigned char  *in, *want, *whex, *got, *again;

    snprintf(path, sizeof(path), "%s/input/%s", data_dir, name);
    in = slurp(path, &in_len);

    snprintf(path, sizeof(path), "%s/output/%s", data_dir, name);
    want = slurp(path, &out_len);

    snprintf(path, sizeof(path), "%s/outhex/%.*s.txt", data_dir,
             (int) (strlen(name) - 5), name);
    whex = slurp(path, &hex_len);

    if (in == NULL || want == NULL || whex == NULL) {
        ok(0, "vector %s: input, output and outhex present", name);
        free(in);
        free(want);
        free(whex);
        return;
    }

    err = NULL;

    if (gw_jcs_canonicalize(in, in_len, &got, &len, &err) != 0) {
        ok(0, "vector %s: canonicalizes", name);
        diag("error: %s", err);
        free(in);
        free(want);
        free(whex);
        return;
    }

    ok(len == out_len && memcmp(got, want, len) == 0,
       "vector %s: output matches", name);

    /* outhex: the same bytes as hex pairs separated by white space */

    j = 0;

    for (i = 0; i + 1 < hex_len && j < len; /* void */) {
        if (whex[i] == ' ' || whex[i] == '\n' || whex[i] == '\r') {
            i++;
            continue;
        }

        snprintf(hex, sizeof(hex), "%02x", got[j]);

        if (strncasecmp(hex, (char *) whex + i, 2) != 0) {
            break;
        }

        i += 2;
        j++;
    }

    while (i < hex_len && (whex[i] == ' ' || whex[i] == '\n')) {
        i++;
    }

    ok(j == len && i == hex_len, "vector %s: outhex matches", name);

    if (gw_jcs_canonicalize(want, out_len, &again, &len, &err) == 0) {
        ok(len == out_len && memcmp(again, want, len) == 0,
           "vector %s: output is a fixed point", name);
        free(again);

    } else {
        ok(0, "vector %s: output is a fixed point", name);
    }

    free(got);
    free(in);
    free(want);
    free(whex);
}


static void
test_vectors(void)
{
    DIR            *d;
    char            path[2048], *names[64];
    size_t          i, n;
    struct dirent  *e;

    snprintf(path, sizeof(path), "%s/input", data_dir);

    d = opendir(path);
    if (d == NULL) {
        skip(1, "no JCS test data: ../shared/data/jcs-testdata is absent "
             "(set GW_SHARED_DATA)");
        return;
    }

    n = 0;

    while ((e = readdir(d)) != NULL && n < 64) {
        if (strlen(e->d_name) > 5
            && strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0)
        {
            names[n] = strdup(e->d_name);
            if (names[n] == NULL) {
                bail_out("out of memory");
            }

            n++;
        }
    }

    closedir(d);

    qsort(names, n, sizeof(char *), name_cmp);

    ok(n >= 6, "%zu JCS vectors found", n);

    for (i = 0; i < n; i++) {
        test_vector(names[i]);
        free(names[i]);
    }
}


static void
test_numbers(void)
{
    int          n;
    char         buf[GW_JCS_NUMBER_LEN];
    double       d;
    size_t       i;
    const char  *want;

    for (i = 0; i < NNUMBERS; i++) {
        memcpy(&d, &numbers[i].bits, sizeof(d));
        n = gw_jcs_number(d, buf);
        want = numbers[i].text;

        /* gcc 12 with -fsanitize sees a NULL %s argument that is not */
        ok(n == (int) strlen(want) && strcmp(buf, want) == 0,
           "number %016llx is %s", (unsigned long long) numbers[i].bits,
           want != NULL ? want : "?");

        if (strcmp(buf, want) != 0) {
            diag("got %s", buf);
        }
    }

    ok(gw_jcs_number(0.0 / 0.0, buf) == -1, "NaN is rejected");
    ok(gw_jcs_number(1.0 / 0.0, buf) == -1, "infinity is rejected");
}


/*
 * The ES6 number file of cyberphone/json-canonicalization: its fixed
 * values are read from the README (the BigUint64Array literal), so that
 * nothing of the suite is copied here.
 */

static size_t
es6_static(uint64_t *vals)
{
    char           *p, *end, path[2048];
    size_t          len, n;
    unsigned char  *readme;

    snprintf(path, sizeof(path), "%s/README.md", data_dir);

    readme = slurp(path, &len);
    if (readme == NULL) {
        return 0;
    }

    n = 0;
    p = strstr((char *) readme, "staticU64s = new BigUint64Array([");
    end = (p != NULL) ? strstr(p, "])") : NULL;

    while (p != NULL && end != NULL && n < ES6_STATIC_MAX) {
        p = strstr(p, "0x");
        if (p == NULL || p > end) {
            break;
        }

        vals[n++] = strtoull(p + 2, &p, 16);
    }

    free(readme);

    return n;
}


static void
test_es6_file(size_t lines, const char *sha256)
{
    int             len;
    char            line[64], num[GW_JCS_NUMBER_LEN], hex[72];
    double          f;
    size_t          nstatic, i, k, avail;
    uint64_t        u, vals[ES6_STATIC_MAX];
    EVP_MD_CTX     *file;
    unsigned char   block[32], md[32];
    unsigned int    mdlen;

    nstatic = es6_static(vals);

    if (nstatic == 0) {
        skip(1, "no ES6 number recipe: jcs-testdata README is absent");
        return;
    }

    file = EVP_MD_CTX_new();
    if (file == NULL || EVP_DigestInit_ex2(file, EVP_sha256(), NULL) != 1)
    {
        bail_out("SHA-256 unavailable");
    }

    memset(block, 0, sizeof(block));
    avail = 0;

    for (i = 0; i < lines; i++) {

        if (i < nstatic) {
            u = vals[i];

        } else if (i < nstatic + 2000) {
            u = 0x0010000000000000ULL + (i - nstatic);

        } else {
            for ( ;; ) {
                if (avail == 0) {
                    EVP_Digest(block, 32, block, NULL, EVP_sha256(), NULL);
                    avail = 4;
                }

                /* Float64Array over the block: little-endian words */

                u = 0;

                for (k = 0; k < 8; k++) {
                    u |= (uint64_t) block[(4 - avail) * 8 + k] << (8 * k);
                }

                avail--;

                memcpy(&f, &u, sizeof(f));

                if (f != 0 && f - f == 0) {
                    break;
                }
            }
        }

        memcpy(&f, &u, sizeof(f));
        gw_jcs_number(f, num);

        snprintf(hex, sizeof(hex), "%llx", (unsigned long long) u);
        len = snprintf(line, sizeof(line), "%s,%s\n", hex, num);

        EVP_DigestUpdate(file, line, len);
    }

    EVP_DigestFinal_ex(file, md, &mdlen);
    EVP_MD_CTX_free(file);

    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }

    is_str(hex, sha256, "ES6 number file, %zu lines (%zu fixed values): "
           "published SHA-256", lines, nstatic);
}


static void
test_texts(void)
{
    int             rc;
    size_t          i, len;
    const char     *err;
    unsigned char  *out;

    for (i = 0; i < NTEXTS; i++) {
        err = NULL;
        rc = gw_jcs_canonicalize((const unsigned char *) texts[i].in,
                                 strlen(texts[i].in), &out, &len, &err);

        if (texts[i].out == NULL) {
            ok(rc == -1 && out == NULL && err != NULL, "%s", texts[i].name);
            continue;
        }

        ok(rc == 0 && len == strlen(texts[i].out)
           && memcmp(out, texts[i].out, len) == 0, "%s", texts[i].name);

        if (rc == 0 && strcmp((char *) out, texts[i].out) != 0) {
            diag("got %s", out);
        }

        free(out);
    }
}


static void
test_json_t(void)
{
    int             i, rc;
    json_t         *v, *inner;
    size_t          len;
    const char     *err;
    unsigned char  *out;

    /* integers: exact up to 2^53, rejected beyond */

    v = json_pack("[I,I,I]", (json_int_t) 9007199254740992LL,
                  (json_int_t) -9007199254740992LL, (json_int_t) 42);
    rc = gw_jcs_encode(v, &out, &len, &err);
    ok(rc == 0 && strcmp((char *) out,
                         "[9007199254740992,-9007199254740992,42]") == 0,
       "json_integer up to 2^53 is written exactly");
    free(out);
    json_decref(v);

    v = json_pack("[I]", (json_int_t) 9007199254740993LL);
    err = NULL;
    rc = gw_jcs_encode(v, &out, &len, &err);
    ok(rc == -1 && out == NULL && err != NULL,
       "json_integer beyond 2^53 is rejected: %s", err ? err : "");
    json_decref(v);

    /* a string jansson did not check */

    v = json_stringn_nocheck("\xc0\xaf", 2);
    err = NULL;
    rc = gw_jcs_encode(v, &out, &len, &err);
    ok(rc == -1 && err != NULL, "overlong UTF-8 is rejected");
    json_decref(v);

    v = json_object();
    json_object_set_new_nocheck(v, "\xed\xa0\x80", json_true());
    rc = gw_jcs_encode(v, &out, &len, &err);
    ok(rc == -1, "a surrogate in a name is rejected");
    json_decref(v);

    /* NUL inside a string, and inside a name */

    v = json_object();
    json_object_setn_new(v, "a\0b", 3, json_stringn("x\0y", 3));
    rc = gw_jcs_encode(v, &out, &len, &err);
    ok(rc == 0 && len == 23
       && memcmp(out, "{\"a\\u0000b\":\"x\\u0000y\"}", 23) == 0,
       "NUL in a name and a string is \\u0000");
    free(out);
    json_decref(v);

    /* depth: GW_JCS_MAX_DEPTH levels pass, one more fails */

    for (rc = 0; rc < 2; rc++) {
        v = json_array();

        for (i = 1; i < GW_JCS_MAX_DEPTH + rc; i++) {
            inner = json_array();
            json_array_append_new(inner, v);
            v = inner;
        }

        err = NULL;
        i = gw_jcs_encode(v, &out, &len, &err);

        if (rc == 0) {
            ok(i == 0 && len == 2 * GW_JCS_MAX_DEPTH,
               "%d nested arrays are written", GW_JCS_MAX_DEPTH);
            free(out);

        } else {
            ok(i == -1 && err != NULL, "%d nested arrays are rejected",
               GW_JCS_MAX_DEPTH + 1);
        }

        json_decref(v);
    }

    ok(gw_jcs_canonicalize((const unsigned char *) "1", GW_JCS_MAX_LEN + 1,
                           &out, &len, &err) == -1,
       "text above GW_JCS_MAX_LEN is rejected");
}


int
main(void)
{
    size_t       i, lines;
    const char  *env;

    env = getenv("GW_SHARED_DATA");
    snprintf(data_dir, sizeof(data_dir), "%s/jcs-testdata/testdata",
             env != NULL ? env : "../shared/data");

    test_vectors();
    test_numbers();
    env = getenv("GW_JCS_ES6_LINES");
    lines = (env != NULL) ? strtoul(env, NULL, 10) : 10000;

    for (i = 0; i < sizeof(es6_hashes) / sizeof(es6_hashes[0]); i++) {
        if (es6_hashes[i].lines == lines) {
            test_es6_file(lines, es6_hashes[i].sha256);
            break;
        }
    }

    if (i == sizeof(es6_hashes) / sizeof(es6_hashes[0])) {
        bail_out("GW_JCS_ES6_LINES: 1000, 10000, 100000 or 1000000");
    }

    test_texts();
    test_json_t();

    return done_testing();
}
