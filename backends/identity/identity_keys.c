
/*
 * Copyright (C) Tollgate
 *
 * Signing keys (to be written: see identity.h).  Until then the service
 * has no key, is never ready and signs nothing.
 */


#include <stdio.h>

#include "identity.h"


int
identity_keys_setup(gw_svc_t *svc)
{
    return 0;
}


void
identity_keys_start(struct event_base *base)
{
}


void
identity_keys_stop(void)
{
}


int
identity_keys_ready(void)
{
    return 0;
}


char *
identity_keys_sign(const char *typ, const char *payload, size_t len,
    size_t *out_len)
{
    return NULL;
}


int
identity_keys_verify(gw_jws_t *jws, const char *token, size_t len,
    const char **err)
{
    *err = "no keys";
    return -1;
}


int
identity_keys_rotate_main(int argc, char **argv)
{
    fprintf(stderr, "identity rotate: not available\n");
    return 2;
}
