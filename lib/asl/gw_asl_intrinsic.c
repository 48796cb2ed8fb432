
/*
 * Copyright (C) Tollgate
 *
 * Intrinsic function calls (lib/asl/gw_asl.h): "States.Name(arg, ...)"
 * parsed, checked when a definition is created, evaluated against a
 * state's input and context object.
 *
 * The grammar, as AWS's Step Functions guide writes calls:
 *
 *   call    = "States." name "(" [ arg *( "," arg ) ] ")"
 *   arg     = string / number / "true" / "false" / "null" / path / call
 *   string  = "'" *( char / "\'" / "\{" / "\}" / "\\" ) "'"
 *   number  = JSON's number
 *   path    = "$" ... up to a "," or ")" or a space outside brackets
 *
 * White space may surround arguments, never precede the call itself nor
 * follow its ")".  Any other backslash escape is refused: AWS reserves
 * the four characters it lets one escape.  Offsets in the causes count
 * bytes from 0.
 *
 * Semantics follow AWS's guide, and where executions recorded against
 * AWS showed more, those (the oracle, aws-local-stepfunctions, differs):
 * MathAdd rounds each argument half up first (floor(x + 0.5): 1.5 is 2,
 * -1.5 is -1); StringSplit cuts at any character of its delimiter and
 * drops empty pieces; StringToJson("") is null.  Our own choices where
 * the guide is silent: MathRandom draws from [start, end), the end
 * excluded (the oracle includes it); ArrayGetItem past the end is null
 * (as the oracle answers); Format takes strings, numbers, booleans and
 * null, never arrays or objects (as the oracle); the 10,000-character
 * caps count UTF-8 characters; Base64Decode takes missing padding and
 * must decode to UTF-8 text; text built past GW_ASL_PAYLOAD_MAX bytes
 * (Format, JsonToString) is States.DataLimitExceeded, every other
 * failure States.IntrinsicFailure, a path naming nothing the path's own
 * States.Runtime.  At definition time, a call of literals only is
 * evaluated, so that what it would refuse at run time it refuses then.
 *
 * The parser (gw_asl_intrinsic_parse.c) is recursive, one level per
 * nested call, refusing a call nested past GW_ASL_INTRINSIC_MAX before it
 * recurses.  Evaluation walks the same tree; errors are values
 * (gw_asl_err_t).
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_intrinsic_int.h"


static int gw_asl_icall_static(gw_asl_icall_t *call);
static int gw_asl_icall_check(gw_asl_icall_t *call, gw_asl_err_t *err);
static json_t *gw_asl_icall_eval(gw_asl_icall_t *call, json_t *input,
    json_t *context, gw_asl_err_t *err);
static int gw_asl_iarg_type(const gw_asl_icall_t *call, size_t i,
    json_t *v, gw_asl_err_t *err, const char *error);


int
gw_asl_intrinsic_is_call(const char *s)
{
    size_t  n;

    if (s == NULL || strncmp(s, "States.", 7) != 0) {
        return 0;
    }

    for (n = 7; gw_asl_ifn_name_char((unsigned char) s[n]); n++) {
        /* the name */
    }

    return (n > 7 && s[n] == '(');
}


/*
 * Definition time: the types of literal arguments, what the function's
 * own check sees in its literals, then, for a call made of literals
 * only, the call evaluated: what it would refuse at run time it refuses
 * now.
 */

int
gw_asl_intrinsic_check(const char *call, gw_asl_err_t *err)
{
    int              rc;
    gw_asl_err_t     local;
    gw_asl_icall_t  *c;

    if (err == NULL) {
        err = &local;
    }

    c = gw_asl_iparse(call, GW_ASL_E_INVALID, err);
    if (c == NULL) {
        return -1;
    }

    rc = gw_asl_icall_check(c, err);
    gw_asl_icall_free(c);

    return rc;
}


static int
gw_asl_icall_check(gw_asl_icall_t *call, gw_asl_err_t *err)
{
    char            cause[GW_ASL_CAUSE_MAX];
    size_t          i;
    json_t         *v;
    gw_asl_iarg_t  *arg;

    for (i = 0; i < call->nargs; i++) {
        arg = &call->args[i];

        if (arg->kind == GW_ASL_IARG_CALL) {
            if (gw_asl_icall_check(arg->call, err) != 0) {
                return -1;
            }

        } else if (arg->kind == GW_ASL_IARG_VALUE) {
            if (gw_asl_iarg_type(call, i, arg->value, err, GW_ASL_E_INVALID)
                != 0)
            {
                return -1;
            }
        }
    }

    if (gw_asl_ifn_check(call, err) != 0) {
        memcpy(cause, err->cause, sizeof(cause));
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "%s at offset %zu: "
                            "%.*s", call->fn->name, call->pos, 900, cause);
    }

    if (!gw_asl_icall_static(call)) {
        return 0;
    }

    v = gw_asl_icall_eval(call, NULL, NULL, err);
    if (v == NULL) {
        memcpy(cause, err->cause, sizeof(cause));
        return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "%s", cause);
    }

    json_decref(v);

    return 0;
}


/* 1 when call holds literals only (and calls of literals), else 0 */

static int
gw_asl_icall_static(gw_asl_icall_t *call)
{
    size_t  i;

    for (i = 0; i < call->nargs; i++) {
        if (call->args[i].kind == GW_ASL_IARG_PATH
            || (call->args[i].kind == GW_ASL_IARG_CALL
                && !gw_asl_icall_static(call->args[i].call)))
        {
            return 0;
        }
    }

    return 1;
}


json_t *
gw_asl_intrinsic_eval(const char *call, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    json_t          *v;
    gw_asl_err_t     local;
    gw_asl_icall_t  *c;

    if (err == NULL) {
        err = &local;
    }

    c = gw_asl_iparse(call, GW_ASL_E_INTRINSIC, err);
    if (c == NULL) {
        return NULL;
    }

    v = gw_asl_icall_eval(c, input, context, err);
    gw_asl_icall_free(c);

    return v;
}


static json_t *
gw_asl_icall_eval(gw_asl_icall_t *call, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    size_t          i, n;
    json_t        **argv, *v;
    gw_asl_iarg_t  *arg;

    v = NULL;
    n = 0;

    argv = calloc(call->nargs + 1, sizeof(json_t *));
    if (argv == NULL) {
        gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, "out of memory");
        return NULL;
    }

    for (n = 0; n < call->nargs; n++) {
        arg = &call->args[n];

        switch (arg->kind) {

        case GW_ASL_IARG_VALUE:
            argv[n] = json_incref(arg->value);
            break;

        case GW_ASL_IARG_PATH:
            argv[n] = gw_asl_path_get(arg->path, input, context, err);
            break;

        default: /* GW_ASL_IARG_CALL */
            argv[n] = gw_asl_icall_eval(arg->call, input, context, err);
            break;
        }

        if (argv[n] == NULL) {
            goto done;
        }

        if (gw_asl_iarg_type(call, n, argv[n], err, GW_ASL_E_INTRINSIC)
            != 0)
        {
            n++;
            goto done;
        }
    }

    v = call->fn->handler(call, argv, call->nargs, err);

    /* a value past what a payload holds, however it was made (an array
     * of what a path selected, a partition, a merge) goes no further */
    if (v != NULL && gw_asl_too_large(v, GW_ASL_PAYLOAD_MAX, NULL)) {
        json_decref(v);
        v = NULL;
        gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL,
                     "%s's result is larger than the cap of %d bytes",
                     call->fn->name, GW_ASL_PAYLOAD_MAX);
    }

done:

    for (i = 0; i < n; i++) {
        json_decref(argv[i]);
    }

    free(argv);

    return v;
}


/* argument i of call (0-based) against the function's type letter */

static int
gw_asl_iarg_type(const gw_asl_icall_t *call, size_t i, json_t *v,
    gw_asl_err_t *err, const char *error)
{
    char         t;
    size_t       n;
    double       d;
    const char  *want;

    n = strlen(call->fn->types);
    if (n == 0) {
        return 0;
    }

    t = call->fn->types[i < n ? i : n - 1];

    switch (t) {

    case 's':
        want = "a string";
        if (json_is_string(v)) {
            return 0;
        }
        break;

    case 'n':
        want = "a number";
        if (json_is_number(v)) {
            return 0;
        }
        break;

    case 'i':
        want = "an integer";
        if (json_is_integer(v)) {
            return 0;
        }

        if (json_is_real(v)) {
            d = json_real_value(v);
            if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
                return 0;
            }
        }
        break;

    case 'a':
        want = "an array";
        if (json_is_array(v)) {
            return 0;
        }
        break;

    case 'o':
        want = "an object";
        if (json_is_object(v)) {
            return 0;
        }
        break;

    case 'b':
        want = "a boolean";
        if (json_is_boolean(v)) {
            return 0;
        }
        break;

    case 'f':
        want = "a string, number, boolean or null";
        if (!json_is_object(v) && !json_is_array(v)) {
            return 0;
        }
        break;

    default: /* '*' */
        return 0;
    }

    return gw_asl_error(err, error, NULL, "%s at offset %zu: argument %zu "
                        "must be %s, not %s", call->fn->name, call->pos,
                        i + 1, want, gw_asl_itype_name(v));
}
