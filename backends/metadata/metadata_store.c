
/*
 * Copyright (C) Tollgate
 *
 * The store's writes: md_store_commit() turns a change set into the one
 * JSON argument of the commit script (metadata_store_script.c) and maps
 * its answer.  Everything a change needs is computed here, before the
 * script runs: each document's text (dumped once; Lua stores it as
 * text), its references and match keys (md_type_refs()), the
 * projection's Redis commands (md_project()) and the audit event with
 * the change's JSON Patch (md_diff(), replaced by its SHA-256 when over
 * MD_DIFF_MAX bytes).  The script adds what only it knows: the new
 * revision, in the log entries' ids and the events' "id", "revision"
 * and "version_after".
 *
 * Scripts run by EVALSHA, and by EVAL once when Redis answers NOSCRIPT
 * (a restarted or flushed server), which loads the script again.
 *
 * When Redis fails or times out the answer is MD_COMMIT_ERROR: either
 * the script never ran (nothing written), or it ran whole and its answer
 * was lost (then the revision is there with its log and audit entries).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <openssl/evp.h>

#include "metadata_store.h"


#define MD_EVAL_ARGS  4


typedef struct {
    md_script_t        *script;
    md_eval_pt          cb;
    void               *data;
    int                 argc;
    int                 retried;
    char               *argv[MD_EVAL_ARGS];
    size_t              lens[MD_EVAL_ARGS];
} md_eval_t;


typedef struct {
    md_commit_pt        cb;
    void               *data;
    int                 check;          /* phase 1 only: nothing written */
} md_commit_ctx_t;


static int md_store_sha1(md_script_t *s);
static int md_eval_send(md_eval_t *ev);
static void md_eval_done(redisAsyncContext *ac, void *r, void *data);
static void md_eval_free(md_eval_t *ev);
static int md_store_run(md_change_t *changes, size_t n,
    long long expected_revision, const char *actor, const char *rid,
    int check, md_commit_pt cb, void *data);
static json_t *md_commit_change(md_change_t *c, const char *actor,
    const char *rid, int64_t now);
static json_t *md_commit_event(md_change_t *c, const char *actor,
    const char *rid, int64_t now);
static json_t *md_commit_diff(json_t *before, json_t *after);
static void md_commit_done(redisReply *reply, void *data);
static void md_commit_fail(md_commit_pt cb, void *data, const char *why);


static gw_svc_metric_t  *md_m_commits;

static const char  *md_commit_results[] = {
    "ok", "version", "revision", "ref", "referenced", "match", "error"
};


int
md_store_setup(gw_svc_t *svc)
{
    static const char  *labels[] = { "result", NULL };

    if (md_store_sha1(&md_script_commit) != 0
        || md_store_sha1(&md_script_list) != 0
        || md_store_sha1(&md_script_snapshot) != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "no SHA-1"));
        return -1;
    }

    md_m_commits = gw_svc_counter(svc, "metadata_commits_total",
                                  "Commits of change sets by result",
                                  labels);

    return (md_m_commits != NULL) ? 0 : -1;
}


static int
md_store_sha1(md_script_t *s)
{
    size_t          i;
    unsigned int    n;
    unsigned char   h[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    if (EVP_Digest(s->text, strlen(s->text), h, &n, EVP_sha1(), NULL) != 1
        || n != 20)
    {
        return -1;
    }

    for (i = 0; i < 20; i++) {
        s->sha[2 * i] = digits[h[i] >> 4];
        s->sha[2 * i + 1] = digits[h[i] & 0xf];
    }

    s->sha[40] = '\0';

    return 0;
}


/* ---- scripts ------------------------------------------------------------- */


int
md_store_eval(md_script_t *script, int argc, const char **argv,
    const size_t *lens, md_eval_pt cb, void *data)
{
    int         i;
    md_eval_t  *ev;

    if (argc > MD_EVAL_ARGS) {
        return -1;
    }

    ev = calloc(1, sizeof(md_eval_t));
    if (ev == NULL) {
        return -1;
    }

    ev->script = script;
    ev->cb = cb;
    ev->data = data;
    ev->argc = argc;

    for (i = 0; i < argc; i++) {
        ev->argv[i] = malloc(lens[i] + 1);
        if (ev->argv[i] == NULL) {
            md_eval_free(ev);
            return -1;
        }

        memcpy(ev->argv[i], argv[i], lens[i]);
        ev->argv[i][lens[i]] = '\0';
        ev->lens[i] = lens[i];
    }

    if (md_eval_send(ev) != 0) {
        md_eval_free(ev);
        cb(NULL, data);
    }

    return 0;
}


static int
md_eval_send(md_eval_t *ev)
{
    int                 i, n;
    size_t              lens[3 + MD_EVAL_ARGS];
    const char         *argv[3 + MD_EVAL_ARGS];
    redisAsyncContext  *ac;

    ac = gw_svc_redis(md.svc);
    if (ac == NULL || md.stopped) {
        return -1;
    }

    if (ev->retried) {
        argv[0] = "EVAL";
        argv[1] = ev->script->text;

    } else {
        argv[0] = "EVALSHA";
        argv[1] = ev->script->sha;
    }

    argv[2] = "0";
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = 1;
    n = 3;

    for (i = 0; i < ev->argc; i++) {
        argv[n] = ev->argv[i];
        lens[n++] = ev->lens[i];
    }

    return (redisAsyncCommandArgv(ac, md_eval_done, ev, n, argv, lens)
            == REDIS_OK) ? 0 : -1;
}


static void
md_eval_done(redisAsyncContext *ac, void *r, void *data)
{
    md_eval_t   *ev;
    redisReply  *reply;

    ev = data;
    reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !ev->retried
        && strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        ev->retried = 1;

        if (md_eval_send(ev) == 0) {
            return;
        }

        reply = NULL;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(md.svc, GW_SVC_ERROR, NULL, "store script failed",
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(reply->str)));
        reply = NULL;
    }

    ev->cb(reply, ev->data);
    md_eval_free(ev);
}


static void
md_eval_free(md_eval_t *ev)
{
    int  i;

    for (i = 0; i < ev->argc; i++) {
        free(ev->argv[i]);
    }

    free(ev);
}


/* ---- commits ------------------------------------------------------------- */


int
md_store_commit(md_change_t *changes, size_t n, long long expected_revision,
    const char *actor, const char *rid, md_commit_pt cb, void *data)
{
    return md_store_run(changes, n, expected_revision, actor, rid, 0, cb,
                        data);
}


int
md_store_check(md_change_t *changes, size_t n, long long expected_revision,
    const char *actor, const char *rid, md_commit_pt cb, void *data)
{
    return md_store_run(changes, n, expected_revision, actor, rid, 1, cb,
                        data);
}


/* the commit script's run: the change set as its argument, check or not */

static int
md_store_run(md_change_t *changes, size_t n, long long expected_revision,
    const char *actor, const char *rid, int check, md_commit_pt cb,
    void *data)
{
    int               rc;
    char             *text, now_text[32];
    size_t            i, len;
    json_t           *set, *arr, *c;
    int64_t           now;
    md_commit_ctx_t  *ctx;

    now = md_now_ms();
    snprintf(now_text, sizeof(now_text), "%lld", (long long) now);

    arr = json_array();
    set = json_pack("{s:I, s:b, s:s, s:s, s:s, s:I, s:o}",
                    "expected", (json_int_t) expected_revision,
                    "check", check,
                    "actor", actor, "rid", rid != NULL ? rid : "",
                    "time", now_text,
                    "retention", (json_int_t) md.log_retention,
                    "changes", arr);
    if (set == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        c = md_commit_change(&changes[i], actor, rid, now);

        if (c == NULL || json_array_append_new(arr, c) != 0) {
            json_decref(set);
            return -1;
        }
    }

    text = json_dumps(set, JSON_COMPACT);
    json_decref(set);

    if (text == NULL) {
        return -1;
    }

    ctx = malloc(sizeof(md_commit_ctx_t));
    if (ctx == NULL) {
        free(text);
        return -1;
    }

    ctx->cb = cb;
    ctx->data = data;
    ctx->check = check;
    len = strlen(text);

    rc = md_store_eval(&md_script_commit, 1, (const char **) &text, &len,
                       md_commit_done, ctx);
    free(text);

    if (rc != 0) {
        free(ctx);
        return -1;
    }

    return 0;
}


/* one change as the script takes it */

static json_t *
md_commit_change(md_change_t *c, const char *actor, const char *rid,
    int64_t now)
{
    char        *doc;
    json_t      *o, *refs, *match, *cmds, *ev;
    const char  *type;

    type = md_type_name(c->type);

    refs = NULL;
    match = NULL;
    cmds = json_array();
    ev = md_commit_event(c, actor, rid, now);

    o = json_pack("{s:s, s:s, s:I}", "type", type, "id", c->id,
                  "if_version", (json_int_t) c->if_version);

    if (o == NULL || cmds == NULL || ev == NULL) {
        goto failed;
    }

    if (c->doc != NULL) {
        if (md_type_refs(c->type, c->doc, &refs, &match) != 0) {
            goto failed;
        }

        doc = json_dumps(c->doc, JSON_COMPACT);

        if (doc == NULL
            || json_object_set_new(o, "doc", json_string(doc)) != 0)
        {
            free(doc);
            goto failed;
        }

        free(doc);

    } else {
        refs = json_array();
        match = json_array();
    }

    if (refs == NULL || match == NULL
        || md_project(c->type, c->before, c->doc, cmds) != 0
        || json_object_set(o, "refs", refs) != 0
        || json_object_set(o, "match", match) != 0
        || json_object_set(o, "project", cmds) != 0
        || json_object_set(o, "event", ev) != 0)
    {
        goto failed;
    }

    json_decref(refs);
    json_decref(match);
    json_decref(cmds);
    json_decref(ev);

    return o;

failed:

    json_decref(o);
    json_decref(refs);
    json_decref(match);
    json_decref(cmds);
    json_decref(ev);

    return NULL;
}


/*
 * The audit event's text (a JSON string value), without the members the
 * script prepends: id, revision, version_after.
 */

static json_t *
md_commit_event(md_change_t *c, const char *actor, const char *rid,
    int64_t now)
{
    int          status;
    char         url[256], *text;
    json_t      *ev, *diff, *s;
    const char  *action;

    if (c->before == NULL) {
        action = "create";
        status = 201;

    } else if (c->doc == NULL) {
        action = "delete";
        status = 204;

    } else {
        action = "update";
        status = 200;
    }

    if (md_entity_url(c->type, c->id, url, sizeof(url)) != 0) {
        return NULL;
    }

    diff = md_commit_diff(c->before, c->doc);
    if (diff == NULL) {
        return NULL;
    }

    ev = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:o}",
                   "time", (json_int_t) now,
                   "actor", actor,
                   "action", action,
                   "resource", url,
                   "status", status,
                   "request_id", rid != NULL ? rid : "",
                   "source", "metadata",
                   "version_before", (json_int_t) c->if_version,
                   "diff", diff);
    if (ev == NULL) {
        return NULL;
    }

    text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);

    if (text == NULL) {
        return NULL;
    }

    s = json_string(text);
    free(text);

    return s;
}


/*
 * The JSON Patch from before to after, both without "version" (which
 * the stored documents do not hold), or its stand-in when it is over
 * MD_DIFF_MAX bytes: {"truncated": true, "sha256": hex of its text}.
 */

static json_t *
md_commit_diff(json_t *before, json_t *after)
{
    char           *text, hex[65];
    size_t          i, len;
    json_t         *b, *diff;
    unsigned int    n;
    unsigned char   h[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    b = NULL;

    if (before != NULL && json_object_get(before, "version") != NULL) {
        b = json_copy(before);
        if (b == NULL) {
            return NULL;
        }

        json_object_del(b, "version");
        before = b;
    }

    diff = md_diff(before, after);
    json_decref(b);

    if (diff == NULL) {
        return NULL;
    }

    text = json_dumps(diff, JSON_COMPACT);
    if (text == NULL) {
        json_decref(diff);
        return NULL;
    }

    len = strlen(text);

    if (len <= MD_DIFF_MAX) {
        free(text);
        return diff;
    }

    json_decref(diff);

    if (EVP_Digest(text, len, h, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        free(text);
        return NULL;
    }

    free(text);

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 0xf];
    }

    hex[64] = '\0';

    return json_pack("{s:b, s:s}", "truncated", 1, "sha256", hex);
}


static void
md_commit_fail(md_commit_pt cb, void *data, const char *why)
{
    md_commit_result_t  res;

    gw_svc_metric_add(md_m_commits, 1, md_commit_results[MD_COMMIT_ERROR]);

    res.status = MD_COMMIT_ERROR;
    res.revision = 0;
    res.index = 0;
    res.detail = why;

    cb(&res, data);
}


static void
md_commit_done(redisReply *reply, void *data)
{
    long long            code;
    md_commit_ctx_t     *ctx;
    md_commit_result_t   res;

    ctx = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        if (reply != NULL) {
            gw_svc_log(md.svc, GW_SVC_ERROR, NULL,
                       "commit script: unexpected answer", NULL);
        }

        md_commit_fail(ctx->cb, ctx->data, "Redis is unavailable");
        free(ctx);
        return;
    }

    code = reply->element[0]->integer;

    res.revision = 0;
    res.index = 0;
    res.detail = "";

    if (code == 0) {
        res.status = MD_COMMIT_OK;
        res.revision = reply->element[1]->integer;

        if (reply->elements > 2
            && reply->element[2]->type == REDIS_REPLY_INTEGER
            && reply->element[2]->integer > 0)
        {
            gw_svc_log(md.svc, GW_SVC_ERROR, NULL,
                       "projection commands failed",
                       json_pack("{s:I, s:I}", "revision",
                                 (json_int_t) res.revision, "failed",
                                 (json_int_t) reply->element[2]->integer));
        }

    } else {
        res.index = (size_t) reply->element[1]->integer;

        if (reply->elements > 2
            && reply->element[2]->type == REDIS_REPLY_STRING)
        {
            res.detail = reply->element[2]->str;
        }

        switch (code) {

        case MD_SCRIPT_VERSION:
            res.status = MD_COMMIT_VERSION;
            break;

        case MD_SCRIPT_REVISION:
            res.status = MD_COMMIT_REVISION;
            break;

        case MD_SCRIPT_REF:
            res.status = MD_COMMIT_REF;
            break;

        case MD_SCRIPT_REFERENCED:
            res.status = MD_COMMIT_REFERENCED;
            break;

        case MD_SCRIPT_MATCH:
            res.status = MD_COMMIT_MATCH;
            break;

        default:
            gw_svc_log(md.svc, GW_SVC_ERROR, NULL,
                       "the change log is ahead of gw:md:rev",
                       json_pack("{s:o}", "last",
                                 gw_svc_json_string(res.detail)));
            md_commit_fail(ctx->cb, ctx->data, "the store is inconsistent");
            free(ctx);
            return;
        }
    }

    if (!ctx->check) {
        gw_svc_metric_add(md_m_commits, 1, md_commit_results[res.status]);
    }

    ctx->cb(&res, ctx->data);
    free(ctx);
}
