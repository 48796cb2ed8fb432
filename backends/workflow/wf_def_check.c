
/*
 * Copyright (C) Tollgate
 *
 * A definition's body checked before it is stored (wf_api.h:
 * wf_def_check), and the audit events of the API's writes (wf_audit).
 *
 * The definition is parsed by lib/asl from its compact text, exactly as
 * `workflow check` parses a file, so that what the service stores is
 * what the command accepts; a refusal is answered with lib/asl's
 * pointer (under /definition) and cause.  Then every Task's resource,
 * in every machine (Parallel branches, Map processors), must be one the
 * tasks know (wf_task_valid), unless the service is in test mode, where
 * mocks answer any; and "compensation" must name a top-level state.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


static void wf_def_pointer(char *buf, size_t size, const char *base,
    const char *s);
static int wf_def_tasks(gw_svc_req_t *req, gw_asl_machine_t *m);


/* the JSON pointer token of s ("~" and "/" escaped) appended to buf */

static void
wf_def_pointer(char *buf, size_t size, const char *base, const char *s)
{
    size_t  n;

    n = (size_t) snprintf(buf, size, "/definition%s/States/", base);

    for ( /* void */ ; *s != '\0' && n + 3 < size; s++) {
        if (*s == '~' || *s == '/') {
            buf[n++] = '~';
            buf[n++] = (*s == '~') ? '0' : '1';

        } else {
            buf[n++] = *s;
        }
    }

    buf[n < size ? n : size - 1] = '\0';
}


/* every Task's resource of m and of the machines in it; -1 answered */

static int
wf_def_tasks(gw_svc_req_t *req, gw_asl_machine_t *m)
{
    char             res[1024], ptr[GW_ASL_POINTER_MAX + 32], detail[1200];
    size_t           i, j, n;
    gw_asl_state_t  *st;

    for (i = 0; i < m->nstates; i++) {
        st = &m->states[i];

        if (st->type == GW_ASL_TASK && st->resource != NULL) {
            n = strlen(st->resource);

            if (n >= sizeof(res)) {
                n = sizeof(res) - 1;
            }

            memcpy(res, st->resource, n);
            res[n] = '\0';

            if (n > 17 && strcmp(res + n - 17, ".waitForTaskToken") == 0) {
                res[n - 17] = '\0';
            }

            if (!wf_task_valid(res)) {
                wf_def_pointer(ptr, sizeof(ptr) - 10, m->pointer, st->name);
                strcat(ptr, "/Resource");
                snprintf(detail, sizeof(detail), "unknown Task resource "
                         "\"%.900s\"", st->resource);
                gw_svc_reply_problem_extra(req, 422, "invalid-definition",
                                 "Invalid definition", detail,
                                 json_pack("{s:s, s:s}", "pointer", ptr,
                                           "cause", detail));
                return -1;
            }
        }

        for (j = 0; j < st->nbranches; j++) {
            if (wf_def_tasks(req, st->branches[j]) != 0) {
                return -1;
            }
        }

        if (st->processor != NULL && wf_def_tasks(req, st->processor) != 0) {
            return -1;
        }
    }

    return 0;
}


json_t *
wf_def_check(gw_svc_req_t *req, json_t *body)
{
    char           *text;
    size_t          len;
    json_t         *def, *comp, *desc, *doc;
    const char     *k;
    gw_asl_err_t    err;
    gw_asl_def_t   *asl;

    json_object_foreach(body, k, def) {
        if (strcmp(k, "name") != 0 && strcmp(k, "definition") != 0
            && strcmp(k, "compensation") != 0
            && strcmp(k, "description") != 0)
        {
            gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "unknown member: the body holds name, "
                             "definition, compensation, description",
                             json_pack("{s:s+}", "pointer", "/", k));
            return NULL;
        }
    }

    def = json_object_get(body, "definition");
    comp = json_object_get(body, "compensation");
    desc = json_object_get(body, "description");

    if (!json_is_object(def)) {
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "definition must be an object",
                             json_pack("{s:s}", "pointer", "/definition"));
        return NULL;
    }

    if (desc != NULL
        && (!json_is_string(desc) || json_string_length(desc) > WF_DESC_MAX))
    {
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "description must be a string of at most "
                             "1024 bytes",
                             json_pack("{s:s}", "pointer", "/description"));
        return NULL;
    }

    if (comp != NULL
        && (!json_is_string(comp) || json_string_length(comp) == 0
            || json_string_length(comp) > GW_ASL_NAME_MAX * 4))
    {
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "compensation must name a top-level state",
                             json_pack("{s:s}", "pointer", "/compensation"));
        return NULL;
    }

    if (gw_asl_too_large(def, GW_ASL_DEF_MAX, NULL)) {
        gw_svc_reply_problem(req, 413, "too-large", "Payload too large",
                             "a definition is at most 1 MiB as compact "
                             "JSON");
        return NULL;
    }

    text = json_dumps(def, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return NULL;
    }

    len = strlen(text);

    asl = gw_asl_def_parse(text, len, &err);
    free(text);

    if (asl == NULL) {
        gw_svc_reply_problem_extra(req, 422, "invalid-definition",
                             "Invalid definition", err.cause,
                             json_pack("{s:s+, s:s}", "pointer",
                                       "/definition", err.pointer,
                                       "cause", err.cause));
        return NULL;
    }

    if (!wf.mocks && wf_def_tasks(req, asl->top) != 0) {
        gw_asl_def_free(asl);
        return NULL;
    }

    if (comp != NULL
        && gw_asl_state_find(asl->top, json_string_value(comp)) == NULL)
    {
        gw_asl_def_free(asl);
        gw_svc_reply_problem_extra(req, 422, "invalid", "Invalid",
                             "compensation must name a state of the top "
                             "machine",
                             json_pack("{s:s}", "pointer", "/compensation"));
        return NULL;
    }

    gw_asl_def_free(asl);

    doc = json_pack("{s:O}", "definition", def);

    if (doc == NULL
        || (comp != NULL && json_object_set(doc, "compensation", comp) != 0)
        || (desc != NULL && json_object_set(doc, "description", desc) != 0))
    {
        json_decref(doc);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return NULL;
    }

    return doc;
}


char *
wf_audit(const char *request_id, const char *actor, const char *action,
    const char *resource, int status)
{
    char    *text;
    json_t  *ev;

    ev = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s}",
                   "time", (json_int_t) wf_now_ms(),
                   "actor", actor,
                   "action", action,
                   "resource", resource,
                   "status", status,
                   "request_id", request_id != NULL ? request_id : "",
                   "source", "workflow");
    if (ev == NULL) {
        return NULL;
    }

    text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);

    return text;
}
