
/*
 * Copyright (C) Tollgate
 *
 * The forms of the token, introspection and revocation endpoints
 * (application/x-www-form-urlencoded, RFC 6749 appendix B), parsed
 * strictly: what another parser would repair is refused with
 * invalid_request.  A bad percent-escape, a NUL, an empty pair, a pair
 * without "=", a parameter twice (RFC 6749 section 3.2; "resource" only
 * may repeat, RFC 8707), more than IDENTITY_FORM_PARAMS pairs, a body
 * over form_max, another media type: each has its own reason.  The
 * reasons are static text; nothing a client sent is ever copied into
 * them, so no control byte of a form reaches a log or an answer.
 *
 * The body is decoded once into one buffer of the form: every name and
 * value points into it.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity.h"


#define IDENTITY_FORM_PARAMS  32


typedef struct {
    const char         *name;
    const char         *value;
} identity_param_t;


struct identity_form_s {
    char               *buf;
    size_t              n;
    identity_param_t    p[IDENTITY_FORM_PARAMS];
};


static int identity_form_media(const char *ct);


static int
identity_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


ssize_t
identity_form_decode(char *dst, const char *s, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {

        if (s[i] == '+') {
            dst[n++] = ' ';
            continue;
        }

        if (s[i] == '\0') {
            return -1;
        }

        if (s[i] != '%') {
            dst[n++] = s[i];
            continue;
        }

        if (len - i < 3) {
            return -1;
        }

        hi = identity_hex((unsigned char) s[i + 1]);
        lo = identity_hex((unsigned char) s[i + 2]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return -1;
        }

        dst[n++] = (char) (hi << 4 | lo);
        i += 2;
    }

    dst[n] = '\0';

    return n;
}


/*
 * 1 when ct is application/x-www-form-urlencoded (any case) with, at
 * most, one charset parameter (RFC 9110 section 8.3.1: optional white
 * space around ";" and the value a token or a quoted string).
 */

static int
identity_form_media(const char *ct)
{
    size_t       n;
    const char  *p;

    static const char  type[] = "application/x-www-form-urlencoded";

    if (ct == NULL || strncasecmp(ct, type, sizeof(type) - 1) != 0) {
        return 0;
    }

    p = ct + sizeof(type) - 1;
    p += strspn(p, " \t");

    if (*p == '\0') {
        return 1;
    }

    if (*p++ != ';') {
        return 0;
    }

    p += strspn(p, " \t");

    if (strncasecmp(p, "charset=", 8) != 0) {
        return 0;
    }

    p += 8;

    if (*p == '"') {
        n = strcspn(p + 1, "\"\\");

        if (n == 0 || p[1 + n] != '"') {
            return 0;
        }

        p += n + 2;

    } else {
        n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:+");
        if (n == 0) {
            return 0;
        }

        p += n;
    }

    p += strspn(p, " \t");

    return *p == '\0';
}


identity_form_t *
identity_form_parse(gw_svc_req_t *req, size_t max, const char **err)
{
    char             *d;
    size_t            len, i, k, nlen, vlen;
    ssize_t           n;
    const char       *body, *p, *end, *amp, *eq;
    identity_form_t  *form;

    if (!identity_form_media(gw_svc_req_header(req, "Content-Type"))) {
        *err = "the body must be application/x-www-form-urlencoded";
        return NULL;
    }

    body = gw_svc_req_body(req, &len);

    if (len > max) {
        *err = "the form is too large";
        return NULL;
    }

    form = calloc(1, sizeof(identity_form_t));
    if (form == NULL) {
        *err = NULL;
        return NULL;
    }

    form->buf = malloc(len + 1);
    if (form->buf == NULL) {
        free(form);
        *err = NULL;
        return NULL;
    }

    d = form->buf;
    p = body;
    end = body + len;

    while (len > 0) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);

        if (amp == p) {
            *err = "an empty parameter in the form";
            goto failed;
        }

        if (eq == NULL || eq == p) {
            *err = "a parameter of the form has no name or no \"=\"";
            goto failed;
        }

        nlen = eq - p;
        vlen = amp - eq - 1;

        if (form->n == IDENTITY_FORM_PARAMS) {
            *err = "too many parameters in the form";
            goto failed;
        }

        n = identity_form_decode(d, p, nlen);
        if (n < 0) {
            *err = "bad percent-encoding in the form";
            goto failed;
        }

        form->p[form->n].name = d;
        d += n + 1;

        n = identity_form_decode(d, eq + 1, vlen);
        if (n < 0) {
            *err = "bad percent-encoding in the form";
            goto failed;
        }

        form->p[form->n].value = d;
        form->n++;
        d += n + 1;

        if (amp == end) {
            break;
        }

        p = amp + 1;

        if (p == end) {
            *err = "an empty parameter in the form";
            goto failed;
        }
    }

    for (i = 0; i < form->n; i++) {
        if (strcmp(form->p[i].name, "resource") == 0) {
            continue;
        }

        for (k = i + 1; k < form->n; k++) {
            if (strcmp(form->p[i].name, form->p[k].name) == 0) {
                *err = "a parameter is repeated";
                goto failed;
            }
        }
    }

    return form;

failed:

    identity_form_free(form);

    return NULL;
}


void
identity_form_free(identity_form_t *form)
{
    if (form == NULL) {
        return;
    }

    free(form->buf);
    free(form);
}


const char *
identity_form_nth(identity_form_t *form, const char *name, size_t n)
{
    size_t  i;

    /* RFC 6749 section 3.2: a parameter without a value is omitted */

    for (i = 0; i < form->n; i++) {
        if (form->p[i].value[0] != '\0'
            && strcmp(form->p[i].name, name) == 0 && n-- == 0)
        {
            return form->p[i].value;
        }
    }

    return NULL;
}


const char *
identity_form_get(identity_form_t *form, const char *name)
{
    return identity_form_nth(form, name, 0);
}
