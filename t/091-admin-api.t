# The admin API behind the gateway (docs/admin-api.md, "Access"): the real
# module, the identity service and the metadata service, the location of
# conf/demo/gateway.conf.  Access tokens of the identity service: one with
# admin:read lists but cannot write (403, from the service), one with
# admin:write writes (the actor "sub:<client>"), none is 401 at the
# gateway, and a client's own X-Consumer-Scope is stripped, not believed.
# A key made through the admin API authenticates at once on another
# location of the same nginx, a consumer tagged admin:write with such a
# key writes through /admin/ by key, and a key revoked through the API is
# refused at once (the gw:events invalidation).  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use HTTP::Tiny;
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use Metadata;
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Redis;

# the harnesses find the services from t/backends; this file is in t/
$Identity::BIN = "$FindBin::Bin/../build/backends/identity"
    unless $ENV{TEST_IDENTITY_BINARY};
$Metadata::BIN = "$FindBin::Bin/../build/backends/metadata"
    unless $ENV{TEST_METADATA_BINARY};

plan skip_all => 'the module is not built (run make)'
    unless -f (Tollgate::Gateway::modules())[0];
plan skip_all => 'the services are not built (run make backends)'
    unless -x Identity::binary() && -x Metadata::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $AUD = 'https://admin.test';
my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $id = Identity::start(redis => $redis->address);
my $md = Metadata::start(redis => $redis->address,
    env => { IDENTITY_PEPPER_FILE => Identity::secret_file('pepper', 32) });
my $iss = $id->{issuer};

my %secret;
$secret{$_->[0]} = Identity::client_add($ctl, $_->[0], scopes => $_->[1],
    default_scopes => $_->[1], audiences => $AUD, default_audience => $AUD)
    for [ 'ops-read', 'admin:read' ], [ 'ops-write', 'admin:read admin:write' ],
        [ 'other', 'orders.read' ];

my $rport = $redis->port;
my $mport = $md->{port};
my $gw = Tollgate::Gateway->start(http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    gw_jwt_cache_zone 1m;
    upstream metadata {
        server 127.0.0.1:$mport;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:\$PORT;
        location /admin/ {
            gw_jwt               admin;
            gw_jwt_jwks_url      $iss/.well-known/jwks.json;
            gw_jwt_algorithms    ES256 EdDSA RS256;
            gw_jwt_type          at+jwt;
            gw_jwt_issuer        $iss;
            gw_jwt_audience      $AUD;
            gw_jwt_scope         admin:read admin:write;
            gw_jwt_scope_mode    any;
            gw_jwt_revocation    on;
            gw_jwt_claim_header  X-Consumer-Scope scope;
            gw_jwt_claim_header  X-Consumer-Subject sub;
            gw_key_auth          admin;
            gw_auth_satisfy      any;
            proxy_http_version   1.1;
            proxy_set_header     Connection "";
            proxy_pass           http://metadata/v1/;
            proxy_redirect       /v1/ /admin/;
        }
        location /keyed/ {
            gw_key_auth  api;
            proxy_pass   http://127.0.0.1:\$PORT/echo/;
        }
        location /echo/ {
            return 200 "consumer=\$http_x_consumer_id\\n";
        }
    }
_EOC_

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
my $json = JSON::PP->new->canonical;

sub token {
    my ($client, @scope) = @_;
    my ($st, $j) = Identity::form($id, '/oauth2/token',
        [ grant_type => 'client_credentials', @scope ],
        auth => [ $client, $secret{$client} ]);
    return $st == 200 ? $j->{access_token} : undef;
}

# a request through the gateway: (status, decoded body, response)
sub admin {
    my ($method, $path, $body, %h) = @_;
    $h{'Content-Type'} //= 'application/json' if defined $body;
    my $r = $http->request($method, "http://127.0.0.1:" . $gw->port . $path,
        { headers => \%h,
          (defined $body ? (content => ref $body ? $json->encode($body)
                                                 : $body) : ()) });
    my $j = ($r->{headers}{'content-type'} // '') =~ /json/
            ? eval { JSON::PP::decode_json($r->{content}) } : $r->{content};
    return ($r->{status}, $j, $r);
}

sub bearer { (Authorization => "Bearer $_[0]") }

my $read = token('ops-read');
my $write = token('ops-write');
ok($read && $write, 'admin tokens from the identity service');

# the gateway fetches the JWKS once; wait until it takes a token
my ($st, $j, $r);
for (1 .. 100) {
    ($st) = admin('GET', '/admin/consumers', undef, bearer($read));
    last if $st == 200;
    sleep 0.1;
}

# ---- tokens -----------------------------------------------------------------

($st, $j) = admin('GET', '/admin/consumers', undef, bearer($read));
is($st, 200, 'admin:read lists');
is_deeply($j->{items}, [], 'nothing yet');

($st, $j) = admin('PUT', '/admin/consumers/c1', { name => 'One' },
                  bearer($read), 'If-None-Match' => '*');
is($st, 403, 'admin:read cannot write: 403');
like($j->{type} // '', qr/forbidden$/, 'the service\'s forbidden problem');

($st, $j) = admin('PUT', '/admin/consumers/c1', { name => 'One' },
                  bearer($read), 'If-None-Match' => '*',
                  'X-Consumer-Scope' => 'admin:write');
is($st, 403, 'a client\'s own X-Consumer-Scope is not believed');

($st, $j, $r) = admin('GET', '/admin/consumers');
is($st, 401, 'no token: 401 at the gateway');
like(join(' ', @{ $r->{headers}{'www-authenticate'} || [] }),
     qr/Bearer realm="admin"/,
     'with the gateway\'s challenge');

($st, $j) = admin('GET', '/admin/consumers', undef, bearer(token('other')));
is($st, 403, 'a token without an admin scope: 403 at the gateway');

($st, $j, $r) = admin('PUT', '/admin/consumers/c1', { name => 'One' },
                      bearer($write), 'If-None-Match' => '*');
is($st, 201, 'admin:write creates') or diag explain $j;
is($j->{created_by}, 'sub:ops-write', 'the actor: the token\'s sub');
my $etag = $r->{headers}{etag};
like($etag // '', qr/^"\d+"$/, 'an ETag');

($st, $j) = admin('PATCH', '/admin/consumers/c1', '{"name":"One B"}',
    bearer($write), 'Content-Type' => 'application/merge-patch+json',
    'If-Match' => $etag);
is($st, 200, 'updated with If-Match') or diag explain $j;
($st, $j) = admin('PATCH', '/admin/consumers/c1', '{"name":"One C"}',
    bearer($write), 'Content-Type' => 'application/merge-patch+json',
    'If-Match' => $etag);
is($st, 412, 'a stale If-Match: 412');

($st, $j, $r) = admin('POST', '/admin/consumers', { id => 'c2' },
                      bearer($write));
is($st, 201, 'a POST creates');
like($r->{headers}{location} // '', qr{^(?:http://[^/]+)?/admin/consumers/c2$},
     'its Location under /admin/');

# ---- a key made through the API, on another location -----------------------

($st, $j) = admin('POST', '/admin/keys', { consumer => 'c1' },
                  bearer($write));
is($st, 201, 'a key created through the admin API') or diag explain $j;
my $key = $j->{secret};
my $hash = $j->{id};
like($key // '', qr/^tg_/, 'its secret, once');

$r = $gw->get('/keyed/x', 'X-API-Key' => $key);
is($r->{status}, 200, 'the key authenticates on /keyed/');
is($r->{body}, "consumer=c1\n", 'as its consumer');

($st, $j, $r) = admin('GET', "/admin/keys/$hash", undef, bearer($read));
ok(!exists $j->{secret}, 'a GET shows no secret');
($st) = admin('PATCH', "/admin/keys/$hash", '{"status":"revoked"}',
    bearer($write), 'Content-Type' => 'application/merge-patch+json',
    'If-Match' => $r->{headers}{etag});
is($st, 200, 'the key revoked through the API');
$r = $gw->get('/keyed/x', 'X-API-Key' => $key);
for (1 .. 50) {
    last if $r->{status} == 401;
    sleep 0.1;
    $r = $gw->get('/keyed/x', 'X-API-Key' => $key);
}
is($r->{status}, 401, 'and refused by the gateway, its cache dropped');

# ---- an admin API key -------------------------------------------------------

($st) = admin('PUT', '/admin/consumers/ci', { name => 'CI',
              tags => ['admin:write'] }, bearer($write),
              'If-None-Match' => '*');
is($st, 201, 'a consumer tagged admin:write');
($st, $j) = admin('POST', '/admin/keys', { consumer => 'ci' }, bearer($write));
my $cikey = $j->{secret};
($st, $j) = admin('PUT', '/admin/consumers/c3', { name => 'Three' },
                  'X-API-Key' => $cikey, 'If-None-Match' => '*');
is($st, 201, 'its key writes through /admin/') or diag explain $j;
is($j->{created_by}, 'ci', 'as the consumer');

($st) = admin('PUT', '/admin/consumers/viewer', { name => 'V',
              tags => ['admin:read'] }, bearer($write),
              'If-None-Match' => '*');
($st, $j) = admin('POST', '/admin/keys', { consumer => 'viewer' },
                  bearer($write));
my $vkey = $j->{secret};
($st) = admin('GET', '/admin/consumers/c3', undef, 'X-API-Key' => $vkey);
is($st, 200, 'an admin:read key reads');
($st) = admin('DELETE', '/admin/consumers/c3', undef, 'X-API-Key' => $vkey,
              'If-Match' => '*');
is($st, 403, 'and cannot delete');
($st) = admin('GET', '/admin/consumers/c3', undef,
              'X-API-Key' => $key);
is($st, 401, 'a revoked key: 401');

my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;
is(scalar @bad, 0, 'the gateway logged nothing at [error] or above')
    or diag(@bad);
is_deeply([ map { $_->{message} } grep { $_->{level} eq 'error' }
            Metadata::log_lines($md), Identity::log_lines($id) ], [],
          'the services logged nothing at error');

$gw->stop;
Metadata::stop($md);
Identity::stop($id);
done_testing();
