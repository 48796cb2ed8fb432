
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the WebSocket parts a push subscriber meets
 * (lib/ws/gw_ws.h).  Byte 0 gives the frame cap: 1 << (byte mod 24)
 * bytes.  The rest is read as a client's byte stream, frame after frame,
 * as ngx_http_gw_push_ws.c reads it: each header parsed (fed one byte
 * more at a time until it is all there, the answer never changing once
 * it is), its payload unmasked, a close frame's code read; and, as a
 * handshake would, the whole input checked as a Sec-WebSocket-Key, an
 * Upgrade list and a UTF-8 text.  Checked against the contract: a
 * parsed header's length is 2 to GW_WS_HEAD_MAX and never past the
 * bytes given, its opcode a control one (the policy refuses the others)
 * with a payload of at most GW_WS_CONTROL_MAX and the cap, a refusal is
 * one of the codes the policy names; an accepted key is 24 bytes ending
 * "==" and has a 28-byte accept; a server frame's header for the same
 * length reads back as that length; a UTF-8 sequence is 1 to 4 bytes
 * within what was given.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_ws.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_frames(const uint8_t *p, size_t n, uint64_t max)
{
    int             rc, first;
    size_t          k, pay;
    unsigned        code;
    unsigned char   buf[GW_WS_CONTROL_MAX];
    gw_ws_frame_t   f;

    while (n > 0) {
        first = GW_WS_AGAIN;

        /* the header as it arrives: one byte more at a time */
        for (k = 1; k <= n && k <= GW_WS_HEAD_MAX; k++) {
            rc = gw_ws_parse_head(&f, p, k, max);

            if (rc != GW_WS_AGAIN) {
                first = rc;
                break;
            }
        }

        if (first == GW_WS_AGAIN) {
            if (n >= GW_WS_HEAD_MAX) {
                abort();            /* a whole header never parsed */
            }

            return;
        }

        /* the same answer with every byte there */
        rc = gw_ws_parse_head(&f, p, n, max);

        if (rc != first) {
            abort();
        }

        if (rc != 1) {
            if (rc != GW_WS_PROTOCOL_ERROR && rc != GW_WS_UNACCEPTABLE
                && rc != GW_WS_TOO_BIG)
            {
                abort();
            }

            return;                 /* the connection ends here */
        }

        if (f.head < 2 || f.head > GW_WS_HEAD_MAX || f.head > n
            || f.len > GW_WS_CONTROL_MAX || f.len > max
            || (f.opcode != GW_WS_CLOSE && f.opcode != GW_WS_PING
                && f.opcode != GW_WS_PONG))
        {
            abort();
        }

        p += f.head;
        n -= f.head;

        if (f.len > n) {
            return;                 /* the payload is not all there */
        }

        pay = (size_t) f.len;
        memcpy(buf, p, pay);

        /* in two reads, as a socket may give it */
        gw_ws_unmask(buf, pay / 2, f.mask, 0);
        gw_ws_unmask(buf + pay / 2, pay - pay / 2, f.mask, pay / 2);

        if (f.opcode == GW_WS_CLOSE) {
            code = gw_ws_close_code(buf, pay);

            if (code != 0 && (code < 1000 || code > 4999)) {
                abort();
            }
        }

        p += pay;
        n -= pay;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i, k, hl, seq;
    uint64_t        max, len;
    unsigned char   accept[GW_WS_ACCEPT_LEN];
    unsigned char   head[GW_WS_HEAD_MAX];
    gw_ws_frame_t   f;

    if (size < 1) {
        return 0;
    }

    max = (uint64_t) 1 << (data[0] % 24);

    data++;
    size--;

    fuzz_frames(data, size, max);

    /* the handshake's checks on the same bytes */

    if (gw_ws_key_valid(data, size)) {
        if (size != GW_WS_KEY_LEN || data[size - 1] != '='
            || data[size - 2] != '=')
        {
            abort();
        }

        if (gw_ws_accept(accept, data, size) != 0) {
            abort();
        }
    }

    (void) gw_ws_list_has(data, size, "websocket");
    (void) gw_ws_list_has(data, size, "upgrade");

    for (i = 0; i < size; i += seq) {
        seq = gw_ws_utf8_seq(data + i, size - i);

        if (seq == 0) {
            seq = 1;

        } else if (seq > 4 || seq > size - i) {
            abort();
        }
    }

    /* a server frame's header for a length the input gives, read back
     * as a client's would be once masked */

    len = 0;

    for (k = 0; k < size && k < 8; k++) {
        len = (len << 8) | data[k];
    }

    len &= ((uint64_t) 1 << 63) - 1;

    hl = gw_ws_head(head, GW_WS_PING, len);

    if (hl != gw_ws_head_len(len) || hl < 2 || hl > 10) {
        abort();
    }

    if (len <= GW_WS_CONTROL_MAX) {
        unsigned char  masked[GW_WS_HEAD_MAX];

        memcpy(masked, head, hl);
        masked[1] |= 0x80;
        memset(masked + hl, 0x5a, 4);

        if (gw_ws_parse_head(&f, masked, hl + 4, GW_WS_CONTROL_MAX) != 1
            || f.len != len || f.head != hl + 4 || f.opcode != GW_WS_PING)
        {
            abort();
        }
    }

    return 0;
}
