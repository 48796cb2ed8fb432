
/*
 * Copyright (C) Tollgate
 *
 * Windowed aggregation on event time (gw_window.h): records in, closed
 * windows' results out.
 *
 * A record is applied in two passes: the first finds its windows and
 * checks everything that can refuse it (lateness, its fields, the caps, a
 * sum that would overflow, the reducer), the second changes the state.
 * So a late or failed record changes nothing, and only running out of
 * memory in the second pass (GW_WINDOW_ERROR) can leave a set half
 * changed: the caller then drops it and loads its last checkpoint.
 *
 * Sessions are the gap-clusters of the records accepted for a key: a
 * record within gap of a closed session would change a result already
 * out, so it is late too.  Only the last closed session of a key can be
 * within gap of a record that is not late by its own time (two sessions
 * of a key lie at least gap apart), so the key keeps that session's end
 * ("closed") until the watermark has passed it by gap; those ends are
 * queued in the order they closed, which is the order of their ends.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gw_window_int.h"


static gw_window_rc_e gw_window_add_fixed(gw_window_t *w,
    const unsigned char *key, size_t klen, int64_t time, json_t *rec,
    char *err, size_t errlen);
static gw_window_rc_e gw_window_add_session(gw_window_t *w,
    const unsigned char *key, size_t klen, int64_t time, json_t *rec,
    char *err, size_t errlen);
static int gw_window_starts(gw_window_t *w, int64_t time, int64_t *starts,
    char *err, size_t errlen);
static gw_window_rc_e gw_window_check_all(gw_window_t *w,
    gw_window_acc_t **accs, size_t n, gw_window_val_t *vals, json_t *rec,
    json_t ***reduced, char *err, size_t errlen);
static void gw_window_reduced_free(gw_window_t *w, json_t **reduced,
    size_t n);
static void gw_window_acc_free(gw_window_t *w, gw_window_acc_t *acc);
static void gw_window_acc_unlink(gw_window_t *w, gw_window_acc_t *acc);
static void gw_window_tomb_unlink(gw_window_t *w, gw_window_kent_t *kent);
static void gw_window_kent_free(gw_window_t *w, gw_window_kent_t *kent);
static int64_t gw_window_wm(int64_t max, int64_t lateness);


gw_window_t *
gw_window_new(const gw_window_conf_t *conf, char *err, size_t errlen)
{
    if (gw_window_conf_check(conf, err, errlen) != 0) {
        return NULL;
    }

    return gw_window_create(conf, err, errlen);
}


gw_window_t *
gw_window_create(const gw_window_conf_t *conf, char *err, size_t errlen)
{
    gw_window_t  *w;

    w = calloc(1, sizeof(gw_window_t));
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    w->conf = *conf;

    if (w->conf.kind == GW_WINDOW_TUMBLING) {
        w->conf.hop = w->conf.size;
    }

    if (getrandom(&w->seed, sizeof(w->seed), GRND_NONBLOCK)
        != (ssize_t) sizeof(w->seed))
    {
        w->seed = (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) w;
    }

    return w;
}


static int64_t
gw_window_wm(int64_t max, int64_t lateness)
{
    int64_t  wm;

    if (__builtin_sub_overflow(max, lateness, &wm)) {
        return INT64_MIN;
    }

    return wm;
}


int64_t
gw_window_watermark(gw_window_t *w)
{
    if (!w->started) {
        return INT64_MIN;
    }

    return gw_window_wm(w->max, w->conf.lateness);
}


size_t
gw_window_open(gw_window_t *w)
{
    return w->nheap;
}


gw_window_rc_e
gw_window_add(gw_window_t *w, const char *key, size_t klen, int64_t time,
    json_t *rec, char *err, size_t errlen)
{
    gw_window_rc_e  rc;

    if (key == NULL) {
        key = "";
        klen = 0;
    }

    if (w->conf.kind == GW_WINDOW_SESSION) {
        rc = gw_window_add_session(w, (const unsigned char *) key, klen, time,
                                   rec, err, errlen);

    } else {
        rc = gw_window_add_fixed(w, (const unsigned char *) key, klen, time,
                                 rec, err, errlen);
    }

    if (rc == GW_WINDOW_ADDED && (!w->started || time > w->max)) {
        w->max = time;
        w->started = 1;
    }

    return rc;
}


/*
 * The starts of every window that holds time, latest first (at most
 * ceil(size / hop) <= GW_WINDOW_HOPS_MAX), or -1 when one of them would
 * start or end beyond the int64 range.
 */

static int
gw_window_starts(gw_window_t *w, int64_t time, int64_t *starts, char *err,
    size_t errlen)
{
    int      n;
    int64_t  s, e, hop, size, rem;

    hop = w->conf.hop;
    size = w->conf.size;

    rem = time % hop;
    if (rem < 0) {
        rem += hop;
    }

    n = 0;

    if (__builtin_sub_overflow(time, rem, &s)) {
        goto range;
    }

    for ( ;; ) {
        if (__builtin_add_overflow(s, size, &e)) {
            goto range;
        }

        if (e <= time) {
            break;
        }

        starts[n++] = s;

        if (__builtin_sub_overflow(s, hop, &s)) {
            if (!__builtin_sub_overflow(e, hop, &e) && e > time) {
                goto range;
            }

            break;
        }
    }

    return n;

range:

    snprintf(err, errlen, "time %lld: a window would lie beyond the range "
             "of times", (long long) time);
    return -1;
}


static gw_window_rc_e
gw_window_add_fixed(gw_window_t *w, const unsigned char *key, size_t klen,
    int64_t time, json_t *rec, char *err, size_t errlen)
{
    int                n, i, nopen, nnew, filled;
    int64_t            wm, max, starts[GW_WINDOW_HOPS_MAX];
    json_t           **reduced;
    uint64_t           hash;
    gw_window_rc_e     rc;
    gw_window_val_t    vals[GW_WINDOW_AGGS_MAX];
    gw_window_acc_t   *accs[GW_WINDOW_HOPS_MAX];
    gw_window_node_t  *node;

    n = gw_window_starts(w, time, starts, err, errlen);
    if (n < 0) {
        return GW_WINDOW_FAILED;
    }

    max = (w->started && w->max > time) ? w->max : time;
    wm = gw_window_wm(max, w->conf.lateness);

    nopen = 0;

    for (i = 0; i < n; i++) {
        if (starts[i] + w->conf.size > wm) {
            starts[nopen++] = starts[i];
        }
    }

    if (nopen == 0) {
        return GW_WINDOW_LATE;
    }

    if (gw_window_vals_get(w, rec, vals, err, errlen) != 0) {
        return GW_WINDOW_FAILED;
    }

    nnew = 0;
    filled = 0;
    rc = GW_WINDOW_FAILED;
    reduced = NULL;

    for (i = 0; i < nopen; i++) {
        hash = gw_window_hash_key(w->seed, key, klen, starts[i]);
        node = gw_window_hash_find(&w->accs, hash, key, klen, starts[i]);

        if (node != NULL) {
            accs[filled++] = (gw_window_acc_t *) node;
            continue;
        }

        if (w->nheap + nnew >= GW_WINDOW_KEYS_MAX) {
            snprintf(err, errlen, "%d open windows, the most there may be",
                     GW_WINDOW_KEYS_MAX);
            goto failed;
        }

        accs[i] = gw_window_acc_new(w, key, klen, starts[i],
                                    starts[i] + w->conf.size);
        if (accs[i] == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = GW_WINDOW_ERROR;
            goto failed;
        }

        filled++;
        accs[i]->node.hash = hash;
        nnew++;
    }

    rc = gw_window_check_all(w, accs, nopen, vals, rec, &reduced, err,
                             errlen);
    if (rc != GW_WINDOW_ADDED) {
        goto failed;
    }

    for (i = 0; i < nopen; i++) {
        if (accs[i]->heap == SIZE_MAX) {
            if (gw_window_acc_link(w, accs[i], NULL, NULL) != 0) {
                goto error;
            }
        }

        if (gw_window_agg_apply(w, accs[i], vals,
                                reduced ? &reduced[i * w->conf.naggs] : NULL)
            != 0)
        {
            goto error;
        }
    }

    free(reduced);
    gw_window_vals_free(w, vals);

    return GW_WINDOW_ADDED;

error:

    /* the accumulators not yet linked are freed below */
    snprintf(err, errlen, "out of memory");
    rc = GW_WINDOW_ERROR;

failed:

    for (i = 0; i < filled; i++) {
        if (accs[i]->heap == SIZE_MAX) {
            gw_window_acc_free(w, accs[i]);
        }
    }

    if (reduced != NULL) {
        gw_window_reduced_free(w, reduced, nopen);
    }

    gw_window_vals_free(w, vals);

    return rc;
}


static gw_window_rc_e
gw_window_check_all(gw_window_t *w, gw_window_acc_t **accs, size_t n,
    gw_window_val_t *vals, json_t *rec, json_t ***reduced, char *err,
    size_t errlen)
{
    size_t   i, k, nred;
    json_t  **red;

    nred = 0;

    for (k = 0; k < w->conf.naggs; k++) {
        if (w->conf.aggs[k].op == GW_WINDOW_REDUCE) {
            nred++;
        }
    }

    red = NULL;

    if (nred > 0) {
        red = calloc(n * w->conf.naggs, sizeof(json_t *));
        if (red == NULL) {
            snprintf(err, errlen, "out of memory");
            return GW_WINDOW_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        if (gw_window_agg_check(w, accs[i], vals, rec,
                                red ? &red[i * w->conf.naggs] : NULL,
                                err, errlen)
            != 0)
        {
            if (red != NULL) {
                gw_window_reduced_free(w, red, n);
            }

            return GW_WINDOW_FAILED;
        }
    }

    *reduced = red;

    return GW_WINDOW_ADDED;
}


static void
gw_window_reduced_free(gw_window_t *w, json_t **reduced, size_t n)
{
    size_t  i;

    for (i = 0; i < n * w->conf.naggs; i++) {
        json_decref(reduced[i]);
    }

    free(reduced);
}


static gw_window_rc_e
gw_window_add_session(gw_window_t *w, const unsigned char *key, size_t klen,
    int64_t time, json_t *rec, char *err, size_t errlen)
{
    size_t             n;
    int64_t            wm, max, end, start;
    gw_window_rc_e     rc;
    gw_window_val_t    vals[GW_WINDOW_AGGS_MAX];
    gw_window_acc_t   *s, *first, *last, *acc, *next, *after;
    gw_window_kent_t  *kent;
    gw_window_node_t  *node;

    if (__builtin_add_overflow(time, w->conf.gap, &end)) {
        snprintf(err, errlen, "time %lld: the session would end beyond the "
                 "range of times", (long long) time);
        return GW_WINDOW_FAILED;
    }

    max = (w->started && w->max > time) ? w->max : time;
    wm = gw_window_wm(max, w->conf.lateness);

    if (end <= wm) {
        return GW_WINDOW_LATE;
    }

    node = gw_window_hash_find(&w->kents,
                               gw_window_hash_key(w->seed, key, klen, 0),
                               key, klen, 0);
    kent = (gw_window_kent_t *) node;

    first = NULL;
    last = NULL;
    after = NULL;
    n = 0;
    start = time;

    if (kent != NULL) {
        if (kent->tomb && time < kent->closed) {
            return GW_WINDOW_LATE;
        }

        /*
         * From the latest session back: only those ending after the
         * record's time can be closed-but-near or overlap it, and in
         * order the record comes near the latest, so this is O(1) then.
         */

        for (s = kent->last; s != NULL && s->end > time; s = s->prev) {
            if (s->end <= wm) {
                return GW_WINDOW_LATE;
            }

            if (s->node.start < end) {
                if (last == NULL) {
                    last = s;
                }

                first = s;
                n++;
            }
        }

        after = s;

    } else if (w->kents.n >= GW_WINDOW_KEYS_MAX) {
        snprintf(err, errlen, "%d keys, the most there may be",
                 GW_WINDOW_KEYS_MAX);
        return GW_WINDOW_FAILED;
    }

    if (n == 0 && w->nheap >= GW_WINDOW_KEYS_MAX) {
        snprintf(err, errlen, "%d open windows, the most there may be",
                 GW_WINDOW_KEYS_MAX);
        return GW_WINDOW_FAILED;
    }

    if (gw_window_vals_get(w, rec, vals, err, errlen) != 0) {
        return GW_WINDOW_FAILED;
    }

    if (n == 1) {
        acc = first;

    } else {
        if (n > 0) {
            start = (first->node.start < time) ? first->node.start : time;
            end = (last->end > end) ? last->end : end;
        }

        acc = gw_window_acc_new(w, key, klen, start, end);
        if (acc == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = GW_WINDOW_ERROR;
            goto failed;
        }

        for (s = first; n > 0; s = s->next) {
            if (gw_window_agg_merge(w, acc, s, err, errlen) != 0) {
                rc = GW_WINDOW_FAILED;
                goto failed_acc;
            }

            if (s == last) {
                break;
            }
        }
    }

    if (gw_window_agg_check(w, acc, vals, rec, NULL, err, errlen) != 0) {
        rc = GW_WINDOW_FAILED;
        goto failed_acc;
    }

    if (kent == NULL) {
        kent = gw_window_kent_get(w, key, klen);
        if (kent == NULL) {
            goto nomem;
        }
    }

    if (n == 1) {
        if (time < acc->node.start) {
            acc->node.start = time;
        }

        if (end > acc->end) {
            acc->end = end;
        }

        gw_window_heap_fix(w, acc);

    } else {
        if (n > 0) {
            after = first->prev;

            for (s = first; s != NULL; s = next) {
                next = (s == last) ? NULL : s->next;
                gw_window_acc_unlink(w, s);
                gw_window_acc_free(w, s);
            }
        }

        acc->node.key = kent->node.key;

        if (gw_window_acc_link(w, acc, kent, after) != 0) {
            gw_window_acc_free(w, acc);
            goto nomem;
        }
    }

    if (gw_window_agg_apply(w, acc, vals, NULL) != 0) {
        goto nomem;
    }

    gw_window_vals_free(w, vals);

    return GW_WINDOW_ADDED;

nomem:

    snprintf(err, errlen, "out of memory");
    gw_window_vals_free(w, vals);

    return GW_WINDOW_ERROR;

failed_acc:

    if (acc != first) {
        gw_window_acc_free(w, acc);
    }

failed:

    gw_window_vals_free(w, vals);

    return rc;
}


/*
 * A new accumulator, linked nowhere; a tumbling or hopping one holds a
 * copy of the key, a session's points to the key's entry once linked.
 */

gw_window_acc_t *
gw_window_acc_new(gw_window_t *w, const unsigned char *key, size_t klen,
    int64_t start, int64_t end)
{
    size_t            size;
    gw_window_acc_t  *acc;

    size = sizeof(gw_window_acc_t) + w->conf.naggs * sizeof(gw_window_st_t);

    acc = calloc(1, size + klen + 1);
    if (acc == NULL) {
        return NULL;
    }

    acc->node.key = (unsigned char *) acc + size;
    if (klen > 0) {
        memcpy(acc->node.key, key, klen);
    }

    acc->node.klen = klen;
    acc->node.start = start;
    acc->end = end;
    acc->heap = SIZE_MAX;

    return acc;
}


static void
gw_window_acc_free(gw_window_t *w, gw_window_acc_t *acc)
{
    gw_window_agg_free(w, acc);
    free(acc);
}


/*
 * Links a new accumulator: a session's into its key's list after "after"
 * (NULL: first), the others into the hash table; then into the heap.
 */

int
gw_window_acc_link(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_kent_t *kent, gw_window_acc_t *after)
{
    if (kent == NULL) {
        if (gw_window_hash_insert(&w->accs, &acc->node) != 0) {
            return -1;
        }

    } else {
        acc->kent = kent;
        acc->node.key = kent->node.key;
        acc->prev = after;
        acc->next = (after != NULL) ? after->next : kent->first;

        if (acc->next != NULL) {
            acc->next->prev = acc;

        } else {
            kent->last = acc;
        }

        if (after != NULL) {
            after->next = acc;

        } else {
            kent->first = acc;
        }
    }

    if (gw_window_heap_push(w, acc) != 0) {
        gw_window_acc_unlink(w, acc);
        return -1;
    }

    return 0;
}


static void
gw_window_acc_unlink(gw_window_t *w, gw_window_acc_t *acc)
{
    gw_window_kent_t  *kent;

    if (acc->heap != SIZE_MAX) {
        gw_window_heap_remove(w, acc);
        acc->heap = SIZE_MAX;
    }

    kent = acc->kent;

    if (kent == NULL) {
        gw_window_hash_remove(&w->accs, &acc->node);
        return;
    }

    if (acc->prev != NULL) {
        acc->prev->next = acc->next;

    } else {
        kent->first = acc->next;
    }

    if (acc->next != NULL) {
        acc->next->prev = acc->prev;

    } else {
        kent->last = acc->prev;
    }

    acc->kent = NULL;
}


/* the key's entry, made when there is none (NULL: out of memory) */

gw_window_kent_t *
gw_window_kent_get(gw_window_t *w, const unsigned char *key, size_t klen)
{
    uint64_t           hash;
    gw_window_kent_t  *kent;

    hash = gw_window_hash_key(w->seed, key, klen, 0);

    kent = (gw_window_kent_t *) gw_window_hash_find(&w->kents, hash, key,
                                                    klen, 0);
    if (kent != NULL) {
        return kent;
    }

    kent = calloc(1, sizeof(gw_window_kent_t) + klen + 1);
    if (kent == NULL) {
        return NULL;
    }

    kent->node.key = (unsigned char *) (kent + 1);
    if (klen > 0) {
        memcpy(kent->node.key, key, klen);
    }

    kent->node.klen = klen;
    kent->node.hash = hash;

    if (gw_window_hash_insert(&w->kents, &kent->node) != 0) {
        free(kent);
        return NULL;
    }

    return kent;
}


/* records that the key's last closed session ended at end */

int
gw_window_tomb_set(gw_window_t *w, gw_window_kent_t *kent, int64_t end)
{
    if (w->ttail != NULL && w->ttail != kent && w->ttail->closed > end) {
        return -1;
    }

    if (kent->tomb) {
        gw_window_tomb_unlink(w, kent);
    }

    kent->closed = end;
    kent->tomb = 1;
    kent->tprev = w->ttail;
    kent->tnext = NULL;

    if (w->ttail != NULL) {
        w->ttail->tnext = kent;

    } else {
        w->thead = kent;
    }

    w->ttail = kent;

    return 0;
}


static void
gw_window_tomb_unlink(gw_window_t *w, gw_window_kent_t *kent)
{
    if (kent->tprev != NULL) {
        kent->tprev->tnext = kent->tnext;

    } else {
        w->thead = kent->tnext;
    }

    if (kent->tnext != NULL) {
        kent->tnext->tprev = kent->tprev;

    } else {
        w->ttail = kent->tprev;
    }

    kent->tprev = NULL;
    kent->tnext = NULL;
    kent->tomb = 0;
}


static void
gw_window_kent_free(gw_window_t *w, gw_window_kent_t *kent)
{
    if (kent->tomb) {
        gw_window_tomb_unlink(w, kent);
    }

    gw_window_hash_remove(&w->kents, &kent->node);
    free(kent);
}


int
gw_window_flush(gw_window_t *w, json_t *out)
{
    int64_t            wm, until;
    json_t            *res;
    gw_window_acc_t   *acc;
    gw_window_kent_t  *kent;

    wm = gw_window_watermark(w);

    while (w->nheap > 0 && w->heap[0]->end <= wm) {
        acc = w->heap[0];

        res = gw_window_agg_result(w, acc);
        if (res == NULL || json_array_append_new(out, res) != 0) {
            return -1;
        }

        kent = acc->kent;
        gw_window_acc_unlink(w, acc);

        if (kent != NULL) {
            (void) gw_window_tomb_set(w, kent, acc->end);
        }

        gw_window_acc_free(w, acc);
    }

    while (w->thead != NULL) {
        kent = w->thead;

        if (__builtin_add_overflow(kent->closed, w->conf.gap, &until)
            || until > wm)
        {
            break;
        }

        gw_window_tomb_unlink(w, kent);

        if (kent->first == NULL) {
            gw_window_kent_free(w, kent);
        }
    }

    return 0;
}


void
gw_window_free(gw_window_t *w)
{
    size_t             i;
    gw_window_node_t  *node, *next;

    if (w == NULL) {
        return;
    }

    for (i = 0; i < w->nheap; i++) {
        gw_window_acc_free(w, w->heap[i]);
    }

    for (i = 0; i < w->kents.size; i++) {
        for (node = w->kents.buckets[i]; node != NULL; node = next) {
            next = node->next;
            free(node);
        }
    }

    free(w->accs.buckets);
    free(w->kents.buckets);
    free(w->heap);
    free(w);
}
