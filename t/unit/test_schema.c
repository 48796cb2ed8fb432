
/*
 * Copyright (C) Tollgate
 *
 * JSON Schema 2020-12 (lib/jsonschema): what the conformance suite does
 * not check.  Numbers: 1 and 1.0 equal in enum, const and uniqueItems,
 * integers beyond 64 bits through gw_schema_json_loadb(), multipleOf
 * with decimal fractions decided exactly.  Regular expressions: \d and
 * \w ASCII-only, \p{...}, the match limit against catastrophic
 * backtracking, bad patterns named at compile time.  "format" as an
 * annotation and, by option, an assertion.  The error list: instance
 * and keyword locations through "$ref" hops, escaping, the messages,
 * the max_errors cap.  Compile errors naming the JSON pointer of the
 * problem.  The caps: schema depth and size, instance depth, evaluation
 * depth (a "$ref" cycle, which "not" must not turn into a success).
 * Registered documents, URN and relative base URIs, anchors, and the
 * built-in metaschemas validating schemas.  gw_schema_json_loadb()
 * against json_loadb(): the same values, the same errors.  Draft-07 is in
 * test_schema_draft7.c.
 *
 * Schemas are written with ' for " to stay readable.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema.h"
#include "tap.h"


static gw_schema_cerr_t  cerr;


/* the text with every ' turned into " */

static json_t *
js(const char *text)
{
    char          *p, *q;
    json_t        *j;
    json_error_t   e;

    p = strdup(text);
    if (p == NULL) {
        bail_out("out of memory");
    }

    for (q = p; *q != '\0'; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }

    j = gw_schema_json_loadb(p, strlen(p), JSON_DECODE_ANY, &e);
    if (j == NULL) {
        diag("bad test JSON: %s: %s", e.text, p);
        bail_out("bad test JSON");
    }

    free(p);

    return j;
}


static gw_schema_t *
compile_opts(const char *schema, const gw_schema_opts_t *opts)
{
    json_t       *j;
    gw_schema_t  *s;

    s = gw_schema_new(opts);
    if (s == NULL) {
        bail_out("out of memory");
    }

    j = js(schema);
    memset(&cerr, 0, sizeof(cerr));

    if (gw_schema_compile(s, j, &cerr) != 0) {
        gw_schema_free(s);
        s = NULL;
    }

    json_decref(j);

    return s;
}


/* gw_schema_check() on text, ' read as " */

static int
one_pass(gw_schema_t *s, const char *text)
{
    int               rc;
    char             *p, *q;
    gw_schema_doc_t   doc;

    p = strdup(text);
    if (p == NULL) {
        bail_out("out of memory");
    }

    for (q = p; *q != '\0'; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }

    gw_schema_doc_init(&doc);
    rc = gw_schema_check(s, &doc, p, strlen(p),
                         JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, 0);
    gw_schema_doc_free(&doc);
    free(p);

    return rc;
}


/* 1 valid, 0 invalid, -1 error, -2 the schema did not compile */

static int
check_opts(const char *schema, const char *inst, const gw_schema_opts_t *o)
{
    int                 rc, rc2;
    json_t             *j;
    gw_schema_t        *s;
    gw_schema_result_t  res;

    s = compile_opts(schema, o);
    if (s == NULL) {
        return -2;      /* cerr says why */
    }

    j = js(inst);
    memset(&res, 0, sizeof(res));

    rc = gw_schema_validate(s, j, NULL);
    rc2 = gw_schema_validate(s, j, &res);

    if (rc != rc2 || (rc == 0 && res.nerrors == 0)) {
        diag("with and without errors: %d, %d (%zu errors)", rc, rc2,
             res.nerrors);
        rc = -3;
    }

    /* the one pass on the text must say the same */

    if (rc >= 0 && one_pass(s, inst) != rc) {
        diag("one pass: %d, validation: %d, on %s", one_pass(s, inst), rc,
             inst);
        rc = -4;
    }

    gw_schema_result_free(&res);
    json_decref(j);
    gw_schema_free(s);

    return rc;
}


static int
check(const char *schema, const char *inst)
{
    return check_opts(schema, inst, NULL);
}


/* validates and keeps the errors in *res */

static int
errors(const char *schema, const char *inst, const gw_schema_opts_t *opts,
    gw_schema_result_t *res)
{
    int           rc;
    json_t       *j;
    gw_schema_t  *s;

    memset(res, 0, sizeof(gw_schema_result_t));

    s = compile_opts(schema, opts);
    if (s == NULL) {
        return -2;
    }

    j = js(inst);
    rc = gw_schema_validate(s, j, res);

    json_decref(j);
    gw_schema_free(s);

    return rc;
}


static void
test_numbers(void)
{
    is_int(check("{'enum': [1, 'a']}", "1.0"), 1, "1.0 is in enum [1]");
    is_int(check("{'enum': [1.0]}", "1"), 1, "1 is in enum [1.0]");
    is_int(check("{'const': {'a': [2]}}", "{'a': [2.0]}"), 1,
           "const compares numbers inside objects and arrays");
    is_int(check("{'const': 0}", "-0.0"), 1, "-0.0 is const 0");
    is_int(check("{'uniqueItems': true}", "[1, 1.0]"), 0,
           "[1, 1.0] is not unique");
    is_int(check("{'uniqueItems': true}",
                 "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,{'a':1},"
                 "{'a':1.0}]"),
           0, "a long array with {a:1} and {a:1.0} is not unique");
    is_int(check("{'uniqueItems': true}",
                 "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,{'a':1},"
                 "{'b':1}, [1], [1, 1], '1', true]"),
           1, "a long array of different items is unique");
    is_int(check("{'type': 'integer'}", "1.0"), 1, "1.0 is an integer");
    is_int(check("{'type': 'integer'}", "1.5"), 0, "1.5 is not");

    is_int(check("{'type': 'integer', 'minimum': 1e22}",
                 "12345678901234567890123"), 1,
           "a 23-digit integer is an integer above 1e22");
    is_int(check("{'maximum': 18446744073709551615}",
                 "18446744073709551616"), 1,
           "2^64 is not above 2^64-1 once both are doubles");
    is_int(check("{'maximum': 9223372036854775807}",
                 "9223372036854775807"), 1, "INT64_MAX <= INT64_MAX");
    is_int(check("{'exclusiveMaximum': 9223372036854775807}",
                 "9223372036854775806"), 1,
           "integers compare exactly near 2^63");
    is_int(check("{'minimum': 9007199254740993}", "9007199254740992"), 0,
           "2^53 < 2^53+1 as integers");

    is_int(check("{'multipleOf': 0.0001}", "0.0075"), 1,
           "0.0075 is a multiple of 0.0001");
    is_int(check("{'multipleOf': 0.0001}", "0.00751"), 0,
           "0.00751 is not");
    is_int(check("{'multipleOf': 0.1}", "0.3"), 1,
           "0.3 is a multiple of 0.1 (not in binary)");
    is_int(check("{'multipleOf': 0.01}", "19.99"), 1, "19.99 of 0.01");
    is_int(check("{'multipleOf': 1.5}", "4.5"), 1, "4.5 of 1.5");
    is_int(check("{'multipleOf': 3}", "10"), 0, "10 is not of 3");
    is_int(check("{'multipleOf': 3}", "-9"), 1, "-9 is of 3");
    is_int(check("{'multipleOf': 0.123456789}", "1e308"), 0,
           "1e308 is not a multiple of 0.123456789");
    is_int(check("{'multipleOf': 1e-8}", "12391239123"), 1,
           "a large integer is a multiple of 1e-8");
    is_int(check("{'multipleOf': 7}", "1e300"), 0,
           "1e300 is not a multiple of 7");
    is_int(check("{'multipleOf': 2}", "1e300"), 1,
           "1e300 is a multiple of 2");
    is_int(check("{'multipleOf': 2}", "123456789012345678901234567890"), 1,
           "a 30-digit even bignum is a multiple of 2");
    is_int(check("{'multipleOf': 0}", "1"), -2, "multipleOf 0 is refused");
    is_str(cerr.pointer, "/multipleOf", "named by its pointer");
}


static void
test_regex(void)
{
    gw_schema_opts_t    opts;
    gw_schema_result_t  res;

    is_int(check("{'pattern': '^\\\\d+$'}", "'123'"), 1, "\\d: ASCII");
    is_int(check("{'pattern': '^\\\\d+$'}", "'\\u0661\\u0662'"), 0,
           "\\d does not match Arabic-Indic digits");
    is_int(check("{'pattern': '^\\\\w+$'}", "'\\u00e9t\\u00e9'"), 0,
           "\\w does not match \\u00e9");
    is_int(check("{'pattern': '^\\\\p{L}+$'}", "'\\u00e9t\\u00e9'"), 1,
           "\\p{L} does");
    is_int(check("{'pattern': '^\\\\p{Letter}+$'}", "'\\u00e9t\\u00e9'"), 1,
           "\\p{Letter}, the long name, does");
    is_int(check("{'pattern': '^\\\\s$'}", "'\\u00a0'"), 1,
           "\\s matches NO-BREAK SPACE");
    is_int(check("{'pattern': '^.$'}", "'\\n'"), 0, ". does not match \\n");
    is_int(check("{'pattern': '^a$'}", "'a\\n'"), 0,
           "$ does not match before a final newline");
    is_int(check("{'pattern': '^\\\\u00e9$'}", "'\\u00e9'"), 1,
           "\\u00e9 is a code point");
    is_int(check("{'pattern': '^\\\\uD83D\\\\uDC32$'}", "'\\uD83D\\uDC32'"),
           1, "a surrogate pair escape is one code point");
    is_int(check("{'pattern': '^[^]$'}", "'\\n'"), 1, "[^] matches anything");
    is_int(check("{'pattern': '^[[:alpha:]]$'}", "':]'"), 1,
           "[[:alpha:]] is not a POSIX class in ECMA-262");
    is_int(check("{'patternProperties': {'^x-': {'type': 'string'}}}",
                 "{'x-a': 1}"), 0, "patternProperties applies");

    is_int(check("{'properties': {'a': {'pattern': '(?P<n>a)'}}}", "1"), -2,
           "a Python group is refused");
    is_str(cerr.pointer, "/properties/a/pattern", "at its pointer");
    is_int(check("{'pattern': '\\\\a'}", "1"), -2, "\\a is refused");
    is_int(check("{'pattern': '(a'}", "1"), -2,
           "an unbalanced group is refused");
    ok(strstr(cerr.message, "regular expression") != NULL,
       "the message says why: %s", cerr.message);

    /* catastrophic backtracking stops at the match limit */

    memset(&opts, 0, sizeof(opts));
    opts.match_limit = 10000;

    is_int(errors("{'pattern': '^(a+)+$'}",
                  "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'", &opts,
                  &res),
           0, "(a+)+ against 47 a's and ! fails at the match limit");
    ok(res.nerrors == 1 && strstr(res.errors[0].message, "costly") != NULL,
       "with a message that says so");
    gw_schema_result_free(&res);
}


static void
test_format(void)
{
    gw_schema_opts_t  opts;

    memset(&opts, 0, sizeof(opts));
    opts.format_assert = 1;

    is_int(check("{'format': 'email'}", "'nope'"), 1,
           "format is an annotation by default");
    is_int(check_opts("{'format': 'email'}", "'nope'", &opts), 0,
           "and an assertion by option");
    is_int(check_opts("{'format': 'email'}", "'a@example.com'", &opts), 1,
           "a good e-mail passes");
    is_int(check_opts("{'format': 'date-time'}", "'2024-02-29T12:00:00Z'",
                      &opts), 1, "a leap day date-time");
    is_int(check_opts("{'format': 'date'}", "'2023-02-29'", &opts), 0,
           "2023-02-29 is not a date");
    is_int(check_opts("{'format': 'ipv4'}", "'10.0.0.256'", &opts), 0,
           "10.0.0.256 is not an IPv4 address");
    is_int(check_opts("{'format': 'ipv6'}", "'::ffff:10.0.0.1'", &opts), 1,
           "an IPv4-mapped IPv6 address");
    is_int(check_opts("{'format': 'uri'}", "'/relative'", &opts), 0,
           "a relative reference is not a uri");
    is_int(check_opts("{'format': 'uri-reference'}", "'/relative'", &opts),
           1, "but is a uri-reference");
    is_int(check_opts("{'format': 'uuid'}",
                      "'2eb8aa08-aa98-11ea-b4aa-73b441d16380'", &opts), 1,
           "a uuid");
    is_int(check_opts("{'format': 'regex'}", "'(?i)a'", &opts), 0,
           "an inline flag is not ECMA-262");
    is_int(check_opts("{'format': 'duration'}", "'P1Y2M3DT4H5M6S'", &opts),
           1, "a duration");
    is_int(check_opts("{'format': 'hostname'}", "'xn--X'", &opts), 0,
           "bad Punycode is not a host name");
    is_int(check_opts("{'format': 'no-such-format'}", "'x'", &opts), 1,
           "an unknown format is an annotation");
    is_int(check_opts("{'format': 'email'}", "12", &opts), 1,
           "format ignores numbers");
}


static void
test_errors(void)
{
    size_t              i;
    gw_schema_opts_t    opts;
    gw_schema_result_t  res;

    is_int(errors("{'properties': {'a': {'$ref': '#/$defs/pos'}},"
                  " '$defs': {'pos': {'minimum': 0}}}",
                  "{'a': -1}", NULL, &res), 0, "a $ref'd minimum fails");
    is_int(res.nerrors, 1, "one error");
    if (res.nerrors == 1) {
        is_str(res.errors[0].instance_location, "/a", "instanceLocation");
        is_str(res.errors[0].keyword_location, "/properties/a/$ref/minimum",
               "keywordLocation through the $ref hop");
        is_str(res.errors[0].message, "must be >= 0", "message");
    }
    gw_schema_result_free(&res);

    is_int(errors("{'type': 'object', 'required': ['id', 'name'],"
                  " 'properties': {'tags': {'items': {'type': 'string'}}},"
                  " 'additionalProperties': false}",
                  "{'tags': ['a', 2], 'a/b~': 1}", NULL, &res), 0,
           "several errors");
    is_int(res.nerrors, 4, "four errors");
    if (res.nerrors == 4) {
        is_str(res.errors[0].keyword_location, "/required", "required");
        is_str(res.errors[0].message, "required property \"id\" is missing",
               "names the property");
        is_str(res.errors[1].keyword_location, "/required", "required");
        is_str(res.errors[2].instance_location, "/tags/1", "index in path");
        is_str(res.errors[2].keyword_location, "/properties/tags/items/type",
               "items/type");
        is_str(res.errors[2].message, "must be string", "type message");
        is_str(res.errors[3].instance_location, "/a~1b~0",
               "the additional property, escaped");
        is_str(res.errors[3].keyword_location, "/additionalProperties",
               "additionalProperties");
    }
    gw_schema_result_free(&res);

    is_int(errors("{'anyOf': [{'type': 'string'}, {'minimum': 5}]}", "1",
                  NULL, &res), 0, "anyOf fails");
    ok(res.nerrors == 1 && strcmp(res.errors[0].keyword_location, "/anyOf")
       == 0, "one error, for anyOf itself, not for its branches");
    gw_schema_result_free(&res);

    is_int(errors("{'$id': 'https://example.com/root',"
                  " '$ref': 'https://example.com/t#/$defs/x',"
                  " '$defs': {'t': {'$id': 't', '$defs': {'x':"
                  " {'$dynamicRef': '#/$defs/x/$defs/y', '$defs': {'y':"
                  " {'const': 1}}}}}}}",
                  "2", NULL, &res), 0, "through $ref and $dynamicRef");
    ok(res.nerrors == 1
       && strcmp(res.errors[0].keyword_location,
                 "/$ref/$dynamicRef/const") == 0,
       "keywordLocation /$ref/$dynamicRef/const: %s",
       res.nerrors ? res.errors[0].keyword_location : "none");
    gw_schema_result_free(&res);

    is_int(errors("{'unevaluatedProperties': false,"
                  " 'properties': {'a': true}}", "{'a': 1, 'b': 2}", NULL,
                  &res), 0, "unevaluatedProperties false");
    ok(res.nerrors == 1
       && strcmp(res.errors[0].instance_location, "/b") == 0
       && strcmp(res.errors[0].message, "property \"b\" is not allowed")
          == 0, "at the property, with its name");
    gw_schema_result_free(&res);

    /* the cap on errors */

    memset(&opts, 0, sizeof(opts));
    opts.max_errors = 3;

    is_int(errors("{'items': {'type': 'string'}}", "[1,2,3,4,5,6,7,8]",
                  &opts, &res), 0, "eight bad items");
    is_int(res.nerrors, 3, "three errors kept");
    is_int(res.truncated, 1, "and truncated set");
    gw_schema_result_free(&res);

    is_int(errors("{'items': {'type': 'string'}}", "[1,2]", NULL, &res), 0,
           "two bad items");
    is_int(res.nerrors, 2, "two errors");
    is_int(res.truncated, 0, "not truncated");
    for (i = 0; i < res.nerrors; i++) {
        ok(res.errors[i].instance_location[0] == '/'
           && res.errors[i].keyword_location[0] == '/',
           "error %zu: both locations are pointers", i);
    }
    gw_schema_result_free(&res);
}


static void
test_compile_errors(void)
{
    gw_schema_t  *s;

    ok(compile_opts("{'properties': {'a': {'minLength': -1}}}", NULL)
       == NULL, "minLength -1 is refused");
    is_str(cerr.pointer, "/properties/a/minLength", "at its pointer");

    ok(compile_opts("{'items': {'type': 'strin'}}", NULL) == NULL,
       "an unknown type is refused");
    is_str(cerr.pointer, "/items/type", "at its pointer");

    ok(compile_opts("{'allOf': [{}, 12]}", NULL) == NULL,
       "a subschema that is a number is refused");
    is_str(cerr.pointer, "/allOf/1", "at its pointer");

    ok(compile_opts("{'properties': {'x': {'$ref': 'other.json'}}}", NULL)
       == NULL, "a $ref to nothing is refused");
    is_str(cerr.pointer, "/properties/x/$ref", "at its pointer");
    ok(strstr(cerr.message, "cannot resolve") != NULL, "saying so: %s",
       cerr.message);

    ok(compile_opts("{'$ref': '#/$defs/nope'}", NULL) == NULL,
       "a pointer to nothing is refused");

    ok(compile_opts("{'$schema': 'https://example.com/meta'}", NULL) == NULL,
       "an unknown $schema is refused");
    is_str(cerr.pointer, "/$schema", "at its pointer");

    ok(compile_opts("{'required': 'a'}", NULL) == NULL,
       "required must be an array");
    ok(compile_opts("{'$anchor': '1bad'}", NULL) == NULL,
       "a bad anchor name is refused");
    ok(compile_opts("12", NULL) == NULL, "a number is not a schema");
    is_str(cerr.pointer, "", "at the root");
    s = compile_opts("true", NULL);
    ok(s != NULL, "true is a schema");
    gw_schema_free(s);
}


static void
test_caps(void)
{
    int                 i, rc;
    char               *buf, *p;
    json_t             *j;
    gw_schema_t        *s;
    gw_schema_opts_t    opts;
    gw_schema_result_t  res;

    /* schema depth: 130 nested "items" against the default of 128 */

    buf = malloc(130 * 12 + 16);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    p = buf;
    for (i = 0; i < 130; i++) {
        p += sprintf(p, "{'items': ");
    }
    p += sprintf(p, "{}");
    for (i = 0; i < 130; i++) {
        *p++ = '}';
    }
    *p = '\0';

    ok(compile_opts(buf, NULL) == NULL, "130 nested subschemas: refused");
    ok(strstr(cerr.message, "deeper than 128") != NULL, "message: %s",
       cerr.message);
    ok(strncmp(cerr.pointer, "/items/items/", 13) == 0, "pointer: %.40s...",
       cerr.pointer);

    memset(&opts, 0, sizeof(opts));
    opts.max_depth = 200;
    s = compile_opts(buf, &opts);
    ok(s != NULL, "with max_depth 200: compiles");
    gw_schema_free(s);
    free(buf);

    /* schema size */

    memset(&opts, 0, sizeof(opts));
    opts.max_nodes = 3;
    ok(compile_opts("{'allOf': [{}, {}, {}]}", &opts) == NULL,
       "four subschemas with max_nodes 3: refused");
    ok(strstr(cerr.message, "more than 3 subschemas") != NULL, "message: %s",
       cerr.message);

    /* instance depth: a recursive schema against 200 nested arrays */

    buf = malloc(401);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    memset(buf, '[', 200);
    memset(buf + 200, ']', 200);
    buf[400] = '\0';

    is_int(errors("{'items': {'$ref': '#'}}", buf, NULL, &res), 0,
           "200 nested arrays: invalid");
    ok(res.nerrors == 1 && strstr(res.errors[0].message, "nested") != NULL,
       "saying it is nested too deeply");
    gw_schema_result_free(&res);

    is_int(errors("{'not': {'items': {'$ref': '#'}}}", buf, NULL, &res), 0,
           "and not made valid by \"not\"");
    gw_schema_result_free(&res);

    memset(&opts, 0, sizeof(opts));
    opts.max_depth = 300;
    is_int(check_opts("{'items': {'$ref': '#'}}", buf, &opts), 1,
           "valid with max_depth 300");
    free(buf);

    /* evaluation depth: a $ref cycle that consumes nothing */

    is_int(errors("{'$defs': {'a': {'$ref': '#/$defs/b'},"
                  " 'b': {'$ref': '#/$defs/a'}}, '$ref': '#/$defs/a'}",
                  "1", NULL, &res), 0, "a $ref cycle: invalid");
    ok(res.nerrors == 1 && strstr(res.errors[0].message, "too deeply")
       != NULL, "saying the schema is evaluated too deeply");
    gw_schema_result_free(&res);

    s = compile_opts("{'not': {'$ref': '#/$defs/a'}, '$defs':"
                     " {'a': {'$ref': '#/$defs/a'}}}", NULL);
    j = json_integer(1);
    rc = s != NULL ? gw_schema_validate(s, j, NULL) : -2;
    is_int(rc, 0, "a cycle under \"not\" is still invalid");
    json_decref(j);
    gw_schema_free(s);
}


static void
test_refs(void)
{
    json_t            *doc, *j;
    gw_schema_t       *s;
    gw_schema_cerr_t   e;

    /* a registered document */

    s = gw_schema_new(NULL);
    doc = js("{'$defs': {'zip': {'type': 'string', 'pattern':"
             " '^[0-9]{5}$'}}, 'type': 'object', 'required': ['zip'],"
             " 'properties': {'zip': {'$ref': '#/$defs/zip'}}}");

    is_int(gw_schema_add(s, "https://example.com/address.json", doc, &e), 0,
           "gw_schema_add");
    is_int(gw_schema_add(s, "https://example.com/address.json", doc, &e), -1,
           "the same URI twice is refused");
    is_int(gw_schema_add(s, "relative.json", doc, &e), -1,
           "a relative URI is refused");
    json_decref(doc);

    j = js("{'$id': 'https://example.com/order.json', 'properties':"
           " {'ship': {'$ref': 'address.json'},"
           " 'zip': {'$ref': 'address.json#/$defs/zip'}}}");
    is_int(gw_schema_compile(s, j, &e), 0, "a schema using it compiles");
    json_decref(j);

    j = js("{'ship': {'zip': '12345'}, 'zip': '54321'}");
    is_int(gw_schema_validate(s, j, NULL), 1, "valid order");
    json_decref(j);
    j = js("{'ship': {'zip': '1234'}}");
    is_int(gw_schema_validate(s, j, NULL), 0, "bad zip through the ref");
    json_decref(j);

    j = js("{}");
    is_int(gw_schema_compile(s, j, &e), -1, "compiling twice is refused");
    json_decref(j);
    gw_schema_free(s);

    /* URN base, anchors, relative $id */

    is_int(check("{'$id': 'urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed',"
                 " '$defs': {'n': {'$anchor': 'num', 'type': 'number'}},"
                 " 'properties': {'a': {'$ref': '#num'}, 'b': {'$ref':"
                 " 'urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/n'}}}",
                 "{'a': 1, 'b': 'x'}"), 0, "URN base: anchor and pointer");
    is_int(check("{'$id': 'https://example.com/a/b.json', '$defs': {'c':"
                 " {'$id': '../c.json', 'type': 'string'}},"
                 " '$ref': 'https://example.com/c.json'}", "'s'"), 1,
           "a relative $id resolves with dot segments");
    is_int(check("{'$defs': {'a b': {'type': 'null'}},"
                 " '$ref': '#/$defs/a%20b'}", "null"), 1,
           "a percent-encoded pointer fragment");

    /* $dynamicRef: the outermost dynamic anchor wins */

    is_int(check("{'$id': 'https://example.com/root', '$ref': 'list',"
                 " '$defs': {'item': {'$dynamicAnchor': 'item',"
                 " 'type': 'string'}, 'list': {'$id': 'list', 'type': 'array',"
                 " 'items': {'$dynamicRef': '#item'}, '$defs': {'item':"
                 " {'$dynamicAnchor': 'item'}}}}}", "['a', 2]"), 0,
           "$dynamicRef takes the root's item");

    /* unevaluatedProperties sees through allOf and $ref */

    is_int(check("{'allOf': [{'$ref': '#/$defs/a'}], 'properties': {'b':"
                 " true}, 'unevaluatedProperties': false, '$defs': {'a':"
                 " {'properties': {'a': true}}}}", "{'a': 1, 'b': 2}"), 1,
           "unevaluatedProperties: a via allOf/$ref, b here");
    is_int(check("{'anyOf': [{'properties': {'a': true}, 'required': ['z']},"
                 " true], 'unevaluatedProperties': false}", "{'a': 1}"), 0,
           "a failed anyOf branch evaluates nothing");
    is_int(check("{'prefixItems': [true], 'contains': {'type': 'string'},"
                 " 'unevaluatedItems': false}", "[1, 'a', 'b']"), 1,
           "unevaluatedItems: prefixItems and contains");
    is_int(check("{'prefixItems': [true], 'contains': {'type': 'string'},"
                 " 'unevaluatedItems': false}", "[1, 'a', 2]"), 0,
           "an item neither covers");
}


static void
test_metaschemas(void)
{
    is_int(check("{'$ref': 'https://json-schema.org/draft/2020-12/schema'}",
                 "{'type': 'object', 'properties': {'a': {'minimum': 1}}}"),
           1, "a schema is valid against the 2020-12 metaschema");
    is_int(check("{'$ref': 'https://json-schema.org/draft/2020-12/schema'}",
                 "{'properties': {'a': {'minimum': '1'}}}"), 0,
           "minimum '1' is not");
    is_int(check("{'$ref': 'https://json-schema.org/draft/2020-12/schema'}",
                 "{'type': 'strin'}"), 0, "type 'strin' is not");
    is_int(check("{'$ref': 'http://json-schema.org/draft-07/schema#'}",
                 "{'items': [{}, true], 'additionalItems': false}"), 1,
           "a draft-07 schema against the draft-07 metaschema");
    is_int(check("{'$ref': 'http://json-schema.org/draft-07/schema#'}",
                 "{'minItems': -1}"), 0, "minItems -1 is not");
    is_int(check("{'$schema': 'https://json-schema.org/draft/2020-12/schema',"
                 " 'type': 'integer'}", "1"), 1, "$schema 2020-12");
    is_int(check("{'$ref': 'https://json-schema.org/draft/2020-12/meta/"
                 "validation'}", "{'minLength': 1.5}"), 0,
           "a vocabulary metaschema alone");
}


/* gw_schema_json_loadb() against json_loadb() on the same text */

static void
same_parse(const char *text, size_t flags, const char *name)
{
    json_t        *mine, *ref;
    json_error_t   e1, e2;

    mine = gw_schema_json_loadb(text, strlen(text), flags, &e1);
    ref = json_loadb(text, strlen(text), flags, &e2);

    if (ref == NULL) {
        ok(mine == NULL && strcmp(e1.text, e2.text) == 0,
           "%s: refused with jansson's message (%s)", name, e2.text);

    } else {
        ok(mine != NULL && json_equal(mine, ref), "%s: same value", name);
    }

    json_decref(mine);
    json_decref(ref);
}


/*
 * A number read by gw_schema_json_loadb() has the bits strtod() gives
 * (the exact fast path for short decimals must round the same way), and
 * is a real unless an integer was asked for.
 */

static int
same_number(const char *text, size_t flags)
{
    int            same;
    char           buf[96];
    double         want, got;
    json_t        *j, *v;
    json_error_t   e;

    snprintf(buf, sizeof(buf), "[%s]", text);

    j = gw_schema_json_loadb(buf, strlen(buf), flags, &e);
    if (j == NULL) {
        return 0;
    }

    v = json_array_get(j, 0);
    want = strtod(text, NULL);

    if (json_is_integer(v)) {
        same = (strpbrk(text, ".eE") == NULL
                && !(flags & JSON_DECODE_INT_AS_REAL)
                && json_integer_value(v) == strtoll(text, NULL, 10));

    } else {
        got = json_real_value(v);
        same = (memcmp(&got, &want, sizeof(double)) == 0);
    }

    json_decref(j);

    return same;
}


static void
test_json_numbers(void)
{
    int            bad;
    char           text[64];
    size_t         i, k, n;
    uint64_t       r;
    json_t        *j;
    json_error_t   e;

    static const char  *reals[] = {
        "-0.0", "0.0", "-0e5", "0.1", "0.3", "1.25", "-1.5e-3", "1e308",
        "-1e308", "1e-400", "-1e-400", "4.9e-324", "2.2250738585072011e-308",
        "1.7976931348623157e308", "0.1e1", "1e22", "1e23", "1e-22",
        "1e-23", "9007199254740993.0", "9007199254740992.5",
        "12345678901234567890e-5", "1234567890123456789e-3",
        "0.000000000000000000000000001", "1.0000000000000002",
        "0.30000000000000004", "3.141592653589793", "123456.789e3",
        "0.00000000000000000000000000000000000000000000000000000000000000001",
        "1E+2", "5e-324", "8.98846567431158e307", "100000000000000000000000"
    };

    static const char  *ints[] = {
        "0", "-0", "1", "-1", "9007199254740993", "-9007199254740993",
        "9223372036854775807", "-9223372036854775808"
    };

    bad = 0;

    for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        if (!same_number(reals[i], 0)) {
            diag("%s: not strtod()'s double", reals[i]);
            bad++;
        }
    }

    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (!same_number(ints[i], 0)
            || !same_number(ints[i], JSON_DECODE_INT_AS_REAL))
        {
            diag("%s: not the integer, or not strtod()'s double", ints[i]);
            bad++;
        }
    }

    is_int(bad, 0, "edge-case numbers: strtod()'s doubles, exact integers");

    /* random decimals of 1 to 20 digits, a point anywhere, exponents */

    r = 0x9e3779b97f4a7c15ull;
    bad = 0;

    for (i = 0; i < 50000; i++) {
        n = 0;
        k = 1 + (r >> 59) % 20;

        if (r & 1) {
            text[n++] = '-';
        }

        r = r * 6364136223846793005ull + 1442695040888963407ull;
        text[n++] = '1' + (r >> 33) % 9;

        while (--k > 0) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            text[n++] = '0' + (r >> 33) % 10;
        }

        r = r * 6364136223846793005ull + 1442695040888963407ull;

        if ((r >> 40) % 3 == 0) {
            n += snprintf(text + n, sizeof(text) - n, "e%d",
                          (int) ((r >> 20) % 60) - 30);

        } else if ((r >> 40) % 3 == 1 && n > 1 + (text[0] == '-')) {
            k = 1 + (text[0] == '-') + (r >> 8) % (n - 1 - (text[0] == '-'));
            memmove(text + k + 1, text + k, n - k);
            text[k] = '.';
            n++;
        }

        text[n] = '\0';

        if (!same_number(text, 0)) {
            if (bad++ < 5) {
                diag("%s: not strtod()'s double", text);
            }
        }

        r = r * 6364136223846793005ull + 1442695040888963407ull;
    }

    is_int(bad, 0, "50000 random decimals: strtod()'s doubles");

    j = gw_schema_json_loadb("[-0.0, -0]", 10, 0, &e);
    ok(j != NULL && json_is_real(json_array_get(j, 0))
       && json_real_value(json_array_get(j, 0)) == 0.0
       && 1 / json_real_value(json_array_get(j, 0)) < 0
       && json_is_integer(json_array_get(j, 1))
       && json_integer_value(json_array_get(j, 1)) == 0,
       "-0.0 is a negative zero, -0 the integer 0");
    json_decref(j);

    j = gw_schema_json_loadb("[9007199254740993, 1e-400]", 26,
                             JSON_DECODE_INT_AS_REAL, &e);
    ok(j != NULL && json_real_value(json_array_get(j, 0))
                    == 9007199254740992.0
       && json_real_value(json_array_get(j, 1)) == 0.0,
       "2^53+1 as a real rounds to even, 1e-400 underflows to 0");
    json_decref(j);

    same_parse("[1e309]", 0, "1e309 overflows as in jansson");
    same_parse("[-1e99999999999]", 0, "a huge exponent overflows");
    same_parse("[1e-99999999999]", 0, "a huge negative exponent");
    same_parse("[0.1e+]", 0, "an exponent without digits");
}


static void
test_json(void)
{
    char          *deep;
    json_t        *j;
    json_error_t   e;

    j = gw_schema_json_loadb("[1, -9223372036854775808,"
                             " 123456789012345678901234567890]", 57, 0,
                             &e);
    ok(j != NULL && json_is_integer(json_array_get(j, 0))
       && json_integer_value(json_array_get(j, 1)) == INT64_MIN
       && json_is_real(json_array_get(j, 2)),
       "integers stay integers, a bignum becomes a real");
    json_decref(j);

    same_parse("{\"a\": [1, 2.5, -0, 1e3, -1E-2, true, false, null]}", 0,
               "scalars");
    same_parse("{\"k\\\"\\u00e9\": \"x\\n\\t\\/\\ud83d\\ude00\"}", 0,
               "escapes in keys and strings");
    same_parse("{\"a\": 1, \"a\": 2}", 0, "a duplicate key: the last");
    same_parse("{\"a\": 1, \"a\": 2}", JSON_REJECT_DUPLICATES,
               "a duplicate key refused");
    same_parse("[{\"b\": {}}, {\"x\": {\"a\": 1, \"b\": [{\"a\": 1,"
               " \"\\u0061\": 2}]}}]", JSON_REJECT_DUPLICATES,
               "a nested escaped duplicate key refused");
    same_parse("{\"a\": {\"a\": 1}, \"b\": {\"a\": 1}}",
               JSON_REJECT_DUPLICATES, "the same key in two objects");
    same_parse("\"caf\xc3\xa9\"", JSON_DECODE_ANY, "UTF-8");
    same_parse("[\"abcdefghij\\\\klmnopq\\u00e9rstuvwxyz caf\xc3\xa9 \\\"q\\\""
               " the end of it\", \"plain text longer than sixteen\"]", 0,
               "long runs around escapes and UTF-8");
    same_parse("\"\xc3\"", JSON_DECODE_ANY, "truncated UTF-8");
    same_parse("\"\xed\xa0\x80\"", JSON_DECODE_ANY, "a UTF-8 surrogate");
    same_parse("\"\\ud800\"", JSON_DECODE_ANY, "a lone surrogate escape");
    same_parse("\"a\\u0000b\"", JSON_DECODE_ANY, "NUL refused");
    same_parse("\"a\\u0000b\"", JSON_DECODE_ANY | JSON_ALLOW_NUL,
               "NUL allowed");
    same_parse("[1,]", 0, "a trailing comma");
    same_parse("[01]", 0, "a leading zero");
    same_parse("[1.]", 0, "a bare dot");
    same_parse("[1e999]", 0, "a real overflow");
    same_parse("1", 0, "a scalar without JSON_DECODE_ANY");
    same_parse("{} x", 0, "trailing garbage");
    same_parse("[\"a\tb\"]", 0, "a raw tab in a string");
    same_parse("  [ ]  ", 0, "white space");

    j = gw_schema_json_loadb("[-92\0]", 6, 0, &e);
    ok(j == NULL && strcmp(e.text, "NUL byte in the text") == 0
       && e.position == 4, "a NUL byte after a number, which jansson takes,"
       " refused at its place");
    json_decref(j);

    deep = malloc(2 * 2100 + 1);
    if (deep == NULL) {
        bail_out("out of memory");
    }

    memset(deep, '[', 2100);
    memset(deep + 2100, ']', 2100);
    deep[4200] = '\0';
    same_parse(deep, 0, "2100 nested arrays: over jansson's depth");
    free(deep);
}


static void
test_misc(void)
{

    is_int(check("true", "{}"), 1, "true accepts anything");
    is_int(check("false", "{}"), 0, "false accepts nothing");
    is_int(check("{'minLength': 2}", "'\\u00e9'"), 0,
           "minLength counts code points, not bytes");
    is_int(check("{'maxLength': 1}", "'\\uD83D\\uDC32'"), 1,
           "a non-BMP character is one");
    is_int(check("{'propertyNames': {'maxLength': 2}}", "{'abc': 1}"), 0,
           "propertyNames");
    is_int(check("{'dependentRequired': {'a': ['b']}}", "{'a': 1}"), 0,
           "dependentRequired");
    is_int(check("{'dependentSchemas': {'a': {'required': ['b']}}}",
                 "{'a': 1, 'b': 1}"), 1, "dependentSchemas");
    is_int(check("{'contains': {'const': 1}, 'minContains': 2,"
                 " 'maxContains': 3}", "[1, 2, 1]"), 1, "minContains");
    is_int(check("{'contains': {'const': 1}, 'maxContains': 1}", "[1, 1]"), 0,
           "maxContains");
    is_int(check("{'if': {'type': 'string'}, 'then': {'minLength': 2},"
                 " 'else': {'minimum': 2}}", "1"), 0, "if/else");
    is_int(check("{'oneOf': [{'type': 'integer'}, {'minimum': 0}]}", "1"), 0,
           "oneOf with two matches");
    is_int(check("{'prefixItems': [{'type': 'integer'}], 'items': false}",
                 "[1, 2]"), 0, "items false after prefixItems");
    is_int(check("{'items': [{'type': 'integer'}]}", "[1]"), -2,
           "2020-12: the array form of items is refused");
    is_str(cerr.pointer, "/items", "at its pointer");
}


/* gw_schema_check() of inst against schema, nesting capped at depth */

static int
once(const char *schema, const char *inst, unsigned depth)
{
    int               rc;
    gw_schema_t      *s;
    gw_schema_doc_t   doc;

    s = compile_opts(schema, NULL);
    if (s == NULL) {
        return -2;
    }

    gw_schema_doc_init(&doc);
    rc = gw_schema_check(s, &doc, inst, strlen(inst),
                         JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, depth);
    gw_schema_doc_free(&doc);
    gw_schema_free(s);

    return rc;
}


/*
 * The one pass (gw_schema_check()) where it departs from a plain walk:
 * text it must refuse, containers it hands to the evaluator, "$ref"
 * chains, "required" past 64 properties, keys with escapes.  Every
 * check() elsewhere in this file also compares it with the evaluator.
 */

static void
test_check(void)
{
    int          i, k, n;
    char         big[4096], inst[4096];
    const char  *sch;

    is_int(once("{}", "{\"a\": 1, \"a\": 2}", 0), 0,
           "a duplicate key: no");
    is_int(once("{}", "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,"
                "\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
                "\"ka\":10,\"kb\":11,\"kc\":12,\"kd\":13,\"ke\":14,"
                "\"kf\":15,\"kg\":16,\"k3\":17}", 0), 0,
           "a duplicate key among 18, found by sorting: no");
    is_int(once("{}", "{\"a\": {\"b\": 1}, \"b\": {\"b\": 1}}", 0), 1,
           "the same key in two objects: yes");
    is_int(once("{}", "[[[1]]]", 3), 1, "three levels under a cap of 3");
    is_int(once("{}", "[[[[1]]]]", 3), 0, "four levels under a cap of 3");
    is_int(once("{}", "[1,]", 0), 0, "malformed: no");
    is_int(once("{}", "{} x", 0), 0, "trailing garbage: no");
    is_int(once("{}", " {\"a\" : [ 1 , \"x\" ] } ", 0), 1,
           "white space everywhere");
    is_int(once("{\"type\": \"integer\"}", "1e2", 0), 1,
           "1e2 is an integer");
    is_int(once("{\"multipleOf\": 0.01}", "0.07", 0), 1,
           "a decimal read inline, multipleOf exact");
    is_int(once("{\"properties\": {\"a\": {\"type\": \"string\"}}}",
                "{\"\\u0061\": 1}", 0), 0,
           "an escaped key finds its property");
    is_int(once("{\"properties\": {\"a\": {\"anyOf\": [{\"type\": "
                "\"array\"}, {\"required\": [\"x\"]}]}}}",
                "{\"a\": {\"y\": 1}}", 0), 0,
           "an object under anyOf goes to the evaluator: no");
    is_int(once("{\"properties\": {\"a\": {\"anyOf\": [{\"type\": "
                "\"array\"}, {\"required\": [\"x\"]}]}}}",
                "{\"a\": {\"x\": 1}}", 0), 1, "... and yes");
    is_int(once("{\"$defs\": {\"t\": {\"type\": \"object\", "
                "\"properties\": {\"kids\": {\"type\": \"array\", "
                "\"items\": {\"$ref\": \"#/$defs/t\"}}}, "
                "\"additionalProperties\": false}}, \"$ref\": \"#/$defs/t\"}",
                "{\"kids\": [{\"kids\": []}, {\"kids\": [{}]}]}", 0), 1,
           "a tree through \"$ref\"s: yes");
    is_int(once("{\"$defs\": {\"t\": {\"type\": \"object\", "
                "\"properties\": {\"kids\": {\"type\": \"array\", "
                "\"items\": {\"$ref\": \"#/$defs/t\"}}}, "
                "\"additionalProperties\": false}}, \"$ref\": \"#/$defs/t\"}",
                "{\"kids\": [{\"kids\": []}, {\"kids\": [{\"x\": 1}]}]}",
                0), 0, "... and no, deep down");
    is_int(once("{\"$ref\": \"#\"}", "[]", 0), 0,
           "a \"$ref\" to itself: no, as the evaluator's cap says");

    /* "required" past the first 64 properties: by name */

    n = snprintf(big, sizeof(big), "{\"properties\": {");
    for (i = 0; i < 70; i++) {
        n += snprintf(big + n, sizeof(big) - n, "%s\"p%d\": {}",
                      i ? ", " : "", i);
    }
    k = n;
    snprintf(big + k, sizeof(big) - k, "}, \"required\": [\"p69\"]}");

    is_int(once(big, "{\"p1\": 1}", 0), 0, "p69 of 70 required: no");
    n = snprintf(inst, sizeof(inst), "{\"p69\": 1}");
    is_int(once(big, inst, 0), 1, "... and yes");

    /* duplicate keys: a property's bit set twice, or the stack */

    is_int(once(big, "{\"p69\": 1, \"p1\": 1, \"p1\": 2}", 0), 0,
           "a duplicate property, every name kept: no");
    is_int(once(big, "{\"p69\": 1, \"p1\": 1, \"p2\": 2}", 0), 1,
           "... and yes");

    snprintf(big + k, sizeof(big) - k, "}, \"required\": [\"p1\"]}");

    is_int(once(big, "{\"p1\": 1, \"p69\": 1, \"p69\": 2}", 0), 0,
           "a duplicate 70th property, on the stack: no");
    is_int(once(big, "{\"p1\": 1, \"p69\": 1, \"p68\": 2}", 0), 1,
           "... and yes");
    is_int(once(big, "{\"p1\": 1, \"p2\": 1, \"p1\": 2}", 0), 0,
           "a duplicate 2nd property: no");

    is_int(once("{\"properties\": {\"a\": {}, \"b\": {}}}",
                "{\"a\": 1, \"b\": 2, \"a\": 3}", 0), 0,
           "a duplicate property: no");
    is_int(once("{\"properties\": {\"a\": {}, \"b\": {}}}",
                "{\"a\": 1, \"\\u0061\": 2}", 0), 0,
           "a duplicate property, escaped: no");
    is_int(once("{\"properties\": {\"a\": {}}}",
                "{\"x\": 1, \"a\": 1, \"x\": 2}", 0), 0,
           "a duplicate name no property has: no");
    is_int(once("{\"properties\": {\"a\": {}}}",
                "{\"x\": 1, \"a\": 1, \"y\": 2, \"b\": {\"x\": 1}}",
                0), 1, "names of properties and others, once each: yes");
    is_int(once("{\"properties\": {\"a\": {}}, "
                "\"dependentRequired\": {\"a\": [\"b\"]}}",
                "{\"a\": 1, \"b\": 2}", 0), 1,
           "dependentRequired, every name kept: yes");
    is_int(once("{\"properties\": {\"a\": {}}, "
                "\"dependentRequired\": {\"a\": [\"b\"]}}",
                "{\"a\": 1, \"c\": 2}", 0), 0, "... and no");
    is_int(once("{\"properties\": {\"a\": {}}, "
                "\"dependentRequired\": {\"a\": [\"b\"]}}",
                "{\"a\": 1, \"b\": 2, \"a\": 1}", 0), 0,
           "... and a duplicate: no");

    /* names compared with the text of the next property */

    sch = "{'properties': {'sku': {'type': 'string'}, "
          "'qty': {'type': 'integer'}, 'a\\'b': {'type': 'integer'}}, "
          "'additionalProperties': false}";

    is_int(check(sch, "{'sku': 'x', 'qty': 1}"), 1, "names in order");
    is_int(check(sch, "{'qty': 1, 'sku': 'x'}"), 1, "names out of order");
    is_int(check(sch, "{'sku': 1}"), 0, "a name in order, a bad value");
    is_int(check(sch, "{'sk': 'x'}"), 0, "a name's prefix");
    is_int(check(sch, "{'skux': 'x'}"), 0, "a name and more");
    is_int(check(sch, "{'\\u0073ku': 1}"), 0,
           "a name escaped, a bad value");
    is_int(check(sch, "{'sku' : 'x' , 'qty' :1}"), 1,
           "names with white space before the colon");
    is_int(check(sch, "{'sku': 'x', 'a\\'b': 2}"), 1,
           "a name with a quote");
    is_int(check(sch, "{'sku': 'x', 'a\\'b': 'x'}"), 0,
           "a name with a quote, a bad value");
    is_int(check("{'properties': {'sku': {'type': 'string'}}}",
                 "{'skux': 1, 'sk': 2, 'sku': 'x'}"), 1,
           "names that begin as a property's");
    is_int(check("{'properties': {'sku': {'type': 'string'}}}",
                 "{'skux': 1, 'sku': 2}"), 0, "... and the property");
    is_int(once("{\"properties\": {\"sku\": {}}}", "{\"sku\"", 0), 0,
           "the text ends after a name: no");
    is_int(once("{\"properties\": {\"sku\": {}}}", "{\"sku\":", 0), 0,
           "the text ends after a colon: no");
    is_int(once("{\"properties\": {\"sku\": {}}}", "{\"sku", 0), 0,
           "the text ends in a name: no");
}


int
main(void)
{
    test_numbers();
    test_regex();
    test_format();
    test_errors();
    test_compile_errors();
    test_caps();
    test_refs();
    test_metaschemas();
    test_misc();
    test_json();
    test_json_numbers();
    test_check();

    return done_testing();
}
