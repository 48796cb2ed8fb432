
/*
 * Copyright (C) Tollgate
 *
 * libcurl's multi interface on the kit's libevent loop: curl tells which
 * sockets to watch (the socket callback) and when to wake it (the timer
 * callback); each event hands the socket back to curl_multi_socket_action,
 * and every transfer that ended runs its done callback.  Name resolution
 * runs in curl's own resolver threads, so nothing here blocks the loop.
 */


#include <stdlib.h>

#include <event2/event.h>

#include "ntf.h"


typedef struct ntf_curl_job_s  ntf_curl_job_t;

struct ntf_curl_job_s {
    ntf_curl_done_pt        done;
    void                   *data;
    CURL                   *easy;
    ntf_curl_job_t         *prev;       /* the transfers running */
    ntf_curl_job_t         *next;
};


static int ntf_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp);
static int ntf_curl_timer(CURLM *multi, long timeout_ms, void *userp);
static void ntf_curl_event(evutil_socket_t fd, short what, void *arg);
static void ntf_curl_timeout(evutil_socket_t fd, short what, void *arg);
static void ntf_curl_reap(void);
static void ntf_curl_unlink(ntf_curl_job_t *job);


static CURLM               *ntf_multi;
static struct event_base   *ntf_curl_base;
static struct event        *ntf_curl_timer_ev;
static ntf_curl_job_t      *ntf_curl_jobs;
static int                  ntf_curl_closing;


int
ntf_curl_init(struct event_base *base)
{
    if (ntf_multi != NULL) {
        return 0;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }

    ntf_multi = curl_multi_init();
    if (ntf_multi == NULL) {
        return -1;
    }

    ntf_curl_base = base;

    ntf_curl_timer_ev = evtimer_new(base, ntf_curl_timeout, NULL);
    if (ntf_curl_timer_ev == NULL) {
        curl_multi_cleanup(ntf_multi);
        ntf_multi = NULL;
        return -1;
    }

    curl_multi_setopt(ntf_multi, CURLMOPT_SOCKETFUNCTION, ntf_curl_socket);
    curl_multi_setopt(ntf_multi, CURLMOPT_TIMERFUNCTION, ntf_curl_timer);

    return 0;
}


/*
 * Frees the multi handle.  Transfers still running (a stop's drain ran
 * out) end with CURLE_ABORTED_BY_CALLBACK: their done callbacks run, so
 * their owners free what they hold; none may start another transfer.
 */
void
ntf_curl_free(void)
{
    CURL            *easy;
    ntf_curl_job_t  *job;

    if (ntf_multi == NULL) {
        return;
    }

    ntf_curl_closing = 1;

    while (ntf_curl_jobs != NULL) {
        job = ntf_curl_jobs;
        easy = job->easy;
        ntf_curl_unlink(job);

        curl_multi_remove_handle(ntf_multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);

        job->done(easy, CURLE_ABORTED_BY_CALLBACK, job->data);
        free(job);
    }

    curl_multi_cleanup(ntf_multi);
    ntf_multi = NULL;

    event_free(ntf_curl_timer_ev);
    ntf_curl_timer_ev = NULL;
}


int
ntf_curl_start(CURL *easy, ntf_curl_done_pt done, void *data)
{
    ntf_curl_job_t  *job;

    if (ntf_multi == NULL || ntf_curl_closing) {
        return -1;
    }

    job = malloc(sizeof(ntf_curl_job_t));
    if (job == NULL) {
        return -1;
    }

    job->done = done;
    job->data = data;
    job->easy = easy;

    curl_easy_setopt(easy, CURLOPT_PRIVATE, job);

    if (curl_multi_add_handle(ntf_multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(job);
        return -1;
    }

    job->prev = NULL;
    job->next = ntf_curl_jobs;
    if (ntf_curl_jobs != NULL) {
        ntf_curl_jobs->prev = job;
    }
    ntf_curl_jobs = job;

    return 0;
}


static void
ntf_curl_unlink(ntf_curl_job_t *job)
{
    if (job->prev != NULL) {
        job->prev->next = job->next;

    } else {
        ntf_curl_jobs = job->next;
    }

    if (job->next != NULL) {
        job->next->prev = job->prev;
    }
}


void
ntf_curl_cancel(CURL *easy)
{
    ntf_curl_job_t  *job;

    job = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &job);

    if (job == NULL || ntf_multi == NULL) {
        return;
    }

    ntf_curl_unlink(job);
    curl_multi_remove_handle(ntf_multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(job);
}


/* curl's socket callback: watch s for what, or stop watching it */
static int
ntf_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
    short          flags;
    struct event  *ev;

    (void) easy;
    (void) userp;

    ev = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (ev != NULL) {
            event_free(ev);
            curl_multi_assign(ntf_multi, s, NULL);
        }

        return 0;
    }

    flags = EV_PERSIST;

    if (what & CURL_POLL_IN) {
        flags |= EV_READ;
    }

    if (what & CURL_POLL_OUT) {
        flags |= EV_WRITE;
    }

    if (ev != NULL) {
        event_del(ev);
        event_assign(ev, ntf_curl_base, s, flags, ntf_curl_event, NULL);

    } else {
        ev = event_new(ntf_curl_base, s, flags, ntf_curl_event, NULL);
        if (ev == NULL) {
            return -1;
        }

        curl_multi_assign(ntf_multi, s, ev);
    }

    return event_add(ev, NULL) == 0 ? 0 : -1;
}


/* curl's timer callback: one timer, replaced each time */
static int
ntf_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct timeval  tv;

    (void) multi;
    (void) userp;

    if (timeout_ms < 0) {
        evtimer_del(ntf_curl_timer_ev);
        return 0;
    }

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;

    return evtimer_add(ntf_curl_timer_ev, &tv) == 0 ? 0 : -1;
}


static void
ntf_curl_event(evutil_socket_t fd, short what, void *arg)
{
    int  running, flags;

    (void) arg;

    flags = 0;

    if (what & EV_READ) {
        flags |= CURL_CSELECT_IN;
    }

    if (what & EV_WRITE) {
        flags |= CURL_CSELECT_OUT;
    }

    curl_multi_socket_action(ntf_multi, fd, flags, &running);
    ntf_curl_reap();
}


static void
ntf_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
    int  running;

    (void) fd;
    (void) what;
    (void) arg;

    curl_multi_socket_action(ntf_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    ntf_curl_reap();
}


/* every transfer that ended: out of the multi handle, its done run */
static void
ntf_curl_reap(void)
{
    int              left;
    CURL            *easy;
    CURLMsg         *msg;
    CURLcode         rc;
    ntf_curl_job_t  *job;

    while (ntf_multi != NULL
           && (msg = curl_multi_info_read(ntf_multi, &left)) != NULL)
    {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        rc = msg->data.result;

        job = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &job);

        curl_multi_remove_handle(ntf_multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);

        if (job != NULL) {
            ntf_curl_unlink(job);
            job->done(easy, rc, job->data);
            free(job);
        }
    }
}
