
/*
 * Copyright (C) Tollgate
 *
 * Numbers at the bounds (lib/jsonschema, issue 12): minimum, maximum,
 * their exclusive forms, multipleOf, "integer", const, enum and
 * uniqueItems decided on a number as written, not on the double nearest
 * it.  100.00000000000000001 is above "maximum": 100 although its double
 * is 100; 1e-400 is not an integer although its double is 0.  Each
 * instance is decided by the one pass over its text (gw_schema_check())
 * and by the evaluator over its parsed values (gw_schema_validate_value(),
 * without and with errors), which must agree.  Numbers past the double
 * range are malformed.  Jansson values hold doubles only: what the
 * jansson entry makes of them is checked too.
 *
 * Schemas and instances are written with ' for " to stay readable.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema.h"
#include "tap.h"


static gw_schema_doc_t  doc;


/* text with every ' turned into ", malloc()ed */

static char *
dq(const char *text)
{
    char  *p, *q;

    p = strdup(text);
    if (p == NULL) {
        bail_out("out of memory");
    }

    for (q = p; *q != '\0'; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }

    return p;
}


static gw_schema_t *
compile(const char *schema)
{
    char              *p;
    json_t            *j;
    gw_schema_t       *s;
    json_error_t       e;
    gw_schema_cerr_t   cerr;

    p = dq(schema);
    j = gw_schema_json_loadb(p, strlen(p), JSON_DECODE_ANY, &e);
    free(p);

    if (j == NULL) {
        bail_out("bad test schema");
    }

    s = gw_schema_new(NULL);
    if (s == NULL || gw_schema_compile(s, j, &cerr) != 0) {
        diag("%s", schema);
        bail_out("test schema does not compile");
    }

    json_decref(j);

    return s;
}


/*
 * The verdict on the instance text: 1 valid, 0 invalid, -1 malformed,
 * -4 when the one pass and the evaluator (with and without errors)
 * disagree.
 */

static int
verdict(const char *schema, const char *inst)
{
    int                       rc, rc2, once;
    char                     *p;
    gw_schema_t              *s;
    json_error_t              e;
    gw_schema_doc_t           scratch;
    gw_schema_result_t        res;
    const gw_schema_value_t  *v;

    s = compile(schema);
    p = dq(inst);

    gw_schema_doc_init(&scratch);
    once = gw_schema_check(s, &scratch, p, strlen(p),
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, 0);
    gw_schema_doc_free(&scratch);

    v = gw_schema_parse(&doc, p, strlen(p),
                        JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, 0, &e);

    if (v == NULL) {
        rc = (once == 0) ? -1 : -4;
        goto done;
    }

    memset(&res, 0, sizeof(res));
    rc = gw_schema_validate_value(s, v, NULL);
    rc2 = gw_schema_validate_value(s, v, &res);

    if (rc != rc2 || rc != once || (rc == 0 && res.nerrors == 0)) {
        diag("one pass %d, values %d, with errors %d (%zu errors) on %s",
             once, rc, rc2, res.nerrors, inst);
        rc = -4;
    }

    gw_schema_result_free(&res);

done:

    free(p);
    gw_schema_free(s);

    return rc;
}


/* the verdict of the jansson entry, on json_loadb()'s values */

static int
verdict_jansson(const char *schema, const char *inst)
{
    int           rc;
    char         *p;
    json_t       *j;
    gw_schema_t  *s;
    json_error_t  e;

    s = compile(schema);
    p = dq(inst);
    j = json_loadb(p, strlen(p), JSON_DECODE_ANY, &e);
    free(p);

    rc = (j == NULL) ? -1 : gw_schema_validate(s, j, NULL);

    json_decref(j);
    gw_schema_free(s);

    return rc;
}


/* len bytes: head, then zeros, then last */

static char *
digits(const char *head, size_t len, char last)
{
    char    *p;
    size_t   n;

    n = strlen(head);
    p = malloc(len + 1);
    if (p == NULL) {
        bail_out("out of memory");
    }

    memcpy(p, head, n);
    memset(p + n, '0', len - 1 - n);
    p[len - 1] = last;
    p[len] = '\0';

    return p;
}


static void
test_issue(void)
{
    /* the examples of the issue */

    is_int(verdict("{'maximum': 100}", "100.00000000000000001"), 0,
           "100.00000000000000001 is above maximum 100");
    is_int(verdict("{'properties': {'amount': {'maximum': 100}}}",
                   "{'amount': 100.00000000000000001}"), 0,
           "\"amount\": 100.00000000000000001 is above maximum 100");
    is_int(verdict("{'maximum': 10}", "10.0000000000000000001"), 0,
           "10.0000000000000000001 is above maximum 10");
    is_int(verdict("{'type': 'integer'}", "1e-400"), 0,
           "1e-400 is not an integer");
    is_int(verdict("{'items': {'type': 'integer'}}", "[1, 1e-400]"), 0,
           "[1, 1e-400]: 1e-400 is not an integer");
}


static void
test_bounds(void)
{
    /* maximum */

    is_int(verdict("{'maximum': 100}", "100"), 1, "max: 100");
    is_int(verdict("{'maximum': 100}", "100.0"), 1, "max: 100.0");
    is_int(verdict("{'maximum': 100}", "1e2"), 1, "max: 1e2");
    is_int(verdict("{'maximum': 100}", "1E+2"), 1, "max: 1E+2");
    is_int(verdict("{'maximum': 100}",
                   "100.000000000000000000000000000000"), 1,
           "max: 100 with thirty zeros after the point");
    is_int(verdict("{'maximum': 100}", "99.99999999999999999"), 1,
           "max: 99.99999999999999999 (double 100)");
    is_int(verdict("{'maximum': 100}", "1.0000000000000000000001e2"), 0,
           "max: 1.0000000000000000000001e2");
    is_int(verdict("{'maximum': 100}", "100000000000000000001e-18"), 0,
           "max: 100000000000000000001e-18");
    is_int(verdict("{'maximum': 100}", "100.0000000000001"), 0,
           "max: 100.0000000000001 (a double of its own)");

    /* exclusiveMaximum */

    is_int(verdict("{'exclusiveMaximum': 100}", "99.99999999999999999"), 1,
           "xmax: 99.99999999999999999");
    is_int(verdict("{'exclusiveMaximum': 100}", "100"), 0, "xmax: 100");
    is_int(verdict("{'exclusiveMaximum': 100}", "100.00000000000000000"),
           0, "xmax: 100.00000000000000000");
    is_int(verdict("{'exclusiveMaximum': 100}", "100.00000000000000001"),
           0, "xmax: 100.00000000000000001");

    /* minimum */

    is_int(verdict("{'minimum': 10}", "10"), 1, "min: 10");
    is_int(verdict("{'minimum': 10}", "9.9999999999999999999"), 0,
           "min: 9.9999999999999999999 (double 10)");
    is_int(verdict("{'minimum': 10}", "10.000000000000000001"), 1,
           "min: 10.000000000000000001");
    is_int(verdict("{'minimum': 0}", "-0"), 1, "min 0: -0");
    is_int(verdict("{'minimum': 0}", "-0.0"), 1, "min 0: -0.0");
    is_int(verdict("{'minimum': 0}", "-1e-400"), 0, "min 0: -1e-400");
    is_int(verdict("{'minimum': 0}", "-0e-400"), 1, "min 0: -0e-400");

    /* exclusiveMinimum */

    is_int(verdict("{'exclusiveMinimum': 0}", "1e-400"), 1,
           "xmin 0: 1e-400 is above 0");
    is_int(verdict("{'exclusiveMinimum': 0}", "0"), 0, "xmin 0: 0");
    is_int(verdict("{'exclusiveMinimum': 0}", "0.0e99999"), 0,
           "xmin 0: 0.0e99999");
    is_int(verdict("{'exclusiveMinimum': 10}", "10.000000000000000001"), 1,
           "xmin: 10.000000000000000001");
    is_int(verdict("{'exclusiveMinimum': 10}", "9.9999999999999999999"), 0,
           "xmin: 9.9999999999999999999");
    is_int(verdict("{'maximum': 0}", "1e-400"), 0, "max 0: 1e-400");
    is_int(verdict("{'maximum': 0}", "1e-99999999999999999999"), 0,
           "max 0: 1e-99999999999999999999");
    is_int(verdict("{'maximum': -1e-320}", "-1e-321"), 0,
           "max -1e-320: -1e-321 (subnormal doubles)");
    is_int(verdict("{'maximum': -1e-320}", "-1.00000000000000000001e-320"),
           1, "max -1e-320: -1.00000000000000000001e-320");

    /* bounds with a fraction: as written, not as their doubles */

    is_int(verdict("{'maximum': 0.1}", "0.1"), 1, "max 0.1: 0.1");
    is_int(verdict("{'maximum': 0.1}", "0.10000000000000000001"), 0,
           "max 0.1: 0.10000000000000000001");
    is_int(verdict("{'maximum': 0.1}",
                   "0.1000000000000000055511151231257827"), 0,
           "max 0.1: the value of 0.1's double is above 0.1");
    is_int(verdict("{'maximum': 0.1}", "0.09999999999999999999"), 1,
           "max 0.1: 0.09999999999999999999");

    /* integers past 2^53 against doubles */

    is_int(verdict("{'maximum': 9.2233720368547e18}",
                   "9223372036854700001"), 0,
           "max 9.2233720368547e18: 9223372036854700001 (its double is"
           " above)");
    is_int(verdict("{'maximum': 9.2233720368547e18}",
                   "9223372036854700000"), 1,
           "max 9.2233720368547e18: 9223372036854700000");
    is_int(verdict("{'maximum': 9007199254740993}", "9007199254740993"), 1,
           "max 2^53+1: 2^53+1");
    is_int(verdict("{'maximum': 9007199254740993}",
                   "9007199254740993.0000000001"), 0,
           "max 2^53+1: 2^53+1 and a bit");
    is_int(verdict("{'maximum': 9007199254740993}", "9007199254740994"), 0,
           "max 2^53+1: 2^53+2");
    is_int(verdict("{'maximum': 1e19}", "10000000000000000000.0"), 1,
           "max 1e19: 10000000000000000000.0");
    is_int(verdict("{'minimum': 1e19}", "9999999999999999999"), 0,
           "min 1e19: 9999999999999999999");
}


static void
test_integer(void)
{
    is_int(verdict("{'type': 'integer'}", "1.0"), 1, "integer: 1.0");
    is_int(verdict("{'type': 'integer'}", "1e2"), 1, "integer: 1e2");
    is_int(verdict("{'type': 'integer'}", "1E+2"), 1, "integer: 1E+2");
    is_int(verdict("{'type': 'integer'}", "-0"), 1, "integer: -0");
    is_int(verdict("{'type': 'integer'}", "-0.0"), 1, "integer: -0.0");
    is_int(verdict("{'type': 'integer'}", "1e-400"), 0, "integer: 1e-400");
    is_int(verdict("{'type': 'integer'}", "-1e-400"), 0,
           "integer: -1e-400");
    is_int(verdict("{'type': 'integer'}", "0e-400"), 1, "integer: 0e-400");
    is_int(verdict("{'type': 'integer'}", "1.0000000000000000001"), 0,
           "integer: 1.0000000000000000001");
    is_int(verdict("{'type': 'integer'}", "123456789012345678901234567890"),
           1, "integer: 30 digits");
    is_int(verdict("{'type': 'integer'}",
                   "1.00000000000000000000000000000000000000000000000001e50"),
           1, "integer: 51 digits at 10^50");
    is_int(verdict("{'type': 'integer'}",
                   "1.00000000000000000000000000000000000000000000000001e49"),
           0, "integer: 51 digits at 10^49");
    is_int(verdict("{'type': 'integer'}", "12345678901234567.5"), 0,
           "integer: 12345678901234567.5 (double 12345678901234568)");
}


static void
test_multiple_of(void)
{
    is_int(verdict("{'multipleOf': 0.01}", "19.99"), 1, "0.01: 19.99");
    is_int(verdict("{'multipleOf': 0.01}", "19.999"), 0, "0.01: 19.999");
    is_int(verdict("{'multipleOf': 0.01}", "0.0100000000000000000001"), 0,
           "0.01: 0.0100000000000000000001");
    is_int(verdict("{'multipleOf': 0.01}", "1.00000000000000000000"), 1,
           "0.01: 1.00000000000000000000");
    is_int(verdict("{'multipleOf': 0.01}", "123456789012345678.91"), 1,
           "0.01: 123456789012345678.91");
    is_int(verdict("{'multipleOf': 0.01}", "123456789012345678.911"), 0,
           "0.01: 123456789012345678.911");
    is_int(verdict("{'multipleOf': 0.1}", "0.3"), 1, "0.1: 0.3");
    is_int(verdict("{'multipleOf': 0.1}", "0.30000000000000004"), 0,
           "0.1: 0.30000000000000004");
    is_int(verdict("{'multipleOf': 0.1}", "1e-400"), 0, "0.1: 1e-400");
    is_int(verdict("{'multipleOf': 0.1}", "0e-400"), 1, "0.1: 0e-400");
    is_int(verdict("{'multipleOf': 1}", "1.0000000000000000001"), 0,
           "1: 1.0000000000000000001");
    is_int(verdict("{'multipleOf': 1}", "12345678901234567890123"), 1,
           "1: 12345678901234567890123");
    is_int(verdict("{'multipleOf': 3}",
                   "300000000000000000000000000000000000000003"), 1,
           "3: 3e41 + 3");
    is_int(verdict("{'multipleOf': 3}",
                   "300000000000000000000000000000000000000001"), 0,
           "3: 3e41 + 1");
    is_int(verdict("{'multipleOf': 0.0001}", "0.0075000000000000000"), 1,
           "0.0001: 0.0075000000000000000");
    is_int(verdict("{'multipleOf': 1e-300}", "1.5e-299"), 1,
           "1e-300: 1.5e-299");
    is_int(verdict("{'multipleOf': 1e-300}", "1.5e-301"), 0,
           "1e-300: 1.5e-301");
    is_int(verdict("{'multipleOf': 7}", "7e300"), 1, "7: 7e300");
}


static void
test_range(void)
{
    char  *p, *q;

    /* past the double range: malformed, as jansson says */

    is_int(verdict("{'maximum': 100}", "1e400"), -1, "1e400 is malformed");
    is_int(verdict("{'maximum': 100}", "-1e400"), -1,
           "-1e400 is malformed");
    is_int(verdict("{'maximum': 100}", "{'a': 1e99999999999999999999}"),
           -1, "1e99999999999999999999 is malformed");
    is_int(verdict("{}", "1.8e308"), -1, "1.8e308 is malformed");
    is_int(verdict("{}", "1.7976931348623157e308"), 1,
           "1.7976931348623157e308 is a number");

    /* 400 digits */

    p = digits("1.", 401, '1');         /* 1.000...0001, 400 digits */
    is_int(verdict("{'maximum': 1}", p), 0, "max 1: 1.(398 zeros)1");
    is_int(verdict("{'exclusiveMinimum': 1}", p), 1,
           "xmin 1: 1.(398 zeros)1");
    is_int(verdict("{'type': 'integer'}", p), 0,
           "integer: 1.(398 zeros)1");
    free(p);

    p = digits("99.", 401, '9');
    memset(p + 3, '9', 398);            /* 99.999...9, 400 digits */
    is_int(verdict("{'maximum': 100}", p), 1, "max 100: 99.(398 nines)");
    is_int(verdict("{'exclusiveMaximum': 100}", p), 1,
           "xmax 100: 99.(398 nines)");
    is_int(verdict("{'minimum': 100}", p), 0, "min 100: 99.(398 nines)");
    free(p);

    p = digits("1", 300, '1');          /* 10^299 + 1, 300 digits */
    is_int(verdict("{'maximum': 1e299}", p), 0, "max 1e299: 10^299 + 1");
    is_int(verdict("{'type': 'integer', 'multipleOf': 11}", p), 1,
           "multipleOf 11: 10^299 + 1 is one");
    p[299] = '2';
    is_int(verdict("{'type': 'integer', 'multipleOf': 11}", p), 0,
           "multipleOf 11: 10^299 + 2 is not");
    free(p);

    p = digits("1", 400, '0');          /* 10^399: past the range */
    is_int(verdict("{}", p), -1, "10^399 written out is malformed");
    free(p);

    p = digits("0.", 402, '1');         /* 10^-400 written out */
    is_int(verdict("{'exclusiveMinimum': 0}", p), 1,
           "xmin 0: 0.(399 zeros)1");
    is_int(verdict("{'maximum': 0}", p), 0, "max 0: 0.(399 zeros)1");
    q = malloc(strlen(p) + 2);
    if (q == NULL) {
        bail_out("out of memory");
    }
    q[0] = '-';
    strcpy(q + 1, p);
    is_int(verdict("{'minimum': 0}", q), 0, "min 0: -0.(399 zeros)1");
    free(q);
    free(p);
}


/*
 * "minimum" and "maximum" of integers within 2^53 of 0 are compared with
 * as an integer and as a double (gw_sch_leaf()): at 2^53 and past it,
 * -0.0, an integer type taking 1.0; numbers kept as written and bounds
 * past 2^53 the long way, as before.
 */

static void
test_leaf_bounds(void)
{
    const char  *a, *b, *c, *d;

    a = "{'minimum': 0, 'maximum': 9007199254740992}";

    is_int(verdict(a, "9007199254740992"), 1, "0..2^53: 2^53");
    is_int(verdict(a, "9007199254740993"), 0, "0..2^53: 2^53 + 1");
    is_int(verdict(a, "9.00719925474099e15"), 1,
           "0..2^53: 9.00719925474099e15");
    is_int(verdict(a, "9007199254740994.0"), 0,
           "0..2^53: 9007199254740994.0, kept as written");
    is_int(verdict(a, "1e16"), 0, "0..2^53: 1e16");
    is_int(verdict(a, "-0.0"), 1, "0..2^53: -0.0");
    is_int(verdict(a, "-1e-300"), 0, "0..2^53: -1e-300");
    is_int(verdict(a, "0.5"), 1, "0..2^53: 0.5");

    b = "{'minimum': -9007199254740992, 'maximum': -1}";

    is_int(verdict(b, "-9007199254740992"), 1, "-2^53..-1: -2^53");
    is_int(verdict(b, "-9007199254740993"), 0, "-2^53..-1: -2^53 - 1");
    is_int(verdict(b, "-1e16"), 0, "-2^53..-1: -1e16");
    is_int(verdict(b, "-9.00719925474099e15"), 1,
           "-2^53..-1: -9.00719925474099e15");
    is_int(verdict(b, "-1.0"), 1, "-2^53..-1: -1.0");
    is_int(verdict(b, "-0.5"), 0, "-2^53..-1: -0.5");

    c = "{'type': 'integer', 'minimum': 1, 'maximum': 3}";

    is_int(verdict(c, "1.0"), 1, "integer 1..3: 1.0");
    is_int(verdict(c, "3e0"), 1, "integer 1..3: 3e0");
    is_int(verdict(c, "2.5"), 0, "integer 1..3: 2.5");
    is_int(verdict(c, "0"), 0, "integer 1..3: 0");
    is_int(verdict(c, "4"), 0, "integer 1..3: 4");

    d = "{'properties': {'qty': {'type': 'integer', 'minimum': 1}, "
        "'price': {'type': 'number', 'minimum': 0, 'maximum': 100}}}";

    is_int(verdict(d, "{'qty': 1, 'price': 1.25}"), 1,
           "qty and price: 1 and 1.25");
    is_int(verdict(d, "{'qty': 0, 'price': 1.25}"), 0,
           "qty and price: qty 0");
    is_int(verdict(d, "{'qty': 1, 'price': -0.01}"), 0,
           "qty and price: price -0.01");
    is_int(verdict(d, "{'qty': 1, 'price': 100.5}"), 0,
           "qty and price: price 100.5");
    is_int(verdict(d, "{'qty': 1.0, 'price': 100}"), 1,
           "qty and price: 1.0 and 100");
    is_int(verdict(d, "{'qty': 9223372036854775807, 'price': 0}"), 1,
           "qty and price: qty 2^63 - 1");

    /* a bound past 2^53: the long way */

    is_int(verdict("{'maximum': 9007199254740993}", "9007199254740993"), 1,
           "max 2^53 + 1: 2^53 + 1");
    is_int(verdict("{'maximum': 9007199254740993}", "9007199254740994"), 0,
           "max 2^53 + 1: 2^53 + 2");
    is_int(verdict("{'maximum': 9007199254740993}", "9.007199254740992e15"),
           1, "max 2^53 + 1: 9.007199254740992e15");
}


static void
test_equality(void)
{
    is_int(verdict("{'const': 100}", "100.00000000000000001"), 0,
           "const 100: 100.00000000000000001");
    is_int(verdict("{'const': 100}", "100.000000000000000000"), 1,
           "const 100: 100.000000000000000000");
    is_int(verdict("{'const': 0}", "1e-400"), 0, "const 0: 1e-400");
    is_int(verdict("{'const': 0.30000000000000004}", "0.30000000000000004"),
           1, "const 0.30000000000000004: the same");
    is_int(verdict("{'const': 0.30000000000000004}", "0.3"), 0,
           "const 0.30000000000000004: 0.3");
    is_int(verdict("{'enum': [1, 100]}", "100.00000000000000001"), 0,
           "enum [1, 100]: 100.00000000000000001");
    is_int(verdict("{'enum': [1, 100]}", "1.0000"), 1,
           "enum [1, 100]: 1.0000");
    is_int(verdict("{'enum': [[9223372036854775807]]}",
                   "[9223372036854775807.0]"), 1,
           "enum: 2^63 - 1 and 2^63 - 1 with a point");
    is_int(verdict("{'enum': [[9223372036854775807]]}",
                   "[9223372036854775807.5]"), 0,
           "enum: 2^63 - 1 and 2^63 - 1/2");
    is_int(verdict("{'const': 1e19}", "10000000000000000000"), 1,
           "const 1e19: 10^19 written out");
    is_int(verdict("{'uniqueItems': true}", "[100, 100.00000000000000001]"),
           1, "unique: 100, 100.00000000000000001");
    is_int(verdict("{'uniqueItems': true}",
                   "[100.00000000000000001, 100.000000000000000010]"), 0,
           "unique: 100.00000000000000001 twice");
    is_int(verdict("{'uniqueItems': true}",
                   "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,"
                   " 1e-400, -1e-400, 0.0000000000000000000000000000001]"),
           1, "unique, 19 items: 0, 1e-400, -1e-400 all differ");
    is_int(verdict("{'uniqueItems': true}",
                   "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,"
                   " 1.00000000000000000001, 1.000000000000000000010]"),
           0, "unique, 18 items: one number spelled twice");
    is_int(verdict("{'uniqueItems': true}",
                   "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,"
                   " 0.30000000000000004, 3.0000000000000004e-1]"),
           0, "unique, 18 items: 0.30000000000000004 twice");
}


static void
test_values(void)
{
    json_t                   *a, *b;
    json_error_t              e;
    const gw_schema_value_t  *v;

    /* the parsed value keeps its text; jansson's reading of it is the
     * same as json_loadb()'s */

    v = gw_schema_parse(&doc, "100.00000000000000001", 21, JSON_DECODE_ANY,
                        0, &e);
    ok(v != NULL && v->type == GW_SCHEMA_DECIMAL && v->len == 21,
       "100.00000000000000001 is kept as written");

    v = gw_schema_parse(&doc, "100.5", 5, JSON_DECODE_ANY, 0, &e);
    ok(v != NULL && v->type == GW_SCHEMA_REAL && v->u.d == 100.5,
       "100.5 is a double");

    v = gw_schema_parse(&doc, "1.00000000000000000000", 22, JSON_DECODE_ANY,
                        0, &e);
    ok(v != NULL && v->type == GW_SCHEMA_REAL && v->u.d == 1,
       "1.00000000000000000000 is a double: one significant digit");

    a = gw_schema_json_loadb("[1e-400, 0.30000000000000004, 1.5e-320]", 39,
                             0, &e);
    b = json_loadb("[1e-400, 0.30000000000000004, 1.5e-320]", 39, 0, &e);
    ok(a != NULL && b != NULL && json_equal(a, b),
       "gw_schema_json_loadb() reads them as json_loadb() does");
    json_decref(a);
    json_decref(b);

    /* the jansson entry sees doubles only (docs/validate.md) */

    is_int(verdict_jansson("{'maximum': 100}", "100.00000000000000001"), 1,
           "jansson values: 100.00000000000000001 is 100");
    is_int(verdict_jansson("{'maximum': 100}", "100.0000000000001"), 0,
           "jansson values: 100.0000000000001 is above 100");
}


int
main(void)
{
    gw_schema_doc_init(&doc);

    test_issue();
    test_bounds();
    test_integer();
    test_multiple_of();
    test_range();
    test_leaf_bounds();
    test_equality();
    test_values();

    gw_schema_doc_free(&doc);

    done_testing();

    return 0;
}
