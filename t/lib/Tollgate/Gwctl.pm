package Tollgate::Gwctl;

# Consumers and API keys for the key-auth tests: build/gwctl run against a
# test's private Redis (Tollgate::Redis), plus what gwctl does not offer and
# tests need: a small binary-safe RESP client (to read records, or change
# them behind the gateway's back, without a publish), a snapshot of every
# gw:* record and its restore (a Redis restarted by a test comes back
# empty: persistence is off), and keys that look right but were never
# created.
#
#     my $ctl = Tollgate::Gwctl->new($redis);       # a Tollgate::Redis
#     $ctl->consumer_add('alice', name => 'Alice', plan => 'gold');
#     my $key = $ctl->key_create('alice', expires => '1s');
#     $ctl->key_revoke('alice', $key);  $ctl->consumer_disable('alice');
#     $ctl->consumer_plan('alice', 'free');  $ctl->consumer_plan('alice');
#     my ($code, $out, $err) = $ctl->run('consumer', 'show', 'alice');
#     $ctl->redis('HSET', 'gw:key:' . key_hash($key), 'status', 'revoked');
#     my $snap = $ctl->snapshot;  ...  $ctl->restore($snap);
#     $redis->cli_bg('DEBUG', 'SLEEP', 1);  $ctl->wait_stalled;
#
# Nothing here depends on the test runner.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use IO::Select ();
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use POSIX ();

our @EXPORT_OK = qw(key_hash random_key gwctl_binary ctl_args);

# build/gwctl, found from this file's place (t/lib/Tollgate/Gwctl.pm)
sub gwctl_binary {
    return $ENV{TEST_GWCTL_BINARY}
        || abs_path(dirname(__FILE__) . '/../../..') . '/build/gwctl';
}

# key_hash($key): the lower-case hex SHA-256 that names its record
sub key_hash { sha256_hex($_[0]) }

# random_key(): "tg_" and 43 base64url characters, as gwctl makes them,
# but never stored anywhere
sub random_key {
    my $bytes = join '', map { chr int rand 256 } 1 .. 32;
    my $b64 = encode_base64($bytes, '');
    $b64 =~ tr{+/}{-_};
    $b64 =~ s/=+\z//;
    return "tg_$b64";
}

# new($redis): gwctl and RESP against this Tollgate::Redis
sub new {
    my ($class, $redis) = @_;
    croak gwctl_binary() . ' is not built (run make)' unless -x gwctl_binary();
    return bless { redis => $redis }, $class;
}

# run(@args): gwctl --redis ADDR @args; returns (exit code, stdout, stderr)
sub run {
    my ($self, @args) = @_;
    my $tmp = "/tmp/tollgate-gwctl-$$-" . int(rand 1e9);
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp.out" or POSIX::_exit(126);
        open STDERR, '>', "$tmp.err" or POSIX::_exit(126);
        exec gwctl_binary(), '--redis', $self->{redis}->address, @args
            or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $code = $? >> 8;
    my @out = map {
        my $text = '';
        if (open my $in, '<', $_) { local $/; $text = <$in> // ''; }
        unlink $_;
        $text;
    } "$tmp.out", "$tmp.err";
    return ($code, @out);
}

# ok(@args): gwctl's stdout, chomped; croaks unless it exits 0
sub ok {
    my ($self, @args) = @_;
    my ($code, $out, $err) = $self->run(@args);
    croak "gwctl @args: exit $code: $err" if $code != 0;
    chomp $out;
    return $out;
}

sub consumer_add {
    my ($self, $id, %opt) = @_;
    my @opt = map { ("--$_", $opt{$_}) } sort keys %opt;
    return $self->ok('consumer', 'add', $id, @opt);
}

sub consumer_disable { $_[0]->ok('consumer', 'disable', $_[1]) }
sub consumer_enable  { $_[0]->ok('consumer', 'enable', $_[1]) }

# consumer_plan($id, $plan): sets the plan (published, so gateways drop
# their cached record at once); consumer_plan($id) clears it
sub consumer_plan {
    my ($self, $id, $plan) = @_;
    return defined $plan ? $self->ok('consumer', 'plan', '--', $id, $plan)
                         : $self->ok('consumer', 'plan', '--none', '--', $id);
}

# key_create($consumer, expires => '1s'): the new key
sub key_create {
    my ($self, $consumer, %opt) = @_;
    my @opt = defined $opt{expires} ? ('--expires', $opt{expires}) : ();
    my $key = $self->ok('key', 'create', $consumer, @opt);
    croak "gwctl key create printed \"$key\"" unless $key =~ /^tg_[\w-]{43}$/;
    return $key;
}

# key_revoke($consumer, $key_or_prefix_or_hash)
sub key_revoke { $_[0]->ok('key', 'revoke', $_[1], $_[2]) }


# --- RESP -------------------------------------------------------------------

sub _encode {
    my @args = @_;
    return '*' . scalar(@args) . "\r\n"
           . join '', map { '$' . length($_) . "\r\n$_\r\n" } @args;
}

# reads one reply from $buf (a reference), refilling it from $s
sub _read_reply {
    my ($s, $buf) = @_;
    my $line = sub {
        while ($$buf !~ /\r\n/) {
            my $n = sysread $s, $$buf, 65536, length $$buf;
            croak "redis: connection closed" unless $n;
        }
        $$buf =~ s/\A(.*?)\r\n//s;
        return $1;
    };
    my $head = $line->();
    my ($type, $rest) = (substr($head, 0, 1), substr($head, 1));
    return $rest if $type eq '+' || $type eq ':';
    return { error => $rest } if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        while (length $$buf < $rest + 2) {
            my $n = sysread $s, $$buf, 65536, length $$buf;
            croak "redis: connection closed" unless $n;
        }
        my $v = substr $$buf, 0, $rest;
        substr($$buf, 0, $rest + 2) = '';
        return $v;
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { _read_reply($s, $buf) } 1 .. $rest ];
    }
    croak "redis: bad reply \"$head\"";
}

# redis_pipeline([cmd...], [cmd...]): the replies, in order, from one
# connection (an error reply is { error => text })
sub redis_pipeline {
    my ($self, @cmds) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{redis}->port,
                                  Proto => 'tcp', Timeout => 5)
        or croak "redis: cannot connect: $!";
    my $out = join '', map { _encode(@$_) } @cmds;
    $out = _encode('AUTH', $self->{redis}->password) . $out
        if defined $self->{redis}->password;
    while (length $out) {
        my $n = syswrite $s, $out;
        croak "redis: write: $!" unless defined $n;
        substr($out, 0, $n) = '';
    }
    my $buf = '';
    _read_reply($s, \$buf) if defined $self->{redis}->password;
    my @replies = map { _read_reply($s, \$buf) } @cmds;
    close $s;
    return @replies;
}

# redis(@cmd): one command's reply
sub redis {
    my ($self, @cmd) = @_;
    my ($r) = $self->redis_pipeline(\@cmd);
    return $r;
}

# wait_stalled(): returns once Redis no longer answers a PING within
# 50 ms, i.e. a DEBUG SLEEP started with cli_bg() has begun; dies after
# 100 tries
sub wait_stalled {
    my ($self) = @_;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{redis}->port,
                                      Proto => 'tcp', Timeout => 1)
            or next;
        syswrite $s, "PING\r\n";
        my $answered = IO::Select->new($s)->can_read(0.05);
        close $s;
        return 1 unless $answered;
        select(undef, undef, undef, 0.01);
    }
    croak 'Redis did not stall';
}

# snapshot(): every gw:* record, to restore after Redis lost them
sub snapshot {
    my ($self) = @_;
    my $keys = $self->redis('KEYS', 'gw:*');
    my @snap;
    my @types = $self->redis_pipeline(map { ['TYPE', $_] } @$keys);
    for my $i (0 .. $#$keys) {
        my $k = $keys->[$i];
        if ($types[$i] eq 'hash') {
            push @snap, ['HSET', $k, @{ $self->redis('HGETALL', $k) }];
        } elsif ($types[$i] eq 'set') {
            push @snap, ['SADD', $k, @{ $self->redis('SMEMBERS', $k) }];
        } elsif ($types[$i] eq 'zset') {
            my @m = @{ $self->redis('ZRANGE', $k, 0, -1, 'WITHSCORES') };
            push @snap, ['ZADD', $k,
                         map { @m[2 * $_ + 1, 2 * $_] } 0 .. $#m / 2];
        }
    }
    return \@snap;
}

# restore($snap): Redis holds exactly the snapshot's records again
sub restore {
    my ($self, $snap) = @_;
    my @r = $self->redis_pipeline(['FLUSHALL'], @$snap);
    for (@r) {
        croak "redis: restore: $_->{error}" if ref $_ eq 'HASH';
    }
    return 1;
}

# ctl_args(@args): a query for Tollgate::Redis' control server, as
# /ctl/cli?ARGS runs redis-cli ARGS ("&" between arguments, %XX escapes)
sub ctl_args {
    return join '&', map {
        (my $a = $_) =~ s/([^A-Za-z0-9._:-])/sprintf '%%%02X', ord $1/ge;
        $a;
    } @_;
}

1;
