# The identity service's introspection (RFC 7662) and revocation (RFC
# 7009) (docs/identity.md, "Introspection and revocation"): callers
# authenticate as clients; a valid token of ours answers active with its
# claims, anything else {"active": false}; a revocation is one ZADD on
# gw:jwt:revoked with the "jti <jti>" event on gw:events (seen here by a
# subscriber of our own), after which introspection answers inactive,
# also for a token it had verified and cached before; a revocation made
# elsewhere (the event alone) and one made while the service was down
# (the sorted set alone, loaded at start) count too; revoking another
# client's token is refused, an invalid token is no error; and with
# Redis gone, a revocation that cannot be known means inactive (fail
# closed).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use Tollgate::Gwctl;
use Tollgate::JWT qw(key_file tamper_payload);
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $API = 'https://api.test';

my $svc = Identity::start(redis => $redis->address,
                          env => { CLIENT_CACHE_TTL => '60s',
                                   FORM_MAX => '16k' });

my $s1 = Identity::client_add($ctl, 'app', scopes => 'read write',
    default_scopes => 'read write', audiences => $API,
    default_audience => $API);
my $s2 = Identity::client_add($ctl, 'rs', scopes => 'read',
    audiences => $API, default_audience => $API,
    auth => 'client_secret_post');

sub mint {
    my ($st, $json) = Identity::form($svc, '/oauth2/token',
        [ grant_type => 'client_credentials' ], auth => [ 'app', $s1 ]);
    die "no token: $st" unless $st == 200;
    return $json->{access_token};
}

sub introspect {
    my ($token, $on) = @_;
    my ($st, $json, $r) = Identity::form($on // $svc, '/oauth2/introspect',
        [ token => $token, token_type_hint => 'access_token',
          client_id => 'rs', client_secret => $s2 ]);
    return ($st == 200 ? $json : { status => $st, %{ $json || {} } }, $r);
}

sub revoke {
    my ($token, %opt) = @_;
    return Identity::form($svc, '/oauth2/revoke', [ token => $token ],
                          auth => $opt{auth} // [ 'app', $s1 ]);
}

# a subscriber of gw:events, as a gateway is
sub subscriber {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $redis->port, Proto => 'tcp')
        or die "subscriber: $!";
    syswrite $s, "SUBSCRIBE gw:events\r\n";
    my $buf = '';
    sysread $s, $buf, 4096 until $buf =~ /:1\r\n/;
    return $s;
}

sub messages {
    my ($s, $wait) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + $wait;
    while (time < $deadline && $sel->can_read($deadline - time)) {
        sysread($s, $buf, 4096, length $buf) or last;
        last if $buf =~ /jti /;
    }
    return [ $buf =~ /\$\d+\r\n((?:jti|client|key|consumer) [^\r]*)\r\n/g ];
}

# ---- answers ----------------------------------------------------------------

my $t1 = mint();
my ($h1, $c1) = Identity::token_claims($t1);

my ($a, $r) = introspect($t1);
is($a->{active}, JSON::PP::true(), 'a fresh token is active');
is($r->{headers}{'cache-control'}, 'no-store', 'no-store');
is_deeply({ map { $_ => $a->{$_} } grep { $_ ne 'active' } keys %$a },
          { %$c1, token_type => 'Bearer' },
          'with its claims and token_type');
is((introspect($t1))[0]{active}, JSON::PP::true(), 'again (cached)');

is_deeply((introspect('not-a-token'))[0], { active => JSON::PP::false() },
          'garbage: active false, nothing more');
is_deeply((introspect(tamper_payload($t1, { %$c1, scope => 'admin' })))[0],
          { active => JSON::PP::false() }, 'a changed payload: inactive');
is_deeply((introspect(Tollgate::JWT::jwt(alg => 'ES256',
              header => { typ => 'at+jwt', kid => $h1->{kid} },
              payload => $c1)))[0],
          { active => JSON::PP::false() },
          "another key's signature under our kid: inactive");
is_deeply((introspect('x' x 9000))[0], { active => JSON::PP::false() },
          'an oversized token: inactive');

{
    my ($st, $json) = Identity::form($svc, '/oauth2/introspect',
                                     [ token => $t1 ]);
    is($st, 401, 'an anonymous caller: 401');
    is($json->{error}, 'invalid_client', 'invalid_client');

    ($st, $json) = Identity::form($svc, '/oauth2/introspect',
        [ client_id => 'rs', client_secret => $s2 ]);
    is($json->{error}, 'invalid_request', 'no token: invalid_request');

    ($st, $json) = Identity::form($svc, '/oauth2/introspect',
        [ token => $t1, token => $t1, client_id => 'rs',
          client_secret => $s2 ]);
    is($json->{error}, 'invalid_request', 'token twice: invalid_request');
}

# ---- revocation ---------------------------------------------------------------

my $sub = subscriber();
my ($st) = revoke($t1);
is($st, 200, 'revoke: 200');
is_deeply(messages($sub, 2), [ "jti $c1->{jti}" ],
          'the "jti <jti>" event is published');
is($ctl->redis('ZSCORE', 'gw:jwt:revoked', $c1->{jti}), $c1->{exp},
   'gw:jwt:revoked holds the jti, scored by exp');
is_deeply((introspect($t1))[0], { active => JSON::PP::false() },
          'a revoked token (verified and cached before): inactive');

($st) = revoke('not-a-token');
is($st, 200, 'revoking an invalid token: 200 (RFC 7009)');

{
    my $t2 = mint();
    my ($st2, $json) = Identity::form($svc, '/oauth2/revoke',
        [ token => $t2, client_id => 'rs', client_secret => $s2 ]);
    is($json->{error}, 'unauthorized_client',
       "another client's token: unauthorized_client");
    is((introspect($t2))[0]{active}, JSON::PP::true(), 'and it stays active');

    ($st2, $json) = Identity::form($svc, '/oauth2/revoke', [ token => $t2 ]);
    is($st2, 401, 'revoke without authentication: 401');
}

# a revocation by another instance: the event alone
{
    my $t3 = mint();
    my (undef, $c3) = Identity::token_claims($t3);
    is((introspect($t3))[0]{active}, JSON::PP::true(), 'active');
    $ctl->redis('PUBLISH', 'gw:events', "jti $c3->{jti}");
    sleep 0.2;
    is((introspect($t3))[0]{active}, JSON::PP::false(),
       'a "jti" event from elsewhere: inactive');
}

# a revocation while an instance was not running: the set, loaded at start
{
    my $t4 = mint();
    my $t5 = mint();
    my (undef, $c4) = Identity::token_claims($t4);
    $ctl->redis('ZADD', 'gw:jwt:revoked', $c4->{exp}, $c4->{jti});

    my $other = Identity::start(redis => $redis->address,
                                env => { ISSUER => $svc->{issuer} });
    my $loaded;
    for (1 .. 50) {
        last if $loaded = grep { ($_->{message} // '')
                                 eq 'revoked tokens loaded' }
                          Identity::log_lines($other);
        sleep 0.1;
    }
    ok($loaded, 'a new instance loads the revoked set');
    is((introspect($t4, $other))[0]{active}, JSON::PP::false(),
       'a token revoked before it started: inactive');
    is((introspect($t5, $other))[0]{active}, JSON::PP::true(),
       'another token of the same keys: active');
    Identity::stop($other);
}

# ---- Redis down: fail closed ---------------------------------------------------

{
    my $t6 = mint();
    is((introspect($t6))[0]{active}, JSON::PP::true(), 'active (cached)');

    my $snap = $ctl->snapshot;
    $redis->kill;
    sleep 0.3;

    my ($a6) = introspect($t6);
    is_deeply($a6, { active => JSON::PP::false() },
              'Redis down: a revocation cannot be known: inactive');
    my ($st6, $json6) = revoke($t6);
    is($st6, 503, 'Redis down: a revocation cannot be stored: 503');
    is($json6->{error}, 'temporarily_unavailable', 'temporarily_unavailable');

    $redis->restart;
    $redis->wait_ready;
    $ctl->restore($snap);

    my $back;
    for (1 .. 60) {
        last if $back = ((introspect($t6))[0]{active} // 0);
        sleep 0.1;
    }
    ok($back, 'Redis back: the set is loaded again, active');
    is((introspect($t1))[0]{active}, JSON::PP::false(),
       'and the token revoked before stays inactive');
}

my @errors = grep { $_->{level} eq 'error' } Identity::log_lines($svc);
is_deeply([ map { $_->{message} } @errors ], [], 'nothing logged at error');

Identity::stop($svc);

done_testing();
