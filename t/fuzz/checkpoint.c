
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for C2SP signed notes, checkpoints and note keys
 * (lib/checkpoint), the text an audit client or `tollgate-audit verify`
 * reads from outside.  The input, at most GW_NOTE_MAX_LEN bytes, goes to:
 *   - gw_note_parse(): a parsed note's text must be a prefix of the input
 *     that ends in a newline followed by the blank line, with one to
 *     GW_NOTE_MAX_SIGS signatures whose names and base64 lie inside the
 *     input after it, valid names, no two of one key; it is then verified
 *     against a fixed key (golang.org/x/mod/sumdb/note's PeterNeumann
 *     example, whose signed note is in the corpus), with -1 and a reason
 *     or 0 and at least one good signature, and OpenSSL's error queue
 *     empty; its text also goes to gw_checkpoint_parse();
 *   - gw_checkpoint_parse() on the whole input: a parsed checkpoint must
 *     format back to exactly the input (one text per checkpoint);
 *   - gw_note_vkey_parse() and gw_note_skey_parse(): a parsed key must
 *     format back to exactly the input.
 * A rejection must come with -1 and a reason.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gw_checkpoint.h"
#include "gw_note.h"


#define GW_FUZZ_VKEY  \
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_note(const uint8_t *data, size_t size);
static void check_checkpoint(const uint8_t *data, size_t size);
static void check_keys(const uint8_t *data, size_t size);


static gw_note_vkey_t  vkey;
static gw_note_t       note;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char  *err;

    if (gw_note_vkey_parse(&vkey, (const unsigned char *) GW_FUZZ_VKEY,
                           sizeof(GW_FUZZ_VKEY) - 1, &err) != 0)
    {
        fprintf(stderr, "checkpoint fuzz driver: key: %s\n", err);
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > GW_NOTE_MAX_LEN) {
        return 0;
    }

    check_note(data, size);
    check_checkpoint(data, size);
    check_keys(data, size);

    return 0;
}


static void
check_note(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                i, j, verified;
    const char           *err;
    const uint8_t        *end;
    const gw_note_sig_t  *s;

    err = NULL;

    if (gw_note_parse(&note, data, size, &err) != 0) {
        if (err == NULL) {
            abort();
        }

        return;
    }

    end = data + size;

    if (note.text != data || note.text_len == 0
        || note.text_len + 2 > size
        || data[note.text_len - 1] != '\n' || data[note.text_len] != '\n'
        || note.nsigs == 0 || note.nsigs > GW_NOTE_MAX_SIGS)
    {
        abort();
    }

    for (i = 0; i < note.nsigs; i++) {
        s = &note.sigs[i];

        if (s->name <= data + note.text_len
            || s->name + s->name_len >= end
            || s->name_len > GW_NOTE_NAME_MAX
            || gw_note_name_check(s->name, s->name_len) != 0
            || s->b64 <= s->name || s->b64 + s->b64_len >= end
            || s->b64[s->b64_len] != '\n')
        {
            abort();
        }

        for (j = 0; j < i; j++) {
            if (note.sigs[j].id == s->id
                && note.sigs[j].name_len == s->name_len
                && memcmp(note.sigs[j].name, s->name, s->name_len) == 0)
            {
                abort();
            }
        }
    }

    err = NULL;
    rc = gw_note_verify(&note, &vkey, 1, &verified, &err);

    if ((rc == 0 && verified == 0) || (rc != 0 && (rc != -1 || err == NULL))
        || ERR_peek_error() != 0)
    {
        abort();
    }

    check_checkpoint(note.text, note.text_len);
}


static void
check_checkpoint(const uint8_t *data, size_t size)
{
    size_t           len;
    const char      *err;
    unsigned char   *out;
    gw_checkpoint_t  cp;

    err = NULL;

    if (gw_checkpoint_parse(&cp, data, size, &err) != 0) {
        if (err == NULL) {
            abort();
        }

        return;
    }

    if (cp.origin != data || cp.origin_len == 0
        || (cp.ext != NULL && cp.ext + cp.ext_len != data + size))
    {
        abort();
    }

    if (gw_checkpoint_format(&cp, &out, &len, &err) != 0
        || len != size || memcmp(out, data, size) != 0)
    {
        abort();
    }

    free(out);
}


static void
check_keys(const uint8_t *data, size_t size)
{
    char            buf[GW_NOTE_KEY_TEXT_MAX];
    size_t          len;
    const char     *err;
    gw_note_skey_t  skey;
    gw_note_vkey_t  key;

    if (size >= GW_NOTE_KEY_TEXT_MAX) {
        return;
    }

    err = NULL;

    if (gw_note_vkey_parse(&key, data, size, &err) == 0) {
        len = gw_note_vkey_format(&key, buf);

        if (len != size || memcmp(buf, data, size) != 0) {
            abort();
        }

        gw_note_vkey_free(&key);

    } else if (err == NULL || key.pkey != NULL) {
        abort();
    }

    err = NULL;

    if (gw_note_skey_parse(&skey, data, size, &err) == 0) {
        len = gw_note_skey_format(&skey, buf);

        if (len != size || memcmp(buf, data, size) != 0) {
            abort();
        }

        gw_note_skey_free(&skey);

    } else if (err == NULL || skey.pkey != NULL) {
        abort();
    }

    if (ERR_peek_error() != 0) {
        abort();
    }
}
