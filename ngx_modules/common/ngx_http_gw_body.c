
/*
 * Copyright (C) Tollgate
 */


#include "ngx_http_gw_body.h"


static ngx_int_t ngx_http_gw_body_copy_append(ngx_pool_t *pool,
    ngx_http_gw_body_copy_t *copy, u_char *data, size_t size);


ngx_int_t
ngx_http_gw_body_copy_init(ngx_pool_t *pool, ngx_http_gw_body_copy_t *copy,
    size_t size, size_t max)
{
    ngx_memzero(copy, sizeof(ngx_http_gw_body_copy_t));

    copy->max = max;
    copy->size = ngx_max(ngx_min(size, max), 1);

    copy->buf = ngx_pnalloc(pool, copy->size);
    if (copy->buf == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_body_copy_chain(ngx_pool_t *pool, ngx_http_gw_body_copy_t *copy,
    ngx_chain_t *in)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b)) {
                copy->lost = 1;
            }

            continue;
        }

        if (b->last > b->pos
            && ngx_http_gw_body_copy_append(pool, copy, b->pos,
                                            b->last - b->pos)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_body_copy_read(ngx_http_request_t *r,
    ngx_http_gw_body_copy_t *copy, const char *who)
{
    off_t         total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    copy->len = 0;
    copy->too_large = 0;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    if (total > (off_t) copy->max) {
        copy->too_large = 1;
        return NGX_OK;
    }

    copy->buf = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (copy->buf == NULL) {
        return NGX_ERROR;
    }

    copy->size = (size_t) total + 1;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            copy->len = ngx_cpymem(copy->buf + copy->len, b->pos,
                                   b->last - b->pos) - copy->buf;
            continue;
        }

        if (b->in_file && b->file_last > b->file_pos) {
            n = ngx_read_file(b->file, copy->buf + copy->len,
                              (size_t) (b->file_last - b->file_pos),
                              b->file_pos);

            if (n != (ssize_t) (b->file_last - b->file_pos)) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "%s: cannot read the body back from \"%V\"",
                              who, &b->file->name);
                return NGX_ERROR;
            }

            copy->len += n;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_body_copy_append(ngx_pool_t *pool, ngx_http_gw_body_copy_t *copy,
    u_char *data, size_t size)
{
    u_char  *p;
    size_t   need;

    if (copy->too_large) {
        return NGX_OK;
    }

    if (size > copy->max - copy->len) {
        copy->too_large = 1;
        return NGX_OK;
    }

    need = copy->len + size;

    if (need > copy->size) {
        copy->size = ngx_max(need, ngx_min(2 * copy->size, copy->max));

        p = ngx_pnalloc(pool, copy->size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, copy->buf, copy->len);
        copy->buf = p;
    }

    ngx_memcpy(copy->buf + copy->len, data, size);
    copy->len += size;

    return NGX_OK;
}


void
ngx_http_gw_body_headers(ngx_http_request_t *r, ngx_uint_t *types,
    ngx_uint_t *codings, ngx_table_elt_t **coding)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    *types = 0;
    *codings = 0;
    *coding = NULL;

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

        if (h[i].key.len == sizeof("Content-Type") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Type",
                               sizeof("Content-Type") - 1) == 0)
        {
            (*types)++;

        } else if (h[i].key.len == sizeof("Content-Encoding") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Content-Encoding",
                                      sizeof("Content-Encoding") - 1) == 0)
        {
            (*codings)++;
            *coding = &h[i];
        }
    }
}
