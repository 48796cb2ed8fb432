
/*
 * Copyright (C) Tollgate
 *
 * The intrinsic functions of the States Language (lib/asl): what a call
 * looks like, the definition-time checks (names, argument counts,
 * literal types, escapes, numbers, nesting at and past
 * GW_ASL_INTRINSIC_MAX, what literals alone show), and each function:
 * normal cases, every failure, the caps at and just past their bounds,
 * control bytes and UTF-8, two encodings of one value, and the choices
 * we follow AWS on where the oracle differs (MathAdd rounding half up,
 * StringSplit's delimiter a set, StringToJson("") null, MathRandom's
 * end excluded).  Paths as arguments are tested once the path helper
 * answers (skipped while it is a placeholder).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


static char          out_buf[65536];
static gw_asl_err_t  last;
static json_t       *input;
static json_t       *context;


/* evaluates call: 0 and its compact JSON in out_buf, or -1 and last */

static int
ev(const char *call)
{
    char    *s;
    json_t  *v;

    out_buf[0] = '\0';
    memset(&last, 0, sizeof(last));

    v = gw_asl_intrinsic_eval(call, input, context, &last);
    if (v == NULL) {
        return -1;
    }

    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        bail_out("json_dumps failed");
    }

    snprintf(out_buf, sizeof(out_buf), "%s", s);
    free(s);
    json_decref(v);

    return 0;
}


static int
ck(const char *call)
{
    memset(&last, 0, sizeof(last));

    return gw_asl_intrinsic_check(call, &last);
}


static int
has(const char *needle)
{
    if (strstr(last.cause, needle) != NULL) {
        return 1;
    }

    diag("cause: %s", last.cause);
    return 0;
}


/* "States.Array(" n times, then inner, then ")" n times */

static char *
nest(const char *fn, int n, const char *inner)
{
    int     i;
    char   *s, *p;
    size_t  len;

    len = strlen(fn);
    s = malloc(n * (len + 2) + strlen(inner) + 1);
    if (s == NULL) {
        bail_out("out of memory");
    }

    p = s;

    for (i = 0; i < n; i++) {
        memcpy(p, fn, len);
        p += len;
        *p++ = '(';
    }

    p += sprintf(p, "%s", inner);

    for (i = 0; i < n; i++) {
        *p++ = ')';
    }

    *p = '\0';

    return s;
}


/* prefix, n copies of unit, suffix */

static char *
repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    char    *s, *p;
    size_t   i, u;

    u = strlen(unit);
    s = malloc(strlen(prefix) + u * n + strlen(suffix) + 1);
    if (s == NULL) {
        bail_out("out of memory");
    }

    p = s + sprintf(s, "%s", prefix);

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    strcpy(p, suffix);

    return s;
}


static void
test_is_call(void)
{
    ok(gw_asl_intrinsic_is_call("States.Format('x')"), "a call");
    ok(gw_asl_intrinsic_is_call("States.Nope("), "an unknown name looks "
       "like a call (the check names it)");
    ok(!gw_asl_intrinsic_is_call(" States.Array()"), "a leading space: no");
    ok(!gw_asl_intrinsic_is_call("States.Array"), "no parenthesis: no");
    ok(!gw_asl_intrinsic_is_call("States.()"), "no name: no");
    ok(!gw_asl_intrinsic_is_call("States.Array ()"), "a space before (: no");
    ok(!gw_asl_intrinsic_is_call("$.a"), "a path: no");
    ok(!gw_asl_intrinsic_is_call("states.Array()"), "lower case: no");
    ok(!gw_asl_intrinsic_is_call(NULL), "NULL: no");
}


static void
test_parse(void)
{
    char  *s;

    is_int(ck("States.Array()"), 0, "no arguments");
    is_int(ck("States.Array( 1 ,\t-2.5e3 , true,false,null, 'x' )"), 0,
           "literals of each kind, spaces around them");
    is_int(ck("States.Nope(1)"), -1, "an unknown function");
    is_str(last.error, "States.InvalidDefinition", "... InvalidDefinition");
    ok(has("unknown intrinsic function \"States.Nope\" at offset 0"),
       "... named, with its offset");
    is_int(ck("States.Array(States.Bad())"), -1, "an unknown nested one");
    ok(has("offset 13"), "... at its offset");
    is_int(ck("States.Array(1) "), -1, "a space after the call");
    ok(has("after the call at offset 15"), "... refused");
    is_int(ck("States.Array(1"), -1, "an unclosed call");
    is_int(ck("States.Array(1,)"), -1, "an empty argument");
    ok(has("offset 15"), "... at its offset");
    is_int(ck("States.Array(1 2)"), -1, "a missing comma");
    ok(has("\",\" or \")\" expected at offset 15"), "... said so");
    is_int(ck("States.Array(yes)"), -1, "a bare word");
    is_int(ck("States.Array(True)"), -1, "True is no boolean");
    is_int(ck("States.Array(nullx)"), -1, "nullx is no null");
    is_int(ck("States.Array(\"x\")"), -1, "double quotes are no string");

    is_int(ck("States.Array(01)"), -1, "a leading zero");
    is_int(ck("States.Array(1.)"), -1, "a dot without digits");
    is_int(ck("States.Array(-)"), -1, "a lone minus");
    is_int(ck("States.Array(1e)"), -1, "an empty exponent");
    is_int(ck("States.Array(1e999)"), -1, "a number out of range");
    is_int(ev("States.Array(-0, 0.5, -7, 1E2, 9223372036854775807)"), 0,
           "numbers");
    is_str(out_buf, "[0,0.5,-7,100.0,9223372036854775807]",
           "... integers stay integers");
    is_int(ev("States.Array(9223372036854775808)"), 0, "past int64");
    is_str(out_buf, "[9.2233720368547758e18]", "... a real");

    is_int(ev("States.Array('it\\'s', '\\{\\}', 'a\\\\b', '')"), 0,
           "escapes");
    is_str(out_buf, "[\"it's\",\"{}\",\"a\\\\b\",\"\"]", "... unescaped");
    is_int(ck("States.Array('a\\nb')"), -1, "an unknown escape");
    ok(has("unknown escape \"\\n\" at offset 15"), "... at its offset");
    is_int(ck("States.Array('abc)"), -1, "an unclosed string");
    ok(has("string at offset 13 is not closed"), "... said so");
    is_int(ck("States.Array('a,b)', 'c')"), 0, "a comma and a ) in a "
           "string");
    is_int(ev("States.Array('tab\there\nnl \x01')"), 0,
           "control bytes in a literal");
    is_str(out_buf, "[\"tab\\there\\nnl \\u0001\"]", "... kept");
    is_int(ev("States.Array('\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80')"), 0,
           "UTF-8 in a literal");
    is_str(out_buf, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", "... kept");
    is_int(ev("States.Array('a\xff')"), -1, "invalid UTF-8 in a literal");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");

    is_int(ck("States.ArrayLength()"), -1, "too few arguments");
    ok(has("States.ArrayLength at offset 0 takes 1 argument, not 0"),
       "... said so");
    is_int(ck("States.Format()"), -1, "Format without a template");
    ok(has("at least 1 argument"), "... said so");
    is_int(ck("States.MathRandom(1, 2, 3, 4)"), -1, "too many arguments");
    ok(has("at most 3 arguments, not 4"), "... said so");
    is_int(ck("States.UUID(1)"), -1, "UUID takes none");

    is_int(ck("States.ArrayLength('x')"), -1, "a literal of the wrong type");
    ok(has("argument 1 must be an array, not a string"), "... said so");
    is_int(ck("States.MathAdd(1, 'x')"), -1, "a string to MathAdd");
    ok(has("argument 2 must be a number"), "... said so");
    is_int(ck("States.ArrayRange(1, 2.5, 1)"), -1, "a fraction as an "
           "integer");
    is_int(ck("States.ArrayRange(1, 2.0, 1)"), 0, "2.0 is an integer");
    is_int(ck("States.ArrayPartition(States.Array(1), 0)"), -1,
           "a chunk size of 0");
    ok(has("positive"), "... said so");
    is_int(ck("States.ArrayRange(1, 5, 0)"), -1, "a step of 0");
    is_int(ck("States.JsonMerge(States.StringToJson('{}'), "
              "States.StringToJson('{}'), true)"), -1, "a deep merge");
    ok(has("deep merge"), "... refused");
    is_int(ck("States.Hash('x', 'SHA-3')"), -1, "an unknown algorithm");
    ok(has("\"SHA-3\""), "... named");
    is_int(ck("States.Format('{} {}', 1)"), -1, "placeholders against "
           "values");
    ok(has("2 placeholders, the call 1 value"), "... counted");
    is_int(ck("States.Format('\\{} {}', 1)"), 0, "an escaped brace is no "
           "placeholder");
    is_int(ck("States.ArrayRange(1, 1001, 1)"), -1, "a literal call that "
           "fails: refused at once");
    ok(has("1001 elements"), "... with its cause");
    is_str(last.error, "States.InvalidDefinition", "... as a definition "
           "error");
    is_int(ck("States.StringToJson('{')"), -1, "literal bad JSON");

    s = nest("States.Array", GW_ASL_INTRINSIC_MAX, "1");
    is_int(ck(s), 0, "calls nested %d deep", GW_ASL_INTRINSIC_MAX);
    is_int(ev(s), 0, "... evaluated");
    is_int(strlen(out_buf), 2 * GW_ASL_INTRINSIC_MAX + 1, "... that deep");
    free(s);
    s = nest("States.Array", GW_ASL_INTRINSIC_MAX + 1, "1");
    is_int(ck(s), -1, "one more: refused");
    ok(has("nested deeper than 16"), "... as nesting");
    is_int(ev(s), -1, "... and at run time");
    free(s);
    s = nest("States.Array", 100000, "1");
    is_int(ck(s), -1, "nested 100,000 deep: refused without recursion");
    free(s);
}


static void
test_format(void)
{
    char  *s;

    is_int(ev("States.Format('Hello, {}!', 'Ann')"), 0, "Format");
    is_str(out_buf, "\"Hello, Ann!\"", "... filled");
    is_int(ev("States.Format('{} {} {} {} {}', 1, -2.5, true, null, "
              "'{}')"), 0, "numbers, booleans, null, a string of {}");
    is_str(out_buf, "\"1 -2.5 true null {}\"", "... their text, once");
    is_int(ev("States.Format('\\{\\} {} \\\\ \\'', 'x')"), 0,
           "escaped braces, backslash, quote");
    is_str(out_buf, "\"{} x \\\\ '\"", "... literal");
    is_int(ev("States.Format('{ } {x}')"), 0, "braces that are no pair");
    is_str(out_buf, "\"{ } {x}\"", "... kept");
    is_int(ev("States.Format('{}', States.StringToJson('1.0'))"), 0,
           "a real with no fraction");
    is_str(out_buf, "\"1\"", "... as JavaScript writes it");
    is_int(ev("States.Format('{}', States.StringToJson('1e21'))"), 0,
           "1e21");
    is_str(out_buf, "\"1e+21\"", "... as JavaScript writes it");
    is_int(ev("States.Format('{}', 0.1)"), 0, "0.1");
    is_str(out_buf, "\"0.1\"", "... the shortest digits");
    is_int(ev("States.Format('{}')"), -1, "a placeholder without a value");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    ok(has("1 placeholder, the call 0 values"), "... counted");
    is_int(ev("States.Format('x', 1)"), -1, "a value without a "
           "placeholder");
    is_int(ev("States.Format('{}', States.Array(1))"), -1, "an array "
           "value");
    ok(has("argument 2 must be a string, number, boolean or null"),
           "... refused");
    is_int(ev("States.Format(1)"), -1, "a template that is no string");
    is_int(ev("States.Format(States.Format('\\{\\}'), 'x')"), 0,
           "a computed template");
    is_str(out_buf, "\"x\"", "... its {} a placeholder");
    is_int(ev("States.Format('\xc3\xa9{}\xe2\x82\xac', '\xf0\x9f\x98\x80')"),
           0, "UTF-8");
    is_str(out_buf, "\"\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac\"", "... kept");

    s = repeat("States.Format('{}{}', '", "x", GW_ASL_PAYLOAD_MAX / 2,
               "', 'y')");
    is_int(ev(s), 0, "a result at half the payload cap");
    free(s);
    s = repeat("States.Format('{}{}', '", "x", GW_ASL_PAYLOAD_MAX, "', "
               "'y')");
    is_int(ev(s), -1, "a result one byte past the payload cap");
    is_str(last.error, "States.DataLimitExceeded", "... DataLimitExceeded");
    free(s);
    /* the cap is the result's JSON: a string's quotes count */
    s = repeat("States.Format('{}', '", "x", GW_ASL_PAYLOAD_MAX - 2, "')");
    is_int(ev(s), 0, "a result at the payload cap");
    free(s);
    s = repeat("States.Format('{}', '", "x", GW_ASL_PAYLOAD_MAX - 1, "')");
    is_int(ev(s), -1, "a result whose JSON is a byte past the payload cap");
    free(s);
}


static void
test_json(void)
{
    char  *s, *d;

    is_int(ev("States.StringToJson('{\"a\": [1, 2.5, \"x\"], \"b\": "
              "null}')"), 0, "StringToJson");
    is_str(out_buf, "{\"a\":[1,2.5,\"x\"],\"b\":null}", "... parsed");
    is_int(ev("States.StringToJson('')"), 0, "StringToJson('')");
    is_str(out_buf, "null", "... is null (as AWS does)");
    is_int(ev("States.StringToJson(' 42 ')"), 0, "a bare number");
    is_str(out_buf, "42", "... parsed");
    is_int(ev("States.StringToJson('{\"a\":')"), -1, "bad JSON");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    ok(has("not JSON"), "... said so");
    is_int(ev("States.StringToJson(' ')"), -1, "white space only");
    is_int(ev("States.StringToJson(1)"), -1, "a number to StringToJson");

    d = repeat("", "[", GW_ASL_JSON_DEPTH_MAX, "");
    s = repeat("States.StringToJson('", d, 1, "");
    free(d);
    d = repeat(s, "]", GW_ASL_JSON_DEPTH_MAX, "')");
    is_int(ev(d), 0, "JSON nested %d deep", GW_ASL_JSON_DEPTH_MAX);
    free(s);
    free(d);
    d = repeat("", "[", GW_ASL_JSON_DEPTH_MAX + 1, "");
    s = repeat("States.StringToJson('", d, 1, "");
    free(d);
    d = repeat(s, "]", GW_ASL_JSON_DEPTH_MAX + 1, "')");
    is_int(ev(d), -1, "one level more: refused");
    ok(has("nested deeper than 64"), "... said so");
    free(s);
    free(d);

    is_int(ev("States.JsonToString(States.StringToJson("
              "'{\"b\": 1.0, \"a\": [0.1, 1e-7, 1.2345678901234568e20, "
              "\"\\\\u0001\\\\n\\\\\"\\\\\\\\\"], \"c\": {}}'))"), 0,
           "JsonToString");
    is_str(out_buf, "\"{\\\"b\\\":1,\\\"a\\\":[0.1,1e-7,"
           "123456789012345680000,\\\"\\\\u0001\\\\n\\\\\\\"\\\\\\\\\\\"],"
           "\\\"c\\\":{}}\"",
           "... compact, in order, numbers and escapes as JavaScript");
    is_int(ev("States.JsonToString('\xc3\xa9')"), 0, "a string");
    is_str(out_buf, "\"\\\"\xc3\xa9\\\"\"", "... quoted, UTF-8 kept");
    s = repeat("States.JsonToString('", "x", GW_ASL_PAYLOAD_MAX - 6, "')");
    is_int(ev(s), 0, "a JSON text at the payload cap (as a JSON string)");
    free(s);
    s = repeat("States.JsonToString('", "x", GW_ASL_PAYLOAD_MAX - 1, "')");
    is_int(ev(s), -1, "one byte more");
    is_str(last.error, "States.DataLimitExceeded", "... DataLimitExceeded");
    free(s);
    is_int(ev("States.JsonToString(null)"), 0, "null");
    is_str(out_buf, "\"null\"", "... \"null\"");

    is_int(ev("States.JsonMerge(States.StringToJson('{\"a\": 1, \"b\": "
              "{\"x\": 1}}'), States.StringToJson('{\"b\": {\"y\": 2}, "
              "\"c\": 3}'), false)"), 0, "JsonMerge");
    is_str(out_buf, "{\"a\":1,\"b\":{\"y\":2},\"c\":3}",
           "... shallow: b replaced whole");
    is_int(ev("States.JsonMerge(States.StringToJson('{}'), "
              "States.StringToJson('{}'), true)"), -1, "a deep merge");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    is_int(ev("States.JsonMerge(States.Array(), States.StringToJson('{}'), "
              "false)"), -1, "an array to JsonMerge");
    ok(has("argument 1 must be an object, not an array"), "... said so");
    is_int(ev("States.JsonMerge(States.StringToJson('{}'), "
              "States.StringToJson('{}'), 'false')"), -1,
           "'false' is no boolean");
}


static void
test_arrays(void)
{
    char  *s;

    is_int(ev("States.Array(1, 'a', States.Array())"), 0, "Array");
    is_str(out_buf, "[1,\"a\",[]]", "... nested");

    is_int(ev("States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)"), 0,
           "ArrayPartition");
    is_str(out_buf, "[[1,2],[3,4],[5]]", "... the last chunk short");
    is_int(ev("States.ArrayPartition(States.Array(), 3)"), 0, "of []");
    is_str(out_buf, "[]", "... []");
    is_int(ev("States.ArrayPartition(States.Array(1, 2), 5)"), 0,
           "a chunk larger than the array");
    is_str(out_buf, "[[1,2]]", "... one chunk");
    is_int(ev("States.ArrayPartition(States.Array(1), "
              "States.MathAdd(0, -1))"), -1, "a computed size of -1");
    ok(has("positive integer, not -1"), "... said so");
    is_int(ev("States.ArrayPartition(States.Array(1), 1.5)"), -1,
           "a size of 1.5");

    is_int(ev("States.ArrayContains(States.Array(1, 'a', "
              "States.StringToJson('{\"k\": [1]}')), "
              "States.StringToJson('{\"k\": [1.0]}'))"), 0, "ArrayContains");
    is_str(out_buf, "true", "... 1 and 1.0 are one number, deep");
    is_int(ev("States.ArrayContains(States.Array(1), '1')"), 0,
           "a string against a number");
    is_str(out_buf, "false", "... differ");
    is_int(ev("States.ArrayContains(States.Array('\xc3\xa9'), "
              "States.StringToJson('\"\\\\u00e9\"'))"), 0,
           "an escaped and a raw e-acute");
    is_str(out_buf, "true", "... are one string");
    is_int(ev("States.ArrayContains(States.Array(null), null)"), 0,
           "null in an array");
    is_str(out_buf, "true", "... found");

    is_int(ev("States.ArrayRange(0, 10, 3)"), 0, "ArrayRange");
    is_str(out_buf, "[0,3,6,9]", "... last not reached");
    is_int(ev("States.ArrayRange(10, 0, -5)"), 0, "a negative step");
    is_str(out_buf, "[10,5,0]", "... last included");
    is_int(ev("States.ArrayRange(5, 1, 1)"), 0, "the wrong direction");
    is_str(out_buf, "[]", "... []");
    is_int(ev("States.ArrayRange(1, 1000, 1)"), 0, "1000 elements");
    ok(strncmp(out_buf, "[1,2,", 5) == 0
       && strcmp(out_buf + strlen(out_buf) - 6, ",1000]") == 0,
       "... 1 to 1000");
    is_int(ev("States.ArrayRange(1, 1001, 1)"), -1, "1001 elements");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    is_int(ev("States.ArrayRange(-9223372036854775807, "
              "9223372036854775807, 1)"), -1, "the whole int64 range");
    is_int(ev("States.ArrayRange(-9223372036854775807, "
              "9223372036854775807, 9223372036854775807)"), 0,
           "a huge step");
    is_str(out_buf, "[-9223372036854775807,0,9223372036854775807]",
           "... without overflow");
    is_int(ev("States.ArrayRange(1, 5, States.MathAdd(0, 0))"), -1,
           "a computed step of 0");

    is_int(ev("States.ArrayGetItem(States.Array('a', 'b'), 1)"), 0,
           "ArrayGetItem");
    is_str(out_buf, "\"b\"", "... the item");
    is_int(ev("States.ArrayGetItem(States.Array('a'), 1)"), 0,
           "an index past the end");
    is_str(out_buf, "null", "... null (as the oracle answers)");
    is_int(ev("States.ArrayGetItem(States.Array('a'), -1)"), -1,
           "a negative index");
    is_int(ev("States.ArrayGetItem(States.Array('a'), 0.5)"), -1,
           "a fractional index");

    is_int(ev("States.ArrayLength(States.ArrayRange(1, 7, 1))"), 0,
           "ArrayLength");
    is_str(out_buf, "7", "... 7");
    is_int(ev("States.ArrayLength(States.Array())"), 0, "of []");
    is_str(out_buf, "0", "... 0");

    is_int(ev("States.ArrayUnique(States.StringToJson('[1, 1.0, \"1\", "
              "{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1.0}, [1], [1], null, "
              "null, true, false, true]'))"), 0, "ArrayUnique");
    is_str(out_buf, "[1,\"1\",{\"a\":1,\"b\":2},[1],null,true,false]",
           "... the first of each value, in order");

    s = repeat("States.ArrayUnique(States.StringToJson('[", "1,2,3,", 20000,
               "4]'))");
    is_int(ev(s), 0, "60,001 items, 4 values");
    is_str(out_buf, "[1,2,3,4]", "... unique");
    free(s);
}


static void
test_encoding(void)
{
    char  *s;

    is_int(ev("States.Base64Encode('Data to encode')"), 0, "Base64Encode");
    is_str(out_buf, "\"RGF0YSB0byBlbmNvZGU=\"", "... AWS's example");
    is_int(ev("States.Base64Encode('\xc3\xa9')"), 0, "UTF-8");
    is_str(out_buf, "\"w6k=\"", "... its bytes");
    is_int(ev("States.Base64Encode('')"), 0, "''");
    is_str(out_buf, "\"\"", "... ''");
    s = repeat("States.Base64Encode('", "a", 10000, "')");
    is_int(ev(s), 0, "10,000 characters");
    free(s);
    s = repeat("States.Base64Encode('", "a", 10001, "')");
    is_int(ev(s), -1, "10,001 characters");
    ok(has("10001 characters, more than 10000"), "... refused");
    free(s);
    s = repeat("States.Base64Encode('", "\xc3\xa9", 10000, "')");
    is_int(ev(s), 0, "10,000 two-byte characters: counted as characters");
    free(s);

    is_int(ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"), 0,
           "Base64Decode");
    is_str(out_buf, "\"Data to encode\"", "... AWS's example");
    is_int(ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU')"), 0,
           "without padding");
    is_str(out_buf, "\"Data to encode\"", "... decoded too");
    is_int(ev("States.Base64Decode('w6k=')"), 0, "UTF-8 bytes");
    is_str(out_buf, "\"\xc3\xa9\"", "... text");
    is_int(ev("States.Base64Decode('/w==')"), -1, "bytes that are no "
           "UTF-8");
    ok(has("not UTF-8"), "... refused");
    is_int(ev("States.Base64Decode('a$b=')"), -1, "not base64");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    is_int(ev("States.Base64Decode('QUJD RA==')"), -1, "a space inside");
    is_int(ev("States.Base64Decode('A')"), -1, "one symbol");
    s = repeat("States.Base64Decode('", "QUJD", 2500, "')");
    is_int(ev(s), 0, "10,000 characters");
    free(s);
    s = repeat("States.Base64Decode('", "QUJD", 2500, "QQ')");
    is_int(ev(s), -1, "10,002 characters");
    free(s);

    is_int(ev("States.Hash('abc', 'MD5')"), 0, "MD5");
    is_str(out_buf, "\"900150983cd24fb0d6963f7d28e17f72\"", "... digest");
    is_int(ev("States.Hash('abc', 'SHA-1')"), 0, "SHA-1");
    is_str(out_buf, "\"a9993e364706816aba3e25717850c26c9cd0d89d\"",
           "... digest");
    is_int(ev("States.Hash('abc', 'SHA-256')"), 0, "SHA-256");
    is_str(out_buf, "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb4"
           "10ff61f20015ad\"", "... digest");
    is_int(ev("States.Hash('abc', 'SHA-384')"), 0, "SHA-384");
    is_str(out_buf, "\"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b"
           "605a43ff5bed8086072ba1e7cc2358baeca134c825a7\"", "... digest");
    is_int(ev("States.Hash('abc', 'SHA-512')"), 0, "SHA-512");
    is_str(out_buf, "\"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9e"
           "eee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9"
           "ac94fa54ca49f\"", "... digest");
    is_int(ev("States.Hash('\xc3\xa9', 'MD5')"), 0, "UTF-8 input");
    is_str(out_buf, "\"66ddcd97cfdeabb2f6fb8a999b4bc76f\"",
           "... its UTF-8 bytes hashed");
    is_int(ev("States.Hash('abc', 'sha-256')"), -1, "lower case algorithm");
    ok(has("none of MD5"), "... refused");
    is_int(ev("States.Hash(1, 'MD5')"), -1, "a number to hash");
    s = repeat("States.Hash('", "a", 10000, "', 'MD5')");
    is_int(ev(s), 0, "10,000 characters to hash");
    free(s);
    s = repeat("States.Hash('", "a", 10001, "', 'MD5')");
    is_int(ev(s), -1, "10,001 characters");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    free(s);

    is_int(ev("States.StringSplit('a,b,,c,', ',')"), 0, "StringSplit");
    is_str(out_buf, "[\"a\",\"b\",\"c\"]", "... empty pieces dropped (AWS)");
    is_int(ev("States.StringSplit('a-b_c--d', '_-')"), 0,
           "a delimiter of two characters");
    is_str(out_buf, "[\"a\",\"b\",\"c\",\"d\"]", "... a set (AWS)");
    is_int(ev("States.StringSplit('1\xc3\xa9" "2\xc3\xa9" "3', '\xc3\xa9')"),
           0, "a two-byte delimiter");
    is_str(out_buf, "[\"1\",\"2\",\"3\"]", "... whole characters");
    is_int(ev("States.StringSplit('a\xc3\xa9" "b', '\xc3\xa8')"), 0,
           "a delimiter sharing a lead byte");
    is_str(out_buf, "[\"a\xc3\xa9" "b\"]", "... cuts nothing");
    is_int(ev("States.StringSplit('\xf0\x9f\x98\x80x\xf0\x9f\x98\x81', "
              "'x')"), 0, "four-byte characters around");
    is_str(out_buf, "[\"\xf0\x9f\x98\x80\",\"\xf0\x9f\x98\x81\"]",
           "... kept whole");
    is_int(ev("States.StringSplit('abc', '')"), 0, "an empty delimiter");
    is_str(out_buf, "[\"abc\"]", "... cuts nothing");
    is_int(ev("States.StringSplit('', ',')"), 0, "an empty string");
    is_str(out_buf, "[]", "... []");
    is_int(ev("States.StringSplit('a\tb\nc', '\t\n')"), 0,
           "control characters as delimiters");
    is_str(out_buf, "[\"a\",\"b\",\"c\"]", "... cut");
}


static void
test_math(void)
{
    int   i, inside, seen_low, seen_high;
    char  first[64];

    is_int(ev("States.MathAdd(111, -1)"), 0, "MathAdd");
    is_str(out_buf, "110", "... AWS's example");
    is_int(ev("States.MathAdd(1.5, 1)"), 0, "1.5 + 1");
    is_str(out_buf, "3", "... 1.5 rounds half up to 2 (AWS)");
    is_int(ev("States.MathAdd(-1.5, 0)"), 0, "-1.5");
    is_str(out_buf, "-1", "... half up: -1");
    is_int(ev("States.MathAdd(-2.5, 2.5)"), 0, "-2.5 + 2.5");
    is_str(out_buf, "1", "... -2 + 3");
    is_int(ev("States.MathAdd(1.4999999999999998, -0.5000000000000001)"),
           0, "just below the halves");
    is_str(out_buf, "0", "... 1 + -1");
    is_int(ev("States.MathAdd(0.49999999999999994, 0)"), 0,
           "the largest double below 0.5");
    is_str(out_buf, "0", "... rounds down, no addition error");
    is_int(ev("States.MathAdd(9223372036854775807, 0)"), 0, "INT64_MAX");
    is_str(out_buf, "9223372036854775807", "... exact");
    is_int(ev("States.MathAdd(9223372036854775807, 1)"), -1,
           "INT64_MAX + 1");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    is_int(ev("States.MathAdd(1e300, 0)"), -1, "1e300");
    is_int(ev("States.MathAdd(true, 0)"), -1, "a boolean");

    inside = 1;
    seen_low = 0;
    seen_high = 0;

    for (i = 0; i < 400; i++) {
        if (ev("States.MathRandom(-2, 2)") != 0) {
            inside = 0;
            break;
        }

        inside &= (strcmp(out_buf, "-2") == 0 || strcmp(out_buf, "-1") == 0
                   || strcmp(out_buf, "0") == 0 || strcmp(out_buf, "1") == 0);
        seen_low |= (strcmp(out_buf, "-2") == 0);
        seen_high |= (strcmp(out_buf, "1") == 0);
    }

    ok(inside, "MathRandom(-2, 2): always in [-2, 2), the end excluded");
    ok(seen_low && seen_high, "... both ends of the range drawn");
    is_int(ev("States.MathRandom(5, 6)"), 0, "a range of one");
    is_str(out_buf, "5", "... 5");
    is_int(ev("States.MathRandom(0, 1000000, 42)"), 0, "a seed");
    snprintf(first, sizeof(first), "%s", out_buf);
    is_int(ev("States.MathRandom(0, 1000000, 42)"), 0, "the same seed");
    is_str(out_buf, first, "... the same number");
    is_int(ev("States.MathRandom(-9223372036854775807, "
              "9223372036854775807, 7)"), 0, "the int64 range");
    is_int(ev("States.MathRandom(3, 3)"), -1, "an empty range");
    ok(has("greater than the start"), "... said so");
    is_int(ev("States.MathRandom(1.5, 3)"), -1, "a fractional start");
    is_int(ev("States.MathRandom(1, 3, 'x')"), -1, "a string seed");

    is_int(ev("States.UUID()"), 0, "UUID");
    ok(strlen(out_buf) == 38 && out_buf[9] == '-' && out_buf[14] == '-'
       && out_buf[15] == '4' && out_buf[19] == '-' && out_buf[24] == '-'
       && strchr("89ab", out_buf[20]) != NULL
       && strspn(out_buf + 1, "0123456789abcdef-") == 36,
       "... version 4, the variant, lower case: %s", out_buf);
    snprintf(first, sizeof(first), "%s", out_buf);
    is_int(ev("States.UUID()"), 0, "another");
    ok(strcmp(first, out_buf) != 0, "... differs");
}


static void
test_paths(void)
{
    json_error_t  e;

    if (gw_asl_path_check("$.a", GW_ASL_PATH_ANY, NULL) != 0) {
        skip(21, "the path helper is not built yet");
        return;
    }

    input = json_loads("{\"name\": \"Ann\", \"n\": [1, 2, 3], \"s\": "
                       "\"a,b\", \"o\": {\"k\": 1}}", 0, &e);
    context = json_loads("{\"Execution\": {\"Id\": \"arn:x\"}}", 0, &e);

    is_int(ck("States.Format('Hi {}', $.name)"), 0, "a path argument");
    is_int(ev("States.Format('Hi {}', $.name)"), 0, "... evaluated");
    is_str(out_buf, "\"Hi Ann\"", "... its value");
    is_int(ev("States.Array($$.Execution.Id, $)"), 0,
           "the context and the whole input");
    ok(strncmp(out_buf, "[\"arn:x\",{", 10) == 0, "... both");
    is_int(ev("States.ArrayLength($.n)"), 0, "an array from a path");
    is_str(out_buf, "3", "... its length");
    is_int(ev("States.StringSplit($.s,',')"), 0, "a path before a comma");
    is_str(out_buf, "[\"a\",\"b\"]", "... split");
    is_int(ev("States.Format('{}', $.missing)"), -1, "a path naming "
           "nothing");
    is_str(last.error, "States.Runtime", "... States.Runtime");
    is_int(ev("States.ArrayLength($.o)"), -1, "an object to ArrayLength");
    is_str(last.error, "States.IntrinsicFailure", "... IntrinsicFailure");
    is_int(ck("States.Array($.a[)"), -1, "an invalid path");
    ok(has("offset 13"), "... at its offset");
    is_int(ck("States.ArrayRange($.n[0], 5000, 1)"), 0,
           "a call with a path: not evaluated at definition time");
    is_int(ev("States.ArrayRange($.n[0], 5000, 1)"), -1, "... but at run "
           "time");
    is_int(ev("States.Array($['a,b'], $.n[0,1])"), -1, "a quoted comma in "
           "a path");
    is_str(last.error, "States.Runtime", "... one path, naming nothing");
    is_int(ev("States.Array($.n[0,1])"), 0, "a union in a path");
    is_str(out_buf, "[[1,2]]", "... one argument, its array");

    json_decref(input);
    json_decref(context);
    input = NULL;
    context = NULL;
}


int
main(void)
{
    test_is_call();
    test_parse();
    test_format();
    test_json();
    test_arrays();
    test_encoding();
    test_math();
    test_paths();

    return done_testing();
}
