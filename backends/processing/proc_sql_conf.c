
/*
 * Copyright (C) Tollgate
 *
 * The SQL sinks' configuration and values (proc_sql.h).  Identifiers are
 * checked against one strict pattern, [a-z_][a-z0-9_]{0,62}, and then
 * always written quoted, so that a name is never a keyword nor anything
 * but a name; every value goes through a bound parameter.
 */


#include <stdarg.h>
#include <stdio.h>

#include "proc_sql.h"


#define PROC_SQL_POINTER_MAX  256


typedef struct {
    char                   *buf;
    size_t                  len;
    size_t                  size;
    int                     failed;
} proc_sql_str_t;


static void proc_sql_cat(proc_sql_str_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *proc_sql_done(proc_sql_str_t *s);
static int proc_sql_pointer(proc_sql_col_t *col, const char *p);
static void proc_sql_show(char *dst, size_t size, const char *s);


static const char *proc_sql_type_names[] = {
    "", "text", "integer", "real", "json"
};


int
proc_sql_ident_ok(const char *s)
{
    size_t  i;

    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
        return 0;
    }

    for (i = 1; s[i] != '\0'; i++) {
        if (i >= PROC_SQL_IDENT_MAX) {
            return 0;
        }

        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A name from the document for an error message: at most 40 bytes,
 * anything outside printable ASCII (and the quote) as \xNN.
 */
static void
proc_sql_show(char *dst, size_t size, const char *s)
{
    size_t  n, i;

    n = 0;

    for (i = 0; s[i] != '\0' && i < 40 && n + 5 < size; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            dst[n++] = s[i];

        } else {
            n += snprintf(dst + n, size - n, "\\x%02x", (unsigned char) s[i]);
        }
    }

    if (s[i] != '\0' && n + 4 < size) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }

    dst[n] = '\0';
}


static int
proc_sql_pointer(proc_sql_col_t *col, const char *p)
{
    char        *seg;
    const char  *q;
    size_t       n, k;

    if (strlen(p) > PROC_SQL_POINTER_MAX || (p[0] != '\0' && p[0] != '/')) {
        return -1;
    }

    col->pointer = strdup(p);
    if (col->pointer == NULL) {
        return -1;
    }

    for (n = 0, q = p; *q != '\0'; q++) {
        n += (*q == '/');
    }

    col->seg = calloc(n + 1, sizeof(char *));
    if (col->seg == NULL) {
        return -1;
    }

    while (*p == '/') {
        p++;
        q = strchr(p, '/');
        n = (q != NULL) ? (size_t) (q - p) : strlen(p);

        seg = malloc(n + 1);
        if (seg == NULL) {
            return -1;
        }

        col->seg[col->nseg++] = seg;

        for (k = 0; k < n; k++) {
            if (p[k] != '~') {
                *seg++ = p[k];
                continue;
            }

            if (k + 1 == n || (p[k + 1] != '0' && p[k + 1] != '1')) {
                return -1;
            }

            *seg++ = (p[++k] == '0') ? '~' : '/';
        }

        *seg = '\0';
        p += n;
    }

    return 0;
}


int
proc_sql_conf_parse(proc_sql_conf_t *c, const char *pipeline, json_t *conf,
    const char *const *extra, char *err, size_t errlen)
{
    char             shown[256];
    size_t           i, k;
    json_t          *v, *cols, *key, *types;
    const char      *name, *t;
    proc_sql_col_t  *col;

    memset(c, 0, sizeof(proc_sql_conf_t));

    if (!json_is_object(conf)) {
        snprintf(err, errlen, ": the sink is not an object");
        return -1;
    }

    json_object_foreach(conf, name, v) {
        if (strcmp(name, "type") == 0 || strcmp(name, "table") == 0
            || strcmp(name, "columns") == 0 || strcmp(name, "key") == 0
            || strcmp(name, "create") == 0 || strcmp(name, "types") == 0)
        {
            continue;
        }

        for (i = 0; extra != NULL && extra[i] != NULL; i++) {
            if (strcmp(name, extra[i]) == 0) {
                break;
            }
        }

        if (extra == NULL || extra[i] == NULL) {
            proc_sql_show(shown, sizeof(shown), name);
            snprintf(err, errlen, ": unknown member \"%s\"", shown);
            return -1;
        }
    }

    c->pipeline = strdup(pipeline);
    if (c->pipeline == NULL) {
        goto nomem;
    }

    v = json_object_get(conf, "table");
    if (!json_is_string(v)) {
        snprintf(err, errlen, "/table: a table name is required");
        return -1;
    }

    if (!proc_sql_ident_ok(json_string_value(v))
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        proc_sql_show(shown, sizeof(shown), json_string_value(v));
        snprintf(err, errlen, "/table: \"%s\" is not an identifier "
                 "([a-z_][a-z0-9_]{0,62})", shown);
        return -1;
    }

    if (strcmp(json_string_value(v), "tollgate_positions") == 0) {
        snprintf(err, errlen, "/table: tollgate_positions is the sinks' "
                 "own table");
        return -1;
    }

    c->table = strdup(json_string_value(v));
    if (c->table == NULL) {
        goto nomem;
    }

    v = json_object_get(conf, "create");
    if (v != NULL && !json_is_boolean(v)) {
        snprintf(err, errlen, "/create: not a boolean");
        return -1;
    }

    c->create = json_is_true(v);

    cols = json_object_get(conf, "columns");
    if (!json_is_object(cols) || json_object_size(cols) == 0) {
        snprintf(err, errlen, "/columns: an object of column: JSON pointer "
                 "is required");
        return -1;
    }

    if (json_object_size(cols) > PROC_SQL_COLS_MAX) {
        snprintf(err, errlen, "/columns: more than %d columns",
                 PROC_SQL_COLS_MAX);
        return -1;
    }

    c->cols = calloc(json_object_size(cols), sizeof(proc_sql_col_t));
    if (c->cols == NULL) {
        goto nomem;
    }

    json_object_foreach(cols, name, v) {
        proc_sql_show(shown, sizeof(shown), name);

        if (!proc_sql_ident_ok(name)) {
            snprintf(err, errlen, "/columns: \"%s\" is not an identifier "
                     "([a-z_][a-z0-9_]{0,62})", shown);
            return -1;
        }

        col = &c->cols[c->ncols++];

        col->name = strdup(name);
        if (col->name == NULL) {
            goto nomem;
        }

        if (!json_is_string(v)
            || strlen(json_string_value(v)) != json_string_length(v)
            || proc_sql_pointer(col, json_string_value(v)) != 0)
        {
            snprintf(err, errlen, "/columns/%s: not a JSON pointer", shown);
            return -1;
        }
    }

    types = json_object_get(conf, "types");
    if (types != NULL && !json_is_object(types)) {
        snprintf(err, errlen, "/types: not an object");
        return -1;
    }

    json_object_foreach(types, name, v) {
        proc_sql_show(shown, sizeof(shown), name);

        for (i = 0; i < c->ncols; i++) {
            if (strcmp(c->cols[i].name, name) == 0) {
                break;
            }
        }

        if (i == c->ncols) {
            snprintf(err, errlen, "/types: \"%s\" is not one of the columns",
                     shown);
            return -1;
        }

        t = json_string_value(v);

        for (k = PROC_SQL_TEXT; t != NULL && k <= PROC_SQL_JSON; k++) {
            if (strcmp(t, proc_sql_type_names[k]) == 0) {
                break;
            }
        }

        if (t == NULL || k > PROC_SQL_JSON) {
            snprintf(err, errlen, "/types/%s: not one of text, integer, "
                     "real, json", shown);
            return -1;
        }

        c->cols[i].type = (proc_sql_type_e) k;
    }

    key = json_object_get(conf, "key");
    if (key != NULL
        && (!json_is_array(key) || json_array_size(key) == 0))
    {
        snprintf(err, errlen, "/key: not an array of columns");
        return -1;
    }

    for (k = 0; k < json_array_size(key); k++) {
        t = json_string_value(json_array_get(key, k));

        for (i = 0; t != NULL && i < c->ncols; i++) {
            if (strcmp(c->cols[i].name, t) == 0) {
                break;
            }
        }

        if (t == NULL || i == c->ncols || c->cols[i].key) {
            snprintf(err, errlen, "/key/%zu: not one of the columns, or "
                     "named twice", k);
            return -1;
        }

        c->cols[i].key = 1;
        c->nkeys++;
    }

    return 0;

nomem:

    snprintf(err, errlen, ": out of memory");
    return -1;
}


void
proc_sql_conf_free(proc_sql_conf_t *c)
{
    size_t  i, k;

    for (i = 0; i < c->ncols; i++) {
        for (k = 0; k < c->cols[i].nseg; k++) {
            free(c->cols[i].seg[k]);
        }

        free(c->cols[i].seg);
        free(c->cols[i].pointer);
        free(c->cols[i].name);
    }

    free(c->cols);
    free(c->table);
    free(c->pipeline);
    memset(c, 0, sizeof(proc_sql_conf_t));
}


static void
proc_sql_cat(proc_sql_str_t *s, const char *fmt, ...)
{
    int       n;
    char     *p;
    va_list   ap;

    if (s->failed) {
        return;
    }

    for ( ;; ) {
        va_start(ap, fmt);
        n = vsnprintf(s->buf + s->len, s->size - s->len, fmt, ap);
        va_end(ap);

        if (n < 0) {
            s->failed = 1;
            return;
        }

        if (s->len + n < s->size) {
            s->len += n;
            return;
        }

        p = realloc(s->buf, s->size * 2 + n + 64);
        if (p == NULL) {
            s->failed = 1;
            return;
        }

        s->buf = p;
        s->size = s->size * 2 + n + 64;
    }
}


static char *
proc_sql_done(proc_sql_str_t *s)
{
    if (s->failed || s->buf == NULL) {
        free(s->buf);
        return NULL;
    }

    return s->buf;
}


char *
proc_sql_positions_sql(proc_sql_dialect_e d)
{
    const char  *sql;

    if (d == PROC_SQL_SQLITE) {
        sql = "CREATE TABLE IF NOT EXISTS \"tollgate_positions\" ("
              "\"pipeline\" TEXT NOT NULL, \"partition\" INTEGER NOT NULL, "
              "\"ms\" INTEGER, \"seq\" INTEGER, \"state\" TEXT, "
              "\"updated\" INTEGER, "
              "PRIMARY KEY (\"pipeline\", \"partition\"))";

    } else {
        sql = "CREATE TABLE IF NOT EXISTS \"tollgate_positions\" ("
              "\"pipeline\" text NOT NULL, \"partition\" integer NOT NULL, "
              "\"ms\" bigint, \"seq\" bigint, \"state\" text, "
              "\"updated\" timestamptz NOT NULL DEFAULT now(), "
              "PRIMARY KEY (\"pipeline\", \"partition\"))";
    }

    return strdup(sql);
}


char *
proc_sql_create_sql(const proc_sql_conf_t *c, proc_sql_dialect_e d)
{
    size_t           i;
    const char      *sep;
    proc_sql_str_t   s = { NULL, 0, 0, 0 };

    static const char  *lite[] = { "", " TEXT", " INTEGER", " REAL",
                                   " TEXT" };
    static const char  *pg[] = { " text", " text", " bigint",
                                 " double precision", " jsonb" };

    proc_sql_cat(&s, "CREATE TABLE IF NOT EXISTS \"%s\" (", c->table);

    for (i = 0; i < c->ncols; i++) {
        proc_sql_cat(&s, "%s\"%s\"%s%s", (i > 0) ? ", " : "",
                     c->cols[i].name,
                     (d == PROC_SQL_SQLITE) ? lite[c->cols[i].type]
                                            : pg[c->cols[i].type],
                     c->cols[i].key ? " NOT NULL" : "");
    }

    if (c->nkeys > 0) {
        proc_sql_cat(&s, ", PRIMARY KEY (");

        for (i = 0, sep = ""; i < c->ncols; i++) {
            if (c->cols[i].key) {
                proc_sql_cat(&s, "%s\"%s\"", sep, c->cols[i].name);
                sep = ", ";
            }
        }

        proc_sql_cat(&s, ")");
    }

    proc_sql_cat(&s, ")");

    return proc_sql_done(&s);
}


char *
proc_sql_insert_sql(const proc_sql_conf_t *c, proc_sql_dialect_e d)
{
    size_t           i;
    const char      *sep;
    proc_sql_str_t   s = { NULL, 0, 0, 0 };

    proc_sql_cat(&s, "INSERT INTO \"%s\" (", c->table);

    for (i = 0; i < c->ncols; i++) {
        proc_sql_cat(&s, "%s\"%s\"", (i > 0) ? ", " : "", c->cols[i].name);
    }

    proc_sql_cat(&s, ") VALUES (");

    for (i = 0; i < c->ncols; i++) {
        proc_sql_cat(&s, "%s%c%zu", (i > 0) ? ", " : "",
                     (d == PROC_SQL_SQLITE) ? '?' : '$', i + 1);
    }

    proc_sql_cat(&s, ")");

    if (c->nkeys == 0) {
        return proc_sql_done(&s);
    }

    proc_sql_cat(&s, " ON CONFLICT (");

    for (i = 0, sep = ""; i < c->ncols; i++) {
        if (c->cols[i].key) {
            proc_sql_cat(&s, "%s\"%s\"", sep, c->cols[i].name);
            sep = ", ";
        }
    }

    if (c->nkeys == c->ncols) {
        proc_sql_cat(&s, ") DO NOTHING");
        return proc_sql_done(&s);
    }

    proc_sql_cat(&s, ") DO UPDATE SET ");

    for (i = 0, sep = ""; i < c->ncols; i++) {
        if (!c->cols[i].key) {
            proc_sql_cat(&s, "%s\"%s\" = excluded.\"%s\"", sep,
                         c->cols[i].name, c->cols[i].name);
            sep = ", ";
        }
    }

    return proc_sql_done(&s);
}
