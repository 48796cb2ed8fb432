
/*
 * Copyright (C) Tollgate
 *
 * The metadata service's JSON Patch generator (md_diff(),
 * backends/metadata/metadata_diff.c): every patch is checked by
 * applying it, with the RFC 6902 add, remove and replace written here
 * from the RFC (a second reading, independent of the generator), and
 * comparing the result with the target; then the exact patches of
 * hand-made cases (pointer escapes, arrays by index or whole, the whole
 * document), then many random pairs of documents.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"
#include "tap.h"


#define TEST_RANDOM_PAIRS  2000


static json_t *apply_patch(json_t *doc, json_t *patch, int *gone);
static int apply_op(json_t **root, json_t *op, int *gone);
static char *pointer_token(const char **p);
static int patch_turns(json_t *a, json_t *b, const char *name);
static void patch_is(const char *a, const char *b, const char *expect,
    const char *name);
static json_t *random_value(int depth);
static json_t *random_mutation(json_t *v, int depth);


static unsigned long long  seed = 0x5eed15ULL;


static unsigned
rnd(unsigned n)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;

    return (unsigned) ((seed >> 33) % n);
}


/*
 * RFC 6901: the next reference token of a pointer at *p ("/a~1b..."),
 * unescaped (~1 before ~0, so "~01" is "~1"); NULL when malformed or out
 * of memory.
 */

static char *
pointer_token(const char **p)
{
    char        *t;
    size_t       n;
    const char  *s;

    s = *p + 1;
    t = malloc(strlen(s) + 1);
    if (t == NULL) {
        return NULL;
    }

    n = 0;

    while (*s != '\0' && *s != '/') {
        if (*s == '~') {
            if (s[1] != '0' && s[1] != '1') {
                free(t);
                return NULL;
            }

            t[n++] = (s[1] == '0') ? '~' : '/';
            s += 2;
            continue;
        }

        t[n++] = *s++;
    }

    t[n] = '\0';
    *p = s;

    return t;
}


/* an array index token: digits without a leading zero; -1 otherwise */

static long
array_index(const char *t)
{
    char  *end;
    long   i;

    if (t[0] < '0' || t[0] > '9' || (t[0] == '0' && t[1] != '\0')) {
        return -1;
    }

    i = strtol(t, &end, 10);

    return (*end == '\0') ? i : -1;
}


static int
apply_op(json_t **root, json_t *op, int *gone)
{
    int          rc;
    char        *tok;
    long         i;
    json_t      *parent, *value, *next;
    const char  *name, *path, *p;

    name = json_string_value(json_object_get(op, "op"));
    path = json_string_value(json_object_get(op, "path"));
    value = json_object_get(op, "value");

    if (name == NULL || path == NULL) {
        return -1;
    }

    if (strcmp(name, "remove") != 0 && value == NULL) {
        return -1;
    }

    if (path[0] == '\0') {
        json_decref(*root);

        if (strcmp(name, "remove") == 0) {
            *root = NULL;
            *gone = 1;
            return 0;
        }

        *root = json_deep_copy(value);
        *gone = 0;
        return (*root != NULL) ? 0 : -1;
    }

    if (*root == NULL || path[0] != '/') {
        return -1;
    }

    /* walk to the parent of the last token */

    parent = *root;
    p = path;

    for ( ;; ) {
        tok = pointer_token(&p);
        if (tok == NULL) {
            return -1;
        }

        if (*p == '\0') {
            break;
        }

        next = json_is_object(parent) ? json_object_get(parent, tok)
               : json_is_array(parent) && array_index(tok) >= 0
                 ? json_array_get(parent, array_index(tok)) : NULL;
        free(tok);

        if (next == NULL) {
            return -1;
        }

        parent = next;
    }

    rc = -1;

    if (json_is_object(parent)) {
        if (strcmp(name, "add") == 0) {
            rc = json_object_set_new(parent, tok, json_deep_copy(value));

        } else if (json_object_get(parent, tok) == NULL) {
            rc = -1;

        } else if (strcmp(name, "remove") == 0) {
            rc = json_object_del(parent, tok);

        } else if (strcmp(name, "replace") == 0) {
            rc = json_object_set_new(parent, tok, json_deep_copy(value));
        }

    } else if (json_is_array(parent)) {
        i = (strcmp(tok, "-") == 0) ? (long) json_array_size(parent)
                                    : array_index(tok);

        if (i < 0) {
            rc = -1;

        } else if (strcmp(name, "add") == 0) {
            rc = ((size_t) i > json_array_size(parent)) ? -1
                 : json_array_insert_new(parent, i, json_deep_copy(value));

        } else if ((size_t) i >= json_array_size(parent)) {
            rc = -1;

        } else if (strcmp(name, "remove") == 0) {
            rc = json_array_remove(parent, i);

        } else if (strcmp(name, "replace") == 0) {
            rc = json_array_set_new(parent, i, json_deep_copy(value));
        }
    }

    free(tok);

    return rc;
}


/* a copy of doc (NULL: none) with the patch applied; *gone: removed */

static json_t *
apply_patch(json_t *doc, json_t *patch, int *gone)
{
    size_t   i;
    json_t  *root;

    root = (doc != NULL) ? json_deep_copy(doc) : NULL;
    *gone = (doc == NULL);

    for (i = 0; i < json_array_size(patch); i++) {
        if (apply_op(&root, json_array_get(patch, i), gone) != 0) {
            json_decref(root);
            *gone = -1;
            return NULL;
        }
    }

    return root;
}


/* 1 when md_diff(a, b) applied to a gives b */

static int
patch_turns(json_t *a, json_t *b, const char *name)
{
    int      gone, pass;
    char    *s;
    json_t  *patch, *got;

    patch = md_diff(a, b);
    if (patch == NULL) {
        return ok(0, "%s: a patch", name);
    }

    got = apply_patch(a, patch, &gone);

    pass = (b == NULL) ? (gone == 1 && got == NULL)
                       : (got != NULL && json_equal(got, b));

    if (!pass) {
        s = json_dumps(patch, JSON_COMPACT);
        diag("patch: %s", s != NULL ? s : "?");
        free(s);
    }

    json_decref(got);
    json_decref(patch);

    return pass;
}


/* the exact patch from a to b (JSON texts; "" : none) */

static void
patch_is(const char *a, const char *b, const char *expect, const char *name)
{
    char    *s;
    json_t  *ja, *jb, *patch;

    ja = (*a != '\0') ? json_loads(a, JSON_DECODE_ANY, NULL) : NULL;
    jb = (*b != '\0') ? json_loads(b, JSON_DECODE_ANY, NULL) : NULL;

    if ((*a != '\0' && ja == NULL) || (*b != '\0' && jb == NULL)) {
        bail_out("a test document does not parse");
    }

    patch = md_diff(ja, jb);
    s = (patch != NULL) ? json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS)
                        : NULL;

    is_str(s, expect, "%s: the patch", name);
    ok(patch_turns(ja, jb, name), "%s: applied, it gives the target", name);

    free(s);
    json_decref(patch);
    json_decref(ja);
    json_decref(jb);
}


static const char  *names[] = {
    "a", "b", "c", "tags", "a/b", "m~n", "~1", "", "x y", "\xc3\xa9"
};


static json_t *
random_value(int depth)
{
    size_t   i, n;
    json_t  *v;

    switch (depth > 3 ? rnd(4) : rnd(7)) {

    case 0:
        return json_integer(rnd(5));

    case 1:
        return json_string(names[rnd(10)]);

    case 2:
        return rnd(2) ? json_true() : json_null();

    case 3:
        return json_real(rnd(3) / 2.0);

    case 4:
    case 5:
        v = json_object();
        n = rnd(5);

        for (i = 0; v != NULL && i < n; i++) {
            json_object_set_new(v, names[rnd(10)], random_value(depth + 1));
        }

        return v;

    default:
        v = json_array();
        n = rnd(5);

        for (i = 0; v != NULL && i < n; i++) {
            json_array_append_new(v, random_value(depth + 1));
        }

        return v;
    }
}


/* a changed copy: members and elements added, removed, changed, kept */

static json_t *
random_mutation(json_t *v, int depth)
{
    size_t       i, n;
    json_t      *c, *m;
    const char  *key;

    if (rnd(6) == 0) {
        return random_value(depth);
    }

    if (json_is_object(v)) {
        c = json_object();

        json_object_foreach(v, key, m) {
            if (c == NULL || rnd(5) == 0) {
                continue;
            }

            json_object_set_new(c, key, rnd(2) ? random_mutation(m, depth + 1)
                                               : json_deep_copy(m));
        }

        if (c != NULL && rnd(3) == 0) {
            json_object_set_new(c, names[rnd(10)], random_value(depth + 1));
        }

        return c;
    }

    if (json_is_array(v)) {
        c = json_array();
        n = json_array_size(v);

        for (i = 0; c != NULL && i < n; i++) {
            if (rnd(6) == 0) {
                continue;
            }

            m = json_array_get(v, i);
            json_array_append_new(c, rnd(3) ? json_deep_copy(m)
                                            : random_mutation(m, depth + 1));
        }

        if (c != NULL && rnd(3) == 0) {
            json_array_insert_new(c, rnd(json_array_size(c) + 1),
                                  random_value(depth + 1));
        }

        return c;
    }

    return json_deep_copy(v);
}


int
main(void)
{
    int      i, fails;
    json_t  *a, *b;

    /* equal documents, meta members, the whole document */

    patch_is("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", "[]",
             "equal");
    patch_is("{\"id\":\"r1\",\"paths\":[\"/a\"],\"updated_by\":\"x\"}",
             "{\"id\":\"r1\",\"paths\":[\"/a\"],\"updated_by\":\"y\","
             "\"tags\":[\"t\"]}",
             "[{\"op\":\"add\",\"path\":\"/tags\",\"value\":[\"t\"]},"
             "{\"op\":\"replace\",\"path\":\"/updated_by\",\"value\":\"y\"}]",
             "members added and replaced, in name order");
    patch_is("{\"a\":1,\"b\":2}", "{\"b\":2}",
             "[{\"op\":\"remove\",\"path\":\"/a\"}]", "a member removed");
    patch_is("", "{\"a\":1}",
             "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"a\":1}}]",
             "created: the whole document added");
    patch_is("{\"a\":1}", "", "[{\"op\":\"remove\",\"path\":\"\"}]",
             "deleted: the whole document removed");
    patch_is("", "", "[]", "nothing to nothing");
    patch_is("{\"a\":1}", "[1]",
             "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
             "another type: replaced");
    patch_is("{\"a\":1}", "{\"a\":1.0}",
             "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1.0}]",
             "an integer and a real differ");

    /* nested objects: only the leaf */

    patch_is("{\"h\":{\"c\":{\"n\":1,\"m\":2}}}",
             "{\"h\":{\"c\":{\"n\":3,\"m\":2}}}",
             "[{\"op\":\"replace\",\"path\":\"/h/c/n\",\"value\":3}]",
             "nested: the leaf replaced");
    patch_is("{\"h\":{\"c\":1}}", "{\"h\":null}",
             "[{\"op\":\"replace\",\"path\":\"/h\",\"value\":null}]",
             "an object replaced by null");

    /* RFC 6901 escapes: ~ as ~0, / as ~1, "~1" as ~01, "" as "/" */

    patch_is("{\"a/b\":1,\"m~n\":1,\"~1\":1,\"\":1}",
             "{\"a/b\":2,\"m~n\":2,\"~1\":2,\"\":2}",
             "[{\"op\":\"replace\",\"path\":\"/\",\"value\":2},"
             "{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":2},"
             "{\"op\":\"replace\",\"path\":\"/m~0n\",\"value\":2},"
             "{\"op\":\"replace\",\"path\":\"/~01\",\"value\":2}]",
             "pointer escapes");
    patch_is("{\"p\":{\"/\":{\"~\":0}}}", "{\"p\":{\"/\":{}}}",
             "[{\"op\":\"remove\",\"path\":\"/p/~1/~0\"}]",
             "escapes at every level");

    /* arrays by index, or whole when cheaper */

    patch_is("{\"t\":[\"a\",\"b\"]}", "{\"t\":[\"a\",\"b\",\"c\",\"d\"]}",
             "[{\"op\":\"add\",\"path\":\"/t/2\",\"value\":\"c\"},"
             "{\"op\":\"add\",\"path\":\"/t/3\",\"value\":\"d\"}]",
             "array: a tail added in order");
    patch_is("{\"t\":[1,2,3,4,5]}", "{\"t\":[1,2,3]}",
             "[{\"op\":\"remove\",\"path\":\"/t/4\"},"
             "{\"op\":\"remove\",\"path\":\"/t/3\"}]",
             "array: a tail removed from the end down");
    patch_is("{\"t\":[1,{\"w\":1,\"h\":\"a\"},3]}",
             "{\"t\":[1,{\"w\":5,\"h\":\"a\"},3]}",
             "[{\"op\":\"replace\",\"path\":\"/t/1/w\",\"value\":5}]",
             "array: into an element");
    patch_is("{\"t\":[1,2,3]}", "{\"t\":[0,1,2,3]}",
             "[{\"op\":\"replace\",\"path\":\"/t\",\"value\":[0,1,2,3]}]",
             "array: an insert at the front replaces it whole");
    patch_is("{\"t\":[1,2,3]}", "{\"t\":[]}",
             "[{\"op\":\"replace\",\"path\":\"/t\",\"value\":[]}]",
             "array: emptied, replaced whole");
    patch_is("{\"t\":[1]}", "{\"t\":[]}",
             "[{\"op\":\"remove\",\"path\":\"/t/0\"}]",
             "array: its one element removed");

    /* random pairs, including whole-document adds and removes */

    fails = 0;

    for (i = 0; i < TEST_RANDOM_PAIRS; i++) {
        a = (i % 50 == 0) ? NULL : random_value(0);
        b = (i % 50 == 25) ? NULL
            : (a != NULL && rnd(8) != 0) ? random_mutation(a, 0)
            : random_value(0);

        if ((i % 50 != 0 && a == NULL) || (i % 50 != 25 && b == NULL)) {
            bail_out("out of memory");
        }

        if (!patch_turns(a, b, "random")) {
            fails++;
        }

        json_decref(a);
        json_decref(b);
    }

    is_int(fails, 0, "%d random pairs: every patch gives its target",
           TEST_RANDOM_PAIRS);

    return done_testing();
}
