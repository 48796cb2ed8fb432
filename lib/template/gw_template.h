
/*
 * Copyright (C) Tollgate
 *
 * Logic-less templates (docs/notification-templates.md): what the
 * notification service renders its subjects, bodies and webhook payloads
 * with, and what the metadata service compiles a templates entity with
 * when it is stored.
 *
 *   {{name}} {{a.b.c}} {{.}}     a variable, escaped by the context
 *   {{name|url}}                 percent-encoded first, then escaped
 *   {{#x}}...{{/x}}              a section: once per item of an array,
 *                                once for any other value but false,
 *                                null, "" and [], which render nothing
 *   {{^x}}...{{/x}}              inverted: only when the section would
 *                                render nothing
 *   {{! comment }}
 *
 * The key decision: a template is compiled for one context (text, html,
 * json, url) and every value is escaped for it at render time; there is
 * no unescaped form, so a value can never become markup, JSON structure
 * or a header line, and a value is output once, never read again as a
 * template.  A variable that resolves to nothing is an error naming its
 * JSON pointer in the data: only a section may test for absence.
 *
 * In the json context, a variable inside a JSON string literal of the
 * template ("Hello {{name}}") is written as string content (escaped,
 * without quotes); one outside a string literal ({"n": {{count}}}) is
 * written as the JSON encoding of its value (a string quoted, an object
 * as JSON).  The whole output must then parse as one JSON value: that is
 * checked, so a render in the json context never returns bad JSON.
 *
 * Values must be valid UTF-8 without NUL (else refused).  In the text and html
 * contexts a value with a control character other than \n and \t is
 * refused (it could end an email header or forge a log line); with
 * one_line, \n and \t too.  The json and url contexts escape them.
 */


#ifndef _GW_TEMPLATE_H_INCLUDED_
#define _GW_TEMPLATE_H_INCLUDED_


#include <stddef.h>

#include <jansson.h>


#define GW_TMPL_SIZE_MAX     65536      /* bytes of a template */
#define GW_TMPL_DEPTH_MAX    16         /* sections inside sections */
#define GW_TMPL_OUTPUT_MAX   1048576    /* bytes rendered, by default */
#define GW_TMPL_ITER_MAX     100000     /* section runs per render, default */
#define GW_TMPL_PATH_MAX     256        /* bytes of a variable's name */
#define GW_TMPL_POINTER_MAX  512        /* bytes of an error's pointer */


typedef enum {
    GW_TMPL_TEXT = 0,       /* as is, control characters refused */
    GW_TMPL_HTML,           /* & < > " ' ` = as character references */
    GW_TMPL_JSON,           /* JSON string content or JSON values */
    GW_TMPL_URL             /* RFC 3986 unreserved kept, others %XX */
} gw_tmpl_context_e;


typedef struct {
    gw_tmpl_context_e    context;
    unsigned             one_line;      /* text: an email header's value */
    size_t               output_max;    /* 0: GW_TMPL_OUTPUT_MAX */
    size_t               iter_max;      /* 0: GW_TMPL_ITER_MAX */
    const char          *pointer_root;  /* before every error pointer
                                           ("/data"); NULL: none.  Not
                                           copied: it must outlive t */
} gw_tmpl_opts_t;


/*
 * An error: offset is the byte of the template where it was found (a
 * tag's first brace); pointer, for a render error about a value, the
 * JSON pointer of that value in the data ("/customer/name"), else "".
 */
typedef struct {
    size_t               offset;
    char                 pointer[GW_TMPL_POINTER_MAX];
    char                 message[256];
} gw_tmpl_err_t;


typedef struct gw_tmpl_s  gw_tmpl_t;


/*
 * Compiles text (len bytes, at most GW_TMPL_SIZE_MAX, valid UTF-8 without
 * NUL) for the context and options of opts (copied; NULL: text).
 * Refuses unclosed tags and sections, a close that does not match, a
 * name that is not "." nor segments of [A-Za-z0-9_-] joined by dots, an
 * unknown filter, nesting past GW_TMPL_DEPTH_MAX; with one_line, a
 * control character in the text; in the json context, a section that
 * opens or closes a JSON string, and a variable after a backslash
 * inside one.  Returns the template, or NULL with err filled (its
 * message "out of memory" when that is why).  The template does not
 * refer to text afterwards.
 */
gw_tmpl_t *gw_tmpl_compile(const char *text, size_t len,
    const gw_tmpl_opts_t *opts, gw_tmpl_err_t *err);

/*
 * Renders t with data as the outermost scope (any JSON value; a name is
 * looked up in the innermost scope that is an object holding it, then
 * outwards).  *out gets a malloc()ed NUL-terminated string of *len bytes
 * (the caller frees it).  0, or -1 with err filled: an unknown variable,
 * a value the context refuses (an object outside the json context,
 * control characters, invalid UTF-8), the output or iteration cap, the
 * json context's output not being JSON, out of memory.
 */
int gw_tmpl_render(const gw_tmpl_t *t, json_t *data, char **out,
    size_t *len, gw_tmpl_err_t *err);

void gw_tmpl_free(gw_tmpl_t *t);

/*
 * Checks that s (len bytes) is valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF).  Returns the offset of the first
 * bad byte, or len when valid.
 */
size_t gw_tmpl_utf8_check(const unsigned char *s, size_t len);


#endif /* _GW_TEMPLATE_H_INCLUDED_ */
