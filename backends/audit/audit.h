
/*
 * Copyright (C) Tollgate
 *
 * The audit service's parts (docs/audit.md).  The store is plain C with
 * no libevent type, so that `verify`, `gen` and the service share it:
 * audit_store.c (open, scan, append, commit, nodes, id index),
 * audit_writer.c (the group-commit and background threads), audit_ids.c
 * (the id index), audit_index.c, audit_ixfile.c, audit_ixload.c and
 * audit_ixscan.c (the secondary indexes), audit_file.c (frames, files,
 * the reader), audit_crc.c.  The service: audit_main.c, audit_ingest.c
 * (the event contract, POST, commits and waiters), audit_stream.c (the
 * Redis stream), audit_api.c (proofs, checkpoints), audit_query.c (the
 * records).  Offline: audit_verify.c, audit_tools.c (keygen, gen).
 *
 * On disk, in the data folder:
 *
 *   seg-<first index, 20 digits>   segment: a 32-byte header, then frames
 *   nodes                          every Merkle node, 32 bytes each
 *   checkpoints                    every signed checkpoint, framed
 *   audit.pub                      the verifier key, as text
 *   idx-<first>[.open]             a segment's index (audit-format.md)
 *   ids                            the id index, mapped
 *
 * A frame is u32be body length, u32be CRC32C of the body, the body:
 * chain hash (32 bytes), id length (1 byte), id, canonical record.
 */


#ifndef _AUDIT_H_INCLUDED_
#define _AUDIT_H_INCLUDED_


#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gw_merkle.h"
#include "gw_note.h"


#define AUDIT_SEG_MAGIC      "TGAUDSEG"
#define AUDIT_SEG_HDR        32         /* bytes */
#define AUDIT_FRAME_HDR      8          /* length and CRC32C */
#define AUDIT_ID_MAX         64
#define AUDIT_RECORD_MAX     (1024 * 1024)
#define AUDIT_MARK           64         /* a file offset every 64 records */
#define AUDIT_ERR_MAX        1280
#define AUDIT_CP_MAGIC       "TGAUDCP1"


#define AUDIT_IX_FIELDS      4          /* actor, action, resource, status */
#define AUDIT_IX_MAGIC       "TGAUDIX2"
#define AUDIT_IX_OPEN_MAGIC  "TGAUDIXO"   /* the open segment's, at a stop */
#define AUDIT_IX_HDR         128        /* bytes */
#define AUDIT_IX_BLOOM_BITS  10         /* bloom bits per distinct key */
#define AUDIT_IX_ENT         12         /* key (8), record - first (4) */
#define AUDIT_IX_BLOCK       256        /* entries per fence key */
#define AUDIT_IDS_MAGIC      "TGAUDID1"
#define AUDIT_IDS_HDR        4096       /* bytes */


/* the minimum and maximum "time" of AUDIT_MARK records */
typedef struct {
    double              min;
    double              max;
} audit_zone_t;


/* what the index takes from one record (audit_index_extract) */
typedef struct {
    uint64_t            keys[AUDIT_IX_FIELDS];
    unsigned            has;            /* bit f: field f has a key */
    int                 has_time;
    double              time;
    int                 bad;            /* not a JSON object */
} audit_ixrec_t;


/* one key's records in the open segment, record - first, ascending */
typedef struct {
    uint64_t            key;            /* 0: a free slot */
    uint32_t           *rel;
    uint32_t            n;
    uint32_t            cap;
} audit_mpost_t;


/* the open (last) segment's index, in memory */
typedef struct {
    audit_mpost_t      *slots;          /* open addressing, at most 1/2 full */
    uint64_t            cap;
    uint64_t            used;
    uint64_t            nent;
    audit_zone_t       *zones;
    size_t              nzones;
    size_t              zcap;
    uint64_t           *bad;            /* records that are not JSON */
    size_t              nbad;
    size_t              bcap;
} audit_memix_t;


/* a sealed segment's index file, idx-<first>: what is held of it */
typedef struct {
    uint64_t            nent;
    off_t               ent_off;        /* the entries in the file */
    uint64_t           *fence;          /* key of entry k * AUDIT_IX_BLOCK */
    uint64_t            nfence;
    audit_zone_t       *zones;
    uint64_t           *bad;
    uint64_t            nbad;
    unsigned char      *bloom;          /* the segment's keys, 0 bytes: none */
    uint64_t            nbloom;         /* bytes, a power of two */
} audit_ixseg_t;


typedef struct audit_store_s  audit_store_t;
typedef struct audit_bgjob_s  audit_bgjob_t;

/* work for the background thread (audit_writer.c): run() there, done()
 * on the loop afterwards; both at once, in order, without the thread */
struct audit_bgjob_s {
    audit_bgjob_t      *next;
    int               (*run)(audit_bgjob_t *job);
    void              (*done)(audit_store_t *st, audit_bgjob_t *job);
    int                 rc;
    char                err[AUDIT_ERR_MAX];
};


/* an index file to write (audit_ixfile.c), from memory only */
typedef struct {
    audit_bgjob_t       job;
    const char         *dir;
    int                 dir_fd;
    int                 nosync;
    int                 open;           /* the open segment's, at a stop */
    char               *path;           /* the segment */
    uint64_t            first;
    uint64_t            count;
    off_t               size;
    off_t               last;           /* the last record's frame */
    off_t              *marks;
    size_t              nmarks;
    unsigned char       chain[GW_MERKLE_HASH_LEN];
    const audit_memix_t *mix;
    audit_ixseg_t      *ix;             /* out: the summary */
} audit_ixjob_t;


/* the id index, an open-addressing table in the file "ids", mapped */
typedef struct {
    int                 fd;
    unsigned char      *map;
    size_t              maplen;
    uint64_t            cap;            /* slots, a power of two */
    uint64_t            n;              /* slots used */
    uint64_t            mark;           /* every record below is in it */
    unsigned            epoch;          /* starts of the service, 16 bits */

    /* growing: the slots of the old table are moved a few per insert,
     * lookups read both; then the new table is synced and renamed over
     * the old one off the loop (growing until that is done) */
    int                 migrating;
    int                 growing;
    int                 ofd;
    unsigned char      *omap;
    size_t              omaplen;
    uint64_t            ocap;
    uint64_t            mpos;           /* old slots moved so far */
} audit_ids_t;


typedef struct {
    char               *path;
    uint64_t            first;          /* index of its first record */
    uint64_t            count;
    off_t               size;           /* bytes on disk */
    off_t              *marks;          /* offset of record first + k * 64 */
    size_t              nmarks;
    size_t              cap;
    audit_ixseg_t      *ix;             /* sealed segments only */
    audit_memix_t      *mix;            /* sealed, its file being written */
} audit_seg_t;


struct audit_store_s {
    char               *dir;
    char                err[AUDIT_ERR_MAX];

    off_t               seg_max;        /* roll over past this size */
    int                 nosync;         /* bench only: no fdatasync */

    audit_seg_t        *segs;
    size_t              nsegs;
    size_t              segs_cap;
    int                 seg_fd;         /* the last segment, for appends */
    int                 node_fd;
    int                 dir_fd;

    uint64_t            size;           /* records appended */
    uint64_t            durable;        /* records written and synced */
    unsigned char       chain[GW_MERKLE_HASH_LEN];
    gw_merkle_range_t   range;
    gw_merkle_range_t   durable_range;
    gw_merkle_hasher_t *hasher;
    audit_ids_t         ids;
    audit_memix_t       mem;            /* the last segment's index */
    uint64_t            reindexed;      /* records indexed at open */
    uint64_t            ix_rebuilt;     /* segment indexes rebuilt at open */
    uint64_t            ix_covered;     /* open segment records: from file */
    off_t               last_frame;     /* the offset of the last record */
    uint64_t            ids_reinserted; /* ids put back at open */

    unsigned char      *buf;            /* frames not yet written */
    size_t              len;
    size_t              cap;
    unsigned char      *nbuf;           /* nodes not yet written */
    size_t              nlen;
    size_t              ncap;

    uint64_t            repaired;       /* torn-tail bytes dropped at open */
    uint64_t            commits;

    /* the writer thread (audit_store_async): a commit in flight writes
     * and syncs the frames of the first fsize records while the loop
     * appends the next ones */
    int                 async;
    int                 notify[2];      /* a byte per finished flight */
    pthread_t           thread;
    pthread_mutex_t     mu;
    pthread_cond_t      cv;
    int                 job;            /* under mu: a flight handed over */
    int                 done;           /* under mu: the flight is over */
    int                 quit;           /* under mu */
    int                 flight_rc;      /* under mu */
    int                 flight_errno;   /* under mu */
    int                 flight;         /* a flight is out (loop only) */
    unsigned char      *fbuf;
    size_t              flen;
    size_t              fcap;
    unsigned char      *fnbuf;
    size_t              fnlen;
    size_t              fncap;
    uint64_t            fsize;
    gw_merkle_range_t   frange;

    /* the background thread: index files and id table syncs */
    int                 bg;
    pthread_t           bg_thread;
    pthread_mutex_t     bg_mu;
    pthread_cond_t      bg_cv;
    audit_bgjob_t      *bg_queue;        /* under bg_mu */
    audit_bgjob_t      *bg_done;        /* under bg_mu */
    int                 bg_quit;        /* under bg_mu */
    unsigned            bg_out;         /* submitted, not reaped (loop) */
    uint64_t            bg_errors;
    char                bg_err[AUDIT_ERR_MAX];
};


/* a record as read back */
typedef struct {
    uint64_t             seq;
    const unsigned char *chain;
    const char          *id;
    size_t               id_len;
    const unsigned char *rec;
    size_t               rec_len;
} audit_rec_t;


typedef struct {
    audit_store_t      *st;
    int                 fd;
    size_t              seg;
    off_t               off;
    uint64_t            seq;            /* of the next record */
    uint64_t            end;            /* stop before this index */
    size_t              chunk;          /* bytes per read; 0: 256 KiB */
    unsigned char      *buf;            /* file bytes from offset off */
    size_t              cap;
    size_t              len;            /* valid bytes in buf */
    size_t              pos;            /* the next frame in buf */
} audit_reader_t;


#define audit_err(st, ...)                                                    \
    snprintf((st)->err, sizeof((st)->err), __VA_ARGS__)


static inline void
audit_put32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}


static inline uint32_t
audit_get32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static inline void
audit_put64(unsigned char *p, uint64_t v)
{
    audit_put32(p, v >> 32);
    audit_put32(p + 4, (uint32_t) v);
}


static inline uint64_t
audit_get64(const unsigned char *p)
{
    return ((uint64_t) audit_get32(p) << 32) | audit_get32(p + 4);
}


/* audit_file.c */
int audit_grow(unsigned char **buf, size_t *cap, size_t need);
int audit_write_all(int fd, const unsigned char *p, size_t len);

/* audit_crc.c */
uint32_t audit_crc32c(const unsigned char *p, size_t len);
uint32_t audit_crc32c_update(uint32_t crc, const unsigned char *p,
    size_t len);

/* audit_store.c */
int audit_store_open(audit_store_t *st, const char *dir, off_t seg_max);
void audit_store_close(audit_store_t *st);

/*
 * Looks id up: its record index + 1 when a record has it (appended,
 * durable or not), else 0.
 */
uint64_t audit_store_find(audit_store_t *st, const char *id, size_t len);

/*
 * Appends a record (rec: canonical JSON) under id, buffered until
 * audit_store_commit(), and indexes it: x holds its keys
 * (audit_index_extract()), or NULL to read them from rec.  0, or -1
 * with st->err.
 */
int audit_store_append(audit_store_t *st, const char *id, size_t id_len,
    const unsigned char *rec, size_t rec_len, const audit_ixrec_t *x);

/*
 * Writes the buffered frames and nodes, fdatasync()s the segment: at
 * once, after waiting for a commit in flight.
 */
int audit_store_commit(audit_store_t *st);

/*
 * The writer thread: audit_store_async() starts it (st->notify[0] then
 * gets a byte each time a flight ends); audit_store_commit_start() hands
 * it what is buffered, unless a flight is out or nothing waits;
 * audit_store_commit_finish() takes a finished flight's result (1: the
 * store is durable further, 0: nothing finished, -1: the write failed);
 * audit_store_wait() waits for the flight out.
 */
int audit_store_async(audit_store_t *st);
int audit_store_commit_start(audit_store_t *st);
int audit_store_commit_finish(audit_store_t *st);
int audit_store_wait(audit_store_t *st);

/*
 * audit_bg_submit() hands job to the background thread (or runs it and
 * its done() at once without one); audit_bg_reap() calls done() of the
 * finished ones (from the loop, on a byte in st->notify); audit_bg_drain()
 * waits for all.
 */
void audit_bg_submit(audit_store_t *st, audit_bgjob_t *job);
void audit_bg_reap(audit_store_t *st);
void audit_bg_drain(audit_store_t *st);

/* fsync()s the node file (before a checkpoint commits to its nodes) */
int audit_store_sync_nodes(audit_store_t *st);

/* the root of the first size durable records */
int audit_store_root(audit_store_t *st, uint64_t size, unsigned char *out);

/* a gw_merkle_source_t over the node file */
void audit_store_source(audit_store_t *st, gw_merkle_source_t *src);

/* the position of node (level, index) in the node file, in hashes */
uint64_t audit_node_pos(unsigned level, uint64_t index);

/* reads durable records from index seq on */
int audit_reader_open(audit_reader_t *rd, audit_store_t *st, uint64_t seq,
    uint64_t end);
/* 1 with rec filled, 0 at the end, -1 with st->err */
int audit_reader_next(audit_reader_t *rd, audit_rec_t *rec);
/* reads record seq (below rd->end) into rec: 1, or -1 with st->err */
int audit_reader_seek(audit_reader_t *rd, uint64_t seq, audit_rec_t *rec);
void audit_reader_close(audit_reader_t *rd);

/* parses one frame at p (avail bytes): body length, or -1 when torn/bad */
ssize_t audit_frame_parse(const unsigned char *p, size_t avail,
    audit_rec_t *rec);

/* the segment names of dir, sorted; *n of them (free with the list) */
int audit_list_segments(const char *dir, char ***names, size_t *n,
    char *err, size_t errlen);
void audit_free_list(char **names, size_t n);

/* reads a whole file (at most max bytes) into *out (malloc, NUL added) */
int audit_read_file(const char *path, size_t max, unsigned char **out,
    size_t *len);

/* appends a checkpoint frame to dir/checkpoints and syncs it */
int audit_checkpoint_append(const char *dir, const unsigned char *note,
    size_t len, char *err, size_t errlen);

/*
 * Calls fn for every checkpoint frame of dir/checkpoints (0 to go on).
 * With repair, the first incomplete or damaged (CRC32C) frame and what
 * follows are cut off, as a torn tail; without, damaged frames are
 * passed on with crc_ok 0 and an incomplete one ends the scan, its
 * offset in *torn (-1 when there is none).
 */
typedef int (*audit_cp_pt)(void *data, size_t k, const unsigned char *note,
    size_t len, int crc_ok);
int audit_checkpoints_scan(const char *dir, int repair, audit_cp_pt fn,
    void *data, off_t *torn, char *err, size_t errlen);

/* the latest checkpoint of dir (malloc()ed), or *out NULL when none */
int audit_checkpoints_latest(const char *dir, unsigned char **out,
    size_t *len, char *err, size_t errlen);

/* audit_index.c, audit_ixfile.c (written), audit_ixload.c (read back):
 * the secondary indexes (audit-format.md) */
uint64_t audit_index_key(unsigned field, const void *p, size_t len);
uint64_t audit_index_status_key(double status);

/* audit_ixscan.c: a record's keys read from its canonical text: 0, or
 * -1 when the text is not one the scanner vouches for (use jansson) */
int audit_index_scan(const unsigned char *rec, size_t len,
    audit_ixrec_t *x);
int audit_index_add(audit_store_t *st, uint64_t seq,
    const unsigned char *rec, size_t rec_len, const audit_ixrec_t *x);
int audit_index_seal(audit_store_t *st, audit_seg_t *seg);
int audit_index_load(audit_store_t *st, audit_seg_t *seg, uint64_t end);
int audit_index_save_open(audit_store_t *st);
int audit_index_load_open(audit_store_t *st, audit_seg_t *seg);
int audit_index_bloom_has(const audit_ixseg_t *ix, uint64_t key);
uint64_t audit_index_pair(uint64_t a, uint64_t b);
int audit_index_put(audit_store_t *st, uint64_t key, uint32_t rel);
audit_zone_t *audit_index_zone(audit_store_t *st, uint64_t rel);
void audit_index_free(audit_store_t *st);
void audit_ixseg_free(audit_ixseg_t *ix);
void audit_memix_reset(audit_memix_t *m);
const audit_mpost_t *audit_memix_find(const audit_memix_t *m,
    uint64_t key);

/* audit_ids.c: the id index */
int audit_ids_open(audit_store_t *st);
int audit_ids_insert(audit_store_t *st, const char *id, size_t len,
    uint64_t seq);
int audit_ids_sync(audit_store_t *st);
void audit_ids_sync_start(audit_store_t *st);
void audit_ids_settle(audit_store_t *st);
void audit_ids_close(audit_store_t *st);

/* audit_verify.c */
int audit_verify_main(int argc, char **argv);

/* audit_tools.c */
int audit_keygen_main(int argc, char **argv);
int audit_gen_main(int argc, char **argv);
int audit_write_pub(const char *dir, const char *vkey, char *err,
    size_t errlen);
int audit_load_skey(const char *path, gw_note_skey_t *key, char *err,
    size_t errlen);


#endif /* _AUDIT_H_INCLUDED_ */
