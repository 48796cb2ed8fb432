
/*
 * Copyright (C) Tollgate
 *
 * The per-endpoint queue of the kit's outbound HTTP (gw_svc.h).
 * Endpoints (scheme://host:port, in a hash of GW_SVC_OUT_BUCKETS
 * buckets) get at most the configured concurrency of transfers at once,
 * or the request's own; the rest queue in order of arrival, each with a
 * timer: one that waits longer than it may ends as "endpoint busy" (the
 * service retries later).  A slow receiver thus holds its own queue
 * only, never the others'.  An endpoint lives while something runs or
 * waits for it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_svc_out_int.h"


#define GW_SVC_OUT_BUCKETS      256     /* endpoint hash buckets */


struct gw_svc_out_ep_s {
    gw_svc_out_ep_t        *next;       /* in its bucket */
    unsigned                active;
    unsigned                limit;      /* the latest request's */
    unsigned                hash;
    gw_svc_out_t           *head;       /* the queue */
    gw_svc_out_t           *tail;
    char                    key[GW_SVC_OUT_EP_MAX];
};


static gw_svc_out_ep_t *gw_svc_out_ep_get(const char *key, unsigned limit);
static void gw_svc_out_ep_put(gw_svc_out_ep_t *ep);
static void gw_svc_out_pump(gw_svc_out_ep_t *ep);
static int gw_svc_out_run(gw_svc_out_t *h);
static void gw_svc_out_waited(evutil_socket_t fd, short what, void *arg);


static gw_svc_out_ep_t  *gw_svc_out_eps[GW_SVC_OUT_BUCKETS];


int
gw_svc_out_enqueue(gw_svc_out_t *h, const char *key, unsigned limit,
    char *err, size_t errlen)
{
    gw_svc_out_ep_t  *ep;
    struct timeval    tv;

    ep = gw_svc_out_ep_get(key, limit);
    if (ep == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    h->ep = ep;

    /* the waiting ones first: a new one never passes the queue */
    if (ep->head == NULL && ep->active < ep->limit) {
        if (gw_svc_out_run(h) != 0) {
            snprintf(err, errlen, "cannot start the transfer");
            h->ep = NULL;
            gw_svc_out_ep_put(ep);
            return -1;
        }

        return 0;
    }

    h->wait = evtimer_new(gw_svc_base(gw_svc_out.svc), gw_svc_out_waited, h);
    if (h->wait == NULL) {
        snprintf(err, errlen, "out of memory");
        h->ep = NULL;
        gw_svc_out_ep_put(ep);
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
gw_svc_out_release(gw_svc_out_ep_t *ep)
{
    ep->active--;
    gw_svc_out_pump(ep);
}


/* the endpoint named key, made when absent; NULL when out of memory */
static gw_svc_out_ep_t *
gw_svc_out_ep_get(const char *key, unsigned limit)
{
    unsigned          hash;
    const char       *p;
    gw_svc_out_ep_t  *ep;

    hash = 5381;

    for (p = key; *p != '\0'; p++) {
        hash = hash * 33 + (unsigned char) *p;
    }

    hash %= GW_SVC_OUT_BUCKETS;

    for (ep = gw_svc_out_eps[hash]; ep != NULL; ep = ep->next) {
        if (strcmp(ep->key, key) == 0) {
            ep->limit = limit;
            return ep;
        }
    }

    ep = calloc(1, sizeof(gw_svc_out_ep_t));
    if (ep == NULL) {
        return NULL;
    }

    snprintf(ep->key, sizeof(ep->key), "%s", key);
    ep->limit = limit;
    ep->hash = hash;
    ep->next = gw_svc_out_eps[hash];
    gw_svc_out_eps[hash] = ep;

    return ep;
}


/* frees ep when nothing runs or waits for it */
static void
gw_svc_out_ep_put(gw_svc_out_ep_t *ep)
{
    gw_svc_out_ep_t  **pp;

    if (ep->active != 0 || ep->head != NULL) {
        return;
    }

    for (pp = &gw_svc_out_eps[ep->hash]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            free(ep);
            return;
        }
    }
}


static int
gw_svc_out_run(gw_svc_out_t *h)
{
    h->ep->active++;

    if (gw_svc_out_curl_start(h->easy, gw_svc_out_ended, h) != 0) {
        h->ep->active--;
        return -1;
    }

    return 0;
}


/* starts the queued transfers ep has room for, then frees it if idle */
static void
gw_svc_out_pump(gw_svc_out_ep_t *ep)
{
    gw_svc_out_t  *h;

    while (ep->head != NULL && ep->active < ep->limit) {
        h = ep->head;
        ep->head = h->next;

        if (ep->head == NULL) {
            ep->tail = NULL;
        }

        h->next = NULL;
        event_free(h->wait);
        h->wait = NULL;

        if (gw_svc_out_run(h) != 0) {
            h->ep = NULL;
            gw_svc_out_finish(h, 0, "cannot start the transfer", 0);
        }
    }

    gw_svc_out_ep_put(ep);
}


/* a queued one waited as long as it may */
static void
gw_svc_out_waited(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_out_t     *h, **pp;
    gw_svc_out_ep_t  *ep;

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
    gw_svc_out_ep_put(ep);
    gw_svc_out_finish(h, 0, "endpoint busy", 0);
}


/* the stop: every queued request ends ("stopping"), its endpoint freed */
void
gw_svc_out_queue_free(void)
{
    unsigned          i;
    gw_svc_out_t     *h;
    gw_svc_out_ep_t  *ep;

    for (i = 0; i < GW_SVC_OUT_BUCKETS; i++) {
        ep = gw_svc_out_eps[i];

        while (ep != NULL) {
            if (ep->head == NULL) {
                ep = ep->next;
                continue;
            }

            h = ep->head;
            ep->head = h->next;

            if (ep->head == NULL) {
                ep->tail = NULL;
            }

            h->ep = NULL;
            gw_svc_out_ep_put(ep);
            gw_svc_out_finish(h, 0, "stopping", 0);

            /* ep may be freed: start over in this bucket */
            ep = gw_svc_out_eps[i];
        }
    }
}
