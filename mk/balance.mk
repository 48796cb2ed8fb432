# lib/balance: consistent-hash rings, smooth weighted round robin and
# least connections for gw_upstream (docs/routing.md)
GW_CFLAGS += -Ilib/balance
