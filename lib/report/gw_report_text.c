/*
 * Copyright (C) Tollgate
 *
 * Text for the report writers: UTF-8 repair (each invalid sequence is
 * one U+FFFD, as the WHATWG decoder does, and NUL too, since no format
 * wants it), numbers (fixed decimals, or the shortest text that reads
 * back as the same double), and times.  Times are epoch milliseconds
 * shown in an IANA zone; the zone's offsets come from the system's TZif
 * file, read once at open into a table of transitions, so that no row
 * touches TZ, localtime() or the disk, and writers on several threads
 * with several zones never disturb each other.  Past the file's last
 * transition (2037 in Debian's "fat" files) the last offset holds.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_report_int.h"


#define GW_TZ_FILE_MAX  (256 * 1024)    /* bytes of a TZif file */
#define GW_TZ_NAME_MAX  64


static uint32_t gw_tz_be32(const unsigned char *p);
static int64_t gw_tz_be64(const unsigned char *p);
static int gw_tz_parse(gw_report_tz_t *tz, const unsigned char *p,
    size_t len);
static void gw_civil(int64_t days, int *y, int *m, int *d);


size_t
gw_report_utf8_fix(char *out, const char *src, size_t len)
{
    size_t                i, n, k, o;
    uint32_t              cp;
    const unsigned char  *s;

    s = (const unsigned char *) src;
    o = 0;
    i = 0;

    while (i < len) {
        if (s[i] != 0 && s[i] < 0x80) {
            out[o++] = s[i++];
            continue;
        }

        n = (s[i] >= 0xc2 && s[i] <= 0xdf) ? 2
            : (s[i] >= 0xe0 && s[i] <= 0xef) ? 3
            : (s[i] >= 0xf0 && s[i] <= 0xf4) ? 4 : 0;

        if (n == 0 || i + n > len) {
            goto bad;
        }

        cp = s[i] & (0x7f >> n);
        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                goto bad;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        {
            goto bad;
        }

        memcpy(out + o, s + i, n);
        o += n;
        i += n;
        continue;

    bad:
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
        i++;
        /* the continuation bytes of a broken sequence go with it */
        while (i < len && (s[i] & 0xc0) == 0x80) {
            i++;
        }
    }

    out[o] = '\0';

    return o;
}


int
gw_report_utf8_valid(const char *src, size_t len)
{
    char    buf[3 * GW_REPORT_MAX_NAME + 1];
    char   *p;
    size_t  n;
    int     ok;

    p = len <= GW_REPORT_MAX_NAME ? buf : malloc(3 * len + 1);
    if (p == NULL) {
        return 0;
    }

    n = gw_report_utf8_fix(p, src, len);
    ok = (n == len && memcmp(p, src, len) == 0);

    if (p != buf) {
        free(p);
    }

    return ok;
}


int
gw_report_fmt_double(char *buf, size_t len, double d, int decimals)
{
    int  n;

    if (!isfinite(d)) {
        buf[0] = '\0';
        return 0;
    }

    if (decimals >= 0) {
        n = snprintf(buf, len, "%.*f", decimals, d);
        if (strcmp(buf, "-0") == 0 || strspn(buf, "-0.") == (size_t) n) {
            /* -0.00 reads as a negative: write 0.00 */
            if (buf[0] == '-') {
                memmove(buf, buf + 1, n--);
            }
        }
        return n;
    }

    n = snprintf(buf, len, "%.15g", d);
    if (strtod(buf, NULL) != d) {
        n = snprintf(buf, len, "%.17g", d);
    }

    return n;
}


int32_t
gw_report_tz_offset(const gw_report_tz_t *tz, int64_t ms)
{
    int64_t   t;
    uint32_t  lo, hi, mid;

    t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

    if (tz->n == 0 || t < tz->at[0]) {
        return tz->first;
    }

    /* the last transition at or before t */
    lo = 0;
    hi = tz->n;
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }

    return tz->off[lo];
}


int
gw_report_tz_load(gw_report_tz_t *tz, const char *name)
{
    int             rc;
    char            path[512];
    FILE           *fp;
    size_t          n;
    const char     *dir;
    unsigned char  *buf;

    memset(tz, 0, sizeof(gw_report_tz_t));

    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        return 0;
    }

    n = strlen(name);
    if (n == 0 || n > GW_TZ_NAME_MAX || name[0] == '/' || name[0] == '.'
        || strstr(name, "..") != NULL
        || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789/_+-") != n)
    {
        return -1;
    }

    dir = getenv("TZDIR");
    snprintf(path, sizeof(path), "%s/%s",
             dir && dir[0] ? dir : "/usr/share/zoneinfo", name);

    fp = fopen(path, "rb");
    if (fp == NULL) {
        return -1;
    }

    buf = malloc(GW_TZ_FILE_MAX);
    if (buf == NULL) {
        fclose(fp);
        return -1;
    }

    n = fread(buf, 1, GW_TZ_FILE_MAX, fp);
    fclose(fp);

    rc = gw_tz_parse(tz, buf, n);
    free(buf);

    if (rc != 0) {
        gw_report_tz_free(tz);
    }

    return rc;
}


void
gw_report_tz_free(gw_report_tz_t *tz)
{
    free(tz->at);
    free(tz->off);
    tz->at = NULL;
    tz->off = NULL;
    tz->n = 0;
}


/*
 * TZif (RFC 8536): a version 1 block with 32-bit times, then, from
 * version 2 on, the same block again with 64-bit times, which we read.
 */
static int
gw_tz_parse(gw_report_tz_t *tz, const unsigned char *p, size_t len)
{
    size_t    need, v1, off;
    uint32_t  isut, isstd, leap, timecnt, typecnt, charcnt, i, t;

    if (len < 44 || memcmp(p, "TZif", 4) != 0 || p[4] < '2') {
        return -1;
    }

#define GW_TZ_COUNTS(base)                                                   \
    isut = gw_tz_be32(p + base + 20); isstd = gw_tz_be32(p + base + 24);     \
    leap = gw_tz_be32(p + base + 28); timecnt = gw_tz_be32(p + base + 32);   \
    typecnt = gw_tz_be32(p + base + 36); charcnt = gw_tz_be32(p + base + 40)

    GW_TZ_COUNTS(0);

    if (timecnt > 100000 || typecnt > 256 || charcnt > 65536
        || leap > 100000 || isut > 256 || isstd > 256)
    {
        return -1;
    }

    v1 = 44 + (size_t) timecnt * 5 + (size_t) typecnt * 6 + charcnt
         + (size_t) leap * 8 + isstd + isut;

    if (v1 + 44 > len || memcmp(p + v1, "TZif", 4) != 0) {
        return -1;
    }

    GW_TZ_COUNTS(v1);

#undef GW_TZ_COUNTS

    if (timecnt > 100000 || typecnt == 0 || typecnt > 256) {
        return -1;
    }

    off = v1 + 44;
    need = (size_t) timecnt * 9 + (size_t) typecnt * 6;
    if (off + need > len) {
        return -1;
    }

    tz->first = (int32_t) gw_tz_be32(p + off + timecnt * 9);

    if (timecnt == 0) {
        return 0;
    }

    tz->at = malloc(timecnt * sizeof(int64_t));
    tz->off = malloc(timecnt * sizeof(int32_t));
    if (tz->at == NULL || tz->off == NULL) {
        return -1;
    }

    for (i = 0; i < timecnt; i++) {
        tz->at[i] = gw_tz_be64(p + off + i * 8);
        t = p[off + timecnt * 8 + i];
        if (t >= typecnt || (i > 0 && tz->at[i] < tz->at[i - 1])) {
            return -1;
        }
        tz->off[i] = (int32_t) gw_tz_be32(p + off + timecnt * 9 + t * 6);
    }

    tz->n = timecnt;

    return 0;
}


int
gw_report_fmt_time(char *buf, size_t len, int64_t ms,
    const gw_report_tz_t *tz, int date_only)
{
    int       y, m, d, off, n;
    int64_t   local, days, sod, frac;

    off = gw_report_tz_offset(tz, ms);
    local = ms + (int64_t) off * 1000;

    days = local >= 0 ? local / 86400000 : -((-local + 86399999) / 86400000);
    sod = local - days * 86400000;     /* ms of the day, 0..86399999 */
    gw_civil(days, &y, &m, &d);

    if (date_only) {
        return snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
    }

    frac = sod % 1000;
    sod /= 1000;

    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d,
                 (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60));

    if (frac != 0) {
        n += snprintf(buf + n, len - n, ".%03d", (int) frac);
    }

    if (off == 0) {
        n += snprintf(buf + n, len - n, "Z");

    } else {
        n += snprintf(buf + n, len - n, "%c%02d:%02d", off < 0 ? '-' : '+',
                      abs(off) / 3600, abs(off) / 60 % 60);
    }

    return n;
}


double
gw_report_excel_date(int64_t ms, const gw_report_tz_t *tz, int date_only)
{
    double   v;
    int64_t  local;

    local = ms + (int64_t) gw_report_tz_offset(tz, ms) * 1000;

    /* 25569: the serial of 1970-01-01 in Excel's 1900 system */
    v = (double) local / 86400000.0 + 25569.0;

    return date_only ? floor(v) : v;
}


const char *
gw_report_cell_text(gw_report_writer_t *w, int col,
    const gw_report_value_t *v, char *buf, size_t buflen, char **heap,
    size_t *outlen, int pdf)
{
    int                  n;
    double               d;
    gw_report_column_t  *c;

    c = &w->cols[col];
    *heap = NULL;
    n = 0;

    switch (v->kind) {

    case GW_REPORT_V_TEXT:
        if (3 * v->len + 1 > buflen) {
            *heap = malloc(3 * v->len + 1);
            if (*heap == NULL) {
                return NULL;
            }
            *outlen = gw_report_utf8_fix(*heap, v->s, v->len);
            return *heap;
        }
        *outlen = gw_report_utf8_fix(buf, v->s, v->len);
        return buf;

    case GW_REPORT_V_TIME:
    case GW_REPORT_V_INT:
        if (c->type == GW_REPORT_COL_DATE || c->type == GW_REPORT_COL_DATETIME)
        {
            n = gw_report_fmt_time(buf, buflen, v->i, gw_report_col_tz(w, col),
                                   c->type == GW_REPORT_COL_DATE);
            break;
        }

        if (c->type == GW_REPORT_COL_BOOLEAN) {
            n = snprintf(buf, buflen, "%s", v->i ? "true" : "false");
            break;
        }

        if (c->type == GW_REPORT_COL_INTEGER || c->type == GW_REPORT_COL_TEXT)
        {
            n = snprintf(buf, buflen, "%lld", (long long) v->i);
            break;
        }

        d = (double) v->i;
        goto number;

    case GW_REPORT_V_DOUBLE:
        d = v->d;
        if (c->type == GW_REPORT_COL_BOOLEAN) {
            n = snprintf(buf, buflen, "%s", d != 0 ? "true" : "false");
            break;
        }

    number:
        switch (c->type) {
        case GW_REPORT_COL_INTEGER:
            n = gw_report_fmt_double(buf, buflen, d, 0);
            break;
        case GW_REPORT_COL_CURRENCY:
            n = gw_report_fmt_double(buf, buflen, d, c->decimals);
            if (pdf && n > 0) {
                n += snprintf(buf + n, buflen - n, " %s", c->currency);
            }
            break;
        case GW_REPORT_COL_PERCENT:
            if (pdf) {
                n = gw_report_fmt_double(buf, buflen, d * 100, c->decimals);
                if (n > 0) {
                    n += snprintf(buf + n, buflen - n, "%%");
                }
            } else {
                n = gw_report_fmt_double(buf, buflen, d, -1);
            }
            break;
        default:
            n = gw_report_fmt_double(buf, buflen, d, c->decimals);
        }
        break;

    default:
        n = 0;
        buf[0] = '\0';
    }

    *outlen = (n < 0) ? 0 : (size_t) n;

    return buf;
}


static uint32_t
gw_tz_be32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static int64_t
gw_tz_be64(const unsigned char *p)
{
    return (int64_t) (((uint64_t) gw_tz_be32(p) << 32) | gw_tz_be32(p + 4));
}


/* days since 1970-01-01 to a proleptic Gregorian date (eras of 400 y) */
static void
gw_civil(int64_t days, int *y, int *m, int *d)
{
    int64_t  z, era, doe, yoe, doy, mp;

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}
