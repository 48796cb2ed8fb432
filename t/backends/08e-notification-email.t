# The notification service's email channel (docs/notification-email.md)
# against a real SMTP server started here (t/smtp/server.py on Debian's
# python3-aiosmtpd), driven by build/ntf/smtp_send, which runs the
# channel on a libevent loop as the service does and writes the message
# it built for each delivery, so that what the server received is
# compared byte by byte with it, then read by Python's email package.
#
# Checked: the message (headers, RFC 2047 subject and names, RFC 2231
# filename, multipart/mixed + alternative, quoted-printable, base64 in
# 76 columns, CRLF only, no line over 998, attachments decoded equal);
# text only and html only; STARTTLS (required, offered or not), implicit
# TLS, an untrusted certificate; AUTH PLAIN and LOGIN, a wrong password
# (535: fail); 451 on RCPT (retry), 550 (fail), 554 to DATA (fail), 552
# over the server's size (fail); a refused connection (retry); a large
# binary attachment; several deliveries over a small smtp_concurrency;
# header injection (CR, LF, NUL) and malformed addresses refused by the
# checks and by the builder, nothing sent; the configuration's refusals.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;

use Digest::SHA qw(sha256_hex);
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

use Smtp;

plan skip_all => Smtp::binary() . ' is not built (make ntf-mail-test)'
    unless -x Smtp::binary();
plan skip_all => 'python3-aiosmtpd is missing' unless Smtp::available();

my $FROM = 'Tollgate Billing <billing@tollgate.test>';

# the configuration for a server
sub env_for {
    my ($srv, %more) = @_;
    return { SMTP_URL => $srv->url, SMTP_FROM => $FROM,
             SMTP_TLS => $srv->{mode} eq 'starttls' ? 'required' : 'off',
             SMTP_TIMEOUT => '10s', %more };
}

# every line ends in CRLF and holds at most 998 octets
sub well_formed {
    my ($eml) = @_;
    return 0 unless $eml =~ /\r\n\z/;
    for my $l (split /\r\n/, $eml) {
        return 0 if $l =~ /[\r\n]/ || length $l > 998;
    }
    return 1;
}

sub pw_file {
    my ($pw, $mode) = @_;
    my $f = Smtp::tmp() . "/pw" . int(rand(1e9));
    open my $o, '>', $f or die $!;
    print $o "$pw\n";
    close $o;
    chmod $mode // 0600, $f;
    return $f;
}

my $binary = join '', map { chr(($_ * 7 + 3) % 256) } 0 .. 4095;
my $pki = Smtp::certs();

my $full = {
    to => ['ops@example.com',
           { email => 'zoe@example.org', name => "Zo\x{eb} \x{c5}gren" },
           { email => 'john.doe@example.net', name => 'Doe, John' },
           { email => 'plain@example.com', name => 'Plain Name' }],
    subject => "Votre facture n\x{b0} 42 \x{2014} pay\x{e9}e \x{2713} "
        . "and a subject long enough to need several encoded words",
    text => "Bonjour Zo\x{eb},\n\nYour invoice = 42 EUR.  \n"
        . ".a line starting with a dot\n" . ('x' x 200) . "\nend",
    html => "<p>Bonjour <b>Zo\x{eb}</b></p>\n<p>" . ('y' x 120) . "</p>",
    attachments => [
        { filename => "rapport \x{e9}t\x{e9} 2026.bin",
          content_type => 'application/octet-stream',
          content => encode_base64($binary, '') },
        { filename => 'notes.txt', content_type => 'text/plain',
          content => encode_base64("a\nb\n", "\n") },
    ],
};

# ---- the message, byte by byte, over plain SMTP ------------------------
{
    my $srv = Smtp::start();
    my ($outs, $dir) = Smtp::send(env => env_for($srv), payload => $full,
                                  id => 'ntf_01full');
    is($outs->[0]{result}, 'ok', 'delivered') or diag explain $outs;
    is($outs->[0]{status}, 250, '250 after DATA');

    my @m = $srv->messages;
    is(scalar @m, 1, 'one message received');
    my $built = Smtp::slurp("$dir/ntf_01full.0.eml");
    ok($m[0]{eml} eq $built, 'received byte for byte as built');
    ok(well_formed($m[0]{eml}), 'CRLF lines of at most 998 octets');
    is($m[0]{meta}{mail_from}, 'billing@tollgate.test', 'MAIL FROM');
    is_deeply($m[0]{meta}{rcpt_tos},
              ['ops@example.com', 'zoe@example.org',
               'john.doe@example.net', 'plain@example.com'], 'RCPT TO');

    my $eml = $m[0]{eml};
    like($eml, qr/^Date: Tue, 14 Nov 2023 22:13:20 \+0000\r\n/,
         'Date (RFC 5322)');
    like($eml, qr/\r\nMessage-ID: <ntf_01full\.0\@tollgate\.test>\r\n/,
         'Message-ID <delivery id@from domain>');
    like($eml, qr/\r\nSubject: =\?UTF-8\?B\?[A-Za-z0-9+\/=]+\?=\r\n /,
         'the subject in encoded words, folded');
    my @words = $eml =~ /(=\?UTF-8\?B\?[^?]*\?=)/g;
    ok(@words > 2 && !grep({ length $_ > 75 } @words),
       'encoded words of at most 75 characters');
    like($eml, qr/\r\n Plain Name <plain\@example\.com>/, 'a plain name');
    like($eml, qr/filename\*=UTF-8''rapport%20%C3%A9t%C3%A9%202026\.bin/,
         'RFC 2231 filename');
    my ($b64) = $eml =~ /\r\n\r\n([A-Za-z0-9+\/=\r\n]+)\r\n--=_tg0_/;
    ok(defined $b64 && !grep({ length $_ > 76 } split /\r\n/, $b64),
       'base64 in lines of 76');

    my $p = Smtp::parse($m[0]{file});
    is_deeply($p->{defects}, [], 'Python finds no defect');
    is($p->{subject}, $full->{subject}, 'subject decoded equal');
    is_deeply($p->{to},
              [['', 'ops@example.com'],
               ["Zo\x{eb} \x{c5}gren", 'zoe@example.org'],
               ['Doe, John', 'john.doe@example.net'],
               ['Plain Name', 'plain@example.com']], 'To decoded equal');
    is($p->{from}, $FROM, 'From');
    is_deeply($p->{types},
              ['multipart/mixed', 'multipart/alternative', 'text/plain',
               'text/html', 'application/octet-stream', 'text/plain'],
              'multipart structure');
    (my $text = $full->{text}) =~ s/\n/\r\n/g;
    is($p->{text}, $text, 'text decoded equal (line ends CRLF)');
    is($p->{html}, $full->{html} =~ s/\n/\r\n/gr, 'html decoded equal');
    is($p->{attachments}[0]{filename}, "rapport \x{e9}t\x{e9} 2026.bin",
       'non-ASCII filename decoded');
    is($p->{attachments}[0]{sha256}, sha256_hex($binary),
       'binary attachment decoded equal');
    is($p->{attachments}[1]{filename}, 'notes.txt', 'ASCII filename');
    is($p->{attachments}[1]{sha256}, sha256_hex("a\nb\n"),
       'base64 given with line breaks decoded equal');
    $srv->stop;
}

# ---- text only, html only ----------------------------------------------
{
    my $srv = Smtp::start();
    my ($o1) = Smtp::send(env => env_for($srv), id => 'ntf_02t',
        payload => { to => ['a@example.com'], subject => 'Plain subject',
                     text => 'only text' });
    my ($o2) = Smtp::send(env => env_for($srv), id => 'ntf_02h',
        payload => { to => ['a@example.com'], html => '<i>only</i>' });
    is($o1->[0]{result} . $o2->[0]{result}, 'okok', 'both delivered');
    my @m = $srv->messages;
    like($m[0]{eml}, qr/\r\nSubject: Plain subject\r\n/,
         'a short ASCII subject as is');
    is_deeply(Smtp::parse($m[0]{file})->{types}, ['text/plain'],
              'text only: text/plain');
    unlike($m[1]{eml}, qr/\r\nSubject:/, 'no subject: no header');
    is_deeply(Smtp::parse($m[1]{file})->{types}, ['text/html'],
              'html only: text/html');
    $srv->stop;
}

# ---- TLS -----------------------------------------------------------------
my $small = { to => ['a@example.com'], subject => 'tls', text => 'hi' };
{
    my $srv = Smtp::start(mode => 'starttls', pki => $pki,
                          args => ['--require-starttls']);
    my ($o, $dir) = Smtp::send(env => env_for($srv, SMTP_CA => $pki->{ca}),
                               payload => $small, id => 'ntf_03');
    is($o->[0]{result}, 'ok', 'STARTTLS required: delivered');
    my @m = $srv->messages;
    ok($m[0]{meta}{tls}, 'the server saw TLS');
    ok($m[0]{eml} eq Smtp::slurp("$dir/ntf_03.0.eml"), 'byte for byte');

    ($o) = Smtp::send(env => env_for($srv), payload => $small);
    is($o->[0]{result}, 'retry', 'a certificate not trusted: retry');
    like($o->[0]{error}, qr/certificate|SSL|verif/i, 'the error says why');
    is(scalar $srv->messages, 1, 'nothing sent without verification');
    $srv->stop;
}
{
    my $srv = Smtp::start();
    my ($o) = Smtp::send(env => env_for($srv, SMTP_TLS => 'required',
                                        SMTP_CA => $pki->{ca}),
                         payload => $small);
    is($o->[0]{result}, 'retry', 'STARTTLS required, not offered: retry');
    is(scalar $srv->messages, 0, 'nothing sent in clear');

    ($o) = Smtp::send(env => env_for($srv, SMTP_TLS => 'try'),
                      payload => $small);
    is($o->[0]{result}, 'ok', 'smtp_tls try, not offered: in clear');
    $srv->stop;
}
{
    my $srv = Smtp::start(mode => 'implicit', pki => $pki);
    my ($o, $dir) = Smtp::send(env => env_for($srv, SMTP_CA => $pki->{ca}),
                               payload => $full, id => 'ntf_04');
    is($o->[0]{result}, 'ok', 'implicit TLS (smtps://): delivered');
    my @m = $srv->messages;
    ok($m[0]{meta}{tls}, 'over TLS');
    ok($m[0]{eml} eq Smtp::slurp("$dir/ntf_04.0.eml"), 'byte for byte');
    $srv->stop;
}

# ---- AUTH ------------------------------------------------------------------
for my $mech (qw(PLAIN LOGIN)) {
    my $srv = Smtp::start(mode => 'starttls', pki => $pki,
        args => ['--require-starttls', '--auth', 'mailer:s3cret p@ss',
                 '--mech', $mech]);
    my %env = (SMTP_CA => $pki->{ca}, SMTP_USER => 'mailer');
    my ($o) = Smtp::send(env => env_for($srv, %env,
                             SMTP_PASSWORD_FILE => pw_file('s3cret p@ss')),
                         payload => $small);
    is($o->[0]{result}, 'ok', "AUTH $mech: delivered");
    is(($srv->messages)[0]{meta}{auth}, 'mailer', 'as the user');
    is(($srv->auth_log)[0], "$mech mailer ok", "with $mech");

    ($o) = Smtp::send(env => env_for($srv, %env,
                          SMTP_PASSWORD_FILE => pw_file('wrong')),
                      payload => $small);
    is($o->[0]{result}, 'fail', "AUTH $mech, a wrong password: fail")
        or diag explain $o;
    is($o->[0]{status}, 535, 'status 535');
    is(scalar $srv->messages, 1, 'nothing more sent');
    $srv->stop;
}
{
    my $srv = Smtp::start(mode => 'implicit', pki => $pki,
                          args => ['--auth', 'u:p']);
    my ($o) = Smtp::send(env => env_for($srv, SMTP_CA => $pki->{ca},
                             SMTP_USER => 'u',
                             SMTP_PASSWORD_FILE => pw_file('p')),
                         payload => $small);
    is($o->[0]{result}, 'ok', 'AUTH over implicit TLS');
    $srv->stop;
}

# ---- SMTP replies ----------------------------------------------------------
{
    my $srv = Smtp::start(args => [
        '--reply', 'later@example.com=451 4.3.0 try again later',
        '--reply', 'nobody@example.com=550 5.1.1 no such user']);
    my ($o) = Smtp::send(env => env_for($srv), payload =>
        { to => ['ok@example.com', 'later@example.com'], text => 'x' });
    is($o->[0]{result}, 'retry', '451 to RCPT: retry');
    is($o->[0]{status}, 451, 'status 451');
    ($o) = Smtp::send(env => env_for($srv), payload =>
        { to => ['nobody@example.com'], text => 'x' });
    is($o->[0]{result}, 'fail', '550 to RCPT: fail');
    is($o->[0]{status}, 550, 'status 550');
    like($o->[0]{error}, qr/550|RCPT/, 'error text from curl');
    is(scalar $srv->messages, 0, 'no partial send');
    $srv->stop;
}
{
    my $srv = Smtp::start(args => ['--data-reply',
                                   '554 5.7.1 message refused']);
    my ($o) = Smtp::send(env => env_for($srv), payload => $small);
    is($o->[0]{result}, 'fail', '554 to DATA: fail');
    $srv->stop;

    $srv = Smtp::start(args => ['--data-reply',
                                '421 4.3.2 service shutting down']);
    ($o) = Smtp::send(env => env_for($srv), payload => $small);
    is($o->[0]{result}, 'retry', '421 to DATA: retry');
    is($o->[0]{status}, 421, 'status 421');
    $srv->stop;

    $srv = Smtp::start(args => ['--size', '2000']);
    ($o) = Smtp::send(env => env_for($srv), payload => $full);
    is($o->[0]{result}, 'fail', 'over the server\'s SIZE: fail');
    is($o->[0]{status}, 552, 'status 552');
    my $port = $srv->port;
    $srv->stop;

    ($o) = Smtp::send(env => { SMTP_URL => "smtp://127.0.0.1:$port",
                               SMTP_FROM => $FROM, SMTP_TLS => 'off' },
                      payload => $small);
    is($o->[0]{result}, 'retry', 'connection refused: retry');
}

# ---- large attachment, concurrency ------------------------------------------
{
    my $srv = Smtp::start();
    my $big = join '', map { pack 'N', $_ * 2654435761 % 4294967296 }
                           1 .. 750_000;
    my ($o, $dir) = Smtp::send(env => env_for($srv), id => 'ntf_05',
        payload => { to => ['r@example.com'], subject => 'report',
                     text => 'attached',
                     attachments => [{ filename => 'report.bin',
                                       content_type => 'application/zip',
                                       content => encode_base64($big, '') }]
                   });
    is($o->[0]{result}, 'ok', 'a 3 MB attachment delivered');
    my @m = $srv->messages;
    ok($m[0]{eml} eq Smtp::slurp("$dir/ntf_05.0.eml"), 'byte for byte');
    is(Smtp::parse($m[0]{file})->{attachments}[0]{sha256}, sha256_hex($big),
       'decoded equal');

    $srv->stop;

    # DATA answered after 0.3 s: the transactions overlap as far as the
    # limit lets them
    $srv = Smtp::start(args => ['--delay', '0.3']);
    ($o, $dir) = Smtp::send(env => env_for($srv, SMTP_CONCURRENCY => 2),
                            payload => $full, id => 'ntf_06', n => 7);
    is(scalar(grep { $_->{result} eq 'ok' } @$o), 7,
       '7 deliveries over smtp_concurrency 2: all delivered');
    @m = $srv->messages;
    is(scalar @m, 7, 'all received');
    my %built = map { Smtp::slurp("$dir/ntf_06.$_.eml") => 1 } 0 .. 6;
    is(scalar(grep { $built{$_->{eml}} } @m), 7, 'each one as built');
    is(Smtp::slurp($srv->dir . '/maxconn'), "2\n",
       'never more than 2 connections at once');
    $srv->stop;
}

# ---- a server that never answers: the timeout ---------------------------
{
    my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my ($o) = Smtp::send(env => { SMTP_URL => 'smtp://127.0.0.1:'
                                      . $l->sockport,
                                  SMTP_FROM => $FROM, SMTP_TLS => 'off',
                                  SMTP_TIMEOUT => '500ms' },
                         payload => $small);
    is($o->[0]{result}, 'retry', 'no answer within smtp_timeout: retry');
    like($o->[0]{error}, qr/timed out/i, 'timed out');
}

# ---- random payloads: built well-formed, read back equal -------------------
{
    my $dir = Smtp::tmp() . '/props';
    mkdir $dir;
    my ($out, $rc) = Smtp::driver(env => { SMTP_URL => 'smtp://h:25',
                                           SMTP_FROM => $FROM },
                                  args => ['props', 2000, 7, $dir]);
    is($rc, 0, 'random payloads: every message built is 7-bit CRLF text, '
       . 'lines <= 998, known header fields only') or diag $out;
    my ($built, $refused) = $out =~ /built=(\d+) refused=(\d+)/;
    ok($built > 500 && $refused > 500, "both built ($built) and refused "
       . "($refused)");

    my $json = JSON::PP->new->utf8;
    my $same = 0;
    my @eml = sort glob "$dir/*.eml";
    for my $f (@eml) {
        (my $jf = $f) =~ s/\.eml$/.json/;
        my $in = $json->decode(Smtp::slurp($jf));
        my $p = Smtp::parse($f);
        my $crlf = sub { defined $_[0] ? $_[0] =~ s/\r\n|\r|\n/\r\n/gr
                                       : undef };
        my %want = (
            subject => (defined $in->{subject} && length $in->{subject})
                       ? $in->{subject} : undef,
            to => [ map { ref $_ ? [ $_->{name} // '', $_->{email} ]
                                 : [ '', $_ ] } @{ $in->{to} } ],
            text => $crlf->($in->{text}),
            html => $crlf->($in->{html}),

            att => [ map { [ $_->{filename},
                             sha256_hex(decode_base64($_->{content})) ] }
                     @{ $in->{attachments} || [] } ],
            defects => [],
        );
        # a text alone in the message ends with the message's CRLF
        if (!@{ $in->{attachments} || [] }
            && !(defined $in->{text} && defined $in->{html}))
        {
            for my $k (qw(text html)) {
                $want{$k} .= "\r\n"
                    if defined $want{$k} && $want{$k} !~ /\r\n\z/;
            }
        }
        my %got = (subject => $p->{subject}, to => $p->{to},
                   text => $p->{text}, html => $p->{html},
                   att => [ map { [ $_->{filename}, $_->{sha256} ] }
                            @{ $p->{attachments} } ],
                   defects => $p->{defects});
        if (is_deeply(\%got, \%want, "Python reads $f as written")) {
            $same++;
        }
    }
    ok(@eml >= 40, 'random messages read back by Python: ' . scalar @eml);
}

# ---- refusals: checks, builder -------------------------------------------
my @bad = (
    [ { to => ['a@example.com'], subject => "Hi\r\nBcc: x\@evil.test",
        text => 'x' }, '/subject', 'CR LF in the subject' ],
    [ { to => ['a@example.com'], subject => "Hi\nBcc: x\@evil.test",
        text => 'x' }, '/subject', 'LF in the subject' ],
    [ '{"to":["a@example.com"],"subject":"a\u0000b","text":"x"}',
      '/subject', 'NUL in the subject' ],
    [ { to => [{ email => 'a@example.com', name => "A\r\nBcc: e\@x.test" }],
        text => 'x' }, '/recipients/0/name', 'CR LF in a name' ],
    [ { to => ["a\@example.com\r\nDATA"], text => 'x' }, '/recipients/0',
      'CR LF in an address' ],
    [ { to => ['a@example.com', 'a@example.com>,<b@evil.test'],
        text => 'x' }, '/recipients/1', 'angle brackets in an address' ],
    [ { to => ['no-at-sign'], text => 'x' }, '/recipients/0', 'no @' ],
    [ { to => ['a@@example.com'], text => 'x' }, '/recipients/0', 'two @' ],
    [ { to => ['.a@example.com'], text => 'x' }, '/recipients/0',
      'a leading dot' ],
    [ { to => ['a..b@example.com'], text => 'x' }, '/recipients/0',
      'two dots' ],
    [ { to => ['a@-example.com'], text => 'x' }, '/recipients/0',
      'a label starting with -' ],
    [ { to => ['a@[127.0.0.1]'], text => 'x' }, '/recipients/0',
      'an address literal' ],
    [ { to => ['"q"@example.com'], text => 'x' }, '/recipients/0',
      'a quoted local part' ],
    [ { to => ["z\x{f6}e\@example.com"], text => 'x' }, '/recipients/0',
      'a non-ASCII address' ],
    [ { to => [('a' x 65) . '@example.com'], text => 'x' }, '/recipients/0',
      'a local part over 64' ],
    [ { to => [], text => 'x' }, '/recipients', 'no recipient' ],
    [ { to => [map { "u$_\@example.com" } 1 .. 101], text => 'x' },
      '/recipients', '101 recipients' ],
    [ { to => ['a@example.com'] }, '/text', 'neither text nor html' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => "a\r\nContent-Type: text/html",
                          content_type => 'text/plain', content => 'eA==' }] },
      '/attachments/0/filename', 'CR LF in a filename' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => '../etc/passwd',
                          content_type => 'text/plain', content => 'eA==' }] },
      '/attachments/0/filename', 'a slash in a filename' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => ' a.txt', content => 'eA==' }] },
      '/attachments/0/filename', 'a filename starting with a space' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => 'a.txt',
                          content_type => "text/plain\r\nX-Evil: 1",
                          content => 'eA==' }] },
      '/attachments/0/content_type', 'CR LF in a content type' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => 'a.txt',
                          content_type => 'text/plain; charset=x',
                          content => 'eA==' }] },
      '/attachments/0/content_type', 'parameters in a content type' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => 'a.txt', content => 'eA=' }] },
      '/attachments/0/content', 'base64 of a wrong length' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [{ filename => 'a.txt', content => 'e=A=' }] },
      '/attachments/0/content', 'padding inside base64' ],
    [ { to => ['a@example.com'], text => 'x',
        attachments => [map { { filename => "f$_", content => '' } } 0 .. 10]
      }, '/attachments', '11 attachments' ],
    [ { to => ['a@example.com'], subject => 'x' x 999, text => 'x' },
      '/subject', 'a subject over 998 bytes' ],
);

{
    my $srv = Smtp::start();
    for my $b (@bad) {
        my ($payload, $ptr, $what) = @$b;
        my $f = Smtp::payload_file($payload);
        my ($out, $rc) = Smtp::driver(env => env_for($srv),
                                      args => ['check', $f]);
        like($out, qr/^refused \Q$ptr\E: /, "check refuses $what ($ptr)");
        ($out) = Smtp::driver(env => env_for($srv),
                              args => ['build', $f, 'ntf_07']);
        like($out, qr/^refused: malformed email/, "the builder too");
        my ($o) = Smtp::send(env => env_for($srv), payload => $payload);
        is($o->[0]{result}, 'fail', 'the channel fails it');
    }
    is(scalar $srv->messages, 0, 'nothing of it reached the server');

    my $f = Smtp::payload_file({ to => ['a@example.com'], text => 'x' x 800,
        attachments => [{ filename => 'a',
                          content => encode_base64('x' x 600, '') }] });
    my ($out) = Smtp::driver(env => env_for($srv, EMAIL_MAX => '1k'),
                             args => ['check', $f]);
    like($out, qr/^refused : .*email_max/, 'over email_max refused');
    ($out) = Smtp::driver(env => env_for($srv, EMAIL_MAX => '2k'),
                          args => ['check', $f]);
    is($out, "ok\n", 'under email_max accepted');
    $srv->stop;
}

# ---- the configuration --------------------------------------------------------
{
    my @cases = (
        [ { SMTP_URL => 'http://127.0.0.1:25', SMTP_FROM => $FROM },
          qr/smtp_url/, 'a URL not smtp(s)://' ],
        [ { SMTP_URL => 'smtp://u:p@127.0.0.1:25', SMTP_FROM => $FROM },
          qr/smtp_url/, 'a password in the URL' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25' }, qr/smtp_from/,
          'smtp_from missing' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25',
            SMTP_FROM => "x <a\@b.test>\r\nBcc: c\@d" }, qr/smtp_from/,
          'smtp_from with CR LF' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25', SMTP_FROM => $FROM,
            SMTP_USER => 'u', SMTP_PASSWORD_FILE => pw_file('p', 0644) },
          qr/smtp_password_file/, 'a password file others may read' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25', SMTP_FROM => $FROM,
            SMTP_TLS => 'try', SMTP_USER => 'u',
            SMTP_PASSWORD_FILE => pw_file('p') },
          qr/smtp_user/, 'AUTH without sure TLS' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25', SMTP_FROM => $FROM,
            SMTP_USER => 'u' }, qr/together/, 'a user without password' ],
        [ { SMTP_URL => 'smtp://127.0.0.1:25', SMTP_FROM => $FROM,
            SMTP_TLS => 'maybe' }, qr/smtp_tls|SMTP_TLS/i, 'smtp_tls maybe' ],
    );
    for my $c (@cases) {
        my ($out, $rc) = Smtp::driver(env => $c->[0], args => ['config']);
        is($rc, 2, "refused: $c->[2]");
        like($out, $c->[1], 'naming the key');
    }
    my ($out, $rc) = Smtp::driver(env => { SMTP_URL => 'smtps://h:465',
        SMTP_FROM => 'a@b.test', SMTP_USER => 'u',
        SMTP_PASSWORD_FILE => pw_file('p') }, args => ['config']);
    is($rc, 0, 'smtps:// with AUTH accepted');

    my $f = Smtp::payload_file($small);
    my ($o) = Smtp::send(env => {}, payload => $small);
    is($o->[0]{result}, 'fail', 'no smtp_url: fail');
    like($o->[0]{error}, qr/not configured/, 'email is not configured');
}

done_testing();
