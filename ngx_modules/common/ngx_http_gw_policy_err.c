
/*
 * Copyright (C) Tollgate
 *
 * Capturing a directive parser's message for a route policy kind: cf->log
 * is swapped for a log whose writer keeps the message (without nginx's
 * time, level and pid prefix) as the kind's error.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_gw_policy_err.h"


static void
ngx_http_gw_policy_err_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    ngx_http_gw_policy_err_t *pe = log->wdata;

    u_char  *p, *last, *msg;

    last = buf + len;

    while (last > buf && (last[-1] == LF || last[-1] == CR)) {
        last--;
    }

    /* "2024/01/01 00:00:00 [emerg] 1#0: message" */

    msg = buf;
    p = ngx_strlchr(buf, last, ']');

    if (p != NULL) {
        p = ngx_strlchr(p, last, ':');

        if (p != NULL && p + 2 <= last) {
            msg = p + 2;
        }
    }

    /* ngx_conf_log_error() adds " in FILE:LINE": the route says that */

    if (pe->file.len) {
        for (p = last; p > msg; p--) {
            if (p[-1] == ':') {
                p--;
                break;
            }
        }

        if ((size_t) (p - msg) > pe->file.len + 4
            && ngx_strncmp(p - pe->file.len, pe->file.data, pe->file.len)
               == 0
            && ngx_strncmp(p - pe->file.len - 4, " in ", 4) == 0)
        {
            last = p - pe->file.len - 4;
        }
    }

    len = last - msg;

    p = ngx_pnalloc(pe->pool, len);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(p, msg, len);
    pe->err->data = p;
    pe->err->len = len;
}


void
ngx_http_gw_policy_err_capture(ngx_conf_t *cf, ngx_http_gw_policy_err_t *pe,
    ngx_str_t *err)
{
    ngx_memzero(&pe->log, sizeof(ngx_log_t));

    pe->log.log_level = NGX_LOG_EMERG;
    pe->log.writer = ngx_http_gw_policy_err_writer;
    pe->log.wdata = pe;
    pe->saved = cf->log;
    pe->pool = cf->pool;
    pe->err = err;
    ngx_str_null(&pe->file);

    if (cf->conf_file != NULL) {
        pe->file = cf->conf_file->file.name;
    }

    cf->log = &pe->log;
}


void
ngx_http_gw_policy_err_release(ngx_conf_t *cf, ngx_http_gw_policy_err_t *pe)
{
    cf->log = pe->saved;
}
