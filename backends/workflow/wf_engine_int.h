
/*
 * Copyright (C) Tollgate
 *
 * The engine's parts (wf_engine*.c, wf_fork.c, wf_mock.c): what they
 * share and nobody else uses.  One wf_x_t is one claimed execution
 * being worked: its hash as loaded, its place in the definition, the
 * context object, and the commit being built.  A commit is one
 * document (ARGV[1] of wf_script_step), built field by field, then
 * sent; its reply continues the work in x->then.
 */


#ifndef _WF_ENGINE_INT_H_INCLUDED_
#define _WF_ENGINE_INT_H_INCLUDED_


#include "wf.h"


typedef struct wf_x_s  wf_x_t;

/* after a stored commit (ok 1) or a refused one (ok 0: already freed) */
typedef void (*wf_x_then_pt)(wf_x_t *x);


struct wf_x_s {
    json_t                 *h;          /* the hash: field -> string */
    json_t                 *rinfo;      /* the root's status, mocks,
                                           input, name, start, redrives */
    const char             *id;         /* into h */
    const char             *root;
    const char             *branch;     /* the id past the root's, or
                                           NULL for a top execution */
    long long               seq;        /* the stored seq we hold */
    json_t                 *mocks;      /* test mode: the root's */

    wf_def_t               *def;
    gw_asl_machine_t       *m;
    const gw_asl_state_t   *st;
    json_t                 *sin;        /* the state's raw input */
    long long               entered;
    long long               xdl;        /* the top's TimeoutSeconds
                                           deadline (ms), 0: none */
    json_t                 *ctx;        /* the context object */
    gw_asl_step_t           step;
    unsigned                retries[GW_ASL_RETRIERS_MAX];

    json_t                 *c;          /* the commit being built */
    char                   *text;       /* its text, while queued */
    wf_x_t                 *next;       /* in the commits' queue */
    json_t                 *set;
    json_t                 *del;
    json_t                 *ev;
    wf_x_then_pt            then;
    long long               llen;       /* the history's length */
    long long               mu;         /* mocks taken, with "mu" */
    int                     ended;
    int                     kick;       /* the commit makes others due */
    int                     task;       /* a task in flight */
    int                     async;      /* its answer comes later */
    long long               deadline;   /* the task's, ms */
    long long               park;       /* a callback's due once sent:
                                           its deadline or heartbeat's */
    struct event           *renew;      /* the lease renewed meanwhile */

    char                    idem[WF_ID_MAX + 32];
    char                    token[WF_TOKEN_LEN + 1];
};


/* wf_engine.c, wf_engine_commit.c */
const char *wf_x_str(wf_x_t *x, const char *field);      /* "" absent */
long long wf_x_int(wf_x_t *x, const char *field);
const char *wf_x_rstr(wf_x_t *x, int i);    /* rinfo's member i */
void wf_x_finish(wf_x_t *x);                /* work over: freed */
int wf_x_context(wf_x_t *x);                /* x->ctx for x->st */

int wf_x_begin(wf_x_t *x);
void wf_x_set(wf_x_t *x, const char *field, const char *value);
void wf_x_setn(wf_x_t *x, const char *field, long long value);
void wf_x_setj(wf_x_t *x, const char *field, json_t *value);
void wf_x_del(wf_x_t *x, const char *field);
/* an event of x (fields stolen, may be NULL) for the history */
void wf_x_event(wf_x_t *x, const char *type, json_t *fields);
json_t *wf_x_event_json(wf_x_t *x, const char *type, json_t *fields);
/* sends the commit; then runs after it is stored, else x is freed */
void wf_x_commit(wf_x_t *x, wf_x_then_pt then);
char *wf_dump(json_t *v);                   /* compact, malloc'ed */

/* wf_engine_step.c */
void wf_x_run(wf_x_t *x);                   /* the loaded phase */
void wf_x_enter(wf_x_t *x);                 /* x->st with x->sin */
void wf_x_next(wf_x_t *x, gw_asl_next_e next);  /* after the library */
gw_asl_next_e wf_x_fail(wf_x_t *x, const char *error, const char *cause);
void wf_x_end(wf_x_t *x, const char *status, json_t *output,
    const char *error, const char *cause);
void wf_x_after(wf_x_t *x);                 /* a GO stored: go on */
double wf_x_rnd(wf_x_t *x);                 /* [0, 1) for jitter */

/* wf_engine_task.c */
void wf_x_dispatch(wf_x_t *x);              /* GW_ASL_DISPATCH */
void wf_x_task_send(wf_x_t *x, json_t *payload, const char *idem,
    long long timeout);
void wf_x_renew_stop(wf_x_t *x);
void wf_x_park(wf_x_t *x, long long due);

/* wf_fork.c */
void wf_fork_start(wf_x_t *x);              /* GW_ASL_FORK from enter */
void wf_fork_claimed(wf_x_t *x);            /* phase fork */

/* wf_mock.c: the answer n (0-based) of the state's mocks */
int wf_mock_answer(json_t *mocks, const char *state, long long n,
    json_t **result, const char **error, const char **cause);


/* stored JSON: any value, strings with NUL ("\u0000") as the API took */
#define WF_LOADS        (JSON_DECODE_ANY | JSON_ALLOW_NUL)


#define WF_RI_STATUS    0
#define WF_RI_MOCKS     1
#define WF_RI_INPUT     2
#define WF_RI_NAME      3
#define WF_RI_START     4
#define WF_RI_REDRIVES  5


#endif /* _WF_ENGINE_INT_H_INCLUDED_ */
