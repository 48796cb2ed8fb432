
/*
 * Copyright (C) Tollgate
 *
 * Inside lib/template: a compiled template is a flat array of nodes in
 * document order; a section's body is the nodes after it up to its end
 * index, so rendering never searches for a close tag.
 */


#ifndef _GW_TEMPLATE_INT_H_INCLUDED_
#define _GW_TEMPLATE_INT_H_INCLUDED_


#include "gw_template.h"


typedef enum {
    GW_TMPL_N_TEXT = 0,     /* text[start, start + len) as is */
    GW_TMPL_N_VAR,          /* a variable: its name at text[start] */
    GW_TMPL_N_SECTION,      /* {{#name}}: nodes up to end */
    GW_TMPL_N_INVERTED      /* {{^name}}: nodes up to end */
} gw_tmpl_node_e;


typedef struct {
    gw_tmpl_node_e       type;
    unsigned             url:1;         /* the |url filter */
    unsigned             in_string:1;   /* json: inside a string literal */
    size_t               offset;        /* of the tag, in the template */
    size_t               start;
    size_t               len;
    size_t               end;           /* a section: the node after it */
} gw_tmpl_node_t;


struct gw_tmpl_s {
    gw_tmpl_opts_t       opts;
    char                *text;          /* a copy of the template */
    size_t               len;
    gw_tmpl_node_t      *nodes;
    size_t               n;
    size_t               nalloc;
};

/* one rendering (gw_template_render.c) */
typedef struct {
    const gw_tmpl_t     *t;
    char                *out;
    size_t               len;
    size_t               cap;
    size_t               max;
    size_t               iters;
    size_t               iter_max;
    size_t               nscopes;
    unsigned             oom;           /* an append ran out of memory */
    json_t              *scopes[GW_TMPL_DEPTH_MAX + 1];
    char                 ptrs[GW_TMPL_DEPTH_MAX + 1][GW_TMPL_POINTER_MAX];
    gw_tmpl_err_t       *err;
} gw_tmpl_run_t;


/*
 * gw_template_escape.c: appending to the output, escaped for a context,
 * and the check of a value for control characters.  0, or -1 past the
 * output cap or out of memory (r->oom set); gw_tmpl_controls(): 0, or
 * -1 when p holds a control character.
 */
int gw_tmpl_append(gw_tmpl_run_t *r, const char *p, size_t len);
int gw_tmpl_escape(gw_tmpl_run_t *r, const unsigned char *p, size_t len,
    gw_tmpl_context_e ctx);
int gw_tmpl_controls(const gw_tmpl_run_t *r, const unsigned char *p,
    size_t len);


#endif /* _GW_TEMPLATE_INT_H_INCLUDED_ */
