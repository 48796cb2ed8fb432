
/*
 * Copyright (C) Tollgate
 *
 * Subscriptions as JSON (ntf_subs.h): the members a POST or PATCH may
 * carry, checked before anything is stored (every refusal names its
 * member with a JSON pointer); a stored hash as the API shows it, its
 * secrets never among it; times in RFC 3339; new ids.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ntf_subs.h"


#define NTF_DESC_MAX        1024
#define NTF_EMAIL_MAX       254


static int ntf_subs_bad(char *ptr, size_t plen, char *err, size_t elen,
    const char *pointer, const char *detail);


int
ntf_subs_check(json_t *body, int create, int admin, char *ptr, size_t plen,
    char *err, size_t elen)
{
    size_t       i;
    json_t      *v, *t;
    const char  *k, *s;

    json_object_foreach(body, k, v) {
        if (strcmp(k, "url") == 0) {
            s = json_string_value(v);

            if (s == NULL || strlen(s) > NTF_SUB_URL_MAX) {
                return ntf_subs_bad(ptr, plen, err, elen, "/url",
                    "url: a string of at most 2048 bytes");
            }

            if (gw_svc_out_check_url(ntf.svc, s, err, elen) != 0) {
                snprintf(ptr, plen, "/url");
                return 422;
            }

        } else if (strcmp(k, "event_types") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0
                || json_array_size(v) > NTF_SUB_TYPES_MAX)
            {
                return ntf_subs_bad(ptr, plen, err, elen, "/event_types",
                    "event_types: an array of 1 to 32 patterns");
            }

            json_array_foreach(v, i, t) {
                s = json_string_value(t);

                if (s == NULL || !ntf_subs_pattern_ok(s)) {
                    snprintf(ptr, plen, "/event_types/%u", (unsigned) i);
                    snprintf(err, elen, "an event type pattern: \"*\", "
                             "\"name\" or \"prefix.*\" of [a-z0-9._-]");
                    return 422;
                }
            }

        } else if (strcmp(k, "description") == 0) {
            s = json_string_value(v);

            if (s == NULL || strlen(s) > NTF_DESC_MAX) {
                return ntf_subs_bad(ptr, plen, err, elen, "/description",
                    "description: a string of at most 1024 bytes");
            }

        } else if (strcmp(k, "owner_email") == 0) {
            s = json_string_value(v);

            if (s == NULL || strlen(s) > NTF_EMAIL_MAX
                || strchr(s, '@') == NULL || s[0] == '@'
                || strcspn(s, " \t\r\n\"<>(),;:\\[]") != strlen(s))
            {
                return ntf_subs_bad(ptr, plen, err, elen, "/owner_email",
                    "owner_email: an address like name@example.com");
            }

        } else if (create && strcmp(k, "ed25519") == 0) {
            if (!json_is_boolean(v)) {
                return ntf_subs_bad(ptr, plen, err, elen, "/ed25519",
                    "ed25519: a boolean");
            }

        } else if (create && strcmp(k, "owner") == 0) {
            s = json_string_value(v);

            if (!admin) {
                return ntf_subs_bad(ptr, plen, err, elen, "/owner",
                    "owner: only with the notify:admin scope");
            }

            if (s == NULL || s[0] == '\0' || strlen(s) > NTF_OWNER_MAX) {
                return ntf_subs_bad(ptr, plen, err, elen, "/owner",
                    "owner: a consumer id");
            }

        } else if (!create && strcmp(k, "status") == 0) {
            s = json_string_value(v);

            if (s == NULL
                || (strcmp(s, "enabled") != 0 && strcmp(s, "disabled") != 0))
            {
                return ntf_subs_bad(ptr, plen, err, elen, "/status",
                    "status: \"enabled\" or \"disabled\"");
            }

        } else {
            snprintf(ptr, plen, "%s", "");
            snprintf(err, elen, "unknown member \"%.64s\"", k);
            return 422;
        }
    }

    if (create && (json_object_get(body, "url") == NULL
                   || json_object_get(body, "event_types") == NULL))
    {
        return ntf_subs_bad(ptr, plen, err, elen,
                            json_object_get(body, "url") == NULL
                            ? "/url" : "/event_types",
                            "url and event_types are required");
    }

    return 0;
}

static int
ntf_subs_bad(char *ptr, size_t plen, char *err, size_t elen,
    const char *pointer, const char *detail)
{
    snprintf(ptr, plen, "%s", pointer);
    snprintf(err, elen, "%s", detail);

    return 422;
}


/*
 * A subscription hash (HGETALL) as the API shows it; NULL when empty.
 * The Ed25519 public keys: "public_key" (the current one) and
 * "public_keys", the current one then the previous one while it still
 * signs (its "valid_until" in the future), each with its "key_id".
 */
json_t *
ntf_subs_show(redisReply *reply)
{
    size_t       i;
    json_t      *out, *v, *keys;
    long long    old_until;
    const char  *k, *s, *pk, *old_pk;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        return NULL;
    }

    out = json_object();
    if (out == NULL) {
        return NULL;
    }

    pk = NULL;
    old_pk = NULL;
    old_until = 0;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        if (reply->element[i]->type != REDIS_REPLY_STRING
            || reply->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        k = reply->element[i]->str;
        s = reply->element[i + 1]->str;

        if (strcmp(k, "event_types") == 0) {
            v = json_loads(s, 0, NULL);

        } else if (strcmp(k, "created") == 0 || strcmp(k, "updated") == 0
                   || strcmp(k, "failing_since") == 0
                   || strcmp(k, "secret_old_until") == 0)
        {
            v = ntf_subs_time(atoll(s));

        } else if (strcmp(k, "secret") == 0 || strcmp(k, "secret_old") == 0
                   || strcmp(k, "ed25519_key") == 0
                   || strcmp(k, "ed25519_key_old") == 0)
        {
            continue;

        } else if (strcmp(k, "public_key_old") == 0) {
            old_pk = s;
            continue;

        } else if (strcmp(k, "ed25519_old_until") == 0) {
            old_until = atoll(s);
            continue;

        } else {
            if (strcmp(k, "public_key") == 0) {
                pk = s;
            }

            v = json_string(s);
        }

        if (v != NULL) {
            json_object_set_new(out, strcmp(k, "secret_old_until") == 0
                                     ? "previous_secret_valid_until" : k,
                                v);
        }
    }

    if (json_object_get(out, "failing_since") == NULL) {
        json_object_set_new(out, "failing_since", json_null());
    }

    if (pk == NULL) {
        return out;
    }

    keys = json_array();
    if (keys == NULL) {
        json_decref(out);
        return NULL;
    }

    json_array_append_new(keys, json_pack("{s:s,s:o,s:n}", "public_key", pk,
                                          "key_id", ntf_subs_key_id(pk),
                                          "valid_until"));

    if (old_pk != NULL && old_until > ntf_subs_now()) {
        json_array_append_new(keys, json_pack("{s:s,s:o,s:o}", "public_key",
                                              old_pk, "key_id",
                                              ntf_subs_key_id(old_pk),
                                              "valid_until",
                                              ntf_subs_time(old_until)));
    }

    json_object_set_new(out, "public_keys", keys);

    return out;
}


/* "k_" + the first 16 hex digits of SHA-256 of the whpk_ text */
json_t *
ntf_subs_key_id(const char *pk)
{
    int             i;
    char            id[2 + 16 + 1];
    unsigned char   md[SHA256_DIGEST_LENGTH];

    static const char  hex[] = "0123456789abcdef";

    SHA256((const unsigned char *) pk, strlen(pk), md);

    id[0] = 'k';
    id[1] = '_';

    for (i = 0; i < 8; i++) {
        id[2 + 2 * i] = hex[md[i] >> 4];
        id[3 + 2 * i] = hex[md[i] & 0xf];
    }

    id[18] = '\0';

    return json_string(id);
}


/* ms since the epoch as RFC 3339 with milliseconds, UTC */
json_t *
ntf_subs_time(long long ms)
{
    char       buf[64];
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);

    if (gmtime_r(&t, &tm) == NULL) {
        return json_null();
    }

    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));

    return json_string(buf);
}


/* "sub_" + Crockford base32 of 48-bit ms time and 80 random bits */
void
ntf_subs_id(char *out, size_t size)
{
    int             i, bit, v, k;
    long long       ms;
    unsigned char   b[16];

    static const char  digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    ms = ntf_subs_now();

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (8 * (5 - i)));
    }

    if (RAND_bytes(b + 6, 10) != 1) {
        for (i = 6; i < 16; i++) {
            b[i] = (unsigned char) random();
        }
    }

    memcpy(out, "sub_", 4);

    /* 26 digits of 5 bits over 130 bits: two leading zero bits */
    for (i = 0; i < 26 && 4 + i + 1 < (int) size; i++) {
        v = 0;

        for (k = 0; k < 5; k++) {
            bit = i * 5 + k - 2;
            v <<= 1;

            if (bit >= 0) {
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }

        out[4 + i] = digits[v];
    }

    out[4 + i] = '\0';
}
