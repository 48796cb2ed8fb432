
/*
 * Copyright (C) Tollgate
 *
 * Cron expressions for schedules: five fields "minute hour day month
 * weekday" as crontab(5) writes them, or six with seconds first (for
 * schedules finer than a minute, and quick tests).  A field is "*", a
 * number, a range "a-b", any of them with a step "/n", or a list of
 * these separated by commas; weekday 0 or 7 is Sunday; names (JAN,
 * MON) are not taken.  As in cron, when both day and weekday are
 * restricted a time matches either.  Each field is a bit mask, so a
 * match is five tests; the caller gives the wall-clock fields of the
 * schedule's time zone.
 */


#include <stdlib.h>
#include <string.h>

#include "rp.h"


static int rp_cron_field(const char *s, size_t len, int lo, int hi,
    uint64_t *mask);


int
rp_cron_parse(const char *s, rp_cron_t *c)
{
    int          i, n;
    size_t       len;
    const char  *f[6];
    size_t       flen[6];
    static const int  lo[6] = { 0, 0, 0, 1, 1, 0 };
    static const int  hi[6] = { 59, 59, 23, 31, 12, 7 };

    memset(c, 0, sizeof(rp_cron_t));

    if (strlen(s) > 256) {
        return -1;
    }

    for (n = 0; n < 6; n++) {
        s += strspn(s, " \t");
        if (*s == '\0') {
            break;
        }
        len = strcspn(s, " \t");
        f[n] = s;
        flen[n] = len;
        s += len;
    }

    s += strspn(s, " \t");
    if (*s != '\0' || n < 5) {
        return -1;
    }

    c->seconds = (n == 6);

    if (!c->seconds) {
        c->mask[0] = 1;                 /* second 0 */
    }

    for (i = 0; i < n; i++) {
        if (rp_cron_field(f[i], flen[i], lo[i + 6 - n], hi[i + 6 - n],
                          &c->mask[i + 6 - n])
            != 0)
        {
            return -1;
        }
    }

    c->dom_star = (flen[n - 3] == 1 && f[n - 3][0] == '*');
    c->dow_star = (flen[n - 1] == 1 && f[n - 1][0] == '*');

    if (c->mask[5] & (1ULL << 7)) {
        c->mask[5] |= 1;                /* 7 is Sunday, 0 */
    }

    return 0;
}


static int
rp_cron_num(const char *s, const char *e, int *v)
{
    char  *end;
    long   n;

    if (s == e || *s < '0' || *s > '9' || e - s > 3) {
        return -1;
    }

    n = strtol(s, &end, 10);
    if (end != e) {
        return -1;
    }

    *v = (int) n;

    return 0;
}


static int
rp_cron_field(const char *s, size_t len, int lo, int hi, uint64_t *mask)
{
    int          a, b, step, i;
    const char  *e, *item, *end, *dash, *slash;

    end = s + len;

    for (item = s; item < end; item = e + 1) {
        e = memchr(item, ',', end - item);
        if (e == NULL) {
            e = end;
        }

        slash = memchr(item, '/', e - item);
        step = 1;

        if (slash != NULL
            && (rp_cron_num(slash + 1, e, &step) != 0 || step < 1))
        {
            return -1;
        }

        if (slash == NULL) {
            slash = e;
        }

        if (slash - item == 1 && item[0] == '*') {
            a = lo;
            b = hi;

        } else {
            dash = memchr(item, '-', slash - item);

            if (dash != NULL) {
                if (rp_cron_num(item, dash, &a) != 0
                    || rp_cron_num(dash + 1, slash, &b) != 0)
                {
                    return -1;
                }

            } else {
                if (rp_cron_num(item, slash, &a) != 0) {
                    return -1;
                }
                b = (slash != e) ? hi : a;
            }
        }

        if (a < lo || b > hi || a > b) {
            return -1;
        }

        for (i = a; i <= b; i += step) {
            *mask |= 1ULL << i;
        }

        if (e == end) {
            break;
        }
    }

    return *mask != 0 ? 0 : -1;
}


int
rp_cron_match(const rp_cron_t *c, const struct tm *tm)
{
    int  dom, dow;

    if (!(c->mask[0] & (1ULL << tm->tm_sec))
        || !(c->mask[1] & (1ULL << tm->tm_min))
        || !(c->mask[2] & (1ULL << tm->tm_hour))
        || !(c->mask[4] & (1ULL << (tm->tm_mon + 1))))
    {
        return 0;
    }

    dom = (c->mask[3] & (1ULL << tm->tm_mday)) != 0;
    dow = (c->mask[5] & (1ULL << tm->tm_wday)) != 0;

    if (c->dom_star || c->dow_star) {
        return dom && dow;
    }

    return dom || dow;
}
