
/*
 * Copyright (C) Tollgate
 *
 * Trace Context and request ids.  The parser is written field by field
 * from the W3C Trace Context recommendation (level 1, section 3.2): it
 * reads only lowercase hex, checks each dash, rejects version ff and
 * all-zero ids, and for a version above 00 reads the four fields it
 * knows and accepts what follows only after a dash.
 */


#include <string.h>

#include <openssl/rand.h>

#include "gw_trace.h"


static int gw_trace_unhex(const char *s, size_t n, u_char *out);
static int gw_trace_zero(const u_char *p, size_t len);


static const char  gw_trace_hexdigits[] = "0123456789abcdef";


/* lowercase hex only: the spec forbids upper case */

static int
gw_trace_unhex(const char *s, size_t n, u_char *out)
{
    int     v;
    size_t  i;
    char    c;

    for (i = 0; i < n; i++) {
        c = s[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;

        } else {
            return -1;
        }

        if (i % 2 == 0) {
            out[i / 2] = (u_char) (v << 4);

        } else {
            out[i / 2] |= (u_char) v;
        }
    }

    return 0;
}


static int
gw_trace_zero(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * Layout: "vv-" (0..2), trace id (3..34), '-' (35), parent id (36..51),
 * '-' (52), flags (53..54); a version above 00 may go on at 55 with '-'.
 */

int
gw_traceparent_parse(const char *s, size_t len, gw_traceparent_t *tp)
{
    u_char  b[1];

    if (s == NULL || len < GW_TRACEPARENT_LEN || len > GW_TRACEPARENT_MAX) {
        return -1;
    }

    if (gw_trace_unhex(s, 2, b) != 0 || b[0] == 0xff || s[2] != '-') {
        return -1;
    }

    tp->version = b[0];

    if (tp->version == 0 && len != GW_TRACEPARENT_LEN) {
        return -1;
    }

    if (len > GW_TRACEPARENT_LEN && s[GW_TRACEPARENT_LEN] != '-') {
        return -1;
    }

    if (gw_trace_unhex(s + 3, 32, tp->trace_id) != 0 || s[35] != '-'
        || gw_trace_unhex(s + 36, 16, tp->parent_id) != 0 || s[52] != '-'
        || gw_trace_unhex(s + 53, 2, b) != 0)
    {
        return -1;
    }

    tp->flags = b[0];

    if (gw_trace_zero(tp->trace_id, sizeof(tp->trace_id))
        || gw_trace_zero(tp->parent_id, sizeof(tp->parent_id)))
    {
        return -1;
    }

    return 0;
}


size_t
gw_traceparent_format(const gw_traceparent_t *tp, char *out)
{
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    gw_trace_hex(out + 3, tp->trace_id, sizeof(tp->trace_id));
    out[35] = '-';
    gw_trace_hex(out + 36, tp->parent_id, sizeof(tp->parent_id));
    out[52] = '-';
    out[53] = gw_trace_hexdigits[(tp->flags >> 4) & 0x0f];
    out[54] = gw_trace_hexdigits[tp->flags & 0x0f];
    out[55] = '\0';

    return GW_TRACEPARENT_LEN;
}


int
gw_request_id_valid(const char *s, size_t len)
{
    size_t  i;
    char    c;

    if (s == NULL || len == 0 || len > GW_REQUEST_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '.' || c == '_' || c == ':' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


void
gw_trace_hex(char *out, const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = gw_trace_hexdigits[p[i] >> 4];
        out[2 * i + 1] = gw_trace_hexdigits[p[i] & 0x0f];
    }

    out[2 * len] = '\0';
}


/*
 * One RAND_bytes call for all three; an all-zero id (a chance of 2^-64
 * for a span) is drawn again rather than sent, as the spec forbids it.
 */

int
gw_trace_random_ids(u_char *trace_id, u_char *span_id, char *request_id)
{
    int     tries;
    u_char  buf[16 + 8 + GW_REQUEST_ID_GEN / 2];

    for (tries = 0; tries < 4; tries++) {
        if (RAND_bytes(buf, sizeof(buf)) != 1) {
            return -1;
        }

        if (!gw_trace_zero(buf, 16) && !gw_trace_zero(buf + 16, 8)) {
            break;
        }
    }

    if (tries == 4) {
        return -1;
    }

    if (trace_id != NULL) {
        memcpy(trace_id, buf, 16);
    }

    if (span_id != NULL) {
        memcpy(span_id, buf + 16, 8);
    }

    if (request_id != NULL) {
        gw_trace_hex(request_id, buf + 24, GW_REQUEST_ID_GEN / 2);
    }

    return 0;
}
