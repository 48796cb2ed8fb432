package WfReceiver;

# The target of the workflow service's tollgate:http tasks in its tests
# (t/backends/094-*.t, 095-*.t, 096-*.t): a forked HTTP/1.1 server on
# 127.0.0.1, one child per connection (so slow answers overlap), that
# records every request as a JSON line (time, method, path, lowercased
# headers, body) and answers it by its path: the next status of that
# path's script, then the path's default, then the receiver's default
# (200), after the path's delay.  The answer's body is JSON:
# {"path", "n" (the path's request count, from 1), "key" (the
# Idempotency-Key received)}.
#
#     my $rx = WfReceiver->new(default => 200, delay => 0.02);
#     $rx->script('/cancel-hotel', [503, 503], 200);    # then 200
#     $rx->url('/reserve-car');   $rx->requests;  $rx->paths;
#     $rx->by_key;    # { idempotency key => count }
#     $rx->reset;     # forgets the requests and the counts
#     $rx->configure(delay => 0.05);
#
# The scripts and counts live in files under one lock, so the
# per-connection children agree on the order of a path's answers.

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

END { local $?; kill 'KILL', @pids if @pids; waitpid $_, 0 for @pids }

sub new {
    my ($class, %opt) = @_;
    my $self = bless { default => 200, delay => 0, %opt,
                       dir => tempdir('tollgate-wfrx-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1) }, $class;
    $self->_write_conf;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $opt{port} || 0,
                                       Listen => 1024, Proto => 'tcp',
                                       ReuseAddr => 1)
        or die "receiver: $!";
    $self->{port} = $listen->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        @pids = ();
        $SIG{CHLD} = 'IGNORE';
        $SIG{PIPE} = 'IGNORE';
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            next unless defined $child;
            if ($child == 0) {
                eval { $self->_serve($c) };
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
sub url { "http://127.0.0.1:$_[0]{port}" . ($_[1] // '/') }

# script($path, [status, ...], $then, $delay): the path's next answers,
# then $then for the rest (default: the receiver's), each after $delay s
sub script {
    my ($self, $path, $list, $then, $delay) = @_;
    $self->{paths}{$path} = { script => $list || [], then => $then,
                              delay => $delay };
    $self->_write_conf;
}

# configure(default => status, delay => seconds): the receiver's own
sub configure {
    my ($self, %opt) = @_;
    $self->{$_} = $opt{$_} for grep { /^(default|delay)$/ } keys %opt;
    $self->_write_conf;
}

sub _write_conf {
    my ($self) = @_;
    my $conf = { default => $self->{default}, delay => $self->{delay},
                 paths => $self->{paths} || {} };
    my $file = "$self->{dir}/conf.json";
    open my $out, '>', "$file.tmp" or die "$file: $!";
    print $out $JSON->encode($conf);
    close $out;
    rename "$file.tmp", $file or die "$file: $!";
}

sub _locked {
    my ($self, $code) = @_;
    open my $lock, '>>', "$self->{dir}/lock" or die $!;
    flock $lock, LOCK_EX;
    my @r = $code->();
    close $lock;
    return @r;
}

sub _serve {
    my ($self, $c) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $target) = split ' ', $line;
    my %h;
    while (defined(my $l = <$c>)) {
        $l =~ s/\r\n\z//;
        last if $l eq '';
        my ($k, $v) = split /:\s*/, $l, 2;
        $h{ lc $k } = $v;
    }
    my $body = '';
    my $len = $h{'content-length'} // 0;
    while (length($body) < $len) {
        my $n = read($c, $body, $len - length($body), length($body));
        last unless $n;
    }
    my ($path) = $target =~ m{^([^?]*)};

    my ($status, $delay, $n) = $self->_locked(sub {
        my $conf = eval {
            open my $in, '<', "$self->{dir}/conf.json" or die;
            local $/;
            $JSON->decode(scalar <$in>);
        } || {};
        my %count;
        if (open my $in, '<', "$self->{dir}/count.json") {
            local $/;
            my $c = eval { $JSON->decode(scalar <$in>) };
            %count = %$c if ref $c eq q(HASH);
        }
        my $n = ++$count{$path};
        open my $out, '>', "$self->{dir}/count.json" or die $!;
        print $out $JSON->encode(\%count);
        close $out;
        my $p = $conf->{paths}{$path} || {};
        my $status = $p->{script}[$n - 1] // $p->{then}
                     // $conf->{default} // 200;
        open my $log, '>>', "$self->{dir}/requests" or die $!;
        print $log $JSON->encode({ method => $method, path => $path,
                                   target => $target, headers => \%h,
                                   body => $body, time => time,
                                   n => $n, status => $status }), "\n";
        close $log;
        return ($status, $p->{delay} // $conf->{delay}, $n);
    });

    sleep $delay if $delay;
    my $answer = $JSON->encode({ path => $path, n => $n,
                                 key => $h{'idempotency-key'} });
    print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
             . 'Content-Length: ' . length($answer)
             . "\r\nConnection: close\r\n\r\n$answer";
}

# every request so far, in the order they came: hashes with method,
# path, target, headers, body, time, n, status
sub requests {
    my ($self) = @_;
    my @r;
    $self->_locked(sub {
        open my $fh, '<', "$self->{dir}/requests" or return;
        @r = map { $JSON->decode($_) } <$fh>;
        close $fh;
    });
    return wantarray ? @r : scalar @r;
}

# the paths requested, in order
sub paths { map { $_->{path} } $_[0]->requests }

# { idempotency key => requests with it }
sub by_key {
    my ($self) = @_;
    my %k;
    $k{ $_->{headers}{'idempotency-key'} // '' }++ for $self->requests;
    return \%k;
}

sub reset {
    my ($self) = @_;
    $self->_locked(sub {
        unlink "$self->{dir}/requests", "$self->{dir}/count.json";
    });
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;
    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    @pids = grep { $_ != $self->{pid} } @pids;
    delete $self->{pid};
}

1;
