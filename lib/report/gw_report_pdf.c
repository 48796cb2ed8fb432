/*
 * Copyright (C) Tollgate
 *
 * PDF through cairo (vector, A4: portrait up to 8 columns, landscape
 * past that) with text laid out by pango,
 * so any script fontconfig has a font for comes out shaped: Arabic right
 * to left, CJK, emoji.  The first page opens with a title block (title,
 * subtitle, the generation time); then a table whose header row starts
 * every page.  Each cell is one line, ellipsised with pango where it is
 * wider than its column; numbers are right-aligned.  Column widths come
 * from the column types (text wider than numbers), since the rows are
 * not known in advance.
 *
 * Streaming: cairo writes each page out when it is shown, so memory does
 * not grow with the pages.  The total page count is therefore unknown
 * while a page is drawn, and the footer says "Page n", not "n of N"; a
 * second pass over a file that can be a million rows long would double
 * the work for a detail.  The chart needs all its points before it can
 * pick its scale, so it is drawn on its own page after the table, from
 * the first GW_REPORT_CHART_MAX_POINTS rows (gw_report_chart.c).
 */


#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "gw_report_int.h"
#include "gw_report_pdf.h"


#define GW_PDF_A4_SHORT 595.276     /* A4, points */
#define GW_PDF_A4_LONG  841.890
#define GW_PDF_PORTRAIT 8           /* columns at most, else landscape */
#define GW_PDF_MARGIN   36.0
#define GW_PDF_PAD      2.0         /* cell padding */


typedef struct {
    cairo_surface_t         *surface;
    cairo_t                 *cr;
    PangoLayout             *layout;
    PangoFontDescription    *font;
    PangoFontDescription    *bold;
    double                  *colx;      /* left edge of each column */
    double                  *colw;
    double                   row_h;
    double                   pw;        /* page width, points */
    double                   ph;
    double                   y;         /* next row's top */
    unsigned                 page;
    unsigned                 page_open:1;
} gw_pdf_t;


static int gw_pdf_open(gw_report_writer_t *w, const char *path);
static int gw_pdf_row(gw_report_writer_t *w, const gw_report_value_t *v);
static int gw_pdf_close(gw_report_writer_t *w);
static void gw_pdf_page(gw_report_writer_t *w);
static void gw_pdf_end_page(gw_report_writer_t *w);
static void gw_pdf_header(gw_report_writer_t *w);
static void gw_pdf_cell(gw_pdf_t *p, double x, double y, double width,
    const char *s, int len, int right);


const gw_report_ops_t  gw_report_pdf_ops = {
    gw_pdf_open, gw_pdf_row, gw_pdf_close
};


static int
gw_pdf_open(gw_report_writer_t *w, const char *path)
{
    int                  i, ph;
    FILE                *fp;
    double               total, wt, x;
    gw_pdf_t            *p;
    gw_report_column_t  *c;

    p = calloc(1, sizeof(gw_pdf_t));
    if (p == NULL) {
        return gw_report_fail(w, "out of memory");
    }

    w->data = p;
    p->colx = calloc(w->spec.ncolumns, sizeof(double));
    p->colw = calloc(w->spec.ncolumns, sizeof(double));
    if (p->colx == NULL || p->colw == NULL) {
        gw_report_fail(w, "out of memory");
        goto failed;
    }

    fp = gw_report_fopen(path);     /* mode 0600, kept by cairo */
    if (fp == NULL) {
        gw_report_fail(w, "cannot create the file");
        goto failed;
    }
    fclose(fp);

    if (w->spec.ncolumns > GW_PDF_PORTRAIT) {
        p->pw = GW_PDF_A4_LONG;
        p->ph = GW_PDF_A4_SHORT;

    } else {
        p->pw = GW_PDF_A4_SHORT;
        p->ph = GW_PDF_A4_LONG;
    }

    p->surface = cairo_pdf_surface_create(path, p->pw, p->ph);
    if (cairo_surface_status(p->surface) != CAIRO_STATUS_SUCCESS) {
        gw_report_fail(w, "pdf: %s",
                       cairo_status_to_string(cairo_surface_status(
                           p->surface)));
        goto failed;
    }

    cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_TITLE,
                                   w->spec.title);
    cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_CREATOR,
                                   "Tollgate reporting");

    p->cr = cairo_create(p->surface);
    p->layout = pango_cairo_create_layout(p->cr);
    p->font = pango_font_description_from_string("Sans 7.5");
    p->bold = pango_font_description_from_string("Sans Bold 7.5");
    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS || p->layout == NULL
        || p->font == NULL || p->bold == NULL)
    {
        gw_report_fail(w, "pdf: cannot set up the page");
        goto failed;
    }

    pango_layout_set_single_paragraph_mode(p->layout, TRUE);
    pango_layout_set_ellipsize(p->layout, PANGO_ELLIPSIZE_END);
    pango_layout_set_font_description(p->layout, p->font);
    pango_layout_set_text(p->layout, "Ag", -1);
    pango_layout_get_size(p->layout, NULL, &ph);
    p->row_h = (double) ph / PANGO_SCALE + 2 * GW_PDF_PAD;

    total = 0;
    for (i = 0; i < w->spec.ncolumns; i++) {
        c = &w->cols[i];
        wt = c->type == GW_REPORT_COL_TEXT ? 2.0
             : c->type == GW_REPORT_COL_DATETIME ? 1.7
             : c->type == GW_REPORT_COL_BOOLEAN ? 0.7 : 1.0;
        p->colw[i] = wt;
        total += wt;
    }

    x = GW_PDF_MARGIN;
    for (i = 0; i < w->spec.ncolumns; i++) {
        p->colw[i] = p->colw[i] / total * (p->pw - 2 * GW_PDF_MARGIN);
        p->colx[i] = x;
        x += p->colw[i];
    }

    gw_pdf_page(w);

    return 0;

failed:

    gw_pdf_close(w);
    return -1;
}


/* starts a page: the title block on the first, the header row on all */
static void
gw_pdf_page(gw_report_writer_t *w)
{
    int                    th;
    char                   when[48], line[96];
    gw_pdf_t              *p;
    PangoFontDescription  *fd;

    p = w->data;
    p->page++;
    p->page_open = 1;
    p->y = GW_PDF_MARGIN;

    if (p->page == 1) {
        pango_layout_set_width(p->layout,
                               (int) ((p->pw - 2 * GW_PDF_MARGIN)
                                      * PANGO_SCALE));
        pango_layout_set_ellipsize(p->layout, PANGO_ELLIPSIZE_NONE);
        pango_layout_set_single_paragraph_mode(p->layout, FALSE);
        pango_layout_set_wrap(p->layout, PANGO_WRAP_WORD_CHAR);
        pango_layout_set_alignment(p->layout, PANGO_ALIGN_LEFT);

        fd = pango_font_description_from_string("Sans Bold 16");
        pango_layout_set_font_description(p->layout, fd);
        pango_layout_set_text(p->layout, w->spec.title, -1);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        cairo_move_to(p->cr, GW_PDF_MARGIN, p->y);
        pango_cairo_show_layout(p->cr, p->layout);
        pango_layout_get_size(p->layout, NULL, &th);
        p->y += (double) th / PANGO_SCALE + 4;
        pango_font_description_free(fd);

        fd = pango_font_description_from_string("Sans 9");
        pango_layout_set_font_description(p->layout, fd);
        cairo_set_source_rgb(p->cr, 0.3, 0.3, 0.3);

        if (w->spec.subtitle != NULL && w->spec.subtitle[0] != '\0') {
            pango_layout_set_text(p->layout, w->spec.subtitle, -1);
            cairo_move_to(p->cr, GW_PDF_MARGIN, p->y);
            pango_cairo_show_layout(p->cr, p->layout);
            pango_layout_get_size(p->layout, NULL, &th);
            p->y += (double) th / PANGO_SCALE + 2;
        }

        gw_report_fmt_time(when, sizeof(when), w->spec.generated_at, &w->tz,
                           0);
        snprintf(line, sizeof(line), "Generated at %s (%s)", when,
                 w->spec.tz);
        pango_layout_set_text(p->layout, line, -1);
        cairo_move_to(p->cr, GW_PDF_MARGIN, p->y);
        pango_cairo_show_layout(p->cr, p->layout);
        pango_layout_get_size(p->layout, NULL, &th);
        p->y += (double) th / PANGO_SCALE + 10;
        pango_font_description_free(fd);

        pango_layout_set_single_paragraph_mode(p->layout, TRUE);
        pango_layout_set_ellipsize(p->layout, PANGO_ELLIPSIZE_END);
    }

    gw_pdf_header(w);
}


static void
gw_pdf_header(gw_report_writer_t *w)
{
    int        i;
    gw_pdf_t  *p;

    p = w->data;

    cairo_set_source_rgb(p->cr, 0.88, 0.90, 0.94);
    cairo_rectangle(p->cr, GW_PDF_MARGIN, p->y, p->pw - 2 * GW_PDF_MARGIN,
                    p->row_h);
    cairo_fill(p->cr);

    cairo_set_source_rgb(p->cr, 0, 0, 0);
    pango_layout_set_font_description(p->layout, p->bold);

    for (i = 0; i < w->spec.ncolumns; i++) {
        gw_pdf_cell(p, p->colx[i], p->y, p->colw[i], w->cols[i].title, -1,
                    0);
    }

    pango_layout_set_font_description(p->layout, p->font);
    p->y += p->row_h;
}


static void
gw_pdf_end_page(gw_report_writer_t *w)
{
    char       num[32];
    gw_pdf_t  *p;

    p = w->data;

    snprintf(num, sizeof(num), "Page %u", p->page);
    cairo_set_source_rgb(p->cr, 0.3, 0.3, 0.3);
    pango_layout_set_font_description(p->layout, p->font);
    gw_pdf_cell(p, GW_PDF_MARGIN, p->ph - GW_PDF_MARGIN + 8,
                p->pw - 2 * GW_PDF_MARGIN, num, -1, 1);

    cairo_show_page(p->cr);
    p->page_open = 0;
}


static int
gw_pdf_row(gw_report_writer_t *w, const gw_report_value_t *v)
{
    int          i, right;
    char         buf[512], *heap;
    size_t       n;
    gw_pdf_t    *p;
    const char  *s;

    p = w->data;

    if (p->y + p->row_h > p->ph - GW_PDF_MARGIN) {
        gw_pdf_end_page(w);
        gw_pdf_page(w);
    }

    if (w->rows % 2 == 1) {
        cairo_set_source_rgb(p->cr, 0.96, 0.96, 0.96);
        cairo_rectangle(p->cr, GW_PDF_MARGIN, p->y,
                        p->pw - 2 * GW_PDF_MARGIN, p->row_h);
        cairo_fill(p->cr);
    }

    cairo_set_source_rgb(p->cr, 0, 0, 0);

    for (i = 0; i < w->spec.ncolumns; i++) {
        if (v[i].kind == GW_REPORT_NULL) {
            continue;
        }

        s = gw_report_cell_text(w, i, &v[i], buf, sizeof(buf), &heap, &n, 1);
        if (s == NULL) {
            return gw_report_fail(w, "out of memory");
        }

        right = v[i].kind != GW_REPORT_V_TEXT
                && w->cols[i].type != GW_REPORT_COL_TEXT
                && w->cols[i].type != GW_REPORT_COL_DATE
                && w->cols[i].type != GW_REPORT_COL_DATETIME
                && w->cols[i].type != GW_REPORT_COL_BOOLEAN;

        /* pango lays out a long cell whole before it ellipsises: cut */
        gw_pdf_cell(p, p->colx[i], p->y, p->colw[i], s,
                    n > 1024 ? 1024 : (int) n, right);
        free(heap);
    }

    p->y += p->row_h;

    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS) {
        return gw_report_fail(w, "pdf: %s",
                              cairo_status_to_string(cairo_status(p->cr)));
    }

    return 0;
}


/* s: valid UTF-8; len may cut it, pango needs whole characters */
static void
gw_pdf_cell(gw_pdf_t *p, double x, double y, double width, const char *s,
    int len, int right)
{
    if (len > 0) {
        while (len > 0 && ((unsigned char) s[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    pango_layout_set_width(p->layout,
                           (int) ((width - 2 * GW_PDF_PAD) * PANGO_SCALE));
    pango_layout_set_alignment(p->layout,
                               right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
    pango_layout_set_text(p->layout, s, len);
    cairo_move_to(p->cr, x + GW_PDF_PAD, y + GW_PDF_PAD);
    pango_cairo_show_layout(p->cr, p->layout);
}


static int
gw_pdf_close(gw_report_writer_t *w)
{
    gw_pdf_t         *p;
    cairo_status_t    st;

    p = w->data;

    if (p == NULL) {
        return 0;
    }

    if (p->cr != NULL && !w->failed) {
        if (p->page_open) {
            gw_pdf_end_page(w);
        }

        if (w->npoints > 0) {
            p->page++;
            gw_report_pdf_chart(w, p->cr, p->layout, p->pw, p->ph);
            p->page_open = 1;
            gw_pdf_end_page(w);
        }
    }

    if (p->layout != NULL) {
        g_object_unref(p->layout);
    }

    if (p->font != NULL) {
        pango_font_description_free(p->font);
    }

    if (p->bold != NULL) {
        pango_font_description_free(p->bold);
    }

    if (p->cr != NULL) {
        cairo_destroy(p->cr);
    }

    if (p->surface != NULL) {
        cairo_surface_finish(p->surface);
        st = cairo_surface_status(p->surface);
        if (st != CAIRO_STATUS_SUCCESS) {
            gw_report_fail(w, "pdf: %s", cairo_status_to_string(st));
        }
        cairo_surface_destroy(p->surface);
    }

    free(p->colx);
    free(p->colw);
    free(p);
    w->data = NULL;

    return w->failed ? -1 : 0;
}
