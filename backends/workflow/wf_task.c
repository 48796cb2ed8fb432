
/*
 * Copyright (C) Tollgate
 *
 * Task dispatch (wf.h, docs/workflow.md "Task resources"): a Task's
 * resource names what the engine's dispatch does once the transition
 * that asks for it is stored.  This file knows the resources, sets up
 * the kit's outbound HTTP for them (the http_allow list, the answer's
 * cap) and hands each task to its part: wf_task_http.c, wf_task_stream.c,
 * wf_task_notify.c, wf_task_child.c.  A callback (tollgate:callback)
 * sends nothing: its done comes on the loop's next turn.
 *
 * Every part calls done exactly once and never inside wf_task_run(),
 * so the engine never sees its own call come back into it.  A task
 * whose result comes later (a .waitForTaskToken, a child workflow) is
 * told apart by wf_task_async(): its done says only whether it went out.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "wf_task_int.h"


#define WF_TASK_SUFFIX          ".waitForTaskToken"
#define WF_TASK_WAIT            30000   /* ms a call may queue */
#define WF_TASK_CONCURRENCY     16      /* calls at once per endpoint */


typedef struct {
    wf_task_pt              done;
    void                   *data;
    json_t                 *result;
    char                   *error;
    char                   *cause;
} wf_task_later_t;


static int wf_task_kind(const char *resource, size_t len, const char **arg);
static void wf_task_fire(evutil_socket_t fd, short what, void *arg);


enum {
    WF_TASK_NONE = 0,
    WF_TASK_HTTP,
    WF_TASK_STREAM,
    WF_TASK_NOTIFY,
    WF_TASK_WORKFLOW,
    WF_TASK_CALLBACK
};


int
wf_task_configure(gw_svc_t *svc)
{
    const char         *url;
    gw_svc_out_conf_t   conf;

    url = gw_svc_conf_str(svc, "notify_url");

    if (url != NULL && url[0] != '\0'
        && ((strncmp(url, "http://", 7) != 0
             && strncmp(url, "https://", 8) != 0)
            || strlen(url) > 1024 || strpbrk(url, " \t\r\n") != NULL))
    {
        fprintf(stderr, "notify_url: not an http or https URL of at most "
                "1024 bytes: \"%.100s\"\n", url);
        return -1;
    }

    memset(&conf, 0, sizeof(conf));
    conf.allow_name = "http_allow";
    conf.allow = gw_svc_conf_str(svc, "http_allow");
    conf.timeout = wf.task_timeout > 0 ? wf.task_timeout : 60000;
    conf.connect_timeout = conf.timeout < 10000 ? conf.timeout : 10000;
    conf.wait = WF_TASK_WAIT;
    conf.response_max = (size_t) gw_svc_conf_int(svc, "http_response_max");
    conf.concurrency = WF_TASK_CONCURRENCY;
    conf.metrics = "workflow_http";

    if (wf_task_exchange_configure(svc) != 0) {
        return -1;
    }

    return gw_svc_out_configure(svc, &conf);
}


/* the resource's kind; arg: what follows "tollgate:stream:" and the like */
static int
wf_task_kind(const char *resource, size_t len, const char **arg)
{
    size_t  n;

    *arg = NULL;

    n = sizeof(WF_TASK_SUFFIX) - 1;

    if (len > n && strncmp(resource + len - n, WF_TASK_SUFFIX, n) == 0) {
        len -= n;
    }

    if (len == 13 && strncmp(resource, "tollgate:http", 13) == 0) {
        return WF_TASK_HTTP;
    }

    if (len == 15 && strncmp(resource, "tollgate:notify", 15) == 0) {
        return WF_TASK_NOTIFY;
    }

    if (len == 17 && strncmp(resource, "tollgate:callback", 17) == 0) {
        return WF_TASK_CALLBACK;
    }

    if (len > 16 && strncmp(resource, "tollgate:stream:", 16) == 0) {
        *arg = resource + 16;
        return WF_TASK_STREAM;
    }

    if (len > 18 && strncmp(resource, "tollgate:workflow:", 18) == 0) {
        *arg = resource + 18;
        return WF_TASK_WORKFLOW;
    }

    return WF_TASK_NONE;
}


int
wf_task_valid(const char *resource)
{
    int          kind;
    char         name[WF_NAME_MAX + 1];
    size_t       len, n;
    const char  *arg;

    len = strlen(resource);
    kind = wf_task_kind(resource, len, &arg);

    switch (kind) {

    case WF_TASK_HTTP:
    case WF_TASK_NOTIFY:
    case WF_TASK_CALLBACK:
        return 1;

    case WF_TASK_STREAM:
    case WF_TASK_WORKFLOW:
        n = len - (size_t) (arg - resource);

        if (n > sizeof(WF_TASK_SUFFIX) - 1
            && strcmp(arg + n - (sizeof(WF_TASK_SUFFIX) - 1),
                      WF_TASK_SUFFIX) == 0)
        {
            n -= sizeof(WF_TASK_SUFFIX) - 1;
        }

        if (n > WF_NAME_MAX || n > WF_TASK_TOPIC_MAX) {
            return 0;
        }

        memcpy(name, arg, n);
        name[n] = '\0';

        return kind == WF_TASK_STREAM ? wf_task_topic_valid(name)
                                      : wf_name_valid(name, n);

    default:
        return 0;
    }
}


int
wf_task_async(const char *resource)
{
    size_t       len, n;
    const char  *arg;

    len = strlen(resource);
    n = sizeof(WF_TASK_SUFFIX) - 1;

    if (len > n && strcmp(resource + len - n, WF_TASK_SUFFIX) == 0) {
        return 1;
    }

    return wf_task_kind(resource, len, &arg) == WF_TASK_WORKFLOW;
}


int
wf_task_run(const wf_task_t *task, wf_task_pt done, void *data,
    char *error, size_t errlen)
{
    int          kind;
    char         name[WF_NAME_MAX + 1];
    size_t       n;
    const char  *arg;

    kind = wf_task_kind(task->resource, strlen(task->resource), &arg);

    switch (kind) {

    case WF_TASK_HTTP:
        return wf_task_http(task, done, data, error, errlen);

    case WF_TASK_NOTIFY:
        return wf_task_notify(task, done, data, error, errlen);

    case WF_TASK_CALLBACK:
        if (!task->callback) {
            snprintf(error, errlen, "tollgate:callback sends nothing: it "
                     "needs .waitForTaskToken");
            return -1;
        }

        if (wf_task_later(done, data, NULL, NULL, NULL) != 0) {
            snprintf(error, errlen, "out of memory");
            return -1;
        }

        return 0;

    case WF_TASK_STREAM:
    case WF_TASK_WORKFLOW:
        n = strlen(arg);

        if (n > WF_NAME_MAX
            || (kind == WF_TASK_STREAM ? !wf_task_topic_valid(arg)
                                       : !wf_name_valid(arg, n)))
        {
            snprintf(error, errlen, "a malformed name in the resource "
                     "\"%.200s\"", task->resource);
            return -1;
        }

        memcpy(name, arg, n + 1);

        return kind == WF_TASK_STREAM
               ? wf_task_stream(task, name, done, data, error, errlen)
               : wf_task_child(task, name, done, data, error, errlen);

    default:
        snprintf(error, errlen, "unknown Task resource \"%.200s\"",
                 task->resource);
        return -1;
    }
}


int
wf_task_topic_valid(const char *topic)
{
    size_t  n;

    n = strlen(topic);

    return n >= 1 && n <= WF_TASK_TOPIC_MAX
           && strspn(topic, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}


int
wf_task_later(wf_task_pt done, void *data, json_t *result,
    const char *error, const char *cause)
{
    struct timeval    tv;
    wf_task_later_t  *l;

    l = calloc(1, sizeof(wf_task_later_t));
    if (l == NULL) {
        json_decref(result);
        return -1;
    }

    l->done = done;
    l->data = data;
    l->result = result;

    if (error != NULL) {
        l->error = strdup(error);
        l->cause = strdup(cause != NULL ? cause : "");

        if (l->error == NULL || l->cause == NULL) {
            goto failed;
        }
    }

    tv.tv_sec = 0;
    tv.tv_usec = 0;

    if (event_base_once(gw_svc_base(wf.svc), -1, EV_TIMEOUT, wf_task_fire,
                        l, &tv)
        != 0)
    {
        goto failed;
    }

    return 0;

failed:

    json_decref(l->result);
    free(l->error);
    free(l->cause);
    free(l);

    return -1;
}


static void
wf_task_fire(evutil_socket_t fd, short what, void *arg)
{
    wf_task_later_t  *l = arg;

    l->done(l->result, l->error, l->cause, l->data);

    json_decref(l->result);
    free(l->error);
    free(l->cause);
    free(l);
}


int
wf_task_traceparent(const wf_task_t *task, char *out)
{
    gw_traceparent_t  tp;

    if (task->traceparent == NULL
        || gw_traceparent_parse(task->traceparent,
                                strlen(task->traceparent), &tp)
           != 0)
    {
        memset(&tp, 0, sizeof(tp));
        tp.flags = GW_TRACE_SAMPLED;

        if (gw_trace_random_ids(tp.trace_id, NULL, NULL) != 0) {
            return -1;
        }
    }

    /* the same trace, a span of our own */
    if (gw_trace_random_ids(NULL, tp.parent_id, NULL) != 0) {
        return -1;
    }

    tp.version = 0;
    gw_traceparent_format(&tp, out);

    return 0;
}
