
/*
 * Copyright (C) Tollgate
 *
 * JSON Web Algorithms (RFC 7518, RFC 8037) that Tollgate verifies.  Names
 * are matched exactly and case-sensitively: "none", "nOnE" and "hs256" are
 * not algorithms here, they are errors.  Each algorithm fits exactly one key
 * type (and, for ECDSA, one curve); that pairing is what pins the algorithm
 * and defeats algorithm confusion.
 */


#ifndef _GW_JWA_H_INCLUDED_
#define _GW_JWA_H_INCLUDED_


#include <stddef.h>


typedef enum {
    GW_ALG_UNKNOWN = 0,
    GW_ALG_HS256,
    GW_ALG_HS384,
    GW_ALG_HS512,
    GW_ALG_RS256,
    GW_ALG_RS384,
    GW_ALG_RS512,
    GW_ALG_PS256,
    GW_ALG_PS384,
    GW_ALG_PS512,
    GW_ALG_ES256,
    GW_ALG_ES384,
    GW_ALG_ES512,
    GW_ALG_EDDSA,
    GW_ALG_COUNT
} gw_alg_e;


#define GW_ALG_BIT(alg)       (1u << (alg))
#define GW_ALG_MASK_ALL       (((1u << GW_ALG_COUNT) - 1) & ~1u)
#define GW_ALG_MASK_HMAC                                                      \
    (GW_ALG_BIT(GW_ALG_HS256) | GW_ALG_BIT(GW_ALG_HS384)                      \
     | GW_ALG_BIT(GW_ALG_HS512))
#define GW_ALG_MASK_RSA                                                       \
    (GW_ALG_BIT(GW_ALG_RS256) | GW_ALG_BIT(GW_ALG_RS384)                      \
     | GW_ALG_BIT(GW_ALG_RS512) | GW_ALG_BIT(GW_ALG_PS256)                    \
     | GW_ALG_BIT(GW_ALG_PS384) | GW_ALG_BIT(GW_ALG_PS512))


/* exact, case-sensitive; returns GW_ALG_UNKNOWN for anything else */
gw_alg_e gw_alg_from_name(const char *name, size_t len);

/* "HS256", ...; "unknown" for GW_ALG_UNKNOWN */
const char *gw_alg_name(gw_alg_e alg);


#endif /* _GW_JWA_H_INCLUDED_ */
