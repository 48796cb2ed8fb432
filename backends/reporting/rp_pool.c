
/*
 * Copyright (C) Tollgate
 *
 * The worker threads: a run's query and rendering block on the store and
 * the disk, so they never run on the loop.  A fixed number of threads
 * take jobs from a FIFO of at most queue_max (a full queue is the API's
 * 503, not an unbounded backlog); a thread runs rp_job_exec() and puts
 * the job on a done list, then writes a byte to a pipe whose read end is
 * an event on the loop, which takes the list and calls rp_run_done() for
 * each, in the order they ended.  A pipe rather than event_active(): the
 * kit's event base has no locking, the pipe needs none.
 *
 * The stop: when it begins (rp_pool_cancel(), on the loop) the jobs not
 * started go back to the durable queue (rp_queue.c: due at once, the
 * attempt not counted) for another instance, and no thread takes new
 * work; the ones running finish their query (max_seconds and
 * drain_timeout bound it), and the loop waits for them (each run is a
 * hold on the kit's stop), so that their final state reaches Redis.
 * After the loop the threads are joined.
 */


#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "rp.h"


#define RP_POOL_MAX     64


static void *rp_pool_thread(void *arg);
static void rp_pool_wake(evutil_socket_t fd, short what, void *arg);
static void rp_pool_drain_done(void);


static pthread_mutex_t   rp_pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t    rp_pool_cond = PTHREAD_COND_INITIALIZER;
static pthread_t         rp_pool_threads[RP_POOL_MAX];
static int               rp_pool_nthreads;
static int               rp_pool_stopping;
static int               rp_pool_queued;
static int               rp_pool_queue_max;
static rp_job_t         *rp_pool_head, *rp_pool_tail;
static rp_job_t         *rp_pool_done_head, *rp_pool_done_tail;
static int               rp_pool_fd[2] = { -1, -1 };
static struct event     *rp_pool_ev;


int
rp_pool_start(int threads, int queue_max)
{
    int       i;
    sigset_t  all, old;

    if (pipe(rp_pool_fd) != 0) {
        return -1;
    }

    for (i = 0; i < 2; i++) {
        if (fcntl(rp_pool_fd[i], F_SETFL, O_NONBLOCK) != 0
            || fcntl(rp_pool_fd[i], F_SETFD, FD_CLOEXEC) != 0)
        {
            return -1;
        }
    }

    rp_pool_ev = event_new(rp.base, rp_pool_fd[0], EV_READ | EV_PERSIST,
                           rp_pool_wake, NULL);
    if (rp_pool_ev == NULL || event_add(rp_pool_ev, NULL) != 0) {
        return -1;
    }

    rp_pool_queue_max = queue_max;

    /* the threads block every signal: SIGTERM reaches the loop */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);

    for (i = 0; i < threads && i < RP_POOL_MAX; i++) {
        if (pthread_create(&rp_pool_threads[i], NULL, rp_pool_thread, NULL)
            != 0)
        {
            break;
        }
        rp_pool_nthreads++;
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);

    return rp_pool_nthreads > 0 ? 0 : -1;
}


int
rp_pool_submit(rp_job_t *job)
{
    pthread_mutex_lock(&rp_pool_mutex);

    if (rp_pool_stopping || rp_pool_queued >= rp_pool_queue_max) {
        pthread_mutex_unlock(&rp_pool_mutex);
        return -1;
    }

    job->next = NULL;
    if (rp_pool_tail != NULL) {
        rp_pool_tail->next = job;
    } else {
        rp_pool_head = job;
    }
    rp_pool_tail = job;
    rp_pool_queued++;

    pthread_cond_signal(&rp_pool_cond);
    pthread_mutex_unlock(&rp_pool_mutex);

    return 0;
}


static void
rp_pool_finish(rp_job_t *job)
{
    char  c;

    pthread_mutex_lock(&rp_pool_mutex);

    job->next = NULL;
    if (rp_pool_done_tail != NULL) {
        rp_pool_done_tail->next = job;
    } else {
        rp_pool_done_head = job;
    }
    rp_pool_done_tail = job;

    pthread_mutex_unlock(&rp_pool_mutex);

    c = 1;
    if (write(rp_pool_fd[1], &c, 1) != 1) {
        /* the pipe is full: it holds a wake-up already */
    }
}


static void *
rp_pool_thread(void *arg)
{
    rp_job_t  *job;

    for ( ;; ) {
        pthread_mutex_lock(&rp_pool_mutex);

        while (rp_pool_head == NULL && !rp_pool_stopping) {
            pthread_cond_wait(&rp_pool_cond, &rp_pool_mutex);
        }

        if (rp_pool_stopping) {
            pthread_mutex_unlock(&rp_pool_mutex);
            return NULL;
        }

        job = rp_pool_head;
        rp_pool_head = job->next;
        if (rp_pool_head == NULL) {
            rp_pool_tail = NULL;
        }
        rp_pool_queued--;

        pthread_mutex_unlock(&rp_pool_mutex);

        rp_job_exec(job);
        rp_pool_finish(job);
    }
}


static void
rp_pool_drain_done(void)
{
    rp_job_t  *job, *next;

    pthread_mutex_lock(&rp_pool_mutex);
    job = rp_pool_done_head;
    rp_pool_done_head = NULL;
    rp_pool_done_tail = NULL;
    pthread_mutex_unlock(&rp_pool_mutex);

    for ( /* void */ ; job != NULL; job = next) {
        next = job->next;
        rp_run_done(job);
    }
}


static void
rp_pool_wake(evutil_socket_t fd, short what, void *arg)
{
    char  buf[256];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    rp_pool_drain_done();
}


/* the stop began: the runs not started go back to the queue now */
void
rp_pool_cancel(void)
{
    rp_job_t  *job, *next;

    pthread_mutex_lock(&rp_pool_mutex);
    job = rp_pool_head;
    rp_pool_head = NULL;
    rp_pool_tail = NULL;
    rp_pool_queued = 0;
    rp_pool_stopping = 1;
    pthread_cond_broadcast(&rp_pool_cond);
    pthread_mutex_unlock(&rp_pool_mutex);

    for ( /* void */ ; job != NULL; job = next) {
        next = job->next;
        rp_run_return(job);     /* another instance runs it */
    }
}


void
rp_pool_stop(void)
{
    int        i;
    rp_job_t  *job, *next;

    pthread_mutex_lock(&rp_pool_mutex);
    rp_pool_stopping = 1;
    job = rp_pool_head;
    rp_pool_head = NULL;
    rp_pool_tail = NULL;
    pthread_cond_broadcast(&rp_pool_cond);
    pthread_mutex_unlock(&rp_pool_mutex);

    for (i = 0; i < rp_pool_nthreads; i++) {
        pthread_join(rp_pool_threads[i], NULL);
    }

    rp_pool_nthreads = 0;

    for ( /* void */ ; job != NULL; job = next) {
        next = job->next;
        rp_run_return(job);     /* another instance runs it */
    }

    rp_pool_drain_done();

    if (rp_pool_ev != NULL) {
        event_free(rp_pool_ev);
        rp_pool_ev = NULL;
    }

    for (i = 0; i < 2; i++) {
        if (rp_pool_fd[i] >= 0) {
            close(rp_pool_fd[i]);
            rp_pool_fd[i] = -1;
        }
    }
}
