
/*
 * Copyright (C) Tollgate
 *
 * Parsing request bodies for gw_validate_body, fast and within caps.
 *
 * Before parsing, one pass over the text caps its nesting at
 * gw_validate_depth; parsing is lib/jsonschema's fast parser with
 * JSON_REJECT_DUPLICATES: a duplicate key shows there as an object with
 * fewer members than it was given, and only then is the text parsed
 * again by jansson, for the error's line and column.
 *
 * The parsed tree lives in a per-worker arena: jansson allocates through
 * functions set here, which, only while a body is parsed, carve its many
 * small blocks out of one buffer (malloc() past its end), and which free
 * nothing that lies in it; after validation the tree is dropped at once.
 * In a worker, whose own allocations interleave with the tree's, that
 * halves the cost of a parse, malloc()'s share of it.
 */


#include <stdlib.h>

#include "ngx_http_gw_validate.h"


#define NGX_HTTP_GW_VALIDATE_ARENA  (256 * 1024)    /* bytes per worker */


static void *ngx_http_gw_validate_json_alloc(size_t size);
static void ngx_http_gw_validate_json_free(void *p);


/* the worker's arena for parsed bodies */
static u_char      *ngx_http_gw_validate_arena;
static u_char      *ngx_http_gw_validate_arena_pos;
static u_char      *ngx_http_gw_validate_arena_end;
static ngx_uint_t   ngx_http_gw_validate_arena_on;
static ngx_uint_t   ngx_http_gw_validate_arena_spilled;


/*
 * gw_schema_json_loadb() with the tree in the arena.  The tree must be
 * released (ngx_http_gw_validate_release()) before the next parse reuses
 * the arena.
 */

json_t *
ngx_http_gw_validate_parse(u_char *text, size_t len, json_error_t *err)
{
    json_t  *j;

    if (ngx_http_gw_validate_arena == NULL) {
        ngx_http_gw_validate_arena = malloc(NGX_HTTP_GW_VALIDATE_ARENA);

        if (ngx_http_gw_validate_arena != NULL) {
            ngx_http_gw_validate_arena_end = ngx_http_gw_validate_arena
                                             + NGX_HTTP_GW_VALIDATE_ARENA;
            json_set_alloc_funcs(ngx_http_gw_validate_json_alloc,
                                 ngx_http_gw_validate_json_free);
        }
    }

    ngx_http_gw_validate_arena_pos = ngx_http_gw_validate_arena;
    ngx_http_gw_validate_arena_spilled = 0;
    ngx_http_gw_validate_arena_on = 1;

    j = gw_schema_json_loadb((char *) text, len,
                             JSON_DECODE_ANY|JSON_ALLOW_NUL
                             |JSON_REJECT_DUPLICATES, err);

    ngx_http_gw_validate_arena_on = 0;

    return j;
}


/*
 * Drops a parsed tree: at once when it lies wholly in the arena (nothing
 * else refers to it), otherwise with json_decref(), which frees what
 * spilled to malloc() and skips the arena's blocks.
 */

void
ngx_http_gw_validate_release(json_t *j)
{
    if (ngx_http_gw_validate_arena_spilled
        || (u_char *) j < ngx_http_gw_validate_arena
        || (u_char *) j >= ngx_http_gw_validate_arena_end)
    {
        json_decref(j);
    }
}


/*
 * jansson's allocator for the whole worker: from the arena while a body
 * is parsed, else malloc(); blocks in the arena are never freed one by
 * one.
 */

static void *
ngx_http_gw_validate_json_alloc(size_t size)
{
    u_char  *p;

    if (ngx_http_gw_validate_arena_on) {
        size = ngx_align(size, 16);

        if ((size_t) (ngx_http_gw_validate_arena_end
                      - ngx_http_gw_validate_arena_pos) >= size)
        {
            p = ngx_http_gw_validate_arena_pos;
            ngx_http_gw_validate_arena_pos += size;
            return p;
        }

        ngx_http_gw_validate_arena_spilled = 1;
    }

    return malloc(size);
}


static void
ngx_http_gw_validate_json_free(void *p)
{
    if ((u_char *) p >= ngx_http_gw_validate_arena
        && (u_char *) p < ngx_http_gw_validate_arena_end)
    {
        return;
    }

    free(p);
}


/*
 * One pass over JSON text: returns len, or the offset of the bracket that
 * nests deeper than max.  The text is not otherwise checked: the parser
 * does that next.
 */

size_t
ngx_http_gw_validate_scan(u_char *p, size_t len, ngx_uint_t max)
{
    size_t      i;
    ngx_uint_t  depth;

    depth = 0;

    for (i = 0; i < len; i++) {

        switch (p[i]) {

        case '"':
            for (i++; i < len && p[i] != '"'; i++) {
                if (p[i] == '\\') {
                    i++;
                }
            }

            break;

        case '{':
        case '[':
            if (++depth > max) {
                return i;
            }

            break;

        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }

            break;
        }
    }

    return len;
}


/* the worker exits: jansson back to malloc(), the arena freed */

void
ngx_http_gw_validate_json_exit(void)
{
    if (ngx_http_gw_validate_arena == NULL) {
        return;
    }

    json_set_alloc_funcs(malloc, free);

    free(ngx_http_gw_validate_arena);
    ngx_http_gw_validate_arena = NULL;
    ngx_http_gw_validate_arena_pos = NULL;
    ngx_http_gw_validate_arena_end = NULL;
}
