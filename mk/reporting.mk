# backends/reporting (docs/reporting.md): SQLite and PostgreSQL's libpq
# for the reports' queries, the report writers of lib/report and the
# libraries they need (REPORT_LIBS, set by mk/report.mk), threads for
# the worker pool.

BACKEND_LIBS_reporting = -lsqlite3 -lpq -lpthread $(REPORT_LIBS)
