
/*
 * Copyright (C) Tollgate
 *
 * The workflow command's offline half (docs/workflow.md): the language
 * alone, run in memory from the command line, with no Redis and no
 * service (wf_main.c hands "check" and "run" over to wf_cli()).
 *
 *   workflow check FILE
 *       the definition in FILE parsed and checked (gw_asl_def_parse):
 *       "ok: N states" and exit 0, or the refusal as one JSON line
 *       {"error", "pointer", "cause"} on stdout and exit 1.
 *
 *   workflow run FILE [-i INPUT_FILE | -j INPUT_JSON] [-m MOCKS_FILE]
 *                [-c CONTEXT_FILE] [--history] [--max-transitions N]
 *       an execution in memory (gw_asl_run_local), tasks answered by
 *       the mocks: the result as one line of compact JSON with sorted
 *       keys (stable for diffs), {"result", "history"} with --history;
 *       exit 0 when it succeeded, 1 when it failed.
 *
 * Exit 2 for a usage error, a file that cannot be read, a file that is
 * not JSON, or a definition, input, mocks or context past its cap (the
 * definition GW_ASL_DEF_MAX, the input GW_ASL_PAYLOAD_MAX as compact
 * JSON); a definition refused by run prints the refusal as check does.
 * Nothing here knows the language: every rule is lib/asl's.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf.h"


#define WF_READ_MAX   (4 * GW_ASL_PAYLOAD_MAX)  /* bytes of an input,
                                                   mocks or context
                                                   file, spaces
                                                   included */
#define WF_DUMP_FLAGS  (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)


static void wf_usage(void);
static char *wf_read(const char *path, size_t max, size_t *len);
static json_t *wf_load(const char *what, const char *text, size_t len);
static json_t *wf_load_file(const char *what, const char *path);
static int wf_depth_ok(json_t *v, int depth);
static int wf_print(json_t *v);
static int wf_print_refusal(const gw_asl_err_t *err);
static gw_asl_def_t *wf_def(const char *path, int *rc);
static int wf_check(int argc, char **argv);
static int wf_run(int argc, char **argv);


static void
wf_usage(void)
{
    fprintf(stderr,
        "usage: workflow check FILE\n"
        "       workflow run FILE [-i INPUT_FILE | -j INPUT_JSON]"
        " [-m MOCKS_FILE]\n"
        "                [-c CONTEXT_FILE] [--history]"
        " [--max-transitions N]\n");
}


/*
 * The whole of the file at path ("-": stdin), NUL-terminated, in a
 * malloc'ed buffer; *len its length.  A file longer than max bytes is
 * read up to max + 1 bytes only, so that the caller sees it is past its
 * cap without reading it all.  NULL (and a message) when unreadable.
 */

static char *
wf_read(const char *path, size_t max, size_t *len)
{
    FILE    *f;
    char    *buf;
    size_t   n, size;

    buf = NULL;

    if (strcmp(path, "-") == 0) {
        f = stdin;

    } else {
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "workflow: %s: %s\n", path, strerror(errno));
            return NULL;
        }
    }

    size = max + 2;

    buf = malloc(size);
    if (buf == NULL) {
        fprintf(stderr, "workflow: %s: out of memory\n", path);
        goto failed;
    }

    n = fread(buf, 1, size - 1, f);

    if (ferror(f)) {
        fprintf(stderr, "workflow: %s: read error\n", path);
        goto failed;
    }

    buf[n] = '\0';
    *len = n;

    if (f != stdin) {
        fclose(f);
    }

    return buf;

failed:

    free(buf);

    if (f != stdin) {
        fclose(f);
    }

    return NULL;
}


/* text parsed as any JSON value, duplicate keys refused; NULL with a
 * message naming what it is */

static json_t *
wf_load(const char *what, const char *text, size_t len)
{
    json_t        *v;
    json_error_t   jerr;

    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                   &jerr);
    if (v == NULL) {
        fprintf(stderr, "workflow: %s: not JSON: %s (line %d, column %d)\n",
                what, jerr.text, jerr.line, jerr.column);
        return NULL;
    }

    if (!wf_depth_ok(v, 0)) {
        fprintf(stderr, "workflow: %s: nested deeper than %d levels\n",
                what, GW_ASL_JSON_DEPTH_MAX);
        json_decref(v);
        return NULL;
    }

    return v;
}


static json_t *
wf_load_file(const char *what, const char *path)
{
    char    *text;
    size_t   len;
    json_t  *v;

    text = wf_read(path, WF_READ_MAX, &len);
    if (text == NULL) {
        return NULL;
    }

    if (len > WF_READ_MAX) {
        fprintf(stderr, "workflow: %s %s: larger than %d bytes\n",
                what, path, WF_READ_MAX);
        free(text);
        return NULL;
    }

    v = wf_load(what, text, len);
    free(text);

    return v;
}


/* 1 when v nests at most GW_ASL_JSON_DEPTH_MAX levels; the recursion is
 * bounded by that cap (and jansson's parser bounds v's depth anyway) */

static int
wf_depth_ok(json_t *v, int depth)
{
    size_t       i;
    json_t      *m;
    const char  *key;

    if (!json_is_object(v) && !json_is_array(v)) {
        return 1;
    }

    if (depth >= GW_ASL_JSON_DEPTH_MAX) {
        return 0;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (!wf_depth_ok(m, depth + 1)) {
                return 0;
            }
        }

        return 1;
    }

    json_object_foreach(v, key, m) {
        if (!wf_depth_ok(m, depth + 1)) {
            return 0;
        }
    }

    return 1;
}


/* v as one line of compact JSON, keys sorted; -1 when it cannot */

static int
wf_print(json_t *v)
{
    char  *s;

    s = json_dumps(v, WF_DUMP_FLAGS);
    if (s == NULL) {
        fprintf(stderr, "workflow: out of memory\n");
        return -1;
    }

    printf("%s\n", s);
    free(s);

    return 0;
}


static int
wf_print_refusal(const gw_asl_err_t *err)
{
    int      rc;
    json_t  *v;

    v = json_pack("{s:s, s:s, s:s}",
                  "error", err->error[0] ? err->error : GW_ASL_E_INVALID,
                  "pointer", err->pointer, "cause", err->cause);
    if (v == NULL) {
        fprintf(stderr, "workflow: out of memory\n");
        return -1;
    }

    rc = wf_print(v);
    json_decref(v);

    return rc;
}


/*
 * The definition in path parsed and checked.  NULL with *rc set: 1 when
 * refused (the refusal printed), 2 when it could not be read.  A file
 * past GW_ASL_DEF_MAX is a refusal too: Step Functions refuses such a
 * definition the same way it refuses any other invalid one.
 */

static gw_asl_def_t *
wf_def(const char *path, int *rc)
{
    char          *text;
    size_t         len;
    gw_asl_err_t   err;
    gw_asl_def_t  *def;

    text = wf_read(path, GW_ASL_DEF_MAX, &len);
    if (text == NULL) {
        *rc = 2;
        return NULL;
    }

    memset(&err, 0, sizeof(gw_asl_err_t));

    if (len > GW_ASL_DEF_MAX) {
        free(text);
        (void) gw_asl_error(&err, GW_ASL_E_INVALID, "",
                            "the definition is larger than %d bytes",
                            GW_ASL_DEF_MAX);
        *rc = wf_print_refusal(&err) == 0 ? 1 : 2;
        return NULL;
    }

    def = gw_asl_def_parse(text, len, &err);
    free(text);

    if (def == NULL) {
        *rc = wf_print_refusal(&err) == 0 ? 1 : 2;
        return NULL;
    }

    return def;
}


static int
wf_check(int argc, char **argv)
{
    int            rc;
    gw_asl_def_t  *def;

    if (argc != 3) {
        wf_usage();
        return 2;
    }

    def = wf_def(argv[2], &rc);
    if (def == NULL) {
        return rc;
    }

    printf("ok: %zu states\n", def->nstates);
    gw_asl_def_free(def);

    return 0;
}


static int
wf_run(int argc, char **argv)
{
    int            i, rc, history;
    char          *s, *end;
    size_t         max;
    json_t        *input, *mocks, *context, *result, *events, *out, *st;
    const char    *def_path, *input_path, *input_json, *mocks_path;
    const char    *context_path;
    gw_asl_def_t  *def;
    unsigned long  n;

    def_path = NULL;
    input_path = NULL;
    input_json = NULL;
    mocks_path = NULL;
    context_path = NULL;
    history = 0;
    max = 0;

    input = NULL;
    mocks = NULL;
    context = NULL;
    events = NULL;
    result = NULL;
    def = NULL;
    rc = 2;

    for (i = 2; i < argc; i++) {

        if (strcmp(argv[i], "--history") == 0) {
            history = 1;
            continue;
        }

        if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            if (def_path != NULL) {
                goto usage;
            }

            def_path = argv[i];
            continue;
        }

        if (i + 1 >= argc) {
            goto usage;
        }

        if (strcmp(argv[i], "-i") == 0 && input_json == NULL) {
            input_path = argv[++i];

        } else if (strcmp(argv[i], "-j") == 0 && input_path == NULL) {
            input_json = argv[++i];

        } else if (strcmp(argv[i], "-m") == 0) {
            mocks_path = argv[++i];

        } else if (strcmp(argv[i], "-c") == 0) {
            context_path = argv[++i];

        } else if (strcmp(argv[i], "--max-transitions") == 0) {
            errno = 0;
            n = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i]
                || argv[i][0] == '-' || n > 100000000)
            {
                fprintf(stderr, "workflow: --max-transitions: not a"
                        " number from 0 to 100000000: \"%s\"\n", argv[i]);
                return 2;
            }

            max = (size_t) n;

        } else {
            goto usage;
        }
    }

    if (def_path == NULL) {
        goto usage;
    }

    if (input_path != NULL) {
        input = wf_load_file("input", input_path);

    } else if (input_json != NULL) {
        if (strlen(input_json) > WF_READ_MAX) {
            fprintf(stderr, "workflow: input: larger than %d bytes\n",
                    WF_READ_MAX);
            goto done;
        }

        input = wf_load("input", input_json, strlen(input_json));

    } else {
        input = json_object();
    }

    if (input == NULL) {
        goto done;
    }

    s = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        fprintf(stderr, "workflow: out of memory\n");
        goto done;
    }

    n = strlen(s);
    free(s);

    if (n > GW_ASL_PAYLOAD_MAX) {
        fprintf(stderr, "workflow: input: %lu bytes as compact JSON,"
                " larger than the payload cap of %d bytes"
                " (States.DataLimitExceeded)\n", n, GW_ASL_PAYLOAD_MAX);
        goto done;
    }

    if (mocks_path != NULL) {
        mocks = wf_load_file("mocks", mocks_path);
        if (mocks == NULL) {
            goto done;
        }

        if (!json_is_object(mocks)) {
            fprintf(stderr, "workflow: mocks: not an object of state"
                    " names\n");
            goto done;
        }

    } else {
        mocks = json_object();
        if (mocks == NULL) {
            goto done;
        }
    }

    if (context_path != NULL) {
        context = wf_load_file("context", context_path);
        if (context == NULL) {
            goto done;
        }

        if (!json_is_object(context)) {
            fprintf(stderr, "workflow: context: not an object"
                    " ({\"Execution\": {...}, \"StateMachine\": {...}})\n");
            goto done;
        }
    }

    def = wf_def(def_path, &rc);
    if (def == NULL) {
        rc = 2;
        goto done;
    }

    rc = 2;

    if (history) {
        events = json_array();
        if (events == NULL) {
            goto done;
        }
    }

    result = gw_asl_run_local(def, input, mocks, context, events, max);
    if (result == NULL) {
        fprintf(stderr, "workflow: the run failed (out of memory)\n");
        goto done;
    }

    st = json_object_get(result, "status");

    if (history) {
        out = json_pack("{s:O, s:O}", "result", result, "history", events);
        if (out == NULL) {
            fprintf(stderr, "workflow: out of memory\n");
            goto done;
        }

    } else {
        out = json_incref(result);
    }

    if (wf_print(out) == 0) {
        rc = (json_is_string(st)
              && strcmp(json_string_value(st), "SUCCEEDED") == 0)
             ? 0 : 1;
    }

    json_decref(out);

done:

    json_decref(result);
    json_decref(events);
    json_decref(context);
    json_decref(mocks);
    json_decref(input);

    if (def != NULL) {
        gw_asl_def_free(def);
    }

    return rc;

usage:

    wf_usage();
    return 2;
}


int
wf_cli(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        return wf_check(argc, argv);
    }

    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        return wf_run(argc, argv);
    }

    wf_usage();
    return 2;
}
