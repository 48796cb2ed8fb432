
/*
 * Copyright (C) Tollgate
 *
 * The parsed definitions, cached (wf.h: wf_def_get, wf_def_release).
 *
 * A version never changes once stored, so a parsed one is good for the
 * life of the process: the cache keeps up to WF_DEF_CACHE of them by
 * name and version, the least recently used dropped first.  An entry is
 * counted: the cache holds one reference, each wf_def_get() one more
 * until its wf_def_release(); a dropped entry is freed by its last
 * release.  A miss loads the version from Redis (HGET), once however
 * many ask meanwhile: the askers wait on the entry and are all answered
 * by the one reply.
 */


#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


#define WF_DEF_CACHE      256


typedef struct wf_def_waiter_s  wf_def_waiter_t;

struct wf_def_waiter_s {
    wf_def_pt               done;
    void                   *data;
    wf_def_waiter_t        *next;
};


typedef struct wf_def_entry_s  wf_def_entry_t;

struct wf_def_entry_s {
    wf_def_t                def;        /* first: a wf_def_t * is one */
    unsigned                refs;
    unsigned                cached:1;
    unsigned                loading:1;
    wf_def_waiter_t        *waiters;
    wf_def_entry_t         *prev;       /* the LRU list, newest first */
    wf_def_entry_t         *next;
};


static void wf_def_unlink(wf_def_entry_t *e);
static void wf_def_free(wf_def_entry_t *e);
static void wf_def_loaded(redisAsyncContext *c, void *r, void *data);
static int wf_def_parse(wf_def_entry_t *e, const char *text, size_t len);


static wf_def_entry_t  *wf_def_head;
static wf_def_entry_t  *wf_def_tail;
static unsigned         wf_def_n;


static void
wf_def_unlink(wf_def_entry_t *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;

    } else {
        wf_def_head = e->next;
    }

    if (e->next != NULL) {
        e->next->prev = e->prev;

    } else {
        wf_def_tail = e->prev;
    }

    e->prev = NULL;
    e->next = NULL;
    e->cached = 0;
    wf_def_n--;
}


static void
wf_def_free(wf_def_entry_t *e)
{
    gw_asl_def_free(e->def.asl);
    free(e);
}


void
wf_def_release(wf_def_t *def)
{
    wf_def_entry_t  *e;

    if (def == NULL) {
        return;
    }

    e = (wf_def_entry_t *) def;

    if (--e->refs == 0) {
        wf_def_free(e);
    }
}


void
wf_def_get(const char *name, long long ver, wf_def_pt done, void *data)
{
    wf_def_entry_t      *e, *old;
    wf_def_waiter_t     *w;
    redisAsyncContext   *redis;

    if (ver <= 0 || strlen(name) > WF_NAME_MAX) {
        done(NULL, "no such definition", data);
        return;
    }

    for (e = wf_def_head; e != NULL; e = e->next) {
        if (e->def.version == ver && strcmp(e->def.name, name) == 0) {
            break;
        }
    }

    if (e == NULL) {
        e = calloc(1, sizeof(wf_def_entry_t));
        if (e == NULL) {
            done(NULL, "out of memory", data);
            return;
        }

        strcpy(e->def.name, name);
        e->def.version = ver;
        e->refs = 1;
        e->loading = 1;

        redis = gw_svc_redis(wf.svc);

        if (redis == NULL
            || redisAsyncCommand(redis, wf_def_loaded, e,
                                 "HGET gw:wf:def:%s %lld", name, ver)
               != REDIS_OK)
        {
            free(e);
            done(NULL, "the store is unreachable", data);
            return;
        }

        /* the cache's reference: taken now, dropped when evicted */
        e->cached = 1;
        wf_def_n++;

        while (wf_def_n > WF_DEF_CACHE && wf_def_tail != NULL
               && !wf_def_tail->loading)
        {
            old = wf_def_tail;
            wf_def_unlink(old);
            wf_def_release(&old->def);
        }

    } else {
        wf_def_unlink(e);
        e->cached = 1;
        wf_def_n++;
    }

    e->next = wf_def_head;
    e->prev = NULL;

    if (wf_def_head != NULL) {
        wf_def_head->prev = e;

    } else {
        wf_def_tail = e;
    }

    wf_def_head = e;

    if (!e->loading) {
        e->refs++;
        done(&e->def, NULL, data);
        return;
    }

    w = malloc(sizeof(wf_def_waiter_t));
    if (w == NULL) {
        done(NULL, "out of memory", data);
        return;
    }

    w->done = done;
    w->data = data;
    w->next = e->waiters;
    e->waiters = w;
}


static int
wf_def_parse(wf_def_entry_t *e, const char *text, size_t len)
{
    char          *asl_text;
    json_t        *doc, *def, *comp;
    gw_asl_err_t   err;

    doc = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    if (doc == NULL) {
        return -1;
    }

    def = json_object_get(doc, "definition");
    comp = json_object_get(doc, "compensation");

    asl_text = json_dumps(def, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (asl_text == NULL) {
        json_decref(doc);
        return -1;
    }

    e->def.asl = gw_asl_def_parse(asl_text, strlen(asl_text), &err);
    free(asl_text);

    if (e->def.asl == NULL) {
        json_decref(doc);
        return -1;
    }

    e->def.compensation = NULL;

    if (json_is_string(comp)) {
        /* the name as the parsed definition holds it, living as long */
        gw_asl_state_t  *st;

        st = gw_asl_state_find(e->def.asl->top, json_string_value(comp));
        e->def.compensation = (st != NULL) ? st->name : NULL;
    }

    json_decref(doc);

    return 0;
}


static void
wf_def_loaded(redisAsyncContext *c, void *r, void *data)
{
    wf_def_entry_t  *e = data;

    const char       *err;
    redisReply       *reply = r;
    wf_def_waiter_t  *w, *next;

    e->loading = 0;
    err = NULL;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        err = "the store is unreachable";

    } else if (reply->type != REDIS_REPLY_STRING) {
        err = "no such definition";

    } else if (wf_def_parse(e, reply->str, reply->len) != 0) {
        err = "the stored definition does not parse";
    }

    w = e->waiters;
    e->waiters = NULL;

    /* held while the waiters run: one of them may release the last */
    e->refs++;

    if (err != NULL && e->cached) {
        wf_def_unlink(e);
        e->refs--;
    }

    for ( /* void */ ; w != NULL; w = next) {
        next = w->next;

        if (err == NULL) {
            e->refs++;
            w->done(&e->def, NULL, w->data);

        } else {
            w->done(NULL, err, w->data);
        }

        free(w);
    }

    wf_def_release(&e->def);
}


/* the machine at pointer: "" the top, else a branch or processor's */

static gw_asl_machine_t *
wf_def_find(gw_asl_machine_t *m, const char *pointer)
{
    size_t             i, j;
    gw_asl_state_t    *st;
    gw_asl_machine_t  *found;

    if (strcmp(m->pointer, pointer) == 0) {
        return m;
    }

    for (i = 0; i < m->nstates; i++) {
        st = &m->states[i];

        for (j = 0; j < st->nbranches; j++) {
            found = wf_def_find(st->branches[j], pointer);
            if (found != NULL) {
                return found;
            }
        }

        if (st->processor != NULL) {
            found = wf_def_find(st->processor, pointer);
            if (found != NULL) {
                return found;
            }
        }
    }

    return NULL;
}


gw_asl_machine_t *
wf_def_machine(wf_def_t *def, const char *pointer)
{
    if (def == NULL || def->asl == NULL || pointer == NULL) {
        return NULL;
    }

    return wf_def_find(def->asl->top, pointer);
}
