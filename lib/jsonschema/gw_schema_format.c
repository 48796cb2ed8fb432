
/*
 * Copyright (C) Tollgate
 *
 * "format" as an assertion (an option, or the format-assertion
 * vocabulary), for the formats of the suite's optional/format folder:
 * RFC 3339 date-time, date, time and duration (its appendix A), e-mail
 * addresses (RFC 5321 mailbox, and RFC 6531 for idn-email), host names
 * (RFC 1123, and IDNA2008 for idn-hostname and for the A-labels of
 * hostname), IPv4 and IPv6 (RFC 2673 and 4291), URIs and IRIs (RFC 3986
 * and 3987), URI templates (RFC 6570), JSON pointers (RFC 6901 and the
 * relative draft), ECMA-262 regular expressions and UUIDs (RFC 4122).
 * Unknown formats are annotations only, whatever the option says.  Host
 * names are in gw_schema_idn.c.  Each check reads the string as given:
 * no trimming, no case folding beyond what the RFCs allow.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


static int
gw_sch_digits(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static int
gw_sch_num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}


static int
gw_sch_date(const char *s, size_t len)
{
    int  y, m, d, max;

    static const int  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (len != 10 || s[4] != '-' || s[7] != '-' || !gw_sch_digits(s, 4)
        || !gw_sch_digits(s + 5, 2) || !gw_sch_digits(s + 8, 2))
    {
        return 0;
    }

    y = gw_sch_num2(s) * 100 + gw_sch_num2(s + 2);
    m = gw_sch_num2(s + 5);
    d = gw_sch_num2(s + 8);

    if (m < 1 || m > 12 || d < 1) {
        return 0;
    }

    max = days[m - 1];

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        max = 29;
    }

    return d <= max;
}


static int
gw_sch_time(const char *s, size_t len)
{
    int     h, m, sec, oh, om, utc;
    size_t  i;

    if (len < 9 || s[2] != ':' || s[5] != ':' || !gw_sch_digits(s, 2)
        || !gw_sch_digits(s + 3, 2) || !gw_sch_digits(s + 6, 2))
    {
        return 0;
    }

    h = gw_sch_num2(s);
    m = gw_sch_num2(s + 3);
    sec = gw_sch_num2(s + 6);

    if (h > 23 || m > 59 || sec > 60) {
        return 0;
    }

    i = 8;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* void */
        }

        if (i == 9) {
            return 0;
        }
    }

    if (i == len) {
        return 0;
    }

    oh = 0;
    om = 0;

    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        /* UTC */

    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6
               && s[i + 3] == ':' && gw_sch_digits(s + i + 1, 2)
               && gw_sch_digits(s + i + 4, 2))
    {
        oh = gw_sch_num2(s + i + 1);
        om = gw_sch_num2(s + i + 4);

        if (oh > 23 || om > 59) {
            return 0;
        }

        if (s[i] == '+') {
            oh = -oh;
            om = -om;
        }

    } else {
        return 0;
    }

    if (sec == 60) {
        /* a leap second is 23:59:60 in UTC */
        utc = ((h * 60 + m + oh * 60 + om) % 1440 + 1440) % 1440;
        return utc == 23 * 60 + 59;
    }

    return 1;
}


static int
gw_sch_duration(const char *s, size_t len)
{
    int          time, any, last, k;
    size_t       i, start;
    const char  *units;

    static const char  date_units[] = "YMD", time_units[] = "HMS";

    if (len < 2 || s[0] != 'P') {
        return 0;
    }

    if (s[len - 1] == 'W') {
        return len > 2 && gw_sch_digits(s + 1, len - 2);
    }

    time = 0;
    any = 0;
    last = -1;
    units = date_units;

    for (i = 1; i < len; /* void */) {
        if (s[i] == 'T') {
            if (time) {
                return 0;
            }

            time = 1;
            last = -1;
            units = time_units;
            i++;

            if (i == len) {
                return 0;
            }

            continue;
        }

        start = i;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }

        if (i == start || i == len) {
            return 0;
        }

        for (k = 0; k < 3 && units[k] != s[i]; k++) {
            /* void */
        }

        /* units in order, and adjacent: no year and day without month */

        if (k == 3 || (last >= 0 && k != last + 1)) {
            return 0;
        }

        last = k;
        any = 1;
        i++;
    }

    return any && s[len - 1] != 'T';
}


static int
gw_sch_ipv4(const char *s, size_t len)
{
    int     parts, v;
    size_t  i, start;

    parts = 0;
    i = 0;

    while (parts < 4) {
        start = i;
        v = 0;

        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (s[i] - '0');
            i++;
        }

        if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) {
            return 0;
        }

        parts++;

        if (parts < 4) {
            if (i == len || s[i] != '.') {
                return 0;
            }

            i++;
        }
    }

    return i == len;
}


static int
gw_sch_hexdig(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


static int
gw_sch_ipv6(const char *s, size_t len)
{
    int     groups, gap;
    size_t  i, start, n;

    groups = 0;
    gap = 0;
    i = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 1;
        i = 2;

        if (len == 2) {
            return 1;
        }

    } else if (len > 0 && s[0] == ':') {
        return 0;
    }

    while (i < len) {
        start = i;

        while (i < len && gw_sch_hexdig((unsigned char) s[i])) {
            i++;
        }

        n = i - start;

        if (i < len && s[i] == '.') {
            /* an IPv4 tail takes two groups */
            if (!gw_sch_ipv4(s + start, len - start)) {
                return 0;
            }

            groups += 2;
            i = len;
            break;
        }

        if (n == 0 || n > 4) {
            return 0;
        }

        groups++;

        if (i == len) {
            break;
        }

        if (s[i] != ':') {
            return 0;
        }

        i++;

        if (i < len && s[i] == ':') {
            if (gap) {
                return 0;
            }

            gap = 1;
            i++;

            if (i == len) {
                break;
            }

        } else if (i == len) {
            return 0;
        }
    }

    return gap ? groups < 8 : groups == 8;
}


static int
gw_sch_email(const char *s, size_t len, int idn)
{
    size_t       i, at;
    const char  *d;
    unsigned     c;

    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len && s[i] != '"'; i++) {
            if (s[i] == '\\') {
                i++;
            }
        }

        if (i >= len || i + 1 >= len || s[i + 1] != '@') {
            return 0;
        }

        at = i + 1;

    } else {
        for (at = 0; at < len && s[at] != '@'; at++) {
            c = (unsigned char) s[at];

            if (c >= 0x80) {
                if (!idn) {
                    return 0;
                }

                continue;
            }

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '.'
                  || strchr("!#$%&'*+-/=?^_`{|}~", (int) c) != NULL)
                || c == '\0')
            {
                return 0;
            }

            if (c == '.' && (at == 0 || s[at - 1] == '.')) {
                return 0;
            }
        }

        if (at == 0 || at == len || s[at - 1] == '.') {
            return 0;
        }
    }

    d = s + at + 1;
    len -= at + 1;

    if (len > 2 && d[0] == '[' && d[len - 1] == ']') {
        if (len > 7 && memcmp(d + 1, "IPv6:", 5) == 0) {
            return gw_sch_ipv6(d + 6, len - 7);
        }

        return gw_sch_ipv4(d + 1, len - 2);
    }

    return gw_sch_hostname(d, len, idn);
}


/* RFC 3986 character classes; iri also takes any non-ASCII byte */

static int
gw_sch_uchar(unsigned c, const char *extra, int iri)
{
    if (c >= 0x80) {
        return iri;
    }

    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || (c != 0 && strchr("-._~", c))
           || (c != 0 && strchr("!$&'()*+,;=", c))
           || (c != 0 && strchr(extra, c));
}


/* s[0..len) of chars unreserved/sub-delims/extra or %XX */

static int
gw_sch_uri_part(const char *s, size_t len, const char *extra, int iri)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len || !gw_sch_hexdig((unsigned char) s[i + 1])
                || !gw_sch_hexdig((unsigned char) s[i + 2]))
            {
                return 0;
            }

            i += 2;
            continue;
        }

        if (!gw_sch_uchar((unsigned char) s[i], extra, iri)) {
            return 0;
        }
    }

    return 1;
}


static int
gw_sch_authority(const char *s, size_t len, int iri)
{
    size_t       i, at, host_end;
    const char  *h;

    at = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '@') {
            if (!gw_sch_uri_part(s, i, ":", iri)) {
                return 0;
            }

            at = i + 1;
            break;
        }
    }

    h = s + at;
    len -= at;

    if (len > 0 && h[0] == '[') {
        for (host_end = 1; host_end < len && h[host_end] != ']'; host_end++) {
            /* void */
        }

        if (host_end == len) {
            return 0;
        }

        if (h[1] == 'v' || h[1] == 'V') {
            if (!gw_sch_uri_part(h + 1, host_end - 1, ":", 0)) {
                return 0;
            }

        } else if (!gw_sch_ipv6(h + 1, host_end - 1)) {
            return 0;
        }

        host_end++;

    } else {
        for (host_end = 0; host_end < len && h[host_end] != ':'; host_end++) {
            /* void */
        }

        if (!gw_sch_uri_part(h, host_end, "", iri)) {
            return 0;
        }
    }

    if (host_end < len) {
        if (h[host_end] != ':') {
            return 0;
        }

        return gw_sch_digits(h + host_end + 1, len - host_end - 1);
    }

    return 1;
}


/* absolute: a scheme is required; otherwise a URI reference */

static int
gw_sch_uri(const char *s, size_t len, int absolute, int iri)
{
    size_t  i, end, q, f;

    /* scheme */

    for (i = 0; i < len; i++) {
        if (s[i] == ':' || s[i] == '/' || s[i] == '?' || s[i] == '#') {
            break;
        }
    }

    if (i < len && s[i] == ':') {
        if (i == 0 || !((s[0] >= 'a' && s[0] <= 'z')
                        || (s[0] >= 'A' && s[0] <= 'Z')))
        {
            return 0;
        }

        for (end = 1; end < i; end++) {
            if (!((s[end] >= 'a' && s[end] <= 'z')
                  || (s[end] >= 'A' && s[end] <= 'Z')
                  || (s[end] >= '0' && s[end] <= '9') || s[end] == '+'
                  || s[end] == '-' || s[end] == '.'))
            {
                return 0;
            }
        }

        s += i + 1;
        len -= i + 1;

    } else if (absolute) {
        return 0;
    }

    /* fragment, query */

    for (f = 0; f < len && s[f] != '#'; f++) {
        /* void */
    }

    if (f < len && !gw_sch_uri_part(s + f + 1, len - f - 1, ":@/?", iri)) {
        return 0;
    }

    for (q = 0; q < f && s[q] != '?'; q++) {
        /* void */
    }

    if (q < f && !gw_sch_uri_part(s + q + 1, f - q - 1, ":@/?", iri)) {
        return 0;
    }

    /* authority, path */

    i = 0;

    if (q >= 2 && s[0] == '/' && s[1] == '/') {
        for (end = 2; end < q && s[end] != '/'; end++) {
            /* void */
        }

        if (!gw_sch_authority(s + 2, end - 2, iri)) {
            return 0;
        }

        i = end;
    }

    return gw_sch_uri_part(s + i, q - i, ":@/", iri);
}


static int
gw_sch_uri_template(const char *s, size_t len)
{
    size_t  i, start, n;

    for (i = 0; i < len; i++) {
        if (s[i] == '}') {
            return 0;
        }

        if (s[i] != '{') {
            if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f
                || strchr("\"<>\\^`|", s[i]) != NULL)
            {
                return 0;
            }

            continue;
        }

        i++;

        if (i < len && strchr("+#./;?&=,!@|", s[i]) != NULL && s[i] != 0) {
            i++;
        }

        for ( ;; ) {
            start = i;

            while (i < len && ((s[i] >= 'a' && s[i] <= 'z')
                               || (s[i] >= 'A' && s[i] <= 'Z')
                               || (s[i] >= '0' && s[i] <= '9')
                               || s[i] == '_' || s[i] == '.'
                               || (s[i] == '%' && i + 2 < len
                                   && gw_sch_hexdig((unsigned char) s[i + 1])
                                   && gw_sch_hexdig((unsigned char) s[i + 2]))))
            {
                i += (s[i] == '%') ? 3 : 1;
            }

            if (i == start || i == len || s[start] == '.' || s[i - 1] == '.')
            {
                return 0;
            }

            for (n = start + 1; n < i; n++) {
                if (s[n] == '.' && s[n - 1] == '.') {
                    return 0;
                }
            }

            if (s[i] == '*') {
                i++;

            } else if (s[i] == ':') {
                start = ++i;

                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    i++;
                }

                n = i - start;

                if (n == 0 || n > 4 || s[start] == '0') {
                    return 0;
                }
            }

            if (i == len) {
                return 0;
            }

            if (s[i] == '}') {
                break;
            }

            if (s[i] != ',') {
                return 0;
            }

            i++;
        }
    }

    return 1;
}


static int
gw_sch_json_pointer(const char *s, size_t len)
{
    size_t  i;

    if (len > 0 && s[0] != '/') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '~' && (i + 1 == len || (s[i + 1] != '0'
                                             && s[i + 1] != '1')))
        {
            return 0;
        }
    }

    return 1;
}


static int
gw_sch_rel_pointer(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        /* void */
    }

    if (i == 0 || (s[0] == '0' && i > 1)) {
        return 0;
    }

    if (i < len && (s[i] == '+' || s[i] == '-')) {
        /* an index manipulation */
        i++;

        if (i == len || s[i] < '1' || s[i] > '9') {
            return 0;
        }

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }

    if (i < len && s[i] == '#') {
        return i + 1 == len;
    }

    return gw_sch_json_pointer(s + i, len - i);
}


static int
gw_sch_uuid(const char *s, size_t len)
{
    size_t  i;

    if (len != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!gw_sch_hexdig((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


int
gw_sch_format_id(const char *name)
{
    static const char  *names[] = {
        "", "date-time", "date", "time", "duration", "email", "idn-email",
        "hostname", "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference",
        "iri", "iri-reference", "uri-template", "json-pointer",
        "relative-json-pointer", "regex", "uuid", NULL
    };

    int  i;

    for (i = 1; names[i] != NULL; i++) {
        if (strcmp(name, names[i]) == 0) {
            return i;
        }
    }

    return GW_SCH_FMT_NONE;
}


/* whether str (len bytes of UTF-8) is valid for format fmt: 1 or 0 */

int
gw_sch_format_check(int fmt, const char *str, size_t len)
{
    size_t  t;

    switch (fmt) {

    case GW_SCH_FMT_DATE_TIME:
        for (t = 0; t < len && str[t] != 'T' && str[t] != 't'; t++) {
            /* void */
        }

        return t < len && gw_sch_date(str, t)
               && gw_sch_time(str + t + 1, len - t - 1);

    case GW_SCH_FMT_DATE:
        return gw_sch_date(str, len);

    case GW_SCH_FMT_TIME:
        return gw_sch_time(str, len);

    case GW_SCH_FMT_DURATION:
        return gw_sch_duration(str, len);

    case GW_SCH_FMT_EMAIL:
        return gw_sch_email(str, len, 0);

    case GW_SCH_FMT_IDN_EMAIL:
        return gw_sch_email(str, len, 1);

    case GW_SCH_FMT_HOSTNAME:
        return gw_sch_hostname(str, len, 0);

    case GW_SCH_FMT_IDN_HOSTNAME:
        return gw_sch_hostname(str, len, 1);

    case GW_SCH_FMT_IPV4:
        return gw_sch_ipv4(str, len);

    case GW_SCH_FMT_IPV6:
        return gw_sch_ipv6(str, len);

    case GW_SCH_FMT_URI:
        return gw_sch_uri(str, len, 1, 0);

    case GW_SCH_FMT_URI_REFERENCE:
        return gw_sch_uri(str, len, 0, 0);

    case GW_SCH_FMT_IRI:
        return gw_sch_uri(str, len, 1, 1);

    case GW_SCH_FMT_IRI_REFERENCE:
        return gw_sch_uri(str, len, 0, 1);

    case GW_SCH_FMT_URI_TEMPLATE:
        return gw_sch_uri_template(str, len);

    case GW_SCH_FMT_JSON_POINTER:
        return gw_sch_json_pointer(str, len);

    case GW_SCH_FMT_REL_JSON_POINTER:
        return gw_sch_rel_pointer(str, len);

    case GW_SCH_FMT_REGEX:
        return gw_sch_regex_check(str, len);

    case GW_SCH_FMT_UUID:
        return gw_sch_uuid(str, len);

    default:
        return 1;
    }
}


static int
gw_sch_b64val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    return c == '+' ? 62 : (c == '/' ? 63 : -1);
}


/*
 * draft-07 contentEncoding "base64" (RFC 4648 section 4, padded) and
 * contentMediaType "application/json": 1 when str is what they say.
 */

int
gw_sch_content_check(const gw_sch_node_t *n, const char *str, size_t len)
{
    int            v, ok;
    char          *buf;
    size_t         i, pad, out;
    json_t        *j;
    unsigned long  acc;

    if (!n->content_b64) {
        j = json_loadb(str, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        json_decref(j);
        return j != NULL;
    }

    if (len % 4 != 0) {
        return 0;
    }

    pad = 0;

    while (pad < 2 && pad < len && str[len - 1 - pad] == '=') {
        pad++;
    }

    buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL) {
        return 1;       /* cannot tell: the annotation stands */
    }

    acc = 0;
    out = 0;
    ok = 1;

    for (i = 0; i < len - pad; i++) {
        v = gw_sch_b64val((unsigned char) str[i]);

        if (v < 0) {
            ok = 0;
            break;
        }

        acc = (acc << 6) | (unsigned long) v;

        if (i % 4 == 3) {
            buf[out++] = (char) (acc >> 16);
            buf[out++] = (char) (acc >> 8);
            buf[out++] = (char) acc;
            acc = 0;
        }
    }

    if (ok && pad > 0) {
        acc <<= 6 * pad;
        buf[out++] = (char) (acc >> 16);

        if (pad == 1) {
            buf[out++] = (char) (acc >> 8);
        }
    }

    if (ok && n->content_json) {
        j = json_loadb(buf, out, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ok = (j != NULL);
        json_decref(j);
    }

    free(buf);

    return ok;
}
