
/*
 * Copyright (C) Tollgate
 *
 * The edges of lib/window that random streams do not reach: times at and
 * past the int64 bounds, the caps (open windows, distinct values), sums
 * that would overflow, failed records changing nothing, a record that
 * bridges two sessions, a record within gap of a closed session, hops
 * equal to the size and hops that do not divide it, equal times, the
 * empty and binary keys, the JSON pointers of fields, and the checks of
 * gw_window_new().
 */


#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window.h"
#include "tap.h"


#define ERRLEN  256


static char  err[ERRLEN];


static void
conf_init(gw_window_conf_t *c, gw_window_kind_e kind, int64_t size,
    int64_t hop, int64_t lateness)
{
    memset(c, 0, sizeof(gw_window_conf_t));

    c->kind = kind;
    c->size = (kind == GW_WINDOW_SESSION) ? 0 : size;
    c->gap = (kind == GW_WINDOW_SESSION) ? size : 0;
    c->hop = hop;
    c->lateness = lateness;
    c->aggs[0] = (gw_window_agg_t) { GW_WINDOW_COUNT, NULL, "n" };
    c->aggs[1] = (gw_window_agg_t) { GW_WINDOW_SUM, "/v", "sum" };
    c->aggs[2] = (gw_window_agg_t) { GW_WINDOW_DISTINCT, "/v", "d" };
    c->naggs = 3;
}


static gw_window_rc_e
add(gw_window_t *w, const char *key, size_t klen, int64_t t,
    const char *json)
{
    json_t          *rec;
    gw_window_rc_e   rc;

    rec = json_loads(json, JSON_DECODE_ANY, NULL);
    err[0] = '\0';
    rc = gw_window_add(w, key, klen, t, rec, err, sizeof(err));
    json_decref(rec);

    return rc;
}


/* flushes and returns the results as compact text (static) */

static const char *
flushed(gw_window_t *w)
{
    char           *s;
    json_t         *out;
    static char     buf[4096];

    out = json_array();

    if (gw_window_flush(w, out) != 0) {
        json_decref(out);
        return "flush failed";
    }

    s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    json_decref(out);

    return buf;
}


static void
test_bounds(void)
{
    gw_window_t       *w;
    gw_window_conf_t   c;

    conf_init(&c, GW_WINDOW_TUMBLING, 10, 0, 0);
    w = gw_window_new(&c, err, sizeof(err));

    is_int(gw_window_watermark(w), INT64_MIN, "watermark before any record");
    is_str(flushed(w), "[]", "nothing to flush before any record");

    is_int(add(w, "k", 1, INT64_MIN, "{\"v\":1}"), GW_WINDOW_FAILED,
           "tumbling: INT64_MIN fails (its window starts below the range)");
    ok(strstr(err, "beyond the range") != NULL, "with a reason: %s", err);
    is_int(add(w, "k", 1, INT64_MIN + 7, "{\"v\":1}"), GW_WINDOW_FAILED,
           "tumbling: INT64_MIN + 7 fails too");
    is_int(add(w, "k", 1, INT64_MIN + 8, "{\"v\":1}"), GW_WINDOW_ADDED,
           "tumbling: INT64_MIN + 8 starts the first whole window");
    is_int(add(w, "k", 1, INT64_MAX, "{\"v\":1}"), GW_WINDOW_FAILED,
           "tumbling: INT64_MAX fails (its window ends past the range)");
    is_int(add(w, "k", 1, INT64_MAX - 7, "{\"v\":1}"), GW_WINDOW_FAILED,
           "tumbling: INT64_MAX - 7 fails too");
    is_int(gw_window_watermark(w), INT64_MIN + 8,
           "failed records do not move the watermark");
    is_int(add(w, "k", 1, INT64_MAX - 8, "{\"v\":2}"), GW_WINDOW_ADDED,
           "tumbling: INT64_MAX - 8 is in the last whole window");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":-9223372036854775800,"
           "\"end\":-9223372036854775790,\"n\":1,\"sum\":1,\"d\":1}]",
           "the window at the lower bound closes at the upper one");
    is_int(gw_window_open(w), 1, "the last window stays open");
    gw_window_free(w);

    conf_init(&c, GW_WINDOW_HOPPING, 10, 5, 0);
    w = gw_window_new(&c, err, sizeof(err));
    is_int(add(w, "k", 1, INT64_MIN + 7, "{\"v\":1}"), GW_WINDOW_FAILED,
           "hopping: a window holding INT64_MIN + 7 starts below the range");
    is_int(add(w, "k", 1, INT64_MIN + 8, "{\"v\":1}"), GW_WINDOW_ADDED,
           "hopping: INT64_MIN + 8 falls into two whole windows");
    is_int(gw_window_open(w), 2, "two windows open");
    is_int(add(w, "k", 1, INT64_MAX - 7, "{\"v\":1}"), GW_WINDOW_FAILED,
           "hopping: a window holding INT64_MAX - 7 ends past the range");
    is_int(add(w, "k", 1, INT64_MAX - 8, "{\"v\":1}"), GW_WINDOW_ADDED,
           "hopping: INT64_MAX - 8 is in whole windows");
    gw_window_free(w);

    conf_init(&c, GW_WINDOW_SESSION, 10, 0, INT64_MAX);
    w = gw_window_new(&c, err, sizeof(err));
    is_int(add(w, "k", 1, -5, "{\"v\":1}"), GW_WINDOW_ADDED,
           "session: lateness INT64_MAX");
    is_int(gw_window_watermark(w), INT64_MIN,
           "the watermark stops at INT64_MIN");
    is_int(add(w, "k", 1, INT64_MIN, "{\"v\":1}"), GW_WINDOW_ADDED,
           "session: INT64_MIN, the watermark being INT64_MIN");
    is_int(add(w, "k", 1, INT64_MAX - 9, "{\"v\":1}"), GW_WINDOW_FAILED,
           "session: INT64_MAX - 9 + gap is past the range");
    is_int(add(w, "k", 1, INT64_MAX - 10, "{\"v\":1}"), GW_WINDOW_ADDED,
           "session: INT64_MAX - 10 + gap is INT64_MAX");
    is_int(add(w, "k", 1, INT64_MIN, "{\"v\":1}"), GW_WINDOW_LATE,
           "session: INT64_MIN is late once the watermark is -10");
    is_int(gw_window_watermark(w), -10, "INT64_MAX - 10 - INT64_MAX");
    is_int(gw_window_open(w), 3, "three sessions open");
    gw_window_free(w);
}


static void
test_caps(void)
{
    int                i;
    char               key[32], rec[64];
    gw_window_t       *w;
    gw_window_rc_e     rc;
    gw_window_conf_t   c;

    conf_init(&c, GW_WINDOW_TUMBLING, 1000, 0, 0);
    w = gw_window_new(&c, err, sizeof(err));
    rc = GW_WINDOW_ADDED;

    for (i = 0; i < GW_WINDOW_KEYS_MAX && rc == GW_WINDOW_ADDED; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rc = add(w, key, strlen(key), 5, "{\"v\":1}");
    }

    is_int(rc, GW_WINDOW_ADDED, "%d keys in one window each",
           GW_WINDOW_KEYS_MAX);
    is_int(add(w, "one more", 8, 5, "{\"v\":1}"), GW_WINDOW_FAILED,
           "one window more fails");
    ok(strstr(err, "100000 open windows") != NULL, "err: %s", err);
    is_int(add(w, "k7", 2, 6, "{\"v\":1}"), GW_WINDOW_ADDED,
           "an open window still takes records");
    is_int(gw_window_open(w), GW_WINDOW_KEYS_MAX, "open windows: the cap");
    gw_window_free(w);

    conf_init(&c, GW_WINDOW_TUMBLING, 1000, 0, 0);
    w = gw_window_new(&c, err, sizeof(err));
    rc = GW_WINDOW_ADDED;

    for (i = 0; i < GW_WINDOW_DISTINCT_MAX && rc == GW_WINDOW_ADDED; i++) {
        snprintf(rec, sizeof(rec), "{\"v\":%d}", i);
        rc = add(w, "k", 1, 5, rec);
    }

    is_int(rc, GW_WINDOW_ADDED, "%d distinct values",
           GW_WINDOW_DISTINCT_MAX);
    is_int(add(w, "k", 1, 5, "{\"v\":-1}"), GW_WINDOW_FAILED,
           "one distinct value more fails");
    ok(strstr(err, "distinct values") != NULL, "err: %s", err);
    is_int(add(w, "k", 1, 5, "{\"v\":7.0}"), GW_WINDOW_ADDED,
           "a value already counted (7.0 is 7) is still taken");
    gw_window_free(w);

    conf_init(&c, GW_WINDOW_TUMBLING, 10, 0, 0);
    w = gw_window_new(&c, err, sizeof(err));
    is_int(add(w, "k", 1, 1, "{\"v\":1e308}"), GW_WINDOW_ADDED, "1e308");
    is_int(add(w, "k", 1, 2, "{\"v\":1e308}"), GW_WINDOW_FAILED,
           "a sum that would overflow fails");
    ok(strstr(err, "overflow") != NULL, "err: %s", err);
    is_int(add(w, "k", 1, 50, "{\"w\":1}"), GW_WINDOW_FAILED,
           "a record without its field fails");
    is_str(err, "\"/v\": no such member in the record", "err names it");
    is_int(add(w, "k", 1, 50, "{\"v\":\"1\"}"), GW_WINDOW_FAILED,
           "a string where a number is due fails");
    is_int(gw_window_watermark(w), 1, "failed records moved nothing");
    is_str(flushed(w), "[]", "and closed nothing");
    is_int(add(w, "k", 1, 10, "{\"v\":-1e308}"), GW_WINDOW_ADDED, "-1e308");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":0,\"end\":10,\"n\":1,"
           "\"sum\":1e308,\"d\":1}]", "the first window holds one record");
    gw_window_free(w);
}


static json_t *
reducer(void *data, json_t *acc, json_t *rec, char *e, size_t elen)
{
    json_t  *v;

    v = json_object_get(rec, "v");

    if (json_integer_value(v) < 0) {
        snprintf(e, elen, "negative");
        return NULL;
    }

    return json_integer((json_is_integer(acc) ? json_integer_value(acc) : 0)
                        * 10 + json_integer_value(v));
}


static void
test_hopping(void)
{
    int                i;
    json_t            *a, *b;
    gw_window_t       *w, *w2;
    gw_window_conf_t   c;

    conf_init(&c, GW_WINDOW_HOPPING, 10, 3, 0);
    w = gw_window_new(&c, err, sizeof(err));
    is_int(add(w, "k", 1, 10, "{\"v\":1}"), GW_WINDOW_ADDED, "hop 3, 10");
    is_int(gw_window_open(w), 3, "t 10 is in 3 windows when hop 3 size 10");
    is_int(add(w, "k", 1, 18, "{\"v\":2}"), GW_WINDOW_ADDED, "t 18");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":3,\"end\":13,\"n\":1,"
           "\"sum\":1,\"d\":1},{\"key\":\"k\",\"start\":6,\"end\":16,"
           "\"n\":1,\"sum\":1,\"d\":1}]",
           "[3, 13) and [6, 16) close at 18");
    is_int(add(w, "k", 1, 8, "{\"v\":4}"), GW_WINDOW_LATE,
           "t 8: every window that holds it is closed");
    is_int(add(w, "k", 1, 9, "{\"v\":4}"), GW_WINDOW_ADDED,
           "t 9: [9, 19) is open, [3, 13) and [6, 16) are not");
    is_int(add(w, "k", 1, 40, "{}"), GW_WINDOW_FAILED, "no field");
    is_int(add(w, "k", 1, 40, "{\"v\":0}"), GW_WINDOW_ADDED, "t 40");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":9,\"end\":19,\"n\":3,"
           "\"sum\":7,\"d\":3},{\"key\":\"k\",\"start\":12,\"end\":22,"
           "\"n\":1,\"sum\":2,\"d\":1},{\"key\":\"k\",\"start\":15,"
           "\"end\":25,\"n\":1,\"sum\":2,\"d\":1},{\"key\":\"k\",\"start\":18,"
           "\"end\":28,\"n\":1,\"sum\":2,\"d\":1}]",
           "the late-but-open record went into [9, 19) only");
    gw_window_free(w);

    /* hop == size: the tumbling windows */

    conf_init(&c, GW_WINDOW_HOPPING, 10, 10, 3);
    w = gw_window_new(&c, err, sizeof(err));
    conf_init(&c, GW_WINDOW_TUMBLING, 10, 0, 3);
    w2 = gw_window_new(&c, err, sizeof(err));
    a = json_array();
    b = json_array();

    for (i = 0; i < 500; i++) {
        char  rec[32];

        snprintf(rec, sizeof(rec), "{\"v\":%d}", i % 7);
        add(w, i % 3 ? "x" : "y", 1, (i * 7919) % 1000 + i, rec);
        add(w2, i % 3 ? "x" : "y", 1, (i * 7919) % 1000 + i, rec);
        gw_window_flush(w, a);
        gw_window_flush(w2, b);
    }

    ok(json_array_size(a) > 10 && json_equal(a, b),
       "hop == size gives the tumbling results (%zu)", json_array_size(a));
    json_decref(a);
    json_decref(b);
    gw_window_free(w);
    gw_window_free(w2);

    /* a reducer that fails leaves every window of the record unchanged */

    conf_init(&c, GW_WINDOW_HOPPING, 10, 5, 0);
    c.aggs[3] = (gw_window_agg_t) { GW_WINDOW_REDUCE, NULL, "r" };
    c.naggs = 4;
    c.reduce = reducer;
    w = gw_window_new(&c, err, sizeof(err));
    add(w, "k", 1, 7, "{\"v\":1}");
    is_int(add(w, "k", 1, 8, "{\"v\":-1}"), GW_WINDOW_FAILED,
           "the reducer refuses");
    is_str(err, "negative", "with its err");
    add(w, "k", 1, 9, "{\"v\":2}");
    add(w, "k", 1, 30, "{\"v\":3}");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":0,\"end\":10,\"n\":2,"
           "\"sum\":3,\"d\":2,\"r\":12},{\"key\":\"k\",\"start\":5,\"end\":15,"
           "\"n\":2,\"sum\":3,\"d\":2,\"r\":12}]",
           "both windows hold the two good records, reduced in order");
    gw_window_free(w);
}


static void
test_sessions(void)
{
    gw_window_t       *w;
    gw_window_conf_t   c;

    conf_init(&c, GW_WINDOW_SESSION, 10, 0, 100);
    w = gw_window_new(&c, err, sizeof(err));
    add(w, "k", 1, 0, "{\"v\":1}");
    add(w, "k", 1, 15, "{\"v\":2}");
    is_int(gw_window_open(w), 2, "0 and 15, gap 10: two sessions");
    is_int(add(w, "k", 1, 7, "{\"v\":1.0}"), GW_WINDOW_ADDED,
           "7 is within gap of both");
    is_int(gw_window_open(w), 1, "the bridge merged them");
    add(w, "k", 1, 7, "{\"v\":3}");
    add(w, "z", 1, 200, "{\"v\":0}");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":0,\"end\":25,\"n\":4,"
           "\"sum\":7,\"d\":3}]", "one session [0, 25) of 4 records");
    gw_window_free(w);

    conf_init(&c, GW_WINDOW_SESSION, 10, 0, 5);
    w = gw_window_new(&c, err, sizeof(err));
    add(w, "k", 1, 0, "{\"v\":1}");
    add(w, "k", 1, 15, "{\"v\":2}");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":0,\"end\":10,\"n\":1,"
           "\"sum\":1,\"d\":1}]", "[0, 10) closed at watermark 10");
    is_int(add(w, "k", 1, 6, "{\"v\":1}"), GW_WINDOW_LATE,
           "6 + gap is past the watermark, but 6 is within gap of the "
           "closed session: late");
    is_int(add(w, "j", 1, 6, "{\"v\":1}"), GW_WINDOW_ADDED,
           "6 for another key is not late");
    is_int(add(w, "k", 1, 10, "{\"v\":4}"), GW_WINDOW_ADDED,
           "10 is not within gap of [0, 10)");
    is_int(add(w, "k", 1, 40, "{\"v\":0}"), GW_WINDOW_ADDED, "40");
    is_str(flushed(w), "[{\"key\":\"j\",\"start\":6,\"end\":16,\"n\":1,"
           "\"sum\":1,\"d\":1},{\"key\":\"k\",\"start\":10,\"end\":25,"
           "\"n\":2,\"sum\":6,\"d\":2}]",
           "results by end, then key; 10 joined 15's session");
    gw_window_free(w);

    /* lateness 0, equal times, the empty key and a binary one */

    conf_init(&c, GW_WINDOW_SESSION, 1, 0, 0);
    w = gw_window_new(&c, err, sizeof(err));
    add(w, "", 0, 5, "{\"v\":1}");
    add(w, "\0\xff", 2, 5, "{\"v\":1}");
    add(w, "", 0, 5, "{\"v\":2}");
    add(w, "", 0, 5, "{\"v\":1}");
    is_int(add(w, "", 0, 4, "{\"v\":1}"), GW_WINDOW_LATE,
           "lateness 0: 4 + gap 1 is at the watermark 5");
    is_int(add(w, "", 0, 6, "{\"v\":1}"), GW_WINDOW_ADDED, "6");
    is_str(flushed(w), "[{\"key\":\"\",\"start\":5,\"end\":6,\"n\":3,"
           "\"sum\":4,\"d\":2},{\"key_hex\":\"00ff\",\"start\":5,\"end\":6,"
           "\"n\":1,\"sum\":1,\"d\":1}]",
           "equal times in one session; a key that is not UTF-8 in hex");
    gw_window_free(w);
}


static void
test_new(void)
{
    size_t            i;
    gw_window_conf_t  c;

    static const struct {
        int          kind;
        int64_t      size, hop, lateness;
        int          agg;       /* which change to aggs[1] */
        const char  *err;
    } bad[] = {
        { 0, 0, 0, 0, 0, "size: must be more than 0" },
        { 0, -5, 0, 0, 0, "size: must be more than 0" },
        { 1, 10, 0, 0, 0, "hop: must be more than 0 and at most the size" },
        { 1, 10, 11, 0, 0, "hop: must be more than 0 and at most the size" },
        { 1, 1001, 1, 0, 0, "hop: a record would fall into more than 1000 "
                            "windows" },
        { 2, 0, 0, 0, 0, "gap: must be more than 0" },
        { 0, 10, 0, -1, 0, "lateness: must be 0 or more" },
        { 0, 10, 0, 0, 1, "aggregate 1: field: a JSON pointer of at most "
                          "255 bytes is required" },
        { 0, 10, 0, 0, 2, "aggregate 1: field: a JSON pointer of at most "
                          "255 bytes is required" },
        { 0, 10, 0, 0, 3, "aggregate 1: as: \"n\" names another aggregate "
                          "too" },
        { 0, 10, 0, 0, 4, "aggregate 1: as: \"start\" is a member of every "
                          "result" },
        { 0, 10, 0, 0, 5, "aggregate 1: op: reduce needs a reducer" },
        { 2, 10, 0, 0, 6, "aggregate 1: op: session windows merge, and a "
                          "reducer cannot merge two accumulators" },
        { 0, 10, 0, 0, 7, "aggregate 1: field: count takes no field" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        conf_init(&c, bad[i].kind, bad[i].size, bad[i].hop,
                  bad[i].lateness);

        switch (bad[i].agg) {
        case 1: c.aggs[1].field = "v"; break;
        case 2: c.aggs[1].field = "/a~2"; break;
        case 3: c.aggs[1].as = "n"; break;
        case 4: c.aggs[1].as = "start"; break;
        case 5: c.aggs[1].op = GW_WINDOW_REDUCE; c.aggs[1].field = NULL;
                break;
        case 6: c.aggs[1].op = GW_WINDOW_REDUCE; c.aggs[1].field = NULL;
                c.reduce = reducer; break;
        case 7: c.aggs[1].op = GW_WINDOW_COUNT; break;
        default: break;
        }

        err[0] = '\0';
        ok(gw_window_new(&c, err, sizeof(err)) == NULL
           && strcmp(err, bad[i].err) == 0, "new refuses: %s", bad[i].err);

        if (strcmp(err, bad[i].err) != 0) {
            diag("got: %s", err);
        }
    }

    conf_init(&c, GW_WINDOW_TUMBLING, 10, 0, 0);
    c.naggs = 0;
    ok(gw_window_new(&c, err, sizeof(err)) == NULL, "no aggregate: %s", err);
}


static void
test_pointer(void)
{
    gw_window_t       *w;
    gw_window_conf_t   c;

    conf_init(&c, GW_WINDOW_TUMBLING, 10, 0, 0);
    c.aggs[1].field = "/a~1b/1/~0";
    c.aggs[2].field = "";
    w = gw_window_new(&c, err, sizeof(err));
    is_int(add(w, "k", 1, 1, "{\"a/b\":[0,{\"~\":5}]}"), GW_WINDOW_ADDED,
           "/a~1b/1/~0 finds the number");
    is_int(add(w, "k", 1, 1, "{\"a/b\":[0,{\"~\":5}],\"x\":1}"),
           GW_WINDOW_ADDED, "a second record");
    is_int(add(w, "k", 1, 1, "{\"a/b\":{\"1\":{\"~\":5}}}"),
           GW_WINDOW_ADDED, "an object's member named 1");
    is_int(add(w, "k", 1, 1, "{\"a/b\":[0]}"), GW_WINDOW_FAILED,
           "past the array's end");
    is_int(add(w, "k", 1, 1, "{\"a/b\":{\"01\":{\"~\":5}},\"x\":[]}"),
           GW_WINDOW_FAILED, "01 is not 1, a member 01 is not 1");
    is_int(add(w, "k", 1, 20, "{\"a/b\":[1,{\"~\":0}]}"), GW_WINDOW_ADDED,
           "t 20");
    is_str(flushed(w), "[{\"key\":\"k\",\"start\":0,\"end\":10,\"n\":3,"
           "\"sum\":15,\"d\":3}]", "pointer \"\" counts whole records");
    gw_window_free(w);
}


int
main(void)
{
    test_bounds();
    test_caps();
    test_hopping();
    test_sessions();
    test_new();
    test_pointer();

    return done_testing();
}
