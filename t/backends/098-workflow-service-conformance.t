# The workflow service against the language's local runner (issue 20;
# docs/workflow.md): every case of t/workflow/cases run through the
# service in test mode (TOLLGATE_WORKFLOW_MOCKS=on: tasks answered by
# the case's mocks, by state name, in order; Map items and Parallel
# branches one at a time, in order) and through `workflow run` (lib/asl's
# in-memory runner, which 090 holds to the oracle and to AWS).  Both
# succeed with JSON-equal outputs (numbers compared as numbers), or both
# fail with the same error name (causes are not compared).
#
# One service, one Redis: each case's definition is put under a name of
# its own ("c-<case>"), an execution started with the case's input and
# mocks (and context.json's Execution.Name as its name, when given: the
# only context field the API sets), and waited for; 20 executions are in
# flight at once, so that the real waits (retry intervals, Wait states)
# overlap.
#
# What the API cannot set: $$.Execution.Id is the service's own id
# ("wx_..."), where `workflow run -c` takes the context's.  The one case
# that reads it (io-context-execution) is compared on everything else,
# and its "id" checked to be the execution's id.

use strict;
use warnings;

use B ();
use File::Temp ();
use FindBin;
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use lib "$FindBin::Bin";
use lib "$FindBin::Bin/../lib";
use Service;
use Tollgate::Redis;

my $BIN = $ENV{TEST_WORKFLOW_BINARY}
    // "$FindBin::Bin/../../build/backends/workflow";
my $CASES = "$FindBin::Bin/../workflow/cases";
my $JSON = JSON::PP->new->canonical->allow_nonref;
my $INFLIGHT = 20;
my $PATIENCE = 90;          # seconds an execution may take

plan skip_all => "$BIN is not built (make build/backends/workflow)"
    unless -x $BIN;

# cases compared without the fields the API cannot set: case => the
# output's top-level fields the execution's id answers
my %CONTEXT_ID = ('io-context-execution' => 'id');

my $tmp = File::Temp::tempdir('tollgate-wf098-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);

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
    return ($? >> 8, $out // '', slurp($err->filename) // '');
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

# undef when answers $a (the service's) and $b (`workflow run`'s) agree
# (outputs equal, or error names equal), else why not
sub differ {
    my ($a, $b) = @_;
    return 'no answer' unless ref $a eq 'HASH' && ref $b eq 'HASH';
    my ($sa, $sb) = ($a->{status} // '', $b->{status} // '');
    if ($sa ne $sb) {
        my $why = "status $sa, expected $sb";
        $why .= " ($a->{error}: " . ($a->{cause} // '') . ')'
            if defined $a->{error};
        $why .= ' (expected ' . ($b->{error} // '') . ')'
            if defined $b->{error};
        return $why;
    }
    if ($sa eq 'SUCCEEDED') {
        return undef if same($a->{output}, $b->{output});
        return 'output ' . $JSON->encode($a->{output}) . ', expected '
            . $JSON->encode($b->{output});
    }
    return undef if ($a->{error} // '') eq ($b->{error} // '');
    return 'error ' . ($a->{error} // 'none') . ' ('
        . ($a->{cause} // '') . '), expected ' . ($b->{error} // 'none');
}

opendir my $dh, $CASES or die "$CASES: $!";
my @cases = sort grep { !/^\./ && -d "$CASES/$_" } readdir $dh;
closedir $dh;

cmp_ok(scalar @cases, '>=', 60, scalar(@cases) . ' cases in the corpus');

# `workflow run` of every case: the expected answers
my %expected;
for my $name (@cases) {
    my $dir = "$CASES/$name";
    my @args = ($BIN, 'run', "$dir/definition.json",
                '-i', "$dir/input.json", '-m', "$dir/mocks.json");
    push @args, '-c', "$dir/context.json" if -f "$dir/context.json";
    my ($rc, $out, $err) = run(@args);
    $expected{$name} = eval { $JSON->decode($out) }
        // { status => 'NONE', error => "workflow run: exit $rc: $err" };
}

# the service, in test mode, on a Redis of its own
my $redis = Tollgate::Redis->start;
my $key = "$tmp/secret.key";
{
    open my $out, '>', $key or die "$key: $!";
    print $out join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
    close $out;
    chmod 0600, $key;
}
my $svc = Service::start(
    name => 'workflow', bin => $BIN, prefix => 'TOLLGATE_WORKFLOW_',
    log => "$tmp/wf.log",
    env => { LISTEN => '127.0.0.1:0', REDIS => $redis->address,
             SECRET_KEY_FILE => $key, MOCKS => 'on', POLL => '20',
             LEASE => '10s' });
ok($svc->{port}, "the service listens on port $svc->{port}");

my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
my %H = ('X-Consumer-ID' => 'conformance',
         'X-Consumer-Scope' => 'workflow:admin',
         'Content-Type' => 'application/json');

# (status, decoded body or raw text); a body given as a reference is
# encoded, one given as text is sent as it is
sub call {
    my ($method, $path, $body) = @_;
    my %o = (headers => {%H});
    $o{content} = ref $body ? $JSON->encode($body) : $body
        if defined $body;
    my $r = $http->request($method, "http://127.0.0.1:$svc->{port}$path",
                           \%o);
    my $c = $r->{content} // '';
    my $d = eval { $JSON->decode($c) };
    return ($r->{status}, defined $d ? $d : $c);
}

# The case's files go into the request bodies as they are, never decoded
# and encoded again: the order of an object's members is the case's
# (States.JsonToString keeps it), and a number keeps its spelling.

# every definition put first: a refusal is that case's answer
my (%answer, @queue);
for my $name (@cases) {
    my $dir = "$CASES/$name";
    my ($s, $b) = call('POST', '/v1/definitions',
                       qq({"name":"c-$name","definition":)
                       . slurp("$dir/definition.json") . '}');
    if ($s != 200 && $s != 201) {
        $answer{$name} = { status => 'REFUSED', error => "definition: $s",
                           cause => ref $b ? $JSON->encode($b) : $b };
        next;
    }
    push @queue, $name;
}

# the executions, INFLIGHT at once: started, polled until they end
my (%running, %id);
my $deadline = time + $PATIENCE + @cases;
while ((@queue || %running) && time < $deadline) {
    while (@queue && keys %running < $INFLIGHT) {
        my $name = shift @queue;
        my $dir = "$CASES/$name";
        my $req = qq({"definition":"c-$name","input":)
                  . slurp("$dir/input.json") . ',"mocks":'
                  . slurp("$dir/mocks.json");
        if (-f "$dir/context.json") {
            my $ctx = $JSON->decode(slurp("$dir/context.json"));
            $req .= ',"name":' . $JSON->encode($ctx->{Execution}{Name})
                if ref $ctx->{Execution} eq 'HASH'
                   && defined $ctx->{Execution}{Name};
        }
        my ($s, $b) = call('POST', '/v1/executions', "$req}");
        if ($s != 201 || ref $b ne 'HASH' || !defined $b->{id}) {
            $answer{$name} = { status => 'REFUSED', error => "start: $s",
                               cause => ref $b ? $JSON->encode($b) : $b };
            next;
        }
        $id{$name} = $b->{id};
        $running{$name} = time + $PATIENCE;
    }
    for my $name (sort keys %running) {
        my ($s, $b) = call('GET', "/v1/executions/$id{$name}");
        if ($s == 200 && ref $b eq 'HASH'
            && ($b->{status} // 'RUNNING') ne 'RUNNING')
        {
            $answer{$name} = $b;
            delete $running{$name};
        } elsif ($s != 200 || time > $running{$name}) {
            $answer{$name} = { status => $s == 200 ? 'STILL RUNNING'
                                                   : "describe: $s",
                               cause => ref $b ? $JSON->encode($b) : $b };
            delete $running{$name};
        }
    }
    sleep 0.02 if %running;
}
$answer{$_} //= { status => 'NOT STARTED' } for @cases;

for my $name (@cases) {
    my ($ours, $exp) = ($answer{$name}, $expected{$name});

    if (my $f = $CONTEXT_ID{$name}) {
        # the context's Execution.Id is the service's own id
        if (ref $ours->{output} eq 'HASH' && ref $exp->{output} eq 'HASH') {
            is($ours->{output}{$f}, $id{$name},
               "$name: \$\$.Execution.Id is the execution's id");
            $ours = { %$ours, output => { %{ $ours->{output} } } };
            $ours->{output}{$f} = $exp->{output}{$f};
        }
    }

    my $d = differ($ours, $exp);
    ok(!defined $d, $name) or diag("$name: " . ($d // '')
        . "\n  service: " . $JSON->encode($ours)
        . "\n  workflow run: " . $JSON->encode($exp)
        . ($id{$name} ? "\n  execution $id{$name}" : ''));
}

my @errors = grep { ($_->{level} // '') eq 'error' }
             Service::log_lines($svc);
is(scalar @errors, 0, 'no error logged')
    or diag(join "\n", map { $JSON->encode($_) } @errors);

Service::stop($svc);
done_testing();
