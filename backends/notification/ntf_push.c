
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
 * not a receiver a consumer registered: so the transfer runs on
 * ntf_curl.c directly, without the webhook address guard (ntf_http_guard.c)
 * that refuses loopback and private destinations.  It is still http or
 * https only (TLS verified, curl's default), without redirects or a
 * proxy from the environment, and an answer longer than
 * NTF_PUSH_RESPONSE_MAX bytes fails the attempt.
 */


#include <stdlib.h>
#include <string.h>

#include "ntf.h"


#define NTF_PUSH_CHANNEL_MAX    128
#define NTF_PUSH_RESPONSE_MAX   (64 * 1024)     /* bytes read, at most */


typedef struct {
    ntf_delivery_t         *d;
    CURL                   *easy;
    struct curl_slist      *headers;
    char                   *url;
    char                   *body;
    size_t                  received;
    long long               start;      /* ms */
} ntf_push_t;


static int ntf_push_send(ntf_delivery_t *d, ntf_outcome_t *out);
static int ntf_push_channel_valid(const char *name);
static char *ntf_push_url(const char *base, const char *channel);
static size_t ntf_push_write(char *ptr, size_t size, size_t n, void *data);
static void ntf_push_done(CURL *easy, CURLcode rc, void *data);
static void ntf_push_free(ntf_push_t *p);
static long long ntf_push_now(void);


const ntf_channel_t  ntf_push_channel = { "push", ntf_push_send };


/*
 * Starts the POST for d.  -1 with out filled when it cannot start: FAIL
 * for what no retry mends (no push_url, a payload without a valid
 * channel or type), RETRY when memory or curl refused.
 */
static int
ntf_push_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    char            event[NTF_ERR_MAX];
    json_t         *msg, *data;
    ntf_push_t     *p;
    const char     *base, *channel, *type;

    memset(out, 0, sizeof(ntf_outcome_t));

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

    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (p->headers == NULL
        || curl_slist_append(p->headers, event) == NULL
        || curl_slist_append(p->headers, "Accept: application/json") == NULL
        || curl_slist_append(p->headers, "Expect:") == NULL)
    {
        goto retry;
    }

    p->easy = curl_easy_init();
    if (p->easy == NULL) {
        goto retry;
    }

    curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
    curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(p->easy, CURLOPT_PROXY, "");     /* none from env */
    curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, p->body);
    curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(p->body));
    curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS,
                     (long) gw_svc_conf_int(ntf.svc, "push_timeout"));
    curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, ntf_push_write);
    curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "Tollgate-Push/1");

    p->start = ntf_push_now();

    if (ntf_curl_start(p->easy, ntf_push_done, p) != 0) {
        goto retry;
    }

    return 0;

retry:

    ntf_push_free(p);
    out->result = NTF_RETRY;
    snprintf(out->error, NTF_ERR_MAX, "push: cannot start (no memory)");
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


/* discards the answer's body; more than the cap ends the transfer */
static size_t
ntf_push_write(char *ptr, size_t size, size_t n, void *data)
{
    ntf_push_t  *p = data;

    p->received += size * n;

    if (p->received > NTF_PUSH_RESPONSE_MAX) {
        return 0;
    }

    return size * n;
}


static void
ntf_push_done(CURL *easy, CURLcode rc, void *data)
{
    long             status;
    ntf_push_t      *p = data;
    ntf_outcome_t    out;
    ntf_delivery_t  *d;

    memset(&out, 0, sizeof(ntf_outcome_t));

    status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);

    out.status = (int) status;
    out.latency = ntf_push_now() - p->start;

    if (rc != CURLE_OK) {
        out.result = NTF_RETRY;
        snprintf(out.error, NTF_ERR_MAX, "push: %s",
                 rc == CURLE_WRITE_ERROR ? "response too large"
                                         : curl_easy_strerror(rc));

    } else if (status >= 200 && status <= 299) {
        out.result = NTF_OK;

    } else {
        out.result = NTF_RETRY;
        snprintf(out.error, NTF_ERR_MAX, "push: the publisher answered %ld",
                 status);
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

    if (p->easy != NULL) {
        curl_easy_cleanup(p->easy);
    }

    curl_slist_free_all(p->headers);
    free(p->url);
    free(p->body);
    free(p);
}


static long long
ntf_push_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
