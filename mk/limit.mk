# lib/limit: rate-limit arithmetic (docs/limit.md)
GW_CFLAGS += -Ilib/limit
GW_LIBS   += -lm
GW_LIBS   += -lhiredis
