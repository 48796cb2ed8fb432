# Workflow definitions checked (issue 20, points 1, 7 and 8;
# docs/workflow.md): every definition of npm asl-validator's test suite
# (../shared/data/asl-validator/definitions, beside the repository)
# through `workflow check`: valid-* accepted (exit 0, "ok: N states"),
# invalid-* refused (exit 1, one JSON line {"error", "pointer",
# "cause"}), and those in the JSONata query language refused whatever
# their name says (JSONPath mode only).  Then our own bad inputs
# (t/workflow/bad): cycles without exit, unknown targets, duplicate keys,
# definitions past 1 MiB, too deeply nested, too many states, inputs past
# the 256 KiB payload cap (given, or made at run time), a run that never
# ends, a path that names nothing at run time: a clear error each time,
# never a crash.

use strict;
use warnings;

use File::Temp ();
use FindBin;
use JSON::PP ();
use POSIX ();
use Test::More;

my $BIN = $ENV{TEST_WORKFLOW_BINARY}
    // "$FindBin::Bin/../../build/backends/workflow";
my $ROOT = "$FindBin::Bin/../..";
my $SUITE = "$ROOT/../shared/data/asl-validator/definitions";
my $BAD = "$FindBin::Bin/../workflow/bad";
my $JSON = JSON::PP->new->canonical->allow_nonref;
my $TMP = File::Temp->newdir;

plan skip_all => "$BIN is not built (make build/backends/workflow)"
    unless -x $BIN;

# asl-validator's valid-* files that are not definitions Step Functions
# runs (the spec decides; docs/workflow.md lists them): refused
my %SPEC_REFUSED = (
    'valid-cfn-definition-substitutions.json' =>
        'Resource "${lambdaArn}" is a CloudFormation placeholder, not a URI',
    'valid-task-intrisic-function.json' =>
        'Resource given as {"Fn::GetAtt": ...} and {"Ref": ...}: '
        . 'CloudFormation before substitution; a Resource is a URI string',
    'valid-fail-paths.json' =>
        'ErrorPath passes "$field2" to States.Format: not a Path',
    'valid-current-value-predicate.json' =>
        'a filter compares with FooBar unquoted: not a JSONPath literal',
);

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($name, $text) = @_;
    my $file = "$TMP/$name";
    open my $fh, '>', $file or die "$file: $!";
    print {$fh} $text;
    close $fh;
    return $file;
}

# (exit code, stdout, stderr); the code is "signal N" when it crashed
sub run {
    my (@args) = @_;
    my $err = File::Temp->new;
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null' or POSIX::_exit(126);
        open STDERR, '>', $err->filename or POSIX::_exit(126);
        exec $BIN, @args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> };
    close $fh;
    my $rc = $? & 127 ? 'signal ' . ($? & 127) : $? >> 8;
    return ($rc, $out // '', slurp($err->filename) // '');
}

# a definition refused: exit 1 and the refusal as one JSON line
sub refused {
    my ($file, $name, $cause_re) = @_;
    my ($rc, $out, $err) = run('check', $file);
    my $e = eval { $JSON->decode($out) };
    my $good = $rc eq '1' && ref $e eq 'HASH'
               && ($e->{error} // '') eq 'States.InvalidDefinition'
               && defined $e->{pointer} && ($e->{cause} // '') ne ''
               && (!$cause_re || $e->{cause} =~ $cause_re);
    ok($good, "$name: refused") or diag("exit $rc: $out$err");
    return $e;
}

sub accepted {
    my ($file, $name) = @_;
    my ($rc, $out, $err) = run('check', $file);
    ok($rc eq '0' && $out =~ /^ok: \d+ states?$/m, "$name: accepted")
        or diag("exit $rc: $out$err");
}

# ---- asl-validator's definitions

SKIP: {
    skip "$SUITE is absent", 1 unless -d $SUITE;

    opendir my $dh, $SUITE or die "$SUITE: $!";
    my @files = sort grep { /\.json$/ } readdir $dh;
    closedir $dh;

    cmp_ok(scalar @files, '>=', 100, scalar(@files) . ' definitions');

    for my $f (@files) {
        my $text = slurp("$SUITE/$f") // '';
        my $jsonata = $text =~ /"QueryLanguage"\s*:\s*"JSONata"/;

        if ($jsonata) {
            refused("$SUITE/$f", "$f (JSONata)", qr/JSONata/i);

        } elsif ($SPEC_REFUSED{$f}) {
            refused("$SUITE/$f", "$f (refused: $SPEC_REFUSED{$f})");

        } elsif ($f =~ /^valid-/) {
            accepted("$SUITE/$f", $f);

        } else {
            refused("$SUITE/$f", $f);
        }
    }
}

# ---- our own bad definitions

opendir my $dh, $BAD or die "$BAD: $!";
my @bad = sort grep { /\.json$/ && -f "$BAD/$_" } readdir $dh;
closedir $dh;

for my $f (@bad) {
    refused("$BAD/$f", "bad/$f",
            $f =~ /^jsonata/ ? qr/JSONata/i : undef);
}

my $e = refused("$BAD/next-missing.json", 'the pointer of a bad Next');
is($e->{pointer}, '/States/A/Next', 'the pointer names the field')
    if ref $e eq 'HASH';

# ---- caps

my $min = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}';

# a definition of exactly 1 MiB is accepted, one byte more is refused
my $pad = 1024 * 1024 - length($min) - length(', "Comment": ""}');
my $big = $min . ', "Comment": "' . ('x' x $pad) . '"}';
is(length $big, 1024 * 1024, 'a definition of 1 MiB');
accepted(spew('1mib.json', $big), 'a definition of exactly 1 MiB');
$big = $min . ', "Comment": "' . ('x' x ($pad + 1)) . '"}';
refused(spew('over.json', $big), 'a definition of 1 MiB + 1 byte',
        qr/1048576|1 MiB|larger|large|size/i);
refused(spew('huge.json', $min . ', "Comment": "' . ('x' x (3 << 20))
                          . '"}'),
        'a definition of 3 MiB', qr/1048576|1 MiB|larger|large|size/i);

# Parallel in Parallel, n levels (state names are unique in the whole
# definition)
sub nested {
    my ($n) = @_;
    my $m = { StartAt => 'L', States => { L => { Type => 'Pass',
                                                  End => JSON::PP::true } } };
    for my $i (1 .. $n) {
        $m = { StartAt => "P$i", States => { "P$i" => {
            Type => 'Parallel', Branches => [ $m ], End => JSON::PP::true } } };
    }
    return $JSON->encode($m);
}

accepted(spew('nest3.json', nested(3)), 'Parallel nested 3 deep');

# a Result at the payload's nesting cap, and one level past it
accepted(spew('deep64.json', '{"StartAt": "A", "States": {"A": {"Type": '
                             . '"Pass", "Result": ' . ('[' x 64)
                             . (']' x 64) . ', "End": true}}}'),
         'a Result nested 64 deep');
refused(spew('deep65.json', '{"StartAt": "A", "States": {"A": {"Type": '
                            . '"Pass", "Result": ' . ('[' x 65)
                            . (']' x 65) . ', "End": true}}}'),
        'a Result nested 65 deep');
refused(spew('nest40.json', nested(40)), 'Parallel nested 40 deep');

# JSON nested past the cap, in a Result, and far past it
{
    refused(spew('deep100.json', '{"StartAt": "A", "States": {"A": {"Type": '
                                 . '"Pass", "Result": ' . ('[' x 100)
                                 . (']' x 100) . ', "End": true}}}'),
            'JSON nested 100 deep');
}
my $deep = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": '
           . ('[' x 100000) . (']' x 100000) . ', "End": true}}}';
refused(spew('deep100k.json', $deep), 'JSON nested 100,000 deep');

# more states than the cap (10,000)
my %states = map { ("S$_" => { Type => 'Pass', Next => 'S' . ($_ + 1) }) }
             0 .. 10000;
$states{S10001} = { Type => 'Succeed' };
refused(spew('many.json', $JSON->encode({ StartAt => 'S0',
                                          States => \%states })),
        '10,002 states');

# ---- runs

my $echo = "$BAD/run/echo.json";

# an input of 256 KiB as compact JSON runs; one byte more is refused
my $s = 'y' x (256 * 1024 - 2);
my ($rc, $out, $err) = run('run', $echo, '-i',
                           spew('in-256k.json', "\"$s\""));
is($rc, 0, 'an input of exactly 256 KiB runs');
is(length($out), length('{"output":"","status":"SUCCEEDED"}') + length($s)
   + 1, 'and is echoed whole');
($rc, $out, $err) = run('run', $echo, '-i', spew('in-over.json', "\"${s}y\""));
is($rc, 2, 'an input of 256 KiB + 1 byte: exit 2');
like($err, qr/262144|256 KiB|payload/i, 'with a clear error')
    or diag($err);
($rc, $out, $err) = run('run', $echo, '-i',
    spew('in-1m.json', $JSON->encode([ map { 'z' x 100 } 1 .. 10000 ])));
is($rc, 2, 'an input of 1 MiB: exit 2');

# payloads past the cap made at run time: States.DataLimitExceeded
sub over_cap {
    my ($name, @args) = @_;
    my ($rc, $out, $err) = run('run', @args);
    my $r = eval { $JSON->decode($out) };
    ok($rc eq '1' && ref $r eq 'HASH'
       && ($r->{error} // '') eq 'States.DataLimitExceeded',
       "$name: States.DataLimitExceeded") or diag("exit $rc: $out$err");
}

over_cap('a Pass Result of 300 KB', spew('big-result.json',
    $JSON->encode({ StartAt => 'A', States => { A => {
        Type => 'Pass', Result => 'x' x 300000, End => JSON::PP::true } } })));
over_cap('Parameters doubling an input of 200 KB', spew('double.json',
    $JSON->encode({ StartAt => 'A', States => { A => {
        Type => 'Pass', Parameters => { 'a.$' => '$.s', 'b.$' => '$.s' },
        End => JSON::PP::true } } })),
    '-i', spew('in200k.json', $JSON->encode({ s => 'y' x 200000 })));
over_cap('a task result of 300 KB', spew('task.json',
    $JSON->encode({ StartAt => 'T', States => { T => {
        Type => 'Task', Resource => 'arn:aws:lambda:us-east-1:1:function:f',
        End => JSON::PP::true } } })),
    '-m', spew('bigmock.json',
               $JSON->encode({ T => [ { Return => 'z' x 300000 } ] })));

# a run that never ends stops at the transition cap
($rc, $out, $err) = run('run', "$BAD/run/infinite-loop.json",
                        '-j', '{"stop": false}', '--max-transitions', '500');
my $r = eval { $JSON->decode($out) };
is($rc, 1, 'an endless loop: exit 1');
is(ref $r eq 'HASH' && $r->{error}, 'States.Runtime',
   'States.Runtime past the transition cap') or diag("$out$err");
($rc, $out) = run('run', "$BAD/run/infinite-loop.json",
                  '-j', '{"stop": true}');
is($rc, 0, 'the same loop leaves when told to');

# a path that names nothing at run time
($rc, $out, $err) = run('run', "$BAD/run/missing-path.json", '-j', '{}');
$r = eval { $JSON->decode($out) };
is($rc, 1, 'a path naming nothing: exit 1');
like(ref $r eq 'HASH' && $r->{error}, qr/^States\.(Runtime|ParameterPathFailure)$/,
     'a States. error') or diag("$out$err");

# --history: the result and the events
($rc, $out) = run('run', $echo, '-j', '{"a": 1}', '--history');
$r = eval { $JSON->decode($out) };
ok($rc eq '0' && ref $r eq 'HASH' && ref $r->{history} eq 'ARRAY'
   && @{ $r->{history} } && $r->{result}{status} eq 'SUCCEEDED',
   '--history: the result and its events') or diag($out);

# ---- usage and IO errors: exit 2
($rc) = run();
is($rc, 2, 'no command: exit 2');
($rc) = run('check');
is($rc, 2, 'check without a file: exit 2');
($rc, $out, $err) = run('check', "$TMP/absent.json");
is($rc, 2, 'check of a missing file: exit 2');
like($err, qr/absent\.json/, 'naming the file');
($rc) = run('run', $echo, '-i', spew('x.json', '{}'), '-j', '{}');
is($rc, 2, 'run with both -i and -j: exit 2');
($rc, $out, $err) = run('run', $echo, '-j', '{"a": ');
is($rc, 2, 'run with an input that is not JSON: exit 2');
($rc) = run('run', $echo, '-m', spew('m.json', '[]'));
is($rc, 2, 'mocks that are not an object: exit 2');
($rc) = run('run', $echo, '--max-transitions', '-5');
is($rc, 2, 'a negative --max-transitions: exit 2');
($rc, $out) = run('run', "$BAD/cyclic-no-exit.json");
is($rc, 2, 'run of a refused definition: exit 2');
like($out, qr/"error":"States.InvalidDefinition"/, 'with the refusal');

done_testing();
