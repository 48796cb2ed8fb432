
/*
 * Copyright (C) Tollgate
 *
 * The aggregates of a window (gw_window.h): what a record brings (its
 * numbers, its canonical texts), the checks that may refuse it, the
 * update, the merge of two sessions, and the result object.
 *
 * Numbers are doubles, as in I-JSON; a sum that would leave the finite
 * doubles refuses the record rather than turn into infinity, which JSON
 * cannot carry.  A distinct count keeps the RFC 8785 canonical text of
 * each value (so 1, 1.0 and 1e0 are one value, and {"a":1,"b":2} and
 * {"b":2,"a":1} too) in an open-addressing set of at most
 * GW_WINDOW_DISTINCT_MAX texts.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jcs.h"
#include "gw_window_int.h"


#define GW_WINDOW_INT_MAX  9007199254740992.0     /* 2^53 */


static ssize_t gw_window_dset_find(gw_window_dset_t *set, uint64_t hash,
    const unsigned char *text, size_t len);
static int gw_window_dset_grow(gw_window_dset_t *set);


int
gw_window_vals_get(gw_window_t *w, json_t *rec, gw_window_val_t *vals,
    char *err, size_t errlen)
{
    size_t            k;
    json_t           *v;
    const char       *why;
    gw_window_agg_t  *agg;

    memset(vals, 0, w->conf.naggs * sizeof(gw_window_val_t));

    for (k = 0; k < w->conf.naggs; k++) {
        agg = &w->conf.aggs[k];

        if (agg->op == GW_WINDOW_COUNT || agg->op == GW_WINDOW_REDUCE) {
            continue;
        }

        v = (rec != NULL) ? gw_window_pointer_get(rec, agg->field) : NULL;

        if (v == NULL) {
            snprintf(err, errlen, "\"%s\": no such member in the record",
                     agg->field);
            goto failed;
        }

        if (agg->op != GW_WINDOW_DISTINCT) {
            if (!json_is_number(v)) {
                snprintf(err, errlen, "\"%s\": not a number", agg->field);
                goto failed;
            }

            vals[k].num = json_number_value(v);
            continue;
        }

        if (gw_jcs_encode(v, &vals[k].text, &vals[k].len, &why) != 0) {
            snprintf(err, errlen, "\"%s\": %s", agg->field, why);
            goto failed;
        }

        vals[k].hash = gw_window_hash_key(w->seed, vals[k].text,
                                          vals[k].len, 1);
    }

    return 0;

failed:

    gw_window_vals_free(w, vals);

    return -1;
}


void
gw_window_vals_free(gw_window_t *w, gw_window_val_t *vals)
{
    size_t  k;

    for (k = 0; k < w->conf.naggs; k++) {
        free(vals[k].text);
        vals[k].text = NULL;
    }
}


/*
 * Whether the record's values may go into acc: 0, or -1 with err.  A
 * reducer's new accumulators go to reduced[k] (owned by the caller).
 */

int
gw_window_agg_check(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_val_t *vals, json_t *rec, json_t **reduced, char *err,
    size_t errlen)
{
    size_t            k;
    json_t           *prev;
    gw_window_st_t   *st;
    gw_window_agg_t  *agg;

    for (k = 0; k < w->conf.naggs; k++) {
        agg = &w->conf.aggs[k];
        st = &acc->st[k];

        switch (agg->op) {

        case GW_WINDOW_SUM:
        case GW_WINDOW_AVG:
            if (!isfinite(st->num + vals[k].num)) {
                snprintf(err, errlen, "\"%s\": the sum would overflow",
                         agg->as);
                return -1;
            }

            break;

        case GW_WINDOW_DISTINCT:
            if (st->set.n >= GW_WINDOW_DISTINCT_MAX
                && gw_window_dset_find(&st->set, vals[k].hash, vals[k].text,
                                       vals[k].len) < 0)
            {
                snprintf(err, errlen, "\"%s\": %d distinct values, the most "
                         "there may be", agg->as, GW_WINDOW_DISTINCT_MAX);
                return -1;
            }

            break;

        case GW_WINDOW_REDUCE:
            if (reduced == NULL) {
                snprintf(err, errlen, "\"%s\": no reducer here", agg->as);
                return -1;
            }

            prev = (st->acc != NULL) ? st->acc : json_null();

            reduced[k] = w->conf.reduce(w->conf.reduce_data, prev, rec, err,
                                        errlen);
            if (reduced[k] == NULL) {
                return -1;
            }

            break;

        default:
            break;
        }
    }

    return 0;
}


/* applies a checked record: 0, or -1 when out of memory */

int
gw_window_agg_apply(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_val_t *vals, json_t **reduced)
{
    size_t           k;
    double           v;
    gw_window_st_t  *st;

    for (k = 0; k < w->conf.naggs; k++) {
        st = &acc->st[k];
        v = vals[k].num;

        switch (w->conf.aggs[k].op) {

        case GW_WINDOW_SUM:
        case GW_WINDOW_AVG:
            st->num += v;
            break;

        case GW_WINDOW_MIN:
            if (acc->count == 0 || v < st->num) {
                st->num = v;
            }

            break;

        case GW_WINDOW_MAX:
            if (acc->count == 0 || v > st->num) {
                st->num = v;
            }

            break;

        case GW_WINDOW_DISTINCT:
            if (gw_window_dset_add(&st->set, vals[k].hash, vals[k].text,
                                   vals[k].len)
                != 0)
            {
                return -1;
            }

            break;

        case GW_WINDOW_REDUCE:
            json_decref(st->acc);
            st->acc = reduced[k];
            reduced[k] = NULL;
            break;

        default:
            break;
        }
    }

    acc->count++;

    return 0;
}


/* merges session src into dst (sessions have no reducer) */

int
gw_window_agg_merge(gw_window_t *w, gw_window_acc_t *dst,
    gw_window_acc_t *src, char *err, size_t errlen)
{
    size_t             k, i;
    gw_window_st_t    *d, *s;
    gw_window_agg_t   *agg;
    gw_window_dval_t  *dv;

    for (k = 0; k < w->conf.naggs; k++) {
        agg = &w->conf.aggs[k];
        d = &dst->st[k];
        s = &src->st[k];

        switch (agg->op) {

        case GW_WINDOW_SUM:
        case GW_WINDOW_AVG:
            if (!isfinite(d->num + s->num)) {
                snprintf(err, errlen, "\"%s\": the sum would overflow",
                         agg->as);
                return -1;
            }

            d->num += s->num;
            break;

        case GW_WINDOW_MIN:
            if (dst->count == 0 || s->num < d->num) {
                d->num = s->num;
            }

            break;

        case GW_WINDOW_MAX:
            if (dst->count == 0 || s->num > d->num) {
                d->num = s->num;
            }

            break;

        case GW_WINDOW_DISTINCT:
            for (i = 0; i < s->set.size; i++) {
                dv = &s->set.slots[i];

                if (dv->text == NULL
                    || gw_window_dset_find(&d->set, dv->hash, dv->text,
                                           dv->len) >= 0)
                {
                    continue;
                }

                if (d->set.n >= GW_WINDOW_DISTINCT_MAX) {
                    snprintf(err, errlen, "\"%s\": %d distinct values, the "
                             "most there may be", agg->as,
                             GW_WINDOW_DISTINCT_MAX);
                    return -1;
                }

                if (gw_window_dset_add(&d->set, dv->hash, dv->text, dv->len)
                    != 0)
                {
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
            }

            break;

        case GW_WINDOW_REDUCE:
            snprintf(err, errlen, "\"%s\": a reducer cannot merge", agg->as);
            return -1;

        default:
            break;
        }
    }

    dst->count += src->count;

    return 0;
}


void
gw_window_agg_free(gw_window_t *w, gw_window_acc_t *acc)
{
    size_t           k, i;
    gw_window_st_t  *st;

    for (k = 0; k < w->conf.naggs; k++) {
        st = &acc->st[k];

        if (w->conf.aggs[k].op == GW_WINDOW_DISTINCT) {
            for (i = 0; i < st->set.size; i++) {
                free(st->set.slots[i].text);
            }

            free(st->set.slots);

        } else if (w->conf.aggs[k].op == GW_WINDOW_REDUCE) {
            json_decref(st->acc);
        }
    }
}


/* an integral double within 2^53 as a JSON integer, others as reals */

json_t *
gw_window_number(double d)
{
    if (d == trunc(d) && fabs(d) <= GW_WINDOW_INT_MAX) {
        return json_integer((json_int_t) d);
    }

    return json_real(d);
}


json_t *
gw_window_hex(const unsigned char *p, size_t len)
{
    char    *buf;
    size_t   i;
    json_t  *s;

    static const char  hex[] = "0123456789abcdef";

    buf = malloc(2 * len + 1);
    if (buf == NULL) {
        return NULL;
    }

    for (i = 0; i < len; i++) {
        buf[2 * i] = hex[p[i] >> 4];
        buf[2 * i + 1] = hex[p[i] & 0xf];
    }

    s = json_stringn(buf, 2 * len);
    free(buf);

    return s;
}


json_t *
gw_window_agg_result(gw_window_t *w, gw_window_acc_t *acc)
{
    size_t            k;
    json_t           *res, *v;
    gw_window_st_t   *st;
    gw_window_agg_t  *agg;

    res = json_object();
    if (res == NULL) {
        return NULL;
    }

    v = json_stringn((const char *) acc->node.key, acc->node.klen);

    if (v != NULL) {
        if (json_object_set_new(res, "key", v) != 0) {
            goto failed;
        }

    } else if (json_object_set_new(res, "key_hex",
                                   gw_window_hex(acc->node.key,
                                                 acc->node.klen))
               != 0)
    {
        goto failed;
    }

    if (json_object_set_new(res, "start", json_integer(acc->node.start)) != 0
        || json_object_set_new(res, "end", json_integer(acc->end)) != 0)
    {
        goto failed;
    }

    for (k = 0; k < w->conf.naggs; k++) {
        agg = &w->conf.aggs[k];
        st = &acc->st[k];

        switch (agg->op) {

        case GW_WINDOW_COUNT:
            v = json_integer(acc->count);
            break;

        case GW_WINDOW_AVG:
            v = gw_window_number(st->num / (double) acc->count);
            break;

        case GW_WINDOW_DISTINCT:
            v = json_integer((json_int_t) st->set.n);
            break;

        case GW_WINDOW_REDUCE:
            v = (st->acc != NULL) ? json_incref(st->acc) : json_null();
            break;

        default:
            v = gw_window_number(st->num);
            break;
        }

        if (json_object_set_new(res, agg->as, v) != 0) {
            goto failed;
        }
    }

    return res;

failed:

    json_decref(res);

    return NULL;
}


static ssize_t
gw_window_dset_find(gw_window_dset_t *set, uint64_t hash,
    const unsigned char *text, size_t len)
{
    size_t             i, mask;
    gw_window_dval_t  *dv;

    if (set->size == 0) {
        return -1;
    }

    mask = set->size - 1;

    for (i = hash & mask; ; i = (i + 1) & mask) {
        dv = &set->slots[i];

        if (dv->text == NULL) {
            return -1;
        }

        if (dv->hash == hash && dv->len == len
            && memcmp(dv->text, text, len) == 0)
        {
            return (ssize_t) i;
        }
    }
}


static int
gw_window_dset_grow(gw_window_dset_t *set)
{
    size_t             size, i, j;
    gw_window_dval_t  *slots;

    size = (set->size == 0) ? 8 : set->size * 2;

    slots = calloc(size, sizeof(gw_window_dval_t));
    if (slots == NULL) {
        return -1;
    }

    for (i = 0; i < set->size; i++) {
        if (set->slots[i].text == NULL) {
            continue;
        }

        for (j = set->slots[i].hash & (size - 1);
             slots[j].text != NULL;
             j = (j + 1) & (size - 1))
        {
            /* void */
        }

        slots[j] = set->slots[i];
    }

    free(set->slots);
    set->slots = slots;
    set->size = size;

    return 0;
}


/*
 * Adds a copy of text unless the set holds it: 0, or -1 when out of
 * memory.  The set stays at most three quarters full.
 */

int
gw_window_dset_add(gw_window_dset_t *set, uint64_t hash,
    const unsigned char *text, size_t len)
{
    size_t             i, mask;
    unsigned char     *copy;
    gw_window_dval_t  *dv;

    if (gw_window_dset_find(set, hash, text, len) >= 0) {
        return 0;
    }

    if ((set->n + 1) * 4 > set->size * 3 && gw_window_dset_grow(set) != 0) {
        return -1;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        return -1;
    }

    memcpy(copy, text, len);
    copy[len] = '\0';

    mask = set->size - 1;

    for (i = hash & mask; set->slots[i].text != NULL; i = (i + 1) & mask) {
        /* void */
    }

    dv = &set->slots[i];
    dv->hash = hash;
    dv->len = len;
    dv->text = copy;
    set->n++;

    return 0;
}
