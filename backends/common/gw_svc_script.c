
/*
 * Copyright (C) Tollgate
 *
 * Redis scripts for every service (gw_svc.h, "Redis scripts"): a state
 * change made of several commands is one script, so a process killed
 * between two of them never leaves half a change.  A script is sent by
 * its SHA-1; when Redis does not know it (NOSCRIPT: restarted, flushed,
 * or the first call) it is sent once whole, which loads it.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_svc.h"


typedef struct {
    gw_svc_t               *svc;
    gw_svc_script_t        *script;
    gw_svc_eval_pt          cb;
    void                   *data;
    int                     argc;
    int                     retried;
    char                   *argv[GW_SVC_EVAL_ARGS];
    size_t                  lens[GW_SVC_EVAL_ARGS];
} gw_svc_eval_t;


static int gw_svc_eval_send(gw_svc_eval_t *ev);
static void gw_svc_eval_done(redisAsyncContext *ac, void *r, void *data);
static void gw_svc_eval_free(gw_svc_eval_t *ev);


int
gw_svc_script_init(gw_svc_script_t *script)
{
    size_t         i;
    unsigned int   n;
    unsigned char  h[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    if (EVP_Digest(script->text, strlen(script->text), h, &n, EVP_sha1(),
                   NULL) != 1
        || n != 20)
    {
        return -1;
    }

    for (i = 0; i < 20; i++) {
        script->sha[2 * i] = digits[h[i] >> 4];
        script->sha[2 * i + 1] = digits[h[i] & 0xf];
    }

    script->sha[40] = '\0';

    return 0;
}


int
gw_svc_eval(gw_svc_t *svc, gw_svc_script_t *script, int argc,
    const char **argv, const size_t *lens, gw_svc_eval_pt cb, void *data)
{
    int             i;
    gw_svc_eval_t  *ev;

    if (argc < 0 || argc > GW_SVC_EVAL_ARGS || script->sha[0] == '\0') {
        return -1;
    }

    ev = calloc(1, sizeof(gw_svc_eval_t));
    if (ev == NULL) {
        return -1;
    }

    ev->svc = svc;
    ev->script = script;
    ev->cb = cb;
    ev->data = data;

    for (i = 0; i < argc; i++) {
        ev->argv[i] = malloc(lens[i] + 1);
        if (ev->argv[i] == NULL) {
            gw_svc_eval_free(ev);
            return -1;
        }

        memcpy(ev->argv[i], argv[i], lens[i]);
        ev->argv[i][lens[i]] = '\0';
        ev->lens[i] = lens[i];
        ev->argc++;
    }

    if (gw_svc_eval_send(ev) != 0) {
        gw_svc_eval_free(ev);
        return -1;
    }

    return 0;
}


static int
gw_svc_eval_send(gw_svc_eval_t *ev)
{
    int                 i, n;
    size_t              lens[3 + GW_SVC_EVAL_ARGS];
    const char         *argv[3 + GW_SVC_EVAL_ARGS];
    redisAsyncContext  *ac;

    ac = gw_svc_redis(ev->svc);
    if (ac == NULL) {
        return -1;
    }

    argv[0] = ev->retried ? "EVAL" : "EVALSHA";
    argv[1] = ev->retried ? ev->script->text : ev->script->sha;
    argv[2] = "0";
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = 1;
    n = 3;

    for (i = 0; i < ev->argc; i++) {
        argv[n] = ev->argv[i];
        lens[n++] = ev->lens[i];
    }

    return (redisAsyncCommandArgv(ac, gw_svc_eval_done, ev, n, argv, lens)
            == REDIS_OK) ? 0 : -1;
}


static void
gw_svc_eval_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply     *reply;
    gw_svc_eval_t  *ev;

    ev = data;
    reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !ev->retried
        && strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        ev->retried = 1;

        if (gw_svc_eval_send(ev) == 0) {
            return;
        }

        reply = NULL;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        /* a Redis loading its AOF again is not our fault */
        gw_svc_log(ev->svc, strncmp(reply->str, "LOADING", 7) == 0
                            ? GW_SVC_WARN : GW_SVC_ERROR,
                   NULL, "a script failed",
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(reply->str)));
        reply = NULL;
    }

    ev->cb(reply, ev->data);
    gw_svc_eval_free(ev);
}


static void
gw_svc_eval_free(gw_svc_eval_t *ev)
{
    int  i;

    for (i = 0; i < ev->argc; i++) {
        free(ev->argv[i]);
    }

    free(ev);
}
