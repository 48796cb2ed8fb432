
/*
 * Copyright (C) Tollgate
 *
 * Lease mode (ngx_http_gw_limit_lease.c): what its request side and its
 * zone (ngx_http_gw_limit_lease_zone.c: the leases in shared memory, their
 * give-back to Redis, the timer that gives back expired ones) share.
 */


#ifndef _NGX_HTTP_GW_LIMIT_LEASE_H_INCLUDED_
#define _NGX_HTTP_GW_LIMIT_LEASE_H_INCLUDED_


#include "ngx_http_gw_limit.h"
#include "gw_limit_lease.h"


#define NGX_HTTP_GW_LIMIT_LEASE_TICK      100   /* ms: expired leases are
                                                   given back this often */
#define NGX_HTTP_GW_LIMIT_LEASE_NUM_LEN   24    /* a script argument */


/* one key's lease, in shared memory */
typedef struct {
    u_char                      color;
    u_char                      hashed;
    u_short                     len;
    ngx_queue_t                 queue;          /* LRU */
    ngx_queue_t                 held;           /* sh->held, while left */
    double                      expires;        /* local us: spend before */
    double                      window;         /* Redis' window index */
    double                      win_end;        /* local us: its end */
    double                      remaining;      /* Redis' after the lease */
    double                      refused;        /* local us: refused until */
    double                      refill;         /* local us: a refill was
                                                   asked, 0: none */
    uint32_t                    left;
    uint32_t                    granted;        /* the last lease's size */
    uint32_t                    want;           /* the next one's */
    uint32_t                    gen;            /* leases stored */
    unsigned                    ran_out:1;      /* before its end */
    u_char                      data[1];        /* name, NUL, key */
} ngx_http_gw_limit_lease_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
    ngx_queue_t                 held;
} ngx_http_gw_limit_lease_sh_t;


typedef struct {
    size_t                      size;
    ngx_shm_zone_t             *zone;
    ngx_http_gw_limit_lease_sh_t  *sh;
    ngx_slab_pool_t            *shpool;
    ngx_http_gw_redis_script_t  script;
    ngx_event_t                 timer;
} ngx_http_gw_limit_lease_main_conf_t;


/*
 * Finds a key's lease, moved to the hot end of the queue; with create,
 * makes it when missing (NULL when there is no room without forgetting a
 * lease that holds admissions or is being refilled).  Called locked.
 */
ngx_http_gw_limit_lease_node_t *ngx_http_gw_limit_lease_lookup(
    ngx_http_gw_limit_lease_main_conf_t *llmcf,
    ngx_http_gw_limit_item_t *it, double now, ngx_uint_t create);

/* the lease holds nothing any more: off the list the timer walks */
void ngx_http_gw_limit_lease_drop(ngx_http_gw_limit_lease_node_t *e);

/* n admissions taken in window go back to Redis; nobody waits for it */
void ngx_http_gw_limit_lease_give_back(
    ngx_http_gw_limit_lease_main_conf_t *llmcf, u_char *name, size_t nlen,
    u_char *key, size_t klen, ngx_uint_t hashed, double n, double window);

/* gw:limit:<name>:q[h]:<key> into buf; its length */
size_t ngx_http_gw_limit_lease_key(u_char *buf, u_char *name, size_t nlen,
    u_char *key, size_t klen, ngx_uint_t hashed);

/* a whole, non-negative script argument into buf; its length */
size_t ngx_http_gw_limit_lease_num(u_char *buf, double v);

/* microseconds since the epoch, read now */
double ngx_http_gw_limit_lease_now(void);

void ngx_http_gw_limit_lease_tick(ngx_event_t *ev);
ngx_int_t ngx_http_gw_limit_lease_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);


extern ngx_module_t  ngx_http_gw_limit_lease_module;


#endif /* _NGX_HTTP_GW_LIMIT_LEASE_H_INCLUDED_ */
