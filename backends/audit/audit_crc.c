
/*
 * Copyright (C) Tollgate
 *
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * every frame.  It only has to catch torn writes and stray damage; the
 * hash chain is what catches tampering.  The SSE 4.2 crc32 instruction
 * does 8 bytes a cycle or so and is used when the processor has it, so
 * that `verify` spends its time on SHA-256; otherwise a table, byte by
 * byte.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit.h"


static uint32_t audit_crc_soft(uint32_t crc, const unsigned char *p,
    size_t len);

static uint32_t  audit_crc_table[256];
static int       audit_crc_mode;        /* 0: unknown, 1: soft, 2: sse */


static uint32_t
audit_crc_soft(uint32_t crc, const unsigned char *p, size_t len)
{
    uint32_t  c, k;
    unsigned  i, j;

    if (audit_crc_table[1] == 0) {
        for (i = 0; i < 256; i++) {
            c = i;
            for (j = 0; j < 8; j++) {
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78 : c >> 1;
            }
            audit_crc_table[i] = c;
        }
    }

    while (len--) {
        k = (crc ^ *p++) & 0xff;
        crc = (crc >> 8) ^ audit_crc_table[k];
    }

    return crc;
}


#if defined(__x86_64__)

__attribute__((target("sse4.2")))
static uint32_t
audit_crc_sse(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t  c, v;

    c = crc;

    while (len >= 8) {
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }

    crc = (uint32_t) c;

    while (len--) {
        crc = __builtin_ia32_crc32qi(crc, *p++);
    }

    return crc;
}

#endif


uint32_t
audit_crc32c(const unsigned char *p, size_t len)
{
    return audit_crc32c_update(0, p, len);
}


/* the CRC32C of bytes crc was taken of, followed by p */

uint32_t
audit_crc32c_update(uint32_t crc, const unsigned char *p, size_t len)
{
    if (audit_crc_mode == 0) {
        audit_crc_mode = 1;
#if defined(__x86_64__)
        if (__builtin_cpu_supports("sse4.2")) {
            audit_crc_mode = 2;
        }
#endif
    }

#if defined(__x86_64__)
    if (audit_crc_mode == 2) {
        return ~audit_crc_sse(~crc, p, len);
    }
#endif

    return ~audit_crc_soft(~crc, p, len);
}
