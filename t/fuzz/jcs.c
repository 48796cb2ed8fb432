
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for RFC 8785 canonical JSON (lib/jcs/gw_jcs.h), which the
 * audit service applies to every record a client sends.  The input is
 * JSON text of at most GW_JCS_MAX_LEN bytes.  A rejected text must come
 * back with -1, a reason and no buffer.  A canonicalized one must:
 *   - hold no raw byte below 0x20 (controls are escaped), and end in NUL;
 *   - be a fixed point: canonicalizing it again gives the same bytes;
 *   - mean the same JSON as the input: both parsed with jansson (numbers
 *     as doubles) compare equal with json_equal(), so every number was
 *     written with digits that read back to the same double and every
 *     string survived its escaping.
 * The first eight bytes of the input, taken as a double, also go through
 * gw_jcs_number(): a finite one must read back with strtod() exactly and
 * fit GW_JCS_NUMBER_LEN.
 */


#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jcs.h"


#define GW_FUZZ_JSON_FLAGS  (JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL       \
                             | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_number(const uint8_t *data);
static void check_output(const uint8_t *data, size_t size,
    const unsigned char *out, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          len;
    const char     *err;
    unsigned char  *out;

    if (size >= 8) {
        check_number(data);
    }

    if (size > GW_JCS_MAX_LEN) {
        return 0;
    }

    err = NULL;
    out = (unsigned char *) "";

    rc = gw_jcs_canonicalize(data, size, &out, &len, &err);

    if (rc != 0) {
        if (rc != -1 || err == NULL || out != NULL) {
            abort();
        }

        return 0;
    }

    check_output(data, size, out, len);

    free(out);

    return 0;
}


static void
check_number(const uint8_t *data)
{
    int     n;
    char    buf[GW_JCS_NUMBER_LEN];
    double  d;

    memcpy(&d, data, sizeof(d));

    n = gw_jcs_number(d, buf);

    if (isnan(d) || isinf(d)) {
        if (n != -1) {
            abort();
        }

        return;
    }

    if (n <= 0 || n >= GW_JCS_NUMBER_LEN || (size_t) n != strlen(buf)
        || strtod(buf, NULL) != d)
    {
        abort();
    }
}


static void
check_output(const uint8_t *data, size_t size, const unsigned char *out,
    size_t len)
{
    size_t          i, len2;
    json_t         *a, *b;
    const char     *err;
    unsigned char  *again;

    if (out[len] != '\0') {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (out[i] < 0x20) {
            abort();
        }
    }

    if (gw_jcs_canonicalize(out, len, &again, &len2, &err) != 0
        || len2 != len || memcmp(again, out, len) != 0)
    {
        abort();
    }

    free(again);

    a = json_loadb((const char *) data, size, GW_FUZZ_JSON_FLAGS, NULL);
    b = json_loadb((const char *) out, len, GW_FUZZ_JSON_FLAGS, NULL);

    if (a == NULL || b == NULL || !json_equal(a, b)) {
        abort();
    }

    json_decref(a);
    json_decref(b);
}
