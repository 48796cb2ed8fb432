
/*
 * Copyright (C) Tollgate
 *
 * tollgate:notify (docs/workflow.md, "Task resources"): the payload,
 * a notification request (docs/notification.md), POSTed to the
 * notification service at notify_url + "/v1/notifications" as the
 * execution's owner (X-Consumer-ID), with the attempt's Idempotency-Key
 * so a dispatch repeated after a crash is one notification, and the
 * execution's trace continued.  The result is the service's 202 body.
 *
 * notify_url is the operator's own address, normally a private or
 * loopback one the address guard would refuse: the call is a trusted
 * one of the kit's outbound HTTP.  Without notify_url the task fails
 * saying so.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_task_int.h"


#define WF_NOTIFY_PATH      "/v1/notifications"
#define WF_NOTIFY_BODY_MAX  (1024 * 1024)   /* bytes sent */


typedef struct {
    wf_task_pt              done;
    void                   *data;
} wf_notify_t;


static void wf_notify_done(const gw_svc_out_res_t *res, void *data);


int
wf_task_notify(const wf_task_t *task, wf_task_pt done, void *data,
    char *err, size_t errlen)
{
    int                 rc;
    char               *url, *body, tp[GW_TRACEPARENT_LEN + 32];
    char                owner[WF_OWNER_MAX + 32], idem[300];
    size_t              blen;
    const char         *base, *headers[6];
    wf_notify_t        *n;
    gw_svc_out_req_t    req;

    base = gw_svc_conf_str(wf.svc, "notify_url");

    if (base == NULL || base[0] == '\0') {
        snprintf(err, errlen, "tollgate:notify: notify_url is not "
                 "configured");
        return -1;
    }

    if (!json_is_object(task->payload)) {
        snprintf(err, errlen, "tollgate:notify: the payload is not an "
                 "object");
        return -1;
    }

    if (task->owner == NULL || task->owner[0] == '\0'
        || strpbrk(task->owner, "\r\n") != NULL)
    {
        snprintf(err, errlen, "tollgate:notify: the execution has no "
                 "owner to notify as");
        return -1;
    }

    rc = -1;
    url = NULL;
    n = NULL;

    body = json_dumps(task->payload, JSON_COMPACT);
    if (body == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (strlen(body) > WF_NOTIFY_BODY_MAX) {
        snprintf(err, errlen, "tollgate:notify: the payload is over %d "
                 "bytes", WF_NOTIFY_BODY_MAX);
        goto done;
    }

    blen = strlen(base);

    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }

    url = malloc(blen + sizeof(WF_NOTIFY_PATH));
    if (url == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    memcpy(url, base, blen);
    memcpy(url + blen, WF_NOTIFY_PATH, sizeof(WF_NOTIFY_PATH));

    memcpy(tp, "traceparent: ", 13);

    if (wf_task_traceparent(task, tp + 13) != 0) {
        snprintf(err, errlen, "cannot make a traceparent");
        goto done;
    }

    snprintf(owner, sizeof(owner), "X-Consumer-ID: %s", task->owner);
    snprintf(idem, sizeof(idem), "Idempotency-Key: \"%s\"", task->idem);

    headers[0] = "Content-Type: application/json";
    headers[1] = owner;
    headers[2] = idem;
    headers[3] = tp;
    headers[4] = NULL;

    n = malloc(sizeof(wf_notify_t));
    if (n == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    n->done = done;
    n->data = data;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout = task->timeout;
    req.keep = 65536;
    req.trusted = 1;

    if (gw_svc_out_request(wf.svc, &req, wf_notify_done, n, err, errlen)
        != 0)
    {
        free(n);
        goto done;
    }

    rc = 0;

done:

    free(url);
    free(body);

    return rc;
}


static void
wf_notify_done(const gw_svc_out_res_t *res, void *data)
{
    wf_notify_t  *n = data;

    wf_task_http_outcome(res, 0, n->done, n->data);
    free(n);
}
