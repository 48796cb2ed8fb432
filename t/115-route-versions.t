# API versions and their lifecycle end to end (docs/routing.md, "Versions
# and sunset"): Redis, the metadata service and a gateway of two workers
# with gw_config, gw_router, gw_upstream, gw_route_state and key auth on
# the gw_router location; routes are made and changed through the admin
# API.  A deprecated route's answers carry Deprecation (@seconds), Sunset
# (HTTP-date) and the two Link relations: the upstream's 200 and 404, the
# gateway's own 401 (no key, unknown key); a current route
# carries none; a future deprecated_at is announced but not counted; past
# sunset_at the route answers 410 (or its sunset_status 404) problem+json
# urn:tollgate:problem:sunset naming its successor; calls to deprecated
# routes are counted per consumer in the metrics, with "other" past top=
# and "" for anonymous callers.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Routing qw(:all);

skip_unless_built('gwctl');

my ($redis, $md) = start();
my $ctl = Tollgate::Gwctl->new($redis);
my $tport = Tollgate::Gateway::free_port();

my $gw = gateway(workers => 2, upstream => '', http => <<"_EOC_");
    gw_route_state zone=gw_routes:1m top=2;
    gw_metrics_zone 1m;
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            gw_key_auth api;
            gw_auth_satisfy any;
            client_max_body_size 16;
            proxy_pass http://gw_dynamic;
        }
        location = /metrics {
            gw_metrics_endpoint;
        }
    }
    server {
        listen 127.0.0.1:$tport;
        location /v1/missing {
            return 404 "missing\\n";
        }
        location / {
            add_header Link "<https://up.example/>; rel=\\"help\\"";
            return 200 "up\\n";
        }
    }
_EOC_

my %key = map { $_ => do { $ctl->consumer_add($_); $ctl->key_create($_) } }
          qw(alice bob carol dave);

sub get { ask($gw, @_) }

sub as { my ($who, $path) = @_; get($path, 'X-API-Key' => $key{$who}) }

sub iso { POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }
sub http_date { POSIX::strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime $_[0]) }

sub metrics { get('/metrics')->{body} }

sub calls {
    my ($route, $consumer) = @_;
    my $m = metrics();
    return $m =~ /^gw_route_deprecated_calls_total\{route="\Q$route\E",
                  api_version="[^"]*",consumer="\Q$consumer\E"\}\s+(\d+)$/xm
           ? $1 : 0;
}

my $now = time;
my $dep = int($now) - 86400;
my $sun = int($now) + 180 * 86400;

create('upstreams', 'up', { targets => [ { address => "127.0.0.1:$tport" } ] });

create('routes', 'v1', {
    paths => ['/v1/*'], upstream => 'up', api_version => 'v1',
    deprecated_at => iso($dep), sunset_at => iso($sun),
    successor => '/v2/items',
    deprecation_link => 'https://docs.example/deprecations/v1' });
create('routes', 'v2', { paths => ['/v2/*'], upstream => 'up',
                         api_version => 'v2' });

ok(until_true(sub { as('alice', '/v2/items')->{status} == 200 }),
   'the routes are served') or diag explain as('alice', '/v2/items');

# ---- the headers, on every answer -----------------------------------------

my $links = qr/<https:\/\/docs\.example\/deprecations\/v1>; rel="deprecation"/;
my $succ = qr/<\/v2\/items>; rel="successor-version"/;

sub lifecycle_ok {
    my ($r, $what) = @_;
    is($r->{headers}{deprecation}, "\@$dep", "$what: Deprecation");
    is($r->{headers}{sunset}, http_date($sun), "$what: Sunset");
    like($r->{headers}{link} // '', $links, "$what: Link rel=deprecation");
    like($r->{headers}{link} // '', $succ, "$what: Link successor-version");
}

my $r = as('alice', '/v1/items');
is($r->{status}, 200, 'a deprecated route still serves');
lifecycle_ok($r, 'the upstream 200');
like($r->{headers}{link}, qr/rel="help"/, "the upstream's own Link stays");

$r = as('alice', '/v1/missing');
is($r->{status}, 404, "the upstream's 404");
lifecycle_ok($r, "the upstream's 404");

$r = get('/v1/items');
is($r->{status}, 401, 'no key: 401');
lifecycle_ok($r, 'the gateway 401');

$r = get('/v1/items', 'X-API-Key' => Tollgate::Gwctl::random_key());
is($r->{status}, 401, 'an unknown key: 401');
lifecycle_ok($r, 'the gateway 401 (unknown key)');

$r = as('alice', '/v2/items');
ok(!defined $r->{headers}{deprecation} && !defined $r->{headers}{sunset}
   && $r->{headers}{link} eq '<https://up.example/>; rel="help"',
   'a current version: no lifecycle header') or diag explain $r->{headers};

# ---- counts per consumer ---------------------------------------------------

# so far: alice 2 (200 and the upstream's 404); the 401s are refused
# before access passed: not counted
is(calls('v1', 'alice'), 2, "alice's 2 calls counted");
is(calls('v1', ''), 0, 'refused calls are not counted as anonymous');

as('bob', '/v1/items') for 1 .. 3;
is(calls('v1', 'bob'), 3, "bob's 3 calls");
as('carol', '/v1/items') for 1 .. 2;
as('dave', '/v1/items');
is(calls('v1', 'other'), 3, 'past top=2: carol and dave in "other"');
is(calls('v1', 'carol'), 0, 'carol has no series of her own');
is(calls('v1', 'bob'), 3, 'and bob keeps his');
is(calls('v2', 'alice'), 0, 'a current version is not counted');

# ---- a future deprecation: announced, not counted ----------------------

my $later = int($now) + 30 * 86400;
update('routes', 'v2', { paths => ['/v2/*'], upstream => 'up',
                         api_version => 'v2', deprecated_at => iso($later) });
ok(until_true(sub { (as('alice', '/v2/items')->{headers}{deprecation} // '')
                    eq "\@$later" }), 'a future Deprecation date is sent')
    or diag explain as('alice', '/v2/items');
is(calls('v2', 'alice'), 0, 'calls before deprecated_at are not counted');

# ---- sunset ------------------------------------------------------------------

my $gone = int($now) - 3600;
update('routes', 'v1', {
    paths => ['/v1/*'], upstream => 'up', api_version => 'v1',
    deprecated_at => iso($dep), sunset_at => iso($gone),
    successor => 'https://api.example/v2/items' });
ok(until_true(sub { as('alice', '/v1/items')->{status} == 410 }),
   'past its sunset: 410') or diag explain as('alice', '/v1/items');

$r = get('/v1/items');
is($r->{status}, 410, 'also without a key (before authentication)');
my $p = problem($r);
is($p->{type}, 'urn:tollgate:problem:sunset', 'problem type');
is($p->{status}, 410, 'problem status');
is($p->{successor}, 'https://api.example/v2/items', 'the successor in it');
is($p->{api_version}, 'v1', 'the version in it');
is($p->{sunset}, http_date($gone), 'the sunset date in it');
ok($p->{request_id}, 'a request id');
is($r->{headers}{sunset}, http_date($gone), 'the Sunset header too');
like($r->{headers}{link} // '',
     qr/<https:\/\/api\.example\/v2\/items>; rel="successor-version"/,
     'and the successor link');

update('routes', 'v1', {
    paths => ['/v1/*'], upstream => 'up', api_version => 'v1',
    sunset_at => iso($gone), sunset_status => 404 });
ok(until_true(sub { as('alice', '/v1/items')->{status} == 404 }),
   'sunset_status 404') or diag explain as('alice', '/v1/items');
$p = problem(get('/v1/items'));
is($p->{type}, 'urn:tollgate:problem:sunset', '404: the sunset problem');
ok(!exists $p->{successor}, 'no successor member without a successor');

# ---- the log -----------------------------------------------------------------

my @log = $gw->error_log;
ok(scalar(grep { /\[info\].*route "v1" is past its sunset/ } @log),
   'the sunset answers are logged at info');
my @bad = errors($gw);
is(scalar @bad, 0, 'nothing at error or above') or diag @bad;

done_testing();
