
/*
 * Copyright (C) Tollgate
 *
 * The SQL sinks against a real database, printing TAP; run by
 * t/backends/075-processing-sql.t, which makes the database:
 *
 *     test_proc_sinks sqlite DIR         a file in DIR (which exists)
 *     test_proc_sinks postgres CONNINFO  a private cluster; the
 *         variables PG_STOP and PG_START hold the commands that stop
 *         and start it, for the reconnection test
 *
 * Each check drives the sink's calls on a libevent loop, as the service
 * does, and looks at the database through its own connection.
 */


#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "proc_sink.h"


typedef struct {
    int                 fired;
    int                 rc;
    char                err[512];
    char                position[64];
    int                 has_position;
    json_t             *state;
} t_res_t;


static int                      t_n;
static int                      t_failed;
static int                      t_lite;
static const char              *t_target;
static char                     t_path[1024];
static struct event_base       *t_base;
static const proc_sink_ops_t   *t_ops;


static void
t_ok(int ok, const char *fmt, ...)
{
    va_list  ap;

    printf("%sok %d - ", ok ? "" : "not ", ++t_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);

    t_failed += !ok;
}


static void
t_diag(const char *fmt, ...)
{
    va_list  ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


/* ---- the database, seen from the test ---------------------------------- */

static sqlite3  *t_lite_db;
static PGconn   *t_pg_db;


static char *
t_query(const char *sql)
{
    char          *v;
    PGresult      *res;
    sqlite3_stmt  *st;

    v = NULL;

    if (t_lite) {
        if (t_lite_db == NULL) {
            if (sqlite3_open(t_path, &t_lite_db) != SQLITE_OK) {
                return NULL;
            }

            sqlite3_busy_timeout(t_lite_db, 5000);
        }

        if (sqlite3_prepare_v2(t_lite_db, sql, -1, &st, NULL) != SQLITE_OK) {
            t_diag("%s: %s", sql, sqlite3_errmsg(t_lite_db));
            return NULL;
        }

        if (sqlite3_step(st) == SQLITE_ROW
            && sqlite3_column_text(st, 0) != NULL)
        {
            v = strdup((const char *) sqlite3_column_text(st, 0));
            if (v == NULL) {
                t_diag("out of memory");
            }
        }

        sqlite3_finalize(st);
        return v;
    }

    if (t_pg_db == NULL || PQstatus(t_pg_db) != CONNECTION_OK) {
        PQfinish(t_pg_db);
        t_pg_db = PQconnectdb(t_target);
    }

    res = PQexec(t_pg_db, sql);

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0
        && !PQgetisnull(res, 0, 0))
    {
        v = strdup(PQgetvalue(res, 0, 0));
        if (v == NULL) {
            t_diag("out of memory");
        }

    } else if (PQresultStatus(res) != PGRES_TUPLES_OK
               && PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        t_diag("%s: %s", sql, PQresultErrorMessage(res));
    }

    PQclear(res);

    return v;
}


static long
t_count(const char *table)
{
    char   sql[256], *v;
    long   n;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);

    v = t_query(sql);
    n = (v != NULL) ? atol(v) : -1;
    free(v);

    return n;
}


static void
t_close_db(void)
{
    if (t_lite_db != NULL) {
        sqlite3_close(t_lite_db);
        t_lite_db = NULL;
    }
}


/* ---- the sink's calls, waited for on the loop --------------------------- */

static void
t_done(void *data, proc_sink_rc_e rc, const char *err)
{
    t_res_t  *r = data;

    r->fired++;
    r->rc = rc;
    snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
}


static void
t_loaded(void *data, proc_sink_rc_e rc, const char *position, json_t *state,
    const char *err)
{
    t_res_t  *r = data;

    r->fired++;
    r->rc = rc;
    r->has_position = (position != NULL);
    snprintf(r->position, sizeof(r->position), "%s",
             position != NULL ? position : "");
    r->state = (state != NULL) ? json_deep_copy(state) : NULL;
    snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
}


static void
t_wait(t_res_t *r)
{
    while (r->fired == 0) {
        if (event_base_loop(t_base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
}


static void
t_sleep_loop(long ms)
{
    struct timeval  tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    event_base_loopexit(t_base, &tv);
    event_base_dispatch(t_base);
}


static proc_sink_t *
t_sink(const char *pipeline, const char *json, char *err, size_t errlen)
{
    json_t        *conf;
    proc_env_t     env;
    proc_sink_t   *s;
    json_error_t   jerr;

    conf = json_loads(json, JSON_ALLOW_NUL, &jerr);
    if (conf == NULL) {
        snprintf(err, errlen, "test JSON: %s", jerr.text);
        return NULL;
    }

    json_object_set_new(conf, "type", json_string(t_ops->type));
    json_object_set_new(conf, t_lite ? "path" : "conninfo",
                        json_string(t_lite ? t_path : t_target));

    env.base = t_base;
    env.svc = NULL;

    err[0] = '\0';
    s = t_ops->create(&env, pipeline, conf, err, errlen);
    json_decref(conf);

    return s;
}


static int
t_commit(proc_sink_t *s, unsigned partition, const char *position,
    const char *records, const char *state, t_res_t *r)
{
    proc_batch_t   b;

    memset(r, 0, sizeof(t_res_t));

    b.partition = partition;
    b.position = position;
    b.records = json_loads(records, JSON_ALLOW_NUL, NULL);
    b.state = (state != NULL) ? json_loads(state, JSON_DECODE_ANY, NULL)
                              : NULL;

    if (s->ops->commit(s, &b, t_done, r, r->err, sizeof(r->err)) != 0) {
        r->rc = -1;

    } else {
        t_wait(r);
    }

    json_decref(b.records);
    json_decref(b.state);

    return r->rc;
}


static int
t_load(proc_sink_t *s, unsigned partition, t_res_t *r)
{
    memset(r, 0, sizeof(t_res_t));

    if (s->ops->load(s, partition, t_loaded, r, r->err, sizeof(r->err))
        != 0)
    {
        return -1;
    }

    t_wait(r);

    return r->rc;
}


static const char *
t_rc(int rc)
{
    static const char  *names[] = { "OK", "DUP", "FAIL", "BAD" };

    return (rc >= 0 && rc <= 3) ? names[rc] : "refused";
}


/* ---- the checks --------------------------------------------------------- */

static void
t_identifiers(void)
{
    char          err[512], big[80], ok63[80];
    size_t        i;
    proc_sink_t  *s;

    static const struct {
        const char  *json;
        const char  *pointer;
    } bad[] = {
        { "{\"table\": \"x; drop table y\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"x\\\"y\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"Users\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"caf\\u00e9\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"1x\", \"columns\": {\"a\": \"/a\"}}", "/table:" },
        { "{\"table\": \"x\\u0000y\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"tollgate_positions\", \"columns\": {\"a\": \"/a\"}}",
          "/table:" },
        { "{\"table\": \"t\", \"columns\": {\"a\\\"); drop table t; --\":"
          " \"/a\"}}", "/columns:" },
        { "{\"table\": \"t\", \"columns\": {\"a b\": \"/a\"}}", "/columns:" },
        { "{\"table\": \"t\", \"columns\": {\"\\u0430\": \"/a\"}}",
          "/columns:" },
        { "{\"table\": \"t\", \"columns\": {}}", "/columns:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"a\"}}", "/columns/a:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/~2\"}}", "/columns/a:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/a\"}, \"key\": [\"b\"]}",
          "/key/0:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/a\"},"
          " \"types\": {\"a\": \"blob\"}}", "/types/a:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/a\"},"
          " \"types\": {\"b\": \"text\"}}", "/types:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/a\"}, \"create\": 1}",
          "/create:" },
        { "{\"table\": \"t\", \"columns\": {\"a\": \"/a\"}, \"sql\": \"x\"}",
          ": unknown member" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = t_sink("p", bad[i].json, err, sizeof(err));
        t_ok(s == NULL && strncmp(err, bad[i].pointer,
                                  strlen(bad[i].pointer)) == 0,
             "refused at create: %s -> %s", bad[i].pointer, err);
        t_ops->free(s);
    }

    memset(big, 'a', 64);
    big[64] = '\0';
    snprintf(err, sizeof(err), "{\"table\": \"%s\", \"columns\": "
             "{\"a\": \"/a\"}}", big);
    s = t_sink("p", err, err, sizeof(err));
    t_ok(s == NULL && strncmp(err, "/table:", 7) == 0,
         "a 64-byte table name is refused");
    t_ops->free(s);

    memset(ok63, 'b', 63);
    ok63[63] = '\0';
    snprintf(err, sizeof(err), "{\"table\": \"%s\", \"columns\": "
             "{\"%s\": \"\"}, \"create\": true}", ok63, ok63);
    s = t_sink("p", err, err, sizeof(err));
    t_ok(s != NULL, "a 63-byte name is accepted (%s)", err);
    t_ops->free(s);
}


static void
t_exactly_once(void)
{
    char          err[512], *v;
    t_res_t       r;
    proc_sink_t  *s;

    s = t_sink("pm", "{\"table\": \"per_minute\", \"create\": true,"
               " \"columns\": {\"consumer\": \"/key\", \"start\": \"/start\","
               " \"n\": \"/n\", \"extra\": \"/x\"},"
               " \"types\": {\"consumer\": \"text\", \"start\": \"integer\","
               " \"n\": \"integer\", \"extra\": \"json\"}}",
               err, sizeof(err));
    t_ok(s != NULL, "created (%s)", err);
    if (s == NULL) {
        return;
    }

    t_load(s, 0, &r);
    t_ok(r.rc == PROC_SINK_OK && !r.has_position && r.state == NULL,
         "load before any commit: nothing stored (%s %s)", t_rc(r.rc),
         r.err);

    t_commit(s, 0, "100-0",
             "[{\"key\": \"a\", \"start\": 60000, \"n\": 3},"
             " {\"key\": \"b\", \"start\": 60000, \"n\": 1, \"x\": [1, {}]},"
             " {\"key\": \"c\", \"start\": 60000, \"n\": 7}]",
             "{\"windows\": [1, 2], \"wm\": 99}", &r);
    t_ok(r.rc == PROC_SINK_OK, "commit: OK (%s %s)", t_rc(r.rc), r.err);
    t_ok(t_count("per_minute") == 3, "3 rows written");

    v = t_query("SELECT \"extra\" FROM \"per_minute\" "
                "WHERE \"consumer\" = 'b'");
    t_ok(v != NULL && (strcmp(v, "[1,{}]") == 0 || strcmp(v, "[1, {}]") == 0),
         "a json column holds the value (%s)", v != NULL ? v : "NULL");
    free(v);

    t_commit(s, 0, "100-0", "[{\"key\": \"d\", \"start\": 1, \"n\": 1}]",
             NULL, &r);
    t_ok(r.rc == PROC_SINK_DUP, "the same position again: DUP (%s)",
         t_rc(r.rc));

    t_commit(s, 0, "99-7", "[{\"key\": \"d\", \"start\": 1, \"n\": 1}]",
             NULL, &r);
    t_ok(r.rc == PROC_SINK_DUP, "an earlier position: DUP (%s)",
         t_rc(r.rc));
    t_ok(t_count("per_minute") == 3, "nothing written by a DUP");

    t_load(s, 0, &r);
    t_ok(r.rc == PROC_SINK_OK && strcmp(r.position, "100-0") == 0,
         "load: the position (%s)", r.position);

    v = (r.state != NULL) ? json_dumps(r.state, JSON_COMPACT | JSON_SORT_KEYS)
                          : NULL;
    t_ok(v != NULL && strcmp(v, "{\"windows\":[1,2],\"wm\":99}") == 0,
         "load: the state (%s)", v != NULL ? v : "NULL");
    free(v);
    json_decref(r.state);

    t_load(s, 1, &r);
    t_ok(r.rc == PROC_SINK_OK && !r.has_position,
         "another partition has its own position");

    t_commit(s, 0, "100-1",
             "[{\"key\": \"e\", \"start\": 1, \"n\": 1},"
             " {\"key\": \"f\", \"start\": 1, \"n\": \"many\"}]", "{}", &r);
    t_ok(r.rc == PROC_SINK_BAD && strstr(r.err, "record 1") != NULL
         && strstr(r.err, "\"n\"") != NULL,
         "a string for an integer column: BAD naming record and column (%s)",
         r.err);

    t_commit(s, 0, "100-1",
             "[{\"key\": \"e\", \"start\": 1, \"n\": 1},"
             " {\"key\": \"f\", \"start\": 1, \"n\": 2},"
             " {\"key\": \"g\\u0000\", \"start\": 1, \"n\": 2}]", "{}", &r);
    t_ok(r.rc == PROC_SINK_BAD && strstr(r.err, "record 2") != NULL
         && strstr(r.err, "NUL") != NULL,
         "a NUL byte: BAD (%s)", r.err);

    t_ok(t_count("per_minute") == 3, "nothing of a BAD batch written");
    t_load(s, 0, &r);
    t_ok(strcmp(r.position, "100-0") == 0,
         "the position did not move on BAD");
    json_decref(r.state);

    t_commit(s, 0, "100-x", "[]", NULL, &r);
    t_ok(r.rc == -1 && r.fired == 0, "a malformed position is refused "
         "by the call (%s)", r.err);

    t_commit(s, 0, "200-0", "[]", "{\"empty\": true}", &r);
    t_load(s, 0, &r);
    t_ok(r.rc == PROC_SINK_OK && strcmp(r.position, "200-0") == 0
         && json_is_true(json_object_get(r.state, "empty")),
         "an empty batch moves the position and the state");
    json_decref(r.state);

    t_ops->free(s);
}


static void
t_not_null(void)
{
    char          err[512], *v;
    t_res_t       r;
    proc_sink_t  *s;

    v = t_query(t_lite
        ? "CREATE TABLE IF NOT EXISTS strict_t (id INTEGER PRIMARY KEY,"
          " v TEXT NOT NULL)"
        : "CREATE TABLE IF NOT EXISTS strict_t (id integer PRIMARY KEY,"
          " v text NOT NULL)");
    free(v);

    s = t_sink("nn", "{\"table\": \"strict_t\","
               " \"columns\": {\"id\": \"/id\", \"v\": \"/v\"}}",
               err, sizeof(err));

    t_commit(s, 0, "1-0", "[{\"id\": 1, \"v\": \"a\"}, {\"id\": 2}]", NULL,
             &r);
    t_ok(r.rc == PROC_SINK_BAD && strstr(r.err, "record 1") != NULL
         && strstr(r.err, "\"v\"") != NULL,
         "the database's NOT NULL: BAD naming record 1 and v (%s)", r.err);
    t_ok(t_count("strict_t") == 0, "nothing written");

    t_commit(s, 0, "1-0", "[{\"id\": 1, \"v\": \"a\"}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_OK, "the same position with good records: OK");

    t_ops->free(s);
}


/* a table that is not there, and not to be created: FAIL, retried */
static void
t_absent(void)
{
    char          err[512];
    t_res_t       r;
    proc_sink_t  *s;

    s = t_sink("ab", "{\"table\": \"absent\","
               " \"columns\": {\"a\": \"/a\"}}",
               err, sizeof(err));
    if (s == NULL) {
        t_ok(0, "absent: %s", err);
        return;
    }

    t_commit(s, 0, "1-0", "[{\"a\": 1}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_FAIL && strstr(r.err, "absent") != NULL,
         "a missing table without create: FAIL (%s)", r.err);

    t_ops->free(s);
}


static void
t_upsert(void)
{
    char          err[512], *v;
    t_res_t       r;
    proc_sink_t  *s;

    s = t_sink("up", "{\"table\": \"totals\", \"create\": true,"
               " \"columns\": {\"consumer\": \"/c\", \"start\": \"/s\","
               " \"n\": \"/n\"}, \"key\": [\"consumer\", \"start\"],"
               " \"types\": {\"start\": \"integer\", \"n\": \"real\"}}",
               err, sizeof(err));
    t_ok(s != NULL, "an upsert sink (%s)", err);
    if (s == NULL) {
        return;
    }

    t_commit(s, 3, "10-0", "[{\"c\": \"a\", \"s\": 1, \"n\": 1},"
             " {\"c\": \"a\", \"s\": 2, \"n\": 1}]", NULL, &r);
    t_commit(s, 3, "11-0", "[{\"c\": \"a\", \"s\": 1, \"n\": 5},"
             " {\"c\": \"a\", \"s\": 1, \"n\": 6.5}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_OK, "a second batch on the same keys: OK (%s)",
         r.err);
    t_ok(t_count("totals") == 2, "2 rows (one per key)");

    v = t_query("SELECT \"n\" FROM \"totals\" WHERE \"consumer\" = 'a' "
                "AND \"start\" = 1");
    t_ok(v != NULL && atof(v) == 6.5, "the last value won (%s)",
         v != NULL ? v : "NULL");
    free(v);

    t_commit(s, 3, "12-0", "[{\"s\": 3, \"n\": 1}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_BAD && strstr(r.err, "consumer") != NULL,
         "a missing key member: BAD (%s)", r.err);

    t_ops->free(s);
}


static void
t_verbatim(void)
{
    char          err[512], *v;
    size_t        i;
    json_t       *recs;
    t_res_t       r;
    proc_sink_t  *s;

    static const char  *vals[] = {
        "it's", "say \"hi\"", "'); DROP TABLE \"verbatim\"; --",
        "a\\b", "\x01\x02\t\n\r\x1f\x7f",
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
        "$1 ?1 :a @a", ""
    };

    s = t_sink("vb", "{\"table\": \"verbatim\", \"create\": true,"
               " \"columns\": {\"i\": \"/i\", \"v\": \"/v\"},"
               " \"key\": [\"i\"], \"types\": {\"i\": \"integer\","
               " \"v\": \"text\"}}", err, sizeof(err));
    if (s == NULL) {
        t_ok(0, "verbatim sink: %s", err);
        return;
    }

    recs = json_array();

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        json_array_append_new(recs, json_pack("{s:i,s:s}", "i", (int) i,
                                              "v", vals[i]));
    }

    v = json_dumps(recs, 0);
    t_commit(s, 0, "1-1", v, NULL, &r);
    free(v);
    json_decref(recs);
    t_ok(r.rc == PROC_SINK_OK, "values with quotes and control bytes: OK "
         "(%s)", r.err);

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(err, sizeof(err), "SELECT \"v\" FROM \"verbatim\" "
                 "WHERE \"i\" = %zu", i);
        v = t_query(err);
        t_ok(v != NULL && strcmp(v, vals[i]) == 0,
             "value %zu stored verbatim", i);
        free(v);
    }

    t_ok(t_count("verbatim") == (long) (sizeof(vals) / sizeof(vals[0])),
         "the table is still there");

    t_ops->free(s);
}


static void
t_many(void)
{
    int           i, ok;
    char          err[512], pos[32], recs[1024];
    t_res_t       r;
    proc_sink_t  *s, *s2;

    s = t_sink("many", "{\"table\": \"many\", \"create\": true,"
               " \"columns\": {\"b\": \"/b\", \"k\": \"/k\"}}",
               err, sizeof(err));
    s2 = t_sink("many2", "{\"table\": \"many\", \"create\": true,"
                " \"columns\": {\"b\": \"/b\", \"k\": \"/k\"}}",
                err, sizeof(err));
    if (s == NULL || s2 == NULL) {
        t_ok(0, "many: %s", err);
        return;
    }

    ok = 1;

    for (i = 1; i <= 200; i++) {
        snprintf(pos, sizeof(pos), "%d-%d", 1000 + i / 3, i % 3);
        snprintf(recs, sizeof(recs), "[{\"b\": %d, \"k\": 0},"
                 " {\"b\": %d, \"k\": 1}, {\"b\": %d, \"k\": 2}]", i, i, i);

        if (t_commit((i % 2) ? s : s2, 0, pos, recs, NULL, &r)
            != PROC_SINK_OK)
        {
            t_diag("batch %d: %s %s", i, t_rc(r.rc), r.err);
            ok = 0;
            break;
        }
    }

    t_ok(ok, "200 batches in order from two pipelines on one table: OK");
    t_ok(t_count("many") == 600, "600 rows");

    t_load(s2, 0, &r);
    t_ok(strcmp(r.position, "1066-2") == 0, "the last position (%s)",
         r.position);

    t_ops->free(s);
    t_ops->free(s2);
}


static void
t_tick(evutil_socket_t fd, short what, void *arg)
{
    int  *ticks = arg;

    (*ticks)++;
}


/*
 * The database holds the sink back (the test's own connection keeps a
 * lock): the loop goes on meanwhile, and the commit completes once the
 * lock is gone.
 */
static void
t_not_blocked(void)
{
    int              ticks;
    char             err[512], *v;
    t_res_t          r;
    proc_batch_t     b;
    proc_sink_t     *s;
    struct event    *tick;
    struct timeval   tv = { 0, 20000 };

    s = t_sink("lk", "{\"table\": \"lk\", \"create\": true,"
               " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));
    if (s == NULL) {
        t_ok(0, "lock: %s", err);
        return;
    }

    t_commit(s, 0, "1-0", "[{\"a\": 1}]", NULL, &r);

    free(t_query("BEGIN"));
    v = t_query(t_lite ? "INSERT INTO lk VALUES (0)"
                       : "SELECT ms FROM tollgate_positions"
                         " WHERE pipeline = 'lk' FOR UPDATE");
    free(v);

    memset(&r, 0, sizeof(r));
    b.partition = 0;
    b.position = "2-0";
    b.records = json_loads("[{\"a\": 2}]", 0, NULL);
    b.state = NULL;

    ticks = 0;
    tick = event_new(t_base, -1, EV_PERSIST, t_tick, &ticks);
    event_add(tick, &tv);

    s->ops->commit(s, &b, t_done, &r, err, sizeof(err));

    while (ticks < 5 && r.fired == 0) {
        event_base_loop(t_base, EVLOOP_ONCE);
    }

    t_ok(ticks == 5 && r.fired == 0,
         "the loop runs while the database holds the commit back");

    free(t_query("COMMIT"));
    t_wait(&r);
    event_free(tick);
    json_decref(b.records);

    t_ok(r.rc == PROC_SINK_OK && t_count("lk") == (t_lite ? 3 : 2),
         "the commit completes once the lock is gone (%s %s)", t_rc(r.rc),
         r.err);

    t_ops->free(s);
}


typedef struct {
    t_res_t         res;
    proc_sink_t    *sink;
} t_freer_t;


static void
t_done_free(void *data, proc_sink_rc_e rc, const char *err)
{
    t_freer_t  *f = data;

    t_done(&f->res, rc, err);
    t_ops->free(f->sink);
}


/* a callback frees its sink: the calls queued behind it never answer */
static void
t_free_in_callback(void)
{
    char          err[512];
    t_res_t       r2;
    t_freer_t     f;
    proc_batch_t  b;

    memset(&f, 0, sizeof(f));
    memset(&r2, 0, sizeof(r2));

    f.sink = t_sink("fc", "{\"table\": \"fc\", \"create\": true,"
                    " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));
    if (f.sink == NULL) {
        t_ok(0, "free in callback: %s", err);
        return;
    }

    b.partition = 0;
    b.position = "1-0";
    b.records = json_loads("[{\"a\": 1}]", 0, NULL);
    b.state = NULL;

    f.sink->ops->commit(f.sink, &b, t_done_free, &f, err, sizeof(err));
    b.position = "2-0";
    f.sink->ops->commit(f.sink, &b, t_done, &r2, err, sizeof(err));
    json_decref(b.records);

    t_wait(&f.res);
    t_sleep_loop(100);

    t_ok(f.res.fired == 1 && f.res.rc == PROC_SINK_OK && r2.fired == 0,
         "a callback freed its sink: the next call never answered");
}


/* a sink freed with calls in flight: no callback afterwards */
static void
t_free_in_flight(void)
{
    char          err[512];
    t_res_t       r1, r2;
    proc_batch_t  b;
    proc_sink_t  *s;

    s = t_sink("fr", "{\"table\": \"fr\", \"create\": true,"
               " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));
    if (s == NULL) {
        t_ok(0, "free: %s", err);
        return;
    }

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    b.partition = 0;
    b.position = "1-0";
    b.records = json_loads("[{\"a\": 1}]", 0, NULL);
    b.state = NULL;

    s->ops->commit(s, &b, t_done, &r1, err, sizeof(err));
    s->ops->load(s, 0, t_loaded, &r2, err, sizeof(err));
    t_ok(r1.fired == 0 && r2.fired == 0, "no callback from inside a call");

    s->ops->free(s);
    json_decref(b.records);
    t_sleep_loop(100);
    t_ok(r1.fired == 0 && r2.fired == 0, "no callback after free()");
}


/* a child commits and is killed at once in the callback */
static void
t_crash(void)
{
    int           status;
    char          err[512], *v;
    pid_t         pid;
    t_res_t       r;
    proc_sink_t  *s;

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        t_base = event_base_new();
        s = t_sink("crash", "{\"table\": \"crashed\", \"create\": true,"
                   " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));
        if (s == NULL) {
            _exit(3);
        }

        t_commit(s, 0, "5-0", "[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]",
                 "{\"s\": 1}", &r);
        if (r.rc == PROC_SINK_OK) {
            kill(getpid(), SIGKILL);
        }

        _exit(4);
    }

    waitpid(pid, &status, 0);
    t_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
         "the child was killed right after its commit's callback");

    t_close_db();
    t_ok(t_count("crashed") == 3, "its 3 rows are in the file");

    s = t_sink("crash", "{\"table\": \"crashed\", \"create\": true,"
               " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));
    t_load(s, 0, &r);
    t_ok(strcmp(r.position, "5-0") == 0, "and its position (%s)", r.position);
    json_decref(r.state);

    t_commit(s, 0, "5-0", "[{\"a\": 1}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_DUP, "its batch again after the crash: DUP");

    if (t_lite) {
        v = t_query("PRAGMA journal_mode");
        t_ok(v != NULL && strcmp(v, "wal") == 0, "the file is in WAL mode");
        free(v);
    }

    t_ops->free(s);
}


/* PostgreSQL: stopped under the sink, FAIL; started again, OK */
static void
t_restart(void)
{
    int           i, rc;
    char          err[512], pos[32];
    t_res_t       r;
    proc_sink_t  *s;
    const char   *stop, *start;

    stop = getenv("PG_STOP");
    start = getenv("PG_START");

    if (stop == NULL || start == NULL) {
        t_diag("PG_STOP/PG_START not set: no restart test");
        return;
    }

    s = t_sink("rs", "{\"table\": \"rs\", \"create\": true,"
               " \"columns\": {\"a\": \"/a\"}}", err, sizeof(err));

    t_commit(s, 0, "1-0", "[{\"a\": 1}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_OK, "committed before the restart");

    PQfinish(t_pg_db);
    t_pg_db = NULL;

    if (system(stop) != 0) {
        t_diag("%s failed", stop);
    }

    t_commit(s, 0, "2-0", "[{\"a\": 2}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_FAIL, "PostgreSQL down: FAIL (%s)", r.err);

    t_commit(s, 0, "2-0", "[{\"a\": 2}]", NULL, &r);
    t_ok(r.rc == PROC_SINK_FAIL, "still down: FAIL (%s)", r.err);

    if (system(start) != 0) {
        t_diag("%s failed", start);
    }

    /* the engine retries a FAIL with backoff: so does the test */
    rc = PROC_SINK_FAIL;

    for (i = 0; i < 400 && rc == PROC_SINK_FAIL; i++) {
        rc = t_commit(s, 0, "2-0", "[{\"a\": 2}]", NULL, &r);
        if (rc == PROC_SINK_FAIL) {
            t_sleep_loop(50);
        }
    }

    t_ok(rc == PROC_SINK_OK, "after the restart the sink reconnected: OK "
         "(%s %s)", t_rc(rc), r.err);
    t_ok(t_count("rs") == 2, "both batches written once");

    for (i = 3; i < 6; i++) {
        snprintf(pos, sizeof(pos), "%d-0", i);
        t_commit(s, 0, pos, "[{\"a\": 3}]", NULL, &r);
    }

    t_ok(r.rc == PROC_SINK_OK && t_count("rs") == 5,
         "and goes on committing");

    t_ops->free(s);
}


int
main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "sqlite") != 0
                      && strcmp(argv[1], "postgres") != 0))
    {
        fprintf(stderr, "usage: test_proc_sinks sqlite DIR | "
                "postgres CONNINFO\n");
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);

    t_lite = (strcmp(argv[1], "sqlite") == 0);
    t_target = argv[2];
    t_ops = t_lite ? &proc_sink_sqlite_ops : &proc_sink_postgres_ops;
    snprintf(t_path, sizeof(t_path), "%s/sink.db", argv[2]);

    t_base = event_base_new();
    if (t_base == NULL) {
        return 1;
    }

    /* first, while the process has no thread: the child forks */
    t_crash();

    t_identifiers();
    t_exactly_once();
    t_not_null();
    t_absent();
    t_upsert();
    t_verbatim();
    t_many();
    t_not_blocked();
    t_free_in_flight();
    t_free_in_callback();

    if (!t_lite) {
        t_restart();
    }

    t_close_db();
    PQfinish(t_pg_db);
    event_base_free(t_base);

    printf("1..%d\n", t_n);

    return t_failed ? 1 : 0;
}
