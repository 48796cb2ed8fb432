# The reporting service's delivery (docs/reporting.md, "Delivery"): a
# done run with an email delivery becomes a POST /v1/notifications to
# the configured notification service, the file attached (base64) up to
# attach_max, else a link; a webhook delivery carries the run and its
# signed link; the outcome shows on the run.  A stand-in receiver plays
# the notification service.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Test::More;

use NtfReceiver;
use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();

my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE t (consumer TEXT, name TEXT, n INTEGER);
INSERT INTO t VALUES ('c1', 'alpha', 1), ('c1', 'beta', 2);
SQL

my $redis = Tollgate::Redis->start;
my $rx = NtfReceiver->start(default => 202);
my $svc = Reporting::start(env => {
    REDIS => $redis->address, SQLITE => $db,
    NOTIFICATION => '127.0.0.1:' . $rx->port,
    PUBLIC_URL => 'https://api.example.com' });

my %def = (title => 'Names',
           query => 'SELECT name, n FROM t WHERE consumer = :tenant',
           tenant_param => 'tenant',
           columns => [ { name => 'name', title => 'Name' },
                        { name => 'n', type => 'integer' } ]);

Reporting::define($redis, 'mail', { %def,
    delivery => { channel => 'email', to => [ 'ops@example.com' ],
                  subject => 'Daily names' } });
Reporting::define($redis, 'hook', { %def,
    delivery => { channel => 'webhook', type => 'report.names' } });

my $json = JSON::PP->new;

sub last_request {
    my ($n) = @_;
    Reporting::eventually(sub { $rx->requests >= $n });
    my @r = $rx->requests;
    return $r[$n - 1] && $json->decode($r[$n - 1]{body});
}

# ---- email, the file attached ---------------------------------------------

my ($s, $b) = Reporting::run($svc, 'mail', { format => 'csv' }, wait => 10);
is $b->{status}, 'done', 'the run is done';
my $n = last_request(1);
is $n->{channel}, 'email', 'one email notification';
is_deeply $n->{recipients}, [ 'ops@example.com' ], 'to the recipients';
is $n->{body}{subject}, 'Daily names', 'with the subject';
is scalar @{ $n->{attachments} || [] }, 1, 'one attachment';
my $file = decode_base64($n->{attachments}[0]{content} // '');
like $file, qr/Name,n.*alpha,1.*beta,2/s, 'the CSV report';
like $n->{attachments}[0]{filename}, qr/^mail-[0-9a-f]{32}\.csv$/,
     'named after the report and the run';
is $n->{attachments}[0]{content_type}, 'text/csv', 'its type';
my @r = $rx->requests;
is $r[0]{path}, '/v1/notifications', 'POST /v1/notifications';

$b = Reporting::wait_run($svc, 'mail', $b->{run});
Reporting::eventually(sub {
    (undef, $b) = Reporting::call($svc, 'GET',
                                  "/v1/reports/mail/runs/$b->{run}",
                                  undef, Reporting::who());
    ($b->{delivery} // '') eq 'sent';
});
is $b->{delivery}, 'sent', 'the run says sent';

# ---- a delivery in the request ---------------------------------------------

($s, $b) = Reporting::run($svc, 'hook',
                          { format => 'json',
                            delivery => { channel => 'email',
                                          to => [ 'me@example.com' ] } },
                          wait => 10);
$n = last_request(2);
is_deeply $n->{recipients}, [ 'me@example.com' ],
          "the request's delivery wins over the definition's";

($s, $b) = Reporting::run($svc, 'hook',
                          { delivery => { channel => 'email',
                                          to => [ 'nobody' ] } });
is $s, 422, 'a malformed delivery is 422';
like $b->{detail}, qr{/delivery/to/0}, 'named';
($s, $b) = Reporting::run($svc, 'hook',
                          { delivery => { channel => 'fax' } });
is $s, 422, 'an unknown channel is 422';

# ---- webhook ---------------------------------------------------------------

($s, $b) = Reporting::run($svc, 'hook', { format => 'csv' }, wait => 10);
$n = last_request(3);
is $n->{channel}, 'webhook', 'a webhook notification';
is $n->{type}, 'report.names', 'of the configured type';
is $n->{body}{data}{run}, $b->{run}, 'naming the run';
is $n->{body}{data}{rows}, 2, 'its rows';
like $n->{body}{data}{download},
     qr{^https://api\.example\.com/v1/downloads/$b->{run}\?expires=\d+&sig=},
     'and its signed link, absolute';

Reporting::stop($svc);

# ---- past attach_max: a link -----------------------------------------------

$svc = Reporting::start(env => {
    REDIS => $redis->address, SQLITE => $db, ATTACH_MAX => 10,
    NOTIFICATION => '127.0.0.1:' . $rx->port,
    PUBLIC_URL => 'https://api.example.com' });
($s, $b) = Reporting::run($svc, 'mail', { format => 'csv' }, wait => 10);
$n = last_request(4);
ok !$n->{attachments}, 'past attach_max no attachment';
like $n->{body}{text}, qr{https://api\.example\.com/v1/downloads/}, 'a link';

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';
$rx->stop;

done_testing;
