
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_config_module share: the zone's header,
 * the builder's state and the calls between the parts (the snapshot's
 * layout and the workers' API are in ngx_http_gw_snapshot.h).
 *
 * The zone (one slab pool) holds a header, the health slots, and the
 * snapshot blocks.  The header's "current" word names the published
 * snapshot by generation and offset in one atomic word, so a worker pins
 * a generation before it touches the block (see _module.c).  Each
 * process that serves from the zone owns a pin slot, claimed by its pid:
 * the generations it still uses (at most NGX_HTTP_GW_CONFIG_PIN_GENS
 * exactly, beyond that a floor: every generation from it up).  Slots
 * live in the zone, so the old workers of a reload keep theirs, and a
 * slot whose process is gone (kill -9) is taken back by the builder.
 */


#ifndef _NGX_HTTP_GW_CONFIG_H_INCLUDED_
#define _NGX_HTTP_GW_CONFIG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_gw_snapshot.h"


#define NGX_HTTP_GW_CONFIG_PINS        256      /* processes at once */
#define NGX_HTTP_GW_CONFIG_PIN_GENS    8        /* exact pins a process */
#define NGX_HTTP_GW_CONFIG_ERROR_MAX   512      /* bytes of last_error */
#define NGX_HTTP_GW_CONFIG_BUCKETS     11       /* propagation: bounds */
#define NGX_HTTP_GW_CONFIG_LEASE       3000     /* ms a builder's lease */
#define NGX_HTTP_GW_CONFIG_TICK        200      /* ms between ticks */
#define NGX_HTTP_GW_CONFIG_BATCH       512      /* log entries a read */

/* current: generation << 32 | offset / 8 (0: none) */
#define ngx_http_gw_config_cur_gen(c)   ((uint64_t) (c) >> 32)
#define ngx_http_gw_config_cur_off(c)   (((uint64_t) (c) & 0xffffffff) << 3)


/* a process's pins */
typedef struct {
    ngx_atomic_t                pid;            /* 0: free */
    ngx_atomic_t                floor;          /* 0, or every generation
                                                   from it may be used */
    ngx_atomic_t                gens[NGX_HTTP_GW_CONFIG_PIN_GENS];
} ngx_http_gw_config_pin_t;


/* the key of a health slot: the hash of "<upstream id> <address>" */
typedef struct {
    uint64_t                    key;            /* 0: free */
    uint64_t                    gen;            /* the newest build that
                                                   used it */
} ngx_http_gw_config_hkey_t;


/* what precedes every snapshot in its block: the retired list's link */
typedef struct {
    uint64_t                    next;           /* zone offset of the next
                                                   retired snapshot */
    uint64_t                    reserved;
} ngx_http_gw_config_block_t;


typedef struct {
    ngx_atomic_t                current;        /* gen << 32 | off / 8 */
    ngx_atomic_t                revision;       /* of the current one */
    ngx_atomic_t                next_gen;
    ngx_atomic_t                retired;        /* zone offset, 0: none */

    ngx_atomic_t                builder;        /* the lease's pid */
    ngx_atomic_t                lease_until;    /* ms since the epoch */

    ngx_atomic_t                builds;         /* published */
    ngx_atomic_t                build_us;       /* the last published
                                                   one's build, 0: none */
    ngx_atomic_t                refused;
    ngx_atomic_t                error_revision;
    ngx_atomic_t                error_hash;     /* last logged */

    /* commit -> published, in ms: buckets (not cumulative, +Inf last) */
    ngx_atomic_t                hist[NGX_HTTP_GW_CONFIG_BUCKETS + 1];
    ngx_atomic_t                hist_sum;       /* ms */
    ngx_atomic_t                hist_count;

    ngx_atomic_t                nhealth;
    ngx_atomic_t                health;         /* zone off: _health_t[] */
    ngx_atomic_t                hkeys;          /* zone off: _hkey_t[] */

    u_char                      error[NGX_HTTP_GW_CONFIG_ERROR_MAX];
                                                /* under the pool's mutex */
    ngx_http_gw_config_pin_t    pins[NGX_HTTP_GW_CONFIG_PINS];
} ngx_http_gw_config_sh_t;


typedef struct {
    ngx_shm_zone_t             *zone;
    ngx_msec_t                  interval;
    ngx_log_t                  *log;
    ngx_http_gw_config_sh_t    *sh;             /* set by the zone's init */
    ngx_slab_pool_t            *shpool;
} ngx_http_gw_config_main_conf_t;


/* the builder's entities, one object per type: id -> doc ("version"
   set); rev: the applied revision */
typedef struct {
    json_t                     *types;          /* type -> {id -> doc} */
    uint64_t                    revision;
    int64_t                     committed_ms;   /* of that revision, 0 */
} ngx_http_gw_config_model_t;


extern ngx_module_t  ngx_http_gw_config_module;

/* this worker's conf (NULL: gw_config is not used) */
extern ngx_http_gw_config_main_conf_t  *ngx_http_gw_config_conf;

/* the entity types the snapshot is made of, NULL-ended */
extern const char  *ngx_http_gw_config_types[];


/* _module.c */
ngx_http_gw_snap_t *ngx_http_gw_config_pinned(ngx_http_request_t *r);
int64_t ngx_http_gw_config_now(void);
ngx_uint_t ngx_http_gw_config_alive(ngx_pid_t pid);

/* _status.c: gw_config_status, $gw_config_revision, the metrics */
char *ngx_http_gw_config_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_config_status_init(ngx_conf_t *cf,
    ngx_http_gw_config_main_conf_t *gcf);

/* _follow.c: the election and the follower, run by every worker's tick */
void ngx_http_gw_config_follow_tick(ngx_http_gw_config_main_conf_t *gcf);
void ngx_http_gw_config_follow_exit(ngx_http_gw_config_main_conf_t *gcf);
ngx_int_t ngx_http_gw_config_follow_init(ngx_conf_t *cf,
    ngx_http_gw_config_main_conf_t *gcf);

/* _model.c */
void ngx_http_gw_config_model_free(ngx_http_gw_config_model_t *m);
ngx_int_t ngx_http_gw_config_model_set(ngx_http_gw_config_model_t *m,
    const char *type, const char *id, size_t id_len, uint64_t version,
    const char *doc, size_t doc_len, ngx_log_t *log);
json_t *ngx_http_gw_config_model_get(ngx_http_gw_config_model_t *m,
    const char *type, const char *id);

/*
 * _build.c: makes the snapshot of m and publishes it.  Returns NGX_OK
 * (published), NGX_DECLINED (refused: err, NGX_HTTP_GW_CONFIG_ERROR_MAX
 * bytes, holds why, NUL-terminated; the last good snapshot stays) or
 * NGX_ERROR (our own failure, logged).
 */
ngx_int_t ngx_http_gw_config_build(ngx_http_gw_config_main_conf_t *gcf,
    ngx_http_gw_config_model_t *m, u_char *err, ngx_log_t *log);
/* frees the memory builds keep for the next one (the builder's role
   lost) */
void ngx_http_gw_config_build_release(void);

/* a build in progress (_build.c lays the snapshot out, _route.c adds the
   routes): offsets into buf, which grows; err set when refused */
#define NGX_HTTP_GW_CONFIG_ERR(b, ...)                                       \
    (void) ngx_snprintf((b)->err, NGX_HTTP_GW_CONFIG_ERROR_MAX - 1,          \
                        __VA_ARGS__)


typedef struct {
    ngx_http_gw_config_main_conf_t  *gcf;
    ngx_http_gw_config_model_t      *model;
    ngx_pool_t                      *pool;
    ngx_log_t                       *log;

    u_char                          *buf;           /* the layout */
    size_t                           len;
    size_t                           cap;
    ngx_uint_t                       nomem;
    uint32_t                         router;        /* lib/router's block */

    const char                     **upstreams;     /* ids, sorted */
    ngx_uint_t                       nupstreams;
    uint64_t                         gen;
    uint64_t                         oldest;        /* live generation */

    u_char                          *err;           /* ERROR_MAX bytes */
} ngx_http_gw_config_builder_t;

#define ngx_http_gw_config_at(b, off, type)  ((type *) ((b)->buf + (off)))

uint32_t ngx_http_gw_config_reserve(ngx_http_gw_config_builder_t *b,
    size_t size);
ngx_http_gw_snap_str_t ngx_http_gw_config_string(
    ngx_http_gw_config_builder_t *b, const char *s, size_t len);
ngx_http_gw_snap_str_t ngx_http_gw_config_member(
    ngx_http_gw_config_builder_t *b, json_t *doc, const char *name);
ngx_int_t ngx_http_gw_config_uint(ngx_http_gw_config_builder_t *b,
    const char *kind, const char *id, json_t *doc, const char *name,
    ngx_int_t dflt, ngx_int_t lo, ngx_int_t hi);
ngx_int_t ngx_http_gw_config_key(ngx_http_gw_config_builder_t *b,
    const char *kind, const char *id, json_t *doc, const char *name,
    uint32_t dflt, ngx_http_gw_snap_key_t *key);
uint32_t ngx_http_gw_config_upstream_index(ngx_http_gw_config_builder_t *b,
    const char *id);

/* _route.c: route i of the snapshot, and its definition for lib/router:
   NGX_OK, NGX_DECLINED (refused, b->err set), NGX_ERROR (b->nomem) */
ngx_int_t ngx_http_gw_config_route(ngx_http_gw_config_builder_t *b,
    ngx_uint_t i, const char *id, json_t *doc);
ngx_int_t ngx_http_gw_config_route_def(ngx_http_gw_config_builder_t *b,
    const char *id, json_t *doc, gw_router_def_t *def);

/* frees the retired snapshots no process can still use */
void ngx_http_gw_config_reclaim(ngx_http_gw_config_main_conf_t *gcf);

/* _health.c */
ngx_int_t ngx_http_gw_config_health_init(ngx_http_gw_config_main_conf_t *gcf,
    ngx_slab_pool_t *shpool, size_t size);
ngx_int_t ngx_http_gw_config_health_begin(
    ngx_http_gw_config_main_conf_t *gcf);
void ngx_http_gw_config_health_end(void);
uint32_t ngx_http_gw_config_health_slot(ngx_http_gw_config_main_conf_t *gcf,
    const char *upstream, const char *address, uint64_t gen,
    uint64_t oldest);


#endif /* _NGX_HTTP_GW_CONFIG_H_INCLUDED_ */
