
/*
 * Copyright (C) Tollgate
 *
 * The fan-out of a message to a channel's subscribers, in slices: a
 * worker with tens of thousands of subscribers would otherwise spend
 * hundreds of milliseconds in one handler, and Redis replies, new
 * connections and the other channels would wait that long (a Redis
 * command connection that sees no reply in time is dropped, and its
 * resubscription closes every subscriber).
 *
 * Each channel keeps its messages to fan out in order (its jobs) and a
 * cursor in its subscribers for the oldest one; a channel with jobs is
 * in the worker's walking list.  One posted event walks them, at most
 * NGX_HTTP_GW_PUSH_SLICE subscribers a run, channel after channel, and
 * posts itself to the next cycle of the event loop while any is left:
 * a subscriber gets a channel's messages in their order, and sees each
 * once.  A subscriber that leaves moves the cursor past it first
 * (ngx_http_gw_push_walk_unlink()); one that joins during a walk is at
 * the end of the list and gets the message walked then.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_push_stream.h"


#define NGX_HTTP_GW_PUSH_SLICE  1024


typedef struct {
    ngx_queue_t                 queue;
    ngx_http_gw_push_msg_t     *msg;
} ngx_http_gw_push_job_t;


static void ngx_http_gw_push_walk(ngx_event_t *ev);


static ngx_queue_t  ngx_http_gw_push_walking;
static ngx_event_t  ngx_http_gw_push_walk_ev;


/* queues msg (a reference taken) to ch's subscribers; NGX_ERROR: lost */

ngx_int_t
ngx_http_gw_push_walk_add(ngx_http_gw_push_channel_t *ch,
    ngx_http_gw_push_msg_t *msg)
{
    ngx_http_gw_push_job_t  *job;

    if (ngx_http_gw_push_walk_ev.handler == NULL) {
        ngx_queue_init(&ngx_http_gw_push_walking);
        ngx_http_gw_push_walk_ev.handler = ngx_http_gw_push_walk;
        ngx_http_gw_push_walk_ev.log = ngx_cycle->log;
        ngx_http_gw_push_walk_ev.data = &ngx_http_gw_push_walk_ev;
    }

    job = ngx_alloc(sizeof(ngx_http_gw_push_job_t), ngx_cycle->log);
    if (job == NULL) {
        return NGX_ERROR;
    }

    msg->refs++;
    job->msg = msg;

    if (ngx_queue_empty(&ch->jobs)) {
        ch->cursor = ngx_queue_head(&ch->subscribers);
        ch->busy++;
        ngx_queue_insert_tail(&ngx_http_gw_push_walking, &ch->work);
    }

    ngx_queue_insert_tail(&ch->jobs, &job->queue);

    if (!ngx_http_gw_push_walk_ev.posted) {
        ngx_post_event(&ngx_http_gw_push_walk_ev, &ngx_posted_events);
    }

    return NGX_OK;
}


/* sub leaves its channel's list: a walk's cursor on it moves on */

void
ngx_http_gw_push_walk_unlink(ngx_http_gw_push_sub_t *sub)
{
    ngx_http_gw_push_channel_t  *ch;

    ch = sub->channel;

    if (ch != NULL && ch->cursor == &sub->queue) {
        ch->cursor = ngx_queue_next(&sub->queue);
    }
}


static void
ngx_http_gw_push_walk(ngx_event_t *ev)
{
    ngx_uint_t                   budget;
    ngx_queue_t                 *q;
    ngx_http_gw_push_job_t      *job;
    ngx_http_gw_push_sub_t      *sub;
    ngx_http_gw_push_channel_t  *ch;

    budget = NGX_HTTP_GW_PUSH_SLICE;

    while (budget > 0 && !ngx_queue_empty(&ngx_http_gw_push_walking)) {
        q = ngx_queue_head(&ngx_http_gw_push_walking);
        ch = ngx_queue_data(q, ngx_http_gw_push_channel_t, work);

        q = ngx_queue_head(&ch->jobs);
        job = ngx_queue_data(q, ngx_http_gw_push_job_t, queue);

        while (budget > 0
               && ch->cursor != ngx_queue_sentinel(&ch->subscribers))
        {
            sub = ngx_queue_data(ch->cursor, ngx_http_gw_push_sub_t, queue);
            ch->cursor = ngx_queue_next(ch->cursor);

            (void) ngx_http_gw_push_send(sub, job->msg);
            budget--;
        }

        ngx_queue_remove(&ch->work);

        if (ch->cursor != ngx_queue_sentinel(&ch->subscribers)) {
            /* its turn again after the other channels' */
            ngx_queue_insert_tail(&ngx_http_gw_push_walking, &ch->work);
            continue;
        }

        ngx_queue_remove(&job->queue);
        ngx_http_gw_push_msg_unref(job->msg);
        ngx_free(job);

        if (!ngx_queue_empty(&ch->jobs)) {
            ch->cursor = ngx_queue_head(&ch->subscribers);
            ngx_queue_insert_tail(&ngx_http_gw_push_walking, &ch->work);
            continue;
        }

        ch->cursor = NULL;
        ch->busy--;
        ngx_http_gw_push_channel_done(ch);
    }

    if (!ngx_queue_empty(&ngx_http_gw_push_walking)) {
        ngx_post_event(ev, &ngx_posted_next_events);
    }
}
