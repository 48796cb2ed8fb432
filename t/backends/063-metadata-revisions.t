# The metadata service's change log as the API shows it, and rollback
# (backends/metadata/metadata_rev*.c, metadata_diff.c; docs/admin-api.md
# "Revisions, rollback and snapshots"):
#   - a sequence of creates, updates and deletes, listed revision by
#     revision (paged) with the right versions before and after, ops,
#     actor and request id; each revision's JSON Patch, applied by the
#     RFC 6902 reading in this file, turns its "before" into its "after";
#   - a rollback to revision k gives exactly the snapshot taken at k:
#     every entity's JSON equal but for version, updated_at and
#     updated_by (the members a new revision sets; created_at and
#     created_by come back too), as one new revision, itself rolled
#     back again; a dry run writes nothing; If-Match on the revision;
#   - a rollback racing a write through a second instance: Redis holds
#     writes (CLIENT PAUSE WRITE, reads still pass) until both commits
#     are queued, the write's first; the rollback gets 409
#     revision-conflict and writes nothing;
#   - retention (LOG_RETENTION=10): below the trim point 410
#     resync-required naming the first revision left and /v1/snapshot,
#     above it the log and rollback work; the snapshot's ETag and 304;
#   - bad revisions and parameters: 400 or 404 problem+json, never 500.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use POSIX ();
use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();

my $J = JSON::PP->new->canonical->allow_nonref;

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address);

sub rev { $redis->cli('GET', 'gw:md:rev') || 0 }

# a refusal: the status, problem+json of the type, a request_id
sub problem {
    my ($got, $status, $type, $name) = @_;
    my ($st, $json, $r) = @$got;
    is($st, $status, "$name: $status");
    like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
         "$name: problem+json");
    is(ref $json eq 'HASH' ? $json->{type} : undef,
       "urn:tollgate:problem:$type", "$name: $type");
    ok(ref $json eq 'HASH' && length($json->{request_id} // ''),
       "$name: request_id");
    return $json;
}

# ---- RFC 6902 (add, remove, replace) with RFC 6901 pointers -------------

sub clone { defined $_[0] ? $J->decode($J->encode($_[0])) : undef }

sub apply_patch {
    my ($doc, $patch) = @_;
    $doc = clone($doc);
    for my $op (@$patch) {
        my ($name, $path) = @$op{qw(op path)};
        if ($path eq '') {
            $doc = $name eq 'remove' ? undef : clone($op->{value});
            next;
        }
        die "bad pointer $path" unless $path =~ m{^/};
        my @t = map { s/~1/\//gr =~ s/~0/~/gr } split m{/}, substr($path, 1),
                                                     -1;
        my $last = pop @t;
        my $p = $doc;
        for my $t (@t) {
            $p = ref $p eq 'HASH' ? $p->{$t} : $p->[$t];
            die "no parent for $path" unless ref $p;
        }
        if (ref $p eq 'HASH') {
            die "no member at $path"
                if $name ne 'add' && !exists $p->{$last};
            if ($name eq 'remove') { delete $p->{$last} }
            else { $p->{$last} = clone($op->{value}) }
        } else {
            my $i = $last eq '-' ? @$p : $last;
            die "bad index at $path" unless $i =~ /^(0|[1-9]\d*)$/
                && $i <= @$p && ($name eq 'add' || $i < @$p);
            if ($name eq 'add') { splice @$p, $i, 0, clone($op->{value}) }
            elsif ($name eq 'remove') { splice @$p, $i, 1 }
            else { $p->[$i] = clone($op->{value}) }
        }
    }
    return $doc;
}

# the snapshot's entities without the members a new revision sets
sub state_of {
    my ($snap) = @_;
    my %out;
    for my $type (keys %{ $snap->{entities} }) {
        $out{$type} = [ map { my %d = %$_;
                              delete @d{qw(version updated_at updated_by)};
                              \%d } @{ $snap->{entities}{$type} } ];
    }
    return $J->encode(\%out);
}

sub snapshot {
    my ($s) = @_;
    my ($st, $json, $r) = Metadata::call($s // $svc, 'GET', '/v1/snapshot');
    is($st, 200, 'snapshot read');
    return ($json, $r);
}

# ---- a sequence of changes --------------------------------------------------

my @steps = (
    [ PUT => '/v1/consumers/c1', { name => 'Alice', tags => ['team-a'] },
      'If-None-Match' => '*' ],
    [ PUT => '/v1/upstreams/u1',
      { targets => [{ address => '10.0.0.1:8080', weight => 10 }] },
      'If-None-Match' => '*' ],
    [ PUT => '/v1/routes/r1',
      { paths => ['/things'], methods => ['GET'], upstream => 'u1' },
      'If-None-Match' => '*' ],
    [ PATCH => '/v1/consumers/c1', { name => 'Alice B',
                                     tags => ['team-a', 'ops'] },
      'If-Match' => '"1"', 'Content-Type' => 'application/merge-patch+json' ],
    [ PUT => '/v1/consumers/c2', { name => 'Bob' }, 'If-None-Match' => '*' ],
    [ DELETE => '/v1/routes/r1', undef, 'If-Match' => '"3"' ],
    [ PUT => '/v1/upstreams/u1',
      { targets => [{ address => '10.0.0.2:8080', weight => 5 },
                    { address => '10.0.0.3:8080' }],
        algorithm => 'least_conn' }, 'If-Match' => '"2"' ],
    [ DELETE => '/v1/upstreams/u1', undef, 'If-Match' => '"7"' ],
    [ PUT => '/v1/limits/l1', { kind => 'rate', rate => '10r/s' },
      'If-None-Match' => '*' ],
);

# what each step is: type, id, version before, after, op
my @expect = (
    [ consumers => c1 => 0, 1, 'create' ],
    [ upstreams => u1 => 0, 2, 'create' ],
    [ routes => r1 => 0, 3, 'create' ],
    [ consumers => c1 => 1, 4, 'update' ],
    [ consumers => c2 => 0, 5, 'create' ],
    [ routes => r1 => 3, 0, 'delete' ],
    [ upstreams => u1 => 2, 7, 'update' ],
    [ upstreams => u1 => 7, 0, 'delete' ],
    [ limits => l1 => 0, 9, 'create' ],
);

my ($actor, %snap);
for my $i (0 .. $#steps) {
    my ($method, $url, $body, %h) = @{ $steps[$i] };
    my $n = $i + 1;
    my ($st, $json) = Metadata::call($svc, $method, $url, $body, %h,
                                     'X-Request-ID' => "rq-$n");
    ok($st == 200 || $st == 201 || $st == 204, "step $n: $method $url")
        or diag explain $json;
    $actor //= $json->{updated_by} if ref $json eq 'HASH';
    is(rev(), $n, "step $n: revision $n");
    ($snap{$n}) = snapshot() if $n == 3 || $n == 9;
}
ok(length($actor // ''), "the actor: $actor");

# ---- the list, paged ----------------------------------------------------------

my ($st, $json) = Metadata::call($svc, 'GET', '/v1/revisions');
is($st, 200, 'revisions listed');
is($json->{revision}, 9, 'the current revision');
is($json->{next}, undef, 'one page: no next');
is(scalar @{ $json->{items} }, 9, 'nine revisions');
for my $i (0 .. 8) {
    my $item = $json->{items}[$i];
    my ($type, $id, $vb, $va, $op) = @{ $expect[$i] };
    my $n = $i + 1;
    is($item->{revision}, $n, "item $n: revision");
    is($item->{actor}, $actor, "item $n: actor");
    is($item->{request_id}, "rq-$n", "item $n: request id");
    like($item->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
         "item $n: time");
    is_deeply($item->{changes},
              [{ type => $type, id => $id, version_before => $vb,
                 version_after => $va, op => $op }],
              "item $n: $op $type/$id $vb -> $va");
}

my @pages;
my $since = 0;
while (1) {
    ($st, $json) = Metadata::call($svc, 'GET',
                                  "/v1/revisions?since=$since&limit=4");
    is($st, 200, "page since $since");
    push @pages, [ map { $_->{revision} } @{ $json->{items} } ];
    last unless defined $json->{next};
    $since = $json->{next};
    last if @pages > 5;
}
is_deeply(\@pages, [[1 .. 4], [5 .. 8], [9]], 'pages of 4: next is a since');

($st, $json) = Metadata::call($svc, 'GET', '/v1/revisions?since=9');
is_deeply([$st, $json->{items}, $json->{next}], [200, [], undef],
          'since the current revision: nothing, no next');

# ---- each revision: docs before and after, the patch between them -------------

for my $n (1 .. 9) {
    ($st, $json) = Metadata::call($svc, 'GET', "/v1/revisions/$n");
    is($st, 200, "revision $n read");
    my ($type, $id, $vb, $va, $op) = @{ $expect[$n - 1] };
    my $c = $json->{changes}[0];
    is(scalar @{ $json->{changes} }, 1, "revision $n: one change");
    is_deeply([@$c{qw(type id version_before version_after op)}],
              [$type, $id, $vb, $va, $op], "revision $n: the change");
    is($json->{request_id}, "rq-$n", "revision $n: request id");
    is($c->{before} && $c->{before}{version}, $vb || undef,
       "revision $n: before's version");
    is($c->{after} && $c->{after}{version}, $va || undef,
       "revision $n: after's version");
    my $got = eval { apply_patch($c->{before}, $c->{diff}) };
    is($J->encode($got), $J->encode($c->{after}),
       "revision $n: the diff applied to before gives after")
        or diag explain [$@, $c];
}

($st, $json) = Metadata::call($svc, 'GET', '/v1/revisions/4');
ok((grep { $_->{op} eq 'replace' && $_->{path} eq '/name' }
    @{ $json->{changes}[0]{diff} }), 'revision 4: /name replaced');

# ---- rollback ----------------------------------------------------------------

my $log_len = $redis->cli('XLEN', 'gw:md:log');
($st, $json) = Metadata::call($svc, 'POST',
                              '/v1/revisions/3/rollback?dry_run=true');
is($st, 200, 'dry run');
is($json->{revision}, 9, 'dry run: the current revision');
is_deeply([ map { "$_->{op} $_->{type}/$_->{id}" } @{ $json->{changes} } ],
          ['delete limits/l1', 'create upstreams/u1', 'create routes/r1',
           'delete consumers/c2', 'update consumers/c1'],
          'dry run: the changes, latest undone first');
my ($c1) = grep { $_->{id} eq 'c1' } @{ $json->{changes} };
is($c1->{version}, 4, 'dry run: c1 at version 4 now');
is_deeply(apply_patch({ name => 'Alice B', tags => ['team-a', 'ops'] },
                      [ grep { $_->{path} =~ m{^/(name|tags)} }
                        @{ $c1->{diff} } ]),
          { name => 'Alice', tags => ['team-a'] }, 'dry run: c1 diff');
is(rev(), 9, 'dry run: no revision');
is($redis->cli('XLEN', 'gw:md:log'), $log_len, 'dry run: no log entry');

problem([Metadata::call($svc, 'POST', '/v1/revisions/3/rollback', undef,
                        'If-Match' => '"8"')],
        412, 'precondition-failed', 'rollback, If-Match a stale revision');
problem([Metadata::call($svc, 'POST', '/v1/revisions/3/rollback', undef,
                        'If-Match' => 'W/"9"')],
        412, 'precondition-failed', 'rollback, If-Match weak');
problem([Metadata::call($svc, 'POST', '/v1/revisions/3/rollback', undef,
                        'If-Match' => '9')],
        400, 'bad-request', 'rollback, If-Match malformed');
problem([Metadata::call($svc, 'POST',
                        '/v1/revisions/3/rollback?dry_run=maybe')],
        400, 'bad-request', 'rollback, dry_run=maybe');
problem([Metadata::call($svc, 'POST', '/v1/revisions/3/rollback?x=1')],
        400, 'bad-request', 'rollback, an unknown parameter');
is(rev(), 9, 'refused rollbacks: no revision');

($st, $json) = Metadata::call($svc, 'POST', '/v1/revisions/3/rollback',
                              undef, 'If-Match' => '"9"',
                              'X-Request-ID' => 'rq-rollback');
is($st, 200, 'rolled back to 3') or diag explain $json;
is_deeply($json, { revision => 10, changes => 5 },
          'one new revision, five changes');
my ($now) = snapshot();
is($now->{revision}, 10, 'snapshot at 10');
is(state_of($now), state_of($snap{3}),
   'the state is the snapshot at 3 (but version, updated_at, updated_by)');
is_deeply([ map { $_->{version} } map { @$_ } values %{ $now->{entities} } ],
          [ (10) x 3 ], 'every restored entity at version 10');

($st, $json) = Metadata::call($svc, 'GET', '/v1/revisions/10');
is($json->{request_id}, 'rq-rollback', 'revision 10: request id');
is($json->{actor}, $actor, 'revision 10: actor');
is(scalar @{ $json->{changes} }, 5, 'revision 10: five changes');
for my $c (@{ $json->{changes} }) {
    my $got = eval { apply_patch($c->{before}, $c->{diff}) };
    is($J->encode($got), $J->encode($c->{after}),
       "revision 10: $c->{type}/$c->{id}: diff gives after");
}
my ($r1) = grep { $_->{id} eq 'r1' } @{ $json->{changes} };
is_deeply([@$r1{qw(op version_before version_after)}], ['create', 0, 10],
          'revision 10: r1 created again');
is($r1->{after}{created_at},
   (grep { $_->{id} eq 'r1' } @{ $snap{3}{entities}{routes} })[0]
       ->{created_at}, 'r1 keeps its created_at');

($st, $json) = Metadata::call($svc, 'POST', '/v1/revisions/9/rollback');
is_deeply([$st, $json], [200, { revision => 11, changes => 5 }],
          'the rollback rolled back (to 9)');
($now) = snapshot();
is(state_of($now), state_of($snap{9}), 'the state is the snapshot at 9');

($st, $json) = Metadata::call($svc, 'POST', '/v1/revisions/11/rollback');
is_deeply([$st, $json], [200, { revision => 11, changes => 0 }],
          'to the current revision: nothing to do');
($st, $json) = Metadata::call($svc, 'POST', '/v1/revisions/9/rollback');
is_deeply([$st, $json], [200, { revision => 11, changes => 0 }],
          'to a revision whose state is the current one: nothing to do');
is(rev(), 11, 'no revision for nothing');

# ---- a rollback racing a write --------------------------------------------------

my $svc2 = Metadata::start(redis => $redis->address);
my ($before_race) = snapshot();
my $tmp = Metadata::tmp();

sub blocked { ($redis->cli('INFO', 'clients') =~ /blocked_clients:(\d+)/)[0] }

# in a child: the call, its answer in a file
sub call_bg {
    my ($file, @call) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($s, $j) = eval { Metadata::call(@call) };
        open my $out, '>', $file or POSIX::_exit(1);
        print {$out} $J->encode([$s // 0, $j]);
        close $out;
        POSIX::_exit(0);
    }
    return $pid;
}

sub answer { $J->decode(Metadata::slurp($_[0]) || '[0, null]') }

is($redis->cli('CLIENT', 'PAUSE', 30000, 'WRITE'), 'OK',
   'Redis holds writes');
my $w = call_bg("$tmp/race-write", $svc2, 'PUT', '/v1/consumers/c1',
                { name => 'Carol' }, 'If-Match' => '*');
ok(Metadata::wait_for(sub { blocked() >= 1 }, 20),
   'the write waits at its commit');
my $rb = call_bg("$tmp/race-rollback", $svc, 'POST',
                 '/v1/revisions/3/rollback');
ok(Metadata::wait_for(sub { blocked() >= 2 }, 20),
   'the rollback read the log and waits at its commit, after the write');
$redis->cli('CLIENT', 'UNPAUSE');
waitpid $_, 0 for $w, $rb;

my $wa = answer("$tmp/race-write");
my $ra = answer("$tmp/race-rollback");
is($wa->[0], 200, 'the write won');
is($ra->[0], 409, 'the rollback: 409');
is(ref $ra->[1] eq 'HASH' && $ra->[1]{type},
   'urn:tollgate:problem:revision-conflict', 'revision-conflict');
is(rev(), 12, 'one revision: the write');
($now) = snapshot();
my %expect_state = %{ $J->decode(state_of($before_race)) };
for my $c (grep { $_->{id} eq 'c1' } @{ $expect_state{consumers} }) {
    $c->{name} = 'Carol';           # a PUT: the whole data replaced
    delete $c->{tags};
}
is(state_of($now), $J->encode(\%expect_state),
   'the state: the write alone, nothing of the rollback');
is(scalar(() = Metadata::md_log($redis, '12-0', '+')), 1,
   'the log: the write\'s entry alone');

# ---- bad revisions and parameters ---------------------------------------------

for my $t (['/v1/revisions/0', 404, 'not-found'],
           ['/v1/revisions/13', 404, 'not-found'],
           ['/v1/revisions/9223372036854775807', 404, 'not-found'],
           ['/v1/revisions/9223372036854775808', 400, 'bad-request'],
           ['/v1/revisions/99999999999999999999999', 400, 'bad-request'],
           ['/v1/revisions/-1', 400, 'bad-request'],
           ['/v1/revisions/abc', 400, 'bad-request'],
           ['/v1/revisions/1.5', 400, 'bad-request'],
           ['/v1/revisions/+1', 400, 'bad-request'],
           ['/v1/revisions/%201', 400, 'bad-request'],
           ['/v1/revisions/', 400, 'bad-request'],
           ['/v1/revisions/1/more', 404, 'not-found'],
           ['/v1/revisions?since=-1', 400, 'bad-request'],
           ['/v1/revisions?since=abc', 400, 'bad-request'],
           ['/v1/revisions?since=', 400, 'bad-request'],
           ['/v1/revisions?since=9223372036854775808', 400, 'bad-request'],
           ['/v1/revisions?since=13', 404, 'not-found'],
           ['/v1/revisions?since=9223372036854775807', 404, 'not-found'],
           ['/v1/revisions?limit=0', 400, 'bad-request'],
           ['/v1/revisions?limit=1001', 400, 'bad-request'],
           ['/v1/revisions?since=1&since=2', 400, 'bad-request'],
           ['/v1/revisions?cursor=1', 400, 'bad-request'],
           ['/v1/revisions?since', 400, 'bad-request'])
{
    my ($url, $status, $type) = @$t;
    problem([Metadata::call($svc, 'GET', $url)], $status, $type, "GET $url");
}

for my $t (['/v1/revisions/0/rollback', 404, 'not-found'],
           ['/v1/revisions/13/rollback', 404, 'not-found'],
           ['/v1/revisions/9223372036854775807/rollback', 404, 'not-found'],
           ['/v1/revisions/9223372036854775808/rollback', 400,
            'bad-request'],
           ['/v1/revisions/-3/rollback', 400, 'bad-request'],
           ['/v1/revisions/x/rollback', 400, 'bad-request'])
{
    my ($url, $status, $type) = @$t;
    problem([Metadata::call($svc, 'POST', $url)], $status, $type,
            "POST $url");
}

problem([Metadata::call($svc, 'GET', '/v1/revisions/1/rollback')],
        405, 'method-not-allowed', 'GET of a rollback');
problem([Metadata::call($svc, 'POST', '/v1/revisions/1')],
        405, 'method-not-allowed', 'POST of a revision');
is(rev(), 12, 'nothing written by refusals');

# ---- retention and resync ---------------------------------------------------------

my $redis2 = Tollgate::Redis->start;
my $svc3 = Metadata::start(redis => $redis2->address,
                           env => { LOG_RETENTION => 10 });
my $s15;
for my $i (1 .. 25) {
    ($st) = Metadata::call($svc3, 'PUT', "/v1/consumers/k$i",
                           { name => "n$i" }, 'If-None-Match' => '*');
    ($s15) = snapshot($svc3) if $i == 15;
}
is($st, 201, '25 revisions');
is($redis2->cli('GET', 'gw:md:trimmed'), 15, 'the log keeps the last 10');

$json = problem([Metadata::call($svc3, 'GET', '/v1/revisions?since=14')],
                410, 'resync-required', 'since behind the log');
is($json->{first_revision}, 16, '410 names the first revision left');
is($json->{snapshot}, '/v1/snapshot', '410 points at /v1/snapshot');
problem([Metadata::call($svc3, 'GET', '/v1/revisions/15')],
        410, 'resync-required', 'a trimmed revision');
problem([Metadata::call($svc3, 'GET', '/v1/revisions/1')],
        410, 'resync-required', 'the first revision, trimmed');
problem([Metadata::call($svc3, 'POST', '/v1/revisions/14/rollback')],
        410, 'resync-required', 'a rollback the log cannot reach');

($st, $json) = Metadata::call($svc3, 'GET', '/v1/revisions?since=15');
is($st, 200, 'since the trim point: listed');
is_deeply([ map { $_->{revision} } @{ $json->{items} } ], [16 .. 25],
          'revisions 16 to 25');
($st, $json) = Metadata::call($svc3, 'GET', '/v1/revisions?limit=4');
is($st, 200, 'without since: listed');
is_deeply([ (map { $_->{revision} } @{ $json->{items} }), $json->{next} ],
          [16 .. 19, 19], 'without since: from the first revision left');
problem([Metadata::call($svc3, 'GET', '/v1/revisions?since=0')],
        410, 'resync-required', 'since=0 behind the log');
($st) = Metadata::call($svc3, 'GET', '/v1/revisions/16');
is($st, 200, 'the first revision left');

($st, $json) = Metadata::call($svc3, 'POST', '/v1/revisions/15/rollback');
is_deeply([$st, $json], [200, { revision => 26, changes => 10 }],
          'a rollback to the trim point: 10 deletes');
my ($s26, $r26) = snapshot($svc3);
is(state_of($s26), state_of($s15), 'the state is the snapshot at 15');
is(Metadata::etag($r26), '"26"', 'the snapshot\'s ETag: its revision');
($st) = Metadata::call($svc3, 'GET', '/v1/snapshot', undef,
                       'If-None-Match' => '"26"');
is($st, 304, 'snapshot If-None-Match current: 304');
($st) = Metadata::call($svc3, 'GET', '/v1/snapshot', undef,
                       'If-None-Match' => '"25"');
is($st, 200, 'snapshot If-None-Match old: 200');
is($redis2->cli('GET', 'gw:md:trimmed'), 16, 'the rollback trimmed too');
problem([Metadata::call($svc3, 'GET', '/v1/revisions?since=15')],
        410, 'resync-required', 'since 15 now behind the log');

# ---- a user type and its entities --------------------------------------------

for my $step ([PUT => '/v1/types/colors',
               { schema => { type => 'object',
                             properties => { hex => { type => 'string' } } } },
               'If-None-Match' => '*'],
              [PUT => '/v1/entities/colors/red', { hex => '#f00' },
               'If-None-Match' => '*'],
              [DELETE => '/v1/entities/colors/red', undef, 'If-Match' => '*'],
              [DELETE => '/v1/types/colors', undef, 'If-Match' => '*'])
{
    my ($method, $url, $body, %h) = @$step;
    ($st) = Metadata::call($svc3, $method, $url, $body, %h);
    ok($st =~ /^20[014]$/, "$method $url");
}
is($redis2->cli('GET', 'gw:md:rev'), 30, 'revision 30: the type deleted');
$json = problem([Metadata::call($svc3, 'POST', '/v1/revisions/28/rollback')],
                409, 'conflict', 'an entity of a deleted type');
like($json->{detail}, qr/u\.colors/, '409 names the type');
is($redis2->cli('GET', 'gw:md:rev'), 30, 'nothing written');
($st, $json) = Metadata::call($svc3, 'POST', '/v1/revisions/29/rollback');
is_deeply([$st, $json], [200, { revision => 31, changes => 1 }],
          'the type first');
($st, $json) = Metadata::call($svc3, 'POST', '/v1/revisions/28/rollback');
is_deeply([$st, $json], [200, { revision => 32, changes => 1 }],
          'then its entity');
($st, $json) = Metadata::call($svc3, 'GET', '/v1/entities/colors/red');
is_deeply([$st, $json->{hex}, $json->{version}], [200, '#f00', 32],
          'the entity is back');

# ---- a key: deleted, rolled back, its hash carried over -------------------------

my ($kst, $key) = Metadata::call($svc3, 'POST', '/v1/keys',
                                 { consumer => 'k1' });
is($kst, 201, 'a key made (revision 33)');
my ($kid, $secret) = @$key{qw(id secret)};
ok(length($secret // '') && $kid =~ /^[0-9a-f]{64}$/, 'its secret, once');
is($redis2->cli('EXISTS', "gw:key:$kid"), 1, 'the gateway\'s record');
($st) = Metadata::call($svc3, 'DELETE', "/v1/keys/$kid", undef,
                       'If-Match' => '*');
is($st, 204, 'the key deleted (revision 34)');
is($redis2->cli('EXISTS', "gw:key:$kid"), 0, 'its record gone');
($st, $json) = Metadata::call($svc3, 'POST', '/v1/revisions/33/rollback');
is_deeply([$st, $json], [200, { revision => 35, changes => 1 }],
          'rolled back to 33');
($st, $json) = Metadata::call($svc3, 'GET', "/v1/keys/$kid");
is_deeply([$st, $json->{consumer}], [200, 'k1'], 'the key is back');
is($redis2->cli('EXISTS', "gw:key:$kid"), 1,
   'its record too, under the same hash');
my (undef, undef, $raw) = Metadata::call($svc3, 'GET', '/v1/revisions/35');
unlike($raw->{content}, qr/\Q$secret\E/, 'the secret is nowhere in the log');

# ---- access: reads need read, a rollback write ---------------------------------

SKIP: {
    my ($anon) = Metadata::call($svc, 'GET', '/v1/revisions', undef,
                                as => undef);
    skip 'access lets anyone in (anonymous_role or a placeholder)', 9
        if $anon == 200;
    is($anon, 401, 'no identity: 401');
    for my $url ('/v1/revisions', '/v1/revisions/1', '/v1/snapshot') {
        ($st) = Metadata::call($svc, 'GET', $url, undef, as => 'read');
        is($st, 200, "read role: GET $url");
    }
    problem([Metadata::call($svc, 'POST', '/v1/revisions/1/rollback', undef,
                            as => 'read')],
            403, 'forbidden', 'read role: rollback');
    is(rev(), 12, 'nothing written');
}

# ---- the logs: nothing at error ------------------------------------------------

for my $s ($svc, $svc2, $svc3) {
    my @errors = grep { ($_->{level} // '') eq 'error' }
                 Metadata::log_lines($s);
    is(scalar @errors, 0, 'no error logged') or diag explain \@errors;
    is(Metadata::stop($s), 0, 'stopped cleanly');
}

done_testing();
