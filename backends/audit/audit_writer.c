
/*
 * Copyright (C) Tollgate
 *
 * The store's writer thread: group commit without stopping the loop.
 * audit_store_commit_start() hands the thread the frames and nodes
 * buffered so far (the buffers are swapped, appends go on in the other
 * pair); the thread writes them, fdatasync()s the segment, writes the
 * nodes, and writes a byte to a pipe the loop watches; the loop then
 * takes the result with audit_store_commit_finish(), which is when the
 * records count as durable and their requests are answered.  At most one
 * flight is out; while it is, the loop leaves the two files and the
 * flight's buffers alone, and a synchronous commit (a segment rolling
 * over, a checkpoint, the stop) first waits for it.
 *
 * A second thread does the store's slow chores off the loop, in order:
 * a sealed segment's index file, the id table's sync, the end of its
 * growth (audit_bgjob_t).  It signals the same pipe; the loop calls the
 * jobs' done() from audit_store_commit_finish().  Without the threads
 * (`gen`, `verify`, the open) a job runs at once.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"


static void *
audit_writer(void *arg)
{
    int             rc, e;
    ssize_t         n;
    audit_store_t  *st;

    st = arg;

    pthread_mutex_lock(&st->mu);

    for ( ;; ) {
        while (!st->job && !st->quit) {
            pthread_cond_wait(&st->cv, &st->mu);
        }

        if (!st->job) {
            break;
        }

        pthread_mutex_unlock(&st->mu);

        /* the loop leaves fbuf, fnbuf and both files alone meanwhile */

        rc = 0;
        e = 0;

        if (audit_write_all(st->seg_fd, st->fbuf, st->flen) != 0
            || (!st->nosync && fdatasync(st->seg_fd) != 0)
            || audit_write_all(st->node_fd, st->fnbuf, st->fnlen) != 0)
        {
            rc = -1;
            e = errno;
        }

        pthread_mutex_lock(&st->mu);
        st->job = 0;
        st->done = 1;
        st->flight_rc = rc;
        st->flight_errno = e;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);

        n = write(st->notify[1], "c", 1);
        (void) n;

        pthread_mutex_lock(&st->mu);
    }

    pthread_mutex_unlock(&st->mu);

    return NULL;
}


static void *
audit_bg(void *arg)
{
    ssize_t         n;
    audit_bgjob_t  *job, **pp;
    audit_store_t  *st;

    st = arg;

    pthread_mutex_lock(&st->bg_mu);

    for ( ;; ) {
        while (st->bg_queue == NULL && !st->bg_quit) {
            pthread_cond_wait(&st->bg_cv, &st->bg_mu);
        }

        job = st->bg_queue;
        if (job == NULL) {
            break;
        }

        st->bg_queue = job->next;
        pthread_mutex_unlock(&st->bg_mu);

        job->rc = job->run(job);

        pthread_mutex_lock(&st->bg_mu);

        job->next = NULL;
        for (pp = &st->bg_done; *pp != NULL; pp = &(*pp)->next) {
            /* void */
        }
        *pp = job;
        pthread_cond_broadcast(&st->bg_cv);

        n = write(st->notify[1], "b", 1);
        (void) n;
    }

    pthread_mutex_unlock(&st->bg_mu);

    return NULL;
}


void
audit_bg_submit(audit_store_t *st, audit_bgjob_t *job)
{
    audit_bgjob_t  **pp;

    job->next = NULL;

    if (!st->bg) {
        job->rc = job->run(job);
        job->done(st, job);
        return;
    }

    pthread_mutex_lock(&st->bg_mu);
    for (pp = &st->bg_queue; *pp != NULL; pp = &(*pp)->next) {
        /* void */
    }
    *pp = job;
    pthread_cond_broadcast(&st->bg_cv);
    pthread_mutex_unlock(&st->bg_mu);

    st->bg_out++;
}


void
audit_bg_reap(audit_store_t *st)
{
    audit_bgjob_t  *job, *next;

    if (st->bg_out == 0) {
        return;
    }

    pthread_mutex_lock(&st->bg_mu);
    job = st->bg_done;
    st->bg_done = NULL;
    pthread_mutex_unlock(&st->bg_mu);

    for ( /* void */ ; job != NULL; job = next) {
        next = job->next;
        st->bg_out--;
        job->done(st, job);
    }
}


void
audit_bg_drain(audit_store_t *st)
{
    while (st->bg_out > 0) {
        pthread_mutex_lock(&st->bg_mu);
        while (st->bg_done == NULL) {
            pthread_cond_wait(&st->bg_cv, &st->bg_mu);
        }
        pthread_mutex_unlock(&st->bg_mu);

        audit_bg_reap(st);
    }
}


int
audit_store_async(audit_store_t *st)
{
    if (pipe(st->notify) != 0
        || fcntl(st->notify[0], F_SETFL, O_NONBLOCK) != 0
        || fcntl(st->notify[0], F_SETFD, FD_CLOEXEC) != 0
        || fcntl(st->notify[1], F_SETFD, FD_CLOEXEC) != 0)
    {
        audit_err(st, "pipe: %s", strerror(errno));
        return -1;
    }

    if (pthread_mutex_init(&st->mu, NULL) != 0
        || pthread_cond_init(&st->cv, NULL) != 0
        || pthread_create(&st->thread, NULL, audit_writer, st) != 0)
    {
        audit_err(st, "cannot start the writer thread");
        return -1;
    }

    st->async = 1;

    if (pthread_mutex_init(&st->bg_mu, NULL) != 0
        || pthread_cond_init(&st->bg_cv, NULL) != 0
        || pthread_create(&st->bg_thread, NULL, audit_bg, st) != 0)
    {
        audit_err(st, "cannot start the background thread");
        return -1;
    }

    st->bg = 1;

    return 0;
}


int
audit_store_commit_start(audit_store_t *st)
{
    size_t          cap;
    unsigned char  *p;

    if (!st->async) {
        return audit_store_commit(st);
    }

    if (st->flight || st->len == 0) {
        return 0;
    }

    /* swap the buffers: the thread writes these, appends go on in those */

    p = st->fbuf;
    cap = st->fcap;
    st->fbuf = st->buf;
    st->fcap = st->cap;
    st->flen = st->len;
    st->buf = p;
    st->cap = cap;
    st->len = 0;

    p = st->fnbuf;
    cap = st->fncap;
    st->fnbuf = st->nbuf;
    st->fncap = st->ncap;
    st->fnlen = st->nlen;
    st->nbuf = p;
    st->ncap = cap;
    st->nlen = 0;

    st->fsize = st->size;
    st->frange = st->range;
    st->flight = 1;

    pthread_mutex_lock(&st->mu);
    st->job = 1;
    st->done = 0;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);

    return 0;
}


int
audit_store_commit_finish(audit_store_t *st)
{
    int           rc, e;
    audit_seg_t  *seg;

    audit_bg_reap(st);

    if (!st->flight) {
        return 0;
    }

    pthread_mutex_lock(&st->mu);

    if (!st->done) {
        pthread_mutex_unlock(&st->mu);
        return 0;
    }

    st->done = 0;
    rc = st->flight_rc;
    e = st->flight_errno;
    pthread_mutex_unlock(&st->mu);

    st->flight = 0;
    seg = &st->segs[st->nsegs - 1];

    if (rc != 0) {
        audit_err(st, "%s: %s", seg->path, strerror(e));
        return -1;
    }

    seg->size += st->flen;
    st->flen = 0;
    st->fnlen = 0;
    st->durable = st->fsize;
    st->durable_range = st->frange;
    st->commits++;

    return 1;
}


int
audit_store_wait(audit_store_t *st)
{
    if (!st->flight) {
        return 0;
    }

    pthread_mutex_lock(&st->mu);

    while (!st->done) {
        pthread_cond_wait(&st->cv, &st->mu);
    }

    pthread_mutex_unlock(&st->mu);

    return audit_store_commit_finish(st) < 0 ? -1 : 0;
}
