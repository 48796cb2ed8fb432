
/*
 * Copyright (C) Tollgate
 *
 * The store of record: append-only segment files of framed canonical
 * records, the Merkle node file beside them, and the index of event ids.
 *
 * Appends are buffered in memory and made durable together by
 * audit_store_commit(): one write() of every waiting frame, one
 * fdatasync() of the segment (group commit).  Nothing is acknowledged
 * before that, so a crash can only lose records nobody was told about.
 * The node file is written in the same commit but not synced: at open
 * it is checked against the segments (truncated when it is longer,
 * completed when it is shorter), so the segments alone are the truth.
 *
 * Nodes are stored in the order gw_merkle_range_append() emits them, so
 * the file only grows; audit_node_pos() finds node (level, index) in it
 * by arithmetic, and every proof costs O(log n) preads.
 *
 * At open the segments are scanned (CRC32C per frame, no SHA-256): a
 * frame cut short or damaged at the very end of the last segment is a
 * torn tail, which is cut off and reported; anything else wrong stops
 * the open, for `verify` to explain.  The id index holds 24 bytes per
 * id (a 128-bit hash of it and its record index) in a table kept at
 * most half full: at most 48 bytes per record, plus 8 bytes per 64
 * records of file offsets.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "audit.h"


static audit_seg_t *audit_seg_add(audit_store_t *st, const char *name,
    uint64_t first);
static int audit_seg_mark(audit_seg_t *seg, uint64_t seq, off_t off);
static int audit_seg_scan(audit_store_t *st, audit_seg_t *seg, int last);
static int audit_seg_create(audit_store_t *st);
static int audit_seg_take(audit_store_t *st, audit_seg_t *seg, uint64_t end,
    int last);
static int audit_ids_catch_up(audit_store_t *st);
static int audit_nodes_open(audit_store_t *st);
static int audit_node_emit(void *data, unsigned level, uint64_t index,
    const unsigned char *hash);
static int audit_node_read(void *data, unsigned level, uint64_t index,
    unsigned char *out);
static int audit_range_load(audit_store_t *st, uint64_t size,
    gw_merkle_range_t *r);


uint64_t
audit_node_pos(unsigned level, uint64_t index)
{
    uint64_t  k;

    /* the node is emitted right after its last leaf k and k's lower nodes;
     * 2k - popcount(k) nodes come before leaf k */

    k = ((index + 1) << level) - 1;

    return 2 * k - (uint64_t) __builtin_popcountll(k) + level;
}


/* ---- segments ---------------------------------------------------------- */

static audit_seg_t *
audit_seg_add(audit_store_t *st, const char *name, uint64_t first)
{
    size_t        cap, n;
    audit_seg_t  *segs, *seg;

    if (st->nsegs == st->segs_cap) {
        cap = st->segs_cap ? st->segs_cap * 2 : 16;
        segs = realloc(st->segs, cap * sizeof(audit_seg_t));
        if (segs == NULL) {
            audit_err(st, "out of memory");
            return NULL;
        }
        st->segs = segs;
        st->segs_cap = cap;
    }

    seg = &st->segs[st->nsegs];
    memset(seg, 0, sizeof(audit_seg_t));

    n = strlen(st->dir) + strlen(name) + 2;
    seg->path = malloc(n);
    if (seg->path == NULL) {
        audit_err(st, "out of memory");
        return NULL;
    }

    snprintf(seg->path, n, "%s/%s", st->dir, name);
    seg->first = first;
    seg->size = AUDIT_SEG_HDR;
    st->nsegs++;

    return seg;
}


static int
audit_seg_mark(audit_seg_t *seg, uint64_t seq, off_t off)
{
    size_t   cap;
    off_t   *marks;

    if ((seq - seg->first) % AUDIT_MARK != 0) {
        return 0;
    }

    if (seg->nmarks == seg->cap) {
        cap = seg->cap ? seg->cap * 2 : 64;
        marks = realloc(seg->marks, cap * sizeof(off_t));
        if (marks == NULL) {
            return -1;
        }
        seg->marks = marks;
        seg->cap = cap;
    }

    seg->marks[seg->nmarks++] = off;

    return 0;
}


/*
 * Scans a segment at open: every frame's CRC, the offsets, the last
 * chain hash, the records into the index of the last segment (st->mem),
 * the ids past the id index's mark into it.  A torn or damaged end of
 * the last segment is cut off.
 */

static int
audit_seg_scan(audit_store_t *st, audit_seg_t *seg, int last)
{
    int             fd, rc;
    off_t           off;
    ssize_t         n;
    struct stat     sb;
    uint64_t        seq;
    audit_rec_t     rec;
    unsigned char  *map;

    rc = -1;
    map = MAP_FAILED;

    fd = open(seg->path, O_RDWR | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &sb) == -1) {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        goto done;
    }

    if (sb.st_size < AUDIT_SEG_HDR) {
        if (!last) {
            audit_err(st, "%s: shorter than its header", seg->path);
            goto done;
        }
        /* created but its header never made it: start it again */
        if (ftruncate(fd, 0) == -1) {
            audit_err(st, "%s: %s", seg->path, strerror(errno));
            goto done;
        }
        st->repaired += sb.st_size;
        seg->size = 0;
        rc = 0;
        goto done;
    }

    map = mmap(NULL, sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        audit_err(st, "%s: mmap: %s", seg->path, strerror(errno));
        goto done;
    }

    if (memcmp(map, AUDIT_SEG_MAGIC, 8) != 0
        || audit_get64(map + 8) != seg->first)
    {
        audit_err(st, "%s: bad header (run verify)", seg->path);
        goto done;
    }

    off = AUDIT_SEG_HDR;

    while (off < sb.st_size) {
        n = audit_frame_parse(map + off, sb.st_size - off, &rec);

        if (n < 0) {
            if (!last) {
                audit_err(st, "%s: record %llu is damaged (run verify)",
                          seg->path,
                          (unsigned long long) (seg->first + seg->count));
                goto done;
            }
            break;
        }

        seq = seg->first + seg->count;

        if (audit_seg_mark(seg, seq, off) != 0) {
            audit_err(st, "out of memory");
            goto done;
        }

        if (seq >= st->ids.mark) {
            if (audit_ids_insert(st, rec.id, rec.id_len, seq) != 0) {
                goto done;
            }
            st->ids_reinserted++;
        }

        if (!last || seg->count >= st->ix_covered) {
            if (audit_index_add(st, seq, rec.rec, rec.rec_len, NULL) != 0) {
                goto done;
            }
            st->reindexed++;
        }

        st->last_frame = off;

        memcpy(st->chain, rec.chain, GW_MERKLE_HASH_LEN);
        seg->count++;
        off += n;
    }

    if (off < sb.st_size) {
        /* torn tail: a frame cut short or damaged by a crash */
        if (ftruncate(fd, off) == -1 || fdatasync(fd) == -1) {
            audit_err(st, "%s: truncate: %s", seg->path, strerror(errno));
            goto done;
        }
        st->repaired += sb.st_size - off;
    }

    seg->size = off;
    rc = 0;

done:

    if (map != MAP_FAILED) {
        munmap(map, sb.st_size);
    }

    if (fd != -1) {
        close(fd);
    }

    return rc;
}


static int
audit_seg_create(audit_store_t *st)
{
    int            fd;
    char           name[32];
    audit_seg_t   *seg;
    unsigned char  hdr[AUDIT_SEG_HDR];

    if (st->seg_fd != -1) {
        close(st->seg_fd);
        st->seg_fd = -1;
    }

    snprintf(name, sizeof(name), "seg-%020llu", (unsigned long long) st->size);

    if (st->nsegs > 0 && st->segs[st->nsegs - 1].size == 0) {
        /* an empty last segment left by a crash: reuse it */
        seg = &st->segs[st->nsegs - 1];
        seg->first = st->size;

    } else {
        seg = audit_seg_add(st, name, st->size);
        if (seg == NULL) {
            return -1;
        }
    }

    fd = open(seg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd == -1) {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        return -1;
    }

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, AUDIT_SEG_MAGIC, 8);
    audit_put64(hdr + 8, st->size);

    if (ftruncate(fd, 0) == -1 || audit_write_all(fd, hdr, sizeof(hdr)) != 0
        || fdatasync(fd) != 0 || fsync(st->dir_fd) != 0)
    {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        close(fd);
        return -1;
    }

    seg->size = AUDIT_SEG_HDR;
    st->seg_fd = fd;

    return 0;
}


/*
 * Takes a segment at open: a sealed one (its records end at record end)
 * from its index file, or, when that is missing or stale, by a scan that
 * writes the index file again; the last one by a scan, which rebuilds
 * its index in memory (the tail).
 */

static int
audit_seg_take(audit_store_t *st, audit_seg_t *seg, uint64_t end, int last)
{
    int  rc;

    audit_memix_reset(&st->mem);
    st->ix_covered = 0;

    if (last) {
        /* the index written at the last graceful stop, then the records
         * after it; all of them again if the segment lost some of it */

        if (audit_index_load_open(st, seg) != 0
            || audit_seg_scan(st, seg, 1) != 0)
        {
            return -1;
        }

        if (seg->count >= st->ix_covered) {
            return 0;
        }

        audit_memix_reset(&st->mem);
        st->ix_covered = 0;
        seg->count = 0;
        seg->nmarks = 0;

        return audit_seg_scan(st, seg, 1);
    }

    rc = audit_index_load(st, seg, end);
    if (rc <= 0) {
        return rc;
    }

    st->ix_rebuilt++;

    if (audit_seg_scan(st, seg, 0) != 0) {
        return -1;
    }

    if (seg->first + seg->count != end) {
        /* the next segment's check names it */
        audit_memix_reset(&st->mem);
        return 0;
    }

    return audit_index_seal(st, seg);
}


/*
 * The ids of records from the id index's mark up to the last segment,
 * when segments taken from their index files are past it (the table was
 * missing or behind): read from the frames, no JSON.
 */

static int
audit_ids_catch_up(audit_store_t *st)
{
    int             rc;
    uint64_t        end;
    audit_rec_t     rec;
    audit_reader_t  rd;

    if (st->nsegs < 2) {
        return 0;
    }

    end = st->segs[st->nsegs - 1].first;

    if (st->ids.mark >= end) {
        return 0;
    }

    if (audit_reader_open(&rd, st, st->ids.mark, end) != 0) {
        audit_reader_close(&rd);
        return -1;
    }

    while ((rc = audit_reader_next(&rd, &rec)) == 1) {
        if (audit_ids_insert(st, rec.id, rec.id_len, rec.seq) != 0) {
            rc = -1;
            break;
        }
        st->ids_reinserted++;
    }

    audit_reader_close(&rd);

    return rc;
}


/* ---- nodes ------------------------------------------------------------- */

static int
audit_node_emit(void *data, unsigned level, uint64_t index,
    const unsigned char *hash)
{
    audit_store_t  *st;

    st = data;

    if (audit_grow(&st->nbuf, &st->ncap, st->nlen + GW_MERKLE_HASH_LEN)
        != 0)
    {
        return -1;
    }

    memcpy(st->nbuf + st->nlen, hash, GW_MERKLE_HASH_LEN);
    st->nlen += GW_MERKLE_HASH_LEN;

    return 0;
}


static int
audit_node_read(void *data, unsigned level, uint64_t index,
    unsigned char *out)
{
    audit_store_t  *st;

    st = data;

    if (pread(st->node_fd, out, GW_MERKLE_HASH_LEN,
              (off_t) audit_node_pos(level, index) * GW_MERKLE_HASH_LEN)
        != GW_MERKLE_HASH_LEN)
    {
        return -1;
    }

    return 0;
}


void
audit_store_source(audit_store_t *st, gw_merkle_source_t *src)
{
    src->node = audit_node_read;
    src->data = st;
}


/* the compact range of the first size leaves, from the node file */

static int
audit_range_load(audit_store_t *st, uint64_t size, gw_merkle_range_t *r)
{
    int       l;
    uint64_t  start;

    gw_merkle_range_init(r);
    start = 0;

    for (l = 63; l >= 0; l--) {
        if (!(size & (1ULL << l))) {
            continue;
        }
        if (audit_node_read(st, l, start >> l, r->nodes[r->nnodes]) != 0) {
            return -1;
        }
        r->nnodes++;
        start += 1ULL << l;
    }

    r->size = size;

    return 0;
}


/*
 * Brings the node file in line with the n records of the segments: cut
 * to the nodes of n leaves when longer, completed from the records when
 * shorter (nodes are written after the frames, and not synced).
 */

static int
audit_nodes_open(audit_store_t *st)
{
    int               rc;
    char              path[1024];
    uint64_t          have, m, n;
    struct stat       sb;
    audit_rec_t       rec;
    const char       *err;
    audit_reader_t    rd;
    gw_merkle_hash_t  leaf;

    snprintf(path, sizeof(path), "%s/nodes", st->dir);

    st->node_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->node_fd == -1 || fstat(st->node_fd, &sb) == -1) {
        audit_err(st, "%s: %s", path, strerror(errno));
        return -1;
    }

    n = st->size;
    have = sb.st_size / GW_MERKLE_HASH_LEN;

    /* the most leaves whose nodes are all in the file */
    m = n;
    while (m > 0 && 2 * m - __builtin_popcountll(m) > have) {
        m--;
    }

    if (ftruncate(st->node_fd,
                  (off_t) (2 * m - __builtin_popcountll(m))
                  * GW_MERKLE_HASH_LEN) == -1
        || lseek(st->node_fd, 0, SEEK_END) == -1)
    {
        audit_err(st, "%s: %s", path, strerror(errno));
        return -1;
    }

    if (audit_range_load(st, m, &st->range) != 0) {
        audit_err(st, "%s: cannot read", path);
        return -1;
    }

    if (m == n) {
        return 0;
    }

    if (audit_reader_open(&rd, st, m, n) != 0) {
        return -1;
    }

    rc = 0;

    while ((rc = audit_reader_next(&rd, &rec)) == 1) {
        if (gw_merkle_leaf_hash(st->hasher, rec.rec, rec.rec_len, leaf) != 0
            || gw_merkle_range_append(st->hasher, &st->range, leaf,
                                      audit_node_emit, st, &err) != 0)
        {
            audit_err(st, "node rebuild failed");
            rc = -1;
            break;
        }
    }

    audit_reader_close(&rd);

    if (rc != 0) {
        return -1;
    }

    if (audit_write_all(st->node_fd, st->nbuf, st->nlen) != 0) {
        audit_err(st, "%s: %s", path, strerror(errno));
        return -1;
    }

    st->nlen = 0;

    return 0;
}


/* ---- the store --------------------------------------------------------- */

int
audit_store_open(audit_store_t *st, const char *dir, off_t seg_max)
{
    size_t        i, nnames;
    char        **names;
    uint64_t      first, end;
    audit_seg_t  *seg;

    memset(st, 0, sizeof(audit_store_t));
    st->ids.fd = -1;
    st->seg_fd = -1;
    st->node_fd = -1;
    st->dir_fd = -1;
    st->seg_max = seg_max;
    gw_merkle_range_init(&st->range);

    st->dir = strdup(dir);
    st->hasher = gw_merkle_hasher_new();
    if (st->dir == NULL || st->hasher == NULL) {
        audit_err(st, "out of memory");
        return -1;
    }

    if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
        audit_err(st, "%s: %s", dir, strerror(errno));
        return -1;
    }

    st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dir_fd == -1) {
        audit_err(st, "%s: %s", dir, strerror(errno));
        return -1;
    }

    if (audit_list_segments(dir, &names, &nnames, st->err, sizeof(st->err))
        != 0)
    {
        return -1;
    }

    if (audit_ids_open(st) != 0) {
        audit_free_list(names, nnames);
        return -1;
    }

    for (i = 0; i < nnames; i++) {
        first = strtoull(names[i] + 4, NULL, 10);

        if (first != st->size) {
            audit_err(st, "%s: starts at record %llu, expected %llu "
                      "(run verify)", names[i], (unsigned long long) first,
                      (unsigned long long) st->size);
            audit_free_list(names, nnames);
            return -1;
        }

        end = (i + 1 < nnames) ? strtoull(names[i + 1] + 4, NULL, 10) : 0;

        seg = audit_seg_add(st, names[i], first);
        if (seg == NULL
            || audit_seg_take(st, seg, end, i == nnames - 1) != 0)
        {
            audit_free_list(names, nnames);
            return -1;
        }

        st->size += seg->count;
    }

    audit_free_list(names, nnames);
    st->durable = st->size;

    if (audit_ids_catch_up(st) != 0) {
        return -1;
    }

    if (audit_nodes_open(st) != 0) {
        return -1;
    }

    st->durable_range = st->range;

    if (st->nsegs == 0 || st->segs[st->nsegs - 1].size == 0) {
        return audit_seg_create(st);
    }

    seg = &st->segs[st->nsegs - 1];

    st->seg_fd = open(seg->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (st->seg_fd == -1) {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        return -1;
    }

    return 0;
}


void
audit_store_close(audit_store_t *st)
{
    size_t  i;

    if (st->async) {
        audit_store_wait(st);
    }

    /* a growing id table is finished, what the background thread has
     * is done, then it stops */

    audit_ids_settle(st);
    audit_bg_drain(st);

    if (st->bg) {
        pthread_mutex_lock(&st->bg_mu);
        st->bg_quit = 1;
        pthread_cond_broadcast(&st->bg_cv);
        pthread_mutex_unlock(&st->bg_mu);

        pthread_join(st->bg_thread, NULL);
        pthread_mutex_destroy(&st->bg_mu);
        pthread_cond_destroy(&st->bg_cv);
        st->bg = 0;
    }

    if (st->async) {
        pthread_mutex_lock(&st->mu);
        st->quit = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);

        pthread_join(st->thread, NULL);
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        close(st->notify[0]);
        close(st->notify[1]);
    }

    if (st->ids.map != NULL && st->len == 0 && st->flen == 0
        && st->size == st->durable)
    {
        (void) audit_ids_sync(st);
        (void) audit_index_save_open(st);
    }

    audit_ids_close(st);
    audit_index_free(st);

    for (i = 0; i < st->nsegs; i++) {
        free(st->segs[i].path);
        free(st->segs[i].marks);
    }

    free(st->segs);

    if (st->seg_fd != -1) {
        close(st->seg_fd);
    }
    if (st->node_fd != -1) {
        close(st->node_fd);
    }
    if (st->dir_fd != -1) {
        close(st->dir_fd);
    }

    gw_merkle_hasher_free(st->hasher);
    free(st->buf);
    free(st->nbuf);
    free(st->fbuf);
    free(st->fnbuf);
    free(st->dir);

    memset(st, 0, sizeof(audit_store_t));
    st->seg_fd = -1;
    st->node_fd = -1;
    st->dir_fd = -1;
    st->ids.fd = -1;
}


int
audit_store_append(audit_store_t *st, const char *id, size_t id_len,
    const unsigned char *rec, size_t rec_len, const audit_ixrec_t *x)
{
    size_t            body, frame;
    const char       *err;
    audit_seg_t      *seg;
    unsigned char    *p;
    gw_merkle_hash_t  leaf;

    if (id_len == 0 || id_len > AUDIT_ID_MAX || rec_len == 0
        || rec_len > AUDIT_RECORD_MAX)
    {
        audit_err(st, "record or id of a bad size");
        return -1;
    }

    body = GW_MERKLE_HASH_LEN + 1 + id_len + rec_len;
    frame = AUDIT_FRAME_HDR + body;
    seg = &st->segs[st->nsegs - 1];

    if (seg->count > 0
        && seg->size + (off_t) (st->flen + st->len + frame) > st->seg_max)
    {
        /* the segment is sealed: its records are durable, its index
         * is written, the id index synced up to them */

        if (audit_store_commit(st) != 0 || audit_index_seal(st, seg) != 0
            || audit_seg_create(st) != 0)
        {
            return -1;
        }

        audit_ids_sync_start(st);
        seg = &st->segs[st->nsegs - 1];
    }

    if (audit_grow(&st->buf, &st->cap, st->len + frame) != 0) {
        audit_err(st, "out of memory");
        return -1;
    }

    if (audit_seg_mark(seg, st->size, seg->size + st->flen + st->len) != 0)
    {
        audit_err(st, "out of memory");
        return -1;
    }

    p = st->buf + st->len;

    if (gw_merkle_leaf_hash(st->hasher, rec, rec_len, leaf) != 0
        || gw_merkle_chain_hash(st->hasher, st->chain, leaf,
                                p + AUDIT_FRAME_HDR) != 0
        || gw_merkle_range_append(st->hasher, &st->range, leaf,
                                  audit_node_emit, st, &err) != 0)
    {
        audit_err(st, "hashing failed");
        return -1;
    }

    if (audit_ids_insert(st, id, id_len, st->size) != 0
        || audit_index_add(st, st->size, rec, rec_len, x) != 0)
    {
        return -1;
    }

    st->last_frame = seg->size + (off_t) (st->flen + st->len);

    memcpy(st->chain, p + AUDIT_FRAME_HDR, GW_MERKLE_HASH_LEN);
    p[AUDIT_FRAME_HDR + GW_MERKLE_HASH_LEN] = (unsigned char) id_len;
    memcpy(p + AUDIT_FRAME_HDR + GW_MERKLE_HASH_LEN + 1, id, id_len);
    memcpy(p + AUDIT_FRAME_HDR + GW_MERKLE_HASH_LEN + 1 + id_len, rec,
           rec_len);
    audit_put32(p, (uint32_t) body);
    audit_put32(p + 4, audit_crc32c(p + AUDIT_FRAME_HDR, body));

    st->len += frame;
    st->size++;
    seg->count++;

    return 0;
}


int
audit_store_commit(audit_store_t *st)
{
    audit_seg_t  *seg;

    if (audit_store_wait(st) != 0) {
        return -1;
    }

    if (st->len == 0) {
        return 0;
    }

    seg = &st->segs[st->nsegs - 1];

    if (audit_write_all(st->seg_fd, st->buf, st->len) != 0
        || (!st->nosync && fdatasync(st->seg_fd) != 0))
    {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        return -1;
    }

    seg->size += st->len;
    st->len = 0;

    if (audit_write_all(st->node_fd, st->nbuf, st->nlen) != 0) {
        audit_err(st, "nodes: %s", strerror(errno));
        return -1;
    }

    st->nlen = 0;
    st->durable = st->size;
    st->durable_range = st->range;
    st->commits++;

    return 0;
}


int
audit_store_sync_nodes(audit_store_t *st)
{
    if (!st->nosync && fdatasync(st->node_fd) != 0) {
        audit_err(st, "nodes: %s", strerror(errno));
        return -1;
    }

    return 0;
}


int
audit_store_root(audit_store_t *st, uint64_t size, unsigned char *out)
{
    const char          *err;
    gw_merkle_source_t   src;

    if (size > st->durable) {
        audit_err(st, "tree size beyond the log");
        return -1;
    }

    if (size == st->durable) {
        return gw_merkle_range_root(st->hasher, &st->durable_range, out);
    }

    audit_store_source(st, &src);

    if (gw_merkle_root(st->hasher, &src, size, out, &err) != 0) {
        audit_err(st, "root: %s", err);
        return -1;
    }

    return 0;
}
