
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for problem details bodies (lib/problem/gw_problem.h): the
 * detail and the request id are the parts that can carry a client's bytes
 * (a header value, a token's claim quoted in a message).  The body is
 * written into a buffer of exactly gw_problem_len() bytes, so a write
 * past it is caught by AddressSanitizer, and then:
 *   - gw_problem_write() must end exactly gw_problem_len() bytes on;
 *   - the body must parse with jansson as an object with the five members
 *     (plus the caller's extra ones), status clamped to 500 outside
 *     100..999;
 *   - a detail or request id that jansson takes as well-formed UTF-8 must
 *     come back byte for byte; one it refuses must come back with at
 *     least one U+FFFD in it.
 *
 * Input: byte 0 picks the status, the type and title, and whether extra
 * members are given; byte 1 is the request id's length (its cap here,
 * as a request id is a short token); the request id follows, then the
 * detail, which is the rest.  Cap: GW_PROBLEM_FUZZ_MAX bytes in all.
 */


#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_problem.h"


#define GW_PROBLEM_FUZZ_MAX  8192


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const json_t *body, const char *name,
    const unsigned char *s, size_t len);


static const int  statuses[8] = {
    400, 401, 403, 429, 503, 0, 1000, INT_MIN
};


static const struct {
    const char  *type;
    const char  *title;
} kinds[4] = {
    { "urn:tollgate:error:invalid-token", "Invalid token" },
    { "urn:tollgate:error:insufficient-scope", "Insufficient scope" },
    { "urn:tollgate:error:validation", "Request \"body\" \\ invalid" },
    { "about:blank", "" }
};


static const char  extra[] =
    "\"errors\":[{\"field\":\"name\",\"reason\":\"too long\"}]";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             status;
    size_t          len, id_len;
    json_t         *body, *v;
    gw_problem_t    p;
    unsigned char  *buf, *end;

    if (size < 2 || size > GW_PROBLEM_FUZZ_MAX) {
        return 0;
    }

    memset(&p, 0, sizeof(gw_problem_t));

    p.status = statuses[data[0] & 0x07];
    p.type = kinds[(data[0] >> 3) & 0x03].type;
    p.title = kinds[(data[0] >> 3) & 0x03].title;

    if (data[0] & 0x20) {
        p.extra = (const unsigned char *) extra;
        p.extra_len = sizeof(extra) - 1;
    }

    id_len = data[1];

    if (id_len > size - 2) {
        id_len = size - 2;
    }

    p.request_id = data + 2;
    p.request_id_len = id_len;
    p.detail = data + 2 + id_len;
    p.detail_len = size - 2 - id_len;

    len = gw_problem_len(&p);

    buf = malloc(len);
    if (buf == NULL) {
        abort();
    }

    end = gw_problem_write(buf, &p);

    if (end != buf + len) {
        abort();
    }

    body = json_loadb((const char *) buf, len,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);

    if (!json_is_object(body)
        || json_object_size(body) != (p.extra != NULL ? 6u : 5u))
    {
        abort();
    }

    status = (p.status >= 100 && p.status <= 999) ? p.status : 500;

    v = json_object_get(body, "status");

    if (!json_is_integer(v) || json_integer_value(v) != status) {
        abort();
    }

    check_string(body, "type", (const unsigned char *) p.type,
                 strlen(p.type));
    check_string(body, "title", (const unsigned char *) p.title,
                 strlen(p.title));
    check_string(body, "detail", p.detail, p.detail_len);
    check_string(body, "request_id", p.request_id, p.request_id_len);

    if (p.extra != NULL && !json_is_array(json_object_get(body, "errors"))) {
        abort();
    }

    json_decref(body);
    free(buf);

    return 0;
}


/*
 * The member name of body must be a string equal to s when s is
 * well-formed UTF-8 (as jansson judges it, independently of gw_problem.c's
 * decoder), and one that holds U+FFFD otherwise.
 */

static void
check_string(const json_t *body, const char *name, const unsigned char *s,
    size_t len)
{
    size_t       i, out_len;
    json_t      *v, *ref;
    const char  *out;

    v = json_object_get(body, name);

    if (!json_is_string(v)) {
        abort();
    }

    out = json_string_value(v);
    out_len = json_string_length(v);

    ref = json_stringn((const char *) s, len);

    if (ref != NULL) {
        json_decref(ref);

        if (out_len != len || memcmp(out, s, len) != 0) {
            abort();
        }

        return;
    }

    for (i = 0; i + 3 <= out_len; i++) {
        if (memcmp(out + i, "\xef\xbf\xbd", 3) == 0) {
            return;
        }
    }

    abort();
}
