
/*
 * Copyright (C) Tollgate
 *
 * The store's reads: one entity (HMGET), a page of a type (a script:
 * the ids after a cursor and their docs in one step, so a page never
 * holds an id whose entity went in between), and the snapshot (a
 * script: the revision and every type's docs at one instant).  A
 * stored doc is its JSON without "version", which each read adds from
 * the hash's v.  The callbacks own the docs they get (a new reference
 * each).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>

#include "metadata_store.h"


typedef struct {
    md_get_pt           get;
    md_list_pt          list;
    md_snapshot_pt      snapshot;
    void               *data;
    char                type[MD_TYPE_MAX + 3];
    char                id[MD_ID_MAX + 1];
} md_read_t;


static md_read_t *md_read_new(void *data);
static void md_get_done(redisAsyncContext *ac, void *r, void *data);
static void md_list_done(redisReply *reply, void *data);
static void md_snapshot_done(redisReply *reply, void *data);
static void md_read_corrupt(const char *type, const char *id);


json_t *
md_store_doc(const char *doc, size_t len, const char *v)
{
    char       *end;
    json_t     *o;
    long long   n;

    n = strtoll(v, &end, 10);
    if (*end != '\0' || n <= 0) {
        return NULL;
    }

    o = json_loadb(doc, len, 0, NULL);

    if (!json_is_object(o)
        || json_object_set_new(o, "version", json_integer(n)) != 0)
    {
        json_decref(o);
        return NULL;
    }

    return o;
}


static md_read_t *
md_read_new(void *data)
{
    md_read_t  *rd;

    rd = calloc(1, sizeof(md_read_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->data = data;

    return rd;
}


static void
md_read_corrupt(const char *type, const char *id)
{
    gw_svc_log(md.svc, GW_SVC_ERROR, NULL, "stored entity unreadable",
               json_pack("{s:s, s:o}", "type", type, "id",
                         gw_svc_json_string(id)));
}


int
md_store_get(md_type_t *t, const char *id, md_get_pt cb, void *data)
{
    md_read_t          *rd;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(md.svc);

    if (ac == NULL || md.stopped) {
        cb(503, NULL, 0, data);
        return 0;
    }

    rd = md_read_new(data);
    if (rd == NULL) {
        return -1;
    }

    rd->get = cb;
    snprintf(rd->type, sizeof(rd->type), "%s", md_type_name(t));
    snprintf(rd->id, sizeof(rd->id), "%s", id);

    if (redisAsyncCommand(ac, md_get_done, rd, "HMGET gw:md:e:%s:%s v doc",
                          rd->type, rd->id)
        != REDIS_OK)
    {
        free(rd);
        cb(503, NULL, 0, data);
    }

    return 0;
}


static void
md_get_done(redisAsyncContext *ac, void *r, void *data)
{
    json_t      *doc;
    md_read_t   *rd;
    redisReply  *reply, *v, *d;

    rd = data;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        if (reply != NULL) {
            md_read_corrupt(rd->type, rd->id);
        }

        rd->get(503, NULL, 0, rd->data);
        free(rd);
        return;
    }

    v = reply->element[0];
    d = reply->element[1];

    if (v->type != REDIS_REPLY_STRING || d->type != REDIS_REPLY_STRING) {
        rd->get(404, NULL, 0, rd->data);
        free(rd);
        return;
    }

    doc = md_store_doc(d->str, d->len, v->str);

    if (doc == NULL) {
        md_read_corrupt(rd->type, rd->id);
        rd->get(503, NULL, 0, rd->data);
        free(rd);
        return;
    }

    rd->get(200, doc, json_integer_value(json_object_get(doc, "version")),
            rd->data);
    free(rd);
}


int
md_store_list(md_type_t *t, const char *cursor, size_t limit,
    md_list_pt cb, void *data)
{
    char        count[32];
    size_t      lens[3];
    md_read_t  *rd;
    const char  *argv[3];

    rd = md_read_new(data);
    if (rd == NULL) {
        return -1;
    }

    rd->list = cb;
    snprintf(rd->type, sizeof(rd->type), "%s", md_type_name(t));
    snprintf(count, sizeof(count), "%zu", limit);

    argv[0] = rd->type;
    argv[1] = cursor;
    argv[2] = count;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = strlen(argv[2]);

    if (md_store_eval(&md_script_list, 3, argv, lens, md_list_done, rd)
        != 0)
    {
        free(rd);
        return -1;
    }

    return 0;
}


/* pairs of v and doc into an array of docs; NULL when one is unreadable */

static json_t *
md_read_docs(redisReply **el, size_t n, const char *type)
{
    size_t   i;
    json_t  *arr, *doc;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    for (i = 0; i + 1 < n; i += 2) {
        doc = NULL;

        if (el[i]->type == REDIS_REPLY_STRING
            && el[i + 1]->type == REDIS_REPLY_STRING)
        {
            doc = md_store_doc(el[i + 1]->str, el[i + 1]->len, el[i]->str);
        }

        if (doc == NULL || json_array_append_new(arr, doc) != 0) {
            md_read_corrupt(type, "");
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


static void
md_list_done(redisReply *reply, void *data)
{
    json_t     *docs;
    md_read_t  *rd;

    rd = data;
    docs = NULL;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
        docs = md_read_docs(reply->element, reply->elements, rd->type);
    }

    rd->list(docs != NULL ? 200 : 503, docs, rd->data);
    free(rd);
}


int
md_store_snapshot(md_snapshot_pt cb, void *data)
{
    md_read_t  *rd;

    rd = md_read_new(data);
    if (rd == NULL) {
        return -1;
    }

    rd->snapshot = cb;

    if (md_store_eval(&md_script_snapshot, 0, NULL, NULL, md_snapshot_done,
                      rd)
        != 0)
    {
        free(rd);
        return -1;
    }

    return 0;
}


static void
md_snapshot_done(redisReply *reply, void *data)
{
    char        *end;
    size_t       i, k;
    json_t      *snap, *ents, *docs;
    md_read_t   *rd;
    long long    rev, count;
    redisReply  *t, *c;

    rd = data;
    snap = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        goto done;
    }

    rev = strtoll(reply->element[0]->str, &end, 10);
    ents = json_object();
    snap = json_pack("{s:I, s:o}", "revision", (json_int_t) rev,
                     "entities", ents);

    if (*end != '\0' || snap == NULL) {
        json_decref(snap);
        snap = NULL;
        goto done;
    }

    for (i = 1; i + 1 < reply->elements; i += 2 + 2 * (size_t) count) {
        t = reply->element[i];
        c = reply->element[i + 1];

        if (t->type != REDIS_REPLY_STRING || c->type != REDIS_REPLY_INTEGER
            || c->integer < 0
            || (size_t) c->integer > (reply->elements - i - 2) / 2)
        {
            md_read_corrupt("", "");
            json_decref(snap);
            snap = NULL;
            goto done;
        }

        count = c->integer;
        k = (size_t) count * 2;

        docs = md_read_docs(reply->element + i + 2, k, t->str);

        if (docs == NULL || json_object_set_new(ents, t->str, docs) != 0) {
            json_decref(snap);
            snap = NULL;
            goto done;
        }
    }

done:

    rd->snapshot(snap != NULL ? 200 : 503, snap, rd->data);
    free(rd);
}
