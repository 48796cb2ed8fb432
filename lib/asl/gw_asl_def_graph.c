
/*
 * Copyright (C) Tollgate
 *
 * A machine checked as a graph once its states are compiled: every
 * state reachable from StartAt (a walk forward), and every state with a
 * path to a terminal state (End, Succeed, Fail; a fixed point walking
 * backward), which refuses both a machine without a terminal state and
 * a cycle without exit.  The edges are Next, a Choice's rules and
 * Default, and the catchers' Next: a retry stays in its state.
 */


#include <sys/types.h>
#include <stdlib.h>

#include "gw_asl_def_int.h"


static size_t gw_asl_edges(gw_asl_state_t *st, int *out);


/*
 * The graph of m: reachable from StartAt (forward), able to reach a
 * terminal state (backward, by fixed point: few states have many
 * edges, and a machine has at most GW_ASL_STATES_MAX states).
 */

int
gw_asl_graph_check(gw_asl_ctx_t *ctx, gw_asl_machine_t *m, const char *ptr)
{
    int             rc, *edges, *stack;
    char            p[GW_ASL_POINTER_MAX];
    u_char         *seen, *exits;
    size_t          i, j, k, n, top, changed;
    gw_asl_state_t *st;

    n = m->nstates;
    rc = -1;

    seen = calloc(n, 2);
    stack = malloc(n * sizeof(int));
    edges = NULL;

    if (seen == NULL || stack == NULL) {
        gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, ptr, "out of memory");
        goto done;
    }

    exits = seen + n;

    k = 0;

    for (i = 0; i < n; i++) {
        k += 2 + m->states[i].nchoices + m->states[i].ncatches;
    }

    edges = malloc(k * sizeof(int));
    if (edges == NULL) {
        gw_asl_error(ctx->err, GW_ASL_E_RUNTIME, ptr, "out of memory");
        goto done;
    }

    top = 0;
    stack[top++] = m->start;
    seen[m->start] = 1;

    while (top > 0) {
        st = &m->states[stack[--top]];
        k = gw_asl_edges(st, edges);

        for (j = 0; j < k; j++) {
            if (!seen[edges[j]]) {
                seen[edges[j]] = 1;
                stack[top++] = edges[j];
            }
        }
    }

    for (i = 0; i < n; i++) {
        if (!seen[i]) {
            gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                         gw_asl_pointer(p, sizeof(p), ptr,
                                        m->states[i].name),
                         "the state \"%s\" cannot be reached from StartAt",
                         m->states[i].name);
            goto done;
        }

        exits[i] = m->states[i].end;
    }

    do {
        changed = 0;

        for (i = 0; i < n; i++) {
            if (exits[i]) {
                continue;
            }

            k = gw_asl_edges(&m->states[i], edges);

            for (j = 0; j < k; j++) {
                if (exits[edges[j]]) {
                    exits[i] = 1;
                    changed = 1;
                    break;
                }
            }
        }

    } while (changed);

    for (i = 0; i < n; i++) {
        if (!exits[i]) {
            gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                         gw_asl_pointer(p, sizeof(p), ptr,
                                        m->states[i].name),
                         "no path from the state \"%s\" to a terminal "
                         "state (End, Succeed or Fail): %s",
                         m->states[i].name,
                         exits[m->start] ? "a cycle without exit"
                                         : "the machine never ends");
            goto done;
        }
    }

    rc = 0;

done:

    free(seen);
    free(stack);
    free(edges);
    return rc;
}


static size_t
gw_asl_edges(gw_asl_state_t *st, int *out)
{
    size_t  i, n;

    n = 0;

    if (st->next >= 0) {
        out[n++] = st->next;
    }

    if (st->default_next >= 0) {
        out[n++] = st->default_next;
    }

    for (i = 0; i < st->nchoices; i++) {
        out[n++] = st->choice_next[i];
    }

    for (i = 0; i < st->ncatches; i++) {
        out[n++] = st->catches[i].next;
    }

    return n;
}
