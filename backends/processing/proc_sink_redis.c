
/*
 * Copyright (C) Tollgate
 *
 * The "redis" sink: one write per record, exactly once (the commit
 * script of proc_sink_script.c applies a batch's writes with its
 * position, atomically).
 *
 *   {"type": "redis", "command": "hset", "key": "count:{/consumer}",
 *    "field": "{/id}", "value": "/total"}
 *
 * command: hset (key field value), hincrby (key field by), incrby (key
 * by), set (key value), sadd (key value), xadd (key, one field "data"
 * with the value).  key and field are templates ("{/pointer}" takes a member
 * of the record); value is a JSON pointer into the record: the whole
 * record as JSON by default, or 1 for the increments.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


typedef struct {
    proc_rsink_t        rs;
    const char         *command;
    const char         *key;
    const char         *field;
    const char         *value;
} proc_sink_redis_t;


static proc_sink_t *
proc_sink_redis_create(const proc_env_t *env, const char *pipeline,
    json_t *conf, char *err, size_t errlen)
{
    proc_sink_redis_t  *s;

    s = calloc(1, sizeof(proc_sink_redis_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    if (proc_rsink_init(&s->rs, env, pipeline, conf, err, errlen) != 0) {
        free(s);
        return NULL;
    }

    s->rs.sink.ops = &proc_sink_redis_ops;
    s->command = json_string_value(json_object_get(conf, "command"));
    s->key = json_string_value(json_object_get(conf, "key"));
    s->field = json_string_value(json_object_get(conf, "field"));
    s->value = json_string_value(json_object_get(conf, "value"));

    if (s->command == NULL || s->key == NULL) {
        json_decref(s->rs.conf);
        free(s);
        snprintf(err, errlen, "/command: a command and a key are required");
        return NULL;
    }

    if ((strcmp(s->command, "hset") == 0
         || strcmp(s->command, "hincrby") == 0) && s->field == NULL)
    {
        snprintf(err, errlen, "/field: %s needs a field", s->command);
        json_decref(s->rs.conf);
        free(s);
        return NULL;
    }

    return &s->rs.sink;
}


/* appends the record's "op key a b" to ops; -1: the record cannot be */

static int
proc_sink_redis_op(proc_sink_redis_t *s, json_t *rec, json_t *ops)
{
    int          incr;
    char         key[PROC_KEY_MAX], field[PROC_KEY_MAX], *val;
    json_t      *v, *env;

    if (proc_template(s->key, rec, key, sizeof(key)) != 0) {
        return -1;
    }

    field[0] = '\0';

    if (s->field != NULL
        && proc_template(s->field, rec, field, sizeof(field)) != 0)
    {
        return -1;
    }

    incr = (strcmp(s->command, "incrby") == 0
            || strcmp(s->command, "hincrby") == 0);

    if (s->value != NULL) {
        v = proc_json_ptr(rec, s->value);
        if (v == NULL || (incr && !json_is_integer(v))) {
            return -1;
        }
        val = proc_json_text(v);

    } else if (incr) {
        val = strdup("1");

    } else {
        val = json_dumps(rec, JSON_COMPACT);
    }

    if (val == NULL) {
        return -1;
    }

    if (strcmp(s->command, "xadd") == 0) {
        env = json_pack("{s:s}", "data", val);
        free(val);
        val = (env != NULL) ? json_dumps(env, JSON_COMPACT) : NULL;
        json_decref(env);

        if (val == NULL) {
            return -1;
        }

        json_array_append_new(ops, json_string("xadd"));
        json_array_append_new(ops, json_string(key));
        json_array_append_new(ops, json_string(""));
        json_array_append_new(ops, json_string(val));

    } else {
        json_array_append_new(ops, json_string(s->command));
        json_array_append_new(ops, json_string(key));
        json_array_append_new(ops, json_string(field));
        json_array_append_new(ops, json_string(val));
    }

    free(val);

    return 0;
}


static int
proc_sink_redis_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    size_t              i, skipped;
    json_t             *ops, *rec;
    proc_sink_redis_t  *s;

    s = (proc_sink_redis_t *) sink;

    ops = json_array();
    if (ops == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    skipped = 0;

    json_array_foreach(b->records, i, rec) {
        if (proc_sink_redis_op(s, rec, ops) != 0) {
            skipped++;
        }
    }

    if (skipped > 0) {
        /* records without the members the sink needs: said once */
        gw_svc_log(s->rs.env.svc, GW_SVC_WARN, NULL,
                   "records lack the redis sink's members",
                   json_pack("{s:s, s:I, s:s}", "sink", s->rs.name,
                             "records", (json_int_t) skipped, "position",
                             b->position));
    }

    if (json_array_size(ops) % 4 != 0) {
        json_decref(ops);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return proc_rsink_commit(&s->rs, b, ops, done, data, err, errlen);
}


const proc_sink_ops_t  proc_sink_redis_ops = {
    "redis", 1, proc_sink_redis_create, proc_rsink_load,
    proc_sink_redis_commit, proc_rsink_free
};
