
/*
 * Copyright (C) Tollgate
 *
 * Session windows (gw_window.h): per key, records less than gap apart
 * form one session [first, last + gap).
 *
 * Sessions are the gap-clusters of the records accepted for a key: a
 * record within gap of a closed session would change a result already
 * out, so it is late too.  Only the last closed session of a key can be
 * within gap of a record that is not late by its own time (two sessions
 * of a key lie at least gap apart), so the key keeps that session's end
 * ("closed") until the watermark has passed it by gap; those ends are
 * queued in the order they closed, which is the order of their ends.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window_int.h"


static void gw_window_tomb_unlink(gw_window_t *w, gw_window_kent_t *kent);
static void gw_window_kent_free(gw_window_t *w, gw_window_kent_t *kent);


gw_window_rc_e
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


/* forgets the closed ends that no record can come within gap of now */

void
gw_window_tomb_expire(gw_window_t *w, int64_t wm)
{
    int64_t            until;
    gw_window_kent_t  *kent;

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
}
