
/*
 * Copyright (C) Tollgate
 *
 * What the core parts share (ntf_accept.c, ntf_check.c, ntf_ids.c,
 * ntf_api.c, ntf_dlq.c, ntf_sched.c, ntf_script.c, ntf_stream.c): the
 * Redis scripts that make every state change, accepting a notification,
 * identifiers and the metrics.
 */


#ifndef _NTF_CORE_H_INCLUDED_
#define _NTF_CORE_H_INCLUDED_


#include "ntf.h"


#define NTF_PTR_MAX         128     /* a JSON pointer we answer */
#define NTF_OWNER_MAX       255     /* bytes of an owner */
#define NTF_RECIPIENTS_MAX  100
#define NTF_ATTACHMENTS_MAX 10
#define NTF_TYPE_MAX        128
#define NTF_NAME_MAX        128     /* a template's or push channel's name */
#define NTF_IDEM_KEY_MAX    255     /* decoded bytes of an Idempotency-Key */
#define NTF_IDEM_LEN        (sizeof("gw:ntf:idem:") - 1 + 64)


/* ---- scripts (ntf_script.c) ---------------------------------------------- */

/* the kit's scripts (gw_svc.h, "Redis scripts"), run by gw_svc_eval() */
typedef gw_svc_script_t  ntf_script_t;

extern ntf_script_t  ntf_script_accept;     /* ntf_accept.c */
extern ntf_script_t  ntf_script_claim;      /* ntf_sched.c */
extern ntf_script_t  ntf_script_finish;
extern ntf_script_t  ntf_script_get;        /* ntf_api.c */
extern ntf_script_t  ntf_script_list;
extern ntf_script_t  ntf_script_dlq_list;   /* ntf_dlq.c */
extern ntf_script_t  ntf_script_replay;
extern ntf_script_t  ntf_script_discard;

/* every script's sha filled (gw_svc_script_init()); 0 or -1 */
int ntf_script_init(void);


/* ---- accepting (ntf_accept.c) -------------------------------------------- */

typedef struct {
    int                     status;     /* 202, 4xx, 503 */
    int                     replayed;   /* an Idempotency-Key's first */
    unsigned                deliveries;
    char                    id[NTF_ID_MAX];
    char                    pointer[NTF_PTR_MAX];
    char                    error[NTF_ERR_MAX];
} ntf_accepted_t;

typedef void (*ntf_accept_pt)(const ntf_accepted_t *res, void *data);

/* ntf_check.c: a request's shape, its channel and type ("" for none) */
typedef struct {
    json_t                 *request;
    const char             *channel;
    const char             *type;
    const char             *owner;
    int                     admin;      /* may push to any channel */
    ntf_accepted_t         *res;        /* the refusal */
} ntf_check_t;

/* 0, or -1 with res's status (422), pointer and error */
int ntf_check(ntf_check_t *check);
int ntf_check_owner(json_t *owner);

/*
 * Accepts request (a parsed body without "owner"; a reference is taken)
 * for owner (admin: an admin's or a service's, which may push to any
 * channel; others only to "c.<owner>"): checks it, renders it, fans it
 * out and stores it with its deliveries by one script.  idem is the
 * idempotency record's key (ntf_idem_key()) or NULL.  done runs exactly
 * once, perhaps inside the call.
 */
void ntf_accept(const char *owner, int admin, json_t *request,
    const char *idem,
    const char *traceparent, ntf_accept_pt done, void *data);

/* ntf_ids.c */

/* "gw:ntf:idem:<sha256 hex of owner NUL key>" into out (NTF_IDEM_LEN+1) */
int ntf_idem_key(const char *owner, const char *key, size_t klen,
    char *out);

/* a new notification id, "ntf_" and 26 Crockford base32 characters */
int ntf_id_new(char *id);
void ntf_id_at(long long ms, char *id);
int ntf_id_valid(const char *id);
int ntf_did_valid(const char *did);

long long ntf_now_ms(void);
void ntf_rfc3339(long long ms, char *buf, size_t size);


/* ---- metrics (ntf_sched.c) ----------------------------------------------- */

typedef struct {
    gw_svc_metric_t        *accepted;   /* {channel} */
    gw_svc_metric_t        *attempts;   /* {channel, result} */
    gw_svc_metric_t        *delivered;  /* {channel} */
    gw_svc_metric_t        *dead;       /* {channel} */
    gw_svc_metric_t        *due;
    gw_svc_metric_t        *inflight;
    gw_svc_metric_t        *seconds;    /* {channel} */
} ntf_metrics_t;

extern ntf_metrics_t  ntf_m;


/* ---- the API's callers (ntf_api.c) --------------------------------------- */

typedef struct {
    char                    owner[NTF_OWNER_MAX + 1];
    int                     admin;      /* notify:admin or admin:write */
} ntf_caller_t;

/*
 * The caller of req from the identity headers; -1 when the request was
 * answered (400 for a duplicated or malformed header, 401 without one).
 */
int ntf_api_caller(gw_svc_req_t *req, ntf_caller_t *caller);

/* the owner a request acts for: ?owner= (admins) or the caller; -1 answered */
int ntf_api_query(gw_svc_req_t *req, ntf_caller_t *caller, char *cursor,
    size_t clen, long long *limit);

void ntf_api_unavailable(gw_svc_req_t *req);

/* a string reply's integer, 0 for another type */
json_t *ntf_api_int(redisReply *r);

void ntf_api_list(gw_svc_req_t *req, ntf_caller_t *caller);  /* ntf_list.c */

int ntf_dlq_routes(gw_svc_t *svc);     /* ntf_dlq.c */


#endif /* _NTF_CORE_H_INCLUDED_ */
