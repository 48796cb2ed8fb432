package HookReceiver;

# A webhook receiver for the notification service's tests (t/backends/
# 083-*.t, 084-*.t): a forked HTTP/1.1 server on 127.0.0.1, one child per
# connection, that logs every request (method, path, lowercased headers,
# body, time) as a JSON line as soon as it has read it, then answers as
# its path says:
#
#   /ok...        200                 /gone...     410
#   /fail...      500, Retry-After: 7 /redirect... 302 to /ok-redirected
#   /big...       200 with 1 MiB      /slow...     never answers (30 s)
#   /hold...      answers 200 once the file release() made exists
#
#     my $r = HookReceiver->new;  $r->port;  $r->url('/ok');
#     my @req = $r->requests;     $r->release;   # (a count in scalar context)

use strict;
use warnings;

use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->canonical;
my @pids;

END { kill 'KILL', @pids if @pids }

sub new {
    my ($class, %opt) = @_;
    my $self = bless { dir => tempdir('tollgate-rcv-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1) }, $class;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 128,
                                       Proto => 'tcp', ReuseAddr => 1)
        or die "receiver: $!";
    $self->{port} = $listen->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        $SIG{PIPE} = 'IGNORE';
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            next unless defined $child;
            if ($child == 0) {
                $self->serve($c);
                close $c;
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $listen;
    push @pids, $pid;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }
sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub release {
    my ($self) = @_;
    open my $fh, '>', "$self->{dir}/release" or die $!;
    close $fh;
}

sub log_request {
    my ($self, $rec) = @_;
    open my $log, '>>', "$self->{dir}/requests" or die $!;
    flock $log, LOCK_EX;
    print $log $JSON->encode($rec), "\n";
    close $log;
}

sub requests {
    my ($self) = @_;
    my @r;
    if (open my $fh, '<', "$self->{dir}/requests") {
        flock $fh, LOCK_SH;
        @r = map { $JSON->decode($_) } <$fh>;
        close $fh;
    }
    return wantarray ? @r : scalar @r;
}

sub serve {
    my ($self, $c) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $path) = split ' ', $line;
    my %h;
    while (defined(my $l = <$c>)) {
        $l =~ s/\r\n\z//;
        last if $l eq '';
        my ($k, $v) = split /:\s*/, $l, 2;
        $h{ lc $k } = $v;
    }
    my $body = '';
    read($c, $body, $h{'content-length'} // 0);
    $self->log_request({ method => $method, path => $path, headers => \%h,
                         body => $body, time => time });

    my ($status, $extra, $answer) = (200, '', 'ok');
    if ($path =~ m{^/gone}) {
        $status = 410;
    } elsif ($path =~ m{^/fail}) {
        ($status, $extra) = (500, "Retry-After: 7\r\n");
    } elsif ($path =~ m{^/redirect}) {
        ($status, $extra) = (302, "Location: http://127.0.0.1:"
                                  . "$self->{port}/ok-redirected\r\n");
    } elsif ($path =~ m{^/big}) {
        $answer = 'x' x (1024 * 1024);
    } elsif ($path =~ m{^/slow}) {
        sleep 30;
        return;
    } elsif ($path =~ m{^/hold}) {
        my $until = time + 30;
        sleep 0.05 while !-e "$self->{dir}/release" && time < $until;
    }

    print $c "HTTP/1.1 $status X\r\n${extra}Content-Type: text/plain\r\n"
             . "Content-Length: " . length($answer)
             . "\r\nConnection: close\r\n\r\n$answer";
}

1;
