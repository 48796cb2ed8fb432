
/*
 * Copyright (C) Tollgate
 *
 * What identity_token.c and identity_token_revoke.c share: the
 * introspection and revocation endpoints and the revoked set.
 */


#ifndef _IDENTITY_TOKEN_H_INCLUDED_
#define _IDENTITY_TOKEN_H_INCLUDED_


#include "identity.h"


#define IDENTITY_TOKEN_MAX  8192            /* bytes of a token we take */


int identity_revoke_setup(gw_svc_t *svc);
void identity_revoke_start(struct event_base *base);
void identity_revoke_stop(void);

/* POST /oauth2/introspect and POST /oauth2/revoke */
void identity_introspect_handler(gw_svc_req_t *req, void *data);
void identity_revoke_handler(gw_svc_req_t *req, void *data);


#endif /* _IDENTITY_TOKEN_H_INCLUDED_ */
