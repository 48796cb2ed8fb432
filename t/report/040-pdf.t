# PDF (lib/report/gw_report_pdf.c, gw_report_chart.c) read back by
# poppler: pdftotext finds the title block, every row's text, the header
# row and "Page n" on every page, Arabic and CJK text, and a long cell
# ellipsised; pdftoppm draws the chart page, which has the series'
# colours where the bars are.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Encode qw(decode);
use Test::More;

use Report;

plan skip_all => Report::binary() . ' is not built (make report-render)'
    unless -x Report::binary();
plan skip_all => 'no pdftotext (apt-get install poppler-utils)'
    unless Report::have('pdftotext') && Report::have('pdftoppm');

sub text {
    my ($f, $page) = @_;
    my $p = defined $page ? "-f $page -l $page" : '';
    return decode('UTF-8', scalar `pdftotext -layout $p '$f' - 2>/dev/null`);
}

sub pages {
    my ($f) = @_;
    my ($n) = `pdfinfo '$f' 2>/dev/null` =~ /^Pages:\s+(\d+)/m;
    return $n // 0;
}

my $spec = {
    title => 'Usage by consumer', subtitle => 'November, tenant acme',
    generated_at => 1765090800000, tz => 'Europe/Paris',
    columns => [
        { name => 'who', title => 'Consumer', type => 'text' },
        { name => 'n', title => 'Calls', type => 'integer' },
        { name => 'eur', title => 'Revenue', type => 'currency',
          currency => 'EUR' },
        { name => 'p', title => 'Share', type => 'percent' },
        { name => 'd', title => 'Day', type => 'date' },
    ],
    chart => { type => 'bar', title => 'Calls by consumer',
               category => 'who', series => [ 'n' ] },
};

my @rows = map { [ sprintf('row-%04d', $_), $_ == 1 ? 1000 : $_, $_ * 1.5,
                   0.5, 1764547200000 ] } 1 .. 300;
my $arabic = 'مرحبا بالعالم';
my $cjk = '日本語のテキスト';
my $emoji = "smile \x{1F600} ok";
push @rows, [ $arabic, 1, 1, 0, 0 ], [ $cjk, 2, 2, 0, 0 ],
            [ $emoji, 4, 4, 0, 0 ],
            [ 'long ' . ('x' x 3000) . ' END', 3, 3, 0, 0 ];

my ($out, $rc, $err) = Report::render('pdf', $spec, \@rows, 'p');
is($rc, 0, 'pdf rendered') or diag $err;
is((stat $out)[2] & 0777, 0600, 'the file is mode 0600');

my $n = pages($out);
cmp_ok($n, '>=', 4, "$n pages: the table spans several, then the chart");

my $all = text($out);
like($all, qr/Usage by consumer/, 'the title');
like($all, qr/November, tenant acme/, 'the subtitle');
like($all, qr/Generated at 2025-12-07T08:00:00\+01:00 \(Europe\/Paris\)/,
     'the generation time in the spec\'s zone');

my @missing = grep { $all !~ /\b$_\b/ } map { sprintf 'row-%04d', $_ }
              1 .. 300;
is(scalar @missing, 0, 'every row\'s text is there')
    or diag "missing: @missing[0 .. ($#missing > 9 ? 9 : $#missing)]";
like($all, qr/row-0002\s+2\s+3\.00 EUR\s+50%\s+2025-12-01/,
     'a row: integer, currency with its code, percent, date');
like($all, qr/\Q$cjk\E/, 'CJK text laid out');
like($all, qr/smile \x{1F600} ok/, 'an emoji laid out (a font has it)');
my ($aline) = grep { /\p{Arabic}/ } split /\n/, $all;
ok(defined $aline && (() = $aline =~ /\p{Arabic}/g) >= 8,
   'Arabic text laid out');
# the ellipsis glyph carries the cut text (ActualText) for copy and
# paste, so the text is there: its box must end inside the column
my $bbox = `pdftotext -bbox '$out' - 2>/dev/null`;
my ($long) = $bbox =~ /xMax="([\d.]+)"[^>]*>xxxx/;
my ($calls) = $bbox =~ /xMin="([\d.]+)"[^>]*>Calls</;
ok(defined $long && defined $calls && $long < $calls,
   'a long cell is ellipsised inside its column')
    or diag "long cell ends at @{[ $long // '?' ]}, next column at "
            . ($calls // '?');

for my $p (1 .. $n - 1) {
    my $t = text($out, $p);
    like($t, qr/Consumer\s+Calls\s+Revenue\s+Share\s+Day/,
         "page $p starts with the header row");
    like($t, qr/Page $p\b/, "page $p is numbered");
}

my $chart = text($out, $n);
like($chart, qr/Calls by consumer/, 'the last page is the chart');
like($chart, qr/Page $n\b/, 'the chart page is numbered');
unlike($chart, qr/Revenue\s+Share/, 'the chart page has no table');

# ---- orientation ---------------------------------------------------------

my ($size) = `pdfinfo '$out' 2>/dev/null` =~ /^Page size:\s+(.*)$/m;
like($size, qr/^595\.\d+ x 841\.\d+ pts \(A4\)/, 'five columns: A4 portrait');
my $wide = { title => 'wide', columns => [ map { { name => "c$_" } } 1 .. 9 ] };
($out, $rc, $err) = Report::render('pdf', $wide, [ [ ('x') x 9 ] ], 'wide');
is($rc, 0, 'nine columns rendered') or diag $err;
($size) = `pdfinfo '$out' 2>/dev/null` =~ /^Page size:\s+(.*)$/m;
like($size, qr/^841\.\d+ x 595\.\d+ pts/, 'nine columns: A4 landscape');

# ---- the chart's pixels ----------------------------------------------------

# a P6 PPM: returns (width, height, the bytes)
sub ppm {
    my ($f, $page, $name) = @_;
    my $base = Report::tmp() . "/$name";
    system("pdftoppm -r 36 -f $page -l $page '$f' '$base'") == 0
        or return;
    my ($file) = glob "$base*.ppm";
    my $d = Report::slurp($file);
    $d =~ s/\AP6\s+(\d+)\s+(\d+)\s+255\s//s or return;
    return ($1, $2, $d);
}

# pixels near colour $c, as [x, y]
sub near {
    my ($w, $h, $d, $c) = @_;
    my @at;
    for my $i (0 .. $w * $h - 1) {
        my @p = unpack 'C3', substr $d, $i * 3, 3;
        next if grep { abs($p[$_] - $c->[$_]) > 24 } 0 .. 2;
        push @at, [ $i % $w, int($i / $w) ];
    }
    return @at;
}

# 21 rows: bars wide enough to see at 36 dpi
($out, $rc, $err) = Report::render('pdf', $spec, [ @rows[0 .. 20] ], 'bar');
is($rc, 0, 'a short bar chart rendered') or diag $err;
my ($w, $h, $d) = ppm($out, pages($out), 'bar');
ok($w, "the chart page drawn at ${w}x$h");
my @blue = near($w, $h, $d, [ 64, 120, 191 ]);
cmp_ok(scalar @blue, '>', 200, scalar(@blue) . ' pixels in the bar colour');
# row-0001 has 1000 calls, the others 1..300: the tallest bar is the
# first, at the left of the plot, reaching near the top
my ($left) = sort { $a->[0] <=> $b->[0] } @blue;
my ($top) = sort { $a->[1] <=> $b->[1] } @blue;
cmp_ok($left->[0], '<', $w * 0.25, 'bars start at the left of the plot');
cmp_ok($top->[1], '<', $h * 0.25, 'the tallest bar reaches the top');
cmp_ok($top->[0], '<', $w * 0.3, '... and it is the first category');

for my $type (qw(line pie)) {
    ($out, $rc, $err) = Report::render('pdf',
        { %$spec, chart => { %{ $spec->{chart} }, type => $type } },
        [ @rows[0 .. 20] ], $type);
    is($rc, 0, "$type chart rendered") or diag $err;
    ($w, $h, $d) = ppm($out, pages($out), $type);
    my @px = near($w, $h, $d, [ 64, 120, 191 ]);
    cmp_ok(scalar @px, '>', 20, "$type: drawn in the first colour");
}

done_testing;
