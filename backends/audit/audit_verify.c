
/*
 * Copyright (C) Tollgate
 *
 * `audit verify [--key FILE] DIR`: checks a data folder offline, from
 * the stored bytes alone (nothing is canonicalized again), in one pass:
 *
 *   - every segment header (its first record index follows the last);
 *   - every frame: its length, its CRC32C, its body;
 *   - the hash chain: chain(i) recomputed from chain(i - 1) and the leaf
 *     hash of record i must equal the stored one; the first break names
 *     the record where something was changed, removed, inserted or
 *     reordered, after which the stored value is taken so that one
 *     damage gives one report;
 *   - the Merkle tree: every node recomputed is compared with the node
 *     file, and the root at each checkpoint's size with the root that
 *     checkpoint signs;
 *   - every checkpoint's Ed25519 signature, with the verifier key given
 *     (--key: a file holding the published key) or the folder's
 *     audit.pub; and that no checkpoint commits to more records than
 *     the log holds (a cut tail).
 *
 * Each problem is a line "record N: ..." (or "checkpoint K: ...",
 * "nodes: ..."); the exit status is 0 when there is none, 1 otherwise,
 * 2 for a bad command line.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "gw_b64std.h"
#include "gw_checkpoint.h"


#define AUDIT_VERIFY_REPORTS  50


typedef struct {
    uint64_t             size;
    size_t               k;
    unsigned char        root[GW_MERKLE_HASH_LEN];
} audit_vcp_t;


typedef struct {
    gw_merkle_hasher_t  *h;
    gw_note_vkey_t       vkey;
    audit_vcp_t         *cps;
    size_t               ncps;
    size_t               cap;
    size_t               next;
    uint64_t             good;          /* the size of the last checkpoint
                                         * whose root matched */
    const unsigned char *nodes;
    uint64_t             nnodes;
    uint64_t             node_pos;
    int                  node_bad;
    unsigned             problems;
    unsigned             warnings;
    gw_merkle_range_t    range;
} audit_verify_t;


static void audit_problem(audit_verify_t *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int audit_verify_cp(void *data, size_t k, const unsigned char *note,
    size_t len, int crc_ok);
static int audit_verify_node(void *data, unsigned level, uint64_t index,
    const unsigned char *hash);
static int audit_verify_roots(audit_verify_t *v);
static int audit_verify_segment(audit_verify_t *v, const char *path,
    uint64_t *index, unsigned char *chain);
static int audit_has_id(const unsigned char *rec, size_t len,
    const unsigned char *id, size_t id_len);


static void
audit_problem(audit_verify_t *v, const char *fmt, ...)
{
    va_list  ap;

    if (v->problems++ >= AUDIT_VERIFY_REPORTS) {
        return;
    }

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}


static int
audit_verify_cp(void *data, size_t k, const unsigned char *note, size_t len,
    int crc_ok)
{
    size_t           cap;
    const char      *err;
    audit_vcp_t     *cps;
    gw_checkpoint_t  cp;
    audit_verify_t  *v;

    v = data;

    if (!crc_ok) {
        audit_problem(v, "checkpoint %zu: checksum mismatch (bytes changed)",
                      k);
    }

    if (gw_checkpoint_open(&cp, note, len, &v->vkey, 1, &err) != 0) {
        audit_problem(v, "checkpoint %zu: %s", k, err);
        return 0;
    }

    if (v->ncps > 0 && cp.size < v->cps[v->ncps - 1].size) {
        audit_problem(v, "checkpoint %zu: its size %llu is below the one "
                      "before it", k, (unsigned long long) cp.size);
        return 0;
    }

    if (v->ncps == v->cap) {
        cap = v->cap ? v->cap * 2 : 64;
        cps = realloc(v->cps, cap * sizeof(audit_vcp_t));
        if (cps == NULL) {
            return -1;
        }
        v->cps = cps;
        v->cap = cap;
    }

    v->cps[v->ncps].size = cp.size;
    v->cps[v->ncps].k = k;
    memcpy(v->cps[v->ncps].root, cp.root, GW_MERKLE_HASH_LEN);
    v->ncps++;

    return 0;
}


static int
audit_verify_node(void *data, unsigned level, uint64_t index,
    const unsigned char *hash)
{
    audit_verify_t  *v;

    v = data;

    if (v->node_pos < v->nnodes && !v->node_bad
        && memcmp(v->nodes + v->node_pos * GW_MERKLE_HASH_LEN, hash,
                  GW_MERKLE_HASH_LEN) != 0)
    {
        v->node_bad = 1;

        if (level == 0) {
            audit_problem(v, "record %llu: its leaf hash differs from the "
                          "node file", (unsigned long long) index);
        } else {
            audit_problem(v, "nodes: node (level %u, index %llu) differs "
                          "from the records", level,
                          (unsigned long long) index);
        }
    }

    v->node_pos++;

    return 0;
}


/*
 * 1 when the canonical record holds the member "id":"<id>".  The frame's
 * copy of the id is not hashed (it only spares the service a JSON parse
 * at start), so this is what ties it to the record.  Ids need no escape,
 * and an unescaped quote before "id" can only open a member name.
 */

static int
audit_has_id(const unsigned char *rec, size_t len, const unsigned char *id,
    size_t id_len)
{
    size_t                need;
    const unsigned char  *p, *end;

    need = sizeof("\"id\":\"") - 1 + id_len + 1;
    end = rec + len;

    for (p = rec; (size_t) (end - p) >= need; p++) {
        p = memchr(p, '"', end - p - need + 1);
        if (p == NULL) {
            return 0;
        }

        if (memcmp(p, "\"id\":\"", 6) == 0
            && memcmp(p + 6, id, id_len) == 0 && p[6 + id_len] == '"')
        {
            return 1;
        }
    }

    return 0;
}


/* compares the roots of the checkpoints whose size the tree has reached */

static int
audit_verify_roots(audit_verify_t *v)
{
    audit_vcp_t       *cp;
    gw_merkle_hash_t   root;

    while (v->next < v->ncps && v->cps[v->next].size == v->range.size) {
        cp = &v->cps[v->next++];

        if (gw_merkle_range_root(v->h, &v->range, root) != 0) {
            return -1;
        }

        if (memcmp(root, cp->root, GW_MERKLE_HASH_LEN) == 0) {
            v->good = cp->size;
            continue;
        }

        /* with the chain, the CRCs and the nodes rewritten to agree,
         * this root is all that tells: the change is after the records
         * of the last checkpoint whose root matched */

        if (cp->size == 0) {
            audit_problem(v, "checkpoint %zu: it signs another root for "
                          "the empty tree", cp->k);
            continue;
        }

        audit_problem(v, "checkpoint %zu: the first %llu records do not "
                      "give the root it signs (the first difference is "
                      "at a record from index %llu to %llu)", cp->k,
                      (unsigned long long) cp->size,
                      (unsigned long long) v->good,
                      (unsigned long long) cp->size - 1);
    }

    return 0;
}


static int
audit_verify_segment(audit_verify_t *v, const char *path, uint64_t *index,
    unsigned char *chain)
{
    int               fd, crc_ok;
    off_t             off;
    size_t            len, id_len;
    uint64_t          first;
    struct stat       sb;
    const char       *err;
    unsigned char    *map;
    const unsigned char  *p, *body;
    gw_merkle_hash_t  leaf, c;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &sb) == -1) {
        audit_problem(v, "record %llu: %s: %s", (unsigned long long) *index,
                      path, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return 0;
    }

    if (sb.st_size < AUDIT_SEG_HDR) {
        close(fd);
        if (sb.st_size > 0) {
            audit_problem(v, "record %llu: %s is shorter than a header",
                          (unsigned long long) *index, path);
        }
        return 0;
    }

    map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);

    if (map == MAP_FAILED) {
        audit_problem(v, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }

    madvise(map, sb.st_size, MADV_SEQUENTIAL);

    first = ((uint64_t) map[8] << 56) | ((uint64_t) map[9] << 48)
            | ((uint64_t) map[10] << 40) | ((uint64_t) map[11] << 32)
            | ((uint64_t) map[12] << 24) | ((uint64_t) map[13] << 16)
            | ((uint64_t) map[14] << 8) | map[15];

    if (memcmp(map, AUDIT_SEG_MAGIC, 8) != 0) {
        audit_problem(v, "record %llu: %s: bad segment header",
                      (unsigned long long) *index, path);

    } else if (first != *index) {
        audit_problem(v, "record %llu: %s starts at record %llu (records "
                      "removed or inserted)", (unsigned long long) *index,
                      path, (unsigned long long) first);
    }

    off = AUDIT_SEG_HDR;

    while (off < sb.st_size) {
        p = map + off;

        if (sb.st_size - off < AUDIT_FRAME_HDR) {
            audit_problem(v, "record %llu: truncated: %lld stray bytes at "
                          "the end of %s", (unsigned long long) *index,
                          (long long) (sb.st_size - off), path);
            break;
        }

        len = ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
              | ((size_t) p[2] << 8) | p[3];

        if (len < GW_MERKLE_HASH_LEN + 3
            || len > GW_MERKLE_HASH_LEN + 1 + AUDIT_ID_MAX + AUDIT_RECORD_MAX)
        {
            audit_problem(v, "record %llu: bad frame length %zu (damaged "
                          "bytes); the rest of %s is not read",
                          (unsigned long long) *index, len, path);
            break;
        }

        if ((size_t) (sb.st_size - off - AUDIT_FRAME_HDR) < len) {
            audit_problem(v, "record %llu: truncated: its frame needs %zu "
                          "bytes, %lld are left in %s",
                          (unsigned long long) *index, len,
                          (long long) (sb.st_size - off - AUDIT_FRAME_HDR),
                          path);
            break;
        }

        body = p + AUDIT_FRAME_HDR;
        crc_ok = audit_crc32c(body, len)
                 == (((uint32_t) p[4] << 24) | ((uint32_t) p[5] << 16)
                     | ((uint32_t) p[6] << 8) | p[7]);

        if (!crc_ok) {
            audit_problem(v, "record %llu: checksum mismatch (bytes "
                          "changed)", (unsigned long long) *index);
        }

        id_len = body[GW_MERKLE_HASH_LEN];

        if (id_len == 0 || id_len > AUDIT_ID_MAX
            || GW_MERKLE_HASH_LEN + 1 + id_len >= len)
        {
            audit_problem(v, "record %llu: malformed frame body",
                          (unsigned long long) *index);
            memset(leaf, 0, sizeof(leaf));

        } else if (gw_merkle_leaf_hash(v->h,
                                       body + GW_MERKLE_HASH_LEN + 1 + id_len,
                                       len - GW_MERKLE_HASH_LEN - 1 - id_len,
                                       leaf) != 0)
        {
            munmap(map, sb.st_size);
            return -1;
        }

        if (id_len > 0 && id_len <= AUDIT_ID_MAX
            && GW_MERKLE_HASH_LEN + 1 + id_len < len && crc_ok
            && !audit_has_id(body + GW_MERKLE_HASH_LEN + 1 + id_len,
                             len - GW_MERKLE_HASH_LEN - 1 - id_len,
                             body + GW_MERKLE_HASH_LEN + 1, id_len))
        {
            audit_problem(v, "record %llu: the frame's id is not the "
                          "record's", (unsigned long long) *index);
        }

        if (gw_merkle_chain_hash(v->h, chain, leaf, c) != 0) {
            munmap(map, sb.st_size);
            return -1;
        }

        if (memcmp(c, body, GW_MERKLE_HASH_LEN) != 0 && crc_ok) {
            audit_problem(v, "record %llu: hash chain broken (a record "
                          "changed, removed, inserted or reordered here)",
                          (unsigned long long) *index);
        }

        /* go on from the stored value: one damage, one report */
        memcpy(chain, body, GW_MERKLE_HASH_LEN);

        if (gw_merkle_range_append(v->h, &v->range, leaf, audit_verify_node,
                                   v, &err) != 0
            || audit_verify_roots(v) != 0)
        {
            munmap(map, sb.st_size);
            return -1;
        }

        (*index)++;
        off += AUDIT_FRAME_HDR + len;
    }

    munmap(map, sb.st_size);

    return 0;
}


int
audit_verify_main(int argc, char **argv)
{
    int              i, rc, fd;
    off_t            torn;
    char             path[4096], err[AUDIT_ERR_MAX];
    char            *b64;
    size_t           nnames, len, j;
    char           **names;
    uint64_t         index, expect;
    struct stat      sb;
    const char      *dir, *key, *e;
    unsigned char   *text, *map;
    unsigned char    chain[GW_MERKLE_HASH_LEN];
    gw_merkle_hash_t root;
    struct timespec  t0, t1;
    audit_verify_t   v;

    dir = NULL;
    key = NULL;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (dir == NULL && argv[i][0] != '-') {
            dir = argv[i];
        } else {
            dir = NULL;
            break;
        }
    }

    if (dir == NULL) {
        fprintf(stderr, "usage: audit verify [--key FILE] DIR\n"
                "  FILE holds the published verifier key; without it the "
                "folder's audit.pub\n  is used, which proves less\n");
        return 2;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    memset(&v, 0, sizeof(v));
    gw_merkle_range_init(&v.range);
    map = MAP_FAILED;
    names = NULL;
    nnames = 0;
    rc = 2;

    v.h = gw_merkle_hasher_new();
    if (v.h == NULL) {
        fprintf(stderr, "audit verify: out of memory\n");
        return 2;
    }

    if (key == NULL) {
        snprintf(path, sizeof(path), "%s/audit.pub", dir);
        key = path;
        printf("note: using the folder's own key (%s); pass --key with the "
               "published key to pin it\n", path);
    }

    if (audit_read_file(key, 4096, &text, &len) != 0) {
        fprintf(stderr, "audit verify: %s: %s\n", key, strerror(errno));
        goto done;
    }

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
        len--;
    }

    i = gw_note_vkey_parse(&v.vkey, text, len, &e);
    free(text);

    if (i != 0) {
        fprintf(stderr, "audit verify: %s: %s\n", key, e);
        goto done;
    }

    rc = 1;

    if (audit_checkpoints_scan(dir, 0, audit_verify_cp, &v, &torn, err,
                               sizeof(err)) != 0)
    {
        audit_problem(&v, "checkpoints: %s", err);
    }

    if (torn >= 0) {
        printf("warning: checkpoints: a torn frame at byte %lld (cut at the "
               "next start)\n", (long long) torn);
        v.warnings++;
    }

    /* the node file, to compare every node with */

    snprintf(path, sizeof(path), "%s/nodes", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd != -1 && fstat(fd, &sb) == 0 && sb.st_size > 0) {
        map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            v.nodes = map;
            v.nnodes = sb.st_size / GW_MERKLE_HASH_LEN;
            madvise(map, sb.st_size, MADV_SEQUENTIAL);
        }
    }

    if (fd != -1) {
        close(fd);
    }

    if (audit_list_segments(dir, &names, &nnames, err, sizeof(err)) != 0) {
        audit_problem(&v, "%s", err);
        goto report;
    }

    index = 0;
    memset(chain, 0, sizeof(chain));

    if (audit_verify_roots(&v) != 0) {
        goto report;
    }

    for (j = 0; j < nnames; j++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[j]);

        if (audit_verify_segment(&v, path, &index, chain) != 0) {
            audit_problem(&v, "%s: cannot be read", path);
            break;
        }
    }

    for ( /* void */ ; v.next < v.ncps; v.next++) {
        audit_problem(&v, "record %llu: missing: checkpoint %zu commits to "
                      "%llu records, the log holds %llu (records removed or "
                      "the tail cut)", (unsigned long long) index,
                      v.cps[v.next].k,
                      (unsigned long long) v.cps[v.next].size,
                      (unsigned long long) index);
    }

    expect = 2 * index - __builtin_popcountll(index);

    if (v.nodes != NULL && v.nnodes != expect) {
        printf("warning: nodes: the file holds %llu nodes, %llu records "
               "need %llu (%s)\n", (unsigned long long) v.nnodes,
               (unsigned long long) index, (unsigned long long) expect,
               v.nnodes > expect ? "records missing from the tail, or a "
               "crash before the next start" : "completed at the next "
               "start");
        v.warnings++;
    }

    if (gw_merkle_range_root(v.h, &v.range, root) != 0) {
        goto report;
    }

report:

    clock_gettime(CLOCK_MONOTONIC, &t1);

    if (v.problems > AUDIT_VERIFY_REPORTS) {
        printf("... %u more problems\n", v.problems - AUDIT_VERIFY_REPORTS);
    }

    b64 = malloc(gw_b64std_encoded_len(GW_MERKLE_HASH_LEN) + 1);

    if (v.problems == 0 && b64 != NULL) {
        b64[gw_b64std_encode((unsigned char *) b64, root,
                             GW_MERKLE_HASH_LEN)] = '\0';
        printf("verify: ok: %llu records in %zu segments, %zu checkpoints "
               "(latest of %llu records) signed by %s, root %s, %.3f s\n",
               (unsigned long long) v.range.size, nnames, v.ncps,
               (unsigned long long) (v.ncps ? v.cps[v.ncps - 1].size : 0),
               v.vkey.name, b64,
               (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        rc = 0;

    } else {
        printf("verify: FAILED: %u problem%s in %llu records\n",
               v.problems, v.problems == 1 ? "" : "s",
               (unsigned long long) v.range.size);
        rc = 1;
    }

    free(b64);

done:

    if (map != MAP_FAILED) {
        munmap(map, v.nnodes * GW_MERKLE_HASH_LEN);
    }

    audit_free_list(names, nnames);
    free(v.cps);
    gw_note_vkey_free(&v.vkey);
    gw_merkle_hasher_free(v.h);

    return rc;
}
