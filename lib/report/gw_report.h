/*
 * gw_report: streaming report writers (CSV, JSON, NDJSON, XLSX, PDF).
 *
 * The reporting service runs a query and hands each result row to a
 * writer opened on a file; the writer renders it at once and forgets it.
 * No format keeps the rows in memory: CSV, JSON and NDJSON write through
 * a stdio buffer, XLSX uses libxlsxwriter's constant-memory mode (one row
 * in memory at a time), PDF draws each row onto the current cairo page.
 * The only state that grows with the rows is the chart's points, capped
 * at GW_REPORT_CHART_MAX_POINTS (the first points win; later rows still
 * go into the table but not the chart, and the chart title says so).
 *
 * Pure C: no service, libevent or nginx types.  A writer is not thread
 * safe; open, feed and close it on one thread (a worker thread: writing
 * blocks on the disk).  The caller converts each SQL value to the
 * column's type (gw_report_value_t); a value of the wrong kind for its
 * column is written as text where it can be, never a crash.
 *
 * Error handling: gw_report_row() and gw_report_close() return 0 or -1;
 * gw_report_error() gives a short text for the first error.  After an
 * error, further rows are refused; close still frees everything and
 * removes nothing (the caller unlinks the partial file).
 */

#ifndef _GW_REPORT_H_INCLUDED_
#define _GW_REPORT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_REPORT_MAX_COLUMNS        256
#define GW_REPORT_MAX_SERIES         8
#define GW_REPORT_MAX_NAME           128     /* bytes, column name */
#define GW_REPORT_MAX_TEXT           4096    /* bytes, title/subtitle */
#define GW_REPORT_MAX_CELL           32767   /* bytes, Excel's cell cap */
#define GW_REPORT_CHART_MAX_POINTS   10000   /* points kept for a chart */
#define GW_REPORT_XLSX_MAX_ROWS      1048576 /* Excel's rows per sheet */


typedef enum {
    GW_REPORT_CSV = 0,
    GW_REPORT_JSON,         /* one array of objects */
    GW_REPORT_NDJSON,       /* one object per line */
    GW_REPORT_XLSX,
    GW_REPORT_PDF
} gw_report_format_e;


typedef enum {
    GW_REPORT_COL_TEXT = 0,
    GW_REPORT_COL_INTEGER,
    GW_REPORT_COL_NUMBER,
    GW_REPORT_COL_CURRENCY,  /* currency + decimals */
    GW_REPORT_COL_PERCENT,   /* a fraction: 0.25 shows as 25% */
    GW_REPORT_COL_DATE,      /* epoch ms, shown as a date in spec tz */
    GW_REPORT_COL_DATETIME,  /* epoch ms, shown in the column's tz */
    GW_REPORT_COL_BOOLEAN
} gw_report_col_type_e;


typedef enum {
    GW_REPORT_CHART_NONE = 0,
    GW_REPORT_CHART_BAR,
    GW_REPORT_CHART_LINE,
    GW_REPORT_CHART_PIE      /* the first series only */
} gw_report_chart_type_e;


typedef struct {
    const char              *name;       /* JSON key; required */
    const char              *title;      /* header text; NULL: name */
    gw_report_col_type_e     type;
    int                      decimals;   /* number/currency/percent;
                                            -1: default (2, 2, 0) */
    const char              *currency;   /* ISO 4217, "EUR"; currency */
    const char              *tz;         /* IANA zone for datetime;
                                            NULL: the spec's tz */
} gw_report_column_t;


typedef struct {
    gw_report_chart_type_e   type;       /* NONE: no chart */
    const char              *title;      /* NULL: the report's title */
    int                      category;   /* column index (labels) */
    int                      series[GW_REPORT_MAX_SERIES];
                                         /* column indexes of numbers */
    int                      nseries;    /* 1..GW_REPORT_MAX_SERIES */
} gw_report_chart_t;


typedef struct {
    const char              *title;      /* required */
    const char              *subtitle;   /* e.g. the parameters; NULL */
    int64_t                  generated_at; /* epoch ms */
    const gw_report_column_t *columns;
    int                      ncolumns;   /* 1..GW_REPORT_MAX_COLUMNS */
    gw_report_chart_t        chart;
    const char              *tz;         /* IANA zone; NULL: "UTC" */
    unsigned                 csv_bom:1;  /* UTF-8 BOM for Excel */
    uint32_t                 xlsx_max_rows; /* rows per sheet; 0: Excel's
                                            cap; smaller only in tests */
} gw_report_spec_t;


typedef enum {
    GW_REPORT_NULL = 0,
    GW_REPORT_V_TEXT,        /* s, len: bytes, any (invalid UTF-8 is
                                replaced on output) */
    GW_REPORT_V_INT,         /* i: integer, boolean (0/1) */
    GW_REPORT_V_DOUBLE,      /* d: number, currency, percent */
    GW_REPORT_V_TIME         /* i: epoch ms, date, datetime */
} gw_report_value_e;


typedef struct {
    gw_report_value_e        kind;
    size_t                   len;
    const char              *s;
    int64_t                  i;
    double                   d;
} gw_report_value_t;


typedef struct gw_report_writer_s  gw_report_writer_t;


/*
 * Parses "csv", "json", "ndjson", "xlsx", "pdf" (exact, lower case).
 * Returns 0 and sets *fmt, or -1 for anything else.
 */
int gw_report_format_parse(const char *s, gw_report_format_e *fmt);

/* "csv", ..., for a format; "text/csv; charset=utf-8", ...; ".csv", ... */
const char *gw_report_format_name(gw_report_format_e fmt);
const char *gw_report_media_type(gw_report_format_e fmt);
const char *gw_report_extension(gw_report_format_e fmt);

/*
 * Checks a spec (names, caps, chart indexes, time zones known to the
 * system).  Returns 0, or -1 with a short text in err (errlen bytes).
 */
int gw_report_spec_check(const gw_report_spec_t *spec, char *err,
    size_t errlen);

/*
 * Opens a writer that creates (truncates) the file at path, mode 0600.
 * A path, not an fd: libxlsxwriter and the PDF writer need one.  The
 * spec is copied (the caller's strings may go away after open).
 * Returns the writer, or NULL with a short text in err.
 */
gw_report_writer_t *gw_report_open(const gw_report_spec_t *spec,
    gw_report_format_e fmt, const char *path, char *err, size_t errlen);

/*
 * Writes one row: values[0..ncolumns-1], in column order.  The values
 * are used during the call only.  Returns 0, or -1 (see gw_report_error).
 */
int gw_report_row(gw_report_writer_t *w, const gw_report_value_t *values);

/* Rows written so far. */
uint64_t gw_report_rows(const gw_report_writer_t *w);

/* The first error's text, or "" when there was none. */
const char *gw_report_error(const gw_report_writer_t *w);

/*
 * Finishes the file (closing brackets, the XLSX zip, the PDF chart page)
 * and frees the writer.  Returns 0, or -1 with the text copied into err
 * (which may be NULL).  Always frees w.
 */
int gw_report_close(gw_report_writer_t *w, char *err, size_t errlen);


#endif /* _GW_REPORT_H_INCLUDED_ */
