
/*
 * Copyright (C) Tollgate
 *
 * The secondary indexes of the audit log: which records hold a given
 * actor, action, resource or status, and the span of "time" of every
 * AUDIT_MARK records, so that a filtered query reads the records that
 * match instead of every record (docs/audit-format.md, "Indexes").
 *
 * A key is a 64-bit hash of a field and its value; collisions only add
 * candidates, since the query checks every record it reads against the
 * filters.  The index follows the segments: the open (last) segment's
 * index is in memory (audit_memix_t: per key the ascending list of its
 * records), and when the segment is sealed (a roll-over, after the
 * synchronous commit of its last record) it is written once to
 * idx-<first> (audit_ixfile.c), sorted by (key, record), synced and
 * renamed into place: an index file only ever describes durable
 * records, and is never changed.  It records the size and mtime of its
 * segment; at open a sealed segment whose index file is missing,
 * damaged or describes another file is scanned and indexed again, and
 * the open segment's index is rebuilt from its records (the tail):
 * never the whole log.
 *
 * Held in memory per sealed segment: its fence (8 bytes per 256
 * entries), its time spans (16 bytes per 64 records), its unreadable
 * records; with the file offsets the store keeps, about 0.6 bytes per
 * record.  The entries themselves (12 bytes per key per record) stay
 * on disk.
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"


static audit_zone_t *audit_memix_zone(audit_memix_t *m, uint64_t rel);
static int audit_memix_push(audit_memix_t *m, uint64_t key, uint32_t rel);


static const char  *audit_ix_names[AUDIT_IX_FIELDS] = {
    "actor", "action", "resource", "status"
};


uint64_t
audit_index_key(unsigned field, const void *p, size_t len)
{
    size_t                i;
    uint64_t              h;
    const unsigned char  *s;

    /* FNV-1a over the field number and the value, then a 64-bit mix */

    h = 0xcbf29ce484222325ULL ^ (field + 1);
    h *= 0x100000001b3ULL;
    s = p;

    for (i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    /* 0 marks a free slot, UINT64_MAX bounds a search */
    if (h == 0 || h == UINT64_MAX) {
        h = 1;
    }

    return h;
}


uint64_t
audit_index_status_key(double status)
{
    unsigned char  b[8];

    if (status == 0) {
        status = 0;         /* -0 is 0 */
    }

    memcpy(b, &status, 8);

    return audit_index_key(3, b, 8);
}


/*
 * What the index takes from a record read as the query reads it (every
 * number a double): the three strings, the status and the time when they
 * are numbers.  A value of another type is not indexed, as no filter can
 * match it.
 */

void
audit_index_extract(json_t *rec, audit_ixrec_t *x)
{
    unsigned   f;
    json_t    *v;

    memset(x, 0, sizeof(audit_ixrec_t));

    if (!json_is_object(rec)) {
        x->bad = 1;
        return;
    }

    for (f = 0; f < 3; f++) {
        v = json_object_get(rec, audit_ix_names[f]);
        if (json_is_string(v)) {
            x->keys[f] = audit_index_key(f, json_string_value(v),
                                         json_string_length(v));
            x->has |= 1u << f;
        }
    }

    v = json_object_get(rec, "status");
    if (json_is_number(v)) {
        x->keys[3] = audit_index_status_key(json_number_value(v));
        x->has |= 1u << 3;
    }

    v = json_object_get(rec, "time");
    if (json_is_number(v)) {
        x->time = json_number_value(v);
        x->has_time = 1;
    }
}


/* ---- the open segment's index ------------------------------------------ */

const audit_mpost_t *
audit_memix_find(const audit_memix_t *m, uint64_t key)
{
    uint64_t  h;

    if (m->cap == 0) {
        return NULL;
    }

    h = key & (m->cap - 1);

    while (m->slots[h].key != 0) {
        if (m->slots[h].key == key) {
            return &m->slots[h];
        }
        h = (h + 1) & (m->cap - 1);
    }

    return NULL;
}


static int
audit_memix_push(audit_memix_t *m, uint64_t key, uint32_t rel)
{
    uint32_t        *p;
    uint64_t         i, h, cap;
    audit_mpost_t   *slots, *s;

    if ((m->used + 1) * 2 > m->cap) {
        cap = m->cap ? m->cap * 2 : 1024;
        slots = calloc(cap, sizeof(audit_mpost_t));
        if (slots == NULL) {
            return -1;
        }

        for (i = 0; i < m->cap; i++) {
            if (m->slots[i].key == 0) {
                continue;
            }
            h = m->slots[i].key & (cap - 1);
            while (slots[h].key != 0) {
                h = (h + 1) & (cap - 1);
            }
            slots[h] = m->slots[i];
        }

        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }

    h = key & (m->cap - 1);

    while (m->slots[h].key != 0 && m->slots[h].key != key) {
        h = (h + 1) & (m->cap - 1);
    }

    s = &m->slots[h];

    if (s->key == 0) {
        s->key = key;
        m->used++;
    }

    if (s->n > 0 && s->rel[s->n - 1] >= rel) {
        return 0;           /* a retried append: already there */
    }

    if (s->n == s->cap) {
        p = realloc(s->rel, (s->cap ? s->cap * 2 : 4) * sizeof(uint32_t));
        if (p == NULL) {
            return -1;
        }
        s->rel = p;
        s->cap = s->cap ? s->cap * 2 : 4;
    }

    s->rel[s->n++] = rel;
    m->nent++;

    return 0;
}


static audit_zone_t *
audit_memix_zone(audit_memix_t *m, uint64_t rel)
{
    size_t         z, cap;
    audit_zone_t  *zones;

    z = rel / AUDIT_MARK;

    while (m->nzones <= z) {
        if (m->nzones == m->zcap) {
            cap = m->zcap ? m->zcap * 2 : 64;
            zones = realloc(m->zones, cap * sizeof(audit_zone_t));
            if (zones == NULL) {
                return NULL;
            }
            m->zones = zones;
            m->zcap = cap;
        }
        m->zones[m->nzones].min = INFINITY;
        m->zones[m->nzones].max = -INFINITY;
        m->nzones++;
    }

    return &m->zones[z];
}


/* the open segment's index from its file (audit_index_load_open()) */

int
audit_index_put(audit_store_t *st, uint64_t key, uint32_t rel)
{
    if (audit_memix_push(&st->mem, key, rel) != 0) {
        audit_err(st, "index: out of memory");
        return -1;
    }

    return 0;
}


audit_zone_t *
audit_index_zone(audit_store_t *st, uint64_t rel)
{
    audit_zone_t  *z;

    z = audit_memix_zone(&st->mem, rel);
    if (z == NULL) {
        audit_err(st, "index: out of memory");
    }

    return z;
}


void
audit_memix_reset(audit_memix_t *m)
{
    uint64_t  i;

    for (i = 0; i < m->cap; i++) {
        free(m->slots[i].rel);
    }

    free(m->slots);
    free(m->zones);
    free(m->bad);
    memset(m, 0, sizeof(audit_memix_t));
}


/*
 * Indexes record seq of the last segment: x, or when NULL the keys read
 * from its bytes.  Only memory changes; the file is written at the seal.
 */

int
audit_index_add(audit_store_t *st, uint64_t seq, const unsigned char *rec,
    size_t rec_len, const audit_ixrec_t *x)
{
    size_t          cap;
    json_t         *obj;
    unsigned        f;
    uint64_t        rel, *bad;
    audit_ixrec_t   own;
    audit_zone_t   *z;
    audit_memix_t  *m;

    m = &st->mem;
    rel = seq - st->segs[st->nsegs - 1].first;

    if (x == NULL && audit_index_scan(rec, rec_len, &own) == 0) {
        x = &own;
    }

    if (x == NULL) {
        obj = json_loadb((const char *) rec, rec_len,
                         JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
        audit_index_extract(obj, &own);
        json_decref(obj);
        x = &own;
    }

    z = audit_memix_zone(m, rel);
    if (z == NULL) {
        goto nomem;
    }

    if (x->bad) {
        if (m->nbad > 0 && m->bad[m->nbad - 1] >= seq) {
            return 0;
        }
        if (m->nbad == m->bcap) {
            cap = m->bcap ? m->bcap * 2 : 16;
            bad = realloc(m->bad, cap * sizeof(uint64_t));
            if (bad == NULL) {
                goto nomem;
            }
            m->bad = bad;
            m->bcap = cap;
        }
        m->bad[m->nbad++] = seq;
        return 0;
    }

    if (x->has_time) {
        z->min = x->time < z->min ? x->time : z->min;
        z->max = x->time > z->max ? x->time : z->max;
    }

    for (f = 0; f < AUDIT_IX_FIELDS; f++) {
        if ((x->has & (1u << f))
            && audit_memix_push(m, x->keys[f], (uint32_t) rel) != 0)
        {
            goto nomem;
        }
    }

    return 0;

nomem:

    audit_err(st, "index: out of memory");
    return -1;
}
