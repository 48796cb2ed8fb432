
/*
 * Copyright (C) Tollgate
 *
 *   GET /v1/downloads/{run}?expires=<seconds>&sig=<signature>
 *
 * A run's file, for a caller with reports:read holding a link that the
 * service signed (rp_sign.c) and that has not expired: a missing,
 * malformed or tampered signature is 403 "bad-signature", an expired
 * link 403 "link-expired", checked before anything is read.  The file's
 * name is made from the run's id and its format in Redis, never from
 * the request.  The kit sends the file as the connection takes it
 * (gw_svc_reply_file(): sendfile from the page cache), so a download
 * costs the service no memory of the file's size; max_bytes still
 * bounds what is served.
 *
 * The sweeper removes, every sweep_every (a minute by default), the
 * spool's files older than the link's lifetime plus that interval: a
 * file outlives its last link by one interval at most.
 */


#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "rp.h"


typedef struct {
    gw_svc_req_t           *req;
    char                    run[RP_RUN_LEN + 1];
} rp_dl_t;


static void rp_dl_get(gw_svc_req_t *req, void *data);
static void rp_dl_got(redisAsyncContext *ac, void *r, void *data);
static void rp_dl_send(gw_svc_req_t *req, const char *run,
    gw_report_format_e fmt);
static void rp_dl_sweep(evutil_socket_t fd, short what, void *arg);


static struct event  *rp_sweep_ev;


int
rp_dl_routes(gw_svc_t *svc)
{
    return gw_svc_route(svc, GW_SVC_GET, "/v1/downloads/", GW_SVC_PREFIX,
                        rp_dl_get, NULL);
}


static void
rp_dl_get(gw_svc_req_t *req, void *data)
{
    char                sig[64], exp[24], *end;
    rp_dl_t            *ctx;
    long long           expires;
    const char         *run;
    rp_caller_t         caller;
    redisAsyncContext  *ac;

    run = gw_svc_req_path(req) + sizeof("/v1/downloads/") - 1;

    if (strlen(run) != RP_RUN_LEN
        || strspn(run, "0123456789abcdef") != RP_RUN_LEN)
    {
        gw_svc_reply_problem(req, 404, "not-found", "Not found", NULL);
        return;
    }

    if (rp_api_caller(req, &caller) != 0) {
        return;
    }

    if (rp_api_arg(req, "expires", exp, sizeof(exp)) != 0
        || rp_api_arg(req, "sig", sig, sizeof(sig)) != 0
        || exp[0] == '\0')
    {
        gw_svc_reply_problem(req, 403, "bad-signature", "Forbidden",
                             "the link is not signed");
        return;
    }

    expires = strtoll(exp, &end, 10);

    if (*end != '\0' || rp_sign_check(run, expires, sig) != 0) {
        gw_svc_reply_problem(req, 403, "bad-signature", "Forbidden",
                             "the link's signature is not valid");
        return;
    }

    if (expires <= (long long) time(NULL)) {
        gw_svc_reply_problem(req, 403, "link-expired", "Forbidden",
                             "the link has expired: ask the run again "
                             "for a new one while the file is kept");
        return;
    }

    ctx = gw_svc_req_alloc(req, sizeof(rp_dl_t));
    ac = gw_svc_redis(rp.svc);

    if (ctx == NULL || ac == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "Redis is down");
        return;
    }

    ctx->req = req;
    memcpy(ctx->run, run, RP_RUN_LEN + 1);

    if (redisAsyncCommand(ac, rp_dl_got, ctx,
                          "HMGET gw:rp:run:%s status format", run)
        != REDIS_OK)
    {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "Redis failed");
    }
}


static void
rp_dl_got(redisAsyncContext *ac, void *r, void *data)
{
    rp_dl_t             *ctx;
    redisReply          *reply;
    gw_report_format_e   fmt;

    ctx = data;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        gw_svc_reply_problem(ctx->req, 503, "unavailable", "Unavailable",
                             "Redis failed");
        return;
    }

    if (reply->element[0]->type != REDIS_REPLY_STRING
        || strcmp(reply->element[0]->str, "done") != 0
        || reply->element[1]->type != REDIS_REPLY_STRING
        || gw_report_format_parse(reply->element[1]->str, &fmt) != 0)
    {
        gw_svc_reply_problem(ctx->req, 404, "not-found", "Not found",
                             "no such report file");
        return;
    }

    rp_dl_send(ctx->req, ctx->run, fmt);
}


static void
rp_dl_send(gw_svc_req_t *req, const char *run, gw_report_format_e fmt)
{
    int          fd;
    char         path[4096], disp[128];
    struct stat  st;

    snprintf(path, sizeof(path), "%s/%s%s", rp.spool, run,
             gw_report_extension(fmt));

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "the report's file was removed");
        return;
    }

    if ((uint64_t) st.st_size > rp.max_bytes) {
        close(fd);
        gw_svc_reply_problem(req, 413, "size-cap", "Too large",
                             "the file is larger than max_bytes");
        return;
    }

    snprintf(disp, sizeof(disp), "attachment; filename=\"report-%s%s\"",
             run, gw_report_extension(fmt));
    gw_svc_req_add_header(req, "Content-Disposition", disp);

    /* the kit sends it from the page cache and closes fd */

    gw_svc_reply_file(req, 200, gw_report_media_type(fmt), fd, st.st_size);
}


static void
rp_dl_sweep(evutil_socket_t fd, short what, void *arg)
{
    DIR            *d;
    char            path[4096];
    time_t          cut;
    struct stat     st;
    struct dirent  *e;

    d = opendir(rp.spool);
    if (d == NULL) {
        return;
    }

    cut = time(NULL) - rp.link_ttl / 1000 - rp.sweep_every / 1000;

    while ((e = readdir(d)) != NULL) {
        if (strspn(e->d_name, "0123456789abcdef") != RP_RUN_LEN
            || e->d_name[RP_RUN_LEN] != '.')
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", rp.spool, e->d_name);

        if (stat(path, &st) == 0 && st.st_mtime < cut) {
            (void) unlink(path);
        }
    }

    closedir(d);
}


void
rp_dl_sweep_start(void)
{
    struct timeval  tv;

    tv.tv_sec = rp.sweep_every / 1000;
    tv.tv_usec = (rp.sweep_every % 1000) * 1000;

    rp_sweep_ev = event_new(rp.base, -1, EV_PERSIST, rp_dl_sweep, NULL);
    if (rp_sweep_ev != NULL) {
        event_add(rp_sweep_ev, &tv);
    }
}


void
rp_dl_sweep_stop(void)
{
    if (rp_sweep_ev != NULL) {
        event_free(rp_sweep_ev);
        rp_sweep_ev = NULL;
    }
}
