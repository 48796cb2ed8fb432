
/*
 * Copyright (C) Tollgate
 *
 * A definition parsed, checked and compiled (docs/workflow-language.md).
 *
 * The text is measured before it is parsed: at most GW_ASL_DEF_MAX bytes
 * and GW_ASL_DEF_DEPTH_MAX levels of nesting (room for Parallel and Map
 * nested GW_ASL_DEPTH_MAX deep, four levels each, and for a value of
 * GW_ASL_JSON_DEPTH_MAX levels in the innermost state), so that
 * jansson's own recursion never goes deep.  jansson refuses duplicate
 * keys (after unescaping: "A" and "\u0041" are one name), NUL in
 * strings, integers and reals that overflow.
 *
 * A definition is a tree of machines: the top one, and one for each
 * Parallel branch and each Map processor, each with its own StartAt and
 * States.  Transitions never leave a machine; state names are unique in
 * the whole definition.  Every machine is checked as a graph once its
 * states are compiled: every state reachable from StartAt, and every
 * reachable state with a path to a terminal state (End, Succeed, Fail),
 * which refuses both "no terminal state" and a cycle without exit.
 *
 * Everything the compiled form holds is allocated from one pool, freed
 * at once, whatever was compiled when a check failed; names, resources
 * and error names point into the JSON, which the definition owns.
 */


#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_def_int.h"


static int gw_asl_def_measure(const char *text, size_t len,
    gw_asl_err_t *err);
static int gw_asl_top_check(gw_asl_ctx_t *ctx, json_t *root);
static int gw_asl_name_check(gw_asl_ctx_t *ctx, const char *name,
    size_t index, const char *ptr);
static int gw_asl_ends_with(const char *s, const char *tail);


static const char *const  gw_asl_top_fields[] = {
    "StartAt", "States", "Comment", "Version", "TimeoutSeconds",
    "QueryLanguage", NULL
};

static const char *const  gw_asl_branch_fields[] = {
    "StartAt", "States", "Comment", NULL
};

static const char *const  gw_asl_processor_fields[] = {
    "StartAt", "States", "Comment", "ProcessorConfig", NULL
};


gw_asl_def_t *
gw_asl_def_parse(const char *text, size_t len, gw_asl_err_t *err)
{
    json_t         *root;
    gw_asl_ctx_t    ctx;
    gw_asl_def_t   *def;
    gw_asl_err_t    local;
    json_error_t    jerr;
    gw_asl_pool_t  *pool;

    if (err == NULL) {
        err = &local;
    }

    if (text == NULL) {
        gw_asl_error(err, GW_ASL_E_INVALID, "", "no definition");
        return NULL;
    }

    if (gw_asl_def_measure(text, len, err) != 0) {
        return NULL;
    }

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        gw_asl_error(err, GW_ASL_E_INVALID, "",
                     "not JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
        return NULL;
    }

    def = calloc(1, sizeof(gw_asl_def_t));
    pool = calloc(1, sizeof(gw_asl_pool_t));
    ctx.names = json_object();

    if (def == NULL || pool == NULL || ctx.names == NULL) {
        free(def);
        free(pool);
        json_decref(ctx.names);
        json_decref(root);
        gw_asl_error(err, GW_ASL_E_RUNTIME, "", "out of memory");
        return NULL;
    }

    def->root = root;
    def->pool = pool;

    ctx.def = def;
    ctx.err = err;
    ctx.pool = pool;

    if (gw_asl_top_check(&ctx, root) != 0) {
        goto failed;
    }

    def->top = gw_asl_machine_compile(&ctx, root, "", NULL, 0);
    if (def->top == NULL) {
        goto failed;
    }

    json_decref(ctx.names);
    return def;

failed:

    json_decref(ctx.names);
    gw_asl_def_free(def);
    return NULL;
}


/*
 * The text's size and nesting measured without parsing it: brackets
 * outside strings counted, strings skipped with their escapes.
 */

static int
gw_asl_def_measure(const char *text, size_t len, gw_asl_err_t *err)
{
    int     in_string;
    size_t  i, depth;

    if (len > GW_ASL_DEF_MAX) {
        return gw_asl_error(err, GW_ASL_E_INVALID, "",
                            "the definition is %zu bytes, over the cap of "
                            "%d", len, GW_ASL_DEF_MAX);
    }

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
            if (++depth > GW_ASL_DEF_DEPTH_MAX) {
                return gw_asl_error(err, GW_ASL_E_INVALID, "",
                                    "JSON nested over %d levels",
                                    GW_ASL_DEF_DEPTH_MAX);
            }
            break;

        case ']':
        case '}':
            if (depth > 0) {
                depth--;
            }
            break;

        default:
            break;
        }
    }

    return 0;
}


static int
gw_asl_top_check(gw_asl_ctx_t *ctx, json_t *root)
{
    json_t  *v;

    if (!json_is_object(root)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, "",
                            "a definition is a JSON object");
    }

    v = json_object_get(root, "Version");
    if (v != NULL && !json_is_string(v)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, "/Version",
                            "Version is a string");
    }

    v = json_object_get(root, "QueryLanguage");
    if (v != NULL) {
        if (json_is_string(v)
            && strcmp(json_string_value(v), "JSONata") == 0)
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                                "/QueryLanguage", "QueryLanguage "
                                "\"JSONata\": only JSONPath is supported");
        }

        if (!json_is_string(v)
            || strcmp(json_string_value(v), "JSONPath") != 0)
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                                "/QueryLanguage", "QueryLanguage is "
                                "\"JSONPath\" (the only one supported)");
        }
    }

    return gw_asl_int_field(ctx, root, "TimeoutSeconds", 1,
                            GW_ASL_SECONDS_MAX, "");
}


gw_asl_machine_t *
gw_asl_machine_compile(gw_asl_ctx_t *ctx, json_t *obj, const char *ptr,
    gw_asl_machine_t *parent, unsigned depth)
{
    int                 i;
    char                p[GW_ASL_POINTER_MAX], sp[GW_ASL_POINTER_MAX];
    size_t              n;
    json_t             *states, *start, *v;
    const char         *name;
    const char *const  *fields;
    gw_asl_machine_t   *m;
    gw_asl_state_t     *st;

    if (!json_is_object(obj)) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                     "a state machine is a JSON object");
        return NULL;
    }

    if (parent == NULL) {
        fields = gw_asl_top_fields;

    } else if (gw_asl_ends_with(ptr, "/ItemProcessor")
               || gw_asl_ends_with(ptr, "/Iterator"))
    {
        fields = gw_asl_processor_fields;

    } else {
        fields = gw_asl_branch_fields;
    }

    if (parent != NULL && json_object_get(obj, "QueryLanguage") != NULL) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                     gw_asl_pointer(p, sizeof(p), ptr, "QueryLanguage"),
                     "QueryLanguage is set at the top or in a state, and "
                     "only JSONPath is supported");
        return NULL;
    }

    if (gw_asl_keys_check(ctx, obj, fields, "a state machine", ptr) != 0) {
        return NULL;
    }

    v = json_object_get(obj, "Comment");
    if (v != NULL && !json_is_string(v)) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                     gw_asl_pointer(p, sizeof(p), ptr, "Comment"),
                     "Comment is a string");
        return NULL;
    }

    states = json_object_get(obj, "States");
    gw_asl_pointer(sp, sizeof(sp), ptr, "States");

    if (!json_is_object(states) || json_object_size(states) == 0) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID, states ? sp : ptr,
                     "States is a JSON object with at least one state");
        return NULL;
    }

    n = json_object_size(states);

    if (ctx->def->nstates + n > GW_ASL_STATES_MAX) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID, sp,
                     "over %d states in the definition",
                     GW_ASL_STATES_MAX);
        return NULL;
    }

    ctx->def->nstates += n;

    m = gw_asl_palloc(ctx, sizeof(gw_asl_machine_t));
    if (m == NULL) {
        return NULL;
    }

    m->states = gw_asl_palloc(ctx, n * sizeof(gw_asl_state_t));
    m->pointer = gw_asl_pstrdup(ctx, ptr);

    if (m->states == NULL || m->pointer == NULL) {
        return NULL;
    }

    m->nstates = n;
    m->raw = obj;
    m->parent = parent;
    m->start = -1;

    /* the names first: transitions name states defined later */

    i = 0;

    json_object_foreach(states, name, v) {
        gw_asl_pointer(p, sizeof(p), sp, name);

        if (gw_asl_name_check(ctx, name, i, p) != 0) {
            return NULL;
        }

        st = &m->states[i];
        st->name = name;
        st->raw = v;
        st->machine = m;
        st->index = i;
        st->next = -1;
        st->default_next = -1;
        i++;
    }

    start = json_object_get(obj, "StartAt");
    if (start == NULL) {
        gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                     "StartAt is missing");
        return NULL;
    }

    m->start = gw_asl_def_target(ctx, m, start,
                                 gw_asl_pointer(p, sizeof(p), ptr,
                                                "StartAt"));
    if (m->start < 0) {
        return NULL;
    }

    for (n = 0; n < m->nstates; n++) {
        gw_asl_pointer(p, sizeof(p), sp, m->states[n].name);

        if (gw_asl_state_compile(ctx, &m->states[n], p, depth) != 0) {
            return NULL;
        }
    }

    if (gw_asl_graph_check(ctx, m, sp) != 0) {
        return NULL;
    }

    return m;
}


/*
 * A state name: 1 to GW_ASL_NAME_MAX characters, no control character
 * (a name is written in logs and histories), unique in the definition.
 */

static int
gw_asl_name_check(gw_asl_ctx_t *ctx, const char *name, size_t index,
    const char *ptr)
{
    size_t          n;
    const u_char   *c;

    n = gw_asl_utf8_len(name);

    if (n == 0 || n > GW_ASL_NAME_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a state name is 1 to %d characters, not %zu",
                            GW_ASL_NAME_MAX, n);
    }

    for (c = (const u_char *) name; *c != '\0'; c++) {
        if (*c < 0x20 || *c == 0x7f
            || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                                "a state name holds a control character");
        }
    }

    if (json_object_get(ctx->names, name) != NULL) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "the state name \"%s\" is used twice: names "
                            "are unique in the whole definition", name);
    }

    /* the name's index in its machine: transitions resolved at once */

    if (json_object_set_new(ctx->names, name, json_integer(index)) != 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, ptr,
                            "out of memory");
    }

    return 0;
}


int
gw_asl_def_target(gw_asl_ctx_t *ctx, gw_asl_machine_t *m, json_t *name,
    const char *ptr)
{
    int      i;
    json_t  *v;

    if (!json_is_string(name)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a state name is a string");
    }

    i = -1;
    v = json_object_get(ctx->names, json_string_value(name));

    if (v != NULL) {
        i = (int) json_integer_value(v);

        if ((size_t) i >= m->nstates || m->states[i].name == NULL
            || strcmp(m->states[i].name, json_string_value(name)) != 0)
        {
            i = -1;
        }
    }

    if (i < 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "no state \"%s\" in this state machine%s",
                            json_string_value(name),
                            m->parent != NULL ? " (a branch or a Map "
                            "processor is a machine of its own)" : "");
    }

    return i;
}


void
gw_asl_def_free(gw_asl_def_t *def)
{
    size_t          i;
    gw_asl_pool_t  *pool;

    if (def == NULL) {
        return;
    }

    pool = def->pool;

    if (pool != NULL) {
        for (i = 0; i < pool->nrules; i++) {
            gw_asl_rule_free(pool->rules[i]);
        }

        for (i = 0; i < pool->n; i++) {
            free(pool->ptrs[i]);
        }

        free(pool->rules);
        free(pool->ptrs);
        free(pool);
    }

    json_decref(def->root);
    free(def);
}


int
gw_asl_pool_rule(gw_asl_ctx_t *ctx, gw_asl_rule_t *rule)
{
    size_t           n;
    gw_asl_pool_t   *pool;
    gw_asl_rule_t  **rules;

    pool = ctx->pool;

    if (pool->nrules == pool->rsize) {
        n = pool->rsize ? pool->rsize * 2 : 16;
        rules = realloc(pool->rules, n * sizeof(gw_asl_rule_t *));
        if (rules == NULL) {
            gw_asl_rule_free(rule);
            return gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, "",
                                "out of memory");
        }

        pool->rules = rules;
        pool->rsize = n;
    }

    pool->rules[pool->nrules++] = rule;

    return 0;
}


static int
gw_asl_ends_with(const char *s, const char *tail)
{
    size_t  n, t;

    n = strlen(s);
    t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}


void *
gw_asl_palloc(gw_asl_ctx_t *ctx, size_t size)
{
    void           *p, **ptrs;
    size_t          n;
    gw_asl_pool_t  *pool;

    pool = ctx->pool;

    if (pool->n == pool->size) {
        n = pool->size ? pool->size * 2 : 64;
        ptrs = realloc(pool->ptrs, n * sizeof(void *));
        if (ptrs == NULL) {
            gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, "", "out of memory");
            return NULL;
        }

        pool->ptrs = ptrs;
        pool->size = n;
    }

    p = calloc(1, size ? size : 1);
    if (p == NULL) {
        gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, "", "out of memory");
        return NULL;
    }

    pool->ptrs[pool->n++] = p;

    return p;
}


char *
gw_asl_pstrdup(gw_asl_ctx_t *ctx, const char *s)
{
    char    *p;
    size_t   len;

    len = strlen(s);

    p = gw_asl_palloc(ctx, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len + 1);

    return p;
}


/* buf may be ptr itself: the token is appended */

char *
gw_asl_pointer(char *buf, size_t size, const char *ptr, const char *token)
{
    size_t  n;

    n = strlen(ptr);

    if (n + 2 > size) {
        n = size - 2;
    }

    if (buf != ptr) {
        memcpy(buf, ptr, n);
    }

    buf[n++] = '/';

    for ( /* void */ ; *token != '\0' && n + 3 < size; token++) {
        if (*token == '~') {
            buf[n++] = '~';
            buf[n++] = '0';

        } else if (*token == '/') {
            buf[n++] = '~';
            buf[n++] = '1';

        } else {
            buf[n++] = *token;
        }
    }

    buf[n] = '\0';

    return buf;
}


char *
gw_asl_pointer_index(char *buf, size_t size, const char *ptr, size_t index)
{
    snprintf(buf, size, "%s/%zu", ptr, index);

    return buf;
}


size_t
gw_asl_utf8_len(const char *s)
{
    size_t  n;

    for (n = 0; *s != '\0'; s++) {
        if (((u_char) *s & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int
gw_asl_state_index(gw_asl_machine_t *m, const char *name)
{
    size_t  i;

    for (i = 0; i < m->nstates; i++) {
        if (m->states[i].name != NULL
            && strcmp(m->states[i].name, name) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


gw_asl_state_t *
gw_asl_state_find(gw_asl_machine_t *m, const char *name)
{
    int  i;

    if (m == NULL || name == NULL) {
        return NULL;
    }

    i = gw_asl_state_index(m, name);

    return i < 0 ? NULL : &m->states[i];
}


const char *
gw_asl_type_name(gw_asl_type_e type)
{
    static const char *const  names[] = {
        "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel",
        "Map"
    };

    if ((unsigned) type >= sizeof(names) / sizeof(names[0])) {
        return "";
    }

    return names[type];
}
