
/*
 * Copyright (C) Tollgate
 *
 * The webhook channel (ntf.h): one attempt of a delivery is one POST of
 * the Standard Webhooks payload {"type", "timestamp", "data"} to the
 * subscription's URL, read when the attempt starts (a URL changed since
 * the notification was accepted is the one used; a subscription
 * disabled or deleted meanwhile ends the delivery as failed).
 *
 * The body is the same on every attempt (its timestamp is the
 * notification's), and so is webhook-id (the delivery id): receivers
 * deduplicate by it.  webhook-timestamp is the attempt's, and the
 * signatures cover "<id>.<timestamp>.<body>": one "v1" per live secret
 * (two while a rotation overlaps), and "v1a" when the subscription has
 * an Ed25519 key (two, the new key's first, while its rotation overlaps).
 *
 * Outcomes: 2xx delivered; 410 gone (the subscription is disabled);
 * anything else, a timeout or a refused address is retried on the
 * schedule, the receiver's Retry-After kept.  Every attempt that reached
 * or tried to reach the receiver feeds the subscription's failure
 * tracking (ntf_subs.h).
 *
 * POST /v1/subscriptions/{sid}/test makes one such attempt at once with
 * a "webhook.test" event (or the body's type and data), outside the
 * scheduler, and answers with its outcome.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ntf_subs.h"


typedef struct {
    ntf_delivery_t         *d;
    char                    sid[NTF_SUB_ID_MAX];
    char                   *body;
    size_t                  len;
} ntf_webhook_t;


typedef struct {
    gw_svc_req_t           *req;
    ntf_delivery_t          d;
} ntf_webhook_test_t;


static int ntf_webhook_send(ntf_delivery_t *d, ntf_outcome_t *out);
static void ntf_webhook_sub(const ntf_sub_t *sub, int status, void *data);
static void ntf_webhook_done(const gw_svc_out_res_t *res, void *data);
static void ntf_webhook_end(ntf_webhook_t *w, ntf_result_e result,
    int status, long long latency, long long retry_after,
    const char *error);
static void ntf_webhook_tested(ntf_delivery_t *d, const ntf_outcome_t *out);
static void ntf_webhook_time(long long ms, char *buf, size_t size);


const ntf_channel_t  ntf_webhook_channel = { "webhook", ntf_webhook_send };


static int
ntf_webhook_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    char            ts[40];
    json_t         *body;
    const char     *sid, *type;
    ntf_webhook_t  *w;

    memset(out, 0, sizeof(ntf_outcome_t));

    sid = json_string_value(json_object_get(d->payload, "sub"));
    type = json_string_value(json_object_get(d->payload, "type"));

    if (sid == NULL || type == NULL || strlen(sid) >= NTF_SUB_ID_MAX) {
        out->result = NTF_FAIL;
        snprintf(out->error, sizeof(out->error),
                 "a webhook delivery without a subscription or type");
        return -1;
    }

    w = calloc(1, sizeof(ntf_webhook_t));
    if (w == NULL) {
        out->result = NTF_RETRY;
        snprintf(out->error, sizeof(out->error), "out of memory");
        return -1;
    }

    ntf_webhook_time(d->created, ts, sizeof(ts));

    body = json_pack("{s:s,s:s,s:O}", "type", type, "timestamp", ts,
                     "data", json_object_get(d->payload, "data") != NULL
                             ? json_object_get(d->payload, "data")
                             : json_null());

    w->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    if (w->body == NULL) {
        free(w);
        out->result = NTF_RETRY;
        snprintf(out->error, sizeof(out->error), "out of memory");
        return -1;
    }

    w->len = strlen(w->body);
    w->d = d;
    snprintf(w->sid, sizeof(w->sid), "%s", sid);

    if (ntf_subs_get(sid, ntf_webhook_sub, w) != 0) {
        free(w->body);
        free(w);
        out->result = NTF_RETRY;
        snprintf(out->error, sizeof(out->error), "Redis is unavailable");
        return -1;
    }

    return 0;
}


/* the subscription as it is now: sign and send */
static void
ntf_webhook_sub(const ntf_sub_t *sub, int status, void *data)
{
    int                n;
    char               id[NTF_DID_MAX + 16], tsh[48], sig[4 * NTF_SIGN_MAX
                       + 32], *p, err[NTF_ERR_MAX], *content;
    size_t             clen;
    long long          now;
    const char        *headers[8];
    ntf_webhook_t     *w;
    gw_svc_out_req_t   req;

    w = data;

    if (sub == NULL) {
        ntf_webhook_end(w, status == 404 ? NTF_FAIL : NTF_RETRY, 0, 0, 0,
                        status == 404 ? "subscription deleted"
                                      : "Redis is unavailable");
        return;
    }

    if (!sub->enabled) {
        ntf_webhook_end(w, NTF_FAIL, 0, 0, 0, "subscription disabled");
        return;
    }

    now = (long long) time(NULL);

    /* "<id>.<timestamp>.<body>" */
    clen = strlen(w->d->id) + 1 + 20 + 1 + w->len;
    content = malloc(clen + 1);
    if (content == NULL) {
        ntf_webhook_end(w, NTF_RETRY, 0, 0, 0, "out of memory");
        return;
    }

    n = snprintf(content, clen + 1, "%s.%lld.", w->d->id, now);
    memcpy(content + n, w->body, w->len);
    clen = n + w->len;

    p = sig;
    p += snprintf(p, sizeof(sig), "webhook-signature: ");

    n = ntf_sign_v1(sub->secret, content, clen, p, sig + sizeof(sig) - p);

    if (n == 0 && sub->old_secret[0] != '\0') {
        p += strlen(p);
        *p++ = ' ';
        n = ntf_sign_v1(sub->old_secret, content, clen, p,
                        sig + sizeof(sig) - p);
    }

    if (n == 0 && sub->ed25519[0] != '\0') {
        p += strlen(p);
        *p++ = ' ';
        n = ntf_sign_v1a(sub->ed25519, content, clen, p,
                         sig + sizeof(sig) - p);
    }

    if (n == 0 && sub->old_ed25519[0] != '\0') {
        p += strlen(p);
        *p++ = ' ';
        n = ntf_sign_v1a(sub->old_ed25519, content, clen, p,
                         sig + sizeof(sig) - p);
    }

    OPENSSL_cleanse(content, clen);
    free(content);

    if (n != 0) {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                   "cannot sign a webhook delivery",
                   json_pack("{s:s}", "subscription", w->sid));
        ntf_webhook_end(w, NTF_RETRY, 0, 0, 0, "cannot sign");
        return;
    }

    snprintf(id, sizeof(id), "webhook-id: %s", w->d->id);
    snprintf(tsh, sizeof(tsh), "webhook-timestamp: %lld", now);

    headers[0] = id;
    headers[1] = tsh;
    headers[2] = sig;
    headers[3] = "Content-Type: application/json";
    headers[4] = "User-Agent: Tollgate-Webhooks/1";
    headers[5] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = sub->url;
    req.headers = headers;
    req.body = w->body;
    req.body_len = w->len;

    if (gw_svc_out_request(ntf.svc, &req, ntf_webhook_done, w, err,
                           sizeof(err))
        != 0)
    {
        ntf_webhook_end(w, strcmp(err, "out of memory") == 0
                           || strncmp(err, "cannot", 6) == 0
                           ? NTF_RETRY : NTF_FAIL, 0, 0, 0, err);
    }

    OPENSSL_cleanse(sig, sizeof(sig));
}


static void
ntf_webhook_done(const gw_svc_out_res_t *res, void *data)
{
    char            error[NTF_ERR_MAX];
    ntf_webhook_t  *w;

    w = data;

    if (res->error[0] != '\0') {
        if (strcmp(res->error, "endpoint busy") != 0) {
            ntf_subs_failed(w->sid);
        }

        ntf_webhook_end(w, NTF_RETRY, res->status, res->latency,
                        res->retry_after, res->error);
        return;
    }

    if (res->status >= 200 && res->status <= 299) {
        ntf_subs_ok(w->sid);
        ntf_webhook_end(w, NTF_OK, res->status, res->latency, 0, "");
        return;
    }

    if (res->status == 410) {
        ntf_subs_disable(w->sid, "gone");
        ntf_webhook_end(w, NTF_GONE, res->status, res->latency, 0,
                        "HTTP 410: the receiver is gone");
        return;
    }

    ntf_subs_failed(w->sid);

    snprintf(error, sizeof(error), "HTTP %d", res->status);
    ntf_webhook_end(w, NTF_RETRY, res->status, res->latency,
                    res->retry_after, error);
}


/* the attempt's outcome to its delivery's done; frees w */
static void
ntf_webhook_end(ntf_webhook_t *w, ntf_result_e result, int status,
    long long latency, long long retry_after, const char *error)
{
    ntf_outcome_t    out;
    ntf_delivery_t  *d;

    memset(&out, 0, sizeof(out));
    out.result = result;
    out.status = status;
    out.latency = latency;
    out.retry_after = retry_after;
    snprintf(out.error, sizeof(out.error), "%s", error);

    d = w->d;
    free(w->body);
    free(w);

    d->done(d, &out);
}


/* RFC 3339 with milliseconds, UTC; now when ms is 0 */
static void
ntf_webhook_time(long long ms, char *buf, size_t size)
{
    time_t           t;
    struct tm        tm;
    struct timespec  ts;

    if (ms <= 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ms = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int) (ms % 1000));
}


void
ntf_webhook_test(gw_svc_req_t *req, const char *sid, json_t *body)
{
    int                  i;
    json_t              *type, *data;
    ntf_outcome_t        out;
    unsigned char        r[8];
    ntf_webhook_test_t  *t;

    type = json_object_get(body, "type");
    data = json_object_get(body, "data");

    if (type != NULL
        && (!json_is_string(type)
            || !ntf_subs_pattern_ok(json_string_value(type))
            || strchr(json_string_value(type), '*') != NULL))
    {
        gw_svc_reply_problem(req, 422, "invalid-request", "Invalid request",
                             "type: an event type of [a-z0-9._-]");
        return;
    }

    t = calloc(1, sizeof(ntf_webhook_test_t));
    if (t == NULL || RAND_bytes(r, sizeof(r)) != 1) {
        free(t);
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             NULL);
        return;
    }

    t->req = req;
    t->d.channel = "webhook";
    t->d.attempt = 1;
    t->d.done = ntf_webhook_tested;
    t->d.data = t;
    t->d.payload = json_pack("{s:s,s:s,s:O}", "sub", sid, "type",
                             type != NULL ? json_string_value(type)
                                          : "webhook.test",
                             "data", data != NULL ? data : json_null());

    memcpy(t->d.id, "test_", 5);
    for (i = 0; i < 8; i++) {
        snprintf(t->d.id + 5 + 2 * i, 3, "%02x", r[i]);
    }

    if (t->d.payload == NULL || ntf_webhook_send(&t->d, &out) != 0) {
        json_decref(t->d.payload);
        free(t);
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             NULL);
    }
}


static void
ntf_webhook_tested(ntf_delivery_t *d, const ntf_outcome_t *out)
{
    json_t              *o;
    ntf_webhook_test_t  *t;

    static const char *const  results[] = { "ok", "retry", "fail", "gone" };

    t = d->data;

    o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:s}", "webhook_id", d->id,
                  "result", results[out->result], "status", out->status,
                  "latency_ms", (json_int_t) out->latency,
                  "retry_after_ms", (json_int_t) out->retry_after,
                  "error", out->error);

    json_decref(d->payload);
    gw_svc_reply_json(t->req, 200, o);
    free(t);
}
