
/*
 * Copyright (C) Tollgate
 *
 * The report writers' text helpers (lib/report/gw_report_text.c): UTF-8
 * repair (each invalid sequence, overlong form, surrogate and NUL is one
 * U+FFFD; valid text passes unchanged), numbers (fixed decimals without
 * a "-0", the shortest text that reads back the same double), time
 * zones read from TZif (offsets in winter and summer, names that could
 * leave the zone folder refused), RFC 3339 times before and after 1970
 * and Excel's serial dates.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_report_int.h"
#include "tap.h"


static const char *
fix(const char *s, size_t len)
{
    static char  out[256];

    gw_report_utf8_fix(out, s, len);
    return out;
}


int
main(void)
{
    char             buf[64];
    gw_report_tz_t   paris, ny, utc, tz;

    /* UTF-8 */
    is_str(fix("plain", 5), "plain", "ASCII passes");
    is_str(fix("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 9),
           "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", "2, 3, 4 byte forms pass");
    is_str(fix("a\xffz", 3), "a\xef\xbf\xbdz", "a stray byte: U+FFFD");
    is_str(fix("a\xe6\x97", 3), "a\xef\xbf\xbd", "a cut sequence: one U+FFFD");
    is_str(fix("\xc0\xaf", 2), "\xef\xbf\xbd", "an overlong '/' is refused");
    is_str(fix("\xe0\x80\xaf", 3), "\xef\xbf\xbd", "an overlong 3-byte form");
    is_str(fix("\xed\xa0\x80", 3), "\xef\xbf\xbd", "a surrogate is refused");
    is_str(fix("\xf4\x90\x80\x80", 4), "\xef\xbf\xbd", "past U+10FFFF");
    is_str(fix("a\0b", 3), "a\xef\xbf\xbd" "b", "NUL is replaced");
    ok(gw_report_utf8_valid("na\xc3\xafve", 6), "valid UTF-8 is valid");
    ok(!gw_report_utf8_valid("a\xff", 2), "invalid UTF-8 is not");

    /* numbers */
    gw_report_fmt_double(buf, sizeof(buf), 0.1, -1);
    is_str(buf, "0.1", "shortest: 0.1");
    gw_report_fmt_double(buf, sizeof(buf), 1.0 / 3, -1);
    ok(strtod(buf, NULL) == 1.0 / 3, "shortest reads back: %s", buf);
    gw_report_fmt_double(buf, sizeof(buf), -0.001, 2);
    is_str(buf, "0.00", "no -0.00");
    gw_report_fmt_double(buf, sizeof(buf), -5, 0);
    is_str(buf, "-5", "-5 stays -5");
    gw_report_fmt_double(buf, sizeof(buf), 1234.5, 2);
    is_str(buf, "1234.50", "fixed decimals");
    is_int(gw_report_fmt_double(buf, sizeof(buf), 0.0 / 0.0, -1), 0,
           "NaN: empty");

    /* zones */
    ok(gw_report_tz_load(&utc, "UTC") == 0, "UTC loads");
    ok(gw_report_tz_load(&paris, "Europe/Paris") == 0, "Europe/Paris loads");
    ok(gw_report_tz_load(&ny, "America/New_York") == 0,
       "America/New_York loads");
    ok(gw_report_tz_load(&tz, "Mars/Base") == -1, "an unknown zone");
    ok(gw_report_tz_load(&tz, "../../etc/passwd") == -1, "no ..");
    ok(gw_report_tz_load(&tz, "/etc/localtime") == -1, "no absolute path");
    ok(gw_report_tz_load(&tz, "Europe/Paris\n") == -1, "no control bytes");

    is_int(gw_report_tz_offset(&paris, 1764547200000LL), 3600,
           "Paris in December: +1 h");
    is_int(gw_report_tz_offset(&paris, 1751328000000LL), 7200,
           "Paris in July: +2 h");
    is_int(gw_report_tz_offset(&ny, 1764547200000LL), -18000,
           "New York in December: -5 h");
    is_int(gw_report_tz_offset(&utc, 1764547200000LL), 0, "UTC: 0");
    /* 2025-03-30 01:00:00 UTC: Paris goes from +1 to +2 */
    is_int(gw_report_tz_offset(&paris, 1743296399000LL), 3600,
           "a second before the change");
    is_int(gw_report_tz_offset(&paris, 1743296400000LL), 7200,
           "at the change");

    /* RFC 3339 */
    gw_report_fmt_time(buf, sizeof(buf), 1764590400123LL, &paris, 0);
    is_str(buf, "2025-12-01T13:00:00.123+01:00", "Paris, with ms");
    gw_report_fmt_time(buf, sizeof(buf), 1764590400000LL, &utc, 0);
    is_str(buf, "2025-12-01T12:00:00Z", "UTC is Z");
    gw_report_fmt_time(buf, sizeof(buf), -1, &utc, 0);
    is_str(buf, "1969-12-31T23:59:59.999Z", "before 1970");
    gw_report_fmt_time(buf, sizeof(buf), 1764630000000LL, &paris, 1);
    is_str(buf, "2025-12-02", "a date in the zone: past midnight in Paris");
    gw_report_fmt_time(buf, sizeof(buf), 951782400000LL, &utc, 1);
    is_str(buf, "2000-02-29", "a leap day");
    gw_report_fmt_time(buf, sizeof(buf), 1764547200000LL, &ny, 0);
    is_str(buf, "2025-11-30T19:00:00-05:00", "New York, the day before");

    /* Excel serial dates: 1970-01-01 is 25569 */
    ok(gw_report_excel_date(0, &utc, 1) == 25569.0, "1970-01-01: 25569");
    ok(gw_report_excel_date(43200000, &utc, 0) == 25569.5, "noon: .5");
    ok(gw_report_excel_date(1764630000000LL, &paris, 1) == 45993.0,
       "a date: the local day, 2025-12-02");

    gw_report_tz_free(&utc);
    gw_report_tz_free(&paris);
    gw_report_tz_free(&ny);

    return done_testing();
}
