
/*
 * Copyright (C) Tollgate
 *
 * The give back script of global limits: undoes one admission the limit
 * script made (gw_limit_script.c) when the request was refused after all
 * by one of its local limits (a concurrent request took the local room
 * while Redis was deciding).  Each kind is undone as its state allows:
 *
 *   rate   the TAT moved back by one interval, T = period / count;
 *   quota  one less in the window of the admission, if that window is
 *          still the current (b) or the previous one (c), else nothing;
 *   exact  the oldest time of the log not before the admission's removed,
 *          the newer ones moved back one slot: gw_limit_log_remove().
 *
 * A key gone (expired) has nothing to give back.  Expiry times are kept:
 * they are upper bounds, and a state is only ever made fresher here.
 */


#include "gw_limit_log.h"


const char  gw_limit_refund_script[] =
"local at = tonumber(ARGV[1])\n"
"local floor = math.floor\n"
"for i = 1, #KEYS do\n"
"  local o = 1 + (i - 1) * 3\n"
"  local kind = tonumber(ARGV[o + 1])\n"
"  local count = tonumber(ARGV[o + 2])\n"
"  local period = tonumber(ARGV[o + 3])\n"
"  local k = KEYS[i]\n"
"  if kind == 1 then\n"
"    local v = redis.call('GET', k)\n"
"    if v then\n"
"      redis.call('SET', k, string.format('%.17g',\n"
"                 tonumber(v) - period / count), 'KEEPTTL')\n"
"    end\n"
"  elseif kind == 2 then\n"
"    local idx = floor(at / period)\n"
"    local s = redis.call('HMGET', k, 'a', 'b', 'c')\n"
"    local a, b, c = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])\n"
"    if a == idx and b and b > 0 then\n"
"      redis.call('HSET', k, 'b', string.format('%.17g', b - 1))\n"
"    elseif a == idx + 1 and c and c > 0 then\n"
"      redis.call('HSET', k, 'c', string.format('%.17g', c - 1))\n"
"    end\n"
"  elseif kind == 3 then\n"
"    local v = redis.call('GET', k)\n"
"    if v and #v >= 12 then\n"
"      local cap, head, n = struct.unpack('<I4I4I4', v)\n"
"      local t = {}\n"
"      for j = 0, n - 1 do\n"
"        t[j] = (struct.unpack('<d', v, 13 + 8 * ((head + j) % cap)))\n"
"      end\n"
"      local j = 0\n"
"      while j < n and t[j] < at do j = j + 1 end\n"
"      if j < n then\n"
"        for m = j, n - 2 do\n"
"          redis.call('SETRANGE', k, 12 + 8 * ((head + m) % cap),\n"
"                     struct.pack('<d', t[m + 1]))\n"
"        end\n"
"        redis.call('SETRANGE', k, 0,\n"
"                   struct.pack('<I4I4I4', cap, head, n - 1))\n"
"      end\n"
"    end\n"
"  end\n"
"end\n"
"return 1\n";
