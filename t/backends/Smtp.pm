package Smtp;

# A real SMTP server for the email channel's tests: t/smtp/server.py
# (Debian's python3-aiosmtpd) in a folder of its own, on a port the
# system chose, with the messages it received read back; certificates
# for it made by the openssl CLI; and the channel's driver
# (build/ntf/smtp_send) run with TOLLGATE_NOTIFICATION_SMTP_* variables.
#
#     my $pki = Smtp::certs();
#     my $srv = Smtp::start(mode => 'starttls', pki => $pki,
#                           args => ['--require-starttls']);
#     my ($outs, $dir) = Smtp::send(env => { SMTP_URL => $srv->url, ... },
#                                   payload => { to => [...], ... });
#     my @m = $srv->messages;     # { eml => bytes, meta => {...} }
#
# Whatever is still running at exit is stopped.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

our $PY = '/usr/bin/python3';
our $DIR = "$FindBin::Bin/../smtp";
our $BIN = $ENV{TEST_NTF_SMTP_SEND}
    // "$FindBin::Bin/../../build/ntf/smtp_send";
our $TMP = tempdir('tollgate-smtp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical->utf8;

my $n = 0;
my @running;

sub binary { $BIN }
sub tmp { $TMP }

# 1 when python3-aiosmtpd can be imported
sub available {
    return system($PY, '-c', 'import aiosmtpd') == 0;
}

sub run_quiet {
    my (@cmd) = @_;
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    croak "@cmd: failed" if $?;
}

# certs(): a test CA and a server certificate for 127.0.0.1/localhost
# signed by it: { ca, cert, key } (file names), made once
my $pki;
sub certs {
    return $pki if $pki;
    my $d = "$TMP/pki";
    mkdir $d;
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
              '-nodes');
    run_quiet('openssl', 'req', '-x509', @ec, '-keyout', "$d/ca.key",
              '-out', "$d/ca.pem", '-days', '2',
              '-subj', '/CN=Tollgate Test CA');
    run_quiet('openssl', 'req', @ec, '-keyout', "$d/srv.key",
              '-out', "$d/srv.csr", '-subj', '/CN=127.0.0.1');
    open my $ext, '>', "$d/ext" or croak $!;
    print $ext "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    close $ext;
    run_quiet('openssl', 'x509', '-req', '-in', "$d/srv.csr",
              '-CA', "$d/ca.pem", '-CAkey', "$d/ca.key",
              '-CAcreateserial', '-out', "$d/srv.pem", '-days', '2',
              '-extfile', "$d/ext");
    $pki = { ca => "$d/ca.pem", cert => "$d/srv.pem", key => "$d/srv.key" };
    return $pki;
}

# start(mode => plain|starttls|implicit, pki => certs(), args => [...]):
# the server, once it listens
sub start {
    my (%o) = @_;
    my $dir = "$TMP/srv" . ++$n;
    mkdir $dir or croak "$dir: $!";
    my $mode = $o{mode} // 'plain';
    my @args = ('--dir', $dir, '--mode', $mode);
    push @args, '--cert', $o{pki}{cert}, '--key', $o{pki}{key}
        if $mode ne 'plain';
    push @args, @{ $o{args} || [] };

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/server.log";
        open STDERR, '>&', \*STDOUT;
        exec $PY, "$DIR/server.py", @args or POSIX::_exit(127);
    }

    my $s = bless { pid => $pid, dir => $dir, mode => $mode }, __PACKAGE__;
    push @running, $s;

    my $deadline = time + 20;
    until (-f "$dir/port") {
        croak "the SMTP server did not start: " . slurp("$dir/server.log")
            if time > $deadline || waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    $s->{port} = 0 + slurp("$dir/port");
    return $s;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

# the URL the channel is configured with
sub url {
    my ($s) = @_;
    my $scheme = $s->{mode} eq 'implicit' ? 'smtps' : 'smtp';
    return "$scheme://127.0.0.1:$s->{port}";
}

# every message received so far, in order: { eml, meta, file }
sub messages {
    my ($s) = @_;
    my @m;
    for my $f (sort glob "$s->{dir}/*.eml") {
        (my $j = $f) =~ s/\.eml$/.json/;
        push @m, { eml => slurp($f), meta => $JSON->decode(slurp($j)),
                   file => $f };
    }
    return @m;
}

# the AUTH attempts: lines "MECH LOGIN ok|bad"
sub auth_log {
    my ($s) = @_;
    my $f = "$s->{dir}/auth.log";
    return -f $f ? split /\n/, slurp($f) : ();
}

sub stop {
    my ($s) = @_;
    return unless $s->{pid};
    local $?;
    kill 'TERM', $s->{pid};
    waitpid $s->{pid}, 0;
    delete $s->{pid};
}

sub slurp {
    my ($f) = @_;
    open my $in, '<:raw', $f or croak "$f: $!";
    local $/;
    my $d = <$in>;
    return $d // '';
}

# parse($file): Python's email package's reading of a message (parse.py)
sub parse {
    my ($file) = @_;
    open my $in, '-|', $PY, "$DIR/parse.py", $file or croak "parse: $!";
    my $out = do { local $/; <$in> };
    close $in;
    return $JSON->decode($out);
}

# driver(env => {...}, args => [...]): (stdout, exit code) of smtp_send
# with exactly these TOLLGATE_NOTIFICATION_* variables
sub driver {
    my (%o) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        delete $ENV{$_} for grep { /^TOLLGATE_NOTIFICATION_/ } keys %ENV;
        $ENV{"TOLLGATE_NOTIFICATION_$_"} = $o{env}{$_}
            for keys %{ $o{env} || {} };
        open STDERR, '>&', \*STDOUT;
        exec $BIN, @{ $o{args} } or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# payload_file($payload): a file holding it (JSON)
sub payload_file {
    my ($p) = @_;
    my $f = "$TMP/payload" . ++$n . '.json';
    open my $out, '>:raw', $f or croak "$f: $!";
    print $out ref $p ? $JSON->encode($p) : $p;
    close $out;
    return $f;
}

# send(env => {...}, payload => {...}, id => 'ntf_x', n => 1): the
# outcomes (decoded JSON lines, in the order they ended) and the folder
# holding each delivery's message as built (<id>.<i>.eml)
sub send {
    my (%o) = @_;
    my $dir = "$TMP/sent" . ++$n;
    mkdir $dir;
    my ($out, $rc) = driver(env => $o{env},
        args => ['send', payload_file($o{payload}), $o{id} // 'ntf_t',
                 $o{n} // 1, $dir]);
    my @outs = map { $JSON->decode($_) } grep { /^\{/ } split /\n/, $out;
    croak "smtp_send exited $rc: $out" if $rc != 0 || !@outs;
    return (\@outs, $dir);
}

END {
    local $?;
    $_->stop for @running;
}

1;
