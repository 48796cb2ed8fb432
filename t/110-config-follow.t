# gw_config (docs/routing.md, "Following the admin API"): a gateway of
# two workers follows the metadata service's change log without reload.
# A change made through the admin API reaches every worker
# ($gw_config_revision, the revision of the snapshot a request used);
# a builder stopped while the log is trimmed past it resyncs; a change
# the build refuses (written straight into Redis, as the admin API would
# refuse it: a route whose upstream does not exist, then a path the
# router refuses) keeps the last good snapshot, shows in the status
# endpoint and is logged once; a paused Redis leaves the snapshot
# serving with one warning; a builder killed with -9 is replaced; 2,000
# updates leave the zone's use and the workers' RSS flat (figures
# printed); a reload (HUP) keeps serving and following; the metrics.
# Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Metadata;
use Tollgate::Routing qw(:all);

skip_unless_built();

my $RETENTION = 10;
my ($redis, $md) = start(env => { LOG_RETENTION => $RETENTION });

my $gw = gateway(workers => 2, http => <<"_EOC_");
    gw_redis_timeout 500ms;
    gw_metrics_zone 1m;
    server {
        listen 127.0.0.1:\$PORT;
        location = /gw/config { gw_config_status; }
        location = /metrics { gw_metrics_endpoint; }
        location / {
            add_header X-Rev \$gw_config_revision always;
            return 200 "\$pid \$gw_config_revision\\n";
        }
    }
_EOC_

my $json = JSON::PP->new->canonical;

# ---- the first snapshot, then a change through the admin API ----------

ok(Metadata::wait_for(sub { my $s = status($gw); $s && defined $s->{revision} },
                      10), 'a snapshot is published at the start');

my $s = status($gw);
is($s->{revision}, 0, 'revision 0: nothing in the admin API yet');
ok($s->{builder_pid}, 'a builder was elected');
ok((grep { $_ == $s->{builder_pid} } $gw->workers),
   'the builder is one of the workers');

my ($st, $rev) = put('upstreams', 'u1',
                     { targets => [ { address => '127.0.0.1:9' } ] }, 1);
is($st, 201, 'an upstream made through the admin API');
($st, $rev) = put('routes', 'r1', { paths => ['/a'], upstream => 'u1' }, 1);
is($st, 201, 'a route made through the admin API');

my $took = until_all($gw, $rev);
ok(defined $took, "every worker serves revision $rev without reload");
diag(sprintf 'propagation to both workers: %.1f ms', ($took // 0) * 1000);

$s = status($gw);
is($s->{routes}, 1, 'status: one route');
is($s->{upstreams}, 1, 'status: one upstream');
ok($s->{committed_ms} > 0 && $s->{built_ms} >= $s->{committed_ms},
   'status: the commit and publication times');
is($s->{refused}, 0, 'nothing refused');
# milliseconds with three decimals in the answer ("0.180"); decoded, a
# number, which Perl prints without the trailing zeros ("0.18")
like($s->{build_ms} // '', qr/^\d+(?:\.\d{1,3})?$/,
     'status: the last build\'s time');

# ---- a builder that fell behind the trim point resyncs -----------------

{
    my $builder = status($gw)->{builder_pid};
    kill 'STOP', $builder;
    my $last;
    for my $i (1 .. $RETENTION * 2) {
        ($st, $last) = put('routes', "t$i",
                           { paths => ["/t$i"], upstream => 'u1' }, 1);
    }
    kill 'CONT', $builder;
    ok(defined until_all($gw, $last),
       "after $RETENTION x 2 changes while stopped, revision $last served");
    ok(log_count($gw, qr/gw_config: .*reading everything again/) >= 1,
       'the builder read everything again (the log was trimmed)');
    is(status($gw)->{builder_pid}, $builder, 'the same builder');
    is(status($gw)->{routes}, 1 + $RETENTION * 2, 'every route is there');
}

# ---- a refused build keeps the last good snapshot ----------------------

# the admin API refuses these; written straight into Redis as the
# metadata service's commit script would (one script: a revision is
# never seen without its entity and its log entry), to show the
# gateway's own check.  An empty doc deletes.
my $INJECT = <<'_LUA_';
local r = redis.call('INCR', 'gw:md:rev')
local key = 'gw:md:e:routes:' .. ARGV[1]
local vb = redis.call('HGET', key, 'v') or '0'
if ARGV[2] == '' then
  redis.call('DEL', key)
  redis.call('ZREM', 'gw:md:ix:routes', ARGV[1])
else
  redis.call('HSET', key, 'v', r, 'doc', ARGV[2], 'refs', '', 'match', '')
  redis.call('ZADD', 'gw:md:ix:routes', 0, ARGV[1])
end
redis.call('XADD', 'gw:md:log', r .. '-0', 'rev', r, 'n', 1,
           'type', 'routes', 'id', ARGV[1], 'vb', vb,
           'va', ARGV[2] == '' and 0 or r, 'actor', 'test', 'rid', '',
           'time', ARGV[3], 'before', '', 'after', ARGV[2])
redis.call('PUBLISH', 'gw:md:changed', r)
return r
_LUA_

sub inject {
    my ($id, $doc) = @_;
    return $redis->cli('EVAL', $INJECT, 0, $id,
                       defined $doc ? $json->encode($doc) : '',
                       int(time * 1000));
}

{
    my $good = status($gw)->{revision};
    my $bad = inject('bad', { paths => ['/bad'], upstream => 'nope' });
    ok(Metadata::wait_for(sub { (status($gw)->{refused} // 0) >= 1 }, 10),
       'the build of a dangling reference is refused');
    $s = status($gw);
    is($s->{revision}, $good, 'the last good revision keeps serving');
    like($s->{last_error} // '', qr/route "bad": upstream "nope" does not/,
         'status: the error names the route and the reference');
    is($s->{last_error_revision}, $bad, 'status: the revision refused');
    is_deeply([ values %{ revisions($gw) } ], [ $good, $good ],
              'both workers serve the last good revision');

    # the next change is built with the bad route still there: refused
    # again, logged again (another revision); then the admin API makes
    # the reference good and the build goes through
    ($st, my $r2) = put('routes', 't1',
                        { paths => ['/t1'], upstream => 'u1',
                          priority => 1 });
    ok(Metadata::wait_for(sub { (status($gw)->{last_error_revision} // 0)
                                == $r2 }, 10), 'the next one is refused too');
    is(log_count($gw, qr/\[warn\].*gw_config: revision $bad refused/), 1,
       'a refusal is logged once, at warn');

    ($st, my $r3) = put('upstreams', 'nope',
                        { targets => [ { address => '127.0.0.1:10' } ] }, 1);
    ok(defined until_all($gw, $r3), 'a change that repairs it is published');
    $s = status($gw);
    is($s->{last_error}, undef, 'status: no error now');

    # a path the router refuses
    my $bad2 = inject('bad2', { paths => ['no-slash'], upstream => 'u1' });
    ok(Metadata::wait_for(sub { (status($gw)->{last_error_revision} // 0)
                                == $bad2 }, 10),
       'a path the router refuses is refused');
    like(status($gw)->{last_error}, qr/route "bad2"/, 'naming the route');
    is(status($gw)->{revision}, $r3, 'the last good one serves');
    my $r4 = inject('bad2', undef);
    ok(defined until_all($gw, $r4), 'deleting it publishes again');
}

# ---- Redis paused: the snapshot keeps serving, one warning -------------

{
    my $serving = status($gw)->{revision};
    $redis->pause;
    my $ok = 0;
    for (1 .. 20) {
        my $r = $gw->get('/probe');
        $ok++ if $r->{status} == 200 && ($r->{headers}{'x-rev'} // '')
                                         eq $serving;
        sleep 0.1;
    }
    $redis->resume;
    is($ok, 20, 'every request served by the last snapshot meanwhile');
    is(log_count($gw, qr/gw_config: cannot read the change log/), 1,
       'one warning for the incident');
    # the admin API's own Redis connection comes back on its retry timer:
    # a write right after the resume may still get its 503
    my $r5;
    for (1 .. 100) {
        ($st, $r5) = put('routes', 't2', { paths => ['/t2'], upstream => 'u1',
                                           priority => 2 });
        last if defined $r5 || $st != 503;
        sleep 0.1;
    }
    ok(defined $r5, 'the admin API writes again') or diag("status $st");
    ok(defined $r5 && defined until_all($gw, $r5, 15),
       'following again after Redis is back');
}

# ---- the builder killed -9: another worker takes over ------------------

{
    my $old = status($gw)->{builder_pid};
    kill 'KILL', $old;
    ok(Metadata::wait_for(sub { my $b = status($gw)->{builder_pid};
                                $b && $b != $old && kill(0, $b) }, 15),
       'another worker holds the lease');
    ($st, my $r6) = put('routes', 't3', { paths => ['/t3'], upstream => 'u1',
                                          priority => 3 });
    ok(defined until_all($gw, $r6), 'and follows the admin API');
}

# ---- memory: 2,000 updates ----------------------------------------------

{
    my $n = $ENV{TEST_CONFIG_UPDATES} || 2000;
    my $last;
    my $update = sub {
        my ($i) = @_;
        ($st, $last) = put('routes', 'r1', { paths => ['/a'], upstream => 'u1',
                                             priority => $i % 100 });
        revisions($gw) if $i % 10 == 0;
    };
    $update->($_) for 1 .. 200;
    until_all($gw, $last);
    my $used0 = status($gw)->{zone_used};
    my %rss0 = map { $_ => rss($_) } $gw->workers;
    $update->($_) for 201 .. $n;
    ok(defined until_all($gw, $last), "$n updates: the last one served");
    sleep 0.5;
    revisions($gw);
    my $used1 = status($gw)->{zone_used};
    my %rss1 = map { $_ => rss($_) } $gw->workers;
    diag("zone used after 200 updates: $used0 bytes, after $n: $used1");
    diag("worker RSS (KiB) $_: $rss0{$_} -> " . ($rss1{$_} // '?'))
        for sort keys %rss0;
    ok($used1 <= $used0 + 64 * 1024, 'the zone\'s use is flat');
    my @grew = grep { defined $rss1{$_} && $rss1{$_} > $rss0{$_} + 4096 }
               keys %rss0;
    is_deeply(\@grew, [], 'the workers\' RSS is flat (within 4 MiB)');
}

# ---- metrics -------------------------------------------------------------

{
    my $m = $gw->get('/metrics')->{body};
    my $cur = status($gw)->{revision};
    like($m, qr/^gw_config_revision $cur$/m, 'the revision gauge');
    like($m, qr/^gw_config_builds_total\{result="refused"\} [1-9]/m,
         'refused builds counted');
    like($m, qr/^gw_config_builds_total\{result="ok"\} \d+/m, 'builds');
    like($m, qr/^gw_config_propagation_seconds_bucket\{le="\+Inf"\} [1-9]/m,
         'the propagation histogram');
    like($m, qr/^gw_config_zone_bytes\{state="size"\} 8388608$/m,
         'the zone\'s size');
}

# ---- reload: keeps serving and following ---------------------------------

{
    my $cur = status($gw)->{revision};
    my %old = map { $_ => 1 } $gw->workers;
    kill 'HUP', $gw->pid;
    my $ok = 0;
    for (1 .. 20) {
        my $r = $gw->get('/probe');
        $ok++ if $r->{status} == 200 && ($r->{headers}{'x-rev'} // '') eq $cur;
        sleep 0.05;
    }
    is($ok, 20, 'served by the snapshot during the reload');
    ok(Metadata::wait_for(sub { my @w = $gw->workers;
                                @w == 2 && !grep { $old{$_} } @w }, 15),
       'new workers');
    ok(Metadata::wait_for(sub { my $b = status($gw)->{builder_pid};
                                $b && !$old{$b} }, 15),
       'a new worker builds');
    ($st, my $r7) = put('routes', 't4', { paths => ['/t4'], upstream => 'u1',
                                          priority => 4 });
    ok(defined until_all($gw, $r7), 'and follows the admin API');
}

# ---- the error log -------------------------------------------------------

my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;

# expected: gw_redis' own error for the paused Redis, and the master's
# alert for the worker killed -9
@bad = grep { !/gw_redis:/ && !/exited on signal 9/ } @bad;
is_deeply(\@bad, [], 'nothing else at [error] or above');

$gw->stop;
Metadata::stop($md);

done_testing();
