
/*
 * Copyright (C) Tollgate
 *
 * Checkpoint text.  Parsing reads the three lines by hand rather than
 * with sscanf(): a size must be plain decimal digits (no sign, no space,
 * no leading zero) and must not wrap, and the root must be the one
 * canonical base64 spelling of 32 bytes, so that a checkpoint has one
 * text and one signature can never vouch for two spellings.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_b64std.h"
#include "gw_checkpoint.h"


#define GW_CHECKPOINT_ROOT_B64  44      /* base64 of 32 bytes */


static const unsigned char *gw_checkpoint_line(const unsigned char *p,
    const unsigned char *end, size_t *len);


int
gw_checkpoint_parse(gw_checkpoint_t *cp, const unsigned char *text,
    size_t len, const char **err)
{
    size_t                n, i;
    uint64_t              size;
    unsigned char         root[gw_b64std_decoded_max(44)];
    const unsigned char  *p, *line, *end;

    memset(cp, 0, sizeof(gw_checkpoint_t));

    if (gw_note_text_check(text, len, err) != 0) {
        return -1;
    }

    p = text;
    end = text + len;

    line = p;
    p = gw_checkpoint_line(p, end, &n);

    if (p == NULL || n == 0) {
        *err = "checkpoint has no origin";
        return -1;
    }

    cp->origin = line;
    cp->origin_len = n;

    line = p;
    p = gw_checkpoint_line(p, end, &n);

    if (p == NULL || n == 0 || n > 20 || (n > 1 && line[0] == '0')) {
        *err = "checkpoint tree size is not a decimal number";
        return -1;
    }

    size = 0;

    for (i = 0; i < n; i++) {
        if (line[i] < '0' || line[i] > '9'
            || size > (UINT64_MAX - (line[i] - '0')) / 10)
        {
            *err = "checkpoint tree size is not a decimal number";
            return -1;
        }

        size = size * 10 + (line[i] - '0');
    }

    cp->size = size;

    line = p;
    p = gw_checkpoint_line(p, end, &n);

    if (p == NULL || n != GW_CHECKPOINT_ROOT_B64
        || gw_b64std_decode(root, line, n) != 32)
    {
        *err = "checkpoint root hash is not base64 of 32 bytes";
        return -1;
    }

    memcpy(cp->root, root, 32);

    if (p < end) {
        cp->ext = p;
        cp->ext_len = end - p;
    }

    while (p < end) {
        p = gw_checkpoint_line(p, end, &n);

        if (p == NULL || n == 0) {
            *err = "checkpoint has an empty extension line";
            return -1;
        }
    }

    return 0;
}


/* the line at p: its length without the newline, and the next line */

static const unsigned char *
gw_checkpoint_line(const unsigned char *p, const unsigned char *end,
    size_t *len)
{
    const unsigned char  *nl;

    if (p >= end) {
        return NULL;
    }

    nl = memchr(p, '\n', end - p);
    if (nl == NULL) {
        return NULL;
    }

    *len = nl - p;

    return nl + 1;
}


int
gw_checkpoint_format(const gw_checkpoint_t *cp, unsigned char **out,
    size_t *out_len, const char **err)
{
    int              n;
    size_t           size, len;
    unsigned char   *p;
    gw_checkpoint_t  check;

    *out = NULL;
    *out_len = 0;

    if (cp->origin_len > GW_NOTE_MAX_LEN || cp->ext_len > GW_NOTE_MAX_LEN) {
        *err = "checkpoint too long";
        return -1;
    }

    if (memchr(cp->origin, '\n', cp->origin_len) != NULL) {
        *err = "checkpoint origin has a newline";
        return -1;
    }

    size = cp->origin_len + 1 + 21 + GW_CHECKPOINT_ROOT_B64 + 1
           + cp->ext_len + 1;

    p = malloc(size);
    if (p == NULL) {
        *err = "out of memory";
        return -1;
    }

    memcpy(p, cp->origin, cp->origin_len);
    len = cp->origin_len;

    n = snprintf((char *) p + len, size - len, "\n%llu\n",
                 (unsigned long long) cp->size);
    len += n;

    len += gw_b64std_encode(p + len, cp->root, 32);
    p[len++] = '\n';

    if (cp->ext_len != 0) {
        memcpy(p + len, cp->ext, cp->ext_len);
        len += cp->ext_len;
    }

    /* what we write must read back, extension lines included */

    if (gw_checkpoint_parse(&check, p, len, err) != 0) {
        free(p);
        return -1;
    }

    *out = p;
    *out_len = len;

    return 0;
}


int
gw_checkpoint_sign(const gw_note_skey_t *key, const gw_checkpoint_t *cp,
    unsigned char **out, size_t *out_len, const char **err)
{
    int             rc;
    size_t          len;
    unsigned char  *text;

    if (gw_checkpoint_format(cp, &text, &len, err) != 0) {
        *out = NULL;
        *out_len = 0;
        return -1;
    }

    rc = gw_note_sign(key, text, len, out, out_len, err);

    free(text);

    return rc;
}


int
gw_checkpoint_open(gw_checkpoint_t *cp, const unsigned char *msg,
    size_t len, const gw_note_vkey_t *keys, size_t nkeys, const char **err)
{
    int         rc;
    gw_note_t  *note;

    memset(cp, 0, sizeof(gw_checkpoint_t));

    note = malloc(sizeof(gw_note_t));
    if (note == NULL) {
        *err = "out of memory";
        return -1;
    }

    rc = -1;

    if (gw_note_parse(note, msg, len, err) == 0
        && gw_note_verify(note, keys, nkeys, NULL, err) == 0
        && gw_checkpoint_parse(cp, note->text, note->text_len, err) == 0)
    {
        rc = 0;
    }

    free(note);

    return rc;
}
