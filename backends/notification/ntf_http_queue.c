
/*
 * Copyright (C) Tollgate
 *
 * The per-endpoint queue of outbound HTTP (ntf_http.h).  Endpoints
 * (scheme://host:port, in a hash of NTF_HTTP_BUCKETS buckets) get at
 * most webhook_concurrency transfers at once, or the request's own
 * concurrency; the rest queue in order of arrival, each with a timer:
 * one that waits longer than it may (the scheduler's lease / 2) ends as
 * "endpoint busy" and is retried later.  A slow receiver thus holds its
 * own queue only, never the others'.  An endpoint lives while something
 * runs or waits for it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntf.h"
#include "ntf_http.h"


#define NTF_HTTP_BUCKETS        256     /* endpoint hash buckets */


struct ntf_http_ep_s {
    ntf_http_ep_t          *next;       /* in its bucket */
    unsigned                active;
    unsigned                limit;      /* the latest request's */
    unsigned                hash;
    ntf_http_t             *head;       /* the queue */
    ntf_http_t             *tail;
    char                    key[NTF_HTTP_EP_MAX];
};


static ntf_http_ep_t *ntf_http_ep_get(const char *key, unsigned limit);
static void ntf_http_ep_put(ntf_http_ep_t *ep);
static void ntf_http_pump(ntf_http_ep_t *ep);
static int ntf_http_run(ntf_http_t *h);
static void ntf_http_waited(evutil_socket_t fd, short what, void *arg);


static ntf_http_ep_t  *ntf_http_eps[NTF_HTTP_BUCKETS];


int
ntf_http_enqueue(ntf_http_t *h, const char *key, unsigned limit, char *err,
    size_t errlen)
{
    ntf_http_ep_t   *ep;
    struct timeval   tv;

    ep = ntf_http_ep_get(key, limit);
    if (ep == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    h->ep = ep;

    /* the waiting ones first: a new one never passes the queue */
    if (ep->head == NULL && ep->active < ep->limit) {
        if (ntf_http_run(h) != 0) {
            snprintf(err, errlen, "cannot start the transfer");
            h->ep = NULL;
            ntf_http_ep_put(ep);
            return -1;
        }

        return 0;
    }

    h->wait = evtimer_new(ntf.base, ntf_http_waited, h);
    if (h->wait == NULL) {
        snprintf(err, errlen, "out of memory");
        h->ep = NULL;
        ntf_http_ep_put(ep);
        return -1;
    }

    tv.tv_sec = h->wait_ms / 1000;
    tv.tv_usec = (h->wait_ms % 1000) * 1000;
    evtimer_add(h->wait, &tv);

    if (ep->tail != NULL) {
        ep->tail->next = h;

    } else {
        ep->head = h;
    }

    ep->tail = h;

    return 0;
}


void
ntf_http_release(ntf_http_ep_t *ep)
{
    ep->active--;
    ntf_http_pump(ep);
}


/* the endpoint named key, made when absent; NULL when out of memory */
static ntf_http_ep_t *
ntf_http_ep_get(const char *key, unsigned limit)
{
    unsigned        hash;
    const char     *p;
    ntf_http_ep_t  *ep;

    hash = 5381;

    for (p = key; *p != '\0'; p++) {
        hash = hash * 33 + (unsigned char) *p;
    }

    hash %= NTF_HTTP_BUCKETS;

    for (ep = ntf_http_eps[hash]; ep != NULL; ep = ep->next) {
        if (strcmp(ep->key, key) == 0) {
            ep->limit = limit;
            return ep;
        }
    }

    ep = calloc(1, sizeof(ntf_http_ep_t));
    if (ep == NULL) {
        return NULL;
    }

    snprintf(ep->key, sizeof(ep->key), "%s", key);
    ep->limit = limit;
    ep->hash = hash;
    ep->next = ntf_http_eps[hash];
    ntf_http_eps[hash] = ep;

    return ep;
}


/* frees ep when nothing runs or waits for it */
static void
ntf_http_ep_put(ntf_http_ep_t *ep)
{
    ntf_http_ep_t  **pp;

    if (ep->active != 0 || ep->head != NULL) {
        return;
    }

    for (pp = &ntf_http_eps[ep->hash]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            free(ep);
            return;
        }
    }
}


static int
ntf_http_run(ntf_http_t *h)
{
    h->ep->active++;

    if (ntf_curl_start(h->easy, ntf_http_ended, h) != 0) {
        h->ep->active--;
        return -1;
    }

    return 0;
}


/* starts the queued transfers ep has room for, then frees it if idle */
static void
ntf_http_pump(ntf_http_ep_t *ep)
{
    ntf_http_t  *h;

    while (ep->head != NULL && ep->active < ep->limit) {
        h = ep->head;
        ep->head = h->next;

        if (ep->head == NULL) {
            ep->tail = NULL;
        }

        h->next = NULL;
        event_free(h->wait);
        h->wait = NULL;

        if (ntf_http_run(h) != 0) {
            h->ep = NULL;
            ntf_http_finish(h, 0, "cannot start the transfer", 0);
        }
    }

    ntf_http_ep_put(ep);
}


/* a queued one waited as long as it may */
static void
ntf_http_waited(evutil_socket_t fd, short what, void *arg)
{
    ntf_http_t     *h, **pp;
    ntf_http_ep_t  *ep;

    h = arg;
    ep = h->ep;

    for (pp = &ep->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }

    ep->tail = NULL;

    for (pp = &ep->head; *pp != NULL; pp = &(*pp)->next) {
        ep->tail = *pp;
    }

    h->ep = NULL;
    ntf_http_ep_put(ep);
    ntf_http_finish(h, 0, "endpoint busy", 0);
}
