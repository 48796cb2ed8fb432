# lib/report: the report writers (CSV, JSON, NDJSON, XLSX, PDF) of the
# reporting service (docs/reporting-formats.md).  libxlsxwriter, cairo and
# pango are linked only by what uses lib/report: its unit tests, the test
# driver build/report-render, and the service (REPORT_LIBS).  The objects
# in libgw.a need the pango headers, named here with Debian's paths as a
# fallback, since make reads this file before auto/deps has run.
#
#   make report-render           the driver: spec JSON + NDJSON rows in,
#                                one file out (t/report/, the bench)
#   make test-report             the unit tests and t/report/*.t
#   make valgrind-report         the unit tests and the driver (every
#                                format) under valgrind, with the
#                                suppressions of t/report/valgrind.supp
#   make bench-report-formats    rows/s and peak RSS per format

REPORT_CFLAGS := $(or $(shell pkg-config --cflags pangocairo 2>/dev/null),\
                      -I/usr/include/pango-1.0 -I/usr/include/glib-2.0 \
                      -I/usr/lib/x86_64-linux-gnu/glib-2.0/include \
                      -I/usr/include/harfbuzz -I/usr/include/freetype2 \
                      -I/usr/include/cairo -pthread)
REPORT_LIBS   := $(or $(shell pkg-config --libs pangocairo xlsxwriter \
                                              2>/dev/null),\
                      -lpangocairo-1.0 -lpango-1.0 -lgobject-2.0 \
                      -lglib-2.0 -lharfbuzz -lcairo -lxlsxwriter -lz) -lm

GW_CFLAGS += -Ilib/report

REPORT_RENDER := $(BUILD)/report-render

$(BUILD)/lib/obj/report/%.o $(BUILD)/fuzz-replay/obj/report/%.o \
$(BUILD)/fuzz/obj/report/%.o: GW_CFLAGS += $(REPORT_CFLAGS)

$(BUILD)/unit/test_report_%: GW_LIBS += $(REPORT_LIBS)

$(REPORT_RENDER): t/report/report_render.c $(LIB_A) $(BUILD)/cflags
	$(CC) $(GW_CFLAGS) -o $@ $< $(LIB_A) $(REPORT_LIBS) -ljansson

.PHONY: report-render test-report bench-report-formats valgrind-report

report-render: $(REPORT_RENDER)

test-report: $(REPORT_RENDER) \
             $(filter $(BUILD)/unit/test_report_%,$(UNIT_BINS))
	prove --exec '' $(filter $(BUILD)/unit/test_report_%,$(UNIT_BINS))
	REPORT_RENDER=$(abspath $(REPORT_RENDER)) prove -I t/lib t/report/

REPORT_VG := valgrind -q --leak-check=full --error-exitcode=9 \
             --suppressions=t/report/valgrind.supp

valgrind-report: $(REPORT_RENDER) \
                 $(filter $(BUILD)/unit/test_report_%,$(UNIT_BINS))
	@for t in $(filter $(BUILD)/unit/test_report_%,$(UNIT_BINS)); do \
	    $(REPORT_VG) $$t > /dev/null || exit 1; echo "valgrind: $$t ok"; \
	done
	@for f in csv json ndjson xlsx pdf; do \
	    $(REPORT_VG) $(REPORT_RENDER) -f $$f -s t/report/demo.spec.json \
	        -o $(BUILD)/valgrind-report.$$f < t/report/demo.rows.ndjson \
	        || exit 1; echo "valgrind: report-render $$f ok"; \
	done

bench-report-formats: $(REPORT_RENDER)
	@REPORT_RENDER=$(abspath $(REPORT_RENDER)) \
	    scripts/bench-report-formats.sh

TEST_EXTRA += report-render
bench: bench-report-formats
