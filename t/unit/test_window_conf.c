
/*
 * Copyright (C) Tollgate
 *
 * The pipeline document's "window" member (gw_window_conf_parse): the
 * durations, the defaults, and every refusal with the JSON pointer of
 * the member at fault; and the window state's loader: a state saved,
 * written as text and read back gives the same results (doubles to the
 * last bit, binary keys, a reducer's accumulator, the closed sessions),
 * and a state that is not one the conf could have made is refused.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window.h"
#include "tap.h"


#define ERRLEN  256


static const struct {
    const char  *json;
    const char  *err;
} bad[] = {
    { "[]", "/window: must be an object" },
    { "{\"type\":\"rolling\"}", "/window/type: one of tumbling, hopping or "
      "session is required" },
    { "{\"type\":\"tumbling\"}", "/window/size: required for a tumbling "
      "window" },
    { "{\"type\":\"tumbling\",\"size\":\"1x\"}", "/window/size: a whole "
      "number of ms or a string such as \"500ms\", \"5s\", \"1m\", \"2h\" "
      "or \"1d\" is required" },
    { "{\"type\":\"tumbling\",\"size\":\"s\"}", "/window/size: a whole "
      "number of ms or a string such as \"500ms\", \"5s\", \"1m\", \"2h\" "
      "or \"1d\" is required" },
    { "{\"type\":\"tumbling\",\"size\":1.5}", "/window/size: a whole "
      "number of ms or a string such as \"500ms\", \"5s\", \"1m\", \"2h\" "
      "or \"1d\" is required" },
    { "{\"type\":\"tumbling\",\"size\":\"0s\"}", "/window/size: must be "
      "more than 0" },
    { "{\"type\":\"tumbling\",\"size\":-1}", "/window/size: must be more "
      "than 0" },
    { "{\"type\":\"tumbling\",\"size\":\"9999999999999999999ms\"}",
      "/window/size: too large a duration" },
    { "{\"type\":\"tumbling\",\"size\":\"106751991167301d\"}",
      "/window/size: too large a duration" },
    { "{\"type\":\"tumbling\",\"size\":\"1m\",\"gap\":\"1s\"}",
      "/window/gap: not for a tumbling window" },
    { "{\"type\":\"tumbling\",\"size\":\"1m\",\"hop\":\"1s\"}",
      "/window/hop: not for a tumbling window" },
    { "{\"type\":\"hopping\",\"size\":\"1m\"}", "/window/hop: required for "
      "a hopping window" },
    { "{\"type\":\"hopping\",\"size\":\"1m\",\"hop\":\"2m\"}",
      "/window/hop: must be at most the size" },
    { "{\"type\":\"hopping\",\"size\":\"1h\",\"hop\":\"1s\"}",
      "/window/hop: a record would fall into more than 1000 windows" },
    { "{\"type\":\"session\",\"size\":\"1m\"}", "/window/gap: required for "
      "a session window" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"size\":\"1m\"}",
      "/window/size: not for a session window" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"lateness\":\"-1s\"}",
      "/window/lateness: a whole number of ms or a string such as "
      "\"500ms\", \"5s\", \"1m\", \"2h\" or \"1d\" is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"lateness\":-1}",
      "/window/lateness: must be 0 or more" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"colour\":1}",
      "/window/colour: unknown member" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"a/b~\":1}",
      "/window/a~1b~0: unknown member" },
    { "{\"type\":\"session\",\"gap\":\"1m\"}", "/window/aggregate: an array "
      "of 1 to 16 aggregates is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[]}",
      "/window/aggregate: an array of 1 to 16 aggregates is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[1]}",
      "/window/aggregate/0: must be an object" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"avg\","
      "\"field\":\"/a\"},{\"op\":\"median\"}]}",
      "/window/aggregate/1/op: one of count, sum, min, max, avg, distinct "
      "or reduce is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"sum\","
      "\"as\":\"t\"}]}", "/window/aggregate/0/field: a JSON pointer of at "
      "most 255 bytes is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"sum\","
      "\"field\":\"amount\"}]}", "/window/aggregate/0/field: a JSON pointer "
      "of at most 255 bytes is required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"sum\","
      "\"field\":7}]}", "/window/aggregate/0/field: must be a string" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"count\","
      "\"field\":\"/a\"}]}", "/window/aggregate/0/field: count takes no "
      "field" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"count\","
      "\"x\":1}]}", "/window/aggregate/0/x: unknown member" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"count\"},"
      "{\"op\":\"count\"}]}", "/window/aggregate/1/as: \"count\" names "
      "another aggregate too" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"count\","
      "\"as\":\"key\"}]}", "/window/aggregate/0/as: \"key\" is a member of "
      "every result" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"count\","
      "\"as\":\"\"}]}", "/window/aggregate/0/as: a name of 1 to 64 bytes is "
      "required" },
    { "{\"type\":\"session\",\"gap\":\"1m\",\"aggregate\":[{\"op\":\"reduce\""
      "}]}", "/window/aggregate/0/op: session windows merge, and a reducer "
      "cannot merge two accumulators" },
};


static const struct {
    const char  *dur;
    int64_t      ms;
} durations[] = {
    { "1", 1 }, { "\"500ms\"", 500 }, { "\"5s\"", 5000 },
    { "\"1m\"", 60000 }, { "\"2h\"", 7200000 }, { "\"1d\"", 86400000 },
    { "60000.0", 60000 }, { "\"106751991167d\"", 9223372036828800000LL },
};


static json_t *
reducer(void *data, json_t *acc, json_t *rec, char *err, size_t errlen)
{
    return json_pack("[o O]", json_incref(acc), json_object_get(rec, "v"));
}


static void
test_parse(void)
{
    size_t            i;
    char              err[ERRLEN], text[256];
    json_t           *j;
    gw_window_t      *w;
    gw_window_conf_t  c;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        err[0] = '\0';

        ok(gw_window_conf_parse(j, &c, err, sizeof(err)) == -1
           && strcmp(err, bad[i].err) == 0, "refused: %s", bad[i].err);

        if (strcmp(err, bad[i].err) != 0) {
            diag("got: %s", err);
        }

        json_decref(j);
    }

    for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        snprintf(text, sizeof(text), "{\"type\":\"hopping\",\"size\":%s,"
                 "\"hop\":%s,\"lateness\":\"0s\",\"aggregate\":"
                 "[{\"op\":\"count\"}]}", durations[i].dur, durations[i].dur);
        j = json_loads(text, 0, NULL);

        ok(gw_window_conf_parse(j, &c, err, sizeof(err)) == 0
           && c.size == durations[i].ms && c.hop == durations[i].ms
           && c.lateness == 0, "duration %s", durations[i].dur);

        json_decref(j);
    }

    j = json_loads("{\"type\": \"tumbling\", \"size\": \"1m\", \"lateness\":"
                   " \"5s\", \"aggregate\": [{\"op\": \"count\", \"as\": "
                   "\"n\"}, {\"op\": \"sum\", \"field\": \"/amount\", \"as\":"
                   " \"total\"}, {\"op\": \"distinct\", \"field\": \"/u\"}, "
                   "{\"op\": \"reduce\", \"as\": \"r\"}]}", 0, NULL);

    ok(gw_window_conf_parse(j, &c, err, sizeof(err)) == 0
       && c.kind == GW_WINDOW_TUMBLING && c.size == 60000
       && c.lateness == 5000 && c.naggs == 4
       && c.aggs[1].op == GW_WINDOW_SUM
       && strcmp(c.aggs[1].field, "/amount") == 0
       && strcmp(c.aggs[1].as, "total") == 0
       && strcmp(c.aggs[2].as, "distinct") == 0
       && c.aggs[3].field == NULL, "the header's example parses");

    w = gw_window_new(&c, err, sizeof(err));
    ok(w == NULL && strcmp(err, "aggregate 3: op: reduce needs a reducer")
       == 0, "new wants the reducer: %s", err);

    c.reduce = reducer;
    w = gw_window_new(&c, err, sizeof(err));
    ok(w != NULL, "and takes the conf with one");
    gw_window_free(w);
    json_decref(j);

    j = json_loads("{\"type\":\"tumbling\"}", 0, NULL);
    ok(gw_window_conf_parse_at(j, "/steps/4/window", &c, err, sizeof(err))
       == -1 && strcmp(err, "/steps/4/window/size: required for a tumbling "
                       "window") == 0, "conf_parse_at: %s", err);
    json_decref(j);
}


/* saves w as text, loads it back into a new set (w is freed) */

static gw_window_t *
reload(const gw_window_conf_t *c, gw_window_t *w, char *err)
{
    char         *text;
    json_t       *state;
    gw_window_t  *w2;

    state = gw_window_save(w);
    text = json_dumps(state, JSON_COMPACT);
    json_decref(state);
    gw_window_free(w);

    state = json_loads(text, 0, NULL);
    free(text);

    w2 = gw_window_load(c, state, err, ERRLEN);
    json_decref(state);

    return w2;
}


static void
feed(gw_window_t *w, int part, json_t *out)
{
    int     i;
    char    err[ERRLEN];
    json_t  *rec;

    for (i = part * 40; i < part * 40 + 40; i++) {
        rec = json_pack("{sf}", "v", 0.1 * (i % 13) + 1.0 / (i + 3));
        gw_window_add(w, (i % 3) ? "\xff\x01" : "k", (i % 3) ? 2 : 1,
                      i * 3 - (i % 7) * 4, rec, err, sizeof(err));
        json_decref(rec);
    }

    gw_window_flush(w, out);
}


static void
test_roundtrip(gw_window_kind_e kind)
{
    int               part;
    char              err[ERRLEN];
    json_t           *a, *b;
    gw_window_t      *w1, *w2;
    gw_window_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.size = 20;
    c.hop = 5;
    c.gap = 4;
    c.lateness = 9;
    c.aggs[0] = (gw_window_agg_t) { GW_WINDOW_SUM, "/v", "s" };
    c.aggs[1] = (gw_window_agg_t) { GW_WINDOW_MIN, "/v", "lo" };
    c.aggs[2] = (gw_window_agg_t) { GW_WINDOW_AVG, "/v", "avg" };
    c.aggs[3] = (gw_window_agg_t) { GW_WINDOW_DISTINCT, "/v", "d" };
    c.naggs = 4;

    if (kind != GW_WINDOW_SESSION) {
        c.aggs[4] = (gw_window_agg_t) { GW_WINDOW_REDUCE, NULL, "r" };
        c.naggs = 5;
        c.reduce = reducer;
    }

    w1 = gw_window_new(&c, err, sizeof(err));
    w2 = gw_window_new(&c, err, sizeof(err));
    a = json_array();
    b = json_array();

    for (part = 0; part < 5; part++) {
        feed(w1, part, a);
        feed(w2, part, b);
        w2 = reload(&c, w2, err);

        if (w2 == NULL) {
            diag("load: %s", err);
            break;
        }
    }

    ok(w2 != NULL && json_array_size(a) > 5 && json_equal(a, b),
       "kind %d: fractions, binary keys, reducer: the same %zu results "
       "through four checkpoints", kind, json_array_size(a));

    json_decref(a);
    json_decref(b);
    gw_window_free(w1);
    gw_window_free(w2);
}


static const struct {
    const char  *from;
    const char  *to;
    const char  *err;
} bad_states[] = {
    { "\"version\":1", "\"version\":2", "version: 1 is required" },
    { "\"kind\":\"session\"", "\"kind\":\"tumbling\"", "kind: not the conf's" },
    { "\"gap\":10", "\"gap\":11", "size, hop, gap: not the conf's" },
    { "\"ops\":[\"count\",", "\"ops\":[\"sum\",", "ops/0: not the conf's" },
    { "\"max\":100", "\"max\":1.5", "max: an integer or null is required" },
    { "\"key\":\"6b\",\"start\":95", "\"key\":\"6B\",\"start\":95",
      "windows: a window needs a hex key, a start before its end and a "
      "count of 1 or more" },
    { "\"start\":95,\"end\":105", "\"start\":95,\"end\":104",
      "windows: a session shorter than the gap" },
    { "\"key\":\"6a\"", "\"key\":\"6b\"",
      "windows: two sessions of a key overlap" },
    { "\"1\"", "\"1.0\"", "windows: aggregate 1: distinct values must be "
      "canonical JSON texts, each once" },
    { "\"2\"", "\"1\"", "windows: aggregate 1: distinct values must be "
      "canonical JSON texts, each once" },
    { "\"count\":2", "\"count\":1", "windows: aggregate 1: 1 to 100000 "
      "values, no more than the count, are required" },
    { "\"closed\":[{\"key\":\"6b\",\"end\":91}]",
      "\"closed\":[{\"key\":\"6b\",\"end\":96}]", "closed/0: a key twice, "
      "past its cap, or after an open session of its key" },
    { "\"closed\":[{\"key\":\"6b\",\"end\":91}]",
      "\"closed\":[{\"key\":\"6b\",\"end\":91},{\"key\":\"6c\",\"end\":60}]",
      "closed/1: a hex key and an end, in the order of ends, are required" },
};


static void
test_load(void)
{
    size_t            i;
    char              err[ERRLEN], *text, *p, buf[2048];
    json_t           *state, *rec;
    gw_window_t      *w, *w2;
    gw_window_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.kind = GW_WINDOW_SESSION;
    c.gap = 10;
    c.lateness = 0;
    c.aggs[0] = (gw_window_agg_t) { GW_WINDOW_COUNT, NULL, "n" };
    c.aggs[1] = (gw_window_agg_t) { GW_WINDOW_DISTINCT, "/v", "d" };
    c.naggs = 2;

    w = gw_window_new(&c, err, sizeof(err));
    rec = json_pack("{si}", "v", 1);
    gw_window_add(w, "k", 1, 81, rec, err, sizeof(err));
    gw_window_add(w, "k", 1, 95, rec, err, sizeof(err));
    json_decref(rec);
    rec = json_pack("{si}", "v", 2);
    gw_window_add(w, "k", 1, 95, rec, err, sizeof(err));
    gw_window_add(w, "j", 1, 100, rec, err, sizeof(err));
    json_decref(rec);
    state = json_array();
    gw_window_flush(w, state);
    json_decref(state);

    state = gw_window_save(w);
    text = json_dumps(state, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(state);
    gw_window_free(w);

    for (i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
        p = strstr(text, bad_states[i].from);

        if (p == NULL) {
            ok(0, "the state holds %s", bad_states[i].from);
            diag("%s", text);
            continue;
        }

        snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - text), text,
                 bad_states[i].to, p + strlen(bad_states[i].from));

        state = json_loads(buf, 0, NULL);
        err[0] = '\0';
        w2 = gw_window_load(&c, state, err, sizeof(err));

        ok(w2 == NULL && strcmp(err, bad_states[i].err) == 0,
           "load refuses: %s", bad_states[i].err);

        if (w2 != NULL || strcmp(err, bad_states[i].err) != 0) {
            diag("got: %s", err);
        }

        gw_window_free(w2);
        json_decref(state);
    }

    state = json_loads(text, 0, NULL);
    w2 = gw_window_load(&c, state, err, sizeof(err));
    ok(w2 != NULL && gw_window_open(w2) == 2, "the state itself loads");
    gw_window_free(w2);
    json_decref(state);
    free(text);
}


int
main(void)
{
    test_parse();
    test_roundtrip(GW_WINDOW_TUMBLING);
    test_roundtrip(GW_WINDOW_HOPPING);
    test_roundtrip(GW_WINDOW_SESSION);
    test_load();

    return done_testing();
}
