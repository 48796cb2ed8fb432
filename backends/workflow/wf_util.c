
/*
 * Copyright (C) Tollgate
 *
 * What every part of the workflow service uses (wf.h, "utilities"):
 * time, execution ids, task tokens, the caller and the request body.
 *
 * An id is "wx_" and 26 Crockford base32 characters of 48 bits of
 * milliseconds then 80 random bits, so ids sort by their start and are
 * never guessed.  A task token is the HMAC of "<id> <seq>" under the
 * service's key: the service can make it again for the transition that
 * waits, and stores only its SHA-256, so a token read from Redis is no
 * token; a lookup by the hash compares nothing byte by byte in C.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gw_b64url.h"
#include "wf.h"


#define WF_SCOPE_MAX      4096
#define WF_BODY_DEPTH     GW_ASL_JSON_DEPTH_MAX


static int wf_header(gw_svc_req_t *req, const char *name, size_t max,
    const char **value);
static int wf_depth(json_t *v, int depth);


static const char  wf_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";


long long
wf_now_ms(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


/* "2026-01-02T03:04:05.678Z"; "" for 0 */

void
wf_rfc3339(long long ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    if (ms <= 0 || size < 25) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return;
    }

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


int
wf_id_new(char *id)
{
    int            i, bit;
    unsigned       v;
    long long      now;
    unsigned char  b[16];

    now = wf_now_ms();

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (now >> (40 - 8 * i));
    }

    if (RAND_bytes(b + 6, 10) != 1) {
        return -1;
    }

    /* 128 bits as 26 five-bit symbols: the first takes 3 bits only */
    memcpy(id, "wx_", 3);

    for (i = 0; i < 26; i++) {
        bit = 128 - 5 * (26 - i);
        v = 0;

        for ( /* void */ ; bit < 128 - 5 * (25 - i); bit++) {
            v <<= 1;

            if (bit >= 0) {
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }

        id[3 + i] = wf_crockford[v & 31];
    }

    id[29] = '\0';

    return 0;
}


/* "wx_" + 26 base32, then any number of ".<digits>" (children) */

int
wf_id_valid(const char *id)
{
    size_t       i, n;
    const char  *p;

    n = strlen(id);

    if (n < 29 || n > WF_ID_MAX - 1 || strncmp(id, "wx_", 3) != 0) {
        return 0;
    }

    for (i = 3; i < 29; i++) {
        if (strchr(wf_crockford, id[i]) == NULL || id[i] == '\0') {
            return 0;
        }
    }

    for (p = id + 29; *p != '\0'; /* void */ ) {
        if (*p++ != '.') {
            return 0;
        }

        if (*p < '0' || *p > '9') {
            return 0;
        }

        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    return 1;
}


int
wf_name_valid(const char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > WF_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
wf_token(const char *id, long long seq, char *token)
{
    int            n;
    char           msg[WF_ID_MAX + 32];
    unsigned int   mlen;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    n = snprintf(msg, sizeof(msg), "%s %lld", id, seq);
    if (n < 0 || (size_t) n >= sizeof(msg)) {
        return -1;
    }

    if (HMAC(EVP_sha256(), wf.key, sizeof(wf.key), (unsigned char *) msg,
             (size_t) n, mac, &mlen)
        == NULL || mlen != 32)
    {
        return -1;
    }

    if (gw_b64url_encode((unsigned char *) token, mac, 32) != WF_TOKEN_LEN) {
        return -1;
    }

    token[WF_TOKEN_LEN] = '\0';

    return 0;
}


int
wf_token_hash(const char *token, size_t len, char *hex)
{
    size_t         i;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    if (SHA256((const unsigned char *) token, len, md) == NULL) {
        return -1;
    }

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }

    hex[64] = '\0';

    return 0;
}


/* one copy at most, at most max bytes, no control byte: else 400 */

static int
wf_header(gw_svc_req_t *req, const char *name, size_t max,
    const char **value)
{
    char                  detail[128];
    const unsigned char  *p;

    *value = gw_svc_req_header(req, name);

    if (gw_svc_req_header_count(req, name) > 1) {
        snprintf(detail, sizeof(detail), "%s sent more than once", name);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    if (*value == NULL) {
        return 0;
    }

    for (p = (const unsigned char *) *value; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            break;
        }
    }

    if (*p != '\0' || strlen(*value) > max) {
        snprintf(detail, sizeof(detail), "%s is malformed", name);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    return 0;
}


int
wf_caller(gw_svc_req_t *req, wf_caller_t *caller)
{
    const char  *id, *sub, *scope, *p, *e;

    if (wf_header(req, "X-Consumer-ID", WF_OWNER_MAX, &id) != 0
        || wf_header(req, "X-Consumer-Subject", WF_OWNER_MAX, &sub) != 0
        || wf_header(req, "X-Consumer-Scope", WF_SCOPE_MAX, &scope) != 0)
    {
        return -1;
    }

    if (id == NULL || id[0] == '\0') {
        id = sub;
    }

    if (id == NULL || id[0] == '\0') {
        gw_svc_reply_problem(req, 401, "unauthorized", "Unauthorized",
                             "no X-Consumer-ID nor X-Consumer-Subject");
        return -1;
    }

    strcpy(caller->owner, id);
    caller->admin = 0;

    for (p = scope; p != NULL && *p != '\0'; p = e) {
        while (*p == ' ') {
            p++;
        }

        e = p + strcspn(p, " ");

        if ((e - p == 14 && strncmp(p, "workflow:admin", 14) == 0)
            || (e - p == 11 && strncmp(p, "admin:write", 11) == 0))
        {
            caller->admin = 1;
        }
    }

    return 0;
}


/* 1 when v nests at most WF_BODY_DEPTH deep */

static int
wf_depth(json_t *v, int depth)
{
    size_t       i;
    json_t      *m;
    const char  *k;

    if (depth > WF_BODY_DEPTH) {
        return 0;
    }

    if (json_is_object(v)) {
        json_object_foreach(v, k, m) {
            if (!wf_depth(m, depth + 1)) {
                return 0;
            }
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (!wf_depth(m, depth + 1)) {
                return 0;
            }
        }
    }

    return 1;
}


json_t *
wf_body(gw_svc_req_t *req)
{
    char          detail[256];
    size_t        len, n;
    json_t       *body;
    const char   *text, *ct;
    json_error_t  jerr;

    ct = gw_svc_req_header(req, "Content-Type");

    if (ct != NULL) {
        n = strcspn(ct, ";");

        while (n > 0 && ct[n - 1] == ' ') {
            n--;
        }

        if (!(n == 16 && strncasecmp(ct, "application/json", 16) == 0)) {
            gw_svc_reply_problem(req, 415, "unsupported-media-type",
                                 "Unsupported media type",
                                 "the body must be application/json");
            return NULL;
        }
    }

    text = gw_svc_req_body(req, &len);

    if (text == NULL || len == 0) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "a JSON object body is required");
        return NULL;
    }

    if (len > (size_t) gw_svc_conf_int(gw_svc_req_svc(req), "body_max")
        && gw_svc_conf_int(gw_svc_req_svc(req), "body_max") > 0)
    {
        gw_svc_reply_problem(req, 413, "too-large", "Payload too large",
                             "the body is past body_max");
        return NULL;
    }

    body = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);

    if (body == NULL) {
        snprintf(detail, sizeof(detail), "not JSON: %s at %d", jerr.text,
                 jerr.position);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return NULL;
    }

    if (!json_is_object(body)) {
        json_decref(body);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "the body must be a JSON object");
        return NULL;
    }

    if (!wf_depth(body, 0)) {
        json_decref(body);
        snprintf(detail, sizeof(detail), "the body nests deeper than %d",
                 WF_BODY_DEPTH);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return NULL;
    }

    return body;
}


void
wf_unavailable(gw_svc_req_t *req)
{
    gw_svc_req_add_header(req, "Retry-After", "1");
    gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                         "the store is unreachable; retry");
}
