
/*
 * Copyright (C) Tollgate
 *
 * The email channel's worker threads: each SMTP transaction runs in
 * curl_easy_perform() on a thread of its own, never on the loop.
 * libcurl's SMTP waits for the answer to the message's end in a blocking
 * state machine even under its multi interface, so a slow mail server
 * would otherwise freeze the whole service (API, webhooks, the stop).
 *
 * smtp_threads threads start with the first send.  A transaction handed
 * over waits in a FIFO until a thread is free; its easy handle belongs
 * to that thread until it ends, and the loop does not touch it meanwhile.
 * Its connection is closed on the thread at the transaction's end
 * (CURLOPT_FORBID_REUSE): libcurl's QUIT waits for the server's answer
 * too, which the loop's curl_easy_cleanup() must never do, and a thread
 * never holds an idle connection beside the one it runs.
 * The result goes on a done queue (both queues under one mutex), and
 * the thread writes a byte to a pipe whose read end is an event on the
 * loop: the loop takes the queue and runs each done callback, in the
 * order they ended.  A pipe rather than event_active() because the kit's
 * event base is not created with libevent's locking on; the pipe needs
 * none and wakes the loop from any thread.
 *
 * The stop (ntf_smtp_pool_stop(), after the loop ended): the threads
 * take no more work; a transfer still running is aborted by its
 * progress callback (libcurl calls it at least once a second, even in
 * its blocking phase, and smtp_timeout bounds it anyway), and every
 * thread is joined before anything is freed, so no result ever arrives
 * into freed memory.  Then the results that came back run their done
 * callbacks, and those never started end CURLE_ABORTED_BY_CALLBACK, as
 * the kit's gw_svc_out_free() ends a transfer of the loop.
 *
 * libcurl's global init ran in gw_svc_out_configure() before any thread
 * starts;
 * Debian's OpenSSL 3 locks itself.  The threads block every signal, so
 * SIGTERM reaches the loop's thread.
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntf.h"


#define NTF_POOL_MAX        64


typedef struct ntf_pool_job_s  ntf_pool_job_t;

struct ntf_pool_job_s {
    CURL                   *easy;
    ntf_curl_done_pt        done;
    void                   *data;
    CURLcode                rc;
    ntf_pool_job_t         *next;
};


typedef struct {
    ntf_pool_job_t         *head;
    ntf_pool_job_t         *tail;
} ntf_pool_list_t;


static int ntf_pool_start(void);
static void *ntf_pool_thread(void *arg);
static int ntf_pool_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow);
static void ntf_pool_wake(evutil_socket_t fd, short what, void *arg);
static void ntf_pool_push(ntf_pool_list_t *l, ntf_pool_job_t *job);
static void ntf_pool_end(ntf_pool_job_t *job, CURLcode rc);


static pthread_mutex_t      ntf_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t       ntf_pool_cv = PTHREAD_COND_INITIALIZER;
static ntf_pool_list_t      ntf_pool_wait;     /* under ntf_pool_mu */
static ntf_pool_list_t      ntf_pool_done;     /* under ntf_pool_mu */
static int                  ntf_pool_closing;  /* under ntf_pool_mu */
static int                  ntf_pool_abort;    /* atomic */

static pthread_t            ntf_pool_tid[NTF_POOL_MAX];
static unsigned             ntf_pool_n;        /* threads started */
static unsigned             ntf_pool_size = 4;
static int                  ntf_pool_fd[2] = { -1, -1 };
static struct event        *ntf_pool_ev;
static int                  ntf_pool_stopped;


void
ntf_smtp_pool_size(unsigned threads)
{
    if (threads < 1) {
        threads = 1;
    }

    ntf_pool_size = threads < NTF_POOL_MAX ? threads : NTF_POOL_MAX;
}


/* the pipe, its event on ntf.base, the threads: 0, or -1 (all undone) */
static int
ntf_pool_start(void)
{
    int       i;
    unsigned  n;
    sigset_t  all, old;

    if (pipe(ntf_pool_fd) != 0) {
        ntf_pool_fd[0] = -1;
        ntf_pool_fd[1] = -1;
        return -1;
    }

    for (i = 0; i < 2; i++) {
        if (fcntl(ntf_pool_fd[i], F_SETFL, O_NONBLOCK) != 0
            || fcntl(ntf_pool_fd[i], F_SETFD, FD_CLOEXEC) != 0)
        {
            goto failed;
        }
    }

    ntf_pool_ev = event_new(ntf.base, ntf_pool_fd[0], EV_READ | EV_PERSIST,
                            ntf_pool_wake, NULL);
    if (ntf_pool_ev == NULL || event_add(ntf_pool_ev, NULL) != 0) {
        goto failed;
    }

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    for (n = 0; n < ntf_pool_size; n++) {
        if (pthread_create(&ntf_pool_tid[n], NULL, ntf_pool_thread, NULL)
            != 0)
        {
            break;
        }
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);

    ntf_pool_n = n;

    if (n > 0) {
        return 0;
    }

failed:

    if (ntf_pool_ev != NULL) {
        event_free(ntf_pool_ev);
        ntf_pool_ev = NULL;
    }

    close(ntf_pool_fd[0]);
    close(ntf_pool_fd[1]);
    ntf_pool_fd[0] = -1;
    ntf_pool_fd[1] = -1;

    return -1;
}


/*
 * Hands easy (set up, owned by the caller) to a thread; done(easy, rc,
 * data) runs on the loop once it ended, never inside this call.  0, or
 * -1 when the pool cannot take it (no thread, stopping, no memory).
 */
int
ntf_smtp_pool_run(CURL *easy, ntf_curl_done_pt done, void *data)
{
    ntf_pool_job_t  *job;

    if (ntf_pool_stopped || (ntf_pool_n == 0 && ntf_pool_start() != 0)) {
        return -1;
    }

    if (curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION,
                            ntf_pool_progress) != CURLE_OK)
    {
        return -1;
    }

    job = calloc(1, sizeof(ntf_pool_job_t));
    if (job == NULL) {
        return -1;
    }

    job->easy = easy;
    job->done = done;
    job->data = data;

    pthread_mutex_lock(&ntf_pool_mu);
    ntf_pool_push(&ntf_pool_wait, job);
    pthread_cond_signal(&ntf_pool_cv);
    pthread_mutex_unlock(&ntf_pool_mu);

    return 0;
}


static void
ntf_pool_push(ntf_pool_list_t *l, ntf_pool_job_t *job)
{
    job->next = NULL;

    if (l->tail != NULL) {
        l->tail->next = job;

    } else {
        l->head = job;
    }

    l->tail = job;
}


/* a worker: the oldest waiting job, performed, onto the done queue */
static void *
ntf_pool_thread(void *arg)
{
    ntf_pool_job_t  *job;

    (void) arg;

    for ( ;; ) {
        pthread_mutex_lock(&ntf_pool_mu);

        while (ntf_pool_wait.head == NULL && !ntf_pool_closing) {
            pthread_cond_wait(&ntf_pool_cv, &ntf_pool_mu);
        }

        if (ntf_pool_closing) {
            pthread_mutex_unlock(&ntf_pool_mu);
            return NULL;
        }

        job = ntf_pool_wait.head;
        ntf_pool_wait.head = job->next;

        if (ntf_pool_wait.head == NULL) {
            ntf_pool_wait.tail = NULL;
        }

        pthread_mutex_unlock(&ntf_pool_mu);

        job->rc = curl_easy_perform(job->easy);

        pthread_mutex_lock(&ntf_pool_mu);
        ntf_pool_push(&ntf_pool_done, job);
        pthread_mutex_unlock(&ntf_pool_mu);

        if (write(ntf_pool_fd[1], "", 1) != 1) {
            /* the pipe is full: it holds a wake-up already */
        }
    }
}


/* curl's progress callback: non-zero aborts the transfer at the stop */
static int
ntf_pool_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    (void) p;
    (void) dltotal;
    (void) dlnow;
    (void) ultotal;
    (void) ulnow;

    return __atomic_load_n(&ntf_pool_abort, __ATOMIC_RELAXED);
}


/* on the loop: the pipe emptied, then each result's done, in order */
static void
ntf_pool_wake(evutil_socket_t fd, short what, void *arg)
{
    char             buf[64];
    ntf_pool_job_t  *job, *next;

    (void) what;
    (void) arg;

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    pthread_mutex_lock(&ntf_pool_mu);
    job = ntf_pool_done.head;
    ntf_pool_done.head = NULL;
    ntf_pool_done.tail = NULL;
    pthread_mutex_unlock(&ntf_pool_mu);

    for ( /* void */ ; job != NULL; job = next) {
        next = job->next;
        ntf_pool_end(job, job->rc);
    }
}


static void
ntf_pool_end(ntf_pool_job_t *job, CURLcode rc)
{
    CURL              *easy;
    void              *data;
    ntf_curl_done_pt   done;

    easy = job->easy;
    done = job->done;
    data = job->data;
    free(job);

    done(easy, rc, data);
}


/*
 * After the loop: the threads stopped and joined (a running transfer
 * aborted), then every job's done runs: its result, or aborted if it
 * never started.  No job can be handed over after this.
 */
void
ntf_smtp_pool_stop(void)
{
    unsigned         i;
    ntf_pool_job_t  *done, *wait, *next;

    ntf_pool_stopped = 1;

    if (ntf_pool_n == 0) {
        return;
    }

    __atomic_store_n(&ntf_pool_abort, 1, __ATOMIC_RELAXED);

    pthread_mutex_lock(&ntf_pool_mu);
    ntf_pool_closing = 1;
    pthread_cond_broadcast(&ntf_pool_cv);
    pthread_mutex_unlock(&ntf_pool_mu);

    for (i = 0; i < ntf_pool_n; i++) {
        pthread_join(ntf_pool_tid[i], NULL);
    }

    ntf_pool_n = 0;

    /* the threads are gone: the lists are the loop's alone */
    done = ntf_pool_done.head;
    wait = ntf_pool_wait.head;
    memset(&ntf_pool_done, 0, sizeof(ntf_pool_list_t));
    memset(&ntf_pool_wait, 0, sizeof(ntf_pool_list_t));

    for ( /* void */ ; done != NULL; done = next) {
        next = done->next;
        ntf_pool_end(done, done->rc);
    }

    for ( /* void */ ; wait != NULL; wait = next) {
        next = wait->next;
        ntf_pool_end(wait, CURLE_ABORTED_BY_CALLBACK);
    }

    event_free(ntf_pool_ev);
    ntf_pool_ev = NULL;

    close(ntf_pool_fd[0]);
    close(ntf_pool_fd[1]);
    ntf_pool_fd[0] = -1;
    ntf_pool_fd[1] = -1;
}
