# The backend services (backends/, docs/service-kit.md): each folder but
# common/ is one service, build/backends/<name>, linked with the service
# kit (backends/common), lib/problem and lib/trace, libevent, hiredis,
# jansson and OpenSSL's libcrypto.  `make backends` builds them;
# `make test` builds them before the suites (t/backends/*.t use them).

GW_CFLAGS += -Ilib/trace

BACKEND_NAMES := $(filter-out common,\
                     $(notdir $(patsubst %/,%,$(wildcard backends/*/))))
BACKEND_BINS  := $(BACKEND_NAMES:%=$(BUILD)/backends/%)
KIT_SRCS      := $(wildcard backends/common/*.c)
KIT_HDRS      := $(wildcard backends/common/*.h)
KIT_LIB_SRCS  := $(wildcard lib/problem/*.c lib/trace/*.c)
KIT_LIB_HDRS  := $(wildcard lib/problem/*.h lib/trace/*.h)
KIT_LIBS      := -levent -lhiredis -ljansson -lcrypto

TEST_EXTRA += backends-test

.PHONY: backends backends-test

backends: $(BACKEND_BINS)

# the .t files run in `make test`'s prove over t/; this only builds
backends-test: backends

# a service needing more of lib/ sets BACKEND_SRCS_<name> (sources and
# headers) and BACKEND_LIBS_<name> in its own mk file
define GW_BACKEND_RULE
$(BUILD)/backends/$(1): $(wildcard backends/$(1)/*.c backends/$(1)/*.h) \
        $(KIT_SRCS) $(KIT_HDRS) $(KIT_LIB_SRCS) $(KIT_LIB_HDRS) \
        $(BACKEND_SRCS_$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(GW_CFLAGS) -Ibackends/common -o $$@ \
	    $(wildcard backends/$(1)/*.c) $(KIT_SRCS) $(KIT_LIB_SRCS) \
	    $(filter %.c,$(BACKEND_SRCS_$(1))) $(KIT_LIBS) $(BACKEND_LIBS_$(1))
endef

$(foreach b,$(BACKEND_NAMES),$(eval $(call GW_BACKEND_RULE,$(b))))
