
/*
 * Copyright (C) Tollgate
 *
 * The Map state checked and compiled: its processor (ItemProcessor, or
 * the older Iterator) a machine of its own, ItemsPath, ItemSelector
 * (or the older Parameters), MaxConcurrency, the tolerated failures,
 * and the fields of Distributed mode checked for their shape
 * (ItemReader, ItemBatcher, ResultWriter, Label, ProcessorConfig), so
 * that a definition AWS accepts is accepted (the executor runs the
 * processor inline).
 */


#include <stdint.h>
#include <string.h>

#include "gw_asl_def_int.h"


static const char *const  gw_asl_reader_fields[] = {
    "Resource", "Parameters", "ReaderConfig", NULL
};

static const char *const  gw_asl_reader_config_fields[] = {
    "InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter",
    "MaxItems", "MaxItemsPath", "ManifestType", NULL
};

static const char *const  gw_asl_batcher_fields[] = {
    "MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath", "BatchInput", NULL
};

static const char *const  gw_asl_writer_fields[] = {
    "Resource", "Parameters", "WriterConfig", NULL
};

static const char *const  gw_asl_input_types[] = {
    "CSV", "JSON", "JSONL", "MANIFEST", "PARQUET", NULL
};

static const char *const  gw_asl_header_locations[] = {
    "FIRST_ROW", "GIVEN", NULL
};

static const char *const  gw_asl_modes[] = { "INLINE", "DISTRIBUTED", NULL };

static const char *const  gw_asl_execution_types[] = {
    "STANDARD", "EXPRESS", NULL
};

int
gw_asl_map_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr,
    unsigned depth)
{
    char         p[GW_ASL_POINTER_MAX];
    json_t      *proc, *v;
    const char  *key;

    if (gw_asl_exclusive(ctx, st->raw, "ItemProcessor", "Iterator", ptr)
        != 0
        || gw_asl_exclusive(ctx, st->raw, "ItemSelector", "Parameters", ptr)
           != 0)
    {
        return -1;
    }

    key = "ItemProcessor";
    proc = json_object_get(st->raw, key);

    if (proc == NULL) {
        key = "Iterator";
        proc = json_object_get(st->raw, key);
    }

    if (proc == NULL) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a Map state has an ItemProcessor (or an "
                            "Iterator)");
    }

    gw_asl_pointer(p, sizeof(p), ptr, key);

    if (depth + 1 > GW_ASL_DEPTH_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                            "Parallel and Map nested over %d levels",
                            GW_ASL_DEPTH_MAX);
    }

    st->processor = gw_asl_machine_compile(ctx, proc, p, st->machine,
                                           depth + 1);
    if (st->processor == NULL) {
        return -1;
    }

    if (gw_asl_path_field(ctx, st->raw, "ItemsPath", GW_ASL_PATH_REFERENCE,
                          0, ptr) != 0)
    {
        return -1;
    }

    v = json_object_get(st->raw, "ItemSelector");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "ItemSelector");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ItemSelector is a JSON object (a payload "
                                "template)");
        }

        if (gw_asl_template_field(ctx, v, p) != 0) {
            return -1;
        }
    }

    if (gw_asl_map_config_check(ctx, st->raw, ptr) != 0
        || gw_asl_retry_compile(ctx, st, json_object_get(st->raw, "Retry"),
                                ptr) != 0)
    {
        return -1;
    }

    return gw_asl_catch_compile(ctx, st, json_object_get(st->raw, "Catch"),
                                ptr);
}


/*
 * Map: MaxConcurrency, the tolerated failures, and the fields of
 * Distributed mode checked for their shape (ItemReader, ItemBatcher,
 * ResultWriter, Label, ProcessorConfig).
 */

int
gw_asl_map_config_check(gw_asl_ctx_t *ctx, json_t *obj, const char *ptr)
{
    char         p[GW_ASL_POINTER_MAX], q[GW_ASL_POINTER_MAX];
    json_t      *v, *c, *proc;
    const char  *key;

    if (gw_asl_exclusive(ctx, obj, "MaxConcurrency", "MaxConcurrencyPath",
                         ptr) != 0
        || gw_asl_exclusive(ctx, obj, "ToleratedFailurePercentage",
                            "ToleratedFailurePercentagePath", ptr) != 0
        || gw_asl_exclusive(ctx, obj, "ToleratedFailureCount",
                            "ToleratedFailureCountPath", ptr) != 0
        || gw_asl_int_field(ctx, obj, "MaxConcurrency", 0, INT32_MAX, ptr)
           != 0
        || gw_asl_int_field(ctx, obj, "ToleratedFailureCount", 0,
                            INT32_MAX, ptr) != 0
        || gw_asl_path_field(ctx, obj, "MaxConcurrencyPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0
        || gw_asl_path_field(ctx, obj, "ToleratedFailurePercentagePath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0
        || gw_asl_path_field(ctx, obj, "ToleratedFailureCountPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0)
    {
        return -1;
    }

    v = json_object_get(obj, "ToleratedFailurePercentage");

    if (v != NULL
        && (!json_is_number(v) || json_number_value(v) < 0
            || json_number_value(v) > 100))
    {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr,
                                           "ToleratedFailurePercentage"),
                            "ToleratedFailurePercentage is a number from 0 "
                            "to 100");
    }

    v = json_object_get(obj, "Label");

    if (v != NULL
        && (!json_is_string(v)
            || gw_asl_utf8_len(json_string_value(v)) == 0
            || gw_asl_utf8_len(json_string_value(v)) > GW_ASL_LABEL_MAX))
    {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, "Label"),
                            "Label is a string of 1 to %d characters",
                            GW_ASL_LABEL_MAX);
    }

    key = "ItemProcessor";
    proc = json_object_get(obj, key);

    if (proc == NULL) {
        key = "Iterator";
        proc = json_object_get(obj, key);
    }

    c = json_object_get(proc, "ProcessorConfig");

    if (c != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, key);
        gw_asl_pointer(p, sizeof(p), p, "ProcessorConfig");

        if (!json_is_object(c)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ProcessorConfig is a JSON object");
        }

        if (gw_asl_enum_field(ctx, c, "Mode", gw_asl_modes, p) != 0
            || gw_asl_enum_field(ctx, c, "ExecutionType",
                                 gw_asl_execution_types, p) != 0)
        {
            return -1;
        }

        if (json_object_size(c)
            != (size_t) ((json_object_get(c, "Mode") != NULL)
                         + (json_object_get(c, "ExecutionType") != NULL)))
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ProcessorConfig has Mode and "
                                "ExecutionType only");
        }
    }

    v = json_object_get(obj, "ItemReader");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "ItemReader");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ItemReader is a JSON object");
        }

        if (gw_asl_keys_check(ctx, v, gw_asl_reader_fields, "ItemReader",
                              p) != 0
            || gw_asl_resource_check(ctx, json_object_get(v, "Resource"),
                                     gw_asl_pointer(q, sizeof(q), p,
                                                    "Resource")) != 0)
        {
            return -1;
        }

        c = json_object_get(v, "ReaderConfig");
        gw_asl_pointer(q, sizeof(q), p, "ReaderConfig");

        if (c != NULL
            && (!json_is_object(c)
                || gw_asl_keys_check(ctx, c, gw_asl_reader_config_fields,
                                     "ReaderConfig", q) != 0
                || gw_asl_exclusive(ctx, c, "MaxItems", "MaxItemsPath", q)
                   != 0
                || gw_asl_int_field(ctx, c, "MaxItems", 0, 100000000, q)
                   != 0
                || gw_asl_path_field(ctx, c, "MaxItemsPath",
                                     GW_ASL_PATH_REFERENCE, 0, q) != 0
                || gw_asl_enum_field(ctx, c, "InputType",
                                     gw_asl_input_types, q) != 0
                || gw_asl_enum_field(ctx, c, "CSVHeaderLocation",
                                     gw_asl_header_locations, q) != 0))
        {
            return -1;
        }

        c = json_object_get(v, "Parameters");
        gw_asl_pointer(q, sizeof(q), p, "Parameters");

        if (c != NULL && gw_asl_template_field(ctx, c, q) != 0) {
            return -1;
        }
    }

    v = json_object_get(obj, "ItemBatcher");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "ItemBatcher");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ItemBatcher is a JSON object");
        }

        if (gw_asl_keys_check(ctx, v, gw_asl_batcher_fields, "ItemBatcher",
                              p) != 0
            || gw_asl_exclusive(ctx, v, "MaxItemsPerBatch",
                                "MaxItemsPerBatchPath", p) != 0
            || gw_asl_exclusive(ctx, v, "MaxInputBytesPerBatch",
                                "MaxInputBytesPerBatchPath", p) != 0
            || gw_asl_int_field(ctx, v, "MaxItemsPerBatch", 1, INT32_MAX, p)
               != 0
            || gw_asl_int_field(ctx, v, "MaxInputBytesPerBatch", 1,
                                GW_ASL_PAYLOAD_MAX, p) != 0
            || gw_asl_path_field(ctx, v, "MaxItemsPerBatchPath",
                                 GW_ASL_PATH_REFERENCE, 0, p) != 0
            || gw_asl_path_field(ctx, v, "MaxInputBytesPerBatchPath",
                                 GW_ASL_PATH_REFERENCE, 0, p) != 0)
        {
            return -1;
        }

        c = json_object_get(v, "BatchInput");
        gw_asl_pointer(q, sizeof(q), p, "BatchInput");

        if (c != NULL
            && (!json_is_object(c) || gw_asl_template_field(ctx, c, q) != 0))
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, q,
                                "BatchInput is a payload template");
        }
    }

    v = json_object_get(obj, "ResultWriter");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "ResultWriter");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ResultWriter is a JSON object");
        }

        if (gw_asl_keys_check(ctx, v, gw_asl_writer_fields, "ResultWriter",
                              p) != 0)
        {
            return -1;
        }

        c = json_object_get(v, "Resource");

        if (c != NULL
            && gw_asl_resource_check(ctx, c, gw_asl_pointer(q, sizeof(q), p,
                                                            "Resource"))
               != 0)
        {
            return -1;
        }

        c = json_object_get(v, "Parameters");
        gw_asl_pointer(q, sizeof(q), p, "Parameters");

        if (c != NULL && gw_asl_template_field(ctx, c, q) != 0) {
            return -1;
        }
    }

    return 0;
}
