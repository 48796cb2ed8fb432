
/*
 * Copyright (C) Tollgate
 *
 * What the admin API store (gwctl_api_consumer.c, gwctl_api_key.c,
 * gwctl_api_client.c) shares: reading an entity or a page of them into
 * a gwctl_page_t, changing one member of one, counting and paging.  The
 * commands parse and print (gwctl_consumer.c, gwctl_key.c,
 * gwctl_client.c) as they do for Redis.
 *
 * A change reads the entity, decides as the Redis command does (exists,
 * already in that status), and writes a JSON Merge Patch under If-Match
 * with the version it read: a 412 means someone changed it meanwhile,
 * so it is read and decided again, at most GWCTL_ATTEMPTS times.
 * Listings page with the API's own cursors, in id order.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"



/* a string member, as text: "" when absent or not a string */

const char *
gwctl_api_str(json_t *o, const char *name)
{
    const char  *s;

    s = json_string_value(json_object_get(o, name));

    return s != NULL ? s : "";
}


/* RFC 3339 ("2026-12-06T12:00:00.123Z") or seconds; -1 when neither */

int64_t
gwctl_api_time(json_t *v)
{
    struct tm    tm;
    const char  *s;

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    s = json_string_value(v);
    memset(&tm, 0, sizeof(tm));

    if (s == NULL
        || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm);
}


/* GET path: 0 with a JSON object in res, -1 otherwise (404: exit 2) */

int
gwctl_api_get(gwctl_t *ctl, const char *what, const char *path,
    gwctl_http_t *res)
{
    if (gwctl_api_call(ctl, "GET", path, NULL, NULL, 0, NULL, NULL, res)
        != 0)
    {
        return -1;
    }

    if (res->status == 200 && json_is_object(res->json)) {
        return 0;
    }

    if (res->status == 404) {
        gwctl_http_free(res);
        return gwctl_fail(ctl, GWCTL_STATE, "%s not found", what);
    }

    if (res->status == 200) {
        gwctl_http_free(res);
        return gwctl_fail(ctl, GWCTL_REDIS, "api %s: GET %s: not JSON",
                          ctl->api, path);
    }

    gwctl_api_fail(ctl, what, res);
    gwctl_http_free(res);

    return -1;
}


/*
 * Sets member to value (json null: removes it) in the entity at path
 * by a merge patch under If-Match, the entity read first: missing is
 * the message when it does not exist; when same is not NULL, a member
 * already equal to value fails with "<what> is already <same>".  A 412
 * reads and decides again.  value is borrowed.
 */

int
gwctl_api_patch(gwctl_t *ctl, const char *what, const char *path,
    const char *member, json_t *value, const char *same,
    const char *missing)
{
    int           attempt, rc;
    json_t       *patch, *v;
    gwctl_http_t  res, put;

    patch = json_pack("{s:O}", member, value);
    if (patch == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = -1;

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_api_get(ctl, missing, path, &res) != 0) {
            goto done;
        }

        v = json_object_get(res.json, member);

        if (same != NULL && v != NULL && json_equal(v, value)) {
            gwctl_http_free(&res);
            gwctl_fail(ctl, GWCTL_STATE, "%s is already %s", what, same);
            goto done;
        }

        if (gwctl_api_json(ctl, "PATCH", path, patch,
                           "application/merge-patch+json",
                           res.etag[0] ? res.etag : "*", NULL, &put)
            != 0)
        {
            gwctl_http_free(&res);
            goto done;
        }

        gwctl_http_free(&res);

        if (put.status == 200 || put.status == 204) {
            gwctl_http_free(&put);
            rc = 0;
            goto done;
        }

        if (put.status != 412) {
            gwctl_api_fail(ctl, what, &put);
            gwctl_http_free(&put);
            goto done;
        }

        gwctl_http_free(&put);
    }

    gwctl_fail(ctl, GWCTL_STATE, "%s: changed concurrently, try again",
               what);

done:

    json_decref(patch);

    return rc;
}


/* the number of keys of consumer id, revoked ones included */

int
gwctl_api_count(gwctl_t *ctl, const char *id, long long *n)
{
    char          path[GWCTL_PATH_MAX], cursor[GWCTL_CURSOR_MAX * 3];
    json_t       *next;
    gwctl_http_t  res;

    *n = 0;
    cursor[0] = '\0';

    for ( ;; ) {
        snprintf(path, sizeof(path), "/v1/keys?field.consumer=%s&limit=1000"
                 "%s%s", id, cursor[0] ? "&cursor=" : "", cursor);

        if (gwctl_api_get(ctl, "key list", path, &res) != 0) {
            return -1;
        }

        *n += json_array_size(json_object_get(res.json, "items"));
        next = json_object_get(res.json, "next");

        if (!json_is_string(next)
            || gwctl_api_cursor(ctl, "key list", json_string_value(next),
                                cursor, sizeof(cursor)) != 0)
        {
            gwctl_http_free(&res);
            return json_is_string(next) ? -1 : 0;
        }

        gwctl_http_free(&res);
    }
}


/* a cursor, percent-encoded for a query; at most GWCTL_CURSOR_MAX bytes */

int
gwctl_api_cursor(gwctl_t *ctl, const char *cmd, const char *cursor,
    char *buf, size_t size)
{
    char    q[64];
    size_t  i, n, len;

    static const char  hex[] = "0123456789ABCDEF";

    len = strlen(cursor);

    if (len == 0 || len > GWCTL_CURSOR_MAX || size < len * 3 + 1) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: --cursor: expects a cursor "
                          "of 1 to %d bytes, got %s", cmd, GWCTL_CURSOR_MAX,
                          gwctl_quote(q, sizeof(q), cursor));
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-._~", cursor[i]) != NULL)
        {
            buf[n++] = cursor[i];
            continue;
        }

        buf[n++] = '%';
        buf[n++] = hex[(unsigned char) cursor[i] >> 4];
        buf[n++] = hex[(unsigned char) cursor[i] & 0x0f];
    }

    buf[n] = '\0';

    return 0;
}


/*
 * GETs path (what names it in messages) into page: the answer kept in
 * page->res, page->items a zeroed array of size-byte records, one for
 * each entity, and page->next the answer's "next".
 * The entities are the answer itself when one is true, else its
 * "items".  Returns them (a new reference) for the caller to read into
 * the records, or NULL, the page freed.
 */

json_t *
gwctl_api_items(gwctl_t *ctl, const char *what, const char *path, int one,
    gwctl_page_t *page, size_t size)
{
    json_t  *items;

    memset(page, 0, sizeof(gwctl_page_t));

    if (gwctl_api_get(ctl, what, path, &page->res) != 0) {
        return NULL;
    }

    if (one) {
        items = json_pack("[O]", page->res.json);

    } else {
        items = json_incref(json_object_get(page->res.json, "items"));
    }

    page->items = gwctl_page_buf(ctl, page,
                                 calloc(json_array_size(items) + 1, size));

    if ((one && items == NULL) || page->items == NULL) {
        json_decref(items);
        gwctl_page_free(page);
        gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
        return NULL;
    }

    page->next = json_string_value(json_object_get(page->res.json, "next"));

    return items != NULL ? items : json_array();
}


/*
 * A listing's path into path: base (ending in '?' or '&'), then
 * "limit=N" and, for a cursor (NULL: the first page), "&cursor=C", C
 * checked and percent-encoded (gwctl_api_cursor(), cmd in its message).
 */

int
gwctl_api_query(gwctl_t *ctl, const char *cmd, const char *base,
    size_t limit, const char *cursor, char *path, size_t size)
{
    char  buf[GWCTL_CURSOR_MAX * 3];

    if (cursor != NULL
        && gwctl_api_cursor(ctl, cmd, cursor, buf, sizeof(buf)) != 0)
    {
        return -1;
    }

    snprintf(path, size, "%slimit=%zu%s%s", base, limit,
             cursor != NULL ? "&cursor=" : "", cursor != NULL ? buf : "");

    return 0;
}
