
/*
 * Copyright (C) Tollgate
 *
 * The fields a state reads at run time (lib/asl/gw_asl_exec_int.h):
 * integers (Seconds, TimeoutSeconds, MaxConcurrency, ...) and strings
 * (Timestamp, Error, Cause) given in the definition or by their ...Path
 * form.  A value of the wrong kind is
 * States.Runtime, as AWS answers it.
 */


#include <stdio.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_exec_int.h"


/*
 * An integer field name, or its name"Path" form over input: in [min,
 * max] or States.Runtime.  value is left as is when neither is there.
 */

int
gw_asl_exec_int_field(const gw_asl_state_t *st, const char *name,
    json_t *input, json_t *context, int64_t min, int64_t max,
    int64_t *value, gw_asl_err_t *err)
{
    char     key[64];
    double   d;
    json_t  *f, *v;

    f = json_object_get(st->raw, name);

    if (f != NULL) {
        v = json_incref(f);

    } else {
        snprintf(key, sizeof(key), "%sPath", name);
        f = json_object_get(st->raw, key);

        if (f == NULL) {
            return 0;
        }

        if (!json_is_string(f)) {
            return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                                "%s of \"%s\" is not a string", key,
                                st->name);
        }

        v = gw_asl_exec_path(json_string_value(f), input, context, err);
        if (v == NULL) {
            snprintf(err->error, sizeof(err->error), "%s",
                     GW_ASL_E_RUNTIME);
            return -1;
        }
    }

    d = json_number_value(v);

    if (json_is_integer(v)) {
        /* as it is */

    } else if (json_is_real(v) && d > -9.0e18 && d < 9.0e18
               && d == (double) (int64_t) d)
    {
        /* an integral real: 3.0 is 3, as JSON has one kind of number */

    } else {
        json_decref(v);
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "%s of \"%s\" is not an integer", name,
                            st->name);
    }

    json_decref(v);

    if (d < (double) min || d > (double) max) {
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "%s of \"%s\" is out of range [%lld, %lld]",
                            name, st->name, (long long) min,
                            (long long) max);
    }

    *value = (int64_t) d;

    return 0;
}


/*
 * A string field name, or its name"Path" form: a Reference Path over
 * input or an intrinsic call (Fail's ErrorPath and CausePath take
 * both), whose value must be a string, else States.Runtime.  buf is
 * left as is when neither is there.
 */

int
gw_asl_exec_string_field(const gw_asl_state_t *st, const char *name,
    json_t *input, json_t *context, char *buf, size_t size,
    gw_asl_err_t *err)
{
    char         key[64];
    json_t      *f, *v;
    const char  *s;

    f = json_object_get(st->raw, name);

    if (f != NULL) {
        if (!json_is_string(f)) {
            return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                                "%s of \"%s\" is not a string", name,
                                st->name);
        }

        snprintf(buf, size, "%s", json_string_value(f));
        return 0;
    }

    snprintf(key, sizeof(key), "%sPath", name);
    f = json_object_get(st->raw, key);

    if (f == NULL) {
        return 0;
    }

    if (!json_is_string(f)) {
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "%s of \"%s\" is not a string", key, st->name);
    }

    s = json_string_value(f);

    if (gw_asl_intrinsic_is_call(s)) {
        v = gw_asl_intrinsic_eval(s, input, context, err);

    } else {
        v = gw_asl_exec_path(s, input, context, err);
    }

    if (v == NULL) {
        snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_RUNTIME);
        return -1;
    }

    if (!json_is_string(v)) {
        json_decref(v);
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "%s \"%s\" of \"%s\" does not give a string",
                            key, s, st->name);
    }

    snprintf(buf, size, "%s", json_string_value(v));
    json_decref(v);

    return 0;
}
