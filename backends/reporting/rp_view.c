
/*
 * Copyright (C) Tollgate
 *
 * A run as the API shows it (GET, a POST's ?wait= answer), from its
 * Redis hash's members: its state, a failure as an RFC 9457 problem,
 * a done run's signed download link while it holds.  Members the API
 * does not show (params, deliver, attempts) stay in Redis.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp.h"


/*
 * A failed run's error as an RFC 9457 problem: type, title and detail,
 * and its code (the type's last part) for the caller's switch.
 */
static json_t *
rp_run_problem(json_t *code, json_t *detail)
{
    char         type[80];
    size_t       i;
    const char  *c, *title;
    static const char  *titles[][2] = {
        { "query-refused", "The query was refused" },
        { "row-cap", "The report has too many rows" },
        { "size-cap", "The report is too large" },
        { "time-cap", "The report took too long" },
        { "query-failed", "The query failed" },
        { "store-unavailable", "The store is unavailable" },
        { "writer-failed", "The report could not be written" },
        { "stopped", "The service stopped" },
        { "interrupted", "The run was interrupted too often" },
        { "definition-invalid", "The report's definition cannot be run" }
    };

    c = json_is_string(code) ? json_string_value(code) : "run-failed";
    title = "The run failed";

    for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
        if (strcmp(titles[i][0], c) == 0) {
            title = titles[i][1];
        }
    }

    snprintf(type, sizeof(type), "urn:tollgate:problem:%.40s", c);

    return json_pack("{s:s, s:s, s:s, s:O?}", "type", type, "title", title,
                     "code", c, "detail", detail);
}


static long long
rp_run_num(json_t *h, const char *member)
{
    json_t  *v;

    v = json_object_get(h, member);

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    return json_is_string(v) ? atoll(json_string_value(v)) : 0;
}


json_t *
rp_run_json(const char *run, json_t *h)
{
    char         sig[64], link[512];
    json_t      *out;
    long long    expires;
    const char  *status, *base;

    status = json_string_value(json_object_get(h, "status"));

    out = json_pack("{s:s, s:O?, s:O?, s:s, s:I}",
                    "run", run,
                    "report", json_object_get(h, "report"),
                    "format", json_object_get(h, "format"),
                    "status", status != NULL ? status : "queued",
                    "rows", (json_int_t) rp_run_num(h, "rows"));
    if (out == NULL || status == NULL) {
        return out;
    }

    if (json_is_string(json_object_get(h, "delivery"))) {
        json_object_set(out, "delivery", json_object_get(h, "delivery"));
    }

    if (strcmp(status, "failed") == 0) {
        json_object_set_new(out, "error",
                            rp_run_problem(json_object_get(h, "code"),
                                           json_object_get(h, "error")));
    }

    if (strcmp(status, "done") == 0) {
        expires = rp_run_num(h, "expires");
        json_object_set_new(out, "bytes",
                            json_integer(rp_run_num(h, "bytes")));
        json_object_set_new(out, "expires", json_integer(expires));

        if (expires > (long long) time(NULL)) {
            rp_sign(run, expires, sig, sizeof(sig));
            base = rp.public_url != NULL ? rp.public_url : "";
            snprintf(link, sizeof(link), "%s/v1/downloads/%s?expires=%lld"
                     "&sig=%s", base, run, expires, sig);
            json_object_set_new(out, "download", json_string(link));

        } else {
            json_object_set_new(out, "expired", json_true());
        }
    }

    return out;
}
