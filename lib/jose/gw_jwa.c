
/*
 * Copyright (C) Tollgate
 *
 * Algorithm names.  Every name we implement is exactly five characters, so
 * a length test rejects most junk before a single memcmp() against the one
 * candidate that the first and third letters select.  Nothing here folds
 * case: "hs256" and "None" are simply unknown.
 */


#include <string.h>
#include "gw_jwa.h"


static const char  *gw_alg_names[GW_ALG_COUNT] = {
    "unknown",
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA"
};


gw_alg_e
gw_alg_from_name(const char *name, size_t len)
{
    gw_alg_e  alg;

    if (len != 5 || name == NULL) {
        return GW_ALG_UNKNOWN;
    }

    switch (name[0]) {
    case 'H':
        alg = GW_ALG_HS256;
        break;
    case 'R':
        alg = GW_ALG_RS256;
        break;
    case 'P':
        alg = GW_ALG_PS256;
        break;
    case 'E':
        if (name[1] == 'd') {
            return memcmp(name, "EdDSA", 5) == 0 ? GW_ALG_EDDSA
                                                 : GW_ALG_UNKNOWN;
        }

        alg = GW_ALG_ES256;
        break;
    default:
        return GW_ALG_UNKNOWN;
    }

    /* the three digest sizes of one family follow each other in the enum */

    if (name[2] == '3') {
        alg += 1;

    } else if (name[2] == '5') {
        alg += 2;
    }

    return memcmp(name, gw_alg_names[alg], 5) == 0 ? alg : GW_ALG_UNKNOWN;
}


const char *
gw_alg_name(gw_alg_e alg)
{
    if ((unsigned) alg >= GW_ALG_COUNT) {
        return gw_alg_names[GW_ALG_UNKNOWN];
    }

    return gw_alg_names[alg];
}
