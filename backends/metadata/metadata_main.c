
/*
 * Copyright (C) Tollgate
 *
 * tollgate-metadata (build/backends/metadata): the platform's admin API
 * (docs/admin-api.md).
 *
 *   metadata [-c FILE] [-t]
 *
 * Versioned, validated entities (the gateway's consumers, keys, routes,
 * upstreams, plans, limits, schemas, plugin configurations and identity
 * clients, and types the operator defines) behind ETags and If-Match;
 * every change is one global revision, logged with its diff, audited,
 * and revertible.  Every instance is stateless: everything lives in
 * Redis, so several instances behind one name agree on everything.
 */


#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "metadata.h"


static void md_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void md_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static int md_configure(gw_svc_t *svc);


md_t  md;


const gw_svc_key_t  md_conf_keys[] = {

    /* the change log: revisions kept before the oldest are trimmed */
    { "log_retention", GW_SVC_INT, "100000", 10, 100000000, NULL },

    /* lists: the largest page; one entity's JSON */
    { "list_max", GW_SVC_INT, "1000", 1, 10000, NULL },
    { "doc_max", GW_SVC_SIZE, "64k", 1024, 1048576, NULL },

    /* metadata_config.c: the entities one PUT /v1/config may hold */
    { "config_entities_max", GW_SVC_INT, "100000", 1, 10000000, NULL },

    /* metadata_access.c: the role of a request the gateway vouched
       for by no identity header */
    { "anonymous_role", GW_SVC_STR, "none", 0, 0, "none|read|write" },
    { "listen_public", GW_SVC_STR, "off", 0, 0, "on|off" },

    /* metadata_project.c: the identity service's pepper, to store a
       created client's secret as it does ("" : clients get no secret) */
    { "identity_pepper_file", GW_SVC_STR, "", 0, 0, NULL },

    { NULL, 0, NULL, 0, 0, NULL }
};


int64_t
md_now_ms(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


int
md_id_valid(const char *id, size_t len)
{
    size_t  i;

    if (len == 0 || len > MD_ID_MAX || !isalnum((unsigned char) id[0])) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!isalnum((unsigned char) id[i]) && id[i] != '.' && id[i] != '_'
            && id[i] != '-')
        {
            return 0;
        }
    }

    return 1;
}


static void
md_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    md_type_start(base);
}


static void
md_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    md.stopped = 1;

    md_type_stop();
}


/* the limits, and the routes' setups in the order they are tried in */

static int
md_configure(gw_svc_t *svc)
{
    md.log_retention = gw_svc_conf_int(svc, "log_retention");
    md.list_max = gw_svc_conf_int(svc, "list_max");
    md.doc_max = gw_svc_conf_int(svc, "doc_max");
    md.config_entities_max = gw_svc_conf_int(svc, "config_entities_max");

    if (md_access_setup(svc) != 0
        || md_project_setup(svc) != 0
        || md_type_setup(svc) != 0
        || md_rev_setup(svc) != 0
        || md_config_setup(svc) != 0
        || md_entity_setup(svc) != 0)
    {
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int  rc;

    md.svc = gw_svc_create("metadata", md_conf_keys);
    if (md.svc == NULL) {
        return 1;
    }

    gw_svc_set_loop(md.svc, md_loop_start, md_loop_stop, NULL);
    gw_svc_set_main(md.svc, md_configure, NULL);

    rc = gw_svc_main(md.svc, argc, argv);

    gw_svc_free(md.svc);

    return rc;
}
