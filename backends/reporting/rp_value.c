
/*
 * Copyright (C) Tollgate
 *
 * A cell as the report writers take it (gw_report_value_t), from the
 * text an engine gives (PostgreSQL's text results, SQLite's TEXT
 * values): an integer, number or boolean column's text parsed as one,
 * a date or datetime column's as RFC 3339 ("2026-12-07",
 * "2026-12-07T06:00:00.250Z", "2026-12-07 06:00:00+01:00") into
 * milliseconds since the epoch.  Text that does not parse stays text:
 * the writers print it as it is, so a surprising value shows instead of
 * failing the run.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp.h"


#define RP_NUM_MAX  64      /* bytes of a number's text */


int
rp_value_time(const char *s, size_t len, int64_t *ms)
{
    int        y, mo, d, h, mi, se, n, off, oh, om, frac, digits;
    char       buf[48];
    struct tm  tm;

    if (len < 10 || len >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    h = mi = se = off = frac = 0;
    digits = 0;
    n = 0;

    if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10
        || mo < 1 || mo > 12 || d < 1 || d > 31)
    {
        return -1;
    }

    s = buf + 10;

    if (*s == 'T' || *s == ' ') {
        n = 0;
        if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3 || n != 8
            || h > 23 || mi > 59 || se > 60)
        {
            return -1;
        }
        s += 9;

        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++) {
                if (digits < 3) {
                    frac = frac * 10 + (*s - '0');
                    digits++;
                }
            }
            for ( /* void */ ; digits < 3; digits++) {
                frac *= 10;
            }
        }

        if (*s == 'Z' || *s == 'z') {
            s++;

        } else if (*s == '+' || *s == '-') {
            if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2 || strlen(s) != 6) {
                return -1;
            }
            off = (oh * 60 + om) * 60 * (*s == '-' ? -1 : 1);
            s += 6;
        }
    }

    if (*s != '\0') {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;

    *ms = ((int64_t) timegm(&tm) - off) * 1000 + frac;

    return 0;
}


void
rp_value_text(const gw_report_column_t *col, const char *s, size_t len,
    gw_report_value_t *v)
{
    char    buf[RP_NUM_MAX], *end;
    double  d;

    v->kind = GW_REPORT_V_TEXT;
    v->s = s;
    v->len = len;

    if (col->type == GW_REPORT_COL_TEXT || len == 0 || len >= RP_NUM_MAX) {
        if (col->type == GW_REPORT_COL_DATE
            || col->type == GW_REPORT_COL_DATETIME)
        {
            goto time;
        }
        return;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    switch (col->type) {

    case GW_REPORT_COL_DATE:
    case GW_REPORT_COL_DATETIME:
        goto time;

    case GW_REPORT_COL_BOOLEAN:
        if (strcmp(buf, "t") == 0 || strcmp(buf, "true") == 0
            || strcmp(buf, "1") == 0)
        {
            v->kind = GW_REPORT_V_INT;
            v->i = 1;

        } else if (strcmp(buf, "f") == 0 || strcmp(buf, "false") == 0
                   || strcmp(buf, "0") == 0)
        {
            v->kind = GW_REPORT_V_INT;
            v->i = 0;
        }
        return;

    case GW_REPORT_COL_INTEGER:
        errno = 0;
        v->i = strtoll(buf, &end, 10);
        if (errno == 0 && *end == '\0') {
            v->kind = GW_REPORT_V_INT;
            return;
        }

        /* "1.5" in an integer column: a number */
        /* fall through */

    default:
        errno = 0;
        d = strtod(buf, &end);
        if (errno == 0 && *end == '\0') {
            v->kind = GW_REPORT_V_DOUBLE;
            v->d = d;
        }
        return;
    }

time:

    if (rp_value_time(s, len, &v->i) == 0) {
        v->kind = GW_REPORT_V_TIME;
    }
}
