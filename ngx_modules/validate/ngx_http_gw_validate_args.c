
/*
 * Copyright (C) Tollgate
 *
 * gw_validate_args and gw_validate_headers: the query arguments, or the
 * request headers, as one JSON object validated against a schema.
 *
 * Arguments and headers arrive as text; each value becomes the JSON type
 * its property's schema declares ("properties": {"limit": {"type":
 * "integer"}}): an integer, a number or a boolean when the text is one
 * (JSON's spelling: 10, -2.5e3, true, false), otherwise it stays a
 * string and the schema's "type" reports it; so does a number that a
 * double does not hold (docs/validate.md, Numbers), as jansson's values
 * could not decide it exactly.  Argument names and values
 * are URL-decoded ("+" is a space, as in HTML forms); header names are
 * lowercased.  A name given several times becomes an array of its values
 * when the schema declares an array (each item converted by the "items"
 * type); otherwise a repeated argument still becomes an array, which a
 * scalar "type" refuses, as the client's intent is ambiguous.  A header
 * the schema declares, not as an array, is refused when repeated: an
 * upstream may read the first copy or the last, so checking one, or
 * both joined, would forward a value nobody checked.  A repeated header
 * the schema does not name becomes one value joined by ", " as RFC 9110
 * combines field lines.  Text that is not UTF-8 is refused with an
 * error naming the member.
 */


#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_validate.h"


static ngx_http_gw_validate_prop_t *ngx_http_gw_validate_prop(
    ngx_http_gw_validate_schema_t *s, u_char *name, size_t len);
static json_t *ngx_http_gw_validate_value(u_char *text, size_t len,
    ngx_uint_t types);
static ngx_int_t ngx_http_gw_validate_set(json_t *obj, ngx_str_t *name,
    json_t *v, ngx_http_gw_validate_prop_t *prop, ngx_uint_t join);
static ngx_uint_t ngx_http_gw_validate_utf8(u_char *p, size_t len);
static u_char *ngx_http_gw_validate_decode(u_char *dst, u_char *src,
    u_char *end);


ngx_int_t
ngx_http_gw_validate_args(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf)
{
    u_char                       *p, *end, *amp, *eq, *buf, *dst;
    json_t                       *obj, *v;
    ngx_int_t                     rc;
    const gw_schema_value_t      *inst;
    ngx_str_t                     name, value;
    ngx_uint_t                    types;
    ngx_http_gw_validate_prop_t  *prop;

    obj = json_object();
    if (obj == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* one buffer for every decoded name and value, NUL-terminated each */

    buf = ngx_pnalloc(r->pool, 2 * r->args.len + 2);
    if (buf == NULL) {
        json_decref(obj);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = buf;
    p = r->args.data;
    end = p + r->args.len;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if (eq == p) {
            /* "&&" or "=x": no name */
            p = amp + 1;
            continue;
        }

        /* name and value, "+" to space, then percent-decoded */

        name.data = dst;
        dst = ngx_http_gw_validate_decode(dst, p, eq);
        name.len = dst - name.data;
        *dst++ = '\0';

        value.data = dst;
        dst = ngx_http_gw_validate_decode(dst, (eq < amp) ? eq + 1 : amp,
                                          amp);
        value.len = dst - value.data;
        *dst++ = '\0';

        p = amp + 1;

        if (!ngx_http_gw_validate_utf8(name.data, name.len)) {
            json_decref(obj);
            return ngx_http_gw_validate_fail(r, NGX_HTTP_GW_VALIDATE_ARGS,
                                             NULL, "an argument name is "
                                             "not valid UTF-8");
        }

        prop = ngx_http_gw_validate_prop(lcf->args, name.data, name.len);

        types = 0;
        if (prop != NULL) {
            types = (prop->types & NGX_HTTP_GW_VALIDATE_ARRAY)
                    ? prop->item_types : prop->types;
        }

        v = ngx_http_gw_validate_value(value.data, value.len, types);

        if (v == NULL) {
            /* jansson refuses text that is not UTF-8 */
            json_decref(obj);
            return ngx_http_gw_validate_fail(r, NGX_HTTP_GW_VALIDATE_ARGS,
                                             &name, "the value is not "
                                             "valid UTF-8");
        }

        if (ngx_http_gw_validate_set(obj, &name, v, prop, 0) != NGX_OK) {
            json_decref(obj);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    inst = ngx_http_gw_validate_convert(obj);
    json_decref(obj);

    if (inst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gw_validate_instance(r, lcf, lcf->args, inst,
                                       NGX_HTTP_GW_VALIDATE_ARGS);

    return rc;
}


ngx_int_t
ngx_http_gw_validate_headers(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf)
{
    json_t                       *obj, *v;
    ngx_int_t                     rc;
    const gw_schema_value_t      *inst;
    ngx_str_t                     name;
    ngx_uint_t                    i, types;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_gw_validate_prop_t  *prop;

    obj = json_object();
    if (obj == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        /* nginx lowercased the name already; it is ASCII (tokens) */

        name.data = h[i].lowcase_key;
        name.len = h[i].key.len;

        prop = ngx_http_gw_validate_prop(lcf->headers, name.data, name.len);

        types = 0;
        if (prop != NULL) {
            types = (prop->types & NGX_HTTP_GW_VALIDATE_ARRAY)
                    ? prop->item_types : prop->types;

            /*
             * A declared scalar given twice: the upstream may read either
             * copy, so no single value could be checked for it.
             */

            if (!(prop->types & NGX_HTTP_GW_VALIDATE_ARRAY)
                && json_object_getn(obj, (char *) name.data, name.len)
                   != NULL)
            {
                json_decref(obj);
                return ngx_http_gw_validate_fail(r,
                                                 NGX_HTTP_GW_VALIDATE_HEADERS,
                                                 &name, "the header is "
                                                 "given more than once");
            }
        }

        v = ngx_http_gw_validate_value(h[i].value.data, h[i].value.len,
                                       types);

        if (v == NULL) {
            /* jansson refuses text that is not UTF-8 */
            json_decref(obj);
            return ngx_http_gw_validate_fail(r, NGX_HTTP_GW_VALIDATE_HEADERS,
                                             &name, "the value is not "
                                             "valid UTF-8");
        }

        if (ngx_http_gw_validate_set(obj, &name, v, prop, 1) != NGX_OK) {
            json_decref(obj);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    inst = ngx_http_gw_validate_convert(obj);
    json_decref(obj);

    if (inst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gw_validate_instance(r, lcf, lcf->headers, inst,
                                       NGX_HTTP_GW_VALIDATE_HEADERS);

    return rc;
}


static ngx_http_gw_validate_prop_t *
ngx_http_gw_validate_prop(ngx_http_gw_validate_schema_t *s, u_char *name,
    size_t len)
{
    ngx_uint_t                    i;
    ngx_http_gw_validate_prop_t  *p;

    if (s->props == NULL) {
        return NULL;
    }

    p = s->props->elts;

    for (i = 0; i < s->props->nelts; i++) {
        if (p[i].name.len == len
            && ngx_memcmp(p[i].name.data, name, len) == 0)
        {
            return &p[i];
        }
    }

    return NULL;
}


/*
 * text (NUL-terminated or not) as the first of types it spells, else as
 * a string; NULL when it is not UTF-8 or memory runs out.
 */

static json_t *
ngx_http_gw_validate_value(u_char *text, size_t len, ngx_uint_t types)
{
    u_char     *p, *end;
    double      d;
    json_int_t  n;
    u_char      num[64];

    p = text;
    end = text + len;

    if ((types & (NGX_HTTP_GW_VALIDATE_INTEGER|NGX_HTTP_GW_VALIDATE_NUMBER))
        && len > 0 && len < sizeof(num))
    {
        /* JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

        if (*p == '-') {
            p++;
        }

        if (p < end && *p == '0') {
            p++;

        } else if (p < end && *p >= '1' && *p <= '9') {
            while (p < end && *p >= '0' && *p <= '9') {
                p++;
            }

        } else {
            goto string;
        }

        if (p == end) {
            /* an integer: within 64 bits, or a number */
            n = 0;

            for (p = (*text == '-') ? text + 1 : text; p < end; p++) {
                if (n > (LLONG_MAX - (*p - '0')) / 10) {
                    break;
                }

                n = n * 10 + (*p - '0');
            }

            if (p == end) {
                return json_integer((*text == '-') ? -n : n);
            }

            if (!(types & NGX_HTTP_GW_VALIDATE_NUMBER)) {
                goto string;
            }

        } else {
            if (!(types & NGX_HTTP_GW_VALIDATE_NUMBER)) {
                goto string;
            }

            if (*p == '.') {
                p++;

                if (p == end || *p < '0' || *p > '9') {
                    goto string;
                }

                while (p < end && *p >= '0' && *p <= '9') {
                    p++;
                }
            }

            if (p < end && (*p == 'e' || *p == 'E')) {
                p++;

                if (p < end && (*p == '+' || *p == '-')) {
                    p++;
                }

                if (p == end || *p < '0' || *p > '9') {
                    goto string;
                }

                while (p < end && *p >= '0' && *p <= '9') {
                    p++;
                }
            }

            if (p != end) {
                goto string;
            }
        }

        ngx_memcpy(num, text, len);
        num[len] = '\0';

        d = strtod((char *) num, NULL);

        /*
         * A number its double does not hold (more digits than 15, nearer
         * 0 than 1e-307, past the range) stays a string, which "type"
         * refuses: a jansson value would decide it on the double
         */

        if (!isfinite(d) || !gw_schema_number_fits((char *) num, len)) {
            goto string;
        }

        return json_real(d);
    }

    if (types & NGX_HTTP_GW_VALIDATE_BOOLEAN) {
        if (len == 4 && ngx_strncmp(text, "true", 4) == 0) {
            return json_true();
        }

        if (len == 5 && ngx_strncmp(text, "false", 5) == 0) {
            return json_false();
        }
    }

string:

    return json_stringn((char *) text, len);
}


/*
 * Sets obj's member name to v (v's reference is taken, also on failure).
 * A name seen before: appended to its array, or for headers (join) not
 * declared arrays, joined to the string with ", ".
 */

static ngx_int_t
ngx_http_gw_validate_set(json_t *obj, ngx_str_t *name, json_t *v,
    ngx_http_gw_validate_prop_t *prop, ngx_uint_t join)
{
    u_char      *p;
    size_t       len;
    json_t      *old, *a, *s;
    ngx_uint_t   array;

    array = (prop != NULL && (prop->types & NGX_HTTP_GW_VALIDATE_ARRAY));

    old = json_object_getn(obj, (char *) name->data, name->len);

    if (old == NULL) {
        if (array) {
            a = json_array();
            if (a == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NGX_ERROR;
            }

            v = a;
        }

        return json_object_setn_new_nocheck(obj, (char *) name->data,
                                            name->len, v) == 0
               ? NGX_OK : NGX_ERROR;
    }

    if (array || (!join && json_is_array(old))) {
        return json_array_append_new(old, v) == 0 ? NGX_OK : NGX_ERROR;
    }

    if (join && json_is_string(old) && json_is_string(v)) {
        len = json_string_length(old) + 2 + json_string_length(v);

        p = malloc(len);
        if (p == NULL) {
            json_decref(v);
            return NGX_ERROR;
        }

        ngx_memcpy(p, json_string_value(old), json_string_length(old));
        ngx_memcpy(p + json_string_length(old), ", ", 2);
        ngx_memcpy(p + json_string_length(old) + 2, json_string_value(v),
                   json_string_length(v));

        s = json_stringn_nocheck((char *) p, len);
        free(p);
        json_decref(v);

        if (s == NULL) {
            return NGX_ERROR;
        }

        return json_object_setn_new_nocheck(obj, (char *) name->data,
                                            name->len, s) == 0
               ? NGX_OK : NGX_ERROR;
    }

    /* a repeated argument the schema does not declare an array */

    a = json_array();
    if (a == NULL
        || json_array_append(a, old) != 0
        || json_array_append_new(a, v) != 0)
    {
        json_decref(a);
        return NGX_ERROR;
    }

    return json_object_setn_new_nocheck(obj, (char *) name->data, name->len,
                                        a) == 0
           ? NGX_OK : NGX_ERROR;
}


static ngx_uint_t
ngx_http_gw_validate_utf8(u_char *p, size_t len)
{
    u_char  *end;

    end = p + len;

    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }

        if (ngx_utf8_decode(&p, end - p) > 0x10ffff) {
            return 0;
        }
    }

    return 1;
}


/* src to end URL-decoded at dst, "+" as a space; returns the end */

static u_char *
ngx_http_gw_validate_decode(u_char *dst, u_char *src, u_char *end)
{
    u_char  *p, *start;

    start = dst;

    for (p = src; p < end; p++) {
        *dst++ = (*p == '+') ? ' ' : *p;
    }

    p = start;
    dst = start;
    ngx_unescape_uri(&dst, &p, end - src, 0);

    return dst;
}
