
/*
 * Copyright (C) Tollgate
 *
 * Lists of networks an operator allows outbound requests to reach, and
 * the address ranges no outbound request reaches unless a list names
 * them (loopback, private, link-local, unique-local, multicast, ...).
 * Both the processing service's http sink and the notification
 * service's webhooks check the address a socket is about to connect to,
 * so that a host name resolving (or rebinding) to such an address is
 * refused as surely as a literal one.
 */


#ifndef _GW_NETALLOW_H_INCLUDED_
#define _GW_NETALLOW_H_INCLUDED_


#include <stddef.h>
#include <sys/socket.h>


/* one entry: a network, and one port or any (0) */
typedef struct {
    int                     family;     /* AF_INET or AF_INET6 */
    unsigned char           addr[16];
    unsigned                bits;
    unsigned                port;
} gw_net_t;


/*
 * Parses a list of "<addr>[/<bits>][:<port>]" entries separated by
 * commas or blanks, IPv6 with a port in brackets ("[fd00::/8]:443";
 * "fd00::/8" without one), into nets (at most max).  0 with *n set, or
 * -1: *n entries read, bad (at most badlen bytes, NUL-terminated) the
 * entry refused, or "" when the list has more than max entries.
 */
int gw_netallow_parse(const char *text, gw_net_t *nets, size_t max,
    size_t *n, char *bad, size_t badlen);

/* 1 when the address and port of sa are in one of the n nets, else 0 */
int gw_netallow_match(const gw_net_t *nets, size_t n,
    const struct sockaddr *sa);

/*
 * The special range the address of sa is in ("loopback", "private",
 * "link-local", "unique-local", "multicast", "unspecified", "reserved",
 * ...), or NULL for an ordinary public address.  IPv4-mapped, IPv4-
 * compatible and NAT64 (64:ff9b::/96) IPv6 forms are judged by the IPv4
 * address they carry; a family other than IPv4 and IPv6 is "reserved".
 */
const char *gw_netallow_special(const struct sockaddr *sa);


#endif /* _GW_NETALLOW_H_INCLUDED_ */
