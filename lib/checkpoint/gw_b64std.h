
/*
 * Copyright (C) Tollgate
 *
 * Strict standard base64 (RFC 4648 section 4), as signed notes, checkpoints
 * and note keys spell their bytes: the "+/" alphabet, '=' padding to a
 * multiple of four, no white space, and zero bits past the end of the last
 * byte, so one byte string has exactly one accepted spelling.
 */


#ifndef _GW_B64STD_H_INCLUDED_
#define _GW_B64STD_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


/* symbols produced by encoding len bytes, padding included */
#define gw_b64std_encoded_len(len)  (((len) + 2) / 3 * 4)

/* an upper bound of the bytes that len symbols decode to */
#define gw_b64std_decoded_max(len)  ((len) / 4 * 3)


/*
 * Decodes len symbols into dst (gw_b64std_decoded_max(len) bytes), or
 * only checks them when dst is NULL.  Returns the decoded length, or -1.
 */
ssize_t gw_b64std_decode(unsigned char *dst, const unsigned char *src,
    size_t len);

/* Encodes len bytes with padding; returns the symbols written. */
size_t gw_b64std_encode(unsigned char *dst, const unsigned char *src,
    size_t len);


#endif /* _GW_B64STD_H_INCLUDED_ */
