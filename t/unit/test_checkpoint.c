
/*
 * Copyright (C) Tollgate
 *
 * C2SP signed notes and checkpoints (lib/checkpoint).  The cross-check is
 * the example of golang.org/x/mod/sumdb/note, an independent
 * implementation: its signer key must give its verifier key, and signing
 * its text must give its signed note byte for byte (Ed25519 signatures
 * are deterministic).  Then strict base64, the note parser's limits and
 * rejections, the verification rules (unknown keys ignored, a bad
 * signature of a known key fatal), key text round trips, and checkpoint
 * bodies: sizes, roots, extension lines, sign and open.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gw_b64std.h"
#include "gw_checkpoint.h"
#include "gw_note.h"
#include "tap.h"


#define GO_SKEY  \
    "PRIVATE+KEY+PeterNeumann+c74f20a3+"                                      \
    "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_VKEY  \
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT  \
    "If you think cryptography is the answer to your problem,\n"              \
    "then you don't know what your problem is.\n"
#define GO_SIG   \
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZIn" \
    "NIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define GO_NOTE  GO_TEXT "\n" GO_SIG

#define DASH     "\xe2\x80\x94 "
#define ROOT_B64 "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="

#define why(err)  ((err) != NULL ? (err) : "none")


static gw_note_skey_t  skey;
static gw_note_vkey_t  vkey;


static int
parse(const char *msg, const char **err)
{
    int         rc;
    gw_note_t  *note;

    note = malloc(sizeof(gw_note_t));
    if (note == NULL) {
        bail_out("out of memory");
    }

    *err = NULL;
    rc = gw_note_parse(note, (const unsigned char *) msg, strlen(msg), err);

    free(note);

    return rc;
}


static int
open_note(const char *msg, const gw_note_vkey_t *keys, size_t nkeys,
    size_t *verified, const char **err)
{
    int         rc;
    gw_note_t  *note;

    note = malloc(sizeof(gw_note_t));
    if (note == NULL) {
        bail_out("out of memory");
    }

    *err = NULL;
    rc = gw_note_parse(note, (const unsigned char *) msg, strlen(msg), err);

    if (rc == 0) {
        rc = gw_note_verify(note, keys, nkeys, verified, err);
    }

    free(note);

    return rc;
}


static void
test_base64(void)
{
    size_t          i;
    unsigned char   raw[8], out[16];
    static const struct {
        const char  *text;
        ssize_t      len;
    } cases[] = {
        { "", 0 }, { "AA==", 1 }, { "AAA=", 2 }, { "AAAA", 3 },
        { "+/+/", 3 }, { "AB==", -1 }, { "AAB=", -1 }, { "AA=", -1 },
        { "A===", -1 }, { "====", -1 }, { "AA==AAAA", -1 },
        { "AA AA", -1 }, { "AA-_", -1 }, { "AAA", -1 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(gw_b64std_decode(out, (const unsigned char *) cases[i].text,
                                strlen(cases[i].text)),
               cases[i].len, "base64 \"%s\"", cases[i].text);
    }

    for (i = 0; i <= 5; i++) {
        memcpy(raw, "\xfb\xff\x00\x01\x02", 5);
        out[gw_b64std_encode(out, raw, i)] = '\0';

        ok(gw_b64std_decode(raw, out, strlen((char *) out)) == (ssize_t) i
           && memcmp(raw, "\xfb\xff\x00\x01\x02", i) == 0
           && strlen((char *) out) == gw_b64std_encoded_len(i),
           "base64 round trip of %zu bytes: %s", i, out);
    }
}


static void
test_go_vector(void)
{
    int             good;
    char            buf[GW_NOTE_KEY_TEXT_MAX];
    size_t          len, verified;
    const char     *err;
    unsigned char  *out;

    err = NULL;

    ok(gw_note_skey_parse(&skey, (const unsigned char *) GO_SKEY,
                          strlen(GO_SKEY), &err) == 0,
       "Go signer key parses");
    ok(gw_note_vkey_parse(&vkey, (const unsigned char *) GO_VKEY,
                          strlen(GO_VKEY), &err) == 0,
       "Go verifier key parses");

    if (skey.pkey == NULL || vkey.pkey == NULL) {
        bail_out("Go keys do not parse");
    }

    is_int(vkey.id, 0xc74f20a3, "key ID");

    gw_note_vkey_format(&skey.vkey, buf);
    is_str(buf, GO_VKEY, "signer key's public half formats as Go's");

    gw_note_skey_format(&skey, buf);
    is_str(buf, GO_SKEY, "signer key formats back");

    ok(gw_note_sign(&skey, (const unsigned char *) GO_TEXT,
                    strlen(GO_TEXT), &out, &len, &err) == 0
       && len == strlen(GO_NOTE) && memcmp(out, GO_NOTE, len) == 0,
       "signing Go's text gives Go's note byte for byte");
    free(out);

    ok(open_note(GO_NOTE, &vkey, 1, &verified, &err) == 0 && verified == 1,
       "Go's note verifies");

    good = open_note("If you think cryptography is the answer to your "
                     "problem,\nthen you don't know what your problem IS.\n"
                     "\n" GO_SIG, &vkey, 1, &verified, &err) == -1;
    ok(good, "changed text is rejected: %s", why(err));

    ok(ERR_peek_error() == 0, "OpenSSL error queue is empty");
}


static void
test_parse(void)
{
    int          i, good;
    char        *big, *p;
    size_t       verified;
    const char  *err;

    static const struct {
        const char  *msg;
        const char  *name;
    } bad[] = {
        { GO_TEXT GO_SIG, "no blank line" },
        { GO_TEXT "\n", "no signature" },
        { GO_TEXT "\n" GO_SIG "x", "no final newline" },
        { GO_TEXT "\n- PeterNeumann AAAAAAAA\n", "hyphen, not em dash" },
        { GO_TEXT "\n" DASH "Peter+Neumann AAAAAAAA\n", "'+' in a name" },
        { GO_TEXT "\n" DASH "Peter\xc2\xa0Neumann AAAAAAAA\n",
          "U+00A0 in a name" },
        { GO_TEXT "\n" DASH "Peter\xe3\x80\x80Neumann AAAAAAAA\n",
          "U+3000 in a name" },
        { GO_TEXT "\n" DASH " AAAAAAAA\n", "empty name" },
        { GO_TEXT "\n" DASH "PeterNeumann\n", "no signature after the name" },
        { GO_TEXT "\n" DASH "PeterNeumann AAAAAA==\n",
          "signature of four bytes" },
        { GO_TEXT "\n" DASH "PeterNeumann AAAAAAA\n", "unpadded base64" },
        { GO_TEXT "\n" DASH "PeterNeumann AAAAAAB=\n",
          "non-canonical base64" },
        { GO_TEXT "\n" DASH "PeterNeumann AAAAAAAA AAAA\n",
          "a second space" },
        { "text\twith a tab\n\n" GO_SIG, "a tab in the text" },
        { "text\r\n\n" GO_SIG, "a carriage return" },
        { "bad \xc0\xaf utf-8\n\n" GO_SIG, "overlong UTF-8" },
        { "bad \xed\xa0\x80 surrogate\n\n" GO_SIG, "a UTF-8 surrogate" },
        { GO_TEXT "\n" GO_SIG GO_SIG, "two signatures of one key" },
        { "", "empty" }
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        good = parse(bad[i].msg, &err) == -1 && err != NULL;
        ok(good, "rejected: %s (%s)", bad[i].name, why(err));
    }

    ok(parse(GO_TEXT "\n" DASH "PeterNeumann AAAAAAA=\n", &err) == 0,
       "a one-byte signature of an unknown type parses");

    ok(parse("\n\n" GO_SIG, &err) == 0, "an empty line as text parses");

    ok(parse("a\n\nb\n\n" GO_SIG, &err) == 0,
       "blank lines in the text: the last one splits");

    /* the signature cap: GW_NOTE_MAX_SIGS pass parsing, one more fails */

    big = malloc(GW_NOTE_MAX_LEN + 1024);
    if (big == NULL) {
        bail_out("out of memory");
    }

    p = big + sprintf(big, "%s\n", GO_TEXT);

    for (i = 0; i < GW_NOTE_MAX_SIGS; i++) {
        p += sprintf(p, DASH "k%d AAAAAAAA\n", i);
    }

    ok(parse(big, &err) == 0, "%d signatures parse", GW_NOTE_MAX_SIGS);

    good = open_note(big, &vkey, 1, &verified, &err) == -1;
    ok(good, "no known key among them: rejected (%s)", why(err));

    sprintf(p, DASH "k%d AAAAAAAA\n", i);
    good = parse(big, &err) == -1;
    ok(good, "%d signatures are rejected: %s", GW_NOTE_MAX_SIGS + 1,
       why(err));

    /* the size cap */

    memset(big, 'a', GW_NOTE_MAX_LEN + 1);
    p = big + GW_NOTE_MAX_LEN - strlen(GO_SIG) - 2;
    sprintf(p, "\n\n%s", GO_SIG);
    ok(strlen(big) == GW_NOTE_MAX_LEN && parse(big, &err) == 0,
       "a note of GW_NOTE_MAX_LEN bytes parses");

    p = big + GW_NOTE_MAX_LEN - strlen(GO_SIG) - 1;
    sprintf(p, "\n\n%s", GO_SIG);
    good = parse(big, &err) == -1;
    ok(good, "one byte more is rejected: %s", why(err));

    free(big);
}


static void
test_verify_rules(void)
{
    int             good;
    char            msg[1024];
    size_t          len, verified;
    const char     *err;
    unsigned char  *out;
    gw_note_skey_t  other;
    gw_note_vkey_t  keys[2];

    if (gw_note_skey_generate(&other, (const unsigned char *) "example.com/o",
                              13, &err) != 0
        || gw_note_sign(&other, (const unsigned char *) GO_TEXT,
                        strlen(GO_TEXT), &out, &len, &err) != 0)
    {
        bail_out("cannot generate a key and sign");
    }

    keys[0] = vkey;
    keys[1] = other.vkey;

    /* Go's note plus the other key's line: both known, both good */

    snprintf(msg, sizeof(msg), "%s%.*s", GO_NOTE,
             (int) (len - strlen(GO_TEXT) - 1),
             out + strlen(GO_TEXT) + 1);

    ok(open_note(msg, keys, 2, &verified, &err) == 0 && verified == 2,
       "two known keys, two good signatures");

    ok(open_note(msg, &other.vkey, 1, &verified, &err) == 0
       && verified == 1, "the other key alone: Go's line is ignored");

    /* a known key whose signature fails spoils the note */

    snprintf(msg, sizeof(msg), "%.*s" DASH "PeterNeumann x08go/ZJkuBS9UG/"
             "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpR"
             "Zb6KE6RyyBwJnAA=\n", (int) len, (const char *) out);

    good = open_note(msg, keys, 2, &verified, &err) == -1;
    ok(good, "a bad signature of a known key is fatal: %s", why(err));

    ok(open_note(msg, &other.vkey, 1, &verified, &err) == 0,
       "the same line, its key unknown: ignored");

    /* same name, other ID: an unknown key */

    snprintf(msg, sizeof(msg), "%s" DASH "PeterNeumann AAAAAAAAAAAA\n",
             GO_NOTE);
    ok(open_note(msg, &vkey, 1, &verified, &err) == 0 && verified == 1,
       "same name with another key ID is ignored");

    free(out);
    gw_note_skey_free(&other);

    ok(ERR_peek_error() == 0, "OpenSSL error queue is empty");
}


static void
test_keys(void)
{
    int              good;
    char             buf[GW_NOTE_KEY_TEXT_MAX];
    size_t           i;
    const char      *err;
    gw_note_skey_t   k, k2;
    gw_note_vkey_t   v;

    static const char  *bad_vkeys[] = {
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWA",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann",
        ""
    };

    for (i = 0; i < sizeof(bad_vkeys) / sizeof(bad_vkeys[0]); i++) {
        err = NULL;
        good = gw_note_vkey_parse(&v, (const unsigned char *) bad_vkeys[i],
                                  strlen(bad_vkeys[i]), &err) == -1
               && err != NULL;
        ok(good, "bad verifier key %zu rejected: %s", i, why(err));
    }

    ok(gw_note_skey_parse(&k, (const unsigned char *) GO_VKEY,
                          strlen(GO_VKEY), &err) == -1,
       "a verifier key is not a signer key");

    ok(gw_note_skey_parse(&k, (const unsigned char *)
                          "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhP"
                          "JEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", 78, &err) == -1,
       "a signer key with a wrong key ID is rejected");

    ok(gw_note_skey_generate(&k, (const unsigned char *) "bad name", 8, &err)
       == -1, "a key name with a space is refused");

    if (gw_note_skey_generate(&k, (const unsigned char *) "log.example/a",
                              13, &err) != 0)
    {
        bail_out("cannot generate a key");
    }

    gw_note_skey_format(&k, buf);
    ok(gw_note_skey_parse(&k2, (const unsigned char *) buf, strlen(buf),
                          &err) == 0
       && k2.vkey.id == k.vkey.id
       && memcmp(k2.vkey.pub, k.vkey.pub, 32) == 0,
       "a generated signer key formats and parses back");

    gw_note_vkey_format(&k.vkey, buf);
    ok(gw_note_vkey_parse(&v, (const unsigned char *) buf, strlen(buf),
                          &err) == 0
       && v.id == k.vkey.id && strcmp(v.name, "log.example/a") == 0,
       "its verifier key formats and parses back: %s", buf);

    gw_note_vkey_free(&v);
    gw_note_skey_free(&k2);
    gw_note_skey_free(&k);
}


static void
test_checkpoints(void)
{
    int              i, good;
    size_t           len;
    const char      *err, *s;
    unsigned char   *text, *note;
    gw_checkpoint_t  cp, cp2;

    static const struct {
        const char  *text;
        const char  *name;
    } bad[] = {
        { "\n5\n" ROOT_B64 "\n", "empty origin" },
        { "o\n05\n" ROOT_B64 "\n", "leading zero" },
        { "o\n+5\n" ROOT_B64 "\n", "sign" },
        { "o\n 5\n" ROOT_B64 "\n", "space" },
        { "o\n\n" ROOT_B64 "\n", "empty size" },
        { "o\n18446744073709551616\n" ROOT_B64 "\n", "size of 2^64" },
        { "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
          "non-canonical base64" },
        { "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
          "unpadded root" },
        { "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
          "short root" },
        { "o\n5\n" ROOT_B64, "no final newline" },
        { "o\n5\n" ROOT_B64 "\nx\n\n", "empty extension line" },
        { "o\n5\n", "no root" },
        { "o\n5\n" ROOT_B64 "\r\n", "carriage return" }
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        err = NULL;
        good = gw_checkpoint_parse(&cp, (const unsigned char *) bad[i].text,
                                   strlen(bad[i].text), &err) == -1
               && err != NULL;
        ok(good, "checkpoint rejected: %s (%s)", bad[i].name, why(err));
    }

    s = "example.com/behind-the-sofa\n20852163\n" ROOT_B64 "\n";
    ok(gw_checkpoint_parse(&cp, (const unsigned char *) s, strlen(s), &err)
       == 0 && cp.size == 20852163 && cp.origin_len == 27 && cp.ext == NULL,
       "the C2SP example parses");

    s = "o\n18446744073709551615\n" ROOT_B64 "\next one\next two\n";
    ok(gw_checkpoint_parse(&cp, (const unsigned char *) s, strlen(s), &err)
       == 0 && cp.size == UINT64_MAX && cp.ext_len == 16,
       "2^64 - 1 leaves and two extension lines parse");

    ok(gw_checkpoint_format(&cp, &text, &len, &err) == 0
       && len == strlen(s) && memcmp(text, s, len) == 0,
       "and format back to the same text");
    free(text);

    cp.origin = (const unsigned char *) "a\nb";
    cp.origin_len = 3;
    err = NULL;
    good = gw_checkpoint_format(&cp, &text, &len, &err) == -1;
    ok(good, "an origin with a newline is refused: %s", why(err));

    /* sign and open */

    memset(&cp, 0, sizeof(cp));
    cp.origin = (const unsigned char *) "PeterNeumann";
    cp.origin_len = 12;
    cp.size = 0;
    memcpy(cp.root, "\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb\xf4\xc8\x99"
           "\x6f\xb9\x24\x27\xae\x41\xe4\x64\x9b\x93\x4c\xa4\x95\x99\x1b"
           "\x78\x52\xb8\x55", 32);

    ok(gw_checkpoint_sign(&skey, &cp, &note, &len, &err) == 0,
       "empty tree checkpoint signs");

    ok(gw_checkpoint_open(&cp2, note, len, &vkey, 1, &err) == 0
       && cp2.size == 0 && memcmp(cp2.root, cp.root, 32) == 0
       && cp2.origin_len == 12, "and opens with the verifier key");

    note[13] = '1';
    err = NULL;
    good = gw_checkpoint_open(&cp2, note, len, &vkey, 1, &err) == -1;
    ok(good, "a changed size does not open: %s", why(err));

    free(note);

    ok(ERR_peek_error() == 0, "OpenSSL error queue is empty");
}


int
main(void)
{
    test_base64();
    test_go_vector();
    test_parse();
    test_verify_rules();
    test_keys();
    test_checkpoints();

    gw_note_vkey_free(&vkey);
    gw_note_skey_free(&skey);

    return done_testing();
}
