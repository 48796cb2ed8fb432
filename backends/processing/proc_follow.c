
/*
 * Copyright (C) Tollgate
 *
 * Pipelines from the metadata service (pipelines_from = metadata or
 * both): the entities of its built-in "pipelines" type, read from Redis
 * as every follower of it reads (gw:md:ix:pipelines, the index, and
 * gw:md:e:pipelines:<id>, a hash whose "doc" is the entity's JSON with
 * its meta members), and followed without a restart.
 *
 * A load is one script on the kit's connection answering, for every
 * entity, its version, and its document only when the version is not one
 * we run or refused already.  It runs as the loop starts, on every
 * gw:md:changed message (gw_svc_subscribe: a connection of its own) and
 * at every (re)subscription, since messages sent while unsubscribed are
 * lost; a load that failed (Redis down) is tried again every tick.
 * Loads never overlap: one asked for during another runs after it.
 *
 * What a load changes, per name:
 *
 *   - a new entity: its pipeline is built (schema, Lua compiled, sinks)
 *     and takes leases at the next lease run;
 *   - a changed one: the new version is built first; refused, it is
 *     logged with its pointer and the running version stays; built, the
 *     running version is retired and the new one waits for it to end;
 *   - a deleted one: retired, giving its leases up; with both sources,
 *     a file of that name runs again (the entity wins over a file
 *     while it exists).
 *
 * Retiring: the tasks are given up at once (no more reads); a batch in
 * flight finishes (its commit, its XACK).  Once no task is busy and no
 * lease run is in flight, one last command goes on the kit's connection
 * (the release script, or a PING when the leases are to be renewed by
 * the next version): its reply comes after every earlier reply, so then
 * nothing refers to the pipeline and it is freed, and a version waiting
 * for it starts.  The consumer group and the sinks' positions are in
 * Redis, so the next version goes on where this one stopped: nothing is
 * skipped nor run twice.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


#define PROC_MD_CHANGED  "gw:md:changed"


static void proc_follow_subscribed(gw_svc_t *svc, int up, void *data);
static void proc_follow_message(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data);
static void proc_follow_load(void);
static void proc_follow_loaded(redisAsyncContext *ac, void *r, void *data);
static void proc_follow_apply(redisReply *reply);
static int proc_follow_listed(redisReply *reply, const char *id);
static void proc_follow_entity(const char *id, long long version,
    const char *text, size_t len);
static void proc_follow_gone(proc_pipeline_t *pl);
static void proc_follow_install(proc_pipeline_t *pl);
static void proc_follow_retire(proc_pipeline_t *pl, int release);
static void proc_follow_close(proc_pipeline_t *pl);
static void proc_follow_closed(redisAsyncContext *ac, void *r, void *data);
static proc_pipeline_t *proc_follow_running(const char *name, size_t *at);
static proc_pipeline_t *proc_follow_waiting(const char *name);
static void proc_follow_log(proc_pipeline_t *pl, const char *msg);


/*
 * ARGV: the versions we know, in (id, version) pairs.  The answer:
 * {id, version} for one known at that version, {id, version, doc} for
 * any other.
 */
static const char  proc_follow_script[] =
    "local known = {}\n"
    "for i = 1, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end\n"
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', 'gw:md:ix:pipelines', 0, -1))"
    " do\n"
    "  local h = redis.call('HMGET', 'gw:md:e:pipelines:' .. id, 'v', 'doc')\n"
    "  if h[1] then\n"
    "    if known[id] == h[1] then\n"
    "      out[#out + 1] = {id, h[1]}\n"
    "    else\n"
    "      out[#out + 1] = {id, h[1], h[2] or ''}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: the instances zset, then the owner keys; ARGV[1]: us */
static const char  proc_release_script[] =
    "for i = 2, #KEYS do\n"
    "  if redis.call('GET', KEYS[i]) == ARGV[1] then\n"
    "    redis.call('DEL', KEYS[i])\n"
    "  end\n"
    "end\n"
    "redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* the entity's meta members, which are not the pipeline's */
static const char  *proc_follow_meta[] = {
    "id", "version", "created_at", "updated_at", "created_by", "updated_by",
    NULL
};


static gw_svc_sub_t  *proc_follow_sub;
static json_t        *proc_follow_refused;  /* id -> version refused */
static int            proc_follow_busy;     /* a load in flight */
static int            proc_follow_again;    /* a load wanted */


int
proc_follow_start(void)
{
    size_t            i;
    json_t           *f;
    proc_pipeline_t  *pl;

    proc_follow_refused = json_object();
    proc.files = json_object();

    if (proc_follow_refused == NULL || proc.files == NULL) {
        return -1;
    }

    /* what runs now came from files: what a deleted entity gives back */

    for (i = 0; i < proc.npipelines; i++) {
        pl = proc.pipelines[i];
        f = json_pack("{s:s, s:O}", "file", pl->file, "doc", pl->src);

        if (f == NULL || json_object_set_new(proc.files, pl->name, f) != 0) {
            return -1;
        }
    }

    proc_follow_sub = gw_svc_subscribe(proc.svc, PROC_MD_CHANGED,
                                       proc_follow_message,
                                       proc_follow_subscribed, NULL);
    if (proc_follow_sub == NULL) {
        return -1;
    }

    proc_follow_again = 1;

    return 0;
}


void
proc_follow_stop(void)
{
    gw_svc_sub_free(proc_follow_sub);
    proc_follow_sub = NULL;
    json_decref(proc_follow_refused);
    proc_follow_refused = NULL;
    json_decref(proc.files);
    proc.files = NULL;
}


void
proc_follow_tick(void)
{
    proc_pipeline_t  *pl, *next;

    if (proc.stopped) {
        return;
    }

    if ((proc.from & PROC_FROM_MD) && proc_follow_again
        && !proc_follow_busy)
    {
        proc_follow_load();
    }

    /* proc_follow_close() may free pl, and only pl */

    for (pl = proc.retiring; pl != NULL; pl = next) {
        next = pl->next;

        if (!pl->closing) {
            proc_follow_close(pl);
        }
    }
}


/* subscribed (again: changes may have been missed), or one change */

static void
proc_follow_subscribed(gw_svc_t *svc, int up, void *data)
{
    if (up) {
        proc_follow_message(svc, PROC_MD_CHANGED, "", 0, data);
    }
}


static void
proc_follow_message(gw_svc_t *svc, const char *channel, const char *text,
    size_t len, void *data)
{
    if (proc.stopped) {
        return;
    }

    proc_follow_again = 1;

    if (!proc_follow_busy) {
        proc_follow_load();
    }
}


static void
proc_follow_load(void)
{
    int                 argc;
    char              **argv, (*vers)[24];
    size_t              n, i;
    json_t             *v;
    const char         *id;
    proc_pipeline_t    *pl;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        proc_follow_again = 1;          /* the tick tries again */
        return;
    }

    n = proc.npipelines + json_object_size(proc_follow_refused);

    for (pl = proc.waiting; pl != NULL; pl = pl->next) {
        n++;
    }

    argv = malloc((3 + 2 * n) * sizeof(char *));
    vers = malloc((n + 1) * sizeof(*vers));

    if (argv == NULL || vers == NULL) {
        free(argv);
        free(vers);
        proc_follow_again = 1;
        return;
    }

    argv[0] = "EVAL";
    argv[1] = (char *) proc_follow_script;
    argv[2] = "0";
    argc = 3;
    i = 0;

    /* the versions we run (a waiting one is the newer) or refused */

    for (i = 0; i < proc.npipelines; i++) {
        pl = proc.pipelines[i];

        if (pl->from_md && proc_follow_waiting(pl->name) == NULL) {
            snprintf(vers[i], sizeof(vers[i]), "%lld", pl->version);
            argv[argc++] = pl->name;
            argv[argc++] = vers[i];
        }
    }

    for (pl = proc.waiting; pl != NULL; pl = pl->next) {
        if (pl->from_md) {
            snprintf(vers[i], sizeof(vers[i]), "%lld", pl->version);
            argv[argc++] = pl->name;
            argv[argc++] = vers[i++];
        }
    }

    json_object_foreach(proc_follow_refused, id, v) {
        snprintf(vers[i], sizeof(vers[i]), "%lld", json_integer_value(v));
        argv[argc++] = (char *) id;
        argv[argc++] = vers[i++];
    }

    if (redisAsyncCommandArgv(ac, proc_follow_loaded, NULL, argc,
                              (const char **) argv, NULL)
        == REDIS_OK)
    {
        proc_follow_busy = 1;
        proc_follow_again = 0;

    } else {
        proc_follow_again = 1;
    }

    free(argv);
    free(vers);
}


static void
proc_follow_loaded(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    proc_follow_busy = 0;

    if (proc.stopped) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL,
                   "cannot read the pipelines entities",
                   json_pack("{s:o}", "error", gw_svc_json_string(
                       reply != NULL && reply->type == REDIS_REPLY_ERROR
                       ? reply->str : "no reply")));
        proc_follow_again = 1;
        return;
    }

    proc_follow_apply(reply);
    proc.md_loaded = 1;

    if (proc_follow_again) {
        proc_follow_load();
    }
}


/* the entities as one load answered them, against what runs */

static void
proc_follow_apply(redisReply *reply)
{
    void             *tmp;
    size_t            i;
    json_t           *v;
    redisReply       *e;
    const char       *id;
    proc_pipeline_t  *pl, *w, *r, **prev;

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type == REDIS_REPLY_ARRAY && e->elements == 3
            && e->element[0]->type == REDIS_REPLY_STRING
            && e->element[1]->type == REDIS_REPLY_STRING
            && e->element[2]->type == REDIS_REPLY_STRING)
        {
            proc_follow_entity(e->element[0]->str,
                               strtoll(e->element[1]->str, NULL, 10),
                               e->element[2]->str, e->element[2]->len);
        }
    }

    /* an entity gone: its pipeline (running or waiting) goes too */

    for (prev = &proc.waiting, w = *prev; w != NULL; w = *prev) {
        if (!w->from_md || proc_follow_listed(reply, w->name)) {
            prev = &w->next;
            continue;
        }

        *prev = w->next;
        proc_follow_log(w, "pipeline removed");
        proc_follow_gone(w);

        /* nothing follows the version retiring: its leases go */

        for (r = proc.retiring; r != NULL; r = r->next) {
            if (strcmp(r->name, w->name) == 0 && !r->closing
                && proc_follow_waiting(w->name) == NULL)
            {
                r->release = 1;
            }
        }

        proc_pipeline_free(w);
    }

    for (i = 0; i < proc.npipelines; /* void */) {
        pl = proc.pipelines[i];

        if (!pl->from_md || proc_follow_listed(reply, pl->name)) {
            i++;
            continue;
        }

        proc_follow_log(pl, "pipeline removed");
        proc_follow_retire(pl, 1);
        proc_follow_gone(pl);
    }

    /* the refusals of entities gone are forgotten */

    json_object_foreach_safe(proc_follow_refused, tmp, id, v) {
        if (!proc_follow_listed(reply, id)) {
            json_object_del(proc_follow_refused, id);
        }
    }
}


static int
proc_follow_listed(redisReply *reply, const char *id)
{
    size_t       i;
    redisReply  *e;

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 2
            && e->element[0]->type == REDIS_REPLY_STRING
            && strcmp(e->element[0]->str, id) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * After the entity of pl's name went away: with both sources, the file
 * of that name runs again; the refusal of a version is forgotten.
 */

static void
proc_follow_gone(proc_pipeline_t *pl)
{
    char              why[PROC_ERR_MAX];
    json_t           *f, *doc;
    proc_pipeline_t  *file;

    json_object_del(proc_follow_refused, pl->name);

    f = json_object_get(proc.files, pl->name);
    if (f == NULL || proc_follow_running(pl->name, NULL) != NULL
        || proc_follow_waiting(pl->name) != NULL)
    {
        return;
    }

    doc = json_deep_copy(json_object_get(f, "doc"));
    file = (doc != NULL) ? proc_pipeline_new(doc, why, sizeof(why)) : NULL;

    if (file == NULL) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL,
                   "cannot run a pipeline's file again",
                   json_pack("{s:s, s:s}", "pipeline", pl->name, "error",
                             doc != NULL ? why : "out of memory"));
        return;
    }

    snprintf(file->file, sizeof(file->file), "%s",
             json_string_value(json_object_get(f, "file")));
    proc_follow_install(file);
}


/* one entity whose version we do not run: built, or refused and logged */

static void
proc_follow_entity(const char *id, long long version, const char *text,
    size_t len)
{
    char               why[PROC_ERR_MAX], err[PROC_ERR_MAX + 80];
    json_t            *doc;
    const char       **m;
    json_error_t       jerr;
    proc_pipeline_t   *pl, *cur;

    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(doc)) {
        snprintf(err, sizeof(err), ": not a JSON object");
        json_decref(doc);
        goto refused;
    }

    for (m = proc_follow_meta; *m != NULL; m++) {
        json_object_del(doc, *m);
    }

    if (strcmp(json_string_value(json_object_get(doc, "name")) != NULL
               ? json_string_value(json_object_get(doc, "name")) : "", id)
        != 0)
    {
        snprintf(err, sizeof(err), "/name: not the entity's id \"%s\"", id);
        json_decref(doc);
        goto refused;
    }

    cur = proc_follow_waiting(id);
    if (cur == NULL) {
        cur = proc_follow_running(id, NULL);
    }

    /* the same document again (a version refused, then reverted) */

    if (cur != NULL && cur->from_md && json_equal(cur->src, doc)) {
        cur->version = version;
        json_object_del(proc_follow_refused, id);
        json_decref(doc);
        return;
    }

    pl = proc_pipeline_new(doc, why, sizeof(why));

    if (pl == NULL) {
        snprintf(err, sizeof(err), "%s", why);
        goto refused;
    }

    pl->from_md = 1;
    pl->version = version;
    snprintf(pl->file, sizeof(pl->file), "pipelines/%s", id);
    json_object_del(proc_follow_refused, id);

    proc_follow_install(pl);

    return;

refused:

    /* an operator's document: the running version, if any, goes on */

    gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "pipeline refused",
               json_pack("{s:s, s:I, s:o}", "pipeline", id,
                         "version", (json_int_t) version,
                         "error", gw_svc_json_string(err)));

    json_object_set_new(proc_follow_refused, id, json_integer(version));
}


/*
 * pl (built, not started) takes its name's place: the version running
 * is retired (keeping its leases for pl) and a version waiting is
 * dropped; pl starts when no retiring pipeline has its name.
 */

static void
proc_follow_install(proc_pipeline_t *pl)
{
    proc_pipeline_t   *old, **prev, *r, **pls;

    for (prev = &proc.waiting, old = *prev; old != NULL; old = *prev) {
        if (strcmp(old->name, pl->name) == 0) {
            *prev = old->next;
            proc_pipeline_free(old);
            continue;
        }

        prev = &old->next;
    }

    old = proc_follow_running(pl->name, NULL);

    if (old != NULL) {
        proc_follow_retire(old, 0);
    }

    for (r = proc.retiring; r != NULL; r = r->next) {
        if (strcmp(r->name, pl->name) == 0) {
            pl->next = proc.waiting;
            proc.waiting = pl;
            proc_follow_log(pl, "pipeline waits for its previous version");
            return;
        }
    }

    pls = realloc(proc.pipelines,
                  (proc.npipelines + 1) * sizeof(proc_pipeline_t *));
    if (pls == NULL) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "out of memory", NULL);
        proc_pipeline_free(pl);
        return;
    }

    proc.pipelines = pls;
    proc.pipelines[proc.npipelines++] = pl;

    /* its leases at the next tick */
    proc.lease_elapsed = gw_svc_conf_int(proc.svc, "lease");

    proc_follow_log(pl, "pipeline started");
}


/* pl stops: off the running list, its tasks given up, freed when quiet */

static void
proc_follow_retire(proc_pipeline_t *pl, int release)
{
    size_t  i, at;

    at = 0;

    if (proc_follow_running(pl->name, &at) == pl) {
        for (i = at; i + 1 < proc.npipelines; i++) {
            proc.pipelines[i] = proc.pipelines[i + 1];
        }

        proc.npipelines--;
    }

    pl->retired = 1;
    pl->release = release;

    for (i = 0; i < pl->partitions; i++) {
        proc_task_own(&pl->tasks[i], 0);
    }

    if (release) {
        gw_svc_metric_set(proc.m_owned, 0.0, pl->name);
    }

    pl->next = proc.retiring;
    proc.retiring = pl;

    proc_follow_log(pl, "pipeline stopping");
}


/* once quiet, the last command on the kit's connection */

static void
proc_follow_close(proc_pipeline_t *pl)
{
    int                  rc;
    char                *keys, nk[16];
    size_t               p, n, *argl;
    const char         **argv;
    redisAsyncContext   *ac;

    if (pl->lease_busy) {
        return;
    }

    for (p = 0; p < pl->partitions; p++) {
        if (pl->tasks[p].busy || pl->tasks[p].run != NULL) {
            return;
        }
    }

    ac = gw_svc_redis(proc.svc);

    if (ac == NULL) {
        /* every reply came (as NULL); the leases run out by themselves */
        pl->closing = 1;
        proc_follow_closed(NULL, NULL, pl);
        return;
    }

    if (!pl->release) {
        if (redisAsyncCommand(ac, proc_follow_closed, pl, "PING")
            == REDIS_OK)
        {
            pl->closing = 1;
        }

        return;
    }

    n = pl->partitions + 1;
    argv = malloc((n + 4) * (sizeof(char *) + sizeof(size_t)));
    keys = malloc(n * PROC_KEY_MAX);

    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        return;
    }

    argl = (size_t *) (argv + n + 4);
    snprintf(nk, sizeof(nk), "%u", (unsigned) n);

    argv[0] = "EVAL";
    argv[1] = proc_release_script;
    argv[2] = nk;

    snprintf(keys, PROC_KEY_MAX, "gw:proc:instances:%s", pl->name);
    argv[3] = keys;

    for (p = 0; p < pl->partitions; p++) {
        snprintf(keys + (p + 1) * PROC_KEY_MAX, PROC_KEY_MAX,
                 "gw:proc:owner:%s:%u", pl->name, (unsigned) p);
        argv[4 + p] = keys + (p + 1) * PROC_KEY_MAX;
    }

    argv[3 + n] = proc.instance;

    for (p = 0; p < n + 4; p++) {
        argl[p] = strlen(argv[p]);
    }

    rc = redisAsyncCommandArgv(ac, proc_follow_closed, pl, (int) n + 4, argv,
                               argl);
    free(argv);
    free(keys);

    if (rc == REDIS_OK) {
        pl->closing = 1;
    }
}


/* nothing refers to pl any more: freed; its next version starts */

static void
proc_follow_closed(redisAsyncContext *ac, void *r, void *data)
{
    proc_pipeline_t  *pl, *w, **prev;

    pl = data;

    if (proc.stopped) {
        return;                 /* proc_pipelines_free() frees it */
    }

    for (prev = &proc.retiring; *prev != NULL; prev = &(*prev)->next) {
        if (*prev == pl) {
            *prev = pl->next;
            break;
        }
    }

    proc_follow_log(pl, "pipeline stopped");

    /* at most one waits for it (proc_follow_install() keeps one) */

    for (prev = &proc.waiting; *prev != NULL; prev = &(*prev)->next) {
        w = *prev;

        if (strcmp(w->name, pl->name) == 0) {
            *prev = w->next;
            w->next = NULL;
            proc_follow_install(w);
            break;
        }
    }

    proc_pipeline_free(pl);
}


static proc_pipeline_t *
proc_follow_running(const char *name, size_t *at)
{
    size_t  i;

    for (i = 0; i < proc.npipelines; i++) {
        if (strcmp(proc.pipelines[i]->name, name) == 0) {
            if (at != NULL) {
                *at = i;
            }

            return proc.pipelines[i];
        }
    }

    return NULL;
}


static proc_pipeline_t *
proc_follow_waiting(const char *name)
{
    proc_pipeline_t  *w;

    for (w = proc.waiting; w != NULL; w = w->next) {
        if (strcmp(w->name, name) == 0) {
            return w;
        }
    }

    return NULL;
}


static void
proc_follow_log(proc_pipeline_t *pl, const char *msg)
{
    gw_svc_log(proc.svc, GW_SVC_INFO, NULL, msg,
               json_pack("{s:s, s:s, s:I}", "pipeline", pl->name,
                         "from", pl->from_md ? "metadata" : "file",
                         "version", (json_int_t) pl->version));
}
