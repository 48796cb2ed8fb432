
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the paths of the workflow language (lib/asl/gw_asl.h:
 * gw_asl_path_check, _get, _put).  The input is a path, up to a newline
 * or its end; after the newline, a JSON document to read it over (the
 * fixed one below when absent, not JSON, past GW_ASL_PAYLOAD_MAX or
 * nested past GW_ASL_JSON_DEPTH_MAX, the caps a payload has).  The
 * context object is fixed.  Checked against the contract:
 *
 *   - a Reference Path is a Path; a path refused as a Path is refused
 *     by get and put too, and get and put never return NULL without
 *     err.error set; the error and cause of a UTF-8 path are UTF-8
 *     (results and histories carry them as JSON strings);
 *   - what a Reference Path selects is one node of the document (or of
 *     the context for "$$..."), never an array made by the path: put
 *     back where it was read, it gives the same document; "$$.x" reads
 *     what "$.x" reads over the context;
 *   - put at a Reference Path gives a copy of the document where get
 *     reads the value put, leaves the document as it was, succeeds
 *     wherever get succeeded, and refuses only with
 *     States.ResultPathMatchFailure or States.Runtime; "$$..." it
 *     refuses;
 *   - every result is JSON that jansson writes and reads back equal;
 *     what get selects is at most GW_ASL_PAYLOAD_MAX bytes of it (a
 *     payload's cap, whatever the path repeats), a put's copy at most
 *     the document, the value and the names the path adds;
 *   - get gives the same answer twice.
 *
 * Everything made is freed, so that LeakSanitizer checks it.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "asl_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_doc[] =
    "{\"a\": {\"b\": [1, 2.5, {\"c\": \"x\"}], \"d\": null, \"e\": true},"
    " \"arr\": [{\"name\": \"n1\", \"v\": 3}, {\"name\": \"n2\", \"v\": -1},"
    " {\"name\": \"n3\", \"v\": 10, \"tags\": [\"t\"]}], \"s\": \"str\","
    " \"n\": 42, \"f\": 0.5, \"empty\": {}, \"nil\": [],"
    " \"sp ace\": 1, \"q'uote\": 2, \"u\\u00e9\": \"\\u00e9\","
    " \"nest\": {\"nest\": {\"nest\": {\"leaf\": [[0, 1], [2, 3]]}}}}";

static const char  fuzz_ctx[] =
    "{\"Execution\": {\"Id\": \"arn:aws:states:::execution:m:e\","
    " \"Input\": {\"k\": [1, 2]}, \"Name\": \"e\","
    " \"StartTime\": \"2026-01-01T00:00:00Z\", \"RedriveCount\": 0},"
    " \"State\": {\"Name\": \"S\", \"EnteredTime\": \"2026-01-01T00:00:01Z\","
    " \"RetryCount\": 1}, \"StateMachine\": {\"Id\": \"m\", \"Name\": \"m\"},"
    " \"Task\": {\"Token\": \"tok\"},"
    " \"Map\": {\"Item\": {\"Index\": 2, \"Value\": {\"x\": [true]}}}}";

static const char  fuzz_value[] = "{\"put\": [1, \"two\", {\"3\": null}]}";


/* 1 when v is a node of tree (equal to one) */

static int
fuzz_has_node(json_t *tree, json_t *v)
{
    size_t       i;
    json_t      *m;
    const char  *k;

    if (tree == v || json_equal(tree, v)) {
        return 1;
    }

    if (json_is_object(tree)) {
        json_object_foreach(tree, k, m) {
            if (fuzz_has_node(m, v)) {
                return 1;
            }
        }

    } else if (json_is_array(tree)) {
        json_array_foreach(tree, i, m) {
            if (fuzz_has_node(m, v)) {
                return 1;
            }
        }
    }

    return 0;
}


/* put at the Reference Path ref, $-rooted; got: what get read there */

static void
fuzz_put(const char *ref, json_t *doc, json_t *ctx, json_t *got)
{
    json_t        *value, *out, *back, *orig;
    gw_asl_err_t   err;

    value = json_loads(fuzz_value, 0, NULL);
    orig = json_deep_copy(doc);

    if (value == NULL || orig == NULL) {
        abort();
    }

    memset(&err, 0, sizeof(gw_asl_err_t));

    out = gw_asl_path_put(ref, doc, value, &err);

    if (!json_equal(doc, orig)) {
        abort();                    /* the input was changed */
    }

    if (out == NULL) {
        if (!fuzz_err_set(&err)
            || (strcmp(err.error, GW_ASL_E_RESULT_PATH) != 0
                && strcmp(err.error, GW_ASL_E_RUNTIME) != 0)
            || got != NULL)
        {
            abort();
        }

    } else {
        fuzz_json_ok(out);

        if (fuzz_size(out) > fuzz_size(doc) + fuzz_size(value)
                             + 3 * strlen(ref) + 16)
        {
            abort();
        }

        memset(&err, 0, sizeof(gw_asl_err_t));

        back = gw_asl_path_get(ref, out, ctx, &err);

        if (back == NULL || !json_equal(back, value)) {
            abort();                /* get does not read what put wrote */
        }

        json_decref(back);
        json_decref(out);
    }

    /* what get read, put back where it was: the same document */

    if (got != NULL) {
        memset(&err, 0, sizeof(gw_asl_err_t));

        out = gw_asl_path_put(ref, doc, got, &err);

        if (out == NULL || !json_equal(out, doc)) {
            abort();
        }

        json_decref(out);
    }

    json_decref(value);
    json_decref(orig);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             any, ref;
    char           *path, *alt;
    size_t          plen;
    json_t         *doc, *ctx, *got, *again, *other;
    gw_asl_err_t    err;

    path = fuzz_line_doc(data, size, fuzz_doc, &plen, &doc);
    if (path == NULL) {
        return 0;
    }

    fuzz_text_utf8 = fuzz_utf8(path, plen);

    ctx = json_loads(fuzz_ctx, 0, NULL);

    if (doc == NULL || ctx == NULL) {
        abort();
    }

    memset(&err, 0, sizeof(gw_asl_err_t));
    any = gw_asl_path_check(path, GW_ASL_PATH_ANY, &err);

    if (any != 0 && (any != -1 || !fuzz_err_set(&err))) {
        abort();
    }

    memset(&err, 0, sizeof(gw_asl_err_t));
    ref = gw_asl_path_check(path, GW_ASL_PATH_REFERENCE, &err);

    if (ref != 0 && (ref != -1 || !fuzz_err_set(&err))) {
        abort();
    }

    if (ref == 0 && any != 0) {
        abort();                    /* a Reference Path is a Path */
    }

    memset(&err, 0, sizeof(gw_asl_err_t));
    got = gw_asl_path_get(path, doc, ctx, &err);

    if (got == NULL) {
        if (!fuzz_err_set(&err)) {
            abort();
        }

    } else {
        if (any != 0 || fuzz_size(got) > GW_ASL_PAYLOAD_MAX) {
            abort();                /* an invalid path read something, or
                                       a selection past the payload cap */
        }

        fuzz_json_ok(got);

        memset(&err, 0, sizeof(gw_asl_err_t));
        again = gw_asl_path_get(path, doc, ctx, &err);

        if (again == NULL || !json_equal(again, got)) {
            abort();
        }

        json_decref(again);
    }

    if (ref == 0 && got != NULL) {
        /* one node of what the path reads, never an array it made */

        if (!fuzz_has_node(path[1] == '$' ? ctx : doc, got)) {
            abort();
        }
    }

    if (ref == 0 && path[1] == '$') {
        /* "$$.x" reads "$.x" over the context; put refuses it */

        alt = path + 1;

        memset(&err, 0, sizeof(gw_asl_err_t));
        other = gw_asl_path_get(alt, ctx, doc, &err);

        if ((other == NULL) != (got == NULL)
            || (other != NULL && !json_equal(other, got)))
        {
            abort();
        }

        json_decref(other);

        memset(&err, 0, sizeof(gw_asl_err_t));
        other = gw_asl_path_put(path, doc, doc, &err);

        if (other != NULL || !fuzz_err_set(&err)) {
            abort();
        }

    } else if (ref == 0) {
        fuzz_put(path, doc, ctx, got);

    } else {
        memset(&err, 0, sizeof(gw_asl_err_t));
        other = gw_asl_path_put(path, doc, doc, &err);

        if (other != NULL || !fuzz_err_set(&err)) {
            abort();                /* put at a path that is no reference */
        }
    }

    json_decref(got);
    json_decref(doc);
    json_decref(ctx);
    free(path);

    return 0;
}
