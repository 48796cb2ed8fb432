
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for JSON Schema compile and validate (lib/jsonschema/
 * gw_schema.h), what the gateway does with a route's schema and then
 * with each request body.  The input is:
 *
 *   [flags digit] schema JSON on one line "\n" instance JSON
 *
 * An optional first byte '0'..'7' sets the options: 1 draft-07 by
 * default, 2 format as an assertion, 4 a cap of 2 errors.  The schema
 * is compiled with small caps (depth 32, 2,000 subschemas, eval depth
 * 256, a match limit of 10,000) with one registered document, so that
 * "$ref"s across documents are reached; a schema that does not compile
 * must say where and why.  A compiled schema then validates the
 * instance (when it parses, with bignums as reals) twice: without
 * errors and with them.  The checks:
 *   - both verdicts agree, and are 1 or 0 (no memory error here);
 *   - an invalid verdict with errors asked for has between 1 and
 *     max_errors errors, each with an instance location and a keyword
 *     location that are "" or start with '/', and a message;
 *   - the schema also validates the schema text itself, as an instance,
 *     and the instance against the 2020-12 metaschema, which must
 *     compile;
 *   - gw_schema_json_loadb(), a parser of its own that falls back on
 *     jansson's, agrees with json_loadb() on the instance text: where
 *     jansson parses it (without an integer overflow), both values are
 *     json_equal(); where jansson fails, it fails too; with and without
 *     JSON_ALLOW_NUL (but for a raw NUL byte after a number, which jansson
 *     lets pass and JSON does not);
 *   - gw_schema_parse(), the gateway's way (duplicates refused, nesting
 *     capped), gives exactly the values jansson gives, converted (the
 *     same types, bits, keys and order; a number kept as written is the
 *     double strtod() reads from it), or fails with jansson's message;
 *     gw_schema_validate_value() on them gives gw_schema_validate()'s
 *     verdict unless they hold a number kept as written (decided on
 *     exactly there, on a double by jansson), and gw_schema_check(), the
 *     one pass, says valid exactly when the text parses and its values
 *     are valid, numbers kept as written included;
 *   - everything is freed, so LeakSanitizer sees a leak of either path.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  gw_fuzz_doc[] =
    "{\"$id\": \"https://example.com/defs.json\","
    " \"$defs\": {\"pos\": {\"type\": \"integer\", \"minimum\": 0},"
    " \"node\": {\"$dynamicAnchor\": \"node\", \"type\": \"object\","
    " \"properties\": {\"next\": {\"$dynamicRef\": \"#node\"}}},"
    " \"name\": {\"$anchor\": \"name\", \"type\": \"string\","
    " \"pattern\": \"^[a-z]+$\", \"maxLength\": 16}}}";


static json_t       *doc;
static gw_schema_t  *meta;
static gw_schema_doc_t  light, conv, once, again;


/* the double strtod() reads from a number kept as written */

static double
decimal_double(const gw_schema_value_t *v)
{
    char    *p;
    double   d;

    p = malloc(v->len + 1);
    if (p == NULL) {
        abort();
    }

    memcpy(p, v->u.s, v->len);
    p[v->len] = '\0';
    d = strtod(p, NULL);
    free(p);

    return d;
}


/* whether v holds a number kept as written, which jansson cannot hold */

static int
has_decimal(const gw_schema_value_t *v)
{
    size_t  i;

    switch (v->type) {

    case GW_SCHEMA_DECIMAL:
        return 1;

    case GW_SCHEMA_ARRAY:
        for (i = 0; i < v->len; i++) {
            if (has_decimal(&v->u.items[i])) {
                return 1;
            }
        }

        return 0;

    case GW_SCHEMA_OBJECT:
        for (i = 0; i < v->len; i++) {
            if (has_decimal(&v->u.members[i].value)) {
                return 1;
            }
        }

        return 0;

    default:
        return 0;
    }
}


/*
 * a and b the same, exactly: types, numbers bit for bit, member order;
 * a number a keeps as written is jansson's double b when strtod() reads
 * it so.
 */

static int
same_value(const gw_schema_value_t *a, const gw_schema_value_t *b)
{
    size_t  i;
    double  d;

    if (a->type == GW_SCHEMA_DECIMAL && b->type == GW_SCHEMA_REAL) {
        d = decimal_double(a);
        return memcmp(&d, &b->u.d, sizeof(double)) == 0;
    }

    if (a->type != b->type || a->len != b->len) {
        return 0;
    }

    switch (a->type) {

    case GW_SCHEMA_INTEGER:
        return a->u.i == b->u.i;

    case GW_SCHEMA_REAL:
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;

    case GW_SCHEMA_STRING:
        return memcmp(a->u.s, b->u.s, a->len) == 0;

    case GW_SCHEMA_ARRAY:
        for (i = 0; i < a->len; i++) {
            if (!same_value(&a->u.items[i], &b->u.items[i])) {
                return 0;
            }
        }

        return 1;

    case GW_SCHEMA_OBJECT:
        for (i = 0; i < a->len; i++) {
            if (a->u.members[i].len != b->u.members[i].len
                || memcmp(a->u.members[i].key, b->u.members[i].key,
                          a->u.members[i].len) != 0
                || !same_value(&a->u.members[i].value,
                               &b->u.members[i].value))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


/*
 * The gateway's parse of text against jansson's; the values when both
 * accept it (in the doc "light"), else NULL.
 */

static const gw_schema_value_t *
check_light(const char *text, size_t len)
{
    size_t                    flags;
    json_t                   *ref;
    json_error_t              e1, e2;
    const gw_schema_value_t  *v, *r;

    flags = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;

    v = gw_schema_parse(&light, text, len, flags, 0, &e1);
    ref = json_loadb(text, len, flags, &e2);

    if (ref == NULL) {
        if (json_error_code(&e2) == json_error_numeric_overflow) {
            return NULL;
        }

        if (v != NULL || strcmp(e1.text, e2.text) != 0) {
            fprintf(stderr, "schema fuzz driver: gw_schema_parse() took"
                    " what jansson refuses (%s), or said \"%s\"\n",
                    e2.text, v == NULL ? e1.text : "");
            abort();
        }

        return NULL;
    }

    /* jansson's one laxity: a NUL byte after a number */

    if (v == NULL && memchr(text, '\0', len) != NULL
        && strcmp(e1.text, "NUL byte in the text") == 0)
    {
        json_decref(ref);
        return NULL;
    }

    r = gw_schema_from_json(&conv, ref);
    json_decref(ref);

    if (r == NULL || v == NULL || !same_value(v, r)) {
        fprintf(stderr, "schema fuzz driver: gw_schema_parse() and jansson"
                " disagree\n");
        abort();
    }

    return v;
}


static void
check_run(gw_schema_t *s, const json_t *inst, unsigned max_errors)
{
    int                 v1, v2;
    size_t              i;
    gw_schema_result_t  res;

    v1 = gw_schema_validate(s, inst, NULL);

    memset(&res, 0, sizeof(res));
    v2 = gw_schema_validate(s, inst, &res);

    if (v1 != v2 || (v1 != 0 && v1 != 1)) {
        fprintf(stderr, "schema fuzz driver: verdicts %d and %d\n", v1, v2);
        abort();
    }

    if ((v2 == 0 && res.nerrors == 0) || res.nerrors > max_errors
        || (v2 == 1 && res.nerrors != 0))
    {
        fprintf(stderr, "schema fuzz driver: %d with %zu errors\n", v2,
                res.nerrors);
        abort();
    }

    for (i = 0; i < res.nerrors; i++) {
        if (res.errors[i].instance_location == NULL
            || res.errors[i].keyword_location == NULL
            || res.errors[i].message == NULL
            || (res.errors[i].instance_location[0] != '\0'
                && res.errors[i].instance_location[0] != '/')
            || (res.errors[i].keyword_location[0] != '\0'
                && res.errors[i].keyword_location[0] != '/')
            || res.errors[i].message[0] == '\0')
        {
            abort();
        }
    }

    gw_schema_result_free(&res);
}


static void
check_parse(const char *text, size_t len, size_t flags)
{
    json_t        *mine, *ref;
    json_error_t   e1, e2;

    mine = gw_schema_json_loadb(text, len, flags, &e1);
    ref = json_loadb(text, len, flags, &e2);

    if (ref != NULL && mine == NULL && memchr(text, '\0', len) != NULL) {
        /* a NUL byte jansson lets pass: refused on purpose */
        json_decref(ref);
        return;
    }

    if (ref != NULL) {
        if (mine == NULL || !json_equal(mine, ref)) {
            fprintf(stderr, "schema fuzz driver: the parsers disagree\n");
            abort();
        }

    } else if (json_error_code(&e2) != json_error_numeric_overflow
               && mine != NULL)
    {
        fprintf(stderr, "schema fuzz driver: parsed what jansson refuses:"
                " %s\n", e2.text);
        abort();
    }

    json_decref(mine);
    json_decref(ref);
}


/* the one pass against a parse and a validation of the values */

static void
check_once(gw_schema_t *s, const char *text, size_t len)
{
    int                       expect, got;
    size_t                    flags;
    json_error_t              e;
    const gw_schema_value_t  *v;

    flags = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;

    v = gw_schema_parse(&again, text, len, flags, 0, &e);
    expect = (v != NULL) ? gw_schema_validate_value(s, v, NULL) : 0;

    got = gw_schema_check(s, &once, text, len, flags, 0);

    if (got != expect) {
        fprintf(stderr, "schema fuzz driver: one pass says %d, a parse"
                " and a validation %d\n", got, expect);
        abort();
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_t            *j;
    gw_schema_cerr_t   err;

    doc = json_loads(gw_fuzz_doc, 0, NULL);
    meta = gw_schema_new(NULL);
    j = json_loads("{\"$ref\": \"https://json-schema.org/draft/2020-12/"
                   "schema\"}", 0, NULL);

    if (doc == NULL || meta == NULL || j == NULL
        || gw_schema_compile(meta, j, &err) != 0)
    {
        fprintf(stderr, "schema fuzz driver: setup failed\n");
        abort();
    }

    json_decref(j);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       flags;
    size_t                    line;
    json_t                   *schema, *inst;
    gw_schema_t              *s;
    const gw_schema_value_t  *v;
    json_error_t              jerr;
    gw_schema_opts_t          opts;
    gw_schema_cerr_t          err;

    if (doc == NULL) {
        LLVMFuzzerInitialize(NULL, NULL);
    }

    flags = 0;

    if (size > 0 && data[0] >= '0' && data[0] <= '7') {
        flags = data[0] - '0';
        data++;
        size--;
    }

    for (line = 0; line < size && data[line] != '\n'; line++) {
        /* void */
    }

    schema = gw_schema_json_loadb((const char *) data, line,
                                  JSON_DECODE_ANY, &jerr);
    if (schema == NULL) {
        return 0;
    }

    inst = NULL;

    v = NULL;

    if (line < size) {
        v = check_light((const char *) data + line + 1, size - line - 1);
        check_parse((const char *) data + line + 1, size - line - 1,
                    JSON_DECODE_ANY);
        check_parse((const char *) data + line + 1, size - line - 1,
                    JSON_DECODE_ANY | JSON_ALLOW_NUL);
        check_parse((const char *) data + line + 1, size - line - 1, 0);

        inst = gw_schema_json_loadb((const char *) data + line + 1,
                                    size - line - 1, JSON_DECODE_ANY, &jerr);
    }

    memset(&opts, 0, sizeof(opts));
    opts.draft = (flags & 1) ? GW_SCHEMA_DRAFT_07 : GW_SCHEMA_DRAFT_2020_12;
    opts.format_assert = (flags & 2) ? 1 : 0;
    opts.max_errors = (flags & 4) ? 2 : 0;
    opts.max_depth = 32;
    opts.max_nodes = 2000;
    opts.max_eval = 256;
    opts.match_limit = 10000;

    s = gw_schema_new(&opts);
    if (s == NULL) {
        abort();
    }

    if (gw_schema_add(s, "https://example.com/defs.json", doc, &err) != 0) {
        abort();
    }

    memset(&err, 0, sizeof(err));

    if (gw_schema_compile(s, schema, &err) == 0) {
        if (inst != NULL) {
            check_run(s, inst, (flags & 4) ? 2 : GW_SCHEMA_MAX_ERRORS);
        }

        if (inst != NULL && v != NULL && !has_decimal(v)
            && gw_schema_validate_value(s, v, NULL)
               != gw_schema_validate(s, inst, NULL))
        {
            fprintf(stderr, "schema fuzz driver: the verdict on parsed"
                    " values differs\n");
            abort();
        }

        if (line < size) {
            check_once(s, (const char *) data + line + 1, size - line - 1);
        }

        check_run(s, schema, (flags & 4) ? 2 : GW_SCHEMA_MAX_ERRORS);

    } else if (err.message[0] == '\0') {
        fprintf(stderr, "schema fuzz driver: compile error without a"
                " message\n");
        abort();
    }

    if (inst != NULL) {
        check_run(meta, inst, GW_SCHEMA_MAX_ERRORS);
    }

    gw_schema_free(s);
    json_decref(schema);
    json_decref(inst);

    return 0;
}
