
/*
 * Copyright (C) Tollgate
 *
 * The report writers' contract (lib/report/gw_report.h): format names,
 * media types and extensions; the spec check's refusals (no title, no or
 * too many columns, a name twice, a currency without an ISO code, a
 * chart series that is not a number, an unknown zone, a 1-row sheet);
 * CSV and JSON of raw bytes (invalid UTF-8 replaced, never a raw
 * control byte outside quotes, formulas neutralised, typed numbers not);
 * row counts; a write error reported by close; a file that cannot be
 * created; every format opened and closed with no rows; the PDF chart
 * keeping at most GW_REPORT_CHART_MAX_POINTS points.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_report_int.h"
#include "tap.h"


static char  dir[] = "/tmp/test_report_XXXXXX";


static char *
slurp(const char *path, size_t *len)
{
    FILE   *fp;
    char   *p;
    long    n;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    p = malloc(n + 1);
    if (p == NULL || fread(p, 1, n, fp) != (size_t) n) {
        free(p);
        fclose(fp);
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    fclose(fp);
    return p;
}


static gw_report_value_t
text(const char *s, size_t len)
{
    gw_report_value_t  v;

    memset(&v, 0, sizeof(v));
    v.kind = GW_REPORT_V_TEXT;
    v.s = s;
    v.len = len;
    return v;
}


static gw_report_value_t
num(double d)
{
    gw_report_value_t  v;

    memset(&v, 0, sizeof(v));
    v.kind = GW_REPORT_V_DOUBLE;
    v.d = d;
    return v;
}


static gw_report_value_t
integer(int64_t i)
{
    gw_report_value_t  v;

    memset(&v, 0, sizeof(v));
    v.kind = GW_REPORT_V_INT;
    v.i = i;
    return v;
}


int
main(void)
{
    int                   i, rc;
    char                  err[256], path[128], *p;
    size_t                n;
    gw_report_spec_t      s, bad;
    gw_report_value_t     row[3];
    gw_report_writer_t   *w;
    gw_report_format_e    fmt;
    gw_report_column_t    cols[3], bcols[2];
    static const char    *names[] = { "csv", "json", "ndjson", "xlsx",
                                      "pdf" };

    if (mkdtemp(dir) == NULL) {
        return 255;
    }

    /* names */
    for (i = 0; i < 5; i++) {
        ok(gw_report_format_parse(names[i], &fmt) == 0 && (int) fmt == i,
           "parse %s", names[i]);
        is_str(gw_report_format_name(fmt), names[i], "name of %s", names[i]);
    }
    ok(gw_report_format_parse("CSV", &fmt) == -1, "names are lower case");
    ok(gw_report_format_parse("docx", &fmt) == -1, "unknown format");
    is_str(gw_report_media_type(GW_REPORT_CSV), "text/csv; charset=utf-8",
           "CSV media type");
    is_str(gw_report_media_type(GW_REPORT_XLSX),
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "XLSX media type");
    is_str(gw_report_extension(GW_REPORT_PDF), ".pdf", "PDF extension");
    is_str(gw_report_extension(GW_REPORT_NDJSON), ".ndjson",
           "NDJSON extension");

    /* the spec */
    memset(cols, 0, sizeof(cols));
    cols[0].name = "who";
    cols[0].type = GW_REPORT_COL_TEXT;
    cols[1].name = "n";
    cols[1].type = GW_REPORT_COL_INTEGER;
    cols[2].name = "eur";
    cols[2].type = GW_REPORT_COL_CURRENCY;
    cols[2].currency = "EUR";
    cols[2].decimals = -1;

    memset(&s, 0, sizeof(s));
    s.title = "t";
    s.columns = cols;
    s.ncolumns = 3;
    ok(gw_report_spec_check(&s, err, sizeof(err)) == 0, "a good spec");

#define REFUSED(what, expect)                                                \
    ok(gw_report_spec_check(&bad, err, sizeof(err)) == -1                    \
       && strstr(err, expect) != NULL, "refused: %s (%s)", what, err)

    bad = s;
    bad.title = "";
    REFUSED("no title", "no title");
    bad = s;
    bad.ncolumns = 0;
    REFUSED("no columns", "columns");
    bad = s;
    bad.ncolumns = GW_REPORT_MAX_COLUMNS + 1;
    REFUSED("too many columns", "columns");
    memcpy(bcols, cols, sizeof(bcols));
    bcols[1].name = "who";
    bad = s;
    bad.columns = bcols;
    bad.ncolumns = 2;
    REFUSED("a name twice", "twice");
    bcols[1].name = "a\xff";
    REFUSED("a name that is not UTF-8", "UTF-8");
    bcols[1] = cols[2];
    bcols[1].currency = "eu";
    REFUSED("a bad currency", "ISO 4217");
    bad = s;
    bad.tz = "Nowhere/Land";
    REFUSED("an unknown zone", "unknown time zone");
    bad = s;
    bad.xlsx_max_rows = 1;
    REFUSED("a 1-row sheet", "xlsx_max_rows");
    bad = s;
    bad.chart.type = GW_REPORT_CHART_BAR;
    bad.chart.category = 0;
    bad.chart.nseries = 1;
    bad.chart.series[0] = 0;
    REFUSED("a text series", "not a number");
    bad.chart.series[0] = 7;
    REFUSED("a series out of range", "out of range");
    bad.chart.series[0] = 1;
    bad.chart.nseries = GW_REPORT_MAX_SERIES + 1;
    REFUSED("too many series", "series");

    /* CSV of raw bytes */
    snprintf(path, sizeof(path), "%s/a.csv", dir);
    w = gw_report_open(&s, GW_REPORT_CSV, path, err, sizeof(err));
    ok(w != NULL, "open csv");
    row[0] = text("=cmd|' /C calc'!A0", 18);
    row[1] = integer(-5);
    row[2] = num(-1.5);
    ok(gw_report_row(w, row) == 0, "row 1");
    row[0] = text("bad \xff\xfe utf8\x01", 12);
    row[1].kind = GW_REPORT_NULL;
    row[2] = text("-1", 2);
    ok(gw_report_row(w, row) == 0, "row 2");
    is_int(gw_report_rows(w), 2, "two rows");
    ok(gw_report_close(w, err, sizeof(err)) == 0, "close csv");
    p = slurp(path, &n);
    is_str(p, "who,n,eur\r\n"
              "'=cmd|' /C calc'!A0,-5,-1.50\r\n"
              "\"bad \xef\xbf\xbd\xef\xbf\xbd utf8\x01\",,'-1\r\n",
           "CSV: neutralised text, typed numbers, U+FFFD, quoted control");
    free(p);

    /* JSON of raw bytes */
    snprintf(path, sizeof(path), "%s/a.json", dir);
    w = gw_report_open(&s, GW_REPORT_JSON, path, err, sizeof(err));
    ok(w != NULL, "open json");
    ok(gw_report_row(w, row) == 0, "json row");
    ok(gw_report_close(w, err, sizeof(err)) == 0, "close json");
    p = slurp(path, &n);
    is_str(p, "[\n{\"who\":\"bad \xef\xbf\xbd\xef\xbf\xbd utf8\\u0001\","
              "\"n\":null,"
              "\"eur\":\"-1\"}\n]\n",
           "JSON: U+FFFD, escaped control, text in a number column kept");
    free(p);

    /* errors */
    w = gw_report_open(&s, GW_REPORT_CSV, "/nonexistent/dir/x.csv", err,
                       sizeof(err));
    ok(w == NULL && strstr(err, "cannot create") != NULL,
       "a file that cannot be created: %s", err);

    w = gw_report_open(&s, GW_REPORT_CSV, "", err, sizeof(err));
    ok(w == NULL && strstr(err, "path") != NULL, "an empty path: %s", err);

    if (access("/dev/full", W_OK) == 0) {
        w = gw_report_open(&s, GW_REPORT_CSV, "/dev/full", err, sizeof(err));
        ok(w != NULL, "open /dev/full");
        row[0] = text("x", 1);
        for (i = 0, rc = 0; i < 100000 && rc == 0; i++) {
            rc = gw_report_row(w, row);
        }
        rc = gw_report_close(w, err, sizeof(err));
        ok(rc == -1 && strstr(err, "write error") != NULL,
           "a full disk is an error: %s", err);
    }

    /* every format with no rows */
    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "%s/empty.%s", dir, names[i]);
        w = gw_report_open(&s, (gw_report_format_e) i, path, err,
                           sizeof(err));
        ok(w != NULL && gw_report_close(w, err, sizeof(err)) == 0,
           "%s with no rows: %s", names[i], err);
        ok(access(path, R_OK) == 0, "%s file written", names[i]);
        unlink(path);
    }

    /* the PDF chart's cap */
    s.chart.type = GW_REPORT_CHART_LINE;
    s.chart.category = 0;
    s.chart.nseries = 1;
    s.chart.series[0] = 1;
    snprintf(path, sizeof(path), "%s/cap.pdf", dir);
    w = gw_report_open(&s, GW_REPORT_PDF, path, err, sizeof(err));
    ok(w != NULL, "open pdf with a chart");
    row[0] = text("c", 1);
    row[1] = integer(1);
    row[2] = num(1);
    for (i = 0, rc = 0; i < GW_REPORT_CHART_MAX_POINTS + 50 && rc == 0; i++) {
        row[1].i = i;
        rc = gw_report_row(w, row);
    }
    is_int(w->npoints, GW_REPORT_CHART_MAX_POINTS, "the chart keeps the cap");
    is_int(gw_report_rows(w), GW_REPORT_CHART_MAX_POINTS + 50,
           "the table has every row");
    ok(gw_report_close(w, err, sizeof(err)) == 0, "close pdf: %s", err);
    unlink(path);

    snprintf(path, sizeof(path), "%s/a.csv", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/a.json", dir);
    unlink(path);
    rmdir(dir);

    return done_testing();
}
