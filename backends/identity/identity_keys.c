
/*
 * Copyright (C) Tollgate
 *
 * Signing keys, the service side (docs/identity.md, "Keys").
 *
 * Every instance reads the whole hash gw:identity:keys every keys_poll
 * and decides alone, from the records and its clock, which key signs:
 * the published key with the greatest activate time not after now,
 * unless it is retired.  Instances that read the same records within a
 * second agree; one that reads late keeps signing with the previous key
 * for at most keys_poll, which that key's hold (token_ttl + leeway after
 * its retirement) covers.
 *
 * The same timer runs the schedule: when the newest key is
 * rotation_interval - lead old (lead: publish to activate), an instance
 * generates the next key and asks Redis to add it; the add script refuses
 * when another instance was faster, so the set grows by one.  Keys past
 * their drop time are removed by the drop script.  A record read again
 * unchanged keeps its decrypted signer, so the private halves are
 * decrypted once per change, in memory only.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>

#include "gw_model.h"
#include "identity_keys_int.h"


static void identity_keys_tick(evutil_socket_t fd, short what, void *data);
static void identity_keys_load(void);
static void identity_keys_loaded_cb(redisAsyncContext *ac, void *r,
    void *data);
static void identity_keys_schedule(time_t now);
static void identity_keys_added(redisAsyncContext *ac, void *r, void *data);
static void identity_keys_dropped(redisAsyncContext *ac, void *r,
    void *data);
static void identity_keys_refresh(time_t now);
static identity_key_t *identity_keys_active(time_t now);
static int identity_keys_cmp(const void *a, const void *b);


static identity_key_t     identity_keyset[IDENTITY_KEYS_MAX];
static size_t             identity_nkeys;
static struct event      *identity_keys_timer;
static unsigned           identity_keys_busy;     /* a command in flight */
static char               identity_keys_active_kid[GW_KID_MAX];

static gw_svc_metric_t   *identity_m_signatures;
static gw_svc_metric_t   *identity_m_rotations;
static gw_svc_metric_t   *identity_m_published;
static gw_svc_metric_t   *identity_m_failed;
static gw_svc_metric_t   *identity_m_active;

int  identity_keys_loaded;


int
identity_keys_setup(gw_svc_t *svc)
{
    char  err[256];

    static const char *const  alg_label[] = { "alg", NULL };
    static const char *const  kid_label[] = { "kid", NULL };

    if (identity_keys_conf_read(svc, identity.token_ttl, identity.leeway,
                                err, sizeof(err))
        != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", err));
        return -1;
    }

    identity_m_signatures = gw_svc_counter(svc, "identity_signatures_total",
        "Tokens signed, by algorithm", alg_label);
    identity_m_rotations = gw_svc_counter(svc, "identity_key_rotations_total",
        "Signing keys this instance added to the shared set", NULL);
    identity_m_published = gw_svc_gauge(svc, "identity_keys_published",
        "Keys in the JWKS", NULL);
    identity_m_failed = gw_svc_counter(svc,
        "identity_key_loads_failed_total",
        "Key set reads or key records that failed", NULL);
    identity_m_active = gw_svc_gauge(svc, "identity_key_active",
        "1 for the key that signs now, 0 for the others seen", kid_label);

    if (identity_m_signatures == NULL || identity_m_rotations == NULL
        || identity_m_published == NULL || identity_m_failed == NULL
        || identity_m_active == NULL)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot register metrics",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        return -1;
    }

    return identity_keys_http_setup(svc);
}


void
identity_keys_start(struct event_base *base)
{
    struct timeval  tv;

    tv.tv_sec = identity_keys_conf.poll / 1000;
    tv.tv_usec = (identity_keys_conf.poll % 1000) * 1000;

    identity_keys_timer = event_new(base, -1, EV_PERSIST, identity_keys_tick,
                                    NULL);

    if (identity_keys_timer == NULL || event_add(identity_keys_timer, &tv)
                                       != 0)
    {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot arm the keys' "
                   "timer", NULL);
        return;
    }

    identity_keys_load();
}


void
identity_keys_stop(void)
{
    size_t  i;

    if (identity_keys_timer != NULL) {
        event_free(identity_keys_timer);
        identity_keys_timer = NULL;
    }

    for (i = 0; i < identity_nkeys; i++) {
        identity_keys_key_free(&identity_keyset[i]);
    }

    identity_nkeys = 0;
    identity_keys_http_free();
}


static void
identity_keys_tick(evutil_socket_t fd, short what, void *data)
{
    identity_keys_refresh(identity_now());
    identity_keys_load();
}


/* HGETALL gw:identity:keys, unless Redis is down or a command runs */

static void
identity_keys_load(void)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(identity.svc);

    if (ac == NULL || identity_keys_busy || identity.stopped) {
        return;
    }

    if (redisAsyncCommand(ac, identity_keys_loaded_cb, NULL, "HGETALL %s",
                          GW_MODEL_IDENTITY_KEYS)
        == REDIS_OK)
    {
        identity_keys_busy = 1;
    }
}


/*
 * The new set: records unchanged since the last read are kept as they
 * are (signer included), the others parsed; a record whose private half
 * fails is logged once (not again while it fails) and stays published.
 */

static void
identity_keys_loaded_cb(redisAsyncContext *ac, void *r, void *data)
{
    int              rc;
    size_t           i, j, n;
    redisReply      *reply, *f, *v;
    const char      *err;
    identity_key_t  *old, keys[IDENTITY_KEYS_MAX];

    reply = r;
    identity_keys_busy = 0;

    if (identity.stopped) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements / 2 > IDENTITY_KEYS_MAX)
    {
        gw_svc_metric_add(identity_m_failed, 1);
        gw_svc_log(identity.svc, GW_SVC_WARN, NULL, "cannot read the keys",
                   json_pack("{s:o}", "error", gw_svc_json_string(
                       reply == NULL ? "no reply"
                       : reply->type == REDIS_REPLY_ERROR ? reply->str
                       : "too many keys")));
        return;
    }

    n = 0;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        f = reply->element[i];
        v = reply->element[i + 1];

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        old = NULL;

        for (j = 0; j < identity_nkeys; j++) {
            if (strcmp(identity_keyset[j].kid, f->str) == 0) {
                old = &identity_keyset[j];
                break;
            }
        }

        if (old != NULL && old->text != NULL && strlen(old->text) == v->len
            && memcmp(old->text, v->str, v->len) == 0)
        {
            keys[n++] = *old;
            memset(old, 0, sizeof(identity_key_t));
            continue;
        }

        rc = identity_keys_record_parse(&keys[n], f->str, v->str, v->len,
                                        &err);

        if (rc == 0) {
            n++;
            continue;
        }

        gw_svc_metric_add(identity_m_failed, 1);

        if (old == NULL || old->signer != NULL) {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                       "signing key unusable",
                       json_pack("{s:o, s:s}", "kid",
                                 gw_svc_json_string(f->str), "error", err));
        }

        if (rc == 1) {
            n++;
        }
    }

    for (i = 0; i < identity_nkeys; i++) {
        identity_keys_key_free(&identity_keyset[i]);
    }

    qsort(keys, n, sizeof(identity_key_t), identity_keys_cmp);

    memcpy(identity_keyset, keys, n * sizeof(identity_key_t));
    identity_nkeys = n;
    identity_keys_loaded = 1;

    identity_keys_refresh(identity_now());
    identity_keys_schedule(identity_now());
}


/* by activate, then kid: the JWKS's order */

static int
identity_keys_cmp(const void *a, const void *b)
{
    const identity_key_t  *ka, *kb;

    ka = a;
    kb = b;

    if (ka->activate != kb->activate) {
        return ka->activate < kb->activate ? -1 : 1;
    }

    return strcmp(ka->kid, kb->kid);
}


/*
 * The schedule, after a read: drops what is past its drop time; adds the
 * first key to an empty set, or the next one when the newest is due and
 * none is pending.  The next key is added only by an instance that can
 * decrypt the newest one: an instance started with another KEK must not
 * add keys the others cannot use.
 */

static void
identity_keys_schedule(time_t now)
{
    char                kid[GW_KID_MAX], err[256], t[3][24], *rec;
    size_t              i;
    redisAsyncContext  *ac;
    identity_key_t     *latest;

    ac = gw_svc_redis(identity.svc);

    if (ac == NULL || identity_keys_busy || identity.stopped) {
        return;
    }

    for (i = 0; i < identity_nkeys; i++) {
        if (identity_keyset[i].drop != 0 && identity_keyset[i].drop <= now) {
            snprintf(t[0], sizeof(t[0]), "%lld", (long long) now);

            if (redisAsyncCommand(ac, identity_keys_dropped, NULL,
                                  "EVAL %s 2 %s %s %s",
                                  identity_keys_drop_lua,
                                  GW_MODEL_IDENTITY_KEYS, GW_MODEL_EVENTS,
                                  t[0])
                == REDIS_OK)
            {
                identity_keys_busy = 1;
            }

            return;
        }
    }

    latest = (identity_nkeys > 0) ? &identity_keyset[identity_nkeys - 1]
                                  : NULL;

    if (latest != NULL
        && (latest->activate > now || latest->signer == NULL
            || now < latest->activate + identity_keys_conf.interval
                     - identity_keys_conf.lead))
    {
        return;
    }

    /* RSA takes a while: once per rotation, on the loop */

    rec = identity_keys_record_new(kid, sizeof(kid), err, sizeof(err));
    if (rec == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot make a key",
                   json_pack("{s:s}", "error", err));
        return;
    }

    snprintf(t[0], sizeof(t[0]), "%lld", (long long) now);
    snprintf(t[1], sizeof(t[1]), "%lld", (long long) identity_keys_conf.lead);
    snprintf(t[2], sizeof(t[2]), "%lld", (long long) identity_keys_conf.hold);

    if (redisAsyncCommand(ac, identity_keys_added, NULL,
                          "EVAL %s 2 %s %s %s %s %s %s %lld %s",
                          identity_keys_add_lua, GW_MODEL_IDENTITY_KEYS,
                          GW_MODEL_EVENTS, t[0], kid, rec, t[1],
                          (long long) identity_keys_conf.interval, t[2])
        == REDIS_OK)
    {
        identity_keys_busy = 1;
    }

    free(rec);
}


static void
identity_keys_added(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    identity_keys_busy = 0;

    if (identity.stopped) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        gw_svc_metric_add(identity_m_failed, 1);
        gw_svc_log(identity.svc, GW_SVC_WARN, NULL, "cannot add a key",
                   json_pack("{s:o}", "error", gw_svc_json_string(
                       reply != NULL && reply->type == REDIS_REPLY_ERROR
                       ? reply->str : "no reply")));
        return;
    }

    if (reply->element[0]->integer == 1) {
        gw_svc_metric_add(identity_m_rotations, 1);
        gw_svc_log(identity.svc, GW_SVC_INFO, NULL, "signing key added",
                   json_pack("{s:s}", "kid", reply->element[1]->str));
    }

    identity_keys_load();
}


static void
identity_keys_dropped(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    identity_keys_busy = 0;

    if (identity.stopped) {
        return;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER
        && reply->integer > 0)
    {
        gw_svc_log(identity.svc, GW_SVC_INFO, NULL, "signing keys dropped",
                   json_pack("{s:I}", "count", (json_int_t) reply->integer));
    }

    identity_keys_load();
}


/*
 * What the clock changes: the published set (the JWKS, its ETag, the
 * verification keys) and the active key, logged and shown in
 * identity_key_active when it changes.
 */

static void
identity_keys_refresh(time_t now)
{
    int              n;
    size_t           i;
    const char      *kid;
    identity_key_t  *k;

    if (!identity_keys_loaded) {
        return;
    }

    n = identity_keys_http_publish(identity_keyset, identity_nkeys, now);

    if (n < 0) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot build the JWKS",
                   NULL);

    } else {
        gw_svc_metric_set(identity_m_published, n);
    }

    k = identity_keys_active(now);
    kid = (k != NULL && k->signer != NULL) ? k->kid : "";

    if (strcmp(kid, identity_keys_active_kid) == 0) {
        return;
    }

    snprintf(identity_keys_active_kid, sizeof(identity_keys_active_kid),
             "%s", kid);

    for (i = 0; i < identity_nkeys; i++) {
        gw_svc_metric_set(identity_m_active,
                          strcmp(identity_keyset[i].kid, kid) == 0 ? 1 : 0,
                          identity_keyset[i].kid);
    }

    gw_svc_log(identity.svc, kid[0] != '\0' ? GW_SVC_INFO : GW_SVC_WARN,
               NULL, kid[0] != '\0' ? "signing key active"
                                    : "no signing key",
               kid[0] != '\0' ? json_pack("{s:s}", "kid", kid) : NULL);
}


/*
 * The key that signs at now: published (publish <= now < drop) and
 * active (activate <= now, not retired), the greatest activate; the
 * set is sorted by it.  NULL: none.
 */

static identity_key_t *
identity_keys_active(time_t now)
{
    size_t           i;
    identity_key_t  *k;

    for (i = identity_nkeys; i > 0; i--) {
        k = &identity_keyset[i - 1];

        if (k->activate > now || k->publish > now) {
            continue;
        }

        if ((k->retire != 0 && k->retire <= now)
            || (k->drop != 0 && k->drop <= now))
        {
            return NULL;
        }

        return k;
    }

    return NULL;
}


int
identity_keys_ready(void)
{
    identity_key_t  *k;

    k = identity_keys_active(identity_now());

    return k != NULL && k->signer != NULL;
}


char *
identity_keys_sign(const char *typ, const char *payload, size_t len,
    size_t *out_len)
{
    char            *tok;
    identity_key_t  *k;

    k = identity_keys_active(identity_now());

    if (k == NULL || k->signer == NULL) {
        return NULL;
    }

    tok = gw_jws_sign(k->signer, typ, (const unsigned char *) payload, len,
                      out_len);

    if (tok == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot sign",
                   json_pack("{s:s}", "kid", k->kid));
        return NULL;
    }

    gw_svc_metric_add(identity_m_signatures, 1, gw_alg_name(k->alg));

    return tok;
}


int
identity_keys_verify(gw_jws_t *jws, const char *token, size_t len,
    const char **err)
{
    size_t              i;
    gw_keyset_t        *ks;
    const gw_jwk_t     *key;

    memset(jws, 0, sizeof(gw_jws_t));

    if (gw_jws_parse(jws, (const unsigned char *) token, len,
                     GW_JWS_MAX_LEN, err)
        != 0)
    {
        return -1;
    }

    if (jws->kid == NULL) {
        *err = "no kid";
        return -1;
    }

    ks = identity_keys_http_keyset();
    i = 0;

    while ((key = gw_keyset_next(ks, &i, jws->kid, jws->kid_len, jws->alg))
           != NULL)
    {
        if (gw_jws_verify(jws, key, err) == 0) {
            return 0;
        }
    }

    *err = "unknown key or invalid signature";

    return -1;
}
