# Email notifications end to end (docs/notification-email.md): POST
# /v1/notifications with "channel": "email" to the service, whose
# scheduler hands the delivery to the email channel, which sends it over
# STARTTLS to a real SMTP server started here (t/smtp/server.py); GET
# shows the attempts.  Checked: the message as Python's email package
# reads it (non-ASCII subject and names, text + html, a binary
# attachment decoded equal), Message-ID <delivery id@sender's domain>;
# 451 retried on the schedule until the delivery is dead, 550 dead at
# once, each attempt's SMTP status and error shown; header injection and
# malformed addresses answered by a problem+json 4xx naming the member,
# and nothing sent.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;

use Notification;
use Smtp;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (run make backends)'
    unless -x Notification::binary();
plan skip_all => 'python3-aiosmtpd is missing' unless Smtp::available();

my $pki = Smtp::certs();
my $smtp = Smtp::start(mode => 'starttls', pki => $pki,
    args => ['--require-starttls',
             '--reply', 'later@example.com=451 4.3.0 try again later',
             '--reply', 'nobody@example.com=550 5.1.1 no such user']);

my $redis = Tollgate::Redis->start;
my $svc = Notification::start(env => {
    REDIS => $redis->address, SMTP_URL => $smtp->url,
    SMTP_TLS => 'required', SMTP_CA => $pki->{ca},
    SMTP_FROM => 'Billing <billing@tollgate.test>', SMTP_TIMEOUT => '10s' });

my %c1 = ('X-Consumer-ID' => 'c1');
my $UTF8 = JSON::PP->new->utf8->canonical;

sub post {
    my ($body) = @_;
    # UTF-8 JSON of our own: the helper's encoder leaves wide characters
    return Notification::call($svc, 'POST', '/v1/notifications',
        $UTF8->encode({ channel => 'email', %$body }), \%c1);
}

sub get {
    my ($id) = @_;
    my (undef, $b) = Notification::call($svc, 'GET', "/v1/notifications/$id",
                                        undef, \%c1);
    return $b;
}

sub settled {
    my ($id, $state) = @_;
    return Notification::eventually(sub { get($id)->{state} eq $state }, 20);
}

my $binary = join '', map { chr(($_ * 31 + 7) % 256) } 0 .. 9999;
my $subject = "Facture n\x{b0} 42 \x{2014} pay\x{e9}e";

# ---- delivered ---------------------------------------------------------------

my ($st, $b) = post({
    body => { subject => $subject, text => "Bonjour,\nvoici.",
              html => '<p>Bonjour</p>' },
    recipients => ['ops@example.com',
                   { email => 'zoe@example.org',
                     name => "Zo\x{eb} \x{c5}gren" }],
    attachments => [{ filename => "relev\x{e9}.bin",
                      content_type => 'application/octet-stream',
                      content => encode_base64($binary, '') }] });
is($st, 202, 'an email accepted') or diag explain $b;
my $id = $b->{id};
ok(settled($id, 'delivered'), '... delivered');

my @m = $smtp->messages;
is(scalar @m, 1, '... one message received');
like($m[0]{eml}, qr/\r\nMessage-ID: <\Q$id\E\.0\@tollgate\.test>\r\n/,
     '... Message-ID <delivery id@sender domain>');
ok($m[0]{meta}{tls}, '... over STARTTLS');
is_deeply($m[0]{meta}{rcpt_tos}, ['ops@example.com', 'zoe@example.org'],
          '... to both recipients in one transaction');
my $p = Smtp::parse($m[0]{file});
is_deeply($p->{defects}, [], '... Python finds no defect');
is($p->{subject}, $subject, '... the subject decoded equal');
is($p->{to}[1][0], "Zo\x{eb} \x{c5}gren", '... the name decoded equal');
is_deeply($p->{types}, ['multipart/mixed', 'multipart/alternative',
                        'text/plain', 'text/html',
                        'application/octet-stream'], '... its structure');
is($p->{attachments}[0]{sha256}, sha256_hex($binary),
   '... the attachment decoded equal');
is($p->{attachments}[0]{filename}, "relev\x{e9}.bin", '... its filename');

my $g = get($id);
is($g->{attempts}[0]{result}, 'ok', 'GET: the attempt ok');
is($g->{attempts}[0]{status}, 250, '... status 250');

# ---- 451: retried, then dead; 550: dead at once -----------------------------

($st, $b) = post({ body => { subject => 's', text => 't' },
                   recipients => ['later@example.com'] });
is($st, 202, '451 recipient accepted');
my $id451 = $b->{id};

($st, $b) = post({ body => { subject => 's', text => 't' },
                   recipients => ['nobody@example.com'] });
is($st, 202, '550 recipient accepted');
my $id550 = $b->{id};

ok(settled($id550, 'failed'), '550: failed');
$g = get($id550);
is(scalar @{ $g->{attempts} }, 1, '... after one attempt');
is($g->{attempts}[0]{result}, 'fail', '... the attempt failed');
is($g->{attempts}[0]{status}, 550, '... status 550');
like($g->{attempts}[0]{error}, qr/550/, '... the error says 550');
is($g->{deliveries}[0]{state}, 'dead', '... the delivery dead');

ok(settled($id451, 'failed'), '451: failed once the schedule is spent');
$g = get($id451);
is_deeply([ map { $_->{result} } @{ $g->{attempts} } ],
          [ 'retry', 'retry', 'retry' ], '... three attempts, each retry');
is_deeply([ map { $_->{status} } @{ $g->{attempts} } ], [ 451, 451, 451 ],
          '... each 451');

is(scalar $smtp->messages, 1, 'nothing more received');

# ---- refused at accept ----------------------------------------------------------

my @bad = (
    [ { body => { subject => "Hi\r\nBcc: x\@evil.test", text => 't' },
        recipients => ['a@example.com'] }, 'CR LF in the subject' ],
    [ { body => { subject => 's', text => 't' },
        recipients => [{ email => 'a@example.com',
                         name => "A\nBcc: x\@evil.test" }] },
      'LF in a name' ],
    [ { body => { subject => 's', text => 't' },
        recipients => ["a\@example.com\r\nRCPT TO:<x\@evil.test>"] },
      'CR LF in an address' ],
    [ { body => { subject => 's', text => 't' },
        recipients => ['not an address'] }, 'a malformed address' ],
    [ { body => { subject => 's', text => 't' },
        recipients => ['a@example.com'],
        attachments => [{ filename => "x\r\nContent-Type: text/html",
                          content_type => 'text/plain',
                          content => 'eA==' }] }, 'CR LF in a filename' ],
    [ { body => { subject => 's', text => 't' },
        recipients => ['a@example.com'],
        attachments => [{ filename => 'x.txt', content_type => 'text/plain',
                          content => 'not base64!' }] }, 'bad base64' ],
);

for my $c (@bad) {
    my ($body, $what) = @$c;
    my ($st, $b, $h) = post($body);
    ok($st >= 400 && $st < 500, "$what: 4xx") or diag "$st", explain $b;
    like($h->{'content-type'} // '', qr{^application/problem\+json},
         '... problem+json');
    ok(defined $b->{errors}[0]{pointer} || defined $b->{pointer},
       '... naming the member');
}

sleep 0.5;
is(scalar $smtp->messages, 1, 'nothing of it sent');
is_deeply([ map { $_->{message} } Notification::errors($svc) ], [],
          'nothing logged at error');

Notification::stop($svc);
$smtp->stop;

done_testing();
