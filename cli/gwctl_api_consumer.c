
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


static int gwctl_api_consumer_add(gwctl_t *ctl,
    const gwctl_consumer_spec_t *cs);
static int gwctl_api_consumer_rec(gwctl_t *ctl, gwctl_page_t *page,
    gwctl_consumer_rec_t *c, json_t *e);
static int gwctl_api_consumer_get(gwctl_t *ctl, const char *id,
    gwctl_page_t *page);
static int gwctl_api_consumer_list(gwctl_t *ctl, const char *cursor,
    size_t limit, gwctl_page_t *page);
static int gwctl_api_consumer_set(gwctl_t *ctl, const char *id,
    const char *field, const char *value, const char *same);


const gwctl_consumer_ops_t  gwctl_api_consumer_ops = {
    gwctl_api_consumer_add,
    gwctl_api_consumer_get,
    gwctl_api_consumer_list,
    gwctl_api_consumer_set
};


static int
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
 * joined by commas into a buffer of the page, its keys counted
 * (gwctl_api_count()).
 */

static int
gwctl_api_consumer_rec(gwctl_t *ctl, gwctl_page_t *page,
    gwctl_consumer_rec_t *c, json_t *e)
{
    char        *p;
    size_t       i, len;
    json_t      *tags, *v;
    const char  *s;

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

    p = gwctl_page_buf(ctl, page, malloc(len));
    if (p == NULL) {
        return -1;
    }

    c->tags = p;
    *p = '\0';

    json_array_foreach(tags, i, v) {
        s = json_string_value(v);
        p += sprintf(p, "%s%s", i ? "," : "", s != NULL ? s : "");
    }

    return gwctl_api_count(ctl, c->id, &c->keys);
}


/*
 * Reads the consumers at path (what for the messages) into page: the
 * answer's "items" (one when one is true: the answer is the entity)
 * and its "next".
 */

static int
gwctl_api_consumer_read(gwctl_t *ctl, const char *what, const char *path,
    int one, gwctl_page_t *page)
{
    size_t                 i;
    json_t                *items, *e;
    gwctl_consumer_rec_t  *c;

    items = gwctl_api_items(ctl, what, path, one, page,
                            sizeof(gwctl_consumer_rec_t));
    if (items == NULL) {
        return -1;
    }

    c = page->items;

    json_array_foreach(items, i, e) {
        if (gwctl_api_consumer_rec(ctl, page, &c[i], e) != 0) {
            json_decref(items);
            gwctl_page_free(page);
            return -1;
        }

        page->n++;
    }

    json_decref(items);

    return 0;
}


static int
gwctl_api_consumer_get(gwctl_t *ctl, const char *id, gwctl_page_t *page)
{
    char  path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);
    snprintf(what, sizeof(what), "consumer %s", id);

    return gwctl_api_consumer_read(ctl, what, path, 1, page);
}


static int
gwctl_api_consumer_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_page_t *page)
{
    char  path[GWCTL_PATH_MAX];

    if (gwctl_api_query(ctl, "consumer list", "/v1/consumers?", limit,
                        cursor, path, sizeof(path)) != 0)
    {
        return -1;
    }

    return gwctl_api_consumer_read(ctl, "consumer list", path, 0, page);
}


/* sets member field to value (NULL: removes it) of consumer id */

static int
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
