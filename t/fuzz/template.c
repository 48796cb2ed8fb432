
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the templates (lib/template/gw_template.h).  Byte 0
 * gives the options: bits 0-1 the context (text, html, json, url), bit 2
 * one_line, bit 3 a small output cap (4 KiB) and run cap (64); then the
 * template, up to a NUL byte; after it, the data as JSON (a fixed object
 * when absent or not JSON).  A compile error must point inside the
 * template (or just past its end); a render must return exactly len
 * bytes without a NUL, within the cap, valid UTF-8, and in the json
 * context text that jansson parses; an error's pointer is either empty
 * or a JSON pointer ("/...").
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_data[] =
    "{\"name\": \"Ann <a&b> \\\"q\\\"\", \"n\": 1.5, \"t\": true, "
    "\"z\": null, \"items\": [{\"name\": \"x\"}, {\"name\": \"{{name}}\"}, "
    "3], \"o\": {\"a\": {\"b\": \"\\u00e9\\n\"}}, \"e\": []}";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            *out;
    size_t           tlen, len, cap;
    json_t          *d, *doc;
    gw_tmpl_t       *t;
    const uint8_t   *nul;
    gw_tmpl_err_t    err;
    gw_tmpl_opts_t   opts;

    if (size < 1 || size > GW_TMPL_SIZE_MAX + 4096) {
        return 0;
    }

    memset(&opts, 0, sizeof(opts));
    opts.context = data[0] & 3;
    opts.one_line = (data[0] >> 2) & 1;

    if (data[0] & 8) {
        opts.output_max = 4096;
        opts.iter_max = 64;
    }

    cap = (opts.output_max != 0) ? opts.output_max : GW_TMPL_OUTPUT_MAX;

    data++;
    size--;

    nul = memchr(data, '\0', size);
    tlen = (nul != NULL) ? (size_t) (nul - data) : size;

    d = NULL;

    if (nul != NULL) {
        d = json_loadb((const char *) nul + 1, size - tlen - 1,
                       JSON_DECODE_ANY, NULL);
    }

    if (d == NULL) {
        d = json_loads(fuzz_data, 0, NULL);
        if (d == NULL) {
            abort();
        }
    }

    t = gw_tmpl_compile((const char *) data, tlen, &opts, &err);

    if (t == NULL) {
        if (err.offset > tlen && !(tlen > GW_TMPL_SIZE_MAX
                                   && err.offset == GW_TMPL_SIZE_MAX))
        {
            abort();
        }

        json_decref(d);
        return 0;
    }

    if (gw_tmpl_render(t, d, &out, &len, &err) == 0) {
        if (out == NULL || len > cap || strlen(out) != len
            || gw_tmpl_utf8_check((unsigned char *) out, len) != len)
        {
            abort();
        }

        if (opts.context == GW_TMPL_JSON) {
            doc = json_loadb(out, len, JSON_DECODE_ANY, NULL);
            if (doc == NULL) {
                abort();
            }

            json_decref(doc);
        }

        free(out);

    } else if (err.offset > tlen
               || (err.pointer[0] != '\0' && err.pointer[0] != '/'))
    {
        abort();
    }

    gw_tmpl_free(t);
    json_decref(d);

    return 0;
}
