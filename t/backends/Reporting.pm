package Reporting;

# Helpers for the reporting service's tests (t/backends/0aX-reporting-*.t):
# a SQLite store made with the sqlite3 CLI, report definitions written
# where the metadata service keeps a "reports" entity
# (gw:md:e:u.reports:<id>, member doc), build/backends/reporting started
# on port 0 with its configuration as TOLLGATE_REPORTING_* variables (a
# spool directory and a secret key file of its own), its API called with
# the gateway's identity headers.
#
#     my $db = Reporting::sqlite("CREATE TABLE t (...); INSERT ...");
#     Reporting::define($redis, 'r1', { title => ..., query => ... });
#     my $svc = Reporting::start(env => { REDIS => $redis->address,
#                                         SQLITE => $db });
#     my ($status, $body, $h) = Reporting::run($svc, 'r1',
#         { format => 'csv' }, consumer => 'c1', wait => 10);
#
# TEST_REPORTING_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();

use Service;

our $BIN = $ENV{TEST_REPORTING_BINARY}
    // "$FindBin::Bin/../../build/backends/reporting";
our $TMP = tempdir('tollgate-rp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical->allow_nonref;

my $n = 0;
my $http = HTTP::Tiny->new(timeout => 60, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

*log_lines = \&Service::log_lines;
*stop = \&Service::stop;
*eventually = \&Service::eventually;
*cmd = \&Service::resp_cmd;

sub have_sqlite3 { system('sqlite3 -version >/dev/null 2>&1') == 0 }

# sqlite($sql): a new SQLite file holding what $sql made
sub sqlite {
    my ($sql, $file) = @_;
    $file //= "$TMP/store" . ++$n . '.db';
    open my $p, '|-', 'sqlite3', $file or croak "sqlite3: $!";
    print $p $sql;
    close $p or croak "sqlite3 failed on $file";
    return $file;
}

# sqlite_query($file, $sql): the CLI's output, trimmed
sub sqlite_query {
    my ($file, $sql) = @_;
    my $out = `sqlite3 '$file' "$sql" 2>&1`;
    chomp $out;
    return $out;
}

# define($redis, $id, \%definition): as the metadata service stores it
sub define {
    my ($redis, $id, $def) = @_;
    my $doc = $JSON->encode({ %$def, id => $id });
    my $r = cmd($redis->port, 'HSET', "gw:md:e:u.reports:$id", 'v', 1,
                'doc', $doc);
    croak "redis: $r" if defined $r && $r =~ /^ERR/;
    cmd($redis->port, 'ZADD', 'gw:md:ix:u.reports', 0, $id);
}

sub secret_key {
    my $file = "$TMP/secret" . ++$n . '.key';
    open my $out, '>', $file or croak "$file: $!";
    print $out join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
    close $out;
    chmod 0600, $file;
    return $file;
}

# start(env => {KEY => v}, wait => 1): once "started" is logged and
# /readyz answers 200
sub start {
    my (%opt) = @_;
    my $spool = "$TMP/spool" . ++$n;
    mkdir $spool or croak "$spool: $!";
    my $svc = Service::start(
        name => 'reporting', bin => $BIN,
        prefix => 'TOLLGATE_REPORTING_',
        log => "$TMP/rp" . ++$n . '.log',
        env => { LISTEN => '127.0.0.1:0', REDIS_RETRY => '200ms',
                 SECRET_KEY_FILE => secret_key(), SPOOL => $spool,
                 %{ $opt{env} || {} } },
        wait => $opt{wait});
    $svc->{spool} = $opt{env}{SPOOL} // $spool;
    # ready: Redis connected (a run asked before would be a 503)
    eventually(sub { (call($svc, 'GET', '/readyz'))[0] == 200 }, 30)
        if $opt{wait} // 1;
    return $svc;
}

# call($svc, $method, $path, $body, \%headers): (status, body, headers)
sub call {
    my ($svc, $method, $path, $body, $headers) = @_;
    my %h = %{ $headers || {} };
    my %o = (headers => \%h);
    if (defined $body) {
        $o{content} = ref $body ? $JSON->encode($body) : $body;
        $h{'Content-Type'} //= 'application/json';
    }
    my $r = $http->request($method, "http://127.0.0.1:$svc->{port}$path",
                           \%o);
    my $c = $r->{content} // '';
    my $d = ($r->{headers}{'content-type'} // '') =~ /json/
            ? eval { $JSON->decode($c) } : undef;
    return ($r->{status}, defined $d ? $d : $c, $r->{headers});
}

sub who {
    my (%o) = @_;
    return { 'X-Consumer-ID' => $o{consumer} // 'c1',
             'X-Consumer-Scope' => $o{scope} // 'reports:read' };
}

# run($svc, $report, $body, consumer =>, scope =>, wait =>)
sub run {
    my ($svc, $report, $body, %o) = @_;
    my $q = defined $o{wait} ? "?wait=$o{wait}" : '';
    return call($svc, 'POST', "/v1/reports/$report/runs$q", $body,
                who(%o));
}

# download($svc, $link, consumer =>): (status, raw body, headers)
sub download {
    my ($svc, $link, %o) = @_;
    my $r = $http->request('GET', "http://127.0.0.1:$svc->{port}$link",
                           { headers => who(%o) });
    return ($r->{status}, $r->{content} // '', $r->{headers});
}

# wait_run($svc, $report, $run, %who): the run once done or failed
sub wait_run {
    my ($svc, $report, $run, %o) = @_;
    my $last;
    eventually(sub {
        my ($s, $b) = call($svc, 'GET', "/v1/reports/$report/runs/$run",
                           undef, who(%o));
        $last = $b;
        return ref $b && ($b->{status} // '') =~ /^(done|failed)$/;
    }, 30);
    return $last;
}

# a metric's value from /metrics: metric($svc, 'name{a="b",...}')
sub metric {
    my ($svc, $series) = @_;
    my (undef, $text) = call($svc, 'GET', '/metrics');
    for my $line (split /\n/, $text // '') {
        return $1 if $line =~ /^\Q$series\E (\S+)$/;
    }
    return 0;
}

sub errors {
    my ($svc) = @_;
    return grep { ($_->{level} // '') eq 'error' } log_lines($svc);
}

1;
