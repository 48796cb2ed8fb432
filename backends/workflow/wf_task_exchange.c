
/*
 * Copyright (C) Tollgate
 *
 * tollgate:http's "auth": {"exchange": {"audience", "scope"}}
 * (docs/workflow.md, "Task resources"): before the call, the caller's
 * token kept with the execution (wf_stok.c) is exchanged at the identity
 * service (RFC 8693; docs/identity.md, "Token exchange") for a token of
 * the task's audience, whose sub is still the caller and whose act names
 * the workflow service's own client.  The call then carries that token,
 * never the caller's own: a task reaches only the audiences the
 * workflow's client may ask for, with scopes that only narrow.
 *
 * The service authenticates as its client (identity_client_id, the
 * secret in identity_client_secret_file, client_secret_basic) on the
 * kit's outbound HTTP, trusted: the operator named identity_url, so the
 * address guard of the tasks' own URLs (http_allow) does not apply.
 *
 * The outcomes, for Retry and Catch:
 *   no token kept         States.TaskFailed "no caller token to exchange"
 *   refused (4xx)         Tollgate.TokenExchangeFailed, the identity's
 *                         error code as cause (invalid_grant: the token
 *                         expired or was revoked; invalid_target, ...)
 *   identity unavailable  States.TaskFailed (5xx, no answer), retried by
 *                         a Retry as any failed task
 * The clear token lives only in memory, for the call, cleansed after;
 * it is never logged, nor written in a cause.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wf_task_int.h"


#define WF_XC_URL_MAX       1024
#define WF_XC_ID_MAX        255
#define WF_XC_SECRET_MAX    1024
#define WF_XC_ARG_MAX       1024    /* bytes of audience, scope */
#define WF_XC_KEEP          32768   /* bytes of the identity's answer */

#define WF_XC_GRANT  "urn:ietf:params:oauth:grant-type:token-exchange"
#define WF_XC_TYPE   "urn:ietf:params:oauth:token-type:access_token"


typedef struct {
    wf_exchange_pt          done;
    void                   *data;
} wf_xc_t;


static int wf_xc_secret(const char *path, char *secret, size_t size);
static size_t wf_xc_encode(char *dst, const char *s);
static void wf_xc_done(const gw_svc_out_res_t *res, void *data);


static char  *wf_xc_url;        /* identity_url + /oauth2/token; NULL:
                                   not configured */
static char  *wf_xc_basic;      /* "Authorization: Basic ..." */


int
wf_task_exchange_configure(gw_svc_t *svc)
{
    int          rc;
    char         secret[WF_XC_SECRET_MAX + 1], *pair, *b64;
    size_t       n, len;
    const char  *url, *id, *file;

    url = gw_svc_conf_str(svc, "identity_url");
    id = gw_svc_conf_str(svc, "identity_client_id");
    file = gw_svc_conf_str(svc, "identity_client_secret_file");

    if (url == NULL || url[0] == '\0') {
        return 0;       /* auth.exchange fails its tasks, saying so */
    }

    n = strlen(url);

    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        || n > WF_XC_URL_MAX || strpbrk(url, " \t\r\n?#") != NULL)
    {
        fprintf(stderr, "identity_url: not an http or https URL of at most "
                "%d bytes without a query: \"%.100s\"\n", WF_XC_URL_MAX, url);
        return -1;
    }

    if (id == NULL || id[0] == '\0' || strlen(id) > WF_XC_ID_MAX
        || file == NULL || file[0] == '\0')
    {
        fprintf(stderr, "identity_url: identity_client_id (1 to %d bytes) "
                "and identity_client_secret_file are required with it\n",
                WF_XC_ID_MAX);
        return -1;
    }

    if (wf_xc_secret(file, secret, sizeof(secret)) != 0) {
        return -1;
    }

    /* RFC 6749 section 2.3.1: each form-encoded, then base64 */
    len = 3 * strlen(id) + 1 + 3 * strlen(secret) + 1;
    pair = malloc(len);
    b64 = malloc(4 * (len / 3 + 1) + 1);
    wf_xc_url = malloc(n + sizeof("/oauth2/token"));
    rc = -1;

    if (pair == NULL || b64 == NULL || wf_xc_url == NULL) {
        fprintf(stderr, "identity_url: out of memory\n");
        goto done;
    }

    n = wf_xc_encode(pair, id);
    pair[n++] = ':';
    n += wf_xc_encode(pair + n, secret);

    EVP_EncodeBlock((unsigned char *) b64, (unsigned char *) pair, (int) n);

    wf_xc_basic = malloc(sizeof("Authorization: Basic ") + strlen(b64));
    if (wf_xc_basic == NULL) {
        fprintf(stderr, "identity_url: out of memory\n");
        goto done;
    }

    strcpy(wf_xc_basic, "Authorization: Basic ");
    strcat(wf_xc_basic, b64);

    /* a trailing slash of the operator's is not doubled */
    strcpy(wf_xc_url, url);
    n = strlen(wf_xc_url);
    if (n > 0 && wf_xc_url[n - 1] == '/') {
        wf_xc_url[n - 1] = '\0';
    }
    strcat(wf_xc_url, "/oauth2/token");

    rc = 0;

done:

    OPENSSL_cleanse(secret, sizeof(secret));

    if (pair != NULL) {
        OPENSSL_cleanse(pair, len);
        free(pair);
    }

    if (b64 != NULL) {
        OPENSSL_cleanse(b64, strlen(b64));
        free(b64);
    }

    if (rc != 0) {
        free(wf_xc_url);
        wf_xc_url = NULL;
    }

    return rc;
}


void
wf_task_exchange_free(void)
{
    free(wf_xc_url);
    wf_xc_url = NULL;

    if (wf_xc_basic != NULL) {
        OPENSSL_cleanse(wf_xc_basic, strlen(wf_xc_basic));
        free(wf_xc_basic);
        wf_xc_basic = NULL;
    }
}


/* the client's secret: a regular file of its owner only, like the key */
static int
wf_xc_secret(const char *path, char *secret, size_t size)
{
    size_t  len;

    return gw_svc_secret_file("identity_client_secret_file", path, secret,
                              size, &len);
}


/* application/x-www-form-urlencoded of s into dst (3 * len + 1 bytes) */
static size_t
wf_xc_encode(char *dst, const char *s)
{
    size_t                i;
    const unsigned char  *p;

    static const char  hex[] = "0123456789ABCDEF";

    i = 0;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
            || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
            || *p == '_' || *p == '~')
        {
            dst[i++] = (char) *p;

        } else {
            dst[i++] = '%';
            dst[i++] = hex[*p >> 4];
            dst[i++] = hex[*p & 0x0f];
        }
    }

    dst[i] = '\0';

    return i;
}


/*
 * auth: {"exchange": {"audience", "scope"?}}, nothing else; with it, the
 * payload's headers hold no Authorization
 */
int
wf_task_exchange_args(json_t *auth, json_t *headers, const char **aud,
    const char **scope, char *err, size_t errlen)
{
    json_t      *x, *v;
    const char  *k, *s;

    if (auth == NULL) {
        return 0;
    }

    x = json_object_get(auth, "exchange");

    if (!json_is_object(auth) || json_object_size(auth) != 1
        || !json_is_object(x))
    {
        snprintf(err, errlen, "tollgate:http: auth: an object of one "
                 "member, \"exchange\"");
        return -1;
    }

    json_object_foreach(x, k, v) {
        s = json_string_value(v);

        if (strcmp(k, "audience") != 0 && strcmp(k, "scope") != 0) {
            snprintf(err, errlen, "tollgate:http: auth.exchange: unknown "
                     "member: it holds audience and scope");
            return -1;
        }

        if (s == NULL || s[0] == '\0'
            || json_string_length(v) > WF_XC_ARG_MAX
            || strlen(s) != json_string_length(v))
        {
            snprintf(err, errlen, "tollgate:http: auth.exchange.%s: a "
                     "string of 1 to %d bytes", k, WF_XC_ARG_MAX);
            return -1;
        }
    }

    *aud = json_string_value(json_object_get(x, "audience"));
    *scope = json_string_value(json_object_get(x, "scope"));

    if (*aud == NULL) {
        snprintf(err, errlen, "tollgate:http: auth.exchange.audience: "
                 "required");
        return -1;
    }

    json_object_foreach(headers, k, v) {
        if (strcasecmp(k, "authorization") == 0) {
            snprintf(err, errlen, "tollgate:http: headers: \"%.64s\" and "
                     "auth.exchange together: the exchanged token is the "
                     "call's Authorization", k);
            return -1;
        }
    }

    return 0;
}


int
wf_task_exchange(const wf_task_t *task, const char *audience,
    const char *scope, long long timeout, wf_exchange_pt done, void *data,
    char *err, size_t errlen)
{
    int                 rc;
    char               *tok, *body;
    size_t              len, n;
    wf_xc_t            *x;
    const char         *lines[4];
    gw_svc_out_req_t    req;

    if (task->stok == NULL || task->stok[0] == '\0') {
        snprintf(err, errlen, "no caller token to exchange");
        return -1;
    }

    if (wf_xc_url == NULL) {
        snprintf(err, errlen, "tollgate:http: auth.exchange: the service "
                 "has no identity_url configured");
        return -1;
    }

    if (wf_stok_open(task->stok, task->root, &tok) != 0) {
        snprintf(err, errlen, "the caller's token cannot be opened "
                 "(another secret_key_file?)");
        return -1;
    }

    len = sizeof(WF_XC_GRANT) + sizeof(WF_XC_TYPE) + 3 * strlen(tok)
          + 3 * strlen(audience)
          + (scope != NULL ? 3 * strlen(scope) : 0) + 128;

    body = malloc(len);
    x = malloc(sizeof(wf_xc_t));
    rc = -1;

    if (body == NULL || x == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    n = (size_t) snprintf(body, len, "grant_type=");
    n += wf_xc_encode(body + n, WF_XC_GRANT);
    n += (size_t) snprintf(body + n, len - n, "&subject_token=");
    n += wf_xc_encode(body + n, tok);
    n += (size_t) snprintf(body + n, len - n, "&subject_token_type=");
    n += wf_xc_encode(body + n, WF_XC_TYPE);
    n += (size_t) snprintf(body + n, len - n, "&audience=");
    n += wf_xc_encode(body + n, audience);

    if (scope != NULL) {
        n += (size_t) snprintf(body + n, len - n, "&scope=");
        n += wf_xc_encode(body + n, scope);
    }

    lines[0] = wf_xc_basic;
    lines[1] = "Content-Type: application/x-www-form-urlencoded";
    lines[2] = "Accept: application/json";
    lines[3] = NULL;

    x->done = done;
    x->data = data;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = wf_xc_url;
    req.headers = lines;
    req.body = body;
    req.body_len = n;
    req.timeout = timeout;
    req.keep = WF_XC_KEEP;
    req.trusted = 1;

    if (gw_svc_out_request(wf.svc, &req, wf_xc_done, x, err, errlen) != 0)
    {
        goto done;
    }

    x = NULL;
    rc = 0;

done:

    if (body != NULL) {
        OPENSSL_cleanse(body, len);
        free(body);
    }

    free(x);
    wf_stok_free(tok);

    return rc;
}


static void
wf_xc_done(const gw_svc_out_res_t *res, void *data)
{
    char          cause[WF_TASK_CAUSE_MAX], code[65];
    size_t        n;
    json_t       *j;
    wf_xc_t      *x = data;
    const char   *tok, *e;

    j = NULL;
    code[0] = '\0';

    if (res->error[0] != '\0') {
        snprintf(cause, sizeof(cause), "token exchange: %s", res->error);
        x->done(NULL, strcmp(res->error, "timeout") == 0 ? "States.Timeout"
                                                         : "States.TaskFailed",
                cause, x->data);
        goto done;
    }

    if (res->body_len > 0) {
        j = json_loadb(res->body, res->body_len, 0, NULL);
    }

    /* the error code: RFC 6749 section 5.2, [\x20-\x21\x23-\x5B\x5D-\x7E] */
    e = json_string_value(json_object_get(j, "error"));

    if (e != NULL) {
        n = strspn(e, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
        snprintf(code, sizeof(code), "%.*s", (int) (n < 64 ? n : 64), e);
    }

    if (res->status == 200) {
        tok = json_string_value(json_object_get(j, "access_token"));

        if (tok == NULL || tok[0] == '\0' || strlen(tok) > WF_STOK_MAX
            || strpbrk(tok, " \t\r\n") != NULL)
        {
            x->done(NULL, "States.TaskFailed", "token exchange: the "
                    "identity service answered no usable access_token",
                    x->data);
            goto done;
        }

        x->done(tok, NULL, NULL, x->data);
        goto done;
    }

    if (res->status >= 400 && res->status < 500 && res->status != 408
        && res->status != 429)
    {
        x->done(NULL, "Tollgate.TokenExchangeFailed",
                code[0] != '\0' ? code : "refused", x->data);
        goto done;
    }

    snprintf(cause, sizeof(cause), "token exchange: the identity service "
             "answered %d%s%s", res->status, code[0] != '\0' ? " " : "",
             code);
    x->done(NULL, "States.TaskFailed", cause, x->data);

done:

    if (j != NULL) {
        tok = json_string_value(json_object_get(j, "access_token"));
        if (tok != NULL) {
            OPENSSL_cleanse((char *) tok, strlen(tok));
        }
        json_decref(j);
    }

    free(x);
}
