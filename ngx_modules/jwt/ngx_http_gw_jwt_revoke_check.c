
/*
 * Copyright (C) Tollgate
 *
 * The revocation check of a verified token (gw_jwt_revocation), and the
 * token type rule (gw_jwt_type) with the merge of both.
 *
 * A token's jti is looked up in the shared set of
 * ngx_http_gw_jwt_revoke.c.  A live entry is a revocation (401).  A miss
 * lets the token through only while the set is complete (loaded, and no
 * entry found the zone full).
 *
 * The key design decision: a revoked token is never let through for want
 * of room or of a load.  While the set is incomplete, a miss is asked of
 * Redis on the request itself (ZSCORE, the request suspended, never the
 * worker), and when Redis cannot answer the request gets 503 with
 * Retry-After: no decision could be made, so none is risked.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_jwt_revoke.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_redis.h"
#include "gw_model.h"


/* ctx->revoke: what Redis said of this request's jti */
#define NGX_HTTP_GW_JWT_REVOKE_NONE     0
#define NGX_HTTP_GW_JWT_REVOKE_WAITING  1
#define NGX_HTTP_GW_JWT_REVOKE_CLEAR    2
#define NGX_HTTP_GW_JWT_REVOKE_REVOKED  3
#define NGX_HTTP_GW_JWT_REVOKE_FAILED   4


static ngx_int_t ngx_http_gw_jwt_revoke_jti(ngx_http_gw_jwt_ctx_t *ctx,
    ngx_str_t *jti);
static void ngx_http_gw_jwt_revoke_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_jwt_revoke_unavailable(ngx_http_request_t *r);


/*
 * gw_jwt_type media-type | off;
 * A media type of 1 to GW_TYP_MAX bytes of printable ASCII without ";".
 */

char *
ngx_http_gw_jwt_type(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (jlcf->type.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&jlcf->type, "");
        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || value[1].len > GW_TYP_MAX) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] >= 0x7f
            || value[1].data[i] == ';')
        {
            goto invalid;
        }
    }

    jlcf->type = value[1];

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid token type \"%V\" (a media type such as "
                       "\"at+jwt\", at most %d bytes)", &value[1],
                       GW_TYP_MAX);
    return NGX_CONF_ERROR;
}


/*
 * From the location merge, once gw_jwt_leeway is merged: merges this
 * file's directives, and notes that a location checks revocation, and
 * the largest leeway of those that do (an entry outlives its token's exp
 * by that much, as the exp check does).
 */

char *
ngx_http_gw_jwt_revoke_merge(ngx_conf_t *cf, ngx_http_gw_jwt_loc_conf_t *prev,
    ngx_http_gw_jwt_loc_conf_t *jlcf)
{
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    ngx_conf_merge_str_value(jlcf->type, prev->type, "");
    ngx_conf_merge_value(jlcf->revocation, prev->revocation, 0);
    ngx_conf_merge_value(jlcf->revocation_jti, prev->revocation_jti, 1);

    if (jlcf->realm.len == 0 || !jlcf->revocation) {
        return NGX_CONF_OK;
    }

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);

    jmcf->revoke.used = 1;

    if (jlcf->leeway > jmcf->revoke.leeway) {
        jmcf->revoke.leeway = jlcf->leeway;
    }

    return NGX_CONF_OK;
}


/*
 * The token's jti: NGX_OK with jti set, NGX_DECLINED when there is none,
 * or it is not a string, or not a valid id (lib/model: no list can hold
 * it, so it is as good as absent).
 */

static ngx_int_t
ngx_http_gw_jwt_revoke_jti(ngx_http_gw_jwt_ctx_t *ctx, ngx_str_t *jti)
{
    json_t  *v;

    if (ctx->jws.payload != NULL) {
        v = json_object_get(ctx->jws.payload, "jti");

        if (!json_is_string(v)) {
            return NGX_DECLINED;
        }

        jti->data = (u_char *) json_string_value(v);
        jti->len = json_string_length(v);

    } else if (ctx->jws.plain
               && ctx->jws.claims.jti.type == GW_JWT_V_STRING)
    {
        jti->data = (u_char *) ctx->jws.claims.jti.data;
        jti->len = ctx->jws.claims.jti.len;

    } else {
        return NGX_DECLINED;
    }

    return gw_model_id_valid((char *) jti->data, jti->len)
           ? NGX_OK : NGX_DECLINED;
}


/*
 * The revocation check of a verified token, on a location with
 * gw_jwt_revocation on.  Returns NGX_OK (not revoked), NGX_DECLINED with
 * *err (revoked, or no jti where one is required: 401), NGX_AGAIN (the
 * request waits for Redis; the handler returns NGX_AGAIN and runs again),
 * or a final code when the answer was sent (503) or for our failure.
 */

ngx_int_t
ngx_http_gw_jwt_revoke_check(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_ctx_t *ctx,
    const char **err)
{
    ngx_int_t                     rc;
    ngx_str_t                     jti, text;
    ngx_uint_t                    trusted, found;
    const char                   *argv[3];
    size_t                        argvlen[3];
    ngx_log_handler_pt            handler;
    ngx_http_gw_jwt_main_conf_t  *jmcf;
    u_char                        buf[NGX_HTTP_GW_LOG_SIZE];

    if (!jlcf->revocation) {
        return NGX_OK;
    }

    if (ngx_http_gw_jwt_revoke_jti(ctx, &jti) != NGX_OK) {
        if (!jlcf->revocation_jti) {
            return NGX_OK;
        }

        *err = "token has no usable jti";
        return NGX_DECLINED;
    }

    switch (ctx->revoke) {

    case NGX_HTTP_GW_JWT_REVOKE_NONE:
        break;

    case NGX_HTTP_GW_JWT_REVOKE_CLEAR:
        return NGX_OK;

    case NGX_HTTP_GW_JWT_REVOKE_REVOKED:
        found = 1;
        goto revoked;

    default: /* NGX_HTTP_GW_JWT_REVOKE_FAILED */
        return ngx_http_gw_jwt_revoke_unavailable(r);
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_jwt_module);

    found = ngx_http_gw_jwt_revoke_lookup(jmcf->revoke.zone, jti.data,
                                          jti.len, &trusted);

    if (found) {
        goto revoked;
    }

    if (trusted) {
        return NGX_OK;
    }

    /* the set may miss it: Redis decides, the request waits */

    argv[0] = "ZSCORE";
    argvlen[0] = sizeof("ZSCORE") - 1;
    argv[1] = GW_MODEL_JWT_REVOKED;
    argvlen[1] = sizeof(GW_MODEL_JWT_REVOKED) - 1;
    argv[2] = (char *) jti.data;
    argvlen[2] = jti.len;

    rc = ngx_http_gw_redis_request(r, ngx_http_gw_jwt_revoke_reply, ctx, 3,
                                   argv, argvlen);

    if (rc == NGX_AGAIN) {
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_WAITING;
        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gw_jwt_revoke_unavailable(r);

revoked:

    /* without nginx's context, which may hold the token (a query) */

    handler = r->connection->log->handler;
    r->connection->log->handler = NULL;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: revoked token, jti: \"%V\"",
                  ngx_http_gw_log_escape(&text, buf, jti.data, jti.len));

    r->connection->log->handler = handler;

    *err = "token revoked";

    return NGX_DECLINED;
}


/* Redis' answer for a request's jti: a score is a revocation */

static void
ngx_http_gw_jwt_revoke_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_jwt_ctx_t *ctx = data;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_FAILED;
        return;
    }

    switch (reply->type) {

    case REDIS_REPLY_NIL:
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_CLEAR;
        break;

    case REDIS_REPLY_STRING:
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_REVOKED;
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_jwt: unexpected reply to ZSCORE \""
                      GW_MODEL_JWT_REVOKED "\"");
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_FAILED;
        break;
    }
}


/* 503: no decision could be made, so none is risked */

static ngx_int_t
ngx_http_gw_jwt_revoke_unavailable(ngx_http_request_t *r)
{
    ngx_table_elt_t        *h;
    ngx_http_gw_problem_t   problem;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: request denied: the revocation list is "
                  "unavailable");

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_JWT,
                             NGX_HTTP_GW_AUTH_UNAVAILABLE);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:auth-unavailable";
    problem.title = "Authentication unavailable";
    ngx_str_set(&problem.detail, "the token revocation list is unavailable");
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}
