# lib/router: the route matcher (docs/routing.md), PCRE2 for regex paths.
# Its unit test links two more files of t/unit: the naive reference
# matcher of the randomized check, and the benchmark, which
# `make bench-router` (part of `make bench`) runs as
# build/unit/test_router bench.

GW_CFLAGS += -Ilib/router
GW_LIBS   += -lpcre2-8

ROUTER_TEST_OBJS := $(BUILD)/unit/obj/router_ref.o \
                    $(BUILD)/unit/obj/router_bench.o

.PHONY: bench-router
.SECONDARY: $(ROUTER_TEST_OBJS)

$(BUILD)/unit/test_router: $(ROUTER_TEST_OBJS)
$(BUILD)/unit/test_router: private GW_LIBS += $(ROUTER_TEST_OBJS)

bench-router: $(BUILD)/unit/test_router
	@scripts/bench-router.sh

bench: bench-router
