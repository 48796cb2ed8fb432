
/*
 * Copyright (C) Tollgate
 *
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: the envelope
 * of the audit log's checkpoints.  A signed note is its text (UTF-8, no
 * control character but newline, ending in a newline), a blank line, and
 * one signature line per key:
 *
 *   — <key name> base64(key ID || signature)
 *
 * where the dash is U+2014 and the key ID is the first four bytes,
 * big-endian, of SHA-256(key name || 0x0A || 0x01 || public key).
 *
 * Keys are text in the format of golang.org/x/mod/sumdb/note, which the
 * transparency tools share:
 *
 *   verifier key  <name>+<key ID, 8 lower-case hex>+base64(0x01 || public)
 *   signer key    PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)
 *
 * Parsing is strict and capped: a note of at most GW_NOTE_MAX_LEN bytes,
 * at most GW_NOTE_MAX_SIGS signature lines (the spec asks for at least
 * 16), key names of at most GW_NOTE_NAME_MAX bytes, and no two lines from
 * the same name and key ID.  Verification follows the spec: signatures of
 * unknown keys (name or ID differ) are ignored, a known key's signature
 * must verify, and at least one must.
 */


#ifndef _GW_NOTE_H_INCLUDED_
#define _GW_NOTE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_NOTE_MAX_LEN       65536     /* a whole signed note, bytes */
#define GW_NOTE_MAX_SIGS      32        /* signature lines in a note */
#define GW_NOTE_NAME_MAX      256       /* a key name, bytes */
#define GW_NOTE_SIG_B64_MAX   8192      /* one signature's base64, bytes */
#define GW_NOTE_KEY_TEXT_MAX  384       /* a formatted key, with its NUL */

#define GW_NOTE_ALG_ED25519   0x01


typedef struct {
    const unsigned char  *name;         /* inside the note */
    size_t                name_len;
    uint32_t              id;
    const unsigned char  *b64;          /* base64(key ID || signature) */
    size_t                b64_len;
} gw_note_sig_t;


typedef struct {
    const unsigned char  *text;         /* the signed bytes, inside note */
    size_t                text_len;
    size_t                nsigs;
    gw_note_sig_t         sigs[GW_NOTE_MAX_SIGS];
} gw_note_t;


typedef struct {
    char                  name[GW_NOTE_NAME_MAX + 1];
    size_t                name_len;
    uint32_t              id;
    unsigned char         pub[32];
    void                 *pkey;         /* EVP_PKEY */
} gw_note_vkey_t;


typedef struct {
    gw_note_vkey_t        vkey;         /* the public half */
    unsigned char         seed[32];
    void                 *pkey;         /* EVP_PKEY, private */
} gw_note_skey_t;


/*
 * Parses msg (len bytes) into note, whose pointers go into msg.  Returns
 * 0, or -1 with *err set to a static reason.  Nothing is verified yet.
 */
int gw_note_parse(gw_note_t *note, const unsigned char *msg, size_t len,
    const char **err);

/*
 * Verifies a parsed note against keys.  Returns 0 when at least one
 * signature of a known key verifies and none fails (*verified, when not
 * NULL, gets the count that did), -1 with *err otherwise.
 */
int gw_note_verify(const gw_note_t *note, const gw_note_vkey_t *keys,
    size_t nkeys, size_t *verified, const char **err);

/*
 * Signs text (len bytes: valid note text, ending in a newline) with key:
 * *out (malloc(), the caller frees it) gets the text, a blank line and
 * the signature line.  Returns 0, or -1 with *err.
 */
int gw_note_sign(const gw_note_skey_t *key, const unsigned char *text,
    size_t len, unsigned char **out, size_t *out_len, const char **err);

/* 0 when text (len bytes) can be a note's text, -1 with *err if not */
int gw_note_text_check(const unsigned char *text, size_t len,
    const char **err);

/* 0 when name is a valid key name: not empty, no spaces, no '+' */
int gw_note_name_check(const unsigned char *name, size_t len);

/* the key ID of an Ed25519 public key under name */
uint32_t gw_note_key_id(const unsigned char *name, size_t len,
    const unsigned char *pub);

/*
 * Parse a verifier or a signer key from its text (len bytes, no newline).
 * The key ID must be the one its name and key give.  Return 0, or -1 with
 * *err; the key needs gw_note_vkey_free() or gw_note_skey_free() after a
 * success.
 */
int gw_note_vkey_parse(gw_note_vkey_t *key, const unsigned char *text,
    size_t len, const char **err);
int gw_note_skey_parse(gw_note_skey_t *key, const unsigned char *text,
    size_t len, const char **err);

/* a new random Ed25519 signer key under name */
int gw_note_skey_generate(gw_note_skey_t *key, const unsigned char *name,
    size_t len, const char **err);

/* a verifier key for the Ed25519 public key pub (32 bytes) under name */
int gw_note_vkey_from_raw(gw_note_vkey_t *key, const unsigned char *name,
    size_t len, const unsigned char *pub, const char **err);

/* write a key as text into buf (GW_NOTE_KEY_TEXT_MAX); return its length */
size_t gw_note_vkey_format(const gw_note_vkey_t *key, char *buf);
size_t gw_note_skey_format(const gw_note_skey_t *key, char *buf);

void gw_note_vkey_free(gw_note_vkey_t *key);
void gw_note_skey_free(gw_note_skey_t *key);


#endif /* _GW_NOTE_H_INCLUDED_ */
