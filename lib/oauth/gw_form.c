
/*
 * Copyright (C) Tollgate
 *
 * The strict form parser (gw_form.h).  Pairs are split on "&" and "="
 * in the raw body, before any decoding, so an escaped "%26" or "%3D" is
 * data, never a separator; each name and value is then decoded into the
 * form's one buffer, which the raw length bounds (decoding never grows
 * text).  Repeats are found by comparing decoded names, so "scope" and
 * "sc%6Fpe" are the same parameter.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_form.h"


typedef struct {
    const char         *name;
    const char         *value;
} gw_form_param_t;


struct gw_form_s {
    char               *buf;            /* every name and value */
    size_t              n;
    gw_form_param_t     p[GW_FORM_PARAMS];
};


static int
gw_form_hex(int c)
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
gw_form_decode(char *dst, const char *s, size_t len)
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

        hi = gw_form_hex((unsigned char) s[i + 1]);
        lo = gw_form_hex((unsigned char) s[i + 2]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return -1;
        }

        dst[n++] = (char) (hi << 4 | lo);
        i += 2;
    }

    dst[n] = '\0';

    return n;
}


int
gw_form_media(const char *ct)
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


gw_form_t *
gw_form_parse(const char *ct, const char *body, size_t len, size_t max,
    const char **err)
{
    char        *d;
    size_t       i, k, nlen, vlen;
    ssize_t      n;
    gw_form_t   *form;
    const char  *p, *end, *amp, *eq;

    if (!gw_form_media(ct)) {
        *err = "the body must be application/x-www-form-urlencoded";
        return NULL;
    }

    if (len > max) {
        *err = "the form is too large";
        return NULL;
    }

    form = calloc(1, sizeof(gw_form_t));
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
            *err = "a parameter of the form has no name or no =";
            goto failed;
        }

        nlen = eq - p;
        vlen = amp - eq - 1;

        if (form->n == GW_FORM_PARAMS) {
            *err = "too many parameters in the form";
            goto failed;
        }

        n = gw_form_decode(d, p, nlen);
        if (n < 0) {
            *err = "bad percent-encoding in the form";
            goto failed;
        }

        form->p[form->n].name = d;
        d += n + 1;

        n = gw_form_decode(d, eq + 1, vlen);
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

    gw_form_free(form);

    return NULL;
}


void
gw_form_free(gw_form_t *form)
{
    if (form == NULL) {
        return;
    }

    free(form->buf);
    free(form);
}


const char *
gw_form_nth(gw_form_t *form, const char *name, size_t n)
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
gw_form_get(gw_form_t *form, const char *name)
{
    return gw_form_nth(form, name, 0);
}
