# The reporting service's schedules (docs/reporting.md, "Schedules"): a
# definition's cron schedule (six fields here, seconds first, to tick
# every two seconds) in its time zone, run by exactly one of two
# instances at each tick (SET NX on gw:rp:tick:<report>:<tick>), owned
# by the schedule's consumer; an hour field in another zone's time does
# not fire.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();
plan skip_all => 'no time zone data'
    unless -e '/usr/share/zoneinfo/Asia/Tokyo';

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE t (consumer TEXT, name TEXT, n INTEGER);
INSERT INTO t VALUES ('c1', 'a', 1), ('c1', 'b', 2), ('c2', 'z', 26);
SQL

my $redis = Tollgate::Redis->start;

# the hour now in Tokyo (UTC+9, no daylight saving time)
my $tokyo = (gmtime(time + 9 * 3600))[2];
my $elsewhere = ($tokyo + 12) % 24;

my %def = (query => 'SELECT name, n FROM t WHERE consumer = :tenant',
           tenant_param => 'tenant',
           columns => [ { name => 'name' },
                        { name => 'n', type => 'integer' } ]);

Reporting::define($redis, 'every2', { %def, title => 'every 2 s',
    schedule => { cron => "*/2 * $tokyo * * *", tz => 'Asia/Tokyo',
                  format => 'csv', consumer => 'c1' } });
Reporting::define($redis, 'never', { %def, title => 'never now',
    schedule => { cron => "* * $elsewhere * * *", tz => 'Asia/Tokyo',
                  consumer => 'c1' } });
Reporting::define($redis, 'plain', { %def, title => 'no schedule' });

my %env = (REDIS => $redis->address, SQLITE => $db,
           SCHEDULE_POLL => '200ms');
my @svc = map { Reporting::start(env => { %env, INSTANCE => $_ }) }
              qw(one two);

sleep 7.5;

# stopped first, so that the counts below do not race a next tick; a
# stop waits for the runs in flight
is Reporting::stop($_), 0, 'a clean stop' for @svc;

my @fired;
for my $i (0, 1) {
    push @fired, map { [ $i, $_->{fields}{report}, $_->{fields}{tick} ] }
                 grep { ($_->{message} // '') eq 'schedule fired' }
                 Reporting::log_lines($svc[$i]);
}

my @ticks = sort map { $_->[2] } grep { $_->[1] eq 'every2' } @fired;
ok @ticks >= 3, scalar(@ticks) . ' ticks fired in 7.5 s';
my %seen;
is_deeply [ grep { $seen{$_}++ } @ticks ], [],
          'each tick fired once across the two instances';
is_deeply [ grep { $_ % 2 } @ticks ], [], 'on even seconds only';
is scalar(grep { $_->[1] ne 'every2' } @fired), 0,
   'a schedule for another hour in its zone did not fire';

my $keys = Reporting::cmd($redis->port, 'KEYS', 'gw:rp:tick:every2:*');
is scalar(@$keys), scalar(@ticks), 'one claim per tick in Redis';
my %by = map { Reporting::cmd($redis->port, 'GET', $_) => 1 } @$keys;
ok join(',', sort keys %by) =~ /^(one|two|one,two)$/,
   'claimed by the instances: ' . join(',', sort keys %by);

# the runs were made, as c1
my $runs = Reporting::cmd($redis->port, 'KEYS', 'gw:rp:run:*');
is scalar(@$runs), scalar(@ticks), 'one run per tick';
my ($rows, $owner) = @{ Reporting::cmd($redis->port, 'HMGET', $runs->[0],
                                       'rows', 'owner') };
is Reporting::cmd($redis->port, 'HGET', $runs->[0], 'status'), 'done',
   'the run is done';
($rows, $owner) = @{ Reporting::cmd($redis->port, 'HMGET', $runs->[0],
                                    'rows', 'owner') };
is $owner, 'c1', "owned by the schedule's consumer";
is $rows, 2, "with c1's rows";

for my $svc (@svc) {
    is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
}

done_testing;
