
/*
 * Copyright (C) Tollgate
 *
 * Types shared by the files of ngx_http_gw_jwt_module: the access handler
 * (ngx_http_gw_jwt_module.c), key files and their reloading
 * (ngx_http_gw_jwt_keys.c), the verified-token cache
 * (ngx_http_gw_jwt_cache.c), claims as variables and headers
 * (ngx_http_gw_jwt_vars.c) and the revocation list
 * (ngx_http_gw_jwt_revoke.c).
 */


#ifndef _NGX_HTTP_GW_JWT_H_INCLUDED_
#define _NGX_HTTP_GW_JWT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_jwa.h"
#include "gw_jwk.h"
#include "gw_jws.h"
#include "gw_jwt.h"


#define NGX_HTTP_GW_JWT_CACHE_MIN  (32 * 1024)

#define NGX_HTTP_GW_JWT_SCOPE_ALL  0        /* gw_jwt_scope_mode */
#define NGX_HTTP_GW_JWT_SCOPE_ANY  1


/* the revocation list's configuration (gw_jwt_revocation_zone) */
typedef struct {
    ngx_shm_zone_t         *zone;
    ssize_t                 size;
    time_t                  ttl;            /* a message's entry, until
                                               its token's exp is known */
    time_t                  leeway;         /* the largest gw_jwt_leeway
                                               of a location that checks */
    ngx_uint_t              used;           /* gw_jwt_revocation on */
} ngx_http_gw_jwt_revoke_conf_t;


/* one key file, shared by every location that names it the same way */
typedef struct {
    ngx_str_t               path;           /* full, NUL-terminated */
    gw_key_format_e         format;
    char                   *kid;            /* NULL: none given */
    unsigned                algs;           /* 0: by key type */
    gw_keyset_t             keys;           /* the last good keys */
    struct timespec         mtime;          /* of the file seen last */
    off_t                   size;
    ino_t                   ino;
    unsigned                failed:1;       /* that file failed to load */
    void                   *remote;         /* not NULL: a remote key set
                                               (ngx_http_gw_jwt_remote.c) */
} ngx_http_gw_jwt_keyfile_t;


typedef struct {
    ngx_array_t             keyfiles;       /* ngx_http_gw_jwt_keyfile_t * */
    ngx_msec_t              check_interval;
    ngx_shm_zone_t         *cache_zone;
    ssize_t                 cache_size;
    time_t                  cache_ttl;
    ngx_event_t             check_event;
    ngx_uint_t              used;           /* gw_jwt turned on somewhere */
    ngx_http_gw_jwt_revoke_conf_t  revoke;
} ngx_http_gw_jwt_main_conf_t;


typedef struct {
    ngx_str_t               name;
    ngx_str_t               lowcase;
    gw_str_t                path;
} ngx_http_gw_jwt_header_t;


typedef struct {
    ngx_str_t               realm;          /* len 0: off */
    ngx_http_complex_value_t  *token;       /* NULL: Authorization: Bearer */
    ngx_array_t            *keyfiles;       /* ngx_http_gw_jwt_keyfile_t * */
    ngx_uint_t              algs;           /* allowlist; 0: all */
    ngx_array_t            *issuers;        /* gw_str_t */
    ngx_array_t            *audiences;      /* gw_str_t */
    ngx_array_t            *claims;         /* gw_jwt_claim_rule_t */
    ngx_array_t            *scopes;         /* gw_str_t */
    ngx_uint_t              scope_mode;
    time_t                  leeway;
    time_t                  max_age;
    ngx_flag_t              require_exp;
    size_t                  max_size;
    ngx_flag_t              cache;
    ngx_str_t               separator;
    ngx_array_t            *headers;        /* ngx_http_gw_jwt_header_t */
    ngx_array_t            *header_names;   /* ngx_str_t, of the above */
    gw_jwt_policy_t         policy;         /* built from the above */
    ngx_str_t               scope_text;     /* "a b", for WWW-Authenticate */
    ngx_str_t               type;           /* gw_jwt_type; len 0: any */
    ngx_flag_t              revocation;
    ngx_flag_t              revocation_jti; /* a jti is required */
} ngx_http_gw_jwt_loc_conf_t;


#define NGX_HTTP_GW_JWT_CACHE_BYPASS  0
#define NGX_HTTP_GW_JWT_CACHE_MISS    1
#define NGX_HTTP_GW_JWT_CACHE_HIT     2


/* per request: the verified token */
typedef struct {
    gw_jws_t                jws;
    ngx_uint_t              verified;
    ngx_uint_t              cache_status;
    ngx_uint_t              revoke;         /* Redis' answer for the jti */
    ngx_uint_t              no_key;         /* no key fitted the token */
} ngx_http_gw_jwt_ctx_t;


char *ngx_http_gw_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_jwt_keys_init_process(ngx_cycle_t *cycle);

char *ngx_http_gw_jwt_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_jwt_cache_add_default(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf);
ngx_int_t ngx_http_gw_jwt_cache_lookup(ngx_shm_zone_t *zone,
    const u_char *hash, u_char *fp);
void ngx_http_gw_jwt_cache_insert(ngx_shm_zone_t *zone, const u_char *hash,
    const u_char *fp, time_t expires);

ngx_int_t ngx_http_gw_jwt_memo_get(ngx_str_t *token, gw_jws_t *jws,
    u_char *fp);
void ngx_http_gw_jwt_memo_put(ngx_log_t *log, ngx_str_t *token,
    gw_jws_t *jws, const u_char *fp, time_t expires);
void ngx_http_gw_jwt_memo_free(void);

char *ngx_http_gw_jwt_type(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_gw_jwt_revocation_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_jwt_revoke_merge(ngx_conf_t *cf,
    ngx_http_gw_jwt_loc_conf_t *prev, ngx_http_gw_jwt_loc_conf_t *jlcf);
ngx_int_t ngx_http_gw_jwt_revoke_init(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf);
ngx_int_t ngx_http_gw_jwt_revoke_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_gw_jwt_revoke_check(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_ctx_t *ctx,
    const char **err);
void ngx_http_gw_jwt_remote_sync_keys(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf);
ngx_int_t ngx_http_gw_jwt_remote_missing(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf);

ngx_int_t ngx_http_gw_jwt_route_init(ngx_conf_t *cf);

char *ngx_http_gw_jwt_claim_var(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_jwt_claim_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_jwt_add_variables(ngx_conf_t *cf);

/*
 * The verified token's claims (its payload, parsed on first use and
 * owned by the request's token), or NULL when r has no verified token
 * or on no memory; what $gw_jwt_claim_* read, and gw.claims().
 */
json_t *ngx_http_gw_jwt_claims(ngx_http_request_t *r);
ngx_int_t ngx_http_gw_jwt_set_headers(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_ctx_t *ctx);


extern ngx_module_t  ngx_http_gw_jwt_module;


#endif /* _NGX_HTTP_GW_JWT_H_INCLUDED_ */
