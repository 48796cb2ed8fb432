# The reporting service's queue and graceful stop (docs/reporting.md,
# "How a run runs"): past due_max a run is 503 busy; on SIGTERM the run
# in flight ends (here at its time cap) and its final state is written
# before the process exits; a run still queued stays queued in Redis
# (gw:rp:due) and another instance runs it; past drain_timeout a run in
# flight is given back to the queue; the exit is clean.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep);

use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite("CREATE TABLE t (a INTEGER);\n");
my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db, WORKERS => 1,
                                    QUEUE_MAX => 1, DUE_MAX => 2,
                                    MAX_SECONDS => '4s' });

Reporting::define($redis, 'slow', {
    title => 'slow',
    query => 'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1'
             . ' FROM s) SELECT i FROM s WHERE i < 0',
    columns => [ { name => 'i', type => 'integer' } ] });

my (undef, $a) = Reporting::run($svc, 'slow', { format => 'csv' });
like $a->{run}, qr/^[0-9a-f]{32}$/, 'a run';
ok Reporting::eventually(sub {
    (Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$a->{run}", 'status')
     // '') eq 'running'
}), 'in flight: the worker took it from the queue';

my (undef, $b) = Reporting::run($svc, 'slow', { format => 'csv' });
like $b->{run}, qr/^[0-9a-f]{32}$/, 'and one queued behind it';

my ($s3, $c) = Reporting::run($svc, 'slow', { format => 'csv' });
is $s3, 503, 'past due_max: 503';
is $c->{type}, 'urn:tollgate:problem:busy', 'busy';

sleep 0.3;

is Reporting::stop($svc), 0, 'SIGTERM: a clean exit';

my %st = map { $_ => Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$_",
                                    'code') }
             $a->{run}, $b->{run};
is $st{ $a->{run} }, "time-cap", "the run in flight ended and said why"
    or diag explain Reporting::cmd($redis->port, "HGETALL", "gw:rp:run:$a->{run}");
is $st{ $b->{run} }, undef, 'the queued run did not fail';
is Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$b->{run}", 'status'),
    'queued', 'it is still queued';
ok defined Reporting::cmd($redis->port, 'ZSCORE', 'gw:rp:due', $b->{run}),
    'in the durable queue';
ok !defined Reporting::cmd($redis->port, 'ZSCORE', 'gw:rp:due', $a->{run}),
    'the ended run is out of it';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';

# another instance takes the queued run: it runs (to its time cap)
my $svc2 = Reporting::start(env => { REDIS => $redis->address,
                                     SQLITE => $db, WORKERS => 1,
                                     MAX_SECONDS => '1s',
                                     DRAIN_TIMEOUT => '300ms' });
ok Reporting::eventually(sub {
    (Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$b->{run}", 'code')
     // '') eq 'time-cap'
}, 20), 'the queued run ran on the next instance';
is Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$b->{run}", 'attempts'),
    1, 'one attempt counted: the stop gave it back';

# past drain_timeout a run in flight is cut short and given back
Reporting::define($redis, 'slower', {
    title => 'slower',
    query => 'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1'
             . ' FROM s) SELECT i FROM s WHERE i < 0',
    columns => [ { name => 'i', type => 'integer' } ] });
Reporting::stop($svc2);
my $svc3 = Reporting::start(env => { REDIS => $redis->address,
                                     SQLITE => $db, WORKERS => 1,
                                     MAX_SECONDS => '30s',
                                     DRAIN_TIMEOUT => '300ms' });
my (undef, $d) = Reporting::run($svc3, 'slower', { format => 'csv' });
ok Reporting::eventually(sub {
    (Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$d->{run}", 'status')
     // '') eq 'running'
}), 'a long run in flight';
is Reporting::stop($svc3), 0, 'SIGTERM: a clean exit past drain_timeout';
is Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$d->{run}", 'status'),
    'queued', 'the run cut short is queued again';
ok defined Reporting::cmd($redis->port, 'ZSCORE', 'gw:rp:due', $d->{run}),
    'in the durable queue';
is_deeply [ Reporting::errors($svc3) ], [], 'nothing logged at error';

done_testing;
