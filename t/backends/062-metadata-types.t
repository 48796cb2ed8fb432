# The metadata service's types (docs/admin-api.md, "Types and
# validation"): every built-in type's schema refuses wrong types,
# unknown members and values just past each cap, with errors[] pointers;
# the document checks (a sunset before its deprecation, a schema that
# does not compile); references (a route to a missing upstream, a delete
# of a referenced upstream) and route overlaps as 409s; the schemas
# served with ETags; user-defined types registered, validating their
# entities, seen by a second instance and by one started later, and not
# deletable while entities exist.

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
my $a = Metadata::start(redis => $redis->address);
my $b = Metadata::start(redis => $redis->address);

sub create {
    my ($svc, $path, $body) = @_;
    return Metadata::call($svc, 'PUT', $path, $body, 'If-None-Match' => '*');
}

sub pointers {
    my ($json) = @_;
    return join ' ', map { $_->{pointer} } @{ $json->{errors} || [] };
}

# ---- the schemas, served ---------------------------------------------------

for my $t (qw(consumers keys routes upstreams plans limits schemas plugins
              clients types))
{
    my ($st, $json, $r) = Metadata::call($a, 'GET', "/v1/types/$t/schema");
    is($st, 200, "schema of $t served");
    like($r->{headers}{'content-type'}, qr{^application/schema\+json},
         "$t: application/schema+json");
    is($json->{'$schema'}, 'https://json-schema.org/draft/2020-12/schema',
       "$t: draft 2020-12") if ref $json;
    ok($json->{additionalProperties} eq '0'
       || !$json->{additionalProperties}, "$t: no unknown members")
        if ref $json;
}

{
    my ($st, undef, $r) = Metadata::call($a, 'GET', '/v1/types/routes/schema');
    my $etag = Metadata::etag($r);
    like($etag, qr/^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
    like($r->{headers}{'cache-control'}, qr/max-age=\d+/, 'cacheable');
    my ($st2) = Metadata::call($a, 'GET', '/v1/types/routes/schema',
                               undef, 'If-None-Match' => $etag);
    is($st2, 304, 'If-None-Match: 304');
    my (undef, undef, $rb) = Metadata::call($b, 'GET', '/v1/types/routes/schema');
    is(Metadata::etag($rb), $etag, 'the same ETag on every instance');
    my ($st3, $p) = Metadata::call($a, 'GET', '/v1/types/nope/schema');
    is($st3, 404, 'an unknown type: 404');
    is($p->{type}, 'urn:tollgate:problem:not-found', '... not-found');
    my ($st4) = Metadata::call($a, 'GET', '/v1/types/routes/schema',
                               undef, as => undef);
    is($st4, 401, 'a schema needs the read role');
    my ($st5) = Metadata::call($a, 'GET', '/v1/types/routes/schema',
                               undef, as => 'read');
    is($st5, 200, '... which is enough');
    my ($st6, undef, $r6) = Metadata::call($a, 'PUT',
        '/v1/types/routes/schema', {}, 'If-Match' => '*');
    is($st6, 405, 'a schema is not written: 405');
    like($r6->{headers}{allow} // '', qr/GET/, '... with Allow');
    my ($st7) = Metadata::call($a, 'GET', '/v1/types/routes/other');
    is($st7, 404, 'another member of a type: 404');
    my ($st8) = Metadata::call($a, 'GET', '/v1/schemas/routes');
    is($st8, 404, '/v1/schemas/routes is the schemas entity: none');
}

for my $t (qw(routes types schemas)) {
    my ($st, $p) = create($a, "/v1/types/$t", { schema => {} });
    is($st, 409, "a user type named as the built-in $t: 409");
    is($p->{type}, 'urn:tollgate:problem:conflict', '... conflict');
}

# ---- validation: each built-in type ---------------------------------------

my $long = 'a' x 129;
my @tags33 = map { "t$_" } 1 .. 33;

# (a key's prefix and a client's secret_hash are not here: what a
# client sends for them is ignored, t/backends/060-metadata-entity.t)
my @invalid = (
    # type, body, pointer, what
    [consumers => { name => 5 }, '/name', 'a wrong type'],
    [consumers => { nick => 'x' }, '/nick', 'an unknown member'],
    [consumers => { name => $long }, '/name', 'a name of 129'],
    [consumers => { status => 'gone' }, '/status', 'a status not listed'],
    [consumers => { tags => \@tags33 }, '/tags', '33 tags'],
    [consumers => { tags => ['a b'] }, '/tags/0', 'a tag with a space'],
    [consumers => { plan => 'no way' }, '/plan', 'a malformed ref'],
    [keys => { status => 'active' }, '/consumer', 'no consumer'],
    [keys => { consumer => 'c1', expires => -1 }, '/expires',
     'expires below 0'],
    [keys => { consumer => 'c1', expires => 253402300800 }, '/expires',
     'expires past 9999'],
    [keys => { consumer => 'c1', expires => 1.5 }, '/expires',
     'expires not an integer'],
    [keys => { consumer => 'c1', status => 'disabled' }, '/status',
     'a key status not listed'],
    [keys => { consumer => 'c1', secret => 'x' }, '/secret',
     'a secret member'],
    [routes => { upstream => 'u1' }, '/paths', 'no paths'],
    [routes => { paths => ['/a'] }, '/upstream', 'no upstream'],
    [routes => { paths => [], upstream => 'u1' }, '/paths', 'no path'],
    [routes => { paths => ['a'], upstream => 'u1' }, '/paths/0',
     'a path without /'],
    [routes => { paths => ['/a*'], upstream => 'u1' }, '/paths/0',
     'a star not after /'],
    [routes => { paths => ['/a b'], upstream => 'u1' }, '/paths/0',
     'a path with a space'],
    [routes => { paths => ['/' . 'p' x 512], upstream => 'u1' },
     '/paths/0', 'a path of 513'],
    [routes => { paths => [map { "/p$_" } 1 .. 17], upstream => 'u1' },
     '/paths', '17 paths'],
    [routes => { paths => ['/a'], upstream => 'u1', methods => ['get'] },
     '/methods/0', 'a lowercase method'],
    [routes => { paths => ['/a'], upstream => 'u1',
                 methods => ['GET', 'GET'] }, '/methods', 'a method twice'],
    [routes => { paths => ['/a'], upstream => 'u1', priority => 1001 },
     '/priority', 'priority 1001'],
    [routes => { paths => ['/a'], upstream => 'u1', priority => -1 },
     '/priority', 'priority -1'],
    [routes => { paths => ['/a'], upstream => 'u1', priority => '1' },
     '/priority', 'priority as a string'],
    [routes => { paths => ['/a'], upstream => 'u1',
                 hosts => ['Bad_Host'] }, '/hosts/0', 'a bad host'],
    [routes => { paths => ['/a'], upstream => 'u1',
                 plugins => [map { "p$_" } 1 .. 33] }, '/plugins',
     '33 plugins'],
    [routes => { paths => ['/a'], upstream => 'u1', api_version => 'v 1' },
     '/api_version', 'an API version with a space'],
    [routes => { paths => ['/a'], upstream => 'u1',
                 sunset_at => 'tomorrow' }, '/sunset_at',
     'a sunset not a date-time'],
    [routes => { paths => ['/a'], upstream => 'u1', weight => 1 },
     '/weight', 'an unknown route member'],
    [upstreams => { targets => [] }, '/targets', 'no targets'],
    [upstreams => {}, '/targets', 'targets missing'],
    [upstreams => { targets => [{ address => 'h' }] },
     '/targets/0/address', 'an address without a port'],
    [upstreams => { targets => [{ address => 'h:65536' }] },
     '/targets/0/address', 'port 65536'],
    [upstreams => { targets => [{ address => '10.0.0.1:80', weight => 0 }] },
     '/targets/0/weight', 'weight 0'],
    [upstreams => { targets => [{ address => '10.0.0.1:80', weight => 1001 }] },
     '/targets/0/weight', 'weight 1001'],
    [upstreams => { targets => [{ address => '10.0.0.1:80', up => 1 }] },
     '/targets/0/up', 'an unknown target member'],
    [upstreams => { targets => [map { { address => "10.0.0.$_:80" } } 1 .. 65] },
     '/targets', '65 targets'],
    [upstreams => { targets => [{ address => '10.0.0.1:80' }],
                    algorithm => 'random' }, '/algorithm',
     'an algorithm not listed'],
    [upstreams => { targets => [{ address => '10.0.0.1:80' }],
                    health_check => { interval_ms => 99 } },
     '/health_check/interval_ms', 'interval_ms 99'],
    [upstreams => { targets => [{ address => '10.0.0.1:80' }],
                    health_check => { timeout_ms => 60001 } },
     '/health_check/timeout_ms', 'timeout_ms 60001'],
    [upstreams => { targets => [{ address => '10.0.0.1:80' }],
                    health_check => { healthy => 101 } },
     '/health_check/healthy', 'healthy 101'],
    [upstreams => { targets => [{ address => '10.0.0.1:80' }],
                    health_check => { path => 'x' } },
     '/health_check/path', 'a health path without /'],
    [plans => { name => '' }, '/name', 'an empty name'],
    [plans => { limits => [1] }, '/limits/0', 'a ref not a string'],
    [plans => { limits => [map { "l$_" } 1 .. 33] }, '/limits',
     '33 limits'],
    [limits => {}, '/kind', 'no kind'],
    [limits => { kind => 'rate' }, '/rate', 'a rate limit without rate'],
    [limits => { kind => 'quota' }, '/quota', 'a quota without quota'],
    [limits => { kind => 'rate', rate => '0r/s' }, '/rate', 'rate 0r/s'],
    [limits => { kind => 'rate', rate => '10r/s',
                 quota => { count => 1, window => '1s' } }, '/quota',
     'a quota on a rate limit'],
    [limits => { kind => 'quota', quota => { count => 0, window => '1s' } },
     '/quota/count', 'count 0'],
    [limits => { kind => 'quota',
                 quota => { count => 1000000000001, window => '1s' } },
     '/quota/count', 'count past 10^12'],
    [limits => { kind => 'quota', quota => { count => 1, window => '1y' } },
     '/quota/window', 'a window in years'],
    [limits => { kind => 'rate', rate => '1r/s', key => 'user' }, '/key',
     'a key not listed'],
    [limits => { kind => 'rate', rate => '1r/s', scope => 'world' },
     '/scope', 'a scope not listed'],
    [schemas => {}, '/schema', 'no schema'],
    [schemas => { schema => 5 }, '/schema', 'a schema not an object'],
    [schemas => { schema => { type => 'nonsense' } }, '/schema/type',
     'a schema that does not compile'],
    [schemas => { schema => { pattern => '(' } }, '/schema/pattern',
     'a schema with a bad regex'],
    [plugins => {}, '/name', 'no name'],
    [plugins => { name => 'Bad' }, '/name', 'a name with a capital'],
    [plugins => { name => 'p', config => [] }, '/config',
     'config not an object'],
    [plugins => { name => 'p', enabled => 'yes' }, '/enabled',
     'enabled not a bool'],
    [clients => { jwk => { kty => 'EC', d => 'x' } }, '/jwk/d',
     'a private JWK'],
    [clients => { jwk => { kty => 'oct', k => 'x' } }, '/jwk/kty',
     'a symmetric JWK'],
    [clients => { auth => ['basic'] }, '/auth/0', 'an auth not listed'],
    [clients => { grants => ['password'] }, '/grants/0',
     'a grant not listed'],
    [clients => { scopes => ['a b'] }, '/scopes/0', 'a scope with a space'],
    [clients => { name => $long }, '/name', 'a client name of 129'],
    [clients => { secret => 'x' }, '/secret', 'a secret member'],
);

my $n = 0;
for my $c (@invalid) {
    my ($type, $body, $ptr, $what) = @$c;
    $n++;
    my ($st, $json, $r) = create($a, "/v1/$type/x$n", $body);
    is($st, 422, "$type: $what: 422");
    is($json->{type}, 'urn:tollgate:problem:validation-failed',
       "$type: $what: validation-failed") if ref $json;
    like(pointers($json), qr/(^| )\Q$ptr\E( |$)/,
         "$type: $what: points at $ptr") or diag explain $json;
}

# nothing above was written
my ($st, $json) = Metadata::call($a, 'GET', '/v1/consumers/x1');
is($st, 404, 'a refused entity is not written');

# ---- references -------------------------------------------------------------

($st, $json) = create($a, '/v1/routes/r1',
                      { paths => ['/a'], upstream => 'u1' });
is($st, 409, 'a route to a missing upstream: 409');
is($json->{type}, 'urn:tollgate:problem:conflict', '... conflict');
is(pointers($json), '/upstream', '... naming /upstream');

($st) = create($a, '/v1/upstreams/u1', { targets => [{ address => '10.0.0.1:80',
                                                       weight => 1000 }],
                                         algorithm => 'least_conn',
                                         health_check => {
                                             path => '/health',
                                             interval_ms => 100,
                                             timeout_ms => 60000,
                                             healthy => 1,
                                             unhealthy => 100 } });
is($st, 201, 'an upstream at the caps');

($st) = create($a, '/v1/routes/r1', { paths => ['/a'], upstream => 'u1' });
is($st, 201, 'a route to it');

($st, $json) = Metadata::call($a, 'DELETE', '/v1/upstreams/u1', undef,
                              'If-Match' => '*');
is($st, 409, 'deleting a referenced upstream: 409');

($st, $json) = create($a, '/v1/routes/rs',
                      { paths => ['/s'], upstream => 'u1',
                        schema => 'missing' });
is($st, 409, 'a route to a missing schema: 409');
is(pointers($json), '/schema', '... naming /schema');

# ---- overlaps --------------------------------------------------------------

($st, $json) = create($a, '/v1/routes/r2',
                      { paths => ['/a'], upstream => 'u1',
                        methods => ['GET'] });
is($st, 409, 'equal priority, same path, a method both take: 409');
is($json->{type}, 'urn:tollgate:problem:conflict', '... conflict');

($st) = create($a, '/v1/routes/r3', { paths => ['/a'], upstream => 'u1',
                                      priority => 5 });
is($st, 201, 'another priority: no overlap');

($st) = create($a, '/v1/routes/r4', { paths => ['/a'], upstream => 'u1',
                                      hosts => ['api.example.com'] });
is($st, 201, 'a host-specific route beside an any-host one');

($st) = create($a, '/v1/routes/r5', { paths => ['/a'], upstream => 'u1',
                                      hosts => ['api.example.com'],
                                      methods => ['POST'] });
is($st, 409, 'two routes on one host, path and method: 409');

($st) = create($a, '/v1/routes/r6', { paths => ['/a/*'], upstream => 'u1' });
is($st, 201, 'a prefix beside the exact path');

($st) = create($a, '/v1/routes/r7', { paths => ['/b', '/a/*'],
                                      upstream => 'u1',
                                      methods => ['DELETE'] });
is($st, 409, 'one of two paths overlapping: 409');

($st) = create($a, '/v1/routes/r8', { paths => ['/b'], upstream => 'u1',
                                      methods => ['DELETE'] });
is($st, 201, 'the other path alone');

# ---- sunset and deprecation -----------------------------------------------

($st, $json) = create($a, '/v1/routes/d1',
                      { paths => ['/d1'], upstream => 'u1',
                        deprecated_at => '2027-06-01T00:00:00Z',
                        sunset_at => '2027-05-31T23:59:59.999Z' });
is($st, 422, 'a sunset before the deprecation: 422');
is(pointers($json), '/sunset_at', '... at /sunset_at');

($st) = create($a, '/v1/routes/d2',
               { paths => ['/d2'], upstream => 'u1',
                 deprecated_at => '2027-01-01T12:00:00+02:00',
                 sunset_at => '2027-01-01T11:00:00+01:00' });
is($st, 201, 'a sunset at the deprecation, offsets applied');

($st, $json) = create($a, '/v1/routes/d3',
                      { paths => ['/d3'], upstream => 'u1',
                        deprecated_at => '2027-01-01T12:00:00+02:00',
                        sunset_at => '2027-01-01T09:59:59Z' });
is($st, 422, 'an offset makes the sunset earlier: 422');

# ---- user-defined types -----------------------------------------------------

my $colors = { type => 'object', additionalProperties => JSON::PP::false,
               required => ['hex'],
               properties => { hex => { type => 'string',
                                        pattern => '^#[0-9a-f]{6}$' } } };

($st) = Metadata::call($a, 'PUT', '/v1/types/colors', { schema => $colors });
is($st, 428, 'a type without If-Match or If-None-Match: 428');

($st) = Metadata::call($a, 'PUT', '/v1/types/colors', { schema => $colors },
                       'If-Match' => 'nonsense');
is($st, 400, 'a malformed If-Match: 400');

($st) = Metadata::raw($a, 'PUT', '/v1/types/colors', '{"schema": {}}',
                      Metadata::admin(),
                      'Content-Type' => 'text/plain', 'If-None-Match' => '*');
is($st, 415, 'a type not in JSON: 415');

($st) = Metadata::raw($a, 'PUT', '/v1/types/colors', '{"schema": {}',
                      Metadata::admin(),
                      'Content-Type' => 'application/json',
                      'If-None-Match' => '*');
is($st, 400, 'malformed JSON: 400');

($st, $json) = create($a, '/v1/types/broken', { schema => { type => 'x' } });
is($st, 422, 'a type whose schema does not compile: 422');
like(pointers($json), qr{^/schema}, '... pointing into /schema');

($st, $json) = create($a, '/v1/types/broken',
                      { schema => { properties => { a => { pattern => '[' } } } });
is($st, 422, 'a bad regex: 422');
is(pointers($json), '/schema/properties/a/pattern', '... at the pattern');

($st) = create($a, '/v1/types/Bad', { schema => {} });
is($st, 404, 'a type name with a capital: 404');

($st, $json) = create($a, '/v1/types/colors', { id => 'other',
                                                schema => $colors });
is($st, 422, 'an id not the name: 422');
is(pointers($json), '/id', '... at /id');

my $r;
($st, $json, $r) = create($a, '/v1/types/colors', { schema => $colors });
is($st, 201, 'a type registered');
is($r->{headers}{location}, '/v1/types/colors', '... its Location');
my $tag = Metadata::etag($r);
like($tag, qr/^"\d+"$/, '... its ETag, a version');

($st) = create($a, '/v1/types/colors', { schema => $colors });
is($st, 412, 'registered again with If-None-Match: *: 412');

($st, $json, $r) = Metadata::call($a, 'GET', '/v1/types/colors');
is($st, 200, 'the type read');
is_deeply($json->{schema}, $colors, '... its schema');
is(Metadata::etag($r), $tag, '... its ETag');

($st, $json) = Metadata::call($a, 'GET', '/v1/types');
ok((grep { $_->{id} eq 'colors' } @{ $json->{items} || [] }),
   'the types listed');
($st) = create($a, '/v1/types/another', { schema => JSON::PP::true });
is($st, 201, 'a second type (a boolean schema)');
($st, $json) = Metadata::call($a, 'GET', '/v1/types?limit=1');
is(scalar @{ $json->{items} || [] }, 1, 'a page of one type');
is($json->{next}, 'another', '... and the cursor of the next');
($st, $json) = Metadata::call($a, 'GET', "/v1/types?limit=1&cursor=$json->{next}");
is($json->{items}[0]{id}, 'colors', 'the next page');
($st) = Metadata::call($a, 'GET', '/v1/types?limit=0');
is($st, 400, 'limit=0: 400');
($st) = Metadata::call($a, 'GET', '/v1/types?tag=x');
is($st, 400, 'an unknown parameter: 400');

($st, $json, $r) = Metadata::call($a, 'GET', '/v1/types/colors/schema');
is($st, 200, 'the type\'s schema served');
like($r->{headers}{'content-type'}, qr{^application/schema\+json},
     '... as application/schema+json');
is_deeply($json, $colors, '... as registered');
my $stag = Metadata::etag($r);
($st) = Metadata::call($a, 'GET', '/v1/types/colors/schema', undef,
                       'If-None-Match' => $stag);
is($st, 304, '... with an ETag');

($st) = create($a, '/v1/entities/colors/red', { hex => '#ff0000' });
is($st, 201, 'an entity of the type');

($st, $json) = create($a, '/v1/entities/colors/bad', { hex => 'red' });
is($st, 422, 'an entity against the type\'s schema: 422');
is(pointers($json), '/hex', '... at /hex');

($st, $json) = create($a, '/v1/entities/colors/bad', { hue => 1 });
is($st, 422, 'an entity with an unknown member: 422');
like(pointers($json), qr{/hue}, '... at /hue');
like(pointers($json), qr{/hex}, '... and the missing /hex');

# the other instance learns the type from gw:md:changed
ok(Metadata::wait_for(sub {
       my ($s) = Metadata::call($b, 'GET', '/v1/types/colors/schema');
       $s == 200 }), 'the second instance serves the type');
($st) = create($b, '/v1/entities/colors/blue', { hex => '#0000ff' });
is($st, 201, '... and takes its entities');
($st) = create($b, '/v1/entities/colors/bad', { hex => 'blue' });
is($st, 422, '... validated');

($st, $json) = Metadata::call($a, 'DELETE', '/v1/types/colors', undef,
                              'If-Match' => $tag);
is($st, 409, 'a type with entities is not deleted: 409');
is($json->{type}, 'urn:tollgate:problem:conflict', '... conflict');

# a new schema for the type, with its ETag
my $wider = { %$colors, required => [] };
($st) = Metadata::call($a, 'PUT', '/v1/types/colors', { schema => $wider },
                       'If-Match' => '"999999"');
is($st, 412, 'a type changed with a stale ETag: 412');
($st, $json, $r) = Metadata::call($a, 'PUT', '/v1/types/colors',
                                  { schema => $wider }, 'If-Match' => $tag);
is($st, 200, 'a type changed with its ETag');
$tag = Metadata::etag($r);
($st) = create($a, '/v1/entities/colors/empty', {});
is($st, 201, '... the new schema applies');
ok(Metadata::wait_for(sub {
       my ($s) = create($b, '/v1/entities/colors/empty2', {});
       $s == 201 }), '... on the other instance too');

# a third instance, started now, loads the types
my $c = Metadata::start(redis => $redis->address);
ok(Metadata::wait_for(sub {
       my ($s) = Metadata::call($c, 'GET', '/v1/types/colors/schema');
       $s == 200 }), 'an instance started later loads the types');

for my $id (qw(red blue empty empty2)) {
    ($st) = Metadata::call($a, 'DELETE', "/v1/entities/colors/$id", undef,
                           'If-Match' => '*');
    is($st, 204, "entity $id deleted");
}

($st) = Metadata::call($a, 'DELETE', '/v1/types/colors', undef);
is($st, 428, 'a type delete without If-Match: 428');
($st) = Metadata::call($a, 'DELETE', '/v1/types/colors', undef,
                       'If-Match' => $tag);
is($st, 204, 'the type without entities deleted');
($st) = Metadata::call($a, 'GET', '/v1/types/colors/schema');
is($st, 404, '... its schema gone');
($st) = create($a, '/v1/entities/colors/x', { hex => '#000000' });
is($st, 404, '... its entities refused');
ok(Metadata::wait_for(sub {
       my ($s) = Metadata::call($b, 'GET', '/v1/types/colors/schema');
       $s == 404 }), '... on the other instance too');
($st) = Metadata::call($a, 'DELETE', '/v1/types/colors', undef,
                       'If-Match' => '*');
is($st, 404, 'a delete of a missing type: 404');

for my $svc ($a, $b, $c) {
    is(Metadata::stop($svc), 0, 'a graceful stop');
    my @bad = grep { ($_->{level} // '') =~ /^(error|fatal)$/ }
              Metadata::log_lines($svc);
    is(scalar @bad, 0, 'nothing logged at error') or diag explain \@bad;
}

$redis->stop;

done_testing;
