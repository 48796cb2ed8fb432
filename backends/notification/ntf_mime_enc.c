
/*
 * Copyright (C) Tollgate
 *
 * The encodings of an email message (RFC 2045, 2047, 2231, 5322), each
 * appending to an ntf_buf_t that grows as needed; an allocation failure
 * sets the buffer's oom and the rest is dropped, the caller checks once.
 *
 * Every output is plain printable ASCII cut into lines far below 998
 * octets, and no output can hold the two bytes "=_" that begin our
 * boundaries: quoted-printable writes '=' only before two hex digits or
 * a line end, base64 only as trailing padding, RFC 2231 writes '%'.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ntf_mime.h"


#define NTF_WORD_BYTES      42      /* 56 base64 chars, 68 columns */
#define NTF_QP_LINE         76
#define NTF_FNAME_PLAIN     60      /* a plain quoted filename, at most */
#define NTF_FNAME_PART      60      /* an RFC 2231 section, encoded */


static const char  ntf_hex[] = "0123456789ABCDEF";


void
ntf_buf_add(ntf_buf_t *b, const char *s, size_t len)
{
    char    *p;
    size_t   size;

    if (b->oom) {
        return;
    }

    if (b->len + len + 1 > b->size) {
        size = b->size ? b->size : 256;

        while (size < b->len + len + 1) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            b->oom = 1;
            return;
        }

        b->data = p;
        b->size = size;
    }

    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}


void
ntf_buf_str(ntf_buf_t *b, const char *s)
{
    ntf_buf_add(b, s, strlen(s));
}


void
ntf_buf_fmt(ntf_buf_t *b, const char *fmt, ...)
{
    int      n;
    char     tmp[512];
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);

    if (n < 0 || (size_t) n >= sizeof(tmp)) {
        b->oom = 1;
        return;
    }

    ntf_buf_add(b, tmp, n);
}


void
ntf_mime_date(ntf_buf_t *b, time_t t)
{
    struct tm  tm;

    static const char  *days[] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char  *months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };

    if (gmtime_r(&t, &tm) == NULL) {
        b->oom = 1;
        return;
    }

    ntf_buf_fmt(b, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}


void
ntf_mime_boundary(char *out, size_t size, const unsigned char *seed,
    unsigned depth)
{
    size_t  i, n;

    n = (size_t) snprintf(out, size, "=_tg%u_", depth);

    for (i = 0; i < NTF_MIME_SEED && n + 2 < size; i++) {
        out[n++] = ntf_hex[seed[i] >> 4];
        out[n++] = ntf_hex[seed[i] & 0x0f];
    }

    out[n] = '\0';
}


void
ntf_mime_words(ntf_buf_t *b, const char *s, size_t len)
{
    int            n;
    size_t         off, end;
    unsigned char  enc[(NTF_WORD_BYTES / 3) * 4 + 1];

    for (off = 0; off < len; off = end) {
        end = off + NTF_WORD_BYTES;

        if (end >= len) {
            end = len;

        } else {
            /* whole characters only (RFC 2047, 5): back to a lead byte */
            while (end > off + 1 && ((unsigned char) s[end] & 0xc0) == 0x80)
            {
                end--;
            }
        }

        n = EVP_EncodeBlock(enc, (const unsigned char *) s + off,
                            (int) (end - off));

        if (off != 0) {
            ntf_buf_str(b, "\r\n ");
        }

        ntf_buf_str(b, "=?UTF-8?B?");
        ntf_buf_add(b, (char *) enc, n);
        ntf_buf_str(b, "?=");
    }
}


/*
 * Quoted-printable (RFC 2045, 6.7): the text's line ends (LF, CR LF or a
 * lone CR) become CRLF; printable ASCII but '=' stays, a space or tab
 * stays unless it ends a line, every other byte is =XX; a line longer
 * than 76 columns is cut by soft breaks ("=" CRLF).
 */
void
ntf_mime_qp(ntf_buf_t *b, const char *s, size_t len)
{
    int            eol;
    char           tok[3];
    size_t         i, col, t;
    unsigned char  c;

    col = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
                i++;
            }

            ntf_buf_str(b, "\r\n");
            col = 0;
            continue;
        }

        eol = (i + 1 == len || s[i + 1] == '\r' || s[i + 1] == '\n');

        if ((c >= 33 && c <= 126 && c != '=')
            || ((c == ' ' || c == '\t') && !eol))
        {
            tok[0] = (char) c;
            t = 1;

        } else {
            tok[0] = '=';
            tok[1] = ntf_hex[c >> 4];
            tok[2] = ntf_hex[c & 0x0f];
            t = 3;
        }

        if (col + t > NTF_QP_LINE - 1) {
            ntf_buf_str(b, "=\r\n");
            col = 0;
        }

        ntf_buf_add(b, tok, t);
        col += t;
    }
}


/* RFC 2231 attr-char: what a parameter value keeps unencoded */
static int
ntf_mime_attr_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}


/*
 * A short printable ASCII name without quotes or backslashes is a
 * quoted-string; any other is "filename*" in UTF-8 with percent
 * escapes, in sections of at most 60 columns (never cutting an escape)
 * when long: filename*0*=UTF-8''...; filename*1*=...
 */
void
ntf_mime_filename(ntf_buf_t *b, const char *s, size_t len)
{
    int            plain;
    char           enc[4];
    size_t         i, col, n, part;
    unsigned char  c;

    plain = (len <= NTF_FNAME_PLAIN);

    for (i = 0; plain && i < len; i++) {
        c = (unsigned char) s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            plain = 0;
        }
    }

    if (plain) {
        ntf_buf_str(b, ";\r\n filename=\"");
        ntf_buf_add(b, s, len);
        ntf_buf_str(b, "\"");
        return;
    }

    /* the encoded length decides between one section and several */
    n = 0;
    for (i = 0; i < len; i++) {
        n += ntf_mime_attr_char((unsigned char) s[i]) ? 1 : 3;
    }

    if (n <= NTF_FNAME_PART) {
        ntf_buf_str(b, ";\r\n filename*=UTF-8''");

    } else {
        ntf_buf_str(b, ";\r\n filename*0*=UTF-8''");
    }

    col = 0;
    part = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (ntf_mime_attr_char(c)) {
            enc[0] = (char) c;
            n = 1;

        } else {
            enc[0] = '%';
            enc[1] = ntf_hex[c >> 4];
            enc[2] = ntf_hex[c & 0x0f];
            n = 3;
        }

        if (col + n > NTF_FNAME_PART) {
            ntf_buf_fmt(b, ";\r\n filename*%zu*=", ++part);
            col = 0;
        }

        ntf_buf_add(b, enc, n);
        col += n;
    }
}
