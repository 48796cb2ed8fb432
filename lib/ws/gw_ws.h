
/*
 * Copyright (C) Tollgate
 *
 * The parts of WebSocket (RFC 6455) a push subscriber needs, without
 * nginx types so that a unit test reaches them: the handshake's checks
 * and Sec-WebSocket-Accept, the header of a server frame, and the parser
 * of a client frame's header with the server's policy in it.
 *
 * The policy: a push subscriber only listens.  A client may ping (the
 * server answers pong with the same payload), pong (ignored) and close
 * (answered with a close carrying the same code, then the connection
 * ends); a text, binary or continuation frame is refused with 1003, an
 * unmasked frame, a reserved bit or opcode, a fragmented or long (over
 * 125 bytes) control frame with 1002, and a frame longer than the cap
 * the caller gives with 1009, before any of its payload is read.
 */


#ifndef _GW_WS_H_INCLUDED_
#define _GW_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_WS_KEY_LEN         24      /* base64 of 16 bytes, "==" ended */
#define GW_WS_ACCEPT_LEN      28      /* base64 of a SHA-1 (20 bytes) */
#define GW_WS_HEAD_MAX        14      /* 2 + 8 (length) + 4 (mask) */
#define GW_WS_CONTROL_MAX     125

#define GW_WS_CONT            0x0
#define GW_WS_TEXT            0x1
#define GW_WS_BINARY          0x2
#define GW_WS_CLOSE           0x8
#define GW_WS_PING            0x9
#define GW_WS_PONG            0xa

#define GW_WS_AGAIN           0       /* the header is not all there */

#define GW_WS_NORMAL          1000
#define GW_WS_GOING_AWAY      1001
#define GW_WS_PROTOCOL_ERROR  1002
#define GW_WS_UNACCEPTABLE    1003
#define GW_WS_INVALID_DATA    1007
#define GW_WS_TOO_BIG         1009


/* a client frame's header, as gw_ws_parse_head() read it */
typedef struct {
    unsigned                opcode;
    uint64_t                len;        /* of the payload, bytes */
    size_t                  head;       /* of the header, bytes */
    unsigned char           mask[4];
} gw_ws_frame_t;


/*
 * 1 when key (len bytes, a Sec-WebSocket-Key's value) is the canonical
 * base64 of 16 bytes: 22 characters of the standard alphabet, the last
 * with its 4 unused bits zero, then "==".  Else 0.
 */
int gw_ws_key_valid(const unsigned char *key, size_t len);

/*
 * Writes the Sec-WebSocket-Accept for key into out (GW_WS_ACCEPT_LEN
 * bytes, not NUL-terminated): base64(SHA-1(key + the RFC's GUID)).
 * 0, or -1 when OpenSSL fails.
 */
int gw_ws_accept(unsigned char *out, const unsigned char *key, size_t len);

/*
 * 1 when the comma-separated list v (len bytes, a header's value) has an
 * element equal to token, ignoring case and the blanks around elements;
 * else 0.
 */
int gw_ws_list_has(const unsigned char *v, size_t len, const char *token);

/* the length of the header of a server frame with a len-byte payload */
size_t gw_ws_head_len(uint64_t len);

/*
 * Writes the header of an unfragmented (FIN), unmasked server frame of
 * opcode with a len-byte payload into out (gw_ws_head_len(len) bytes,
 * at most 10), the length in 7, 16 or 64 bits as the RFC wants it (the
 * fewest).  Returns the header's length.
 */
size_t gw_ws_head(unsigned char *out, unsigned opcode, uint64_t len);

/*
 * Writes a close frame into out (at most 4 bytes): with code when it is
 * not 0, else empty.  Returns its length.
 */
size_t gw_ws_close_frame(unsigned char *out, unsigned code);

/*
 * Reads the header of the client frame at p (n bytes there) into f.
 * Returns GW_WS_AGAIN when more bytes are needed; 1 when f is read (its
 * payload is f->len bytes after f->head, still masked); or the close
 * code that refuses the frame (see the policy above; a payload longer
 * than max is GW_WS_TOO_BIG).
 */
int gw_ws_parse_head(gw_ws_frame_t *f, const unsigned char *p, size_t n,
    uint64_t max);

/* unmasks n bytes at p, the payload's bytes from offset off on */
void gw_ws_unmask(unsigned char *p, size_t n, const unsigned char *mask,
    uint64_t off);

/*
 * What a client's close frame (its unmasked payload p, n bytes) asks:
 * the code to answer with (the client's), 0 for an empty close (answered
 * empty), or GW_WS_PROTOCOL_ERROR for a 1-byte payload or a code no
 * endpoint may send, GW_WS_INVALID_DATA for a reason not in UTF-8.
 */
unsigned gw_ws_close_code(const unsigned char *p, size_t n);

/*
 * The length (1 to 4) of the UTF-8 sequence at p (n bytes there), or 0
 * when it is not one: cut, overlong, a surrogate, past U+10FFFF.
 */
size_t gw_ws_utf8_seq(const unsigned char *p, size_t n);


#endif /* _GW_WS_H_INCLUDED_ */
