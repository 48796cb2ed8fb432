
/*
 * Copyright (C) Tollgate
 *
 * The signing keys' records in Redis (docs/identity.md, "Keys"): one
 * field of the hash gw:identity:keys per key, its kid, holding a JSON
 * object with the public JWK, the schedule and the private key, PKCS #8
 * DER encrypted with AES-256-GCM under the key-encryption key (KEK) read
 * from kek_file.  The IV is random for each encryption and the kid is the
 * additional data, so a record's private half cannot be moved under
 * another kid.  The KEK never leaves the process; a record names it only
 * by an id derived from it by a one-way hash, so that a service started
 * with another KEK says so instead of "decryption failed".
 *
 * Every change of the set goes through one of two Lua scripts, each
 * atomic in Redis: "add" appends a key unless one is already pending
 * (published, not yet active) or, for the automatic schedule, unless the
 * rotation is not due; "drop" removes the keys past their drop time.
 * Both publish "keys" on gw:events when they changed the set.  So two
 * instances (or `identity rotate`) racing never add two keys.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw_b64url.h"
#include "identity_keys_int.h"


identity_keys_conf_t  identity_keys_conf;


/*
 * KEYS[1] gw:identity:keys, KEYS[2] gw:events; ARGV: now, kid, the record
 * without times, lead, interval (0: `identity rotate`, no due check),
 * hold.  Returns {1, kid} when added, {0, kid of the key in the way}.
 */
const char  identity_keys_add_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local lead = tonumber(ARGV[4])\n"
    "local interval = tonumber(ARGV[5])\n"
    "local hold = tonumber(ARGV[6])\n"
    "local latest, latest_kid\n"
    "local recs = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #recs, 2 do\n"
    "  local ok, r = pcall(cjson.decode, recs[i + 1])\n"
    "  if ok and type(r) == 'table' and tonumber(r.activate) then\n"
    "    if tonumber(r.activate) > now then return {0, recs[i]} end\n"
    "    if latest == nil\n"
    "       or tonumber(r.activate) > tonumber(latest.activate) then\n"
    "      latest = r\n"
    "      latest_kid = recs[i]\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if latest ~= nil and interval > 0\n"
    "   and now < tonumber(latest.activate) + interval - lead then\n"
    "  return {0, latest_kid}\n"
    "end\n"
    "local rec = cjson.decode(ARGV[3])\n"
    "rec.created = now\n"
    "rec.publish = now\n"
    "rec.activate = now\n"
    "if latest ~= nil then rec.activate = now + lead end\n"
    "rec.retire = 0\n"
    "rec.drop = 0\n"
    "if latest ~= nil then\n"
    "  latest.retire = rec.activate\n"
    "  latest.drop = rec.activate + hold\n"
    "  redis.call('HSET', KEYS[1], latest_kid, cjson.encode(latest))\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(rec))\n"
    "redis.call('PUBLISH', KEYS[2], 'keys')\n"
    "return {1, ARGV[2]}\n";


/* KEYS as above; ARGV: now.  Returns the number of keys dropped. */
const char  identity_keys_drop_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local n = 0\n"
    "local recs = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #recs, 2 do\n"
    "  local ok, r = pcall(cjson.decode, recs[i + 1])\n"
    "  if ok and type(r) == 'table' and tonumber(r.drop)\n"
    "     and tonumber(r.drop) > 0 and tonumber(r.drop) <= now then\n"
    "    redis.call('HDEL', KEYS[1], recs[i])\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "if n > 0 then redis.call('PUBLISH', KEYS[2], 'keys') end\n"
    "return n\n";


static int identity_keys_kek_read(const char *path, char *err,
    size_t errlen);
static int identity_keys_time(json_t *rec, const char *name, time_t *t);
static int identity_keys_decrypt(identity_key_t *key, json_t *rec,
    const char **err);


int
identity_keys_conf_read(gw_svc_t *svc, time_t token_ttl, time_t leeway,
    char *err, size_t errlen)
{
    const char            *alg;
    identity_keys_conf_t  *kc;

    kc = &identity_keys_conf;

    alg = gw_svc_conf_str(svc, "signing_alg");
    kc->alg = gw_alg_from_name(alg, strlen(alg));

    if (kc->alg != GW_ALG_ES256 && kc->alg != GW_ALG_EDDSA
        && kc->alg != GW_ALG_RS256)
    {
        snprintf(err, errlen, "signing_alg: ES256, EdDSA or RS256");
        return -1;
    }

    kc->interval = gw_svc_conf_int(svc, "rotation_interval");
    kc->max_age = gw_svc_conf_int(svc, "jwks_max_age");
    kc->poll = gw_svc_conf_int(svc, "keys_poll");

    /*
     * A key created now is in our JWKS now, in every other instance's
     * within keys_poll; a cache that fetched any instance's JWKS just
     * before that keeps it jwks_max_age.  The second more covers whole
     * seconds.
     */

    kc->lead = kc->max_age + (time_t) ((kc->poll + 999) / 1000) + 1;
    kc->hold = token_ttl + leeway;

    return identity_keys_kek_read(gw_svc_conf_str(svc, "kek_file"), err,
                                  errlen);
}


/*
 * The KEK: exactly 32 bytes (a file of any other size is refused rather
 * than hashed or padded, so a text file with a newline, or a truncated
 * copy, is caught at start).  Its id: the first 8 bytes of
 * SHA-256("tollgate-identity-kek" || KEK), base64url.
 */

static int
identity_keys_kek_read(const char *path, char *err, size_t errlen)
{
    int             rc;
    FILE           *f;
    size_t          n;
    EVP_MD_CTX     *md;
    unsigned char   buf[IDENTITY_KEK_LEN + 1], h[EVP_MAX_MD_SIZE];

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "kek_file: cannot open \"%s\"", path);
        return -1;
    }

    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    if (n != IDENTITY_KEK_LEN) {
        OPENSSL_cleanse(buf, sizeof(buf));
        snprintf(err, errlen, "kek_file: \"%s\" must hold exactly %d bytes",
                 path, IDENTITY_KEK_LEN);
        return -1;
    }

    memcpy(identity_keys_conf.kek, buf, IDENTITY_KEK_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));

    md = EVP_MD_CTX_new();

    rc = (md != NULL
          && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
          && EVP_DigestUpdate(md, "tollgate-identity-kek", 21) == 1
          && EVP_DigestUpdate(md, identity_keys_conf.kek, IDENTITY_KEK_LEN)
             == 1
          && EVP_DigestFinal_ex(md, h, NULL) == 1)
         ? 0 : -1;

    EVP_MD_CTX_free(md);

    if (rc != 0) {
        snprintf(err, errlen, "kek_file: cannot hash");
        return -1;
    }

    n = gw_b64url_encode((unsigned char *) identity_keys_conf.kek_id, h, 8);
    identity_keys_conf.kek_id[n] = '\0';

    return 0;
}


char *
identity_keys_record_new(char *kid, size_t kid_size, char *err,
    size_t errlen)
{
    int                 ok, n;
    char               *text, iv_text[32], *ct_text;
    json_t             *rec, *jwk;
    size_t              der_len, ct_len;
    unsigned char      *der, *ct, iv[IDENTITY_GCM_IV_LEN];
    EVP_CIPHER_CTX     *c;
    gw_jws_signer_t    *s;

    text = NULL;
    der = NULL;
    ct = NULL;
    ct_text = NULL;
    c = NULL;

    s = gw_jws_signer_generate(identity_keys_conf.alg, err, errlen);
    if (s == NULL) {
        return NULL;
    }

    snprintf(kid, kid_size, "%s", gw_jws_signer_kid(s));

    if (gw_jws_signer_der(s, &der, &der_len) != 0
        || RAND_bytes(iv, sizeof(iv)) != 1)
    {
        snprintf(err, errlen, "cannot export the private key");
        goto done;
    }

    ct = malloc(der_len + IDENTITY_GCM_TAG_LEN);
    ct_text = malloc(gw_b64url_encoded_len(der_len + IDENTITY_GCM_TAG_LEN)
                     + 1);
    c = EVP_CIPHER_CTX_new();

    if (ct == NULL || ct_text == NULL || c == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    /* AES-256-GCM, the kid as additional data */

    ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, sizeof(iv), NULL)
            == 1
         && EVP_EncryptInit_ex(c, NULL, NULL, identity_keys_conf.kek, iv)
            == 1
         && EVP_EncryptUpdate(c, NULL, &n, (unsigned char *) kid,
                              strlen(kid))
            == 1
         && EVP_EncryptUpdate(c, ct, &n, der, der_len) == 1
         && (size_t) n == der_len
         && EVP_EncryptFinal_ex(c, ct + n, &n) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
                                IDENTITY_GCM_TAG_LEN, ct + der_len)
            == 1;

    if (!ok) {
        snprintf(err, errlen, "cannot encrypt the private key");
        goto done;
    }

    ct_len = gw_b64url_encode((unsigned char *) ct_text, ct,
                              der_len + IDENTITY_GCM_TAG_LEN);
    ct_text[ct_len] = '\0';
    n = gw_b64url_encode((unsigned char *) iv_text, iv, sizeof(iv));
    iv_text[n] = '\0';

    jwk = gw_jws_signer_jwk(s);

    rec = (jwk == NULL) ? NULL
          : json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s}",
                      "kid", kid,
                      "alg", gw_alg_name(identity_keys_conf.alg),
                      "jwk", jwk,
                      "kek", identity_keys_conf.kek_id,
                      "enc", "A256GCM",
                      "iv", iv_text,
                      "private", ct_text);

    text = (rec != NULL) ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);

    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
    }

done:

    if (der != NULL) {
        OPENSSL_cleanse(der, der_len);
    }

    free(der);
    free(ct);
    free(ct_text);
    EVP_CIPHER_CTX_free(c);
    gw_jws_signer_free(s);

    return text;
}


static int
identity_keys_time(json_t *rec, const char *name, time_t *t)
{
    json_t  *v;

    v = json_object_get(rec, name);

    if (!json_is_number(v) || json_number_value(v) < 0
        || json_number_value(v) > 1e12)
    {
        return -1;
    }

    *t = (time_t) json_number_value(v);

    return 0;
}


int
identity_keys_record_parse(identity_key_t *key, const char *kid,
    const char *text, size_t len, const char **err)
{
    json_t      *rec;
    const char  *s;

    memset(key, 0, sizeof(identity_key_t));

    if (len > IDENTITY_RECORD_MAX || strlen(kid) >= GW_KID_MAX) {
        *err = "record too long";
        return -1;
    }

    rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

    s = json_string_value(json_object_get(rec, "kid"));

    if (s == NULL || strcmp(s, kid) != 0) {
        json_decref(rec);
        *err = "malformed record or kid";
        return -1;
    }

    snprintf(key->kid, sizeof(key->kid), "%s", kid);

    s = json_string_value(json_object_get(rec, "alg"));
    key->alg = (s != NULL) ? gw_alg_from_name(s, strlen(s))
                           : GW_ALG_UNKNOWN;
    key->jwk = json_incref(json_object_get(rec, "jwk"));

    if ((key->alg != GW_ALG_ES256 && key->alg != GW_ALG_EDDSA
         && key->alg != GW_ALG_RS256)
        || !json_is_object(key->jwk)
        || identity_keys_time(rec, "created", &key->created) != 0
        || identity_keys_time(rec, "publish", &key->publish) != 0
        || identity_keys_time(rec, "activate", &key->activate) != 0
        || identity_keys_time(rec, "retire", &key->retire) != 0
        || identity_keys_time(rec, "drop", &key->drop) != 0)
    {
        json_decref(rec);
        identity_keys_key_free(key);
        *err = "malformed record";
        return -1;
    }

    key->text = strndup(text, len);
    if (key->text == NULL) {
        json_decref(rec);
        identity_keys_key_free(key);
        *err = "out of memory";
        return -1;
    }

    if (identity_keys_decrypt(key, rec, err) != 0) {
        json_decref(rec);
        return 1;
    }

    json_decref(rec);

    return 0;
}


/*
 * key->signer = the private half of rec, decrypted: it must have been
 * encrypted under our KEK for this kid, and its own thumbprint must be
 * the kid, so the private key is the one the JWK publishes.
 */

static int
identity_keys_decrypt(identity_key_t *key, json_t *rec, const char **err)
{
    int                 ok, n, m;
    char                e[128];
    size_t              ct_len, iv_len;
    ssize_t             dn;
    const char         *kek, *iv_text, *ct_text, *enc;
    unsigned char      *ct, *der, iv[IDENTITY_GCM_IV_LEN + 4];
    EVP_CIPHER_CTX     *c;

    kek = json_string_value(json_object_get(rec, "kek"));
    enc = json_string_value(json_object_get(rec, "enc"));
    iv_text = json_string_value(json_object_get(rec, "iv"));
    ct_text = json_string_value(json_object_get(rec, "private"));

    if (kek == NULL || enc == NULL || iv_text == NULL || ct_text == NULL
        || strcmp(enc, "A256GCM") != 0)
    {
        *err = "malformed private half";
        return -1;
    }

    if (strcmp(kek, identity_keys_conf.kek_id) != 0) {
        *err = "encrypted under another key-encryption key";
        return -1;
    }

    iv_len = strlen(iv_text);
    ct_len = strlen(ct_text);

    if (iv_len != gw_b64url_encoded_len(IDENTITY_GCM_IV_LEN)
        || gw_b64url_decode(iv, (unsigned char *) iv_text, iv_len)
           != IDENTITY_GCM_IV_LEN)
    {
        *err = "malformed private half";
        return -1;
    }

    ct = malloc(gw_b64url_decoded_len(ct_len) + 1);
    der = malloc(gw_b64url_decoded_len(ct_len) + 1);
    c = EVP_CIPHER_CTX_new();

    ok = 0;
    dn = -1;
    n = 0;

    if (ct != NULL && der != NULL && c != NULL) {
        dn = gw_b64url_decode(ct, (unsigned char *) ct_text, ct_len);
    }

    if (dn > IDENTITY_GCM_TAG_LEN) {
        dn -= IDENTITY_GCM_TAG_LEN;

        ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
             && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN,
                                    IDENTITY_GCM_IV_LEN, NULL)
                == 1
             && EVP_DecryptInit_ex(c, NULL, NULL, identity_keys_conf.kek,
                                   iv)
                == 1
             && EVP_DecryptUpdate(c, NULL, &n, (unsigned char *) key->kid,
                                  strlen(key->kid))
                == 1
             && EVP_DecryptUpdate(c, der, &n, ct, dn) == 1
             && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
                                    IDENTITY_GCM_TAG_LEN, ct + dn)
                == 1
             && EVP_DecryptFinal_ex(c, der + n, &m) == 1;
    }

    if (ok) {
        key->signer = gw_jws_signer_from_der(key->alg, der, n, e, sizeof(e));

        if (key->signer != NULL
            && strcmp(gw_jws_signer_kid(key->signer), key->kid) != 0)
        {
            gw_jws_signer_free(key->signer);
            key->signer = NULL;
        }

        *err = "the private key does not match the kid";

    } else {
        *err = "the private half does not decrypt under the "
               "key-encryption key";
    }

    if (der != NULL) {
        OPENSSL_cleanse(der, gw_b64url_decoded_len(ct_len) + 1);
    }

    free(ct);
    free(der);
    EVP_CIPHER_CTX_free(c);

    return key->signer != NULL ? 0 : -1;
}


void
identity_keys_key_free(identity_key_t *key)
{
    json_decref(key->jwk);
    gw_jws_signer_free(key->signer);
    free(key->text);
    memset(key, 0, sizeof(identity_key_t));
}
