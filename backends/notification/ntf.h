
/*
 * Copyright (C) Tollgate
 *
 * The notification service's shared contract (docs/notification.md).
 *
 * A notification is accepted by POST /v1/notifications or from the
 * stream gw:ntf:in, rendered at once (a template's errors are the
 * caller's 4xx), and stored with its deliveries by one Redis script
 * before the 202: from then on Redis holds it (AOF) and nothing in this
 * process is needed to deliver it.  Each delivery sits in the zset
 * gw:ntf:due scored by when it is due; the scheduler (ntf_sched.c)
 * claims due ones by moving their score past a lease, hands each to its
 * channel (webhook, email, push), and records the outcome: delivered,
 * retried on the schedule, failed for good (dead-letter list), or its
 * subscription disabled.  A process killed mid-delivery loses only its
 * leases: the deliveries come due again and go out again (at least once;
 * receivers deduplicate by webhook-id).
 *
 * Parts (ntf_core.h, ntf_mime.h, ntf_sign.h and ntf_subs.h declare
 * what they share; outbound HTTP for webhooks and push is the service
 * kit's, gw_svc.h):
 *   ntf_main.c        configuration, routes, the loop's start, drain, stop
 *   ntf_api.c         POST /v1/notifications, GET one; the caller, idempotency
 *   ntf_list.c        GET /v1/notifications: listings, their cursor and limit
 *   ntf_dlq.c         the dead-letter list's API: list, replay, discard
 *   ntf_check.c       a notification request's shape, checked first
 *   ntf_accept.c      rendering and the accept script (API and stream)
 *   ntf_ids.c         notification and delivery ids, idempotency keys, times
 *   ntf_script.c      the Redis scripts of every state change, EVALSHA
 *   ntf_stream.c      notifications from the stream gw:ntf:in
 *   ntf_sched.c       the due zset: claims, dispatch, outcomes, backoff
 *   ntf_subs.c        webhook subscriptions' API: the caller, the collection
 *   ntf_subs_item.c   one subscription: GET, PATCH, DELETE, rotate, test
 *   ntf_subs_json.c   subscriptions as JSON: members checked, shown
 *   ntf_subs_store.c  subscriptions read for deliveries, matched at accept
 *   ntf_subs_seal.c   their secrets sealed (AES-256-GCM, secret_key_file)
 *   ntf_subs_track.c  their failures tracked, disabling, the owner told
 *   ntf_sign.c        Standard Webhooks signatures (v1, v1a)
 *   ntf_webhook.c     the webhook channel
 *   ntf_mime.c        email messages (RFC 5322, MIME), built
 *   ntf_mime_check.c  an email payload's checks: addresses, header bytes
 *   ntf_mime_enc.c    email encodings (RFC 2045, 2047, 2231, 5322)
 *   ntf_smtp.c        the email channel (SMTP through libcurl)
 *   ntf_smtp_pool.c   its worker threads: each transaction off the loop
 *   ntf_push.c        the push channel (the edge's publisher location)
 *   ntf_tmpl.c        templates: the metadata entities, rendered
 */


#ifndef _NTF_H_INCLUDED_
#define _NTF_H_INCLUDED_


#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <jansson.h>

#include "gw_svc.h"


#define NTF_ID_MAX          40      /* "ntf_" + 26 base32 + NUL, padded */
#define NTF_DID_MAX         64      /* "<nid>.<n>" */
#define NTF_KEY_MAX         512     /* a Redis key we build */
#define NTF_ERR_MAX         256     /* an attempt's error text */
#define NTF_RETRY_MAX       32      /* steps of a retry schedule */


typedef struct ntf_delivery_s   ntf_delivery_t;


/* what one attempt came to, as a channel reports it */
typedef enum {
    NTF_OK = 0,             /* delivered */
    NTF_RETRY,              /* failed for now: again on the schedule */
    NTF_FAIL,               /* failed for good: the dead-letter list */
    NTF_GONE                /* 410: the subscription is disabled */
} ntf_result_e;


typedef struct {
    ntf_result_e            result;
    int                     status;     /* HTTP or SMTP code; 0: none */
    long long               latency;    /* ms, the attempt's start to end */
    long long               retry_after;    /* ms the target asked; 0 */
    char                    error[NTF_ERR_MAX];     /* "" when none */
} ntf_outcome_t;


/*
 * One delivery as the scheduler hands it to its channel: read from its
 * hash gw:ntf:d:<id>.  payload is what ntf_accept.c rendered for the
 * channel (docs/notification.md, "Deliveries"):
 *   webhook  {"sub": id, "type": event type, "data": any}
 *   email    {"to": [...], "subject", "text", "html", "attachments"}
 *   push     {"channel": name, "type": event type, "data": any}
 * The channel owns nothing in it; it calls done exactly once, later than
 * its send() returns, and must not touch d after that.
 */
typedef void (*ntf_done_pt)(ntf_delivery_t *d, const ntf_outcome_t *out);

struct ntf_delivery_s {
    char                    id[NTF_DID_MAX];    /* also the webhook-id */
    char                    nid[NTF_ID_MAX];    /* its notification */
    const char             *channel;    /* "webhook", "email", "push" */
    json_t                 *payload;
    unsigned                attempt;    /* 1 for the first */
    long long               created;    /* ms, the notification's */
    ntf_done_pt             done;
    void                   *data;       /* the scheduler's */
};


typedef struct {
    const char             *name;
    /* starts an attempt; -1 (with out filled) when it cannot start */
    int                   (*send)(ntf_delivery_t *d, ntf_outcome_t *out);
} ntf_channel_t;


/* the process-wide context */
typedef struct {
    gw_svc_t               *svc;
    struct event_base      *base;
    int                     stopped;
    char                    instance[64];

    long long               lease;      /* ms a claimed delivery is ours */
    long long               poll;       /* ms between scheduler polls */
    unsigned                batch;      /* deliveries claimed per poll */
    unsigned                inflight;   /* attempts in flight, at most */
    long long               retry[NTF_RETRY_MAX];   /* ms after attempt i */
    unsigned                nretry;
    unsigned                jitter;     /* percent, +- */
    long long               disable_after;  /* ms of failures */
    long long               keep;       /* ms a finished one is kept */
    long long               drain;      /* ms a stop waits for attempts */
} ntf_t;


extern ntf_t                ntf;

extern const ntf_channel_t  ntf_webhook_channel;
extern const ntf_channel_t  ntf_email_channel;
extern const ntf_channel_t  ntf_push_channel;


/*
 * Each part's start and stop on the loop, called by ntf_main.c in this
 * order (stop in reverse): 0, or -1 with the reason logged, which stops
 * the service.  Routes are registered by ntf_*_routes() before the run.
 */
int ntf_api_routes(gw_svc_t *svc);         /* ntf_api.c */
int ntf_subs_routes(gw_svc_t *svc);        /* ntf_subs.c */

int ntf_sched_start(void);                 /* ntf_sched.c */
void ntf_sched_stop(void);

/*
 * The graceful stop's start (ntf.stopped already set): no attempt starts
 * any more; the kit's stop is held until the attempts in flight are
 * recorded or drain_timeout passes (those left keep their lease).
 */
void ntf_sched_drain(void);
int ntf_stream_start(void);                /* ntf_stream.c */
void ntf_stream_stop(void);

/* ntf_main.c's checks of the parts' own configuration: -1 on stderr */
int ntf_sched_configure(gw_svc_t *svc);    /* retry_schedule */
int ntf_subs_configure(gw_svc_t *svc);     /* secret_key_file */
int ntf_smtp_configure(gw_svc_t *svc);     /* smtp_* */


/*
 * ntf_tmpl.c: a request's content for its channel, from its "template"
 * (the metadata service's templates entity, read from Redis) or its
 * "body", rendered with its "data" by lib/template.  done runs once,
 * never inside the call: rendered (the caller's reference) is
 *   webhook, push  {"data": any JSON}
 *   email          {"subject": s, "text": s, "html": s} (text or html)
 * or NULL with status 422 (a bad template or data; pointer names the
 * member, e.g. "/data/customer" or "/template"), 404 (no such template:
 * the caller answers 422) or 503 (Redis), and err the reason.
 */
typedef void (*ntf_tmpl_done_pt)(json_t *rendered, int status,
    const char *pointer, const char *err, void *data);

int ntf_tmpl_render(const char *channel, json_t *request,
    ntf_tmpl_done_pt done, void *data);

/*
 * ntf_subs_store.c: the owner's enabled subscriptions whose event types match
 * type, restricted to the ids in only (an array, or NULL for all).  done
 * runs once, never inside the call, with an array of {"id", "url"}
 * (the caller's reference) and status 0, or NULL and 503 (Redis).
 */
typedef void (*ntf_subs_match_pt)(json_t *subs, int status, void *data);

int ntf_subs_match(const char *owner, const char *type, json_t *only,
    ntf_subs_match_pt done, void *data);

/*
 * ntf_mime.c: checks an email payload before it is accepted: addresses
 * (RFC 5321 mailbox syntax, no display name with CR, LF or NUL), the
 * subject and names (no control bytes), attachments (filename, a
 * content type type/subtype, base64 content), the total under
 * email_max.  0, or -1 with pointer ("/recipients/2") and err filled.
 */
int ntf_mime_check(json_t *payload, char *pointer, size_t plen, char *err,
    size_t elen);


/* an SMTP transfer's end (ntf_smtp_pool.c): easy, its result, data */
typedef void (*ntf_curl_done_pt)(CURL *easy, CURLcode rc, void *data);


/*
 * ntf_smtp_pool.c: SMTP transactions on worker threads, their results
 * back on the loop (ntf.base).  size: smtp_threads, set before the first
 * run.  run: 0, or -1 when it cannot take easy; done runs on the loop,
 * never inside the call.  stop, after the loop: the threads joined, each
 * job's done run (aborted if it had not started).
 */
void ntf_smtp_pool_size(unsigned threads);
int ntf_smtp_pool_run(CURL *easy, ntf_curl_done_pt done, void *data);
void ntf_smtp_pool_stop(void);


#endif /* _NTF_H_INCLUDED_ */
