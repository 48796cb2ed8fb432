
/*
 * Copyright (C) Tollgate
 *
 * tollgate:http (docs/workflow.md, "Task resources"): one HTTP call on
 * the kit's outbound HTTP, under the workflow's own address guard
 * (http_allow): an address the operator did not allow (loopback,
 * private, link-local, ...) is refused, literal in the URL before the
 * call or resolved at connect time, and the task fails saying why.
 *
 * The payload {"method", "url", "headers", "body", "timeout_seconds"} is
 * checked first; headers that would change how the request is framed
 * (Host, Content-Length, Transfer-Encoding, Connection) or that the
 * service sets itself (Idempotency-Key, traceparent,
 * X-Tollgate-Execution) are refused, as are bytes that would split a
 * header (CR, LF, NUL).  The call carries Idempotency-Key (the
 * attempt's: "<id>:<seq>"), so a receiver deduplicates a dispatch
 * repeated after a crash, the execution's trace continued, and the
 * execution's id.
 *
 * The result takes AWS's HTTP task shape: {"StatusCode", "Headers",
 * "ResponseBody"}, the body parsed when it is JSON.  A status outside
 * 2xx fails the task with "States.Http.StatusCode.<code>" (so a Retry
 * can name 503), a timeout with States.Timeout, anything else with
 * States.TaskFailed.
 *
 * With "auth": {"exchange": {"audience", "scope"}}, the call waits for
 * the caller's token exchanged at the identity service
 * (wf_task_exchange.c) and carries the new one as "Authorization:
 * Bearer"; the request is then kept whole (wf_http_t owns its copies)
 * until the exchange answers.  An Authorization of the payload's own is
 * refused with auth.exchange.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "wf_task_int.h"


#define WF_HTTP_HEADERS_MAX     32      /* headers in a payload */
#define WF_HTTP_HEADER_MAX      8192    /* bytes of one "Name: value" */
#define WF_HTTP_HEADERS_BYTES   32768   /* bytes of them all */
#define WF_HTTP_BODY_MAX        (1024 * 1024)   /* bytes sent */
#define WF_HTTP_TIMEOUT_MAX     3600    /* s, timeout_seconds */
#define WF_HTTP_EXCERPT         256     /* bytes of a body in a cause */


typedef struct {
    wf_task_pt              done;
    void                   *data;

    /* a call that waits for a token exchange: its copies */
    const char             *method;
    char                   *url;
    char                   *lines[WF_HTTP_HEADERS_MAX + 6];
    size_t                  n;
    char                   *body;       /* NULL: none */
    size_t                  len;
    long long               timeout;
} wf_http_t;


static int wf_http_headers(json_t *headers, char **lines, size_t *n,
    int *ctype, char *err, size_t errlen);
static int wf_http_token(const char *s);
static void wf_http_done(const gw_svc_out_res_t *res, void *data);
static json_t *wf_http_body(const gw_svc_out_res_t *res);
static void wf_http_exchanged(const char *token, const char *error,
    const char *cause, void *data);
static void wf_http_free(wf_http_t *h);


static const char *const  wf_http_reserved[] = {
    "host", "content-length", "transfer-encoding", "connection",
    "idempotency-key", "traceparent", "x-tollgate-execution", "expect",
    "upgrade", "te", "trailer", "keep-alive", "proxy-connection", NULL
};


int
wf_task_http(const wf_task_t *task, wf_task_pt done, void *data,
    char *err, size_t errlen)
{
    int                 rc, ctype;
    char               *lines[WF_HTTP_HEADERS_MAX + 5], *text;
    char                idem[300], tp[GW_TRACEPARENT_LEN + 32];
    char                exec[WF_ID_MAX + 32];
    size_t              n, i, len;
    json_t             *p, *v;
    long long           timeout;
    wf_http_t          *h;
    const char         *method, *url, *body, *aud, *scope;
    gw_svc_out_req_t    req;

    static const char *const  methods[] = { "GET", "POST", "PUT", "PATCH",
                                            "DELETE", NULL };

    p = task->payload;
    n = 0;
    text = NULL;
    h = NULL;
    rc = -1;

    if (!json_is_object(p)) {
        snprintf(err, errlen, "tollgate:http: the payload is not an "
                 "object");
        return -1;
    }

    method = "POST";
    v = json_object_get(p, "method");

    if (v != NULL) {
        method = json_string_value(v);

        for (i = 0; method != NULL && methods[i] != NULL; i++) {
            if (strcmp(method, methods[i]) == 0) {
                break;
            }
        }

        if (method == NULL || methods[i] == NULL) {
            snprintf(err, errlen, "tollgate:http: method: one of GET, "
                     "POST, PUT, PATCH, DELETE");
            return -1;
        }
    }

    url = json_string_value(json_object_get(p, "url"));

    if (url == NULL) {
        snprintf(err, errlen, "tollgate:http: url: a string is required");
        return -1;
    }

    if (gw_svc_out_check_url(wf.svc, url, err, errlen) != 0) {
        /* the kit's reason: scheme, host, or an address not allowed */
        text = strdup(err);
        snprintf(err, errlen, "tollgate:http: url: %s",
                 text != NULL ? text : "refused");
        free(text);
        return -1;
    }

    timeout = task->timeout > 0 ? task->timeout : wf.task_timeout;
    v = json_object_get(p, "timeout_seconds");

    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > WF_HTTP_TIMEOUT_MAX)
        {
            snprintf(err, errlen, "tollgate:http: timeout_seconds: an "
                     "integer from 1 to %d", WF_HTTP_TIMEOUT_MAX);
            return -1;
        }

        if (json_integer_value(v) * 1000 < timeout || timeout <= 0) {
            timeout = json_integer_value(v) * 1000;
        }
    }

    aud = NULL;
    scope = NULL;

    if (wf_task_exchange_args(json_object_get(p, "auth"),
                              json_object_get(p, "headers"), &aud, &scope,
                              err, errlen)
        != 0)
    {
        return -1;
    }

    ctype = 0;

    if (wf_http_headers(json_object_get(p, "headers"), lines, &n, &ctype,
                        err, errlen)
        != 0)
    {
        goto done;
    }

    body = NULL;
    len = 0;
    v = json_object_get(p, "body");

    if (v != NULL && json_is_string(v)) {
        body = json_string_value(v);
        len = json_string_length(v);

    } else if (v != NULL) {
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }

        body = text;
        len = strlen(text);

        if (!ctype) {
            lines[n] = strdup("Content-Type: application/json");
            if (lines[n] == NULL) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            n++;
        }
    }

    if (len > WF_HTTP_BODY_MAX) {
        snprintf(err, errlen, "tollgate:http: body: more than %d bytes",
                 WF_HTTP_BODY_MAX);
        goto done;
    }

    if (wf_task_traceparent(task, tp + 13) != 0) {
        snprintf(err, errlen, "cannot make a traceparent");
        goto done;
    }

    memcpy(tp, "traceparent: ", 13);
    snprintf(idem, sizeof(idem), "Idempotency-Key: \"%s\"", task->idem);
    snprintf(exec, sizeof(exec), "X-Tollgate-Execution: %s", task->id);

    lines[n] = idem;
    lines[n + 1] = tp;
    lines[n + 2] = exec;
    lines[n + 3] = NULL;

    h = calloc(1, sizeof(wf_http_t));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    h->done = done;
    h->data = data;

    if (aud != NULL) {
        /* kept whole until the exchange answers */
        h->method = method;
        h->len = len;
        h->timeout = timeout;
        h->body = body != NULL ? malloc(len + 1) : NULL;
        h->url = strdup(url);

        if (h->url == NULL) {
            snprintf(err, errlen, "out of memory");
            wf_http_free(h);
            goto done;
        }

        for (i = 0; i < n + 3; i++) {
            h->lines[i] = (i < n) ? lines[i] : strdup(lines[i]);
            if (i < n) {
                lines[i] = NULL;
            }
            h->n = i + 1;
            if (h->lines[i] == NULL) {
                break;
            }
        }

        if ((body != NULL && h->body == NULL) || i < n + 3)
        {
            snprintf(err, errlen, "out of memory");
            wf_http_free(h);
            goto done;
        }

        if (len > 0) {
            memcpy(h->body, body, len);
        }

        if (wf_task_exchange(task, aud, scope, timeout, wf_http_exchanged,
                             h, err, errlen)
            != 0)
        {
            wf_http_free(h);
            goto done;
        }

        rc = 0;
        goto done;
    }

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = url;
    req.headers = (const char *const *) lines;
    req.body = body;
    req.body_len = len;
    req.timeout = timeout;
    req.keep = (size_t) gw_svc_conf_int(wf.svc, "http_response_max");

    if (gw_svc_out_request(wf.svc, &req, wf_http_done, h, err, errlen)
        != 0)
    {
        free(h);
        goto done;
    }

    rc = 0;

done:

    for (i = 0; i < n; i++) {
        free(lines[i]);
    }

    free(text);

    return rc;
}


/* the exchange answered: the call, with the new token, or the failure */
static void
wf_http_exchanged(const char *token, const char *error, const char *cause,
    void *data)
{
    char               *line, err[WF_TASK_CAUSE_MAX];
    size_t              len;
    wf_http_t          *h = data;
    gw_svc_out_req_t    req;

    if (error != NULL) {
        h->done(NULL, error, cause, h->data);
        wf_http_free(h);
        return;
    }

    len = sizeof("Authorization: Bearer ") + strlen(token);
    line = malloc(len);

    if (line == NULL) {
        h->done(NULL, "States.TaskFailed", "out of memory", h->data);
        wf_http_free(h);
        return;
    }

    snprintf(line, len, "Authorization: Bearer %s", token);
    h->lines[h->n] = line;
    h->lines[h->n + 1] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = h->method;
    req.url = h->url;
    req.headers = (const char *const *) h->lines;
    req.body = h->body;
    req.body_len = h->len;
    req.timeout = h->timeout;
    req.keep = (size_t) gw_svc_conf_int(wf.svc, "http_response_max");

    err[0] = '\0';

    if (gw_svc_out_request(wf.svc, &req, wf_http_done, h, err, sizeof(err))
        != 0)
    {
        h->lines[h->n] = NULL;
        OPENSSL_cleanse(line, len);
        free(line);
        h->done(NULL, "States.TaskFailed", err, h->data);
        wf_http_free(h);
        return;
    }

    /* the kit copied it: our copy of the token goes now */
    h->lines[h->n] = NULL;
    OPENSSL_cleanse(line, len);
    free(line);
}


static void
wf_http_free(wf_http_t *h)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        free(h->lines[i]);
    }

    free(h->url);
    free(h->body);
    free(h);
}


/* the payload's headers as "Name: value" lines (malloc()ed) */
static int
wf_http_headers(json_t *headers, char **lines, size_t *n, int *ctype,
    char *err, size_t errlen)
{
    size_t       i, total, vlen, nlen;
    json_t      *v;
    const char  *name, *value;

    *n = 0;

    if (headers == NULL) {
        return 0;
    }

    if (!json_is_object(headers)
        || json_object_size(headers) > WF_HTTP_HEADERS_MAX)
    {
        snprintf(err, errlen, "tollgate:http: headers: an object of at "
                 "most %d strings", WF_HTTP_HEADERS_MAX);
        return -1;
    }

    total = 0;

    json_object_foreach(headers, name, v) {
        value = json_string_value(v);
        nlen = strlen(name);

        if (value == NULL || !wf_http_token(name)) {
            snprintf(err, errlen, "tollgate:http: headers: \"%.64s\": a "
                     "token name with a string value", name);
            return -1;
        }

        vlen = json_string_length(v);

        if (strlen(value) != vlen || strpbrk(value, "\r\n") != NULL) {
            snprintf(err, errlen, "tollgate:http: headers: \"%.64s\": "
                     "CR, LF or NUL in the value", name);
            return -1;
        }

        for (i = 0; wf_http_reserved[i] != NULL; i++) {
            if (strcasecmp(name, wf_http_reserved[i]) == 0) {
                snprintf(err, errlen, "tollgate:http: headers: \"%.64s\" "
                         "is set by the service", name);
                return -1;
            }
        }

        total += nlen + 2 + vlen;

        if (nlen + 2 + vlen > WF_HTTP_HEADER_MAX
            || total > WF_HTTP_HEADERS_BYTES)
        {
            snprintf(err, errlen, "tollgate:http: headers: more than %d "
                     "bytes", WF_HTTP_HEADERS_BYTES);
            return -1;
        }

        if (strcasecmp(name, "content-type") == 0) {
            *ctype = 1;
        }

        lines[*n] = malloc(nlen + 2 + vlen + 1);
        if (lines[*n] == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        /* an empty value: "Name;" makes curl send it empty */
        if (vlen == 0) {
            snprintf(lines[*n], nlen + 3, "%s;", name);

        } else {
            snprintf(lines[*n], nlen + 2 + vlen + 1, "%s: %s", name, value);
        }

        (*n)++;
    }

    return 0;
}


/* RFC 9110 token, 1 to 256 bytes */
static int
wf_http_token(const char *s)
{
    size_t  n;

    n = strlen(s);

    return n >= 1 && n <= 256
           && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "!#$%&'*+-.^_`|~") == n;
}


static void
wf_http_done(const gw_svc_out_res_t *res, void *data)
{
    wf_http_t  *h = data;

    wf_task_http_outcome(res, 1, h->done, h->data);
    wf_http_free(h);
}


void
wf_task_http_outcome(const gw_svc_out_res_t *res, int whole,
    wf_task_pt done, void *data)
{
    char     error[64], cause[WF_TASK_CAUSE_MAX];
    size_t   i, n;
    json_t  *body, *result;

    if (res->error[0] != '\0') {
        if (strcmp(res->error, "timeout") == 0) {
            done(NULL, "States.Timeout", "the call timed out", data);
            return;
        }

        if (strncmp(res->error, "address refused: ", 17) == 0) {
            snprintf(cause, sizeof(cause), "%s: not allowed by the "
                     "service's http_allow", res->error);

        } else {
            snprintf(cause, sizeof(cause), "%s", res->error);
        }

        done(NULL, "States.TaskFailed", cause, data);
        return;
    }

    if (res->status < 200 || res->status > 299) {
        snprintf(error, sizeof(error), "States.Http.StatusCode.%d",
                 res->status);

        n = res->body_len < WF_HTTP_EXCERPT ? res->body_len
                                            : WF_HTTP_EXCERPT;

        /* an excerpt of printable bytes: a cause is text */
        for (i = 0; i < n && i < sizeof(cause) - 1; i++) {
            cause[i] = (res->body[i] >= 0x20 && res->body[i] < 0x7f)
                       ? res->body[i] : ' ';
        }

        cause[i] = '\0';

        done(NULL, error, cause, data);
        return;
    }

    body = wf_http_body(res);

    if (body == NULL) {
        done(NULL, "States.TaskFailed", "out of memory", data);
        return;
    }

    if (!whole) {
        done(body, NULL, NULL, data);
        json_decref(body);
        return;
    }

    result = json_pack("{s:i, s:{}, s:o}", "StatusCode", res->status,
                       "Headers", "ResponseBody", body);

    if (result == NULL) {
        done(NULL, "States.TaskFailed", "out of memory", data);
        return;
    }

    if (res->content_type[0] != '\0') {
        json_object_set_new(json_object_get(result, "Headers"),
                            "content-type",
                            gw_svc_json_string(res->content_type));
    }

    done(result, NULL, NULL, data);
    json_decref(result);
}


/* the answer's body: parsed when JSON, else text (null when empty) */
static json_t *
wf_http_body(const gw_svc_out_res_t *res)
{
    json_t      *j;
    const char  *ct;

    ct = res->content_type;

    if (res->body_len == 0) {
        return json_null();
    }

    if (strncasecmp(ct, "application/json", 16) == 0
        || (strstr(ct, "+json") != NULL))
    {
        j = json_loadb(res->body, res->body_len,
                       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        if (j != NULL) {
            return j;
        }
    }

    j = json_stringn(res->body, res->body_len);

    return j != NULL ? j : gw_svc_json_string(res->body);
}
