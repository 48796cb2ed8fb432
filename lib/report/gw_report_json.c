/*
 * Copyright (C) Tollgate
 *
 * JSON (one array of objects) and NDJSON (one object per line, LF).
 * Each object has the columns' names as keys, in column order, and typed
 * values: integers and numbers as JSON numbers (a number that is not
 * finite as null), booleans as true/false, dates as "YYYY-MM-DD" and
 * date-times as RFC 3339 with the zone's offset, text as a string
 * repaired to valid UTF-8 with control characters escaped.  Both stream:
 * the array's brackets are written at open and close.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_report_int.h"


#define GW_JSON_BUF  (64 * 1024)


typedef struct {
    FILE                *fp;
    char                *iobuf;
    char               **keys;      /* "\"name\":", escaped once */
    unsigned             nd:1;
} gw_json_t;


static int gw_json_open(gw_report_writer_t *w, const char *path);
static int gw_ndjson_open(gw_report_writer_t *w, const char *path);
static int gw_json_row(gw_report_writer_t *w, const gw_report_value_t *v);
static int gw_json_close(gw_report_writer_t *w);
static void gw_json_string(FILE *fp, const char *s, size_t len);
static int gw_json_start(gw_report_writer_t *w, const char *path, int nd);


const gw_report_ops_t  gw_report_json_ops = {
    gw_json_open, gw_json_row, gw_json_close
};

const gw_report_ops_t  gw_report_ndjson_ops = {
    gw_ndjson_open, gw_json_row, gw_json_close
};


static int
gw_json_open(gw_report_writer_t *w, const char *path)
{
    return gw_json_start(w, path, 0);
}


static int
gw_ndjson_open(gw_report_writer_t *w, const char *path)
{
    return gw_json_start(w, path, 1);
}


static int
gw_json_start(gw_report_writer_t *w, const char *path, int nd)
{
    int         i, rc;
    char       *k;
    size_t      n;
    gw_json_t  *j;

    j = calloc(1, sizeof(gw_json_t));
    if (j == NULL) {
        return gw_report_fail(w, "out of memory");
    }

    w->data = j;
    j->nd = nd;
    j->iobuf = malloc(GW_JSON_BUF);
    j->keys = calloc(w->spec.ncolumns, sizeof(char *));

    if (j->iobuf == NULL || j->keys == NULL) {
        rc = gw_report_fail(w, "out of memory");
        goto failed;
    }

    /* names are checked UTF-8; escape them once into a memory stream */
    for (i = 0; i < w->spec.ncolumns; i++) {
        k = NULL;
        n = 0;
        j->fp = open_memstream(&k, &n);
        if (j->fp == NULL) {
            rc = gw_report_fail(w, "out of memory");
            goto failed;
        }
        if (i > 0) {
            fputc(',', j->fp);
        }
        gw_json_string(j->fp, w->cols[i].name, strlen(w->cols[i].name));
        fputc(':', j->fp);
        if (fclose(j->fp) != 0 || k == NULL) {
            j->fp = NULL;
            free(k);
            rc = gw_report_fail(w, "out of memory");
            goto failed;
        }
        j->fp = NULL;
        j->keys[i] = k;
    }

    j->fp = gw_report_fopen(path);
    if (j->fp == NULL) {
        rc = gw_report_fail(w, "cannot create the file");
        goto failed;
    }

    setvbuf(j->fp, j->iobuf, _IOFBF, GW_JSON_BUF);

    if (!nd) {
        fputc('[', j->fp);
    }

    return 0;

failed:

    gw_json_close(w);
    return rc;
}


static int
gw_json_row(gw_report_writer_t *w, const gw_report_value_t *v)
{
    int                  i;
    char                 buf[512], *heap;
    size_t               n;
    gw_json_t           *j;
    const char          *s;
    gw_report_column_t  *c;

    j = w->data;

    if (!j->nd) {
        fputs(w->rows ? ",\n" : "\n", j->fp);
    }

    fputc('{', j->fp);

    for (i = 0; i < w->spec.ncolumns; i++) {
        c = &w->cols[i];
        fputs(j->keys[i], j->fp);

        if (v[i].kind == GW_REPORT_NULL) {
            fputs("null", j->fp);
            continue;
        }

        s = gw_report_cell_text(w, i, &v[i], buf, sizeof(buf), &heap, &n, 0);
        if (s == NULL) {
            return gw_report_fail(w, "out of memory");
        }

        if (v[i].kind == GW_REPORT_V_TEXT
            || c->type == GW_REPORT_COL_TEXT
            || c->type == GW_REPORT_COL_DATE
            || c->type == GW_REPORT_COL_DATETIME)
        {
            gw_json_string(j->fp, s, n);

        } else if (n == 0) {
            fputs("null", j->fp);   /* NaN, infinity */

        } else {
            fwrite(s, 1, n, j->fp); /* a number, true or false */
        }

        free(heap);
    }

    fputs(j->nd ? "}\n" : "}", j->fp);

    if (ferror(j->fp)) {
        return gw_report_fail(w, "write error");
    }

    return 0;
}


static int
gw_json_close(gw_report_writer_t *w)
{
    int         i, rc;
    gw_json_t  *j;

    j = w->data;
    rc = 0;

    if (j == NULL) {
        return 0;
    }

    if (j->fp != NULL) {
        if (!j->nd && !w->failed) {
            fputs(w->rows ? "\n]\n" : "]\n", j->fp);
        }
        if (fclose(j->fp) != 0) {
            rc = gw_report_fail(w, "write error");
        }
    }

    if (j->keys != NULL) {
        for (i = 0; i < w->spec.ncolumns; i++) {
            free(j->keys[i]);
        }
    }

    free(j->keys);
    free(j->iobuf);
    free(j);
    w->data = NULL;

    return rc;
}


/* s: valid UTF-8; escapes quote, backslash and control characters */
static void
gw_json_string(FILE *fp, const char *s, size_t len)
{
    size_t          i, from;
    unsigned char   ch;

    fputc('"', fp);
    from = 0;

    for (i = 0; i < len; i++) {
        ch = (unsigned char) s[i];

        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f) {
            continue;
        }

        fwrite(s + from, 1, i - from, fp);
        from = i + 1;

        switch (ch) {
        case '"':  fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:   fprintf(fp, "\\u%04x", ch);
        }
    }

    fwrite(s + from, 1, len - from, fp);
    fputc('"', fp);
}
