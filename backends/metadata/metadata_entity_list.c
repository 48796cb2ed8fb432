
/*
 * Copyright (C) Tollgate
 *
 * Lists (docs/admin-api.md, "Entities"):
 *
 *   GET /v1/{type}?limit=N&cursor=C&tag=T&field.<member>=<value>
 *     -> {"items": [...], "next": "<cursor>" | null}
 *
 * Entities come in id order; the cursor is the last id a page looked
 * at, so a page after it starts after that id whatever was added or
 * removed meanwhile.  Filters are applied to pages read from the store
 * (the store has no index by tag or field): one answer may read several
 * pages to fill itself, but looks at MD_LIST_SCAN entities at most and
 * then answers what it found with a cursor to go on from, so a filter
 * that matches nothing in a large type still answers quickly.
 */


#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "metadata_store.h"


#define MD_LIST_FIELDS   8          /* field filters in one request */
#define MD_LIST_PAGE     100        /* entities read at once to filter */
#define MD_LIST_SCAN     5000       /* entities looked at per answer */


typedef struct {
    gw_svc_req_t       *req;
    md_type_t          *type;
    size_t              limit;
    size_t              scanned;
    json_t             *items;
    char               *tag;
    size_t              nfields;
    char               *name[MD_LIST_FIELDS];
    char               *value[MD_LIST_FIELDS];
    char                cursor[MD_ID_MAX + 1];
} md_list_t;


static const char *md_list_query(md_list_t *ls, const char *q);
static int md_list_fetch(md_list_t *ls);
static void md_list_page(int status, json_t *docs, void *data);
static int md_list_match(md_list_t *ls, json_t *doc);
static void md_list_free(md_list_t *ls);


void
md_entity_list(gw_svc_req_t *req, md_type_t *t)
{
    md_list_t   *ls;
    const char  *why;

    ls = calloc(1, sizeof(md_list_t));
    if (ls == NULL || (ls->items = json_array()) == NULL) {
        free(ls);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    ls->req = req;
    ls->type = t;
    ls->limit = (md.list_max < 100) ? (size_t) md.list_max : 100;

    why = md_list_query(ls, gw_svc_req_query(req));

    if (why != NULL) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request", why);
        md_list_free(ls);
        return;
    }

    if (md_list_fetch(ls) != 0) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "the store is unavailable");
        md_list_free(ls);
    }
}


static void
md_list_free(md_list_t *ls)
{
    size_t  i;

    for (i = 0; i < ls->nfields; i++) {
        free(ls->name[i]);
        free(ls->value[i]);
    }

    free(ls->tag);
    json_decref(ls->items);
    free(ls);
}


/* the query's parameters into ls: NULL, or what is wrong */

static const char *
md_list_query(md_list_t *ls, const char *q)
{
    int          seen_limit;
    char        *k, *v, *end;
    size_t       klen, vlen, i;
    long long    n;
    const char  *p, *amp, *eq;

    seen_limit = 0;

    for (p = q; p != NULL && *p != '\0'; p = (*amp != '\0') ? amp + 1 : amp)
    {
        amp = p + strcspn(p, "&");

        if (amp == p) {
            continue;
        }

        eq = memchr(p, '=', amp - p);
        if (eq == NULL) {
            return "a query parameter without a value";
        }

        k = strndup(p, eq - p);
        v = strndup(eq + 1, amp - eq - 1);

        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            return "out of memory";
        }

        end = evhttp_uridecode(k, 1, &klen);
        free(k);
        k = end;
        end = evhttp_uridecode(v, 1, &vlen);
        free(v);
        v = end;

        if (k == NULL || v == NULL || strlen(k) != klen
            || strlen(v) != vlen)
        {
            free(k);
            free(v);
            return "a query parameter is not well formed";
        }

        if (strcmp(k, "limit") == 0 && !seen_limit) {
            n = strtoll(v, &end, 10);
            klen = (v[0] == '\0' || *end != '\0' || n < 1
                    || n > md.list_max);
            free(k);
            free(v);

            if (klen) {
                return "limit: an integer from 1 to list_max";
            }

            ls->limit = (size_t) n;
            seen_limit = 1;
            continue;
        }

        if (strcmp(k, "cursor") == 0 && ls->cursor[0] == '\0') {
            free(k);

            if (!md_id_valid(v, vlen)) {
                free(v);
                return "cursor: not a cursor this service gave";
            }

            memcpy(ls->cursor, v, vlen + 1);
            free(v);
            continue;
        }

        if (strcmp(k, "tag") == 0 && ls->tag == NULL && vlen > 0) {
            free(k);
            ls->tag = v;
            continue;
        }

        if (strncmp(k, "field.", 6) == 0 && klen > 6
            && ls->nfields < MD_LIST_FIELDS)
        {
            for (i = 0; i < ls->nfields; i++) {
                if (strcmp(ls->name[i], k + 6) == 0) {
                    break;
                }
            }

            if (i == ls->nfields) {
                memmove(k, k + 6, klen - 5);
                ls->name[ls->nfields] = k;
                ls->value[ls->nfields++] = v;
                continue;
            }
        }

        free(k);
        free(v);

        return "an unknown, repeated or empty query parameter "
               "(limit, cursor, tag, field.<member>)";
    }

    return NULL;
}


static int
md_list_fetch(md_list_t *ls)
{
    size_t  n;

    n = ls->limit + 1;

    if ((ls->tag != NULL || ls->nfields > 0) && n < MD_LIST_PAGE) {
        n = MD_LIST_PAGE;
    }

    return md_store_list(ls->type, ls->cursor, n, md_list_page, ls);
}


/*
 * A page: its docs are looked at in order until the answer is full;
 * when one is left over, or the page was full and the scan cap is
 * reached, the answer's next is the last id looked at.
 */

static void
md_list_page(int status, json_t *docs, void *data)
{
    size_t       i, asked;
    json_t      *doc, *res;
    md_list_t   *ls;
    const char  *id, *next;

    ls = data;

    if (status != 200) {
        gw_svc_reply_problem(ls->req, 503, "unavailable", "Unavailable",
                             "the store is unavailable");
        md_list_free(ls);
        return;
    }

    asked = ls->limit + 1;

    if ((ls->tag != NULL || ls->nfields > 0) && asked < MD_LIST_PAGE) {
        asked = MD_LIST_PAGE;
    }

    next = NULL;

    json_array_foreach(docs, i, doc) {
        if (json_array_size(ls->items) == ls->limit) {
            next = ls->cursor;
            break;
        }

        id = json_string_value(json_object_get(doc, "id"));

        if (id != NULL && md_id_valid(id, strlen(id))) {
            memcpy(ls->cursor, id, strlen(id) + 1);
        }

        ls->scanned++;

        if (md_list_match(ls, doc) && json_array_append(ls->items, doc) != 0)
        {
            json_decref(docs);
            gw_svc_reply_problem(ls->req, 503, "unavailable", "Unavailable",
                                 "out of memory");
            md_list_free(ls);
            return;
        }
    }

    if (next == NULL && json_array_size(docs) == asked
        && json_array_size(ls->items) < ls->limit)
    {
        if (ls->scanned < MD_LIST_SCAN) {
            json_decref(docs);

            if (md_list_fetch(ls) != 0) {
                gw_svc_reply_problem(ls->req, 503, "unavailable",
                                     "Unavailable", "out of memory");
                md_list_free(ls);
            }

            return;
        }

        next = ls->cursor;
    }

    if (next == NULL && json_array_size(docs) == asked
        && json_array_size(ls->items) == ls->limit)
    {
        next = ls->cursor;
    }

    json_decref(docs);

    res = json_pack("{s:O, s:s?}", "items", ls->items, "next", next);

    if (res == NULL) {
        gw_svc_reply_problem(ls->req, 503, "unavailable", "Unavailable",
                             "out of memory");

    } else {
        gw_svc_reply_json(ls->req, 200, res);
    }

    md_list_free(ls);
}


/*
 * 1 when doc passes the filters: tag is a member of its "tags" array;
 * each field's top-level member is the value as a string, or as the
 * JSON text of a number, true, false or null.
 */

static int
md_list_match(md_list_t *ls, json_t *doc)
{
    int          ok;
    char        *text;
    size_t       i;
    json_t      *v, *e;

    if (ls->tag != NULL) {
        ok = 0;

        json_array_foreach(json_object_get(doc, "tags"), i, e) {
            if (json_is_string(e) && strcmp(json_string_value(e), ls->tag)
                                     == 0)
            {
                ok = 1;
                break;
            }
        }

        if (!ok) {
            return 0;
        }
    }

    for (i = 0; i < ls->nfields; i++) {
        v = json_object_get(doc, ls->name[i]);

        if (json_is_string(v)) {
            if (strcmp(json_string_value(v), ls->value[i]) != 0) {
                return 0;
            }

            continue;
        }

        if (v == NULL || json_is_object(v) || json_is_array(v)) {
            return 0;
        }

        text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        ok = (text != NULL && strcmp(text, ls->value[i]) == 0);
        free(text);

        if (!ok) {
            return 0;
        }
    }

    return 1;
}
