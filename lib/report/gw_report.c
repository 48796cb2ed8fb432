/*
 * Copyright (C) Tollgate
 *
 * Report writers, the common part (gw_report.h): format names, the spec
 * check, and the writer that each format's operations sit behind.  The
 * spec is copied whole at open, so the caller's strings may go away;
 * every time zone a column names is loaded once here, so that no row
 * reads a file.  The first error sticks: later rows are refused, and
 * close reports it.
 */


#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gw_report_int.h"


static int gw_report_spec_copy(gw_report_writer_t *w,
    const gw_report_spec_t *spec);
static void gw_report_spec_free(gw_report_writer_t *w);
static char *gw_report_strdup(const char *s, int *failed);


static const struct {
    const char          *name;
    const char          *media;
    const char          *ext;
    const gw_report_ops_t *ops;
} gw_report_formats[] = {
    { "csv", "text/csv; charset=utf-8", ".csv", &gw_report_csv_ops },
    { "json", "application/json", ".json", &gw_report_json_ops },
    { "ndjson", "application/x-ndjson", ".ndjson", &gw_report_ndjson_ops },
    { "xlsx",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      ".xlsx", &gw_report_xlsx_ops },
    { "pdf", "application/pdf", ".pdf", &gw_report_pdf_ops },
};

#define GW_REPORT_NFORMATS                                                   \
    (sizeof(gw_report_formats) / sizeof(gw_report_formats[0]))


int
gw_report_format_parse(const char *s, gw_report_format_e *fmt)
{
    size_t  i;

    if (s == NULL) {
        return -1;
    }

    for (i = 0; i < GW_REPORT_NFORMATS; i++) {
        if (strcmp(s, gw_report_formats[i].name) == 0) {
            *fmt = (gw_report_format_e) i;
            return 0;
        }
    }

    return -1;
}


const char *
gw_report_format_name(gw_report_format_e fmt)
{
    return (size_t) fmt < GW_REPORT_NFORMATS
           ? gw_report_formats[fmt].name : "";
}


const char *
gw_report_media_type(gw_report_format_e fmt)
{
    return (size_t) fmt < GW_REPORT_NFORMATS
           ? gw_report_formats[fmt].media : "application/octet-stream";
}


const char *
gw_report_extension(gw_report_format_e fmt)
{
    return (size_t) fmt < GW_REPORT_NFORMATS
           ? gw_report_formats[fmt].ext : "";
}


int
gw_report_spec_check(const gw_report_spec_t *spec, char *err,
    size_t errlen)
{
    int                        i, j, k;
    gw_report_tz_t             tz;
    const gw_report_chart_t   *ch;
    const gw_report_column_t  *c;

#define GW_SPEC_FAIL(...)                                                    \
    do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

    if (spec->title == NULL || spec->title[0] == '\0') {
        GW_SPEC_FAIL("the report has no title");
    }

    if (strlen(spec->title) > GW_REPORT_MAX_TEXT
        || (spec->subtitle && strlen(spec->subtitle) > GW_REPORT_MAX_TEXT))
    {
        GW_SPEC_FAIL("title or subtitle longer than %d bytes",
                     GW_REPORT_MAX_TEXT);
    }

    if (spec->ncolumns < 1 || spec->ncolumns > GW_REPORT_MAX_COLUMNS
        || spec->columns == NULL)
    {
        GW_SPEC_FAIL("between 1 and %d columns are needed",
                     GW_REPORT_MAX_COLUMNS);
    }

    for (i = 0; i < spec->ncolumns; i++) {
        c = &spec->columns[i];

        if (c->name == NULL || c->name[0] == '\0'
            || strlen(c->name) > GW_REPORT_MAX_NAME
            || !gw_report_utf8_valid(c->name, strlen(c->name)))
        {
            GW_SPEC_FAIL("column %d: a name of 1 to %d bytes of UTF-8 is "
                         "needed", i + 1, GW_REPORT_MAX_NAME);
        }

        for (j = 0; j < i; j++) {
            if (strcmp(spec->columns[j].name, c->name) == 0) {
                GW_SPEC_FAIL("column \"%s\" named twice", c->name);
            }
        }

        if (c->title && strlen(c->title) > GW_REPORT_MAX_TEXT) {
            GW_SPEC_FAIL("column \"%s\": title too long", c->name);
        }

        if ((unsigned) c->type > GW_REPORT_COL_BOOLEAN) {
            GW_SPEC_FAIL("column \"%s\": unknown type", c->name);
        }

        if (c->decimals < -1 || c->decimals > 10) {
            GW_SPEC_FAIL("column \"%s\": decimals from 0 to 10", c->name);
        }

        if (c->type == GW_REPORT_COL_CURRENCY
            && (c->currency == NULL || strlen(c->currency) != 3
                || strspn(c->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
        {
            GW_SPEC_FAIL("column \"%s\": a currency needs an ISO 4217 code",
                         c->name);
        }

        if (c->tz != NULL) {
            if (gw_report_tz_load(&tz, c->tz) != 0) {
                GW_SPEC_FAIL("column \"%s\": unknown time zone \"%.64s\"",
                             c->name, c->tz);
            }
            gw_report_tz_free(&tz);
        }
    }

    if (spec->tz != NULL) {
        if (gw_report_tz_load(&tz, spec->tz) != 0) {
            GW_SPEC_FAIL("unknown time zone \"%.64s\"", spec->tz);
        }
        gw_report_tz_free(&tz);
    }

    ch = &spec->chart;

    if (ch->type != GW_REPORT_CHART_NONE) {
        if ((unsigned) ch->type > GW_REPORT_CHART_PIE) {
            GW_SPEC_FAIL("unknown chart type");
        }

        if (ch->category < 0 || ch->category >= spec->ncolumns) {
            GW_SPEC_FAIL("chart: the category column is out of range");
        }

        if (ch->nseries < 1 || ch->nseries > GW_REPORT_MAX_SERIES) {
            GW_SPEC_FAIL("chart: 1 to %d series", GW_REPORT_MAX_SERIES);
        }

        for (k = 0; k < ch->nseries; k++) {
            j = ch->series[k];

            if (j < 0 || j >= spec->ncolumns) {
                GW_SPEC_FAIL("chart: series %d is out of range", k + 1);
            }

            switch (spec->columns[j].type) {
            case GW_REPORT_COL_INTEGER:
            case GW_REPORT_COL_NUMBER:
            case GW_REPORT_COL_CURRENCY:
            case GW_REPORT_COL_PERCENT:
                break;
            default:
                GW_SPEC_FAIL("chart: series column \"%s\" is not a number",
                             spec->columns[j].name);
            }
        }

        if (ch->title && strlen(ch->title) > GW_REPORT_MAX_TEXT) {
            GW_SPEC_FAIL("chart: title too long");
        }
    }

    if (spec->xlsx_max_rows == 1 || spec->xlsx_max_rows
                                    > GW_REPORT_XLSX_MAX_ROWS)
    {
        GW_SPEC_FAIL("xlsx_max_rows from 2 to %d", GW_REPORT_XLSX_MAX_ROWS);
    }

#undef GW_SPEC_FAIL

    return 0;
}


gw_report_writer_t *
gw_report_open(const gw_report_spec_t *spec, gw_report_format_e fmt,
    const char *path, char *err, size_t errlen)
{
    gw_report_writer_t  *w;

    if ((size_t) fmt >= GW_REPORT_NFORMATS) {
        snprintf(err, errlen, "unknown format");
        return NULL;
    }

    if (path == NULL || path[0] == '\0' || strlen(path) > 4000) {
        snprintf(err, errlen, "no file path, or one too long");
        return NULL;
    }

    if (gw_report_spec_check(spec, err, errlen) != 0) {
        return NULL;
    }

    w = calloc(1, sizeof(gw_report_writer_t));
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    w->fmt = fmt;
    w->ops = gw_report_formats[fmt].ops;

    if (gw_report_spec_copy(w, spec) != 0) {
        snprintf(err, errlen, "%s", w->err[0] ? w->err : "out of memory");
        gw_report_spec_free(w);
        free(w);
        return NULL;
    }

    if (fmt == GW_REPORT_PDF && spec->chart.type != GW_REPORT_CHART_NONE) {
        w->keep_points = 1;
    }

    if (w->ops->open(w, path) != 0) {
        snprintf(err, errlen, "%s", w->err);
        gw_report_spec_free(w);
        free(w);
        return NULL;
    }

    return w;
}


int
gw_report_row(gw_report_writer_t *w, const gw_report_value_t *values)
{
    int                       k;
    const char               *s;
    gw_report_point_t        *p;
    const gw_report_chart_t  *ch;

    if (w->failed) {
        return -1;
    }

    if (w->ops->row(w, values) != 0) {
        w->failed = 1;
        return -1;
    }

    w->rows++;

    if (!w->keep_points || w->npoints >= GW_REPORT_CHART_MAX_POINTS) {
        return 0;
    }

    if (w->npoints == w->points_cap) {
        k = w->points_cap ? w->points_cap * 2 : 64;
        p = realloc(w->points, k * sizeof(gw_report_point_t));
        if (p == NULL) {
            return gw_report_fail(w, "out of memory for the chart");
        }
        w->points = p;
        w->points_cap = k;
    }

    ch = &w->spec.chart;
    p = &w->points[w->npoints++];
    p->label[0] = '\0';

    {
        char     buf[128], *heap = NULL;
        size_t   n;

        s = gw_report_cell_text(w, ch->category, &values[ch->category], buf,
                                sizeof(buf), &heap, &n, 1);
        if (s != NULL) {
            if (n >= GW_REPORT_LABEL_MAX) {
                /* cut on a UTF-8 boundary */
                n = GW_REPORT_LABEL_MAX - 1;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
                    n--;
                }
            }
            memcpy(p->label, s, n);
            p->label[n] = '\0';
        }
        free(heap);
    }

    for (k = 0; k < ch->nseries; k++) {
        p->v[k] = gw_report_value_number(&values[ch->series[k]]);
    }

    return 0;
}


uint64_t
gw_report_rows(const gw_report_writer_t *w)
{
    return w->rows;
}


const char *
gw_report_error(const gw_report_writer_t *w)
{
    return w->err;
}


int
gw_report_close(gw_report_writer_t *w, char *err, size_t errlen)
{
    int  rc;

    rc = w->ops->close(w);

    if (w->failed) {
        rc = -1;
    }

    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", rc == 0 ? "" : w->err);
    }

    gw_report_spec_free(w);
    free(w->points);
    free(w);

    return rc;
}


int
gw_report_fail(gw_report_writer_t *w, const char *fmt, ...)
{
    va_list  ap;

    if (!w->failed) {
        va_start(ap, fmt);
        vsnprintf(w->err, sizeof(w->err), fmt, ap);
        va_end(ap);
        w->failed = 1;
    }

    return -1;
}


FILE *
gw_report_fopen(const char *path)
{
    int    fd;
    FILE  *fp;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        return NULL;
    }

    fp = fdopen(fd, "wb");
    if (fp == NULL) {
        close(fd);
    }

    return fp;
}


const gw_report_tz_t *
gw_report_col_tz(const gw_report_writer_t *w, int i)
{
    return w->cols[i].tz != NULL ? &w->coltz[i] : &w->tz;
}


double
gw_report_value_number(const gw_report_value_t *v)
{
    switch (v->kind) {
    case GW_REPORT_V_INT:
    case GW_REPORT_V_TIME:
        return (double) v->i;
    case GW_REPORT_V_DOUBLE:
        return v->d;
    default:
        return NAN;
    }
}


static int
gw_report_spec_copy(gw_report_writer_t *w, const gw_report_spec_t *spec)
{
    int                  i, failed;
    gw_report_spec_t    *s;
    gw_report_column_t  *c;

    failed = 0;
    s = &w->spec;
    *s = *spec;
    s->columns = NULL;
    s->title = gw_report_strdup(spec->title, &failed);
    s->subtitle = gw_report_strdup(spec->subtitle, &failed);
    s->chart.title = gw_report_strdup(spec->chart.title, &failed);
    s->tz = gw_report_strdup(spec->tz ? spec->tz : "UTC", &failed);

    w->cols = calloc(spec->ncolumns, sizeof(gw_report_column_t));
    w->coltz = calloc(spec->ncolumns, sizeof(gw_report_tz_t));
    if (w->cols == NULL || w->coltz == NULL || failed) {
        return -1;
    }

    s->columns = w->cols;

    for (i = 0; i < spec->ncolumns; i++) {
        c = &w->cols[i];
        *c = spec->columns[i];
        c->name = gw_report_strdup(c->name, &failed);
        c->title = gw_report_strdup(c->title ? c->title : spec->columns[i].name,
                                    &failed);
        c->currency = gw_report_strdup(c->currency, &failed);
        c->tz = gw_report_strdup(c->tz, &failed);

        if (c->decimals < 0) {
            c->decimals = (c->type == GW_REPORT_COL_PERCENT) ? 0
                          : (c->type == GW_REPORT_COL_CURRENCY
                             || c->type == GW_REPORT_COL_NUMBER) ? 2 : 0;
            if (c->type == GW_REPORT_COL_NUMBER) {
                c->decimals = -1;   /* shortest round trip */
            }
        }

        if (failed) {
            return -1;
        }

        if (c->tz != NULL && gw_report_tz_load(&w->coltz[i], c->tz) != 0) {
            snprintf(w->err, sizeof(w->err), "unknown time zone");
            return -1;
        }
    }

    if (gw_report_tz_load(&w->tz, s->tz) != 0) {
        snprintf(w->err, sizeof(w->err), "unknown time zone");
        return -1;
    }

    return 0;
}


static void
gw_report_spec_free(gw_report_writer_t *w)
{
    int  i;

    free((char *) w->spec.title);
    free((char *) w->spec.subtitle);
    free((char *) w->spec.chart.title);
    free((char *) w->spec.tz);

    if (w->cols != NULL) {
        for (i = 0; i < w->spec.ncolumns; i++) {
            free((char *) w->cols[i].name);
            free((char *) w->cols[i].title);
            free((char *) w->cols[i].currency);
            free((char *) w->cols[i].tz);
        }
    }

    if (w->coltz != NULL) {
        for (i = 0; i < w->spec.ncolumns; i++) {
            gw_report_tz_free(&w->coltz[i]);
        }
    }

    gw_report_tz_free(&w->tz);
    free(w->cols);
    free(w->coltz);
    w->cols = NULL;
    w->coltz = NULL;
}


static char *
gw_report_strdup(const char *s, int *failed)
{
    char  *p;

    if (s == NULL) {
        return NULL;
    }

    p = strdup(s);
    if (p == NULL) {
        *failed = 1;
    }

    return p;
}
