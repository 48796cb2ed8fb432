
/*
 * Copyright (C) Tollgate
 *
 * What the workflow language's fuzz drivers (asl_path.c, asl_intrinsic.c,
 * asl_def.c) check alike: a value's size up to just past the payload
 * cap, its depth, that jansson writes and reads it back equal, that text
 * is UTF-8 (no overlong form, surrogate or byte past U+10FFFF), and that
 * an error is filled in.  Static inline: each driver is its own program
 * and uses some of them.  fuzz_text_utf8 is set by the driver: 1 when
 * its input was UTF-8, so an error's strings must be too.
 */


#ifndef _ASL_FUZZ_H_INCLUDED_
#define _ASL_FUZZ_H_INCLUDED_


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"


static int  fuzz_text_utf8;


static inline int
fuzz_count(const char *buf, size_t size, void *data)
{
    size_t  *n;

    n = data;
    *n += size;

    return (*n > GW_ASL_PAYLOAD_MAX) ? -1 : 0;
}


/* bytes of v as compact JSON, counted up to just past the cap */

static inline size_t
fuzz_size(json_t *v)
{
    size_t  n;

    n = 0;

    (void) json_dump_callback(v, fuzz_count, &n,
                              JSON_COMPACT | JSON_ENCODE_ANY);

    return n;
}


static inline unsigned
fuzz_depth(json_t *v, unsigned depth)
{
    size_t       i;
    json_t      *m;
    unsigned     d, max;
    const char  *k;

    max = depth;

    if (json_is_object(v)) {
        json_object_foreach(v, k, m) {
            d = fuzz_depth(m, depth + 1);
            max = (d > max) ? d : max;
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            d = fuzz_depth(m, depth + 1);
            max = (d > max) ? d : max;
        }
    }

    return max;
}


/* v written and read back by jansson is equal to itself */

static inline void
fuzz_json_ok(json_t *v)
{
    char    *s;
    json_t  *back;

    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        abort();
    }

    back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (back == NULL || !json_equal(back, v)) {
        abort();
    }

    json_decref(back);
    free(s);
}


/* 1 when s (len bytes) is UTF-8: no overlong form, surrogate or byte
 * past U+10FFFF */

static inline int
fuzz_utf8(const char *s, size_t len)
{
    size_t          i, k, n;
    uint32_t        c;
    const uint8_t  *p;

    p = (const uint8_t *) s;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            n = 2;
            c = p[i] & 0x1f;

        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            n = 3;
            c = p[i] & 0x0f;

        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            n = 4;
            c = p[i] & 0x07;

        } else {
            return 0;
        }

        if (n > len - i) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
            || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
        {
            return 0;
        }
    }

    return 1;
}


/* err filled in: an error name, and, when the input was UTF-8, an error
 * and a cause in UTF-8 (a history and a result put them in JSON) */

static inline int
fuzz_err_set(gw_asl_err_t *err)
{
    return err->error[0] != '\0'
           && memchr(err->error, '\0', sizeof(err->error)) != NULL
           && memchr(err->cause, '\0', sizeof(err->cause)) != NULL
           && memchr(err->pointer, '\0', sizeof(err->pointer)) != NULL
           && (!fuzz_text_utf8
               || (fuzz_utf8(err->error, strlen(err->error))
                   && fuzz_utf8(err->cause, strlen(err->cause))));
}


/*
 * The input's first line as a NUL-ended string (malloc()ed, its length in
 * *len; NULL: no memory), and in *doc the JSON after the newline when it
 * parses within the payload's caps, else fallback parsed (NULL only when
 * that fails).
 */

static inline char *
fuzz_line_doc(const uint8_t *data, size_t size, const char *fallback,
    size_t *len, json_t **doc)
{
    char           *line;
    const uint8_t  *nl;

    nl = memchr(data, '\n', size);
    *len = (nl != NULL) ? (size_t) (nl - data) : size;

    line = malloc(*len + 1);
    if (line == NULL) {
        return NULL;
    }

    memcpy(line, data, *len);
    line[*len] = '\0';

    *doc = NULL;

    if (nl != NULL) {
        *doc = json_loadb((const char *) nl + 1, size - *len - 1,
                          JSON_DECODE_ANY, NULL);

        if (*doc != NULL
            && (fuzz_size(*doc) > GW_ASL_PAYLOAD_MAX
                || fuzz_depth(*doc, 1) > GW_ASL_JSON_DEPTH_MAX))
        {
            json_decref(*doc);
            *doc = NULL;
        }
    }

    if (*doc == NULL) {
        *doc = json_loads(fallback, 0, NULL);
    }

    return line;
}


#endif /* _ASL_FUZZ_H_INCLUDED_ */
