
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the definitions of the workflow language
 * (lib/asl/gw_asl.h: gw_asl_def_parse, gw_asl_run_local,
 * gw_asl_def_free).  The input is a definition's text.  Checked against
 * the contract:
 *
 *   - a refusal is States.InvalidDefinition with a pointer that is ""
 *     or starts with "/" and, when the text is JSON, names a value of it
 *     or a member missing from an object or array of it; the cause and
 *     the pointer of a UTF-8 text are UTF-8;
 *   - an accepted definition is a JSON object of at most GW_ASL_DEF_MAX
 *     bytes; its machines' StartAt and every Next, Default and catcher
 *     Next name a state of their machine; state names are 1 to
 *     GW_ASL_NAME_MAX characters; at most GW_ASL_STATES_MAX states;
 *   - an accepted definition runs, at most 1000 transitions: with
 *     input {} and no mocks, then over a fixed input with every Task
 *     answered by an error first, then by a value; each run answers
 *     {"status": "SUCCEEDED", "output": ...} with an output of at most
 *     GW_ASL_PAYLOAD_MAX bytes or {"status": "FAILED", "error": "...",
 *     "cause": "..."}, and its history is an array of events with a
 *     "type", ending with the execution's end;
 *   - the definition frees cleanly (LeakSanitizer).
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "asl_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_ctx[] =
    "{\"Id\": \"arn:aws:states:::execution:m:e\", \"Name\": \"e\","
    " \"StartTime\": \"2026-01-01T00:00:00Z\"}";

static const char  fuzz_input[] =
    "{\"x\": 2, \"s\": \"abc\", \"b\": true, \"n\": null,"
    " \"t\": \"2026-01-01T00:00:00Z\", \"items\": [1, {\"v\": 2}, \"3\"],"
    " \"o\": {\"a\": [1, 2]}, \"e\": \"E\", \"c\": \"cause\"}";

static const char  fuzz_answers[] =
    "[{\"Throw\": {\"Error\": \"Fuzz.Error\", \"Cause\": \"first\"}},"
    " {\"Return\": {\"ok\": 1, \"items\": [1, 2], \"s\": \"x\"}}]";


/* the value at JSON pointer ptr in doc; *parent: 1 when only the value
 * above it is there (the pointer names a missing member) */

static json_t *
fuzz_pointer(json_t *doc, const char *ptr, int *parent)
{
    char           *end;
    size_t          n;
    json_t         *cur, *next;
    const char     *p;
    unsigned long   i;
    char            key[GW_ASL_POINTER_MAX];

    cur = doc;
    p = ptr;
    *parent = 0;

    while (*p == '/') {
        p++;
        n = 0;

        while (*p != '/' && *p != '\0') {
            if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
                key[n++] = (p[1] == '0') ? '~' : '/';
                p += 2;

            } else {
                key[n++] = *p++;
            }
        }

        key[n] = '\0';

        if (json_is_object(cur)) {
            next = json_object_getn(cur, key, n);

        } else if (json_is_array(cur) && n > 0 && key[0] >= '0'
                   && key[0] <= '9')
        {
            i = strtoul(key, &end, 10);
            next = (*end == '\0') ? json_array_get(cur, i) : NULL;

        } else {
            next = NULL;
        }

        if (next == NULL) {
            if (*p == '\0' && (json_is_object(cur) || json_is_array(cur))) {
                *parent = 1;
                return cur;
            }

            return NULL;
        }

        cur = next;
    }

    return cur;
}


/* UTF-8 characters of s */

static size_t
fuzz_chars(const char *s)
{
    size_t  n;

    for (n = 0; *s != '\0'; s++) {
        if (((unsigned char) *s & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


/* each machine's states checked, the Task names put in mocks */

static void
fuzz_machine(gw_asl_machine_t *m, json_t *mocks, json_t *answers,
    size_t *total, unsigned depth)
{
    size_t           i, k, len;
    gw_asl_state_t  *st;

    if (m == NULL || depth > GW_ASL_DEPTH_MAX + 1 || m->nstates == 0
        || m->start < 0 || (size_t) m->start >= m->nstates)
    {
        abort();
    }

    *total += m->nstates;

    for (i = 0; i < m->nstates; i++) {
        st = &m->states[i];

        len = (st->name != NULL) ? fuzz_chars(st->name) : 0;

        if (len < 1 || len > GW_ASL_NAME_MAX || st->machine != m
            || st->index != i || st->next >= (int) m->nstates
            || st->default_next >= (int) m->nstates
            || (st->next < 0 && !st->end && st->type != GW_ASL_CHOICE))
        {
            abort();
        }

        for (k = 0; k < st->nchoices; k++) {
            if (st->choice_next[k] < 0
                || st->choice_next[k] >= (int) m->nstates)
            {
                abort();
            }
        }

        for (k = 0; k < st->ncatches; k++) {
            if (st->catches[k].next < 0
                || st->catches[k].next >= (int) m->nstates)
            {
                abort();
            }
        }

        if (st->nretry > GW_ASL_RETRIERS_MAX) {
            abort();
        }

        if (st->type == GW_ASL_TASK
            && json_object_set(mocks, st->name, answers) != 0)
        {
            abort();
        }

        for (k = 0; k < st->nbranches; k++) {
            fuzz_machine(st->branches[k], mocks, answers, total, depth + 1);
        }

        if (st->type == GW_ASL_MAP) {
            fuzz_machine(st->processor, mocks, answers, total, depth + 1);
        }
    }
}


static void
fuzz_run(gw_asl_def_t *def, const char *input, json_t *mocks, json_t *ctx)
{
    size_t       n;
    json_t      *in, *res, *history, *ev, *v;
    const char  *status, *type;

    in = json_loads(input, 0, NULL);
    history = json_array();

    if (in == NULL || history == NULL) {
        abort();
    }

    res = gw_asl_run_local(def, in, mocks, ctx, history, 1000);

    if (!json_is_object(res)) {
        abort();
    }

    fuzz_json_ok(res);
    fuzz_json_ok(history);

    status = json_string_value(json_object_get(res, "status"));

    if (status == NULL) {
        abort();
    }

    if (strcmp(status, "SUCCEEDED") == 0) {
        v = json_object_get(res, "output");

        if (v == NULL || fuzz_size(v) > GW_ASL_PAYLOAD_MAX) {
            abort();
        }

        type = "ExecutionSucceeded";

    } else if (strcmp(status, "FAILED") == 0) {
        v = json_object_get(res, "error");

        /* a Fail state may name no error: "" */

        if (!json_is_string(v)
            || !json_is_string(json_object_get(res, "cause")))
        {
            abort();
        }

        type = "ExecutionFailed";

    } else {
        abort();
    }

    n = json_array_size(history);

    if (n < 2) {
        abort();
    }

    ev = json_array_get(history, n - 1);

    if (!json_is_string(json_object_get(ev, "type"))
        || strcmp(json_string_value(json_object_get(ev, "type")), type) != 0)
    {
        abort();
    }

    json_array_foreach(history, n, ev) {
        if (!json_is_string(json_object_get(ev, "type"))) {
            abort();
        }
    }

    json_decref(res);
    json_decref(history);
    json_decref(in);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              parent;
    size_t           total;
    json_t          *doc, *mocks, *answers, *ctx;
    gw_asl_def_t    *def;
    gw_asl_err_t     err;

    if (size > GW_ASL_DEF_MAX + 1024) {
        return 0;
    }

    memset(&err, 0, sizeof(gw_asl_err_t));

    def = gw_asl_def_parse((const char *) data, size, &err);

    if (def == NULL) {
        if (strcmp(err.error, GW_ASL_E_INVALID) != 0
            || memchr(err.pointer, '\0', sizeof(err.pointer)) == NULL
            || memchr(err.cause, '\0', sizeof(err.cause)) == NULL
            || (err.pointer[0] != '\0' && err.pointer[0] != '/'))
        {
            abort();
        }

        if (fuzz_utf8((const char *) data, size)
            && (!fuzz_utf8(err.cause, strlen(err.cause))
                || !fuzz_utf8(err.pointer, strlen(err.pointer))))
        {
            abort();                /* a UTF-8 text, a cause that is not */
        }

        doc = json_loadb((const char *) data, size,
                         JSON_REJECT_DUPLICATES, NULL);

        if (doc != NULL) {
            if (fuzz_pointer(doc, err.pointer, &parent) == NULL) {
                abort();            /* the pointer names nothing */
            }

            json_decref(doc);
        }

        return 0;
    }

    doc = json_loadb((const char *) data, size, 0, NULL);

    if (size > GW_ASL_DEF_MAX || !json_is_object(doc) || def->top == NULL
        || def->root == NULL || !json_equal(doc, def->root))
    {
        abort();
    }

    json_decref(doc);

    mocks = json_object();
    answers = json_loads(fuzz_answers, 0, NULL);
    ctx = json_loads(fuzz_ctx, 0, NULL);

    if (mocks == NULL || answers == NULL || ctx == NULL) {
        abort();
    }

    fuzz_run(def, "{}", mocks, NULL);

    total = 0;
    fuzz_machine(def->top, mocks, answers, &total, 0);

    if (total != def->nstates || total > GW_ASL_STATES_MAX) {
        abort();
    }

    fuzz_run(def, fuzz_input, mocks, ctx);

    json_decref(mocks);
    json_decref(answers);
    json_decref(ctx);

    gw_asl_def_free(def);

    return 0;
}
