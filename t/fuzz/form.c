
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the strict OAuth form parser (lib/oauth/gw_form.h),
 * which reads every form a client posts to the identity service.  Byte
 * 0 picks the Content-Type (bit 0: the form type, else JSON) and the
 * cap (bit 1: the whole input, else half of it); the rest is the body.
 * Each answer is checked against the header's contract:
 *   - a refusal has a static reason; a body past the cap, or of another
 *     type, is always refused;
 *   - an accepted form has at most GW_FORM_PARAMS pairs, each with a
 *     name and an "=", whose name and value gw_form_decode() accepts;
 *     gw_form_get() finds each name whose value is not empty, and, but
 *     for "resource", finds exactly that value (so a repeat with
 *     another value is caught).
 *
 * Cap: none beyond libFuzzer's -max_len.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_form.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *name, *value;
    size_t       len, max, pairs;
    ssize_t      n;
    gw_form_t   *form;
    const char  *ct, *err, *p, *end, *amp, *eq, *got;

    if (size < 1) {
        return 0;
    }

    ct = (data[0] & 1) ? "application/x-www-form-urlencoded"
                       : "application/json";
    len = size - 1;
    max = (data[0] & 2) ? len : len / 2;
    p = (const char *) data + 1;
    end = p + len;

    err = NULL;
    form = gw_form_parse(ct, p, len, max, &err);

    if (form == NULL) {
        if (err == NULL) {
            abort();                /* out of memory: not in a fuzz run */
        }

        return 0;
    }

    if (!(data[0] & 1) || len > max) {
        abort();
    }

    name = malloc(len + 1);
    value = malloc(len + 1);

    if (name == NULL || value == NULL) {
        abort();
    }

    /* walk the raw pairs again, as the contract describes them */

    pairs = 0;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        amp = (amp != NULL) ? amp : end;
        eq = memchr(p, '=', amp - p);

        if (eq == NULL || eq == p || ++pairs > GW_FORM_PARAMS) {
            abort();
        }

        n = gw_form_decode(name, p, eq - p);

        if (n < 0 || gw_form_decode(value, eq + 1, amp - eq - 1) < 0) {
            abort();
        }

        got = gw_form_get(form, name);

        if (value[0] == '\0') {
            /* absent, unless a "resource" with a value comes elsewhere */

        } else if (got == NULL) {
            abort();

        } else if (strcmp(name, "resource") != 0 && strcmp(got, value) != 0)
        {
            abort();
        }

        p = amp + 1;
    }

    free(name);
    free(value);
    gw_form_free(form);

    return 0;
}
