
/*
 * Copyright (C) Tollgate
 *
 * API versions and their lifecycle (docs/routing.md, "Versions and
 * sunset"): a route of a deprecated version answers with
 *
 *   Deprecation: @<unix seconds>                      (RFC 9745)
 *   Sunset: <HTTP-date>                               (RFC 8594)
 *   Link: <deprecation_link>; rel="deprecation"
 *   Link: <successor>; rel="successor-version"        (RFC 5829)
 *
 * and, past its sunset, with its sunset status (410, or 404) as a
 * problem (urn:tollgate:problem:sunset) naming the successor.
 *
 * The headers go into r->headers_out from the rewrite phase, as soon as
 * the route is known: every answer made later carries them, the
 * upstream's (nginx adds the upstream's headers to the list, it does not
 * replace it) as well as the gateway's own 401, 403, 429 problems and
 * error pages.  They are added once per request: an internal redirect
 * that routes again finds them there.
 *
 * A call counts as deprecated from deprecated_at on (a Deprecation date
 * in the future announces it, RFC 9745); the counts per consumer are
 * taken once access has passed and the consumer is known
 * (ngx_http_gw_router_state.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_problem.h"
#include "ngx_http_gw.h"
#include "ngx_http_gw_router.h"


static ngx_str_t  ngx_http_gw_life_deprecation = ngx_string("Deprecation");
static ngx_str_t  ngx_http_gw_life_sunset = ngx_string("Sunset");
static ngx_str_t  ngx_http_gw_life_link = ngx_string("Link");


static ngx_int_t
ngx_http_gw_life_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;

    return NGX_OK;
}


/* whether this request's answer already has our headers */
static ngx_uint_t
ngx_http_gw_life_added(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        /* our own names: the same static strings */
        if (h[i].key.data == ngx_http_gw_life_deprecation.data
            || h[i].key.data == ngx_http_gw_life_sunset.data
            || h[i].key.data == ngx_http_gw_life_link.data)
        {
            return 1;
        }
    }
}


static ngx_int_t
ngx_http_gw_life_link_header(ngx_http_request_t *r, ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_str_t *url, const char *rel)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    len = url->len + sizeof("<>; rel=\"\"") - 1 + ngx_strlen(rel);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "<%*s>; rel=\"%s\"", (size_t) url->len,
                        ngx_http_gw_snap_string(snap, *url), rel)
            - p;

    return ngx_http_gw_life_header(r, &ngx_http_gw_life_link, &v);
}


static ngx_int_t
ngx_http_gw_life_headers(ngx_http_request_t *r, ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_route_t *route)
{
    u_char     *p;
    ngx_str_t   v;

    if (route->deprecated_at) {
        p = ngx_pnalloc(r->pool, 1 + NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v.data = p;
        v.len = ngx_sprintf(p, "@%L", route->deprecated_at) - p;

        if (ngx_http_gw_life_header(r, &ngx_http_gw_life_deprecation, &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (route->sunset_at) {
        p = ngx_pnalloc(r->pool, sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        v.data = p;
        v.len = ngx_http_time(p, (time_t) route->sunset_at) - p;

        if (ngx_http_gw_life_header(r, &ngx_http_gw_life_sunset, &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (route->deprecated_at && route->deprecation_link.len
        && ngx_http_gw_life_link_header(r, snap, &route->deprecation_link,
                                        "deprecation")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (route->successor.len
        && ngx_http_gw_life_link_header(r, snap, &route->successor,
                                        "successor-version")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a JSON member "name":"value" (value escaped), then a comma */
static u_char *
ngx_http_gw_life_member(u_char *p, const char *name, const u_char *value,
    size_t len)
{
    p = ngx_sprintf(p, "\"%s\":\"", name);
    p = gw_json_escape(p, value, len);
    *p++ = '"';
    *p++ = ',';

    return p;
}


static ngx_int_t
ngx_http_gw_life_sunset_answer(ngx_http_request_t *r,
    ngx_http_gw_snap_t *snap, ngx_http_gw_snap_route_t *route)
{
    u_char                 *p;
    size_t                  len;
    const u_char           *succ, *ver, *id;
    ngx_http_gw_problem_t   problem;
    u_char                  date[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];

    id = (const u_char *) ngx_http_gw_snap_string(snap, route->id);
    ver = (const u_char *) ngx_http_gw_snap_string(snap, route->api_version);
    succ = (const u_char *) ngx_http_gw_snap_string(snap, route->successor);

    len = ngx_http_time(date, (time_t) route->sunset_at) - date;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_router: route \"%*s\" is past its sunset",
                  (size_t) route->id.len, id);

    ngx_memzero(&problem, sizeof(ngx_http_gw_problem_t));

    problem.status = (route->sunset_status == NGX_HTTP_NOT_FOUND)
                     ? NGX_HTTP_NOT_FOUND : 410;       /* Gone */
    problem.type = "urn:tollgate:problem:sunset";
    problem.title = (problem.status == 410)
                    ? "API version retired" : "Not Found";

    problem.detail.data = ngx_pnalloc(r->pool,
                                      gw_json_escape_len(ver,
                                          route->api_version.len)
                                      + len + 80);
    if (problem.detail.data == NULL) {
        return NGX_ERROR;
    }

    if (route->api_version.len) {
        p = ngx_sprintf(problem.detail.data, "API version %*s",
                        (size_t) route->api_version.len, ver);

    } else {
        p = ngx_cpymem(problem.detail.data, "This API version", 16);
    }

    p = ngx_sprintf(p, " was retired on %*s", len, date);

    if (route->successor.len) {
        p = ngx_cpymem(p, "; use its successor", 19);
    }

    *p++ = '.';
    problem.detail.len = p - problem.detail.data;

    /* "sunset", "api_version", "successor" members */
    p = ngx_pnalloc(r->pool, 64 + len
                             + gw_json_escape_len(ver, route->api_version.len)
                             + gw_json_escape_len(succ, route->successor.len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    problem.extra.data = p;

    p = ngx_http_gw_life_member(p, "sunset", date, len);

    if (route->api_version.len) {
        p = ngx_http_gw_life_member(p, "api_version", ver,
                                    route->api_version.len);
    }

    if (route->successor.len) {
        p = ngx_http_gw_life_member(p, "successor", succ,
                                    route->successor.len);
    }

    problem.extra.len = p - 1 - problem.extra.data;      /* the last ',' */

    return ngx_http_gw_send_problem(r, &problem);
}


ngx_int_t
ngx_http_gw_router_life(ngx_http_request_t *r, ngx_http_gw_router_ctx_t *ctx)
{
    time_t                     now;
    ngx_http_gw_snap_t        *snap;
    ngx_http_gw_snap_route_t  *route;

    snap = ctx->snap;
    route = ctx->route;

    if (route->deprecated_at == 0 && route->sunset_at == 0
        && route->successor.len == 0)
    {
        return NGX_DECLINED;
    }

    now = ngx_time();

    if ((route->deprecated_at && now >= route->deprecated_at)
        || (route->sunset_at && now >= route->sunset_at))
    {
        ctx->deprecated = 1;
    }

    if (!ngx_http_gw_life_added(r)
        && ngx_http_gw_life_headers(r, snap, route) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (route->sunset_at && now >= route->sunset_at) {
        return ngx_http_gw_life_sunset_answer(r, snap, route);
    }

    return NGX_DECLINED;
}
