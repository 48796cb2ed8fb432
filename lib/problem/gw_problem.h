
/*
 * Copyright (C) Tollgate
 *
 * RFC 9457 problem details: the one body every Tollgate error uses,
 * {"type", "title", "status", "detail", "request_id"} plus, for validation
 * errors, extra members rendered by the caller.  Strings are escaped so the
 * body is always valid JSON: control characters become \u00XX and bytes
 * that are not well-formed UTF-8 become U+FFFD.
 */


#ifndef _GW_PROBLEM_H_INCLUDED_
#define _GW_PROBLEM_H_INCLUDED_


#include <stddef.h>


typedef struct {
    int                   status;
    const char           *type;         /* a URI, e.g. urn:tollgate:... */
    const char           *title;
    const unsigned char  *detail;
    size_t                detail_len;
    const unsigned char  *request_id;
    size_t                request_id_len;
    const unsigned char  *extra;        /* raw JSON members, e.g.
                                           "errors":[...]; NULL: none */
    size_t                extra_len;
} gw_problem_t;


/* the exact size of the body gw_problem_write() produces */
size_t gw_problem_len(const gw_problem_t *p);

/* writes the body at dst (gw_problem_len() bytes); returns its end */
unsigned char *gw_problem_write(unsigned char *dst, const gw_problem_t *p);

/* the length of s (len bytes) escaped as a JSON string body */
size_t gw_json_escape_len(const unsigned char *s, size_t len);

/* escapes s into dst (gw_json_escape_len() bytes); returns the end */
unsigned char *gw_json_escape(unsigned char *dst, const unsigned char *s,
    size_t len);


#endif /* _GW_PROBLEM_H_INCLUDED_ */
