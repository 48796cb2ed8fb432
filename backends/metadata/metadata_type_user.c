
/*
 * Copyright (C) Tollgate
 *
 * The user-defined types' cache.  A type is an entity of storage type
 * "types" (id: the type's name; data: {"schema": ...}); its entities
 * are of storage type "u.<name>".  Every instance keeps every type
 * compiled, so that validating an entity never waits for Redis.
 *
 * The cache follows Redis, not the other way round: it is loaded as the
 * loop starts and loaded again after every commit of any instance, told
 * by gw:md:changed, which it subscribes to with the kit's
 * gw_svc_subscribe() (a connection of its own, reconnected every
 * redis_retry).  A load is one script on the kit's connection that
 * answers, for every type, its version, and its document only when the
 * version is not the one cached: a commit that changed no type costs one
 * short round trip and compiles nothing.  Loads never overlap: one asked
 * for during another runs after it.  Messages published while
 * unsubscribed are lost, so every (re)subscription loads again, and a
 * load that failed (Redis down) is retried every redis_retry.
 * This instance's own PUT and DELETE of a type update the cache at once
 * (metadata_type_http.c); another instance's are seen within a round
 * trip of its commit.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_type_int.h"


#define MD_CHANGED  "gw:md:changed"


static void md_user_tick(evutil_socket_t fd, short what, void *arg);
static void md_user_subscribed(gw_svc_t *svc, int up, void *data);
static void md_user_message(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data);
static void md_user_load(void);
static void md_user_loaded(redisAsyncContext *ac, void *r, void *data);
static void md_user_entry(redisReply *e);
static void md_user_fresh(md_type_t *t);


/*
 * ARGV: the cached types' names and versions, in pairs.  The answer:
 * {name, version} for a type cached at that version, {name, version,
 * doc} for any other.
 */
static const char  md_user_script[] =
    "local known = {}\n"
    "for i = 1, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end\n"
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', 'gw:md:ix:types', 0, -1)) do\n"
    "  local h = redis.call('HMGET', 'gw:md:e:types:' .. id, 'v', 'doc')\n"
    "  if h[1] then\n"
    "    if known[id] == h[1] then\n"
    "      out[#out + 1] = {id, h[1]}\n"
    "    else\n"
    "      out[#out + 1] = {id, h[1], h[2] or ''}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";


static md_type_t           *md_user_types;
static gw_svc_sub_t        *md_user_sub;
static struct event        *md_user_timer;
static int                  md_user_busy;       /* a load in flight */
static int                  md_user_again;      /* a load wanted */
static int                  md_user_stopped;


md_type_t *
md_type_user_find(const char *name)
{
    md_type_t  *t;

    for (t = md_user_types; t != NULL; t = t->next) {
        if (strcmp(t->name + 2, name) == 0) {
            return t;
        }
    }

    return NULL;
}


size_t
md_type_user_count(void)
{
    size_t      n;
    md_type_t  *t;

    n = 0;

    for (t = md_user_types; t != NULL; t = t->next) {
        n += !t->gone;
    }

    return n;
}


int
md_type_user_install(const char *name, long long version, json_t *doc)
{
    char              *text, etag[48];
    md_type_t         *t;
    gw_schema_t       *s;
    gw_schema_cerr_t   cerr;

    t = md_type_user_find(name);

    if (doc == NULL) {
        if (t != NULL) {
            t->gone = 1;
            t->version = 0;
            md_user_fresh(t);
        }

        return 0;
    }

    if (t != NULL && !t->gone && t->version == version) {
        return 0;
    }

    if (md_type_compile(doc, 0, &s, &cerr) != 0) {
        gw_svc_log(md.svc, GW_SVC_ERROR, NULL,
                   "a stored type does not compile",
                   json_pack("{s:s, s:s, s:s}", "type", name,
                             "pointer", cerr.pointer,
                             "error", cerr.message));
        return -1;
    }

    text = json_dumps(doc, JSON_INDENT(4) | JSON_ENCODE_ANY);

    if (text == NULL || md_type_etag(text, strlen(text), etag) != 0) {
        goto nomem;
    }

    if (t == NULL) {
        t = calloc(1, sizeof(md_type_t));
        if (t == NULL) {
            goto nomem;
        }

        snprintf(t->name, sizeof(t->name), "u.%s", name);
        t->kind = MD_T_USER;
        t->next = md_user_types;
        md_user_types = t;
    }

    /* nothing holds the old schema: it is used only synchronously */

    gw_schema_free(t->schema);
    json_decref(t->doc);
    free(t->text);

    t->schema = s;
    t->doc = json_incref(doc);
    t->text = text;
    t->len = strlen(text);
    memcpy(t->etag, etag, sizeof(etag));
    t->version = version;
    t->gone = 0;
    md_user_fresh(t);

    return 0;

nomem:

    free(text);
    gw_schema_free(s);
    gw_svc_log(md.svc, GW_SVC_ERROR, NULL, "out of memory", NULL);

    return -1;
}


/*
 * A change made here while a load is in flight: that load may have read
 * Redis before it, so it does not overrule the change (a type it does
 * not name stays, a type it names is left as is), and another load
 * follows.
 */

static void
md_user_fresh(md_type_t *t)
{
    if (md_user_busy) {
        t->fresh = 1;
        md_user_again = 1;
    }
}


/* ---- following Redis ---------------------------------------------------- */


void
md_type_start(struct event_base *base)
{
    long long       ms;
    struct timeval  tv;

    md_user_stopped = 0;

    md_user_timer = event_new(base, -1, EV_PERSIST, md_user_tick, NULL);
    md_user_sub = gw_svc_subscribe(md.svc, MD_CHANGED, md_user_message,
                                   md_user_subscribed, NULL);

    if (md_user_timer == NULL || md_user_sub == NULL) {
        gw_svc_log(md.svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", md_user_sub == NULL
                                               ? gw_svc_error(md.svc)
                                               : "no timer for the types"));
        return;
    }

    ms = gw_svc_conf_int(md.svc, "redis_retry");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    event_add(md_user_timer, &tv);

    md_user_again = 1;
}


void
md_type_stop(void)
{
    md_user_stopped = 1;

    if (md_user_timer != NULL) {
        event_free(md_user_timer);
        md_user_timer = NULL;
    }

    gw_svc_sub_free(md_user_sub);
    md_user_sub = NULL;
}


/* a load that failed (Redis down) is tried again */

static void
md_user_tick(evutil_socket_t fd, short what, void *arg)
{
    if (!md_user_stopped && md_user_again && !md_user_busy) {
        md_user_load();
    }
}


/*
 * Subscribed (again: commits may have been missed meanwhile), or one
 * commit (its text, the revision, is not needed: the load compares
 * versions): either loads the types again.
 */

static void
md_user_subscribed(gw_svc_t *svc, int up, void *data)
{
    if (up) {
        md_user_message(svc, MD_CHANGED, "", 0, data);
    }
}


static void
md_user_message(gw_svc_t *svc, const char *channel, const char *text,
    size_t len, void *data)
{
    if (md_user_stopped) {
        return;
    }

    md_user_again = 1;

    if (!md_user_busy) {
        md_user_load();
    }
}


static void
md_user_load(void)
{
    int                 argc;
    char              **argv, (*vers)[24];
    size_t              n, i;
    md_type_t          *t;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(md.svc);

    if (ac == NULL) {
        md_user_again = 1;              /* the timer tries again */
        return;
    }

    n = 0;

    for (t = md_user_types; t != NULL; t = t->next) {
        n += !t->gone;
    }

    argv = malloc((3 + 2 * n) * sizeof(char *));
    vers = malloc((n + 1) * sizeof(*vers));

    if (argv == NULL || vers == NULL) {
        free(argv);
        free(vers);
        md_user_again = 1;
        return;
    }

    argv[0] = "EVAL";
    argv[1] = (char *) md_user_script;
    argv[2] = "0";
    argc = 3;
    i = 0;

    for (t = md_user_types; t != NULL; t = t->next) {
        if (t->gone) {
            continue;
        }

        snprintf(vers[i], sizeof(vers[i]), "%lld", t->version);
        argv[argc++] = t->name + 2;
        argv[argc++] = vers[i++];
    }

    if (redisAsyncCommandArgv(ac, md_user_loaded, NULL, argc,
                              (const char **) argv, NULL)
        == REDIS_OK)
    {
        md_user_busy = 1;
        md_user_again = 0;
    }

    free(argv);
    free(vers);
}


static void
md_user_loaded(redisAsyncContext *ac, void *r, void *data)
{
    size_t       i;
    md_type_t   *t;
    redisReply  *reply;

    reply = r;
    md_user_busy = 0;

    if (md_user_stopped) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        gw_svc_log(md.svc, GW_SVC_WARN, NULL, "cannot load the types",
                   json_pack("{s:s}", "error",
                             (reply != NULL
                              && reply->type == REDIS_REPLY_ERROR)
                             ? reply->str : "no connection"));
        md_user_again = 1;
        return;
    }

    for (t = md_user_types; t != NULL; t = t->next) {
        t->seen = 0;
    }

    for (i = 0; i < reply->elements; i++) {
        md_user_entry(reply->element[i]);
    }

    /* a type no longer in Redis was deleted */

    for (t = md_user_types; t != NULL; t = t->next) {
        if (!t->seen && !t->gone && !t->fresh) {
            t->gone = 1;
            t->version = 0;
        }

        t->fresh = 0;
    }

    if (md_user_again) {
        md_user_load();
    }
}


/* {name, version} or {name, version, doc}: see md_user_script */

static void
md_user_entry(redisReply *e)
{
    json_t        *doc;
    md_type_t     *t;
    long long      version;
    json_error_t   jerr;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[1]->type != REDIS_REPLY_STRING
        || !md_type_name_valid(e->element[0]->str, e->element[0]->len))
    {
        return;
    }

    version = strtoll(e->element[1]->str, NULL, 10);
    t = md_type_user_find(e->element[0]->str);

    if (t != NULL && (e->elements == 2 || t->fresh)) {
        t->seen = 1;
        return;
    }

    if (e->elements == 2) {
        return;
    }

    if (e->element[2]->type != REDIS_REPLY_STRING) {
        return;
    }

    doc = json_loadb(e->element[2]->str, e->element[2]->len, 0, &jerr);

    if (doc == NULL || json_object_get(doc, "schema") == NULL) {
        gw_svc_log(md.svc, GW_SVC_ERROR, NULL, "a stored type is not JSON",
                   json_pack("{s:s}", "type", e->element[0]->str));
        json_decref(doc);
        return;
    }

    if (md_type_user_install(e->element[0]->str, version,
                             json_object_get(doc, "schema"))
        == 0)
    {
        t = md_type_user_find(e->element[0]->str);

        if (t != NULL) {
            t->seen = 1;
        }
    }

    json_decref(doc);
}
