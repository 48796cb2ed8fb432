# netallow: "<addr>[/<bits>][:<port>]" lists of networks and the special
# address ranges outbound requests refuse (lib/netallow)
GW_CFLAGS += -Ilib/netallow
