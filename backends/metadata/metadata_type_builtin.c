
/*
 * Copyright (C) Tollgate
 *
 * The built-in types' JSON Schemas: backends/metadata/schemas/<type>.json,
 * embedded at build time (mk/metadata.mk writes md_schemas.h, one C
 * string per file).  They are strict: draft 2020-12, no member but
 * those listed (additionalProperties false everywhere), a cap on every
 * string, array and number, formats asserted.  The pipelines type's is
 * the processing service's own, backends/processing/
 * pipeline.schema.json, embedded from that one file.  They describe the
 * data only: the meta members (id, version, created_at, updated_at,
 * created_by, updated_by) are taken off before validation.
 */


#include <string.h>

#include "metadata_type_int.h"
#include "md_schemas.h"


typedef struct {
    md_kind_e    kind;
    const char  *text;
    size_t       len;
} md_builtin_schema_t;


#define md_schema(k, s)  { k, s, sizeof(s) - 1 }

static const md_builtin_schema_t  md_builtin_schemas[] = {
    md_schema(MD_T_CONSUMERS, md_schema_consumers),
    md_schema(MD_T_KEYS, md_schema_keys),
    md_schema(MD_T_ROUTES, md_schema_routes),
    md_schema(MD_T_UPSTREAMS, md_schema_upstreams),
    md_schema(MD_T_PLANS, md_schema_plans),
    md_schema(MD_T_LIMITS, md_schema_limits),
    md_schema(MD_T_SCHEMAS, md_schema_schemas),
    md_schema(MD_T_PLUGINS, md_schema_plugins),
    md_schema(MD_T_CLIENTS, md_schema_clients),
    md_schema(MD_T_TYPES, md_schema_types),
    md_schema(MD_T_PIPELINES, md_schema_pipelines),
    md_schema(MD_T_TEMPLATES, md_schema_templates)
};


const char *
md_type_builtin_schema(md_kind_e kind, size_t *len)
{
    size_t  i;

    for (i = 0; i < sizeof(md_builtin_schemas)
                    / sizeof(md_builtin_schemas[0]); i++)
    {
        if (md_builtin_schemas[i].kind == kind) {
            *len = md_builtin_schemas[i].len;
            return md_builtin_schemas[i].text;
        }
    }

    return NULL;
}
