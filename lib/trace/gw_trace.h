
/*
 * Copyright (C) Tollgate
 *
 * Request correlation, the pure part: W3C Trace Context `traceparent`
 * headers and the rules for an `X-Request-ID`.  Gateway and backends
 * follow the same rules, so they live here, without nginx or libevent
 * types, for both to link.
 *
 * traceparent is "VV-TTTT...(32)-PPPP...(16)-FF": version, trace id,
 * parent (span) id and flags, lowercase hex.  Version 00 is exactly 55
 * characters; version ff is invalid; a later version is read by its first
 * four fields, and must go on with a '-' after them when it is longer.
 * All-zero trace or parent ids are invalid.
 *
 * A request id is 1 to GW_REQUEST_ID_MAX bytes of [A-Za-z0-9._:-]; the
 * gateway's own rule (docs/errors.md), so an id it forwards is kept.
 */


#ifndef _GW_TRACE_H_INCLUDED_
#define _GW_TRACE_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


#define GW_TRACEPARENT_LEN   55     /* version 00, and what we write */
#define GW_TRACEPARENT_MAX   512    /* longest header we look at */
#define GW_TRACE_SAMPLED     0x01
#define GW_REQUEST_ID_MAX    128
#define GW_REQUEST_ID_GEN    32     /* hex digits of a generated id */


typedef struct {
    unsigned   version;
    u_char     trace_id[16];
    u_char     parent_id[8];
    unsigned   flags;
} gw_traceparent_t;


/*
 * Parses a traceparent header value of len bytes (not NUL-terminated).
 * Returns 0 and fills *tp, or -1 when the value is invalid; *tp is
 * undefined then.
 */
int gw_traceparent_parse(const char *s, size_t len, gw_traceparent_t *tp);

/*
 * Writes tp as a version 00 header, GW_TRACEPARENT_LEN characters and a
 * NUL (out holds GW_TRACEPARENT_LEN + 1 bytes); returns the length.
 * Versions other than 00 are written as 00, as the spec asks.
 */
size_t gw_traceparent_format(const gw_traceparent_t *tp, char *out);

/* 1 when s (len bytes) is an acceptable X-Request-ID, else 0 */
int gw_request_id_valid(const char *s, size_t len);

/*
 * Random ids from the OpenSSL generator: any of trace_id (16 bytes),
 * span_id (8 bytes) and request_id (GW_REQUEST_ID_GEN hex characters and
 * a NUL) may be NULL.  Ids are never all zero.  Returns 0, or -1 when
 * the generator fails.
 */
int gw_trace_random_ids(u_char *trace_id, u_char *span_id,
    char *request_id);

/* writes len bytes as 2 * len lowercase hex characters and a NUL */
void gw_trace_hex(char *out, const u_char *p, size_t len);


#endif /* _GW_TRACE_H_INCLUDED_ */
