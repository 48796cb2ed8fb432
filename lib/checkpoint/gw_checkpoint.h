
/*
 * Copyright (C) Tollgate
 *
 * C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint): the note
 * text that commits a log to a tree head,
 *
 *   <origin>\n
 *   <tree size, decimal, no leading zero>\n
 *   <base64 of the 32-byte RFC 9162 root hash>\n
 *   [extension lines, each non-empty, each ending in \n]
 *
 * signed as a C2SP signed note (gw_note.h).  The audit service signs one
 * with its Ed25519 key under a key name equal to its origin; `verify`
 * and clients open it with the verifier key.
 */


#ifndef _GW_CHECKPOINT_H_INCLUDED_
#define _GW_CHECKPOINT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "gw_note.h"


typedef struct {
    const unsigned char  *origin;
    size_t                origin_len;
    uint64_t              size;
    unsigned char         root[32];
    const unsigned char  *ext;          /* extension lines, or NULL */
    size_t                ext_len;      /* with their newlines */
} gw_checkpoint_t;


/*
 * Parses a checkpoint's note text (len bytes); cp's pointers go into it.
 * Rejects an empty origin, a size with a sign, a leading zero or beyond
 * 2^64 - 1, a root that is not the canonical base64 of 32 bytes, an empty
 * extension line, text that a signed note could not carry.  Returns 0,
 * or -1 with *err set to a static reason.
 */
int gw_checkpoint_parse(gw_checkpoint_t *cp, const unsigned char *text,
    size_t len, const char **err);

/*
 * Writes cp as note text into *out (malloc(), the caller frees it); the
 * same checks as gw_checkpoint_parse() apply.  Returns 0, or -1 with *err.
 */
int gw_checkpoint_format(const gw_checkpoint_t *cp, unsigned char **out,
    size_t *out_len, const char **err);

/* formats cp and signs it with key: *out is the signed note */
int gw_checkpoint_sign(const gw_note_skey_t *key, const gw_checkpoint_t *cp,
    unsigned char **out, size_t *out_len, const char **err);

/*
 * Parses the signed note msg, verifies it against keys (gw_note_verify())
 * and parses its text into cp, whose pointers go into msg.  Returns 0, or
 * -1 with *err.
 */
int gw_checkpoint_open(gw_checkpoint_t *cp, const unsigned char *msg,
    size_t len, const gw_note_vkey_t *keys, size_t nkeys, const char **err);


#endif /* _GW_CHECKPOINT_H_INCLUDED_ */
