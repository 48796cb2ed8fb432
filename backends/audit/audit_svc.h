
/*
 * Copyright (C) Tollgate
 *
 * The audit service's state, shared by its HTTP and Redis halves
 * (audit_main.c, audit_ingest.c, audit_api.c, audit_query.c).  One per
 * process.
 */


#ifndef _AUDIT_SVC_H_INCLUDED_
#define _AUDIT_SVC_H_INCLUDED_


#include <time.h>

#include <jansson.h>
#include <event2/keyvalq_struct.h>

#include "audit.h"
#include "gw_svc.h"


typedef struct audit_waiter_s  audit_waiter_t;

/* called once the store is durable up to w->need records (ok 1) or a
 * write failed (ok 0) */
typedef void (*audit_waiter_pt)(audit_waiter_t *w, int ok);

struct audit_waiter_s {
    audit_waiter_t     *next;
    uint64_t            need;
    audit_waiter_pt     done;
};


typedef struct {
    gw_svc_t           *svc;
    audit_store_t       st;
    int                 open;
    int                 failed;         /* a write failed: no more appends */
    int                 stopped;        /* the loop is over */

    gw_note_skey_t      skey;
    int                 have_key;
    char                vkey[GW_NOTE_KEY_TEXT_MAX];
    unsigned char      *cp;             /* the latest signed checkpoint */
    size_t              cp_len;
    uint64_t            cp_size;

    struct event       *commit_timer;
    int                 commit_armed;
    struct event       *commit_done;    /* the writer thread's pipe */
    struct timespec     commit_t0;
    struct event       *tick;           /* checkpoints and the stream */
    long long           cp_elapsed;     /* ms since the last checkpoint */
    long long           claim_elapsed;

    audit_waiter_t     *waiters;

    /* the stream consumer */
    int                 phase;
    int                 busy;
    char                consumer[128];
    char                cursor[64];

    gw_svc_metric_t    *m_events;
    gw_svc_metric_t    *m_records;
    gw_svc_metric_t    *m_commits;
    gw_svc_metric_t    *m_commit_time;
    gw_svc_metric_t    *m_checkpoints;
    gw_svc_metric_t    *m_ix_skipped;
} audit_t;


enum {
    AUDIT_PHASE_GROUP = 0,      /* create the consumer group */
    AUDIT_PHASE_OWN,            /* our own pending entries, from 0 */
    AUDIT_PHASE_CLAIM,          /* XAUTOCLAIM from dead consumers */
    AUDIT_PHASE_NEW             /* new entries, blocking */
};


extern audit_t  audit;


/* audit_ingest.c */

/*
 * Checks one event (the contract in docs/audit.md): 0, or -1 with a
 * reason in why.  *id points into ev.
 */
int audit_event_check(json_t *ev, const char **id, char *why, size_t len);

/*
 * Stores a checked event unless its id is known: *seq gets its record
 * index (new or old), *dup 1 for a duplicate.  0, or -1 (st.err).
 */
int audit_event_store(json_t *ev, long long received, uint64_t *seq,
    int *dup);

void audit_post_events(gw_svc_req_t *req, void *data);
void audit_wait(audit_waiter_t *w);
void audit_schedule_commit(void);

/* hands what waits to the writer thread (at once without it) */
int audit_commit_start(void);

/* a flight ended: its waiters answered, the next one started */
void audit_commit_finished(void);

/* commits now, waiting for the disk, and answers the waiters */
int audit_commit_sync(void);

void audit_stream_kick(void);

/* audit_api.c */
void audit_get_key(gw_svc_req_t *req, void *data);
void audit_checkpoint(gw_svc_req_t *req, void *data);
void audit_proof(gw_svc_req_t *req, void *data);
int audit_sign_checkpoint(void);
long long audit_now_ms(void);

/* a decimal query parameter: 0, 1 when absent (out = dflt), -1 if bad */
int audit_query_u64(struct evkeyvalq *q, const char *name, uint64_t dflt,
    uint64_t *out);

/* 0, or -1 after a 400 answer naming a parameter not in known (NULL-ended) */
int audit_query_known(gw_svc_req_t *req, struct evkeyvalq *q,
    const char *const *known);

/* a key's postings in one segment: entries [pos, hi) of memory or file */
typedef struct {
    int                 fd;             /* -1: mem */
    const uint32_t     *mem;
    off_t               off;            /* the file's entries */
    uint64_t            pos;
    uint64_t            hi;
    uint64_t            bstart;         /* entries buffered */
    uint64_t            blen;
    uint32_t            brel[AUDIT_IX_BLOCK];
    unsigned char       buf[AUDIT_IX_BLOCK * AUDIT_IX_ENT];
} audit_pit_t;


/* a filtered query's candidates (audit_ixquery.c) */
typedef struct {
    audit_store_t      *st;
    uint64_t            keys[AUDIT_IX_FIELDS];
    unsigned            nkeys;
    int                 timed;
    double              from;           /* from <= time < to */
    double              to;
    uint64_t            next;           /* the next record to consider */
    uint64_t            end;            /* the durable end at the start */
    size_t              seg;            /* the iterators' segment */
    int                 fd;
    int                 empty;          /* a key has no posting in seg */
    uint64_t            skipped;        /* segments ruled out by bloom */
    audit_pit_t         pit[AUDIT_IX_FIELDS];
    const audit_zone_t *zones;
    size_t              nzones;
    const uint64_t     *bad;
    size_t              nbad;
    size_t              bpos;
} audit_ixq_t;


/*
 * audit_ixq_init() starts at record start, then the caller sets keys,
 * nkeys, timed, from and to; audit_ixq_next() gives the next candidate
 * in index order (1), 0 at the end, -1 with st->err.
 */
void audit_ixq_init(audit_ixq_t *q, audit_store_t *st, uint64_t start);
int audit_ixq_next(audit_ixq_t *q, uint64_t *seq);
void audit_ixq_close(audit_ixq_t *q);

/* audit_index.c: the keys of a record read as JSON (NULL: not JSON) */
void audit_index_extract(json_t *rec, audit_ixrec_t *x);

/* audit_query.c */
void audit_records(gw_svc_req_t *req, void *data);


#endif /* _AUDIT_SVC_H_INCLUDED_ */
