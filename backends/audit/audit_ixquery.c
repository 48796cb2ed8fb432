
/*
 * Copyright (C) Tollgate
 *
 * A filtered query's candidates, from the indexes (audit_index.c): the
 * records, in index order from a start, that hold every key asked for
 * and whose block of AUDIT_MARK records spans the time range asked for,
 * plus every record that was not JSON when indexed (it matches every
 * filter).  Per segment, each key's postings are walked by an iterator
 * with seek (a binary search in the file, 256 entries read at a time),
 * and the iterators leapfrog: each one seeks to the largest current
 * record until all agree.  The caller reads each candidate and checks
 * it against the filters, so hash collisions and block spans never make
 * a record match that does not.
 */


#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_svc.h"


static int audit_pit_at(audit_pit_t *it, uint64_t i, uint32_t *rel);
static int audit_pit_seek(audit_pit_t *it, uint32_t t, uint32_t *rel);
static int audit_ixq_lower(audit_ixq_t *q, const audit_ixseg_t *ix,
    uint64_t key, uint64_t *out);
static int audit_ixq_segment(audit_ixq_t *q);
static int audit_ixq_zone(audit_ixq_t *q, uint64_t *t);


/* entry i's record (first-relative) */

static int
audit_pit_at(audit_pit_t *it, uint64_t i, uint32_t *rel)
{
    size_t   n, k;
    ssize_t  got;

    if (it->fd == -1) {
        *rel = it->mem[i];
        return 0;
    }

    if (i < it->bstart || i >= it->bstart + it->blen) {
        n = it->hi - i < AUDIT_IX_BLOCK ? it->hi - i : AUDIT_IX_BLOCK;
        got = pread(it->fd, it->buf, n * AUDIT_IX_ENT,
                    it->off + (off_t) (i * AUDIT_IX_ENT));
        if (got != (ssize_t) (n * AUDIT_IX_ENT)) {
            return -1;
        }
        for (k = 0; k < n; k++) {
            it->brel[k] = audit_get32(it->buf + k * AUDIT_IX_ENT + 8);
        }
        it->bstart = i;
        it->blen = n;
    }

    *rel = it->brel[i - it->bstart];

    return 0;
}


/*
 * Moves to the first posting >= t: 1 with *rel, 0 past the last, -1 on
 * a read error.  Within the buffer by a scan, beyond it by a binary
 * search that reads single entries.
 */

static int
audit_pit_seek(audit_pit_t *it, uint32_t t, uint32_t *rel)
{
    uint32_t  v;
    uint64_t  lo, hi, mid;

    if (it->pos >= it->hi) {
        return 0;
    }

    if (audit_pit_at(it, it->pos, &v) != 0) {
        return -1;
    }

    if (v >= t) {
        *rel = v;
        return 1;
    }

    lo = it->pos + 1;
    hi = it->hi;

    if (it->fd != -1 && lo < it->bstart + it->blen) {
        /* the answer may well be in the buffer: look there first */
        if (it->brel[it->blen - 1] >= t) {
            hi = it->bstart + it->blen;
        } else {
            lo = it->bstart + it->blen;
        }
    }

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (it->fd == -1) {
            v = it->mem[mid];

        } else {
            if (mid >= it->bstart && mid < it->bstart + it->blen) {
                v = it->brel[mid - it->bstart];
            } else {
                unsigned char  e[AUDIT_IX_ENT];

                if (pread(it->fd, e, AUDIT_IX_ENT,
                          it->off + (off_t) (mid * AUDIT_IX_ENT))
                    != AUDIT_IX_ENT)
                {
                    return -1;
                }
                v = audit_get32(e + 8);
            }
        }

        if (v < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }

    it->pos = lo;

    if (lo >= it->hi) {
        return 0;
    }

    return audit_pit_at(it, lo, rel) == 0 ? 1 : -1;
}


/* the first entry of a sealed segment's index whose key is >= key */

static int
audit_ixq_lower(audit_ixq_t *q, const audit_ixseg_t *ix, uint64_t key,
    uint64_t *out)
{
    size_t          n, k;
    uint64_t        lo, hi, mid, b;
    unsigned char  *buf;

    /* b: how many blocks start below key; the answer is in block b - 1
     * or is the first entry of block b */

    lo = 0;
    hi = ix->nfence;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (ix->fence[mid] < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }

    b = lo;

    if (b == 0) {
        *out = 0;
        return 0;
    }

    b--;
    n = ix->nent - b * AUDIT_IX_BLOCK;
    n = n < AUDIT_IX_BLOCK ? n : AUDIT_IX_BLOCK;
    buf = q->pit[0].buf;

    if (pread(q->fd, buf, n * AUDIT_IX_ENT,
              ix->ent_off + (off_t) (b * AUDIT_IX_BLOCK * AUDIT_IX_ENT))
        != (ssize_t) (n * AUDIT_IX_ENT))
    {
        return -1;
    }

    for (k = 0; k < n; k++) {
        if (audit_get64(buf + k * AUDIT_IX_ENT) >= key) {
            break;
        }
    }

    *out = b * AUDIT_IX_BLOCK + k;

    return 0;
}


/* sets the iterators up for segment q->seg */

static int
audit_ixq_segment(audit_ixq_t *q)
{
    char                  path[1100];
    unsigned              i, j;
    uint64_t              lo, hi;
    audit_seg_t          *seg;
    audit_pit_t          *it;
    audit_store_t        *st;
    const audit_memix_t  *m;
    const audit_mpost_t  *mp;

    st = q->st;
    seg = &st->segs[q->seg];

    if (q->fd != -1) {
        close(q->fd);
        q->fd = -1;
    }

    q->empty = 0;
    q->bpos = 0;

    if (seg->ix == NULL) {
        /* the open segment, or a sealed one whose file is being
         * written: its index is in memory */
        m = (seg->mix != NULL) ? seg->mix : &st->mem;
        q->zones = m->zones;
        q->nzones = m->nzones;
        q->bad = m->bad;
        q->nbad = m->nbad;

        for (i = 0; i < q->nkeys; i++) {
            it = &q->pit[i];
            it->fd = -1;
            mp = audit_memix_find(m, q->keys[i]);
            it->mem = (mp != NULL) ? mp->rel : NULL;
            it->pos = 0;
            it->hi = (mp != NULL) ? mp->n : 0;
            q->empty |= (it->hi == 0);
        }

        return 0;
    }

    q->zones = seg->ix->zones;
    q->nzones = seg->nmarks;
    q->bad = seg->ix->bad;
    q->nbad = seg->ix->nbad;

    if (q->nkeys == 0) {
        return 0;
    }

    /* a key, or two keys together in one record, that the segment's
     * bloom filter has not seen: nothing to read */

    for (i = 0; i < q->nkeys; i++) {
        for (j = i; j < q->nkeys; j++) {
            if (!audit_index_bloom_has(seg->ix, i == j ? q->keys[i]
                                       : audit_index_pair(q->keys[i],
                                                          q->keys[j])))
            {
                q->empty = 1;
                q->skipped++;
                return 0;
            }
        }
    }

    snprintf(path, sizeof(path), "%s/idx-%020llu", st->dir,
             (unsigned long long) seg->first);

    q->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (q->fd == -1) {
        audit_err(st, "%s: %s", path, strerror(errno));
        return -1;
    }

    for (i = 0; i < q->nkeys; i++) {
        if (audit_ixq_lower(q, seg->ix, q->keys[i], &lo) != 0
            || audit_ixq_lower(q, seg->ix, q->keys[i] + 1, &hi) != 0)
        {
            audit_err(st, "%s: %s", path, strerror(errno));
            return -1;
        }

        it = &q->pit[i];
        it->fd = q->fd;
        it->off = seg->ix->ent_off;
        it->pos = lo;
        it->hi = hi;
        it->bstart = 0;
        it->blen = 0;
        q->empty |= (lo == hi);
    }

    return 0;
}


/* moves *t to the first record at or after it in a block that spans the
 * time range: 1, or 0 when there is none in the segment */

static int
audit_ixq_zone(audit_ixq_t *q, uint64_t *t)
{
    size_t               z;
    const audit_zone_t  *zn;

    for (z = *t / AUDIT_MARK; z < q->nzones; z++) {
        zn = &q->zones[z];
        if (zn->min <= zn->max && zn->max >= q->from && zn->min < q->to) {
            if (z * AUDIT_MARK > *t) {
                *t = z * AUDIT_MARK;
            }
            return 1;
        }
    }

    return 0;
}


void
audit_ixq_init(audit_ixq_t *q, audit_store_t *st, uint64_t start)
{
    memset(q, 0, sizeof(audit_ixq_t));
    q->st = st;
    q->fd = -1;
    q->next = start;
    q->end = st->durable;
    q->from = -INFINITY;
    q->to = INFINITY;
    q->seg = (size_t) -1;
}


int
audit_ixq_next(audit_ixq_t *q, uint64_t *seq)
{
    int            rc;
    size_t         lo, hi, mid;
    unsigned       i, agree;
    uint32_t       v;
    uint64_t       t, cand, bad, count, first;
    audit_store_t *st;

    st = q->st;

    while (q->next < q->end) {

        /* the segment of q->next */
        lo = 0;
        hi = st->nsegs;
        while (hi - lo > 1) {
            mid = (lo + hi) / 2;
            if (st->segs[mid].first <= q->next) {
                lo = mid;
            } else {
                hi = mid;
            }
        }

        if (lo != q->seg) {
            q->seg = lo;
            if (audit_ixq_segment(q) != 0) {
                return -1;
            }
        }

        first = st->segs[lo].first;
        count = st->segs[lo].count;
        if (first + count > q->end) {
            count = q->end - first;
        }

        /* the leapfrog: t only grows until every iterator and the time
         * blocks agree on it */

        t = q->next - first;
        cand = UINT64_MAX;

        if (!q->empty) {
            for ( ;; ) {
                if (t >= count || (q->timed && !audit_ixq_zone(q, &t))
                    || t >= count)
                {
                    break;
                }

                agree = 1;

                for (i = 0; i < q->nkeys; i++) {
                    rc = audit_pit_seek(&q->pit[i], (uint32_t) t, &v);
                    if (rc < 0) {
                        audit_err(st, "index: %s", strerror(errno));
                        return -1;
                    }
                    if (rc == 0) {
                        agree = 0;
                        t = count;
                        break;
                    }
                    if (v > t) {
                        t = v;
                        agree = 0;
                        break;
                    }
                }

                if (agree) {
                    cand = t;
                    break;
                }
            }
        }

        /* records that were not JSON when indexed match every filter */
        bad = UINT64_MAX;
        while (q->bpos < q->nbad && q->bad[q->bpos] < q->next) {
            q->bpos++;
        }
        if (q->bpos < q->nbad && q->bad[q->bpos] < first + count) {
            bad = q->bad[q->bpos] - first;
        }

        if (bad < cand) {
            cand = bad;
        }

        if (cand != UINT64_MAX) {
            *seq = first + cand;
            q->next = *seq + 1;
            return 1;
        }

        q->next = first + st->segs[lo].count;
    }

    return 0;
}


void
audit_ixq_close(audit_ixq_t *q)
{
    if (q->fd != -1) {
        close(q->fd);
    }

    q->fd = -1;
}
