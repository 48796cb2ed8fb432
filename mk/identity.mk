# identity: the token service (docs/identity.md); lib/oauth holds its
# strict form parser (unit test and fuzz driver reach it there)
GW_CFLAGS += -Ilib/oauth
BACKEND_LIBS_identity := -levent_openssl -lssl
