
/*
 * Copyright (C) Tollgate
 *
 * The service kit: what every Tollgate backend is built on, so that all
 * of them listen, log, count, trace, fail and stop the same way
 * (docs/service-kit.md).
 *
 * One process, one libevent loop.  The loop carries the HTTP server
 * (evhttp, on a TCP port or a unix socket), the asynchronous Redis
 * connection (hiredis' libevent adapter, reconnected on a timer), one
 * more per channel a service subscribes to, the signal events and the
 * services' own timers; nothing blocks it.
 *
 * A service creates its gw_svc_t, registers routes and metrics, and
 * hands over to gw_svc_main(), which reads the configuration (a file of
 * "key = value" lines, then TOLLGATE_<SERVICE>_<KEY> variables), runs the
 * loop, and returns the exit status after a graceful stop on SIGTERM or
 * SIGINT.  A route's handler gets a gw_svc_req_t and answers it at once
 * or later, after a Redis reply or a timer: the kit keeps the request
 * until exactly one gw_svc_reply*() call, then frees it.
 *
 * The kit serves /healthz, /readyz and /metrics itself, logs every
 * request, and keeps per-route request counts and latency histograms.
 * Requests carry an X-Request-ID (the client's when well formed, else a
 * new one) and a W3C trace context (the client's trace continued with a
 * span of our own, or a new trace), both returned and passed on.
 */


#ifndef _GW_SVC_H_INCLUDED_
#define _GW_SVC_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <jansson.h>


typedef struct gw_svc_s         gw_svc_t;
typedef struct gw_svc_req_s     gw_svc_req_t;
typedef struct gw_svc_metric_s  gw_svc_metric_t;
typedef struct gw_svc_sub_s     gw_svc_sub_t;


/* ---- configuration --------------------------------------------------- */

typedef enum {
    GW_SVC_STR = 0,         /* text; "choices" may list "a|b|c" */
    GW_SVC_INT,             /* decimal integer within [min, max] */
    GW_SVC_SIZE,            /* bytes, with an optional k or m suffix */
    GW_SVC_MSEC,            /* milliseconds: "250ms", "10s" or "250" */
    GW_SVC_ADDR             /* "host:port" or "unix:/path" */
} gw_svc_type_e;

typedef struct {
    const char     *key;        /* lowercase [a-z0-9_] */
    gw_svc_type_e   type;
    const char     *dflt;       /* as written in a file; NULL: required */
    long long       min;        /* numbers: bounds, checked at start */
    long long       max;
    const char     *choices;    /* GW_SVC_STR: "a|b|c"; NULL: any */
} gw_svc_key_t;


/* ---- the service ------------------------------------------------------ */

typedef enum {
    GW_SVC_DEBUG = 0,
    GW_SVC_INFO,
    GW_SVC_WARN,
    GW_SVC_ERROR
} gw_svc_level_e;

#define GW_SVC_GET      0x01
#define GW_SVC_HEAD     0x02
#define GW_SVC_POST     0x04
#define GW_SVC_PUT      0x08
#define GW_SVC_DELETE   0x10
#define GW_SVC_PATCH    0x20

#define GW_SVC_PREFIX   0x01    /* route flag: path is a prefix */

typedef void (*gw_svc_handler_pt)(gw_svc_req_t *req, void *data);

/* 1 when the service itself is ready, 0 when not */
typedef int (*gw_svc_ready_pt)(gw_svc_t *svc, void *data);

/* the service's own events: added as the loop starts, freed as it ends */
typedef void (*gw_svc_loop_pt)(gw_svc_t *svc, struct event_base *base,
    void *data);


/*
 * A service named name ([a-z0-9-], at most 32 bytes) with its own
 * configuration keys besides the kit's (keys ends with a NULL key; NULL:
 * none; the table must outlive the service).  NULL when out of memory or
 * the name or a key is malformed (printed on stderr).
 */
gw_svc_t *gw_svc_create(const char *name, const gw_svc_key_t *keys);

/* frees the service; NULL is fine */
void gw_svc_free(gw_svc_t *svc);

/* the last error, for a -1 from any function taking svc */
const char *gw_svc_error(gw_svc_t *svc);

/*
 * Reads the configuration: defaults, then the file at path (NULL: none),
 * then TOLLGATE_<SERVICE>_<KEY> variables.  Every value is checked: -1
 * with an error naming file:line or the variable on the first bad one.
 */
int gw_svc_configure(gw_svc_t *svc, const char *path);

/* a configured value; 0 or NULL for an unknown key */
long long gw_svc_conf_int(gw_svc_t *svc, const char *key);
const char *gw_svc_conf_str(gw_svc_t *svc, const char *key);

/*
 * Adds a route: methods (GW_SVC_GET | ...) on path, exactly or, with
 * GW_SVC_PREFIX, every path that starts with it.  Routes are tried in
 * order of registration; a path some route matches with another method
 * gets 405, no match 404.  0 or -1.
 */
int gw_svc_route(gw_svc_t *svc, unsigned methods, const char *path,
    unsigned flags, gw_svc_handler_pt handler, void *data);

/* the service's own readiness, asked by /readyz once Redis is up */
void gw_svc_set_ready(gw_svc_t *svc, gw_svc_ready_pt ready, void *data);

/*
 * start runs once the loop's event base exists and the service listens,
 * right before the loop runs; stop right after the loop has ended, before
 * the base is freed (either may be NULL).
 */
void gw_svc_set_loop(gw_svc_t *svc, gw_svc_loop_pt start,
    gw_svc_loop_pt stop, void *data);

/*
 * The whole life of a service process: "-c FILE" (else the file named
 * by TOLLGATE_<SERVICE>_CONFIG, else none), "-t" to check the
 * configuration and exit; then gw_svc_run().  Returns the exit status:
 * 0 after a graceful stop, 1 when running failed, 2 for a bad command
 * line or configuration.
 */
int gw_svc_main(gw_svc_t *svc, int argc, char **argv);

/*
 * What gw_svc_main() asks of a service.  configured runs once the
 * configuration is read, before "-t" answers: it reads what the service
 * needs from it, and returns nonzero (having logged why) for a bad one,
 * which exits 2.  forms, NULL-ended, are the program's other command
 * lines ("check FILE"), shown after the serving one in the usage.
 * Either may be NULL.
 */
typedef int (*gw_svc_configured_pt)(gw_svc_t *svc);

void gw_svc_set_main(gw_svc_t *svc, gw_svc_configured_pt configured,
    const char *const *forms);

/*
 * The instance's name into buf: the configuration's key when set, else
 * "<host name>-<pid>" (the service's name for a host without one).
 */
void gw_svc_instance(gw_svc_t *svc, const char *key, char *buf,
    size_t size);

/*
 * Listens, connects to Redis and runs the loop until SIGTERM or SIGINT:
 * then stops listening, waits up to shutdown_timeout for the requests in
 * flight, closes Redis and returns 0 (-1 when it could not start).
 */
int gw_svc_run(gw_svc_t *svc);

/* asks the loop to stop as on SIGTERM */
void gw_svc_shutdown(gw_svc_t *svc);

/*
 * A graceful stop's hook and holds.  drain runs once when the stop
 * begins (SIGTERM, SIGINT, gw_svc_shutdown()), while the loop still runs
 * and Redis is still connected: the service starts no new work from
 * then on.  Work of its own that the stop waits for is held,
 * gw_svc_hold() once per hold and gw_svc_release() when it ends: the
 * loop ends once no request is in flight (or shutdown_timeout passed)
 * and nothing is held.  A holder bounds its own wait (it releases by a
 * deadline of its own); a second signal stops at once all the same.
 */
typedef void (*gw_svc_drain_pt)(gw_svc_t *svc, void *data);

void gw_svc_set_drain(gw_svc_t *svc, gw_svc_drain_pt drain, void *data);
void gw_svc_hold(gw_svc_t *svc);
void gw_svc_release(gw_svc_t *svc);

/* the loop, for the service's own events */
struct event_base *gw_svc_base(gw_svc_t *svc);

/*
 * The Redis connection for redisAsyncCommand(), or NULL while it is down.
 * A command's callback gets a NULL reply when the connection drops.
 */
redisAsyncContext *gw_svc_redis(gw_svc_t *svc);

/* ---- Redis scripts ------------------------------------------------------- */

/*
 * A Lua script run by EVALSHA, and by EVAL once when Redis answers
 * NOSCRIPT (a restarted or flushed server loads it again).  text is the
 * script; sha is filled by gw_svc_script_init().
 */
typedef struct {
    const char     *text;
    char            sha[41];
} gw_svc_script_t;

#define GW_SVC_EVAL_ARGS  8

/* the reply, NULL when Redis failed (down, or an error: logged) */
typedef void (*gw_svc_eval_pt)(redisReply *reply, void *data);

/* fills script->sha; 0 or -1 */
int gw_svc_script_init(gw_svc_script_t *script);

/*
 * Runs script with no KEYS and argc (at most GW_SVC_EVAL_ARGS) arguments,
 * copied.  cb runs exactly once, never inside the call; -1 (cb will not
 * run) when Redis is down, argc is too large or memory is short.
 */
int gw_svc_eval(gw_svc_t *svc, gw_svc_script_t *script, int argc,
    const char **argv, const size_t *lens, gw_svc_eval_pt cb, void *data);


/* ---- secret files -------------------------------------------------------- */

/*
 * The secret in the file at path, named by the configuration key (for
 * the messages): a regular file readable by its owner only, at most
 * size - 1 bytes, no NUL, trailing white space dropped.  0 with buf
 * NUL-terminated and *len its length, or -1 after a line on stderr
 * (an empty path: "<key>: required").
 */
int gw_svc_secret_file(const char *key, const char *path, char *buf,
    size_t size, size_t *len);

/* a 32-byte key written as 64 hex digits in such a file, into out */
int gw_svc_secret_key(const char *key, const char *path,
    unsigned char *out);


/* ---- subscriptions ------------------------------------------------------ */

/* one message published on the channel: len bytes, NUL-terminated */
typedef void (*gw_svc_message_pt)(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data);

/*
 * up 1: the channel is subscribed again (at the start and after every
 * reconnect): messages published meanwhile were lost, so the service
 * reloads what it follows.  up 0: the subscription was lost.
 */
typedef void (*gw_svc_subscribed_pt)(gw_svc_t *svc, int up, void *data);

/*
 * Subscribes to channel on a Redis connection of its own (a subscribed
 * connection takes no other command), made like the kit's: the same
 * address and AUTH, reconnected every redis_retry, one warning per
 * outage.  Started now when the loop runs, else with the loop; freed
 * when the loop ends, or before by gw_svc_sub_free().  Either callback
 * may be NULL; neither may free the subscription.  NULL on error.
 */
gw_svc_sub_t *gw_svc_subscribe(gw_svc_t *svc, const char *channel,
    gw_svc_message_pt on_message, gw_svc_subscribed_pt on_subscribed,
    void *data);

/* unsubscribes: no callback runs after it; NULL is fine */
void gw_svc_sub_free(gw_svc_sub_t *sub);


/*
 * Writes one JSON log line on stderr: time, level, service, request_id
 * and trace_id (of req, when not NULL), message, and fields (an object
 * or NULL; the reference is stolen, even when the level is filtered out).
 */
void gw_svc_log(gw_svc_t *svc, gw_svc_level_e level, gw_svc_req_t *req,
    const char *message, json_t *fields);

/*
 * A JSON string of text that may hold any byte (a decoded path, a Redis
 * error, a message quoting input), for log fields: bytes that are not
 * well-formed UTF-8 become the text \xNN.  NULL only when out of memory.
 */
json_t *gw_svc_json_string(const char *s);


/* ---- requests ------------------------------------------------------------ */

gw_svc_t *gw_svc_req_svc(gw_svc_req_t *req);
const char *gw_svc_req_method(gw_svc_req_t *req);    /* "GET", ... */
const char *gw_svc_req_path(gw_svc_req_t *req);      /* decoded, no query */
const char *gw_svc_req_query(gw_svc_req_t *req);     /* raw, or NULL */
const char *gw_svc_req_header(gw_svc_req_t *req, const char *name);

/*
 * How many times the client sent header name (any case): the value
 * gw_svc_req_header() gives is the first, so a caller that must not
 * guess between copies refuses a count above 1.
 */
size_t gw_svc_req_header_count(gw_svc_req_t *req, const char *name);

/* the body (at most body_max bytes, NUL-terminated) and its length */
const char *gw_svc_req_body(gw_svc_req_t *req, size_t *len);

/*
 * The request's ids: its request id; its trace id (32 hex); and the
 * traceparent to send downstream, naming this service's span.
 */
const char *gw_svc_req_id(gw_svc_req_t *req);
const char *gw_svc_req_trace_id(gw_svc_req_t *req);
const char *gw_svc_req_traceparent(gw_svc_req_t *req);

/*
 * size bytes that live as long as the request: freed by the kit after
 * the reply, so what a handler hands on (a name, a copy of a header)
 * stays valid through every asynchronous step.  NULL when out of memory.
 */
void *gw_svc_req_alloc(gw_svc_req_t *req, size_t size);

#define GW_SVC_ETAG_ANY  2

/*
 * Matches a conditional header's value (If-Match, If-None-Match; RFC
 * 9110, 13.1.1 and 13.1.2): "*", or a list of entity tags, each "opaque"
 * or W/"opaque", against etag as the ETag header sends it ("opaque").
 * weak: a W/ tag compares too (If-None-Match), else it never matches.
 * 1 on a match, GW_SVC_ETAG_ANY for "*", 0 for none, -1 when malformed.
 */
int gw_svc_etag_match(const char *value, const char *etag, int weak);

/* adds a response header (before the reply); 0 or -1 */
int gw_svc_req_add_header(gw_svc_req_t *req, const char *name,
    const char *value);

/*
 * The replies.  Each ends the request: the kit sends it, logs it,
 * counts it and frees req.  json is stolen (NULL answers "{}").
 * gw_svc_reply_problem() sends application/problem+json with type
 * "urn:tollgate:problem:<type>" and the request id; detail may be NULL.
 */
void gw_svc_reply(gw_svc_req_t *req, int status, const char *content_type,
    const void *body, size_t len);
void gw_svc_reply_json(gw_svc_req_t *req, int status, json_t *json);
void gw_svc_reply_problem(gw_svc_req_t *req, int status, const char *type,
    const char *title, const char *detail);

/*
 * A reply from a file: size bytes of fd from its start, with
 * Content-Length, sent from the kernel's page cache (sendfile where the
 * platform has it, else mapped a piece at a time) as the connection
 * takes them, never read into the service's memory.  fd is the kit's
 * from the call, failed or not: closed once sent or when the client
 * goes.  size must be the file's size now (fstat) and the file must not
 * shrink while it is sent (write a new file and rename it instead).
 * Counted and logged with size as its bytes; a HEAD gets the headers.
 * If the kit cannot take the file, it answers 503 and closes fd.
 */
void gw_svc_reply_file(gw_svc_req_t *req, int status,
    const char *content_type, int fd, off_t size);

/*
 * The same with extra members (an object, stolen; NULL: none) after the
 * usual ones, e.g. {"errors": [...]}: members named like the usual ones
 * are not allowed.
 */
void gw_svc_reply_problem_extra(gw_svc_req_t *req, int status,
    const char *type, const char *title, const char *detail, json_t *extra);


/* ---- outbound HTTP ------------------------------------------------------- */

/*
 * Outbound HTTP (gw_svc_out*.c): requests on libcurl's multi interface
 * on the kit's loop (gw_svc_base()), never blocking it, to http or https
 * only, without redirects or a proxy from the environment, with TLS
 * verified, timeouts and a cap on the answer.  The address guard refuses
 * at connect time an address that is loopback, private, link-local or
 * otherwise special unless the service's allow list names it, so a host
 * name that resolves (or rebinds) there is refused like a literal one.
 * At most concurrency transfers run at once per endpoint
 * (scheme://host:port); the others wait in order of arrival.
 */

#define GW_SVC_OUT_KEEP     1024    /* bytes of an answer kept: default */

typedef struct {
    const char     *allow_name;     /* the list's key, for messages */
    const char     *allow;          /* "<addr>[/<bits>][:<port>] ..."; NULL:
                                       none */
    const char     *ca;             /* a CA file; NULL or "": the system's */
    long long       timeout;        /* ms a request may take: default */
    long long       connect_timeout;    /* ms; 0: timeout */
    long long       wait;           /* ms a queued one may wait; 0: timeout */
    size_t          response_max;   /* bytes of an answer's body: default */
    unsigned        concurrency;    /* transfers per endpoint: default */
    const char     *metrics;        /* names' prefix; NULL: "gw_svc_out" */
} gw_svc_out_conf_t;

typedef struct {
    const char             *method;     /* "POST"; NULL: "GET" */
    const char             *url;
    const char *const      *headers;    /* "Name: value", NULL-ended */
    const char             *body;       /* NULL: none */
    size_t                  body_len;
    long long               timeout;    /* ms; 0: the configured */
    long long               wait;       /* ms; 0: the configured */
    size_t                  response_max;   /* 0: the configured */
    unsigned                concurrency;    /* 0: the configured */
    size_t                  keep;       /* bytes kept; 0: GW_SVC_OUT_KEEP */
    unsigned                trusted;    /* 1: the operator's own URL, no
                                           address guard */
} gw_svc_out_req_t;

typedef struct {
    int                     status;     /* HTTP status; 0: no answer */
    long long               latency;    /* ms, from the call to the end */
    long long               retry_after;    /* ms the answer asked; 0 */
    const char             *error;      /* "" when the answer came */
    const char             *body;       /* its first keep bytes */
    size_t                  body_len;
    const char             *content_type;   /* the answer's; "": none */
} gw_svc_out_res_t;

/*
 * The outcome of a request: status 0 with error set when no answer was
 * read ("timeout", "endpoint busy", "address refused: 10.0.0.1
 * (private)", "tls: ...", "connect: ...", "resolve: ...", "response too
 * large", "stopping", ...); res and what it points to live only during
 * the call.
 */
typedef void (*gw_svc_out_done_pt)(const gw_svc_out_res_t *res, void *data);

/*
 * Sets outbound HTTP up before gw_svc_run(): conf copied, the allow list
 * parsed, the CA file checked, libcurl's global state made (before any
 * thread of the service starts), the metrics <prefix>_requests_total
 * {outcome} and <prefix>_duration_seconds registered.  0, or -1 after a
 * line on stderr.
 */
int gw_svc_out_configure(gw_svc_t *svc, const gw_svc_out_conf_t *conf);

/*
 * Starts req (copied: the caller's strings need not outlive the call);
 * done runs exactly once, never inside the call.  0, or -1 with err
 * filled when the URL is refused, outbound HTTP is not configured or
 * memory ran out (done never runs).
 */
int gw_svc_out_request(gw_svc_t *svc, const gw_svc_out_req_t *req,
    gw_svc_out_done_pt done, void *data, char *err, size_t errlen);

/*
 * Checks a URL before it is stored: http or https, a host (at most 255
 * bytes), no user or password, and, when the host is an address, one
 * the allow list names or that is not special.  0, or -1 with err
 * filled.
 */
int gw_svc_out_check_url(gw_svc_t *svc, const char *url, char *err,
    size_t errlen);

/*
 * Ends outbound HTTP (a service's loop stop; the kit again after it):
 * transfers running or queued end at once, their done run with an
 * error; none may start another.  Safe to call twice.
 */
void gw_svc_out_free(gw_svc_t *svc);


/* ---- metrics ------------------------------------------------------------- */

/*
 * Metrics are registered before gw_svc_run() with a fixed list of label
 * names (NULL-terminated, at most 4; NULL: none) and rendered on
 * /metrics in the Prometheus text format.  Updates take the label values
 * in the same order; each new combination is a series, at most 256 per
 * metric (later ones are dropped and counted in
 * gw_metrics_series_dropped_total).  Names follow Prometheus: counters
 * end in _total, units are base units (seconds, bytes).  NULL on error.
 */
gw_svc_metric_t *gw_svc_counter(gw_svc_t *svc, const char *name,
    const char *help, const char *const *labels);
gw_svc_metric_t *gw_svc_gauge(gw_svc_t *svc, const char *name,
    const char *help, const char *const *labels);

/* buckets: n increasing upper bounds, +Inf added; NULL: the default */
gw_svc_metric_t *gw_svc_histogram(gw_svc_t *svc, const char *name,
    const char *help, const char *const *labels, const double *buckets,
    size_t n);

/* then the label values, one const char * per label name */
void gw_svc_metric_add(gw_svc_metric_t *m, double v, ...);
void gw_svc_metric_set(gw_svc_metric_t *m, double v, ...);
void gw_svc_metric_observe(gw_svc_metric_t *m, double v, ...);


#endif /* _GW_SVC_H_INCLUDED_ */
