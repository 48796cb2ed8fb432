
/*
 * Copyright (C) Tollgate
 *
 * The inbound NATS connector, on its thread: a fetched JetStream message
 * into what the script writes, the edge's fields (docs/processing-nats.md)
 * and the partition, crc32(key) mod partitions as the edge computes it.
 */


#include <inttypes.h>
#include <stdio.h>
#include <zlib.h>

#include "proc_nats_in_int.h"


static char *proc_nats_in_header(natsMsg *m, const char *name);
static void proc_nats_in_key(proc_nats_in_t *in, natsMsg *m,
    proc_nats_rec_t *rec);


/* the batch's records: partition, fields, copies; NULL: out of memory */
proc_nats_batch_t *
proc_nats_in_batch(proc_nats_in_t *in, natsMsgList *list)
{
    int                 i;
    natsMsg            *m;
    jsMsgMetaData      *meta;
    proc_nats_rec_t    *rec;
    proc_nats_batch_t  *b;

    b = calloc(1, sizeof(proc_nats_batch_t));
    if (b == NULL) {
        return NULL;
    }

    b->in = in;

    b->recs = calloc(list->Count + 1, sizeof(proc_nats_rec_t));
    if (b->recs == NULL) {
        free(b);
        return NULL;
    }

    for (i = 0; i < list->Count; i++) {
        m = list->Msgs[i];
        rec = &b->recs[i];
        b->n = i + 1;

        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            goto failed;
        }

        snprintf(rec->seq, sizeof(rec->seq), "%" PRIu64,
                 meta->Sequence.Stream);
        snprintf(rec->time, sizeof(rec->time), "%" PRId64,
                 meta->Timestamp / 1000000);
        jsMsgMetaData_Destroy(meta);

        rec->len = (size_t) natsMsg_GetDataLength(m);
        rec->data = malloc(rec->len + 1);
        if (rec->data == NULL) {
            goto failed;
        }

        memcpy(rec->data, natsMsg_GetData(m), rec->len);
        rec->data[rec->len] = '\0';

        rec->rid = proc_nats_in_header(m, "Nats-Msg-Id");
        rec->traceparent = proc_nats_in_header(m, "traceparent");
        rec->ctype = proc_nats_in_header(m, "Content-Type");
        proc_nats_in_key(in, m, rec);

        if (rec->rid == NULL || rec->traceparent == NULL
            || rec->ctype == NULL || rec->key == NULL)
        {
            goto failed;
        }

        rec->p = (unsigned) (crc32(0L, (const Bytef *) rec->key,
                                   (uInt) rec->key_len)
                             % in->partitions);
        snprintf(rec->pstr, sizeof(rec->pstr), "%u", rec->p);
    }

    return b;

failed:

    proc_nats_batch_free(b);

    return NULL;
}


/* a copy of the message's header, "" when absent; NULL: no memory */
static char *
proc_nats_in_header(natsMsg *m, const char *name)
{
    const char  *h;

    h = NULL;
    (void) natsMsgHeader_Get(m, name, &h);

    return strdup(h != NULL ? h : "");
}


/*
 * A message's key: the header's value, or the JSON pointer's value in
 * the payload (a string as it is, another value as compact JSON); empty
 * when absent, not JSON or not configured.  rec->key NULL: no memory.
 */
static void
proc_nats_in_key(proc_nats_in_t *in, natsMsg *m, proc_nats_rec_t *rec)
{
    json_t      *doc, *v;
    const char  *h;

    doc = NULL;
    rec->key = NULL;

    if (in->key_header != NULL) {
        h = NULL;
        (void) natsMsgHeader_Get(m, in->key_header, &h);
        rec->key = strdup(h != NULL ? h : "");

    } else if (in->key_ptr != NULL) {
        doc = json_loadb(rec->data, rec->len, JSON_DECODE_ANY, NULL);
        v = (doc != NULL) ? proc_nats_pointer(doc, in->key_ptr) : NULL;

        if (json_is_string(v)) {
            rec->key = malloc(json_string_length(v) + 1);
            if (rec->key != NULL) {
                rec->key_len = json_string_length(v);
                memcpy(rec->key, json_string_value(v), rec->key_len + 1);
            }

            json_decref(doc);
            return;
        }

        rec->key = (v != NULL) ? json_dumps(v, JSON_COMPACT
                                               | JSON_ENCODE_ANY)
                               : strdup("");
        json_decref(doc);

    } else {
        rec->key = strdup("");
    }

    rec->key_len = (rec->key != NULL) ? strlen(rec->key) : 0;
}


void
proc_nats_batch_free(proc_nats_batch_t *b)
{
    size_t  k;

    if (b == NULL) {
        return;
    }

    for (k = 0; k < b->n; k++) {
        free(b->recs[k].data);
        free(b->recs[k].key);
        free(b->recs[k].rid);
        free(b->recs[k].traceparent);
        free(b->recs[k].ctype);
    }

    free(b->recs);
    free(b);
}
