
/*
 * Copyright (C) Tollgate
 *
 * A window set's state as JSON, for the checkpoints an exactly-once sink
 * commits with its position (docs/processing-windows.md):
 *
 *   {"version": 1, "kind": "session", "size": 0, "hop": 0, "gap": 60000,
 *    "ops": ["count", ...], "max": <largest time seen, or null>,
 *    "windows": [{"key": "<hex>", "start": ms, "end": ms, "count": n,
 *                 "aggs": [<one per aggregate>]}, ...],
 *    "closed": [{"key": "<hex>", "end": ms}, ...]}
 *
 * An aggregate's state is null (count), the double as a JSON real (sum,
 * avg's sum, min, max: written with 17 digits, so it reads back to the
 * same double), the canonical texts (distinct) or the reducer's
 * accumulator.  "closed" lists the sessions' closed ends still kept, in
 * the order they closed.  A state comes back from a store, so load
 * checks all of it: the window's shape against the conf, every number,
 * the caps, no two windows alike, no two sessions of a key overlapping,
 * every distinct text canonical.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jcs.h"
#include "gw_window_int.h"


static const char  *gw_window_state_ops[] = {
    "count", "sum", "min", "max", "avg", "distinct", "reduce"
};

static const char  *gw_window_state_kinds[] = {
    "tumbling", "hopping", "session"
};


static json_t *gw_window_save_acc(gw_window_t *w, gw_window_acc_t *acc);
static json_t *gw_window_save_st(gw_window_t *w, gw_window_acc_t *acc,
    size_t k);
static int gw_window_load_acc(gw_window_t *w, json_t *v, char *err,
    size_t errlen);
static int gw_window_load_st(gw_window_t *w, gw_window_acc_t *acc,
    size_t k, json_t *v, char *err, size_t errlen);
static int gw_window_load_conf(gw_window_t *w, json_t *state, char *err,
    size_t errlen);
static int gw_window_load_closed(gw_window_t *w, json_t *v, char *err,
    size_t errlen);
static int gw_window_link_session(gw_window_t *w, gw_window_acc_t *acc,
    char *err, size_t errlen);
static unsigned char *gw_window_unhex(json_t *v, size_t *len);
static int gw_window_int(json_t *v, int64_t *n);


json_t *
gw_window_save(gw_window_t *w)
{
    size_t             i;
    json_t            *state, *a, *v;
    gw_window_kent_t  *kent;

    state = json_pack("{si ss sI sI sI s[] s[] s[]}",
                      "version", GW_WINDOW_VERSION,
                      "kind", gw_window_state_kinds[w->conf.kind],
                      "size", (json_int_t) w->conf.size,
                      "hop", (json_int_t) w->conf.hop,
                      "gap", (json_int_t) w->conf.gap,
                      "ops", "windows", "closed");
    if (state == NULL) {
        return NULL;
    }

    a = json_object_get(state, "ops");

    for (i = 0; i < w->conf.naggs; i++) {
        if (json_array_append_new(a, json_string(
                gw_window_state_ops[w->conf.aggs[i].op])) != 0)
        {
            goto failed;
        }
    }

    v = w->started ? json_integer(w->max) : json_null();
    if (json_object_set_new(state, "max", v) != 0) {
        goto failed;
    }

    a = json_object_get(state, "windows");

    for (i = 0; i < w->nheap; i++) {
        if (json_array_append_new(a, gw_window_save_acc(w, w->heap[i])) != 0)
        {
            goto failed;
        }
    }

    a = json_object_get(state, "closed");

    for (kent = w->thead; kent != NULL; kent = kent->tnext) {
        v = json_pack("{so sI}", "key", gw_window_hex(kent->node.key,
                                                      kent->node.klen),
                      "end", (json_int_t) kent->closed);

        if (json_array_append_new(a, v) != 0) {
            goto failed;
        }
    }

    return state;

failed:

    json_decref(state);

    return NULL;
}


static json_t *
gw_window_save_acc(gw_window_t *w, gw_window_acc_t *acc)
{
    size_t   k;
    json_t  *v, *aggs;

    v = json_pack("{so sI sI sI s[]}",
                  "key", gw_window_hex(acc->node.key, acc->node.klen),
                  "start", (json_int_t) acc->node.start,
                  "end", (json_int_t) acc->end,
                  "count", (json_int_t) acc->count,
                  "aggs");
    if (v == NULL) {
        return NULL;
    }

    aggs = json_object_get(v, "aggs");

    for (k = 0; k < w->conf.naggs; k++) {
        if (json_array_append_new(aggs, gw_window_save_st(w, acc, k)) != 0) {
            json_decref(v);
            return NULL;
        }
    }

    return v;
}


static json_t *
gw_window_save_st(gw_window_t *w, gw_window_acc_t *acc, size_t k)
{
    size_t             i;
    json_t            *a;
    gw_window_st_t    *st;
    gw_window_dval_t  *dv;

    st = &acc->st[k];

    switch (w->conf.aggs[k].op) {

    case GW_WINDOW_COUNT:
        return json_null();

    case GW_WINDOW_DISTINCT:
        a = json_array();
        if (a == NULL) {
            return NULL;
        }

        for (i = 0; i < st->set.size; i++) {
            dv = &st->set.slots[i];

            if (dv->text != NULL
                && json_array_append_new(a, json_stringn((char *) dv->text,
                                                         dv->len))
                   != 0)
            {
                json_decref(a);
                return NULL;
            }
        }

        return a;

    case GW_WINDOW_REDUCE:
        return (st->acc != NULL) ? json_incref(st->acc) : json_null();

    default:
        return json_real(st->num);
    }
}


gw_window_t *
gw_window_load(const gw_window_conf_t *conf, json_t *state, char *err,
    size_t errlen)
{
    size_t        i;
    json_t       *v, *a;
    gw_window_t  *w;

    w = gw_window_new(conf, err, errlen);
    if (w == NULL) {
        return NULL;
    }

    if (gw_window_load_conf(w, state, err, errlen) != 0) {
        goto failed;
    }

    v = json_object_get(state, "max");

    if (json_is_null(v)) {
        w->started = 0;

    } else if (gw_window_int(v, &w->max) == 0) {
        w->started = 1;

    } else {
        snprintf(err, errlen, "max: an integer or null is required");
        goto failed;
    }

    a = json_object_get(state, "windows");

    if (!json_is_array(a) || json_array_size(a) > GW_WINDOW_KEYS_MAX
        || (json_array_size(a) > 0 && !w->started))
    {
        snprintf(err, errlen, "windows: an array of at most %d windows, and "
                 "a max with them, is required", GW_WINDOW_KEYS_MAX);
        goto failed;
    }

    for (i = 0; i < json_array_size(a); i++) {
        if (gw_window_load_acc(w, json_array_get(a, i), err, errlen) != 0) {
            goto failed;
        }
    }

    if (gw_window_load_closed(w, json_object_get(state, "closed"), err,
                              errlen)
        != 0)
    {
        goto failed;
    }

    return w;

failed:

    gw_window_free(w);

    return NULL;
}


static int
gw_window_load_conf(gw_window_t *w, json_t *state, char *err, size_t errlen)
{
    size_t   k;
    int64_t  n;
    json_t  *ops, *v;

    v = json_object_get(state, "version");

    if (!json_is_object(state) || gw_window_int(v, &n) != 0
        || n != GW_WINDOW_VERSION)
    {
        snprintf(err, errlen, "version: %d is required", GW_WINDOW_VERSION);
        return -1;
    }

    v = json_object_get(state, "kind");

    if (!json_is_string(v)
        || strcmp(json_string_value(v), gw_window_state_kinds[w->conf.kind])
           != 0)
    {
        snprintf(err, errlen, "kind: not the conf's");
        return -1;
    }

    if (gw_window_int(json_object_get(state, "size"), &n) != 0
        || n != w->conf.size
        || gw_window_int(json_object_get(state, "hop"), &n) != 0
        || n != w->conf.hop
        || gw_window_int(json_object_get(state, "gap"), &n) != 0
        || n != w->conf.gap)
    {
        snprintf(err, errlen, "size, hop, gap: not the conf's");
        return -1;
    }

    ops = json_object_get(state, "ops");

    if (!json_is_array(ops) || json_array_size(ops) != w->conf.naggs) {
        snprintf(err, errlen, "ops: not the conf's");
        return -1;
    }

    for (k = 0; k < w->conf.naggs; k++) {
        v = json_array_get(ops, k);

        if (!json_is_string(v)
            || strcmp(json_string_value(v),
                      gw_window_state_ops[w->conf.aggs[k].op])
               != 0)
        {
            snprintf(err, errlen, "ops/%zu: not the conf's", k);
            return -1;
        }
    }

    return 0;
}


static int
gw_window_load_acc(gw_window_t *w, json_t *v, char *err, size_t errlen)
{
    size_t            k, klen;
    int64_t           start, end, count, e, rem;
    json_t           *aggs;
    unsigned char    *key;
    gw_window_acc_t  *acc;

    key = gw_window_unhex(json_object_get(v, "key"), &klen);

    if (key == NULL
        || gw_window_int(json_object_get(v, "start"), &start) != 0
        || gw_window_int(json_object_get(v, "end"), &end) != 0
        || gw_window_int(json_object_get(v, "count"), &count) != 0
        || count < 1 || start >= end)
    {
        free(key);
        snprintf(err, errlen, "windows: a window needs a hex key, a start "
                 "before its end and a count of 1 or more");
        return -1;
    }

    acc = gw_window_acc_new(w, key, klen, start, end);
    free(key);

    if (acc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    acc->count = count;
    aggs = json_object_get(v, "aggs");

    if (!json_is_array(aggs) || json_array_size(aggs) != w->conf.naggs) {
        snprintf(err, errlen, "windows: a window needs one state per "
                 "aggregate");
        goto failed;
    }

    for (k = 0; k < w->conf.naggs; k++) {
        if (gw_window_load_st(w, acc, k, json_array_get(aggs, k), err,
                              errlen)
            != 0)
        {
            goto failed;
        }
    }

    if (w->conf.kind == GW_WINDOW_SESSION) {
        if (__builtin_sub_overflow(end, start, &e) || e < w->conf.gap) {
            snprintf(err, errlen, "windows: a session shorter than the gap");
            goto failed;
        }

        if (gw_window_link_session(w, acc, err, errlen) != 0) {
            goto failed;
        }

        return 0;
    }

    rem = start % w->conf.hop;

    if (rem != 0 || __builtin_add_overflow(start, w->conf.size, &e)
        || e != end)
    {
        snprintf(err, errlen, "windows: [%lld, %lld) is not a window of the "
                 "conf", (long long) start, (long long) end);
        goto failed;
    }

    acc->node.hash = gw_window_hash_key(w->seed, acc->node.key,
                                        acc->node.klen, start);

    if (gw_window_hash_find(&w->accs, acc->node.hash, acc->node.key,
                            acc->node.klen, start)
        != NULL)
    {
        snprintf(err, errlen, "windows: a window twice");
        goto failed;
    }

    if (gw_window_acc_link(w, acc, NULL, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    return 0;

failed:

    gw_window_agg_free(w, acc);
    free(acc);

    return -1;
}


static int
gw_window_load_st(gw_window_t *w, gw_window_acc_t *acc, size_t k, json_t *v,
    char *err, size_t errlen)
{
    size_t           i, len, clen;
    json_t          *s;
    const char      *why;
    unsigned char   *canon;
    gw_window_st_t  *st;

    st = &acc->st[k];

    switch (w->conf.aggs[k].op) {

    case GW_WINDOW_COUNT:
        return 0;

    case GW_WINDOW_REDUCE:
        st->acc = json_incref(v);
        return 0;

    case GW_WINDOW_DISTINCT:
        if (!json_is_array(v) || json_array_size(v) > GW_WINDOW_DISTINCT_MAX
            || json_array_size(v) == 0
            || json_array_size(v) > (size_t) acc->count)
        {
            snprintf(err, errlen, "windows: aggregate %zu: 1 to %d values, "
                     "no more than the count, are required", k,
                     GW_WINDOW_DISTINCT_MAX);
            return -1;
        }

        json_array_foreach(v, i, s) {
            if (!json_is_string(s)) {
                goto text;
            }

            len = json_string_length(s);

            if (gw_jcs_canonicalize((unsigned char *) json_string_value(s),
                                    len, &canon, &clen, &why)
                != 0)
            {
                goto text;
            }

            if (clen != len || memcmp(canon, json_string_value(s), len) != 0
                || gw_window_dset_add(&st->set,
                                      gw_window_hash_key(w->seed, canon,
                                                         clen, 1),
                                      canon, clen)
                   != 0)
            {
                free(canon);
                goto text;
            }

            free(canon);
        }

        if (st->set.n != json_array_size(v)) {
            goto text;
        }

        return 0;

    default:
        if (!json_is_number(v) || !isfinite(json_number_value(v))) {
            snprintf(err, errlen, "windows: aggregate %zu: a number is "
                     "required", k);
            return -1;
        }

        st->num = json_number_value(v);
        return 0;
    }

text:

    snprintf(err, errlen, "windows: aggregate %zu: distinct values must be "
             "canonical JSON texts, each once", k);
    return -1;
}


/* a session into its key's list, by start, overlapping none */

static int
gw_window_link_session(gw_window_t *w, gw_window_acc_t *acc, char *err,
    size_t errlen)
{
    gw_window_acc_t   *s, *after;
    gw_window_kent_t  *kent;

    if (w->kents.n >= GW_WINDOW_KEYS_MAX) {
        snprintf(err, errlen, "windows: more than %d keys",
                 GW_WINDOW_KEYS_MAX);
        return -1;
    }

    kent = gw_window_kent_get(w, acc->node.key, acc->node.klen);
    if (kent == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    after = NULL;

    for (s = kent->first; s != NULL; s = s->next) {
        if (s->node.start >= acc->node.start) {
            break;
        }

        after = s;
    }

    if ((after != NULL && after->end > acc->node.start)
        || (s != NULL && s->node.start < acc->end))
    {
        snprintf(err, errlen, "windows: two sessions of a key overlap");
        return -1;
    }

    if (gw_window_acc_link(w, acc, kent, after) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
gw_window_load_closed(gw_window_t *w, json_t *v, char *err, size_t errlen)
{
    size_t             i, klen;
    int64_t            end;
    json_t            *c;
    unsigned char     *key;
    gw_window_kent_t  *kent;

    if (!json_is_array(v)
        || (json_array_size(v) > 0 && w->conf.kind != GW_WINDOW_SESSION))
    {
        snprintf(err, errlen, "closed: an array (empty but for sessions) is "
                 "required");
        return -1;
    }

    json_array_foreach(v, i, c) {
        key = gw_window_unhex(json_object_get(c, "key"), &klen);

        if (key == NULL || gw_window_int(json_object_get(c, "end"), &end) != 0
            || (w->ttail != NULL && w->ttail->closed > end))
        {
            free(key);
            snprintf(err, errlen, "closed/%zu: a hex key and an end, in the "
                     "order of ends, are required", i);
            return -1;
        }

        kent = (w->kents.n < GW_WINDOW_KEYS_MAX
                || gw_window_hash_find(&w->kents,
                                       gw_window_hash_key(w->seed, key, klen,
                                                          0),
                                       key, klen, 0) != NULL)
               ? gw_window_kent_get(w, key, klen) : NULL;
        free(key);

        if (kent == NULL || kent->tomb
            || (kent->first != NULL && kent->first->node.start < end))
        {
            snprintf(err, errlen, "closed/%zu: a key twice, past its cap, or "
                     "after an open session of its key", i);
            return -1;
        }

        (void) gw_window_tomb_set(w, kent, end);
    }

    return 0;
}


static unsigned char *
gw_window_unhex(json_t *v, size_t *len)
{
    size_t          i, n;
    unsigned char  *buf;
    const char     *s;
    int             hi, lo;

    if (!json_is_string(v) || json_string_length(v) % 2 != 0) {
        return NULL;
    }

    s = json_string_value(v);
    n = json_string_length(v) / 2;

    buf = malloc(n + 1);
    if (buf == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        hi = (s[2 * i] >= 'a') ? s[2 * i] - 'a' + 10 : s[2 * i] - '0';
        lo = (s[2 * i + 1] >= 'a') ? s[2 * i + 1] - 'a' + 10
                                   : s[2 * i + 1] - '0';

        if (hi < 0 || hi > 15 || lo < 0 || lo > 15
            || (s[2 * i] > '9' && s[2 * i] < 'a')
            || (s[2 * i + 1] > '9' && s[2 * i + 1] < 'a'))
        {
            free(buf);
            return NULL;
        }

        buf[i] = (unsigned char) (hi << 4 | lo);
    }

    *len = n;

    return buf;
}


static int
gw_window_int(json_t *v, int64_t *n)
{
    if (!json_is_integer(v)) {
        return -1;
    }

    *n = json_integer_value(v);

    return 0;
}
