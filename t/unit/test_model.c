
/*
 * Copyright (C) Tollgate
 *
 * The data model's rules: ids (each of the 256 byte values, the length
 * bounds, a NUL inside), names and printable text (well-formed UTF-8,
 * control characters, overlong forms, surrogates), tag lists, the SHA-256
 * of a key against FIPS 180-2 vectors, hash and key shapes (the canonical
 * last symbol included), generated keys (shape, hash, uniqueness), key
 * states, lifetimes with their units and caps, and gw:events messages.
 */


#include <stdio.h>
#include <string.h>

#include "gw_model.h"
#include "tap.h"


#define S(s)  (s), (sizeof(s) - 1)


static void
test_id(void)
{
    int   c, bad;
    char  buf[GW_ID_MAX + 2];

    ok(gw_model_id_valid(S("acme")), "plain id");
    ok(gw_model_id_valid(S("A-z_0.9")), "every class of character");
    ok(!gw_model_id_valid(S("")), "empty id");
    ok(!gw_model_id_valid(NULL, 3), "NULL id");
    ok(!gw_model_id_valid("ab\0c", 4), "NUL inside");

    memset(buf, 'a', sizeof(buf));
    ok(gw_model_id_valid(buf, GW_ID_MAX), "%d bytes", GW_ID_MAX);
    ok(!gw_model_id_valid(buf, GW_ID_MAX + 1), "%d bytes", GW_ID_MAX + 1);

    bad = 0;

    for (c = 0; c < 256; c++) {
        buf[0] = 'x';
        buf[1] = (char) c;

        if (gw_model_id_valid(buf, 2)
            != ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9') || c == '.' || c == '_'
                || c == '-'))
        {
            diag("byte 0x%02x", c);
            bad++;
        }
    }

    is_int(bad, 0, "each byte value accepted exactly when in the set");
}


static void
test_text(void)
{
    char  buf[GW_NAME_MAX + 1];

    ok(gw_model_name_valid(S("Acme Corp.")), "ASCII name");
    ok(gw_model_name_valid(S("Soci\xc3\xa9t\xc3\xa9 \xe2\x82\xac "
                             "\xf0\x9f\x9a\x80")),
       "two, three and four byte characters");
    ok(!gw_model_name_valid(S("")), "empty name");
    ok(!gw_model_name_valid(S("a\tb")), "tab");
    ok(!gw_model_name_valid(S("a\nb")), "newline");
    ok(!gw_model_name_valid(S("a\x1b[31m")), "escape");
    ok(!gw_model_name_valid(S("a\x7f")), "DEL");
    ok(!gw_model_name_valid(S("a\xc2\x85")), "C1 control U+0085");
    ok(gw_model_name_valid(S("a\xc2\xa0")), "U+00A0 is printable");
    ok(!gw_model_name_valid(S("\xc0\xaf")), "overlong '/'");
    ok(!gw_model_name_valid(S("\xe0\x80\xaf")), "overlong three bytes");
    ok(!gw_model_name_valid(S("\xed\xa0\x80")), "surrogate");
    ok(!gw_model_name_valid(S("\xf4\x90\x80\x80")), "above U+10FFFF");
    ok(!gw_model_name_valid(S("\xe2\x82")), "truncated sequence");
    ok(!gw_model_name_valid(S("\x80")), "lone continuation byte");
    ok(!gw_model_name_valid(S("\xff")), "0xff");
    ok(!gw_model_name_valid("a\0b", 3), "NUL inside");

    memset(buf, 'n', sizeof(buf));
    ok(gw_model_name_valid(buf, GW_NAME_MAX), "%d bytes", GW_NAME_MAX);
    ok(!gw_model_name_valid(buf, GW_NAME_MAX + 1), "%d bytes",
       GW_NAME_MAX + 1);

    ok(gw_model_printable(S("")), "empty text is printable");
    ok(gw_model_printable(NULL, 0), "NULL, 0 is printable");
    ok(!gw_model_printable(S("\x9b")), "a stray 0x9b is not");
}


static void
test_tags(void)
{
    int   i;
    char  buf[GW_TAGS_MAX * 4 + 8];
    char *p;

    ok(gw_model_tags_valid(S("")), "no tags");
    ok(gw_model_tags_valid(S("internal")), "one tag");
    ok(gw_model_tags_valid(S("a,b.c,d-e_f")), "three tags");
    ok(!gw_model_tags_valid(S(",")), "lone comma");
    ok(!gw_model_tags_valid(S("a,")), "trailing comma");
    ok(!gw_model_tags_valid(S(",a")), "leading comma");
    ok(!gw_model_tags_valid(S("a,,b")), "empty tag");
    ok(!gw_model_tags_valid(S("a, b")), "space");
    ok(!gw_model_tags_valid(S("a,b,a")), "duplicate");
    ok(gw_model_tags_valid(S("a,ab")), "a prefix is not a duplicate");
    ok(!gw_model_tags_valid(S("a:b")), "colon");

    p = buf;

    for (i = 0; i < GW_TAGS_MAX; i++) {
        p += sprintf(p, "%st%d", i ? "," : "", i);
    }

    ok(gw_model_tags_valid(buf, p - buf), "%d tags", GW_TAGS_MAX);

    p += sprintf(p, ",t%d", i);
    ok(!gw_model_tags_valid(buf, p - buf), "%d tags", GW_TAGS_MAX + 1);
}


static void
test_hash(void)
{
    char  hex[GW_KEY_HASH_HEX_LEN + 1];

    gw_model_key_hash((const unsigned char *) "abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223"
                "b00361a396177a9cb410ff61f20015ad", "SHA-256 of \"abc\"");

    gw_model_key_hash((const unsigned char *) "", 0, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                "27ae41e4649b934ca495991b7852b855", "SHA-256 of \"\"");

    gw_model_key_hash((const unsigned char *)
                      "abcdbcdecdefdefgefghfghighijhijk"
                      "ijkljklmklmnlmnomnopnopq", 56, hex);
    is_str(hex, "248d6a61d20638b8e5c026930c3e6039"
                "a33ce45964ff2167f6ecedd419db06c1", "SHA-256, 448 bits");

    ok(gw_model_hash_valid(hex, strlen(hex)), "a hash is a valid hash");
    ok(!gw_model_hash_valid(hex, strlen(hex) - 1), "63 digits");

    hex[10] = 'A';
    ok(!gw_model_hash_valid(hex, GW_KEY_HASH_HEX_LEN), "upper-case digit");

    hex[10] = 'g';
    ok(!gw_model_hash_valid(hex, GW_KEY_HASH_HEX_LEN), "not a hex digit");

    ok(!gw_model_hash_valid(NULL, GW_KEY_HASH_HEX_LEN), "NULL hash");
}


/* the reused hasher gives the one-shot hash, call after call */

static void
test_hasher(void)
{
    int               i, same;
    char              hex[GW_KEY_HASH_HEX_LEN + 1];
    char              one[GW_KEY_HASH_HEX_LEN + 1];
    unsigned char     buf[200];
    gw_key_hasher_t  *h;

    h = gw_key_hasher_create();
    ok(h != NULL, "hasher created");

    if (h == NULL) {
        return;
    }

    is_int(gw_key_hasher_hash(h, (const unsigned char *) "abc", 3, hex), 0,
           "hasher: hashed");
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223"
                "b00361a396177a9cb410ff61f20015ad", "hasher: \"abc\"");

    is_int(gw_key_hasher_hash(h, (const unsigned char *) "", 0, hex), 0,
           "hasher: hashed the empty string");
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                "27ae41e4649b934ca495991b7852b855", "hasher: \"\"");

    for (i = 0; i < (int) sizeof(buf); i++) {
        buf[i] = (unsigned char) (i * 7 + 3);
    }

    /* every length from 0 to 199: one and two blocks, and the edges */

    same = 1;

    for (i = 0; i < (int) sizeof(buf); i++) {
        gw_model_key_hash(buf, i, one);

        if (gw_key_hasher_hash(h, buf, i, hex) != 0 || strcmp(hex, one) != 0)
        {
            same = 0;
        }
    }

    ok(same, "hasher: the one-shot hash at every length 0 to 199");

    gw_key_hasher_free(h);
    gw_key_hasher_free(NULL);
}


static void
test_key(void)
{
    int         i, same, bad;
    char        key[GW_KEY_LEN + 1], prev[GW_KEY_LEN + 1], k[GW_KEY_LEN + 1];
    char        hex[GW_KEY_HASH_HEX_LEN + 1], hex2[GW_KEY_HASH_HEX_LEN + 1];
    const char  *good = "tg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    is_int(strlen(good), GW_KEY_LEN, "the sample key has the key length");
    ok(gw_model_key_valid(good, GW_KEY_LEN), "all-zero key");

    memcpy(k, good, sizeof(k));
    k[GW_KEY_LEN - 1] = 'E';
    ok(gw_model_key_valid(k, GW_KEY_LEN), "last symbol E (low bits 00)");
    k[GW_KEY_LEN - 1] = 'B';
    ok(!gw_model_key_valid(k, GW_KEY_LEN), "last symbol B (low bits 01)");
    k[GW_KEY_LEN - 1] = '_';
    ok(!gw_model_key_valid(k, GW_KEY_LEN), "last symbol _ (low bits 11)");
    k[GW_KEY_LEN - 1] = 'w';
    ok(gw_model_key_valid(k, GW_KEY_LEN), "last symbol w (48)");

    memcpy(k, good, sizeof(k));
    k[10] = '+';
    ok(!gw_model_key_valid(k, GW_KEY_LEN), "'+' is not base64url");
    k[10] = '=';
    ok(!gw_model_key_valid(k, GW_KEY_LEN), "'=' is not base64url");
    k[10] = '\0';
    ok(!gw_model_key_valid(k, GW_KEY_LEN), "NUL inside");
    k[10] = '-';
    ok(gw_model_key_valid(k, GW_KEY_LEN), "'-' is");

    ok(!gw_model_key_valid(good, GW_KEY_LEN - 1), "one symbol short");
    ok(!gw_model_key_valid("TG_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                           GW_KEY_LEN), "upper-case prefix");
    ok(!gw_model_key_valid("tk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                           GW_KEY_LEN), "other prefix");
    ok(!gw_model_key_valid(NULL, GW_KEY_LEN), "NULL key");

    prev[0] = '\0';
    same = 0;
    bad = 0;

    for (i = 0; i < 200; i++) {
        if (gw_model_key_generate(key) != 0) {
            bad++;
            continue;
        }

        if (strlen(key) != GW_KEY_LEN || !gw_model_key_valid(key, GW_KEY_LEN))
        {
            diag("bad key %s", key);
            bad++;
        }

        if (strcmp(key, prev) == 0) {
            same++;
        }

        memcpy(prev, key, sizeof(prev));
    }

    is_int(bad, 0, "200 generated keys are valid keys");
    is_int(same, 0, "no two generated keys in a row are equal");

    gw_model_key_hash((const unsigned char *) key, GW_KEY_LEN, hex);
    gw_model_key_hash((const unsigned char *) key, GW_KEY_LEN, hex2);
    ok(gw_model_hash_valid(hex, strlen(hex)), "a key's hash is valid");
    is_str(hex, hex2, "a key always hashes the same");
}


static void
test_state(void)
{
    is_int(gw_model_key_state(S("active"), 0, 1000), GW_MODEL_KEY_USABLE,
           "active, never expires");
    is_int(gw_model_key_state(S("active"), 1001, 1000), GW_MODEL_KEY_USABLE,
           "active, expires later");
    is_int(gw_model_key_state(S("active"), 1000, 1000),
           GW_MODEL_KEY_IS_EXPIRED, "active, expires now");
    is_int(gw_model_key_state(S("active"), 999, 1000),
           GW_MODEL_KEY_IS_EXPIRED, "active, expired");
    is_int(gw_model_key_state(S("revoked"), 999, 1000),
           GW_MODEL_KEY_IS_REVOKED, "revoked wins over expired");
    is_int(gw_model_key_state(S("revoked"), 0, 1000),
           GW_MODEL_KEY_IS_REVOKED, "revoked");
    is_int(gw_model_key_state(S("Active"), 0, 1000),
           GW_MODEL_KEY_IS_INVALID, "status is case-sensitive");
    is_int(gw_model_key_state(S("activ"), 0, 1000),
           GW_MODEL_KEY_IS_INVALID, "a prefix of active");
    is_int(gw_model_key_state(S("active"), -1, 1000),
           GW_MODEL_KEY_IS_INVALID, "negative expiry");
    is_int(gw_model_key_state(NULL, 0, 0, 1000),
           GW_MODEL_KEY_IS_INVALID, "no status");
}


static void
test_ttl(void)
{
    size_t       i;
    int64_t      t;
    static const struct {
        const char  *in;
        int64_t      out;
    } good[] = {
        { "1", 1 },
        { "90", 90 },
        { "90s", 90 },
        { "15m", 900 },
        { "12h", 43200 },
        { "30d", 2592000 },
        { "3650d", 315360000 },
        { "87600h", 315360000 },
        { "315360000", 315360000 }
    };
    static const char  *bad[] = {
        "", "0", "0d", "007", "-1", "+5", " 5", "5 ", "5x", "5D", "d",
        "1.5h", "3651d", "87601h", "315360001", "99999999999999999999999",
        "5dd", "0x10", "5w"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        t = -1;
        ok(gw_model_ttl_parse(good[i].in, strlen(good[i].in), &t) == 0
           && t == good[i].out, "lifetime \"%s\"", good[i].in);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(gw_model_ttl_parse(bad[i], strlen(bad[i]), &t) == -1,
           "lifetime \"%s\" rejected", bad[i]);
    }

    ok(gw_model_ttl_parse(NULL, 0, &t) == -1, "NULL lifetime");
}


static void
test_event(void)
{
    char              msg[GW_MODEL_EVENT_MAX + 8];
    char              hex[GW_KEY_HASH_HEX_LEN + 1];
    gw_model_event_t  ev;

    gw_model_key_hash((const unsigned char *) "abc", 3, hex);

    snprintf(msg, sizeof(msg), "%s %s", GW_MODEL_EVENT_KEY, hex);
    ok(gw_model_event_parse(msg, strlen(msg), &ev) == 0
       && ev.kind == GW_MODEL_EVENT_IS_KEY && ev.id == msg + 4
       && ev.id_len == GW_KEY_HASH_HEX_LEN, "key event");

    ok(gw_model_event_parse(msg, strlen(msg) - 1, &ev) == -1
       && ev.kind == GW_MODEL_EVENT_NONE, "key event with a short hash");

    snprintf(msg, sizeof(msg), "%s %s", GW_MODEL_EVENT_CONSUMER, "acme");
    ok(gw_model_event_parse(msg, strlen(msg), &ev) == 0
       && ev.kind == GW_MODEL_EVENT_IS_CONSUMER && ev.id_len == 4
       && memcmp(ev.id, "acme", 4) == 0, "consumer event");

    snprintf(msg, sizeof(msg), "%s %s", GW_MODEL_EVENT_JTI, "Ab-_9.x");
    ok(gw_model_event_parse(msg, strlen(msg), &ev) == 0
       && ev.kind == GW_MODEL_EVENT_IS_JTI && ev.id_len == 7
       && memcmp(ev.id, "Ab-_9.x", 7) == 0, "jti event");

    ok(gw_model_event_parse("jti a b", 7, &ev) == -1
       && ev.kind == GW_MODEL_EVENT_NONE, "jti event with a space");

    ok(gw_model_event_parse("jti ", 4, &ev) == -1, "jti event, empty jti");

    ok(gw_model_event_parse("client svc-a", 12, &ev) == 0
       && ev.kind == GW_MODEL_EVENT_IS_CLIENT && ev.id_len == 5,
       "client event");

    ok(gw_model_event_parse("client a/b", 10, &ev) == -1,
       "client event with a bad id");

    ok(gw_model_event_parse("keys", 4, &ev) == 0
       && ev.kind == GW_MODEL_EVENT_IS_KEYS && ev.id_len == 0, "keys event");

    ok(gw_model_event_parse("keys x", 6, &ev) == -1, "keys event with more");

    memcpy(msg, "consumer ", 9);
    memset(msg + 9, 'a', GW_ID_MAX);
    msg[9 + GW_ID_MAX] = '\0';
    ok(strlen(msg) + 1 <= GW_MODEL_EVENT_MAX
       && gw_model_event_parse(msg, strlen(msg), &ev) == 0,
       "the longest consumer event fits GW_MODEL_EVENT_MAX");

    ok(gw_model_event_parse(S("consumer "), &ev) == -1, "no id");
    ok(gw_model_event_parse(S("consumer a b"), &ev) == -1, "two ids");
    ok(gw_model_event_parse(S("consumer  a"), &ev) == -1, "two spaces");
    ok(gw_model_event_parse(S("consumerx a"), &ev) == -1, "no space");
    ok(gw_model_event_parse(S("Consumer a"), &ev) == -1, "case");
    ok(gw_model_event_parse(S("key acme"), &ev) == -1, "key with an id");
    ok(gw_model_event_parse(S("route a"), &ev) == -1, "unknown kind");
    ok(gw_model_event_parse(S(""), &ev) == -1, "empty message");
    ok(gw_model_event_parse(NULL, 0, &ev) == -1, "NULL message");
}


int
main(void)
{
    test_id();
    test_text();
    test_tags();
    test_hash();
    test_hasher();
    test_key();
    test_state();
    test_ttl();
    test_event();

    return done_testing();
}
