
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the intrinsic functions of the workflow language
 * (lib/asl/gw_asl.h: gw_asl_intrinsic_is_call, _check, _eval).  The
 * input is a call, up to a newline or its end; after the newline, a
 * JSON document as the state's input (the fixed one below when absent,
 * not JSON, past GW_ASL_PAYLOAD_MAX or nested past
 * GW_ASL_JSON_DEPTH_MAX).  The context object is fixed.  Checked
 * against the contract:
 *
 *   - what check accepts looks like a call (is_call); what does not
 *     look like one, check and eval refuse;
 *   - check refuses with States.InvalidDefinition, and what it refuses
 *     eval refuses too (a call of literals is evaluated by check);
 *   - what check accepts, eval answers with a value, or with an error
 *     named States.* that is not States.InvalidDefinition; never NULL
 *     without err.error set; the error and cause of a UTF-8 call are
 *     UTF-8 (results and histories carry them as JSON strings);
 *   - a value is JSON that jansson writes and reads back equal, at most
 *     GW_ASL_PAYLOAD_MAX bytes of it, and the same value twice unless
 *     the call draws at random (UUID, MathRandom);
 *   - the input is left as it was.
 *
 * Everything made is freed, so that LeakSanitizer checks it.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "asl_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_input[] =
    "{\"s\": \"a,b;;c\", \"name\": \"Ann\", \"n\": 3, \"f\": 2.5,"
    " \"neg\": -1.5, \"big\": 9007199254740993, \"t\": true, \"z\": null,"
    " \"arr\": [1, 2, 2, \"x\", {\"k\": 1}, [3]], \"nums\": [5, 1, 4],"
    " \"obj\": {\"a\": {\"b\": 1}, \"c\": [1]},"
    " \"other\": {\"a\": {\"d\": 2}, \"e\": null},"
    " \"json\": \"{\\\"x\\\": [1, {\\\"y\\\": \\\"z\\\"}]}\","
    " \"b64\": \"aGVsbG8gd29ybGQ=\", \"utf\": \"\\u00e9\\u4e2d\\ud83d\\ude00\","
    " \"empty\": \"\", \"long\": \"0123456789012345678901234567890123456789\","
    " \"algo\": \"SHA-256\", \"items\": [{\"v\": 1}, {\"v\": 2}]}";

static const char  fuzz_ctx[] =
    "{\"Execution\": {\"Id\": \"arn:aws:states:::execution:m:e\","
    " \"Input\": {\"k\": [1, 2]}, \"Name\": \"e\","
    " \"StartTime\": \"2026-01-01T00:00:00Z\", \"RedriveCount\": 0},"
    " \"State\": {\"Name\": \"S\", \"EnteredTime\": \"2026-01-01T00:00:01Z\","
    " \"RetryCount\": 1}, \"StateMachine\": {\"Id\": \"m\", \"Name\": \"m\"},"
    " \"Task\": {\"Token\": \"tok\"},"
    " \"Map\": {\"Item\": {\"Index\": 2, \"Value\": {\"x\": [true]}}}}";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             is, rc;
    char           *call;
    size_t          clen;
    json_t         *in, *orig, *ctx, *v, *again;
    gw_asl_err_t    err;

    call = fuzz_line_doc(data, size, fuzz_input, &clen, &in);
    if (call == NULL) {
        return 0;
    }

    fuzz_text_utf8 = fuzz_utf8(call, clen);

    ctx = json_loads(fuzz_ctx, 0, NULL);
    orig = json_deep_copy(in);

    if (in == NULL || ctx == NULL || orig == NULL) {
        abort();
    }

    is = gw_asl_intrinsic_is_call(call);

    if (is != 0 && is != 1) {
        abort();
    }

    memset(&err, 0, sizeof(gw_asl_err_t));
    rc = gw_asl_intrinsic_check(call, &err);

    if (rc == 0) {
        if (!is) {
            abort();                /* accepted what is not a call */
        }

    } else if (rc != -1 || !fuzz_err_set(&err)
               || strcmp(err.error, GW_ASL_E_INVALID) != 0)
    {
        abort();
    }

    memset(&err, 0, sizeof(gw_asl_err_t));
    v = gw_asl_intrinsic_eval(call, in, ctx, &err);

    if (v == NULL) {
        if (!fuzz_err_set(&err) || strncmp(err.error, "States.", 7) != 0
            || strcmp(err.error, GW_ASL_E_INVALID) == 0)
        {
            abort();
        }

    } else {
        if (rc != 0) {
            abort();                /* eval ran what check refused */
        }

        if (fuzz_size(v) > GW_ASL_PAYLOAD_MAX) {
            abort();
        }

        fuzz_json_ok(v);

        if (strstr(call, "UUID") == NULL && strstr(call, "Random") == NULL) {
            memset(&err, 0, sizeof(gw_asl_err_t));
            again = gw_asl_intrinsic_eval(call, in, ctx, &err);

            if (again == NULL || !json_equal(again, v)) {
                abort();
            }

            json_decref(again);
        }

        json_decref(v);
    }

    if (!json_equal(in, orig)) {
        abort();                    /* the input was changed */
    }

    json_decref(in);
    json_decref(orig);
    json_decref(ctx);
    free(call);

    return 0;
}
