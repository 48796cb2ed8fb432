# The reporting service's secret key file (docs/reporting.md,
# "Configuration"): the key that signs download links is read like every
# service's secret (the kit's gw_svc_secret_key): 64 hex digits in a
# regular file readable by its owner only.  A key others can read, one
# that is not 64 hex digits, or none at all stops the start with a line
# that names secret_key_file, and never prints the key.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Reporting;
use Service;
use Tollgate::Redis;

plan skip_all => Reporting::binary() . ' is not built (run make backends)'
    unless -x Reporting::binary();

my $redis = Tollgate::Redis->start;
my $tmp = Reporting::tmp();
my $n = 0;
my $db = "$tmp/key.db";
open my $touch, '>', $db or die "$db: $!";
close $touch;

# start with the key file $file: (exit code, log)
sub start_with {
    my ($file) = @_;
    my $log = "$tmp/key" . ++$n . '.log';
    mkdir "$tmp/keyspool$n";
    my $svc = Service::start(
        name => 'reporting', bin => Reporting::binary(),
        prefix => 'TOLLGATE_REPORTING_', log => $log,
        env => { LISTEN => '127.0.0.1:0', REDIS => $redis->address,
                 SPOOL => "$tmp/keyspool$n", SQLITE => $db,
                 defined $file ? (SECRET_KEY_FILE => $file) : () },
        wait => 0);
    my $rc = Service::wait_exit($svc, 10);
    return ($rc, Service::slurp($log));
}

sub key_file {
    my ($text, $mode) = @_;
    my $file = "$tmp/k" . ++$n;
    open my $out, '>', $file or die "$file: $!";
    print $out $text;
    close $out;
    chmod $mode, $file;
    return $file;
}

my $hex = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;

my ($rc, $log) = start_with(key_file("$hex\n", 0644));
ok(defined $rc && $rc != 0, 'a key others can read: the start refused');
like($log, qr/secret_key_file.*owner only/, '... saying so');
unlike($log, qr/\Q$hex\E/, '... without the key');

($rc, $log) = start_with(key_file(substr($hex, 0, 62) . "\n", 0600));
ok(defined $rc && $rc != 0, '62 hex digits: refused');
like($log, qr/secret_key_file.*64 hex digits/, '... saying so');

($rc, $log) = start_with(key_file(('x' x 64) . "\n", 0600));
ok(defined $rc && $rc != 0, '64 bytes that are not hex: refused');

($rc, $log) = start_with(undef);
ok(defined $rc && $rc != 0, 'no key file: refused');
like($log, qr/secret_key_file/, '... naming the key');

# the same key, private: it starts and serves
my $svc = Reporting::start(env => { REDIS => $redis->address, SQLITE => $db,
                                    SECRET_KEY_FILE => key_file("$hex\n",
                                                                0600) });
is((Reporting::call($svc, 'GET', '/healthz'))[0], 200,
   'a private key of 64 hex digits: it starts');
Service::stop($svc);

done_testing();
