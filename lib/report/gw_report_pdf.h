/*
 * gw_report PDF internals: the chart page, drawn with cairo paths and
 * pango labels onto the page the table writer opened.
 */

#ifndef _GW_REPORT_PDF_H_INCLUDED_
#define _GW_REPORT_PDF_H_INCLUDED_


#include <cairo.h>
#include <pango/pangocairo.h>

#include "gw_report_int.h"


/* draws w->points as w->spec.chart says, on a page of pw x ph points */
void gw_report_pdf_chart(gw_report_writer_t *w, cairo_t *cr,
    PangoLayout *layout, double pw, double ph);


#endif /* _GW_REPORT_PDF_H_INCLUDED_ */
