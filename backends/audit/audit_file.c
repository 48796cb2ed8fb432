
/*
 * Copyright (C) Tollgate
 *
 * The audit log's files, read and written: frames (parsed here for the
 * store's open, the reader and `verify`), segment listings, whole small
 * files, the checkpoints file's appends, and the reader that walks
 * durable records in index order through a 256 KiB buffer, for queries
 * and for completing the node file at open.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"


#define AUDIT_READ_CHUNK  (256 * 1024)


static int audit_reader_fill(audit_reader_t *rd, size_t need);


/* ---- files ------------------------------------------------------------- */

int
audit_grow(unsigned char **buf, size_t *cap, size_t need)
{
    size_t          n;
    unsigned char  *p;

    if (need <= *cap) {
        return 0;
    }

    n = *cap ? *cap : 65536;
    while (n < need) {
        n *= 2;
    }

    p = realloc(*buf, n);
    if (p == NULL) {
        return -1;
    }

    *buf = p;
    *cap = n;

    return 0;
}


int
audit_write_all(int fd, const unsigned char *p, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= n;
    }

    return 0;
}


int
audit_read_file(const char *path, size_t max, unsigned char **out,
    size_t *len)
{
    int             fd, rc;
    ssize_t         n;
    struct stat     sb;
    unsigned char  *buf;

    rc = -1;
    buf = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    if (fstat(fd, &sb) == -1 || (size_t) sb.st_size > max) {
        errno = (errno != 0) ? errno : EFBIG;
        goto done;
    }

    buf = malloc(sb.st_size + 1);
    if (buf == NULL) {
        goto done;
    }

    n = pread(fd, buf, sb.st_size, 0);
    if (n != sb.st_size) {
        goto done;
    }

    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;

done:

    free(buf);
    close(fd);

    return rc;
}


static int
audit_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


int
audit_list_segments(const char *dir, char ***names, size_t *n, char *err,
    size_t errlen)
{
    DIR            *d;
    char          **list, **p;
    size_t          cnt, cap;
    struct dirent  *e;

    list = NULL;
    cnt = 0;
    cap = 0;

    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "seg-", 4) != 0 || strlen(e->d_name) != 24
            || strspn(e->d_name + 4, "0123456789") != 20)
        {
            continue;
        }

        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            p = realloc(list, cap * sizeof(char *));
            if (p == NULL) {
                goto failed;
            }
            list = p;
        }

        list[cnt] = strdup(e->d_name);
        if (list[cnt] == NULL) {
            goto failed;
        }
        cnt++;
    }

    closedir(d);

    if (cnt > 1) {
        qsort(list, cnt, sizeof(char *), audit_name_cmp);
    }

    *names = list;
    *n = cnt;

    return 0;

failed:

    closedir(d);
    audit_free_list(list, cnt);
    snprintf(err, errlen, "out of memory");

    return -1;
}


void
audit_free_list(char **names, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(names[i]);
    }

    free(names);
}


/*
 * One frame at p: its size (header and body) with rec filled, -2 when
 * fewer bytes than it needs are left (torn), -1 when it is malformed or
 * its CRC32C does not match.  rec->seq is not set.
 */

ssize_t
audit_frame_parse(const unsigned char *p, size_t avail, audit_rec_t *rec)
{
    size_t  len, id_len;

    if (avail < AUDIT_FRAME_HDR) {
        return -2;
    }

    len = audit_get32(p);

    if (len < GW_MERKLE_HASH_LEN + 3
        || len > GW_MERKLE_HASH_LEN + 1 + AUDIT_ID_MAX + AUDIT_RECORD_MAX)
    {
        return -1;
    }

    if (avail - AUDIT_FRAME_HDR < len) {
        return -2;
    }

    if (audit_crc32c(p + AUDIT_FRAME_HDR, len) != audit_get32(p + 4)) {
        return -1;
    }

    p += AUDIT_FRAME_HDR;
    id_len = p[GW_MERKLE_HASH_LEN];

    if (id_len == 0 || id_len > AUDIT_ID_MAX
        || GW_MERKLE_HASH_LEN + 1 + id_len >= len)
    {
        return -1;
    }

    rec->chain = p;
    rec->id = (const char *) p + GW_MERKLE_HASH_LEN + 1;
    rec->id_len = id_len;
    rec->rec = p + GW_MERKLE_HASH_LEN + 1 + id_len;
    rec->rec_len = len - GW_MERKLE_HASH_LEN - 1 - id_len;

    return AUDIT_FRAME_HDR + len;
}


int
audit_checkpoint_append(const char *dir, const unsigned char *note,
    size_t len, char *err, size_t errlen)
{
    int            fd, rc;
    char           path[1024];
    unsigned char  hdr[AUDIT_FRAME_HDR];

    snprintf(path, sizeof(path), "%s/checkpoints", dir);

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }

    audit_put32(hdr, (uint32_t) len);
    audit_put32(hdr + 4, audit_crc32c(note, len));

    rc = 0;

    if (audit_write_all(fd, hdr, sizeof(hdr)) != 0
        || audit_write_all(fd, note, len) != 0 || fdatasync(fd) != 0)
    {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }

    close(fd);

    return rc;
}


/* ---- reading ----------------------------------------------------------- */

static int audit_reader_position(audit_reader_t *rd, uint64_t seq);


int
audit_reader_open(audit_reader_t *rd, audit_store_t *st, uint64_t seq,
    uint64_t end)
{
    memset(rd, 0, sizeof(audit_reader_t));
    rd->st = st;
    rd->fd = -1;
    rd->seq = seq;
    rd->end = end < st->durable ? end : st->durable;

    if (seq >= rd->end) {
        return 0;
    }

    return audit_reader_position(rd, seq);
}


/* opens the segment of record seq at the mark before it, and skips to it */

static int
audit_reader_position(audit_reader_t *rd, uint64_t seq)
{
    size_t          lo, hi, mid;
    audit_seg_t    *seg;
    audit_store_t  *st;

    st = rd->st;
    lo = 0;
    hi = st->nsegs;

    while (hi - lo > 1) {
        mid = (lo + hi) / 2;
        if (st->segs[mid].first <= seq) {
            lo = mid;
        } else {
            hi = mid;
        }
    }

    seg = &st->segs[lo];

    if (rd->fd != -1) {
        close(rd->fd);
    }

    rd->seg = lo;
    rd->len = 0;
    rd->pos = 0;

    rd->fd = open(seg->path, O_RDONLY | O_CLOEXEC);
    if (rd->fd == -1) {
        audit_err(st, "%s: %s", seg->path, strerror(errno));
        return -1;
    }

    rd->off = seg->marks[(seq - seg->first) / AUDIT_MARK];
    rd->seq = seg->first + (seq - seg->first) / AUDIT_MARK * AUDIT_MARK;

    /* skip to seq */
    while (rd->seq < seq) {
        audit_rec_t  rec;

        if (audit_reader_next(rd, &rec) != 1) {
            return -1;
        }
    }

    return 0;
}


/*
 * Record seq, for the index's candidates: read on from where the reader
 * is when seq is a little ahead in the same segment, else from the mark
 * before seq.  Reads go 16 KiB at a time.
 */

int
audit_reader_seek(audit_reader_t *rd, uint64_t seq, audit_rec_t *rec)
{
    audit_seg_t  *seg;

    if (rd->chunk == 0) {
        rd->chunk = 16384;
    }

    if (seq >= rd->end) {
        audit_err(rd->st, "record %llu is beyond the log",
                  (unsigned long long) seq);
        return -1;
    }

    seg = (rd->fd != -1) ? &rd->st->segs[rd->seg] : NULL;

    if (seg == NULL || seq < rd->seq || seq >= seg->first + seg->count
        || seq - rd->seq > AUDIT_MARK)
    {
        if (audit_reader_position(rd, seq) != 0) {
            return -1;
        }
    }

    while (rd->seq < seq) {
        if (audit_reader_next(rd, rec) != 1) {
            return -1;
        }
    }

    return audit_reader_next(rd, rec) == 1 ? 1 : -1;
}


/* rd->buf holds bytes from file offset rd->off: at least need of them */

static int
audit_reader_fill(audit_reader_t *rd, size_t need)
{
    size_t   chunk;
    ssize_t  n;

    chunk = rd->chunk ? rd->chunk : AUDIT_READ_CHUNK;

    if (rd->buf == NULL || need > chunk) {
        if (audit_grow(&rd->buf, &rd->cap, need > chunk ? need : chunk)
            != 0)
        {
            return -1;
        }
    }

    n = pread(rd->fd, rd->buf, need > chunk ? rd->cap : chunk, rd->off);
    if (n < (ssize_t) need) {
        return -1;
    }

    rd->len = n;

    return 0;
}


int
audit_reader_next(audit_reader_t *rd, audit_rec_t *rec)
{
    ssize_t        n;
    audit_seg_t   *seg;
    audit_store_t *st;

    st = rd->st;

    if (rd->seq >= rd->end) {
        return 0;
    }

    seg = &st->segs[rd->seg];

    if (rd->seq >= seg->first + seg->count) {
        close(rd->fd);
        rd->seg++;
        seg = &st->segs[rd->seg];
        rd->fd = open(seg->path, O_RDONLY | O_CLOEXEC);
        if (rd->fd == -1) {
            audit_err(st, "%s: %s", seg->path, strerror(errno));
            return -1;
        }
        rd->off = AUDIT_SEG_HDR;
        rd->len = 0;
        rd->pos = 0;
    }

    n = audit_frame_parse(rd->buf + rd->pos, rd->len - rd->pos, rec);

    if (n == -2) {
        /* refill from the current frame's offset */
        rd->off += rd->pos;
        rd->pos = 0;
        if (audit_reader_fill(rd, AUDIT_FRAME_HDR) != 0) {
            goto bad;
        }
        n = audit_frame_parse(rd->buf, rd->len, rec);
        if (n == -2) {
            if (audit_reader_fill(rd, AUDIT_FRAME_HDR
                                  + audit_get32(rd->buf)) != 0)
            {
                goto bad;
            }
            n = audit_frame_parse(rd->buf, rd->len, rec);
        }
    }

    if (n < 0) {
        goto bad;
    }

    rec->seq = rd->seq++;
    rd->pos += n;

    return 1;

bad:

    audit_err(st, "%s: record %llu cannot be read", seg->path,
              (unsigned long long) rd->seq);
    return -1;
}


void
audit_reader_close(audit_reader_t *rd)
{
    if (rd->fd != -1) {
        close(rd->fd);
    }

    free(rd->buf);
    rd->buf = NULL;
    rd->fd = -1;
}
