
/*
 * Copyright (C) Tollgate
 *
 * A batch turned into the values the SQL sinks bind (proc_sql.h), on the
 * service's loop and before any I/O: each column's JSON pointer is
 * resolved in each record and the value checked against the column's
 * declared type, so a record that cannot be bound fails the batch
 * (PROC_SINK_BAD, naming the record's index and the column) with
 * nothing written.
 */


#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "proc_sql.h"


static json_t *proc_sql_resolve(json_t *v, const proc_sql_col_t *col);
static int proc_sql_value(const proc_sql_col_t *col, json_t *v,
    proc_sql_val_t *out, const char **why);


int
proc_sql_pos_parse(const char *pos, unsigned long long *ms,
    unsigned long long *seq)
{
    char  *e;

    if (pos == NULL || !isdigit((unsigned char) pos[0])) {
        return -1;
    }

    errno = 0;
    *ms = strtoull(pos, &e, 10);

    if (errno != 0 || *e != '-' || !isdigit((unsigned char) e[1])
        || *ms > LLONG_MAX)
    {
        return -1;
    }

    *seq = strtoull(e + 1, &e, 10);

    if (errno != 0 || *e != '\0' || *seq > LLONG_MAX) {
        return -1;
    }

    return 0;
}


/* the member a column's pointer names in a record, or NULL */
static json_t *
proc_sql_resolve(json_t *v, const proc_sql_col_t *col)
{
    char        *e;
    size_t       i;
    const char  *s;
    unsigned long  n;

    for (i = 0; v != NULL && i < col->nseg; i++) {
        s = col->seg[i];

        if (json_is_object(v)) {
            v = json_object_get(v, s);
            continue;
        }

        if (!json_is_array(v) || !isdigit((unsigned char) s[0])
            || (s[0] == '0' && s[1] != '\0'))
        {
            return NULL;
        }

        n = strtoul(s, &e, 10);
        v = (*e == '\0') ? json_array_get(v, n) : NULL;
    }

    return v;
}


/* 0, or -1 with why (a static text); text is malloc()ed */
static int
proc_sql_value(const proc_sql_col_t *col, json_t *v, proc_sql_val_t *out,
    const char **why)
{
    char  num[32];

    *why = NULL;

    if (v == NULL || json_is_null(v)) {
        if (col->key) {
            *why = "a key column needs a value";
            return -1;
        }

        out->type = PROC_SQL_VNULL;
        return 0;
    }

    if (col->type == PROC_SQL_JSON
        || (col->type == PROC_SQL_ANY
            && (json_is_object(v) || json_is_array(v))))
    {
        out->type = PROC_SQL_VTEXT;
        out->text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        goto text;
    }

    if (json_is_string(v)) {
        if (col->type != PROC_SQL_TEXT && col->type != PROC_SQL_ANY) {
            *why = "a string for a number column";
            return -1;
        }

        if (strlen(json_string_value(v)) != json_string_length(v)) {
            *why = "a string holding a NUL byte";
            return -1;
        }

        out->type = PROC_SQL_VTEXT;
        out->text = strdup(json_string_value(v));
        if (out->text == NULL) {
            return -1;
        }

        goto text;
    }

    if (col->type == PROC_SQL_TEXT) {
        *why = "not a string";
        return -1;
    }

    if (json_is_integer(v) && col->type != PROC_SQL_REAL) {
        out->type = PROC_SQL_VINT;
        out->i = json_integer_value(v);
        snprintf(num, sizeof(num), "%lld", out->i);

    } else if (json_is_number(v)) {
        if (col->type == PROC_SQL_INTEGER) {
            *why = "not an integer";
            return -1;
        }

        out->type = PROC_SQL_VREAL;
        out->d = json_number_value(v);
        snprintf(num, sizeof(num), "%.17g", out->d);

    } else if (json_is_boolean(v) && col->type == PROC_SQL_ANY) {
        out->type = PROC_SQL_VINT;
        out->i = json_is_true(v);
        snprintf(num, sizeof(num), "%lld", out->i);

    } else {
        *why = "not a number";
        return -1;
    }

    out->text = strdup(num);

text:

    if (out->text == NULL) {
        return -1;
    }

    out->len = strlen(out->text);

    return 0;
}


proc_sql_batch_t *
proc_sql_batch_make(const proc_sql_conf_t *c, const proc_batch_t *b,
    int *rc, char *err, size_t errlen)
{
    size_t             r, i, n;
    json_t            *rec;
    const char        *why;
    proc_sql_batch_t  *sb;

    *rc = PROC_SINK_FAIL;

    if (b->records != NULL && !json_is_array(b->records)) {
        snprintf(err, errlen, "the records are not an array");
        *rc = -1;
        return NULL;
    }

    sb = calloc(1, sizeof(proc_sql_batch_t));
    if (sb == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    sb->partition = b->partition;

    if (proc_sql_pos_parse(b->position, &sb->ms, &sb->seq) != 0) {
        snprintf(err, errlen, "the position is not <ms>-<seq>");
        *rc = -1;
        goto failed;
    }

    snprintf(sb->position, sizeof(sb->position), "%llu-%llu", sb->ms,
             sb->seq);

    if (b->state != NULL) {
        sb->state = json_dumps(b->state, JSON_COMPACT | JSON_ENCODE_ANY);
        if (sb->state == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }

        if (strlen(sb->state) > PROC_SQL_STATE_MAX) {
            snprintf(err, errlen, "the state is over %d bytes",
                     PROC_SQL_STATE_MAX);
            *rc = PROC_SINK_BAD;
            goto failed;
        }
    }

    n = json_array_size(b->records);

    if (n > 0) {
        sb->vals = calloc(n * c->ncols, sizeof(proc_sql_val_t));
        if (sb->vals == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
    }

    sb->nrecs = n;

    for (r = 0; r < n; r++) {
        rec = json_array_get(b->records, r);

        for (i = 0; i < c->ncols; i++) {
            if (proc_sql_value(&c->cols[i], proc_sql_resolve(rec, &c->cols[i]),
                               &sb->vals[r * c->ncols + i], &why)
                == 0)
            {
                continue;
            }

            if (why == NULL) {
                snprintf(err, errlen, "out of memory");
                goto failed;
            }

            snprintf(err, errlen, "record %zu: column \"%s\" (%s): %s", r,
                     c->cols[i].name, c->cols[i].pointer, why);
            *rc = PROC_SINK_BAD;
            goto failed;
        }
    }

    return sb;

failed:

    proc_sql_batch_free(sb, c->ncols);
    return NULL;
}


void
proc_sql_batch_free(proc_sql_batch_t *sb, size_t ncols)
{
    size_t  i;

    if (sb == NULL) {
        return;
    }

    for (i = 0; sb->vals != NULL && i < sb->nrecs * ncols; i++) {
        free(sb->vals[i].text);
    }

    free(sb->vals);
    free(sb->state);
    free(sb);
}


const char *
proc_sql_err_column(const proc_sql_conf_t *c, const char *msg)
{
    size_t       i;
    const char  *p;

    p = (msg != NULL) ? strrchr(msg, '.') : NULL;
    if (p == NULL) {
        return NULL;
    }

    for (i = 0; i < c->ncols; i++) {
        if (strcmp(p + 1, c->cols[i].name) == 0) {
            return c->cols[i].name;
        }
    }

    return NULL;
}
