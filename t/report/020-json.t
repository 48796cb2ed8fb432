# JSON and NDJSON (lib/report/gw_report_json.c): read back by JSON::PP;
# one array of objects keyed by column name, typed values, dates and
# date-times in RFC 3339 in the zone asked for, nulls, text escaped, an
# empty report as [], NDJSON one object per LF-ended line.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Report;

plan skip_all => Report::binary() . ' is not built (make report-render)'
    unless -x Report::binary();

my $spec = {
    title => 'j', tz => 'Asia/Tokyo',
    columns => [
        { name => 'who', type => 'text' },
        { name => 'n', type => 'integer' },
        { name => 'x', type => 'number' },
        { name => 'eur', type => 'currency', currency => 'EUR',
          decimals => 2 },
        { name => 'p', type => 'percent' },
        { name => 'd', type => 'date' },
        { name => 't', type => 'datetime', tz => 'America/New_York' },
        { name => 'u', type => 'datetime', tz => 'UTC' },
        { name => 'ok', type => 'boolean' },
    ],
};

my @rows = (
    [ "a \"q\" \\ \n\t\x{1}", -5, 0.1, 12.5, 0.25, 1764547200000,
      1764590400123, 1764590400000, JSON::PP::true ],
    [ undef, undef, undef, undef, undef, undef, undef, undef, undef ],
    [ "日本語 😀", 9007199254740991, -1e-7, 0, 1, 0, 0, -1000,
      JSON::PP::false ],
);

my $want = [
    { who => "a \"q\" \\ \n\t\x{1}", n => -5, x => 0.1, eur => 12.5,
      p => 0.25, d => '2025-12-01', t => '2025-12-01T07:00:00.123-05:00',
      u => '2025-12-01T12:00:00Z', ok => JSON::PP::true },
    { map { $_->{name} => undef } @{ $spec->{columns} } },
    { who => "日本語 😀", n => 9007199254740991, x => -1e-7, eur => 0,
      p => 1, d => '1970-01-01', t => '1969-12-31T19:00:00-05:00',
      u => '1969-12-31T23:59:59Z', ok => JSON::PP::false },
];
utf8::decode($want->[2]{who});
utf8::decode($rows[2][0]);

my ($out, $rc, $err) = Report::render('json', $spec, \@rows, 'j');
is($rc, 0, 'json rendered') or diag $err;
my $raw = Report::slurp($out);
my $got = JSON::PP->new->utf8->decode($raw);
is_deeply($got, $want, 'json: typed values, RFC 3339 times, nulls');
like($raw, qr/"eur":12\.50,/, 'currency with its decimals');
like($raw, qr/"n":-5,/, 'an integer as a JSON integer');
like($raw, qr/\\u0001/, 'a control character escaped');
like($raw, qr/^\[\n\{"who":.*"ok":true\},\n/, 'keys in column order');

($out, $rc, $err) = Report::render('ndjson', $spec, \@rows, 'nd');
is($rc, 0, 'ndjson rendered') or diag $err;
$raw = Report::slurp($out);
my @lines = split /\n/, $raw;
is(scalar @lines, 3, 'ndjson: one line per row');
like($raw, qr/\}\n\z/, 'ndjson: LF after the last');
is_deeply([ map { JSON::PP->new->utf8->decode($_) } @lines ], $want,
          'ndjson: the same objects');

($out, $rc, $err) = Report::render('json', $spec, [], 'empty');
is($rc, 0, 'an empty report');
is_deeply(JSON::PP->new->utf8->decode(Report::slurp($out)), [],
          'an empty report is []');

($out, $rc, $err) = Report::render('json', { %$spec, tz => 'Mars/Base' },
                                   [], 'badtz');
isnt($rc, 0, 'an unknown time zone is refused');
like($err, qr/unknown time zone/, '... with a clear error');

($out, $rc, $err) = Report::render('json',
    { title => 'x', columns => [ { name => 'a' }, { name => 'a' } ] },
    [], 'dup');
like($err, qr/named twice/, 'a column named twice is refused');

done_testing;
