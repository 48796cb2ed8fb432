
/*
 * Copyright (C) Tollgate
 *
 * The store (placeholder until it lands: Redis is not used yet).
 */


#include "metadata.h"


int
md_store_commit(md_change_t *changes, size_t n, long long expected_revision,
    const char *actor, const char *rid, md_commit_pt cb, void *data)
{
    md_commit_result_t  res;

    res.status = MD_COMMIT_ERROR;
    res.revision = 0;
    res.index = 0;
    res.detail = "the store is not available yet";

    cb(&res, data);

    return 0;
}


int
md_store_get(md_type_t *t, const char *id, md_get_pt cb, void *data)
{
    cb(503, NULL, 0, data);
    return 0;
}


int
md_store_list(md_type_t *t, const char *cursor, size_t limit,
    md_list_pt cb, void *data)
{
    cb(503, NULL, data);
    return 0;
}


int
md_store_snapshot(md_snapshot_pt cb, void *data)
{
    cb(503, NULL, data);
    return 0;
}
