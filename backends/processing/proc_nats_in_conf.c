
/*
 * Copyright (C) Tollgate
 *
 * The inbound NATS connector's configuration, the "nats_in" member of a
 * pipeline document (proc_nats.h, docs/processing-nats.md): every member
 * checked, errors as "/nats_in/<member>: why".
 */


#include <stdio.h>

#include "proc_nats_in_int.h"


static char *proc_nats_in_str(json_t *conf, const char *name, int subject,
    char *err, size_t errlen);


/* the members, each checked; err is "/nats_in/member: why" */
int
proc_nats_in_conf(proc_nats_in_t *in, json_t *conf, char *err,
    size_t errlen)
{
    char         e[200];
    size_t       len;
    json_t      *v;
    unsigned     p;
    const char  *k, *topic, *h;

    if (!json_is_object(conf)) {
        snprintf(err, errlen, "/nats_in: must be an object");
        return -1;
    }

    json_object_foreach(conf, k, v) {
        if (strcmp(k, "servers") != 0 && strcmp(k, "stream") != 0
            && strcmp(k, "durable") != 0 && strcmp(k, "subject") != 0
            && strcmp(k, "topic") != 0 && strcmp(k, "partitions") != 0
            && strcmp(k, "key") != 0 && strcmp(k, "batch") != 0
            && strcmp(k, "maxlen") != 0)
        {
            snprintf(err, errlen, "/nats_in/%s: unknown member", k);
            return -1;
        }
    }

    if (proc_nats_servers_parse(conf, &in->servers, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "/nats_in%s", e);
        return -1;
    }

    in->stream = proc_nats_in_str(conf, "stream", 0, err, errlen);
    if (in->stream == NULL) {
        return -1;
    }

    in->durable = proc_nats_in_str(conf, "durable", 0, err, errlen);
    if (in->durable == NULL) {
        return -1;
    }

    in->subject = proc_nats_in_str(conf, "subject", 1, err, errlen);
    if (in->subject == NULL) {
        return -1;
    }

    topic = json_string_value(json_object_get(conf, "topic"));
    if (topic == NULL || topic[0] == '\0' || strlen(topic) > 64
        || strpbrk(topic, ": \t\r\n") != NULL)
    {
        snprintf(err, errlen, "/nats_in/topic: must be a topic name");
        return -1;
    }

    v = json_object_get(conf, "partitions");
    if (!json_is_integer(v) || json_integer_value(v) < 1
        || json_integer_value(v) > 1024)
    {
        snprintf(err, errlen, "/nats_in/partitions: must be 1 to 1024");
        return -1;
    }

    in->partitions = (unsigned) json_integer_value(v);

    in->batch_max = 256;
    v = json_object_get(conf, "batch");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > 4096)
        {
            snprintf(err, errlen, "/nats_in/batch: must be 1 to 4096");
            return -1;
        }

        in->batch_max = (int) json_integer_value(v);
    }

    snprintf(in->maxlen, sizeof(in->maxlen), "1000000");
    v = json_object_get(conf, "maxlen");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1000) {
            snprintf(err, errlen, "/nats_in/maxlen: must be an integer "
                     "from 1000");
            return -1;
        }

        snprintf(in->maxlen, sizeof(in->maxlen), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
    }

    v = json_object_get(conf, "key");

    if (json_is_string(v)) {
        k = json_string_value(v);

        if (k[0] != '/' || strlen(k) > 255) {
            snprintf(err, errlen, "/nats_in/key: must be a JSON pointer "
                     "(\"/member\") or {\"header\": \"Name\"}");
            return -1;
        }

        in->key_ptr = strdup(k);
        if (in->key_ptr == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

    } else if (json_is_object(v)) {
        h = json_string_value(json_object_get(v, "header"));

        if (json_object_size(v) != 1 || h == NULL || h[0] == '\0'
            || strlen(h) > 64 || strpbrk(h, ": \t\r\n") != NULL)
        {
            snprintf(err, errlen, "/nats_in/key/header: must be a header "
                     "name");
            return -1;
        }

        in->key_header = strdup(h);
        if (in->key_header == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

    } else if (v != NULL) {
        snprintf(err, errlen, "/nats_in/key: must be a JSON pointer "
                 "(\"/member\") or {\"header\": \"Name\"}");
        return -1;
    }

    len = strlen(topic) + 32;

    in->hash = malloc(strlen(in->durable) + 32);
    in->topics = calloc(in->partitions, sizeof(char *));

    if (in->hash == NULL || in->topics == NULL) {
        snprintf(err, errlen, "/nats_in: out of memory");
        return -1;
    }

    snprintf(in->hash, strlen(in->durable) + 32, "gw:proc:nats-in:%s",
             in->durable);

    for (p = 0; p < in->partitions; p++) {
        in->topics[p] = malloc(len);
        if (in->topics[p] == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

        snprintf(in->topics[p], len, "gw:topic:%s:%u", topic, p);
    }

    return 0;
}


/* a copied string member: a name, or with subject a NATS subject */
static char *
proc_nats_in_str(json_t *conf, const char *name, int subject, char *err,
    size_t errlen)
{
    char        *copy;
    const char  *s;

    s = json_string_value(json_object_get(conf, name));

    if (s == NULL
        || (subject && !proc_nats_subject_ok(s, 1))
        || (!subject && (s[0] == '\0' || strlen(s) > 64
                         || strpbrk(s, " .*>/\\\t\r\n") != NULL)))
    {
        snprintf(err, errlen, "/nats_in/%s: must be a %s", name,
                 subject ? "NATS subject" : "JetStream name");
        return NULL;
    }

    copy = strdup(s);
    if (copy == NULL) {
        snprintf(err, errlen, "/nats_in/%s: out of memory", name);
    }

    return copy;
}
