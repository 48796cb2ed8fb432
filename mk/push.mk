# Push at the edge (docs/push.md): the benchmark's load client
# (t/push/push_load.c: EventSource subscribers over several 127.0.0.x
# source addresses, and the publisher), its baseline server
# (t/push/push_raw.c: the least fan-out a transport's part would take)
# and `make bench-push`, part of `make bench`: the gateway module's own
# transport (gw_push_subscribe, gw_push_publish) with Redis, and with
# NCHAN=1 nchan's too (scripts/bench-push.sh).

PUSH_LOAD_BIN := $(BUILD)/push/push_load
PUSH_RAW_BIN := $(BUILD)/push/push_raw

$(PUSH_LOAD_BIN): t/push/push_load.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $< -lpthread

$(PUSH_RAW_BIN): t/push/push_raw.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -o $@ $<

.PHONY: bench-push

bench-push: $(MODULE) $(GWCTL) $(PUSH_LOAD_BIN) $(PUSH_RAW_BIN)
	@scripts/bench-push.sh

bench: bench-push
