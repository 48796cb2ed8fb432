
/*
 * Copyright (C) Tollgate
 *
 * Accepting a notification, for the API and the stream alike: the
 * request is checked (every refusal names its member by a JSON pointer),
 * rendered (ntf_tmpl.c), fanned out into deliveries (webhook: the
 * owner's matching subscriptions, ntf_subs.c; email: one delivery to all
 * its recipients, checked by ntf_mime.c; push: one per channel), then
 * stored by the accept script in one step with its idempotency record:
 * once the script answered, Redis alone holds everything needed to
 * deliver it.  Nothing is written before that script, so a refusal or a
 * failure leaves nothing behind.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw_idem.h"
#include "ntf_core.h"


typedef struct {
    json_t                 *request;
    json_t                 *rendered;
    json_t                 *deliveries;     /* [{id, target, sub, payload}] */
    const char             *channel;
    const char             *type;
    char                   *traceparent;
    ntf_accept_pt           done;
    void                   *data;
    ntf_accepted_t          res;
    char                    owner[NTF_OWNER_MAX + 1];
    char                    idem[NTF_IDEM_LEN + 1];
} ntf_acc_t;


static int ntf_acc_check(ntf_acc_t *acc);
static int ntf_acc_check_body(ntf_acc_t *acc, json_t *body);
static int ntf_acc_check_recipients(ntf_acc_t *acc, json_t *r);
static int ntf_acc_check_attachments(ntf_acc_t *acc, json_t *a);
static int ntf_acc_name(const char *s, const char *extra, size_t max);
static void ntf_acc_rendered(json_t *rendered, int status,
    const char *pointer, const char *err, void *data);
static void ntf_acc_matched(json_t *subs, int status, void *data);
static int ntf_acc_email(ntf_acc_t *acc);
static int ntf_acc_push(ntf_acc_t *acc);
static int ntf_acc_add(ntf_acc_t *acc, const char *target, const char *sub,
    json_t *payload);
static void ntf_acc_store(ntf_acc_t *acc);
static void ntf_acc_stored(redisReply *reply, void *data);
static int ntf_acc_hash(json_t *request, char *hex);
static int ntf_acc_err(ntf_acc_t *acc, int status, const char *pointer,
    const char *fmt, ...);
static void ntf_acc_fail(ntf_acc_t *acc, int status, const char *pointer,
    const char *msg);
static void ntf_acc_end(ntf_acc_t *acc);


static const char  ntf_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";


void
ntf_accept(const char *owner, json_t *request, const char *idem,
    const char *traceparent, ntf_accept_pt done, void *data)
{
    ntf_acc_t       *acc;
    ntf_accepted_t   res;

    acc = calloc(1, sizeof(ntf_acc_t));
    if (acc == NULL || strlen(owner) > NTF_OWNER_MAX) {
        free(acc);
        memset(&res, 0, sizeof(res));
        res.status = 503;
        snprintf(res.error, sizeof(res.error), "out of memory");
        done(&res, data);
        return;
    }

    acc->request = json_incref(request);
    acc->done = done;
    acc->data = data;
    strcpy(acc->owner, owner);
    acc->traceparent = strdup(traceparent != NULL ? traceparent : "");
    acc->deliveries = json_array();

    if (idem != NULL) {
        snprintf(acc->idem, sizeof(acc->idem), "%s", idem);
    }

    if (acc->traceparent == NULL || acc->deliveries == NULL) {
        ntf_acc_fail(acc, 503, "", "out of memory");
        return;
    }

    if (ntf_acc_check(acc) != 0) {
        ntf_acc_end(acc);
        return;
    }

    if (ntf_tmpl_render(acc->channel, acc->request, ntf_acc_rendered, acc)
        != 0)
    {
        ntf_acc_fail(acc, 503, "", "cannot render the notification");
    }
}


/* the request's shape; -1 when refused (answered) */

static int
ntf_acc_check(ntf_acc_t *acc)
{
    int          email, push, webhook;
    json_t      *v, *template, *body;
    const char  *key;

    if (!json_is_object(acc->request)) {
        ntf_acc_err(acc, 422, "", "the notification must be an object");
        return -1;
    }

    json_object_foreach(acc->request, key, v) {
        if (strcmp(key, "channel") != 0 && strcmp(key, "type") != 0
            && strcmp(key, "template") != 0 && strcmp(key, "body") != 0
            && strcmp(key, "data") != 0 && strcmp(key, "recipients") != 0
            && strcmp(key, "attachments") != 0)
        {
            ntf_acc_err(acc, 422, "", "unknown member \"%.64s\"", key);
            return -1;
        }
    }

    v = json_object_get(acc->request, "channel");
    acc->channel = json_string_value(v);
    webhook = acc->channel != NULL && strcmp(acc->channel, "webhook") == 0;
    email = acc->channel != NULL && strcmp(acc->channel, "email") == 0;
    push = acc->channel != NULL && strcmp(acc->channel, "push") == 0;

    if (!webhook && !email && !push) {
        ntf_acc_err(acc, 422, "/channel",
                     "channel must be \"webhook\", \"email\" or \"push\"");
        return -1;
    }

    v = json_object_get(acc->request, "type");
    acc->type = json_string_value(v);

    if (v == NULL && !email) {
        ntf_acc_err(acc, 422, "/type", "type is required for %s",
                     acc->channel);
        return -1;
    }

    if (v != NULL
        && (acc->type == NULL
            || !ntf_acc_name(acc->type, "._-", NTF_TYPE_MAX)
            || strpbrk(acc->type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL))
    {
        ntf_acc_err(acc, 422, "/type",
                     "type must be 1 to 128 of [a-z0-9._-]");
        return -1;
    }

    if (acc->type == NULL) {
        acc->type = "";
    }

    template = json_object_get(acc->request, "template");
    body = json_object_get(acc->request, "body");

    if ((template == NULL) == (body == NULL)) {
        ntf_acc_err(acc, 422, template != NULL ? "/body" : "",
                     "exactly one of template and body is required");
        return -1;
    }

    if (template != NULL
        && (!json_is_string(template)
            || !ntf_acc_name(json_string_value(template), "._-",
                             NTF_NAME_MAX)))
    {
        ntf_acc_err(acc, 422, "/template",
                     "template must name a template: 1 to 128 of "
                     "[A-Za-z0-9._-]");
        return -1;
    }

    if (body != NULL && ntf_acc_check_body(acc, body) != 0) {
        return -1;
    }

    v = json_object_get(acc->request, "data");
    if (v != NULL && !json_is_object(v)) {
        ntf_acc_err(acc, 422, "/data", "data must be an object");
        return -1;
    }

    if (ntf_acc_check_recipients(acc,
                                 json_object_get(acc->request, "recipients"))
        != 0)
    {
        return -1;
    }

    return ntf_acc_check_attachments(acc,
                                     json_object_get(acc->request,
                                                     "attachments"));
}


static int
ntf_acc_check_body(ntf_acc_t *acc, json_t *body)
{
    json_t      *v;
    const char  *key;

    if (!json_is_object(body)) {
        ntf_acc_err(acc, 422, "/body", "body must be an object");
        return -1;
    }

    if (strcmp(acc->channel, "email") != 0) {
        json_object_foreach(body, key, v) {
            if (strcmp(key, "data") != 0) {
                ntf_acc_err(acc, 422, "/body",
                             "unknown member \"%.64s\" (only \"data\")",
                             key);
                return -1;
            }
        }

        if (json_object_get(body, "data") == NULL) {
            ntf_acc_err(acc, 422, "/body/data", "data is required");
            return -1;
        }

        return 0;
    }

    json_object_foreach(body, key, v) {
        if (strcmp(key, "subject") != 0 && strcmp(key, "text") != 0
            && strcmp(key, "html") != 0)
        {
            ntf_acc_err(acc, 422, "/body", "unknown member \"%.64s\"",
                         key);
            return -1;

        }

        if (!json_is_string(v)) {
            ntf_acc_err(acc, 422, "", "must be a string");
            snprintf(acc->res.pointer, sizeof(acc->res.pointer),
                     "/body/%s", key);
            return -1;
        }
    }

    if (json_object_get(body, "subject") == NULL) {
        ntf_acc_err(acc, 422, "/body/subject", "subject is required");
        return -1;
    }

    if (json_object_get(body, "text") == NULL
        && json_object_get(body, "html") == NULL)
    {
        ntf_acc_err(acc, 422, "/body", "text or html is required");
        return -1;
    }

    return 0;
}


static int
ntf_acc_check_recipients(ntf_acc_t *acc, json_t *r)
{
    size_t       i, k;
    json_t      *v, *m;
    const char  *s, *key;

    if (r == NULL) {
        if (strcmp(acc->channel, "webhook") == 0) {
            return 0;
        }

        ntf_acc_err(acc, 422, "/recipients", "recipients are required");
        return -1;
    }

    if (!json_is_array(r) || json_array_size(r) == 0
        || json_array_size(r) > NTF_RECIPIENTS_MAX)
    {
        ntf_acc_err(acc, 422, "/recipients",
                     "recipients must be an array of 1 to %d",
                     NTF_RECIPIENTS_MAX);
        return -1;
    }

    json_array_foreach(r, i, v) {
        s = json_string_value(v);

        if (strcmp(acc->channel, "email") == 0) {
            if (json_is_object(v)) {
                json_object_foreach(v, key, m) {
                    if ((strcmp(key, "email") != 0
                         && strcmp(key, "name") != 0)
                        || !json_is_string(m))
                    {
                        s = NULL;
                        break;
                    }

                    s = "";
                }

                if (json_object_get(v, "email") == NULL) {
                    s = NULL;
                }
            }

            if (s == NULL) {
                ntf_acc_err(acc, 422, "", "a recipient is an address or "
                             "{\"email\", \"name\"}");
                goto pointer;
            }

            continue;
        }

        if (s == NULL
            || !ntf_acc_name(s, strcmp(acc->channel, "push") == 0
                                ? "_.:-" : "_-", NTF_NAME_MAX))
        {
            ntf_acc_err(acc, 422, "", strcmp(acc->channel, "push") == 0
                         ? "a push channel is 1 to 128 of [A-Za-z0-9_.:-]"
                         : "a recipient is a subscription id");
            goto pointer;
        }

        for (k = 0; k < i; k++) {
            if (json_equal(json_array_get(r, k), v)) {
                ntf_acc_err(acc, 422, "", "a recipient named twice");
                goto pointer;
            }
        }
    }

    return 0;

pointer:

    snprintf(acc->res.pointer, sizeof(acc->res.pointer), "/recipients/%zu",
             i);
    return -1;
}


static int
ntf_acc_check_attachments(ntf_acc_t *acc, json_t *a)
{
    size_t       i;
    json_t      *v, *m;
    const char  *key;

    if (a == NULL) {
        return 0;
    }

    if (strcmp(acc->channel, "email") != 0) {
        ntf_acc_err(acc, 422, "/attachments",
                     "attachments are for email only");
        return -1;
    }

    if (!json_is_array(a) || json_array_size(a) > NTF_ATTACHMENTS_MAX) {
        ntf_acc_err(acc, 422, "/attachments",
                     "attachments must be an array of at most %d",
                     NTF_ATTACHMENTS_MAX);
        return -1;
    }

    json_array_foreach(a, i, v) {
        if (!json_is_object(v)
            || !json_is_string(json_object_get(v, "filename"))
            || !json_is_string(json_object_get(v, "content_type"))
            || !json_is_string(json_object_get(v, "content")))
        {
            goto bad;
        }

        json_object_foreach(v, key, m) {
            if (strcmp(key, "filename") != 0
                && strcmp(key, "content_type") != 0
                && strcmp(key, "content") != 0)
            {
                goto bad;
            }
        }
    }

    return 0;

bad:

    ntf_acc_err(acc, 422, "", "an attachment is {\"filename\", "
                 "\"content_type\", \"content\" (base64)}");
    snprintf(acc->res.pointer, sizeof(acc->res.pointer), "/attachments/%zu",
             i);
    return -1;
}


/* 1 when s is 1 to max of [A-Za-z0-9] and the bytes of extra */

static int
ntf_acc_name(const char *s, const char *extra, size_t max)
{
    size_t  i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || strchr(extra, s[i]) != NULL))
        {
            return 0;
        }
    }

    return i > 0 && i <= max;
}


static void
ntf_acc_rendered(json_t *rendered, int status, const char *pointer,
    const char *err, void *data)
{
    json_t     *only;
    ntf_acc_t  *acc;

    acc = data;

    if (rendered == NULL) {
        if (status == 404 || status == 422) {
            ntf_acc_fail(acc, 422, pointer != NULL ? pointer : "",
                         err != NULL ? err : "cannot render");

        } else {
            ntf_acc_fail(acc, 503, "", err != NULL ? err : "cannot render");
        }

        return;
    }

    acc->rendered = json_incref(rendered);

    if (strcmp(acc->channel, "webhook") == 0) {
        only = json_object_get(acc->request, "recipients");

        if (ntf_subs_match(acc->owner, acc->type, only, ntf_acc_matched,
                           acc)
            != 0)
        {
            ntf_acc_fail(acc, 503, "", "cannot read the subscriptions");
        }

        return;
    }

    if ((strcmp(acc->channel, "email") == 0 ? ntf_acc_email(acc)
                                             : ntf_acc_push(acc))
        != 0)
    {
        return;
    }

    ntf_acc_store(acc);
}


static void
ntf_acc_matched(json_t *subs, int status, void *data)
{
    size_t      i;
    json_t     *sub, *payload;
    ntf_acc_t  *acc;

    acc = data;

    if (subs == NULL) {
        ntf_acc_fail(acc, 503, "", "cannot read the subscriptions");
        return;
    }

    json_array_foreach(subs, i, sub) {
        if (!json_is_string(json_object_get(sub, "id"))
            || !json_is_string(json_object_get(sub, "url")))
        {
            continue;
        }

        payload = json_pack("{s:O, s:s, s:O}",
                            "sub", json_object_get(sub, "id"),
                            "type", acc->type,
                            "data", json_object_get(acc->rendered, "data"));

        if (payload == NULL
            || ntf_acc_add(acc, json_string_value(json_object_get(sub,
                                                                  "url")),
                           json_string_value(json_object_get(sub, "id")),
                           payload)
               != 0)
        {
            ntf_acc_fail(acc, 503, "", "out of memory");
            return;
        }
    }

    ntf_acc_store(acc);
}


static int
ntf_acc_email(ntf_acc_t *acc)
{
    char        pointer[NTF_PTR_MAX], err[NTF_ERR_MAX], *target;
    size_t      i, len;
    json_t     *payload, *r, *v, *a;
    const char  *addr;

    r = json_object_get(acc->request, "recipients");
    payload = json_pack("{s:O}", "to", r);
    if (payload == NULL) {
        ntf_acc_fail(acc, 503, "", "out of memory");
        return -1;
    }

    json_object_update(payload, acc->rendered);

    a = json_object_get(acc->request, "attachments");
    if (a != NULL) {
        json_object_set(payload, "attachments", a);
    }

    pointer[0] = '\0';
    err[0] = '\0';

    if (ntf_mime_check(payload, pointer, sizeof(pointer), err, sizeof(err))
        != 0)
    {
        json_decref(payload);
        ntf_acc_fail(acc, 422, pointer,
                     err[0] != '\0' ? err : "not a valid email");
        return -1;
    }

    /* the target shown in the attempts: the addresses, comma separated */

    len = 1;
    json_array_foreach(r, i, v) {
        addr = json_is_object(v) ? json_string_value(json_object_get(v,
                                                                   "email"))
                                 : json_string_value(v);
        len += strlen(addr != NULL ? addr : "") + 1;
    }

    target = calloc(1, len);
    if (target == NULL) {
        json_decref(payload);
        ntf_acc_fail(acc, 503, "", "out of memory");
        return -1;
    }

    json_array_foreach(r, i, v) {
        addr = json_is_object(v) ? json_string_value(json_object_get(v,
                                                                   "email"))
                                 : json_string_value(v);
        if (i > 0) {
            strcat(target, ",");
        }

        strcat(target, addr != NULL ? addr : "");
    }

    if (ntf_acc_add(acc, target, "", payload) != 0) {
        free(target);
        ntf_acc_fail(acc, 503, "", "out of memory");
        return -1;
    }

    free(target);
    return 0;
}


static int
ntf_acc_push(ntf_acc_t *acc)
{
    size_t   i;
    json_t  *r, *v, *payload;

    r = json_object_get(acc->request, "recipients");

    json_array_foreach(r, i, v) {
        payload = json_pack("{s:O, s:s, s:O}", "channel", v,
                            "type", acc->type,
                            "data", json_object_get(acc->rendered, "data"));

        if (payload == NULL
            || ntf_acc_add(acc, json_string_value(v), "", payload) != 0)
        {
            ntf_acc_fail(acc, 503, "", "out of memory");
            return -1;
        }
    }

    return 0;
}


/* one more delivery: payload is stolen */

static int
ntf_acc_add(ntf_acc_t *acc, const char *target, const char *sub,
    json_t *payload)
{
    char    *text;
    json_t  *d;

    text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(payload);

    if (text == NULL) {
        return -1;
    }

    d = json_pack("{s:s, s:s, s:s}", "target", target, "sub", sub,
                  "payload", text);
    free(text);

    return (d != NULL && json_array_append_new(acc->deliveries, d) == 0)
           ? 0 : -1;
}


static void
ntf_acc_store(ntf_acc_t *acc)
{
    char     now[24], keep[24], hash[65], did[NTF_DID_MAX], *text, *req;
    size_t   i, len;
    json_t  *arg, *d;

    if (ntf_id_new(acc->res.id) != 0 || ntf_acc_hash(acc->request, hash)
        != 0)
    {
        ntf_acc_fail(acc, 503, "", "out of memory");
        return;
    }

    json_array_foreach(acc->deliveries, i, d) {
        snprintf(did, sizeof(did), "%s.%zu", acc->res.id, i);
        json_object_set_new(d, "id", json_string(did));
    }

    snprintf(now, sizeof(now), "%lld", ntf_now_ms());
    snprintf(keep, sizeof(keep), "%lld", ntf.keep);

    req = json_dumps(acc->request, JSON_COMPACT);
    arg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s,"
                    " s:O}",
                    "idem", acc->idem, "hash", hash, "keep", keep,
                    "now", now, "id", acc->res.id, "owner", acc->owner,
                    "channel", acc->channel, "type", acc->type,
                    "request", req, "traceparent", acc->traceparent,
                    "d", acc->deliveries);
    free(req);

    text = (arg != NULL) ? json_dumps(arg, JSON_COMPACT) : NULL;
    json_decref(arg);

    if (text == NULL) {
        ntf_acc_fail(acc, 503, "", "out of memory");
        return;
    }

    len = strlen(text);

    if (ntf_script_eval(&ntf_script_accept, 1, (const char **) &text, &len,
                        ntf_acc_stored, acc)
        != 0)
    {
        free(text);
        ntf_acc_fail(acc, 503, "", "Redis is unavailable");
        return;
    }

    free(text);
}


static void
ntf_acc_stored(redisReply *reply, void *data)
{
    ntf_acc_t  *acc;

    acc = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        ntf_acc_fail(acc, 503, "", "Redis is unavailable");
        return;
    }

    if (strcmp(reply->element[0]->str, "mismatch") == 0) {
        acc->res.replayed = -1;
        ntf_acc_fail(acc, 422, "", "the Idempotency-Key was used for "
                     "another request");
        return;
    }

    if (reply->elements != 3
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[2]->type != REDIS_REPLY_STRING
        || reply->element[1]->len >= NTF_ID_MAX)
    {
        ntf_acc_fail(acc, 503, "", "bad reply from Redis");
        return;
    }

    acc->res.status = 202;
    acc->res.replayed = strcmp(reply->element[0]->str, "replay") == 0;
    acc->res.deliveries = (unsigned) strtoul(reply->element[2]->str, NULL,
                                             10);
    memcpy(acc->res.id, reply->element[1]->str, reply->element[1]->len + 1);

    if (!acc->res.replayed) {
        gw_svc_metric_add(ntf_m.accepted, 1, acc->channel);
    }

    ntf_acc_end(acc);
}


/* the request's SHA-256 (hex), for the Idempotency-Key's comparison */

static int
ntf_acc_hash(json_t *request, char *hex)
{
    char           *text;
    size_t          i;
    unsigned int    n;
    unsigned char   h[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    text = json_dumps(request, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL) {
        return -1;
    }

    if (EVP_Digest(text, strlen(text), h, &n, EVP_sha256(), NULL) != 1) {
        free(text);
        return -1;
    }

    free(text);

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 0xf];
    }

    hex[64] = '\0';

    return 0;
}


/* a refusal (status 4xx) or a failure (503): -1 */

static int
ntf_acc_err(ntf_acc_t *acc, int status, const char *pointer,
    const char *fmt, ...)
{
    va_list  args;

    acc->res.status = status;
    snprintf(acc->res.pointer, sizeof(acc->res.pointer), "%s", pointer);

    va_start(args, fmt);
    vsnprintf(acc->res.error, sizeof(acc->res.error), fmt, args);
    va_end(args);

    return -1;
}


/* the same, answered: acc is freed */

static void
ntf_acc_fail(ntf_acc_t *acc, int status, const char *pointer,
    const char *msg)
{
    (void) ntf_acc_err(acc, status, pointer, "%s", msg);
    ntf_acc_end(acc);
}


static void
ntf_acc_end(ntf_acc_t *acc)
{
    acc->done(&acc->res, acc->data);

    json_decref(acc->request);
    json_decref(acc->rendered);
    json_decref(acc->deliveries);
    free(acc->traceparent);
    free(acc);
}


int
ntf_idem_key(const char *owner, const char *key, size_t klen, char *out)
{
    unsigned char  rec[GW_IDEM_RECORD_KEY_LEN];

    if (gw_idem_record_key((const unsigned char *) owner, strlen(owner),
                           (const unsigned char *) key, klen, rec)
        != 0)
    {
        return -1;
    }

    memcpy(out, "gw:ntf:idem:", sizeof("gw:ntf:idem:") - 1);
    memcpy(out + sizeof("gw:ntf:idem:") - 1,
           rec + sizeof(GW_IDEM_PREFIX) - 1, 64);
    out[NTF_IDEM_LEN] = '\0';

    return 0;
}


/* 48 bits of milliseconds then 80 random bits, 26 base32 characters */

int
ntf_id_new(char *id)
{
    int            i, bit, v;
    long long      ms;
    unsigned char  b[16];

    ms = ntf_now_ms();

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (8 * (5 - i)));
    }

    if (RAND_bytes(b + 6, 10) != 1) {
        return -1;
    }

    memcpy(id, "ntf_", 4);

    /* 130 bits: two zero bits in front of the 128 */

    for (i = 0; i < 26; i++) {
        v = 0;

        for (bit = i * 5 - 2; bit < i * 5 + 3; bit++) {
            v <<= 1;

            if (bit >= 0) {
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }

        id[4 + i] = ntf_b32[v];
    }

    id[30] = '\0';

    return 0;
}


int
ntf_id_valid(const char *id)
{
    size_t  i;

    if (strncmp(id, "ntf_", 4) != 0 || strlen(id) != 30) {
        return 0;
    }

    for (i = 4; i < 30; i++) {
        if (strchr(ntf_b32, id[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


int
ntf_did_valid(const char *did)
{
    char         nid[NTF_ID_MAX];
    size_t       i;
    const char  *dot;

    dot = strchr(did, '.');
    if (dot == NULL || dot - did != 30 || dot[1] == '\0'
        || strlen(dot + 1) > 5)
    {
        return 0;
    }

    for (i = 1; dot[i] != '\0'; i++) {
        if (dot[i] < '0' || dot[i] > '9') {
            return 0;
        }
    }

    memcpy(nid, did, 30);
    nid[30] = '\0';

    return ntf_id_valid(nid);
}


long long
ntf_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
ntf_rfc3339(long long ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}
