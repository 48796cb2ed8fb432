# backends/processing (docs/processing.md): SQLite (the embedded default
# store) and PostgreSQL's libpq for the SQL sinks, zlib's crc32 for
# partitions.  The include path is Debian's libpq-dev's, named here too
# since make reads this file before `make test` has installed it.

PQ_CFLAGS := $(or $(shell pkg-config --cflags libpq 2>/dev/null),\
                  -I/usr/include/postgresql)

GW_CFLAGS += -Ilib/window $(PQ_CFLAGS)

BACKEND_LIBS_processing := -lsqlite3 -lpq -lz -lm $(LUAJIT_LIBS) -lpthread -lpcre2-8

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
