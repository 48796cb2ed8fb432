
/*
 * Copyright (C) Tollgate
 *
 * Choice rules (lib/asl/gw_asl_choice.c): compiled (every operator, the
 * operand types, Next only at the top, one operator, And/Or/Not and
 * their nesting cap) and evaluated (every operator, numbers across
 * integers and reals, strings in UTF-16 order, timestamps as instants,
 * StringMatches with its escapes, Is* set to false as AWS does, a
 * Variable that names nothing, a ...Path operand that names nothing).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


static json_t  *input;


static json_t *
load(const char *text)
{
    json_t        *v;
    json_error_t   jerr;

    v = json_loads(text, 0, &jerr);
    if (v == NULL) {
        diag("bad test JSON: %s: %s", text, jerr.text);
        bail_out("bad test JSON");
    }

    return v;
}


/* rule (a nested rule: no Next) evaluated over input: 1, 0 or -1 */

static int
eval(const char *rule_text, gw_asl_err_t *err)
{
    int             rc;
    json_t         *rule;
    gw_asl_rule_t  *r;

    rule = load(rule_text);
    memset(err, 0, sizeof(gw_asl_err_t));

    r = gw_asl_rule_compile(rule, 0, "/r", err);
    json_decref(rule);

    if (r == NULL) {
        diag("not compiled: %s: %s at %s", rule_text, err->cause,
             err->pointer);
        return -2;
    }

    rc = gw_asl_rule_eval(r, input, NULL, err);
    gw_asl_rule_free(r);

    return rc;
}


#define MATCH(rule, expect)                                                   \
    do {                                                                      \
        gw_asl_err_t  e_;                                                     \
        is_int(eval(rule, &e_), expect, "%s %s", rule,                        \
               (expect) == 1 ? "matches" : "does not match");                \
    } while (0)


static void
invalid(const char *rule_text, int top, const char *pointer,
    const char *cause)
{
    json_t         *rule;
    gw_asl_err_t    err;
    gw_asl_rule_t  *r;

    rule = load(rule_text);
    memset(&err, 0, sizeof(err));

    r = gw_asl_rule_compile(rule, top, "/r", &err);

    if (!ok(r == NULL && strcmp(err.error, GW_ASL_E_INVALID) == 0
            && strcmp(err.pointer, pointer) == 0
            && strstr(err.cause, cause) != NULL, "invalid: %s", rule_text))
    {
        diag("got pointer '%s' cause '%s'", err.pointer, err.cause);
    }

    gw_asl_rule_free(r);
    json_decref(rule);
}


static void
test_compile(void)
{
    json_t         *rule;
    gw_asl_err_t    err;
    gw_asl_rule_t  *r;

    rule = load("{\"Variable\": \"$.a\", \"IsNull\": true, \"Next\": \"X\"}");
    r = gw_asl_rule_compile(rule, 1, "/r", &err);
    ok(r != NULL, "compiled: a top rule with Next");
    json_decref(rule);
    gw_asl_rule_free(r);

    invalid("{\"Variable\": \"$.a\", \"IsNull\": true}", 1, "/r",
            "has a Next");
    invalid("{\"Variable\": \"$.a\", \"IsNull\": true, \"Next\": \"X\"}", 0,
            "/r/Next", "has no Next");
    invalid("{\"And\": [{\"Variable\": \"$.a\", \"IsNull\": true, \"Next\":"
            " \"X\"}], \"Next\": \"X\"}", 1, "/r/And/0/Next", "has no Next");
    invalid("{\"Variable\": \"$.a\"}", 0, "/r", "a comparison operator");
    invalid("{\"Variable\": \"$.a\", \"IsNull\": true, \"IsString\": true}",
            0, "/r/IsString", "one operator");
    invalid("{\"IsNull\": true}", 0, "/r", "a Variable");
    invalid("{\"Variable\": 1, \"IsNull\": true}", 0, "/r/Variable",
            "a string");
    invalid("{\"Variable\": \"States.ArrayLength($.a)\", \"NumericEquals\":"
            " 1}", 0, "/r/Variable", "");
    invalid("{\"Variable\": \"$.a\", \"StringEqual\": \"x\"}", 0,
            "/r/StringEqual", "no field");
    invalid("{\"Variable\": \"$.a\", \"End\": true, \"IsNull\": true}", 0,
            "/r/End", "no field");
    invalid("{\"Variable\": \"$.a\", \"StringEquals\": 1}", 0,
            "/r/StringEquals", "a string");
    invalid("{\"Variable\": \"$.a\", \"StringMatches\": 1}", 0,
            "/r/StringMatches", "a string");
    invalid("{\"Variable\": \"$.a\", \"NumericEquals\": \"1\"}", 0,
            "/r/NumericEquals", "a number");
    invalid("{\"Variable\": \"$.a\", \"BooleanEquals\": 1}", 0,
            "/r/BooleanEquals", "a boolean");
    invalid("{\"Variable\": \"$.a\", \"IsPresent\": \"true\"}", 0,
            "/r/IsPresent", "a boolean");
    invalid("{\"Variable\": \"$.a\", \"TimestampEquals\": \"2016-03-14\"}",
            0, "/r/TimestampEquals", "RFC 3339");
    invalid("{\"Variable\": \"$.a\", \"TimestampEquals\":"
            " \"2016-03-14T25:00:00Z\"}", 0, "/r/TimestampEquals",
            "RFC 3339");
    invalid("{\"Variable\": \"$.a\", \"NumericEqualsPath\": 1}", 0,
            "/r/NumericEqualsPath", "a Reference Path");
    invalid("{\"Variable\": \"$.a\", \"StringEqualsPath\": \"a.b\"}", 0,
            "/r/StringEqualsPath", "a Reference Path");
    invalid("{\"And\": []}", 0, "/r/And", "non-empty array");
    invalid("{\"Or\": {}}", 0, "/r/Or", "non-empty array");
    invalid("{\"Not\": []}", 0, "/r/Not", "a JSON object");
    invalid("{\"Not\": {\"Variable\": \"$.a\", \"IsNull\": true},"
            " \"Variable\": \"$.a\"}", 0, "/r/Variable", "no Variable");
    invalid("{\"And\": [{\"Variable\": \"$.a\", \"IsNull\": true}],"
            " \"Or\": [{\"Variable\": \"$.a\", \"IsNull\": true}]}", 0,
            "/r/Or", "one operator");
    invalid("[]", 0, "/r", "a JSON object");
}


static void
test_nesting(void)
{
    int             i, k;
    char           *text;
    json_t         *rule;
    gw_asl_err_t    err;
    gw_asl_rule_t  *r;

    text = malloc(4096);
    if (text == NULL) {
        bail_out("out of memory");
    }

    for (k = 16; k <= 17; k++) {
        text[0] = '\0';

        for (i = 0; i < k; i++) {
            strcat(text, "{\"Not\": ");
        }

        strcat(text, "{\"Variable\": \"$.s\", \"IsPresent\": true}");

        for (i = 0; i < k; i++) {
            strcat(text, "}");
        }

        rule = load(text);
        memset(&err, 0, sizeof(err));
        r = gw_asl_rule_compile(rule, 0, "", &err);

        if (k == 16) {
            ok(r != NULL && gw_asl_rule_eval(r, input, NULL, &err) == 1,
               "Not nested 16 deep: compiled, evaluated");

        } else {
            ok(r == NULL && strstr(err.cause, "nested over 16") != NULL,
               "Not nested 17 deep: refused");
        }

        gw_asl_rule_free(r);
        json_decref(rule);
    }

    free(text);
}


static void
test_eval(void)
{
    gw_asl_err_t  err;

    /* strings */
    MATCH("{\"Variable\": \"$.s\", \"StringEquals\": \"abc\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringEquals\": \"abd\"}", 0);
    MATCH("{\"Variable\": \"$.n\", \"StringEquals\": \"1\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThan\": \"abd\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThan\": \"abc\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThan\": \"abcd\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringGreaterThan\": \"ab\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringGreaterThan\": \"abc\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThanEquals\": \"abc\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringGreaterThanEquals\": \"abc\"}",
          1);
    MATCH("{\"Variable\": \"$.s\", \"StringGreaterThanEquals\": \"b\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"StringEqualsPath\": \"$.s2\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThanPath\": \"$.t\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringGreaterThanPath\": \"$.t\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"StringLessThanEqualsPath\": \"$.s2\"}",
          1);
    MATCH("{\"Variable\": \"$.s\","
          " \"StringGreaterThanEqualsPath\": \"$.t\"}", 0);
    /* U+1F600 sorts before U+FF21 in UTF-16, after it in code points */
    MATCH("{\"Variable\": \"$.emoji\", \"StringLessThan\": \"\\uff21\"}", 1);
    MATCH("{\"Variable\": \"$.emoji\", \"StringGreaterThan\": \"\\ud7ff\"}",
          1);
    MATCH("{\"Variable\": \"$.emoji\", \"StringEquals\":"
          " \"\\ud83d\\ude00\"}", 1);

    /* numbers across integers and reals */
    MATCH("{\"Variable\": \"$.n\", \"NumericEquals\": 1}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericEquals\": 1.0}", 1);
    MATCH("{\"Variable\": \"$.r\", \"NumericEquals\": 1.5}", 1);
    MATCH("{\"Variable\": \"$.r\", \"NumericGreaterThan\": 1}", 1);
    MATCH("{\"Variable\": \"$.r\", \"NumericLessThan\": 2}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericLessThan\": 1.0000001}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericLessThanEquals\": 1}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericGreaterThanEquals\": 1.5}", 0);
    MATCH("{\"Variable\": \"$.s\", \"NumericEquals\": 1}", 0);
    MATCH("{\"Variable\": \"$.t\", \"NumericGreaterThan\": 0}", 0);
    /* 2^53 + 1 as an integer against 2^53 as a real: not equal */
    MATCH("{\"Variable\": \"$.big\", \"NumericEquals\": 9007199254740992.0}",
          0);
    MATCH("{\"Variable\": \"$.big\","
          " \"NumericGreaterThan\": 9007199254740992.0}", 1);
    MATCH("{\"Variable\": \"$.neg\", \"NumericLessThan\": -2.5}", 1);
    MATCH("{\"Variable\": \"$.neg\", \"NumericGreaterThan\": -3.5}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericEqualsPath\": \"$.one\"}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericLessThanPath\": \"$.r\"}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericGreaterThanPath\": \"$.r\"}", 0);
    MATCH("{\"Variable\": \"$.n\","
          " \"NumericLessThanEqualsPath\": \"$.one\"}", 1);
    MATCH("{\"Variable\": \"$.r\","
          " \"NumericGreaterThanEqualsPath\": \"$.n\"}", 1);
    MATCH("{\"Variable\": \"$.n\", \"NumericEqualsPath\": \"$.s\"}", 0);

    /* booleans */
    MATCH("{\"Variable\": \"$.b\", \"BooleanEquals\": true}", 1);
    MATCH("{\"Variable\": \"$.b\", \"BooleanEquals\": false}", 0);
    MATCH("{\"Variable\": \"$.n\", \"BooleanEquals\": true}", 0);
    MATCH("{\"Variable\": \"$.b\", \"BooleanEqualsPath\": \"$.f\"}", 0);
    MATCH("{\"Variable\": \"$.f\", \"BooleanEqualsPath\": \"$.f\"}", 1);

    /* timestamps as instants */
    MATCH("{\"Variable\": \"$.ts\", \"TimestampEquals\":"
          " \"2016-03-14T01:59:00Z\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampEquals\":"
          " \"2016-03-14T03:59:00+02:00\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampEquals\":"
          " \"2016-03-13T20:59:00.000-05:00\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampLessThan\":"
          " \"2016-03-14T01:59:00.000001Z\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampGreaterThan\":"
          " \"2016-03-14T01:58:59.999Z\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampGreaterThan\":"
          " \"2016-03-14T01:59:00Z\"}", 0);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampLessThanEquals\":"
          " \"2016-03-14T01:59:00Z\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampGreaterThanEquals\":"
          " \"2017-01-01T00:00:00Z\"}", 0);
    MATCH("{\"Variable\": \"$.s\", \"TimestampEquals\":"
          " \"2016-03-14T01:59:00Z\"}", 0);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampEqualsPath\": \"$.ts2\"}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampLessThanPath\": \"$.ts3\"}",
          1);
    MATCH("{\"Variable\": \"$.ts\","
          " \"TimestampGreaterThanPath\": \"$.ts3\"}", 0);
    MATCH("{\"Variable\": \"$.ts\","
          " \"TimestampLessThanEqualsPath\": \"$.ts2\"}", 1);
    MATCH("{\"Variable\": \"$.ts\","
          " \"TimestampGreaterThanEqualsPath\": \"$.ts3\"}", 0);
    MATCH("{\"Variable\": \"$.ts\", \"TimestampEqualsPath\": \"$.s\"}", 0);
    MATCH("{\"Variable\": \"$.leap\", \"TimestampLessThan\":"
          " \"2000-03-01T00:00:00Z\"}", 1);

    /* StringMatches */
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"*.log\"}", 1);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"log*\"}", 0);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"*\"}", 1);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"a*b*.log\"}", 1);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"a*z*.log\"}", 0);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"a**.log\"}", 1);
    MATCH("{\"Variable\": \"$.star\", \"StringMatches\": \"a\\\\*b\"}", 1);
    MATCH("{\"Variable\": \"$.file\", \"StringMatches\": \"a\\\\*b.log\"}",
          0);
    MATCH("{\"Variable\": \"$.bs\", \"StringMatches\": \"a\\\\\\\\b\"}", 1);
    MATCH("{\"Variable\": \"$.empty\", \"StringMatches\": \"*\"}", 1);
    MATCH("{\"Variable\": \"$.empty\", \"StringMatches\": \"\"}", 1);
    MATCH("{\"Variable\": \"$.s\", \"StringMatches\": \"\"}", 0);
    MATCH("{\"Variable\": \"$.n\", \"StringMatches\": \"*\"}", 0);

    /* Is*: false matches values not of that kind (AWS) */
    MATCH("{\"Variable\": \"$.nul\", \"IsNull\": true}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsNull\": true}", 0);
    MATCH("{\"Variable\": \"$.s\", \"IsNull\": false}", 1);
    MATCH("{\"Variable\": \"$.nul\", \"IsNull\": false}", 0);
    MATCH("{\"Variable\": \"$.n\", \"IsNumeric\": true}", 1);
    MATCH("{\"Variable\": \"$.r\", \"IsNumeric\": true}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsNumeric\": false}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsString\": true}", 1);
    MATCH("{\"Variable\": \"$.n\", \"IsString\": false}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsString\": false}", 0);
    MATCH("{\"Variable\": \"$.b\", \"IsBoolean\": true}", 1);
    MATCH("{\"Variable\": \"$.nul\", \"IsBoolean\": false}", 1);
    MATCH("{\"Variable\": \"$.ts\", \"IsTimestamp\": true}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsTimestamp\": true}", 0);
    MATCH("{\"Variable\": \"$.s\", \"IsTimestamp\": false}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsPresent\": true}", 1);
    MATCH("{\"Variable\": \"$.nul\", \"IsPresent\": true}", 1);
    MATCH("{\"Variable\": \"$.missing\", \"IsPresent\": true}", 0);
    MATCH("{\"Variable\": \"$.missing\", \"IsPresent\": false}", 1);
    MATCH("{\"Variable\": \"$.s\", \"IsPresent\": false}", 0);

    /* a Variable that names nothing is States.Runtime (AWS), but under
     * IsPresent, and an IsPresent guard in And stops before it */
    is_int(eval("{\"Variable\": \"$.missing\", \"IsNull\": false}", &err),
           -1, "a missing Variable under IsNull: -1");
    is_str(err.error, GW_ASL_E_RUNTIME, "  ... States.Runtime");
    ok(strstr(err.cause, "$.missing") != NULL, "  ... the cause names it");
    is_int(eval("{\"Variable\": \"$.missing\", \"StringEquals\": \"x\"}",
                &err), -1, "a missing Variable under StringEquals: -1");
    is_int(eval("{\"Variable\": \"$.missing.deeper\", \"NumericEquals\": 1}",
                &err), -1, "a missing Variable's child: -1");
    is_int(eval("{\"Not\": {\"Variable\": \"$.missing\", "
                "\"NumericEquals\": 1}}", &err), -1,
           "Not passes a missing Variable's error on");
    MATCH("{\"And\": [{\"Variable\": \"$.missing\", \"IsPresent\": true},"
          " {\"Variable\": \"$.missing\", \"NumericEquals\": 1}]}", 0);

    /* a ...Path operand that names nothing is States.Runtime */
    is_int(eval("{\"Variable\": \"$.n\", \"NumericEqualsPath\": \"$.nope\"}",
                &err), -1, "a ...Path operand naming nothing: -1");
    is_str(err.error, GW_ASL_E_RUNTIME, "  ... States.Runtime");
    ok(strstr(err.cause, "$.nope") != NULL, "  ... the cause names the path");
    is_int(eval("{\"Or\": [{\"Variable\": \"$.n\", \"NumericEquals\": 1},"
                " {\"Variable\": \"$.n\", \"NumericEqualsPath\": \"$.nope\"}]}",
                &err), 1, "Or stops at its first match");
    is_int(eval("{\"And\": [{\"Variable\": \"$.n\", \"NumericEquals\": 1},"
                " {\"Variable\": \"$.n\", \"NumericEqualsPath\": \"$.nope\"}]}",
                &err), -1, "And reaches the failing operand");
    is_int(eval("{\"Not\": {\"Variable\": \"$.n\", \"StringEqualsPath\":"
                " \"$.nope\"}}", &err), -1, "Not passes the error on");

    /* And, Or, Not */
    MATCH("{\"And\": [{\"Variable\": \"$.n\", \"NumericEquals\": 1},"
          " {\"Variable\": \"$.s\", \"StringEquals\": \"abc\"}]}", 1);
    MATCH("{\"And\": [{\"Variable\": \"$.n\", \"NumericEquals\": 1},"
          " {\"Variable\": \"$.s\", \"StringEquals\": \"x\"}]}", 0);
    MATCH("{\"Or\": [{\"Variable\": \"$.n\", \"NumericEquals\": 2},"
          " {\"Variable\": \"$.s\", \"StringEquals\": \"abc\"}]}", 1);
    MATCH("{\"Or\": [{\"Variable\": \"$.n\", \"NumericEquals\": 2},"
          " {\"Variable\": \"$.s\", \"StringEquals\": \"x\"}]}", 0);
    MATCH("{\"Not\": {\"Variable\": \"$.b\", \"BooleanEquals\": true}}", 0);
    MATCH("{\"Not\": {\"Or\": [{\"Variable\": \"$.n\", \"NumericEquals\": 2},"
          " {\"Not\": {\"Variable\": \"$.s\", \"IsString\": true}}]}}", 1);

    /* the context object */
    {
        json_t         *rule, *ctx;
        gw_asl_rule_t  *r;

        rule = load("{\"Variable\": \"$$.Execution.Name\", \"StringEquals\":"
                    " \"run-1\"}");
        ctx = load("{\"Execution\": {\"Name\": \"run-1\"}}");
        r = gw_asl_rule_compile(rule, 0, "", &err);
        ok(r != NULL && gw_asl_rule_eval(r, input, ctx, &err) == 1,
           "a Variable over the context object");
        gw_asl_rule_free(r);
        json_decref(rule);
        json_decref(ctx);
    }
}


int
main(void)
{
    input = load("{\"s\": \"abc\", \"s2\": \"abc\", \"t\": \"abd\","
                 " \"n\": 1, \"one\": 1, \"r\": 1.5, \"neg\": -3,"
                 " \"big\": 9007199254740993,"
                 " \"b\": true, \"f\": false, \"nul\": null,"
                 " \"ts\": \"2016-03-14T01:59:00Z\","
                 " \"ts2\": \"2016-03-14T01:59:00.000Z\","
                 " \"ts3\": \"2016-03-14T02:00:00Z\","
                 " \"leap\": \"2000-02-29T23:59:59.999999999Z\","
                 " \"file\": \"abc.log\", \"star\": \"a*b\","
                 " \"bs\": \"a\\\\b\", \"empty\": \"\","
                 " \"emoji\": \"\\ud83d\\ude00\"}");

    test_compile();
    test_nesting();
    test_eval();

    json_decref(input);

    return done_testing();
}
