
/*
 * Copyright (C) Tollgate
 *
 * The example service: the smallest complete user of the service kit,
 * and the service its tests drive.  A key-value store in Redis, answered
 * asynchronously (the handler sends the command and returns; the Redis
 * callback answers), an echo of the request as the service saw it, and
 * a timer-answered request for tests of the graceful stop.
 *
 *   PUT    /v1/kv/<key>    stores the body under gw:example:<key>
 *   GET    /v1/kv/<key>    {"key", "value"}, or 404
 *   DELETE /v1/kv/<key>    204, or 404
 *   POST   /v1/echo        {"method", "path", "query", "body",
 *                           "request_id", "trace_id", "traceparent"}
 *   GET    /v1/sleep?ms=N  answers {"slept": N} after N ms (at most 60 s)
 *   GET    /v1/events      what the subscription to the channel "events"
 *                          names saw: {"channel", "subscribed" (times
 *                          subscribed), "lost" (times lost), "messages"
 *                          (the last 16 texts)}
 *   DELETE /v1/events      unsubscribes (gw_svc_sub_free()), 204
 *
 * Keys are 1 to 128 bytes of [A-Za-z0-9._-].  Its own configuration keys:
 * kv_ttl (seconds a value lives, 0 for ever), warmup (how long after
 * the start /readyz keeps saying "not ready", to show the ready hook)
 * and events (a channel to subscribe to as the loop starts; empty: none).
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "gw_svc.h"


#define EXAMPLE_KEY_MAX    128
#define EXAMPLE_SLEEP_MAX  60000    /* milliseconds */
#define EXAMPLE_EVENTS     16


typedef struct {
    gw_svc_req_t   *req;
    struct event   *timer;
    long            ms;
} example_sleep_t;


static const char *example_key(gw_svc_req_t *req);
static void example_kv(gw_svc_req_t *req, void *data);
static void example_kv_done(redisAsyncContext *ac, void *r, void *data);
static void example_echo(gw_svc_req_t *req, void *data);
static void example_sleep(gw_svc_req_t *req, void *data);
static void example_sleep_done(evutil_socket_t fd, short what, void *arg);
static int example_ready(gw_svc_t *svc, void *data);
static void example_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void example_message(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data);
static void example_subscribed(gw_svc_t *svc, int up, void *data);
static void example_events(gw_svc_req_t *req, void *data);


static const gw_svc_key_t  example_keys[] = {
    { "kv_ttl", GW_SVC_INT, "0", 0, 366 * 86400, NULL },
    { "warmup", GW_SVC_MSEC, "0", 0, 600000, NULL },
    { "events", GW_SVC_STR, "", 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL }
};

static gw_svc_metric_t  *example_ops;
static struct timespec   example_start;

static gw_svc_sub_t     *example_sub;
static json_t           *example_seen;     /* the last messages' texts */
static int               example_ups;
static int               example_downs;


/* the key after /v1/kv/, or NULL when it is malformed */

static const char *
example_key(gw_svc_req_t *req)
{
    size_t       n;
    const char  *key;

    key = gw_svc_req_path(req) + sizeof("/v1/kv/") - 1;
    n = strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-");

    if (n == 0 || n > EXAMPLE_KEY_MAX || key[n] != '\0') {
        return NULL;
    }

    return key;
}


static void
example_kv(gw_svc_req_t *req, void *data)
{
    int                 rc;
    size_t              len;
    long long           ttl;
    const char         *key, *method, *body;
    redisAsyncContext  *ac;

    key = example_key(req);
    if (key == NULL) {
        gw_svc_reply_problem(req, 400, "key-invalid", "Invalid key",
                             "a key is 1 to 128 bytes of [A-Za-z0-9._-]");
        return;
    }

    ac = gw_svc_redis(gw_svc_req_svc(req));
    if (ac == NULL) {
        gw_svc_metric_add(example_ops, 1, gw_svc_req_method(req),
                          "unavailable");
        gw_svc_reply_problem(req, 503, "redis-unavailable",
                             "Storage unavailable", "redis is not reachable");
        return;
    }

    method = gw_svc_req_method(req);

    if (strcmp(method, "PUT") == 0) {
        body = gw_svc_req_body(req, &len);
        ttl = gw_svc_conf_int(gw_svc_req_svc(req), "kv_ttl");

        if (ttl > 0) {
            rc = redisAsyncCommand(ac, example_kv_done, req,
                                   "SET gw:example:%s %b EX %lld", key, body,
                                   len, ttl);
        } else {
            rc = redisAsyncCommand(ac, example_kv_done, req,
                                   "SET gw:example:%s %b", key, body, len);
        }

    } else if (strcmp(method, "DELETE") == 0) {
        rc = redisAsyncCommand(ac, example_kv_done, req, "DEL gw:example:%s",
                               key);

    } else {
        rc = redisAsyncCommand(ac, example_kv_done, req, "GET gw:example:%s",
                               key);
    }

    if (rc != REDIS_OK) {
        gw_svc_reply_problem(req, 503, "redis-unavailable",
                             "Storage unavailable", "cannot send to redis");
    }

    /* the answer comes in example_kv_done() */
}


static void
example_kv_done(redisAsyncContext *ac, void *r, void *data)
{
    json_t        *value;
    const char    *method;
    redisReply    *reply;
    gw_svc_req_t  *req;

    req = data;
    reply = r;
    method = gw_svc_req_method(req);

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        gw_svc_metric_add(example_ops, 1, method, "error");
        gw_svc_log(gw_svc_req_svc(req), GW_SVC_ERROR, req, "redis failed",
                   json_pack("{s:s}", "error",
                             reply != NULL ? reply->str : "connection lost"));
        gw_svc_reply_problem(req, 503, "redis-unavailable",
                             "Storage unavailable",
                             "redis did not answer the command");
        return;
    }

    if (strcmp(method, "PUT") == 0) {
        gw_svc_metric_add(example_ops, 1, method, "ok");
        gw_svc_reply_json(req, 200, json_pack("{s:s, s:b}", "key",
                                              example_key(req), "stored",
                                              1));
        return;
    }

    if (strcmp(method, "DELETE") == 0) {
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
            gw_svc_metric_add(example_ops, 1, method, "ok");
            gw_svc_reply(req, 204, NULL, "", 0);
            return;
        }

    } else if (reply->type == REDIS_REPLY_STRING) {
        value = json_stringn(reply->str, reply->len);

        if (value == NULL) {
            gw_svc_metric_add(example_ops, 1, method, "error");
            gw_svc_reply_problem(req, 500, "value-not-text",
                                 "Value not text",
                                 "the stored value is not UTF-8");
            return;
        }

        gw_svc_metric_add(example_ops, 1, method, "ok");
        gw_svc_reply_json(req, 200, json_pack("{s:s, s:o}", "key",
                                              example_key(req), "value",
                                              value));
        return;
    }

    gw_svc_metric_add(example_ops, 1, method, "missing");
    gw_svc_reply_problem(req, 404, "key-not-found", "Key not found",
                         "no value is stored under this key");
}


static void
example_echo(gw_svc_req_t *req, void *data)
{
    size_t       len;
    json_t      *body, *query, *answer;
    const char  *b, *q;

    b = gw_svc_req_body(req, &len);
    body = json_stringn(b, len);
    q = gw_svc_req_query(req);
    query = (q != NULL) ? json_string(q) : json_null();

    if (body == NULL || query == NULL) {
        json_decref(body);
        json_decref(query);
        gw_svc_reply_problem(req, 400, "body-not-text", "Body not text",
                             "the body is not UTF-8");
        return;
    }

    /* json_pack() releases body and query when it fails */

    answer = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s}",
                       "method", gw_svc_req_method(req),
                       "path", gw_svc_req_path(req),
                       "query", query,
                       "body", body,
                       "request_id", gw_svc_req_id(req),
                       "trace_id", gw_svc_req_trace_id(req),
                       "traceparent", gw_svc_req_traceparent(req));

    if (answer == NULL) {
        gw_svc_reply_problem(req, 400, "path-not-text", "Path not text",
                             "the decoded path is not UTF-8");
        return;
    }

    gw_svc_reply_json(req, 200, answer);
}


static void
example_sleep(gw_svc_req_t *req, void *data)
{
    char             *end;
    const char       *q;
    struct timeval    tv;
    example_sleep_t  *s;

    q = gw_svc_req_query(req);

    if (q == NULL || strncmp(q, "ms=", 3) != 0) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "expected ?ms=N");
        return;
    }

    s = calloc(1, sizeof(example_sleep_t));
    if (s == NULL) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    s->req = req;
    s->ms = strtol(q + 3, &end, 10);

    if (*end != '\0' || end == q + 3 || s->ms < 0
        || s->ms > EXAMPLE_SLEEP_MAX)
    {
        free(s);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "ms is 0 to 60000");
        return;
    }

    s->timer = evtimer_new(gw_svc_base(gw_svc_req_svc(req)),
                           example_sleep_done, s);
    if (s->timer == NULL) {
        free(s);
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    tv.tv_sec = s->ms / 1000;
    tv.tv_usec = (s->ms % 1000) * 1000;
    evtimer_add(s->timer, &tv);
}


static void
example_sleep_done(evutil_socket_t fd, short what, void *arg)
{
    example_sleep_t  *s;

    s = arg;

    gw_svc_reply_json(s->req, 200, json_pack("{s:I}", "slept",
                                             (json_int_t) s->ms));
    event_free(s->timer);
    free(s);
}


static int
example_ready(gw_svc_t *svc, void *data)
{
    long long        ms;
    struct timespec  now;

    clock_gettime(CLOCK_MONOTONIC, &now);

    ms = (now.tv_sec - example_start.tv_sec) * 1000
         + (now.tv_nsec - example_start.tv_nsec) / 1000000;

    return ms >= gw_svc_conf_int(svc, "warmup");
}


/* ---- a subscription, for the kit's tests --------------------------------- */


static void
example_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    const char  *channel;

    channel = gw_svc_conf_str(svc, "events");

    if (channel[0] == '\0') {
        return;
    }

    example_sub = gw_svc_subscribe(svc, channel, example_message,
                                   example_subscribed, NULL);
    if (example_sub == NULL) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot subscribe",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
    }
}


static void
example_message(gw_svc_t *svc, const char *channel, const char *text,
    size_t len, void *data)
{
    json_t  *t;

    t = json_stringn(text, len);
    if (t == NULL) {
        return;
    }

    if (json_array_size(example_seen) == EXAMPLE_EVENTS) {
        json_array_remove(example_seen, 0);
    }

    json_array_append_new(example_seen, t);
}


static void
example_subscribed(gw_svc_t *svc, int up, void *data)
{
    if (up) {
        example_ups++;

    } else {
        example_downs++;
    }
}


static void
example_events(gw_svc_req_t *req, void *data)
{
    if (strcmp(gw_svc_req_method(req), "DELETE") == 0) {
        gw_svc_sub_free(example_sub);
        example_sub = NULL;
        gw_svc_reply(req, 204, NULL, "", 0);
        return;
    }

    gw_svc_reply_json(req, 200,
                      json_pack("{s:s, s:b, s:i, s:i, s:O}", "channel",
                                gw_svc_conf_str(gw_svc_req_svc(req),
                                                "events"),
                                "active", example_sub != NULL,
                                "subscribed", example_ups,
                                "lost", example_downs,
                                "messages", example_seen));
}


int
main(int argc, char **argv)
{
    int        rc;
    gw_svc_t  *svc;
    static const char  *op_labels[] = { "method", "result", NULL };

    clock_gettime(CLOCK_MONOTONIC, &example_start);

    example_seen = json_array();
    if (example_seen == NULL) {
        return 1;
    }

    svc = gw_svc_create("example", example_keys);
    if (svc == NULL) {
        json_decref(example_seen);
        return 1;
    }

    example_ops = gw_svc_counter(svc, "example_kv_operations_total",
                                 "Key-value operations, by method and "
                                 "result", op_labels);

    if (example_ops == NULL
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_PUT | GW_SVC_DELETE,
                        "/v1/kv/", GW_SVC_PREFIX, example_kv, NULL) != 0
        || gw_svc_route(svc, GW_SVC_POST, "/v1/echo", 0, example_echo,
                        NULL) != 0
        || gw_svc_route(svc, GW_SVC_GET, "/v1/sleep", 0, example_sleep,
                        NULL) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_DELETE, "/v1/events", 0,
                        example_events, NULL) != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot set up",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        gw_svc_free(svc);
        json_decref(example_seen);
        return 1;
    }

    gw_svc_set_ready(svc, example_ready, NULL);

    /* the subscription, if any, is the kit's to free as the loop ends */

    gw_svc_set_loop(svc, example_loop_start, NULL, NULL);

    rc = gw_svc_main(svc, argc, argv);

    gw_svc_free(svc);
    json_decref(example_seen);

    return rc;
}
