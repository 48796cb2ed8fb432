
/*
 * Copyright (C) Tollgate
 *
 * Idempotency-Key for POST and PATCH (docs/idempotency.md,
 * draft-ietf-httpapi-idempotency-key-header): a client that retries a
 * request with the same key gets the first answer again instead of a
 * second effect.
 *
 * The precontent handler runs after authentication, limits, validation
 * and the plugins, so only a request about to reach its content handler
 * takes a key.  It parses the one Idempotency-Key header strictly
 * (lib/idem), reads the body as proxy_pass would, hashing it as it passes
 * through a request body filter (nothing is kept, no file is read back),
 * and asks Redis once, by the begin script, for the record
 * gw:idem:<sha256 of scope NUL key>: a free key becomes a pending marker
 * with the request's fingerprint (sha256 of method, request target and
 * body) that expires after gw_idempotency_lock_ttl, and the request goes
 * on; otherwise the answer is a replay of the stored answer, 422 (other
 * fingerprint), 409 (still in flight) or, when Redis cannot answer, 503:
 * without the record the gateway cannot tell a retry from a first
 * request, so it fails closed.
 *
 * The filter module (ngx_http_gw_idempotency_filter.c) then captures the
 * answer and stores it, so the record lives only in Redis, under a TTL:
 * no worker keeps a cache another consumer could crowd out.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_idempotency.h"


static ngx_int_t ngx_http_gw_idem_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_idem_start(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, ngx_http_gw_idem_ctx_t *ctx);
static ngx_int_t ngx_http_gw_idem_key(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, u_char *record);
static ngx_http_gw_idem_ctx_t *ngx_http_gw_idem_create(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_idem_digest_init(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx);
static void ngx_http_gw_idem_cleanup(void *data);
static void ngx_http_gw_idem_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_idem_request_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_gw_idem_body_hash(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx, ngx_chain_t *in, ngx_uint_t from_file);
static ngx_int_t ngx_http_gw_idem_ask(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, ngx_http_gw_idem_ctx_t *ctx);
static void ngx_http_gw_idem_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void *ngx_http_gw_idem_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_idem_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_idem_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gw_idem_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_idem_key_max(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_gw_idem_init(ngx_conf_t *cf);


#define NGX_HTTP_GW_IDEM_KEY_MAX     255
#define NGX_HTTP_GW_IDEM_BODY_MAX    (1024 * 1024)
#define NGX_HTTP_GW_IDEM_STORE_MAX   (64 * 1024)
#define NGX_HTTP_GW_IDEM_TTL         (24 * 60 * 60 * 1000)
#define NGX_HTTP_GW_IDEM_LOCK_TTL    (5 * 60 * 1000)


static ngx_http_request_body_filter_pt  ngx_http_gw_idem_next_body_filter;

static ngx_str_t  ngx_http_gw_idem_header = ngx_string("Idempotency-Key");


static ngx_conf_post_handler_pt  ngx_http_gw_idem_key_max_post =
    ngx_http_gw_idem_key_max;


static ngx_command_t  ngx_http_gw_idem_commands[] = {

    { ngx_string("gw_idempotency"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_idem_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, mode),
      NULL },

    { ngx_string("gw_idempotency_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, scope),
      NULL },

    { ngx_string("gw_idempotency_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, ttl),
      NULL },

    { ngx_string("gw_idempotency_lock_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, lock_ttl),
      NULL },

    { ngx_string("gw_idempotency_key_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, key_max),
      &ngx_http_gw_idem_key_max_post },

    { ngx_string("gw_idempotency_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, body_max),
      NULL },

    { ngx_string("gw_idempotency_store_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_idem_loc_conf_t, store_max),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_idem_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_idem_init,                 /* postconfiguration */

    ngx_http_gw_idem_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_idem_create_loc_conf,      /* create location configuration */
    ngx_http_gw_idem_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_gw_idempotency_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_idem_module_ctx,          /* module context */
    ngx_http_gw_idem_commands,             /* module directives */
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
ngx_http_gw_idem_handler(ngx_http_request_t *r)
{
    ngx_http_gw_idem_ctx_t       *ctx;
    ngx_http_gw_idem_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_idempotency_module);

    if (lcf->mode == NGX_HTTP_GW_IDEM_OFF || r != r->main
        || !(r->method & (NGX_HTTP_POST|NGX_HTTP_PATCH)))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_gw_idem_get_ctx(r);

    if (ctx == NULL || ctx->phase == NGX_HTTP_GW_IDEM_START) {
        return ngx_http_gw_idem_start(r, lcf, ctx);
    }

    switch (ctx->phase) {

    case NGX_HTTP_GW_IDEM_READING:
        if (!ctx->read) {
            /* woken while nginx still reads the body */
            return NGX_DONE;
        }

        return ngx_http_gw_idem_ask(r, lcf, ctx);

    case NGX_HTTP_GW_IDEM_ASKING:
        if (!ctx->replied) {
            return NGX_AGAIN;
        }

        return ngx_http_gw_idem_decide(r, lcf, ctx);

    default:
        /* the key is ours, or r has none: after an internal redirect too */
        return NGX_DECLINED;
    }
}


/*
 * The first pass: the key, the record's name, then the body.  Returns
 * what the handler returns: NGX_DECLINED without a key where none is
 * required, NGX_DONE while the body is read, the begin script's NGX_AGAIN,
 * or an answer sent.
 */

static ngx_int_t
ngx_http_gw_idem_start(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, ngx_http_gw_idem_ctx_t *ctx)
{
    off_t      clen;
    ngx_int_t  rc;
    u_char     record[GW_IDEM_RECORD_KEY_LEN];

    rc = ngx_http_gw_idem_key(r, lcf, record);

    if (rc == NGX_DECLINED) {
        if (ctx != NULL) {
            ctx->phase = NGX_HTTP_GW_IDEM_PASS;
        }

        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    clen = r->headers_in.content_length_n;

    if (clen > (off_t) lcf->body_max
        || (ctx != NULL && ctx->too_large))
    {
        goto too_large;
    }

    if (ctx == NULL) {
        ctx = ngx_http_gw_idem_create(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* read already (before this location): hashed from its buffers */
        ctx->filtered = (r->request_body == NULL);
        ctx->hashing = ctx->filtered;
    }

    ngx_memcpy(ctx->record, record, GW_IDEM_RECORD_KEY_LEN);
    ctx->phase = NGX_HTTP_GW_IDEM_READING;

    rc = ngx_http_read_client_request_body(r, ngx_http_gw_idem_body_read);

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    if (ctx->read) {
        /* the post handler ran inside the call: drop the read's reference */
        r->main->count--;
        return ngx_http_gw_idem_ask(r, lcf, ctx);
    }

    /* as proxy_pass does: the reading holds the request, not this call */

    ctx->waiting = 1;
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;

too_large:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_idempotency: body larger than gw_idempotency_body_max "
                  "%uz", lcf->body_max);

    return ngx_http_gw_idem_problem(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "urn:tollgate:problem:body-too-large",
                                    "Request body too large",
                                    "the body is larger than the gateway "
                                    "fingerprints for an Idempotency-Key");
}


/*
 * The one Idempotency-Key header, parsed, and the record's Redis key for
 * it in the location's scope.  Returns NGX_OK, NGX_DECLINED (no header,
 * none required), or what the handler returns for an answer sent.
 */

static ngx_int_t
ngx_http_gw_idem_key(ngx_http_request_t *r, ngx_http_gw_idem_loc_conf_t *lcf,
    u_char *record)
{
    int               rc;
    size_t            len;
    ngx_str_t         scope, esc;
    ngx_uint_t        i, n;
    const char       *err;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *key;
    u_char            buf[NGX_HTTP_GW_LOG_SIZE];
    u_char            value[GW_IDEM_KEY_MAX];

    n = 0;
    key = NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == ngx_http_gw_idem_header.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_gw_idem_header.data,
                               ngx_http_gw_idem_header.len) == 0)
        {
            n++;
            key = &h[i];
        }
    }

    if (n == 0) {
        if (lcf->mode != NGX_HTTP_GW_IDEM_REQUIRED) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: no Idempotency-Key header");

        return ngx_http_gw_idem_problem(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:idempotency-key-missing",
                   "Idempotency-Key required",
                   "this request needs an Idempotency-Key header");
    }

    if (n > 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: %ui Idempotency-Key headers", n);

        return ngx_http_gw_idem_problem(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:idempotency-key-invalid",
                   "Invalid Idempotency-Key",
                   "the request has more than one Idempotency-Key header");
    }

    rc = gw_idem_key_parse(key->value.data, key->value.len, lcf->key_max,
                           value, &len, &err);

    if (rc != GW_IDEM_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: invalid Idempotency-Key \"%V\"",
                      ngx_http_gw_log_escape(&esc, buf, key->value.data,
                                             key->value.len));

        if (rc == GW_IDEM_TOO_LONG) {
            err = "the key is longer than the gateway accepts";
        }

        return ngx_http_gw_idem_problem(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:idempotency-key-invalid",
                   "Invalid Idempotency-Key", err);
    }

    if (ngx_http_complex_value(r, lcf->scope, &scope) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (scope.len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: Idempotency-Key without a scope "
                      "(no authenticated consumer)");

        return ngx_http_gw_idem_problem(r, NGX_HTTP_FORBIDDEN,
                   "urn:tollgate:problem:idempotency-no-scope",
                   "Idempotency-Key needs a caller",
                   "an Idempotency-Key is only honoured for an "
                   "identified caller");
    }

    if (gw_idem_record_key(scope.data, scope.len, value, len, record) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_idempotency: SHA-256 failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


ngx_http_gw_idem_ctx_t *
ngx_http_gw_idem_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_gw_idem_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_idempotency_module);

    if (ctx != NULL || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_gw_idem_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_gw_idempotency_module);
            return ctx;
        }
    }

    return NULL;
}


/*
 * A new context whose digest has taken the method and the request target
 * (each followed by NUL, so no two pairs run together); the body follows.
 */

static ngx_http_gw_idem_ctx_t *
ngx_http_gw_idem_create(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_gw_idem_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_idem_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ctx->md = EVP_MD_CTX_new();
    if (ctx->md == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_gw_idem_cleanup;
    cln->data = ctx;

    if (ngx_http_gw_idem_digest_init(r, ctx) != NGX_OK) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_idempotency_module);

    return ctx;
}


static ngx_int_t
ngx_http_gw_idem_digest_init(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx)
{
    ctx->body_len = 0;

    if (EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx->md, r->method_name.data,
                            r->method_name.len) != 1
        || EVP_DigestUpdate(ctx->md, "", 1) != 1
        || EVP_DigestUpdate(ctx->md, r->unparsed_uri.data,
                            r->unparsed_uri.len) != 1
        || EVP_DigestUpdate(ctx->md, "", 1) != 1)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the request's end: the digest freed; an unfinished key keeps its lock */

static void
ngx_http_gw_idem_cleanup(void *data)
{
    ngx_http_gw_idem_ctx_t *ctx = data;

    EVP_MD_CTX_free(ctx->md);
    ctx->md = NULL;
}


static void
ngx_http_gw_idem_body_read(ngx_http_request_t *r)
{
    ngx_http_gw_idem_ctx_t  *ctx;

    ctx = ngx_http_gw_idem_get_ctx(r);

    r->write_event_handler = ngx_http_core_run_phases;

    if (ctx == NULL) {
        ngx_http_core_run_phases(r);
        return;
    }

    ctx->read = 1;
    ctx->hashing = 0;

    if (ctx->waiting) {
        ctx->waiting = 0;
        ngx_http_core_run_phases(r);
    }
}


/*
 * The request body filter: hashes the body's bytes as they pass, for
 * whoever reads it (this module, gw_validate, proxy_pass), so the body
 * is never read back from a file.  A context is made here when the body
 * of a covered request is read before this module's handler ran.
 */

static ngx_int_t
ngx_http_gw_idem_request_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_gw_idem_ctx_t       *ctx;
    ngx_http_gw_idem_loc_conf_t  *lcf;

    ctx = ngx_http_gw_idem_get_ctx(r);

    if (ctx == NULL) {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_idempotency_module);

        if (lcf->mode == NGX_HTTP_GW_IDEM_OFF || r != r->main
            || !(r->method & (NGX_HTTP_POST|NGX_HTTP_PATCH))
            || ngx_http_gw_header_in(r, &ngx_http_gw_idem_header) == NULL)
        {
            return ngx_http_gw_idem_next_body_filter(r, in);
        }

        ctx = ngx_http_gw_idem_create(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->filtered = 1;
        ctx->hashing = 1;
    }

    if (ctx->hashing
        && ngx_http_gw_idem_body_hash(r, ctx, in, 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gw_idem_next_body_filter(r, in);
}


/*
 * Adds the bytes of the chain to the fingerprint, up to
 * gw_idempotency_body_max (past it: too_large, and hashing stops).  A
 * buffer in a file is read back only when from_file is set (a body read
 * before this module saw it: a local temporary file, just written, as
 * gw_validate does); in the filter, a file buffer means the bytes passed
 * already, and the fingerprint is taken from r->request_body later.
 */

static ngx_int_t
ngx_http_gw_idem_body_hash(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx, ngx_chain_t *in, ngx_uint_t from_file)
{
    off_t                         size, pos;
    ssize_t                       n;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_http_gw_idem_loc_conf_t  *lcf;
    u_char                        chunk[4096];

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_idempotency_module);

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_size(b);

        if (size == 0) {
            continue;
        }

        if (ctx->body_len + size > (off_t) lcf->body_max) {
            ctx->too_large = 1;
            ctx->hashing = 0;
            return NGX_OK;
        }

        ctx->body_len += size;

        if (ngx_buf_in_memory(b)) {
            if (EVP_DigestUpdate(ctx->md, b->pos, b->last - b->pos) != 1) {
                return NGX_ERROR;
            }

            continue;
        }

        if (!from_file) {
            /* nginx passes bodies through here in memory; not this one */
            ctx->filtered = 0;
            ctx->hashing = 0;
            return NGX_OK;
        }

        for (pos = b->file_pos; pos < b->file_last; pos += n) {
            n = ngx_read_file(b->file, chunk,
                              (size_t) ngx_min(b->file_last - pos,
                                               (off_t) sizeof(chunk)),
                              pos);

            if (n <= 0) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "gw_idempotency: cannot read the body back "
                              "from \"%V\"", &b->file->name);
                return NGX_ERROR;
            }

            if (EVP_DigestUpdate(ctx->md, chunk, n) != 1) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* the body is read: the fingerprint, and the begin script */

static ngx_int_t
ngx_http_gw_idem_ask(ngx_http_request_t *r, ngx_http_gw_idem_loc_conf_t *lcf,
    ngx_http_gw_idem_ctx_t *ctx)
{
    u_char                        *p;
    ngx_int_t                      rc;
    unsigned int                   mdlen;
    ngx_http_gw_idem_main_conf_t  *mcf;
    const char                    *argv[4];
    size_t                         argvlen[4];
    u_char                         digest[EVP_MAX_MD_SIZE];
    u_char                         random[16];

    if (!ctx->filtered && !ctx->too_large) {
        if (ngx_http_gw_idem_digest_init(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (r->request_body != NULL
            && ngx_http_gw_idem_body_hash(r, ctx, r->request_body->bufs, 1)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->too_large) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: body larger than "
                      "gw_idempotency_body_max %uz", lcf->body_max);

        return ngx_http_gw_idem_problem(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "urn:tollgate:problem:body-too-large",
                   "Request body too large",
                   "the body is larger than the gateway fingerprints for "
                   "an Idempotency-Key");
    }

    if (EVP_DigestFinal_ex(ctx->md, digest, &mdlen) != 1 || mdlen != 32) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_hex_dump(ctx->fp, digest, 32);

    ngx_http_gw_random(random, sizeof(random));
    ngx_hex_dump(ctx->owner, random, sizeof(random));

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = (const char *) ctx->record;
    argvlen[0] = GW_IDEM_RECORD_KEY_LEN;
    argv[1] = (const char *) ctx->fp;
    argvlen[1] = sizeof(ctx->fp);
    argv[2] = (const char *) p;
    argvlen[2] = ngx_http_gw_write_uint(p, lcf->lock_ttl) - p;
    argv[3] = (const char *) ctx->owner;
    argvlen[3] = sizeof(ctx->owner);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_gw_idempotency_module);

    ctx->phase = NGX_HTTP_GW_IDEM_ASKING;

    rc = ngx_http_gw_redis_request_script(r, &mcf->begin,
                                          ngx_http_gw_idem_reply, ctx, 1, 4,
                                          argv, argvlen);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_DECLINED) {
        ctx->replied = 1;
        ctx->redis = NGX_HTTP_GW_REDIS_DOWN;
        return ngx_http_gw_idem_decide(r, lcf, ctx);
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* the begin script's reply: copied, for ngx_http_gw_idem_decide() */

static void
ngx_http_gw_idem_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_idem_ctx_t *ctx = data;

    size_t        i;
    ngx_str_t    *s[4], esc;
    redisReply   *e;
    u_char        buf[NGX_HTTP_GW_LOG_SIZE];

    ctx->replied = 1;
    ctx->redis = status;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        return;
    }

    s[0] = &ctx->state;
    s[1] = &ctx->status;
    s[2] = &ctx->headers;
    s[3] = &ctx->body;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
        || reply->elements > 4)
    {
        goto invalid;
    }

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            goto invalid;
        }

        s[i]->len = e->len;
        s[i]->data = ngx_pnalloc(r->pool, e->len + 1);
        if (s[i]->data == NULL) {
            goto invalid;
        }

        ngx_memcpy(s[i]->data, e->str, e->len);
        s[i]->data[e->len] = '\0';
    }

    return;

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_idempotency: unexpected reply from Redis to the "
                  "begin script%s%V",
                  reply->type == REDIS_REPLY_ERROR ? ": " : "",
                  ngx_http_gw_log_escape(&esc, buf, (u_char *) reply->str,
                                         reply->type == REDIS_REPLY_ERROR
                                         ? (size_t) reply->len : 0));

    ctx->redis = NGX_HTTP_GW_REDIS_DOWN;
}


static void *
ngx_http_gw_idem_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_idem_main_conf_t));
}


static void *
ngx_http_gw_idem_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_idem_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_idem_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* set by ngx_pcalloc(): conf->scope = NULL */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->ttl = NGX_CONF_UNSET_MSEC;
    conf->lock_ttl = NGX_CONF_UNSET_MSEC;
    conf->key_max = NGX_CONF_UNSET_UINT;
    conf->body_max = NGX_CONF_UNSET_SIZE;
    conf->store_max = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_gw_idem_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_idem_loc_conf_t *prev = parent;
    ngx_http_gw_idem_loc_conf_t *conf = child;

    ngx_http_compile_complex_value_t   ccv;
    ngx_str_t                          consumer = ngx_string("$gw_consumer_id");

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_HTTP_GW_IDEM_OFF);
    ngx_conf_merge_msec_value(conf->ttl, prev->ttl, NGX_HTTP_GW_IDEM_TTL);
    ngx_conf_merge_msec_value(conf->lock_ttl, prev->lock_ttl,
                              NGX_HTTP_GW_IDEM_LOCK_TTL);
    ngx_conf_merge_uint_value(conf->key_max, prev->key_max,
                              NGX_HTTP_GW_IDEM_KEY_MAX);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max,
                              NGX_HTTP_GW_IDEM_BODY_MAX);
    ngx_conf_merge_size_value(conf->store_max, prev->store_max,
                              NGX_HTTP_GW_IDEM_STORE_MAX);

    if (conf->scope == NULL) {
        conf->scope = prev->scope;
    }

    if (conf->scope == NULL && conf->mode != NGX_HTTP_GW_IDEM_OFF) {
        conf->scope = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (conf->scope == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &consumer;
        ccv.complex_value = conf->scope;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->ttl < 1000 || conf->lock_ttl < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_idempotency_ttl and gw_idempotency_lock_ttl "
                           "must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "gw_idempotency on | required | off" */

static char *
ngx_http_gw_idem_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_idem_loc_conf_t *lcf = conf;

    ngx_str_t                     *value;
    ngx_http_gw_idem_main_conf_t  *mcf;

    if (lcf->mode != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->mode = NGX_HTTP_GW_IDEM_OFF;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "on") == 0) {
        lcf->mode = NGX_HTTP_GW_IDEM_ON;

    } else if (ngx_strcmp(value[1].data, "required") == 0) {
        lcf->mode = NGX_HTTP_GW_IDEM_REQUIRED;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\": use on, "
                           "required or off", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_gw_idempotency_module);
    mcf->used = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_idem_key_max(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t *n = data;

    if (*n < 1 || *n > GW_IDEM_KEY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_idempotency_key_max must be 1 to %d",
                           GW_IDEM_KEY_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_idem_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_gw_idem_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_gw_idempotency_module);

    if (!mcf->used) {
        return NGX_OK;
    }

    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_idempotency needs gw_redis");
        return NGX_ERROR;
    }

    mcf->begin.text.data = (u_char *) gw_idem_begin_script;
    mcf->begin.text.len = ngx_strlen(gw_idem_begin_script);
    mcf->store.text.data = (u_char *) gw_idem_store_script;
    mcf->store.text.len = ngx_strlen(gw_idem_store_script);
    mcf->release.text.data = (u_char *) gw_idem_release_script;
    mcf->release.text.len = ngx_strlen(gw_idem_release_script);

    if (ngx_http_gw_redis_script_init(cf, &mcf->begin) != NGX_OK
        || ngx_http_gw_redis_script_init(cf, &mcf->store) != NGX_OK
        || ngx_http_gw_redis_script_init(cf, &mcf->release) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* registered before gw_validate's and gw_limit's, so it runs after */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_idem_handler;

    ngx_http_gw_idem_next_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_gw_idem_request_filter;

    return NGX_OK;
}
