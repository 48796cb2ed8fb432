
/*
 * Copyright (C) Tollgate
 *
 * Who asks and what they may do (docs/admin-api.md, "Access").
 *
 * The service sits behind the gateway, which authenticates the client
 * (a JWT of the identity service, or an admin API key) and sends who it
 * is in identity headers it always strips from the client's request
 * first: X-Consumer-Scope (the token's scopes), X-Consumer-Subject (its
 * sub) and X-Consumer-ID (the consumer of an API key).  Those headers are
 * only as good as the path to the service, so it listens on loopback or a
 * unix socket unless listen_public says otherwise.
 *
 * The role: a scope header decides alone (admin:write, else admin:read,
 * else none); without one, the consumer entity of X-Consumer-ID is read
 * on every request (nothing cached: a tag removed or a consumer disabled
 * takes effect at once) and its tags name the role; without either,
 * anonymous_role.  Every identity header is checked before it is used:
 * one copy only (two copies are refused, never guessed between), capped,
 * no control bytes; a refused value reaches the log escaped and cut.
 */


#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "gw_model.h"
#include "metadata.h"


#define MD_SCOPE_MAX        4096    /* bytes of X-Consumer-Scope */
#define MD_SUBJECT_MAX      255     /* bytes of X-Consumer-Subject */
#define MD_LOGGED_MAX       64      /* bytes of a refused value logged */

#define MD_ACTOR_MAX        (sizeof("sub:") - 1 + MD_SUBJECT_MAX)

#define MD_H_SCOPE          "X-Consumer-Scope"
#define MD_H_ID             "X-Consumer-ID"
#define MD_H_SUBJECT        "X-Consumer-Subject"


typedef struct {
    gw_svc_req_t       *req;
    md_role_e           need;
    md_access_pt        cb;
    void               *data;
    char                actor[MD_ACTOR_MAX + 1];
} md_access_ctx_t;


static int md_access_header(gw_svc_req_t *req, const char *name,
    size_t max, const char **value);
static md_role_e md_access_scope(const char *scope);
static void md_access_consumer(int status, json_t *doc, long long version,
    void *data);
static void md_access_decide(md_access_ctx_t *ctx, md_role_e role,
    int identified, const char *why);
static int md_access_loopback(const char *addr);


static md_role_e   md_anonymous_role;

static const char  *md_role_names[] = { "none", "read", "write" };


int
md_access_setup(gw_svc_t *svc)
{
    const char  *v, *addr;

    v = gw_svc_conf_str(svc, "anonymous_role");

    if (strcmp(v, "write") == 0) {
        md_anonymous_role = MD_ROLE_WRITE;

    } else if (strcmp(v, "read") == 0) {
        md_anonymous_role = MD_ROLE_READ;

    } else {
        md_anonymous_role = MD_ROLE_NONE;
    }

    addr = gw_svc_conf_str(svc, "listen");

    if (strcmp(gw_svc_conf_str(svc, "listen_public"), "on") == 0
        || strncmp(addr, "unix:", 5) == 0
        || md_access_loopback(addr))
    {
        return 0;
    }

    gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
               json_pack("{s:s, s:s}", "error", "listen: not a loopback "
                         "address: the service trusts the identity headers "
                         "of whoever reaches it; set listen_public = on "
                         "only behind a network that only the gateway "
                         "reaches", "listen", addr));

    return -1;
}


/*
 * 1 when addr ("host:port", "[v6]:port") names loopback addresses only:
 * every address the host resolves to is 127.0.0.0/8 or ::1 (or ::1's
 * IPv4-mapped 127/8).  A name is resolved here, once, before the loop.
 */

static int
md_access_loopback(const char *addr)
{
    int               ok;
    char              host[256];
    size_t            len;
    const char       *colon, *start;
    const uint8_t    *b;
    struct addrinfo   hints, *res, *ai;
    struct in6_addr  *a6;

    colon = strrchr(addr, ':');
    if (colon == NULL) {
        return 0;
    }

    start = addr;
    len = colon - addr;

    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        start++;
        len -= 2;
    }

    if (len == 0 || len >= sizeof(host)) {
        return 0;
    }

    memcpy(host, start, len);
    host[len] = '\0';

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        return 0;
    }

    ok = 1;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            b = (const uint8_t *)
                &((struct sockaddr_in *) ai->ai_addr)->sin_addr;
            ok = ok && b[0] == 127;

        } else if (ai->ai_family == AF_INET6) {
            a6 = &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
            ok = ok && (IN6_IS_ADDR_LOOPBACK(a6)
                        || (IN6_IS_ADDR_V4MAPPED(a6)
                            && a6->s6_addr[12] == 127));

        } else {
            ok = 0;
        }
    }

    freeaddrinfo(res);

    return ok;
}


/*
 * One identity header: *value is NULL when absent.  0, or -1 when it was
 * refused (two copies, over max bytes, or bytes a header of its kind
 * never holds): the request is answered 400 and the value logged
 * escaped and cut to MD_LOGGED_MAX bytes.
 */

static int
md_access_header(gw_svc_req_t *req, const char *name, size_t max,
    const char **value)
{
    char         cut[MD_LOGGED_MAX + 1];
    size_t       n, len, i;
    const char  *v, *why;

    *value = NULL;

    n = gw_svc_req_header_count(req, name);
    if (n == 0) {
        return 0;
    }

    v = gw_svc_req_header(req, name);
    len = strlen(v);

    if (n > 1) {
        why = "sent more than once";

    } else if (len > max) {
        why = "too long";

    } else if (strcmp(name, MD_H_ID) == 0) {
        why = gw_model_id_valid(v, len) ? NULL : "not a consumer id";

    } else if (strcmp(name, MD_H_SUBJECT) == 0) {
        why = (len > 0 && gw_model_printable(v, len))
              ? NULL : "empty or not printable UTF-8";

    } else {
        why = NULL;

        for (i = 0; i < len; i++) {
            if ((unsigned char) v[i] < 0x20 || (unsigned char) v[i] > 0x7e
                || v[i] == '"' || v[i] == '\\')
            {
                why = "not scope tokens";
                break;
            }
        }
    }

    if (why == NULL) {
        *value = v;
        return 0;
    }

    len = len > MD_LOGGED_MAX ? MD_LOGGED_MAX : len;
    memcpy(cut, v, len);
    cut[len] = '\0';

    gw_svc_log(gw_svc_req_svc(req), GW_SVC_INFO, req,
               "identity header refused",
               json_pack("{s:s, s:s, s:o*, s:i}", "header", name,
                         "reason", why, "value", gw_svc_json_string(cut),
                         "length", (int) strlen(v)));

    gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                         strcmp(why, "sent more than once") == 0
                         ? "an identity header was sent more than once"
                         : "an identity header is malformed");

    return -1;
}


/* the role a space-separated scope list gives: admin:write > admin:read */

static md_role_e
md_access_scope(const char *scope)
{
    size_t       len;
    md_role_e    role;
    const char  *p;

    role = MD_ROLE_NONE;

    for (p = scope; *p != '\0'; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");

        if (len == 11 && memcmp(p, "admin:write", 11) == 0) {
            return MD_ROLE_WRITE;
        }

        if (len == 10 && memcmp(p, "admin:read", 10) == 0) {
            role = MD_ROLE_READ;
        }
    }

    return role;
}


void
md_access(gw_svc_req_t *req, md_role_e need, md_access_pt cb, void *data)
{
    const char       *scope, *id, *sub;
    md_type_t        *consumers;
    md_access_ctx_t   local, *ctx;

    if (md_access_header(req, MD_H_SCOPE, MD_SCOPE_MAX, &scope) != 0
        || md_access_header(req, MD_H_ID, GW_ID_MAX, &id) != 0
        || md_access_header(req, MD_H_SUBJECT, MD_SUBJECT_MAX, &sub) != 0)
    {
        return;
    }

    ctx = &local;
    ctx->req = req;
    ctx->need = need;
    ctx->cb = cb;
    ctx->data = data;

    if (id != NULL) {
        snprintf(ctx->actor, sizeof(ctx->actor), "%s", id);

    } else if (sub != NULL) {
        snprintf(ctx->actor, sizeof(ctx->actor), "sub:%s", sub);

    } else {
        snprintf(ctx->actor, sizeof(ctx->actor), "anonymous");
    }

    if (scope != NULL) {
        md_access_decide(ctx, md_access_scope(scope), 1, "scope");
        return;
    }

    if (id == NULL) {
        md_access_decide(ctx, sub != NULL ? MD_ROLE_NONE : md_anonymous_role,
                         sub != NULL, sub != NULL ? "subject" : "anonymous");
        return;
    }

    /* an API key's consumer: its entity's tags, read now */

    consumers = md_type_get("consumers");

    ctx = malloc(sizeof(md_access_ctx_t));

    if (consumers == NULL || ctx == NULL) {
        free(ctx);
        gw_svc_log(gw_svc_req_svc(req), GW_SVC_ERROR, req,
                   "access: cannot read the consumer",
                   json_pack("{s:s}", "error", "out of memory"));
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             "the consumer could not be read");
        return;
    }

    *ctx = local;

    if (md_store_get(consumers, id, md_access_consumer, ctx) != 0) {
        free(ctx);
        gw_svc_log(gw_svc_req_svc(req), GW_SVC_ERROR, req,
                   "access: cannot read the consumer",
                   json_pack("{s:s}", "error", "out of memory"));
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             "the consumer could not be read");
    }
}


/* the consumer entity of X-Consumer-ID: active, its tags name the role */

static void
md_access_consumer(int status, json_t *doc, long long version, void *data)
{
    size_t             i;
    json_t            *tags, *v;
    md_role_e          role;
    const char        *st, *why;
    md_access_ctx_t   *ctx;

    ctx = data;
    role = MD_ROLE_NONE;
    why = "consumer";

    if (status == 200 && doc != NULL) {
        st = json_string_value(json_object_get(doc, "status"));

        if (st != NULL && strcmp(st, GW_MODEL_ACTIVE) != 0) {
            why = "consumer not active";

        } else {
            tags = json_object_get(doc, "tags");

            json_array_foreach(tags, i, v) {
                st = json_string_value(v);

                if (st == NULL) {
                    continue;
                }

                if (strcmp(st, "admin:write") == 0) {
                    role = MD_ROLE_WRITE;

                } else if (strcmp(st, "admin:read") == 0
                           && role == MD_ROLE_NONE)
                {
                    role = MD_ROLE_READ;
                }
            }
        }

    } else if (status == 404) {
        why = "no such consumer";

    } else {
        gw_svc_log(gw_svc_req_svc(ctx->req), GW_SVC_ERROR, ctx->req,
                   "access: cannot read the consumer",
                   json_pack("{s:s, s:i}", "consumer", ctx->actor,
                             "status", status));
        gw_svc_reply_problem(ctx->req, 503, "unavailable",
                             "Service unavailable",
                             "the consumer could not be read");
        json_decref(doc);
        free(ctx);
        return;
    }

    json_decref(doc);

    md_access_decide(ctx, role, 1, why);

    free(ctx);
}


/*
 * Runs the callback when role is enough; otherwise answers 401 (nobody
 * identified) or 403 and logs the denial at info.
 */

static void
md_access_decide(md_access_ctx_t *ctx, md_role_e role, int identified,
    const char *why)
{
    char  *actor;

    if (role >= ctx->need) {

        /* the actor lives as long as the request: the callback's writes
           may use it after an asynchronous read or two */

        actor = gw_svc_req_alloc(ctx->req, strlen(ctx->actor) + 1);

        if (actor == NULL) {
            gw_svc_log(gw_svc_req_svc(ctx->req), GW_SVC_ERROR, ctx->req,
                       "access: out of memory", NULL);
            gw_svc_reply_problem(ctx->req, 503, "unavailable",
                                 "Service unavailable", "out of memory");
            return;
        }

        memcpy(actor, ctx->actor, strlen(ctx->actor) + 1);
        ctx->cb(ctx->req, actor, ctx->data);
        return;
    }

    gw_svc_log(gw_svc_req_svc(ctx->req), GW_SVC_INFO, ctx->req,
               "access denied",
               json_pack("{s:o*, s:s, s:s, s:s}",
                         "actor", gw_svc_json_string(ctx->actor),
                         "role", md_role_names[role],
                         "need", md_role_names[ctx->need], "by", why));

    if (!identified) {
        gw_svc_req_add_header(ctx->req, "WWW-Authenticate",
                              "Bearer realm=\"admin\"");
        gw_svc_reply_problem(ctx->req, 401, "unauthorized", "Unauthorized",
                             "the request carries no identity");
        return;
    }

    gw_svc_reply_problem(ctx->req, 403, "forbidden", "Forbidden",
                         ctx->need == MD_ROLE_WRITE
                         ? "writing needs the admin:write role"
                         : "reading needs the admin:read role");
}
