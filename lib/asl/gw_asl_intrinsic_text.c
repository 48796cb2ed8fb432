
/*
 * Copyright (C) Tollgate
 *
 * Text for the intrinsic functions: a buffer capped at a size, values
 * written as JavaScript's JSON.stringify() writes them (compact, members
 * in their order, numbers as Number.prototype.toString(), so that 1.0
 * is "1" and 0.1 is "0.1", as AWS and the oracle write them), UTF-8
 * characters, and equality and hashing of values, where 1 and 1.0 are
 * one number.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_intrinsic_int.h"
#include "gw_jcs.h"


int
gw_asl_ibuf_add(gw_asl_ibuf_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   size;

    if (b->len + n > b->max) {
        b->over = 1;
        return -1;
    }

    if (b->len + n + 1 > b->size) {
        size = b->size ? b->size : 256;

        while (size < b->len + n + 1) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            b->nomem = 1;
            return -1;
        }

        b->data = p;
        b->size = size;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';

    return 0;
}


/* frees the buffer; what failed becomes err */

int
gw_asl_ibuf_fail(gw_asl_ibuf_t *b, const char *what, gw_asl_err_t *err)
{
    free(b->data);
    b->data = NULL;

    if (b->over) {
        return gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL, "%s is larger "
                            "than %zu bytes", what, b->max);
    }

    if (b->nomem) {
        return gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, "%s: out of "
                            "memory", what);
    }

    return gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, "%s: a value nested "
                        "deeper than %d", what, GW_ASL_I_VALUE_DEPTH);
}


int
gw_asl_ibuf_number(gw_asl_ibuf_t *b, json_t *v)
{
    int   n;
    char  buf[GW_JCS_NUMBER_LEN > 32 ? GW_JCS_NUMBER_LEN : 32];

    if (json_is_integer(v)) {
        n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));

    } else {
        n = gw_jcs_number(json_real_value(v), buf);
        if (n < 0) {
            n = snprintf(buf, sizeof(buf), "null");
        }
    }

    return gw_asl_ibuf_add(b, buf, (size_t) n);
}


static int
gw_asl_ibuf_string(gw_asl_ibuf_t *b, const char *s, size_t n)
{
    char           esc[8];
    size_t         i, start;
    unsigned char  c;

    if (gw_asl_ibuf_add(b, "\"", 1) != 0) {
        return -1;
    }

    start = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        if (gw_asl_ibuf_add(b, s + start, i - start) != 0) {
            return -1;
        }

        switch (c) {
        case '"':  snprintf(esc, sizeof(esc), "\\\""); break;
        case '\\': snprintf(esc, sizeof(esc), "\\\\"); break;
        case '\b': snprintf(esc, sizeof(esc), "\\b"); break;
        case '\f': snprintf(esc, sizeof(esc), "\\f"); break;
        case '\n': snprintf(esc, sizeof(esc), "\\n"); break;
        case '\r': snprintf(esc, sizeof(esc), "\\r"); break;
        case '\t': snprintf(esc, sizeof(esc), "\\t"); break;
        default:   snprintf(esc, sizeof(esc), "\\u%04x", c); break;
        }

        if (gw_asl_ibuf_add(b, esc, strlen(esc)) != 0) {
            return -1;
        }

        start = i + 1;
    }

    if (gw_asl_ibuf_add(b, s + start, n - start) != 0) {
        return -1;
    }

    return gw_asl_ibuf_add(b, "\"", 1);
}


int
gw_asl_ibuf_json(gw_asl_ibuf_t *b, json_t *v, unsigned depth)
{
    size_t       i;
    json_t      *m;
    const char  *key;

    if (depth > GW_ASL_I_VALUE_DEPTH) {
        return -1;
    }

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        if (gw_asl_ibuf_add(b, "{", 1) != 0) {
            return -1;
        }

        i = 0;

        json_object_foreach(v, key, m) {
            if ((i++ > 0 && gw_asl_ibuf_add(b, ",", 1) != 0)
                || gw_asl_ibuf_string(b, key, strlen(key)) != 0
                || gw_asl_ibuf_add(b, ":", 1) != 0
                || gw_asl_ibuf_json(b, m, depth + 1) != 0)
            {
                return -1;
            }
        }

        return gw_asl_ibuf_add(b, "}", 1);

    case JSON_ARRAY:
        if (gw_asl_ibuf_add(b, "[", 1) != 0) {
            return -1;
        }

        json_array_foreach(v, i, m) {
            if ((i > 0 && gw_asl_ibuf_add(b, ",", 1) != 0)
                || gw_asl_ibuf_json(b, m, depth + 1) != 0)
            {
                return -1;
            }
        }

        return gw_asl_ibuf_add(b, "]", 1);

    case JSON_STRING:
        return gw_asl_ibuf_string(b, json_string_value(v),
                                  json_string_length(v));

    case JSON_INTEGER:
    case JSON_REAL:
        return gw_asl_ibuf_number(b, v);

    case JSON_TRUE:
        return gw_asl_ibuf_add(b, "true", 4);

    case JSON_FALSE:
        return gw_asl_ibuf_add(b, "false", 5);

    default:
        return gw_asl_ibuf_add(b, "null", 4);
    }
}


int
gw_asl_ivalue_equal(json_t *a, json_t *b, unsigned depth)
{
    size_t       i;
    json_t      *m;
    const char  *key;

    if (a == b) {
        return 1;
    }

    if (depth > GW_ASL_I_VALUE_DEPTH || a == NULL || b == NULL) {
        return 0;
    }

    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            return json_integer_value(a) == json_integer_value(b);
        }

        return json_number_value(a) == json_number_value(b);
    }

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }

    switch (json_typeof(a)) {

    case JSON_STRING:
        return json_string_length(a) == json_string_length(b)
               && memcmp(json_string_value(a), json_string_value(b),
                         json_string_length(a)) == 0;

    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }

        json_array_foreach(a, i, m) {
            if (!gw_asl_ivalue_equal(m, json_array_get(b, i), depth + 1)) {
                return 0;
            }
        }

        return 1;

    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }

        json_object_foreach(a, key, m) {
            if (!gw_asl_ivalue_equal(m, json_object_get(b, key), depth + 1))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;       /* true, false, null: the type is the value */
    }
}


static uint64_t
gw_asl_ihash_bytes(uint64_t h, const void *data, size_t n)
{
    size_t               i;
    const unsigned char  *p;

    p = data;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;      /* FNV-1a */
    }

    return h;
}


/* equal values hash alike: numbers by their double, members unordered */

uint64_t
gw_asl_ivalue_hash(json_t *v, unsigned depth)
{
    size_t       i;
    double       d;
    json_t      *m;
    uint64_t     h, sum;
    const char  *key;

    h = 0xcbf29ce484222325ULL ^ (uint64_t) json_typeof(v);

    if (depth > GW_ASL_I_VALUE_DEPTH) {
        return h;
    }

    switch (json_typeof(v)) {

    case JSON_INTEGER:
    case JSON_REAL:
        d = json_number_value(v);
        if (d == 0) {
            d = 0;      /* -0 is 0 */
        }

        h = 0xcbf29ce484222325ULL ^ JSON_INTEGER;
        return gw_asl_ihash_bytes(h, &d, sizeof(d));

    case JSON_STRING:
        return gw_asl_ihash_bytes(h, json_string_value(v),
                                  json_string_length(v));

    case JSON_ARRAY:
        json_array_foreach(v, i, m) {
            sum = gw_asl_ivalue_hash(m, depth + 1);
            h = gw_asl_ihash_bytes(h, &sum, sizeof(sum));
        }

        return h;

    case JSON_OBJECT:
        sum = 0;

        json_object_foreach(v, key, m) {
            h = gw_asl_ihash_bytes(0xcbf29ce484222325ULL, key, strlen(key));
            sum += h * 31 + gw_asl_ivalue_hash(m, depth + 1);
        }

        return sum ^ JSON_OBJECT;

    default:
        return h;
    }
}


size_t
gw_asl_iutf8_len(const unsigned char *s, size_t n)
{
    size_t    len, i;
    uint32_t  cp, min;

    if (n == 0) {
        return 0;
    }

    if (s[0] < 0x80) {
        return 1;
    }

    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
        min = 0x80;

    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
        min = 0x800;

    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len > n) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (s[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return len;
}


size_t
gw_asl_iutf8_count(const char *s, size_t n)
{
    size_t  i, count;

    count = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            count++;
        }
    }

    return count;
}


const char *
gw_asl_itype_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:    return "true";
    case JSON_FALSE:   return "false";
    default:           return "null";
    }
}
