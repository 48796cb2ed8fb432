# The NATS JetStream connectors' test driver (t/proc/test_proc_nats.c,
# run by t/backends/076-processing-nats.t): the connectors' objects
# (backends/processing/proc_*nats*.c) with the service kit's and lib/.
# `make backends` builds it beside the services.

PROC_NATS_OBJS := $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,\
                      $(wildcard backends/processing/proc_*nats*.c))

backends: $(BUILD)/proc/test_proc_nats

$(BUILD)/proc/obj/%.o: t/proc/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -Ibackends/common -Ibackends/processing \
	    $(DEP_FLAGS) -c -o $@ $<

$(BUILD)/proc/test_proc_nats: $(BUILD)/proc/obj/test_proc_nats.o \
                              $(PROC_NATS_OBJS) $(KIT_OBJS) $(LIB_A)
	$(CC) $(GW_CFLAGS) -o $@ $^ $(KIT_LIBS) -lnats -lz -lpthread

-include $(BUILD)/proc/obj/test_proc_nats.d
