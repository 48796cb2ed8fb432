# The SQL sinks through the engine, end to end (docs/processing.md,
# docs/processing-sql.md): events published to a topic -> filter -> Lua
# map -> key_by -> windows (tumbling, hopping, session; one pipeline
# each, fan-out from one topic) -> SQLite, and the tumbling pipeline into
# PostgreSQL (a private cluster; skipped when PostgreSQL is missing).
# Results are compared with a reference computed here.  Then kill -9 of
# the service at random points under load and of Redis (AOF on): every
# window result is in SQLite exactly once (tables without a key, so a
# duplicate would be a second row).  Two SQL sinks of one pipeline in one
# database keep positions of their own.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use List::Util qw(max);
use Test::More;

use Processing;
use Tollgate::Pg;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();
plan skip_all => 'sqlite3 is not installed'
    unless grep { -x "$_/sqlite3" } split /:/, $ENV{PATH};

my $redis = Tollgate::Redis->start(aof => 1);
my $port = $redis->port;
my $db = Processing::tmp() . '/e2e.db';
my $pg = Tollgate::Pg->missing ? undef : Tollgate::Pg->start;

sub sql {
    my ($q) = @_;
    my @rows = map { [ split /\|/, $_, -1 ] }
               split /\n/, `sqlite3 -batch -cmd ".timeout 10000" '$db' "$q" 2>&1`;
    return @rows;
}

sub psql {
    my ($q) = @_;
    my $ci = $pg->conninfo;
    return map { [ split /\|/, $_, -1 ] }
           split /\n/, `psql -X -A -t -q "$ci" -c "$q" 2>&1`;
}

my %cols = (k => '/key', wstart => '/start', wend => '/end', n => '/n',
            total => '/total');
my %types = (k => 'text', wstart => 'integer', wend => 'integer',
             n => 'integer', total => 'integer');
my @steps = (
    { type => 'filter', lua => 'return function (r) return r.a >= 0 end' },
    { type => 'map', lua => 'return function (r) r.v = r.a * 2; '
                            . 'return r end' },
    { type => 'key_by', key => '/k' });
my @agg = ({ op => 'count', as => 'n' },
           { op => 'sum', field => '/v', as => 'total' });

sub lite {
    my ($table, %more) = @_;
    return { type => 'sqlite', path => $db, table => $table,
             columns => \%cols, types => \%types, create => \1, %more };
}

my @docs = (
    { name => 'tum', source => { topic => 'e', partitions => 3 },
      time => '/t', steps => \@steps,
      window => { type => 'tumbling', size => 1000, aggregate => \@agg },
      sinks => [ lite('tum', name => 'a'), lite('tum2', name => 'b'),
                 ($pg ? ({ type => 'postgres', conninfo => $pg->conninfo,
                           table => 'tum', columns => \%cols,
                           types => \%types, create => \1 }) : ()) ] },
    { name => 'hop', source => { topic => 'e', partitions => 3 },
      time => '/t', steps => \@steps,
      window => { type => 'hopping', size => 3000, hop => 1000,
                  aggregate => \@agg },
      sinks => [ lite('hop') ] },
    { name => 'ses', source => { topic => 'e', partitions => 3 },
      time => '/t', steps => \@steps,
      window => { type => 'session', gap => 700, aggregate => \@agg },
      sinks => [ lite('ses') ] });

my $dir = Processing::pipelines(@docs);
my ($out, $rc) = Processing::run(env => { REDIS => $redis->address,
                                          PIPELINES => $dir },
                                 args => ['-t']);
is($rc, 0, 'the documents pass -t') or diag($out);

# a bad SQL sink is refused with the member's pointer
my $bad = Processing::pipelines(
    { name => 'bad', source => { topic => 'e' },
      sinks => [ { type => 'sqlite', path => $db, table => 'x; drop',
                   columns => { a => '/a' } } ] });
($out, $rc) = Processing::run(env => { REDIS => $redis->address,
                                       PIPELINES => $bad }, args => ['-t']);
is($rc, 2, 'a bad table name is refused');
like($out, qr{00\.json: /sinks/0/table: }, '... with its pointer');

# the input: keys in time order with gaps (sessions), some filtered out

my @keys = map { "k$_" } 1 .. 6;
my $t0 = 1_700_000_000_000;
my ($n, @events, %times) = (0);

sub make {
    my ($count) = @_;
    my @ev;
    for (1 .. $count) {
        my $k = $keys[$n % @keys];
        my $t = $t0 + $n * 37;
        $t += 900 * int($n / 400);      # a pause every 400: new sessions
        my $a = ($n % 11 == 0) ? -1 : $n % 7;
        push @ev, [ $k, { k => $k, t => $t, a => $a } ];
        push @{ $times{$k} }, [ $t, $a * 2 ] if $a >= 0;
        $n++;
    }
    return @ev;
}

sub reference {
    my (%r);
    for my $k (keys %times) {
        for my $e (@{ $times{$k} }) {
            my ($t, $v) = @$e;
            my $s = int($t / 1000) * 1000;
            $r{tum}{"$k|$s|" . ($s + 1000)}[0]++;
            $r{tum}{"$k|$s|" . ($s + 1000)}[1] += $v;
            for (my $h = $s; $h > $t - 3000; $h -= 1000) {
                $r{hop}{"$k|$h|" . ($h + 3000)}[0]++;
                $r{hop}{"$k|$h|" . ($h + 3000)}[1] += $v;
            }
        }
        my @s;
        for my $e (sort { $a->[0] <=> $b->[0] } @{ $times{$k} }) {
            if (@s && $e->[0] - $s[-1][1] < 700) {
                $s[-1][1] = $e->[0];
                $s[-1][2]++;
                $s[-1][3] += $e->[1];
            } else {
                push @s, [ $e->[0], $e->[0], 1, $e->[1] ];
            }
        }
        $r{ses}{"$k|$_->[0]|" . ($_->[1] + 700)} = [ $_->[2], $_->[3] ]
            for @s;
    }
    for my $w (values %r) {
        $w->{$_} = join '|', $_, @{ $w->{$_} } for keys %$w;
    }
    return \%r;
}

# far later events on every key close every window before them
sub closers {
    return map { [ $_, { k => $_, t => $t0 + 1e9, a => 0 } ] } @keys;
}

sub table {
    my ($t, $getter) = @_;
    my %h;
    my @rows = $getter->("SELECT k, wstart, wend, n, total FROM $t");
    $h{"$_->[0]|$_->[1]|$_->[2]"} = join '|', @$_ for @rows;
    return (\%h, scalar @rows);
}

sub count_rows {
    my $c = (sql("SELECT count(*) FROM $_[0]"))[0][0] // '';
    return $c =~ /^\d+$/ ? $c : -1;
}

my %env = (REDIS => $redis->address, PIPELINES => $dir, INSTANCE => 'e1',
           BATCH => '64', REDIS_RETRY => '100ms');

# 1. a run without crashes: exact results

Processing::publish($port, 'e', 3, make(3000), closers());
my $ref = reference();
my $svc = Processing::start(env => \%env);

for my $t (qw(tum hop ses)) {
    my $want = scalar keys %{ $ref->{$t} };
    ok(Processing::eventually(sub { count_rows($t) == $want }, 60),
       "$t: $want window results in SQLite")
        or diag(count_rows($t));
    my ($got, $rows) = table($t, \&sql);
    is_deeply($got, $ref->{$t}, "$t: equal to the reference");
    is($rows, $want, "$t: no duplicates");
}

my ($got2) = table('tum2', \&sql);
is_deeply($got2, $ref->{tum}, 'a second sqlite sink of the pipeline too');

my @pos = sql('SELECT pipeline, count(*) FROM tollgate_positions '
              . 'GROUP BY pipeline ORDER BY pipeline');
is_deeply(\@pos, [ [ 'hop/0', 3 ], [ 'ses/0', 3 ], [ 'tum/a', 3 ],
                   [ 'tum/b', 3 ] ],
          'positions per sink: "<pipeline>/<sink name>", per partition');

SKIP: {
    skip 'PostgreSQL is not installed', 3 unless $pg;
    my $want = scalar keys %{ $ref->{tum} };
    ok(Processing::eventually(sub {
           ((psql('SELECT count(*) FROM tum'))[0][0] // 0) == $want }, 60),
       "postgres: $want window results");
    my ($got, $rows) = table('tum', \&psql);
    is_deeply($got, $ref->{tum}, 'postgres: equal to the reference');
    is_deeply([ psql('SELECT count(*) FROM tollgate_positions WHERE '
                     . "pipeline = 'tum/2'") ], [ [3] ],
              'postgres: its own positions');
}

is(Processing::stop($svc), 0, 'stopped');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

# 2. kill -9 of the service at random points, and of Redis, under load

sql("DELETE FROM $_") for qw(tum tum2 hop ses tollgate_positions);
psql("DELETE FROM $_") for $pg ? qw(tum tollgate_positions) : ();
Processing::cmd($port, 'DEL', "gw:topic:e:$_") for 0 .. 2;
Processing::cmd($port, 'DEL', "gw:proc:$_:late") for qw(tum hop ses);
($n, %times) = (0);

my $total = 12000;
Processing::publish($port, 'e', 3, make($total / 2));
$svc = Processing::start(env => \%env);

srand($ENV{TEST_SEED} // time);
for my $round (1 .. 4) {
    my $at = 0.2 + rand(1.0);
    Time::HiRes::sleep($at);
    isnt(Processing::kill9($svc), undef,
         sprintf 'kill -9 %d, after %.2fs', $round, $at);
    Processing::publish($port, 'e', 3, make($total / 8)) if $round <= 2;
    $svc = Processing::start(env => \%env);
}

$redis->kill;
ok(!$redis->running, 'kill -9 of Redis under load');
$redis->restart;
ok(Processing::eventually(sub {
       (Processing::cmd($port, 'PING') // '') eq 'PONG' }, 20),
   'Redis back from its AOF');
Processing::publish($port, 'e', 3, make($total - $n), closers());
$ref = reference();

for my $t (qw(tum tum2 hop ses)) {
    my $r = $ref->{ $t eq 'tum2' ? 'tum' : $t };
    my $want = scalar keys %$r;
    ok(Processing::eventually(sub { count_rows($t) >= $want
                                    && !grep {
                                        Processing::pending($port,
                                            "gw:topic:e:$_", 'tum') } 0 .. 2
                                  }, 90),
       "after the crashes, $t: $want results");
    my ($got, $rows) = table($t, \&sql);
    is($rows, $want, "$t: each result exactly once");
    is_deeply($got, $r, "$t: equal to the reference");
}

SKIP: {
    skip 'PostgreSQL is not installed', 2 unless $pg;
    my ($got, $rows) = table('tum', \&psql);
    is($rows, scalar keys %{ $ref->{tum} },
       'postgres: each result exactly once');
    is_deeply($got, $ref->{tum}, 'postgres: equal to the reference');
}

is(Processing::stop($svc), 0, 'stopped');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
