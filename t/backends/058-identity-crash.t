# The identity service under kill -9: it keeps nothing of its own (clients,
# signing keys and revocations live in Redis; Redis itself is not killed
# here), so what it acknowledged must outlive it.  Two workers take tokens
# and revoke every other one while the service is killed with SIGKILL,
# twice; a new instance on the same Redis then must
#   - answer every revocation it acknowledged (200) as inactive, and hold
#     each of them in gw:jwt:revoked;
#   - still verify every token it issued that was not revoked (the same
#     keys: the active kid is unchanged);
#   - take the client's secret as before.
# Counts are of what was offered and observed, never of how fast.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use Tollgate::Gwctl;
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $API = 'https://api.test';
my $port = Identity::free_port();

my $secret = Identity::client_add($ctl, 'app', scopes => 'read',
    default_scopes => 'read', audiences => $API, default_audience => $API);

sub start { Identity::start(redis => $redis->address, port => $port) }

my $svc = start();
my $kid0 = Identity::active_kid($svc);
ok(defined $kid0, 'an active key');

# a worker: tokens, and every other one revoked; each outcome a line
sub worker {
    my ($file) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    open my $out, '>>', $file or die;
    $out->autoflush(1);
    my $n = 0;
    while (1) {
        my ($st, $json) = eval { Identity::form($svc, '/oauth2/token',
            [ grant_type => 'client_credentials' ],
            auth => [ 'app', $secret ]) };
        next unless ($st // 0) == 200;
        my $t = $json->{access_token};
        if ($n++ % 2) {
            my ($rs) = eval { Identity::form($svc, '/oauth2/revoke',
                [ token => $t ], auth => [ 'app', $secret ]) };
            print {$out} 'revoked ', $t, "\n" if ($rs // 0) == 200;
        } else {
            print {$out} 'issued ', $t, "\n";
        }
    }
}

my $log = Identity::tmp() . '/crash.log';
my @workers = map { worker($log) } 1 .. 2;

sub revocations {
    open my $in, '<', $log or return 0;
    return scalar grep { /^revoked / } <$in>;
}

for my $round (1 .. 2) {
    my $deadline = time + 60;
    sleep 0.2 while revocations() < 50 * $round && time < $deadline;
    is(Identity::kill9($svc) & 127, 9, "round $round: the service killed");
    $svc = start();
}

kill 'KILL', @workers;
waitpid $_, 0 for @workers;

my (%revoked, %issued);
open my $in, '<', $log or die;
while (<$in>) {
    chomp;
    my ($what, $t) = split / /;
    next unless defined $t && $t =~ /^[\w-]+\.[\w-]+\.[\w-]+$/;
    ($what eq 'revoked' ? \%revoked : \%issued)->{$t} = 1;
}

cmp_ok(scalar keys %revoked, '>=', 50, 'revocations acknowledged: '
       . scalar keys %revoked);
cmp_ok(scalar keys %issued, '>=', 50, 'tokens issued and kept: '
       . scalar keys %issued);
is(Identity::active_kid($svc), $kid0, 'the same signing key after kill -9');

sub introspect {
    my ($t) = @_;
    my ($st, $json) = Identity::form($svc, '/oauth2/introspect',
        [ token => $t ], auth => [ 'app', $secret ]);
    return $st == 200 ? ($json->{active} ? 1 : 0) : -1;
}

my ($lost, $missing, $dropped) = (0, 0, 0);
for my $t (keys %revoked) {
    $lost++ if introspect($t) != 0;
    my ($p) = $t =~ /^[^.]+\.([^.]+)\./;
    $p =~ tr/-_/+\//;
    my $jti = JSON::PP::decode_json(decode_base64($p))->{jti};
    $missing++ unless $redis->cli('ZSCORE', 'gw:jwt:revoked', $jti)
                      =~ /^\d+$/;
}
for my $t (keys %issued) {
    $dropped++ if introspect($t) != 1;
}
is($lost, 0, 'every acknowledged revocation still answers inactive');
is($missing, 0, 'and each is in gw:jwt:revoked');
is($dropped, 0, 'every token issued and not revoked is still active');

my @err = grep { ($_->{level} // '') eq 'error' } Identity::log_lines($svc);
is(scalar @err, 0, 'nothing at error after the restart');

Identity::stop($svc);
done_testing();
