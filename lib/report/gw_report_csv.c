/*
 * Copyright (C) Tollgate
 *
 * CSV per RFC 4180: a header line of the column titles, then one line per
 * row, every line ending in CRLF.  A field is quoted when it holds a
 * comma, a quote, CR, LF or any other control byte, with quotes doubled;
 * so no raw control byte ever appears outside a quoted field.  Text is
 * repaired to valid UTF-8; the optional BOM tells Excel so.
 *
 * Formula injection: a spreadsheet runs a cell that starts with =, +, -,
 * @, tab or CR as a formula, so a text value (and a header title) that
 * starts with one of them gets a single quote in front ('=1+1), which
 * Excel and LibreOffice show and never run.  Numbers, dates and booleans
 * come from typed values and are written as they are: -5 stays -5.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_report_int.h"


#define GW_CSV_BUF  (64 * 1024)


typedef struct {
    FILE                *fp;
    char                *iobuf;
} gw_csv_t;


static int gw_csv_field(FILE *fp, const char *s, size_t len, int guard,
    int lone);
static int gw_csv_open(gw_report_writer_t *w, const char *path);
static int gw_csv_row(gw_report_writer_t *w, const gw_report_value_t *v);
static int gw_csv_close(gw_report_writer_t *w);


const gw_report_ops_t  gw_report_csv_ops = {
    gw_csv_open, gw_csv_row, gw_csv_close
};


static int
gw_csv_open(gw_report_writer_t *w, const char *path)
{
    int        i, rc;
    gw_csv_t  *c;

    c = calloc(1, sizeof(gw_csv_t));
    if (c == NULL) {
        return gw_report_fail(w, "out of memory");
    }

    w->data = c;

    c->iobuf = malloc(GW_CSV_BUF);
    c->fp = gw_report_fopen(path);
    if (c->iobuf == NULL || c->fp == NULL) {
        rc = gw_report_fail(w, "cannot create the file");
        gw_csv_close(w);
        return rc;
    }

    setvbuf(c->fp, c->iobuf, _IOFBF, GW_CSV_BUF);

    if (w->spec.csv_bom) {
        fputs("\xef\xbb\xbf", c->fp);
    }

    for (i = 0; i < w->spec.ncolumns; i++) {
        if (i > 0) {
            fputc(',', c->fp);
        }
        if (gw_csv_field(c->fp, w->cols[i].title, strlen(w->cols[i].title),
                         1, w->spec.ncolumns == 1) != 0)
        {
            rc = gw_report_fail(w, "out of memory");
            gw_csv_close(w);
            return rc;
        }
    }

    fputs("\r\n", c->fp);

    return 0;
}


static int
gw_csv_row(gw_report_writer_t *w, const gw_report_value_t *v)
{
    int          i, rc;
    char         buf[512], *heap;
    size_t       n;
    gw_csv_t    *c;
    const char  *s;

    c = w->data;

    for (i = 0; i < w->spec.ncolumns; i++) {
        if (i > 0) {
            fputc(',', c->fp);
        }

        if (v[i].kind == GW_REPORT_NULL) {
            if (w->spec.ncolumns == 1) {
                fputs("\"\"", c->fp);  /* not a blank line */
            }
            continue;
        }

        s = gw_report_cell_text(w, i, &v[i], buf, sizeof(buf), &heap, &n, 0);
        if (s == NULL) {
            return gw_report_fail(w, "out of memory");
        }

        rc = gw_csv_field(c->fp, s, n, v[i].kind == GW_REPORT_V_TEXT,
                          w->spec.ncolumns == 1);
        free(heap);

        if (rc != 0) {
            return gw_report_fail(w, "out of memory");
        }
    }

    fputs("\r\n", c->fp);

    if (ferror(c->fp)) {
        return gw_report_fail(w, "write error");
    }

    return 0;
}


static int
gw_csv_close(gw_report_writer_t *w)
{
    int        rc;
    gw_csv_t  *c;

    c = w->data;
    rc = 0;

    if (c == NULL) {
        return 0;
    }

    if (c->fp != NULL && fclose(c->fp) != 0) {
        rc = gw_report_fail(w, "write error");
    }

    free(c->iobuf);
    free(c);
    w->data = NULL;

    return rc;
}


/*
 * s is valid UTF-8 (repaired) of len bytes; guard: text, neutralise;
 * lone: the only field of its line
 */
static int
gw_csv_field(FILE *fp, const char *s, size_t len, int guard, int lone)
{
    size_t  i, from;
    int     quote;

    quote = 0;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == ','
            || s[i] == '"')
        {
            quote = 1;
            break;
        }
    }

    if (quote) {
        fputc('"', fp);
    }

    if (len == 0 && lone) {
        fputs("\"\"", fp);   /* a lone empty field is not a blank line */
        return 0;
    }

    if (guard && len > 0 && strchr("=+-@\t\r", s[0]) != NULL) {
        fputc('\'', fp);
    }

    if (!quote) {
        fwrite(s, 1, len, fp);
        return 0;
    }

    from = 0;
    for (i = 0; i < len; i++) {
        if (s[i] == '"') {
            fwrite(s + from, 1, i + 1 - from, fp);
            from = i;
        }
    }

    fwrite(s + from, 1, len - from, fp);
    fputc('"', fp);

    return 0;
}
