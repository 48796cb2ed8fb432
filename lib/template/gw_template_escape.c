
/*
 * Copyright (C) Tollgate
 *
 * Templates' escapers (gw_template_int.h): every value a template
 * writes goes out through gw_tmpl_escape(), one context each: html
 * (the five markup characters and the backtick and '='), url (all but
 * RFC 3986's unreserved bytes percent-encoded), the inside of a JSON
 * string (quotes, backslashes, controls, U+2028 and U+2029 as escapes)
 * or text as is.  gw_tmpl_controls() finds the control characters a
 * text or html value may not carry (C0 but newline and tab, all of C0
 * with one_line, DEL, C1).  Output grows through gw_tmpl_append(),
 * which enforces the rendering's cap.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template_int.h"


int
gw_tmpl_append(gw_tmpl_run_t *r, const char *p, size_t len)
{
    char    *out;
    size_t   cap;

    if (len > r->max - r->len) {
        return -1;
    }

    /* one byte more than the output for its NUL */

    if (r->len + len + 1 > r->cap) {
        cap = (r->cap == 0) ? 1024 : r->cap;

        while (cap < r->len + len + 1) {
            cap *= 2;
        }

        out = realloc(r->out, cap);
        if (out == NULL) {
            r->oom = 1;
            return -1;
        }

        r->out = out;
        r->cap = cap;
    }

    memcpy(r->out + r->len, p, len);
    r->len += len;

    return 0;
}


/* p written escaped for ctx: 0, or -1 past the cap or out of memory */

int
gw_tmpl_escape(gw_tmpl_run_t *r, const unsigned char *p, size_t len,
    gw_tmpl_context_e ctx)
{
    char         buf[8];
    size_t       i, from;
    const char  *rep;

    static const char  hex[] = "0123456789ABCDEF";

    if (ctx == GW_TMPL_TEXT) {
        return gw_tmpl_append(r, (const char *) p, len);
    }

    from = 0;

    for (i = 0; i < len; i++) {
        rep = NULL;

        switch (ctx) {

        case GW_TMPL_HTML:
            switch (p[i]) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '`': rep = "&#96;"; break;
            case '=': rep = "&#61;"; break;
            default: break;
            }

            break;

        case GW_TMPL_URL:
            if ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')
                || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'
                || p[i] == '.' || p[i] == '_' || p[i] == '~')
            {
                break;
            }

            buf[0] = '%';
            buf[1] = hex[p[i] >> 4];
            buf[2] = hex[p[i] & 0xf];
            buf[3] = '\0';
            rep = buf;
            break;

        default:                                /* JSON string content */
            if (p[i] == '"') {
                rep = "\\\"";

            } else if (p[i] == '\\') {
                rep = "\\\\";

            } else if (p[i] == '\n') {
                rep = "\\n";

            } else if (p[i] == '\t') {
                rep = "\\t";

            } else if (p[i] == '\r') {
                rep = "\\r";

            } else if (p[i] < 0x20 || p[i] == 0x7f) {
                snprintf(buf, sizeof(buf), "\\u%04x", p[i]);
                rep = buf;

            } else if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80
                       && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
            {
                /* U+2028, U+2029: JSON allows them, JavaScript did not */
                snprintf(buf, sizeof(buf), "\\u%04x",
                         p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
                rep = buf;
            }

            break;
        }

        if (rep == NULL) {
            continue;
        }

        if (gw_tmpl_append(r, (const char *) p + from, i - from) != 0
            || gw_tmpl_append(r, rep, strlen(rep)) != 0)
        {
            return -1;
        }

        if (p[i] == 0xe2) {
            i += 2;
        }

        from = i + 1;
    }

    return gw_tmpl_append(r, (const char *) p + from, len - from);
}


/*
 * 0 when p (valid UTF-8) holds no control character: C0 but \n and \t
 * (none with one_line), DEL, C1 (U+0080-U+009F); else -1.
 */

int
gw_tmpl_controls(const gw_tmpl_run_t *r, const unsigned char *p,
    size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((p[i] < 0x20
             && ((p[i] != '\n' && p[i] != '\t') || r->t->opts.one_line))
            || p[i] == 0x7f
            || (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f))
        {
            return -1;
        }
    }

    return 0;
}
