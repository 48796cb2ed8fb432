# The reporting service's delivery (docs/reporting.md, "Delivery")
# against the REAL notification service, not a stand-in: the
# notification service runs with a real SMTP server (t/smtp/server.py,
# STARTTLS) and a webhook receiver on the loopback (allowed), the
# reporting service is pointed at it, with its own address as
# public_url so that the links it writes can be followed here.
#
# Checked: an email delivery reaches the SMTP server with the report
# attached, the attachment (as Python's email package decodes it) equal
# byte for byte to the file the run's link downloads, for a CSV and a
# PDF; a file past attach_max arrives as a link in the text, and that
# link downloads the file (for a caller with reports:read, as the
# gateway passes one); with both services
# on their default sizes (attach_max 5m, the notification service's
# body_max 1m), reports of 1 MB (413) and 3 MB (past twice body_max:
# the connection closed) still reach the mailbox, as the link (they
# were "refused 413" and "failed", no mail, before); a webhook
# delivery reaches the owner's subscription signed (webhook-id,
# webhook-timestamp, webhook-signature, the v1 HMAC verified with the
# subscription's secret) carrying the run and its link, which downloads
# the file; every run's GET shows "delivery": "sent"; nothing logged at
# error by either service.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(hmac_sha256 sha256_hex);
use HTTP::Tiny;
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

use HookReceiver;
use Notification;
use Reporting;
use Smtp;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();
plan skip_all => 'python3-aiosmtpd is missing' unless Smtp::available();

# 90000 rows of about 37 bytes: CSVs of about 1 MB (28000 rows) and 3 MB
my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE t (consumer TEXT, name TEXT, n INTEGER);
INSERT INTO t VALUES ('c1', 'alpha', 1), ('c1', 'beta', 2),
                     ('c2', 'gamma', 3);
CREATE TABLE big (consumer TEXT, i INTEGER, label TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                        WHERE i < 90000)
INSERT INTO big SELECT 'c1', i, printf('row %06d of the large report', i)
    FROM s;
SQL

my $JSON = JSON::PP->new->canonical;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

my $pki = Smtp::certs();
my $smtp = Smtp::start(mode => 'starttls', pki => $pki,
                       args => ['--require-starttls']);
my $rcv = HookReceiver->new;
my $redis = Tollgate::Redis->start;

my $ntf = Notification::start(env => {
    REDIS => $redis->address, SMTP_URL => $smtp->url,
    SMTP_TLS => 'required', SMTP_CA => $pki->{ca},
    SMTP_FROM => 'Reports <reports@tollgate.test>', SMTP_TIMEOUT => '10s' });

# the owner's subscription to the reports' events
my ($st, $sub) = Notification::call($ntf, 'POST', '/v1/subscriptions',
    { url => $rcv->url('/ok/reports'), event_types => ['report.*'] },
    { 'X-Consumer-ID' => 'c1' });
is $st, 201, 'a subscription of c1 to report.*' or diag explain $sub;

# a port of the system's choice, given to the reporting service as its
# listen address and its public_url, so that its links lead back to it
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1)
        or die "port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub reporting {
    my (%env) = @_;
    my $port = free_port();
    return Reporting::start(env => {
        REDIS => $redis->address, SQLITE => $db,
        LISTEN => "127.0.0.1:$port", PUBLIC_URL => "http://127.0.0.1:$port",
        NOTIFICATION => '127.0.0.1:' . $ntf->{port}, %env });
}

my %def = (title => 'Names',
           query => 'SELECT name, n FROM t WHERE consumer = :tenant',
           tenant_param => 'tenant',
           columns => [ { name => 'name', title => 'Name' },
                        { name => 'n', type => 'integer' } ],
           formats => [ qw(csv pdf json) ]);

Reporting::define($redis, 'mail', { %def,
    delivery => { channel => 'email', to => [ 'ops@example.com' ],
                  subject => 'Daily names' } });
Reporting::define($redis, 'hook', { %def,
    delivery => { channel => 'webhook', type => 'report.names' } });
for my $r ([ large => 28000 ], [ huge => 90000 ]) {
    Reporting::define($redis, $r->[0], {
        title => ucfirst $r->[0], tenant_param => 'tenant',
        query => 'SELECT i, label FROM big WHERE consumer = :tenant'
                 . " AND i <= $r->[1] ORDER BY i",
        columns => [ { name => 'i', type => 'integer' },
                     { name => 'label', title => 'Label' } ],
        delivery => { channel => 'email',
                      to => [ "$r->[0]\@example.com" ] } });
}

# the link as given, absolute, fetched as a caller with reports:read
# (what the gateway sets once it took the caller's key): a download
# needs one, the signature alone is not enough
sub fetch {
    my ($link) = @_;
    my $r = $http->get($link, { headers => Reporting::who() });
    return ($r->{status}, $r->{content} // '', $r->{headers});
}

# a run, done, and its "delivery" once it has one
sub delivered {
    my ($svc, $report, $run) = @_;
    my $b;
    Reporting::eventually(sub {
        (undef, $b) = Reporting::call($svc, 'GET',
                                      "/v1/reports/$report/runs/$run",
                                      undef, Reporting::who());
        ref $b && defined $b->{delivery} && $b->{delivery} ne '';
    }, 15);
    return $b;
}

# the n-th message the SMTP server received, once it has
sub message {
    my ($n) = @_;
    Reporting::eventually(sub { $smtp->messages >= $n }, 20);
    my @m = $smtp->messages;
    return $m[$n - 1];
}

my $svc = reporting();
my $nmail = 0;

# ---- email, attached: CSV and PDF ------------------------------------------

for my $format (qw(csv pdf)) {
    my ($s, $b) = Reporting::run($svc, 'mail', { format => $format },
                                 wait => 20);
    is $b->{status}, 'done', "$format: the run is done" or diag explain $b;
    my $run = $b->{run};
    like $b->{download}, qr{^http://127\.0\.0\.1:\d+/v1/downloads/$run\?},
         "$format: its link, absolute";
    my ($ds, $file) = fetch($b->{download});
    is $ds, 200, "$format: the run's file downloaded";
    ok length $file == $b->{bytes}, "$format: $b->{bytes} bytes";

    $b = delivered($svc, 'mail', $run);
    is $b->{delivery}, 'sent', "$format: GET of the run: delivery sent";

    my $m = message(++$nmail);
    ok $m, "$format: a message reached the SMTP server" or next;
    ok $m->{meta}{tls}, "$format: over STARTTLS";
    is_deeply $m->{meta}{rcpt_tos}, [ 'ops@example.com' ],
              "$format: to the delivery's recipient";
    my $p = Smtp::parse($m->{file});
    is_deeply $p->{defects}, [], "$format: Python finds no defect";
    is $p->{subject}, 'Daily names', "$format: the subject";
    like $p->{text}, qr/The report "Names" is attached \(2 rows\)/,
         "$format: the text says attached";
    is scalar @{ $p->{attachments} }, 1, "$format: one attachment";
    my $a = $p->{attachments}[0] // {};
    is $a->{filename}, "mail-$run.$format", "$format: named after the run";
    is $a->{content_type}, $format eq 'csv' ? 'text/csv' : 'application/pdf',
       "$format: its media type";
    is $a->{sha256}, sha256_hex($file),
       "$format: the attachment is the run's file, byte for byte";
    ok decode_base64($a->{base64} // '') eq $file,
       "$format: ... decoded equal";
    like $file, $format eq 'csv' ? qr/^Name,n\r?\nalpha,1\r?\nbeta,2/
                                 : qr/^%PDF-/,
         "$format: and the file is the report";
}

# ---- defaults on both sides: attach_max 5m, the notification service's
# body_max 1m: a file of 1 MB (1.3 MB in base64: 413) and one of 3 MB
# (4 MB: past twice body_max, the connection closed) arrive as the link

for my $c ([ large => 900 * 1024, 'past body_max in base64' ],
           [ huge => 3 * 1024 * 1024, 'past twice body_max in base64' ]) {
    my ($report, $min, $why) = @$c;
    my ($s, $b) = Reporting::run($svc, $report, { format => 'csv' },
                                 wait => 20);
    is $b->{status}, 'done', "$report: the run is done" or diag explain $b;
    my $run = $b->{run};
    ok $b->{bytes} > $min && $b->{bytes} < 5 * 1024 * 1024,
       "$report: $b->{bytes} bytes, within attach_max, $why";
    my ($ds, $file) = fetch($b->{download});
    is $ds, 200, "$report: downloaded";

    $b = delivered($svc, $report, $run);
    is $b->{delivery}, 'sent', "$report: GET of the run: delivery sent";

    my $m = message(++$nmail);
    ok $m, "$report: a message reached the SMTP server";
    SKIP: {
        skip 'no message', 4 unless $m;
        is_deeply $m->{meta}{rcpt_tos}, [ "$report\@example.com" ],
                  "$report: to its recipient";
        my $p = Smtp::parse($m->{file});
        is scalar @{ $p->{attachments} }, 0, "$report: no attachment";
        my ($link) = ($p->{text} // '') =~ m{(http://\S+/v1/downloads/\S+)};
        like $link // '', qr{/v1/downloads/$run\?expires=\d+&sig=[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])},
             "$report: the run's link instead";
        my (undef, $got) = fetch($link // '');
        ok $got eq $file, "$report: which downloads the run's file";
    }
}

# ---- webhook: signed, with the run and its link ----------------------------

{
    my ($s, $b) = Reporting::run($svc, 'hook', { format => 'csv' },
                                 wait => 20);
    is $b->{status}, 'done', 'webhook: the run is done';
    my $run = $b->{run};
    my (undef, $file) = fetch($b->{download});

    $b = delivered($svc, 'hook', $run);
    is $b->{delivery}, 'sent', 'webhook: GET of the run: delivery sent';

    Reporting::eventually(sub { $rcv->requests >= 1 }, 20);
    my @r = $rcv->requests;
    is scalar @r, 1, 'webhook: one request reached the receiver';
    my $r = $r[0] // { headers => {} };
    my $h = $r->{headers};
    is $r->{method}, 'POST', 'webhook: a POST';
    is $r->{path}, '/ok/reports', "webhook: to the subscription's URL";
    like $h->{'webhook-id'} // '', qr/^ntf_[0-9A-Z]{26}\.\d+$/,
         'webhook: webhook-id';
    like $h->{'webhook-timestamp'} // '', qr/^\d{10}$/,
         'webhook: webhook-timestamp';
    ok abs(($h->{'webhook-timestamp'} // 0) - time) < 60,
       'webhook: ... now';
    like $h->{'webhook-signature'} // '', qr{^v1,[A-Za-z0-9+/]+=*},
         'webhook: webhook-signature';
    (my $key = $sub->{secret} // '') =~ s/^whsec_//;
    my $want = encode_base64(hmac_sha256(
        join('.', $h->{'webhook-id'} // '', $h->{'webhook-timestamp'} // '',
             $r->{body} // ''), decode_base64($key)), '');
    ok((grep { $_ eq "v1,$want" }
        split ' ', $h->{'webhook-signature'} // ''),
       "webhook: the v1 signature verifies with the subscription's secret");

    my $e = eval { $JSON->decode($r->{body}) } // {};
    is $e->{type}, 'report.names', 'webhook: of the delivery\'s type';
    my $d = $e->{data} // {};
    is $d->{run}, $run, 'webhook: naming the run';
    is $d->{report}, 'hook', 'webhook: and the report';
    is $d->{rows}, 2, 'webhook: its rows';
    like $d->{download} // '',
         qr{^http://127\.0\.0\.1:\d+/v1/downloads/$run\?expires=\d+&sig=},
         'webhook: its signed link';
    my ($ds, $got) = fetch($d->{download} // '');
    is $ds, 200, 'webhook: the link downloads';
    ok $got eq $file, "webhook: the run's file";
}

is_deeply [ Reporting::errors($svc) ], [], 'reporting: nothing at error';
is Reporting::stop($svc), 0, 'reporting: a clean stop';

# ---- past attach_max: a link that downloads the file -----------------------

$svc = reporting(ATTACH_MAX => 16);
{
    my ($s, $b) = Reporting::run($svc, 'mail', { format => 'csv' },
                                 wait => 20);
    is $b->{status}, 'done', 'link: the run is done';
    my $run = $b->{run};
    ok $b->{bytes} > 16, "link: $b->{bytes} bytes, past attach_max (16)";
    my (undef, $file) = fetch($b->{download});

    $b = delivered($svc, 'mail', $run);
    is $b->{delivery}, 'sent', 'link: GET of the run: delivery sent';

    my $m = message(++$nmail);
    ok $m, 'link: a message reached the SMTP server';
    my $p = $m ? Smtp::parse($m->{file}) : { attachments => [] };
    is scalar @{ $p->{attachments} }, 0, 'link: no attachment';
    is_deeply $p->{types}, [ 'text/plain' ], 'link: text only';
    my ($link) = ($p->{text} // '') =~ m{(http://\S+/v1/downloads/\S+)};
    like $link // '',
         qr{^http://127\.0\.0\.1:\d+/v1/downloads/$run\?expires=\d+&sig=[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])},
         'link: the run\'s signed link in the text';
    my ($ds, $got, $gh) = fetch($link // '');
    is $ds, 200, 'link: the link in the mail downloads';
    ok $got eq $file, "link: the run's file, byte for byte";
    like $gh->{'content-disposition'} // '', qr/attachment; filename=/,
         'link: as an attachment';
}

is scalar($smtp->messages), $nmail, 'no message more than the runs';
is scalar($rcv->requests), 1, 'no webhook more than the run';

is_deeply [ Reporting::errors($svc) ], [], 'reporting: nothing at error';
is Reporting::stop($svc), 0, 'reporting: a clean stop';
is_deeply [ Notification::errors($ntf) ], [],
          'notification: nothing at error';
is Notification::stop($ntf), 0, 'notification: a clean stop';
$smtp->stop;

done_testing;
