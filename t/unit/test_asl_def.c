
/*
 * Copyright (C) Tollgate
 *
 * Workflow definitions parsed, checked and compiled (lib/asl/gw_asl_def*.c,
 * docs/workflow-language.md).  Three parts:
 *   - the asl-validator corpus (../shared/data/asl-validator/definitions,
 *     or $GW_SHARED_DATA/asl-validator/definitions): valid-* must parse,
 *     invalid-* must be refused, files with "QueryLanguage": "JSONata"
 *     are refused whatever their prefix; the files whose verdict we hold
 *     wrong by the spec and AWS are listed below with the reason;
 *   - every check, each with the pointer and the cause it gives;
 *   - attacks: duplicate keys, one name in two encodings, huge numbers,
 *     10,001 states, Parallel nested 17 deep, JSON nested 65 deep,
 *     control bytes in names, a cycle without exit.
 */


#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


/* files whose verdict we hold wrong (follow AWS) */

static const struct {
    const char  *file;
    int          valid;
    const char  *why;
} disagree[] = {
    { "valid-cfn-definition-substitutions.json", 0,
      "\"${lambdaArn}\" is not a URI; CloudFormation substitutes it "
      "before Step Functions sees the definition, which refuses it as is" },
    { "valid-task-intrisic-function.json", 0,
      "a Resource of {\"Fn::GetAtt\": ...} or {\"Ref\": ...} is for "
      "CloudFormation to resolve; Step Functions takes a URI string" },
    { "valid-fail-paths.json", 0,
      "\"$field2\" is a variable (JSONPath variables, with Assign): "
      "Tollgate does not implement variables and refuses them" },
    { "valid-current-value-predicate.json", 0,
      "the filter [?(@.OutputKey == FooBar)] compares to a bare word: "
      "JSONPath (Jayway's, which AWS uses) takes quoted strings" },
    { NULL, 0, NULL }
};


/* the text grown by a printf; bail out past cap (a test bug) */

static __attribute__((format(printf, 3, 4))) char *
put(char *p, char *end, const char *fmt, ...)
{
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(p, end - p, fmt, args);
    va_end(args);

    if (n < 0 || n >= end - p) {
        bail_out("test text over its buffer");
    }

    return p + n;
}


static gw_asl_def_t *
parse(const char *text, gw_asl_err_t *err)
{
    memset(err, 0, sizeof(gw_asl_err_t));

    return gw_asl_def_parse(text, strlen(text), err);
}


/* text refused at pointer with a cause holding cause */

static void
refused(const char *name, const char *text, const char *pointer,
    const char *cause)
{
    gw_asl_def_t  *def;
    gw_asl_err_t   err;

    def = parse(text, &err);

    if (!ok(def == NULL && strcmp(err.error, GW_ASL_E_INVALID) == 0
            && strcmp(err.pointer, pointer) == 0
            && strstr(err.cause, cause) != NULL, "refused: %s", name))
    {
        diag("got %s: error '%s' pointer '%s' cause '%s'",
             def ? "accepted" : "refused", err.error, err.pointer,
             err.cause);
        diag("expected pointer '%s' cause with '%s'", pointer, cause);
    }

    gw_asl_def_free(def);
}


static void
accepted(const char *name, const char *text)
{
    gw_asl_def_t  *def;
    gw_asl_err_t   err;

    def = parse(text, &err);

    if (!ok(def != NULL, "accepted: %s", name)) {
        diag("refused at '%s': %s", err.pointer, err.cause);
    }

    gw_asl_def_free(def);
}


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    long   n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }

    buf[n] = '\0';
    *len = n;
    fclose(f);

    return buf;
}


static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
test_corpus(const char *dir)
{
    int              valid, jsonata, expect;
    DIR             *d;
    char             path[2048], *text, *names[512];
    size_t           i, j, n, len, passed;
    gw_asl_err_t     err;
    gw_asl_def_t    *def;
    struct dirent   *e;

    d = opendir(dir);
    if (d == NULL) {
        skip(1, "no asl-validator corpus: ../shared/data/asl-validator is "
             "absent (GW_SHARED_DATA)");
        return;
    }

    n = 0;

    while ((e = readdir(d)) != NULL && n < 512) {
        if (strstr(e->d_name, ".json") != NULL
            && (strncmp(e->d_name, "valid-", 6) == 0
                || strncmp(e->d_name, "invalid-", 8) == 0))
        {
            names[n] = strdup(e->d_name);
            if (names[n] == NULL) {
                bail_out("out of memory");
            }

            n++;
        }
    }

    closedir(d);
    qsort(names, n, sizeof(char *), name_cmp);

    ok(n >= 100, "the corpus has %zu files", n);

    passed = 0;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

        text = read_file(path, &len);
        if (text == NULL) {
            ok(0, "corpus %s: read", names[i]);
            continue;
        }

        valid = strncmp(names[i], "valid-", 6) == 0;
        jsonata = strstr(text, "\"JSONata\"") != NULL;
        expect = valid && !jsonata;

        for (j = 0; disagree[j].file != NULL; j++) {
            if (strcmp(disagree[j].file, names[i]) == 0) {
                expect = disagree[j].valid;
                diag("%s: %s", names[i], disagree[j].why);
            }
        }

        memset(&err, 0, sizeof(err));
        def = gw_asl_def_parse(text, len, &err);

        if (ok((def != NULL) == expect, "corpus %s: %s%s%s%s%s", names[i],
               expect ? "accepted" : "refused",
               jsonata ? " (JSONata)" : "", def ? "" : " at '",
               def ? "" : err.pointer, def ? "" : "'"))
        {
            passed++;

        } else {
            diag("%s at '%s': %s", def ? "accepted" : "refused",
                 err.pointer, err.cause);
        }

        if (def == NULL && jsonata && expect == 0) {
            ok(strstr(err.cause, "JSONPath") != NULL,
               "corpus %s: the cause says JSONPath only", names[i]);
        }

        gw_asl_def_free(def);
        free(text);
        free(names[i]);
    }

    diag("asl-validator corpus: %zu of %zu files as expected", passed, n);
}


static void
test_compiled(void)
{
    gw_asl_def_t      *def;
    gw_asl_err_t       err;
    gw_asl_state_t    *st, *p, *m;
    gw_asl_machine_t  *top;

    def = parse("{\"StartAt\": \"A\", \"Comment\": \"c\", \"Version\": \"1.0\","
                " \"TimeoutSeconds\": 60, \"States\": {"
                "\"A\": {\"Type\": \"Task\", \"Resource\": \"urn:x:y\","
                " \"Retry\": [{\"ErrorEquals\": [\"E1\", \"E2\"]},"
                "  {\"ErrorEquals\": [\"States.ALL\"], \"IntervalSeconds\": 2,"
                "   \"MaxAttempts\": 0, \"BackoffRate\": 1.5,"
                "   \"MaxDelaySeconds\": 10, \"JitterStrategy\": \"FULL\"}],"
                " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"],"
                "   \"Next\": \"F\", \"ResultPath\": \"$.e\"}],"
                " \"Next\": \"C\"},"
                "\"C\": {\"Type\": \"Choice\", \"Choices\": ["
                "  {\"Variable\": \"$.x\", \"NumericEquals\": 1,"
                "   \"Next\": \"P\"}], \"Default\": \"F\"},"
                "\"P\": {\"Type\": \"Parallel\", \"Branches\": ["
                "  {\"StartAt\": \"B1\", \"States\": {\"B1\": {\"Type\":"
                "   \"Succeed\"}}},"
                "  {\"StartAt\": \"B2\", \"States\": {\"B2\": {\"Type\":"
                "   \"Pass\", \"End\": true}}}], \"Next\": \"M\"},"
                "\"M\": {\"Type\": \"Map\", \"ItemsPath\": \"$.items\","
                " \"MaxConcurrency\": 2, \"ItemProcessor\": {\"StartAt\":"
                " \"I\", \"States\": {\"I\": {\"Type\": \"Pass\", \"End\":"
                " true}}}, \"End\": true},"
                "\"F\": {\"Type\": \"Fail\", \"Error\": \"E\"}}}", &err);

    if (!ok(def != NULL, "compiled: a definition of every kind")) {
        diag("refused at '%s': %s", err.pointer, err.cause);
        return;
    }

    top = def->top;
    is_int(def->nstates, 8, "compiled: 8 states in all machines");
    is_int(top->nstates, 5, "compiled: 5 at the top");
    ok(top->parent == NULL && strcmp(top->pointer, "") == 0
       && top->raw == def->root, "compiled: the top machine");

    st = gw_asl_state_find(top, "A");
    ok(st != NULL && st->type == GW_ASL_TASK
       && strcmp(st->resource, "urn:x:y") == 0 && st->machine == top
       && &top->states[st->index] == st && top->start == (int) st->index,
       "compiled: A is the Task at StartAt");
    ok(st->next == gw_asl_state_find(top, "C") - top->states && !st->end,
       "compiled: A's Next is C");

    is_int(st->nretry, 2, "compiled: two retriers");
    ok(st->retry[0].nerrors == 2 && strcmp(st->retry[0].errors[1], "E2") == 0
       && st->retry[0].interval == 1 && st->retry[0].max_attempts == 3
       && st->retry[0].backoff == 2.0 && st->retry[0].max_delay == 0
       && !st->retry[0].jitter_full, "compiled: a retrier's defaults");
    ok(st->retry[1].interval == 2 && st->retry[1].max_attempts == 0
       && st->retry[1].backoff == 1.5 && st->retry[1].max_delay == 10
       && st->retry[1].jitter_full, "compiled: a retrier's fields");
    ok(st->ncatches == 1
       && st->catches[0].next == gw_asl_state_find(top, "F") - top->states
       && json_is_string(st->catches[0].result_path),
       "compiled: the catcher");

    st = gw_asl_state_find(top, "C");
    ok(st->type == GW_ASL_CHOICE && st->nchoices == 1
       && st->choices[0] != NULL && st->next == -1
       && st->choice_next[0] == gw_asl_state_find(top, "P") - top->states
       && st->default_next == gw_asl_state_find(top, "F") - top->states,
       "compiled: the Choice, its rule and Default");

    p = gw_asl_state_find(top, "P");
    ok(p->nbranches == 2 && p->branches[0]->parent == top
       && p->branches[1]->nstates == 1
       && strcmp(p->branches[1]->pointer, "/States/P/Branches/1") == 0
       && p->branches[0]->states[0].end
       && p->branches[0]->states[0].type == GW_ASL_SUCCEED,
       "compiled: the Parallel's branches");
    ok(gw_asl_state_find(top, "B1") == NULL
       && gw_asl_state_find(p->branches[0], "B1") != NULL,
       "compiled: a branch's states are its own");

    m = gw_asl_state_find(top, "M");
    ok(m->processor != NULL && m->processor->parent == top
       && strcmp(m->processor->pointer, "/States/M/ItemProcessor") == 0
       && m->end && m->next == -1, "compiled: the Map's processor");

    st = gw_asl_state_find(top, "F");
    ok(st->type == GW_ASL_FAIL && st->end, "compiled: Fail is terminal");

    is_str(gw_asl_type_name(GW_ASL_MAP), "Map", "type name: Map");
    is_str(gw_asl_type_name((gw_asl_type_e) 99), "", "type name: unknown");
    ok(gw_asl_state_find(top, "nope") == NULL
       && gw_asl_state_find(NULL, "A") == NULL, "state find: none");

    gw_asl_def_free(def);
    gw_asl_def_free(NULL);
}


#define DEF_DEPTH  (4 + 4 * GW_ASL_DEPTH_MAX + GW_ASL_JSON_DEPTH_MAX)

#define ONE(state)                                                            \
    "{\"StartAt\": \"A\", \"States\": {\"A\": " state "}}"
#define TWO(state)                                                            \
    "{\"StartAt\": \"A\", \"States\": {\"A\": " state ","                    \
    " \"B\": {\"Type\": \"Succeed\"}}}"


static void
test_checks(void)
{
    refused("not JSON", "{", "", "not JSON");
    refused("not an object", "[]", "", "a JSON object");
    refused("no StartAt", "{\"States\": {\"A\": {\"Type\": \"Succeed\"}}}",
            "", "StartAt is missing");
    refused("no States", "{\"StartAt\": \"A\"}", "", "States");
    refused("empty States", "{\"StartAt\": \"A\", \"States\": {}}",
            "/States", "at least one state");
    refused("StartAt names nothing",
            "{\"StartAt\": \"B\", \"States\": {\"A\": {\"Type\":"
            " \"Succeed\"}}}",
            "/StartAt", "no state \"B\"");
    refused("StartAt not a string",
            "{\"StartAt\": 1, \"States\": {\"A\": {\"Type\": \"Succeed\"}}}",
            "/StartAt", "a string");
    refused("unknown top field",
            "{\"StartAt\": \"A\", \"Foo\": 1, \"States\": {\"A\": {\"Type\":"
            " \"Succeed\"}}}", "/Foo", "no field \"Foo\"");
    refused("top TimeoutSeconds 0",
            "{\"StartAt\": \"A\", \"TimeoutSeconds\": 0, \"States\": {\"A\":"
            " {\"Type\": \"Succeed\"}}}", "/TimeoutSeconds", "an integer");
    refused("Version not a string",
            "{\"StartAt\": \"A\", \"Version\": 1, \"States\": {\"A\":"
            " {\"Type\": \"Succeed\"}}}", "/Version", "a string");
    refused("QueryLanguage JSONata at the top",
            "{\"QueryLanguage\": \"JSONata\", \"StartAt\": \"A\", \"States\":"
            " {\"A\": {\"Type\": \"Succeed\"}}}", "/QueryLanguage",
            "only JSONPath");
    accepted("QueryLanguage JSONPath",
             "{\"QueryLanguage\": \"JSONPath\", \"StartAt\": \"A\", \"States\":"
             " {\"A\": {\"Type\": \"Succeed\", \"QueryLanguage\":"
             " \"JSONPath\"}}}");
    refused("QueryLanguage JSONata in a state",
            ONE("{\"Type\": \"Succeed\", \"QueryLanguage\": \"JSONata\"}"),
            "/States/A/QueryLanguage", "only JSONPath");
    refused("QueryLanguage JSONata in a branch",
            ONE("{\"Type\": \"Parallel\", \"Branches\": [{\"QueryLanguage\":"
                " \"JSONata\", \"StartAt\": \"X\", \"States\": {\"X\":"
                " {\"Type\": \"Succeed\"}}}], \"End\": true}"),
            "/States/A/Branches/0/QueryLanguage", "only JSONPath");
    refused("JSONata's Output field", ONE("{\"Type\": \"Succeed\", \"Output\":"
            " 1}"), "/States/A/Output", "JSONPath");
    refused("variables' Assign field", ONE("{\"Type\": \"Pass\", \"Assign\":"
            " {}, \"End\": true}"), "/States/A/Assign", "variables");

    refused("no Type", ONE("{}"), "/States/A", "no Type");
    refused("unknown Type", ONE("{\"Type\": \"Sleep\"}"), "/States/A/Type",
            "Type is one of");
    refused("a state not an object", ONE("[]"), "/States/A",
            "a state is a JSON object");
    refused("unknown field", ONE("{\"Type\": \"Pass\", \"End\": true,"
            " \"bugInputPath\": \"$\"}"), "/States/A/bugInputPath",
            "a Pass state has no field \"bugInputPath\"");
    refused("a field of another type", ONE("{\"Type\": \"Succeed\","
            " \"Resource\": \"a:b\"}"), "/States/A/Resource",
            "a Succeed state has no field");
    refused("Comment not a string", ONE("{\"Type\": \"Succeed\", \"Comment\":"
            " 1}"), "/States/A/Comment", "a string");

    refused("Next and End", TWO("{\"Type\": \"Pass\", \"Next\": \"B\","
            " \"End\": true}"), "/States/A", "not both");
    refused("neither Next nor End", ONE("{\"Type\": \"Pass\"}"),
            "/States/A", "Next or \"End\": true");
    refused("End false", ONE("{\"Type\": \"Pass\", \"End\": false}"),
            "/States/A", "Next or \"End\": true");
    refused("End not a boolean", ONE("{\"Type\": \"Pass\", \"End\": 1}"),
            "/States/A/End", "a boolean");
    refused("Next names nothing", ONE("{\"Type\": \"Pass\", \"Next\":"
            " \"Z\"}"), "/States/A/Next", "no state \"Z\"");
    refused("Next on Succeed", TWO("{\"Type\": \"Succeed\", \"Next\":"
            " \"B\"}"), "/States/A/Next", "no field");
    refused("unreachable", TWO("{\"Type\": \"Pass\", \"End\": true}"),
            "/States/B", "cannot be reached");
    refused("no terminal state",
            "{\"StartAt\": \"A\", \"States\": {"
            "\"A\": {\"Type\": \"Pass\", \"Next\": \"B\"},"
            "\"B\": {\"Type\": \"Pass\", \"Next\": \"A\"}}}",
            "/States/A", "never ends");
    refused("a cycle without exit",
            "{\"StartAt\": \"A\", \"States\": {"
            "\"A\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\":"
            " \"$.x\","
            " \"IsPresent\": true, \"Next\": \"B\"}], \"Default\": \"D\"},"
            "\"B\": {\"Type\": \"Task\", \"Resource\": \"a:b\", \"Next\":"
            " \"C\"},"
            "\"C\": {\"Type\": \"Wait\", \"Seconds\": 1, \"Next\": \"B\"},"
            "\"D\": {\"Type\": \"Succeed\"}}}",
            "/States/B", "a cycle without exit");
    accepted("a cycle with an exit through a catcher",
             "{\"StartAt\": \"B\", \"States\": {"
             "\"B\": {\"Type\": \"Task\", \"Resource\": \"a:b\", \"Next\":"
             " \"C\", \"Catch\": [{\"ErrorEquals\": [\"X\"], \"Next\":"
             " \"D\"}]},"
             "\"C\": {\"Type\": \"Wait\", \"Seconds\": 1, \"Next\": \"B\"},"
             "\"D\": {\"Type\": \"Fail\"}}}");

    refused("a name over 80 characters",
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\","
            " \"Next\": \"" "0123456789012345678901234567890123456789"
            "01234567890123456789012345678901234567890\"},"
            " \"0123456789012345678901234567890123456789"
            "01234567890123456789012345678901234567890\": {\"Type\":"
            " \"Succeed\"}}}",
            "/States/0123456789012345678901234567890123456789"
            "01234567890123456789012345678901234567890", "1 to 80");
    accepted("a name of 80 characters (not bytes)",
             "{\"StartAt\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
             "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9012345678901234567890123"
             "5678901234567890123456789012345678901234567890\","
             " \"States\": {\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
             "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9012345678901234567890123"
             "5678901234567890123456789012345678901234567890\":"
             " {\"Type\": \"Succeed\"}}}");
    refused("an empty name", "{\"StartAt\": \"\", \"States\": {\"\":"
            " {\"Type\": \"Succeed\"}}}", "/States/", "1 to 80");
    refused("a name with ~ and / is escaped in the pointer",
            "{\"StartAt\": \"a~/b\", \"States\": {\"a~/b\": {\"Type\":"
            " \"Pass\", \"End\": 3}}}", "/States/a~0~1b/End", "boolean");

    refused("Task without Resource", ONE("{\"Type\": \"Task\", \"End\":"
            " true}"), "/States/A", "a Resource");
    refused("Resource not a URI", ONE("{\"Type\": \"Task\", \"Resource\":"
            " \"${lambdaArn\", \"End\": true}"), "/States/A/Resource",
            "a URI");
    refused("Resource with a space", ONE("{\"Type\": \"Task\", \"Resource\":"
            " \"urn:a b\", \"End\": true}"), "/States/A/Resource", "space");
    refused("a Lambda ARN with an empty qualifier",
            ONE("{\"Type\": \"Task\", \"Resource\": \"arn:aws:lambda:r:1:"
                "function:F:\", \"End\": true}"), "/States/A/Resource",
            "Lambda");
    accepted("a Lambda ARN with $LATEST",
             ONE("{\"Type\": \"Task\", \"Resource\": \"arn:aws:lambda:r:1:"
                 "function:F:$LATEST\", \"End\": true}"));
    refused("TimeoutSeconds 0", ONE("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"TimeoutSeconds\": 0, \"End\": true}"),
            "/States/A/TimeoutSeconds", "an integer from 1");
    refused("TimeoutSeconds 1.5", ONE("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"TimeoutSeconds\": 1.5, \"End\": true}"),
            "/States/A/TimeoutSeconds", "an integer");
    refused("TimeoutSeconds and TimeoutSecondsPath",
            ONE("{\"Type\": \"Task\", \"Resource\": \"a:b\","
                " \"TimeoutSeconds\": 5, \"TimeoutSecondsPath\": \"$.t\","
                " \"End\": true}"), "/States/A/TimeoutSecondsPath",
            "exclude each other");
    refused("HeartbeatSeconds not below TimeoutSeconds",
            ONE("{\"Type\": \"Task\", \"Resource\": \"a:b\","
                " \"TimeoutSeconds\": 5, \"HeartbeatSeconds\": 5,"
                " \"End\": true}"), "/States/A/HeartbeatSeconds",
            "smaller than");
    accepted("HeartbeatSeconds below TimeoutSeconds",
             ONE("{\"Type\": \"Task\", \"Resource\": \"a:b\","
                 " \"TimeoutSeconds\": 5, \"HeartbeatSeconds\": 4,"
                 " \"End\": true}"));
    refused("Credentials null", ONE("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Credentials\": null, \"End\": true}"),
            "/States/A/Credentials", "a JSON object");

    refused("Wait with two durations", ONE("{\"Type\": \"Wait\", \"Seconds\":"
            " 1, \"SecondsPath\": \"$.s\", \"End\": true}"), "/States/A",
            "exactly one");
    refused("Wait with none", ONE("{\"Type\": \"Wait\", \"End\": true}"),
            "/States/A", "exactly one");
    refused("Wait Seconds -1", ONE("{\"Type\": \"Wait\", \"Seconds\": -1,"
            " \"End\": true}"), "/States/A/Seconds", "an integer from 0");
    refused("Wait Timestamp without a zone", ONE("{\"Type\": \"Wait\","
            " \"Timestamp\": \"2016-03-14T01:59:00\", \"End\": true}"),
            "/States/A/Timestamp", "RFC 3339");
    refused("Wait Timestamp with a lowercase t", ONE("{\"Type\": \"Wait\","
            " \"Timestamp\": \"2016-03-14t01:59:00Z\", \"End\": true}"),
            "/States/A/Timestamp", "RFC 3339");
    refused("Wait Timestamp on February 30", ONE("{\"Type\": \"Wait\","
            " \"Timestamp\": \"2016-02-30T01:59:00Z\", \"End\": true}"),
            "/States/A/Timestamp", "RFC 3339");
    accepted("Wait Timestamp with an offset and fractions",
             ONE("{\"Type\": \"Wait\", \"Timestamp\":"
                 " \"2016-02-29T01:59:00.123456+05:30\", \"End\": true}"));

    refused("Fail with Error and ErrorPath", ONE("{\"Type\": \"Fail\","
            " \"Error\": \"E\", \"ErrorPath\": \"$.e\"}"),
            "/States/A/ErrorPath", "exclude each other");
    refused("Fail with Cause and CausePath", ONE("{\"Type\": \"Fail\","
            " \"Cause\": \"C\", \"CausePath\": \"$.c\"}"),
            "/States/A/CausePath", "exclude each other");
    refused("Fail Error not a string", ONE("{\"Type\": \"Fail\","
            " \"Error\": 1}"), "/States/A/Error", "a string");

    refused("Choice without Choices", ONE("{\"Type\": \"Choice\"}"),
            "/States/A", "Choices");
    refused("Choice with End", TWO("{\"Type\": \"Choice\", \"Choices\":"
            " [{\"Variable\": \"$.a\", \"IsNull\": true, \"Next\": \"B\"}],"
            " \"End\": true}"), "/States/A/End", "no field");
    refused("a rule with End and no Next",
            TWO("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                " \"NumericEquals\": 1, \"End\": true}], \"Default\":"
                " \"B\"}"), "/States/A/Choices/0/End", "no field");
    refused("a rule's Next names nothing",
            TWO("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                " \"NumericEquals\": 1, \"Next\": \"Z\"}]}"),
            "/States/A/Choices/0/Next", "no state \"Z\"");
    refused("Default names nothing",
            TWO("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                " \"NumericEquals\": 1, \"Next\": \"B\"}], \"Default\":"
                " \"Z\"}"), "/States/A/Default", "no state \"Z\"");

    refused("Retry not an array", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": {}, \"Next\": \"B\"}"),
            "/States/A/Retry", "an array");
    refused("States.ALL with another name",
            TWO("{\"Type\": \"Task\", \"Resource\": \"a:b\", \"Retry\":"
                " [{\"ErrorEquals\": [\"X\", \"States.ALL\"]}], \"Next\":"
                " \"B\"}"), "/States/A/Retry/0/ErrorEquals/1", "alone");
    refused("States.ALL not in the last retrier",
            TWO("{\"Type\": \"Task\", \"Resource\": \"a:b\", \"Retry\":"
                " [{\"ErrorEquals\": [\"States.ALL\"]}, {\"ErrorEquals\":"
                " [\"X\"]}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/ErrorEquals/0", "last");
    refused("States.ALL not in the last catcher",
            TWO("{\"Type\": \"Task\", \"Resource\": \"a:b\", \"Catch\":"
                " [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"B\"},"
                " {\"ErrorEquals\": [\"X\"], \"Next\": \"B\"}], \"Next\":"
                " \"B\"}"), "/States/A/Catch/0/ErrorEquals/0", "last");
    refused("ErrorEquals empty", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": []}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/ErrorEquals", "non-empty");
    refused("ErrorEquals of a boolean", TWO("{\"Type\": \"Task\","
            " \"Resource\": \"a:b\", \"Catch\": [{\"ErrorEquals\": [true],"
            " \"Next\": \"B\"}], \"Next\": \"B\"}"),
            "/States/A/Catch/0/ErrorEquals/0", "a string");
    refused("IntervalSeconds 0", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"IntervalSeconds\": 0}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/IntervalSeconds", "from 1");
    refused("MaxAttempts -1", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"MaxAttempts\": -1}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/MaxAttempts", "from 0");
    refused("BackoffRate 0.5", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"BackoffRate\": 0.5}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/BackoffRate", "at least 1.0");
    refused("MaxDelaySeconds 0", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"MaxDelaySeconds\": 0}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/MaxDelaySeconds", "from 1");
    refused("JitterStrategy SOME", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"JitterStrategy\": \"SOME\"}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/JitterStrategy", "FULL");
    refused("a retrier's unknown field", TWO("{\"Type\": \"Task\","
            " \"Resource\": \"a:b\", \"Retry\": [{\"ErrorEquals\": [\"X\"],"
            " \"Next\": \"B\"}], \"Next\": \"B\"}"),
            "/States/A/Retry/0/Next", "no field");
    refused("a catcher without Next", TWO("{\"Type\": \"Task\", \"Resource\":"
            " \"a:b\", \"Catch\": [{\"ErrorEquals\": [\"X\"]}], \"Next\":"
            " \"B\"}"), "/States/A/Catch/0", "a Next");
    refused("Retry on a Pass", TWO("{\"Type\": \"Pass\", \"Retry\": [],"
            " \"Next\": \"B\"}"), "/States/A/Retry", "no field");

    refused("Parallel without Branches", ONE("{\"Type\": \"Parallel\","
            " \"End\": true}"), "/States/A", "Branches");
    refused("a branch not an object", ONE("{\"Type\": \"Parallel\","
            " \"Branches\": [[]], \"End\": true}"), "/States/A/Branches/0",
            "a JSON object");
    refused("a branch's Next leaves it",
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Parallel\","
            " \"Branches\": [{\"StartAt\": \"X\", \"States\": {\"X\":"
            " {\"Type\": \"Pass\", \"Next\": \"B\"}}}], \"Next\": \"B\"},"
            " \"B\": {\"Type\": \"Succeed\"}}}",
            "/States/A/Branches/0/States/X/Next", "machine of its own");
    refused("a branch's name used at the top",
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Parallel\","
            " \"Branches\": [{\"StartAt\": \"B\", \"States\": {\"B\":"
            " {\"Type\": \"Succeed\"}}}], \"Next\": \"B\"},"
            " \"B\": {\"Type\": \"Succeed\"}}}",
            "/States/A/Branches/0/States/B", "used twice");
    refused("a branch with no terminal state",
            ONE("{\"Type\": \"Parallel\", \"Branches\": [{\"StartAt\": \"X\","
                " \"States\": {\"X\": {\"Type\": \"Pass\", \"Next\":"
                " \"X\"}}}], \"End\": true}"),
            "/States/A/Branches/0/States/X", "terminal");

    refused("Map without a processor", ONE("{\"Type\": \"Map\", \"End\":"
            " true}"), "/States/A", "ItemProcessor");
    refused("Map with both processors",
            ONE("{\"Type\": \"Map\", \"ItemProcessor\": {}, \"Iterator\": {},"
                " \"End\": true}"), "/States/A/Iterator",
            "exclude each other");
    refused("MaxConcurrency -1",
            ONE("{\"Type\": \"Map\", \"MaxConcurrency\": -1, \"ItemProcessor\":"
                " {\"StartAt\": \"X\", \"States\": {\"X\": {\"Type\":"
                " \"Succeed\"}}}, \"End\": true}"),
            "/States/A/MaxConcurrency", "from 0");
    refused("ToleratedFailurePercentage 105",
            ONE("{\"Type\": \"Map\", \"ToleratedFailurePercentage\": 105,"
                " \"ItemProcessor\": {\"StartAt\": \"X\", \"States\": {\"X\":"
                " {\"Type\": \"Succeed\"}}}, \"End\": true}"),
            "/States/A/ToleratedFailurePercentage", "0 to 100");
    refused("ProcessorConfig Mode bad",
            ONE("{\"Type\": \"Map\", \"ItemProcessor\": {\"ProcessorConfig\":"
                " {\"Mode\": \"FAST\"}, \"StartAt\": \"X\", \"States\":"
                " {\"X\": {\"Type\": \"Succeed\"}}}, \"End\": true}"),
            "/States/A/ItemProcessor/ProcessorConfig/Mode", "INLINE");
    refused("Iterator's ProcessorConfig ExecutionType bad",
            ONE("{\"Type\": \"Map\", \"Iterator\": {\"ProcessorConfig\":"
                " {\"ExecutionType\": \"FAST\"}, \"StartAt\": \"X\","
                " \"States\": {\"X\": {\"Type\": \"Succeed\"}}}, \"End\":"
                " true}"),
            "/States/A/Iterator/ProcessorConfig/ExecutionType", "STANDARD");
    refused("a branch with ProcessorConfig",
            ONE("{\"Type\": \"Parallel\", \"Branches\": [{\"ProcessorConfig\":"
                " {}, \"StartAt\": \"X\", \"States\": {\"X\": {\"Type\":"
                " \"Succeed\"}}}], \"End\": true}"),
            "/States/A/Branches/0/ProcessorConfig", "no field");
    refused("Map ItemSelector and Parameters",
            ONE("{\"Type\": \"Map\", \"ItemSelector\": {}, \"Parameters\": {},"
                " \"ItemProcessor\": {\"StartAt\": \"X\", \"States\": {\"X\":"
                " {\"Type\": \"Succeed\"}}}, \"End\": true}"),
            "/States/A/Parameters", "exclude each other");

    refused("a template's field twice (\"a\" and \"a.$\")",
            ONE("{\"Type\": \"Pass\", \"Parameters\": {\"x\": [{\"a\": 1,"
                " \"a.$\": \"$.a\"}]}, \"End\": true}"),
            "/States/A/Parameters/x/0/a.$", "name one field");
    refused("ResultSelector not an object",
            ONE("{\"Type\": \"Task\", \"Resource\": \"a:b\","
                " \"ResultSelector\": [], \"End\": true}"),
            "/States/A/ResultSelector", "a JSON object");
    refused("InputPath not a string", ONE("{\"Type\": \"Pass\", \"InputPath\":"
            " 1, \"End\": true}"), "/States/A/InputPath", "a Path");
    accepted("InputPath, OutputPath, ResultPath null",
             ONE("{\"Type\": \"Pass\", \"InputPath\": null, \"OutputPath\":"
                 " null, \"ResultPath\": null, \"End\": true}"));
    refused("ItemsPath null", ONE("{\"Type\": \"Map\", \"ItemsPath\": null,"
            " \"ItemProcessor\": {\"StartAt\": \"X\", \"States\": {\"X\":"
            " {\"Type\": \"Succeed\"}}}, \"End\": true}"),
            "/States/A/ItemsPath", "Reference Path");
}


static void
test_attacks(void)
{
    char          *text, *p, *end;
    size_t         i, cap;
    gw_asl_err_t   err;
    gw_asl_def_t  *def;

    refused("duplicate keys",
            "{\"StartAt\": \"A\", \"StartAt\": \"A\", \"States\": {\"A\":"
            " {\"Type\": \"Succeed\"}}}", "", "duplicate");
    refused("one name in two encodings",
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"},"
            " \"\\u0041\": {\"Type\": \"Succeed\"}}}", "", "duplicate");
    refused("a huge integer",
            ONE("{\"Type\": \"Wait\", \"Seconds\":"
                " 123456789012345678901234567890,"
                " \"End\": true}"), "", "not JSON");
    refused("a huge real",
            ONE("{\"Type\": \"Wait\", \"Seconds\": 1e400, \"End\": true}"),
            "", "not JSON");
    refused("Seconds past the cap",
            ONE("{\"Type\": \"Wait\", \"Seconds\": 9223372036854775807,"
                " \"End\": true}"), "/States/A/Seconds", "99999999");
    refused("NUL in a name",
            "{\"StartAt\": \"A\\u0000\", \"States\": {\"A\\u0000\":"
            " {\"Type\": \"Succeed\"}}}", "", "not JSON");
    refused("a raw control byte in a name",
            "{\"StartAt\": \"A\x01\", \"States\": {\"A\x01\":"
            " {\"Type\": \"Succeed\"}}}", "", "not JSON");
    refused("an escaped control character in a name",
            "{\"StartAt\": \"A\\u0007\", \"States\": {\"A\\u0007\":"
            " {\"Type\": \"Succeed\"}}}", "/States/A\x07",
            "control character");
    refused("a C1 control character in a name",
            "{\"StartAt\": \"A\\u0085\", \"States\": {\"A\\u0085\":"
            " {\"Type\": \"Succeed\"}}}", "/States/A\xc2\x85",
            "control character");

    memset(&err, 0, sizeof(err));
    ok(gw_asl_def_parse("{}", GW_ASL_DEF_MAX + 1, &err) == NULL
       && strstr(err.cause, "over the cap") != NULL,
       "refused: a definition over GW_ASL_DEF_MAX bytes");
    ok(gw_asl_def_parse(NULL, 0, &err) == NULL, "refused: no text");
    ok(gw_asl_def_parse("[", 1, NULL) == NULL, "refused: err NULL");

    /* JSON nested 132 deep (16 levels of Parallel and a value of 64)
     * passes the measure, 133 does not */

    cap = 4096;
    text = malloc(cap);
    if (text == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < 2; i++) {
        size_t  depth, k, n;

        depth = DEF_DEPTH + i;
        n = (size_t) snprintf(text, cap, "{\"StartAt\": \"A\", \"States\":"
                              " {\"A\": {\"Type\": \"Pass\", \"End\": true,"
                              " \"Result\": ");

        /* the root, States and A are 3 levels */

        for (k = 0; k < depth - 3; k++) {
            text[n++] = '[';
        }

        for (k = 0; k < depth - 3; k++) {
            text[n++] = ']';
        }

        memcpy(text + n, "}}}", 4);

        memset(&err, 0, sizeof(err));
        def = gw_asl_def_parse(text, strlen(text), &err);

        if (i == 0) {
            /* past the parse's cap's reach: the Result's own cap decides */
            ok(def == NULL && strstr(err.cause, "Result nested over 64")
                              != NULL,
               "JSON nested %d deep: parsed, its Result refused", DEF_DEPTH);

        } else {
            ok(def == NULL && strstr(err.cause, "nested over 132") != NULL,
               "refused: JSON nested %d deep", DEF_DEPTH + 1);
        }

        gw_asl_def_free(def);
    }

    free(text);

    /* Parallel nested 16 deep passes, 17 does not */

    for (i = 0; i < 2; i++) {
        size_t  depth, k;

        depth = GW_ASL_DEPTH_MAX + i;
        cap = 200 * (depth + 2);
        text = malloc(cap);
        if (text == NULL) {
            bail_out("out of memory");
        }

        p = text;
        end = text + cap;
        p = put(p, end, "{\"StartAt\": \"S0\", \"States\": ");

        for (k = 0; k < depth; k++) {
            p = put(p, end, "{\"S%zu\": {\"Type\": \"Parallel\", \"End\":"
                         " true, \"Branches\": [{\"StartAt\": \"S%zu\","
                         " \"States\": ", k, k + 1);
        }

        p = put(p, end, "{\"S%zu\": {\"Type\": \"Succeed\"}}", depth);

        for (k = 0; k < depth; k++) {
            p = put(p, end, "}]}}");
        }

        p = put(p, end, "}");

        memset(&err, 0, sizeof(err));
        def = gw_asl_def_parse(text, p - text, &err);

        if (i == 0) {
            if (!ok(def != NULL, "accepted: Parallel nested %d deep",
                    GW_ASL_DEPTH_MAX))
            {
                diag("refused at '%s': %s", err.pointer, err.cause);
            }

        } else {
            ok(def == NULL && strstr(err.cause, "nested over 16") != NULL,
               "refused: Parallel nested %d deep", GW_ASL_DEPTH_MAX + 1);
        }

        gw_asl_def_free(def);
        free(text);
    }

    /* 10,000 states pass, 10,001 do not */

    for (i = 0; i < 2; i++) {
        size_t  n, k;

        n = GW_ASL_STATES_MAX + i;
        cap = 80 * (n + 2);
        text = malloc(cap);
        if (text == NULL) {
            bail_out("out of memory");
        }

        p = text;
        end = text + cap;
        p = put(p, end, "{\"StartAt\": \"s0\", \"States\": {");

        for (k = 0; k + 1 < n; k++) {
            p = put(p, end, "\"s%zu\": {\"Type\": \"Pass\", \"Next\":"
                         " \"s%zu\"},", k, k + 1);
        }

        p = put(p, end, "\"s%zu\": {\"Type\": \"Succeed\"}}}", n - 1);

        memset(&err, 0, sizeof(err));
        def = gw_asl_def_parse(text, p - text, &err);

        if (i == 0) {
            if (!ok(def != NULL && def->nstates == n,
                    "accepted: %zu states in a chain", n))
            {
                diag("refused at '%s': %s", err.pointer, err.cause);
            }

        } else {
            ok(def == NULL && strcmp(err.pointer, "/States") == 0
               && strstr(err.cause, "over 10000 states") != NULL,
               "refused: %zu states", n);
        }

        gw_asl_def_free(def);
        free(text);
    }

    /* 10,001 states over several machines */

    cap = 100 * (GW_ASL_STATES_MAX + 10);
    text = malloc(cap);
    if (text == NULL) {
        bail_out("out of memory");
    }

    p = text;
    end = text + cap;
    p = put(p, end, "{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\":"
                 " \"Parallel\", \"End\": true, \"Branches\": [");

    for (i = 0; i < 2; i++) {
        size_t  k;

        p = put(p, end, "%s{\"StartAt\": \"b%zu_0\", \"States\": {",
                     i ? "," : "", i);

        for (k = 0; k + 1 < GW_ASL_STATES_MAX / 2; k++) {
            p = put(p, end, "\"b%zu_%zu\": {\"Type\": \"Pass\", \"Next\":"
                         " \"b%zu_%zu\"},", i, k, i, k + 1);
        }

        p = put(p, end, "\"b%zu_%zu\": {\"Type\": \"Succeed\"}}}", i, k);
    }

    p = put(p, end, "]}}}");

    memset(&err, 0, sizeof(err));
    def = gw_asl_def_parse(text, p - text, &err);
    ok(def == NULL && strstr(err.cause, "over 10000 states") != NULL,
       "refused: 10,001 states over a Parallel's branches");
    gw_asl_def_free(def);
    free(text);
}


int
main(void)
{
    char         dir[1024];
    const char  *env;

    env = getenv("GW_SHARED_DATA");
    snprintf(dir, sizeof(dir), "%s/asl-validator/definitions",
             env != NULL ? env : "../shared/data");

    test_compiled();
    test_checks();
    test_attacks();
    test_corpus(dir);

    return done_testing();
}
