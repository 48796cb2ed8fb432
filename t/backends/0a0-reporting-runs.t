# The reporting service's runs (backends/reporting, docs/reporting.md):
# a report over a SQLite store run as CSV and JSON, at once with ?wait=
# and followed with GET; the download link signed, expiring, refused
# when tampered with; the caller's scope and tenant; bad requests
# answered by problem+json.

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

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE per_consumer (consumer TEXT, day TEXT, n INTEGER,
                           amount REAL);
INSERT INTO per_consumer VALUES ('c1', '2026-12-01', 10, 1.5),
                                ('c1', '2026-12-02', 20, 2.25),
                                ('c2', '2026-12-01', 99, 100.0);
CREATE TABLE x (a INTEGER);
INSERT INTO x VALUES (1);
SQL

my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db, LINK_TTL => '3s',
                                    SWEEP_EVERY => '1s' });

my @cols = ({ name => 'day', title => 'Day', type => 'date' },
            { name => 'n', title => 'Requests', type => 'integer' },
            { name => 'amount', title => 'Amount', type => 'currency',
              currency => 'EUR' });

Reporting::define($redis, 'usage', {
    title => 'Usage per day',
    query => 'SELECT day, n, amount FROM per_consumer'
             . ' WHERE consumer = :tenant AND n >= :min ORDER BY day',
    params => { min => { type => 'integer', default => 0 } },
    tenant_param => 'tenant',
    columns => \@cols,
    formats => [ 'csv', 'json', 'ndjson' ] });

# ---- a run as CSV, answered at once with ?wait= --------------------------

my ($s, $b, $h) = Reporting::run($svc, 'usage', { format => 'csv' },
                                 wait => 10);
is $s, 200, 'POST ?wait= answers 200 once the run is done'
    or diag explain $b;
is $b->{status}, 'done', 'done';
is $b->{rows}, 2, 'c1 has two rows';
like $h->{location}, qr{^/v1/reports/usage/runs/[0-9a-f]{32}$},
     'Location names the run';
like $b->{download}, qr{^/v1/downloads/[0-9a-f]{32}\?expires=\d+&sig=},
     'a signed download link';
my $link = $b->{download};
my $run = $b->{run};
ok -e "$svc->{spool}/$run.csv", 'the file is in the spool';

my ($ds, $body, $dh) = Reporting::download($svc, $link);
is $ds, 200, 'the download';
like $dh->{'content-type'}, qr{^text/csv}, 'as text/csv';
like $body, qr/Day,Requests,Amount/, 'the header row has the titles';
like $body, qr/2026-12-01.*10/, 'the first row';
unlike $body, qr/99/, "another tenant's row is not there";

($s, $b) = Reporting::call($svc, 'GET', "/v1/reports/usage/runs/$run",
                           undef, Reporting::who());
is $s, 200, 'GET of the run';
is_deeply [ @$b{qw(status rows format report)} ],
          [ 'done', 2, 'csv', 'usage' ], 'its state';

# ---- JSON, followed with GET ---------------------------------------------

($s, $b, $h) = Reporting::run($svc, 'usage', { format => 'json' });
is $s, 202, 'without ?wait= the answer is 202';
like $b->{run}, qr/^[0-9a-f]{32}$/, 'with the run';
$b = Reporting::wait_run($svc, 'usage', $b->{run});
is $b->{status}, 'done', 'the JSON run ends';
($ds, $body) = Reporting::download($svc, $b->{download});
my $rows = eval { Reporting::JSON()->decode($body) };
is ref $rows, 'ARRAY', 'the JSON file is an array' or diag $body;
is scalar @{ $rows || [] }, 2, 'of two rows';

# ---- parameters ------------------------------------------------------------

($s, $b) = Reporting::run($svc, 'usage',
                          { format => 'csv', params => { min => 15 } },
                          wait => 10);
is $b->{rows}, 1, 'a bound parameter filters';

($s, $b) = Reporting::run($svc, 'usage',
                          { format => 'csv', params => { min => 'x' } });
is $s, 422, 'a parameter of the wrong type is 422';
like $b->{detail}, qr{/params/min}, 'named';

($s, $b) = Reporting::run($svc, 'usage',
                          { format => 'csv', params => { nope => 1 } });
is $s, 422, 'an unknown parameter is 422';

($s, $b) = Reporting::run($svc, 'usage', { format => 'pdf' });
is $s, 422, "a format not among the report's is 422";

($s, $b) = Reporting::run($svc, 'nope', { format => 'csv' });
is $s, 404, 'an unknown report is 404';
is $b->{type}, 'urn:tollgate:problem:not-found', 'problem+json';

($s, $b) = Reporting::call($svc, 'POST', '/v1/reports/usage/runs', '{',
                           Reporting::who());
is $s, 400, 'a body that is not JSON is 400';

($s, $b) = Reporting::call($svc, 'POST', '/v1/reports/usage/runs',
                           '{"format": "csv"}',
                           { %{ Reporting::who() },
                             'Content-Type' => 'text/plain' });
is $s, 415, 'a body that is not application/json is 415';

# ---- tenants ---------------------------------------------------------------

($s, $b) = Reporting::run($svc, 'usage',
                          { format => 'csv', params => { tenant => 'c2' } },
                          wait => 10);
is $b->{rows}, 2, 'a tenant in the body is ignored: the caller is c1';

($s, $b) = Reporting::run($svc, 'usage', { format => 'csv' },
                          consumer => 'c2', wait => 10);
is $b->{rows}, 1, 'c2 sees its one row';
($ds, $body) = Reporting::download($svc, $b->{download}, consumer => 'c2');
like $body, qr/99/, "c2's row";
unlike $body, qr/2026-12-02/, "not c1's";

# ---- access ----------------------------------------------------------------

($s, $b) = Reporting::run($svc, 'usage', { format => 'csv' },
                          scope => 'other:read');
is $s, 403, 'without reports:read: 403';
($s, $b) = Reporting::call($svc, 'POST', '/v1/reports/usage/runs',
                           { format => 'csv' });
is $s, 401, 'without a consumer: 401';
($s, $b) = Reporting::call($svc, 'GET', "/v1/reports/usage/runs/$run",
                           undef, Reporting::who(consumer => 'c2'));
is $s, 404, "someone else's run is 404";
($s, $b) = Reporting::call($svc, 'GET', "/v1/reports/usage/runs/$run",
                           undef, Reporting::who(consumer => 'c2',
                                                 scope => 'reports:admin'));
is $s, 200, 'reports:admin reads any run';

# ---- the signed link -------------------------------------------------------

(my $bad = $link) =~ s/sig=(.)/'sig=' . ($1 eq 'A' ? 'B' : 'A')/e;
($ds) = Reporting::download($svc, $bad);
is $ds, 403, 'a tampered signature is 403';
(my $later = $link) =~ s/expires=(\d+)/'expires=' . ($1 + 100)/e;
($ds) = Reporting::download($svc, $later);
is $ds, 403, 'a later expiry with the same signature is 403';
(my $none = $link) =~ s/&sig=.*//;
($ds) = Reporting::download($svc, $none);
is $ds, 403, 'no signature is 403';
($ds) = Reporting::download($svc, $link, scope => 'x');
is $ds, 403, 'without reports:read the link is 403';

sleep 4;
my ($es, $eb) = Reporting::call($svc, 'GET', $link, undef,
                                Reporting::who());
is $es, 403, 'an expired link is 403';
is $eb->{type}, 'urn:tollgate:problem:link-expired', 'link-expired';
($s, $b) = Reporting::call($svc, 'GET', "/v1/reports/usage/runs/$run",
                           undef, Reporting::who());
ok !exists $b->{download} && $b->{expired}, 'the run shows no link then';
ok Reporting::eventually(sub { !-e "$svc->{spool}/$run.csv" }, 5),
   'the sweeper removed the file';

ok Reporting::metric($svc, 'reporting_runs_total{format="csv",status="done"}')
   >= 4, 'runs are counted by format and status';
ok Reporting::metric($svc, 'reporting_rows_total{format="csv"}') == 6,
   'and their rows';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';

done_testing;

package Reporting;
sub JSON { $Reporting::JSON }
