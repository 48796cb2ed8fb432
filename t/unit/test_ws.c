
/*
 * Copyright (C) Tollgate
 *
 * WebSocket (RFC 6455) pieces of the push subscribers (lib/ws): the
 * RFC's own Sec-WebSocket-Accept example, keys one byte off, token
 * lists, server frame headers at each length boundary (7, 16 and 64
 * bits), and the client frame parser's answers: a ping, a close, and
 * every refusal (unmasked, reserved bits and opcodes, fragmented or
 * long control frames, non-minimal lengths, data frames, the size cap),
 * each with the close code it gives, and a header given a byte at a
 * time.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_ws.h"
#include "tap.h"


static int
key_ok(const char *s)
{
    return gw_ws_key_valid((const unsigned char *) s, strlen(s));
}


static void
test_keys(void)
{
    unsigned char  acc[GW_WS_ACCEPT_LEN + 1];
    const char    *key = "dGhlIHNhbXBsZSBub25jZQ==";

    /* RFC 6455 section 1.3 */
    ok(gw_ws_accept(acc, (const unsigned char *) key, strlen(key)) == 0,
       "accept computed");
    acc[GW_WS_ACCEPT_LEN] = '\0';
    is_str((char *) acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "the RFC's accept");

    ok(key_ok(key), "the RFC's key is valid");
    ok(key_ok("AAAAAAAAAAAAAAAAAAAAAA=="), "16 zero bytes");
    ok(key_ok("/////////////////////w=="), "16 0xff bytes");
    ok(!key_ok(""), "empty key refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25jZQ="), "23 characters refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25jZQ==="), "25 characters refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25jZR=="), "unused bits set refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25j-Q=="), "base64url's - refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25jZQAA"), "no padding refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub25jZXh5"), "18 bytes refused");
    ok(!key_ok("dGhlIHNhbXBsZSBub2 jZQ=="), "a blank refused");
}


static int
has(const char *v, const char *t)
{
    return gw_ws_list_has((const unsigned char *) v, strlen(v), t);
}


static void
test_lists(void)
{
    ok(has("Upgrade", "upgrade"), "Upgrade has upgrade");
    ok(has("keep-alive, Upgrade", "upgrade"), "in a list");
    ok(has(" keep-alive ,\tUPGRADE\t", "upgrade"), "blanks around");
    ok(has("websocket", "websocket"), "websocket");
    ok(!has("upgraded", "upgrade"), "a longer token is not it");
    ok(!has("up grade", "upgrade"), "a split token is not it");
    ok(!has("", "upgrade"), "empty");
    ok(!has("keep-alive", "upgrade"), "another token");
    ok(!has("websocket/13", "websocket"), "a product version is not it");
}


static void
test_heads(void)
{
    size_t         n;
    unsigned char  h[16];

    n = gw_ws_head(h, GW_WS_TEXT, 0);
    ok(n == 2 && h[0] == 0x81 && h[1] == 0, "empty text: 81 00");

    n = gw_ws_head(h, GW_WS_TEXT, 125);
    ok(n == 2 && h[1] == 125, "125 in 7 bits");

    n = gw_ws_head(h, GW_WS_TEXT, 126);
    ok(n == 4 && h[1] == 126 && h[2] == 0 && h[3] == 126, "126 in 16 bits");

    n = gw_ws_head(h, GW_WS_TEXT, 65535);
    ok(n == 4 && h[2] == 0xff && h[3] == 0xff, "65535 in 16 bits");

    n = gw_ws_head(h, GW_WS_TEXT, 65536);
    ok(n == 10 && h[1] == 127 && h[2] == 0 && h[7] == 1 && h[8] == 0
       && h[9] == 0, "65536 in 64 bits");

    is_int(gw_ws_head_len(125), 2, "head_len 125");
    is_int(gw_ws_head_len(126), 4, "head_len 126");
    is_int(gw_ws_head_len(65536), 10, "head_len 65536");

    n = gw_ws_close_frame(h, 1002);
    ok(n == 4 && h[0] == 0x88 && h[1] == 2 && h[2] == 0x03 && h[3] == 0xea,
       "close 1002: 88 02 03 ea");

    n = gw_ws_close_frame(h, 0);
    ok(n == 2 && h[0] == 0x88 && h[1] == 0, "empty close");

    n = gw_ws_head(h, GW_WS_PONG, 3);
    ok(n == 2 && h[0] == 0x8a && h[1] == 3, "pong");
}


/* a masked client frame of opcode (b0's low bits, with b0's high bits) */
static size_t
client(unsigned char *out, unsigned b0, const char *payload, size_t n)
{
    size_t         i;
    static const unsigned char  mask[4] = { 0x11, 0x22, 0x33, 0x44 };

    out[0] = (unsigned char) b0;
    out[1] = (unsigned char) (0x80 | n);
    memcpy(out + 2, mask, 4);

    for (i = 0; i < n; i++) {
        out[6 + i] = (unsigned char) payload[i] ^ mask[i & 3];
    }

    return 6 + n;
}


static int
parse(const unsigned char *p, size_t n, gw_ws_frame_t *f)
{
    return gw_ws_parse_head(f, p, n, 4096);
}


static void
test_parse(void)
{
    int            rc;
    size_t         n, i;
    gw_ws_frame_t  f;
    unsigned char  b[256], payload[200];

    n = client(b, 0x89, "abc", 3);
    rc = parse(b, n, &f);
    ok(rc == 1 && f.opcode == GW_WS_PING && f.len == 3 && f.head == 6,
       "a ping is read");
    memcpy(payload, b + f.head, 3);
    gw_ws_unmask(payload, 3, f.mask, 0);
    ok(memcmp(payload, "abc", 3) == 0, "and unmasked");

    /* unmasked in two pieces, the second from offset 1 */
    memcpy(payload, b + f.head, 3);
    gw_ws_unmask(payload, 1, f.mask, 0);
    gw_ws_unmask(payload + 1, 2, f.mask, 1);
    ok(memcmp(payload, "abc", 3) == 0, "unmasked in pieces");

    for (i = 0; i < f.head; i++) {
        if (parse(b, i, &f) != GW_WS_AGAIN) {
            break;
        }
    }
    is_int(i, 6, "every prefix of the header is AGAIN");

    n = client(b, 0x8a, "", 0);
    ok(parse(b, n, &f) == 1 && f.opcode == GW_WS_PONG, "a pong is read");

    n = client(b, 0x88, "\x03\xe8" "bye", 5);
    ok(parse(b, n, &f) == 1 && f.opcode == GW_WS_CLOSE && f.len == 5,
       "a close is read");

    b[0] = 0x89;
    b[1] = 0x03;
    is_int(parse(b, 2, &f), GW_WS_PROTOCOL_ERROR, "unmasked: 1002");

    for (i = 0x10; i <= 0x40; i <<= 1) {
        n = client(b, 0x89 | i, "", 0);
        is_int(parse(b, n, &f), GW_WS_PROTOCOL_ERROR, "RSV bit %zx: 1002",
               i);
    }

    for (i = 3; i <= 0xf; i++) {
        if (i == 8 || i == 9 || i == 10) {
            continue;
        }

        n = client(b, 0x80 | i, "", 0);
        is_int(parse(b, n, &f), GW_WS_PROTOCOL_ERROR, "opcode %zx: 1002", i);
    }

    n = client(b, 0x09, "", 0);
    is_int(parse(b, n, &f), GW_WS_PROTOCOL_ERROR, "fragmented ping: 1002");

    memset(payload, 'x', 126);
    n = client(b, 0x89, (char *) payload, 125);
    is_int(parse(b, n, &f), 1, "a 125-byte ping is read");
    b[1] = 0x80 | 126;
    is_int(parse(b, n, &f), GW_WS_PROTOCOL_ERROR, "a 126-byte ping: 1002");

    n = client(b, 0x81, "hi", 2);
    is_int(parse(b, n, &f), GW_WS_UNACCEPTABLE, "text: 1003");
    n = client(b, 0x82, "hi", 2);
    is_int(parse(b, n, &f), GW_WS_UNACCEPTABLE, "binary: 1003");
    n = client(b, 0x00, "hi", 2);
    is_int(parse(b, n, &f), GW_WS_UNACCEPTABLE, "continuation: 1003");

    /* lengths: 16 and 64 bits, minimal, top bit, the cap */
    b[0] = 0x82;
    b[1] = 0x80 | 126;
    b[2] = 0x10;
    b[3] = 0x00;                                /* 4096 */
    is_int(parse(b, 4, &f), GW_WS_UNACCEPTABLE, "4096 bytes: not too big");
    b[3] = 0x01;                                /* 4097 */
    is_int(parse(b, 4, &f), GW_WS_TOO_BIG, "4097 bytes: 1009");
    b[2] = 0x00;
    b[3] = 0x7d;                                /* 125 in 16 bits */
    is_int(parse(b, 4, &f), GW_WS_PROTOCOL_ERROR, "non-minimal 16: 1002");
    is_int(parse(b, 3, &f), GW_WS_AGAIN, "16-bit length cut: AGAIN");

    b[1] = 0x80 | 127;
    memset(b + 2, 0, 8);
    b[7] = 0x01;                                /* 2^24 */
    is_int(parse(b, 10, &f), GW_WS_TOO_BIG, "2^24 bytes: 1009");
    is_int(parse(b, 9, &f), GW_WS_AGAIN, "64-bit length cut: AGAIN");
    b[7] = 0x00;
    b[9] = 0xff;
    is_int(parse(b, 10, &f), GW_WS_PROTOCOL_ERROR, "non-minimal 64: 1002");
    b[2] = 0x80;
    is_int(parse(b, 10, &f), GW_WS_PROTOCOL_ERROR, "64-bit top bit: 1002");
}


static unsigned
close_code(const char *p, size_t n)
{
    return gw_ws_close_code((const unsigned char *) p, n);
}


static void
test_close(void)
{
    is_int(close_code("", 0), 0, "empty close: answered empty");
    is_int(close_code("\x03", 1), 1002, "1 byte: 1002");
    is_int(close_code("\x03\xe8", 2), 1000, "1000 echoed");
    is_int(close_code("\x03\xe9" "going", 7), 1001, "1001 with a reason");
    is_int(close_code("\x0f\xa0", 2), 4000, "4000 echoed");
    is_int(close_code("\x03\xed", 2), 1002, "1005: 1002");
    is_int(close_code("\x03\xee", 2), 1002, "1006: 1002");
    is_int(close_code("\x03\xf7", 2), 1002, "1015: 1002");
    is_int(close_code("\x07\xd0", 2), 1002, "2000: 1002");
    is_int(close_code("\x03\xe7", 2), 1002, "999: 1002");
    is_int(close_code("\x13\x88", 2), 1002, "5000: 1002");
    is_int(close_code("\x03\xe8" "\xc3\xa9t\xc3\xa9", 7), 1000,
           "a UTF-8 reason");
    is_int(close_code("\x03\xe8" "\xc3", 3), 1007, "a cut sequence: 1007");
    is_int(close_code("\x03\xe8" "\xc0\xaf", 4), 1007, "overlong: 1007");
    is_int(close_code("\x03\xe8" "\xed\xa0\x80", 5), 1007,
           "a surrogate: 1007");
    is_int(close_code("\x03\xe8" "\xf4\x90\x80\x80", 6), 1007,
           "past 10FFFF: 1007");
    is_int(close_code("\x03\xe8" "\xff", 3), 1007, "0xff: 1007");
}


static void
test_utf8(void)
{
    const unsigned char  *u = (const unsigned char *) "a\xc3\xa9\xe2\x82\xac"
                                                      "\xf0\x9f\x98\x80";

    is_int(gw_ws_utf8_seq(u, 10), 1, "ASCII: 1");
    is_int(gw_ws_utf8_seq(u + 1, 9), 2, "e acute: 2");
    is_int(gw_ws_utf8_seq(u + 3, 7), 3, "euro: 3");
    is_int(gw_ws_utf8_seq(u + 6, 4), 4, "emoji: 4");
    is_int(gw_ws_utf8_seq(u + 6, 3), 0, "emoji cut: 0");
    is_int(gw_ws_utf8_seq(u + 2, 8), 0, "a continuation byte: 0");
    is_int(gw_ws_utf8_seq(u, 0), 0, "nothing: 0");
}


int
main(void)
{
    test_keys();
    test_lists();
    test_heads();
    test_parse();
    test_close();
    test_utf8();

    return done_testing();
}
