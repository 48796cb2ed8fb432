
/*
 * Copyright (C) Tollgate
 *
 * The language's errors (lib/asl/gw_asl.h): a name, a cause and, for a
 * definition, the JSON pointer of the value refused; and the measure of
 * a value against the payload cap.
 *
 * An error's strings are UTF-8 whatever was formatted into them: causes
 * quote what a definition or an input holds, cut to a number of bytes
 * (%.256s) or to the buffer's size, which can split a character; such a
 * string would be refused as a JSON string wherever the error is shown
 * or stored.  A byte that does not start a whole, shortest, valid
 * sequence becomes '?', and a sequence cut at the end goes.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>

#include "gw_asl.h"


typedef struct {
    size_t   size;
    size_t   max;
} gw_asl_measure_t;


static void gw_asl_utf8_repair(char *s);
static int gw_asl_measure(const char *buffer, size_t size, void *data);


int
gw_asl_error(gw_asl_err_t *err, const char *error, const char *pointer,
    const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return -1;
    }

    snprintf(err->error, sizeof(err->error), "%s", error ? error : "");
    snprintf(err->pointer, sizeof(err->pointer), "%s",
             pointer ? pointer : "");

    err->cause[0] = '\0';

    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(err->cause, sizeof(err->cause), fmt, ap);
        va_end(ap);
    }

    gw_asl_utf8_repair(err->error);
    gw_asl_utf8_repair(err->cause);
    gw_asl_utf8_repair(err->pointer);

    return -1;
}


/* the length (2 to 4) of the valid UTF-8 sequence at p, else 0 */

static size_t
gw_asl_utf8_seq(const unsigned char *p)
{
    size_t    n, i;
    uint32_t  c, min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        c = p[0] & 0x1f;
        min = 0x80;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        c = p[0] & 0x0f;
        min = 0x800;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        c = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    for (i = 1; i < n; i++) {
        /* a NUL ends the string: never read past it */
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


static void
gw_asl_utf8_repair(char *s)
{
    size_t          n, need;
    unsigned char  *p;

    p = (unsigned char *) s;

    while (*p != '\0') {
        if (*p < 0x80) {
            p++;
            continue;
        }

        n = gw_asl_utf8_seq(p);

        if (n != 0) {
            p += n;
            continue;
        }

        if (*p >= 0xc2 && *p <= 0xf4) {
            need = (*p >= 0xf0) ? 4 : (*p >= 0xe0) ? 3 : 2;

            for (n = 1; p[n] != '\0' && (p[n] & 0xc0) == 0x80; n++) {
                /* void */
            }

            if (p[n] == '\0' && n < need) {
                /* a sequence the buffer's end cut: gone */
                *p = '\0';
                return;
            }
        }

        *p++ = '?';
    }
}


int
gw_asl_too_large(json_t *value, size_t max, size_t *size)
{
    int               rc;
    gw_asl_measure_t  m;

    m.size = 0;
    m.max = max;

    rc = json_dump_callback(value, gw_asl_measure, &m,
                            JSON_COMPACT | JSON_ENCODE_ANY);

    if (size != NULL) {
        *size = m.size;
    }

    return rc != 0 || m.size > max;
}


/* stops the encoding once past the cap: a selection of millions of
 * nodes is never written out in full to learn that it is too large */

static int
gw_asl_measure(const char *buffer, size_t size, void *data)
{
    gw_asl_measure_t *m = data;

    m->size += size;

    return m->size > m->max ? -1 : 0;
}
