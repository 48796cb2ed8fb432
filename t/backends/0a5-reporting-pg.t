# The reporting service over PostgreSQL (docs/reporting.md, "Safety"): a
# private cluster (Tollgate::Pg); a report's rows per tenant, its
# parameters bound ($n for :name, outside quotes; "::" casts kept),
# injection attempts matching nothing, a write refused by the read-only
# transaction, two statements refused, statement_timeout as the time
# cap.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Reporting;
use Tollgate::Pg;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
if (my $why = Tollgate::Pg->missing) {
    plan skip_all => $why;
}

my $pg = Tollgate::Pg->start;

sub psql {
    my ($sql) = @_;
    my $ci = $pg->conninfo;
    my $out = `psql -X -q -A -t -v ON_ERROR_STOP=1 "$ci" -c "$sql" 2>&1`;
    chomp $out;
    return $out;
}

psql("CREATE TABLE t (consumer text, name text, n bigint,"
     . " at timestamptz, ok boolean)");
psql("INSERT INTO t VALUES ('c1', 'alpha', 1, '2026-12-01 10:00:00+00', true),"
     . " ('c1', 'beta', 2, '2026-12-02 10:00:00+00', false),"
     . " ('c2', 'zed', 26, '2026-12-03 10:00:00+00', true)");
is psql('SELECT count(*) FROM t'), 3, 'the table is ready';

my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    PG_REPLICA => $pg->conninfo,
                                    MAX_SECONDS => '1s' });

my @cols = ({ name => 'name' }, { name => 'n', type => 'integer' },
            { name => 'at', type => 'datetime' },
            { name => 'ok', type => 'boolean' });

sub define {
    my ($id, $query, %more) = @_;
    Reporting::define($redis, $id, { title => $id, query => $query,
                                     columns => \@cols,
                                     tenant_param => 'tenant',
                                     formats => [ 'json', 'csv' ],
                                     %more });
}

sub run {
    my ($id, $params, %o) = @_;
    my ($s, $b) = Reporting::run($svc, $id, { format => 'json',
                                              params => $params || {} },
                                 wait => 20, %o);
    return $b;
}

define('rows', "SELECT name, n::bigint AS n, at, ok FROM t"
               . " WHERE consumer = :tenant AND name <> ':tenant'"
               . " AND n >= :min ORDER BY n",
       params => { min => { type => 'integer', default => 0 } });

my $b = run('rows');
is $b->{status}, 'done', 'a run over PostgreSQL' or diag explain $b;
is $b->{rows}, 2, "c1's rows";
my ($s, $body) = Reporting::download($svc, $b->{download});
my $rows = eval { $Reporting::JSON->decode($body) } || [];
is_deeply [ map { $_->{name} } @$rows ], [ 'alpha', 'beta' ], 'in order';
is $rows->[0]{n}, 1, 'a bigint is a number';

$b = run('rows', { min => 2 });
is $b->{rows}, 1, 'a bound parameter filters';
$b = run('rows', {}, consumer => 'c2');
is $b->{rows}, 1, 'c2 sees its one row';

define('byname', 'SELECT name, n, at, ok FROM t WHERE consumer = :tenant'
                 . ' AND name = :name',
       params => { name => { type => 'string' } });
for my $attempt ("alpha' OR '1'='1", "'; DROP TABLE t; --", '1 OR 1=1') {
    $b = run('byname', { name => $attempt });
    is $b->{rows}, 0, 'bound, matches nothing: ' . quotemeta $attempt;
}
is psql('SELECT count(*) FROM t'), 3, 'table t is still there, whole';

define('write', "INSERT INTO t VALUES ('x', 'x', 0, now(), true)"
                . " RETURNING name, n, at, ok");
$b = run('write');
is $b->{error}{code}, 'query-refused', 'a write fails in the read-only '
   . 'transaction' or diag explain $b;
define('two', "SELECT name, n, at, ok FROM t; DELETE FROM t");
$b = run('two');
is $b->{status}, 'failed', 'two statements fail';
is psql('SELECT count(*) FROM t'), 3, 'nothing was written';

define('slow', "SELECT name, n, at, ok FROM t, pg_sleep(3)");
$b = run('slow');
is $b->{error}{code}, 'time-cap', 'statement_timeout is the time cap'
    or diag explain $b;

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';

done_testing;
