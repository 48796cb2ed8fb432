
/*
 * Copyright (C) Tollgate
 *
 * Download links: "/v1/downloads/<run>?expires=<seconds>&sig=<sig>",
 * sig the base64url HMAC-SHA-256, under the service's secret key, of
 * "<run>\n<expires>".  The link is the capability to the file until it
 * expires; it is checked in constant time (CRYPTO_memcmp) so that a
 * guesser learns nothing from the timing, and a link past its time is
 * refused even while the file still waits for the sweeper.
 *
 * The key file holds at least 32 bytes: 64 or more hex digits are read
 * as hex, anything else as raw bytes (the first 64 used).
 */


#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rp.h"


#define RP_SIG_LEN  43      /* base64url of 32 bytes, unpadded */


int
rp_sign_load(const char *file)
{
    if (gw_svc_secret_key("secret_key_file", file, rp.key) != 0) {
        return -1;
    }

    rp.key_len = 32;

    return 0;
}


void
rp_sign(const char *run, int64_t expires, char *sig, size_t len)
{
    int            n;
    char           msg[128];
    size_t         i, o;
    unsigned int   mlen, v;
    unsigned char  mac[EVP_MAX_MD_SIZE];
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    n = snprintf(msg, sizeof(msg), "%s\n%lld", run, (long long) expires);

    mlen = 0;
    if (len < RP_SIG_LEN + 1
        || HMAC(EVP_sha256(), rp.key, (int) rp.key_len,
                (unsigned char *) msg, (size_t) n, mac, &mlen) == NULL
        || mlen != 32)
    {
        if (len > 0) {
            sig[0] = '\0';
        }
        return;
    }

    o = 0;
    for (i = 0; i + 2 < 32; i += 3) {
        v = (mac[i] << 16) | (mac[i + 1] << 8) | mac[i + 2];
        sig[o++] = b64[(v >> 18) & 63];
        sig[o++] = b64[(v >> 12) & 63];
        sig[o++] = b64[(v >> 6) & 63];
        sig[o++] = b64[v & 63];
    }

    v = (mac[30] << 16) | (mac[31] << 8);
    sig[o++] = b64[(v >> 18) & 63];
    sig[o++] = b64[(v >> 12) & 63];
    sig[o++] = b64[(v >> 6) & 63];
    sig[o] = '\0';
}


/* 0 when sig is the run's signature for expires */
int
rp_sign_check(const char *run, int64_t expires, const char *sig)
{
    char  want[RP_SIG_LEN + 1];

    rp_sign(run, expires, want, sizeof(want));

    if (want[0] == '\0' || strlen(sig) != RP_SIG_LEN) {
        return -1;
    }

    return CRYPTO_memcmp(want, sig, RP_SIG_LEN) == 0 ? 0 : -1;
}
