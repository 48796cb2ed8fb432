
/*
 * Copyright (C) Tollgate
 *
 * Logic-less templates (lib/template): variables, dotted names, scopes,
 * sections over arrays, objects and booleans, inverted sections,
 * comments and the url filter; each context's escaping (text as is but
 * control characters refused, html, url, json inside and outside string
 * literals, with the output parsed); the syntax errors with their byte
 * offsets; the caps (size, nesting, output, section runs); and attacks:
 * a value holding a tag is written once, never expanded, markup and JSON
 * structure in values stay data, NUL and invalid UTF-8 are refused.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template.h"
#include "tap.h"


static char           out_buf[4096];
static gw_tmpl_err_t  last;


/* compiles and renders; the output (or "") in out_buf; rc -1 compile,
 * -2 render, 0 */

static int
render_opts(const gw_tmpl_opts_t *opts, const char *tmpl, size_t tlen,
    json_t *data)
{
    char       *out;
    size_t      len;
    gw_tmpl_t  *t;

    out_buf[0] = '\0';

    t = gw_tmpl_compile(tmpl, tlen, opts, &last);
    if (t == NULL) {
        return -1;
    }

    if (gw_tmpl_render(t, data, &out, &len, &last) != 0) {
        gw_tmpl_free(t);
        return -2;
    }

    if (strlen(out) != len) {
        diag("the output's length is not its strlen");
    }

    snprintf(out_buf, sizeof(out_buf), "%s", out);
    free(out);
    gw_tmpl_free(t);

    return 0;
}


static int
render(gw_tmpl_context_e ctx, const char *tmpl, const char *data)
{
    int             rc;
    json_t         *d;
    gw_tmpl_opts_t  opts;

    memset(&opts, 0, sizeof(opts));
    opts.context = ctx;

    d = json_loads(data, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (d == NULL) {
        diag("bad test data: %s", data);
        return -3;
    }

    rc = render_opts(&opts, tmpl, strlen(tmpl), d);
    json_decref(d);

    return rc;
}


static int
text(const char *tmpl, const char *data)
{
    return render(GW_TMPL_TEXT, tmpl, data);
}


static void
test_basics(void)
{
    is_int(text("Hello {{name}}!", "{\"name\": \"Ann\"}"), 0, "a variable");
    is_str(out_buf, "Hello Ann!", "... rendered");
    is_int(text("{{ name }}", "{\"name\": \"Ann\"}"), 0, "spaces in a tag");
    is_str(out_buf, "Ann", "... ignored");
    is_int(text("{{customer.name}}", "{\"customer\": {\"name\": \"Bo\"}}"),
           0, "a dotted name");
    is_str(out_buf, "Bo", "... rendered");
    is_int(text("{{items.1}}", "{\"items\": [\"a\", \"b\"]}"), 0,
           "an array item by index");
    is_str(out_buf, "b", "... rendered");
    is_int(text("{{n}} {{f}} {{t}} {{x}} {{z}}",
                "{\"n\": 42, \"f\": 0.1, \"t\": true, \"x\": false, "
                "\"z\": null}"), 0, "numbers, booleans, null");
    is_str(out_buf, "42 0.1 true false ", "... as JSON text, null empty");
    is_int(text("{{big}} {{e}}", "{\"big\": -9007199254740993, "
                "\"e\": 1.5e300}"), 0, "large numbers");
    is_str(out_buf, "-9007199254740993 1.5e300", "... exact, no locale");
    is_int(text("a{{! a comment, {x} }}b", "{}"), 0, "a comment");
    is_str(out_buf, "ab", "... writes nothing");
    is_int(text("a{{! {{x}} }}b", "{}"), 0, "a tag in a comment");
    is_str(out_buf, "a }}b", "... the comment ends at the first }}");
    is_int(text("}} { } {x}", "{}"), 0, "braces that are not tags");
    is_str(out_buf, "}} { } {x}", "... as is");
    is_int(text("", "{}"), 0, "an empty template");
    is_str(out_buf, "", "... renders nothing");
    is_int(text("{{.}}", "\"root\""), 0, "{{.}} at the root");
    is_str(out_buf, "root", "... the data itself");
}


static void
test_sections(void)
{
    is_int(text("{{#items}}<{{name}}>{{/items}}",
                "{\"items\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}"), 0,
           "a section over an array");
    is_str(out_buf, "<a><b>", "... once per item");
    is_int(text("{{#items}}{{.}},{{/items}}", "{\"items\": [1, \"x\"]}"),
           0, "{{.}} in a section");
    is_str(out_buf, "1,x,", "... the item");
    is_int(text("{{#c}}{{name}} {{title}}{{/c}}",
                "{\"title\": \"T\", \"c\": {\"name\": \"N\"}}"), 0,
           "an object section");
    is_str(out_buf, "N T", "... pushed; outer names still found");
    is_int(text("{{#c}}{{name}}{{/c}}",
                "{\"name\": \"outer\", \"c\": {\"name\": \"inner\"}}"), 0,
           "a name in two scopes");
    is_str(out_buf, "inner", "... the innermost wins");
    is_int(text("[{{#t}}T{{/t}}{{#f}}F{{/f}}{{#z}}Z{{/z}}{{#e}}E{{/e}}"
                "{{#s}}S{{/s}}{{#m}}M{{/m}}{{#o}}O{{/o}}{{#n}}N{{/n}}]",
                "{\"t\": true, \"f\": false, \"z\": null, \"e\": [], "
                "\"s\": \"\", \"o\": {}, \"n\": 0}"), 0, "truthiness");
    is_str(out_buf, "[TON]", "... false, null, [], \"\", missing: none");
    is_int(text("{{^items}}none{{/items}}{{^t}}x{{/t}}",
                "{\"items\": [], \"t\": true}"), 0, "inverted sections");
    is_str(out_buf, "none", "... only when the section would not render");
    is_int(text("{{^missing}}absent{{/missing}}", "{}"), 0,
           "an inverted section tests absence");
    is_str(out_buf, "absent", "... without an error");
    is_int(text("{{#a}}{{#b}}{{x}}{{/b}}{{/a}}",
                "{\"a\": [{\"b\": [1, 2]}, {\"b\": [3]}], \"x\": \"-\"}"),
           0, "nested sections");
    is_str(out_buf, "---", "... three runs");
}


static void
test_missing(void)
{
    json_t          *d;
    gw_tmpl_opts_t   opts;

    is_int(text("Hi {{customer.name}}", "{\"customer\": {}}"), -2,
           "a missing variable");
    is_str(last.pointer, "/customer/name", "... its pointer");
    is_int(last.offset, 3, "... the tag's offset");
    ok(strstr(last.message, "unknown variable /customer/name") != NULL,
       "... named in the message");
    memset(&opts, 0, sizeof(opts));
    opts.pointer_root = "/data";
    d = json_pack("{s:{}}", "customer");
    is_int(render_opts(&opts, "{{#customer}}{{name}}{{/customer}}", 34, d),
           -2, "a pointer root");
    is_str(last.pointer, "/data/customer/name", "... before the pointer");
    ok(strstr(last.message, "unknown variable /data/customer/name") != NULL,
       "... and in the message");
    json_decref(d);
    is_int(text("{{a.b.c}}", "{\"a\": \"str\"}"), -2,
           "a name inside a string");
    is_str(last.pointer, "/a/b", "... the first missing step");
    is_int(text("{{#items}}{{name}}{{/items}}",
                "{\"items\": [{\"name\": 1}, {}]}"), -2,
           "missing in an item");
    is_str(last.pointer, "/items/1/name", "... the item's pointer");
    is_int(text("{{items.01}}", "{\"items\": [1, 2]}"), -2,
           "a leading zero is no index");
    is_int(text("{{items.5}}", "{\"items\": [1, 2]}"), -2,
           "an index past the end");
}


static void
test_syntax(void)
{
    is_int(text("ab {{name", "{}"), -1, "an unclosed tag");
    is_int(last.offset, 3, "... at its offset");
    is_int(text("{{#a}}x", "{}"), -1, "an unclosed section");
    is_int(last.offset, 0, "... at its open tag");
    is_int(text("{{#a}}{{/b}}", "{}"), -1, "a mismatched close");
    is_int(last.offset, 6, "... at the close");
    ok(strstr(last.message, "{{#a}}") != NULL, "... naming the open one");
    is_int(text("x{{/a}}", "{}"), -1, "a close without an open");
    is_int(last.offset, 1, "... at the close");
    is_int(text("{{#a}}{{#b}}{{/a}}{{/b}}", "{}"), -1,
           "crossed sections");
    is_int(text("{{}}", "{}"), -1, "an empty tag");
    is_int(text("{{a b}}", "{}"), -1, "a space in a name");
    is_int(text("{{a..b}}", "{}"), -1, "an empty segment");
    is_int(text("{{.a}}", "{}"), -1, "a leading dot");
    is_int(text("{{{a}}}", "{\"a\": 1}"), -1, "no triple mustache");
    is_int(text("{{&a}}", "{\"a\": 1}"), -1, "no & (unescaped) form");
    is_int(text("{{a|raw}}", "{\"a\": 1}"), -1, "an unknown filter");
    is_int(text("{{#a|url}}{{/a}}", "{\"a\": 1}"), -1,
           "no filter on a section");
    is_int(text("{{>partial}}", "{}"), -1, "no partials");
    is_int(render_opts(NULL, "a\0b", 3, NULL), -1, "a NUL in a template");
    is_int(last.offset, 1, "... at its offset");
    is_int(text("ok \xc3\x28", "{}"), -1, "invalid UTF-8 in a template");
    is_int(last.offset, 3, "... at its offset");
}


static void
test_caps(void)
{
    int             i, rc;
    char           *big, *deep;
    size_t          n;
    json_t         *d, *arr;
    gw_tmpl_opts_t  opts;

    memset(&opts, 0, sizeof(opts));

    big = malloc(GW_TMPL_SIZE_MAX + 2);
    deep = malloc(64 * 16);

    if (big == NULL || deep == NULL) {
        diag("out of memory");
        exit(255);
    }

    memset(big, 'x', GW_TMPL_SIZE_MAX + 1);
    is_int(render_opts(&opts, big, GW_TMPL_SIZE_MAX, NULL), 0,
           "a template at the size cap");
    is_int(render_opts(&opts, big, GW_TMPL_SIZE_MAX + 1, NULL), -1,
           "one byte more: refused");
    free(big);

    n = 0;
    for (i = 0; i < GW_TMPL_DEPTH_MAX; i++) {
        n += sprintf(deep + n, "{{#a}}");
    }
    for (i = 0; i < GW_TMPL_DEPTH_MAX; i++) {
        n += sprintf(deep + n, "{{/a}}");
    }
    is_int(text(deep, "{\"a\": true}"), 0, "sections nested to the cap");

    n = 0;
    for (i = 0; i <= GW_TMPL_DEPTH_MAX; i++) {
        n += sprintf(deep + n, "{{#a}}");
    }
    for (i = 0; i <= GW_TMPL_DEPTH_MAX; i++) {
        n += sprintf(deep + n, "{{/a}}");
    }
    is_int(text(deep, "{\"a\": true}"), -1, "one level more: refused");
    ok(strstr(last.message, "nested") != NULL, "... as nesting");

    /* 10 levels over a 10-item array: 10^10 runs, writing nothing */
    n = 0;
    for (i = 0; i < 10; i++) {
        n += sprintf(deep + n, "{{#a}}");
    }
    for (i = 0; i < 10; i++) {
        n += sprintf(deep + n, "{{/a}}");
    }
    rc = text(deep, "{\"a\": [1,2,3,4,5,6,7,8,9,10]}");
    is_int(rc, -2, "an explosion of empty runs: stopped");
    ok(strstr(last.message, "section runs") != NULL, "... by the run cap");
    free(deep);

    arr = json_array();
    for (i = 0; i < 2000; i++) {
        json_array_append_new(arr, json_string("0123456789"));
    }
    d = json_pack("{s:o}", "a", arr);

    opts.output_max = 1000;
    is_int(render_opts(&opts, "{{#a}}{{.}}{{/a}}", 17, d), -2,
           "output past the cap");
    ok(strstr(last.message, "larger than 1000") != NULL, "... said so");

    json_decref(d);

    /* 200 x 200 runs of 100 bytes: 4 MB, under the run cap */
    memset(out_buf, 'y', 100);
    out_buf[100] = '\0';
    arr = json_array();
    for (i = 0; i < 200; i++) {
        json_array_append_new(arr, json_string(out_buf));
    }
    d = json_pack("{s:o}", "a", arr);

    opts.output_max = 0;
    opts.iter_max = 0;
    is_int(render_opts(&opts, "{{#a}}{{#a}}{{.}}{{/a}}{{/a}}", 29, d), -2,
           "output past the default 1 MiB cap");
    ok(strstr(last.message, "larger than 1048576") != NULL, "... said so");
    json_decref(d);
}


static void
test_text_attacks(void)
{
    gw_tmpl_opts_t  opts;
    json_t         *d;

    is_int(text("{{x}}", "{\"x\": \"{{y}}\", \"y\": \"SECRET\"}"), 0,
           "a value holding a tag");
    is_str(out_buf, "{{y}}", "... written once, never expanded");
    is_int(text("{{x}}", "{\"x\": \"line1\\nline2\\tz\"}"), 0,
           "\\n and \\t in text");
    is_str(out_buf, "line1\nline2\tz", "... kept");
    is_int(text("{{x}}", "{\"x\": \"a\\r\\nBcc: evil@x\"}"), -2,
           "CR in a text value: refused");
    is_str(last.pointer, "/x", "... naming the value");
    is_int(text("{{x}}", "{\"x\": \"a\\u001b[31m\"}"), -2,
           "an ANSI escape: refused");
    is_int(text("{{x}}", "{\"x\": \"a\\u007f\"}"), -2, "DEL: refused");
    is_int(text("{{x}}", "{\"x\": \"a\\u0085\"}"), -2, "C1 NEL: refused");
    is_int(text("{{x}}", "{\"x\": \"a\\u0000b\"}"), -2,
           "a NUL in a value: refused");
    is_int(text("{{x}}", "{\"x\": {\"a\": 1}}"), -2,
           "an object in text: refused");
    is_int(text("{{x}}", "{\"x\": [1]}"), -2, "an array in text: refused");

    memset(&opts, 0, sizeof(opts));
    opts.one_line = 1;
    d = json_pack("{s:s}", "x", "Hello\nBcc: evil@example.com");
    is_int(render_opts(&opts, "Re: {{x}}", 9, d), -2,
           "one line: a newline in a value refused");
    json_decref(d);
    is_int(render_opts(&opts, "Re:\n{{x}}", 9, NULL), -1,
           "one line: a newline in the template refused");
    is_int(last.offset, 3, "... at its offset");

    d = json_pack("{s:s#}", "x", "ab\xff", (size_t) 3);
    if (d == NULL) {
        /* jansson checks UTF-8: build the bad string without a check */
        d = json_pack("{s:o}", "x", json_stringn_nocheck("ab\xff", 3));
    }
    memset(&opts, 0, sizeof(opts));
    is_int(render_opts(&opts, "{{x}}", 5, d), -2,
           "invalid UTF-8 in a value: refused");
    opts.context = GW_TMPL_JSON;
    is_int(render_opts(&opts, "\"{{x}}\"", 7, d), -2,
           "... in json too");
    json_decref(d);
}


static void
test_html(void)
{
    is_int(render(GW_TMPL_HTML, "<p title=\"{{t}}\">{{b}}</p>",
                  "{\"t\": \"\\\" onmouseover=alert(1) x=\\\"\", "
                  "\"b\": \"<script>alert('x')</script> & `q`\"}"), 0,
           "html");
    is_str(out_buf, "<p title=\"&quot; onmouseover&#61;alert(1) x&#61;"
           "&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
           "&amp; &#96;q&#96;</p>", "... & < > \" ' ` = escaped");
    is_int(render(GW_TMPL_HTML, "{{x}}", "{\"x\": \"&amp;\"}"), 0,
           "an entity in a value");
    is_str(out_buf, "&amp;amp;", "... escaped again, never decoded");
    is_int(render(GW_TMPL_HTML, "<a href=\"/s?q={{q|url}}\">",
                  "{\"q\": \"a b&c=\\\"<\\u00e9\"}"), 0,
           "a url filter in html");
    is_str(out_buf, "<a href=\"/s?q=a%20b%26c%3D%22%3C%C3%A9\">",
           "... percent-encoded, nothing left to escape");
    is_int(render(GW_TMPL_HTML, "{{x}}", "{\"x\": \"\\u00e9\\u2028\"}"), 0,
           "non-ASCII in html");
    is_str(out_buf, "\xc3\xa9\xe2\x80\xa8", "... kept");
    is_int(render(GW_TMPL_HTML, "{{x}}", "{\"x\": \"a\\rb\"}"), -2,
           "CR in html: refused");
}


static void
test_url(void)
{
    is_int(render(GW_TMPL_URL, "https://x/{{p}}?a={{q}}",
                  "{\"p\": \"../a b\", \"q\": \"x&y=\\u00e9~-._\\n\"}"), 0,
           "the url context");
    is_str(out_buf, "https://x/..%2Fa%20b?a=x%26y%3D%C3%A9~-._%0A",
           "... unreserved kept, others %%XX");
    is_int(render(GW_TMPL_URL, "{{n}}", "{\"n\": 1.25}"), 0,
           "a number in url");
    is_str(out_buf, "1.25", "... its JSON text");
    is_int(render(GW_TMPL_URL, "{{o}}", "{\"o\": {}}"), -2,
           "an object in url: refused");
}


static void
test_json(void)
{
    is_int(render(GW_TMPL_JSON, "{\"greeting\": \"Hello {{name}}!\"}",
                  "{\"name\": \"A \\\"B\\\" \\\\ \\n\\u0001\\u2028\"}"), 0,
           "json: a variable inside a string literal");
    is_str(out_buf, "{\"greeting\": \"Hello A \\\"B\\\" \\\\ \\n\\u0001"
           "\\u2028!\"}", "... escaped as string content");
    is_int(render(GW_TMPL_JSON, "{\"n\": {{n}}, \"s\": {{s}}, \"o\": {{o}}, "
                  "\"z\": {{z}}, \"b\": {{b}}}",
                  "{\"n\": 2.5, \"s\": \"x\\\"y\", \"o\": {\"k\": [1]}, "
                  "\"z\": null, \"b\": false}"), 0,
           "json: variables outside strings");
    is_str(out_buf, "{\"n\": 2.5, \"s\": \"x\\\"y\", \"o\": {\"k\":[1]}, "
           "\"z\": null, \"b\": false}", "... as JSON values");
    is_int(render(GW_TMPL_JSON, "{\"a\": {{s}}}",
                  "{\"s\": \"1, \\\"admin\\\": true\"}"), 0,
           "json: structure in a string value");
    is_str(out_buf, "{\"a\": \"1, \\\"admin\\\": true\"}",
           "... stays one string");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"{{o}}\"}", "{\"o\": {}}"), -2,
           "json: an object inside a string: refused");
    is_int(render(GW_TMPL_JSON, "{\"a\": {{n}} {{n}}}", "{\"n\": 1}"), -2,
           "json: an output that is not JSON: refused");
    ok(strstr(last.message, "not JSON") != NULL, "... said so");
    is_int(render(GW_TMPL_JSON, "[{{#a}}{{.}},{{/a}}]", "{\"a\": [1]}"),
           -2, "json: a trailing comma: refused");
    is_int(render(GW_TMPL_JSON, "{\"a\": 1, \"a\": 2}", "{}"), -2,
           "json: duplicate members: refused");
    is_int(render(GW_TMPL_JSON, "{\"u\": \"{{q|url}}\", \"v\": {{q|url}}}",
                  "{\"q\": \"a\\\"b\"}"), 0, "json: the url filter");
    is_str(out_buf, "{\"u\": \"a%22b\", \"v\": \"a%22b\"}",
           "... a string inside and outside quotes");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"x{{#s}}\"{{/s}}\"}", "{}"), -1,
           "json: a section that closes a string");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"\\{{x}}\"}", "{\"x\": 1}"), -1,
           "json: a tag after a backslash");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"\\u00{{x}}\"}",
                  "{\"x\": \"22\"}"), -1, "json: a tag inside \\uXXXX");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"x", "{}"), -1,
           "json: an unclosed string literal");
    is_int(render(GW_TMPL_JSON, "{\"q\": \"\\\\\", \"v\": {{v}}}",
                  "{\"v\": 3}"), 0, "json: an escaped backslash ends");
    is_str(out_buf, "{\"q\": \"\\\\\", \"v\": 3}", "... then a value");
    is_int(render(GW_TMPL_JSON, "{\"items\": {{items}}}",
                  "{\"items\": [{\"name\": \"</script>\"}]}"), 0,
           "json: an array as a value");
    is_str(out_buf, "{\"items\": [{\"name\":\"</script>\"}]}",
           "... written whole");
    is_int(render(GW_TMPL_JSON, "{\"a\": \"{{x}}\"}", "{\"x\": "
                  "\"\\u0000\"}"), -2, "json: a NUL in a value: refused");
    is_int(render(GW_TMPL_URL, "{{x}}", "{\"x\": \"\\u0000\"}"), -2,
           "url: a NUL in a value: refused");
    is_int(render(GW_TMPL_JSON, "", "{}"), -2, "json: empty output");
}


int
main(void)
{
    test_basics();
    test_sections();
    test_missing();
    test_syntax();
    test_caps();
    test_text_attacks();
    test_html();
    test_url();
    test_json();

    ok(gw_tmpl_utf8_check((const unsigned char *) "\xed\xa0\x80", 3) == 0,
       "a surrogate is not UTF-8");
    ok(gw_tmpl_utf8_check((const unsigned char *) "\xc0\xaf", 2) == 0,
       "an overlong form is not UTF-8");
    ok(gw_tmpl_utf8_check((const unsigned char *) "\xf4\x90\x80\x80", 4)
       == 0, "past U+10FFFF is not UTF-8");
    ok(gw_tmpl_utf8_check((const unsigned char *) "a\xf0\x9f\x98\x80", 5)
       == 5, "an emoji is");

    return done_testing();
}
