
/*
 * Copyright (C) Tollgate
 *
 * What a path selects (gw_asl_path_get): the path's text walked one
 * segment at a time, each selected node taking the rest of the path;
 * a definite path gives its node, any other the array of its
 * selection.  See gw_asl_path.c for the semantics (Jayway's) and the
 * bounds.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_path_int.h"


static int gw_asl_jp_eval(gw_asl_jp_t *jp, const char *p, json_t *node,
    int strict);
static int gw_asl_jp_apply(gw_asl_jp_t *jp, gw_asl_jp_seg_t *seg,
    const char *next, json_t *node, int strict);
static int gw_asl_jp_merge(gw_asl_jp_t *jp, const char *p, json_t *node);
static int gw_asl_jp_descend(gw_asl_jp_t *jp, gw_asl_jp_seg_t *seg,
    const char *next, json_t *node, unsigned depth);


/* the rest of the path, p, from node; strict: every segment so far was
 * definite (what is missing then fails the path) */

static int
gw_asl_jp_eval(gw_asl_jp_t *jp, const char *p, json_t *node, int strict)
{
    int               rc;
    const char       *next;
    gw_asl_jp_seg_t   seg;

    if (++jp->work > GW_ASL_JP_WORK_MAX || ++jp->frames > GW_ASL_JP_FRAMES) {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' takes too much work "
                            "over its input", jp->path);
    }

    if (*p == '\0') {
        jp->frames--;

        /* every node selected is at least a byte and a comma of the
         * result: past this many it cannot fit in a payload */
        if (json_array_size(jp->out) >= GW_ASL_PAYLOAD_MAX / 2) {
            return gw_asl_error(jp->err, GW_ASL_E_DATA_LIMIT, NULL,
                                "the JSONPath '%.256s' selects more than "
                                "%d nodes", jp->path, GW_ASL_PAYLOAD_MAX / 2);
        }

        if (json_array_append(jp->out, node) != 0) {
            return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                                "out of memory");
        }

        return 0;
    }

    next = gw_asl_jp_segment(jp, p, &seg);
    if (next == NULL) {
        return -1;
    }

    if (seg.descent) {
        rc = gw_asl_jp_descend(jp, &seg, next, node, 0);

    } else {
        rc = gw_asl_jp_apply(jp, &seg, next, node, strict);
    }

    jp->frames--;

    return rc;
}


int
gw_asl_jp_missing(gw_asl_jp_t *jp)
{
    jp->missing = 1;
    return -1;
}


/* seg (without its descent) applied to node, then the rest of the path */

static int
gw_asl_jp_apply(gw_asl_jp_t *jp, gw_asl_jp_seg_t *seg, const char *next,
    json_t *node, int strict)
{
    int          v, quoted;
    long         i, n, end, size;
    size_t       len, k;
    json_t      *child;
    const char  *p, *key, *s;

    switch (seg->type) {

    case GW_ASL_JP_NAME:
        if (!json_is_object(node)) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        quoted = (seg->text[0] == '\'' || seg->text[0] == '"');
        len = quoted ? gw_asl_jp_unescape(jp, seg->text + 1, seg->len - 2, 1)
                     : gw_asl_jp_unescape(jp, seg->text, seg->len, 0);

        child = json_object_getn(node, jp->buf, len);

        if (child == NULL) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        return gw_asl_jp_eval(jp, next, child, strict);

    case GW_ASL_JP_INDEX:
        if (!json_is_array(node)) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        size = (long) json_array_size(node);
        i = seg->index < 0 ? size + seg->index : seg->index;

        if (i < 0 || i >= size) {
            /* Jayway: never an error here, a definite path then fails
             * for its empty result */
            return 0;
        }

        return gw_asl_jp_eval(jp, next, json_array_get(node, i), strict);

    case GW_ASL_JP_WILD:
        if (json_is_object(node)) {
            json_object_foreach(node, key, child) {
                if (gw_asl_jp_eval(jp, next, child, 0) != 0) {
                    return -1;
                }
            }

        } else if (json_is_array(node)) {
            json_array_foreach(node, k, child) {
                if (gw_asl_jp_eval(jp, next, child, 0) != 0) {
                    return -1;
                }
            }
        }

        return 0;

    case GW_ASL_JP_UNION:
        p = gw_asl_jp_ws(seg->text);

        if (*p == '\'' || *p == '"') {
            if (!json_is_object(node)) {
                return strict ? gw_asl_jp_missing(jp) : 0;
            }

            if (*next == '\0') {
                return gw_asl_jp_merge(jp, p, node);
            }

        } else if (!json_is_array(node)) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        for ( ;; ) {
            p = gw_asl_jp_ws(p);

            if (*p == '\'' || *p == '"') {
                s = p + 1;
                p = gw_asl_jp_quoted(jp, p, &len);
                if (p == NULL) {
                    return -1;
                }

                len = gw_asl_jp_unescape(jp, s, len, 1);
                child = json_object_getn(node, jp->buf, len);

            } else {
                p = gw_asl_jp_int(jp, p, &n);
                if (p == NULL) {
                    return -1;
                }

                size = (long) json_array_size(node);
                i = n < 0 ? size + n : n;
                child = (i < 0 || i >= size) ? NULL
                                             : json_array_get(node, i);
            }

            if (child != NULL && gw_asl_jp_eval(jp, next, child, 0) != 0) {
                return -1;
            }

            p = gw_asl_jp_ws(p);

            if (*p != ',') {
                return 0;
            }

            p++;
        }

    case GW_ASL_JP_SLICE:
        if (!json_is_array(node)) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        /* Python's slices (Jayway has no step, its slices agree) */

        size = (long) json_array_size(node);

        if (seg->step > 0) {
            i = seg->has_from ? seg->from : 0;
            end = seg->has_to ? seg->to : size;
            i = i < 0 ? (i + size < 0 ? 0 : i + size) : (i > size ? size : i);
            end = end < 0 ? (end + size < 0 ? 0 : end + size)
                          : (end > size ? size : end);

            for ( /* void */ ; i < end; i += seg->step) {
                if (gw_asl_jp_eval(jp, next, json_array_get(node, i), 0) != 0) {
                    return -1;
                }
            }

            return 0;
        }

        i = seg->has_from ? seg->from : size - 1;
        end = seg->has_to ? seg->to : -size - 1;
        i = i < 0 ? (i + size < 0 ? -1 : i + size)
                  : (i >= size ? size - 1 : i);
        end = end < 0 ? (end + size < 0 ? -1 : end + size)
                      : (end >= size ? size - 1 : end);

        for ( /* void */ ; i > end; i += seg->step) {
            if (gw_asl_jp_eval(jp, next, json_array_get(node, i), 0) != 0) {
                return -1;
            }
        }

        return 0;

    default: /* GW_ASL_JP_FILTER */

        if (json_is_object(node)) {
            jp->work += seg->len / 8;
            jp->fdepth = 0;

            if (gw_asl_jp_or(jp, seg->text, node, &v) == NULL) {
                return -1;
            }

            return v ? gw_asl_jp_eval(jp, next, node, 0) : 0;
        }

        if (!json_is_array(node)) {
            return strict ? gw_asl_jp_missing(jp) : 0;
        }

        json_array_foreach(node, k, child) {
            jp->work += seg->len / 8;
            jp->fdepth = 0;

            if (!json_is_object(child)) {
                /* AWS: "@" matches objects only, never a scalar (Jayway
                 * and jsonpath-plus test scalars and arrays too) */
                continue;
            }

            if (gw_asl_jp_or(jp, seg->text, child, &v) == NULL) {
                return -1;
            }

            if (v && gw_asl_jp_eval(jp, next, child, 0) != 0) {
                return -1;
            }
        }

        return 0;
    }
}


/*
 * A union of names that ends the path selects one object made of the
 * members of node it names (Jayway's "multi-property merge", so AWS's;
 * jsonpath-plus, the oracle's, selects their values instead).
 */

static int
gw_asl_jp_merge(gw_asl_jp_t *jp, const char *p, json_t *node)
{
    size_t       len;
    json_t      *o, *child;
    const char  *s;

    o = json_object();
    if (o == NULL) {
        goto nomem;
    }

    for ( ;; ) {
        s = p + 1;
        p = gw_asl_jp_quoted(jp, p, &len);
        if (p == NULL) {
            json_decref(o);
            return -1;
        }

        len = gw_asl_jp_unescape(jp, s, len, 1);
        child = json_object_getn(node, jp->buf, len);

        if (child != NULL
            && json_object_setn(o, jp->buf, len, child) != 0)
        {
            json_decref(o);
            goto nomem;
        }

        p = gw_asl_jp_ws(p);

        if (*p != ',') {
            break;
        }

        p = gw_asl_jp_ws(p + 1);
    }

    if (json_array_append_new(jp->out, o) != 0) {
        goto nomem;
    }

    return 0;

nomem:

    return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL, "out of memory");
}


/* "..": seg applied to node and to every object and array under it,
 * each before its members (Jayway's order) */

static int
gw_asl_jp_descend(gw_asl_jp_t *jp, gw_asl_jp_seg_t *seg, const char *next,
    json_t *node, unsigned depth)
{
    int          v;
    size_t       k;
    json_t      *child;
    const char  *key;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' met a value nested "
                            "deeper than %d", jp->path,
                            GW_ASL_JSON_DEPTH_MAX);
    }

    if (++jp->work > GW_ASL_JP_WORK_MAX
        || ++jp->frames > GW_ASL_JP_FRAMES)
    {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' takes too much work "
                            "over its input", jp->path);
    }

    if (seg->type == GW_ASL_JP_FILTER) {
        /* each object under "..", once: Jayway's scan tests the nodes
         * it walks, not the members of arrays again */

        if (json_is_object(node)) {
            jp->work += seg->len / 8;
            jp->fdepth = 0;

            if (gw_asl_jp_or(jp, seg->text, node, &v) == NULL
                || (v && gw_asl_jp_eval(jp, next, node, 0) != 0))
            {
                return -1;
            }
        }

    } else if (gw_asl_jp_apply(jp, seg, next, node, 0) != 0) {
        return -1;
    }

    if (json_is_object(node)) {
        json_object_foreach(node, key, child) {
            if ((json_is_object(child) || json_is_array(child))
                && gw_asl_jp_descend(jp, seg, next, child, depth + 1) != 0)
            {
                return -1;
            }
        }

    } else if (json_is_array(node)) {
        json_array_foreach(node, k, child) {
            if ((json_is_object(child) || json_is_array(child))
                && gw_asl_jp_descend(jp, seg, next, child, depth + 1) != 0)
            {
                return -1;
            }
        }
    }

    jp->frames--;

    return 0;
}


void
gw_asl_path_dump(json_t *v, char *buf, size_t size)
{
    char    *s;
    size_t   len;

    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY
                      | JSON_REAL_PRECISION(15));

    if (s == NULL) {
        snprintf(buf, size, "%s", v == NULL ? "null" : "?");
        return;
    }

    len = strlen(s);

    if (len < size) {
        memcpy(buf, s, len + 1);

    } else {
        memcpy(buf, s, size - 4);
        memcpy(buf + size - 4, "...", 4);
    }

    free(s);
}


json_t *
gw_asl_path_select(const char *path, json_t *input, json_t *context,
    int *missing, gw_asl_err_t *err)
{
    int          ctx;
    char         dump[256];
    json_t      *v;
    gw_asl_jp_t  jp;

    if (missing != NULL) {
        *missing = 0;
    }

    memset(&jp, 0, sizeof(gw_asl_jp_t) - sizeof(jp.buf));
    jp.path = path;
    jp.err = err;

    if (gw_asl_jp_parse(&jp) != 0) {
        if (err != NULL) {
            snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_RUNTIME);
        }

        return NULL;
    }

    ctx = (path[1] == '$');
    jp.root = ctx ? context : input;

    if (jp.root == NULL) {
        jp.root = json_null();
    }

    jp.out = json_array();
    if (jp.out == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return NULL;
    }

    if (gw_asl_jp_eval(&jp, path + (ctx ? 2 : 1), jp.root, 1) != 0) {
        json_decref(jp.out);

        if (!jp.missing) {
            return NULL;
        }

        goto missing;
    }

    if (!jp.definite) {
        /* the same nodes selected again and again make an array larger
         * than any payload: refused, measured only up to the cap */
        if (gw_asl_too_large(jp.out, GW_ASL_PAYLOAD_MAX, NULL)) {
            json_decref(jp.out);
            gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL,
                         "what the JSONPath '%.256s' selects is larger than "
                         "the cap of %d bytes", path, GW_ASL_PAYLOAD_MAX);
            return NULL;
        }

        return jp.out;
    }

    /* a definite path selected its node, or nothing (an index past the
     * end of an array) */

    v = json_incref(json_array_get(jp.out, 0));
    json_decref(jp.out);

    if (v != NULL) {
        return v;
    }

missing:

    if (missing != NULL) {
        *missing = 1;
    }

    gw_asl_path_dump(jp.root, dump, sizeof(dump));

    gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                 "The JSONPath '%.256s' could not be found in the %s '%s'",
                 path, ctx ? "context object" : "input", dump);
    return NULL;
}


json_t *
gw_asl_path_get(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    return gw_asl_path_select(path, input, context, NULL, err);
}
