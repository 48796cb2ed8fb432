# The metadata service's entities (backends/metadata/metadata_entity*.c,
# metadata_store*.c; docs/admin-api.md "Entities", "Errors"): every
# built-in type through create, read, update, merge patch and delete
# with ETags; the preconditions (428 without If-Match, 412 on a stale
# or weak tag, If-None-Match: * twice, If-Match: *, a malformed
# If-Match); what a body may not be (malformed, duplicate members, not
# an object, too deep, too large, the wrong media type, an id not the
# URL's); ids at the edges; query parameters and cursors; HEAD; lists
# paged to the end, by tag and by field; a delete refused while referred
# to, a route to a missing upstream and overlapping routes, each 409
# naming the member; the members only the service sets (a key's prefix,
# a client's secret_hash) kept whatever a write sends; Redis down (503,
# nothing written); and with each change its revision, its change log
# entry and its audit event.  Every refusal is a problem+json 4xx with
# a request_id, never a 500.  Keys and clients are written here by PUT
# (a key's id, the hash of its secret, given); a POST of either, which
# makes a secret, is tested with the projection (metadata_project.c).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Socket::INET ();
use JSON::PP ();
use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address,
                          env => { DOC_MAX => '4k', LIST_MAX => 50 });

my $KEY = 'a' x 64;

# valid bodies (backends/metadata/schemas/), in an order where each
# refers only to earlier ones
my @types = (
    [ consumers => 'c1', { name => 'Alice', tags => ['team-a'] } ],
    [ upstreams => 'u1', { targets => [{ address => '10.0.0.1:8080',
                                         weight => 10 }],
                           health_check => { path => '/healthz',
                                             interval_ms => 5000 } } ],
    [ limits => 'l1', { kind => 'rate', rate => '100r/m',
                        key => 'consumer' } ],
    [ plans => 'p1', { name => 'basic', limits => ['l1'] } ],
    [ schemas => 's1', { schema => { type => 'object' } } ],
    [ routes => 'r1', { paths => ['/things'], methods => ['GET'],
                        upstream => 'u1', priority => 0,
                        api_version => 'v1' } ],
    [ plugins => 'pl1', { name => 'cors', config => { origins => ['*'] } } ],
    [ keys => $KEY, { consumer => 'c1', status => 'active' } ],
    [ clients => 'app1', { scopes => ['read'],
                           grants => ['client_credentials'] } ],
);

sub rev { $redis->cli('GET', 'gw:md:rev') || 0 }

# Metadata::raw() with the admin headers (write) before the given ones
sub wraw {
    my ($svc, $method, $path, $body, %h) = @_;
    return Metadata::raw($svc, $method, $path, $body, Metadata::admin(), %h);
}

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
}

# the log entry and the audit event of the change at revision $rev
sub logged {
    my ($rev, $type, $id, $vb, $va, $action, $name) = @_;
    my ($e) = Metadata::md_log($redis, "$rev-0", "$rev-0");
    ok($e && $e->{type} eq $type && $e->{id} eq $id && $e->{vb} == $vb
       && $e->{va} == $va && $e->{n} == 1 && $e->{rev} == $rev
       && length $e->{rid}, "$name: log entry $rev-0")
        or diag explain $e;
    my ($ev) = grep { $_->{id} eq "metadata-$rev-0" }
               Metadata::audit_events($redis);
    ok($ev && $ev->{action} eq $action && $ev->{revision} == $rev
       && $ev->{version_before} == $vb && $ev->{version_after} == $va
       && $ev->{source} eq 'metadata' && $ev->{request_id} eq $e->{rid}
       && ref $ev->{diff} eq 'ARRAY', "$name: audit event")
        or diag explain $ev;
}

my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

for my $t (@types) {
    my ($type, $id, $body) = @$t;
    my $url = "/v1/$type/$id";
    my $r0 = rev();

    problem([Metadata::call($svc, 'PUT', $url, $body)], 428,
            'precondition-required', "$type: PUT without If-Match");

    my ($st, $json, $r) = Metadata::call($svc, 'PUT', $url, $body,
                                         'If-None-Match' => '*');
    is($st, 201, "$type: created");
    my $v1 = $json->{version};
    is($v1, $r0 + 1, "$type: version = the new revision");
    is(Metadata::etag($r), qq("$v1"), "$type: ETag");
    is($json->{id}, $id, "$type: id");
    like($json->{created_at}, $TIME, "$type: created_at");
    ok(length $json->{created_by}, "$type: created_by");
    is($json->{$_}, $json->{s/updated/created/r}, "$type: $_")
        for qw(updated_at updated_by);
    is(rev(), $v1, "$type: gw:md:rev");
    logged($v1, $type, $id, 0, $v1, 'create', "$type: create");
    my $stored = Metadata::entity($redis, $type, $id);
    is($stored->{v}, $v1, "$type: the hash's v");
    ok(!exists JSON::PP::decode_json($stored->{doc})->{version},
       "$type: no version in the stored doc");

    problem([Metadata::call($svc, 'PUT', $url, $body,
                            'If-None-Match' => '*')],
            412, 'precondition-failed', "$type: If-None-Match: * again");

    my ($gs, $got, $gr) = Metadata::call($svc, 'GET', $url);
    is($gs, 200, "$type: read");
    is_deeply($got, $json, "$type: read as written");
    is(Metadata::etag($gr), qq("$v1"), "$type: ETag on GET");

    my ($ns) = Metadata::call($svc, 'GET', $url, undef,
                              'If-None-Match' => qq("$v1"));
    is($ns, 304, "$type: GET If-None-Match current: 304");

    my ($hs, $hb, $hr) = Metadata::call($svc, 'HEAD', $url);
    is($hs, 200, "$type: HEAD");
    is(Metadata::etag($hr), qq("$v1"), "$type: ETag on HEAD");
    is($hr->{content} // '', '', "$type: HEAD: no body");

    my %b2 = (%$body, tags => ['second']);
    problem([Metadata::call($svc, 'PUT', $url, \%b2,
                            'If-Match' => '"1000000"')],
            412, 'precondition-failed', "$type: stale If-Match");
    problem([Metadata::call($svc, 'PUT', $url, \%b2,
                            'If-Match' => qq(W/"$v1"))],
            412, 'precondition-failed', "$type: weak If-Match");

    ($st, $json, $r) = Metadata::call($svc, 'PUT', $url,
        { %b2, version => 999, created_at => 'then', id => $id },
        'If-Match' => qq("7", "$v1"));
    is($st, 200, "$type: updated (If-Match list, meta members ignored)");
    my $v2 = $json->{version};
    ok($v2 > $v1, "$type: a greater version");
    is(Metadata::etag($r), qq("$v2"), "$type: new ETag");
    is_deeply($json->{tags}, ['second'], "$type: the new data");
    is($json->{created_at}, $got->{created_at}, "$type: created_at kept");
    logged($v2, $type, $id, $v1, $v2, 'update', "$type: update");

    ($st, $json, $r) = wraw($svc, 'PATCH', $url,
        '{"tags": null}',
        'Content-Type' => 'application/merge-patch+json',
        'If-Match' => qq("$v2"));
    is($st, 200, "$type: patched");
    my $v3 = $json->{version};
    ok(!exists $json->{tags}, "$type: merge patch applied (null removes)");
    my ($k1) = grep { $_ ne 'tags' } keys %$body;
    is_deeply($json->{$k1}, $body->{$k1}, "$type: other members kept");
    logged($v3, $type, $id, $v2, $v3, 'update', "$type: patch");

    problem([Metadata::call($svc, 'DELETE', $url, undef,
                            'If-Match' => qq("$v2"))],
            412, 'precondition-failed', "$type: DELETE stale");
    push @$t, $v3;
}

# delete in reverse order (later types refer to earlier ones)
for my $t (reverse @types) {
    my ($type, $id, $body, $v) = @$t;
    my ($st, $json) = Metadata::call($svc, 'DELETE', "/v1/$type/$id", undef,
                                     'If-Match' => qq("$v"));
    is($st, 204, "$type: deleted");
    my $rev = rev();
    logged($rev, $type, $id, $v, 0, 'delete', "$type: delete");
    problem([Metadata::call($svc, 'GET', "/v1/$type/$id")], 404,
            'not-found', "$type: gone");
    ok(!defined Metadata::entity($redis, $type, $id), "$type: hash gone");
    is($redis->cli('ZSCORE', "gw:md:ix:$type", $id), '',
       "$type: out of the index");
}

# ---- preconditions --------------------------------------------------------

my $U = '/v1/upstreams/pre';
my $body = { targets => [{ address => '10.0.0.9:1' }] };

problem([Metadata::call($svc, 'PUT', $U, $body, 'If-Match' => '*')],
        412, 'precondition-failed', 'If-Match: * on an absent entity');
my ($st, $json, $r) = Metadata::call($svc, 'PUT', $U, $body,
                                     'If-None-Match' => '*');
is($st, 201, 'created');
($st, $json) = Metadata::call($svc, 'PUT', $U, $body, 'If-Match' => '*');
is($st, 200, 'If-Match: * on an existing entity');
my $v = $json->{version};

for my $bad ('abc', '"1', '1', '"1" "2"', 'W/1', '*, "1"', '', '"a"b') {
    problem([Metadata::call($svc, 'PUT', $U, $body, 'If-Match' => $bad)],
            400, 'bad-request', "malformed If-Match '$bad'");
}
problem([Metadata::call($svc, 'PUT', $U, $body, 'If-None-Match' => '"1"')],
        400, 'bad-request', 'If-None-Match other than * on a write');
problem([Metadata::call($svc, 'DELETE', $U, undef)], 428,
        'precondition-required', 'DELETE without If-Match');
problem([wraw($svc, 'PATCH', $U, '{}',
             'Content-Type' => 'application/merge-patch+json')],
        428, 'precondition-required', 'PATCH without If-Match');
problem([wraw($svc, 'PATCH', '/v1/upstreams/nope', '{}',
             'Content-Type' => 'application/merge-patch+json',
             'If-Match' => '*')],
        412, 'precondition-failed', 'PATCH of an absent entity');

# ---- bodies ---------------------------------------------------------------

my $r0 = rev();
my %ct = ('Content-Type' => 'application/json', 'If-Match' => qq("$v"));

problem([wraw($svc, 'PUT', $U, '{"a": ', %ct)], 400,
        'malformed-json', 'malformed JSON');
problem([wraw($svc, 'PUT', $U, '{"a": 1, "a": 2}', %ct)], 400,
        'malformed-json', 'duplicate members');
problem([wraw($svc, 'PUT', $U, '[1, 2]', %ct)], 400,
        'malformed-json', 'not an object');
problem([wraw($svc, 'PUT', $U, '"text"', %ct)], 400,
        'malformed-json', 'a string');
problem([wraw($svc, 'PUT', $U, '', %ct)], 400,
        'malformed-json', 'an empty body');
problem([wraw($svc, 'PUT', $U, '{"a": 1} x', %ct)], 400,
        'malformed-json', 'trailing bytes');
problem([wraw($svc, 'PUT', $U, '{"a": "\xff"}', %ct)], 400,
        'malformed-json', 'not UTF-8');
problem([wraw($svc, 'PUT', $U,
             '{"a": ' . ('[' x 40) . (']' x 40) . '}', %ct)],
        400, 'malformed-json', 'nested too deep');
problem([wraw($svc, 'PUT', $U, '{"a": 9007199254740993}', %ct)],
        400, 'malformed-json', 'an integer beyond 2^53');
problem([wraw($svc, 'PUT', $U, '{"a": "' . ('x' x 5000) . '"}',
             %ct)],
        413, 'body-too-large', 'a body over doc_max');
problem([wraw($svc, 'PUT', $U, '{}', %ct,
             'Content-Type' => 'text/plain')],
        415, 'unsupported-media-type', 'text/plain');
problem([wraw($svc, 'PUT', $U, '{}', 'If-Match' => qq("$v"))],
        415, 'unsupported-media-type', 'no Content-Type');
problem([wraw($svc, 'PATCH', $U, '{}', %ct)], 415,
        'unsupported-media-type', 'PATCH as application/json');
problem([wraw($svc, 'PATCH', $U, '[]', %ct,
             'Content-Type' => 'application/merge-patch+json')],
        400, 'malformed-json', 'PATCH: not an object');

($st, $json, $r) = Metadata::call($svc, 'PUT', $U,
                                  { %$body, id => 'other' },
                                  'If-Match' => qq("$v"));
problem([$st, $json, $r], 422, 'validation-failed', 'an id not the URL\'s');
is($json->{errors}[0]{pointer}, '/id', 'errors[] names /id');

($st, $json, $r) = wraw($svc, 'PUT', $U,
    '{"targets": [{"address": "10.0.0.9:2"}]}',
    'Content-Type' => 'application/json; charset=utf-8',
    'If-Match' => qq("$v"));
is($st, 200, 'application/json with a charset');
$v = $json->{version};
is(rev(), $r0 + 1, 'only that one write was committed');

# ---- ids, paths and query parameters ----------------------------------------

my $id64 = 'i' x 64;
my $limit = { kind => 'rate', rate => '1r/s' };
($st) = Metadata::call($svc, 'PUT', "/v1/limits/$id64", $limit,
                       'If-None-Match' => '*');
is($st, 201, 'a 64-byte id');
for my $bad ('i' x 65, 'a%01b', 'a%2Fb', 'a/b', '-a', '.a', 'a%20b',
             'a%7Fb', '%C3%A9', 'a%00b')
{
    my ($s, $j, $rr) = Metadata::call($svc, 'PUT', "/v1/limits/$bad",
                                      $limit, 'If-None-Match' => '*');
    problem([$s, $j, $rr], 400, 'bad-request', "id '$bad'");
}
problem([Metadata::call($svc, 'GET', "/v1/limits/" . ('i' x 65))], 400,
        'bad-request', 'GET of a 65-byte id');
problem([Metadata::call($svc, 'GET', '/v1/nothing/x')], 404, 'not-found',
        'an unknown type');
problem([Metadata::call($svc, 'GET', '/v1/entities/nothing')], 404,
        'not-found', 'an unknown user type');
problem([Metadata::call($svc, 'GET', "/v1/limits/$id64?x=1")], 400,
        'bad-request', 'a query on an entity');
problem([Metadata::call($svc, 'POST', "/v1/limits/$id64", $limit)], 405,
        'method-not-allowed', 'POST on an entity');

for my $q ('foo=1', 'limit=0', 'limit=51', 'limit=abc', 'limit=', 'cursor=',
           'cursor=%2F', 'cursor=-x', 'limit=1&limit=2', 'tag=', 'field.=x',
           'tag=a&tag=b', 'field.a=1&field.a=2', 'x', 'cursor=a%00b')
{
    problem([Metadata::call($svc, 'GET', "/v1/limits?$q")], 400,
            'bad-request', "list query '$q'");
}

# ---- POST -------------------------------------------------------------------

($st, $json, $r) = Metadata::call($svc, 'POST', '/v1/plugins',
                                  { name => 'gzip' });
is($st, 201, 'POST: created');
like($json->{id}, qr/^[0-9a-f]{32}$/, 'POST: a generated id');
is($r->{headers}{location}, "/v1/plugins/$json->{id}", 'POST: Location');
is(Metadata::etag($r), qq("$json->{version}"), 'POST: ETag');
($st) = Metadata::call($svc, 'POST', '/v1/plugins',
                       { id => 'gz', name => 'gzip' });
is($st, 201, 'POST with an id');
problem([Metadata::call($svc, 'POST', '/v1/plugins',
                        { id => 'gz', name => 'gzip' })],
        409, 'conflict', 'POST of a taken id');
problem([Metadata::call($svc, 'POST', '/v1/plugins',
                        { id => 'a/b', name => 'gzip' })],
        422, 'validation-failed', 'POST with a malformed id');
problem([Metadata::call($svc, 'POST', '/v1/plugins', { id => 'gz2' })],
        422, 'validation-failed', 'POST of an invalid entity');

# ---- a delete refused while something refers to the entity ---------------

$r0 = rev();
$redis->cli('SADD', 'gw:md:rb:upstreams:pre', 'routes/holder');
($st, $json, $r) = Metadata::call($svc, 'DELETE', $U, undef,
                                  'If-Match' => qq("$v"));
problem([$st, $json, $r], 409, 'conflict', 'delete of a referenced entity');
like($json->{errors}[0]{message} // '', qr{routes/holder},
     'errors[] names the referrer');
is(rev(), $r0, 'no revision');
is(Metadata::entity($redis, 'upstreams', 'pre')->{v}, $v, 'still there');
$redis->cli('DEL', 'gw:md:rb:upstreams:pre');

# ---- 409s naming the member at fault ---------------------------------------

$r0 = rev();
($st, $json, $r) = Metadata::call($svc, 'PUT', '/v1/routes/rm',
    { paths => ['/m'], upstream => 'missing' }, 'If-None-Match' => '*');
problem([$st, $json, $r], 409, 'conflict', 'a route to a missing upstream');
is($json->{errors}[0]{pointer}, '/upstream', '... errors[] at /upstream');
like($json->{errors}[0]{message}, qr{upstreams/missing}, '... naming it');
($st, $json, $r) = Metadata::call($svc, 'PUT', '/v1/routes/rm',
    { paths => ['/m'], upstream => 'pre', plugins => ['gz', 'nope'] },
    'If-None-Match' => '*');
problem([$st, $json, $r], 409, 'conflict', 'a route to a missing plugin');
is($json->{errors}[0]{pointer}, '/plugins/1', '... errors[] at /plugins/1');

($st) = Metadata::call($svc, 'PUT', '/v1/routes/o1',
    { paths => ['/o', '/o/*'], upstream => 'pre', priority => 5 },
    'If-None-Match' => '*');
is($st, 201, 'a route');
($st, $json, $r) = Metadata::call($svc, 'PUT', '/v1/routes/o2',
    { paths => ['/q', '/o/*'], methods => ['GET'], upstream => 'pre',
      priority => 5 },
    'If-None-Match' => '*');
problem([$st, $json, $r], 409, 'conflict',
        'a route of equal priority matching the same requests');
is($json->{errors}[0]{pointer}, '/paths/1', '... errors[] at /paths/1');
like($json->{errors}[0]{message}, qr{/o/\*}, '... naming the path');
is(rev(), $r0 + 1, 'only the first route was committed');
($st) = Metadata::call($svc, 'PUT', '/v1/routes/o2',
    { paths => ['/q', '/o/*'], methods => ['GET'], upstream => 'pre',
      priority => 6 },
    'If-None-Match' => '*');
is($st, 201, 'the same paths at another priority');

($st, $json, $r) = Metadata::call($svc, 'DELETE', '/v1/routes/o1', undef,
                                  'If-Match' => '*');
is($st, 204, 'the first route deleted');
($st, $json, $r) = Metadata::call($svc, 'DELETE', '/v1/routes/o2', undef,
                                  'If-Match' => '*');
is($st, 204, 'the second route deleted');

# ---- members only the service sets ----------------------------------------

# the stored doc of an entity, changed as the service would have
sub set_stored {
    my ($type, $id, %m) = @_;
    my $h = Metadata::entity($redis, $type, $id);
    my $doc = JSON::PP::decode_json($h->{doc});
    $redis->cli('HSET', "gw:md:e:$type:$id", 'doc',
                JSON::PP->new->canonical->encode({ %$doc, %m }));
}

($st) = Metadata::call($svc, 'PUT', '/v1/consumers/ro', { name => 'RO' },
                       'If-None-Match' => '*');
is($st, 201, 'a consumer for the key');

my $K2 = 'b' x 64;
my %ro = (keys => [ "/v1/keys/$K2", { consumer => 'ro' }, 'prefix',
                    'tg_abcd', 'tg_evil' ],
          clients => [ '/v1/clients/ro', { name => 'RO' }, 'secret_hash',
                       'd' x 64, 'e' x 64 ]);
for my $type (sort keys %ro) {
    my ($url, $data, $m, $kept, $evil) = @{ $ro{$type} };
    ($st, $json) = Metadata::call($svc, 'PUT', $url,
                                  { %$data, $m => $evil },
                                  'If-None-Match' => '*');
    is($st, 201, "$type: created by PUT");
    ok(!exists $json->{$m}, "$type: the client's $m ignored");
    set_stored($type, $url =~ m{([^/]+)$}, $m => $kept);

    ($st, $json) = Metadata::call($svc, 'PUT', $url,
                                  { %$data, $m => $evil, tags => ['x'] },
                                  'If-Match' => '*');
    is($st, 200, "$type: PUT with another $m");
    is($json->{$m}, $kept, "$type: PUT cannot change $m");
    ($st, $json) = Metadata::call($svc, 'PUT', $url, $data,
                                  'If-Match' => '*');
    is($json->{$m}, $kept, "$type: PUT without $m keeps it");
    for my $patch (qq({"$m": "$evil"}), qq({"$m": null})) {
        ($st, $json) = wraw($svc, 'PATCH', $url, $patch,
            'Content-Type' => 'application/merge-patch+json',
            'If-Match' => '*');
        is($json->{$m}, $kept, "$type: PATCH $patch keeps $m");
    }
    my ($gs, $got) = Metadata::call($svc, 'GET', $url);
    is($got->{$m}, $kept, "$type: $m as stored");
    ($st) = Metadata::call($svc, 'DELETE', $url, undef, 'If-Match' => '*');
    is($st, 204, "$type: deleted");
}

# ---- HEAD -----------------------------------------------------------------

($st, $json, $r) = Metadata::call($svc, 'HEAD', '/v1/upstreams');
is($st, 200, 'HEAD of a list');
is($r->{content} // '', '', '... no body');
($st, $json, $r) = Metadata::call($svc, 'HEAD', '/v1/upstreams/nope');
is($st, 404, 'HEAD of an absent entity: 404');
is($r->{content} // '', '', '... no body');

# what is on the wire: headers, and not a byte after them
for my $path ($U, '/v1/upstreams', '/v1/upstreams/nope') {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $svc->{port})
        or die "connect: $!";
    print {$sock} "HEAD $path HTTP/1.1\r\nHost: x\r\n"
                  . "X-Consumer-Scope: admin:read\r\n"
                  . "Connection: close\r\n\r\n";
    my $got = do { local $/; <$sock> } // '';
    my ($head, $rest) = split /\r\n\r\n/, $got, 2;
    like($head, qr{^HTTP/1\.1 \d{3} }, "HEAD $path on the wire: answered");
    is($rest, '', "HEAD $path on the wire: nothing after the headers");
}
like(($r = (Metadata::call($svc, 'HEAD', $U))[2])->{headers}{etag} // '',
     qr/^"\d+"$/, 'HEAD of an entity: its ETag');

# ---- /v1/schemas/{id} is only the schemas entity ---------------------------

($st, $json) = Metadata::call($svc, 'PUT', '/v1/schemas/sc1',
                              { schema => { type => 'string' } },
                              'If-None-Match' => '*');
is($st, 201, 'a schemas entity');
($st, $json, $r) = Metadata::call($svc, 'GET', '/v1/schemas/sc1');
is($st, 200, '... read at /v1/schemas/sc1');
is($json->{id}, 'sc1', '... the entity');
($st, $json, $r) = Metadata::call($svc, 'GET', '/v1/types/routes/schema');
is($st, 200, '/v1/types/routes/schema: the type\'s schema');
like($r->{headers}{'content-type'}, qr{^application/schema\+json},
     '... schema+json');
for my $id ('routes', 'types', 'u.things') {
    ($st, $json, $r) = Metadata::call($svc, 'PUT', "/v1/schemas/$id",
                                  { schema => {} }, 'If-None-Match' => '*');
    is($st, 201, "a schemas entity may be named '$id'");
    ($st, $json, $r) = Metadata::call($svc, 'GET', "/v1/schemas/$id");
    is($st, 200, "... /v1/schemas/$id reads it");
    is($json->{id}, $id, '... the entity, not a type\'s schema');
    like($r->{headers}{'content-type'}, qr{^application/json},
         '... as application/json');
    ($st) = Metadata::call($svc, 'DELETE', "/v1/schemas/$id", undef,
                           'If-Match' => '*');
    is($st, 204, '... and deleted');
}
($st, $json, $r) = Metadata::call($svc, 'GET', '/v1/types/routes/schema');
is($json->{'$schema'}, 'https://json-schema.org/draft/2020-12/schema',
   'the type\'s schema is still the type\'s');

# ---- lists ------------------------------------------------------------------

($st) = Metadata::call($svc, 'PUT', '/v1/types/things',
    { schema => { type => 'object', additionalProperties => JSON::PP::false,
                  properties => { tags => { type => 'array' },
                                  tier => { type => 'string' },
                                  n => { type => 'integer' },
                                  vip => { type => 'boolean' } } } },
    'If-None-Match' => '*');
is($st, 201, 'a user-defined type to list');

for my $i (0 .. 24) {
    my $id = sprintf 'p%02d', $i;
    my ($s) = Metadata::call($svc, 'PUT', "/v1/entities/things/$id",
        { tags => [ $i % 2 ? 'odd' : 'even', 'all' ],
          tier => $i % 5 == 0 ? 'gold' : 'basic', n => $i,
          vip => $i == 7 ? JSON::PP::true : JSON::PP::false },
        'If-None-Match' => '*');
    $s == 201 or diag "create $id: $s";
}

sub walk {
    my ($query) = @_;
    my (@ids, $cursor, $pages);
    while (1) {
        my $q = $query . (defined $cursor ? "&cursor=$cursor" : '');
        my ($s, $j) = Metadata::call($svc, 'GET', "/v1/entities/things?$q");
        return "status $s" unless $s == 200;
        $pages++;
        push @ids, map { $_->{id} } @{ $j->{items} };
        return "items without version"
            if grep { !$_->{version} } @{ $j->{items} };
        last unless defined $j->{next};
        $cursor = $j->{next};
        return 'too many pages' if $pages > 30;
    }
    return (\@ids, $pages);
}

my @all = map { sprintf 'p%02d', $_ } 0 .. 24;
my ($ids, $pages) = walk('limit=10');
is_deeply($ids, \@all, 'a list paged to the end, in id order');
is($pages, 3, 'in 3 pages of 10');
($ids) = walk('limit=5');
is_deeply($ids, \@all, 'pages of 5');
($ids) = walk('limit=4&tag=even');
is_deeply($ids, [ grep { substr($_, 1) % 2 == 0 } @all ], 'by tag');
($ids) = walk('limit=2&field.tier=gold');
is_deeply($ids, [qw(p00 p05 p10 p15 p20)], 'by field');
($ids) = walk('limit=50&field.tier=gold&tag=odd');
is_deeply($ids, [qw(p05 p15)], 'tag and field');
($ids) = walk('limit=50&field.n=7');
is_deeply($ids, ['p07'], 'a number field');
($ids) = walk('limit=50&field.vip=true');
is_deeply($ids, ['p07'], 'a boolean field');
($ids) = walk('limit=50&tag=none');
is_deeply($ids, [], 'a tag nobody has');
($st, $json) = Metadata::call($svc, 'GET', '/v1/entities/things');
is(scalar @{ $json->{items} }, 25, 'the default limit');
ok(exists $json->{next} && !defined $json->{next}, 'next: null');
($st, $json) = Metadata::call($svc, 'GET', '/v1/routes');
is_deeply($json, { items => [], next => undef }, 'an empty type');

# ---- Redis down -------------------------------------------------------------

$r0 = rev();
$redis->stop;
($st, $json, $r) = Metadata::call($svc, 'PUT', '/v1/upstreams/down', $body,
                                  'If-None-Match' => '*');
problem([$st, $json, $r], 503, 'unavailable', 'a write with Redis down');
problem([Metadata::call($svc, 'GET', $U)], 503, 'unavailable',
        'a read with Redis down');
problem([Metadata::call($svc, 'GET', '/v1/upstreams')], 503, 'unavailable',
        'a list with Redis down');
$redis->restart;
ok(Metadata::wait_for(sub { (Metadata::raw($svc, 'GET', '/readyz'))[0]
                            == 200 }, 20), 'ready again');
is($redis->cli('EXISTS', 'gw:md:e:upstreams:down'), '0',
   'the refused write was not made later');
($st, $json) = Metadata::call($svc, 'PUT', '/v1/upstreams/down', $body,
                              'If-None-Match' => '*');
is($st, 201, 'writes again (NOSCRIPT: the script loaded again)');
is($json->{version}, 1, 'on the new Redis, revision 1');

# ---- never a 500 ------------------------------------------------------------

my @e500 = grep { ($_->{fields}{status} // 0) >= 500
                  && ($_->{fields}{status} // 0) != 503 }
           Metadata::log_lines($svc);
is(scalar @e500, 0, 'no 5xx but 503');
my @err = grep { ($_->{level} // '') eq 'error' } Metadata::log_lines($svc);
is(scalar @err, 0, 'nothing logged at error') or diag explain \@err;

Metadata::stop($svc);
done_testing();
