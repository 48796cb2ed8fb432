/*
 * Copyright (C) Tollgate
 *
 * The PDF chart page: bars (grouped, one colour per series), lines (one
 * polyline per series) or a pie (the first series' positive values), as
 * cairo vector paths, with a title, a value axis with "nice" ticks (1, 2
 * or 5 times a power of ten), category labels (thinned out to about 30
 * where there are more), and a legend.  Labels are pango layouts, so
 * category names in any script come out as the table shows them.  The
 * points are the first GW_REPORT_CHART_MAX_POINTS rows; when the report
 * had more, the title says so.
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gw_report_pdf.h"


#define GW_CHART_MARGIN   48.0
#define GW_CHART_LABELS   30      /* category labels at most */
#define GW_CHART_SLICES   12      /* pie slices in the legend */


static const double  gw_chart_colors[GW_REPORT_MAX_SERIES][3] = {
    { 0.25, 0.47, 0.75 }, { 0.93, 0.49, 0.19 }, { 0.44, 0.68, 0.28 },
    { 0.80, 0.24, 0.26 }, { 0.56, 0.41, 0.74 }, { 0.55, 0.34, 0.29 },
    { 0.89, 0.47, 0.76 }, { 0.50, 0.50, 0.50 },
};


static void gw_chart_text(cairo_t *cr, PangoLayout *l, double x, double y,
    double width, const char *s, PangoAlignment align);
static double gw_chart_nice(double span);
static void gw_chart_pie(gw_report_writer_t *w, cairo_t *cr,
    PangoLayout *l, double x, double y, double width, double height);


void
gw_report_pdf_chart(gw_report_writer_t *w, cairo_t *cr, PangoLayout *l,
    double pw, double ph)
{
    int                       k, ns, step;
    char                      title[GW_REPORT_MAX_TEXT + 64], num[64];
    double                    lo, hi, tick, v, x0, y0, pwid, phgt, gx, bw,
                              yv, bx;
    uint32_t                  i;
    PangoFontDescription     *fd;
    const gw_report_chart_t  *ch;

    ch = &w->spec.chart;
    ns = ch->type == GW_REPORT_CHART_PIE ? 1 : ch->nseries;

    snprintf(title, sizeof(title), "%s%s", ch->title ? ch->title
                                                     : w->spec.title,
             w->rows > w->npoints ? " (first rows)" : "");

    pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    fd = pango_font_description_from_string("Sans Bold 14");
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    cairo_set_source_rgb(cr, 0, 0, 0);
    gw_chart_text(cr, l, GW_CHART_MARGIN, GW_CHART_MARGIN - 12,
                  pw - 2 * GW_CHART_MARGIN, title, PANGO_ALIGN_CENTER);

    fd = pango_font_description_from_string("Sans 7");
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);

    /* the legend, one line at the bottom */
    for (k = 0; k < ns && ch->type != GW_REPORT_CHART_PIE; k++) {
        bx = GW_CHART_MARGIN + k * (pw - 2 * GW_CHART_MARGIN) / ns;
        cairo_set_source_rgb(cr, gw_chart_colors[k][0], gw_chart_colors[k][1],
                             gw_chart_colors[k][2]);
        cairo_rectangle(cr, bx, ph - GW_CHART_MARGIN - 8, 8, 8);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        gw_chart_text(cr, l, bx + 11, ph - GW_CHART_MARGIN - 9,
                      (pw - 2 * GW_CHART_MARGIN) / ns - 14,
                      w->cols[ch->series[k]].title, PANGO_ALIGN_LEFT);
    }

    if (ch->type == GW_REPORT_CHART_PIE) {
        gw_chart_pie(w, cr, l, GW_CHART_MARGIN, GW_CHART_MARGIN + 20,
                     pw - 2 * GW_CHART_MARGIN, ph - 2 * GW_CHART_MARGIN - 20);
        return;
    }

    /* the plot area: room for the value labels left, categories below */
    x0 = GW_CHART_MARGIN + 50;
    pwid = pw - GW_CHART_MARGIN - x0;
    y0 = GW_CHART_MARGIN + 24;
    phgt = ph - 2 * GW_CHART_MARGIN - 24 - 110;

    lo = 0;
    hi = 0;
    for (i = 0; i < w->npoints; i++) {
        for (k = 0; k < ns; k++) {
            v = w->points[i].v[k];
            if (isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    }

    tick = gw_chart_nice((hi - lo) / 5);
    lo = floor(lo / tick) * tick;
    hi = ceil(hi / tick) * tick;
    if (hi <= lo) {
        hi = lo + tick;
    }

#define GW_Y(val)  (y0 + phgt - ((val) - lo) / (hi - lo) * phgt)

    /* grid lines and value labels */
    cairo_set_line_width(cr, 0.4);
    for (v = lo; v <= hi + tick / 2; v += tick) {
        yv = GW_Y(v);
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
        cairo_move_to(cr, x0, yv);
        cairo_line_to(cr, x0 + pwid, yv);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(num, sizeof(num), "%g", fabs(v) < tick / 1e6 ? 0 : v);
        gw_chart_text(cr, l, x0 - 50, yv - 5, 46, num, PANGO_ALIGN_RIGHT);
    }

    /* axes */
    cairo_set_line_width(cr, 0.8);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x0, y0 + phgt);
    cairo_move_to(cr, x0, GW_Y(0));
    cairo_line_to(cr, x0 + pwid, GW_Y(0));
    cairo_stroke(cr);

    gx = pwid / w->npoints;     /* a category's width */
    bw = gx * 0.8 / ns;

    for (k = 0; k < ns; k++) {
        cairo_set_source_rgb(cr, gw_chart_colors[k][0], gw_chart_colors[k][1],
                             gw_chart_colors[k][2]);

        if (ch->type == GW_REPORT_CHART_BAR) {
            for (i = 0; i < w->npoints; i++) {
                v = w->points[i].v[k];
                if (!isfinite(v)) {
                    continue;
                }
                bx = x0 + i * gx + gx * 0.1 + k * bw;
                cairo_rectangle(cr, bx, fmin(GW_Y(v), GW_Y(0)), bw,
                                fabs(GW_Y(v) - GW_Y(0)));
            }
            cairo_fill(cr);
            continue;
        }

        /* a line; a gap where a value is missing */
        cairo_set_line_width(cr, 1.2);
        cairo_new_path(cr);
        for (i = 0; i < w->npoints; i++) {
            v = w->points[i].v[k];
            if (!isfinite(v)) {
                cairo_new_sub_path(cr);
                continue;
            }
            cairo_line_to(cr, x0 + (i + 0.5) * gx, GW_Y(v));
        }
        cairo_stroke(cr);
    }

#undef GW_Y

    /* category labels, rotated, every step-th */
    cairo_set_source_rgb(cr, 0, 0, 0);
    step = (w->npoints + GW_CHART_LABELS - 1) / GW_CHART_LABELS;
    for (i = 0; i < w->npoints; i += step) {
        cairo_save(cr);
        cairo_translate(cr, x0 + (i + 0.5) * gx + 3, y0 + phgt + 4);
        cairo_rotate(cr, M_PI / 2 * 0.6);
        gw_chart_text(cr, l, 0, 0, 100, w->points[i].label,
                      PANGO_ALIGN_LEFT);
        cairo_restore(cr);
    }

    gw_chart_text(cr, l, x0, y0 + phgt + 85, pwid,
                  w->cols[ch->category].title, PANGO_ALIGN_CENTER);
}


static void
gw_chart_pie(gw_report_writer_t *w, cairo_t *cr, PangoLayout *l, double x,
    double y, double width, double height)
{
    int       c;
    char      line[GW_REPORT_LABEL_MAX + 128], num[64];
    double    total, a, da, r, cx, cy, v, ly;
    uint32_t  i;

    total = 0;
    for (i = 0; i < w->npoints; i++) {
        v = w->points[i].v[0];
        if (isfinite(v) && v > 0) {
            total += v;
        }
    }

    if (total <= 0) {
        gw_chart_text(cr, l, x, y + 20, width, "No positive values to show",
                      PANGO_ALIGN_CENTER);
        return;
    }

    r = fmin(width, height * 0.6) / 2 - 10;
    cx = x + width / 2;
    cy = y + r + 10;
    a = -M_PI / 2;
    ly = cy + r + 24;

    for (i = 0, c = 0; i < w->npoints; i++) {
        v = w->points[i].v[0];
        if (!isfinite(v) || v <= 0) {
            continue;
        }

        da = v / total * 2 * M_PI;
        cairo_set_source_rgb(cr, gw_chart_colors[c % 8][0],
                             gw_chart_colors[c % 8][1],
                             gw_chart_colors[c % 8][2]);
        cairo_move_to(cr, cx, cy);
        cairo_arc(cr, cx, cy, r, a, a + da);
        cairo_close_path(cr);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 0.5);
        cairo_stroke(cr);
        a += da;

        if (c < GW_CHART_SLICES) {
            cairo_set_source_rgb(cr, gw_chart_colors[c % 8][0],
                                 gw_chart_colors[c % 8][1],
                                 gw_chart_colors[c % 8][2]);
            cairo_rectangle(cr, x + width / 4, ly + 1, 8, 8);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            snprintf(num, sizeof(num), "%.1f%%", v / total * 100);
            snprintf(line, sizeof(line), "%s  %s", w->points[i].label, num);
            gw_chart_text(cr, l, x + width / 4 + 12, ly, width / 2, line,
                          PANGO_ALIGN_LEFT);
            ly += 12;
        }

        c++;
    }

    if (c > GW_CHART_SLICES) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(line, sizeof(line), "and %d more", c - GW_CHART_SLICES);
        gw_chart_text(cr, l, x + width / 4 + 12, ly, width / 2, line,
                      PANGO_ALIGN_LEFT);
    }
}


static void
gw_chart_text(cairo_t *cr, PangoLayout *l, double x, double y, double width,
    const char *s, PangoAlignment align)
{
    pango_layout_set_width(l, (int) (width * PANGO_SCALE));
    pango_layout_set_alignment(l, align);
    pango_layout_set_text(l, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, l);
}


/* 1, 2 or 5 times a power of ten, at least span */
static double
gw_chart_nice(double span)
{
    double  p, f;

    if (!(span > 0) || !isfinite(span)) {
        return 1;
    }

    p = pow(10, floor(log10(span)));
    f = span / p;

    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}
