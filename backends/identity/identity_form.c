
/*
 * Copyright (C) Tollgate
 *
 * The forms of the token, introspection and revocation endpoints: the
 * service's side of the strict form parser of lib/oauth (gw_form.h),
 * which takes the request's Content-Type and body and knows nothing of
 * the service kit.  The parser lives in lib/ so that a unit test and a
 * fuzz driver reach it: a form is what any client may send.
 */


#include "identity.h"


gw_form_t *
identity_form_parse(gw_svc_req_t *req, size_t max, const char **err)
{
    size_t       len;
    const char  *body;

    body = gw_svc_req_body(req, &len);

    return gw_form_parse(gw_svc_req_header(req, "Content-Type"), body, len,
                         max, err);
}
