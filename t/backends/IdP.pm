package IdP;

# A fake OpenID provider for the identity service's tests: nginx serving
# files (discovery documents, key sets) from a temporary folder, over HTTP
# on one port and HTTPS on another, with a CA and a server certificate
# (for "localhost" and 127.0.0.1) made by openssl here.  Every request is
# written to an access log, so tests count the fetches the service made.
#
#     my $idp = IdP->start;            # ->http_port, ->https_port, ->ca
#     $idp->put('/a/.well-known/openid-configuration', { issuer => ... });
#     $idp->hits('/keys/a.json');      # requests for that path so far
#     $idp->stop;  $idp->start_again;
#
# Answers carry Cache-Control: max-age=3600; /redirect/* answers 302 to
# /keys/good.json.  TEST_NGINX_BINARY names
# another nginx.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @running;

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or croak "free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _run {
    my (@cmd) = @_;
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    croak "@cmd: failed" if $?;
}

# a CA and a server certificate signed by it, for localhost and 127.0.0.1
sub _certs {
    my ($dir) = @_;
    my $ext = "$dir/san.ext";
    open my $fh, '>', $ext or croak "$ext: $!";
    print {$fh} "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    close $fh;
    _run('openssl', 'req', '-x509', '-newkey', 'ec',
         '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
         '-subj', '/CN=tollgate test ca', '-keyout', "$dir/ca.key",
         '-out', "$dir/ca.crt");
    _run('openssl', 'req', '-newkey', 'ec',
         '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
         '-subj', '/CN=localhost', '-keyout', "$dir/server.key",
         '-out', "$dir/server.csr");
    _run('openssl', 'x509', '-req', '-in', "$dir/server.csr",
         '-CA', "$dir/ca.crt", '-CAkey', "$dir/ca.key", '-CAcreateserial',
         '-days', '2', '-extfile', $ext, '-out', "$dir/server.crt");
}

sub start {
    my ($class) = @_;
    my $dir = tempdir('tollgate-idp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    make_path("$dir/html", "$dir/logs");
    _certs($dir);

    my $self = bless { dir => $dir, http_port => _free_port(),
                       https_port => _free_port() }, $class;

    open my $fh, '>', "$dir/nginx.conf" or croak "nginx.conf: $!";
    print {$fh} <<"CONF";
daemon off;
master_process off;
worker_processes 1;
error_log $dir/logs/error.log;
pid $dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    log_format hits '\$server_port \$uri \$status';
    access_log $dir/logs/access.log hits;
    client_body_temp_path $dir/logs;
    proxy_temp_path $dir/logs;
    fastcgi_temp_path $dir/logs;
    uwsgi_temp_path $dir/logs;
    scgi_temp_path $dir/logs;
    default_type application/json;
    server {
        listen 127.0.0.1:$self->{http_port};
        listen 127.0.0.1:$self->{https_port} ssl;
        ssl_certificate $dir/server.crt;
        ssl_certificate_key $dir/server.key;
        root $dir/html;
        location / {
            add_header Cache-Control "max-age=3600";
        }
        location /redirect/ {
            return 302 /keys/good.json;
        }
    }
}
CONF
    close $fh;

    $self->start_again;
    return $self;
}

sub start_again {
    my ($self) = @_;
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/logs/stdout.log";
        open STDERR, '>>', "$self->{dir}/logs/stdout.log";
        exec $NGINX, '-p', $self->{dir}, '-c', "$self->{dir}/nginx.conf"
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @running, $self;

    my $deadline = time + 10;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{https_port});
        return $self if $s;
        croak "nginx (fake IdP) exited" if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    croak "nginx (fake IdP) did not start";
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
    @running = grep { $_ != $self } @running;
}

sub http_port { $_[0]{http_port} }
sub https_port { $_[0]{https_port} }
sub ca { "$_[0]{dir}/ca.crt" }
sub dir { $_[0]{dir} }

# put($path, $ref_or_text): the file served at $path
sub put {
    my ($self, $path, $content) = @_;
    my $file = "$self->{dir}/html$path";
    (my $parent = $file) =~ s{/[^/]*$}{};
    make_path($parent);
    $content = JSON::PP->new->canonical->encode($content) if ref $content;
    open my $fh, '>', "$file.tmp" or croak "$file: $!";
    print {$fh} $content;
    close $fh;
    rename "$file.tmp", $file or croak "$file: $!";
}

# requests for $path (any port) logged so far
sub hits {
    my ($self, $path) = @_;
    open my $fh, '<', "$self->{dir}/logs/access.log" or return 0;
    my $n = 0;
    while (my $line = <$fh>) {
        my (undef, $uri) = split ' ', $line;
        $n++ if defined $uri && $uri eq $path;
    }
    return $n;
}

END {
    for my $idp (@running) {
        kill 'KILL', $idp->{pid} if $idp->{pid};
    }
}

1;
