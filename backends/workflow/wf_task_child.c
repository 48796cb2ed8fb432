
/*
 * Copyright (C) Tollgate
 *
 * tollgate:workflow:<def> (docs/workflow.md, "Task resources"): a child
 * execution of the latest version of <def>, its input the payload, for
 * the same owner, in the same trace, with the parent's id and seq
 * stored in it.  The task is asynchronous (wf_task_async()): done says
 * only whether the start worked; when the child ends, the engine's
 * script writes its end into the parent, which resumes or fails with it.
 *
 * The child's name is "<parent id>-<seq>" (a child's dots as
 * underscores; a hash of the id when that is too long), the same on
 * every dispatch of the same transition: a dispatch repeated after a
 * crash finds the child already started (200) instead of starting a
 * second one.  The caller's token (wf_stok.c) is inherited: opened
 * under the parent's root and sealed again under the child's own id.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_task_int.h"


typedef struct {
    wf_task_pt              done;
    void                   *data;
} wf_child_t;


static void wf_child_name(const wf_task_t *task, char *name, size_t size);
static void wf_child_started(int status, const char *id, const char *err,
    void *data);


int
wf_task_child(const wf_task_t *task, const char *def, wf_task_pt done,
    void *data, char *err, size_t errlen)
{
    char         name[WF_NAME_MAX + 1], *tok;
    wf_child_t  *c;

    if (task->payload == NULL) {
        snprintf(err, errlen, "tollgate:workflow: no input");
        return -1;
    }

    c = malloc(sizeof(wf_child_t));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    c->done = done;
    c->data = data;

    wf_child_name(task, name, sizeof(name));

    /* the caller's token goes on, sealed again under the child's id */
    tok = NULL;

    if (task->stok != NULL && task->stok[0] != '\0'
        && wf_stok_open(task->stok, task->root, &tok) != 0)
    {
        free(c);
        snprintf(err, errlen, "tollgate:workflow: the caller's token "
                 "cannot be opened (another secret_key_file?)");
        return -1;
    }

    /* done never inside the call (wf.h) */
    wf_start_tok(def, 0, name, task->payload,
                 task->owner != NULL ? task->owner : "", task->traceparent,
                 NULL, task->id, task->seq, NULL, tok, wf_child_started, c);

    wf_stok_free(tok);

    return 0;
}


/* "<id>-<seq>" as a name: [A-Za-z0-9_-], at most WF_NAME_MAX */
static void
wf_child_name(const wf_task_t *task, char *name, size_t size)
{
    int          n;
    char        *p;
    uint64_t     h;
    const char  *s;

    n = snprintf(name, size, "%s-%lld", task->id, task->seq);

    if (n > 0 && (size_t) n < size) {
        for (p = name; *p != '\0'; p++) {
            if (*p == '.') {
                *p = '_';
            }
        }

        return;
    }

    /* FNV-1a 64 of the id: a deep child's id is too long for a name */
    h = 0xcbf29ce484222325ULL;

    for (s = task->id; *s != '\0'; s++) {
        h ^= (unsigned char) *s;
        h *= 0x100000001b3ULL;
    }

    snprintf(name, size, "t%016llx-%lld", (unsigned long long) h,
             task->seq);
}


static void
wf_child_started(int status, const char *id, const char *err, void *data)
{
    char         cause[WF_TASK_CAUSE_MAX];
    wf_child_t  *c = data;

    if (status == 201 || status == 200) {
        c->done(NULL, NULL, NULL, c->data);

    } else {
        snprintf(cause, sizeof(cause), "the child execution did not "
                 "start (%d): %s", status,
                 err != NULL && err[0] != '\0' ? err : "no reason given");
        c->done(NULL, "States.TaskFailed", cause, c->data);
    }

    free(c);
}
