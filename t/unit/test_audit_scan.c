
/*
 * Copyright (C) Tollgate
 *
 * The audit index's record scanner (backends/audit/audit_ixscan.c)
 * against jansson (audit_index_extract()): on generated canonical
 * records, with odd strings (escapes, control characters, unicode above
 * U+FFFF, NULs), numbers of every shape and nested values, the scanner
 * must give the same keys, time and flags whenever it answers, and must
 * answer for the plain records the service writes; on damaged texts
 * (bytes flipped, cut short, whitespace added) it must either give
 * up or agree with jansson.  The two sources are compiled in here.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "gw_jcs.h"

#include "../../backends/audit/audit_index.c"
#include "../../backends/audit/audit_ixscan.c"


static uint64_t  rnd_state = 0x9e3779b97f4a7c15ULL;


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}


/* a string of odd characters, as UTF-8 */

static json_t *
odd_string(void)
{
    size_t    n, i, k;
    uint32_t  c;
    char      buf[256];

    static const uint32_t  odd[] = {
        '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', 0x01, 0x1f, 0x7f,
        0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xfeff, 0xffff, 0x10000,
        0x1f600, 0x10ffff, 0
    };

    n = rnd() % 12;
    k = 0;

    for (i = 0; i < n; i++) {
        switch (rnd() % 3) {
        case 0:
            c = 'a' + rnd() % 26;
            break;
        case 1:
            c = odd[rnd() % (sizeof(odd) / sizeof(odd[0]))];
            break;
        default:
            c = 0x20 + rnd() % 0x5f;
            break;
        }

        if (c < 0x80) {
            buf[k++] = (char) c;
        } else if (c < 0x800) {
            buf[k++] = 0xc0 | (c >> 6);
            buf[k++] = 0x80 | (c & 0x3f);
        } else if (c < 0x10000) {
            buf[k++] = 0xe0 | (c >> 12);
            buf[k++] = 0x80 | ((c >> 6) & 0x3f);
            buf[k++] = 0x80 | (c & 0x3f);
        } else {
            buf[k++] = 0xf0 | (c >> 18);
            buf[k++] = 0x80 | ((c >> 12) & 0x3f);
            buf[k++] = 0x80 | ((c >> 6) & 0x3f);
            buf[k++] = 0x80 | (c & 0x3f);
        }
    }

    return json_stringn(buf, k);
}


static json_t *
any_number(void)
{
    static const double  nums[] = {
        0, -0.0, 1, -1, 200, 403, 404.5, 1e21, 1e-7, 1.5e300, -2.5e-300,
        1700000000123.0, 9007199254740991.0, 5e-324, 1.7976931348623157e308
    };

    if (rnd() % 2) {
        return json_real(nums[rnd() % (sizeof(nums) / sizeof(nums[0]))]);
    }

    return json_real((double) (int64_t) (rnd() % 2000000) / 8 - 1000);
}


static json_t *
any_value(int depth)
{
    json_t  *v;
    size_t   i, n;

    switch (rnd() % (depth > 3 ? 5 : 7)) {
    case 0:
        return odd_string();
    case 1:
        return any_number();
    case 2:
        return json_true();
    case 3:
        return json_null();
    case 4:
        return json_string("consumer-42");
    case 5:
        v = json_array();
        n = rnd() % 4;
        for (i = 0; i < n; i++) {
            json_array_append_new(v, any_value(depth + 1));
        }
        return v;
    default:
        v = json_object();
        n = rnd() % 4;
        for (i = 0; i < n; i++) {
            json_object_set_new(v, rnd() % 2 ? "time" : "k", any_value(depth
                                                                       + 1));
        }
        return v;
    }
}


/* a record: the indexed members as plain or odd values, others around */

static json_t *
record(int plain)
{
    json_t  *r;

    static const char  *odd_names[] = {
        "act\"or", "actor ", "Actor", "acto", "\xc3\xa9",
        "\xf0\x9f\x98\x80"
    };

    static const char  *names[] = {
        "actor", "action", "resource", "status", "time"
    };

    r = json_object();

    if (plain) {
        json_object_set_new(r, "actor", json_sprintf("consumer-%d",
                                                     (int) (rnd() % 100)));
        json_object_set_new(r, "action", json_string("GET"));
        json_object_set_new(r, "resource", json_string("/v1/orders/7"));
        json_object_set_new(r, "status", json_real(200 + rnd() % 300));
        json_object_set_new(r, "time", json_real(1700000000000.0
                                                 + rnd() % 100000));
        json_object_set_new(r, "id", json_string("ev-1"));
        json_object_set_new(r, "extra", any_value(0));
        return r;
    }

    for (size_t i = 0; i < 5; i++) {
        if (rnd() % 4 != 0) {
            json_object_set_new(r, names[i], i < 3 && rnd() % 3 != 0
                                             ? odd_string() : any_value(0));
        }
    }

    json_object_set_new(r, "a", any_value(0));
    json_object_set_new(r, "zz", any_value(0));
    json_object_set_new(r, odd_names[rnd() % 6], any_value(0));

    return r;
}


static int
same(const audit_ixrec_t *a, const audit_ixrec_t *b)
{
    unsigned  f;

    if (a->bad != b->bad || a->has != b->has || a->has_time != b->has_time
        || (a->has_time && memcmp(&a->time, &b->time, 8) != 0))
    {
        return 0;
    }

    for (f = 0; f < AUDIT_IX_FIELDS; f++) {
        if ((a->has & (1u << f)) && a->keys[f] != b->keys[f]) {
            return 0;
        }
    }

    return 1;
}


static void
with_jansson(const unsigned char *p, size_t len, audit_ixrec_t *x)
{
    json_t  *obj;

    obj = json_loadb((const char *) p, len,
                     JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
    audit_index_extract(obj, x);
    json_decref(obj);
}


/* 1 when the scanner gives up or agrees with jansson on p */

static int
agrees(const unsigned char *p, size_t len, int *answered)
{
    audit_ixrec_t  a, b;

    *answered = 0;

    if (audit_index_scan(p, len, &a) != 0) {
        return 1;
    }

    *answered = 1;
    with_jansson(p, len, &b);

    if (!same(&a, &b)) {
        fprintf(stderr, "# differs: %.*s\n", (int) len, p);
        return 0;
    }

    return 1;
}


int
main(void)
{
    int             ok_all, answered;
    char           *deep;
    json_t         *r;
    size_t          i, k, n, len, plain_answered, odd_answered, cut;
    unsigned char  *text, *m;

    static const unsigned char  flips[] = {
        ' ', '"', '\\', 0x80, 0xff, ',', '}', 'e', '0', 0x00, 'u', 0xc3
    };

    static const char  *hand[] = {
        "{}", "{\"actor\":\"a\\u0041\"}", "{\"actor\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\ud83d\"}", "{\"status\":1e400}", "{\"a\":1e400}",
        "{\"a\":1e-400}", "{\"time\":-0}", "{\"actor\":\"x\"} ",
        "{\"actor\":\"x\",\"actor\":\"y\"}", "{\"a\":\"\\u0000\"}",
        "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"status\":404,\"time\":1.5e3}", "[1]", "\"x\"", "{\"a\":tru}",
        "{\"a\":[1,]}", "{\"a\":{\"b\":1,}}", "{,}", "{\"a\"}", "{\"a\":1",
        "{\"\\u0061ctor\":\"x\"}", "{\"actor\":\"\xc0\xaf\"}",
        "{\"actor\":\"\xed\xa0\x80\"}", "{\"actor\":\"\xf4\x90\x80\x80\"}",
        "{\"actor\":\"\xe2\x82\"}", "{\"actor\":\"tab\there\"}",
        "{\"actor\":\"x\x7f\"}", "{\"status\":\"200\",\"time\":null}"
    };

    /* hand-made cases */

    ok_all = 1;
    for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
        ok_all &= agrees((const unsigned char *) hand[i], strlen(hand[i]),
                         &answered);
    }
    ok(ok_all, "hand-made texts: the scanner gives up or agrees");

    ok(audit_index_scan((const unsigned char *) "{\"a\":\"\\u0041\"}", 14,
                        &(audit_ixrec_t) { 0 }) == 0,
       "an escape outside the indexed strings is read");
    ok(audit_index_scan((const unsigned char *) "{\"actor\":\"a\\n\"}", 15,
                        &(audit_ixrec_t) { 0 }) == -1,
       "an escape inside an indexed string is left to jansson");

    deep = malloc(200);
    if (deep == NULL) {
        return 1;
    }
    n = 0;
    n += sprintf(deep, "{\"a\":");
    for (i = 0; i < 40; i++) {
        deep[n++] = '[';
    }
    for (i = 0; i < 40; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    ok(audit_index_scan((unsigned char *) deep, n, &(audit_ixrec_t) { 0 })
       == -1, "nesting past the cap is left to jansson");
    free(deep);

    /* records as the service writes them: always answered, the same */

    ok_all = 1;
    plain_answered = 0;
    for (i = 0; i < 20000; i++) {
        r = record(1);
        if (gw_jcs_encode(r, &text, &len, &(const char *) { NULL }) != 0) {
            json_decref(r);
            continue;
        }
        ok_all &= agrees(text, len, &answered);
        plain_answered += answered;
        free(text);
        json_decref(r);
    }
    ok(ok_all, "20000 plain records: the same keys");
    is_int(plain_answered, 20000, "every plain record is read by the scanner");

    /* odd records, whole and damaged */

    ok_all = 1;
    odd_answered = 0;
    n = 0;
    for (i = 0; i < 50000; i++) {
        r = record(0);
        if (gw_jcs_encode(r, &text, &len, &(const char *) { NULL }) != 0) {
            json_decref(r);
            continue;
        }
        n++;
        ok_all &= agrees(text, len, &answered);
        odd_answered += answered;

        m = malloc(len + 2);
        if (m == NULL) {
            return 1;
        }

        for (k = 0; k < 4; k++) {
            memcpy(m, text, len);
            cut = rnd() % len;
            switch (k) {
            case 0:
                m[cut] = flips[rnd() % sizeof(flips)];
                ok_all &= agrees(m, len, &answered);
                break;
            case 1:
                ok_all &= agrees(m, cut, &answered);
                break;
            case 2:
                memmove(m + cut + 1, m + cut, len - cut);
                m[cut] = ' ';
                ok_all &= agrees(m, len + 1, &answered);
                break;
            default:
                m[cut] = (unsigned char) rnd();
                ok_all &= agrees(m, len, &answered);
                break;
            }
        }

        free(m);
        free(text);
        json_decref(r);
    }

    ok(ok_all, "odd records, whole and damaged: the same keys when read");
    ok(odd_answered > n / 4, "the scanner reads most odd records (%zu of %zu)",
       odd_answered, n);

    return done_testing();
}
