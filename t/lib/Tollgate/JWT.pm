package Tollgate::JWT;

# Mints JSON Web Signatures for the Test::Nginx suites of the JWT module.
#
# Tests need tokens that no well-behaved library would produce: an "alg"
# of "nOnE", a header with two "alg" members, an HS256 MAC keyed with the
# text of an RSA public key, a segment with padding.  So this module builds
# the compact serialisation by hand: header and payload are given either as
# Perl hashes (encoded as canonical JSON) or as raw JSON text, used byte for
# byte, and the signing algorithm is chosen apart from the header's "alg".
#
# Signatures come from Digest::SHA (HMAC) and from the openssl(1) command
# line (RSA PKCS#1 v1.5, RSA-PSS, ECDSA, Ed25519), so the only
# dependencies are Perl core modules and the openssl binary that the build
# needs anyway.  ECDSA signatures are converted from openssl's DER
# SEQUENCE { r, s } to the fixed-width r || s of RFC 7518, section 3.4.
#
# Keys default to the fixtures of t/data/keys (see its README); a test may
# name any other private key file or secret.
#
# Beside minting: helpers that break tokens (tamper_payload, insert_chars,
# add_padding, truncate_token, token_of_length), public_jwk (a PEM public
# key as a JWK, for JWKS files made on the fly), problem_re (a pattern for
# the gateway's problem+json bodies) and nginx_t (runs "nginx -t" on a
# configuration).  verify_with_openssl checks the minting itself.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);

our @EXPORT_OK = qw(
    jwt sign b64url b64url_decode json_text
    keys_dir data_dir key_file data_file slurp spew now
    segments decode_part with_segment tamper_payload resign
    insert_chars add_padding truncate_token token_of_length
    der_to_jose jose_to_der verify_with_openssl
    problem_re public_jwk public_der nginx_t
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $OPENSSL = $ENV{OPENSSL} || 'openssl';

my $JSON = JSON::PP->new->utf8->canonical;

# algorithm -> [ family, digest bits, default key file, ECDSA part size ]
my %ALG = (
    HS256 => ['HMAC',  256, 'hmac.secret'],
    HS384 => ['HMAC',  384, 'hmac64.secret'],
    HS512 => ['HMAC',  512, 'hmac64.secret'],
    RS256 => ['RSA',   256, 'rsa.key'],
    RS384 => ['RSA',   384, 'rsa.key'],
    RS512 => ['RSA',   512, 'rsa.key'],
    PS256 => ['PSS',   256, 'rsa.key'],
    PS384 => ['PSS',   384, 'rsa.key'],
    PS512 => ['PSS',   512, 'rsa.key'],
    ES256 => ['ECDSA', 256, 'ec256.key', 32],
    ES384 => ['ECDSA', 384, 'ec384.key', 48],
    ES512 => ['ECDSA', 512, 'ec521.key', 66],
    EdDSA => ['EdDSA', 0,   'ed25519.key'],
);


# --- files and paths -------------------------------------------------------

# t/data/keys and t/data/jwt as absolute paths, found from this file's place
# (t/lib/Tollgate/JWT.pm), so tests work from any current directory.
sub _t_dir {
    return abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..'));
}

sub keys_dir { File::Spec->catdir(_t_dir(), 'data', 'keys') }
sub data_dir { File::Spec->catdir(_t_dir(), 'data', 'jwt') }

sub key_file  { File::Spec->catfile(keys_dir(), $_[0]) }
sub data_file { File::Spec->catfile(data_dir(), $_[0]) }

# slurp($path): the file's bytes.
sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or croak "cannot read $path: $!";
    local $/;
    my $data = <$fh>;
    close $fh;
    return defined $data ? $data : '';
}

# spew($path, $bytes[, $mtime]): writes the file (via a rename, so a reader
# sees the old or the new bytes, never half); $mtime sets its time.
sub spew {
    my ($path, $data, $mtime) = @_;
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or croak "cannot write $tmp: $!";
    print {$fh} $data;
    close $fh or croak "cannot write $tmp: $!";
    rename $tmp, $path or croak "cannot rename $tmp: $!";
    utime $mtime, $mtime, $path if defined $mtime;
    return $path;
}

sub now { time }


# --- encodings ----------------------------------------------------------------

# b64url($bytes): base64url without padding (RFC 7515, section 2).
sub b64url {
    my ($bytes) = @_;
    my $s = encode_base64($bytes, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+\z//;
    return $s;
}

# b64url_decode($text): accepts base64url with or without padding.
sub b64url_decode {
    my ($s) = @_;
    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return decode_base64($s);
}

# json_text($ref_or_text): a reference as canonical (sorted keys) UTF-8
# JSON; a plain string is taken as JSON text already and returned as is,
# which is how tests write duplicate members or odd spacing.
sub json_text {
    my ($v) = @_;
    return ref $v ? $JSON->encode($v) : $v;
}


# --- signing --------------------------------------------------------------------

# sign($alg, $input, %opt): the raw signature of $input.
#   secret => bytes      HMAC key (default: the secret file of %ALG)
#   key    => path       private key file (default: the file of %ALG)
# $alg "none" (any case) gives an empty signature.
sub sign {
    my ($alg, $input, %opt) = @_;

    return '' if lc $alg eq 'none';

    my $spec = $ALG{$alg} or croak "unknown algorithm $alg";
    my ($family, $bits, $default, $size) = @$spec;

    if ($family eq 'HMAC') {
        my $secret = defined $opt{secret} ? $opt{secret}
                   : slurp(defined $opt{key} ? $opt{key} : key_file($default));
        return $bits == 256 ? hmac_sha256($input, $secret)
             : $bits == 384 ? hmac_sha384($input, $secret)
             :                hmac_sha512($input, $secret);
    }

    my $key = defined $opt{key} ? $opt{key} : key_file($default);
    -r $key or croak "cannot read key file $key";

    my $dir = tempdir(CLEANUP => 1);
    my $in  = spew("$dir/in", $input);
    my $out = "$dir/sig";
    my @cmd;

    if ($family eq 'EdDSA') {
        @cmd = ($OPENSSL, 'pkeyutl', '-sign', '-rawin', '-inkey', $key,
                '-in', $in, '-out', $out);
    } else {
        @cmd = ($OPENSSL, 'dgst', "-sha$bits", '-sign', $key, '-out', $out);
        if ($family eq 'PSS') {
            push @cmd, '-sigopt', 'rsa_padding_mode:pss',
                       '-sigopt', 'rsa_pss_saltlen:digest';
        }
        push @cmd, $in;
    }

    _run(@cmd);
    my $sig = slurp($out);
    remove_tree($dir);

    $sig = der_to_jose($sig, $size) if $family eq 'ECDSA';
    return $sig;
}

# _run(@cmd): runs a command without a shell, its output discarded; dies
# when it fails.
sub _run {
    my @cmd = @_;
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', File::Spec->devnull;
        open STDERR, '>', File::Spec->devnull;
        exec @cmd or exit 127;
    }
    waitpid $pid, 0;
    croak "@cmd: exit status " . ($? >> 8) if $? != 0;
}

# der_to_jose($der, $size): an ECDSA-Sig-Value (DER SEQUENCE of INTEGER r,
# INTEGER s) as r || s, each left-padded with zeros to $size bytes.
sub der_to_jose {
    my ($der, $size) = @_;
    my $pos = 0;

    my $byte = sub {
        croak 'short DER signature' if $pos >= length $der;
        return ord substr($der, $pos++, 1);
    };
    my $len = sub {
        my $l = $byte->();
        return $l if $l < 0x80;
        my $n = $l & 0x7f;
        $l = 0;
        $l = ($l << 8) | $byte->() for 1 .. $n;
        return $l;
    };

    croak 'DER signature is not a SEQUENCE' if $byte->() != 0x30;
    $len->();

    my $out = '';
    for my $part ('r', 's') {
        croak "DER $part is not an INTEGER" if $byte->() != 0x02;
        my $l = $len->();
        my $v = substr $der, $pos, $l;
        $pos += $l;
        $v =~ s/\A\x00+//;
        croak "DER $part longer than $size bytes" if length $v > $size;
        $out .= ("\x00" x ($size - length $v)) . $v;
    }

    return $out;
}

# jose_to_der($sig): the inverse of der_to_jose, for openssl to verify.
sub jose_to_der {
    my ($sig) = @_;
    my $half = length($sig) / 2;
    my $body = '';

    for my $part (substr($sig, 0, $half), substr($sig, $half)) {
        (my $v = $part) =~ s/\A\x00+//;
        $v = "\x00" if $v eq '';
        $v = "\x00$v" if ord($v) & 0x80;
        $body .= "\x02" . _der_len(length $v) . $v;
    }

    return "\x30" . _der_len(length $body) . $body;
}

sub _der_len {
    my ($l) = @_;
    return chr $l if $l < 0x80;
    return "\x81" . chr $l if $l < 0x100;
    return "\x82" . pack 'n', $l;
}


# --- tokens -----------------------------------------------------------------------

# jwt(%opt): a compact JWS.
#   alg     => 'RS256'     signing algorithm, and the header's "alg" when
#                          the header is a hash without one
#   header  => {...}|text  default { alg => $alg, typ => 'JWT' }
#   payload => {...}|text  default {}
#   kid     => 'id'        added to a hash header
#   sign    => 'HS256'     sign with this algorithm instead (confusion tests)
#   secret  => bytes       HMAC key; key => path: a private key file
#   signature => bytes     use these raw bytes as the signature
sub jwt {
    my (%opt) = @_;

    my $header = exists $opt{header} ? $opt{header} : { typ => 'JWT' };
    my $alg = $opt{alg};

    if (ref $header) {
        $header = { %$header };
        if (defined $alg && !exists $header->{alg}) {
            $header->{alg} = $alg;
        }
        $header->{kid} = $opt{kid} if defined $opt{kid};
        $alg = $header->{alg} if !defined $alg;
    }

    croak 'jwt(): no algorithm' if !defined $alg && !defined $opt{sign};

    my $payload = exists $opt{payload} ? $opt{payload} : {};
    my $input = b64url(json_text($header)) . '.' . b64url(json_text($payload));

    my $sig = defined $opt{signature} ? $opt{signature}
            : sign(defined $opt{sign} ? $opt{sign} : $alg, $input, %opt);

    return "$input." . b64url($sig);
}

# resign($token, %opt): signs the first two segments of $token again, as
# they are (so a test can sign bytes it built by hand).
sub resign {
    my ($token, %opt) = @_;
    my ($h, $p) = segments($token);
    my $alg = defined $opt{sign} ? $opt{sign} : $opt{alg};
    return "$h.$p." . b64url(sign($alg, "$h.$p", %opt));
}


# --- taking tokens apart, breaking them ---------------------------------------

# segments($token): the dot-separated parts (as many as there are).
sub segments { split /\./, $_[0], -1 }

# decode_part($token, $i): the decoded JSON of segment $i (0 or 1).
sub decode_part {
    my ($token, $i) = @_;
    return $JSON->decode(b64url_decode((segments($token))[$i]));
}

# with_segment($token, $i, $text): $token with segment $i replaced by $text
# (already encoded).
sub with_segment {
    my ($token, $i, $text) = @_;
    my @s = segments($token);
    $s[$i] = $text;
    return join '.', @s;
}

# tamper_payload($token, $payload): a new payload (hash or JSON text) under
# the old header and signature.
sub tamper_payload {
    my ($token, $payload) = @_;
    return with_segment($token, 1, b64url(json_text($payload)));
}

# insert_chars($token, $pos, $chars): $chars inserted before offset $pos
# (negative counts from the end).
sub insert_chars {
    my ($token, $pos, $chars) = @_;
    substr($token, $pos, 0) = $chars;
    return $token;
}

# add_padding($token, $i[, $pad]): segment $i with base64 padding appended
# ("=" by default).
sub add_padding {
    my ($token, $i, $pad) = @_;
    my @s = segments($token);
    $s[$i] .= defined $pad ? $pad : '=';
    return join '.', @s;
}

# truncate_token($token, $n): the first $n bytes; a negative $n drops as
# many bytes from the end.
sub truncate_token {
    my ($token, $n) = @_;
    return $n < 0 ? substr($token, 0, length($token) + $n)
                  : substr($token, 0, $n);
}

# token_of_length($len, %opt): a validly signed token of exactly $len
# bytes, made by padding the payload (member "pad") and the header
# (member "x-pad").  %opt as for jwt(); the payload must be a hash.
sub token_of_length {
    my ($len, %opt) = @_;
    my $payload = $opt{payload} || {};
    my $header = $opt{header} || { typ => 'JWT' };

    for my $hpad (0 .. 3) {
        my %h = %$header;
        $h{'x-pad'} = 'h' x $hpad if $hpad;
        my $base = jwt(%opt, header => \%h, payload => $payload);
        my $need = $len - length $base;
        next if $need < 12;
        # each payload byte adds 4/3 of a character: aim near, then step
        for my $n (int($need * 3 / 4) - 12 .. int($need * 3 / 4) + 4) {
            next if $n < 0;
            my $t = jwt(%opt, header => \%h,
                        payload => { %$payload, pad => 'p' x $n });
            return $t if length $t == $len;
        }
    }

    croak "cannot make a token of $len bytes";
}


# public_jwk($pem, %members): the JWK (a hash) of a PEM public key file,
# RSA, EC (P-256, P-384, P-521) or Ed25519, plus %members (kid, use, alg).
sub public_jwk {
    my ($pem, %members) = @_;
    my $der = public_der($pem);
    my $text = _capture($OPENSSL, 'pkey', '-pubin', '-in', $pem,
                        '-text', '-noout');
    my %jwk;

    if ($text =~ /^(?:RSA )?Public-Key: \((\d+) bit/m && $text =~ /Modulus:/) {
        my $mod = _capture($OPENSSL, 'rsa', '-pubin', '-in', $pem,
                           '-modulus', '-noout');
        $mod =~ s/^Modulus=//;
        $mod =~ s/\s+//g;
        %jwk = (kty => 'RSA', n => b64url(pack 'H*', $mod),
                e => b64url("\x01\x00\x01"));
        croak "$pem: exponent other than 65537"
            unless $text =~ /Exponent: 65537/;

    } elsif ($text =~ /NIST CURVE: P-(256|384|521)/) {
        my $size = { 256 => 32, 384 => 48, 521 => 66 }->{$1};
        %jwk = (kty => 'EC', crv => "P-$1",
                x => b64url(substr $der, -2 * $size, $size),
                y => b64url(substr $der, -$size));

    } elsif ($text =~ /ED25519/i) {
        %jwk = (kty => 'OKP', crv => 'Ed25519', x => b64url(substr $der, -32));

    } else {
        croak "$pem: unsupported key type";
    }

    return { %jwk, %members };
}

# public_der($pem): the DER SubjectPublicKeyInfo of a PEM public key file.
sub public_der {
    my ($pem) = @_;
    return _capture($OPENSSL, 'pkey', '-pubin', '-in', $pem,
                    '-outform', 'DER');
}

sub _capture {
    my @cmd = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>', File::Spec->devnull;
        exec @cmd or exit 127;
    }
    binmode $fh;
    local $/;
    my $out = <$fh>;
    close $fh or croak "@cmd: exit status " . ($? >> 8);
    return $out;
}


# --- what the gateway answers -------------------------------------------------

# problem_re($type, $status[, $detail]): a pattern for an RFC 9457 body
# of type urn:tollgate:problem:$type with every member the gateway
# promises, in any order ($detail: the exact detail text, else any).
sub problem_re {
    my ($type, $status, $detail) = @_;
    my $d = defined $detail ? quotemeta $detail : '[^"]*';
    return qr/\A\s*\{
        (?=.*"type"\s*:\s*"urn:tollgate:problem:\Q$type\E")
        (?=.*"title"\s*:\s*"[^"]+")
        (?=.*"status"\s*:\s*$status\s*[,}])
        (?=.*"detail"\s*:\s*"$d")
        (?=.*"request_id"\s*:\s*"[^"]+")
        .*\}\s*\z/sx;
}


# --- nginx -t ----------------------------------------------------------------

# nginx_t($http): runs "nginx -t" on a configuration whose http{} block
# holds $http, with the modules of TEST_NGINX_LOAD_MODULES loaded, in a
# temporary prefix.  Returns (1 when the test passed, nginx's output).
# For directive checks that Test::Nginx cannot express in a block (the
# real runner's "--- must_die" has no equivalent in t/lib).
sub nginx_t {
    my ($http) = @_;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $dir = tempdir(CLEANUP => 1);
    mkdir "$dir/$_" or croak "mkdir $dir/$_: $!" for qw(conf logs tmp);

    my @modules = map { "load_module $_;" } grep { length }
                  split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} || '');
    my $temps = join "\n", map { "    ${_}_temp_path $dir/tmp/$_;" }
                qw(client_body proxy fastcgi uwsgi scgi);

    spew("$dir/conf/nginx.conf", join "\n", @modules,
         "error_log $dir/logs/error.log;", "pid $dir/logs/nginx.pid;",
         'events {}', 'http {', '    access_log off;', $temps, $http, '}',
         '');

    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec $bin, '-t', '-p', "$dir/", '-e', "$dir/logs/error.log",
             '-c', "$dir/conf/nginx.conf" or exit 127;
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return ($? == 0 ? 1 : 0, defined $out ? $out : '');
}


# --- checking the minting itself -------------------------------------------------

# verify_with_openssl($token, $alg, %opt): true when openssl (or
# Digest::SHA for HMAC) accepts the signature.
#   pub => path (public key or certificate), secret => bytes for HMAC
sub verify_with_openssl {
    my ($token, $alg, %opt) = @_;
    my ($h, $p, $s) = segments($token);
    my $input = "$h.$p";
    my $sig = b64url_decode($s);
    my ($family, $bits, undef, $size) = @{ $ALG{$alg} || croak "alg $alg" };

    if ($family eq 'HMAC') {
        return sign($alg, $input, secret => $opt{secret}) eq $sig;
    }

    if ($family eq 'ECDSA') {
        return 0 if length $sig != 2 * $size;
        $sig = jose_to_der($sig);
    }

    my $dir = tempdir(CLEANUP => 1);
    spew("$dir/in", $input);
    spew("$dir/sig", $sig);

    my @cmd;
    if ($family eq 'EdDSA') {
        @cmd = ($OPENSSL, 'pkeyutl', '-verify', '-rawin', '-pubin',
                '-inkey', $opt{pub}, '-in', "$dir/in", '-sigfile', "$dir/sig");
    } else {
        @cmd = ($OPENSSL, 'dgst', "-sha$bits", '-verify', $opt{pub},
                '-signature', "$dir/sig");
        if ($family eq 'PSS') {
            push @cmd, '-sigopt', 'rsa_padding_mode:pss',
                       '-sigopt', 'rsa_pss_saltlen:digest';
        }
        push @cmd, "$dir/in";
    }

    my $ok = eval { _run(@cmd); 1 } ? 1 : 0;
    remove_tree($dir);
    return $ok;
}

1;
