
/*
 * Copyright (C) Tollgate
 *
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte string an audit
 * record hashes to.  Objects have their members sorted by the UTF-16 code
 * units of their names, with no white space anywhere; strings keep every
 * character as UTF-8 except '"', '\\' and the controls below U+0020, which
 * are escaped (\b \f \n \r \t, else \u00xx in lower case); numbers are
 * IEEE 754 doubles written as ECMAScript's Number.prototype.toString()
 * writes them: the shortest digits that read back to the same double.
 *
 * Numbers are doubles, as I-JSON says.  Text is therefore parsed with
 * jansson's JSON_DECODE_INT_AS_REAL, so 9007199254740993 reads as the
 * double 9007199254740992, exactly as a JavaScript parser would, and no
 * integer is too large to parse (a number beyond the double range is an
 * error).  A json_t built in C may hold a json_integer: it is written as
 * that double only when its magnitude is at most 2^53, where the
 * conversion is exact; a larger one is an error, never silently rounded.
 */


#ifndef _GW_JCS_H_INCLUDED_
#define _GW_JCS_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


#define GW_JCS_MAX_DEPTH   64           /* nesting of arrays and objects */
#define GW_JCS_MAX_LEN     (1024 * 1024)    /* text input cap, bytes */
#define GW_JCS_NUMBER_LEN  32           /* gw_jcs_number() buffer, bytes */


/*
 * Canonicalizes json into a new buffer *out (malloc(), NUL-terminated,
 * *out_len bytes without the NUL; the caller frees it).  Rejects: nesting
 * deeper than GW_JCS_MAX_DEPTH, a string or name that is not well-formed
 * UTF-8, a json_integer beyond +-2^53.  Returns 0, or -1 with *err set to
 * a static reason and *out NULL.
 */
int gw_jcs_encode(const json_t *json, unsigned char **out, size_t *out_len,
    const char **err);

/*
 * Parses text (len bytes, at most GW_JCS_MAX_LEN) as I-JSON, numbers as
 * doubles and duplicate names rejected, then canonicalizes it as
 * gw_jcs_encode() does.  Any JSON value may be at the top.
 */
int gw_jcs_canonicalize(const unsigned char *text, size_t len,
    unsigned char **out, size_t *out_len, const char **err);

/*
 * Writes the finite double d as ECMAScript writes it (-0 as "0") into buf
 * (GW_JCS_NUMBER_LEN bytes), NUL-terminated.  Returns the length, or -1
 * for NaN and the infinities.
 */
int gw_jcs_number(double d, char *buf);


#endif /* _GW_JCS_H_INCLUDED_ */
