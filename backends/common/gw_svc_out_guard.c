
/*
 * Copyright (C) Tollgate
 *
 * The kit's outbound address guard (gw_svc.h): whom a service may call.
 *
 * The decision is made at the one moment it cannot be fooled: when curl
 * opens the socket for an address it resolved (gw_svc_out_open(), its
 * open-socket callback).  A host name that resolves, or later rebinds,
 * to a loopback, private, link-local or other special address is
 * refused there as surely as a literal one, unless the service's allow
 * list names that network.  The URL's own checks (scheme, userinfo,
 * host, port, a literal address) come first, for every request and
 * again when a service stores a URL (gw_svc_out_check_url()), so that
 * most mistakes are told to the caller at once.  A trusted request (the
 * operator's own URL, e.g. an internal service) skips the address check.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "gw_svc_out_int.h"
#include "gw_netallow.h"


#define GW_SVC_OUT_ALLOW_MAX    64      /* entries of the allow list */


static int gw_svc_out_literal(const char *host, unsigned port,
    char *err, size_t errlen);


static gw_net_t        gw_svc_out_allow[GW_SVC_OUT_ALLOW_MAX];
static size_t          gw_svc_out_nallow;
static const char     *gw_svc_out_allow_name = "allow";


int
gw_svc_out_guard_configure(const char *name, const char *allow)
{
    char  bad[80];

    gw_svc_out_allow_name = name;

    if (gw_netallow_parse(allow != NULL ? allow : "", gw_svc_out_allow,
                          GW_SVC_OUT_ALLOW_MAX, &gw_svc_out_nallow, bad,
                          sizeof(bad))
        != 0)
    {
        if (bad[0] == '\0') {
            fprintf(stderr, "%s: more than %d entries\n", name,
                    GW_SVC_OUT_ALLOW_MAX);

        } else {
            fprintf(stderr, "%s: not \"<addr>[/<bits>][:<port>]\": "
                    "\"%s\"\n", name, bad);
        }

        return -1;
    }

    return 0;
}


int
gw_svc_out_check_url(gw_svc_t *svc, const char *url, char *err,
    size_t errlen)
{
    char      ep[GW_SVC_OUT_EP_MAX], host[260];
    unsigned  port;

    (void) svc;

    if (gw_svc_out_parse(url, ep, sizeof(ep), host, sizeof(host), &port, err,
                       errlen)
        != 0)
    {
        return -1;
    }

    return gw_svc_out_literal(host, port, err, errlen);
}


int
gw_svc_out_parse(const char *url, char *ep, size_t eplen, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen)
{
    int        rc;
    char      *scheme, *h, *p, *user, *pass;
    CURLU     *u;
    size_t     len;
    CURLUcode  uc;

    rc = -1;
    scheme = NULL;
    h = NULL;
    p = NULL;
    user = NULL;
    pass = NULL;

    if (strlen(url) > 2048) {
        snprintf(err, errlen, "URL longer than 2048 bytes");
        return -1;
    }

    u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "not a URL: %s", curl_url_strerror(uc));
        goto done;
    }

    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
    {
        snprintf(err, errlen, "not an http or https URL");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER
        || curl_url_get(u, CURLUPART_PASSWORD, &pass, 0)
           != CURLUE_NO_PASSWORD)
    {
        snprintf(err, errlen, "a URL with a user or password");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK
        || h[0] == '\0' || strlen(h) > 255)
    {
        snprintf(err, errlen, "no host, or one longer than 255 bytes");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)
        != CURLUE_OK)
    {
        snprintf(err, errlen, "no port");
        goto done;
    }

    *port = (unsigned) atoi(p);

    if (snprintf(ep, eplen, "%s://%s:%u", scheme, h, *port) >= (int) eplen)
    {
        snprintf(err, errlen, "host too long");
        goto done;
    }

    len = strlen(h);

    if (h[0] == '[' && len > 2) {
        snprintf(host, hostlen, "%.*s", (int) (len - 2), h + 1);

    } else {
        snprintf(host, hostlen, "%s", h);
    }

    rc = 0;

done:

    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);

    return rc;
}


/* a literal address in the URL: refused when special and not allowed */
static int
gw_svc_out_literal(const char *host, unsigned port, char *err, size_t errlen)
{
    const char           *why;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;
    struct sockaddr      *sa;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sa = (struct sockaddr *) &sin;

    } else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        sa = (struct sockaddr *) &sin6;

    } else {
        return 0;
    }

    if (gw_netallow_match(gw_svc_out_allow, gw_svc_out_nallow, sa)) {
        return 0;
    }

    why = gw_netallow_special(sa);

    if (why != NULL) {
        snprintf(err, errlen, "the address %s is %s: not allowed by the "
                 "service's %s", host, why, gw_svc_out_allow_name);
        return -1;
    }

    return 0;
}


curl_socket_t
gw_svc_out_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    char             text[INET6_ADDRSTRLEN], *refused;
    const char      *why;
    const void      *bytes;
    gw_svc_out_t    *h;
    struct sockaddr *sa;

    h = clientp;
    refused = h->refused;
    sa = &a->addr;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }

    if (!h->trusted
        && !gw_netallow_match(gw_svc_out_allow, gw_svc_out_nallow, sa))
    {
        why = gw_netallow_special(sa);

        if (why != NULL) {
            if (refused[0] == '\0') {
                bytes = sa->sa_family == AF_INET6
                        ? (const void *)
                          &((struct sockaddr_in6 *) sa)->sin6_addr
                        : (const void *)
                          &((struct sockaddr_in *) sa)->sin_addr;

                if (inet_ntop(sa->sa_family, bytes, text, sizeof(text))
                    == NULL)
                {
                    snprintf(text, sizeof(text), "?");
                }

                snprintf(refused, GW_SVC_OUT_REFUSED_MAX, "%s (%s)", text,
                         why);

                gw_svc_log(gw_svc_out.svc, GW_SVC_INFO, NULL,
                           "outbound address refused",
                           json_pack("{s:s,s:s}", "address", text,
                                     "range", why));
            }

            return CURL_SOCKET_BAD;
        }
    }

    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}
