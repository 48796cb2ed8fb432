
/*
 * Copyright (C) Tollgate
 *
 * The error list of a validation (gw_schema_result_t).  An error is
 * recorded only when the caller asked for errors and no enclosing branch
 * (anyOf, oneOf, not, if, contains, propertyNames) silences it; its two
 * locations are built then from the stacks of pointers that validation
 * keeps (s->ipath, s->kpath), so that a validation without errors never
 * formats a string.  Strings go into one growing buffer and are stored
 * as offsets until the validation ends, when the buffer stops moving.
 * Also here: the helpers of messages and of the annotations of
 * "unevaluated*", and the abort of a whole validation.
 */


#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_vc.h"


int
gw_sch_abort(gw_sch_vc_t *vc, int rc, const char *why)
{
    if (!vc->aborted) {
        vc->aborted = 1;
        vc->abort_rc = rc;
        vc->abort_why = why;
    }

    return -1;
}


static int
gw_sch_append(gw_schema_result_t *r, const char *str, size_t len)
{
    char    *p;
    size_t   size;

    if (r->len + len + 1 > r->size) {
        size = (r->len + len + 1) * 2 + 256;

        p = realloc(r->buf, size);
        if (p == NULL) {
            return -1;
        }

        r->buf = p;
        r->size = size;
    }

    memcpy(r->buf + r->len, str, len);
    r->buf[r->len + len] = '\0';
    r->len += len + 1;

    return 0;
}


/*
 * Records one error at the current locations, kw appended to the keyword
 * location (NULL: the node itself).  Returns 1 when evaluation should go
 * on to find more errors, 0 when it should stop: errors are not wanted
 * here, the cap is reached, or memory ran out.
 */

int
gw_sch_report(gw_sch_vc_t *vc, const char *kw, const char *fmt, ...)
{
    char                 msg[512], num[32], *p;
    size_t               i, off[3], n;
    va_list              args;
    gw_schema_error_t   *e;
    gw_schema_result_t  *r;
    const gw_sch_iloc_t *il;

    r = vc->res;

    if (r == NULL || vc->quiet != 0 || vc->aborted) {
        return 0;
    }

    if (r->nerrors >= vc->s->opts.max_errors) {
        r->truncated = 1;
        return 0;
    }

    if (r->nerrors == r->nalloc) {
        e = realloc(r->errors, (r->nalloc * 2 + 4)
                               * sizeof(gw_schema_error_t));
        if (e == NULL) {
            gw_sch_abort(vc, -1, NULL);
            return 0;
        }

        r->errors = e;
        r->nalloc = r->nalloc * 2 + 4;
    }

    /* instance location */

    off[0] = r->len;

    if (gw_sch_append(r, "", 0) != 0) {
        goto nomem;
    }

    r->len--;

    for (i = 0; i < vc->ni; i++) {
        il = &vc->s->ipath[i];

        if (il->key == NULL) {
            n = snprintf(num, sizeof(num), "/%zu", il->index);

            if (gw_sch_append(r, num, n) != 0) {
                goto nomem;
            }

        } else {
            n = gw_sch_pointer_escape(NULL, il->key, il->len);

            p = malloc(n + 1);
            if (p == NULL) {
                goto nomem;
            }

            p[0] = '/';
            gw_sch_pointer_escape(p + 1, il->key, il->len);

            if (gw_sch_append(r, p, n + 1) != 0) {
                free(p);
                goto nomem;
            }

            free(p);
        }

        r->len--;
    }

    r->len++;

    /* keyword location */

    off[1] = r->len;

    if (gw_sch_append(r, "", 0) != 0) {
        goto nomem;
    }

    r->len--;

    for (i = 0; i <= vc->nk; i++) {
        p = (char *) (i < vc->nk ? vc->s->kpath[i] : kw);

        if (p == NULL || p[0] == '\0') {
            continue;
        }

        if (gw_sch_append(r, "/", 1) != 0) {
            goto nomem;
        }

        r->len--;

        if (gw_sch_append(r, p, strlen(p)) != 0) {
            goto nomem;
        }

        r->len--;
    }

    r->len++;

    /* message */

    va_start(args, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    off[2] = r->len;

    if (gw_sch_append(r, msg, n < sizeof(msg) ? n : sizeof(msg) - 1) != 0) {
        goto nomem;
    }

    /* offsets until the end, when the buffer stops moving */

    e = &r->errors[r->nerrors++];
    e->instance_location = (const char *) (uintptr_t) off[0];
    e->keyword_location = (const char *) (uintptr_t) off[1];
    e->message = (const char *) (uintptr_t) off[2];

    return 1;

nomem:

    gw_sch_abort(vc, -1, NULL);

    return 0;
}


/* a property that a false schema forbids, at the property itself */

int
gw_sch_report_at(gw_sch_vc_t *vc, const char *key, size_t len,
    const char *kw)
{
    int             rc;
    gw_sch_iloc_t  *il;

    il = &vc->s->ipath[vc->ni++];
    il->key = key;
    il->len = len;
    il->index = 0;

    rc = gw_sch_report(vc, kw, "property \"%.*s\" is not allowed",
                       (int) (len < 100 ? len : 100), key);

    vc->ni--;

    return rc;
}


int
gw_sch_ann_init(gw_sch_ann_t *a, size_t n)
{
    a->n = n;
    a->mark = calloc(n + 1, 1);

    return a->mark == NULL ? -1 : 0;
}


void
gw_sch_ann_merge(gw_sch_ann_t *to, const gw_sch_ann_t *from)
{
    size_t  i;

    for (i = 0; i < to->n; i++) {
        to->mark[i] |= from->mark[i];
    }
}


const char *
gw_sch_num_str(const gw_schema_value_t *v, char *buf, size_t size)
{
    if (v->type == GW_SCHEMA_INTEGER) {
        snprintf(buf, size, "%" PRId64, v->u.i);

    } else if (v->type == GW_SCHEMA_DECIMAL) {
        snprintf(buf, size, "%.*s", (int) v->len, v->u.s);

    } else {
        snprintf(buf, size, "%.17g", v->u.d);
    }

    return buf;
}


const char *
gw_sch_type_names(unsigned types, char *buf, size_t size)
{
    static const char  *names[] = {
        "null", "boolean", "object", "array", "number", "string", "integer"
    };

    size_t  i, len;

    buf[0] = '\0';
    len = 0;

    for (i = 0; i < 7; i++) {
        if (types & (1u << i)) {
            len += snprintf(buf + len, size - len, "%s%s",
                            len > 0 ? " or " : "", names[i]);
            if (len >= size) {
                break;
            }
        }
    }

    return buf;
}
