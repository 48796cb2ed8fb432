package Tollgate::JWKS;

# A fake identity provider for the remote key set suites: a plain nginx
# (Tollgate::Gateway) serving files from a folder the test writes, with
# its own access log, so a test counts the fetches the gateway made and
# sees their If-None-Match.  nginx's static files give ETag and 304 for
# free; Cache-Control comes from an add_header the test chooses.
#
#     my $idp = Tollgate::JWKS->idp(cache => 'max-age=60');
#     $idp->put('jwks.json', jwks_text(...));
#     $idp->url('/jwks.json');       # http://localhost:PORT/jwks.json
#     $idp->fetches('/jwks.json');   # [ [status, if-none-match], ... ]
#     $idp->down; $idp->up;          # stop it, start it on the same port
#
# tls => 1 serves https with a certificate for "localhost" signed by a CA
# made here with openssl(1) (ca_file); other_ca() is a CA that did not
# sign it.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use JSON::PP ();
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::JWT qw(:all);

sub _run {
    my @cmd = @_;
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    croak "@cmd failed" if $?;
}

# a CA and a certificate for localhost it signed, in $dir
sub make_pki {
    my ($dir, $name) = @_;
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
              '-nodes');
    umask 022;
    _run('openssl', 'req', '-x509', @ec, '-keyout', "$dir/$name-ca.key",
         '-out', "$dir/$name-ca.pem", '-days', '2',
         '-subj', "/CN=Tollgate test CA $name");
    _run('openssl', 'req', @ec, '-keyout', "$dir/$name.key",
         '-out', "$dir/$name.csr", '-subj', '/CN=localhost');
    open my $ext, '>', "$dir/$name.ext" or croak $!;
    print $ext "subjectAltName=DNS:localhost\n";
    close $ext;
    _run('openssl', 'x509', '-req', '-in', "$dir/$name.csr",
         '-CA', "$dir/$name-ca.pem", '-CAkey', "$dir/$name-ca.key",
         '-CAcreateserial', '-out', "$dir/$name.pem", '-days', '2',
         '-extfile', "$dir/$name.ext");
}

sub idp {
    my ($class, %opt) = @_;
    my $dir = tempdir('tollgate-idp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;                   # the IdP's workers read it
    mkdir "$dir/docs" or croak $!;
    my $self = bless { %opt, dir => $dir }, $class;

    my ($listen, $ssl) = ('127.0.0.1:$PORT', '');
    if ($opt{tls}) {
        make_pki($dir, 'idp');
        make_pki($dir, 'other');
        $listen .= ' ssl';
        $ssl = "ssl_certificate $dir/idp.pem;\n"
             . "ssl_certificate_key $dir/idp.key;\n";
    }
    my $cache = $opt{cache} ? "add_header Cache-Control \"$opt{cache}\";"
                            : '';
    $self->{http} = <<"_EOC_";
    log_format idp '\$status "\$request_uri" "\$http_if_none_match"';
    server {
        listen $listen;
        $ssl
        access_log $dir/access.log idp;
        root $dir/docs;
        default_type application/json;
        location / { $cache }
        location = /slow { return 200; }
    }
_EOC_
    $self->{gw} = Tollgate::Gateway->start(http => $self->{http});
    return $self;
}

sub port    { $_[0]{gw}->port }
sub dir     { $_[0]{dir} }
sub ca_file { "$_[0]{dir}/idp-ca.pem" }
sub other_ca { "$_[0]{dir}/other-ca.pem" }

sub url {
    my ($self, $path) = @_;
    my $scheme = $self->{tls} ? 'https' : 'http';
    return "$scheme://localhost:" . $self->port . $path;
}

# put($name, $bytes): the file the IdP serves, replaced atomically, with a
# modification time that differs from the last one (so its ETag changes)
sub put {
    my ($self, $name, $bytes) = @_;
    $self->{mtime} = ($self->{mtime} // time - 1000) + 10;
    spew("$self->{dir}/docs/$name", $bytes, $self->{mtime});
    chmod 0644, "$self->{dir}/docs/$name";
}

# the fetches of $path so far: [ [status, if-none-match], ... ]
sub fetches {
    my ($self, $path) = @_;
    open my $in, '<', "$self->{dir}/access.log" or return [];
    my @out;
    while (my $line = <$in>) {
        my ($st, $uri, $inm) = $line =~ /^(\d+) "([^"]*)" "([^"]*)"/
            or next;
        push @out, [$st, $inm] if $uri eq $path;
    }
    return \@out;
}

sub down { $_[0]{gw}->stop }

sub up {
    my ($self) = @_;
    $self->{gw}->_spawn or croak "the IdP did not start again";
}

# a JWKS of the public halves of these [pem file, kid] pairs
sub jwks_text {
    my @keys = map { public_jwk($_->[0], kid => $_->[1], use => 'sig') } @_;
    return JSON::PP->new->canonical->encode({ keys => \@keys });
}

# waits until $cond->() is true, up to $secs; returns its last value
sub wait_for {
    my ($cond, $secs) = @_;
    my $deadline = time + ($secs // 10);
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.05;
    }
    return $cond->();
}

1;
