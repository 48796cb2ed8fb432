
/*
 * Copyright (C) Tollgate
 *
 * JWT claim policy, path lookup and rendering.  Each date rule is tested
 * at its boundary second with and without leeway; iss and aud against
 * strings, arrays and wrong types; required claims by nested and escaped
 * paths with values of every JSON type; scopes from "scope" strings and
 * "scp" arrays in both "all" and "any" modes; and rendering of every type,
 * including the exact-fit and one-byte-short buffer sizes.  Every check
 * of a policy without claim rules also runs the plain path
 * (gw_jwt_plain_scan() and gw_jwt_check_plain()) when the scanner takes
 * the text, which must give the same result and reason; test_plain()
 * then tests what the scanner takes and declines.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jwt.h"
#include "tap.h"


#define NOW  1700000000LL
#define S(s)  { s, sizeof(s) - 1 }

#define ESC      "{\"exp\":17e8,\"iss\":\"i\\\"\"}"
#define PAYLOAD  "{\"sub\":\"s\",\"exp\":17e8,\"iss\":\"i s\"," \
                 "\"aud\":[\"a\",[\"b\",{\"c\":\"]\"}],3,\"d\"]," \
                 "\"x\":{\"exp\":1}}"


static const char  *err;
static int          plain_checks;


static json_t *
js(const char *text)
{
    json_t  *v;

    v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (v == NULL) {
        diag("bad test JSON: %s", text);
    }

    return v;
}


/* checks text as claims under p at NOW */

static int
check(const char *text, const gw_jwt_policy_t *p)
{
    int              rc, prc;
    json_t          *claims;
    const char      *perr;
    gw_jwt_plain_t   c;

    err = "";
    claims = js(text);
    rc = gw_jwt_check(claims, p, NOW, &err);
    json_decref(claims);

    if (p->nclaims == 0 && gw_jwt_plain_scan(&c, text, strlen(text))) {
        perr = "";
        prc = gw_jwt_check_plain(&c, p, NOW, &perr);
        plain_checks++;

        if (prc != rc || strcmp(perr, err) != 0) {
            ok(0, "plain check of %s: %d \"%s\", tree %d \"%s\"",
               text, prc, perr, rc, err);
        }
    }

    return rc;
}


/* the scanner's verdict on len bytes of text */

static int
scan(const char *text, size_t len)
{
    gw_jwt_plain_t  c;

    return gw_jwt_plain_scan(&c, text, len);
}


static void
test_plain(void)
{
    size_t            i;
    json_t           *root;
    const char       *pos, *end;
    gw_jwt_plain_t    c;
    gw_jwt_value_t    v;

    static const char  *taken[] = {
        "{}",
        " \t\r\n{ \"a\" : 1 , \"b\":[ ] ,\"c\":{}}\n ",
        "{\"exp\":-0,\"nbf\":1.5e3,\"iat\":999999999999999999}",
        "{\"n\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"a\":{\"a\":{\"a\":1}},\"b\":[true,false,null]}",
        "{\"a\":1,\"A\":2,\"\":3}",
        "{\"x\":\"\x7f\"}"
    };

    static const char  *declined[] = {
        "",
        "[]",
        "{\"a\":1,\"a\":2}",                   /* duplicate */
        "{\"o\":{\"a\":1,\"a\":2}}",          /* nested duplicate */
        "{\"a\":1,\"\\u0061\":2}",             /* escapes: jansson */
        "{\"s\":\"a\\/b\"}",
        "{\"n\":1234567890123456789}",        /* 19 digits */
        "{\"n\":1e400}",                      /* overflows */
        "{\"n\":01}",
        "{\"n\":1.}",
        "{\"n\":.5}",
        "{\"n\":+1}",
        "{\"n\":1e}",
        "{\"n\":tru}",
        "{\"n\":truex}",
        "{\"a\":1,}",
        "{\"a\":[1,]}",
        "{\"a\" 1}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "{\"s\":\"\xc0\xaf\"}",                /* overlong */
        "{\"s\":\"\xed\xa0\x80\"}",            /* surrogate */
        "{\"s\":\"\xf4\x90\x80\x80\"}",        /* past U+10FFFF */
        "{\"s\":\"\xe2\x82\"}",                /* cut short */
        "{\"s\":\"\x1f\"}",
        "{\"s\":\"a\x0b\"}",
        "{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"    /* 17 levels */
    };

    for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        is_int(scan(taken[i], strlen(taken[i])), 1, "plain: takes %s",
               taken[i]);

        root = js(taken[i]);
        ok(json_is_object(root), "jansson takes it alike");
        json_decref(root);
    }

    for (i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        is_int(scan(declined[i], strlen(declined[i])), 0,
               "plain: declines %s", declined[i]);
    }

    /* NUL bytes, which jansson takes after a number, are declined */

    is_int(scan("{\"n\":1\0}", 8), 0, "plain: declines a NUL after 1");
    is_int(scan("{\"s\":\"\0\"}", 9), 0, "plain: declines a NUL in a string");
    is_int(scan("{}\0", 3), 0, "plain: declines a NUL at the end");

    /* 64 member names open at a time, no more */

    {
        char    buf[1024];
        size_t  len;

        len = 0;
        buf[len++] = '{';

        for (i = 0; i < 65; i++) {
            len += sprintf(buf + len, "%s\"k%zu\":0", i ? "," : "", i);

            if (i == 63) {
                buf[len] = '}';
                is_int(scan(buf, len + 1), 1, "plain: takes 64 members");
            }
        }

        buf[len++] = '}';
        is_int(scan(buf, len), 0, "plain: declines 65 members");
    }

    /* what is noted */

    is_int(scan(ESC, strlen(ESC)), 0, "plain: an escaped iss declines");
    ok(gw_jwt_plain_scan(&c, PAYLOAD, strlen(PAYLOAD)),
       "plain: takes a payload");
    is_int(c.exp.type, GW_JWT_V_NUMBER, "plain: exp a number");
    ok(c.exp.num == 17e8, "plain: exp 17e8");
    is_int(c.iss.type, GW_JWT_V_STRING, "plain: iss a string");
    ok(c.iss.len == 3 && memcmp(c.iss.data, "i s", 3) == 0, "plain: iss");
    is_int(c.nbf.type, GW_JWT_V_NONE, "plain: no nbf");
    is_int(c.aud.type, GW_JWT_V_ARRAY, "plain: aud an array");

    pos = c.aud.data + 1;
    end = c.aud.data + c.aud.len;

    ok(gw_jwt_plain_next(&pos, end, &v) && v.type == GW_JWT_V_STRING
       && v.len == 1 && v.data[0] == 'a', "plain: aud[0] \"a\"");
    ok(gw_jwt_plain_next(&pos, end, &v) && v.type == GW_JWT_V_ARRAY,
       "plain: aud[1] an array, skipped whole");
    ok(gw_jwt_plain_next(&pos, end, &v) && v.type == GW_JWT_V_NUMBER,
       "plain: aud[2] a number");
    ok(gw_jwt_plain_next(&pos, end, &v) && v.type == GW_JWT_V_STRING
       && v.len == 1 && v.data[0] == 'd', "plain: aud[3] \"d\"");
    ok(!gw_jwt_plain_next(&pos, end, &v), "plain: aud has 4 elements");

    /* claim rules need the tree */

    {
        static const gw_jwt_claim_rule_t  rule = { S("sub"), NULL, 0 };
        gw_jwt_policy_t                   p;

        memset(&p, 0, sizeof(p));
        p.claims = &rule;
        p.nclaims = 1;

        is_int(gw_jwt_check_plain(&c, &p, NOW, &err), GW_JWT_INVALID,
               "plain: a policy with claim rules is not checked");
    }

    ok(plain_checks > 50, "the plain path ran beside %d checks",
       plain_checks);
}


static void
test_dates(void)
{
    char             buf[256];
    gw_jwt_policy_t  p;

    memset(&p, 0, sizeof(p));

    is_int(check("{}", &p), GW_JWT_OK, "no claims, empty policy");

    p.require_exp = 1;
    is_int(check("{}", &p), GW_JWT_INVALID, "exp required and missing");
    is_str(err, "missing exp claim", "error text");

    snprintf(buf, sizeof(buf), "{\"exp\":%lld}", NOW + 1);
    is_int(check(buf, &p), GW_JWT_OK, "exp one second ahead");
    snprintf(buf, sizeof(buf), "{\"exp\":%lld}", NOW);
    is_int(check(buf, &p), GW_JWT_INVALID, "exp now: expired");
    is_str(err, "token expired", "error text");
    snprintf(buf, sizeof(buf), "{\"exp\":%lld.5}", NOW);
    is_int(check(buf, &p), GW_JWT_OK, "fractional exp half a second ahead");
    snprintf(buf, sizeof(buf), "{\"exp\":1.7e9}");
    is_int(check(buf, &p), GW_JWT_INVALID, "exp 1.7e9 is now: expired");

    p.leeway = 30;
    snprintf(buf, sizeof(buf), "{\"exp\":%lld}", NOW - 29);
    is_int(check(buf, &p), GW_JWT_OK, "expired 29 s ago, leeway 30");
    snprintf(buf, sizeof(buf), "{\"exp\":%lld}", NOW - 30);
    is_int(check(buf, &p), GW_JWT_INVALID, "expired 30 s ago, leeway 30");

    is_int(check("{\"exp\":\"1900000000\"}", &p), GW_JWT_INVALID,
           "exp a string");
    is_str(err, "invalid exp claim", "error text");
    is_int(check("{\"exp\":null}", &p), GW_JWT_INVALID, "exp null");
    is_int(check("{\"exp\":true}", &p), GW_JWT_INVALID, "exp true");
    is_int(check("{\"exp\":[1900000000]}", &p), GW_JWT_INVALID,
           "exp an array");
    is_int(check("{\"exp\":9223372036854775807}", &p), GW_JWT_OK,
           "exp at LLONG_MAX does not overflow");
    is_int(check("{\"exp\":1e300}", &p), GW_JWT_OK, "exp 1e300");

    p.require_exp = 0;
    is_int(check("{}", &p), GW_JWT_OK, "exp not required");
    is_int(check("{\"exp\":\"x\"}", &p), GW_JWT_INVALID,
           "exp not required, but invalid when present");

    /* nbf: invalid when now + L < nbf */

    snprintf(buf, sizeof(buf), "{\"nbf\":%lld}", NOW + 30);
    is_int(check(buf, &p), GW_JWT_OK, "nbf now + leeway");
    snprintf(buf, sizeof(buf), "{\"nbf\":%lld}", NOW + 31);
    is_int(check(buf, &p), GW_JWT_INVALID, "nbf past now + leeway");
    is_str(err, "token not yet valid", "error text");
    is_int(check("{\"nbf\":\"0\"}", &p), GW_JWT_INVALID, "nbf a string");
    is_str(err, "invalid nbf claim", "error text");

    /* iat: invalid when in the future past the leeway */

    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW + 30);
    is_int(check(buf, &p), GW_JWT_OK, "iat now + leeway");
    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW + 31);
    is_int(check(buf, &p), GW_JWT_INVALID, "iat in the future");
    is_str(err, "token issued in the future", "error text");
    is_int(check("{\"iat\":{}}", &p), GW_JWT_INVALID, "iat an object");
    is_str(err, "invalid iat claim", "error text");

    /* max_age: now - iat > A + L is too old */

    p.max_age = 300;
    is_int(check("{}", &p), GW_JWT_INVALID, "max_age needs iat");
    is_str(err, "missing iat claim", "error text");
    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW - 330);
    is_int(check(buf, &p), GW_JWT_OK, "iat max_age + leeway ago");
    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW - 331);
    is_int(check(buf, &p), GW_JWT_INVALID, "iat one second older");
    is_str(err, "token too old", "error text");

    p.leeway = 0;
    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW - 301);
    is_int(check(buf, &p), GW_JWT_INVALID, "no leeway: 301 s old");
    snprintf(buf, sizeof(buf), "{\"iat\":%lld}", NOW + 1);
    is_int(check(buf, &p), GW_JWT_INVALID, "no leeway: iat 1 s ahead");

    is_int(gw_jwt_check(NULL, &p, NOW, &err), GW_JWT_INVALID, "NULL claims");
    is_int(check("[]", &p), GW_JWT_INVALID, "claims an array");
}


static void
test_iss_aud(void)
{
    gw_jwt_policy_t  p;
    static const gw_str_t  iss[] = { S("https://a.example"), S("urn:b") };
    static const gw_str_t  aud[] = { S("api"), S("admin") };

    memset(&p, 0, sizeof(p));
    p.issuers = iss;
    p.nissuers = 2;

    is_int(check("{\"iss\":\"urn:b\"}", &p), GW_JWT_OK, "second issuer");
    is_int(check("{\"iss\":\"https://a.example\"}", &p), GW_JWT_OK,
           "first issuer");
    is_int(check("{\"iss\":\"https://a.example/\"}", &p), GW_JWT_INVALID,
           "issuer with a trailing slash");
    is_str(err, "issuer not allowed", "error text");
    is_int(check("{\"iss\":\"urn:\"}", &p), GW_JWT_INVALID, "issuer prefix");
    is_int(check("{\"iss\":\"URN:B\"}", &p), GW_JWT_INVALID,
           "issuer in another case");
    is_int(check("{\"iss\":[\"urn:b\"]}", &p), GW_JWT_INVALID,
           "issuer in an array");
    is_int(check("{}", &p), GW_JWT_INVALID, "issuer missing");
    is_str(err, "missing iss claim", "error text");

    p.nissuers = 0;
    p.audiences = aud;
    p.naudiences = 2;

    is_int(check("{\"aud\":\"api\"}", &p), GW_JWT_OK, "aud string");
    is_int(check("{\"aud\":\"apis\"}", &p), GW_JWT_INVALID,
           "aud string, no match");
    is_str(err, "audience not allowed", "error text");
    is_int(check("{\"aud\":[\"x\",\"admin\"]}", &p), GW_JWT_OK,
           "aud array with a match");
    is_int(check("{\"aud\":[1,null,\"admin\"]}", &p), GW_JWT_OK,
           "aud array with other types before the match");
    is_int(check("{\"aud\":[\"x\",\"y\"]}", &p), GW_JWT_INVALID,
           "aud array without a match");
    is_int(check("{\"aud\":[]}", &p), GW_JWT_INVALID, "aud empty array");
    is_int(check("{\"aud\":[[\"api\"]]}", &p), GW_JWT_INVALID,
           "aud nested array");
    is_int(check("{\"aud\":42}", &p), GW_JWT_INVALID, "aud a number");
    is_int(check("{}", &p), GW_JWT_INVALID, "aud missing");
    is_str(err, "missing aud claim", "error text");
}


static void
test_claims(void)
{
    gw_jwt_policy_t      p;
    gw_jwt_claim_rule_t  r[1];
    static const gw_str_t  roles[] = { S("admin"), S("ops") };
    static const gw_str_t  nums[] = { S("42"), S("1.5"), S("true"), S("") };
    static const gw_str_t  obj[] = { S("{\"a\":1,\"b\":[1,2]}") };

    memset(&p, 0, sizeof(p));
    p.claims = r;
    p.nclaims = 1;

    r[0].path = (gw_str_t) S("sub");
    r[0].values = NULL;
    r[0].nvalues = 0;

    is_int(check("{\"sub\":\"x\"}", &p), GW_JWT_OK, "required sub present");
    is_int(check("{\"sub\":null}", &p), GW_JWT_OK, "present as null");
    is_int(check("{}", &p), GW_JWT_INVALID, "required sub missing");
    is_str(err, "required claim missing", "error text");

    r[0].path = (gw_str_t) S("realm_access.roles");
    r[0].values = roles;
    r[0].nvalues = 2;

    is_int(check("{\"realm_access\":{\"roles\":[\"user\",\"ops\"]}}", &p),
           GW_JWT_OK, "nested array holds ops");
    is_int(check("{\"realm_access\":{\"roles\":[\"user\"]}}", &p),
           GW_JWT_INVALID, "nested array without a role");
    is_str(err, "claim value not allowed", "error text");
    is_int(check("{\"realm_access\":{\"roles\":\"admin\"}}", &p), GW_JWT_OK,
           "nested string");
    is_int(check("{\"realm_access\":{\"roles\":\"admin ops\"}}", &p),
           GW_JWT_INVALID, "a string is not split on spaces");
    is_int(check("{\"realm_access\":[\"roles\"]}", &p), GW_JWT_INVALID,
           "path through an array");
    is_int(check("{\"realm_access.roles\":\"admin\"}", &p), GW_JWT_INVALID,
           "a dotted member name is not a path");

    r[0].path = (gw_str_t) S("realm_access\\.roles");
    is_int(check("{\"realm_access.roles\":\"admin\"}", &p), GW_JWT_OK,
           "escaped dot names the dotted member");

    r[0].path = (gw_str_t) S("https://example\\.com/claims.level");
    r[0].values = nums;
    r[0].nvalues = 4;

    is_int(check("{\"https://example.com/claims\":{\"level\":42}}", &p),
           GW_JWT_OK, "integer 42 renders \"42\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":1.5}}", &p),
           GW_JWT_OK, "real 1.5 renders \"1.5\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":42.0}}", &p),
           GW_JWT_OK, "real 42.0 renders \"42\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":true}}", &p),
           GW_JWT_OK, "true renders \"true\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":false}}", &p),
           GW_JWT_INVALID, "false renders \"false\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":null}}", &p),
           GW_JWT_OK, "null renders \"\"");
    is_int(check("{\"https://example.com/claims\":{\"level\":[7,42]}}", &p),
           GW_JWT_OK, "array element 42");
    is_int(check("{\"https://example.com/claims\":{\"level\":43}}", &p),
           GW_JWT_INVALID, "43 is not allowed");
    is_int(check("{\"https://example.com/claims\":{\"level\":\"42\"}}", &p),
           GW_JWT_OK, "string \"42\"");

    r[0].path = (gw_str_t) S("o");
    r[0].values = obj;
    r[0].nvalues = 1;

    is_int(check("{\"o\":{\"a\":1,\"b\":[1,2]}}", &p), GW_JWT_OK,
           "object compared as compact JSON");
    is_int(check("{\"o\":{\"b\":[1,2],\"a\":1}}", &p), GW_JWT_INVALID,
           "member order matters");
}


static void
test_scopes(void)
{
    gw_jwt_policy_t  p;
    static const gw_str_t  rw[] = { S("read"), S("write") };

    memset(&p, 0, sizeof(p));
    p.scopes = rw;
    p.nscopes = 2;

    is_int(check("{\"scope\":\"read write\"}", &p), GW_JWT_OK,
           "all: scope string");
    is_int(check("{\"scope\":\"  write   read  \"}", &p), GW_JWT_OK,
           "all: extra spaces");
    is_int(check("{\"scope\":\"read\"}", &p), GW_JWT_SCOPE,
           "all: write missing");
    is_str(err, "insufficient scope", "error text");
    is_int(check("{\"scope\":\"rea write\"}", &p), GW_JWT_SCOPE,
           "all: a prefix is not a scope");
    is_int(check("{\"scope\":\"readwrite\"}", &p), GW_JWT_SCOPE,
           "all: joined words are one scope");
    is_int(check("{\"scp\":[\"write\",\"read\"]}", &p), GW_JWT_OK,
           "all: scp array");
    is_int(check("{\"scp\":[\"read write\"]}", &p), GW_JWT_SCOPE,
           "all: an array element is one scope");
    is_int(check("{\"scp\":\"read write\"}", &p), GW_JWT_OK,
           "all: scp string");
    is_int(check("{\"scope\":\"read\",\"scp\":[\"write\"]}", &p), GW_JWT_OK,
           "all: scope and scp together");
    is_int(check("{\"scope\":[\"read\",\"write\"]}", &p), GW_JWT_OK,
           "all: scope array");
    is_int(check("{}", &p), GW_JWT_SCOPE, "all: no scope claim");
    is_int(check("{\"scope\":42}", &p), GW_JWT_INVALID, "scope a number");
    is_str(err, "invalid scope claim", "error text");
    is_int(check("{\"scope\":\"read write\",\"scp\":[\"x\",1]}", &p),
           GW_JWT_INVALID, "scp with a non-string");
    is_int(check("{\"scope\":\"\"}", &p), GW_JWT_SCOPE, "empty scope");

    p.scope_any = 1;

    is_int(check("{\"scope\":\"write\"}", &p), GW_JWT_OK, "any: write");
    is_int(check("{\"scp\":[\"x\",\"read\"]}", &p), GW_JWT_OK,
           "any: read in scp");
    is_int(check("{\"scope\":\"x y\"}", &p), GW_JWT_SCOPE, "any: none");
    is_int(check("{}", &p), GW_JWT_SCOPE, "any: no scope claim");

    /* a 401 reason wins over a 403 one */

    p.require_exp = 1;
    is_int(check("{\"scope\":\"x\"}", &p), GW_JWT_INVALID,
           "missing exp beats insufficient scope");
}


static void
test_path(void)
{
    json_t  *root;

#define PATH(s)  gw_json_path(root, s, sizeof(s) - 1)

    root = js("{\"a\":{\"b\":{\"c\":1}},\"a.b\":2,\"x\\\\y\":3,"
              "\"k.\":{\"\":4,\"z\":5},\"\":6,\"n\":[{\"m\":7}]}");

    is_int(json_integer_value(PATH("a.b.c")), 1, "a.b.c");
    ok(json_is_object(PATH("a.b")), "a.b is an object");
    is_int(json_integer_value(PATH("a\\.b")), 2, "a\\.b");
    is_int(json_integer_value(PATH("x\\\\y")), 3, "x\\\\y");
    is_int(json_integer_value(PATH("k\\..z")), 5, "k\\..z");
    ok(PATH("a.b.c.d") == NULL, "through a number");
    ok(PATH("a.x") == NULL, "missing member");
    ok(PATH("a..b") == NULL, "empty segment");
    ok(PATH(".a") == NULL, "leading dot");
    ok(PATH("a.") == NULL, "trailing dot");
    ok(PATH("k\\..") == NULL, "trailing dot after an escape");
    ok(PATH("a\\x") == NULL, "unknown escape");
    ok(PATH("a\\") == NULL, "trailing backslash");
    ok(PATH("n.0.m") == NULL, "no array indexes");
    ok(PATH("a\\.") == NULL, "escaped dot matching no member");
    ok(gw_json_path(root, NULL, 0) == NULL, "NULL path");
    ok(gw_json_path(root, "a", 0) == NULL, "empty path");
    is_int(json_integer_value(gw_json_path(root, "a.b.c.d", 5)), 1,
           "length bounds the path");

    json_decref(root);
}


static void
test_render(void)
{
    size_t    i;
    ssize_t   n, len;
    json_t   *v;
    char      buf[256];
    static const char  *cases[][3] = {
        { "\"text\"", ",", "text" },
        { "\"\"", ",", "" },
        { "\"caf\\u00e9\"", ",", "caf\xc3\xa9" },
        { "42", ",", "42" },
        { "-9223372036854775808", ",", "-9223372036854775808" },
        { "1.5", ",", "1.5" },
        { "0.1", ",", "0.1" },
        { "42.0", ",", "42" },
        { "-2.5e-7", ",", "-2.5e-07" },
        { "1e300", ",", "1e+300" },
        { "0.30000000000000004", ",", "0.30000000000000004" },
        { "true", ",", "true" },
        { "false", ",", "false" },
        { "null", ",", "" },
        { "[]", ",", "" },
        { "[\"a\",\"b\",\"c\"]", ", ", "a, b, c" },
        { "[\"a\",1,true,null,2.5]", "|", "a|1|true||2.5" },
        { "[1,[2,3],{\"k\":\"v\"}]", " ", "1 2 3 {\"k\":\"v\"}" },
        { "{\"a\":1,\"b\":[1,2],\"c\":{}}", ",",
          "{\"a\":1,\"b\":[1,2],\"c\":{}}" },
        { "{}", ",", "{}" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = js(cases[i][0]);
        len = strlen(cases[i][2]);

        memset(buf, '#', sizeof(buf));
        n = gw_json_render(v, cases[i][1], strlen(cases[i][1]), buf,
                           sizeof(buf));
        ok(n == len && memcmp(buf, cases[i][2], len) == 0,
           "render %s as \"%s\"", cases[i][0], cases[i][2]);

        n = gw_json_render(v, cases[i][1], strlen(cases[i][1]), buf, len);
        ok(n == len && memcmp(buf, cases[i][2], len) == 0,
           "render %s into exactly %zd bytes", cases[i][0], len);

        if (len > 0) {
            n = gw_json_render(v, cases[i][1], strlen(cases[i][1]), buf,
                               len - 1);
            is_int(n, -1, "render %s into %zd bytes fails", cases[i][0],
                   len - 1);
        }

        json_decref(v);
    }

    is_int(gw_json_render(NULL, ",", 1, buf, sizeof(buf)), -1, "NULL value");
}


int
main(void)
{
    test_dates();
    test_iss_aud();
    test_claims();
    test_scopes();
    test_path();
    test_render();
    test_plain();

    return done_testing();
}
