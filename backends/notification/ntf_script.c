
/*
 * Copyright (C) Tollgate
 *
 * The Redis scripts: every change of a notification's or a delivery's
 * state is one script, so a process killed between two commands never
 * leaves half a state (the key layout: lib/model/gw_model.h and
 * docs/notification.md).  Besides the design's keys two indexes serve
 * the listings: gw:ntf:by:<owner> (the owner's notification ids) and
 * gw:ntf:dlq:<owner> (the owner's dead deliveries), both zsets of score
 * 0 read newest first by ZREVRANGEBYLEX (ids sort by time), cleaned of
 * what has expired as they are read, and of ids older than keep as
 * they grow.
 *
 * Scripts run by the kit's gw_svc_eval(): EVALSHA, and EVAL once when
 * Redis answers NOSCRIPT (a restarted or flushed server), which loads
 * the script again.  Their input is in ARGV only (a JSON argument where
 * there are many).
 */


#include <stdlib.h>
#include <string.h>

#include "ntf_core.h"


/*
 * accept: ARGV[1] {"idem", "hash", "keep", "now", "cutoff" (the id of
 * now - keep: older ids leave the owner's index), "id", "owner",
 * "channel", "type", "request", "traceparent", "d": [{"id", "target",
 * "sub", "payload"}]}.  Replies {"new", id, n}, {"replay", id, n} (the
 * idempotency key's first request, same hash) or {"mismatch"}.
 */
ntf_script_t  ntf_script_accept = { .text =
    "local a = cjson.decode(ARGV[1])\n"
    "if a.idem ~= '' then\n"
    "  local v = redis.call('GET', a.idem)\n"
    "  if v then\n"
    "    local r = cjson.decode(v)\n"
    "    if r.hash ~= a.hash then return {'mismatch'} end\n"
    "    return {'replay', r.id, tostring(r.n)}\n"
    "  end\n"
    "end\n"
    "local nk = 'gw:ntf:n:' .. a.id\n"
    "local state = 'accepted'\n"
    "if #a.d == 0 then state = 'delivered' end\n"
    "redis.call('HSET', nk, 'id', a.id, 'owner', a.owner, 'channel',\n"
    "  a.channel, 'type', a.type, 'state', state, 'created', a.now,\n"
    "  'deliveries', #a.d, 'delivered', 0, 'failed', 0, 'request',\n"
    "  a.request, 'traceparent', a.traceparent)\n"
    "for _, d in ipairs(a.d) do\n"
    "  redis.call('HSET', 'gw:ntf:d:' .. d.id, 'id', d.id, 'nid', a.id,\n"
    "    'owner', a.owner, 'channel', a.channel, 'target', d.target,\n"
    "    'sub', d.sub, 'payload', d.payload, 'attempt', 0, 'state',\n"
    "    'pending', 'created', a.now, 'next', a.now)\n"
    "  redis.call('ZADD', 'gw:ntf:due', a.now, d.id)\n"
    "end\n"
    "redis.call('ZADD', 'gw:ntf:by:' .. a.owner, 0, a.id)\n"
    "redis.call('ZREMRANGEBYLEX', 'gw:ntf:by:' .. a.owner, '-',\n"
    "  '(' .. a.cutoff)\n"
    "if #a.d == 0 then redis.call('PEXPIRE', nk, a.keep) end\n"
    "if a.idem ~= '' then\n"
    "  redis.call('SET', a.idem, cjson.encode({id = a.id, hash = a.hash,\n"
    "    n = #a.d}), 'PX', a.keep)\n"
    "end\n"
    "return {'new', a.id, tostring(#a.d)}\n"
};


/*
 * claim: ARGV now, lease (ms), count.  Takes up to count due deliveries
 * (scored <= now) by scoring them now + lease; replies one array per
 * delivery: id, nid, channel, payload, attempt, created, target, sub.
 */
ntf_script_t  ntf_script_claim = { .text =
    "local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local ids = redis.call('ZRANGEBYSCORE', 'gw:ntf:due', '-inf', now,\n"
    "  'LIMIT', 0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local dk = 'gw:ntf:d:' .. id\n"
    "  local h = redis.call('HMGET', dk, 'nid', 'channel', 'payload',\n"
    "    'attempt', 'created', 'state', 'target', 'sub')\n"
    "  if not h[1] or h[6] ~= 'pending' then\n"
    "    redis.call('ZREM', 'gw:ntf:due', id)\n"
    "  else\n"
    "    redis.call('ZADD', 'gw:ntf:due', now + lease, id)\n"
    "    redis.call('HSET', dk, 'next', now + lease)\n"
    "    local nk = 'gw:ntf:n:' .. h[1]\n"
    "    if redis.call('HGET', nk, 'state') == 'accepted' then\n"
    "      redis.call('HSET', nk, 'state', 'delivering')\n"
    "    end\n"
    "    out[#out + 1] = {id, h[1], h[2], h[3], h[4], h[5], h[7] or '',\n"
    "      h[8] or ''}\n"
    "  end\n"
    "end\n"
    "return out\n"
};


/*
 * finish: ARGV[1] {"id", "nid", "attempt", "result" (ok, retry, dead),
 * "record" (the attempt's JSON), "next" (ms, retry), "now", "keep",
 * "cutoff" (the id of now - keep), "amax"}.  Records the attempt, then,
 * when the delivery is still pending (another instance may have
 * finished it after our lease ran out), its new state; when the
 * notification's last delivery ends, the notification's state, and its
 * keys expire after keep.  Replies the state the delivery had.
 */
ntf_script_t  ntf_script_finish = { .text =
    "local a = cjson.decode(ARGV[1])\n"
    "local dk, nk = 'gw:ntf:d:' .. a.id, 'gw:ntf:n:' .. a.nid\n"
    "local ak = 'gw:ntf:a:' .. a.nid\n"
    "if redis.call('EXISTS', dk) == 0 then return 'missing' end\n"
    "redis.call('RPUSH', ak, a.record)\n"
    "redis.call('LTRIM', ak, -a.amax, -1)\n"
    "local h = redis.call('HMGET', dk, 'state', 'attempt', 'owner')\n"
    "if tonumber(h[2]) < a.attempt then\n"
    "  redis.call('HSET', dk, 'attempt', a.attempt)\n"
    "end\n"
    "if h[1] ~= 'pending' then\n"
    "  local ttl = redis.call('PTTL', dk)\n"
    "  if ttl > 0 then redis.call('PEXPIRE', ak, ttl) end\n"
    "  return h[1]\n"
    "end\n"
    "if a.result == 'retry' then\n"
    "  redis.call('HSET', dk, 'next', a.next)\n"
    "  redis.call('ZADD', 'gw:ntf:due', a.next, a.id)\n"
    "  return h[1]\n"
    "end\n"
    "redis.call('ZREM', 'gw:ntf:due', a.id)\n"
    "if a.result == 'ok' then\n"
    "  redis.call('HSET', dk, 'state', 'delivered')\n"
    "  redis.call('HINCRBY', nk, 'delivered', 1)\n"
    "else\n"
    "  redis.call('HSET', dk, 'state', 'dead', 'died', a.now)\n"
    "  redis.call('HINCRBY', nk, 'failed', 1)\n"
    "  redis.call('ZADD', 'gw:ntf:dlq', a.now, a.id)\n"
    "  redis.call('ZADD', 'gw:ntf:dlq:' .. h[3], 0, a.id)\n"
    "  redis.call('ZREMRANGEBYSCORE', 'gw:ntf:dlq', '-inf',\n"
    "    tonumber(a.now) - a.keep)\n"
    "  redis.call('ZREMRANGEBYLEX', 'gw:ntf:dlq:' .. h[3], '-',\n"
    "    '(' .. a.cutoff)\n"
    "end\n"
    "local n = redis.call('HMGET', nk, 'deliveries', 'delivered',\n"
    "  'failed')\n"
    "local total, ok, bad = tonumber(n[1]), tonumber(n[2]),\n"
    "  tonumber(n[3])\n"
    "if total and ok + bad >= total then\n"
    "  local s = 'partial'\n"
    "  if bad == 0 then s = 'delivered' elseif ok == 0 then s = 'failed'\n"
    "  end\n"
    "  redis.call('HSET', nk, 'state', s)\n"
    "  redis.call('PEXPIRE', nk, a.keep)\n"
    "  redis.call('PEXPIRE', ak, a.keep)\n"
    "  for i = 0, total - 1 do\n"
    "    redis.call('PEXPIRE', 'gw:ntf:d:' .. a.nid .. '.' .. i, a.keep)\n"
    "  end\n"
    "end\n"
    "return h[1]\n"
};


/*
 * get: ARGV nid, owner ("" for any).  0 when there is none (or not the
 * owner's), else {the hash's pairs, deliveries (id, target, sub, state,
 * attempt, next each), the attempts}.
 */
ntf_script_t  ntf_script_get = { .text =
    "local h = redis.call('HGETALL', 'gw:ntf:n:' .. ARGV[1])\n"
    "if #h == 0 then return 0 end\n"
    "local f = {}\n"
    "for i = 1, #h, 2 do f[h[i]] = h[i + 1] end\n"
    "if ARGV[2] ~= '' and f.owner ~= ARGV[2] then return 0 end\n"
    "local ds = {}\n"
    "for i = 0, (tonumber(f.deliveries) or 0) - 1 do\n"
    "  local d = redis.call('HMGET', 'gw:ntf:d:' .. ARGV[1] .. '.' .. i,\n"
    "    'id', 'target', 'sub', 'state', 'attempt', 'next')\n"
    "  if d[1] then ds[#ds + 1] = d end\n"
    "end\n"
    "return {h, ds, redis.call('LRANGE', 'gw:ntf:a:' .. ARGV[1], 0, -1)}\n"
};


/*
 * list: ARGV owner, cursor ("" from the newest), limit.  Replies {the
 * last id read or "", {id, channel, type, state, created, deliveries,
 * delivered, failed}...}; ids whose notification expired are dropped.
 */
ntf_script_t  ntf_script_list = { .text =
    "local key = 'gw:ntf:by:' .. ARGV[1]\n"
    "local max = '+'\n"
    "if ARGV[2] ~= '' then max = '(' .. ARGV[2] end\n"
    "local ids = redis.call('ZREVRANGEBYLEX', key, max, '-', 'LIMIT', 0,\n"
    "  tonumber(ARGV[3]))\n"
    "local out, last = {}, ''\n"
    "for _, id in ipairs(ids) do\n"
    "  last = id\n"
    "  local h = redis.call('HMGET', 'gw:ntf:n:' .. id, 'id', 'channel',\n"
    "    'type', 'state', 'created', 'deliveries', 'delivered', 'failed')\n"
    "  if h[1] then out[#out + 1] = h else redis.call('ZREM', key, id) end\n"
    "end\n"
    "if #ids < tonumber(ARGV[3]) then last = '' end\n"
    "return {last, out}\n"
};


/* dlq list: as list, over gw:ntf:dlq:<owner>, the deliveries' fields */
ntf_script_t  ntf_script_dlq_list = { .text =
    "local key = 'gw:ntf:dlq:' .. ARGV[1]\n"
    "local max = '+'\n"
    "if ARGV[2] ~= '' then max = '(' .. ARGV[2] end\n"
    "local ids = redis.call('ZREVRANGEBYLEX', key, max, '-', 'LIMIT', 0,\n"
    "  tonumber(ARGV[3]))\n"
    "local out, last = {}, ''\n"
    "for _, id in ipairs(ids) do\n"
    "  last = id\n"
    "  local h = redis.call('HMGET', 'gw:ntf:d:' .. id, 'id', 'nid',\n"
    "    'channel', 'target', 'sub', 'attempt', 'died', 'state')\n"
    "  if h[1] and h[8] == 'dead' then out[#out + 1] = h\n"
    "  else redis.call('ZREM', key, id) end\n"
    "end\n"
    "if #ids < tonumber(ARGV[3]) then last = '' end\n"
    "return {last, out}\n"
};


/*
 * replay: ARGV did, owner ("" for any), now.  A dead delivery in the
 * dead-letter list is pending again, due now, its attempts kept; its
 * notification delivering again, kept until it ends anew.  1, 0 when
 * there is no such dead delivery (or not the owner's).
 */
ntf_script_t  ntf_script_replay = { .text =
    "local dk = 'gw:ntf:d:' .. ARGV[1]\n"
    "local h = redis.call('HMGET', dk, 'state', 'owner', 'nid')\n"
    "if not h[1] or h[1] ~= 'dead' then return 0 end\n"
    "if ARGV[2] ~= '' and h[2] ~= ARGV[2] then return 0 end\n"
    "if redis.call('ZSCORE', 'gw:ntf:dlq', ARGV[1]) == false then\n"
    "  return 0\n"
    "end\n"
    "local nk = 'gw:ntf:n:' .. h[3]\n"
    "redis.call('HSET', dk, 'state', 'pending', 'next', ARGV[3])\n"
    "redis.call('HDEL', dk, 'died')\n"
    "redis.call('ZREM', 'gw:ntf:dlq', ARGV[1])\n"
    "redis.call('ZREM', 'gw:ntf:dlq:' .. h[2], ARGV[1])\n"
    "redis.call('ZADD', 'gw:ntf:due', ARGV[3], ARGV[1])\n"
    "redis.call('HINCRBY', nk, 'failed', -1)\n"
    "redis.call('HSET', nk, 'state', 'delivering')\n"
    "redis.call('PERSIST', nk)\n"
    "redis.call('PERSIST', 'gw:ntf:a:' .. h[3])\n"
    "local n = tonumber(redis.call('HGET', nk, 'deliveries')) or 0\n"
    "for i = 0, n - 1 do\n"
    "  redis.call('PERSIST', 'gw:ntf:d:' .. h[3] .. '.' .. i)\n"
    "end\n"
    "return 1\n"
};


/* discard: ARGV did, owner ("" for any): out of the dead-letter list */
ntf_script_t  ntf_script_discard = { .text =
    "local h = redis.call('HMGET', 'gw:ntf:d:' .. ARGV[1], 'state',\n"
    "  'owner')\n"
    "if not h[1] or h[1] ~= 'dead' then return 0 end\n"
    "if ARGV[2] ~= '' and h[2] ~= ARGV[2] then return 0 end\n"
    "redis.call('ZREM', 'gw:ntf:dlq:' .. h[2], ARGV[1])\n"
    "return redis.call('ZREM', 'gw:ntf:dlq', ARGV[1])\n"
};


int
ntf_script_init(void)
{
    size_t         i;
    ntf_script_t  *all[] = {
        &ntf_script_accept, &ntf_script_claim, &ntf_script_finish,
        &ntf_script_get, &ntf_script_list, &ntf_script_dlq_list,
        &ntf_script_replay, &ntf_script_discard
    };

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (gw_svc_script_init(all[i]) != 0) {
            return -1;
        }
    }

    return 0;
}
