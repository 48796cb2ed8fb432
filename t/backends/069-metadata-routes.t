# Routes and upstreams the gateway serves (docs/admin-api.md, "Routes
# and upstreams the gateway serves"): every path kind of lib/router, its
# conditions, splits, stickiness, policies and versions accepted; what
# lib/router refuses refused with its message at the member; regexes
# that do not compile or could backtrack catastrophically (the static
# check and the probe) refused; conflicts with templated paths (names do
# not count), regexes, hosts in any case and conditions (exclusive ones
# are not conflicts) as 409s; every reference of a route (splits,
# limits, the three schemas, plan, plugins) dangling refused and its
# target's delete refused; upstream targets that are not IP literals
# refused (no name resolution at run time), hash_on and passive checked;
# PUT /v1/config applies the same checks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address);

my $T = JSON::PP::true;
my $n = 0;

sub create {
    my ($path, $body) = @_;
    return Metadata::call($svc, 'PUT', $path, $body, 'If-None-Match' => '*');
}

sub del {
    my ($path) = @_;
    return Metadata::call($svc, 'DELETE', $path, undef, 'If-Match' => '*');
}

sub errs {
    my ($json) = @_;
    return join ' | ', map { "$_->{pointer}: $_->{message}" }
                           @{ $json->{errors} || [] };
}

# a route (upstream u1 unless it says) refused with 422 at $ptr, its
# message matching $re
sub refused {
    my ($route, $ptr, $re, $what) = @_;
    $route->{upstream} //= 'u1';
    my ($st, $json) = create('/v1/routes/bad' . ++$n, $route);
    is($st, 422, "$what: 422") or diag(errs($json));
    my ($e) = grep { $_->{pointer} eq $ptr } @{ $json->{errors} || [] };
    ok($e, "... at $ptr") or diag(errs($json));
    like($e ? $e->{message} : '', $re, '... saying why');
}

sub accepted {
    my ($id, $route, $what) = @_;
    $route->{upstream} //= 'u1';
    my ($st, $json) = create("/v1/routes/$id", $route);
    is($st, 201, "$what: 201") or diag(errs($json));
}

sub conflict {
    my ($id, $route, $ptr, $re, $what) = @_;
    $route->{upstream} //= 'u1';
    my ($st, $json) = create("/v1/routes/$id", $route);
    is($st, 409, "$what: 409") or diag(errs($json));
    is($json->{errors}[0]{pointer} // '', $ptr, "... at $ptr");
    like($json->{errors}[0]{message} // '', $re, '... saying why');
}

# ---- the entities routes refer to --------------------------------------------

for my $u (1 .. 4) {
    my ($st, $json) = create("/v1/upstreams/u$u",
        { targets => [{ address => "10.0.0.$u:8080", weight => 5 }] });
    is($st, 201, "upstream u$u") or diag(errs($json));
}

is((create('/v1/schemas/s1', { schema => { type => 'object' } }))[0], 201,
   'schema s1');
is((create('/v1/schemas/s2', { schema => { type => 'object' } }))[0], 201,
   'schema s2');
is((create('/v1/limits/l1', { kind => 'rate', rate => '10r/s' }))[0], 201,
   'limit l1');
# rates as gw_limit takes them: per second or minute, not per hour
is((create('/v1/limits/l2', { kind => 'rate', rate => '600r/m' }))[0], 201,
   'limit l2, per minute');
is((create('/v1/limits/l3', { kind => 'rate', rate => '10r/h' }))[0], 422,
   'a rate per hour is refused (gw_limit has none)');
is((create('/v1/plans/p1', { limits => ['l1'] }))[0], 201, 'plan p1');
is((create('/v1/plugins/g1', { name => 'echo' }))[0], 201, 'plugin g1');

# ---- every path kind, condition, policy and version member -------------------

accepted('k-exact', { paths => ['/k/exact'] }, 'an exact path');
accepted('k-prefix', { paths => ['/k/prefix/*'] }, 'a prefix');
accepted('k-tmpl', { paths => ['/k/users/{id}/orders/{oid}'] },
         'a templated path');
accepted('k-regex', { paths => ['~^/k/re/[0-9]+$'] }, 'a regex path');
accepted('k-hosts', { paths => ['/k/h'],
                      hosts => ['api.example.com', '*.example.net'] },
         'exact and wildcard hosts');
accepted('k-conds', { paths => ['/k/c'], headers => { 'X-Tier' => 'gold',
                      'X-Trace' => undef }, args => { v => '2', debug => undef } },
         'header and argument conditions');

my $full = {
    paths => ['/v2/orders/{id}'], methods => ['GET', 'POST'],
    priority => 10, upstream => 'u1',
    splits => [{ upstream => 'u2', weight => 5.25 },
               { upstream => 'u3', weight => 94.75 }],
    sticky => 'cookie:sid',
    key_auth => { header => 'X-Key', query => 'key' },
    jwt => { issuer => 'https://id.example.com',
             audiences => ['https://api.example.com'],
             jwks_url => 'https://id.example.com/jwks.json',
             scopes => ['orders:read'], scope_mode => 'any',
             algorithms => ['ES256', 'RS256', 'EdDSA'] },
    auth => { satisfy => 'any' }, plan => 'p1', limits => ['l1'],
    schema => 's1', args_schema => 's2', headers_schema => 's1',
    request_id => $T, plugins => ['g1'],
    api_version => 'v2', deprecated_at => '2026-01-01T00:00:00Z',
    sunset_at => '2027-01-01T00:00:00Z', successor => '/v3/orders',
    deprecation_link => 'https://docs.example.com/v2',
    sunset_status => 404,
};
accepted('full', $full, 'a route with every member');
my ($st, $json) = Metadata::call($svc, 'GET', '/v1/routes/full');
is_deeply([@$json{qw(sticky sunset_status successor)}],
          ['cookie:sid', 404, '/v3/orders'], '... read back');
accepted('k-ka', { paths => ['/k/ka'], key_auth => $T,
                   jwt => { jwks_url => 'http://127.0.0.1:8085/jwks' },
                   sticky => 'header:X-User' },
         'key_auth true, a JWKS URL on loopback over http');

# ---- what lib/router refuses, with its message -------------------------------

refused({ paths => ['/a/{x}/{x}'] }, '/paths/0', qr/duplicate variable "x"/,
        'a variable twice');
refused({ paths => ['/a', '/a/./b'] }, '/paths/1', qr/dot segment/,
        'a dot segment');
refused({ paths => ['/a/{x}/*'] }, '/paths/0', qr/prefix cannot hold/,
        'a variable in a prefix');
refused({ paths => ['/a/b{x}'] }, '/paths/0', qr/not a variable/,
        'a brace inside a segment');
refused({ paths => ['~(a'] }, '/paths/0', qr/bad regular expression/,
        'a regex that does not compile');
refused({ paths => ['/u/{a}', '/u/{b}'] }, '/paths/1', qr/same pattern/,
        'two paths of one pattern (names do not count)');
refused({ paths => ['/a'], hosts => ['a.*.com'] }, '/hosts/0',
        qr/not a DNS label/, 'a star inside a host');
refused({ paths => ['/a'], hosts => ['Bad_Host'] }, '/hosts/0',
        qr/not a DNS label/, 'an underscore in a host');
refused({ paths => ['/a'], hosts => ['a.com', 'A.com'] }, '/hosts/1',
        qr/duplicate/, 'a host twice, in two cases');
refused({ paths => ['/a'], headers => { 'Bad Name' => '1' } },
        '/headers/Bad Name', qr/not allowed/, 'a header name not a token');
refused({ paths => ['/a'], args => { 'a&b' => undef } }, '/args/a&b',
        qr/not allowed/, 'an argument name with &');
refused({ paths => ['/a'], args => { v => 'x&y' } }, '/args/v',
        qr/"&" or "#"/, 'an argument value with &');
refused({ paths => ['/a'], headers => { map { ("X-H$_" => '1') } 1 .. 9 } },
        '/headers', qr/9 properties|at most 8|maxProperties|more than/i,
        'nine header conditions');
refused({ paths => ["/a\x01"] }, '/paths/0', qr/./, 'a control byte');

# ---- regexes that could backtrack catastrophically ---------------------------

refused({ paths => ['~^/(a+)+$'] }, '/paths/0',
        qr/offset 6 .*catastrophically/, '(a+)+');
refused({ paths => ['~^/x/(a|a)*$'] }, '/paths/0',
        qr/same character.*catastrophically/, '(a|a)*');
refused({ paths => ['~^/(.*)*$'] }, '/paths/0', qr/catastrophically/,
        '(.*)*');
refused({ paths => ['~^/w/(\w+\s?)+$'] }, '/paths/0', qr/catastrophically/,
        '(\w+\s?)+');
refused({ paths => ['~^/(?:a?){24}a{24}$'] }, '/paths/0',
        qr/probe of \d+ bytes .*match limit \(100000 steps/,
        'one only the probe finds');
accepted('k-safe', { paths => ['~^/w/(\w+\s)+$', '~^/f/([^/]+/)*x$',
                               '~^/p/(?>a+)+$'] },
         'separated, atomic repeats');

# ---- splits, sticky, policies, versions --------------------------------------

refused({ paths => ['/a'], splits => [{ upstream => 'u2', weight => 0.005 }] },
        '/splits/0/weight', qr/multiple of 0\.01/, 'a weight of 0.005');
refused({ paths => ['/a'], splits => [{ upstream => 'u2', weight => 60 },
                                      { upstream => 'u3', weight => 40.01 }] },
        '/splits', qr/100\.01, over 100/, 'weights over 100');
refused({ paths => ['/a'], splits => [{ upstream => 'u2', weight => 1 },
                                      { upstream => 'u2', weight => 1 }] },
        '/splits/1/upstream', qr/already/, 'an upstream split twice');
refused({ paths => ['/a'], splits => [{ upstream => 'u2', weight => 101 }] },
        '/splits/0/weight', qr/./, 'a weight of 101');
refused({ paths => ['/a'], splits => [map { { upstream => "u$_", weight => 1 } }
                                      1 .. 9] },
        '/splits', qr/./, 'nine splits');
refused({ paths => ['/a'], sticky => 'header:' }, '/sticky', qr/./,
        'sticky on a header without a name');
refused({ paths => ['/a'], sticky => 'session' }, '/sticky', qr/./,
        'sticky on something unknown');
refused({ paths => ['/a'], jwt => { jwks_url => 'https://x/j',
                                    algorithms => ['HS256'] } },
        '/jwt/algorithms/0', qr/./, 'HS256 (no shared secret by JWKS)');
refused({ paths => ['/a'], jwt => { jwks_url => 'https://x/j',
                                    algorithms => ['none'] } },
        '/jwt/algorithms/0', qr/./, 'alg none');
refused({ paths => ['/a'], jwt => { jwks_url => 'http://id.example.com/j' } },
        '/jwt/jwks_url', qr/loopback/, 'a JWKS URL over http, not loopback');
refused({ paths => ['/a'], jwt => { jwks_url => 'https://u@x/j' } },
        '/jwt/jwks_url', qr/user information/, 'a JWKS URL with a user');
refused({ paths => ['/a'], jwt => { issuer => 'x' } }, '/jwt/jwks_url',
        qr/./, 'a jwt policy without jwks_url');
refused({ paths => ['/a'], jwt => { jwks_url => 'https://x/j',
                                    scope_mode => 'some' } },
        '/jwt/scope_mode', qr/./, 'a scope_mode not listed');
refused({ paths => ['/a'], auth => { satisfy => 'one' } }, '/auth/satisfy',
        qr/./, 'a satisfy not listed');
refused({ paths => ['/a'], key_auth => JSON::PP::false }, '/key_auth',
        qr/./, 'key_auth false');
refused({ paths => ['/a'], request_id => 'yes' }, '/request_id', qr/./,
        'request_id not a boolean');
refused({ paths => ['/a'], sunset_status => 302 }, '/sunset_status', qr/./,
        'a sunset status of 302');
refused({ paths => ['/a'], successor => 'v3' }, '/successor', qr/./,
        'a successor neither a URL nor a path');
refused({ paths => ['/a'], deprecation_link => '/docs' }, '/deprecation_link',
        qr/./, 'a deprecation link not a URL');
refused({ paths => ['/a'], deprecated_at => '2027-01-01T00:00:00Z',
          sunset_at => '2026-01-01T00:00:00Z' }, '/sunset_at',
        qr/before the deprecation/, 'a sunset before the deprecation');

# ---- references ---------------------------------------------------------------

for my $c ([splits => [{ upstream => 'nope', weight => 1 }],
            '/splits/0/upstream'],
           [limits => ['l1', 'nope'], '/limits/1'],
           [args_schema => 'nope', '/args_schema'],
           [headers_schema => 'nope', '/headers_schema'],
           [schema => 'nope', '/schema'], [plan => 'nope', '/plan'],
           [plugins => ['nope'], '/plugins/0'])
{
    conflict('dangling' . ++$n, { paths => ["/d$n"], $c->[0] => $c->[1] },
             $c->[2], qr/nope, which does not exist/,
             "a dangling reference in $c->[0]");
}

for my $c (['/v1/upstreams/u3', 'a split'], ['/v1/schemas/s2', 'args_schema'],
           ['/v1/limits/l1', 'limits'], ['/v1/plugins/g1', 'plugins'])
{
    ($st, $json) = del($c->[0]);
    is($st, 409, "a delete of what $c->[1] refers to: 409");
    like($json->{errors}[0]{message} // '',
         qr{(routes/full|plans/p1) refers}, '... naming the referrer');
}

# ---- conflicts -----------------------------------------------------------------

accepted('t1', { paths => ['/t/{id}'] }, 'a template');
conflict('t2', { paths => ['/t/{name}'] }, '/paths/0',
         qr{same requests \(0 \* GET /t/\{\}\)},
         'the same template, other names');
accepted('t3', { paths => ['/t/{name}'], methods => ['DELETE'],
                 priority => 1 }, '... at another priority');
accepted('t4', { paths => ['/t/me'] }, 'an exact path under a template');
accepted('x1', { paths => ['~^/x/[0-9]+$'] }, 'a regex');
conflict('x2', { paths => ['/x2', '~^/x/[0-9]+$'] }, '/paths/1',
         qr/same requests/, 'the same regex');
accepted('h1', { paths => ['/h'], hosts => ['API.example.com'] },
         'a host in capitals');
conflict('h2', { paths => ['/h'], hosts => ['api.example.com'] }, '/paths/0',
         qr/api\.example\.com/, 'the same host in lowercase');

accepted('c1', { paths => ['/c'], headers => { 'X-Canary' => '1' } },
         'a header condition');
accepted('c2', { paths => ['/c'], headers => { 'x-canary' => '2' } },
         'the same header, another value: exclusive');
conflict('c3', { paths => ['/c'], headers => { 'X-Other' => '1' } },
         '/paths/0', qr{0 \* GET /c if header x-other=1},
         'another header, as many conditions: not exclusive');
conflict('c4', { paths => ['/c'], headers => { 'X-Canary' => undef } },
         '/paths/0', qr/if header x-canary\)/,
         'the header present, any value: not exclusive');
accepted('c5', { paths => ['/c'] }, 'no condition: fewer, ranks after');
accepted('c6', { paths => ['/c'], headers => { 'X-Canary' => '1' },
                 args => { v => '1' } }, 'more conditions');
accepted('c7', { paths => ['/c'], headers => { 'X-Canary' => '2' },
                 args => { v => '1' } }, '... and exclusive by the header');
conflict('c8', { paths => ['/c'], args => { v => '1', w => '1' } },
         '/paths/0', qr/if arg v=1, arg w=1/,
         'two conditions, none exclusive');

($st) = Metadata::call($svc, 'PUT', '/v1/routes/c1',
    { paths => ['/c'], headers => { 'X-Canary' => '1' }, upstream => 'u2' },
    'If-Match' => '*');
is($st, 200, 'an update keeps its own conditioned keys');
($st) = del('/v1/routes/c1');
is($st, 204, 'c1 deleted');
conflict('c3', { paths => ['/c'], headers => { 'X-Other' => '1' } },
         '/paths/0', qr/x-other/, '... c2 still clashes');
($st) = del('/v1/routes/c2');
is($st, 204, 'c2 deleted');
accepted('c3', { paths => ['/c'], headers => { 'X-Other' => '1' } },
         '... then its conflict is gone with it');
conflict('c9', { paths => ['/c'], headers => { 'x-other' => '1' } },
         '/paths/0', qr/x-other/, '... and held by the new one');

# ---- upstreams -----------------------------------------------------------------

sub up_refused {
    my ($body, $ptr, $re, $what) = @_;
    my ($st, $json) = create('/v1/upstreams/bad' . ++$n, $body);
    is($st, 422, "$what: 422");
    my ($e) = grep { $_->{pointer} eq $ptr } @{ $json->{errors} || [] };
    ok($e, "... at $ptr") or diag(errs($json));
    like($e ? $e->{message} : '', $re, '... saying why');
}

up_refused({ targets => [{ address => 'backend.internal:8080' }] },
           '/targets/0/address', qr/does not resolve host names/,
           'a host name');
up_refused({ targets => [{ address => '10.0.0.1:80' },
                         { address => 'localhost:80' }] },
           '/targets/1/address', qr/not an IP address/, 'localhost');
up_refused({ targets => [{ address => '300.1.1.1:80' }] },
           '/targets/0/address', qr/not an IP address/, 'an IPv4 over 255');
up_refused({ targets => [{ address => '[zz::1]:80' }] },
           '/targets/0/address', qr/not an IP address|pattern/,
           'a bad IPv6');
up_refused({ targets => [{ address => '10.0.0.1' }] },
           '/targets/0/address', qr/./, 'no port');
up_refused({ targets => [{ address => '10.0.0.1:80' }], hash_on => 'ip' },
           '/hash_on', qr/algorithm "hash"/, 'hash_on without hash');
up_refused({ targets => [{ address => '10.0.0.1:80' }], algorithm => 'hash',
             hash_on => 'body' }, '/hash_on', qr/./, 'hash_on unknown');
up_refused({ targets => [{ address => '10.0.0.1:80' }],
             passive => { max_fails => 0 } }, '/passive/max_fails', qr/./,
           'max_fails 0');
up_refused({ targets => [{ address => '10.0.0.1:80' }],
             passive => { max_fails => 101 } }, '/passive/max_fails', qr/./,
           'max_fails 101');
up_refused({ targets => [{ address => '10.0.0.1:80' }],
             passive => { window_ms => 99 } }, '/passive/window_ms', qr/./,
           'window_ms 99');
up_refused({ targets => [{ address => '10.0.0.1:80' }],
             passive => { fail_timeout_ms => 3600001 } },
           '/passive/fail_timeout_ms', qr/./, 'fail_timeout_ms over an hour');
($st, $json) = create('/v1/upstreams/ok6',
    { targets => [{ address => '[2001:db8::1]:443', weight => 2 },
                  { address => '127.0.0.1:8080' }],
      algorithm => 'hash', hash_on => 'header:X-User',
      passive => { max_fails => 3, window_ms => 10000,
                   fail_timeout_ms => 10000 },
      health_check => { path => '/healthz', interval_ms => 1000 } });
is($st, 201, 'IPv6 and IPv4 targets, hash_on, passive, health_check')
    or diag(errs($json));

# ---- PUT /v1/config: the same checks ------------------------------------------

# on a store of its own: a document replaces the types it lists
my $redis2 = Tollgate::Redis->start;
my $svc2 = Metadata::start(redis => $redis2->address);

sub apply {
    my ($doc) = @_;
    my (undef, $snap) = Metadata::call($svc2, 'GET', '/v1/snapshot');
    $doc->{expected_revision} = $snap->{revision};
    return Metadata::call($svc2, 'PUT', '/v1/config', $doc);
}

my $base = { upstreams => [{ id => 'cu', targets =>
                             [{ address => '10.9.0.1:80' }] }] };

($st, $json) = apply({ entities => { %$base, routes => [
    { id => 'cr1', paths => ['/cfg'], upstream => 'cu' },
    { id => 'cr2', paths => ['~^/cfg/(a+)+$'], upstream => 'cu' }] } });
is($st, 422, 'config: a catastrophic regex: 422');
like(errs($json), qr{/entities/routes/1/paths/0: .*catastrophically},
     '... at its path');

($st, $json) = apply({ entities => {
    upstreams => [{ id => 'cu', targets => [{ address => 'cu.test:80' }] }],
    routes => [{ id => 'cr1', paths => ['/cfg'], upstream => 'cu' }] } });
is($st, 422, 'config: a target by name: 422');
like(errs($json), qr{/entities/upstreams/0/targets/0/address: .*resolve},
     '... at its address');

($st, $json) = apply({ entities => { %$base, routes => [
    { id => 'cr1', paths => ['/cfg/{a}'], upstream => 'cu' },
    { id => 'cr2', paths => ['/cfg/{b}'], upstream => 'cu' }] } });
is($st, 409, 'config: two routes of one template: 409');
like($json->{detail} // '', qr{routes/cr2.*/cfg/\{\}}, '... naming both');

($st, $json) = apply({ entities => { %$base, routes => [
    { id => 'cr1', paths => ['/cfg'], upstream => 'cu',
      headers => { 'X-V' => '1' } },
    { id => 'cr2', paths => ['/cfg'], upstream => 'cu',
      headers => { 'X-V' => '2' } },
    { id => 'cr3', paths => ['/cfg'], upstream => 'cu',
      splits => [{ upstream => 'cu2', weight => 10 }] }] } });
is($st, 409, 'config: a split to an upstream not in it: 409');

($st, $json) = apply({ entities => { %$base, routes => [
    { id => 'cr1', paths => ['/cfg'], upstream => 'cu',
      headers => { 'X-V' => '1' } },
    { id => 'cr2', paths => ['/cfg'], upstream => 'cu',
      headers => { 'X-V' => '2' } }] } });
is($st, 200, 'config: exclusive conditions: 200') or diag(errs($json));

Metadata::stop($svc2);
Metadata::stop($svc);
done_testing();
