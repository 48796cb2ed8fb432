/*
 * Copyright (C) Tollgate
 *
 * report-render: the report writers (lib/report) from the command line,
 * for the format tests (the t/report suites) and the bench.  It reads a spec as
 * JSON, then rows as NDJSON on stdin (each line an array in column order
 * or an object keyed by column name; a date or date-time column takes
 * epoch milliseconds), and writes one file.  With -g N it makes N rows
 * of its own instead (the bench), and prints rows/s on stderr.
 *
 *   report-render -f csv|json|ndjson|xlsx|pdf -s spec.json -o out [-g N]
 *
 * Spec: {"title", "subtitle", "generated_at", "tz", "csv_bom",
 * "xlsx_max_rows", "columns": [{"name", "title", "type", "decimals",
 * "currency", "tz"}], "chart": {"type", "title", "category",
 * "series": [names]}}.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gw_report.h"


#define RR_LINE_MAX  (16 * 1024 * 1024)


static const char  *rr_types[] = {
    "text", "integer", "number", "currency", "percent", "date", "datetime",
    "boolean", NULL
};


static int
rr_column(json_t *spec, const char *name)
{
    size_t   i;
    json_t  *c;

    json_array_foreach(json_object_get(spec, "columns"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


static int
rr_spec(json_t *j, gw_report_spec_t *s, gw_report_column_t *cols)
{
    int          k;
    size_t       i;
    json_t      *c, *ch, *v;
    const char  *t;

    memset(s, 0, sizeof(gw_report_spec_t));
    s->title = json_string_value(json_object_get(j, "title"));
    s->subtitle = json_string_value(json_object_get(j, "subtitle"));
    s->generated_at = json_integer_value(json_object_get(j, "generated_at"));
    s->tz = json_string_value(json_object_get(j, "tz"));
    s->csv_bom = json_is_true(json_object_get(j, "csv_bom"));
    s->xlsx_max_rows = json_integer_value(json_object_get(j,
                                                          "xlsx_max_rows"));
    s->columns = cols;

    json_array_foreach(json_object_get(j, "columns"), i, c) {
        if (i >= GW_REPORT_MAX_COLUMNS) {
            return -1;
        }
        memset(&cols[i], 0, sizeof(gw_report_column_t));
        cols[i].name = json_string_value(json_object_get(c, "name"));
        cols[i].title = json_string_value(json_object_get(c, "title"));
        cols[i].currency = json_string_value(json_object_get(c, "currency"));
        cols[i].tz = json_string_value(json_object_get(c, "tz"));
        v = json_object_get(c, "decimals");
        cols[i].decimals = v ? (int) json_integer_value(v) : -1;
        t = json_string_value(json_object_get(c, "type"));
        for (k = 0; t != NULL && rr_types[k] != NULL; k++) {
            if (strcmp(t, rr_types[k]) == 0) {
                cols[i].type = k;
            }
        }
        s->ncolumns = i + 1;
    }

    ch = json_object_get(j, "chart");
    if (ch == NULL) {
        return 0;
    }

    t = json_string_value(json_object_get(ch, "type"));
    s->chart.type = t == NULL ? GW_REPORT_CHART_NONE
                    : strcmp(t, "bar") == 0 ? GW_REPORT_CHART_BAR
                    : strcmp(t, "line") == 0 ? GW_REPORT_CHART_LINE
                    : strcmp(t, "pie") == 0 ? GW_REPORT_CHART_PIE : 99;
    s->chart.title = json_string_value(json_object_get(ch, "title"));
    t = json_string_value(json_object_get(ch, "category"));
    s->chart.category = t ? rr_column(j, t) : -1;

    json_array_foreach(json_object_get(ch, "series"), i, v) {
        if (i >= GW_REPORT_MAX_SERIES || !json_is_string(v)) {
            return -1;
        }
        s->chart.series[i] = rr_column(j, json_string_value(v));
        s->chart.nseries = i + 1;
    }

    return 0;
}


static void
rr_value(json_t *v, gw_report_value_t *out, gw_report_col_type_e type)
{
    memset(out, 0, sizeof(gw_report_value_t));

    if (json_is_string(v)) {
        out->kind = GW_REPORT_V_TEXT;
        out->s = json_string_value(v);
        out->len = json_string_length(v);

    } else if (json_is_integer(v)) {
        out->kind = (type == GW_REPORT_COL_DATE
                     || type == GW_REPORT_COL_DATETIME)
                    ? GW_REPORT_V_TIME : GW_REPORT_V_INT;
        out->i = json_integer_value(v);

    } else if (json_is_real(v)) {
        out->kind = GW_REPORT_V_DOUBLE;
        out->d = json_real_value(v);

    } else if (json_is_boolean(v)) {
        out->kind = GW_REPORT_V_INT;
        out->i = json_is_true(v);
    }
}


/* synthetic rows for the bench: a value of each column's type */
static void
rr_gen(const gw_report_spec_t *s, uint64_t n, gw_report_value_t *v,
    char *text, size_t len)
{
    int  i;

    for (i = 0; i < s->ncolumns; i++) {
        memset(&v[i], 0, sizeof(gw_report_value_t));
        switch (s->columns[i].type) {
        case GW_REPORT_COL_TEXT:
            v[i].kind = GW_REPORT_V_TEXT;
            v[i].len = snprintf(text, len, "consumer-%llu",
                                (unsigned long long) (n % 5000));
            v[i].s = text;
            break;
        case GW_REPORT_COL_INTEGER:
        case GW_REPORT_COL_BOOLEAN:
            v[i].kind = GW_REPORT_V_INT;
            v[i].i = (int64_t) (n * 7 % 100000);
            break;
        case GW_REPORT_COL_DATE:
        case GW_REPORT_COL_DATETIME:
            v[i].kind = GW_REPORT_V_TIME;
            v[i].i = 1765000000000LL + (int64_t) n * 60000;
            break;
        case GW_REPORT_COL_PERCENT:
            v[i].kind = GW_REPORT_V_DOUBLE;
            v[i].d = (double) (n % 100) / 100;
            break;
        default:
            v[i].kind = GW_REPORT_V_DOUBLE;
            v[i].d = (double) (n % 100000) * 1.25;
        }
    }
}


int
main(int argc, char **argv)
{
    int                  o, i, rc;
    char                 err[256], text[64], *line;
    long long            gen;
    size_t               cap;
    ssize_t              n;
    double               secs;
    json_t              *spec, *row, *cell;
    uint64_t             r;
    const char          *fmtname, *specpath, *out;
    json_error_t         jerr;
    struct timespec      t0, t1;
    gw_report_spec_t     s;
    gw_report_value_t    v[GW_REPORT_MAX_COLUMNS];
    gw_report_writer_t  *w;
    gw_report_format_e   fmt;
    gw_report_column_t   cols[GW_REPORT_MAX_COLUMNS];

    fmtname = NULL;
    specpath = NULL;
    out = NULL;
    gen = -1;

    while ((o = getopt(argc, argv, "f:s:o:g:")) != -1) {
        switch (o) {
        case 'f': fmtname = optarg; break;
        case 's': specpath = optarg; break;
        case 'o': out = optarg; break;
        case 'g': gen = atoll(optarg); break;
        default: goto usage;
        }
    }

    if (fmtname == NULL || specpath == NULL || out == NULL) {
        goto usage;
    }

    if (gw_report_format_parse(fmtname, &fmt) != 0) {
        fprintf(stderr, "report-render: unknown format \"%s\"\n", fmtname);
        return 2;
    }

    spec = json_load_file(specpath, 0, &jerr);
    if (spec == NULL || rr_spec(spec, &s, cols) != 0) {
        fprintf(stderr, "report-render: bad spec: %s\n",
                spec ? "too many columns or series" : jerr.text);
        return 2;
    }

    w = gw_report_open(&s, fmt, out, err, sizeof(err));
    if (w == NULL) {
        fprintf(stderr, "report-render: %s\n", err);
        json_decref(spec);
        return 1;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = 0;

    if (gen >= 0) {
        for (r = 0; r < (uint64_t) gen && rc == 0; r++) {
            rr_gen(&s, r, v, text, sizeof(text));
            rc = gw_report_row(w, v);
        }

    } else {
        line = NULL;
        cap = 0;

        while (rc == 0 && (n = getline(&line, &cap, stdin)) > 0) {
            if (n > RR_LINE_MAX) {
                fprintf(stderr, "report-render: line too long\n");
                rc = -1;
                break;
            }
            row = json_loadb(line, n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                             &jerr);
            if (row == NULL) {
                fprintf(stderr, "report-render: bad row: %s\n", jerr.text);
                rc = -1;
                break;
            }
            for (i = 0; i < s.ncolumns; i++) {
                cell = json_is_array(row) ? json_array_get(row, i)
                       : json_object_get(row, cols[i].name);
                rr_value(cell, &v[i], cols[i].type);
            }
            rc = gw_report_row(w, v);
            json_decref(row);
        }

        free(line);
    }

    if (rc != 0 && gw_report_error(w)[0] != '\0') {
        fprintf(stderr, "report-render: %s\n", gw_report_error(w));
    }

    r = gw_report_rows(w);

    if (gw_report_close(w, err, sizeof(err)) != 0) {
        fprintf(stderr, "report-render: %s\n", err);
        rc = -1;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    if (gen >= 0) {
        fprintf(stderr, "report-render: %s %llu rows in %.3f s: %.0f rows/s\n",
                fmtname, (unsigned long long) r, secs,
                secs > 0 ? r / secs : 0);
    }

    json_decref(spec);

    return rc == 0 ? 0 : 1;

usage:

    fprintf(stderr, "usage: report-render -f FORMAT -s SPEC.json -o OUT "
            "[-g ROWS]\n");
    return 2;
}
