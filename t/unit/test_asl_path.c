
/*
 * Copyright (C) Tollgate
 *
 * Paths of Amazon States Language (lib/asl/gw_asl_path.c): what a Path
 * and a Reference Path may be, with the cause and the offset of each
 * refusal; what a path selects (a definite path its node or
 * States.Runtime, any other the array of its selection, possibly
 * empty, with Jayway's rule that what is missing before the first
 * indefinite segment fails the path); filters; ResultPath's put; and
 * the bounds: the path's length at and past GW_ASL_PATH_MAX, control
 * bytes, integers past 2^31-1, nesting of filters and of the input,
 * and the work cap against "$..*..*...".
 *
 * Where AWS (Jayway) and the oracle (jsonpath-plus, with wrap: false)
 * differ, these tests hold AWS's answer: an empty selection is [] (the
 * oracle: no value, States.Runtime); "@" in a filter never matches a
 * scalar (the oracle: it does); a filter applied to an object tests
 * the object (the oracle: its members); "$['a','b']" is one object
 * {"a": .., "b": ..} (the oracle: no value); negative slice steps
 * work (the oracle: no value); "$..[?()]" tests the root too (the
 * oracle: only what is under it).
 */


#include <stdint.h>
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

    v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v == NULL) {
        bail_out(text);
    }

    return v;
}


/* the path over input (and context): compact JSON, or "E:<error>" */

static const char *
get_ctx(const char *path, const char *input, const char *context)
{
    char    *s;
    json_t  *in, *ctx, *r;

    memset(&last, 0, sizeof(last));
    in = load(input);
    ctx = (context != NULL) ? load(context) : NULL;

    r = gw_asl_path_get(path, in, ctx, &last);

    if (r == NULL) {
        snprintf(out_buf, sizeof(out_buf), "E:%s", last.error);

    } else {
        s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY
                       | JSON_REAL_PRECISION(15));
        snprintf(out_buf, sizeof(out_buf), "%s", s != NULL ? s : "?");
        free(s);
        json_decref(r);
    }

    json_decref(in);
    json_decref(ctx);

    return out_buf;
}


static const char *
get(const char *path, const char *input)
{
    return get_ctx(path, input, NULL);
}


static const char *
put(const char *ref, const char *input, const char *value)
{
    char    *s;
    json_t  *in, *v, *r;

    memset(&last, 0, sizeof(last));
    in = load(input);
    v = load(value);

    r = gw_asl_path_put(ref, in, v, &last);

    if (r == NULL) {
        snprintf(out_buf, sizeof(out_buf), "E:%s", last.error);

    } else {
        s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY
                       | JSON_REAL_PRECISION(15));
        snprintf(out_buf, sizeof(out_buf), "%s", s != NULL ? s : "?");
        free(s);
        json_decref(r);
    }

    json_decref(in);
    json_decref(v);

    return out_buf;
}


static int
check(const char *path, int kind)
{
    memset(&last, 0, sizeof(last));
    return gw_asl_path_check(path, kind, &last);
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


static const char *store =
    "{\"store\":{\"book\":["
    "{\"category\":\"reference\",\"author\":\"Rees\",\"price\":8.95},"
    "{\"category\":\"fiction\",\"author\":\"Waugh\",\"price\":12.99},"
    "{\"category\":\"fiction\",\"author\":\"Melville\",\"isbn\":\"0-553\","
    "\"price\":8.99},"
    "{\"category\":\"fiction\",\"author\":\"Tolkien\",\"isbn\":\"0-395\","
    "\"price\":22}],"
    "\"bicycle\":{\"color\":\"red\",\"price\":19.95}},\"expensive\":10}";


static void
test_check(void)
{
    static const char  *good[] = {
        "$", "$$", "$.a", "$$.Execution.Id", "$.a.b.c", "$['a']",
        "$[\"a b\"]", "$.a[0]", "$.a[-1]", "$.a[*]", "$.*", "$.a[0,1]",
        "$['a','b']", "$.a[1:]", "$.a[:2]", "$.a[1:3]", "$.a[::2]",
        "$.a[-2:]", "$.a[::-1]", "$..a", "$..*", "$..[0]",
        "$.a[?(@.x < 3)]", "$.a[?(@.x)]", "$.a[?(@.a == 'b')]",
        "$.a[?(@.x >= 1 && @.y != \"z\" || !@.w)]",
        "$.a[?((@.x <= 1) || (@.x > 5))]", "$.a[?(@.x == $.max)]",
        "$.a[?(@['k k'] == true)]", "$.a[?(@.x[0] == null)]",
        "$.a[?(@.x == -1.5e3)]", "$.delivery-partner", "$.a:b",
        "$.fooList[1:]", "$[(@.length-1)].bar", "$.books[-2]",
        "$[ 'a' ]", "$[ 1 , 2 ]", "$.a.['b c']", "$..['b']",
        "$.\xc3\xa9t\xc3\xa9", "$['it\\'s']",
        NULL
    };
    static const char  *bad[] = {
        "", "a", "$a", "$.", "$..", "$...", "$.a.", "$[", "$[]",
        "$['a'", "$['a]", "$[a]", "$.a]", "$.a[0", "$.a[1.5]",
        "$.a[?(@.x < )]", "$.a[?(@.x <)]", "$.a[?@.x]", "$.a[?(@.x]",
        "$.a[?(3)]", "$.a[?(@.x === 1)]", "$.a[?(@.x == 'a)]",
        "$.a[?(@..x)]", "$.a[?(@.* == 1)]", "$.a[?($$.x == 1)]",
        "$.a b", "$.a ", "$ ", "$.a[::0]", "$foo", "${lambdaArn}",
        "$.a[(@.length)]", "$.a[?(@.x == truex)]", "$.a[?(@.x == 1x)]",
        NULL
    };
    const char  **p;

    for (p = good; *p != NULL; p++) {
        ok(check(*p, GW_ASL_PATH_ANY) == 0, "valid path %s", *p);
        if (last.cause[0] != '\0') {
            diag("cause: %s", last.cause);
        }
    }

    for (p = bad; *p != NULL; p++) {
        ok(check(*p, GW_ASL_PATH_ANY) == -1
           && strcmp(last.error, GW_ASL_E_INVALID) == 0
           && strstr(last.cause, "JSONPath") != NULL,
           "invalid path '%s' (%s)", *p, last.cause);
    }

    ok(check(NULL, GW_ASL_PATH_ANY) == -1, "a NULL path is refused");

    /* the cause names what and where */

    check("$.a[0", GW_ASL_PATH_ANY);
    ok(cause_has("expected ']' at its end"), "cause: ] at the end");
    check("$.a b", GW_ASL_PATH_ANY);
    ok(cause_has("at offset 3 (' ')"), "cause: the offset, the byte");
    check("$.a[?(@.x == 'a)]", GW_ASL_PATH_ANY);
    ok(cause_has("unterminated quoted string"), "cause: unterminated");
    check("$.a\x01", GW_ASL_PATH_ANY);
    ok(cause_has("offset 3 (byte 0x01)"), "cause: a control byte");
    check("$['a\nb']", GW_ASL_PATH_ANY);
    ok(cause_has("control byte in a quoted string"),
       "cause: a newline in a quoted name");
    check("$.a[1]x", GW_ASL_PATH_ANY);
    ok(cause_has("expected '.' or '[' at offset 6 ('x')"),
       "cause: trailing garbage");

    /* Reference Paths */

    ok(check("$", GW_ASL_PATH_REFERENCE) == 0, "reference $");
    ok(check("$.a['b'][0].c", GW_ASL_PATH_REFERENCE) == 0,
       "reference with names and an index");
    ok(check("$$.Map.Item.Value", GW_ASL_PATH_REFERENCE) == 0,
       "reference over the context");

    for (p = (const char *[]) { "$.a[-1]", "$.a[*]", "$.*", "$..a",
                                "$.a[0,1]", "$['a','b']", "$.a[1:]",
                                "$.a[?(@.x)]", "$[(@.length-1)]", NULL };
         *p != NULL; p++)
    {
        ok(check(*p, GW_ASL_PATH_REFERENCE) == -1
           && strstr(last.cause, "not a Reference Path") != NULL,
           "not a reference: %s", *p);
        ok(check(*p, GW_ASL_PATH_ANY) == 0, "yet a path: %s", *p);
    }
}


static void
test_bounds(void)
{
    char    *p;
    size_t   i;

    p = malloc(GW_ASL_PATH_MAX + 2);
    if (p == NULL) {
        bail_out("malloc");
    }

    /* exactly GW_ASL_PATH_MAX bytes: "$" and ".a" pairs, then one "a" */

    p[0] = '$';

    for (i = 1; i + 1 < GW_ASL_PATH_MAX; i += 2) {
        p[i] = '.';
        p[i + 1] = 'a';
    }

    if (i < GW_ASL_PATH_MAX) {
        p[i++] = 'a';
    }

    p[i] = '\0';
    is_int(strlen(p), GW_ASL_PATH_MAX, "the path is at the cap");
    ok(check(p, GW_ASL_PATH_REFERENCE) == 0, "a path at the cap is valid");
    is_str(get(p, "{\"a\":1}"), "E:States.Runtime",
           "511 segments evaluated: not found");

    p[i] = 'a';
    p[i + 1] = '\0';
    ok(check(p, GW_ASL_PATH_ANY) == -1 && cause_has("longer than 1024"),
       "a path one byte past the cap is refused");
    is_str(get(p, "{}"), "E:States.Runtime", "and not evaluated");

    free(p);

    /* integers */

    ok(check("$.a[2147483647]", GW_ASL_PATH_ANY) == 0, "index 2^31-1");
    ok(check("$.a[2147483648]", GW_ASL_PATH_ANY) == -1
       && cause_has("integer too large"), "index 2^31 refused");
    ok(check("$.a[-2147483647]", GW_ASL_PATH_ANY) == 0, "index -(2^31-1)");
    ok(check("$.a[99999999999999999999]", GW_ASL_PATH_ANY) == -1,
       "a huge index is refused");
    ok(check("$.a[0:2147483648]", GW_ASL_PATH_ANY) == -1,
       "a huge slice end is refused");
    is_str(get("$.a[2147483647]", "{\"a\":[1]}"), "E:States.Runtime",
           "index 2^31-1 names nothing");
    is_str(get("$.a[-2147483647:2147483647]", "{\"a\":[1,2]}"), "[1,2]",
           "a slice at the bounds is clamped");
    is_str(get("$.a[::-2147483647]", "{\"a\":[1,2]}"), "[2]",
           "the least step");

    /* filter nesting: 31 parentheses inside the filter's own level */

    {
        char  f[256];
        int   n;

        for (n = 30; n <= 33; n++) {
            i = snprintf(f, sizeof(f), "$.a[?(");
            memset(f + i, '(', n);
            i += n;
            i += snprintf(f + i, sizeof(f) - i, "@.x");
            memset(f + i, ')', n);
            i += n;
            snprintf(f + i, sizeof(f) - i, ")]");

            if (n <= 31) {
                ok(check(f, GW_ASL_PATH_ANY) == 0,
                   "%d parentheses nested in a filter", n);
                is_str(get(f, "{\"a\":[{\"x\":1},{}]}"), "[{\"x\":1}]",
                       "%d parentheses evaluated", n);

            } else {
                ok(check(f, GW_ASL_PATH_ANY) == -1
                   && cause_has("nested too deep"),
                   "%d parentheses refused", n);
            }
        }

        memset(f, 0, sizeof(f));
        i = snprintf(f, sizeof(f), "$.a[?(");
        memset(f + i, '!', 40);
        snprintf(f + i + 40, sizeof(f) - i - 40, "@.x)]");
        ok(check(f, GW_ASL_PATH_ANY) == -1 && cause_has("nested too deep"),
           "40 negations refused");
    }
}


static void
test_get(void)
{
    /* definite paths */

    is_str(get("$", "{\"a\":1}"), "{\"a\":1}", "$ is the input");
    is_str(get("$", "3"), "3", "$ of a scalar");
    is_str(get("$.a", "{\"a\":{\"b\":[1,2]}}"), "{\"b\":[1,2]}", "$.a");
    is_str(get("$.a.b[1]", "{\"a\":{\"b\":[1,2]}}"), "2", "$.a.b[1]");
    is_str(get("$['a']['b'][0]", "{\"a\":{\"b\":[1,2]}}"), "1",
           "bracket names");
    is_str(get("$[\"a.b\"]", "{\"a.b\":5,\"a\":{\"b\":6}}"), "5",
           "a quoted name with a dot");
    is_str(get("$['it\\'s']", "{\"it's\":7}"), "7", "an escaped quote");
    is_str(get("$.a[-1]", "{\"a\":[1,2,3]}"), "3", "[-1] is the last");
    is_str(get("$.a[-3]", "{\"a\":[1,2,3]}"), "1", "[-3] the first");
    is_str(get("$.a[-4]", "{\"a\":[1,2,3]}"), "E:States.Runtime",
           "[-4] of three");
    is_str(get("$[(@.length-1)].bar", "[{\"bar\":1},{\"bar\":2}]"), "2",
           "(@.length-1)");
    is_str(get("$.a", "{\"a\":null}"), "null", "a null is found");
    is_str(get("$.a-b", "{\"a-b\":false}"), "false", "a name with '-'");
    is_str(get("$.\xc3\xa9", "{\"\xc3\xa9\":1}"), "1", "a UTF-8 name");

    is_str(get("$.b", "{\"a\":1}"), "E:States.Runtime", "missing name");
    ok(cause_has("The JSONPath '$.b' could not be found in the input "
                 "'{\"a\":1}'"), "the cause names the path and the input");
    is_str(get("$.a.b", "{\"a\":1}"), "E:States.Runtime",
           "a name under a number");
    is_str(get("$.a[0]", "{\"a\":{\"0\":1}}"), "E:States.Runtime",
           "an index into an object");
    is_str(get("$.a[5]", "{\"a\":[1]}"), "E:States.Runtime",
           "an index past the end");
    ok(cause_has("The JSONPath '$.a[5]' could not be found in the input "
                 "'{\"a\":[1]}'"), "its cause");
    is_str(get("$.a", "[1]"), "E:States.Runtime", "a name in an array");

    /* the context object */

    is_str(get_ctx("$$.State.Name", "{}", "{\"State\":{\"Name\":\"S\"}}"),
           "\"S\"", "$$.State.Name");
    is_str(get_ctx("$$", "{}", "{\"x\":1}"), "{\"x\":1}", "$$");
    is_str(get_ctx("$$.Nope", "{\"Nope\":1}", "{}"), "E:States.Runtime",
           "$$ never reads the input");
    ok(cause_has("in the context object '{}'"), "cause names the context");
    is_str(get_ctx("$.a", "{\"a\":1}", "{\"a\":2}"), "1",
           "$ never reads the context");
    is_str(get_ctx("$$.a", "{}", NULL), "E:States.Runtime",
           "no context at all");

    /* indefinite paths: arrays */

    is_str(get("$.store.book[*].author", store),
           "[\"Rees\",\"Waugh\",\"Melville\",\"Tolkien\"]", "[*].author");
    is_str(get("$..author", store),
           "[\"Rees\",\"Waugh\",\"Melville\",\"Tolkien\"]", "..author");
    is_str(get("$.store.*", store) + 0, out_buf, "store.*");
    ok(strncmp(out_buf, "[[{", 3) == 0, "store.* is [book, bicycle]");
    is_str(get("$.store..price", store), "[8.95,12.99,8.99,22,19.95]",
           "store..price");
    is_str(get("$..book[2].author", store), "[\"Melville\"]",
           "..book[2]: an array of one");
    is_str(get("$..book[-1:].author", store), "[\"Tolkien\"]",
           "..book[-1:]");
    is_str(get("$..book[0,1].author", store), "[\"Rees\",\"Waugh\"]",
           "[0,1]");
    is_str(get("$..book[:2].price", store), "[8.95,12.99]", "[:2]");
    is_str(get("$..book[?(@.isbn)].author", store),
           "[\"Melville\",\"Tolkien\"]", "filter: exists");
    is_str(get("$..book[?(@.price < 10)].author", store),
           "[\"Rees\",\"Melville\"]", "filter: <");
    is_str(get("$..book[?(@.price <= 8.99)].price", store), "[8.95,8.99]",
           "filter: <=");
    is_str(get("$..book[?(@.price > 12.99)].price", store), "[22]",
           "filter: >");
    is_str(get("$..book[?(@.price >= 12.99)].price", store), "[12.99,22]",
           "filter: >=");
    is_str(get("$..book[?(@.price == 22)].author", store), "[\"Tolkien\"]",
           "filter: an integer equals");
    is_str(get("$..book[?(@.price == 22.0)].author", store),
           "[\"Tolkien\"]", "filter: 22.0 == 22");
    is_str(get("$..book[?(@.category != 'fiction')].author", store),
           "[\"Rees\"]", "filter: !=");
    is_str(get("$..book[?(@.category == \"fiction\" && @.price < 20)]"
               ".author", store), "[\"Waugh\",\"Melville\"]", "filter: &&");
    is_str(get("$..book[?(@.price < 9 || @.price > 20)].author", store),
           "[\"Rees\",\"Melville\",\"Tolkien\"]", "filter: ||");
    is_str(get("$..book[?(@.price > 20 || @.price < 9 && @.isbn)].author",
               store), "[\"Melville\",\"Tolkien\"]",
           "filter: && binds tighter than ||");
    is_str(get("$..book[?(!(@.price > 20 || @.price < 9) && !@.isbn)]"
               ".author", store), "[\"Waugh\"]", "filter: ! and ( )");
    is_str(get("$..book[?(@.price > $.expensive)].author", store),
           "[\"Waugh\",\"Tolkien\"]", "filter: a $ operand");
    is_str(get("$..book[?(@.nope != 1)].author", store),
           "[\"Rees\",\"Waugh\",\"Melville\",\"Tolkien\"]",
           "filter: a missing operand is != everything");
    is_str(get("$..book[?(@.nope == null)]", store), "[]",
           "filter: missing is not null");
    is_str(get("$.a[?(@ > 1)]", "{\"a\":[1,2,3]}"), "[]",
           "filter: @ never matches a scalar (AWS; jsonpath-plus: [2,3])");
    is_str(get("$.a[?(@.x)]", "{\"a\":[[1],{\"x\":0},\"x\",null]}"),
           "[{\"x\":0}]", "filter: objects only are candidates");
    is_str(get("$.a[?(@[0] == 1)]", "{\"a\":[[1],[2]]}"), "[]",
           "filter: an array is not a candidate");
    is_str(get("$.jar[?(@.a >= 5)]",
               "{\"jar\":[{\"a\":1},{\"a\":5},{\"a\":2},{\"a\":7}]}"),
           "[{\"a\":5},{\"a\":7}]", "filter: AWS's own example");
    is_str(get("$[*][*]", "[[1,2],[3],[]]"), "[1,2,3]",
           "$[*][*] flattens (AWS's example)");
    is_str(get("$.abc.['def ghi']", "{\"abc\":{\"def ghi\":1}}"), "1",
           ".['name'] (AWS's example)");
    is_str(get("$.a[?(@.s < 'b')].s",
               "{\"a\":[{\"s\":\"a\"},{\"s\":\"b\"},{\"s\":\"ab\"},"
               "{\"s\":1}]}"), "[\"a\",\"ab\"]",
           "filter: strings by bytes, no string/number order");
    is_str(get("$.a[?(@.v == true)].n",
               "{\"a\":[{\"v\":true,\"n\":1},{\"v\":1,\"n\":2},"
               "{\"v\":false,\"n\":3},{\"v\":null,\"n\":4}]}"), "[1]",
           "filter: == true");
    is_str(get("$.a[?(@.v == null)].n",
               "{\"a\":[{\"v\":true,\"n\":1},{\"v\":null,\"n\":4}]}"),
           "[4]", "filter: == null");
    is_str(get("$.a[?(@.v[0] == 'x')].n",
               "{\"a\":[{\"v\":[\"x\"],\"n\":1},{\"v\":[],\"n\":2}]}"),
           "[1]", "filter: an index in an operand");
    is_str(get("$.a[?(@.x == 1)]", "{\"a\":{\"x\":1}}"), "[{\"x\":1}]",
           "filter on an object tests the object (Jayway)");
    is_str(get("$.a[?(@.x == 2)]", "{\"a\":{\"x\":1}}"), "[]",
           "filter on an object that fails");

    is_str(get("$.a[*]", "{\"a\":[]}"), "[]", "[*] of [] is []");
    is_str(get("$.a[*]", "{\"a\":[7]}"), "[7]", "[*] of one is an array");
    is_str(get("$.a.*", "{\"a\":{\"x\":1,\"y\":{\"z\":2}}}"),
           "[1,{\"z\":2}]", ".* of an object");
    is_str(get("$.a.*", "{\"a\":5}"), "[]", ".* of a scalar is []");
    is_str(get("$.a[*].b", "{\"a\":[{\"b\":1},{},{\"b\":3}]}"), "[1,3]",
           "missing after [*] is skipped");
    is_str(get("$.a[*]", "{}"), "E:States.Runtime",
           "missing before [*] fails (Jayway)");
    is_str(get("$.a[1:]", "{\"a\":3}"), "E:States.Runtime",
           "a slice of a scalar in the definite part fails");
    is_str(get("$.a[*][1:]", "{\"a\":[3,[4,5]]}"), "[5]",
           "a slice of a scalar after [*] is skipped");
    is_str(get("$..x", "{}"), "[]", "..x over nothing is []");
    is_str(get("$..*", "{\"a\":{\"b\":1},\"c\":[2]}"),
           "[{\"b\":1},[2],1,2]", "..* order");
    is_str(get("$..[0]", "[[1,2],[3]]"), "[[1,2],1,3]", "..[0]");
    is_str(get("$..[?(@.p < 10)].n",
               "{\"p\":1,\"n\":0,\"l\":[{\"p\":2,\"n\":1,\"m\":"
               "{\"p\":3,\"n\":2}},{\"p\":20,\"n\":3}]}"), "[0,1,2]",
           "..[?()]: every object matching, once each, in order");
    is_str(get("$['a','b']", "{\"a\":1,\"c\":3,\"b\":2}"),
           "{\"a\":1,\"b\":2}",
           "a union of names ending the path: one object (Jayway)");
    is_str(get("$['a','x']", "{\"a\":1}"), "{\"a\":1}",
           "what it does not find is left out");
    is_str(get("$.o['a','b']", "{\"o\":3}"), "E:States.Runtime",
           "over a number in the definite part: fails");
    is_str(get("$.l[*]['a','b']", "{\"l\":[{\"a\":1,\"c\":2},{\"b\":3},"
               "4]}"), "[{\"a\":1},{\"b\":3}]",
           "after [*]: one object each");
    is_str(get("$['a','b'].c", "{\"a\":{\"c\":1},\"b\":{\"c\":2}}"),
           "[1,2]", "a union of names inside the path: their values");
    is_str(get("$.a[0,5,-1]", "{\"a\":[1,2,3]}"), "[1,3]",
           "a union of indexes skips what is past the end");

    /* slices, Python's semantics */

    is_str(get("$.a[1:3]", "{\"a\":[0,1,2,3,4]}"), "[1,2]", "[1:3]");
    is_str(get("$.a[-2:]", "{\"a\":[0,1,2,3,4]}"), "[3,4]", "[-2:]");
    is_str(get("$.a[:-3]", "{\"a\":[0,1,2,3,4]}"), "[0,1]", "[:-3]");
    is_str(get("$.a[::2]", "{\"a\":[0,1,2,3,4]}"), "[0,2,4]", "[::2]");
    is_str(get("$.a[::-1]", "{\"a\":[0,1,2]}"), "[2,1,0]", "[::-1]");
    is_str(get("$.a[3:0:-2]", "{\"a\":[0,1,2,3,4]}"), "[3,1]", "[3:0:-2]");
    is_str(get("$.a[10:20]", "{\"a\":[0,1]}"), "[]", "[10:20]");
    is_str(get("$.a[3:1]", "{\"a\":[0,1,2,3]}"), "[]", "[3:1]");
    is_str(get("$.a[-10:1]", "{\"a\":[0,1,2]}"), "[0]", "[-10:1]");
}


static void
test_hostile(void)
{
    int      i;
    char    *s;
    json_t  *in, *cur, *r;
    size_t   n;

    /* input nested deeper than the cap: ".." stops with an error, a
     * definite path reads on */

    in = json_object();
    cur = in;

    for (i = 0; i < 200; i++) {
        json_object_set_new(cur, "a", json_object());
        cur = json_object_get(cur, "a");
    }

    r = gw_asl_path_get("$..a", in, NULL, &last);
    ok(r == NULL && strcmp(last.error, GW_ASL_E_RUNTIME) == 0
       && cause_has("nested deeper than 64"), "'..' over 200 levels");
    json_decref(r);

    r = gw_asl_path_get("$.a.a.a", in, NULL, &last);
    ok(r != NULL && json_is_object(r), "a definite path over 200 levels");
    json_decref(r);
    json_decref(in);

    /* ".." at the cap: 64 objects under the root, then 65 */

    for (n = 64; n <= 65; n++) {
        in = json_object();
        cur = in;

        for (i = 0; i < (int) n; i++) {
            json_object_set_new(cur, "a", json_object());
            cur = json_object_get(cur, "a");
        }

        r = gw_asl_path_get("$..a", in, NULL, &last);

        if (n == 64) {
            is_int(json_array_size(r), 64, "'..' over 64 levels");

        } else {
            ok(r == NULL && cause_has("nested deeper than 64"),
               "'..' over 65 levels is refused");
        }

        json_decref(r);
        json_decref(in);
    }

    /* the work cap: "..*" repeated over a wide input */

    in = json_array();

    for (i = 0; i < 2000; i++) {
        json_array_append_new(in, json_pack("{s:[i,i,{s:[i]}]}", "a", 1, 2,
                                            "b", 3));
    }

    r = gw_asl_path_get("$..*..*..*..*..*..*..*..*", in, NULL, &last);
    ok(r != NULL, "..* eight times over a shallow input is within the cap");
    json_decref(r);

    r = gw_asl_path_get("$..*", in, NULL, &last);
    n = json_array_size(r);
    is_int(n, 2000 * 7, "..* over 2000 items selects every node");
    json_decref(r);
    json_decref(in);

    /* a chain 60 deep: ".." eight times would select C(60, 8) nodes */

    in = json_array();
    cur = in;

    for (i = 0; i < 60; i++) {
        json_array_append_new(cur, json_array());
        cur = json_array_get(cur, 0);
    }

    r = gw_asl_path_get("$..*..*..*..*..*..*..*..*", in, NULL, &last);
    ok(r == NULL && strcmp(last.error, GW_ASL_E_RUNTIME) == 0
       && cause_has("too much work"), "the work cap");
    json_decref(r);

    r = gw_asl_path_get("$..*..*", in, NULL, &last);
    is_int(json_array_size(r), 60 * 59 / 2, "..*..* over the chain");
    json_decref(r);
    json_decref(in);

    /* a huge string in a path's name (past the cap: refused), and a
     * long name within it */

    s = malloc(100001);
    if (s == NULL) {
        bail_out("malloc");
    }

    memset(s, 'x', 100000);
    s[0] = '$';
    s[1] = '.';
    s[100000] = '\0';
    ok(check(s, GW_ASL_PATH_ANY) == -1 && cause_has("longer than"),
       "a 100,000-byte path is refused");

    s[1000] = '\0';
    in = json_object();
    json_object_set_new(in, s + 2, json_integer(9));
    r = gw_asl_path_get(s, in, NULL, &last);
    ok(r != NULL && json_integer_value(r) == 9, "a 998-byte name is read");
    json_decref(r);
    json_decref(in);
    free(s);

    /* every byte after "$." alone: no crash, each answered */

    {
        char  p[4];

        for (i = 1; i < 256; i++) {
            p[0] = '$';
            p[1] = '.';
            p[2] = (char) i;
            p[3] = '\0';
            gw_asl_path_check(p, GW_ASL_PATH_ANY, &last);
            r = gw_asl_path_get(p, NULL, NULL, &last);
            json_decref(r);
        }

        ok(1, "every byte after '$.' answered");
    }
}


/*
 * Random paths made of JSONPath's pieces (a fixed seed, so a failure
 * repeats): each is checked and evaluated over a small input; whatever
 * the check refuses, the evaluation refuses too, and nothing crashes
 * (run under ASan to see it).
 */

static void
test_random(void)
{
    int            i, j, n, bad, valid;
    char           p[256];
    json_t        *in, *ctx, *r;
    size_t         len, plen;
    uint32_t       x;
    gw_asl_err_t   e;
    static const char  *piece[] = {
        ".a", ".b", "['a']", "[\"b\"]", "[0]", "[-1]", "[*]", ".*", "..",
        "[0,1]", "[1:]", "[::-1]", "[?(@.a", " == 1", " < 'x'", " && ",
        " || ", "@.b", ")]", "(", ")", "[", "]", "'", "\"", "!", "$", "@",
        "\\", ",", ":", "?", "1", "-", " ", "\x01", "\xff", "$.a",
        "[(@.length-1)]", "..a", "..*", "['a','b']", "$$"
    };

    in = load("{\"a\":[{\"a\":1,\"b\":[1,2]},{\"b\":\"x\"},3],"
              "\"b\":{\"a\":{\"a\":null}}}");
    ctx = load("{\"a\":1}");

    x = 2463534242u;
    bad = 0;
    valid = 0;

    for (i = 0; i < 20000; i++) {
        p[0] = '$';
        plen = 1;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n = 1 + x % 7;

        for (j = 0; j < n; j++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;

            len = strlen(piece[x % (sizeof(piece) / sizeof(piece[0]))]);

            if (plen + len < sizeof(p)) {
                memcpy(p + plen,
                       piece[x % (sizeof(piece) / sizeof(piece[0]))], len);
                plen += len;
            }
        }

        p[plen] = '\0';

        if (gw_asl_path_check(p, GW_ASL_PATH_ANY, &e) == 0) {
            valid++;
            r = gw_asl_path_get(p, in, ctx, &e);

        } else {
            r = gw_asl_path_get(p, in, ctx, &e);

            if (r != NULL) {
                if (bad++ == 0) {
                    diag("refused yet evaluated: %s", p);
                }
            }
        }

        json_decref(r);

        r = gw_asl_path_put(p, in, ctx, &e);
        json_decref(r);
    }

    is_int(bad, 0, "20,000 random paths: what the check refuses is never "
           "evaluated");
    ok(valid > 1000, "and many were valid (%d)", valid);

    json_decref(in);
    json_decref(ctx);
}


static void
test_put(void)
{
    is_str(put("$", "{\"a\":1}", "{\"r\":2}"), "{\"r\":2}",
           "$ replaces the whole input");
    is_str(put("$", "[1]", "3"), "3", "$ with a scalar");
    is_str(put("$.r", "{\"a\":1}", "2"), "{\"a\":1,\"r\":2}", "$.r added");
    is_str(put("$.a", "{\"a\":1}", "[2]"), "{\"a\":[2]}", "$.a replaced");
    is_str(put("$.x.y.z", "{\"a\":1}", "true"),
           "{\"a\":1,\"x\":{\"y\":{\"z\":true}}}", "missing objects made");
    is_str(put("$.x['y z']", "{\"x\":{\"k\":0}}", "null"),
           "{\"x\":{\"k\":0,\"y z\":null}}", "a bracket name");
    is_str(put("$.a[1]", "{\"a\":[0,1,2]}", "9"), "{\"a\":[0,9,2]}",
           "an index set");
    is_str(put("$.a[1].b", "{\"a\":[0,{\"c\":1}]}", "9"),
           "{\"a\":[0,{\"c\":1,\"b\":9}]}", "a name under an index");

    is_str(put("$.a.b", "{\"a\":\"s\"}", "1"),
           "E:States.ResultPathMatchFailure", "a string on the way");
    ok(cause_has("'$.a' in the input is not an object"),
       "the cause names where");
    is_str(put("$.a", "[1]", "1"), "E:States.ResultPathMatchFailure",
           "an array input");
    is_str(put("$.a", "\"s\"", "1"), "E:States.ResultPathMatchFailure",
           "a string input");
    is_str(put("$.a", "null", "1"), "E:States.ResultPathMatchFailure",
           "a null input");
    is_str(put("$.a[3]", "{\"a\":[0,1,2]}", "9"),
           "E:States.ResultPathMatchFailure", "an index past the end");
    ok(cause_has("not an array of more than 3 items"), "its cause");
    is_str(put("$.a[0]", "{\"a\":{}}", "9"),
           "E:States.ResultPathMatchFailure", "an index into an object");
    is_str(put("$.a[*]", "{\"a\":[1]}", "9"), "E:States.Runtime",
           "not a Reference Path");
    is_str(put("$$.a", "{}", "9"), "E:States.Runtime",
           "the context object is not written");
    is_str(put("$.a[-1]", "{\"a\":[1]}", "9"), "E:States.Runtime",
           "[-1] is not a Reference Path");

    {
        json_t        *in, *v, *r;
        gw_asl_err_t   e;

        in = load("{\"a\":{\"b\":1}}");
        v = load("{\"c\":2}");
        r = gw_asl_path_put("$.a.d", in, v, &e);
        json_object_set_new(json_object_get(json_object_get(r, "a"), "d"),
                            "z", json_integer(0));
        ok(json_object_get(json_object_get(in, "a"), "d") == NULL
           && json_object_size(v) == 1,
           "the input and the value are copied, not changed");
        json_decref(r);
        json_decref(in);
        json_decref(v);
    }
}


int
main(void)
{
    test_check();
    test_bounds();
    test_get();
    test_hostile();
    test_random();
    test_put();

    return done_testing();
}
