package Tollgate::CountingUpstream;

# An upstream that counts the requests that reach it, for tests that must
# prove how many times the gateway let a request through (Idempotency-Key:
# "exactly one reaches the upstream").  Each connection is served by its
# own forked child, so slow answers do not queue the others.
#
#     my $up = Tollgate::CountingUpstream->start;
#     $up->port;  $up->hits;           # requests counted so far
#
# Every request but GET /hits is counted; its number n (1, 2, ...) is in
# the answer.  Query arguments shape the answer:
#
#     delay=MS      answer after MS milliseconds
#     status=NNN    this status (default 201)
#     size=N        a body of N "x" bytes (text/plain) instead of JSON
#     close=1       close the connection without answering
#
# The default answer: Content-Type application/json, Location /orders/n,
# X-Order n, Set-Cookie sid=n, and the body
# {"order":n,"method":"...","uri":"...","body":"..."} (the request body,
# with quotes and backslashes escaped).  GET /hits answers the count.
# Nothing here depends on the test runner.

use strict;
use warnings;

use Carp qw(croak);
use Fcntl qw(:flock O_RDWR O_CREAT);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Time::HiRes ();

my @All;

sub start {
    my ($class) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 128,
                                       Proto => 'tcp', ReuseAddr => 1)
        or croak "counting upstream: cannot listen: $!";
    my $dir = tempdir('tollgate-up-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless { owner => $$, port => $listen->sockport,
                       file => "$dir/hits" }, $class;
    _write($self->{file}, 0);

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        @All = ();
        $SIG{TERM} = sub { POSIX::_exit(0) };
        $SIG{CHLD} = 'IGNORE';
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            next unless defined $child;
            if ($child == 0) {
                $SIG{TERM} = 'DEFAULT';
                _serve($self, $c);
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $listen;
    $self->{pid} = $pid;
    push @All, $self;
    return $self;
}

sub port { $_[0]{port} }

sub hits {
    my ($self) = @_;
    open my $in, '<', $self->{file} or return 0;
    flock $in, LOCK_SH;
    my $n = <$in> // 0;
    return $n + 0;
}

sub _write {
    my ($file, $n) = @_;
    open my $out, '>', $file or croak "$file: $!";
    print $out $n;
    close $out;
}

sub _count {
    my ($self) = @_;
    sysopen my $fh, $self->{file}, O_RDWR | O_CREAT or die "$!";
    flock $fh, LOCK_EX;
    my $n = <$fh> // 0;
    $n++;
    seek $fh, 0, 0;
    truncate $fh, 0;
    print $fh $n;
    close $fh;
    return $n;
}

sub _serve {
    my ($self, $c) = @_;
    my $req = '';
    while ($req !~ /\r\n\r\n/) {
        my $n = sysread $c, my $buf, 65536;
        return unless $n;
        $req .= $buf;
    }
    my ($head, $body) = split /\r\n\r\n/, $req, 2;
    my ($method, $uri) = $head =~ /^(\S+) (\S+)/;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    $len //= 0;
    while (length $body < $len) {
        my $n = sysread $c, my $buf, 65536;
        last unless $n;
        $body .= $buf;
    }

    if ($method eq 'GET' && $uri eq '/hits') {
        my $n = $self->hits;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . "Content-Length: " . length($n) . "\r\n"
               . "Connection: close\r\n\r\n$n";
        close $c;
        return;
    }

    my $n = $self->_count;
    my %arg = $uri =~ /[?&]([a-z]+)=([^&]*)/g;
    Time::HiRes::sleep($arg{delay} / 1000) if $arg{delay};
    if ($arg{close}) {
        close $c;
        return;
    }
    my $status = $arg{status} || 201;
    my ($type, $out);
    if (defined $arg{size}) {
        $type = 'text/plain';
        $out = 'x' x $arg{size};
    } else {
        (my $b = $body) =~ s/(["\\])/\\$1/g;
        $type = 'application/json';
        $out = qq({"order":$n,"method":"$method","uri":"$uri","body":"$b"});
    }
    print $c "HTTP/1.1 $status Whatever\r\nContent-Type: $type\r\n"
           . "Location: /orders/$n\r\nX-Order: $n\r\n"
           . "Set-Cookie: sid=$n\r\n"
           . "Content-Length: " . length($out) . "\r\n"
           . "Connection: close\r\n\r\n$out";
    close $c;
}

sub stop {
    my ($self) = @_;
    return unless $self->{owner} && $self->{owner} == $$ && $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

END {
    local $?;
    $_->stop for grep { defined } @All;
}

1;
