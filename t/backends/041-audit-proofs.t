# The audit service's read side, checked independently of its C code:
# the signed checkpoint (C2SP note, Ed25519 verified with the openssl
# command against GET /v1/audit/key), inclusion proofs of every record
# and consistency proofs between many sizes (verified by the RFC 9162
# algorithms written in Perl in Audit.pm, with leaf hashes computed from
# the canonical bytes the service returns), the hash chain recomputed,
# and the query API: each filter, time ranges and cursor pagination.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);
use MIME::Base64 qw(decode_base64);
use Test::More;

use Audit;
use Kit;
use Tollgate::Redis;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

my $redis = Tollgate::Redis->start;
my ($key, $vkey) = Audit::keygen('audit.test/proofs');
my $dir = tempdir(DIR => Audit::tmp()) . '/data';
my $svc = Audit::start(dir => $dir, key => $key,
                       env => { REDIS => $redis->address,
                                CHECKPOINT_INTERVAL => 0,
                                FSYNC_INTERVAL => 0 });

my ($st, $b) = Audit::get($svc, '/v1/audit/key');
is($st, 200, 'GET /v1/audit/key');
is($b, "$vkey\n", 'the verifier key keygen printed');

($st, $b) = Audit::get($svc, '/v1/audit/checkpoint');
my ($size, $root) = Audit::verify_checkpoint($b, $vkey);
is($size, 0, 'the first checkpoint: size 0, signature verified by openssl');
is($root, sha256(''), 'the empty root');

# 37 records in batches of varied sizes, with varied members
my @actors = qw(alice bob carol);
my @actions = qw(GET POST DELETE);
my $n = 0;
for my $batch (1, 2, 5, 13, 16) {
    my @evs = map {
        my $i = $n++;
        Audit::event(sprintf('ev-%03d', $i), actor => $actors[$i % 3],
                     action => $actions[$i % 3 == 0 ? 0 : ($i % 2) + 1],
                     resource => '/r/' . ($i % 4), status => 200 + $i % 2,
                     time => 1700000000000 + $i * 1000)
    } 1 .. $batch;
    ($st) = Audit::post($svc, '/v1/audit/events', \@evs);
    is($st, 200, "a batch of $batch");
}
is($n, 37, '37 records');

# the records as stored, their leaves and the chain
my @canon;
my $chain = "\0" x 32;
my $chain_ok = 1;
for my $i (0 .. 36) {
    ($st, $b) = Audit::get($svc, "/v1/audit/records/$i");
    push @canon, $b->{canonical};
    utf8::encode($canon[-1]);
    $chain = sha256("\x02" . $chain . Audit::leaf_hash($canon[-1]));
    $chain_ok &&= $chain eq decode_base64($b->{chain});
}
ok($chain_ok, 'the hash chain recomputed from the canonical records');

($st, $b) = Audit::post($svc, '/v1/audit/checkpoint', '');
is($st, 200, 'POST /v1/audit/checkpoint signs now');
($size, $root) = Audit::verify_checkpoint($b, $vkey);
is($size, 37, 'a checkpoint of 37 records, signature verified');
like($b, qr/\Aaudit\.test\/proofs\n37\n[A-Za-z0-9+\/]{43}=\n\n\x{e2}\x{80}\x{94} audit\.test\/proofs \S+\n\z/,
     'C2SP tlog-checkpoint text');
my (undef, $other) = Audit::keygen('audit.test/proofs');
ok(!Audit::verify_checkpoint($b, $other),
   'not with another key of the same name');
(my $forged = $b) =~ s/\n37\n/\n36\n/;
ok(!Audit::verify_checkpoint($forged, $vkey),
   'a changed checkpoint does not verify');

my $incl_ok = 1;
for my $i (0 .. 36) {
    ($st, $b) = Audit::get($svc, "/v1/audit/proof/inclusion?index=$i");
    my $leaf = Audit::leaf_hash($canon[$i]);
    $incl_ok &&= $st == 200 && $b->{size} == 37
        && decode_base64($b->{leaf_hash}) eq $leaf
        && decode_base64($b->{root}) eq $root
        && Audit::verify_inclusion($i, 37, $leaf,
                                   [ map { decode_base64($_) }
                                     @{ $b->{proof} } ], $root);
}
ok($incl_ok, 'an inclusion proof of every record verifies against the '
             . 'signed root');

for my $sz (1, 2, 8, 13, 30) {
    my $ok = 1;
    for my $i (0 .. $sz - 1) {
        ($st, $b) = Audit::get($svc,
                               "/v1/audit/proof/inclusion?index=$i&size=$sz");
        $ok &&= $st == 200
            && Audit::verify_inclusion($i, $sz, Audit::leaf_hash($canon[$i]),
                                       [ map { decode_base64($_) }
                                         @{ $b->{proof} } ],
                                       decode_base64($b->{root}));
    }
    ok($ok, "inclusion proofs in the tree of $sz");
}

($st, $b) = Audit::get($svc, '/v1/audit/proof/inclusion?id=ev-007');
is($b->{index}, 7, 'an inclusion proof by event id');
ok(!Audit::verify_inclusion(7, 37, Audit::leaf_hash($canon[8]),
                            [ map { decode_base64($_) } @{ $b->{proof} } ],
                            $root), 'the wrong leaf does not verify');

my %roots;
my $cons_ok = 1;
for my $m (1 .. 37) {
    ($st, $b) = Audit::get($svc, "/v1/audit/proof/consistency?from=$m");
    $roots{$m} = decode_base64($b->{from_root});
    $cons_ok &&= $st == 200 && $b->{to} == 37
        && decode_base64($b->{to_root}) eq $root
        && Audit::verify_consistency($m, 37, $roots{$m}, $root,
                                     [ map { decode_base64($_) }
                                       @{ $b->{proof} } ]);
}
ok($cons_ok, 'consistency proofs from every size to the signed tree');

# the roots of small trees, computed here from the leaves
sub mth {
    my (@l) = @_;
    return $l[0] if @l == 1;
    my $k = 1;
    $k <<= 1 while $k * 2 < @l;
    return Audit::node_hash(mth(@l[0 .. $k - 1]), mth(@l[$k .. $#l]));
}
my @leaves = map { Audit::leaf_hash($_) } @canon;
is($roots{37}, mth(@leaves), 'the signed root is the RFC 9162 MTH');
is($roots{13}, mth(@leaves[0 .. 12]), 'and the root of 13');

($st, $b) = Audit::get($svc, '/v1/audit/proof/consistency?from=5&to=20');
ok(Audit::verify_consistency(5, 20, $roots{5}, mth(@leaves[0 .. 19]),
                             [ map { decode_base64($_) } @{ $b->{proof} } ]),
   'from 5 to 20');

for my $q ('inclusion?index=37', 'inclusion?index=1&size=99',
           'consistency?from=0', 'consistency?from=9&to=8',
           'inclusion?index=x', 'inclusion?index=1&what=2')
{
    ($st) = Audit::get($svc, "/v1/audit/proof/$q");
    is($st, 400, "proof/$q: 400");
}
($st) = Audit::get($svc, '/v1/audit/proof/inclusion?id=nope');
is($st, 404, 'an unknown id: 404');

# ---- queries -------------------------------------------------------------

sub ids { [ map { $_->{id} } @_ ] }
sub expect {
    my ($f) = @_;
    return [ map { sprintf 'ev-%03d', $_ } grep { $f->($_) } 0 .. 36 ];
}

is_deeply(ids(Audit::all_records($svc, '&actor=bob')),
          expect(sub { $_[0] % 3 == 1 }), 'filter by actor');
is_deeply(ids(Audit::all_records($svc, '&action=POST')),
          expect(sub { $_[0] % 3 != 0 && $_[0] % 2 == 0 }),
          'filter by action');
is_deeply(ids(Audit::all_records($svc, '&resource=/r/2')),
          expect(sub { $_[0] % 4 == 2 }), 'filter by resource');
is_deeply(ids(Audit::all_records($svc, '&status=201')),
          expect(sub { $_[0] % 2 == 1 }), 'filter by status');
is_deeply(ids(Audit::all_records($svc,
              '&from=1700000005000&to=1700000010000')),
          expect(sub { $_[0] >= 5 && $_[0] < 10 }), 'time range');
is_deeply(ids(Audit::all_records($svc,
              '&actor=alice&status=200&resource=%2Fr%2F0')),
          expect(sub { $_[0] % 3 == 0 && $_[0] % 2 == 0
                       && $_[0] % 4 == 0 }), 'filters together');

# cursor pagination: pages of 4, the next cursor each time
my (@got, $cursor, $pages);
while (1) {
    ($st, $b) = Audit::get($svc, '/v1/audit/records?actor=carol&limit=4'
                                 . (defined $cursor ? "&cursor=$cursor"
                                                    : ''));
    $pages++;
    ok(@{ $b->{records} } <= 4, "page $pages: at most 4") if $pages < 5;
    push @got, @{ $b->{records} };
    $cursor = $b->{next};
    last unless defined $cursor;
}
is_deeply(ids(@got), expect(sub { $_[0] % 3 == 2 }),
          "pages of 4 ($pages pages) give every match once, in order");

($st, $b) = Audit::get($svc, '/v1/audit/records?limit=5&cursor=35');
is_deeply(ids(@{ $b->{records} }), [ 'ev-035', 'ev-036' ],
          'a cursor near the end');
is($b->{next}, undef, 'next is null at the end');

for my $q ('limit=0', 'limit=1001', 'status=abc', 'colour=red',
           'cursor=-1')
{
    ($st) = Audit::get($svc, "/v1/audit/records?$q");
    is($st, 400, "records?$q: 400");
}
($st) = Audit::get($svc, '/v1/audit/records/37');
is($st, 404, 'a record beyond the log: 404');

# the checkpoints survive a restart and the folder verifies
is(Audit::stop($svc), 0, 'graceful stop');
my $pub = "$dir/../published.pub";
open my $kf, '>', $pub or die;
print $kf "$vkey\n";
close $kf;
my ($out, $rc) = Audit::run('verify', '--key', $pub, $dir);
is($rc, 0, 'verify with the published key') or diag $out;
like($out, qr/verify: ok: 37 records .* 2 checkpoints/, 'all checkpoints');

# ---- the whole range of JSON numbers ----------------------------------------
#
# Every number is stored as a double, in its RFC 8785 form (ECMAScript's
# Number.prototype.toString(): the pairs below are what node gives).
# From 2^63 up to 1e21 that form is a long run of digits, which a JSON
# parser reading integers into 64 bits refuses: such records must still
# be served, listed, matched by filters and proven.

my @numbers = (
    [ '0', '0' ], [ '-0', '0' ], [ '-0.0', '0' ], [ '1', '1' ],
    [ '-1', '-1' ],
    [ '9007199254740991', '9007199254740991' ],
    [ '9007199254740992', '9007199254740992' ],
    [ '-9007199254740992', '-9007199254740992' ],
    [ '9007199254740993.0', '9007199254740992' ],
    [ '9007199254740995.0', '9007199254740996' ],
    [ '9.223372036854775807e18', '9223372036854776000' ],
    [ '9223372036854775808.0', '9223372036854776000' ],
    [ '-9223372036854775809.0', '-9223372036854776000' ],
    [ '1.8446744073709551616e19', '18446744073709552000' ],
    [ '1e20', '100000000000000000000' ],
    [ '-1e20', '-100000000000000000000' ],
    [ '1E20', '100000000000000000000' ],
    [ '123456789012345678901.0', '123456789012345680000' ],
    [ '9.99999999999999e20', '999999999999999000000' ],
    [ '1e21', '1e+21' ], [ '-1e21', '-1e+21' ],
    [ '1e300', '1e+300' ], [ '1E+300', '1e+300' ],
    [ '5e-324', '5e-324' ], [ '-5e-324', '-5e-324' ],
    [ '1.7976931348623157e308', '1.7976931348623157e+308' ],
    [ '-1.7976931348623157e308', '-1.7976931348623157e+308' ],
    [ '2.2250738585072014e-308', '2.2250738585072014e-308' ],
    [ '0.1', '0.1' ], [ '1e-7', '1e-7' ], [ '0.000001', '0.000001' ],
    [ '1e-6', '0.000001' ], [ '1e-400', '0' ], [ '123e-2', '1.23' ],
    [ '1.5e+2', '150' ], [ '4.35', '4.35' ],
);

# an event as JSON text, with members whose values are number literals
sub num_event {
    my ($id, $k, %lit) = @_;
    my $text = $Audit::JSON->encode(
        Audit::event($id, actor => 'numbers', resource => "/n/$k",
                     time => 1700000100000 + $k,
                     map { $_ => "\@$_\@" } keys %lit));
    $text =~ s/"\@$_\@"/$lit{$_}/ or die for keys %lit;
    return $text;
}

$dir = tempdir(DIR => Audit::tmp()) . '/numbers';
$svc = Audit::start(dir => $dir, key => $key,
                    env => { REDIS => $redis->address, STREAM => 'gw:num',
                             CHECKPOINT_INTERVAL => 0,
                             FSYNC_INTERVAL => 0 });

my @lits = map { $_->[0] } @numbers;
my @texts = map {
    num_event("num-$_", $_, n => $numbers[$_][0],
              latency_ms => $numbers[$_][0],
              deep => '{"a":[' . $numbers[$_][0] . ']}')
} 0 .. $#numbers;
push @texts, num_event('num-all', scalar @numbers,
                       all => '[' . join(',', @lits) . ']');
($st, $b) = Audit::post($svc, '/v1/audit/events',
                        '[' . join(',', @texts) . ']');
is($st, 200, 'POST: events holding every kind of number are stored')
    or diag explain $b;
my $nrec = @numbers + 1;
is($b->{stored}, $nrec, "$nrec records");

# the same through the stream
my @sids = map { "snum-$_" } 0 .. $#numbers;
Audit::xadd_events($redis->port, 'gw:num',
                   map { num_event($sids[$_], 100 + $_,
                                   n => $numbers[$_][0]) } 0 .. $#numbers);
$nrec += @numbers;
ok(Kit::eventually(sub { Audit::all_records($svc) == $nrec }, 10),
   'the stream: the same numbers stored');

# integers beyond +-2^53 written as integers would be rounded: refused,
# the whole batch, nothing stored; so is a number beyond the double range
for my $lit ('9007199254740993', '-9007199254740993', '9223372036854775807',
             '9223372036854775808', '18446744073709551616',
             '100000000000000000000', '1e400', '-1e400')
{
    ($st, $b) = Audit::post($svc, '/v1/audit/events',
                            '[' . num_event('ok-num', 0) . ','
                            . num_event('bad-num', 0, n => $lit) . ']');
    is($st, 400, "POST: the integer literal or overflow $lit is refused");
}

($st, $b) = Audit::post($svc, '/v1/audit/checkpoint', '');
($size, $root) = Audit::verify_checkpoint($b, $vkey);
is($size, $nrec, "a signed checkpoint of the $nrec records");

my (%canon_of, @bad_record, @bad_raw, @bad_proof);
for my $i (0 .. $nrec - 1) {
    my $r;
    ($st, $b, $r) = Audit::get($svc, "/v1/audit/records/$i");
    my $c = $b->{canonical} // '';
    utf8::encode($c);
    my $rec = ref $b->{record} eq 'HASH' ? $b->{record} : {};
    $canon_of{ $rec->{id} // "null-$i" } = $c;
    push @bad_record, $i
        unless $st == 200 && ($rec->{seq} // -1) == $i;
    push @bad_raw, $i
        unless index($r->{content}, qq{"record":$c,}) > 0;

    my $p;
    ($st, $p) = Audit::get($svc, "/v1/audit/proof/inclusion?index=$i");
    push @bad_proof, $i
        unless $st == 200 && $p->{size} == $nrec
               && decode_base64($p->{root}) eq $root
               && Audit::verify_inclusion($i, $nrec, Audit::leaf_hash($c),
                                          [ map { decode_base64($_) }
                                            @{ $p->{proof} } ], $root);
}
is_deeply(\@bad_record, [], 'GET /v1/audit/records/{i}: every record '
                            . 'served as JSON');
is_deeply(\@bad_raw, [], 'its "record" is the canonical bytes, verbatim');
is_deeply(\@bad_proof, [], 'an inclusion proof of every record verifies '
                           . 'against the signed root');

my @bad_canon;
for my $k (0 .. $#numbers) {
    my $want = $numbers[$k][1];
    push @bad_canon, "$numbers[$k][0] (num-$k)"
        unless ($canon_of{"num-$k"} // '') =~ /"deep":\{"a":\[\Q$want\E\]\},/
               && $canon_of{"num-$k"} =~ /"latency_ms":\Q$want\E,/
               && $canon_of{"num-$k"} =~ /"n":\Q$want\E,/
               && ($canon_of{"snum-$k"} // '') =~ /"n":\Q$want\E,/;
}
is_deeply(\@bad_canon, [], 'every number in its RFC 8785 form, over HTTP '
                           . 'and the stream');
like($canon_of{'num-all'} // '',
     qr/"all":\[\Q${\ join(',', map { $_->[1] } @numbers)}\E\]/,
     'all of them in one array');

my @want = ((map { "num-$_" } 0 .. $#numbers), 'num-all', @sids);
is_deeply(ids(Audit::all_records($svc)), \@want,
          'listed: every record, in order');
is_deeply(ids(Audit::all_records($svc, '&actor=numbers')), \@want,
          'filtered by actor: every record');
is_deeply(ids(Audit::all_records($svc, '&actor=numbers&status=200'
                                 . '&action=GET')), \@want,
          'by actor, status and action');
is_deeply(ids(Audit::all_records($svc, '&resource=%2Fn%2F14')),
          [ 'num-14' ], 'by resource: the record of 1e20');
is_deeply(ids(Audit::all_records($svc, '&from=1700000100014'
                                 . '&to=1700000100017')),
          [ 'num-14', 'num-15', 'num-16' ],
          'by time: the records of 1e20, -1e20, 1E20');
($st, $b) = Audit::get($svc, '/v1/audit/records?limit=3&cursor=14');
is_deeply(ids(@{ $b->{records} }), [ 'num-14', 'num-15', 'num-16' ],
          'a page from a cursor');

is(Audit::stop($svc), 0, 'graceful stop');
($out, $rc) = Audit::run('verify', '--key', $pub, $dir);
is($rc, 0, 'verify passes') or diag $out;

done_testing();
