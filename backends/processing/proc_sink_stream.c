
/*
 * Copyright (C) Tollgate
 *
 * The "stream" sink: each record XADDed to another stream, in the
 * topics' entry format (docs/publish.md) so that another pipeline can
 * read it: fields data (the record as JSON), key, time.
 *
 *   {"type": "stream", "stream": "gw:out"}
 *   {"type": "stream", "topic": "totals", "partitions": 4,
 *    "key": "/consumer"}
 *
 * With a topic, a record goes to gw:topic:<topic>:<crc32(key) mod
 * partitions>, as the edge publishes (so per-key order holds and a
 * downstream pipeline gets every key on one partition: repartitioning);
 * a "stream" with "partitions" is split the same way into
 * <stream>:<p> (e.g. gw:proc:<pipeline>:rp, read by a second stage
 * whose source is {"stream": "gw:proc:<pipeline>:rp", "partitions": N}).
 * Duplicates are avoided as by the redis sink: the XADDs of a batch and
 * its position are one script, which writes nothing for a batch not
 * after the stored position.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "proc.h"


typedef struct {
    proc_rsink_t        rs;
    const char         *stream;
    const char         *topic;
    const char         *key;
    unsigned            partitions;
    int                 split;          /* "stream" with "partitions" */
    char                maxlen[24];
} proc_sink_stream_t;


static proc_sink_t *
proc_sink_stream_create(const proc_env_t *env, const char *pipeline,
    json_t *conf, char *err, size_t errlen)
{
    json_t              *v;
    proc_sink_stream_t  *s;

    s = calloc(1, sizeof(proc_sink_stream_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    if (proc_rsink_init(&s->rs, env, pipeline, conf, err, errlen) != 0) {
        free(s);
        return NULL;
    }

    s->rs.sink.ops = &proc_sink_stream_ops;
    s->stream = json_string_value(json_object_get(conf, "stream"));
    s->topic = json_string_value(json_object_get(conf, "topic"));
    s->key = json_string_value(json_object_get(conf, "key"));
    v = json_object_get(conf, "partitions");
    s->partitions = json_is_integer(v) ? json_integer_value(v) : 1;
    s->split = json_is_integer(v);
    v = json_object_get(conf, "maxlen");

    if (json_is_integer(v)) {
        snprintf(s->maxlen, sizeof(s->maxlen), "%lld",
                 (long long) json_integer_value(v));
    }

    if ((s->stream == NULL) == (s->topic == NULL)) {
        json_decref(s->rs.conf);
        free(s);
        snprintf(err, errlen, ": a stream or a topic");
        return NULL;
    }

    return &s->rs.sink;
}


static int
proc_sink_stream_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    char                 stream[PROC_KEY_MAX], tm[24], *key, *txt, *env;
    size_t               i;
    json_t              *ops, *rec, *v, *e;
    unsigned long        crc;
    proc_sink_stream_t  *s;

    s = (proc_sink_stream_t *) sink;

    ops = json_array();
    if (ops == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(tm, sizeof(tm), "%lld", proc_now_ms());

    json_array_foreach(b->records, i, rec) {
        v = (s->key != NULL) ? proc_json_ptr(rec, s->key) : NULL;
        key = (v != NULL && !json_is_null(v)) ? proc_json_text(v)
                                              : strdup("");
        txt = json_dumps(rec, JSON_COMPACT);

        if (key == NULL || txt == NULL) {
            free(key);
            free(txt);
            json_decref(ops);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        crc = crc32(0L, (const Bytef *) key, strlen(key));
        crc = (key[0] == '\0') ? 0 : crc % s->partitions;

        if (s->topic != NULL) {
            snprintf(stream, sizeof(stream), "gw:topic:%s:%lu", s->topic,
                     crc);

        } else if (s->split) {
            snprintf(stream, sizeof(stream), "%s:%lu", s->stream, crc);

        } else {
            snprintf(stream, sizeof(stream), "%s", s->stream);
        }

        e = json_pack("{s:s, s:s, s:s}", "data", txt, "key", key,
                      "time", tm);
        env = (e != NULL) ? json_dumps(e, JSON_COMPACT) : NULL;

        json_decref(e);
        free(key);
        free(txt);

        if (env == NULL) {
            json_decref(ops);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        json_array_append_new(ops, json_string("xadd"));
        json_array_append_new(ops, json_string(stream));
        json_array_append_new(ops, json_string(s->maxlen));
        json_array_append_new(ops, json_string(env));
        free(env);
    }

    return proc_rsink_commit(&s->rs, b, ops, done, data, err, errlen);
}


const proc_sink_ops_t  proc_sink_stream_ops = {
    "stream", 1, proc_sink_stream_create, proc_rsink_load,
    proc_sink_stream_commit, proc_rsink_free
};
