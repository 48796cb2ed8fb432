
/*
 * Copyright (C) Tollgate
 *
 * Email messages (ntf_mime.h, docs/notification-email.md), built from a
 * payload the checks (ntf_mime_check.c) passed: they run again here
 * first, so that a payload that somehow skipped them at accept is
 * refused rather than sent as a malformed or injected message.
 *
 * The message:
 *   Date, Message-ID <delivery id@from's domain>, From, To, Subject,
 *   MIME-Version, Auto-Submitted, then the body: text/plain or
 *   text/html alone, or both in multipart/alternative, inside a
 *   multipart/mixed when there are attachments (base64, 76 columns).
 * Header values never carry a byte the payload chose unchecked: the
 * addresses are dot-atom@domain, names and the subject are plain atoms
 * or RFC 2047 encoded words, filenames RFC 2231, bodies quoted-printable.
 * Every line ends in CRLF and none is longer than 998 octets.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntf_mime.h"


#define NTF_B64_LINE        76


typedef struct {
    char                   *own;        /* our text; NULL: b64 */
    const char             *data;
    size_t                  len;
    size_t                  chars;      /* b64: its base64 characters */
} ntf_mime_seg_t;

struct ntf_mime_msg_s {
    ntf_mime_seg_t         *segs;
    size_t                  nsegs;
    size_t                  size;       /* bytes in all */
    json_t                 *payload;    /* referenced */

    /* the reader's place */
    size_t                  seg;
    size_t                  off;
    size_t                  col;
    unsigned                crlf;       /* of a line end, bytes left */
};


static int ntf_mime_flush(ntf_mime_msg_t *m, ntf_buf_t *b);
static int ntf_mime_add_b64(ntf_mime_msg_t *m, const char *s, size_t len);
static void ntf_mime_phrase(ntf_buf_t *b, const char *s);
static void ntf_mime_body(ntf_buf_t *b, json_t *payload,
    const unsigned char *seed);
static void ntf_mime_leaf(ntf_buf_t *b, const char *type, json_t *v);


/* our text so far becomes a segment of its own */
static int
ntf_mime_flush(ntf_mime_msg_t *m, ntf_buf_t *b)
{
    ntf_mime_seg_t  *segs;

    if (b->oom) {
        return -1;
    }

    if (b->len == 0) {
        return 0;
    }

    segs = realloc(m->segs, (m->nsegs + 1) * sizeof(ntf_mime_seg_t));
    if (segs == NULL) {
        return -1;
    }

    m->segs = segs;
    segs[m->nsegs].own = b->data;
    segs[m->nsegs].data = b->data;
    segs[m->nsegs].len = b->len;
    segs[m->nsegs].chars = 0;
    m->nsegs++;
    m->size += b->len;

    b->data = NULL;
    b->len = 0;
    b->size = 0;

    return 0;
}


/* base64 in the payload, read later in lines of 76 */
static int
ntf_mime_add_b64(ntf_mime_msg_t *m, const char *s, size_t len)
{
    size_t           chars;
    ntf_mime_seg_t  *segs;

    if (ntf_mime_b64_len(s, len, &chars) < 0) {
        return -1;
    }

    if (chars == 0) {
        return 0;
    }

    segs = realloc(m->segs, (m->nsegs + 1) * sizeof(ntf_mime_seg_t));
    if (segs == NULL) {
        return -1;
    }

    m->segs = segs;
    segs[m->nsegs].own = NULL;
    segs[m->nsegs].data = s;
    segs[m->nsegs].len = len;
    segs[m->nsegs].chars = chars;
    m->nsegs++;
    m->size += chars + 2 * ((chars - 1) / NTF_B64_LINE);

    return 0;
}


/*
 * A display name: as is when it is atoms separated by single spaces
 * (RFC 5322 atext, no "=?"), else encoded words.
 */
static void
ntf_mime_phrase(ntf_buf_t *b, const char *s)
{
    int          plain;
    size_t       i, len;
    const char  *atext;

    atext = "!#$%&'*+-/=?^_`{|}~";
    len = strlen(s);
    plain = (len > 0 && len <= 64 && s[0] != ' ' && s[len - 1] != ' '
             && strstr(s, "=?") == NULL && strstr(s, "  ") == NULL);

    for (i = 0; plain && i < len; i++) {
        plain = ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                 || (s[i] >= '0' && s[i] <= '9') || s[i] == ' '
                 || strchr(atext, s[i]) != NULL);
    }

    if (plain) {
        ntf_buf_add(b, s, len);

    } else {
        ntf_mime_words(b, s, len);
    }
}


static void
ntf_mime_leaf(ntf_buf_t *b, const char *type, json_t *v)
{
    ntf_buf_fmt(b, "Content-Type: %s; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type);
    ntf_mime_qp(b, json_string_value(v), json_string_length(v));
}


/* the body's headers and content: one text part or an alternative */
static void
ntf_mime_body(ntf_buf_t *b, json_t *payload, const unsigned char *seed)
{
    char     bd[64];
    json_t  *text, *html;

    text = json_object_get(payload, "text");
    html = json_object_get(payload, "html");

    if (json_is_string(text) && json_is_string(html)) {
        ntf_mime_boundary(bd, sizeof(bd), seed, 1);
        ntf_buf_fmt(b, "Content-Type: multipart/alternative;\r\n"
                    " boundary=\"%s\"\r\n\r\n--%s\r\n", bd, bd);
        ntf_mime_leaf(b, "text/plain", text);
        ntf_buf_fmt(b, "\r\n--%s\r\n", bd);
        ntf_mime_leaf(b, "text/html", html);
        ntf_buf_fmt(b, "\r\n--%s--", bd);

    } else if (json_is_string(text)) {
        ntf_mime_leaf(b, "text/plain", text);

    } else {
        ntf_mime_leaf(b, "text/html", html);
    }
}


int
ntf_mime_build(json_t *payload, const ntf_mime_ctx_t *ctx,
    ntf_mime_msg_t **msg, char *err, size_t elen)
{
    char             bd[64], pointer[64], e[NTF_ERR_MAX];
    size_t           i;
    json_t          *to, *v, *atts, *a, *name;
    ntf_buf_t        b;
    const char      *s, *domain;
    ntf_mime_msg_t  *m;

    *msg = NULL;

    if (ntf_mime_check(payload, pointer, sizeof(pointer), e, sizeof(e))
        != 0)
    {
        snprintf(err, elen, "malformed email (%s): %s", pointer, e);
        return -1;
    }

    domain = strchr(ctx->from_addr, '@');

    if (!ntf_mime_addr_ok(ctx->from_addr) || domain == NULL
        || strspn(ctx->id, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
           != strlen(ctx->id) || ctx->id[0] == '\0'
        || strpbrk(ctx->from_name, "\r\n") != NULL)
    {
        snprintf(err, elen, "malformed sender or delivery id");
        return -1;
    }

    m = calloc(1, sizeof(ntf_mime_msg_t));
    if (m == NULL) {
        snprintf(err, elen, "out of memory");
        return -1;
    }

    m->payload = json_incref(payload);
    memset(&b, 0, sizeof(ntf_buf_t));

    ntf_buf_str(&b, "Date: ");
    ntf_mime_date(&b, ctx->date);
    ntf_buf_fmt(&b, "\r\nMessage-ID: <%s%s>\r\nFrom: ", ctx->id, domain);

    if (ctx->from_name[0] != '\0') {
        ntf_mime_phrase(&b, ctx->from_name);
        ntf_buf_fmt(&b, " <%s>", ctx->from_addr);

    } else {
        ntf_buf_str(&b, ctx->from_addr);
    }

    ntf_buf_str(&b, "\r\nTo: ");

    to = json_object_get(payload, "to");

    json_array_foreach(to, i, v) {
        if (i != 0) {
            ntf_buf_str(&b, ",\r\n ");
        }

        name = json_object_get(v, "name");

        if (json_is_string(name) && json_string_length(name) != 0) {
            ntf_mime_phrase(&b, json_string_value(name));
            ntf_buf_fmt(&b, " <%s>", ntf_mime_rcpt_addr(v));

        } else {
            ntf_buf_str(&b, ntf_mime_rcpt_addr(v));
        }
    }

    ntf_buf_str(&b, "\r\n");

    v = json_object_get(payload, "subject");

    if (json_is_string(v) && json_string_length(v) != 0) {
        s = json_string_value(v);
        ntf_buf_str(&b, "Subject: ");

        if (json_string_length(v) <= 69 && strstr(s, "=?") == NULL
            && s[0] != ' ' && s[json_string_length(v) - 1] != ' '
            && strspn(s, " !\"#$%&'()*+,-./0123456789:;<=>?@"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                      "abcdefghijklmnopqrstuvwxyz{|}~") == strlen(s))
        {
            ntf_buf_str(&b, s);

        } else {
            ntf_mime_words(&b, s, json_string_length(v));
        }

        ntf_buf_str(&b, "\r\n");
    }

    ntf_buf_str(&b, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");

    atts = json_object_get(payload, "attachments");

    if (!json_is_array(atts) || json_array_size(atts) == 0) {
        ntf_mime_body(&b, payload, ctx->seed);

        /* the message ends in CRLF: a text's own last one serves */
        if (b.len < 2 || b.data[b.len - 2] != '\r'
            || b.data[b.len - 1] != '\n')
        {
            ntf_buf_str(&b, "\r\n");
        }

        if (ntf_mime_flush(m, &b) != 0) {
            goto oom;
        }

        *msg = m;
        return 0;
    }

    ntf_mime_boundary(bd, sizeof(bd), ctx->seed, 0);
    ntf_buf_fmt(&b, "Content-Type: multipart/mixed;\r\n"
                " boundary=\"%s\"\r\n\r\n--%s\r\n", bd, bd);
    ntf_mime_body(&b, payload, ctx->seed);

    json_array_foreach(atts, i, a) {
        v = json_object_get(a, "content_type");

        ntf_buf_fmt(&b, "\r\n--%s\r\nContent-Type: %s\r\n"
                    "Content-Transfer-Encoding: base64\r\n"
                    "Content-Disposition: attachment", bd,
                    json_is_string(v) ? json_string_value(v)
                                      : "application/octet-stream");

        v = json_object_get(a, "filename");
        ntf_mime_filename(&b, json_string_value(v), json_string_length(v));
        ntf_buf_str(&b, "\r\n\r\n");

        v = json_object_get(a, "content");

        if (ntf_mime_flush(m, &b) != 0
            || ntf_mime_add_b64(m, json_string_value(v),
                                json_string_length(v)) != 0)
        {
            goto oom;
        }
    }

    ntf_buf_fmt(&b, "\r\n--%s--\r\n", bd);

    if (ntf_mime_flush(m, &b) != 0) {
        goto oom;
    }

    *msg = m;
    return 0;

oom:

    free(b.data);
    ntf_mime_free(m);
    snprintf(err, elen, "out of memory");
    return -1;
}


size_t
ntf_mime_read(ntf_mime_msg_t *m, char *buf, size_t size)
{
    size_t           n, done;
    unsigned char    c;
    ntf_mime_seg_t  *s;

    done = 0;

    while (done < size && m->seg < m->nsegs) {
        s = &m->segs[m->seg];

        if (s->own != NULL) {
            n = s->len - m->off;
            n = n < size - done ? n : size - done;
            memcpy(buf + done, s->data + m->off, n);
            done += n;
            m->off += n;

        } else if (m->crlf != 0) {
            buf[done++] = (m->crlf == 2) ? '\r' : '\n';
            m->crlf--;
            continue;

        } else {
            while (m->off < s->len) {
                c = (unsigned char) s->data[m->off];
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                    break;
                }
                m->off++;
            }

            if (m->off < s->len) {
                if (m->col == NTF_B64_LINE) {
                    m->crlf = 2;
                    m->col = 0;
                    continue;
                }

                buf[done++] = s->data[m->off++];
                m->col++;
                continue;
            }
        }

        if (m->off == s->len) {
            m->seg++;
            m->off = 0;
            m->col = 0;
        }
    }

    return done;
}


size_t
ntf_mime_size(ntf_mime_msg_t *m)
{
    return m->size;
}


void
ntf_mime_free(ntf_mime_msg_t *m)
{
    size_t  i;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nsegs; i++) {
        free(m->segs[i].own);
    }

    free(m->segs);
    json_decref(m->payload);
    free(m);
}
