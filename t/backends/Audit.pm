package Audit;

# Helpers for the audit service's tests (t/backends/040-audit-*.t): make
# a signer key with `audit keygen`, start build/backends/audit on port 0
# with its configuration as TOLLGATE_AUDIT_* variables, find its port in
# its "listening" log line, talk to it over HTTP and to Redis over RESP,
# and verify RFC 9162 proofs and C2SP checkpoints independently of the
# service's C code (Digest::SHA, and openssl for Ed25519).
#
#     my ($keyfile, $vkey) = Audit::keygen('audit.test/log');
#     my $svc = Audit::start(dir => $dir, key => $keyfile,
#                            env => { REDIS => $redis->address });
#     my ($status, $json) = Audit::post($svc, '/v1/audit/events', [...]);
#     Audit::kill9($svc);  Audit::stop($svc);
#
# TEST_AUDIT_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX ();

use Service;

our $BIN = $ENV{TEST_AUDIT_BINARY}
    // "$FindBin::Bin/../../build/backends/audit";
our $TMP = tempdir('tollgate-audit-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical;

my $n = 0;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

# the process, log and RESP helpers every service's tests share
*slurp = \&Service::slurp;
*log_lines = \&Service::log_lines;
*wait_exit = \&Service::wait_exit;
*stop = \&Service::stop;
*kill9 = \&Service::kill9;
*resp_connect = \&Service::resp_connect;
*resp_encode = \&Service::resp_encode;
*resp_read = \&Service::resp_read;
*resp_cmd = \&Service::resp_cmd;

# keygen($name): ($file, $verifier_key_text)
sub keygen {
    my ($name) = @_;
    my $file = "$TMP/key" . ++$n;
    my $out = `'$BIN' keygen '$name' '$file'`;
    croak "keygen failed" if $?;
    chomp $out;
    return ($file, $out);
}

# run(@args): the binary's output (stdout and stderr) and exit code
sub run {
    my (@args) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec $BIN, @args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# start(dir => D, key => F, env => {KEY => v}, wait => 1)
sub start {
    my (%opt) = @_;
    return Service::start(
        name => 'audit', bin => $BIN, prefix => 'TOLLGATE_AUDIT_',
        log => "$TMP/audit" . ++$n . '.log',
        env => { LISTEN => '127.0.0.1:0', DATA_DIR => $opt{dir},
                 KEY_FILE => $opt{key}, REDIS_RETRY => '1s',
                 STREAM_BLOCK => '100ms', %{ $opt{env} || {} } },
        wait => $opt{wait});
}

sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

# get($svc, $path): (status, decoded JSON or raw text, response)
sub get {
    my ($svc, $path) = @_;
    my $r = $http->get(url($svc, $path));
    my $body = ($r->{headers}{'content-type'} // '') =~ /json/
        ? eval { JSON::PP::decode_json($r->{content}) } : $r->{content};
    return ($r->{status}, $body, $r);
}

# post($svc, $path, $data): $data is encoded unless it is a string
sub post {
    my ($svc, $path, $data) = @_;
    my $content = ref $data ? $JSON->encode($data) : ($data // '');
    my $r = $http->request('POST', url($svc, $path),
                           { content => $content,
                             headers => { 'Content-Type' =>
                                          'application/json' } });
    my $body = ($r->{headers}{'content-type'} // '') =~ /json/
        ? eval { JSON::PP::decode_json($r->{content}) } : $r->{content};
    return ($r->{status}, $body, $r);
}

# every record of the log, through the query API's pages
sub all_records {
    my ($svc, $query) = @_;
    my (@recs, $cursor);
    $query //= '';
    for (1 .. 100000) {
        my $q = "/v1/audit/records?limit=1000$query"
                . (defined $cursor ? "&cursor=$cursor" : '');
        my ($st, $b) = get($svc, $q);
        croak "query failed: $st" unless $st == 200;
        push @recs, @{ $b->{records} };
        $cursor = $b->{next};
        last unless defined $cursor;
    }
    return @recs;
}

sub event {
    my ($id, %more) = @_;
    return { id => $id, time => 1700000000000 + length($id), actor => 'c1',
             action => 'GET', resource => '/api/x', status => 200,
             source => 'gateway', %more };
}

# ---- RESP, for XADD pipelines without a redis-cli per command ----------

# xadd_events($port, $stream, @events): the entry ids
sub xadd_events {
    my ($port, $stream, @events) = @_;
    my $s = resp_connect($port);
    print $s join '', map {
        resp_encode('XADD', $stream, '*', 'event',
                    ref $_ ? $JSON->encode($_) : $_)
    } @events;
    my @ids = map { resp_read($s) } @events;
    close $s;
    return @ids;
}

# ---- RFC 9162 verification, independent of lib/merkle ------------------

sub leaf_hash { sha256("\x00" . $_[0]) }
sub node_hash { sha256("\x01" . $_[0] . $_[1]) }

# RFC 9162 2.1.3.2
sub verify_inclusion {
    my ($index, $size, $leaf, $proof, $root) = @_;
    return 0 if $index >= $size;
    my ($fn, $sn, $r) = ($index, $size - 1, $leaf);
    for my $p (@$proof) {
        return 0 if $sn == 0;
        if (($fn & 1) || $fn == $sn) {
            $r = node_hash($p, $r);
            if (!($fn & 1)) {
                while (!($fn & 1) && $fn != 0) { $fn >>= 1; $sn >>= 1 }
            }
        } else {
            $r = node_hash($r, $p);
        }
        $fn >>= 1;
        $sn >>= 1;
    }
    return $sn == 0 && $r eq $root;
}

# RFC 9162 2.1.4.2
sub verify_consistency {
    my ($first, $second, $root1, $root2, $proof) = @_;
    my @c = @$proof;
    return 0 if $first == 0 || $first > $second;
    return (!@c && $root1 eq $root2) if $first == $second;
    return 0 unless @c;
    unshift @c, $root1 if ($first & ($first - 1)) == 0;
    my ($fn, $sn) = ($first - 1, $second - 1);
    while ($fn & 1) { $fn >>= 1; $sn >>= 1 }
    my ($fr, $sr) = ($c[0], $c[0]);
    for my $c (@c[1 .. $#c]) {
        return 0 if $sn == 0;
        if (($fn & 1) || $fn == $sn) {
            $fr = node_hash($c, $fr);
            $sr = node_hash($c, $sr);
            if (!($fn & 1)) {
                while (!($fn & 1) && $fn != 0) { $fn >>= 1; $sn >>= 1 }
            }
        } else {
            $sr = node_hash($sr, $c);
        }
        $fn >>= 1;
        $sn >>= 1;
    }
    return $fr eq $root1 && $sr eq $root2 && $sn == 0;
}

# verify_checkpoint($note, $vkey): (size, root bytes) when the note's
# Ed25519 signature by the key verifies (with the openssl command), else
# an empty list.  The key text is name+id+base64(0x01 || public key).
sub verify_checkpoint {
    my ($note, $vkey) = @_;
    my ($name, $id, $kb) = $vkey =~ /^(.+)\+([0-9a-f]{8})\+(\S+)$/ or return;
    my $kbytes = decode_base64($kb);
    return unless length($kbytes) == 33 && substr($kbytes, 0, 1) eq "\x01";
    my $pub = substr($kbytes, 1);
    my $kid = substr(sha256($name . "\x0A\x01" . $pub), 0, 4);
    return unless unpack('H8', $kid) eq $id;

    my ($text, $sigs) = $note =~ /\A(.*?\n)\n(.*)\z/s or return;
    my $dash = "\xe2\x80\x94";
    my ($sigb64) = $sigs =~ /^\Q$dash\E \Q$name\E (\S+)$/m or return;
    my $sig = decode_base64($sigb64);
    return unless length($sig) == 68 && substr($sig, 0, 4) eq $kid;

    my $d = tempdir(DIR => $TMP);
    my $der = pack('H*', '302a300506032b6570032100') . $pub;
    open my $f, '>', "$d/pub.pem" or croak $!;
    print $f "-----BEGIN PUBLIC KEY-----\n", encode_base64($der),
             "-----END PUBLIC KEY-----\n";
    close $f;
    open $f, '>:raw', "$d/msg" or croak $!;
    print $f $text;
    close $f;
    open $f, '>:raw', "$d/sig" or croak $!;
    print $f substr($sig, 4);
    close $f;
    my $out = `openssl pkeyutl -verify -pubin -inkey '$d/pub.pem' -rawin -in '$d/msg' -sigfile '$d/sig' 2>&1`;
    return unless $? == 0 && $out =~ /Signature Verified Successfully/;

    my ($origin, $size, $root) = split /\n/, $text;
    return unless $origin eq $name;
    return ($size, decode_base64($root));
}

1;
