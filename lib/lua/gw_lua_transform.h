
/*
 * Copyright (C) Tollgate
 *
 * The "transform" contract: record-at-a-time Lua functions, run in a
 * sandboxed state (gw_lua.h), that the processing engine plugs in as they
 * are (docs/plugins-sandbox.md, "Transforms").
 *
 * The text of a transform is a chunk that returns either a function
 * (record, ctx) or a table whose member "transform" is that function:
 *
 *     return function (rec, ctx)
 *         if rec.status >= 500 then
 *             return nil                          -- drop it
 *         end
 *         rec.stream = ctx.stream
 *         rec.limit = ctx.params.limit
 *         return rec                              -- one record out
 *     end
 *
 * record: a JSON object, given as a fresh Lua table (json module mapping)
 * that the function may change and return.
 * ctx: a fresh table per record with
 *     ctx.params   the JSON given to gw_lua_transform_new() (one table
 *                  for the life of the state: read it, do not change it)
 *     ctx.emit(r)  appends record r to the output at once (a copy: later
 *                  changes to r do not show); an error if r is not an
 *                  object or past GW_LUA_TRANSFORM_OUT_MAX records
 *     ctx.<name>   every member of the metadata object given to
 *                  gw_lua_transform_run() (stream, key, time, ...), but
 *                  "params" and "emit"
 * The records out are those emitted, in order, then those returned:
 *     nil, false or nothing    none
 *     a table with string keys one record (an object; {} is a record)
 *     a list (keys 1..n, or json.array(...), possibly empty)
 *                              its elements, each an object
 * Anything else is an error.  Errors, the budget, the memory cap and the
 * watchdog come back as gw_lua_rc_e values; a state the watchdog stopped
 * is replaced by loading the text again at the next record.
 */


#ifndef _GW_LUA_TRANSFORM_H_INCLUDED_
#define _GW_LUA_TRANSFORM_H_INCLUDED_


#include <jansson.h>

#include "gw_lua.h"


#define GW_LUA_TRANSFORM_OUT_MAX  10000


typedef struct gw_lua_transform_s  gw_lua_transform_t;


/*
 * A transform from its text (named name in messages) with its parameters
 * (any JSON; NULL: null; referenced, not copied), or NULL with err set:
 * the chunk fails to load or run, or does not return a function or a
 * table with a "transform" function.
 */
gw_lua_transform_t *gw_lua_transform_new(const gw_lua_conf_t *conf,
    const char *name, const char *text, size_t len, json_t *params,
    gw_lua_err_t *err);

/*
 * Runs the transform on record (a JSON object) with the metadata meta (a
 * JSON object or NULL).  GW_LUA_OK: *out is a new JSON array of the
 * records out (objects), owned by the caller.  Otherwise *out is NULL and
 * err says why; the records emitted before the failure are dropped.
 */
gw_lua_rc_e gw_lua_transform_run(gw_lua_transform_t *t, json_t *record,
    json_t *meta, json_t **out, gw_lua_err_t *err);

/* the state in use (for its memory), NULL between a stop and a reload */
gw_lua_t *gw_lua_transform_lua(gw_lua_transform_t *t);

/* how many times the state was replaced after a stop */
unsigned gw_lua_transform_reloads(gw_lua_transform_t *t);

/* NULL is accepted */
void gw_lua_transform_free(gw_lua_transform_t *t);


#endif /* _GW_LUA_TRANSFORM_H_INCLUDED_ */
