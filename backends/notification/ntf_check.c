
/*
 * Copyright (C) Tollgate
 *
 * A notification request's shape (docs/notification.md, "The request"),
 * checked before anything is rendered or read: its members, the channel,
 * the event type, exactly one of template and body (the body's members
 * per channel), data, the recipients per channel (at most 100, none
 * twice) and an email's attachments (at most 10).  What the shape cannot
 * say is checked later by the part that knows: a template's variables
 * (ntf_tmpl.c), an email's addresses and header bytes (ntf_mime.c).
 * Every refusal is a 422 naming the member by a JSON pointer.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntf_core.h"


static int ntf_check_body(ntf_check_t *chk, json_t *body);
static int ntf_check_recipients(ntf_check_t *chk, json_t *r);
static int ntf_check_attachments(ntf_check_t *chk, json_t *a);
static int ntf_check_name(const char *s, const char *extra, size_t max);
static int ntf_check_err(ntf_check_t *chk, int status, const char *pointer,
    const char *fmt, ...);


/* the request's shape; -1 when refused (answered) */

int
ntf_check(ntf_check_t *chk)
{
    int          email, push, webhook;
    json_t      *v, *template, *body;
    const char  *key;

    if (!json_is_object(chk->request)) {
        ntf_check_err(chk, 422, "", "the notification must be an object");
        return -1;
    }

    json_object_foreach(chk->request, key, v) {
        if (strcmp(key, "channel") != 0 && strcmp(key, "type") != 0
            && strcmp(key, "template") != 0 && strcmp(key, "body") != 0
            && strcmp(key, "data") != 0 && strcmp(key, "recipients") != 0
            && strcmp(key, "attachments") != 0)
        {
            ntf_check_err(chk, 422, "", "unknown member \"%.64s\"", key);
            return -1;
        }
    }

    v = json_object_get(chk->request, "channel");
    chk->channel = json_string_value(v);
    webhook = chk->channel != NULL && strcmp(chk->channel, "webhook") == 0;
    email = chk->channel != NULL && strcmp(chk->channel, "email") == 0;
    push = chk->channel != NULL && strcmp(chk->channel, "push") == 0;

    if (!webhook && !email && !push) {
        ntf_check_err(chk, 422, "/channel",
                     "channel must be \"webhook\", \"email\" or \"push\"");
        return -1;
    }

    v = json_object_get(chk->request, "type");
    chk->type = json_string_value(v);

    if (v == NULL && !email) {
        ntf_check_err(chk, 422, "/type", "type is required for %s",
                     chk->channel);
        return -1;
    }

    if (v != NULL
        && (chk->type == NULL
            || !ntf_check_name(chk->type, "._-", NTF_TYPE_MAX)
            || strpbrk(chk->type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL))
    {
        ntf_check_err(chk, 422, "/type",
                     "type must be 1 to 128 of [a-z0-9._-]");
        return -1;
    }

    if (chk->type == NULL) {
        chk->type = "";
    }

    template = json_object_get(chk->request, "template");
    body = json_object_get(chk->request, "body");

    if ((template == NULL) == (body == NULL)) {
        ntf_check_err(chk, 422, template != NULL ? "/body" : "",
                     "exactly one of template and body is required");
        return -1;
    }

    if (template != NULL
        && (!json_is_string(template)
            || !ntf_check_name(json_string_value(template), "._-",
                             NTF_NAME_MAX)))
    {
        ntf_check_err(chk, 422, "/template",
                     "template must name a template: 1 to 128 of "
                     "[A-Za-z0-9._-]");
        return -1;
    }

    if (body != NULL && ntf_check_body(chk, body) != 0) {
        return -1;
    }

    v = json_object_get(chk->request, "data");
    if (v != NULL && !json_is_object(v)) {
        ntf_check_err(chk, 422, "/data", "data must be an object");
        return -1;
    }

    if (ntf_check_recipients(chk,
                                 json_object_get(chk->request, "recipients"))
        != 0)
    {
        return -1;
    }

    return ntf_check_attachments(chk,
                                     json_object_get(chk->request,
                                                     "attachments"));
}


static int
ntf_check_body(ntf_check_t *chk, json_t *body)
{
    json_t      *v;
    const char  *key;

    if (!json_is_object(body)) {
        ntf_check_err(chk, 422, "/body", "body must be an object");
        return -1;
    }

    if (strcmp(chk->channel, "email") != 0) {
        json_object_foreach(body, key, v) {
            if (strcmp(key, "data") != 0) {
                ntf_check_err(chk, 422, "/body",
                             "unknown member \"%.64s\" (only \"data\")",
                             key);
                return -1;
            }
        }

        if (json_object_get(body, "data") == NULL) {
            ntf_check_err(chk, 422, "/body/data", "data is required");
            return -1;
        }

        return 0;
    }

    json_object_foreach(body, key, v) {
        if (strcmp(key, "subject") != 0 && strcmp(key, "text") != 0
            && strcmp(key, "html") != 0)
        {
            ntf_check_err(chk, 422, "/body", "unknown member \"%.64s\"",
                         key);
            return -1;

        }

        if (!json_is_string(v)) {
            ntf_check_err(chk, 422, "", "must be a string");
            snprintf(chk->res->pointer, NTF_PTR_MAX,
                     "/body/%s", key);
            return -1;
        }
    }

    if (json_object_get(body, "subject") == NULL) {
        ntf_check_err(chk, 422, "/body/subject", "subject is required");
        return -1;
    }

    if (json_object_get(body, "text") == NULL
        && json_object_get(body, "html") == NULL)
    {
        ntf_check_err(chk, 422, "/body", "text or html is required");
        return -1;
    }

    return 0;
}


static int
ntf_check_recipients(ntf_check_t *chk, json_t *r)
{
    size_t       i, k;
    json_t      *v, *m;
    const char  *s, *key;

    if (r == NULL) {
        if (strcmp(chk->channel, "webhook") == 0) {
            return 0;
        }

        ntf_check_err(chk, 422, "/recipients", "recipients are required");
        return -1;
    }

    if (!json_is_array(r) || json_array_size(r) == 0
        || json_array_size(r) > NTF_RECIPIENTS_MAX)
    {
        ntf_check_err(chk, 422, "/recipients",
                     "recipients must be an array of 1 to %d",
                     NTF_RECIPIENTS_MAX);
        return -1;
    }

    json_array_foreach(r, i, v) {
        s = json_string_value(v);

        if (strcmp(chk->channel, "email") == 0) {
            if (json_is_object(v)) {
                json_object_foreach(v, key, m) {
                    if ((strcmp(key, "email") != 0
                         && strcmp(key, "name") != 0)
                        || !json_is_string(m))
                    {
                        s = NULL;
                        break;
                    }

                    s = "";
                }

                if (json_object_get(v, "email") == NULL) {
                    s = NULL;
                }
            }

            if (s == NULL) {
                ntf_check_err(chk, 422, "", "a recipient is an address or "
                             "{\"email\", \"name\"}");
                goto pointer;
            }

            continue;
        }

        if (s == NULL
            || !ntf_check_name(s, strcmp(chk->channel, "push") == 0
                                ? "_.:-" : "_-", NTF_NAME_MAX))
        {
            ntf_check_err(chk, 422, "", strcmp(chk->channel, "push") == 0
                         ? "a push channel is 1 to 128 of [A-Za-z0-9_.:-]"
                         : "a recipient is a subscription id");
            goto pointer;
        }

        for (k = 0; k < i; k++) {
            if (json_equal(json_array_get(r, k), v)) {
                ntf_check_err(chk, 422, "", "a recipient named twice");
                goto pointer;
            }
        }
    }

    /* a well-formed list: then whose channels (docs/push.md) */

    for (i = 0; !chk->admin && strcmp(chk->channel, "push") == 0
                && i < json_array_size(r); i++)
    {
        s = json_string_value(json_array_get(r, i));

        if (strncmp(s, "c.", 2) != 0 || strcmp(s + 2, chk->owner) != 0) {
            ntf_check_err(chk, 403, "", "only an admin may push to a "
                         "channel other than c.<owner>");
            goto pointer;
        }
    }

    return 0;

pointer:

    snprintf(chk->res->pointer, NTF_PTR_MAX, "/recipients/%zu",
             i);
    return -1;
}


static int
ntf_check_attachments(ntf_check_t *chk, json_t *a)
{
    size_t       i;
    json_t      *v, *m;
    const char  *key;

    if (a == NULL) {
        return 0;
    }

    if (strcmp(chk->channel, "email") != 0) {
        ntf_check_err(chk, 422, "/attachments",
                     "attachments are for email only");
        return -1;
    }

    if (!json_is_array(a) || json_array_size(a) > NTF_ATTACHMENTS_MAX) {
        ntf_check_err(chk, 422, "/attachments",
                     "attachments must be an array of at most %d",
                     NTF_ATTACHMENTS_MAX);
        return -1;
    }

    json_array_foreach(a, i, v) {
        if (!json_is_object(v)
            || !json_is_string(json_object_get(v, "filename"))
            || !json_is_string(json_object_get(v, "content_type"))
            || !json_is_string(json_object_get(v, "content")))
        {
            goto bad;
        }

        json_object_foreach(v, key, m) {
            if (strcmp(key, "filename") != 0
                && strcmp(key, "content_type") != 0
                && strcmp(key, "content") != 0)
            {
                goto bad;
            }
        }
    }

    return 0;

bad:

    ntf_check_err(chk, 422, "", "an attachment is {\"filename\", "
                 "\"content_type\", \"content\" (base64)}");
    snprintf(chk->res->pointer, NTF_PTR_MAX, "/attachments/%zu",
             i);
    return -1;
}


/* 1 when s is 1 to max of [A-Za-z0-9] and the bytes of extra */

static int
ntf_check_name(const char *s, const char *extra, size_t max)
{
    size_t  i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || strchr(extra, s[i]) != NULL))
        {
            return 0;
        }
    }

    return i > 0 && i <= max;
}


/* a refusal: -1 */

static int
ntf_check_err(ntf_check_t *chk, int status, const char *pointer,
    const char *fmt, ...)
{
    va_list  args;

    chk->res->status = status;
    snprintf(chk->res->pointer, NTF_PTR_MAX, "%s", pointer);

    va_start(args, fmt);
    vsnprintf(chk->res->error, NTF_ERR_MAX, fmt, args);
    va_end(args);

    return -1;
}


/* 1 when owner is a string of 1 to 255 bytes without a control byte */

int
ntf_check_owner(json_t *owner)
{
    size_t                i, len;
    const unsigned char  *s;

    s = (const unsigned char *) json_string_value(owner);
    len = json_string_length(owner);

    if (s == NULL || len == 0 || len > NTF_OWNER_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}
