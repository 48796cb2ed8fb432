
/*
 * Copyright (C) Tollgate
 *
 * The read side of the audit service: checkpoints, the verifier key,
 * inclusion and consistency proofs (the records: audit_query.c).
 *
 *   GET  /v1/audit/key                       the verifier key (text)
 *   GET  /v1/audit/checkpoint                the latest signed checkpoint
 *   POST /v1/audit/checkpoint                commits and signs one now
 *   GET  /v1/audit/proof/inclusion?index=I|id=ID[&size=N]
 *   GET  /v1/audit/proof/consistency?from=M[&to=N]
 *
 * Proofs default to the tree of the latest checkpoint, so that a client
 * checks them against a root it holds a signature for.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "audit_svc.h"
#include "gw_b64std.h"
#include "gw_checkpoint.h"


static json_t *audit_b64(const unsigned char *p, size_t len);


int
audit_sign_checkpoint(void)
{
    size_t           n;
    const char      *err;
    unsigned char   *note;
    gw_checkpoint_t  cp;

    if (audit_store_sync_nodes(&audit.st) != 0) {
        return -1;
    }

    memset(&cp, 0, sizeof(cp));
    cp.origin = (const unsigned char *) audit.skey.vkey.name;
    cp.origin_len = audit.skey.vkey.name_len;
    cp.size = audit.st.durable;

    if (audit_store_root(&audit.st, cp.size, cp.root) != 0) {
        return -1;
    }

    if (gw_checkpoint_sign(&audit.skey, &cp, &note, &n, &err) != 0) {
        snprintf(audit.st.err, sizeof(audit.st.err), "sign: %s", err);
        return -1;
    }

    if (audit_checkpoint_append(audit.st.dir, note, n, audit.st.err,
                                sizeof(audit.st.err)) != 0)
    {
        free(note);
        return -1;
    }

    free(audit.cp);
    audit.cp = note;
    audit.cp_len = n;
    audit.cp_size = cp.size;
    audit.cp_elapsed = 0;

    if (audit.svc != NULL && audit.m_checkpoints != NULL) {
        gw_svc_metric_add(audit.m_checkpoints, 1);
    }

    return 0;
}


void
audit_get_key(gw_svc_req_t *req, void *data)
{
    char  text[GW_NOTE_KEY_TEXT_MAX + 1];
    int   n;

    n = snprintf(text, sizeof(text), "%s\n", audit.vkey);
    gw_svc_reply(req, 200, "text/plain; charset=utf-8", text, n);
}


void
audit_checkpoint(gw_svc_req_t *req, void *data)
{
    if (strcmp(gw_svc_req_method(req), "POST") == 0) {
        if (audit.failed || audit_commit_sync() != 0) {
            gw_svc_reply_problem(req, 503, "store-failed", "Store failed",
                                 "a write to the log failed");
            return;
        }

        if (audit.st.durable != audit.cp_size
            && audit_sign_checkpoint() != 0)
        {
            gw_svc_log(audit.svc, GW_SVC_ERROR, req, "checkpoint failed",
                       json_pack("{s:s}", "error", audit.st.err));
            gw_svc_reply_problem(req, 503, "checkpoint-failed",
                                 "Checkpoint failed", audit.st.err);
            return;
        }
    }

    gw_svc_reply(req, 200, "text/plain; charset=utf-8", audit.cp,
                 audit.cp_len);
}


/* ---- helpers ------------------------------------------------------------- */

static json_t *
audit_b64(const unsigned char *p, size_t len)
{
    char  buf[128];

    buf[gw_b64std_encode((unsigned char *) buf, p, len)] = '\0';

    return json_string(buf);
}


int
audit_query_u64(struct evkeyvalq *q, const char *name, uint64_t dflt,
    uint64_t *out)
{
    char        *end;
    const char  *v;

    v = evhttp_find_header(q, name);
    if (v == NULL) {
        *out = dflt;
        return 1;
    }

    if (v[0] < '0' || v[0] > '9' || strlen(v) > 19) {
        return -1;
    }

    *out = strtoull(v, &end, 10);

    return (*end == '\0') ? 0 : -1;
}


int
audit_query_known(gw_svc_req_t *req, struct evkeyvalq *q,
    const char *const *known)
{
    size_t             i;
    char               msg[160];
    struct evkeyval   *kv;

    TAILQ_FOREACH(kv, q, next) {
        for (i = 0; known[i] != NULL; i++) {
            if (strcmp(kv->key, known[i]) == 0) {
                break;
            }
        }

        if (known[i] == NULL) {
            snprintf(msg, sizeof(msg), "unknown query parameter \"%.64s\"",
                     kv->key);
            gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                                 msg);
            return -1;
        }
    }

    return 0;
}


/* ---- proofs -------------------------------------------------------------- */

void
audit_proof(gw_svc_req_t *req, void *data)
{
    int                  inclusion;
    size_t               n, i;
    json_t              *proof, *answer;
    uint64_t             a, b, found;
    const char          *path, *err, *id, *query;
    gw_merkle_hash_t     hashes[GW_MERKLE_MAX_PROOF];
    gw_merkle_hash_t     r1, r2, leaf;
    gw_merkle_source_t   src;
    struct evkeyvalq     q;
    static const char   *inc_keys[] = { "index", "id", "size", NULL };
    static const char   *con_keys[] = { "from", "to", NULL };

    path = gw_svc_req_path(req);

    if (strcmp(path, "/v1/audit/proof/inclusion") == 0) {
        inclusion = 1;
    } else if (strcmp(path, "/v1/audit/proof/consistency") == 0) {
        inclusion = 0;
    } else {
        gw_svc_reply_problem(req, 404, "not-found", "Not found", NULL);
        return;
    }

    TAILQ_INIT(&q);
    query = gw_svc_req_query(req);

    if (evhttp_parse_query_str(query != NULL ? query : "", &q) != 0) {
        gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                             "the query string is malformed");
        return;
    }

    if (audit_query_known(req, &q, inclusion ? inc_keys : con_keys) != 0) {
        evhttp_clear_headers(&q);
        return;
    }

    audit_store_source(&audit.st, &src);
    answer = NULL;

    if (inclusion) {
        id = evhttp_find_header(&q, "id");

        if (id != NULL) {
            found = audit_store_find(&audit.st, id, strlen(id));
            if (found == 0 || found > audit.st.durable) {
                gw_svc_reply_problem(req, 404, "record-not-found",
                                     "Record not found",
                                     "no durable record has this event id");
                goto done;
            }
            a = found - 1;

        } else if (audit_query_u64(&q, "index", 0, &a) != 0) {
            gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                                 "index (a record index) or id is needed");
            goto done;
        }

        if (audit_query_u64(&q, "size", audit.cp_size, &b) < 0
            || b > audit.st.durable || a >= b)
        {
            gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                                 "size must be above the index and at most "
                                 "the durable records (default: the latest "
                                 "checkpoint's; POST /v1/audit/checkpoint "
                                 "for a newer one)");
            goto done;
        }

        if (gw_merkle_inclusion_proof(audit.st.hasher, &src, a, b, hashes,
                                      &n, &err) != 0
            || src.node(src.data, 0, a, leaf) != 0
            || audit_store_root(&audit.st, b, r2) != 0)
        {
            gw_svc_reply_problem(req, 500, "proof-failed", "Proof failed",
                                 NULL);
            goto done;
        }

    } else {
        if (audit_query_u64(&q, "from", 0, &a) != 0
            || audit_query_u64(&q, "to", audit.cp_size, &b) < 0
            || a == 0 || a > b || b > audit.st.durable)
        {
            gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                                 "from must be 1 to to, and to at most the "
                                 "durable records (default: the latest "
                                 "checkpoint's)");
            goto done;
        }

        if (gw_merkle_consistency_proof(audit.st.hasher, &src, a, b, hashes,
                                        &n, &err) != 0
            || audit_store_root(&audit.st, a, r1) != 0
            || audit_store_root(&audit.st, b, r2) != 0)
        {
            gw_svc_reply_problem(req, 500, "proof-failed", "Proof failed",
                                 NULL);
            goto done;
        }
    }

    proof = json_array();

    for (i = 0; proof != NULL && i < n; i++) {
        json_array_append_new(proof, audit_b64(hashes[i],
                                               GW_MERKLE_HASH_LEN));
    }

    if (inclusion) {
        answer = json_pack("{s:I, s:I, s:o, s:o, s:o}", "index",
                           (json_int_t) a, "size", (json_int_t) b,
                           "leaf_hash", audit_b64(leaf, GW_MERKLE_HASH_LEN),
                           "root", audit_b64(r2, GW_MERKLE_HASH_LEN),
                           "proof", proof);
    } else {
        answer = json_pack("{s:I, s:I, s:o, s:o, s:o}", "from",
                           (json_int_t) a, "to", (json_int_t) b,
                           "from_root", audit_b64(r1, GW_MERKLE_HASH_LEN),
                           "to_root", audit_b64(r2, GW_MERKLE_HASH_LEN),
                           "proof", proof);
    }

    gw_svc_reply_json(req, 200, answer);

done:

    evhttp_clear_headers(&q);
}
