
/*
 * Copyright (C) Tollgate
 *
 * gw_schema_parse(): JSON text (RFC 8259) into the light values that
 * validation walks (gw_schema_value_t), for the bodies a gateway
 * validates.  It scans the buffer directly, takes each string as it
 * stands in the text when it has no escape (a table tells the bytes that
 * need a look), checks UTF-8 inline, and reads numbers without strtod()
 * when the result is exact anyway (integers; decimals of few digits).
 * The items of an open array and the members of an open object gather
 * on two stacks in the doc and move, once complete, into one block of
 * the doc's memory: a value costs 16 bytes and a member 32, and nothing
 * is allocated one by one.  Duplicate keys are looked for when the
 * object closes: pair by pair in a small one, by sorting a larger one,
 * so that no text can make it quadratic.
 *
 * On an error it gives up and jansson parses the text again for its
 * message and position, so that errors read the same whichever parser
 * found them (should jansson accept the text after all, its tree is
 * converted).  Only nesting is reported here, at the bracket past the
 * cap, before anything deeper is read.
 *
 * gw_schema_json_loadb() builds jansson values the same way, through a
 * parse and a conversion: it keeps integers beyond 64 bits as reals,
 * which json_loadb() refuses.
 */


#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_scan.h"


static int
gw_sch_jp_hex4(const unsigned char *p, unsigned *v)
{
    int  i, c;

    *v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;

        } else if (c >= 'A' && c <= 'F') {
            c -= 'A' - 10;

        } else {
            return -1;
        }

        *v = *v * 16 + (unsigned) c;
    }

    return 0;
}


/*
 * The rest of a string from its first escape at p, start being its first
 * byte: unescaped into the doc, at most as long as the text up to the
 * closing quote.  Out of line, so that the common case stays short.
 */

const unsigned char *
gw_sch_jp_escaped(gw_sch_jp_t *jp, const unsigned char *start,
    const unsigned char *p, gw_schema_value_t *v)
{
    char                 *buf;
    size_t                n, k;
    unsigned              cp, lo;
    const unsigned char  *q, *run;

    /* the closing quote bounds the unescaped length */

    for (q = p; q < jp->end && *q != '"'; q++) {
        if (*q == '\\') {
            q++;
        }
    }

    if (q >= jp->end || (size_t) (q - start) > UINT32_MAX) {
        return NULL;
    }

    buf = gw_sch_doc_alloc(jp->doc, (size_t) (q - start) + 1);
    if (buf == NULL) {
        jp->nomem = 1;
        return NULL;
    }

    n = p - start;
    memcpy(buf, start, n);

    while (*p != '"') {
        if (*p < 0x20) {
            return NULL;
        }

        if (*p >= 0x80) {
            k = gw_sch_jp_utf8(p, jp->end);
            if (k == 0) {
                return NULL;
            }

            memcpy(buf + n, p, k);
            n += k;
            p += k;
            continue;
        }

        if (*p != '\\') {
            run = p;
            p = gw_sch_jp_plain_run(p + 1, jp->end);

            memcpy(buf + n, run, p - run);
            n += p - run;
            continue;
        }

        switch (p[1]) {
        case '"': case '\\': case '/':
            buf[n++] = (char) p[1];
            break;
        case 'b':
            buf[n++] = '\b';
            break;
        case 'f':
            buf[n++] = '\f';
            break;
        case 'n':
            buf[n++] = '\n';
            break;
        case 'r':
            buf[n++] = '\r';
            break;
        case 't':
            buf[n++] = '\t';
            break;

        case 'u':
            if (jp->end - p < 6 || gw_sch_jp_hex4(p + 2, &cp) != 0) {
                return NULL;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return NULL;
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (jp->end - p < 12 || p[6] != '\\' || p[7] != 'u'
                    || gw_sch_jp_hex4(p + 8, &lo) != 0
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    return NULL;
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }

            if (cp == 0) {
                if (!(jp->flags & JSON_ALLOW_NUL)) {
                    return NULL;
                }

                jp->nul = 1;
            }

            /* an escape of 6 or 12 bytes becomes at most 4 */

            if (cp < 0x80) {
                buf[n++] = (char) cp;

            } else if (cp < 0x800) {
                buf[n++] = (char) (0xc0 | (cp >> 6));
                buf[n++] = (char) (0x80 | (cp & 0x3f));

            } else if (cp < 0x10000) {
                buf[n++] = (char) (0xe0 | (cp >> 12));
                buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                buf[n++] = (char) (0x80 | (cp & 0x3f));

            } else {
                buf[n++] = (char) (0xf0 | (cp >> 18));
                buf[n++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                buf[n++] = (char) (0x80 | (cp & 0x3f));
            }

            p += 4;
            break;

        default:
            return NULL;
        }

        p += 2;
    }

    v->type = GW_SCHEMA_STRING;
    v->len = (uint32_t) n;
    v->u.s = buf;

    return p + 1;
}


/*
 * A number: an integer of at most 19 digits that fits in 64 bits, read
 * without strtod(); a real whose significand has at most 15 digits, with
 * a decimal exponent within +-22, as one exact IEEE operation on two
 * exact doubles (Clinger's fast path, hence correctly rounded, as
 * strtod()); anything else through strtod(), and kept as its text when
 * its double does not tell it (more than 15 significant digits, or
 * nearer 0 than 1e-307: GW_SCHEMA_DECIMAL).  A number past the double
 * range is an error, as jansson's "real number overflow".
 */

/*
 * The number from start to p through strtod(): out of line, so that the
 * common numbers need neither its buffer nor its call.
 */

static __attribute__((noinline)) const unsigned char *
gw_sch_jp_strtod(gw_sch_jp_t *jp, const unsigned char *start,
    const unsigned char *p, gw_schema_value_t *v)
{
    char    tmp[64], *text, *e;
    double  d;
    size_t  n;

    n = p - start;

    text = (n < sizeof(tmp)) ? tmp : malloc(n + 1);
    if (text == NULL) {
        jp->nomem = 1;
        return NULL;
    }

    memcpy(text, start, n);
    text[n] = '\0';

    errno = 0;
    d = strtod(text, &e);

    if (text != tmp) {
        free(text);
    }

    if ((errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
        || (size_t) (e - text) != n)
    {
        return NULL;
    }

    /* a number its double does not tell: kept as written */

    if (gw_sch_decimal_keep((const char *) start, n) && n <= UINT32_MAX) {
        v->type = GW_SCHEMA_DECIMAL;
        v->len = (uint32_t) n;
        v->u.s = (const char *) start;
        return p;
    }

    v->type = GW_SCHEMA_REAL;
    v->u.d = d;

    return p;
}


const unsigned char *
gw_sch_jp_number(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v)
{
    int                   real, neg, dexp, eneg, ndig, nfrac, big;
    double                d;
    uint64_t              u;
    const unsigned char  *start, *end;

    end = jp->end;
    start = p;
    real = 0;
    neg = 0;
    u = 0;
    ndig = 0;
    nfrac = 0;
    dexp = 0;
    big = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (p == end) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        do {
            if (ndig < 19) {
                u = u * 10 + (uint64_t) (*p - '0');
            }

            ndig++;
            p++;
        } while (p < end && *p >= '0' && *p <= '9');

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        real = 1;
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            /* leading zeros of "0.000x" are not significant digits */

            if (ndig < 19 && nfrac < 64) {
                u = u * 10 + (uint64_t) (*p - '0');
                nfrac++;

                if (u != 0) {
                    ndig++;
                }

            } else {
                big = 1;
            }

            p++;
        } while (p < end && *p >= '0' && *p <= '9');
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        eneg = 0;
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            if (dexp < 10000) {
                dexp = dexp * 10 + (*p - '0');
            }

            p++;
        } while (p < end && *p >= '0' && *p <= '9');

        if (eneg) {
            dexp = -dexp;
        }
    }

    if (!real && !(jp->flags & JSON_DECODE_INT_AS_REAL) && ndig <= 19) {
        /* at most 19 digits: fits in 64 bits before the sign */

        if (neg && u <= (uint64_t) INT64_MAX + 1) {
            v->type = GW_SCHEMA_INTEGER;
            v->u.i = (int64_t) (0 - u);
            return p;
        }

        if (!neg && u <= (uint64_t) INT64_MAX) {
            v->type = GW_SCHEMA_INTEGER;
            v->u.i = (int64_t) u;
            return p;
        }
    }

    v->type = GW_SCHEMA_REAL;

#if (FLT_EVAL_METHOD == 0)

    dexp -= nfrac;

    if (ndig <= 15 && !big && dexp >= -22 && dexp <= 22) {
        d = (double) u;

        if (u != 0) {
            d = (dexp < 0) ? d / gw_sch_jp_pow10[-dexp]
                           : d * gw_sch_jp_pow10[dexp];
        }

        v->u.d = neg ? -d : d;
        return p;
    }

#endif

    /* a long real, or an integer beyond 64 bits kept as one */

    return gw_sch_jp_strtod(jp, start, p, v);
}


/*
 * An item or a member's value: strings and numbers, most of them, parsed
 * here without a call of gw_sch_jp_value() each.
 */

static inline const unsigned char *
gw_sch_jp_item(gw_sch_jp_t *jp, const unsigned char *p, gw_schema_value_t *v)
{
    p = gw_sch_jp_ws(p, jp->end);

    if (p < jp->end) {
        if (*p == '"') {
            return gw_sch_jp_string(jp, p + 1, v);
        }

        if ((unsigned) (*p - '0') < 10 || *p == '-') {
            return gw_sch_jp_num(jp, p, v);
        }
    }

    return gw_sch_jp_value(jp, p, v);
}


static int
gw_sch_jp_keycmp(const void *a, const void *b)
{
    int                        rc;
    const gw_schema_member_t  *x, *y;

    x = *(const gw_schema_member_t * const *) a;
    y = *(const gw_schema_member_t * const *) b;

    if (x->len != y->len) {
        return (x->len > y->len) - (x->len < y->len);
    }

    rc = memcmp(x->key, y->key, x->len);

    /* equal keys: by position, so that the order is total */
    return (rc != 0) ? rc : (x > y) - (x < y);
}


/* whether two of the n members at m have the same key: 1, 0, -1 OOM */

int
gw_sch_jp_dups(gw_sch_jp_t *jp, const gw_schema_member_t *m, size_t n)
{
    size_t                      i, j;
    uint64_t                    seen, bit;
    const gw_schema_member_t  **sorted;

    if (n <= 16) {
        /* a bit per length and last byte first: distinct keys mostly
         * differ there, and then no pair needs a look */

        seen = 0;

        for (i = 0; i < n; i++) {
            bit = (uint64_t) 1 << ((m[i].len * 7
                                    + (m[i].len ? (unsigned char)
                                                  m[i].key[m[i].len - 1]
                                                : 0))
                                   & 63);
            if (seen & bit) {
                break;
            }

            seen |= bit;
        }

        if (i == n) {
            return 0;
        }

        for (i = 1; i < n; i++) {
            for (j = 0; j < i; j++) {
                if (m[i].len == m[j].len
                    && (m[i].len == 0 || m[i].key[0] == m[j].key[0])
                    && memcmp(m[i].key, m[j].key, m[i].len) == 0)
                {
                    return 1;
                }
            }
        }

        return 0;
    }

    if (jp->doc->ndups < n) {
        sorted = realloc(jp->doc->dups, n * sizeof(gw_schema_member_t *));
        if (sorted == NULL) {
            return -1;
        }

        jp->doc->dups = (void *) sorted;
        jp->doc->ndups = n;
    }

    sorted = (const gw_schema_member_t **) jp->doc->dups;

    for (i = 0; i < n; i++) {
        sorted[i] = &m[i];
    }

    qsort(sorted, n, sizeof(gw_schema_member_t *), gw_sch_jp_keycmp);

    for (i = 1; i < n; i++) {
        if (sorted[i]->len == sorted[i - 1]->len
            && memcmp(sorted[i]->key, sorted[i - 1]->key, sorted[i]->len)
               == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* grows one of the doc's stacks to hold one more element */

int
gw_sch_jp_grow(gw_sch_jp_t *jp, void **stack, size_t *alloc, size_t size)
{
    void    *p;
    size_t   n;

    n = (*alloc != 0) ? *alloc * 2 : 64;

    p = realloc(*stack, n * size);
    if (p == NULL) {
        jp->nomem = 1;
        return -1;
    }

    *stack = p;
    *alloc = n;

    return 0;
}


static const unsigned char *
gw_sch_jp_array(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v)
{
    size_t                start, n;
    gw_schema_doc_t      *doc;
    gw_schema_value_t     item, *items;
    const unsigned char  *end;

    doc = jp->doc;
    end = jp->end;
    start = jp->nitems;

    p = gw_sch_jp_ws(p, end);

    if (p < end && *p == ']') {
        v->type = GW_SCHEMA_ARRAY;
        v->len = 0;
        v->u.items = NULL;
        return p + 1;
    }

    for ( ;; ) {
        p = gw_sch_jp_item(jp, p, &item);
        if (p == NULL) {
            return NULL;
        }

        if (jp->nitems == doc->nitems
            && gw_sch_jp_grow(jp, (void **) &doc->items, &doc->nitems,
                              sizeof(gw_schema_value_t)) != 0)
        {
            return NULL;
        }

        doc->items[jp->nitems++] = item;

        p = gw_sch_jp_ws(p, end);

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        if (p < end && *p == ']') {
            p++;
            break;
        }

        return NULL;
    }

    n = jp->nitems - start;

    if (n > UINT32_MAX) {
        return NULL;
    }

    items = gw_sch_doc_alloc(doc, n * sizeof(gw_schema_value_t));
    if (items == NULL) {
        jp->nomem = 1;
        return NULL;
    }

    memcpy(items, doc->items + start, n * sizeof(gw_schema_value_t));
    jp->nitems = start;

    v->type = GW_SCHEMA_ARRAY;
    v->len = (uint32_t) n;
    v->u.items = items;

    return p;
}


static const unsigned char *
gw_sch_jp_object(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v)
{
    int                   rc;
    size_t                start, n;
    gw_schema_doc_t      *doc;
    gw_schema_value_t     key, val;
    gw_schema_member_t   *m, *members;
    const unsigned char  *end;

    doc = jp->doc;
    end = jp->end;
    start = jp->nmembers;

    p = gw_sch_jp_ws(p, end);

    if (p < end && *p == '}') {
        v->type = GW_SCHEMA_OBJECT;
        v->len = 0;
        v->u.members = NULL;
        return p + 1;
    }

    for ( ;; ) {
        p = gw_sch_jp_key(jp, p, &key);
        if (p == NULL) {
            return NULL;
        }

        p = gw_sch_jp_item(jp, p, &val);
        if (p == NULL) {
            return NULL;
        }

        m = gw_sch_jp_member(jp, &key);
        if (m == NULL) {
            return NULL;
        }

        m->value = val;

        p = gw_sch_jp_ws(p, end);

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        if (p < end && *p == '}') {
            p++;
            break;
        }

        return NULL;
    }

    n = jp->nmembers - start;

    if (n > UINT32_MAX) {
        return NULL;
    }

    if (jp->flags & JSON_REJECT_DUPLICATES) {
        rc = gw_sch_jp_dups(jp, doc->members + start, n);

        if (rc != 0) {
            jp->nomem = (rc < 0);
            return NULL;
        }
    }

    members = gw_sch_doc_alloc(doc, n * sizeof(gw_schema_member_t));
    if (members == NULL) {
        jp->nomem = 1;
        return NULL;
    }

    memcpy(members, doc->members + start, n * sizeof(gw_schema_member_t));
    jp->nmembers = start;

    v->type = GW_SCHEMA_OBJECT;
    v->len = (uint32_t) n;
    v->u.members = members;

    return p;
}


const unsigned char *
gw_sch_jp_value(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v)
{
    const unsigned char  *end;

    end = jp->end;
    p = gw_sch_jp_ws(p, end);

    if (p == end) {
        return NULL;
    }

    v->len = 0;

    switch (*p) {

    case '"':
        return gw_sch_jp_string(jp, p + 1, v);

    case '{':
    case '[':
        if (jp->depth >= jp->max_depth) {
            jp->deep = p;
            return NULL;
        }

        jp->depth++;

        p = (*p == '{') ? gw_sch_jp_object(jp, p + 1, v)
                        : gw_sch_jp_array(jp, p + 1, v);

        jp->depth--;

        return p;

    case 't':
    case 'f':
    case 'n':
        return gw_sch_jp_literal(p, end, v);

    default:
        return gw_sch_jp_num(jp, p, v);
    }
}


/* err for a failure found here: position, line and column of pos */

static void
gw_sch_jp_error(json_error_t *err, const char *text, size_t pos,
    const char *msg)
{
    size_t  i;

    if (err == NULL) {
        return;
    }

    memset(err, 0, sizeof(json_error_t));
    err->line = 1;
    err->column = 1;
    err->position = (int) pos;

    for (i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            err->line++;
            err->column = 1;

        } else if (((unsigned char) text[i] & 0xc0) != 0x80) {
            err->column++;
        }
    }

    snprintf(err->source, sizeof(err->source), "<buffer>");
    snprintf(err->text, sizeof(err->text), "%s", msg);
}


const gw_schema_value_t *
gw_schema_parse(gw_schema_doc_t *doc, const char *text, size_t len,
    size_t flags, unsigned max_depth, json_error_t *err)
{
    char                  msg[64];
    json_t               *j;
    const char           *nul;
    gw_sch_jp_t           jp;
    gw_schema_value_t    *top;
    const unsigned char  *p;

    gw_sch_doc_reset(doc);

    top = gw_sch_doc_alloc(doc, sizeof(gw_schema_value_t));
    if (top == NULL) {
        gw_sch_jp_error(err, text, 0, "out of memory");
        return NULL;
    }

    memset(&jp, 0, sizeof(gw_sch_jp_t));
    jp.end = (const unsigned char *) text + len;
    jp.doc = doc;
    jp.flags = flags;
    jp.max_depth = (max_depth == 0 || max_depth > GW_SCHEMA_JSON_DEPTH)
                   ? GW_SCHEMA_JSON_DEPTH : max_depth;

    p = gw_sch_jp_value(&jp, (const unsigned char *) text, top);

    if (p != NULL) {
        p = gw_sch_jp_ws(p, jp.end);

        if (p == jp.end
            && ((flags & JSON_DECODE_ANY) || top->type == GW_SCHEMA_OBJECT
                || top->type == GW_SCHEMA_ARRAY))
        {
            return top;
        }
    }

    if (jp.nomem) {
        gw_sch_jp_error(err, text, 0, "out of memory");
        return NULL;
    }

    /* past a cap of the caller's: said here; jansson's own, by jansson */

    if (jp.deep != NULL && max_depth != 0) {
        snprintf(msg, sizeof(msg), "JSON nested deeper than %u levels",
                 jp.max_depth);
        gw_sch_jp_error(err, text, (const char *) jp.deep - text, msg);
        return NULL;
    }

    /* jansson's parser, for its error */

    flags &= JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;

    j = json_loadb(text, len, flags, err);

    if (j == NULL && err != NULL
        && json_error_code(err) == json_error_numeric_overflow)
    {
        /* past a number jansson cannot hold, to the real error */
        j = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, err);
    }

    if (j == NULL) {
        return NULL;
    }

    /* jansson takes a NUL byte after a number ("[1\0]"): JSON does not */

    nul = memchr(text, '\0', len);

    if (nul != NULL) {
        json_decref(j);
        gw_sch_jp_error(err, text, nul - text, "NUL byte in the text");
        return NULL;
    }

    gw_sch_doc_reset(doc);

    top = gw_sch_doc_alloc(doc, sizeof(gw_schema_value_t));

    if (top == NULL || gw_sch_value_from_json(doc, j, top) != 0) {
        json_decref(j);
        gw_sch_jp_error(err, text, 0, "out of memory");
        return NULL;
    }

    json_decref(j);

    return top;
}


json_t *
gw_schema_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error)
{
    json_t                   *j;
    gw_schema_doc_t           doc;
    const gw_schema_value_t  *v;

    if ((flags & ~(size_t) (JSON_DECODE_ANY | JSON_ALLOW_NUL
                            | JSON_DECODE_INT_AS_REAL
                            | JSON_REJECT_DUPLICATES)) != 0)
    {
        return json_loadb(buf, len, flags, error);
    }

    gw_schema_doc_init(&doc);

    v = gw_schema_parse(&doc, buf, len, flags, 0, error);

    j = (v != NULL) ? gw_sch_value_to_json(v) : NULL;

    if (v != NULL && j == NULL && error != NULL) {
        gw_sch_jp_error(error, buf, 0, "out of memory");
    }

    gw_schema_doc_free(&doc);

    return j;
}
