
/*
 * Copyright (C) Tollgate
 *
 * The task dispatchers' inside (wf_task*.c), shared by them and by
 * nothing else: wf_task.c picks the part by the resource and hands it
 * the task; each part calls done exactly once, never inside its call.
 */


#ifndef _WF_TASK_INT_H_INCLUDED_
#define _WF_TASK_INT_H_INCLUDED_


#include "wf.h"
#include "gw_trace.h"


#define WF_TASK_CAUSE_MAX       512     /* bytes of a cause we write */
#define WF_TASK_TOPIC_MAX       64      /* the edge's gw_topic names */


/* each resource's start: 0, or -1 with err filled (done never runs) */
int wf_task_http(const wf_task_t *task, wf_task_pt done, void *data,
    char *err, size_t errlen);
int wf_task_notify(const wf_task_t *task, wf_task_pt done, void *data,
    char *err, size_t errlen);
int wf_task_stream(const wf_task_t *task, const char *topic,
    wf_task_pt done, void *data, char *err, size_t errlen);
int wf_task_child(const wf_task_t *task, const char *def, wf_task_pt done,
    void *data, char *err, size_t errlen);

/*
 * wf_task_exchange.c: the caller's token (task->stok) exchanged at the
 * identity service for one of audience (scope: NULL for the grant's
 * default); done gets the new token (borrowed, for the call) or error
 * and cause, exactly once, never inside the call.  0, or -1 with err
 * filled (no token kept, no identity_url; done never runs).
 */
typedef void (*wf_exchange_pt)(const char *token, const char *error,
    const char *cause, void *data);

int wf_task_exchange(const wf_task_t *task, const char *audience,
    const char *scope, long long timeout, wf_exchange_pt done, void *data,
    char *err, size_t errlen);
/* payload's auth (NULL: none): 0 with aud, scope set; -1 with err */
int wf_task_exchange_args(json_t *auth, json_t *headers, const char **aud,
    const char **scope, char *err, size_t errlen);
int wf_task_exchange_configure(gw_svc_t *svc);  /* identity_* keys */
void wf_task_exchange_free(void);

/* 1 when topic is a gw_topic name: 1 to 64 of [a-z0-9_.-] */
int wf_task_topic_valid(const char *topic);

/*
 * done(result, error, cause, data) on the next turn of the loop (result
 * is taken: released after done); 0, or -1 when no event could be made
 * (done never runs, result released).
 */
int wf_task_later(wf_task_pt done, void *data, json_t *result,
    const char *error, const char *cause);

/*
 * The traceparent an outgoing call carries: task's trace continued with
 * a new span (a new trace when task has none or a malformed one); out
 * holds GW_TRACEPARENT_LEN + 1 bytes.  0 or -1.
 */
int wf_task_traceparent(const wf_task_t *task, char *out);

/*
 * wf_task_http.c: the outcome of an HTTP call (http or notify), from the
 * kit's answer, to done: on 2xx, whole 1: {"StatusCode", "Headers",
 * "ResponseBody"}, whole 0: the parsed body alone; else the error by
 * AWS's names (States.Http.StatusCode.<code>, States.Timeout,
 * States.TaskFailed) and a cause.
 */
void wf_task_http_outcome(const gw_svc_out_res_t *res, int whole,
    wf_task_pt done, void *data);


#endif /* _WF_TASK_INT_H_INCLUDED_ */
