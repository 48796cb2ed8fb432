# Forced rotation under load, end to end (issue 14, point 12): two
# instances of the identity service on one Redis, both issuing; 10
# rotations with `identity rotate` (each as soon as its rules allow: not
# while a key is pending); meanwhile load clients (forked, HTTP::Tiny
# keep-alive) keep getting tokens from both instances, present each to
# two gateways that take their keys from a JWKS URL (of either instance)
# or from discovery of the issuer (one with gw:events and a 1 s
# cooldown, one with Cache-Control alone), and hand each to
# `check.mjs verify`
# (npm jose and oauth4webapi validateJwtAccessToken, both keeping the key
# set only for the JWKS's max-age, as a cache that honours Cache-Control
# does, and neither refetching for an unknown kid within its cooldown).
#
# Asserted: all 10 rotations happened and each new key signed tokens
# (11 distinct kids or more in the tokens), and of every token offered
# the gateway and the npm checkers rejected none.  Counts only: nothing
# here depends on speed.
#
# Short times so that it fits in a minute: jwks_max_age 1 s, keys_poll
# 100 ms (a key's lead is then 3 s), token_ttl 20 s, leeway 5 s; the
# gateways' gw_jwt_jwks_refresh_min 1 s.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Checkers;
use Identity;
use Tollgate::Gateway;
use Tollgate::Gwctl;
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

my $ROTATIONS = 10;
my $API = 'https://api.test';
my $tmp = tempdir(DIR => Identity::tmp());

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);

my %env = (TOKEN_TTL => 20, LEEWAY => 5, JWKS_MAX_AGE => 1,
           KEYS_POLL => '100ms');
my $one = Identity::start(redis => $redis->address, env => { %env });
my $ISS = $one->{issuer};
my $two = Identity::start(redis => $redis->address,
                        env => { %env, ISSUER => $ISS });
my @svc = ($one, $two);

my $secret = Identity::client_add($ctl, 'load', scopes => 'read',
    default_scopes => 'read', audiences => $API, default_audience => $API);

my $strict = "gw_jwt_type at+jwt; gw_jwt_issuer $ISS;"
             . " gw_jwt_audience $API; gw_jwt_scope read;";
my %keys = (a => "gw_jwt_jwks_url $ISS/.well-known/jwks.json",
            b => 'gw_jwt_jwks_url ' . Identity::url($two,
                                                   '/.well-known/jwks.json'),
            disc => "gw_jwt_discovery $ISS");
my $locations = join '', map { <<"_EOC_" } sort keys %keys;
        location = /$_ {
            gw_jwt api;
            $keys{$_};
            $strict
            return 200 "ok \$gw_jwt_kid\\n";
        }
_EOC_

# the first gateway as the docs suggest for a fast rotation (gw:events
# "keys" messages, a short cooldown); the second with neither (no
# gw_redis, the default 30 s cooldown): only Cache-Control keeps it
# current, so a key it lacked when a token came would be a 401
my @gw = map {
    my $more = $_ ? 'gw_jwt_jwks_cooldown 30s;'
                  : "gw_redis 127.0.0.1:${\ $redis->port };\n"
                    . '    gw_jwt_jwks_cooldown 1s;';
    Tollgate::Gateway->start(http => <<"_EOC_");
    $more
    gw_jwt_jwks_refresh_min 1s;
    gw_jwt_jwks_timeout 2s;
    server {
        listen 127.0.0.1:\$PORT;
        keepalive_requests 100000;
$locations
    }
_EOC_
} 0, 1;

# the npm checkers read the other instance's JWKS than the gateway's /a
my $verifier = Checkers::verifier(out => "$tmp/verify.json", args => [
    '--issuer', $ISS, '--audience', $API, '--alg', 'ES256',
    '--jwks', Identity::url($two, '/.well-known/jwks.json') ]);

# ---- the load ----------------------------------------------------------------

# load($i): a child that gets tokens from instance $i until $tmp/stop
# exists, presents each to the gateway (the locations in turn) and feeds
# it to the checkers; it writes its counts to $tmp/load-$i.json
sub load {
    my ($i) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;

    my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
    my $basic = 'Basic ' . encode_base64("load:$secret", '');
    my @loc = sort keys %keys;
    my %n = (tokens => 0, token_failed => 0, offered => 0, accepted => 0,
             rejected => 0, samples => [], kids => {});
    my $token_url = Identity::url($svc[$i], '/oauth2/token');
    my @base = map { 'http://127.0.0.1:' . $_->port } @gw;

    until (-e "$tmp/stop") {
        my $r = $http->post($token_url, {
            headers => { Authorization => $basic, 'Content-Type' =>
                         'application/x-www-form-urlencoded' },
            content => 'grant_type=client_credentials' });
        my $json = $r->{status} == 200
                   ? eval { JSON::PP::decode_json($r->{content}) } : undef;
        if (!$json || !$json->{access_token}) {
            $n{token_failed}++;
            push @{ $n{samples} }, "token $r->{status} $r->{content}"
                if @{ $n{samples} } < 5;
            next;
        }
        my $t = $json->{access_token};
        $n{tokens}++;
        my ($h) = Identity::token_claims($t);
        $n{kids}{ $h->{kid} }++;

        $verifier->feed($t);

        my $loc = $loc[ $n{tokens} % @loc ];
        for my $g (0, 1) {
            $n{offered}++;
            $r = $http->get("$base[$g]/$loc",
                            { headers => { Authorization => "Bearer $t" } });
            if ($r->{status} == 200) {
                $n{accepted}++;
            } else {
                $n{rejected}++;
                push @{ $n{samples} }, "gateway $g /$loc $r->{status}"
                                       . " kid $h->{kid}: $r->{content}"
                    if @{ $n{samples} } < 5;
            }
        }
    }

    open my $out, '>', "$tmp/load-$i.json" or POSIX::_exit(1);
    print {$out} JSON::PP::encode_json(\%n);
    close $out;
    POSIX::_exit(0);
}

my @children = map { load($_) } 0, 1;

# ---- the rotations -------------------------------------------------------------

my (@rotated, @refusals);
for my $n (1 .. $ROTATIONS) {
    my $deadline = time + 30;
    while (time < $deadline) {
        my ($out, $code) = Identity::run($svc[$n % 2]{env}, 'rotate');
        if ($code == 0) {
            my ($line) = grep { /"activate"/ } split /\n/, $out;
            push @rotated, eval { JSON::PP::decode_json($line) } // {};
            last;
        }
        # the rule: refused while the last key is pending
        push @refusals, $out unless $out =~ /pending/;
        sleep 0.2;
    }
}

is(scalar @rotated, $ROTATIONS, "$ROTATIONS rotations by identity rotate");
is_deeply(\@refusals, [], 'a rotation was only ever refused as pending');
my %new = map { ($_->{kid} // '') => 1 } @rotated;
is(scalar keys %new, $ROTATIONS, 'each rotation added a new kid');
ok(!grep({ ($_->{activate} // 0) - ($_->{publish} // 0) < 3 } @rotated),
   'each published at least the lead (3 s) before it activates');

# until the last key has signed a while on both instances
my $last = $rotated[-1] || { activate => time };
sleep 0.1 while time < $last->{activate} + 2;

open my $stop, '>', "$tmp/stop" or die "$tmp/stop: $!";
close $stop;
waitpid($_, 0) for @children;

my %total = (tokens => 0, token_failed => 0, offered => 0, accepted => 0,
             rejected => 0);
my (%kids, @samples);
for my $i (0, 1) {
    open my $in, '<', "$tmp/load-$i.json" or do {
        fail("load client $i wrote its counts");
        next;
    };
    my $n = JSON::PP::decode_json(do { local $/; <$in> });
    $total{$_} += $n->{$_} for keys %total;
    $kids{$_} += $n->{kids}{$_} for keys %{ $n->{kids} };
    push @samples, @{ $n->{samples} };
    ok($n->{tokens} > 0, "instance $i issued tokens under load");
}

my $v = $verifier->finish;
diag("tokens: $total{tokens}, presented: $total{offered}, kids seen: "
     . scalar(keys %kids)
     . ", checkers: $v->{checked} checked, $v->{fetches} JWKS fetches"
     . " by jose, lag at most " . sprintf('%.1f s', $v->{lag_max} // 0));

is($total{token_failed}, 0, 'no token request failed')
    or diag(@samples);
is($total{rejected}, 0, 'the gateways rejected no valid token')
    or diag(@samples);
is($total{accepted}, $total{offered}, 'every token offered was accepted');
is($v->{checked}, $total{tokens}, 'the checkers saw every token');
is($v->{failed}, 0, 'jose and oauth4webapi rejected none')
    or diag explain $v->{errors};
ok(keys %kids >= $ROTATIONS + 1,
   'tokens were signed by ' . scalar(keys %kids) . ' keys (the first'
   . " and $ROTATIONS new)");
ok(!grep({ !$kids{$_} } keys %new), 'every rotated key signed tokens');

for my $g (0, 1) {
    my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw[$g]->error_log;
    is(scalar @bad, 0, "gateway $g logged nothing at [error] or above")
        or diag(@bad);
}
for my $i (0, 1) {
    is_deeply([ map { $_->{message} }
                grep { $_->{level} =~ /^(error|crit|alert|emerg)$/ }
                Identity::log_lines($svc[$i]) ], [],
              "instance $i logged nothing at error");
}

$_->stop for @gw;
Identity::stop($_) for @svc;

done_testing();
