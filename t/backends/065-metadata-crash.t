# kill -9 of the metadata service mid-write (docs/admin-api.md, "Storage
# and crash safety").  The service keeps nothing of its own: a change is
# one run of the commit script, which Redis applies whole or not at all.
# Four clients create, update and delete entities of their own while
# the service is killed with SIGKILL, twice, and started again; each
# client remembers what was acknowledged.  Then:
#   - every acknowledged write is there with its revision and its change
#     log entry, every acknowledged delete has its log entry;
#   - no entity hash without its log entry (its v is a logged change of
#     it, the last one), none half written (every field, a doc with its
#     id), the index and the hashes agree;
#   - gw:md:rev is the highest revision in the log, every revision from
#     1 to it is logged whole, each change has its audit event.
# Counts are of what was offered and observed, never of how fast.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Handle;
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();

my $redis = Tollgate::Redis->start;
my $port = Metadata::free_port();

sub start { Metadata::start(redis => $redis->address, port => $port) }

my $svc = start();
my $acks = Metadata::tmp() . '/acks';

# a client: its own 8 entities, created, updated and now and then
# deleted; "put ID VERSION" / "del ID VERSION_BEFORE" once acknowledged
sub client {
    my ($w) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    open my $out, '>>', $acks or die;
    $out->autoflush(1);
    my %v;
    my $n = 0;
    while (1) {
        my $id = "w$w-" . ($n++ % 8);
        my $url = "/v1/upstreams/$id";
        my ($s, $j);
        if (!defined $v{$id}) {
            ($s, $j) = eval { Metadata::call($svc, 'GET', $url) };
            $s //= 0;
            $v{$id} = $j->{version} if $s == 200;
            $v{$id} = 0 if $s == 404;
            sleep 0.02 unless defined $v{$id};
            next;
        }
        if ($v{$id} && $n % 5 == 0) {
            ($s) = eval { Metadata::call($svc, 'DELETE', $url, undef,
                                         'If-Match' => qq("$v{$id}")) };
            if (($s // 0) == 204) {
                print {$out} "del $id $v{$id}\n";
                $v{$id} = 0;
                next;
            }
        } else {
            ($s, $j) = eval { Metadata::call($svc, 'PUT', $url,
                { targets => [{ address => "10.0.0.1:" . (1000 + $n % 60000) }],
                  tags => ["n-$n"] },
                $v{$id} ? ('If-Match' => qq("$v{$id}"))
                        : ('If-None-Match' => '*')) };
            if (($s // 0) == 200 || ($s // 0) == 201) {
                print {$out} "put $id $j->{version}\n";
                $v{$id} = $j->{version};
                next;
            }
        }
        # refused or unanswered: read the entity again before going on
        delete $v{$id};
        sleep 0.02;
    }
}

sub acked {
    open my $in, '<', $acks or return 0;
    my @l = <$in>;
    return scalar @l;
}

my @clients = map { client($_) } 1 .. 4;

for my $round (1 .. 2) {
    my $deadline = time + 60;
    sleep 0.1 while acked() < 150 * $round && time < $deadline;
    is(Metadata::kill9($svc) & 127, 9, "round $round: the service killed");
    $svc = start();
}
my $deadline = time + 60;
sleep 0.1 while acked() < 400 && time < $deadline;

kill 'KILL', @clients;
waitpid $_, 0 for @clients;

# ---- what Redis holds -----------------------------------------------------

my @log = Metadata::md_log($redis);
my (%entry, %revs);
for my $e (@log) {
    $entry{"$e->{id} $e->{va}"} = $e if $e->{va};
    $entry{"$e->{id} del $e->{vb}"} = $e unless $e->{va};
    push @{ $revs{$e->{rev}} }, $e;
}

my (%put, %del);
open my $in, '<', $acks or die;
while (<$in>) {
    my ($what, $id, $v) = split;
    next unless defined $v;
    ($what eq 'put' ? \%put : \%del)->{"$id $v"} = 1;
}
cmp_ok(scalar keys %put, '>=', 300, 'writes acknowledged: '
       . scalar keys %put);
cmp_ok(scalar keys %del, '>=', 20, 'deletes acknowledged: '
       . scalar keys %del);

my @lost = grep { !$entry{$_} } keys %put;
is(scalar @lost, 0, 'every acknowledged write has its log entry')
    or diag "@lost[0 .. ($#lost < 9 ? $#lost : 9)]";
my @dlost = grep { my ($id, $v) = split; !$entry{"$id del $v"} } keys %del;
is(scalar @dlost, 0, 'every acknowledged delete has its log entry');

my $rev = $redis->cli('GET', 'gw:md:rev');
my ($max) = sort { $b <=> $a } keys %revs;
is($rev, $max, 'gw:md:rev is the highest revision in the log');
my @gaps = grep { !$revs{$_} || @{ $revs{$_} } != $revs{$_}[0]{n} }
           1 .. $rev;
is(scalar @gaps, 0, "revisions 1 to $rev each logged whole");

# every entity: whole, with its last change logged
my %last;
$last{$_->{id}} = $_ for @log;
my @keys = grep { length } split /\n/, $redis->cli('KEYS', 'gw:md:e:*');
my ($half, $unlogged) = (0, 0);
for my $k (@keys) {
    my ($type, $id) = $k =~ /^gw:md:e:([^:]+):(.+)$/;
    my $h = Metadata::entity($redis, $type, $id);
    my $doc = eval { JSON::PP::decode_json($h->{doc} // '') };
    $half++ unless $h->{v} && $doc && $doc->{id} eq $id
                   && exists $h->{refs} && exists $h->{match};
    $unlogged++ unless $last{$id} && $last{$id}{va} == ($h->{v} // -1)
                       && $last{$id}{after} eq ($h->{doc} // '');
}
is($half, 0, 'no half-written entity (' . scalar(@keys) . ' entities)');
is($unlogged, 0, 'each entity is its last logged change');
my @deleted = grep { $last{$_}{va} == 0 } keys %last;
is(scalar(grep { Metadata::entity($redis, 'upstreams', $_) } @deleted), 0,
   'no entity whose last logged change deleted it');
my @ix = grep { length } split /\n/, $redis->cli('ZRANGE',
                                                 'gw:md:ix:upstreams', 0, -1);
is_deeply([sort @ix], [sort map { /:([^:]+)$/ } @keys],
          'the index holds exactly the entities');

my %events = map { $_->{id} => 1 } Metadata::audit_events($redis);
my @noaudit = grep { !$events{"metadata-$_->{entry}"} } @log;
is(scalar @noaudit, 0, 'each change has its audit event');

# the service answers as before
my ($st, $json) = Metadata::call($svc, 'GET', '/v1/upstreams?limit=100');
is($st, 200, 'the list after the restarts');
is(scalar @{ $json->{items} }, scalar @keys, 'every entity listed');

my @err = grep { ($_->{level} // '') eq 'error' } Metadata::log_lines($svc);
is(scalar @err, 0, 'nothing at error after the restart');

Metadata::stop($svc);
done_testing();
