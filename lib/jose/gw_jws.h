
/*
 * Copyright (C) Tollgate
 *
 * JWS compact serialisation (RFC 7515): strict parsing and signature
 * verification with OpenSSL EVP.  Parsing accepts exactly three non-empty
 * base64url segments, a header and a payload that are JSON objects without
 * duplicate member names, an "alg" that names an algorithm we implement
 * (exact case; "none" never), a string "kid" of at most GW_KID_MAX bytes,
 * no "crit" (we implement no extension), and no "b64" other than true.
 * A "typ" is kept for the caller to compare (gw_jws_typ_is()), never
 * judged here: it is whatever media type the issuer wrote.
 * Embedded "jwk", "jku", "x5u" and "x5c" headers are never trusted: keys
 * come only from configuration.
 */


#ifndef _GW_JWS_H_INCLUDED_
#define _GW_JWS_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>
#include "gw_jwa.h"
#include "gw_jwk.h"
#include "gw_jwt.h"


#define GW_JWS_MAX_LEN  8192            /* default token size cap, bytes */
#define GW_TYP_MAX      64              /* typ bytes kept, see typ_other */


typedef struct {
    gw_alg_e              alg;
    const char           *kid;          /* kid_buf; NULL: no kid */
    size_t                kid_len;
    const unsigned char  *signing_input;    /* "header.payload" in token */
    size_t                signing_input_len;
    unsigned char        *sig;          /* decoded signature */
    size_t                sig_len;
    json_t               *header;       /* NULL for a plain header */
    json_t               *payload;      /* NULL for a plain payload until
                                           gw_jws_payload() */
    const char           *payload_text; /* plain: the decoded JSON, in
                                           the sig buffer */
    size_t                payload_len;
    unsigned              plain;        /* claims holds the payload's
                                           noted members */
    gw_jwt_plain_t        claims;
    char                  kid_buf[GW_KID_MAX];  /* a copy of jws->kid
                                           points here */
    const char           *typ;          /* typ_buf; NULL: none kept */
    size_t                typ_len;
    unsigned              typ_other;    /* a typ that is no string, or one
                                           longer than GW_TYP_MAX: it
                                           equals nothing */
    char                  typ_buf[GW_TYP_MAX];
} gw_jws_t;


/*
 * Parses token (len bytes, at most max_len) into jws.  Returns 0, or -1
 * with *err set to a static, client-safe reason; jws needs gw_jws_free()
 * either way.  signing_input points into token, which must outlive jws.
 */
int gw_jws_parse(gw_jws_t *jws, const unsigned char *token, size_t len,
    size_t max_len, const char **err);

/*
 * gw_jws_parse() with options: GW_JWS_ALG_ED25519 takes the alg
 * "Ed25519" (RFC 9864, the fully-specified name of EdDSA on Ed25519, which
 * is the only EdDSA implemented) as EdDSA.  For the identity service's
 * client assertions, which openid-client signs with that name; the
 * gateway keeps the exact names.
 */
#define GW_JWS_ALG_ED25519  0x01

int gw_jws_parse_opt(gw_jws_t *jws, const unsigned char *token, size_t len,
    size_t max_len, unsigned opts, const char **err);

/*
 * Verifies the signature of a parsed jws with key.  The algorithm must be
 * in key->algs; ECDSA signatures must be the exact R || S length of the
 * curve (RFC 7518 section 3.4); PSS uses a salt of the digest's length.
 * Returns 0 when the signature is valid, -1 with *err otherwise.
 */
int gw_jws_verify(const gw_jws_t *jws, const gw_jwk_t *key,
    const char **err);

/*
 * Verifies sig (sig_len bytes, as decoded from a JWS) over the signing
 * input in (in_len bytes) with pkey (EVP_PKEY *) for the asymmetric alg,
 * with the exact rules of gw_jws_verify(); the caller checks that alg is
 * in the key's mask.  HMAC algorithms, and a key of a type that does not
 * fit alg, are refused.  Thread-safe: it writes nothing shared (no key's
 * vctx, no digest cache), so worker threads may call it at once with
 * keys they hold a reference to.  0 when valid, -1 with *err.
 */
int gw_jws_verify_raw(gw_alg_e alg, void *pkey, const unsigned char *in,
    size_t in_len, const unsigned char *sig, size_t sig_len,
    const char **err);

/*
 * The payload's jansson tree.  A plain payload (jws->plain: the scanner
 * took it, and jws->claims holds what the claim checks read) is parsed
 * only here, on first use; returns NULL only when that runs out of memory.
 */
json_t *gw_jws_payload(gw_jws_t *jws);

void gw_jws_free(gw_jws_t *jws);

/*
 * The fast way through a header of the usual shape (exposed for the fuzz
 * driver, which compares it with jansson): an object of one "alg" that
 * names an algorithm we implement and at most one "typ" and one "kid",
 * string values of plain ASCII (letters, digits and "-_.:+/=@ "), JSON
 * white space (space, tab, CR, LF) between tokens, nothing else.
 * Returns 1 and sets jws->alg, jws->kid and jws->kid_len, jws->typ and
 * jws->typ_len (pointing into h; NULL: none) when h is such a header, 0
 * when it is not: then jansson must judge it.  Whatever it takes, jansson
 * takes too, with the same members.
 */
int gw_jws_header_plain(gw_jws_t *jws, const unsigned char *h, size_t len);

/*
 * Whether the parsed token's "typ" names the media type want (len bytes),
 * as RFC 7515 section 4.1.9 compares them: ASCII case-insensitively, and
 * with an "application/" prefix optional on either side, so "at+jwt",
 * "AT+JWT" and "application/at+jwt" are one type (RFC 9068 section 2.1,
 * RFC 8725 section 3.11).  A missing typ, or one that is not a string,
 * names nothing; no parameters (";") are allowed.  Returns 1 or 0.
 */
int gw_jws_typ_is(const gw_jws_t *jws, const char *want, size_t len);


#endif /* _GW_JWS_H_INCLUDED_ */
