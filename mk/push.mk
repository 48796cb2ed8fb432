# Push at the edge (docs/push.md): the benchmark's load client
# (t/push/push_load.c: EventSource subscribers over several 127.0.0.x
# source addresses, and the publisher) and `make bench-push`, part of
# `make bench`: nchan with Redis behind the gateway module
# (scripts/bench-push.sh; nchan is Debian's libnginx-mod-nchan).

PUSH_LOAD_BIN := $(BUILD)/push/push_load

$(PUSH_LOAD_BIN): t/push/push_load.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $< -lpthread

.PHONY: bench-push

bench-push: $(MODULE) $(GWCTL) $(PUSH_LOAD_BIN)
	@scripts/bench-push.sh

bench: bench-push
