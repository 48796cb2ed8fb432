
/*
 * Copyright (C) Tollgate
 *
 * Choice rules (docs/workflow-language.md, "Choice"): compiled once
 * with the definition, evaluated against a state's effective input.
 *
 * A rule is a comparison (Variable, one operator and its operand) or a
 * combination (And, Or: a non-empty array of rules; Not: one rule).
 * The compiled rule holds a reference to its JSON (operands and paths
 * point into it), the operator, a parsed timestamp for the Timestamp*
 * operators and a pattern for StringMatches.  Nesting is bounded by
 * GW_ASL_RULE_DEPTH_MAX, so compiling and evaluating recurse a bounded
 * number of times.
 *
 * Semantics follow AWS where the spec is silent: values of another type
 * than the operator's never match (no error); strings compare in
 * UTF-16 code unit order, as Java does; numbers compare exactly across
 * integers and reals; timestamps compare as instants; Is* set to false
 * match values that are not of that kind; a Variable that names nothing
 * is States.Runtime, as AWS fails the state ("The choice state's
 * condition path references an invalid value"), except under IsPresent,
 * which is false then (And stops at the first false rule, so an
 * IsPresent guard before a comparison keeps it from failing); a ...Path
 * operand that names nothing is States.Runtime too.
 */


#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_def_int.h"


typedef enum {
    GW_ASL_K_STRING = 0,
    GW_ASL_K_NUMERIC,
    GW_ASL_K_BOOLEAN,
    GW_ASL_K_TIMESTAMP,
    GW_ASL_K_MATCHES,
    GW_ASL_K_IS,
    GW_ASL_K_AND,
    GW_ASL_K_OR,
    GW_ASL_K_NOT
} gw_asl_kind_e;


typedef enum {
    GW_ASL_EQ = 0,
    GW_ASL_LT,
    GW_ASL_GT,
    GW_ASL_LE,
    GW_ASL_GE,
    GW_ASL_IS_NULL,
    GW_ASL_IS_PRESENT,
    GW_ASL_IS_NUMERIC,
    GW_ASL_IS_STRING,
    GW_ASL_IS_BOOLEAN,
    GW_ASL_IS_TIMESTAMP
} gw_asl_cmp_e;


typedef struct {
    const char          *name;
    gw_asl_kind_e        kind;
    gw_asl_cmp_e         cmp;
    unsigned             path:1;
} gw_asl_op_t;


struct gw_asl_rule_s {
    json_t              *json;          /* a reference held */
    const gw_asl_op_t   *op;
    const char          *variable;
    json_t              *operand;       /* the literal, or the path */
    int64_t              ts_ms;         /* a Timestamp* literal */
    int32_t              ts_ns;
    int                 *pattern;       /* StringMatches: bytes, STAR */
    size_t               npattern;
    gw_asl_rule_t      **subs;          /* And, Or, Not */
    size_t               nsubs;
};


static const gw_asl_op_t  gw_asl_ops[] = {
    { "StringEquals",                 GW_ASL_K_STRING, GW_ASL_EQ, 0 },
    { "StringLessThan",               GW_ASL_K_STRING, GW_ASL_LT, 0 },
    { "StringGreaterThan",            GW_ASL_K_STRING, GW_ASL_GT, 0 },
    { "StringLessThanEquals",         GW_ASL_K_STRING, GW_ASL_LE, 0 },
    { "StringGreaterThanEquals",      GW_ASL_K_STRING, GW_ASL_GE, 0 },
    { "StringEqualsPath",             GW_ASL_K_STRING, GW_ASL_EQ, 1 },
    { "StringLessThanPath",           GW_ASL_K_STRING, GW_ASL_LT, 1 },
    { "StringGreaterThanPath",        GW_ASL_K_STRING, GW_ASL_GT, 1 },
    { "StringLessThanEqualsPath",     GW_ASL_K_STRING, GW_ASL_LE, 1 },
    { "StringGreaterThanEqualsPath",  GW_ASL_K_STRING, GW_ASL_GE, 1 },
    { "StringMatches",                GW_ASL_K_MATCHES, GW_ASL_EQ, 0 },
    { "NumericEquals",                GW_ASL_K_NUMERIC, GW_ASL_EQ, 0 },
    { "NumericLessThan",              GW_ASL_K_NUMERIC, GW_ASL_LT, 0 },
    { "NumericGreaterThan",           GW_ASL_K_NUMERIC, GW_ASL_GT, 0 },
    { "NumericLessThanEquals",        GW_ASL_K_NUMERIC, GW_ASL_LE, 0 },
    { "NumericGreaterThanEquals",     GW_ASL_K_NUMERIC, GW_ASL_GE, 0 },
    { "NumericEqualsPath",            GW_ASL_K_NUMERIC, GW_ASL_EQ, 1 },
    { "NumericLessThanPath",          GW_ASL_K_NUMERIC, GW_ASL_LT, 1 },
    { "NumericGreaterThanPath",       GW_ASL_K_NUMERIC, GW_ASL_GT, 1 },
    { "NumericLessThanEqualsPath",    GW_ASL_K_NUMERIC, GW_ASL_LE, 1 },
    { "NumericGreaterThanEqualsPath", GW_ASL_K_NUMERIC, GW_ASL_GE, 1 },
    { "BooleanEquals",                GW_ASL_K_BOOLEAN, GW_ASL_EQ, 0 },
    { "BooleanEqualsPath",            GW_ASL_K_BOOLEAN, GW_ASL_EQ, 1 },
    { "TimestampEquals",              GW_ASL_K_TIMESTAMP, GW_ASL_EQ, 0 },
    { "TimestampLessThan",            GW_ASL_K_TIMESTAMP, GW_ASL_LT, 0 },
    { "TimestampGreaterThan",         GW_ASL_K_TIMESTAMP, GW_ASL_GT, 0 },
    { "TimestampLessThanEquals",      GW_ASL_K_TIMESTAMP, GW_ASL_LE, 0 },
    { "TimestampGreaterThanEquals",   GW_ASL_K_TIMESTAMP, GW_ASL_GE, 0 },
    { "TimestampEqualsPath",          GW_ASL_K_TIMESTAMP, GW_ASL_EQ, 1 },
    { "TimestampLessThanPath",        GW_ASL_K_TIMESTAMP, GW_ASL_LT, 1 },
    { "TimestampGreaterThanPath",     GW_ASL_K_TIMESTAMP, GW_ASL_GT, 1 },
    { "TimestampLessThanEqualsPath",  GW_ASL_K_TIMESTAMP, GW_ASL_LE, 1 },
    { "TimestampGreaterThanEqualsPath",
                                      GW_ASL_K_TIMESTAMP, GW_ASL_GE, 1 },
    { "IsNull",                       GW_ASL_K_IS, GW_ASL_IS_NULL, 0 },
    { "IsPresent",                    GW_ASL_K_IS, GW_ASL_IS_PRESENT, 0 },
    { "IsNumeric",                    GW_ASL_K_IS, GW_ASL_IS_NUMERIC, 0 },
    { "IsString",                     GW_ASL_K_IS, GW_ASL_IS_STRING, 0 },
    { "IsBoolean",                    GW_ASL_K_IS, GW_ASL_IS_BOOLEAN, 0 },
    { "IsTimestamp",                  GW_ASL_K_IS, GW_ASL_IS_TIMESTAMP, 0 },
    { "And",                          GW_ASL_K_AND, GW_ASL_EQ, 0 },
    { "Or",                           GW_ASL_K_OR, GW_ASL_EQ, 0 },
    { "Not",                          GW_ASL_K_NOT, GW_ASL_EQ, 0 },
    { NULL, 0, 0, 0 }
};


static gw_asl_rule_t *gw_asl_rule_build(json_t *json, int top,
    const char *ptr, unsigned depth, gw_asl_err_t *err);
static int gw_asl_rule_operand(gw_asl_rule_t *r, const char *ptr,
    gw_asl_err_t *err);
static int gw_asl_rule_subs(gw_asl_rule_t *r, const char *ptr,
    unsigned depth, gw_asl_err_t *err);
static int gw_asl_pattern_compile(gw_asl_rule_t *r, const char *s);
static int gw_asl_compare(const gw_asl_rule_t *r, json_t *v, json_t *o);
static int gw_asl_is(gw_asl_cmp_e cmp, json_t *v);


gw_asl_rule_t *
gw_asl_rule_compile(json_t *rule, int top, const char *pointer,
    gw_asl_err_t *err)
{
    gw_asl_err_t  local;

    return gw_asl_rule_build(rule, top, pointer ? pointer : "", 0,
                             err != NULL ? err : &local);
}


static gw_asl_rule_t *
gw_asl_rule_build(json_t *json, int top, const char *ptr, unsigned depth,
    gw_asl_err_t *err)
{
    char                p[GW_ASL_POINTER_MAX];
    json_t             *v;
    const char         *key;
    gw_asl_rule_t      *r;
    const gw_asl_op_t  *op;

    if (!json_is_object(json)) {
        gw_asl_error(err, GW_ASL_E_INVALID, ptr,
                     "a Choice rule is a JSON object");
        return NULL;
    }

    if (depth > GW_ASL_RULE_DEPTH_MAX) {
        gw_asl_error(err, GW_ASL_E_INVALID, ptr,
                     "Choice rules nested over %d levels (And, Or, Not)",
                     GW_ASL_RULE_DEPTH_MAX);
        return NULL;
    }

    op = NULL;

    json_object_foreach(json, key, v) {
        gw_asl_pointer(p, sizeof(p), ptr, key);

        if (strcmp(key, "Variable") == 0 || strcmp(key, "Comment") == 0) {
            if (!json_is_string(v)) {
                gw_asl_error(err, GW_ASL_E_INVALID, p, "%s is a string",
                             key);
                return NULL;
            }

            continue;
        }

        if (strcmp(key, "Next") == 0) {
            if (!top) {
                gw_asl_error(err, GW_ASL_E_INVALID, p, "a rule inside And, "
                             "Or or Not has no Next");
                return NULL;
            }

            continue;
        }

        for (op = gw_asl_ops; op->name != NULL; op++) {
            if (strcmp(key, op->name) == 0) {
                break;
            }
        }

        if (op->name == NULL) {
            gw_asl_error(err, GW_ASL_E_INVALID, p,
                         "a Choice rule has no field \"%s\"", key);
            return NULL;
        }
    }

    if (top && json_object_get(json, "Next") == NULL) {
        gw_asl_error(err, GW_ASL_E_INVALID, ptr,
                     "a rule of Choices has a Next");
        return NULL;
    }

    /* exactly one operator */

    op = NULL;

    json_object_foreach(json, key, v) {
        const gw_asl_op_t  *o;

        for (o = gw_asl_ops; o->name != NULL; o++) {
            if (strcmp(key, o->name) != 0) {
                continue;
            }

            if (op != NULL) {
                gw_asl_error(err, GW_ASL_E_INVALID,
                             gw_asl_pointer(p, sizeof(p), ptr, key),
                             "a Choice rule has one operator, not %s and "
                             "%s", op->name, key);
                return NULL;
            }

            op = o;
        }
    }

    if (op == NULL) {
        gw_asl_error(err, GW_ASL_E_INVALID, ptr,
                     "a Choice rule has a comparison operator, or And, Or "
                     "or Not");
        return NULL;
    }

    r = calloc(1, sizeof(gw_asl_rule_t));
    if (r == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, ptr, "out of memory");
        return NULL;
    }

    r->json = json_incref(json);
    r->op = op;
    r->operand = json_object_get(json, op->name);

    if (op->kind >= GW_ASL_K_AND) {
        if (json_object_get(json, "Variable") != NULL) {
            gw_asl_error(err, GW_ASL_E_INVALID,
                         gw_asl_pointer(p, sizeof(p), ptr, "Variable"),
                         "%s has no Variable", op->name);
            goto failed;
        }

        if (gw_asl_rule_subs(r, ptr, depth, err) != 0) {
            goto failed;
        }

        return r;
    }

    if (gw_asl_rule_operand(r, ptr, err) != 0) {
        goto failed;
    }

    return r;

failed:

    gw_asl_rule_free(r);
    return NULL;
}


static int
gw_asl_rule_operand(gw_asl_rule_t *r, const char *ptr, gw_asl_err_t *err)
{
    char         p[GW_ASL_POINTER_MAX];
    json_t      *v, *o;
    const char  *why;

    v = json_object_get(r->json, "Variable");

    if (v == NULL) {
        return gw_asl_error(err, GW_ASL_E_INVALID, ptr,
                            "a comparison has a Variable");
    }

    gw_asl_pointer(p, sizeof(p), ptr, "Variable");

    if (gw_asl_path_check(json_string_value(v), GW_ASL_PATH_REFERENCE, err)
        != 0)
    {
        snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_INVALID);
        snprintf(err->pointer, sizeof(err->pointer), "%s", p);
        return -1;
    }

    r->variable = json_string_value(v);

    o = r->operand;
    gw_asl_pointer(p, sizeof(p), ptr, r->op->name);

    if (r->op->path) {
        if (!json_is_string(o)
            || gw_asl_path_check(json_string_value(o),
                                 GW_ASL_PATH_REFERENCE, err) != 0)
        {
            return gw_asl_error(err, GW_ASL_E_INVALID, p,
                                "%s is a Reference Path", r->op->name);
        }

        return 0;
    }

    why = NULL;

    switch (r->op->kind) {

    case GW_ASL_K_STRING:
        why = json_is_string(o) ? NULL : "a string";
        break;

    case GW_ASL_K_MATCHES:
        why = json_is_string(o) ? NULL : "a string (a pattern)";

        if (why == NULL
            && gw_asl_pattern_compile(r, json_string_value(o)) != 0)
        {
            return gw_asl_error(err, GW_ASL_E_RUNTIME, p, "out of memory");
        }

        break;

    case GW_ASL_K_NUMERIC:
        why = json_is_number(o) ? NULL : "a number";
        break;

    case GW_ASL_K_BOOLEAN:
    case GW_ASL_K_IS:
        why = json_is_boolean(o) ? NULL : "a boolean";
        break;

    default: /* GW_ASL_K_TIMESTAMP */
        if (!json_is_string(o)
            || gw_asl_timestamp_parse(json_string_value(o), &r->ts_ms,
                                      &r->ts_ns) != 0)
        {
            why = "an RFC 3339 timestamp (\"2016-03-14T01:59:00Z\")";
        }

        break;
    }

    if (why != NULL) {
        return gw_asl_error(err, GW_ASL_E_INVALID, p, "%s is %s",
                            r->op->name, why);
    }

    return 0;
}


static int
gw_asl_rule_subs(gw_asl_rule_t *r, const char *ptr, unsigned depth,
    gw_asl_err_t *err)
{
    char     p[GW_ASL_POINTER_MAX], sp[GW_ASL_POINTER_MAX];
    size_t   i, n;
    json_t  *o, *sub;

    o = r->operand;
    gw_asl_pointer(p, sizeof(p), ptr, r->op->name);

    if (r->op->kind == GW_ASL_K_NOT) {
        r->subs = calloc(1, sizeof(gw_asl_rule_t *));
        if (r->subs == NULL) {
            return gw_asl_error(err, GW_ASL_E_RUNTIME, p, "out of memory");
        }

        r->subs[0] = gw_asl_rule_build(o, 0, p, depth + 1, err);
        if (r->subs[0] == NULL) {
            return -1;
        }

        r->nsubs = 1;
        return 0;
    }

    if (!json_is_array(o) || json_array_size(o) == 0) {
        return gw_asl_error(err, GW_ASL_E_INVALID, p,
                            "%s is a non-empty array of rules",
                            r->op->name);
    }

    n = json_array_size(o);

    r->subs = calloc(n, sizeof(gw_asl_rule_t *));
    if (r->subs == NULL) {
        return gw_asl_error(err, GW_ASL_E_RUNTIME, p, "out of memory");
    }

    json_array_foreach(o, i, sub) {
        gw_asl_pointer_index(sp, sizeof(sp), p, i);

        r->subs[i] = gw_asl_rule_build(sub, 0, sp, depth + 1, err);
        if (r->subs[i] == NULL) {
            return -1;
        }

        r->nsubs = i + 1;
    }

    return 0;
}


/* "\*" a literal star, "\\" a literal backslash, "*" any string */

static int
gw_asl_pattern_compile(gw_asl_rule_t *r, const char *s)
{
    size_t  n;

    r->pattern = malloc((strlen(s) + 1) * sizeof(int));
    if (r->pattern == NULL) {
        return -1;
    }

    for (n = 0; *s != '\0'; s++) {
        if (*s == '\\' && (s[1] == '*' || s[1] == '\\')) {
            s++;
            r->pattern[n++] = (u_char) *s;

        } else if (*s == '*') {
            r->pattern[n++] = GW_ASL_STAR;

        } else {
            r->pattern[n++] = (u_char) *s;
        }
    }

    r->npattern = n;

    return 0;
}


void
gw_asl_rule_free(gw_asl_rule_t *rule)
{
    size_t  i;

    if (rule == NULL) {
        return;
    }

    for (i = 0; i < rule->nsubs; i++) {
        gw_asl_rule_free(rule->subs[i]);
    }

    free(rule->subs);
    free(rule->pattern);
    json_decref(rule->json);
    free(rule);
}


int
gw_asl_rule_eval(gw_asl_rule_t *rule, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    int            rc;
    size_t         i;
    json_t        *v, *o;
    gw_asl_err_t   e;

    switch (rule->op->kind) {

    case GW_ASL_K_AND:
    case GW_ASL_K_OR:
        for (i = 0; i < rule->nsubs; i++) {
            rc = gw_asl_rule_eval(rule->subs[i], input, context, err);

            if (rc < 0) {
                return -1;
            }

            if (rc == (rule->op->kind == GW_ASL_K_OR)) {
                return rc;
            }
        }

        return rule->op->kind == GW_ASL_K_AND;

    case GW_ASL_K_NOT:
        rc = gw_asl_rule_eval(rule->subs[0], input, context, err);
        return rc < 0 ? -1 : !rc;

    default:
        break;
    }

    v = gw_asl_path_get(rule->variable, input, context, &e);

    if (v == NULL
        && (rule->op->kind != GW_ASL_K_IS
            || rule->op->cmp != GW_ASL_IS_PRESENT))
    {
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "Invalid path '%s': The choice state's condition "
                            "path references an invalid value.",
                            rule->variable);
    }

    if (rule->op->kind == GW_ASL_K_IS) {
        rc = (rule->op->cmp == GW_ASL_IS_PRESENT) ? (v != NULL)
                                                    : gw_asl_is(rule->op->cmp,
                                                                v);
        json_decref(v);

        /* "IsX": false matches what is not X */

        return rc == json_is_true(rule->operand);
    }

    o = rule->operand;

    if (rule->op->path) {
        o = gw_asl_path_get(json_string_value(rule->operand), input,
                            context, &e);
        if (o == NULL) {
            json_decref(v);
            return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                                "the path %s of %s names nothing in the "
                                "input", json_string_value(rule->operand),
                                rule->op->name);
        }

    } else {
        json_incref(o);
    }

    rc = gw_asl_compare(rule, v, o);

    json_decref(v);
    json_decref(o);

    return rc;
}


static int
gw_asl_compare(const gw_asl_rule_t *r, json_t *v, json_t *o)
{
    int      c;
    int32_t  vn, on;
    int64_t  vm, om;

    switch (r->op->kind) {

    case GW_ASL_K_STRING:
        if (!json_is_string(v) || !json_is_string(o)) {
            return 0;
        }

        c = gw_asl_utf16_cmp(v, o);
        break;

    case GW_ASL_K_MATCHES:
        if (!json_is_string(v)) {
            return 0;
        }

        return gw_asl_matches(r->pattern, r->npattern, json_string_value(v),
                              json_string_length(v));

    case GW_ASL_K_NUMERIC:
        if (!json_is_number(v) || !json_is_number(o)) {
            return 0;
        }

        c = gw_asl_number_cmp(v, o);
        break;

    case GW_ASL_K_BOOLEAN:
        if (!json_is_boolean(v) || !json_is_boolean(o)) {
            return 0;
        }

        return json_is_true(v) == json_is_true(o);

    default: /* GW_ASL_K_TIMESTAMP */
        if (!json_is_string(v)
            || gw_asl_timestamp_parse(json_string_value(v), &vm, &vn) != 0)
        {
            return 0;
        }

        if (r->op->path) {
            if (!json_is_string(o)
                || gw_asl_timestamp_parse(json_string_value(o), &om, &on)
                   != 0)
            {
                return 0;
            }

        } else {
            om = r->ts_ms;
            on = r->ts_ns;
        }

        c = (vm < om) ? -1 : (vm > om) ? 1 : (vn < on) ? -1 : (vn > on);
        break;
    }

    switch (r->op->cmp) {
    case GW_ASL_EQ:
        return c == 0;
    case GW_ASL_LT:
        return c < 0;
    case GW_ASL_GT:
        return c > 0;
    case GW_ASL_LE:
        return c <= 0;
    default:
        return c >= 0;
    }
}


static int
gw_asl_is(gw_asl_cmp_e cmp, json_t *v)
{
    int32_t  ns;
    int64_t  ms;

    switch (cmp) {
    case GW_ASL_IS_NULL:
        return json_is_null(v);
    case GW_ASL_IS_NUMERIC:
        return json_is_number(v);
    case GW_ASL_IS_STRING:
        return json_is_string(v);
    case GW_ASL_IS_BOOLEAN:
        return json_is_boolean(v);
    default: /* GW_ASL_IS_TIMESTAMP */
        return json_is_string(v)
               && gw_asl_timestamp_parse(json_string_value(v), &ms, &ns)
                  == 0;
    }
}
