package Identity;

# Helpers for the identity service's tests (t/backends/05x-identity-*.t):
# make its pepper and key-encryption-key files, start
# build/backends/identity with its configuration as TOLLGATE_IDENTITY_*
# variables on a port picked first (the issuer names the service's own
# URL, as clients that read its metadata expect), read its JSON log, talk
# to it over HTTP (forms and JSON), and stop it.
#
#     my $redis = Tollgate::Redis->start;
#     my $svc = Identity::start(redis => $redis->address,
#                               env => { TOKEN_TTL => 60 });
#     my ($st, $json, $r) = Identity::form($svc, '/oauth2/token',
#         [ grant_type => 'client_credentials' ],
#         auth => [ $id, $secret ]);
#     Identity::get($svc, '/.well-known/jwks.json');
#     Identity::stop($svc);  Identity::kill9($svc);
#
# Clients (gwctl client, with the pepper the services here use):
#
#     my $ctl = Tollgate::Gwctl->new($redis);
#     my $secret = Identity::client_add($ctl, 'svc1', scopes => 'a b',
#         audiences => 'https://api.test', default_audience => '...');
#     my $jwt = Identity::assertion($svc, 'svc1', key => $pem_file,
#         alg => 'ES256', claims => { ... }, header => { ... });
#     Identity::token_claims($token)  # (header, payload) decoded
#
# TEST_IDENTITY_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $BIN = $ENV{TEST_IDENTITY_BINARY}
    // "$FindBin::Bin/../../build/backends/identity";
our $TMP = tempdir('tollgate-identity-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $n = 0;
my @running;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

# a file of $len random bytes (the pepper, the key-encryption key)
sub secret_file {
    my ($name, $len) = @_;
    my $file = "$TMP/$name";
    return $file if -f $file;
    open my $r, '<:raw', '/dev/urandom' or croak "urandom: $!";
    read($r, my $bytes, $len) == $len or croak "urandom: short read";
    close $r;
    open my $w, '>:raw', $file or croak "$file: $!";
    print {$w} $bytes;
    close $w;
    chmod 0600, $file;
    return $file;
}

# a TCP port nobody listens on now
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or croak "free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# the environment a start uses, without starting (for `identity rotate`)
sub env_for {
    my (%opt) = @_;
    my $port = $opt{port} // free_port();
    my %env = (LISTEN => "127.0.0.1:$port",
               ISSUER => "http://127.0.0.1:$port",
               PEPPER_FILE => $opt{pepper} // secret_file('pepper', 32),
               KEK_FILE => $opt{kek} // secret_file('kek', 32),
               REDIS_RETRY => '1s',
               ($opt{redis} ? (REDIS => $opt{redis}) : ()),
               %{ $opt{env} || {} });
    return ($port, %env);
}

# run(\%env, @args): the binary's output (stdout and stderr) and exit code
sub run {
    my ($env, @args) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        delete $ENV{$_} for grep { /^TOLLGATE_IDENTITY_/ } keys %ENV;
        $ENV{"TOLLGATE_IDENTITY_$_"} = $env->{$_} for keys %$env;
        exec $BIN, @args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# start(redis => ADDR, env => {KEY => v}, port => P, wait => 1,
#       ready => 1): returns once the service logged "started" (and, with
# ready => 1, once /readyz answers 200), dies with its log otherwise
sub start {
    my (%opt) = @_;
    my ($port, %env) = env_for(%opt);
    my $log = "$TMP/identity" . ++$n . '.log';

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        delete $ENV{$_} for grep { /^TOLLGATE_IDENTITY_/ } keys %ENV;
        $ENV{"TOLLGATE_IDENTITY_$_"} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        exec $BIN, @{ $opt{args} || [] } or POSIX::_exit(127);
    }

    my $svc = { pid => $pid, log => $log, port => $port,
                issuer => $env{ISSUER}, env => \%env };
    push @running, $svc;
    return $svc if defined $opt{wait} && !$opt{wait};

    my $deadline = time + 30;
    my $started;
    while (time < $deadline) {
        $started ||= grep { ($_->{message} // '') eq 'started' }
                     log_lines($svc);
        if ($started) {
            return $svc unless $opt{ready} // 1;
            my ($st) = get($svc, '/readyz');
            return $svc if $st == 200;
        }
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    croak "the identity service did not start:\n" . slurp($log);
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    return <$in> // '';
}

sub log_lines {
    my ($svc) = @_;
    my @out;
    for my $line (split /\n/, slurp($svc->{log})) {
        next unless $line =~ /^\{/;
        my $o = eval { JSON::PP::decode_json($line) };
        push @out, $o if ref $o eq 'HASH';
    }
    return @out;
}

sub wait_exit {
    my ($svc, $limit) = @_;
    my $deadline = time + ($limit // 30);
    while (time < $deadline) {
        if (waitpid($svc->{pid}, WNOHANG) == $svc->{pid}) {
            @running = grep { $_ != $svc } @running;
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub stop {
    my ($svc) = @_;
    kill 'TERM', $svc->{pid};
    return wait_exit($svc);
}

sub kill9 {
    my ($svc) = @_;
    kill 'KILL', $svc->{pid};
    return wait_exit($svc);
}

sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub _decode {
    my ($r) = @_;
    return ($r->{headers}{'content-type'} // '') =~ /json/
        ? eval { JSON::PP::decode_json($r->{content}) } : $r->{content};
}

# get($svc, $path, %headers): (status, decoded JSON or text, response)
sub get {
    my ($svc, $path, %headers) = @_;
    my $r = $http->request('GET', url($svc, $path), { headers => \%headers });
    return ($r->{status}, _decode($r), $r);
}

# request($svc, $method, $path, $body, %headers): the same, any request
sub request {
    my ($svc, $method, $path, $body, %headers) = @_;
    my $r = $http->request($method, url($svc, $path),
                           { headers => \%headers,
                             (defined $body ? (content => $body) : ()) });
    return ($r->{status}, _decode($r), $r);
}

# form encoding of [name => value, ...], in order, duplicates kept
sub form_encode {
    my ($pairs) = @_;
    my @out;
    for (my $i = 0; $i < @$pairs; $i += 2) {
        push @out, join '=', map {
            my $s = $_ // '';
            $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
            $s;
        } $pairs->[$i], $pairs->[$i + 1];
    }
    return join '&', @out;
}

# form($svc, $path, [pairs], auth => [id, secret], headers => {...}):
# a POST of application/x-www-form-urlencoded; auth adds HTTP Basic
# with the id and secret form-encoded first (RFC 6749 section 2.3.1)
sub form {
    my ($svc, $path, $pairs, %opt) = @_;
    my %headers = ('Content-Type' => 'application/x-www-form-urlencoded',
                   %{ $opt{headers} || {} });
    if ($opt{auth}) {
        my ($id, $secret) = map {
            my $s = $_;
            $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
            $s;
        } @{ $opt{auth} };
        $headers{Authorization} = 'Basic '
            . encode_base64("$id:$secret", '');
    }
    return request($svc, 'POST', $path, form_encode($pairs), %headers);
}

# client_add($ctl, $id, %opt): gwctl client add (options by their names
# with _ for -, e.g. default_scopes => 'a'), the printed secret or undef
sub client_add {
    my ($ctl, $id, %opt) = @_;
    my @opt = map { my $o = $_; $o =~ tr/_/-/; ("--$o", $opt{$_}) }
              sort keys %opt;
    my $out = $ctl->ok('client', 'add', $id, '--pepper',
                       secret_file('pepper', 32), @opt);
    return $out =~ /^client_secret: (\S+)$/m ? $1 : undef;
}

# client_rotate($ctl, $id, @opts): the new secret
sub client_rotate {
    my ($ctl, $id, @opt) = @_;
    my $out = $ctl->ok('client', 'rotate-secret', $id, '--pepper',
                       secret_file('pepper', 32), @opt);
    return $out =~ /^client_secret: (\S+)$/m ? $1 : undef;
}

# assertion($svc, $client_id, key => PEM, alg => 'ES256', claims => {},
# header => {}, raw => 1): a private_key_jwt client assertion (RFC 7523)
# for this service: iss = sub = the client, aud = the issuer, exp in a
# minute, a fresh jti; claims override (undef deletes one)
my $jti_n = 0;
sub assertion {
    my ($svc, $id, %opt) = @_;
    require Tollgate::JWT;
    my $now = time;
    my %claims = (iss => $id, sub => $id, aud => $svc->{issuer},
                  exp => int($now) + 60, iat => int($now),
                  jti => "j-$$-" . ++$jti_n . '-' . int(rand 1e9));
    for my $k (keys %{ $opt{claims} || {} }) {
        if (defined $opt{claims}{$k}) {
            $claims{$k} = $opt{claims}{$k};
        } else {
            delete $claims{$k};
        }
    }
    return Tollgate::JWT::jwt(alg => $opt{alg} // 'ES256',
                              header => $opt{header}
                                        // { typ => 'JWT' },
                              payload => \%claims,
                              ($opt{key} ? (key => $opt{key}) : ()),
                              ($opt{sign} ? (sign => $opt{sign}) : ()),
                              (exists $opt{signature}
                               ? (signature => $opt{signature}) : ()));
}

# token_claims($jwt): its header and payload, decoded
sub token_claims {
    my ($jwt) = @_;
    require Tollgate::JWT;
    my ($h, $p) = split /\./, $jwt;
    return map { JSON::PP::decode_json(Tollgate::JWT::b64url_decode($_)) }
           $h, $p;
}

# metrics($svc): { 'name{labels}' => value } from /metrics
sub metrics {
    my ($svc) = @_;
    my ($st, $text) = get($svc, '/metrics');
    my %m;
    for (split /\n/, $st == 200 ? $text : '') {
        $m{$1} = $2 if /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/;
    }
    return \%m;
}

# active_kid($svc): the kid identity_key_active shows at 1, or ''
sub active_kid {
    my ($svc) = @_;
    my $m = metrics($svc);
    for (keys %$m) {
        return $1 if /^identity_key_active\{kid="([^"]+)"\}$/ && $m->{$_} == 1;
    }
    return '';
}

# wait_for(sub { ... }, $seconds): polls until the sub returns true
sub wait_for {
    my ($cond, $limit) = @_;
    my $deadline = time + ($limit // 30);
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.1;
    }
    return $cond->();
}

END {
    kill 'KILL', $_->{pid} for @running;
}

1;
