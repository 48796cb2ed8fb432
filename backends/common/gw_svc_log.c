
/*
 * Copyright (C) Tollgate
 *
 * Logs: one JSON object per line on stderr, for a collector to read
 * without a parser of its own:
 *
 *   {"time":"2026-01-02T03:04:05.678Z","level":"info","service":"example",
 *    "request_id":"...","trace_id":"...","message":"...","fields":{...}}
 *
 * request_id and trace_id are present only for a line about a request,
 * fields only when given.  Each line is written with one write(2), so
 * lines from several processes sharing stderr do not interleave.
 *
 * A line is one line whatever a request put in it: jansson writes every
 * control byte of a string as \u00XX, and DEL as well once the line is
 * dumped (below); with JSON_ENSURE_ASCII every other character is \uXXXX,
 * so a line holds only printable ASCII.  Text that is not UTF-8 (a decoded
 * path, a Redis error, a parser's message quoting its input) goes through
 * gw_svc_json_string(), which writes each byte of it that is not part of a
 * well-formed UTF-8 sequence as the four characters \xNN, as the gateway's
 * error.log does, and keeps the rest.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_svc_int.h"


static const char  *gw_svc_level_names[] = { "debug", "info", "warn",
                                             "error" };


static json_t *
gw_svc_log_time(void)
{
    char             buf[96];
    struct tm        tm;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    return json_string(buf);
}


/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4 bytes, s ends
 * at a NUL), or 0 when s starts an ill-formed one: a stray continuation
 * byte, a cut sequence, an overlong form, a surrogate, past U+10FFFF.
 */

static size_t
gw_svc_utf8_len(const unsigned char *s)
{
    size_t        n, i;
    unsigned int  c, min;

    c = s[0];

    if (c < 0x80) {
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2; c &= 0x1f; min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3; c &= 0x0f; min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4; c &= 0x07; min = 0x10000;

    } else {
        return 0;
    }

    for (i = 1; i < n; i++) {

        /* the NUL at the end is not a continuation byte: no overrun */

        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


/*
 * A JSON string of s, any bytes: each byte not part of well-formed UTF-8
 * becomes the text \xNN (lowercase hex), the rest is kept.  NULL only
 * when out of memory.
 */

json_t *
gw_svc_json_string(const char *s)
{
    char                 *copy, *p;
    size_t                n;
    json_t               *j;
    const unsigned char  *u;
    static const char     hex[] = "0123456789abcdef";

    j = json_string(s);
    if (j != NULL) {
        return j;
    }

    copy = malloc(4 * strlen(s) + 1);
    if (copy == NULL) {
        return NULL;
    }

    p = copy;

    for (u = (const unsigned char *) s; *u != '\0'; u += n) {
        n = gw_svc_utf8_len(u);

        if (n == 0) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[*u >> 4];
            *p++ = hex[*u & 0xf];
            n = 1;

        } else {
            memcpy(p, u, n);
            p += n;
        }
    }

    *p = '\0';

    j = json_string(copy);
    free(copy);

    return j;
}


/*
 * The dumped line with each DEL, which jansson leaves as it is, written as
 * \u007f; DEL can only be inside a string there.  Takes line, returns it
 * or a new copy, NULL (line freed) when out of memory.
 */

static char *
gw_svc_log_del(char *line)
{
    char    *out, *p, *q;
    size_t   n;

    n = 0;

    for (p = line; *p != '\0'; p++) {
        n += (*p == 0x7f);
    }

    if (n == 0) {
        return line;
    }

    out = malloc(strlen(line) + 5 * n + 1);
    if (out == NULL) {
        free(line);
        return NULL;
    }

    for (p = line, q = out; *p != '\0'; p++) {
        if (*p == 0x7f) {
            memcpy(q, "\\u007f", 6);
            q += 6;

        } else {
            *q++ = *p;
        }
    }

    *q = '\0';
    free(line);

    return out;
}


/*
 * When the line cannot be built (out of memory), a fixed line says so
 * rather than nothing.
 */

void
gw_svc_log(gw_svc_t *svc, gw_svc_level_e level, gw_svc_req_t *req,
    const char *message, json_t *fields)
{
    char               *line;
    size_t              len;
    json_t             *o;
    ssize_t             n;
    static const char   lost[] = "{\"level\":\"error\",\"message\":"
                                 "\"log line lost: out of memory\"}\n";

    o = NULL;
    line = NULL;

    if (level < svc->log_level || level > GW_SVC_ERROR) {
        goto done;
    }

    o = json_object();
    if (o == NULL) {
        goto failed;
    }

    if (json_object_set_new(o, "time", gw_svc_log_time()) != 0
        || json_object_set_new(o, "level",
                               json_string(gw_svc_level_names[level])) != 0
        || json_object_set_new(o, "service", json_string(svc->name)) != 0)
    {
        goto failed;
    }

    if (req != NULL
        && (json_object_set_new(o, "request_id", json_string(req->id)) != 0
            || json_object_set_new(o, "trace_id",
                                   json_string(req->trace_id)) != 0))
    {
        goto failed;
    }

    if (json_object_set_new(o, "message", gw_svc_json_string(message))
        != 0)
    {
        goto failed;
    }

    if (fields != NULL && json_object_set(o, "fields", fields) != 0) {
        goto failed;
    }

    line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (line == NULL) {
        goto failed;
    }

    line = gw_svc_log_del(line);
    if (line == NULL) {
        goto failed;
    }

    len = strlen(line);
    line[len] = '\n';

    /* the NUL json_dumps() wrote is now the newline; len + 1 bytes */

    n = write(STDERR_FILENO, line, len + 1);
    (void) n;

    goto done;

failed:

    n = write(STDERR_FILENO, lost, sizeof(lost) - 1);
    (void) n;

done:

    free(line);
    json_decref(o);
    json_decref(fields);
}


void
gw_svc_logf(gw_svc_t *svc, gw_svc_level_e level, const char *fmt, ...)
{
    char     buf[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    gw_svc_log(svc, level, NULL, buf, NULL);
}
