
/*
 * Copyright (C) Tollgate
 *
 * The entity types (placeholder until the types land: every built-in
 * name, no schema, no references).
 */


#include <string.h>

#include "metadata.h"


struct md_type_s {
    const char  *name;
};


static md_type_t  md_types[] = {
    { "consumers" }, { "keys" }, { "routes" }, { "upstreams" },
    { "plans" }, { "limits" }, { "schemas" }, { "plugins" },
    { "clients" }, { "types" }, { NULL }
};


int
md_type_setup(gw_svc_t *svc)
{
    return 0;
}


void
md_type_start(struct event_base *base)
{
}


void
md_type_stop(void)
{
}


md_type_t *
md_type_get(const char *name)
{
    md_type_t  *t;

    for (t = md_types; t->name != NULL; t++) {
        if (strcmp(t->name, name) == 0) {
            return t;
        }
    }

    return NULL;
}


md_type_t *
md_type_user(const char *name)
{
    return NULL;
}


const char *
md_type_name(md_type_t *t)
{
    return t->name;
}


int
md_type_validate(md_type_t *t, json_t *data, json_t *errors)
{
    return 1;
}


int
md_type_refs(md_type_t *t, json_t *data, json_t **refs, json_t **match)
{
    *refs = json_array();
    *match = json_array();

    return (*refs == NULL || *match == NULL) ? -1 : 0;
}
