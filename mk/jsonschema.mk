# JSON Schema validation (lib/jsonschema): flags, the built-in
# metaschemas, and the JSON-Schema-Test-Suite conformance run.
#
#   make conformance [SUITE=folder] [DRAFT=draft2020-12|draft7]
#                         every test of SUITE/tests/DRAFT, with
#                         SUITE/remotes registered as localhost:1234;
#                         fails when a required test fails; skips when
#                         the folder is absent.  Part of `make test`.
#   make jsonschema-meta  writes lib/jsonschema/gw_schema_meta.c again
#                         from data/json-schema (the shipped copies of
#                         the official metaschemas)

GW_CFLAGS += -Ilib/jsonschema -DPCRE2_CODE_UNIT_WIDTH=8
GW_LIBS   += -lpcre2-8 -lm

SUITE ?= ../shared/data/JSON-Schema-Test-Suite
DRAFT ?= draft2020-12

JSONSCHEMA_SRCS := $(wildcard lib/jsonschema/*.c)
JSONSCHEMA_HDRS := $(wildcard lib/jsonschema/*.h)
JSONSCHEMA_META := $(sort $(wildcard data/json-schema/*/*.json \
                                     data/json-schema/*/*/*.json))

.PHONY: conformance jsonschema-meta jsonschema-meta-check

$(BUILD)/conformance/runner: t/conformance/runner.c $(JSONSCHEMA_HDRS) \
                             $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $< $(LIB_A) $(GW_LIBS)

conformance: $(BUILD)/conformance/runner jsonschema-meta-check
	$(BUILD)/conformance/runner $(SUITE) $(DRAFT)

jsonschema-meta:
	perl lib/jsonschema/gw_schema_meta.pl data/json-schema \
	    > lib/jsonschema/gw_schema_meta.c.tmp
	mv -f lib/jsonschema/gw_schema_meta.c.tmp lib/jsonschema/gw_schema_meta.c

jsonschema-meta-check: $(JSONSCHEMA_META) lib/jsonschema/gw_schema_meta.pl
	@perl lib/jsonschema/gw_schema_meta.pl data/json-schema \
	    | cmp -s - lib/jsonschema/gw_schema_meta.c \
	    || { echo "lib/jsonschema/gw_schema_meta.c is out of date with" \
	         "data/json-schema: run make jsonschema-meta"; exit 1; }

TEST_EXTRA += conformance
