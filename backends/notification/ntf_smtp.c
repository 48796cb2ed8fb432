
/*
 * Copyright (C) Tollgate
 *
 * The email channel (docs/notification-email.md): one SMTP transaction
 * per delivery through libcurl on a worker thread (ntf_smtp_pool.c:
 * libcurl's SMTP blocks while it waits for the answer to the message's
 * end, which the loop must never do), its outcome recorded back on the
 * loop.  The message is built by ntf_mime.c and read by curl straight
 * from it, so a large attachment is never copied whole.
 *
 * TLS: smtps:// is TLS from the first byte; smtp:// upgrades with
 * STARTTLS as smtp_tls says (required: no STARTTLS is an error; try: as
 * the server offers; off: never).  Certificates are always verified
 * (smtp_ca, else the system's).  AUTH (smtp_user, the password read at
 * start from smtp_password_file) is refused at start unless the
 * connection is sure to be encrypted, so a password never goes out in
 * clear.
 *
 * Outcomes: 250 after DATA is OK; a 5xx reply to any command (MAIL,
 * RCPT, DATA, AUTH's 535) fails for good; a 4xx, a timeout, a refused
 * connection or a TLS failure is retried on the schedule.  A recipient
 * refused fails the whole transaction (no partial sends).  At most
 * smtp_concurrency transactions are handed to the threads at once, and
 * smtp_threads of them run; the rest wait in order.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ntf_mime.h"


#define NTF_SMTP_PASS_MAX   1024


typedef struct ntf_smtp_job_s  ntf_smtp_job_t;

struct ntf_smtp_job_s {
    ntf_delivery_t         *d;
    CURL                   *easy;
    struct curl_slist      *rcpt;
    ntf_mime_msg_t         *msg;
    long long               start;      /* ms, monotonic */
    ntf_smtp_job_t         *next;       /* in the queue */
    char                    errbuf[CURL_ERROR_SIZE];
};


typedef struct {
    int                     enabled;
    const char             *url;
    const char             *ca;
    const char             *user;
    long                    use_ssl;
    long                    timeout;    /* ms */
    unsigned                concurrency;
    unsigned                running;
    ntf_smtp_job_t         *head;       /* waiting, oldest first */
    ntf_smtp_job_t         *tail;
    char                    from_addr[NTF_MIME_ADDR_MAX + 1];
    char                    from_name[NTF_MIME_NAME_MAX + 1];
    char                    password[NTF_SMTP_PASS_MAX];
} ntf_smtp_conf_t;


static int ntf_smtp_password(const char *path);
static int ntf_smtp_from(const char *s);
static long long ntf_smtp_now(void);
static size_t ntf_smtp_read(char *buf, size_t size, size_t n, void *data);
static int ntf_smtp_setup(ntf_smtp_job_t *job);
static void ntf_smtp_done(CURL *easy, CURLcode rc, void *data);
static void ntf_smtp_outcome(ntf_smtp_job_t *job, CURLcode rc,
    ntf_outcome_t *out);
static void ntf_smtp_pump(void);
static void ntf_smtp_job_free(ntf_smtp_job_t *job);
static int ntf_email_send(ntf_delivery_t *d, ntf_outcome_t *out);


static ntf_smtp_conf_t      ntf_smtp;

const ntf_mime_ctx_t       *ntf_smtp_fixed;

const ntf_channel_t  ntf_email_channel = { "email", ntf_email_send };


/*
 * Reads the smtp_* keys: smtp_url empty leaves email off (a delivery
 * fails "email is not configured"); else it must be smtp:// or smtps://,
 * smtp_from a mailbox ("a@b" or "Name <a@b>"), and smtp_user needs a
 * password file no group or other may read, and TLS for sure.
 */
int
ntf_smtp_configure(gw_svc_t *svc)
{
    const char  *tls, *pass, *host;

    memset(&ntf_smtp, 0, sizeof(ntf_smtp_conf_t));

    ntf_smtp.url = gw_svc_conf_str(svc, "smtp_url");
    ntf_smtp.ca = gw_svc_conf_str(svc, "smtp_ca");
    ntf_smtp.user = gw_svc_conf_str(svc, "smtp_user");
    ntf_smtp.timeout = (long) gw_svc_conf_int(svc, "smtp_timeout");
    ntf_smtp.concurrency = (unsigned) gw_svc_conf_int(svc,
                                                      "smtp_concurrency");
    ntf_smtp_pool_size((unsigned) gw_svc_conf_int(svc, "smtp_threads"));
    tls = gw_svc_conf_str(svc, "smtp_tls");
    pass = gw_svc_conf_str(svc, "smtp_password_file");

    if (ntf_smtp.url == NULL || ntf_smtp.url[0] == '\0') {
        return 0;
    }

    if (strncmp(ntf_smtp.url, "smtp://", 7) != 0
        && strncmp(ntf_smtp.url, "smtps://", 8) != 0)
    {
        fprintf(stderr, "smtp_url: \"%s\" is not smtp:// or smtps://\n",
                ntf_smtp.url);
        return -1;
    }

    /* credentials only from smtp_user and its file, never in the URL */
    host = strstr(ntf_smtp.url, "://") + 3;

    if (strchr(host, '@') != NULL && strchr(host, '@')
                                     < host + strcspn(host, "/?#"))
    {
        fprintf(stderr, "smtp_url: no user or password in the URL "
                "(smtp_user, smtp_password_file)\n");
        return -1;
    }

    ntf_smtp.use_ssl = strcmp(tls, "off") == 0 ? CURLUSESSL_NONE
                       : strcmp(tls, "try") == 0 ? CURLUSESSL_TRY
                       : CURLUSESSL_ALL;

    if (ntf_smtp_from(gw_svc_conf_str(svc, "smtp_from")) != 0) {
        return -1;
    }

    if (ntf_smtp.ca[0] != '\0' && access(ntf_smtp.ca, R_OK) != 0) {
        fprintf(stderr, "smtp_ca: %s: %s\n", ntf_smtp.ca, strerror(errno));
        return -1;
    }

    if ((ntf_smtp.user[0] != '\0') != (pass[0] != '\0')) {
        fprintf(stderr, "smtp_user and smtp_password_file go together\n");
        return -1;
    }

    if (ntf_smtp.user[0] != '\0') {
        if (strncmp(ntf_smtp.url, "smtps://", 8) != 0
            && ntf_smtp.use_ssl != CURLUSESSL_ALL)
        {
            fprintf(stderr, "smtp_user: AUTH needs smtps:// or "
                    "smtp_tls = required (no password in clear)\n");
            return -1;
        }

        if (ntf_smtp_password(pass) != 0) {
            return -1;
        }
    }

    ntf_smtp.enabled = 1;

    return 0;
}


/* the password file's first line; refused when group or others may read */
static int
ntf_smtp_password(const char *path)
{
    FILE        *f;
    size_t       len;
    struct stat  st;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "smtp_password_file: %s: %s\n", path,
                strerror(errno));
        return -1;
    }

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
        fprintf(stderr, "smtp_password_file: %s: not a regular file "
                "private to its owner (chmod 600)\n", path);
        fclose(f);
        return -1;
    }

    if (fgets(ntf_smtp.password, sizeof(ntf_smtp.password), f) == NULL) {
        ntf_smtp.password[0] = '\0';
    }

    fclose(f);

    len = strcspn(ntf_smtp.password, "\r\n");
    ntf_smtp.password[len] = '\0';

    if (len == 0) {
        fprintf(stderr, "smtp_password_file: %s: empty\n", path);
        return -1;
    }

    return 0;
}


/* smtp_from: "a@b" or "Name <a@b>", the name without control bytes */
static int
ntf_smtp_from(const char *s)
{
    size_t       n, i;
    const char  *lt;

    lt = strchr(s, '<');

    if (lt == NULL) {
        n = strlen(s);

    } else {
        n = lt - s;
        while (n > 0 && s[n - 1] == ' ') {
            n--;
        }

        if (n >= sizeof(ntf_smtp.from_name)) {
            goto bad;
        }

        memcpy(ntf_smtp.from_name, s, n);
        ntf_smtp.from_name[n] = '\0';

        for (i = 0; i < n; i++) {
            if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
                goto bad;
            }
        }

        s = lt + 1;
        n = strlen(s);

        if (n == 0 || s[n - 1] != '>') {
            goto bad;
        }

        n--;
    }

    if (n == 0 || n >= sizeof(ntf_smtp.from_addr)) {
        goto bad;
    }

    memcpy(ntf_smtp.from_addr, s, n);
    ntf_smtp.from_addr[n] = '\0';

    if (ntf_mime_addr_ok(ntf_smtp.from_addr)) {
        return 0;
    }

bad:

    fprintf(stderr, "smtp_from: an address (\"a@b\" or \"Name <a@b>\") is "
            "required with smtp_url\n");
    return -1;
}


void
ntf_smtp_ctx(ntf_mime_ctx_t *ctx, const char *id)
{
    ctx->id = id;
    ctx->from_addr = ntf_smtp.from_addr;
    ctx->from_name = ntf_smtp.from_name;

    if (ntf_smtp_fixed != NULL) {
        ctx->date = ntf_smtp_fixed->date;
        memcpy(ctx->seed, ntf_smtp_fixed->seed, NTF_MIME_SEED);
        return;
    }

    ctx->date = time(NULL);

    if (RAND_bytes(ctx->seed, NTF_MIME_SEED) != 1) {
        /* the boundary's form alone keeps it out of the content */
        memset(ctx->seed, 0x5a, NTF_MIME_SEED);
    }
}


static long long
ntf_smtp_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * Starts delivery d: the message built (a malformed payload FAILs at
 * once, -1), then the transaction, or a place in the queue.
 */
static int
ntf_email_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    char                err[NTF_ERR_MAX];
    size_t              i;
    json_t             *to, *v;
    ntf_smtp_job_t     *job;
    ntf_mime_ctx_t      ctx;
    struct curl_slist  *l;

    memset(out, 0, sizeof(ntf_outcome_t));

    if (!ntf_smtp.enabled) {
        out->result = NTF_FAIL;
        snprintf(out->error, sizeof(out->error),
                 "email is not configured (smtp_url)");
        return -1;
    }

    job = calloc(1, sizeof(ntf_smtp_job_t));
    if (job == NULL) {
        goto retry;
    }

    job->d = d;
    job->start = ntf_smtp_now();

    ntf_smtp_ctx(&ctx, d->id);

    if (ntf_mime_build(d->payload, &ctx, &job->msg, err, sizeof(err)) != 0)
    {
        ntf_smtp_job_free(job);
        out->result = (strcmp(err, "out of memory") == 0) ? NTF_RETRY
                                                          : NTF_FAIL;
        snprintf(out->error, sizeof(out->error), "%s", err);
        return -1;
    }

    to = json_object_get(d->payload, "to");

    json_array_foreach(to, i, v) {
        l = curl_slist_append(job->rcpt, ntf_mime_rcpt_addr(v));
        if (l == NULL) {
            ntf_smtp_job_free(job);
            goto retry;
        }

        job->rcpt = l;
    }

    if (ntf_smtp_setup(job) != 0) {
        ntf_smtp_job_free(job);
        goto retry;
    }

    if (ntf_smtp.running < ntf_smtp.concurrency) {
        if (ntf_smtp_pool_run(job->easy, ntf_smtp_done, job) != 0) {
            ntf_smtp_job_free(job);
            goto retry;
        }

        ntf_smtp.running++;
        return 0;
    }

    if (ntf_smtp.tail != NULL) {
        ntf_smtp.tail->next = job;

    } else {
        ntf_smtp.head = job;
    }

    ntf_smtp.tail = job;

    return 0;

retry:

    out->result = NTF_RETRY;
    snprintf(out->error, sizeof(out->error), "cannot start the transfer");
    return -1;
}


static int
ntf_smtp_setup(ntf_smtp_job_t *job)
{
    CURL  *e;
    long   connect;

    e = curl_easy_init();
    if (e == NULL) {
        return -1;
    }

    job->easy = e;
    connect = ntf_smtp.timeout < 10000 ? ntf_smtp.timeout : 10000;

    if (curl_easy_setopt(e, CURLOPT_URL, ntf_smtp.url) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_USE_SSL, ntf_smtp.use_ssl)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK
        || (ntf_smtp.ca[0] != '\0'
            && curl_easy_setopt(e, CURLOPT_CAINFO, ntf_smtp.ca) != CURLE_OK)
        || (ntf_smtp.user[0] != '\0'
            && (curl_easy_setopt(e, CURLOPT_USERNAME, ntf_smtp.user)
                != CURLE_OK
                || curl_easy_setopt(e, CURLOPT_PASSWORD, ntf_smtp.password)
                   != CURLE_OK))
        || curl_easy_setopt(e, CURLOPT_MAIL_FROM, ntf_smtp.from_addr)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_MAIL_RCPT, job->rcpt) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 0L)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                            (curl_off_t) ntf_mime_size(job->msg))
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_READFUNCTION, ntf_smtp_read)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_READDATA, job) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ntf_smtp.timeout)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->errbuf)
           != CURLE_OK)
    {
        return -1;
    }

    return 0;
}


static size_t
ntf_smtp_read(char *buf, size_t size, size_t n, void *data)
{
    ntf_smtp_job_t  *job;

    job = data;

    return ntf_mime_read(job->msg, buf, size * n);
}


/* what a transaction's end means (see the essay above) */
static void
ntf_smtp_outcome(ntf_smtp_job_t *job, CURLcode rc, ntf_outcome_t *out)
{
    long  code;

    code = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &code);

    out->status = (int) code;
    out->latency = ntf_smtp_now() - job->start;

    if (rc == CURLE_OK) {
        out->result = NTF_OK;
        return;
    }

    /* AUTH's refusal (535, or 454 for now) is only in the error text */
    if (rc == CURLE_LOGIN_DENIED
        && sscanf(job->errbuf, "Authentication failed: %ld", &code) == 1)
    {
        out->status = (int) code;
    }

    if (rc != CURLE_OPERATION_TIMEDOUT && rc != CURLE_COULDNT_CONNECT
        && rc != CURLE_COULDNT_RESOLVE_HOST && code >= 500 && code < 600)
    {
        out->result = NTF_FAIL;

    } else {
        out->result = NTF_RETRY;
    }

    snprintf(out->error, sizeof(out->error), "%s",
             job->errbuf[0] != '\0' ? job->errbuf : curl_easy_strerror(rc));
}


static void
ntf_smtp_done(CURL *easy, CURLcode rc, void *data)
{
    ntf_outcome_t    out;
    ntf_delivery_t  *d;
    ntf_smtp_job_t  *job;

    job = data;
    d = job->d;

    memset(&out, 0, sizeof(ntf_outcome_t));
    ntf_smtp_outcome(job, rc, &out);

    ntf_smtp.running--;
    ntf_smtp_job_free(job);

    d->done(d, &out);

    ntf_smtp_pump();
}


/* starts waiting transactions while there is room */
static void
ntf_smtp_pump(void)
{
    ntf_outcome_t    out;
    ntf_delivery_t  *d;
    ntf_smtp_job_t  *job;

    while (ntf_smtp.running < ntf_smtp.concurrency && ntf_smtp.head != NULL)
    {
        job = ntf_smtp.head;
        ntf_smtp.head = job->next;

        if (ntf_smtp.head == NULL) {
            ntf_smtp.tail = NULL;
        }

        job->next = NULL;

        if (ntf_smtp_pool_run(job->easy, ntf_smtp_done, job) == 0) {
            ntf_smtp.running++;
            continue;
        }

        d = job->d;
        memset(&out, 0, sizeof(ntf_outcome_t));
        out.result = NTF_RETRY;
        out.latency = ntf_smtp_now() - job->start;
        snprintf(out.error, sizeof(out.error), "cannot start the transfer");

        ntf_smtp_job_free(job);
        d->done(d, &out);
    }
}


static void
ntf_smtp_job_free(ntf_smtp_job_t *job)
{
    if (job->easy != NULL) {
        curl_easy_cleanup(job->easy);
    }

    curl_slist_free_all(job->rcpt);
    ntf_mime_free(job->msg);
    free(job);
}
