# Tollgate build.  `make` builds the nginx module, `make test` runs every
# suite, `make run` starts the platform, `make bench` measures it.  Each
# installs the Debian packages it lacks first (auto/deps).

BUILD     ?= build
NGINX_SRC ?= /usr/share/nginx/src
MODULE    := $(BUILD)/ngx_http_gw_module.so

export NGINX_SRC GW_CC_OPT GW_LD_OPT

CC        ?= cc
GW_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wpointer-arith \
             -Wno-unused-parameter -Ilib/jose -Ilib/problem -Ilib/model \
             $(EXTRA_CFLAGS)
GW_LIBS   := -lssl -lcrypto -ljansson

LIB_SRCS  := $(wildcard lib/*/*.c)
LIB_HDRS  := $(wildcard lib/*/*.h)
MOD_SRCS  := $(wildcard ngx_modules/*/*.c ngx_modules/*/*.h \
               ngx_modules/*/config.sh) ngx_modules/config
UNIT_SRCS := $(wildcard t/unit/test_*.c)
UNIT_BINS := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_OBJS := $(patsubst t/unit/%.c,$(BUILD)/unit/obj/%.o,$(UNIT_SRCS))
GWCTL     := $(BUILD)/gwctl
GWCTL_OBJS := $(patsubst cli/%.c,$(BUILD)/cli/obj/%.o,$(wildcard cli/*.c))

# lib/ is compiled once per set of flags into an archive that the unit
# tests, gwctl and the backends link (docs/development.md, "Build"): here
# with GW_CFLAGS, under $(BUILD)/fuzz-replay and $(BUILD)/fuzz with the
# sanitizers.  The module's copy is compiled by nginx's objs/Makefile.
# -MMD -MP write a .d file beside each object: a header change rebuilds
# exactly the objects that include it.  $(BUILD)/cflags holds the flags of
# the last build, so that changing them (EXTRA_CFLAGS=) rebuilds it all.
LIB_A     := $(BUILD)/libgw.a
LIB_OBJS  := $(patsubst lib/%.c,$(BUILD)/lib/obj/%.o,$(LIB_SRCS))
DEP_FLAGS := -MMD -MP

# Each area may add its own rules in mk/<area>.mk: flags (GW_CFLAGS +=,
# GW_LIBS +=), targets, and names in TEST_EXTRA that `make test` runs after
# the unit tests and before the Test::Nginx suites.
TEST_EXTRA :=
.DEFAULT_GOAL := all
-include $(sort $(wildcard mk/*.mk))


TEST_NGINX_BINARY       ?= /usr/sbin/nginx
TEST_NGINX_LOAD_MODULES ?= $(abspath $(MODULE))
export TEST_NGINX_BINARY TEST_NGINX_LOAD_MODULES

.PHONY: all module deps deps-build deps-test unit lint test run bench \
        asan clean FORCE

all: deps-build module $(GWCTL)

deps: deps-build deps-test
deps-build:
	@auto/deps build
deps-test:
	@auto/deps build test
	@auto/npm-deps

module: $(MODULE)

$(MODULE): $(MOD_SRCS) $(LIB_SRCS) $(LIB_HDRS) auto/configure
	@auto/configure $(BUILD)
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/ngx_http_gw_module.so $@.tmp && mv -f $@.tmp $@

$(BUILD)/cflags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(FUZZ_CC) $(GW_CFLAGS)' | cmp -s - $@ \
	    || echo '$(CC) $(FUZZ_CC) $(GW_CFLAGS)' > $@

$(BUILD)/lib/obj/%.o: lib/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

# rebuilt whole, so that an object whose source is gone leaves it
$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/unit/obj/%.o: t/unit/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(BUILD)/unit/%: $(BUILD)/unit/obj/%.o $(LIB_A)
	$(CC) $(GW_CFLAGS) -o $@ $< $(LIB_A) $(GW_LIBS) -ljwt

# gwctl, the consumer and key admin CLI (docs/gwctl.md)
$(BUILD)/cli/obj/%.o: cli/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(GWCTL): $(GWCTL_OBJS) $(LIB_A)
	$(CC) $(GW_CFLAGS) -o $@ $(GWCTL_OBJS) $(LIB_A) -lhiredis -ljansson -lcrypto

unit: $(UNIT_BINS)
	prove --exec '' $(UNIT_BINS)

lint:
	@perl scripts/lint.pl

test: deps-test module $(UNIT_BINS) $(GWCTL)
	@perl scripts/lint.pl
	prove --exec '' $(UNIT_BINS)
	@$(MAKE) --no-print-directory fuzz-replay
	@for t in $(TEST_EXTRA); do \
	    $(MAKE) --no-print-directory $$t || exit 1; \
	done
	prove -I t/lib -r t/

# The whole suite under AddressSanitizer and UBSan: the unit tests, and the
# module loaded into Debian's nginx with the sanitizer runtime preloaded.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LIB    = $(shell $(CC) -print-file-name=libasan.so)

asan: deps-test
	$(MAKE) BUILD=build-asan EXTRA_CFLAGS="$(ASAN_FLAGS)" \
	    GW_CC_OPT="$(ASAN_FLAGS)" GW_LD_OPT="$(ASAN_FLAGS)" \
	    build-asan/ngx_http_gw_module.so unit
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$$@"\n' \
	    "$(ASAN_LIB)" "$(TEST_NGINX_BINARY)" > build-asan/nginx-asan
	chmod +x build-asan/nginx-asan
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	TEST_NGINX_BINARY=$(abspath build-asan/nginx-asan) \
	TEST_NGINX_LOAD_MODULES=$(abspath build-asan/ngx_http_gw_module.so) \
	    prove -I t/lib -r t/

# Fuzz drivers, one per parser that takes outside input (t/fuzz/README).
# fuzz-replay builds each with $(CC), the unit tests' flags and the
# sanitizers, and replays its corpus: part of `make test`.  fuzz builds
# them with libFuzzer and runs each for FUZZ_SECONDS from its corpus; what
# it finds goes to $(BUILD)/fuzz/, never into t/fuzz/.
FUZZ_DRIVERS := $(filter-out replay,\
                    $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/*.c)))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 8192
FUZZ_OBJS    := $(patsubst lib/%.c,$(BUILD)/fuzz-replay/obj/%.o,$(LIB_SRCS))
FUZZ_LF_OBJS := $(patsubst lib/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_A       := $(BUILD)/fuzz-replay/libgw.a
FUZZ_LF_A    := $(BUILD)/fuzz/libgw.a
FUZZ_DRV_OBJS := $(FUZZ_DRIVERS:%=$(BUILD)/fuzz-replay/drv/%.o) \
                 $(BUILD)/fuzz-replay/drv/replay.o \
                 $(FUZZ_DRIVERS:%=$(BUILD)/fuzz/drv/%.o)
FUZZ_STATS   := ^\#[0-9]+[[:space:]]+DONE|^stat::(average_exec|new_units)

.PHONY: fuzz fuzz-bins fuzz-replay
.SECONDARY: $(FUZZ_DRV_OBJS) $(UNIT_OBJS)

$(BUILD)/fuzz-replay/obj/%.o: lib/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(FUZZ_SAN) $(DEP_FLAGS) -c -o $@ $<

$(FUZZ_A): $(FUZZ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz-replay/drv/%.o: t/fuzz/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(FUZZ_SAN) $(DEP_FLAGS) -c -o $@ $<

$(BUILD)/fuzz-replay/bin/%: $(BUILD)/fuzz-replay/drv/%.o \
                            $(BUILD)/fuzz-replay/drv/replay.o $(FUZZ_A)
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) $(FUZZ_SAN) -o $@ $^ $(GW_LIBS)

fuzz-replay: $(FUZZ_DRIVERS:%=$(BUILD)/fuzz-replay/bin/%)
	@for d in $(FUZZ_DRIVERS); do \
	    $(BUILD)/fuzz-replay/bin/$$d t/fuzz/corpus/$$d || exit 1; \
	done

$(BUILD)/fuzz/obj/%.o: lib/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(GW_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    $(DEP_FLAGS) -c -o $@ $<

$(FUZZ_LF_A): $(FUZZ_LF_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/drv/%.o: t/fuzz/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(GW_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    $(DEP_FLAGS) -c -o $@ $<

$(BUILD)/fuzz/bin/%: $(BUILD)/fuzz/drv/%.o $(FUZZ_LF_A)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(GW_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ \
	    $(GW_LIBS)

fuzz-bins: $(FUZZ_DRIVERS:%=$(BUILD)/fuzz/bin/%)
	@:

fuzz:
	@auto/deps build fuzz
	@$(MAKE) --no-print-directory fuzz-bins
	@fail=0; for d in $(FUZZ_DRIVERS); do \
	    out=$(BUILD)/fuzz/$$d; mkdir -p $$out/corpus $$out/artifacts; \
	    echo "fuzz/$$d: $(FUZZ_SECONDS) s, log in $$out/log"; \
	    if $(BUILD)/fuzz/bin/$$d -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
	        -artifact_prefix=$$out/artifacts/ $$out/corpus \
	        t/fuzz/corpus/$$d > $$out/log 2>&1; \
	    then grep -E '$(FUZZ_STATS)' $$out/log | sed "s|^|fuzz/$$d: |"; \
	    else fail=1; echo "fuzz/$$d: FAILED, see $$out/log:"; \
	        grep -E 'ERROR|SUMMARY|Test unit written' $$out/log; fi; \
	done; exit $$fail

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(UNIT_OBJS) $(GWCTL_OBJS) \
           $(FUZZ_OBJS) $(FUZZ_LF_OBJS) $(FUZZ_DRV_OBJS))

run: deps-build module $(GWCTL) backends
	@auto/deps run
	@scripts/run.sh

bench: deps-build module $(GWCTL) backends
	@auto/deps bench
	@scripts/bench.sh
	@scripts/bench-audit.sh
	@scripts/bench-identity.sh
	@scripts/bench-audit-index.sh
	@scripts/bench-schema.sh
	@scripts/bench-limit-memory.pl
	@scripts/bench-reporting.sh
	@scripts/bench-metadata.sh
	@scripts/bench-workflow.sh

clean:
	rm -rf $(BUILD) build-asan t/servroot run
