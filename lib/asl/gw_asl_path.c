
/*
 * Copyright (C) Tollgate
 *
 * Paths of Amazon States Language (JSONPath mode): checked, read and,
 * for ResultPath, written.
 *
 * A path is never compiled: it is at most GW_ASL_PATH_MAX bytes, so the
 * text itself is walked, one segment at a time, both to check it and to
 * evaluate it; a filter's expression is parsed again for each candidate
 * it is applied to.  Nothing is allocated but the result.
 *
 * The semantics are those of AWS, whose JSONPath is Jayway's: a path
 * made only of names and single indexes ("definite") selects one node
 * or fails; any other path selects an array of nodes, possibly empty.
 * As in Jayway, a name or an index that is missing while every segment
 * before it was definite fails the path even when later segments are
 * not ("$.missing[*]"); once past a wildcard, a slice, a union, a
 * filter or "..", what is missing is skipped.  A filter applied to an
 * object tests the object itself (Jayway), not its members.
 *
 * Bounds: the path's length, the nesting of a filter's parentheses
 * (GW_JP_FILTER_DEPTH), the recursion of the evaluation (GW_JP_FRAMES)
 * and its total work (GW_JP_WORK_MAX, so that "$..*..*..*" over a large
 * input stops with an error instead of running for minutes).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_path_int.h"


#define GW_JP_FILTER_DEPTH  32
#define GW_JP_FRAMES        (2 * GW_ASL_PATH_MAX)
#define GW_JP_WORK_MAX      16000000
#define GW_JP_INDEX_MAX     2147483647L
#define GW_JP_NUMBER_MAX    64          /* characters of a number */


typedef enum {
    GW_JP_NAME = 0,     /* .name ['name'] */
    GW_JP_INDEX,        /* [n] [-n] [(@.length-n)] */
    GW_JP_WILD,         /* .* [*] */
    GW_JP_UNION,        /* [a,b] ['a','b'] */
    GW_JP_SLICE,        /* [start:end:step] */
    GW_JP_FILTER        /* [?(expression)] */
} gw_jp_sel_e;


typedef enum {
    GW_JP_EQ = 0,
    GW_JP_NE,
    GW_JP_LT,
    GW_JP_LE,
    GW_JP_GT,
    GW_JP_GE
} gw_jp_op_e;


typedef struct {
    gw_jp_sel_e          type;
    const char          *text;      /* NAME: as written; UNION, FILTER:
                                       the first byte inside */
    size_t               len;       /* NAME: bytes of text */
    long                 index;     /* INDEX: < 0 counts from the end */
    long                 from;
    long                 to;
    long                 step;
    unsigned             has_from:1;
    unsigned             has_to:1;
    unsigned             descent:1; /* preceded by ".." */
    unsigned             reference:1;  /* .name ['name'] [n] */
} gw_jp_seg_t;


typedef struct {
    const char          *path;
    json_t              *root;      /* $ for a filter's "$..." operands */
    json_t              *out;       /* what was selected */
    gw_asl_err_t        *err;
    size_t               work;
    unsigned             frames;
    unsigned             fdepth;
    unsigned             definite:1;
    unsigned             reference:1;
    unsigned             missing:1;
    char                 buf[GW_ASL_PATH_MAX + 1];
} gw_jp_t;


static int gw_jp_fail(gw_jp_t *jp, const char *p, const char *what);
static const char *gw_jp_ws(const char *p);
static int gw_jp_name_byte(unsigned char c);
static const char *gw_jp_quoted(gw_jp_t *jp, const char *p, size_t *len);
static size_t gw_jp_unescape(gw_jp_t *jp, const char *s, size_t len,
    int quoted);
static const char *gw_jp_int(gw_jp_t *jp, const char *p, long *n);
static const char *gw_jp_bracket(gw_jp_t *jp, const char *p,
    gw_jp_seg_t *seg);
static const char *gw_jp_segment(gw_jp_t *jp, const char *p,
    gw_jp_seg_t *seg);
static int gw_jp_parse(gw_jp_t *jp);
static const char *gw_jp_or(gw_jp_t *jp, const char *p, json_t *cur,
    int *v);
static const char *gw_jp_unary(gw_jp_t *jp, const char *p, json_t *cur,
    int *v);
static const char *gw_jp_operand(gw_jp_t *jp, const char *p, json_t *cur,
    json_t **v, int *owned, int *is_path);
static int gw_jp_compare(json_t *a, json_t *b, gw_jp_op_e op);
static int gw_jp_eval(gw_jp_t *jp, const char *p, json_t *node, int strict);
static int gw_jp_apply(gw_jp_t *jp, gw_jp_seg_t *seg, const char *next,
    json_t *node, int strict);
static int gw_jp_descend(gw_jp_t *jp, gw_jp_seg_t *seg, const char *next,
    json_t *node, unsigned depth);


/* a syntax error: what is wrong and where (0-based offset) */

static int
gw_jp_fail(gw_jp_t *jp, const char *p, const char *what)
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


static const char *
gw_jp_ws(const char *p)
{
    while (*p == ' ') {
        p++;
    }

    return p;
}


/* bytes of a bare name: not a control byte, a space or JSONPath syntax */

static int
gw_jp_name_byte(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f) {
        return 0;
    }

    return strchr(".[]'\"\\()<>!=,&|*?@$", c) == NULL;
}


/* a quoted string at p ('...' or "...", \ escaping the next byte): the
 * byte after it, its inside's length in *len; NULL with err */

static const char *
gw_jp_quoted(gw_jp_t *jp, const char *p, size_t *len)
{
    char         q;
    const char  *s;

    q = *p++;
    s = p;

    while (*p != q) {
        if (*p == '\0') {
            gw_jp_fail(jp, p, "unterminated quoted string");
            return NULL;
        }

        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            gw_jp_fail(jp, p, "control byte in a quoted string");
            return NULL;
        }

        if (*p == '\\') {
            p++;

            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                gw_jp_fail(jp, p, "bad escape in a quoted string");
                return NULL;
            }
        }

        p++;
    }

    *len = p - s;

    return p + 1;
}


/* s (len bytes, quoted: with \ escapes) as bytes in jp->buf: the length */

static size_t
gw_jp_unescape(gw_jp_t *jp, const char *s, size_t len, int quoted)
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

static const char *
gw_jp_int(gw_jp_t *jp, const char *p, long *n)
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
        gw_jp_fail(jp, p, "expected a digit");
        return NULL;
    }

    v = 0;

    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');

        if (v > GW_JP_INDEX_MAX) {
            gw_jp_fail(jp, s, "integer too large (past 2147483647)");
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
gw_jp_bracket(gw_jp_t *jp, const char *p, gw_jp_seg_t *seg)
{
    int          v;
    long         n;
    size_t       len;
    const char  *s;

    p = gw_jp_ws(p);

    if (*p == '*') {
        seg->type = GW_JP_WILD;
        p = gw_jp_ws(p + 1);
        goto close;
    }

    if (*p == '\'' || *p == '"') {
        s = p;
        p = gw_jp_quoted(jp, p, &len);
        if (p == NULL) {
            return NULL;
        }

        seg->len = p - s;
        p = gw_jp_ws(p);

        if (*p != ',') {
            seg->type = GW_JP_NAME;
            seg->text = s;
            seg->reference = 1;
            goto close;
        }

        seg->type = GW_JP_UNION;
        seg->text = s;

        while (*p == ',') {
            p = gw_jp_ws(p + 1);

            if (*p != '\'' && *p != '"') {
                gw_jp_fail(jp, p, "expected a quoted name in a union");
                return NULL;
            }

            p = gw_jp_quoted(jp, p, &len);
            if (p == NULL) {
                return NULL;
            }

            p = gw_jp_ws(p);
        }

        goto close;
    }

    if (*p == '?') {
        p++;

        if (*p != '(') {
            gw_jp_fail(jp, p, "expected '(' after '?'");
            return NULL;
        }

        seg->type = GW_JP_FILTER;
        seg->text = p + 1;

        jp->fdepth = 0;

        p = gw_jp_or(jp, p + 1, NULL, &v);
        if (p == NULL) {
            return NULL;
        }

        p = gw_jp_ws(p);

        if (*p != ')') {
            gw_jp_fail(jp, p, "expected ')' to end the filter");
            return NULL;
        }

        seg->len = p - seg->text;

        p = gw_jp_ws(p + 1);
        goto close;
    }

    if (*p == '(') {
        /* Jayway's script index, the one form AWS definitions use */

        p = gw_jp_ws(p + 1);

        if (strncmp(p, "@.length", 8) != 0) {
            gw_jp_fail(jp, p, "only (@.length-n) is allowed in brackets");
            return NULL;
        }

        p = gw_jp_ws(p + 8);

        if (*p != '-') {
            gw_jp_fail(jp, p, "expected '-' after @.length");
            return NULL;
        }

        p = gw_jp_int(jp, gw_jp_ws(p + 1), &n);
        if (p == NULL) {
            return NULL;
        }

        if (n < 0) {
            gw_jp_fail(jp, p, "expected a count in (@.length-n)");
            return NULL;
        }

        p = gw_jp_ws(p);

        if (*p != ')') {
            gw_jp_fail(jp, p, "expected ')'");
            return NULL;
        }

        seg->type = GW_JP_INDEX;
        seg->index = -n;

        if (n == 0) {
            /* one past the last: selects nothing */
            seg->index = GW_JP_INDEX_MAX;
        }

        p = gw_jp_ws(p + 1);
        goto close;
    }

    if (*p == ':' || *p == '-' || (*p >= '0' && *p <= '9')) {

        if (*p != ':') {
            p = gw_jp_int(jp, p, &n);
            if (p == NULL) {
                return NULL;
            }

            p = gw_jp_ws(p);

            if (*p != ':') {
                if (*p != ',') {
                    seg->type = GW_JP_INDEX;
                    seg->index = n;
                    seg->reference = (n >= 0);
                    goto close;
                }

                seg->type = GW_JP_UNION;

                while (*p == ',') {
                    p = gw_jp_int(jp, gw_jp_ws(p + 1), &n);
                    if (p == NULL) {
                        return NULL;
                    }

                    p = gw_jp_ws(p);
                }

                goto close;
            }

            seg->from = n;
            seg->has_from = 1;
        }

        seg->type = GW_JP_SLICE;
        seg->step = 1;
        p = gw_jp_ws(p + 1);

        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            p = gw_jp_int(jp, p, &seg->to);
            if (p == NULL) {
                return NULL;
            }

            seg->has_to = 1;
            p = gw_jp_ws(p);
        }

        if (*p == ':') {
            p = gw_jp_ws(p + 1);

            if (*p == '-' || (*p >= '0' && *p <= '9')) {
                p = gw_jp_int(jp, p, &seg->step);
                if (p == NULL) {
                    return NULL;
                }

                if (seg->step == 0) {
                    gw_jp_fail(jp, p, "a slice's step cannot be 0");
                    return NULL;
                }

                p = gw_jp_ws(p);
            }
        }

        goto close;
    }

    gw_jp_fail(jp, p, "expected a quoted name, an index, '*', a slice or "
               "a filter in brackets");
    return NULL;

close:

    if (*p != ']') {
        gw_jp_fail(jp, p, "expected ']'");
        return NULL;
    }

    return p + 1;
}


/* one segment at p (".name", ".*", "[...]", "..x"): the byte after it */

static const char *
gw_jp_segment(gw_jp_t *jp, const char *p, gw_jp_seg_t *seg)
{
    const char  *s;

    memset(seg, 0, sizeof(gw_jp_seg_t));

    if (p[0] == '.' && p[1] == '.') {
        seg->descent = 1;
        p += 2;

        if (*p == '[') {
            seg->text = p + 1;
            return gw_jp_bracket(jp, p + 1, seg);
        }

        if (*p == '.') {
            gw_jp_fail(jp, p, "'...' is not JSONPath");
            return NULL;
        }

    } else if (*p == '.') {
        p++;

    } else if (*p == '[') {
        seg->text = p + 1;
        return gw_jp_bracket(jp, p + 1, seg);

    } else {
        gw_jp_fail(jp, p, "expected '.' or '['");
        return NULL;
    }

    if (*p == '*') {
        seg->type = GW_JP_WILD;
        return p + 1;
    }

    s = p;

    while (gw_jp_name_byte((unsigned char) *p)) {
        p++;
    }

    if (p == s) {
        gw_jp_fail(jp, p, "expected a name");
        return NULL;
    }

    seg->type = GW_JP_NAME;
    seg->text = s;
    seg->len = p - s;
    seg->reference = 1;

    return p;
}


/* the whole path checked: jp->definite and jp->reference set */

static int
gw_jp_parse(gw_jp_t *jp)
{
    size_t        len;
    const char   *p;
    gw_jp_seg_t   seg;

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
        return gw_jp_fail(jp, p, "a JSONPath must start with '$'");
    }

    p += (p[1] == '$') ? 2 : 1;

    jp->definite = 1;
    jp->reference = 1;

    while (*p != '\0') {
        p = gw_jp_segment(jp, p, &seg);
        if (p == NULL) {
            return -1;
        }

        if (seg.descent
            || (seg.type != GW_JP_NAME && seg.type != GW_JP_INDEX))
        {
            jp->definite = 0;
        }

        if (seg.descent || !seg.reference) {
            jp->reference = 0;
        }
    }

    return 0;
}


/*
 * A filter's expression: || of && of [!] comparisons or parenthesised
 * expressions.  cur NULL: checked only (*v is then meaningless).
 */

static const char *
gw_jp_or(gw_jp_t *jp, const char *p, json_t *cur, int *v)
{
    int  a, b, c;

    if (++jp->fdepth > GW_JP_FILTER_DEPTH) {
        gw_jp_fail(jp, p, "filter nested too deep");
        return NULL;
    }

    a = 0;
    b = 0;
    c = 0;

    p = gw_jp_unary(jp, p, cur, &a);

    for ( ;; ) {
        if (p == NULL) {
            return NULL;
        }

        p = gw_jp_ws(p);

        if (p[0] == '&' && p[1] == '&') {
            p = gw_jp_unary(jp, p + 2, cur, &b);
            a = a && b;
            continue;
        }

        if (p[0] == '|' && p[1] == '|') {
            /* && binds tighter: the right side is a conjunction */
            p = gw_jp_unary(jp, p + 2, cur, &b);

            while (p != NULL) {
                p = gw_jp_ws(p);

                if (p[0] != '&' || p[1] != '&') {
                    break;
                }

                p = gw_jp_unary(jp, p + 2, cur, &c);
                b = b && c;
            }

            a = a || b;
            continue;
        }

        break;
    }

    jp->fdepth--;
    *v = a;

    return p;
}


static const char *
gw_jp_unary(gw_jp_t *jp, const char *p, json_t *cur, int *v)
{
    int          is_path, owned_a, owned_b;
    json_t      *a, *b;
    gw_jp_op_e   op;

    p = gw_jp_ws(p);

    if (*p == '!') {
        if (++jp->fdepth > GW_JP_FILTER_DEPTH) {
            gw_jp_fail(jp, p, "filter nested too deep");
            return NULL;
        }

        p = gw_jp_unary(jp, p + 1, cur, v);
        jp->fdepth--;
        *v = !*v;
        return p;
    }

    if (*p == '(') {
        p = gw_jp_or(jp, p + 1, cur, v);
        if (p == NULL) {
            return NULL;
        }

        p = gw_jp_ws(p);

        if (*p != ')') {
            gw_jp_fail(jp, p, "expected ')'");
            return NULL;
        }

        return p + 1;
    }

    p = gw_jp_operand(jp, p, cur, &a, &owned_a, &is_path);
    if (p == NULL) {
        return NULL;
    }

    p = gw_jp_ws(p);

    if (p[0] == '=' && p[1] == '=') {
        op = GW_JP_EQ;
        p += 2;

    } else if (p[0] == '!' && p[1] == '=') {
        op = GW_JP_NE;
        p += 2;

    } else if (p[0] == '<' && p[1] == '=') {
        op = GW_JP_LE;
        p += 2;

    } else if (p[0] == '>' && p[1] == '=') {
        op = GW_JP_GE;
        p += 2;

    } else if (*p == '<') {
        op = GW_JP_LT;
        p++;

    } else if (*p == '>') {
        op = GW_JP_GT;
        p++;

    } else {
        /* a path alone: does it exist */

        if (owned_a) {
            json_decref(a);
        }

        if (!is_path) {
            gw_jp_fail(jp, p, "expected a comparison operator");
            return NULL;
        }

        *v = (a != NULL);
        return p;
    }

    p = gw_jp_operand(jp, gw_jp_ws(p), cur, &b, &owned_b, &is_path);

    if (p != NULL) {
        *v = gw_jp_compare(a, b, op);

        if (owned_b) {
            json_decref(b);
        }
    }

    if (owned_a) {
        json_decref(a);
    }

    return p;
}


/*
 * An operand: "@..." or "$..." (names and indexes only), a number, a
 * quoted string, true, false or null.  *v: the value (NULL when a path
 * names nothing, or when checking); *owned: *v is to be decref'ed.
 */

static const char *
gw_jp_operand(gw_jp_t *jp, const char *p, json_t *cur, json_t **v,
    int *owned, int *is_path)
{
    long         n;
    char         num[GW_JP_NUMBER_MAX + 1];
    size_t       len;
    json_t      *node;
    const char  *s;

    *v = NULL;
    *owned = 0;
    *is_path = 0;

    if (*p == '@' || *p == '$') {
        *is_path = 1;
        node = (*p == '@') ? cur : jp->root;

        if (p[0] == '$' && p[1] == '$') {
            gw_jp_fail(jp, p, "the context object in a filter");
            return NULL;
        }

        p++;

        for ( ;; ) {
            if (*p == '.' && gw_jp_name_byte((unsigned char) p[1])) {
                s = ++p;

                while (gw_jp_name_byte((unsigned char) *p)) {
                    p++;
                }

                len = gw_jp_unescape(jp, s, p - s, 0);
                node = json_is_object(node)
                       ? json_object_getn(node, jp->buf, len) : NULL;
                continue;
            }

            if (*p == '[' && (p[1] == '\'' || p[1] == '"')) {
                s = p + 2;
                p = gw_jp_quoted(jp, p + 1, &len);
                if (p == NULL) {
                    return NULL;
                }

                if (*p != ']') {
                    gw_jp_fail(jp, p, "expected ']'");
                    return NULL;
                }

                p++;
                len = gw_jp_unescape(jp, s, len, 1);
                node = json_is_object(node)
                       ? json_object_getn(node, jp->buf, len) : NULL;
                continue;
            }

            if (*p == '[') {
                p = gw_jp_int(jp, p + 1, &n);
                if (p == NULL) {
                    return NULL;
                }

                if (*p != ']') {
                    gw_jp_fail(jp, p, "expected ']'");
                    return NULL;
                }

                p++;

                if (!json_is_array(node)) {
                    node = NULL;
                    continue;
                }

                if (n < 0) {
                    n += (long) json_array_size(node);
                }

                node = (n < 0) ? NULL : json_array_get(node, n);
                continue;
            }

            if (*p == '.') {
                gw_jp_fail(jp, p, "only names and indexes in a filter's "
                           "path");
                return NULL;
            }

            break;
        }

        *v = node;
        return p;
    }

    if (*p == '\'' || *p == '"') {
        s = p + 1;
        p = gw_jp_quoted(jp, p, &len);
        if (p == NULL) {
            return NULL;
        }

        if (cur != NULL) {
            len = gw_jp_unescape(jp, s, len, 1);
            *v = json_stringn_nocheck(jp->buf, len);
            goto made;
        }

        return p;
    }

    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        s = p;
        len = strspn(p, "-+.eE0123456789");

        if (len > GW_JP_NUMBER_MAX) {
            gw_jp_fail(jp, p, "number too long");
            return NULL;
        }

        memcpy(num, s, len);
        num[len] = '\0';

        /* JSON's own grammar decides what a number is */

        *v = json_loads(num, JSON_DECODE_ANY, NULL);

        if (*v == NULL || !json_is_number(*v)) {
            json_decref(*v);
            *v = NULL;
            gw_jp_fail(jp, p, "bad number");
            return NULL;
        }

        p += len;

        if (cur == NULL) {
            json_decref(*v);
            *v = NULL;
            return p;
        }

        *owned = 1;
        return p;
    }

    if (strncmp(p, "true", 4) == 0) {
        *v = json_true();
        p += 4;

    } else if (strncmp(p, "false", 5) == 0) {
        *v = json_false();
        p += 5;

    } else if (strncmp(p, "null", 4) == 0) {
        *v = json_null();
        p += 4;

    } else {
        gw_jp_fail(jp, p, "expected @, $, a number, a string, true, "
                   "false or null");
        return NULL;
    }

    if (gw_jp_name_byte((unsigned char) *p)) {
        json_decref(*v);
        *v = NULL;
        gw_jp_fail(jp, p, "unexpected byte after a literal");
        return NULL;
    }

    if (cur == NULL) {
        *v = NULL;
        return p;
    }

    *owned = 1;
    return p;

made:

    if (*v == NULL) {
        gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return NULL;
    }

    *owned = 1;
    return p;
}


/*
 * Jayway's comparisons: numbers by value across integers and reals,
 * strings by bytes, other kinds only equal or not; a missing operand
 * is equal to nothing (so != holds).
 */

static int
gw_jp_compare(json_t *a, json_t *b, gw_jp_op_e op)
{
    int      c, eq;
    size_t   la, lb;
    double   x, y;

    if (a == NULL || b == NULL) {
        return op == GW_JP_NE;
    }

    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            c = (json_integer_value(a) > json_integer_value(b))
                - (json_integer_value(a) < json_integer_value(b));

        } else {
            x = json_number_value(a);
            y = json_number_value(b);
            c = (x > y) - (x < y);
        }

    } else if (json_is_string(a) && json_is_string(b)) {
        la = json_string_length(a);
        lb = json_string_length(b);
        c = memcmp(json_string_value(a), json_string_value(b),
                   la < lb ? la : lb);

        if (c == 0) {
            c = (la > lb) - (la < lb);
        }

    } else {
        if (op != GW_JP_EQ && op != GW_JP_NE) {
            return 0;
        }

        eq = json_equal(a, b);
        return (op == GW_JP_EQ) ? eq : !eq;
    }

    switch (op) {
    case GW_JP_EQ:
        return c == 0;
    case GW_JP_NE:
        return c != 0;
    case GW_JP_LT:
        return c < 0;
    case GW_JP_LE:
        return c <= 0;
    case GW_JP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}


/* the rest of the path, p, from node; strict: every segment so far was
 * definite (what is missing then fails the path) */

static int
gw_jp_eval(gw_jp_t *jp, const char *p, json_t *node, int strict)
{
    int           rc;
    const char   *next;
    gw_jp_seg_t   seg;

    if (++jp->work > GW_JP_WORK_MAX || ++jp->frames > GW_JP_FRAMES) {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' takes too much work "
                            "over its input", jp->path);
    }

    if (*p == '\0') {
        jp->frames--;

        if (json_array_append(jp->out, node) != 0) {
            return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                                "out of memory");
        }

        return 0;
    }

    next = gw_jp_segment(jp, p, &seg);
    if (next == NULL) {
        return -1;
    }

    if (seg.descent) {
        rc = gw_jp_descend(jp, &seg, next, node, 0);

    } else {
        rc = gw_jp_apply(jp, &seg, next, node, strict);
    }

    jp->frames--;

    return rc;
}


static int
gw_jp_missing(gw_jp_t *jp)
{
    jp->missing = 1;
    return -1;
}


/* seg (without its descent) applied to node, then the rest of the path */

static int
gw_jp_apply(gw_jp_t *jp, gw_jp_seg_t *seg, const char *next, json_t *node,
    int strict)
{
    int          v, quoted;
    long         i, n, end, size;
    size_t       len, k;
    json_t      *child;
    const char  *p, *key, *s;

    switch (seg->type) {

    case GW_JP_NAME:
        if (!json_is_object(node)) {
            return strict ? gw_jp_missing(jp) : 0;
        }

        quoted = (seg->text[0] == '\'' || seg->text[0] == '"');
        len = quoted ? gw_jp_unescape(jp, seg->text + 1, seg->len - 2, 1)
                     : gw_jp_unescape(jp, seg->text, seg->len, 0);

        child = json_object_getn(node, jp->buf, len);

        if (child == NULL) {
            return strict ? gw_jp_missing(jp) : 0;
        }

        return gw_jp_eval(jp, next, child, strict);

    case GW_JP_INDEX:
        if (!json_is_array(node)) {
            return strict ? gw_jp_missing(jp) : 0;
        }

        size = (long) json_array_size(node);
        i = seg->index < 0 ? size + seg->index : seg->index;

        if (i < 0 || i >= size) {
            /* Jayway: never an error here, a definite path then fails
             * for its empty result */
            return 0;
        }

        return gw_jp_eval(jp, next, json_array_get(node, i), strict);

    case GW_JP_WILD:
        if (json_is_object(node)) {
            json_object_foreach(node, key, child) {
                if (gw_jp_eval(jp, next, child, 0) != 0) {
                    return -1;
                }
            }

        } else if (json_is_array(node)) {
            json_array_foreach(node, k, child) {
                if (gw_jp_eval(jp, next, child, 0) != 0) {
                    return -1;
                }
            }
        }

        return 0;

    case GW_JP_UNION:
        p = gw_jp_ws(seg->text);

        if (*p == '\'' || *p == '"') {
            if (!json_is_object(node)) {
                return strict ? gw_jp_missing(jp) : 0;
            }

        } else if (!json_is_array(node)) {
            return strict ? gw_jp_missing(jp) : 0;
        }

        for ( ;; ) {
            p = gw_jp_ws(p);

            if (*p == '\'' || *p == '"') {
                s = p + 1;
                p = gw_jp_quoted(jp, p, &len);
                if (p == NULL) {
                    return -1;
                }

                len = gw_jp_unescape(jp, s, len, 1);
                child = json_object_getn(node, jp->buf, len);

            } else {
                p = gw_jp_int(jp, p, &n);
                if (p == NULL) {
                    return -1;
                }

                size = (long) json_array_size(node);
                i = n < 0 ? size + n : n;
                child = (i < 0 || i >= size) ? NULL
                                             : json_array_get(node, i);
            }

            if (child != NULL && gw_jp_eval(jp, next, child, 0) != 0) {
                return -1;
            }

            p = gw_jp_ws(p);

            if (*p != ',') {
                return 0;
            }

            p++;
        }

    case GW_JP_SLICE:
        if (!json_is_array(node)) {
            return strict ? gw_jp_missing(jp) : 0;
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
                if (gw_jp_eval(jp, next, json_array_get(node, i), 0) != 0) {
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
            if (gw_jp_eval(jp, next, json_array_get(node, i), 0) != 0) {
                return -1;
            }
        }

        return 0;

    default: /* GW_JP_FILTER */

        if (json_is_object(node)) {
            jp->work += seg->len / 8;
            jp->fdepth = 0;

            if (gw_jp_or(jp, seg->text, node, &v) == NULL) {
                return -1;
            }

            return v ? gw_jp_eval(jp, next, node, 0) : 0;
        }

        if (!json_is_array(node)) {
            return strict ? gw_jp_missing(jp) : 0;
        }

        json_array_foreach(node, k, child) {
            jp->work += seg->len / 8;
            jp->fdepth = 0;

            if (gw_jp_or(jp, seg->text, child, &v) == NULL) {
                return -1;
            }

            if (v && gw_jp_eval(jp, next, child, 0) != 0) {
                return -1;
            }
        }

        return 0;
    }
}


/* "..": seg applied to node and to every object and array under it,
 * each before its members (Jayway's order) */

static int
gw_jp_descend(gw_jp_t *jp, gw_jp_seg_t *seg, const char *next,
    json_t *node, unsigned depth)
{
    size_t       k;
    json_t      *child;
    const char  *key;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' met a value nested "
                            "deeper than %d", jp->path,
                            GW_ASL_JSON_DEPTH_MAX);
    }

    if (++jp->work > GW_JP_WORK_MAX) {
        return gw_asl_error(jp->err, GW_ASL_E_RUNTIME, NULL,
                            "the JSONPath '%.256s' takes too much work "
                            "over its input", jp->path);
    }

    if (gw_jp_apply(jp, seg, next, node, 0) != 0) {
        return -1;
    }

    if (json_is_object(node)) {
        json_object_foreach(node, key, child) {
            if ((json_is_object(child) || json_is_array(child))
                && gw_jp_descend(jp, seg, next, child, depth + 1) != 0)
            {
                return -1;
            }
        }

    } else if (json_is_array(node)) {
        json_array_foreach(node, k, child) {
            if ((json_is_object(child) || json_is_array(child))
                && gw_jp_descend(jp, seg, next, child, depth + 1) != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


int
gw_asl_path_check(const char *path, int kind, gw_asl_err_t *err)
{
    gw_jp_t  jp;

    memset(&jp, 0, sizeof(gw_jp_t) - sizeof(jp.buf));
    jp.path = path;
    jp.err = err;

    if (gw_jp_parse(&jp) != 0) {
        return -1;
    }

    if (kind == GW_ASL_PATH_REFERENCE && !jp.reference) {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL,
                            "'%.256s' is not a Reference Path (only .name, "
                            "['name'] and [n] are allowed)", path);
    }

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
    int       ctx;
    char      dump[256];
    json_t   *v;
    gw_jp_t   jp;

    if (missing != NULL) {
        *missing = 0;
    }

    memset(&jp, 0, sizeof(gw_jp_t) - sizeof(jp.buf));
    jp.path = path;
    jp.err = err;

    if (gw_jp_parse(&jp) != 0) {
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

    if (gw_jp_eval(&jp, path + (ctx ? 2 : 1), jp.root, 1) != 0) {
        json_decref(jp.out);

        if (!jp.missing) {
            return NULL;
        }

        if (missing != NULL) {
            *missing = 1;
        }

        gw_asl_path_dump(jp.root, dump, sizeof(dump));

        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                     "The JSONPath '%.256s' could not be found in the %s "
                     "'%s'", path, ctx ? "context object" : "input", dump);
        return NULL;
    }

    if (!jp.definite) {
        return jp.out;
    }

    /* a definite path that did not fail selected its node */

    v = json_incref(json_array_get(jp.out, 0));
    json_decref(jp.out);

    if (v == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                     "The JSONPath '%.256s' could not be found", path);

        if (missing != NULL) {
            *missing = 1;
        }
    }

    return v;
}


json_t *
gw_asl_path_get(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    return gw_asl_path_select(path, input, context, NULL, err);
}


json_t *
gw_asl_path_put(const char *ref, json_t *input, json_t *value,
    gw_asl_err_t *err)
{
    int           last;
    long          size;
    size_t        len;
    json_t       *out, *cur, *child, *copy;
    gw_jp_t       jp;
    const char   *p, *next;
    gw_jp_seg_t   seg;

    memset(&jp, 0, sizeof(gw_jp_t) - sizeof(jp.buf));
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
        next = gw_jp_segment(&jp, p, &seg);
        if (next == NULL) {
            goto failed;
        }

        last = (*next == '\0');

        if (seg.type == GW_JP_NAME) {
            if (!json_is_object(cur)) {
                gw_asl_error(err, GW_ASL_E_RESULT_PATH, NULL,
                             "Unable to apply ResultPath '%.256s': '%.*s' "
                             "in the input is not an object", ref,
                             (int) (p - ref), ref);
                goto failed;
            }

            len = (seg.text[0] == '\'' || seg.text[0] == '"')
                  ? gw_jp_unescape(&jp, seg.text + 1, seg.len - 2, 1)
                  : gw_jp_unescape(&jp, seg.text, seg.len, 0);

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
