# CSV (lib/report/gw_report_csv.c, docs/reporting-formats.md): the
# csv-spectrum cases (npm, t/js) written through our writer and read back
# by Text::CSV; a round trip of hostile text through python3's csv
# module; CRLF everywhere, no raw control byte outside a quoted field,
# the optional BOM, formula injection neutralised in text but not in
# typed numbers, and invalid UTF-8 replaced.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Encode qw(decode encode);
use Test::More;

use Report;

plan skip_all => Report::binary() . ' is not built (make report-render)'
    unless -x Report::binary();

my $have_csv = eval { require Text::CSV; 1 };

# ---- csv-spectrum ----------------------------------------------------------

my $spectrum = "$FindBin::Bin/../js/node_modules/csv-spectrum";

SKIP: {
    skip 'csv-spectrum is not installed (auto/npm-deps)', 1
        unless -d "$spectrum/json";
    skip 'Text::CSV is not installed (libtext-csv-perl)', 1
        unless $have_csv;

    my @cases = map { m{/([^/]+)\.json$} ? $1 : () }
                glob "$spectrum/json/*.json";
    ok(@cases >= 10, scalar(@cases) . ' csv-spectrum cases');

    for my $case (@cases) {
        my $want = JSON::PP->new->utf8->decode(
            Report::slurp("$spectrum/json/$case.json"));
        # location_coordinates holds one object, not an array of them
        $want = [ $want ] if ref $want eq 'HASH';
        # the column order is the case's CSV header
        my ($head) = split /\r?\n/, Report::slurp("$spectrum/csvs/$case.csv");
        my @names = split /,/, $head;
        my $spec = { title => $case,
                     columns => [ map { { name => $_, type => 'text' } }
                                  @names ] };
        my @rows = map { my $r = $_; [ map { $r->{$_} } @names ] } @$want;
        my ($out, $rc, $err) = Report::render('csv', $spec, \@rows, $case);
        is($rc, 0, "$case: rendered") or diag $err;

        my $csv = Text::CSV->new({ binary => 1, eol => "\r\n" });
        open my $fh, '<:encoding(UTF-8)', $out or die $!;
        my $got_head = $csv->getline($fh);
        is_deeply($got_head, \@names, "$case: header");
        my @got;
        while (my $r = $csv->getline($fh)) {
            push @got, { map { $names[$_] => $r->[$_] } 0 .. $#names };
        }
        ok($csv->eof, "$case: parsed to the end");
        # text starting with = + - @ tab CR gets a quote (documented)
        my @exp = map { my $r = $_; +{ map {
            my $v = $r->{$_};
            ($_ => ($v =~ /^[=+\-\@\t\r]/ ? "'$v" : $v)) } keys %$r } }
            @$want;
        is_deeply(\@got, \@exp, "$case: rows as csv-spectrum has them");
        unlike(Report::slurp($out), qr/(?<!\r)\n(?=[^"]*$)/,
               "$case: the last line ends in CRLF");
    }
}

# ---- typed values, injection, BOM ------------------------------------------

my $spec = {
    title => 'typed', tz => 'Europe/Paris', csv_bom => JSON::PP::true,
    columns => [
        { name => 'who', type => 'text' },
        { name => 'n', type => 'integer' },
        { name => 'x', type => 'number' },
        { name => 'eur', type => 'currency', currency => 'EUR' },
        { name => 'p', type => 'percent' },
        { name => 'd', type => 'date' },
        { name => 't', type => 'datetime' },
        { name => 'ok', type => 'boolean' },
    ],
};

my ($out, $rc, $err) = Report::render('csv', $spec, [
    [ '=HYPERLINK("x")', -5, -0.5, 12.345, 0.25, 1764547200000,
      1764590400123, JSON::PP::true ],
    [ '+1', 0, 1e21, -3, 1, 1751328000000, 1751371200000,
      JSON::PP::false ],
    [ '@SUM(A1)', undef, undef, undef, undef, undef, undef, undef ],
    [ "\tx", 1, 2, 3, 4, 0, 0, JSON::PP::true ],
    [ "-2", 1, 2, 3, 4, 0, 0, JSON::PP::true ],
], 'typed');
is($rc, 0, 'typed: rendered') or diag $err;
my $raw = Report::slurp($out);

like($raw, qr/^\xef\xbb\xbfwho,n,x,eur,p,d,t,ok\r\n/, 'BOM, then the header');
like($raw, qr/\r\n"'=HYPERLINK\(""x""\)",-5,-0.5,12.35,0.25,2025-12-01,/,
     'a formula in text gets a quote; -5 and -0.5 typed stay as they are');
like($raw, qr/2025-12-01T13:00:00\.123\+01:00,true\r\n/,
     'a date-time in RFC 3339 with the zone\'s offset (winter)');
like($raw, qr/\r\n'\+1,0,1e\+21,-3\.00,1,2025-07-01,2025-07-01T14:00:00\+02:00,false\r\n/,
     'summer offset; +1 as text neutralised');
like($raw, qr/\r\n'\@SUM\(A1\),,,,,,,\r\n/, 'nulls are empty fields');
like($raw, qr/\r\n"'\tx",1,/, 'a leading tab: quoted and neutralised');
like($raw, qr/\r\n'-2,1,/, 'a text "-2" is neutralised');

# ---- hostile text: round trip through python3's csv ------------------------

my @hostile = (
    "plain", "comma, inside", "quote \" inside", "cr\rinside",
    "lf\ninside", "crlf\r\ninside", "ctl\x01\x02\x1f\x7f", "nul\x00byte",
    "مرحبا", "日本語 😀",
    "", " leading space", "trailing space ", "\"\"\"",
);
# the driver reads JSON, which is UTF-8: the invalid sequences are
# checked by the unit tests (t/unit/test_report_text.c), not here
my @valid = grep { defined eval { decode('UTF-8', $_, Encode::FB_CROAK |
                                        Encode::LEAVE_SRC) } } @hostile;
my $in = join '', map { $Report::JSON->encode([ decode('UTF-8', $_) ]) . "\n" }
         @valid;

($out, $rc, $err) = Report::render('csv',
    { title => 'h', columns => [ { name => 'v', type => 'text' } ] },
    $in, 'hostile');
is($rc, 0, 'hostile: rendered') or diag $err;
$raw = Report::slurp($out);

# outside quotes, the only control bytes are the CRLFs ending lines
(my $unq = $raw) =~ s/"(?:[^"]|"")*"//g;
$unq =~ s/\r\n//g;
unlike($unq, qr/[\x00-\x1f\x7f]/, 'no raw control byte outside quotes');
unlike($raw, qr/\x00/, 'no NUL anywhere');

SKIP: {
    my $py = Report::python() // (Report::have('python3') ? 'python3' : undef);
    skip 'no python3', 1 unless $py;
    my $got = `$py -c '
import csv, json, sys
r = csv.reader(open(sys.argv[1], newline="", encoding="utf-8"))
print(json.dumps([row for row in r]))' '$out'`;
    my $rows = JSON::PP->new->utf8->decode($got);
    my $head = shift @$rows;
    is_deeply($head, [ 'v' ], 'python csv: header');
    my @exp = map {
        my $s = decode('UTF-8', $_);
        $s =~ s/\x00/\x{fffd}/g;
        $s =~ /^[=+\-\@\t\r]/ ? "'$s" : $s;
    } @valid;
    is_deeply([ map { $_->[0] } @$rows ], \@exp,
              'python csv reads back every hostile value');
}

done_testing;
