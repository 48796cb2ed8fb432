
/*
 * Copyright (C) Tollgate
 *
 * Network lists and special address ranges (gw_netallow.h).  The ranges
 * are those of the IANA special-purpose registries that a request to an
 * outside receiver has no business reaching: this host, its networks,
 * other tenants' networks behind a carrier NAT, cloud metadata services
 * (link-local), multicast, and the reserved and documentation blocks.
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
 * 6to4) are judged by that address, so "::ffff:127.0.0.1" is loopback.
 */


#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "gw_netallow.h"


typedef struct {
    uint32_t                net;
    unsigned                bits;
    const char             *name;
} gw_netallow_range_t;


static int gw_netallow_net_parse(const char *s, size_t len, gw_net_t *net);
static int gw_netallow_prefix(const unsigned char *a,
    const unsigned char *net, unsigned bits);
static const char *gw_netallow_special4(const unsigned char *a);


static const gw_netallow_range_t  gw_netallow_ranges4[] = {
    { 0x00000000, 8, "unspecified" },       /* 0.0.0.0/8 */
    { 0x0a000000, 8, "private" },           /* 10.0.0.0/8 */
    { 0x64400000, 10, "private" },          /* 100.64.0.0/10, CGNAT */
    { 0x7f000000, 8, "loopback" },          /* 127.0.0.0/8 */
    { 0xa9fe0000, 16, "link-local" },       /* 169.254.0.0/16 */
    { 0xac100000, 12, "private" },          /* 172.16.0.0/12 */
    { 0xc0000000, 24, "reserved" },         /* 192.0.0.0/24 */
    { 0xc0000200, 24, "reserved" },         /* 192.0.2.0/24 */
    { 0xc0586300, 24, "reserved" },         /* 192.88.99.0/24 */
    { 0xc0a80000, 16, "private" },          /* 192.168.0.0/16 */
    { 0xc6120000, 15, "reserved" },         /* 198.18.0.0/15 */
    { 0xc6336400, 24, "reserved" },         /* 198.51.100.0/24 */
    { 0xcb007100, 24, "reserved" },         /* 203.0.113.0/24 */
    { 0xe0000000, 4, "multicast" },         /* 224.0.0.0/4 */
    { 0xf0000000, 4, "reserved" },          /* 240.0.0.0/4, broadcast */
    { 0, 0, NULL }
};


int
gw_netallow_parse(const char *text, gw_net_t *nets, size_t max, size_t *n,
    char *bad, size_t badlen)
{
    size_t       len;
    const char  *p;

    *n = 0;
    p = text;

    if (badlen > 0) {
        bad[0] = '\0';
    }

    for ( ;; ) {
        p += strspn(p, " \t,");

        if (*p == '\0') {
            return 0;
        }

        len = strcspn(p, " \t,");

        if (*n == max) {
            return -1;
        }

        if (gw_netallow_net_parse(p, len, &nets[*n]) != 0) {
            if (badlen > 0) {
                snprintf(bad, badlen, "%.*s", (int) len, p);
            }

            return -1;
        }

        (*n)++;
        p += len;
    }
}


/*
 * "<addr>[/<bits>][:<port>]", IPv6 with a port in brackets:
 * "[::1/128]:80"; without one, brackets are optional: "fd00::/8"
 */

static int
gw_netallow_net_parse(const char *s, size_t len, gw_net_t *net)
{
    char           buf[80], *addr, *bits, *port, *e, *close;
    unsigned long  v;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(net, 0, sizeof(gw_net_t));

    addr = buf;
    port = NULL;

    if (buf[0] == '[') {
        close = strchr(buf, ']');
        if (close == NULL) {
            return -1;
        }

        *close = '\0';
        addr = buf + 1;

        if (close[1] == ':') {
            port = close + 2;

        } else if (close[1] != '\0') {
            return -1;
        }

    } else if (strchr(buf, ':') == strrchr(buf, ':')) {
        /* IPv4, or an IPv6 address alone (two colons at least) */
        port = strchr(buf, ':');
        if (port != NULL) {
            *port++ = '\0';
        }
    }

    bits = strchr(addr, '/');
    if (bits != NULL) {
        *bits++ = '\0';
    }

    if (inet_pton(AF_INET, addr, net->addr) == 1) {
        net->family = AF_INET;
        net->bits = 32;

    } else if (inet_pton(AF_INET6, addr, net->addr) == 1) {
        net->family = AF_INET6;
        net->bits = 128;

    } else {
        return -1;
    }

    if (bits != NULL) {
        if (!isdigit((unsigned char) bits[0])) {
            return -1;
        }

        v = strtoul(bits, &e, 10);
        if (*e != '\0' || v > net->bits) {
            return -1;
        }

        net->bits = v;
    }

    if (port != NULL) {
        if (!isdigit((unsigned char) port[0])) {
            return -1;
        }

        v = strtoul(port, &e, 10);
        if (*e != '\0' || v == 0 || v > 65535) {
            return -1;
        }

        net->port = v;
    }

    return 0;
}


int
gw_netallow_match(const gw_net_t *nets, size_t n, const struct sockaddr *sa)
{
    int                         family;
    size_t                      i;
    unsigned                    port;
    const unsigned char        *a;
    const gw_net_t             *net;
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (sa->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) sa;
        family = AF_INET;
        a = (const unsigned char *) &sin->sin_addr;
        port = ntohs(sin->sin_port);

    } else if (sa->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) sa;
        family = AF_INET6;
        a = (const unsigned char *) &sin6->sin6_addr;
        port = ntohs(sin6->sin6_port);

        /* an IPv4-mapped address is checked as the IPv4 one it is */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            family = AF_INET;
            a += 12;
        }

    } else {
        return 0;
    }

    for (i = 0; i < n; i++) {
        net = &nets[i];

        if (net->family != family || (net->port != 0 && net->port != port))
        {
            continue;
        }

        if (gw_netallow_prefix(a, net->addr, net->bits)) {
            return 1;
        }
    }

    return 0;
}


/* 1 when the first bits of a and net are equal */

static int
gw_netallow_prefix(const unsigned char *a, const unsigned char *net,
    unsigned bits)
{
    size_t         full;
    unsigned char  mask;

    full = bits / 8;

    if (memcmp(a, net, full) != 0) {
        return 0;
    }

    if (bits % 8 != 0) {
        mask = (unsigned char) (0xff << (8 - bits % 8));
        if ((a[full] & mask) != (net[full] & mask)) {
            return 0;
        }
    }

    return 1;
}


const char *
gw_netallow_special(const struct sockaddr *sa)
{
    const unsigned char  *a;

    static const unsigned char  zero[16];
    static const unsigned char  nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    static const unsigned char  nat64local[6] = { 0x00, 0x64, 0xff, 0x9b,
                                                  0x00, 0x01 };
    static const unsigned char  teredo[4] = { 0x20, 0x01, 0x00, 0x00 };
    static const unsigned char  doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
    static const unsigned char  discard[8] = { 0x01, 0x00 };

    if (sa->sa_family == AF_INET) {
        return gw_netallow_special4(
            (const unsigned char *) &((const struct sockaddr_in *) sa)
                                                                ->sin_addr);
    }

    if (sa->sa_family != AF_INET6) {
        return "reserved";
    }

    a = (const unsigned char *)
            &((const struct sockaddr_in6 *) sa)->sin6_addr;

    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
        return a[15] == 0 ? "unspecified" : "loopback";
    }

    /* ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), NAT64 */
    if (memcmp(a, zero, 12) == 0
        || (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
        || memcmp(a, nat64, 12) == 0)
    {
        return gw_netallow_special4(a + 12);
    }

    /* 6to4: 2002:a.b.c.d::/48 */
    if (a[0] == 0x20 && a[1] == 0x02) {
        return gw_netallow_special4(a + 2);
    }

    if (memcmp(a, nat64local, 6) == 0) {
        return "private";
    }

    if (memcmp(a, teredo, 4) == 0 || memcmp(a, doc, 4) == 0
        || memcmp(a, discard, 8) == 0)
    {
        return "reserved";
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return "link-local";                    /* fe80::/10 */
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
        return "private";                       /* fec0::/10, site-local */
    }

    if ((a[0] & 0xfe) == 0xfc) {
        return "unique-local";                  /* fc00::/7 */
    }

    if (a[0] == 0xff) {
        return "multicast";
    }

    /* the global unicast space is 2000::/3; the rest is reserved */
    if ((a[0] & 0xe0) != 0x20) {
        return "reserved";
    }

    return NULL;
}


static const char *
gw_netallow_special4(const unsigned char *a)
{
    uint32_t                    v, mask;
    const gw_netallow_range_t  *r;

    v = ((uint32_t) a[0] << 24) | ((uint32_t) a[1] << 16)
        | ((uint32_t) a[2] << 8) | a[3];

    for (r = gw_netallow_ranges4; r->name != NULL; r++) {
        mask = 0xffffffffu << (32 - r->bits);

        if ((v & mask) == r->net) {
            return r->name;
        }
    }

    return NULL;
}
