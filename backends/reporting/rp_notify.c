
/*
 * Copyright (C) Tollgate
 *
 * Delivery through the notification service (docs/notification.md): a
 * done run whose delivery is
 *
 *   {"channel": "email", "to": ["a@example.com", ...], "subject"?}
 *   {"channel": "webhook", "type"?: "report.ready"}
 *
 * becomes one POST /v1/notifications, as the run's owner (X-Consumer-ID:
 * the notification service's owner is the report's consumer, so a
 * webhook goes to that consumer's subscriptions).  An email carries the
 * file as an attachment up to attach_max bytes, else the download link
 * (public_url should then be set, so that the link is absolute).  The
 * notification service takes a body of its body_max at most (1m by
 * default, less than attach_max's 5m once in base64): an attachment it
 * refuses as too large (413, or the connection closed past twice its
 * body_max) is sent again once as the link, with the same
 * Idempotency-Key (should the first have been taken after all, the
 * second is a 422, never a second email).  The
 * outcome is the run's "delivery" ("sent", "refused <status>",
 * "failed"); the notification service retries on its own from there.
 *
 * The request goes only to the address the operator configured
 * ("notification", host:port: an IP address or a name in /etc/hosts,
 * since libevent without a DNS base resolves on the loop), on a
 * connection of its own with a timeout, held across a graceful stop.
 * libevent's HTTP client stays here until the kit has one of its own.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "rp.h"


#define RP_NOTIFY_TIMEOUT   10      /* seconds */


typedef struct {
    struct evhttp_connection  *conn;
    char                      *link;    /* the email as a link, or NULL */
    char                       run[RP_RUN_LEN + 1];
    char                       owner[RP_OWNER_MAX + 1];
} rp_notify_t;


static void rp_notify_send(rp_notify_t *n, char *text, int held);
static json_t *rp_notify_body(rp_job_t *job, const char *channel,
    int attach);
static json_t *rp_notify_attachment(rp_job_t *job);
static void rp_notify_done(struct evhttp_request *req, void *arg);
static void rp_notify_again(evutil_socket_t fd, short what, void *arg);
static void rp_notify_free(evutil_socket_t fd, short what, void *arg);
static void rp_notify_told(rp_notify_t *n, const char *what, int held);


static char            rp_notify_host[256];
static unsigned short  rp_notify_port;
static size_t          rp_attach_max;


int
rp_notify_configure(gw_svc_t *svc)
{
    long         port;
    char        *end;
    const char  *addr, *colon;

    addr = gw_svc_conf_str(svc, "notification");
    rp_attach_max = (size_t) gw_svc_conf_int(svc, "attach_max");

    if (addr[0] == '\0') {
        return 0;
    }

    colon = strrchr(addr, ':');
    port = (colon != NULL) ? strtol(colon + 1, &end, 10) : 0;

    if (colon == NULL || colon == addr || *end != '\0' || port < 1
        || port > 65535 || (size_t) (colon - addr) >= sizeof(rp_notify_host))
    {
        fprintf(stderr, "reporting: notification: \"host:port\", not "
                "\"%s\"\n", addr);
        return -1;
    }

    memcpy(rp_notify_host, addr, colon - addr);
    rp_notify_host[colon - addr] = '\0';
    rp_notify_port = (unsigned short) port;

    return 0;
}


/* a delivery's shape: 0, or -1 with the reason in err */
int
rp_notify_check(json_t *d, char *err, size_t errlen)
{
    size_t       i;
    json_t      *to, *v;
    const char  *ch;

    ch = json_string_value(json_object_get(d, "channel"));

    if (ch == NULL
        || (strcmp(ch, "email") != 0 && strcmp(ch, "webhook") != 0
            && strcmp(ch, "download") != 0))
    {
        snprintf(err, errlen, "/delivery/channel: email, webhook or "
                 "download");
        return -1;
    }

    if (strcmp(ch, "email") == 0) {
        to = json_object_get(d, "to");

        if (!json_is_array(to) || json_array_size(to) == 0
            || json_array_size(to) > 100)
        {
            snprintf(err, errlen, "/delivery/to: 1 to 100 addresses");
            return -1;
        }

        json_array_foreach(to, i, v) {
            if (!json_is_string(v) || json_string_length(v) > 254
                || strchr(json_string_value(v), '@') == NULL)
            {
                snprintf(err, errlen, "/delivery/to/%zu: an address", i);
                return -1;
            }
        }
    }

    return 0;
}


void
rp_notify_run(rp_job_t *job)
{
    char         *text;
    json_t       *body;
    const char   *ch;
    rp_notify_t  *n;

    ch = json_string_value(json_object_get(job->delivery, "channel"));

    if (ch == NULL || strcmp(ch, "download") == 0) {
        return;
    }

    n = calloc(1, sizeof(rp_notify_t));
    if (n == NULL) {
        return;
    }

    memcpy(n->run, job->run, sizeof(n->run));
    snprintf(n->owner, sizeof(n->owner), "%s", job->owner);

    if (rp_notify_host[0] == '\0') {
        rp_notify_told(n, "failed: no notification service configured", 0);
        free(n);
        return;
    }

    body = rp_notify_body(job, ch, 1);
    text = (body != NULL) ? json_dumps(body, JSON_COMPACT) : NULL;

    /* with a file attached, the link too, should the file be refused */
    if (json_object_get(body, "attachments") != NULL) {
        json_decref(body);
        body = rp_notify_body(job, ch, 0);
        n->link = (body != NULL) ? json_dumps(body, JSON_COMPACT) : NULL;
    }

    json_decref(body);

    rp_notify_send(n, text, 0);
}


/*
 * POST text (owned: freed here) on a connection of its own.  held: the
 * service's hold was taken by an earlier request of this delivery.  On
 * failure the outcome is told, and n freed.
 */
static void
rp_notify_send(rp_notify_t *n, char *text, int held)
{
    char                    key[RP_RUN_LEN + 3];
    struct evbuffer         *out;
    struct evkeyvalq        *h;
    struct evhttp_request   *req;

    /* the notification service takes an RFC 9651 string: "<run>" */
    snprintf(key, sizeof(key), "\"%s\"", n->run);

    n->conn = evhttp_connection_base_new(rp.base, NULL, rp_notify_host,
                                         rp_notify_port);
    req = evhttp_request_new(rp_notify_done, n);

    if (text == NULL || n->conn == NULL || req == NULL) {
        goto failed;
    }

    evhttp_connection_set_timeout(n->conn, RP_NOTIFY_TIMEOUT);

    h = evhttp_request_get_output_headers(req);
    out = evhttp_request_get_output_buffer(req);

    if (evhttp_add_header(h, "Host", rp_notify_host) != 0
        || evhttp_add_header(h, "Content-Type", "application/json") != 0
        || evhttp_add_header(h, "X-Consumer-ID", n->owner) != 0
        || evhttp_add_header(h, "Idempotency-Key", key) != 0
        || evbuffer_add(out, text, strlen(text)) != 0)
    {
        goto failed;
    }

    free(text);
    text = NULL;

    if (evhttp_make_request(n->conn, req, EVHTTP_REQ_POST,
                            "/v1/notifications")
        != 0)
    {
        req = NULL;         /* freed by libevent on failure */
        goto failed;
    }

    if (!held) {
        gw_svc_hold(rp.svc);
    }

    return;

failed:

    free(text);
    if (req != NULL) {
        evhttp_request_free(req);
    }
    rp_notify_told(n, "failed", held);
    if (n->conn != NULL) {
        evhttp_connection_free(n->conn);
    }
    free(n->link);
    free(n);
}


/* attach: 1 to attach the file when it is within attach_max */
static json_t *
rp_notify_body(rp_job_t *job, const char *channel, int attach)
{
    char         sig[64], link[600], text[1200];
    json_t      *b, *att, *subject;
    const char  *type;

    rp_sign(job->run, job->expires, sig, sizeof(sig));
    snprintf(link, sizeof(link), "%s/v1/downloads/%s?expires=%lld&sig=%s",
             rp.public_url, job->run, (long long) job->expires, sig);

    if (strcmp(channel, "webhook") == 0) {
        type = json_string_value(json_object_get(job->delivery, "type"));

        return json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s, s:I, s:I, s:s,"
                         " s:I}}}",
                         "channel", "webhook",
                         "type", type != NULL ? type : "report.ready",
                         "body", "data",
                         "run", job->run, "report", job->def->id,
                         "format", gw_report_format_name(job->fmt),
                         "rows", (json_int_t) job->rows,
                         "bytes", (json_int_t) job->bytes,
                         "download", link,
                         "expires", (json_int_t) job->expires);
    }

    subject = json_object_get(job->delivery, "subject");
    att = (attach && job->bytes <= rp_attach_max)
          ? rp_notify_attachment(job) : NULL;

    if (att != NULL) {
        snprintf(text, sizeof(text), "The report \"%.200s\" is attached "
                 "(%llu rows).", job->def->title,
                 (unsigned long long) job->rows);
    } else {
        snprintf(text, sizeof(text), "The report \"%.200s\" (%llu rows) "
                 "can be downloaded until %lld (seconds since the epoch) "
                 "at %s", job->def->title, (unsigned long long) job->rows,
                 (long long) job->expires, link);
    }

    b = json_pack("{s:s, s:O, s:{s:s, s:s}}",
                  "channel", "email",
                  "recipients", json_object_get(job->delivery, "to"),
                  "body", "subject",
                  json_is_string(subject) ? json_string_value(subject)
                                          : job->def->title,
                  "text", text);

    if (b != NULL && att != NULL) {
        json_object_set_new(b, "attachments", json_pack("[o]", att));
        att = NULL;
    }

    json_decref(att);

    return b;
}


/* the file, base64, read on the loop: at most attach_max bytes */
static json_t *
rp_notify_attachment(rp_job_t *job)
{
    char           name[160], type[64];
    FILE          *f;
    size_t         n;
    json_t        *att;
    unsigned char *raw, *b64;

    att = NULL;
    b64 = NULL;
    raw = malloc(job->bytes + 1);
    f = fopen(job->path, "rb");

    if (raw == NULL || f == NULL) {
        goto done;
    }

    n = fread(raw, 1, job->bytes, f);
    if (n != job->bytes) {
        goto done;
    }

    b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (b64 == NULL) {
        goto done;
    }

    EVP_EncodeBlock(b64, raw, (int) n);

    snprintf(name, sizeof(name), "%s-%s%s", job->def->id, job->run,
             gw_report_extension(job->fmt));
    snprintf(type, sizeof(type), "%.*s",
             (int) strcspn(gw_report_media_type(job->fmt), ";"),
             gw_report_media_type(job->fmt));

    att = json_pack("{s:s, s:s, s:s}", "filename", name,
                    "content_type", type, "content", (char *) b64);

done:

    if (f != NULL) {
        fclose(f);
    }
    free(raw);
    free(b64);

    return att;
}


static void
rp_notify_done(struct evhttp_request *req, void *arg)
{
    int           status;
    char          what[64];
    rp_notify_t  *n;

    n = arg;
    status = (req != NULL) ? evhttp_request_get_response_code(req) : 0;

    /*
     * the attachment too large for the notification service (413, or the
     * connection closed while the body was sent): the link instead
     */
    if ((status == 413 || status == 0) && n->link != NULL) {
        gw_svc_log(rp.svc, GW_SVC_INFO, NULL, "delivery: attachment "
                   "refused, sending the link",
                   json_pack("{s:s, s:i}", "run", n->run, "status", status));

        if (event_base_once(rp.base, -1, EV_TIMEOUT, rp_notify_again, n,
                            NULL)
            == 0)
        {
            return;
        }
    }

    if (status >= 200 && status < 300) {
        snprintf(what, sizeof(what), "sent");
    } else if (status > 0) {
        snprintf(what, sizeof(what), "refused %d", status);
    } else {
        snprintf(what, sizeof(what), "failed");
    }

    rp_notify_told(n, what, 1);

    /* the connection cannot be freed inside its own callback */
    if (event_base_once(rp.base, -1, EV_TIMEOUT, rp_notify_free, n, NULL)
        != 0)
    {
        /* left to the process's end: a stop is near when this fails */
    }
}


/* the email again, as the link, on a new connection (the service held) */
static void
rp_notify_again(evutil_socket_t fd, short what, void *arg)
{
    char         *text;
    rp_notify_t  *n;

    n = arg;

    evhttp_connection_free(n->conn);
    n->conn = NULL;
    text = n->link;
    n->link = NULL;

    rp_notify_send(n, text, 1);
}


static void
rp_notify_free(evutil_socket_t fd, short what, void *arg)
{
    rp_notify_t  *n;

    n = arg;

    evhttp_connection_free(n->conn);
    free(n->link);
    free(n);
}


/* the outcome on the run; held: the hold ends with the write's reply */
static void
rp_notify_told(rp_notify_t *n, const char *what, int held)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);

    if (ac == NULL
        || redisAsyncCommand(ac, held ? rp_run_released : NULL, NULL,
                             "HSET gw:rp:run:%s delivery %s", n->run, what)
           != REDIS_OK)
    {
        if (held) {
            gw_svc_release(rp.svc);
        }
    }

    gw_svc_log(rp.svc, strcmp(what, "sent") == 0 ? GW_SVC_INFO
                                                 : GW_SVC_WARN,
               NULL, "delivery", json_pack("{s:s, s:s}", "run", n->run,
                                           "outcome", what));
}
