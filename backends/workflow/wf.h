
/*
 * Copyright (C) Tollgate
 *
 * The workflow service (docs/workflow.md, "The service"): what its parts
 * share.  The language is lib/asl's (gw_asl.h); this service keeps an
 * execution's place between the calls of gw_asl_enter/resume/fail in
 * Redis, one script per transition, and runs the effects a state asks
 * for only after the transition that asks for them is stored.
 *
 * The parts:
 *   wf_main.c      the command: `workflow check|run` (wf_cli.c), else
 *                  the service: configuration, routes, metrics, start
 *   wf_cli.c       `workflow check FILE`, `workflow run FILE ...`
 *   wf_def*.c      definitions: the API (versions) and a cache of the
 *                  parsed ones
 *   wf_api*.c      executions: start, describe, history, list, stop,
 *                  redrive; the task-token calls
 *   wf_engine*.c   the claim loop and the transitions
 *   wf_fork.c      Parallel and Map: children executions
 *   wf_task*.c     task dispatch by resource
 *   wf_util.c      ids, time, tokens, callers, bodies
 *   wf_stok.c      the caller's token, sealed for tollgate:http's auth
 *
 * A Lua script lives in the file of the part that runs it (a
 * gw_svc_script_t declared below); wf_main.c initialises them all.
 *
 * Redis keys (all under gw:wf:):
 *
 *   gw:wf:def:<name>   hash: "latest" (the newest version number),
 *                      "deleted" (ms, when deleted: no new executions),
 *                      "<n>" the stored document of version n: {"name",
 *                      "version", "definition" (the ASL object),
 *                      "compensation" (a top-level state's name, or
 *                      absent), "description", "created" (ms)}
 *   gw:wf:defs         zset, score 0: every definition's name
 *   gw:wf:x:<id>       hash: one execution (WF_F_* below)
 *   gw:wf:h:<root>     list: the history of an execution and of all its
 *                      children, one JSON event each (WF_EV_* below)
 *   gw:wf:name:<def>:<name>  the id of the execution of that name
 *   gw:wf:ls:<def>     zset (score: start ms): the top executions of def
 *   gw:wf:ls:<def>:<STATUS>  the same, by status
 *   gw:wf:due          zset (score: ms): what is due when.  An entry is
 *                      an execution's id.  A claim takes entries due by
 *                      now and scores them now + lease: an instance that
 *                      dies leaves the lease to run out, and the entry
 *                      comes due again for any instance.
 *   gw:wf:tok:<sha256 hex of a task token>  "<id> <seq>": the execution
 *                      waiting for that token, and the transition it
 *                      waits in
 *   gw:audit           the audit stream (XADD ... event <json>)
 *
 * Ids: an execution's "wx_" and 26 Crockford base32 characters (time
 * first); a child of a Parallel or Map, "<parent id>.<slot>"; a child
 * workflow started by a Task is a top execution of its own with parent
 * set (slot "t").
 */


#ifndef _WF_H_INCLUDED_
#define _WF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "gw_svc.h"
#include "gw_asl.h"


#define WF_ID_MAX         256     /* an id, children's included */
#define WF_NAME_MAX       80      /* an execution's or definition's name:
                                     [A-Za-z0-9_-], 1 to 80 */
#define WF_OWNER_MAX      255
#define WF_TOKEN_LEN      43      /* a task token: base64url of 32 bytes */


/* statuses, as stored and answered */
#define WF_RUNNING        "RUNNING"
#define WF_SUCCEEDED      "SUCCEEDED"
#define WF_FAILED         "FAILED"
#define WF_TIMED_OUT      "TIMED_OUT"
#define WF_ABORTED        "ABORTED"

/*
 * An execution's phase: what it waits for.
 *   enter     to enter "state" with "sin" (due now, or after a retry's
 *             delay)
 *   task      a task dispatched ("attempt" times); due at its deadline
 *             (TimeoutSeconds, else task_timeout) when no answer came
 *   callback  a .waitForTaskToken task: waits for its token; due at its
 *             deadline or heartbeat deadline, whichever is first
 *   wait      a Wait: due at its end
 *   fork      a Parallel or Map: waits for its children ("c:<slot>")
 *   resume    a result came ("res"): resume the state with it (due now)
 *   fail      an error came ("rerr", "rcause"): fail the state (due now)
 *   done      ended ("status" is not RUNNING); not in gw:wf:due
 */
#define WF_P_ENTER        "enter"
#define WF_P_TASK         "task"
#define WF_P_CALLBACK     "callback"
#define WF_P_WAIT         "wait"
#define WF_P_FORK         "fork"
#define WF_P_RESUME       "resume"
#define WF_P_FAIL         "fail"
#define WF_P_DONE         "done"

/*
 * The fields of gw:wf:x:<id> (absent: "" or 0):
 *   id, root (the top execution's id; its own for a top one), parent
 *   (the parent's id), slot (the index in the parent's fork, or "t" for
 *   a child workflow), pseq (the parent's seq when the child started),
 *   def, ver, name, owner, status, start (ms), stop (ms), input (the
 *   execution's input, JSON), ihash (SHA-256 hex of the input's compact
 *   text with sorted keys: a name's idempotency), output, error, cause,
 *   machine (the JSON pointer of the machine it runs in the definition:
 *   "" for the top one, "/States/P/Branches/1", "/States/M/ItemProcessor"
 *   or "/States/M/Iterator"), state (the state's name), sin (the state's
 *   raw input, JSON), entered (ms: when the state was entered), phase,
 *   seq (transitions stored, the script's check), retries (a JSON array
 *   of the state's retries per retrier, "" for none), attempt (the
 *   task's dispatches, for its idempotency key), pl (the task's payload,
 *   JSON), deadline (ms), hb (heartbeat seconds), hbdl (ms),
 *   res (JSON) / rerr / rcause (the result to resume or fail with),
 *   ctx (JSON: $$.Map.Item {"Index", "Value"} of a Map's child),
 *   items (fork: JSON array of the children's inputs), conc (fork: at
 *   most this many children at once, 0 none), fnext (the next slot to
 *   start), fdone (children ended), c:<slot> (a child's end: {"output"}
 *   or {"error", "cause"}), tp (the traceparent tasks continue),
 *   redrives, fstate / fsin (where and with what input it failed, for
 *   redrive), comp (1: stopped, running its compensation), mocks (test
 *   mode only: the execution's mocks, JSON), mu:<state> (mocks taken),
 *   stok (the caller's bearer token, sealed: wf_stok.c; a fork child
 *   copies its parent's).
 *   The engine's own: tol (fork: a Map's tolerances {"pct", "count"}),
 *   pstate and pkind (a fork child: its parent's state, "map" or "par");
 *   deadline is also a Wait's end.
 */


/* ---- the process-wide context (wf_main.c) -------------------------------- */

typedef struct {
    gw_svc_t               *svc;
    struct event_base      *base;
    int                     stopped;    /* draining: start nothing new */
    char                    instance[64];

    long long               lease;      /* ms a claim holds an execution */
    long long               poll;       /* ms between claims when idle */
    unsigned                batch;      /* executions claimed at once */
    unsigned                inflight;   /* executions worked at once */
    long long               task_timeout;   /* ms, a Task without
                                               TimeoutSeconds */
    long long               history_max;    /* events of one execution */
    long long               keep;       /* ms an ended execution is kept */
    long long               drain;      /* ms a stop waits */
    int                     mocks;      /* test mode: "mocks" accepted */
    unsigned char           key[32];    /* secret_key_file: task tokens */
} wf_t;

extern wf_t  wf;


/* ---- metrics (wf_main.c registers them) ---------------------------------- */

typedef struct {
    gw_svc_metric_t        *started;    /* {definition} */
    gw_svc_metric_t        *ended;      /* {definition, status} */
    gw_svc_metric_t        *seconds;    /* {definition}: start to end */
    gw_svc_metric_t        *transitions;    /* {definition} */
    gw_svc_metric_t        *tasks;      /* {kind, result} */
    gw_svc_metric_t        *lost;       /* commits refused: moved on */
    gw_svc_metric_t        *running;    /* gauge: worked now */
} wf_metrics_t;

extern wf_metrics_t  wf_m;


/* `workflow check|run` (wf_cli.c): argv[1] is "check" or "run" */
int wf_cli(int argc, char **argv);


/* ---- utilities (wf_util.c) ----------------------------------------------- */

long long wf_now_ms(void);
void wf_rfc3339(long long ms, char *buf, size_t size);  /* 32 bytes */

/* a new execution id "wx_..." into id (WF_ID_MAX); 0 or -1 */
int wf_id_new(char *id);
int wf_id_valid(const char *id);        /* a top one or a child's */
int wf_name_valid(const char *name, size_t len);

/*
 * The task token of an execution's transition: base64url of
 * HMAC-SHA256(wf.key, "<id> <seq>"), WF_TOKEN_LEN + 1 bytes; and the
 * SHA-256 hex of a token (65 bytes), its key in gw:wf:tok:.
 */
int wf_token(const char *id, long long seq, char *token);
int wf_token_hash(const char *token, size_t len, char *hex);

typedef struct {
    char                    owner[WF_OWNER_MAX + 1];
    int                     admin;      /* workflow:admin or admin:write */
} wf_caller_t;

/*
 * The caller of req (X-Consumer-ID, else X-Consumer-Subject; the scopes
 * of X-Consumer-Scope); -1 when req was answered (400 for a duplicated
 * or malformed header, 401 without one).
 */
int wf_caller(gw_svc_req_t *req, wf_caller_t *caller);

/* the body as a JSON object (cap: body_max); NULL when req was answered */
json_t *wf_body(gw_svc_req_t *req);

void wf_unavailable(gw_svc_req_t *req);     /* 503, Redis down */


/* ---- scripts (each in its part's file; wf_main.c inits them) ------------- */

extern gw_svc_script_t  wf_script_start;    /* wf_api.c */
extern gw_svc_script_t  wf_script_step;     /* wf_engine.c */
extern gw_svc_script_t  wf_script_claim;
extern gw_svc_script_t  wf_script_park;
extern gw_svc_script_t  wf_script_stop;     /* wf_api.c */
extern gw_svc_script_t  wf_script_redrive;
extern gw_svc_script_t  wf_script_token;    /* the task-token calls */
extern gw_svc_script_t  wf_script_def_put;  /* wf_def.c */
extern gw_svc_script_t  wf_script_def_del;



/* ---- definitions (wf_def.c) ---------------------------------------------- */

typedef struct {
    char                    name[WF_NAME_MAX + 1];
    long long               version;
    gw_asl_def_t           *asl;
    const char             *compensation;   /* a top state, or NULL */
} wf_def_t;

/*
 * The parsed definition name at version ver, from the cache or Redis;
 * done runs exactly once (perhaps inside the call) with NULL when it
 * does not exist or Redis failed (err says which).  The definition
 * stays valid until wf_def_release().
 */
typedef void (*wf_def_pt)(wf_def_t *def, const char *err, void *data);

void wf_def_get(const char *name, long long ver, wf_def_pt done,
    void *data);
void wf_def_release(wf_def_t *def);

int wf_def_routes(gw_svc_t *svc);

/* the machine at pointer (WF_F machine) in def, NULL when none */
gw_asl_machine_t *wf_def_machine(wf_def_t *def, const char *pointer);


/* ---- executions (wf_api*.c) ---------------------------------------------- */

int wf_api_routes(gw_svc_t *svc);

/*
 * Starts an execution of def (version ver, 0: the latest) named name
 * (NULL: its id) with input, for owner, continuing traceparent (may be
 * NULL), for the audit event request_id (NULL: none); parent/pseq: a
 * Task's child workflow (NULL: a top one).  done
 * gets 201 (new), 200 (the same name and input: that execution), 404,
 * 409 (the name taken with another input), 422, 503, and the execution
 * id; exactly once, never inside the call.
 */
typedef void (*wf_started_pt)(int status, const char *id, const char *err,
    void *data);

void wf_start(const char *def, long long ver, const char *name,
    json_t *input, const char *owner, const char *traceparent,
    const char *request_id, const char *parent, long long pseq,
    json_t *mocks, wf_started_pt done, void *data);

/*
 * wf_start with the caller's bearer token (NULL: none), kept sealed in
 * the execution's "stok" (wf_stok.c) for tollgate:http's auth.exchange.
 */
void wf_start_tok(const char *def, long long ver, const char *name,
    json_t *input, const char *owner, const char *traceparent,
    const char *request_id, const char *parent, long long pseq,
    json_t *mocks, const char *stok, wf_started_pt done, void *data);


/* ---- the caller's token (wf_stok.c) -------------------------------------- */

#define WF_STOK_MAX       8192    /* bytes of a caller's bearer token */

/*
 * Seals tok (len bytes, 1 to WF_STOK_MAX) for the execution whose root
 * id is aad: *out malloc()ed text for the field "stok".  Opens it again:
 * *tok malloc()ed, NUL-ended, to release with wf_stok_free() (cleansed).
 * 0 or -1 (a sealed value of another root, altered, or another key).
 */
int wf_stok_seal(const char *tok, size_t len, const char *aad, char **out);
int wf_stok_open(const char *sealed, const char *aad, char **tok);
void wf_stok_free(char *tok);


/* ---- the engine (wf_engine*.c) ------------------------------------------- */

int wf_engine_start(void);
void wf_engine_stop(void);
void wf_engine_drain(void);

/* something became due now: claim without waiting for the next poll */
void wf_engine_kick(void);


/* ---- tasks (wf_task*.c) -------------------------------------------------- */

/*
 * A Task's resource, by its URI (docs/workflow.md, "Task resources"):
 *   tollgate:http                 an HTTP call: payload {"method", "url",
 *                                 "headers", "body", "timeout_seconds"}
 *   tollgate:stream:<topic>       XADD to the topic: payload {"data",
 *                                 "key"}
 *   tollgate:notify               POST the payload to the notification
 *                                 service's /v1/notifications
 *   tollgate:workflow:<def>       start a child execution of <def> with
 *                                 the payload as input; its output is the
 *                                 result
 *   tollgate:callback             nothing sent: with .waitForTaskToken,
 *                                 waits for the token alone
 * and any of them with ".waitForTaskToken": the token is in the context
 * ($$.Task.Token), the result comes by SendTaskSuccess/Failure.
 * Anything else fails the task with States.TaskFailed (in test mode,
 * with mocks, the mocks answer by state name instead).
 */
typedef struct {
    const char             *id;         /* the execution's */
    const char             *root;
    const char             *state;
    const char             *resource;   /* without .waitForTaskToken */
    int                     callback;   /* .waitForTaskToken */
    json_t                 *payload;
    const char             *idem;       /* "<id>:<seq>": the attempt's
                                           idempotency key */
    const char             *traceparent;
    const char             *owner;
    long long               seq;
    long long               timeout;    /* ms */
    const char             *stok;       /* the execution's sealed caller
                                           token ("stok"), "" or NULL:
                                           none; opened with root */
} wf_task_t;

/*
 * The outcome: result (borrowed, may be NULL for a callback's send),
 * or error and cause (a failed task: "States.TaskFailed",
 * "States.Timeout", or the target's own error name).
 */
typedef void (*wf_task_pt)(json_t *result, const char *error,
    const char *cause, void *data);

/*
 * Starts task; done runs exactly once, never inside the call (a
 * callback task's done says only whether the send went out).  -1 with
 * error filled when the resource is unknown or refused (done never
 * runs).
 */
int wf_task_run(const wf_task_t *task, wf_task_pt done, void *data,
    char *error, size_t errlen);

int wf_task_configure(gw_svc_t *svc);   /* http_allow, notify_url, ... */
int wf_task_valid(const char *resource);    /* 1 when known */

/*
 * 1 when the result of resource comes later, not to done: a
 * .waitForTaskToken (by the token calls) or a child workflow (when the
 * child ends, its end is written into the parent by the engine's
 * script).  The engine then waits in phase callback; done says only
 * whether the task went out (an error fails the task at once).
 */
int wf_task_async(const char *resource);


#endif /* _WF_H_INCLUDED_ */
