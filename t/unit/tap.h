
/*
 * Copyright (C) Tollgate
 *
 * A tiny TAP (Test Anything Protocol, version 12) producer for the C unit
 * tests, so that prove(1) runs them next to the Perl suites.  Output is the
 * plan ("1..N", first with plan(), or last with done_testing() alone),
 * then one "ok N - name" or "not ok N - name" line per check; diagnostics
 * of a failure go to stderr as "# " lines, as Test::More does.
 *
 * main() ends with "return done_testing();": the exit code is the number
 * of failed checks (at most 254), or 255 when the count of checks run
 * differs from the plan, so a crashed or truncated test never passes.
 * Everything is static in this header: one test program, one copy.
 */


#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define TAP_UNUSED  __attribute__((unused))


static int  tap_planned = -1;
static int  tap_run;
static int  tap_failed;


#define ok(cond, ...)                                                         \
    tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, expected, ...)                                            \
    tap_is_int((long long) (got), (long long) (expected), __FILE__,          \
               __LINE__, __VA_ARGS__)

#define is_str(got, expected, ...)                                            \
    tap_is_str((got), (expected), __FILE__, __LINE__, __VA_ARGS__)


static TAP_UNUSED void
plan(int n)
{
    tap_planned = n;

    printf("1..%d\n", n);
    fflush(stdout);
}


static TAP_UNUSED __attribute__((format(printf, 1, 2))) void
diag(const char *fmt, ...)
{
    va_list  args;

    fflush(stdout);

    fputs("# ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


static TAP_UNUSED __attribute__((format(printf, 4, 5))) int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    tap_run++;

    printf("%sok %d - ", pass ? "" : "not ", tap_run);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    putchar('\n');
    fflush(stdout);

    if (!pass) {
        tap_failed++;
        diag("  Failed test at %s line %d.", file, line);
    }

    return pass;
}


static TAP_UNUSED __attribute__((format(printf, 5, 6))) int
tap_is_int(long long got, long long expected, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    char     name[256];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(name, sizeof(name), fmt, args);
    va_end(args);

    pass = tap_ok(got == expected, file, line, "%s", name);

    if (!pass) {
        diag("         got: %lld", got);
        diag("    expected: %lld", expected);
    }

    return pass;
}


static TAP_UNUSED __attribute__((format(printf, 5, 6))) int
tap_is_str(const char *got, const char *expected, const char *file, int line,
    const char *fmt, ...)
{
    int      pass;
    char     name[256];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(name, sizeof(name), fmt, args);
    va_end(args);

    if (got == NULL || expected == NULL) {
        pass = (got == expected);

    } else {
        pass = (strcmp(got, expected) == 0);
    }

    pass = tap_ok(pass, file, line, "%s", name);

    if (!pass) {
        diag("         got: %s%s%s", got ? "'" : "", got ? got : "NULL",
             got ? "'" : "");
        diag("    expected: %s%s%s", expected ? "'" : "",
             expected ? expected : "NULL", expected ? "'" : "");
    }

    return pass;
}


/* Stops the whole run: TAP's "Bail out!", for a test that cannot go on. */

static TAP_UNUSED __attribute__((noreturn)) void
bail_out(const char *why)
{
    printf("Bail out!  %s\n", why);
    fflush(stdout);

    exit(255);
}


/* Marks n checks as skipped, e.g. when test data is missing. */

static TAP_UNUSED void
skip(int n, const char *why)
{
    while (n-- > 0) {
        printf("ok %d # skip %s\n", ++tap_run, why);
    }

    fflush(stdout);
}


static TAP_UNUSED int
done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);
        fflush(stdout);

    } else if (tap_planned != tap_run) {
        diag("Looks like you planned %d tests but ran %d.", tap_planned,
             tap_run);
        return 255;
    }

    if (tap_failed != 0) {
        diag("Looks like you failed %d test%s of %d.", tap_failed,
             tap_failed == 1 ? "" : "s", tap_run);
    }

    return tap_failed > 254 ? 254 : tap_failed;
}


#endif /* _TAP_H_INCLUDED_ */
