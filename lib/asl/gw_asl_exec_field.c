
/*
 * Copyright (C) Tollgate
 *
 * The fields a state reads at run time (lib/asl/gw_asl_exec_int.h):
 * integers (Seconds, TimeoutSeconds, MaxConcurrency, ...) and strings
 * (Timestamp, Error, Cause) given in the definition or by their ...Path
 * form, and RFC 3339 timestamps.  A value of the wrong kind is
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

    if (json_is_integer(v)) {
        d = (double) json_integer_value(v);

    } else if (json_is_real(v)
               && json_real_value(v) == (double) (int64_t) json_real_value(v))
    {
        d = json_real_value(v);

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


/* days since 1970-01-01 of a proleptic Gregorian date */

static int64_t
gw_asl_exec_days(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
gw_asl_exec_digits(const char *s, size_t n, int *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return 0;
}


/* gw_asl_exec_int.h */

int
gw_asl_timestamp_parse(const char *s, int64_t *ms)
{
    int           y, mo, d, h, mi, sec, oh, om, frac, nf;
    size_t        len;
    const char   *p;
    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    len = strlen(s);

    if (len < 20
        || gw_asl_exec_digits(s, 4, &y) != 0 || s[4] != '-'
        || gw_asl_exec_digits(s + 5, 2, &mo) != 0 || s[7] != '-'
        || gw_asl_exec_digits(s + 8, 2, &d) != 0 || s[10] != 'T'
        || gw_asl_exec_digits(s + 11, 2, &h) != 0 || s[13] != ':'
        || gw_asl_exec_digits(s + 14, 2, &mi) != 0 || s[16] != ':'
        || gw_asl_exec_digits(s + 17, 2, &sec) != 0)
    {
        return -1;
    }

    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23
        || mi > 59 || sec > 60)
    {
        return -1;
    }

    if (mo == 2 && d == 29
        && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    {
        return -1;
    }

    p = s + 19;
    frac = 0;

    if (*p == '.') {
        p++;

        for (nf = 0; *p >= '0' && *p <= '9'; p++, nf++) {
            if (nf < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (nf == 0) {
            return -1;
        }

        for ( /* void */ ; nf < 3; nf++) {
            frac *= 10;
        }
    }

    oh = 0;
    om = 0;

    if (p[0] == 'Z' && p[1] == '\0') {
        /* UTC */

    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6
               && gw_asl_exec_digits(p + 1, 2, &oh) == 0 && p[3] == ':'
               && gw_asl_exec_digits(p + 4, 2, &om) == 0
               && oh <= 23 && om <= 59)
    {
        if (p[0] == '-') {
            oh = -oh;
            om = -om;
        }

    } else {
        return -1;
    }

    *ms = ((gw_asl_exec_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec)
           - (oh * 3600 + om * 60)) * 1000 + frac;

    return 0;
}
