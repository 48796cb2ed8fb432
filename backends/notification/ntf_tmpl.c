
/*
 * Copyright (C) Tollgate
 *
 * A notification's content (ntf.h, ntf_tmpl_render()): from its
 * "template", an entity of the metadata service's built-in templates
 * type, or from its "body" as given; rendered at accept, so that a bad
 * template or data is the caller's 4xx and what is stored is what goes
 * out (docs/notification-templates.md).
 *
 * The entity is read as every follower of the metadata service reads
 * one: the hash gw:md:e:templates:<name>, whose "doc" is its JSON with
 * its meta members, with one HGET on the kit's connection (a deleted
 * entity has no hash).  Nothing is cached: a template changed through
 * the admin API is used by the next notification, and the read is one
 * round trip beside the accept script's.
 *
 * Each part is compiled again (the entity was checked when stored, but
 * by whichever version of lib/template the metadata service runs) and
 * rendered in its context with the request's "data" as the root scope:
 * the subject as one line of text, the text as text, the html as html,
 * the body as JSON, parsed into the payload's "data".  A body given
 * as is gets the same checks a rendered one would: an email's subject
 * one line without control characters, its text and html without
 * control characters but \t, \n and \r before \n.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template.h"
#include "ntf.h"


#define NTF_TMPL_NAME_MAX   64
#define NTF_TMPL_SUBJECT_MAX  998       /* RFC 5322's line, at most */


typedef struct {
    ntf_tmpl_done_pt     done;
    void                *data;
    json_t              *request;
    json_t              *rendered;
    int                  status;
    int                  email;
    char                 channel[16];
    char                 name[NTF_TMPL_NAME_MAX + 1];
    char                 pointer[GW_TMPL_POINTER_MAX];
    char                 err[512];
} ntf_tmpl_ctx_t;


static int ntf_tmpl_body(ntf_tmpl_ctx_t *ctx, json_t *body);
static int ntf_tmpl_email_body(ntf_tmpl_ctx_t *ctx, json_t *body);
static int ntf_tmpl_text_ok(json_t *v, int one_line);
static void ntf_tmpl_member(ntf_tmpl_ctx_t *ctx, const char *key);
static void ntf_tmpl_read(redisAsyncContext *ac, void *r, void *data);
static void ntf_tmpl_apply(ntf_tmpl_ctx_t *ctx, const char *text,
    size_t len);
static int ntf_tmpl_part(ntf_tmpl_ctx_t *ctx, json_t *doc,
    const char *part, gw_tmpl_context_e context, unsigned one_line,
    json_t *data);
static int ntf_tmpl_fail(ntf_tmpl_ctx_t *ctx, int status,
    const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ntf_tmpl_defer(ntf_tmpl_ctx_t *ctx);
static void ntf_tmpl_deferred(evutil_socket_t fd, short what, void *data);
static void ntf_tmpl_finish(ntf_tmpl_ctx_t *ctx);


int
ntf_tmpl_render(const char *channel, json_t *request, ntf_tmpl_done_pt done,
    void *data)
{
    size_t               i, len;
    json_t              *tmpl, *body, *d;
    const char          *name;
    ntf_tmpl_ctx_t      *ctx;
    redisAsyncContext   *ac;

    ctx = calloc(1, sizeof(ntf_tmpl_ctx_t));
    if (ctx == NULL) {
        return -1;
    }

    ctx->done = done;
    ctx->data = data;
    ctx->request = json_incref(request);
    snprintf(ctx->channel, sizeof(ctx->channel), "%s",
             channel != NULL ? channel : "");
    ctx->email = (strcmp(ctx->channel, "email") == 0);

    tmpl = json_object_get(request, "template");
    body = json_object_get(request, "body");
    d = json_object_get(request, "data");

    if (!ctx->email && strcmp(ctx->channel, "webhook") != 0
        && strcmp(ctx->channel, "push") != 0)
    {
        ntf_tmpl_fail(ctx, 422, "/channel", "no such channel");

    } else if ((tmpl == NULL) == (body == NULL)) {
        ntf_tmpl_fail(ctx, 422, tmpl != NULL ? "/body" : "/template",
                      "exactly one of template and body is needed");

    } else if (d != NULL && !json_is_object(d)) {
        ntf_tmpl_fail(ctx, 422, "/data", "data must be an object");

    } else if (body != NULL) {
        ntf_tmpl_body(ctx, body);

    } else {
        name = json_string_value(tmpl);
        len = json_is_string(tmpl) ? json_string_length(tmpl) : 0;

        for (i = 0; i < len; i++) {
            if (!((name[i] >= 'a' && name[i] <= 'z')
                  || (name[i] >= '0' && name[i] <= '9')
                  || (i > 0 && (name[i] == '_' || name[i] == '.'
                                || name[i] == '-'))))
            {
                break;
            }
        }

        if (len == 0 || len > NTF_TMPL_NAME_MAX || i < len) {
            ntf_tmpl_fail(ctx, 422, "/template", "a template's name is 1 "
                          "to 64 bytes of [a-z0-9_.-], the first a letter "
                          "or a digit");

        } else {
            memcpy(ctx->name, name, len + 1);

            ac = gw_svc_redis(ntf.svc);

            if (ac != NULL
                && redisAsyncCommand(ac, ntf_tmpl_read, ctx,
                                     "HGET gw:md:e:templates:%s doc",
                                     ctx->name)
                   == REDIS_OK)
            {
                return 0;
            }

            ntf_tmpl_fail(ctx, 503, "", "Redis is not available");
        }
    }

    if (ntf_tmpl_defer(ctx) != 0) {
        json_decref(ctx->request);
        json_decref(ctx->rendered);
        free(ctx);
        return -1;
    }

    return 0;
}


/*
 * A body given as is: webhook and push {"data": any}, email
 * {"subject", "text", "html"}.  The result or the failure in ctx; 0
 * or -1.
 */

static int
ntf_tmpl_body(ntf_tmpl_ctx_t *ctx, json_t *body)
{
    json_t      *v;
    const char  *key;

    if (!json_is_object(body)) {
        return ntf_tmpl_fail(ctx, 422, "/body", "body must be an object");
    }

    if (ctx->email) {
        return ntf_tmpl_email_body(ctx, body);
    }

    json_object_foreach(body, key, v) {
        if (strcmp(key, "data") != 0) {
            ntf_tmpl_fail(ctx, 422, "", "a %s body has only \"data\"",
                          ctx->channel);
            ntf_tmpl_member(ctx, key);
            return -1;
        }
    }

    v = json_object_get(body, "data");
    if (v == NULL) {
        return ntf_tmpl_fail(ctx, 422, "/body/data", "a %s body needs "
                             "\"data\"", ctx->channel);
    }

    ctx->rendered = json_pack("{s:O}", "data", v);

    return (ctx->rendered != NULL) ? 0
           : ntf_tmpl_fail(ctx, 503, "", "out of memory");
}


static int
ntf_tmpl_email_body(ntf_tmpl_ctx_t *ctx, json_t *body)
{
    json_t      *v;
    const char  *key;

    json_object_foreach(body, key, v) {
        if (strcmp(key, "subject") != 0 && strcmp(key, "text") != 0
            && strcmp(key, "html") != 0)
        {
            ntf_tmpl_fail(ctx, 422, "", "an email body has only subject, "
                          "text and html");
            ntf_tmpl_member(ctx, key);
            return -1;
        }

        if (!json_is_string(v)) {
            ntf_tmpl_fail(ctx, 422, "", "%s must be a string", key);
            ntf_tmpl_member(ctx, key);
            return -1;
        }

        if (!ntf_tmpl_text_ok(v, strcmp(key, "subject") == 0)) {
            ntf_tmpl_fail(ctx, 422, "", "%s holds a control character "
                          "or is too long", key);
            ntf_tmpl_member(ctx, key);
            return -1;
        }
    }

    if (json_object_get(body, "subject") == NULL) {
        return ntf_tmpl_fail(ctx, 422, "/body/subject", "an email needs a "
                             "subject");
    }

    if (json_object_get(body, "text") == NULL
        && json_object_get(body, "html") == NULL)
    {
        return ntf_tmpl_fail(ctx, 422, "/body/text", "an email needs a text "
                             "or an html part (or both)");
    }

    ctx->rendered = json_deep_copy(body);

    return (ctx->rendered != NULL) ? 0
           : ntf_tmpl_fail(ctx, 503, "", "out of memory");
}


/* ctx's pointer: /body/<key>, the key escaped (RFC 6901), truncated */

static void
ntf_tmpl_member(ntf_tmpl_ctx_t *ctx, const char *key)
{
    char  *p, *end;

    p = ctx->pointer;
    end = ctx->pointer + sizeof(ctx->pointer) - 3;
    p += snprintf(p, end - p, "/body/");

    for ( /* void */ ; *key != '\0' && p < end; key++) {
        if (*key == '~' || *key == '/') {
            *p++ = '~';
            *p++ = (*key == '~') ? '0' : '1';

        } else {
            *p++ = *key;
        }
    }

    *p = '\0';
}


/*
 * 1 when the string v holds no NUL nor control character (C0, DEL,
 * C1): one_line allows none and at most NTF_TMPL_SUBJECT_MAX bytes;
 * otherwise \t, \n and \r right before \n are allowed.
 */

static int
ntf_tmpl_text_ok(json_t *v, int one_line)
{
    size_t                i, len;
    const unsigned char  *p;

    p = (const unsigned char *) json_string_value(v);
    len = json_string_length(v);

    if (one_line && len > NTF_TMPL_SUBJECT_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] != 0x7f
            && !(p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f))
        {
            continue;
        }

        if (one_line) {
            return 0;
        }

        if (p[i] == '\t' || p[i] == '\n'
            || (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* the entity's doc, as HGET answered */

static void
ntf_tmpl_read(redisAsyncContext *ac, void *r, void *data)
{
    redisReply      *reply;
    ntf_tmpl_ctx_t  *ctx;

    reply = r;
    ctx = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "cannot read a template",
                   json_pack("{s:s, s:o}", "template", ctx->name,
                             "error", gw_svc_json_string(
                                 reply != NULL ? reply->str : "no reply")));
        ntf_tmpl_fail(ctx, 503, "", "the template cannot be read now");

    } else if (reply->type != REDIS_REPLY_STRING) {
        ntf_tmpl_fail(ctx, 404, "/template", "no template named \"%s\"",
                      ctx->name);

    } else {
        ntf_tmpl_apply(ctx, reply->str, reply->len);
    }

    ntf_tmpl_finish(ctx);
}


/* the entity's doc (text), rendered for ctx's request */

static void
ntf_tmpl_apply(ntf_tmpl_ctx_t *ctx, const char *text, size_t len)
{
    char          *out;
    size_t         n;
    json_t        *doc, *data, *body;
    const char    *channel;
    json_error_t   jerr;

    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    channel = json_string_value(json_object_get(doc, "channel"));

    if (channel == NULL) {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL, "a stored template is not "
                   "a template", json_pack("{s:s}", "template", ctx->name));
        ntf_tmpl_fail(ctx, 503, "", "the template cannot be read now");
        json_decref(doc);
        return;
    }

    if (strcmp(channel, ctx->channel) != 0) {
        ntf_tmpl_fail(ctx, 422, "/template", "the template \"%s\" is for "
                      "the %s channel, not %s", ctx->name, channel,
                      ctx->channel);
        json_decref(doc);
        return;
    }

    data = json_object_get(ctx->request, "data");
    data = (data != NULL) ? json_incref(data) : json_object();

    ctx->rendered = json_object();

    if (data == NULL || ctx->rendered == NULL) {
        ntf_tmpl_fail(ctx, 503, "", "out of memory");
        goto done;
    }

    if (ctx->email) {
        if (ntf_tmpl_part(ctx, doc, "subject", GW_TMPL_TEXT, 1, data) != 0
            || ntf_tmpl_part(ctx, doc, "text", GW_TMPL_TEXT, 0, data) != 0
            || ntf_tmpl_part(ctx, doc, "html", GW_TMPL_HTML, 0, data) != 0)
        {
            goto done;
        }

        if (json_object_get(ctx->rendered, "subject") == NULL
            || (json_object_get(ctx->rendered, "text") == NULL
                && json_object_get(ctx->rendered, "html") == NULL))
        {
            ntf_tmpl_fail(ctx, 422, "/template", "the template \"%s\" has "
                          "no subject, or neither text nor html",
                          ctx->name);
        }

        goto done;
    }

    if (ntf_tmpl_part(ctx, doc, "body", GW_TMPL_JSON, 0, data) != 0) {
        goto done;
    }

    body = json_object_get(ctx->rendered, "body");

    if (body == NULL) {
        ntf_tmpl_fail(ctx, 422, "/template", "the template \"%s\" has no "
                      "body", ctx->name);
        goto done;
    }

    /* the json context checked that the output parses */

    out = (char *) json_string_value(body);
    n = json_string_length(body);
    body = json_loadb(out, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                      &jerr);

    json_decref(ctx->rendered);
    ctx->rendered = (body != NULL) ? json_pack("{s:o}", "data", body) : NULL;

    if (ctx->rendered == NULL) {
        ntf_tmpl_fail(ctx, 503, "", "out of memory");
    }

done:

    json_decref(data);
    json_decref(doc);
}


/*
 * One part of the template doc, when it has it, rendered into
 * ctx->rendered under its name.  0, or -1 with the failure in ctx.
 */

static int
ntf_tmpl_part(ntf_tmpl_ctx_t *ctx, json_t *doc, const char *part,
    gw_tmpl_context_e context, unsigned one_line, json_t *data)
{
    int              rc;
    char            *out;
    size_t           len;
    json_t          *v;
    gw_tmpl_t       *t;
    gw_tmpl_err_t    err;
    gw_tmpl_opts_t   opts;

    v = json_object_get(doc, part);
    if (!json_is_string(v)) {
        return 0;
    }

    memset(&opts, 0, sizeof(opts));
    opts.context = context;
    opts.one_line = one_line;
    opts.pointer_root = "/data";

    t = gw_tmpl_compile(json_string_value(v), json_string_length(v), &opts,
                        &err);
    if (t == NULL) {
        return ntf_tmpl_fail(ctx, 422, "/template", "the template \"%s\" "
                             "does not compile: its %s at byte %zu: %s",
                             ctx->name, part, err.offset, err.message);
    }

    rc = gw_tmpl_render(t, data, &out, &len, &err);
    gw_tmpl_free(t);

    if (rc != 0) {
        if (strcmp(err.message, "out of memory") == 0) {
            return ntf_tmpl_fail(ctx, 503, "", "out of memory");
        }

        return ntf_tmpl_fail(ctx, 422, err.pointer[0] != '\0' ? err.pointer
                                                              : "/template",
                             "%s (the template \"%s\", its %s at byte %zu)",
                             err.message, ctx->name, part, err.offset);
    }

    rc = json_object_set_new(ctx->rendered, part, json_stringn(out, len));
    free(out);

    return (rc == 0) ? 0 : ntf_tmpl_fail(ctx, 503, "", "out of memory");
}


static int
ntf_tmpl_fail(ntf_tmpl_ctx_t *ctx, int status, const char *pointer,
    const char *fmt, ...)
{
    va_list  args;

    ctx->status = status;
    snprintf(ctx->pointer, sizeof(ctx->pointer), "%s", pointer);

    va_start(args, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, args);
    va_end(args);

    json_decref(ctx->rendered);
    ctx->rendered = NULL;

    return -1;
}


/* done on the loop's next turn, never inside ntf_tmpl_render(): 0, -1 */

static int
ntf_tmpl_defer(ntf_tmpl_ctx_t *ctx)
{
    struct timeval  tv;

    tv.tv_sec = 0;
    tv.tv_usec = 0;

    return event_base_once(gw_svc_base(ntf.svc), -1, EV_TIMEOUT,
                           ntf_tmpl_deferred, ctx, &tv);
}


static void
ntf_tmpl_deferred(evutil_socket_t fd, short what, void *data)
{
    ntf_tmpl_finish(data);
}


/* calls done with the result (the caller's reference) and frees ctx */

static void
ntf_tmpl_finish(ntf_tmpl_ctx_t *ctx)
{
    json_t  *rendered;

    rendered = ctx->rendered;

    if (rendered == NULL && ctx->status == 0) {
        ctx->status = 503;
        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
    }

    ctx->done(rendered, rendered != NULL ? 0 : ctx->status,
              rendered != NULL ? NULL : ctx->pointer,
              rendered != NULL ? NULL : ctx->err, ctx->data);

    json_decref(rendered);
    json_decref(ctx->request);
    free(ctx);
}
