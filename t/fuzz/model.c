
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the data model's validators and parsers
 * (lib/model/gw_model.h), which judge what a client sends (an API key),
 * what Redis holds (ids, names, tags, hashes, statuses, gw:events
 * messages) and what an operator types (a key's lifetime).  Each is a few
 * dozen lines, so one driver runs all of them on every input, and checks
 * each answer against an independent rule:
 *   - an id is a name is printable text; a name is 1 to GW_NAME_MAX bytes
 *     of printable text; printable text is what jansson takes for UTF-8
 *     with no C0, DEL or C1 character in it;
 *   - valid tags split on commas into at most GW_TAGS_MAX distinct ids;
 *   - a valid key is "tg_" and 43 symbols that lib/jose's strict base64url
 *     decoder turns into GW_KEY_RANDOM_BYTES bytes, and the other way
 *     round; gw_model_key_hash() of anything is a valid hash;
 *   - a parsed lifetime is the canonical spelling of its number and unit,
 *     between 1 second and GW_KEY_TTL_MAX;
 *   - a parsed event points into the message, after "key " or
 *     "consumer ", at a valid hash or id; a refused one is left empty;
 *   - a key state follows the status, with revoked winning.
 *
 * Cap: GW_MODEL_FUZZ_MAX bytes, above the longest tag list.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_b64url.h"
#include "gw_model.h"


#define GW_MODEL_FUZZ_MAX  4096
#define GW_MODEL_FUZZ_NOW  1700000000


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t len);
static void check_tags(const char *s, size_t len);
static void check_key(const char *s, size_t len);
static void check_ttl(const char *s, size_t len);
static void check_event(const char *s, size_t len);
static void check_state(const char *s, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *s;

    if (size > GW_MODEL_FUZZ_MAX) {
        return 0;
    }

    s = (const char *) data;

    check_text(s, size);
    check_tags(s, size);
    check_key(s, size);
    check_ttl(s, size);
    check_event(s, size);
    check_state(s, size);

    return 0;
}


static void
check_text(const char *s, size_t len)
{
    int                   printable, ref;
    size_t                i;
    json_t               *j;
    const unsigned char  *p;

    printable = gw_model_printable(s, len);

    /* jansson's UTF-8 check, and no control character by bytes */

    j = json_stringn(s, len);
    ref = (j != NULL);
    json_decref(j);

    p = (const unsigned char *) s;

    for (i = 0; ref && i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f
            || (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f))
        {
            ref = 0;
        }
    }

    if (printable != ref) {
        abort();
    }

    if (gw_model_name_valid(s, len)
        != (len >= 1 && len <= GW_NAME_MAX && printable))
    {
        abort();
    }

    if (gw_model_id_valid(s, len)
        && (!gw_model_name_valid(s, len) || len > GW_ID_MAX))
    {
        abort();
    }

    if (gw_model_hash_valid(s, len)
        && (len != GW_KEY_HASH_HEX_LEN || !gw_model_id_valid(s, len)))
    {
        abort();
    }
}


static void
check_tags(const char *s, size_t len)
{
    size_t       j, n, tlen[GW_TAGS_MAX + 1];
    const char  *p, *end, *comma, *tag[GW_TAGS_MAX + 1];

    if (!gw_model_tags_valid(s, len)) {
        return;
    }

    p = s;
    end = s + len;
    n = 0;

    while (p < end) {
        comma = memchr(p, ',', end - p);

        if (comma == NULL) {
            comma = end;
        }

        if (n == GW_TAGS_MAX || !gw_model_id_valid(p, comma - p)) {
            abort();
        }

        for (j = 0; j < n; j++) {
            if (tlen[j] == (size_t) (comma - p)
                && memcmp(tag[j], p, tlen[j]) == 0)
            {
                abort();
            }
        }

        tag[n] = p;
        tlen[n++] = comma - p;

        if (comma == end) {
            break;
        }

        p = comma + 1;

        /* a trailing comma leaves an empty last tag */

        if (p == end) {
            abort();
        }
    }
}


static void
check_key(const char *s, size_t len)
{
    int            valid, ref;
    char           hex[GW_KEY_HASH_HEX_LEN + 1];
    ssize_t        n;
    unsigned char  raw[GW_KEY_RANDOM_BYTES + 1];
    unsigned char  enc[GW_KEY_LEN];

    valid = gw_model_key_valid(s, len);

    ref = 0;

    if (len == GW_KEY_LEN
        && memcmp(s, GW_KEY_TEXT_PREFIX, sizeof(GW_KEY_TEXT_PREFIX) - 1)
           == 0)
    {
        n = gw_b64url_decode(raw,
                             (const unsigned char *) s
                             + sizeof(GW_KEY_TEXT_PREFIX) - 1,
                             GW_KEY_LEN - (sizeof(GW_KEY_TEXT_PREFIX) - 1));

        ref = (n == GW_KEY_RANDOM_BYTES);
    }

    if (valid != ref) {
        abort();
    }

    if (valid) {
        memcpy(enc, GW_KEY_TEXT_PREFIX, sizeof(GW_KEY_TEXT_PREFIX) - 1);

        if (gw_b64url_encode(enc + sizeof(GW_KEY_TEXT_PREFIX) - 1, raw,
                             GW_KEY_RANDOM_BYTES)
            != GW_KEY_LEN - (sizeof(GW_KEY_TEXT_PREFIX) - 1)
            || memcmp(enc, s, GW_KEY_LEN) != 0)
        {
            abort();
        }
    }

    gw_model_key_hash((const unsigned char *) s, len, hex);

    if (strlen(hex) != GW_KEY_HASH_HEX_LEN
        || !gw_model_hash_valid(hex, GW_KEY_HASH_HEX_LEN))
    {
        abort();
    }
}


static void
check_ttl(const char *s, size_t len)
{
    int      rc, n;
    char     unit, buf[32];
    int64_t  seconds, mul, num;

    seconds = -1;

    rc = gw_model_ttl_parse(s, len, &seconds);

    if (rc == -1) {
        return;
    }

    if (rc != 0 || seconds < 1 || seconds > GW_KEY_TTL_MAX) {
        abort();
    }

    /* the spelling back from the number: it must be the input */

    unit = s[len - 1];

    switch (unit) {
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = 86400;
        break;
    default:
        mul = 1;
        unit = '\0';
    }

    if (seconds % mul != 0) {
        abort();
    }

    num = seconds / mul;

    n = snprintf(buf, sizeof(buf), "%lld", (long long) num);

    if (unit != '\0' && n > 0 && (size_t) n + 1 < sizeof(buf)) {
        buf[n++] = unit;
    }

    if (n < 0 || (size_t) n != len || memcmp(buf, s, len) != 0) {
        abort();
    }
}


static void
check_event(const char *s, size_t len)
{
    int               rc;
    size_t            klen;
    gw_model_event_t  ev;

    memset(&ev, 0x5a, sizeof(gw_model_event_t));

    rc = gw_model_event_parse(s, len, &ev);

    if (rc == -1) {
        if (ev.kind != GW_MODEL_EVENT_NONE || ev.id != NULL
            || ev.id_len != 0)
        {
            abort();
        }

        /* a refused message is not one of the two forms */

        if (len > 4 && memcmp(s, "key ", 4) == 0
            && gw_model_hash_valid(s + 4, len - 4))
        {
            abort();
        }

        if (len > 9 && memcmp(s, "consumer ", 9) == 0
            && gw_model_id_valid(s + 9, len - 9))
        {
            abort();
        }

        return;
    }

    if (rc != 0) {
        abort();
    }

    switch (ev.kind) {

    case GW_MODEL_EVENT_IS_KEY:
        klen = sizeof(GW_MODEL_EVENT_KEY);

        if (!gw_model_hash_valid(ev.id, ev.id_len)) {
            abort();
        }

        break;

    case GW_MODEL_EVENT_IS_CONSUMER:
        klen = sizeof(GW_MODEL_EVENT_CONSUMER);

        if (!gw_model_id_valid(ev.id, ev.id_len)) {
            abort();
        }

        break;

    default:
        abort();
    }

    /* klen counts the space after the kind */

    if (ev.id != s + klen || ev.id_len != len - klen
        || memcmp(s, ev.kind == GW_MODEL_EVENT_IS_KEY ? "key " : "consumer ",
                  klen)
           != 0)
    {
        abort();
    }
}


static void
check_state(const char *s, size_t len)
{
    size_t                i;
    int64_t               now;
    unsigned              revoked, active;
    gw_model_key_state_e  st, want;

    static const int64_t  expires[] = {
        0, 1, -1, GW_MODEL_FUZZ_NOW - 1, GW_MODEL_FUZZ_NOW,
        GW_MODEL_FUZZ_NOW + 1, INT64_MAX, INT64_MIN
    };

    now = GW_MODEL_FUZZ_NOW;

    revoked = (len == 7 && memcmp(s, "revoked", 7) == 0);
    active = (len == 6 && memcmp(s, "active", 6) == 0);

    for (i = 0; i < sizeof(expires) / sizeof(expires[0]); i++) {
        st = gw_model_key_state(s, len, expires[i], now);

        if (revoked) {
            want = GW_MODEL_KEY_IS_REVOKED;

        } else if (!active || expires[i] < 0) {
            want = GW_MODEL_KEY_IS_INVALID;

        } else if (expires[i] != 0 && expires[i] <= now) {
            want = GW_MODEL_KEY_IS_EXPIRED;

        } else {
            want = GW_MODEL_KEY_USABLE;
        }

        if (st != want) {
            abort();
        }
    }
}
