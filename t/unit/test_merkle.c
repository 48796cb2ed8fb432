
/*
 * Copyright (C) Tollgate
 *
 * RFC 9162 Merkle trees (lib/merkle).
 *   - Every case of transparency-dev/merkle's testdata/inclusion and
 *     testdata/consistency (../shared/data/merkle-testdata, or
 *     GW_SHARED_DATA), malformed proofs included, through the _bytes
 *     verifiers: one check per file, its outcome against wantErr.
 *   - The roots of the RFC 6962 reference tree of eight leaves.
 *   - Generation against an independent model: for every tree of 1 to 70
 *     leaves, the compact range's root, gw_merkle_root() at every smaller
 *     size, and each inclusion and consistency proof are compared with a
 *     plain recursive MTH(); each proof verifies, and fails once a bit of
 *     any of its hashes is flipped (seven bits per hash), its index or
 *     first size is moved, its roots are swapped, or a hash is added or
 *     taken away.  Larger trees are spot-checked.
 *   - The hash chain against SHA-256 computed here.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw_b64std.h"
#include "gw_merkle.h"
#include "tap.h"


#define SMALL_MAX  70
#define BIG_SIZE   5000


typedef struct {
    size_t  files;
    size_t  passed;
} vec_stats_t;


static gw_merkle_hasher_t  *hasher;
static gw_merkle_hash_t    *leaves;        /* leaf hashes of the model */


/* the RFC 6962 reference leaves and roots (as in certificate-transparency) */

static const struct {
    const char  *data;
    size_t       len;
    const char  *root;
} ref[] = {
    { "", 0,
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
    { "\x00", 1,
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
    { "\x10", 1,
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77" },
    { "\x20\x21", 2,
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
    { "\x30\x31", 2,
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4" },
    { "\x40\x41\x42\x43", 4,
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef" },
    { "\x50\x51\x52\x53\x54\x55\x56\x57", 8,
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c" },
    { "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16,
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" }
};


static void
to_hex(const unsigned char *h, char *out)
{
    int  i;

    for (i = 0; i < GW_MERKLE_HASH_LEN; i++) {
        sprintf(out + 2 * i, "%02x", h[i]);
    }
}


/* a base64 string into buf: 0 with *len, -1 when it is not base64 */

static int
b64_value(json_t *v, unsigned char *buf, size_t *len)
{
    ssize_t      n;
    const char  *s;

    s = json_string_value(v);

    if (s == NULL || strlen(s) > 128) {
        return -1;
    }

    n = gw_b64std_decode(buf, (const unsigned char *) s, strlen(s));
    if (n < 0) {
        return -1;
    }

    *len = (size_t) n;

    return 0;
}


static int
b64_member(json_t *obj, const char *name, unsigned char *buf, size_t *len)
{
    return b64_value(json_object_get(obj, name), buf, len);
}


/*
 * A size or index member as uint64_t: jansson's json_int_t is signed, and
 * the cases hold 2^64 - 1, so the number is read from the text itself.
 */

static int
u64_member(const char *text, const char *name, uint64_t *out)
{
    char         key[64], *end;
    const char  *p;

    snprintf(key, sizeof(key), "\"%s\":", name);

    p = strstr(text, key);
    if (p == NULL) {
        return -1;
    }

    p += strlen(key);

    while (*p == ' ') {
        p++;
    }

    if (*p < '0' || *p > '9') {
        return -1;
    }

    *out = strtoull(p, &end, 10);

    return 0;
}


static void
run_case(const char *path, int consistency, vec_stats_t *st)
{
    int                 rc, want_err;
    char               *text;
    FILE               *f;
    json_t             *root, *proof, *v;
    size_t              i, n, len1, len2;
    uint64_t            a, b;
    const char         *err;
    unsigned char       b1[96], b2[96], pb[GW_MERKLE_MAX_PROOF + 8][96];
    gw_merkle_bytes_t   x, y, items[GW_MERKLE_MAX_PROOF + 8];

    st->files++;

    text = NULL;
    f = fopen(path, "rb");

    if (f != NULL) {
        text = calloc(1, 65536);
        if (text == NULL) {
            bail_out("out of memory");
        }

        if (fread(text, 1, 65535, f) == 0) {
            text[0] = '\0';
        }

        fclose(f);
    }

    root = json_load_file(path, JSON_DECODE_INT_AS_REAL, NULL);

    if (root == NULL || text == NULL
        || u64_member(text, consistency ? "size1" : "leafIdx", &a) != 0
        || u64_member(text, consistency ? "size2" : "treeSize", &b) != 0)
    {
        ok(0, "%s: readable JSON", path);
        json_decref(root);
        free(text);
        return;
    }

    free(text);

    want_err = json_is_true(json_object_get(root, "wantErr"));
    proof = json_object_get(root, "proof");
    n = json_is_array(proof) ? json_array_size(proof) : 0;

    if (n > GW_MERKLE_MAX_PROOF + 8) {
        ok(0, "%s: proof of %zu hashes fits the test", path, n);
        json_decref(root);
        return;
    }

    for (i = 0; i < n; i++) {
        v = json_array_get(proof, i);

        if (b64_value(v, pb[i], &len1) != 0) {
            ok(0, "%s: proof hash %zu is base64", path, i);
            json_decref(root);
            return;
        }

        items[i].data = pb[i];
        items[i].len = len1;
    }

    err = NULL;

    if (consistency) {
        if (b64_member(root, "root1", b1, &len1) != 0
            || b64_member(root, "root2", b2, &len2) != 0)
        {
            ok(0, "%s: roots are base64", path);
            json_decref(root);
            return;
        }

        x.data = b1;
        x.len = len1;
        y.data = b2;
        y.len = len2;

        rc = gw_merkle_verify_consistency_bytes(hasher, a, b, x, y, items,
                                                n, &err);

    } else {
        if (b64_member(root, "leafHash", b1, &len1) != 0
            || b64_member(root, "root", b2, &len2) != 0)
        {
            ok(0, "%s: hashes are base64", path);
            json_decref(root);
            return;
        }

        x.data = b1;
        x.len = len1;
        y.data = b2;
        y.len = len2;

        rc = gw_merkle_verify_inclusion_bytes(hasher, a, b, x, items, n, y,
                                              &err);
    }

    if (ok((rc != 0) == want_err && (rc == 0 || err != NULL),
           "%s: %s", path, want_err ? "rejected" : "verifies"))
    {
        st->passed++;

    } else {
        diag("%s: %s", json_string_value(json_object_get(root, "desc")),
             err ? err : "accepted");
    }

    json_decref(root);
}


static int
path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
run_dir(const char *dir, int consistency, vec_stats_t *st)
{
    DIR            *d;
    char            path[4096], **names;
    size_t          i, n, cap;
    struct stat     sb;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    n = 0;
    cap = 64;
    names = malloc(cap * sizeof(char *));
    if (names == NULL) {
        bail_out("out of memory");
    }

    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }

        if (n == cap) {
            cap *= 2;
            names = realloc(names, cap * sizeof(char *));
            if (names == NULL) {
                bail_out("out of memory");
            }
        }

        names[n] = strdup(e->d_name);
        if (names[n] == NULL) {
            bail_out("out of memory");
        }

        n++;
    }

    closedir(d);

    qsort(names, n, sizeof(char *), path_cmp);

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            run_dir(path, consistency, st);

        } else if (strlen(names[i]) > 5
                   && strcmp(names[i] + strlen(names[i]) - 5, ".json") == 0)
        {
            run_case(path, consistency, st);
        }

        free(names[i]);
    }

    free(names);
}


static void
test_vectors(const char *data)
{
    char         dir[2048];
    DIR         *d;
    vec_stats_t  incl, cons;

    snprintf(dir, sizeof(dir), "%s/merkle-testdata/testdata", data);

    d = opendir(dir);
    if (d == NULL) {
        skip(1, "no Merkle test data: ../shared/data/merkle-testdata is "
             "absent (set GW_SHARED_DATA)");
        return;
    }

    closedir(d);

    memset(&incl, 0, sizeof(incl));
    memset(&cons, 0, sizeof(cons));

    snprintf(dir, sizeof(dir), "%s/merkle-testdata/testdata/inclusion",
             data);
    run_dir(dir, 0, &incl);

    snprintf(dir, sizeof(dir), "%s/merkle-testdata/testdata/consistency",
             data);
    run_dir(dir, 1, &cons);

    ok(incl.files > 0 && incl.passed == incl.files,
       "inclusion vectors: %zu of %zu pass", incl.passed, incl.files);
    ok(cons.files > 0 && cons.passed == cons.files,
       "consistency vectors: %zu of %zu pass", cons.passed, cons.files);
}


/* MTH(D[lo:hi]) straight from RFC 9162 section 2.1.1 */

static void
model_mth(uint64_t lo, uint64_t hi, unsigned char *out)
{
    uint64_t          k;
    gw_merkle_hash_t  l, r;

    if (hi - lo == 1) {
        memcpy(out, leaves[lo], GW_MERKLE_HASH_LEN);
        return;
    }

    for (k = 1; k * 2 < hi - lo; k *= 2) {
        /* void */
    }

    model_mth(lo, lo + k, l);
    model_mth(lo + k, hi, r);
    gw_merkle_node_hash(hasher, l, r, out);
}


static void
test_reference(void)
{
    char               hex[65];
    size_t             i;
    gw_merkle_hash_t   leaf, root;
    gw_merkle_range_t  r;

    gw_merkle_range_init(&r);
    gw_merkle_range_root(hasher, &r, root);
    to_hex(root, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7"
           "852b855", "empty tree root");

    for (i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
        gw_merkle_leaf_hash(hasher, (const unsigned char *) ref[i].data,
                            ref[i].len, leaf);
        gw_merkle_range_append(hasher, &r, leaf, NULL, NULL, NULL);
        gw_merkle_range_root(hasher, &r, root);
        to_hex(root, hex);
        is_str(hex, ref[i].root, "RFC 6962 reference tree of %zu leaves",
               i + 1);
    }
}


/* 1 when every change of the proof is rejected (size1 0: inclusion) */

static int
mutations_fail(uint64_t index, uint64_t size, uint64_t size1,
    const unsigned char *leaf, const unsigned char *root1,
    const unsigned char *root2, gw_merkle_hash_t *proof, size_t n)
{
    int               rc;
    size_t            i, bit;
    const char       *err;
    gw_merkle_hash_t  extra[GW_MERKLE_MAX_PROOF + 1];

    for (i = 0; i < n; i++) {
        for (bit = 0; bit < 256; bit += 37) {
            proof[i][bit / 8] ^= (unsigned char) (1 << (bit % 8));

            if (size1 == 0) {
                rc = gw_merkle_verify_inclusion(hasher, index, size, leaf,
                                                proof, n, root2, &err);
            } else {
                rc = gw_merkle_verify_consistency(hasher, size1, size,
                                                  root1, root2, proof, n,
                                                  &err);
            }

            proof[i][bit / 8] ^= (unsigned char) (1 << (bit % 8));

            if (rc == 0) {
                return 0;
            }
        }
    }

    /* one hash more (a copy of the last, or the root), one hash less */

    memcpy(extra, proof, n * sizeof(gw_merkle_hash_t));
    memcpy(extra[n], n ? proof[n - 1] : root2, GW_MERKLE_HASH_LEN);

    if (size1 == 0) {
        if (gw_merkle_verify_inclusion(hasher, index, size, leaf, extra,
                                       n + 1, root2, &err) == 0
            || (n > 0
                && gw_merkle_verify_inclusion(hasher, index, size, leaf,
                                              proof, n - 1, root2, &err)
                   == 0))
        {
            return 0;
        }

    } else if (gw_merkle_verify_consistency(hasher, size1, size, root1,
                                            root2, extra, n + 1, &err) == 0
               || (n > 0
                   && gw_merkle_verify_consistency(hasher, size1, size,
                                                   root1, root2, proof,
                                                   n - 1, &err) == 0))
    {
        return 0;
    }

    return 1;
}


/* generate, check against the model, verify, mutate; for one tree size */

static int
check_size(gw_merkle_source_t *src, uint64_t size, uint64_t step,
    const char **why)
{
    size_t            n;
    uint64_t          i, m;
    const char       *err;
    gw_merkle_hash_t  root, root1, model, proof[GW_MERKLE_MAX_PROOF];

    if (gw_merkle_root(hasher, src, size, root, &err) != 0) {
        *why = err;
        return 0;
    }

    model_mth(0, size, model);

    if (memcmp(root, model, GW_MERKLE_HASH_LEN) != 0) {
        *why = "root differs from the model";
        return 0;
    }

    for (i = 0; i < size; i += step) {
        if (gw_merkle_inclusion_proof(hasher, src, i, size, proof, &n, &err)
            != 0
            || gw_merkle_verify_inclusion(hasher, i, size, leaves[i], proof,
                                          n, root, &err) != 0)
        {
            *why = err;
            return 0;
        }

        if (gw_merkle_verify_inclusion(hasher, i ^ 1, size, leaves[i],
                                       proof, n, root, &err) == 0
            && (i ^ 1) < size)
        {
            *why = "inclusion proof verifies for the wrong index";
            return 0;
        }

        if (!mutations_fail(i, size, 0, leaves[i], NULL, root, proof, n)) {
            *why = "a changed inclusion proof verifies";
            return 0;
        }
    }

    for (m = 1; m <= size; m += step) {
        if (gw_merkle_root(hasher, src, m, root1, &err) != 0) {
            *why = err;
            return 0;
        }

        if (gw_merkle_consistency_proof(hasher, src, m, size, proof, &n,
                                        &err) != 0
            || gw_merkle_verify_consistency(hasher, m, size, root1, root,
                                            proof, n, &err) != 0)
        {
            *why = err;
            return 0;
        }

        if (m < size
            && (gw_merkle_verify_consistency(hasher, m, size, root, root1,
                                             proof, n, &err) == 0
                || gw_merkle_verify_consistency(hasher, m + 1, size, root1,
                                                root, proof, n, &err) == 0
                || !mutations_fail(0, size, m, NULL, root1, root, proof,
                                   n)))
        {
            *why = "a changed consistency proof verifies";
            return 0;
        }
    }

    return 1;
}


static void
test_generated(void)
{
    int                 good;
    size_t              n;
    uint64_t            size;
    const char         *why, *err;
    unsigned char       data[8];
    gw_merkle_hash_t    root, root2;
    gw_merkle_range_t   r;
    gw_merkle_store_t   store;
    gw_merkle_source_t  src;

    leaves = malloc(BIG_SIZE * sizeof(gw_merkle_hash_t));
    if (leaves == NULL) {
        bail_out("out of memory");
    }

    gw_merkle_store_init(&store);
    gw_merkle_range_init(&r);
    src.node = gw_merkle_store_node;
    src.data = &store;

    good = 1;
    why = "";

    for (size = 1; size <= BIG_SIZE; size++) {
        memcpy(data, &size, sizeof(data));
        gw_merkle_leaf_hash(hasher, data, sizeof(data), leaves[size - 1]);

        if (gw_merkle_range_append(hasher, &r, leaves[size - 1],
                                   gw_merkle_store_emit, &store, &err)
            != 0)
        {
            bail_out("append failed");
        }

        gw_merkle_range_root(hasher, &r, root);

        if (gw_merkle_root(hasher, &src, size, root2, &err) != 0
            || memcmp(root, root2, GW_MERKLE_HASH_LEN) != 0)
        {
            good = 0;
            why = "compact range root differs from the stored tree's";
            break;
        }

        if (size <= SMALL_MAX && !check_size(&src, size, 1, &why)) {
            good = 0;
            break;
        }
    }

    ok(good, "trees of 1 to %d leaves: roots, every inclusion and "
       "consistency proof match the model, verify, and reject changes",
       SMALL_MAX);

    if (!good) {
        diag("size %llu: %s", (unsigned long long) size, why);
    }

    ok(r.size == BIG_SIZE && r.nnodes == (unsigned)
       __builtin_popcountll(BIG_SIZE),
       "compact range of %d leaves holds one node per set bit", BIG_SIZE);

    good = check_size(&src, BIG_SIZE, 97, &why)
           && check_size(&src, 4096, 331, &why)
           && check_size(&src, 4097, 331, &why);

    ok(good, "trees of 4096, 4097 and %d leaves: sampled proofs", BIG_SIZE);

    if (!good) {
        diag("%s", why);
    }

    /* errors */

    ok(gw_merkle_inclusion_proof(hasher, &src, 5, 5, NULL, &n, &err) == -1,
       "inclusion proof of an index beyond the size is refused");
    ok(gw_merkle_consistency_proof(hasher, &src, 0, 5, NULL, &n, &err)
       == -1, "consistency proof from size 0 is refused");
    ok(gw_merkle_consistency_proof(hasher, &src, 6, 5, NULL, &n, &err)
       == -1, "consistency proof to a smaller size is refused");
    err = NULL;
    good = gw_merkle_root(hasher, &src, BIG_SIZE + 1, root, &err) == -1
           && err != NULL;
    ok(good, "root beyond the stored leaves is an error: %s",
       err != NULL ? err : "none");

    gw_merkle_store_free(&store);
    free(leaves);
}


static void
test_chain(void)
{
    int               i;
    unsigned char     buf[65], md[32];
    gw_merkle_hash_t  prev, leaf, next;

    memset(prev, 0, sizeof(prev));

    for (i = 0; i < 3; i++) {
        gw_merkle_leaf_hash(NULL, (const unsigned char *) "rec", 3, leaf);
        gw_merkle_chain_hash(hasher, prev, leaf, next);

        buf[0] = 0x02;
        memcpy(buf + 1, prev, 32);
        memcpy(buf + 33, leaf, 32);
        EVP_Digest(buf, sizeof(buf), md, NULL, EVP_sha256(), NULL);

        ok(memcmp(md, next, 32) == 0,
           "chain %d is SHA-256(0x02 || chain %d || leaf)", i, i - 1);

        memcpy(prev, next, 32);
    }

    buf[0] = 0x00;
    memcpy(buf + 1, "rec", 3);
    EVP_Digest(buf, 4, md, NULL, EVP_sha256(), NULL);
    gw_merkle_leaf_hash(NULL, (const unsigned char *) "rec", 3, leaf);
    ok(memcmp(md, leaf, 32) == 0, "leaf hash is SHA-256(0x00 || data)");
}


int
main(void)
{
    const char  *env;

    hasher = gw_merkle_hasher_new();
    if (hasher == NULL) {
        bail_out("no SHA-256");
    }

    env = getenv("GW_SHARED_DATA");

    test_vectors(env != NULL ? env : "../shared/data");
    test_reference();
    test_generated();
    test_chain();

    gw_merkle_hasher_free(hasher);

    return done_testing();
}
