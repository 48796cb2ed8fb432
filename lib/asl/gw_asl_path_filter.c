
/*
 * Copyright (C) Tollgate
 *
 * JSONPath filters, "[?(expression)]": || of && of comparisons, "!"
 * and parentheses; operands "@..." (the candidate) and "$..." (the
 * root) with names and indexes only, numbers (JSON's grammar), quoted
 * strings, true, false, null; a path alone tests that it exists.  The
 * same code checks an expression (no candidate) and evaluates it: the
 * text is parsed again for each candidate, nothing is kept.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_path_int.h"


static const char *gw_asl_jp_unary(gw_asl_jp_t *jp, const char *p,
    json_t *cur, int *v);
static const char *gw_asl_jp_operand(gw_asl_jp_t *jp, const char *p,
    json_t *cur, json_t **v, int *owned, int *is_path);
static int gw_asl_jp_compare(json_t *a, json_t *b, gw_asl_jp_op_e op);


/*
 * A filter's expression: || of && of [!] comparisons or parenthesised
 * expressions.  cur NULL: checked only (*v is then meaningless).
 */

const char *
gw_asl_jp_or(gw_asl_jp_t *jp, const char *p, json_t *cur, int *v)
{
    int  a, b, c;

    if (++jp->fdepth > GW_ASL_JP_FILTER_DEPTH) {
        gw_asl_jp_fail(jp, p, "filter nested too deep");
        return NULL;
    }

    a = 0;
    b = 0;
    c = 0;

    p = gw_asl_jp_unary(jp, p, cur, &a);

    for ( ;; ) {
        if (p == NULL) {
            return NULL;
        }

        p = gw_asl_jp_ws(p);

        if (p[0] == '&' && p[1] == '&') {
            p = gw_asl_jp_unary(jp, p + 2, cur, &b);
            a = a && b;
            continue;
        }

        if (p[0] == '|' && p[1] == '|') {
            /* && binds tighter: the right side is a conjunction */
            p = gw_asl_jp_unary(jp, p + 2, cur, &b);

            while (p != NULL) {
                p = gw_asl_jp_ws(p);

                if (p[0] != '&' || p[1] != '&') {
                    break;
                }

                p = gw_asl_jp_unary(jp, p + 2, cur, &c);
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
gw_asl_jp_unary(gw_asl_jp_t *jp, const char *p, json_t *cur, int *v)
{
    int              is_path, owned_a, owned_b;
    json_t          *a, *b;
    gw_asl_jp_op_e   op;

    p = gw_asl_jp_ws(p);

    if (*p == '!') {
        if (++jp->fdepth > GW_ASL_JP_FILTER_DEPTH) {
            gw_asl_jp_fail(jp, p, "filter nested too deep");
            return NULL;
        }

        p = gw_asl_jp_unary(jp, p + 1, cur, v);
        jp->fdepth--;
        *v = !*v;
        return p;
    }

    if (*p == '(') {
        p = gw_asl_jp_or(jp, p + 1, cur, v);
        if (p == NULL) {
            return NULL;
        }

        p = gw_asl_jp_ws(p);

        if (*p != ')') {
            gw_asl_jp_fail(jp, p, "expected ')'");
            return NULL;
        }

        return p + 1;
    }

    p = gw_asl_jp_operand(jp, p, cur, &a, &owned_a, &is_path);
    if (p == NULL) {
        return NULL;
    }

    p = gw_asl_jp_ws(p);

    if (p[0] == '=' && p[1] == '=') {
        op = GW_ASL_JP_EQ;
        p += 2;

    } else if (p[0] == '!' && p[1] == '=') {
        op = GW_ASL_JP_NE;
        p += 2;

    } else if (p[0] == '<' && p[1] == '=') {
        op = GW_ASL_JP_LE;
        p += 2;

    } else if (p[0] == '>' && p[1] == '=') {
        op = GW_ASL_JP_GE;
        p += 2;

    } else if (*p == '<') {
        op = GW_ASL_JP_LT;
        p++;

    } else if (*p == '>') {
        op = GW_ASL_JP_GT;
        p++;

    } else {
        /* a path alone: does it exist */

        if (owned_a) {
            json_decref(a);
        }

        if (!is_path) {
            gw_asl_jp_fail(jp, p, "expected a comparison operator");
            return NULL;
        }

        *v = (a != NULL);
        return p;
    }

    p = gw_asl_jp_operand(jp, gw_asl_jp_ws(p), cur, &b, &owned_b, &is_path);

    if (p != NULL) {
        *v = gw_asl_jp_compare(a, b, op);

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
gw_asl_jp_operand(gw_asl_jp_t *jp, const char *p, json_t *cur, json_t **v,
    int *owned, int *is_path)
{
    long         n;
    char         num[GW_ASL_JP_NUMBER_MAX + 1];
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
            gw_asl_jp_fail(jp, p, "the context object in a filter");
            return NULL;
        }

        p++;

        for ( ;; ) {
            if (*p == '.' && gw_asl_jp_name_byte((unsigned char) p[1])) {
                s = ++p;

                while (gw_asl_jp_name_byte((unsigned char) *p)) {
                    p++;
                }

                len = gw_asl_jp_unescape(jp, s, p - s, 0);
                node = json_is_object(node)
                       ? json_object_getn(node, jp->buf, len) : NULL;
                continue;
            }

            if (*p == '[' && (p[1] == '\'' || p[1] == '"')) {
                s = p + 2;
                p = gw_asl_jp_quoted(jp, p + 1, &len);
                if (p == NULL) {
                    return NULL;
                }

                if (*p != ']') {
                    gw_asl_jp_fail(jp, p, "expected ']'");
                    return NULL;
                }

                p++;
                len = gw_asl_jp_unescape(jp, s, len, 1);
                node = json_is_object(node)
                       ? json_object_getn(node, jp->buf, len) : NULL;
                continue;
            }

            if (*p == '[') {
                p = gw_asl_jp_int(jp, p + 1, &n);
                if (p == NULL) {
                    return NULL;
                }

                if (*p != ']') {
                    gw_asl_jp_fail(jp, p, "expected ']'");
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
                gw_asl_jp_fail(jp, p, "only names and indexes in a filter's "
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
        p = gw_asl_jp_quoted(jp, p, &len);
        if (p == NULL) {
            return NULL;
        }

        if (cur != NULL) {
            len = gw_asl_jp_unescape(jp, s, len, 1);
            *v = json_stringn_nocheck(jp->buf, len);
            goto made;
        }

        return p;
    }

    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        s = p;
        len = strspn(p, "-+.eE0123456789");

        if (len > GW_ASL_JP_NUMBER_MAX) {
            gw_asl_jp_fail(jp, p, "number too long");
            return NULL;
        }

        memcpy(num, s, len);
        num[len] = '\0';

        /* JSON's own grammar decides what a number is */

        *v = json_loads(num, JSON_DECODE_ANY, NULL);

        if (*v == NULL || !json_is_number(*v)) {
            json_decref(*v);
            *v = NULL;
            gw_asl_jp_fail(jp, p, "bad number");
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
        gw_asl_jp_fail(jp, p, "expected @, $, a number, a string, true, "
                   "false or null");
        return NULL;
    }

    if (gw_asl_jp_name_byte((unsigned char) *p)) {
        json_decref(*v);
        *v = NULL;
        gw_asl_jp_fail(jp, p, "unexpected byte after a literal");
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
gw_asl_jp_compare(json_t *a, json_t *b, gw_asl_jp_op_e op)
{
    int      c, eq;
    size_t   la, lb;
    double   x, y;

    if (a == NULL || b == NULL) {
        return op == GW_ASL_JP_NE;
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
        if (op != GW_ASL_JP_EQ && op != GW_ASL_JP_NE) {
            return 0;
        }

        eq = json_equal(a, b);
        return (op == GW_ASL_JP_EQ) ? eq : !eq;
    }

    switch (op) {
    case GW_ASL_JP_EQ:
        return c == 0;
    case GW_ASL_JP_NE:
        return c != 0;
    case GW_ASL_JP_LT:
        return c < 0;
    case GW_ASL_JP_LE:
        return c <= 0;
    case GW_ASL_JP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}
