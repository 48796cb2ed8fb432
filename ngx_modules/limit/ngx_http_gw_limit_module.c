
/*
 * Copyright (C) Tollgate
 *
 * Rate limits (docs/limit.md): gw_limit directives, several per location,
 * each keyed by any complex value, as a GCRA rate with a burst or a
 * sliding-window quota (lib/limit), in a shared-memory zone (local mode)
 * or in Redis for every gateway at once (global mode, one script run
 * per request, or per batch of a worker's requests of one key:
 * ngx_http_gw_limit_batch.c).  A consumer's plan ($gw_consumer_plan by
 * default) may replace a limit's values (gw_limit_plan), so a plan change
 * in Redis applies as soon as the key-auth cache hears of it.
 *
 * The check runs in the precontent phase: after authentication, whatever
 * "satisfy" says, so that limits can be keyed by the consumer.  Answers
 * carry the RateLimit-Policy and RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers (and, by directive, the legacy
 * X-RateLimit-*), added by a header filter so that they reach the client
 * whatever the upstream answers; a refusal is a problem+json with
 * Retry-After.  When Redis is unavailable, global limits fall back to
 * their share of a local limit (limit / gw_limit_nodes), or deny, or
 * allow, as gw_limit_redis_down says, with one log line per incident.
 * A zone full of live states has no room for a new key: the request is
 * refused with 503 limit-zone-full, or let through, as gw_limit_zone_full
 * says (ngx_http_gw_limit_zone.c).
 */


#include <math.h>
#include <openssl/sha.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_limit.h"
#include "ngx_http_gw_metrics.h"
#include "gw_limit_log.h"


#define NGX_HTTP_GW_LIMIT_USEC  1000000.0


static ngx_int_t ngx_http_gw_limit_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_limit_init_ctx(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t **ctxp);
static ngx_int_t ngx_http_gw_limit_global(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx);
static ngx_int_t ngx_http_gw_limit_finish(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx);
static ngx_int_t ngx_http_gw_limit_reject(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx);
static ngx_int_t ngx_http_gw_limit_unavailable(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, char *detail);
static ngx_int_t ngx_http_gw_limit_no_room(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx,
    ngx_uint_t mode);
static void ngx_http_gw_limit_delay(ngx_http_request_t *r);
static double ngx_http_gw_limit_now(void);
static void ngx_http_gw_limit_count(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);
static ngx_uint_t ngx_http_gw_limit_refused(ngx_http_gw_limit_ctx_t *ctx);
static ngx_uint_t ngx_http_gw_limit_allow_new(
    ngx_http_gw_limit_loc_conf_t *lcf);
static ngx_int_t ngx_http_gw_limit_init(ngx_conf_t *cf);



/* per worker: whether global limits are running on their fallback */
static ngx_uint_t  ngx_http_gw_limit_degraded;


static ngx_conf_enum_t  ngx_http_gw_limit_modes[] = {
    { ngx_string("local"), NGX_HTTP_GW_LIMIT_LOCAL },
    { ngx_string("global"), NGX_HTTP_GW_LIMIT_GLOBAL },
    { ngx_string("lease"), NGX_HTTP_GW_LIMIT_LEASE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_gw_limit_down[] = {
    { ngx_string("fallback"), NGX_HTTP_GW_LIMIT_FALLBACK },
    { ngx_string("deny"), NGX_HTTP_GW_LIMIT_DENY },
    { ngx_string("allow"), NGX_HTTP_GW_LIMIT_ALLOW },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_gw_limit_full[] = {
    { ngx_string("reject"), NGX_HTTP_GW_LIMIT_REJECT },
    { ngx_string("allow"), NGX_HTTP_GW_LIMIT_ALLOW },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_gw_limit_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_gw_limit_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_num_bounds_t  ngx_http_gw_limit_nodes_bounds = {
    ngx_conf_check_num_bounds, 1, 1024
};


static ngx_conf_num_bounds_t  ngx_http_gw_limit_batch_bounds = {
    ngx_conf_check_num_bounds, 1, GW_LIMIT_BATCH_MAX
};


static ngx_command_t  ngx_http_gw_limit_commands[] = {

    { ngx_string("gw_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_gw_limit_conf_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_limit_conf_zone,
      0,
      0,
      NULL },

    { ngx_string("gw_limit_plan"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_gw_limit_conf_plan,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_limit_plan_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, plan_key),
      NULL },

    { ngx_string("gw_limit_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, mode),
      &ngx_http_gw_limit_modes },

    { ngx_string("gw_limit_nodes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, nodes),
      &ngx_http_gw_limit_nodes_bounds },

    { ngx_string("gw_limit_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, batch),
      &ngx_http_gw_limit_batch_bounds },

    { ngx_string("gw_limit_redis_down"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, redis_down),
      &ngx_http_gw_limit_down },

    { ngx_string("gw_limit_zone_full"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, zone_full),
      &ngx_http_gw_limit_full },

    { ngx_string("gw_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, status),
      &ngx_http_gw_limit_status_bounds },

    { ngx_string("gw_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, headers),
      NULL },

    { ngx_string("gw_limit_legacy_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, legacy_headers),
      NULL },

    { ngx_string("gw_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, dry_run),
      NULL },

    { ngx_string("gw_limit_key_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, key_max),
      NULL },

    { ngx_string("gw_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_loc_conf_t, log_level),
      &ngx_http_gw_limit_log_levels },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_limit_module_ctx = {
    ngx_http_gw_limit_add_variables,       /* preconfiguration */
    ngx_http_gw_limit_init,                /* postconfiguration */

    ngx_http_gw_limit_create_main_conf,    /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_limit_create_loc_conf,     /* create location configuration */
    ngx_http_gw_limit_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_gw_limit_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_limit_module_ctx,         /* module context */
    ngx_http_gw_limit_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gw_limit_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_uint_t                     refused;
    ngx_http_gw_limit_ctx_t       *ctx;
    ngx_http_gw_limit_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_module);

    if (lcf->limits == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_limit_module);

    if (ctx == NULL) {

        /* an internal redirect: the request was decided already */

        ctx = ngx_http_gw_limit_once_find(r);

        if (ctx != NULL) {
            ngx_http_set_ctx(r, ctx, ngx_http_gw_limit_module);
            return NGX_DECLINED;
        }

        if (ngx_http_gw_limit_init_ctx(r, lcf, &ctx) != NGX_OK
            || ngx_http_gw_limit_once_mark(r, ctx) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->done) {
        return NGX_DECLINED;
    }

    /* leases first: what they refuse costs the global limits nothing */

    if (ctx->nlease) {
        rc = ngx_http_gw_limit_lease(r, ctx);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->nglobal && !ctx->asked && !ngx_http_gw_limit_refused(ctx)) {
        ctx->asked = 1;

        /* a local refusal first, without asking Redis (nor taking) */

        if (ctx->n > ctx->nglobal && !lcf->dry_run
            && ngx_http_gw_limit_once_probe(r, ctx,
                                            ngx_http_gw_limit_allow_new(lcf),
                                            ngx_http_gw_limit_now())
               != NGX_OK)
        {
            if (!ngx_http_gw_limit_refused(ctx)) {
                ctx->zone_full = 1;
                return ngx_http_gw_limit_no_room(r, lcf, ctx,
                                                 NGX_HTTP_GW_LIMIT_LOCAL);
            }

            return ngx_http_gw_limit_finish(r, lcf, ctx);
        }

        rc = ngx_http_gw_limit_redis_ask(r, ctx);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* Redis is down now, or too busy: as if it had failed */

        ctx->answered = 1;
        ctx->redis_status = NGX_HTTP_GW_REDIS_DOWN;
    }

    if (ctx->nglobal && ctx->asked) {
        rc = ngx_http_gw_limit_global(r, lcf, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    refused = ngx_http_gw_limit_refused(ctx);

    rc = ngx_http_gw_limit_zone_decide(r, ctx->items, ctx->n, 0, 1, refused,
                                       ngx_http_gw_limit_allow_new(lcf),
                                       ngx_http_gw_limit_now());

    /* a local limit refused what Redis admitted: Redis gets it back */

    if (!refused && ctx->redis_status == NGX_HTTP_GW_REDIS_OK
        && (ngx_http_gw_limit_refused(ctx)
            || (rc != NGX_OK && !ngx_http_gw_limit_allow_new(lcf))))
    {
        ngx_http_gw_limit_once_give_back(r, ctx);
    }

    if (rc != NGX_OK) {
        ctx->zone_full = 1;

        /* a refusal by another limit is the better answer: 429 */

        if (!ngx_http_gw_limit_allow_new(lcf)
            && !ngx_http_gw_limit_refused(ctx))
        {
            return ngx_http_gw_limit_no_room(r, lcf, ctx,
                                             NGX_HTTP_GW_LIMIT_LOCAL);
        }
    }

    return ngx_http_gw_limit_finish(r, lcf, ctx);
}


/*
 * Evaluates each limit's key and, when a limit has plans, the plan key
 * (once) for this request: a limit whose key is empty does not apply (as
 * in limit_req), nor one the plan turns off; a key longer than
 * gw_limit_key_max is replaced by the hex SHA-256 of its bytes, so huge
 * keys cost a bounded size, and marked as such (hashed), so the digest
 * never shares state with the same 64 characters sent as a key.
 */

static ngx_int_t
ngx_http_gw_limit_init_ctx(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t **ctxp)
{
    u_char                     *p;
    ngx_str_t                   key, plan;
    ngx_uint_t                  i, j, planned;
    ngx_http_gw_limit_t        *limit;
    ngx_http_gw_limit_ctx_t    *ctx;
    ngx_http_gw_limit_plan_t  **plans;
    ngx_http_gw_limit_item_t   *it;
    ngx_http_variable_value_t  *vv;
    u_char                      md[SHA256_DIGEST_LENGTH];

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_limit_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->items = ngx_pcalloc(r->pool, lcf->limits->nelts
                                      * sizeof(ngx_http_gw_limit_item_t));
    if (ctx->items == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&plan);
    planned = 0;

    limit = lcf->limits->elts;

    for (i = 0; i < lcf->limits->nelts; i++) {

        if (limit[i].key_var != NGX_ERROR) {
            vv = ngx_http_get_flushed_variable(r, limit[i].key_var);

            if (vv == NULL || vv->not_found) {
                ngx_str_null(&key);

            } else {
                key.data = vv->data;
                key.len = vv->len;
            }

        } else if (ngx_http_complex_value(r, &limit[i].key, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (key.len == 0) {
            continue;
        }

        it = &ctx->items[ctx->n];
        it->limit = &limit[i];
        it->rule = limit[i].rule;
        it->mode = limit[i].mode;

        /* the plan, at the first limit that has plans to pick from */

        if (limit[i].plans != NULL && !planned) {
            planned = 1;

            if (lcf->plan_key != NULL
                && ngx_http_complex_value(r, lcf->plan_key, &plan) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (plan.len && limit[i].plans != NULL) {
            plans = limit[i].plans->elts;

            for (j = 0; j < limit[i].plans->nelts; j++) {
                if (plans[j]->plan.len == plan.len
                    && ngx_memcmp(plans[j]->plan.data, plan.data, plan.len)
                       == 0)
                {
                    break;
                }
            }

            if (j < limit[i].plans->nelts) {
                if (plans[j]->off) {
                    continue;
                }

                it->rule = plans[j]->rule;
            }
        }

        if (key.len > lcf->key_max) {
            p = ngx_pnalloc(r->pool, 2 * SHA256_DIGEST_LENGTH);
            if (p == NULL) {
                return NGX_ERROR;
            }

            SHA256(key.data, key.len, md);
            ngx_hex_dump(p, md, SHA256_DIGEST_LENGTH);

            key.data = p;
            key.len = 2 * SHA256_DIGEST_LENGTH;
            it->hashed = 1;
        }

        it->key = key;

        it->id.len = limit[i].name.len + 1 + key.len;
        it->id.data = ngx_pnalloc(r->pool, it->id.len);
        if (it->id.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(it->id.data, limit[i].name.data, limit[i].name.len);
        *p++ = '\0';
        ngx_memcpy(p, key.data, key.len);

        if (it->mode == NGX_HTTP_GW_LIMIT_LEASE
            && it->rule.kind != GW_LIMIT_QUOTA)
        {
            /* a plan made it a rate or an exact quota: never leased */
            it->mode = NGX_HTTP_GW_LIMIT_GLOBAL;
        }

        if (it->mode == NGX_HTTP_GW_LIMIT_GLOBAL) {
            ctx->nglobal++;

        } else if (it->mode == NGX_HTTP_GW_LIMIT_LEASE) {
            ctx->nlease++;
        }

        ctx->n++;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_limit_module);
    *ctxp = ctx;

    return NGX_OK;
}


/* the global limits, from Redis' answer or, without one, the fallback */

static ngx_int_t
ngx_http_gw_limit_global(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx)
{
    ngx_uint_t  i;

    if (ctx->redis_status == NGX_HTTP_GW_REDIS_OK) {

        if (ngx_http_gw_limit_degraded) {
            ngx_http_gw_limit_degraded = 0;
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "gw_limit: Redis answers again, global limits "
                          "are global again");
        }

        return NGX_OK;
    }

    if (!ngx_http_gw_limit_degraded) {
        ngx_http_gw_limit_degraded = 1;
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gw_limit: Redis unavailable (%s), global limits %s "
                      "until it answers again",
                      ctx->redis_status == NGX_HTTP_GW_REDIS_TIMEOUT
                      ? "timeout" : "down",
                      lcf->redis_down == NGX_HTTP_GW_LIMIT_FALLBACK
                      ? "fall back to a local share"
                      : lcf->redis_down == NGX_HTTP_GW_LIMIT_DENY
                        ? "deny every request" : "let every request through");
    }

    switch (lcf->redis_down) {

    case NGX_HTTP_GW_LIMIT_DENY:
        ctx->status = NGX_HTTP_GW_LIMIT_DEGRADED;

        return ngx_http_gw_limit_unavailable(r, ctx, "the shared rate-limit "
                                             "store is unavailable; try "
                                             "again later");

    case NGX_HTTP_GW_LIMIT_ALLOW:
        for (i = 0; i < ctx->n; i++) {
            if (ctx->items[i].mode == NGX_HTTP_GW_LIMIT_GLOBAL) {
                ctx->items[i].degraded = 1;
            }
        }

        return NGX_OK;

    default: /* NGX_HTTP_GW_LIMIT_FALLBACK */
        if (ngx_http_gw_limit_zone_decide(r, ctx->items, ctx->n, 1,
                                          lcf->nodes, 0,
                                          ngx_http_gw_limit_allow_new(lcf),
                                          ngx_http_gw_limit_now())
            != NGX_OK)
        {
            ctx->zone_full = 1;

            if (!ngx_http_gw_limit_allow_new(lcf)
                && !ngx_http_gw_limit_refused(ctx))
            {
                return ngx_http_gw_limit_no_room(r, lcf, ctx,
                                                 NGX_HTTP_GW_LIMIT_GLOBAL);
            }
        }

        return NGX_OK;
    }
}


/* every limit decided: the verdict, the status variable, a delay */

static ngx_int_t
ngx_http_gw_limit_finish(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx)
{
    double                     delay;
    ngx_uint_t                 i, reject, degraded;
    ngx_http_gw_limit_item_t  *it;

    ctx->done = 1;

    if (ctx->n == 0) {
        return NGX_DECLINED;
    }

    reject = 0;
    degraded = 0;
    delay = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->degraded) {
            degraded = 1;
        }

        if (!it->decided) {
            continue;
        }

        if (!it->res.admit) {
            reject = 1;

            ngx_log_error(lcf->log_level, r->connection->log, 0,
                          "gw_limit: limit \"%V\" exceeded%s%s",
                          &it->limit->name,
                          it->degraded ? " (local fallback)" : "",
                          lcf->dry_run ? ", dry run: let through" : "");

        } else if (it->res.delay > delay) {
            delay = it->res.delay;
        }
    }

    if (reject) {
        if (lcf->dry_run) {
            ctx->status = NGX_HTTP_GW_LIMIT_DRY_RUN;
            ngx_http_gw_limit_count(r, ctx);
            return NGX_DECLINED;
        }

        ctx->status = NGX_HTTP_GW_LIMIT_REJECTED;
        ngx_http_gw_limit_count(r, ctx);
        ngx_http_gw_limit_lease_unspend(r, ctx);
        return ngx_http_gw_limit_reject(r, lcf, ctx);
    }

    if (delay >= 1000 && !lcf->dry_run) {
        ctx->status = NGX_HTTP_GW_LIMIT_DELAYED;
        ngx_http_gw_limit_count(r, ctx);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "gw_limit: delaying %.0f us", delay);

        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_gw_limit_delay;

        r->connection->write->delayed = 1;
        ngx_add_timer(r->connection->write, (ngx_msec_t) (delay / 1000));

        return NGX_AGAIN;
    }

    if (ctx->zone_full) {
        ctx->status = NGX_HTTP_GW_LIMIT_ZONE_FULL;

    } else {
        ctx->status = degraded ? NGX_HTTP_GW_LIMIT_DEGRADED
                               : NGX_HTTP_GW_LIMIT_PASSED;
    }

    ngx_http_gw_limit_count(r, ctx);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_limit_reject(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx)
{
    u_char                    *p;
    double                     wait;
    ngx_uint_t                 i;
    ngx_table_elt_t           *h;
    ngx_http_gw_limit_t       *first;
    ngx_http_gw_problem_t      problem;
    ngx_http_gw_limit_item_t  *it;

    wait = 0;
    first = NULL;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->decided && !it->res.admit) {
            if (first == NULL) {
                first = it->limit;
            }

            if (it->res.retry_after > wait) {
                wait = it->res.retry_after;
            }
        }
    }

    /* whole seconds, rounded up: never tell a client to come back early */
    wait = ngx_max(1, ceil(wait / NGX_HTTP_GW_LIMIT_USEC));

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%T", (time_t) wait) - p;

    problem.detail.data = ngx_pnalloc(r->pool, 64 + GW_LIMIT_NAME_MAX);
    if (problem.detail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    problem.detail.len = ngx_sprintf(problem.detail.data,
                                     "limit \"%V\" exceeded; retry in %T s",
                                     &first->name, (time_t) wait)
                         - problem.detail.data;

    problem.status = lcf->status;
    problem.type = "urn:tollgate:problem:rate-limited";
    problem.title = "Too many requests";
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}


/*
 * 503 limit-zone-full: a limit of mode (local, or global on its fallback)
 * found its zone full of live states, so its new key has nowhere to be
 * counted; nothing was taken from the request's other limits.
 */

static ngx_int_t
ngx_http_gw_limit_no_room(ngx_http_request_t *r,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_http_gw_limit_ctx_t *ctx,
    ngx_uint_t mode)
{
    ngx_uint_t                 i;
    ngx_http_gw_limit_t       *limit;
    ngx_http_gw_problem_t      problem;

    limit = NULL;

    for (i = 0; i < ctx->n; i++) {
        if (!ctx->items[i].decided && ctx->items[i].mode == mode) {
            limit = ctx->items[i].limit;
            break;
        }
    }

    if (limit == NULL) {    /* cannot happen: one found no room */
        limit = ctx->items[0].limit;
    }

    ngx_log_error(lcf->log_level, r->connection->log, 0,
                  "gw_limit: limit \"%V\": zone \"%V\" has no room for a "
                  "new key, refused", &limit->name, &limit->zone->shm.name);

    ctx->done = 1;
    ctx->status = NGX_HTTP_GW_LIMIT_ZONE_FULL;
    ngx_http_gw_limit_count(r, ctx);
    ngx_http_gw_limit_lease_unspend(r, ctx);

    problem.detail.data = ngx_pnalloc(r->pool, 80 + GW_LIMIT_NAME_MAX);
    if (problem.detail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    problem.detail.len = ngx_sprintf(problem.detail.data,
                                     "limit \"%V\" cannot count a new key "
                                     "now; try again later", &limit->name)
                         - problem.detail.data;

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:limit-zone-full";
    problem.title = "Rate limit zone full";
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}


/* 503 limit-unavailable: no decision could be made, so none is risked */

static ngx_int_t
ngx_http_gw_limit_unavailable(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, char *detail)
{
    ngx_http_gw_problem_t  problem;

    ctx->done = 1;

    if (ctx->status == NGX_HTTP_GW_LIMIT_NONE) {
        ctx->status = NGX_HTTP_GW_LIMIT_REJECTED;
    }

    ngx_http_gw_limit_count(r, ctx);
    ngx_http_gw_limit_lease_unspend(r, ctx);

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:limit-unavailable";
    problem.title = "Rate limit unavailable";
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}


static void
ngx_http_gw_limit_delay(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (wev->delayed) {
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/* the request's verdict, once, in gw_limit_decisions_total */

static void
ngx_http_gw_limit_count(ngx_http_request_t *r, ngx_http_gw_limit_ctx_t *ctx)
{
    static ngx_uint_t  decisions[] = {
        0,                                      /* none: not counted */
        NGX_HTTP_GW_METRICS_LIMIT_PASSED,
        NGX_HTTP_GW_METRICS_LIMIT_DEGRADED,
        NGX_HTTP_GW_METRICS_LIMIT_DELAYED,
        NGX_HTTP_GW_METRICS_LIMIT_DRY_RUN,
        NGX_HTTP_GW_METRICS_LIMIT_REJECTED,
        NGX_HTTP_GW_METRICS_LIMIT_ZONE_FULL
    };

    if (ctx->status != NGX_HTTP_GW_LIMIT_NONE) {
        ngx_http_gw_metrics_limit(r, decisions[ctx->status]);
    }
}


/* whether a limit decided so far (a global one) refused the request */

static ngx_uint_t
ngx_http_gw_limit_refused(ngx_http_gw_limit_ctx_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->n; i++) {
        if (ctx->items[i].decided && !ctx->items[i].res.admit) {
            return 1;
        }
    }

    return 0;
}


/* whether a new key a full zone cannot hold goes through unlimited */

static ngx_uint_t
ngx_http_gw_limit_allow_new(ngx_http_gw_limit_loc_conf_t *lcf)
{
    return lcf->zone_full == NGX_HTTP_GW_LIMIT_ALLOW || lcf->dry_run;
}


/* the local clock, microseconds since the epoch (nginx's cached time) */

static double
ngx_http_gw_limit_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (double) tp->sec * NGX_HTTP_GW_LIMIT_USEC
           + (double) tp->msec * 1000;
}


static ngx_int_t
ngx_http_gw_limit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt            *h;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_gw_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);

    if (ngx_http_gw_limit_route_init(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!lmcf->used) {
        return NGX_OK;
    }

    if (lmcf->default_zone != NULL && lmcf->default_zone->shm.size == 0) {
        lmcf->default_zone->shm.size = NGX_HTTP_GW_LIMIT_ZONE_SIZE;
    }

    if (lmcf->global) {
        if (!ngx_http_gw_redis_configured(cf)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_limit: global mode needs gw_redis");
            return NGX_ERROR;
        }

        lmcf->script.text.data = (u_char *) gw_limit_script;
        lmcf->script.text.len = ngx_strlen(gw_limit_script);

        if (ngx_http_gw_redis_script_init(cf, &lmcf->script) != NGX_OK) {
            return NGX_ERROR;
        }

        lmcf->refund.text.data = (u_char *) gw_limit_refund_script;
        lmcf->refund.text.len = ngx_strlen(gw_limit_refund_script);

        if (ngx_http_gw_redis_script_init(cf, &lmcf->refund) != NGX_OK) {
            return NGX_ERROR;
        }

        lmcf->batch.text.data = (u_char *) gw_limit_batch_script;
        lmcf->batch.text.len = ngx_strlen(gw_limit_batch_script);

        if (ngx_http_gw_redis_script_init(cf, &lmcf->batch) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_limit_handler;

    ngx_http_gw_limit_header_filter_init();

    return NGX_OK;
}
