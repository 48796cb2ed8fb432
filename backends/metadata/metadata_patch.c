
/*
 * Copyright (C) Tollgate
 *
 * JSON Merge Patch (RFC 7396) and the small checks on an entity's JSON
 * that the handlers share: the meta members, the read-only members, the
 * nesting and number caps.
 */


#include <string.h>

#include "metadata_store.h"


#define MD_INT_MAX  9007199254740992LL      /* 2^53 */


static const char  *md_meta[] = {
    "id", "version", "created_at", "updated_at", "created_by",
    "updated_by", NULL
};


int
md_meta_member(const char *name)
{
    const char  **m;

    for (m = md_meta; *m != NULL; m++) {
        if (strcmp(*m, name) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The members the service sets and a client may not: a key's prefix (of
 * its secret) and a client's secret_hash, both made with the secret
 * (md_project_secret()).
 */

static const struct {
    const char  *type;
    const char  *member;
} md_readonly[] = {
    { "keys", "prefix" },
    { "clients", "secret_hash" },
    { NULL, NULL }
};


int
md_readonly_member(md_type_t *t, const char *name)
{
    size_t       i;
    const char  *type;

    type = md_type_name(t);

    for (i = 0; md_readonly[i].type != NULL; i++) {
        if (strcmp(md_readonly[i].type, type) == 0
            && strcmp(md_readonly[i].member, name) == 0)
        {
            return 1;
        }
    }

    return 0;
}


json_t *
md_data_of(json_t *doc)
{
    json_t       *data;
    const char  **m;

    data = json_copy(doc);
    if (data == NULL) {
        return NULL;
    }

    for (m = md_meta; *m != NULL; m++) {
        json_object_del(data, *m);
    }

    return data;
}


/*
 * RFC 7396, section 2: an object patch changes the members it names (a
 * null removes one) recursively; anything else replaces the target.
 * target is changed in place when it is an object; the result is a new
 * reference (target's own reference is consumed).
 */

json_t *
md_merge_patch(json_t *target, json_t *patch)
{
    json_t      *v, *cur, *merged;
    const char  *key;

    if (!json_is_object(patch)) {
        json_decref(target);
        return json_incref(patch);
    }

    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
        if (target == NULL) {
            return NULL;
        }
    }

    json_object_foreach(patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(target, key);
            continue;
        }

        cur = json_incref(json_object_get(target, key));
        merged = md_merge_patch(cur, v);

        if (merged == NULL || json_object_set_new(target, key, merged) != 0) {
            json_decref(target);
            return NULL;
        }
    }

    return target;
}


const char *
md_json_check(json_t *v, int depth)
{
    size_t       i;
    json_t      *e;
    json_int_t   n;
    const char  *key, *why;

    if (depth > MD_DEPTH_MAX) {
        return "the document is nested too deep";
    }

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        json_object_foreach(v, key, e) {
            why = md_json_check(e, depth + 1);
            if (why != NULL) {
                return why;
            }
        }

        break;

    case JSON_ARRAY:
        json_array_foreach(v, i, e) {
            why = md_json_check(e, depth + 1);
            if (why != NULL) {
                return why;
            }
        }

        break;

    case JSON_INTEGER:
        n = json_integer_value(v);

        if (n > MD_INT_MAX || n < -MD_INT_MAX) {
            return "an integer beyond 2^53";
        }

        break;

    default:
        break;
    }

    return NULL;
}
