
/*
 * Copyright (C) Tollgate
 *
 * Host names for "format": hostname (RFC 1123, with its A-labels held to
 * IDNA2008) and idn-hostname (RFC 5890 to 5893).  A-labels are decoded
 * from Punycode (RFC 3492) and must hold non-ASCII; U-labels must fit in
 * 63 bytes once encoded; every U-label then passes the IDNA2008 checks.
 *
 * IDNA2008 is approximated: its derived property table is replaced by
 * Unicode general categories (letters other than upper and title case,
 * marks, decimal digits) plus the exceptions of RFC 5892, and the
 * contextual rules of its appendix A and the Bidi rule of RFC 5893 are
 * checked.  The Unicode tests run as PCRE2 patterns compiled once per
 * process on first use (the library is used from single-threaded
 * workers) and never freed.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"

#define GW_SCH_VIRAMA                                                         \
    "\\x{94d}\\x{9cd}\\x{a4d}\\x{acd}\\x{b4d}\\x{bcd}\\x{c4d}\\x{ccd}"         \
    "\\x{d3b}\\x{d3c}\\x{d4d}\\x{dca}\\x{e3a}\\x{eba}\\x{f84}\\x{1039}"       \
    "\\x{103a}\\x{1714}\\x{1734}\\x{17d2}\\x{1a60}\\x{1b44}\\x{1baa}"         \
    "\\x{1bab}\\x{1bf2}\\x{1bf3}\\x{2d7f}\\x{a806}\\x{a8c4}\\x{a953}"         \
    "\\x{a9c0}\\x{aaf6}\\x{abed}"


/* a U-label is invalid when one of the checks matches (RFC 5891, 5892);
 * the last four serve the Bidi rule of RFC 5893 */

static const char  *gw_sch_idna_bad[] = {
    /* starts with a combining mark */
    "^\\p{M}",
    /* a code point that is neither PVALID-like nor CONTEXT */
    "[^\\p{Ll}\\p{Lo}\\p{Lm}\\p{Mn}\\p{Mc}\\p{Nd}\\-\\x{df}\\x{3c2}\\x{6fd}"
    "\\x{6fe}\\x{f0b}\\x{3007}\\x{200c}\\x{200d}\\x{b7}\\x{375}\\x{5f3}"
    "\\x{5f4}\\x{30fb}]",
    /* DISALLOWED exceptions */
    "[\\x{640}\\x{7fa}\\x{302e}\\x{302f}\\x{3031}-\\x{3035}\\x{303b}]",
    /* MIDDLE DOT between two 'l' only */
    "(?<!l)\\x{b7}|\\x{b7}(?!l)",
    /* Greek KERAIA before Greek */
    "\\x{375}(?!\\p{Greek})",
    /* Hebrew GERESH, GERSHAYIM after Hebrew */
    "(?<!\\p{Hebrew})[\\x{5f3}\\x{5f4}]",
    /* KATAKANA MIDDLE DOT with Hiragana, Katakana or Han */
    "^(?=.*\\x{30fb})(?!.*(?!\\x{30fb})[\\p{Hiragana}\\p{Katakana}"
    "\\p{Han}])",
    /* Arabic-Indic digits of both kinds */
    "[\\x{660}-\\x{669}].*[\\x{6f0}-\\x{6f9}]"
    "|[\\x{6f0}-\\x{6f9}].*[\\x{660}-\\x{669}]",
    /* ZERO WIDTH JOINER after a virama */
    "(?<![" GW_SCH_VIRAMA "])\\x{200d}",
    /* ZERO WIDTH NON-JOINER after a virama, or between joining letters */
    "(?<![" GW_SCH_VIRAMA "])(?<!\\p{Arabic})\\x{200c}"
    "|(?<![" GW_SCH_VIRAMA "])\\x{200c}(?!\\p{Arabic})",

    /* not checks: a right-to-left character (RFC 5893) */
    "[\\p{bc=R}\\p{bc=AL}\\p{bc=AN}]",
    /* a right-to-left label by rules 1, 2, 3 */
    "^[\\p{bc=R}\\p{bc=AL}](?:[\\p{bc=R}\\p{bc=AL}\\p{bc=AN}\\p{bc=EN}"
    "\\p{bc=ES}\\p{bc=CS}\\p{bc=ET}\\p{bc=ON}\\p{bc=BN}\\p{bc=NSM}]*"
    "[\\p{bc=R}\\p{bc=AL}\\p{bc=EN}\\p{bc=AN}])?\\p{bc=NSM}*$",
    /* rule 4: EN and AN together */
    "\\p{bc=EN}.*\\p{bc=AN}|\\p{bc=AN}.*\\p{bc=EN}",
    /* a left-to-right label by rules 1, 5, 6 */
    "^\\p{bc=L}(?:[\\p{bc=L}\\p{bc=EN}\\p{bc=ES}\\p{bc=CS}\\p{bc=ET}"
    "\\p{bc=ON}\\p{bc=BN}\\p{bc=NSM}]*[\\p{bc=L}\\p{bc=EN}])?"
    "\\p{bc=NSM}*$",
    NULL
};

#define GW_SCH_NIDNA        (sizeof(gw_sch_idna_bad) / sizeof(char *) - 1)
#define GW_SCH_IDNA_CHECKS  (GW_SCH_NIDNA - 4)
#define GW_SCH_IDNA_RTL     (GW_SCH_NIDNA - 4)
#define GW_SCH_IDNA_RTL_OK  (GW_SCH_NIDNA - 3)
#define GW_SCH_IDNA_EN_AN   (GW_SCH_NIDNA - 2)
#define GW_SCH_IDNA_LTR_OK  (GW_SCH_NIDNA - 1)


static pcre2_code        *gw_sch_idna_re[GW_SCH_NIDNA];
static pcre2_match_data  *gw_sch_idna_md;

/* RFC 3492 decoding into cp[] (at most 64 code points); -1: invalid */

static int
gw_sch_punycode(const char *s, size_t len, uint32_t *cp, size_t *ncp)
{
    size_t    i, j, pos, basic, out, k, t, digit, oldi, w, n, bias, delta;
    uint32_t  c;

    basic = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '-') {
            basic = i;
        }
    }

    out = 0;

    for (i = 0; i < basic; i++) {
        if (out == 64) {
            return -1;
        }

        cp[out++] = (unsigned char) s[i];
    }

    n = 128;
    i = 0;
    bias = 72;
    pos = basic > 0 ? basic + 1 : 0;

    while (pos < len) {
        oldi = i;
        w = 1;

        for (k = 36; /* void */ ; k += 36) {
            if (pos == len) {
                return -1;
            }

            c = (unsigned char) s[pos++];

            if (c >= 'a' && c <= 'z') {
                digit = c - 'a';

            } else if (c >= 'A' && c <= 'Z') {
                digit = c - 'A';

            } else if (c >= '0' && c <= '9') {
                digit = c - '0' + 26;

            } else {
                return -1;
            }

            if (digit > (0x7fffffff - i) / w) {
                return -1;
            }

            i += digit * w;
            t = k <= bias ? 1 : (k >= bias + 26 ? 26 : k - bias);

            if (digit < t) {
                break;
            }

            if (w > 0x7fffffff / (36 - t)) {
                return -1;
            }

            w *= 36 - t;
        }

        /* bias adaptation */

        delta = (oldi == 0) ? (i - oldi) / 700 : (i - oldi) / 2;
        delta += delta / (out + 1);

        for (k = 0; delta > (35 * 26) / 2; k += 36) {
            delta /= 35;
        }

        bias = k + (36 * delta) / (delta + 38);

        n += i / (out + 1);
        i %= out + 1;

        if (n > 0x10ffff || out == 64 || n < 128) {
            return -1;
        }

        for (j = out; j > i; j--) {
            cp[j] = cp[j - 1];
        }

        cp[i++] = (uint32_t) n;
        out++;
    }

    *ncp = out;

    return 0;
}


static size_t
gw_sch_utf8_put(char *p, uint32_t c)
{
    if (c < 0x80) {
        p[0] = (char) c;
        return 1;
    }

    if (c < 0x800) {
        p[0] = (char) (0xc0 | (c >> 6));
        p[1] = (char) (0x80 | (c & 0x3f));
        return 2;
    }

    if (c < 0x10000) {
        p[0] = (char) (0xe0 | (c >> 12));
        p[1] = (char) (0x80 | ((c >> 6) & 0x3f));
        p[2] = (char) (0x80 | (c & 0x3f));
        return 3;
    }

    p[0] = (char) (0xf0 | (c >> 18));
    p[1] = (char) (0x80 | ((c >> 12) & 0x3f));
    p[2] = (char) (0x80 | ((c >> 6) & 0x3f));
    p[3] = (char) (0x80 | (c & 0x3f));

    return 4;
}


static int
gw_sch_idna_init(void)
{
    int         rc;
    size_t      i;
    PCRE2_SIZE  off;

    if (gw_sch_idna_md != NULL) {
        return 0;
    }

    for (i = 0; i < GW_SCH_NIDNA; i++) {
        if (gw_sch_idna_re[i] != NULL) {
            continue;
        }

        gw_sch_idna_re[i] = pcre2_compile((PCRE2_SPTR) gw_sch_idna_bad[i],
                                          PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                          &rc, &off, NULL);
        if (gw_sch_idna_re[i] == NULL) {
            return -1;
        }
    }

    gw_sch_idna_md = pcre2_match_data_create(1, NULL);

    return gw_sch_idna_md == NULL ? -1 : 0;
}


static int
gw_sch_idna_match(size_t i, const char *s, size_t len)
{
    return pcre2_match(gw_sch_idna_re[i], (PCRE2_SPTR) s, len, 0,
                       PCRE2_NO_UTF_CHECK, gw_sch_idna_md, NULL) >= 0;
}


/* RFC 5893 section 2 for one label of a Bidi domain name: 1 valid */

static int
gw_sch_bidi(const char *s, size_t len)
{
    if (gw_sch_idna_init() != 0) {
        return 1;
    }

    if (gw_sch_idna_match(GW_SCH_IDNA_RTL_OK, s, len)) {
        return !gw_sch_idna_match(GW_SCH_IDNA_EN_AN, s, len);
    }

    return gw_sch_idna_match(GW_SCH_IDNA_LTR_OK, s, len);
}


/*
 * The IDNA2008 checks of a U-label (UTF-8): 1 valid, and *rtl set when
 * it holds a right-to-left character.
 */

static int
gw_sch_ulabel(const char *s, size_t len, int *rtl)
{
    size_t  i, cps;

    cps = 0;

    for (i = 0; i < len; i++) {
        cps += ((unsigned char) s[i] & 0xc0) != 0x80;
    }

    if (len == 0 || s[0] == '-' || s[len - 1] == '-'
        || (cps >= 4 && len >= 4 && s[2] == '-' && s[3] == '-'))
    {
        return 0;
    }

    if (gw_sch_idna_init() != 0) {
        return 1;               /* cannot check: an annotation then */
    }

    for (i = 0; i < GW_SCH_IDNA_CHECKS; i++) {
        if (gw_sch_idna_match(i, s, len)) {
            return 0;
        }
    }

    *rtl = gw_sch_idna_match(GW_SCH_IDNA_RTL, s, len);

    return 1;
}


/* the length of the Punycode (RFC 3492) of cp[0..ncp) */

static size_t
gw_sch_punycode_len(const uint32_t *cp, size_t ncp)
{
    size_t    i, h, b, out, k, t, q, bias, delta;
    uint32_t  n, m;

    b = 0;

    for (i = 0; i < ncp; i++) {
        b += cp[i] < 0x80;
    }

    h = b;
    out = b + (b > 0);
    n = 128;
    delta = 0;
    bias = 72;

    while (h < ncp) {
        m = 0x10ffff;

        for (i = 0; i < ncp; i++) {
            if (cp[i] >= n && cp[i] < m) {
                m = cp[i];
            }
        }

        delta += (size_t) (m - n) * (h + 1);
        n = m;

        for (i = 0; i < ncp; i++) {
            if (cp[i] < n) {
                delta++;
            }

            if (cp[i] != n) {
                continue;
            }

            for (q = delta, k = 36; /* void */ ; k += 36) {
                t = k <= bias ? 1 : (k >= bias + 26 ? 26 : k - bias);

                if (q < t) {
                    break;
                }

                out++;
                q = (q - t) / (36 - t);
            }

            out++;

            /* bias adaptation, as in decoding */

            q = (h == b) ? delta / 700 : delta / 2;
            q += q / (h + 1);

            for (k = 0; q > (35 * 26) / 2; k += 36) {
                q /= 35;
            }

            bias = k + (36 * q) / (q + 38);
            delta = 0;
            h++;
        }

        delta++;
        n++;
    }

    return out;
}


/* the code points of len bytes of UTF-8 (from jansson: well-formed) */

static size_t
gw_sch_utf8_cps(const char *s, size_t len, uint32_t *cp, size_t max)
{
    size_t                n;
    const unsigned char  *p, *end;

    p = (const unsigned char *) s;
    end = p + len;

    for (n = 0; p < end && n < max; n++) {
        if (*p < 0x80) {
            cp[n] = *p++;

        } else if (*p < 0xe0 && p + 1 < end) {
            cp[n] = ((uint32_t) (*p & 0x1f) << 6) | (p[1] & 0x3f);
            p += 2;

        } else if (*p < 0xf0 && p + 2 < end) {
            cp[n] = ((uint32_t) (*p & 0x0f) << 12)
                    | ((uint32_t) (p[1] & 0x3f) << 6) | (p[2] & 0x3f);
            p += 3;

        } else if (p + 3 < end) {
            cp[n] = ((uint32_t) (*p & 0x07) << 18)
                    | ((uint32_t) (p[1] & 0x3f) << 12)
                    | ((uint32_t) (p[2] & 0x3f) << 6) | (p[3] & 0x3f);
            p += 4;

        } else {
            break;
        }
    }

    return n;
}


/*
 * One label of a host name (idn: U-labels allowed too), written in its
 * U-label form to buf (256 bytes).  Returns its length there, or -1 when
 * the label is not valid; *rtl tells whether it is right-to-left.
 */

static int
gw_sch_label(const char *s, size_t len, int idn, char *buf, int *rtl)
{
    size_t    i, n, ncp;
    uint32_t  cp[64 * 4];

    *rtl = 0;

    if (len == 0 || len > 63 * 4) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] >= 0x80) {
            break;
        }
    }

    if (i < len) {
        /* a U-label, whose A-label must fit in 63 bytes too */

        if (!idn || !gw_sch_ulabel(s, len, rtl)) {
            return -1;
        }

        ncp = gw_sch_utf8_cps(s, len, cp, 64 * 4);

        if (4 + gw_sch_punycode_len(cp, ncp) > 63) {
            return -1;
        }

        memcpy(buf, s, len);

        return (int) len;
    }

    if (len > 63) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
        {
            return -1;
        }
    }

    if (s[0] == '-' || s[len - 1] == '-') {
        return -1;
    }

    if (len >= 4 && s[2] == '-' && s[3] == '-') {
        if ((s[0] != 'x' && s[0] != 'X') || (s[1] != 'n' && s[1] != 'N')) {
            return -1;
        }

        /* an A-label: its U-label must pass and hold non-ASCII */

        if (gw_sch_punycode(s + 4, len - 4, cp, &ncp) != 0 || ncp == 0) {
            return -1;
        }

        n = 0;

        for (i = 0; i < ncp; i++) {
            n += gw_sch_utf8_put(buf + n, cp[i]);
        }

        if (n == ncp || !gw_sch_ulabel(buf, n, rtl)) {
            return -1;
        }

        return (int) n;
    }

    memcpy(buf, s, len);

    return (int) len;
}


int
gw_sch_hostname(const char *s, size_t len, int idn)
{
    int     pass, rtl, any_rtl, n;
    char    buf[64 * 4];
    size_t  i, start, sep;

    if (len == 0 || (!idn && len > 253)) {
        return 0;
    }

    if (idn) {
        for (i = 0, start = 0; i < len; i++) {
            start += ((unsigned char) s[i] & 0xc0) != 0x80;
        }

        if (start > 253) {
            return 0;
        }
    }

    /* pass 0 checks each label; pass 1 the Bidi rule for every label of
     * a name that has a right-to-left one */

    any_rtl = 0;

    for (pass = 0; pass < 2 && (pass == 0 || any_rtl); pass++) {
        start = 0;

        for (i = 0; i <= len; i++) {
            sep = 0;

            if (i == len || s[i] == '.') {
                sep = 1;

            } else if (idn && len - i >= 3
                       && (memcmp(s + i, "\xe3\x80\x82", 3) == 0
                           || memcmp(s + i, "\xef\xbc\x8e", 3) == 0
                           || memcmp(s + i, "\xef\xbd\xa1", 3) == 0))
            {
                sep = 3;
            }

            if (sep == 0) {
                continue;
            }

            n = gw_sch_label(s + start, i - start, idn, buf, &rtl);

            if (n < 0 || (pass == 1 && !gw_sch_bidi(buf, n))) {
                return 0;
            }

            any_rtl |= rtl;

            if (i < len) {
                i += sep - 1;
            }

            start = i + 1;
        }
    }

    return 1;
}
