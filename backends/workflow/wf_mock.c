
/*
 * Copyright (C) Tollgate
 *
 * Test mode (mocks = on, and an execution started with "mocks"): a Task
 * is answered by the root execution's mocks for its state's name, the
 * way `workflow run` (gw_asl_run_local) answers it, so that the
 * differential corpus gives the same results through the service.
 *
 * The answers are taken in order, the last one repeating; which one is
 * counted in Redis (HINCRBY root mu:<state>, inside the dispatch's
 * commit), so that the count survives a restart and is shared by every
 * child of the root, as the local runner's count is.
 */


#include <string.h>

#include "wf_engine_int.h"


/*
 * The answer n (0-based) of state's mocks: 0 with *result (new) for
 * {"Return": v}; -1 with *error and *cause (borrowed from mocks, or
 * static) for {"Throw": {"Error", "Cause"}}, or no mocks for the state
 * (States.TaskFailed).
 */

int
wf_mock_answer(json_t *mocks, const char *state, long long n,
    json_t **result, const char **error, const char **cause)
{
    size_t   len;
    json_t  *list, *answer, *v, *thrown;

    *result = NULL;
    *error = GW_ASL_E_TASK_FAILED;
    *cause = "no mock answers this task";

    list = json_object_get(mocks, state);
    answer = NULL;

    if (json_is_array(list) && (len = json_array_size(list)) > 0) {
        if (n < 0) {
            n = 0;
        }

        answer = json_array_get(list, (size_t) n < len ? (size_t) n
                                                       : len - 1);

    } else if (json_is_object(list)) {
        answer = list;
    }

    if (answer == NULL) {
        return -1;
    }

    v = json_object_get(answer, "Return");
    if (v != NULL) {
        *result = json_incref(v);
        return 0;
    }

    thrown = json_object_get(answer, "Throw");
    if (thrown == NULL) {
        return -1;
    }

    v = json_object_get(thrown, "Error");
    if (json_is_string(v)) {
        *error = json_string_value(v);
    }

    v = json_object_get(thrown, "Cause");
    *cause = json_is_string(v) ? json_string_value(v) : "";

    return -1;
}
