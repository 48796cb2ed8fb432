
/*
 * Copyright (C) Tollgate
 *
 * The route matcher: (method, host, path, headers, query) -> the best
 * route of a set, and the values of its path's template variables.
 * Rules and priority are in docs/routing.md; this is the C contract.
 *
 * gw_router_build() turns an array of definitions into ONE immutable
 * block of memory, got from the caller's allocator.  The block holds no
 * pointer, only offsets from its own start, so it can be copied (into
 * nginx shared memory, say) and used at whatever address each process
 * maps it.  Lookups are hashes (exact hosts, wildcard hosts by the part
 * after their first label, exact paths) and a segment trie (templated
 * and prefix paths), one per host: a match costs the same at 10 routes
 * as at 100,000.  Regular expressions are the exception: they are tried
 * one by one, in priority order, and only while one could still beat
 * the best non-regex candidate.
 *
 * Compiled regexes cannot live in a shared block, so the block keeps
 * their sources, and each process compiles them once into its own
 * gw_router_re_t (gw_router_re_create()), bound to the block's
 * generation: gw_router_match() refuses a cache made for another
 * generation instead of using stale code.  Callers give each block a
 * generation of their own (a configuration revision), distinct for
 * distinct blocks.
 *
 * Matching allocates nothing (with PCRE2's JIT; see gw_router_re_create)
 * and writes no memory but its result.
 */


#ifndef _GW_ROUTER_H_INCLUDED_
#define _GW_ROUTER_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* caps: every one is checked by gw_router_build() with a clear error */
#define GW_ROUTER_ROUTES_MAX     1000000
#define GW_ROUTER_PATHS_MAX      16         /* per route */
#define GW_ROUTER_HOSTS_MAX      16         /* per route */
#define GW_ROUTER_CONDS_MAX      8          /* headers, and args, per route */
#define GW_ROUTER_VARS_MAX       16         /* variables per path */
#define GW_ROUTER_SEGMENTS_MAX   32         /* segments per path pattern */
#define GW_ROUTER_SEGMENT_MAX    255        /* bytes of one segment */
#define GW_ROUTER_PATH_MAX       1024       /* bytes of a path pattern */
#define GW_ROUTER_HOST_MAX       253        /* bytes of a host */
#define GW_ROUTER_NAME_MAX       64         /* id, variable, condition name */
#define GW_ROUTER_VALUE_MAX      1024       /* a condition's value */
#define GW_ROUTER_PRIORITY_MAX   65535
#define GW_ROUTER_METHODS_N      9          /* methods a route may name */
#define GW_ROUTER_REGEX_MAX      4096       /* regex paths in a block */
#define GW_ROUTER_RE_LIMIT       100000     /* PCRE2 match limit (steps) */
#define GW_ROUTER_RE_DEPTH       1000       /* PCRE2 depth limit */

/*
 * pcre2_compile() options of a regex path: none (byte-wise, no UTF,
 * case-sensitive, unanchored).  The gateway (gw_router_re_create()), the
 * build's check and the metadata service's probe of a regex all compile
 * with these, so that the probe tests the code the gateway runs.
 */
#define GW_ROUTER_RE_OPTIONS     0

/* gw_router_match() */
#define GW_ROUTER_OK       0
#define GW_ROUTER_NONE     1                /* no route matches */
#define GW_ROUTER_ERROR   -1                /* stale cache, regex failure */


typedef struct gw_router_s       gw_router_t;
typedef struct gw_router_re_s    gw_router_re_t;
typedef struct gw_router_work_s  gw_router_work_t;


/* a header or query argument condition; value NULL: present, any value */
typedef struct {
    const char          *name;
    const char          *value;
} gw_router_cond_t;


typedef struct {
    const char              *id;
    unsigned                 priority;      /* higher wins */
    const char *const       *hosts;         /* "a.example.com", "*.b.com" */
    size_t                   nhosts;        /* 0: any host */
    const char *const       *paths;         /* exact, prefix, {var}, ~re */
    size_t                   npaths;        /* at least 1 */
    const char *const       *methods;       /* "GET", ... (the nine) */
    size_t                   nmethods;      /* 0: any method */
    const gw_router_cond_t  *headers;
    size_t                   nheaders;
    const gw_router_cond_t  *args;
    size_t                   nargs;
} gw_router_def_t;


typedef void *(*gw_router_alloc_pt)(void *ctx, size_t size);

typedef struct {
    uint64_t             generation;
    gw_router_alloc_pt   alloc;             /* NULL: malloc() */
    void                *ctx;
} gw_router_conf_t;


/* why a build failed: the route at fault (-1: none) and the message */
typedef struct {
    long                 route;
    char                 msg[512];
} gw_router_err_t;


/*
 * Reads a request header by name (case-insensitive, as HTTP says);
 * returns 1 and sets *value, *len when present, 0 when absent.
 */
typedef int (*gw_router_header_pt)(void *ctx, const char *name, size_t nlen,
    const char **value, size_t *len);

typedef struct {
    const char            *method;
    size_t                 method_len;
    const char            *host;            /* no port; any case */
    size_t                 host_len;
    const char            *path;            /* normalized, without query */
    size_t                 path_len;
    const char            *args;            /* raw query, without '?' */
    size_t                 args_len;
    gw_router_header_pt    header;          /* NULL: no header is present */
    void                  *ctx;
} gw_router_req_t;


/* a template variable: its name (in the block) and value (in the path) */
typedef struct {
    const char            *name;
    size_t                 name_len;
    size_t                 off;             /* bytes from the path's start */
    size_t                 len;
} gw_router_var_t;

typedef struct {
    uint32_t               route;           /* index in the definitions */
    uint32_t               path;            /* index in its paths[] */
    const char            *id;              /* in the block */
    size_t                 id_len;
    unsigned               nvars;
    gw_router_var_t        vars[GW_ROUTER_VARS_MAX];
} gw_router_match_t;


/*
 * Builds the block of n definitions.  Accepts: definitions within the
 * caps, as docs/routing.md describes them.  Rejects, with err naming the
 * route and member: malformed hosts, paths, methods and conditions,
 * duplicate members or variable names, regexes that do not compile, two
 * routes that would match the same requests with nothing to choose
 * between them, and every cap exceeded.  Returns the block (the caller
 * owns it: free() it when conf->alloc was NULL), or NULL with err set.
 * Uses malloc() for its own work, freed before it returns.
 */
gw_router_t *gw_router_build(const gw_router_def_t *defs, size_t n,
    const gw_router_conf_t *conf, gw_router_err_t *err);

/*
 * The same, with the builder's working memory taken from work and left
 * there for the next build instead of freed: a process that builds
 * again and again (a gateway's builder) allocates and faults in its
 * arrays once, not every time.  work NULL: gw_router_build().  The
 * block, and every error, are exactly gw_router_build()'s.  A work
 * holds as much memory as the largest build it served, until freed; it
 * serves one build at a time.
 */
gw_router_t *gw_router_build_in(const gw_router_def_t *defs, size_t n,
    const gw_router_conf_t *conf, gw_router_work_t *work,
    gw_router_err_t *err);
gw_router_work_t *gw_router_work_create(void);     /* NULL: no memory */
void gw_router_work_free(gw_router_work_t *work);

/* the block's size in bytes (to copy it), routes and generation */
size_t gw_router_size(const gw_router_t *rt);
size_t gw_router_routes(const gw_router_t *rt);
uint64_t gw_router_generation(const gw_router_t *rt);

/*
 * Compiles the block's regexes for this process (JIT when PCRE2 has it),
 * with match data and limits (GW_ROUTER_RE_LIMIT, GW_ROUTER_RE_DEPTH)
 * made once, so that matching allocates nothing.  Returns the cache
 * (free it with gw_router_re_free()), or NULL with err set.  A block
 * without regexes needs no cache: gw_router_match() accepts NULL.
 */
gw_router_re_t *gw_router_re_create(const gw_router_t *rt,
    gw_router_err_t *err);
void gw_router_re_free(gw_router_re_t *re);
int gw_router_re_jit(const gw_router_re_t *re);

/*
 * Finds the best route for req.  Returns GW_ROUTER_OK with *m set,
 * GW_ROUTER_NONE, or GW_ROUTER_ERROR when regex routes had to be tried
 * and re is NULL or of another generation, or PCRE2 failed (the match
 * limit hit: the regex route is taken as not matching, not an error).
 */
int gw_router_match(const gw_router_t *rt, const gw_router_re_t *re,
    const gw_router_req_t *req, gw_router_match_t *m);

/*
 * The i-th of the GW_ROUTER_METHODS_N methods a route may name ("GET",
 * "HEAD", ... "TRACE"), or NULL when i is past them: what a route that
 * names no method stands for.
 */
const char *gw_router_method(size_t i);


#endif /* _GW_ROUTER_H_INCLUDED_ */
