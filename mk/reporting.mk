# backends/reporting (docs/reporting.md): SQLite and PostgreSQL's libpq
# for the reports' queries, the report writers of lib/report and the
# libraries they need (REPORT_LIBS, set by mk/report.mk), threads for
# the worker pool.

BACKEND_LIBS_reporting = -lsqlite3 -lpq -lpthread $(REPORT_LIBS)

# make bench-reporting: rows/s and the service's peak memory for a
# 1,000,000-row report as CSV, XLSX and PDF (scripts/bench-reporting.sh;
# docs/reporting.md, "Figures")
.PHONY: bench-reporting
bench-reporting: $(BUILD)/backends/reporting
	@REPORTING=$(abspath $(BUILD)/backends/reporting) \
	    scripts/bench-reporting.sh
