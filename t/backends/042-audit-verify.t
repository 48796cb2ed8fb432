# `audit verify DIR` on damaged copies of a log: every way of changing
# the stored bytes is reported, with the index of the record where it
# happened: a changed byte (CRC32C), a changed byte with its CRC fixed
# (the hash chain), a changed record with the whole chain after it
# recomputed (the node file and the signed root), a removed, an inserted
# and two reordered records, a removed segment, a torn tail and a tail
# cut at a frame boundary (the checkpoint commits to more), a changed
# checkpoint, and the wrong key.  The intact copy passes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(sha256);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;

use Audit;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

my ($key, $vkey) = Audit::keygen('audit.test/verify');
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

my ($out, $rc) = verify($dir);
is($rc, 0, 'the intact log verifies') or diag $out;
my @segs = sort glob("$dir/seg-*");
ok(@segs > 5, scalar(@segs) . ' segments');

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
}

# a changed byte
my ($d, $files) = copy_log();
my ($f, $k) = locate($files, 57);
substr($f->[2][$k], -5, 1) ^= 'A';
write_log($files);
damaged('a changed byte', $d, qr/^record 57: checksum mismatch/m);

# a changed byte, its CRC fixed
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my $rec = record_of($f->[2][$k]);
$rec =~ s/"status":200/"status":201/ or die;
$f->[2][$k] = reframe($f->[2][$k], substr($f->[2][$k], 8, 32), $rec);
write_log($files);
damaged('a changed record, CRC recomputed', $d,
        qr/^record 57: hash chain broken/m);

# the id beside the record changed, its CRC fixed
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
my $fr = $f->[2][$k];
substr($fr, 8 + 32 + 1, 1) = substr($fr, 8 + 32 + 1, 1) eq 'x' ? 'y' : 'x';
$f->[2][$k] = reframe($fr, substr($fr, 8, 32), record_of($fr));
write_log($files);
damaged('the frame\'s id changed, CRC recomputed', $d,
        qr/^record 57: the frame's id is not the record's/m);

# a changed record with every chain value after it recomputed
($d, $files) = copy_log();
my $chain = "\0" x 32;
my $i = 0;
for my $file (@$files) {
    for my $fr (@{ $file->[2] }) {
        my $r = record_of($fr);
        $r =~ s/"status":200/"status":500/ if $i == 57;
        $chain = sha256("\x02" . $chain . sha256("\x00" . $r));
        $fr = reframe($fr, $chain, $r) if $i >= 57;
        $i++;
    }
}
write_log($files);
($out, $rc) = verify($d);
is($rc, 1, 'the chain rewritten after a change: verify fails');
like($out, qr/^record 57: its leaf hash differs from the node file/m,
     'the node file names the record');
like($out, qr/^checkpoint 1: the first 200 records do not give the root/m,
     'and the signed root does not match');
unlike($out, qr/hash chain broken/, 'while the chain itself is consistent');

# a removed record
($d, $files) = copy_log();
($f, $k) = locate($files, 57);
splice @{ $f->[2] }, $k, 1;
write_log($files);
damaged('a removed record', $d, qr/^record 57: hash chain broken/m);

# an inserted record (a copy of record 56 after it)
($d, $files) = copy_log();
($f, $k) = locate($files, 56);
splice @{ $f->[2] }, $k + 1, 0, $f->[2][$k];
write_log($files);
damaged('an inserted record', $d, qr/^record 57: hash chain broken/m);

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

# a torn tail: the last frame cut short
($d, $files) = copy_log();
my $last = $files->[-1];
substr($last->[2][-1], -10) = '';
write_log($files);
damaged('a torn tail', $d, qr/^record 199: truncated/m);

# the tail cut at a frame boundary: only the checkpoint can tell
($d, $files) = copy_log();
pop @{ $files->[-1][2] };
write_log($files);
damaged('the last record removed', $d,
        qr/^record 199: missing: checkpoint 1 commits to 200 records/m);

# a changed checkpoint
($d, $files) = copy_log();
my $cps = slurp("$d/checkpoints");
$cps =~ s/\n200\n/\n201\n/ or die;
spew("$d/checkpoints", $cps);
($out, $rc) = verify($d);
is($rc, 1, 'a changed checkpoint: verify fails');
like($out, qr/^checkpoint 1: /m, 'reported');

# the wrong key
my ($k2, $v2) = Audit::keygen('audit.test/verify');
spew("$base/other.pub", "$v2\n");
($out, $rc) = verify($dir, "$base/other.pub");
is($rc, 1, 'another key: verify fails');
like($out, qr/^checkpoint 0: /m, 'the signatures are reported');

($out, $rc) = Audit::run('verify');
is($rc, 2, 'no folder: usage, exit 2');

done_testing();
