
/*
 * Copyright (C) Tollgate
 *
 * The two indexes of a window set (gw_window_int.h): a chained hash table
 * of (key, start), grown by doubling when it holds as many entries as
 * buckets, and a binary min-heap of the open windows ordered by (end,
 * start, key) -- the order results come out in -- where each window
 * knows its index, so a merged or extended session moves in O(log n).
 *
 * Keys and distinct values come from clients, so the hash is keyed by a
 * seed drawn per set: an attacker who does not know it cannot aim many
 * keys at one bucket.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_window_int.h"


#define GW_WINDOW_MUL1  0x9e3779b97f4a7c15ULL
#define GW_WINDOW_MUL2  0xbf58476d1ce4e5b9ULL
#define GW_WINDOW_MUL3  0x94d049bb133111ebULL


static uint64_t gw_window_mix(uint64_t h);
static int gw_window_hash_grow(gw_window_hash_t *h);
static void gw_window_heap_up(gw_window_t *w, size_t i);
static void gw_window_heap_down(gw_window_t *w, size_t i);


static uint64_t
gw_window_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= GW_WINDOW_MUL2;
    h ^= h >> 27;
    h *= GW_WINDOW_MUL3;
    h ^= h >> 31;

    return h;
}


uint64_t
gw_window_hash_key(uint64_t seed, const unsigned char *key, size_t klen,
    int64_t start)
{
    size_t    i;
    uint64_t  h, c;

    h = gw_window_mix(seed ^ (klen * GW_WINDOW_MUL1));

    for (i = 0; i + 8 <= klen; i += 8) {
        memcpy(&c, key + i, 8);
        h = gw_window_mix(h ^ c) + seed;
    }

    if (i < klen) {
        c = 0;
        memcpy(&c, key + i, klen - i);
        h = gw_window_mix(h ^ c) + seed;
    }

    return gw_window_mix(h ^ (uint64_t) start);
}


gw_window_node_t *
gw_window_hash_find(gw_window_hash_t *h, uint64_t hash,
    const unsigned char *key, size_t klen, int64_t start)
{
    gw_window_node_t  *n;

    if (h->size == 0) {
        return NULL;
    }

    for (n = h->buckets[hash & (h->size - 1)]; n != NULL; n = n->next) {
        if (n->hash == hash && n->start == start && n->klen == klen
            && (klen == 0 || memcmp(n->key, key, klen) == 0))
        {
            return n;
        }
    }

    return NULL;
}


static int
gw_window_hash_grow(gw_window_hash_t *h)
{
    size_t              size, i, b;
    gw_window_node_t   *n, *next, **buckets;

    size = (h->size == 0) ? 64 : h->size * 2;

    buckets = calloc(size, sizeof(gw_window_node_t *));
    if (buckets == NULL) {
        return -1;
    }

    for (i = 0; i < h->size; i++) {
        for (n = h->buckets[i]; n != NULL; n = next) {
            next = n->next;
            b = n->hash & (size - 1);
            n->next = buckets[b];
            buckets[b] = n;
        }
    }

    free(h->buckets);
    h->buckets = buckets;
    h->size = size;

    return 0;
}


int
gw_window_hash_insert(gw_window_hash_t *h, gw_window_node_t *node)
{
    size_t  b;

    if (h->n >= h->size && gw_window_hash_grow(h) != 0) {
        return -1;
    }

    b = node->hash & (h->size - 1);
    node->next = h->buckets[b];
    h->buckets[b] = node;
    h->n++;

    return 0;
}


void
gw_window_hash_remove(gw_window_hash_t *h, gw_window_node_t *node)
{
    gw_window_node_t  **p;

    for (p = &h->buckets[node->hash & (h->size - 1)];
         *p != NULL;
         p = &(*p)->next)
    {
        if (*p == node) {
            *p = node->next;
            h->n--;
            return;
        }
    }
}


int
gw_window_acc_cmp(const gw_window_acc_t *a, const gw_window_acc_t *b)
{
    int     rc;
    size_t  len;

    if (a->end != b->end) {
        return (a->end < b->end) ? -1 : 1;
    }

    if (a->node.start != b->node.start) {
        return (a->node.start < b->node.start) ? -1 : 1;
    }

    len = (a->node.klen < b->node.klen) ? a->node.klen : b->node.klen;

    rc = (len == 0) ? 0 : memcmp(a->node.key, b->node.key, len);
    if (rc != 0) {
        return rc;
    }

    if (a->node.klen != b->node.klen) {
        return (a->node.klen < b->node.klen) ? -1 : 1;
    }

    return 0;
}


static void
gw_window_heap_up(gw_window_t *w, size_t i)
{
    size_t            parent;
    gw_window_acc_t  *acc;

    acc = w->heap[i];

    while (i > 0) {
        parent = (i - 1) / 2;

        if (gw_window_acc_cmp(w->heap[parent], acc) <= 0) {
            break;
        }

        w->heap[i] = w->heap[parent];
        w->heap[i]->heap = i;
        i = parent;
    }

    w->heap[i] = acc;
    acc->heap = i;
}


static void
gw_window_heap_down(gw_window_t *w, size_t i)
{
    size_t            child;
    gw_window_acc_t  *acc;

    acc = w->heap[i];

    for ( ;; ) {
        child = 2 * i + 1;

        if (child >= w->nheap) {
            break;
        }

        if (child + 1 < w->nheap
            && gw_window_acc_cmp(w->heap[child + 1], w->heap[child]) < 0)
        {
            child++;
        }

        if (gw_window_acc_cmp(acc, w->heap[child]) <= 0) {
            break;
        }

        w->heap[i] = w->heap[child];
        w->heap[i]->heap = i;
        i = child;
    }

    w->heap[i] = acc;
    acc->heap = i;
}


int
gw_window_heap_push(gw_window_t *w, gw_window_acc_t *acc)
{
    size_t             size;
    gw_window_acc_t  **heap;

    if (w->nheap == w->heap_size) {
        size = (w->heap_size == 0) ? 64 : w->heap_size * 2;

        heap = realloc(w->heap, size * sizeof(gw_window_acc_t *));
        if (heap == NULL) {
            return -1;
        }

        w->heap = heap;
        w->heap_size = size;
    }

    w->heap[w->nheap] = acc;
    w->nheap++;
    gw_window_heap_up(w, w->nheap - 1);

    return 0;
}


void
gw_window_heap_remove(gw_window_t *w, gw_window_acc_t *acc)
{
    size_t  i;

    i = acc->heap;
    w->nheap--;

    if (i == w->nheap) {
        return;
    }

    w->heap[i] = w->heap[w->nheap];
    w->heap[i]->heap = i;
    gw_window_heap_fix(w, w->heap[i]);
}


void
gw_window_heap_fix(gw_window_t *w, gw_window_acc_t *acc)
{
    gw_window_heap_up(w, acc->heap);
    gw_window_heap_down(w, acc->heap);
}
