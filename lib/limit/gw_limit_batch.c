
/*
 * Copyright (C) Tollgate
 *
 * The Redis script of coalesced global limits (gw_limit_batch in
 * docs/limit.md): n requests of one key, from one worker, decided by one
 * run, exactly as n runs of gw_limit_script for that key alone would
 * decide them at the same instant.  The loop below is gw_limit_decide()
 * applied n times to the state it leaves: each admission takes the state
 * on (a rate's TAT advances by the emission interval while within the
 * burst tolerance, a quota's count of the window grows by one), a refusal
 * leaves it as it was, so once one is refused every later one is refused
 * with the same answer.  The admitted ones are therefore the first k in
 * the order sent, and the reply is the time, k, five integers for each of
 * the k admitted (as gw_limit_script gives them: admit, remaining, reset,
 * retry_after, delay) and, when k < n, five for the refused ones.  Keep
 * each expression as in gw_limit.c, operation for operation: the unit test
 * holds the script to n calls of the C code.
 *
 * Only rates and the sliding-window counter: an exact quota's log is
 * decided request by request (its ring is not worth a second copy here).
 */


#include "gw_limit.h"


const char  gw_limit_batch_script[] =
"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local floor, ceil = math.floor, math.ceil\n"
"local function num(v) if v then return tonumber(v) or 0 end return 0 end\n"
"local kind = tonumber(ARGV[1])\n"
"local count = tonumber(ARGV[2])\n"
"local period = tonumber(ARGV[3])\n"
"local burst = tonumber(ARGV[4])\n"
"local delay = tonumber(ARGV[5])\n"
"local n = tonumber(ARGV[6])\n"
"if (kind ~= 1 and kind ~= 2) or not n or n < 1 or n > 1024 then\n"
"  return redis.error_reply('ERR gw_limit batch: bad arguments')\n"
"end\n"
"local out = {now, 0}\n"
"local k = 0\n"
"local function put(a, b, c, d, e)\n"
"  out[#out + 1] = a\n"
"  out[#out + 1] = b\n"
"  out[#out + 1] = c\n"
"  out[#out + 1] = d\n"
"  out[#out + 1] = e\n"
"end\n"
"if kind == 1 then\n"
"  local tt = period / count\n"
"  local tau = burst * tt\n"
"  local tat = num(redis.call('GET', KEYS[1]))\n"
"  local excess\n"
"  while true do\n"
"    if tat < now then tat = now end\n"
"    excess = tat - now\n"
"    if k == n or excess > tau + 1 then break end\n"
"    local nx = tat + tt\n"
"    local left = floor((tau - excess + 1) / tt)\n"
"    if left < 0 then left = 0 end\n"
"    local hold = excess - delay * tt\n"
"    if hold < 1 then hold = 0 end\n"
"    put(1, left, ceil(nx - now), 0, ceil(hold))\n"
"    tat = nx\n"
"    k = k + 1\n"
"  end\n"
"  if k < n then\n"
"    put(0, 0, ceil(excess), ceil(excess - tau), 0)\n"
"  end\n"
"  if k > 0 then\n"
"    local ttl = ceil((tat - now) / 1000) + 1\n"
"    if ttl < 1 then ttl = 1 end\n"
"    redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', ttl)\n"
"  end\n"
"else\n"
"  local w = period\n"
"  local idx = floor(now / w)\n"
"  local start = idx * w\n"
"  local s = redis.call('HMGET', KEYS[1], 'a', 'b', 'c')\n"
"  local sa, cur, prev = num(s[1]), 0, 0\n"
"  if sa == idx then\n"
"    cur = num(s[2])\n"
"    prev = num(s[3])\n"
"  elseif sa == idx - 1 then\n"
"    prev = num(s[2])\n"
"  end\n"
"  local reset = start + w - now\n"
"  local est\n"
"  while k < n do\n"
"    est = prev * ((w - (now - start)) / w) + cur\n"
"    if cur + 1 > count or est + 1 > count then break end\n"
"    local left = floor(count - (est + 1))\n"
"    if left < 0 then left = 0 end\n"
"    put(1, left, ceil(reset), 0, 0)\n"
"    cur = cur + 1\n"
"    k = k + 1\n"
"  end\n"
"  if k < n then\n"
"    local wait\n"
"    if cur + 1 > count then\n"
"      wait = start + w - now\n"
"      if cur > 0 and count - 1 < cur then\n"
"        wait = wait + w * (1 - (count - 1) / cur)\n"
"      end\n"
"    else\n"
"      wait = start + w * (1 - (count - cur - 1) / prev) - now\n"
"    end\n"
"    local retry = 0\n"
"    if wait > 0 then retry = wait end\n"
"    put(0, 0, ceil(reset), ceil(retry), 0)\n"
"  end\n"
"  if k > 0 then\n"
"    local ttl = ceil((start + 2 * w - now) / 1000) + 1\n"
"    if ttl < 1 then ttl = 1 end\n"
"    redis.call('HSET', KEYS[1], 'a', string.format('%.17g', idx),\n"
"               'b', string.format('%.17g', cur),\n"
"               'c', string.format('%.17g', prev))\n"
"    redis.call('PEXPIRE', KEYS[1], ttl)\n"
"  end\n"
"end\n"
"out[2] = k\n"
"return out\n";
