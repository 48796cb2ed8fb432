
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the trace context and request id rules
 * (lib/trace/gw_trace.h), which judge what every client sends in
 * traceparent and X-Request-ID.  Each answer is checked against an
 * independent reading of the rules:
 *   - a parsed traceparent has ids that are not all zero, a version that
 *     is not ff, and formats back to 55 characters that parse again to
 *     the same ids and flags; for version 00 the formatted text is the
 *     input itself;
 *   - a valid request id is 1 to GW_REQUEST_ID_MAX bytes of
 *     [A-Za-z0-9._:-].
 *
 * Cap: GW_TRACEPARENT_MAX bytes and a little more.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_trace.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t            i;
    int               valid;
    char              out[GW_TRACEPARENT_LEN + 1];
    const char       *s;
    gw_traceparent_t  tp, again;
    static const u_char  zero[16];

    if (size > GW_TRACEPARENT_MAX + 16) {
        return 0;
    }

    s = (const char *) data;

    if (gw_traceparent_parse(s, size, &tp) == 0) {

        if (tp.version == 0xff
            || memcmp(tp.trace_id, zero, 16) == 0
            || memcmp(tp.parent_id, zero, 8) == 0)
        {
            abort();
        }

        if (gw_traceparent_format(&tp, out) != GW_TRACEPARENT_LEN
            || strlen(out) != GW_TRACEPARENT_LEN
            || gw_traceparent_parse(out, GW_TRACEPARENT_LEN, &again) != 0
            || memcmp(again.trace_id, tp.trace_id, 16) != 0
            || memcmp(again.parent_id, tp.parent_id, 8) != 0
            || (again.flags & GW_TRACE_SAMPLED)
               != (tp.flags & GW_TRACE_SAMPLED))
        {
            abort();
        }

        if (tp.version == 0
            && (size != GW_TRACEPARENT_LEN || memcmp(out, s, size) != 0))
        {
            abort();
        }
    }

    valid = size >= 1 && size <= GW_REQUEST_ID_MAX;

    for (i = 0; valid && i < size; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
              || s[i] == ':' || s[i] == '-'))
        {
            valid = 0;
        }
    }

    if (gw_request_id_valid(s, size) != valid) {
        abort();
    }

    return 0;
}
