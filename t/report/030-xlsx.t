# XLSX (lib/report/gw_report_xlsx.c) read back by Debian's openpyxl:
# typed values and their number formats, real dates, a bold frozen
# header with an autofilter, column widths, the native chart referencing
# the first sheet's cells, and new sheets (header again) past the row
# cap, made small here with the spec's test-only xlsx_max_rows.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Report;

plan skip_all => Report::binary() . ' is not built (make report-render)'
    unless -x Report::binary();
plan skip_all => 'no python3 with openpyxl (apt-get install python3-openpyxl)'
    unless Report::python();

my $read = <<'PY';
import json, sys, zipfile
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": []}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        rows.append([{"v": (c.value.isoformat()
                            if hasattr(c.value, "isoformat") else c.value),
                      "t": type(c.value).__name__,
                      "f": c.number_format,
                      "b": bool(c.font.b)} for c in row])
    out["sheets"].append({
        "title": ws.title, "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref, "rows": rows,
        "charts": len(ws._charts),
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
    })
z = zipfile.ZipFile(sys.argv[1])
out["chart_xml"] = [z.read(n).decode() for n in z.namelist()
                    if n.startswith("xl/charts/chart")]
print(json.dumps(out))
PY

my $spec = {
    title => 'x', tz => 'Europe/Paris',
    columns => [
        { name => 'who', title => 'Consumer', type => 'text' },
        { name => 'n', title => 'Calls', type => 'integer' },
        { name => 'x', title => 'Latency', type => 'number', decimals => 1 },
        { name => 'eur', title => 'Revenue', type => 'currency',
          currency => 'EUR', decimals => 2 },
        { name => 'p', title => 'Share', type => 'percent', decimals => 1 },
        { name => 'd', title => 'Day', type => 'date' },
        { name => 't', title => 'Last call', type => 'datetime' },
        { name => 'ok', title => 'OK', type => 'boolean' },
    ],
    chart => { type => 'bar', title => 'Calls', category => 'who',
               series => [ 'n', 'eur' ] },
};

my @rows = (
    [ '=1+1', -5, 12.25, 99.9, 0.25, 1764547200000, 1764590400000,
      JSON::PP::true ],
    [ 'a consumer with a rather long name indeed', 120, undef, 0, 1,
      1751328000000, 1751371200000, JSON::PP::false ],
    [ "日本語", 7, 1, 2, 0, 0, 0, JSON::PP::true ],
);
utf8::decode($rows[2][0]);

my ($out, $rc, $err) = Report::render('xlsx', $spec, \@rows, 'x');
is($rc, 0, 'xlsx rendered') or diag $err;
is((stat $out)[2] & 0777, 0600, 'the file is mode 0600');

my $x = Report::py_json($read, $out);
my $s = $x->{sheets}[0];
is($s->{title}, 'Report', 'the sheet');
is($s->{freeze}, 'A2', 'the header row is frozen');
is($s->{filter}, 'A1:H4', 'an autofilter over the header and rows');
is_deeply([ map { $_->{v} } @{ $s->{rows}[0] } ],
          [ 'Consumer', 'Calls', 'Latency', 'Revenue', 'Share', 'Day',
            'Last call', 'OK' ], 'the header titles');
ok(!(grep { !$_->{b} } @{ $s->{rows}[0] }), 'the header is bold');

my @r1 = @{ $s->{rows}[1] };
is_deeply([ map { $_->{v} } @r1 ],
          [ '=1+1', -5, 12.25, 99.9, 0.25, '2025-12-01T00:00:00',
            '2025-12-01T13:00:00', JSON::PP::true ],
          'values; dates in the spec\'s zone (Paris, winter)');
is_deeply([ map { $_->{t} } @r1 ],
          [ 'str', 'int', 'float', 'float', 'float', 'datetime', 'datetime',
            'bool' ], 'types: text stays text, numbers, real dates');
is_deeply([ map { $_->{f} } @r1 ],
          [ 'General', '0', '0.0', '[$EUR] #,##0.00', '0.0%', 'yyyy-mm-dd',
            'yyyy-mm-dd hh:mm:ss', 'General' ], 'number formats');
is($s->{rows}[2][6]{v}, '2025-07-01T14:00:00', 'summer time (UTC+2)');
is($s->{rows}[2][2]{v}, undef, 'a null is an empty cell');
is($s->{rows}[3][0]{v}, $rows[2][0], 'CJK text');

cmp_ok($s->{widths}{A}, '>', 30, 'column A is as wide as its long text');
cmp_ok($s->{widths}{H}, '>=', 8, 'a narrow column has the minimum width');

is($s->{charts}, 1, 'one chart on the first sheet');
my $chart = $x->{chart_xml}[0] // '';
like($chart, qr/<c:barChart>/, 'a native bar (column) chart');
like($chart, qr/Report!\$A\$2:\$A\$4/, 'categories: the Consumer cells');
like($chart, qr/Report!\$B\$2:\$B\$4/, 'series 1: the Calls cells');
like($chart, qr/Report!\$D\$2:\$D\$4/, 'series 2: the Revenue cells');

# ---- new sheets past the cap ----------------------------------------------

my @many = map { [ "c$_", $_, $_ / 2, $_, 0.5, 0, 0, JSON::PP::true ] }
           1 .. 25;
($out, $rc, $err) = Report::render('xlsx', { %$spec, xlsx_max_rows => 10 },
                                   \@many, 'cap');
is($rc, 0, 'xlsx with a 10-row sheet cap') or diag $err;
$x = Report::py_json($read, $out);
is_deeply([ map { $_->{title} } @{ $x->{sheets} } ],
          [ 'Report', 'Report 2', 'Report 3' ], 'three sheets');
is_deeply([ map { scalar @{ $_->{rows} } } @{ $x->{sheets} } ],
          [ 10, 10, 8 ], '9 + 9 + 7 rows, each with its header');
is_deeply([ map { $_->{rows}[0][0]{v} } @{ $x->{sheets} } ],
          [ ('Consumer') x 3 ], 'the header again on every sheet');
is_deeply([ map { $_->{rows}[1][1]{v} } @{ $x->{sheets} } ],
          [ 1, 10, 19 ], 'rows continue across sheets in order');
is_deeply([ map { $_->{freeze} } @{ $x->{sheets} } ], [ ('A2') x 3 ],
          'every sheet has its frozen header');
is($x->{sheets}[2]{filter}, 'A1:H8', 'the last sheet\'s autofilter');
like($x->{chart_xml}[0], qr/Report!\$B\$2:\$B\$10/,
     'the chart references the first sheet only');

# ---- pie and line --------------------------------------------------------

for my $type (qw(pie line)) {
    ($out, $rc, $err) = Report::render('xlsx',
        { %$spec, chart => { %{ $spec->{chart} }, type => $type } },
        \@rows, $type);
    is($rc, 0, "$type chart rendered") or diag $err;
    $x = Report::py_json($read, $out);
    like($x->{chart_xml}[0], qr/<c:${type}Chart>/, "a native $type chart");
}

done_testing;
