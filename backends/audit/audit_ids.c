
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
 *
 * Nothing here stops the loop for long: the sync at a seal (an msync of
 * the table, then the mark) runs on the background thread; the table
 * grows incrementally, into a new file ids.tmp twice the size, AUDIT_IDS_STEP
 * old slots moved per insert while lookups read both tables and new
 * slots go to the new one; when all are moved, the background thread
 * syncs the new table and renames it over ids.  No mark moves during a
 * growth, so the old file stays right for a start after a crash.
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
#define AUDIT_IDS_STEP  64                      /* old slots per insert */


/* the table's sync or the end of its growth, on the background thread */
typedef struct {
    audit_bgjob_t       job;
    unsigned char      *map;
    size_t              maplen;
    uint64_t            cap;
    uint64_t            n;
    uint64_t            mark;
    unsigned            epoch;
    int                 nosync;
    int                 grow;           /* rename tmp over path */
    int                 dir_fd;
    char                path[1100];
    char                tmp[1100];
} audit_idsjob_t;


static uint64_t audit_ids_key(audit_store_t *st, const char *id,
    size_t len);
static int audit_ids_map(audit_store_t *st, const char *path,
    uint64_t cap, int create);
static int audit_ids_grow(audit_store_t *st);
static void audit_ids_header(audit_store_t *st, uint64_t mark);
static void audit_ids_header_put(unsigned char *h, uint64_t cap, uint64_t n,
    uint64_t mark, unsigned epoch);
static uint64_t audit_ids_probe(audit_store_t *st, const unsigned char *map,
    uint64_t cap, uint64_t k, const char *id, size_t len, uint64_t want);
static void audit_ids_migrate(audit_store_t *st, uint64_t steps);
static int audit_idsjob_run(audit_bgjob_t *bj);
static void audit_idsjob_done(audit_store_t *st, audit_bgjob_t *bj);
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
audit_ids_header_put(unsigned char *h, uint64_t cap, uint64_t n,
    uint64_t mark, unsigned epoch)
{
    memcpy(h, AUDIT_IDS_MAGIC, 8);
    audit_put64(h + 8, cap);
    audit_put64(h + 16, n);
    audit_put64(h + 24, mark);
    audit_put64(h + 32, epoch);
    audit_put32(h + 40, audit_crc32c(h, 40));
}


static void
audit_ids_header(audit_store_t *st, uint64_t mark)
{
    audit_ids_header_put(st->ids.map, st->ids.cap, st->ids.n, mark,
                         st->ids.epoch);
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
        if (audit_ids_map(st, path, 1024, 1) != 0) {
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


/* starts a growth: twice the slots, in a new ids.tmp, empty */

static int
audit_ids_grow(audit_store_t *st)
{
    char         tmp[1100];
    audit_ids_t  old;

    snprintf(tmp, sizeof(tmp), "%s/ids.tmp", st->dir);

    old = st->ids;

    if (audit_ids_map(st, tmp, old.cap * 2, 1) != 0) {
        st->ids = old;
        return -1;
    }

    st->ids.omap = old.map;
    st->ids.omaplen = old.maplen;
    st->ids.ofd = old.fd;
    st->ids.ocap = old.cap;
    st->ids.mpos = 0;
    st->ids.migrating = 1;

    audit_ids_migrate(st, AUDIT_IDS_STEP);

    return 0;
}


/*
 * Moves up to steps slots of the old table into the new one; after the
 * last, hands the new table's sync and rename to the background thread.
 */

static void
audit_ids_migrate(audit_store_t *st, uint64_t steps)
{
    uint64_t         h, k, v, w, cap;
    unsigned char   *s, *d;
    audit_idsjob_t  *job;

    cap = st->ids.cap;

    for ( /* void */ ; steps > 0 && st->ids.mpos < st->ids.ocap; steps--) {
        s = st->ids.omap + AUDIT_IDS_HDR + st->ids.mpos++ * 16;
        memcpy(&k, s, 8);
        if (k == 0) {
            continue;
        }
        memcpy(&v, s + 8, 8);

        for (h = k & (cap - 1); ; h = (h + 1) & (cap - 1)) {
            d = st->ids.map + AUDIT_IDS_HDR + h * 16;
            memcpy(&w, d, 8);
            if (w == 0) {
                memcpy(d + 8, &v, 8);
                memcpy(d, &k, 8);
                break;
            }
            if (w == k && memcmp(d + 8, &v, 8) == 0) {
                break;
            }
        }
    }

    if (st->ids.mpos < st->ids.ocap) {
        return;
    }

    st->ids.migrating = 0;
    st->ids.growing = 1;

    job = calloc(1, sizeof(audit_idsjob_t));
    if (job == NULL) {
        /* the old file stays: the table is whole in memory meanwhile */
        st->bg_errors++;
        snprintf(st->bg_err, sizeof(st->bg_err), "ids: out of memory");
        munmap(st->ids.omap, st->ids.omaplen);
        close(st->ids.ofd);
        st->ids.omap = NULL;
        st->ids.growing = 0;
        return;
    }

    job->job.run = audit_idsjob_run;
    job->job.done = audit_idsjob_done;
    job->map = st->ids.map;
    job->maplen = st->ids.maplen;
    job->cap = st->ids.cap;
    job->n = st->ids.n;
    job->mark = st->ids.mark;
    job->epoch = st->ids.epoch;
    job->nosync = st->nosync;
    job->grow = 1;
    job->dir_fd = st->dir_fd;
    snprintf(job->path, sizeof(job->path), "%s/ids", st->dir);
    snprintf(job->tmp, sizeof(job->tmp), "%s/ids.tmp", st->dir);

    audit_bg_submit(st, &job->job);
}


/* the background thread: the table synced, then its header (and moved) */

static int
audit_idsjob_run(audit_bgjob_t *bj)
{
    audit_idsjob_t  *job;

    job = (audit_idsjob_t *) bj;

    if (!job->nosync && msync(job->map, job->maplen, MS_SYNC) != 0) {
        snprintf(bj->err, sizeof(bj->err), "ids: %s", strerror(errno));
        return -1;
    }

    audit_ids_header_put(job->map, job->cap, job->n, job->mark, job->epoch);

    if ((!job->nosync && msync(job->map, AUDIT_IDS_HDR, MS_SYNC) != 0)
        || (job->grow && rename(job->tmp, job->path) != 0)
        || (job->grow && !job->nosync && fsync(job->dir_fd) != 0))
    {
        snprintf(bj->err, sizeof(bj->err), "ids: %s", strerror(errno));
        return -1;
    }

    return 0;
}


static void
audit_idsjob_done(audit_store_t *st, audit_bgjob_t *bj)
{
    audit_idsjob_t  *job;

    job = (audit_idsjob_t *) bj;

    if (bj->rc != 0) {
        st->bg_errors++;
        snprintf(st->bg_err, sizeof(st->bg_err), "%s", bj->err);

    } else if (job->map == st->ids.map && job->mark > st->ids.mark) {
        st->ids.mark = job->mark;
    }

    if (job->grow) {
        munmap(st->ids.omap, st->ids.omaplen);
        close(st->ids.ofd);
        st->ids.omap = NULL;
        st->ids.ofd = -1;
        st->ids.growing = 0;
    }

    free(job);
}


/*
 * After a seal: the table's sync and its mark moved to the durable end,
 * on the background thread; skipped while the table grows (the old
 * file's mark must not pass the slots only the new table holds).
 */

void
audit_ids_sync_start(audit_store_t *st)
{
    audit_idsjob_t  *job;

    if (st->ids.map == NULL || st->ids.migrating || st->ids.growing) {
        return;
    }

    job = calloc(1, sizeof(audit_idsjob_t));
    if (job == NULL) {
        return;
    }

    job->job.run = audit_idsjob_run;
    job->job.done = audit_idsjob_done;
    job->map = st->ids.map;
    job->maplen = st->ids.maplen;
    job->cap = st->ids.cap;
    job->n = st->ids.n;
    job->mark = st->durable;
    job->epoch = st->ids.epoch;
    job->nosync = st->nosync;

    audit_bg_submit(st, &job->job);
}


/* at a stop: a growth in progress is finished (then drain the thread) */

void
audit_ids_settle(audit_store_t *st)
{
    if (st->ids.migrating) {
        audit_ids_migrate(st, UINT64_MAX);
    }
}


/* seq + 1 when table (map, cap) holds a slot of key k: for want, that
 * slot; else a slot to trust for id (want 0); 0 when none */

static uint64_t
audit_ids_probe(audit_store_t *st, const unsigned char *map, uint64_t cap,
    uint64_t k, const char *id, size_t len, uint64_t want)
{
    uint64_t              h, v, seq;
    const unsigned char  *s;

    for (h = k & (cap - 1); ; h = (h + 1) & (cap - 1)) {
        s = map + AUDIT_IDS_HDR + h * 16;
        memcpy(&v, s, 8);
        if (v == 0) {
            return 0;
        }

        if (v != k) {
            continue;
        }

        memcpy(&v, s + 8, 8);

        if (want != 0) {
            if ((v & AUDIT_IDS_SEQ) == want) {
                return want;
            }
            continue;
        }

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

    if (st->ids.migrating) {
        audit_ids_migrate(st, AUDIT_IDS_STEP);
    }

    if ((st->ids.n + 1) * 4 > st->ids.cap * 3) {
        if (st->ids.migrating) {
            audit_ids_migrate(st, UINT64_MAX);
        }
        if (st->ids.growing) {
            audit_bg_drain(st);
        }
        if (audit_ids_grow(st) != 0) {
            return -1;
        }
    }

    k = audit_ids_key(st, id, len);
    want = seq + 1;

    if (st->ids.migrating
        && audit_ids_probe(st, st->ids.omap, st->ids.ocap, k, id, len, want)
           != 0)
    {
        return 0;
    }

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
    uint64_t  k, r;

    if (st->ids.map == NULL) {
        return 0;
    }

    k = audit_ids_key(st, id, len);

    r = audit_ids_probe(st, st->ids.map, st->ids.cap, k, id, len, 0);

    if (r == 0 && st->ids.migrating) {
        r = audit_ids_probe(st, st->ids.omap, st->ids.ocap, k, id, len, 0);
    }

    return r;
}


/* syncs the table, then moves its mark to the durable end (at once) */

int
audit_ids_sync(audit_store_t *st)
{
    if (st->ids.map == NULL || st->ids.migrating || st->ids.growing) {
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

    if (st->ids.omap != NULL) {
        munmap(st->ids.omap, st->ids.omaplen);
        close(st->ids.ofd);
    }

    st->ids.omap = NULL;
    st->ids.migrating = 0;
    st->ids.growing = 0;

    st->ids.map = NULL;
    st->ids.fd = -1;
}
