
/*
 * Copyright (C) Tollgate
 *
 * Strict base64url (RFC 4648 section 5) as JWS compact serialisation needs
 * it: the URL-safe alphabet only, no padding, no white space, and the unused
 * low bits of the last symbol must be zero, so that one byte string has
 * exactly one encoding.  A token that another decoder would "repair" is
 * rejected here instead.
 */


#ifndef _GW_B64URL_H_INCLUDED_
#define _GW_B64URL_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


/* bytes needed to decode len symbols (an upper bound is exact here) */
#define gw_b64url_decoded_len(len)  (((len) / 4) * 3 + ((len) % 4) * 3 / 4)

/* symbols produced by encoding len bytes */
#define gw_b64url_encoded_len(len)  (((len) / 3) * 4 + ((len) % 3 * 4 + 2) / 3)


/*
 * Decodes len symbols from src into dst, which holds at least
 * gw_b64url_decoded_len(len) bytes.  Rejects: any byte outside
 * [A-Za-z0-9_-] (including '=', '+', '/', white space), a length with
 * len % 4 == 1, and non-zero trailing bits.  Returns the decoded length,
 * or -1.
 */
ssize_t gw_b64url_decode(unsigned char *dst, const unsigned char *src,
    size_t len);

/* Encodes len bytes without padding; returns the symbols written. */
size_t gw_b64url_encode(unsigned char *dst, const unsigned char *src,
    size_t len);


#endif /* _GW_B64URL_H_INCLUDED_ */
