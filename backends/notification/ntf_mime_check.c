
/*
 * Copyright (C) Tollgate
 *
 * The checks of an email payload (ntf_mime.h): run at accept, where a
 * failure is the caller's 4xx naming the member, and again by the
 * builder (ntf_mime.c) before any byte of a message is written.  What
 * passes can only make well-formed headers: addresses are dot-atom
 * local parts at LDH domains (no quoted forms, no literals, ASCII
 * only), names, the subject and filenames hold no control byte at all
 * (CR, LF, NUL, TAB...), content types are bare type/subtype tokens,
 * attachments are base64, and everything has a cap.
 */


#include <stdio.h>
#include <string.h>

#include "ntf_mime.h"


static int ntf_mime_phrase_ok(json_t *v, size_t max);
static int ntf_mime_type_ok(const char *s);


#define ntf_mime_fail(p, ...)                                               \
    do {                                                                    \
        snprintf(pointer, plen, "%s", p);                                   \
        snprintf(err, elen, __VA_ARGS__);                                   \
        return -1;                                                          \
    } while (0)


int
ntf_mime_addr_ok(const char *s)
{
    size_t       len, i, label;
    const char  *at, *p;

    len = strlen(s);
    at = strchr(s, '@');

    if (len > NTF_MIME_ADDR_MAX || at == NULL || at == s || at - s > 64
        || strchr(at + 1, '@') != NULL)
    {
        return 0;
    }

    /* the local part: a dot-atom (no quoted forms) */
    for (p = s; p < at; p++) {
        if (*p == '.') {
            if (p == s || p + 1 == at || p[1] == '.') {
                return 0;
            }

            continue;
        }

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL))
        {
            return 0;
        }
    }

    /* the domain: LDH labels of 1 to 63, no address literals */
    label = 0;
    for (i = 1; at[i] != '\0'; i++) {
        if (at[i] == '.') {
            if (label == 0 || at[i - 1] == '-') {
                return 0;
            }

            label = 0;
            continue;
        }

        if (!((at[i] >= 'a' && at[i] <= 'z') || (at[i] >= 'A' && at[i] <= 'Z')
              || (at[i] >= '0' && at[i] <= '9')
              || (at[i] == '-' && label != 0)))
        {
            return 0;
        }

        if (++label > 63) {
            return 0;
        }
    }

    return label != 0 && at[i - 1] != '-';
}


const char *
ntf_mime_rcpt_addr(json_t *rcpt)
{
    if (json_is_object(rcpt)) {
        rcpt = json_object_get(rcpt, "email");
    }

    return json_is_string(rcpt) ? json_string_value(rcpt) : NULL;
}


/* a name or subject: a string without NUL or any control byte */
static int
ntf_mime_phrase_ok(json_t *v, size_t max)
{
    size_t       i, len;
    const char  *s;

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* "type/subtype", each an RFC 2045 token; no parameters */
static int
ntf_mime_type_ok(const char *s)
{
    size_t  i, slash, len;

    len = strlen(s);
    slash = 0;

    if (len == 0 || len > NTF_MIME_TYPE_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (slash != 0 || i == 0 || i + 1 == len) {
                return 0;
            }

            slash = i;
            continue;
        }

        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f
            || strchr("()<>@,;:\\\"[]?=", s[i]) != NULL)
        {
            return 0;
        }
    }

    return slash != 0;
}


/*
 * The decoded length of base64 text (whitespace between the characters
 * allowed, padding only at its end), and the count of its base64
 * characters; -1 when it is not base64.
 */
long long
ntf_mime_b64_len(const char *s, size_t len, size_t *chars)
{
    size_t         i, n, pad;
    unsigned char  c;

    n = 0;
    pad = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }

        if (c == '=') {
            if (++pad > 2) {
                return -1;
            }

        } else if (pad != 0
                   || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                        || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            return -1;
        }

        n++;
    }

    if (n % 4 != 0) {
        return -1;
    }

    *chars = n;

    return (long long) (n / 4 * 3 - pad);
}


int
ntf_mime_check(json_t *payload, char *pointer, size_t plen, char *err,
    size_t elen)
{
    char         p[64];
    size_t       i, chars;
    json_t      *to, *v, *name, *atts, *a, *text, *html;
    long long    total, n, max;
    const char  *addr;

    pointer[0] = '\0';
    err[0] = '\0';

    max = ntf.svc != NULL ? gw_svc_conf_int(ntf.svc, "email_max") : 0;
    if (max <= 0) {
        max = 10 * 1024 * 1024;
    }

    if (!json_is_object(payload)) {
        ntf_mime_fail("", "an email must be an object");
    }

    to = json_object_get(payload, "to");

    if (!json_is_array(to) || json_array_size(to) == 0) {
        ntf_mime_fail("/recipients", "an email needs recipients");
    }

    if (json_array_size(to) > NTF_MIME_RCPT_MAX) {
        ntf_mime_fail("/recipients", "more than %d recipients",
                      NTF_MIME_RCPT_MAX);
    }

    json_array_foreach(to, i, v) {
        snprintf(p, sizeof(p), "/recipients/%zu", i);

        if (!json_is_string(v) && !json_is_object(v)) {
            ntf_mime_fail(p, "a recipient is an address or "
                          "{\"email\", \"name\"}");
        }

        addr = ntf_mime_rcpt_addr(v);

        if (addr == NULL || strlen(addr) != json_string_length(
                json_is_object(v) ? json_object_get(v, "email") : v)
            || !ntf_mime_addr_ok(addr))
        {
            ntf_mime_fail(p, "not an email address (local@domain)");
        }

        name = json_object_get(v, "name");

        if (name != NULL && !json_is_null(name)
            && (!json_is_string(name)
                || !ntf_mime_phrase_ok(name, NTF_MIME_NAME_MAX)))
        {
            snprintf(p, sizeof(p), "/recipients/%zu/name", i);
            ntf_mime_fail(p, "a name is a string of at most %d bytes "
                          "without control bytes (CR, LF, NUL...)",
                          NTF_MIME_NAME_MAX);
        }
    }

    total = 0;

    v = json_object_get(payload, "subject");

    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || !ntf_mime_phrase_ok(v, NTF_MIME_SUBJ_MAX))
        {
            ntf_mime_fail("/subject", "a subject is a string of at most "
                          "%d bytes without control bytes (CR, LF, NUL...)",
                          NTF_MIME_SUBJ_MAX);
        }

        total += json_string_length(v);
    }

    text = json_object_get(payload, "text");
    html = json_object_get(payload, "html");

    if (text != NULL && !json_is_null(text)
        && (!json_is_string(text)
            || strlen(json_string_value(text)) != json_string_length(text)))
    {
        ntf_mime_fail("/text", "text is a string without NUL bytes");
    }

    if (html != NULL && !json_is_null(html)
        && (!json_is_string(html)
            || strlen(json_string_value(html)) != json_string_length(html)))
    {
        ntf_mime_fail("/html", "html is a string without NUL bytes");
    }

    if (!json_is_string(text) && !json_is_string(html)) {
        ntf_mime_fail("/text", "an email needs text or html");
    }

    total += json_is_string(text) ? (long long) json_string_length(text) : 0;
    total += json_is_string(html) ? (long long) json_string_length(html) : 0;

    atts = json_object_get(payload, "attachments");

    if (atts != NULL && !json_is_null(atts)) {
        if (!json_is_array(atts)) {
            ntf_mime_fail("/attachments", "attachments is an array");
        }

        if (json_array_size(atts) > NTF_MIME_ATT_MAX) {
            ntf_mime_fail("/attachments", "more than %d attachments",
                          NTF_MIME_ATT_MAX);
        }

        json_array_foreach(atts, i, a) {
            snprintf(p, sizeof(p), "/attachments/%zu", i);

            if (!json_is_object(a)) {
                ntf_mime_fail(p, "an attachment is {\"filename\", "
                              "\"content_type\", \"content\"}");
            }

            v = json_object_get(a, "filename");
            snprintf(p, sizeof(p), "/attachments/%zu/filename", i);

            if (!json_is_string(v) || json_string_length(v) == 0
                || !ntf_mime_phrase_ok(v, NTF_MIME_FILE_MAX)
                || strpbrk(json_string_value(v), "/\\") != NULL
                || json_string_value(v)[0] == ' '
                || json_string_value(v)[json_string_length(v) - 1] == ' ')
            {
                ntf_mime_fail(p, "a filename is 1 to %d bytes without "
                              "control bytes, slashes, or spaces at its "
                              "ends", NTF_MIME_FILE_MAX);
            }

            v = json_object_get(a, "content_type");
            snprintf(p, sizeof(p), "/attachments/%zu/content_type", i);

            if (v != NULL && !json_is_null(v)
                && (!json_is_string(v)
                    || strlen(json_string_value(v)) != json_string_length(v)
                    || !ntf_mime_type_ok(json_string_value(v))))
            {
                ntf_mime_fail(p, "a content type is type/subtype");
            }

            v = json_object_get(a, "content");
            snprintf(p, sizeof(p), "/attachments/%zu/content", i);

            n = json_is_string(v) ? ntf_mime_b64_len(json_string_value(v),
                                        json_string_length(v), &chars)
                                  : -1;
            if (n < 0) {
                ntf_mime_fail(p, "content is base64");
            }

            total += n;
        }
    }

    if (total > max) {
        ntf_mime_fail("", "the email is larger than email_max (%lld bytes)",
                      max);
    }

    return 0;
}
