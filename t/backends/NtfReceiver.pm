package NtfReceiver;

# A scripted webhook receiver for the notification tests: a forked
# HTTP/1.1 server on a free loopback port that answers each request with
# the next status of its script (then the default), after an optional
# delay, and records every request as a JSON line (time, method, path,
# the webhook-* headers, body) in its own file.
#
#     my $rx = NtfReceiver->start(script => [ 500, 200 ], default => 200,
#                                 delay => 0.05,
#                                 headers => { 'Retry-After' => 1 });
#     $rx->url('/hook');  $rx->requests;  $rx->stop;
#
# Requests are served one at a time; the listen backlog holds the rest.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Handle ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

my $TMP = tempdir('tollgate-ntfrx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;
my $json = JSON::PP->new->canonical;

sub start {
    my ($class, %opt) = @_;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => $opt{port} || 0,
                                    Listen => 1024, ReuseAddr => 1)
        or croak "listen: $!";
    my $self = bless { %opt, port => $srv->sockport,
                       file => "$TMP/rx" . ++$n . '.log',
                       owner => $$ }, $class;
    open my $touch, '>>', $self->{file} or croak "$self->{file}: $!";
    close $touch;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $self->_serve($srv);
        POSIX::_exit(0);
    }
    close $srv;
    $self->{pid} = $pid;
    return $self;
}

sub _serve {
    my ($self, $srv) = @_;
    my @script = @{ $self->{script} || [] };
    open my $log, '>>', $self->{file} or POSIX::_exit(1);
    $log->autoflush(1);
    local $SIG{PIPE} = 'IGNORE';

    # one request per connection: answers say "Connection: close", so a
    # client's idle connection never holds the others up
    while (my $c = $srv->accept) {
        my ($head, $line) = ('');
        while (defined($line = <$c>)) {
            last if $line eq "\r\n";
            $head .= $line;
        }
        if ($head eq '') {
            close $c;
            next;
        }
        my ($method, $path) = $head =~ /^(\S+) (\S+)/;
        my %h;
        $h{lc $1} = $2 while $head =~ /^([^:\r\n]+):\s*([^\r\n]*)/mg;
        my $body = '';
        read($c, $body, $h{'content-length'}) if $h{'content-length'};
        print $log $json->encode({
            t => time, method => $method, path => $path, body => $body,
            map { ($_ => $h{$_}) } grep { /^webhook-|^user-agent$/ }
                                   keys %h }), "\n";
        sleep $self->{delay} if $self->{delay};
        my $status = @script ? shift @script : ($self->{default} // 200);
        my $extra = join '', map { "$_: $self->{headers}{$_}\r\n" }
                             keys %{ $self->{headers} || {} };
        print $c "HTTP/1.1 $status X\r\nContent-Length: 2\r\n"
                 . "Connection: close\r\n$extra\r\nok";
        close $c;
    }
}

sub port { $_[0]{port} }
sub url { "http://127.0.0.1:$_[0]{port}" . ($_[1] // '/hook') }

# every request so far, in order: hashes with t, method, path, body,
# webhook-id, webhook-timestamp, webhook-signature
sub requests {
    my ($self) = @_;
    open my $in, '<', $self->{file} or return ();
    my @r;
    while (my $line = <$in>) {
        my $r = eval { $json->decode($line) };
        push @r, $r if $r;
    }
    return @r;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;       # at exit, the test's status stays
    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY {
    my ($self) = @_;
    $self->stop if $self->{owner} == $$;
}

1;
