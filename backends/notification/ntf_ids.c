
/*
 * Copyright (C) Tollgate
 *
 * Identifiers and times: notification ids ("ntf_" and 26 Crockford
 * base32 characters of 48 bits of milliseconds then 80 random bits, so
 * that they sort by time), delivery ids ("<nid>.<n>"), the
 * idempotency records' keys, RFC 3339 times.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "gw_idem.h"
#include "ntf_core.h"


static const char  ntf_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";


int
ntf_idem_key(const char *owner, const char *key, size_t klen, char *out)
{
    unsigned char  rec[GW_IDEM_RECORD_KEY_LEN];

    if (gw_idem_record_key((const unsigned char *) owner, strlen(owner),
                           (const unsigned char *) key, klen, rec)
        != 0)
    {
        return -1;
    }

    memcpy(out, "gw:ntf:idem:", sizeof("gw:ntf:idem:") - 1);
    memcpy(out + sizeof("gw:ntf:idem:") - 1,
           rec + sizeof(GW_IDEM_PREFIX) - 1, 64);
    out[NTF_IDEM_LEN] = '\0';

    return 0;
}


static void ntf_id_encode(const unsigned char *b, char *id);


/*
 * 48 bits of milliseconds then 80 random bits, 26 base32 characters.
 * Within one millisecond (or a clock step back) an instance's ids still
 * grow: the last id's random part plus one, so lists ordered by time,
 * then id, keep the order the notifications were made in.
 */

int
ntf_id_new(char *id)
{
    int                   i;
    long long             ms;
    unsigned char         b[16];
    static long long      last_ms = -1;
    static unsigned char  last[16];

    ms = ntf_now_ms();

    if (ms <= last_ms) {
        memcpy(b, last, sizeof(b));

        for (i = 15; i >= 6; i--) {
            if (++b[i] != 0) {
                break;
            }
        }

        if (i >= 6) {
            goto done;
        }

        /* the random part wrapped: the next millisecond */
        ms = last_ms + 1;
    }

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (8 * (5 - i)));
    }

    if (RAND_bytes(b + 6, 10) != 1) {
        return -1;
    }

    last_ms = ms;

done:

    memcpy(last, b, sizeof(b));
    ntf_id_encode(b, id);

    return 0;
}


/* the smallest id of the millisecond ms: ids made before it sort before */

void
ntf_id_at(long long ms, char *id)
{
    int            i;
    unsigned char  b[16];

    memset(b, 0, sizeof(b));

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (8 * (5 - i)));
    }

    ntf_id_encode(b, id);
}


static void
ntf_id_encode(const unsigned char *b, char *id)
{
    int  i, bit, v;

    memcpy(id, "ntf_", 4);

    /* 130 bits: two zero bits in front of the 128 */

    for (i = 0; i < 26; i++) {
        v = 0;

        for (bit = i * 5 - 2; bit < i * 5 + 3; bit++) {
            v <<= 1;

            if (bit >= 0) {
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }

        id[4 + i] = ntf_b32[v];
    }

    id[30] = '\0';
}


int
ntf_id_valid(const char *id)
{
    size_t  i;

    if (strncmp(id, "ntf_", 4) != 0 || strlen(id) != 30) {
        return 0;
    }

    for (i = 4; i < 30; i++) {
        if (strchr(ntf_b32, id[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


int
ntf_did_valid(const char *did)
{
    char         nid[NTF_ID_MAX];
    size_t       i;
    const char  *dot;

    dot = strchr(did, '.');
    if (dot == NULL || dot - did != 30 || dot[1] == '\0'
        || strlen(dot + 1) > 5)
    {
        return 0;
    }

    for (i = 1; dot[i] != '\0'; i++) {
        if (dot[i] < '0' || dot[i] > '9') {
            return 0;
        }
    }

    memcpy(nid, did, 30);
    nid[30] = '\0';

    return ntf_id_valid(nid);
}


long long
ntf_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
ntf_rfc3339(long long ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}
