
/*
 * Copyright (C) Tollgate
 *
 * API-key authentication and consumers, in the access phase.  A key is
 * never compared or stored in clear: its SHA-256 names the Redis record
 * (lib/model/gw_model.h), fetched with one script that also reads the
 * consumer, so one round trip answers "whose key, is it live, is its
 * consumer active".  Answers are cached per worker, positive and negative,
 * and dropped by pub/sub when gwctl changes a key or a consumer.
 *
 * Failing closed is the point: a key that is not in the cache while Redis
 * is unreachable gets 503, never a pass.  A cached valid key keeps working
 * up to its TTL (gw_key_auth_redis_down cached), or every request is
 * denied while Redis is down (deny).
 *
 * Whether a request without a key may go on (gw_auth_satisfy any, a token
 * beside) is not decided here: the module reports what it found to the
 * one combination of mechanisms (ngx_http_gw_auth.c), which also picks
 * the challenges of a 401.  A JWT claim can also name the consumer
 * (gw_consumer_claim), looked up like a key.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_auth.h"
#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_identity.h"
#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_keyauth.h"
#include "ngx_http_gw_keyauth_int.h"
#include "ngx_http_gw_metrics.h"


#define NGX_HTTP_GW_KEYAUTH_DOWN_CACHED  0
#define NGX_HTTP_GW_KEYAUTH_DOWN_DENY    1

typedef struct {
    ngx_http_gw_redis_script_t   script;
    ngx_uint_t                   cache_size;
    ngx_uint_t                   used;
} ngx_http_gw_keyauth_main_conf_t;


static ngx_uint_t ngx_http_gw_keyauth_on(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_keyauth_challenge(ngx_http_request_t *r,
    ngx_str_t *challenge);
static ngx_int_t ngx_http_gw_keyauth_handler(ngx_http_request_t *r);
static void ngx_http_gw_keyauth_hash(u_char *key, size_t len, char *hex);
static ngx_int_t ngx_http_gw_keyauth_lookup(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_http_gw_keyauth_ctx_t *ctx);
static ngx_int_t ngx_http_gw_keyauth_decide(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_http_gw_keyauth_ctx_t *ctx);
static ngx_int_t ngx_http_gw_keyauth_credential(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_str_t *key);
static ngx_int_t ngx_http_gw_keyauth_remove_credential(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf);
static ngx_int_t ngx_http_gw_keyauth_deny(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_uint_t status,
    const char *type, const char *title, const char *reason);
static ngx_int_t ngx_http_gw_keyauth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_keyauth_add_variables(ngx_conf_t *cf);
static void *ngx_http_gw_keyauth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_keyauth_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_keyauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_keyauth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_keyauth_init(ngx_conf_t *cf);
static void ngx_http_gw_keyauth_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_gw_keyauth_down_modes[] = {
    { ngx_string("cached"), NGX_HTTP_GW_KEYAUTH_DOWN_CACHED },
    { ngx_string("deny"), NGX_HTTP_GW_KEYAUTH_DOWN_DENY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gw_keyauth_commands[] = {

    { ngx_string("gw_key_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_conf_set_realm_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, realm),
      NULL },

    { ngx_string("gw_key_auth_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, header),
      NULL },

    { ngx_string("gw_key_auth_query"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, query),
      NULL },

    { ngx_string("gw_key_auth_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, cache_ttl),
      NULL },

    { ngx_string("gw_key_auth_negative_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, negative_ttl),
      NULL },

    { ngx_string("gw_key_auth_redis_down"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, redis_down),
      &ngx_http_gw_keyauth_down_modes },

    { ngx_string("gw_key_auth_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, max_size),
      NULL },

    { ngx_string("gw_key_auth_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_main_conf_t, cache_size),
      NULL },

    { ngx_string("gw_consumer_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_keyauth_loc_conf_t, consumer_claim),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_keyauth_module_ctx = {
    ngx_http_gw_keyauth_add_variables,     /* preconfiguration */
    ngx_http_gw_keyauth_init,              /* postconfiguration */

    ngx_http_gw_keyauth_create_main_conf,  /* create main configuration */
    ngx_http_gw_keyauth_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_keyauth_create_loc_conf,   /* create location configuration */
    ngx_http_gw_keyauth_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_gw_keyauth_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_keyauth_module_ctx,       /* module context */
    ngx_http_gw_keyauth_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_keyauth_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * One round trip: ARGV[1] is "key" (ARGV[2] a key hash) or "consumer"
 * (ARGV[2] an id).  Returns {0} when nothing is found, else {1, id, name,
 * consumer status, key status, key expiry, plan, tags}.
 */

static ngx_str_t  ngx_http_gw_keyauth_lua = ngx_string(
    "local kind, id = ARGV[1], ARGV[2]\n"
    "local kst, kexp = 'active', '0'\n"
    "if kind == 'key' then\n"
    "  local k = redis.call('HMGET', 'gw:key:' .. id,"
    " 'consumer', 'status', 'expires')\n"
    "  if not k[1] then return {0} end\n"
    "  id, kst, kexp = k[1], k[2] or '', k[3] or '0'\n"
    "end\n"
    "local c = redis.call('HMGET', 'gw:consumer:' .. id,"
    " 'name', 'status', 'plan', 'tags')\n"
    "if not c[2] then return {0} end\n"
    "return {1, id, c[1] or '', c[2], kst, kexp, c[3] or '', c[4] or ''}\n");


static ngx_http_gw_auth_mech_t  ngx_http_gw_keyauth_mech = {
    ngx_string("key"), ngx_http_gw_keyauth_on, ngx_http_gw_keyauth_challenge,
    0
};

static gw_key_hasher_t  *ngx_http_gw_keyauth_hasher;   /* the worker's */

static ngx_str_t  ngx_http_gw_consumer_id_header = ngx_string("X-Consumer-ID");
static ngx_str_t  ngx_http_gw_consumer_name_header =
    ngx_string("X-Consumer-Name");


static ngx_http_variable_t  ngx_http_gw_keyauth_vars[] = {

    { ngx_string("gw_consumer_id"), NULL, ngx_http_gw_keyauth_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_consumer_name"), NULL, ngx_http_gw_keyauth_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_consumer_plan"), NULL, ngx_http_gw_keyauth_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_consumer_tags"), NULL, ngx_http_gw_keyauth_variable,
      3, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* the mechanism, for the combination (ngx_http_gw_auth.h) */

static ngx_uint_t
ngx_http_gw_keyauth_on(ngx_http_request_t *r)
{
    ngx_http_gw_keyauth_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_keyauth_module);

    return klcf->realm.len != 0;
}


static ngx_int_t
ngx_http_gw_keyauth_challenge(ngx_http_request_t *r, ngx_str_t *challenge)
{
    u_char                          *p;
    ngx_http_gw_keyauth_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_keyauth_module);

    p = ngx_pnalloc(r->pool, sizeof("ApiKey realm=\"\", header=\"\"") - 1
                             + klcf->realm.len + klcf->header.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    challenge->data = p;
    p = ngx_sprintf(p, "ApiKey realm=\"%V\", header=\"%V\"", &klcf->realm,
                    &klcf->header);
    challenge->len = p - challenge->data;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gw_keyauth_jwt_verified(ngx_http_request_t *r, json_t **claims)
{
    ngx_http_gw_jwt_ctx_t  *jctx;

    jctx = ngx_http_get_module_ctx(r, ngx_http_gw_jwt_module);

    if (jctx == NULL || !jctx->verified) {
        return 0;
    }

    *claims = gw_jws_payload(&jctx->jws);

    return 1;
}


static ngx_int_t
ngx_http_gw_keyauth_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_gw_keyauth_ctx_t       *ctx;
    ngx_http_gw_keyauth_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_keyauth_module);

    if (klcf->realm.len == 0 && klcf->consumer_claim.len == 0) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_keyauth_module);

    if (ctx == NULL) {
        /*
         * Only the head is zeroed: the buffers behind it (some 2.5 KiB)
         * are read by their lengths, set when the record is filled.
         */

        ctx = ngx_palloc(r->pool, sizeof(ngx_http_gw_keyauth_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memzero(ctx, offsetof(ngx_http_gw_keyauth_ctx_t, buf));
        ctx->rec.state = NGX_HTTP_GW_KEYAUTH_UNKNOWN;
        ctx->rec.key_expires = 0;
        ctx->rec.id_len = 0;
        ctx->rec.name_len = 0;
        ctx->rec.plan_len = 0;
        ctx->rec.tags_len = 0;

        ngx_http_set_ctx(r, ctx, ngx_http_gw_keyauth_module);

        /*
         * The client never supplies the consumer headers: gone already
         * when the identity headers were stripped in this pass, else
         * (gw_identity_headers pass, or ours from before an internal
         * redirect) dropped here.
         */

        if (!ngx_http_gw_identity_clean(r)
            && ngx_http_gw_strip_headers(r, klcf->strip->elts,
                                         klcf->strip->nelts)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    switch (ctx->state) {

    case NGX_HTTP_GW_KEYAUTH_WAITING:
        return NGX_AGAIN;

    case NGX_HTTP_GW_KEYAUTH_DONE:
        return ngx_http_gw_keyauth_decide(r, klcf, ctx);

    default:
        break;
    }

    rc = ngx_http_gw_keyauth_lookup(r, klcf, ctx);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_gw_keyauth_decide(r, klcf, ctx);
}


/*
 * Works out what to look up (a key's hash, or a consumer named by a JWT
 * claim), answers from the cache, or asks Redis.  Returns NGX_OK when ctx
 * holds the answer, NGX_AGAIN when waiting for Redis, or a final code.
 */

/*
 * The key's hash, with the worker's hasher (made at the first key, freed
 * at exit); without one (no memory, or an OpenSSL failure), the one-shot
 * hash, which gives the same bytes.
 */

static void
ngx_http_gw_keyauth_hash(u_char *key, size_t len, char *hex)
{
    if (ngx_http_gw_keyauth_hasher == NULL) {
        ngx_http_gw_keyauth_hasher = gw_key_hasher_create();
    }

    if (ngx_http_gw_keyauth_hasher == NULL
        || gw_key_hasher_hash(ngx_http_gw_keyauth_hasher, key, len, hex) != 0)
    {
        gw_model_key_hash(key, len, hex);
    }
}


static ngx_int_t
ngx_http_gw_keyauth_lookup(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_http_gw_keyauth_ctx_t *ctx)
{
    char                              hex[GW_KEY_HASH_HEX_LEN + 1];
    json_t                           *claims, *v;
    time_t                            fetched;
    ngx_int_t                         rc;
    ngx_str_t                         key;
    const char                       *argv[5];
    size_t                            argvlen[5];
    ngx_http_gw_keyauth_main_conf_t  *kmcf;

    rc = (klcf->realm.len) ? ngx_http_gw_keyauth_credential(r, klcf, &key)
                           : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        if (key.len > klcf->max_size) {
            return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                       "urn:tollgate:problem:key-invalid", "Invalid API key",
                       "API key too large");
        }

        if (!ngx_http_gw_header_value_safe(&key)) {
            return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                       "urn:tollgate:problem:key-invalid", "Invalid API key",
                       "API key malformed");
        }

        ngx_http_gw_keyauth_hash(key.data, key.len, hex);

        ctx->buf[0] = 'k';
        ngx_memcpy(ctx->buf + 1, hex, GW_KEY_HASH_HEX_LEN);
        ctx->lookup.data = ctx->buf;
        ctx->lookup.len = 1 + GW_KEY_HASH_HEX_LEN;

    } else if (klcf->consumer_claim.len
               && ngx_http_gw_keyauth_jwt_verified(r, &claims))
    {
        if (claims == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;      /* out of memory */
        }

        v = gw_json_path(claims, (char *) klcf->consumer_claim.data,
                         klcf->consumer_claim.len);

        if (!json_is_string(v)
            || !gw_model_id_valid(json_string_value(v),
                                  json_string_length(v)))
        {
            return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                       "urn:tollgate:problem:token-invalid", "Invalid token",
                       "the consumer claim is not a consumer id");
        }

        ctx->buf[0] = 'c';
        ngx_memcpy(ctx->buf + 1, json_string_value(v),
                   json_string_length(v));
        ctx->lookup.data = ctx->buf;
        ctx->lookup.len = 1 + json_string_length(v);

    } else if (klcf->realm.len == 0) {
        return NGX_DECLINED;

    } else if (!ngx_http_gw_auth_report(r, &ngx_http_gw_keyauth_mech,
                                        NGX_HTTP_GW_AUTH_NO_CREDENTIAL))
    {
        return NGX_DECLINED;          /* another credential will do */

    } else {
        return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                   "urn:tollgate:problem:key-missing",
                   "Authentication required", "no API key");
    }

    rc = ngx_http_gw_keyauth_cache_get(&ctx->lookup, &ctx->rec, &fetched);

    /* the entry may come from a location that keeps answers longer */

    if (rc == NGX_OK
        && ngx_time() - fetched
           >= (ctx->rec.state == NGX_HTTP_GW_KEYAUTH_VALID
               ? klcf->cache_ttl : klcf->negative_ttl))
    {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_OK) {
        if (klcf->redis_down == NGX_HTTP_GW_KEYAUTH_DOWN_DENY
            && !ngx_http_gw_redis_connected())
        {
            ctx->status = NGX_HTTP_GW_REDIS_DOWN;
        }

        ctx->state = NGX_HTTP_GW_KEYAUTH_DONE;
        return NGX_OK;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_keyauth_module);

    argv[0] = (ctx->buf[0] == 'k') ? "key" : "consumer";
    argvlen[0] = ngx_strlen(argv[0]);
    argv[1] = (char *) ctx->lookup.data + 1;
    argvlen[1] = ctx->lookup.len - 1;

    ctx->epoch = ngx_http_gw_keyauth_cache_epoch();

    rc = ngx_http_gw_redis_request_script(r, &kmcf->script,
                                          ngx_http_gw_keyauth_reply, ctx,
                                          0, 2, argv, argvlen);

    if (rc == NGX_AGAIN) {
        ctx->state = NGX_HTTP_GW_KEYAUTH_WAITING;
        (void) ngx_http_gw_auth_report(r, &ngx_http_gw_keyauth_mech,
                                       NGX_HTTP_GW_AUTH_WAITING);
        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->status = NGX_HTTP_GW_REDIS_DOWN;
    ctx->state = NGX_HTTP_GW_KEYAUTH_DONE;

    return NGX_OK;
}


/* turns ctx's answer into the response, or lets the request through */

static ngx_int_t
ngx_http_gw_keyauth_decide(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_http_gw_keyauth_ctx_t *ctx)
{
    ngx_str_t                      value;
    ngx_table_elt_t               *h;
    ngx_http_gw_keyauth_record_t  *rec;

    if (ctx->authenticated) {
        return NGX_OK;
    }

    if (ctx->status != NGX_HTTP_GW_REDIS_OK) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "1");

        return ngx_http_gw_keyauth_deny(r, klcf,
                   NGX_HTTP_SERVICE_UNAVAILABLE,
                   "urn:tollgate:problem:auth-unavailable",
                   "Authentication unavailable",
                   ctx->status == NGX_HTTP_GW_REDIS_TIMEOUT
                   ? "the consumer store did not answer in time"
                   : "the consumer store is unreachable");
    }

    rec = &ctx->rec;

    if (rec->state == NGX_HTTP_GW_KEYAUTH_VALID && rec->key_expires != 0
        && rec->key_expires <= ngx_time())
    {
        rec->state = NGX_HTTP_GW_KEYAUTH_EXPIRED;
    }

    switch (rec->state) {

    case NGX_HTTP_GW_KEYAUTH_VALID:
        break;

    case NGX_HTTP_GW_KEYAUTH_DISABLED:
        return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_FORBIDDEN,
                   "urn:tollgate:problem:consumer-disabled",
                   "Consumer disabled", "the consumer is disabled");

    case NGX_HTTP_GW_KEYAUTH_REVOKED:
        return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                   "urn:tollgate:problem:key-invalid", "Invalid API key",
                   "API key revoked");

    case NGX_HTTP_GW_KEYAUTH_EXPIRED:
        return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                   "urn:tollgate:problem:key-invalid", "Invalid API key",
                   "API key expired");

    default:
        return ngx_http_gw_keyauth_deny(r, klcf, NGX_HTTP_UNAUTHORIZED,
                   ctx->buf[0] == 'k' ? "urn:tollgate:problem:key-invalid"
                                      : "urn:tollgate:problem:token-invalid",
                   ctx->buf[0] == 'k' ? "Invalid API key" : "Invalid token",
                   ctx->buf[0] == 'k' ? "unknown API key"
                                      : "unknown consumer");
    }

    ctx->authenticated = 1;

    (void) ngx_http_gw_auth_report(r, &ngx_http_gw_keyauth_mech,
                                   NGX_HTTP_GW_AUTH_ACCEPTED);

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_KEY, NGX_HTTP_GW_AUTH_OK);

    if (ctx->buf[0] == 'k'
        && ngx_http_gw_keyauth_remove_credential(r, klcf) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = rec->id;
    value.len = rec->id_len;

    if (ngx_http_gw_add_header(r, &ngx_http_gw_consumer_id_header,
                               (u_char *) "x-consumer-id", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = rec->name;
    value.len = rec->name_len;

    if (value.len && ngx_http_gw_header_value_safe(&value)
        && ngx_http_gw_add_header(r, &ngx_http_gw_consumer_name_header,
                                  (u_char *) "x-consumer-name", &value)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * The key: the configured header (the first one, if repeated), else the
 * query argument when enabled.  Returns NGX_OK, NGX_DECLINED when absent.
 */

static ngx_int_t
ngx_http_gw_keyauth_credential(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_str_t *key)
{
    ngx_table_elt_t  *h;

    h = ngx_http_gw_header_in(r, &klcf->header);

    if (h != NULL) {
        *key = h->value;
        return key->len ? NGX_OK : NGX_DECLINED;
    }

    if (klcf->query.len
        && ngx_http_arg(r, klcf->query.data, klcf->query.len, key) == NGX_OK
        && key->len)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the key never reaches the upstream: drop the header and the argument */

static ngx_int_t
ngx_http_gw_keyauth_remove_credential(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf)
{
    u_char  *p, *last, *amp, *dst, *args;

    if (ngx_http_gw_strip_headers(r, &klcf->header, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (klcf->query.len == 0 || r->args.len == 0) {
        return NGX_OK;
    }

    args = ngx_pnalloc(r->pool, r->args.len);
    if (args == NULL) {
        return NGX_ERROR;
    }

    dst = args;
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (!((size_t) (amp - p) > klcf->query.len
              && p[klcf->query.len] == '='
              && ngx_strncasecmp(p, klcf->query.data, klcf->query.len) == 0)
            && !((size_t) (amp - p) == klcf->query.len
                 && ngx_strncasecmp(p, klcf->query.data, klcf->query.len)
                    == 0))
        {
            if (dst != args) {
                *dst++ = '&';
            }

            dst = ngx_cpymem(dst, p, amp - p);
        }

        p = amp + 1;
    }

    r->args.data = args;
    r->args.len = dst - args;

    /* the upstream request line is then built from uri and args */
    r->valid_unparsed_uri = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_keyauth_deny(ngx_http_request_t *r,
    ngx_http_gw_keyauth_loc_conf_t *klcf, ngx_uint_t status,
    const char *type, const char *title, const char *reason)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                    uri, challenge;
    ngx_uint_t                   outcome;
    ngx_log_handler_pt           handler;
    ngx_http_gw_problem_t        problem;
    ngx_http_gw_jwt_loc_conf_t  *jlcf;
    u_char                       buf[NGX_HTTP_GW_LOG_SIZE];

    /* without nginx's request line, which may hold a key argument */

    handler = r->connection->log->handler;
    r->connection->log->handler = NULL;

    /* an outage is logged once by the Redis client, not per request */

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_key_auth: request denied: %s, client: %V, uri: \"%V\"",
                  reason, &r->connection->addr_text,
                  ngx_http_gw_log_escape(&uri, buf, r->uri.data, r->uri.len));

    r->connection->log->handler = handler;

    if (status == NGX_HTTP_FORBIDDEN) {
        outcome = NGX_HTTP_GW_AUTH_FORBIDDEN;

    } else if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        outcome = NGX_HTTP_GW_AUTH_UNAVAILABLE;

    } else if (ngx_strcmp(type, "urn:tollgate:problem:key-missing") == 0) {
        outcome = NGX_HTTP_GW_AUTH_MISSING;

    } else {
        outcome = NGX_HTTP_GW_AUTH_INVALID;
    }

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_KEY, outcome);

    ngx_str_null(&challenge);

    if (status == NGX_HTTP_UNAUTHORIZED) {

        /* a consumer claim is the token's fault: a Bearer challenge */

        if (ngx_strcmp(type, "urn:tollgate:problem:token-invalid") == 0) {
            jlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_jwt_module);

            len = sizeof("Bearer realm=\"\", error=\"invalid_token\", "
                         "error_description=\"\"") + ngx_strlen(reason)
                  + jlcf->realm.len;

            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            challenge.data = p;
            p = ngx_sprintf(p, "Bearer realm=\"%V\", error=\"invalid_token\", "
                            "error_description=\"%s\"", &jlcf->realm,
                            reason);
            challenge.len = p - challenge.data;

        } else if (ngx_http_gw_keyauth_challenge(r, &challenge) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* no key at all was reported already; anything else is a refusal */

    if (outcome != NGX_HTTP_GW_AUTH_MISSING) {
        (void) ngx_http_gw_auth_report(r, &ngx_http_gw_keyauth_mech,
                                       NGX_HTTP_GW_AUTH_REFUSED);
    }

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) reason;
    problem.detail.len = ngx_strlen(reason);
    ngx_str_null(&problem.extra);

    return ngx_http_gw_auth_deny(r, &ngx_http_gw_keyauth_mech, &problem,
                                 &challenge);
}


static ngx_int_t
ngx_http_gw_keyauth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_gw_keyauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_keyauth_module);

    if (ctx == NULL || !ctx->authenticated) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case 0:
        v->data = ctx->rec.id;
        v->len = ctx->rec.id_len;
        break;

    case 1:
        v->data = ctx->rec.name;
        v->len = ctx->rec.name_len;
        break;

    case 2:
        v->data = ctx->rec.plan;
        v->len = ctx->rec.plan_len;
        break;

    default:
        v->data = ctx->rec.tags;
        v->len = ctx->rec.tags_len;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


ngx_http_gw_keyauth_record_t *
ngx_http_gw_keyauth_consumer(ngx_http_request_t *r)
{
    ngx_http_gw_keyauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_keyauth_module);

    if (ctx == NULL || !ctx->authenticated) {
        return NULL;
    }

    return &ctx->rec;
}


static ngx_int_t
ngx_http_gw_keyauth_add_variables(ngx_conf_t *cf)
{
    if (ngx_http_gw_auth_add(cf, &ngx_http_gw_keyauth_mech) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_add_variables(cf, ngx_http_gw_keyauth_vars);
}


static void *
ngx_http_gw_keyauth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_keyauth_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_keyauth_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    kmcf->cache_size = NGX_CONF_UNSET_UINT;

    return kmcf;
}


static char *
ngx_http_gw_keyauth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_keyauth_main_conf_t  *kmcf = conf;

    ngx_conf_init_uint_value(kmcf->cache_size, 10000);

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_keyauth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_keyauth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_keyauth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->realm = { 0, NULL };
     *     conf->header = { 0, NULL };
     *     conf->query = { 0, NULL };
     *     conf->consumer_claim = { 0, NULL };
     *     conf->strip = NULL;
     */

    conf->cache_ttl = NGX_CONF_UNSET;
    conf->negative_ttl = NGX_CONF_UNSET;
    conf->redis_down = NGX_CONF_UNSET_UINT;
    conf->max_size = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_gw_keyauth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_keyauth_loc_conf_t *prev = parent;
    ngx_http_gw_keyauth_loc_conf_t *conf = child;

    ngx_str_t                        *s;
    ngx_http_gw_keyauth_main_conf_t  *kmcf;

    if (conf->realm.data == NULL) {
        conf->realm = prev->realm;
    }

    ngx_conf_merge_str_value(conf->header, prev->header, "X-API-Key");
    ngx_conf_merge_str_value(conf->query, prev->query, "");
    ngx_conf_merge_str_value(conf->consumer_claim, prev->consumer_claim, "");
    ngx_conf_merge_sec_value(conf->cache_ttl, prev->cache_ttl, 30);
    ngx_conf_merge_sec_value(conf->negative_ttl, prev->negative_ttl, 5);
    ngx_conf_merge_uint_value(conf->redis_down, prev->redis_down,
                              NGX_HTTP_GW_KEYAUTH_DOWN_CACHED);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size, 256);

    if (ngx_strcmp(conf->query.data, "off") == 0) {
        ngx_str_set(&conf->query, "");
    }

    conf->strip = ngx_array_create(cf->pool, 3, sizeof(ngx_str_t));
    if (conf->strip == NULL) {
        return NGX_CONF_ERROR;
    }

    s = ngx_array_push_n(conf->strip, 2);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    s[0] = ngx_http_gw_consumer_id_header;
    s[1] = ngx_http_gw_consumer_name_header;

    if (conf->realm.len || conf->consumer_claim.len) {
        if (!ngx_http_gw_redis_configured(cf)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"gw_key_auth\" and \"gw_consumer_claim\" "
                               "need \"gw_redis\" in the http block");
            return NGX_CONF_ERROR;
        }

        kmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_gw_keyauth_module);
        kmcf->used = 1;

        if (ngx_http_gw_identity_add(cf, NULL) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_keyauth_init(ngx_conf_t *cf)
{
    ngx_str_t                         channel = ngx_string(GW_MODEL_EVENTS);
    ngx_http_handler_pt              *h;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_gw_keyauth_main_conf_t  *kmcf;

    if (ngx_http_gw_keyauth_route_add(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_keyauth_module);

    /* a route may turn key auth on (when the keys are there: gw_redis) */

    if (!kmcf->used
        && !(ngx_http_gw_policy_routed(cf) && ngx_http_gw_redis_configured(cf)))
    {
        return NGX_OK;
    }

    kmcf->script.text = ngx_http_gw_keyauth_lua;

    if (ngx_http_gw_redis_script_init(cf, &kmcf->script) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_gw_redis_subscribe(cf, &channel,
                                    ngx_http_gw_keyauth_cache_invalidate,
                                    ngx_http_gw_keyauth_cache_flush, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_gw_keyauth_cache_configure(kmcf->cache_size);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_keyauth_handler;

    return NGX_OK;
}


/* the cache is the worker's own heap: hand it back on the way out */

static void
ngx_http_gw_keyauth_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_keyauth_cache_flush(NULL);

    gw_key_hasher_free(ngx_http_gw_keyauth_hasher);
    ngx_http_gw_keyauth_hasher = NULL;
}
