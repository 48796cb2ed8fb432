# The audit service (backends/audit, docs/audit.md).  mk/backends.mk
# builds build/backends/audit like every service; the audit binary also
# needs lib/jcs, lib/merkle and lib/checkpoint (mk/audit-lib.mk adds
# their include folders).  `make bench` runs scripts/bench-audit.sh and
# scripts/bench-audit-index.sh (queries and start on 10 M records).

BACKEND_SRCS_audit := $(wildcard lib/jcs/*.[ch] lib/merkle/*.[ch] \
                                 lib/checkpoint/*.[ch])
BACKEND_LIBS_audit := -lm

.PHONY: bench-audit bench-audit-index

bench-audit: $(BUILD)/backends/audit
	@scripts/bench-audit.sh

bench-audit-index: $(BUILD)/backends/audit
	@scripts/bench-audit-index.sh
