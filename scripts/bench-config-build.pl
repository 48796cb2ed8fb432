#!/usr/bin/perl
#
# The gateway's snapshot build time (docs/routing.md, "Cost"; issue 16's
# target: 10k routes in 50 ms), run by `make bench` after lib/router's
# own figure (scripts/bench-router.sh).  A private Redis is filled with
# ROUTES routes (a mix of exact, prefix, templated and wildcard-host
# ones, a third with methods, a fifth with key auth, a seventh with a
# plan's limits) and 20 upstreams, as the metadata service stores them
# (gw:md:e:*, gw:md:ix:*, gw:md:rev); a gateway of one worker builds
# its first snapshot from them (a fresh zone), then CHANGES more, one
# per change of a route written into the change log, each waited for.
# Prints the build_ms of gw_config_status (the builder's last build) of
# the first build and the median, min and max of the others.
#
# Environment: ROUTES (10000), CHANGES (15), TEST_NGINX_LOAD_MODULES
# (else the build's module).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use JSON::PP ();
use Time::HiRes qw(sleep time);

use Tollgate::Gateway;
use Tollgate::Redis;

my $ROUTES = $ENV{ROUTES} || 10000;
my $CHANGES = $ENV{CHANGES} || 15;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;

# the entities, written by one script (docs built with cjson)
my $FILL = <<'_LUA_';
local n = tonumber(ARGV[1])
local rev = 0
local function put(t, id, doc)
  rev = rev + 1
  redis.call('HSET', 'gw:md:e:' .. t .. ':' .. id, 'v', rev,
             'doc', cjson.encode(doc), 'refs', '', 'match', '')
  redis.call('ZADD', 'gw:md:ix:' .. t, 0, id)
end
for u = 0, 19 do
  put('upstreams', 'u' .. u,
      {targets = {{address = '127.0.0.1:' .. (9000 + u), weight = 1}}})
end
put('limits', 'l1', {kind = 'rate', rate = '10r/s', key = 'consumer',
                     scope = 'local'})
put('limits', 'l2', {kind = 'rate', rate = '100r/m', key = 'ip',
                     scope = 'local'})
put('plans', 'gold', {limits = {'l1', 'l2'}})
for i = 0, n - 1 do
  local k = i % 4
  local doc = {upstream = 'u' .. (i % 20), api_version = 'v1'}
  if k == 0 then doc.paths = {'/api/s' .. i .. '/items'}
  elseif k == 1 then doc.paths = {'/p' .. i .. '/*'}
  elseif k == 2 then doc.paths = {'/t' .. i .. '/users/{id}/orders/{oid}'}
  else doc.paths = {'/*'}; doc.hosts = {'*.w' .. i .. '.example.com'} end
  if i % 3 == 0 then doc.methods = {'GET', 'POST'} end
  if i % 5 == 0 then doc.key_auth = true end
  if i % 7 == 0 then doc.plan = 'gold' end
  put('routes', 'r' .. i, doc)
end
redis.call('SET', 'gw:md:rev', rev)
return rev
_LUA_

# one change of a route, as the metadata service's commit script writes
my $CHANGE = <<'_LUA_';
local r = redis.call('INCR', 'gw:md:rev')
local key = 'gw:md:e:routes:' .. ARGV[1]
local vb = redis.call('HGET', key, 'v') or '0'
redis.call('HSET', key, 'v', r, 'doc', ARGV[2], 'refs', '', 'match', '')
redis.call('ZADD', 'gw:md:ix:routes', 0, ARGV[1])
redis.call('XADD', 'gw:md:log', r .. '-0', 'rev', r, 'n', 1,
           'type', 'routes', 'id', ARGV[1], 'vb', vb, 'va', r,
           'actor', 'bench', 'rid', '', 'time', ARGV[3], 'before', '',
           'after', ARGV[2])
redis.call('PUBLISH', 'gw:md:changed', r)
return r
_LUA_

my $rev = $redis->cli('EVAL', $FILL, 0, $ROUTES);
die "bench-config-build: cannot fill Redis: $rev\n" unless $rev =~ /^\d+$/;

my $gw = Tollgate::Gateway->start(log_level => 'warn', http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    gw_config zone=gw_config:128m interval=1s;
    server {
        listen 127.0.0.1:\$PORT;
        location = /gw/config { gw_config_status; }
    }
_EOC_

sub status {
    my $r = $gw->get('/gw/config');
    return $r->{status} == 200 ? eval { JSON::PP::decode_json($r->{body}) }
                               : undef;
}

# the status once revision $want is published (or a refusal, or 60 s)
sub wait_rev {
    my ($want) = @_;
    my $deadline = time + 60;
    while (time < $deadline) {
        my $s = status();
        return $s if $s && defined $s->{revision} && $s->{revision} == $want;
        die "bench-config-build: refused: $s->{last_error}\n"
            if $s && defined $s->{last_error};
        sleep 0.01;
    }
    die "bench-config-build: revision $want not published in 60 s\n";
}

my $first = wait_rev($rev);
die "bench-config-build: $first->{routes} routes\n"
    unless $first->{routes} == $ROUTES;

my @ms;
for my $c (1 .. $CHANGES) {
    my $doc = JSON::PP::encode_json({ paths => ['/api/s0/items'],
                                      upstream => 'u0', priority => $c });
    my $r = $redis->cli('EVAL', $CHANGE, 0, 'r0', $doc, int(time * 1000));
    push @ms, wait_rev($r)->{build_ms};
}

@ms = sort { $a <=> $b } @ms;
open my $la, '<', '/proc/loadavg';
my $load = (split ' ', <$la> // '')[0] // '?';

print "== gateway: the snapshot build of $ROUTES routes (build_ms of "
    . "gw_config_status)\n";
printf "first build (fresh zone) %8.1f ms\n", $first->{build_ms};
printf "next %d builds: median %8.1f ms, min %.1f, max %.1f   (snapshot "
    . "%d KB, load average %s)\n", scalar @ms, $ms[@ms / 2], $ms[0], $ms[-1],
    $first->{zone_used} / 1024, $load;

$gw->stop;
