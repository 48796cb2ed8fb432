# The backend services (backends/, docs/service-kit.md): each folder but
# common/ is one service, build/backends/<name>, linked with the service
# kit (backends/common), lib/problem and lib/trace, libevent, hiredis,
# jansson, libcurl (the kit's outbound HTTP) and OpenSSL's libcrypto.
# `make backends` builds them; `make test` builds them before the suites
# (t/backends/*.t use them).

GW_CFLAGS += -Ilib/trace

BACKEND_NAMES := $(filter-out common,\
                     $(notdir $(patsubst %/,%,$(wildcard backends/*/))))
BACKEND_BINS  := $(BACKEND_NAMES:%=$(BUILD)/backends/%)
KIT_SRCS      := $(wildcard backends/common/*.c)
KIT_HDRS      := $(wildcard backends/common/*.h)
KIT_LIBS      := -levent -lhiredis -ljansson -lcrypto -lcurl

TEST_EXTRA += backends-test

.PHONY: backends backends-test

backends: $(BACKEND_BINS)

# the .t files run in `make test`'s prove over t/; this only builds
backends-test: backends

# Each source is compiled once into $(BUILD)/backends/obj (the kit once
# for all services), and lib/ comes from $(LIB_A), compiled once for the
# unit tests too.  A service sets BACKEND_LIBS_<name> for the libraries
# its part of lib/ needs (BACKEND_SRCS_<name> lists that part, for
# reading; the archive holds all of lib/).
KIT_OBJS := $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,$(KIT_SRCS))
BACKEND_OBJS := $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,\
                    $(wildcard backends/*/*.c))

$(BUILD)/backends/obj/%.o: backends/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -Ibackends/common $(DEP_FLAGS) -c -o $@ $<

define GW_BACKEND_RULE
$(BUILD)/backends/$(1): $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,\
                            $(wildcard backends/$(1)/*.c)) \
                        $(KIT_OBJS) $(LIB_A)
	$$(CC) $$(GW_CFLAGS) -o $$@ $$^ $(KIT_LIBS) $$(BACKEND_LIBS_$(1))
endef

$(foreach b,$(BACKEND_NAMES),$(eval $(call GW_BACKEND_RULE,$(b))))

-include $(BACKEND_OBJS:.o=.d)
