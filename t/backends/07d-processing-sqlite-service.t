# The SQLite sink in the service itself (t/backends/075-processing-sql.t
# drives the sinks without it): a pipeline with a sqlite sink passes
# `processing -t`, and the service starts on it and writes every event's
# row, once.  The first load of the pipelines happens before the
# service's loop exists; the sink must not need the loop then.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();
plan skip_all => 'sqlite3 (the command) is missing'
    unless grep { -x "$_/sqlite3" } split /:/, $ENV{PATH};

my $db = Processing::tmp() . '/service.db';
my $dir = Processing::pipelines({
    name => 'lite',
    source => { topic => 'lite', partitions => 2 },
    steps => [ { type => 'map',
                 lua => 'return function (rec, ctx) '
                        . 'return {k = ctx.key, n = rec.n} end' } ],
    sinks => [ { type => 'sqlite', path => $db, table => 'rows',
                 create => JSON::PP::true(),
                 columns => { k => '/k', n => '/n' }, key => ['n'],
                 types => { k => 'text', n => 'integer' } } ],
});

my ($out, $rc) = Processing::run(env => { PIPELINES => $dir },
                                 args => ['-t']);
is($rc, 0, 'processing -t accepts a pipeline with a sqlite sink')
    or diag($out);

my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $svc = Processing::start(env => { REDIS => $redis->address,
                                     PIPELINES => $dir, INSTANCE => 'l1' });

Processing::publish($port, 'lite', 2,
                    map { [ "k" . ($_ % 7), { n => $_ } ] } 1 .. 500);

sub rows {
    my $r = `sqlite3 '$db' 'SELECT count(*), count(DISTINCT n) FROM rows' 2>/dev/null`;
    chomp $r;
    return $r;
}

ok(Processing::eventually(sub { rows() eq '500|500' }, 30),
   'the service wrote 500 rows, one per event')
    or diag('rows: ' . rows());
is(Processing::stop($svc), 0, 'stopped gracefully');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
