
/*
 * Copyright (C) Tollgate
 *
 * Coalesced global limits (gw_limit_batch, docs/limit.md): within one
 * worker, the requests whose only global limit is the same rate or quota
 * of the same key are decided by one run of gw_limit_batch_script, which
 * admits k of n exactly as n runs of the per-request script would at that
 * instant, and answers each request what its own run would have answered.
 * A rate cannot be leased, but it can be coalesced: nothing is admitted
 * before Redis counted it, and the answers are given as soon as the reply
 * comes.
 *
 * The key design decision: per key, one call gathering and at most one in
 * flight.  The first request of a key posts the gathering call's send to
 * the end of the event loop's iteration (ngx_posted_events), so every
 * request of that key read in the same iteration joins it; while a call
 * is in flight the next one gathers, and is sent when the reply comes.  A
 * call holds at most gw_limit_batch requests; when the gathering one is
 * full, it is sent at once if none is in flight, and otherwise a request
 * goes to Redis alone, as without batching.
 *
 * A waiting request is suspended as for any Redis command, its read
 * handler watching for a client that goes away; its record lives in its
 * pool, with a cleanup that takes it out of its call, so a call never
 * names a request that is gone.  A call has a timer of gw_redis_timeout
 * from its first request's arrival: whichever comes first, the reply or
 * the timer, answers every request of the call, so none waits longer than
 * it would alone.  A call is allocated outside any pool; once sent, the
 * Redis client's handler frees it (it runs exactly once), else its
 * answer does.  Keys are held only while a call of theirs exists, at most
 * NGX_HTTP_GW_LIMIT_BATCH_KEYS at once; beyond, requests go alone.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_limit.h"


#define NGX_HTTP_GW_LIMIT_BATCH_KEYS     4096


typedef struct ngx_http_gw_limit_batch_call_s  ngx_http_gw_limit_batch_call_t;


/* one key in this worker, while it has a call */
typedef struct {
    ngx_str_node_t                   sn;        /* str: the Redis key */
    gw_limit_rule_t                  rule;
    ngx_http_gw_redis_script_t      *script;
    ngx_http_gw_limit_batch_call_t  *gather;    /* being gathered */
    ngx_http_gw_limit_batch_call_t  *flight;    /* sent, not answered */
} ngx_http_gw_limit_batch_key_t;


struct ngx_http_gw_limit_batch_call_s {
    ngx_queue_t                      members;
    ngx_uint_t                       n;         /* members now */
    ngx_uint_t                       sent_n;    /* members when sent */
    ngx_http_gw_limit_batch_key_t   *key;       /* NULL once answered */
    ngx_event_t                      send;      /* posted */
    ngx_event_t                      timer;     /* gw_redis_timeout */
    unsigned                         sent:1;    /* Redis' handler owes
                                                   us a call */
    unsigned                         failed:1;  /* not sent after all */
};


/* one request in a call, in the request's pool */
typedef struct {
    ngx_queue_t                      queue;
    ngx_http_request_t              *r;
    ngx_http_gw_limit_ctx_t         *ctx;
    ngx_http_gw_limit_item_t        *it;
    ngx_http_gw_limit_batch_call_t  *call;
    ngx_pool_cleanup_t              *cln;
    ngx_http_event_handler_pt        read_event_handler;    /* r's own */
    ngx_uint_t                       pos;       /* in the call, as sent */
    unsigned                         watching:1;
} ngx_http_gw_limit_batch_member_t;


static ngx_http_gw_limit_batch_call_t *ngx_http_gw_limit_batch_call(
    ngx_http_request_t *r, ngx_http_gw_limit_batch_key_t *key);
static void ngx_http_gw_limit_batch_send(ngx_http_gw_limit_batch_call_t *call);
static void ngx_http_gw_limit_batch_send_handler(ngx_event_t *ev);
static void ngx_http_gw_limit_batch_timeout(ngx_event_t *ev);
static void ngx_http_gw_limit_batch_handler(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_limit_batch_answer(
    ngx_http_gw_limit_batch_call_t *call, ngx_http_gw_redis_status_e status,
    redisReply *reply);
static ngx_int_t ngx_http_gw_limit_batch_valid(
    ngx_http_gw_limit_batch_call_t *call, redisReply *reply);
static void ngx_http_gw_limit_batch_cleanup(void *data);
static void ngx_http_gw_limit_batch_call_free(
    ngx_http_gw_limit_batch_call_t *call);
static void ngx_http_gw_limit_batch_release(
    ngx_http_gw_limit_batch_key_t *key);
static ngx_uint_t ngx_http_gw_limit_batch_same(gw_limit_rule_t *a,
    gw_limit_rule_t *b);


/* per worker */
static ngx_rbtree_t       ngx_http_gw_limit_batch_tree;
static ngx_rbtree_node_t  ngx_http_gw_limit_batch_sentinel;
static ngx_uint_t         ngx_http_gw_limit_batch_nkeys = (ngx_uint_t) -1;


ngx_int_t
ngx_http_gw_limit_batch_join(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_item_t *it,
    ngx_uint_t max)
{
    uint32_t                           hash;
    ngx_pool_cleanup_t                *cln;
    ngx_http_gw_limit_batch_key_t     *key;
    ngx_http_gw_limit_batch_call_t    *call;
    ngx_http_gw_limit_main_conf_t     *lmcf;
    ngx_http_gw_limit_batch_member_t  *m;

    if (max < 2
        || (it->rule.kind != GW_LIMIT_RATE && it->rule.kind != GW_LIMIT_QUOTA)
        || !ngx_http_gw_redis_connected())
    {
        return NGX_DECLINED;
    }

    if (ngx_http_gw_limit_batch_nkeys == (ngx_uint_t) -1) {
        ngx_rbtree_init(&ngx_http_gw_limit_batch_tree,
                        &ngx_http_gw_limit_batch_sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_http_gw_limit_batch_nkeys = 0;
    }

    hash = ngx_crc32_long(it->redis_key.data, it->redis_key.len);

    key = (ngx_http_gw_limit_batch_key_t *)
              ngx_str_rbtree_lookup(&ngx_http_gw_limit_batch_tree,
                                    &it->redis_key, hash);

    if (key == NULL) {
        if (ngx_http_gw_limit_batch_nkeys >= NGX_HTTP_GW_LIMIT_BATCH_KEYS) {
            return NGX_DECLINED;
        }

        key = ngx_alloc(sizeof(ngx_http_gw_limit_batch_key_t)
                        + it->redis_key.len, r->connection->log);
        if (key == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(key, sizeof(ngx_http_gw_limit_batch_key_t));

        lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_module);

        key->sn.node.key = hash;
        key->sn.str.len = it->redis_key.len;
        key->sn.str.data = (u_char *) (key + 1);
        ngx_memcpy(key->sn.str.data, it->redis_key.data, it->redis_key.len);
        key->rule = it->rule;
        key->script = &lmcf->batch;

        ngx_rbtree_insert(&ngx_http_gw_limit_batch_tree, &key->sn.node);
        ngx_http_gw_limit_batch_nkeys++;

    } else if (!ngx_http_gw_limit_batch_same(&key->rule, &it->rule)) {
        return NGX_DECLINED;        /* a plan changed it: alone */
    }

    call = key->gather;

    if (call != NULL && call->n >= max) {
        return NGX_DECLINED;        /* the next call is full: alone */
    }

    if (call == NULL) {
        call = ngx_http_gw_limit_batch_call(r, key);
        if (call == NULL) {
            ngx_http_gw_limit_batch_release(key);
            return NGX_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_gw_limit_batch_member_t));
    if (cln == NULL) {
        if (call->n == 0) {
            ngx_http_gw_limit_batch_call_free(call);
            ngx_http_gw_limit_batch_release(key);
        }

        return NGX_ERROR;
    }

    m = cln->data;
    ngx_memzero(m, sizeof(ngx_http_gw_limit_batch_member_t));

    m->r = r;
    m->ctx = ctx;
    m->it = it;
    m->call = call;
    m->cln = cln;

    cln->handler = ngx_http_gw_limit_batch_cleanup;

    ngx_queue_insert_tail(&call->members, &m->queue);
    call->n++;

    /* suspended as ngx_http_gw_redis_request() suspends a request */

    if (r == r->main && r->read_event_handler == ngx_http_block_reading) {
        m->read_event_handler = r->read_event_handler;
        m->watching = 1;
        r->read_event_handler = ngx_http_test_reading;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    if (key->flight == NULL) {
        if (call->n >= max) {
            if (call->send.posted) {
                ngx_delete_posted_event(&call->send);
            }

            ngx_http_gw_limit_batch_send(call);

        } else if (!call->send.posted) {
            ngx_post_event(&call->send, &ngx_posted_events);
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gw_limit: batch of %ui, %s", call->n,
                   key->flight != NULL ? "behind one in flight" : "gathering");

    return NGX_AGAIN;
}


/* a key's new gathering call, its timer running */

static ngx_http_gw_limit_batch_call_t *
ngx_http_gw_limit_batch_call(ngx_http_request_t *r,
    ngx_http_gw_limit_batch_key_t *key)
{
    ngx_http_gw_limit_batch_call_t  *call;
    ngx_http_gw_redis_main_conf_t   *rmcf;

    call = ngx_calloc(sizeof(ngx_http_gw_limit_batch_call_t),
                      r->connection->log);
    if (call == NULL) {
        return NULL;
    }

    ngx_queue_init(&call->members);
    call->key = key;

    call->send.handler = ngx_http_gw_limit_batch_send_handler;
    call->send.data = call;
    call->send.log = ngx_cycle->log;

    call->timer.handler = ngx_http_gw_limit_batch_timeout;
    call->timer.data = call;
    call->timer.log = ngx_cycle->log;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_redis_module);

    ngx_add_timer(&call->timer, rmcf->timeout);

    key->gather = call;

    return call;
}


/*
 * Sends a gathering call whose key has none in flight: the key's rule,
 * its members' number, their order fixed.  A call every member left is
 * dropped.  When the command cannot be sent (Redis down now, too busy),
 * the members' answer is posted: the caller may be one of them, inside
 * its phase handler.
 */

static void
ngx_http_gw_limit_batch_send(ngx_http_gw_limit_batch_call_t *call)
{
    u_char                            *p;
    size_t                             argvlen[1 + GW_LIMIT_BATCH_ARGS];
    ngx_int_t                          rc;
    ngx_uint_t                         j, pos;
    ngx_queue_t                       *q;
    const char                        *argv[1 + GW_LIMIT_BATCH_ARGS];
    ngx_http_gw_limit_batch_key_t     *key;
    ngx_http_gw_limit_batch_member_t  *m;
    double                             nums[GW_LIMIT_BATCH_ARGS];
    u_char                             buf[GW_LIMIT_BATCH_ARGS
                                           * NGX_HTTP_GW_LIMIT_NUM_LEN];

    key = call->key;
    key->gather = NULL;

    if (call->n == 0) {
        ngx_http_gw_limit_batch_call_free(call);
        ngx_http_gw_limit_batch_release(key);
        return;
    }

    key->flight = call;
    call->sent_n = call->n;

    pos = 0;

    for (q = ngx_queue_head(&call->members);
         q != ngx_queue_sentinel(&call->members);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_gw_limit_batch_member_t, queue);
        m->pos = pos++;
    }

    argv[0] = (const char *) key->sn.str.data;
    argvlen[0] = key->sn.str.len;

    nums[0] = key->rule.kind;
    nums[1] = key->rule.count;
    nums[2] = key->rule.period;
    nums[3] = key->rule.burst;
    nums[4] = key->rule.delay;
    nums[5] = call->n;

    p = buf;

    for (j = 0; j < GW_LIMIT_BATCH_ARGS; j++) {
        argv[1 + j] = (const char *) p;
        argvlen[1 + j] = ngx_http_gw_limit_redis_num(p, nums[j]);
        p += NGX_HTTP_GW_LIMIT_NUM_LEN;
    }

    rc = ngx_http_gw_redis_command_script(key->script,
                                          ngx_http_gw_limit_batch_handler,
                                          call, 1, 1 + GW_LIMIT_BATCH_ARGS,
                                          argv, argvlen);

    if (rc == NGX_OK) {
        call->sent = 1;
        return;
    }

    call->failed = 1;
    ngx_post_event(&call->send, &ngx_posted_events);
}


/* the end of the iteration a call gathered in; or its failure to send */

static void
ngx_http_gw_limit_batch_send_handler(ngx_event_t *ev)
{
    ngx_http_gw_limit_batch_call_t *call = ev->data;

    if (call->failed) {
        ngx_http_gw_limit_batch_answer(call, NGX_HTTP_GW_REDIS_DOWN, NULL);
        return;
    }

    if (call->key->flight == NULL) {
        ngx_http_gw_limit_batch_send(call);
    }

    /* else sent when the one in flight is answered */
}


static void
ngx_http_gw_limit_batch_timeout(ngx_event_t *ev)
{
    ngx_http_gw_limit_batch_call_t *call = ev->data;

    ev->timedout = 0;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "gw_limit: no decision for a batch of %ui within "
                  "gw_redis_timeout", call->n);

    ngx_http_gw_limit_batch_answer(call, NGX_HTTP_GW_REDIS_TIMEOUT, NULL);
}


/* the Redis client's answer to a call (r is NULL: a command of no request) */

static void
ngx_http_gw_limit_batch_handler(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_limit_batch_call_t *call = data;

    call->sent = 0;

    if (call->key == NULL) {
        ngx_free(call);             /* answered already, by its timer */
        return;
    }

    ngx_http_gw_limit_batch_answer(call, status, reply);
}


/*
 * Answers every member of a call and frees it unless the Redis client
 * still owes it a call.  The key is settled first (the next gathering
 * call posted, or the key forgotten): running a member's phases may end
 * any request, so nothing but the call is touched once they run.  Each
 * member's answer is what its own run would have been: the k admitted
 * ones their five integers each, the others the refusal.
 */

static void
ngx_http_gw_limit_batch_answer(ngx_http_gw_limit_batch_call_t *call,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    size_t                             e;
    ngx_uint_t                         k;
    ngx_queue_t                       *q;
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_gw_limit_ctx_t           *ctx;
    ngx_http_gw_limit_item_t          *it;
    ngx_http_gw_limit_batch_key_t     *key;
    ngx_http_gw_limit_batch_member_t  *m;

    key = call->key;
    call->key = NULL;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    if (call->send.posted) {
        ngx_delete_posted_event(&call->send);
    }

    if (key->flight == call) {
        key->flight = NULL;
    }

    if (key->gather == call) {
        key->gather = NULL;
    }

    if (key->gather != NULL && key->flight == NULL
        && !key->gather->send.posted)
    {
        ngx_post_event(&key->gather->send, &ngx_posted_events);
    }

    ngx_http_gw_limit_batch_release(key);

    k = 0;

    if (status == NGX_HTTP_GW_REDIS_OK) {
        if (ngx_http_gw_limit_batch_valid(call, reply) == NGX_OK) {
            k = (ngx_uint_t) reply->element[1]->integer;

        } else {
            status = NGX_HTTP_GW_REDIS_DOWN;
        }
    }

    while (!ngx_queue_empty(&call->members)) {
        q = ngx_queue_head(&call->members);
        ngx_queue_remove(q);

        m = ngx_queue_data(q, ngx_http_gw_limit_batch_member_t, queue);

        r = m->r;
        ctx = m->ctx;
        it = m->it;

        m->cln->handler = NULL;
        m->call = NULL;

        ctx->answered = 1;
        ctx->redis_status = status;

        if (status == NGX_HTTP_GW_REDIS_OK) {
            e = 2 + GW_LIMIT_REPLY_ITEMS * ngx_min(m->pos, k);

            ctx->redis_now = (double) reply->element[0]->integer;

            it->res.admit = reply->element[e]->integer ? 1 : 0;
            it->res.remaining = (double) reply->element[e + 1]->integer;
            it->res.reset = (double) reply->element[e + 2]->integer;
            it->res.retry_after = (double) reply->element[e + 3]->integer;
            it->res.delay = (double) reply->element[e + 4]->integer;
            it->decided = 1;
        }

        if (m->watching && r->read_event_handler == ngx_http_test_reading) {
            r->read_event_handler = m->read_event_handler;
        }

        c = r->connection;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        ngx_http_run_posted_requests(c);
    }

    if (!call->sent) {
        ngx_free(call);
    }
}


/*
 * The reply must be the time, k (0 to the members sent), five integers
 * for each of the k admitted and five for the refused when k is short.
 */

static ngx_int_t
ngx_http_gw_limit_batch_valid(ngx_http_gw_limit_batch_call_t *call,
    redisReply *reply)
{
    size_t      i, k;
    ngx_str_t   err;
    u_char      buf[NGX_HTTP_GW_LOG_SIZE];

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        goto invalid;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            goto invalid;
        }
    }

    if (reply->element[1]->integer < 0
        || reply->element[1]->integer > (long long) call->sent_n)
    {
        goto invalid;
    }

    k = (size_t) reply->element[1]->integer;

    if (reply->elements != 2 + GW_LIMIT_REPLY_ITEMS
                               * (k + (k < call->sent_n ? 1 : 0)))
    {
        goto invalid;
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "gw_limit: unexpected reply from Redis to the batch "
                  "script%s%V",
                  reply->type == REDIS_REPLY_ERROR ? ": " : "",
                  ngx_http_gw_log_escape(&err, buf, (u_char *) reply->str,
                                         reply->type == REDIS_REPLY_ERROR
                                         ? (size_t) reply->len : 0));

    return NGX_ERROR;
}


/*
 * A member's request is going away: out of its call.  A gathering call
 * left empty is dropped; a sent one keeps its shape (the reply still
 * counts the member).
 */

static void
ngx_http_gw_limit_batch_cleanup(void *data)
{
    ngx_http_gw_limit_batch_member_t *m = data;

    ngx_http_gw_limit_batch_key_t   *key;
    ngx_http_gw_limit_batch_call_t  *call;

    call = m->call;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "gw_limit: request gone while batched");

    ngx_queue_remove(&m->queue);
    m->call = NULL;
    call->n--;

    key = call->key;

    if (call->n == 0 && !call->sent && key != NULL && key->gather == call
        && !call->failed)
    {
        ngx_http_gw_limit_batch_call_free(call);
        ngx_http_gw_limit_batch_release(key);
    }
}


/* a gathering call nobody waits for any more */

static void
ngx_http_gw_limit_batch_call_free(ngx_http_gw_limit_batch_call_t *call)
{
    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    if (call->send.posted) {
        ngx_delete_posted_event(&call->send);
    }

    if (call->key != NULL && call->key->gather == call) {
        call->key->gather = NULL;
    }

    ngx_free(call);
}


/* a key with no call is forgotten */

static void
ngx_http_gw_limit_batch_release(ngx_http_gw_limit_batch_key_t *key)
{
    if (key->gather != NULL || key->flight != NULL) {
        return;
    }

    ngx_rbtree_delete(&ngx_http_gw_limit_batch_tree, &key->sn.node);
    ngx_http_gw_limit_batch_nkeys--;
    ngx_free(key);
}


static ngx_uint_t
ngx_http_gw_limit_batch_same(gw_limit_rule_t *a, gw_limit_rule_t *b)
{
    return a->kind == b->kind && a->count == b->count
           && a->period == b->period && a->burst == b->burst
           && a->delay == b->delay;
}
