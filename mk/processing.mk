# backends/processing (docs/processing.md): SQLite (the embedded default
# store) and PostgreSQL's libpq for the SQL sinks, zlib's crc32 for
# partitions.  The include path is Debian's libpq-dev's, named here too
# since make reads this file before `make test` has installed it.

PQ_CFLAGS := $(or $(shell pkg-config --cflags libpq 2>/dev/null),\
                  -I/usr/include/postgresql)

GW_CFLAGS += -Ilib/window $(PQ_CFLAGS)

BACKEND_LIBS_processing := -lnats -lsqlite3 -lpq -lz -lm $(LUAJIT_LIBS) -lpthread -lpcre2-8

# The SQL sinks' test driver (t/proc/test_proc_sinks.c, run by
# t/backends/075-processing-sql.t): the sinks' objects, the kit and lib/.
PROC_SQL_OBJS := $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,\
                     $(wildcard backends/processing/proc_sink_sqlite.c \
                                backends/processing/proc_sink_pg.c \
                                backends/processing/proc_sql*.c))
PROC_TEST_BIN := $(BUILD)/proc/test_proc_sinks

TEST_EXTRA += proc-test

.PHONY: proc-test

proc-test: $(PROC_TEST_BIN)

$(BUILD)/proc/obj/%.o: t/proc/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -Ibackends/common -Ibackends/processing \
	    $(DEP_FLAGS) -c -o $@ $<

$(PROC_TEST_BIN): $(BUILD)/proc/obj/test_proc_sinks.o $(PROC_SQL_OBJS) \
                  $(KIT_OBJS) $(LIB_A)
	$(CC) $(GW_CFLAGS) -o $@ $^ $(KIT_LIBS) $(BACKEND_LIBS_processing)

-include $(BUILD)/proc/obj/test_proc_sinks.d

# The raw limit scripts/bench-processing.sh quotes the service against: a
# bare XREADGROUP + XACK loop on the same client stack (t/proc/bench_drain.c).
PROC_DRAIN_BIN := $(BUILD)/proc/bench_drain

$(PROC_DRAIN_BIN): t/proc/bench_drain.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $< -levent -lhiredis

# Its latency load: events XADDed at a fixed rate, each carrying its send
# time, and the pipeline's output read back (t/proc/bench_latency.c).
PROC_LATENCY_BIN := $(BUILD)/proc/bench_latency

$(PROC_LATENCY_BIN): t/proc/bench_latency.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $< -levent -lhiredis

# events/s of the processing service beside the raw limit, into Redis and
# into SQLite, and the end-to-end latency at a fixed load, in one run
.PHONY: bench-processing

bench-processing: $(BUILD)/backends/processing $(PROC_DRAIN_BIN) \
                  $(PROC_LATENCY_BIN)
	@scripts/bench-processing.sh

bench: bench-processing

# the pipeline documents' JSON Schema, backends/processing/
# pipeline.schema.json, embedded as a C string (proc_schema.h) that
# proc_pipeline.c includes: the file is the source of truth.

PROC_SCHEMA_GEN := $(BUILD)/backends/gen/proc_schema.h

$(PROC_SCHEMA_GEN): backends/processing/pipeline.schema.json mk/processing.mk
	@mkdir -p $(dir $@)
	perl -e 'local $$/; my $$t = <STDIN>; $$t =~ s/([\\"])/\\$$1/g;' \
	     -e '$$t =~ s/\n/\\n"\n    "/g;' \
	     -e 'print "static const char proc_schema_text[] =\n    \"$$t\";\n"' \
	     < $< > $@.tmp && mv $@.tmp $@

$(BUILD)/backends/obj/processing/proc_pipeline.o: $(PROC_SCHEMA_GEN)
$(BUILD)/backends/obj/processing/proc_pipeline.o: \
    GW_CFLAGS += -I$(BUILD)/backends/gen
