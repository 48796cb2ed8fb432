
/*
 * Copyright (C) Tollgate
 *
 * JSON-Schema-Test-Suite runner for lib/jsonschema:
 *
 *   runner SUITE DRAFT [-v]
 *
 * runs every file under SUITE/tests/DRAFT/ (DRAFT is draft2020-12 or
 * draft7), with the files of SUITE/remotes/ registered as
 * http://localhost:1234/<path>, nothing fetched.  Files under optional/
 * are counted apart; those under optional/format/ run with "format" as
 * an assertion.  Each test validates three times: without and with
 * error collection, and, from the instance written out as text, in one
 * pass (gw_schema_check(), the gateway's first look at a body); every
 * verdict must agree with the suite, and an invalid verdict with errors
 * asked for must come with at least one error.
 *
 * Failures are printed one per line (all of them with -v, the first 50
 * otherwise); the last line is "N passed, N failed" for the required
 * tests.  Exits 1 when a required test failed, 0 otherwise, also when
 * the suite is absent (it says so and skips).
 */


#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw_schema.h"


#define GW_RUNNER_REMOTE  "http://localhost:1234/"


typedef struct {
    char    *uri;
    json_t  *doc;
} remote_t;


static gw_schema_doc_t  one_pass;    /* gw_schema_check()'s scratch */


typedef struct {
    size_t  passed;
    size_t  failed;
} tally_t;


static remote_t  *remotes;
static size_t     nremotes;
static size_t     remotes_alloc;
static int        verbose;
static size_t     shown;

static tally_t    required;
static tally_t    optional;


/*
 * data as text, its reals with the fewest digits (15, 16 or 17) that
 * read back as the same values: as the suite writes them, since the one
 * pass decides on a number as written, and 1.1 written with 17 digits is
 * 1.1000000000000001, above 1.1.  NULL: out of memory.
 */

static char *
dump(const json_t *data)
{
    int      prec;
    char    *text;
    json_t  *back;

    for (prec = 15; prec <= 17; prec++) {
        text = json_dumps(data, JSON_ENCODE_ANY | JSON_COMPACT
                                | JSON_REAL_PRECISION(prec));
        if (text == NULL) {
            return NULL;
        }

        back = json_loads(text, JSON_DECODE_ANY, NULL);

        if (prec == 17 || (back != NULL && json_equal(back, data))) {
            json_decref(back);
            return text;
        }

        json_decref(back);
        free(text);
    }

    return NULL;
}


static json_t *
load(const char *path)
{
    long           n;
    FILE          *f;
    char          *buf;
    json_t        *j;
    json_error_t   e;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);

    buf = malloc(n + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }

    if (fread(buf, 1, n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);

    j = gw_schema_json_loadb(buf, n, JSON_ALLOW_NUL, &e);
    if (j == NULL) {
        fprintf(stderr, "%s: %s\n", path, e.text);
    }

    free(buf);

    return j;
}


static int
is_dir(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}


/* calls fn for every .json file under dir, in name order */

static int
walk(const char *dir, const char *rel, int (*fn)(const char *path,
    const char *rel))
{
    int              i, count, rc;
    char             path[4096], sub[4096];
    struct dirent  **list;

    count = scandir(dir, &list, NULL, alphasort);
    if (count < 0) {
        perror(dir);
        return -1;
    }

    rc = 0;

    for (i = 0; i < count; i++) {
        if (rc == 0 && list[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
            snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "",
                     list[i]->d_name);

            if (is_dir(path)) {
                rc = walk(path, sub, fn);

            } else if (strlen(sub) > 5
                       && strcmp(sub + strlen(sub) - 5, ".json") == 0)
            {
                rc = fn(path, sub);
            }
        }

        free(list[i]);
    }

    free(list);

    return rc;
}


static int
add_remote(const char *path, const char *rel)
{
    size_t     n;
    remote_t  *r;

    if (nremotes == remotes_alloc) {
        r = realloc(remotes, (remotes_alloc * 2 + 16) * sizeof(remote_t));
        if (r == NULL) {
            return -1;
        }

        remotes = r;
        remotes_alloc = remotes_alloc * 2 + 16;
    }

    n = strlen(GW_RUNNER_REMOTE) + strlen(rel) + 1;

    remotes[nremotes].uri = malloc(n);
    if (remotes[nremotes].uri == NULL) {
        return -1;
    }

    snprintf(remotes[nremotes].uri, n, "%s%s", GW_RUNNER_REMOTE, rel);

    remotes[nremotes].doc = load(path);
    if (remotes[nremotes].doc == NULL) {
        free(remotes[nremotes].uri);
        return -1;
    }

    nremotes++;

    return 0;
}


static void
report(const char *rel, json_t *c, json_t *t, const char *why)
{
    if (!verbose && shown >= 50) {
        return;
    }

    shown++;

    printf("FAIL %s: %s / %s: %s\n", rel,
           json_string_value(json_object_get(c, "description")),
           t != NULL ? json_string_value(json_object_get(t, "description"))
                     : "(all)",
           why);
}


static int  draft;


static int
run_file(const char *path, const char *rel)
{
    int                 opt, fmt, expect, v1, v2, v3;
    char               *text;
    size_t              i, j, k;
    json_t             *doc, *c, *tests, *t;
    tally_t            *tally;
    gw_schema_t        *s;
    gw_schema_opts_t    opts;
    gw_schema_cerr_t    err;
    gw_schema_result_t  res;

    opt = (strncmp(rel, "optional/", 9) == 0);
    fmt = (strncmp(rel, "optional/format/", 16) == 0);
    tally = opt ? &optional : &required;

    doc = load(path);
    if (doc == NULL) {
        return -1;
    }

    json_array_foreach(doc, i, c) {
        tests = json_object_get(c, "tests");

        memset(&opts, 0, sizeof(opts));
        opts.draft = draft;
        opts.format_assert = fmt;

        s = gw_schema_new(&opts);
        if (s == NULL) {
            json_decref(doc);
            return -1;
        }

        for (k = 0; k < nremotes; k++) {
            if (gw_schema_add(s, remotes[k].uri, remotes[k].doc, &err) != 0)
            {
                fprintf(stderr, "%s: %s\n", remotes[k].uri, err.message);
                gw_schema_free(s);
                json_decref(doc);
                return -1;
            }
        }

        if (gw_schema_compile(s, json_object_get(c, "schema"), &err) != 0) {
            char  why[600];

            snprintf(why, sizeof(why), "compile: %s: %s", err.pointer,
                     err.message);
            report(rel, c, NULL, why);
            tally->failed += json_array_size(tests);
            gw_schema_free(s);
            continue;
        }

        json_array_foreach(tests, j, t) {
            expect = json_is_true(json_object_get(t, "valid"));

            memset(&res, 0, sizeof(res));

            v1 = gw_schema_validate(s, json_object_get(t, "data"), NULL);
            v2 = gw_schema_validate(s, json_object_get(t, "data"), &res);

            text = dump(json_object_get(t, "data"));
            v3 = (text == NULL) ? -1
                 : gw_schema_check(s, &one_pass, text, strlen(text),
                                   JSON_DECODE_ANY | JSON_ALLOW_NUL
                                   | JSON_REJECT_DUPLICATES, 0);
            free(text);

            if (v1 == expect && v2 == expect && v3 == expect
                && (expect || res.nerrors > 0))
            {
                tally->passed++;

            } else {
                char  why[200];

                snprintf(why, sizeof(why), "expected %s, got %d/%d/%d"
                         " (%zu errors)", expect ? "valid" : "invalid", v1,
                         v2, v3, res.nerrors);
                report(rel, c, t, why);
                tally->failed++;
            }

            if (verbose && res.nerrors > 0) {
                for (k = 0; k < res.nerrors; k++) {
                    printf("    %s %s: %s\n",
                           res.errors[k].instance_location,
                           res.errors[k].keyword_location,
                           res.errors[k].message);
                }
            }

            gw_schema_result_free(&res);
        }

        gw_schema_free(s);
    }

    json_decref(doc);

    return 0;
}


int
main(int argc, char **argv)
{
    int     rc;
    char    path[4096];
    size_t  i;

    if (argc < 3) {
        fprintf(stderr, "usage: %s SUITE draft2020-12|draft7 [-v]\n",
                argv[0]);
        return 2;
    }

    verbose = (argc > 3 && strcmp(argv[3], "-v") == 0);

    if (strcmp(argv[2], "draft2020-12") == 0) {
        draft = GW_SCHEMA_DRAFT_2020_12;

    } else if (strcmp(argv[2], "draft7") == 0) {
        draft = GW_SCHEMA_DRAFT_07;

    } else {
        fprintf(stderr, "%s: unknown draft \"%s\"\n", argv[0], argv[2]);
        return 2;
    }

    snprintf(path, sizeof(path), "%s/tests/%s", argv[1], argv[2]);

    if (!is_dir(path)) {
        printf("conformance: %s not found, skipped\n", path);
        return 0;
    }

    snprintf(path, sizeof(path), "%s/remotes", argv[1]);

    if (is_dir(path) && walk(path, "", add_remote) != 0) {
        return 1;
    }

    snprintf(path, sizeof(path), "%s/tests/%s", argv[1], argv[2]);

    rc = walk(path, "", run_file);

    for (i = 0; i < nremotes; i++) {
        free(remotes[i].uri);
        json_decref(remotes[i].doc);
    }

    free(remotes);

    if (rc != 0) {
        return 1;
    }

    printf("%s optional: %zu passed, %zu failed\n", argv[2],
           optional.passed, optional.failed);
    printf("%s required: %zu passed, %zu failed\n", argv[2],
           required.passed, required.failed);
    printf("%zu passed, %zu failed\n", required.passed, required.failed);

    return required.failed != 0;
}
