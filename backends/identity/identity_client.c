
/*
 * Copyright (C) Tollgate
 *
 * Clients' records (gw:client:<id>, lib/model/gw_model.h), read with
 * HGETALL and kept in a small cache so that a client asking for tokens
 * all day costs no Redis round trip per request.  The record is parsed
 * once when read: the secrets' hashes decoded, the JWK loaded into a key
 * set, the methods turned into bits.
 *
 * The cache is right within client_cache_ttl by its own clock, and
 * sooner through gw:events: gwctl publishes "client <id>" with every
 * change, in the same MULTI/EXEC, and the subscriber (identity_events.c)
 * drops that entry.  A read that started before an invalidation is used for
 * its request but not cached (the generation count says so).  When the
 * subscriber (re)subscribes the whole cache is dropped, since messages
 * may have been missed meanwhile.
 *
 * Unknown clients are cached too (found = 0), so a flood of requests for
 * one made-up id is no flood of HGETALLs; adding the client publishes
 * its id and drops that entry.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hiredis/async.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw_model.h"
#include "identity_client.h"


#define IDENTITY_CACHE_BUCKETS  1024
#define IDENTITY_CACHE_MAX      16384       /* records; past it, all go */


typedef struct {
    identity_crec_pt    done;
    void               *data;
    unsigned long       gen;
    char                id[GW_ID_MAX + 1];
} identity_fetch_t;


static uint64_t identity_msec(void);
static unsigned identity_client_bucket(const char *id);
static void identity_client_fetched(redisAsyncContext *ac, void *r,
    void *data);
static identity_crec_t *identity_client_parse(const char *id,
    const redisReply *h);
static void identity_client_free(identity_crec_t *rec);
static void identity_client_drop(const char *id, size_t len);
static int identity_client_hex(const redisReply *v, unsigned char *mac);
static const redisReply *identity_client_field(const redisReply *h,
    const char *name);


static identity_crec_t     *identity_cache[IDENTITY_CACHE_BUCKETS];
static size_t               identity_cache_n;
static unsigned long        identity_cache_gen;
static uint64_t             identity_cache_ttl;     /* milliseconds */
static time_t               identity_secret_grace;  /* seconds */

static EVP_MAC_CTX         *identity_mac_tpl;
static EVP_MD              *identity_md;

static int                  identity_client_stopped;

static gw_svc_metric_t     *identity_m_cache;


static uint64_t
identity_msec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
identity_client_setup(gw_svc_t *svc)
{
    EVP_MAC     *mac;
    OSSL_PARAM   params[2];

    static const char  *labels[] = { "result", NULL };

    identity_cache_ttl = gw_svc_conf_int(svc, "client_cache_ttl");
    identity_secret_grace = gw_svc_conf_int(svc, "secret_grace");

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    identity_md = EVP_MD_fetch(NULL, "SHA256", NULL);

    if (mac == NULL || identity_md == NULL) {
        EVP_MAC_free(mac);
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "no HMAC-SHA-256"));
        return -1;
    }

    identity_mac_tpl = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (identity_mac_tpl == NULL
        || EVP_MAC_init(identity_mac_tpl, identity.pepper,
                        identity.pepper_len, params) != 1)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "HMAC-SHA-256 init failed"));
        return -1;
    }

    identity_m_cache = gw_svc_counter(svc, "identity_client_cache_total",
                                      "Client record lookups by result",
                                      labels);
    if (identity_m_cache == NULL) {
        return -1;
    }

    return 0;
}


void
identity_client_start(struct event_base *base)
{
    identity_client_stopped = 0;

    identity_events_start(base);
}


void
identity_client_stop(void)
{
    identity_client_stopped = 1;

    identity_events_stop();
    identity_client_clear();

    EVP_MAC_CTX_free(identity_mac_tpl);
    identity_mac_tpl = NULL;
    EVP_MD_free(identity_md);
    identity_md = NULL;
}


int
identity_client_mac(const char *secret, size_t len, unsigned char *mac)
{
    int           rc;
    size_t        n;
    EVP_MAC_CTX  *ctx;

    ctx = EVP_MAC_CTX_dup(identity_mac_tpl);
    if (ctx == NULL) {
        return -1;
    }

    rc = (EVP_MAC_update(ctx, (const unsigned char *) secret, len) == 1
          && EVP_MAC_final(ctx, mac, &n, IDENTITY_MAC_LEN) == 1
          && n == IDENTITY_MAC_LEN) ? 0 : -1;

    EVP_MAC_CTX_free(ctx);

    return rc;
}


int
identity_sha256_hex(const char *s, size_t len, char *hex)
{
    size_t         i;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    if (EVP_Digest(s, len, md, &n, identity_md, NULL) != 1 || n != 32) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }

    hex[64] = '\0';

    return 0;
}


int
identity_client_grant_allowed(const identity_client_t *client,
    const char *grant)
{
    size_t                  len;
    const char             *p;
    const identity_crec_t  *rec;

    rec = (const identity_crec_t *) client;

    if (rec->grants == NULL) {
        return 1;
    }

    len = strlen(grant);

    for (p = rec->grants; *p != '\0'; p += strcspn(p, " ")) {
        p += strspn(p, " ");

        if (strncmp(p, grant, len) == 0 && (p[len] == ' ' || p[len] == '\0'))
        {
            return 1;
        }
    }

    return 0;
}


/* ---- the cache ----------------------------------------------------------- */


static unsigned
identity_client_bucket(const char *id)
{
    unsigned  h;

    /* FNV-1a: ids are short, and only their spread matters */

    for (h = 2166136261u; *id != '\0'; id++) {
        h = (h ^ (unsigned char) *id) * 16777619u;
    }

    return h % IDENTITY_CACHE_BUCKETS;
}


void
identity_client_get(const char *id, identity_crec_pt done, void *data)
{
    uint64_t            now;
    identity_crec_t    *rec;
    identity_fetch_t   *f;
    redisAsyncContext  *ac;

    now = identity_msec();

    for (rec = identity_cache[identity_client_bucket(id)];
         rec != NULL;
         rec = rec->next)
    {
        if (strcmp(rec->client.id, id) == 0) {
            break;
        }
    }

    if (rec != NULL && now - rec->fetched < identity_cache_ttl) {
        gw_svc_metric_add(identity_m_cache, 1, "hit");
        rec->refs++;
        done(rec, data);
        return;
    }

    ac = gw_svc_redis(identity.svc);

    f = (ac != NULL) ? malloc(sizeof(identity_fetch_t)) : NULL;

    if (f == NULL) {
        gw_svc_metric_add(identity_m_cache, 1, "unavailable");
        done(NULL, data);
        return;
    }

    gw_svc_metric_add(identity_m_cache, 1, "miss");

    f->done = done;
    f->data = data;
    f->gen = identity_cache_gen;
    memcpy(f->id, id, strlen(id) + 1);

    if (redisAsyncCommand(ac, identity_client_fetched, f,
                          "HGETALL " GW_MODEL_CLIENT_PREFIX "%s", id)
        != REDIS_OK)
    {
        free(f);
        done(NULL, data);
    }
}


static void
identity_client_fetched(redisAsyncContext *ac, void *r, void *data)
{
    unsigned           b;
    redisReply        *reply;
    identity_crec_t   *rec, **pp;
    identity_fetch_t  *f;

    f = data;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply != NULL) {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                       "client record unreadable",
                       json_pack("{s:s}", "client_id", f->id));
        }

        f->done(NULL, f->data);
        free(f);
        return;
    }

    rec = identity_client_parse(f->id, reply);
    if (rec == NULL) {
        f->done(NULL, f->data);
        free(f);
        return;
    }

    rec->refs = 1;

    if (f->gen == identity_cache_gen && identity_cache_ttl > 0
        && !identity_client_stopped)
    {
        identity_client_drop(f->id, strlen(f->id));

        if (identity_cache_n >= IDENTITY_CACHE_MAX) {
            identity_client_clear();
        }

        b = identity_client_bucket(f->id);
        pp = &identity_cache[b];
        rec->next = *pp;
        *pp = rec;
        rec->cached = 1;
        rec->refs++;
        identity_cache_n++;
    }

    f->done(rec, f->data);
    free(f);
}


void
identity_client_release(identity_crec_t *rec)
{
    if (rec != NULL && --rec->refs == 0) {
        identity_client_free(rec);
    }
}


static void
identity_client_free(identity_crec_t *rec)
{
    free((char *) rec->client.id);
    free((char *) rec->client.scopes);
    free((char *) rec->client.default_scopes);
    free((char *) rec->client.audiences);
    free((char *) rec->client.default_audience);
    free(rec->grants);
    gw_keyset_free(&rec->jwk);
    OPENSSL_cleanse(rec->secret, sizeof(rec->secret));
    OPENSSL_cleanse(rec->secret_old, sizeof(rec->secret_old));
    free(rec);
}


/*
 * A "client <id>" message: the cached record of id (len bytes) goes, if
 * any, and a read in flight is not cached (its generation is old).
 */

void
identity_client_changed(const char *id, size_t len)
{
    identity_cache_gen++;
    identity_client_drop(id, len);
}


/* drops the cached record of id (len bytes), if any */

static void
identity_client_drop(const char *id, size_t len)
{
    char              buf[GW_ID_MAX + 1];
    identity_crec_t  *rec, **pp;

    if (len > GW_ID_MAX) {
        return;
    }

    memcpy(buf, id, len);
    buf[len] = '\0';

    for (pp = &identity_cache[identity_client_bucket(buf)];
         *pp != NULL;
         pp = &(*pp)->next)
    {
        rec = *pp;

        if (strcmp(rec->client.id, buf) == 0) {
            *pp = rec->next;
            rec->cached = 0;
            identity_cache_n--;
            identity_client_release(rec);
            return;
        }
    }
}


void
identity_client_clear(void)
{
    size_t            i;
    identity_crec_t  *rec;

    for (i = 0; i < IDENTITY_CACHE_BUCKETS; i++) {
        while (identity_cache[i] != NULL) {
            rec = identity_cache[i];
            identity_cache[i] = rec->next;
            rec->cached = 0;
            identity_client_release(rec);
        }
    }

    identity_cache_n = 0;
    identity_cache_gen++;
}


/* ---- the record ---------------------------------------------------------- */


static const redisReply *
identity_client_field(const redisReply *h, const char *name)
{
    size_t  i;

    for (i = 0; i + 1 < h->elements; i += 2) {
        if (h->element[i]->type == REDIS_REPLY_STRING
            && strcmp(h->element[i]->str, name) == 0
            && h->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            return h->element[i + 1];
        }
    }

    return NULL;
}


static char *
identity_client_str(const redisReply *h, const char *name)
{
    const redisReply  *v;

    v = identity_client_field(h, name);

    return strdup(v != NULL ? v->str : "");
}


/* 64 hex digits into 32 bytes: 0, or -1 when v is not such a hash */

static int
identity_client_hex(const redisReply *v, unsigned char *mac)
{
    int     hi, lo;
    size_t  i;

    if (v == NULL || !gw_model_hash_valid(v->str, v->len)) {
        return -1;
    }

    for (i = 0; i < IDENTITY_MAC_LEN; i++) {
        hi = v->str[2 * i];
        lo = v->str[2 * i + 1];
        hi = (hi <= '9') ? hi - '0' : hi - 'a' + 10;
        lo = (lo <= '9') ? lo - '0' : lo - 'a' + 10;
        mac[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


/*
 * A record from HGETALL's reply h (no fields: an unknown client).  A
 * field out of shape (a bad hash, a JWK that does not load, a symmetric
 * JWK) is logged as our fault and leaves that way of authenticating off;
 * it never makes the client more powerful.  NULL when out of memory.
 */

static identity_crec_t *
identity_client_parse(const char *id, const redisReply *h)
{
    char               err[128];
    size_t             i;
    const char        *p;
    identity_crec_t   *rec;
    const redisReply  *v;

    rec = calloc(1, sizeof(identity_crec_t));
    if (rec == NULL) {
        return NULL;
    }

    rec->fetched = identity_msec();
    rec->client.id = strdup(id);
    rec->client.scopes = identity_client_str(h, "scopes");
    rec->client.default_scopes = identity_client_str(h, "default_scopes");
    rec->client.audiences = identity_client_str(h, "audiences");
    rec->client.default_audience = identity_client_str(h,
                                                       "default_audience");

    if (rec->client.id == NULL || rec->client.scopes == NULL
        || rec->client.default_scopes == NULL || rec->client.audiences == NULL
        || rec->client.default_audience == NULL)
    {
        identity_client_free(rec);
        return NULL;
    }

    if (h->elements == 0) {
        return rec;
    }

    rec->found = 1;

    v = identity_client_field(h, "status");
    rec->active = (v != NULL && strcmp(v->str, GW_MODEL_ACTIVE) == 0);

    v = identity_client_field(h, "grants");

    if (v != NULL && v->len > 0) {
        rec->grants = strdup(v->str);
        if (rec->grants == NULL) {
            identity_client_free(rec);
            return NULL;
        }
    }

    v = identity_client_field(h, "secret");

    if (v != NULL && v->len > 0) {
        if (identity_client_hex(v, rec->secret) == 0) {
            rec->has_secret = 1;

        } else {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                       "client record: bad secret hash",
                       json_pack("{s:s}", "client_id", id));
        }
    }

    v = identity_client_field(h, "secret_old_until");

    if (v != NULL && v->len > 0
        && identity_client_hex(identity_client_field(h, "secret_old"),
                               rec->secret_old) == 0)
    {
        rec->old_until = (time_t) strtoll(v->str, NULL, 10);
        rec->has_old = 1;

        /* secret_grace caps the grace a rotation asked for */

        v = identity_client_field(h, "updated");

        if (v != NULL
            && rec->old_until > (time_t) strtoll(v->str, NULL, 10)
                                + identity_secret_grace)
        {
            rec->old_until = (time_t) strtoll(v->str, NULL, 10)
                             + identity_secret_grace;
        }
    }

    v = identity_client_field(h, "jwk");

    if (v != NULL && v->len > 0) {
        if (gw_keyset_load(&rec->jwk, (const unsigned char *) v->str, v->len,
                           GW_KEY_FMT_JWK, NULL, 0, err, sizeof(err)) != 0)
        {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                       "client record: bad jwk",
                       json_pack("{s:s, s:s}", "client_id", id,
                                 "error", err));

        } else {
            rec->has_jwk = 1;

            for (i = 0; i < rec->jwk.nkeys; i++) {
                if (rec->jwk.keys[i].type == GW_KEY_HMAC) {
                    rec->has_jwk = 0;
                }
            }

            if (!rec->has_jwk) {
                gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                           "client record: a symmetric jwk",
                           json_pack("{s:s}", "client_id", id));
            }
        }
    }

    v = identity_client_field(h, "auth");

    if (v == NULL || v->len == 0) {
        rec->auth = rec->has_secret ? IDENTITY_AUTH_BASIC : 0;
        return rec;
    }

    for (p = v->str; *p != '\0'; p += strcspn(p, " ")) {
        p += strspn(p, " ");

        if (strncmp(p, "client_secret_basic", 19) == 0
            && (p[19] == ' ' || p[19] == '\0'))
        {
            rec->auth |= IDENTITY_AUTH_BASIC;

        } else if (strncmp(p, "client_secret_post", 18) == 0
                   && (p[18] == ' ' || p[18] == '\0'))
        {
            rec->auth |= IDENTITY_AUTH_POST;

        } else if (strncmp(p, "private_key_jwt", 15) == 0
                   && (p[15] == ' ' || p[15] == '\0'))
        {
            rec->auth |= IDENTITY_AUTH_JWT;
        }
    }

    return rec;
}
