
/*
 * Copyright (C) Tollgate
 *
 * The builder's election and the change log follower.
 *
 * One worker per gateway builds: the one holding the lease in the zone
 * (a pid and a deadline it renews every tick).  A worker takes the lease
 * when nobody holds it, when it lapsed, or when its holder is gone (a
 * crash, kill -9), so a new builder takes over within a tick; a worker
 * that finds the lease taken from it (it stalled past the deadline)
 * stops building; a worker that exits (a reload's old workers) gives it
 * back at once.
 *
 * The builder follows the metadata service's change log
 * (backends/metadata/metadata.h) through the async Redis client, one
 * command in flight at a time, never blocking: a script returns
 * gw:md:rev and the log's entries from the next one expected, a batch at
 * a time.  Entries are checked to follow each other exactly ("<rev>-<i>"
 * in order, every revision whole); anything else (a trimmed log, a gap,
 * a revision that went back) makes it resync: a second script reads
 * every entity of the snapshot's types at one revision.  A revision's
 * entries may span batches: the model is built only at whole revisions.
 * Polls come from gw:md:changed messages, and every interval as a safety
 * net (messages are lost while unsubscribed).
 *
 * Redis gone: commands fail at once, the last snapshot keeps serving,
 * one warning per incident, and the next poll after it comes back picks
 * up where it stopped.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_config.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_CONFIG_TIMES  4096      /* commit times kept a build */


typedef struct {
    ngx_uint_t                  builder;
    uintptr_t                   epoch;      /* replies of an older role
                                               are dropped */
    ngx_uint_t                  busy;       /* a command in flight */
    ngx_uint_t                  again;      /* a change came meanwhile */
    ngx_uint_t                  resync;     /* owed */
    ngx_uint_t                  dirty;      /* not built since applied */
    ngx_uint_t                  incident;   /* Redis unreachable: warned */
    ngx_uint_t                  answered;   /* Redis answered once */
    int64_t                     last_poll;  /* ms */

    uint64_t                    partial;    /* a revision read in part */
    uint64_t                    seq;        /* its next entry */

    ngx_http_gw_config_model_t  model;

    ngx_uint_t                  ntimes;     /* commit times since the
                                               last publication */
    int64_t                     times[NGX_HTTP_GW_CONFIG_TIMES];
} ngx_http_gw_config_follower_t;


static void ngx_http_gw_config_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static void ngx_http_gw_config_resync_event(void *data);
static void ngx_http_gw_config_kick(ngx_http_gw_config_main_conf_t *gcf);
static void ngx_http_gw_config_poll(ngx_http_gw_config_main_conf_t *gcf);
static void ngx_http_gw_config_poll_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_config_resync_reply(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_config_failed(
    ngx_http_gw_config_main_conf_t *gcf, ngx_http_gw_redis_status_e status,
    redisReply *reply);
static void ngx_http_gw_config_publish_model(
    ngx_http_gw_config_main_conf_t *gcf);
static void ngx_http_gw_config_become(ngx_http_gw_config_main_conf_t *gcf);
static void ngx_http_gw_config_lose(void);


static ngx_str_t  ngx_http_gw_config_channel = ngx_string("gw:md:changed");


/*
 * KEYS: gw:md:rev, gw:md:log; ARGV: the first entry id, the count.
 * Returns { revision, entries }.
 */
static ngx_http_gw_redis_script_t  ngx_http_gw_config_poll_script = {
    ngx_string(
    "local rev = redis.call('GET', KEYS[1]) or '0'\n"
    "return {rev, redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT',"
    " ARGV[2])}\n"),
    { 0 }
};


/*
 * KEYS: gw:md:rev, gw:md:log; ARGV: the types.  Returns { revision, its
 * commit time ("0": unknown), then type, id, version, doc for every
 * entity }, all at one revision (a script runs alone).
 */
static ngx_http_gw_redis_script_t  ngx_http_gw_config_resync_script = {
    ngx_string(
    "local out = {redis.call('GET', KEYS[1]) or '0', '0'}\n"
    "local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)\n"
    "if last[1] then\n"
    "  local f, r, t = last[1][2]\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'rev' then r = f[i + 1] end\n"
    "    if f[i] == 'time' then t = f[i + 1] end\n"
    "  end\n"
    "  if r == out[1] and t then out[2] = t end\n"
    "end\n"
    "for _, t in ipairs(ARGV) do\n"
    "  for _, id in ipairs(redis.call('ZRANGE', 'gw:md:ix:' .. t, 0, -1)) do\n"
    "    local h = redis.call('HMGET', 'gw:md:e:' .. t .. ':' .. id,"
    " 'v', 'doc')\n"
    "    if h[1] and h[2] then\n"
    "      out[#out + 1] = t\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = h[1]\n"
    "      out[#out + 1] = h[2]\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n"),
    { 0 }
};


/* propagation buckets, ms */
static const ngx_msec_t  ngx_http_gw_config_bounds[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


static ngx_http_gw_config_follower_t  ngx_http_gw_config_follower;


ngx_int_t
ngx_http_gw_config_follow_init(ngx_conf_t *cf,
    ngx_http_gw_config_main_conf_t *gcf)
{
    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gw_config\" needs \"gw_redis\" in the http "
                           "block");
        return NGX_ERROR;
    }

    if (ngx_http_gw_redis_script_init(cf, &ngx_http_gw_config_poll_script)
        != NGX_OK
        || ngx_http_gw_redis_script_init(cf,
                                         &ngx_http_gw_config_resync_script)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_subscribe(cf, &ngx_http_gw_config_channel,
                                       ngx_http_gw_config_message,
                                       ngx_http_gw_config_resync_event, gcf);
}


ngx_uint_t
ngx_http_gw_config_is_builder(void)
{
    return ngx_http_gw_config_follower.builder;
}


/* gw:md:changed: "<revision>" after each commit */

static void
ngx_http_gw_config_message(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    ngx_int_t                       rev;
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    if (!f->builder) {
        return;
    }

    rev = ngx_atoi(message->data, message->len);

    if (rev != NGX_ERROR && (uint64_t) rev <= f->model.revision
        && f->partial == 0)
    {
        return;
    }

    ngx_http_gw_config_kick(data);
}


/* (re)subscribed: what was published meanwhile is lost, so read */

static void
ngx_http_gw_config_resync_event(void *data)
{
    if (ngx_http_gw_config_follower.builder) {
        ngx_http_gw_config_kick(data);
    }
}


/* every worker's tick: the lease, and the builder's safety-net poll */

void
ngx_http_gw_config_follow_tick(ngx_http_gw_config_main_conf_t *gcf)
{
    int64_t                         now;
    ngx_atomic_uint_t               holder;
    ngx_http_gw_config_sh_t        *sh;
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;
    sh = gcf->sh;
    now = ngx_http_gw_config_now();

    if (f->builder) {
        if ((ngx_pid_t) sh->builder != ngx_pid) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "gw_config: the builder's lease was taken by "
                          "process %uA", sh->builder);
            ngx_http_gw_config_lose();
            return;
        }

        sh->lease_until = (ngx_atomic_uint_t) now
                          + NGX_HTTP_GW_CONFIG_LEASE;

        if (now - f->last_poll >= (int64_t) gcf->interval) {
            ngx_http_gw_config_kick(gcf);
        }

        /* snapshots a request held at the last publication */

        ngx_http_gw_config_reclaim(gcf);

        return;
    }

    holder = sh->builder;

    if (holder != 0 && (int64_t) sh->lease_until >= now
        && ngx_http_gw_config_alive((ngx_pid_t) holder))
    {
        return;
    }

    if (!ngx_atomic_cmp_set(&sh->builder, holder, (ngx_atomic_uint_t) ngx_pid))
    {
        return;
    }

    sh->lease_until = (ngx_atomic_uint_t) now + NGX_HTTP_GW_CONFIG_LEASE;

    if (holder != 0) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "gw_config: took the builder's lease over from "
                      "process %uA", holder);
    }

    ngx_http_gw_config_become(gcf);
}


void
ngx_http_gw_config_follow_exit(ngx_http_gw_config_main_conf_t *gcf)
{
    if (!ngx_http_gw_config_follower.builder) {
        return;
    }

    (void) ngx_atomic_cmp_set(&gcf->sh->builder, (ngx_atomic_uint_t) ngx_pid,
                              0);

    ngx_http_gw_config_lose();
}


static void
ngx_http_gw_config_become(ngx_http_gw_config_main_conf_t *gcf)
{
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    ngx_http_gw_config_model_free(&f->model);

    f->builder = 1;
    f->epoch++;
    f->busy = 0;
    f->again = 0;
    f->resync = 1;
    f->dirty = 0;
    f->partial = 0;
    f->seq = 0;
    f->ntimes = 0;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "gw_config: this worker builds the gateway's "
                  "configuration");

    ngx_http_gw_config_kick(gcf);
}


static void
ngx_http_gw_config_lose(void)
{
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    f->builder = 0;
    f->epoch++;
    f->busy = 0;

    ngx_http_gw_config_model_free(&f->model);
    ngx_http_gw_config_build_release();
}


static void
ngx_http_gw_config_kick(ngx_http_gw_config_main_conf_t *gcf)
{
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    if (f->busy) {
        f->again = 1;
        return;
    }

    ngx_http_gw_config_poll(gcf);
}


/* the next read: a resync when owed, else the log from the next entry */

static void
ngx_http_gw_config_poll(ngx_http_gw_config_main_conf_t *gcf)
{
    size_t                          len[2 + 6];
    u_char                          start[64], count[16];
    ngx_int_t                       rc;
    ngx_uint_t                      i, n;
    const char                     *argv[2 + 6];
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    if (!f->builder || f->busy || ngx_exiting) {
        return;
    }

    /* not connected yet at the start: the client says why, and the
       subscription's first resync call reads */

    if (!f->answered && !ngx_http_gw_redis_connected()) {
        return;
    }

    f->last_poll = ngx_http_gw_config_now();
    f->again = 0;

    argv[0] = "gw:md:rev";
    len[0] = sizeof("gw:md:rev") - 1;
    argv[1] = "gw:md:log";
    len[1] = sizeof("gw:md:log") - 1;

    if (f->resync) {
        for (n = 2, i = 0; ngx_http_gw_config_types[i] != NULL; i++, n++) {
            argv[n] = ngx_http_gw_config_types[i];
            len[n] = ngx_strlen(argv[n]);
        }

        rc = ngx_http_gw_redis_command_script(
                 &ngx_http_gw_config_resync_script,
                 ngx_http_gw_config_resync_reply, (void *) f->epoch,
                 2, (int) n, argv, len);

    } else {
        len[2] = ngx_sprintf(start, "%uL-%uL",
                             f->partial ? f->partial : f->model.revision + 1,
                             f->partial ? f->seq : 0)
                 - start;
        argv[2] = (const char *) start;
        len[3] = ngx_sprintf(count, "%d", NGX_HTTP_GW_CONFIG_BATCH) - count;
        argv[3] = (const char *) count;

        rc = ngx_http_gw_redis_command_script(
                 &ngx_http_gw_config_poll_script,
                 ngx_http_gw_config_poll_reply, (void *) f->epoch,
                 2, 4, argv, len);
    }

    if (rc == NGX_OK) {
        f->busy = 1;
        return;
    }

    if (rc == NGX_DECLINED) {
        (void) ngx_http_gw_config_failed(gcf, NGX_HTTP_GW_REDIS_DOWN, NULL);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "gw_config: could not send a command to Redis");
}


/*
 * The outcome of a read: NGX_OK when Redis answered (an incident ends),
 * else NGX_DECLINED after one warning per incident.
 */

static ngx_int_t
ngx_http_gw_config_failed(ngx_http_gw_config_main_conf_t *gcf,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    const char                     *why;
    ngx_http_gw_config_follower_t  *f;

    f = &ngx_http_gw_config_follower;

    if (status == NGX_HTTP_GW_REDIS_OK && reply != NULL
        && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2)
    {
        f->answered = 1;

        if (f->incident) {
            f->incident = 0;
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "gw_config: following the change log again "
                          "from revision %uL", f->model.revision);
        }

        return NGX_OK;
    }

    if (!f->incident) {
        f->incident = 1;

        why = (status == NGX_HTTP_GW_REDIS_TIMEOUT) ? "a timeout"
              : (status == NGX_HTTP_GW_REDIS_DOWN) ? "Redis is unreachable"
              : (reply != NULL && reply->type == REDIS_REPLY_ERROR)
                ? reply->str : "an unexpected reply";

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "gw_config: cannot read the change log (%s): "
                      "revision %uA keeps serving", why, gcf->sh->revision);
    }

    return NGX_DECLINED;
}


static ngx_str_t
ngx_http_gw_config_field(redisReply *fields, const char *name)
{
    size_t      i;
    ngx_str_t   v;
    redisReply  *k;

    v.len = 0;
    v.data = (u_char *) "";

    for (i = 0; i + 1 < fields->elements; i += 2) {
        k = fields->element[i];

        if (k->type == REDIS_REPLY_STRING && ngx_strcmp(k->str, name) == 0
            && fields->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            v.data = (u_char *) fields->element[i + 1]->str;
            v.len = fields->element[i + 1]->len;
            break;
        }
    }

    return v;
}


static uint64_t
ngx_http_gw_config_u64(ngx_str_t *s)
{
    uint64_t    n;
    ngx_uint_t  i;

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return 0;
        }

        n = n * 10 + (s->data[i] - '0');
    }

    return n;
}


static void
ngx_http_gw_config_poll_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    u_char                          *dash, type[64];
    size_t                           i;
    uint64_t                         rev, erev, eseq, n;
    ngx_int_t                        rc;
    ngx_str_t                        id, s, t, doc, tm;
    redisReply                      *entries, *e, *fields;
    ngx_http_gw_config_follower_t   *f;
    ngx_http_gw_config_main_conf_t  *gcf;

    f = &ngx_http_gw_config_follower;
    gcf = ngx_http_gw_config_conf;

    if ((uintptr_t) data != f->epoch || !f->builder || gcf == NULL) {
        return;
    }

    f->busy = 0;

    if (ngx_http_gw_config_failed(gcf, status, reply) != NGX_OK
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return;
    }

    s.data = (u_char *) reply->element[0]->str;
    s.len = reply->element[0]->len;
    rev = ngx_http_gw_config_u64(&s);
    entries = reply->element[1];

    if (rev < f->model.revision) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "gw_config: the metadata revision went back from "
                      "%uL to %uL: reading everything again",
                      f->model.revision, rev);
        f->resync = 1;
        ngx_http_gw_config_poll(gcf);
        return;
    }

    for (i = 0; i < entries->elements; i++) {
        e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
            || e->element[0]->type != REDIS_REPLY_STRING
            || e->element[1]->type != REDIS_REPLY_ARRAY)
        {
            f->resync = 1;
            break;
        }

        /* "<revision>-<i>", exactly the one expected */

        id.data = (u_char *) e->element[0]->str;
        id.len = e->element[0]->len;
        dash = ngx_strlchr(id.data, id.data + id.len, '-');

        if (dash == NULL) {
            f->resync = 1;
            break;
        }

        s.data = id.data;
        s.len = dash - id.data;
        erev = ngx_http_gw_config_u64(&s);
        s.data = dash + 1;
        s.len = id.data + id.len - s.data;
        eseq = ngx_http_gw_config_u64(&s);

        if (erev != (f->partial ? f->partial : f->model.revision + 1)
            || eseq != (f->partial ? f->seq : 0))
        {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "gw_config: the change log goes on at %V after "
                          "revision %uL (trimmed): reading everything again",
                          &id, f->model.revision);
            f->resync = 1;
            break;
        }

        fields = e->element[1];
        s = ngx_http_gw_config_field(fields, "n");
        n = ngx_http_gw_config_u64(&s);
        t = ngx_http_gw_config_field(fields, "type");
        id = ngx_http_gw_config_field(fields, "id");
        s = ngx_http_gw_config_field(fields, "va");
        doc = ngx_http_gw_config_field(fields, "after");
        tm = ngx_http_gw_config_field(fields, "time");

        if (t.len < sizeof(type)) {
            ngx_memcpy(type, t.data, t.len);
            type[t.len] = '\0';

            rc = ngx_http_gw_config_model_set(&f->model, (char *) type,
                                              (char *) id.data, id.len,
                                              ngx_http_gw_config_u64(&s),
                                              (char *) doc.data, doc.len,
                                              ngx_cycle->log);
            if (rc == NGX_ERROR) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "gw_config: no memory for the model");
                f->resync = 1;
                break;
            }
        }

        if (eseq + 1 < n) {
            f->partial = erev;
            f->seq = eseq + 1;
            continue;
        }

        /* a whole revision */

        f->partial = 0;
        f->seq = 0;
        f->model.revision = erev;
        f->model.committed_ms = (int64_t) ngx_http_gw_config_u64(&tm);
        f->dirty = 1;

        if (f->ntimes < NGX_HTTP_GW_CONFIG_TIMES) {
            f->times[f->ntimes++] = f->model.committed_ms;
        }
    }

    if (!f->resync && entries->elements == 0 && f->partial == 0
        && rev > f->model.revision)
    {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "gw_config: revision %uL is no longer in the change "
                      "log (trimmed): reading everything again",
                      f->model.revision + 1);
        f->resync = 1;
    }

    if (f->resync || entries->elements == NGX_HTTP_GW_CONFIG_BATCH) {
        ngx_http_gw_config_poll(gcf);
        return;
    }

    if (f->dirty && f->partial == 0) {
        ngx_http_gw_config_publish_model(gcf);
    }

    if (f->again) {
        ngx_http_gw_config_poll(gcf);
    }
}


static void
ngx_http_gw_config_resync_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    u_char                          type[64];
    size_t                          i;
    ngx_int_t                       rc;
    ngx_str_t                       s;
    redisReply                    **el;
    ngx_http_gw_config_model_t      m;
    ngx_http_gw_config_follower_t  *f;
    ngx_http_gw_config_main_conf_t *gcf;

    f = &ngx_http_gw_config_follower;
    gcf = ngx_http_gw_config_conf;

    if ((uintptr_t) data != f->epoch || !f->builder || gcf == NULL) {
        return;
    }

    f->busy = 0;

    if (ngx_http_gw_config_failed(gcf, status, reply) != NGX_OK) {
        return;
    }

    ngx_memzero(&m, sizeof(ngx_http_gw_config_model_t));
    el = reply->element;

    for (i = 0; i < reply->elements; i++) {
        if (el[i]->type != REDIS_REPLY_STRING) {
            goto bad;
        }
    }

    for (i = 2; i + 3 < reply->elements; i += 4) {

        if (el[i]->len >= sizeof(type)) {
            continue;
        }

        ngx_memcpy(type, el[i]->str, el[i]->len);
        type[el[i]->len] = '\0';

        s.data = (u_char *) el[i + 2]->str;
        s.len = el[i + 2]->len;

        rc = ngx_http_gw_config_model_set(&m, (char *) type, el[i + 1]->str,
                                          el[i + 1]->len,
                                          ngx_http_gw_config_u64(&s),
                                          el[i + 3]->str, el[i + 3]->len,
                                          ngx_cycle->log);
        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "gw_config: no memory for the model");
            ngx_http_gw_config_model_free(&m);
            return;
        }
    }

    s.data = (u_char *) el[0]->str;
    s.len = el[0]->len;
    m.revision = ngx_http_gw_config_u64(&s);
    s.data = (u_char *) el[1]->str;
    s.len = el[1]->len;
    m.committed_ms = (int64_t) ngx_http_gw_config_u64(&s);

    ngx_http_gw_config_model_free(&f->model);
    f->model = m;
    f->resync = 0;
    f->partial = 0;
    f->seq = 0;
    f->ntimes = 0;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "gw_config: read the metadata at revision %uL",
                  m.revision);

    /* the snapshot of this revision may be published already (a new
       builder after a reload or a takeover): nothing to build then */

    if (gcf->sh->current == 0 || gcf->sh->revision != m.revision) {
        ngx_http_gw_config_publish_model(gcf);

    } else {
        f->dirty = 0;
    }

    ngx_http_gw_config_poll(gcf);

    return;

bad:

    (void) ngx_http_gw_config_failed(gcf, NGX_HTTP_GW_REDIS_OK, NULL);
}


/*
 * Builds the model's revision; counts, and on a refusal records the
 * error for the status endpoint and logs it once per (revision,
 * message), at warn: a bad change from the admin API is not the
 * gateway's fault.
 */

static void
ngx_http_gw_config_publish_model(ngx_http_gw_config_main_conf_t *gcf)
{
    int64_t                         now, d, start, took;
    uint64_t                        h;
    struct timeval                  tv;
    ngx_int_t                       rc;
    ngx_uint_t                      i, k;
    ngx_http_gw_config_sh_t        *sh;
    ngx_http_gw_config_follower_t  *f;
    u_char                          err[NGX_HTTP_GW_CONFIG_ERROR_MAX], *p;

    f = &ngx_http_gw_config_follower;
    sh = gcf->sh;
    f->dirty = 0;

    if ((ngx_pid_t) sh->builder != ngx_pid) {
        return;
    }

    ngx_gettimeofday(&tv);
    start = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;

    rc = ngx_http_gw_config_build(gcf, &f->model, err, ngx_cycle->log);

    if (rc == NGX_OK) {
        ngx_gettimeofday(&tv);
        took = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec - start;
        now = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

        for (i = 0; i < f->ntimes; i++) {
            d = now - f->times[i];
            d = ngx_max(d, 0);

            for (k = 0; k < NGX_HTTP_GW_CONFIG_BUCKETS; k++) {
                if (d <= (int64_t) ngx_http_gw_config_bounds[k]) {
                    break;
                }
            }

            (void) ngx_atomic_fetch_add(&sh->hist[k], 1);
            (void) ngx_atomic_fetch_add(&sh->hist_sum, (ngx_atomic_int_t) d);
            (void) ngx_atomic_fetch_add(&sh->hist_count, 1);
        }

        f->ntimes = 0;
        sh->build_us = (ngx_atomic_uint_t) ngx_max(took, 1);
        (void) ngx_atomic_fetch_add(&sh->builds, 1);

        ngx_shmtx_lock(&gcf->shpool->mutex);
        sh->error[0] = '\0';
        ngx_shmtx_unlock(&gcf->shpool->mutex);

        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "gw_config: revision %uL published (built in %L us)",
                      f->model.revision, took);
        return;
    }

    f->ntimes = 0;

    if (rc != NGX_DECLINED) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sh->refused, 1);

    ngx_shmtx_lock(&gcf->shpool->mutex);
    p = ngx_cpystrn(sh->error, err, NGX_HTTP_GW_CONFIG_ERROR_MAX);
    sh->error_revision = f->model.revision;
    ngx_shmtx_unlock(&gcf->shpool->mutex);

    (void) p;

    h = 0xcbf29ce484222325ULL ^ f->model.revision;

    for (p = err; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
    }

    if (sh->error_hash == (ngx_atomic_uint_t) h) {
        return;
    }

    sh->error_hash = (ngx_atomic_uint_t) h;

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "gw_config: revision %uL refused, revision %uA keeps "
                  "serving: %s", f->model.revision, sh->revision, err);
}
