
/*
 * Copyright (C) Tollgate
 *
 * The push channel (docs/push.md): a delivery is one POST to the
 * publisher location at the edge (gw_push_publish, or nchan's publisher
 * where nchan is the transport), push_url + "/" + the channel, with the
 * body {"id": the delivery id, "type": the event type, "data": ...} and
 * X-EventSource-Event: type, so an EventSource subscriber sees the type
 * as the event's name.  The publisher keeps the message in Redis and
 * fans it out to every nginx; 2xx (201, or nchan's 202) is delivered,
 * anything else, or no answer within push_timeout, a retry on the
 * schedule.
 *
 * push_url is the operator's own address (normally a loopback or
 * private one, where the publisher location allows only the platform),
 * not a receiver a consumer registered: so the transfer runs on the
 * kit's outbound HTTP as a trusted request, without the address guard
 * that refuses loopback and private destinations, and with a
 * concurrency of its own (inflight).  It is still http or https only
 * (TLS verified), without redirects or a proxy from the environment,
 * and an answer longer than NTF_PUSH_RESPONSE_MAX bytes fails the
 * attempt.
 */


#include <stdlib.h>
#include <string.h>

#include "ntf.h"


#define NTF_PUSH_CHANNEL_MAX    128
#define NTF_PUSH_RESPONSE_MAX   (64 * 1024)     /* bytes read, at most */


typedef struct {
    ntf_delivery_t         *d;
    char                   *url;
    char                   *body;
} ntf_push_t;


static int ntf_push_send(ntf_delivery_t *d, ntf_outcome_t *out);
static int ntf_push_channel_valid(const char *name);
static char *ntf_push_url(const char *base, const char *channel);
static void ntf_push_done(const gw_svc_out_res_t *res, void *data);
static void ntf_push_free(ntf_push_t *p);


const ntf_channel_t  ntf_push_channel = { "push", ntf_push_send };


/*
 * Starts the POST for d.  -1 with out filled when it cannot start: FAIL
 * for what no retry mends (no push_url, a payload without a valid
 * channel or type), RETRY when memory or curl refused.
 */
static int
ntf_push_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    char               event[NTF_ERR_MAX], err[NTF_ERR_MAX];
    json_t            *msg, *data;
    ntf_push_t        *p;
    const char        *base, *channel, *type, *headers[5];
    gw_svc_out_req_t   req;

    memset(out, 0, sizeof(ntf_outcome_t));
    err[0] = '\0';

    base = gw_svc_conf_str(ntf.svc, "push_url");

    if (base == NULL || base[0] == '\0') {
        out->result = NTF_FAIL;
        snprintf(out->error, NTF_ERR_MAX, "push_url is not configured");
        return -1;
    }

    channel = json_string_value(json_object_get(d->payload, "channel"));
    type = json_string_value(json_object_get(d->payload, "type"));
    data = json_object_get(d->payload, "data");

    if (channel == NULL || !ntf_push_channel_valid(channel)
        || type == NULL || strlen(type) + sizeof("X-EventSource-Event: ")
                           > sizeof(event)
        || strpbrk(type, "\r\n") != NULL)
    {
        out->result = NTF_FAIL;
        snprintf(out->error, NTF_ERR_MAX, "no valid channel or type");
        return -1;
    }

    p = calloc(1, sizeof(ntf_push_t));
    if (p == NULL) {
        goto retry;
    }

    p->d = d;

    msg = json_pack("{s:s, s:s, s:O}", "id", d->id, "type", type,
                    "data", data != NULL ? data : json_null());
    if (msg == NULL) {
        goto retry;
    }

    p->body = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);

    p->url = ntf_push_url(base, channel);

    snprintf(event, sizeof(event), "X-EventSource-Event: %s", type);

    if (p->body == NULL || p->url == NULL) {
        goto retry;
    }

    headers[0] = "Content-Type: application/json";
    headers[1] = event;
    headers[2] = "Accept: application/json";
    headers[3] = "User-Agent: Tollgate-Push/1";
    headers[4] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = p->url;
    req.headers = headers;
    req.body = p->body;
    req.body_len = strlen(p->body);
    req.timeout = gw_svc_conf_int(ntf.svc, "push_timeout");
    req.response_max = NTF_PUSH_RESPONSE_MAX;
    req.concurrency = (unsigned) gw_svc_conf_int(ntf.svc, "inflight");
    req.trusted = 1;

    if (gw_svc_out_request(ntf.svc, &req, ntf_push_done, p, err,
                           sizeof(err))
        != 0)
    {
        goto retry;
    }

    return 0;

retry:

    ntf_push_free(p);
    out->result = NTF_RETRY;
    snprintf(out->error, NTF_ERR_MAX, "push: cannot start (%s)",
             err[0] != '\0' ? err : "no memory");
    return -1;
}


/* the edge's rule (gw_push_authorize): 1 to 128 of [A-Za-z0-9_.:-] */
static int
ntf_push_channel_valid(const char *name)
{
    size_t  n;

    n = strlen(name);

    return n >= 1 && n <= NTF_PUSH_CHANNEL_MAX
           && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == n;
}


/* base + "/" + channel (no doubled slash), malloc()ed; NULL: no memory */
static char *
ntf_push_url(const char *base, const char *channel)
{
    char    *url;
    size_t   blen, clen;

    blen = strlen(base);
    clen = strlen(channel);

    if (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }

    url = malloc(blen + 1 + clen + 1);
    if (url == NULL) {
        return NULL;
    }

    memcpy(url, base, blen);
    url[blen] = '/';
    memcpy(url + blen + 1, channel, clen + 1);

    return url;
}


static void
ntf_push_done(const gw_svc_out_res_t *res, void *data)
{
    ntf_push_t      *p = data;
    ntf_outcome_t    out;
    ntf_delivery_t  *d;

    memset(&out, 0, sizeof(ntf_outcome_t));

    out.status = res->status;
    out.latency = res->latency;

    if (res->error[0] != '\0') {
        out.result = NTF_RETRY;
        snprintf(out.error, NTF_ERR_MAX, "push: %s", res->error);

    } else if (res->status >= 200 && res->status <= 299) {
        out.result = NTF_OK;

    } else {
        out.result = NTF_RETRY;
        snprintf(out.error, NTF_ERR_MAX, "push: the publisher answered %d",
                 res->status);
    }

    d = p->d;
    ntf_push_free(p);

    d->done(d, &out);
}


static void
ntf_push_free(ntf_push_t *p)
{
    if (p == NULL) {
        return;
    }

    free(p->url);
    free(p->body);
    free(p);
}

