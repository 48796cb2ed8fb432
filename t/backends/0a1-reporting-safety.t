# The reporting service's safety (docs/reporting.md, "Safety"): values
# sent as parameters are bound, never spliced (injection attempts find
# nothing and change nothing); a query that writes, attaches or sets a
# pragma fails at run time, the store unchanged; more than one statement
# is refused; the row, time and size caps fail the run with a clear
# reason and leave no file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE t (consumer TEXT, name TEXT, n INTEGER);
INSERT INTO t VALUES ('c1', 'a', 1), ('c1', 'b', 2), ('c2', 'z', 26);
CREATE TABLE x (a INTEGER);
INSERT INTO x VALUES (1), (2), (3);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                        WHERE i < 50)
INSERT INTO t SELECT 'big', 'r' || i, i FROM s;
SQL

my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db, MAX_ROWS => 20,
                                    PDF_MAX_ROWS => 5,
                                    MAX_SECONDS => '1s',
                                    MAX_BYTES => '2k' });

my @cols = ({ name => 'name', type => 'text' },
            { name => 'n', type => 'integer' });

sub define {
    my ($id, $query, %more) = @_;
    Reporting::define($redis, $id, { title => $id, query => $query,
                                     columns => \@cols,
                                     tenant_param => 'tenant', %more });
}

my @failed;

sub run_csv {
    my ($id, $params, %o) = @_;
    my ($s, $b) = Reporting::run($svc, $id, { format => 'csv',
                                              params => $params || {} },
                                 wait => 20, %o);
    push @failed, $b->{run} if ref $b && ($b->{status} // '') eq 'failed';
    return $b;
}

sub files { opendir my $d, $svc->{spool}; grep { !/^\./ } readdir $d }

# ---- injection through parameters ----------------------------------------

define('byname', 'SELECT name, n FROM t WHERE consumer = :tenant'
                 . ' AND name = :name',
       params => { name => { type => 'string', required => JSON::PP::true } });

for my $attempt ("a' OR '1'='1", '1 OR 1=1', "'; DROP TABLE x; --",
                 'a" OR ""="', "a%' --")
{
    my $b = run_csv('byname', { name => $attempt });
    is $b->{status}, 'done', "the value is bound: " . quotemeta $attempt;
    is $b->{rows}, 0, '... and matches no row';
}

is Reporting::sqlite_query($db, 'SELECT count(*) FROM x'), 3,
   'table x is still there, whole';

my ($s0) = Reporting::run($svc, 'byname',
                          '{"format": "csv", "params": {"name": "a\\u0000"}}');
is $s0, 400, 'a NUL byte in a value is refused (400)';

my $b = run_csv('byname', { name => 'a' });
is $b->{rows}, 1, 'a real name matches its row';

define('numeric', 'SELECT name, n FROM t WHERE consumer = :tenant'
                  . ' AND n = :n',
       params => { n => { type => 'integer' } });
my ($s, $p) = Reporting::run($svc, 'numeric',
                             { format => 'csv',
                               params => { n => '1 OR 1=1' } });
is $s, 422, 'a string for an integer parameter is 422';

# ---- queries that write ----------------------------------------------------

my %writes = (
    insert  => "INSERT INTO x VALUES (9) RETURNING a AS name, a AS n",
    delete  => "DELETE FROM x RETURNING a AS name, a AS n",
    attach  => "ATTACH DATABASE '$db.other' AS o",
    pragma  => "PRAGMA query_only = 0",
    wal     => "PRAGMA journal_mode = delete",
    create  => "CREATE TABLE y AS SELECT name, n FROM t",
    two     => "SELECT name, n FROM t WHERE consumer = :tenant;"
               . " DELETE FROM x",
    vacuum  => "VACUUM",
);

for my $k (sort keys %writes) {
    define("w_$k", $writes{$k});
    my $r = run_csv("w_$k");
    is $r->{status}, 'failed', "a query that writes fails: $k";
    is $r->{error}{code}, 'query-refused', '... refused'
        or diag explain $r;
}

is Reporting::sqlite_query($db, 'SELECT count(*) FROM x'), 3,
   'table x is unchanged';
ok !-e "$db.other", 'no file was attached or made';
is Reporting::sqlite_query($db, "SELECT count(*) FROM sqlite_master"
                                . " WHERE name = 'y'"), 0,
   'no table was made';

define('noname', 'SELECT name, n FROM t WHERE n = ?');
$b = run_csv('noname');
is $b->{error}{code}, 'query-refused', 'a positional parameter is refused';

define('undeclared', 'SELECT name, n FROM t WHERE n = :other');
$b = run_csv('undeclared');
like $b->{error}{detail}, qr/undeclared parameter "other"/,
     'an undeclared parameter is refused, named';

define('nocol', 'SELECT name FROM t');
$b = run_csv('nocol');
like $b->{error}{detail}, qr/no column "n"/, 'a missing column is named';

# ---- caps ------------------------------------------------------------------

define('many', "SELECT name, n FROM t WHERE consumer = 'big'");
$b = run_csv('many');
is $b->{status}, 'failed', 'past max_rows the run fails';
is $b->{error}{code}, 'row-cap', 'row-cap';
is $b->{error}{type}, 'urn:tollgate:problem:row-cap',
   'the error is a problem: its type';
like $b->{error}{title}, qr/too many rows/, 'its title';
like $b->{error}{detail}, qr/more than 20 rows/, 'saying the cap';

define('slow', 'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1'
               . ' FROM s) SELECT i AS name, i AS n FROM s'
               . ' WHERE i < 0');
$b = run_csv('slow');
is $b->{status}, 'failed', 'past max_seconds the run fails';
is $b->{error}{code}, 'time-cap', 'time-cap';

define('wide', "SELECT hex(zeroblob(400)) AS name, n FROM t"
               . " WHERE consumer = 'big' AND n <= 10");
$b = run_csv('wide');
is $b->{error}{code}, 'size-cap', 'past max_bytes the run fails: size-cap';

# a PDF has a smaller cap of its own (pdf_max_rows); CSV does not
define('pdfcap', "SELECT name, n FROM t WHERE consumer = 'big' AND n <= 6",
       formats => [ 'csv', 'pdf' ]);
(undef, $b) = Reporting::run($svc, 'pdfcap', { format => 'pdf' }, wait => 20);
is $b->{error}{code}, 'row-cap', 'past pdf_max_rows a PDF run fails';
like $b->{error}{detail}, qr/at most 5 rows \(pdf_max_rows\)/,
     'saying the PDF cap';
$b = run_csv('pdfcap');
is $b->{status}, 'done', 'the same report as CSV is done';
is $b->{rows}, 6, 'with its 6 rows';

my %left = map { $_ => 1 } files();
is_deeply [ grep { $left{"$_.csv"} } @failed ], [],
          'a failed run leaves no file (' . scalar(@failed) . ' runs)';
ok scalar(keys %left) >= 5, 'the whole reports are kept';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';

done_testing;
