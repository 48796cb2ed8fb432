
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


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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


static void ntf_acc_rendered(json_t *rendered, int status,
    const char *pointer, const char *err, void *data);
static void ntf_acc_matched(json_t *subs, int status, void *data);
static int ntf_acc_email(ntf_acc_t *acc);
static int ntf_acc_push(ntf_acc_t *acc);
static int ntf_acc_add(ntf_acc_t *acc, const char *target, const char *sub,
    json_t *payload);
static void ntf_acc_store(ntf_acc_t *acc);
static void ntf_acc_stored(redisReply *reply, void *data);
static char *ntf_acc_shown(json_t *request);
static int ntf_acc_hash(json_t *request, char *hex);
static int ntf_acc_err(ntf_acc_t *acc, int status, const char *pointer,
    const char *fmt, ...);
static void ntf_acc_fail(ntf_acc_t *acc, int status, const char *pointer,
    const char *msg);
static void ntf_acc_end(ntf_acc_t *acc);


void
ntf_accept(const char *owner, int admin, json_t *request, const char *idem,
    const char *traceparent, ntf_accept_pt done, void *data)
{
    ntf_acc_t       *acc;
    ntf_check_t      check;
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

    check.request = acc->request;
    check.owner = acc->owner;
    check.admin = admin;
    check.res = &acc->res;

    if (ntf_check(&check) != 0) {
        ntf_acc_end(acc);
        return;
    }

    acc->channel = check.channel;
    acc->type = check.type;

    if (ntf_tmpl_render(acc->channel, acc->request, ntf_acc_rendered, acc)
        != 0)
    {
        ntf_acc_fail(acc, 503, "", "cannot render the notification");
    }
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
    char     cutoff[NTF_ID_MAX];
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
    ntf_id_at(ntf_now_ms() - ntf.keep, cutoff);

    req = ntf_acc_shown(acc->request);
    arg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?,"
                    " s:s, s:O}",
                    "idem", acc->idem, "hash", hash, "keep", keep,
                    "cutoff", cutoff,
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

    if (gw_svc_eval(ntf.svc, &ntf_script_accept, 1, (const char **) &text,
                    &len, ntf_acc_stored, acc)
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


/*
 * The request as GET shows it: an attachment's content (up to email_max,
 * already in the delivery) replaced by its length, "content_length".
 */

static char *
ntf_acc_shown(json_t *request)
{
    char     *text;
    size_t    i;
    json_t   *copy, *a, *v;

    if (json_object_get(request, "attachments") == NULL) {
        return json_dumps(request, JSON_COMPACT);
    }

    copy = json_deep_copy(request);
    if (copy == NULL) {
        return NULL;
    }

    a = json_object_get(copy, "attachments");

    json_array_foreach(a, i, v) {
        json_object_set_new(v, "content_length",
                            json_integer((json_int_t) json_string_length(
                                json_object_get(v, "content"))));
        json_object_del(v, "content");
    }

    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);

    return text;
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
