# backends/processing (docs/processing.md): SQLite (the embedded default
# store) and PostgreSQL's libpq for the SQL sinks, zlib's crc32 for
# partitions.  The include path is Debian's libpq-dev's, named here too
# since make reads this file before `make test` has installed it.

PQ_CFLAGS := $(or $(shell pkg-config --cflags libpq 2>/dev/null),\
                  -I/usr/include/postgresql)

GW_CFLAGS += -Ilib/window $(PQ_CFLAGS)

BACKEND_LIBS_processing := -lnats -lsqlite3 -lpq -lz -lm $(LUAJIT_LIBS) -lpthread -lpcre2-8
