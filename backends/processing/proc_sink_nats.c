
/*
 * Copyright (C) Tollgate
 *
 * Placeholder while the NATS JetStream sink is written (replaced as a whole).
 */


#include <stdio.h>

#include "proc_sink.h"


static proc_sink_t *
proc_sink_nats_create(const proc_env_t *env, const char *pipeline,
    json_t *conf, char *err, size_t errlen)
{
    (void) env;
    (void) pipeline;
    (void) conf;

    snprintf(err, errlen, "/type: the nats sink is not built yet");

    return NULL;
}


const proc_sink_ops_t  proc_sink_nats_ops = {
    "nats", 1, proc_sink_nats_create, NULL, NULL, NULL
};
