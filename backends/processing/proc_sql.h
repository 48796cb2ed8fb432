
/*
 * Copyright (C) Tollgate
 *
 * What the SQL sinks (SQLite, PostgreSQL) share: their configuration,
 * checked without I/O; the SQL text they run, built once from checked
 * identifiers (always quoted) with values only as bound parameters; and
 * a batch turned into plain values on the service's loop, before any
 * I/O, so that a record a declared column refuses is answered
 * PROC_SINK_BAD with nothing written, and the thread or the connection
 * that writes never touches jansson values (docs/processing-sql.md).
 */


#ifndef _PROC_SQL_H_INCLUDED_
#define _PROC_SQL_H_INCLUDED_


#include "proc_sink.h"


#define PROC_SQL_IDENT_MAX  63      /* bytes, as PostgreSQL's NAMEDATALEN */
#define PROC_SQL_COLS_MAX   64
#define PROC_SQL_STATE_MAX  (16 * 1024 * 1024)  /* bytes of state JSON */


typedef enum {
    PROC_SQL_SQLITE = 0,
    PROC_SQL_PG
} proc_sql_dialect_e;


typedef enum {
    PROC_SQL_ANY = 0,           /* no "types" entry: as the JSON value */
    PROC_SQL_TEXT,
    PROC_SQL_INTEGER,
    PROC_SQL_REAL,
    PROC_SQL_JSON
} proc_sql_type_e;


typedef struct {
    char                   *name;       /* a checked identifier */
    char                   *pointer;    /* RFC 6901, as configured */
    char                  **seg;        /* its unescaped segments */
    size_t                  nseg;
    proc_sql_type_e         type;
    unsigned                key:1;
} proc_sql_col_t;


typedef struct {
    char                   *pipeline;
    char                   *table;
    proc_sql_col_t         *cols;
    size_t                  ncols;
    size_t                  nkeys;
    unsigned                create:1;
} proc_sql_conf_t;


typedef enum {
    PROC_SQL_VNULL = 0,
    PROC_SQL_VINT,
    PROC_SQL_VREAL,
    PROC_SQL_VTEXT
} proc_sql_vtype_e;


/* one bound value: text is set for every type but VNULL (decimal for
 * numbers, as PostgreSQL's text parameters want them) */
typedef struct {
    proc_sql_vtype_e        type;
    long long               i;
    double                  d;
    char                   *text;
    size_t                  len;
} proc_sql_val_t;


typedef struct {
    unsigned                partition;
    unsigned long long      ms;
    unsigned long long      seq;
    char                    position[48];   /* "<ms>-<seq>" */
    char                   *state;      /* JSON text, or NULL */
    size_t                  nrecs;
    proc_sql_val_t         *vals;       /* nrecs rows of ncols */
} proc_sql_batch_t;


/*
 * Reads a SQL sink's member of a pipeline document into c: "table",
 * "columns", optional "key", "create" and "types", plus the members
 * named in extra (NULL-terminated; the caller reads them) and "type".
 * -1 with err "<pointer>: <why>" on the first problem.
 */
int proc_sql_conf_parse(proc_sql_conf_t *c, const char *pipeline,
    json_t *conf, const char *const *extra, char *err, size_t errlen);
void proc_sql_conf_free(proc_sql_conf_t *c);

/* 1 when s is an identifier the sinks accept */
int proc_sql_ident_ok(const char *s);

/*
 * The statements, malloc()ed (NULL: out of memory): the positions
 * table, the sink's table (c->create), and the insert (an upsert on
 * the key columns when there are any) with ncols parameters.
 */
char *proc_sql_positions_sql(proc_sql_dialect_e d);
char *proc_sql_create_sql(const proc_sql_conf_t *c, proc_sql_dialect_e d);
char *proc_sql_insert_sql(const proc_sql_conf_t *c, proc_sql_dialect_e d);

/* "<ms>-<seq>", both decimal: 0, else -1 */
int proc_sql_pos_parse(const char *pos, unsigned long long *ms,
    unsigned long long *seq);

/*
 * Turns b into values for c.  NULL with *rc: PROC_SINK_BAD (err names
 * the record's index and the column), PROC_SINK_FAIL (out of memory) or
 * -1 (the batch itself is malformed: a bad position).
 */
proc_sql_batch_t *proc_sql_batch_make(const proc_sql_conf_t *c,
    const proc_batch_t *b, int *rc, char *err, size_t errlen);
void proc_sql_batch_free(proc_sql_batch_t *sb, size_t ncols);

/* the column an error message of the database names, for BAD errors */
const char *proc_sql_err_column(const proc_sql_conf_t *c, const char *msg);


#endif /* _PROC_SQL_H_INCLUDED_ */
