
/*
 * Copyright (C) Tollgate
 *
 * The engine's two scripts (wf.h, key layout).  The claim takes what is
 * due and returns it whole in one round trip; the step is every
 * transition: it refuses a commit whose seq is not the one stored (an
 * instance that lost its claim, an execution stopped meanwhile) and
 * writes nothing then, so that a transition is stored exactly once.
 *
 * Both take one JSON document in ARGV[1] (field values as strings, the
 * way a hash keeps them).
 */


#include "wf_engine_int.h"


/*
 * claim: ARGV[1] {"now", "lease", "batch", "keep"}.  Takes up to batch
 * ids due by now, rescored now + lease; an id without a hash, a done
 * one, a child whose root is no longer RUNNING or whose parent is gone
 * is removed from gw:wf:due (the child's hash expires after keep).
 * Replies [[id, HGETALL, [root status, mocks, input, name, start,
 * redrives]], ...] (the root's fields for a child, else empty).
 */
gw_svc_script_t  wf_script_claim = { .text =
    "local a = cjson.decode(ARGV[1])\n"
    "local ids = redis.call('ZRANGEBYSCORE', 'gw:wf:due', '-inf', a.now,"
    " 'LIMIT', 0, a.batch)\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local k = 'gw:wf:x:' .. id\n"
    "  local h = redis.call('HGETALL', k)\n"
    "  local root, parent, status = '', '', ''\n"
    "  for i = 1, #h, 2 do\n"
    "    local f = h[i]\n"
    "    if f == 'root' then root = h[i + 1]\n"
    "    elseif f == 'parent' then parent = h[i + 1]\n"
    "    elseif f == 'status' then status = h[i + 1] end\n"
    "  end\n"
    "  local keep = (#h > 0 and status == 'RUNNING')\n"
    "  local r = {}\n"
    "  if keep and root ~= '' and root ~= id then\n"
    "    r = redis.call('HMGET', 'gw:wf:x:' .. root, 'status', 'mocks',"
    " 'input', 'name', 'start', 'redrives')\n"
    "    if r[1] ~= 'RUNNING' or (parent ~= '' and"
    " redis.call('EXISTS', 'gw:wf:x:' .. parent) == 0) then\n"
    "      keep = false\n"
    "      redis.call('PEXPIRE', k, a.keep)\n"
    "    end\n"
    "  end\n"
    "  if keep then\n"
    "    redis.call('ZADD', 'gw:wf:due', a.now + a.lease, id)\n"
    "    out[#out + 1] = {id, h, r}\n"
    "  else\n"
    "    redis.call('ZREM', 'gw:wf:due', id)\n"
    "  end\n"
    "end\n"
    "return out\n"
};


/*
 * park: ARGV id, seq, due.  A callback task that went out (its request
 * sent, its child started, or nothing to send) waits for its answer
 * until due (its deadline, or its heartbeat's): marked "sent", so that
 * a claim before then knows there is nothing to send again, and scored
 * due then instead of after a lease.  Nothing when the execution moved
 * on meanwhile (an answer came: its due is now, and stays).
 */
gw_svc_script_t  wf_script_park = { .text =
    "local k = 'gw:wf:x:' .. ARGV[1]\n"
    "local v = redis.call('HMGET', k, 'seq', 'phase', 'status')\n"
    "if v[1] ~= ARGV[2] or v[2] ~= 'callback' or v[3] ~= 'RUNNING' then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', k, 'sent', '1')\n"
    "redis.call('ZADD', 'gw:wf:due', 'XX', ARGV[3], ARGV[1])\n"
    "return 1\n"
};


/*
 * step: ARGV[1] {"id", "root", "seq" (the one loaded), "now", "set":
 * {field: value}, "del": [field], "ev": [event JSON text], "due" (ms;
 * -1: not due; absent: unchanged), "fwait" (a fork's fdone loaded:
 * a child ended meanwhile makes it due now, whatever "due" says),
 * "mu" (a state: HINCRBY root mu:<state>), "tok" + "tokttl" (SET
 * gw:wf:tok:<tok> "<id> <seq>"), "kids": [{"id", "f": {field:
 * value}}] (created, due now), "kill": {"from", "to"} (children
 * "<id>.<n>" deleted), "end": {"def", "status", "start", "keep",
 * "name"} (a top execution's end), "up": {"parent", "kind" ("t" a
 * child workflow, "f" a fork's child), "pseq", "slot", "res" | "err" +
 * "cause", "c", "ev"}}.  Replies {"ok", seq, history length, mocks
 * taken} or {"lost"}.
 */
gw_svc_script_t  wf_script_step = { .text =
    "local a = cjson.decode(ARGV[1])\n"
    "local k = 'gw:wf:x:' .. a.id\n"
    "local v = redis.call('HMGET', k, 'seq', 'status')\n"
    "if not v[1] or tonumber(v[1]) ~= a.seq or v[2] ~= 'RUNNING' then\n"
    "  return {'lost'}\n"
    "end\n"
    "local seq = a.seq + 1\n"
    "local f = {'seq', seq}\n"
    "for n, x in pairs(a.set) do f[#f + 1] = n; f[#f + 1] = x end\n"
    "redis.call('HSET', k, unpack(f))\n"
    "if #a.del > 0 then redis.call('HDEL', k, unpack(a.del)) end\n"
    "local hk = 'gw:wf:h:' .. a.root\n"
    "local n\n"
    "if #a.ev > 0 then n = redis.call('RPUSH', hk, unpack(a.ev))\n"
    "else n = redis.call('LLEN', hk) end\n"
    "if a.due then\n"
    "  if a.fwait and tonumber(redis.call('HGET', k, 'fdone')"
    " or '0') ~= a.fwait then\n"
    "    redis.call('ZADD', 'gw:wf:due', a.now, a.id)\n"
    "  elseif a.due >= 0 then redis.call('ZADD', 'gw:wf:due', a.due, a.id)\n"
    "  else redis.call('ZREM', 'gw:wf:due', a.id) end\n"
    "end\n"
    "local mu = 0\n"
    "if a.mu then\n"
    "  mu = redis.call('HINCRBY', 'gw:wf:x:' .. a.root, 'mu:' .. a.mu, 1)\n"
    "end\n"
    "if a.tok then\n"
    "  redis.call('SET', 'gw:wf:tok:' .. a.tok, a.id .. ' ' .. seq, 'PX',"
    " a.tokttl)\n"
    "end\n"
    "if a.kids then\n"
    "  for _, c in ipairs(a.kids) do\n"
    "    local cf = {}\n"
    "    for m, x in pairs(c.f) do cf[#cf + 1] = m; cf[#cf + 1] = x end\n"
    "    redis.call('DEL', 'gw:wf:x:' .. c.id)\n"
    "    redis.call('HSET', 'gw:wf:x:' .. c.id, unpack(cf))\n"
    "    redis.call('ZADD', 'gw:wf:due', a.now, c.id)\n"
    "  end\n"
    "end\n"
    "if a.kill then\n"
    "  for i = a.kill.from, a.kill.to - 1 do\n"
    "    local cid = a.id .. '.' .. i\n"
    "    redis.call('DEL', 'gw:wf:x:' .. cid)\n"
    "    redis.call('ZREM', 'gw:wf:due', cid)\n"
    "  end\n"
    "end\n"
    "if a['end'] then\n"
    "  local e = a['end']\n"
    "  redis.call('ZREM', 'gw:wf:ls:' .. e.def .. ':RUNNING', a.id)\n"
    "  redis.call('ZADD', 'gw:wf:ls:' .. e.def .. ':' .. e.status,"
    " e.start, a.id)\n"
    "  redis.call('ZREM', 'gw:wf:due', a.id)\n"
    "  redis.call('PEXPIRE', k, e.keep)\n"
    "  redis.call('PEXPIRE', hk, e.keep)\n"
    "  if e.name ~= '' then\n"
    "    redis.call('PEXPIRE', 'gw:wf:name:' .. e.def .. ':' .. e.name,"
    " e.keep)\n"
    "  end\n"
    "end\n"
    "if a.up then\n"
    "  local u = a.up\n"
    "  local pk = 'gw:wf:x:' .. u.parent\n"
    "  if u.kind == 't' then\n"
    "    local p = redis.call('HMGET', pk, 'seq', 'status', 'root')\n"
    "    if p[1] and tonumber(p[1]) == u.pseq and p[2] == 'RUNNING' then\n"
    "      if u.err then\n"
    "        redis.call('HSET', pk, 'phase', 'fail', 'rerr', u.err,"
    " 'rcause', u.cause)\n"
    "      else\n"
    "        redis.call('HSET', pk, 'phase', 'resume', 'res', u.res)\n"
    "      end\n"
    "      redis.call('HINCRBY', pk, 'seq', 1)\n"
    "      redis.call('ZADD', 'gw:wf:due', a.now, u.parent)\n"
    "      redis.call('RPUSH', 'gw:wf:h:' .. p[3], u.ev)\n"
    "    end\n"
    "  else\n"
    "    if redis.call('HGET', pk, 'phase') == 'fork' then\n"
    "      if redis.call('HSETNX', pk, 'c:' .. u.slot, u.c) == 1 then\n"
    "        redis.call('HINCRBY', pk, 'fdone', 1)\n"
    "        redis.call('ZADD', 'gw:wf:due', a.now, u.parent)\n"
    "      end\n"
    "    else\n"
    "      redis.call('DEL', k)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {'ok', seq, n, mu}\n"
};
