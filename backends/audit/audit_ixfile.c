
/*
 * Copyright (C) Tollgate
 *
 * A sealed segment's index file, idx-<first> (docs/audit-format.md,
 * "Indexes"): written once from the open segment's index in memory when
 * the segment is sealed, and taken back at open (its summary only: the
 * file offsets, the time spans, the fence, the unreadable records; the
 * entries stay on disk for audit_ixquery.c).
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


/*
 * Writes the index of seg, the last segment, whose records are all
 * durable, from st->mem: idx-<first>.tmp, synced, renamed, the folder
 * synced; then holds its summary in seg->ix and empties st->mem for the
 * next segment.
 */

int
audit_index_seal(audit_store_t *st, audit_seg_t *seg)
{
    int              rc;
    char             path[1100], tmp[1100];
    uint64_t         i, k, e, nfence, v;
    struct stat      sb;
    audit_ixw_t      w;
    audit_ixseg_t   *ix;
    audit_mpost_t  **keys;
    audit_memix_t   *m;
    unsigned char    hdr[AUDIT_IX_HDR], ent[AUDIT_IX_ENT];

    m = &st->mem;
    rc = -1;
    keys = NULL;
    memset(&w, 0, sizeof(w));
    w.fd = -1;

    ix = calloc(1, sizeof(audit_ixseg_t));
    nfence = (m->nent + AUDIT_IX_BLOCK - 1) / AUDIT_IX_BLOCK;
    w.cap = 1024 * 1024;
    w.buf = malloc(w.cap);
    if (ix != NULL) {
        ix->fence = malloc((nfence + 1) * sizeof(uint64_t));
        ix->zones = malloc((m->nzones + 1) * sizeof(audit_zone_t));
        ix->bad = malloc((m->nbad + 1) * sizeof(uint64_t));
    }
    keys = malloc((m->used + 1) * sizeof(audit_mpost_t *));

    if (ix == NULL || w.buf == NULL || keys == NULL || ix->fence == NULL
        || ix->zones == NULL || ix->bad == NULL)
    {
        audit_err(st, "index: out of memory");
        goto done;
    }

    for (i = 0, k = 0; i < m->cap; i++) {
        if (m->slots[i].key != 0) {
            keys[k++] = &m->slots[i];
        }
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
    ix->ent_off = AUDIT_IX_HDR + (off_t) (seg->nmarks * 24 + m->nbad * 8
                                          + nfence * 8);

    errno = 0;

    if (stat(seg->path, &sb) == -1 || (off_t) sb.st_size != seg->size
        || seg->nmarks != m->nzones)
    {
        audit_err(st, "index: %s: %s", seg->path,
                  errno ? strerror(errno) : "size differs");
        goto done;
    }

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, AUDIT_IX_MAGIC, 8);
    audit_put64(hdr + 8, seg->first);
    audit_put64(hdr + 16, seg->count);
    audit_put64(hdr + 24, (uint64_t) sb.st_size);
    audit_put64(hdr + 32, (uint64_t) sb.st_mtim.tv_sec * 1000000000ULL
                          + sb.st_mtim.tv_nsec);
    audit_put64(hdr + 40, m->nent);
    audit_put64(hdr + 48, m->nbad);
    audit_put64(hdr + 56, seg->nmarks);
    audit_put64(hdr + 64, nfence);
    memcpy(hdr + 72, st->chain, GW_MERKLE_HASH_LEN);

    audit_ix_path(st, seg->first, tmp, sizeof(tmp), ".tmp");
    audit_ix_path(st, seg->first, path, sizeof(path), "");

    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd == -1) {
        audit_err(st, "%s: %s", tmp, strerror(errno));
        goto done;
    }

    /* the CRC covers the header's first 104 bytes and the summary */
    w.crc = audit_crc32c_update(0, hdr, 104);
    w.len = AUDIT_IX_HDR;
    memcpy(w.buf, hdr, AUDIT_IX_HDR);

    for (i = 0; i < seg->nmarks; i++) {
        audit_ixw_u64(&w, (uint64_t) seg->marks[i]);
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

    for (i = 0; i < k; i++) {
        audit_put64(ent, keys[i]->key);
        for (v = 0; v < keys[i]->n; v++) {
            audit_put32(ent + 8, keys[i]->rel[v]);
            audit_ixw_put(&w, ent, AUDIT_IX_ENT);
        }
    }

    if (w.err || audit_write_all(w.fd, w.buf, w.len) != 0) {
        audit_err(st, "%s: %s", tmp, strerror(errno));
        goto done;
    }

    audit_put32(hdr, w.crc);
    if (pwrite(w.fd, hdr, 4, 104) != 4
        || (!st->nosync && fdatasync(w.fd) != 0)
        || rename(tmp, path) != 0
        || (!st->nosync && fsync(st->dir_fd) != 0))
    {
        audit_err(st, "%s: %s", path, strerror(errno));
        goto done;
    }

    seg->ix = ix;
    ix = NULL;
    audit_memix_reset(m);
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


void
audit_ixseg_free(audit_ixseg_t *ix)
{
    if (ix == NULL) {
        return;
    }

    free(ix->fence);
    free(ix->zones);
    free(ix->bad);
    free(ix);
}


/*
 * Takes sealed segment seg (its records end at record end) from its
 * index file: count, size, file offsets, the index's summary and the
 * chain value of its last record.  0 when taken; 1 when the file is
 * missing, damaged or not of this segment as it is now (the caller
 * scans and indexes it again); -1 with st->err.
 */

int
audit_index_load(audit_store_t *st, audit_seg_t *seg, uint64_t end)
{
    int              fd, rc;
    char             path[1100];
    size_t           meta;
    uint64_t         count, nent, nbad, nmarks, nfence, i, v, mt;
    struct stat      sb, ib;
    audit_ixseg_t   *ix;
    unsigned char    hdr[AUDIT_IX_HDR];
    unsigned char   *buf, *p;

    rc = 1;
    buf = NULL;
    ix = NULL;

    audit_ix_path(st, seg->first, path, sizeof(path), "");

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 1;
    }

    if (stat(seg->path, &sb) != 0 || fstat(fd, &ib) != 0
        || pread(fd, hdr, AUDIT_IX_HDR, 0) != AUDIT_IX_HDR
        || memcmp(hdr, AUDIT_IX_MAGIC, 8) != 0)
    {
        goto done;
    }

    count = audit_get64(hdr + 16);
    nent = audit_get64(hdr + 40);
    nbad = audit_get64(hdr + 48);
    nmarks = audit_get64(hdr + 56);
    nfence = audit_get64(hdr + 64);
    mt = (uint64_t) sb.st_mtim.tv_sec * 1000000000ULL + sb.st_mtim.tv_nsec;

    if (audit_get64(hdr + 8) != seg->first || count != end - seg->first
        || audit_get64(hdr + 24) != (uint64_t) sb.st_size
        || audit_get64(hdr + 32) != mt
        || nmarks != (count + AUDIT_MARK - 1) / AUDIT_MARK
        || nbad > count || nent > count * AUDIT_IX_FIELDS
        || nfence != (nent + AUDIT_IX_BLOCK - 1) / AUDIT_IX_BLOCK)
    {
        goto done;
    }

    meta = nmarks * 24 + nbad * 8 + nfence * 8;

    if ((uint64_t) ib.st_size != AUDIT_IX_HDR + meta + nent * AUDIT_IX_ENT) {
        goto done;
    }

    rc = -1;
    buf = malloc(meta + 1);
    ix = calloc(1, sizeof(audit_ixseg_t));
    if (buf == NULL || ix == NULL) {
        audit_err(st, "index: out of memory");
        goto done;
    }

    rc = 1;
    if (pread(fd, buf, meta, AUDIT_IX_HDR) != (ssize_t) meta
        || audit_crc32c_update(audit_crc32c_update(0, hdr, 104), buf, meta)
           != audit_get32(hdr + 104))
    {
        goto done;
    }

    rc = -1;
    free(seg->marks);
    seg->marks = malloc((nmarks + 1) * sizeof(off_t));
    ix->zones = malloc((nmarks + 1) * sizeof(audit_zone_t));
    ix->bad = malloc((nbad + 1) * sizeof(uint64_t));
    ix->fence = malloc((nfence + 1) * sizeof(uint64_t));
    if (seg->marks == NULL || ix->zones == NULL || ix->bad == NULL
        || ix->fence == NULL)
    {
        audit_err(st, "index: out of memory");
        goto done;
    }

    p = buf;
    for (i = 0; i < nmarks; i++, p += 8) {
        seg->marks[i] = (off_t) audit_get64(p);
    }
    for (i = 0; i < nmarks; i++, p += 16) {
        v = audit_get64(p);
        memcpy(&ix->zones[i].min, &v, 8);
        v = audit_get64(p + 8);
        memcpy(&ix->zones[i].max, &v, 8);
    }
    for (i = 0; i < nbad; i++, p += 8) {
        ix->bad[i] = audit_get64(p);
    }
    for (i = 0; i < nfence; i++, p += 8) {
        ix->fence[i] = audit_get64(p);
    }

    seg->nmarks = nmarks;
    seg->cap = nmarks + 1;
    seg->count = count;
    seg->size = sb.st_size;
    ix->nent = nent;
    ix->nfence = nfence;
    ix->nbad = nbad;
    ix->ent_off = AUDIT_IX_HDR + (off_t) meta;
    memcpy(st->chain, hdr + 72, GW_MERKLE_HASH_LEN);

    seg->ix = ix;
    ix = NULL;
    rc = 0;

done:

    close(fd);
    free(buf);
    audit_ixseg_free(ix);

    return rc;
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
}
