
/*
 * Copyright (C) Tollgate
 *
 * The consumers of gwctl's admin API store (gwctl_consumer.c parses and
 * prints): the consumer entity /v1/consumers/<id>.  add creates it with
 * If-None-Match: *; a change reads it and patches one member
 * (gwctl_api_patch()).  An entity is read into the record the Redis
 * store reads, its tags joined by commas.
 */


#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


/* a page's answer, freed with it */
typedef struct {
    gwctl_http_t    res;
} gwctl_api_consumer_t;


static int gwctl_api_consumer_rec(gwctl_t *ctl, gwctl_consumer_rec_t *c,
    json_t *e);


int
gwctl_api_consumer_add(gwctl_t *ctl, const gwctl_consumer_spec_t *cs)
{
    int           rc;
    char          path[GWCTL_PATH_MAX], *t, *p, *comma;
    json_t       *body, *tags;
    gwctl_http_t  res;

    tags = json_array();
    body = json_pack("{s:s,s:s,s:o}", "name", cs->name, "status",
                     GW_MODEL_ACTIVE, "tags", tags);
    t = cs->tags != NULL ? strdup(cs->tags) : NULL;

    rc = -1;

    if (body == NULL || (cs->tags != NULL && t == NULL)
        || (cs->plan != NULL
            && json_object_set_new(body, "plan", json_string(cs->plan))
               != 0))
    {
        gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
        goto done;
    }

    for (p = t; p != NULL && *p != '\0'; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }

        if (json_array_append_new(tags, json_string(p)) != 0) {
            gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
            goto done;
        }
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", cs->id);

    if (gwctl_api_json(ctl, "PUT", path, body, NULL, NULL, "*", &res) != 0) {
        goto done;
    }

    if (res.status == 412) {
        gwctl_fail(ctl, GWCTL_STATE, "consumer %s already exists", cs->id);

    } else if (res.status != 200 && res.status != 201) {
        gwctl_api_fail(ctl, "consumer add", &res);

    } else {
        rc = 0;
    }

    gwctl_http_free(&res);

done:

    free(t);
    json_decref(body);

    return rc;
}


/*
 * A consumer entity e as a record: its strings borrowed, its tags
 * joined by commas into c->own, its keys counted (gwctl_api_count()).
 */

static int
gwctl_api_consumer_rec(gwctl_t *ctl, gwctl_consumer_rec_t *c, json_t *e)
{
    char        *p;
    size_t       i, len;
    json_t      *tags, *v;
    const char  *s;

    memset(c, 0, sizeof(gwctl_consumer_rec_t));

    c->id = gwctl_api_str(e, "id");
    c->name = gwctl_api_str(e, "name");
    c->status = gwctl_api_str(e, "status");
    c->plan = gwctl_api_str(e, "plan");
    c->created = gwctl_api_time(json_object_get(e, "created_at"));
    c->created_set = (c->created >= 0);

    tags = json_object_get(e, "tags");
    len = 1;

    json_array_foreach(tags, i, v) {
        s = json_string_value(v);
        len += (s != NULL ? strlen(s) : 0) + 1;
    }

    c->own = malloc(len);
    if (c->own == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    p = c->own;

    json_array_foreach(tags, i, v) {
        s = json_string_value(v);
        s = (s != NULL) ? s : "";
        p += sprintf(p, "%s%s", i ? "," : "", s);
    }

    *p = '\0';
    c->tags = c->own;

    return gwctl_api_count(ctl, c->id, &c->keys);
}


int
gwctl_api_consumer_get(gwctl_t *ctl, const char *id,
    gwctl_consumer_page_t *page)
{
    char                   path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    gwctl_api_consumer_t  *d;

    memset(page, 0, sizeof(gwctl_consumer_page_t));

    d = calloc(1, sizeof(gwctl_api_consumer_t));
    page->items = calloc(1, sizeof(gwctl_consumer_rec_t));
    page->data = d;

    if (d == NULL || page->items == NULL) {
        gwctl_api_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);
    snprintf(what, sizeof(what), "consumer %s", id);

    if (gwctl_api_get(ctl, what, path, &d->res) != 0) {
        page->data = NULL;
        free(d);
        gwctl_api_consumer_free(page);
        return -1;
    }

    page->n = 1;

    if (gwctl_api_consumer_rec(ctl, &page->items[0], d->res.json) != 0) {
        gwctl_api_consumer_free(page);
        return -1;
    }

    return 0;
}


int
gwctl_api_consumer_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_consumer_page_t *page)
{
    char                   path[GWCTL_PATH_MAX];
    char                   buf[GWCTL_CURSOR_MAX * 3];
    size_t                 i;
    json_t                *items, *c;
    const char            *s;
    gwctl_api_consumer_t  *d;

    memset(page, 0, sizeof(gwctl_consumer_page_t));

    if (cursor != NULL
        && gwctl_api_cursor(ctl, "consumer list", cursor, buf, sizeof(buf))
           != 0)
    {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/consumers?limit=%zu%s%s", limit,
             cursor ? "&cursor=" : "", cursor ? buf : "");

    d = calloc(1, sizeof(gwctl_api_consumer_t));
    if (d == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    if (gwctl_api_get(ctl, "consumer list", path, &d->res) != 0) {
        free(d);
        return -1;
    }

    page->data = d;
    items = json_object_get(d->res.json, "items");

    page->items = calloc(json_array_size(items) + 1,
                         sizeof(gwctl_consumer_rec_t));
    if (page->items == NULL) {
        gwctl_api_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    json_array_foreach(items, i, c) {
        page->n++;

        if (gwctl_api_consumer_rec(ctl, &page->items[i], c) != 0) {
            gwctl_api_consumer_free(page);
            return -1;
        }
    }

    s = json_string_value(json_object_get(d->res.json, "next"));

    if (s != NULL && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz"
                               "0123456789-._~") == strlen(s))
    {
        page->next = s;
    }

    return 0;
}


void
gwctl_api_consumer_free(gwctl_consumer_page_t *page)
{
    size_t                 i;
    gwctl_api_consumer_t  *d;

    for (i = 0; i < page->n; i++) {
        free(page->items[i].own);
    }

    d = page->data;

    if (d != NULL) {
        gwctl_http_free(&d->res);
        free(d);
    }

    free(page->items);
    memset(page, 0, sizeof(gwctl_consumer_page_t));
}


/* sets member field to value (NULL: removes it) of consumer id */

int
gwctl_api_consumer_set(gwctl_t *ctl, const char *id, const char *field,
    const char *value, const char *same)
{
    int      rc;
    char     path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    json_t  *v;

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);
    snprintf(what, sizeof(what), "consumer %s", id);

    v = (value != NULL) ? json_string(value) : json_null();
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, field, v, same, what);
    json_decref(v);

    return rc;
}
