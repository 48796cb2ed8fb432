# The identity service's verify threads (backends/identity,
# docs/identity.md "verify_threads"): private_key_jwt assertions get the
# same answers whether their signature is verified on the loop
# (verify_threads 0) or on two worker threads: ES256, EdDSA and RS256
# assertions that are valid, tampered with, signed by another key, one
# byte short, then replayed or expired; 200 concurrent requests, three
# in four valid, each get their own right answer; and a stop at once
# with requests in flight ends cleanly, nothing logged at error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

use Identity;
use Tollgate::Gwctl;
use Tollgate::JWT qw(key_file public_jwk b64url b64url_decode);
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $tmp = tempdir(DIR => Identity::tmp());
my $API = 'https://api.test';
my $JWT_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

# one client per algorithm, each with its public key
my %clients = (
    'vt-ec'  => [ 'ES256', 'ec256' ],
    'vt-ed'  => [ 'EdDSA', 'ed25519' ],
    'vt-rsa' => [ 'RS256', 'rsa' ],
);

for my $id (sort keys %clients) {
    my ($alg, $key) = @{ $clients{$id} };
    my $file = "$tmp/$id.jwk";
    Tollgate::JWT::spew($file, JSON::PP::encode_json(
        public_jwk(key_file("$key.pem"), alg => $alg)));
    Identity::client_add($ctl, $id, scopes => 'read', audiences => $API,
                         default_audience => $API, auth => 'private_key_jwt');
    $ctl->ok('client', 'set-key', $id, $file);
}

# the signature of $jwt changed by $f (bytes in, bytes out)
sub resig {
    my ($jwt, $f) = @_;
    my ($h, $p, $s) = split /\./, $jwt;
    return "$h.$p." . b64url($f->(b64url_decode($s)));
}

sub assertion {
    my ($svc, $id, %opt) = @_;
    my ($alg, $key) = @{ $clients{$id} };
    return Identity::assertion($svc, $id, alg => $alg,
                               key => key_file("$key.key"), %opt);
}

sub token {
    my ($svc, $jwt) = @_;
    return Identity::form($svc, '/oauth2/token',
                          [ grant_type => 'client_credentials',
                            client_assertion_type => $JWT_TYPE,
                            client_assertion => $jwt ]);
}

sub reasons {
    my ($svc) = @_;
    return map { $_->{fields}{reason} // () }
           grep { ($_->{message} // '') eq 'client authentication failed' }
           Identity::log_lines($svc);
}

sub no_error_log {
    my ($svc, $name) = @_;
    my @bad = grep { ($_->{level} // '') =~ /^(error|crit|alert|emerg)$/ }
              Identity::log_lines($svc);
    ok(!@bad, "$name: nothing logged at error") or diag explain \@bad;
}

{
    my (undef, %env) = Identity::env_for(redis => $redis->address,
                                         env => { VERIFY_THREADS => 9 });
    my ($out, $rc) = Identity::run(\%env, '-t');
    is($rc, 2, 'verify_threads 9: a configuration error');
    like($out, qr/verify_threads/, 'naming verify_threads');
}

for my $threads (0, 2) {
    my $svc = Identity::start(redis => $redis->address,
                              env => { VERIFY_THREADS => $threads,
                                       CLIENT_CACHE_TTL => '60s' });
    my $t = "verify_threads $threads";

  SKIP: {
        skip 'no /proc', 1 unless -d "/proc/$svc->{pid}/task";
        my @tasks = glob("/proc/$svc->{pid}/task/*");
        is(scalar @tasks, $threads + 1, "$t: $threads threads and the loop");
    }

    for my $id (sort keys %clients) {
        my $alg = $clients{$id}[0];
        my $good = assertion($svc, $id);
        my ($st, $json) = token($svc, $good);
        is($st, 200, "$t: $alg valid: 200") or diag explain $json;
        my (undef, $c) = Identity::token_claims($json->{access_token}
                                                // 'e30.e30');
        is($c->{sub}, $id, "$t: $alg: sub the client");

        ($st, $json) = token($svc, $good);
        is("$st $json->{error}", '401 invalid_client', "$t: $alg replayed");

        my %bad = (
            'last byte flipped' => resig(assertion($svc, $id), sub {
                my $s = shift; substr($s, -1, 1) ^= "\x01"; $s }),
            'first byte flipped' => resig(assertion($svc, $id), sub {
                my $s = shift; substr($s, 0, 1) ^= "\x80"; $s }),
            'one byte short' => resig(assertion($svc, $id), sub {
                substr(shift, 0, -1) }),
            'all zero' => resig(assertion($svc, $id), sub {
                "\0" x length shift }),
            'another key' => Identity::assertion($svc, $id,
                alg => $alg eq 'EdDSA' ? 'ES256' : 'EdDSA',
                key => key_file($alg eq 'EdDSA' ? 'ec256.key'
                                                : 'ed25519.key')),
        );

        for my $name (sort keys %bad) {
            ($st, $json) = token($svc, $bad{$name});
            is("$st " . ($json->{error} // ''), '401 invalid_client',
               "$t: $alg $name: 401 invalid_client");
        }

        ($st, $json) = token($svc, assertion($svc, $id,
                                             claims => { exp => time - 60 }));
        is("$st " . ($json->{error} // ''), '401 invalid_client',
           "$t: $alg expired, signature valid: 401");
    }

    my @why = reasons($svc);
    is(scalar(grep { $_ eq 'bad assertion signature' } @why), 15,
       "$t: 15 refused for their signature");
    is(scalar(grep { $_ eq 'assertion replayed' } @why), 3,
       "$t: 3 replays");
    is(scalar(grep { $_ eq 'assertion expired' } @why), 3,
       "$t: 3 expired, after their signature");

    # 200 at once: every fourth one tampered with

    my @ids = sort keys %clients;
    my @jobs;
    for my $i (0 .. 199) {
        my $id = $ids[$i % 3];
        my $jwt = assertion($svc, $id);
        my $bad = ($i % 4 == 3);
        $jwt = resig($jwt, sub { my $s = shift;
                                 substr($s, 5, 1) ^= "\x01"; $s }) if $bad;
        push @jobs, [ $id, $jwt, $bad ];
    }

    my %kids;
    for my $i (0 .. $#jobs) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my ($st, $json) = token($svc, $jobs[$i][1]);
            my $sub = '';
            if ($st == 200) {
                my (undef, $c) = Identity::token_claims(
                    $json->{access_token} // 'e30.e30');
                $sub = $c->{sub} // '';
            }
            Tollgate::JWT::spew("$tmp/answer-$threads-$i",
                                "$st " . ($json->{error} // $sub));
            POSIX::_exit(0);
        }
        $kids{$pid} = 1;
    }
    waitpid($_, 0) for keys %kids;

    my $right = 0;
    for my $i (0 .. $#jobs) {
        my $got = Tollgate::JWT::slurp("$tmp/answer-$threads-$i");
        my $want = $jobs[$i][2] ? '401 invalid_client' : "200 $jobs[$i][0]";
        if ($got eq $want) {
            $right++;
        } else {
            diag("request $i: got '$got', want '$want'");
        }
    }
    is($right, 200, "$t: 200 concurrent requests, each answered right");

    no_error_log($svc, $t);

    # a stop at once (TERM, then INT) with requests in flight: those
    # whose signature is still out get 503 or nothing, none a crash

    my (@socks, @reqs);
    for my $i (0 .. 199) {
        push @socks, IO::Socket::INET->new(
            PeerAddr => "127.0.0.1:$svc->{port}") // die "connect: $!";
    }
    for my $i (0 .. $#socks) {
        my $body = Identity::form_encode(
            [ grant_type => 'client_credentials',
              client_assertion_type => $JWT_TYPE,
              client_assertion => assertion($svc, $ids[$i % 3]) ]);
        $reqs[$i] = "POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    }
    for my $i (0 .. $#socks) {
        my $sock = $socks[$i];
        print $sock $reqs[$i];
    }
    kill 'TERM', $svc->{pid};
    kill 'INT', $svc->{pid};
    my $rc = Identity::wait_exit($svc);
    close $_ for @socks;
    is($rc, 0, "$t: stopped with requests in flight, exit 0");
    ok((grep { ($_->{message} // '') eq 'stopped' }
        Identity::log_lines($svc)), "$t: logged stopped");
    no_error_log($svc, "$t, after the stop");
    note("$t: ", scalar(grep { $_ eq 'stopping' } reasons($svc)),
         ' verifications cut short by the stop');
}

done_testing();
