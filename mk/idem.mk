# idem: Idempotency-Key parsing and records (lib/idem)
GW_CFLAGS += -Ilib/idem
