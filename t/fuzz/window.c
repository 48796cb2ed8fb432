
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for windows on event time (lib/window/gw_window.h): a
 * pipeline's "window" member, and a short stream of records.  The input:
 *
 *   window JSON on one line
 *   <key> <time> <record JSON>        at most 128 such lines
 *
 * the key being the bytes before the first space (none to 200) and the
 * time a decimal int64.  A window member that gw_window_conf_parse()
 * refuses must come with "/window...: why"; one it takes must be taken by
 * gw_window_new() (given a reducer).  The records then go to two sets,
 * the second saved to text and loaded back every seventh record.  The
 * checks:
 *   - every answer is one of the four, the two sets answer alike, and a
 *     failed record comes with a reason;
 *   - the watermark never goes back, and a late or failed record leaves
 *     it where it was;
 *   - results, flushed every third record, are closed (end at or before
 *     the watermark), come in the order of (end, start, key) across the
 *     whole run, never twice, and are the same from both sets;
 *   - every saved state loads.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window.h"


#define GW_FUZZ_LINES  128


typedef struct {
    int64_t         end;
    int64_t         start;
    size_t          klen;
    unsigned char   key[256];
    int             set;
} gw_fuzz_last_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *gw_fuzz_reduce(void *data, json_t *acc, json_t *rec,
    char *err, size_t errlen);
static void gw_fuzz_stream(gw_window_conf_t *conf, const char *p,
    const char *end);
static void gw_fuzz_check(json_t *out, size_t from, int64_t wm,
    gw_fuzz_last_t *last);
static gw_window_t *gw_fuzz_reload(gw_window_conf_t *conf, gw_window_t *w);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              err[256];
    json_t           *json;
    const char       *nl, *p, *end;
    gw_window_t      *w;
    gw_window_conf_t  conf;

    p = (const char *) data;
    end = p + size;

    nl = memchr(p, '\n', size);
    if (nl == NULL) {
        nl = end;
    }

    json = json_loadb(p, nl - p, JSON_DECODE_ANY, NULL);
    if (json == NULL) {
        return 0;
    }

    err[0] = '\0';

    if (gw_window_conf_parse(json, &conf, err, sizeof(err)) != 0) {
        if (strncmp(err, "/window", 7) != 0 || strstr(err, ": ") == NULL) {
            abort();
        }

        json_decref(json);
        return 0;
    }

    conf.reduce = gw_fuzz_reduce;

    w = gw_window_new(&conf, err, sizeof(err));
    if (w == NULL) {
        abort();
    }

    gw_window_free(w);

    gw_fuzz_stream(&conf, (nl < end) ? nl + 1 : end, end);

    json_decref(json);

    return 0;
}


static json_t *
gw_fuzz_reduce(void *data, json_t *acc, json_t *rec, char *err,
    size_t errlen)
{
    if (json_object_get(rec, "fail") != NULL) {
        snprintf(err, errlen, "refused");
        return NULL;
    }

    return json_integer(json_is_integer(acc) ? json_integer_value(acc) + 1
                                             : 1);
}


static void
gw_fuzz_stream(gw_window_conf_t *conf, const char *p, const char *end)
{
    int              n;
    char             err[256], num[32], *e;
    size_t           len, from;
    json_t          *rec, *out, *out2;
    int64_t          wm, wm2, t;
    const char      *sp, *nl;
    gw_window_t     *w, *w2;
    gw_window_rc_e   rc, rc2;
    gw_fuzz_last_t   last;

    w = gw_window_new(conf, err, sizeof(err));
    w2 = gw_window_new(conf, err, sizeof(err));
    out = json_array();
    out2 = json_array();

    if (w == NULL || w2 == NULL || out == NULL || out2 == NULL) {
        abort();
    }

    memset(&last, 0, sizeof(last));
    from = 0;

    for (n = 0; n < GW_FUZZ_LINES && p < end; n++, p = nl + 1) {
        nl = memchr(p, '\n', end - p);
        if (nl == NULL) {
            nl = end;
        }

        sp = memchr(p, ' ', nl - p);
        if (sp == NULL || sp - p > 200) {
            continue;
        }

        len = strcspn(sp + 1, " \n");
        if (len == 0 || len >= sizeof(num) || sp + 1 + len >= nl) {
            continue;
        }

        memcpy(num, sp + 1, len);
        num[len] = '\0';

        t = strtoll(num, &e, 10);
        if (*e != '\0') {
            continue;
        }

        rec = json_loadb(sp + 2 + len, nl - (sp + 2 + len), JSON_DECODE_ANY,
                         NULL);
        if (rec == NULL) {
            continue;
        }

        wm = gw_window_watermark(w);
        err[0] = '\0';
        rc = gw_window_add(w, p, sp - p, t, rec, err, sizeof(err));

        if (rc > GW_WINDOW_ERROR || (rc == GW_WINDOW_FAILED && err[0] == 0)
            || gw_window_watermark(w) < wm
            || (rc != GW_WINDOW_ADDED && gw_window_watermark(w) != wm))
        {
            abort();
        }

        wm2 = gw_window_watermark(w2);
        rc2 = gw_window_add(w2, p, sp - p, t, rec, err, sizeof(err));

        if (rc2 != rc || wm2 != wm || gw_window_open(w) != gw_window_open(w2))
        {
            abort();
        }

        json_decref(rec);

        if (n % 3 == 2) {
            if (gw_window_flush(w, out) != 0
                || gw_window_flush(w2, out2) != 0)
            {
                abort();
            }

            gw_fuzz_check(out, from, gw_window_watermark(w), &last);
            from = json_array_size(out);
        }

        if (n % 7 == 6) {
            w2 = gw_fuzz_reload(conf, w2);
        }
    }

    if (gw_window_flush(w, out) != 0 || gw_window_flush(w2, out2) != 0) {
        abort();
    }

    gw_fuzz_check(out, from, gw_window_watermark(w), &last);

    if (!json_equal(out, out2)) {
        abort();
    }

    json_decref(out);
    json_decref(out2);
    gw_window_free(w);
    gw_window_free(w2);
}


static void
gw_fuzz_check(json_t *out, size_t from, int64_t wm, gw_fuzz_last_t *last)
{
    int             c;
    size_t          i, j, klen;
    json_t         *r, *k;
    int64_t         start, end;
    const char     *s;
    unsigned char   key[256];

    for (i = from; i < json_array_size(out); i++) {
        r = json_array_get(out, i);
        start = json_integer_value(json_object_get(r, "start"));
        end = json_integer_value(json_object_get(r, "end"));

        if (end > wm || start >= end) {
            abort();
        }

        k = json_object_get(r, "key");

        if (k != NULL) {
            klen = json_string_length(k);
            s = json_string_value(k);

            if (klen > sizeof(key)) {
                abort();
            }

            memcpy(key, s, klen);

        } else {
            k = json_object_get(r, "key_hex");
            s = json_string_value(k);
            klen = json_string_length(k) / 2;

            if (s == NULL || klen > sizeof(key)) {
                abort();
            }

            for (j = 0; j < klen; j++) {
                if (sscanf(s + 2 * j, "%2hhx", &key[j]) != 1) {
                    abort();
                }
            }
        }

        if (last->set) {
            c = (end > last->end) - (end < last->end);
            if (c == 0) {
                c = (start > last->start) - (start < last->start);
            }

            if (c == 0) {
                c = memcmp(key, last->key,
                           klen < last->klen ? klen : last->klen);
                if (c == 0) {
                    c = (klen > last->klen) - (klen < last->klen);
                }
            }

            if (c <= 0) {
                abort();
            }
        }

        last->set = 1;
        last->end = end;
        last->start = start;
        last->klen = klen;
        memcpy(last->key, key, klen);
    }
}


static gw_window_t *
gw_fuzz_reload(gw_window_conf_t *conf, gw_window_t *w)
{
    char          err[256], *text;
    json_t       *state;
    gw_window_t  *w2;

    state = gw_window_save(w);
    if (state == NULL) {
        abort();
    }

    text = json_dumps(state, JSON_COMPACT);
    json_decref(state);
    gw_window_free(w);

    state = (text != NULL) ? json_loads(text, 0, NULL) : NULL;
    free(text);

    w2 = gw_window_load(conf, state, err, sizeof(err));
    if (w2 == NULL) {
        abort();
    }

    json_decref(state);

    return w2;
}
