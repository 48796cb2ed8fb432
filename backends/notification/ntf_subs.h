
/*
 * Copyright (C) Tollgate
 *
 * Webhook subscriptions: the API (ntf_subs.c, the collection;
 * ntf_subs_item.c, one subscription; ntf_subs_json.c, their JSON),
 * reading and matching them for deliveries (ntf_subs_store.c), their
 * secrets sealed (ntf_subs_seal.c), failure tracking and disabling
 * (ntf_subs_track.c).  ntf_subs_match() is declared in ntf.h.
 */


#ifndef _NTF_SUBS_H_INCLUDED_
#define _NTF_SUBS_H_INCLUDED_


#include "ntf.h"
#include "ntf_sign.h"


#define NTF_SUB_ID_MAX      40      /* "sub_" + 26 base32 + NUL, padded */
#define NTF_SUB_URL_MAX     2048
#define NTF_SUB_TYPES_MAX   32      /* event type patterns */
#define NTF_SUBS_MAX        1000    /* subscriptions per owner */
#define NTF_OWNER_MAX       255     /* bytes of an owner (consumer) id */


/* a subscription as a delivery needs it, its secrets decrypted */
typedef struct {
    char                    id[NTF_SUB_ID_MAX];
    char                    url[NTF_SUB_URL_MAX + 1];
    int                     enabled;
    char                    secret[NTF_SIGN_SECRET_MAX];
    char                    old_secret[NTF_SIGN_SECRET_MAX];   /* "" */
    char                    ed25519[NTF_SIGN_SECRET_MAX];      /* "" */
    char                    old_ed25519[NTF_SIGN_SECRET_MAX];  /* "" */
} ntf_sub_t;


/*
 * done gets the subscription (valid during the call only) and status 0,
 * or NULL and 404 (no such subscription) or 503 (Redis, or a secret that
 * does not decrypt: logged).  done runs once, never inside the call; -1
 * when Redis is down (done does not run).
 */
typedef void (*ntf_subs_get_pt)(const ntf_sub_t *sub, int status,
    void *data);

int ntf_subs_get(const char *sid, ntf_subs_get_pt done, void *data);

/*
 * Failure tracking, fire and forget: a failed attempt sets failing_since
 * when unset, and disables the subscription ("failing") once it has
 * failed for disable_after; a success clears it; ntf_subs_disable() does
 * it at once (why: "gone" for a 410).  Disabling logs, counts
 * gw_ntf_subscriptions_disabled_total{reason}, adds an event to
 * gw:ntf:events and, when the subscription has an owner_email and SMTP
 * is configured, asks for an email to the owner on gw:ntf:in.
 */
void ntf_subs_failed(const char *sid);
void ntf_subs_ok(const char *sid);
void ntf_subs_disable(const char *sid, const char *why);


/*
 * ntf_webhook.c: POST /v1/subscriptions/{sid}/test, once the caller is
 * known to own sid: one attempt at once, answered with its outcome.
 */
void ntf_webhook_test(gw_svc_req_t *req, const char *sid, json_t *body);


/*
 * ntf_subs_json.c: a POST's (create) or PATCH's members checked: 0, or
 * 422 with ptr (a JSON pointer) and err filled; "owner" only when admin.
 * A stored hash (HGETALL) as the API shows it (NULL when empty), times
 * in RFC 3339, new "sub_" ids.  The Ed25519 public keys are shown as
 * "public_keys": the current one, and the previous one while it signs.
 */
int ntf_subs_check(json_t *body, int create, int admin, char *ptr,
    size_t plen, char *err, size_t elen);
json_t *ntf_subs_show(redisReply *reply);
json_t *ntf_subs_time(long long ms);
void ntf_subs_id(char *out, size_t size);

/* a public key's id: "k_" + the first 16 hex digits of SHA-256 of pk */
json_t *ntf_subs_key_id(const char *pk);


/*
 * ntf_subs_seal.c: secret_key_file read (0, or -1 after a line on
 * stderr); secret sealed for sid into out, base64(nonce || ciphertext
 * || tag); sealed opened for sid into out (size bytes, cleansed when
 * it does not open).  0, or -1.
 */
int ntf_subs_seal_configure(gw_svc_t *svc);
int ntf_subs_seal(const char *sid, const char *secret, char *out,
    size_t size);
int ntf_subs_unseal(const char *sid, const char *sealed, char *out,
    size_t size);

/* ntf_subs_track.c: its metric registered; 0, or -1 */
int ntf_subs_track_configure(gw_svc_t *svc);

/* ntf_subs_store.c's part of the API */
int ntf_subs_pattern_ok(const char *pattern);
int ntf_subs_type_matches(json_t *patterns, const char *type);
long long ntf_subs_now(void);


/* ---- the API (ntf_subs.c, ntf_subs_item.c) ------------------------------ */

typedef enum {
    NTF_SUBS_GET = 0,
    NTF_SUBS_PATCH,
    NTF_SUBS_DELETE,
    NTF_SUBS_ROTATE,
    NTF_SUBS_ROTATE_KEY,        /* the Ed25519 key pair */
    NTF_SUBS_TEST
} ntf_subs_op_e;


/* one call, from the caller's identity to the reply */
typedef struct {
    gw_svc_req_t           *req;
    ntf_subs_op_e           op;
    int                     admin;
    char                    owner[NTF_OWNER_MAX + 1];
    char                    sid[NTF_SUB_ID_MAX];
    char                    secret[NTF_SIGN_SECRET_MAX];
    char                    pk[NTF_SIGN_SECRET_MAX];
    long long               until;
    json_t                 *sub;        /* what the reply shows */
} ntf_subs_ctx_t;


/*
 * ntf_subs.c: the caller's context (NULL after a 400 or 401 was sent);
 * ctx freed, its request returned for the reply; ctx freed and the
 * status (400, 404, 409, 422, else 503) sent; the request's JSON
 * object (NULL after a 400); a POST's (create) or PATCH's members
 * checked (-1 after the 422 was sent).
 */
ntf_subs_ctx_t *ntf_subs_caller(gw_svc_req_t *req);
gw_svc_req_t *ntf_subs_end(ntf_subs_ctx_t *ctx);
void ntf_subs_fail(ntf_subs_ctx_t *ctx, int status, const char *pointer,
    const char *detail);
json_t *ntf_subs_body(ntf_subs_ctx_t *ctx);
int ntf_subs_checked(ntf_subs_ctx_t *ctx, json_t *body, int create);

/* ntf_subs_item.c: the route /v1/subscriptions/{sid}[/rotate|/test] */
void ntf_subs_item(gw_svc_req_t *req, void *data);


#endif /* _NTF_SUBS_H_INCLUDED_ */
