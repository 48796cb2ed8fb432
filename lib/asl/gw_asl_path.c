
/*
 * Copyright (C) Tollgate
 *
 * Paths of Amazon States Language (JSONPath mode): checked, read and,
 * for ResultPath, written.
 *
 * A path is never compiled: it is at most GW_ASL_PATH_MAX bytes, so the
 * text itself is walked, one segment at a time, both to check it (here)
 * and to evaluate it (gw_asl_path_eval.c); a filter's expression
 * (gw_asl_path_filter.c) is parsed again for each candidate it tests.
 * Nothing is allocated but the result.
 *
 * The semantics are those of AWS, whose JSONPath is Jayway's: a path
 * made only of names and single indexes ("definite") selects one node
 * or fails; any other path selects an array of nodes, possibly empty.
 * As in Jayway, a name that is missing, or a name, an index, a slice or
 * a filter applied to a value of the wrong kind, while every segment
 * before it was definite, fails the path even when later segments are
 * not ("$.missing[*]"); once past a wildcard, a slice, a union, a
 * filter or "..", what is missing is skipped.  A filter applied to an
 * object tests the object itself, not its members; a union of names
 * that ends the path selects one object of those members.  Where the
 * oracle (jsonpath-plus) differs, t/unit/test_asl_path.c says so.
 *
 * Bounds: the path's length, the nesting of a filter's parentheses
 * (GW_ASL_JP_FILTER_DEPTH), the recursion of the evaluation
 * (GW_ASL_JP_FRAMES) and its total work (GW_ASL_JP_WORK_MAX, so that
 * "$..*..*..*" over a large input stops with an error instead of
 * running for minutes).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_path_int.h"


static const char *gw_asl_jp_bracket(gw_asl_jp_t *jp, const char *p,
    gw_asl_jp_seg_t *seg);


/* a syntax error: what is wrong and where (0-based offset) */

int
gw_asl_jp_fail(gw_asl_jp_t *jp, const char *p, const char *what)
{
    unsigned char  c;

    c = (unsigned char) *p;

    if (c == '\0') {
        return gw_asl_error(jp->err, GW_ASL_E_INVALID, NULL,
                            "invalid JSONPath '%.256s': %s at its end",
                            jp->path, what);
    }

    if (c < 0x20 || c >= 0x7f) {
        return gw_asl_error(jp->err, GW_ASL_E_INVALID, NULL,
                            "invalid JSONPath '%.256s': %s at offset %d "
                            "(byte 0x%02x)", jp->path, what,
                            (int) (p - jp->path), c);
    }

    return gw_asl_error(jp->err, GW_ASL_E_INVALID, NULL,
                        "invalid JSONPath '%.256s': %s at offset %d ('%c')",
                        jp->path, what, (int) (p - jp->path), c);
}


const char *
gw_asl_jp_ws(const char *p)
{
    while (*p == ' ') {
        p++;
    }

    return p;
}


/* bytes of a bare name: not a control byte, a space or JSONPath syntax */

int
gw_asl_jp_name_byte(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f) {
        return 0;
    }

    return strchr(".[]'\"\\()<>!=,&|*?@$", c) == NULL;
}


/* a quoted string at p ('...' or "...", \ escaping the next byte): the
 * byte after it, its inside's length in *len; NULL with err */

const char *
gw_asl_jp_quoted(gw_asl_jp_t *jp, const char *p, size_t *len)
{
    char         q;
    const char  *s;

    q = *p++;
    s = p;

    while (*p != q) {
        if (*p == '\0') {
            gw_asl_jp_fail(jp, p, "unterminated quoted string");
            return NULL;
        }

        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            gw_asl_jp_fail(jp, p, "control byte in a quoted string");
            return NULL;
        }

        if (*p == '\\') {
            p++;

            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                gw_asl_jp_fail(jp, p, "bad escape in a quoted string");
                return NULL;
            }
        }

        p++;
    }

    *len = p - s;

    return p + 1;
}


/* s (len bytes, quoted: with \ escapes) as bytes in jp->buf: the length */

size_t
gw_asl_jp_unescape(gw_asl_jp_t *jp, const char *s, size_t len, int quoted)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len && n < GW_ASL_PATH_MAX; i++) {
        if (quoted && s[i] == '\\' && i + 1 < len) {
            i++;
        }

        jp->buf[n++] = s[i];
    }

    jp->buf[n] = '\0';

    return n;
}


/* an integer ([-]digits) at p into *n: the byte after it, NULL with err */

const char *
gw_asl_jp_int(gw_asl_jp_t *jp, const char *p, long *n)
{
    int          neg;
    long         v;
    const char  *s;

    neg = 0;
    s = p;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (*p < '0' || *p > '9') {
        gw_asl_jp_fail(jp, p, "expected a digit");
        return NULL;
    }

    v = 0;

    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');

        if (v > GW_ASL_JP_INDEX_MAX) {
            gw_asl_jp_fail(jp, s, "integer too large (past 2147483647)");
            return NULL;
        }

        p++;
    }

    *n = neg ? -v : v;

    return p;
}


/*
 * The inside of brackets, p just after "[": the byte after "]".  A
 * union's members and a filter's expression are checked here and read
 * again from seg->text when evaluated.
 */

static const char *
gw_asl_jp_bracket(gw_asl_jp_t *jp, const char *p, gw_asl_jp_seg_t *seg)
{
    int          v;
    long         n;
    size_t       len;
    const char  *s;

    p = gw_asl_jp_ws(p);

    if (*p == '*') {
        seg->type = GW_ASL_JP_WILD;
        p = gw_asl_jp_ws(p + 1);
        goto close;
    }

    if (*p == '\'' || *p == '"') {
        s = p;
        p = gw_asl_jp_quoted(jp, p, &len);
        if (p == NULL) {
            return NULL;
        }

        seg->len = p - s;
        p = gw_asl_jp_ws(p);

        if (*p != ',') {
            seg->type = GW_ASL_JP_NAME;
            seg->text = s;
            seg->reference = 1;
            goto close;
        }

        seg->type = GW_ASL_JP_UNION;
        seg->text = s;
        seg->names = 1;

        while (*p == ',') {
            p = gw_asl_jp_ws(p + 1);

            if (*p != '\'' && *p != '"') {
                gw_asl_jp_fail(jp, p, "expected a quoted name in a union");
                return NULL;
            }

            p = gw_asl_jp_quoted(jp, p, &len);
            if (p == NULL) {
                return NULL;
            }

            p = gw_asl_jp_ws(p);
        }

        goto close;
    }

    if (*p == '?') {
        p++;

        if (*p != '(') {
            gw_asl_jp_fail(jp, p, "expected '(' after '?'");
            return NULL;
        }

        seg->type = GW_ASL_JP_FILTER;
        seg->text = p + 1;

        jp->fdepth = 0;

        p = gw_asl_jp_or(jp, p + 1, NULL, &v);
        if (p == NULL) {
            return NULL;
        }

        p = gw_asl_jp_ws(p);

        if (*p != ')') {
            gw_asl_jp_fail(jp, p, "expected ')' to end the filter");
            return NULL;
        }

        seg->len = p - seg->text;

        p = gw_asl_jp_ws(p + 1);
        goto close;
    }

    if (*p == '(') {
        /* Jayway's script index, the one form AWS definitions use */

        p = gw_asl_jp_ws(p + 1);

        if (strncmp(p, "@.length", 8) != 0) {
            gw_asl_jp_fail(jp, p, "only (@.length-n) is allowed in brackets");
            return NULL;
        }

        p = gw_asl_jp_ws(p + 8);

        if (*p != '-') {
            gw_asl_jp_fail(jp, p, "expected '-' after @.length");
            return NULL;
        }

        p = gw_asl_jp_int(jp, gw_asl_jp_ws(p + 1), &n);
        if (p == NULL) {
            return NULL;
        }

        if (n < 0) {
            gw_asl_jp_fail(jp, p, "expected a count in (@.length-n)");
            return NULL;
        }

        p = gw_asl_jp_ws(p);

        if (*p != ')') {
            gw_asl_jp_fail(jp, p, "expected ')'");
            return NULL;
        }

        seg->type = GW_ASL_JP_INDEX;
        seg->index = -n;

        if (n == 0) {
            /* one past the last: selects nothing */
            seg->index = GW_ASL_JP_INDEX_MAX;
        }

        p = gw_asl_jp_ws(p + 1);
        goto close;
    }

    if (*p == ':' || *p == '-' || (*p >= '0' && *p <= '9')) {

        if (*p != ':') {
            p = gw_asl_jp_int(jp, p, &n);
            if (p == NULL) {
                return NULL;
            }

            p = gw_asl_jp_ws(p);

            if (*p != ':') {
                if (*p != ',') {
                    seg->type = GW_ASL_JP_INDEX;
                    seg->index = n;
                    seg->reference = (n >= 0);
                    goto close;
                }

                seg->type = GW_ASL_JP_UNION;

                while (*p == ',') {
                    p = gw_asl_jp_int(jp, gw_asl_jp_ws(p + 1), &n);
                    if (p == NULL) {
                        return NULL;
                    }

                    p = gw_asl_jp_ws(p);
                }

                goto close;
            }

            seg->from = n;
            seg->has_from = 1;
        }

        seg->type = GW_ASL_JP_SLICE;
        seg->step = 1;
        p = gw_asl_jp_ws(p + 1);

        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            p = gw_asl_jp_int(jp, p, &seg->to);
            if (p == NULL) {
                return NULL;
            }

            seg->has_to = 1;
            p = gw_asl_jp_ws(p);
        }

        if (*p == ':') {
            p = gw_asl_jp_ws(p + 1);

            if (*p == '-' || (*p >= '0' && *p <= '9')) {
                p = gw_asl_jp_int(jp, p, &seg->step);
                if (p == NULL) {
                    return NULL;
                }

                if (seg->step == 0) {
                    gw_asl_jp_fail(jp, p, "a slice's step cannot be 0");
                    return NULL;
                }

                p = gw_asl_jp_ws(p);
            }
        }

        goto close;
    }

    gw_asl_jp_fail(jp, p, "expected a quoted name, an index, '*', a slice or "
               "a filter in brackets");
    return NULL;

close:

    if (*p != ']') {
        gw_asl_jp_fail(jp, p, "expected ']'");
        return NULL;
    }

    return p + 1;
}


/* one segment at p (".name", ".*", "[...]", "..x"): the byte after it */

const char *
gw_asl_jp_segment(gw_asl_jp_t *jp, const char *p, gw_asl_jp_seg_t *seg)
{
    const char  *s;

    memset(seg, 0, sizeof(gw_asl_jp_seg_t));

    if (p[0] == '.' && p[1] == '.') {
        seg->descent = 1;
        p += 2;

        if (*p == '[') {
            seg->text = p + 1;
            return gw_asl_jp_bracket(jp, p + 1, seg);
        }

        if (*p == '.') {
            gw_asl_jp_fail(jp, p, "'...' is not JSONPath");
            return NULL;
        }

    } else if (*p == '.') {
        p++;

        if (*p == '[') {
            /* ".['name']", as AWS's own examples write it */
            seg->text = p + 1;
            return gw_asl_jp_bracket(jp, p + 1, seg);
        }

    } else if (*p == '[') {
        seg->text = p + 1;
        return gw_asl_jp_bracket(jp, p + 1, seg);

    } else {
        gw_asl_jp_fail(jp, p, "expected '.' or '['");
        return NULL;
    }

    if (*p == '*') {
        seg->type = GW_ASL_JP_WILD;
        return p + 1;
    }

    s = p;

    while (gw_asl_jp_name_byte((unsigned char) *p)) {
        p++;
    }

    if (p == s) {
        gw_asl_jp_fail(jp, p, "expected a name");
        return NULL;
    }

    seg->type = GW_ASL_JP_NAME;
    seg->text = s;
    seg->len = p - s;
    seg->reference = 1;

    return p;
}


/* the whole path checked: jp->definite and jp->reference set */

int
gw_asl_jp_parse(gw_asl_jp_t *jp)
{
    size_t            len;
    const char       *p;
    gw_asl_jp_seg_t   seg;

    if (jp->path == NULL) {
        return gw_asl_error(jp->err, GW_ASL_E_INVALID, NULL,
                            "a JSONPath is missing");
    }

    len = strnlen(jp->path, GW_ASL_PATH_MAX + 1);

    if (len > GW_ASL_PATH_MAX) {
        return gw_asl_error(jp->err, GW_ASL_E_INVALID, NULL,
                            "invalid JSONPath '%.64s...': longer than %d "
                            "bytes", jp->path, GW_ASL_PATH_MAX);
    }

    p = jp->path;

    if (*p != '$') {
        return gw_asl_jp_fail(jp, p, "a JSONPath must start with '$'");
    }

    p += (p[1] == '$') ? 2 : 1;

    jp->definite = 1;
    jp->reference = 1;

    while (*p != '\0') {
        p = gw_asl_jp_segment(jp, p, &seg);
        if (p == NULL) {
            return -1;
        }

        if (seg.descent
            || (seg.type != GW_ASL_JP_NAME && seg.type != GW_ASL_JP_INDEX
                && !(seg.type == GW_ASL_JP_UNION && seg.names
                     && *p == '\0')))
        {
            /* a union of names ending the path selects one object */
            jp->definite = 0;
        }

        if (seg.descent || !seg.reference) {
            jp->reference = 0;
        }
    }

    return 0;
}


int
gw_asl_path_check(const char *path, int kind, gw_asl_err_t *err)
{
    gw_asl_jp_t  jp;

    memset(&jp, 0, sizeof(gw_asl_jp_t) - sizeof(jp.buf));
    jp.path = path;
    jp.err = err;

    if (gw_asl_jp_parse(&jp) != 0) {
        return -1;
    }

    if (kind == GW_ASL_PATH_REFERENCE && !jp.reference) {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL,
                            "'%.256s' is not a Reference Path (only .name, "
                            "['name'] and [n] are allowed)", path);
    }

    return 0;
}


json_t *
gw_asl_path_put(const char *ref, json_t *input, json_t *value,
    gw_asl_err_t *err)
{
    int               last;
    long              size;
    size_t            len;
    json_t           *out, *cur, *child, *copy;
    const char       *p, *next;
    gw_asl_jp_t       jp;
    gw_asl_jp_seg_t   seg;

    memset(&jp, 0, sizeof(gw_asl_jp_t) - sizeof(jp.buf));
    jp.path = ref;
    jp.err = err;

    if (gw_asl_path_check(ref, GW_ASL_PATH_REFERENCE, err) != 0) {
        if (err != NULL) {
            snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_RUNTIME);
        }

        return NULL;
    }

    if (ref[1] == '$') {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                     "the ResultPath '%.256s' names the context object",
                     ref);
        return NULL;
    }

    copy = json_deep_copy(value != NULL ? value : json_null());
    if (copy == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return NULL;
    }

    if (ref[1] == '\0') {
        return copy;
    }

    out = json_deep_copy(input != NULL ? input : json_null());
    if (out == NULL) {
        json_decref(copy);
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return NULL;
    }

    cur = out;
    p = ref + 1;

    for ( ;; ) {
        next = gw_asl_jp_segment(&jp, p, &seg);
        if (next == NULL) {
            goto failed;
        }

        last = (*next == '\0');

        if (seg.type == GW_ASL_JP_NAME) {
            if (!json_is_object(cur)) {
                gw_asl_error(err, GW_ASL_E_RESULT_PATH, NULL,
                             "Unable to apply ResultPath '%.256s': '%.*s' "
                             "in the input is not an object", ref,
                             (int) (p - ref), ref);
                goto failed;
            }

            len = (seg.text[0] == '\'' || seg.text[0] == '"')
                  ? gw_asl_jp_unescape(&jp, seg.text + 1, seg.len - 2, 1)
                  : gw_asl_jp_unescape(&jp, seg.text, seg.len, 0);

            if (last) {
                if (json_object_setn_new(cur, jp.buf, len, copy) != 0) {
                    copy = NULL;
                    goto nomem;
                }

                return out;
            }

            child = json_object_getn(cur, jp.buf, len);

            if (child == NULL) {
                child = json_object();

                if (json_object_setn_new(cur, jp.buf, len, child) != 0) {
                    goto nomem;
                }
            }

        } else {
            size = json_is_array(cur) ? (long) json_array_size(cur) : 0;

            if (!json_is_array(cur) || seg.index >= size) {
                gw_asl_error(err, GW_ASL_E_RESULT_PATH, NULL,
                             "Unable to apply ResultPath '%.256s': '%.*s' "
                             "in the input is not an array of more than "
                             "%ld items", ref, (int) (p - ref), ref,
                             seg.index);
                goto failed;
            }

            if (last) {
                if (json_array_set_new(cur, seg.index, copy) != 0) {
                    copy = NULL;
                    goto nomem;
                }

                return out;
            }

            child = json_array_get(cur, seg.index);
        }

        cur = child;
        p = next;
    }

nomem:

    gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                 "out of memory, or a name in '%.256s' is not UTF-8", ref);

failed:

    json_decref(copy);
    json_decref(out);

    return NULL;
}
