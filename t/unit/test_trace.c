
/*
 * Copyright (C) Tollgate
 *
 * Trace Context and request ids (lib/trace): the valid and invalid
 * traceparent forms of the W3C recommendation (versions 00, ff and later,
 * all-zero ids, wrong lengths and dashes, upper case, extra fields),
 * round trips through the formatter, the request id charset and length,
 * and that generated ids are well formed, never zero and differ.
 */


#include <string.h>

#include "gw_trace.h"
#include "tap.h"


#define TID  "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID  "00f067aa0ba902b7"


static int
parse(const char *s, gw_traceparent_t *tp)
{
    return gw_traceparent_parse(s, strlen(s), tp);
}


static void
test_valid(void)
{
    char              out[GW_TRACEPARENT_LEN + 1];
    gw_traceparent_t  tp;

    is_int(parse("00-" TID "-" PID "-01", &tp), 0, "version 00 sampled");
    is_int(tp.version, 0, "version");
    is_int(tp.flags, 1, "flags");
    ok(tp.trace_id[0] == 0x4b && tp.trace_id[15] == 0x36, "trace id bytes");
    ok(tp.parent_id[0] == 0x00 && tp.parent_id[7] == 0xb7,
       "parent id bytes");

    is_int(gw_traceparent_format(&tp, out), GW_TRACEPARENT_LEN,
           "format length");
    is_str(out, "00-" TID "-" PID "-01", "round trip");

    is_int(parse("00-" TID "-" PID "-00", &tp), 0, "version 00 not sampled");
    is_int(tp.flags, 0, "flags 00");

    is_int(parse("00-" TID "-" PID "-ff", &tp), 0, "unknown flags parse");
    is_int(tp.flags, 0xff, "flags ff");

    /* a later version: the four fields, then anything after a dash */

    is_int(parse("01-" TID "-" PID "-01", &tp), 0, "version 01, 55 chars");
    is_int(tp.version, 1, "version 01");
    is_int(parse("cc-" TID "-" PID "-01-what-the-future-holds", &tp), 0,
           "version cc with extra fields");
    is_int(tp.version, 0xcc, "version cc");
    is_int(tp.flags, 1, "version cc flags");
    gw_traceparent_format(&tp, out);
    is_str(out, "00-" TID "-" PID "-01", "later version written as 00");

    is_int(parse("fe-" TID "-" PID "-01-", &tp), 0, "version fe");
}


static void
test_invalid(void)
{
    size_t            i;
    char              buf[GW_TRACEPARENT_MAX + 8];
    gw_traceparent_t  tp;
    static const char  *bad[] = {
        "",
        "00",
        "00-" TID "-" PID,
        "00-" TID "-" PID "-0",
        "00-" TID "-" PID "-01-",
        "00-" TID "-" PID "-01-extra",
        "00-" TID "-" PID "-011",
        "ff-" TID "-" PID "-01",
        "ff-" TID "-" PID "-01-extra",
        "0-" TID "-" PID "-01",
        "000-" TID "-" PID "-01",
        "00-00000000000000000000000000000000-" PID "-01",
        "00-" TID "-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01",
        "00-" TID "-00F067AA0BA902B7-01",
        "00-" TID "-" PID "-0A",
        "0A-" TID "-" PID "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47366-" PID "-01",
        "00-" TID "-00f067aa0ba902b-01",
        "00-" TID "-00f067aa0ba902b77-01",
        "00_" TID "-" PID "-01",
        "00-" TID "_" PID "-01",
        "00-" TID "-" PID "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01",
        "00-" TID "-00f067aa0ba902bx-01",
        "00-" TID "-" PID "-0g",
        " 00-" TID "-" PID "-01",
        "00-" TID "-" PID "-01 ",
        "01-" TID "-" PID "-01x",
        "01-" TID "-" PID "-0",
        "01-" TID "-" PID,
        "xx-" TID "-" PID "-01"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(parse(bad[i], &tp), -1, "invalid: \"%s\"", bad[i]);
    }

    is_int(gw_traceparent_parse("00-" TID "-" PID "-01\0", 56, &tp), -1,
           "version 00 with a NUL after it");
    is_int(gw_traceparent_parse(NULL, 0, &tp), -1, "NULL");

    /* a later version longer than the cap */

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "01-" TID "-" PID "-01-", 56);
    is_int(gw_traceparent_parse(buf, GW_TRACEPARENT_MAX, &tp), 0,
           "later version at the cap");
    is_int(gw_traceparent_parse(buf, GW_TRACEPARENT_MAX + 1, &tp), -1,
           "later version over the cap");
}


static void
test_request_id(void)
{
    char         id[GW_REQUEST_ID_MAX + 2];
    const char  *bad = " !\"#$%&'()*+,/;<=>?@[\\]^`{|}~\x7f\x80\xff";

    ok(gw_request_id_valid("abc", 3), "plain id");
    ok(gw_request_id_valid("A-Z_a.z:09", 10), "every punctuation allowed");
    ok(!gw_request_id_valid("", 0), "empty");
    ok(!gw_request_id_valid(NULL, 0), "NULL");

    memset(id, 'x', sizeof(id));
    ok(gw_request_id_valid(id, GW_REQUEST_ID_MAX), "%d bytes",
       GW_REQUEST_ID_MAX);
    ok(!gw_request_id_valid(id, GW_REQUEST_ID_MAX + 1), "%d bytes",
       GW_REQUEST_ID_MAX + 1);

    for ( /* void */ ; *bad != '\0'; bad++) {
        id[0] = 'a';
        id[1] = *bad;
        id[2] = 'b';
        ok(!gw_request_id_valid(id, 3), "byte 0x%02x rejected",
           (unsigned) (unsigned char) *bad);
    }

    ok(!gw_request_id_valid("a\0b", 3), "NUL rejected");
    ok(!gw_request_id_valid("a\nb", 3), "newline rejected");
}


static void
test_random(void)
{
    int               i, zero;
    char              id1[GW_REQUEST_ID_GEN + 1], id2[GW_REQUEST_ID_GEN + 1];
    char              out[GW_TRACEPARENT_LEN + 1];
    u_char            tid[16], sid[8], tid2[16];
    gw_traceparent_t  tp, back;

    is_int(gw_trace_random_ids(tid, sid, id1), 0, "random ids");
    is_int(gw_trace_random_ids(tid2, NULL, id2), 0, "random ids, no span");
    is_int(gw_trace_random_ids(NULL, NULL, NULL), 0, "nothing asked");

    is_int(strlen(id1), GW_REQUEST_ID_GEN, "request id length");
    ok(gw_request_id_valid(id1, strlen(id1)), "generated id is valid");
    ok(strspn(id1, "0123456789abcdef") == GW_REQUEST_ID_GEN,
       "generated id is lowercase hex");
    ok(strcmp(id1, id2) != 0, "two ids differ");
    ok(memcmp(tid, tid2, 16) != 0, "two trace ids differ");

    zero = 1;
    for (i = 0; i < 8; i++) {
        zero &= (sid[i] == 0);
    }
    ok(!zero, "span id not zero");

    tp.version = 0;
    tp.flags = GW_TRACE_SAMPLED;
    memcpy(tp.trace_id, tid, 16);
    memcpy(tp.parent_id, sid, 8);
    gw_traceparent_format(&tp, out);
    is_int(parse(out, &back), 0, "generated traceparent parses");
    ok(memcmp(back.trace_id, tid, 16) == 0
       && memcmp(back.parent_id, sid, 8) == 0 && back.flags == 1,
       "generated traceparent round trips");
}


int
main(void)
{
    test_valid();
    test_invalid();
    test_request_id();
    test_random();

    return done_testing();
}
