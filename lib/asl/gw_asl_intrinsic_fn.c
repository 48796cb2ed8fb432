
/*
 * Copyright (C) Tollgate
 *
 * The intrinsic functions themselves, as AWS's Step Functions guide
 * documents them; where executions recorded against AWS showed more, or
 * the guide is silent, the choice is said at the function.  Arguments
 * arrive evaluated and of the types the table names; every failure is
 * States.IntrinsicFailure, except text grown past GW_ASL_PAYLOAD_MAX
 * (States.DataLimitExceeded, as the payload it would become).
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_intrinsic_int.h"


static json_t *gw_asl_ifn_format(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_string_to_json(gw_asl_icall_t *call,
    json_t **argv, size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_json_to_string(gw_asl_icall_t *call,
    json_t **argv, size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_array(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_partition(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_contains(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_range(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_get_item(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_length(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_unique(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
static json_t *gw_asl_ifn_merge(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);


#define GW_ASL_IFN_ANY  ((size_t) -1)


static const gw_asl_ifn_t  gw_asl_ifns[] = {
    { "States.Format", 1, GW_ASL_IFN_ANY, "sf", gw_asl_ifn_format },
    { "States.StringToJson", 1, 1, "s", gw_asl_ifn_string_to_json },
    { "States.JsonToString", 1, 1, "*", gw_asl_ifn_json_to_string },
    { "States.Array", 0, GW_ASL_IFN_ANY, "*", gw_asl_ifn_array },
    { "States.ArrayPartition", 2, 2, "ai", gw_asl_ifn_partition },
    { "States.ArrayContains", 2, 2, "a*", gw_asl_ifn_contains },
    { "States.ArrayRange", 3, 3, "iii", gw_asl_ifn_range },
    { "States.ArrayGetItem", 2, 2, "ai", gw_asl_ifn_get_item },
    { "States.ArrayLength", 1, 1, "a", gw_asl_ifn_length },
    { "States.ArrayUnique", 1, 1, "a", gw_asl_ifn_unique },
    { "States.Base64Encode", 1, 1, "s", gw_asl_ifn_b64_encode },
    { "States.Base64Decode", 1, 1, "s", gw_asl_ifn_b64_decode },
    { "States.Hash", 2, 2, "ss", gw_asl_ifn_hash },
    { "States.JsonMerge", 3, 3, "oob", gw_asl_ifn_merge },
    { "States.MathRandom", 2, 3, "iii", gw_asl_ifn_random },
    { "States.MathAdd", 2, 2, "nn", gw_asl_ifn_add },
    { "States.StringSplit", 2, 2, "ss", gw_asl_ifn_split },
    { "States.UUID", 0, 0, "", gw_asl_ifn_uuid }
};


const gw_asl_ifn_t *
gw_asl_ifn_find(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(gw_asl_ifns) / sizeof(gw_asl_ifns[0]); i++) {
        if (strlen(gw_asl_ifns[i].name) == len
            && memcmp(gw_asl_ifns[i].name, name, len) == 0)
        {
            return &gw_asl_ifns[i];
        }
    }

    return NULL;
}


/* an integral number as int64 (the table checked it is integral) */

int64_t
gw_asl_ifn_int(json_t *v)
{
    double  d;

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    d = json_real_value(v);

    return (int64_t) d;
}


/*
 * The placeholders of a Format template: of a literal as written (an
 * escaped \{ or \} is no placeholder), else of the string's value.
 * With out non-NULL, the template is written with args in place.
 */

static long
gw_asl_ifn_format_run(gw_asl_iarg_t *tmpl, json_t *value, json_t **args,
    size_t nargs, gw_asl_ibuf_t *out)
{
    long         count;
    json_t      *a;
    const char  *p, *end;
    unsigned     literal;

    literal = (tmpl != NULL && tmpl->kind == GW_ASL_IARG_VALUE
               && tmpl->raw != NULL);

    if (literal) {
        p = tmpl->raw;
        end = p + tmpl->raw_len;

    } else {
        p = json_string_value(value);
        end = p + json_string_length(value);
    }

    count = 0;

    while (p < end) {
        if (literal && *p == '\\' && p + 1 < end) {
            if (out != NULL && gw_asl_ibuf_add(out, p + 1, 1) != 0) {
                return -1;
            }

            p += 2;
            continue;
        }

        if (*p == '{' && p + 1 < end && p[1] == '}') {
            if (out != NULL && (size_t) count < nargs) {
                a = args[count];

                if (json_is_string(a)) {
                    if (gw_asl_ibuf_add(out, json_string_value(a),
                                        json_string_length(a))
                        != 0)
                    {
                        return -1;
                    }

                } else if (gw_asl_ibuf_json(out, a, 0) != 0) {
                    return -1;
                }
            }

            count++;
            p += 2;
            continue;
        }

        if (out != NULL && gw_asl_ibuf_add(out, p, 1) != 0) {
            return -1;
        }

        p++;
    }

    return count;
}


static json_t *
gw_asl_ifn_format(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    long            count;
    json_t         *v;
    gw_asl_ibuf_t   b;

    count = gw_asl_ifn_format_run(&call->args[0], argv[0], NULL, 0, NULL);

    if ((size_t) count != argc - 1) {
        return gw_asl_ifn_fail(err, call, "States.Format: the template has "
                               "%ld placeholder%s, the call %zu value%s",
                               count, count == 1 ? "" : "s", argc - 1,
                               argc == 2 ? "" : "s");
    }

    memset(&b, 0, sizeof(b));
    b.max = GW_ASL_PAYLOAD_MAX;

    if (gw_asl_ifn_format_run(&call->args[0], argv[0], argv + 1, argc - 1,
                              &b)
        < 0)
    {
        gw_asl_ibuf_fail(&b, "States.Format's result", err);
        return NULL;
    }

    v = json_stringn(b.data ? b.data : "", b.len);
    free(b.data);

    if (v == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Format: out of memory");
    }

    return v;
}


static unsigned
gw_asl_ifn_depth(json_t *v, unsigned depth)
{
    size_t       i;
    json_t      *m;
    unsigned     d, max;
    const char  *key;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        return depth;
    }

    max = depth;

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            d = gw_asl_ifn_depth(m, depth + 1);
            max = d > max ? d : max;
        }

    } else if (json_is_object(v)) {
        json_object_foreach(v, key, m) {
            d = gw_asl_ifn_depth(m, depth + 1);
            max = d > max ? d : max;
        }
    }

    return max;
}


/* "" is null (as AWS does); JSON text nested past the payload cap fails */

static json_t *
gw_asl_ifn_string_to_json(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    json_t        *v;
    json_error_t   e;

    if (json_string_length(argv[0]) == 0) {
        return json_null();
    }

    v = json_loadb(json_string_value(argv[0]), json_string_length(argv[0]),
                   JSON_DECODE_ANY, &e);
    if (v == NULL) {
        return gw_asl_ifn_fail(err, call, "States.StringToJson: not JSON "
                               "(%.200s at character %d)", e.text,
                               e.position);
    }

    if (gw_asl_ifn_depth(v, 1) > GW_ASL_JSON_DEPTH_MAX) {
        json_decref(v);
        return gw_asl_ifn_fail(err, call, "States.StringToJson: JSON nested "
                               "deeper than %d", GW_ASL_JSON_DEPTH_MAX);
    }

    return v;
}


static json_t *
gw_asl_ifn_json_to_string(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    json_t         *v;
    gw_asl_ibuf_t   b;

    memset(&b, 0, sizeof(b));
    b.max = GW_ASL_PAYLOAD_MAX;

    if (gw_asl_ibuf_json(&b, argv[0], 0) != 0) {
        gw_asl_ibuf_fail(&b, "States.JsonToString's result", err);
        return NULL;
    }

    v = json_stringn(b.data, b.len);
    free(b.data);

    if (v == NULL) {
        return gw_asl_ifn_fail(err, call, "States.JsonToString: out of "
                               "memory");
    }

    return v;
}


static json_t *
gw_asl_ifn_array(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t   i;
    json_t  *a;

    a = json_array();
    if (a == NULL) {
        return gw_asl_ifn_fail(err, call, "States.Array: out of memory");
    }

    for (i = 0; i < argc; i++) {
        if (json_array_append(a, argv[i]) != 0) {
            json_decref(a);
            return gw_asl_ifn_fail(err, call, "States.Array: out of memory");
        }
    }

    return a;
}


static json_t *
gw_asl_ifn_partition(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t    i, n;
    json_t   *out, *chunk;
    int64_t   size;

    size = gw_asl_ifn_int(argv[1]);
    if (size <= 0) {
        return gw_asl_ifn_fail(err, call, "States.ArrayPartition: the chunk "
                               "size must be a positive integer, not "
                               "%lld", (long long) size);
    }

    out = json_array();
    chunk = NULL;
    n = json_array_size(argv[0]);

    if (out == NULL) {
        goto nomem;
    }

    for (i = 0; i < n; i++) {
        if ((int64_t) (i % (uint64_t) size) == 0) {
            chunk = json_array();
            if (chunk == NULL || json_array_append_new(out, chunk) != 0) {
                goto nomem;
            }
        }

        if (json_array_append(chunk, json_array_get(argv[0], i)) != 0) {
            goto nomem;
        }
    }

    return out;

nomem:

    json_decref(out);
    return gw_asl_ifn_fail(err, call, "States.ArrayPartition: out of "
                           "memory");
}


static json_t *
gw_asl_ifn_contains(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t   i;
    json_t  *m;

    json_array_foreach(argv[0], i, m) {
        if (gw_asl_ivalue_equal(m, argv[1], 0)) {
            return json_true();
        }
    }

    return json_false();
}


/* first to last, both included, by step; at most 1000 elements (AWS) */

static json_t *
gw_asl_ifn_range(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    json_t    *out, *v;
    int64_t    first, last, step;
    uint64_t   span, mag, count, i;

    first = gw_asl_ifn_int(argv[0]);
    last = gw_asl_ifn_int(argv[1]);
    step = gw_asl_ifn_int(argv[2]);

    if (step == 0) {
        return gw_asl_ifn_fail(err, call, "States.ArrayRange: the step must "
                               "not be 0");
    }

    if ((step > 0 && last < first) || (step < 0 && last > first)) {
        count = 0;

    } else {
        span = (step > 0) ? (uint64_t) last - (uint64_t) first
                          : (uint64_t) first - (uint64_t) last;
        mag = (step > 0) ? (uint64_t) step : 0 - (uint64_t) step;
        count = span / mag + 1;
    }

    if (count > GW_ASL_I_RANGE_MAX) {
        return gw_asl_ifn_fail(err, call, "States.ArrayRange: %llu elements, "
                               "more than %d", (unsigned long long) count,
                               GW_ASL_I_RANGE_MAX);
    }

    out = json_array();
    if (out == NULL) {
        goto nomem;
    }

    for (i = 0; i < count; i++) {
        v = json_integer((int64_t) ((uint64_t) first + i * (uint64_t) step));
        if (json_array_append_new(out, v) != 0) {
            goto nomem;
        }
    }

    return out;

nomem:

    json_decref(out);
    return gw_asl_ifn_fail(err, call, "States.ArrayRange: out of memory");
}


/* an index past the end is null (as the oracle answers), not a failure */

static json_t *
gw_asl_ifn_get_item(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    int64_t   i;
    json_t   *v;

    i = gw_asl_ifn_int(argv[1]);
    if (i < 0) {
        return gw_asl_ifn_fail(err, call, "States.ArrayGetItem: the index "
                               "must not be negative, not %lld",
                               (long long) i);
    }

    v = json_array_get(argv[0], (size_t) i);

    return (v != NULL) ? json_incref(v) : json_null();
}


static json_t *
gw_asl_ifn_length(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    return json_integer((json_int_t) json_array_size(argv[0]));
}


/*
 * The first of each run of equal values, in order: an open-addressing
 * table of the kept values' indices, keyed by a hash that numbers of
 * one value share whatever their encoding (1 and 1.0).
 */

static json_t *
gw_asl_ifn_unique(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    size_t     i, n, size, slot, *table;
    json_t    *out, *m;
    uint64_t   h;

    n = json_array_size(argv[0]);

    for (size = 16; size < n * 2; size *= 2) {
        /* a power of two, at most half full */
    }

    table = malloc(size * sizeof(size_t));
    out = json_array();

    if (table == NULL || out == NULL) {
        free(table);
        json_decref(out);
        return gw_asl_ifn_fail(err, call, "States.ArrayUnique: out of "
                               "memory");
    }

    memset(table, 0xff, size * sizeof(size_t));

    json_array_foreach(argv[0], i, m) {
        h = gw_asl_ivalue_hash(m, 0);

        for (slot = h & (size - 1); table[slot] != (size_t) -1;
             slot = (slot + 1) & (size - 1))
        {
            if (gw_asl_ivalue_equal(json_array_get(out, table[slot]), m, 0))
            {
                break;
            }
        }

        if (table[slot] != (size_t) -1) {
            continue;
        }

        table[slot] = json_array_size(out);

        if (json_array_append(out, m) != 0) {
            free(table);
            json_decref(out);
            return gw_asl_ifn_fail(err, call, "States.ArrayUnique: out of "
                                   "memory");
        }
    }

    free(table);

    return out;
}


/* shallow only: a deep merge is refused, as AWS refuses it */

static json_t *
gw_asl_ifn_merge(gw_asl_icall_t *call, json_t **argv, size_t argc,
    gw_asl_err_t *err)
{
    json_t  *out;

    if (json_is_true(argv[2])) {
        return gw_asl_ifn_fail(err, call, "States.JsonMerge: a deep merge "
                               "is not supported, the third argument must "
                               "be false");
    }

    out = json_copy(argv[0]);

    if (out == NULL || json_object_update(out, argv[1]) != 0) {
        json_decref(out);
        return gw_asl_ifn_fail(err, call, "States.JsonMerge: out of memory");
    }

    return out;
}


/*
 * Definition time, from the literals only: a Format template's
 * placeholders against the values given, a deep JsonMerge, an unknown
 * Hash algorithm, a chunk size below 1, a step of 0.
 */

int
gw_asl_ifn_check(gw_asl_icall_t *call, gw_asl_err_t *err)
{
    long            count;
    const char     *name;
    gw_asl_iarg_t  *a;

    name = call->fn->name + 7;
    a = call->args;

    if (strcmp(name, "Format") == 0 && a[0].kind == GW_ASL_IARG_VALUE) {
        count = gw_asl_ifn_format_run(&a[0], a[0].value, NULL, 0, NULL);

        if ((size_t) count != call->nargs - 1) {
            return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "the template "
                                "has %ld placeholder%s, the call %zu "
                                "value%s", count, count == 1 ? "" : "s",
                                call->nargs - 1,
                                call->nargs == 2 ? "" : "s");
        }

    } else if (strcmp(name, "JsonMerge") == 0
               && a[2].kind == GW_ASL_IARG_VALUE && json_is_true(a[2].value))
    {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "a deep merge is "
                            "not supported, the third argument must be "
                            "false");

    } else if (strcmp(name, "ArrayPartition") == 0
               && a[1].kind == GW_ASL_IARG_VALUE
               && gw_asl_ifn_int(a[1].value) <= 0)
    {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "the chunk size "
                            "must be a positive integer");

    } else if (strcmp(name, "Hash") == 0 && a[1].kind == GW_ASL_IARG_VALUE
               && !gw_asl_ifn_hash_known(json_string_value(a[1].value)))
    {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "the algorithm "
                            "\"%.64s\" is none of MD5, SHA-1, SHA-256, "
                            "SHA-384, SHA-512",
                            json_string_value(a[1].value));

    } else if (strcmp(name, "ArrayRange") == 0
               && a[2].kind == GW_ASL_IARG_VALUE
               && gw_asl_ifn_int(a[2].value) == 0)
    {
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "the step must not "
                            "be 0");
    }

    return 0;
}
