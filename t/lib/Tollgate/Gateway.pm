package Tollgate::Gateway;

# A Tollgate nginx for plain Test::More files, for what Test::Nginx blocks
# cannot express: several instances at once, several workers told apart,
# a hundred sockets opened together.  Each instance gets a free loopback
# port, its own prefix in a temporary folder, "master_process on" with the
# workers asked for, the module of TEST_NGINX_LOAD_MODULES (else the
# build's), and runs as our child with "daemon off".
#
#     my $gw = Tollgate::Gateway->start(workers => 2, http => <<'_EOC_');
#         gw_redis 127.0.0.1:6379;
#         server { listen $PORT reuseport; location / { ... } }
#     _EOC_
#     my $res = $gw->get('/api', 'X-API-Key' => $key);
#     $res->{status}; $res->{headers}{'x-worker'}; $res->{body};
#     $gw->workers;        # the worker pids
#     $gw->error_log;      # error.log's lines
#     $gw->stop;
#
# "$PORT" in the http text is the instance's port.  The error log is at
# "info" unless log_level says otherwise.  Nothing here depends on the
# test runner.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my @All;

sub nginx_binary {
    return $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};
    return -x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx';
}

sub modules {
    my $m = $ENV{TEST_NGINX_LOAD_MODULES};
    $m = abs_path(dirname(__FILE__) . '/../../..')
         . '/build/ngx_http_gw_module.so' unless $m;
    return grep { length } split /\s+/, $m;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, Proto => 'tcp')
        or croak "cannot find a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# start(%opt): a running instance.
#   http => text                  the http{} block's contents ($PORT: ours)
#   workers => N                  worker_processes (1)
#   worker_connections => N       (1024)
#   log_level => level            error_log level (info)
#   main => text                  more main-context directives
sub start {
    my ($class, %opt) = @_;
    my $dir = tempdir('tollgate-gw-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/$_" or croak "mkdir $dir/$_: $!" for qw(conf logs tmp);
    my $self = bless { %opt, dir => $dir, owner => $$ }, $class;
    push @All, $self;

    for my $try (1 .. 5) {
        $self->{port} = free_port();
        last if $self->_spawn;
        croak "nginx did not start: " . join '', grep { /\[emerg\]/ }
            $self->error_log if $try == 5;
    }
    return $self;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{pid} }

sub _conf {
    my ($self) = @_;
    my $dir = $self->{dir};
    my $http = $self->{http} // '';
    $http =~ s/\$PORT\b/$self->{port}/g;
    my $temps = join "\n", map { "    ${_}_temp_path $dir/tmp/$_;" }
                qw(client_body proxy fastcgi uwsgi scgi);
    return join "\n",
        (map { "load_module $_;" } modules()),
        'master_process on;',
        'worker_processes ' . ($self->{workers} // 1) . ';',
        "error_log $dir/logs/error.log " . ($self->{log_level} // 'info')
        . ';',
        "pid $dir/logs/nginx.pid;",
        $self->{main} // '',
        'events { worker_connections '
        . ($self->{worker_connections} // 1024) . '; }',
        'http {',
        '    access_log off;',
        $temps,
        $http,
        '}', '';
}

# starts nginx; true once its pid file is written and it accepts on the
# port, false when it exited (a port taken meanwhile, a bad config)
sub _spawn {
    my ($self) = @_;
    my $dir = $self->{dir};
    unlink "$dir/logs/nginx.pid";
    open my $out, '>', "$dir/conf/nginx.conf" or croak "$dir: $!";
    print $out $self->_conf;
    close $out;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        exec nginx_binary(), '-p', "$dir/", '-c', "$dir/conf/nginx.conf",
             '-e', "$dir/logs/error.log", '-g', 'daemon off;'
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;

    my $deadline = time + 20;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            return 0;
        }
        my @workers = $self->workers;
        if (-s "$dir/logs/nginx.pid" && @workers >= ($self->{workers} // 1))
        {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $self->{port},
                                          Proto => 'tcp');
            if ($s) {
                close $s;
                return 1;
            }
        }
        sleep 0.02;
    }
    $self->stop;
    croak "nginx did not start within 20 s";
}

# workers(): the pids of the master's worker processes
sub workers {
    my ($self) = @_;
    my $master = $self->{pid} or return ();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $in, '<', $stat or next;
        my $line = <$in> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S (\d+)/ or next;
        push @pids, $pid if $ppid == $master && $line =~ /\(nginx\)/;
    }
    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

sub error_log {
    my ($self) = @_;
    open my $in, '<', "$self->{dir}/logs/error.log" or return ();
    return <$in>;
}

# request($raw, $timeout): sends $raw on a new connection, returns the
# parsed answer { status, headers => { lc name => value }, body, raw }
# (status 0 when nothing came)
sub request {
    my ($self, $raw, $timeout) = @_;
    return raw_request($self->{port}, $raw, $timeout);
}

sub raw_request {
    my ($port, $raw, $timeout) = @_;
    $timeout //= 5;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or return { status => 0, headers => {}, body => '', raw => '' };
    syswrite $s, $raw;
    my $resp = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + $timeout;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        $resp .= $buf;
    }
    close $s;
    return parse_response($resp);
}

sub parse_response {
    my ($resp) = @_;
    my %res = (status => 0, headers => {}, body => '', raw => $resp);
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    return \%res unless defined $head && $head =~ m{^HTTP/1\.\d (\d{3})};
    $res{status} = $1;
    for my $line (split /\r\n/, $head) {
        next unless $line =~ /^([^:\s]+):\s*(.*)$/;
        my $k = lc $1;
        $res{headers}{$k} = exists $res{headers}{$k}
                            ? "$res{headers}{$k}, $2" : $2;
    }
    $res{body} = $body // '';
    return \%res;
}

# get($path, %headers): a GET on a new connection (Connection: close)
sub get {
    my ($self, $path, %headers) = @_;
    my $h = join '', map { "$_: $headers{$_}\r\n" } sort keys %headers;
    return $self->request("GET $path HTTP/1.1\r\nHost: localhost\r\n$h"
                          . "Connection: close\r\n\r\n");
}

# stop(): QUIT, then KILL to the process group after 10 s
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    return unless $self->{owner} == $$;
    kill 'QUIT', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        return 1 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }
    kill 'KILL', -$pid;
    waitpid($pid, 0);
    return 0;
}

sub DESTROY { $_[0]->stop }

END {
    local $?;
    $_->stop for grep { defined } @All;
}

1;
