# PUT /v1/config (backends/metadata/metadata_config.c, docs/admin-api.md,
# "Declarative configuration"): a whole document applied as one revision
# or not at all.  Each refusal is checked against the snapshot before and
# after: an invalid entity among many, a stale expected_revision, a dry
# run and a broken reference change nothing at all.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => 'build/backends/metadata is not built (make backends)'
    unless -x Metadata::binary();

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address);

sub apply {
    my ($doc, %opt) = @_;
    my $path = '/v1/config' . ($opt{dry} ? '?dry_run=true' : '');
    return Metadata::call($svc, 'PUT', $path, $doc, %{ $opt{h} || {} });
}

sub snapshot {
    my ($st, $j) = Metadata::call($svc, 'GET', '/v1/snapshot');
    is($st, 200, 'GET /v1/snapshot') or diag explain $j;
    return $j;
}

sub upstream { { id => $_[0], targets => [ { address => "10.0.0.1:80" } ] } }

sub route {
    my ($i, %over) = @_;
    return { id => "r$i", paths => [ "/api/r$i" ], upstream => 'u1', %over };
}

my @routes = map { route($_) } 0 .. 49;
my $doc = { expected_revision => 0,
            entities => { upstreams => [ upstream('u1'), upstream('u2') ],
                          routes => \@routes } };

# ---- apply creates all ---------------------------------------------------

my $s0 = snapshot();
is($s0->{revision}, 0, 'an empty store is at revision 0');

my ($st, $j, $r) = apply($doc);
is($st, 200, 'apply: 200') or diag explain $j;
is_deeply($j, { revision => 1, created => 52, updated => 0, deleted => 0 },
          'one revision, 52 created');

my $s1 = snapshot();
is($s1->{revision}, 1, 'the snapshot is at revision 1');
is(scalar @{ $s1->{entities}{routes} }, 50, '50 routes');
is(scalar @{ $s1->{entities}{upstreams} }, 2, '2 upstreams');
my ($r7) = grep { $_->{id} eq 'r7' } @{ $s1->{entities}{routes} };
is_deeply([ @$r7{qw(paths upstream version created_by)} ],
          [ [ '/api/r7' ], 'u1', 1, 'tester' ],
          'a route as the document had it, with its meta members');

# ---- re-apply is a no-op -------------------------------------------------

$doc->{expected_revision} = 1;
($st, $j) = apply($doc);
is($st, 200, 're-apply: 200');
is_deeply($j, { revision => 1, created => 0, updated => 0, deleted => 0 },
          're-apply: nothing changed, no new revision');

($st, $j) = apply($s1);
is($st, 200, 'the snapshot itself applies back (its "revision", its meta)')
    or diag explain $j;
is_deeply($j, { revision => 1, created => 0, updated => 0, deleted => 0 },
          'and is no change');
is_deeply(snapshot(), $s1, 'the state is what it was');

# ---- one route changed: one revision, one change -------------------------

$routes[7] = route(7, upstream => 'u2');
($st, $j) = apply($doc);
is($st, 200, 'one route changed: 200') or diag explain $j;
is_deeply($j, { revision => 2, created => 0, updated => 1, deleted => 0 },
          'one revision with one update');

my $s2 = snapshot();
my @v2 = grep { $_->{version} == 2 }
         map { @$_ } values %{ $s2->{entities} };
is_deeply([ map { $_->{id} } @v2 ], [ 'r7' ],
          'only r7 has the new version');
is($v2[0]{upstream}, 'u2', 'r7 goes to u2');
is($v2[0]{created_at}, $r7->{created_at}, 'its created_at is kept');
($st, $j) = Metadata::call($svc, 'GET', '/v1/revisions?since=1');
is_deeply([ map { [ $_->{revision},
                    map { "$_->{op} $_->{type}/$_->{id}" } @{ $_->{changes} } ]
                } @{ $j->{items} } ],
          [ [ 2, 'update routes/r7' ] ],
          'the change log: revision 2 holds the one change')
    or diag explain $j;
isnt($v2[0]{updated_at}, undef, 'its updated_at is set');

# ---- an invalid route among 50: 422, nothing changed ---------------------

$doc->{expected_revision} = 2;
my @bad = map { route($_, upstream => 'u2') } 0 .. 49;
$bad[17] = route(17, paths => 'not-an-array');
($st, $j, $r) = apply({ %$doc, entities => { %{ $doc->{entities} },
                                             routes => \@bad } });
is($st, 422, 'one invalid route among 50: 422');
like($r->{headers}{'content-type'}, qr{^application/problem\+json},
     'problem+json');
is($j->{type}, 'urn:tollgate:problem:validation-failed', 'validation-failed');
ok(@{ $j->{errors} } >= 1
   && !grep({ $_->{pointer} !~ m{^/entities/routes/17(/|$)} }
            @{ $j->{errors} }),
   'every error points into /entities/routes/17')
    or diag explain $j->{errors};
is_deeply(snapshot(), $s2, 'nothing changed: the same snapshot, revision 2');

# every error of the document at once

@bad = map { route($_) } 0 .. 49;
$bad[3] = route(3, paths => []);
$bad[40] = route(40, priority => 'high');
($st, $j) = apply({ %$doc, entities => { routes => \@bad } });
is($st, 422, 'two invalid routes: 422');
is_deeply([ sort map { (split m{/}, $_->{pointer})[3] } @{ $j->{errors} } ],
          [ 3, 40 ], 'both are named') or diag explain $j;

# ---- a stale expected_revision: 409, nothing changed ---------------------

$routes[8] = route(8, upstream => 'u2');
($st, $j, $r) = apply({ %$doc, expected_revision => 1 });
is($st, 409, 'a stale expected_revision: 409');
is($j->{type}, 'urn:tollgate:problem:revision-conflict',
   'revision-conflict');
like($j->{detail}, qr/\b1\b.*\b2\b/, 'naming both revisions');
is_deeply(snapshot(), $s2, 'nothing changed');

($st, $j) = apply({ %$doc, expected_revision => 7 });
is($st, 409, 'a future expected_revision: 409 too');

# ---- dry run: the diff, nothing written ----------------------------------

my @dry = map { route($_) } 0 .. 48;       # r49 deleted
$dry[7] = route(7, upstream => 'u2');
$dry[8] = route(8, upstream => 'u2');      # updated
push @dry, route(50);                      # created
($st, $j) = apply({ expected_revision => 2,
                    entities => { routes => \@dry } }, dry => 1);
is($st, 200, 'dry run: 200') or diag explain $j;
is($j->{revision}, 2, 'at the current revision');
my %ops = map { ("$_->{type}/$_->{id}" => $_) } @{ $j->{changes} };
is_deeply([ sort map { "$_->{op} $_->{type}/$_->{id}" } @{ $j->{changes} } ],
          [ 'create routes/r50', 'delete routes/r49', 'update routes/r8' ],
          'the changes: one create, one update, one delete');
is_deeply($ops{'routes/r8'}{diff},
          [ { op => 'replace', path => '/upstream', value => 'u2' } ],
          'the update\'s JSON Patch');
is($ops{'routes/r50'}{diff}[0]{op}, 'add', 'the create adds the document');
is($ops{'routes/r49'}{diff}[0]{op}, 'remove', 'the delete removes it');
is_deeply(snapshot(), $s2, 'a dry run writes nothing');

($st, $j) = apply({ entities => { routes => \@dry } }, dry => 1);
is($st, 200, 'a dry run needs no expected_revision');

# ---- absent types untouched, present types replaced whole ----------------

($st, $j) = apply({ expected_revision => 2,
                    entities => { upstreams => [ upstream('u1'),
                                                 upstream('u2'),
                                                 upstream('u3') ] } });
is_deeply($j, { revision => 3, created => 1, updated => 0, deleted => 0 },
          'only upstreams: one created');
my $s3 = snapshot();
is_deeply($s3->{entities}{routes}, $s2->{entities}{routes},
          'the routes, absent from the document, are untouched');

($st, $j) = apply({ expected_revision => 3,
                    entities => { routes => \@dry } });
is_deeply($j, { revision => 4, created => 1, updated => 1, deleted => 1 },
          'routes replaced whole: r49 deleted, r50 created, r8 updated')
    or diag explain $j;
my $s4 = snapshot();
is_deeply([ sort map { $_->{id} } @{ $s4->{entities}{routes} } ],
          [ sort map { "r$_" } 0 .. 48, 50 ], 'the routes listed, no other');

# ---- what the commit script refuses: nothing changed ---------------------

($st, $j) = apply({ expected_revision => 4,
                    entities => { routes => [ @dry, route(51, upstream =>
                                                          'nowhere') ] } });
is($st, 409, 'a route to a missing upstream: 409');
is($j->{type}, 'urn:tollgate:problem:conflict', 'conflict');
like(join(' ', map { $_->{pointer} } @{ $j->{errors} || [] }),
     qr{^/entities/routes/50$}, 'pointing at the route') or diag explain $j;
is_deeply(snapshot(), $s4, 'nothing changed');

($st, $j) = apply({ expected_revision => 4,
                    entities => { upstreams => [ upstream('u1') ] } });
is($st, 409, 'deleting an upstream routes use: 409');
is_deeply(snapshot(), $s4, 'nothing changed');

($st, $j) = apply({ expected_revision => 4,
                    entities => { routes => [ @dry, route(51, paths =>
                                                          [ '/api/r0' ]) ] } });
is($st, 409, 'two routes matching the same requests: 409')
    or diag explain $j;
is_deeply(snapshot(), $s4, 'nothing changed');

# ---- a dry run refuses what the apply refuses ----------------------------

my $rev4 = $redis->cli('GET', 'gw:md:rev');
my $log4 = $redis->cli('XLEN', 'gw:md:log');
for my $m (
    [ 'a route to a missing upstream',
      { routes => [ @dry, route(51, upstream => 'nowhere') ] },
      '/entities/routes/50' ],
    [ 'a delete of an upstream routes use',
      { upstreams => [ upstream('u1') ] }, undef ],
    [ 'two routes matching the same requests',
      { routes => [ @dry, route(51, paths => [ '/api/r0' ]) ] },
      '/entities/routes/50' ],
) {
    my ($what, $entities, $pointer) = @$m;
    ($st, $j) = apply({ expected_revision => 4, entities => $entities },
                      dry => 1);
    is($st, 409, "dry run, $what: 409 like the apply") or diag explain $j;
    is($j->{type}, 'urn:tollgate:problem:conflict', "$what: conflict");
    is($j->{errors}[0]{pointer}, $pointer, "$what: points at $pointer")
        if defined $pointer;
}
is($redis->cli('GET', 'gw:md:rev'), $rev4, 'dry runs: no revision');
is($redis->cli('XLEN', 'gw:md:log'), $log4, 'dry runs: no log entry');
is_deeply(snapshot(), $s4, 'dry runs: nothing changed');
($st, $j) = apply({ expected_revision => 4, entities => { routes =>
                    [ @dry, route(51) ] } }, dry => 1);
is($st, 200, 'a dry run the commit script takes: 200') or diag explain $j;
is($j->{revision}, 4, '... at the current revision');

# ---- keys: no secret through /v1/config ----------------------------------

($st, $j) = apply({ expected_revision => 4, entities => { keys => [
    { id => 'a' x 64, consumer => 'c1', secret => 'tg_x' } ] } });
is($st, 422, 'a key with a secret: 422');
is($j->{errors}[0]{pointer}, '/entities/keys/0/secret', 'naming it');

# ---- an entity over doc_max: 413 naming it -------------------------------

my $small = Metadata::start(redis => $redis->address,
                            env => { DOC_MAX => 1024 });
($st, $j) = Metadata::call($small, 'PUT', '/v1/config',
    { expected_revision => 4, entities => { upstreams => [
        upstream('u1'), upstream('u2'), upstream('u3'),
        { id => 'u4', targets => [ map { { address => "10.0.1.$_:80" } }
                                   1 .. 60 ] } ] } });
is($st, 413, 'an entity over doc_max: 413');
is($j->{type}, 'urn:tollgate:problem:body-too-large', 'body-too-large');
is($j->{errors}[0]{pointer}, '/entities/upstreams/3', 'naming it');
Metadata::stop($small);
is_deeply(snapshot(), $s4, 'nothing changed');

# ---- more entities than config_entities_max: 413 ------------------------

my $few = Metadata::start(redis => $redis->address,
                          env => { CONFIG_ENTITIES_MAX => 3 });
($st, $j) = Metadata::call($few, 'PUT', '/v1/config',
    { expected_revision => 4, entities => { upstreams => [
        map { upstream("u$_") } 1 .. 4 ] } });
is($st, 413, 'more entities than config_entities_max: 413');
like($j->{detail} // '', qr/config_entities_max, 3/, 'naming the key');
($st, $j) = Metadata::call($few, 'PUT', '/v1/config?dry_run=true',
    { expected_revision => 4, entities => { upstreams => [
        map { upstream("u$_") } 1 .. 3 ] } });
is($st, 200, 'as many as config_entities_max: taken') or diag explain $j;
Metadata::stop($few);
is_deeply(snapshot(), $s4, 'nothing changed');

# ---- malformed bodies: problem+json 4xx ----------------------------------

my @malformed = (
    [ 'not JSON', 'nope', 400, 'malformed-json' ],
    [ 'an array', '[]', 400, 'malformed-json' ],
    [ 'duplicate members', '{"entities":{},"entities":{}}', 400,
      'malformed-json' ],
    [ 'too deep', '{"entities":{"routes":[' . ('[' x 100) . (']' x 100)
                  . ']}}', 400, 'malformed-json' ],
    [ 'an unknown member', '{"expected_revision":4,"entities":{},"x":1}',
      422, 'validation-failed', '/x' ],
    [ 'entities not an object', '{"expected_revision":4,"entities":[]}',
      422, 'validation-failed', '/entities' ],
    [ 'no expected_revision', '{"entities":{}}', 422, 'validation-failed',
      '/expected_revision' ],
    [ 'a negative revision', '{"expected_revision":-1,"entities":{}}', 422,
      'validation-failed', '/expected_revision' ],
    [ 'a type not an array', '{"expected_revision":4,"entities":'
      . '{"routes":{}}}', 422, 'validation-failed', '/entities/routes' ],
    [ 'an unknown type', '{"expected_revision":4,"entities":'
      . '{"nope":[]}}', 422, 'validation-failed', '/entities/nope' ],
    [ 'an entity not an object', '{"expected_revision":4,"entities":'
      . '{"routes":[1]}}', 422, 'validation-failed', '/entities/routes/0' ],
    [ 'no id', '{"expected_revision":4,"entities":{"routes":'
      . '[{"paths":["/z"],"upstream":"u1"}]}}', 422, 'validation-failed',
      '/entities/routes/0/id' ],
    [ 'a bad id', '{"expected_revision":4,"entities":{"routes":'
      . '[{"id":"a b","paths":["/z"],"upstream":"u1"}]}}', 422,
      'validation-failed', '/entities/routes/0/id' ],
    [ 'an id twice', '{"expected_revision":4,"entities":{"upstreams":'
      . '[{"id":"u1","targets":[{"address":"10.0.0.1:1"}]},'
      . '{"id":"u1","targets":[{"address":"10.0.0.1:1"}]}]}}', 422,
      'validation-failed', '/entities/upstreams/1/id' ],
    [ 'a user type named as a built-in one', '{"expected_revision":4,'
      . '"entities":{"types":[{"id":"routes","schema":{}}]}}', 422,
      'validation-failed', '/entities/types/0/id' ],
);

for my $m (@malformed) {
    my ($what, $body, $status, $type, $pointer) = @$m;
    ($st, $j, $r) = Metadata::raw($svc, 'PUT', '/v1/config', $body,
        'Content-Type' => 'application/json',
        'X-Consumer-ID' => 'tester', 'X-Consumer-Scope' => 'admin:write');
    is($st, $status, "$what: $status");
    like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
         "$what: problem+json");
    is($j->{type}, "urn:tollgate:problem:$type", "$what: $type");
    is($j->{errors}[0]{pointer}, $pointer, "$what: points at $pointer")
        if defined $pointer;
}

($st, $j) = Metadata::raw($svc, 'PUT', '/v1/config', '{"entities":{}}',
    'Content-Type' => 'text/plain', 'X-Consumer-ID' => 'tester',
    'X-Consumer-Scope' => 'admin:write');
is($st, 415, 'text/plain: 415');

($st, $j) = apply({ entities => {} }, dry => 0, h => {});
($st, $j) = Metadata::call($svc, 'PUT', '/v1/config?dry_run=maybe',
                           { entities => {} });
is($st, 400, 'dry_run=maybe: 400');
($st, $j) = Metadata::call($svc, 'PUT', '/v1/config?force=1',
                           { expected_revision => 4, entities => {} });
is($st, 400, 'an unknown parameter: 400');

($st, $j) = Metadata::call($svc, 'PUT', '/v1/config',
                           { expected_revision => 4, entities => {} },
                           as => 'read');
is($st, 403, 'admin:read may not apply');

is_deeply(snapshot(), $s4, 'after all of it, nothing changed');

# ---- the log ----------------------------------------------------------------

ok(!grep({ ($_->{level} // '') =~ /^(error|fatal)$/ }
         Metadata::log_lines($svc)), 'nothing logged at error');

Metadata::stop($svc);

done_testing();
