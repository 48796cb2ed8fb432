
/*
 * Copyright (C) Tollgate
 *
 * Templates, rendered (gw_template.h): the nodes walked with a stack of
 * scopes, each with the JSON pointer of its value in the data, so that
 * an error names the value it is about ("/items/3/name").  Every value
 * goes out through one escaper per context (gw_template_escape.c); the
 * output and the number of section runs are capped (a section inside a
 * section over a long array multiplies runs even when it writes
 * nothing), and in the json context the whole output is parsed before
 * it is returned.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template_int.h"


static int gw_tmpl_run(gw_tmpl_run_t *r, size_t from, size_t to);
static int gw_tmpl_section(gw_tmpl_run_t *r, const gw_tmpl_node_t *n);
static json_t *gw_tmpl_lookup(gw_tmpl_run_t *r, const gw_tmpl_node_t *n,
    char *ptr);
static void gw_tmpl_ptr_add(char *ptr, const char *seg, size_t len);
static int gw_tmpl_push(gw_tmpl_run_t *r, json_t *v, const char *ptr,
    const char *idx);
static int gw_tmpl_value(gw_tmpl_run_t *r, const gw_tmpl_node_t *n,
    json_t *v, const char *ptr);
static char *gw_tmpl_scalar(json_t *v, size_t *len);
static int gw_tmpl_full(gw_tmpl_run_t *r, const gw_tmpl_node_t *n);
static int gw_tmpl_rfail(gw_tmpl_run_t *r, const gw_tmpl_node_t *n,
    const char *ptr, const char *fmt, ...);


int
gw_tmpl_render(const gw_tmpl_t *t, json_t *data, char **out, size_t *len,
    gw_tmpl_err_t *err)
{
    int             rc;
    json_t         *doc;
    json_error_t    jerr;
    gw_tmpl_run_t  *r;

    memset(err, 0, sizeof(gw_tmpl_err_t));
    *out = NULL;
    *len = 0;

    r = calloc(1, sizeof(gw_tmpl_run_t));
    if (r == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return -1;
    }

    r->t = t;
    r->err = err;
    r->max = (t->opts.output_max != 0) ? t->opts.output_max
                                       : GW_TMPL_OUTPUT_MAX;
    r->iter_max = (t->opts.iter_max != 0) ? t->opts.iter_max
                                          : GW_TMPL_ITER_MAX;
    r->scopes[0] = data;
    r->nscopes = 1;

    if (t->opts.pointer_root != NULL) {
        snprintf(r->ptrs[0], GW_TMPL_POINTER_MAX, "%s",
                 t->opts.pointer_root);
    }

    rc = gw_tmpl_run(r, 0, t->n);

    /* the buffer exists, with room for the NUL, even for no output */

    if (rc == 0 && gw_tmpl_append(r, "", 0) != 0) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        rc = -1;
    }

    if (rc == 0 && t->opts.context == GW_TMPL_JSON) {
        doc = json_loadb(r->out, r->len,
                         JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

        if (doc == NULL) {
            err->offset = 0;
            snprintf(err->message, sizeof(err->message), "the output is "
                     "not JSON: %s at its byte %d", jerr.text,
                     jerr.position);
            rc = -1;
        }

        json_decref(doc);
    }

    if (rc == 0) {
        r->out[r->len] = '\0';
        *out = r->out;
        *len = r->len;

    } else {
        free(r->out);
    }

    free(r);

    return rc;
}


/* the nodes [from, to); 0 or -1 */

static int
gw_tmpl_run(gw_tmpl_run_t *r, size_t from, size_t to)
{
    size_t                 i;
    json_t                *v;
    const gw_tmpl_node_t  *n;
    char                   ptr[GW_TMPL_POINTER_MAX];

    for (i = from; i < to; i++) {
        n = &r->t->nodes[i];

        switch (n->type) {

        case GW_TMPL_N_TEXT:
            if (gw_tmpl_append(r, r->t->text + n->start, n->len) != 0) {
                return gw_tmpl_full(r, n);
            }

            break;

        case GW_TMPL_N_VAR:
            v = gw_tmpl_lookup(r, n, ptr);

            if (v == NULL) {
                return gw_tmpl_rfail(r, n, ptr, "unknown variable %s",
                                     ptr);
            }

            if (gw_tmpl_value(r, n, v, ptr) != 0) {
                return -1;
            }

            break;

        default:
            if (gw_tmpl_section(r, n) != 0) {
                return -1;
            }

            i = n->end - 1;
            break;
        }
    }

    return 0;
}


/*
 * A section or an inverted one: the value decides (false, null, "",
 * [] and a missing value render nothing; an array once per item; any
 * other value once, pushed as the innermost scope).
 */

static int
gw_tmpl_section(gw_tmpl_run_t *r, const gw_tmpl_node_t *n)
{
    int      empty;
    char     ptr[GW_TMPL_POINTER_MAX], idx[24];
    size_t   i;
    json_t  *v, *item;

    v = gw_tmpl_lookup(r, n, ptr);

    empty = (v == NULL || json_is_false(v) || json_is_null(v)
             || (json_is_array(v) && json_array_size(v) == 0)
             || (json_is_string(v) && json_string_length(v) == 0));

    if (n->type == GW_TMPL_N_INVERTED) {
        if (!empty) {
            return 0;
        }

        if (++r->iters > r->iter_max) {
            return gw_tmpl_rfail(r, n, "", "more than %zu section runs",
                                 r->iter_max);
        }

        return gw_tmpl_run(r, n - r->t->nodes + 1, n->end);
    }

    if (empty) {
        return 0;
    }

    if (!json_is_array(v)) {
        if (++r->iters > r->iter_max) {
            return gw_tmpl_rfail(r, n, "", "more than %zu section runs",
                                 r->iter_max);
        }

        if (gw_tmpl_push(r, v, ptr, NULL) != 0
            || gw_tmpl_run(r, n - r->t->nodes + 1, n->end) != 0)
        {
            return -1;
        }

        r->nscopes--;
        return 0;
    }

    json_array_foreach(v, i, item) {
        if (++r->iters > r->iter_max) {
            return gw_tmpl_rfail(r, n, "", "more than %zu section runs",
                                 r->iter_max);
        }

        snprintf(idx, sizeof(idx), "%zu", i);

        if (gw_tmpl_push(r, item, ptr, idx) != 0
            || gw_tmpl_run(r, n - r->t->nodes + 1, n->end) != 0)
        {
            return -1;
        }

        r->nscopes--;
    }

    return 0;
}


/* a section's value as the innermost scope, at ptr (+ "/" idx) */

static int
gw_tmpl_push(gw_tmpl_run_t *r, json_t *v, const char *ptr, const char *idx)
{
    char  *p;

    if (r->nscopes > GW_TMPL_DEPTH_MAX) {
        /* compile caps nesting at GW_TMPL_DEPTH_MAX: never here */
        snprintf(r->err->message, sizeof(r->err->message), "too deep");
        return -1;
    }

    p = r->ptrs[r->nscopes];
    snprintf(p, GW_TMPL_POINTER_MAX, "%s", ptr);

    if (idx != NULL) {
        gw_tmpl_ptr_add(p, idx, strlen(idx));
    }

    r->scopes[r->nscopes++] = v;

    return 0;
}


/*
 * The value a node names, or NULL when there is none; ptr gets its JSON
 * pointer in the data (for a missing one, where it would have been).
 * The first segment is looked up from the innermost scope outwards, in
 * the scopes that are objects; the others inside what the previous one
 * found (an object's member, or an array's item for digits).
 */

static json_t *
gw_tmpl_lookup(gw_tmpl_run_t *r, const gw_tmpl_node_t *n, char *ptr)
{
    size_t       k, i, seg, idx;
    json_t      *v;
    const char  *name, *end, *p;
    char         key[GW_TMPL_PATH_MAX + 1];

    name = r->t->text + n->start;
    end = name + n->len;

    if (n->len == 1 && name[0] == '.') {
        snprintf(ptr, GW_TMPL_POINTER_MAX, "%s", r->ptrs[r->nscopes - 1]);
        return r->scopes[r->nscopes - 1];
    }

    seg = strcspn(name, ".}| \t");
    if (name + seg > end) {
        seg = end - name;
    }

    memcpy(key, name, seg);
    key[seg] = '\0';

    v = NULL;
    k = r->nscopes;

    while (k-- > 0) {
        v = json_object_get(r->scopes[k], key);
        if (v != NULL) {
            break;
        }
    }

    snprintf(ptr, GW_TMPL_POINTER_MAX, "%s",
             r->ptrs[v != NULL ? k : r->nscopes - 1]);
    gw_tmpl_ptr_add(ptr, key, seg);

    for (p = name + seg; v != NULL && p < end; p += seg) {
        p++;                                    /* the dot */

        for (seg = 0; p + seg < end && p[seg] != '.'; seg++) {
            /* void */
        }

        memcpy(key, p, seg);
        key[seg] = '\0';
        gw_tmpl_ptr_add(ptr, key, seg);

        if (json_is_array(v)) {
            idx = 0;

            for (i = 0; i < seg; i++) {
                if (key[i] < '0' || key[i] > '9' || idx > 100000000) {
                    break;
                }

                idx = idx * 10 + (key[i] - '0');
            }

            v = (i == seg && (seg == 1 || key[0] != '0'))
                ? json_array_get(v, idx) : NULL;

        } else {
            v = json_object_get(v, key);
        }
    }

    return v;
}


/* appends "/" seg to ptr, truncated at its size (never past it) */

static void
gw_tmpl_ptr_add(char *ptr, const char *seg, size_t len)
{
    size_t  n;

    n = strlen(ptr);

    if (n + 1 + len >= GW_TMPL_POINTER_MAX) {
        return;
    }

    ptr[n] = '/';
    memcpy(ptr + n + 1, seg, len);
    ptr[n + 1 + len] = '\0';
}


/* a variable's value v, written for the context */

static int
gw_tmpl_value(gw_tmpl_run_t *r, const gw_tmpl_node_t *n, json_t *v,
    const char *ptr)
{
    int                 rc, quoted;
    char               *s, *dump;
    size_t              len;
    gw_tmpl_context_e   ctx;

    ctx = r->t->opts.context;
    quoted = (ctx == GW_TMPL_JSON && !n->in_string);

    if (json_is_object(v) || json_is_array(v)) {
        if (!quoted || n->url) {
            return gw_tmpl_rfail(r, n, ptr, "%s is an %s: only a JSON "
                                 "value outside quotes may be one", ptr,
                                 json_is_object(v) ? "object" : "array");
        }

        dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (dump == NULL) {
            return gw_tmpl_rfail(r, n, ptr, "%s cannot be written as JSON",
                                 ptr);
        }

        rc = gw_tmpl_append(r, dump, strlen(dump));
        free(dump);

        return (rc == 0) ? 0 : gw_tmpl_full(r, n);
    }

    s = gw_tmpl_scalar(v, &len);
    if (s == NULL) {
        return gw_tmpl_rfail(r, n, ptr, "out of memory");
    }

    if (gw_tmpl_utf8_check((unsigned char *) s, len) != len) {
        free(s);
        return gw_tmpl_rfail(r, n, ptr, "%s is not valid UTF-8", ptr);
    }

    if (memchr(s, '\0', len) != NULL) {
        free(s);
        return gw_tmpl_rfail(r, n, ptr, "%s holds a NUL character", ptr);
    }

    if (quoted && !json_is_string(v) && !n->url) {
        /* a number, true, false or null: its JSON text as is */
        rc = gw_tmpl_append(r, json_is_null(v) ? "null" : s,
                            json_is_null(v) ? 4 : len);

    } else if (n->url) {
        rc = (quoted && gw_tmpl_append(r, "\"", 1) != 0)
             || gw_tmpl_escape(r, (unsigned char *) s, len, GW_TMPL_URL)
             || (quoted && gw_tmpl_append(r, "\"", 1) != 0);

    } else if (ctx == GW_TMPL_TEXT || ctx == GW_TMPL_HTML) {
        if (gw_tmpl_controls(r, (unsigned char *) s, len) != 0) {
            free(s);
            return gw_tmpl_rfail(r, n, ptr, "%s holds a control character",
                                 ptr);
        }

        rc = gw_tmpl_escape(r, (unsigned char *) s, len, ctx);

    } else {
        rc = (quoted && gw_tmpl_append(r, "\"", 1) != 0)
             || gw_tmpl_escape(r, (unsigned char *) s, len, ctx)
             || (quoted && gw_tmpl_append(r, "\"", 1) != 0);
    }

    free(s);

    return (rc == 0) ? 0 : gw_tmpl_full(r, n);
}


/*
 * A scalar as text (malloc()ed): a string as is (it may hold NUL), a
 * number as its shortest JSON text that reads back the same (never a
 * locale's), true, false, and null as "".
 */

static char *
gw_tmpl_scalar(json_t *v, size_t *len)
{
    int      p;
    char    *s;
    json_t  *back;

    if (json_is_string(v)) {
        *len = json_string_length(v);
        s = malloc(*len + 1);

        if (s != NULL) {
            memcpy(s, json_string_value(v), *len + 1);
        }

        return s;
    }

    if (json_is_real(v)) {
        for (p = 1; p <= 17; p++) {
            s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(p));
            if (s == NULL) {
                return NULL;
            }

            back = json_loads(s, JSON_DECODE_ANY, NULL);

            if (p == 17 || (json_is_number(back)
                            && json_number_value(back) == json_real_value(v)))
            {
                json_decref(back);
                *len = strlen(s);
                return s;
            }

            json_decref(back);
            free(s);
        }
    }

    if (json_is_null(v)) {
        s = strdup("");

    } else {
        s = json_dumps(v, JSON_ENCODE_ANY);
    }

    *len = (s != NULL) ? strlen(s) : 0;

    return s;
}


/* an append failed: past the output cap, or out of memory */

static int
gw_tmpl_full(gw_tmpl_run_t *r, const gw_tmpl_node_t *n)
{
    if (r->oom) {
        return gw_tmpl_rfail(r, n, "", "out of memory");
    }

    return gw_tmpl_rfail(r, n, "", "the output is larger than %zu bytes",
                         r->max);
}


static int
gw_tmpl_rfail(gw_tmpl_run_t *r, const gw_tmpl_node_t *n, const char *ptr,
    const char *fmt, ...)
{
    va_list  args;

    r->err->offset = n->offset;
    snprintf(r->err->pointer, sizeof(r->err->pointer), "%s", ptr);

    va_start(args, fmt);
    vsnprintf(r->err->message, sizeof(r->err->message), fmt, args);
    va_end(args);

    return -1;
}
