
/*
 * Copyright (C) Tollgate
 *
 * OAuth 2.0 forms (application/x-www-form-urlencoded, RFC 6749 appendix
 * B), parsed strictly: what another parser would repair is refused.  A
 * bad percent-escape, a NUL, an empty pair, a pair without "=", a
 * parameter twice (RFC 6749 section 3.2; "resource" only may repeat,
 * RFC 8707), more than GW_FORM_PARAMS pairs, a body over the caller's
 * cap, another media type: each has its own reason.  The reasons are
 * static text; nothing a client sent is ever copied into them, so no
 * control byte of a form reaches a log or an answer.
 *
 * The key design decision: the body is decoded once, into one buffer of
 * the form, and every name and value points into it, NUL-terminated; a
 * form is two allocations whatever its size.  Without the service kit's
 * types, so that a unit test and a fuzz driver reach it.
 */


#ifndef _GW_FORM_H_INCLUDED_
#define _GW_FORM_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


#define GW_FORM_PARAMS  32              /* name=value pairs in a form */


typedef struct gw_form_s  gw_form_t;


/*
 * 1 when ct (a Content-Type value, NULL: none) is
 * application/x-www-form-urlencoded (any case) with, at most, one
 * charset parameter (RFC 9110 section 8.3.1: optional white space around
 * ";" and the value a token or a quoted string), else 0.
 */
int gw_form_media(const char *ct);

/*
 * Parses a form: ct the request's Content-Type (NULL: none), the body
 * len bytes (not NUL-terminated), at most max bytes.  Every
 * percent-escape well formed, no parameter twice but "resource", no NUL.
 * Returns the form (free with gw_form_free()), or NULL with *err a
 * client-safe static reason, or NULL with *err NULL when out of memory.
 */
gw_form_t *gw_form_parse(const char *ct, const char *body, size_t len,
    size_t max, const char **err);
void gw_form_free(gw_form_t *form);

/*
 * The n-th value of a parameter (0: the first), NULL past the last.  A
 * parameter without a value counts as absent (RFC 6749 section 3.2).
 * The value lives as long as the form.
 */
const char *gw_form_nth(gw_form_t *form, const char *name, size_t n);

/* the first value of a parameter, NULL when absent */
const char *gw_form_get(gw_form_t *form, const char *name);

/*
 * application/x-www-form-urlencoded decoding of len bytes of s into dst
 * (len + 1 bytes, NUL-terminated): "+" is a space, "%XX" a byte.  The
 * decoded length, or -1 for a bad escape or a NUL (dst undefined then).
 */
ssize_t gw_form_decode(char *dst, const char *s, size_t len);


#endif /* _GW_FORM_H_INCLUDED_ */
