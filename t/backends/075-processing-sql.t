# The processing service's SQL sinks (docs/processing-sql.md) against
# real databases: t/proc/test_proc_sinks.c drives a sink's calls on a
# libevent loop and checks the database through its own connection;
# this file makes the databases and reads the driver's TAP.
#
#   SQLite: a file in a temporary folder; a child that commits and is
#           killed (SIGKILL) right after the callback leaves its batch in
#           the file.
#   PostgreSQL: a private cluster (Tollgate::Pg), stopped and started
#           again under the sink: FAIL while it is down, OK once the
#           sink has reconnected.  Skipped when PostgreSQL is missing.
#
# Checked on both: commit, DUP on the same and an earlier position, the
# state round trip through load(), a BAD record writes nothing (a wrong
# type, a NUL byte, the database's own NOT NULL), upsert on key columns,
# identifier attacks refused at create(), values with quotes and control
# bytes stored verbatim, 200 batches in order, the loop running while the
# database holds a commit back (a lock of the test's own connection), a
# missing table (without "create") FAILs, no callback after free() nor
# after a callback freed its sink, and a child killed (SIGKILL) right
# after its commit's callback left the batch in the store.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use Test::More;

use Tollgate::Pg;

my $BIN = $ENV{TEST_PROC_SINKS}
    // "$FindBin::Bin/../../build/proc/test_proc_sinks";

plan skip_all => "$BIN is not built (run make proc-test)" unless -x $BIN;

# runs the driver, each of its TAP lines as one of ours
sub driver {
    my (@args) = @_;
    my ($n, $plan) = (0, 0);

    open my $out, '-|', $BIN, @args or die "$BIN: $!";

    while (my $line = <$out>) {
        chomp $line;

        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            ok(!$1, $2);
            $n++;
        } elsif ($line =~ /^1\.\.(\d+)$/) {
            $plan = $1;
        } elsif ($line =~ /^# ?(.*)$/) {
            diag($1);
        }
    }

    close $out;
    is($?, 0, "the driver exited with 0");
    ok($plan > 0 && $plan == $n, "the driver ran its $plan checks");
}

subtest sqlite => sub {
    my $dir = tempdir('tollgate-sql-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    driver('sqlite', $dir);
};

subtest postgres => sub {
    if (my $why = Tollgate::Pg->missing) {
        plan skip_all => $why;
    }

    my $pg = Tollgate::Pg->start;
    local $ENV{PG_STOP} = $pg->stop_cmd;
    local $ENV{PG_START} = $pg->start_cmd;
    driver('postgres', $pg->conninfo);
    $pg->stop;
};

done_testing;
