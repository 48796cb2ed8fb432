
/*
 * Copyright (C) Tollgate
 *
 * Unit tests of the workflow language's errors and measure
 * (lib/asl/gw_asl_err.c): an error's strings stay UTF-8 whatever was cut
 * into them (found by t/fuzz/asl_def.c: a cause cut inside a character
 * made the local runner's result unbuildable), long names are refused
 * when a definition is created, and the measure stops past its cap.
 */


#include <string.h>

#include "tap.h"
#include "gw_asl.h"


static void
test_utf8(void)
{
    char          big[600 * 2 + 1];
    size_t        i;
    json_t       *r;
    gw_asl_err_t  err;

    /* a two-byte character cut by a precision: the half goes */
    gw_asl_error(&err, GW_ASL_E_RUNTIME, NULL, "'%.2s'", "a\xc3\xa9");
    is_str(err.cause, "'a?'", "a character cut inside a quote: '?'");

    gw_asl_error(&err, GW_ASL_E_RUNTIME, NULL, "%.2s", "a\xc3\xa9");
    is_str(err.cause, "a", "a character cut at the end of the cause: gone");

    /* bytes that start no valid sequence become '?' */
    gw_asl_error(&err, "\xff" "E", "/\xc0\xaf", "x\xed\xa0\x80y");
    is_str(err.error, "?E", "a byte that starts nothing: '?'");
    is_str(err.pointer, "/?" "?", "an overlong '/': two question marks");
    is_str(err.cause, "x?" "?" "?y", "a surrogate: three question marks");

    /* valid text passes as it is */
    gw_asl_error(&err, "E", NULL, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    is_str(err.cause, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
           "2-, 3- and 4-byte characters kept");

    /* a cause longer than its buffer, cut by the buffer's end */
    for (i = 0; i < 600; i++) {
        big[2 * i] = '\xc3';
        big[2 * i + 1] = '\xa9';
    }

    big[1200] = '\0';

    gw_asl_error(&err, "E", NULL, "%s", big);
    r = json_string(err.cause);
    ok(strlen(err.cause) == sizeof(err.cause) - 2 && r != NULL,
       "a cause cut by its buffer inside a character: UTF-8, %zu bytes",
       strlen(err.cause));
    json_decref(r);
}


static void
test_long_names(void)
{
    char           def[4096];
    char           name[GW_ASL_ERROR_MAX + 1];
    json_t        *r, *in;
    gw_asl_def_t  *d;
    gw_asl_err_t   err;

    /* a Fail state's Error at the cap, and a byte past it */
    memset(name, 'E', sizeof(name));
    name[GW_ASL_ERROR_MAX - 1] = '\0';

    snprintf(def, sizeof(def), "{\"StartAt\": \"F\", \"States\": {\"F\":"
             " {\"Type\": \"Fail\", \"Error\": \"%s\"}}}", name);
    d = gw_asl_def_parse(def, strlen(def), &err);
    ok(d != NULL, "an Error of %d bytes is accepted", GW_ASL_ERROR_MAX - 1);

    in = json_object();
    r = gw_asl_run_local(d, in, NULL, NULL, NULL, 0);
    json_decref(in);
    is_str(json_string_value(json_object_get(r, "error")), name,
           "... and fails the execution with it whole");
    json_decref(r);
    gw_asl_def_free(d);

    name[GW_ASL_ERROR_MAX - 1] = 'E';
    name[GW_ASL_ERROR_MAX] = '\0';

    snprintf(def, sizeof(def), "{\"StartAt\": \"F\", \"States\": {\"F\":"
             " {\"Type\": \"Fail\", \"Error\": \"%s\"}}}", name);
    d = gw_asl_def_parse(def, strlen(def), &err);
    ok(d == NULL && strcmp(err.pointer, "/States/F/Error") == 0,
       "an Error a byte longer is refused at its pointer");

    /* a Fail state's Cause of 600 two-byte characters (1,200 bytes) */
    {
        char    cause[1201];
        size_t  i;

        for (i = 0; i < 600; i++) {
            cause[2 * i] = '\xc3';
            cause[2 * i + 1] = '\xa9';
        }

        cause[1200] = '\0';

        snprintf(def, sizeof(def), "{\"StartAt\": \"F\", \"States\": {\"F\":"
                 " {\"Type\": \"Fail\", \"Error\": \"E\", \"Cause\":"
                 " \"%s\"}}}", cause);
        d = gw_asl_def_parse(def, strlen(def), &err);
        ok(d == NULL && strcmp(err.pointer, "/States/F/Cause") == 0,
           "a Cause past %d bytes is refused", GW_ASL_CAUSE_MAX - 1);
    }
}


static void
test_measure(void)
{
    size_t   n, i;
    json_t  *a, *leaf;

    a = json_pack("{s:s}", "a", "bc");
    ok(!gw_asl_too_large(a, 10, &n) && n == 10, "{\"a\":\"bc\"} is 10 bytes");
    ok(gw_asl_too_large(a, 9, NULL), "... past a cap of 9");
    json_decref(a);

    /* one leaf of 1 KiB shared a million times: the measure stops */
    leaf = json_string_nocheck("");
    a = json_array();

    {
        char  kib[1025];

        memset(kib, 'x', 1024);
        kib[1024] = '\0';
        json_decref(leaf);
        leaf = json_string(kib);
    }

    for (i = 0; i < 1000000; i++) {
        json_array_append(a, leaf);
    }

    i = gw_asl_too_large(a, GW_ASL_PAYLOAD_MAX, &n);
    ok(i == 1 && n < GW_ASL_PAYLOAD_MAX + 4096,
       "a million shared leaves of 1 KiB: over the cap, measured to %zu "
       "bytes only", n);

    json_decref(a);
    json_decref(leaf);
}


int
main(void)
{
    test_utf8();
    test_long_names();
    test_measure();

    return done_testing();
}
