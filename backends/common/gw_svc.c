
/*
 * Copyright (C) Tollgate
 *
 * The service's life: creation, the command line, the loop, the Redis
 * connection, the kit's own routes, and the graceful stop.
 *
 * Redis: one asynchronous connection, attached to the loop with hiredis'
 * libevent adapter.  It is "up" only after a PING (after AUTH, when a
 * password is set) was answered, so /readyz never says ready on a socket
 * that merely connected.  A timer, every redis_retry, reconnects when the
 * connection is down, and otherwise sends a PING: a PING still
 * unanswered at the next tick marks Redis down for readiness (a stalled
 * server) until it answers, and after GW_SVC_REDIS_STALLS such ticks the
 * connection is dropped and made again.  The first failed connect after
 * Redis was up (or at the start) is logged as a warning, the next ones
 * at debug only, so a long outage does not flood the log.  Every
 * subscription (gw_svc_sub.c) connects the same way, gw_svc_redis_open().
 *
 * The stop, on SIGTERM or SIGINT: the listening socket is closed at once
 * (new connections are refused), /readyz answers 503, answers carry
 * "Connection: close", the service's drain hook runs, and the loop goes
 * on until the requests in flight are answered or shutdown_timeout
 * passes, and the service's own holds (gw_svc_hold()) are released;
 * then Redis is disconnected and gw_svc_run() returns.  Logs are written
 * unbuffered, so nothing is left to flush.  A second signal stops at once.
 */


#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/adapters/libevent.h>

#include "gw_svc_int.h"


static void gw_svc_healthz(gw_svc_req_t *req, void *data);
static void gw_svc_readyz(gw_svc_req_t *req, void *data);
static void gw_svc_metrics(gw_svc_req_t *req, void *data);
static int gw_svc_listen(gw_svc_t *svc);
static void gw_svc_signal(evutil_socket_t fd, short what, void *arg);
static void gw_svc_deadline(evutil_socket_t fd, short what, void *arg);
static void gw_svc_stop(gw_svc_t *svc);
static void gw_svc_redis_connect(gw_svc_t *svc);
static void gw_svc_redis_tick(evutil_socket_t fd, short what, void *arg);
static void gw_svc_redis_connected(const redisAsyncContext *ac, int status);
static void gw_svc_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void gw_svc_redis_auth(redisAsyncContext *ac, void *r, void *data);
static void gw_svc_redis_pong(redisAsyncContext *ac, void *r, void *data);
static void gw_svc_redis_state(gw_svc_t *svc, gw_svc_redis_state_e state);


/* ---- creation ------------------------------------------------------------ */


gw_svc_t *
gw_svc_create(const char *name, const gw_svc_key_t *keys)
{
    size_t     i;
    gw_svc_t  *svc;

    for (i = 0; name[i] != '\0'; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
        {
            break;
        }
    }

    if (i == 0 || i > GW_SVC_NAME_MAX || name[i] != '\0') {
        fprintf(stderr, "gw_svc_create: service name \"%s\" is malformed\n",
                name);
        return NULL;
    }

    svc = calloc(1, sizeof(gw_svc_t));
    if (svc == NULL) {
        fprintf(stderr, "%s: out of memory\n", name);
        return NULL;
    }

    memcpy(svc->name, name, i + 1);
    svc->last_route = &svc->routes;
    svc->log_level = GW_SVC_INFO;

    if (gw_svc_metrics_init(svc) != 0
        || gw_svc_conf_init(svc, keys) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/healthz",
                        GW_SVC_BUILTIN, gw_svc_healthz, NULL) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/readyz",
                        GW_SVC_BUILTIN, gw_svc_readyz, NULL) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/metrics",
                        GW_SVC_BUILTIN, gw_svc_metrics, NULL) != 0)
    {
        fprintf(stderr, "%s: %s\n", name, svc->err);
        gw_svc_free(svc);
        return NULL;
    }

    return svc;
}


void
gw_svc_free(gw_svc_t *svc)
{
    gw_svc_route_t  *rt, *next;

    if (svc == NULL) {
        return;
    }

    for (rt = svc->routes; rt != NULL; rt = next) {
        next = rt->next;
        free(rt->path);
        free(rt->label);
        free(rt);
    }

    gw_svc_subs_free(svc);
    gw_svc_metrics_free(svc);
    gw_svc_conf_free(svc);
    free(svc);
}


const char *
gw_svc_error(gw_svc_t *svc)
{
    return svc->err;
}


int
gw_svc_route(gw_svc_t *svc, unsigned methods, const char *path,
    unsigned flags, gw_svc_handler_pt handler, void *data)
{
    size_t           len;
    gw_svc_route_t  *rt;

    if (path[0] != '/' || methods == 0 || handler == NULL) {
        gw_svc_set_error(svc, "route \"%s\": malformed", path);
        return -1;
    }

    rt = calloc(1, sizeof(gw_svc_route_t));
    if (rt == NULL) {
        goto nomem;
    }

    len = strlen(path);

    rt->methods = methods;
    rt->flags = flags;
    rt->handler = handler;
    rt->data = data;
    rt->len = len;
    rt->path = strdup(path);
    rt->label = malloc(len + 2);

    if (rt->path == NULL || rt->label == NULL) {
        free(rt->path);
        free(rt->label);
        free(rt);
        goto nomem;
    }

    memcpy(rt->label, path, len);
    rt->label[len] = (flags & GW_SVC_PREFIX) ? '*' : '\0';
    rt->label[len + 1] = '\0';

    *svc->last_route = rt;
    svc->last_route = &rt->next;

    return 0;

nomem:

    gw_svc_set_error(svc, "out of memory");
    return -1;
}


void
gw_svc_set_ready(gw_svc_t *svc, gw_svc_ready_pt ready, void *data)
{
    svc->ready = ready;
    svc->ready_data = data;
}


void
gw_svc_set_loop(gw_svc_t *svc, gw_svc_loop_pt start, gw_svc_loop_pt stop,
    void *data)
{
    svc->loop_start = start;
    svc->loop_stop = stop;
    svc->loop_data = data;
}


struct event_base *
gw_svc_base(gw_svc_t *svc)
{
    return svc->base;
}


redisAsyncContext *
gw_svc_redis(gw_svc_t *svc)
{
    return (svc->redis_state == GW_SVC_REDIS_UP) ? svc->redis : NULL;
}


/* ---- the kit's routes ---------------------------------------------------- */


int
gw_svc_is_ready(gw_svc_t *svc, const char **why)
{
    if (svc->draining) {
        *why = "shutting down";
        return 0;
    }

    if (svc->redis_state != GW_SVC_REDIS_UP) {
        *why = "redis is not reachable";
        return 0;
    }

    if (svc->ready != NULL && !svc->ready(svc, svc->ready_data)) {
        *why = "the service is not ready";
        return 0;
    }

    return 1;
}


static void
gw_svc_healthz(gw_svc_req_t *req, void *data)
{
    gw_svc_reply_json(req, 200, json_pack("{s:s}", "status", "alive"));
}


static void
gw_svc_readyz(gw_svc_req_t *req, void *data)
{
    const char  *why;

    if (gw_svc_is_ready(req->svc, &why)) {
        gw_svc_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
        return;
    }

    gw_svc_reply_problem(req, 503, "not-ready", "Not ready", why);
}


static void
gw_svc_metrics(gw_svc_req_t *req, void *data)
{
    size_t            len;
    struct evbuffer  *buf;
    unsigned char    *p;

    buf = evbuffer_new();
    if (buf == NULL) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    gw_svc_metrics_render(req->svc, buf);

    len = evbuffer_get_length(buf);
    p = evbuffer_pullup(buf, -1);

    if (p == NULL && len > 0) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");

    } else {
        gw_svc_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                     p, len);
    }

    evbuffer_free(buf);
}


/* ---- the command line ---------------------------------------------------- */


int
gw_svc_main(gw_svc_t *svc, int argc, char **argv)
{
    int          i, check;
    char         var[GW_SVC_NAME_MAX + 32];
    const char  *path;

    path = NULL;
    check = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else if (strcmp(argv[i], "-t") == 0) {
            check = 1;

        } else {
            fprintf(stderr, "usage: %s [-c FILE] [-t]\n", argv[0]);

            for (i = 0; svc->forms != NULL && svc->forms[i] != NULL; i++) {
                fprintf(stderr, "       %s %s\n", argv[0], svc->forms[i]);
            }

            return 2;
        }
    }

    if (path == NULL) {
        snprintf(var, sizeof(var), "TOLLGATE_%s_CONFIG", svc->name);

        for (i = 9; var[i] != '\0'; i++) {
            var[i] = (var[i] == '-') ? '_'
                     : (var[i] >= 'a' && var[i] <= 'z') ? var[i] - 32
                     : var[i];
        }

        path = getenv(var);
    }

    if (gw_svc_configure(svc, path) != 0) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", svc->err));
        return 2;
    }

    if (svc->configured != NULL && svc->configured(svc) != 0) {
        return 2;
    }

    if (check) {
        gw_svc_log(svc, GW_SVC_INFO, NULL, "configuration ok", NULL);
        return 0;
    }

    if (gw_svc_run(svc) != 0) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot run",
                   json_pack("{s:s}", "error", svc->err));
        return 1;
    }

    return 0;
}


void
gw_svc_set_main(gw_svc_t *svc, gw_svc_configured_pt configured,
    const char *const *forms)
{
    svc->configured = configured;
    svc->forms = forms;
}


void
gw_svc_instance(gw_svc_t *svc, const char *key, char *buf, size_t size)
{
    char         host[64];
    const char  *s;

    s = gw_svc_conf_str(svc, key);

    if (s[0] != '\0') {
        snprintf(buf, size, "%s", s);
        return;
    }

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "%s", svc->name);
    }

    host[sizeof(host) - 1] = '\0';
    snprintf(buf, size, "%s-%d", host, (int) getpid());
}


/* ---- the loop ------------------------------------------------------------ */


/* binds "host:port" or "unix:/path" and logs the address it got */

static int
gw_svc_listen(gw_svc_t *svc)
{
    int                  fd;
    char                *host, *colon;
    const char          *addr;
    socklen_t            slen;
    struct stat          st;
    struct sockaddr_un   sun;
    struct sockaddr_storage  ss;
    char                 name[INET6_ADDRSTRLEN];

    addr = gw_svc_conf_str(svc, "listen");

    if (strncmp(addr, "unix:", 5) == 0) {
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);

        /* a socket file left by an earlier run; never another file */

        if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            unlink(sun.sun_path);
        }

        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd == -1) {
            gw_svc_set_error(svc, "socket: %s", strerror(errno));
            return -1;
        }

        if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0
            || listen(fd, 128) != 0
            || evutil_make_socket_nonblocking(fd) != 0)
        {
            gw_svc_set_error(svc, "listen %s: %s", addr, strerror(errno));
            close(fd);
            return -1;
        }

        svc->unix_path = strdup(sun.sun_path);
        svc->bound = evhttp_accept_socket_with_handle(svc->http, fd);

        if (svc->unix_path == NULL || svc->bound == NULL) {
            gw_svc_set_error(svc, "listen %s: cannot accept", addr);
            if (svc->bound == NULL) {
                close(fd);
            }
            return -1;
        }

        gw_svc_log(svc, GW_SVC_INFO, NULL, "listening",
                   json_pack("{s:s}", "address", addr));
        return 0;
    }

    host = strdup(addr);
    if (host == NULL) {
        gw_svc_set_error(svc, "out of memory");
        return -1;
    }

    colon = strrchr(host, ':');
    *colon = '\0';

    if (host[0] == '[') {
        colon[-1] = '\0';
    }

    svc->bound = evhttp_bind_socket_with_handle(svc->http,
                                                host + (host[0] == '['),
                                                atoi(colon + 1));
    free(host);

    if (svc->bound == NULL) {
        gw_svc_set_error(svc, "listen %s: %s", addr, strerror(errno));
        return -1;
    }

    fd = evhttp_bound_socket_get_fd(svc->bound);
    slen = sizeof(ss);
    name[0] = '\0';

    if (getsockname(fd, (struct sockaddr *) &ss, &slen) != 0) {
        gw_svc_set_error(svc, "getsockname: %s", strerror(errno));
        return -1;
    }

    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, name,
                  sizeof(name));

    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, name,
                  sizeof(name));
    }

    gw_svc_log(svc, GW_SVC_INFO, NULL, "listening",
               json_pack("{s:s, s:s, s:i}", "address", addr, "host", name,
                         "port", ntohs(((struct sockaddr_in *) &ss)
                                       ->sin_port)));
    return 0;
}


int
gw_svc_run(gw_svc_t *svc)
{
    int              rc, n;
    long long        ms;
    struct timeval   tv;

    rc = -1;

    signal(SIGPIPE, SIG_IGN);

    svc->base = event_base_new();
    if (svc->base == NULL) {
        gw_svc_set_error(svc, "event_base_new failed");
        goto done;
    }

    svc->http = evhttp_new(svc->base);
    if (svc->http == NULL) {
        gw_svc_set_error(svc, "evhttp_new failed");
        goto done;
    }

    /* the hard limit evhttp enforces itself (gw_svc_http.c) */

    evhttp_set_max_body_size(svc->http,
                             gw_svc_conf_int(svc, "body_max") * 2 + 65536);

    evhttp_set_max_headers_size(svc->http,
                                gw_svc_conf_int(svc, "header_max"));

    ms = gw_svc_conf_int(svc, "request_timeout");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evhttp_set_timeout_tv(svc->http, &tv);

    evhttp_set_allowed_methods(svc->http,
        EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT
        | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS
        | EVHTTP_REQ_TRACE);
    evhttp_set_gencb(svc->http, gw_svc_http_handler, svc);

    svc->sigterm = evsignal_new(svc->base, SIGTERM, gw_svc_signal, svc);
    svc->sigint = evsignal_new(svc->base, SIGINT, gw_svc_signal, svc);
    svc->redis_timer = event_new(svc->base, -1, EV_PERSIST,
                                 gw_svc_redis_tick, svc);
    svc->deadline = evtimer_new(svc->base, gw_svc_deadline, svc);

    if (svc->sigterm == NULL || svc->sigint == NULL
        || svc->redis_timer == NULL || svc->deadline == NULL)
    {
        gw_svc_set_error(svc, "out of memory");
        goto done;
    }

    ms = gw_svc_conf_int(svc, "redis_retry");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    if (evsignal_add(svc->sigterm, NULL) != 0
        || evsignal_add(svc->sigint, NULL) != 0
        || event_add(svc->redis_timer, &tv) != 0)
    {
        gw_svc_set_error(svc, "cannot add events");
        goto done;
    }

    if (gw_svc_listen(svc) != 0) {
        goto done;
    }

    gw_svc_redis_connect(svc);
    gw_svc_subs_start(svc);

    gw_svc_log(svc, GW_SVC_INFO, NULL, "started",
               json_pack("{s:i}", "pid", (int) getpid()));

    if (svc->loop_start != NULL) {
        svc->loop_start(svc, svc->base, svc->loop_data);
    }

    n = event_base_dispatch(svc->base);

    if (svc->loop_stop != NULL) {
        svc->loop_stop(svc, svc->base, svc->loop_data);
    }

    /* outbound HTTP ends with the loop, if the service did not end it */
    gw_svc_out_free(svc);

    if (n == -1) {
        gw_svc_set_error(svc, "event loop failed");
        goto done;
    }

    rc = 0;

    gw_svc_log(svc, GW_SVC_INFO, NULL, "stopped",
               json_pack("{s:i}", "unanswered", (int) svc->in_flight));

done:

    gw_svc_subs_free(svc);

    if (svc->redis != NULL) {
        redisAsyncFree(svc->redis);
        svc->redis = NULL;
    }

    if (svc->http != NULL) {
        evhttp_free(svc->http);
        svc->http = NULL;
    }

    if (svc->unix_path != NULL) {
        unlink(svc->unix_path);
        free(svc->unix_path);
        svc->unix_path = NULL;
    }

    if (svc->sigterm != NULL) {
        event_free(svc->sigterm);
    }

    if (svc->sigint != NULL) {
        event_free(svc->sigint);
    }

    if (svc->redis_timer != NULL) {
        event_free(svc->redis_timer);
    }

    if (svc->deadline != NULL) {
        event_free(svc->deadline);
    }

    svc->sigterm = NULL;
    svc->sigint = NULL;
    svc->redis_timer = NULL;
    svc->deadline = NULL;

    if (svc->base != NULL) {
        event_base_free(svc->base);
        svc->base = NULL;
    }

    return rc;
}


/* ---- the stop ------------------------------------------------------------ */


void
gw_svc_shutdown(gw_svc_t *svc)
{
    long long       ms;
    struct timeval  tv;

    if (svc->draining) {
        gw_svc_log(svc, GW_SVC_WARN, NULL, "stopping now",
                   json_pack("{s:i}", "in_flight", (int) svc->in_flight));
        gw_svc_stop(svc);
        return;
    }

    svc->draining = 1;

    gw_svc_log(svc, GW_SVC_INFO, NULL, "shutting down",
               json_pack("{s:i}", "in_flight", (int) svc->in_flight));

    if (svc->bound != NULL) {
        evhttp_del_accept_socket(svc->http, svc->bound);
        svc->bound = NULL;
    }

    ms = gw_svc_conf_int(svc, "shutdown_timeout");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(svc->deadline, &tv);

    if (svc->drain != NULL) {
        svc->drain(svc, svc->drain_data);
    }

    gw_svc_req_done(svc);
}


void
gw_svc_set_drain(gw_svc_t *svc, gw_svc_drain_pt drain, void *data)
{
    svc->drain = drain;
    svc->drain_data = data;
}


void
gw_svc_hold(gw_svc_t *svc)
{
    svc->held++;
}


void
gw_svc_release(gw_svc_t *svc)
{
    if (svc->held > 0) {
        svc->held--;
    }

    gw_svc_req_done(svc);
}


static void
gw_svc_signal(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_shutdown(arg);
}


static void
gw_svc_deadline(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_t  *svc;

    svc = arg;

    gw_svc_log(svc, GW_SVC_WARN, NULL, "shutdown deadline reached",
               json_pack("{s:i, s:i}", "unanswered", (int) svc->in_flight,
                         "held", (int) svc->held));

    /* the holds end by their own deadlines */
    svc->overdue = 1;
    gw_svc_req_done(svc);
}


/*
 * Called after each answer, each connection closed and each hold
 * released while draining: the last one ends the loop.
 */

void
gw_svc_req_done(gw_svc_t *svc)
{
    if (svc->draining && svc->held == 0
        && (svc->overdue || (svc->in_flight == 0 && svc->closing == 0)))
    {
        gw_svc_stop(svc);
    }
}


static void
gw_svc_stop(gw_svc_t *svc)
{
    if (svc->stopped) {
        return;
    }

    svc->stopped = 1;

    evtimer_del(svc->deadline);
    event_del(svc->redis_timer);

    if (svc->redis != NULL) {
        redisAsyncDisconnect(svc->redis);
    }

    event_base_loopexit(svc->base, NULL);
}


/* ---- Redis --------------------------------------------------------------- */


static void
gw_svc_redis_state(gw_svc_t *svc, gw_svc_redis_state_e state)
{
    if (state == GW_SVC_REDIS_UP && svc->redis_state != GW_SVC_REDIS_UP) {
        svc->redis_failures = 0;
        gw_svc_log(svc, GW_SVC_INFO, NULL, "redis up", NULL);

    } else if (state != GW_SVC_REDIS_UP
               && svc->redis_state == GW_SVC_REDIS_UP)
    {
        gw_svc_log(svc, svc->stopped ? GW_SVC_INFO : GW_SVC_WARN, NULL,
                   "redis down", NULL);
    }

    svc->redis_state = state;
    gw_svc_metric_set(svc->m_redis_up, state == GW_SVC_REDIS_UP ? 1 : 0);
}


/*
 * A connection to the configured address ("host:port", "[v6]:port" or
 * "unix:/path") on the loop, with ac->data set to data and the two
 * callbacks, AUTH queued first when redis_password is set (a refusal is
 * logged and drops the connection).  The kit's connection and every
 * subscription are made here.  NULL, with the reason in svc->err, when
 * the connect could not even start.
 */

redisAsyncContext *
gw_svc_redis_open(gw_svc_t *svc, void *data, redisConnectCallback *connected,
    redisDisconnectCallback *disconnected)
{
    char               *host, *colon;
    const char         *addr, *pw;
    redisAsyncContext  *ac;

    addr = gw_svc_conf_str(svc, "redis");

    if (strncmp(addr, "unix:", 5) == 0) {
        ac = redisAsyncConnectUnix(addr + 5);

    } else {
        host = strdup(addr);
        if (host == NULL) {
            gw_svc_set_error(svc, "out of memory");
            return NULL;
        }

        /* the configuration checked the form: a port after the last ':' */

        colon = strrchr(host, ':');
        if (colon == NULL) {
            gw_svc_set_error(svc, "no port in \"%s\"", addr);
            free(host);
            return NULL;
        }

        *colon = '\0';

        if (host[0] == '[') {
            colon[-1] = '\0';
        }

        ac = redisAsyncConnect(host + (host[0] == '['), atoi(colon + 1));
        free(host);
    }

    if (ac == NULL || ac->err != 0) {
        gw_svc_set_error(svc, "%s", ac != NULL ? ac->errstr : "out of memory");

        if (ac != NULL) {
            redisAsyncFree(ac);
        }

        return NULL;
    }

    ac->data = data;

    if (redisLibeventAttach(ac, svc->base) != REDIS_OK) {
        gw_svc_set_error(svc, "cannot attach to the loop");
        redisAsyncFree(ac);
        return NULL;
    }

    redisAsyncSetConnectCallback(ac, connected);
    redisAsyncSetDisconnectCallback(ac, disconnected);

    pw = gw_svc_conf_str(svc, "redis_password");

    if (pw[0] != '\0') {
        redisAsyncCommand(ac, gw_svc_redis_auth, svc, "AUTH %s", pw);
    }

    return ac;
}


static void
gw_svc_redis_connect(gw_svc_t *svc)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis_open(svc, svc, gw_svc_redis_connected,
                           gw_svc_redis_disconnected);

    if (ac == NULL) {
        gw_svc_metric_add(svc->m_redis_connects, 1, "error");
        gw_svc_log(svc, svc->redis_failures++ == 0 ? GW_SVC_WARN
                                                   : GW_SVC_DEBUG,
                   NULL, "redis connect failed",
                   json_pack("{s:s, s:s}", "address",
                             gw_svc_conf_str(svc, "redis"), "error",
                             svc->err));
        return;
    }

    svc->redis = ac;
    svc->redis_state = GW_SVC_REDIS_CONNECTING;

    svc->redis_ping_out = 1;
    redisAsyncCommand(ac, gw_svc_redis_pong, svc, "PING");
}


static void
gw_svc_redis_connected(const redisAsyncContext *ac, int status)
{
    gw_svc_t  *svc;

    svc = ac->data;

    if (status == REDIS_OK) {
        gw_svc_metric_add(svc->m_redis_connects, 1, "ok");
        return;
    }

    /* hiredis frees the context after this callback */

    gw_svc_metric_add(svc->m_redis_connects, 1, "error");
    gw_svc_log(svc, svc->redis_failures++ == 0 ? GW_SVC_WARN : GW_SVC_DEBUG,
               NULL, "redis connect failed",
               json_pack("{s:s, s:s}", "address",
                         gw_svc_conf_str(svc, "redis"), "error", ac->errstr));

    svc->redis = NULL;
    svc->redis_ping_out = 0;
    gw_svc_redis_state(svc, GW_SVC_REDIS_DOWN);
}


static void
gw_svc_redis_disconnected(const redisAsyncContext *ac, int status)
{
    gw_svc_t  *svc;

    svc = ac->data;

    if (status != REDIS_OK && !svc->stopped) {
        gw_svc_log(svc, GW_SVC_WARN, NULL, "redis connection lost",
                   json_pack("{s:s}", "error", ac->errstr));
    }

    svc->redis = NULL;
    svc->redis_ping_out = 0;
    gw_svc_redis_state(svc, GW_SVC_REDIS_DOWN);
}


static void
gw_svc_redis_auth(redisAsyncContext *ac, void *r, void *data)
{
    gw_svc_t    *svc;
    redisReply  *reply;

    svc = data;
    reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "redis AUTH failed",
                   json_pack("{s:s}", "error", reply->str));
        redisAsyncDisconnect(ac);
    }
}


static void
gw_svc_redis_pong(redisAsyncContext *ac, void *r, void *data)
{
    gw_svc_t    *svc;
    redisReply  *reply;

    svc = data;
    reply = r;

    svc->redis_ping_out = 0;
    svc->redis_stalls = 0;

    if (reply == NULL || svc->redis != ac) {
        return;
    }

    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0)
    {
        gw_svc_redis_state(svc, GW_SVC_REDIS_UP);
        return;
    }

    gw_svc_log(svc, GW_SVC_WARN, NULL, "redis PING failed",
               json_pack("{s:s}", "error",
                         reply->type == REDIS_REPLY_ERROR ? reply->str
                                                          : "unexpected"));
    gw_svc_redis_state(svc, GW_SVC_REDIS_CONNECTING);
}


static void
gw_svc_redis_tick(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_t  *svc;

    svc = arg;

    if (svc->stopped) {
        return;
    }

    if (svc->redis == NULL) {
        gw_svc_redis_connect(svc);
        return;
    }

    if (svc->redis_ping_out) {
        gw_svc_redis_state(svc, GW_SVC_REDIS_CONNECTING);

        if (++svc->redis_stalls < GW_SVC_REDIS_STALLS) {
            return;
        }

        /*
         * No answer for that many ticks: a connect that never completes
         * (hiredis 0.14 has no connect timeout) or a server that stopped
         * answering.  Dropping the connection fails the commands waiting
         * on it (their callbacks get NULL) and the next tick reconnects.
         * The disconnect callback runs only for a connected context.
         */

        gw_svc_log(svc, GW_SVC_WARN, NULL, "redis not answering, "
                   "reconnecting", json_pack("{s:i}", "ticks",
                                             svc->redis_stalls));
        redisAsyncFree(svc->redis);
        svc->redis = NULL;
        svc->redis_ping_out = 0;
        svc->redis_stalls = 0;
        gw_svc_redis_state(svc, GW_SVC_REDIS_DOWN);
        return;
    }

    svc->redis_ping_out = 1;
    redisAsyncCommand(svc->redis, gw_svc_redis_pong, svc, "PING");
}
