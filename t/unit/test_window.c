
/*
 * Copyright (C) Tollgate
 *
 * Windows on event time (lib/window) against a reference computed here by
 * brute force.  For each seed a random stream (a few keys, among them the
 * empty key and a binary one; times that repeat, go back, and now and
 * then come very late; negative times; records without their number;
 * records the reducer refuses) goes through a window set record by
 * record, flushed at random points, and again through sets saved to
 * text and loaded back at random points.  The reference knows nothing of
 * the library: it replays the watermark rule on the arrival order to
 * tell late records (a tumbling or hopping window's starts by trying
 * every time before the record's; a session's by clustering again, at
 * every record, the accepted records of its key), then enumerates every
 * window of the accepted records and computes each aggregate from its
 * members, distinct values by a class number given with each value (1
 * and 1.0 are one class, as are two objects that differ in the order of
 * their members).  Each record's answer, every result and their order
 * must match, and the split runs must give the unsplit run's results.
 * Then the edges: bounds of the int64 times, the caps, session merges,
 * hops that do not divide the size, the parser's and the loader's errors.
 */


#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window.h"
#include "tap.h"


#define SEEDS    150
#define RMAX     400
#define ERRLEN   256


typedef struct {
    const char  *text;
    int          cls;
} tag_t;


typedef struct {
    int          key;
    int64_t      t;
    int          amount;
    int          has_amount;
    int          tag;
    int          fail;
    json_t      *rec;
} rec_t;


typedef struct {
    int          key;
    int64_t      start;
    int64_t      end;
    long long    n;
    double       sum;
    double       min;
    double       max;
    long long    distinct;
    long long    reduced;
} ref_res_t;


static const struct {
    const char  *bytes;
    size_t       len;
} keys[] = {
    { "", 0 },
    { "a", 1 },
    { "b", 1 },
    { "\0\xff\x80", 3 },
    { "k\xc3\xa9", 3 },
    { "ab", 2 }
};

#define NKEYS  (sizeof(keys) / sizeof(keys[0]))


static const tag_t  tags[] = {
    { "1", 0 }, { "1.0", 0 }, { "1e0", 0 }, { "2", 1 }, { "\"x\"", 2 },
    { "{\"a\":1,\"b\":2}", 3 }, { "{\"b\":2,\"a\":1.0}", 3 },
    { "[1,2]", 4 }, { "null", 5 }, { "true", 6 }, { "\"1\"", 7 },
    { "\"\\u0078\"", 2 }
};

#define NTAGS  (sizeof(tags) / sizeof(tags[0]))


static uint64_t  rng;
static rec_t     recs[RMAX];
static int       nrecs;
static int       rcs[RMAX];         /* the reference's answers */
static int64_t   wstarts[RMAX][32];  /* the windows a record went into */
static int       nwstarts[RMAX];


static uint64_t
rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;

    return rng * 2685821657736338717ULL;
}


static int
rnd_n(int n)
{
    return (int) (rnd() % (uint64_t) n);
}


static json_t *
reducer(void *data, json_t *acc, json_t *rec, char *err, size_t errlen)
{
    long long  h;

    if (json_is_true(json_object_get(rec, "fail"))) {
        snprintf(err, errlen, "the reducer refused");
        return NULL;
    }

    h = json_is_integer(acc) ? json_integer_value(acc) : 7;
    h = (h * 31 + json_integer_value(json_object_get(rec, "amount")) + 100)
        % 1000003;

    return json_integer(h);
}


static void
make_stream(void)
{
    int      i, j, k, nk, late, base;
    rec_t    tmp;
    int64_t  cur;

    nrecs = 20 + rnd_n(RMAX - 20);
    nk = 1 + rnd_n(NKEYS);
    base = rnd_n(3) == 0 ? -60 : 0;
    cur = base;
    late = 5 + rnd_n(60);

    for (i = 0; i < nrecs; i++) {
        cur += rnd_n(4);

        recs[i].key = rnd_n(nk);
        recs[i].t = cur - rnd_n(5);

        if (rnd_n(12) == 0) {
            recs[i].t = cur - rnd_n(late);
        }

        recs[i].amount = rnd_n(101) - 50;
        recs[i].has_amount = rnd_n(30) != 0;
        recs[i].tag = rnd_n(NTAGS);
        recs[i].fail = rnd_n(40) == 0;
    }

    /* some swaps further apart */

    for (i = 0; i < nrecs / 10; i++) {
        j = rnd_n(nrecs);
        k = j + rnd_n(20);
        k = (k < nrecs) ? k : nrecs - 1;
        tmp = recs[j];
        recs[j] = recs[k];
        recs[k] = tmp;
    }

    for (i = 0; i < nrecs; i++) {
        recs[i].rec = json_object();
        json_object_set_new(recs[i].rec, "tag",
                            json_loads(tags[recs[i].tag].text,
                                       JSON_DECODE_ANY, NULL));
        if (recs[i].has_amount) {
            json_object_set_new(recs[i].rec, "amount",
                                json_integer(recs[i].amount));
        }

        if (recs[i].fail) {
            json_object_set_new(recs[i].rec, "fail", json_true());
        }
    }
}


static void
free_stream(void)
{
    int  i;

    for (i = 0; i < nrecs; i++) {
        json_decref(recs[i].rec);
    }
}


static int64_t
wm_of(int64_t max, int64_t lateness)
{
    return max - lateness;      /* the random streams stay far from bounds */
}


/* the reference's session clusters of key k over accepted records < upto */

static int
clusters(const gw_window_conf_t *conf, int k, int upto, int64_t *cs,
    int64_t *ce)
{
    int      i, j, n, m, idx[RMAX], tmp;

    m = 0;

    for (i = 0; i < upto; i++) {
        if (rcs[i] == GW_WINDOW_ADDED && recs[i].key == k) {
            idx[m++] = i;
        }
    }

    for (i = 1; i < m; i++) {
        for (j = i; j > 0 && recs[idx[j - 1]].t > recs[idx[j]].t; j--) {
            tmp = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = tmp;
        }
    }

    n = 0;

    for (i = 0; i < m; i++) {
        if (n > 0 && recs[idx[i]].t < ce[n - 1]) {
            ce[n - 1] = recs[idx[i]].t + conf->gap;
            continue;
        }

        cs[n] = recs[idx[i]].t;
        ce[n] = recs[idx[i]].t + conf->gap;
        n++;
    }

    return n;
}


static int
has_reduce(const gw_window_conf_t *conf)
{
    size_t  k;

    for (k = 0; k < conf->naggs; k++) {
        if (conf->aggs[k].op == GW_WINDOW_REDUCE) {
            return 1;
        }
    }

    return 0;
}


/* the answers: replays the watermark on the arrival order */

static int64_t
ref_replay(const gw_window_conf_t *conf)
{
    int      i, c, n, started, late;
    int64_t  max, wm, s, hop, cs[RMAX], ce[RMAX];

    started = 0;
    max = 0;
    hop = (conf->kind == GW_WINDOW_TUMBLING) ? conf->size : conf->hop;

    for (i = 0; i < nrecs; i++) {
        wm = wm_of((started && max > recs[i].t) ? max : recs[i].t,
                   conf->lateness);
        nwstarts[i] = 0;

        if (conf->kind == GW_WINDOW_SESSION) {
            late = (recs[i].t + conf->gap <= wm);
            n = clusters(conf, recs[i].key, i, cs, ce);

            for (c = 0; c < n; c++) {
                if (ce[c] <= wm && ce[c] > recs[i].t) {
                    late = 1;
                }
            }

        } else {
            for (s = recs[i].t - conf->size + 1; s <= recs[i].t; s++) {
                if (((s % hop) + hop) % hop == 0 && s + conf->size > wm) {
                    wstarts[i][nwstarts[i]++] = s;
                }
            }

            late = (nwstarts[i] == 0);
        }

        if (late) {
            rcs[i] = GW_WINDOW_LATE;

        } else if (!recs[i].has_amount) {
            rcs[i] = GW_WINDOW_FAILED;

        } else if (recs[i].fail && has_reduce(conf)) {
            rcs[i] = GW_WINDOW_FAILED;

        } else {
            rcs[i] = GW_WINDOW_ADDED;

            if (!started || recs[i].t > max) {
                max = recs[i].t;
                started = 1;
            }
        }
    }

    return started ? wm_of(max, conf->lateness) : INT64_MIN;
}


static void
ref_add(ref_res_t *r, int i, int *seen)
{
    double  a;

    a = recs[i].amount;

    if (r->n == 0 || a < r->min) {
        r->min = a;
    }

    if (r->n == 0 || a > r->max) {
        r->max = a;
    }

    r->n++;
    r->sum += a;

    if (!seen[tags[recs[i].tag].cls]) {
        seen[tags[recs[i].tag].cls] = 1;
        r->distinct++;
    }

    r->reduced = ((r->n == 1 ? 7 : r->reduced) * 31 + recs[i].amount + 100)
                 % 1000003;
}


static int
ref_cmp(const void *pa, const void *pb)
{
    int               rc;
    size_t            la, lb;
    const ref_res_t  *a, *b;

    a = pa;
    b = pb;

    if (a->end != b->end) {
        return a->end < b->end ? -1 : 1;
    }

    if (a->start != b->start) {
        return a->start < b->start ? -1 : 1;
    }

    la = keys[a->key].len;
    lb = keys[b->key].len;
    rc = memcmp(keys[a->key].bytes, keys[b->key].bytes, la < lb ? la : lb);

    if (rc != 0) {
        return rc;
    }

    return (la < lb) ? -1 : (la > lb);
}


/* every window closed at the final watermark, in the results' order */

static int
ref_results(const gw_window_conf_t *conf, int64_t wm, ref_res_t *res)
{
    int       i, j, c, k, n, nres, dup, seen[16];
    int64_t   cs[RMAX], ce[RMAX];

    nres = 0;

    for (k = 0; k < (int) NKEYS; k++) {
        if (conf->kind == GW_WINDOW_SESSION) {
            n = clusters(conf, k, nrecs, cs, ce);

            for (c = 0; c < n; c++) {
                if (ce[c] > wm) {
                    continue;
                }

                memset(&res[nres], 0, sizeof(ref_res_t));
                memset(seen, 0, sizeof(seen));
                res[nres].key = k;
                res[nres].start = cs[c];
                res[nres].end = ce[c];

                for (i = 0; i < nrecs; i++) {
                    if (rcs[i] == GW_WINDOW_ADDED && recs[i].key == k
                        && recs[i].t >= cs[c] && recs[i].t < ce[c])
                    {
                        ref_add(&res[nres], i, seen);
                    }
                }

                nres++;
            }

            continue;
        }

        for (i = 0; i < nrecs; i++) {
            if (rcs[i] != GW_WINDOW_ADDED || recs[i].key != k) {
                continue;
            }

            for (c = 0; c < nwstarts[i]; c++) {
                if (wstarts[i][c] + conf->size > wm) {
                    continue;
                }

                for (dup = 0, j = 0; j < nres; j++) {
                    if (res[j].key == k && res[j].start == wstarts[i][c]) {
                        dup = 1;
                    }
                }

                if (dup) {
                    continue;
                }

                memset(&res[nres], 0, sizeof(ref_res_t));
                memset(seen, 0, sizeof(seen));
                res[nres].key = k;
                res[nres].start = wstarts[i][c];
                res[nres].end = wstarts[i][c] + conf->size;

                for (j = i; j < nrecs; j++) {
                    if (rcs[j] != GW_WINDOW_ADDED || recs[j].key != k) {
                        continue;
                    }

                    for (n = 0; n < nwstarts[j]; n++) {
                        if (wstarts[j][n] == res[nres].start) {
                            ref_add(&res[nres], j, seen);
                        }
                    }
                }

                nres++;
            }
        }
    }

    qsort(res, nres, sizeof(ref_res_t), ref_cmp);

    return nres;
}


static int
num_is(json_t *v, double d)
{
    return json_is_number(v) && json_number_value(v) == d;
}


static int
key_is(json_t *r, int k)
{
    size_t       i;
    char         hex[16];
    json_t      *v;

    v = json_object_get(r, "key");

    if (k == 3) {
        for (i = 0; i < keys[k].len; i++) {
            snprintf(hex + 2 * i, 3, "%02x",
                     (unsigned char) keys[k].bytes[i]);
        }

        v = json_object_get(r, "key_hex");

        return v != NULL && json_object_get(r, "key") == NULL
               && strcmp(json_string_value(v), hex) == 0;
    }

    return json_is_string(v) && json_string_length(v) == keys[k].len
           && memcmp(json_string_value(v), keys[k].bytes, keys[k].len) == 0;
}


static int
result_is(const gw_window_conf_t *conf, json_t *r, ref_res_t *e)
{
    size_t  k;
    json_t  *v;
    double   want;

    if (!key_is(r, e->key) || !num_is(json_object_get(r, "start"), e->start)
        || !num_is(json_object_get(r, "end"), e->end)
        || json_object_size(r) != 3 + conf->naggs)
    {
        return 0;
    }

    for (k = 0; k < conf->naggs; k++) {
        v = json_object_get(r, conf->aggs[k].as);

        switch (conf->aggs[k].op) {
        case GW_WINDOW_COUNT: want = e->n; break;
        case GW_WINDOW_SUM: want = e->sum; break;
        case GW_WINDOW_MIN: want = e->min; break;
        case GW_WINDOW_MAX: want = e->max; break;
        case GW_WINDOW_AVG: want = e->sum / e->n; break;
        case GW_WINDOW_DISTINCT: want = e->distinct; break;
        default: want = e->reduced; break;
        }

        if (!num_is(v, want)) {
            return 0;
        }
    }

    return 1;
}


static gw_window_t *
reload(const gw_window_conf_t *conf, gw_window_t *w)
{
    char          err[ERRLEN], *text;
    json_t       *state, *back;
    gw_window_t  *w2;

    state = gw_window_save(w);
    text = json_dumps(state, JSON_COMPACT);
    back = json_loads(text, 0, NULL);

    w2 = gw_window_load(conf, back, err, sizeof(err));
    if (w2 == NULL) {
        diag("load: %s", err);
    }

    free(text);
    json_decref(state);
    json_decref(back);
    gw_window_free(w);

    return w2;
}


/*
 * Runs the stream: flushing with probability 1/pflush after a record,
 * saving and loading with 1/psplit (0: never).  Returns the results, and
 * whether every answer was the reference's in *same.
 */

static json_t *
run(const gw_window_conf_t *conf, int pflush, int psplit, int *same)
{
    int              i;
    char             err[ERRLEN];
    json_t          *out;
    gw_window_t     *w;
    gw_window_rc_e   rc;

    out = json_array();
    *same = 1;

    w = gw_window_new(conf, err, sizeof(err));
    if (w == NULL) {
        diag("new: %s", err);
        *same = 0;
        return out;
    }

    for (i = 0; i < nrecs; i++) {
        err[0] = '\0';
        rc = gw_window_add(w, keys[recs[i].key].bytes, keys[recs[i].key].len,
                           recs[i].t, recs[i].rec, err, sizeof(err));

        if ((int) rc != rcs[i]) {
            if (*same) {
                diag("record %d (t %lld): %d, the reference %d (%s)", i,
                     (long long) recs[i].t, rc, rcs[i], err);
            }

            *same = 0;
        }

        if (rc == GW_WINDOW_FAILED && err[0] == '\0') {
            *same = 0;
        }

        if (pflush && rnd_n(pflush) == 0 && gw_window_flush(w, out) != 0) {
            *same = 0;
        }

        if (psplit && rnd_n(psplit) == 0) {
            w = reload(conf, w);
            if (w == NULL) {
                *same = 0;
                return out;
            }
        }
    }

    if (gw_window_flush(w, out) != 0) {
        *same = 0;
    }

    gw_window_free(w);

    return out;
}


static void
random_conf(gw_window_conf_t *conf, int kind)
{
    memset(conf, 0, sizeof(gw_window_conf_t));

    conf->kind = kind;
    conf->size = 1 + rnd_n(30);
    conf->hop = (kind == GW_WINDOW_HOPPING) ? 1 + rnd_n(conf->size) : 0;
    conf->gap = 1 + rnd_n(15);
    conf->lateness = rnd_n(3) == 0 ? 0 : rnd_n(25);

    conf->aggs[0] = (gw_window_agg_t) { GW_WINDOW_COUNT, NULL, "n" };
    conf->aggs[1] = (gw_window_agg_t) { GW_WINDOW_SUM, "/amount", "sum" };
    conf->aggs[2] = (gw_window_agg_t) { GW_WINDOW_MIN, "/amount", "min" };
    conf->aggs[3] = (gw_window_agg_t) { GW_WINDOW_MAX, "/amount", "max" };
    conf->aggs[4] = (gw_window_agg_t) { GW_WINDOW_AVG, "/amount", "avg" };
    conf->aggs[5] = (gw_window_agg_t) { GW_WINDOW_DISTINCT, "/tag", "tags" };
    conf->naggs = 6;

    if (kind != GW_WINDOW_SESSION) {
        conf->aggs[6] = (gw_window_agg_t) { GW_WINDOW_REDUCE, NULL, "h" };
        conf->naggs = 7;
        conf->reduce = reducer;
    }
}


static void
test_random(int kind, const char *name)
{
    int               seed, i, n, same, bad_rc, bad_res, bad_split;
    long              nres, nlate, nfailed;
    json_t           *out, *out2;
    int64_t           wm;
    ref_res_t        *res;
    gw_window_conf_t  conf;

    res = malloc(RMAX * 32 * sizeof(ref_res_t));
    if (res == NULL) {
        bail_out("out of memory");
    }
    bad_rc = 0;
    bad_res = 0;
    bad_split = 0;
    nres = 0;
    nlate = 0;
    nfailed = 0;

    for (seed = 1; seed <= SEEDS; seed++) {
        rng = 0x9e3779b97f4a7c15ULL * (uint64_t) (seed + 1000 * kind);

        random_conf(&conf, kind);
        make_stream();

        wm = ref_replay(&conf);
        n = ref_results(&conf, wm, res);
        nres += n;

        for (i = 0; i < nrecs; i++) {
            nlate += (rcs[i] == GW_WINDOW_LATE);
            nfailed += (rcs[i] == GW_WINDOW_FAILED);
        }

        out = run(&conf, 1 + rnd_n(20), 0, &same);
        bad_rc += !same;

        if ((int) json_array_size(out) != n) {
            if (bad_res++ == 0) {
                diag("%s seed %d: %zu results, the reference %d", name, seed,
                     json_array_size(out), n);
            }

        } else {
            for (i = 0; i < n; i++) {
                if (!result_is(&conf, json_array_get(out, i), &res[i])) {
                    if (bad_res++ == 0) {
                        diag("%s seed %d: result %d: %s", name, seed, i,
                             json_dumps(json_array_get(out, i), 0));
                        diag("want start %lld end %lld n %lld", (long long)
                             res[i].start, (long long) res[i].end, res[i].n);
                    }

                    break;
                }
            }
        }

        out2 = run(&conf, 1 + rnd_n(20), 1 + rnd_n(30), &same);
        bad_rc += !same;

        if (!json_equal(out, out2)) {
            bad_split++;
        }

        json_decref(out);
        json_decref(out2);
        free_stream();
    }

    free(res);

    is_int(bad_rc, 0, "%s: every record's answer is the reference's, %d "
           "seeds", name, SEEDS);
    is_int(bad_res, 0, "%s: every result and its order is the reference's "
           "(%ld results; %ld records late, %ld failed)", name, nres, nlate,
           nfailed);
    is_int(bad_split, 0, "%s: saved and loaded at random points, the same "
           "results", name);
}


int
main(void)
{
    test_random(GW_WINDOW_TUMBLING, "tumbling");
    test_random(GW_WINDOW_HOPPING, "hopping");
    test_random(GW_WINDOW_SESSION, "session");

    return done_testing();
}
