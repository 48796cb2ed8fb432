# The reporting service with each writer of lib/report (the formats'
# own checks are t/report/*.t): one report with a chart run as CSV (with
# the BOM option), JSON, NDJSON, XLSX and PDF through the API; each file
# served with its media type, starting as its format does, with every
# row in it (read back where a reader is at hand: python3-openpyxl,
# pdftotext).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use Test::More;

use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE usage (consumer TEXT, day INTEGER, n INTEGER, share REAL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                        WHERE i < 30)
INSERT INTO usage SELECT 'c1', 1764547200000 + (i - 1) * 86400000,
                         i * 10, i / 100.0 FROM s;
SQL

my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db });

Reporting::define($redis, 'usage', {
    title => 'Requests per day — Ünïcode',
    query => 'SELECT day, n, share FROM usage WHERE consumer = :tenant'
             . ' ORDER BY day',
    tenant_param => 'tenant', tz => 'Europe/Paris', csv_bom => JSON::PP::true,
    columns => [ { name => 'day', title => 'Day', type => 'date' },
                 { name => 'n', title => 'Requests', type => 'integer' },
                 { name => 'share', title => 'Share',
                   type => 'percent' } ],
    chart => { type => 'bar', category => 'day', series => [ 'n' ],
               title => 'Requests' },
    formats => [ qw(csv json ndjson xlsx pdf) ] });

my $dir = tempdir(CLEANUP => 1);
my %magic = (csv => qr/^\xEF\xBB\xBFDay,Requests,Share\r\n/,
             json => qr/^\s*\[/, ndjson => qr/^\{/,
             xlsx => qr/^PK\x03\x04/, pdf => qr/^%PDF-/);
my %type = (csv => qr{^text/csv}, json => qr{^application/json},
            ndjson => qr{ndjson}, xlsx => qr{spreadsheetml},
            pdf => qr{^application/pdf});
my %file;

for my $f (qw(csv json ndjson xlsx pdf)) {
    my ($s, $b) = Reporting::run($svc, 'usage', { format => $f },
                                 wait => 30);
    is $b->{status}, 'done', "$f: done" or diag explain $b;
    is $b->{rows}, 30, "$f: 30 rows";
    my ($ds, $body, $h) = Reporting::download($svc, $b->{download});
    is $ds, 200, "$f: downloaded";
    like $h->{'content-type'}, $type{$f}, "$f: its media type";
    like $body, $magic{$f}, "$f: the file starts as $f does";
    like $h->{'content-disposition'}, qr/attachment; filename=.*\.$f"/,
         "$f: named .$f";
    open my $out, '>:raw', "$dir/r.$f" or die $!;
    print $out $body;
    close $out;
    $file{$f} = "$dir/r.$f";
}

my @csv = split /\r\n/, do { open my $i, '<:raw', $file{csv}; local $/; <$i> };
is scalar @csv, 31, 'CSV: a header and 30 rows';
my @nd = grep { /\S/ } split /\n/,
         do { open my $i, '<:raw', $file{ndjson}; local $/; <$i> };
is scalar @nd, 30, 'NDJSON: 30 lines';

SKIP: {
    skip 'no python3-openpyxl', 2
        unless system('python3 -c "import openpyxl" 2>/dev/null') == 0;
    my $out = `python3 -c '
import openpyxl, sys
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]
print(ws.max_row, len(ws._charts))
' $file{xlsx} 2>&1`;
    like $out, qr/^31 /, 'XLSX: a header and 30 rows' or diag $out;
    like $out, qr/ 1$/, 'XLSX: one native chart';
}

SKIP: {
    skip 'no pdftotext', 2 unless system('pdftotext -v 2>/dev/null') == 0
                                  || -x '/usr/bin/pdftotext';
    my $text = `pdftotext -layout $file{pdf} - 2>&1`;
    like $text, qr/Ünïcode/, 'PDF: the title, in Unicode';
    like $text, qr/300/, 'PDF: the last row (300 requests)';
}

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';

done_testing;
