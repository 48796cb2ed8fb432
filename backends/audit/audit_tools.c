
/*
 * Copyright (C) Tollgate
 *
 * The audit binary's offline helpers: `keygen` (a new Ed25519 signer
 * key, written 0600, its verifier key printed), `gen` (synthetic records
 * appended in-process with group commit, for `make bench` and tests),
 * the signer key loader and the reader of the checkpoints file.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_svc.h"


typedef struct {
    unsigned char  *last;
    size_t          len;
} audit_latest_t;


static int audit_latest_cb(void *data, size_t k, const unsigned char *note,
    size_t len, int crc_ok);


int
audit_load_skey(const char *path, gw_note_skey_t *key, char *err,
    size_t errlen)
{
    int             rc;
    size_t          len;
    const char     *e;
    struct stat     sb;
    unsigned char  *text;

    if (audit_read_file(path, 4096, &text, &len) != 0) {
        snprintf(err, errlen, "key file %s: %s (make one with `audit "
                 "keygen NAME FILE`)", path, strerror(errno));
        return -1;
    }

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
        len--;
    }

    rc = gw_note_skey_parse(key, text, len, &e);
    memset(text, 0, len);
    free(text);

    if (rc != 0) {
        snprintf(err, errlen, "key file %s: %s", path, e);
        return -1;
    }

    if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0) {
        fprintf(stderr, "audit: warning: %s is readable by others "
                "(chmod 600 it)\n", path);
    }

    return 0;
}


/* dir/audit.pub: the verifier key, for `verify` */

int
audit_write_pub(const char *dir, const char *vkey, char *err, size_t errlen)
{
    int   fd;
    char  path[1024];

    snprintf(path, sizeof(path), "%s/audit.pub", dir);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1 || write(fd, vkey, strlen(vkey)) != (ssize_t) strlen(vkey)
        || write(fd, "\n", 1) != 1)
    {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return -1;
    }

    close(fd);

    return 0;
}


int
audit_keygen_main(int argc, char **argv)
{
    int             fd, rc;
    char            text[GW_NOTE_KEY_TEXT_MAX + 1];
    size_t          n;
    const char     *err;
    gw_note_skey_t  key;

    if (argc != 3) {
        fprintf(stderr, "usage: audit keygen NAME FILE\n"
                "  writes a new Ed25519 signer key to FILE (mode 0600, not "
                "overwritten)\n  and prints its verifier key; NAME is the "
                "log's origin, e.g. audit.example.com/log\n");
        return 2;
    }

    if (gw_note_skey_generate(&key, (const unsigned char *) argv[1],
                              strlen(argv[1]), &err) != 0)
    {
        fprintf(stderr, "audit keygen: %s\n", err);
        return 1;
    }

    rc = 1;

    fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        fprintf(stderr, "audit keygen: %s: %s\n", argv[2], strerror(errno));
        goto done;
    }

    n = gw_note_skey_format(&key, text);
    text[n++] = '\n';

    if (write(fd, text, n) != (ssize_t) n || fsync(fd) != 0) {
        fprintf(stderr, "audit keygen: %s: %s\n", argv[2], strerror(errno));
        close(fd);
        goto done;
    }

    close(fd);
    memset(text, 0, sizeof(text));

    n = gw_note_vkey_format(&key.vkey, text);
    text[n] = '\0';
    printf("%s\n", text);
    rc = 0;

done:

    gw_note_skey_free(&key);

    return rc;
}


/* ---- the checkpoints file ------------------------------------------------ */

int
audit_checkpoints_scan(const char *dir, int repair, audit_cp_pt fn,
    void *data, off_t *torn, char *err, size_t errlen)
{
    int             fd, rc, crc_ok;
    char            path[1024];
    size_t          k, len;
    off_t           off;
    struct stat     sb;
    unsigned char  *map;

    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    *torn = -1;

    fd = open(path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    rc = -1;
    map = MAP_FAILED;

    if (fstat(fd, &sb) == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }

    if (sb.st_size > 0) {
        map = mmap(NULL, sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
            goto done;
        }
    }

    off = 0;
    k = 0;

    while (off < sb.st_size) {
        if (sb.st_size - off < AUDIT_FRAME_HDR) {
            break;
        }

        len = ((size_t) map[off] << 24) | ((size_t) map[off + 1] << 16)
              | ((size_t) map[off + 2] << 8) | map[off + 3];

        if (len > GW_NOTE_MAX_LEN
            || (size_t) (sb.st_size - off - AUDIT_FRAME_HDR) < len)
        {
            break;
        }

        crc_ok = audit_crc32c(map + off + AUDIT_FRAME_HDR, len)
                 == (((uint32_t) map[off + 4] << 24)
                     | ((uint32_t) map[off + 5] << 16)
                     | ((uint32_t) map[off + 6] << 8) | map[off + 7]);

        /* the service cuts a damaged frame off as torn; verify reports */
        if (!crc_ok && repair) {
            break;
        }

        if (fn(data, k++, map + off + AUDIT_FRAME_HDR, len, crc_ok) != 0) {
            rc = 0;
            goto done;
        }

        off += AUDIT_FRAME_HDR + len;
    }

    if (off < sb.st_size) {
        *torn = off;

        if (repair && (ftruncate(fd, off) != 0 || fdatasync(fd) != 0)) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto done;
        }
    }

    rc = 0;

done:

    if (map != MAP_FAILED) {
        munmap(map, sb.st_size);
    }

    close(fd);

    return rc;
}


static int
audit_latest_cb(void *data, size_t k, const unsigned char *note, size_t len,
    int crc_ok)
{
    unsigned char   *p;
    audit_latest_t  *l;

    l = data;

    p = malloc(len);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, note, len);
    free(l->last);
    l->last = p;
    l->len = len;

    return 0;
}


int
audit_checkpoints_latest(const char *dir, unsigned char **out, size_t *len,
    char *err, size_t errlen)
{
    off_t           torn;
    audit_latest_t  l;

    l.last = NULL;
    l.len = 0;

    if (audit_checkpoints_scan(dir, 1, audit_latest_cb, &l, &torn, err,
                               errlen) != 0)
    {
        free(l.last);
        return -1;
    }

    *out = l.last;
    *len = l.len;

    return 0;
}


/* ---- gen: synthetic load ---------------------------------------------- */

int
audit_gen_main(int argc, char **argv)
{
    int              i, dup, rc;
    char             id[40], path[64], actor[32];
    size_t           len;
    json_t          *ev;
    uint64_t         n, k, seq, batch, waiting;
    const char      *dir, *key;
    struct timespec  t0, t1;
    double           secs;
    static const char  *actions[] = { "GET", "POST", "PUT", "DELETE" };

    dir = NULL;
    key = NULL;
    n = 0;
    batch = 512;
    rc = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--nosync") == 0) {
            audit.st.nosync = 1;
        } else if (dir == NULL) {
            dir = argv[i];
        } else if (n == 0) {
            n = strtoull(argv[i], NULL, 10);
        } else {
            dir = NULL;
            break;
        }
    }

    if (dir == NULL || n == 0 || batch == 0 || key == NULL) {
        fprintf(stderr, "usage: audit gen DIR N --key FILE [--batch N] "
                "[--nosync]\n  appends N synthetic events to the log in DIR "
                "in-process, committing every\n  N (512) records, signs a "
                "checkpoint, and prints the append rate\n");
        return 2;
    }

    if (audit_load_skey(key, &audit.skey, audit.st.err,
                        sizeof(audit.st.err)) != 0)
    {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        return 1;
    }

    audit.have_key = 1;
    i = audit.st.nosync;

    if (audit_store_open(&audit.st, dir, 64LL * 1024 * 1024) != 0) {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        goto done;
    }

    audit.st.nosync = i;

    if (audit_store_async(&audit.st) != 0) {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        goto done;
    }

    len = gw_note_vkey_format(&audit.skey.vkey, audit.vkey);
    audit.vkey[len] = '\0';

    if (audit_write_pub(dir, audit.vkey, audit.st.err, sizeof(audit.st.err))
        != 0)
    {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        goto done;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (k = 0; k < n; k++) {
        snprintf(id, sizeof(id), "%016llx%016llx",
                 (unsigned long long) k * 0x9e3779b97f4a7c15ULL,
                 (unsigned long long) (k + audit.st.size));
        snprintf(path, sizeof(path), "/api/items/%llu",
                 (unsigned long long) (k % 1000));

        /* actors: "" for 1 in 7, "consumer-rare" for 1 in 100,003 (about
         * 100 in 10 million), else one of 10,000 */

        if (k % 100003 == 50000) {
            snprintf(actor, sizeof(actor), "consumer-rare");
        } else if (k % 7 == 0) {
            actor[0] = '\0';
        } else {
            snprintf(actor, sizeof(actor), "consumer-%llu",
                     (unsigned long long) ((k * 7919) % 10000));
        }

        ev = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:f, s:s, "
                       "s:s}", "id", id,
                       "time", (json_int_t) (1700000000000LL + (long long) k),
                       "actor", actor,
                       "action", actions[k % 4],
                       "resource", path,
                       "status", (int) (k % 10 == 0 ? 404
                                        : k % 10 == 3 ? 403 : 200),
                       "request_id", id,
                       "route", "/api/",
                       "latency_ms", 1.25,
                       "auth", "ok",
                       "source", "gateway");
        if (ev == NULL) {
            fprintf(stderr, "audit gen: out of memory\n");
            goto done;
        }

        if (audit_event_store(ev, 1700000000000LL + (long long) k, &seq,
                              &dup) != 0)
        {
            json_decref(ev);
            fprintf(stderr, "audit gen: %s\n", audit.st.err);
            goto done;
        }

        json_decref(ev);

        /* double-buffered group commit, as the service does it: the
         * writer thread syncs one batch while the next one is built */

        waiting = audit.st.size - (audit.st.flight ? audit.st.fsize
                                                   : audit.st.durable);

        if (waiting >= batch
            && (audit_store_wait(&audit.st) != 0
                || audit_store_commit_start(&audit.st) != 0))
        {
            fprintf(stderr, "audit gen: %s\n", audit.st.err);
            goto done;
        }
    }

    if (audit_store_commit(&audit.st) != 0) {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        goto done;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    if (audit_sign_checkpoint() != 0) {
        fprintf(stderr, "audit gen: %s\n", audit.st.err);
        goto done;
    }

    printf("{\"appended\":%llu,\"records\":%llu,\"seconds\":%.3f,"
           "\"events_per_second\":%.0f,\"commits\":%llu}\n",
           (unsigned long long) n, (unsigned long long) audit.st.size, secs,
           n / secs, (unsigned long long) audit.st.commits);
    rc = 0;

done:

    free(audit.cp);
    audit.cp = NULL;
    audit_store_close(&audit.st);
    gw_note_skey_free(&audit.skey);
    audit.have_key = 0;

    return rc;
}
