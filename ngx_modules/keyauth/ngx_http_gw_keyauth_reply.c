
/*
 * Copyright (C) Tollgate
 *
 * The key lookup script's reply, read into a request's record: the
 * consumer's id, name, plan and tags copied within their caps, tags
 * kept only when they have the admin API's form, and the key's and the
 * consumer's status turned into the record's state, then cached.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_keyauth_int.h"


static void ngx_http_gw_keyauth_copy(u_char *dst, size_t *len, size_t max,
    redisReply *e);
static ngx_uint_t ngx_http_gw_keyauth_tags_valid(u_char *p, size_t len);


static time_t  ngx_http_gw_keyauth_bad_reply_logged;


static void
ngx_http_gw_keyauth_copy(u_char *dst, size_t *len, size_t max,
    redisReply *e)
{
    *len = 0;

    if (e->type == REDIS_REPLY_STRING && (size_t) e->len <= max) {
        ngx_memcpy(dst, e->str, e->len);
        *len = e->len;
    }
}


/* tags as the admin API stores them: [A-Za-z0-9:._/-] joined by ',' */

static ngx_uint_t
ngx_http_gw_keyauth_tags_valid(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9')
              || ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')
              || p[i] == ':' || p[i] == '.'
              || p[i] == '_' || p[i] == '/' || p[i] == '-'
              || (p[i] == ',' && i != 0 && i != len - 1
                  && p[i - 1] != ',')))
        {
            return 0;
        }
    }

    return 1;
}


void
ngx_http_gw_keyauth_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_keyauth_ctx_t *ctx = data;

    time_t                           ttl;
    ngx_int_t                        n;
    ngx_str_t                        err;
    redisReply                     **e;
    ngx_http_gw_keyauth_record_t    *rec;
    ngx_http_gw_keyauth_loc_conf_t  *klcf;
    u_char                           buf[NGX_HTTP_GW_LOG_SIZE];

    ctx->state = NGX_HTTP_GW_KEYAUTH_DONE;
    ctx->status = status;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        return;
    }

    rec = &ctx->rec;
    ngx_memzero(rec, sizeof(ngx_http_gw_keyauth_record_t));
    klcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_keyauth_module);

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        /* our fault or the data's: logged at most once a minute */

        if (ngx_time() - ngx_http_gw_keyauth_bad_reply_logged >= 60) {
            ngx_http_gw_keyauth_bad_reply_logged = ngx_time();
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gw_key_auth: unexpected reply from Redis%s%V",
                          reply->type == REDIS_REPLY_ERROR ? ": " : "",
                          ngx_http_gw_log_escape(&err, buf,
                              (u_char *) reply->str,
                              reply->type == REDIS_REPLY_ERROR
                              ? (size_t) reply->len : 0));
        }

        ctx->status = NGX_HTTP_GW_REDIS_DOWN;
        return;
    }

    e = reply->element;

    if (e[0]->integer == 0 || reply->elements != 8) {
        rec->state = NGX_HTTP_GW_KEYAUTH_UNKNOWN;
        ttl = klcf->negative_ttl;
        goto done;
    }

    ngx_http_gw_keyauth_copy(rec->id, &rec->id_len, GW_ID_MAX, e[1]);
    ngx_http_gw_keyauth_copy(rec->name, &rec->name_len, GW_NAME_MAX, e[2]);
    ngx_http_gw_keyauth_copy(rec->plan, &rec->plan_len, GW_ID_MAX, e[6]);
    ngx_http_gw_keyauth_copy(rec->tags, &rec->tags_len,
                             NGX_HTTP_GW_KEYAUTH_TAGS_MAX, e[7]);

    if (!ngx_http_gw_keyauth_tags_valid(rec->tags, rec->tags_len)) {
        rec->tags_len = 0;      /* not the model's: none rather than junk */
    }

    rec->state = NGX_HTTP_GW_KEYAUTH_VALID;
    ttl = klcf->cache_ttl;

    if (e[5]->type == REDIS_REPLY_STRING) {
        n = ngx_atoi((u_char *) e[5]->str, e[5]->len);
        rec->key_expires = (n == NGX_ERROR) ? 1 : (time_t) n;
    }

    if (e[4]->type != REDIS_REPLY_STRING
        || ngx_strncmp(e[4]->str, "active", 6) != 0 || e[4]->len != 6)
    {
        rec->state = NGX_HTTP_GW_KEYAUTH_REVOKED;
        ttl = klcf->negative_ttl;

    } else if (e[3]->type != REDIS_REPLY_STRING
               || ngx_strncmp(e[3]->str, "active", 6) != 0
               || e[3]->len != 6)
    {
        rec->state = NGX_HTTP_GW_KEYAUTH_DISABLED;
        ttl = klcf->negative_ttl;

    } else if (rec->id_len == 0) {
        rec->state = NGX_HTTP_GW_KEYAUTH_UNKNOWN;
        ttl = klcf->negative_ttl;
    }

done:

    ngx_http_gw_keyauth_cache_put(r->connection->log, &ctx->lookup, rec, ttl,
                                  ctx->epoch);
}
