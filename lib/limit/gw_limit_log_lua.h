
/*
 * Copyright (C) Tollgate
 *
 * The exact quota (gw_limit_log.c) in the Lua of the Redis script: pieces
 * of text pasted into gw_limit_script.c.  The log of a key is one string
 * value: a 12-byte head (three little-endian 32-bit numbers: cap, head,
 * n) and then cap slots of 8 bytes, each a little-endian double, the same
 * ring as gw_limit_log_t.  Only the head and the slots a decision looks at
 * are read (GETRANGE: a binary search, log2(N) reads) and only the head
 * and one slot written (SETRANGE), so a request costs O(log N) whatever
 * N; a new log, or one whose cap is not the rule's (a plan changed the
 * count, its newest times kept), is written whole, all cap slots at once,
 * so Redis allocates it at its final size (12 + 8 N bytes) instead of
 * growing it slot by slot.  Each expression is gw_limit_log.c's.
 */


#ifndef _GW_LIMIT_LOG_LUA_H_INCLUDED_
#define _GW_LIMIT_LOG_LUA_H_INCLUDED_


/* functions, defined before the script's loop (floor is in scope) */
#define GW_LIMIT_LOG_LUA_FUNCS                                                \
"local function lcap(count)\n"                                                \
"  local c = floor(count)\n"                                                  \
"  if c < 1 then c = 1 end\n"                                                 \
"  return c\n"                                                                \
"end\n"                                                                       \
"local function lslot(key, s)\n"                                              \
"  return (struct.unpack('<d',\n"                                             \
"    redis.call('GETRANGE', key, 12 + 8 * s, 19 + 8 * s)))\n"                 \
"end\n"                                                                       \
"local function lopen(key, cap)\n"                                            \
"  local L = {key = key, cap = cap, head = 0, n = 0, c = {}, whole = true}\n" \
"  local h = redis.call('GETRANGE', key, 0, 11)\n"                            \
"  if #h == 12 then\n"                                                        \
"    local oc, hd, n = struct.unpack('<I4I4I4', h)\n"                         \
"    if oc == cap then\n"                                                     \
"      L.head = hd\n"                                                         \
"      L.n = n\n"                                                             \
"      L.whole = false\n"                                                     \
"    else\n"                                                                  \
"      local k = n\n"                                                         \
"      if k > cap then k = cap end\n"                                         \
"      for j = 0, k - 1 do\n"                                                 \
"        L.c[j] = lslot(key, (hd + n - k + j) % oc)\n"                        \
"      end\n"                                                                 \
"      L.n = k\n"                                                             \
"    end\n"                                                                   \
"  end\n"                                                                     \
"  return L\n"                                                                \
"end\n"                                                                       \
"local function lat(L, j)\n"                                                  \
"  local s = (L.head + j) % L.cap\n"                                          \
"  local v = L.c[s]\n"                                                        \
"  if v == nil then\n"                                                        \
"    v = lslot(L.key, s)\n"                                                   \
"    L.c[s] = v\n"                                                            \
"  end\n"                                                                     \
"  return v\n"                                                                \
"end\n"                                                                       \
"local function lfirst(L, edge)\n"                                            \
"  local lo, hi = 0, L.n\n"                                                   \
"  while lo < hi do\n"                                                        \
"    local mid = lo + floor((hi - lo) / 2)\n"                                 \
"    if lat(L, mid) > edge then hi = mid else lo = mid + 1 end\n"             \
"  end\n"                                                                     \
"  return lo\n"                                                               \
"end\n"                                                                       \
"local function lcommit(L, now, ttl)\n"                                       \
"  if L.n > 0 then\n"                                                         \
"    local newest = lat(L, L.n - 1)\n"                                        \
"    if newest > now then now = newest end\n"                                 \
"  end\n"                                                                     \
"  local s\n"                                                                 \
"  if L.n < L.cap then\n"                                                     \
"    s = (L.head + L.n) % L.cap\n"                                            \
"    L.n = L.n + 1\n"                                                         \
"  else\n"                                                                    \
"    s = L.head\n"                                                            \
"    L.head = (L.head + 1) % L.cap\n"                                         \
"  end\n"                                                                     \
"  L.c[s] = now\n"                                                            \
"  local hd = struct.pack('<I4I4I4', L.cap, L.head, L.n)\n"                   \
"  if L.whole then\n"                                                         \
"    local parts = {hd}\n"                                                    \
"    for j = 0, L.cap - 1 do\n"                                               \
"      parts[#parts + 1] = struct.pack('<d', L.c[j] or 0)\n"                  \
"    end\n"                                                                   \
"    redis.call('SET', L.key, table.concat(parts), 'PX', ttl)\n"              \
"  else\n"                                                                    \
"    redis.call('SETRANGE', L.key, 12 + 8 * s, struct.pack('<d', now))\n"     \
"    redis.call('SETRANGE', L.key, 0, hd)\n"                                  \
"    redis.call('PEXPIRE', L.key, ttl)\n"                                     \
"  end\n"                                                                     \
"end\n"

/* one limit's decision, in the script's loop (kind 3) */
#define GW_LIMIT_LOG_LUA_DECIDE                                               \
"    local cap = lcap(count)\n"                                               \
"    local L = lopen(KEYS[i], cap)\n"                                         \
"    local first = lfirst(L, now - period)\n"                                 \
"    local inw = L.n - first\n"                                               \
"    local newest = 0\n"                                                      \
"    if L.n > 0 then newest = lat(L, L.n - 1) end\n"                          \
"    local stamp = now\n"                                                     \
"    if newest > now then stamp = newest end\n"                               \
"    if inw >= cap then\n"                                                    \
"      retry = lat(L, first) + period - now\n"                                \
"      reset = retry\n"                                                       \
"      expires = newest + period\n"                                           \
"    else\n"                                                                  \
"      admit = 1\n"                                                           \
"      nx = L\n"                                                              \
"      left = cap - inw - 1\n"                                                \
"      if inw > 0 then\n"                                                     \
"        reset = lat(L, first) + period - now\n"                              \
"      else\n"                                                                \
"        reset = stamp + period - now\n"                                      \
"      end\n"                                                                 \
"      expires = stamp + period\n"                                            \
"    end\n"


#endif /* _GW_LIMIT_LOG_LUA_H_INCLUDED_ */
