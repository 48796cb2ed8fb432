# The revocation list at the edge (gw_jwt_revocation, docs/jwt.md): the
# identity service revokes a token by adding its jti to the zset
# gw:jwt:revoked (scored by the token's exp) and publishing "jti <jti>" on
# gw:events, in one MULTI/EXEC; this file does exactly that on a private
# Redis.  Two nginx instances of two workers each must refuse the token
# within 1 s on every worker (polled on new connections, which reuseport
# spreads over the workers), with 401 invalid_token "token revoked".
# Then: a revocation only in the zset (no message) is picked up by the
# load after a resubscription, and after a Redis restart; an entry lives
# until its score (the token's exp), not the message's ttl; a token
# without a usable jti is refused, or let through with
# gw_jwt_revocation_require_jti off; a message whose jti has control bytes
# is ignored and logged escaped; a zone too small for the list fails
# closed (Redis asked per request, 503 when it cannot answer), logged at
# [error] once; and a gateway that has never loaded the list answers 503
# with Retry-After until it has.
#
# Plain Test::More: Test::Nginx runs one nginx.  TEST_NGINX_LOAD_MODULES
# and TEST_NGINX_BINARY are honoured as by the Test::Nginx files.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET ();
use Test::More;
use Time::HiRes qw(time sleep);
use Tollgate::Gateway;
use Tollgate::JWT qw(jwt key_file);
use Tollgate::Redis;

my @modules = Tollgate::Gateway::modules();
plan skip_all => "the module is not built (run make)"
    unless -f $modules[0];
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $LIMIT = 1.0;            # seconds: the promise of docs/jwt.md
my $WORKERS = 2;
my $KEY = key_file('hmac.secret');

my $redis = Tollgate::Redis->start;

# --- Redis, spoken directly ---------------------------------------------

sub _encode {
    return '*' . @_ . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" } @_;
}

sub _reply {
    my ($s) = @_;
    my $line = <$s>;
    die "redis: no reply\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+' || $t eq ':';
    die "redis: $v\n" if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        read $s, my $buf, $v + 2;
        return substr $buf, 0, $v;
    }
    return [map { _reply($s) } 1 .. $v] if $t eq '*';
    die "redis: odd reply $line\n";
}

# redis([cmd...], ...): sends the commands in one write, returns the
# replies
sub redis {
    my (@cmds) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $redis->port, Proto => 'tcp',
                                  Timeout => 5) or die "redis: $!";
    print $s join '', map { _encode(@$_) } @cmds;
    my @r = map { _reply($s) } @cmds;
    close $s;
    return @r;
}

# revoke($jti, $exp): what the identity service does
sub revoke {
    my ($jti, $exp) = @_;
    redis(['MULTI'], ['ZADD', 'gw:jwt:revoked', $exp, $jti],
          ['PUBLISH', 'gw:events', "jti $jti"], ['EXEC']);
}

# --- tokens and gateways --------------------------------------------------

my $now = time;
my $n = 0;

# tok($jti[, %claims]): an HS256 access token valid for an hour
sub tok {
    my ($jti, %c) = @_;
    my %p = (sub => 'svc', exp => int($now) + 3600, n => ++$n, %c);
    $p{jti} = $jti if defined $jti;
    return jwt(header => { alg => 'HS256', typ => 'at+jwt' }, payload => \%p,
               key => $KEY);
}

sub http {
    my (%o) = @_;
    my $zone = $o{zone} // '';
    return <<"_EOC_";
    gw_redis 127.0.0.1:${\ $redis->port };
    gw_redis_backoff_max 200ms;
    gw_redis_timeout 1s;
    $zone

    server {
        listen 127.0.0.1:\$PORT reuseport;

        location = /api {
            gw_jwt api;
            gw_jwt_type at+jwt;
            gw_jwt_revocation on;
            gw_jwt_key_file $KEY format=hmac;
            add_header X-Worker \$pid always;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
        location = /lax {
            gw_jwt api;
            gw_jwt_revocation on;
            gw_jwt_revocation_require_jti off;
            gw_jwt_key_file $KEY format=hmac;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
        location = /off {
            gw_jwt api;
            gw_jwt_key_file $KEY format=hmac;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
        location = /up { return 200 "ok\\n"; }
    }
_EOC_
}

sub ask {
    my ($gw, $token, $path) = @_;
    my $res = $gw->get($path // '/api', Authorization => "Bearer $token");
    return $res;
}

# until_status($gw, $token, $status, $seconds): polls until an answer has
# $status; returns that answer, or the last one
sub until_status {
    my ($gw, $token, $status, $seconds) = @_;
    my $t0 = time;
    my $res;
    do {
        $res = ask($gw, $token);
        return $res if $res->{status} == $status;
        sleep 0.02;
    } while (time - $t0 < $seconds);
    return $res;
}

sub subscribed {
    my ($want) = @_;
    my $got = 0;
    for (1 .. 200) {
        ($got) = redis(['PUBSUB', 'NUMSUB', 'gw:events']);
        $got = $got->[1];
        return 1 if $got >= $want;
        sleep 0.05;
    }
    diag("$got of $want subscribed");
    return 0;
}

sub log_lines {
    my ($gw, $re) = @_;
    return scalar grep { /$re/ } $gw->error_log;
}

# --- two gateways of two workers -------------------------------------------

my %gw;
$gw{$_} = Tollgate::Gateway->start(workers => $WORKERS, http => http())
    for qw(A B);
ok(subscribed($WORKERS * 2), 'every worker subscribed to gw:events');

my %t = (
    live    => tok('live-1'),
    revoked => tok('rev-1'),
    nojti   => tok(undef),
    badjti  => tok('has space'),
);

for my $name (sort keys %gw) {
    my $res = until_status($gw{$name}, $t{live}, 200, 5);
    is($res->{status}, 200, "$name: a token is accepted once the list loaded");
    is(ask($gw{$name}, $t{revoked})->{status}, 200,
       "$name: the token to revoke is accepted before");
}

revoke('rev-1', int($now) + 3600);
my $t0 = time;

for my $name (sort keys %gw) {
    my $res = until_status($gw{$name}, $t{revoked}, 401, $LIMIT);
    my $took = time - $t0;
    is($res->{status}, 401, sprintf("%s: refused %.3f s after the revocation",
                                    $name, $took));
    like($res->{headers}{'www-authenticate'} // '',
         qr/error="invalid_token", error_description="token revoked"/,
         "$name: invalid_token, token revoked");
    like($res->{body}, qr/"urn:tollgate:problem:token-invalid"/,
         "$name: a problem+json body");

    my (%workers, @bad);
    for (1 .. 40) {
        my $r = ask($gw{$name}, $t{revoked});
        $workers{$r->{headers}{'x-worker'} // '?'}++;
        push @bad, $r->{status} if $r->{status} != 401;
    }
    is("@bad", '', "$name: every later request refused");
    is(scalar(keys %workers), $WORKERS, "$name: on all $WORKERS workers");
    is(ask($gw{$name}, $t{live})->{status}, 200,
       "$name: another token still accepted");
    is(ask($gw{$name}, $t{revoked}, '/off')->{status}, 200,
       "$name: a location without gw_jwt_revocation does not check");
    ok(log_lines($gw{$name}, qr/\[info\].*revoked token, jti: "rev-1"/),
       "$name: the denial logged at info with the jti");
    ok(!log_lines($gw{$name}, qr/\Q$t{revoked}\E/),
       "$name: the token itself never logged");
}

# tokens without a usable jti
for my $name (sort keys %gw) {
    for my $k (qw(nojti badjti)) {
        my $r = ask($gw{$name}, $t{$k});
        is($r->{status}, 401, "$name: $k refused by default");
        like($r->{headers}{'www-authenticate'} // '',
             qr/error_description="token has no usable jti"/,
             "$name: $k: why");
        is(ask($gw{$name}, $t{$k}, '/lax')->{status}, 200,
           "$name: $k accepted with gw_jwt_revocation_require_jti off");
    }
}

# a message with control bytes in the jti: ignored, logged escaped
{
    my $evil = "jti ev\x01il\e[31m";
    redis(['PUBLISH', 'gw:events', $evil]);
    my $ok = 0;
    for (1 .. 100) {
        last if $ok = log_lines($gw{A},
            qr/ignored a revocation with an invalid jti: "jti ev\\x01il\\x1b\[31m"/);
        sleep 0.02;
    }
    ok($ok, 'a message with control bytes is logged escaped');
    ok(!log_lines($gw{A}, qr/\x01|\e/), 'and never raw');
    is(ask($gw{A}, $t{live})->{status}, 200, 'and changes nothing');
}

# the entry lives until the zset's score, not the message's 1 h ttl
{
    my $tk = tok('short-1');
    revoke('short-1', int(time) + 2);
    is(until_status($gw{A}, $tk, 401, $LIMIT)->{status}, 401,
       'a revocation scored 2 s ahead is refused');
    is(until_status($gw{A}, $tk, 200, 10)->{status}, 200,
       'and accepted again once its score has passed');
}

# a revocation only in the zset is loaded after a resubscription
{
    my $tk = tok('quiet-1');
    redis(['ZADD', 'gw:jwt:revoked', int($now) + 3600, 'quiet-1']);
    sleep 0.3;
    is(ask($gw{A}, $tk)->{status}, 200,
       'a revocation without a message is not seen yet');
    redis(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    is(until_status($gw{A}, $tk, 401, 5)->{status}, 401,
       'after the subscriber reconnects, the load has it');
    is(until_status($gw{B}, $tk, 401, 5)->{status}, 401,
       'on the other gateway too');

    # each worker has a subscriber of its own: the one that loaded first
    # answered above, the others reconnect (backoff up to 200 ms) and
    # load too; their loads must be over before the next block adds an
    # entry without a message, or one of them would see it
    sleep 1.5;
}

# and after a restart of Redis (its data saved and loaded again)
{
    my $tk = tok('restart-1');
    redis(['ZADD', 'gw:jwt:revoked', int($now) + 3600, 'restart-1'],
          ['SAVE']);
    is(ask($gw{A}, $tk)->{status}, 200, 'saved without a message: accepted');
    $redis->kill;
    $redis->restart;
    is(until_status($gw{A}, $tk, 401, 10)->{status}, 401,
       'after Redis restarts, the load has it');
    is(until_status($gw{B}, $tk, 401, 5)->{status}, 401,
       'on the other gateway too');
    is(ask($gw{A}, $t{revoked})->{status}, 401, 'the older one still refused');
    is(ask($gw{A}, $t{live})->{status}, 200, 'a live token accepted');
}

for my $name (sort keys %gw) {
    is(log_lines($gw{$name}, qr/\[(?:alert|crit|emerg)\]/), 0,
       "$name: nothing above [error] in the log");
    is(log_lines($gw{$name}, qr/\[error\].*gw_jwt/), 0,
       "$name: no gw_jwt [error]");
}
$_->stop for values %gw;

# --- a zone too small for the list: fail closed ----------------------------

{
    my @many = map { ['ZADD', 'gw:jwt:revoked', int($now) + 3600, "many-$_"] }
               1 .. 1500;
    redis(@many);

    my $gw = Tollgate::Gateway->start(workers => 1,
        http => http(zone => 'gw_jwt_revocation_zone 32k;'));
    ok(subscribed(1), 'the small gateway subscribed');

    my $res;
    for (1 .. 100) {
        last if log_lines($gw, qr/revocation zone "gw_jwt_revocation" is full/);
        sleep 0.05;
    }
    is(log_lines($gw, qr/\[error\].*revocation zone "gw_jwt_revocation" is full/),
       1, 'a full zone is logged at [error], once');

    is(ask($gw, tok('many-1500'))->{status}, 401,
       'a revoked jti the zone could not hold is refused (Redis asked)');
    is(ask($gw, tok('many-1'))->{status}, 401, 'and one it holds');
    is(ask($gw, $t{live})->{status}, 200, 'a live token accepted');

    revoke('late-1', int($now) + 3600);
    is(until_status($gw, tok('late-1'), 401, $LIMIT)->{status}, 401,
       'a new revocation refused while the zone is full');

    $redis->pause;
    $res = ask($gw, tok('other-1'));
    $redis->resume;
    is($res->{status}, 503, 'Redis silent while the zone is full: 503');
    is($res->{headers}{'retry-after'}, '1', 'with Retry-After');
    like($res->{body}, qr/"urn:tollgate:problem:auth-unavailable"/,
         'a problem+json body');
    is(log_lines($gw, qr/\[error\].*is full/), 1,
       'still one [error] for the incident');
    $gw->stop;

    redis(['DEL', 'gw:jwt:revoked']);
}

# --- a gateway that never loaded the list: 503 until it has ----------------

{
    $redis->stop;
    my $gw = Tollgate::Gateway->start(workers => 1, http => http());
    my $res = ask($gw, $t{live});
    is($res->{status}, 503, 'never loaded, Redis down: 503');
    is($res->{headers}{'retry-after'}, '1', 'with Retry-After');
    like($res->{body}, qr/"detail":"the token revocation list is unavailable"/,
         'saying why');
    is(ask($gw, $t{live}, '/off')->{status}, 200,
       'a location without revocation is not affected');

    $redis->restart;
    is(until_status($gw, $t{live}, 200, 10)->{status}, 200,
       'accepted once Redis is back');
    $gw->stop;
}

done_testing();
