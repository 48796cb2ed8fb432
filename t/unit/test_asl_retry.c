
/*
 * Copyright (C) Tollgate
 *
 * Retry and Catch (lib/asl/gw_asl_retry.c): error names matched with
 * the wildcards' exact reach (States.ALL, States.TaskFailed,
 * States.Timeout; States.Runtime and States.DataLimitExceeded caught by
 * no wildcard), the first retrier or catcher in order, and the delays:
 * IntervalSeconds * BackoffRate^attempt, capped by MaxDelaySeconds,
 * drawn by FULL jitter, -1 once MaxAttempts are spent.
 */


#include <stdio.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


static void
test_matches(void)
{
    static const char  *all[] = { "States.ALL" };
    static const char  *failed[] = { "States.TaskFailed" };
    static const char  *timeout[] = { "States.Timeout" };
    static const char  *runtime[] = { "States.Runtime" };
    static const char  *two[] = { "A.Error", "B.Error" };

    ok(gw_asl_error_matches(two, 2, "B.Error"), "a name matches itself");
    ok(!gw_asl_error_matches(two, 2, "b.error"), "names are case-sensitive");
    ok(!gw_asl_error_matches(two, 2, "C.Error"), "another name does not");
    ok(!gw_asl_error_matches(two, 2, NULL), "no error matches nothing");
    ok(!gw_asl_error_matches(two, 0, "A.Error"), "no names match nothing");

    ok(gw_asl_error_matches(all, 1, "Custom"), "States.ALL: a task's error");
    ok(gw_asl_error_matches(all, 1, "States.Timeout"),
       "States.ALL: States.Timeout");
    ok(gw_asl_error_matches(all, 1, "States.HeartbeatTimeout"),
       "States.ALL: States.HeartbeatTimeout");
    ok(gw_asl_error_matches(all, 1, "States.TaskFailed"),
       "States.ALL: States.TaskFailed");
    ok(!gw_asl_error_matches(all, 1, "States.Runtime"),
       "States.ALL: not States.Runtime");
    ok(!gw_asl_error_matches(all, 1, "States.DataLimitExceeded"),
       "States.ALL: not States.DataLimitExceeded");

    ok(gw_asl_error_matches(failed, 1, "Custom"),
       "States.TaskFailed: a task's error");
    ok(gw_asl_error_matches(failed, 1, "States.Permissions"),
       "States.TaskFailed: States.Permissions");
    ok(!gw_asl_error_matches(failed, 1, "States.Timeout"),
       "States.TaskFailed: not States.Timeout");
    ok(!gw_asl_error_matches(failed, 1, "States.HeartbeatTimeout"),
       "States.TaskFailed: not States.HeartbeatTimeout");
    ok(!gw_asl_error_matches(failed, 1, "States.Runtime"),
       "States.TaskFailed: not States.Runtime");

    ok(gw_asl_error_matches(timeout, 1, "States.HeartbeatTimeout"),
       "States.Timeout: States.HeartbeatTimeout");
    ok(!gw_asl_error_matches(timeout, 1, "Custom"),
       "States.Timeout: not a task's error");

    ok(gw_asl_error_matches(runtime, 1, "States.Runtime"),
       "States.Runtime named: matches");
}


static void
test_find(void)
{
    char                 text[2048];
    gw_asl_def_t        *def;
    gw_asl_err_t         err;
    gw_asl_state_t      *st;

    snprintf(text, sizeof(text),
             "{\"StartAt\": \"P\", \"States\": {"
             "\"T\": {\"Type\": \"Task\", \"Resource\": \"urn:t\","
             " \"Retry\": ["
             "  {\"ErrorEquals\": [\"A\"], \"MaxAttempts\": 1},"
             "  {\"ErrorEquals\": [\"States.Timeout\", \"A\"]},"
             "  {\"ErrorEquals\": [\"States.ALL\"]}],"
             " \"Catch\": ["
             "  {\"ErrorEquals\": [\"States.TaskFailed\"], \"Next\": \"X\"},"
             "  {\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"Y\"}],"
             " \"End\": true},"
             "\"X\": {\"Type\": \"Succeed\"}, \"Y\": {\"Type\": \"Succeed\"},"
             "\"P\": {\"Type\": \"Pass\", \"Next\": \"T\"}}}");

    def = gw_asl_def_parse(text, strlen(text), &err);
    if (!ok(def != NULL, "a Task with retriers and catchers")) {
        diag("%s at %s", err.cause, err.pointer);
        return;
    }

    st = gw_asl_state_find(def->top, "T");

    is_int(gw_asl_retrier_find(st, "A"), 0, "retrier: A takes the first");
    is_int(gw_asl_retrier_find(st, "States.HeartbeatTimeout"), 1,
           "retrier: a heartbeat timeout takes the second");
    is_int(gw_asl_retrier_find(st, "B"), 2, "retrier: B takes States.ALL");
    is_int(gw_asl_retrier_find(st, "States.Runtime"), -1,
           "retrier: none for States.Runtime");

    is_int(gw_asl_catcher_find(st, "B"), 0,
           "catcher: B takes States.TaskFailed");
    is_int(gw_asl_catcher_find(st, "States.Timeout"), 1,
           "catcher: States.Timeout falls to States.ALL");
    is_int(gw_asl_catcher_find(st, "States.DataLimitExceeded"), -1,
           "catcher: none for States.DataLimitExceeded");
    is_int(st->catches[1].next, gw_asl_state_find(def->top, "Y")->index,
           "catcher: its Next's index");

    st = gw_asl_state_find(def->top, "P");
    is_int(gw_asl_retrier_find(st, "A"), -1, "a Pass has no retrier");
    is_int(gw_asl_catcher_find(st, "A"), -1, "a Pass has no catcher");

    gw_asl_def_free(def);
}


static void
test_delay(void)
{
    gw_asl_retrier_t  r;

    memset(&r, 0, sizeof(r));
    r.interval = 1;
    r.max_attempts = 3;
    r.backoff = 2.0;

    is_int(gw_asl_retry_delay(&r, 0, 0.5), 1000, "defaults: 1 s first");
    is_int(gw_asl_retry_delay(&r, 1, 0.5), 2000, "defaults: 2 s second");
    is_int(gw_asl_retry_delay(&r, 2, 0.5), 4000, "defaults: 4 s third");
    is_int(gw_asl_retry_delay(&r, 3, 0.5), -1, "defaults: no fourth");

    r.max_attempts = 0;
    is_int(gw_asl_retry_delay(&r, 0, 0.5), -1, "MaxAttempts 0: never");

    r.interval = 3;
    r.max_attempts = 10;
    r.backoff = 1.5;
    is_int(gw_asl_retry_delay(&r, 2, 0), 6750, "3 * 1.5^2 s");

    r.max_delay = 5;
    is_int(gw_asl_retry_delay(&r, 2, 0), 5000, "capped by MaxDelaySeconds");
    is_int(gw_asl_retry_delay(&r, 0, 0), 3000, "below the cap: as is");

    r.jitter_full = 1;
    is_int(gw_asl_retry_delay(&r, 2, 0.5), 2500, "FULL jitter: rnd * delay");
    is_int(gw_asl_retry_delay(&r, 2, 0.0), 0, "FULL jitter: rnd 0");
    ok(gw_asl_retry_delay(&r, 2, 0.9999999) <= 5000,
       "FULL jitter: below the delay");
    is_int(gw_asl_retry_delay(&r, 2, -3.0), 0, "FULL jitter: rnd < 0 is 0");

    r.jitter_full = 0;
    r.max_delay = 0;
    r.backoff = 10.0;
    r.max_attempts = 1000;
    is_int(gw_asl_retry_delay(&r, 999, 0), 366LL * 86400 * 1000,
           "a huge backoff stops at a year");

    r.interval = 1;
    r.backoff = 1.0;
    is_int(gw_asl_retry_delay(&r, 999, 0), 1000, "BackoffRate 1: constant");
}


int
main(void)
{
    test_matches();
    test_find();
    test_delay();

    return done_testing();
}
