# The metadata service's changes in the audit trail, end to end: every
# create, update and delete through the admin API becomes one record of
# the real audit service (backends/audit), read from gw:audit by its
# consumer group, with the actor, the action, the resource, the request
# id, the revision, the versions and the diff; none is dead-lettered; a
# declarative apply is one record per entity, all of one revision; no
# secret reaches the trail.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);

use Audit;
use Metadata;
use Tollgate::Redis;

plan skip_all => 'the audit or metadata service is not built (make backends)'
    unless -x Audit::binary() && -x Metadata::binary();

my $redis = Tollgate::Redis->start;
my ($key) = Audit::keygen('audit.test/log');
my $dir = tempdir(DIR => Audit::tmp()) . '/data';

my $audit = Audit::start(dir => $dir, key => $key,
                         env => { REDIS => $redis->address,
                                  FSYNC_INTERVAL => '2ms' });
my $md = Metadata::start(redis => $redis->address);

# ---- create, update, delete ---------------------------------------------

my ($st, $b, $r) = Metadata::call($md, 'PUT', '/v1/upstreams/u1',
    { targets => [ { address => '10.0.0.1:8080', weight => 10 } ] },
    'If-None-Match' => '*', 'X-Request-ID' => 'req-create-1');
is($st, 201, 'upstream created');
my $v1 = $b->{version};

($st, $b, $r) = Metadata::call($md, 'PATCH', '/v1/upstreams/u1',
    { tags => ['blue'] }, 'If-Match' => qq{"$v1"},
    'Content-Type' => 'application/merge-patch+json',
    'X-Request-ID' => 'req-update-1');
is($st, 200, 'upstream patched');
my $v2 = $b->{version};

($st) = Metadata::call($md, 'DELETE', '/v1/upstreams/u1', undef,
                       'If-Match' => qq{"$v2"},
                       'X-Request-ID' => 'req-delete-1');
is($st, 204, 'upstream deleted');

# ---- a key: its secret never in the trail --------------------------------

($st, $b) = Metadata::call($md, 'PUT', '/v1/consumers/c1', { name => 'C1' },
                           'If-None-Match' => '*');
is($st, 201, 'consumer created');
($st, $b) = Metadata::call($md, 'POST', '/v1/keys', { consumer => 'c1' });
is($st, 201, 'key created');
my $secret = $b->{secret};
ok(defined $secret && length $secret > 20, 'the secret, once');

# ---- a declarative apply: one revision, one record per entity -----------

my (undef, $snap) = Metadata::call($md, 'GET', '/v1/snapshot', undef);
($st, $b) = Metadata::call($md, 'PUT', '/v1/config',
    { expected_revision => $snap->{revision},
      entities => { upstreams => [
          map { { id => "a$_", targets => [ { address => "10.0.1.$_:80",
                                              weight => 1 } ] } } 1 .. 3 ] } });
is($st, 200, 'apply of 3 upstreams');
my $apply_rev = $b->{revision};

# ---- the trail -------------------------------------------------------------

my @recs;
Metadata::wait_for(sub {
    @recs = grep { ($_->{source} // '') eq 'metadata' }
            Audit::all_records($audit);
    @recs >= 8;
}, 30);

my @md = @recs;
is(scalar @md, 8, 'eight metadata records in the audit log');

my %by_rid = map { ($_->{request_id} // '') => $_ } @md;

my $c = $by_rid{'req-create-1'};
ok($c, 'the create is there, by its request id');
is($c->{action}, 'create', 'create: action');
is($c->{actor}, 'tester', 'create: the actor');
is($c->{resource}, '/v1/upstreams/u1', 'create: the resource');
is($c->{version_before}, 0, 'create: no version before');
is($c->{version_after}, $v1, 'create: the version after');
is($c->{revision}, $v1, 'create: the revision');
is(ref $c->{diff}, 'ARRAY', 'create: a JSON Patch');

my $u = $by_rid{'req-update-1'};
is($u->{action}, 'update', 'update: action');
is($u->{version_before}, $v1, 'update: the version before');
is($u->{version_after}, $v2, 'update: the version after');
ok((grep { $_->{path} eq '/tags' && $_->{op} eq 'add' } @{ $u->{diff} }),
   'update: the diff adds /tags');

my $d = $by_rid{'req-delete-1'};
is($d->{action}, 'delete', 'delete: action');
is($d->{version_before}, $v2, 'delete: the version before');
is($d->{version_after}, 0, 'delete: nothing after');

my @applied = grep { ($_->{revision} // -1) == $apply_rev } @md;
is(scalar @applied, 3, 'the apply: three records of one revision');
is_deeply([ sort map { $_->{resource} } @applied ],
          [ map { "/v1/upstreams/a$_" } 1 .. 3 ], 'the apply: each upstream');

my $all = join "\n", map { Metadata::json()->encode($_) } @md;
unlike($all, qr/\Q$secret\E/, 'the key secret is nowhere in the trail');

my $dead = Audit::resp_cmd($redis->port, 'XLEN', 'gw:audit:dead');
is($dead, 0, 'nothing dead-lettered');

for my $svc ([ 'metadata', $md ], [ 'audit', $audit ]) {
    my @bad = grep { ($_->{level} // '') eq 'error' }
              ($svc->[0] eq 'metadata' ? Metadata::log_lines($svc->[1])
                                        : Audit::log_lines($svc->[1]));
    is(scalar @bad, 0, "$svc->[0]: nothing logged at error");
}

Metadata::stop($md);
Audit::stop($audit);

done_testing;
