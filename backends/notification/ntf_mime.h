
/*
 * Copyright (C) Tollgate
 *
 * Email messages (docs/notification-email.md): the checks of an email
 * payload (ntf_mime_check(), declared in ntf.h) and the message built
 * from it for SMTP.
 *
 * The payload is what ntf_accept.c rendered for an email delivery:
 *   {"to": ["a@b" | {"email": "a@b", "name": "..."}, ...],
 *    "subject": s, "text": s, "html": s (text or html or both),
 *    "attachments": [{"filename", "content_type", "content" (base64)}]}
 * ntf_mime_check()'s pointers name the request's members: "/recipients/2",
 * "/recipients/2/name", "/subject", "/text", "/html",
 * "/attachments/0/filename", ...
 *
 * A message is a list of segments read in order: the text we wrote, and
 * each attachment's base64 read straight out of the payload's string and
 * cut into 76-column lines as it is read, so a large attachment is never
 * copied.  It references the payload until it is freed.
 */


#ifndef _NTF_MIME_H_INCLUDED_
#define _NTF_MIME_H_INCLUDED_


#include <time.h>

#include "ntf.h"


#define NTF_MIME_SEED       12      /* bytes of a boundary's randomness */
#define NTF_MIME_RCPT_MAX   100     /* recipients */
#define NTF_MIME_ATT_MAX    10      /* attachments */
#define NTF_MIME_ADDR_MAX   254     /* an address (RFC 5321 path) */
#define NTF_MIME_NAME_MAX   256     /* a display name, bytes */
#define NTF_MIME_SUBJ_MAX   998     /* a subject, bytes */
#define NTF_MIME_FILE_MAX   255     /* a filename, bytes */
#define NTF_MIME_TYPE_MAX   127     /* a content type */


typedef struct ntf_mime_msg_s  ntf_mime_msg_t;


/* what a message depends on besides its payload */
typedef struct {
    const char             *id;         /* Message-ID's left part */
    const char             *from_addr;  /* checked mailbox */
    const char             *from_name;  /* "" for none */
    time_t                  date;
    unsigned char           seed[NTF_MIME_SEED];    /* boundaries */
} ntf_mime_ctx_t;


/*
 * Builds the message for payload (checked again first: a bad payload is
 * -1 with err filled, never a malformed message).  The same payload,
 * ctx and seed give the same bytes.
 */
int ntf_mime_build(json_t *payload, const ntf_mime_ctx_t *ctx,
    ntf_mime_msg_t **msg, char *err, size_t elen);

/* up to size bytes of the message from where the last read ended */
size_t ntf_mime_read(ntf_mime_msg_t *msg, char *buf, size_t size);

/* its whole length in bytes */
size_t ntf_mime_size(ntf_mime_msg_t *msg);

void ntf_mime_free(ntf_mime_msg_t *msg);

/* a recipient's address: the string or its "email"; NULL when neither */
const char *ntf_mime_rcpt_addr(json_t *rcpt);

/* 1 when s is an RFC 5321 mailbox we send to (dot-atom@domain) */
int ntf_mime_addr_ok(const char *s);

/*
 * The decoded length of base64 text (whitespace between characters
 * allowed, padding only at its end) and, in chars, the count of its
 * base64 characters; -1 when it is not base64.
 */
long long ntf_mime_b64_len(const char *s, size_t len, size_t *chars);


/*
 * ntf_smtp.c: the context the email channel builds delivery id's message
 * with: the configured sender, now, a random seed; or, when the tests'
 * driver set ntf_smtp_fixed, its date and seed (so that its message can
 * be compared byte by byte with what the server received).
 */
void ntf_smtp_ctx(ntf_mime_ctx_t *ctx, const char *id);

extern const ntf_mime_ctx_t  *ntf_smtp_fixed;


/* ntf_mime_enc.c: the encodings, appending to a growing buffer */

typedef struct {
    char                   *data;
    size_t                  len;
    size_t                  size;
    int                     oom;        /* an allocation failed */
} ntf_buf_t;

void ntf_buf_add(ntf_buf_t *b, const char *s, size_t len);
void ntf_buf_str(ntf_buf_t *b, const char *s);
void ntf_buf_fmt(ntf_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RFC 5322 date-time in UTC: "Mon, 07 Dec 2026 00:24:27 +0000" */
void ntf_mime_date(ntf_buf_t *b, time_t t);

/* the boundary of nesting level depth: "=_tg<depth>_<hex of seed>" */
void ntf_mime_boundary(char *out, size_t size, const unsigned char *seed,
    unsigned depth);

/*
 * A phrase (display name or subject, UTF-8, no control bytes) as RFC
 * 2047 "B" encoded words of whole characters, each at most 68 columns,
 * folded with CRLF SP between them.
 */
void ntf_mime_words(ntf_buf_t *b, const char *s, size_t len);

/* body text as quoted-printable: CRLF line ends, lines <= 76 */
void ntf_mime_qp(ntf_buf_t *b, const char *s, size_t len);

/* a filename as RFC 2231 parameter(s) of "filename", with "; " first */
void ntf_mime_filename(ntf_buf_t *b, const char *s, size_t len);


#endif /* _NTF_MIME_H_INCLUDED_ */
