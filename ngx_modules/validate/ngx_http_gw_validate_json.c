
/*
 * Copyright (C) Tollgate
 *
 * Parsing request bodies for gw_validate_body, fast and within caps.  A
 * body is first checked in one pass (gw_schema_check()), which answers
 * for the usual valid body without building its tree; any other body is
 * parsed again by lib/jsonschema's parser into the worker's doc and
 * validated there, for its error.  The doc's memory is reused from one
 * body to the next (a block as large as the last body needed, up to 1
 * MiB, is kept).  Duplicate keys are refused, and nesting past
 * gw_validate_depth is reported at the bracket past it, before anything
 * deeper is read.  Values of query arguments and headers, gathered as
 * jansson values, are converted into the same doc.
 */


#include "ngx_http_gw_validate.h"


static gw_schema_doc_t  ngx_http_gw_validate_doc;


/*
 * The values of text in the worker's doc, valid until the next parse or
 * conversion; NULL with err filled.
 */

const gw_schema_value_t *
ngx_http_gw_validate_parse(u_char *text, size_t len, ngx_uint_t depth,
    json_error_t *err)
{
    return gw_schema_parse(&ngx_http_gw_validate_doc, (char *) text, len,
                           JSON_DECODE_ANY|JSON_ALLOW_NUL
                           |JSON_REJECT_DUPLICATES,
                           (unsigned) depth, err);
}


/* whether text is well-formed and valid against schema, in one pass */

ngx_uint_t
ngx_http_gw_validate_check(gw_schema_t *schema, u_char *text, size_t len,
    ngx_uint_t depth)
{
    return gw_schema_check(schema, &ngx_http_gw_validate_doc, (char *) text,
                           len, JSON_DECODE_ANY|JSON_ALLOW_NUL
                           |JSON_REJECT_DUPLICATES, (unsigned) depth)
           == 1;
}


/* j in the worker's doc, as ngx_http_gw_validate_parse(); NULL: OOM */

const gw_schema_value_t *
ngx_http_gw_validate_convert(json_t *j)
{
    return gw_schema_from_json(&ngx_http_gw_validate_doc, j);
}


/* the worker exits */

void
ngx_http_gw_validate_json_exit(void)
{
    gw_schema_doc_free(&ngx_http_gw_validate_doc);
}
