
/*
 * Copyright (C) Tollgate
 *
 * Payload templates (Parameters, ResultSelector, ItemSelector): a copy
 * of the template where every field "name.$" becomes "name" holding the
 * value of its Path (over the input, or over the context object for
 * "$$...") or of its intrinsic function call.  Objects inside arrays
 * are templates too; a string that is not the value of a ".$" field is
 * copied as it is, even when it looks like a path.
 *
 * The selected values are shared with the input (jansson references),
 * never copied; the size of the result is counted as it grows, so that
 * a template selecting the whole input a thousand times stops at
 * GW_ASL_PAYLOAD_MAX instead of building a gigabyte.
 */


#include <stdio.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_path_int.h"


typedef struct {
    json_t              *input;
    json_t              *context;
    const char          *error_name;
    gw_asl_err_t        *err;
    size_t               size;      /* bytes of selected values so far */
    size_t               plen;      /* bytes used in pointer */
    char                 pointer[GW_ASL_POINTER_MAX];
} gw_asl_tmpl_t;


static json_t *gw_asl_tmpl_value(gw_asl_tmpl_t *t, json_t *v,
    unsigned depth);
static json_t *gw_asl_tmpl_field(gw_asl_tmpl_t *t, const char *key,
    json_t *v);
static int gw_asl_tmpl_check(gw_asl_tmpl_t *t, json_t *v, unsigned depth);
static size_t gw_asl_tmpl_push(gw_asl_tmpl_t *t, const char *key,
    size_t index);


/* the field key (ending in ".$") of value v evaluated: a new reference */

static json_t *
gw_asl_tmpl_field(gw_asl_tmpl_t *t, const char *key, json_t *v)
{
    int          missing;
    char         dump[256];
    json_t      *r;
    const char  *s;

    if (!json_is_string(v)) {
        gw_asl_error(t->err, GW_ASL_E_RUNTIME, NULL,
                     "the field '%.256s' must hold a string", key);
        return NULL;
    }

    s = json_string_value(v);

    if (strlen(s) != json_string_length(v)) {
        gw_asl_error(t->err, GW_ASL_E_RUNTIME, NULL,
                     "the field '%.256s' holds a NUL byte", key);
        return NULL;
    }

    if (s[0] == '$') {
        r = gw_asl_path_select(s, t->input, t->context, &missing, t->err);

        if (r == NULL && missing) {
            gw_asl_path_dump(s[1] == '$' ? t->context : t->input, dump,
                             sizeof(dump));

            gw_asl_error(t->err, t->error_name != NULL ? t->error_name
                                                       : GW_ASL_E_RUNTIME,
                         NULL, "The JsonPath argument for the field "
                         "'%.256s' could not be found in the %s '%s'", key,
                         s[1] == '$' ? "context object" : "input", dump);
        }

        return r;
    }

    if (gw_asl_intrinsic_is_call(s)) {
        return gw_asl_intrinsic_eval(s, t->input, t->context, t->err);
    }

    gw_asl_error(t->err, GW_ASL_E_RUNTIME, NULL,
                 "the field '%.256s' holds neither a path nor an intrinsic "
                 "function call", key);
    return NULL;
}


static json_t *
gw_asl_tmpl_value(gw_asl_tmpl_t *t, json_t *v, unsigned depth)
{
    size_t       i, len, n;
    json_t      *out, *r, *m;
    const char  *key;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        gw_asl_error(t->err, GW_ASL_E_RUNTIME, NULL,
                     "a payload template nested deeper than %d",
                     GW_ASL_JSON_DEPTH_MAX);
        return NULL;
    }

    if (json_is_array(v)) {
        out = json_array();
        if (out == NULL) {
            goto nomem;
        }

        json_array_foreach(v, i, m) {
            r = gw_asl_tmpl_value(t, m, depth + 1);

            if (r == NULL) {
                json_decref(out);
                return NULL;
            }

            if (json_array_append_new(out, r) != 0) {
                json_decref(out);
                goto nomem;
            }
        }

        return out;
    }

    if (!json_is_object(v)) {
        return json_incref(v);
    }

    out = json_object();
    if (out == NULL) {
        goto nomem;
    }

    json_object_keylen_foreach(v, key, len, m) {

        if (len >= 2 && key[len - 2] == '.' && key[len - 1] == '$') {
            r = gw_asl_tmpl_field(t, key, m);
            len -= 2;

            if (r != NULL) {
                n = json_dumpb(r, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
                t->size += n;

                if (t->size > GW_ASL_PAYLOAD_MAX) {
                    json_decref(r);
                    json_decref(out);
                    gw_asl_error(t->err, GW_ASL_E_DATA_LIMIT, NULL,
                                 "the payload template's result is larger "
                                 "than %d bytes", GW_ASL_PAYLOAD_MAX);
                    return NULL;
                }
            }

        } else {
            r = gw_asl_tmpl_value(t, m, depth + 1);
        }

        if (r == NULL) {
            json_decref(out);
            return NULL;
        }

        if (json_object_setn_new(out, key, len, r) != 0) {
            json_decref(out);
            goto nomem;
        }
    }

    return out;

nomem:

    gw_asl_error(t->err, GW_ASL_E_RUNTIME, NULL, "out of memory");
    return NULL;
}


json_t *
gw_asl_template_apply(json_t *tmpl, json_t *input, json_t *context,
    const char *error_name, gw_asl_err_t *err)
{
    size_t          n;
    json_t         *out;
    gw_asl_tmpl_t   t;

    memset(&t, 0, sizeof(gw_asl_tmpl_t) - sizeof(t.pointer));
    t.input = input;
    t.context = context;
    t.error_name = error_name;
    t.err = err;

    if (tmpl == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "no payload template");
        return NULL;
    }

    out = gw_asl_tmpl_value(&t, tmpl, 0);
    if (out == NULL) {
        return NULL;
    }

    n = json_dumpb(out, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);

    if (n > GW_ASL_PAYLOAD_MAX) {
        json_decref(out);
        gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL,
                     "the payload template's result is larger than %d "
                     "bytes (%zu)", GW_ASL_PAYLOAD_MAX, n);
        return NULL;
    }

    return out;
}


/*
 * Appends "/" and key (RFC 6901: "~" as "~0", "/" as "~1"), or the
 * index when key is NULL, to the pointer: the length to restore.  A
 * pointer past GW_ASL_POINTER_MAX is cut (the error still names the
 * start of the way).
 */

static size_t
gw_asl_tmpl_push(gw_asl_tmpl_t *t, const char *key, size_t index)
{
    char    num[32];
    size_t  old, max;

    old = t->plen;
    max = sizeof(t->pointer) - 1;

    if (key == NULL) {
        snprintf(num, sizeof(num), "%zu", index);
        key = num;
    }

    if (t->plen < max) {
        t->pointer[t->plen++] = '/';
    }

    for ( /* void */ ; *key != '\0' && t->plen < max; key++) {

        if (*key == '~' || *key == '/') {
            if (t->plen + 2 > max) {
                break;
            }

            t->pointer[t->plen++] = '~';
            t->pointer[t->plen++] = (*key == '~') ? '0' : '1';
            continue;
        }

        t->pointer[t->plen++] = *key;
    }

    t->pointer[t->plen] = '\0';

    return old;
}


static int
gw_asl_tmpl_check(gw_asl_tmpl_t *t, json_t *v, unsigned depth)
{
    size_t        i, len, old;
    json_t       *m;
    const char   *key, *s;
    gw_asl_err_t  e;

    if (depth > GW_ASL_JSON_DEPTH_MAX) {
        return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                            "a payload template nested deeper than %d",
                            GW_ASL_JSON_DEPTH_MAX);
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            old = gw_asl_tmpl_push(t, NULL, i);

            if (gw_asl_tmpl_check(t, m, depth + 1) != 0) {
                return -1;
            }

            t->plen = old;
            t->pointer[old] = '\0';
        }

        return 0;
    }

    if (!json_is_object(v)) {
        return 0;
    }

    json_object_keylen_foreach(v, key, len, m) {
        old = gw_asl_tmpl_push(t, key, 0);

        if (len < 2 || key[len - 2] != '.' || key[len - 1] != '$') {
            if (gw_asl_tmpl_check(t, m, depth + 1) != 0) {
                return -1;
            }

            t->plen = old;
            t->pointer[old] = '\0';
            continue;
        }

        if (!json_is_string(m)) {
            return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                                "the field '%.256s' must hold a path or an "
                                "intrinsic function call, as a string",
                                key);
        }

        s = json_string_value(m);

        if (strlen(s) != json_string_length(m)) {
            return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                                "the field '%.256s' holds a NUL byte", key);
        }

        if (s[0] == '$') {
            if (gw_asl_path_check(s, GW_ASL_PATH_ANY, &e) != 0) {
                return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                                    "the field '%.256s': %s", key,
                                    e.cause);
            }

        } else if (gw_asl_intrinsic_is_call(s)) {
            if (gw_asl_intrinsic_check(s, &e) != 0) {
                return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                                    "the field '%.256s': %s", key,
                                    e.cause);
            }

        } else {
            return gw_asl_error(t->err, GW_ASL_E_INVALID, t->pointer,
                                "the field '%.256s' holds neither a path "
                                "nor an intrinsic function call", key);
        }

        t->plen = old;
        t->pointer[old] = '\0';
    }

    return 0;
}


int
gw_asl_template_check(json_t *tmpl, const char *pointer, gw_asl_err_t *err)
{
    gw_asl_tmpl_t  t;

    memset(&t, 0, sizeof(gw_asl_tmpl_t) - sizeof(t.pointer));
    t.err = err;
    t.pointer[0] = '\0';

    if (pointer != NULL) {
        snprintf(t.pointer, sizeof(t.pointer), "%s", pointer);
        t.plen = strlen(t.pointer);
    }

    return gw_asl_tmpl_check(&t, tmpl, 0);
}
