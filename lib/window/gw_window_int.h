
/*
 * Copyright (C) Tollgate
 *
 * The inside of a window set (gw_window.h), shared by its files:
 *   gw_window.c        records in, closed windows out
 *   gw_window_agg.c    the aggregates' state: apply, merge, result
 *   gw_window_conf.c   the checks of a conf and the pipeline's "window"
 *   gw_window_state.c  save and load
 *   gw_window_hash.c   the hash table, the heap and the key's hash
 *
 * An open window is an accumulator (gw_window_acc_t).  Tumbling and
 * hopping accumulators are found by (key, start) in a hash table; a
 * session's by its key's entry (gw_window_kent_t, in a hash table by key),
 * which lists the key's sessions by start.  Every accumulator is also in
 * a binary heap ordered as results come out (end, start, key), so a
 * flush pops exactly the windows that close and a record costs O(log n)
 * whatever the number of open windows.
 */


#ifndef _GW_WINDOW_INT_H_INCLUDED_
#define _GW_WINDOW_INT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "gw_window.h"


#define GW_WINDOW_VERSION  1            /* of the saved state */


typedef struct gw_window_node_s  gw_window_node_t;
typedef struct gw_window_acc_s   gw_window_acc_t;
typedef struct gw_window_kent_s  gw_window_kent_t;


/* a hash table entry: (key, start); a key entry's start is 0 */

struct gw_window_node_s {
    gw_window_node_t       *next;
    uint64_t                hash;
    int64_t                 start;
    size_t                  klen;
    unsigned char          *key;
};


typedef struct {
    gw_window_node_t      **buckets;
    size_t                  size;       /* a power of two, or 0 */
    size_t                  n;
} gw_window_hash_t;


typedef struct {
    uint64_t                hash;
    size_t                  len;
    unsigned char          *text;       /* canonical JSON, owned */
} gw_window_dval_t;


/* a distinct count's values: open addressing, linear probing */

typedef struct {
    gw_window_dval_t       *slots;
    size_t                  size;       /* a power of two, or 0 */
    size_t                  n;
} gw_window_dset_t;


typedef union {
    double                  num;        /* SUM and AVG: the sum; MIN, MAX */
    gw_window_dset_t        set;        /* DISTINCT */
    json_t                 *acc;        /* REDUCE */
} gw_window_st_t;


struct gw_window_acc_s {
    gw_window_node_t        node;       /* tumbling, hopping: in w->accs */
    gw_window_acc_t        *prev;       /* session: the key's sessions */
    gw_window_acc_t        *next;
    gw_window_kent_t       *kent;       /* session: the key's entry */
    size_t                  heap;       /* index in w->heap */
    int64_t                 end;
    int64_t                 count;
    gw_window_st_t          st[];       /* one per aggregate */
};


struct gw_window_kent_s {
    gw_window_node_t        node;       /* in w->kents */
    gw_window_acc_t        *first;      /* open sessions, by start */
    gw_window_acc_t        *last;
    gw_window_kent_t       *tprev;      /* the queue of closed ends */
    gw_window_kent_t       *tnext;
    int64_t                 closed;     /* end of the last closed session */
    unsigned                tomb:1;     /* closed is set and queued */
};


/* a record's value for each aggregate */

typedef struct {
    double                  num;
    uint64_t                hash;
    size_t                  len;
    unsigned char          *text;       /* DISTINCT: canonical, owned */
} gw_window_val_t;


struct gw_window_s {
    gw_window_conf_t        conf;
    gw_window_hash_t        accs;       /* tumbling, hopping */
    gw_window_hash_t        kents;      /* session */
    gw_window_acc_t       **heap;
    size_t                  nheap;
    size_t                  heap_size;
    gw_window_kent_t       *thead;      /* closed ends, oldest first */
    gw_window_kent_t       *ttail;
    uint64_t                seed;
    int64_t                 max;        /* the largest time seen */
    unsigned                started:1;  /* max is set */
};


/* gw_window_conf.c */
int gw_window_conf_check(const gw_window_conf_t *conf, char *err,
    size_t errlen);
int gw_window_pointer_valid(const char *p);
json_t *gw_window_pointer_get(json_t *json, const char *p);

/* gw_window_hash.c */
uint64_t gw_window_hash_key(uint64_t seed, const unsigned char *key,
    size_t klen, int64_t start);
gw_window_node_t *gw_window_hash_find(gw_window_hash_t *h, uint64_t hash,
    const unsigned char *key, size_t klen, int64_t start);
int gw_window_hash_insert(gw_window_hash_t *h, gw_window_node_t *node);
void gw_window_hash_remove(gw_window_hash_t *h, gw_window_node_t *node);
int gw_window_heap_push(gw_window_t *w, gw_window_acc_t *acc);
void gw_window_heap_remove(gw_window_t *w, gw_window_acc_t *acc);
void gw_window_heap_fix(gw_window_t *w, gw_window_acc_t *acc);
int gw_window_acc_cmp(const gw_window_acc_t *a, const gw_window_acc_t *b);

/* gw_window.c */
gw_window_t *gw_window_create(const gw_window_conf_t *conf, char *err,
    size_t errlen);
gw_window_acc_t *gw_window_acc_new(gw_window_t *w, const unsigned char *key,
    size_t klen, int64_t start, int64_t end);
int gw_window_acc_link(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_kent_t *kent, gw_window_acc_t *after);
gw_window_kent_t *gw_window_kent_get(gw_window_t *w, const unsigned char *key,
    size_t klen);
int gw_window_tomb_set(gw_window_t *w, gw_window_kent_t *kent, int64_t end);

/* gw_window_agg.c */
int gw_window_vals_get(gw_window_t *w, json_t *rec, gw_window_val_t *vals,
    char *err, size_t errlen);
void gw_window_vals_free(gw_window_t *w, gw_window_val_t *vals);
int gw_window_agg_check(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_val_t *vals, json_t *rec, json_t **reduced, char *err,
    size_t errlen);
int gw_window_agg_apply(gw_window_t *w, gw_window_acc_t *acc,
    gw_window_val_t *vals, json_t **reduced);
int gw_window_agg_merge(gw_window_t *w, gw_window_acc_t *dst,
    gw_window_acc_t *src, char *err, size_t errlen);
void gw_window_agg_free(gw_window_t *w, gw_window_acc_t *acc);
json_t *gw_window_agg_result(gw_window_t *w, gw_window_acc_t *acc);
int gw_window_dset_add(gw_window_dset_t *set, uint64_t hash,
    const unsigned char *text, size_t len);
json_t *gw_window_number(double d);
json_t *gw_window_hex(const unsigned char *p, size_t len);


#endif /* _GW_WINDOW_INT_H_INCLUDED_ */
