
/*
 * Copyright (C) Tollgate
 *
 * The store's Lua scripts (docs/admin-api.md, "Storage and crash
 * safety").  Redis runs a script atomically: no other command runs in
 * between, and a script that returns normally has made all of its
 * writes.  So the commit script checks everything first (phase 1, no
 * write) and writes only when nothing can fail any more (phase 2): a
 * change set is applied whole or not at all, and a revision is never
 * without its log entries and audit events.
 *
 * The documents arrive as JSON strings inside the one JSON argument and
 * are stored and logged as the text they are: Lua never decodes or
 * encodes an entity (cjson would round numbers).
 */


#include "metadata_store.h"


/*
 * ARGV[1]: {"expected": N (-1: any), "check": true (phase 1 only:
 * nothing written), "actor", "rid", "time" (ms, text),
 * "retention": N, "changes": [{"type", "id", "if_version", "doc" (the
 * text; absent: a delete), "refs": [...], "match": [...], "project":
 * [[cmd, arg...], ...], "event" (the audit event's text: an object with
 * at least one member, without id, revision and version_after)}]}.
 *
 * Returns {0, revision, failed projections} (a check: {0, the current
 * revision, 0}) or {code, index (from 0), detail} (MD_SCRIPT_*).
 */
static const char  md_commit_lua[] =
    "local a = cjson.decode(ARGV[1])\n"
    "local ch = a.changes\n"
    "local n = #ch\n"
    "local function has(list, x)\n"
    "  for _, y in ipairs(list) do if y == x then return true end end\n"
    "  return false\n"
    "end\n"
    "local function split(s)\n"
    "  local t = {}\n"
    "  if s then\n"
    "    for x in string.gmatch(s, '[^\\n]+') do t[#t + 1] = x end\n"
    "  end\n"
    "  return t\n"
    "end\n"
    "local function ekey(ref)\n"
    "  return (string.gsub(ref, '/', ':', 1))\n"
    "end\n"
    /* phase 1: every check, nothing written */
    "local rev = tonumber(redis.call('GET', 'gw:md:rev') or '0')\n"
    "if a.expected >= 0 and a.expected ~= rev then\n"
    "  return {2, 0, tostring(rev)}\n"
    "end\n"
    "local last = redis.call('XREVRANGE', 'gw:md:log', '+', '-',"
    " 'COUNT', 1)\n"
    "if last[1] then\n"
    "  local lr = tonumber(string.match(last[1][1], '^(%d+)'))\n"
    "  if lr and lr > rev then return {6, 0, last[1][1]} end\n"
    "end\n"
    "local set = {}\n"
    "for i, c in ipairs(ch) do\n"
    "  c.self = c.type .. '/' .. c.id\n"
    "  c.key = 'gw:md:e:' .. c.type .. ':' .. c.id\n"
    "  set[c.self] = c\n"
    "  local v = redis.call('HGET', c.key, 'v') or '0'\n"
    "  if tonumber(v) ~= c.if_version then return {1, i - 1, v} end\n"
    "  c.vb = v\n"
    "end\n"
    "local function exists(ref)\n"
    "  local c = set[ref]\n"
    "  if c then return c.doc ~= nil end\n"
    "  return redis.call('EXISTS', 'gw:md:e:' .. ekey(ref)) == 1\n"
    "end\n"
    /* a conditioned match key: "<base>\31<n>\31<cond>\31<cond>...",
     * a cond "h<name>=<value>", "h<name>" (present), "a..." for an
     * argument; two keys of one base and n clash unless a name both
     * require has two different values */
    "local function csplit(k)\n"
    "  local p = string.find(k, '\\31', 1, true)\n"
    "  if not p then return nil end\n"
    "  local q = string.find(k, '\\31', p + 1, true) or #k\n"
    "  local t = {}\n"
    "  for x in string.gmatch(string.sub(k, q + 1), '[^\\31]+') do\n"
    "    local e = string.find(x, '=', 1, true)\n"
    "    if e then t[string.sub(x, 1, e - 1)] = string.sub(x, e + 1)\n"
    "    else t[x] = false end\n"
    "  end\n"
    "  return string.sub(k, 1, q), t\n"
    "end\n"
    "local function clash(x, y)\n"
    "  for nm, v in pairs(x) do\n"
    "    local w = y[nm]\n"
    "    if v and w and v ~= w then return false end\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local claimed, ccl = {}, {}\n"
    "for i, c in ipairs(ch) do\n"
    "  if c.doc then\n"
    "    for _, r in ipairs(c.refs) do\n"
    "      if not exists(r) then return {3, i - 1, r} end\n"
    "    end\n"
    "    for _, k in ipairs(c.match) do\n"
    "      local base, ct = csplit(k)\n"
    "      if base then\n"
    "        local l = ccl[base] or {}\n"
    "        ccl[base] = l\n"
    "        for _, o in ipairs(l) do\n"
    "          if o[1] ~= c.self and clash(ct, o[2]) then\n"
    "            return {5, i - 1, k}\n"
    "          end\n"
    "        end\n"
    "        l[#l + 1] = {c.self, ct}\n"
    "        local hs = redis.call('ZRANGEBYLEX', 'gw:md:matchc',"
    " '[' .. base, '(' .. base .. '\\255')\n"
    "        for _, m in ipairs(hs) do\n"
    "          local e = string.find(m, '\\30', 1, true)\n"
    "          local h = string.sub(m, e + 1)\n"
    "          if h ~= c.self and not set[h] then\n"
    "            local _, ot = csplit(string.sub(m, 1, e - 1))\n"
    "            if clash(ct, ot) then return {5, i - 1, k} end\n"
    "          end\n"
    "        end\n"
    "      elseif claimed[k] and claimed[k] ~= c.self then\n"
    "        return {5, i - 1, k}\n"
    "      else\n"
    "        claimed[k] = c.self\n"
    "        local h = redis.call('HGET', 'gw:md:match', k)\n"
    "        if h and h ~= c.self then\n"
    "          local o = set[h]\n"
    "          if not o or (o.doc and has(o.match, k)) then\n"
    "            return {5, i - 1, k}\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  else\n"
    "    local rb = redis.call('SMEMBERS', 'gw:md:rb:' .. ekey(c.self))\n"
    "    table.sort(rb)\n"
    "    for _, r in ipairs(rb) do\n"
    "      local o = set[r]\n"
    "      if not o or (o.doc and has(o.refs, c.self)) then\n"
    "        return {4, i - 1, r}\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if a.check then return {0, rev, 0} end\n"
    /* phase 2: the writes */
    "rev = redis.call('INCR', 'gw:md:rev')\n"
    "local failed = 0\n"
    "for i, c in ipairs(ch) do\n"
    "  local old = redis.call('HMGET', c.key, 'doc', 'refs', 'match')\n"
    "  local orefs, omatch = split(old[2]), split(old[3])\n"
    "  local ix = 'gw:md:ix:' .. c.type\n"
    "  local va = 0\n"
    "  if c.doc then\n"
    "    va = rev\n"
    "    redis.call('HSET', c.key, 'v', rev, 'doc', c.doc,\n"
    "               'refs', table.concat(c.refs, '\\n'),\n"
    "               'match', table.concat(c.match, '\\n'))\n"
    "    redis.call('ZADD', ix, 0, c.id)\n"
    "    redis.call('SADD', 'gw:md:types', c.type)\n"
    "  else\n"
    "    c.refs = {}\n"
    "    c.match = {}\n"
    "    redis.call('DEL', c.key)\n"
    "    redis.call('ZREM', ix, c.id)\n"
    "    if redis.call('ZCARD', ix) == 0 then\n"
    "      redis.call('SREM', 'gw:md:types', c.type)\n"
    "    end\n"
    "  end\n"
    "  for _, r in ipairs(orefs) do\n"
    "    if not has(c.refs, r) then\n"
    "      redis.call('SREM', 'gw:md:rb:' .. ekey(r), c.self)\n"
    "    end\n"
    "  end\n"
    "  for _, r in ipairs(c.refs) do\n"
    "    redis.call('SADD', 'gw:md:rb:' .. ekey(r), c.self)\n"
    "  end\n"
    "  for _, k in ipairs(omatch) do\n"
    "    if has(c.match, k) then\n"
    "    elseif string.find(k, '\\31', 1, true) then\n"
    "      redis.call('ZREM', 'gw:md:matchc', k .. '\\30' .. c.self)\n"
    "    elseif redis.call('HGET', 'gw:md:match', k) == c.self then\n"
    "      redis.call('HDEL', 'gw:md:match', k)\n"
    "    end\n"
    "  end\n"
    "  for _, k in ipairs(c.match) do\n"
    "    if string.find(k, '\\31', 1, true) then\n"
    "      redis.call('ZADD', 'gw:md:matchc', 0, k .. '\\30' .. c.self)\n"
    "    else\n"
    "      redis.call('HSET', 'gw:md:match', k, c.self)\n"
    "    end\n"
    "  end\n"
    "  redis.call('XADD', 'gw:md:log', rev .. '-' .. (i - 1),\n"
    "             'rev', rev, 'n', n, 'type', c.type, 'id', c.id,\n"
    "             'vb', c.vb, 'va', va, 'actor', a.actor, 'rid', a.rid,\n"
    "             'time', a.time, 'before', old[1] or '',\n"
    "             'after', c.doc or '')\n"
    "  redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "             '{\"id\":\"metadata-' .. rev .. '-' .. (i - 1)\n"
    "             .. '\",\"revision\":' .. rev .. ',\"version_after\":'\n"
    "             .. va .. ',' .. string.sub(c.event, 2))\n"
    "  for _, cmd in ipairs(c.project) do\n"
    "    local r = redis.pcall(unpack(cmd))\n"
    "    if type(r) == 'table' and r.err then failed = failed + 1 end\n"
    "  end\n"
    "end\n"
    "if rev > a.retention then\n"
    "  local t = rev - a.retention\n"
    "  if t > tonumber(redis.call('GET', 'gw:md:trimmed') or '0') then\n"
    "    redis.call('XTRIM', 'gw:md:log', 'MINID', (t + 1) .. '-0')\n"
    "    redis.call('SET', 'gw:md:trimmed', t)\n"
    "  end\n"
    "end\n"
    "redis.call('PUBLISH', 'gw:md:changed', rev)\n"
    "return {0, rev, failed}\n";


/*
 * ARGV: type, cursor ("": from the first), count.  Returns {v, doc, v,
 * doc, ...} of up to count entities after cursor, in id order.
 */
static const char  md_list_lua[] =
    "local ix = 'gw:md:ix:' .. ARGV[1]\n"
    "local min = '-'\n"
    "if ARGV[2] ~= '' then min = '(' .. ARGV[2] end\n"
    "local ids = redis.call('ZRANGEBYLEX', ix, min, '+', 'LIMIT', 0,"
    " tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HMGET', 'gw:md:e:' .. ARGV[1] .. ':' .. id,"
    " 'v', 'doc')\n"
    "  if h[1] and h[2] then\n"
    "    out[#out + 1] = h[1]\n"
    "    out[#out + 1] = h[2]\n"
    "  end\n"
    "end\n"
    "return out\n";


/*
 * No arguments.  Returns {revision, type, count, v, doc, ..., type,
 * count, ...}: every type in name order, its entities in id order.
 */
static const char  md_snapshot_lua[] =
    "local out = {redis.call('GET', 'gw:md:rev') or '0'}\n"
    "local types = redis.call('SMEMBERS', 'gw:md:types')\n"
    "table.sort(types)\n"
    "for _, t in ipairs(types) do\n"
    "  local ids = redis.call('ZRANGE', 'gw:md:ix:' .. t, 0, -1)\n"
    "  out[#out + 1] = t\n"
    "  local at = #out + 1\n"
    "  out[at] = 0\n"
    "  local k = 0\n"
    "  for _, id in ipairs(ids) do\n"
    "    local h = redis.call('HMGET', 'gw:md:e:' .. t .. ':' .. id,"
    " 'v', 'doc')\n"
    "    if h[1] and h[2] then\n"
    "      out[#out + 1] = h[1]\n"
    "      out[#out + 1] = h[2]\n"
    "      k = k + 1\n"
    "    end\n"
    "  end\n"
    "  out[at] = k\n"
    "end\n"
    "return out\n";


md_script_t  md_script_commit = { md_commit_lua, "" };
md_script_t  md_script_list = { md_list_lua, "" };
md_script_t  md_script_snapshot = { md_snapshot_lua, "" };
