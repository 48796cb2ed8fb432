
/*
 * Copyright (C) Tollgate
 *
 * A segment's index file written (docs/audit-format.md, "Indexes").
 * idx-<first> is written once from the index in memory when the segment
 * is sealed, on the background thread: the loop hands over the sealed
 * segment's index (kept for queries in seg->mix until the file is
 * durable) and a copy of what the file needs, so the writer touches no
 * store state.  At a graceful stop the open segment's index is written
 * too, as idx-<first>.open, naming the records it covers by the offset
 * and chain value of the last one; a start takes it back into memory
 * (audit_ixload.c) and indexes only the records after it.  The bloom
 * filters of the sealed segments are made and tested here.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"


typedef struct {
    int             fd;
    unsigned char  *buf;
    size_t          len;
    size_t          cap;
    uint32_t        crc;
    int             err;
} audit_ixw_t;


static int audit_mpost_cmp(const void *a, const void *b);
static void audit_ixw_put(audit_ixw_t *w, const void *p, size_t len);
static void audit_ixw_u64(audit_ixw_t *w, uint64_t v);
static void audit_ix_path(audit_store_t *st, uint64_t first, char *path,
    size_t len, const char *suffix);


/* ---- index files -------------------------------------------------------- */

static void
audit_ix_path(audit_store_t *st, uint64_t first, char *path, size_t len,
    const char *suffix)
{
    snprintf(path, len, "%s/idx-%020llu%s", st->dir,
             (unsigned long long) first, suffix);
}


static void
audit_ixw_put(audit_ixw_t *w, const void *p, size_t len)
{
    if (w->err) {
        return;
    }

    if (w->len + len > w->cap) {
        if (audit_write_all(w->fd, w->buf, w->len) != 0) {
            w->err = 1;
            return;
        }
        w->len = 0;
    }

    memcpy(w->buf + w->len, p, len);
    w->len += len;
}


static void
audit_ixw_u64(audit_ixw_t *w, uint64_t v)
{
    unsigned char  b[8];

    audit_put64(b, v);
    w->crc = audit_crc32c_update(w->crc, b, 8);
    audit_ixw_put(w, b, 8);
}


static int
audit_mpost_cmp(const void *a, const void *b)
{
    const audit_mpost_t  *x, *y;

    x = *(const audit_mpost_t *const *) a;
    y = *(const audit_mpost_t *const *) b;

    return (x->key > y->key) - (x->key < y->key);
}


static void
audit_bloom_add(unsigned char *bloom, uint64_t bytes, uint64_t key)
{
    unsigned  i;
    uint64_t  bits, h, d;

    bits = bytes * 8;
    h = key;
    d = (key >> 32) | 1;

    for (i = 0; i < 4; i++, h += d) {
        bloom[(h & (bits - 1)) >> 3] |= 1u << (h & 7);
    }
}


/* the bloom filter's key for two keys of one record, in either order */

uint64_t
audit_index_pair(uint64_t a, uint64_t b)
{
    uint64_t  h;

    if (a > b) {
        h = a;
        a = b;
        b = h;
    }

    h = a ^ (b * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h;
}


/*
 * Puts the pairs of keys of each record of m in the bloom filter: the
 * record's keys gathered from the postings first (8 bytes per key per
 * record, for the time of the write).
 */

static int
audit_bloom_pairs(const audit_memix_t *m, uint64_t count,
    unsigned char *bloom, uint64_t nb)
{
    unsigned        i, j;
    uint64_t        s, v, r, *keys;
    unsigned char  *n;

    keys = malloc((count + 1) * AUDIT_IX_FIELDS * sizeof(uint64_t));
    n = calloc(count + 1, 1);
    if (keys == NULL || n == NULL) {
        free(keys);
        free(n);
        return -1;
    }

    for (s = 0; s < m->cap; s++) {
        for (v = 0; v < m->slots[s].n; v++) {
            r = m->slots[s].rel[v];
            if (r < count && n[r] < AUDIT_IX_FIELDS) {
                keys[r * AUDIT_IX_FIELDS + n[r]++] = m->slots[s].key;
            }
        }
    }

    for (r = 0; r < count; r++) {
        for (i = 0; i < n[r]; i++) {
            for (j = i + 1; j < n[r]; j++) {
                audit_bloom_add(bloom, nb,
                    audit_index_pair(keys[r * AUDIT_IX_FIELDS + i],
                                     keys[r * AUDIT_IX_FIELDS + j]));
            }
        }
    }

    free(keys);
    free(n);

    return 0;
}


/* 0 when the segment has no record with key, 1 when it may have */

int
audit_index_bloom_has(const audit_ixseg_t *ix, uint64_t key)
{
    unsigned  i;
    uint64_t  bits, h, d;

    if (ix->nbloom == 0) {
        return 1;
    }

    bits = ix->nbloom * 8;
    h = key;
    d = (key >> 32) | 1;

    for (i = 0; i < 4; i++, h += d) {
        if (!(ix->bloom[(h & (bits - 1)) >> 3] & (1u << (h & 7)))) {
            return 0;
        }
    }

    return 1;
}


/*
 * The writer of an index file (any thread): job->mix sorted by key into
 * idx-<first>.tmp, synced, renamed, the folder synced; the summary left
 * in job->ix.  The bloom filter holds the distinct keys and the pairs of
 * keys of each record: AUDIT_IX_BLOOM_BITS per distinct key plus a byte
 * per record, rounded up to a power of two of bytes.
 */

static int
audit_ixjob_run(audit_bgjob_t *bj)
{
    int                   rc;
    char                  path[1100], tmp[1100];
    uint64_t              i, k, e, nfence, v, nb, mt;
    struct stat           sb;
    audit_ixw_t           w;
    audit_ixseg_t        *ix;
    audit_ixjob_t        *job;
    audit_mpost_t       **keys;
    const audit_memix_t  *m;
    unsigned char         hdr[AUDIT_IX_HDR], ent[AUDIT_IX_ENT];

    job = (audit_ixjob_t *) bj;
    m = job->mix;
    rc = -1;
    keys = NULL;
    memset(&w, 0, sizeof(w));
    w.fd = -1;

    nb = 0;
    if (m->used > 0) {
        for (nb = 8; nb * 8 < m->used * AUDIT_IX_BLOOM_BITS + job->count * 8;
             nb *= 2)
        {
            /* void */
        }
    }

    nfence = (m->nent + AUDIT_IX_BLOCK - 1) / AUDIT_IX_BLOCK;
    w.cap = 1024 * 1024;
    ix = calloc(1, sizeof(audit_ixseg_t));
    if (ix != NULL) {
        ix->fence = malloc((nfence + 1) * sizeof(uint64_t));
        ix->zones = malloc((m->nzones + 1) * sizeof(audit_zone_t));
        ix->bad = malloc((m->nbad + 1) * sizeof(uint64_t));
        ix->bloom = calloc(1, nb + 1);
    }
    keys = malloc((m->used + 1) * sizeof(audit_mpost_t *));
    w.buf = malloc(w.cap);

    if (ix == NULL || w.buf == NULL || keys == NULL || ix->fence == NULL
        || ix->zones == NULL || ix->bad == NULL || ix->bloom == NULL)
    {
        snprintf(bj->err, sizeof(bj->err), "index: out of memory");
        goto done;
    }

    for (i = 0, k = 0; i < m->cap; i++) {
        if (m->slots[i].key != 0) {
            keys[k++] = &m->slots[i];
            if (nb > 0) {
                audit_bloom_add(ix->bloom, nb, m->slots[i].key);
            }
        }
    }

    if (nb > 0 && audit_bloom_pairs(m, job->count, ix->bloom, nb) != 0) {
        snprintf(bj->err, sizeof(bj->err), "index: out of memory");
        goto done;
    }

    qsort(keys, k, sizeof(audit_mpost_t *), audit_mpost_cmp);

    e = 0;
    for (i = 0; i < k; i++) {
        for (v = 0; v < keys[i]->n; v++, e++) {
            if (e % AUDIT_IX_BLOCK == 0) {
                ix->fence[e / AUDIT_IX_BLOCK] = keys[i]->key;
            }
        }
    }

    memcpy(ix->zones, m->zones, m->nzones * sizeof(audit_zone_t));
    memcpy(ix->bad, m->bad, m->nbad * sizeof(uint64_t));
    ix->nent = m->nent;
    ix->nfence = nfence;
    ix->nbad = m->nbad;
    ix->nbloom = nb;
    ix->ent_off = AUDIT_IX_HDR + (off_t) (job->nmarks * 24 + m->nbad * 8
                                          + nfence * 8 + nb);

    errno = 0;

    if (job->nmarks != m->nzones
        || (!job->open && (stat(job->path, &sb) == -1
                           || (off_t) sb.st_size != job->size)))
    {
        snprintf(bj->err, sizeof(bj->err), "index: %s: %s", job->path,
                 errno ? strerror(errno) : "size differs");
        goto done;
    }

    /* an open segment's file names its last record's offset instead of
     * the segment's mtime, which its next appends change */

    mt = job->open ? (uint64_t) job->last
                   : (uint64_t) sb.st_mtim.tv_sec * 1000000000ULL
                     + sb.st_mtim.tv_nsec;

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, job->open ? AUDIT_IX_OPEN_MAGIC : AUDIT_IX_MAGIC, 8);
    audit_put64(hdr + 8, job->first);
    audit_put64(hdr + 16, job->count);
    audit_put64(hdr + 24, (uint64_t) job->size);
    audit_put64(hdr + 32, mt);
    audit_put64(hdr + 40, m->nent);
    audit_put64(hdr + 48, m->nbad);
    audit_put64(hdr + 56, job->nmarks);
    audit_put64(hdr + 64, nfence);
    memcpy(hdr + 72, job->chain, GW_MERKLE_HASH_LEN);
    audit_put64(hdr + 104, nb);

    snprintf(path, sizeof(path), "%s/idx-%020llu%s", job->dir,
             (unsigned long long) job->first, job->open ? ".open" : "");
    snprintf(tmp, sizeof(tmp), "%s/idx-%020llu%s.tmp", job->dir,
             (unsigned long long) job->first, job->open ? ".open" : "");

    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd == -1) {
        snprintf(bj->err, sizeof(bj->err), "%s: %s", tmp, strerror(errno));
        goto done;
    }

    /* the CRC covers the header's first 112 bytes and the summary */
    w.crc = audit_crc32c_update(0, hdr, 112);
    w.len = AUDIT_IX_HDR;
    memcpy(w.buf, hdr, AUDIT_IX_HDR);

    for (i = 0; i < job->nmarks; i++) {
        audit_ixw_u64(&w, (uint64_t) job->marks[i]);
    }
    for (i = 0; i < m->nzones; i++) {
        memcpy(&v, &m->zones[i].min, 8);
        audit_ixw_u64(&w, v);
        memcpy(&v, &m->zones[i].max, 8);
        audit_ixw_u64(&w, v);
    }
    for (i = 0; i < m->nbad; i++) {
        audit_ixw_u64(&w, m->bad[i]);
    }
    for (i = 0; i < nfence; i++) {
        audit_ixw_u64(&w, ix->fence[i]);
    }
    for (i = 0; i < nb; i += 8) {
        w.crc = audit_crc32c_update(w.crc, ix->bloom + i, 8);
        audit_ixw_put(&w, ix->bloom + i, 8);
    }

    for (i = 0; i < k; i++) {
        audit_put64(ent, keys[i]->key);
        for (v = 0; v < keys[i]->n; v++) {
            audit_put32(ent + 8, keys[i]->rel[v]);
            audit_ixw_put(&w, ent, AUDIT_IX_ENT);
        }
    }

    if (w.err || audit_write_all(w.fd, w.buf, w.len) != 0) {
        snprintf(bj->err, sizeof(bj->err), "%s: %s", tmp, strerror(errno));
        goto done;
    }

    audit_put32(hdr, w.crc);
    if (pwrite(w.fd, hdr, 4, 112) != 4
        || (!job->nosync && fdatasync(w.fd) != 0)
        || rename(tmp, path) != 0
        || (!job->nosync && fsync(job->dir_fd) != 0))
    {
        snprintf(bj->err, sizeof(bj->err), "%s: %s", path, strerror(errno));
        goto done;
    }

    job->ix = ix;
    ix = NULL;
    rc = 0;

done:

    if (w.fd != -1) {
        close(w.fd);
    }

    audit_ixseg_free(ix);
    free(keys);
    free(w.buf);

    return rc;
}


static void
audit_ixjob_free(audit_ixjob_t *job)
{
    audit_ixseg_free(job->ix);
    free(job->path);
    free(job->marks);
    free(job);
}


static audit_ixjob_t *
audit_ixjob_new(audit_store_t *st, audit_seg_t *seg, int open)
{
    audit_ixjob_t  *job;

    job = calloc(1, sizeof(audit_ixjob_t));
    if (job == NULL) {
        return NULL;
    }

    job->path = strdup(seg->path);
    job->marks = malloc((seg->nmarks + 1) * sizeof(off_t));
    if (job->path == NULL || job->marks == NULL) {
        audit_ixjob_free(job);
        return NULL;
    }

    memcpy(job->marks, seg->marks, seg->nmarks * sizeof(off_t));
    job->nmarks = seg->nmarks;
    job->job.run = audit_ixjob_run;
    job->dir = st->dir;
    job->dir_fd = st->dir_fd;
    job->nosync = st->nosync;
    job->open = open;
    job->first = seg->first;
    job->count = seg->count;
    job->size = seg->size;
    job->last = st->last_frame;
    memcpy(job->chain, st->chain, GW_MERKLE_HASH_LEN);

    return job;
}


/* on the loop: the sealed segment's file is durable, its summary in */

static void
audit_ixjob_done(audit_store_t *st, audit_bgjob_t *bj)
{
    char            path[1100];
    size_t          i;
    audit_seg_t    *seg;
    audit_ixjob_t  *job;

    job = (audit_ixjob_t *) bj;
    seg = NULL;

    for (i = st->nsegs; i > 0; i--) {
        if (st->segs[i - 1].first == job->first) {
            seg = &st->segs[i - 1];
            break;
        }
    }

    if (bj->rc != 0 || seg == NULL) {
        /* the index stays in memory; the next start writes the file */
        st->bg_errors++;
        snprintf(st->bg_err, sizeof(st->bg_err), "%s", bj->err);
        audit_ixjob_free(job);
        return;
    }

    seg->ix = job->ix;
    job->ix = NULL;
    audit_memix_reset(seg->mix);
    free(seg->mix);
    seg->mix = NULL;

    audit_ix_path(st, seg->first, path, sizeof(path), ".open");
    (void) unlink(path);

    audit_ixjob_free(job);
}


/*
 * Seals the index of seg, the last segment, whose records are all
 * durable: st->mem moves to seg->mix (queries read it there) and is
 * emptied for the next segment; the file is written off the loop.
 */

int
audit_index_seal(audit_store_t *st, audit_seg_t *seg)
{
    audit_ixjob_t  *job;
    audit_memix_t  *mix;

    mix = malloc(sizeof(audit_memix_t));
    job = audit_ixjob_new(st, seg, 0);

    if (mix == NULL || job == NULL) {
        free(mix);
        if (job != NULL) {
            audit_ixjob_free(job);
        }
        audit_err(st, "index: out of memory");
        return -1;
    }

    *mix = st->mem;
    memset(&st->mem, 0, sizeof(audit_memix_t));
    seg->mix = mix;
    job->mix = mix;
    job->job.done = audit_ixjob_done;

    audit_bg_submit(st, &job->job);

    return 0;
}


/*
 * At a graceful stop, all durable: the open segment's index, written
 * now, to idx-<first>.open.  0, or -1 with st->err.
 */

int
audit_index_save_open(audit_store_t *st)
{
    int             rc;
    audit_seg_t    *seg;
    audit_ixjob_t  *job;

    if (st->nsegs == 0 || st->segs[st->nsegs - 1].count == 0) {
        return 0;
    }

    seg = &st->segs[st->nsegs - 1];

    job = audit_ixjob_new(st, seg, 1);
    if (job == NULL) {
        audit_err(st, "index: out of memory");
        return -1;
    }

    job->mix = &st->mem;

    rc = audit_ixjob_run(&job->job);
    if (rc != 0) {
        audit_err(st, "%s", job->job.err);
    }

    audit_ixjob_free(job);

    return rc;
}


void
audit_ixseg_free(audit_ixseg_t *ix)
{
    if (ix == NULL) {
        return;
    }

    free(ix->fence);
    free(ix->zones);
    free(ix->bad);
    free(ix->bloom);
    free(ix);
}


void
audit_index_free(audit_store_t *st)
{
    size_t  i;

    for (i = 0; i < st->nsegs; i++) {
        audit_ixseg_free(st->segs[i].ix);
        st->segs[i].ix = NULL;
    }

    audit_memix_reset(&st->mem);

    for (i = 0; i < st->nsegs; i++) {
        if (st->segs[i].mix != NULL) {
            audit_memix_reset(st->segs[i].mix);
            free(st->segs[i].mix);
            st->segs[i].mix = NULL;
        }
    }
}
