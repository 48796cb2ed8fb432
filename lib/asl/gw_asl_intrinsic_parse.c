
/*
 * Copyright (C) Tollgate
 *
 * The intrinsic function parser (see gw_asl_intrinsic.c for the
 * grammar): call text into a tree of gw_asl_icall_t.  Recursive, one
 * level per nested call, refusing a call nested past
 * GW_ASL_INTRINSIC_MAX before it recurses; each error names its byte
 * offset in the text.
 */


#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl_intrinsic_int.h"


typedef struct {
    const char          *text;
    const char          *p;
    const char          *error;         /* the name of a parse error */
    gw_asl_err_t        *err;
} gw_asl_iparse_t;


static gw_asl_icall_t *gw_asl_iparse_call(gw_asl_iparse_t *ps,
    unsigned depth);
static int gw_asl_iparse_arg(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg,
    unsigned depth);
static int gw_asl_iparse_string(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg);
static int gw_asl_iparse_path(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg);
static int gw_asl_iparse_number(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg);


#define gw_asl_iparse_off(ps)  ((size_t) ((ps)->p - (ps)->text))


static void
gw_asl_iparse_space(gw_asl_iparse_t *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n'
           || *ps->p == '\r')
    {
        ps->p++;
    }
}


/*
 * Parses text whole into a call tree (NULL with err named error: text
 * that is not one well-formed call).  The caller frees the tree.
 */

gw_asl_icall_t *
gw_asl_iparse(const char *text, const char *error, gw_asl_err_t *err)
{
    gw_asl_icall_t   *call;
    gw_asl_iparse_t   ps;

    if (text == NULL || !gw_asl_intrinsic_is_call(text)) {
        gw_asl_error(err, error, NULL, "not an intrinsic function call: "
                     "\"States.\", a name and \"(\" expected at offset 0");
        return NULL;
    }

    ps.text = text;
    ps.p = text;
    ps.error = error;
    ps.err = err;

    call = gw_asl_iparse_call(&ps, 1);
    if (call == NULL) {
        return NULL;
    }

    if (*ps.p != '\0') {
        gw_asl_error(err, error, NULL, "unexpected text after the call "
                     "at offset %zu", gw_asl_iparse_off(&ps));
        gw_asl_icall_free(call);
        return NULL;
    }

    return call;
}


static gw_asl_icall_t *
gw_asl_iparse_call(gw_asl_iparse_t *ps, unsigned depth)
{
    size_t               pos, n, size;
    const char          *name;
    gw_asl_iarg_t       *args;
    gw_asl_icall_t      *call;
    const gw_asl_ifn_t  *fn;

    pos = gw_asl_iparse_off(ps);

    if (depth > GW_ASL_INTRINSIC_MAX) {
        gw_asl_error(ps->err, ps->error, NULL, "intrinsic functions nested "
                     "deeper than %d at offset %zu", GW_ASL_INTRINSIC_MAX,
                     pos);
        return NULL;
    }

    name = ps->p;
    ps->p += 7;

    while (gw_asl_ifn_name_char((unsigned char) *ps->p)) {
        ps->p++;
    }

    n = ps->p - name;

    if (n == 7 || *ps->p != '(') {
        gw_asl_error(ps->err, ps->error, NULL, "a function name and \"(\" "
                     "expected at offset %zu", gw_asl_iparse_off(ps));
        return NULL;
    }

    fn = gw_asl_ifn_find(name, n);
    if (fn == NULL) {
        gw_asl_error(ps->err, ps->error, NULL, "unknown intrinsic function "
                     "\"%.*s\" at offset %zu", (int) (n < 64 ? n : 64),
                     name, pos);
        return NULL;
    }

    call = calloc(1, sizeof(gw_asl_icall_t));
    if (call == NULL) {
        gw_asl_error(ps->err, ps->error, NULL, "out of memory");
        return NULL;
    }

    call->fn = fn;
    call->pos = pos;

    ps->p++;
    gw_asl_iparse_space(ps);

    size = 0;

    if (*ps->p == ')') {
        ps->p++;
        goto counted;
    }

    for ( ;; ) {
        if (call->nargs == size) {
            size = size ? size * 2 : 4;
            args = realloc(call->args, size * sizeof(gw_asl_iarg_t));
            if (args == NULL) {
                gw_asl_error(ps->err, ps->error, NULL, "out of memory");
                goto failed;
            }

            call->args = args;
        }

        memset(&call->args[call->nargs], 0, sizeof(gw_asl_iarg_t));
        call->nargs++;

        gw_asl_iparse_space(ps);

        if (gw_asl_iparse_arg(ps, &call->args[call->nargs - 1], depth)
            != 0)
        {
            goto failed;
        }

        gw_asl_iparse_space(ps);

        if (*ps->p == ',') {
            ps->p++;
            continue;
        }

        if (*ps->p == ')') {
            ps->p++;
            break;
        }

        gw_asl_error(ps->err, ps->error, NULL, "\",\" or \")\" expected at "
                     "offset %zu in %s", gw_asl_iparse_off(ps), fn->name);
        goto failed;
    }

counted:

    if (call->nargs < fn->min || call->nargs > fn->max) {
        if (fn->min == fn->max) {
            gw_asl_error(ps->err, ps->error, NULL, "%s at offset %zu takes "
                         "%zu argument%s, not %zu", fn->name, pos, fn->min,
                         fn->min == 1 ? "" : "s", call->nargs);

        } else if (call->nargs < fn->min) {
            gw_asl_error(ps->err, ps->error, NULL, "%s at offset %zu takes "
                         "at least %zu argument%s, not %zu", fn->name, pos,
                         fn->min, fn->min == 1 ? "" : "s", call->nargs);

        } else {
            gw_asl_error(ps->err, ps->error, NULL, "%s at offset %zu takes "
                         "at most %zu arguments, not %zu", fn->name, pos,
                         fn->max, call->nargs);
        }

        goto failed;
    }

    return call;

failed:

    gw_asl_icall_free(call);
    return NULL;
}


static int
gw_asl_iparse_arg(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg, unsigned depth)
{
    size_t       n;
    const char  *p;

    p = ps->p;
    arg->pos = gw_asl_iparse_off(ps);

    if (*p == '\'') {
        return gw_asl_iparse_string(ps, arg);
    }

    if (*p == '$') {
        return gw_asl_iparse_path(ps, arg);
    }

    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        return gw_asl_iparse_number(ps, arg);
    }

    if (strncmp(p, "States.", 7) == 0) {
        arg->kind = GW_ASL_IARG_CALL;
        arg->call = gw_asl_iparse_call(ps, depth + 1);
        return (arg->call != NULL) ? 0 : -1;
    }

    for (n = 0; p[n] >= 'a' && p[n] <= 'z'; n++) {
        /* a word */
    }

    arg->kind = GW_ASL_IARG_VALUE;

    if (n == 4 && strncmp(p, "true", 4) == 0) {
        arg->value = json_true();

    } else if (n == 5 && strncmp(p, "false", 5) == 0) {
        arg->value = json_false();

    } else if (n == 4 && strncmp(p, "null", 4) == 0) {
        arg->value = json_null();

    } else if (*p == '\0') {
        return gw_asl_error(ps->err, ps->error, NULL, "the call is not "
                            "closed: an argument expected at offset %zu",
                            arg->pos);

    } else {
        return gw_asl_error(ps->err, ps->error, NULL, "an argument (a "
                            "'string', a number, true, false, null, a path "
                            "or a call) expected at offset %zu", arg->pos);
    }

    ps->p += n;

    return 0;
}


static int
gw_asl_iparse_string(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg)
{
    char        *buf;
    size_t       n;
    const char  *p, *start;

    start = ps->p + 1;

    for (p = start; *p != '\'' && *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
        }
    }

    if (*p == '\0') {
        return gw_asl_error(ps->err, ps->error, NULL, "the string at offset "
                            "%zu is not closed", arg->pos);
    }

    buf = malloc(p - start + 1);
    if (buf == NULL) {
        return gw_asl_error(ps->err, ps->error, NULL, "out of memory");
    }

    n = 0;

    for (p = start; *p != '\''; p++) {
        if (*p == '\\') {
            p++;

            if (*p != '\'' && *p != '{' && *p != '}' && *p != '\\') {
                free(buf);
                return gw_asl_error(ps->err, ps->error, NULL, "an unknown "
                                    "escape \"\\%c\" at offset %zu (only "
                                    "\\' \\{ \\} \\\\ are)", *p,
                                    (size_t) (p - 1 - ps->text));
            }
        }

        buf[n++] = *p;
    }

    arg->kind = GW_ASL_IARG_VALUE;
    arg->raw = start;
    arg->raw_len = p - start;
    arg->value = json_stringn(buf, n);
    free(buf);

    if (arg->value == NULL) {
        return gw_asl_error(ps->err, ps->error, NULL, "the string at offset "
                            "%zu is not UTF-8", arg->pos);
    }

    ps->p = p + 1;

    return 0;
}


/*
 * A path runs to a "," or ")" or white space outside brackets and
 * quotes, so that unions, filters and quoted names keep theirs.
 */

static int
gw_asl_iparse_path(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg)
{
    char         quote, cause[GW_ASL_CAUSE_MAX];
    size_t       n, brackets;
    const char  *p;

    brackets = 0;
    quote = '\0';

    for (p = ps->p; *p != '\0'; p++) {
        if (quote != '\0') {
            if (*p == '\\' && p[1] != '\0') {
                p++;

            } else if (*p == quote) {
                quote = '\0';
            }

            continue;
        }

        if (brackets > 0 && (*p == '\'' || *p == '"')) {
            quote = *p;

        } else if (*p == '[') {
            brackets++;

        } else if (*p == ']' && brackets > 0) {
            brackets--;

        } else if (brackets == 0
                   && (*p == ',' || *p == ')' || *p == ' ' || *p == '\t'
                       || *p == '\n' || *p == '\r'))
        {
            break;
        }
    }

    n = p - ps->p;

    if (n > GW_ASL_PATH_MAX) {
        return gw_asl_error(ps->err, ps->error, NULL, "the path at offset "
                            "%zu is longer than %d bytes", arg->pos,
                            GW_ASL_PATH_MAX);
    }

    arg->kind = GW_ASL_IARG_PATH;
    arg->path = strndup(ps->p, n);
    if (arg->path == NULL) {
        return gw_asl_error(ps->err, ps->error, NULL, "out of memory");
    }

    if (gw_asl_path_check(arg->path, GW_ASL_PATH_ANY, ps->err) != 0) {
        memcpy(cause, ps->err->cause, sizeof(cause));
        return gw_asl_error(ps->err, ps->error, NULL, "the path \"%.*s\" at "
                            "offset %zu: %.*s", (int) (n < 128 ? n : 128),
                            arg->path, arg->pos, 512, cause);
    }

    ps->p = p;

    return 0;
}


static int
gw_asl_iparse_number(gw_asl_iparse_t *ps, gw_asl_iarg_t *arg)
{
    char         buf[64], *end;
    double       d;
    size_t       n;
    long long    ll;
    const char  *p;
    unsigned     real;

    p = ps->p;
    real = 0;

    if (*p == '-') {
        p++;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        goto invalid;
    }

    if (*p == '.') {
        real = 1;
        p++;

        if (!(*p >= '0' && *p <= '9')) {
            goto invalid;
        }

        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (*p == 'e' || *p == 'E') {
        real = 1;
        p++;

        if (*p == '+' || *p == '-') {
            p++;
        }

        if (!(*p >= '0' && *p <= '9')) {
            goto invalid;
        }

        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (gw_asl_ifn_name_char((unsigned char) *p) || *p == '.') {
        goto invalid;
    }

    n = p - ps->p;
    if (n >= sizeof(buf)) {
        goto invalid;
    }

    memcpy(buf, ps->p, n);
    buf[n] = '\0';

    arg->kind = GW_ASL_IARG_VALUE;
    errno = 0;

    if (!real) {
        ll = strtoll(buf, &end, 10);
        if (errno == 0) {
            arg->value = json_integer(ll);
            goto done;
        }

        errno = 0;
    }

    d = strtod(buf, &end);
    if (errno == ERANGE && isinf(d)) {
        return gw_asl_error(ps->err, ps->error, NULL, "the number at offset "
                            "%zu is out of range", arg->pos);
    }

    arg->value = json_real(d);

done:

    if (arg->value == NULL) {
        return gw_asl_error(ps->err, ps->error, NULL, "out of memory");
    }

    ps->p = p;

    return 0;

invalid:

    return gw_asl_error(ps->err, ps->error, NULL, "an invalid number at "
                        "offset %zu", arg->pos);
}


void
gw_asl_icall_free(gw_asl_icall_t *call)
{
    size_t  i;

    if (call == NULL) {
        return;
    }

    for (i = 0; i < call->nargs; i++) {
        json_decref(call->args[i].value);
        free(call->args[i].path);
        gw_asl_icall_free(call->args[i].call);
    }

    free(call->args);
    free(call);
}
