# Report definitions as the metadata service's entities
# (docs/reporting.md, "Definitions"): the type "reports" registered with
# its schema (backends/reporting/reports.schema.json), a definition
# written at /v1/entities/reports/{id} (a malformed one refused with
# 422 by the schema), then run by the reporting service, which reads it
# from the metadata store in Redis; a changed definition applies to the
# next run, a deleted one is 404.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;

use Metadata;
use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE t (consumer TEXT, name TEXT, n INTEGER);
INSERT INTO t VALUES ('c1', 'alpha', 1), ('c1', 'beta', 2), ('c2', 'z', 3);
SQL

my $redis = Tollgate::Redis->start;
my $md = Metadata::start(redis => $redis->address);
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db });

my $schema_file = "$FindBin::Bin/../../backends/reporting/reports.schema.json";
open my $fh, '<', $schema_file or die "$schema_file: $!";
my $schema = JSON::PP->new->decode(do { local $/; <$fh> });

my ($st, $b) = Metadata::call($md, 'PUT', '/v1/types/reports',
                              { schema => $schema }, 'If-None-Match' => '*');
is $st, 201, 'the type "reports" is registered with its schema'
    or diag explain $b;

my %def = (title => 'Names',
           query => 'SELECT name, n FROM t WHERE consumer = :tenant'
                    . ' ORDER BY n',
           tenant_param => 'tenant',
           columns => [ { name => 'name' },
                        { name => 'n', type => 'integer' } ],
           formats => [ 'csv', 'json' ],
           schedule => { cron => '0 6 * * 1-5', tz => 'Europe/Paris',
                         consumer => 'c1' });

($st, $b) = Metadata::call($md, 'PUT', '/v1/entities/reports/names',
                           \%def, 'If-None-Match' => '*');
is $st, 201, 'a definition is written' or diag explain $b;

($st, $b) = Metadata::call($md, 'PUT', '/v1/entities/reports/bad',
                           { %def, columns => [] },
                           'If-None-Match' => '*');
is $st, 422, 'a definition without columns is refused by the schema';
($st, $b) = Metadata::call($md, 'PUT', '/v1/entities/reports/bad',
                           { %def, formats => [ 'doc' ] },
                           'If-None-Match' => '*');
is $st, 422, 'an unknown format is refused by the schema';

my ($s, $r) = Reporting::run($svc, 'names', { format => 'csv' },
                             wait => 10);
is $s, 200, 'the reporting service runs it' or diag explain $r;
is $r->{rows}, 2, "c1's two rows";

($st, $b) = Metadata::raw($md, 'PATCH', '/v1/entities/reports/names',
                          '{"title": "Renamed", "formats": ["json"]}',
                          Metadata::admin(), 'If-Match' => '*',
                          'Content-Type' => 'application/merge-patch+json');
is $st, 200, 'the definition is changed' or diag explain $b;
($s, $r) = Reporting::run($svc, 'names', { format => 'csv' });
is $s, 422, 'the next run sees the change: csv is no longer offered';

($st) = Metadata::call($md, 'DELETE', '/v1/entities/reports/names', undef,
                       'If-Match' => '*');
is $st, 204, 'the definition is deleted';
($s) = Reporting::run($svc, 'names', { format => 'json' });
is $s, 404, 'a deleted report is 404';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';
Metadata::stop($md);

done_testing;
