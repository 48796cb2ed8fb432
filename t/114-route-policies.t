# Route policies end to end (docs/routing.md, "Route policies"; each
# module's "As a route policy"): Redis, the metadata service, a fake
# identity provider serving a JWKS, and a gateway whose gw_router
# location has no authentication, limit, validation or request id
# directive at all.  Each kind is applied to a route through the admin
# API only: key_auth (true, and a header of its own), jwt (issuer,
# audiences, scopes, keys by a JWKS URL the gateway was never configured
# with), auth (satisfy any: either credential, both challenges),
# limits (a rate per client address), schemas (body and arguments),
# request_id.  Then a route's policy changes and the change takes
# effect without a reload (same workers), and a JWKS URL on an origin
# gw_jwt_jwks_allow does not name is refused (the route answers 500,
# nothing is fetched from it).  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use JSON::PP ();
use Test::More;

use Tollgate::Gwctl;
use Tollgate::JWKS;
use Tollgate::JWT qw(jwt key_file now);
use Tollgate::Routing qw(:all);

skip_unless_built();

my ($redis, $md) = start();
my $ctl = Tollgate::Gwctl->new($redis);

# the identity provider: a JWKS the gateway learns of from a route only
my $idp = Tollgate::JWKS->idp(cache => 'max-age=60');
$idp->put('jwks.json', Tollgate::JWKS::jwks_text([key_file('rsa.pem'),
                                                  'rsa-1']));
my $jwks_url = $idp->url('/jwks.json');
my $origin = 'http://localhost:' . $idp->port;

# another server nobody allowed: it must never be asked
my $rogue = Tollgate::JWKS->idp;
$rogue->put('jwks.json', Tollgate::JWKS::jwks_text([key_file('rsa.pem'),
                                                    'rsa-1']));

my $gw = gateway(workers => 2, http => <<"_EOC_");
    gw_jwt_jwks_allow $origin;
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            add_header X-Route \$gw_route_id always;
            add_header X-Rev \$gw_config_revision always;
            proxy_pass http://127.0.0.1:\$PORT/up/;
        }
        location ^~ /up/ {
            return 200 "cid=\$http_x_consumer_id rid=\$http_x_request_id key=\$http_x_api_key\\n";
        }
    }
_EOC_

my @workers = sort $gw->workers;

sub get { ask($gw, @_) }

# every WWW-Authenticate header of a response, in order
sub challenges {
    my ($r) = @_;
    my ($head) = split /\r\n\r\n/, $r->{raw} // '', 2;
    return [ $head =~ /^WWW-Authenticate: ([^\r\n]*)/mgi ];
}

my %claims = (iss => 'https://idp.test', aud => 'orders', sub => 'alice',
              exp => now() + 3600, scope => 'orders:read');
my $token = jwt(alg => 'RS256', kid => 'rsa-1', payload => { %claims });
my $other_aud = jwt(alg => 'RS256', kid => 'rsa-1',
                    payload => { %claims, aud => 'billing' });
my $no_scope = jwt(alg => 'RS256', kid => 'rsa-1',
                   payload => { %claims, scope => 'orders:list' });
sub bearer { ('Authorization' => "Bearer $_[0]") }

$ctl->consumer_add('alice', name => 'Alice');
my $key = $ctl->key_create('alice');

my %jwt = (jwks_url => $jwks_url, issuer => 'https://idp.test',
           audiences => ['orders'], scopes => ['orders:read'],
           algorithms => ['RS256']);

create('upstreams', 'u1', { targets => [ { address => '127.0.0.1:1' } ] });
create('limits', 'per-ip', { kind => 'rate', rate => '1r/m', key => 'ip',
                             scope => 'local' });
create('schemas', 'order', { schema => { type => 'object',
                                         required => ['item'] } });
create('schemas', 'page', { schema => { type => 'object',
                                        properties => {
                                            n => { type => 'integer' } } } });

create('routes', 'open', { paths => ['/open'], upstream => 'u1' });
create('routes', 'key', { paths => ['/key'], upstream => 'u1',
                          key_auth => JSON::PP::true });
create('routes', 'key-hdr', { paths => ['/keyh'], upstream => 'u1',
                              key_auth => { header => 'X-Key' } });
create('routes', 'jwt', { paths => ['/jwt'], upstream => 'u1',
                          jwt => \%jwt });
create('routes', 'any', { paths => ['/any'], upstream => 'u1',
                          key_auth => JSON::PP::true, jwt => \%jwt,
                          auth => { satisfy => 'any' } });
create('routes', 'all', { paths => ['/all'], upstream => 'u1',
                          key_auth => JSON::PP::true, jwt => \%jwt });
create('routes', 'lim', { paths => ['/lim'], upstream => 'u1',
                          limits => ['per-ip'] });
create('routes', 'sch', { paths => ['/sch'], upstream => 'u1',
                          schema => 'order', args_schema => 'page' });
create('routes', 'rid', { paths => ['/rid'], upstream => 'u1',
                          request_id => JSON::PP::true });

ok(until_true(sub { (get('/rid')->{headers}{'x-route'} // '') eq 'rid' }),
   'the routes are served');

# ---- key_auth -----------------------------------------------------------

my $r = get('/open');
is($r->{status}, 200, 'a route without policies: 200');
is($r->{headers}{'x-request-id'}, undef, 'and no request id');

$r = get('/key');
is($r->{status}, 401, 'key_auth: no key, 401');
is(problem($r)->{type}, 'urn:tollgate:problem:key-missing', 'key-missing');
is_deeply(challenges($r), ['ApiKey realm="api", header="X-API-Key"'],
          'the ApiKey challenge');

$r = get('/key', 'X-API-Key' => $key);
is($r->{status}, 200, 'key_auth: a valid key, 200');
like($r->{body}, qr/^cid=alice /, 'the consumer reaches the upstream');
like($r->{body}, qr/ key=$/m, 'the key does not');

$r = get('/key', 'X-API-Key' => 'not-a-key-of-anyone-0000000000');
is($r->{status}, 401, 'an unknown key: 401');

$r = get('/keyh', 'X-Key' => $key);
is($r->{status}, 200, 'key_auth {"header"}: the key in its header, 200');
$r = get('/keyh', 'X-API-Key' => $key);
is($r->{status}, 401, 'not in the default one');

# ---- jwt, keys by a JWKS URL only a route names ---------------------------

$r = get('/jwt');
is($r->{status}, 401, 'jwt: no token, 401');
is_deeply(challenges($r), ['Bearer realm="api"'], 'the Bearer challenge');

$r = get('/jwt', bearer($token));
is($r->{status}, 200, 'jwt: a valid token, keys fetched from the route\'s '
                      . 'JWKS URL') or diag explain $r;
is(scalar(grep { $_->[0] == 200 } @{ $idp->fetches('/jwks.json') }), 1,
   'one fetch for the gateway');

$r = get('/jwt', bearer($other_aud));
is($r->{status}, 401, 'another audience: 401');
like(challenges($r)->[0] // '', qr/error="invalid_token"/, 'invalid_token');

$r = get('/jwt', bearer($no_scope));
is($r->{status}, 403, 'a scope missing: 403');
like(challenges($r)->[0] // '', qr/error="insufficient_scope".*scope="orders:read"/,
     'insufficient_scope, the scope named');

# ---- auth: satisfy any / all ----------------------------------------------

$r = get('/any');
is($r->{status}, 401, 'satisfy any, no credential: 401');
is(problem($r)->{type}, 'urn:tollgate:problem:key-missing', 'key-missing');
is_deeply(challenges($r), ['ApiKey realm="api", header="X-API-Key"',
                           'Bearer realm="api"'],
          'both challenges, one header each');
is(get('/any', bearer($token))->{status}, 200, 'satisfy any: a token will do');
is(get('/any', 'X-API-Key' => $key)->{status}, 200, 'so will a key');
is(get('/any', bearer($other_aud), 'X-API-Key' => $key)->{status}, 401,
   'a bad token is refused even beside a good key');

$r = get('/all', bearer($token));
is($r->{status}, 401, 'satisfy all (default): a token alone, 401');
is_deeply(challenges($r), ['ApiKey realm="api", header="X-API-Key"'],
          'the missing key\'s challenge only');
is(get('/all', bearer($token), 'X-API-Key' => $key)->{status}, 200,
   'both: 200');

# ---- limits ---------------------------------------------------------------

$r = get('/lim');
is($r->{status}, 200, 'limits: the first request passes');
$r = get('/lim');
is($r->{status}, 429, 'the second within the minute: 429');
is(problem($r)->{status}, 429, 'a problem');

# ---- schemas --------------------------------------------------------------

$r = get('/sch', Method => 'POST', 'Content-Type' => 'application/json',
         Body => '{"item":"tea"}');
is($r->{status}, 200, 'schemas: a valid body, 200');
$r = get('/sch', Method => 'POST', 'Content-Type' => 'application/json',
         Body => '{}');
is($r->{status}, 400, 'a body the schema refuses: 400');
is(problem($r)->{type}, 'urn:tollgate:problem:validation-failed',
   'validation-failed');
is(get('/sch?n=abc')->{status}, 400, 'arguments the args schema refuses: 400');
is(get('/sch?n=12')->{status}, 200, 'and those it takes: 200');

# ---- request_id -----------------------------------------------------------

$r = get('/rid');
like($r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
     'request_id: the answer carries an id');
like($r->{body}, qr/rid=[0-9a-f]{32} /, 'so does the upstream request');

# ---- a change of policy, without a reload ---------------------------------

my $rev = get('/open')->{headers}{'x-rev'};
update('routes', 'open', { paths => ['/open'], upstream => 'u1',
                           key_auth => JSON::PP::true,
                           request_id => JSON::PP::true });
ok(until_true(sub { get('/open')->{status} == 401 }),
   'key auth added to a route: 401 without a key');
isnt(get('/open')->{headers}{'x-rev'}, $rev, 'a newer revision');
$r = get('/open', 'X-API-Key' => $key);
is($r->{status}, 200, 'and 200 with one');
like($r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
     'the request id too');

update('routes', 'key', { paths => ['/key'], upstream => 'u1' });
ok(until_true(sub { get('/key')->{status} == 200 }),
   'key auth taken off a route: 200');

# a limit's state is kept by its id and key, as a directive's is across a
# reload: a new key (the route) starts afresh, under the new quota
update('limits', 'per-ip', { kind => 'quota',
                             quota => { count => 1000, window => '1m' },
                             key => 'route', scope => 'local' });
ok(until_true(sub { get('/lim')->{status} == 200 }),
   'a limit changed (a quota, key "route"): it applies');
like(get('/lim')->{headers}{'ratelimit-policy'} // '', qr/q=1000;w=60/,
     'RateLimit-Policy says the new quota');

is_deeply([sort $gw->workers], \@workers, 'the same workers: no reload');

# ---- a JWKS URL on an origin nobody allowed ---------------------------------

create('routes', 'rogue', { paths => ['/rogue'], upstream => 'u1',
                            jwt => { %jwt,
                                     jwks_url => $rogue->url('/jwks.json') } });
ok(until_true(sub { get('/rogue', bearer($token))->{status} == 500 }),
   'a JWKS URL gw_jwt_jwks_allow does not name: the route answers 500');
is(scalar @{ $rogue->fetches('/jwks.json') }, 0, 'nothing asked of it');
ok(scalar(grep { /does not build: "jwt.jwks_url" is on an origin/ }
          $gw->error_log), 'the reason is logged');

# ---- the zone's slots for routes' JWKS URLs: bounded, a clear error -----

# one slot is the routes' URL above; 31 more fit, the 32nd URL does not
for my $n (1 .. 32) {
    create('routes', "z$n", { paths => ["/z/$n"], upstream => 'u1',
                              jwt => { %jwt, jwks_url => "$jwks_url?n=$n" } });
}
create('routes', 'zz', { paths => ['/zz'], upstream => 'u1' });
ok(until_true(sub { (get('/zz')->{headers}{'x-route'} // '') eq 'zz' }),
   'the 32 routes are served');
my @st = map { get("/z/$_", bearer($token))->{status} } 1 .. 32;
is_deeply([ @st[0 .. 30] ], [ (200) x 31 ], '31 more JWKS URLs: served');
is($st[31], 500, 'the next one: 500');
ok(scalar(grep { /route "z32".*gw_jwt_jwks_zone holds the key sets of at most 32/ }
          $gw->error_log), 'logged: the zone\'s slots are all taken');

my @bad = grep { !/\[error\].*route "(?:rogue|z32)"/ } errors($gw);
is(scalar @bad, 0, 'nothing else at [error] or above') or diag @bad;

$gw->stop;
$idp->down;
$rogue->down;

done_testing;
