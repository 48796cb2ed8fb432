
/*
 * Copyright (C) Tollgate
 *
 * What every Tollgate nginx module shares: the request id used in logs and
 * problem bodies, and the one way to answer a request with an RFC 9457
 * problem from a phase handler.
 */


#ifndef _NGX_HTTP_GW_H_INCLUDED_
#define _NGX_HTTP_GW_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_uint_t      status;
    const char     *type;               /* urn:tollgate:problem:... */
    const char     *title;
    ngx_str_t       detail;
    ngx_str_t       extra;              /* raw JSON members, or empty */
} ngx_http_gw_problem_t;


/*
 * Sends the problem as the whole response (headers the caller added to
 * r->headers_out stay), discarding any request body, and finalizes the
 * request.  Returns NGX_DONE, which a phase handler returns as it is, or
 * NGX_ERROR.
 */
ngx_int_t ngx_http_gw_send_problem(ngx_http_request_t *r,
    ngx_http_gw_problem_t *problem);

/*
 * Sends b's bytes as r's whole response with that status and content
 * type (a string constant): the header, then the body unless the header
 * was all (HEAD).  Returns what a content handler returns; the caller
 * finalizes.
 */
ngx_int_t ngx_http_gw_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b);

/* the type of the problem sent as r's answer, or NULL */
const char *ngx_http_gw_problem_sent(ngx_http_request_t *r);

/* the request id ($gw_request_id): a well-formed X-Request-ID from the
 * client, else 128 random bits as 32 hex digits; fixed for the request */
ngx_int_t ngx_http_gw_request_id(ngx_http_request_t *r, ngx_str_t *id);

/* n random bytes (ids, not keys) from a per-worker pool OpenSSL refills */
void ngx_http_gw_random(u_char *buf, size_t n);


/* registers a feature's table of variables (ended by a null variable) */
ngx_int_t ngx_http_gw_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars);

/* r's first request header named name (case-insensitively), or NULL */
ngx_table_elt_t *ngx_http_gw_header_in(ngx_http_request_t *r,
    ngx_str_t *name);

/*
 * Removes every request header whose name is one of names (compared
 * case-insensitively), so the upstream never sees a client's copy.
 */
ngx_int_t ngx_http_gw_strip_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n);

/*
 * Removes every request header for which drop(h, data) is true; *n (may be
 * NULL) gets how many went.  One walk when none goes; otherwise the list
 * is rebuilt without them (an ngx_list_t cannot drop an element), and the
 * pointers nginx keeps to other headers (headers_in.host...) stay valid:
 * they point into the old list's elements, left in the pool unchanged.
 */
typedef ngx_uint_t (*ngx_http_gw_header_match_pt)(ngx_table_elt_t *h,
    void *data);

ngx_int_t ngx_http_gw_drop_headers(ngx_http_request_t *r,
    ngx_http_gw_header_match_pt drop, void *data, ngx_uint_t *n);

/* appends a request header for the upstream; name and lowcase must live as
 * long as the request (configuration strings do) */
ngx_int_t ngx_http_gw_add_header(ngx_http_request_t *r, ngx_str_t *name,
    u_char *lowcase, ngx_str_t *value);

/*
 * The "realm | off" directives (gw_jwt, gw_key_auth): sets the realm at
 * cmd->offset of conf, "" for off.  A realm goes into a quoted-string of
 * WWW-Authenticate, so only printable ASCII without quotes or backslashes.
 */
char *ngx_http_gw_conf_set_realm_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * A "zone=name:size" parameter of the directive being parsed (cf->args):
 * NGX_DECLINED when arg is another parameter; else NGX_OK with the zone's
 * name (pointing into arg) and size, at least 64 pages, or NGX_ERROR
 * after saying what is wrong.
 */
ngx_int_t ngx_http_gw_conf_zone_arg(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_str_t *name, ssize_t *size);

/*
 * The shared zone of that name and size for tag, with init and data
 * set; NULL after saying why: no zone= was given (name->len is 0), the
 * zone is taken already, or no memory.
 */
ngx_shm_zone_t *ngx_http_gw_conf_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    ssize_t size, void *tag, ngx_shm_zone_init_pt init, void *data);

/* 1 when value holds no CR, LF or other control byte but tab */
ngx_uint_t ngx_http_gw_header_value_safe(ngx_str_t *value);

/*
 * Writes n in decimal at p (at most NGX_INT_T_LEN bytes), as "%ui" would,
 * without ngx_sprintf()'s walk of a format; returns the end.
 */
u_char *ngx_http_gw_write_uint(u_char *p, ngx_uint_t n);


/* bytes of one request-derived value written to a log line */
#define NGX_HTTP_GW_LOG_MAX   200

/* the buffer ngx_http_gw_log_escape() needs: 4 bytes a byte, and "..." */
#define NGX_HTTP_GW_LOG_SIZE  (4 * NGX_HTTP_GW_LOG_MAX + 3)

/*
 * Every value that comes from a request (or echoes one) is logged as this
 * escaped copy of src (ngx_http_gw_log.c): printable ASCII as it is but
 * "\\" and "\"" for backslash and double quote, any other byte as \xNN;
 * at most NGX_HTTP_GW_LOG_MAX bytes of src, then "...".  Fills out with
 * the copy in buf (NGX_HTTP_GW_LOG_SIZE bytes) and returns out, for "%V".
 */
ngx_str_t *ngx_http_gw_log_escape(ngx_str_t *out, u_char *buf, u_char *src,
    size_t len);


extern ngx_module_t  ngx_http_gw_module;


#endif /* _NGX_HTTP_GW_H_INCLUDED_ */
