
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

    if (ntf.base == NULL || ntf_curl_init(ntf.base) != 0) {
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

    ntf_curl_free();
    event_base_free(ntf.base);
    free(ds);

    return 0;
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

    payload = json_load_file(argv[2], JSON_ALLOW_NUL, &jerr);
    if (payload == NULL) {
        fprintf(stderr, "%s: %s\n", argv[2], jerr.text);
        return 2;
    }

    date = getenv("NTF_TEST_DATE");
    t_fixed.date = (date != NULL) ? atoll(date) : 1700000000;

    for (i = 0; i < NTF_MIME_SEED; i++) {
        t_fixed.seed[i] = (unsigned char) (0x10 + i * 17);
    }

    ntf_smtp_fixed = &t_fixed;

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
