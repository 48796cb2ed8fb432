package Metadata;

# Helpers for the metadata service's tests (t/backends/06x-metadata-*.t):
# start build/backends/metadata with its configuration as
# TOLLGATE_METADATA_* variables on a port picked first, read its JSON
# log, talk JSON to it over HTTP, and stop it.
#
#     my $redis = Tollgate::Redis->start;
#     my $svc = Metadata::start(redis => $redis->address,
#                               env => { LOG_RETENTION => 50 });
#     my ($st, $json, $r) = Metadata::call($svc, 'PUT', '/v1/routes/r1',
#         { paths => ['/a'], upstream => 'u1' }, 'If-None-Match' => '*');
#     $r->{headers}{etag};
#     Metadata::stop($svc);  Metadata::kill9($svc);
#
# Requests carry the headers the gateway would set for an admin with
# write access (X-Consumer-Scope: admin:write, X-Consumer-ID: tester)
# unless the call names its own (as => undef sends none, as => 'read'
# an admin:read token's, as => 'write' the default).
#
# TEST_METADATA_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $BIN = $ENV{TEST_METADATA_BINARY}
    // "$FindBin::Bin/../../build/backends/metadata";
our $TMP = tempdir('tollgate-metadata-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $n = 0;
my @running;
my $http = HTTP::Tiny->new(timeout => 60, keep_alive => 0);
my $json = JSON::PP->new->canonical->allow_nonref;

sub binary { $BIN }
sub tmp { $TMP }
sub json { $json }

# a TCP port nobody listens on now
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or croak "free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub env_for {
    my (%opt) = @_;
    my $port = $opt{port} // free_port();
    my %env = (LISTEN => "127.0.0.1:$port",
               REDIS_RETRY => '1s',
               ($opt{redis} ? (REDIS => $opt{redis}) : ()),
               %{ $opt{env} || {} });
    return ($port, %env);
}

# run(\%env, @args): the binary's output (stdout and stderr) and exit code
sub run {
    my ($env, @args) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        delete $ENV{$_} for grep { /^TOLLGATE_METADATA_/ } keys %ENV;
        $ENV{"TOLLGATE_METADATA_$_"} = $env->{$_} for keys %$env;
        exec $BIN, @args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# start(redis => ADDR, env => {KEY => v}, port => P, wait => 1,
#       ready => 1): returns once the service logged "started" (and, with
# ready => 1, once /readyz answers 200), dies with its log otherwise
sub start {
    my (%opt) = @_;
    my ($port, %env) = env_for(%opt);
    my $log = "$TMP/metadata" . ++$n . '.log';

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        delete $ENV{$_} for grep { /^TOLLGATE_METADATA_/ } keys %ENV;
        $ENV{"TOLLGATE_METADATA_$_"} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        exec $BIN, @{ $opt{args} || [] } or POSIX::_exit(127);
    }

    my $svc = { pid => $pid, log => $log, port => $port, env => \%env };
    push @running, $svc;
    return $svc if defined $opt{wait} && !$opt{wait};

    my $deadline = time + 30;
    my $started;
    while (time < $deadline) {
        $started ||= grep { ($_->{message} // '') eq 'started' }
                     log_lines($svc);
        if ($started) {
            return $svc unless $opt{ready} // 1;
            my ($st) = raw($svc, 'GET', '/readyz');
            return $svc if $st == 200;
        }
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    croak "the metadata service did not start:\n" . slurp($log);
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    return <$in> // '';
}

sub log_lines {
    my ($svc) = @_;
    my @out;
    for my $line (split /\n/, slurp($svc->{log})) {
        next unless $line =~ /^\{/;
        my $o = eval { JSON::PP::decode_json($line) };
        push @out, $o if ref $o eq 'HASH';
    }
    return @out;
}

sub wait_exit {
    my ($svc, $limit) = @_;
    my $deadline = time + ($limit // 30);
    while (time < $deadline) {
        if (waitpid($svc->{pid}, WNOHANG) == $svc->{pid}) {
            @running = grep { $_ != $svc } @running;
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub stop {
    my ($svc) = @_;
    kill 'TERM', $svc->{pid};
    return wait_exit($svc);
}

sub kill9 {
    my ($svc) = @_;
    kill 'KILL', $svc->{pid};
    return wait_exit($svc);
}

sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub _decode {
    my ($r) = @_;
    # one value even when the JSON does not decode (a HEAD's empty body)
    my $v = ($r->{headers}{'content-type'} // '') =~ /json/
        ? eval { JSON::PP::decode_json($r->{content}) } : $r->{content};
    return $v;
}

my %as = (
    write => { 'X-Consumer-ID' => 'tester',
               'X-Consumer-Scope' => 'admin:write' },
    read  => { 'X-Consumer-ID' => 'reader',
               'X-Consumer-Scope' => 'admin:read' },
);

# raw($svc, $method, $path, $body_text, %headers): (status, decoded JSON
# or text, response), with exactly the headers given
sub raw {
    my ($svc, $method, $path, $body, %headers) = @_;
    my $r = $http->request($method, url($svc, $path),
                           { headers => \%headers,
                             (defined $body ? (content => $body) : ()) });
    return ($r->{status}, _decode($r), $r);
}

# call($svc, $method, $path, $body, %headers): $body a Perl value sent as
# JSON (undef: no body), with the admin headers of `as` (default write)
sub call {
    my ($svc, $method, $path, $body, %headers) = @_;
    my $role = exists $headers{as} ? delete $headers{as} : 'write';
    my %h = (%{ defined $role ? $as{$role} : {} }, %headers);
    $h{'Content-Type'} //= 'application/json' if defined $body;
    return raw($svc, $method, $path,
               defined $body ? $json->encode($body) : undef, %h);
}

# admin($role): the identity headers of a role ('write' default, 'read'),
# for raw() calls that need them
sub admin { return %{ $as{$_[0] // 'write'} } }

# an entity's ETag value, as the service sends it
sub etag { $_[0]{headers}{etag} }

# wait_for(sub { ... }, $seconds): polls until the sub returns true
sub wait_for {
    my ($cond, $limit) = @_;
    my $deadline = time + ($limit // 10);
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.05;
    }
    return undef;
}

# ---- the store's records (t/backends/06[015]-*.t) ----

# md_log($redis, $start, $end): the change log's entries from $start to
# $end (stream ids, default all), each { entry => "<rev>-<i>", rev, n,
# type, id, vb, va, actor, rid, time, before, after }
sub md_log {
    my ($redis, $start, $end) = @_;
    my @l = split /\n/, $redis->cli('XRANGE', 'gw:md:log', $start // '-',
                                     $end // '+'), -1;
    my @out;
    while (@l >= 23) {
        my ($id, @kv) = splice @l, 0, 23;
        push @out, { entry => $id, @kv };
    }
    return @out;
}

# audit_events($redis): the events the service added to gw:audit, decoded
sub audit_events {
    my ($redis) = @_;
    return map { my $e = eval { JSON::PP::decode_json($_) }; $e ? $e : () }
           grep { /^\{/ } split /\n/, $redis->cli('XRANGE', 'gw:audit',
                                                  '-', '+');
}

# entity($redis, $type, $id): the entity's hash (v, doc, refs, match)
sub entity {
    my ($redis, $type, $id) = @_;
    my @l = split /\n/, $redis->cli('HGETALL', "gw:md:e:$type:$id"), -1;
    return @l ? {@l} : undef;
}

END {
    kill 'KILL', $_->{pid} for @running;
}

1;
