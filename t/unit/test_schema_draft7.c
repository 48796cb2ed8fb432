
/*
 * Copyright (C) Tollgate
 *
 * JSON Schema draft-07 (lib/jsonschema), written from the specification
 * (draft-handrews-json-schema-01 and -validation-01): the draft chosen
 * by "$schema" (with or without the empty fragment) or by the option,
 * and 2020-12 winning over the option when "$schema" says so; "$ref"
 * hiding its siblings, "$id" included, while "definitions" next to it
 * stay reachable; the array form of "items" with "additionalItems", and
 * "additionalItems" ignored beside a single "items" schema; both forms
 * of "dependencies"; "definitions"; "$id" as a plain-name fragment and
 * as a base URI change; contentEncoding / contentMediaType asserting;
 * and the keywords that draft-07 does not have being ignored
 * (prefixItems, unevaluated*, dependentRequired, minContains, $anchor,
 * $defs as a container).  A 2020-12 document and a draft-07 one refer
 * to each other, each keeping its own rules.
 *
 * Schemas are written with ' for " to stay readable.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema.h"
#include "tap.h"


#define D7  "'$schema': 'http://json-schema.org/draft-07/schema#', "


static gw_schema_cerr_t  cerr;


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

    j = json_loads(p, JSON_DECODE_ANY, &e);
    if (j == NULL) {
        diag("bad test JSON: %s: %s", e.text, p);
        bail_out("bad test JSON");
    }

    free(p);

    return j;
}


/* 1 valid, 0 invalid, -2 did not compile; draft: the option */

static int
check_draft(int draft, const char *schema, const char *inst)
{
    int                 rc, rc2;
    json_t             *js_schema, *j;
    gw_schema_t        *s;
    gw_schema_opts_t    opts;
    gw_schema_result_t  res;

    memset(&opts, 0, sizeof(opts));
    opts.draft = draft;

    s = gw_schema_new(&opts);
    if (s == NULL) {
        bail_out("out of memory");
    }

    js_schema = js(schema);

    if (gw_schema_compile(s, js_schema, &cerr) != 0) {
        json_decref(js_schema);
        gw_schema_free(s);
        return -2;
    }

    json_decref(js_schema);

    j = js(inst);
    memset(&res, 0, sizeof(res));

    rc = gw_schema_validate(s, j, NULL);
    rc2 = gw_schema_validate(s, j, &res);

    if (rc != rc2 || (rc == 0 && res.nerrors == 0)) {
        diag("with and without errors: %d, %d", rc, rc2);
        rc = -3;
    }

    gw_schema_result_free(&res);
    json_decref(j);
    gw_schema_free(s);

    return rc;
}


static int
check(const char *schema, const char *inst)
{
    return check_draft(GW_SCHEMA_DRAFT_2020_12, schema, inst);
}


static void
test_selection(void)
{
    /* prefixItems exists in 2020-12 only */

    is_int(check("{" D7 "'prefixItems': [{'type': 'string'}]}", "[1]"), 1,
           "$schema draft-07: prefixItems is unknown");
    is_int(check("{'$schema': 'http://json-schema.org/draft-07/schema',"
                 " 'prefixItems': [{'type': 'string'}]}", "[1]"), 1,
           "the same without the empty fragment");
    is_int(check_draft(GW_SCHEMA_DRAFT_07,
                       "{'prefixItems': [{'type': 'string'}]}", "[1]"), 1,
           "the draft-07 option does the same");
    is_int(check("{'prefixItems': [{'type': 'string'}]}", "[1]"), 0,
           "2020-12 by default");
    is_int(check_draft(GW_SCHEMA_DRAFT_07,
                       "{'$schema': 'https://json-schema.org/draft/2020-12/"
                       "schema', 'prefixItems': [{'type': 'string'}]}",
                       "[1]"), 0, "$schema 2020-12 beats the option");
}


static void
test_ref(void)
{
    const char  *s;

    s = "{" D7 "'definitions': {'a': {'minimum': 5}},"
        " 'properties': {'x': {'$ref': '#/definitions/a', 'maximum': 0}}}";

    is_int(check(s, "{'x': 10}"), 1, "$ref hides a sibling maximum");
    is_int(check(s, "{'x': 3}"), 0, "the $ref target applies");

    is_int(check("{'$defs': {'a': {'minimum': 5}},"
                 " 'properties': {'x': {'$ref': '#/$defs/a', 'maximum': 0}}}",
                 "{'x': 10}"), 0, "2020-12: the sibling applies too");

    is_int(check("{" D7 "'$ref': '#/definitions/a',"
                 " 'definitions': {'a': {'type': 'integer'}}}", "'x'"), 0,
           "root $ref with definitions beside it");
    is_int(check("{" D7 "'$ref': '#foo', 'definitions': {'a':"
                 " {'$id': '#foo', 'type': 'integer'}}}", "1"), 1,
           "a plain-name $id in definitions beside $ref");

    /* the sibling $id of a $ref does not change the base */

    s = "{" D7 "'$id': 'http://example.com/base/',"
        " 'definitions': {'foo': {'$id': 'http://example.com/foo.json',"
        " 'type': 'string'}, 'base_foo': {'$id': 'foo.json',"
        " 'type': 'number'}},"
        " 'allOf': [{'$id': 'http://example.com/', '$ref': 'foo.json'}]}";

    is_int(check(s, "5"), 1, "$ref resolves against the outer base");
    is_int(check(s, "'a'"), 0, "not against its sibling $id");

    is_int(check("{" D7 "'$id': 'http://example.com/root.json',"
                 " 'definitions': {'A': {'$id': '#foo', 'type': 'integer'}},"
                 " 'properties': {'a': {'$ref': '#foo'}, 'b': {'$ref':"
                 " 'http://example.com/root.json#foo'}}}",
                 "{'a': 1, 'b': 'x'}"), 0,
           "$id '#foo' is an anchor, by fragment and by full URI");

    is_int(check("{" D7 "'definitions': {'a': {'$id':"
                 " 'http://example.com/other.json', 'definitions': {'b':"
                 " {'$id': 'b.json', 'type': 'null'}}}},"
                 " '$ref': 'http://example.com/b.json'}", "null"), 1,
           "nested $id change the base");

    is_int(check("{" D7 "'$anchor': 'x', '$ref': '#x'}", "1"), -2,
           "draft-07 has no $anchor");
    is_int(check("{" D7 "'$defs': {'a': {'$id': 'http://e.com/a'}},"
                 " '$ref': 'http://e.com/a'}", "1"), -2,
           "nor $defs as a container of resources");
    is_int(check("{" D7 "'$defs': {'a': {'type': 'string'}},"
                 " 'properties': {'x': {'$ref': '#/$defs/a'}}}", "{'x': 1}"),
           0, "though a pointer into it still works");
}


static void
test_items(void)
{
    const char  *s;

    s = "{" D7 "'items': [{'type': 'integer'}, {'type': 'string'}],"
        " 'additionalItems': false}";

    is_int(check(s, "[1, 'a']"), 1, "items array: positions");
    is_int(check(s, "[1]"), 1, "a shorter array");
    is_int(check(s, "['a']"), 0, "a wrong first item");
    is_int(check(s, "[1, 'a', 3]"), 0, "additionalItems false");

    is_int(check("{" D7 "'items': [{}], 'additionalItems': {'type':"
                 " 'boolean'}}", "[1, true, false]"), 1,
           "additionalItems schema");
    is_int(check("{" D7 "'items': [{}], 'additionalItems': {'type':"
                 " 'boolean'}}", "[1, true, 2]"), 0,
           "additionalItems schema fails");
    is_int(check("{" D7 "'items': {'type': 'integer'},"
                 " 'additionalItems': false}", "[1, 2, 3]"), 1,
           "additionalItems is ignored beside a single items schema");
    is_int(check("{" D7 "'additionalItems': false}", "[1, 2, 3]"), 1,
           "and without items");
    is_int(check("{" D7 "'items': []}", "[1]"), 1, "an empty items array");

    is_int(check("{" D7 "'contains': {'const': 1}, 'minContains': 0}",
                 "[2]"), 0, "draft-07 has no minContains");
    is_int(check("{" D7 "'contains': {'const': 1}}", "[]"), 0,
           "contains on an empty array");
    is_int(check("{" D7 "'unevaluatedItems': false}", "[1]"), 1,
           "nor unevaluatedItems");
}


static void
test_objects(void)
{
    const char  *s;

    s = "{" D7 "'dependencies': {'a': ['b', 'c'], 'd': {'required': ['e']},"
        " 'f': true, 'g': false}}";

    is_int(check(s, "{'a': 1, 'b': 1, 'c': 1}"), 1, "dependencies: array");
    is_int(check(s, "{'a': 1, 'b': 1}"), 0, "a missing dependent");
    is_int(check(s, "{'d': 1}"), 0, "dependencies: schema fails");
    is_int(check(s, "{'d': 1, 'e': 1}"), 1, "dependencies: schema passes");
    is_int(check(s, "{'f': 1}"), 1, "dependencies: true");
    is_int(check(s, "{'g': 1}"), 0, "dependencies: false");
    is_int(check(s, "{'x': 1}"), 1, "nothing depends on x");
    is_int(check(s, "['a']"), 1, "dependencies ignores arrays");

    is_int(check("{" D7 "'dependentRequired': {'a': ['b']}}", "{'a': 1}"),
           1, "draft-07 has no dependentRequired");
    is_int(check("{" D7 "'unevaluatedProperties': false}", "{'a': 1}"), 1,
           "nor unevaluatedProperties");
    is_int(check("{" D7 "'propertyNames': {'pattern': '^[a-z]+$'}}",
                 "{'A': 1}"), 0, "propertyNames");
    is_int(check("{" D7 "'exclusiveMaximum': 3}", "3"), 0,
           "exclusiveMaximum is a number");
    is_int(check("{" D7 "'if': {'minimum': 10}, 'then': {'multipleOf': 2},"
                 " 'else': {'const': 1}}", "11"), 0, "if/then/else");
    is_int(check("{" D7 "'if': {'minimum': 10}, 'then': {'multipleOf': 2},"
                 " 'else': {'const': 1}}", "1"), 1, "if/else");
}


static void
test_content(void)
{
    is_int(check("{" D7 "'contentEncoding': 'base64'}", "'eyJhIjoxfQ=='"),
           1, "base64 content");
    is_int(check("{" D7 "'contentEncoding': 'base64'}", "'ey%hIjoxfQ=='"),
           0, "bad base64 content");
    is_int(check("{" D7 "'contentMediaType': 'application/json',"
                 " 'contentEncoding': 'base64'}", "'eyJhIjoxfQ=='"), 1,
           "base64 of JSON");
    is_int(check("{" D7 "'contentMediaType': 'application/json',"
                 " 'contentEncoding': 'base64'}", "'ezp9Cg=='"), 0,
           "base64 of bad JSON");
    is_int(check("{" D7 "'contentMediaType': 'application/json'}",
                 "'{:}'"), 0, "bad JSON text");
    is_int(check("{'contentMediaType': 'application/json'}", "'{:}'"), 1,
           "2020-12: content is an annotation");
}


static void
test_cross(void)
{
    json_t            *doc, *j;
    gw_schema_t       *s;
    gw_schema_cerr_t   e;

    /* a 2020-12 schema using a draft-07 document and back */

    s = gw_schema_new(NULL);
    if (s == NULL) {
        bail_out("out of memory");
    }

    doc = js("{" D7 "'items': [{'type': 'integer'}],"
             " 'additionalItems': false}");
    is_int(gw_schema_add(s, "http://example.com/d7.json", doc, &e), 0,
           "register a draft-07 document");
    json_decref(doc);

    doc = js("{'$schema': 'https://json-schema.org/draft/2020-12/schema',"
             " 'prefixItems': [{'type': 'string'}]}");
    is_int(gw_schema_add(s, "http://example.com/d2020.json", doc, &e), 0,
           "and a 2020-12 one");
    json_decref(doc);

    j = js("{'properties': {'a': {'$ref': 'http://example.com/d7.json'},"
           " 'b': {'$ref': 'http://example.com/d2020.json'}}}");
    is_int(gw_schema_compile(s, j, &e), 0, "compile the 2020-12 root");
    json_decref(j);

    j = js("{'a': [1], 'b': ['x', 1]}");
    is_int(gw_schema_validate(s, j, NULL), 1, "each keeps its draft");
    json_decref(j);

    j = js("{'a': [1, 2]}");
    is_int(gw_schema_validate(s, j, NULL), 0,
           "additionalItems of the draft-07 document applies");
    json_decref(j);

    gw_schema_free(s);

    is_int(check("{" D7 "'$ref': 'http://json-schema.org/draft-07/schema#'}",
                 "{'type': 'object', 'dependencies': {'a': ['b']}}"), 1,
           "the draft-07 metaschema accepts a draft-07 schema");
    is_int(check("{" D7 "'$ref': 'http://json-schema.org/draft-07/schema#'}",
                 "{'dependencies': {'a': 1}}"), 0,
           "and refuses a bad one");
}


int
main(void)
{
    test_selection();
    test_ref();
    test_items();
    test_objects();
    test_content();
    test_cross();

    return done_testing();
}
