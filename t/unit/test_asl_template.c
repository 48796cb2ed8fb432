
/*
 * Copyright (C) Tollgate
 *
 * Payload templates (lib/asl/gw_asl_template.c): "name.$" fields from
 * paths over the input and over the context object, nested objects and
 * objects inside arrays, literals kept as they are (a "$.x" string
 * without ".$" stays a string), intrinsic calls, the errors (a path
 * naming nothing: the caller's error name or States.Runtime; a ".$"
 * field that is not a string), the payload cap at and past
 * GW_ASL_PAYLOAD_MAX, the nesting cap, and the definition-time check
 * with the JSON pointer of the field refused (RFC 6901 escaping).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


static char          out_buf[8192];
static gw_asl_err_t  last;


static json_t *
load(const char *text)
{
    json_t  *v;

    v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v == NULL) {
        bail_out(text);
    }

    return v;
}


static const char *
dump(json_t *r)
{
    char  *s;

    if (r == NULL) {
        snprintf(out_buf, sizeof(out_buf), "E:%s", last.error);
        return out_buf;
    }

    s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY
                      | JSON_REAL_PRECISION(15));
    snprintf(out_buf, sizeof(out_buf), "%s", s != NULL ? s : "?");
    free(s);

    return out_buf;
}


/* tmpl applied over input and context: compact JSON or "E:<error>" */

static const char *
apply(const char *tmpl, const char *input, const char *context,
    const char *error_name)
{
    json_t  *t, *in, *ctx, *r;

    memset(&last, 0, sizeof(last));
    t = load(tmpl);
    in = load(input);
    ctx = (context != NULL) ? load(context) : NULL;

    r = gw_asl_template_apply(t, in, ctx, error_name, &last);
    dump(r);

    json_decref(r);
    json_decref(t);
    json_decref(in);
    json_decref(ctx);

    return out_buf;
}


/* the check: "" when valid, else "<pointer>" (and last's cause) */

static const char *
check(const char *tmpl, const char *pointer)
{
    int      rc;
    json_t  *t;

    memset(&last, 0, sizeof(last));
    t = load(tmpl);
    rc = gw_asl_template_check(t, pointer, &last);
    json_decref(t);

    if (rc == 0) {
        return "";
    }

    if (strcmp(last.error, GW_ASL_E_INVALID) != 0) {
        return "wrong error";
    }

    snprintf(out_buf, sizeof(out_buf), "<%s>", last.pointer);
    return out_buf;
}


static int
cause_has(const char *what)
{
    if (strstr(last.cause, what) != NULL) {
        return 1;
    }

    diag("cause: %s", last.cause);
    return 0;
}


static void
test_apply(void)
{
    const char  *in;

    in = "{\"a\":1,\"b\":{\"c\":[1,2,3]},\"s\":\"x\",\"n\":null}";

    is_str(apply("{\"k\":\"v\",\"n\":1,\"z\":null,\"t\":true}", in, NULL,
                 NULL),
           "{\"k\":\"v\",\"n\":1,\"z\":null,\"t\":true}", "literals kept");
    is_str(apply("{\"x.$\":\"$.a\"}", in, NULL, NULL), "{\"x\":1}",
           "a path field");
    is_str(apply("{\"x.$\":\"$\"}", "[1,2]", NULL, NULL), "{\"x\":[1,2]}",
           "$ is the whole input");
    is_str(apply("{\"x.$\":\"$.b.c[1]\",\"y.$\":\"$.n\",\"z.$\":\"$.s\"}",
                 in, NULL, NULL), "{\"x\":2,\"y\":null,\"z\":\"x\"}",
           "several fields, a null selected");
    is_str(apply("{\"x.$\":\"$.b.c[1:]\"}", in, NULL, NULL),
           "{\"x\":[2,3]}", "an indefinite path gives an array");
    is_str(apply("{\"x.$\":\"$.b.c[?(@ > 5)]\"}", in, NULL, NULL),
           "{\"x\":[]}", "an empty selection is []");
    is_str(apply("{\"x\":\"$.a\"}", in, NULL, NULL), "{\"x\":\"$.a\"}",
           "a path without .$ is a literal");
    is_str(apply("{\"o\":{\"p\":{\"q.$\":\"$.a\"}},\"r\":2}", in, NULL,
                 NULL), "{\"o\":{\"p\":{\"q\":1}},\"r\":2}",
           "nested objects");
    is_str(apply("{\"l\":[1,{\"q.$\":\"$.a\"},[{\"w.$\":\"$.s\"}],\"$.a\"]}",
                 in, NULL, NULL),
           "{\"l\":[1,{\"q\":1},[{\"w\":\"x\"}],\"$.a\"]}",
           "objects inside arrays");
    is_str(apply("[{\"q.$\":\"$.a\"}]", in, NULL, NULL), "[{\"q\":1}]",
           "a template that is an array");
    is_str(apply("\"$.a\"", in, NULL, NULL), "\"$.a\"",
           "a template that is a string");
    is_str(apply("{\"id.$\":\"$$.Execution.Id\",\"v.$\":\"$$.Map.Item"
                 ".Value\"}", in,
                 "{\"Execution\":{\"Id\":\"e1\"},\"Map\":{\"Item\":"
                 "{\"Index\":0,\"Value\":{\"k\":1}}}}", NULL),
           "{\"id\":\"e1\",\"v\":{\"k\":1}}", "context object fields");
    is_str(apply("{\".$\":\"$.a\"}", in, NULL, NULL), "{\"\":1}",
           "the key '.$' gives the empty name");
    is_str(apply("{\"a.$.$\":\"$.a\"}", in, NULL, NULL), "{\"a.$\":1}",
           "only the last .$ is dropped");
    is_str(apply("{\"a$\":\"$.a\",\"b.\":\"$.a\"}", in, NULL, NULL),
           "{\"a$\":\"$.a\",\"b.\":\"$.a\"}", "a$ and b. are literals");

    /* errors */

    is_str(apply("{\"x.$\":\"$.nope\"}", in, NULL,
                 GW_ASL_E_PARAMETER_PATH),
           "E:" GW_ASL_E_PARAMETER_PATH, "the caller's error name");
    ok(cause_has("The JsonPath argument for the field 'x.$' could not be "
                 "found in the input '{\"a\":1,"), "its cause");
    is_str(apply("{\"x.$\":\"$.b.c[3]\"}", in, NULL,
                 GW_ASL_E_PARAMETER_PATH),
           "E:" GW_ASL_E_PARAMETER_PATH, "an index past the end");
    is_str(apply("{\"o\":[{\"x.$\":\"$.nope\"}]}", in, NULL, NULL),
           "E:" GW_ASL_E_RUNTIME, "States.Runtime without an error name");
    is_str(apply("{\"x.$\":\"$$.nope\"}", in, "{}", NULL),
           "E:" GW_ASL_E_RUNTIME, "a context path naming nothing");
    ok(cause_has("in the context object '{}'"), "its cause");
    is_str(apply("{\"x.$\":3}", in, NULL, NULL), "E:" GW_ASL_E_RUNTIME,
           "a .$ field that is not a string");
    is_str(apply("{\"x.$\":\"nope\"}", in, NULL, NULL),
           "E:" GW_ASL_E_RUNTIME, "neither a path nor a call");
    is_str(apply("{\"x.$\":\"$.a[\"}", in, NULL, NULL),
           "E:" GW_ASL_E_RUNTIME, "a bad path at run time");
    is_str(apply("{\"x.$\":\"$.a\\u0000.b\"}", in, NULL, NULL),
           "E:" GW_ASL_E_RUNTIME, "a NUL byte in a path at run time");
}


static void
test_intrinsic(void)
{
    const char  *in;

    if (!gw_asl_intrinsic_is_call("States.Array(1)")) {
        skip(5, "the intrinsic functions are not built in this tree");
        return;
    }

    in = "{\"a\":1,\"s\":\"x\"}";

    is_str(apply("{\"x.$\":\"States.Array($.a, $.s, 3)\"}", in, NULL,
                 NULL), "{\"x\":[1,\"x\",3]}", "an intrinsic call");
    is_str(apply("{\"x.$\":\"States.Format('{}-{}', $.s, $$.n)\"}", in,
                 "{\"n\":7}", NULL), "{\"x\":\"x-7\"}",
           "a call reading the context");
    is_str(apply("{\"x.$\":\"States.StringToJson($.s)\"}",
                 in, NULL, NULL), "E:" GW_ASL_E_INTRINSIC,
           "a call that fails: States.IntrinsicFailure");
    is_str(check("{\"x.$\":\"States.Array($.a)\"}", ""), "",
           "a valid call passes the check");
    is_str(check("{\"x.$\":\"States.Array($.a\"}", "/P"), "</P/x.$>",
           "a call that does not parse is refused");
}


static void
test_caps(void)
{
    int      i;
    char    *big;
    json_t  *t, *in, *r, *cur;
    size_t   n;

    /* the result at the cap and one byte past it: {"x":"..."} is 8 bytes
     * around the string */

    n = GW_ASL_PAYLOAD_MAX - 8;
    big = malloc(n + 1);
    if (big == NULL) {
        bail_out("malloc");
    }

    memset(big, 'a', n);
    big[n] = '\0';

    t = load("{\"x.$\":\"$.s\"}");
    in = json_pack("{s:s}", "s", big);
    r = gw_asl_template_apply(t, in, NULL, NULL, &last);
    ok(r != NULL && json_dumpb(r, NULL, 0, JSON_COMPACT)
                    == GW_ASL_PAYLOAD_MAX,
       "a result of exactly GW_ASL_PAYLOAD_MAX bytes");
    json_decref(r);
    json_decref(t);
    json_decref(in);

    big[n - 1] = '\0';
    t = json_pack("{s:s,s:s}", "x.$", "$.s", "y", "ab");
    in = json_pack("{s:s}", "s", big);
    r = gw_asl_template_apply(t, in, NULL, NULL, &last);
    ok(r == NULL && strcmp(last.error, GW_ASL_E_DATA_LIMIT) == 0,
       "one byte past it (a literal field counts): DataLimitExceeded");
    json_decref(r);
    json_decref(t);
    json_decref(in);
    free(big);

    /* the whole input selected a thousand times: stops early */

    t = json_object();

    for (i = 0; i < 1000; i++) {
        char  k[32];

        snprintf(k, sizeof(k), "k%d.$", i);
        json_object_set_new(t, k, json_string("$"));
    }

    big = malloc(1001);
    if (big == NULL) {
        bail_out("malloc");
    }

    memset(big, 'b', 1000);
    big[1000] = '\0';
    in = json_pack("{s:s}", "s", big);
    free(big);
    r = gw_asl_template_apply(t, in, NULL, NULL, &last);
    ok(r == NULL && strcmp(last.error, GW_ASL_E_DATA_LIMIT) == 0
       && cause_has("larger than 262144"), "1000 copies of the input");
    json_decref(r);
    json_decref(t);
    json_decref(in);

    /* nesting at and past the cap */

    for (n = 64; n <= 65; n++) {
        t = json_object();
        cur = t;

        for (i = 0; i < (int) n; i++) {
            json_object_set_new(cur, "o", json_object());
            cur = json_object_get(cur, "o");
        }

        json_object_set_new(cur, "x.$", json_string("$.a"));

        in = load("{\"a\":1}");
        r = gw_asl_template_apply(t, in, NULL, NULL, &last);

        if (n == 64) {
            ok(r != NULL, "a template nested 64 deep");
            is_str(check(dump(t), ""), "", "and its check");

        } else {
            ok(r == NULL && cause_has("nested deeper than 64"),
               "a template nested 65 deep");
            ok(gw_asl_template_check(t, "", &last) == -1
               && cause_has("nested deeper"), "and its check");
        }

        json_decref(r);
        json_decref(t);
        json_decref(in);
    }
}


static void
test_check(void)
{
    is_str(check("{\"a\":1,\"b.$\":\"$.x\",\"c\":{\"d.$\":\"$$.y\"},"
                 "\"e\":[{\"f.$\":\"$..z[?(@.q > 1)]\"}]}", "/States/S"),
           "", "a valid template");
    is_str(check("{\"b\":\"$.x[\"}", ""), "",
           "a literal is not checked");
    is_str(check("{\"b.$\":\"$.x[\"}", "/States/S/Parameters"),
           "</States/S/Parameters/b.$>", "a bad path");
    ok(cause_has("the field 'b.$': invalid JSONPath '$.x['"),
       "the cause names the field and the path");
    is_str(check("{\"b.$\":7}", ""), "</b.$>", "not a string");
    is_str(check("{\"b.$\":null}", ""), "</b.$>", "null");
    is_str(check("{\"b.$\":\"x\"}", ""), "</b.$>",
           "neither path nor call");
    is_str(check("{\"a\":{\"b\":[1,{\"c/d~e.$\":\"$.\"}]}}", "/P"),
           "</P/a/b/1/c~1d~0e.$>", "RFC 6901 escaping, array index");
    is_str(check("[{\"a.$\":\"$..\"}]", "/I"), "</I/0/a.$>",
           "a template that is an array");
    is_str(check("{\"a.$\":\"$.a\"}", NULL), "", "a NULL pointer");
    is_str(check("{\"a.$\":\"$.a\\u0000[\"}", "/P"), "</P/a.$>",
           "a NUL byte inside a path is refused");
    ok(cause_has("NUL byte"), "its cause");

    {
        char    ptr[GW_ASL_POINTER_MAX + 100];
        json_t  *t;

        memset(ptr, 'p', sizeof(ptr) - 1);
        ptr[0] = '/';
        ptr[sizeof(ptr) - 1] = '\0';
        t = load("{\"a.$\":1}");
        ok(gw_asl_template_check(t, ptr, &last) == -1
           && strlen(last.pointer) == GW_ASL_POINTER_MAX - 1,
           "a pointer past the cap is cut, never overflowed");
        json_decref(t);
    }
}


int
main(void)
{
    test_apply();
    test_intrinsic();
    test_caps();
    test_check();

    return done_testing();
}
