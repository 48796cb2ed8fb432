
/*
 * Copyright (C) Tollgate
 *
 * What metadata_rev*.c share: the change log's entries as XRANGE gives
 * them (the members the commit script writes, metadata.h), revisions as
 * numbers, query parameters, entity tags, times and the answers for a
 * reader behind the log's trim point or a store that cannot be read.
 *
 * Entries come from our own script, but are checked as if they did not:
 * an entry without its members, with a malformed id or number, or whose
 * index is not below its revision's count of changes is refused, and the
 * reader answers 503 rather than guess.
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metadata_rev.h"


int
md_rev_number(const char *s, size_t len, long long *n)
{
    size_t     i;
    long long  v;

    if (len == 0 || len > 19) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        if (v > (LLONG_MAX - (s[i] - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    if (v == 0) {
        return -1;
    }

    *n = v;

    return 0;
}


int
md_rev_reply_number(redisReply *r, long long *n)
{
    if (r->type == REDIS_REPLY_NIL) {
        *n = 0;
        return 0;
    }

    if (r->type == REDIS_REPLY_INTEGER) {
        *n = r->integer;
        return (r->integer >= 0) ? 0 : -1;
    }

    if (r->type == REDIS_REPLY_STRING && r->len == 1 && r->str[0] == '0') {
        *n = 0;
        return 0;
    }

    if (r->type == REDIS_REPLY_STRING) {
        return md_rev_number(r->str, r->len, n);
    }

    return -1;
}


int
md_rev_entry(redisReply *r, md_rev_entry_t *e)
{
    char         *end;
    size_t        i;
    unsigned      seen;
    redisReply   *f, *k, *v;
    const char   *dash;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return -1;
    }

    memset(e, 0, sizeof(md_rev_entry_t));
    e->actor = "";
    e->rid = "";
    e->before = "";
    e->after = "";

    /* the id: "<rev>-<i>" */

    dash = memchr(r->element[0]->str, '-', r->element[0]->len);

    if (dash == NULL
        || md_rev_number(r->element[0]->str, dash - r->element[0]->str,
                         &e->rev)
           != 0)
    {
        return -1;
    }

    if (r->element[0]->str + r->element[0]->len - dash == 2
        && dash[1] == '0')
    {
        e->index = 0;

    } else if (md_rev_number(dash + 1,
                             r->element[0]->str + r->element[0]->len - dash
                             - 1, &e->index)
               != 0)
    {
        return -1;
    }

    f = r->element[1];
    seen = 0;

    for (i = 0; i + 1 < f->elements; i += 2) {
        k = f->element[i];
        v = f->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            return -1;
        }

        if (strcmp(k->str, "type") == 0) {
            e->type = v->str;
            seen |= 1;

        } else if (strcmp(k->str, "id") == 0) {
            e->id = v->str;
            seen |= 2;

        } else if (strcmp(k->str, "n") == 0) {
            if (md_rev_number(v->str, v->len, &e->n) != 0) {
                return -1;
            }

            seen |= 4;

        } else if (strcmp(k->str, "vb") == 0 || strcmp(k->str, "va") == 0) {
            if (md_rev_reply_number(v, k->str[1] == 'b' ? &e->vb : &e->va)
                != 0)
            {
                return -1;
            }

            seen |= (k->str[1] == 'b') ? 8 : 16;

        } else if (strcmp(k->str, "time") == 0) {
            e->time = strtoll(v->str, &end, 10);

            if (end == v->str || *end != '\0') {
                return -1;
            }

        } else if (strcmp(k->str, "actor") == 0) {
            e->actor = v->str;

        } else if (strcmp(k->str, "rid") == 0) {
            e->rid = v->str;

        } else if (strcmp(k->str, "before") == 0) {
            e->before = v->str;
            e->before_len = v->len;

        } else if (strcmp(k->str, "after") == 0) {
            e->after = v->str;
            e->after_len = v->len;
        }
    }

    if (seen != 31 || e->index >= e->n || (e->vb == 0 && e->va == 0)
        || e->type[0] == '\0')
    {
        return -1;
    }

    return 0;
}


int
md_rev_doc(const char *text, size_t len, json_t **doc)
{
    if (len == 0) {
        *doc = NULL;
        return 0;
    }

    *doc = json_loadb(text, len, 0, NULL);

    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return -1;
    }

    json_object_del(*doc, "version");

    return 0;
}


int
md_rev_query(gw_svc_req_t *req, const char **names, const char **values,
    char *buf, size_t size)
{
    char        *p, *pair, *eq;
    size_t       i;
    const char  *q;

    for (i = 0; names[i] != NULL; i++) {
        values[i] = NULL;
    }

    q = gw_svc_req_query(req);

    if (q == NULL || q[0] == '\0') {
        return 0;
    }

    if (strlen(q) >= size) {
        goto bad;
    }

    memcpy(buf, q, strlen(q) + 1);

    for (p = buf; p != NULL; /* void */) {
        pair = p;
        p = strchr(p, '&');

        if (p != NULL) {
            *p++ = '\0';
        }

        eq = strchr(pair, '=');
        if (eq == NULL) {
            goto bad;
        }

        *eq = '\0';

        for (i = 0; names[i] != NULL; i++) {
            if (strcmp(names[i], pair) == 0) {
                break;
            }
        }

        if (names[i] == NULL || values[i] != NULL) {
            goto bad;
        }

        values[i] = eq + 1;
    }

    return 0;

bad:

    gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                         "unknown, repeated or malformed query parameter");

    return -1;
}


int
md_rev_etag_match(const char *value, long long rev, int weak)
{
    int   m;
    char  tag[24];

    snprintf(tag, sizeof(tag), "\"%lld\"", rev);

    m = gw_svc_etag_match(value, tag, weak);

    return (m == GW_SVC_ETAG_ANY) ? 1 : m;
}


void
md_rev_time(long long ms, char *buf)
{
    time_t     sec;
    struct tm  tm;

    sec = (time_t) (ms / 1000);

    if (ms < 0 || gmtime_r(&sec, &tm) == NULL || tm.tm_year > 9999 - 1900
        || strftime(buf, MD_REV_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
    {
        memcpy(buf, "1970-01-01T00:00:00.000Z", MD_REV_TIME_LEN);
        return;
    }

    snprintf(buf + 19, MD_REV_TIME_LEN - 19, ".%03dZ", (int) (ms % 1000));
}


void
md_rev_resync(gw_svc_req_t *req, long long trimmed)
{
    char  detail[160];

    snprintf(detail, sizeof(detail),
             "the change log starts at revision %lld: read /v1/snapshot, "
             "then follow the log from its revision", trimmed + 1);

    gw_svc_log(md.svc, GW_SVC_INFO, req, "behind the change log",
               json_pack("{s:I}", "trimmed", (json_int_t) trimmed));

    gw_svc_reply_problem_extra(req, 410, "resync-required",
                               "Resync required", detail,
                               json_pack("{s:I, s:s}", "first_revision",
                                         (json_int_t) trimmed + 1,
                                         "snapshot", "/v1/snapshot"));
}


void
md_rev_unavailable(gw_svc_req_t *req, redisReply *r, const char *message)
{
    gw_svc_log(md.svc, r != NULL ? GW_SVC_ERROR : GW_SVC_WARN, req, message,
               r != NULL && r->type == REDIS_REPLY_ERROR
               ? json_pack("{s:o}", "error", gw_svc_json_string(r->str))
               : NULL);

    gw_svc_reply_problem(req, 503, "unavailable", "Unavailable", message);
}
