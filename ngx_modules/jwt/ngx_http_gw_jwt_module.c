
/*
 * Copyright (C) Tollgate
 *
 * JWT authentication in the access phase.  The handler takes the token
 * (Authorization: Bearer, or any configured value), parses it strictly,
 * picks keys by kid and by the key type the algorithm needs, verifies the
 * signature (unless the exact token is in the shared verified-token cache
 * under the same key), checks the claims against the location's policy and
 * keeps the verified token for variables and upstream headers.
 *
 * The algorithm is never taken on the token's word: keys carry the set of
 * algorithms they may verify (lib/jose/gw_jwk.h), the location may narrow
 * that set, and the token's "alg" must be in both.  Every denial is an RFC
 * 6750 challenge with an RFC 9457 body, logged at info without the token.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_auth.h"
#include "ngx_http_gw_identity.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_policy.h"


#define NGX_HTTP_GW_JWT_MAX_CHECKS  8    /* signature checks per request */


typedef enum {
    NGX_HTTP_GW_JWT_MISSING = 0,
    NGX_HTTP_GW_JWT_INVALID,
    NGX_HTTP_GW_JWT_SCOPE
} ngx_http_gw_jwt_denial_e;


static ngx_int_t ngx_http_gw_jwt_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_jwt_token(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_str_t *token);
static ngx_int_t ngx_http_gw_jwt_verify(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_str_t *token,
    ngx_http_gw_jwt_ctx_t *ctx, const u_char *memo_fp, const char **err);
static const gw_jwk_t *ngx_http_gw_jwt_select(
    ngx_http_gw_jwt_loc_conf_t *jlcf, gw_jws_t *jws, const u_char *fp,
    ngx_uint_t *found, ngx_uint_t *checked, const char **err);
static ngx_int_t ngx_http_gw_jwt_deny(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_denial_e denial,
    const char *reason);
static void ngx_http_gw_jwt_cleanup(void *data);
static void *ngx_http_gw_jwt_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_jwt_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_jwt_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_jwt_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gw_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_gw_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_jwt_strings(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_jwt_claim(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_jwt_max_age(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_jwt_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_jwt_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_jwt_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_jwt_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_gw_jwt_scope_modes[] = {
    { ngx_string("all"), NGX_HTTP_GW_JWT_SCOPE_ALL },
    { ngx_string("any"), NGX_HTTP_GW_JWT_SCOPE_ANY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gw_jwt_commands[] = {

    { ngx_string("gw_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_jwt,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, realm),
      NULL },

    { ngx_string("gw_jwt_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, token),
      NULL },

    { ngx_string("gw_jwt_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_key_check_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_main_conf_t, check_interval),
      NULL },

    { ngx_string("gw_jwt_algorithms"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_algorithms,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_strings,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, issuers),
      NULL },

    { ngx_string("gw_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_strings,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, audiences),
      NULL },

    { ngx_string("gw_jwt_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_strings,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, scopes),
      NULL },

    { ngx_string("gw_jwt_scope_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, scope_mode),
      &ngx_http_gw_jwt_scope_modes },

    { ngx_string("gw_jwt_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_claim,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, leeway),
      NULL },

    { ngx_string("gw_jwt_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_jwt_max_age,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_require_exp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, require_exp),
      NULL },

    { ngx_string("gw_jwt_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, max_size),
      NULL },

    { ngx_string("gw_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, cache),
      NULL },

    { ngx_string("gw_jwt_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_jwt_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_type"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_jwt_type,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_revocation"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, revocation),
      NULL },

    { ngx_string("gw_jwt_revocation_require_jti"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, revocation_jti),
      NULL },

    { ngx_string("gw_jwt_revocation_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_jwt_revocation_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_claim_separator"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_loc_conf_t, separator),
      NULL },

    { ngx_string("gw_jwt_claim_var"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_gw_jwt_claim_var,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_claim_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_gw_jwt_claim_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_jwt_module_ctx = {
    ngx_http_gw_jwt_preconf,               /* preconfiguration */
    ngx_http_gw_jwt_init,                  /* postconfiguration */

    ngx_http_gw_jwt_create_main_conf,      /* create main configuration */
    ngx_http_gw_jwt_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_jwt_create_loc_conf,       /* create location configuration */
    ngx_http_gw_jwt_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_gw_jwt_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_jwt_module_ctx,           /* module context */
    ngx_http_gw_jwt_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_jwt_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_jwt_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the mechanism, for the combination (ngx_http_gw_auth.h) */

static ngx_uint_t
ngx_http_gw_jwt_on(ngx_http_request_t *r)
{
    ngx_http_gw_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_jwt_module);

    return jlcf->realm.len != 0;
}


static ngx_int_t
ngx_http_gw_jwt_challenge(ngx_http_request_t *r, ngx_str_t *challenge)
{
    u_char                      *p;
    ngx_http_gw_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_jwt_module);

    p = ngx_pnalloc(r->pool, sizeof("Bearer realm=\"\"") - 1
                             + jlcf->realm.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    challenge->data = p;
    p = ngx_sprintf(p, "Bearer realm=\"%V\"", &jlcf->realm);
    challenge->len = p - challenge->data;

    return NGX_OK;
}


static ngx_http_gw_auth_mech_t  ngx_http_gw_jwt_mech = {
    ngx_string("jwt"), ngx_http_gw_jwt_on, ngx_http_gw_jwt_challenge, 0
};


static ngx_int_t
ngx_http_gw_jwt_handler(ngx_http_request_t *r)
{
    u_char                       fp[GW_KEY_FP_LEN];
    ngx_int_t                    rc;
    ngx_str_t                    token;
    ngx_uint_t                   memo;
    const char                  *err;
    ngx_pool_cleanup_t          *cln;
    ngx_http_gw_jwt_ctx_t       *ctx;
    ngx_http_gw_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_jwt_module);

    if (jlcf->realm.len == 0) {
        if (jlcf->headers != NULL
            && !ngx_http_gw_identity_clean(r)
            && ngx_http_gw_strip_headers(r, jlcf->header_names->elts,
                                         jlcf->header_names->nelts)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_jwt_module);

    if (ctx != NULL && ctx->verified) {
        return NGX_OK;
    }

    rc = ngx_http_gw_jwt_token(r, jlcf, &token);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        if (!ngx_http_gw_auth_report(r, &ngx_http_gw_jwt_mech,
                                     NGX_HTTP_GW_AUTH_NO_CREDENTIAL))
        {
            return NGX_DECLINED;        /* another credential will do */
        }

        return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_MISSING,
                                    "no token");
    }

    if (token.len > jlcf->max_size) {
        return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_INVALID,
                                    "token too large");
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_jwt_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_gw_jwt_cleanup;
        cln->data = ctx;

        ngx_http_set_ctx(r, ctx, ngx_http_gw_jwt_module);
    }

    gw_jws_free(&ctx->jws);

    ngx_http_gw_jwt_remote_sync_keys(r, jlcf);

    memo = jlcf->cache
           && ngx_http_gw_jwt_memo_get(&token, &ctx->jws, fp) == NGX_OK;

    for ( ;; ) {
        if (!memo
            && gw_jws_parse(&ctx->jws, token.data, token.len,
                            jlcf->max_size, &err)
               != 0)
        {
            return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_INVALID,
                                        err);
        }

        rc = ngx_http_gw_jwt_verify(r, jlcf, &token, ctx, memo ? fp : NULL,
                                    &err);

        if (rc != NGX_AGAIN) {
            break;
        }

        /* the memo's key is gone: parse and verify the token afresh */

        gw_jws_free(&ctx->jws);
        memo = 0;
    }

    if (rc == NGX_DECLINED && ctx->no_key) {
        /* a remote key set may have the key by now: fetch, wait, retry */

        rc = ngx_http_gw_jwt_remote_missing(r, jlcf);

        if (rc == NGX_AGAIN) {
            (void) ngx_http_gw_auth_report(r, &ngx_http_gw_jwt_mech,
                                           NGX_HTTP_GW_AUTH_WAITING);
        }

        if (rc != NGX_DECLINED) {
            return (rc == NGX_ERROR) ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
        }
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_INVALID, err);
    }

    if (rc == NGX_ABORT) {
        return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_SCOPE, err);
    }

    rc = ngx_http_gw_jwt_revoke_check(r, jlcf, ctx, &err);

    if (rc == NGX_DECLINED) {
        return ngx_http_gw_jwt_deny(r, jlcf, NGX_HTTP_GW_JWT_INVALID, err);
    }

    if (rc != NGX_OK) {
        return rc;              /* waits for Redis, or was answered */
    }

    ctx->verified = 1;

    (void) ngx_http_gw_auth_report(r, &ngx_http_gw_jwt_mech,
                                   NGX_HTTP_GW_AUTH_ACCEPTED);

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_JWT, NGX_HTTP_GW_AUTH_OK);

    if (jlcf->headers != NULL
        && ngx_http_gw_jwt_set_headers(r, jlcf, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * Finds the token: the configured value, or the credentials of an
 * "Authorization: Bearer" header.  Returns NGX_OK, NGX_DECLINED when there
 * is none, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_gw_jwt_token(ngx_http_request_t *r, ngx_http_gw_jwt_loc_conf_t *jlcf,
    ngx_str_t *token)
{
    u_char  *p, *last;

    if (jlcf->token != NULL) {
        if (ngx_http_complex_value(r, jlcf->token, token) != NGX_OK) {
            return NGX_ERROR;
        }

        return token->len ? NGX_OK : NGX_DECLINED;
    }

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.authorization->value.data;
    last = p + r->headers_in.authorization->value.len;

    if (last - p < 7
        || ngx_strncasecmp(p, (u_char *) "Bearer", 6) != 0
        || p[6] != ' ')
    {
        return NGX_DECLINED;
    }

    for (p += 7; p < last && *p == ' '; p++) { /* void */ }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    token->data = p;
    token->len = last - p;

    return token->len ? NGX_OK : NGX_DECLINED;
}


/*
 * Selects the key that verifies jws.  With a kid, keys of that kid are
 * tried; when the location has none, keys configured without a kid are
 * (a kid is a hint, the signature decides).  Without a kid, every key that
 * fits the algorithm is.  A key whose fingerprint equals fp (a cache hit)
 * is taken without a signature check.  At most NGX_HTTP_GW_JWT_MAX_CHECKS
 * signatures are checked, so a token without a kid cannot make a worker
 * try a large JWKS.  Sets *found when any key fitted, *checked when the
 * returned key was verified by a signature check; returns NULL when no key
 * verified it, with *err set.
 */

static const gw_jwk_t *
ngx_http_gw_jwt_select(ngx_http_gw_jwt_loc_conf_t *jlcf, gw_jws_t *jws,
    const u_char *fp, ngx_uint_t *found, ngx_uint_t *checked,
    const char **err)
{
    size_t                       i, k;
    ngx_uint_t                   pass, checks;
    const char                  *kid;
    const gw_jwk_t              *key;
    ngx_http_gw_jwt_keyfile_t  **kf;

    *found = 0;
    *checked = 0;
    *err = "signature invalid";

    kf = jlcf->keyfiles->elts;
    checks = 0;

    for (pass = 0; pass < 2; pass++) {

        /* pass 1: keys without a kid, for a kid the location lacks */

        if (pass == 1 && (*found || jws->kid == NULL)) {
            break;
        }

        kid = (pass == 0) ? jws->kid : NULL;

        for (k = 0; k < jlcf->keyfiles->nelts; k++) {
            i = 0;

            while ((key = gw_keyset_next(&kf[k]->keys, &i, kid,
                                         jws->kid_len, jws->alg))
                   != NULL)
            {
                if (pass == 1 && key->has_kid) {
                    continue;
                }

                *found = 1;

                if (fp != NULL
                    && ngx_memcmp(key->fp, fp, GW_KEY_FP_LEN) == 0)
                {
                    return key;
                }

                if (jws->sig == NULL
                    || checks++ == NGX_HTTP_GW_JWT_MAX_CHECKS)
                {
                    continue;
                }

                if (gw_jws_verify(jws, key, err) == 0) {
                    *checked = 1;
                    return key;
                }
            }
        }
    }

    return NULL;
}


/*
 * Verifies the signature of jws with the location's keys, then checks the
 * claims.  The signature check is skipped when the exact token was
 * verified before by a key the location still has: memo_fp (the worker's
 * memo hit) or the shared cache's entry names that key.  Returns NGX_OK;
 * NGX_DECLINED (invalid token) or NGX_ABORT (missing scope) with *err set.
 */

static ngx_int_t
ngx_http_gw_jwt_verify(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_str_t *token,
    ngx_http_gw_jwt_ctx_t *ctx, const u_char *memo_fp, const char **err)
{
    int                           rc;
    double                        exp;
    time_t                        now, expires;
    json_t                       *v;
    u_char                        hash[SHA256_DIGEST_LENGTH];
    u_char                        fp[GW_KEY_FP_LEN];
    ngx_uint_t                    cache, cached, found, checked;
    gw_jws_t                     *jws;
    const gw_jwk_t               *good;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    jws = &ctx->jws;

    if (jlcf->algs && !(jlcf->algs & GW_ALG_BIT(jws->alg))) {
        *err = "algorithm not allowed";
        return NGX_DECLINED;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_jwt_module);

    cache = jlcf->cache && jmcf->cache_zone != NULL;
    cached = 0;

    if (memo_fp != NULL) {
        ngx_memcpy(fp, memo_fp, GW_KEY_FP_LEN);
        cached = 1;

    } else if (cache) {
        SHA256(token->data, token->len, hash);
        cached = ngx_http_gw_jwt_cache_lookup(jmcf->cache_zone, hash, fp)
                 == NGX_OK;
    }

    good = ngx_http_gw_jwt_select(jlcf, jws, cached ? fp : NULL, &found,
                                  &checked, err);

    ctx->cache_status = !cache ? NGX_HTTP_GW_JWT_CACHE_BYPASS
                        : checked ? NGX_HTTP_GW_JWT_CACHE_MISS
                        : NGX_HTTP_GW_JWT_CACHE_HIT;

    ctx->no_key = !found;

    if (!found) {
        *err = jws->kid ? "unknown key id" : "no key for the algorithm";
        return NGX_DECLINED;
    }

    if (good == NULL) {
        /* a memo hit whose key is gone: parse and verify afresh */
        if (memo_fp != NULL) {
            return NGX_AGAIN;
        }

        return NGX_DECLINED;
    }

    /* RFC 8725 section 3.11: a token of another type is no token here */

    if (jlcf->type.len
        && !gw_jws_typ_is(jws, (char *) jlcf->type.data, jlcf->type.len))
    {
        *err = (jws->typ || jws->typ_other) ? "token type not allowed"
                                            : "token has no type";
        return NGX_DECLINED;
    }

    now = ngx_time();

    /* a plain payload is checked without its tree, unless rules need it */

    if (jws->payload == NULL && jws->plain && jlcf->policy.nclaims == 0) {
        rc = gw_jwt_check_plain(&jws->claims, &jlcf->policy, (long long) now,
                                err);

    } else {
        if (gw_jws_payload(jws) == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gw_jwt: out of memory parsing claims");
            return NGX_ERROR;
        }

        rc = gw_jwt_check(jws->payload, &jlcf->policy, (long long) now, err);
    }

    if (rc == GW_JWT_INVALID) {
        return NGX_DECLINED;
    }

    if (rc == GW_JWT_SCOPE) {
        return NGX_ABORT;
    }

    if (!cache || memo_fp != NULL) {
        return NGX_OK;
    }

    expires = now + jmcf->cache_ttl;

    if (jws->plain) {
        exp = (jws->claims.exp.type == GW_JWT_V_NUMBER)
              ? jws->claims.exp.num : (double) expires;

    } else {
        v = json_object_get(jws->payload, "exp");
        exp = json_is_number(v) ? json_number_value(v) : (double) expires;
    }

    if (exp < (double) expires) {
        expires = (time_t) exp;
    }

    if (expires > now) {
        if (checked) {
            ngx_http_gw_jwt_cache_insert(jmcf->cache_zone, hash, good->fp,
                                         expires);
        }

        ngx_http_gw_jwt_memo_put(r->connection->log, token, jws, good->fp,
                                 expires);
    }

    return NGX_OK;
}


/*
 * Answers 401 or 403 with an RFC 6750 challenge and a problem body.
 * reason is a static, client-safe string from the parser or checks.
 */

static ngx_int_t
ngx_http_gw_jwt_deny(ngx_http_request_t *r, ngx_http_gw_jwt_loc_conf_t *jlcf,
    ngx_http_gw_jwt_denial_e denial, const char *reason)
{
    u_char                 *p;
    size_t                  len, rlen;
    ngx_str_t               uri, challenge;
    ngx_log_handler_pt      handler;
    ngx_http_gw_problem_t   problem;
    u_char                  buf[NGX_HTTP_GW_LOG_SIZE];

    rlen = ngx_strlen(reason);

    /*
     * nginx's own log context would add the request line, which holds the
     * token when it comes from a query argument: log without it.
     */

    handler = r->connection->log->handler;
    r->connection->log->handler = NULL;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: request denied: %s, client: %V, uri: \"%V\"",
                  reason, &r->connection->addr_text,
                  ngx_http_gw_log_escape(&uri, buf, r->uri.data, r->uri.len));

    r->connection->log->handler = handler;

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_JWT,
                             denial == NGX_HTTP_GW_JWT_MISSING
                             ? NGX_HTTP_GW_AUTH_MISSING
                             : denial == NGX_HTTP_GW_JWT_INVALID
                             ? NGX_HTTP_GW_AUTH_INVALID
                             : NGX_HTTP_GW_AUTH_FORBIDDEN);

    len = sizeof("Bearer realm=\"\"") - 1 + jlcf->realm.len
          + sizeof(", error=\"insufficient_scope\"") - 1
          + sizeof(", error_description=\"\"") - 1 + rlen
          + sizeof(", scope=\"\"") - 1 + jlcf->scope_text.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    challenge.data = p;

    p = ngx_sprintf(p, "Bearer realm=\"%V\"", &jlcf->realm);

    problem.detail.data = (u_char *) reason;
    problem.detail.len = rlen;
    ngx_str_null(&problem.extra);

    switch (denial) {

    case NGX_HTTP_GW_JWT_MISSING:
        problem.status = NGX_HTTP_UNAUTHORIZED;
        problem.type = "urn:tollgate:problem:token-missing";
        problem.title = "Authentication required";
        break;

    case NGX_HTTP_GW_JWT_INVALID:
        p = ngx_sprintf(p, ", error=\"invalid_token\","
                        " error_description=\"%s\"", reason);
        problem.status = NGX_HTTP_UNAUTHORIZED;
        problem.type = "urn:tollgate:problem:token-invalid";
        problem.title = "Invalid token";
        break;

    default: /* NGX_HTTP_GW_JWT_SCOPE */
        p = ngx_sprintf(p, ", error=\"insufficient_scope\","
                        " error_description=\"%s\", scope=\"%V\"",
                        reason, &jlcf->scope_text);
        problem.status = NGX_HTTP_FORBIDDEN;
        problem.type = "urn:tollgate:problem:insufficient-scope";
        problem.title = "Insufficient scope";
        break;
    }

    challenge.len = p - challenge.data;

    /* no token at all was reported already; anything else is a refusal */

    if (denial != NGX_HTTP_GW_JWT_MISSING) {
        (void) ngx_http_gw_auth_report(r, &ngx_http_gw_jwt_mech,
                                       NGX_HTTP_GW_AUTH_REFUSED);
    }

    return ngx_http_gw_auth_deny(r, &ngx_http_gw_jwt_mech, &problem,
                                 &challenge);
}


static void
ngx_http_gw_jwt_cleanup(void *data)
{
    ngx_http_gw_jwt_ctx_t  *ctx = data;

    gw_jws_free(&ctx->jws);
}


static void *
ngx_http_gw_jwt_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    jmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_main_conf_t));
    if (jmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&jmcf->keyfiles, cf->pool, 4,
                       sizeof(ngx_http_gw_jwt_keyfile_t *))
        != NGX_OK)
    {
        return NULL;
    }

    jmcf->check_interval = NGX_CONF_UNSET_MSEC;
    jmcf->cache_size = NGX_CONF_UNSET;
    jmcf->cache_ttl = NGX_CONF_UNSET;

    return jmcf;
}


static char *
ngx_http_gw_jwt_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_jwt_main_conf_t  *jmcf = conf;

    ngx_conf_init_msec_value(jmcf->check_interval, 5000);

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_jwt_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_jwt_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->realm = { 0, NULL };
     *     conf->token = NULL;
     *     conf->keyfiles = NULL;
     *     conf->issuers = NULL;
     *     conf->audiences = NULL;
     *     conf->claims = NULL;
     *     conf->scopes = NULL;
     *     conf->separator = { 0, NULL };
     *     conf->headers = NULL;
     */

    conf->algs = NGX_CONF_UNSET_UINT;
    conf->scope_mode = NGX_CONF_UNSET_UINT;
    conf->leeway = NGX_CONF_UNSET;
    conf->max_age = NGX_CONF_UNSET;
    conf->require_exp = NGX_CONF_UNSET;
    conf->max_size = NGX_CONF_UNSET_SIZE;
    conf->cache = NGX_CONF_UNSET;
    conf->revocation = NGX_CONF_UNSET;
    conf->revocation_jti = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_jwt_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_jwt_loc_conf_t *prev = parent;
    ngx_http_gw_jwt_loc_conf_t *conf = child;

    u_char      *p;
    size_t       len;
    gw_str_t    *s;
    ngx_uint_t   i;

    if (conf->realm.data == NULL) {
        conf->realm = prev->realm;
    }

    if (conf->token == NULL) {
        conf->token = prev->token;
    }

    if (conf->keyfiles == NULL) {
        conf->keyfiles = prev->keyfiles;
    }

    if (conf->issuers == NULL) {
        conf->issuers = prev->issuers;
    }

    if (conf->audiences == NULL) {
        conf->audiences = prev->audiences;
    }

    if (conf->claims == NULL) {
        conf->claims = prev->claims;
    }

    if (conf->scopes == NULL) {
        conf->scopes = prev->scopes;
    }

    if (conf->headers == NULL) {
        conf->headers = prev->headers;
        conf->header_names = prev->header_names;
    }

    ngx_conf_merge_uint_value(conf->algs, prev->algs, 0);
    ngx_conf_merge_uint_value(conf->scope_mode, prev->scope_mode,
                              NGX_HTTP_GW_JWT_SCOPE_ALL);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_sec_value(conf->max_age, prev->max_age, 0);
    ngx_conf_merge_value(conf->require_exp, prev->require_exp, 1);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size,
                              GW_JWS_MAX_LEN);
    ngx_conf_merge_value(conf->cache, prev->cache, 1);
    ngx_conf_merge_str_value(conf->separator, prev->separator, ",");

    if (conf->realm.len && conf->keyfiles == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gw_jwt\" is on but no \"gw_jwt_key_file\", "
                           "\"gw_jwt_jwks_url\" or \"gw_jwt_discovery\" is "
                           "configured for it");
        return NGX_CONF_ERROR;
    }

    conf->policy.leeway = conf->leeway;
    conf->policy.max_age = conf->max_age;
    conf->policy.require_exp = conf->require_exp ? 1 : 0;
    conf->policy.scope_any = conf->scope_mode == NGX_HTTP_GW_JWT_SCOPE_ANY;

    if (conf->issuers != NULL) {
        conf->policy.issuers = conf->issuers->elts;
        conf->policy.nissuers = conf->issuers->nelts;
    }

    if (conf->audiences != NULL) {
        conf->policy.audiences = conf->audiences->elts;
        conf->policy.naudiences = conf->audiences->nelts;
    }

    if (conf->claims != NULL) {
        conf->policy.claims = conf->claims->elts;
        conf->policy.nclaims = conf->claims->nelts;
    }

    if (conf->scopes != NULL) {
        conf->policy.scopes = conf->scopes->elts;
        conf->policy.nscopes = conf->scopes->nelts;

        s = conf->scopes->elts;
        len = 0;

        for (i = 0; i < conf->scopes->nelts; i++) {
            len += s[i].len + 1;
        }

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->scope_text.data = p;

        for (i = 0; i < conf->scopes->nelts; i++) {
            if (i > 0) {
                *p++ = ' ';
            }

            p = ngx_cpymem(p, s[i].data, s[i].len);
        }

        conf->scope_text.len = p - conf->scope_text.data;
    }

    return ngx_http_gw_jwt_revoke_merge(cf, prev, conf);
}


static char *
ngx_http_gw_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    char                         *rv;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    rv = ngx_http_gw_conf_set_realm_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && jlcf->realm.len) {
        jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);
        jmcf->used = 1;

        if (ngx_http_gw_identity_add(cf, NULL) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return rv;
}


static char *
ngx_http_gw_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    gw_alg_e     alg;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (jlcf->algs != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    jlcf->algs = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        alg = gw_alg_from_name((char *) value[i].data, value[i].len);

        if (alg == GW_ALG_UNKNOWN) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown algorithm \"%V\" (names are "
                               "case-sensitive, \"none\" is never allowed)",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        jlcf->algs |= GW_ALG_BIT(alg);
    }

    return NGX_CONF_OK;
}


/* appends the arguments to the gw_str_t array at cmd->offset */

static char *
ngx_http_gw_jwt_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    gw_str_t      *s;
    ngx_str_t     *value;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a == NULL) {
        *a = ngx_array_create(cf->pool, 4, sizeof(gw_str_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "takes no empty value";
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = (const char *) value[i].data;
        s->len = value[i].len;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_jwt_claim(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    gw_str_t             *values;
    ngx_str_t            *value;
    ngx_uint_t            i;
    gw_jwt_claim_rule_t  *rule;

    if (jlcf->claims == NULL) {
        jlcf->claims = ngx_array_create(cf->pool, 4,
                                        sizeof(gw_jwt_claim_rule_t));
        if (jlcf->claims == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes no empty claim path";
    }

    rule = ngx_array_push(jlcf->claims);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->path.data = (const char *) value[1].data;
    rule->path.len = value[1].len;
    rule->values = NULL;
    rule->nvalues = cf->args->nelts - 2;

    if (rule->nvalues == 0) {
        return NGX_CONF_OK;
    }

    values = ngx_palloc(cf->pool, rule->nvalues * sizeof(gw_str_t));
    if (values == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < rule->nvalues; i++) {
        values[i].data = (const char *) value[i + 2].data;
        values[i].len = value[i + 2].len;
    }

    rule->values = values;

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_jwt_max_age(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    ngx_str_t  *value;

    if (jlcf->max_age != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        jlcf->max_age = 0;
        return NGX_CONF_OK;
    }

    jlcf->max_age = ngx_parse_time(&value[1], 1);

    if (jlcf->max_age == (time_t) NGX_ERROR || jlcf->max_age == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid max age \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_jwt_preconf(ngx_conf_t *cf)
{
    if (ngx_http_gw_auth_add(cf, &ngx_http_gw_jwt_mech) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_jwt_add_variables(cf);
}


static ngx_int_t
ngx_http_gw_jwt_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);

    if (ngx_http_gw_jwt_revoke_init(cf, jmcf) != NGX_OK
        || ngx_http_gw_jwt_route_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a route of gw_router may turn JWT on (ngx_http_gw_jwt_route.c) */

    if (!jmcf->used && !ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    if (ngx_http_gw_jwt_cache_add_default(cf, jmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_jwt_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_jwt_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_gw_jwt_revoke_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_jwt_keys_init_process(cycle);
}


static void
ngx_http_gw_jwt_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_jwt_memo_free();
}
