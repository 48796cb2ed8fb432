
/*
 * Copyright (C) Tollgate
 *
 * Network lists and special ranges (lib/netallow): the list parser
 * accepts "<addr>[/<bits>][:<port>]" with IPv6 in brackets and refuses
 * bad prefixes, ports and overflows naming the entry; matching honours
 * prefix bits (including ones that are not a multiple of 8), ports and
 * IPv4-mapped IPv6; every special range is classified at its edges, and
 * IPv6 forms carrying an IPv4 address (mapped, compatible, NAT64, 6to4)
 * are judged by that address, so none of them smuggles in a loopback.
 */


#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "gw_netallow.h"
#include "tap.h"


static const struct sockaddr *
addr(const char *text, unsigned port)
{
    static struct sockaddr_in   sin;
    static struct sockaddr_in6  sin6;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        return (struct sockaddr *) &sin;
    }

    if (inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        return (struct sockaddr *) &sin6;
    }

    return NULL;
}


static const char *
special(const char *text)
{
    const char  *s;

    s = gw_netallow_special(addr(text, 80));

    return s != NULL ? s : "public";
}


int
main(void)
{
    char      bad[80];
    size_t    n, i;
    gw_net_t  nets[4];

    static const char *const  cases[][2] = {
        { "0.0.0.0", "unspecified" }, { "0.255.255.255", "unspecified" },
        { "1.1.1.1", "public" }, { "9.255.255.255", "public" },
        { "10.0.0.0", "private" }, { "10.255.255.255", "private" },
        { "11.0.0.0", "public" }, { "100.63.255.255", "public" },
        { "100.64.0.0", "private" }, { "100.127.255.255", "private" },
        { "100.128.0.0", "public" }, { "127.0.0.1", "loopback" },
        { "127.255.255.254", "loopback" }, { "169.254.169.254", "link-local" },
        { "169.255.0.1", "public" }, { "172.15.255.255", "public" },
        { "172.16.0.1", "private" }, { "172.31.255.255", "private" },
        { "172.32.0.0", "public" }, { "192.168.1.1", "private" },
        { "192.0.2.1", "reserved" }, { "198.18.0.1", "reserved" },
        { "198.51.100.7", "reserved" }, { "203.0.113.9", "reserved" },
        { "224.0.0.1", "multicast" }, { "239.255.255.255", "multicast" },
        { "240.0.0.1", "reserved" }, { "255.255.255.255", "reserved" },
        { "93.184.215.14", "public" },
        { "::", "unspecified" }, { "::1", "loopback" },
        { "::ffff:127.0.0.1", "loopback" }, { "::ffff:10.1.2.3", "private" },
        { "::ffff:169.254.169.254", "link-local" },
        { "::ffff:8.8.8.8", "public" }, { "::127.0.0.1", "loopback" },
        { "64:ff9b::7f00:1", "loopback" }, { "64:ff9b::a9fe:a9fe",
                                              "link-local" },
        { "64:ff9b::808:808", "public" }, { "64:ff9b:1::1", "private" },
        { "2002:7f00:1::1", "loopback" }, { "2002:0808:0808::1", "public" },
        { "fe80::1", "link-local" }, { "febf::1", "link-local" },
        { "fec0::1", "private" }, { "fc00::1", "unique-local" },
        { "fdff::1", "unique-local" }, { "ff02::1", "multicast" },
        { "2001:db8::1", "reserved" }, { "2001::1", "reserved" },
        { "100::1", "reserved" }, { "2606:4700::1111", "public" },
        { "4000::1", "reserved" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_str(special(cases[i][0]), cases[i][1], "%s is %s", cases[i][0],
               cases[i][1]);
    }

    /* parsing */
    is_int(gw_netallow_parse("", nets, 4, &n, bad, sizeof(bad)), 0,
           "an empty list");
    is_int(n, 0, "... has no entry");

    is_int(gw_netallow_parse(" 10.0.0.0/8, 127.0.0.1:8080 [fd00::/8]:443,"
                             "::1", nets, 4, &n, bad, sizeof(bad)), 0,
           "four entries, commas and blanks");
    is_int(n, 4, "... read");
    is_int(nets[0].bits, 8, "/8");
    is_int(nets[1].bits, 32, "an address alone is /32");
    is_int(nets[1].port, 8080, "a port");
    is_int(nets[2].family, AF_INET6, "IPv6 in brackets");
    is_int(nets[2].port, 443, "... with a port");
    is_int(nets[3].bits, 128, "an IPv6 address alone is /128");

    is_int(gw_netallow_parse("10.0.0.0/8 1.2.3.4 5.6.7.8 ::1 ::2", nets, 4,
                             &n, bad, sizeof(bad)), -1, "five entries of 4");
    is_str(bad, "", "... no entry named");

    for (i = 0; i < 9; i++) {
        static const char *const  wrong[] = {
            "10.0.0.0/33", "10.0.0.0/x", "10.0.0.1:0", "10.0.0.1:65536",
            "10.0.0.1:", "[::1", "[::1]x", "::1/129", "example.com"
        };

        is_int(gw_netallow_parse(wrong[i], nets, 4, &n, bad, sizeof(bad)),
               -1, "refused: %s", wrong[i]);
        is_str(bad, wrong[i], "... named");
    }

    /* matching */
    gw_netallow_parse("10.1.0.0/17 127.0.0.1:8080 [fd00::/8]:443", nets, 4,
                      &n, bad, sizeof(bad));

    ok(gw_netallow_match(nets, n, addr("10.1.127.255", 1)), "/17: in");
    ok(!gw_netallow_match(nets, n, addr("10.1.128.0", 1)), "/17: out");
    ok(gw_netallow_match(nets, n, addr("127.0.0.1", 8080)), "the port");
    ok(!gw_netallow_match(nets, n, addr("127.0.0.1", 8081)), "another port");
    ok(gw_netallow_match(nets, n, addr("::ffff:127.0.0.1", 8080)),
       "IPv4-mapped as IPv4");
    ok(gw_netallow_match(nets, n, addr("fd12::1", 443)), "IPv6 /8");
    ok(!gw_netallow_match(nets, n, addr("fd12::1", 80)), "... its port");
    ok(!gw_netallow_match(nets, n, addr("fe00::1", 443)), "IPv6 outside");
    ok(!gw_netallow_match(nets, 0, addr("10.1.0.1", 1)), "an empty list");

    return done_testing();
}
