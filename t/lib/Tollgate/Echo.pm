package Tollgate::Echo;

# An upstream that answers every request with the request itself: status
# 200, Content-Type text/plain, and as body the request line and header
# lines exactly as they came (CRLF turned into LF).  nginx's own variables
# show only the first of repeated headers ($http_x_api_key) and never the
# bytes on the wire, so a test that must prove what reached the upstream
# (a credential removed, the client's X-Consumer-ID dropped, every copy of
# a header gone, the query string rewritten) proxies here and matches the
# body.
#
#     my $echo = Tollgate::Echo->start;   $echo->port;
#
# A forked child serves connections one at a time until the process that
# started it exits (END) or calls stop().  Nothing here depends on the
# test runner.

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET ();
use POSIX qw(WNOHANG);

my @All;

sub start {
    my ($class) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 128,
                                       Proto => 'tcp', ReuseAddr => 1)
        or croak "echo: cannot listen: $!";
    my $self = bless { owner => $$, port => $listen->sockport }, $class;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        @All = ();
        $SIG{TERM} = sub { POSIX::_exit(0) };
        _serve($listen);
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    push @All, $self;
    return $self;
}

sub port { $_[0]{port} }

sub _serve {
    my ($listen) = @_;
    while (1) {
        my $c = $listen->accept or next;
        my $req = '';
        while ($req !~ /\r?\n\r?\n/) {
            my $n = sysread $c, my $buf, 65536;
            last unless $n;
            $req .= $buf;
        }
        my ($head) = $req =~ /\A(.*?\r?\n)\r?\n/s;
        $head //= $req;
        $head =~ s/\r\n/\n/g;
        my $len = length $head;
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . "Content-Length: $len\r\nConnection: close\r\n\r\n$head";
        close $c;
    }
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
