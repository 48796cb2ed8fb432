
/*
 * Copyright (C) Tollgate
 *
 * JWS compact parsing, on the per-request path (the signature is checked
 * by gw_jws_verify.c).  A parse
 * makes one allocation of its own: a buffer that takes the decoded
 * signature at its start and, behind it, each JSON segment in turn while
 * it is parsed; the signature stays, the scratch is reused.  A header of
 * the usual shape ({"alg":"RS256","typ":"JWT","kid":"k1"}: known names,
 * plain ASCII strings, JSON white space between tokens) is read by a
 * small matcher whose every accepted text jansson accepts alike; any
 * other header is a
 * jansson tree, parsed exactly once.  A payload of the usual shape is
 * scanned in one pass by gw_jwt_plain_scan() (the same promise: what it
 * takes, jansson takes alike), which notes the claims the policy checks
 * read; its text stays in the buffer behind the signature, and its
 * jansson tree is built only when something asks for it (claim rules,
 * variables, claim headers, the worker's memo).  Any other payload is a
 * jansson tree at once.  The kid is copied into the jws, so it outlives
 * the header.  The signing
 * input is not copied: it points into the caller's token, which must
 * outlive the parsed jws.  The caps are the caller's max_len and jansson's
 * own nesting limit of 2048 levels.
 *
 * The checks follow RFC 7515 and RFC 8725 (JWT best practices): the header
 * is judged before the payload is even decoded; "alg" must match one of our
 * names exactly, so "none" in any spelling is refused; "crit" is refused
 * because we implement no extension; "b64": false (RFC 7797) would change
 * what is signed and is refused.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_b64url.h"
#include "gw_jws.h"


static int gw_jws_parse_header(gw_jws_t *jws, unsigned opts,
    const char **err);
static int gw_jws_check_kid(gw_jws_t *jws, const char **err);
static void gw_jws_keep_typ(gw_jws_t *jws);


int
gw_jws_parse(gw_jws_t *jws, const unsigned char *token, size_t len,
    size_t max_len, const char **err)
{
    return gw_jws_parse_opt(jws, token, len, max_len, 0, err);
}


int
gw_jws_parse_opt(gw_jws_t *jws, const unsigned char *token, size_t len,
    size_t max_len, unsigned opts, const char **err)
{
    int                   rc;
    size_t                h_len, p_len, s_len, json_max;
    ssize_t               n;
    unsigned char        *scratch;
    const unsigned char  *dot1, *dot2, *end;

    memset(jws, 0, sizeof(gw_jws_t));

    if (len == 0) {
        *err = "empty token";
        return -1;
    }

    if (len > max_len) {
        *err = "token too long";
        return -1;
    }

    end = token + len;

    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', end - dot1 - 1) : NULL;

    if (dot2 == NULL || memchr(dot2 + 1, '.', end - dot2 - 1) != NULL) {
        *err = "token is not three dot-separated segments";
        return -1;
    }

    h_len = dot1 - token;
    p_len = dot2 - dot1 - 1;
    s_len = end - dot2 - 1;

    if (h_len == 0 || p_len == 0 || s_len == 0) {
        *err = "token has an empty segment";
        return -1;
    }

    json_max = gw_b64url_decoded_len(h_len > p_len ? h_len : p_len);

    jws->sig = malloc(gw_b64url_decoded_len(s_len) + json_max);
    if (jws->sig == NULL) {
        *err = "out of memory";
        return -1;
    }

    scratch = jws->sig + gw_b64url_decoded_len(s_len);

    /* the header first: a bad one spares decoding the payload */

    n = gw_b64url_decode(scratch, token, h_len);
    if (n <= 0) {
        *err = "JOSE header is not base64url";
        return -1;
    }

    if (gw_jws_header_plain(jws, scratch, n)) {
        gw_jws_keep_typ(jws);
        rc = gw_jws_check_kid(jws, err);

    } else {
        jws->header = json_loadb((const char *) scratch, n,
                                 JSON_REJECT_DUPLICATES, NULL);

        if (!json_is_object(jws->header)) {
            *err = "JOSE header is not a JSON object";
            return -1;
        }

        rc = gw_jws_parse_header(jws, opts, err);
    }

    if (rc != 0) {
        return -1;
    }

    n = gw_b64url_decode(scratch, dot1 + 1, p_len);
    if (n <= 0) {
        *err = "payload is not base64url";
        return -1;
    }

    if (gw_jwt_plain_scan(&jws->claims, (const char *) scratch, n)) {
        jws->plain = 1;
        jws->payload_text = (const char *) scratch;
        jws->payload_len = n;

    } else {
        jws->payload = json_loadb((const char *) scratch, n,
                                  JSON_REJECT_DUPLICATES, NULL);

        if (!json_is_object(jws->payload)) {
            *err = "payload is not a JSON object";
            return -1;
        }
    }

    n = gw_b64url_decode(jws->sig, dot2 + 1, s_len);
    if (n <= 0) {
        *err = "signature is not base64url";
        return -1;
    }

    jws->sig_len = n;
    jws->signing_input = token;
    jws->signing_input_len = dot2 - token;

    return 0;
}


/* "alg", "kid", "crit" and "b64" of a header known to be an object */

static int
gw_jws_parse_header(gw_jws_t *jws, unsigned opts, const char **err)
{
    size_t       len;
    json_t      *v;
    const char  *s;

    v = json_object_get(jws->header, "alg");
    if (!json_is_string(v)) {
        *err = "missing or non-string alg";
        return -1;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    jws->alg = gw_alg_from_name(s, len);

    if (jws->alg == GW_ALG_UNKNOWN && (opts & GW_JWS_ALG_ED25519)
        && len == 7 && memcmp(s, "Ed25519", 7) == 0)
    {
        /* RFC 9864: EdDSA on Ed25519, the only EdDSA we implement */
        jws->alg = GW_ALG_EDDSA;
    }

    if (jws->alg == GW_ALG_UNKNOWN) {
        *err = (len == 4 && strncasecmp(s, "none", 4) == 0)
               ? "alg none is not allowed" : "unsupported alg";
        return -1;
    }

    v = json_object_get(jws->header, "kid");
    if (v != NULL) {
        if (!json_is_string(v)) {
            *err = "kid is not a string";
            return -1;
        }

        jws->kid = json_string_value(v);
        jws->kid_len = json_string_length(v);
    }

    if (gw_jws_check_kid(jws, err) != 0) {
        return -1;
    }

    v = json_object_get(jws->header, "typ");
    if (v != NULL) {
        if (json_is_string(v)) {
            jws->typ = json_string_value(v);
            jws->typ_len = json_string_length(v);

        } else {
            jws->typ_other = 1;
        }
    }

    gw_jws_keep_typ(jws);

    if (json_object_get(jws->header, "crit") != NULL) {
        *err = "unsupported crit header";
        return -1;
    }

    v = json_object_get(jws->header, "b64");
    if (v != NULL && !json_is_true(v)) {
        *err = "unsupported b64 header";
        return -1;
    }

    return 0;
}


/* the kid's length, and a copy of it kept in the jws */

static int
gw_jws_check_kid(gw_jws_t *jws, const char **err)
{
    if (jws->kid == NULL) {
        return 0;
    }

    if (jws->kid_len > GW_KID_MAX) {
        jws->kid = NULL;
        *err = "kid too long";
        return -1;
    }

    memcpy(jws->kid_buf, jws->kid, jws->kid_len);
    jws->kid = jws->kid_buf;

    return 0;
}


/*
 * A copy of the typ kept in the jws, as the header's text or tree goes
 * away; one too long to keep is noted as typ_other, which equals nothing.
 */

static void
gw_jws_keep_typ(gw_jws_t *jws)
{
    if (jws->typ == NULL) {
        return;
    }

    if (jws->typ_len > GW_TYP_MAX) {
        jws->typ = NULL;
        jws->typ_len = 0;
        jws->typ_other = 1;
        return;
    }

    memcpy(jws->typ_buf, jws->typ, jws->typ_len);
    jws->typ = jws->typ_buf;
}


/* s without an "application/" prefix, as RFC 7515 section 4.1.9 allows */

static void
gw_jws_media_type(const char **s, size_t *len)
{
    size_t  n;

    n = sizeof("application/") - 1;

    if (*len > n && strncasecmp(*s, "application/", n) == 0) {
        *s += n;
        *len -= n;
    }
}


int
gw_jws_typ_is(const gw_jws_t *jws, const char *want, size_t len)
{
    size_t       typ_len;
    const char  *typ;

    if (jws->typ == NULL || jws->typ_other) {
        return 0;
    }

    typ = jws->typ;
    typ_len = jws->typ_len;

    gw_jws_media_type(&typ, &typ_len);
    gw_jws_media_type(&want, &len);

    if (typ_len != len || len == 0 || memchr(typ, '\0', typ_len) != NULL) {
        return 0;
    }

    return strncasecmp(typ, want, len) == 0;
}


/* the bytes a plain header's strings may hold */

static const unsigned char  gw_jws_plain[256] = {
    [' '] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,
    ['0' ... '9'] = 1, [':'] = 1, ['='] = 1, ['@'] = 1,
    ['A' ... 'Z'] = 1, ['_'] = 1, ['a' ... 'z'] = 1
};


#define gw_jws_plain_space(c)                                                \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')


static const unsigned char *
gw_jws_plain_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && gw_jws_plain_space(*p)) {
        p++;
    }

    return p;
}


int
gw_jws_header_plain(gw_jws_t *jws, const unsigned char *h, size_t len)
{
    size_t                n, kid_len, typ_len;
    unsigned              seen, bit;
    const unsigned char  *p, *end, *v, *alg, *kid, *typ;

    p = h;
    end = h + len;
    seen = 0;
    alg = NULL;
    kid = NULL;
    typ = NULL;
    n = 0;
    kid_len = 0;
    typ_len = 0;

    /* "{" and "}" around the members, white space outside them */

    p = gw_jws_plain_ws(p, end);

    while (end > p && gw_jws_plain_space(end[-1])) {
        end--;
    }

    if (end - p < 2 || *p++ != '{' || end[-1] != '}') {
        return 0;
    }

    end--;
    p = gw_jws_plain_ws(p, end);

    /* members of the form "xxx" : "value", comma-separated */

    while (p < end) {
        if (seen != 0) {
            if (*p++ != ',') {
                return 0;
            }

            p = gw_jws_plain_ws(p, end);
        }

        if (end - p < 5 || p[0] != '"' || p[4] != '"') {
            return 0;
        }

        if (memcmp(p + 1, "alg", 3) == 0) {
            bit = 1;

        } else if (memcmp(p + 1, "typ", 3) == 0) {
            bit = 2;

        } else if (memcmp(p + 1, "kid", 3) == 0) {
            bit = 4;

        } else {
            return 0;
        }

        if (seen & bit) {
            return 0;
        }

        seen |= bit;
        p = gw_jws_plain_ws(p + 5, end);

        if (p == end || *p++ != ':') {
            return 0;
        }

        p = gw_jws_plain_ws(p, end);

        if (p == end || *p++ != '"') {
            return 0;
        }

        v = p;

        while (p < end && gw_jws_plain[*p]) {
            p++;
        }

        if (p == end || *p != '"') {
            return 0;
        }

        if (bit == 1) {
            alg = v;
            n = p - v;

        } else if (bit == 2) {
            typ = v;
            typ_len = p - v;

        } else {
            kid = v;
            kid_len = p - v;
        }

        p = gw_jws_plain_ws(p + 1, end);
    }

    /* no alg, or one we lack: jansson's way tells which, as ever */

    if (alg == NULL) {
        return 0;
    }

    if (gw_alg_from_name((const char *) alg, n) == GW_ALG_UNKNOWN) {
        return 0;
    }

    jws->alg = gw_alg_from_name((const char *) alg, n);
    jws->kid = (const char *) kid;
    jws->kid_len = kid_len;
    jws->typ = (const char *) typ;
    jws->typ_len = typ_len;

    return 1;
}


json_t *
gw_jws_payload(gw_jws_t *jws)
{
    if (jws->payload == NULL && jws->plain) {
        jws->payload = json_loadb(jws->payload_text, jws->payload_len,
                                  JSON_REJECT_DUPLICATES, NULL);
    }

    return jws->payload;
}


void
gw_jws_free(gw_jws_t *jws)
{
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->sig);

    memset(jws, 0, sizeof(gw_jws_t));
}
