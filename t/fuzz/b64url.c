
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for gw_b64url_decode() (lib/jose/gw_b64url.h), which every
 * token segment and every JWK member goes through.  The input is taken
 * two ways.  As base64url text: when it decodes, it must decode to
 * exactly gw_b64url_decoded_len() bytes, and encoding them again must give
 * the input back byte for byte, since strict base64url has one spelling
 * per byte string.  As raw bytes: their encoding must decode back to
 * them.  Buffers are exactly as large as the header says, so a write past
 * the documented size is caught by AddressSanitizer.
 *
 * Cap: inputs longer than GW_B64URL_FUZZ_MAX (a whole token's cap,
 * GW_JWS_MAX_LEN) are ignored, since no caller decodes more.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_b64url.h"
#include "gw_jws.h"


#define GW_B64URL_FUZZ_MAX  GW_JWS_MAX_LEN


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          dlen, elen;
    ssize_t         n;
    unsigned char  *dec, *enc;

    if (size > GW_B64URL_FUZZ_MAX) {
        return 0;
    }

    /* the input as text */

    dlen = gw_b64url_decoded_len(size);

    dec = malloc(dlen ? dlen : 1);
    enc = malloc(size ? size : 1);

    if (dec == NULL || enc == NULL) {
        abort();
    }

    n = gw_b64url_decode(dec, data, size);

    if (n >= 0) {
        if ((size_t) n != dlen || size % 4 == 1) {
            abort();
        }

        if (gw_b64url_encoded_len((size_t) n) != size
            || gw_b64url_encode(enc, dec, n) != size
            || memcmp(enc, data, size) != 0)
        {
            abort();
        }

    } else if (n != -1) {
        abort();
    }

    free(dec);
    free(enc);

    /* the input as bytes */

    elen = gw_b64url_encoded_len(size);

    enc = malloc(elen ? elen : 1);
    dec = malloc(size ? size : 1);

    if (dec == NULL || enc == NULL) {
        abort();
    }

    if (gw_b64url_encode(enc, data, size) != elen
        || gw_b64url_decoded_len(elen) != size)
    {
        abort();
    }

    n = gw_b64url_decode(dec, enc, elen);

    if (n < 0 || (size_t) n != size || memcmp(dec, data, size) != 0) {
        abort();
    }

    free(dec);
    free(enc);

    return 0;
}
