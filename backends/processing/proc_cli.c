
/*
 * Copyright (C) Tollgate
 *
 * The dead-letter tool, the same binary with a subcommand:
 *
 *   processing dlq [-c FILE] list <pipeline> [id...]
 *   processing dlq [-c FILE] replay <pipeline> [id...]
 *   processing dlq [-c FILE] drop <pipeline> [id...]
 *
 * list prints one JSON object per dead letter, {"id": ..., "fields":
 * {...}} (the first 1000 without ids); replay adds each one's source
 * fields again to its source stream (the partition it came from, so
 * the pipeline reads it anew)
 * and deletes it from the DLQ; drop deletes.  Without ids: every entry.
 * The Redis address and password come from the service's configuration
 * (the file, then TOLLGATE_PROCESSING_* variables).  A command-line tool:
 * it talks to Redis synchronously.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "proc.h"


static redisContext *proc_cli_connect(gw_svc_t *svc);
static int proc_cli_entry(redisContext *c, const char *cmd,
    const char *dlq, redisReply *e);


static const char  *proc_cli_ours[] = {
    "error", "attempts", "step", "source", "source_id", "failed_at", NULL
};


static redisContext *
proc_cli_connect(gw_svc_t *svc)
{
    char           host[256], *colon;
    const char    *addr, *pw;
    redisReply    *r;
    redisContext  *c;

    addr = gw_svc_conf_str(svc, "redis");

    if (strncmp(addr, "unix:", 5) == 0) {
        c = redisConnectUnix(addr + 5);

    } else {
        snprintf(host, sizeof(host), "%s", addr);
        colon = strrchr(host, ':');
        if (colon == NULL) {
            fprintf(stderr, "dlq: bad redis address %s\n", addr);
            return NULL;
        }
        *colon = '\0';
        c = redisConnect(host, atoi(colon + 1));
    }

    if (c == NULL || c->err) {
        fprintf(stderr, "dlq: cannot connect to Redis at %s: %s\n", addr,
                c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }

    pw = gw_svc_conf_str(svc, "redis_password");

    if (pw != NULL && pw[0] != '\0') {
        r = redisCommand(c, "AUTH %s", pw);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "dlq: AUTH failed\n");
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }

    return c;
}


/* one entry [id, [f, v, ...]]: printed, replayed or dropped; 0 or -1 */

static int
proc_cli_entry(redisContext *c, const char *cmd, const char *dlq,
    redisReply *e)
{
    int           ours;
    char         *txt;
    size_t        i, k, n, *argl;
    json_t       *o, *f;
    redisReply   *fv, *r;
    const char   *src, **argv;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
        || e->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return 0;
    }

    fv = e->element[1];

    if (strcmp(cmd, "list") == 0) {
        f = json_object();
        for (i = 0; f != NULL && i + 1 < fv->elements; i += 2) {
            json_object_set_new(f, fv->element[i]->str,
                                gw_svc_json_string(fv->element[i + 1]->str));
        }
        o = json_pack("{s:s, s:o}", "id", e->element[0]->str, "fields", f);
        txt = (o != NULL) ? json_dumps(o, JSON_COMPACT) : NULL;
        if (txt == NULL) {
            json_decref(o);
            return -1;
        }
        printf("%s\n", txt);
        free(txt);
        json_decref(o);
        return 0;
    }

    if (strcmp(cmd, "replay") == 0) {
        src = NULL;
        n = fv->elements + 3;
        argv = malloc(n * (sizeof(char *) + sizeof(size_t)));
        if (argv == NULL) {
            return -1;
        }
        argl = (size_t *) (argv + n);
        argv[0] = "XADD";
        argv[2] = "*";
        argl[0] = 4;
        argl[2] = 1;
        n = 3;

        for (i = 0; i + 1 < fv->elements; i += 2) {
            ours = 0;
            for (k = 0; proc_cli_ours[k] != NULL; k++) {
                if (strcmp(fv->element[i]->str, proc_cli_ours[k]) == 0) {
                    ours = 1;
                }
            }

            if (strcmp(fv->element[i]->str, "source") == 0) {
                src = fv->element[i + 1]->str;
            }

            if (!ours) {
                argv[n] = fv->element[i]->str;
                argl[n++] = fv->element[i]->len;
                argv[n] = fv->element[i + 1]->str;
                argl[n++] = fv->element[i + 1]->len;
            }
        }

        if (src == NULL || n == 3) {
            fprintf(stderr, "dlq: %s has no source\n", e->element[0]->str);
            free(argv);
            return -1;
        }

        argv[1] = src;
        argl[1] = strlen(src);

        r = redisCommandArgv(c, (int) n, argv, argl);
        free(argv);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "dlq: XADD %s failed: %s\n", src,
                    r != NULL ? r->str : c->errstr);
            freeReplyObject(r);
            return -1;
        }

        printf("%s -> %s %s\n", e->element[0]->str, src, r->str);
        freeReplyObject(r);
    }

    r = redisCommand(c, "XDEL %s %s", dlq, e->element[0]->str);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);

    if (strcmp(cmd, "drop") == 0) {
        printf("%s dropped\n", e->element[0]->str);
    }

    return 0;
}


int
proc_cli_main(gw_svc_t *svc, int argc, char **argv)
{
    int            i, rc;
    char           dlq[PROC_KEY_MAX];
    size_t         k;
    const char    *path, *cmd, *pl;
    redisReply    *r;
    redisContext  *c;

    path = NULL;
    i = 1;

    if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
        path = argv[i + 1];
        i += 2;
    }

    if (argc - i < 2
        || (strcmp(argv[i], "list") != 0 && strcmp(argv[i], "replay") != 0
            && strcmp(argv[i], "drop") != 0))
    {
        fprintf(stderr, "usage: processing dlq [-c FILE] list|replay|drop "
                "<pipeline> [id...]\n");
        return 2;
    }

    cmd = argv[i];
    pl = argv[i + 1];
    i += 2;

    if (path == NULL) {
        path = getenv("TOLLGATE_PROCESSING_CONFIG");
    }

    if (gw_svc_configure(svc, path) != 0) {
        fprintf(stderr, "dlq: %s\n", gw_svc_error(svc));
        return 2;
    }

    c = proc_cli_connect(svc);
    if (c == NULL) {
        return 1;
    }

    snprintf(dlq, sizeof(dlq), "gw:proc:%s:dlq", pl);
    rc = 0;

    for ( ;; ) {
        if (i < argc) {
            r = redisCommand(c, "XRANGE %s %s %s", dlq, argv[i], argv[i]);
        } else {
            r = redisCommand(c, "XRANGE %s - + COUNT 1000", dlq);
        }

        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "dlq: XRANGE failed: %s\n",
                    r == NULL ? c->errstr
                    : r->type == REDIS_REPLY_ERROR ? r->str : "reply");
            freeReplyObject(r);
            rc = 1;
            break;
        }

        if (i < argc && r->elements == 0) {
            fprintf(stderr, "dlq: no entry %s\n", argv[i]);
            rc = 1;
        }

        for (k = 0; k < r->elements; k++) {
            if (proc_cli_entry(c, cmd, dlq, r->element[k]) != 0) {
                rc = 1;
            }
        }

        k = r->elements;
        freeReplyObject(r);

        if (i < argc) {
            /* the next id, if any */
            if (++i == argc) {
                break;
            }
            continue;
        }

        /* all: list shows the first 1000; replay and drop empty it */

        if (k == 0 || strcmp(cmd, "list") == 0 || rc != 0) {
            break;
        }
    }

    redisFree(c);

    return rc;
}
