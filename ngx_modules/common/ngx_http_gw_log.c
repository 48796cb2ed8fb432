
/*
 * Copyright (C) Tollgate
 *
 * Request-derived text on a log line.  A member name, a JSON pointer, a
 * header value, a decoded URI or a Redis error that echoes input can hold
 * any byte: written as they are, a CR or LF starts a line of the caller's
 * choosing (a forged "[emerg]"), ESC drives the terminal of whoever reads
 * the log, and bidirectional or C1 characters reorder what they see.  So
 * every such value goes through the one escape below before it reaches
 * ngx_log_error(): only printable ASCII stays, backslash and the double
 * quote that delimits values are escaped, every other byte is written as
 * \xNN (as nginx's access log does with escape=default), and a value is
 * cut at NGX_HTTP_GW_LOG_MAX bytes, "..." saying so, so that one value
 * cannot fill nginx's 2 KiB line.  UTF-8 text is escaped byte by byte
 * too: it stays readable as its code units and cannot smuggle U+202E.
 */


#include "ngx_http_gw.h"


static u_char  ngx_http_gw_log_hex[] = "0123456789abcdef";


ngx_str_t *
ngx_http_gw_log_escape(ngx_str_t *out, u_char *buf, u_char *src, size_t len)
{
    u_char  *p, *end;

    p = buf;
    end = src + ngx_min(len, NGX_HTTP_GW_LOG_MAX);

    for ( /* void */ ; src < end; src++) {

        if (*src == '\\' || *src == '"') {
            *p++ = '\\';
            *p++ = *src;

        } else if (*src >= 0x20 && *src < 0x7f) {
            *p++ = *src;

        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = ngx_http_gw_log_hex[*src >> 4];
            *p++ = ngx_http_gw_log_hex[*src & 0xf];
        }
    }

    if (len > NGX_HTTP_GW_LOG_MAX) {
        p = ngx_cpymem(p, "...", 3);
    }

    out->data = buf;
    out->len = p - buf;

    return out;
}
