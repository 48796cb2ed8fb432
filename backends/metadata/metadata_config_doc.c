
/*
 * Copyright (C) Tollgate
 *
 * PUT /v1/config's document against the state it applies to
 * (docs/admin-api.md, "Declarative configuration"): each type present
 * is replaced whole, so every entity listed is checked (an object, an
 * id, listed once, no secret), validated as a PUT of it would be, and
 * compared with the stored one by its data; an entity that differs is a
 * change, one stored and not listed a delete.  Keys and clients keep
 * their stored hashes when the document leaves them out.  A dry run
 * answers the change set as JSON Patches.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_config.h"


static int md_config_type(md_config_t *cf, const char *name, json_t *docs);
static int md_config_entity(md_config_t *cf, md_type_t *t, json_t *doc,
    size_t i, json_t *stored, json_t *seen);
static json_t *md_config_data(json_t *doc, int keep_id);
static int md_config_carry(md_type_t *t, json_t *data, json_t *before);
static json_t *md_config_doc(md_config_t *cf, const char *id, json_t *data,
    json_t *before);
static int md_config_add(md_config_t *cf, md_type_t *t, const char *id,
    long long if_version, json_t *doc, json_t *before, long index);


/* the meta members: set by the service, ignored in a document */
static const char  *md_config_meta[] = {
    "version", "created_at", "updated_at", "created_by", "updated_by", NULL
};

/* what a stored key or client keeps when a document leaves it out */
static const char  *md_config_kept[] = {
    "secret_hash", "secret_old_hash", "secret_old_until", NULL
};


int
md_config_depth(const char *text, size_t len, unsigned max)
{
    size_t    i;
    unsigned  depth, in_string;

    depth = 0;
    in_string = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (text[i] == '\\') {
                i++;

            } else if (text[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (text[i]) {
        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > max) {
                return -1;
            }
            break;

        case ']':
        case '}':
            if (depth > 0) {
                depth--;
            }
            break;
        }
    }

    return 0;
}


/*
 * The document's members: expected_revision (or the snapshot's
 * "revision"), a non-negative integer; "entities", an object of arrays;
 * nothing else.  Also the entity cap (413).  0, or -1 answered (422,
 * 413): these errors need no state, so they come before the snapshot.
 */

int
md_config_plan(md_config_t *cf)
{
    json_t      *docs;
    const char  *name;

    json_object_foreach(json_object_get(cf->body, "entities"), name, docs) {
        if (md_config_type(cf, name, docs) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * One type of the document against its stored entities: a create or an
 * update for each document that differs from the stored one, a delete
 * for each stored entity not listed.
 */

static int
md_config_type(md_config_t *cf, const char *name, json_t *docs)
{
    size_t       i;
    json_t      *stored, *seen, *doc, *v;
    md_type_t   *t;
    const char  *id;

    t = md_type_get(name);

    if (t == NULL) {
        return md_config_error(cf, name, -1, NULL, "unknown entity type");
    }

    /* the stored docs by id, and the ids the document lists */

    stored = json_object();
    seen = json_object();

    if (stored == NULL || seen == NULL) {
        goto failed;
    }

    json_array_foreach(json_object_get(json_object_get(cf->snapshot,
                                                       "entities"), name),
                       i, doc)
    {
        v = json_object_get(doc, "id");

        if (json_is_string(v)
            && json_object_set(stored, json_string_value(v), doc) != 0)
        {
            goto failed;
        }
    }

    json_array_foreach(docs, i, doc) {
        if (md_config_entity(cf, t, doc, i, stored, seen) != 0) {
            goto failed;
        }
    }

    json_object_foreach(stored, id, doc) {
        if (json_object_get(seen, id) != NULL) {
            continue;
        }

        v = json_object_get(doc, "version");

        if (md_config_add(cf, t, id, json_integer_value(v), NULL, doc, -1)
            != 0)
        {
            goto failed;
        }
    }

    json_decref(stored);
    json_decref(seen);

    return 0;

failed:

    json_decref(stored);
    json_decref(seen);

    return -1;
}


/* one document of the type: checked, validated, compared */

static int
md_config_entity(md_config_t *cf, md_type_t *t, json_t *doc, size_t i,
    json_t *stored, json_t *seen)
{
    int          rc, valid;
    char         pointer[MD_CONFIG_POINTER_MAX + MD_ID_MAX];
    size_t       k, size;
    json_t      *v, *data, *before, *old, *errors, *e, *p, *next;
    const char  *id, *name;

    name = md_type_name(t);

    if (!json_is_object(doc)) {
        return md_config_error(cf, name, i, NULL, "expects an object");
    }

    v = json_object_get(doc, "id");

    if (!json_is_string(v)
        || !md_id_valid(json_string_value(v), json_string_length(v)))
    {
        return md_config_error(cf, name, i, "id",
                               "required: 1 to 64 bytes of "
                               "A-Z a-z 0-9 . _ -, a letter or digit first");
    }

    id = json_string_value(v);

    if (strcmp(name, "types") == 0
        && (!md_type_name_valid(id, strlen(id)) || md_type_builtin_name(id)))
    {
        return md_config_error(cf, name, i, "id",
                               "a type's name: [a-z][a-z0-9_-]{0,31}, "
                               "not a built-in type's");
    }

    if (json_object_get(seen, id) != NULL) {
        return md_config_error(cf, name, i, "id",
                               "listed twice in the document");
    }

    if (json_object_set(seen, id, json_true()) != 0) {
        return -1;
    }

    if ((strcmp(name, "keys") == 0 || strcmp(name, "clients") == 0)
        && json_object_get(doc, "secret") != NULL)
    {
        return md_config_error(cf, name, i, "secret",
                               "secrets are not set through /v1/config: "
                               "create the entity with POST, its hash "
                               "carries over");
    }

    data = md_config_data(doc, 0);
    if (data == NULL) {
        return -1;
    }

    before = json_object_get(stored, id);
    old = NULL;
    rc = -1;

    if (before != NULL) {
        old = md_config_data(before, 0);
        if (old == NULL || md_config_carry(t, data, before) != 0) {
            goto done;
        }
    }

    size = json_dumpb(data, NULL, 0, JSON_COMPACT);

    if (size > md.doc_max) {
        cf->too_large = 1;
        rc = md_config_error(cf, name, i, NULL,
                             "the entity is larger than doc_max");
        goto done;
    }

    errors = json_array();
    if (errors == NULL) {
        goto done;
    }

    valid = md_type_validate(t, data, errors);

    if (valid == 1) {
        valid = md_type_check_id(t, id, data, errors);
    }

    if (valid < 0) {
        json_decref(errors);
        goto done;
    }

    json_array_foreach(errors, k, e) {
        p = json_object_get(e, "pointer");
        snprintf(pointer, sizeof(pointer), "/entities/%s/%zu%s", name, i,
                 json_is_string(p) ? json_string_value(p) : "");

        next = json_string(pointer);
        if (next == NULL || json_object_set_new(e, "pointer", next) != 0) {
            json_decref(errors);
            goto done;
        }

        cf->nerrors++;

        if (json_array_size(cf->errors) < MD_CONFIG_ERRORS
            && json_array_append(cf->errors, e) != 0)
        {
            json_decref(errors);
            goto done;
        }
    }

    k = json_array_size(errors);
    json_decref(errors);

    if (k != 0 || cf->nerrors != 0) {
        rc = 0;
        goto done;
    }

    if (old != NULL && json_equal(old, data)) {
        rc = 0;
        goto done;
    }

    doc = md_config_doc(cf, id, data, before);
    if (doc == NULL) {
        goto done;
    }

    v = json_object_get(before, "version");

    rc = md_config_add(cf, t, id, before ? json_integer_value(v) : MD_ABSENT,
                       doc, before, i);

done:

    json_decref(data);
    json_decref(old);

    return rc;
}


/* a copy of doc without its meta members, and without "id" unless asked */

static json_t *
md_config_data(json_t *doc, int keep_id)
{
    json_t       *data;
    const char  **m;

    data = json_deep_copy(doc);
    if (data == NULL) {
        return NULL;
    }

    for (m = md_config_meta; *m != NULL; m++) {
        json_object_del(data, *m);
    }

    if (!keep_id) {
        json_object_del(data, "id");
    }

    return data;
}


/* a key's or client's stored hashes, when the document leaves them out */

static int
md_config_carry(md_type_t *t, json_t *data, json_t *before)
{
    json_t       *v;
    const char   *name, **m;

    name = md_type_name(t);

    if (strcmp(name, "keys") != 0 && strcmp(name, "clients") != 0) {
        return 0;
    }

    for (m = md_config_kept; *m != NULL; m++) {
        v = json_object_get(before, *m);

        if (v != NULL && json_object_get(data, *m) == NULL
            && json_object_set(data, *m, v) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * The document to store: "id", the data, the times and actors (created
 * ones kept from before), without "version", which the commit sets.
 */

static json_t *
md_config_doc(md_config_t *cf, const char *id, json_t *data, json_t *before)
{
    json_t      *doc, *created_at, *created_by;
    const char  *key;
    json_t      *v;

    doc = json_object();
    if (doc == NULL) {
        return NULL;
    }

    created_at = json_object_get(before, "created_at");
    created_by = json_object_get(before, "created_by");

    if (json_object_set_new(doc, "id", json_string(id)) != 0) {
        goto failed;
    }

    json_object_foreach(data, key, v) {
        if (json_object_set(doc, key, v) != 0) {
            goto failed;
        }
    }

    if ((created_at != NULL
         ? json_object_set(doc, "created_at", created_at)
         : json_object_set_new(doc, "created_at", json_string(cf->now)))
        != 0
        || (created_by != NULL
            ? json_object_set(doc, "created_by", created_by)
            : json_object_set_new(doc, "created_by",
                                  json_string(cf->actor)))
           != 0
        || json_object_set_new(doc, "updated_at", json_string(cf->now)) != 0
        || json_object_set_new(doc, "updated_by", json_string(cf->actor))
           != 0)
    {
        goto failed;
    }

    return doc;

failed:

    json_decref(doc);

    return NULL;
}


/* appends a change (doc is stolen; before is borrowed from the snapshot) */

static int
md_config_add(md_config_t *cf, md_type_t *t, const char *id,
    long long if_version, json_t *doc, json_t *before, long index)
{
    size_t              n;
    md_change_t        *c, *changes;
    md_config_where_t  *where;

    if (cf->n == cf->nalloc) {
        n = cf->nalloc ? cf->nalloc * 2 : 16;

        changes = realloc(cf->changes, n * sizeof(md_change_t));
        if (changes == NULL) {
            json_decref(doc);
            return -1;
        }

        cf->changes = changes;

        where = realloc(cf->where, n * sizeof(md_config_where_t));
        if (where == NULL) {
            json_decref(doc);
            return -1;
        }

        cf->where = where;
        cf->nalloc = n;
    }

    c = &cf->changes[cf->n];
    memset(c, 0, sizeof(md_change_t));

    c->type = t;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->if_version = if_version;
    c->doc = doc;
    c->before = before;

    cf->where[cf->n].type = md_type_name(t);
    cf->where[cf->n].index = index;
    cf->n++;

    if (doc == NULL) {
        cf->deleted++;

    } else if (before == NULL) {
        cf->created++;

    } else {
        cf->updated++;
    }

    return 0;
}


/*
 * Adds {"pointer", "message"} to the answer's errors (up to the cap):
 * the pointer is "/entities/<type>/<index>/<member>" without the parts
 * that are absent (type NULL: a member of the document itself; index
 * -1: the type's array).  Returns 0, or -1 when out of memory.
 */

int
md_config_error(md_config_t *cf, const char *type, long index,
    const char *member, const char *message)
{
    char         pointer[MD_CONFIG_POINTER_MAX * 4], *p, *end;
    json_t      *e;
    const char  *s;

    cf->nerrors++;

    if (json_array_size(cf->errors) >= MD_CONFIG_ERRORS) {
        return 0;
    }

    /* a type is a key of the body: escaped (RFC 6901), and cut short */

    p = pointer;
    end = pointer + sizeof(pointer) - 32;

    if (type != NULL) {
        p += snprintf(p, end - p, "/entities/");

        for (s = type; *s != '\0' && p + 2 < end; s++) {
            if (*s == '~' || *s == '/') {
                *p++ = '~';
                *p++ = (*s == '~') ? '0' : '1';

            } else if ((unsigned char) *s < 0x80) {
                *p++ = *s;

            } else {
                *p++ = '?';
            }
        }

        if (index >= 0) {
            p += snprintf(p, end + 32 - p, "/%ld", index);
        }
    }

    if (member != NULL) {
        snprintf(p, end + 32 - p, "/%s", member);

    } else {
        *p = '\0';
    }

    e = json_pack("{s:s,s:s}", "pointer", pointer, "message", message);

    if (e == NULL || json_array_append_new(cf->errors, e) != 0) {
        return -1;
    }

    return 0;
}


/* a dry run's check by the commit script: the diff, or its refusal */

void
md_config_dry(md_config_t *cf)
{
    size_t        i;
    json_t       *out, *list, *a, *b, *diff, *c;
    const char   *op;
    md_change_t  *ch;

    list = json_array();
    out = json_pack("{s:I,s:o}", "revision", (json_int_t) cf->revision,
                    "changes", list);

    if (out == NULL) {
        goto failed;
    }

    for (i = 0; i < cf->n; i++) {
        ch = &cf->changes[i];

        a = ch->before != NULL ? md_config_data(ch->before, 1) : NULL;
        b = ch->doc != NULL ? md_config_data(ch->doc, 1) : NULL;

        diff = ((ch->before == NULL || a != NULL)
                && (ch->doc == NULL || b != NULL))
               ? md_diff(a, b) : NULL;

        json_decref(a);
        json_decref(b);

        if (diff == NULL) {
            goto failed;
        }

        op = ch->doc == NULL ? "delete"
             : ch->before == NULL ? "create" : "update";

        c = json_pack("{s:s,s:s,s:s,s:o}", "type", md_type_name(ch->type),
                      "id", ch->id, "op", op, "diff", diff);

        if (c == NULL || json_array_append_new(list, c) != 0) {
            goto failed;
        }
    }

    gw_svc_reply_json(cf->req, 200, out);
    cf->req = NULL;
    md_config_free(cf);

    return;

failed:

    json_decref(out);
    md_config_fail(cf, 503, "unavailable", "Unavailable", "out of memory");
}


/* the commit's end (res NULL: nothing to commit) */
