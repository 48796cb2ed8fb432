# The reporting service loses no accepted run (docs/reporting.md, "The
# durable queue"): two instances on one Redis and one SQLite file, a
# report made slow on purpose (a recursive CTE over 6,000,000 rows that
# keeps 20); runs started on instance A, A killed with SIGKILL while they
# run: every accepted run ends "done" on instance B once its lease ran
# out, and its download holds all the rows.  Then one instance alone: a
# run still queued when it stops (SIGTERM) runs after its restart.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use Reporting;
use Service;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite("CREATE TABLE t (a INTEGER);\n");
my $redis = Tollgate::Redis->start;

Reporting::define($redis, 'slow', {
    title => 'slow',
    query => 'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1'
             . ' FROM s WHERE i < 6000000) SELECT i FROM s'
             . ' WHERE i % 300000 = 0',
    columns => [ { name => 'i', type => 'integer' } ] });
Reporting::define($redis, 'quick', {
    title => 'quick',
    query => 'SELECT 7 AS i',
    columns => [ { name => 'i', type => 'integer' } ] });

my %env = (REDIS => $redis->address, SQLITE => $db, WORKERS => 2,
           QUEUE_MAX => 4, LEASE => '1s', MAX_SECONDS => '120s');

my $a = Reporting::start(env => { %env });
my $b = Reporting::start(env => { %env, SPOOL => $a->{spool} });

my @runs;
for (1 .. 5) {
    my ($s, $r) = Reporting::run($a, 'slow', { format => 'csv' });
    is $s, 202, "run $_ accepted";
    push @runs, $r->{run};
}

for my $run (@runs) {
    ok defined Reporting::cmd($redis->port, 'ZSCORE', 'gw:rp:due', $run),
        'accepted: in the durable queue';
}

ok Reporting::eventually(sub {
    2 == grep {
        (Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$_", 'status')
         // '') eq 'running'
    } @runs[0 .. 1]
}), 'two runs in flight on A';

Service::kill9($a);
my $killed = time;

my %end;
ok Reporting::eventually(sub {
    for my $run (@runs) {
        my $st = Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$run",
                                'status') // '';
        $end{$run} = $st if $st =~ /^(done|failed)$/;
    }
    return keys %end == @runs;
}, 60), 'every accepted run ended on B';

diag sprintf 'all ended %.1f s after the kill', time - $killed;

for my $run (@runs) {
    my $h = Reporting::wait_run($b, 'slow', $run);
    is $h->{status}, 'done', "$run: done"
        or diag explain $h;
    my ($ds, $body) = Reporting::download($b, $h->{download} // '/none');
    is $ds, 200, 'its download works';
    my @lines = grep { /\S/ } split /\r?\n/, $body;
    is scalar @lines, 21, 'a header and the 20 rows';
    is $lines[-1], '6000000', 'to the last row';
    cmp_ok Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$run",
                          'attempts'), '<=', 3, 'within the attempts';
}

is Reporting::cmd($redis->port, 'ZCARD', 'gw:rp:due'), 0,
    'the queue is empty';
my @parts = glob "$a->{spool}/*.part";
for my $part (@parts) {
    my ($run) = $part =~ m{/([0-9a-f]{32})\.};
    ok -e "$a->{spool}/$run.csv", 'a dead run\'s half file is not served:'
                                  . ' the whole one is beside it';
}

# a run interrupted as often as "attempts" allows fails, for good
my $z = 'f' x 32;
Reporting::cmd($redis->port, 'HSET', "gw:rp:run:$z", 'report', 'slow',
               'owner', 'c1', 'format', 'csv', 'params', '{}',
               'status', 'running', 'attempts', 3);
Reporting::cmd($redis->port, 'ZADD', 'gw:rp:due', 0, $z);
my $hz = Reporting::wait_run($b, 'slow', $z);
is $hz->{status}, 'failed', 'interrupted 3 times: failed';
is $hz->{error}{code}, 'interrupted', 'as interrupted';
is $hz->{error}{detail}, 'the run was interrupted 3 times', 'and says so';
is Reporting::cmd($redis->port, 'ZCARD', 'gw:rp:due'), 0,
    'and is out of the queue';

is Reporting::stop($b), 0, 'B stops cleanly';
is_deeply [ Reporting::errors($b) ], [], 'nothing logged at error on B';

# one instance: a run queued when it stops runs after its restart
my $c = Reporting::start(env => { %env, WORKERS => 1, QUEUE_MAX => 1 });
my (undef, $x) = Reporting::run($c, 'slow', { format => 'csv' });
my ($sy, $y) = Reporting::run($c, 'quick', { format => 'csv' });
is $sy, 202, 'a second run accepted behind the first';
ok Reporting::eventually(sub {
    (Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$x->{run}", 'status')
     // '') eq 'running'
}), 'the first in flight';
is Reporting::stop($c), 0, 'SIGTERM: a clean exit';
is Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$x->{run}", 'status'),
    'done', 'the run in flight finished before the exit';
is Reporting::cmd($redis->port, 'HGET', "gw:rp:run:$y->{run}", 'status'),
    'queued', 'the other is still queued';

my $d = Reporting::start(env => { %env, SPOOL => $c->{spool} });
my $h = Reporting::wait_run($d, 'quick', $y->{run});
is $h->{status}, 'done', 'it ran after the restart';
my ($ds, $body) = Reporting::download($d, $h->{download} // '/none');
is $ds, 200, 'its download works';
like $body, qr/^i\r?\n7\r?\n?$/, 'with its row';

is Reporting::stop($d), 0, 'a clean exit';
is_deeply [ Reporting::errors($c), Reporting::errors($d) ], [],
    'nothing logged at error';

done_testing;
