# The service kit's configuration: a file of "key = value" lines and
# TOLLGATE_EXAMPLE_<KEY> variables over it.  Each bad input stops the
# start with exit code 2 and one JSON log line naming the place (file and
# line, or the variable) and the value: bad values of each type, values
# out of range, unknown keys and variables, malformed lines, a key given
# twice, a missing file.  Then that the environment wins over the file,
# that -t checks without running, and TOLLGATE_EXAMPLE_CONFIG.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use HTTP::Tiny;
use JSON::PP qw(decode_json);
use Test::More;

use Kit;
use Tollgate::Redis;

plan skip_all => Kit::binary() . ' is not built (run make backends)'
    unless -x Kit::binary();

my $n = 0;

sub conf_file {
    my ($text) = @_;
    my $file = "$Kit::TMP/conf" . ++$n . '.conf';
    open my $out, '>', $file or die "$file: $!";
    print $out $text;
    close $out;
    return $file;
}

# runs the service to its end (it must not start): exit code, error text
sub fails {
    my (%opt) = @_;
    my $svc = Kit::start(%opt, wait => 0);
    my $status = Kit::wait_exit($svc, 10);
    if (!defined $status) {
        Kit::stop($svc);
        return (undef, 'still running');
    }
    my @lines = Kit::log_lines($svc);
    my ($bad) = grep { $_->{message} eq 'bad configuration' } @lines;
    my $err = $bad ? $bad->{fields}{error} : Kit::slurp($svc->{log});
    return ($status >> 8, $err, $bad);
}

sub bad_file {
    my ($text, $re, $name) = @_;
    my $file = conf_file($text);
    my ($code, $err, $line) = fails(args => ['-c', $file]);
    is($code, 2, "$name: exit code 2");
    like($err // '', qr/^\Q$file\E:$re/, "$name: error") or diag $err;
    return $line;
}

sub bad_env {
    my ($env, $re, $name) = @_;
    my ($code, $err) = fails(env => $env);
    is($code, 2, "$name: exit code 2");
    like($err // '', $re, "$name: error") or diag $err;
}

# ---- the file ---------------------------------------------------------------

my $line = bad_file("# a comment\n\nbody_max = lots\n",
         qr/3: body_max: "lots" is not a size/, 'bad size');
is($line->{level}, 'error', 'the error is a JSON line at level error');
is($line->{service}, 'example', 'naming the service');

bad_file("colour = blue\n", qr/1: unknown key "colour"/, 'unknown key');
bad_file("listen = 127.0.0.1:0\n  Body_Max = 1\n",
         qr/2: unknown key "Body_Max"/, 'keys are lowercase');
bad_file("shutdown_timeout = 700s\n",
         qr/1: shutdown_timeout: "700s" is out of range 0\.\.600000/,
         'duration out of range');
bad_file("request_timeout = 10 minutes\n",
         qr/1: request_timeout: "10 minutes" is not a duration/,
         'bad duration');
bad_file("body_max = 65m\n", qr/1: body_max: "65m" is out of range/,
         'size out of range');
bad_file("body_max = -1\n", qr/1: body_max: "-1" is not a size/,
         'negative size');
bad_file("kv_ttl = 1.5\n", qr/1: kv_ttl: "1\.5" is not an integer/,
         "bad integer in the service's own key");
bad_file("kv_ttl = 99999999999999999999999\n",
         qr/1: kv_ttl: "9+" is not an integer/, 'integer overflow');
bad_file("listen = 8080\n",
         qr/1: listen: "8080" is not an address \(host:port or unix:\/path\)/,
         'bad address');
bad_file("redis = 127.0.0.1:70000\n", qr/1: redis: .* is not an address/,
         'port out of range');
bad_file("redis = unix:relative.sock\n", qr/1: redis: .* is not an address/,
         'relative unix path');
bad_file("log_level = loud\n",
         qr/1: log_level: "loud" is not one of debug\|info\|warn\|error/,
         'bad choice');
bad_file("just words\n", qr/1: expected "key = value"/, 'malformed line');
bad_file("body_max = 1k\nbody_max = 2k\n", qr/2: key "body_max" given twice/,
         'key given twice');
bad_file('log_level = ' . ('x' x 5000) . "\n", qr/1: line longer than/,
         'line too long');

my ($code, $err) = fails(args => ['-c', "$Kit::TMP/none.conf"]);
is($code, 2, 'missing file: exit code 2');
like($err, qr/none\.conf: No such file or directory/, 'missing file: error');

($code, $err) = fails(args => ['-x']);
is($code, 2, 'bad option: exit code 2');
like($err, qr/usage: /, 'bad option: usage');

# ---- the environment --------------------------------------------------------

bad_env({ BODY_MAX => 'huge' },
        qr/^TOLLGATE_EXAMPLE_BODY_MAX: body_max: "huge" is not a size/,
        'bad value in a variable');
bad_env({ COLOUR => 'blue' },
        qr/^TOLLGATE_EXAMPLE_COLOUR: unknown variable \(no key "colour"\)/,
        'unknown variable');
bad_env({ WARMUP => '11m' }, qr/^TOLLGATE_EXAMPLE_WARMUP: warmup: /,
        "bad value of the service's own key");

# ---- good configurations ---------------------------------------------------

my $good = conf_file(<<'EOF');
# the example service
listen = 127.0.0.1:0
redis  =  127.0.0.1:1
body_max = 10
log_level = warn
redis_password = p#ss = word
EOF

($code, $err) = fails(args => ['-c', $good, '-t']);
is($code, 0, '-t with a good file: exit code 0');

my $redis = Tollgate::Redis->start;
my $svc = Kit::start(args => ['-c', $good],
                     env => { REDIS => $redis->address, BODY_MAX => '2k',
                              LOG_LEVEL => 'info' });
my $http = HTTP::Tiny->new(timeout => 10);
my $r = $http->request('POST', Kit::url($svc, '/v1/echo'),
                       { content => 'y' x 1500 });
is($r->{status}, 200, 'the environment wins over the file (body_max)');
is(Kit::stop($svc), 0, 'exit 0');

# the file is read: its body_max of 10 applies without the variable
$svc = Kit::start(args => ['-c', $good], env => { REDIS => $redis->address,
                                                  LOG_LEVEL => 'info' });
$r = $http->request('POST', Kit::url($svc, '/v1/echo'),
                    { content => 'y' x 11 });
is($r->{status}, 413, 'the file sets body_max');
is(Kit::stop($svc), 0, 'exit 0');

# TOLLGATE_EXAMPLE_CONFIG names the file when -c does not
my $named = conf_file("log_level = debug\nbody_max = 5\n");
$svc = Kit::start(env => { CONFIG => $named, REDIS => $redis->address });
$r = $http->request('POST', Kit::url($svc, '/v1/echo'),
                    { content => 'y' x 6 });
is($r->{status}, 413, 'TOLLGATE_EXAMPLE_CONFIG is read');
$http->get(Kit::url($svc, '/healthz'));
ok(Kit::eventually(sub {
       grep { $_->{level} eq 'debug' && $_->{message} eq 'request' }
       Kit::log_lines($svc) }),
   'log_level = debug from that file: probes logged');
is(Kit::stop($svc), 0, 'exit 0');

# a port in use: a clear error, exit 1
my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1, Proto => 'tcp') or die $!;
$svc = Kit::start(env => { LISTEN => '127.0.0.1:' . $busy->sockport },
                  wait => 0);
is(Kit::wait_exit($svc, 10) >> 8, 1, 'port in use: exit code 1');
my ($cannot) = grep { $_->{message} eq 'cannot run' } Kit::log_lines($svc);
like($cannot->{fields}{error} // '', qr/^listen 127\.0\.0\.1:\d+/,
     'port in use: the error names the address');

done_testing();
