
/*
 * Copyright (C) Tollgate
 *
 * Webhook subscriptions as deliveries use them (ntf_subs.h): read at
 * send time, matched at accept, their failures tracked, disabled.
 *
 * Secrets are stored sealed: AES-256-GCM under the key of
 * secret_key_file, a fresh 96-bit nonce each time, the subscription id
 * as additional data (a sealed secret copied onto another subscription
 * does not open), stored as base64(nonce || ciphertext || tag).  The key
 * file must hold 64 hex digits and be readable by its owner only: the
 * service refuses to start otherwise, since a key anyone on the host can
 * read protects nothing.
 *
 * Each change of a subscription's state is one Lua script, so two
 * instances recording failures at once disable it once, and only the
 * one that disabled it tells the owner.
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw_b64std.h"
#include "ntf_subs.h"


#define NTF_SUBS_NONCE      12
#define NTF_SUBS_TAG        16
#define NTF_SUBS_EVENTS     "gw:ntf:events"


typedef struct {
    char                    sid[NTF_SUB_ID_MAX];
    ntf_subs_get_pt         done;
    void                   *data;
} ntf_subs_get_ctx_t;


typedef struct {
    char                    type[132];
    json_t                 *only;
    ntf_subs_match_pt       done;
    void                   *data;
} ntf_subs_match_ctx_t;


static int ntf_subs_unseal(const char *sid, const char *sealed, char *out,
    size_t size);
static void ntf_subs_got(redisAsyncContext *c, void *r, void *privdata);
static void ntf_subs_matched(redisAsyncContext *c, void *r,
    void *privdata);
static void ntf_subs_track(const char *sid, const char *why);
static void ntf_subs_tracked(redisAsyncContext *c, void *r,
    void *privdata);
static void ntf_subs_tell(const char *reason, const char *owner,
    const char *email, const char *url, const char *sid);


static unsigned char     ntf_subs_key[32];
static gw_svc_metric_t  *ntf_subs_disabled;


/* the enabled subscriptions of an owner: id, event types, url each */
static const char  ntf_subs_match_lua[] =
    "local ids = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HMGET', ARGV[1] .. id, 'status',\n"
    "                       'event_types', 'url')\n"
    "  if h[1] == 'enabled' then\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = h[2]\n"
    "    out[#out + 1] = h[3]\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * A failure (ARGV[3] ""), or a disabling for a reason: returns nil, or
 * {reason, owner, owner_email, url} when this call disabled it.
 */
static const char  ntf_subs_track_lua[] =
    "if redis.call('HGET', KEYS[1], 'status') ~= 'enabled' then\n"
    "  return nil\n"
    "end\n"
    "local reason = ARGV[3]\n"
    "if reason == '' then\n"
    "  local f = redis.call('HGET', KEYS[1], 'failing_since')\n"
    "  if not f then\n"
    "    redis.call('HSET', KEYS[1], 'failing_since', ARGV[1])\n"
    "    return nil\n"
    "  end\n"
    "  if tonumber(ARGV[1]) - tonumber(f) < tonumber(ARGV[2]) then\n"
    "    return nil\n"
    "  end\n"
    "  reason = 'failing'\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'status', 'disabled', 'disabled_reason',\n"
    "           reason, 'updated', ARGV[1])\n"
    "local h = redis.call('HMGET', KEYS[1], 'owner', 'owner_email', 'url')\n"
    "return {reason, h[1] or '', h[2] or '', h[3] or ''}\n";


int
ntf_subs_store_configure(gw_svc_t *svc)
{
    int               fd, i, hi, lo;
    char              buf[130];
    ssize_t           n;
    const char       *path;
    struct stat       st;
    static const char *const  labels[] = { "reason", NULL };

    path = gw_svc_conf_str(svc, "secret_key_file");

    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "secret_key_file: required (64 hex digits)\n");
        return -1;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "secret_key_file: %s: %s\n", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
        fprintf(stderr, "secret_key_file: %s: not a regular file readable "
                "by its owner only (chmod 600)\n", path);
        close(fd);
        return -1;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n < 64) {
        fprintf(stderr, "secret_key_file: %s: not 64 hex digits\n", path);
        return -1;
    }

    buf[n] = '\0';

    while (n > 64 && isspace((unsigned char) buf[n - 1])) {
        buf[--n] = '\0';
    }

    for (i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char) buf[i])) {
            break;
        }
    }

    if (i != 64 || n != 64) {
        OPENSSL_cleanse(buf, sizeof(buf));
        fprintf(stderr, "secret_key_file: %s: not 64 hex digits\n", path);
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hi = isdigit((unsigned char) buf[2 * i])
             ? buf[2 * i] - '0' : (tolower(buf[2 * i]) - 'a' + 10);
        lo = isdigit((unsigned char) buf[2 * i + 1])
             ? buf[2 * i + 1] - '0' : (tolower(buf[2 * i + 1]) - 'a' + 10);
        ntf_subs_key[i] = (unsigned char) (hi << 4 | lo);
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    ntf_subs_disabled = gw_svc_counter(svc,
        "gw_ntf_subscriptions_disabled_total",
        "Webhook subscriptions disabled, by reason (failing, gone).",
        labels);

    return ntf_subs_disabled != NULL ? 0 : -1;
}


/* secret sealed for sid into out: base64(nonce || ciphertext || tag) */
int
ntf_subs_seal(const char *sid, const char *secret, char *out, size_t size)
{
    int              ok, len;
    size_t           slen;
    EVP_CIPHER_CTX  *c;
    unsigned char    buf[NTF_SUBS_NONCE + NTF_SIGN_SECRET_MAX
                         + NTF_SUBS_TAG];

    slen = strlen(secret);

    if (slen > NTF_SIGN_SECRET_MAX
        || gw_b64std_encoded_len(NTF_SUBS_NONCE + slen + NTF_SUBS_TAG) + 1
           > size
        || RAND_bytes(buf, NTF_SUBS_NONCE) != 1)
    {
        return -1;
    }

    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        return -1;
    }

    ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NTF_SUBS_NONCE,
                                NULL) == 1
         && EVP_EncryptInit_ex(c, NULL, NULL, ntf_subs_key, buf) == 1
         && EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *) sid,
                              (int) strlen(sid)) == 1
         && EVP_EncryptUpdate(c, buf + NTF_SUBS_NONCE, &len,
                              (const unsigned char *) secret, (int) slen)
            == 1
         && EVP_EncryptFinal_ex(c, buf + NTF_SUBS_NONCE + len, &len) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, NTF_SUBS_TAG,
                                buf + NTF_SUBS_NONCE + slen) == 1;

    EVP_CIPHER_CTX_free(c);

    if (!ok) {
        return -1;
    }

    len = (int) gw_b64std_encode((unsigned char *) out, buf,
                                 NTF_SUBS_NONCE + slen + NTF_SUBS_TAG);
    out[len] = '\0';

    return 0;
}


static int
ntf_subs_unseal(const char *sid, const char *sealed, char *out, size_t size)
{
    int              ok, len;
    size_t           slen;
    ssize_t          n;
    EVP_CIPHER_CTX  *c;
    unsigned char    buf[NTF_SUBS_NONCE + NTF_SIGN_SECRET_MAX
                         + NTF_SUBS_TAG + 4];

    slen = strlen(sealed);

    if (slen % 4 != 0 || gw_b64std_decoded_max(slen) > sizeof(buf)) {
        return -1;
    }

    n = gw_b64std_decode(buf, (const unsigned char *) sealed, slen);
    if (n < NTF_SUBS_NONCE + NTF_SUBS_TAG + 1
        || (size_t) n - NTF_SUBS_NONCE - NTF_SUBS_TAG + 1 > size)
    {
        return -1;
    }

    slen = n - NTF_SUBS_NONCE - NTF_SUBS_TAG;

    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        return -1;
    }

    ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NTF_SUBS_NONCE,
                                NULL) == 1
         && EVP_DecryptInit_ex(c, NULL, NULL, ntf_subs_key, buf) == 1
         && EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *) sid,
                              (int) strlen(sid)) == 1
         && EVP_DecryptUpdate(c, (unsigned char *) out, &len,
                              buf + NTF_SUBS_NONCE, (int) slen) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, NTF_SUBS_TAG,
                                buf + NTF_SUBS_NONCE + slen) == 1
         && EVP_DecryptFinal_ex(c, (unsigned char *) out + len, &len) == 1;

    EVP_CIPHER_CTX_free(c);

    if (!ok) {
        OPENSSL_cleanse(out, size);
        return -1;
    }

    out[slen] = '\0';

    return 0;
}


/* "*", "a.b", or "a.*": [a-z0-9._-] of at most 128 bytes */
int
ntf_subs_pattern_ok(const char *p)
{
    size_t  i, len;

    len = strlen(p);

    if (strcmp(p, "*") == 0) {
        return 1;
    }

    if (len == 0 || len > 128) {
        return 0;
    }

    if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.') {
        len -= 2;
    }

    for (i = 0; i < len; i++) {
        if (!(islower((unsigned char) p[i]) || isdigit((unsigned char) p[i])
              || p[i] == '.' || p[i] == '_' || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* 1 when one of the patterns (a JSON array of strings) matches type */
int
ntf_subs_type_matches(json_t *patterns, const char *type)
{
    size_t       i, len;
    json_t      *v;
    const char  *p;

    json_array_foreach(patterns, i, v) {
        p = json_string_value(v);
        if (p == NULL) {
            continue;
        }

        len = strlen(p);

        if (strcmp(p, "*") == 0 || strcmp(p, type) == 0) {
            return 1;
        }

        /* "invoice.*" matches "invoice.paid", not "invoice" */
        if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.'
            && strncmp(p, type, len - 1) == 0 && type[len - 1] != '\0')
        {
            return 1;
        }
    }

    return 0;
}


long long
ntf_subs_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
ntf_subs_get(const char *sid, ntf_subs_get_pt done, void *data)
{
    redisAsyncContext   *rc;
    ntf_subs_get_ctx_t  *ctx;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return -1;
    }

    ctx = calloc(1, sizeof(ntf_subs_get_ctx_t));
    if (ctx == NULL) {
        return -1;
    }

    snprintf(ctx->sid, sizeof(ctx->sid), "%s", sid);
    ctx->done = done;
    ctx->data = data;

    if (redisAsyncCommand(rc, ntf_subs_got, ctx, "HGETALL gw:ntf:sub:%s",
                          ctx->sid)
        != REDIS_OK)
    {
        free(ctx);
        return -1;
    }

    return 0;
}


static void
ntf_subs_got(redisAsyncContext *c, void *r, void *privdata)
{
    int                  bad;
    size_t               i;
    ntf_sub_t           *sub;
    long long            until;
    redisReply          *reply, *k, *v;
    const char          *old;
    ntf_subs_get_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    if (reply->elements == 0) {
        ctx->done(NULL, 404, ctx->data);
        free(ctx);
        return;
    }

    sub = calloc(1, sizeof(ntf_sub_t));
    if (sub == NULL) {
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    snprintf(sub->id, sizeof(sub->id), "%s", ctx->sid);
    bad = 0;
    old = NULL;
    until = 0;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        k = reply->element[i];
        v = reply->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        if (strcmp(k->str, "url") == 0) {
            snprintf(sub->url, sizeof(sub->url), "%s", v->str);

        } else if (strcmp(k->str, "status") == 0) {
            sub->enabled = strcmp(v->str, "enabled") == 0;

        } else if (strcmp(k->str, "secret") == 0) {
            bad |= ntf_subs_unseal(ctx->sid, v->str, sub->secret,
                                   sizeof(sub->secret));

        } else if (strcmp(k->str, "secret_old") == 0) {
            old = v->str;

        } else if (strcmp(k->str, "secret_old_until") == 0) {
            until = atoll(v->str);

        } else if (strcmp(k->str, "ed25519_key") == 0) {
            bad |= ntf_subs_unseal(ctx->sid, v->str, sub->ed25519,
                                   sizeof(sub->ed25519));
        }
    }

    if (old != NULL && until > ntf_subs_now()) {
        bad |= ntf_subs_unseal(ctx->sid, old, sub->old_secret,
                               sizeof(sub->old_secret));
    }

    if (bad || sub->secret[0] == '\0') {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                   "a subscription's secret does not decrypt: is "
                   "secret_key_file the one it was stored under?",
                   json_pack("{s:s}", "subscription", ctx->sid));
        OPENSSL_cleanse(sub, sizeof(ntf_sub_t));
        free(sub);
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    ctx->done(sub, 0, ctx->data);

    OPENSSL_cleanse(sub, sizeof(ntf_sub_t));
    free(sub);
    free(ctx);
}


int
ntf_subs_match(const char *owner, const char *type, json_t *only,
    ntf_subs_match_pt done, void *data)
{
    redisAsyncContext     *rc;
    ntf_subs_match_ctx_t  *ctx;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL || strlen(type) >= sizeof(ctx->type)) {
        return -1;
    }

    ctx = calloc(1, sizeof(ntf_subs_match_ctx_t));
    if (ctx == NULL) {
        return -1;
    }

    snprintf(ctx->type, sizeof(ctx->type), "%s", type);
    ctx->only = only != NULL ? json_incref(only) : NULL;
    ctx->done = done;
    ctx->data = data;

    if (redisAsyncCommand(rc, ntf_subs_matched, ctx,
                          "EVAL %s 1 gw:ntf:subs:%s gw:ntf:sub:",
                          ntf_subs_match_lua, owner)
        != REDIS_OK)
    {
        json_decref(ctx->only);
        free(ctx);
        return -1;
    }

    return 0;
}


static void
ntf_subs_matched(redisAsyncContext *c, void *r, void *privdata)
{
    size_t                 i, k;
    json_t                *subs, *types, *v;
    redisReply            *reply, *id, *url;
    const char            *want;
    ntf_subs_match_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    subs = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        goto fail;
    }

    subs = json_array();
    if (subs == NULL) {
        goto fail;
    }

    for (i = 0; i + 2 < reply->elements; i += 3) {
        id = reply->element[i];
        url = reply->element[i + 2];

        if (id->type != REDIS_REPLY_STRING || url->type != REDIS_REPLY_STRING
            || reply->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        if (ctx->only != NULL) {
            json_array_foreach(ctx->only, k, v) {
                want = json_string_value(v);
                if (want != NULL && strcmp(want, id->str) == 0) {
                    break;
                }
            }

            if (k == json_array_size(ctx->only)) {
                continue;
            }
        }

        types = json_loads(reply->element[i + 1]->str, 0, NULL);

        if (types != NULL && ntf_subs_type_matches(types, ctx->type)) {
            json_array_append_new(subs, json_pack("{s:s,s:s}", "id",
                                                  id->str, "url", url->str));
        }

        json_decref(types);
    }

    ctx->done(subs, 0, ctx->data);
    json_decref(subs);
    json_decref(ctx->only);
    free(ctx);

    return;

fail:

    json_decref(subs);
    ctx->done(NULL, 503, ctx->data);
    json_decref(ctx->only);
    free(ctx);
}


void
ntf_subs_ok(const char *sid)
{
    redisAsyncContext  *rc;

    rc = gw_svc_redis(ntf.svc);
    if (rc != NULL) {
        redisAsyncCommand(rc, NULL, NULL,
                          "HDEL gw:ntf:sub:%s failing_since", sid);
    }
}


void
ntf_subs_failed(const char *sid)
{
    ntf_subs_track(sid, "");
}


void
ntf_subs_disable(const char *sid, const char *why)
{
    ntf_subs_track(sid, why);
}


static void
ntf_subs_track(const char *sid, const char *why)
{
    char               *copy;
    redisAsyncContext  *rc;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return;
    }

    copy = strdup(sid);
    if (copy == NULL) {
        return;
    }

    if (redisAsyncCommand(rc, ntf_subs_tracked, copy,
                          "EVAL %s 1 gw:ntf:sub:%s %lld %lld %s",
                          ntf_subs_track_lua, sid, ntf_subs_now(),
                          gw_svc_conf_int(ntf.svc, "disable_after"), why)
        != REDIS_OK)
    {
        free(copy);
    }
}


static void
ntf_subs_tracked(redisAsyncContext *c, void *r, void *privdata)
{
    size_t       i;
    char        *sid;
    redisReply  *reply;

    sid = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4)
    {
        if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
            gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                       "cannot track a subscription's failures",
                       json_pack("{s:s,s:o}", "subscription", sid, "error",
                                 gw_svc_json_string(reply->str)));
        }

        free(sid);
        return;
    }

    for (i = 0; i < 4; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            free(sid);
            return;
        }
    }

    ntf_subs_tell(reply->element[0]->str, reply->element[1]->str,
                  reply->element[2]->str, reply->element[3]->str, sid);
    free(sid);
}


/* a subscription was disabled: the log, the metric, the event, the mail */
static void
ntf_subs_tell(const char *reason, const char *owner, const char *email,
    const char *url, const char *sid)
{
    char               *text, body[2600];
    json_t             *req;
    const char         *smtp, *stream;
    redisAsyncContext  *rc;

    gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "webhook subscription disabled",
               json_pack("{s:s,s:s,s:o,s:o}", "subscription", sid,
                         "reason", reason, "owner",
                         gw_svc_json_string(owner), "url",
                         gw_svc_json_string(url)));

    gw_svc_metric_add(ntf_subs_disabled, 1, reason);

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return;
    }

    redisAsyncCommand(rc, NULL, NULL,
                      "XADD " NTF_SUBS_EVENTS " MAXLEN ~ 100000 * "
                      "type subscription.disabled subscription %s "
                      "owner %s url %s reason %s time %lld",
                      sid, owner, url, reason, ntf_subs_now());

    smtp = gw_svc_conf_str(ntf.svc, "smtp_url");

    if (email[0] == '\0' || smtp == NULL || smtp[0] == '\0') {
        return;
    }

    snprintf(body, sizeof(body),
             "Webhook subscription %s (%.2048s) was disabled (%s): no "
             "deliveries are sent to it any more.  Once the endpoint "
             "answers again, enable it with PATCH /v1/subscriptions/%s "
             "{\"status\": \"enabled\"}.\n", sid, url,
             strcmp(reason, "gone") == 0
             ? "the endpoint answered 410 Gone"
             : "its deliveries kept failing", sid);

    req = json_pack("{s:s,s:s,s:s,s:[s],s:{s:s,s:s},s:{s:s,s:s,s:s}}",
                    "channel", "email", "type", "subscription.disabled",
                    "owner", owner, "recipients", email,
                    "body", "subject", "Your webhook subscription was "
                    "disabled", "text", body,
                    "data", "subscription", sid, "url", url,
                    "reason", reason);
    if (req == NULL) {
        return;
    }

    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    if (text == NULL) {
        return;
    }

    stream = gw_svc_conf_str(ntf.svc, "stream");

    redisAsyncCommand(rc, NULL, NULL, "XADD %s * notification %s",
                      stream, text);
    free(text);
}
