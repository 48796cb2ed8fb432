
/*
 * Copyright (C) Tollgate
 *
 * Projection into the gateway's records (placeholder until it lands).
 */


#include "metadata.h"


int
md_project(md_type_t *t, json_t *before, json_t *after, json_t *cmds)
{
    return 0;
}


int
md_project_secret(md_type_t *t, json_t *data, char **secret,
    const char **error)
{
    *secret = NULL;
    *error = "secrets are not available yet";

    return -1;
}
