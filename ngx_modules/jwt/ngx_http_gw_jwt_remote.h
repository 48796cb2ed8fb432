
/*
 * Copyright (C) Tollgate
 *
 * Remote key sets: keys taken from a JWKS URL or an issuer's discovery
 * document.  Four files share these types: the directives and the
 * workers' timers (ngx_http_gw_jwt_remote.c), the request hooks that
 * make a request wait for a fetch (ngx_http_gw_jwt_remote_wait.c), the
 * HTTP/1.1 client that fetches a document without blocking
 * (ngx_http_gw_jwt_fetch.c), and the shared memory zone where one fetch
 * per gateway leaves its result for every worker (ngx_http_gw_jwt_zone.c).
 */


#ifndef _NGX_HTTP_GW_JWT_REMOTE_H_INCLUDED_
#define _NGX_HTTP_GW_JWT_REMOTE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_jwt.h"
#include "gw_http_resp.h"


#define NGX_HTTP_GW_JWT_URL_MAX      2048
#define NGX_HTTP_GW_JWT_ETAG_MAX     GW_HTTP_RESP_ETAG_MAX
#define NGX_HTTP_GW_JWT_HEADER_MAX   GW_HTTP_RESP_HEADER_MAX
#define NGX_HTTP_GW_JWT_TICK_WAIT    20             /* milliseconds, the
                                                       tick while requests
                                                       wait */


/* an http(s) URL, split; addrs only for URLs resolved at config time */
typedef struct {
    ngx_str_t                   text;       /* as written, for logs */
    ngx_uint_t                  ssl;
    ngx_str_t                   host;       /* without brackets */
    in_port_t                   port;
    ngx_str_t                   authority;  /* host[:port], for Host: */
    ngx_str_t                   path;       /* "/...", with the query */
    ngx_addr_t                 *addrs;
    ngx_uint_t                  naddrs;
} ngx_http_gw_jwt_url_t;


typedef struct ngx_http_gw_jwt_fetch_s  ngx_http_gw_jwt_fetch_t;

typedef void (*ngx_http_gw_jwt_fetch_pt)(ngx_http_gw_jwt_fetch_t *f);


/*
 * One GET.  The caller fills the "in" part of what
 * ngx_http_gw_jwt_fetch_create() returns and calls
 * ngx_http_gw_jwt_fetch_start(); handler runs exactly once, never from
 * within start, with err NULL and status set when a well-formed response
 * came (any status), else err a static reason.  The body lives in the
 * fetch's pool: the handler copies what it keeps, then destroys the fetch.
 */
struct ngx_http_gw_jwt_fetch_s {
    ngx_http_gw_jwt_url_t      *url;        /* address, Host, SNI */
    ngx_str_t                   path;       /* request target */
    ngx_str_t                   etag;       /* If-None-Match; len 0: none */
    ngx_ssl_t                  *ssl;        /* NULL for http */
    size_t                      max_size;   /* of the body */
    ngx_msec_t                  timeout;    /* of the whole exchange */
    ngx_http_gw_jwt_fetch_pt    handler;
    void                       *data;

    ngx_uint_t                  status;
    ngx_str_t                   body;
    ngx_str_t                   etag_out;
    time_t                      max_age;    /* -1: none given */
    const char                 *err;
    char                        reason[128];    /* err, with detail */

    ngx_pool_t                 *pool;
    ngx_log_t                   log;        /* quiet: nginx's own connect
                                               and TLS messages stay at
                                               debug level */
    ngx_peer_connection_t       peer;
    ngx_event_t                 timer;
    ngx_buf_t                  *out;
    ngx_buf_t                  *in;
    size_t                      cap;        /* of in, raw bytes */
    gw_http_resp_t              resp;       /* the parser's state */
    unsigned                    connected:1;
    unsigned                    finished:1;
};


ngx_http_gw_jwt_fetch_t *ngx_http_gw_jwt_fetch_create(ngx_log_t *log);
void ngx_http_gw_jwt_fetch_start(ngx_http_gw_jwt_fetch_t *f);
void ngx_http_gw_jwt_fetch_destroy(ngx_http_gw_jwt_fetch_t *f);

/*
 * Splits an absolute http or https URL: no user information, no
 * fragment, a host of letters, digits, '-', '.' (or a bracketed IPv6
 * address), a port of 1 to 65535.  Returns NULL, or a static reason.
 * u points into text.
 */
const char *ngx_http_gw_jwt_url_split(ngx_str_t *text,
    ngx_http_gw_jwt_url_t *u);

/* whether a and b have the same scheme, host (any case) and port */
ngx_uint_t ngx_http_gw_jwt_url_same_origin(ngx_http_gw_jwt_url_t *a,
    ngx_http_gw_jwt_url_t *b);


/* one key set's state in the shared zone */
typedef struct {
    ngx_atomic_t                version;    /* any change workers read */
    ngx_atomic_t                attempts;   /* fetches finished */
    ngx_atomic_uint_t           generation; /* the document changed */
    uint32_t                    id;         /* CRC32 of the set's URL */
    u_char                     *data;       /* the JWKS, in the slab */
    size_t                      len;
    u_char                      etag[NGX_HTTP_GW_JWT_ETAG_MAX];
    size_t                      etag_len;
    time_t                      fetched;    /* last 200 or 304 */
    time_t                      expires;    /* fresh until */
    time_t                      refresh_at; /* next scheduled fetch */
    time_t                      forced;     /* last unknown-kid fetch */
    time_t                      started;    /* last fetch's start */
    ngx_pid_t                   claim_pid;  /* 0: no fetch in progress */
    time_t                      claim_deadline;
    time_t                      failing_since;  /* 0: healthy */
    ngx_uint_t                  failures;   /* in a row */
    u_char                     *url;        /* a route's set: its JWKS
                                               URL, in the slab */
    size_t                      url_len;
} ngx_http_gw_jwt_slot_t;


typedef struct {
    ngx_uint_t                  retired;    /* a reload replaced this */
    ngx_uint_t                  nslots;     /* in use: the configured
                                               sets', then routes' */
    ngx_uint_t                  cap;        /* slots[] */
    ngx_http_gw_jwt_slot_t      slots[1];
} ngx_http_gw_jwt_zone_sh_t;


typedef struct {
    ngx_http_gw_jwt_zone_sh_t  *sh;
    ngx_slab_pool_t            *shpool;
    ngx_array_t                 ids;        /* uint32_t, a slot's id */
    ngx_uint_t                  routes;     /* slots kept for routes' sets
                                               (ngx_http_gw_jwt_route.c) */
} ngx_http_gw_jwt_zone_t;


#define NGX_HTTP_GW_JWT_ROUTE_SETS  32      /* routes' JWKS URLs, at most */


ngx_int_t ngx_http_gw_jwt_zone_init(ngx_shm_zone_t *shm_zone, void *data);

/*
 * Stores a fetched document in slot (locked): the old bytes are freed
 * only once the new ones are in.  Returns NGX_OK or NGX_ERROR (no room:
 * the slot keeps the old document).
 */
ngx_int_t ngx_http_gw_jwt_zone_store(ngx_http_gw_jwt_zone_t *zone,
    ngx_http_gw_jwt_slot_t *slot, ngx_str_t *data, ngx_str_t *etag);

/* copies the slot's document into a worker's heap (locked); NULL: none */
u_char *ngx_http_gw_jwt_zone_copy(ngx_http_gw_jwt_slot_t *slot,
    size_t *len, ngx_log_t *log);


/*
 * The key set of a route's JWKS URL (ngx_http_gw_jwt_route.c), made in
 * this worker on first use.  Returns NGX_OK with *kf, or NGX_ERROR with
 * *err (an origin gw_jwt_jwks_allow does not name, no free slot, no room
 * in gw_jwt_jwks_zone).
 */
ngx_int_t ngx_http_gw_jwt_route_keys(ngx_conf_t *cf, ngx_str_t *url,
    ngx_http_gw_jwt_keyfile_t **kf, ngx_str_t *err);


/* a remote key set and the workers' state of them all */
typedef struct {
    ngx_uint_t                  index;      /* of the slot */
    ngx_uint_t                  discovery;
    ngx_http_gw_jwt_url_t       url;        /* the JWKS or discovery URL */
    ngx_str_t                   issuer;     /* discovery: as configured */
    ngx_http_gw_jwt_keyfile_t  *kf;         /* the keys requests use */

    /* this worker's view */
    ngx_atomic_uint_t           version;
    ngx_atomic_uint_t           generation;
    ngx_atomic_uint_t           attempts;
    time_t                      usable_until;
    ngx_http_gw_jwt_fetch_t    *fetch;      /* ours, in progress */
    ngx_uint_t                  dropped;    /* stale keys dropped */
} ngx_http_gw_jwt_remote_t;


typedef struct {
    ngx_array_t                 sets;       /* ngx_http_gw_jwt_remote_t * */
    ngx_array_t                 allow;      /* ngx_http_gw_jwt_url_t */
    ngx_str_t                   trusted;
    ngx_ssl_t                  *ssl;
    time_t                      refresh_min;
    time_t                      refresh_max;
    time_t                      cooldown;
    time_t                      max_stale;
    ngx_msec_t                  timeout;
    size_t                      max_size;
    ssize_t                     zone_size;
    ngx_http_gw_jwt_zone_t     *zone;
    ngx_event_t                 tick;
    ngx_queue_t                 waiters;
    ngx_log_t                  *log;
} ngx_http_gw_jwt_remote_main_conf_t;



/*
 * Brings the worker's keys of s up to the zone; a finished fetch wakes
 * the waiters (ngx_http_gw_jwt_remote.c).
 */
void ngx_http_gw_jwt_remote_sync(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s);

/*
 * Starts a fetch of s when one is due (forced: a request lacks a key).
 * Returns NGX_AGAIN while a fetch of s is in progress, else NGX_DECLINED.
 */
ngx_int_t ngx_http_gw_jwt_remote_trigger(
    ngx_http_gw_jwt_remote_main_conf_t *rmcf, ngx_http_gw_jwt_remote_t *s,
    ngx_uint_t forced);

/* runs the phases of waiting requests again: all, or those past due */
void ngx_http_gw_jwt_remote_wake(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_uint_t all);


extern ngx_module_t  ngx_http_gw_jwt_remote_module;


#endif /* _NGX_HTTP_GW_JWT_REMOTE_H_INCLUDED_ */
