
/*
 * Copyright (C) Tollgate
 *
 * JSON Schema validation at the edge (docs/validate.md): what the validate
 * module's files share.  The validator is lib/jsonschema's; here are the
 * configuration, the per-request context of body validation
 * (ngx_http_gw_validate_body.c) and the instances built from query
 * arguments and request headers (ngx_http_gw_validate_args.c).
 */


#ifndef _NGX_HTTP_GW_VALIDATE_H_INCLUDED_
#define _NGX_HTTP_GW_VALIDATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_schema.h"
#include "ngx_http_gw_body.h"


#define NGX_HTTP_GW_VALIDATE_ERRORS      10      /* gw_validate_errors */
#define NGX_HTTP_GW_VALIDATE_ERRORS_MAX  100
#define NGX_HTTP_GW_VALIDATE_DEPTH       128     /* gw_validate_depth */
#define NGX_HTTP_GW_VALIDATE_DEPTH_MAX   1024
#define NGX_HTTP_GW_VALIDATE_BODY_MAX    (1024 * 1024)

/* the types a property's schema declares, for converting text values */
#define NGX_HTTP_GW_VALIDATE_INTEGER     0x01
#define NGX_HTTP_GW_VALIDATE_NUMBER      0x02
#define NGX_HTTP_GW_VALIDATE_BOOLEAN     0x04
#define NGX_HTTP_GW_VALIDATE_ARRAY       0x08

/* what an instance is made of, for messages */
#define NGX_HTTP_GW_VALIDATE_BODY        0
#define NGX_HTTP_GW_VALIDATE_ARGS        1
#define NGX_HTTP_GW_VALIDATE_HEADERS     2


/* a property of the schema's top-level "properties" and its types */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  types;
    ngx_uint_t                  item_types;     /* of "items", for arrays */
} ngx_http_gw_validate_prop_t;


/* one compiled schema file, shared by the directives that name it */
typedef struct {
    ngx_str_t                   file;           /* full path */
    ngx_uint_t                  draft;
    ngx_uint_t                  format_assert;
    gw_schema_t                *schema;
    json_t                     *json;
    ngx_array_t                *props;          /* of prop_t, or NULL */
} ngx_http_gw_validate_schema_t;


typedef struct {
    ngx_array_t                 schemas;        /* of schema_t * */
    ngx_uint_t                  used;
} ngx_http_gw_validate_main_conf_t;


typedef struct {
    ngx_http_gw_validate_schema_t  *body;       /* NULL: off */
    ngx_http_gw_validate_schema_t  *args;
    ngx_http_gw_validate_schema_t  *headers;
    ngx_array_t                    *types;      /* of ngx_str_t patterns */
    ngx_str_t                       types_text; /* for the 415 detail */
    ngx_uint_t                      errors;
    ngx_uint_t                      depth;
    size_t                          body_max;
} ngx_http_gw_validate_loc_conf_t;


typedef struct {
    ngx_http_gw_body_copy_t     body;           /* the body, as read */
    unsigned                    collect:1;      /* the body filter copies */
    unsigned                    filtered:1;     /* it did from the start */
    unsigned                    read:1;
    unsigned                    waiting:1;
    unsigned                    done:1;
} ngx_http_gw_validate_ctx_t;


/* body validation (ngx_http_gw_validate_body.c) */
ngx_int_t ngx_http_gw_validate_body(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf);
void ngx_http_gw_validate_body_filter_init(void);

/* parsing bodies (ngx_http_gw_validate_json.c) */

/*
 * Parses text into the worker's doc, refusing duplicate keys and nesting
 * past depth; NULL with err filled.  Valid until the next call of either.
 */
const gw_schema_value_t *ngx_http_gw_validate_parse(u_char *text, size_t len,
    ngx_uint_t depth, json_error_t *err);

/* 1: text is well-formed and valid against schema, found in one pass */
ngx_uint_t ngx_http_gw_validate_check(gw_schema_t *schema, u_char *text,
    size_t len, ngx_uint_t depth);

/* j converted into the worker's doc; NULL: out of memory */
const gw_schema_value_t *ngx_http_gw_validate_convert(json_t *j);

/* at the worker's exit: the doc freed */
void ngx_http_gw_validate_json_exit(void);

/* query arguments and headers (ngx_http_gw_validate_args.c) */
ngx_int_t ngx_http_gw_validate_args(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf);
ngx_int_t ngx_http_gw_validate_headers(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf);

/* shared by both (ngx_http_gw_validate_module.c) */

/*
 * Validates inst against schema: NGX_DECLINED when valid, otherwise the
 * problem answer's code (a 400 validation-failed with errors[], at most
 * lcf->errors of them), or 500 when the validator fails.
 */
ngx_int_t ngx_http_gw_validate_instance(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf,
    ngx_http_gw_validate_schema_t *schema, const gw_schema_value_t *inst,
    ngx_uint_t what);

/* answers 400 validation-failed with one error built here */
ngx_int_t ngx_http_gw_validate_fail(ngx_http_request_t *r, ngx_uint_t what,
    ngx_str_t *name, const char *message);

/* appends name as a JSON pointer token (~ and / escaped) to p */
u_char *ngx_http_gw_validate_pointer(u_char *p, ngx_str_t *name);


extern ngx_module_t  ngx_http_gw_validate_module;


#endif /* _NGX_HTTP_GW_VALIDATE_H_INCLUDED_ */
