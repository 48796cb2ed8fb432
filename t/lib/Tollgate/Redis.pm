package Tollgate::Redis;

# A private redis-server for a test file: started on a free loopback port
# (and, on request, a unix socket) in its own temporary folder, with
# persistence off ("save" empty, "appendonly no"), so that tests never
# touch the system's Redis nor leave files behind.  It can be stopped,
# killed and started again on the same port, and commands run on it with
# redis-cli.
#
#     my $redis = Tollgate::Redis->start(password => 's3cret', unix => 1);
#     $redis->port; $redis->pid; $redis->unix_socket; $redis->dir;
#     $redis->cli('SET', 'k', 'v');          # redis-cli's output, chomped
#     $redis->cli_bg('DEBUG', 'SLEEP', 2);   # does not wait
#     $redis->kill;  $redis->restart;  $redis->stop;
#     $redis->pause; $redis->resume;          # SIGSTOP, SIGCONT
#
# Test::Nginx blocks cannot run Perl between the requests of a block, so
# control() also serves these actions over HTTP from a child process,
# for nginx to proxy to from the block's own requests (SSI includes with
# wait="yes" run them in order):
#
#     GET /kill, /stop, /start       SIGKILL, SIGTERM, start on the same port
#     GET /kill?after=MS             SIGKILL after MS milliseconds
#     GET /pause, /resume            SIGSTOP, SIGCONT
#     GET /await-subscriber?port=P   waits until http://127.0.0.1:P/status
#                                    (gw_redis_status) shows the worker's
#                                    subscriber up; answers nothing
#     GET /cli?ARG&ARG...            redis-cli ARG ARG..., its output
#     GET /bg?ARG&ARG...             the same in the background
#     GET /ready                     waits until Redis answers PING
#     GET /sleep?ms=N                answers after N milliseconds
#     GET /mark, /elapsed?under=MS   "fast" when less than MS milliseconds
#                                    passed since /mark, else "slow N"
#     GET /get?port=P&path=/p&under=MS   GETs http://127.0.0.1:P/p itself:
#                                    "fast BODY" when answered within MS
#
# Nothing here depends on the test runner, so it works the same under
# t/lib's Test::Nginx::Socket and CPAN's.  The process that called start()
# stops Redis (and the control child) when the object goes away or the
# program ends; forked children never do.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EINTR);
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $SERVER = $ENV{TEST_REDIS_SERVER} || 'redis-server';
our $CLI = $ENV{TEST_REDIS_CLI} || 'redis-cli';

my @All;    # every started instance, for END

# start(%opt): a running instance.
#   password => text   requirepass
#   unix     => 1      also listen on $dir/redis.sock
#   port     => N      this port rather than a free one
#   aof      => 1      appendonly yes, appendfsync always (kept across
#                      restart(), for crash tests)
sub start {
    my ($class, %opt) = @_;
    croak "$SERVER not found (apt-get install redis-server redis-tools)"
        unless _in_path($SERVER);
    my $self = bless {
        %opt,
        owner => $$,
        dir   => tempdir('tollgate-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1),
    }, $class;
    push @All, $self;

    for my $try (1 .. 5) {
        $self->{port} = $opt{port} || free_port();
        last if eval { $self->_spawn; 1 };
        croak $@ if $opt{port} || $try == 5;
    }

    return $self;
}

sub port     { $_[0]{port} }
sub dir      { $_[0]{dir} }
sub password { $_[0]{password} }
sub address  { "127.0.0.1:$_[0]{port}" }
sub unix_socket { $_[0]{unix} ? "$_[0]{dir}/redis.sock" : undef }

sub _in_path {
    my ($prog) = @_;
    return -x $prog if $prog =~ m{/};
    return grep { -x "$_/$prog" } split /:/, $ENV{PATH} // '';
}

# the server's pid while it runs, else undef
sub pid {
    my ($self) = @_;
    my $pid = $self->{pid};
    if (open my $in, '<', "$self->{dir}/redis.pid") {
        my $p = <$in>;
        $pid = $1 if defined $p && $p =~ /^(\d+)/;
    }
    return undef unless $pid && CORE::kill(0, $pid) && !_zombie($pid);
    return $pid;
}

sub running { defined $_[0]->pid }

# free_port(): a loopback TCP port nobody listens on now
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, Proto => 'tcp')
        or croak "cannot find a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _version {
    my $out = `$SERVER --version 2>/dev/null`;
    return $out =~ /v=(\d+)\.(\d+)/ ? $1 * 100 + $2 : 0;
}

sub _config {
    my ($self) = @_;
    my $dir = $self->{dir};
    my @conf = (
        "port $self->{port}",
        'bind 127.0.0.1',
        'save ""',
        $self->{aof} ? ('appendonly yes', 'appendfsync always')
                     : 'appendonly no',
        "dir $dir",
        "pidfile $dir/redis.pid",
        "logfile $dir/redis.log",
        'daemonize no',
    );
    push @conf, "requirepass $self->{password}" if defined $self->{password};
    push @conf, "unixsocket $dir/redis.sock", 'unixsocketperm 700'
        if $self->{unix};
    # DEBUG SLEEP, for tests that stall Redis, is off by default in 7.0
    push @conf, 'enable-debug-command local' if _version() >= 700;
    return join "\n", @conf, '';
}

# Starts redis-server (not daemonised: it is our child) and waits until it
# answers on its port; dies with its log when it does not.
sub _spawn {
    my ($self) = @_;
    my $dir = $self->{dir};
    unlink "$dir/redis.pid";

    open my $out, '>', "$dir/redis.conf" or croak "$dir/redis.conf: $!";
    print $out $self->_config;
    close $out;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/redis.out";
        open STDERR, '>&', \*STDOUT;
        exec $SERVER, "$dir/redis.conf" or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @{ $self->{spawned}{$$} }, $pid;

    return 1 if $self->wait_ready(10);

    CORE::kill('KILL', $pid);
    _reap($pid, 2);
    delete $self->{pid};
    my $log = '';
    for my $f ("$dir/redis.log", "$dir/redis.out") {
        open my $in, '<', $f or next;
        local $/;
        $log .= <$in> // '';
    }
    croak "redis-server did not start on port $self->{port}: $log";
}

# wait_ready($seconds): true once Redis answers PING (a NOAUTH error is
# an answer too), false when it did not within $seconds (default 10).
sub wait_ready {
    my ($self, $limit) = @_;
    my $deadline = time + ($limit || 10);
    while (time < $deadline) {
        return 0 if $self->{pid} && !CORE::kill(0, $self->{pid});
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port},
                                      Proto => 'tcp', Timeout => 1);
        if ($s) {
            $s->autoflush(1);
            print $s "PING\r\n";
            my $line = '';
            my $sel = IO::Select->new($s);
            if ($sel->can_read(0.5)) {
                sysread $s, $line, 256;
            }
            close $s;
            return 1 if $line =~ /^[+-]/;
        }
        sleep 0.05;
    }
    return 0;
}

# cli(@args): runs redis-cli on the instance, returns its output (chomped)
sub cli {
    my ($self, @args) = @_;
    my @cmd = $self->_cli_command(@args);
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    chomp $out;
    return $out;
}

# cli_bg(@args): the same without waiting; returns the child's pid, which
# reap_children() collects
sub cli_bg {
    my ($self, @args) = @_;
    my @cmd = $self->_cli_command(@args);
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    push @{ $self->{bg} }, $pid;
    return $pid;
}

sub reap_children {
    my ($self) = @_;
    for my $list ($self->{bg}, $self->{spawned}{$$}) {
        @$list = grep { waitpid($_, WNOHANG) == 0 } @$list if $list;
    }
}

sub _cli_command {
    my ($self, @args) = @_;
    my @cmd = ($CLI, '-h', '127.0.0.1', '-p', $self->{port});
    push @cmd, '--no-auth-warning', '-a', $self->{password}
        if defined $self->{password};
    return (@cmd, @args);
}

# stop(): SIGTERM, as a clean shutdown (nothing is saved)
sub stop { $_[0]->_signal('TERM') }

# kill(): SIGKILL, as a crash
sub kill { $_[0]->_signal('KILL') }

# pause(), resume(): SIGSTOP and SIGCONT, a Redis that keeps its
# connections open and answers nothing meanwhile
sub pause  { CORE::kill('STOP', $_[0]->pid // return 0); return 1 }
sub resume { CORE::kill('CONT', $_[0]->pid // return 0); return 1 }

sub _signal {
    my ($self, $sig) = @_;
    my $pid = $self->pid;
    if ($pid) {
        CORE::kill($sig, $pid);
        CORE::kill('CONT', $pid);       # a paused one gets it too
        _reap($pid, 10) or croak "redis-server $pid did not exit on $sig";
    }
    unlink "$self->{dir}/redis.pid";
    delete $self->{pid};
    return 1;
}

# restart(): starts it again, same port, folder and options (after a kill
# or a stop; a running instance is stopped first)
sub restart {
    my ($self) = @_;
    $self->stop if $self->running;
    $self->_spawn;
    return $self;
}

sub _zombie {
    my ($pid) = @_;
    open my $in, '<', "/proc/$pid/stat" or return 0;
    return ((<$in> // '') =~ /^\d+ \(.*\) Z/) ? 1 : 0;
}

# _reap($pid, $seconds): waits until $pid is gone (reaped when it is our
# child, a zombie or absent otherwise)
sub _reap {
    my ($pid, $limit) = @_;
    my $deadline = time + $limit;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        return 1 if $r == $pid;
        return 1 if !CORE::kill(0, $pid) || _zombie($pid);
        sleep 0.02;
    }
    return 0;
}


# --- the control server -------------------------------------------------

# control(): starts the HTTP control child (once) and returns its port
sub control {
    my ($self) = @_;
    return $self->{control_port} if $self->{control_port};

    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 128,
                                       Proto => 'tcp', ReuseAddr => 1)
        or croak "control server: cannot listen: $!";
    my $pid = fork;
    croak "fork: $!" unless defined $pid;

    if ($pid == 0) {
        # from now on this child starts and stops Redis; on TERM it
        # stops the server it runs, so that no orphan is left
        $self->{owner} = $$;
        delete $self->{control_port};
        @All = ($self);
        $SIG{TERM} = sub { $self->cleanup; POSIX::_exit(0) };
        eval { $self->_serve($listen) };
        $self->cleanup;
        POSIX::_exit(0);
    }

    $self->{control_pid} = $pid;
    $self->{control_port} = $listen->sockport;
    close $listen;
    return $self->{control_port};
}

sub _serve {
    my ($self, $listen) = @_;
    while (1) {
        $self->reap_children;
        my $c = $listen->accept;
        if (!$c) {
            next if $! == EINTR;
            return;
        }
        my $req = '';
        while ($req !~ /\r?\n\r?\n/) {
            my $n = sysread $c, my $buf, 4096;
            last unless $n;
            $req .= $buf;
        }
        my ($path, $query) = $req =~ m{^\w+\s+(/[^?\s]*)(?:\?(\S*))?}
            or do { close $c; next };
        my $body = eval { $self->_act($path, $query // '') };
        $body = "error: $@" unless defined $body;
        $body .= "\n" unless $body =~ /\n\z/
                              || ($path eq '/await-subscriber' && $body eq '');
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . 'Content-Length: ' . length($body) . "\r\n"
               . "Connection: close\r\n\r\n$body";
        close $c;
    }
}

# "A&B+C&%41" to ("A", "B C", "A")
sub _args {
    my ($query) = @_;
    my @args;
    for my $arg (grep { length } split /&/, $query) {
        $arg =~ s/\+/ /g;
        $arg =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        push @args, $arg;
    }
    return @args;
}

sub _act {
    my ($self, $path, $query) = @_;

    if ($path eq '/kill') {
        # kill?after=MS: answers only then, so that an include that does
        # not wait can kill Redis while other requests are in flight
        my ($after) = $query =~ /after=(\d+)/;
        sleep($after / 1000) if $after;
        return $self->kill && 'killed';
    }
    return $self->stop && 'stopped' if $path eq '/stop';
    return $self->pause && 'paused' if $path eq '/pause';
    return $self->resume && 'resumed' if $path eq '/resume';
    return $self->restart && 'started' if $path eq '/start';
    return $self->cli(_args($query)) if $path eq '/cli';
    return $self->cli_bg(_args($query)) && 'started' if $path eq '/bg';
    return $self->wait_ready(10) ? 'ready' : 'not ready' if $path eq '/ready';

    if ($path eq '/sleep') {
        my ($ms) = $query =~ /ms=(\d+)/;
        sleep(($ms // 100) / 1000);
        return 'slept';
    }
    if ($path eq '/get') {
        my %q = map { split /=/, $_, 2 } grep { /=/ } split /&/, $query;
        return _timed_get($q{port}, $q{path} // '/', $q{under} // 1000);
    }
    if ($path eq '/await-subscriber') {
        # polls the worker's gw_redis_status until its subscriber is up
        # (its resync done); answers nothing then, so that a page that
        # includes it first reads the same
        my ($port) = $query =~ /port=(\d+)/;
        my $deadline = time + 10;
        my $last = '';
        while (time < $deadline) {
            $last = _timed_get($port, '/status', 100000);
            return '' if $last =~ /"subscriber":\{"connected":true/;
            sleep 0.02;
        }
        return "subscriber never connected: $last";
    }
    if ($path eq '/mark') {
        $self->{mark} = time;
        return 'marked';
    }
    if ($path eq '/elapsed') {
        my ($under) = $query =~ /under=(\d+)/;
        my $ms = int((time - ($self->{mark} // time)) * 1000);
        return $ms < ($under // 1000) ? 'fast' : "slow $ms";
    }
    return "unknown action $path";
}


# _timed_get($port, $path, $ms): GETs http://127.0.0.1:$port$path as a
# client of its own; "fast BODY" when the whole answer took less than $ms
# milliseconds, else "slow N"
sub _timed_get {
    my ($port, $path, $under) = @_;
    my $start = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or return "cannot connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my $resp = '';
    while (1) {
        my $n = sysread $s, my $buf, 4096;
        last unless $n;
        $resp .= $buf;
    }
    close $s;
    my $ms = int((time - $start) * 1000);
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return $ms < $under ? 'fast ' . ($body // '') : "slow $ms";
}


# --- cleanup --------------------------------------------------------------

# Stops the control child and Redis, and collects the processes this
# process started; only in the process that owns the instance.
sub cleanup {
    my ($self) = @_;
    return unless $self->{owner} && $self->{owner} == $$;
    $self->{owner} = 0;
    if (my $cpid = delete $self->{control_pid}) {
        CORE::kill('TERM', $cpid);
        _reap($cpid, 5) or CORE::kill('KILL', $cpid);
        waitpid($cpid, 0);
    }
    # the control child may have started the running server: the pid
    # file names it
    my $pid = $self->pid;
    if ($pid) {
        CORE::kill('KILL', $pid);
        _reap($pid, 5);
    }
    waitpid($_, WNOHANG) for @{ $self->{spawned}{$$} || [] };
    $self->reap_children;
}

sub DESTROY { $_[0]->cleanup }

END {
    local $?;
    $_->cleanup for grep { defined } @All;
}

1;
