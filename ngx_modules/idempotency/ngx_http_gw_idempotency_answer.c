
/*
 * Copyright (C) Tollgate
 *
 * The answers of the Idempotency-Key handler once Redis has spoken
 * (docs/idempotency.md): go on as the key's owner, 422, 409, the replay
 * of a stored answer, or 503 when Redis could not say; and the one way
 * this module sends a problem.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_idempotency.h"


static ngx_int_t ngx_http_gw_idem_replay(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx);


ngx_int_t
ngx_http_gw_idem_decide(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, ngx_http_gw_idem_ctx_t *ctx)
{
    u_char                 *p;
    ngx_http_gw_problem_t   problem;

    if (ctx->redis != NGX_HTTP_GW_REDIS_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gw_idempotency: Redis %s, request refused",
                      ctx->redis == NGX_HTTP_GW_REDIS_TIMEOUT
                      ? "timed out" : "is unavailable");

        return ngx_http_gw_idem_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "urn:tollgate:problem:idempotency-unavailable",
                   "Idempotency store unavailable",
                   "the gateway cannot check the Idempotency-Key now; "
                   "retry later with the same key");
    }

    if (ngx_strcmp(ctx->state.data, "new") == 0) {
        ctx->phase = NGX_HTTP_GW_IDEM_OWNER;
        ctx->store_max = lcf->store_max;
        ctx->ttl = lcf->ttl;
        return NGX_DECLINED;
    }

    if (ngx_strcmp(ctx->state.data, "mismatch") == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: key reused for another request");

        return ngx_http_gw_idem_problem(r, 422,
                   "urn:tollgate:problem:idempotency-key-reused",
                   "Idempotency-Key reused",
                   "this Idempotency-Key was used for a request with "
                   "another method, target or body");
    }

    if (ngx_strcmp(ctx->state.data, "pending") == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: request with this key in flight");

        return ngx_http_gw_idem_problem(r, NGX_HTTP_CONFLICT,
                   "urn:tollgate:problem:idempotency-key-in-flight",
                   "Request in progress",
                   "a request with this Idempotency-Key is still being "
                   "processed; retry later");
    }

    if (ngx_strcmp(ctx->state.data, "done") == 0) {
        return ngx_http_gw_idem_replay(r, ctx);
    }

    if (ngx_strcmp(ctx->state.data, "unstored") == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: retry of a request whose answer "
                      "was not stored");

        p = ngx_pnalloc(r->pool, 96 + ctx->status.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        problem.status = NGX_HTTP_CONFLICT;
        problem.type = "urn:tollgate:problem:idempotency-answer-not-stored";
        problem.title = "Answer not stored";
        problem.detail.data = p;
        problem.detail.len = ngx_sprintf(p, "the request was processed "
                                         "(status %V) but its answer was "
                                         "too large to keep", &ctx->status)
                             - p;
        problem.extra.data = problem.detail.data + problem.detail.len;
        problem.extra.len = ngx_sprintf(problem.extra.data,
                                        "\"original_status\":%V",
                                        &ctx->status)
                            - problem.extra.data;

        return ngx_http_gw_send_problem(r, &problem);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_idempotency: record in an unknown state");

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * Sends the stored answer: its status, its headers and its body, plus
 * Idempotent-Replayed: true.  The filters after this module's (request
 * id, rate limit headers, plugins) run on it as on any answer.
 */

static ngx_int_t
ngx_http_gw_idem_replay(ngx_http_request_t *r, ngx_http_gw_idem_ctx_t *ctx)
{
    int                   rc;
    size_t                nl, vl;
    ngx_int_t             status;
    ngx_buf_t            *b;
    ngx_str_t             value;
    ngx_chain_t           out;
    ngx_table_elt_t      *h;
    const u_char         *p, *end, *name, *v;

    status = ngx_atoi(ctx->status.data, ctx->status.len);

    if (status < 200 || status > 599) {
        goto invalid;
    }

    p = ctx->headers.data;
    end = p + ctx->headers.len;

    for ( ;; ) {
        rc = gw_idem_headers_next(&p, end, &name, &nl, &v, &vl);

        if (rc == 0) {
            break;
        }

        value.data = (u_char *) v;
        value.len = vl;

        if (rc < 0 || !ngx_http_gw_header_value_safe(&value)) {
            goto invalid;
        }

        if (nl == sizeof("Content-Type") - 1
            && ngx_strncasecmp((u_char *) name, (u_char *) "Content-Type",
                               nl) == 0)
        {
            r->headers_out.content_type = value;
            r->headers_out.content_type_len = vl;
            r->headers_out.content_type_lowcase = NULL;
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) name;
        h->key.len = nl;
        h->value = value;
        h->lowcase_key = NULL;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Idempotent-Replayed");
    ngx_str_set(&h->value, "true");
    h->lowcase_key = NULL;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_idempotency: stored answer replayed");

    r->headers_out.status = status;
    r->headers_out.content_length_n = ctx->body.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = (ctx->body.len != 0);
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_idempotency: stored answer is ill-formed");

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_gw_idem_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail)
{
    ngx_http_gw_problem_t  problem;

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}
