# The NATS JetStream connectors (docs/processing-nats.md) against a real
# three-node nats-server cluster with JetStream on loopback
# (Tollgate::Nats), through t/proc/test_proc_nats.c, which drives them
# as the processing engine does:
#   - the "nats" sink publishes N records exactly once into a stream of
#     3 replicas, each batch committed twice, and the whole run again;
#   - with the stream's leader killed (kill -9) in the middle of a run,
#     every record arrives exactly once (failed batches committed again);
#   - the inbound connector moves M messages into a topic's Redis streams
#     exactly once, also when killed (kill -9) after its script wrote a
#     batch and before the batch's acknowledgements, then restarted; each
#     message in its key's partition (crc32), per-key order kept; and
#     when it reads the whole stream again, the script skips it all;
#   - bad configuration refused with a pointer to the member.
# Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Compress::Zlib qw(crc32);
use File::Temp qw(tempdir);
use JSON::PP qw(decode_json encode_json);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Nats;
use Tollgate::Redis;

my $D = "$FindBin::Bin/../../build/proc/test_proc_nats";

plan skip_all => 'nats-server is not installed (apt-get install '
               . 'nats-server): the JetStream tests need it'
    unless Tollgate::Nats::available();
plan skip_all => "$D is not built (run make backends)" unless -x $D;

my $TMP = tempdir('tollgate-natst-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $nats = Tollgate::Nats->start(nodes => 3);
my $S = $nats->servers;
my @urls = split /,/, $S;

sub drv {
    my $out = `$D @{[ join ' ', map { "'$_'" } @_ ]} 2>>$TMP/drv.err`;
    chomp $out;
    return $out;
}

sub msgs {
    my ($stream) = @_;
    my $info = drv('info', $S, $stream);
    return $info =~ /^msgs (\d+) leader (\S+)/ ? ($1, $2) : (-1, '');
}

sub sink_conf {
    my (%m) = @_;
    return encode_json({ type => 'nats', servers => \@urls,
                         subject => 'orders.out', stream => 'ORDERS', %m });
}

# ---- bad configuration ---------------------------------------------------

my @bad_sink = (
    [ { servers => [] }, '/servers: must be an array of 1 to 16 server URLs' ],
    [ { servers => ['http://x'] },
      '/servers/0: must be a URL "nats://host:port" or "tls://host:port"' ],
    [ { subject => 'a.*' }, '/subject: must be a NATS subject without '
                            . 'wildcards' ],
    [ { stream => 'a.b' }, '/stream: must be a JetStream stream name' ],
    [ { create => { replicas => 9 } }, '/create/replicas: must be 1 to 5' ],
    [ { create => { window => 1 } }, '/create/window: unknown member' ],
    [ { timeout => 'x' }, '/timeout: must be milliseconds from 100 to '
                          . '600000' ],
    [ { extra => 1 }, '/extra: unknown member' ],
);

for my $b (@bad_sink) {
    is(drv('check-sink', sink_conf(%{ $b->[0] })), $b->[1],
       "sink refused: $b->[1]");
}
is(drv('check-sink', sink_conf()), 'ok', 'a good sink conf is taken');

my %in = (servers => \@urls, stream => 'IN', durable => 'tg-in',
          subject => 'in.>', topic => 'orders', partitions => 4,
          key => '/customer', batch => 50);

my @bad_in = (
    [ { partitions => 0 }, '/nats_in/partitions: must be 1 to 1024' ],
    [ { key => 'customer' }, '/nats_in/key: must be a JSON pointer '
                             . '("/member") or {"header": "Name"}' ],
    [ { key => { header => '' } },
      '/nats_in/key/header: must be a header name' ],
    [ { durable => 'a b' }, '/nats_in/durable: must be a JetStream name' ],
    [ { subject => '' }, '/nats_in/subject: must be a NATS subject' ],
    [ { servers => 'nats://x' },
      '/nats_in/servers: must be an array of 1 to 16 server URLs' ],
    [ { topic => 'a:b' }, '/nats_in/topic: must be a topic name' ],
    [ { batch => 0 }, '/nats_in/batch: must be 1 to 4096' ],
    [ { what => 1 }, '/nats_in/what: unknown member' ],
);

for my $b (@bad_in) {
    is(drv('check-in', encode_json({ nats_in => { %in, %{ $b->[0] } } })),
       $b->[1], "inbound refused: $b->[1]");
}
is(drv('check-in', encode_json({ nats_in => \%in })), 'ok',
   'a good inbound conf is taken');

# ---- the sink: exactly once with replays ---------------------------------

is(drv('stream', $S, 'ORDERS', 'orders.out', 3), 'created',
   'stream ORDERS with 3 replicas');

my $out = drv('sink', sink_conf(), 500, 50, 'replay');
like($out, qr/^load null$/m, 'load() answers no position');
like($out, qr/^done 500 fails 0$/m, 'every batch committed, twice');
is((msgs('ORDERS'))[0], 500, '500 records, 500 messages');

$out = drv('sink', sink_conf(), 500, 50);
like($out, qr/^done 500 fails 0$/m, 'the whole run committed again');
is((msgs('ORDERS'))[0], 500, 'still 500 messages: JetStream dropped the '
                             . 'repeats by Nats-Msg-Id');

# a stream the sink creates, 3 replicas
$out = drv('sink', sink_conf(stream => 'MADE', subject => 'made.out',
                             create => { replicas => 3,
                                         duplicate_window => 60000 }),
           20, 10);
like($out, qr/^done 20 fails 0$/m, 'the sink created its stream');
my ($n, $leader) = msgs('MADE');
is($n, 20, '20 messages in the created stream');

# ---- the sink: a node killed in the middle ---------------------------------

is(drv('stream', $S, 'KILL', 'kill.out', 3), 'created', 'stream KILL');

my $N = 3000;
my $pid = open(my $fh, '-|') // die "fork: $!";
if ($pid == 0) {
    open STDERR, '>>', "$TMP/drv.err";
    exec $D, 'sink', sink_conf(stream => 'KILL', subject => 'kill.out',
                               timeout => 2000), $N, 10
        or POSIX::_exit(127);
}
my ($killed, $done, $oks) = (undef, '', 0);
while (my $line = <$fh>) {
    $oks++ if $line =~ /^ok /;
    if ($oks == 30 && !defined $killed) {
        my (undef, $name) = msgs('KILL');
        $killed = $nats->index_of($name) // 0;
        $nats->kill($killed);
        note("killed the stream's leader $name (node $killed)");
    }
    chomp($done = $line) if $line =~ /^done /;
}
close $fh;
ok(defined $killed, 'a node was killed in the middle of the run');
like($done, qr/^done $N fails \d+$/, "every batch committed ($done)");
is((msgs('KILL'))[0], $N, "$N messages in the stream: each exactly once");

$nats->start_node($killed);
$nats->wait_ready($killed);

# ---- inbound: exactly once into Redis, across a kill -9 ---------------------

my $redis = Tollgate::Redis->start;
my $M = 1000;

is(drv('stream', $S, 'IN', 'in.>', 3), 'created', 'stream IN');
is(drv('publish', $S, 'in.orders', $M, 7), "published $M",
   "$M messages published, 7 keys");

my $conf = encode_json({ nats_in => \%in });
my %env = (TOLLGATE_TEST_PROC_NATS_REDIS => $redis->address,
           TOLLGATE_TEST_PROC_NATS_LISTEN => '127.0.0.1:0',
           TOLLGATE_TEST_PROC_NATS_REDIS_RETRY => '100ms');

sub run_in {
    my (@args) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $ENV{$_} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$TMP/in.log";
        open STDERR, '>&', \*STDOUT;
        exec $D, 'in', $conf, @args or POSIX::_exit(127);
    }
    return $pid;
}

sub topic_count {
    my $sum = 0;
    $sum += $redis->cli('XLEN', "gw:topic:orders:$_") for 0 .. 3;
    return $sum;
}

$pid = run_in(3);
waitpid $pid, 0;
is($? & 127, 9, 'the connector killed itself after its third script, '
                . 'before the acknowledgements');
my $first = topic_count();
my $pos = $redis->cli('HGET', 'gw:proc:nats-in:tg-in', 'seq');
ok($first > 0, "$first entries written before the crash");
is($first, $pos, 'the committed position is the number written');

$pid = run_in();
my $end = time + 60;
sleep 0.1 while topic_count() < $M && time < $end;
kill 'TERM', $pid;
waitpid $pid, 0;
is($?, 0, 'the restarted connector stopped cleanly');
is(topic_count(), $M, "$M entries in the topic: none lost, none twice");
is($redis->cli('HGET', 'gw:proc:nats-in:tg-in', 'seq'), $M,
   'the committed position is the last message');

# the script's own dedupe: without the overall position the connector
# reads the stream again from its start, and every message is at or
# below its partition's position
$redis->cli('HDEL', 'gw:proc:nats-in:tg-in', 'seq');
$pid = run_in();
$end = time + 60;
sleep 0.1 while ($redis->cli('HGET', 'gw:proc:nats-in:tg-in', 'seq') || 0)
                < $M && time < $end;
kill 'TERM', $pid;
waitpid $pid, 0;
is($redis->cli('HGET', 'gw:proc:nats-in:tg-in', 'seq'), $M,
   'the stream read again from its start');
is(topic_count(), $M, "still $M entries: the script skipped every one");

my (%seen, $order_ok, $part_ok);
($order_ok, $part_ok) = (1, 1);
for my $p (0 .. 3) {
    my @lines = split /\n/, $redis->cli('XRANGE', "gw:topic:orders:$p",
                                        '-', '+');
    my %last;
    for my $i (0 .. $#lines) {
        next unless $lines[$i] eq 'data';
        my $d = decode_json($lines[$i + 1]);
        $seen{ $d->{n} }++;
        $part_ok = 0 unless crc32($d->{customer}) % 4 == $p
                            && $lines[$i + 3] eq $d->{customer};
        $order_ok = 0 if exists $last{ $d->{customer} }
                         && $last{ $d->{customer} } >= $d->{n};
        $last{ $d->{customer} } = $d->{n};
    }
}
is(scalar(grep { $seen{$_} == 1 } 0 .. $M - 1), $M,
   'every message exactly once');
ok($part_ok, "each entry in its key's partition (crc32 mod 4), key field "
             . 'set');
ok($order_ok, 'per-key order kept within each partition');

my @warn = grep { /"level":"(error|fatal)"/ } do {
    open my $l, '<', "$TMP/in.log" or die; <$l>
};
is(scalar @warn, 0, 'no error logged by the connector') or diag(@warn);

done_testing();
