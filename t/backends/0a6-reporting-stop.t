# The reporting service's queue and graceful stop (docs/reporting.md,
# "How a run runs"): past queue_max a run is 503 busy; on SIGTERM the run
# in flight ends (here at its time cap) and its final state is written
# before the process exits; a run still queued fails as "stopped"; the
# exit is clean.

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
                                    QUEUE_MAX => 1,
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
is $s3, 503, 'past queue_max: 503';
is $c->{type}, 'urn:tollgate:problem:busy', 'busy';

sleep 0.3;

is Reporting::stop($svc), 0, 'SIGTERM: a clean exit';

my %st = map { $_ => Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$_",
                                    'code') }
             $a->{run}, $b->{run};
is $st{ $a->{run} }, "time-cap", "the run in flight ended and said why"
    or diag explain Reporting::cmd($redis->port, "HGETALL", "gw:rp:run:$a->{run}");
is $st{ $b->{run} }, 'stopped', 'the queued run failed as stopped';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';

done_testing;
