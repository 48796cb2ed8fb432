# The workflow language against an independent interpreter (issue 20,
# point 7; docs/workflow.md): every case of t/workflow/cases run through
# `workflow run` (build/backends/workflow, lib/asl's local runner) and
# through npm aws-local-stepfunctions (t/js/asl-oracle.mjs) with the same
# input, mocks and context.  Both succeed with JSON-equal outputs
# (numbers compared as numbers), or both fail with the same error name
# (causes are not compared).  Where the oracle is not AWS, the case holds
# aws.json, the answer AWS gives, and a line in t/workflow/cases/
# README.md: ours must equal it, and the oracle is recorded as still
# answering something else.  Exit codes: 0 when it succeeded, 1 when it
# failed.

use strict;
use warnings;

use B ();
use File::Temp ();
use FindBin;
use JSON::PP ();
use POSIX ();
use Test::More;

my $BIN = $ENV{TEST_WORKFLOW_BINARY}
    // "$FindBin::Bin/../../build/backends/workflow";
my $CASES = "$FindBin::Bin/../workflow/cases";
my $JS = "$FindBin::Bin/../js";
my $JSON = JSON::PP->new->canonical->allow_nonref;

plan skip_all => "$BIN is not built (make build/backends/workflow)"
    unless -x $BIN;

sub node {
    for (split /:/, $ENV{PATH} // '') {
        return "$_/node" if -x "$_/node";
    }
    return undef;
}

sub oracle_missing {
    return 'node is not installed (make deps-test)' unless node();
    return 't/js/node_modules is absent (auto/npm-deps)'
        unless -d "$JS/node_modules/aws-local-stepfunctions";
    return undef;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return scalar <$fh>;
}

# (exit code, stdout, stderr) of a command, stdin closed
sub run {
    my (@cmd) = @_;
    my $err = File::Temp->new;
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null' or POSIX::_exit(126);
        open STDERR, '>', $err->filename or POSIX::_exit(126);
        exec @cmd or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> };
    close $fh;
    my $rc = $? >> 8;
    return ($rc, $out // '', slurp($err->filename) // '');
}

# a decoded JSON value made comparable: numbers as numbers (1 and 1.0
# alike), strings as strings ("1" is not 1), booleans and null apart
sub norm {
    my ($v) = @_;
    return [ map { norm($_) } @$v ] if ref $v eq 'ARRAY';
    return { map { $_ => norm($v->{$_}) } keys %$v } if ref $v eq 'HASH';
    return 'B:' . ($v ? 1 : 0) if JSON::PP::is_bool($v);
    return 'null' unless defined $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    if ($f & (B::SVp_IOK | B::SVp_NOK) && !($f & B::SVp_POK)) {
        return 'N:' . sprintf('%.15g', $v);
    }
    return "S:$v";
}

sub same {
    my ($a, $b) = @_;
    return $JSON->encode(norm($a)) eq $JSON->encode(norm($b));
}

# undef when answers $a and $b agree (outputs equal, or error names
# equal), else why not
sub differ {
    my ($a, $b) = @_;
    return 'no answer' unless ref $a eq 'HASH' && ref $b eq 'HASH';
    my ($sa, $sb) = ($a->{status} // '', $b->{status} // '');
    return "status $sa, expected $sb" unless $sa eq $sb;
    if ($sa eq 'SUCCEEDED') {
        return undef if same($a->{output}, $b->{output});
        return 'output ' . $JSON->encode($a->{output}) . ', expected '
            . $JSON->encode($b->{output});
    }
    return undef if ($a->{error} // '') eq ($b->{error} // '');
    return 'error ' . ($a->{error} // 'none') . ', expected '
        . ($b->{error} // 'none');
}

opendir my $dh, $CASES or die "$CASES: $!";
my @cases = sort grep { !/^\./ && -d "$CASES/$_" } readdir $dh;
closedir $dh;

cmp_ok(scalar @cases, '>=', 60, scalar(@cases) . ' cases in the corpus');

my $readme = slurp("$CASES/README.md") // '';

# the oracle's answers, all cases in one node process
my %oracle;
my $why = oracle_missing();
if (!defined $why) {
    my ($rc, $out, $err) = run(node(), "$JS/asl-oracle.mjs",
                               '--no-validate', '--corpus', $CASES);
    for my $line (split /\n/, $out) {
        my $a = eval { $JSON->decode($line) } or next;
        $oracle{ delete $a->{case} } = $a;
    }
    is(scalar keys %oracle, scalar @cases, 'the oracle answered every case')
        or diag($err);
}

my %count = (aws => 0);

for my $name (@cases) {
    my $dir = "$CASES/$name";
    my @args = ($BIN, 'run', "$dir/definition.json",
                '-i', "$dir/input.json", '-m', "$dir/mocks.json");
    push @args, '-c', "$dir/context.json" if -f "$dir/context.json";

    my ($rc, $out, $err) = run(@args);
    my $ours = eval { $JSON->decode($out) };

    my $aws = -f "$dir/aws.json"
              ? $JSON->decode(slurp("$dir/aws.json")) : undef;
    my $expected = $aws // $oracle{$name};

    if (!defined $expected) {
        SKIP: { skip "$name: the oracle cannot run: $why", 1 }
        next;
    }

    my $d = differ($ours, $expected);
    ok(!defined $d, $name . ($aws ? ' (as AWS)' : '')) or diag(
        "$name: " . ($d // '') . "\n  ours: $out  stderr: $err");

    my $status = ref $ours eq 'HASH' ? $ours->{status} // '' : '';
    is($rc, $status eq 'SUCCEEDED' ? 0 : 1, "$name: exit code")
        if $status ne '';

    next unless $aws;

    $count{aws}++;
    like($readme, qr/^- \Q$name\E: \S/m, "$name: the difference noted");

    if (my $o = $oracle{$name}) {
        ok(defined differ($o, $aws), "$name: the oracle still differs")
            and note("$name: the oracle answers " . $JSON->encode($o));
    }
}

note("$count{aws} cases follow AWS where the oracle differs");

done_testing();
