
/*
 * Copyright (C) Tollgate
 *
 * The strict OAuth form parser (lib/oauth): the media type and its
 * charset parameter, decoding ("+", escapes, "%26" as data), a parameter
 * without a value as absent, "resource" repeated, and each refusal: a
 * bad or NUL escape, a raw NUL, an empty pair, a trailing "&", a pair
 * without "=" or a name, a parameter twice (also once escaped), one pair
 * past GW_FORM_PARAMS, a body past the cap, another media type.
 */


#include <stdio.h>
#include <string.h>

#include "gw_form.h"
#include "tap.h"


#define FORM  "application/x-www-form-urlencoded"


static gw_form_t *
parse(const char *s, const char **err)
{
    return gw_form_parse(FORM, s, strlen(s), 4096, err);
}


static void
err_is(const char *ct, const char *s, size_t len, size_t max,
    const char *want, const char *name)
{
    gw_form_t   *form;
    const char  *err;

    err = "unset";
    form = gw_form_parse(ct, s, len, max, &err);

    ok(form == NULL && err != NULL && strcmp(err, want) == 0, "%s: %s",
       name, form == NULL ? (err ? err : "(null)") : "accepted");

    gw_form_free(form);
}


static void
test_media(void)
{
    ok(gw_form_media(FORM), "the type");
    ok(gw_form_media("Application/X-WWW-Form-Urlencoded"), "any case");
    ok(gw_form_media(FORM " ; charset=UTF-8 "), "a charset");
    ok(gw_form_media(FORM ";charset=\"utf-8\""), "a quoted charset");
    ok(!gw_form_media(NULL), "none");
    ok(!gw_form_media("application/json"), "JSON");
    ok(!gw_form_media(FORM "x"), "a longer type");
    ok(!gw_form_media(FORM "; boundary=x"), "another parameter");
    ok(!gw_form_media(FORM "; charset=\"\""), "an empty quoted charset");
    ok(!gw_form_media(FORM "; charset=utf-8; x=y"), "two parameters");
}


static void
test_parse(void)
{
    char         big[64 * 16];
    size_t       i, n;
    gw_form_t   *form;
    const char  *err;

    form = parse("grant_type=client_credentials&scope=a+b%20c"
                 "&x=%26%3D&empty=&resource=r1&resource=r%32", &err);
    ok(form != NULL, "a form");
    is_str(gw_form_get(form, "grant_type"), "client_credentials", "a value");
    is_str(gw_form_get(form, "scope"), "a b c", "+ and %%20");
    is_str(gw_form_get(form, "x"), "&=", "escaped separators are data");
    ok(gw_form_get(form, "empty") == NULL, "no value: absent");
    ok(gw_form_get(form, "missing") == NULL, "absent");
    is_str(gw_form_nth(form, "resource", 0), "r1", "resource 0");
    is_str(gw_form_nth(form, "resource", 1), "r2", "resource 1");
    ok(gw_form_nth(form, "resource", 2) == NULL, "resource 2");
    gw_form_free(form);

    form = parse("", &err);
    ok(form != NULL && gw_form_get(form, "a") == NULL, "an empty form");
    gw_form_free(form);

    err_is("text/plain", "a=b", 3, 100,
           "the body must be application/x-www-form-urlencoded", "media");
    err_is(FORM, "a=bcdef", 7, 6, "the form is too large", "past the cap");
    err_is(FORM, "a=b&&c=d", 8, 100, "an empty parameter in the form",
           "&&");
    err_is(FORM, "&a=b", 4, 100, "an empty parameter in the form",
           "a leading &");
    err_is(FORM, "a=b&", 4, 100, "an empty parameter in the form",
           "a trailing &");
    err_is(FORM, "a=b&c", 5, 100,
           "a parameter of the form has no name or no =", "no =");
    err_is(FORM, "=b", 2, 100,
           "a parameter of the form has no name or no =", "no name");
    err_is(FORM, "a=%2", 4, 100, "bad percent-encoding in the form",
           "a short escape");
    err_is(FORM, "a=%zz", 5, 100, "bad percent-encoding in the form",
           "not hex");
    err_is(FORM, "a=%00", 5, 100, "bad percent-encoding in the form",
           "an escaped NUL");
    err_is(FORM, "a=b\0c", 5, 100, "bad percent-encoding in the form",
           "a raw NUL");
    err_is(FORM, "scope=a&scope=b", 15, 100, "a parameter is repeated",
           "twice");
    err_is(FORM, "scope=a&sc%6Fpe=b", 17, 100, "a parameter is repeated",
           "twice, once escaped");

    n = 0;

    for (i = 0; i <= GW_FORM_PARAMS; i++) {
        n += snprintf(big + n, sizeof(big) - n, "%sp%zu=v", i ? "&" : "",
                      i);
    }

    err_is(FORM, big, n, sizeof(big), "too many parameters in the form",
           "one pair too many");

    n = strrchr(big, '&') - big;
    form = gw_form_parse(FORM, big, n, sizeof(big), &err);
    ok(form != NULL && gw_form_get(form, "p31") != NULL,
       "GW_FORM_PARAMS pairs");
    gw_form_free(form);
}


static void
test_decode(void)
{
    char  out[16];

    is_int(gw_form_decode(out, "a%41+b", 6), 4, "decoded length");
    is_str(out, "aA b", "decoded");
    is_int(gw_form_decode(out, "%4", 2), -1, "a short escape");
    is_int(gw_form_decode(out, "", 0), 0, "empty");
}


int
main(void)
{
    test_media();
    test_parse();
    test_decode();

    return done_testing();
}
