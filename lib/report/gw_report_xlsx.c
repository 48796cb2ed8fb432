/*
 * Copyright (C) Tollgate
 *
 * XLSX through libxlsxwriter in constant-memory mode: each row goes to
 * the sheet's temporary file as soon as the next one starts, so memory
 * stays flat whatever the row count.  The temporary files are made in
 * the output file's folder (the same disk, not a /tmp that may live in
 * memory).
 *
 * Values are typed: numbers as numbers with a number format per column
 * (integer "0", number by its decimals, currency "[$EUR] #,##0.00",
 * percent "0%"), dates and date-times as real Excel dates (the serial
 * day of the local time in the column's zone, with a date format),
 * booleans as booleans, text as inline strings cut at Excel's 32,767
 * characters.  The header row is bold, frozen and carries an autofilter;
 * column widths come from the titles and the first GW_XLSX_WIDTH_ROWS
 * rows.  A sheet holds spec.xlsx_max_rows rows with its header (Excel's
 * 1,048,576 by default); the next row starts a new sheet "Report 2",
 * header again.  The chart is a native Excel chart on the first sheet,
 * right of the table, whose series reference the first sheet's cells
 * (up to GW_REPORT_CHART_MAX_POINTS rows).
 */


#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "gw_report_int.h"


#define GW_XLSX_WIDTH_ROWS  100
#define GW_XLSX_WIDTH_MIN   8
#define GW_XLSX_WIDTH_MAX   60


typedef struct {
    lxw_workbook        *wb;
    lxw_worksheet       *ws;
    lxw_worksheet       *first;
    lxw_format          *bold;
    lxw_format         **fmt;        /* per column, NULL: General */
    double              *width;      /* per column, characters */
    uint32_t             row;        /* next row in ws */
    uint32_t             first_rows; /* data rows on the first sheet */
    uint32_t             cap;        /* rows per sheet, header too */
    unsigned             sheets;
    unsigned             widths_set:1;
} gw_xlsx_t;


static int gw_xlsx_open(gw_report_writer_t *w, const char *path);
static int gw_xlsx_row(gw_report_writer_t *w, const gw_report_value_t *v);
static int gw_xlsx_close(gw_report_writer_t *w);
static int gw_xlsx_sheet(gw_report_writer_t *w);
static void gw_xlsx_finish_sheet(gw_report_writer_t *w);
static void gw_xlsx_widths(gw_report_writer_t *w, lxw_worksheet *ws);
static int gw_xlsx_chart(gw_report_writer_t *w);
static double gw_xlsx_text_width(const char *s, size_t len);


const gw_report_ops_t  gw_report_xlsx_ops = {
    gw_xlsx_open, gw_xlsx_row, gw_xlsx_close
};


static int
gw_xlsx_open(gw_report_writer_t *w, const char *path)
{
    int                    i, k;
    char                   num[64], dir[4096];
    FILE                  *fp;
    gw_xlsx_t             *x;
    gw_report_column_t    *c;
    lxw_workbook_options   opt;

    x = calloc(1, sizeof(gw_xlsx_t));
    if (x == NULL) {
        return gw_report_fail(w, "out of memory");
    }

    w->data = x;
    x->cap = w->spec.xlsx_max_rows ? w->spec.xlsx_max_rows
                                   : GW_REPORT_XLSX_MAX_ROWS;
    x->fmt = calloc(w->spec.ncolumns, sizeof(lxw_format *));
    x->width = calloc(w->spec.ncolumns, sizeof(double));
    if (x->fmt == NULL || x->width == NULL) {
        goto nomem;
    }

    fp = gw_report_fopen(path);     /* mode 0600, kept by the library */
    if (fp == NULL) {
        gw_report_fail(w, "cannot create the file");
        goto failed;
    }
    fclose(fp);

    snprintf(dir, sizeof(dir), "%s", path);

    memset(&opt, 0, sizeof(opt));
    opt.constant_memory = LXW_TRUE;
    opt.tmpdir = dirname(dir);

    x->wb = workbook_new_opt(path, &opt);
    if (x->wb == NULL) {
        gw_report_fail(w, "cannot create the workbook");
        goto failed;
    }

    x->bold = workbook_add_format(x->wb);
    if (x->bold == NULL) {
        goto nomem;
    }
    format_set_bold(x->bold);

    for (i = 0; i < w->spec.ncolumns; i++) {
        c = &w->cols[i];
        num[0] = '\0';
        k = c->decimals > 0 ? c->decimals : 0;

        switch (c->type) {
        case GW_REPORT_COL_INTEGER:
            snprintf(num, sizeof(num), "0");
            break;
        case GW_REPORT_COL_NUMBER:
            if (c->decimals >= 0) {
                snprintf(num, sizeof(num), "0%s%.*s", k ? "." : "", k,
                         "0000000000");
            }
            break;
        case GW_REPORT_COL_CURRENCY:
            snprintf(num, sizeof(num), "[$%s] #,##0%s%.*s", c->currency,
                     k ? "." : "", k, "0000000000");
            break;
        case GW_REPORT_COL_PERCENT:
            snprintf(num, sizeof(num), "0%s%.*s%%", k ? "." : "", k,
                     "0000000000");
            break;
        case GW_REPORT_COL_DATE:
            snprintf(num, sizeof(num), "yyyy-mm-dd");
            break;
        case GW_REPORT_COL_DATETIME:
            snprintf(num, sizeof(num), "yyyy-mm-dd hh:mm:ss");
            break;
        default:
            break;
        }

        x->width[i] = gw_xlsx_text_width(c->title, strlen(c->title)) + 2;
        if (c->type == GW_REPORT_COL_DATETIME && x->width[i] < 20) {
            x->width[i] = 20;

        } else if (c->type == GW_REPORT_COL_DATE && x->width[i] < 12) {
            x->width[i] = 12;
        }

        if (num[0] == '\0') {
            continue;
        }

        x->fmt[i] = workbook_add_format(x->wb);
        if (x->fmt[i] == NULL) {
            goto nomem;
        }
        format_set_num_format(x->fmt[i], num);
    }

    if (gw_xlsx_sheet(w) != 0) {
        goto failed;
    }

    x->first = x->ws;

    return 0;

nomem:

    gw_report_fail(w, "out of memory");

failed:

    gw_xlsx_close(w);
    return -1;
}


/* adds a sheet and writes its header row */
static int
gw_xlsx_sheet(gw_report_writer_t *w)
{
    int         i;
    char        name[32];
    gw_xlsx_t  *x;

    x = w->data;

    if (x->ws != NULL) {
        gw_xlsx_finish_sheet(w);
    }

    x->sheets++;
    if (x->sheets == 1) {
        snprintf(name, sizeof(name), "Report");
    } else {
        snprintf(name, sizeof(name), "Report %u", x->sheets);
    }

    x->ws = workbook_add_worksheet(x->wb, name);
    if (x->ws == NULL) {
        return gw_report_fail(w, "cannot add sheet %u", x->sheets);
    }

    x->row = 0;

    for (i = 0; i < w->spec.ncolumns; i++) {
        if (worksheet_write_string(x->ws, 0, i, w->cols[i].title, x->bold)
            != LXW_NO_ERROR)
        {
            return gw_report_fail(w, "cannot write the header");
        }
    }

    worksheet_freeze_panes(x->ws, 1, 0);

    if (x->widths_set) {
        gw_xlsx_widths(w, x->ws);
    }

    x->row = 1;

    return 0;
}


/* the autofilter spans the header and the rows the sheet got */
static void
gw_xlsx_finish_sheet(gw_report_writer_t *w)
{
    gw_xlsx_t  *x;

    x = w->data;

    worksheet_autofilter(x->ws, 0, 0, x->row > 1 ? x->row - 1 : 0,
                         w->spec.ncolumns - 1);

    if (!x->widths_set) {
        gw_xlsx_widths(w, x->ws);
        x->widths_set = 1;
    }
}


static void
gw_xlsx_widths(gw_report_writer_t *w, lxw_worksheet *ws)
{
    int         i;
    gw_xlsx_t  *x;

    x = w->data;

    for (i = 0; i < w->spec.ncolumns; i++) {
        worksheet_set_column(ws, i, i, x->width[i] < GW_XLSX_WIDTH_MIN
                                       ? GW_XLSX_WIDTH_MIN : x->width[i],
                             NULL);
    }
}


static int
gw_xlsx_row(gw_report_writer_t *w, const gw_report_value_t *v)
{
    int                  i, date;
    char                 buf[512], *heap;
    size_t               n;
    double               d, cw;
    lxw_error            rc;
    gw_xlsx_t           *x;
    const char          *s;
    gw_report_column_t  *c;

    x = w->data;

    if (x->row >= x->cap && gw_xlsx_sheet(w) != 0) {
        return -1;
    }

    for (i = 0; i < w->spec.ncolumns; i++) {
        c = &w->cols[i];
        rc = LXW_NO_ERROR;
        cw = 0;

        switch (v[i].kind) {

        case GW_REPORT_NULL:
            continue;

        case GW_REPORT_V_TEXT:
            s = gw_report_cell_text(w, i, &v[i], buf, sizeof(buf), &heap, &n,
                                    0);
            if (s == NULL) {
                return gw_report_fail(w, "out of memory");
            }
            if (n > GW_REPORT_MAX_CELL) {
                /* bytes >= characters: cut on a UTF-8 boundary */
                n = GW_REPORT_MAX_CELL;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
                    n--;
                }
                ((char *) s)[n] = '\0';
            }
            if (!x->widths_set) {
                cw = gw_xlsx_text_width(s, n);
            }
            rc = worksheet_write_string(x->ws, x->row, i, s, NULL);
            free(heap);
            break;

        default:
            date = (c->type == GW_REPORT_COL_DATE
                    || c->type == GW_REPORT_COL_DATETIME);

            if (c->type == GW_REPORT_COL_BOOLEAN) {
                rc = worksheet_write_boolean(x->ws, x->row, i,
                                             v[i].kind == GW_REPORT_V_DOUBLE
                                             ? v[i].d != 0 : v[i].i != 0,
                                             NULL);
                break;
            }

            if (date && v[i].kind != GW_REPORT_V_DOUBLE) {
                d = gw_report_excel_date(v[i].i, gw_report_col_tz(w, i),
                                         c->type == GW_REPORT_COL_DATE);
            } else {
                d = gw_report_value_number(&v[i]);
            }

            if (d != d || d - d != 0) {
                continue;   /* NaN, infinity: an empty cell */
            }

            if (!x->widths_set && !date) {
                n = gw_report_fmt_double(buf, sizeof(buf), d, c->decimals);
                cw = n + (c->type == GW_REPORT_COL_CURRENCY ? 6 : 1);
            }

            rc = worksheet_write_number(x->ws, x->row, i, d, x->fmt[i]);
        }

        if (rc != LXW_NO_ERROR) {
            return gw_report_fail(w, "xlsx: %s", lxw_strerror(rc));
        }

        if (cw + 2 > x->width[i]) {
            x->width[i] = cw + 2 > GW_XLSX_WIDTH_MAX ? GW_XLSX_WIDTH_MAX
                                                     : cw + 2;
        }
    }

    if (x->ws == x->first) {
        x->first_rows++;
    }

    x->row++;

    if (!x->widths_set && w->rows + 1 >= GW_XLSX_WIDTH_ROWS) {
        gw_xlsx_widths(w, x->ws);
        x->widths_set = 1;
    }

    return 0;
}


static int
gw_xlsx_close(gw_report_writer_t *w)
{
    lxw_error   rc;
    gw_xlsx_t  *x;

    x = w->data;

    if (x == NULL) {
        return 0;
    }

    if (x->wb != NULL) {
        if (x->ws != NULL) {
            gw_xlsx_finish_sheet(w);
        }

        if (!w->failed && w->spec.chart.type != GW_REPORT_CHART_NONE
            && x->first_rows > 0)
        {
            gw_xlsx_chart(w);
        }

        rc = workbook_close(x->wb);
        if (rc != LXW_NO_ERROR) {
            gw_report_fail(w, "xlsx: %s", lxw_strerror(rc));
        }
    }

    free(x->fmt);
    free(x->width);
    free(x);
    w->data = NULL;

    return w->failed ? -1 : 0;
}


static int
gw_xlsx_chart(gw_report_writer_t *w)
{
    int                       k, n;
    uint8_t                   type;
    uint32_t                  last;
    lxw_chart                *chart;
    gw_xlsx_t                *x;
    lxw_chart_series         *s;
    const gw_report_chart_t  *ch;

    x = w->data;
    ch = &w->spec.chart;

    type = ch->type == GW_REPORT_CHART_LINE ? LXW_CHART_LINE
           : ch->type == GW_REPORT_CHART_PIE ? LXW_CHART_PIE
           : LXW_CHART_COLUMN;

    chart = workbook_add_chart(x->wb, type);
    if (chart == NULL) {
        return gw_report_fail(w, "cannot add the chart");
    }

    last = x->first_rows < GW_REPORT_CHART_MAX_POINTS
           ? x->first_rows : GW_REPORT_CHART_MAX_POINTS;
    n = ch->type == GW_REPORT_CHART_PIE ? 1 : ch->nseries;

    for (k = 0; k < n; k++) {
        s = chart_add_series(chart, NULL, NULL);
        if (s == NULL) {
            return gw_report_fail(w, "cannot add a chart series");
        }
        chart_series_set_categories(s, "Report", 1, ch->category, last,
                                    ch->category);
        chart_series_set_values(s, "Report", 1, ch->series[k], last,
                                ch->series[k]);
        chart_series_set_name_range(s, "Report", 0, ch->series[k]);
    }

    chart_title_set_name(chart, ch->title ? ch->title : w->spec.title);

    if (worksheet_insert_chart(x->first, 1, w->spec.ncolumns + 1, chart)
        != LXW_NO_ERROR)
    {
        return gw_report_fail(w, "cannot insert the chart");
    }

    return 0;
}


/* characters, roughly: UTF-8 lead bytes; wide scripts count double */
static double
gw_xlsx_text_width(const char *s, size_t len)
{
    size_t          i;
    double          n;
    unsigned char   ch;

    n = 0;

    for (i = 0; i < len; i++) {
        ch = (unsigned char) s[i];
        if ((ch & 0xc0) != 0x80) {
            n += (ch >= 0xe3 && ch <= 0xed) ? 2 : 1;   /* CJK, Hangul */
        }
    }

    return n > GW_XLSX_WIDTH_MAX ? GW_XLSX_WIDTH_MAX : n;
}
