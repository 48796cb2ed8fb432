
/*
 * Copyright (C) Tollgate
 *
 * JSON diffs: the RFC 6902 JSON Patch that turns one document into
 * another, for the change log (GET /v1/revisions/{n}), the audit trail
 * and the dry runs of a rollback or a declarative apply.
 *
 * The patch is small rather than minimal:
 *
 *   - objects are compared member by member, in the order of their
 *     names (so one pair of documents always gives one patch): a member
 *     only before is removed, one only after is added, one whose value
 *     differs is replaced, or diffed in turn when both values are
 *     objects or both arrays;
 *   - arrays are diffed by index: the positions both hold are compared
 *     as above, then the new tail is added in increasing order, or the
 *     old tail removed from the last element down; when that takes more
 *     than one operation and at least as many as the new array has
 *     elements (an insert near the front shifts every later element),
 *     the array is replaced whole;
 *   - values of different types, and scalars that differ, are replaced
 *     (1 and 1.0 differ, as json_equal() has it).
 *
 * Paths are RFC 6901 JSON Pointers: each member name is escaped, "~" as
 * "~0" and "/" as "~1"; "" is the whole document.  Values in the patch
 * are copies, so the documents may change or go afterwards.  The
 * recursion is as deep as the documents, which the parser caps.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"


typedef struct {
    json_t          *ops;
    char            *path;      /* the pointer so far, NUL-terminated */
    size_t           len;
    size_t           cap;
} md_diff_t;


static int md_diff_value(md_diff_t *d, json_t *a, json_t *b);
static int md_diff_object(md_diff_t *d, json_t *a, json_t *b);
static int md_diff_array(md_diff_t *d, json_t *a, json_t *b);
static int md_diff_op(md_diff_t *d, const char *op, json_t *value);
static int md_diff_push(md_diff_t *d, const char *name, size_t len);
static int md_diff_cmp(const void *one, const void *two);


json_t *
md_diff(json_t *before, json_t *after)
{
    int         rc;
    md_diff_t   d;

    d.ops = json_array();
    d.cap = 256;
    d.len = 0;
    d.path = malloc(d.cap);

    if (d.ops == NULL || d.path == NULL) {
        json_decref(d.ops);
        free(d.path);
        return NULL;
    }

    d.path[0] = '\0';

    if (before == NULL && after == NULL) {
        rc = 0;

    } else if (before == NULL) {
        rc = md_diff_op(&d, "add", after);

    } else if (after == NULL) {
        rc = md_diff_op(&d, "remove", NULL);

    } else {
        rc = md_diff_value(&d, before, after);
    }

    free(d.path);

    if (rc != 0) {
        json_decref(d.ops);
        return NULL;
    }

    return d.ops;
}


/* the ops that turn a into b at d->path; 0 or -1 (out of memory) */

static int
md_diff_value(md_diff_t *d, json_t *a, json_t *b)
{
    if (json_is_object(a) && json_is_object(b)) {
        return md_diff_object(d, a, b);
    }

    if (json_is_array(a) && json_is_array(b)) {
        return md_diff_array(d, a, b);
    }

    if (json_equal(a, b)) {
        return 0;
    }

    return md_diff_op(d, "replace", b);
}


static int
md_diff_object(md_diff_t *d, json_t *a, json_t *b)
{
    int           rc;
    size_t        i, n, len;
    json_t       *va, *vb;
    const char   *key, **keys;

    /* the names of both, sorted, each once */

    n = json_object_size(a) + json_object_size(b);

    if (n == 0) {
        return 0;
    }

    keys = malloc(n * sizeof(const char *));
    if (keys == NULL) {
        return -1;
    }

    n = 0;

    json_object_foreach(a, key, va) {
        keys[n++] = key;
    }

    json_object_foreach(b, key, vb) {
        if (json_object_get(a, key) == NULL) {
            keys[n++] = key;
        }
    }

    qsort(keys, n, sizeof(const char *), md_diff_cmp);

    len = d->len;
    rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        va = json_object_get(a, keys[i]);
        vb = json_object_get(b, keys[i]);

        rc = md_diff_push(d, keys[i], strlen(keys[i]));
        if (rc != 0) {
            break;
        }

        if (vb == NULL) {
            rc = md_diff_op(d, "remove", NULL);

        } else if (va == NULL) {
            rc = md_diff_op(d, "add", vb);

        } else {
            rc = md_diff_value(d, va, vb);
        }

        d->len = len;
        d->path[len] = '\0';
    }

    free(keys);

    return rc;
}


static int
md_diff_array(md_diff_t *d, json_t *a, json_t *b)
{
    int      rc;
    char     index[24];
    size_t   i, na, nb, len, mark, ops;

    na = json_array_size(a);
    nb = json_array_size(b);
    len = d->len;
    mark = json_array_size(d->ops);
    rc = 0;

    for (i = 0; rc == 0 && i < (na > nb ? na : nb); i++) {

        /* the tail removed from the end down: indexes stay valid */

        snprintf(index, sizeof(index), "%zu", i < nb ? i : na - 1 - (i - nb));

        rc = md_diff_push(d, index, strlen(index));
        if (rc != 0) {
            break;
        }

        if (i >= nb) {
            rc = md_diff_op(d, "remove", NULL);

        } else if (i >= na) {
            rc = md_diff_op(d, "add", json_array_get(b, i));

        } else {
            rc = md_diff_value(d, json_array_get(a, i), json_array_get(b, i));
        }

        d->len = len;
        d->path[len] = '\0';
    }

    if (rc != 0) {
        return -1;
    }

    ops = json_array_size(d->ops) - mark;

    if (ops <= 1 || ops < nb) {
        return 0;
    }

    /* cheaper whole */

    while (json_array_size(d->ops) > mark) {
        json_array_remove(d->ops, json_array_size(d->ops) - 1);
    }

    return md_diff_op(d, "replace", b);
}


/* appends {"op", "path", "value"} (value NULL: none) at d->path */

static int
md_diff_op(md_diff_t *d, const char *op, json_t *value)
{
    json_t  *o, *v;

    if (value == NULL) {
        o = json_pack("{s:s, s:s}", "op", op, "path", d->path);

    } else {
        v = json_deep_copy(value);
        o = (v != NULL) ? json_pack("{s:s, s:s, s:o}", "op", op,
                                    "path", d->path, "value", v)
                        : NULL;
    }

    if (o == NULL || json_array_append_new(d->ops, o) != 0) {
        return -1;
    }

    return 0;
}


/* appends "/" and the RFC 6901 escape of name to d->path */

static int
md_diff_push(md_diff_t *d, const char *name, size_t len)
{
    char    *p;
    size_t   i, need;

    need = d->len + 1 + 2 * len + 1;

    if (need > d->cap) {
        p = realloc(d->path, need * 2);
        if (p == NULL) {
            return -1;
        }

        d->path = p;
        d->cap = need * 2;
    }

    d->path[d->len++] = '/';

    for (i = 0; i < len; i++) {
        if (name[i] == '~' || name[i] == '/') {
            d->path[d->len++] = '~';
            d->path[d->len++] = (name[i] == '~') ? '0' : '1';

        } else {
            d->path[d->len++] = name[i];
        }
    }

    d->path[d->len] = '\0';

    return 0;
}


static int
md_diff_cmp(const void *one, const void *two)
{
    return strcmp(*(const char *const *) one, *(const char *const *) two);
}
