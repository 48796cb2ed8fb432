
/*
 * Copyright (C) Tollgate
 *
 * Small JSON helpers of the processing service: RFC 6901 pointers,
 * "{/pointer}" key templates, values as Redis arguments, event times.
 */


#define _GNU_SOURCE             /* strptime(), timegm() */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proc.h"


long long
proc_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


json_t *
proc_json_ptr(json_t *v, const char *ptr)
{
    char         tok[256];
    size_t       n;
    const char  *p;

    if (ptr == NULL || *ptr == '\0') {
        return v;
    }

    if (*ptr != '/') {
        return NULL;
    }

    p = ptr;

    while (*p == '/' && v != NULL) {
        p++;
        n = 0;

        while (*p != '\0' && *p != '/') {
            if (n + 1 >= sizeof(tok)) {
                return NULL;
            }

            if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = (p[1] == '0') ? '~' : '/';
                p += 2;
                continue;
            }

            tok[n++] = *p++;
        }

        tok[n] = '\0';

        if (json_is_object(v)) {
            v = json_object_get(v, tok);

        } else if (json_is_array(v) && n > 0 && strspn(tok, "0123456789")
                   == n)
        {
            v = json_array_get(v, strtoul(tok, NULL, 10));

        } else {
            return NULL;
        }
    }

    return v;
}


char *
proc_json_text(json_t *v)
{
    char  buf[64];

    switch (json_typeof(v)) {

    case JSON_STRING:
        return strdup(json_string_value(v));

    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", (long long) json_integer_value(v));
        return strdup(buf);

    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return strdup(buf);

    case JSON_TRUE:
        return strdup("true");

    case JSON_FALSE:
        return strdup("false");

    default:
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}


int
proc_template(const char *tpl, json_t *rec, char *buf, size_t len)
{
    char        ptr[256], *s;
    size_t      n, k;
    json_t     *v;
    const char *p, *e;

    n = 0;

    for (p = tpl; *p != '\0'; p++) {
        if (*p == '{' && p[1] == '/') {
            e = strchr(p, '}');
            if (e == NULL || (size_t) (e - p - 1) >= sizeof(ptr)) {
                return -1;
            }

            memcpy(ptr, p + 1, e - p - 1);
            ptr[e - p - 1] = '\0';

            v = proc_json_ptr(rec, ptr);
            if (v == NULL || json_is_null(v)) {
                return -1;
            }

            s = proc_json_text(v);
            if (s == NULL) {
                return -1;
            }

            k = strlen(s);
            if (n + k >= len) {
                free(s);
                return -1;
            }

            memcpy(buf + n, s, k);
            free(s);
            n += k;
            p = e;
            continue;
        }

        if (n + 1 >= len) {
            return -1;
        }

        buf[n++] = *p;
    }

    buf[n] = '\0';

    return 0;
}


int64_t
proc_json_time(json_t *v)
{
    int         ms;
    char        frac[16];
    double      d;
    struct tm   tm;
    const char *s, *p;
    long long   t;

    if (json_is_integer(v)) {
        return json_integer_value(v) < 0 ? -1 : json_integer_value(v);
    }

    if (json_is_real(v)) {
        d = json_real_value(v);
        return (d < 0 || d > 9e15) ? -1 : (int64_t) d;
    }

    if (json_is_string(v)) {
        s = json_string_value(v);

        if (strspn(s, "0123456789") == strlen(s) && *s != '\0') {
            return strtoll(s, NULL, 10);
        }

        /* RFC 3339: 2026-12-06T21:00:00[.123](Z|+hh:mm) */

        memset(&tm, 0, sizeof(tm));
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (p == NULL) {
            return -1;
        }

        ms = 0;

        if (*p == '.') {
            p++;
            memset(frac, '0', 3);
            frac[3] = '\0';
            memcpy(frac, p, strspn(p, "0123456789") > 3
                            ? 3 : strspn(p, "0123456789"));
            ms = atoi(frac);
            p += strspn(p, "0123456789");
        }

        t = (long long) timegm(&tm) * 1000 + ms;

        if (*p == 'Z' || *p == 'z') {
            return t;
        }

        if ((*p == '+' || *p == '-') && strlen(p) == 6) {
            d = (atoi(p + 1) * 60 + atoi(p + 4)) * 60000.0;
            return (*p == '+') ? t - (long long) d : t + (long long) d;
        }
    }

    return -1;
}
