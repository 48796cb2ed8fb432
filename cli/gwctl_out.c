
/*
 * Copyright (C) Tollgate
 *
 * gwctl's output.  Values come from Redis, where anyone with access may
 * have written anything, so text output prints a value as it is only when
 * it is printable UTF-8 (otherwise each byte outside printable ASCII
 * becomes '?'), and JSON output escapes control characters and replaces
 * the bytes of ill-formed UTF-8 with U+FFFD: the output is always valid
 * JSON and never drives the terminal.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


/* a message-safe copy: printable ASCII only, truncated to size */

void
gwctl_sanitize(char *dst, size_t size, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len && i + 1 < size; i++) {
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    dst[i] = '\0';
}


void
gwctl_print_text(FILE *f, const char *s, size_t len)
{
    size_t  i;

    if (gw_model_printable(s, len)) {
        fwrite(s, 1, len, f);
        return;
    }

    for (i = 0; i < len; i++) {
        fputc((s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?', f);
    }
}


void
gwctl_print_json(FILE *f, const char *s, size_t len)
{
    int            utf8;
    size_t         i;
    unsigned char  c;

    /* well-formed UTF-8 is kept; otherwise every byte above 0x7f goes */

    utf8 = gw_model_printable(s, len);

    fputc('"', f);

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);

        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);

        } else if (c >= 0x80 && !utf8) {
            fputs("\\ufffd", f);

        } else {
            fputc(c, f);
        }
    }

    fputc('"', f);
}


/*
 * A column of a table: the value ("-" when NULL or empty), then spaces
 * to width, then the two spaces between columns.
 */

void
gwctl_print_cell(FILE *f, const char *s, size_t width)
{
    size_t  len;

    len = (s != NULL) ? strlen(s) : 0;

    if (len != 0) {
        gwctl_print_text(f, s, len);

    } else {
        fputc('-', f);
        len = 1;
    }

    for ( /* void */ ; len < width; len++) {
        fputc(' ', f);
    }

    fputs("  ", f);
}


/* seconds since the epoch as "2026-11-22T09:25:15Z", or "?" */

void
gwctl_format_time(char *buf, size_t size, int64_t t)
{
    time_t     tt;
    struct tm  tm;

    tt = (time_t) t;

    if (t < 0 || gmtime_r(&tt, &tm) == NULL
        || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        snprintf(buf, size, "?");
    }
}


/*
 * The end of a listing's page: in JSON, close (which ends its array), the
 * member "next" (the cursor, or null) and the closing brace; in text, a
 * line "next cursor: C" when there is a next page.  A cursor is printed
 * unquoted, so one not only of unreserved characters (an id and a hash
 * are) is not printed at all.
 */

void
gwctl_print_next(FILE *f, int json, const char *close, const char *next)
{
    if (next != NULL
        && strspn(next, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-._~") != strlen(next))
    {
        next = NULL;
    }

    if (json) {
        fputs(close, f);

        if (next != NULL) {
            fprintf(f, ",\"next\":\"%s\"}\n", next);

        } else {
            fputs(",\"next\":null}\n", f);
        }

        return;
    }

    if (next != NULL) {
        fprintf(f, "next cursor: %s\n", next);
    }
}


/*
 * Keeps r, a reply the page's records borrow from, until
 * gwctl_page_free(); r NULL fails (the failure is in ctl already), and
 * so does a full memory, r freed then.
 */

int
gwctl_page_reply(gwctl_t *ctl, gwctl_page_t *page, redisReply *r)
{
    redisReply  **a;

    if (r == NULL) {
        return -1;
    }

    a = realloc(page->replies, (page->nreplies + 1) * sizeof(redisReply *));
    if (a == NULL) {
        freeReplyObject(r);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    page->replies = a;
    page->replies[page->nreplies++] = r;

    return 0;
}


/* keeps p, malloc'd, until gwctl_page_free(); p NULL: out of memory */

void *
gwctl_page_buf(gwctl_t *ctl, gwctl_page_t *page, void *p)
{
    void  **a;

    if (p != NULL) {
        a = realloc(page->bufs, (page->nbufs + 1) * sizeof(void *));

        if (a != NULL) {
            page->bufs = a;
            page->bufs[page->nbufs++] = p;
            return p;
        }

        free(p);
    }

    gwctl_fail(ctl, GWCTL_REDIS, "out of memory");

    return NULL;
}


void
gwctl_page_free(gwctl_page_t *page)
{
    size_t  i;

    for (i = 0; i < page->nreplies; i++) {
        freeReplyObject(page->replies[i]);
    }

    for (i = 0; i < page->nbufs; i++) {
        free(page->bufs[i]);
    }

    free(page->replies);
    free(page->bufs);
    gwctl_http_free(&page->res);

    memset(page, 0, sizeof(gwctl_page_t));
}
