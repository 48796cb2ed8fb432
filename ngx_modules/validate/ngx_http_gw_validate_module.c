
/*
 * Copyright (C) Tollgate
 *
 * JSON Schema validation at the edge (docs/validate.md): gw_validate_body
 * checks JSON request bodies, gw_validate_args the query arguments and
 * gw_validate_headers the request headers, each against a schema file
 * compiled once, at configuration load, by lib/jsonschema; a schema that
 * does not compile fails "nginx -t" naming the file and the JSON pointer
 * of the problem.  A file named by several directives with the same
 * options is compiled once.
 *
 * The check runs in the precontent phase, after the rate limits (this
 * module registers its handler before gw_limit's, and nginx runs a
 * phase's handlers in the reverse order): a request refused for its
 * credentials or its rate costs no parsing.  A request that fails gets a
 * problem+json answer: 415 for a body that is not JSON by its
 * Content-Type, 413 over gw_validate_body_max, 400 for malformed JSON
 * (with line and column) and 400 for a schema violation, with errors[]
 * of instanceLocation, keywordLocation and message, at most
 * gw_validate_errors of them.  400 rather than 422: see docs/validate.md.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_validate.h"
#include "gw_problem.h"


static ngx_int_t ngx_http_gw_validate_handler(ngx_http_request_t *r);
static char *ngx_http_gw_validate_schema_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_http_gw_validate_schema_t *ngx_http_gw_validate_load(
    ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *file, ngx_uint_t draft,
    ngx_uint_t format_assert);
static ngx_http_gw_validate_schema_t *ngx_http_gw_validate_compile(
    ngx_conf_t *cf, json_t *json, ngx_uint_t draft, ngx_uint_t format_assert,
    gw_schema_cerr_t *cerr);
static ngx_int_t ngx_http_gw_validate_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);
static ngx_int_t ngx_http_gw_validate_props(ngx_conf_t *cf,
    ngx_http_gw_validate_schema_t *s, ngx_uint_t lowercase);
static ngx_uint_t ngx_http_gw_validate_types(json_t *schema);
static void ngx_http_gw_validate_cleanup(void *data);
static char *ngx_http_gw_validate_content_types(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_gw_validate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_validate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_validate_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_gw_validate_init(ngx_conf_t *cf);
static void ngx_http_gw_validate_exit_process(ngx_cycle_t *cycle);


static const char  *ngx_http_gw_validate_what[] = {
    "the JSON body does not match the schema",
    "the query arguments do not match the schema",
    "the request headers do not match the schema"
};


/* the errors of a failed validation: one per worker, reused */
static gw_schema_result_t  ngx_http_gw_validate_result;

static ngx_http_gw_policy_t  ngx_http_gw_validate_kind = {
    ngx_string("schemas"), &ngx_http_gw_validate_module,
    ngx_http_gw_validate_policy
};


static ngx_conf_num_bounds_t  ngx_http_gw_validate_errors_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_GW_VALIDATE_ERRORS_MAX
};


static ngx_conf_num_bounds_t  ngx_http_gw_validate_depth_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_GW_VALIDATE_DEPTH_MAX
};


static ngx_command_t  ngx_http_gw_validate_commands[] = {

    { ngx_string("gw_validate_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_gw_validate_schema_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, body),
      NULL },

    { ngx_string("gw_validate_args"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_gw_validate_schema_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, args),
      NULL },

    { ngx_string("gw_validate_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_gw_validate_schema_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, headers),
      NULL },

    { ngx_string("gw_validate_errors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, errors),
      &ngx_http_gw_validate_errors_bounds },

    { ngx_string("gw_validate_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, depth),
      &ngx_http_gw_validate_depth_bounds },

    { ngx_string("gw_validate_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_validate_loc_conf_t, body_max),
      NULL },

    { ngx_string("gw_validate_content_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gw_validate_content_types,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_validate_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_validate_init,             /* postconfiguration */

    ngx_http_gw_validate_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_validate_create_loc_conf,  /* create location configuration */
    ngx_http_gw_validate_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_gw_validate_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_validate_module_ctx,      /* module context */
    ngx_http_gw_validate_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_validate_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gw_validate_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_gw_validate_ctx_t       *ctx;
    ngx_http_gw_validate_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_validate_module);

    if (r != r->main
        || (lcf->body == NULL && lcf->args == NULL && lcf->headers == NULL))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_validate_module);

    if (ctx != NULL) {
        /* back after the body was read, or woken while reading it */
        return ngx_http_gw_validate_body(r, lcf);
    }

    if (lcf->args != NULL) {
        rc = ngx_http_gw_validate_args(r, lcf);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (lcf->headers != NULL) {
        rc = ngx_http_gw_validate_headers(r, lcf);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (lcf->body == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_gw_validate_body(r, lcf);
}


ngx_int_t
ngx_http_gw_validate_instance(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf,
    ngx_http_gw_validate_schema_t *schema, const gw_schema_value_t *inst,
    ngx_uint_t what)
{
    int                     rc;
    u_char                 *p;
    size_t                  len;
    ngx_str_t               at, msg;
    ngx_uint_t              i, n, truncated;
    gw_schema_error_t      *e;
    gw_schema_result_t     *res;
    ngx_http_gw_problem_t   problem;
    u_char                  at_buf[NGX_HTTP_GW_LOG_SIZE];
    u_char                  msg_buf[NGX_HTTP_GW_LOG_SIZE];

    /*
     * The common case first: no error details, no allocation.  A body
     * comes here only when its one-pass check did not take it, nearly
     * always an invalid one: straight to the errors.
     */

    rc = (what == NGX_HTTP_GW_VALIDATE_BODY)
         ? 0 : gw_schema_validate_value(schema->schema, inst, NULL);

    if (rc == 1) {
        return NGX_DECLINED;
    }

    res = &ngx_http_gw_validate_result;

    if (rc == 0) {
        rc = gw_schema_validate_value(schema->schema, inst, res);

        if (rc == 1) {
            /* valid after all: a cap of the one pass, not the schema */
            return NGX_DECLINED;
        }
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_validate: the validator failed on \"%V\"",
                      &schema->file);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_min(res->nerrors, lcf->errors);
    truncated = (res->truncated || res->nerrors > n);

    len = sizeof("\"errors\":[],\"truncated\":true") - 1;

    for (i = 0; i < n; i++) {
        e = &res->errors[i];
        len += sizeof("{\"instanceLocation\":\"\",\"keywordLocation\":\"\","
                      "\"message\":\"\"},") - 1
               + gw_json_escape_len((u_char *) e->instance_location,
                                    ngx_strlen(e->instance_location))
               + gw_json_escape_len((u_char *) e->keyword_location,
                                    ngx_strlen(e->keyword_location))
               + gw_json_escape_len((u_char *) e->message,
                                    ngx_strlen(e->message));
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    problem.extra.data = p;

    p = ngx_cpymem(p, "\"errors\":[", sizeof("\"errors\":[") - 1);

    for (i = 0; i < n; i++) {
        e = &res->errors[i];

        if (i > 0) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"instanceLocation\":\"",
                       sizeof("{\"instanceLocation\":\"") - 1);
        p = gw_json_escape(p, (u_char *) e->instance_location,
                           ngx_strlen(e->instance_location));
        p = ngx_cpymem(p, "\",\"keywordLocation\":\"",
                       sizeof("\",\"keywordLocation\":\"") - 1);
        p = gw_json_escape(p, (u_char *) e->keyword_location,
                           ngx_strlen(e->keyword_location));
        p = ngx_cpymem(p, "\",\"message\":\"", sizeof("\",\"message\":\"") - 1);
        p = gw_json_escape(p, (u_char *) e->message, ngx_strlen(e->message));
        p = ngx_cpymem(p, "\"}", 2);
    }

    *p++ = ']';

    if (truncated) {
        p = ngx_cpymem(p, ",\"truncated\":true",
                       sizeof(",\"truncated\":true") - 1);
    }

    problem.extra.len = p - problem.extra.data;

    if (res->nerrors > 0) {
        e = &res->errors[0];

        /* both quote the instance's member names */

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: %s \"%V\": at \"%V\": %V",
                      ngx_http_gw_validate_what[what], &schema->file,
                      ngx_http_gw_log_escape(&at, at_buf,
                          (u_char *) e->instance_location,
                          ngx_strlen(e->instance_location)),
                      ngx_http_gw_log_escape(&msg, msg_buf,
                          (u_char *) e->message, ngx_strlen(e->message)));
    }

    problem.status = NGX_HTTP_BAD_REQUEST;
    problem.type = "urn:tollgate:problem:validation-failed";
    problem.title = "Validation failed";
    problem.detail.data = (u_char *) ngx_http_gw_validate_what[what];
    problem.detail.len = ngx_strlen(ngx_http_gw_validate_what[what]);

    ngx_http_gw_metrics_validation(r);

    return ngx_http_gw_send_problem(r, &problem);
}


ngx_int_t
ngx_http_gw_validate_fail(ngx_http_request_t *r, ngx_uint_t what,
    ngx_str_t *name, const char *message)
{
    u_char                 *p, *ptr, *end;
    size_t                  len;
    ngx_http_gw_problem_t   problem;

    /* the instance location: the member's pointer, or the root */

    ptr = ngx_pnalloc(r->pool, 2 * (name ? name->len : 0) + 1);
    if (ptr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = (name != NULL) ? ngx_http_gw_validate_pointer(ptr, name) : ptr;

    len = sizeof("\"errors\":[{\"instanceLocation\":\"\","
                 "\"keywordLocation\":\"\",\"message\":\"\"}]") - 1
          + gw_json_escape_len(ptr, end - ptr)
          + gw_json_escape_len((u_char *) message, ngx_strlen(message));

    problem.extra.data = ngx_pnalloc(r->pool, len);
    if (problem.extra.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(problem.extra.data, "\"errors\":[{\"instanceLocation\":\"",
                   sizeof("\"errors\":[{\"instanceLocation\":\"") - 1);
    p = gw_json_escape(p, ptr, end - ptr);
    p = ngx_cpymem(p, "\",\"keywordLocation\":\"\",\"message\":\"",
                   sizeof("\",\"keywordLocation\":\"\",\"message\":\"") - 1);
    p = gw_json_escape(p, (u_char *) message, ngx_strlen(message));
    p = ngx_cpymem(p, "\"}]", 3);

    problem.extra.len = p - problem.extra.data;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_validate: %s: %s", ngx_http_gw_validate_what[what],
                  message);

    problem.status = NGX_HTTP_BAD_REQUEST;
    problem.type = "urn:tollgate:problem:validation-failed";
    problem.title = "Validation failed";
    problem.detail.data = (u_char *) ngx_http_gw_validate_what[what];
    problem.detail.len = ngx_strlen(ngx_http_gw_validate_what[what]);

    ngx_http_gw_metrics_validation(r);

    return ngx_http_gw_send_problem(r, &problem);
}


u_char *
ngx_http_gw_validate_pointer(u_char *p, ngx_str_t *name)
{
    size_t  i;

    *p++ = '/';

    for (i = 0; i < name->len; i++) {
        if (name->data[i] == '~') {
            *p++ = '~';
            *p++ = '0';

        } else if (name->data[i] == '/') {
            *p++ = '~';
            *p++ = '1';

        } else {
            *p++ = name->data[i];
        }
    }

    return p;
}


/*
 * gw_validate_body|args|headers file [draft=2020-12|07] [format=assert],
 * or off.  The file is relative to the configuration's folder, as
 * include and ssl_certificate are.
 */

static char *
ngx_http_gw_validate_schema_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t                        *value;
    ngx_uint_t                        i, draft, format_assert;
    ngx_http_gw_validate_schema_t   **field, *s;

    field = (ngx_http_gw_validate_schema_t **) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no parameters after \"off\"";
        }

        *field = NULL;
        return NGX_CONF_OK;
    }

    draft = GW_SCHEMA_DRAFT_2020_12;
    format_assert = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "draft=2020-12") == 0) {
            draft = GW_SCHEMA_DRAFT_2020_12;
            continue;
        }

        if (ngx_strcmp(value[i].data, "draft=07") == 0) {
            draft = GW_SCHEMA_DRAFT_07;
            continue;
        }

        if (ngx_strcmp(value[i].data, "format=assert") == 0) {
            format_assert = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "format=annotate") == 0) {
            format_assert = 0;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: invalid parameter \"%V\" (draft=2020-12, "
                           "draft=07, format=assert or format=annotate)",
                           &cmd->name, &value[i]);
        return NGX_CONF_ERROR;
    }

    s = ngx_http_gw_validate_load(cf, &cmd->name, &value[1], draft,
                                  format_assert);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cmd->offset != offsetof(ngx_http_gw_validate_loc_conf_t, body)
        && ngx_http_gw_validate_props(cf, s,
               cmd->offset == offsetof(ngx_http_gw_validate_loc_conf_t,
                                       headers))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    *field = s;

    return NGX_CONF_OK;
}


static ngx_http_gw_validate_schema_t *
ngx_http_gw_validate_load(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *file,
    ngx_uint_t draft, ngx_uint_t format_assert)
{
    json_t                            *json;
    ngx_str_t                          path;
    ngx_uint_t                         i;
    json_error_t                       jerr;
    gw_schema_cerr_t                   cerr;
    ngx_http_gw_validate_schema_t     *s, **sp;
    ngx_http_gw_validate_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_validate_module);
    vmcf->used = 1;

    path = *file;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NULL;
    }

    sp = vmcf->schemas.elts;

    for (i = 0; i < vmcf->schemas.nelts; i++) {
        if (sp[i]->draft == draft && sp[i]->format_assert == format_assert
            && sp[i]->file.len == path.len
            && ngx_strncmp(sp[i]->file.data, path.data, path.len) == 0)
        {
            return sp[i];
        }
    }

    /* a schema is configuration: duplicate keys in it are mistakes */

    json = json_load_file((char *) path.data,
                          JSON_DECODE_ANY|JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: cannot load schema \"%V\": %s "
                           "(line %d, column %d)",
                           name, &path, jerr.text, jerr.line, jerr.column);
        return NULL;
    }

    ngx_memzero(&cerr, sizeof(gw_schema_cerr_t));

    s = ngx_http_gw_validate_compile(cf, json, draft, format_assert, &cerr);

    if (s == NULL) {
        if (cerr.message[0]) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: invalid schema \"%V\" at \"%s\": %s",
                               name, &path,
                               cerr.pointer[0] ? cerr.pointer : "(the root)",
                               cerr.message);
        }

        return NULL;
    }

    s->file = path;

    sp = ngx_array_push(&vmcf->schemas);
    if (sp == NULL) {
        return NULL;
    }

    *sp = s;

    return s;
}


/*
 * Compiles json (owned from now on: freed with cf->pool, or at once on
 * failure) into a schema.  Returns it, or NULL: out of memory, or, with
 * cerr->message set, a schema that does not compile.
 */

static ngx_http_gw_validate_schema_t *
ngx_http_gw_validate_compile(ngx_conf_t *cf, json_t *json, ngx_uint_t draft,
    ngx_uint_t format_assert, gw_schema_cerr_t *cerr)
{
    gw_schema_t                    *schema;
    gw_schema_opts_t                opts;
    ngx_pool_cleanup_t             *cln;
    ngx_http_gw_validate_schema_t  *s;

    ngx_memzero(&opts, sizeof(gw_schema_opts_t));
    opts.draft = (int) draft;
    opts.format_assert = (int) format_assert;

    /* gw_validate_depth caps a body's depth before it is parsed */
    opts.max_depth = NGX_HTTP_GW_VALIDATE_DEPTH_MAX;
    opts.max_errors = NGX_HTTP_GW_VALIDATE_ERRORS_MAX;

    schema = gw_schema_new(&opts);
    if (schema == NULL) {
        json_decref(json);
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, sizeof(ngx_http_gw_validate_schema_t));
    if (cln == NULL) {
        gw_schema_free(schema);
        json_decref(json);
        return NULL;
    }

    s = cln->data;
    ngx_memzero(s, sizeof(ngx_http_gw_validate_schema_t));
    s->draft = draft;
    s->format_assert = format_assert;
    s->schema = schema;
    s->json = json;

    cln->handler = ngx_http_gw_validate_cleanup;

    if (gw_schema_compile(schema, json, cerr) != 0) {
        if (cerr->message[0] == '\0') {
            ngx_cpystrn((u_char *) cerr->message, (u_char *) "does not compile",
                        sizeof(cerr->message));
        }

        return NULL;
    }

    return s;
}


/*
 * A route's "schemas" (docs/validate.md, "As a route policy"): {"body":
 * schema, "args": schema, "headers": schema}, each a JSON Schema as the
 * admin API's schema entity holds it (draft 2020-12 unless its "$schema"
 * names draft-07; formats annotate), compiled as gw_validate_body and
 * its siblings compile a file.
 */

static ngx_int_t
ngx_http_gw_validate_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_validate_loc_conf_t *vlcf = conf;

    u_char                          *p;
    json_t                          *v, *json, *props, *ds;
    ngx_uint_t                       draft, headers;
    const char                      *key, *pkey, *c;
    gw_schema_cerr_t                 cerr;
    ngx_http_gw_validate_schema_t  **field, *s;

    if (!json_is_object(value)) {
        ngx_str_set(err, "\"schemas\" must be an object");
        return NGX_ERROR;
    }

    json_object_foreach(value, key, v) {

        headers = 0;

        if (ngx_strcmp(key, "body") == 0) {
            field = &vlcf->body;

        } else if (ngx_strcmp(key, "args") == 0) {
            field = &vlcf->args;

        } else if (ngx_strcmp(key, "headers") == 0) {
            field = &vlcf->headers;
            headers = 1;

        } else {
            ngx_str_set(err, "\"schemas\" takes \"body\", \"args\" and "
                             "\"headers\" only");
            return NGX_ERROR;
        }

        if (!json_is_object(v) && !json_is_boolean(v)) {
            ngx_str_set(err, "a schema of \"schemas\" must be an object "
                             "or a boolean");
            return NGX_ERROR;
        }

        /* header names are matched lowercased: so must the schema's be */

        props = json_object_get(v, "properties");

        if (headers && json_is_object(props)) {
            json_object_foreach(props, pkey, ds) {
                for (c = pkey; *c; c++) {
                    if (*c >= 'A' && *c <= 'Z') {
                        ngx_str_set(err, "\"schemas.headers\": a property "
                                         "name is not lowercase; header "
                                         "names are matched lowercased");
                        return NGX_ERROR;
                    }
                }
            }
        }

        draft = GW_SCHEMA_DRAFT_2020_12;
        ds = json_object_get(v, "$schema");

        if (json_is_string(ds)
            && ngx_strstr(json_string_value(ds), "draft-07") != NULL)
        {
            draft = GW_SCHEMA_DRAFT_07;
        }

        json = json_deep_copy(v);
        if (json == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(&cerr, sizeof(gw_schema_cerr_t));

        s = ngx_http_gw_validate_compile(cf, json, draft, 0, &cerr);

        if (s == NULL) {
            if (cerr.message[0] == '\0') {
                return NGX_ERROR;
            }

            p = ngx_pnalloc(cf->pool, sizeof("\"schemas.\" does not compile "
                                             "at \"\": ") + 8
                                      + sizeof(cerr.pointer)
                                      + sizeof(cerr.message));
            if (p == NULL) {
                return NGX_ERROR;
            }

            err->data = p;
            p = ngx_sprintf(p, "\"schemas.%s\" does not compile at \"%s\": %s",
                            key, cerr.pointer[0] ? cerr.pointer : "",
                            cerr.message);
            err->len = p - err->data;

            return NGX_ERROR;
        }

        ngx_str_set(&s->file, "(a route's schema)");

        if (field != &vlcf->body
            && ngx_http_gw_validate_props(cf, s, headers) != NGX_OK)
        {
            return NGX_ERROR;
        }

        *field = s;
    }

    return NGX_OK;
}


/*
 * The types the schema's top-level "properties" declare, directly (a
 * "$ref" is not followed): the conversions of argument and header values,
 * which arrive as text.  Header names are matched lowercased, so a header
 * schema's property names must be lowercase.
 */

static ngx_int_t
ngx_http_gw_validate_props(ngx_conf_t *cf, ngx_http_gw_validate_schema_t *s,
    ngx_uint_t lowercase)
{
    size_t                        i;
    json_t                       *props, *v, *items;
    const char                   *key;
    ngx_http_gw_validate_prop_t  *p;

    if (s->props != NULL || !json_is_object(s->json)) {
        return NGX_OK;
    }

    props = json_object_get(s->json, "properties");
    if (!json_is_object(props)) {
        return NGX_OK;
    }

    s->props = ngx_array_create(cf->pool, json_object_size(props),
                                sizeof(ngx_http_gw_validate_prop_t));
    if (s->props == NULL) {
        return NGX_ERROR;
    }

    json_object_foreach(props, key, v) {

        if (lowercase) {
            for (i = 0; key[i]; i++) {
                if (key[i] >= 'A' && key[i] <= 'Z') {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "gw_validate_headers: \"%V\": "
                                       "property \"%s\" is not lowercase; "
                                       "header names are matched "
                                       "lowercased", &s->file, key);
                    return NGX_ERROR;
                }
            }
        }

        p = ngx_array_push(s->props);
        if (p == NULL) {
            return NGX_ERROR;
        }

        p->name.data = (u_char *) key;
        p->name.len = ngx_strlen(key);
        p->types = ngx_http_gw_validate_types(v);
        p->item_types = 0;

        if (p->types & NGX_HTTP_GW_VALIDATE_ARRAY) {
            items = json_object_get(v, "items");
            p->item_types = ngx_http_gw_validate_types(items);
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gw_validate_types(json_t *schema)
{
    size_t       i;
    json_t      *type, *t;
    ngx_uint_t   types;
    const char  *name;

    if (!json_is_object(schema)) {
        return 0;
    }

    type = json_object_get(schema, "type");
    types = 0;

    for (i = 0; ; i++) {
        if (json_is_string(type)) {
            if (i > 0) {
                break;
            }

            t = type;

        } else if (json_is_array(type) && i < json_array_size(type)) {
            t = json_array_get(type, i);

        } else {
            break;
        }

        name = json_string_value(t);
        if (name == NULL) {
            continue;
        }

        if (ngx_strcmp(name, "integer") == 0) {
            types |= NGX_HTTP_GW_VALIDATE_INTEGER;

        } else if (ngx_strcmp(name, "number") == 0) {
            types |= NGX_HTTP_GW_VALIDATE_NUMBER;

        } else if (ngx_strcmp(name, "boolean") == 0) {
            types |= NGX_HTTP_GW_VALIDATE_BOOLEAN;

        } else if (ngx_strcmp(name, "array") == 0) {
            types |= NGX_HTTP_GW_VALIDATE_ARRAY;
        }
    }

    return types;
}


static void
ngx_http_gw_validate_cleanup(void *data)
{
    ngx_http_gw_validate_schema_t  *s = data;

    if (s->schema != NULL) {
        gw_schema_free(s->schema);
    }

    if (s->json != NULL) {
        json_decref(s->json);
    }
}


/* gw_validate_content_types type ...: "*" matches any run of bytes */

static char *
ngx_http_gw_validate_content_types(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gw_validate_loc_conf_t  *lcf = conf;

    ngx_str_t   *value, *t;
    ngx_uint_t   i;

    if (lcf->types != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    lcf->types = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                  sizeof(ngx_str_t));
    if (lcf->types == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || ngx_strlchr(value[i].data,
                                             value[i].data + value[i].len,
                                             '/') == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_validate_content_types: invalid media "
                               "type \"%V\" (type/subtype, \"*\" matches "
                               "anything)", &value[i]);
            return NGX_CONF_ERROR;
        }

        t = ngx_array_push(lcf->types);
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }

        *t = value[i];
        ngx_strlow(t->data, t->data, t->len);
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_validate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_validate_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_validate_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&vmcf->schemas, cf->pool, 4,
                       sizeof(ngx_http_gw_validate_schema_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return vmcf;
}


static void *
ngx_http_gw_validate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_validate_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_validate_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->types_text = { 0, NULL };
     */

    lcf->body = NGX_CONF_UNSET_PTR;
    lcf->args = NGX_CONF_UNSET_PTR;
    lcf->headers = NGX_CONF_UNSET_PTR;
    lcf->types = NGX_CONF_UNSET_PTR;
    lcf->errors = NGX_CONF_UNSET_UINT;
    lcf->depth = NGX_CONF_UNSET_UINT;
    lcf->body_max = NGX_CONF_UNSET_SIZE;

    return lcf;
}


static char *
ngx_http_gw_validate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gw_validate_loc_conf_t  *prev = parent;
    ngx_http_gw_validate_loc_conf_t  *conf = child;

    u_char      *p;
    size_t       len;
    ngx_str_t   *t;
    ngx_uint_t   i;

    ngx_conf_merge_ptr_value(conf->body, prev->body, NULL);
    ngx_conf_merge_ptr_value(conf->args, prev->args, NULL);
    ngx_conf_merge_ptr_value(conf->headers, prev->headers, NULL);
    ngx_conf_merge_uint_value(conf->errors, prev->errors,
                              NGX_HTTP_GW_VALIDATE_ERRORS);
    ngx_conf_merge_uint_value(conf->depth, prev->depth,
                              NGX_HTTP_GW_VALIDATE_DEPTH);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max,
                              NGX_HTTP_GW_VALIDATE_BODY_MAX);

    if (conf->body_max == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_validate_body_max must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->types == NGX_CONF_UNSET_PTR) {

        if (prev->types == NGX_CONF_UNSET_PTR) {
            prev->types = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
            if (prev->types == NULL) {
                return NGX_CONF_ERROR;
            }

            t = ngx_array_push_n(prev->types, 2);
            if (t == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_str_set(&t[0], "application/json");
            ngx_str_set(&t[1], "application/*+json");
        }

        conf->types = prev->types;
    }

    if (prev->types_text.len && conf->types == prev->types) {
        conf->types_text = prev->types_text;
        return NGX_CONF_OK;
    }

    t = conf->types->elts;
    len = 0;

    for (i = 0; i < conf->types->nelts; i++) {
        len += t[i].len + sizeof(" or ") - 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->types_text.data = p;

    for (i = 0; i < conf->types->nelts; i++) {
        if (i > 0) {
            p = (i + 1 == conf->types->nelts) ? ngx_cpymem(p, " or ", 4)
                                              : ngx_cpymem(p, ", ", 2);
        }

        p = ngx_cpymem(p, t[i].data, t[i].len);
    }

    conf->types_text.len = p - conf->types_text.data;

    if (prev->types == conf->types) {
        prev->types_text = conf->types_text;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_validate_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt               *h;
    ngx_http_core_main_conf_t         *cmcf;
    ngx_http_gw_validate_main_conf_t  *vmcf;

    if (ngx_http_gw_policy_add(cf, &ngx_http_gw_validate_kind) != NGX_OK) {
        return NGX_ERROR;
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_validate_module);

    if (!vmcf->used && !ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    /* registered before gw_limit's handler, so it runs after it */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_validate_handler;

    ngx_http_gw_validate_body_filter_init();

    return NGX_OK;
}


static void
ngx_http_gw_validate_exit_process(ngx_cycle_t *cycle)
{
    gw_schema_result_free(&ngx_http_gw_validate_result);
    ngx_http_gw_validate_json_exit();
}
