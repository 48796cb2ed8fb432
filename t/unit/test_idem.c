
/*
 * Copyright (C) Tollgate
 *
 * Idempotency keys (lib/idem): the sf-string parser accepts exactly the
 * strings RFC 8941 allows, unescaped, and refuses tokens, parameters,
 * bad escapes, control and non-ASCII bytes, empty strings and keys past
 * the cap (at the cap is fine); the record key is gw:idem: and the hex
 * SHA-256 of scope NUL key, so moving bytes between scope and key changes
 * it; the stored headers string is walked pair by pair.
 */


#include <stdio.h>
#include <string.h>

#include "gw_idem.h"
#include "tap.h"


static int
parse(const char *v, size_t max, char *out)
{
    int          rc;
    size_t       n;
    const char  *err;

    rc = gw_idem_key_parse((const unsigned char *) v, strlen(v), max,
                           (unsigned char *) out, &n, &err);
    out[rc == GW_IDEM_OK ? n : 0] = '\0';

    return rc;
}


int
main(void)
{
    int                   i;
    char                  out[GW_IDEM_KEY_MAX + 1], v[GW_IDEM_KEY_MAX + 8];
    size_t                nl, vl;
    unsigned char         k1[GW_IDEM_RECORD_KEY_LEN + 1];
    unsigned char         k2[GW_IDEM_RECORD_KEY_LEN + 1];
    const unsigned char  *p, *end, *name, *value;
    static const char     ctl[] = { '"', 'a', 0x01, '"', 0 };
    static const char     del[] = { '"', 'a', 0x7f, '"', 0 };
    static const char     hi[] = { '"', 'a', (char) 0xc3, (char) 0xa9, '"',
                                    0 };
    static const char     hdrs[] = "Content-Type\0application/json\0"
                                   "Location\0/o/1\0";

    is_int(parse("\"abc-123\"", 255, out), GW_IDEM_OK, "a plain key");
    is_str(out, "abc-123", "its value");
    is_int(parse("  \"a b\" ", 255, out), GW_IDEM_OK, "spaces around");
    is_str(out, "a b", "its value");
    is_int(parse("\"a\\\"b\\\\c\"", 255, out), GW_IDEM_OK, "escapes");
    is_str(out, "a\"b\\c", "unescaped");

    is_int(parse("abc", 255, out), GW_IDEM_MALFORMED, "a token");
    is_int(parse("\"abc", 255, out), GW_IDEM_MALFORMED, "no closing quote");
    is_int(parse("\"abc\";p=1", 255, out), GW_IDEM_MALFORMED, "parameters");
    is_int(parse("\"a\" \"b\"", 255, out), GW_IDEM_MALFORMED, "two strings");
    is_int(parse("\"a\\nb\"", 255, out), GW_IDEM_MALFORMED, "escape \\n");
    is_int(parse("\"a\\\"", 255, out), GW_IDEM_MALFORMED, "escaped end");
    is_int(parse("\"\"", 255, out), GW_IDEM_MALFORMED, "empty");
    is_int(parse("", 255, out), GW_IDEM_MALFORMED, "nothing");
    is_int(parse(ctl, 255, out), GW_IDEM_MALFORMED, "a control byte");
    is_int(parse(del, 255, out), GW_IDEM_MALFORMED, "DEL");
    is_int(parse(hi, 255, out), GW_IDEM_MALFORMED, "UTF-8");
    is_int(parse("\"a\tb\"", 255, out), GW_IDEM_MALFORMED, "a tab");

    v[0] = '"';
    for (i = 1; i <= 255; i++) {
        v[i] = 'k';
    }
    v[256] = '"';
    v[257] = '\0';
    is_int(parse(v, 255, out), GW_IDEM_OK, "255 bytes with a cap of 255");
    is_int(strlen(out), 255, "all of them");
    v[256] = 'k';
    v[257] = '"';
    v[258] = '\0';
    is_int(parse(v, 255, out), GW_IDEM_TOO_LONG, "256 bytes: too long");
    is_int(parse("\"\\\\\\\\\"", 1, out), GW_IDEM_TOO_LONG,
           "the cap counts decoded bytes");

    k1[GW_IDEM_RECORD_KEY_LEN] = '\0';
    k2[GW_IDEM_RECORD_KEY_LEN] = '\0';

    ok(gw_idem_record_key((const unsigned char *) "", 0,
                          (const unsigned char *) "abc", 3, k1) == 0,
       "record key");
    is_str((char *) k1, "gw:idem:"
           "609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1",
           "sha256 of NUL abc");

    gw_idem_record_key((const unsigned char *) "alice", 5,
                       (const unsigned char *) "bob1", 4, k1);
    gw_idem_record_key((const unsigned char *) "aliceb", 6,
                       (const unsigned char *) "ob1", 3, k2);
    ok(strcmp((char *) k1, (char *) k2) != 0,
       "bytes moved from key to scope give another record");

    p = (const unsigned char *) hdrs;
    end = p + sizeof(hdrs) - 1;
    is_int(gw_idem_headers_next(&p, end, &name, &nl, &value, &vl), 1,
           "first header");
    ok(nl == 12 && memcmp(name, "Content-Type", 12) == 0
       && vl == 16 && memcmp(value, "application/json", 16) == 0,
       "its name and value");
    is_int(gw_idem_headers_next(&p, end, &name, &nl, &value, &vl), 1,
           "second header");
    ok(vl == 4 && memcmp(value, "/o/1", 4) == 0, "its value");
    is_int(gw_idem_headers_next(&p, end, &name, &nl, &value, &vl), 0,
           "the end");

    p = (const unsigned char *) hdrs;
    end = p + 15;
    is_int(gw_idem_headers_next(&p, end, &name, &nl, &value, &vl), -1,
           "a value without its NUL");

    return done_testing();
}
