# End to end (issue 14, point 12): the identity service issues, a Tollgate
# gateway verifies through the service's JWKS URL and through discovery
# of its issuer, and independent npm checkers (t/js/check.mjs: jose,
# oauth4webapi, openid-client) agree:
#
# - tokens accepted by the gateway with gw_jwt_type at+jwt, gw_jwt_issuer,
#   gw_jwt_audience, gw_jwt_scope; another audience, a missing scope
#   refused; a JWT of type "JWT" (an ID token's) signed with the service's
#   own active key (its private half decrypted here with the KEK, as
#   docs/identity.md describes the record) refused by the gateway and by
#   introspection, while a location without gw_jwt_type takes it (so the
#   signature is good and only the type refuses it);
# - openid-client as a real client: discovery with both its algorithms
#   (oidc, oauth2), the client credentials grant with
#   client_secret_basic, client_secret_post and private_key_jwt (an ES256
#   key, and an Ed25519 and an RSA one, made by openssl here, each public
#   JWK registered with gwctl client set-key), introspection, revocation (then introspection says
#   active:false and the gateway, gw_jwt_revocation on, refuses the token
#   within 1 s), token exchange to a narrower audience and scope;
# - oauth4webapi validateJwtAccessToken and jose on tokens of each
#   signing_alg (ES256, EdDSA, RS256; a service on a fresh Redis each),
#   and the gateway verifying each through the JWKS URL.
#
# Skipped when node or t/js/node_modules is absent (make deps-test).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Checkers;
use Identity;
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt public_jwk);
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();
plan skip_all => 'the module is not built (run make)'
    unless -f (Tollgate::Gateway::modules())[0];
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';
if (my $why = Checkers::missing()) {
    plan skip_all => "the npm checkers cannot run: $why";
}

my $API = 'https://api.test';
my $BILLING = 'https://billing.test';
my $TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
my $AT = 'urn:ietf:params:oauth:token-type:access_token';
my $tmp = tempdir(DIR => Identity::tmp());

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $svc = Identity::start(redis => $redis->address,
                          env => { TOKEN_TTL => 120, LEEWAY => 5 });
my $ISS = $svc->{issuer};
my $JWKS = "$ISS/.well-known/jwks.json";

# ---- clients ---------------------------------------------------------------

my $secret = Identity::client_add($ctl, 'e2e-secret',
    scopes => 'read write', default_scopes => 'read write',
    audiences => "$API $BILLING", default_audience => $API,
    auth => 'client_secret_basic client_secret_post');

# private_key_jwt clients, each with a key made here by openssl as an
# operator would: ES256 (P-256), EdDSA (Ed25519), RS256 (RSA 2048)
my %KEYGEN = (ES256 => '-algorithm EC -pkeyopt ec_paramgen_curve:P-256',
              EdDSA => '-algorithm ed25519',
              RS256 => '-algorithm RSA -pkeyopt rsa_keygen_bits:2048');
my %key;
for my $alg (sort keys %KEYGEN) {
    my $k = $key{$alg} = "$tmp/client-$alg.key";
    system("openssl genpkey $KEYGEN{$alg} -out $k 2>/dev/null") == 0
        or die "openssl genpkey $alg";
    system("openssl pkey -in $k -pubout -out $k.pub 2>/dev/null") == 0
        or die "openssl pkey";
    Tollgate::JWT::spew("$k.jwk",
        JSON::PP::encode_json(public_jwk("$k.pub", alg => $alg)));
    my $id = $alg eq 'ES256' ? 'e2e-jwt' : "e2e-jwt-$alg";
    Identity::client_add($ctl, $id, scopes => 'read write',
        default_scopes => 'read', audiences => "$API $BILLING",
        default_audience => $API, auth => 'private_key_jwt');
    $ctl->ok('client', 'set-key', $id, "$k.jwk");
}
my $key = $key{ES256};

# ---- the gateway -----------------------------------------------------------

sub location {
    my ($name, $keys, @more) = @_;
    my $more = join "\n", map { "            $_;" } @more;
    return <<"_EOC_";
        location = /$name {
            gw_jwt api;
            $keys;
$more
            proxy_set_header X-Sub \$gw_jwt_sub;
            proxy_set_header X-Kid \$gw_jwt_kid;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
_EOC_
}

sub gateway {
    my ($iss, $jwks, %opt) = @_;
    my @strict = ('gw_jwt_type at+jwt', "gw_jwt_issuer $iss");
    my $locations = join '',
        location('api', "gw_jwt_jwks_url $jwks", @strict,
                 "gw_jwt_audience $API", 'gw_jwt_scope read',
                 'gw_jwt_revocation on'),
        location('disc', "gw_jwt_discovery $iss", @strict,
                 "gw_jwt_audience $API", 'gw_jwt_scope read'),
        location('write', "gw_jwt_jwks_url $jwks", @strict,
                 "gw_jwt_audience $API", 'gw_jwt_scope write'),
        location('billing', "gw_jwt_jwks_url $jwks", @strict,
                 "gw_jwt_audience $BILLING"),
        location('anytype', "gw_jwt_jwks_url $jwks", "gw_jwt_issuer $iss");
    my $port = $opt{redis}->port;
    return Tollgate::Gateway->start(http => <<"_EOC_");
    gw_redis 127.0.0.1:$port;
    gw_redis_timeout 1s;
    gw_jwt_jwks_refresh_min 1s;
    gw_jwt_jwks_cooldown 1s;
    gw_jwt_jwks_timeout 2s;
    server {
        listen 127.0.0.1:\$PORT;
$locations
        location = /up { return 200 "sub=\$http_x_sub kid=\$http_x_kid\\n"; }
    }
_EOC_
}

my $gw = gateway($ISS, $JWKS, redis => $redis);

sub present {
    my ($g, $path, $token) = @_;
    return $g->get("/$path", Authorization => "Bearer $token");
}

sub no_errors {
    my ($g, $s, $name) = @_;
    my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $g->error_log;
    is(scalar @bad, 0, "$name: gateway logged nothing at [error] or above")
        or diag(@bad);
    is_deeply([ map { $_->{message} }
                grep { $_->{level} =~ /^(error|crit|alert|emerg)$/ }
                Identity::log_lines($s) ], [],
              "$name: the service logged nothing at error");
}

# ---- openid-client ---------------------------------------------------------

my %AUTH = (
    basic => [ '--client-id', 'e2e-secret', '--secret', $secret,
               '--auth', 'basic' ],
    post  => [ '--client-id', 'e2e-secret', '--secret', $secret,
               '--auth', 'post' ],
    jwt   => [ '--client-id', 'e2e-jwt', '--key', $key, '--alg', 'ES256' ],
    (map { ("jwt-$_" => [ '--client-id', "e2e-jwt-$_", '--key', $key{$_},
                          '--alg', $_ ]) } qw(EdDSA RS256)),
);

sub oc {
    my ($auth, @op) = @_;
    return Checkers::run([ 'client', '--issuer', $ISS, @{ $AUTH{$auth} },
                           @op ]);
}

for my $alg (qw(oidc oauth2)) {
    my $m = oc('basic', '--discovery', $alg, 'discover');
    subtest "openid-client discovery ($alg)" => sub {
        is($m->{issuer}, $ISS, 'issuer');
        is($m->{jwks_uri}, $JWKS, 'jwks_uri');
        is($m->{token_endpoint}, "$ISS/oauth2/token", 'token_endpoint');
        ok($m->{introspection_endpoint} && $m->{revocation_endpoint},
           'introspection and revocation endpoints');
        ok((grep { $_ eq 'private_key_jwt' }
            @{ $m->{token_endpoint_auth_methods_supported} || [] }),
           'private_key_jwt announced');
        my %algs = map { $_ => 1 }
            @{ $m->{token_endpoint_auth_signing_alg_values_supported} || [] };
        ok($algs{EdDSA} && $algs{Ed25519} && $algs{ES256} && $algs{RS256}
           && !$algs{none} && !$algs{HS256}, 'assertion algorithms');
    } or diag explain $m;
}

my %tok;
for my $auth (qw(basic post jwt)) {
    my $r = oc($auth, 'token');
    ok($r->{access_token} && ($r->{token_type} // '') =~ /^bearer$/i,
       "openid-client: client_credentials with "
       . { basic => 'client_secret_basic', post => 'client_secret_post',
           jwt => 'private_key_jwt' }->{$auth}) or diag explain $r;
    $tok{$auth} = $r->{access_token} // 'e30.e30.e30';
    is($r->{expires_in}, 120, "$auth: expires_in");
}

for my $alg (qw(EdDSA RS256)) {
    my $r = oc("jwt-$alg", 'token');
    ok($r->{access_token}, "openid-client: private_key_jwt, a $alg key")
        or diag explain $r;
    $tok{"jwt-$alg"} = $r->{access_token} // 'e30.e30.e30';
}

{
    my $r = oc('basic', 'token', "resource=$API", "resource=$BILLING");
    $tok{both} = $r->{access_token} // 'e30.e30.e30';
    my (undef, $c) = Identity::token_claims($tok{both});
    is_deeply($c->{aud}, [ $API, $BILLING ],
              'openid-client: two resources, aud an array');
}

{
    my $r = oc('basic', '--discovery', 'oauth2', 'token',
               'scope=read', "resource=$BILLING");
    $tok{billing_read} = $r->{access_token} // 'e30.e30.e30';
    is($r->{scope}, 'read', 'openid-client (oauth2 discovery): a scope');
}

{
    my $r = oc('jwt', 'token', 'scope=read');
    ok($r->{access_token}, 'private_key_jwt again: a new assertion (jti)');
    $tok{jwt_read} = $r->{access_token} // 'e30.e30.e30';
}

# ---- the gateway through the JWKS URL and discovery ------------------------

for my $auth (qw(basic post jwt jwt-EdDSA jwt-RS256)) {
    my (undef, $c) = Identity::token_claims($tok{$auth});
    for my $path (qw(api disc)) {
        my $res = present($gw, $path, $tok{$auth});
        is($res->{status}, 200, "gateway /$path accepts the $auth token");
        like($res->{body}, qr/^sub=\Q$c->{sub}\E kid=\S+$/,
             "gateway /$path: sub and kid");
    }
}

is(present($gw, 'write', $tok{basic})->{status}, 200,
   'gateway: a token with scope write reaches /write');
is(present($gw, 'write', $tok{jwt_read})->{status}, 403,
   'gateway: a token without scope write is 403 at /write');
is(present($gw, 'api', $tok{both})->{status}, 200,
   'gateway: an aud array holding the audience, at /api');
is(present($gw, 'billing', $tok{both})->{status}, 200,
   'gateway: ... and at /billing');
is(present($gw, 'api', $tok{billing_read})->{status}, 401,
   'gateway: a token for another audience is refused');
is(present($gw, 'billing', $tok{billing_read})->{status}, 200,
   'gateway: ... and accepted where that audience is asked');

# ---- an ID-token-like JWT, signed with the service's own key -----------------

{
    my $kid = Identity::active_kid($svc);
    my $record = $ctl->redis('HGET', 'gw:identity:keys', $kid) // '{}';
    my $u = Checkers::run([ 'unwrap', '--kek', $svc->{env}{KEK_FILE},
                            '--record', $record ]);
    ok($u->{pem}, 'the active private key, decrypted with the KEK')
        or diag explain $u;
    Tollgate::JWT::spew("$tmp/active.key", $u->{pem} // '');

    my (undef, $claims) = Identity::token_claims($tok{basic});
    my %c = (%$claims, jti => 'idt-' . int(rand 1e9));
    my $idt = jwt(alg => 'ES256', key => "$tmp/active.key",
                  header => { typ => 'JWT', kid => $kid }, payload => \%c);
    my $none = jwt(alg => 'ES256', key => "$tmp/active.key",
                   header => { kid => $kid }, payload => \%c);

    my $res = present($gw, 'anytype', $idt);
    is($res->{status}, 200,
       'typ JWT, our key: a location without gw_jwt_type takes it');
    $res = present($gw, 'api', $idt);
    is($res->{status}, 401, 'typ JWT: refused with gw_jwt_type at+jwt');
    like($res->{body}, qr/token type not allowed/, 'typ JWT: why');
    $res = present($gw, 'disc', $idt);
    is($res->{status}, 401, 'typ JWT: refused through discovery too');
    $res = present($gw, 'api', $none);
    is($res->{status}, 401, 'no typ: refused');
    like($res->{body}, qr/token has no type/, 'no typ: why');

    my ($st, $intro) = Identity::form($svc, '/oauth2/introspect',
        [ token => $idt ], auth => [ 'e2e-secret', $secret ]);
    is_deeply($intro, { active => JSON::PP::false },
              'typ JWT: introspection says active:false');

    my $v = Checkers::run([ 'verify', '--issuer', $ISS, '--jwks', $JWKS,
                            '--audience', $API ], stdin => "$idt\n");
    is($v->{failed}, 1, 'typ JWT: jose and oauth4webapi refuse it too');
}

# ---- introspection, exchange, revocation with openid-client ----------------

{
    my $r = oc('basic', 'introspect', $tok{jwt});
    ok($r->{active}, 'openid-client: introspection, active')
        or diag explain $r;
    is($r->{client_id}, 'e2e-jwt', 'introspection: client_id');
    is($r->{iss}, $ISS, 'introspection: iss');

    $r = oc('jwt', 'introspect', $tok{basic});
    ok($r->{active}, 'introspection by a private_key_jwt caller');
}

{
    my $r = oc('jwt', 'exchange', "subject_token=$tok{basic}",
               "subject_token_type=$AT", "audience=$BILLING", 'scope=read');
    is($r->{issued_token_type}, $AT, 'openid-client: token exchange')
        or diag explain $r;
    my $x = $r->{access_token} // 'e30.e30.e30';
    my (undef, $c) = Identity::token_claims($x);
    is($c->{aud}, $BILLING, 'exchange: the audience narrowed');
    is($c->{scope}, 'read', 'exchange: the scope narrowed');
    is($c->{sub}, 'e2e-secret', 'exchange: the subject kept');
    is_deeply($c->{act}, { sub => 'e2e-jwt' }, 'exchange: act');
    is(present($gw, 'billing', $x)->{status}, 200,
       'exchange: the new token is accepted for its audience');
    is(present($gw, 'api', $x)->{status}, 401,
       'exchange: and refused for the old one');

    $r = oc('post', 'exchange', "subject_token=$tok{jwt_read}",
            "subject_token_type=$AT", 'scope=write');
    is($r->{error}, 'invalid_scope',
       'exchange: a scope the subject token lacks is invalid_scope');
}

{
    my $victim = $tok{post};
    is(present($gw, 'api', $victim)->{status}, 200, 'before revocation');
    my $r = oc('post', 'revoke', $victim);
    ok($r->{revoked}, 'openid-client: revocation') or diag explain $r;

    my $t0 = time;
    my $status;
    while (time - $t0 < 1.0) {
        $status = present($gw, 'api', $victim)->{status};
        last if $status == 401;
        sleep 0.05;
    }
    is($status, 401, 'the gateway refuses the revoked token within 1 s');

    $r = oc('basic', 'introspect', $victim);
    is_deeply($r, { active => JSON::PP::false },
              'introspection: active:false after revocation');
    is(present($gw, 'api', $tok{basic})->{status}, 200,
       'another token of the same client still passes');

    $r = oc('jwt', 'revoke', $tok{basic});
    is($r->{error}, 'unauthorized_client',
       "revoking another client's token is refused");
}

# ---- the checkers on every token the gateway took ----------------------------

{
    my @good = @tok{qw(basic jwt jwt_read jwt-EdDSA jwt-RS256 both)};
    my $v = Checkers::run([ 'verify', '--issuer', $ISS, '--jwks', $JWKS,
                            '--audience', $API, '--alg', 'ES256' ],
                          stdin => join '', map { "$_\n" } @good);
    is($v->{ok}, 6, 'ES256: jose and oauth4webapi validateJwtAccessToken')
        or diag explain $v;
}

no_errors($gw, $svc, 'ES256');
$gw->stop;
Identity::stop($svc);

# ---- each signing algorithm ----------------------------------------------------

# jose 6 and oauth4webapi 3 verify Ed25519 (JWS alg "EdDSA") through
# WebCrypto, which Node.js 20 has without a flag
for my $alg (qw(EdDSA RS256)) {
    my $r = Tollgate::Redis->start;
    my $c = Tollgate::Gwctl->new($r);
    my $s = Identity::start(redis => $r->address,
                            env => { SIGNING_ALG => $alg });
    my $sec = Identity::client_add($c, 'alg', scopes => 'read',
        default_scopes => 'read', audiences => $API,
        default_audience => $API);
    my $g = gateway($s->{issuer}, "$s->{issuer}/.well-known/jwks.json",
                    redis => $r);

    my @t;
    for (1 .. 3) {
        my (undef, $json) = Identity::form($s, '/oauth2/token',
            [ grant_type => 'client_credentials' ], auth => [ 'alg', $sec ]);
        push @t, $json->{access_token} // 'e30.e30.e30';
    }
    my ($h) = Identity::token_claims($t[0]);
    is($h->{alg}, $alg, "$alg: the service signs with it");

    my $v = Checkers::run([ 'verify', '--issuer', $s->{issuer},
                            '--jwks', "$s->{issuer}/.well-known/jwks.json",
                            '--audience', $API, '--alg', $alg ],
                          stdin => join '', map { "$_\n" } @t);
    is($v->{ok}, 3, "$alg: jose and oauth4webapi validateJwtAccessToken")
        or diag explain $v;
    is_deeply([ map { present($g, $_ % 2 ? 'api' : 'disc', $t[$_])->{status} }
                0 .. 2 ], [ 200, 200, 200 ],
              "$alg: the gateway through the JWKS URL and discovery");
    no_errors($g, $s, $alg);
    $g->stop;
    Identity::stop($s);
}

done_testing();
