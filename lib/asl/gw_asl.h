
/*
 * Copyright (C) Tollgate
 *
 * Amazon States Language, JSONPath mode (docs/workflow.md): the pure
 * part of the workflow service, with no I/O, no clock and no event loop,
 * so that the service (persistence, timers, dispatch) and the local
 * runner (tests, the differential conformance against an independent
 * interpreter) share every rule of the language.
 *
 *   gw_asl_def.c        a definition parsed and checked (every MUST of
 *                       the spec), compiled into machines of states
 *   gw_asl_choice.c     Choice rules: compiled with the definition,
 *                       evaluated against a state's input
 *   gw_asl_retry.c      Retry and Catch: which retrier or catcher takes
 *                       an error, the delay before an attempt
 *   gw_asl_path.c       JSONPath (Paths) and Reference Paths: read a
 *                       value, put a value at a ResultPath
 *   gw_asl_template.c   payload templates (Parameters, ResultSelector,
 *                       ItemSelector): "key.$" fields from paths, the
 *                       context object and intrinsic functions
 *   gw_asl_intrinsic.c  the intrinsic functions (States.Format, ...)
 *   gw_asl_exec.c       a state entered, resumed with a result, failed
 *                       with an error: what the execution does next
 *   gw_asl_local.c      a whole execution in memory, tasks answered by
 *                       mocks: the local runner
 *
 * Values are jansson's.  A function that returns a json_t * returns a
 * new reference (the caller decrefs it); arguments are borrowed.  What
 * gw_asl_path_get() and gw_asl_template_apply() return may share nodes
 * with their input: nothing here changes a value in place, and a caller
 * must not either (gw_asl_path_put() returns a whole copy).
 *
 * Errors are the spec's names: a runtime failure carries the error
 * ("States.Runtime", "States.IntrinsicFailure", "States.TaskFailed",
 * "States.Timeout", a task's own error name, ...) and a cause; a
 * definition refused carries "States.InvalidDefinition" (our name), the
 * JSON pointer of the offending value in the definition and the cause.
 */


#ifndef _GW_ASL_H_INCLUDED_
#define _GW_ASL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


#define GW_ASL_DEF_MAX        (1024 * 1024)  /* bytes of a definition */
#define GW_ASL_PAYLOAD_MAX    (256 * 1024)   /* bytes of an input, output,
                                                result or task payload,
                                                as compact JSON */
#define GW_ASL_STATES_MAX     10000          /* states in a definition,
                                                all machines together */
#define GW_ASL_DEPTH_MAX      16             /* Parallel and Map nested */
#define GW_ASL_NAME_MAX       80             /* characters of a state name */
#define GW_ASL_JSON_DEPTH_MAX 64             /* nesting of a payload (a
                                                definition may nest its
                                                machines 16 deep too) */
#define GW_ASL_PATH_MAX       1024           /* bytes of a path */
#define GW_ASL_INTRINSIC_MAX  16             /* nested intrinsic calls */
#define GW_ASL_RETRIERS_MAX   64             /* Retry entries of a state */

#define GW_ASL_ERROR_MAX      256            /* bytes of an error name */
#define GW_ASL_CAUSE_MAX      1024           /* bytes of a cause */
#define GW_ASL_POINTER_MAX    512            /* bytes of a JSON pointer */


/* the predefined error names */
#define GW_ASL_E_ALL                "States.ALL"
#define GW_ASL_E_HEARTBEAT          "States.HeartbeatTimeout"
#define GW_ASL_E_TIMEOUT            "States.Timeout"
#define GW_ASL_E_TASK_FAILED        "States.TaskFailed"
#define GW_ASL_E_PERMISSIONS        "States.Permissions"
#define GW_ASL_E_RESULT_PATH        "States.ResultPathMatchFailure"
#define GW_ASL_E_PARAMETER_PATH     "States.ParameterPathFailure"
#define GW_ASL_E_BRANCH_FAILED      "States.BranchFailed"
#define GW_ASL_E_NO_CHOICE          "States.NoChoiceMatched"
#define GW_ASL_E_INTRINSIC          "States.IntrinsicFailure"
#define GW_ASL_E_EXCEED_TOLERATED   "States.ExceedToleratedFailureThreshold"
#define GW_ASL_E_ITEM_READER        "States.ItemReaderFailed"
#define GW_ASL_E_RESULT_WRITER      "States.ResultWriterFailed"
#define GW_ASL_E_RUNTIME            "States.Runtime"
#define GW_ASL_E_DATA_LIMIT         "States.DataLimitExceeded"
#define GW_ASL_E_INVALID            "States.InvalidDefinition"


typedef struct {
    char                 error[GW_ASL_ERROR_MAX];
    char                 cause[GW_ASL_CAUSE_MAX];
    char                 pointer[GW_ASL_POINTER_MAX];  /* definitions */
} gw_asl_err_t;


/* sets err (any may be NULL: "") and returns -1; cause is printf-like */
int gw_asl_error(gw_asl_err_t *err, const char *error, const char *pointer,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;


/*
 * 1 when value's compact JSON is longer than max bytes (or cannot be
 * encoded), else 0; size (may be NULL) gets the bytes counted, which
 * stop just past max: the measure costs O(max), not O(value).
 */
int gw_asl_too_large(json_t *value, size_t max, size_t *size);


typedef enum {
    GW_ASL_PASS = 0,
    GW_ASL_TASK,
    GW_ASL_CHOICE,
    GW_ASL_WAIT,
    GW_ASL_SUCCEED,
    GW_ASL_FAIL,
    GW_ASL_PARALLEL,
    GW_ASL_MAP
} gw_asl_type_e;


typedef struct gw_asl_machine_s  gw_asl_machine_t;
typedef struct gw_asl_state_s    gw_asl_state_t;
typedef struct gw_asl_rule_s     gw_asl_rule_t;     /* gw_asl_choice.c */


typedef struct {
    const char         **errors;        /* ErrorEquals */
    size_t               nerrors;
    double               interval;      /* IntervalSeconds (1) */
    unsigned             max_attempts;  /* MaxAttempts (3; 0: never) */
    double               backoff;       /* BackoffRate (2.0) */
    double               max_delay;     /* MaxDelaySeconds (0: none) */
    unsigned             jitter_full:1; /* JitterStrategy "FULL" */
} gw_asl_retrier_t;


typedef struct {
    const char         **errors;        /* ErrorEquals */
    size_t               nerrors;
    int                  next;          /* the state's index */
    json_t              *result_path;   /* NULL: "$"; json null: the
                                           error output is discarded;
                                           else a string */
} gw_asl_catcher_t;


/*
 * A state.  The fields every type has are parsed; the rest are read
 * from raw (the state's object in the definition, kept by the def) by
 * gw_asl_exec.c: InputPath, Parameters, ResultSelector, ResultPath,
 * OutputPath, Result, Seconds, Timestamp, SecondsPath, TimestampPath,
 * Error, ErrorPath, Cause, CausePath, ItemsPath, ItemSelector,
 * MaxConcurrency, ToleratedFailure*, TimeoutSeconds(Path),
 * HeartbeatSeconds(Path).  A field's absence and its JSON null differ
 * (InputPath null: {} as the input; ResultPath null: the input kept).
 */
struct gw_asl_state_s {
    const char          *name;
    gw_asl_type_e        type;
    json_t              *raw;
    int                  next;          /* index of Next, -1: none */
    unsigned             end:1;         /* End, Succeed or Fail */

    const char          *resource;      /* Task */

    gw_asl_retrier_t    *retry;         /* Task, Parallel, Map */
    size_t               nretry;
    gw_asl_catcher_t    *catches;
    size_t               ncatches;

    gw_asl_rule_t      **choices;       /* Choice: its Choices, compiled */
    size_t               nchoices;
    int                 *choice_next;   /* each one's Next index */
    int                  default_next;  /* Default, -1: none */

    gw_asl_machine_t   **branches;      /* Parallel */
    size_t               nbranches;
    gw_asl_machine_t    *processor;     /* Map: ItemProcessor/Iterator */

    gw_asl_machine_t    *machine;       /* the machine it is in */
    size_t               index;         /* in machine->states */
};


struct gw_asl_machine_s {
    gw_asl_state_t      *states;
    size_t               nstates;
    int                  start;         /* StartAt's index */
    json_t              *raw;           /* the machine's object */
    gw_asl_machine_t    *parent;        /* NULL for the top machine */
    const char          *pointer;       /* its JSON pointer, "" at the top */
};


typedef struct {
    gw_asl_machine_t    *top;
    json_t              *root;          /* the definition, owned */
    size_t               nstates;       /* in every machine */
    void                *pool;          /* what the compiled form holds */
} gw_asl_def_t;


/*
 * gw_asl_def.c: text (len bytes, at most GW_ASL_DEF_MAX) parsed and
 * checked; NULL with err (States.InvalidDefinition, the pointer, the
 * cause) when refused.  Checked: JSON (no duplicate keys), StartAt and
 * every Next, Default and catcher Next naming a state of the same
 * machine, every state reachable from StartAt, at least one terminal
 * state, types and ranges of every field, the fields each type may and
 * must have, Paths and Reference Paths, payload templates (".$" fields
 * hold a path or an intrinsic call that parses), Choice rules, Retry
 * (States.ALL alone and last), Catch, state names (1 to 80 characters),
 * the caps above.  "QueryLanguage": "JSONata" anywhere is refused with
 * a clear cause (JSONPath mode only).
 */
gw_asl_def_t *gw_asl_def_parse(const char *text, size_t len,
    gw_asl_err_t *err);
void gw_asl_def_free(gw_asl_def_t *def);
/* the state of m named name, or NULL */
gw_asl_state_t *gw_asl_state_find(gw_asl_machine_t *m, const char *name);
const char *gw_asl_type_name(gw_asl_type_e type);


/*
 * gw_asl_choice.c: a Choice rule (a member of Choices, or a nested rule
 * of And, Or, Not) compiled: NULL with err and the pointer (under
 * pointer, the rule's own) when invalid.  Every comparison operator
 * (String/Numeric/Boolean/Timestamp Equals, LessThan, GreaterThan,
 * LessThanEquals, GreaterThanEquals, and their ...Path forms),
 * StringMatches, IsNull, IsPresent, IsNumeric, IsString, IsBoolean,
 * IsTimestamp, And, Or, Not.
 */
gw_asl_rule_t *gw_asl_rule_compile(json_t *rule, int top,
    const char *pointer, gw_asl_err_t *err);
void gw_asl_rule_free(gw_asl_rule_t *rule);
/*
 * 1 when rule matches input, 0 when not, -1 with err (States.Runtime)
 * when its Variable or a ...Path operand does not resolve (a Variable
 * under IsPresent is then false: no error).  And and Or stop at the
 * first rule that decides them.  Is* set to false match values that are
 * not of that kind (as AWS does).
 */
int gw_asl_rule_eval(gw_asl_rule_t *rule, json_t *input, json_t *context,
    gw_asl_err_t *err);


/*
 * gw_asl_retry.c: error is matched against ErrorEquals as the spec says
 * (a name equal, or States.ALL; States.TaskFailed matches every error
 * but States.Timeout; States.Runtime is matched by no wildcard).
 */
int gw_asl_error_matches(const char **errors, size_t nerrors,
    const char *error);
/* the retrier of st taking error, or -1 */
int gw_asl_retrier_find(const gw_asl_state_t *st, const char *error);
/* the catcher of st taking error, or -1 */
int gw_asl_catcher_find(const gw_asl_state_t *st, const char *error);
/*
 * The delay in milliseconds before attempt + 1 of retrier r (attempt:
 * the retries it made so far, 0 for the first), or -1 when its
 * MaxAttempts are spent.  rnd in [0, 1) draws the FULL jitter.
 */
int64_t gw_asl_retry_delay(const gw_asl_retrier_t *r, unsigned attempt,
    double rnd);


/*
 * gw_asl_path.c.  A Path is JSONPath ($, .name, ['name'], [n], [-n],
 * [*], [a,b], [start:end:step], .., [?(@.x op value)], ...) over the
 * input, or over the context object when it starts with "$$".  A
 * Reference Path is a Path that names one node: only .name, ['name']
 * and [n].
 */
#define GW_ASL_PATH_ANY        0
#define GW_ASL_PATH_REFERENCE  1

/* 0 when path is valid of that kind, else -1 with err's cause */
int gw_asl_path_check(const char *path, int kind, gw_asl_err_t *err);
/*
 * The value path selects in input (context for "$$..."): a Reference
 * Path's node, or, for a path that can select several (wildcards,
 * slices, unions, filters, ..), the array of what it selected.  NULL
 * with err (States.Runtime, the path named in the cause) when a
 * Reference Path names nothing; States.DataLimitExceeded when what it
 * selects is larger than GW_ASL_PAYLOAD_MAX as JSON.
 */
json_t *gw_asl_path_get(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err);
/*
 * A copy of input with value put at the Reference Path ref (ResultPath):
 * "$" is value itself; missing objects on the way are made; a node on
 * the way that is not an object (or an index past an array) is
 * States.ResultPathMatchFailure.  NULL with err.
 */
json_t *gw_asl_path_put(const char *ref, json_t *input, json_t *value,
    gw_asl_err_t *err);


/*
 * gw_asl_template.c: a payload template (Parameters, ResultSelector,
 * ItemSelector) applied: a copy of tmpl where each field "name.$" is
 * replaced by "name" holding the value of its path over input (or over
 * context for "$$..."), or of its intrinsic call; nested objects and
 * arrays alike.  NULL with err: States.Runtime (a path that names
 * nothing, States.ParameterPathFailure as AWS names it for Parameters:
 * the error given by the caller in error_name), States.IntrinsicFailure.
 */
json_t *gw_asl_template_apply(json_t *tmpl, json_t *input, json_t *context,
    const char *error_name, gw_asl_err_t *err);
/* 0 when every ".$" field of tmpl holds a valid path or call; else -1
 * with err and the pointer (under pointer) of the field */
int gw_asl_template_check(json_t *tmpl, const char *pointer,
    gw_asl_err_t *err);


/*
 * gw_asl_intrinsic.c: an intrinsic function call ("States.Format('{}',
 * $.a)"), arguments being string literals ('...' with \' \{ \} \\
 * escapes), numbers, true, false, null, Paths and nested calls.
 * Semantics as AWS documents them, with what executions recorded
 * against AWS showed: MathAdd rounds each argument half up to an integer
 * first; StringSplit takes its delimiter as a set of characters and
 * drops empty pieces; StringToJson("") is null.
 */
int gw_asl_intrinsic_check(const char *call, gw_asl_err_t *err);
json_t *gw_asl_intrinsic_eval(const char *call, json_t *input,
    json_t *context, gw_asl_err_t *err);
/* 1 when s looks like a call ("States." and a name and "("), else 0 */
int gw_asl_intrinsic_is_call(const char *s);


/*
 * gw_asl_exec.c: one state at a time.  The caller keeps the execution's
 * place (which machine, which state, its effective input) and persists
 * it between the calls: nothing here remembers anything.
 *
 * context is the context object of the execution as the state sees it
 * ($$: Execution {Id, Input, Name, StartTime, RedriveCount}, State
 * {Name, EnteredTime, RetryCount}, StateMachine {Id, Name}, Task
 * {Token}, Map {Item {Index, Value}}); the caller builds it.
 */
typedef enum {
    GW_ASL_GO = 0,      /* to step->next with step->output */
    GW_ASL_SUCCEEDED,   /* the machine ends with step->output */
    GW_ASL_FAILED,      /* the machine fails: step->err */
    GW_ASL_DISPATCH,    /* a Task: step->payload to st->resource, with
                           step->timeout_ms and step->heartbeat_ms
                           (0: none); then gw_asl_resume() with the
                           result, or gw_asl_fail() */
    GW_ASL_SLEEP,       /* a Wait: until step->until_ms (epoch ms), then
                           gw_asl_resume() with a NULL result */
    GW_ASL_FORK,        /* Parallel or Map: one child per member of
                           step->items (the input of each branch, or of
                           each item's processor), at most
                           step->concurrency at once (0: no limit); then
                           gw_asl_resume() with the array of their
                           outputs in order, or gw_asl_fail() */
    GW_ASL_RETRY        /* enter the same state again, with the same
                           input, after step->delay_ms */
} gw_asl_next_e;


typedef struct {
    gw_asl_next_e        next_kind;
    int                  next;          /* GW_ASL_GO: the state's index */
    json_t              *output;        /* owned by the step */
    json_t              *payload;       /* GW_ASL_DISPATCH */
    int64_t              timeout_ms;
    int64_t              heartbeat_ms;
    int64_t              until_ms;      /* GW_ASL_SLEEP */
    json_t              *items;         /* GW_ASL_FORK: an array */
    size_t               concurrency;
    double               tolerated_pct; /* Map: ToleratedFailure... */
    int64_t              tolerated_count;  /* -1: none given */
    int64_t              delay_ms;      /* GW_ASL_RETRY */
    int                  retrier;       /* GW_ASL_RETRY: which, counted
                                           by the caller */
    gw_asl_err_t         err;           /* GW_ASL_FAILED */
} gw_asl_step_t;


/*
 * A step is initialised once; enter, resume and fail each release what
 * it held before filling it.  tolerated_pct and tolerated_count are -1
 * when the Map gives neither.
 */
void gw_asl_step_init(gw_asl_step_t *step);
void gw_asl_step_free(gw_asl_step_t *step);

/*
 * st entered with input (the state's raw input, before InputPath) at
 * now_ms: what comes next.  Pass, Choice, Succeed and Fail decide at
 * once; Task, Wait, Parallel and Map ask for their effect.
 */
gw_asl_next_e gw_asl_enter(const gw_asl_state_t *st, json_t *input,
    json_t *context, int64_t now_ms, gw_asl_step_t *step);
/*
 * st's effect is over with result (a Task's result, a Wait's NULL, a
 * fork's array of outputs): ResultSelector, ResultPath, OutputPath
 * applied to result and input (the state's raw input), and where next.
 * An error on the way (States.Runtime, ...) comes back as gw_asl_fail()
 * would answer it.
 */
gw_asl_next_e gw_asl_resume(const gw_asl_state_t *st, json_t *input,
    json_t *context, json_t *result, gw_asl_step_t *step);
/*
 * st failed with error and cause (a task's, a timeout, a child's):
 * GW_ASL_RETRY (retries[] holds each retrier's retries so far, one per
 * st->retry, the caller adds one to step->retrier's), GW_ASL_GO to a
 * catcher's Next with the error output {"Error", "Cause"} put at its
 * ResultPath over input, or GW_ASL_FAILED.  rnd in [0, 1) for jitter.
 * retries NULL: the catchers only.  States.Runtime is never retried or
 * caught.  The errors of a state's own processing (ResultPath, an
 * intrinsic, the data limit, no choice matched) that gw_asl_enter() and
 * gw_asl_resume() meet go to its catchers, never to its retriers.
 */
gw_asl_next_e gw_asl_fail(const gw_asl_state_t *st, json_t *input,
    const char *error, const char *cause, const unsigned *retries,
    double rnd, gw_asl_step_t *step);


/*
 * gw_asl_local.c: an execution in memory, for the tests and the
 * differential conformance (backends/workflow: `workflow run`).  mocks
 * answers the Task states by name: {"<state>": [answer, ...]}, each
 * answer {"Return": value} or {"Throw": {"Error", "Cause"}}, taken in
 * order, the last one repeating; a Task without mocks fails with
 * States.TaskFailed.  Waits and retry delays pass at once (recorded in
 * the history, never slept); Map and Parallel children run one after
 * the other in order.  context gives $$.Execution's fields (may be
 * NULL).  The result: {"status": "SUCCEEDED", "output": ...} or
 * {"status": "FAILED", "error": ..., "cause": ...}; with history
 * non-NULL, an array of events is appended to it ({"type":
 * "TaskStateEntered", "name": ..., ...}).  max_transitions caps a run
 * (0: 100,000): past it the execution fails with States.Runtime.
 */
json_t *gw_asl_run_local(gw_asl_def_t *def, json_t *input, json_t *mocks,
    json_t *context, json_t *history, size_t max_transitions);


#endif /* _GW_ASL_H_INCLUDED_ */
