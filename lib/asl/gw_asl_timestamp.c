
/*
 * Copyright (C) Tollgate
 *
 * RFC 3339 date-times, as Choice's Timestamp* operators and Wait's
 * Timestamp take them: "YYYY-MM-DDTHH:MM:SS", optional fractional
 * seconds (any number of digits, nanoseconds kept), then "Z" or an
 * offset "+HH:MM" / "-HH:MM"; an uppercase T and Z; real dates only
 * (February 29th in leap years), no leap second.  Read as an instant:
 * milliseconds since the epoch and the nanoseconds past them, so that
 * two timestamps compare whatever their offsets.
 */


#include <string.h>

#include "gw_asl_def_int.h"


static int
gw_asl_digits(const char *s, int n, int *out)
{
    int  i;

    *out = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *out = *out * 10 + (s[i] - '0');
    }

    return 0;
}


int
gw_asl_timestamp_parse(const char *s, int64_t *ms, int32_t *ns)
{
    int      y, mo, d, h, mi, sec, oh, om, sign, frac, nd, mdays;
    int64_t  days, yy, era, yoe, doy, doe;

    static const int  month_days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (strlen(s) < 20
        || gw_asl_digits(s, 4, &y) != 0 || s[4] != '-'
        || gw_asl_digits(s + 5, 2, &mo) != 0 || s[7] != '-'
        || gw_asl_digits(s + 8, 2, &d) != 0 || s[10] != 'T'
        || gw_asl_digits(s + 11, 2, &h) != 0 || s[13] != ':'
        || gw_asl_digits(s + 14, 2, &mi) != 0 || s[16] != ':'
        || gw_asl_digits(s + 17, 2, &sec) != 0)
    {
        return -1;
    }

    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) {
        return -1;
    }

    mdays = month_days[mo - 1];

    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    if (d < 1 || d > mdays) {
        return -1;
    }

    s += 19;
    frac = 0;
    nd = 0;

    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, nd++) {
            if (nd < 9) {
                frac = frac * 10 + (*s - '0');
            }
        }

        if (nd == 0) {
            return -1;
        }

        for ( /* void */ ; nd < 9; nd++) {
            frac *= 10;
        }
    }

    if (s[0] == 'Z' && s[1] == '\0') {
        sign = 0;
        oh = 0;
        om = 0;

    } else if ((s[0] == '+' || s[0] == '-') && strlen(s) == 6
               && gw_asl_digits(s + 1, 2, &oh) == 0 && s[3] == ':'
               && gw_asl_digits(s + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
    {
        sign = (s[0] == '+') ? 1 : -1;

    } else {
        return -1;
    }

    /* days since 1970-01-01 of the proleptic Gregorian calendar, from
     * years that start on March 1st (leap days last) */

    yy = y - (mo <= 2);
    era = (yy >= 0 ? yy : yy - 399) / 400;
    yoe = yy - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t) sec * 1000
          + frac / 1000000 - (int64_t) sign * (oh * 60 + om) * 60000;
    *ns = frac % 1000000;

    return 0;
}
