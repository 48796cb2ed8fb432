
/*
 * Copyright (C) Tollgate
 *
 * What the API's files (wf_def*.c, wf_api*.c) share and no other part
 * needs: the definitions' check, the scripts the API alone runs, the
 * handlers each file adds, and the small helpers of their answers.
 */


#ifndef _WF_API_H_INCLUDED_
#define _WF_API_H_INCLUDED_


#include "wf.h"


#define WF_LIST_DFLT      100
#define WF_LIST_MAX       1000
#define WF_DESC_MAX       1024      /* bytes of a definition's description */
#define WF_CURSOR_MAX     128


/* the scripts of reads, private to the API (inited by wf_api_routes) */
extern gw_svc_script_t  wf_script_def_get;  /* wf_def.c */
extern gw_svc_script_t  wf_script_list;     /* wf_api_list.c */
extern gw_svc_script_t  wf_script_history;


/*
 * The definition of body, checked: {"definition" (an object),
 * "compensation"?, "description"?}; the stored document (without
 * "name", "version" and "created") or NULL when req was answered.
 */
json_t *wf_def_check(gw_svc_req_t *req, json_t *body);

/* an audit event's text without its "id" (malloc'ed), NULL: no memory */
char *wf_audit(const char *request_id, const char *actor, const char *action,
    const char *resource, int status);

/* an integer of a query (?name=), within [min, max]; -1 when answered */
int wf_query_int(gw_svc_req_t *req, const char *q, const char *name,
    long long dflt, long long min, long long max, long long *v);

/* the value of name in the query, copied into buf; 0, 1 absent, -1 */
int wf_query_str(gw_svc_req_t *req, const char *q, const char *name,
    char *buf, size_t size);

/* handlers of wf_api_list.c and wf_api_token.c */
void wf_api_list(gw_svc_req_t *req, wf_caller_t *caller);
void wf_api_history(gw_svc_req_t *req, wf_caller_t *caller,
    const char *id);
void wf_api_describe(gw_svc_req_t *req, wf_caller_t *caller,
    const char *id);
void wf_api_stop(gw_svc_req_t *req, wf_caller_t *caller, const char *id);
void wf_api_redrive(gw_svc_req_t *req, wf_caller_t *caller,
    const char *id);
void wf_api_token(gw_svc_req_t *req, void *data);

/* gw_svc_eval() of NUL-terminated arguments */
int wf_api_eval(gw_svc_script_t *script, int argc, const char **argv,
    gw_svc_eval_pt cb, void *data);

/* 404 for an execution the caller may not see or that does not exist */
void wf_api_not_found(gw_svc_req_t *req, const char *id);


#endif /* _WF_API_H_INCLUDED_ */
