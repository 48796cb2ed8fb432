
/*
 * Copyright (C) Tollgate
 *
 * What consumer, key and client entities become in the gateway's data
 * model (lib/model/gw_model.h), and their secrets.
 *
 * The gateway and the identity service read their own records
 * (gw:consumer:<id>, gw:key:<hash>, gw:client:<id> and their indexes),
 * not the entities; so every change of such an entity carries the
 * commands that rewrite the record, run by the commit script in the same
 * atomic step as the entity's write, with the invalidation gwctl
 * publishes on gw:events ("consumer <id>", "key <hash>", "client <id>"):
 * every cache at the edge drops the record at once and reads the new
 * one.  A record is written whole (every field gwctl writes), so what
 * the gateway sees never mixes two versions; a delete removes the record
 * and its index entries.  A value the gateway could not use (an unknown
 * status) is projected as the closed state: "disabled", "revoked".
 *
 * Secrets: a key is made by lib/model as gwctl makes it ("tg_" and 43
 * base64url symbols), and the entity is known by its SHA-256 hex, the
 * gw:key:<hash> the gateway looks up; a client secret ("tgs_" and 43
 * symbols) is kept only as its HMAC-SHA-256 under the identity service's
 * pepper, as gwctl stores it.  Either is returned once to the creator
 * and written nowhere else (not in the entity, the log, the audit
 * trail or this service's log).
 *
 * Entity members read (anything else is the entity's alone):
 *
 *   consumers   name, status, tags (array), plan, created_at
 *   keys        consumer, status, expires (seconds since the epoch or an
 *               RFC 3339 time; 0, null or absent: never), prefix,
 *               created_at, updated_at (the time of a revocation)
 *   clients     name, status, secret_hash, secret_old_hash,
 *               secret_old_until, jwk (an object or its JSON text),
 *               auth, grants, scopes, default_scopes, audiences (arrays
 *               or space-separated strings), default_audience,
 *               created_at, updated_at
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "gw_b64url.h"
#include "gw_model.h"
#include "metadata.h"


#define MD_PEPPER_MIN       32      /* bytes, as the identity service */
#define MD_PEPPER_MAX       64      /* bytes used of the file */
#define MD_SECRET_BYTES     32
#define MD_SECRET_PREFIX    "tgs_"
#define MD_SECRET_LEN       (4 + 43)


static int md_project_consumer(json_t *before, json_t *after, json_t *cmds);
static int md_project_key(json_t *before, json_t *after, json_t *cmds);
static int md_project_client(json_t *before, json_t *after, json_t *cmds);
static int md_cmd(json_t *cmds, ...);
static const char *md_str(json_t *doc, const char *member,
    const char *dflt);
static char *md_join(json_t *doc, const char *member, const char *sep);
static int64_t md_time(json_t *v);
static int md_secret_client(json_t *data, char **secret,
    const char **error);


static unsigned char  md_pepper[MD_PEPPER_MAX];
static size_t         md_pepper_len;


int
md_project_setup(gw_svc_t *svc)
{
    FILE        *f;
    size_t       n;
    const char  *path;

    path = gw_svc_conf_str(svc, "identity_pepper_file");

    if (path == NULL || path[0] == '\0') {
        return 0;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s, s:o*}", "error", "identity_pepper_file:"
                             " cannot open", "path",
                             gw_svc_json_string(path)));
        return -1;
    }

    n = fread(md_pepper, 1, sizeof(md_pepper), f);
    fclose(f);

    if (n < MD_PEPPER_MIN) {
        OPENSSL_cleanse(md_pepper, sizeof(md_pepper));
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s, s:o*, s:i}", "error",
                             "identity_pepper_file: too short", "path",
                             gw_svc_json_string(path), "min_bytes",
                             MD_PEPPER_MIN));
        return -1;
    }

    md_pepper_len = n;

    return 0;
}


int
md_project(md_type_t *t, json_t *before, json_t *after, json_t *cmds)
{
    const char  *name;

    if (before == NULL && after == NULL) {
        return 0;
    }

    name = md_type_name(t);

    if (strcmp(name, "consumers") == 0) {
        return md_project_consumer(before, after, cmds);
    }

    if (strcmp(name, "keys") == 0) {
        return md_project_key(before, after, cmds);
    }

    if (strcmp(name, "clients") == 0) {
        return md_project_client(before, after, cmds);
    }

    return 0;
}


/* gw:consumer:<id> and gw:consumers; "consumer <id>" */

static int
md_project_consumer(json_t *before, json_t *after, json_t *cmds)
{
    int          rc;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char         created[24], *tags;
    const char  *id, *name, *status;

    id = md_str(after != NULL ? after : before, "id", NULL);

    if (id == NULL || !gw_model_id_valid(id, strlen(id))) {
        return 0;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", id);

    if (after == NULL) {
        return md_cmd(cmds, "DEL", rkey, NULL)
               || md_cmd(cmds, "ZREM", GW_MODEL_CONSUMERS, id, NULL)
               || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL)
               ? -1 : 0;
    }

    name = md_str(after, "name", id);

    if (!gw_model_name_valid(name, strlen(name))) {
        name = id;
    }

    status = md_str(after, "status", GW_MODEL_ACTIVE);

    if (strcmp(status, GW_MODEL_ACTIVE) != 0) {
        status = GW_MODEL_DISABLED;
    }

    tags = md_join(after, "tags", ",");
    if (tags == NULL) {
        return -1;
    }

    snprintf(created, sizeof(created), "%lld",
             (long long) md_time(json_object_get(after, "created_at")));

    rc = md_cmd(cmds, "HSET", rkey, "id", id, "name", name, "status", status,
                "tags", tags, "plan", md_str(after, "plan", ""), "created",
                created, NULL)
         || md_cmd(cmds, "ZADD", GW_MODEL_CONSUMERS, "0", id, NULL)
         || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL);

    free(tags);

    return rc ? -1 : 0;
}


/*
 * gw:key:<hash> and gw:consumer:<id>:keys; "key <hash>".  The entity's id
 * is the hash; an entity whose id is not one projects nothing (no key
 * hashes to it).  revoked is the time status became "revoked": set by
 * the change that revokes, kept by later ones, dropped by one that makes
 * the key active again.
 */

static int
md_project_key(json_t *before, json_t *after, json_t *cmds)
{
    int          was;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char         crkey[GW_MODEL_RKEY_MAX], ocrkey[GW_MODEL_RKEY_MAX];
    char         created[24], expires[24], revoked[24];
    json_t      *doc;
    const char  *id, *consumer, *old, *status, *prefix;

    doc = after != NULL ? after : before;
    id = md_str(doc, "id", NULL);

    if (id == NULL || !gw_model_hash_valid(id, strlen(id))) {
        return 0;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_KEY_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", id);

    consumer = md_str(doc, "consumer", "");

    if (!gw_model_id_valid(consumer, strlen(consumer))) {
        consumer = "";
    }

    snprintf(crkey, sizeof(crkey), GW_MODEL_CONSUMER_PREFIX "%s"
             GW_MODEL_KEYS_SUFFIX, consumer);

    if (after == NULL) {
        return md_cmd(cmds, "DEL", rkey, NULL)
               || (consumer[0] != '\0'
                   && md_cmd(cmds, "ZREM", crkey, id, NULL))
               || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL)
               ? -1 : 0;
    }

    /* a key moved to another consumer leaves the old one's index */

    old = (before != NULL) ? md_str(before, "consumer", "") : "";

    if (old[0] != '\0' && strcmp(old, consumer) != 0
        && gw_model_id_valid(old, strlen(old)))
    {
        snprintf(ocrkey, sizeof(ocrkey), GW_MODEL_CONSUMER_PREFIX "%s"
                 GW_MODEL_KEYS_SUFFIX, old);

        if (md_cmd(cmds, "ZREM", ocrkey, id, NULL) != 0) {
            return -1;
        }
    }

    status = md_str(after, "status", GW_MODEL_ACTIVE);

    if (strcmp(status, GW_MODEL_ACTIVE) != 0) {
        status = GW_MODEL_REVOKED;
    }

    prefix = md_str(after, "prefix", "");

    if (strlen(prefix) > GW_KEY_PREFIX_LEN
        || !gw_model_printable(prefix, strlen(prefix)))
    {
        prefix = "";
    }

    snprintf(created, sizeof(created), "%lld",
             (long long) md_time(json_object_get(after, "created_at")));
    snprintf(expires, sizeof(expires), "%lld",
             (long long) md_time(json_object_get(after, "expires")));

    if (md_cmd(cmds, "HSET", rkey, "consumer", consumer, "status", status,
               "expires", expires, "created", created, "prefix", prefix,
               NULL) != 0)
    {
        return -1;
    }

    was = (before != NULL
           && strcmp(md_str(before, "status", GW_MODEL_ACTIVE),
                     GW_MODEL_ACTIVE) != 0);

    if (status[0] == 'r' && !was) {
        snprintf(revoked, sizeof(revoked), "%lld",
                 (long long) md_time(json_object_get(after, "updated_at")));

        if (md_cmd(cmds, "HSET", rkey, "revoked", revoked, NULL) != 0) {
            return -1;
        }

    } else if (status[0] == 'a'
               && md_cmd(cmds, "HDEL", rkey, "revoked", NULL) != 0)
    {
        return -1;
    }

    return (consumer[0] != '\0'
            && md_cmd(cmds, "ZADD", crkey, created, id, NULL))
           || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL)
           ? -1 : 0;
}


/* gw:client:<id> and gw:clients, every field gwctl writes; "client <id>" */

static int
md_project_client(json_t *before, json_t *after, json_t *cmds)
{
    int          rc;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char         created[24], updated[24], until[24], *jwk, *list[5];
    size_t       i;
    json_t      *v;
    const char  *id, *name, *status, *secret, *old;

    static const char  *lists[] = {
        "auth", "grants", "scopes", "default_scopes", "audiences"
    };

    id = md_str(after != NULL ? after : before, "id", NULL);

    if (id == NULL || !gw_model_id_valid(id, strlen(id))) {
        return 0;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CLIENT_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CLIENT " %s", id);

    if (after == NULL) {
        return md_cmd(cmds, "DEL", rkey, NULL)
               || md_cmd(cmds, "ZREM", GW_MODEL_CLIENTS, id, NULL)
               || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL)
               ? -1 : 0;
    }

    name = md_str(after, "name", id);

    if (!gw_model_name_valid(name, strlen(name))) {
        name = id;
    }

    status = md_str(after, "status", GW_MODEL_ACTIVE);

    if (strcmp(status, GW_MODEL_ACTIVE) != 0) {
        status = GW_MODEL_DISABLED;
    }

    /* hashes only: anything else would be a secret, or unusable */

    secret = md_str(after, "secret_hash", "");

    if (!gw_model_hash_valid(secret, strlen(secret))) {
        secret = "";
    }

    old = md_str(after, "secret_old_hash", "");
    v = json_object_get(after, "secret_old_until");

    if (!gw_model_hash_valid(old, strlen(old)) || !json_is_integer(v)) {
        old = "";
        until[0] = '\0';

    } else {
        snprintf(until, sizeof(until), "%lld",
                 (long long) json_integer_value(v));
    }

    v = json_object_get(after, "jwk");

    if (json_is_object(v)) {
        jwk = json_dumps(v, JSON_COMPACT);

    } else {
        jwk = strdup(json_is_string(v) ? json_string_value(v) : "");
    }

    rc = -1;
    memset(list, 0, sizeof(list));

    if (jwk == NULL) {
        return -1;
    }

    for (i = 0; i < 5; i++) {
        list[i] = md_join(after, lists[i], " ");
        if (list[i] == NULL) {
            goto done;
        }
    }

    snprintf(created, sizeof(created), "%lld",
             (long long) md_time(json_object_get(after, "created_at")));
    snprintf(updated, sizeof(updated), "%lld",
             (long long) md_time(json_object_get(after, "updated_at")));

    if (md_cmd(cmds, "HSET", rkey, "id", id, "name", name, "status", status,
               "secret", secret, "secret_old", old, "secret_old_until",
               until, "jwk", jwk, "auth", list[0], "grants", list[1],
               "scopes", list[2], "default_scopes", list[3], "audiences",
               list[4], "default_audience",
               md_str(after, "default_audience", ""), "created", created,
               "updated", updated, NULL) != 0
        || md_cmd(cmds, "ZADD", GW_MODEL_CLIENTS, "0", id, NULL) != 0
        || md_cmd(cmds, "PUBLISH", GW_MODEL_EVENTS, event, NULL) != 0)
    {
        goto done;
    }

    rc = 0;

done:

    for (i = 0; i < 5; i++) {
        free(list[i]);
    }

    free(jwk);

    return rc;
}


/* appends one command, its words given as strings ending with NULL */

static int
md_cmd(json_t *cmds, ...)
{
    json_t      *cmd, *w;
    va_list      ap;
    const char  *s;

    cmd = json_array();
    if (cmd == NULL) {
        return -1;
    }

    va_start(ap, cmds);

    for (s = va_arg(ap, const char *); s != NULL;
         s = va_arg(ap, const char *))
    {
        w = json_string(s);

        if (w == NULL || json_array_append_new(cmd, w) != 0) {
            va_end(ap);
            json_decref(cmd);
            return -1;
        }
    }

    va_end(ap);

    return json_array_append_new(cmds, cmd) == 0 ? 0 : -1;
}


/* a string member's value, or dflt when absent or not a string */

static const char *
md_str(json_t *doc, const char *member, const char *dflt)
{
    const char  *s;

    s = json_string_value(json_object_get(doc, member));

    return s != NULL ? s : dflt;
}


/*
 * A list member as one string (to free): an array's strings joined by
 * sep (other elements skipped), a string as it is, else "".  NULL when
 * out of memory.
 */

static char *
md_join(json_t *doc, const char *member, const char *sep)
{
    char        *out, *p;
    size_t       i, len, slen;
    json_t      *v, *e;
    const char  *s;

    v = json_object_get(doc, member);

    if (json_is_string(v)) {
        return strdup(json_string_value(v));
    }

    slen = strlen(sep);
    len = 1;

    json_array_foreach(v, i, e) {
        if (json_is_string(e)) {
            len += json_string_length(e) + slen;
        }
    }

    out = malloc(len);
    if (out == NULL) {
        return NULL;
    }

    p = out;

    json_array_foreach(v, i, e) {
        s = json_string_value(e);

        if (s == NULL) {
            continue;
        }

        if (p != out) {
            memcpy(p, sep, slen);
            p += slen;
        }

        memcpy(p, s, json_string_length(e));
        p += json_string_length(e);
    }

    *p = '\0';

    return out;
}


/*
 * Seconds since the epoch of a time member: a non-negative integer as
 * it is, an RFC 3339 time ("2026-12-06T12:00:00.123Z", any offset) with
 * its fraction dropped; 0 for anything else (null, absent: never, for
 * "expires"; the meta times are always well-formed).
 */

static int64_t
md_time(json_t *v)
{
    int          n, off, sign;
    char         zone[8];
    time_t       t;
    struct tm    tm;
    const char  *s, *z;

    if (json_is_integer(v)) {
        return json_integer_value(v) > 0 ? json_integer_value(v) : 0;
    }

    s = json_string_value(v);
    if (s == NULL) {
        return 0;
    }

    memset(&tm, 0, sizeof(tm));
    n = 0;

    if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6
        || n != 19)
    {
        return 0;
    }

    z = s + n;

    if (*z == '.') {
        z++;
        z += strspn(z, "0123456789");
    }

    off = 0;

    if (strcmp(z, "Z") == 0 || strcmp(z, "z") == 0) {
        sign = 0;

    } else if (strlen(z) == 6 && (z[0] == '+' || z[0] == '-')
               && sscanf(z + 1, "%2d:%2d%1s", &n, &off, zone) == 2)
    {
        sign = (z[0] == '+') ? 1 : -1;
        off = sign * (n * 3600 + off * 60);

    } else {
        return 0;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    t = timegm(&tm);

    return (t == (time_t) -1 || t - off < 0) ? 0 : (int64_t) (t - off);
}


int
md_project_secret(md_type_t *t, json_t *data, char **secret,
    const char **error)
{
    char         key[GW_KEY_LEN + 1], hash[GW_KEY_HASH_HEX_LEN + 1];
    char         prefix[GW_KEY_PREFIX_LEN + 1];
    const char  *name;

    *secret = NULL;
    *error = "out of memory";

    name = md_type_name(t);

    if (strcmp(name, "clients") == 0) {
        return md_secret_client(data, secret, error);
    }

    if (strcmp(name, "keys") != 0) {
        return 0;
    }

    if (gw_model_key_generate(key) != 0) {
        *error = "the random generator failed";
        return -1;
    }

    gw_model_key_hash((const unsigned char *) key, GW_KEY_LEN, hash);
    memcpy(prefix, key, GW_KEY_PREFIX_LEN);
    prefix[GW_KEY_PREFIX_LEN] = '\0';

    if (json_object_set_new(data, "id", json_string(hash)) != 0
        || json_object_set_new(data, "prefix", json_string(prefix)) != 0)
    {
        OPENSSL_cleanse(key, sizeof(key));
        return -1;
    }

    *secret = strdup(key);
    OPENSSL_cleanse(key, sizeof(key));

    return *secret != NULL ? 0 : -1;
}


/*
 * A client's secret: "tgs_" and the base64url of MD_SECRET_BYTES random
 * bytes, its HMAC-SHA-256 under the pepper in data's secret_hash.  A
 * client whose auth names no client_secret_* method (private_key_jwt
 * only) gets none (*secret NULL, 0); one that needs a secret when no
 * pepper is configured gets MD_SECRET_NO_PEPPER.
 */

static int
md_secret_client(json_t *data, char **secret, const char **error)
{
    char            *auth, hex[2 * 32 + 1];
    size_t           i, n;
    unsigned int     len;
    unsigned char    rnd[MD_SECRET_BYTES], mac[EVP_MAX_MD_SIZE];
    unsigned char    text[MD_SECRET_LEN + 1];

    static const char  digits[] = "0123456789abcdef";

    if (json_object_get(data, "auth") != NULL) {
        auth = md_join(data, "auth", " ");
        if (auth == NULL) {
            return -1;
        }

        n = (strstr(auth, "client_secret_") != NULL);
        free(auth);

        if (!n) {
            return 0;
        }
    }

    if (md_pepper_len == 0) {
        *error = "a client secret needs the identity service's pepper: "
                 "identity_pepper_file is not configured (create the "
                 "client with auth private_key_jwt, or configure it)";
        return MD_SECRET_NO_PEPPER;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        *error = "the random generator failed";
        return -1;
    }

    memcpy(text, MD_SECRET_PREFIX, 4);
    n = gw_b64url_encode(text + 4, rnd, sizeof(rnd));
    text[4 + n] = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));

    if (HMAC(EVP_sha256(), md_pepper, md_pepper_len, text, 4 + n, mac, &len)
        == NULL || len != 32)
    {
        OPENSSL_cleanse(text, sizeof(text));
        *error = "HMAC failed";
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 0xf];
    }

    hex[64] = '\0';

    if (json_object_set_new(data, "secret_hash", json_string(hex)) != 0) {
        OPENSSL_cleanse(text, sizeof(text));
        return -1;
    }

    *secret = strdup((char *) text);
    OPENSSL_cleanse(text, sizeof(text));

    return *secret != NULL ? 0 : -1;
}
