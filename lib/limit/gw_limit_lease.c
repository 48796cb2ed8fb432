
/*
 * Copyright (C) Tollgate
 *
 * Leases of a global quota (gw_limit_lease.h): the decision in C, and its
 * twin as a Redis script.  The take is gw_limit.c's quota decision for g
 * requests at once; with g = 1 every expression is that decision's, in
 * the same order, so the two admit the same requests.  The unit tests
 * hold the script to the C code, answer for answer.
 */


#include <math.h>
#include <string.h>

#include "gw_limit_lease.h"


void
gw_limit_lease_take(const gw_limit_rule_t *rule, const gw_limit_state_t *st,
    double now, double want, double ttl, gw_limit_lease_t *res,
    gw_limit_state_t *next)
{
    double  w, idx, cur, prev, start, est, avail, e, g, half, left, wait;

    memset(res, 0, sizeof(gw_limit_lease_t));
    memset(next, 0, sizeof(gw_limit_state_t));

    w = rule->period;
    idx = floor(now / w);
    start = idx * w;

    if (st->a == idx) {
        cur = st->b;
        prev = st->c;

    } else if (st->a == idx - 1) {
        cur = 0;
        prev = st->b;

    } else {
        cur = 0;
        prev = 0;
    }

    est = prev * ((w - (now - start)) / w) + cur;

    res->reset = start + w - now;
    res->window = idx;
    res->expires = start + 2 * w;

    if (cur + 1 > rule->count || est + 1 > rule->count) {

        if (cur + 1 > rule->count) {
            wait = start + w - now;
            if (cur > 0 && rule->count - 1 < cur) {
                wait += w * (1 - (rule->count - 1) / cur);
            }

        } else {
            wait = start + w * (1 - (rule->count - cur - 1) / prev) - now;
        }

        res->retry_after = wait > 0 ? wait : 0;
        return;
    }

    /* what is left, in whole admissions (at least the one admitted) */

    avail = rule->count - cur;
    e = floor(rule->count - est);
    if (e < avail) {
        avail = e;
    }

    if (avail < 1) {
        avail = 1;
    }

    g = want < avail ? floor(want) : avail;

    if (g > 1) {
        half = floor(avail / 2);
        if (half < 1) {
            half = 1;
        }

        if (g > half) {
            g = half;
        }

        if (res->reset < GW_LIMIT_LEASE_LIFE_MIN) {
            g = 1;
        }
    }

    if (g < 1) {
        g = 1;
    }

    next->a = idx;
    next->b = cur + g;
    next->c = prev;

    left = floor(rule->count - (est + g));

    res->granted = g;
    res->remaining = left > 0 ? left : 0;
    res->life = ttl < res->reset ? ttl : res->reset;
}


int
gw_limit_lease_give(const gw_limit_state_t *st, double window, double n,
    gw_limit_state_t *next)
{
    *next = *st;

    if (n < 1) {
        return 0;
    }

    if (st->a == window) {
        next->b = st->b - n;
        if (next->b < 0) {
            next->b = 0;
        }

        return 1;
    }

    if (st->a == window + 1) {
        next->c = st->c - n;
        if (next->c < 0) {
            next->c = 0;
        }

        return 1;
    }

    return 0;
}


double
gw_limit_lease_max(double count, unsigned share, unsigned nodes)
{
    double  m;

    m = floor(count * share / 10000.0 / (nodes ? nodes : 1));

    return m < 1 ? 1 : m;
}


/*
 * The script: give-backs first, for every key, then the takes on the
 * states they left; expressions as above.  A give-back keeps the key's
 * expiry (HSET does); a taken lease sets it as global mode's script does.
 */

const char  gw_limit_lease_script[] =
"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local out = {now}\n"
"local nexts = {}\n"
"local all = true\n"
"local floor, ceil = math.floor, math.ceil\n"
"local function num(v) if v then return tonumber(v) or 0 end return 0 end\n"
"local function fmt(v) return string.format('%.17g', v) end\n"
"for i = 1, #KEYS do\n"
"  local o = (i - 1) * 6\n"
"  local give = tonumber(ARGV[o + 5])\n"
"  local win = tonumber(ARGV[o + 6])\n"
"  if give >= 1 then\n"
"    local s = redis.call('HMGET', KEYS[i], 'a', 'b', 'c')\n"
"    local sa = num(s[1])\n"
"    if s[1] and sa == win then\n"
"      local b = num(s[2]) - give\n"
"      if b < 0 then b = 0 end\n"
"      redis.call('HSET', KEYS[i], 'b', fmt(b))\n"
"    elseif s[1] and sa == win + 1 then\n"
"      local c = num(s[3]) - give\n"
"      if c < 0 then c = 0 end\n"
"      redis.call('HSET', KEYS[i], 'c', fmt(c))\n"
"    end\n"
"  end\n"
"end\n"
"for i = 1, #KEYS do\n"
"  local o = (i - 1) * 6\n"
"  local count = tonumber(ARGV[o + 1])\n"
"  local w = tonumber(ARGV[o + 2])\n"
"  local want = tonumber(ARGV[o + 3])\n"
"  local ttl = tonumber(ARGV[o + 4])\n"
"  local g, left, reset, retry, life, idx = 0, 0, 0, 0, 0, 0\n"
"  if want >= 1 then\n"
"    idx = floor(now / w)\n"
"    local start = idx * w\n"
"    local s = redis.call('HMGET', KEYS[i], 'a', 'b', 'c')\n"
"    local sa, cur, prev = num(s[1]), 0, 0\n"
"    if sa == idx then\n"
"      cur = num(s[2])\n"
"      prev = num(s[3])\n"
"    elseif sa == idx - 1 then\n"
"      prev = num(s[2])\n"
"    end\n"
"    local est = prev * ((w - (now - start)) / w) + cur\n"
"    reset = start + w - now\n"
"    if cur + 1 > count or est + 1 > count then\n"
"      local wait\n"
"      if cur + 1 > count then\n"
"        wait = start + w - now\n"
"        if cur > 0 and count - 1 < cur then\n"
"          wait = wait + w * (1 - (count - 1) / cur)\n"
"        end\n"
"      else\n"
"        wait = start + w * (1 - (count - cur - 1) / prev) - now\n"
"      end\n"
"      if wait > 0 then retry = wait end\n"
"      all = false\n"
"    else\n"
"      local avail = count - cur\n"
"      local e = floor(count - est)\n"
"      if e < avail then avail = e end\n"
"      if avail < 1 then avail = 1 end\n"
"      if want < avail then g = floor(want) else g = avail end\n"
"      if g > 1 then\n"
"        local half = floor(avail / 2)\n"
"        if half < 1 then half = 1 end\n"
"        if g > half then g = half end\n"
"        if reset < 10000 then g = 1 end\n"
"      end\n"
"      if g < 1 then g = 1 end\n"
"      left = floor(count - (est + g))\n"
"      if left < 0 then left = 0 end\n"
"      if ttl < reset then life = ttl else life = reset end\n"
"      nexts[i] = {idx, cur + g, prev, start + 2 * w}\n"
"    end\n"
"  end\n"
"  out[#out + 1] = g\n"
"  out[#out + 1] = left\n"
"  out[#out + 1] = ceil(reset)\n"
"  out[#out + 1] = ceil(retry)\n"
"  out[#out + 1] = floor(life)\n"
"  out[#out + 1] = idx\n"
"end\n"
"if all then\n"
"  for i = 1, #KEYS do\n"
"    local n = nexts[i]\n"
"    if n then\n"
"      local ttl = ceil((n[4] - now) / 1000) + 1\n"
"      if ttl < 1 then ttl = 1 end\n"
"      redis.call('HSET', KEYS[i], 'a', fmt(n[1]), 'b', fmt(n[2]),\n"
"                 'c', fmt(n[3]))\n"
"      redis.call('PEXPIRE', KEYS[i], ttl)\n"
"    end\n"
"  end\n"
"end\n"
"return out\n";
