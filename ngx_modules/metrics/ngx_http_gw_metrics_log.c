
/*
 * Copyright (C) Tollgate
 *
 * $gw_log_json: the whole JSON access log line (conf/log-json.conf) as one
 * variable.  The same line written by log_format with escape=json over
 * seventeen variables costs a getlen and a copy per variable, each with
 * its own escape pass, about 7,000 instructions a request; this writes
 * the object in one pass.  Its output is byte for byte what that format
 * writes (t/075-log-json.t compares the two for hostile requests):
 *
 *   - every string that can hold a byte from outside (client address,
 *     method, path, route, consumer, trace ids, upstream times, auth and
 *     limit words) goes through nginx's own ngx_escape_json(), as
 *     escape=json does;
 *   - numbers, the cached ISO 8601 time and $gw_request_id (well formed by
 *     construction: [A-Za-z0-9._:-] or hex) are written as they are;
 *   - a variable without a value is written as nothing, so "" between
 *     quotes, as escape=json does.
 *
 * Variables are looked up by index, found at configuration time and only
 * when some log_format uses $gw_log_json; request_time, bytes_sent and
 * request_length are computed as nginx's log module computes them.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_metrics_int.h"


typedef enum {
    NGX_HTTP_GW_LOG_TIME = 0,      /* $time_iso8601 */
    NGX_HTTP_GW_LOG_VAR,           /* a variable, escaped */
    NGX_HTTP_GW_LOG_VAR_SAFE,      /* a variable that needs no escape */
    NGX_HTTP_GW_LOG_ADDR,          /* $remote_addr */
    NGX_HTTP_GW_LOG_METHOD,        /* $request_method */
    NGX_HTTP_GW_LOG_URI,           /* $uri */
    NGX_HTTP_GW_LOG_STATUS,        /* $gw_status */
    NGX_HTTP_GW_LOG_REQUEST_TIME,  /* $request_time */
    NGX_HTTP_GW_LOG_LENGTH,        /* $request_length */
    NGX_HTTP_GW_LOG_SENT           /* $bytes_sent */
} ngx_http_gw_log_kind_e;


typedef struct {
    ngx_str_t                   before;    /* the literal text before it */
    ngx_http_gw_log_kind_e      kind;
    ngx_str_t                   name;      /* a variable's */
} ngx_http_gw_log_field_t;


#define NGX_HTTP_GW_LOG_FIELDS  17


static ngx_http_gw_log_field_t  ngx_http_gw_log_fields[] = {
    { ngx_string("{\"time\":\""), NGX_HTTP_GW_LOG_TIME, ngx_null_string },
    { ngx_string("\",\"request_id\":\""), NGX_HTTP_GW_LOG_VAR_SAFE,
      ngx_string("gw_request_id") },
    { ngx_string("\",\"trace_id\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_trace_id") },
    { ngx_string("\",\"span_id\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_span_id") },
    { ngx_string("\",\"client\":\""), NGX_HTTP_GW_LOG_ADDR,
      ngx_null_string },
    { ngx_string("\",\"method\":\""), NGX_HTTP_GW_LOG_METHOD,
      ngx_null_string },
    { ngx_string("\",\"path\":\""), NGX_HTTP_GW_LOG_URI, ngx_null_string },
    { ngx_string("\",\"route\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_route") },
    { ngx_string("\",\"consumer\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_consumer_id") },
    { ngx_string("\",\"status\":"), NGX_HTTP_GW_LOG_STATUS,
      ngx_null_string },
    { ngx_string(",\"request_time\":"), NGX_HTTP_GW_LOG_REQUEST_TIME,
      ngx_null_string },
    { ngx_string(",\"upstream_time\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("upstream_response_time") },
    { ngx_string("\",\"auth\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_auth_mechanism") },
    { ngx_string("\",\"auth_outcome\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_auth_outcome") },
    { ngx_string("\",\"limit\":\""), NGX_HTTP_GW_LOG_VAR,
      ngx_string("gw_limit_status") },
    { ngx_string("\",\"bytes_in\":"), NGX_HTTP_GW_LOG_LENGTH,
      ngx_null_string },
    { ngx_string(",\"bytes_out\":"), NGX_HTTP_GW_LOG_SENT,
      ngx_null_string }
};

static ngx_str_t  ngx_http_gw_log_end = ngx_string("}");
static ngx_str_t  ngx_http_gw_log_json_name = ngx_string("gw_log_json");

/* the index of each field's variable; NGX_ERROR where it has none */
static ngx_int_t   ngx_http_gw_log_index[NGX_HTTP_GW_LOG_FIELDS];
static ngx_uint_t  ngx_http_gw_log_used;    /* the indexes are known */


/* an off_t as "%O" writes it */

static u_char *
ngx_http_gw_log_off(u_char *p, off_t n)
{
    if (n < 0) {
        return ngx_sprintf(p, "%O", n);
    }

    return ngx_http_gw_write_uint(p, (ngx_uint_t) n);
}


/*
 * Postconfiguration: the variables' indexes, when a log_format (parsed by
 * now, with the whole http block) uses $gw_log_json; otherwise nothing is
 * indexed, so requests of a configuration without it carry no more
 * variables than before.
 */

ngx_int_t
ngx_http_gw_metrics_log_init(ngx_conf_t *cf)
{
    ngx_uint_t                  i, used;
    ngx_http_variable_t        *v;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    used = 0;
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len == ngx_http_gw_log_json_name.len
            && ngx_strncmp(v[i].name.data, ngx_http_gw_log_json_name.data,
                           v[i].name.len) == 0)
        {
            used = 1;
            break;
        }
    }

    ngx_http_gw_log_used = used;

    for (i = 0; i < NGX_HTTP_GW_LOG_FIELDS; i++) {
        ngx_http_gw_log_index[i] = NGX_ERROR;

        if (!used || ngx_http_gw_log_fields[i].name.len == 0) {
            continue;
        }

        ngx_http_gw_log_index[i] = ngx_http_get_variable_index(cf,
                                            &ngx_http_gw_log_fields[i].name);
        if (ngx_http_gw_log_index[i] == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The line, in r's pool.  Two passes over the fields: the first finds each
 * value and the exact length (the escapes' included, numbers at their
 * widest), the second writes.
 */

ngx_int_t
ngx_http_gw_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                     *p, *start;
    size_t                      len;
    ngx_uint_t                  i, status;
    ngx_str_t                   val[NGX_HTTP_GW_LOG_FIELDS];
    ngx_time_t                 *tp;
    uintptr_t                   esc[NGX_HTTP_GW_LOG_FIELDS];
    ngx_msec_int_t              ms;
    ngx_http_gw_log_field_t    *f;
    ngx_http_variable_value_t  *vv;

    if (!ngx_http_gw_log_used) {
        /* $gw_log_json named only at run time: not indexed, no line */
        v->not_found = 1;
        return NGX_OK;
    }

    status = ngx_http_gw_metrics_status(r);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t)
             ((tp->sec - r->start_sec) * 1000 + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    len = ngx_http_gw_log_end.len;
    f = ngx_http_gw_log_fields;

    for (i = 0; i < NGX_HTTP_GW_LOG_FIELDS; i++) {

        len += f[i].before.len;
        ngx_str_null(&val[i]);
        esc[i] = 0;

        switch (f[i].kind) {

        case NGX_HTTP_GW_LOG_TIME:
            val[i] = ngx_cached_http_log_iso8601;
            len += val[i].len;
            continue;

        case NGX_HTTP_GW_LOG_VAR:
        case NGX_HTTP_GW_LOG_VAR_SAFE:
            vv = ngx_http_get_indexed_variable(r, ngx_http_gw_log_index[i]);

            if (vv != NULL && !vv->not_found) {
                val[i].data = vv->data;
                val[i].len = vv->len;
            }

            break;

        case NGX_HTTP_GW_LOG_ADDR:
            val[i] = r->connection->addr_text;
            break;

        case NGX_HTTP_GW_LOG_METHOD:
            if (r->main->method_name.data != NULL) {
                val[i] = r->main->method_name;
            }
            break;

        case NGX_HTTP_GW_LOG_URI:
            if (r->uri.data != NULL) {
                val[i] = r->uri;
            }
            break;

        case NGX_HTTP_GW_LOG_STATUS:
            len += NGX_INT_T_LEN;
            continue;

        case NGX_HTTP_GW_LOG_REQUEST_TIME:
            len += NGX_TIME_T_LEN + 4;
            continue;

        default: /* NGX_HTTP_GW_LOG_LENGTH, NGX_HTTP_GW_LOG_SENT */
            len += NGX_OFF_T_LEN;
            continue;
        }

        len += val[i].len;

        if (f[i].kind != NGX_HTTP_GW_LOG_VAR_SAFE && val[i].len) {
            esc[i] = ngx_escape_json(NULL, val[i].data, val[i].len);
            len += esc[i];
        }
    }

    start = ngx_pnalloc(r->pool, len);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;

    for (i = 0; i < NGX_HTTP_GW_LOG_FIELDS; i++) {

        p = ngx_cpymem(p, f[i].before.data, f[i].before.len);

        switch (f[i].kind) {

        case NGX_HTTP_GW_LOG_STATUS:
            p = ngx_http_gw_write_uint(p, status);
            break;

        case NGX_HTTP_GW_LOG_REQUEST_TIME:
            /* "%T.%03M", as nginx writes $request_time */
            p = ngx_http_gw_write_uint(p, (ngx_uint_t) ms / 1000);
            *p++ = '.';
            *p++ = (u_char) ('0' + ms % 1000 / 100);
            *p++ = (u_char) ('0' + ms % 100 / 10);
            *p++ = (u_char) ('0' + ms % 10);
            break;

        case NGX_HTTP_GW_LOG_LENGTH:
            p = ngx_http_gw_log_off(p, r->request_length);
            break;

        case NGX_HTTP_GW_LOG_SENT:
            p = ngx_http_gw_log_off(p, r->connection->sent);
            break;

        default:
            if (esc[i]) {
                p = (u_char *) ngx_escape_json(p, val[i].data, val[i].len);

            } else {
                p = ngx_cpymem(p, val[i].data, val[i].len);
            }
        }
    }

    p = ngx_cpymem(p, ngx_http_gw_log_end.data, ngx_http_gw_log_end.len);

    v->data = start;
    v->len = p - start;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
