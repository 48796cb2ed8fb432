
/*
 * Copyright (C) Tollgate
 *
 * Listings: executions newest first, and an execution's history.
 *
 * Executions are listed from a sorted set scored by start: for an
 * admin gw:wf:ls:<def>[:<STATUS>] (written by the start and by every
 * end), or gw:wf:all without a definition; for anyone else the owner's
 * own gw:wf:own:<owner>, filtered in the script.  The cursor is the
 * last entry answered ("<start ms>:<id>"), so a page never repeats nor
 * skips an entry when others start meanwhile.  A script reads at most
 * WF_LIST_SCAN entries past what it answers, so a filter that matches
 * little costs a bounded time and answers a short page with a cursor.
 * An entry whose execution has expired (keep) is dropped as it is met.
 *
 * A history is gw:wf:h:<root>, one JSON event per item; an event's id
 * is its place in the list from 1, and the cursor is the next id to
 * answer, in either order, so pages stay put while events are added.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


#define WF_HISTORY_DFLT   100
#define WF_HISTORY_MAX    1000


typedef struct {
    gw_svc_req_t           *req;
    long long               limit;
} wf_list_ctx_t;


static void wf_api_listed(redisReply *reply, void *data);
static void wf_api_historied(redisReply *reply, void *data);


/*
 * ARGV: key, cursor's score ("": from the newest), cursor's id, limit,
 * definition, status, owner (filters; "": any).  {next ("": none),
 * then 7 strings per execution: id, name, def, ver, status, start,
 * stop}.
 */
gw_svc_script_t  wf_script_list = { .text =
    "local key, cs, cid = ARGV[1], ARGV[2], ARGV[3]\n"
    "local limit = tonumber(ARGV[4])\n"
    "local budget = limit * 10 + 100\n"
    "local out, stale, n, scanned, offset = {''}, {}, 0, 0, 0\n"
    "local max = '+inf'\n"
    "if cs ~= '' then max = cs end\n"
    "while true do\n"
    "  local page = redis.call('ZREVRANGEBYSCORE', key, max, '-inf',\n"
    "                          'WITHSCORES', 'LIMIT', offset, 200)\n"
    "  for i = 1, #page, 2 do\n"
    "    local m, s = page[i], page[i + 1]\n"
    "    if not (cs ~= '' and s == cs and m >= cid) then\n"
    "      scanned = scanned + 1\n"
    "      local h = redis.call('HMGET', 'gw:wf:x:' .. m, 'name', 'def',\n"
    "                           'ver', 'status', 'start', 'stop', 'owner')\n"
    "      if not h[4] then\n"
    "        stale[#stale + 1] = m\n"
    "      elseif (ARGV[5] == '' or h[2] == ARGV[5])\n"
    "          and (ARGV[6] == '' or h[4] == ARGV[6])\n"
    "          and (ARGV[7] == '' or h[7] == ARGV[7]) then\n"
    "        out[#out + 1] = m\n"
    "        for j = 1, 6 do out[#out + 1] = h[j] or '' end\n"
    "        n = n + 1\n"
    "      end\n"
    "      if n == limit or scanned >= budget then\n"
    "        out[1] = s .. ':' .. m\n"
    "        break\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if out[1] ~= '' or #page < 400 then break end\n"
    "  offset = offset + 200\n"
    "end\n"
    "for _, m in ipairs(stale) do redis.call('ZREM', key, m) end\n"
    "return out\n"
};

/*
 * ARGV: id, owner ("": an admin), cursor (an event id; "": the first
 * of that order), limit, "asc" or "desc".  {0}: no such execution;
 * else {1, next (0: none), then an id and an event per event}.
 */
gw_svc_script_t  wf_script_history = { .text =
    "local h = redis.call('HMGET', 'gw:wf:x:' .. ARGV[1], 'owner',\n"
    "                     'root')\n"
    "if not h[1] or (ARGV[2] ~= '' and h[1] ~= ARGV[2]) then\n"
    "  return {0}\n"
    "end\n"
    "local key = 'gw:wf:h:' .. (h[2] or ARGV[1])\n"
    "local n = redis.call('LLEN', key)\n"
    "local limit = tonumber(ARGV[4])\n"
    "local out = {1, 0}\n"
    "if ARGV[5] == 'asc' then\n"
    "  local from = tonumber(ARGV[3] ~= '' and ARGV[3] or '1')\n"
    "  local to = math.min(from + limit - 1, n)\n"
    "  if from <= to then\n"
    "    local ev = redis.call('LRANGE', key, from - 1, to - 1)\n"
    "    for i, e in ipairs(ev) do\n"
    "      out[#out + 1] = from + i - 1\n"
    "      out[#out + 1] = e\n"
    "    end\n"
    "  end\n"
    "  if to < n then out[2] = to + 1 end\n"
    "else\n"
    "  local from = tonumber(ARGV[3] ~= '' and ARGV[3] or tostring(n))\n"
    "  from = math.min(from, n)\n"
    "  local to = math.max(from - limit + 1, 1)\n"
    "  if to <= from then\n"
    "    local ev = redis.call('LRANGE', key, to - 1, from - 1)\n"
    "    for i = #ev, 1, -1 do\n"
    "      out[#out + 1] = to + i - 1\n"
    "      out[#out + 1] = ev[i]\n"
    "    end\n"
    "  end\n"
    "  if to > 1 then out[2] = to - 1 end\n"
    "end\n"
    "return out\n"
};


static int
wf_api_status_valid(const char *s)
{
    return strcmp(s, WF_RUNNING) == 0 || strcmp(s, WF_SUCCEEDED) == 0
           || strcmp(s, WF_FAILED) == 0 || strcmp(s, WF_TIMED_OUT) == 0
           || strcmp(s, WF_ABORTED) == 0;
}


void
wf_api_list(gw_svc_req_t *req, wf_caller_t *caller)
{
    int             rc;
    char            def[WF_NAME_MAX + 1], status[16], cursor[WF_CURSOR_MAX];
    char            key[WF_OWNER_MAX + 64], cs[24], limit_s[24], *p;
    const char     *q, *argv[7];
    wf_list_ctx_t  *ctx;

    q = gw_svc_req_query(req);

    ctx = gw_svc_req_alloc(req, sizeof(wf_list_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;

    if (wf_query_int(req, q, "limit", WF_LIST_DFLT, 1, WF_LIST_MAX,
                     &ctx->limit)
        != 0)
    {
        return;
    }

    rc = wf_query_str(req, q, "definition", def, sizeof(def));

    if (rc == -1) {
        return;
    }

    if (rc == 1) {
        def[0] = '\0';

    } else if (!wf_name_valid(def, strlen(def))) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "bad definition");
        return;
    }

    rc = wf_query_str(req, q, "status", status, sizeof(status));

    if (rc == -1) {
        return;
    }

    if (rc == 1) {
        status[0] = '\0';

    } else if (!wf_api_status_valid(status)) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "status must be RUNNING, SUCCEEDED, FAILED, "
                             "TIMED_OUT or ABORTED");
        return;
    }

    rc = wf_query_str(req, q, "cursor", cursor, sizeof(cursor));

    if (rc == -1) {
        return;
    }

    cs[0] = '\0';
    p = NULL;

    if (rc == 0) {
        p = strchr(cursor, ':');

        if (p == NULL || p == cursor || (size_t) (p - cursor) >= sizeof(cs)
            || strspn(cursor, "0123456789") != (size_t) (p - cursor)
            || !wf_id_valid(p + 1))
        {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "bad cursor");
            return;
        }

        memcpy(cs, cursor, p - cursor);
        cs[p - cursor] = '\0';
        p++;
    }

    if (!caller->admin) {
        snprintf(key, sizeof(key), "gw:wf:own:%s", caller->owner);
        argv[4] = def;
        argv[5] = status;
        argv[6] = caller->owner;

    } else if (def[0] != '\0') {
        /* the status checked too: an entry the engine has yet to move */
        snprintf(key, sizeof(key), "gw:wf:ls:%s%s%s", def,
                 status[0] != '\0' ? ":" : "", status);
        argv[4] = "";
        argv[5] = status;
        argv[6] = "";

    } else {
        strcpy(key, "gw:wf:all");
        argv[4] = "";
        argv[5] = status;
        argv[6] = "";
    }

    snprintf(limit_s, sizeof(limit_s), "%lld", ctx->limit);

    argv[0] = key;
    argv[1] = cs;
    argv[2] = (p != NULL) ? p : "";
    argv[3] = limit_s;

    if (wf_api_eval(&wf_script_list, 7, argv, wf_api_listed,
                    ctx)
        != 0)
    {
        wf_unavailable(req);
    }
}


static json_t *
wf_api_cell(redisReply *r)
{
    return (r->type == REDIS_REPLY_STRING && r->len > 0)
           ? json_stringn(r->str, r->len) : json_null();
}


static void
wf_api_listed(redisReply *reply, void *data)
{
    wf_list_ctx_t  *ctx = data;

    char            start[32], stop[32];
    size_t          i;
    json_t         *list, *body, *e;
    redisReply    **f;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1 || (reply->elements - 1) % 7 != 0)
    {
        wf_unavailable(ctx->req);
        return;
    }

    list = json_array();
    body = json_pack("{s:o, s:o}", "executions", list, "next",
                     wf_api_cell(reply->element[0]));
    if (body == NULL) {
        gw_svc_reply_problem(ctx->req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    for (i = 1; i < reply->elements; i += 7) {
        f = reply->element + i;

        wf_rfc3339(f[5]->type == REDIS_REPLY_STRING
                   ? strtoll(f[5]->str, NULL, 10) : 0, start, sizeof(start));
        wf_rfc3339(f[6]->type == REDIS_REPLY_STRING
                   ? strtoll(f[6]->str, NULL, 10) : 0, stop, sizeof(stop));

        e = json_pack("{s:o, s:o, s:o, s:I, s:o, s:s?, s:s?}",
                      "id", wf_api_cell(f[0]),
                      "name", wf_api_cell(f[1]),
                      "definition", wf_api_cell(f[2]),
                      "version", (json_int_t) (f[3]->type
                                               == REDIS_REPLY_STRING
                                               ? strtoll(f[3]->str, NULL,
                                                         10)
                                               : 0),
                      "status", wf_api_cell(f[4]),
                      "start", start[0] != '\0' ? start : NULL,
                      "stop", stop[0] != '\0' ? stop : NULL);

        if (e == NULL || json_array_append_new(list, e) != 0) {
            json_decref(body);
            gw_svc_reply_problem(ctx->req, 500, "internal",
                                 "Internal error", "out of memory");
            return;
        }
    }

    gw_svc_req_add_header(ctx->req, "Cache-Control", "no-store");
    gw_svc_reply_json(ctx->req, 200, body);
}


void
wf_api_history(gw_svc_req_t *req, wf_caller_t *caller, const char *id)
{
    int             rc;
    char            order[8], cursor_s[24], limit_s[24];
    const char     *q, *argv[5];
    long long       cursor;
    wf_list_ctx_t  *ctx;

    q = gw_svc_req_query(req);

    ctx = gw_svc_req_alloc(req, sizeof(wf_list_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;

    if (wf_query_int(req, q, "limit", WF_HISTORY_DFLT, 1, WF_HISTORY_MAX,
                     &ctx->limit)
        != 0)
    {
        return;
    }

    rc = wf_query_str(req, q, "order", order, sizeof(order));

    if (rc == -1) {
        return;
    }

    if (rc == 1) {
        strcpy(order, "asc");

    } else if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "order must be asc or desc");
        return;
    }

    rc = wf_query_str(req, q, "cursor", cursor_s, sizeof(cursor_s));

    if (rc == -1) {
        return;
    }

    if (rc == 0) {
        if (wf_query_int(req, q, "cursor", 0, 1, 100000000, &cursor) != 0) {
            return;
        }

        snprintf(cursor_s, sizeof(cursor_s), "%lld", cursor);

    } else {
        cursor_s[0] = '\0';
    }

    snprintf(limit_s, sizeof(limit_s), "%lld", ctx->limit);

    argv[0] = id;
    argv[1] = caller->admin ? "" : caller->owner;
    argv[2] = cursor_s;
    argv[3] = limit_s;
    argv[4] = order;

    if (wf_api_eval(&wf_script_history, 5, argv,
                    wf_api_historied, ctx)
        != 0)
    {
        wf_unavailable(req);
    }
}


static void
wf_api_historied(redisReply *reply, void *data)
{
    wf_list_ctx_t  *ctx = data;

    size_t          i;
    json_t         *events, *body, *ev;
    redisReply     *r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        wf_unavailable(ctx->req);
        return;
    }

    if (reply->element[0]->integer == 0) {
        wf_api_not_found(ctx->req, NULL);
        return;
    }

    if (reply->elements < 2 || reply->elements % 2 != 0
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        wf_unavailable(ctx->req);
        return;
    }

    events = json_array();
    body = json_pack("{s:o}", "events", events);

    if (body == NULL) {
        gw_svc_reply_problem(ctx->req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    r = reply->element[1];

    json_object_set_new(body, "next", r->integer > 0
                        ? json_sprintf("%lld", r->integer) : json_null());

    for (i = 2; i + 1 < reply->elements; i += 2) {
        r = reply->element[i + 1];

        ev = (r->type == REDIS_REPLY_STRING)
             ? json_loadb(r->str, r->len, JSON_ALLOW_NUL, NULL) : NULL;

        if (ev == NULL) {
            ev = json_object();
        }

        if (ev == NULL
            || json_object_set_new(ev, "id",
                                   json_integer(reply->element[i]->integer))
               != 0
            || json_array_append_new(events, ev) != 0)
        {
            json_decref(body);
            gw_svc_reply_problem(ctx->req, 500, "internal",
                                 "Internal error", "out of memory");
            return;
        }
    }

    gw_svc_req_add_header(ctx->req, "Cache-Control", "no-store");
    gw_svc_reply_json(ctx->req, 200, body);
}
