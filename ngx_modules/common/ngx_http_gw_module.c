
/*
 * Copyright (C) Tollgate
 *
 * The umbrella module of ngx_http_gw_module.so.  It owns what every feature
 * shares: the request id ($gw_request_id) and problem+json answers.  The
 * request id is the client's X-Request-ID when that is well formed (1 to
 * 128 bytes of [A-Za-z0-9._:-]), otherwise 128 random bits as 32 hex
 * digits (as nginx's $request_id), so a caller's id follows the request
 * but a hostile one cannot inject bytes into logs or JSON.  The id is
 * worked out once per request and kept across internal redirects.
 *
 * Random ids come from a per-worker pool that OpenSSL's RAND_bytes()
 * refills 4 KiB at a time: a RAND_bytes() call per id (what $request_id
 * does) costs microseconds with OpenSSL 3, as much as proxying a small
 * request.
 *
 * With "gw_request_id on" the id also travels: the upstream gets exactly
 * one X-Request-ID, the id (a client's malformed one is replaced), and
 * every response carries it back, denials and errors included.  The
 * gateway's id is authoritative: an upstream's own X-Request-ID in a
 * response is replaced by it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_policy.h"
#include "gw_problem.h"
#include "gw_trace.h"


#define NGX_HTTP_GW_RANDOM_POOL     4096    /* bytes */


typedef struct {
    ngx_uint_t                  used;       /* gw_request_id on somewhere */
} ngx_http_gw_main_conf_t;


typedef struct {
    ngx_flag_t                  request_id;
} ngx_http_gw_loc_conf_t;


static ngx_int_t ngx_http_gw_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_request_id_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_request_id_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_request_id_add(ngx_conf_t *cf);
static void *ngx_http_gw_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gw_request_id_flag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_request_id_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);
static ngx_int_t ngx_http_gw_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_gw_commands[] = {

    { ngx_string("gw_request_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_gw_request_id_flag,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_loc_conf_t, request_id),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_module_ctx = {
    ngx_http_gw_request_id_add,            /* preconfiguration */
    ngx_http_gw_init,                      /* postconfiguration */

    ngx_http_gw_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_create_loc_conf,           /* create location configuration */
    ngx_http_gw_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_gw_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_module_ctx,               /* module context */
    ngx_http_gw_commands,                  /* module directives */
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


static ngx_http_gw_policy_t  ngx_http_gw_request_id_kind = {
    ngx_string("request_id"), &ngx_http_gw_module,
    ngx_http_gw_request_id_policy
};

static ngx_str_t  ngx_http_gw_request_id_name = ngx_string("gw_request_id");
static ngx_str_t  ngx_http_gw_x_request_id = ngx_string("X-Request-ID");
static ngx_int_t  ngx_http_gw_request_id_index = NGX_ERROR;

static u_char      ngx_http_gw_random_pool[NGX_HTTP_GW_RANDOM_POOL];
static size_t      ngx_http_gw_random_left;
static ngx_pid_t   ngx_http_gw_random_pid;

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_int_t
ngx_http_gw_request_id_add(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_gw_request_id_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_gw_request_id_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_gw_main_conf_t    *gmcf;
    ngx_http_core_main_conf_t  *cmcf;

    ngx_http_gw_request_id_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_gw_request_id_name);
    if (ngx_http_gw_request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_gw_policy_add(cf, &ngx_http_gw_request_id_kind) != NGX_OK) {
        return NGX_ERROR;
    }

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_module);

    if (!gmcf->used && !ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_request_id_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gw_request_id_filter;

    return NGX_OK;
}


/*
 * Preaccess, with gw_request_id on: unless the client's X-Request-ID is
 * the id (well formed, and the first one), every client copy goes and the
 * id is added, so the upstream sees one header with the id.  Running
 * again after an internal redirect changes nothing.
 */

static ngx_int_t
ngx_http_gw_request_id_handler(ngx_http_request_t *r)
{
    ngx_str_t                id;
    ngx_uint_t               i, n;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    ngx_http_gw_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_module);

    if (!glcf->request_id || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_gw_request_id(r, &id) != NGX_OK) {
        return NGX_DECLINED;
    }

    n = 0;
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

        if (h[i].key.len == ngx_http_gw_x_request_id.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_gw_x_request_id.data,
                               h[i].key.len) == 0)
        {
            if (n++ == 0 && h[i].value.data == id.data) {
                continue;
            }

            n = 2;
        }
    }

    if (n == 1) {
        return NGX_DECLINED;
    }

    /* id may point into a header that goes: its bytes stay in r's buffer */

    if (n) {
        if (ngx_http_gw_strip_headers(r, &ngx_http_gw_x_request_id, 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_gw_add_header(r, &ngx_http_gw_x_request_id,
                               (u_char *) "x-request-id", &id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/* every response of a location with gw_request_id on carries the id */

static ngx_int_t
ngx_http_gw_request_id_filter(ngx_http_request_t *r)
{
    ngx_str_t                id;
    ngx_uint_t               i;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    ngx_http_gw_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_module);

    if (!glcf->request_id || r != r->main
        || ngx_http_gw_request_id(r, &id) != NGX_OK)
    {
        return ngx_http_next_header_filter(r);
    }

    part = &r->headers_out.headers.part;
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
            && h[i].key.len == ngx_http_gw_x_request_id.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_gw_x_request_id.data,
                               h[i].key.len) == 0)
        {
            h[i].hash = 0;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_gw_x_request_id;
    h->value = id;

    return ngx_http_next_header_filter(r);
}


static void *
ngx_http_gw_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_main_conf_t));
}


static void *
ngx_http_gw_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->request_id = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_loc_conf_t *prev = parent;
    ngx_http_gw_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->request_id, prev->request_id, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_request_id_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_loc_conf_t *glcf = conf;

    char                     *rv;
    ngx_http_gw_main_conf_t  *gmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && glcf->request_id) {
        gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_module);
        gmcf->used = 1;
    }

    return rv;
}


/* a route's "request_id": true or false, as "gw_request_id on | off" */

static ngx_int_t
ngx_http_gw_request_id_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_loc_conf_t *glcf = conf;

    if (!json_is_boolean(value)) {
        ngx_str_set(err, "\"request_id\" must be true or false");
        return NGX_ERROR;
    }

    glcf->request_id = json_is_true(value);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gw_request_id_valid(ngx_str_t *id)
{
    /* lib/trace's rule, the backend services' too */
    return gw_request_id_valid((char *) id->data, id->len);
}


void
ngx_http_gw_random(u_char *buf, size_t n)
{
    size_t    k;
    uint32_t  v;

    while (n) {
        if (ngx_http_gw_random_left == 0 || ngx_http_gw_random_pid != ngx_pid)
        {
            /* a pool filled before a fork is never used by two processes */

            if (RAND_bytes(ngx_http_gw_random_pool, NGX_HTTP_GW_RANDOM_POOL)
                != 1)
            {
                for (k = 0; k < NGX_HTTP_GW_RANDOM_POOL; k += sizeof(v)) {
                    v = (uint32_t) ngx_random();
                    ngx_memcpy(ngx_http_gw_random_pool + k, &v, sizeof(v));
                }
            }

            ngx_http_gw_random_left = NGX_HTTP_GW_RANDOM_POOL;
            ngx_http_gw_random_pid = ngx_pid;
        }

        k = ngx_min(n, ngx_http_gw_random_left);
        ngx_http_gw_random_left -= k;

        ngx_memcpy(buf, ngx_http_gw_random_pool + ngx_http_gw_random_left, k);

        /* used bytes do not stay in memory */
        ngx_memzero(ngx_http_gw_random_pool + ngx_http_gw_random_left, k);

        buf += k;
        n -= k;
    }
}


ngx_int_t
ngx_http_gw_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(r->main, ngx_http_gw_request_id_index);

    if (vv == NULL || vv->not_found) {
        return NGX_ERROR;
    }

    id->data = vv->data;
    id->len = vv->len;

    return NGX_OK;
}


/* the client's first well-formed X-Request-ID, or 128 random bits */

static ngx_int_t
ngx_http_gw_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char            *p, bits[16];
    ngx_uint_t         i;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;

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

        if (h[i].key.len == ngx_http_gw_x_request_id.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_gw_x_request_id.data,
                               h[i].key.len) == 0
            && ngx_http_gw_request_id_valid(&h[i].value))
        {
            v->data = h[i].value.data;
            v->len = h[i].value.len;
            goto done;
        }
    }

    p = ngx_pnalloc(r->pool, 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_gw_random(bits, 16);

    v->data = p;
    v->len = ngx_hex_dump(p, bits, 16) - p;

done:

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_send_problem(ngx_http_request_t *r,
    ngx_http_gw_problem_t *problem)
{
    ngx_int_t      rc;
    ngx_str_t      id;
    ngx_buf_t     *b;
    gw_problem_t   gp;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (ngx_http_gw_request_id(r, &id) != NGX_OK) {
        ngx_str_null(&id);
    }

    gp.status = (int) problem->status;
    gp.type = problem->type;
    gp.title = problem->title;
    gp.detail = problem->detail.data;
    gp.detail_len = problem->detail.len;
    gp.request_id = id.data;
    gp.request_id_len = id.len;
    gp.extra = problem->extra.len ? problem->extra.data : NULL;
    gp.extra_len = problem->extra.len;

    b = ngx_create_temp_buf(r->pool, gw_problem_len(&gp));
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = gw_problem_write(b->pos, &gp);

    /* the module's context slot holds the type, for the log phase */
    ngx_http_set_ctx(r, (void *) problem->type, ngx_http_gw_module);

    rc = ngx_http_gw_send_buf(r, problem->status, "application/problem+json",
                              b);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_gw_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


typedef struct {
    ngx_str_t                  *names;
    ngx_uint_t                  n;
} ngx_http_gw_header_names_t;


static ngx_uint_t
ngx_http_gw_header_named(ngx_table_elt_t *h, void *data)
{
    ngx_http_gw_header_names_t *hn = data;

    ngx_uint_t  i;

    for (i = 0; i < hn->n; i++) {
        if (h->key.len == hn->names[i].len
            && ngx_strncasecmp(h->key.data, hn->names[i].data, h->key.len)
               == 0)
        {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_gw_strip_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n)
{
    ngx_http_gw_header_names_t  hn;

    hn.names = names;
    hn.n = n;

    return ngx_http_gw_drop_headers(r, ngx_http_gw_header_named, &hn, NULL);
}


ngx_table_elt_t *
ngx_http_gw_header_in(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return &h[i];
        }
    }
}


ngx_int_t
ngx_http_gw_drop_headers(ngx_http_request_t *r,
    ngx_http_gw_header_match_pt drop, void *data, ngx_uint_t *n)
{
    ngx_uint_t        i, found;
    ngx_list_t        old;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *nh;

    found = 0;
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

        if (drop(&h[i], data)) {
            found++;
        }
    }

    if (n != NULL) {
        *n = found;
    }

    if (found == 0) {
        return NGX_OK;
    }

    /* the old list's "last" points into r and goes stale: only its parts
     * are walked */

    old = r->headers_in.headers;

    if (ngx_list_init(&r->headers_in.headers, r->pool, 20,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &old.part;
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

        if (drop(&h[i], data)) {
            continue;
        }

        nh = ngx_list_push(&r->headers_in.headers);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_add_header(ngx_http_request_t *r, ngx_str_t *name,
    u_char *lowcase, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *name;
    h->lowcase_key = lowcase;
    h->hash = ngx_hash_key(lowcase, name->len);
    h->value = *value;

    return NGX_OK;
}


/*
 * A value is safe without a control character other than HTAB (and
 * without DEL).  Eight bytes at a time: a word with no byte below 0x20
 * and none equal to 0x7f is safe as a whole (the classic "has a byte
 * less than n" test, exact as a yes or no); only a word flagged, which
 * a tab flags too, is looked at byte by byte.
 */

#define NGX_HTTP_GW_ONES  ((uint64_t) 0x0101010101010101ULL)
#define NGX_HTTP_GW_HIGH  ((uint64_t) 0x8080808080808080ULL)

ngx_uint_t
ngx_http_gw_header_value_safe(ngx_str_t *value)
{
    u_char    *p, *last, *w;
    uint64_t   x, d;

    p = value->data;
    last = p + value->len;

    while (last - p >= 8) {
        ngx_memcpy(&x, p, 8);
        d = x ^ (NGX_HTTP_GW_ONES * 0x7f);

        if ((((x - NGX_HTTP_GW_ONES * 0x20) & ~x)
             | ((d - NGX_HTTP_GW_ONES) & ~d))
            & NGX_HTTP_GW_HIGH)
        {
            for (w = p; w < p + 8; w++) {
                if ((*w < 0x20 && *w != '\t') || *w == 0x7f) {
                    return 0;
                }
            }
        }

        p += 8;
    }

    for ( /* void */ ; p < last; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


u_char *
ngx_http_gw_write_uint(u_char *p, ngx_uint_t n)
{
    u_char  *q, buf[NGX_INT_T_LEN];

    q = buf + sizeof(buf);

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, q, buf + sizeof(buf) - q);
}


char *
ngx_http_gw_conf_set_realm_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *base = conf;

    u_char     *p;
    ngx_str_t  *value, *realm;

    realm = (ngx_str_t *) (base + cmd->offset);

    if (realm->data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(realm, "");
        return NGX_CONF_OK;
    }

    if (value[1].len == 0) {
        return "takes a realm or \"off\"";
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid realm \"%V\": printable ASCII "
                               "without quotes or backslashes only",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    *realm = value[1];

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_gw_conf_zone_arg(ngx_conf_t *cf, ngx_str_t *arg, ngx_str_t *name,
    ssize_t *size)
{
    u_char     *p;
    ngx_str_t  *value, s;

    if (arg->len < 5 || ngx_strncmp(arg->data, "zone=", 5) != 0) {
        return NGX_DECLINED;
    }

    value = cf->args->elts;

    name->data = arg->data + 5;
    p = (u_char *) ngx_strchr(name->data, ':');

    if (p == NULL) {
        goto invalid;
    }

    name->len = p - name->data;
    s.data = p + 1;
    s.len = arg->data + arg->len - s.data;

    *size = ngx_parse_size(&s);

    if (name->len == 0 || *size == NGX_ERROR) {
        goto invalid;
    }

    if (*size < (ssize_t) (64 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V zone \"%V\" is too small: at least %uzk",
                           &value[0], name, 64 * ngx_pagesize / 1024);
        return NGX_ERROR;
    }

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" of \"%V\"", arg, &value[0]);
    return NGX_ERROR;
}


ngx_shm_zone_t *
ngx_http_gw_conf_zone_add(ngx_conf_t *cf, ngx_str_t *name, ssize_t size,
    void *tag, ngx_shm_zone_init_pt init, void *data)
{
    ngx_str_t       *value;
    ngx_shm_zone_t  *zone;

    value = cf->args->elts;

    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs zone=name:size", &value[0]);
        return NULL;
    }

    zone = ngx_shared_memory_add(cf, name, size, tag);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V zone \"%V\" is already used", &value[0],
                           name);
        return NULL;
    }

    zone->init = init;
    zone->data = data;

    return zone;
}


ngx_int_t
ngx_http_gw_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


const char *
ngx_http_gw_problem_sent(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_gw_module);
}
