
/*
 * Copyright (C) Tollgate
 *
 * The registry of a schema: resources by URI, anchors, the documents the
 * caller registered and the built-in metaschemas, and the resolution of
 * every "$ref" and "$dynamicRef" into a node pointer once the walk of
 * gw_schema_compile.c is over.  Nothing is fetched: a URI that is not a
 * resource, a registered document or a built-in metaschema is a compile
 * error.  A document is compiled only when something refers to it, so a
 * registry of many documents costs little to the schemas that use few.
 *
 * A JSON pointer fragment is evaluated on the JSON of the resource it is
 * relative to, then mapped back to the node compiled from that value; a
 * pointer into something the walk did not treat as a schema (an unknown
 * keyword, say) gets that value compiled on demand.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCH_DEFAULT_BASE  "urn:tollgate:schema"

#define GW_SCH_VOCAB  "https://json-schema.org/draft/2020-12/vocab/"


static gw_sch_node_t *gw_sch_lookup(gw_schema_t *s, const char *uri,
    gw_schema_cerr_t *err);
static int gw_sch_compile_doc(gw_schema_t *s, gw_sch_res_t *res,
    gw_schema_cerr_t *err);


static void
gw_sch_err(gw_schema_cerr_t *err, const char *ptr, const char *msg,
    const char *arg)
{
    if (err == NULL) {
        return;
    }

    snprintf(err->pointer, sizeof(err->pointer), "%s", ptr);
    snprintf(err->message, sizeof(err->message), "%s%s%s%s", msg,
             arg != NULL ? " \"" : "", arg != NULL ? arg : "",
             arg != NULL ? "\"" : "");
}


static size_t
gw_sch_jmap_slot(const json_t *json, size_t size)
{
    uint64_t  h;

    h = (uint64_t) (uintptr_t) json * 0x9e3779b97f4a7c15ULL;

    return (size_t) (h >> 32) & (size - 1);
}


/*
 * Maps n->json to n, for "$ref"s by JSON pointer; the first node of a
 * value stays.  The table is open-addressed and kept under half full.
 */

int
gw_sch_jmap_add(gw_schema_t *s, gw_sch_node_t *n)
{
    size_t           i, j, size;
    gw_sch_node_t  **map;

    if (s->nnodes * 2 >= s->jmap_size) {
        size = s->jmap_size ? s->jmap_size * 2 : 256;

        map = calloc(size, sizeof(gw_sch_node_t *));
        if (map == NULL) {
            return -1;
        }

        for (i = 0; i < s->jmap_size; i++) {
            if (s->jmap[i] != NULL) {
                for (j = gw_sch_jmap_slot(s->jmap[i]->json, size);
                     map[j] != NULL;
                     j = (j + 1) & (size - 1))
                {
                    /* void */
                }

                map[j] = s->jmap[i];
            }
        }

        free(s->jmap);
        s->jmap = map;
        s->jmap_size = size;
    }

    for (j = gw_sch_jmap_slot(n->json, s->jmap_size);
         s->jmap[j] != NULL;
         j = (j + 1) & (s->jmap_size - 1))
    {
        if (s->jmap[j]->json == n->json) {
            return 0;
        }
    }

    s->jmap[j] = n;

    return 0;
}


gw_sch_node_t *
gw_sch_jmap_get(gw_schema_t *s, const json_t *json)
{
    size_t  j;

    if (s->jmap_size == 0) {
        return NULL;
    }

    for (j = gw_sch_jmap_slot(json, s->jmap_size);
         s->jmap[j] != NULL;
         j = (j + 1) & (s->jmap_size - 1))
    {
        if (s->jmap[j]->json == json) {
            return s->jmap[j];
        }
    }

    return NULL;
}


int
gw_sch_remember(gw_schema_t *s, json_t *json)
{
    json_t  **p;

    if (s->nheld == s->held_alloc) {
        p = realloc(s->held, (s->held_alloc * 2 + 8) * sizeof(json_t *));
        if (p == NULL) {
            return -1;
        }

        s->held = p;
        s->held_alloc = s->held_alloc * 2 + 8;
    }

    s->held[s->nheld++] = json_incref(json);

    return 0;
}


gw_sch_res_t *
gw_sch_find_res(gw_schema_t *s, const char *uri, size_t len)
{
    gw_sch_res_t  *r;

    for (r = s->res; r != NULL; r = r->next) {
        if (r->uri != NULL && strncmp(r->uri, uri, len) == 0
            && r->uri[len] == '\0')
        {
            return r;
        }
    }

    return NULL;
}


static gw_sch_res_t *
gw_sch_new_doc(gw_schema_t *s, const char *uri, size_t len, json_t *doc)
{
    gw_sch_res_t  *r;

    r = gw_sch_alloc(s, sizeof(gw_sch_res_t));
    if (r == NULL) {
        return NULL;
    }

    r->uri = gw_sch_strdup(s, uri, len);
    if (r->uri == NULL || gw_sch_remember(s, doc) != 0) {
        return NULL;
    }

    r->root = doc;
    r->doc = 1;
    r->next = s->res;
    s->res = r;

    return r;
}


/* a built-in metaschema as a registered document, or NULL */

static gw_sch_res_t *
gw_sch_builtin(gw_schema_t *s, const char *uri, size_t len)
{
    size_t         i;
    json_t        *doc;
    gw_sch_res_t  *r;

    for (i = 0; i < gw_sch_nmetas; i++) {
        if (strncmp(gw_sch_metas[i].uri, uri, len) == 0
            && gw_sch_metas[i].uri[len] == '\0')
        {
            break;
        }
    }

    if (i == gw_sch_nmetas) {
        return NULL;
    }

    doc = json_loads(gw_sch_metas[i].text, 0, NULL);
    if (doc == NULL) {
        return NULL;
    }

    r = gw_sch_new_doc(s, uri, len, doc);

    json_decref(doc);

    return r;
}


static gw_sch_res_t *
gw_sch_get_res(gw_schema_t *s, const char *uri, size_t len)
{
    gw_sch_res_t  *r;

    r = gw_sch_find_res(s, uri, len);

    return r != NULL ? r : gw_sch_builtin(s, uri, len);
}


int
gw_sch_add_anchor(gw_schema_t *s, const char *base, const char *name,
    gw_sch_node_t *node, gw_schema_cerr_t *err)
{
    char             *full;
    size_t            i, blen, nlen;
    gw_sch_anchor_t  *a;

    /* an anchor is a plain name: a letter or '_', then [-A-Za-z0-9._] */

    for (i = 0; name[i] != '\0'; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'
              || (i > 0 && ((name[i] >= '0' && name[i] <= '9')
                            || name[i] == '-' || name[i] == '.'))))
        {
            gw_sch_err(err, "", "invalid anchor name", name);
            return -1;
        }
    }

    if (i == 0) {
        gw_sch_err(err, "", "empty anchor name", NULL);
        return -1;
    }

    blen = gw_sch_uri_strip(base);
    nlen = strlen(name);

    full = gw_sch_alloc(s, blen + nlen + 2);
    if (full == NULL) {
        gw_sch_err(err, "", "out of memory", NULL);
        return -1;
    }

    memcpy(full, base, blen);
    full[blen] = '#';
    memcpy(full + blen + 1, name, nlen + 1);

    for (i = 0; i < s->nanchors; i++) {
        if (strcmp(s->anchors[i].name, full) == 0) {
            if (s->anchors[i].node == node) {
                return 0;
            }

            gw_sch_err(err, "", "duplicate anchor", name);
            return -1;
        }
    }

    if (s->nanchors == s->anchors_alloc) {
        a = realloc(s->anchors, (s->anchors_alloc * 2 + 16)
                                * sizeof(gw_sch_anchor_t));
        if (a == NULL) {
            gw_sch_err(err, "", "out of memory", NULL);
            return -1;
        }

        s->anchors = a;
        s->anchors_alloc = s->anchors_alloc * 2 + 16;
    }

    s->anchors[s->nanchors].name = full;
    s->anchors[s->nanchors].node = node;
    s->nanchors++;

    return 0;
}


int
gw_sch_add_dynamic(gw_schema_t *s, gw_sch_res_t *res, const char *name,
    gw_sch_node_t *node)
{
    gw_sch_anchor_t  *a;

    if (res->ndyn == res->dyn_alloc) {
        a = gw_sch_alloc(s, (res->dyn_alloc * 2 + 4)
                            * sizeof(gw_sch_anchor_t));
        if (a == NULL) {
            return -1;
        }

        if (res->ndyn > 0) {
            memcpy(a, res->dyn, res->ndyn * sizeof(gw_sch_anchor_t));
        }

        res->dyn = a;
        res->dyn_alloc = res->dyn_alloc * 2 + 4;
    }

    res->dyn[res->ndyn].name = name;
    res->dyn[res->ndyn].node = node;
    res->ndyn++;

    return 0;
}


/*
 * The draft and vocabularies of a "$schema" URI: the two standard ones
 * (and their neighbours, read as the nearest), or a registered metaschema
 * whose "$vocabulary" says which vocabularies are in force.  A required
 * vocabulary that is unknown here makes the schema unusable: -1.
 */

int
gw_sch_meta_dialect(gw_schema_t *s, const char *uri, int *draft,
    unsigned *vocab)
{
    int            depth;
    size_t         len;
    json_t        *voc, *v;
    const char    *key, *name;
    gw_sch_res_t  *r;

    for (depth = 0; depth < 4; depth++) {
        len = strlen(uri);

        if (len > 0 && uri[len - 1] == '#') {
            len--;
        }

        *vocab = GW_SCH_V_ALL;

#define gw_sch_is(lit)                                                        \
        (len == sizeof(lit) - 1 && memcmp(uri, lit, len) == 0)

        if (gw_sch_is("https://json-schema.org/draft/2020-12/schema")) {
            *draft = GW_SCHEMA_DRAFT_2020_12;
            return 0;
        }

        if (gw_sch_is("https://json-schema.org/draft/2019-09/schema")) {
            *draft = GW_SCH_DRAFT_2019;
            return 0;
        }

        if (gw_sch_is("http://json-schema.org/draft-07/schema")
            || gw_sch_is("http://json-schema.org/draft-06/schema")
            || gw_sch_is("http://json-schema.org/draft-04/schema"))
        {
            *draft = GW_SCHEMA_DRAFT_07;
            return 0;
        }

#undef gw_sch_is

        r = gw_sch_get_res(s, uri, len);

        if (r == NULL || !json_is_object(r->root)) {
            return -1;
        }

        voc = json_object_get(r->root, "$vocabulary");

        if (json_is_object(voc)) {
            *draft = GW_SCHEMA_DRAFT_2020_12;
            *vocab = 0;

            json_object_foreach(voc, key, v) {
                if (strncmp(key, GW_SCH_VOCAB, sizeof(GW_SCH_VOCAB) - 1)
                    != 0)
                {
                    if (json_is_true(v)) {
                        return -1;
                    }

                    continue;
                }

                name = key + sizeof(GW_SCH_VOCAB) - 1;

                if (strcmp(name, "applicator") == 0) {
                    *vocab |= GW_SCH_V_APPLICATOR;

                } else if (strcmp(name, "validation") == 0) {
                    *vocab |= GW_SCH_V_VALIDATION;

                } else if (strcmp(name, "unevaluated") == 0) {
                    *vocab |= GW_SCH_V_UNEVALUATED;

                } else if (strcmp(name, "format-assertion") == 0) {
                    *vocab |= GW_SCH_V_FORMAT;

                } else if (strcmp(name, "core") != 0
                           && strcmp(name, "meta-data") != 0
                           && strcmp(name, "format-annotation") != 0
                           && strcmp(name, "content") != 0
                           && json_is_true(v))
                {
                    return -1;
                }
            }

            return 0;
        }

        v = json_object_get(r->root, "$schema");

        if (!json_is_string(v) || strcmp(json_string_value(v), uri) == 0) {
            *draft = s->opts.draft;
            return 0;
        }

        uri = json_string_value(v);
    }

    return -1;
}


static int
gw_sch_compile_doc(gw_schema_t *s, gw_sch_res_t *res, gw_schema_cerr_t *err)
{
    int             draft;
    json_t         *v;
    unsigned        vocab;
    gw_sch_node_t  *n;

    draft = s->opts.draft;
    vocab = GW_SCH_V_ALL;

    v = json_is_object(res->root) ? json_object_get(res->root, "$schema")
                                  : NULL;

    if (v != NULL && (!json_is_string(v)
                      || gw_sch_meta_dialect(s, json_string_value(v),
                                             &draft, &vocab) != 0))
    {
        gw_sch_err(err, "/$schema", "unknown metaschema",
                   json_is_string(v) ? json_string_value(v) : NULL);
        return -1;
    }

    res->draft = draft;
    res->vocab = vocab;

    n = gw_sch_compile_at(s, res->root, res->uri, res, "", draft, vocab, err);
    if (n == NULL) {
        return -1;
    }

    res->node = n;

    return 0;
}


static gw_sch_node_t *
gw_sch_lookup(gw_schema_t *s, const char *uri, gw_schema_cerr_t *err)
{
    char           *frag;
    size_t          i, len, flen;
    json_t         *j;
    gw_sch_res_t   *res;
    gw_sch_node_t  *n;

    len = gw_sch_uri_strip(uri);

    res = gw_sch_get_res(s, uri, len);

    if (res == NULL) {
        gw_sch_err(err, "", "cannot resolve", uri);
        return NULL;
    }

    if (res->node == NULL && gw_sch_compile_doc(s, res, err) != 0) {
        return NULL;
    }

    if (uri[len] == '\0' || uri[len + 1] == '\0') {
        return res->node;
    }

    if (uri[len + 1] != '/') {
        for (i = 0; i < s->nanchors; i++) {
            if (strcmp(s->anchors[i].name, uri) == 0) {
                return s->anchors[i].node;
            }
        }

        gw_sch_err(err, "", "no such anchor", uri);
        return NULL;
    }

    flen = strlen(uri + len + 1);

    frag = gw_sch_alloc(s, flen + 1);
    if (frag == NULL) {
        gw_sch_err(err, "", "out of memory", NULL);
        return NULL;
    }

    flen = gw_sch_pct_decode(frag, uri + len + 1, flen);
    frag[flen] = '\0';

    j = gw_sch_pointer_get(res->root, frag, flen);

    if (j == NULL) {
        gw_sch_err(err, "", "no such location", uri);
        return NULL;
    }

    n = gw_sch_jmap_get(s, j);
    if (n != NULL) {
        return n;
    }

    return gw_sch_compile_at(s, j, res->uri, res, frag, res->draft,
                             res->vocab, err);
}


/*
 * Resolves every "$ref" and "$dynamicRef" of every node, compiling the
 * documents and locations they lead to, until none is left.  Returns 0,
 * or -1 with err naming the reference that resolves nowhere.
 */

int
gw_sch_resolve_refs(gw_schema_t *s, gw_schema_cerr_t *err)
{
    int             changed;
    json_t         *a;
    gw_sch_node_t  *n;

    do {
        changed = 0;

        for (n = s->nodes; n != NULL; n = n->next) {
            if (n->ref_uri != NULL && n->ref == NULL) {
                n->ref = gw_sch_lookup(s, n->ref_uri, err);
                if (n->ref == NULL) {
                    goto failed;
                }

                changed = 1;
            }

            if (n->dref_uri != NULL && n->dref == NULL) {
                n->dref = gw_sch_lookup(s, n->dref_uri, err);
                if (n->dref == NULL) {
                    goto failed;
                }

                /* dynamic only if it lands on a matching $dynamicAnchor */

                a = json_is_object(n->dref->json)
                    ? json_object_get(n->dref->json, "$dynamicAnchor")
                    : NULL;

                n->dyn_ref = (n->dref_anchor != NULL && json_is_string(a)
                              && strcmp(json_string_value(a),
                                        n->dref_anchor) == 0);
                changed = 1;
            }
        }

    } while (changed);

    return 0;

failed:

    if (err != NULL) {
        snprintf(err->pointer, sizeof(err->pointer), "%s%s%s%s",
                 n->res->doc ? n->res->uri : "", n->res->doc ? "#" : "",
                 n->ptr, n->ref_uri != NULL && n->ref == NULL
                         ? "/$ref" : "/$dynamicRef");
    }

    return -1;
}


gw_schema_t *
gw_schema_new(const gw_schema_opts_t *opts)
{
    gw_schema_t  *s;

    s = calloc(1, sizeof(gw_schema_t));
    if (s == NULL) {
        return NULL;
    }

    if (opts != NULL) {
        s->opts = *opts;
    }

    if (s->opts.max_depth == 0) {
        s->opts.max_depth = GW_SCHEMA_MAX_DEPTH;
    }

    if (s->opts.max_nodes == 0) {
        s->opts.max_nodes = GW_SCHEMA_MAX_NODES;
    }

    if (s->opts.max_errors == 0) {
        s->opts.max_errors = GW_SCHEMA_MAX_ERRORS;
    }

    if (s->opts.max_eval == 0) {
        s->opts.max_eval = GW_SCHEMA_MAX_EVAL;
    }

    if (s->opts.match_limit == 0) {
        s->opts.match_limit = GW_SCHEMA_MATCH_LIMIT;
    }

    if (s->opts.draft != GW_SCHEMA_DRAFT_07) {
        s->opts.draft = GW_SCHEMA_DRAFT_2020_12;
    }

    return s;
}


int
gw_schema_add(gw_schema_t *s, const char *uri, json_t *doc,
    gw_schema_cerr_t *err)
{
    size_t            len;
    gw_schema_cerr_t  local;

    if (err == NULL) {
        err = &local;
    }

    len = gw_sch_uri_strip(uri);

    if (!gw_sch_uri_is_absolute(uri) || (uri[len] == '#'
                                         && uri[len + 1] != '\0'))
    {
        gw_sch_err(err, "", "not an absolute URI", uri);
        return -1;
    }

    if (s->compiled) {
        gw_sch_err(err, "", "schema already compiled", NULL);
        return -1;
    }

    if (gw_sch_find_res(s, uri, len) != NULL) {
        gw_sch_err(err, "", "URI registered twice", uri);
        return -1;
    }

    if (gw_sch_new_doc(s, uri, len, doc) == NULL) {
        gw_sch_err(err, "", "out of memory", NULL);
        return -1;
    }

    return 0;
}


int
gw_schema_compile(gw_schema_t *s, json_t *schema, gw_schema_cerr_t *err)
{
    json_t            *id;
    gw_sch_res_t      *res;
    gw_schema_cerr_t   local;

    if (err == NULL) {
        err = &local;
    }

    if (s->compiled) {
        gw_sch_err(err, "", "schema already compiled", NULL);
        return -1;
    }

    s->compiled = 1;

    res = gw_sch_alloc(s, sizeof(gw_sch_res_t));
    if (res == NULL || gw_sch_remember(s, schema) != 0) {
        gw_sch_err(err, "", "out of memory", NULL);
        return -1;
    }

    /* without "$id", a base of its own that nothing registered can be */

    id = json_is_object(schema) ? json_object_get(schema, "$id") : NULL;

    res->uri = GW_SCH_DEFAULT_BASE;
    res->root = schema;

    if (!json_is_string(id) || !gw_sch_uri_is_absolute(json_string_value(id))
        || gw_sch_find_res(s, GW_SCH_DEFAULT_BASE,
                           sizeof(GW_SCH_DEFAULT_BASE) - 1) != NULL)
    {
        res->next = s->res;
        s->res = res;
    }

    if (gw_sch_compile_doc(s, res, err) != 0
        || gw_sch_resolve_refs(s, err) != 0)
    {
        return -1;
    }

    s->root = res->node;

    s->md = pcre2_match_data_create(1, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    s->kpath = malloc((s->opts.max_eval + 2) * sizeof(char *));
    s->scope = malloc((s->opts.max_eval + 2) * sizeof(gw_sch_res_t *));
    s->ipath = malloc((s->opts.max_depth + 2) * sizeof(gw_sch_iloc_t));

    if (s->md == NULL || s->mctx == NULL || s->kpath == NULL
        || s->scope == NULL || s->ipath == NULL)
    {
        gw_sch_err(err, "", "out of memory", NULL);
        s->root = NULL;
        return -1;
    }

    pcre2_set_match_limit(s->mctx, s->opts.match_limit);
    pcre2_set_depth_limit(s->mctx, s->opts.match_limit);

    return 0;
}


void
gw_schema_free(gw_schema_t *s)
{
    size_t           i;
    gw_sch_arena_t  *a, *next;

    if (s == NULL) {
        return;
    }

    for (i = 0; i < s->nregexes; i++) {
        pcre2_code_free(s->regexes[i]->code);
    }

    for (i = 0; i < s->nheld; i++) {
        json_decref(s->held[i]);
    }

    for (a = s->arena; a != NULL; a = next) {
        next = a->next;
        free(a);
    }

    gw_schema_doc_free(&s->consts);
    gw_schema_doc_free(&s->conv);

    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    free(s->jmap);
    free(s->kpath);
    free(s->scope);
    free(s->ipath);
    free(s->regexes);
    free(s->held);
    free(s->anchors);
    free(s);
}
