
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the Idempotency-Key parser and the stored headers'
 * walker (lib/idem/gw_idem.h).  Byte 0 gives the cap (1 + byte * 4,
 * at most GW_IDEM_KEY_MAX); the rest is a header value.  A key taken must
 * be 1 to cap bytes of printable ASCII, and quoting it again (escaping
 * quotes and backslashes) must parse back to the same key: one key, one
 * spelling.  The same bytes are then walked as a stored headers string,
 * whose pairs must stay inside the input.  The output buffer is exactly
 * cap bytes, so a write past it is caught by AddressSanitizer.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_idem.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                max, len, len2, i, nl, vl;
    unsigned char        *out, *out2, *q, *p2;
    const unsigned char  *p, *end, *name, *value;

    if (size < 1 || size > 4 * GW_IDEM_KEY_MAX) {
        return 0;
    }

    max = 1 + (size_t) data[0] * 4;
    if (max > GW_IDEM_KEY_MAX) {
        max = GW_IDEM_KEY_MAX;
    }

    data++;
    size--;

    out = malloc(max);
    out2 = malloc(max);
    q = malloc(2 * max + 2);

    if (out == NULL || out2 == NULL || q == NULL) {
        abort();
    }

    rc = gw_idem_key_parse(data, size, max, out, &len, NULL);

    if (rc == GW_IDEM_OK) {
        if (len == 0 || len > max) {
            abort();
        }

        p2 = q;
        *p2++ = '"';

        for (i = 0; i < len; i++) {
            if (out[i] < 0x20 || out[i] > 0x7e) {
                abort();
            }

            if (out[i] == '"' || out[i] == '\\') {
                *p2++ = '\\';
            }

            *p2++ = out[i];
        }

        *p2++ = '"';

        if (gw_idem_key_parse(q, p2 - q, max, out2, &len2, NULL)
            != GW_IDEM_OK
            || len2 != len || memcmp(out, out2, len) != 0)
        {
            abort();
        }

    } else if (rc != GW_IDEM_MALFORMED && rc != GW_IDEM_TOO_LONG) {
        abort();
    }

    free(out);
    free(out2);
    free(q);

    p = data;
    end = data + size;

    while ((rc = gw_idem_headers_next(&p, end, &name, &nl, &value, &vl))
           == 1)
    {
        if (name < data || name + nl > end || value + vl > end || p > end
            || nl == 0)
        {
            abort();
        }
    }

    if (rc != 0 && rc != -1) {
        abort();
    }

    return 0;
}
