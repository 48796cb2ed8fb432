
/*
 * Copyright (C) Tollgate
 *
 * tollgate:stream:<topic> (docs/workflow.md, "Task resources"): one
 * event appended to a topic exactly as the edge's gw_publish writes it
 * (docs/publish.md): an XADD to gw:topic:<topic>:<partition> trimmed
 * with MAXLEN ~ (the edge's default cap), with the fields data, key,
 * consumer, rid, traceparent, time and ctype in that order, so the
 * topic's readers (the processing engine, consumer groups) cannot tell
 * a workflow's event from a client's.
 *
 * The payload is {"data": any, "key": string, "partitions": n}: data is
 * written as compact JSON (ctype application/json); the partition is
 * the edge's, crc32(key) mod partitions (IEEE CRC-32), where partitions
 * is the topic's gw_topic partitions, which the service cannot read from
 * the edge's configuration and the definition states (default 1: every
 * event to partition 0).  consumer is the execution's owner, rid the
 * attempt's idempotency key.  The result is {"Id", "Topic",
 * "Partition"}, Id the entry's id as the edge answers it:
 * "<topic>:<partition>:<ms>-<seq>".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_task_int.h"


#define WF_STREAM_KEY_MAX       1024    /* bytes of a partition key */
#define WF_STREAM_PARTS_MAX     1024    /* the edge's partitions cap */
#define WF_STREAM_DATA_MAX      (1024 * 1024)   /* bytes of data */
#define WF_STREAM_MAXLEN        "1000000"   /* the edge's default cap */


typedef struct {
    wf_task_pt              done;
    void                   *data;
    unsigned                partition;
    char                    topic[WF_TASK_TOPIC_MAX + 1];
} wf_stream_t;


static uint32_t wf_stream_crc32(const char *p, size_t len);
static void wf_stream_added(redisAsyncContext *ac, void *r, void *data);


int
wf_task_stream(const wf_task_t *task, const char *topic, wf_task_pt done,
    void *data, char *err, size_t errlen)
{
    int                  rc;
    char                 key[WF_TASK_TOPIC_MAX + 32], now[32];
    char                 tp[GW_TRACEPARENT_LEN + 1], *text;
    size_t               klen, i, lens[20];
    json_t              *v;
    unsigned             parts;
    const char          *argv[20], *pkey;
    wf_stream_t         *s;
    redisAsyncContext   *ac;

    if (!json_is_object(task->payload)
        || json_object_get(task->payload, "data") == NULL)
    {
        snprintf(err, errlen, "tollgate:stream: the payload is not an "
                 "object with \"data\"");
        return -1;
    }

    pkey = "";
    klen = 0;
    v = json_object_get(task->payload, "key");

    if (v != NULL) {
        pkey = json_string_value(v);
        klen = json_string_length(v);

        if (pkey == NULL || klen > WF_STREAM_KEY_MAX) {
            snprintf(err, errlen, "tollgate:stream: key: a string of at "
                     "most %d bytes", WF_STREAM_KEY_MAX);
            return -1;
        }

        for (i = 0; i < klen; i++) {
            if ((unsigned char) pkey[i] < 0x20 || pkey[i] == 0x7f) {
                snprintf(err, errlen, "tollgate:stream: key: control "
                         "bytes");
                return -1;
            }
        }
    }

    parts = 1;
    v = json_object_get(task->payload, "partitions");

    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > WF_STREAM_PARTS_MAX)
        {
            snprintf(err, errlen, "tollgate:stream: partitions: an integer "
                     "from 1 to %d", WF_STREAM_PARTS_MAX);
            return -1;
        }

        parts = (unsigned) json_integer_value(v);
    }

    ac = gw_svc_redis(wf.svc);
    if (ac == NULL) {
        snprintf(err, errlen, "tollgate:stream: the store is unreachable");
        return -1;
    }

    text = json_dumps(json_object_get(task->payload, "data"),
                      JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = -1;
    s = NULL;

    if (strlen(text) > WF_STREAM_DATA_MAX) {
        snprintf(err, errlen, "tollgate:stream: data: over %d bytes",
                 WF_STREAM_DATA_MAX);
        goto done;
    }

    if (wf_task_traceparent(task, tp) != 0) {
        snprintf(err, errlen, "cannot make a traceparent");
        goto done;
    }

    s = calloc(1, sizeof(wf_stream_t));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    s->done = done;
    s->data = data;
    s->partition = klen == 0 ? 0 : wf_stream_crc32(pkey, klen) % parts;
    snprintf(s->topic, sizeof(s->topic), "%s", topic);

    snprintf(key, sizeof(key), "gw:topic:%s:%u", topic, s->partition);
    snprintf(now, sizeof(now), "%lld", wf_now_ms());

    argv[0] = "XADD";
    argv[1] = key;
    argv[2] = "MAXLEN";
    argv[3] = "~";
    argv[4] = WF_STREAM_MAXLEN;
    argv[5] = "*";
    argv[6] = "data";
    argv[7] = text;
    argv[8] = "key";
    argv[9] = pkey;
    argv[10] = "consumer";
    argv[11] = task->owner != NULL ? task->owner : "";
    argv[12] = "rid";
    argv[13] = task->idem;
    argv[14] = "traceparent";
    argv[15] = tp;
    argv[16] = "time";
    argv[17] = now;
    argv[18] = "ctype";
    argv[19] = "application/json";

    for (i = 0; i < 20; i++) {
        lens[i] = strlen(argv[i]);
    }

    lens[9] = klen;

    if (redisAsyncCommandArgv(ac, wf_stream_added, s, 20, argv, lens)
        != REDIS_OK)
    {
        snprintf(err, errlen, "tollgate:stream: the store is unreachable");
        free(s);
        goto done;
    }

    rc = 0;

done:

    free(text);

    return rc;
}


static void
wf_stream_added(redisAsyncContext *ac, void *r, void *data)
{
    char          id[WF_TASK_TOPIC_MAX + 64];
    json_t       *result;
    redisReply   *reply = r;
    wf_stream_t  *s = data;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING
        || reply->len > 40)
    {
        s->done(NULL, "States.TaskFailed",
                reply != NULL && reply->type == REDIS_REPLY_ERROR
                ? "tollgate:stream: Redis refused the XADD"
                : "tollgate:stream: the store is unreachable", s->data);
        free(s);
        return;
    }

    snprintf(id, sizeof(id), "%s:%u:%s", s->topic, s->partition,
             reply->str);

    result = json_pack("{s:s, s:s, s:i}", "Id", id, "Topic", s->topic,
                       "Partition", (int) s->partition);

    if (result == NULL) {
        s->done(NULL, "States.TaskFailed", "out of memory", s->data);

    } else {
        s->done(result, NULL, NULL, s->data);
        json_decref(result);
    }

    free(s);
}


/* IEEE CRC-32 (zlib's crc32(), nginx's ngx_crc32_long()), bitwise */
static uint32_t
wf_stream_crc32(const char *p, size_t len)
{
    int       k;
    size_t    i;
    uint32_t  crc;

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc ^= (unsigned char) p[i];

        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
        }
    }

    return crc ^ 0xffffffff;
}
