
/*
 * Copyright (C) Tollgate
 *
 * Regular expressions as JSON Schema wants them: ECMA-262 syntax and
 * semantics ("pattern", "patternProperties", format "regex"), run by
 * PCRE2.  The two dialects mostly agree; where they differ the pattern
 * is rewritten before PCRE2 compiles it:
 *
 *   \d \w \b      ASCII in ECMA-262; PCRE2 without UCP agrees, as is
 *   \s \S         ECMA-262 includes the Unicode spaces and U+FEFF:
 *                 spelled out as a class
 *   .             excludes \n \r U+2028 U+2029 only: spelled out
 *   \uXXXX \u{X}  code points (surrogate pairs joined): \x{...}
 *   \v \0         the characters VT and NUL, not PCRE2's class / octal
 *   [^] []        any character / nothing
 *   [ in a class  a literal, never a POSIX class
 *   $             end of input only (PCRE2_DOLLAR_ENDONLY)
 *   \a \e \z ...  not ECMA-262 escapes: rejected
 *
 * \p{...} is PCRE2's, which knows the same property names.  Patterns are
 * compiled in UTF mode, JIT-compiled when the platform allows, and run
 * with a match limit (GW_SCHEMA_MATCH_LIMIT steps) so that a pattern
 * with catastrophic backtracking fails the instance instead of spinning.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCH_RE_SPACES                                                      \
    "\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}"                 \
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}"

#define GW_SCH_RE_DOT  "[^\\n\\r\\x{2028}\\x{2029}]"


typedef struct {
    char    *p;
    size_t   len;
    size_t   size;
} gw_sch_buf_t;


/* General_Category long names (ECMA-262) that PCRE2 10.42 lacks */

static const char  *gw_sch_gc[] = {
    "Letter", "L", "Cased_Letter", "L&", "Uppercase_Letter", "Lu",
    "Lowercase_Letter", "Ll", "Titlecase_Letter", "Lt",
    "Modifier_Letter", "Lm", "Other_Letter", "Lo", "Mark", "M",
    "Combining_Mark", "M", "Nonspacing_Mark", "Mn", "Spacing_Mark", "Mc",
    "Enclosing_Mark", "Me", "Number", "N", "Decimal_Number", "Nd",
    "digit", "Nd", "Letter_Number", "Nl", "Other_Number", "No",
    "Punctuation", "P", "punct", "P", "Connector_Punctuation", "Pc",
    "Dash_Punctuation", "Pd", "Open_Punctuation", "Ps",
    "Close_Punctuation", "Pe", "Initial_Punctuation", "Pi",
    "Final_Punctuation", "Pf", "Other_Punctuation", "Po", "Symbol", "S",
    "Math_Symbol", "Sm", "Currency_Symbol", "Sc", "Modifier_Symbol", "Sk",
    "Other_Symbol", "So", "Separator", "Z", "Space_Separator", "Zs",
    "Line_Separator", "Zl", "Paragraph_Separator", "Zp", "Other", "C",
    "Control", "Cc", "cntrl", "Cc", "Format", "Cf", "Surrogate", "Cs",
    "Private_Use", "Co", "Unassigned", "Cn", NULL
};


static int
gw_sch_put(gw_sch_buf_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   size;

    if (b->len + n + 1 > b->size) {
        size = (b->len + n + 1) * 2;

        p = realloc(b->p, size);
        if (p == NULL) {
            return -1;
        }

        b->p = p;
        b->size = size;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';

    return 0;
}


static int
gw_sch_hexval(const char *s, size_t n, unsigned long *v)
{
    size_t  i;
    int     c;

    *v = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;

        } else if (c >= 'A' && c <= 'F') {
            c -= 'A' - 10;

        } else {
            return -1;
        }

        *v = *v * 16 + (unsigned long) c;
    }

    return 0;
}


/*
 * \u escapes at src[i] == 'u': writes \x{...} and returns the number of
 * bytes consumed after the backslash, or 0 if malformed.
 */

static size_t
gw_sch_unicode(gw_sch_buf_t *b, const char *src, size_t i, size_t len)
{
    char            tmp[32];
    size_t          n, end;
    unsigned long   cp, lo;

    if (i + 1 < len && src[i + 1] == '{') {
        end = i + 2;

        while (end < len && src[end] != '}') {
            end++;
        }

        n = end - i - 2;

        if (end == len || n == 0 || n > 6
            || gw_sch_hexval(src + i + 2, n, &cp) != 0 || cp > 0x10ffff)
        {
            return 0;
        }

        snprintf(tmp, sizeof(tmp), "\\x{%lx}", cp);

        return gw_sch_put(b, tmp, strlen(tmp)) == 0 ? end - i + 1 : 0;
    }

    if (i + 5 > len || gw_sch_hexval(src + i + 1, 4, &cp) != 0) {
        return 0;
    }

    n = 5;

    if (cp >= 0xd800 && cp <= 0xdbff && i + 11 <= len
        && src[i + 5] == '\\' && src[i + 6] == 'u'
        && gw_sch_hexval(src + i + 7, 4, &lo) == 0
        && lo >= 0xdc00 && lo <= 0xdfff)
    {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        n = 11;
    }

    if (cp >= 0xd800 && cp <= 0xdfff) {
        return 0;           /* a lone surrogate: not in UTF-8 */
    }

    snprintf(tmp, sizeof(tmp), "\\x{%lx}", cp);

    return gw_sch_put(b, tmp, strlen(tmp)) == 0 ? n : 0;
}


/*
 * \p{...} or \P{...} at src[i] == 'p' or 'P': writes PCRE2's spelling
 * and returns the bytes consumed after the backslash, or 0 if malformed.
 */

static size_t
gw_sch_property(gw_sch_buf_t *b, const char *src, size_t i, size_t len)
{
    char        tmp[80];
    size_t      end, k, n, skip;
    const char *name;

    if (i + 1 >= len || src[i + 1] != '{') {
        return 0;
    }

    for (end = i + 2; end < len && src[end] != '}'; end++) {
        /* void */
    }

    if (end == len || end - i - 2 == 0 || end - i - 2 > 60) {
        return 0;
    }

    name = src + i + 2;
    n = end - i - 2;
    skip = 0;

    if (n > 17 && memcmp(name, "General_Category=", 17) == 0) {
        skip = 17;

    } else if (n > 3 && memcmp(name, "gc=", 3) == 0) {
        skip = 3;
    }

    name += skip;
    n -= skip;

    for (k = 0; gw_sch_gc[k] != NULL; k += 2) {
        if (strlen(gw_sch_gc[k]) == n && memcmp(gw_sch_gc[k], name, n) == 0)
        {
            name = gw_sch_gc[k + 1];
            n = strlen(name);
            break;
        }
    }

    snprintf(tmp, sizeof(tmp), "\\%c{%.*s}", src[i], (int) n, name);

    return gw_sch_put(b, tmp, strlen(tmp)) == 0 ? end - i + 1 : 0;
}


/* "(" at s: a plain group or (?: (?= (?! (?<= (?<! (?<name> */

static int
gw_sch_group_ok(const char *s, size_t len)
{
    if (len < 2 || s[1] != '?') {
        return 1;
    }

    if (len < 3) {
        return 0;
    }

    if (s[2] == ':' || s[2] == '=' || s[2] == '!') {
        return 1;
    }

    if (s[2] != '<' || len < 4) {
        return 0;
    }

    return s[3] == '=' || s[3] == '!' || s[3] == '_' || s[3] == '$'
           || (s[3] >= 'a' && s[3] <= 'z') || (s[3] >= 'A' && s[3] <= 'Z');
}


/* ECMA-262 to PCRE2 into b; returns 0, or -1 with *why */

static int
gw_sch_translate(gw_sch_buf_t *b, const char *src, size_t len,
    const char **why)
{
    int      in_class;
    char     c;
    size_t   i, n;

    in_class = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c == '\\') {
            if (i + 1 == len) {
                *why = "a trailing backslash";
                return -1;
            }

            c = src[++i];

            switch (c) {

            case 's':
            case 'S':
                if (in_class) {
                    if (c == 'S') {
                        n = (gw_sch_put(b, "\\S", 2) != 0);

                    } else {
                        n = (gw_sch_put(b, GW_SCH_RE_SPACES,
                                        sizeof(GW_SCH_RE_SPACES) - 1) != 0);
                    }

                } else {
                    n = (gw_sch_put(b, c == 's' ? "[" : "[^", c == 's' ? 1 : 2)
                         != 0
                         || gw_sch_put(b, GW_SCH_RE_SPACES,
                                       sizeof(GW_SCH_RE_SPACES) - 1) != 0
                         || gw_sch_put(b, "]", 1) != 0);
                }

                if (n != 0) {
                    goto nomem;
                }

                continue;

            case 'u':
                n = gw_sch_unicode(b, src, i, len);
                if (n == 0) {
                    *why = "a bad \\u escape";
                    return -1;
                }

                i += n - 1;
                continue;

            case 'p':
            case 'P':
                n = gw_sch_property(b, src, i, len);
                if (n == 0) {
                    *why = "a bad \\p escape";
                    return -1;
                }

                i += n - 1;
                continue;

            case 'v':
                if (gw_sch_put(b, "\\x{0b}", 6) != 0) {
                    goto nomem;
                }

                continue;

            case '0':
                if (i + 1 < len && src[i + 1] >= '0' && src[i + 1] <= '9') {
                    *why = "an octal escape";
                    return -1;
                }

                if (gw_sch_put(b, "\\x{0}", 5) != 0) {
                    goto nomem;
                }

                continue;

            case 'c':
                if (i + 1 == len
                    || !((src[i + 1] >= 'a' && src[i + 1] <= 'z')
                         || (src[i + 1] >= 'A' && src[i + 1] <= 'Z')))
                {
                    *why = "a bad \\c escape";
                    return -1;
                }

                if (gw_sch_put(b, src + i - 1, 3) != 0) {
                    goto nomem;
                }

                i++;
                continue;

            case 'd': case 'D': case 'w': case 'W': case 'b': case 'B':
            case 't': case 'n': case 'f': case 'r': case 'x': case 'k':
            case '1': case '2': case '3': case '4': case '5': case '6':
            case '7': case '8': case '9':
                break;

            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                    *why = "an escape that ECMA-262 does not define";
                    return -1;
                }

                break;
            }

            if (gw_sch_put(b, src + i - 1, 2) != 0) {
                goto nomem;
            }

            continue;
        }

        if (in_class) {
            if (c == ']') {
                in_class = 0;

            } else if (c == '[') {
                if (gw_sch_put(b, "\\[", 2) != 0) {
                    goto nomem;
                }

                continue;
            }

        } else if (c == '[') {
            if (i + 1 < len && src[i + 1] == ']') {
                if (gw_sch_put(b, "(?!)", 4) != 0) {
                    goto nomem;
                }

                i++;
                continue;
            }

            if (i + 2 < len && src[i + 1] == '^' && src[i + 2] == ']') {
                if (gw_sch_put(b, "[\\s\\S]", 6) != 0) {
                    goto nomem;
                }

                i += 2;
                continue;
            }

            in_class = 1;

            if (gw_sch_put(b, "[", 1) != 0) {
                goto nomem;
            }

            /* a leading ']' would be a literal to PCRE2, not to ECMA */
            if (i + 1 < len && src[i + 1] == '^') {
                if (gw_sch_put(b, "^", 1) != 0) {
                    goto nomem;
                }

                i++;
            }

            continue;

        } else if (c == '(' && !gw_sch_group_ok(src + i, len - i)) {
            *why = "a group syntax that ECMA-262 does not define";
            return -1;

        } else if (c == '.') {
            if (gw_sch_put(b, GW_SCH_RE_DOT, sizeof(GW_SCH_RE_DOT) - 1) != 0)
            {
                goto nomem;
            }

            continue;
        }

        if (gw_sch_put(b, &c, 1) != 0) {
            goto nomem;
        }
    }

    if (in_class) {
        *why = "an unterminated character class";
        return -1;
    }

    if (b->p == NULL && gw_sch_put(b, "", 0) != 0) {
        goto nomem;
    }

    return 0;

nomem:

    *why = "out of memory";

    return -1;
}


static pcre2_code *
gw_sch_pcre(const char *src, size_t len, char *err, size_t errlen)
{
    int           rc;
    PCRE2_SIZE    off;
    const char   *why;
    pcre2_code   *code;
    gw_sch_buf_t  b;

    memset(&b, 0, sizeof(gw_sch_buf_t));

    if (gw_sch_translate(&b, src, len, &why) != 0) {
        snprintf(err, errlen, "%s", why);
        free(b.p);
        return NULL;
    }

    code = pcre2_compile((PCRE2_SPTR) b.p, b.len,
                         PCRE2_UTF | PCRE2_DOLLAR_ENDONLY
                         | PCRE2_NEVER_BACKSLASH_C,
                         &rc, &off, NULL);

    free(b.p);

    if (code == NULL) {
        pcre2_get_error_message(rc, (PCRE2_UCHAR *) err, errlen);
    }

    return code;
}


/*
 * Compiles an ECMA-262 pattern (len bytes of UTF-8) for the schema s,
 * which owns the result.  Returns NULL with err filled when the pattern
 * is not valid or memory ran out.
 */

gw_sch_regex_t *
gw_sch_regex_compile(gw_schema_t *s, const char *src, size_t len, char *err,
    size_t errlen)
{
    pcre2_code       *code;
    gw_sch_regex_t   *re, **list;

    if (s->nregexes == s->regexes_alloc) {
        list = realloc(s->regexes, (s->regexes_alloc * 2 + 8)
                                   * sizeof(gw_sch_regex_t *));
        if (list == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }

        s->regexes = list;
        s->regexes_alloc = s->regexes_alloc * 2 + 8;
    }

    re = gw_sch_alloc(s, sizeof(gw_sch_regex_t));
    if (re == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    code = gw_sch_pcre(src, len, err, errlen);
    if (code == NULL) {
        return NULL;
    }

    re->jit = (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0);
    re->code = code;
    s->regexes[s->nregexes++] = re;

    return re;
}


/* 1 match, 0 no match, -1 the match limit was reached */

int
gw_sch_regex_match(gw_schema_t *s, gw_sch_regex_t *re, const char *str,
    size_t len)
{
    int  rc;

    if (re->jit) {
        /* the fast path: no option checks; the match limit still holds */
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR) str, len, 0, 0, s->md,
                             s->mctx);

    } else {
        rc = pcre2_match(re->code, (PCRE2_SPTR) str, len, 0,
                         PCRE2_NO_UTF_CHECK, s->md, s->mctx);
    }

    if (rc >= 0) {
        return 1;
    }

    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}


/* format "regex": 1 when src is an ECMA-262 pattern we accept */

int
gw_sch_regex_check(const char *src, size_t len)
{
    char         err[128];
    pcre2_code  *code;

    code = gw_sch_pcre(src, len, err, sizeof(err));
    if (code == NULL) {
        return 0;
    }

    pcre2_code_free(code);

    return 1;
}
