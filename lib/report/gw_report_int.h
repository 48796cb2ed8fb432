/*
 * gw_report internals: the writer shared by every format, the format's
 * operations, the text helpers (UTF-8 repair, numbers, RFC 3339 dates)
 * and the time zone tables read from the system's TZif files.
 *
 * Each format is a set of three operations behind the writer; the core
 * (gw_report.c) checks and copies the spec, counts rows, records the
 * first error and keeps the chart's points for the formats that draw the
 * chart themselves (PDF).
 */

#ifndef _GW_REPORT_INT_H_INCLUDED_
#define _GW_REPORT_INT_H_INCLUDED_


#include <stdio.h>

#include "gw_report.h"


#define GW_REPORT_ERRLEN        256
#define GW_REPORT_LABEL_MAX     64      /* bytes of a chart label kept */


/* one time zone: its transitions and offsets (seconds east of UTC) */
typedef struct {
    int64_t                 *at;        /* transition times, UTC s */
    int32_t                 *off;       /* offset from at[i] on */
    uint32_t                 n;
    int32_t                  first;     /* offset before at[0] */
} gw_report_tz_t;


typedef struct {
    char                     label[GW_REPORT_LABEL_MAX];
    double                   v[GW_REPORT_MAX_SERIES];
} gw_report_point_t;


typedef struct gw_report_ops_s  gw_report_ops_t;


struct gw_report_writer_s {
    gw_report_format_e       fmt;
    gw_report_spec_t         spec;      /* deep copy */
    gw_report_column_t      *cols;      /* spec.columns, owned */
    gw_report_tz_t           tz;        /* the spec's zone */
    gw_report_tz_t          *coltz;     /* per column; NULL: tz */
    const gw_report_ops_t   *ops;
    void                    *data;      /* the format's state */
    uint64_t                 rows;
    gw_report_point_t       *points;    /* PDF chart only */
    uint32_t                 npoints;
    uint32_t                 points_cap;
    unsigned                 keep_points:1;
    unsigned                 failed:1;
    char                     err[GW_REPORT_ERRLEN];
};


struct gw_report_ops_s {
    int   (*open)(gw_report_writer_t *w, const char *path);
    int   (*row)(gw_report_writer_t *w, const gw_report_value_t *v);
    int   (*close)(gw_report_writer_t *w);  /* frees w->data always */
};


extern const gw_report_ops_t  gw_report_csv_ops;
extern const gw_report_ops_t  gw_report_json_ops;
extern const gw_report_ops_t  gw_report_ndjson_ops;
extern const gw_report_ops_t  gw_report_xlsx_ops;
extern const gw_report_ops_t  gw_report_pdf_ops;


/* records the first error (printf style); returns -1 */
int gw_report_fail(gw_report_writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Creates (truncates) path with mode 0600 and opens it for writing;
 * NULL on failure.  The XLSX and PDF writers call it and close the file
 * before their library opens the path again, which keeps the mode.
 */
FILE *gw_report_fopen(const char *path);

/* the zone of column i (its own, or the spec's) */
const gw_report_tz_t *gw_report_col_tz(const gw_report_writer_t *w, int i);


/* --- gw_report_text.c --- */

/*
 * Copies src (len bytes) into out as valid UTF-8: each invalid sequence
 * becomes U+FFFD and NUL becomes U+FFFD.  out must hold 3 * len + 1
 * bytes; returns the bytes written (NUL terminated).
 */
size_t gw_report_utf8_fix(char *out, const char *src, size_t len);

/* 1 when src is valid UTF-8 without NUL */
int gw_report_utf8_valid(const char *src, size_t len);

/*
 * Formats a number: decimals >= 0 fixed, else the shortest text that
 * reads back as the same double.  Non-finite: "".  buf >= 64 bytes.
 */
int gw_report_fmt_double(char *buf, size_t len, double d, int decimals);

/* the offset (s east of UTC) of zone tz at epoch ms */
int32_t gw_report_tz_offset(const gw_report_tz_t *tz, int64_t ms);

/* loads zone name ("UTC", "Europe/Paris"); 0 or -1 (unknown zone) */
int gw_report_tz_load(gw_report_tz_t *tz, const char *name);
void gw_report_tz_free(gw_report_tz_t *tz);

/*
 * RFC 3339 text of epoch ms in zone tz: date_only "YYYY-MM-DD", else
 * "YYYY-MM-DDTHH:MM:SS[.mmm]+hh:mm" ("Z" for a zero offset in UTC).
 * buf >= 40 bytes.  Returns the length.
 */
int gw_report_fmt_time(char *buf, size_t len, int64_t ms,
    const gw_report_tz_t *tz, int date_only);

/* local (zone-shifted) time, as Excel's serial day number */
double gw_report_excel_date(int64_t ms, const gw_report_tz_t *tz,
    int date_only);

/*
 * The text of a cell for CSV and the PDF table (no quoting): numbers,
 * dates and booleans by the column's type; text fixed to valid UTF-8.
 * Returns a pointer to buf or to *heap (malloc'ed when buf is too small;
 * the caller frees *heap), or NULL on allocation failure.  *outlen is
 * the length.  pdf: numbers with thousands' grouping and currency code.
 */
const char *gw_report_cell_text(gw_report_writer_t *w, int col,
    const gw_report_value_t *v, char *buf, size_t buflen, char **heap,
    size_t *outlen, int pdf);

/* the value as a double for a chart (NaN when there is none) */
double gw_report_value_number(const gw_report_value_t *v);


#endif /* _GW_REPORT_INT_H_INCLUDED_ */
