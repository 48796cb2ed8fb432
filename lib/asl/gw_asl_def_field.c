
/*
 * Copyright (C) Tollgate
 *
 * The fields a definition's states share (docs/workflow-language.md):
 * Retry and Catch compiled, Map's configuration (concurrency, tolerated
 * failures, ItemReader, ItemBatcher, ResultWriter, Label), Resource
 * URIs, Paths, payload templates, integers and exclusive pairs.
 */


#include <sys/types.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gw_asl_def_int.h"


static int gw_asl_errors_compile(gw_asl_ctx_t *ctx, json_t *obj,
    const char ***errors, size_t *nerrors, int last, const char *ptr);
static int gw_asl_template_walk(gw_asl_ctx_t *ctx, json_t *v,
    const char *ptr, unsigned depth);
static int gw_asl_lambda_check(const char *arn);


static const char *const  gw_asl_retrier_fields[] = {
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate",
    "MaxDelaySeconds", "JitterStrategy", "Comment", NULL
};

static const char *const  gw_asl_catcher_fields[] = {
    "ErrorEquals", "Next", "ResultPath", "Comment", NULL
};

static const char *const  gw_asl_jitters[] = { "FULL", "NONE", NULL };


int
gw_asl_retry_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st, json_t *v,
    const char *ptr)
{
    char               p[GW_ASL_POINTER_MAX], rp[GW_ASL_POINTER_MAX];
    size_t             i, n;
    json_t            *r, *f;
    gw_asl_retrier_t  *rt;

    if (v == NULL) {
        return 0;
    }

    gw_asl_pointer(p, sizeof(p), ptr, "Retry");

    if (!json_is_array(v) || json_array_size(v) > GW_ASL_RETRIERS_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                            "Retry is an array of at most %d retriers",
                            GW_ASL_RETRIERS_MAX);
    }

    n = json_array_size(v);

    st->retry = gw_asl_palloc(ctx, n * sizeof(gw_asl_retrier_t));
    if (st->retry == NULL) {
        return -1;
    }

    json_array_foreach(v, i, r) {
        gw_asl_pointer_index(rp, sizeof(rp), p, i);
        rt = &st->retry[i];

        if (!json_is_object(r)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, rp,
                                "a retrier is a JSON object");
        }

        if (gw_asl_keys_check(ctx, r, gw_asl_retrier_fields, "a retrier",
                              rp) != 0
            || gw_asl_errors_compile(ctx, r, &rt->errors, &rt->nerrors,
                                     i + 1 == n, rp) != 0
            || gw_asl_int_field(ctx, r, "IntervalSeconds", 1,
                                GW_ASL_SECONDS_MAX, rp) != 0
            || gw_asl_int_field(ctx, r, "MaxAttempts", 0,
                                GW_ASL_SECONDS_MAX, rp) != 0
            || gw_asl_int_field(ctx, r, "MaxDelaySeconds", 1,
                                GW_ASL_MAX_DELAY_MAX, rp) != 0
            || gw_asl_enum_field(ctx, r, "JitterStrategy", gw_asl_jitters,
                                 rp) != 0)
        {
            return -1;
        }

        f = json_object_get(r, "IntervalSeconds");
        rt->interval = f != NULL ? json_integer_value(f) : 1;

        f = json_object_get(r, "MaxAttempts");
        rt->max_attempts = f != NULL ? json_integer_value(f) : 3;

        f = json_object_get(r, "MaxDelaySeconds");
        rt->max_delay = f != NULL ? json_integer_value(f) : 0;

        f = json_object_get(r, "JitterStrategy");
        rt->jitter_full = f != NULL
                          && strcmp(json_string_value(f), "FULL") == 0;

        f = json_object_get(r, "BackoffRate");
        rt->backoff = 2.0;

        if (f != NULL) {
            if (!json_is_number(f) || json_number_value(f) < 1.0
                || !isfinite(json_number_value(f)))
            {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                                    gw_asl_pointer(rp, sizeof(rp), rp,
                                                   "BackoffRate"),
                                    "BackoffRate is a number of at least "
                                    "1.0");
            }

            rt->backoff = json_number_value(f);
        }

        st->nretry = i + 1;
    }

    return 0;
}


int
gw_asl_catch_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st, json_t *v,
    const char *ptr)
{
    int                next;
    char               p[GW_ASL_POINTER_MAX], cp[GW_ASL_POINTER_MAX];
    char               np[GW_ASL_POINTER_MAX];
    size_t             i, n;
    json_t            *c;
    gw_asl_catcher_t  *ct;

    if (v == NULL) {
        return 0;
    }

    gw_asl_pointer(p, sizeof(p), ptr, "Catch");

    if (!json_is_array(v) || json_array_size(v) > GW_ASL_RETRIERS_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                            "Catch is an array of at most %d catchers",
                            GW_ASL_RETRIERS_MAX);
    }

    n = json_array_size(v);

    st->catches = gw_asl_palloc(ctx, n * sizeof(gw_asl_catcher_t));
    if (st->catches == NULL) {
        return -1;
    }

    json_array_foreach(v, i, c) {
        gw_asl_pointer_index(cp, sizeof(cp), p, i);
        ct = &st->catches[i];

        if (!json_is_object(c)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, cp,
                                "a catcher is a JSON object");
        }

        if (gw_asl_keys_check(ctx, c, gw_asl_catcher_fields, "a catcher",
                              cp) != 0
            || gw_asl_errors_compile(ctx, c, &ct->errors, &ct->nerrors,
                                     i + 1 == n, cp) != 0
            || gw_asl_path_field(ctx, c, "ResultPath",
                                 GW_ASL_PATH_REFERENCE, 1, cp) != 0)
        {
            return -1;
        }

        if (json_object_get(c, "Next") == NULL) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, cp,
                                "a catcher has a Next");
        }

        next = gw_asl_def_target(ctx, st->machine,
                                 json_object_get(c, "Next"),
                                 gw_asl_pointer(np, sizeof(np), cp, "Next"));
        if (next < 0) {
            return -1;
        }

        ct->next = next;
        ct->result_path = json_object_get(c, "ResultPath");
        st->ncatches = i + 1;
    }

    return 0;
}


/*
 * ErrorEquals: a non-empty array of error names; States.ALL alone in
 * its array, and only in the last retrier or catcher of the state.
 */

static int
gw_asl_errors_compile(gw_asl_ctx_t *ctx, json_t *obj, const char ***errors,
    size_t *nerrors, int last, const char *ptr)
{
    char         p[GW_ASL_POINTER_MAX], ep[GW_ASL_POINTER_MAX];
    size_t       i, n;
    json_t      *v, *e;
    const char  *s;

    v = json_object_get(obj, "ErrorEquals");
    gw_asl_pointer(p, sizeof(p), ptr, "ErrorEquals");

    if (!json_is_array(v) || json_array_size(v) == 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, v ? p : ptr,
                            "ErrorEquals is a non-empty array of error "
                            "names");
    }

    n = json_array_size(v);

    *errors = gw_asl_palloc(ctx, n * sizeof(const char *));
    if (*errors == NULL) {
        return -1;
    }

    json_array_foreach(v, i, e) {
        gw_asl_pointer_index(ep, sizeof(ep), p, i);

        if (!json_is_string(e) || json_string_length(e) == 0
            || json_string_length(e) >= GW_ASL_ERROR_MAX)
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ep,
                                "an error name is a string of 1 to %d "
                                "bytes", GW_ASL_ERROR_MAX - 1);
        }

        s = json_string_value(e);

        if (strcmp(s, GW_ASL_E_ALL) == 0) {
            if (n != 1) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ep,
                                    "States.ALL is alone in its "
                                    "ErrorEquals");
            }

            if (!last) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ep,
                                    "States.ALL is only in the last "
                                    "retrier or catcher");
            }
        }

        (*errors)[i] = s;
    }

    *nerrors = n;

    return 0;
}


/*
 * A Resource: a URI (a scheme, ":", and no space or control character).
 * A Lambda function ARN also has a valid function name and qualifier,
 * as AWS checks them.
 */

int
gw_asl_resource_check(gw_asl_ctx_t *ctx, json_t *v, const char *ptr)
{
    const u_char  *s, *c;

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "Resource is a URI");
    }

    s = (const u_char *) json_string_value(v);

    for (c = s; *c != '\0' && *c != ':'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
              || (c > s && ((*c >= '0' && *c <= '9') || *c == '+'
                            || *c == '-' || *c == '.'))))
        {
            break;
        }
    }

    if (c == s || *c != ':') {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "Resource is a URI (a scheme and \":\" first)");
    }

    for ( /* void */ ; *c != '\0'; c++) {
        if (*c <= 0x20 || *c == 0x7f) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                                "Resource is a URI: no space or control "
                                "character");
        }
    }

    if (gw_asl_lambda_check((const char *) s) != 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a Lambda function ARN ends with the "
                            "function's name and an optional qualifier "
                            "(letters, digits, - and _, or $LATEST)");
    }

    return 0;
}


/* arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] */

static int
gw_asl_lambda_check(const char *arn)
{
    size_t       i, n;
    const char  *p, *q;

    p = arn;

    for (i = 0; i < 6; i++) {
        q = strchr(p, ':');

        if (q == NULL) {
            return 0;
        }

        if ((i == 0 && (q - p != 3 || strncmp(p, "arn", 3) != 0))
            || (i == 2 && (q - p != 6 || strncmp(p, "lambda", 6) != 0))
            || (i == 5 && (q - p != 8 || strncmp(p, "function", 8) != 0)))
        {
            return 0;
        }

        p = q + 1;
    }

    /* NAME */

    n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_");

    if (n == 0 || n > 64) {
        return -1;
    }

    p += n;

    if (*p == '\0') {
        return 0;
    }

    if (*p++ != ':') {
        return -1;
    }

    if (strcmp(p, "$LATEST") == 0) {
        return 0;
    }

    n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_");

    return (n == 0 || n > 128 || p[n] != '\0') ? -1 : 0;
}


int
gw_asl_path_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    int kind, int nullable, const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL || (nullable && json_is_null(v))) {
        return 0;
    }

    gw_asl_pointer(p, sizeof(p), ptr, key);

    if (!json_is_string(v)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                            "%s is a %s%s", key,
                            kind == GW_ASL_PATH_REFERENCE
                            ? "Reference Path" : "Path",
                            nullable ? " or null" : "");
    }

    if (gw_asl_path_check(json_string_value(v), kind, ctx->err) != 0) {
        /* the path helper's cause, under our name and pointer */
        snprintf(ctx->err->error, sizeof(ctx->err->error), "%s",
                 GW_ASL_E_INVALID);
        snprintf(ctx->err->pointer, sizeof(ctx->err->pointer), "%s", p);
        return -1;
    }

    return 0;
}


int
gw_asl_template_field(gw_asl_ctx_t *ctx, json_t *v, const char *ptr)
{
    if (gw_asl_template_walk(ctx, v, ptr, 0) != 0) {
        return -1;
    }

    if (gw_asl_template_check(v, ptr, ctx->err) != 0) {
        snprintf(ctx->err->error, sizeof(ctx->err->error), "%s",
                 GW_ASL_E_INVALID);
        return -1;
    }

    return 0;
}


/* two fields of one object naming one field once ".$" is removed */

static int
gw_asl_template_walk(gw_asl_ctx_t *ctx, json_t *v, const char *ptr,
    unsigned depth)
{
    char         p[GW_ASL_POINTER_MAX], name[GW_ASL_PATH_MAX];
    size_t       i, n;
    json_t      *e;
    const char  *key;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a payload template nested over %d levels",
                            GW_ASL_JSON_DEPTH_MAX);
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            gw_asl_pointer_index(p, sizeof(p), ptr, i);

            if (gw_asl_template_walk(ctx, e, p, depth + 1) != 0) {
                return -1;
            }
        }

        return 0;
    }

    if (!json_is_object(v)) {
        return 0;
    }

    json_object_foreach(v, key, e) {
        gw_asl_pointer(p, sizeof(p), ptr, key);
        n = strlen(key);

        if (n > 2 && strcmp(key + n - 2, ".$") == 0) {
            if (n - 2 >= sizeof(name)) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                    "a field name over %d bytes",
                                    GW_ASL_PATH_MAX);
            }

            memcpy(name, key, n - 2);
            name[n - 2] = '\0';

            if (json_object_get(v, name) != NULL) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                    "the fields \"%s\" and \"%s\" name one "
                                    "field", name, key);
            }

            if (!json_is_string(e)) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                    "a \".$\" field holds a path or an "
                                    "intrinsic function call (a string)");
            }

            continue;
        }

        if (gw_asl_template_walk(ctx, e, p, depth + 1) != 0) {
            return -1;
        }
    }

    return 0;
}


int
gw_asl_int_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    json_int_t min, json_int_t max, const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_integer(v) || json_integer_value(v) < min
        || json_integer_value(v) > max)
    {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, key),
                            "%s is an integer from %lld to %lld", key,
                            (long long) min, (long long) max);
    }

    return 0;
}


int
gw_asl_exclusive(gw_asl_ctx_t *ctx, json_t *obj, const char *a,
    const char *b, const char *ptr)
{
    char  p[GW_ASL_POINTER_MAX];

    if (json_object_get(obj, a) != NULL && json_object_get(obj, b) != NULL) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, b),
                            "%s and %s exclude each other", a, b);
    }

    return 0;
}


int
gw_asl_keys_check(gw_asl_ctx_t *ctx, json_t *obj,
    const char *const *names, const char *what, const char *ptr)
{
    char         p[GW_ASL_POINTER_MAX];
    size_t       i;
    json_t      *v;
    const char  *key;

    json_object_foreach(obj, key, v) {
        for (i = 0; names[i] != NULL; i++) {
            if (strcmp(key, names[i]) == 0) {
                break;
            }
        }

        if (names[i] == NULL) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                                gw_asl_pointer(p, sizeof(p), ptr, key),
                                "%s has no field \"%s\"", what, key);
        }
    }

    return 0;
}


int
gw_asl_enum_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    size_t   i;
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    for (i = 0; json_is_string(v) && values[i] != NULL; i++) {
        if (strcmp(json_string_value(v), values[i]) == 0) {
            return 0;
        }
    }

    return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                        gw_asl_pointer(p, sizeof(p), ptr, key),
                        "%s is one of %s%s%s%s%s", key, values[0],
                        values[1] ? ", " : "", values[1] ? values[1] : "",
                        values[1] && values[2] ? ", ..." : "", "");
}
