
/*
 * Copyright (C) Tollgate
 *
 * libcurl's multi interface on the kit's libevent loop, for the kit's
 * outbound HTTP (gw_svc_out.c): curl tells which
 * sockets to watch (the socket callback) and when to wake it (the timer
 * callback); each event hands the socket back to curl_multi_socket_action,
 * and every transfer that ended runs its done callback.  Name resolution
 * runs in curl's own resolver threads, so nothing here blocks the loop.
 */


#include <stdlib.h>

#include <event2/event.h>

#include "gw_svc_out_int.h"


typedef struct gw_svc_out_job_s  gw_svc_out_job_t;

struct gw_svc_out_job_s {
    gw_svc_out_curl_pt      done;
    void                   *data;
    CURL                   *easy;
    gw_svc_out_job_t       *prev;       /* the transfers running */
    gw_svc_out_job_t       *next;
};


static int gw_svc_out_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp);
static int gw_svc_out_curl_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void gw_svc_out_curl_event(evutil_socket_t fd, short what,
    void *arg);
static void gw_svc_out_curl_timeout(evutil_socket_t fd, short what,
    void *arg);
static void gw_svc_out_curl_reap(void);
static void gw_svc_out_curl_unlink(gw_svc_out_job_t *job);


static CURLM               *gw_svc_out_multi;
static struct event_base   *gw_svc_out_curl_base;
static struct event        *gw_svc_out_curl_timer_ev;
static gw_svc_out_job_t    *gw_svc_out_jobs;
static int                  gw_svc_out_curl_closing;


int
gw_svc_out_curl_init(struct event_base *base)
{
    if (gw_svc_out_multi != NULL) {
        return 0;
    }

    if (gw_svc_out_curl_closing) {
        return -1;
    }

    /* curl_global_init() ran in gw_svc_out_configure(), single-threaded */
    gw_svc_out_multi = curl_multi_init();
    if (gw_svc_out_multi == NULL) {
        return -1;
    }

    gw_svc_out_curl_base = base;

    gw_svc_out_curl_timer_ev = evtimer_new(base, gw_svc_out_curl_timeout,
                                           NULL);
    if (gw_svc_out_curl_timer_ev == NULL) {
        curl_multi_cleanup(gw_svc_out_multi);
        gw_svc_out_multi = NULL;
        return -1;
    }

    curl_multi_setopt(gw_svc_out_multi, CURLMOPT_SOCKETFUNCTION,
                      gw_svc_out_curl_socket);
    curl_multi_setopt(gw_svc_out_multi, CURLMOPT_TIMERFUNCTION,
                      gw_svc_out_curl_timer);

    return 0;
}


/*
 * Frees the multi handle.  Transfers still running (a stop's drain ran
 * out) end with CURLE_ABORTED_BY_CALLBACK: their done callbacks run, so
 * their owners free what they hold; none may start another transfer.
 */
void
gw_svc_out_curl_free(void)
{
    CURL              *easy;
    gw_svc_out_job_t  *job;

    if (gw_svc_out_multi == NULL) {
        return;
    }

    gw_svc_out_curl_closing = 1;

    while (gw_svc_out_jobs != NULL) {
        job = gw_svc_out_jobs;
        easy = job->easy;
        gw_svc_out_curl_unlink(job);

        curl_multi_remove_handle(gw_svc_out_multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);

        job->done(easy, CURLE_ABORTED_BY_CALLBACK, job->data);
        free(job);
    }

    curl_multi_cleanup(gw_svc_out_multi);
    gw_svc_out_multi = NULL;

    event_free(gw_svc_out_curl_timer_ev);
    gw_svc_out_curl_timer_ev = NULL;
}


int
gw_svc_out_curl_start(CURL *easy, gw_svc_out_curl_pt done, void *data)
{
    gw_svc_out_job_t  *job;

    if (gw_svc_out_multi == NULL || gw_svc_out_curl_closing) {
        return -1;
    }

    job = malloc(sizeof(gw_svc_out_job_t));
    if (job == NULL) {
        return -1;
    }

    job->done = done;
    job->data = data;
    job->easy = easy;

    curl_easy_setopt(easy, CURLOPT_PRIVATE, job);

    if (curl_multi_add_handle(gw_svc_out_multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(job);
        return -1;
    }

    job->prev = NULL;
    job->next = gw_svc_out_jobs;
    if (gw_svc_out_jobs != NULL) {
        gw_svc_out_jobs->prev = job;
    }
    gw_svc_out_jobs = job;

    return 0;
}


static void
gw_svc_out_curl_unlink(gw_svc_out_job_t *job)
{
    if (job->prev != NULL) {
        job->prev->next = job->next;

    } else {
        gw_svc_out_jobs = job->next;
    }

    if (job->next != NULL) {
        job->next->prev = job->prev;
    }
}


/* curl's socket callback: watch s for what, or stop watching it */
static int
gw_svc_out_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
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
            curl_multi_assign(gw_svc_out_multi, s, NULL);
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
        event_assign(ev, gw_svc_out_curl_base, s, flags,
                     gw_svc_out_curl_event, NULL);

    } else {
        ev = event_new(gw_svc_out_curl_base, s, flags,
                       gw_svc_out_curl_event, NULL);
        if (ev == NULL) {
            return -1;
        }

        curl_multi_assign(gw_svc_out_multi, s, ev);
    }

    return event_add(ev, NULL) == 0 ? 0 : -1;
}


/* curl's timer callback: one timer, replaced each time */
static int
gw_svc_out_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct timeval  tv;

    (void) multi;
    (void) userp;

    if (timeout_ms < 0) {
        evtimer_del(gw_svc_out_curl_timer_ev);
        return 0;
    }

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;

    return evtimer_add(gw_svc_out_curl_timer_ev, &tv) == 0 ? 0 : -1;
}


static void
gw_svc_out_curl_event(evutil_socket_t fd, short what, void *arg)
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

    curl_multi_socket_action(gw_svc_out_multi, fd, flags, &running);
    gw_svc_out_curl_reap();
}


static void
gw_svc_out_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
    int  running;

    (void) fd;
    (void) what;
    (void) arg;

    curl_multi_socket_action(gw_svc_out_multi, CURL_SOCKET_TIMEOUT, 0,
                             &running);
    gw_svc_out_curl_reap();
}


/* every transfer that ended: out of the multi handle, its done run */
static void
gw_svc_out_curl_reap(void)
{
    int                left;
    CURL              *easy;
    CURLMsg           *msg;
    CURLcode           rc;
    gw_svc_out_job_t  *job;

    while (gw_svc_out_multi != NULL
           && (msg = curl_multi_info_read(gw_svc_out_multi, &left)) != NULL)
    {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        rc = msg->data.result;

        job = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &job);

        curl_multi_remove_handle(gw_svc_out_multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);

        if (job != NULL) {
            gw_svc_out_curl_unlink(job);
            job->done(easy, rc, job->data);
            free(job);
        }
    }
}
