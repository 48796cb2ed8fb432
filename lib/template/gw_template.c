
/*
 * Copyright (C) Tollgate
 *
 * Templates, compiled (gw_template.h): one pass over the text that cuts
 * it into text, variable and section nodes, checks every tag, matches
 * every close with its open, and, in the json context, follows the JSON
 * string literals of the text (quotes, backslashes, \uXXXX) so that each
 * variable knows whether it sits inside one.  Everything that can be
 * refused without the data is refused here, with the byte offset of the
 * tag or the byte at fault.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_template_int.h"


/* where the json context's scan of the text stands */
typedef struct {
    unsigned             in_string;
    unsigned             escape;        /* after a backslash */
    unsigned             hex;           /* \u digits still to come */
} gw_tmpl_json_state_t;


static int gw_tmpl_tag(gw_tmpl_t *t, size_t at, size_t close,
    size_t *stack, size_t *depth, gw_tmpl_json_state_t *js,
    gw_tmpl_json_state_t *jstack, gw_tmpl_err_t *err);
static int gw_tmpl_name_valid(const char *s, size_t len);
static gw_tmpl_node_t *gw_tmpl_node_add(gw_tmpl_t *t);
static int gw_tmpl_text(gw_tmpl_t *t, size_t from, size_t to,
    gw_tmpl_json_state_t *js, gw_tmpl_err_t *err);
static void gw_tmpl_json_scan(gw_tmpl_json_state_t *js, const char *p,
    size_t len);
static int gw_tmpl_fail(gw_tmpl_err_t *err, size_t offset,
    const char *fmt, ...);


gw_tmpl_t *
gw_tmpl_compile(const char *text, size_t len, const gw_tmpl_opts_t *opts,
    gw_tmpl_err_t *err)
{
    char                  *open;
    size_t                 p, at, close, depth, bad;
    size_t                 stack[GW_TMPL_DEPTH_MAX];
    gw_tmpl_t             *t;
    gw_tmpl_json_state_t   js, jstack[GW_TMPL_DEPTH_MAX];

    memset(err, 0, sizeof(gw_tmpl_err_t));

    if (len > GW_TMPL_SIZE_MAX) {
        gw_tmpl_fail(err, GW_TMPL_SIZE_MAX, "the template is larger than "
                     "%d bytes", GW_TMPL_SIZE_MAX);
        return NULL;
    }

    bad = gw_tmpl_utf8_check((const unsigned char *) text, len);
    if (bad < len) {
        gw_tmpl_fail(err, bad, "invalid UTF-8 at byte %zu", bad);
        return NULL;
    }

    open = memchr(text, '\0', len);
    if (open != NULL) {
        gw_tmpl_fail(err, open - text, "a NUL byte at byte %zu",
                     (size_t) (open - text));
        return NULL;
    }

    t = calloc(1, sizeof(gw_tmpl_t));
    if (t == NULL) {
        gw_tmpl_fail(err, 0, "out of memory");
        return NULL;
    }

    if (opts != NULL) {
        t->opts = *opts;
    }

    if (t->opts.context > GW_TMPL_URL) {
        gw_tmpl_fail(err, 0, "unknown context");
        goto failed;
    }

    t->text = malloc(len + 1);
    if (t->text == NULL) {
        gw_tmpl_fail(err, 0, "out of memory");
        goto failed;
    }

    memcpy(t->text, text, len);
    t->text[len] = '\0';
    t->len = len;

    memset(&js, 0, sizeof(js));
    depth = 0;
    p = 0;

    while (p < len) {
        open = strstr(t->text + p, "{{");
        at = (open != NULL) ? (size_t) (open - t->text) : len;

        if (at > p && gw_tmpl_text(t, p, at, &js, err) != 0) {
            goto failed;
        }

        if (open == NULL) {
            break;
        }

        open = strstr(t->text + at + 2, "}}");
        if (open == NULL) {
            gw_tmpl_fail(err, at, "a tag at byte %zu is not closed by }}",
                         at);
            goto failed;
        }

        close = open - t->text;

        if (gw_tmpl_tag(t, at, close, stack, &depth, &js, jstack, err)
            != 0)
        {
            goto failed;
        }

        p = close + 2;
    }

    if (depth > 0) {
        at = t->nodes[stack[depth - 1]].offset;
        gw_tmpl_fail(err, at, "the section opened at byte %zu is not "
                     "closed", at);
        goto failed;
    }

    if (t->opts.context == GW_TMPL_JSON && js.in_string) {
        gw_tmpl_fail(err, len, "a JSON string is not closed at the end");
        goto failed;
    }

    return t;

failed:

    gw_tmpl_free(t);
    return NULL;
}


void
gw_tmpl_free(gw_tmpl_t *t)
{
    if (t == NULL) {
        return;
    }

    free(t->text);
    free(t->nodes);
    free(t);
}


/*
 * One tag, text[at, close + 2): a comment, a section's open or close, or
 * a variable.  0, or -1 with err filled.
 */

static int
gw_tmpl_tag(gw_tmpl_t *t, size_t at, size_t close, size_t *stack,
    size_t *depth, gw_tmpl_json_state_t *js, gw_tmpl_json_state_t *jstack,
    gw_tmpl_err_t *err)
{
    char             sigil;
    size_t           s, e, bar, fs, fe, open;
    const char      *txt;
    gw_tmpl_node_t  *n;

    txt = t->text;
    s = at + 2;
    e = close;

    if (s < e && txt[s] == '!') {
        return 0;
    }

    sigil = (s < e && strchr("#^/", txt[s]) != NULL) ? txt[s] : '\0';
    s += (sigil != '\0');

    while (s < e && (txt[s] == ' ' || txt[s] == '\t')) {
        s++;
    }

    bar = s;

    while (bar < close && txt[bar] != '|') {
        bar++;
    }

    e = bar;

    while (e > s && (txt[e - 1] == ' ' || txt[e - 1] == '\t')) {
        e--;
    }

    if (bar < close) {
        fs = bar + 1;
        fe = close;

        while (fs < fe && (txt[fs] == ' ' || txt[fs] == '\t')) {
            fs++;
        }

        while (fe > fs && (txt[fe - 1] == ' ' || txt[fe - 1] == '\t')) {
            fe--;
        }

        if (sigil != '\0') {
            return gw_tmpl_fail(err, at, "a filter on a section tag at "
                                "byte %zu", at);
        }

        if (fe - fs != 3 || memcmp(txt + fs, "url", 3) != 0) {
            return gw_tmpl_fail(err, at, "unknown filter \"%.*s\" at byte "
                                "%zu", (int) (fe - fs > 32 ? 32 : fe - fs),
                                txt + fs, at);
        }
    }

    if (!gw_tmpl_name_valid(txt + s, e - s)) {
        return gw_tmpl_fail(err, at, "bad name \"%.*s\" at byte %zu (a "
                            "name is \".\" or [A-Za-z0-9_-] segments "
                            "joined by dots)",
                            (int) (e - s > 32 ? 32 : e - s), txt + s, at);
    }

    if (sigil == '/') {
        if (*depth == 0) {
            return gw_tmpl_fail(err, at, "{{/%.*s}} at byte %zu closes no "
                                "section", (int) (e - s), txt + s, at);
        }

        open = stack[*depth - 1];
        n = &t->nodes[open];

        if (n->len != e - s || memcmp(txt + n->start, txt + s, n->len) != 0)
        {
            return gw_tmpl_fail(err, at, "{{/%.*s}} at byte %zu does not "
                                "close {{%c%.*s}} at byte %zu",
                                (int) (e - s), txt + s, at,
                                n->type == GW_TMPL_N_SECTION ? '#' : '^',
                                (int) n->len, txt + n->start, n->offset);
        }

        if (t->opts.context == GW_TMPL_JSON
            && memcmp(&jstack[*depth - 1], js, sizeof(*js)) != 0)
        {
            return gw_tmpl_fail(err, at, "the section closed at byte %zu "
                                "opens or closes a JSON string", at);
        }

        n->end = t->n;
        (*depth)--;

        return 0;
    }

    if (t->opts.context == GW_TMPL_JSON && (js->escape || js->hex > 0)) {
        return gw_tmpl_fail(err, at, "a tag at byte %zu inside a JSON "
                            "escape sequence", at);
    }

    n = gw_tmpl_node_add(t);
    if (n == NULL) {
        return gw_tmpl_fail(err, at, "out of memory");
    }

    n->offset = at;
    n->start = s;
    n->len = e - s;
    n->url = (bar < close);
    n->in_string = js->in_string;

    if (sigil == '\0') {
        n->type = GW_TMPL_N_VAR;
        return 0;
    }

    if (*depth == GW_TMPL_DEPTH_MAX) {
        t->n--;
        return gw_tmpl_fail(err, at, "sections nested deeper than %d at "
                            "byte %zu", GW_TMPL_DEPTH_MAX, at);
    }

    n->type = (sigil == '#') ? GW_TMPL_N_SECTION : GW_TMPL_N_INVERTED;
    jstack[*depth] = *js;
    stack[(*depth)++] = t->n - 1;

    return 0;
}


/* "." or [A-Za-z0-9_-]+ segments joined by single dots */

static int
gw_tmpl_name_valid(const char *s, size_t len)
{
    size_t  i, seg;

    if (len == 0 || len > GW_TMPL_PATH_MAX) {
        return 0;
    }

    if (len == 1 && s[0] == '.') {
        return 1;
    }

    seg = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (seg == 0) {
                return 0;
            }

            seg = 0;
            continue;
        }

        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'
              || s[i] == '-'))
        {
            return 0;
        }

        seg++;
    }

    return seg > 0;
}


static gw_tmpl_node_t *
gw_tmpl_node_add(gw_tmpl_t *t)
{
    size_t           n;
    gw_tmpl_node_t  *nodes;

    if (t->n == t->nalloc) {
        n = (t->nalloc == 0) ? 16 : 2 * t->nalloc;

        nodes = realloc(t->nodes, n * sizeof(gw_tmpl_node_t));
        if (nodes == NULL) {
            return NULL;
        }

        t->nodes = nodes;
        t->nalloc = n;
    }

    memset(&t->nodes[t->n], 0, sizeof(gw_tmpl_node_t));

    return &t->nodes[t->n++];
}


/* a text node, text[from, to); 0 or -1 with err filled */

static int
gw_tmpl_text(gw_tmpl_t *t, size_t from, size_t to, gw_tmpl_json_state_t *js,
    gw_tmpl_err_t *err)
{
    size_t           i;
    unsigned char    c;
    gw_tmpl_node_t  *n;

    if (t->opts.one_line) {
        for (i = from; i < to; i++) {
            c = (unsigned char) t->text[i];

            if (c < 0x20 || c == 0x7f) {
                return gw_tmpl_fail(err, i, "a control character at byte "
                                    "%zu of a one-line template", i);
            }
        }
    }

    if (t->opts.context == GW_TMPL_JSON) {
        gw_tmpl_json_scan(js, t->text + from, to - from);
    }

    n = gw_tmpl_node_add(t);
    if (n == NULL) {
        return gw_tmpl_fail(err, from, "out of memory");
    }

    n->type = GW_TMPL_N_TEXT;
    n->offset = from;
    n->start = from;
    n->len = to - from;

    return 0;
}


/*
 * Follows JSON string literals through p: what is outside them is not
 * checked here (the rendered output is parsed whole), only where each
 * string starts and ends.
 */

static void
gw_tmpl_json_scan(gw_tmpl_json_state_t *js, const char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!js->in_string) {
            js->in_string = (p[i] == '"');
            continue;
        }

        if (js->hex > 0) {
            js->hex--;

        } else if (js->escape) {
            js->escape = 0;
            js->hex = (p[i] == 'u') ? 4 : 0;

        } else if (p[i] == '\\') {
            js->escape = 1;

        } else if (p[i] == '"') {
            js->in_string = 0;
        }
    }
}


size_t
gw_tmpl_utf8_check(const unsigned char *s, size_t len)
{
    size_t         i, n, k;
    unsigned int   c, min;

    for (i = 0; i < len; i += n) {
        c = s[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            min = 0x80;
            c &= 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            min = 0x800;
            c &= 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            min = 0x10000;
            c &= 0x07;

        } else {
            return i;
        }

        if (len - i < n) {
            return i;
        }

        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return i;
            }

            c = (c << 6) | (s[i + k] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return i;
        }
    }

    return len;
}


static int
gw_tmpl_fail(gw_tmpl_err_t *err, size_t offset, const char *fmt, ...)
{
    va_list  args;

    err->offset = offset;

    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);

    return -1;
}
