
/*
 * Copyright (C) Tollgate
 *
 * The id index: which record holds an event id, for deduplication and
 * proofs by id.  It is an open-addressing table (linear probing, at most
 * 3/4 full) in the file "ids", mapped: a 4 KiB header, then 16-byte
 * slots of a 64-bit hash of the id (0: free) and the record index + 1
 * (48 bits) with the epoch that wrote it (16 bits, one per start).  The
 * table lives in the page cache, not in the heap, and survives a
 * restart: the start re-inserts only the records after the header's
 * mark, which is advanced when the table has been synced (at each
 * segment seal and at a graceful stop), never scanning the whole log.
 *
 * Slots are written when a record is appended, before it is durable, and
 * the kernel may write any of them back at any time; so after a crash the
 * table may hold slots of records that were never durable.  A slot is
 * therefore trusted only when it was written in this epoch (the epoch is
 * synced before any slot of it), or when the record it names has this
 * id (the
 * frame stores the id beside the record: one read, and only for a hit,
 * that is for a duplicate).  Lost slots of records after the mark are
 * put back at start; a slot that a crash lost while a later one of the
 * same probe run survived leaves a stale slot that is never trusted.
 * Inserts never overwrite, so no slot of a record below the mark moves.
 */


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


#define AUDIT_IDS_SEQ   0xffffffffffffULL       /* 48 bits */


static uint64_t audit_ids_key(audit_store_t *st, const char *id,
    size_t len);
static int audit_ids_map(audit_store_t *st, const char *path,
    uint64_t cap, int create);
static int audit_ids_grow(audit_store_t *st);
static void audit_ids_header(audit_store_t *st, uint64_t mark);
static int audit_ids_check(audit_store_t *st, uint64_t seq, const char *id,
    size_t len);


static uint64_t
audit_ids_key(audit_store_t *st, const char *id, size_t len)
{
    uint64_t       k;
    unsigned char  md[GW_MERKLE_HASH_LEN];

    /* SHA-256(0x00 || id) through the store's long-lived digest context */

    if (gw_merkle_leaf_hash(st->hasher, (const unsigned char *) id, len, md)
        != 0)
    {
        SHA256((const unsigned char *) id, len, md);
    }

    memcpy(&k, md, 8);

    return k != 0 ? k : 1;
}


static void
audit_ids_header(audit_store_t *st, uint64_t mark)
{
    unsigned char  *h;

    h = st->ids.map;
    memcpy(h, AUDIT_IDS_MAGIC, 8);
    audit_put64(h + 8, st->ids.cap);
    audit_put64(h + 16, st->ids.n);
    audit_put64(h + 24, mark);
    audit_put64(h + 32, st->ids.epoch);
    audit_put32(h + 40, audit_crc32c(h, 40));
    st->ids.mark = mark;
}


static int
audit_ids_map(audit_store_t *st, const char *path, uint64_t cap, int create)
{
    int             fd;
    size_t          len;
    unsigned char  *map;

    len = AUDIT_IDS_HDR + cap * 16;

    fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0),
              0644);
    if (fd == -1 || (create && ftruncate(fd, (off_t) len) != 0)) {
        audit_err(st, "%s: %s", path, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return -1;
    }

    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        audit_err(st, "%s: mmap: %s", path, strerror(errno));
        close(fd);
        return -1;
    }

    st->ids.fd = fd;
    st->ids.map = map;
    st->ids.maplen = len;
    st->ids.cap = cap;

    return 0;
}


/*
 * Opens dir/ids, or makes a new empty one (mark 0) when it is missing or
 * its header is damaged; the caller then re-inserts the ids of the
 * records from st->ids.mark on.
 */

int
audit_ids_open(audit_store_t *st)
{
    int             fd;
    char            path[1100];
    uint64_t        cap, n, mark;
    unsigned        epoch;
    struct stat     sb;
    unsigned char   h[64];

    n = 0;
    mark = 0;
    epoch = 0;

    snprintf(path, sizeof(path), "%s/ids", st->dir);

    cap = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd != -1) {
        if (fstat(fd, &sb) == 0 && pread(fd, h, sizeof(h), 0) == sizeof(h)
            && memcmp(h, AUDIT_IDS_MAGIC, 8) == 0
            && audit_crc32c(h, 40) == audit_get32(h + 40))
        {
            cap = audit_get64(h + 8);
            n = audit_get64(h + 16);
            mark = audit_get64(h + 24);
            epoch = (unsigned) audit_get64(h + 32);

            if (cap < 1024 || (cap & (cap - 1)) != 0 || n > cap
                || (uint64_t) sb.st_size != AUDIT_IDS_HDR + cap * 16)
            {
                cap = 0;
            }
        }
        close(fd);
    }

    if (cap == 0) {
        if (audit_ids_map(st, path, 65536, 1) != 0) {
            return -1;
        }
        n = 0;
        mark = 0;
        epoch = 0;

    } else if (audit_ids_map(st, path, cap, 0) != 0) {
        return -1;
    }

    st->ids.n = n;
    st->ids.epoch = (epoch + 1) & 0xffff;
    if (st->ids.epoch == 0) {
        st->ids.epoch = 1;
    }

    /* the new epoch is on disk before any slot of it */

    audit_ids_header(st, mark);

    if (!st->nosync && msync(st->ids.map, AUDIT_IDS_HDR, MS_SYNC) != 0) {
        audit_err(st, "ids: %s", strerror(errno));
        return -1;
    }

    return 0;
}


/* twice the slots, in ids.tmp, synced and renamed over ids */

static int
audit_ids_grow(audit_store_t *st)
{
    char            path[1100], tmp[1100];
    uint64_t        i, h, cap, mark;
    audit_ids_t     old;
    unsigned char  *s, *d;

    snprintf(path, sizeof(path), "%s/ids", st->dir);
    snprintf(tmp, sizeof(tmp), "%s/ids.tmp", st->dir);

    old = st->ids;
    mark = old.mark;
    cap = old.cap * 2;

    if (audit_ids_map(st, tmp, cap, 1) != 0) {
        st->ids = old;
        return -1;
    }

    for (i = 0; i < old.cap; i++) {
        s = old.map + AUDIT_IDS_HDR + i * 16;
        if (memcmp(s, "\0\0\0\0\0\0\0\0", 8) == 0) {
            continue;
        }
        memcpy(&h, s, 8);
        h &= cap - 1;
        for ( ;; ) {
            d = st->ids.map + AUDIT_IDS_HDR + h * 16;
            if (memcmp(d, "\0\0\0\0\0\0\0\0", 8) == 0) {
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        memcpy(d, s, 16);
    }

    audit_ids_header(st, mark);

    if ((!st->nosync && msync(st->ids.map, st->ids.maplen, MS_SYNC) != 0)
        || rename(tmp, path) != 0
        || (!st->nosync && fsync(st->dir_fd) != 0))
    {
        audit_err(st, "%s: %s", path, strerror(errno));
        munmap(st->ids.map, st->ids.maplen);
        close(st->ids.fd);
        st->ids = old;
        return -1;
    }

    munmap(old.map, old.maplen);
    close(old.fd);

    return 0;
}


/*
 * Puts id -> seq in the table, unless a slot already names seq for this
 * key (a re-insert at start).  0, or -1 with st->err.
 */

int
audit_ids_insert(audit_store_t *st, const char *id, size_t len,
    uint64_t seq)
{
    uint64_t        k, h, v, want;
    unsigned char  *s;

    if ((st->ids.n + 1) * 4 > st->ids.cap * 3 && audit_ids_grow(st) != 0) {
        return -1;
    }

    k = audit_ids_key(st, id, len);
    want = seq + 1;
    h = k & (st->ids.cap - 1);

    for ( ;; ) {
        s = st->ids.map + AUDIT_IDS_HDR + h * 16;
        memcpy(&v, s, 8);
        if (v == 0) {
            break;
        }
        if (v == k) {
            memcpy(&v, s + 8, 8);
            if ((v & AUDIT_IDS_SEQ) == want) {
                return 0;
            }
        }
        h = (h + 1) & (st->ids.cap - 1);
    }

    /* the record half first: a slot whose key made it to disk without
     * it names record -1, which nothing trusts */

    v = want | ((uint64_t) st->ids.epoch << 48);
    memcpy(s + 8, &v, 8);
    memcpy(s, &k, 8);
    st->ids.n++;

    return 0;
}


/* 1 when durable record seq holds id */

static int
audit_ids_check(audit_store_t *st, uint64_t seq, const char *id, size_t len)
{
    int             ok;
    audit_rec_t     rec;
    audit_reader_t  rd;

    if (audit_reader_open(&rd, st, st->durable, st->durable) != 0) {
        return 0;
    }

    rd.end = st->durable;
    ok = audit_reader_seek(&rd, seq, &rec) == 1 && rec.id_len == len
         && memcmp(rec.id, id, len) == 0;
    audit_reader_close(&rd);

    return ok;
}


uint64_t
audit_store_find(audit_store_t *st, const char *id, size_t len)
{
    uint64_t        k, h, v, seq;
    unsigned char  *s;

    if (st->ids.map == NULL) {
        return 0;
    }

    k = audit_ids_key(st, id, len);
    h = k & (st->ids.cap - 1);

    for ( ;; ) {
        s = st->ids.map + AUDIT_IDS_HDR + h * 16;
        memcpy(&v, s, 8);
        if (v == 0) {
            return 0;
        }

        if (v == k) {
            memcpy(&v, s + 8, 8);
            seq = (v & AUDIT_IDS_SEQ) - 1;

            if ((v & AUDIT_IDS_SEQ) != 0 && seq < st->size) {
                if ((v >> 48) == st->ids.epoch) {
                    return seq + 1;
                }
                if (seq < st->durable && audit_ids_check(st, seq, id, len)) {
                    return seq + 1;
                }
            }
        }

        h = (h + 1) & (st->ids.cap - 1);
    }
}


/* syncs the table, then moves its mark to the durable end */

int
audit_ids_sync(audit_store_t *st)
{
    if (st->ids.map == NULL) {
        return 0;
    }

    if (!st->nosync && msync(st->ids.map, st->ids.maplen, MS_SYNC) != 0) {
        audit_err(st, "ids: %s", strerror(errno));
        return -1;
    }

    audit_ids_header(st, st->durable);

    if (!st->nosync && msync(st->ids.map, AUDIT_IDS_HDR, MS_SYNC) != 0) {
        audit_err(st, "ids: %s", strerror(errno));
        return -1;
    }

    return 0;
}


void
audit_ids_close(audit_store_t *st)
{
    if (st->ids.map != NULL) {
        munmap(st->ids.map, st->ids.maplen);
        close(st->ids.fd);
    }

    st->ids.map = NULL;
    st->ids.fd = -1;
}
