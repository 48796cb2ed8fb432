# metadata: the unit test of the service's JSON Patch generator
# (t/unit/test_md_diff.c) links its object, which needs only jansson;
# "private" keeps the flags from the prerequisites (and $(BUILD)/cflags)
MD_DIFF_OBJ := $(BUILD)/backends/obj/metadata/metadata_diff.o

$(BUILD)/unit/obj/test_md_diff.o: private GW_CFLAGS += -Ibackends/common \
                                                       -Ibackends/metadata
$(BUILD)/unit/test_md_diff: $(MD_DIFF_OBJ)
$(BUILD)/unit/test_md_diff: private GW_LIBS += $(MD_DIFF_OBJ)
