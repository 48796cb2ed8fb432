
/*
 * Copyright (C) Tollgate
 *
 * Client assertion signatures verified on worker threads, so that the
 * loop goes on serving while an ES256, EdDSA or RS256 verification
 * (tens of microseconds of CPU) runs.  verify_threads threads (0: none,
 * every signature is verified on the loop) take jobs from one queue
 * guarded by a mutex and a condition variable, and put them, done, on a
 * second list; a byte written to a pipe the loop watches (only when that
 * list was empty) has the loop take the list and call each job's done().
 *
 * A job owns everything a thread reads: a reference to each candidate
 * key's EVP_PKEY (EVP_PKEY_up_ref(): the client's record may leave the
 * cache meanwhile) and copies of the signing input and the signature.
 * The thread verifies with gw_jws_verify_raw(), which makes its own
 * contexts and writes nothing shared; the loop's gw_jwk_t, and the
 * contexts cached in it (vctx), are never touched off the loop.  The
 * references are dropped on the loop, when the job is done.
 *
 * At the stop the threads are joined (each finishes the job in hand),
 * and every job not yet delivered is done with IDENTITY_VERIFY_STOPPED.
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "identity_client.h"


#define IDENTITY_VERIFY_THREADS_MAX  8


struct identity_vjob_s {
    identity_vjob_t      *next;
    gw_alg_e              alg;
    size_t                nkeys;
    EVP_PKEY             *keys[GW_KEYSET_MAX];
    unsigned char        *input;        /* then the signature, one block */
    size_t                input_len;
    unsigned char        *sig;
    size_t                sig_len;
    int                   rc;
    identity_verify_pt    done;
    void                 *data;
};


static void *identity_verify_thread(void *arg);
static void identity_verify_notified(evutil_socket_t fd, short what,
    void *arg);
static void identity_verify_job_free(identity_vjob_t *job);


static pthread_mutex_t   identity_verify_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t    identity_verify_cv = PTHREAD_COND_INITIALIZER;
static identity_vjob_t  *identity_verify_queue;     /* to verify, FIFO */
static identity_vjob_t **identity_verify_tail = &identity_verify_queue;
static identity_vjob_t  *identity_verify_done;      /* for the loop */
static unsigned          identity_verify_quit;
static size_t            identity_verify_nthreads;
static pthread_t         identity_verify_tids[IDENTITY_VERIFY_THREADS_MAX];
static int               identity_verify_pipe[2] = { -1, -1 };
static struct event     *identity_verify_ev;


/*
 * Starts n threads (capped at IDENTITY_VERIFY_THREADS_MAX) and the
 * pipe's event.  When any of it fails, the error is logged and the
 * threads started so far serve; with none, signatures are verified on
 * the loop.
 */

void
identity_verify_start(struct event_base *base, long long n)
{
    size_t    i;
    sigset_t  all, old;

    identity_verify_quit = 0;

    if (n <= 0) {
        return;
    }

    if (n > IDENTITY_VERIFY_THREADS_MAX) {
        n = IDENTITY_VERIFY_THREADS_MAX;
    }

    if (pipe(identity_verify_pipe) != 0
        || fcntl(identity_verify_pipe[0], F_SETFL, O_NONBLOCK) != 0
        || fcntl(identity_verify_pipe[0], F_SETFD, FD_CLOEXEC) != 0
        || fcntl(identity_verify_pipe[1], F_SETFD, FD_CLOEXEC) != 0)
    {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                   "verify threads not started",
                   json_pack("{s:s, s:s}", "error", "pipe",
                             "reason", strerror(errno)));
        goto failed;
    }

    identity_verify_ev = event_new(base, identity_verify_pipe[0],
                                   EV_READ | EV_PERSIST,
                                   identity_verify_notified, NULL);

    if (identity_verify_ev == NULL
        || event_add(identity_verify_ev, NULL) != 0)
    {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                   "verify threads not started",
                   json_pack("{s:s}", "error", "cannot add the event"));
        goto failed;
    }

    /* signals are the loop's: the threads start with all of them blocked */

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    for (i = 0; i < (size_t) n; i++) {
        if (pthread_create(&identity_verify_tids[i], NULL,
                           identity_verify_thread, NULL)
            != 0)
        {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                       "verify thread not started",
                       json_pack("{s:i, s:i}", "wanted", (int) n,
                                 "started", (int) i));
            break;
        }

        identity_verify_nthreads++;
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (identity_verify_nthreads > 0) {
        return;
    }

failed:

    identity_verify_stop();
}


/* joins the threads; the jobs not delivered are done as stopped */

void
identity_verify_stop(void)
{
    size_t            i;
    identity_vjob_t  *job, *list;

    pthread_mutex_lock(&identity_verify_mu);
    identity_verify_quit = 1;
    pthread_cond_broadcast(&identity_verify_cv);
    pthread_mutex_unlock(&identity_verify_mu);

    for (i = 0; i < identity_verify_nthreads; i++) {
        pthread_join(identity_verify_tids[i], NULL);
    }

    identity_verify_nthreads = 0;

    if (identity_verify_ev != NULL) {
        event_free(identity_verify_ev);
        identity_verify_ev = NULL;
    }

    for (i = 0; i < 2; i++) {
        if (identity_verify_pipe[i] != -1) {
            close(identity_verify_pipe[i]);
            identity_verify_pipe[i] = -1;
        }
    }

    /* the threads are gone: the lists are the loop's alone */

    for (i = 0; i < 2; i++) {
        list = (i == 0) ? identity_verify_done : identity_verify_queue;

        while (list != NULL) {
            job = list;
            list = job->next;
            job->done(IDENTITY_VERIFY_STOPPED, job->data);
            identity_verify_job_free(job);
        }
    }

    identity_verify_done = NULL;
    identity_verify_queue = NULL;
    identity_verify_tail = &identity_verify_queue;
}


int
identity_verify_running(void)
{
    return identity_verify_nthreads > 0;
}


/*
 * Queues the verification of jws's signature with the keys of ks that
 * fit its alg (the ones gw_jws_verify() would try, in the same order).
 * done(rc, data) runs later on the loop: IDENTITY_VERIFY_OK when a key
 * verified it, IDENTITY_VERIFY_BAD when none did, IDENTITY_VERIFY_STOPPED
 * when the service stopped first.  Returns 0, or -1 (out of memory) and
 * done never runs.
 */

int
identity_verify_post(const gw_jws_t *jws, const gw_keyset_t *ks,
    identity_verify_pt done, void *data)
{
    size_t            i;
    const gw_jwk_t   *key;
    identity_vjob_t  *job;

    job = calloc(1, sizeof(identity_vjob_t));
    if (job == NULL) {
        return -1;
    }

    job->input = malloc(jws->signing_input_len + jws->sig_len + 1);
    if (job->input == NULL) {
        free(job);
        return -1;
    }

    memcpy(job->input, jws->signing_input, jws->signing_input_len);
    job->input_len = jws->signing_input_len;
    job->sig = job->input + job->input_len;
    memcpy(job->sig, jws->sig, jws->sig_len);
    job->sig_len = jws->sig_len;

    job->alg = jws->alg;
    job->rc = IDENTITY_VERIFY_BAD;
    job->done = done;
    job->data = data;

    /* the checks gw_jws_verify() makes of the key, here on the loop */

    i = 0;

    while ((key = gw_keyset_next(ks, &i, NULL, 0, jws->alg)) != NULL
           && job->nkeys < GW_KEYSET_MAX)
    {
        if ((key->algs & GW_ALG_BIT(jws->alg)) == 0 || key->pkey == NULL
            || key->type == GW_KEY_HMAC)
        {
            continue;
        }

        if (EVP_PKEY_up_ref(key->pkey) != 1) {
            identity_verify_job_free(job);
            return -1;
        }

        job->keys[job->nkeys++] = key->pkey;
    }

    pthread_mutex_lock(&identity_verify_mu);
    *identity_verify_tail = job;
    identity_verify_tail = &job->next;
    pthread_cond_signal(&identity_verify_cv);
    pthread_mutex_unlock(&identity_verify_mu);

    return 0;
}


static void *
identity_verify_thread(void *arg)
{
    int               was_empty;
    size_t            i;
    ssize_t           n;
    const char       *err;
    identity_vjob_t  *job;

    pthread_mutex_lock(&identity_verify_mu);

    for ( ;; ) {
        while (identity_verify_queue == NULL && !identity_verify_quit) {
            pthread_cond_wait(&identity_verify_cv, &identity_verify_mu);
        }

        if (identity_verify_quit) {
            break;
        }

        job = identity_verify_queue;
        identity_verify_queue = job->next;

        if (identity_verify_queue == NULL) {
            identity_verify_tail = &identity_verify_queue;
        }

        pthread_mutex_unlock(&identity_verify_mu);

        for (i = 0; i < job->nkeys; i++) {
            if (gw_jws_verify_raw(job->alg, job->keys[i], job->input,
                                  job->input_len, job->sig, job->sig_len,
                                  &err)
                == 0)
            {
                job->rc = IDENTITY_VERIFY_OK;
                break;
            }
        }

        pthread_mutex_lock(&identity_verify_mu);

        was_empty = (identity_verify_done == NULL);
        job->next = identity_verify_done;
        identity_verify_done = job;

        if (was_empty) {
            n = write(identity_verify_pipe[1], "v", 1);
            (void) n;
        }
    }

    pthread_mutex_unlock(&identity_verify_mu);

    return NULL;
}


/*
 * The pipe is drained before the list is taken: a job put on the list
 * after the take writes a byte again, so none is left behind.
 */

static void
identity_verify_notified(evutil_socket_t fd, short what, void *arg)
{
    char              buf[64];
    identity_vjob_t  *job, *list;

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    pthread_mutex_lock(&identity_verify_mu);
    list = identity_verify_done;
    identity_verify_done = NULL;
    pthread_mutex_unlock(&identity_verify_mu);

    while (list != NULL) {
        job = list;
        list = job->next;
        job->done(job->rc, job->data);
        identity_verify_job_free(job);
    }
}


static void
identity_verify_job_free(identity_vjob_t *job)
{
    size_t  i;

    for (i = 0; i < job->nkeys; i++) {
        EVP_PKEY_free(job->keys[i]);
    }

    free(job->input);
    free(job);
}
