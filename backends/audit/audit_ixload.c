
/*
 * Copyright (C) Tollgate
 *
 * The index files read back at open (docs/audit-format.md, "Indexes"):
 * a sealed segment's idx-<first> (its summary only: the file offsets,
 * the time spans, the fence, the unreadable records, the bloom filter;
 * the entries stay on disk for audit_ixquery.c), and the open segment's
 * idx-<first>.open of the last graceful stop, whose entries go back into
 * memory.  Files of the first version (TGAUDIX1, no bloom filter) are
 * still read.  audit_ixfile.c writes them.
 */


#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"


static void
audit_ixload_path(audit_store_t *st, uint64_t first, char *path, size_t len,
    const char *suffix)
{
    snprintf(path, len, "%s/idx-%020llu%s", st->dir,
             (unsigned long long) first, suffix);
}


/*
 * Reads the header and summary of the index file open as fd, of magic;
 * checks their CRC and sizes against count records.  0 with *out (and
 * the offsets in *marks), 1 when the file is not one to trust, -1 with
 * st->err.
 */

static int
audit_ix_read(audit_store_t *st, int fd, const char *magic,
    unsigned char *hdr, audit_ixseg_t **out, off_t **marks)
{
    int              rc, v1;
    size_t           crc_at;
    size_t           meta;
    uint64_t         count, nent, nbad, nmarks, nfence, nb, i, v;
    struct stat      ib;
    audit_ixseg_t   *ix;
    unsigned char   *buf, *p;

    rc = 1;
    buf = NULL;
    ix = NULL;
    *marks = NULL;

    if (fstat(fd, &ib) != 0
        || pread(fd, hdr, AUDIT_IX_HDR, 0) != AUDIT_IX_HDR)
    {
        return 1;
    }

    /* a sealed segment's file of the first version: no bloom filter, the
     * CRC of 104 bytes at 104 */

    v1 = (strcmp(magic, AUDIT_IX_MAGIC) == 0
          && memcmp(hdr, "TGAUDIX1", 8) == 0);

    if (!v1 && memcmp(hdr, magic, 8) != 0) {
        return 1;
    }

    if (v1) {
        memset(hdr + 108, 0, 8);
        memcpy(hdr + 112, hdr + 104, 4);
        memset(hdr + 104, 0, 4);
    }

    crc_at = v1 ? 104 : 112;

    count = audit_get64(hdr + 16);
    nent = audit_get64(hdr + 40);
    nbad = audit_get64(hdr + 48);
    nmarks = audit_get64(hdr + 56);
    nfence = audit_get64(hdr + 64);
    nb = audit_get64(hdr + 104);

    if (count > UINT32_MAX
        || nmarks != (count + AUDIT_MARK - 1) / AUDIT_MARK
        || nbad > count || nent > count * AUDIT_IX_FIELDS
        || nfence != (nent + AUDIT_IX_BLOCK - 1) / AUDIT_IX_BLOCK
        || nb > (count + nent) * 4 + 16 || (nb & (nb - 1)) != 0
        || (nb != 0 && nb < 8))
    {
        return 1;
    }

    meta = nmarks * 24 + nbad * 8 + nfence * 8 + nb;

    if ((uint64_t) ib.st_size != AUDIT_IX_HDR + meta + nent * AUDIT_IX_ENT) {
        return 1;
    }

    rc = -1;
    buf = malloc(meta + 1);
    ix = calloc(1, sizeof(audit_ixseg_t));
    if (buf == NULL || ix == NULL) {
        audit_err(st, "index: out of memory");
        goto done;
    }

    rc = 1;
    if (pread(fd, buf, meta, AUDIT_IX_HDR) != (ssize_t) meta
        || audit_crc32c_update(audit_crc32c_update(0, hdr, crc_at), buf,
                               meta)
           != audit_get32(hdr + 112))
    {
        goto done;
    }

    rc = -1;
    *marks = malloc((nmarks + 1) * sizeof(off_t));
    ix->zones = malloc((nmarks + 1) * sizeof(audit_zone_t));
    ix->bad = malloc((nbad + 1) * sizeof(uint64_t));
    ix->fence = malloc((nfence + 1) * sizeof(uint64_t));
    ix->bloom = malloc(nb + 1);
    if (*marks == NULL || ix->zones == NULL || ix->bad == NULL
        || ix->fence == NULL || ix->bloom == NULL)
    {
        audit_err(st, "index: out of memory");
        goto done;
    }

    p = buf;
    for (i = 0; i < nmarks; i++, p += 8) {
        (*marks)[i] = (off_t) audit_get64(p);
    }
    for (i = 0; i < nmarks; i++, p += 16) {
        v = audit_get64(p);
        memcpy(&ix->zones[i].min, &v, 8);
        v = audit_get64(p + 8);
        memcpy(&ix->zones[i].max, &v, 8);
    }
    for (i = 0; i < nbad; i++, p += 8) {
        ix->bad[i] = audit_get64(p);
    }
    for (i = 0; i < nfence; i++, p += 8) {
        ix->fence[i] = audit_get64(p);
    }
    memcpy(ix->bloom, p, nb);

    ix->nent = nent;
    ix->nfence = nfence;
    ix->nbad = nbad;
    ix->nbloom = nb;
    ix->ent_off = AUDIT_IX_HDR + (off_t) meta;

    *out = ix;
    ix = NULL;
    rc = 0;

done:

    if (rc != 0) {
        free(*marks);
        *marks = NULL;
    }

    free(buf);
    audit_ixseg_free(ix);

    return rc;
}


/*
 * Takes sealed segment seg (its records end at record end) from its
 * index file: count, size, file offsets, the index's summary and the
 * chain value of its last record.  0 when taken; 1 when the file is
 * missing, damaged or not of this segment as it is now (the caller
 * scans and indexes it again); -1 with st->err.
 */

int
audit_index_load(audit_store_t *st, audit_seg_t *seg, uint64_t end)
{
    int              fd, rc;
    char             path[1100];
    off_t           *marks;
    uint64_t         mt;
    struct stat      sb;
    audit_ixseg_t   *ix;
    unsigned char    hdr[AUDIT_IX_HDR];

    audit_ixload_path(st, seg->first, path, sizeof(path), ".open");
    (void) unlink(path);

    audit_ixload_path(st, seg->first, path, sizeof(path), "");

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 1;
    }

    if (stat(seg->path, &sb) != 0) {
        close(fd);
        return 1;
    }

    rc = audit_ix_read(st, fd, AUDIT_IX_MAGIC, hdr, &ix, &marks);
    close(fd);

    if (rc != 0) {
        return rc;
    }

    mt = (uint64_t) sb.st_mtim.tv_sec * 1000000000ULL + sb.st_mtim.tv_nsec;

    if (audit_get64(hdr + 8) != seg->first
        || audit_get64(hdr + 16) != end - seg->first
        || audit_get64(hdr + 24) != (uint64_t) sb.st_size
        || audit_get64(hdr + 32) != mt)
    {
        audit_ixseg_free(ix);
        free(marks);
        return 1;
    }

    free(seg->marks);
    seg->marks = marks;
    seg->nmarks = audit_get64(hdr + 56);
    seg->cap = seg->nmarks + 1;
    seg->count = end - seg->first;
    seg->size = sb.st_size;
    memcpy(st->chain, hdr + 72, GW_MERKLE_HASH_LEN);
    seg->ix = ix;

    return 0;
}


/*
 * Takes the open segment's index from idx-<first>.open into st->mem when
 * the segment still holds the records it covers (the frame at the offset
 * it names is there, whole, with its chain value, and ends where the
 * file ended then): st->ix_covered is then their count, and the scan
 * indexes only the records after them.  0 (taken or not), or -1 with
 * st->err.
 */

int
audit_index_load_open(audit_store_t *st, audit_seg_t *seg)
{
    int              fd, sfd, rc;
    char             path[1100];
    off_t           *marks, last, end;
    ssize_t          n;
    uint64_t         i;
    audit_rec_t      rec;
    audit_zone_t    *z;
    audit_ixseg_t   *ix;
    audit_ixrec_t    x;
    unsigned char    hdr[AUDIT_IX_HDR];
    unsigned char   *buf, *p;

    st->ix_covered = 0;
    ix = NULL;
    marks = NULL;
    buf = NULL;

    audit_ixload_path(st, seg->first, path, sizeof(path), ".open");

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }

    rc = audit_ix_read(st, fd, AUDIT_IX_OPEN_MAGIC, hdr, &ix, &marks);
    if (rc != 0 || audit_get64(hdr + 8) != seg->first) {
        goto done;
    }

    /* the last record it covers, read back from the segment */

    last = (off_t) audit_get64(hdr + 32);
    end = (off_t) audit_get64(hdr + 24);
    rc = -1;

    if (last < AUDIT_SEG_HDR || end <= last
        || end - last > AUDIT_FRAME_HDR + GW_MERKLE_HASH_LEN + 1
                        + AUDIT_ID_MAX + AUDIT_RECORD_MAX)
    {
        rc = 0;
        goto done;
    }

    buf = malloc(end - last);
    if (buf == NULL) {
        audit_err(st, "index: out of memory");
        goto done;
    }

    rc = 0;
    sfd = open(seg->path, O_RDONLY | O_CLOEXEC);
    if (sfd == -1) {
        goto done;
    }
    n = pread(sfd, buf, end - last, last);
    close(sfd);

    if (n != end - last || audit_frame_parse(buf, n, &rec) != n
        || memcmp(rec.chain, hdr + 72, GW_MERKLE_HASH_LEN) != 0)
    {
        goto done;
    }

    free(buf);
    buf = NULL;

    /* the entries into memory, key by key, records ascending */

    rc = -1;
    buf = malloc(ix->nent * AUDIT_IX_ENT + 1);
    if (buf == NULL) {
        audit_err(st, "index: out of memory");
        goto done;
    }

    rc = 0;
    if (pread(fd, buf, ix->nent * AUDIT_IX_ENT, ix->ent_off)
        != (ssize_t) (ix->nent * AUDIT_IX_ENT))
    {
        goto done;
    }

    audit_memix_reset(&st->mem);
    rc = -1;

    for (i = 0, p = buf; i < ix->nent; i++, p += AUDIT_IX_ENT) {
        if (audit_index_put(st, audit_get64(p), audit_get32(p + 8)) != 0) {
            goto done;
        }
    }

    for (i = 0; i < audit_get64(hdr + 56); i++) {
        z = audit_index_zone(st, i * AUDIT_MARK);
        if (z == NULL) {
            goto done;
        }
        *z = ix->zones[i];
    }

    for (i = 0; i < ix->nbad; i++) {
        memset(&x, 0, sizeof(x));
        x.bad = 1;
        if (audit_index_add(st, ix->bad[i], NULL, 0, &x) != 0) {
            goto done;
        }
    }

    st->ix_covered = audit_get64(hdr + 16);
    rc = 0;

done:

    if (rc != 0 || st->ix_covered == 0) {
        audit_memix_reset(&st->mem);
        st->ix_covered = 0;
    }

    close(fd);
    free(buf);
    free(marks);
    audit_ixseg_free(ix);

    return rc;
}
