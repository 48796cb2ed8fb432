# The identity service's token endpoint (backends/identity,
# docs/identity.md "Clients", "Token endpoint"): client authentication by
# client_secret_basic, client_secret_post and private_key_jwt; scopes and
# resources; every RFC 6749 section 5.2 error, each with its status and
# no 500 for any input: malformed bodies, another content type, oversized
# forms, repeated parameters, two methods at once, replayed assertions,
# alg "none" and HMAC assertions, an assertion whose aud is not the
# issuer, unknown and disabled clients, a rotated secret during and after
# its grace.  Minted tokens are decoded here (header typ at+jwt, the RFC
# 9068 claims) and their signature checked through /oauth2/introspect.
# Clients are made with build/gwctl, as an operator would.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use Tollgate::Gwctl;
use Tollgate::JWT qw(key_file public_jwk b64url);
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $tmp = tempdir(DIR => Identity::tmp());

my $svc = Identity::start(redis => $redis->address, ready => 0,
                          env => { FORM_MAX => 1024,
                                   CLIENT_CACHE_TTL => '60s' });

my $signing = 0;
for (1 .. 60) {
    last if $signing = ((Identity::get($svc, '/readyz'))[0] == 200);
    sleep 0.1;
}

my $API = 'https://api.test';

my $secret = Identity::client_add($ctl, 'svc1',
    scopes => 'read write admin', default_scopes => 'read',
    audiences => "$API https://other.test", default_audience => $API,
    auth => 'client_secret_basic client_secret_post');

my $basic_only = Identity::client_add($ctl, 'basic1', scopes => 'read',
    audiences => $API, default_audience => $API);

my $noaud = Identity::client_add($ctl, 'noaud', scopes => 'read');

sub token {
    my ($pairs, %opt) = @_;
    return Identity::form($svc, '/oauth2/token', $pairs, %opt);
}

sub is_error {
    my ($name, $got, $status, $error) = @_;
    my ($st, $json, $r) = @$got;
    subtest $name => sub {
        is($st, $status, "status $status");
        is(ref $json eq 'HASH' ? $json->{error} : $json, $error,
           "error $error");
        like($r->{headers}{'content-type'} // '', qr{^application/json},
             'JSON');
        is($r->{headers}{'cache-control'}, 'no-store', 'no-store');
        if ($status == 401) {
            like($r->{headers}{'www-authenticate'} // '',
                 qr/^Basic realm="\Q$svc->{issuer}\E"$/, 'WWW-Authenticate');
        }
        ok(!defined $json->{error_description}
           || $json->{error_description} =~ /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/,
           'error_description in the RFC 6749 character set');
    };
}

my $CC = [ grant_type => 'client_credentials' ];

# ---- malformed requests: invalid_request ---------------------------------

is_error('no grant_type', [ token([], auth => [ 'svc1', $secret ]) ],
         400, 'invalid_request');

is_error('a JSON body', [ Identity::request($svc, 'POST', '/oauth2/token',
    '{"grant_type":"client_credentials"}',
    'Content-Type' => 'application/json',
    Authorization => 'Basic ' . encode_base64("svc1:$secret", '')) ],
    400, 'invalid_request');

is_error('no content type', [ Identity::request($svc, 'POST',
    '/oauth2/token', 'grant_type=client_credentials',
    Authorization => 'Basic ' . encode_base64("svc1:$secret", '')) ],
    400, 'invalid_request');

is_error('a charset is tolerated, another parameter not',
    [ token($CC, auth => [ 'svc1', $secret ], headers => {
        'Content-Type' => 'application/x-www-form-urlencoded; boundary=x' })
    ], 400, 'invalid_request');

{
    my ($st) = token($CC, auth => [ 'svc1', $secret ], headers => {
        'Content-Type' => 'application/x-www-form-urlencoded; charset=UTF-8'
    });
    isnt($st, 400, 'charset=UTF-8 is taken');
}

for my $case ([ 'bad escape', 'grant_type=client%2gcredentials' ],
              [ 'truncated escape', 'grant_type=client_credentials%4' ],
              [ 'encoded NUL', 'grant_type=client_credentials&scope=a%00' ],
              [ 'empty pair', 'grant_type=client_credentials&&scope=read' ],
              [ 'trailing &', 'grant_type=client_credentials&' ],
              [ 'no =', 'grant_type=client_credentials&scope' ],
              [ 'repeated grant_type',
                'grant_type=client_credentials&grant_type=client_credentials' ],
              [ 'repeated scope',
                'grant_type=client_credentials&scope=read&scope=write' ],
              [ 'repeated, one empty',
                'grant_type=client_credentials&scope=&scope=read' ],
              [ 'oversized form',
                'grant_type=client_credentials&x=' . ('a' x 2000) ])
{
    is_error($case->[0], [ Identity::request($svc, 'POST', '/oauth2/token',
        $case->[1], 'Content-Type' => 'application/x-www-form-urlencoded',
        Authorization => 'Basic ' . encode_base64("svc1:$secret", '')) ],
        400, 'invalid_request');
}

is_error('Basic and client_secret together',
    [ token([ @$CC, client_id => 'svc1', client_secret => $secret ],
            auth => [ 'svc1', $secret ]) ], 400, 'invalid_request');

is_error('client_secret without client_id',
    [ token([ @$CC, client_secret => $secret ]) ], 400, 'invalid_request');

is_error('half an assertion',
    [ token([ @$CC, client_assertion => 'a.b.c' ]) ], 400, 'invalid_request');

# ---- client authentication: invalid_client --------------------------------

is_error('no authentication', [ token($CC) ], 401, 'invalid_client');
is_error('wrong secret', [ token($CC, auth => [ 'svc1', 'tgs_wrong' ]) ],
         401, 'invalid_client');
is_error('unknown client', [ token($CC, auth => [ 'ghost', $secret ]) ],
         401, 'invalid_client');
is_error('an id that cannot exist',
    [ token($CC, auth => [ "bad\x01id", $secret ]) ], 401, 'invalid_client');
is_error('Basic that is not base64', [ Identity::form($svc, '/oauth2/token',
    $CC, headers => { Authorization => 'Basic %%%%' }) ],
    401, 'invalid_client');
is_error('another scheme', [ Identity::form($svc, '/oauth2/token',
    $CC, headers => { Authorization => 'Bearer x' }) ],
    401, 'invalid_client');
is_error('client_secret_post not allowed for basic1',
    [ token([ @$CC, client_id => 'basic1', client_secret => $basic_only ]) ],
    401, 'invalid_client');

{
    my @lines = grep { ($_->{message} // '') eq 'client authentication failed' }
                Identity::log_lines($svc);
    ok(!grep({ ($_->{fields}{client_id} // '') =~ /[\x00-\x1f]/ } @lines),
       'no control byte of a client id reaches the log');
    is((grep { ($_->{fields}{reason} // '') eq 'unknown client' } @lines), 2,
       'unknown clients are logged as such (info)');
}

# ---- the client credentials grant ----------------------------------------

SKIP: {
    skip 'no signing key yet (identity_keys)', 9 unless $signing;

    my ($st, $json, $r) = token($CC, auth => [ 'svc1', $secret ]);
    is($st, 200, 'client_secret_basic: 200') or diag explain $json;
    is($r->{headers}{'cache-control'}, 'no-store', 'Cache-Control');
    is($r->{headers}{pragma}, 'no-cache', 'Pragma');
    is($json->{token_type}, 'Bearer', 'token_type');
    is($json->{scope}, 'read', 'the default scopes');

    my ($h, $c) = Identity::token_claims($json->{access_token});
    is($h->{typ}, 'at+jwt', 'typ at+jwt (RFC 9068)');
    is_deeply([ sort keys %$c ],
              [ sort qw(iss sub aud exp iat jti client_id scope) ],
              'the RFC 9068 claims');
    subtest 'claims' => sub {
        is($c->{iss}, $svc->{issuer}, 'iss');
        is($c->{sub}, 'svc1', 'sub');
        is($c->{client_id}, 'svc1', 'client_id');
        is($c->{aud}, $API, 'aud: the default audience');
        is($c->{exp} - $c->{iat}, 300, 'exp: iat + token_ttl');
        ok(abs($c->{iat} - time) < 5, 'iat: now');
        like($c->{jti}, qr/^[A-Za-z0-9_-]{22,}$/, 'jti: 16 bytes at least');
        is($json->{expires_in}, 300, 'expires_in');
    };

    my ($st2, $intro) = Identity::form($svc, '/oauth2/introspect',
        [ token => $json->{access_token} ], auth => [ 'svc1', $secret ]);
    ok($st2 == 200 && $intro->{active}, 'its signature verifies');
}

SKIP: {
    skip 'no signing key yet (identity_keys)', 9 unless $signing;

    my ($st, $json) = token([ @$CC, client_id => 'svc1',
                              client_secret => $secret,
                              scope => 'write read write' ]);
    is($st, 200, 'client_secret_post: 200');
    is($json->{scope}, 'read write' eq $json->{scope} ? 'read write'
                       : 'write read', 'asked scopes, once each');

    ($st, $json) = token([ @$CC, resource => $API,
                           resource => 'https://other.test' ],
                         auth => [ 'svc1', $secret ]);
    my (undef, $c) = Identity::token_claims($json->{access_token} // 'e30.e30');
    is_deeply($c->{aud}, [ $API, 'https://other.test' ],
              'two resources: aud is an array (RFC 8707)');

    ($st, $json) = token([ @$CC, resource => 'https://other.test' ],
                         auth => [ 'svc1', $secret ]);
    (undef, $c) = Identity::token_claims($json->{access_token} // 'e30.e30');
    is($c->{aud}, 'https://other.test', 'one resource: aud is a string');

    is_error('a scope not allowed',
        [ token([ @$CC, scope => 'read root' ], auth => [ 'svc1', $secret ]) ],
        400, 'invalid_scope');
    is_error('a malformed scope',
        [ token([ @$CC, scope => 'read  write' ],
                auth => [ 'svc1', $secret ]) ], 400, 'invalid_scope');
    is_error('a resource not allowed',
        [ token([ @$CC, resource => 'https://evil.test' ],
                auth => [ 'svc1', $secret ]) ], 400, 'invalid_target');
    is_error('a resource with a fragment',
        [ token([ @$CC, resource => "$API#x" ],
                auth => [ 'svc1', $secret ]) ], 400, 'invalid_target');
    is_error('no resource and no default audience',
        [ token($CC, auth => [ 'noaud', $noaud ]) ], 400, 'invalid_target');
}

is_error('an unknown grant type', [ token([ grant_type => 'password' ],
    auth => [ 'svc1', $secret ]) ], 400, 'unsupported_grant_type');

{
    my $only = Identity::client_add($ctl, 'txonly', scopes => 'read',
        grants => 'urn:ietf:params:oauth:grant-type:token-exchange');
    is_error('a grant the client may not use',
        [ token($CC, auth => [ 'txonly', $only ]) ], 400,
        'unauthorized_client');
}

# ---- disabled clients, rotated secrets -------------------------------------

$ctl->ok('client', 'disable', 'basic1');
is_error('a disabled client (the event drops the cached record)',
    [ token($CC, auth => [ 'basic1', $basic_only ]) ], 401, 'invalid_client');
$ctl->ok('client', 'enable', 'basic1');

SKIP: {
    skip 'no signing key yet (identity_keys)', 4 unless $signing;

    my ($st) = token($CC, auth => [ 'basic1', $basic_only ]);
    is($st, 200, 'enabled again: 200');

    my $new = Identity::client_rotate($ctl, 'basic1', '--grace', '1h');
    ($st) = token($CC, auth => [ 'basic1', $new ]);
    is($st, 200, 'the new secret works');
    ($st) = token($CC, auth => [ 'basic1', $basic_only ]);
    is($st, 200, 'the old one too, during the grace');

    my $newer = Identity::client_rotate($ctl, 'basic1', '--grace', '0');
    ($st) = token($CC, auth => [ 'basic1', $new ]);
    is($st, 401, 'a rotation without grace ends the old one at once');
}

{
    my $new = Identity::client_rotate($ctl, 'noaud', '--grace', '1h');
    $ctl->redis('HSET', 'gw:client:noaud', 'secret_old_until', time - 1);
    $ctl->redis('PUBLISH', 'gw:events', 'client noaud');
    sleep 0.2;
    is_error('the old secret after its grace',
        [ token($CC, auth => [ 'noaud', $noaud ]) ], 401, 'invalid_client');
}

# ---- private_key_jwt ---------------------------------------------------------

my $ec_jwk = "$tmp/ec.jwk";
Tollgate::JWT::spew($ec_jwk, JSON::PP::encode_json(
    public_jwk(key_file('ec256.pem'), alg => 'ES256')));
Identity::client_add($ctl, 'jwt1', scopes => 'read', audiences => $API,
                     default_audience => $API, auth => 'private_key_jwt');
$ctl->ok('client', 'set-key', 'jwt1', $ec_jwk);

my $JWT_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

sub with_assertion {
    my ($jwt, @more) = @_;
    return token([ @$CC, client_assertion_type => $JWT_TYPE,
                   client_assertion => $jwt, @more ]);
}

my $good = Identity::assertion($svc, 'jwt1', key => key_file('ec256.key'));

{
    my ($st, $json) = with_assertion($good);

  SKIP: {
        skip 'no signing key yet (identity_keys)', 2 unless $signing;

        is($st, 200, 'private_key_jwt: 200') or diag explain $json;
        my (undef, $c) = Identity::token_claims($json->{access_token}
                                                // 'e30.e30');
        is($c->{sub}, 'jwt1', 'sub: the client');
    }
}

is_error('a replayed assertion', [ with_assertion($good) ], 401,
         'invalid_client');

{
    my $keys = $ctl->redis('KEYS', 'gw:identity:jti:jwt1:*');
    is(scalar @$keys, 1, 'the jti is remembered once, by its hash');
    like($keys->[0], qr/^gw:identity:jti:jwt1:[0-9a-f]{64}$/, 'its key');
    my $ttl = $ctl->redis('TTL', $keys->[0]);
    ok($ttl > 0 && $ttl <= 60 + 30, "for the assertion's lifetime ($ttl s)");
}

is_error('alg none', [ with_assertion(Identity::assertion($svc, 'jwt1',
    alg => 'none', header => { typ => 'JWT' }, signature => '')) ],
    401, 'invalid_client');

is_error('HS256 keyed with the public key', [ with_assertion(
    Identity::assertion($svc, 'jwt1', alg => 'HS256',
                        secret => Tollgate::JWT::slurp($ec_jwk))) ],
    401, 'invalid_client');

is_error('another key', [ with_assertion(Identity::assertion($svc, 'jwt1',
    alg => 'ES384', key => key_file('ec384.key'))) ], 401, 'invalid_client');

is_error('aud: the token endpoint, not the issuer',
    [ with_assertion(Identity::assertion($svc, 'jwt1',
        key => key_file('ec256.key'),
        claims => { aud => "$svc->{issuer}/oauth2/token" })) ],
    401, 'invalid_client');

is_error('aud: an array holding the issuer',
    [ with_assertion(Identity::assertion($svc, 'jwt1',
        key => key_file('ec256.key'),
        claims => { aud => [ $svc->{issuer} ] })) ], 401, 'invalid_client');

is_error('no exp', [ with_assertion(Identity::assertion($svc, 'jwt1',
    key => key_file('ec256.key'), claims => { exp => undef })) ],
    401, 'invalid_client');

is_error('exp too far ahead', [ with_assertion(Identity::assertion($svc,
    'jwt1', key => key_file('ec256.key'),
    claims => { exp => int(time) + 3600 })) ], 401, 'invalid_client');

is_error('expired', [ with_assertion(Identity::assertion($svc, 'jwt1',
    key => key_file('ec256.key'), claims => { exp => int(time) - 120 })) ],
    401, 'invalid_client');

is_error('no jti', [ with_assertion(Identity::assertion($svc, 'jwt1',
    key => key_file('ec256.key'), claims => { jti => undef })) ],
    401, 'invalid_client');

is_error('iss differs from sub', [ with_assertion(Identity::assertion($svc,
    'jwt1', key => key_file('ec256.key'), claims => { iss => 'svc1' })) ],
    401, 'invalid_client');

is_error('client_id differs from the assertion',
    [ with_assertion($good, client_id => 'svc1') ], 401, 'invalid_client');

is_error('a wrong assertion type', [ token([ @$CC,
    client_assertion_type => 'urn:x', client_assertion => $good ]) ],
    401, 'invalid_client');

is_error('garbage as assertion', [ with_assertion('not.a.jwt') ], 401,
         'invalid_client');

is_error('a secret client cannot use private_key_jwt',
    [ with_assertion(Identity::assertion($svc, 'svc1',
        key => key_file('ec256.key'))) ], 401, 'invalid_client');

# ---- random forms: an RFC 6749 error each, never a 5xx ---------------------

{
    srand(14);
    my @alphabet = ('a' .. 'z', '0' .. '9', qw(% & = + . - _ ~), "\x00",
                    "\x01", "\xff", ' ', '%4', '%zz', '%00', 'grant_type=',
                    'client_id=', 'client_secret=', 'scope=', 'resource=',
                    'client_assertion=', 'client_credentials');
    my %seen;
    for my $i (1 .. 200) {
        my $body = join '', map { $alphabet[rand @alphabet] }
                            1 .. 1 + int(rand 40);
        my @auth = $i % 2 ? (Authorization => 'Basic '
                             . encode_base64("svc1:$secret", '')) : ();
        my ($st, $json) = Identity::request($svc, 'POST', '/oauth2/token',
            $body, 'Content-Type' => 'application/x-www-form-urlencoded',
            @auth);
        $seen{$st < 500 && ref $json eq 'HASH' && defined $json->{error}
              ? 'rfc6749' : "other $st"}++;
    }
    is_deeply(\%seen, { rfc6749 => 200 },
              '200 random forms: each an RFC 6749 error, none a 5xx');
}

# ---- nothing of it was a 500, nothing logged at error ----------------------

{
    my @lines = Identity::log_lines($svc);
    ok(!grep({ ($_->{fields}{status} // 0) >= 500
               && ($_->{fields}{route} // '') eq '/oauth2/token' } @lines)
       || !$signing, 'no 5xx from the token endpoint');
    is_deeply([ map { $_->{message} } grep { $_->{level} eq 'error' } @lines ],
              [], 'nothing logged at error');
}

Identity::stop($svc);

done_testing();
