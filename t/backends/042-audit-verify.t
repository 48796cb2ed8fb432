# `audit verify DIR` on damaged copies of a log: every way of changing
# the stored bytes is reported, with the index of the record where it
# happened: a changed byte (CRC32C), a changed byte with its CRC fixed
# (the hash chain), a changed record with the whole chain after it
# recomputed (the node file and the signed root), a removed, an inserted
# and two reordered records, a removed segment, a torn tail and a tail
# cut at a frame boundary (the checkpoint commits to more), a changed
# checkpoint, and the wrong key.  The intact copy passes.  A record
# changed with the chain, the CRCs and the node file rewritten after it
# is named by the signed roots alone.  The reports are the ones
# docs/audit.md shows (its table's first lines, its examples in full).
# The service serves, lists and matches records that are not JSON any
# more, with their bytes, never leaving them out.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(sha256);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use MIME::Base64 qw(decode_base64);
use Test::More;

use Audit;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

my ($key, $vkey) = Audit::keygen('audit.example.com/log');
my $base = tempdir(DIR => Audit::tmp());
my $dir = "$base/orig";
my $svc = Audit::start(dir => $dir, key => $key,
                       env => { REDIS => '127.0.0.1:1', SEGMENT_SIZE => '4k',
                                FSYNC_INTERVAL => 0 });
for my $b (0 .. 9) {
    my ($st) = Audit::post($svc, '/v1/audit/events',
                           [ map { Audit::event("ev-$b-$_",
                                                resource => "/r/$b/$_") }
                             0 .. 19 ]);
    die "post: $st" unless $st == 200;
    # checkpoints of 40, 100 and 200 records (checkpoint 0 is the empty
    # tree's, signed at the first start)
    Audit::post($svc, '/v1/audit/checkpoint', '') if $b == 1 || $b == 4;
}
Audit::post($svc, '/v1/audit/checkpoint', '');
is(Audit::stop($svc), 0, '200 records, stopped');

open my $kf, '>', "$base/published.pub" or die;
print $kf "$vkey\n";
close $kf;

sub verify {
    my ($d, $k) = @_;
    return Audit::run('verify', '--key', $k // "$base/published.pub", $d);
}

my $doc = slurp("$FindBin::Bin/../../docs/audit.md");

my ($out, $rc) = verify($dir);
is($rc, 0, 'the intact log verifies') or diag $out;
my @segs = sort glob("$dir/seg-*");
ok(@segs > 5, scalar(@segs) . ' segments');
report_is($out, 'audit-data');

# ---- frames ---------------------------------------------------------------

my @T = map {
    my $c = $_;
    $c = ($c & 1) ? ($c >> 1) ^ 0x82F63B78 : $c >> 1 for 1 .. 8;
    $c
} 0 .. 255;

sub crc32c {
    my $c = 0xffffffff;
    $c = ($c >> 8) ^ $T[($c ^ $_) & 0xff] for unpack 'C*', $_[0];
    return $c ^ 0xffffffff;
}

sub slurp {
    open my $in, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return <$in>;
}

sub spew {
    open my $out, '>:raw', $_[0] or die "$_[0]: $!";
    print $out $_[1];
    close $out;
}

# a copy of the log: (folder, [ [file, header, [frames]] ... ])
my $copies = 0;
sub copy_log {
    my $d = "$base/copy" . ++$copies;
    mkdir $d or die;
    copy($_, $d) or die for glob("$dir/*");
    my @files;
    for my $f (sort glob("$d/seg-*")) {
        my $data = slurp($f);
        my ($hdr, $off, @frames) = (substr($data, 0, 32), 32);
        while ($off < length $data) {
            my $len = unpack 'N', substr($data, $off, 4);
            push @frames, substr($data, $off, 8 + $len);
            $off += 8 + $len;
        }
        push @files, [ $f, $hdr, \@frames ];
    }
    return ($d, \@files);
}

sub write_log {
    my ($files) = @_;
    spew($_->[0], $_->[1] . join('', @{ $_->[2] })) for @$files;
}

# the segment and frame position of record $i
sub locate {
    my ($files, $i) = @_;
    for my $f (@$files) {
        return ($f, $i) if $i < @{ $f->[2] };
        $i -= @{ $f->[2] };
    }
    die "no record";
}

sub record_of {
    my ($frame) = @_;
    my $idlen = ord substr($frame, 8 + 32, 1);
    return substr($frame, 8 + 32 + 1 + $idlen);
}

sub reframe {
    my ($frame, $chain, $rec) = @_;
    my $idlen = ord substr($frame, 8 + 32, 1);
    my $body = $chain . substr($frame, 8 + 32, 1 + $idlen) . $rec;
    return pack('NN', length $body, crc32c($body)) . $body;
}

sub damaged {
    my ($name, $d, $re) = @_;
    my ($o, $r) = verify($d);
    is($r, 1, "$name: verify fails");
    like($o, $re, "$name: reported") or diag $o;
    return $o;
}

# ---- the reports docs/audit.md shows ---------------------------------------

# the first line of a report is the one the table of docs/audit.md gives
# for that damage, where <dir> stands for the folder and "..." for
# anything
sub first_line_is {
    my ($out, $damage, $d) = @_;
    my ($line) = $doc =~ /^\| \Q$damage\E \| `([^`]+)`[^|\n]* \|/m;
    my $re = join '.*', map { quotemeta } split /\.\.\./, $line // '', -1;
    $re =~ s/\\<dir\\>/\Q$d\E/g;
    my ($first) = split /\n/, $out;
    ok(defined $line && $first =~ /\A$re\z/,
       "docs/audit.md's first line for: $damage")
        or diag "report:\n$out\ndocs: " . ($line // 'no such row');
}

# a whole report is the one docs/audit.md shows for
# "$ build/backends/audit verify --key published.pub <name>", but for the
# root and the time
sub report_is {
    my ($out, $name) = @_;
    my $cmd = "\$ build/backends/audit verify --key published.pub $name";
    my ($shown) = $doc =~ /^    \Q$cmd\E\n((?:^    \S.*\n)+)/m;
    $shown //= '(none)';
    $shown =~ s/^    //mg;
    for ($shown, $out) {
        s/ root [A-Za-z0-9+\/]{43}=, \d+\.\d{3} s$/ root R, T s/mg;
    }
    is($out, $shown, "the report docs/audit.md shows for \"$name\"");
}

# a changed byte
my ($d, $files) = copy_log();
my ($f, $k) = locate($files, 57);
substr($f->[2][$k], -5, 1) ^= 'A';
write_log($files);
$out = damaged('a changed byte', $d, qr/^record 57: checksum mismatch/m);
first_line_is($out, 'a byte changed in a record', $d);
report_is($out, 'flipped');

# a changed byte, its CRC fixed
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my $rec = record_of($f->[2][$k]);
$rec =~ s/"status":200/"status":201/ or die;
$f->[2][$k] = reframe($f->[2][$k], substr($f->[2][$k], 8, 32), $rec);
write_log($files);
$out = damaged('a changed record, CRC recomputed', $d,
               qr/^record 57: hash chain broken/m);
first_line_is($out, 'a record changed and its CRC fixed', $d);

# the id beside the record changed, its CRC fixed
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my $fr = $f->[2][$k];
substr($fr, 8 + 32 + 1, 1) = substr($fr, 8 + 32 + 1, 1) eq 'x' ? 'y' : 'x';
$f->[2][$k] = reframe($fr, substr($fr, 8, 32), record_of($fr));
write_log($files);
$out = damaged('the frame\'s id changed, CRC recomputed', $d,
               qr/^record 57: the frame's id is not the record's/m);
first_line_is($out, 'the id beside a record changed (CRC fixed)', $d);

# record 57 changed and every frame after it rewritten to agree: the
# chain values and the CRCs; the leaves, for the node file
sub rewrite_57 {
    my ($files) = @_;
    my $chain = "\0" x 32;
    my ($i, @leaves) = (0);
    for my $file (@$files) {
        for my $fr (@{ $file->[2] }) {
            my $r = record_of($fr);
            $r =~ s/"status":200/"status":500/ or die if $i == 57;
            push @leaves, sha256("\x00" . $r);
            $chain = sha256("\x02" . $chain . $leaves[-1]);
            $fr = reframe($fr, $chain, $r) if $i >= 57;
            $i++;
        }
    }
    return @leaves;
}

# the node file of these leaves: every node in the order the tree
# completes it (audit-format.md)
sub node_file {
    my (@stack, $out);
    for my $leaf (@_) {
        push @stack, [ 0, $leaf ];
        $out .= $leaf;
        while (@stack > 1 && $stack[-1][0] == $stack[-2][0]) {
            my ($r, $l) = (pop @stack, pop @stack);
            push @stack, [ $l->[0] + 1, sha256("\x01" . $l->[1] . $r->[1]) ];
            $out .= $stack[-1][1];
        }
    }
    return $out;
}

my $cp_msg = 'checkpoint 2: the first 100 records do not give the root it '
             . 'signs (the first difference is at a record from index 40 '
             . 'to 99)';
my $cp_re = qr/^\Q$cp_msg\E$/m;

($d, $files) = copy_log();
rewrite_57($files);
write_log($files);
($out, $rc) = verify($d);
is($rc, 1, 'the chain rewritten after a change: verify fails');
like($out, qr/^record 57: its leaf hash differs from the node file/m,
     'the node file names the record');
like($out, $cp_re, 'and the signed roots do not match');
unlike($out, qr/hash chain broken/, 'while the chain itself is consistent');
first_line_is($out, 'a record changed, and the chain values and CRCs after '
                    . 'it rewritten to agree', $d);

# the node file rewritten too: only the signed roots can tell
($d, $files) = copy_log();
ok(node_file(map { sha256("\x00" . record_of($_)) } map { @{ $_->[2] } }
             @$files) eq slurp("$dir/nodes"),
   'the node file of the intact records, computed here, is the stored one');
my @leaves = rewrite_57($files);
write_log($files);
spew("$d/nodes", node_file(@leaves));
($out, $rc) = verify($d);
is($rc, 1, 'the chain, the CRCs and the node file rewritten: verify fails');
like($out, $cp_re, 'the first signed root that does not match');
unlike($out, qr/^record /m, 'no record is named');
first_line_is($out, 'a record changed, and the chain values, CRCs **and** '
                    . 'the node file rewritten to agree', $d);
report_is($out, 'rewritten');

# a removed record
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
splice @{ $f->[2] }, $k, 1;
write_log($files);
$out = damaged('a removed record', $d, qr/^record 57: hash chain broken/m);
first_line_is($out, 'a record removed, inserted, or two swapped', $d);

# an inserted record (a copy of record 56 after it)
($d, $files) = copy_log();
($f, $k) = locate($files, 56);
splice @{ $f->[2] }, $k + 1, 0, $f->[2][$k];
write_log($files);
$out = damaged('an inserted record', $d,
               qr/^record 57: hash chain broken/m);
first_line_is($out, 'a record removed, inserted, or two swapped', $d);

# two records swapped
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my ($g, $l) = locate($files, 58);
($f->[2][$k], $g->[2][$l]) = ($g->[2][$l], $f->[2][$k]);
write_log($files);
($out, $rc) = verify($d);
is($rc, 1, 'reordered records: verify fails');
like($out, qr/\Arecord 57: hash chain broken/,
     'the first report names record 57') or diag $out;
first_line_is($out, 'a record removed, inserted, or two swapped', $d);

# a whole segment removed
($d, $files) = copy_log();
my $gone = $files->[2];
my $first = 0;
$first += @{ $files->[$_][2] } for 0 .. 1;
unlink $gone->[0];
($out, $rc) = verify($d);
is($rc, 1, 'a removed segment: verify fails');
like($out, qr/^record $first: \S+ starts at record \d+ \(records removed/m,
     "named at record $first");
first_line_is($out, 'a segment removed', $d);

# a torn tail: the last frame cut short
($d, $files) = copy_log();
my $last = $files->[-1];
substr($last->[2][-1], -10) = '';
write_log($files);
$out = damaged('a torn tail', $d, qr/^record 199: truncated/m);
first_line_is($out, 'a torn tail', $d);

# the tail cut at a frame boundary: only the checkpoint can tell
($d, $files) = copy_log();
pop @{ $files->[-1][2] };
write_log($files);
$out = damaged('the last record removed', $d,
               qr/^record 199: missing: checkpoint 3 commits to 200/m);
first_line_is($out, 'the tail cut at a frame boundary', $d);

# a changed checkpoint
($d, $files) = copy_log();
my $cps = slurp("$d/checkpoints");
$cps =~ s/\n200\n/\n201\n/ or die;
spew("$d/checkpoints", $cps);
($out, $rc) = verify($d);
is($rc, 1, 'a changed checkpoint: verify fails');
like($out, qr/^checkpoint 3: /m, 'reported');
first_line_is($out, 'a checkpoint changed, or the wrong key', $d);

# the wrong key
my ($k2, $v2) = Audit::keygen('audit.example.com/log');
spew("$base/other.pub", "$v2\n");
($out, $rc) = verify($dir, "$base/other.pub");
is($rc, 1, 'another key: verify fails');
like($out, qr/^checkpoint 0: /m, 'the signatures are reported');

($out, $rc) = Audit::run('verify');
is($rc, 2, 'no folder: usage, exit 2');

# ---- the service on a damaged folder ---------------------------------------
#
# Records that are not JSON any more (a record cut short, one with bytes
# that are not UTF-8, their CRCs fixed: the service's start checks only
# the CRCs) are still served, listed and matched by every filter, with
# their bytes, never left out; verify names them.

($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my $cut = substr(record_of($f->[2][$k]), 0, -10);
$f->[2][$k] = reframe($f->[2][$k], substr($f->[2][$k], 8, 32), $cut);
($f, $k) = locate($files, 58);
(my $latin = record_of($f->[2][$k])) =~ s{"/r/2/18"}{"/r/2/\xff"} or die;
$f->[2][$k] = reframe($f->[2][$k], substr($f->[2][$k], 8, 32), $latin);
write_log($files);
damaged('records that are not JSON', $d,
        qr/^record 57: hash chain broken/m);

$svc = Audit::start(dir => $d, key => $key,
                    env => { REDIS => '127.0.0.1:1' });
my ($st, $b) = Audit::get($svc, '/v1/audit/records/57');
is($st, 200, 'GET a record that is not JSON: 200');
ok(exists $b->{record} && !defined $b->{record}, '"record" is null');
like($b->{record_error} // '', qr/^not JSON: /, 'record_error says why');
my $canon = $b->{canonical} // '';
utf8::encode($canon);
is($canon, $cut, '"canonical" holds its bytes');
($st, $b) = Audit::get($svc, '/v1/audit/records/58');
is(decode_base64($b->{canonical_base64} // ''), $latin,
   'bytes that are not UTF-8: "canonical_base64"');
is((Audit::get($svc, '/v1/audit/records/56'))[0], 200,
   'the one before: 200');

my @recs = Audit::all_records($svc);
is_deeply([ map { $_->{seq} } @recs ], [ 0 .. 199 ],
          'listed: every record, those two included');
ok(!defined $recs[57]{record} && defined $recs[57]{record_error}
   && defined $recs[58]{canonical_base64}, 'in their stand-ins');
is_deeply([ map { $_->{seq} }
            Audit::all_records($svc, '&resource=%2Fr%2F2%2F16') ],
          [ 56, 57, 58 ], 'a filter: its match and both, never hidden');
is_deeply([ map { $_->{seq} } Audit::all_records($svc, '&actor=nobody') ],
          [ 57, 58 ], 'a filter nothing matches: both');
ok((grep { ($_->{message} // '') eq 'stored record is not JSON'
           && $_->{level} eq 'error' && $_->{fields}{seq} == 57 }
    Audit::log_lines($svc)), 'logged at error, with the index');
is(Audit::stop($svc), 0, 'stopped');

done_testing();
