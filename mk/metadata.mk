# metadata: the admin API service (docs/admin-api.md).  It validates with
# lib/jsonschema, and embeds the built-in types' JSON Schemas,
# backends/metadata/schemas/<type>.json, as C strings in a generated
# header that metadata_type_builtin.c includes: the files are the source
# of truth, served as written at /v1/schemas/<type>.

BACKEND_LIBS_metadata := -lpcre2-8 -lm

# The pipelines type's schema is the processing service's own document
# schema, embedded from its one file (never a copy): the admin API
# refuses exactly the documents the processing service refuses by schema.
MD_SCHEMA_FILES := $(sort $(wildcard backends/metadata/schemas/*.json)) \
                   backends/processing/pipeline.schema.json
MD_SCHEMA_GEN   := $(BUILD)/backends/gen/md_schemas.h

# one "static const char md_schema_<type>[]" per file, in file order
# (pipeline.schema.json as md_schema_pipelines)
$(MD_SCHEMA_GEN): $(MD_SCHEMA_FILES) mk/metadata.mk
	@mkdir -p $(dir $@)
	perl -e 'for my $$f (@ARGV) { open my $$in, "<", $$f or die "$$f: $$!";' \
	     -e '  local $$/; my $$t = <$$in>; (my $$n = $$f) =~ s{.*/|\.json$$}{}g;' \
	     -e '  $$n = "pipelines" if $$n eq "pipeline.schema";' \
	     -e '  $$t =~ s/([\\"])/\\$$1/g; $$t =~ s/\n/\\n"\n    "/g;' \
	     -e '  print "static const char md_schema_$$n\[\] =\n    \"$$t\";\n\n" }' \
	     $(MD_SCHEMA_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/backends/obj/metadata/metadata_type_builtin.o: $(MD_SCHEMA_GEN)
$(BUILD)/backends/obj/metadata/metadata_type_builtin.o: \
    GW_CFLAGS += -I$(BUILD)/backends/gen

# the unit test of the regex paths' checks (t/unit/test_regex_safety.c)
# links their objects: the static check (pure C: its analysis and its
# lexical readers) and the probe (PCRE2, lib/router's limits)
MD_REGEX_OBJS := $(BUILD)/backends/obj/metadata/metadata_regex.o \
                 $(BUILD)/backends/obj/metadata/metadata_regex_parse.o \
                 $(BUILD)/backends/obj/metadata/metadata_regex_probe.o

$(BUILD)/unit/obj/test_regex_safety.o: private GW_CFLAGS += \
                                                       -Ibackends/metadata
$(BUILD)/unit/test_regex_safety: $(MD_REGEX_OBJS)
$(BUILD)/unit/test_regex_safety: private GW_LIBS += $(MD_REGEX_OBJS)
