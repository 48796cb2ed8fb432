# Pipelines as entities of the metadata service (docs/processing.md,
# "Pipelines from the metadata service"; docs/admin-api.md, the
# pipelines type): the admin API validates them against the processing
# service's own schema (422 with the member's pointer, the id is the
# name, Lua never run there), and the processing service follows them
# without a restart: a PUT starts a pipeline, a changed version replaces
# it with nothing lost or counted twice, a version whose Lua does not
# compile is refused and logged while the previous one keeps running, a
# DELETE stops its tasks and gives its leases up, a change whose
# gw:md:changed message was lost is read at the resubscription, and with
# pipelines_from = both an entity wins over a file of the same name
# until it is deleted.  gwctl export shows the entities.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX ();
use Test::More;

use Metadata;
use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary() && -x Metadata::binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $md = Metadata::start(redis => $redis->address,
                         env => { ANONYMOUS_ROLE => 'write',
                                  DOC_MAX => '256k' });

sub pipeline {
    my ($tag, %more) = @_;
    return {
        name => 'mdp',
        source => { topic => 'mdt', partitions => 2 },
        steps => [ { type => 'map',
                     lua => "return function (rec) rec.tag = '$tag'; "
                          . "return rec end" } ],
        sinks => [ { type => 'redis', command => 'hincrby',
                     key => 'count:{/tag}', field => '{/n}' } ],
        %more,
    };
}

sub put {
    my ($id, $doc, %h) = @_;
    %h = ('If-Match' => '*') unless %h;
    return Metadata::call($md, 'PUT', "/v1/pipelines/$id", $doc, %h);
}

sub pointers {
    my ($json) = @_;
    return join ' ', map { $_->{pointer} } @{ ref $json ? $json->{errors}
                                                        || [] : [] };
}

# ---- the admin API: the type and its schema ------------------------------

{
    my ($st, $schema) = Metadata::call($md, 'GET',
                                       '/v1/types/pipelines/schema');
    is($st, 200, 'the pipelines type has a schema');
    open my $in, '<', "$FindBin::Bin/../../backends/processing/"
                      . 'pipeline.schema.json' or die $!;
    my $file = JSON::PP::decode_json(do { local $/; <$in> });
    is_deeply($schema, $file,
              '... the processing service\'s pipeline.schema.json');
}

my @bad = (
    [ pipeline('x', sinks => []), '/sinks', 'no sink' ],
    [ pipeline('x', steps => [ { type => 'nope', lua => 'x' } ]),
      '/steps/0/type', 'an unknown step' ],
    [ pipeline('x', source => { topic => 'mdt', partitions => 0 }),
      '/source/partitions', 'no partitions' ],
    [ pipeline('x', sinks => [ { type => 'redis', command => 'del',
                                 key => 'k' } ]),
      '/sinks/0/command', 'a bad sink command' ],
    [ pipeline('x', steps => [ { type => 'map', lua => 'x' x 65537 } ]),
      '/steps/0/lua', 'Lua over its cap' ],
    [ pipeline('x', name => 'other'), '/name', 'a name not the id' ],
);

for my $case (@bad) {
    my ($doc, $ptr, $what) = @$case;
    my ($st, $json) = put('mdp', $doc, 'If-None-Match' => '*');
    is($st, 422, "$what: 422");
    like(pointers($json), qr{(^| )\Q$ptr\E( |$)}, "... at $ptr");
}

{
    my ($st, $json) = put('mdp', pipeline('x', steps => [
        { type => 'map', lua => 'x' x (300 * 1024) } ]),
        'If-None-Match' => '*');
    is($st, 413, 'a document over doc_max: 413');
}

{
    # the metadata service never runs the Lua: a syntax error is data
    my ($st) = put('lua-x', { %{ pipeline('x') }, name => 'lua-x',
                              steps => [ { type => 'map',
                                           lua => 'os.exit(1) (' } ] },
                   'If-None-Match' => '*');
    is($st, 201, 'Lua that does not compile is data to the admin API');
    my ($st2, undef, $r) = Metadata::call($md, 'POST', '/v1/pipelines',
        { %{ pipeline('x') }, name => 'by-post' });
    is($st2, 201, 'POST without an id: 201');
    like($r->{headers}{location} // '', qr{/v1/pipelines/by-post$},
         '... the id is the name');
    is((Metadata::call($md, 'DELETE', "/v1/pipelines/$_", undef,
                       'If-Match' => '*'))[0], 204, "$_ deleted")
        for qw(lua-x by-post);
}

# ---- the processing service follows the entities -------------------------

{
    my ($out, $rc) = Processing::run(env => { PIPELINES_FROM => 'nope' },
                                     args => [ '-t' ]);
    is($rc, 2, 'a bad pipelines_from: exit 2');
    like($out, qr/pipelines_from/, '... naming the key');
}

my $proc = Processing::start(env => { REDIS => $redis->address,
                                      PIPELINES_FROM => 'metadata',
                                      INSTANCE => 'i1' });

ok(Processing::eventually(sub {
    (Processing::get($proc, '/readyz'))[0] == 200 }),
   'ready with no pipeline entity yet');

sub logged {
    my ($msg, %f) = @_;
    return scalar grep {
        my $l = $_;
        ($l->{message} // '') eq $msg
            && !grep { ($l->{fields}{$_} // '') ne $f{$_} } keys %f
    } Processing::log_lines($proc);
}

sub counts {
    my %seen;
    for my $tag (qw(v1 v2 v4 v5 r1 r2 r3)) {
        my $h = Processing::hash($port, "count:$tag");
        push @{ $seen{$_} }, "$tag=$h->{$_}" for keys %$h;
    }
    return \%seen;
}

sub publish {
    my ($from, $to) = @_;
    Processing::publish($port, 'mdt', 2,
                        map { [ "k$_", { n => $_ } ] } $from .. $to);
}

sub done_upto {
    my ($to) = @_;
    return Processing::eventually(sub { keys(%{ counts() }) >= $to }, 20);
}

my ($st, undef, $r) = put('mdp', pipeline('v1'), 'If-None-Match' => '*');
is($st, 201, 'PUT of a pipeline: 201');
my $v1 = $r->{headers}{etag} =~ tr/"//dr;

ok(Processing::eventually(sub {
    Processing::metric($proc, 'proc_tasks_owned{pipeline="mdp"}') == 2 },
    20), 'its tasks are taken');
ok(logged('pipeline started', pipeline => 'mdp', from => 'metadata',
          version => $v1), '... logged with its version');

publish(1, 100);
ok(done_upto(100), 'events are processed');

($st, undef, $r) = put('mdp', pipeline('v2'));
is($st, 200, 'a changed version: 200');
my $v2 = $r->{headers}{etag} =~ tr/"//dr;
publish(101, 200);                      # while it changes

ok(Processing::eventually(sub {
    logged('pipeline started', pipeline => 'mdp', version => $v2) }, 20),
   'the new version started');
ok(logged('pipeline stopped', pipeline => 'mdp', version => $v1),
   '... after the old one stopped');
publish(201, 300);
ok(done_upto(300), 'every event processed');

my $c = counts();
is(scalar(grep { @{ $c->{$_} } == 1 && $c->{$_}[0] =~ /=1$/ } 1 .. 300),
   300, 'each exactly once across the versions');
is(scalar(grep { ($c->{$_}[0] // '') eq 'v2=1' } 201 .. 300), 100,
   'the later events by the new version');
is(scalar(grep { ($c->{$_}[0] // '') eq 'v1=1' } 1 .. 100), 100,
   'the earlier ones by the old');

# a version that passes the schema but not the processing service

($st) = put('mdp', pipeline('v3', steps => [
    { type => 'map', lua => "return function (rec) rec.tag = 'v3' " } ]));
is($st, 200, 'a version whose Lua does not compile passes the schema');
ok(Processing::eventually(sub {
    grep { ($_->{message} // '') eq 'pipeline refused'
           && ($_->{fields}{error} // '') =~ m{^/steps/0/lua: } }
    Processing::log_lines($proc) }, 20),
   'the processing service refuses it, logging its pointer');
publish(301, 350);
ok(done_upto(350), 'the events go on');
$c = counts();
is(scalar(grep { ($c->{$_}[0] // '') eq 'v2=1' } 301 .. 350), 50,
   '... through the previous version, still running');
is(Processing::hash($port, 'count:v3')->{301}, undef, 'v3 never ran');

# a delete stops the tasks and gives the leases up

($st) = Metadata::call($md, 'DELETE', '/v1/pipelines/mdp', undef,
                       'If-Match' => '*');
is($st, 204, 'DELETE: 204');
ok(Processing::eventually(sub {
    logged('pipeline stopped', pipeline => 'mdp', from => 'metadata')
        >= 2 }, 20), 'the pipeline stopped');
is(Processing::cmd($port, 'EXISTS', 'gw:proc:owner:mdp:0')
   + Processing::cmd($port, 'EXISTS', 'gw:proc:owner:mdp:1'), 0,
   '... its leases released');
is(Processing::metric($proc, 'proc_tasks_owned{pipeline="mdp"}'), 0,
   '... none owned');

publish(351, 400);
my $lag = sub {
    my $n = 0;
    for my $p (0, 1) {
        for my $g (@{ Processing::cmd($port, 'XINFO', 'GROUPS',
                                      "gw:topic:mdt:$p") || [] }) {
            my %g = @$g;
            $n += $g{lag} if $g{name} eq 'mdp';
        }
    }
    return $n;
};
# two lease periods: a running task would have read them by then
select undef, undef, undef, 3;
is($lag->(), 50, 'the new events wait in the group (lag 50)');
is(scalar(keys %{ counts() }), 350, 'nothing processed');

# created again: it goes on from the group's position, nothing lost

($st) = put('mdp', pipeline('v4'), 'If-None-Match' => '*');
is($st, 201, 'created again');
ok(done_upto(400), 'the waiting events are processed');
$c = counts();
is(scalar(grep { ($c->{$_}[0] // '') eq 'v4=1' } 351 .. 400), 50,
   '... by the new pipeline');
is(scalar(grep { @{ $c->{$_} } == 1 } 1 .. 400), 400, 'each once');
is($lag->(), 0, 'no lag');

# a change whose message was lost: the resubscription reads it

{
    my $h = Processing::hash($port, 'gw:md:e:pipelines:mdp');
    my $doc = JSON::PP::decode_json($h->{doc});
    $doc->{steps}[0]{lua} =~ s/'v4'/'v5'/;
    # written as a commit would, but published nowhere
    Processing::cmd($port, 'HSET', 'gw:md:e:pipelines:mdp',
                    v => $h->{v} + 1000, doc => JSON::PP::encode_json($doc));
    Processing::cmd($port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    ok(Processing::eventually(sub {
        logged('pipeline started', pipeline => 'mdp',
               version => $h->{v} + 1000) }, 20),
       'a change not published is read at the resubscription');
    publish(401, 410);
    ok(Processing::eventually(sub {
        keys(%{ Processing::hash($port, 'count:v5') }) == 10 }, 20),
       '... and runs');
    my $c = counts();
    is(scalar(grep { "@{ $c->{$_} }" eq 'v5=1' } 401 .. 410), 10,
       '... alone');
    # the store as the metadata service wrote it, for what follows
    Processing::cmd($port, 'HSET', 'gw:md:e:pipelines:mdp', %$h);
}

# changes in a row: a version waiting is replaced by the next

{
    my @v;
    my $n = 500;
    for my $tag (qw(r1 r2 r3)) {
        my ($st, undef, $r) = put('mdp', pipeline($tag));
        is($st, 200, "version $tag: 200");
        push @v, $r->{headers}{etag} =~ tr/"//dr;
        publish($n + 1, $n + 30);
        $n += 30;
    }
    ok(Processing::eventually(sub {
        logged('pipeline started', pipeline => 'mdp', version => $v[2]) },
        20), 'the last version runs');
    publish(591, 600);
    ok(done_upto(510), 'every event processed');
    my $c = counts();
    is(scalar(grep { @{ $c->{$_} || [] } == 1 && $c->{$_}[0] =~ /^r\d=1$/ }
              501 .. 600), 100, 'each exactly once');
    is(scalar(grep { $c->{$_}[0] eq 'r3=1' } 591 .. 600), 10,
       'the last ones by the last version');
}

# gwctl sees the entities

SKIP: {
    my $gwctl = "$FindBin::Bin/../../build/gwctl";
    skip 'build/gwctl is not built', 2 unless -x $gwctl;
    my $out = `$gwctl --api http://127.0.0.1:$md->{port} export 2>&1`;
    is($? >> 8, 0, 'gwctl export: exit 0');
    my $doc = eval { JSON::PP::decode_json($out) } || {};
    is_deeply([ map { $_->{id} } @{ $doc->{entities}{pipelines} || [] } ],
              [ 'mdp' ], '... lists the pipelines');
}

is(scalar(Processing::errors($proc)), 0, 'nothing logged at error');
Processing::stop($proc);

# ---- both sources: an entity wins over a file, until deleted -------------

{
    my $dir = Processing::pipelines({ %{ pipeline('file') },
                                      name => 'both' });
    my $p2 = Processing::start(env => { REDIS => $redis->address,
                                        PIPELINES => $dir,
                                        PIPELINES_FROM => 'both',
                                        INSTANCE => 'i2' });
    my $seen = sub {
        my ($tag, $n) = @_;
        Processing::eventually(sub {
            defined Processing::hash($port, "count:$tag")->{$n} }, 20);
    };
    my $pub = sub {
        Processing::publish($port, 'mdt', 2, [ "b$_[0]", { n => $_[0] } ]);
    };

    $pub->(1001);
    ok($seen->('file', 1001), 'both: the file runs');
    ($st) = put('both', { %{ pipeline('ent') }, name => 'both' },
                'If-None-Match' => '*');
    is($st, 201, 'an entity of the same name');
    ok(Processing::eventually(sub {
        grep { ($_->{message} // '') eq 'pipeline started'
               && ($_->{fields}{from} // '') eq 'metadata' }
        Processing::log_lines($p2) }, 20), '... replaces the file');
    $pub->(1002);
    ok($seen->('ent', 1002), '... and processes');
    ($st) = Metadata::call($md, 'DELETE', '/v1/pipelines/both', undef,
                           'If-Match' => '*');
    is($st, 204, 'the entity deleted');
    ok(Processing::eventually(sub {
        grep { ($_->{message} // '') eq 'pipeline started'
               && ($_->{fields}{from} // '') eq 'file' }
        Processing::log_lines($p2) }, 20), '... the file runs again');
    $pub->(1003);
    ok($seen->('file', 1003), '... and processes');
    is(scalar(Processing::errors($p2)), 0, 'nothing logged at error');
    Processing::stop($p2);
}

is(scalar(grep { ($_->{level} // '') eq 'error' }
          Metadata::log_lines($md)), 0, 'the metadata service: no error');

done_testing();
