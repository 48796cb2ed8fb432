
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
 * A JSON string of s; bytes of s that are not well-formed UTF-8 turn the
 * whole string into a copy with every byte above 0x7f as '?'.  NULL only
 * when out of memory.
 */

json_t *
gw_svc_json_string(const char *s)
{
    char    *copy;
    size_t   i;
    json_t  *j;

    j = json_string(s);
    if (j != NULL) {
        return j;
    }

    copy = strdup(s);
    if (copy == NULL) {
        return NULL;
    }

    for (i = 0; copy[i] != '\0'; i++) {
        if ((unsigned char) copy[i] > 0x7f) {
            copy[i] = '?';
        }
    }

    j = json_string(copy);
    free(copy);

    return j;
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
