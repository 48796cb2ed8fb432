
/*
 * Copyright (C) Tollgate
 *
 * The memory of parsed values (gw_schema_doc_t) and the conversions
 * between them and jansson's: a jansson instance is validated as a
 * converted copy, the constants of a schema ("enum", "const", the
 * numbers) are kept converted, and gw_schema_json_loadb() converts what
 * it parsed.
 *
 * A doc allocates by bumping a pointer through blocks; a parse drops
 * them all at once but keeps one block, as large as the last parse
 * needed up to GW_SCH_DOC_KEEP, so that a steady stream of bodies of
 * the same size allocates nothing.  The stacks of the parser (items and
 * members of the open containers, keys sorted for duplicates) are kept
 * too while they stay under 64 KiB each.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCH_DOC_FIRST  (16 * 1024)       /* the first block */
#define GW_SCH_DOC_KEEP   (1024 * 1024)     /* most kept between parses */
#define GW_SCH_DOC_STACK  (64 * 1024)       /* most kept of each stack */


struct gw_schema_block_s {
    gw_schema_block_t  *next;
    size_t              used;
    size_t              size;
    size_t              pad;            /* data 16-aligned after this */
};


void
gw_schema_doc_init(gw_schema_doc_t *doc)
{
    memset(doc, 0, sizeof(gw_schema_doc_t));
}


void
gw_schema_doc_free(gw_schema_doc_t *doc)
{
    gw_schema_block_t  *b, *next;

    for (b = doc->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    free(doc->items);
    free(doc->members);
    free(doc->dups);

    memset(doc, 0, sizeof(gw_schema_doc_t));
}


/* size bytes, 8-aligned, from the doc's newest block or a new one */

void *
gw_sch_doc_alloc(gw_schema_doc_t *doc, size_t size)
{
    unsigned char             *p;
    size_t              want;
    gw_schema_block_t  *b;

    size = (size + 7) & ~(size_t) 7;
    b = doc->blocks;

    if (b != NULL && b->size - b->used >= size) {
        p = (unsigned char *) (b + 1) + b->used;
        b->used += size;
        return p;
    }

    want = (b != NULL) ? b->size * 2 : GW_SCH_DOC_FIRST;

    if (want < size) {
        want = size;
    }

    b = malloc(sizeof(gw_schema_block_t) + want);
    if (b == NULL) {
        return NULL;
    }

    b->next = doc->blocks;
    b->used = size;
    b->size = want;
    doc->blocks = b;

    return b + 1;
}


/*
 * Drops every value; keeps one block, as large as they were together,
 * and the stacks of open containers while they are small (64 KiB each).
 */

void
gw_sch_doc_reset(gw_schema_doc_t *doc)
{
    size_t              total;
    gw_schema_block_t  *b, *next;

    if (doc->nitems * sizeof(gw_schema_value_t) > GW_SCH_DOC_STACK) {
        free(doc->items);
        doc->items = NULL;
        doc->nitems = 0;
    }

    if (doc->nmembers * sizeof(gw_schema_member_t) > GW_SCH_DOC_STACK) {
        free(doc->members);
        doc->members = NULL;
        doc->nmembers = 0;
    }

    if (doc->ndups * sizeof(void *) > GW_SCH_DOC_STACK) {
        free(doc->dups);
        doc->dups = NULL;
        doc->ndups = 0;
    }

    b = doc->blocks;

    if (b == NULL) {
        return;
    }

    if (b->next == NULL) {
        b->used = 0;
        return;
    }

    total = 0;

    for ( /* void */ ; b != NULL; b = next) {
        next = b->next;
        total += b->used;
        free(b);
    }

    doc->blocks = NULL;

    if (total > GW_SCH_DOC_KEEP) {
        total = GW_SCH_DOC_KEEP;
    }

    /* one block of that size now, reset to empty */

    if (gw_sch_doc_alloc(doc, total) != NULL) {
        doc->blocks->used = 0;
    }
}


/* j into v, strings copied into the doc; 0, or -1 out of memory */

int
gw_sch_value_from_json(gw_schema_doc_t *doc, const json_t *j,
    gw_schema_value_t *v)
{
    char                *s;
    size_t               i, n, klen;
    json_t              *m;
    const char          *key;
    gw_schema_value_t   *items;
    gw_schema_member_t  *members;

    memset(v, 0, sizeof(gw_schema_value_t));

    switch (json_typeof(j)) {

    case JSON_OBJECT:
        n = json_object_size(j);
        members = gw_sch_doc_alloc(doc, n * sizeof(gw_schema_member_t));
        if (members == NULL) {
            return -1;
        }

        i = 0;

        json_object_keylen_foreach((json_t *) j, key, klen, m) {
            s = gw_sch_doc_alloc(doc, klen + 1);
            if (s == NULL) {
                return -1;
            }

            memcpy(s, key, klen);
            s[klen] = '\0';

            members[i].key = s;
            members[i].len = klen;

            if (gw_sch_value_from_json(doc, m, &members[i].value) != 0) {
                return -1;
            }

            i++;
        }

        v->type = GW_SCHEMA_OBJECT;
        v->len = (uint32_t) i;
        v->u.members = members;
        return 0;

    case JSON_ARRAY:
        n = json_array_size(j);
        items = gw_sch_doc_alloc(doc, n * sizeof(gw_schema_value_t));
        if (items == NULL) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (gw_sch_value_from_json(doc, json_array_get(j, i), &items[i])
                != 0)
            {
                return -1;
            }
        }

        v->type = GW_SCHEMA_ARRAY;
        v->len = (uint32_t) n;
        v->u.items = items;
        return 0;

    case JSON_STRING:
        n = json_string_length(j);
        s = gw_sch_doc_alloc(doc, n + 1);
        if (s == NULL) {
            return -1;
        }

        memcpy(s, json_string_value(j), n);
        s[n] = '\0';

        v->type = GW_SCHEMA_STRING;
        v->len = (uint32_t) n;
        v->u.s = s;
        return 0;

    case JSON_INTEGER:
        v->type = GW_SCHEMA_INTEGER;
        v->u.i = json_integer_value(j);
        return 0;

    case JSON_REAL:
        v->type = GW_SCHEMA_REAL;
        v->u.d = json_real_value(j);
        return 0;

    case JSON_TRUE:
        v->type = GW_SCHEMA_TRUE;
        return 0;

    case JSON_FALSE:
        v->type = GW_SCHEMA_FALSE;
        return 0;

    default:
        v->type = GW_SCHEMA_NULL;
        return 0;
    }
}


const gw_schema_value_t *
gw_schema_from_json(gw_schema_doc_t *doc, const json_t *j)
{
    gw_schema_value_t  *v;

    gw_sch_doc_reset(doc);

    v = gw_sch_doc_alloc(doc, sizeof(gw_schema_value_t));

    if (v == NULL || gw_sch_value_from_json(doc, j, v) != 0) {
        return NULL;
    }

    return v;
}


/* v as a new jansson value, or NULL out of memory */

json_t *
gw_sch_value_to_json(const gw_schema_value_t *v)
{
    size_t                     i;
    json_t                    *j, *item;
    const gw_schema_member_t  *m;

    switch (v->type) {

    case GW_SCHEMA_OBJECT:
        j = json_object();

        for (i = 0; j != NULL && i < v->len; i++) {
            m = &v->u.members[i];
            item = gw_sch_value_to_json(&m->value);

            if (item == NULL
                || json_object_setn_new_nocheck(j, m->key, m->len, item)
                   != 0)
            {
                json_decref(j);
                return NULL;
            }
        }

        return j;

    case GW_SCHEMA_ARRAY:
        j = json_array();

        for (i = 0; j != NULL && i < v->len; i++) {
            if (json_array_append_new(j,
                    gw_sch_value_to_json(&v->u.items[i]))
                != 0)
            {
                json_decref(j);
                return NULL;
            }
        }

        return j;

    case GW_SCHEMA_STRING:
        return json_stringn_nocheck(v->u.s, v->len);

    case GW_SCHEMA_INTEGER:
        return json_integer(v->u.i);

    case GW_SCHEMA_REAL:
        return json_real(v->u.d);

    case GW_SCHEMA_DECIMAL:
        /* as jansson reads the text; NAN (out of memory) gives NULL */
        return json_real(gw_sch_decimal_double(v->u.s, v->len));

    case GW_SCHEMA_TRUE:
        return json_true();

    case GW_SCHEMA_FALSE:
        return json_false();

    default:
        return json_null();
    }
}


/* a value of the schema's, converted once into s->consts; NULL: OOM */

const gw_schema_value_t *
gw_sch_const(gw_schema_t *s, const json_t *j)
{
    gw_schema_value_t  *v;

    v = gw_sch_doc_alloc(&s->consts, sizeof(gw_schema_value_t));

    if (v == NULL || gw_sch_value_from_json(&s->consts, j, v) != 0) {
        return NULL;
    }

    return v;
}


/*
 * The member of obj named name, or NULL.  A scan: objects are small, and
 * a name is looked up only for "required" (when the pass over the
 * members cannot answer it) and dependencies.
 */

const gw_schema_value_t *
gw_sch_get(const gw_schema_value_t *obj, const char *name, size_t len)
{
    size_t                     i;
    const gw_schema_member_t  *m;

    for (i = 0; i < obj->len; i++) {
        m = &obj->u.members[i];

        if (m->len == len && memcmp(m->key, name, len) == 0) {
            return &m->value;
        }
    }

    return NULL;
}
