package Tollgate::Nats;

# A private NATS JetStream cluster for a test file: nats-server nodes on
# free loopback ports, each with JetStream (-js), its own store folder
# under one temporary folder, a cluster port and routes to the others,
# so that streams can have up to as many replicas as nodes.  A node can
# be killed (SIGKILL), stopped and started again on the same ports and
# store.
#
#     my $nats = Tollgate::Nats->start(nodes => 3);
#     $nats->servers;            # "nats://127.0.0.1:P1,nats://..."
#     $nats->url($i);  $nats->name($i);  $nats->pid($i);
#     $nats->kill($i);  $nats->start_node($i);  $nats->stop;
#     Tollgate::Nats::available() or plan skip_all => ...;
#
# The process that called start() stops every node when the object goes
# away or the program ends.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use HTTP::Tiny ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $SERVER = $ENV{TEST_NATS_SERVER} || 'nats-server';

my @All;

sub available {
    return grep { -x "$_/$SERVER" } split /:/, $ENV{PATH} // '';
}

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# start(nodes => N): N nodes (default 3), each answering /healthz
sub start {
    my ($class, %opt) = @_;
    croak "$SERVER not found (apt-get install nats-server)"
        unless available();
    my $n = $opt{nodes} || 3;
    my $self = bless {
        owner => $$,
        dir   => tempdir('tollgate-nats-XXXXXX', TMPDIR => 1, CLEANUP => 1),
        nodes => [],
    }, $class;
    push @All, $self;

    my %seen;
    for my $i (0 .. $n - 1) {
        my @p;
        while (@p < 3) {
            my $port = _free_port();
            push @p, $port unless $seen{$port}++;
        }
        push @{ $self->{nodes} }, { client => $p[0], cluster => $p[1],
                                    http => $p[2], name => "n$i" };
    }

    $self->start_node($_) for 0 .. $n - 1;
    $self->wait_ready($_) for 0 .. $n - 1;

    return $self;
}

sub dir     { $_[0]{dir} }
sub name    { $_[0]{nodes}[$_[1]]{name} }
sub url     { "nats://127.0.0.1:$_[0]{nodes}[$_[1]]{client}" }
sub pid     { $_[0]{nodes}[$_[1]]{pid} }
sub count   { scalar @{ $_[0]{nodes} } }
sub servers { join ',', map { $_[0]->url($_) } 0 .. $_[0]->count - 1 }

# the node's index by its server name, or undef
sub index_of {
    my ($self, $name) = @_;
    for my $i (0 .. $self->count - 1) {
        return $i if $self->name($i) eq $name;
    }
    return undef;
}

sub start_node {
    my ($self, $i) = @_;
    my $node = $self->{nodes}[$i];
    my $routes = join ',', map { "nats://127.0.0.1:$_->{cluster}" }
                           grep { $_ != $node } @{ $self->{nodes} };
    my @cmd = ($SERVER, '-a', '127.0.0.1', '-p', $node->{client},
               '-m', $node->{http}, '-n', $node->{name}, '-js',
               '-sd', "$self->{dir}/$node->{name}",
               '--cluster_name', 'tollgate',
               '--cluster', "nats://127.0.0.1:$node->{cluster}",
               '--routes', $routes,
               '-l', "$self->{dir}/$node->{name}.log");

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/$node->{name}.out";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    $node->{pid} = $pid;
    return $pid;
}

# waits until the node's monitoring port answers /healthz with 200
sub wait_ready {
    my ($self, $i) = @_;
    my $node = $self->{nodes}[$i];
    my $http = HTTP::Tiny->new(timeout => 2);
    my $end = time + 30;
    while (time < $end) {
        my $r = $http->get("http://127.0.0.1:$node->{http}/healthz");
        return 1 if $r->{status} == 200;
        sleep 0.1;
    }
    croak "nats node $node->{name} not ready: see $self->{dir}";
}

sub _signal {
    my ($self, $i, $sig) = @_;
    local $?;       # END's exit status stays the test's
    my $node = $self->{nodes}[$i];
    my $pid = delete $node->{pid} or return 0;
    kill $sig, $pid;
    waitpid $pid, 0;
    return 1;
}

sub kill { $_[0]->_signal($_[1], 'KILL') }

sub stop {
    my ($self) = @_;
    return unless $self->{owner} == $$;
    $self->_signal($_, 'TERM') for 0 .. $#{ $self->{nodes} };
}

sub DESTROY { $_[0]->stop }

END { $_->stop for @All }

1;
