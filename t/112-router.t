# gw_router end to end (docs/routing.md, "gw_router"): Redis, the
# metadata service and a gateway with gw_config and gw_router; routes are
# added, changed and removed through the admin API and served with no
# reload.  Exact, prefix, templated (variables in response headers) and
# regex paths, wildcard hosts, methods (HEAD as GET), header and
# argument conditions, priorities, versions; the 404 and 503 problems;
# the "plugins" policy carried per route and changed without reload, and
# a policy the gateway refuses (500, logged once); internal redirects
# and subrequests routed again; attacks: control bytes in paths, long
# paths, ambiguous and duplicate hosts.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use JSON::PP ();
use Test::More;

use Metadata;
use Tollgate::Gateway;
use Tollgate::Redis;
use Tollgate::Routing qw(:all);

skip_unless_built();

my ($redis, $md) = start(env => { DOC_MAX => '256k' });

my $gw = gateway(workers => 2, http => <<"_EOC_");
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            add_header X-Route \$gw_route_id always;
            add_header X-Upstream \$gw_route_upstream always;
            add_header X-Version \$gw_api_version always;
            add_header X-Id \$gw_path_id always;
            add_header X-Plugins \$gw_route_plugins always;
            add_header X-Rev \$gw_config_revision always;
            return 200 "route=\$gw_route_id id=\$gw_path_id oid=\$gw_path_oid\\n";
        }
        location /old/ {
            rewrite ^/old(/.*)\$ \$1 last;
        }
        location = /goto {
            error_page 418 = /users/7/orders/8;
            return 418;
        }
        location = /ssi {
            ssi on;
            default_type text/html;
            return 200 '[<!--# include virtual="/users/5/orders/6" -->]';
        }
        location = /keyed {
            gw_router;
            add_header X-Route \$gw_route_id always;
            proxy_pass http://127.0.0.1:\$PORT/backend;
        }
        location = /backend {
            return 200 "backend\\n";
        }
        location = /unrouted {
            return 200 "route=[\$gw_route_id]\\n";
        }
    }
_EOC_

sub req { $gw->request(@_) }

sub get { ask($gw, @_) }

sub route_of { $_[0]{headers}{'x-route'} // '' }

my @workers = $gw->workers;
is(scalar @workers, 2, 'two workers');

# ---- no snapshot yet: 503 --------------------------------------------------

{
    my $dead = Tollgate::Redis::free_port();
    my $cold = Tollgate::Gateway->start(log_level => 'warn', http => <<"_EOC_");
        gw_redis 127.0.0.1:$dead;
        gw_config zone=gw_cold:1m;
        server {
            listen 127.0.0.1:\$PORT;
            location / { gw_router; return 200 "routed\\n"; }
        }
_EOC_
    my $r = $cold->get('/x');
    is($r->{status}, 503, 'no snapshot yet: 503');
    is(problem($r)->{type}, 'urn:tollgate:problem:no-config',
       'the no-config problem');
    $cold->stop;
}

# ---- routes through the admin API ------------------------------------------

create('upstreams', 'u1', { targets => [ { address => '127.0.0.1:1' } ] });
create('upstreams', 'u2', { targets => [ { address => '127.0.0.1:2' } ] });

create('routes', 'exact', { paths => ['/exact'], upstream => 'u1' });
create('routes', 'prefix', { paths => ['/files/*'], upstream => 'u2' });
create('routes', 'tmpl', { paths => ['/users/{id}/orders/{oid}'],
                           upstream => 'u1' });
create('routes', 'tmpl-me', { paths => ['/users/me/orders/{oid}'],
                              upstream => 'u1' });
create('routes', 'host', { paths => ['/h'], hosts => ['*.example.com'],
                           upstream => 'u1' });
create('routes', 'any-host', { paths => ['/h'], upstream => 'u2' });
create('routes', 'm-get', { paths => ['/m'], methods => ['GET'],
                            upstream => 'u1' });
create('routes', 'm-post', { paths => ['/m'], methods => ['POST'],
                             upstream => 'u1' });
create('routes', 'only-head', { paths => ['/head-only'],
                                methods => ['HEAD'], upstream => 'u1' });
create('routes', 'regex', { paths => ['~^/re/[0-9]+$'], upstream => 'u1' });
create('routes', 'v1', { paths => ['/v1/things'], api_version => 'v1',
                         upstream => 'u1' });
create('routes', 'c-none', { paths => ['/c'], upstream => 'u1' });
create('routes', 'c-hdr', { paths => ['/c'], headers => { 'X-Tenant' => 'acme' },
                            upstream => 'u1' });
create('routes', 'c-arg', { paths => ['/c'], args => { v => '2' },
                            priority => 1, upstream => 'u1' });
create('routes', 'pri-hi', { paths => ['/pri/*'], priority => 10,
                             upstream => 'u1' });
create('routes', 'pri-lo', { paths => ['/pri/exact'], upstream => 'u1' });
create('routes', 'same-prefix', { paths => ['/same/*'], upstream => 'u1' });
create('routes', 'same-exact', { paths => ['/same/x'], upstream => 'u1' });
create('routes', 'same-long', { paths => ['/same/x/y/*'],
                                upstream => 'u1' });

ok(until_true(sub { route_of(get('/same/x/y/z')) eq 'same-long' }),
   'the routes are served') or diag explain get('/same/x/y/z');

my $r = get('/exact');
is($r->{status}, 200, 'exact: 200');
is(route_of($r), 'exact', 'exact: its route');
is($r->{headers}{'x-upstream'}, 'u1', '$gw_route_upstream');
like($r->{headers}{'x-rev'} // '', qr/^\d+$/, '$gw_config_revision');

$r = get('/exact/');
is($r->{status}, 404, 'a trailing slash is another path: 404');
like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
     'a problem');
is(problem($r)->{type}, 'urn:tollgate:problem:no-route', 'no-route');
is(problem($r)->{status}, 404, 'its status');
is(route_of($r), '', 'no route id');

is(route_of(get('/files')), 'prefix', 'prefix: /files');
is(route_of(get('/files/a/b/c.txt')), 'prefix', 'prefix: under it');
is(get('/filesx')->{status}, 404, 'prefix: not /filesx');
is(get('/files/a/b')->{headers}{'x-upstream'}, 'u2', 'its upstream');

$r = get('/users/42/orders/7');
is(route_of($r), 'tmpl', 'templated');
is($r->{headers}{'x-id'}, '42', '$gw_path_id in a header');
is($r->{body}, "route=tmpl id=42 oid=7\n", '$gw_path_oid');
$r = get('/users/me/orders/9');
is(route_of($r), 'tmpl-me', 'a literal segment before a variable');
is($r->{body}, "route=tmpl-me id= oid=9\n", 'a variable the path lacks: empty');
is(get('/users/42/orders')->{status}, 404, 'as many segments as the template');
$r = get('/users/a%2Fb/orders/1');
is($r->{status}, 404, '%2F decoded: /users/a/b/orders/1 is not the template');

is(route_of(get('/h', Host => 'a.example.com')), 'host', 'wildcard host');
is(route_of(get('/h', Host => 'A.Example.COM:8080')), 'host',
   'host: case and port ignored');
is(route_of(get('/h', Host => 'a.example.com.')), 'host',
   'host: a trailing dot ignored');
is(route_of(get('/h', Host => 'example.com')), 'any-host',
   'the wildcard is one label: the any-host route');
is(route_of(get('/h', Host => 'a.b.example.com')), 'any-host',
   'not two labels');

is(route_of(get('/m')), 'm-get', 'GET');
is(route_of(get('/m', Method => 'POST', 'Content-Length' => 0)), 'm-post',
   'POST');
is(get('/m', Method => 'DELETE')->{status}, 404, 'a method no route takes');
$r = get('/m', Method => 'HEAD');
is($r->{status}, 200, 'HEAD');
is(route_of($r), 'm-get', 'HEAD is routed as the GET');
is($r->{body}, '', 'without content');
is(route_of(get('/head-only', Method => 'HEAD')), 'only-head',
   'HEAD: a route taking HEAD only, when no GET route matches');
is(get('/head-only')->{status}, 404, 'which GET does not reach');

is(route_of(get('/re/123')), 'regex', 'regex');
is(get('/re/12a')->{status}, 404, 'regex: no match');

$r = get('/v1/things');
is($r->{headers}{'x-version'}, 'v1', '$gw_api_version');

is(route_of(get('/c')), 'c-none', 'conditions: none hold');
is(route_of(get('/c', 'X-Tenant' => 'acme')), 'c-hdr', 'a header condition');
is(route_of(get('/c', 'X-Tenant' => 'other')), 'c-none',
   'another value: the route without conditions');
is(route_of(get('/c?v=2', 'X-Tenant' => 'acme')), 'c-arg',
   'an argument condition of a higher priority');
is(route_of(get('/c?v=3')), 'c-none', 'another argument value');

is(route_of(get('/pri/exact')), 'pri-hi',
   'a higher priority beats a more specific path');
is(route_of(get('/same/x')), 'same-exact', 'same priority: exact first');
is(route_of(get('/same/y')), 'same-prefix', 'else the prefix');
is(route_of(get('/same/x/y/z')), 'same-long', 'the longer prefix first');

# ---- internal redirects and subrequests ------------------------------------

is(route_of(get('/old/exact')), 'exact',
   'rewrite ... last into the gw_router location: routed by the new $uri');
$r = get('/goto');
is($r->{status}, 200, 'an internal redirect (error_page) into it: routed');
is($r->{body}, "route=tmpl id=7 oid=8\n", 'by the new $uri');
$r = get('/ssi');
like($r->{body}, qr/\[.*route=tmpl id=5 oid=6\n.*\]/s,
     'a subrequest (SSI include) is routed by its own $uri');
is(get('/unrouted')->{body}, "route=[]\n",
   'a location without gw_router: empty variables');

# ---- a change served without reload ----------------------------------------

update('routes', 'exact', { paths => ['/exact2'], upstream => 'u2' });
ok(until_true(sub { get('/exact')->{status} == 404 }),
   'the changed route leaves its old path');
$r = get('/exact2');
is(route_of($r), 'exact', 'and serves its new one');
is($r->{headers}{'x-upstream'}, 'u2', 'with its new upstream');

my ($st) = api('DELETE', '/v1/routes/same-exact', undef, 'If-Match' => '*');
is($st, 204, 'a route deleted');
ok(until_true(sub { route_of(get('/same/x')) eq 'same-prefix' }),
   'its requests go to the next route');

is_deeply([ $gw->workers ], \@workers, 'the same workers: no reload');
ok(!grep({ /reconfiguring|signal 1 \(SIGHUP\)/ } $gw->error_log),
   'no reconfiguration logged');

# ---- the plugins policy -----------------------------------------------------

create('plugins', 'p1', { name => 'echo', config => { a => 1 } });
create('plugins', 'p2', { name => 'tag-it', config => {} });
create('routes', 'plug', { paths => ['/plug'], plugins => ['p1'],
                           upstream => 'u1' });
ok(until_true(sub { route_of(get('/plug')) eq 'plug' }), 'a route with plugins');
is(get('/plug')->{headers}{'x-plugins'}, 'echo',
   '$gw_route_plugins: the route\'s plugins in its configuration');
is(get('/exact2')->{headers}{'x-plugins'}, undef,
   'a route without: empty');

update('routes', 'plug', { paths => ['/plug'], plugins => ['p1', 'p2'],
                           upstream => 'u1' });
ok(until_true(sub { (get('/plug')->{headers}{'x-plugins'} // '')
                    eq 'echo,tag-it' }),
   'the route\'s plugins changed: a new configuration, no reload');

# a policy of another module (key auth), through the same mechanism: the
# route's configuration runs the module's own access handler (in a
# location that proxies: "return" would answer before the access phase)
create('routes', 'keyed', { paths => ['/keyed'], key_auth => JSON::PP::true,
                            upstream => 'u1' });
ok(until_true(sub { get('/keyed')->{status} == 401 }),
   'a route with key_auth: 401 without a key');
is(problem(get('/keyed'))->{type}, 'urn:tollgate:problem:key-missing',
   'the key auth module\'s own problem');
is(get('/plug')->{status}, 200, 'the other routes do not ask for a key');
update('routes', 'keyed', { paths => ['/keyed'], upstream => 'u1' });
ok(until_true(sub { get('/keyed')->{status} == 200 }),
   'key_auth removed: served without a key, no reload');

# a policy the gateway refuses (a plugin config over its 64 KiB cap, which
# the admin API, with DOC_MAX 256k here, accepts): 500, logged once
create('plugins', 'big', { name => 'big', config => { blob => 'x' x 70000 } });
create('routes', 'bad-policy', { paths => ['/bad'], plugins => ['big'],
                                 upstream => 'u1' });
ok(until_true(sub { get('/bad')->{status} == 500 }),
   'a policy that does not build: 500');
$r = get('/bad');
is(problem($r)->{type}, 'urn:tollgate:problem:route-policy-invalid',
   'the route-policy-invalid problem');
# until both workers have made (and refused) it: then one line each
sub refused { grep { /route "bad-policy".*does not build/ } $gw->error_log }
for (1 .. 200) {
    last if refused() >= 2;
    get('/bad');
}
my @refused = refused();
is(scalar @refused, 2, 'logged once per worker, whatever the requests')
    or diag @refused;
like($refused[0] // '', qr/"plugins"\[0\]: "config" is over 65536 bytes/,
     'naming the member');
is(route_of(get('/plug')), 'plug', 'the other routes keep serving');

# another change: a new snapshot, the refused policy unchanged, so its
# (route, policy_hash) is not built again, nor logged again
update('routes', 'c-none', { paths => ['/c', '/c2'], upstream => 'u1' });
ok(until_true(sub { route_of(get('/c2')) eq 'c-none' }), 'another change');
get('/bad') for 1 .. 20;
is(scalar(refused()), 2,
   'the refused policy is not built again in a newer snapshot');

# ---- attacks ----------------------------------------------------------------

for my $bad ('%0d%0aX-Injected:%201', '%01', '%7f', '%1b[31m') {
    $r = get("/users/$bad/orders/1");
    is($r->{status}, 400, "a control byte in the path ($bad): 400");
    is(problem($r)->{type}, 'urn:tollgate:problem:bad-path', 'bad-path');
    ok(!exists $r->{headers}{'x-injected'} && !defined $r->{headers}{'x-id'},
       'no variable carries it into a header');
}
is(get('/users/%00/orders/1')->{status}, 400, '%00: nginx refuses it');

$r = req("GET /h HTTP/1.1\r\nHost: a.example.com\r\nHost: other.test\r\n"
         . "Connection: close\r\n\r\n");
is($r->{status}, 400, 'two Host headers: 400 from nginx');
is(route_of($r), '', 'not routed');
$r = req("GET http://a.example.com/h HTTP/1.1\r\nHost: other.test\r\n"
         . "Connection: close\r\n\r\n");
is(route_of($r), 'host', 'absolute form: routed by the request line\'s host');
$r = req("GET http://other.test/h HTTP/1.1\r\nHost: a.example.com\r\n"
         . "Connection: close\r\n\r\n");
is(route_of($r), 'any-host', 'not by the Host header');
is(get('/h', Host => 'evil.test/a.example.com')->{status}, 400,
   'a Host with a slash: 400');
is(get('/h', Host => 'a.example.com..')->{status}, 400,
   'a Host with two dots: 400');
$r = get('/h', Host => 'a.example.com@evil.test');
is(route_of($r), 'any-host', 'userinfo-like Host: not the wildcard route');
$r = get('/h', Host => ('a' x 260) . '.example.com');
is(route_of($r), 'any-host', 'a host over 253 bytes: any-host routes only');
$r = req("GET /h HTTP/1.0\r\n\r\n");
is(route_of($r), 'any-host', 'HTTP/1.0 without Host: any-host routes');

$r = get('/files/' . ('a/' x 3000) . 'z');
is(route_of($r), 'prefix', 'a 6 KB path under a prefix: routed');
$r = get('/users/' . ('x' x 4000) . '/orders/1');
is(route_of($r), 'tmpl', 'a 4 KB segment: a template variable');
is(length($r->{headers}{'x-id'} // ''), 4000, 'its value whole');
$r = get('/' . join('/', (1) x 40));
is($r->{status}, 404, '40 segments: 404');
$r = get('/' . ('a' x 9000));
is($r->{status}, 414, 'over nginx\'s buffers: 414 from nginx');

my @bad = grep { /\[(error|crit|alert|emerg)\]/
                 && !/route "bad-policy".*does not build/ } $gw->error_log;
is(scalar @bad, 0, 'nothing else logged at [error] or above') or diag @bad;

$gw->stop;
Metadata::stop($md);
done_testing();
