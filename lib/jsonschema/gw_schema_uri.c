
/*
 * Copyright (C) Tollgate
 *
 * URI references (RFC 3986 section 5) and JSON pointers (RFC 6901), the
 * two ways a schema names another schema.  "$id" and "$ref" are resolved
 * against the base URI in force with the algorithm of RFC 3986 5.2.2,
 * dot segments removed, so that every resource and every reference ends
 * up as one absolute string compared byte for byte.  URNs and other URIs
 * without an authority work too: a fragment-only reference keeps their
 * whole path.  Fragments that start with '/' are JSON pointers, percent-
 * decoded first since they travel inside a URI.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


typedef struct {
    const char  *p;
    size_t       len;
    int          set;
} gw_sch_part_t;


typedef struct {
    gw_sch_part_t  scheme;
    gw_sch_part_t  auth;
    gw_sch_part_t  path;
    gw_sch_part_t  query;
    gw_sch_part_t  frag;
} gw_sch_uri_t;


static void gw_sch_uri_parse(const char *s, gw_sch_uri_t *u);
static size_t gw_sch_remove_dots(char *path, size_t len);


static void
gw_sch_uri_parse(const char *s, gw_sch_uri_t *u)
{
    const char  *p, *q;

    memset(u, 0, sizeof(gw_sch_uri_t));

    p = s;

    /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */

    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
        for (q = p; *q != '\0'; q++) {
            if (*q == ':') {
                u->scheme.p = p;
                u->scheme.len = q - p;
                u->scheme.set = 1;
                p = q + 1;
                break;
            }

            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
                  || (*q >= '0' && *q <= '9') || *q == '+' || *q == '-'
                  || *q == '.'))
            {
                break;
            }
        }
    }

    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        q = p + strcspn(p, "/?#");
        u->auth.p = p;
        u->auth.len = q - p;
        u->auth.set = 1;
        p = q;
    }

    q = p + strcspn(p, "?#");
    u->path.p = p;
    u->path.len = q - p;
    u->path.set = 1;
    p = q;

    if (*p == '?') {
        p++;
        q = p + strcspn(p, "#");
        u->query.p = p;
        u->query.len = q - p;
        u->query.set = 1;
        p = q;
    }

    if (*p == '#') {
        p++;
        u->frag.p = p;
        u->frag.len = strlen(p);
        u->frag.set = 1;
    }
}


/* RFC 3986 5.2.4, in place; returns the new length */

static size_t
gw_sch_remove_dots(char *path, size_t len)
{
    char    *in, *end, *out, *seg;
    size_t   n;

    in = path;
    end = path + len;
    out = path;

    while (in < end) {
        n = end - in;

        if (n >= 3 && memcmp(in, "../", 3) == 0) {
            in += 3;

        } else if (n >= 2 && memcmp(in, "./", 2) == 0) {
            in += 2;

        } else if (n >= 3 && memcmp(in, "/./", 3) == 0) {
            in += 2;

        } else if (n == 2 && memcmp(in, "/.", 2) == 0) {
            in += 1;
            in[0] = '/';

        } else if ((n >= 4 && memcmp(in, "/../", 4) == 0)
                   || (n == 3 && memcmp(in, "/..", 3) == 0))
        {
            in += 3;

            if (in == end) {
                in--;
                in[0] = '/';
            }

            while (out > path && *--out != '/') {
                /* void */
            }

        } else if ((n == 1 && in[0] == '.')
                   || (n == 2 && memcmp(in, "..", 2) == 0))
        {
            in = end;

        } else {
            seg = in;
            in++;

            while (in < end && *in != '/') {
                in++;
            }

            memmove(out, seg, in - seg);
            out += in - seg;
        }
    }

    return out - path;
}


/*
 * Resolves ref against base (absolute) into a new string in the arena,
 * without an empty fragment ("x#" is "x").  Returns NULL when out of
 * memory.
 */

char *
gw_sch_uri_resolve(gw_schema_t *s, const char *base, const char *ref)
{
    char            *buf, *p, *path, *res;
    size_t           size, n;
    gw_sch_uri_t     b, r;
    gw_sch_part_t    scheme, auth, query;

    gw_sch_uri_parse(ref, &r);
    gw_sch_uri_parse(base != NULL ? base : "", &b);

    size = strlen(ref) + (base != NULL ? strlen(base) : 0) + 8;

    buf = malloc(size * 2);
    if (buf == NULL) {
        return NULL;
    }

    path = buf + size;

    if (r.scheme.set) {
        scheme = r.scheme;
        auth = r.auth;
        query = r.query;
        memcpy(path, r.path.p, r.path.len);
        n = gw_sch_remove_dots(path, r.path.len);

    } else {
        scheme = b.scheme;

        if (r.auth.set) {
            auth = r.auth;
            query = r.query;
            memcpy(path, r.path.p, r.path.len);
            n = gw_sch_remove_dots(path, r.path.len);

        } else {
            auth = b.auth;

            if (r.path.len == 0) {
                memcpy(path, b.path.p, b.path.len);
                n = b.path.len;
                query = r.query.set ? r.query : b.query;

            } else {
                query = r.query;

                if (r.path.p[0] == '/') {
                    memcpy(path, r.path.p, r.path.len);
                    n = r.path.len;

                } else if (b.auth.set && b.path.len == 0) {
                    path[0] = '/';
                    memcpy(path + 1, r.path.p, r.path.len);
                    n = r.path.len + 1;

                } else {
                    n = b.path.len;

                    while (n > 0 && b.path.p[n - 1] != '/') {
                        n--;
                    }

                    memcpy(path, b.path.p, n);
                    memcpy(path + n, r.path.p, r.path.len);
                    n += r.path.len;
                }

                n = gw_sch_remove_dots(path, n);
            }
        }
    }

    p = buf;

    if (scheme.set) {
        memcpy(p, scheme.p, scheme.len);
        p += scheme.len;
        *p++ = ':';
    }

    if (auth.set) {
        *p++ = '/';
        *p++ = '/';
        memcpy(p, auth.p, auth.len);
        p += auth.len;
    }

    memcpy(p, path, n);
    p += n;

    if (query.set) {
        *p++ = '?';
        memcpy(p, query.p, query.len);
        p += query.len;
    }

    if (r.frag.set && r.frag.len > 0) {
        *p++ = '#';
        memcpy(p, r.frag.p, r.frag.len);
        p += r.frag.len;
    }

    res = gw_sch_strdup(s, buf, p - buf);

    free(buf);

    return res;
}


/* the length of uri without its fragment */

size_t
gw_sch_uri_strip(const char *uri)
{
    return strcspn(uri, "#");
}


int
gw_sch_uri_is_absolute(const char *uri)
{
    gw_sch_uri_t  u;

    gw_sch_uri_parse(uri, &u);

    return u.scheme.set && u.scheme.len > 0;
}


static int
gw_sch_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* percent-decodes len bytes of src into dst; returns the new length */

size_t
gw_sch_pct_decode(char *dst, const char *src, size_t len)
{
    int     h, l;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len
            && (h = gw_sch_hex((unsigned char) src[i + 1])) >= 0
            && (l = gw_sch_hex((unsigned char) src[i + 2])) >= 0)
        {
            dst[n++] = (char) (h * 16 + l);
            i += 2;
            continue;
        }

        dst[n++] = src[i];
    }

    return n;
}


/*
 * The value at the JSON pointer ptr (len bytes, decoded, "" or starting
 * with '/') in root, or NULL.
 */

json_t *
gw_sch_pointer_get(json_t *root, const char *ptr, size_t len)
{
    char        tok[512];
    size_t      i, n;
    json_t     *v;
    const char *end;
    char       *e;
    unsigned long  idx;

    v = root;
    end = ptr + len;

    if (len > 0 && ptr[0] != '/') {
        return NULL;
    }

    while (ptr < end && v != NULL) {
        ptr++;
        n = 0;

        for (i = 0; ptr + i < end && ptr[i] != '/'; i++) {
            if (n >= sizeof(tok) - 1) {
                return NULL;
            }

            if (ptr[i] == '~' && ptr + i + 1 < end
                && (ptr[i + 1] == '0' || ptr[i + 1] == '1'))
            {
                tok[n++] = (ptr[i + 1] == '0') ? '~' : '/';
                i++;

            } else {
                tok[n++] = ptr[i];
            }
        }

        tok[n] = '\0';
        ptr += i;

        if (json_is_object(v)) {
            v = json_object_getn(v, tok, n);

        } else if (json_is_array(v)) {
            if (n == 0 || (n > 1 && tok[0] == '0') || tok[0] < '0'
                || tok[0] > '9')
            {
                return NULL;
            }

            idx = strtoul(tok, &e, 10);
            if (*e != '\0') {
                return NULL;
            }

            v = json_array_get(v, idx);

        } else {
            return NULL;
        }
    }

    return v;
}


/* escapes a member name as a pointer token; dst NULL: only counts */

size_t
gw_sch_pointer_escape(char *dst, const char *src, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '~' || src[i] == '/') {
            if (dst != NULL) {
                dst[n] = '~';
                dst[n + 1] = (src[i] == '~') ? '0' : '1';
            }

            n += 2;

        } else {
            if (dst != NULL) {
                dst[n] = src[i];
            }

            n++;
        }
    }

    return n;
}


/* base + "/" + seg (escaped already), in the arena; NULL: no memory */

char *
gw_sch_pointer_join(gw_schema_t *s, const char *base, const char *seg,
    size_t seg_len)
{
    char    *p;
    size_t   n;

    n = strlen(base);

    p = gw_sch_alloc(s, n + seg_len + 2);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, base, n);
    p[n] = '/';
    memcpy(p + n + 1, seg, seg_len);
    p[n + 1 + seg_len] = '\0';

    return p;
}
