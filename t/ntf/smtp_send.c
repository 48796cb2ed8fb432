
/*
 * Copyright (C) Tollgate
 *
 * The email channel without the rest of the service, for
 * t/backends/08e-notification-email.t: the configuration comes from the
 * service's own TOLLGATE_NOTIFICATION_SMTP_* variables, the payload from
 * a JSON file.
 *
 *     smtp_send config                 ntf_smtp_configure(): exit 0 or 2
 *     smtp_send check FILE             ntf_mime_check(): "ok" or
 *                                      "refused POINTER: reason", exit 1
 *     smtp_send build FILE ID          the message for delivery ID on
 *                                      stdout
 *     smtp_send props N SEED DIR       N random payloads (control bytes,
 *                                      UTF-8, quotes, "=?", long lines,
 *                                      CR and LF, binary attachments):
 *                                      each accepted one built and its
 *                                      bytes checked (below); the first
 *                                      40 written as DIR/NNN.eml beside
 *                                      DIR/NNN.json (the payload) for
 *                                      Python to read back
 *     smtp_send send FILE ID N [DIR]   N deliveries ID.0 .. ID.N-1 at
 *                                      once through the channel on a
 *                                      libevent loop; one JSON line each
 *                                      {"id","result","status","error"};
 *                                      DIR: each one's message as built,
 *                                      in DIR/<id>.eml
 *
 * Messages are built with a fixed date (NTF_TEST_DATE, seconds; default
 * 1700000000) and boundary seed, so the test can compare them byte by
 * byte with what the server received.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ntf_mime.h"


static const gw_svc_key_t  t_keys[] = {
    { "smtp_url", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_tls", GW_SVC_STR, "required", 0, 0, "off|try|required" },
    { "smtp_ca", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_user", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_password_file", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_from", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_timeout", GW_SVC_MSEC, "30s", 100, 600000, NULL },
    { "smtp_concurrency", GW_SVC_INT, "4", 1, 1000, NULL },
    { "smtp_threads", GW_SVC_INT, "4", 1, 64, NULL },
    { "email_max", GW_SVC_SIZE, "10m", 1024, 100 * 1024 * 1024, NULL },
    { NULL, 0, NULL, 0, 0, NULL }
};


ntf_t  ntf;

static unsigned          t_left;
static ntf_mime_ctx_t    t_fixed;


static void
t_print(ntf_delivery_t *d, const ntf_outcome_t *out)
{
    static const char  *names[] = { "ok", "retry", "fail", "gone" };
    json_t             *j;
    char               *s;

    j = json_pack("{s:s, s:s, s:i, s:s}", "id", d->id,
                  "result", names[out->result], "status", out->status,
                  "error", out->error);
    s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(j);
}


static void
t_done(ntf_delivery_t *d, const ntf_outcome_t *out)
{
    t_print(d, out);

    if (--t_left == 0) {
        event_base_loopbreak(ntf.base);
    }
}


/* the message the channel builds for id, written to path (or stdout) */
static int
t_build(json_t *payload, const char *id, const char *path)
{
    FILE            *f;
    char             buf[8192], err[NTF_ERR_MAX];
    size_t           n;
    ntf_mime_ctx_t   ctx;
    ntf_mime_msg_t  *msg;

    ntf_smtp_ctx(&ctx, id);

    if (ntf_mime_build(payload, &ctx, &msg, err, sizeof(err)) != 0) {
        printf("refused: %s\n", err);
        return 1;
    }

    f = (path != NULL) ? fopen(path, "w") : stdout;
    if (f == NULL) {
        ntf_mime_free(msg);
        return 1;
    }

    while ((n = ntf_mime_read(msg, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, n, f);
    }

    if (path != NULL) {
        fclose(f);
    }

    ntf_mime_free(msg);

    return 0;
}


static int
t_send(json_t *payload, const char *id, unsigned n, const char *dir)
{
    char             path[1024];
    unsigned         i;
    ntf_outcome_t    out;
    ntf_delivery_t  *ds;

    ntf.base = event_base_new();

    /* the service's gw_svc_out_configure() does this before the loop */
    if (ntf.base == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        return 1;
    }

    ds = calloc(n, sizeof(ntf_delivery_t));
    if (ds == NULL) {
        return 1;
    }

    t_left = n;

    for (i = 0; i < n; i++) {
        snprintf(ds[i].id, sizeof(ds[i].id), "%s.%u", id, i);
        snprintf(ds[i].nid, sizeof(ds[i].nid), "%s", id);
        ds[i].channel = "email";
        ds[i].payload = payload;
        ds[i].attempt = 1;
        ds[i].done = t_done;

        if (dir != NULL) {
            snprintf(path, sizeof(path), "%s/%s.eml", dir, ds[i].id);
            /* a payload the builder refuses: the channel must too */
            (void) t_build(payload, ds[i].id, path);
        }
    }

    for (i = 0; i < n; i++) {
        if (ntf_email_channel.send(&ds[i], &out) != 0) {
            t_print(&ds[i], &out);
            t_left--;
        }
    }

    if (t_left != 0) {
        event_base_dispatch(ntf.base);
    }

    ntf_smtp_pool_stop();
    curl_global_cleanup();
    event_base_free(ntf.base);
    free(ds);

    return 0;
}


static unsigned long long  t_rng;


static unsigned
t_rand(unsigned n)
{
    t_rng ^= t_rng << 13;
    t_rng ^= t_rng >> 7;
    t_rng ^= t_rng << 17;

    return (unsigned) (t_rng % n);
}


/*
 * A random string of up to max pieces from a hostile alphabet; control
 * bytes only when ctl (each field gets them now and then, so that both
 * the refusals and the building are exercised).
 */
static json_t *
t_rand_str(unsigned max, int ctl)
{
    char           buf[4096];
    size_t         len;
    unsigned       i, n, k;
    const char    *p;

    static const char  *pieces[] = {
        "a", "Z", "0", " ", "  ", ".", ",", "\"", "\\", "=", "=?", "?=",
        "_", "<", ">", "@", ":", ";", "(", ")", "'", "-", "\t", "\r", "\n",
        "\r\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x80\x94", "\xf0\x9f\x98\x80",
        "=?UTF-8?B?", "Bcc: x@evil.test", "--=_tg0_", "%", "/", "~"
    };

    n = t_rand(max + 1);
    len = 0;

    for (i = 0; i < n; i++) {
        k = t_rand(sizeof(pieces) / sizeof(pieces[0]));

        /* mostly plain letters, so that some strings pass the checks */
        p = (t_rand(3) != 0) ? "abcdefghij" + t_rand(10) : pieces[k];
        if (p[0] != '\0' && p[1] != '\0' && t_rand(3) != 0) {
            p = pieces[k];
        }

        if (!ctl && (unsigned char) p[0] < 0x20) {
            p = "x";
        }

        if (!ctl && p[0] == 0x7f) {
            p = "y";
        }

        if (len + strlen(p) >= sizeof(buf)) {
            break;
        }

        memcpy(buf + len, p, strlen(p));
        len += strlen(p);
    }

    return json_stringn(buf, len);
}


static json_t *
t_rand_payload(void)
{
    int             n;
    char            addr[64];
    json_t         *p, *to, *atts, *r;
    unsigned        i, k, len;
    unsigned char   bin[3000], enc[4100];

    p = json_object();
    to = json_array();

    for (i = 0, k = 1 + t_rand(3); i < k; i++) {
        snprintf(addr, sizeof(addr), "%s%u@%s",
                 t_rand(20) == 0 ? "bad..dot" : "user", t_rand(1000),
                 t_rand(20) == 0 ? "-x.test" : "example.com");

        if (t_rand(2)) {
            json_array_append_new(to, json_string(addr));

        } else {
            r = json_pack("{s:s}", "email", addr);
            json_object_set_new(r, "name", t_rand_str(30, t_rand(8) == 0));
            json_array_append_new(to, r);
        }
    }

    json_object_set_new(p, "to", to);

    if (t_rand(5) != 0) {
        json_object_set_new(p, "subject", t_rand_str(t_rand(4) ? 20 : 300,
                                                   t_rand(8) == 0));
    }

    k = t_rand(3);

    if (k != 1) {
        json_object_set_new(p, "text", t_rand_str(t_rand(4) ? 50 : 600, 1));
    }

    if (k != 0) {
        json_object_set_new(p, "html", t_rand_str(100, 1));
    }

    if (t_rand(2)) {
        atts = json_array();

        for (i = 0, k = 1 + t_rand(2); i < k; i++) {
            len = t_rand(sizeof(bin));
            for (n = 0; n < (int) len; n++) {
                bin[n] = (unsigned char) t_rand(256);
            }

            n = EVP_EncodeBlock(enc, bin, (int) len);
            r = json_object();
            json_object_set_new(r, "filename", t_rand_str(12, t_rand(8) == 0));
            json_object_set_new(r, "content", json_stringn((char *) enc, n));

            if (t_rand(2)) {
                json_object_set_new(r, "content_type",
                                    json_string(t_rand(5) ? "image/png"
                                                          : "text/x; a=b"));
            }

            json_array_append_new(atts, r);
        }

        json_object_set_new(p, "attachments", atts);
    }

    return p;
}


/*
 * What every built message must be: 7-bit, CRLF only, lines of at most
 * 998, and a header section of known fields and folded continuations.
 * NULL, or what is wrong.
 */
static const char *
t_props_bad(const char *m, size_t len)
{
    size_t       i, line;
    const char  *p, *eol;
    int          head;

    line = 0;
    head = 1;

    static const char  *fields[] = {
        "Date: ", "Message-ID: ", "From: ", "To: ", "Subject: ",
        "MIME-Version: ", "Auto-Submitted: ", "Content-Type: ",
        "Content-Transfer-Encoding: ", NULL
    };

    for (i = 0; i < len; i++) {
        if ((unsigned char) m[i] >= 0x80
            || (m[i] < 0x20 && m[i] != '\r' && m[i] != '\n' && m[i] != '\t'))
        {
            return "a byte not 7-bit text";
        }

        if (m[i] == '\r' && (i + 1 == len || m[i + 1] != '\n')) {
            return "a bare CR";
        }

        if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) {
            return "a bare LF";
        }

        if (m[i] == '\n') {
            line = 0;

        } else if (m[i] != '\r' && ++line > 998) {
            return "a line over 998";
        }
    }

    if (len < 2 || m[len - 1] != '\n') {
        return "no final CRLF";
    }

    for (p = m; head && p < m + len; p = eol + 2) {
        eol = strstr(p, "\r\n");

        if (eol == p) {
            head = 0;
            break;
        }

        if (p[0] != ' ') {
            for (i = 0; fields[i] != NULL; i++) {
                if (strncmp(p, fields[i], strlen(fields[i])) == 0) {
                    break;
                }
            }

            if (fields[i] == NULL) {
                return "an unknown header line";
            }
        }
    }

    return head ? "no header end" : NULL;
}


static int
t_props(unsigned n, unsigned long long seed, const char *dir)
{
    FILE            *f;
    char             path[1024], err[NTF_ERR_MAX], ptr[64], *m;
    size_t           got, size;
    unsigned         i, ok, refused, bad, kept;
    json_t          *p;
    const char      *why;
    ntf_mime_ctx_t   ctx;
    ntf_mime_msg_t  *msg;

    t_rng = seed | 1;
    ok = refused = bad = kept = 0;

    for (i = 0; i < n; i++) {
        p = t_rand_payload();

        if (ntf_mime_check(p, ptr, sizeof(ptr), err, sizeof(err)) != 0) {
            refused++;
            json_decref(p);
            continue;
        }

        ntf_smtp_ctx(&ctx, "ntf_props.0");

        if (ntf_mime_build(p, &ctx, &msg, err, sizeof(err)) != 0) {
            printf("not built: %s\n", err);
            bad++;
            json_decref(p);
            continue;
        }

        size = ntf_mime_size(msg);
        m = malloc(size + 1);
        if (m == NULL) {
            return 1;
        }

        got = ntf_mime_read(msg, m, size + 1);
        m[got] = '\0';

        why = (got != size) ? "the size is not what was read"
                            : t_props_bad(m, got);

        if (why != NULL) {
            printf("payload %u: %s\n", i, why);
            bad++;

        } else {
            ok++;
        }

        if (kept < 40) {
            snprintf(path, sizeof(path), "%s/%03u.eml", dir, kept);
            f = fopen(path, "w");
            if (f != NULL) {
                fwrite(m, 1, got, f);
                fclose(f);
            }

            snprintf(path, sizeof(path), "%s/%03u.json", dir, kept);
            json_dump_file(p, path, JSON_COMPACT);
            kept++;
        }

        free(m);
        ntf_mime_free(msg);
        json_decref(p);
    }

    printf("props built=%u refused=%u bad=%u\n", ok, refused, bad);

    return bad != 0;
}


int
main(int argc, char **argv)
{
    int            rc;
    char           pointer[64], err[NTF_ERR_MAX];
    unsigned       i;
    json_t        *payload;
    const char    *date;
    json_error_t   jerr;

    if (argc < 2) {
        fprintf(stderr, "usage: smtp_send config|check|build|send ...\n");
        return 2;
    }

    ntf.svc = gw_svc_create("notification", t_keys);

    if (ntf.svc == NULL || gw_svc_configure(ntf.svc, NULL) != 0) {
        fprintf(stderr, "configuration: %s\n",
                ntf.svc ? gw_svc_error(ntf.svc) : "no memory");
        return 2;
    }

    if (ntf_smtp_configure(ntf.svc) != 0) {
        return 2;
    }

    if (strcmp(argv[1], "config") == 0) {
        printf("ok\n");
        return 0;
    }

    if (argc < 3) {
        return 2;
    }

    date = getenv("NTF_TEST_DATE");
    t_fixed.date = (date != NULL) ? atoll(date) : 1700000000;

    for (i = 0; i < NTF_MIME_SEED; i++) {
        t_fixed.seed[i] = (unsigned char) (0x10 + i * 17);
    }

    ntf_smtp_fixed = &t_fixed;

    if (strcmp(argv[1], "props") == 0 && argc >= 5) {
        return t_props((unsigned) atoi(argv[2]),
                       strtoull(argv[3], NULL, 10), argv[4]);
    }

    payload = json_load_file(argv[2], JSON_ALLOW_NUL, &jerr);
    if (payload == NULL) {
        fprintf(stderr, "%s: %s\n", argv[2], jerr.text);
        return 2;
    }

    if (strcmp(argv[1], "check") == 0) {
        if (ntf_mime_check(payload, pointer, sizeof(pointer), err,
                           sizeof(err)) == 0)
        {
            printf("ok\n");
            rc = 0;

        } else {
            printf("refused %s: %s\n", pointer, err);
            rc = 1;
        }

    } else if (strcmp(argv[1], "build") == 0 && argc >= 4) {
        rc = t_build(payload, argv[3], NULL);

    } else if (strcmp(argv[1], "send") == 0 && argc >= 5) {
        rc = t_send(payload, argv[3], (unsigned) atoi(argv[4]),
                    argc >= 6 ? argv[5] : NULL);

    } else {
        rc = 2;
    }

    json_decref(payload);
    gw_svc_free(ntf.svc);

    return rc;
}
