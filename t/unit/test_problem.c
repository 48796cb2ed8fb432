
/*
 * Copyright (C) Tollgate
 *
 * Problem details bodies (RFC 9457): the exact bytes of a simple body;
 * that gw_problem_len() is the number of bytes gw_problem_write() writes,
 * never one more, for fixed and random inputs; that every body parses
 * with jansson into type, title, status, detail and request_id with the
 * values given, plus the caller's extra members; that a status outside
 * 100..999 is written as 500; and the string escaping: quotes and
 * backslashes, control characters and DEL as \u00XX, well-formed UTF-8
 * kept as it is, and each byte of an ill-formed sequence (a lone
 * continuation byte, an overlong form, a surrogate, a truncated sequence,
 * a value above U+10FFFF) replaced by \ufffd.
 *
 * The escaping is checked byte for byte against a model written from the
 * table of well-formed UTF-8 byte sequences (Unicode 15, table 3-7), not
 * from the decoder in gw_problem.c, over every string of one and two
 * bytes, the boundary bytes of every three- and four-byte lead, and
 * random strings.
 */


#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_problem.h"
#include "tap.h"


#define CANARY       0xa5
#define CANARY_LEN   16
#define REF_MAX      (6 * 256)      /* output bytes of a 256-byte input */


typedef struct {
    size_t          len;
    unsigned char  *data;
} body_t;


static const char  ref_hex[] = "0123456789abcdef";


/*
 * The length of the well-formed UTF-8 sequence at s, by table 3-7 of the
 * Unicode Standard: 1 to 4, or 0 when s does not start one.
 */

static size_t
ref_utf8_len(const unsigned char *s, size_t len)
{
    unsigned char  lo, hi;

    if (s[0] <= 0x7f) {
        return 1;
    }

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        return (len >= 2 && s[1] >= 0x80 && s[1] <= 0xbf) ? 2 : 0;
    }

    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        lo = (s[0] == 0xe0) ? 0xa0 : 0x80;
        hi = (s[0] == 0xed) ? 0x9f : 0xbf;

        return (len >= 3 && s[1] >= lo && s[1] <= hi
                && s[2] >= 0x80 && s[2] <= 0xbf) ? 3 : 0;
    }

    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        lo = (s[0] == 0xf0) ? 0x90 : 0x80;
        hi = (s[0] == 0xf4) ? 0x8f : 0xbf;

        return (len >= 4 && s[1] >= lo && s[1] <= hi
                && s[2] >= 0x80 && s[2] <= 0xbf
                && s[3] >= 0x80 && s[3] <= 0xbf) ? 4 : 0;
    }

    return 0;
}


/* The model escaper: what gw_json_escape() must write for s. */

static size_t
ref_escape(unsigned char *dst, const unsigned char *s, size_t len)
{
    size_t         i, n, out;
    unsigned char  c;

    out = 0;

    for (i = 0; i < len; i += n) {
        c = s[i];
        n = ref_utf8_len(s + i, len - i);

        if (n == 0) {
            memcpy(dst + out, "\\ufffd", 6);
            out += 6;
            n = 1;

        } else if (c == '"' || c == '\\') {
            dst[out++] = '\\';
            dst[out++] = c;

        } else if (c < 0x20 || c == 0x7f) {
            memcpy(dst + out, "\\u00", 4);
            dst[out + 4] = ref_hex[c >> 4];
            dst[out + 5] = ref_hex[c & 0xf];
            out += 6;

        } else {
            memcpy(dst + out, s + i, n);
            out += n;
        }
    }

    return out;
}


/* What a JSON parser must read back: s with ill-formed bytes as U+FFFD. */

static size_t
ref_decoded(unsigned char *dst, const unsigned char *s, size_t len)
{
    size_t  i, n, out;

    out = 0;

    for (i = 0; i < len; i += n) {
        n = ref_utf8_len(s + i, len - i);

        if (n == 0) {
            memcpy(dst + out, "\xef\xbf\xbd", 3);
            out += 3;
            n = 1;

        } else {
            memcpy(dst + out, s + i, n);
            out += n;
        }
    }

    return out;
}


/*
 * Escapes s with gw_json_escape() into a buffer of exactly
 * gw_json_escape_len() bytes and a canary; 0 when the bytes, the returned
 * end, the length and the canary all agree with the model.
 */

static int
escape_differs(const unsigned char *s, size_t len)
{
    int             bad;
    size_t          n, ref_len;
    unsigned char  *buf, *end;
    unsigned char   ref[REF_MAX];

    ref_len = ref_escape(ref, s, len);
    n = gw_json_escape_len(s, len);

    if (n != ref_len) {
        return 1;
    }

    buf = malloc(n + CANARY_LEN);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    memset(buf, CANARY, n + CANARY_LEN);

    end = gw_json_escape(buf, s, len);

    bad = (end != buf + n || memcmp(buf, ref, n) != 0);

    for (n = 0; n < CANARY_LEN; n++) {
        if (end[n] != CANARY) {
            bad = 1;
        }
    }

    free(buf);

    return bad;
}


/*
 * Renders p into a buffer of gw_problem_len() bytes followed by a canary.
 * Returns the body, or data NULL when gw_problem_write() did not end at
 * exactly that length or wrote past it.
 */

static body_t
render(const gw_problem_t *p)
{
    size_t          i;
    body_t          b;
    unsigned char  *end;

    b.len = gw_problem_len(p);

    b.data = malloc(b.len + CANARY_LEN);
    if (b.data == NULL) {
        bail_out("out of memory");
    }

    memset(b.data, CANARY, b.len + CANARY_LEN);

    end = gw_problem_write(b.data, p);

    for (i = 0; i < CANARY_LEN; i++) {
        if (b.data[b.len + i] != CANARY) {
            end = NULL;
        }
    }

    if (end != b.data + b.len) {
        free(b.data);
        b.data = NULL;
    }

    return b;
}


static json_t *
parse(const body_t *b)
{
    json_error_t  jerr;

    return json_loadb((const char *) b->data, b->len,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
}


/* 1 when the body b holds the string s */

static int
contains(const body_t *b, const char *s)
{
    size_t  i, n;

    n = strlen(s);

    for (i = 0; i + n <= b->len; i++) {
        if (memcmp(b->data + i, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* 1 when member name of o is a string of exactly len bytes s */

static int
member_is(const json_t *o, const char *name, const unsigned char *s,
    size_t len)
{
    json_t  *v;

    v = json_object_get(o, name);

    return json_is_string(v) && json_string_length(v) == len
           && (len == 0 || memcmp(json_string_value(v), s, len) == 0);
}


/* The model body of p, malloc()ed, its length in *len. */

static unsigned char *
model_body(const gw_problem_t *p, size_t *len)
{
    int             status;
    size_t          n;
    unsigned char  *buf, *d;

    n = 64 + 6 * (strlen(p->type) + strlen(p->title) + p->detail_len
                  + p->request_id_len) + p->extra_len;

    buf = malloc(n);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    status = (p->status >= 100 && p->status <= 999) ? p->status : 500;

    d = buf;
    d += sprintf((char *) d, "{\"type\":\"");
    d += ref_escape(d, (const unsigned char *) p->type, strlen(p->type));
    d += sprintf((char *) d, "\",\"title\":\"");
    d += ref_escape(d, (const unsigned char *) p->title, strlen(p->title));
    d += sprintf((char *) d, "\",\"status\":%d,\"detail\":\"", status);
    d += ref_escape(d, p->detail, p->detail_len);
    d += sprintf((char *) d, "\",\"request_id\":\"");
    d += ref_escape(d, p->request_id, p->request_id_len);
    *d++ = '"';

    if (p->extra != NULL && p->extra_len > 0) {
        *d++ = ',';
        memcpy(d, p->extra, p->extra_len);
        d += p->extra_len;
    }

    *d++ = '}';

    *len = d - buf;

    return buf;
}


/*
 * 0 when the body of p is gw_problem_len() bytes, byte for byte the
 * model's, and parses into the five members with the values given
 * (ill-formed UTF-8 read back as U+FFFD), the status as written (100..999,
 * else 500), and nextra more members.
 */

static int
problem_differs(const gw_problem_t *p, size_t nextra)
{
    int             bad, status;
    size_t          n;
    body_t          b;
    json_t         *o;
    unsigned char  *ref, *model;

    b = render(p);
    if (b.data == NULL) {
        return 1;
    }

    model = model_body(p, &n);
    bad = (n != b.len || memcmp(model, b.data, n) != 0);
    free(model);

    o = parse(&b);
    free(b.data);

    if (bad || !json_is_object(o)) {
        json_decref(o);
        return 1;
    }

    n = p->detail_len + p->request_id_len + strlen(p->type)
        + strlen(p->title);

    ref = malloc(3 * n + 1);
    if (ref == NULL) {
        bail_out("out of memory");
    }

    status = (p->status >= 100 && p->status <= 999) ? p->status : 500;

    bad = json_object_size(o) != 5 + nextra
          || !json_is_integer(json_object_get(o, "status"))
          || json_integer_value(json_object_get(o, "status")) != status;

    n = ref_decoded(ref, (const unsigned char *) p->type, strlen(p->type));
    bad |= !member_is(o, "type", ref, n);

    n = ref_decoded(ref, (const unsigned char *) p->title, strlen(p->title));
    bad |= !member_is(o, "title", ref, n);

    n = ref_decoded(ref, p->detail, p->detail_len);
    bad |= !member_is(o, "detail", ref, n);

    n = ref_decoded(ref, p->request_id, p->request_id_len);
    bad |= !member_is(o, "request_id", ref, n);

    free(ref);
    json_decref(o);

    return bad;
}


static void
test_body(void)
{
    body_t        b;
    json_t       *o;
    gw_problem_t  p;

    memset(&p, 0, sizeof(gw_problem_t));

    p.status = 401;
    p.type = "urn:tollgate:problem:token-invalid";
    p.title = "Invalid token";
    p.detail = (const unsigned char *) "token expired";
    p.detail_len = 13;
    p.request_id = (const unsigned char *) "3f2a9c";
    p.request_id_len = 6;

    b = render(&p);
    ok(b.data != NULL, "simple body: length and end agree");

    if (b.data == NULL) {
        skip(9, "no body");
        return;
    }

    ok(b.len == sizeof("{\"type\":\"urn:tollgate:problem:token-invalid\","
                       "\"title\":\"Invalid token\",\"status\":401,"
                       "\"detail\":\"token expired\","
                       "\"request_id\":\"3f2a9c\"}") - 1
       && memcmp(b.data, "{\"type\":\"urn:tollgate:problem:token-invalid\","
                 "\"title\":\"Invalid token\",\"status\":401,"
                 "\"detail\":\"token expired\","
                 "\"request_id\":\"3f2a9c\"}", b.len) == 0,
       "simple body: exact bytes");

    o = parse(&b);
    free(b.data);

    ok(json_is_object(o), "simple body parses as a JSON object");
    is_int(json_object_size(o), 5, "simple body has five members");
    is_str(json_string_value(json_object_get(o, "type")),
           "urn:tollgate:problem:token-invalid", "type");
    is_str(json_string_value(json_object_get(o, "title")), "Invalid token",
           "title");
    ok(json_is_integer(json_object_get(o, "status")), "status is a number");
    is_int(json_integer_value(json_object_get(o, "status")), 401, "status");
    is_str(json_string_value(json_object_get(o, "detail")), "token expired",
           "detail");
    is_str(json_string_value(json_object_get(o, "request_id")), "3f2a9c",
           "request_id");

    json_decref(o);

    /* no detail and no request id: NULL pointers with length 0 */

    p.detail = NULL;
    p.detail_len = 0;
    p.request_id = NULL;
    p.request_id_len = 0;

    b = render(&p);
    ok(b.data != NULL
       && b.len == sizeof("{\"type\":\"urn:tollgate:problem:token-invalid\","
                          "\"title\":\"Invalid token\",\"status\":401,"
                          "\"detail\":\"\",\"request_id\":\"\"}") - 1
       && memcmp(b.data, "{\"type\":\"urn:tollgate:problem:token-invalid\","
                 "\"title\":\"Invalid token\",\"status\":401,"
                 "\"detail\":\"\",\"request_id\":\"\"}", b.len) == 0,
       "empty detail and request_id are \"\"");
    free(b.data);

    /* only detail_len bytes are read: the input need not end in NUL */

    p.detail = (const unsigned char *) "abc\"def";
    p.detail_len = 3;
    p.request_id = (const unsigned char *) "r-1XXXX";
    p.request_id_len = 3;
    ok(problem_differs(&p, 0) == 0, "detail and request_id are slices");

    /* a NUL byte in the detail is a \u0000 escape */

    p.detail = (const unsigned char *) "a\0b";
    p.detail_len = 3;

    b = render(&p);
    ok(b.data != NULL && b.len > 12
       && contains(&b, "\"detail\":\"a\\u0000b\""),
       "NUL in detail written as \\u0000");
    free(b.data);

    ok(problem_differs(&p, 0) == 0, "NUL in detail reads back as NUL");

    /* type and title are escaped too */

    p.type = "urn:\"quoted\"\\back";
    p.title = "Tab\there \x7f and \xc3\xa9 and \xff";
    ok(problem_differs(&p, 0) == 0, "type and title escaped");
}


static void
test_status(void)
{
    size_t        i;
    body_t        b;
    json_t       *o;
    gw_problem_t  p;
    char          want[32];
    static const int  cases[][2] = {
        { 100, 100 }, { 101, 101 }, { 200, 200 }, { 401, 401 },
        { 429, 429 }, { 500, 500 }, { 503, 503 }, { 999, 999 },
        { 99, 500 }, { 0, 500 }, { 1, 500 }, { -1, 500 }, { -100, 500 },
        { -401, 500 }, { 1000, 500 }, { 1001, 500 }, { 4010, 500 },
        { 65536 + 401, 500 }, { INT_MAX, 500 }, { INT_MIN, 500 }
    };

    memset(&p, 0, sizeof(gw_problem_t));
    p.type = "about:blank";
    p.title = "t";

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p.status = cases[i][0];

        b = render(&p);
        o = (b.data != NULL) ? parse(&b) : NULL;

        snprintf(want, sizeof(want), "\"status\":%d,", cases[i][1]);

        ok(o != NULL
           && json_integer_value(json_object_get(o, "status")) == cases[i][1]
           && contains(&b, want),
           "status %d written as %d", cases[i][0], cases[i][1]);

        json_decref(o);
        free(b.data);
    }
}


static void
test_escape_cases(void)
{
    size_t          i, n, len;
    unsigned char  *end;
    unsigned char   out[256];
    static const char  *cases[][2] = {

        /* JSON's two escapes, and the characters left alone */

        { "", "" },
        { "plain text", "plain text" },
        { "a\"b", "a\\\"b" },
        { "a\\b", "a\\\\b" },
        { "\"\\\"", "\\\"\\\\\\\"" },
        { "/ ' ~ { } [ ] < >", "/ ' ~ { } [ ] < >" },

        /* control characters and DEL */

        { "\n", "\\u000a" },
        { "\r\n", "\\u000d\\u000a" },
        { "\t", "\\u0009" },
        { "\b\f", "\\u0008\\u000c" },
        { "\x01", "\\u0001" },
        { "\x1b[0m", "\\u001b[0m" },
        { "\x1f", "\\u001f" },
        { " ", " " },
        { "\x7f", "\\u007f" },
        { "a\x7f" "b", "a\\u007fb" },

        /* well-formed UTF-8, the edges of each length included */

        { "\xc2\x80", "\xc2\x80" },                     /* U+0080 */
        { "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" },
        { "\xdf\xbf", "\xdf\xbf" },                     /* U+07FF */
        { "\xe0\xa0\x80", "\xe0\xa0\x80" },             /* U+0800 */
        { "\xe2\x82\xac", "\xe2\x82\xac" },             /* euro sign */
        { "\xed\x9f\xbf", "\xed\x9f\xbf" },             /* U+D7FF */
        { "\xee\x80\x80", "\xee\x80\x80" },             /* U+E000 */
        { "\xe2\x80\xa8", "\xe2\x80\xa8" },             /* U+2028 */
        { "\xef\xbb\xbf", "\xef\xbb\xbf" },             /* U+FEFF */
        { "\xef\xbf\xbd", "\xef\xbf\xbd" },             /* U+FFFD */
        { "\xef\xbf\xbf", "\xef\xbf\xbf" },             /* U+FFFF */
        { "\xf0\x90\x80\x80", "\xf0\x90\x80\x80" },     /* U+10000 */
        { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },     /* an emoji */
        { "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },     /* U+10FFFF */

        /* lone continuation bytes and bytes that never occur */

        { "\x80", "\\ufffd" },
        { "\xbf", "\\ufffd" },
        { "a\x80\x80z", "a\\ufffd\\ufffdz" },
        { "\xfe", "\\ufffd" },
        { "\xff", "\\ufffd" },
        { "\xff\xfe", "\\ufffd\\ufffd" },

        /* overlong forms */

        { "\xc0\x80", "\\ufffd\\ufffd" },               /* NUL */
        { "\xc0\xa2", "\\ufffd\\ufffd" },               /* a quote */
        { "\xc1\xbf", "\\ufffd\\ufffd" },
        { "\xe0\x80\x80", "\\ufffd\\ufffd\\ufffd" },
        { "\xe0\x80\xa2", "\\ufffd\\ufffd\\ufffd" },
        { "\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd" },
        { "\xf0\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
        { "\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd" },

        /* UTF-16 surrogates */

        { "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" },    /* U+D800 */
        { "\xed\xaf\xbf", "\\ufffd\\ufffd\\ufffd" },    /* U+DBFF */
        { "\xed\xb0\x80", "\\ufffd\\ufffd\\ufffd" },    /* U+DC00 */
        { "\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd" },    /* U+DFFF */
        { "\xed\xa0\xbd\xed\xb8\x80",
          "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd" }, /* a CESU pair */

        /* above U+10FFFF, and the old five- and six-byte forms */

        { "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
        { "\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
        { "\xf7\xbf\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd" },
        { "\xf8\x88\x80\x80\x80",
          "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd" },
        { "\xfc\x84\x80\x80\x80\x80",
          "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd" },

        /* truncated sequences, at the end and before another character */

        { "\xc3", "\\ufffd" },
        { "\xe2\x82", "\\ufffd\\ufffd" },
        { "\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd" },
        { "\xc3" "A", "\\ufffdA" },
        { "\xe2\x82" "A", "\\ufffd\\ufffdA" },
        { "\xf0\x9f\x98" "A", "\\ufffd\\ufffd\\ufffdA" },
        { "\xe2\x82\"", "\\ufffd\\ufffd\\\"" },
        { "\xc3\n", "\\ufffd\\u000a" },
        { "\xf0\x9f\x98\xc3\xa9", "\\ufffd\\ufffd\\ufffd\xc3\xa9" },

        /* a mix */

        { "a\xff" "b\xc3\xa9\"\x01\xed\xa0\x80z",
          "a\\ufffdb\xc3\xa9\\\"\\u0001\\ufffd\\ufffd\\ufffdz" }
    };
    static const char  *cut[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i][0]);
        n = gw_json_escape_len((const unsigned char *) cases[i][0], len);

        memset(out, CANARY, sizeof(out));
        end = gw_json_escape(out, (const unsigned char *) cases[i][0], len);

        ok(n == strlen(cases[i][1]) && end == out + n
           && memcmp(out, cases[i][1], n) == 0 && out[n] == CANARY,
           "escape case %zu (%zu bytes)", i + 1, len);
    }

    /*
     * a sequence cut by the length, not by the data: the bytes past len
     * would complete it, but must not be read
     */

    for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        len = strlen(cut[i]);

        for (n = 1; n < len; n++) {
            ok(escape_differs((const unsigned char *) cut[i], n) == 0,
               "cut case %zu at %zu of %zu bytes", i + 1, n, len);
        }
    }

    /* the NUL byte, which the table above cannot hold */

    n = gw_json_escape_len((const unsigned char *) "\0", 1);
    end = gw_json_escape(out, (const unsigned char *) "\0", 1);
    ok(n == 6 && end == out + 6 && memcmp(out, "\\u0000", 6) == 0,
       "NUL escaped as \\u0000");
}


/* Every string of one and two bytes, and the edges of longer sequences. */

static void
test_escape_exhaustive(void)
{
    size_t          a, b, c, d, bad, total;
    unsigned char   s[4];
    static const unsigned char  edge[] = {
        0x00, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
        0xbf, 0xc0, 0xc2, 0xe0, 0xf0, 0xff
    };

#define NEDGE  (sizeof(edge) / sizeof(edge[0]))

    bad = 0;

    for (a = 0; a < 256; a++) {
        s[0] = (unsigned char) a;
        bad += escape_differs(s, 1);
    }

    is_int(bad, 0, "every one-byte string escapes as the model says");

    bad = 0;

    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            s[0] = (unsigned char) a;
            s[1] = (unsigned char) b;
            bad += escape_differs(s, 2);
        }
    }

    is_int(bad, 0, "every two-byte string escapes as the model says");

    bad = 0;
    total = 0;

    for (a = 0xc0; a < 256; a++) {
        for (b = 0; b < NEDGE; b++) {
            for (c = 0; c < NEDGE; c++) {
                s[0] = (unsigned char) a;
                s[1] = edge[b];
                s[2] = edge[c];
                bad += escape_differs(s, 3);
                total++;

                for (d = 0; d < NEDGE; d++) {
                    s[3] = edge[d];
                    bad += escape_differs(s, 4);
                    total++;
                }
            }
        }
    }

    is_int(bad, 0, "%zu three- and four-byte strings of edge bytes", total);

    is_int(bad, 0, "%zu three- and four-byte strings of edge bytes", total);

#undef NEDGE
}


/*
 * Every code point from U+0080 to U+10FFFF in its one encoding: kept as
 * it is, but a surrogate, which becomes three U+FFFD.
 */

static void
test_code_points(void)
{
    size_t          n, bad, surrogates;
    uint32_t        cp;
    unsigned char  *end;
    unsigned char   s[4], out[32];

    bad = 0;
    surrogates = 0;

    for (cp = 0x80; cp <= 0x10ffff; cp++) {
        if (cp < 0x800) {
            s[0] = (unsigned char) (0xc0 | (cp >> 6));
            s[1] = (unsigned char) (0x80 | (cp & 0x3f));
            n = 2;

        } else if (cp < 0x10000) {
            s[0] = (unsigned char) (0xe0 | (cp >> 12));
            s[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            s[2] = (unsigned char) (0x80 | (cp & 0x3f));
            n = 3;

        } else {
            s[0] = (unsigned char) (0xf0 | (cp >> 18));
            s[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
            s[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            s[3] = (unsigned char) (0x80 | (cp & 0x3f));
            n = 4;
        }

        end = gw_json_escape(out, s, n);

        if (cp >= 0xd800 && cp <= 0xdfff) {
            surrogates++;

            bad += (gw_json_escape_len(s, n) != 18 || end != out + 18
                    || memcmp(out, "\\ufffd\\ufffd\\ufffd", 18) != 0);
            continue;
        }

        bad += (gw_json_escape_len(s, n) != n || end != out + n
                || memcmp(out, s, n) != 0);
    }

    is_int(bad, 0, "U+0080..U+10FFFF kept, %zu surrogates replaced",
           surrogates);
}


static void
test_extra(void)
{
    body_t        b;
    json_t       *o, *v;
    gw_problem_t  p;
    static const char  errors[] =
        "\"errors\":[{\"path\":\"/name\",\"message\":\"too long\"}]";
    static const char  raw[] = "\"note\":\"caf\xc3\xa9 \\\"x\\\" \\u00e9\"";

    memset(&p, 0, sizeof(gw_problem_t));
    p.status = 422;
    p.type = "urn:tollgate:problem:validation";
    p.title = "Invalid request";
    p.detail = (const unsigned char *) "1 error";
    p.detail_len = 7;
    p.extra = (const unsigned char *) errors;
    p.extra_len = sizeof(errors) - 1;

    ok(problem_differs(&p, 1) == 0, "extra \"errors\" member appended");

    b = render(&p);
    o = (b.data != NULL) ? parse(&b) : NULL;
    v = json_object_get(o, "errors");

    ok(json_is_array(v) && json_array_size(v) == 1
       && json_is_string(json_object_get(json_array_get(v, 0), "path")),
       "extra \"errors\" reads back as an array of objects");
    ok(b.data != NULL && b.len > sizeof(errors)
       && memcmp(b.data + b.len - sizeof(errors) - 1, ",", 1) == 0
       && memcmp(b.data + b.len - sizeof(errors), errors,
                 sizeof(errors) - 1) == 0
       && b.data[b.len - 1] == '}',
       "extra follows request_id after one comma, then the brace");

    json_decref(o);
    free(b.data);

    p.extra = (const unsigned char *) "\"a\":1,\"b\":[true,null]";
    p.extra_len = strlen((const char *) p.extra);
    ok(problem_differs(&p, 2) == 0, "two extra members appended");

    /* extra is raw JSON: copied as it is, not escaped again */

    p.extra = (const unsigned char *) raw;
    p.extra_len = sizeof(raw) - 1;

    b = render(&p);
    o = (b.data != NULL) ? parse(&b) : NULL;
    is_str(json_string_value(json_object_get(o, "note")),
           "caf\xc3\xa9 \"x\" \xc3\xa9", "extra is copied, not escaped");
    json_decref(o);
    free(b.data);

    /* only extra_len bytes: the members need not end in NUL */

    p.extra = (const unsigned char *) "\"n\":42,\"cut\":tru";
    p.extra_len = 6;

    b = render(&p);
    o = (b.data != NULL) ? parse(&b) : NULL;
    ok(json_object_size(o) == 6
       && json_integer_value(json_object_get(o, "n")) == 42,
       "only extra_len bytes of extra are used");
    json_decref(o);
    free(b.data);

    /* none: NULL, or a pointer with length 0 */

    p.extra = NULL;
    p.extra_len = 0;
    ok(problem_differs(&p, 0) == 0, "extra NULL: five members");

    p.extra = (const unsigned char *) errors;
    p.extra_len = 0;
    ok(problem_differs(&p, 0) == 0, "extra of length 0: five members");

    b = render(&p);
    ok(b.data != NULL && b.len >= 2
       && memcmp(b.data + b.len - 2, "\"}", 2) == 0,
       "extra of length 0: no trailing comma");
    free(b.data);

    p.extra = NULL;
    p.extra_len = 10;
    ok(problem_differs(&p, 0) == 0, "extra NULL with a length: ignored");
}


static unsigned char
rand_byte(void)
{
    static const unsigned char  special[] = {
        '"', '\\', '/', 0x00, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0x8f, 0x9f,
        0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
        0xf5, 0xf8, 0xff
    };

    switch (rand() % 4) {

    case 0:
        return special[rand() % sizeof(special)];

    case 1:
        return (unsigned char) (0x20 + rand() % 0x5f);

    default:
        return (unsigned char) rand();
    }
}


/* Fills s with up to max bytes: random bytes and well-formed sequences. */

static size_t
rand_fill(unsigned char *s, size_t max)
{
    size_t    len, n;
    uint32_t  cp;

    n = (max > 0) ? (size_t) rand() % (max + 1) : 0;
    len = 0;

    while (len < n) {
        if (rand() % 3 != 0 || n - len < 4) {
            s[len++] = rand_byte();
            continue;
        }

        do {
            cp = 0x80 + (uint32_t) rand() % (0x110000 - 0x80);
        } while (cp >= 0xd800 && cp <= 0xdfff);

        if (cp < 0x800) {
            s[len++] = (unsigned char) (0xc0 | (cp >> 6));

        } else if (cp < 0x10000) {
            s[len++] = (unsigned char) (0xe0 | (cp >> 12));
            s[len++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));

        } else {
            s[len++] = (unsigned char) (0xf0 | (cp >> 18));
            s[len++] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
            s[len++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        }

        s[len++] = (unsigned char) (0x80 | (cp & 0x3f));
    }

    return len;
}


static void
test_random(void)
{
    int             i;
    size_t          k, n, bad_escape, bad_problem, nextra;
    gw_problem_t    p;
    unsigned char   detail[256], rid[64], type[41], title[41];
    static const char  *extras[] = {
        "\"errors\":[]",
        "\"errors\":[{\"path\":\"/a\",\"message\":\"x\"}]",
        "\"retry_after\":30,\"limit\":\"100/min\""
    };
    static const size_t  nextras[] = { 1, 1, 2 };

    srand(20240519);

    bad_escape = 0;
    bad_problem = 0;

    for (i = 0; i < 5000; i++) {
        memset(&p, 0, sizeof(gw_problem_t));

        n = rand_fill(type, sizeof(type) - 1);
        for (k = 0; k < n; k++) {
            type[k] = type[k] ? type[k] : 'x';
        }
        type[n] = '\0';

        n = rand_fill(title, sizeof(title) - 1);
        for (k = 0; k < n; k++) {
            title[k] = title[k] ? title[k] : 'x';
        }
        title[n] = '\0';

        p.type = (const char *) type;
        p.title = (const char *) title;
        p.detail = detail;
        p.detail_len = rand_fill(detail, sizeof(detail));
        p.request_id = rid;
        p.request_id_len = rand_fill(rid, sizeof(rid));

        switch (rand() % 4) {
        case 0:
            p.status = 100 + rand() % 900;
            break;
        case 1:
            p.status = -1100 + rand() % 2200;
            break;
        case 2:
            p.status = (rand() % 2) ? INT_MAX - rand() % 8
                                    : INT_MIN + rand() % 8;
            break;
        default:
            p.status = (rand() % 2) ? 99 + rand() % 3 : 998 + rand() % 3;
        }

        nextra = 0;
        k = (size_t) rand() % 6;

        if (k < sizeof(extras) / sizeof(extras[0])) {
            p.extra = (const unsigned char *) extras[k];
            p.extra_len = strlen(extras[k]);
            nextra = nextras[k];
        }

        bad_escape += escape_differs(p.detail, p.detail_len);
        bad_problem += problem_differs(&p, nextra);
    }

    is_int(bad_escape, 0, "5000 random strings escape as the model says");
    is_int(bad_problem, 0, "5000 random bodies: length exact, bytes as the "
           "model's, valid JSON with the values given");
}


int
main(void)
{
    test_body();
    test_status();
    test_escape_cases();
    test_escape_exhaustive();
    test_code_points();
    test_extra();
    test_random();

    return done_testing();
}
