# Downloads stream from the spool (gw_svc_reply_file(): sendfile from
# the page cache): a report file of ~40 MB is served whole, byte for
# byte, while the service's peak resident memory (VmHWM) grows by far
# less than the file (a copy into memory, the old way, grew it by the
# file's size at least); a client that hangs up halfway leaves no
# descriptor open on the file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Cwd qw(abs_path);
use Digest::SHA;
use IO::Socket::INET;
use Test::More;

use Reporting;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();
plan skip_all => 'no sqlite3 CLI' unless Reporting::have_sqlite3();
plan skip_all => 'no /proc' unless -r "/proc/$$/status";
plan skip_all => 'VmHWM means nothing under valgrind'
    if ($ENV{TEST_REPORTING_BINARY} // '') =~ /valgrind/;

# 400,000 rows of ~100 bytes: a CSV of ~40 MB
my $db = Reporting::sqlite(<<'SQL');
CREATE TABLE big (consumer TEXT, i INTEGER, pad TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                        WHERE i < 400000)
INSERT INTO big SELECT 'c1', i, printf('%090d', i) FROM s;
SQL

my $redis = Tollgate::Redis->start;
my $svc = Reporting::start(env => { REDIS => $redis->address,
                                    SQLITE => $db });

Reporting::define($redis, 'big', {
    title => 'Big',
    query => 'SELECT i, pad FROM big WHERE consumer = :tenant ORDER BY i',
    tenant_param => 'tenant',
    columns => [ { name => 'i', type => 'integer' },
                 { name => 'pad', type => 'text' } ],
    formats => [ 'csv' ] });

sub hwm_kib {
    open my $in, '<', "/proc/$svc->{pid}/status" or return 0;
    while (<$in>) { return $1 if /^VmHWM:\s+(\d+)\s+kB/ }
    return 0;
}

# the service's descriptors open on the report's file
sub file_fds {
    my ($file) = @_;
    opendir my $d, "/proc/$svc->{pid}/fd" or return -1;
    return scalar grep { (readlink("/proc/$svc->{pid}/fd/$_") // '') eq $file }
                  grep { !/^\./ } readdir $d;
}

my ($s, $b) = Reporting::run($svc, 'big', { format => 'csv' }, wait => 60);
is $b->{status}, 'done', 'the run is done' or diag explain $b;
is $b->{rows}, 400000, '400,000 rows';

my ($file) = map { abs_path($_) } glob "$svc->{spool}/*.csv";
my $size = -s $file;
cmp_ok $size, '>', 32 * 1024 * 1024, "the file is $size bytes";
my $want = Digest::SHA->new(256)->addfile($file, 'b')->hexdigest;

my $before = hwm_kib();
ok $before > 0, "VmHWM before: $before kB";

# the body goes through a callback, never held by the test either
my ($got, $sha) = (0, Digest::SHA->new(256));
my $http = HTTP::Tiny->new(timeout => 60);
my $r = $http->request('GET', "http://127.0.0.1:$svc->{port}$b->{download}",
    { headers => Reporting::who(),
      data_callback => sub { $got += length $_[0]; $sha->add($_[0]) } });

is $r->{status}, 200, 'downloaded';
is $r->{headers}{'content-length'}, $size, 'Content-Length is the size';
like $r->{headers}{'content-type'}, qr{^text/csv}, 'text/csv';
like $r->{headers}{'content-disposition'},
     qr/^attachment; filename="report-[0-9a-f]+\.csv"$/, 'an attachment';
is $got, $size, 'every byte';
is $sha->hexdigest, $want, 'the same bytes';

my $after = hwm_kib();
my $grew = $after - $before;
cmp_ok $grew, '<', $size / 1024 / 4,
       "VmHWM grew by $grew kB, less than a quarter of the file's "
       . int($size / 1024) . ' kB';


# a client that reads 1 MB and hangs up
my ($path) = $b->{download};
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$svc->{port}")
    or die "connect: $!";
print $sock "GET $path HTTP/1.1\r\nHost: x\r\nX-Consumer-ID: c1\r\n"
          . "X-Consumer-Scope: reports:read\r\nConnection: close\r\n\r\n";
my ($buf, $read) = ('', 0);
while ($read < 1024 * 1024) {
    my $n = sysread $sock, $buf, 65536;
    last unless $n;
    $read += $n;
}
close $sock;
ok $read >= 1024 * 1024, 'a client read 1 MB and hung up';

Reporting::eventually(sub { file_fds($file) == 0 }, 10);
is file_fds($file), 0, 'its file was closed'
    or diag `ls -l /proc/$svc->{pid}/fd`;

is_deeply [ Reporting::errors($svc) ], [], 'nothing logged at error';
is Reporting::stop($svc), 0, 'a clean stop';

done_testing;
