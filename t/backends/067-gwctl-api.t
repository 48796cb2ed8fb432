# gwctl against the admin API (cli/gwctl_api*.c, cli/gwctl_apply.c,
# docs/gwctl.md): apply, diff and export round trips against a running
# metadata service; the consumer and key commands through --api, checked
# on the service's entities (a created key's SHA-256 is its entity's id);
# the credentials sent; and every failure's exit code: 2 for what the
# service refused, 3 for a service that cannot be reached or does not
# answer, 1 for usage.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Test::More;

use Identity;
use Metadata;
use Tollgate::Gwctl qw(gwctl_binary);
use Tollgate::Redis;

plan skip_all => 'build/backends/metadata is not built (make backends)'
    unless -x Metadata::binary();
plan skip_all => 'build/gwctl is not built (make build/gwctl)'
    unless -x gwctl_binary();

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address,
                          env => { ANONYMOUS_ROLE => 'write' });
my $api = "http://127.0.0.1:$svc->{port}";
my $tmp = tempdir(DIR => Metadata::tmp());
my $json = JSON::PP->new->canonical;

# gwctl(\%env, @args): (exit code, stdout, stderr); stdin from $env{STDIN}
sub gwctl {
    my ($env, @args) = @_;
    my $n = int rand 1e9;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete $ENV{$_} for qw(TOLLGATE_ADMIN_URL GWCTL_TIMEOUT);
        $ENV{$_} = $env->{$_} for grep { $_ ne 'STDIN' } keys %$env;
        open STDIN, '<', $env->{STDIN} // '/dev/null';
        open STDOUT, '>', "$tmp/$n.out";
        open STDERR, '>', "$tmp/$n.err";
        exec gwctl_binary(), @args or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my @r = ($? >> 8, map { Metadata::slurp("$tmp/$n.$_") } qw(out err));
    unlink "$tmp/$n.out", "$tmp/$n.err";
    return @r;
}

sub ctl { gwctl({}, '--api', $api, @_) }

sub spew {
    my ($name, $data) = @_;
    open my $fh, '>', "$tmp/$name" or die;
    print $fh ref $data ? $json->encode($data) : $data;
    close $fh;
    return "$tmp/$name";
}

sub entity {
    my ($st, $j) = Metadata::call($svc, 'GET', $_[0]);
    return $st == 200 ? $j : undef;
}

# ---- apply, diff, export ----------------------------------------------------

my $doc = { entities => {
    upstreams => [ { id => 'u1', targets => [ { address => '10.0.0.1:80' } ] } ],
    routes => [ { id => 'r1', paths => [ '/a' ], upstream => 'u1' },
                { id => 'r2', paths => [ '/b' ], upstream => 'u1' } ] } };
my $file = spew('doc.json', $doc);

my ($code, $out, $err) = ctl('diff', '-f', $file);
is($code, 0, 'diff: exit 0') or diag $err;
is($out, "create routes/r1\ncreate routes/r2\ncreate upstreams/u1\n"
         . "3 changes against revision 0\n", 'diff: three creates')
    or diag $out;
is(entity('/v1/routes/r1'), undef, 'diff wrote nothing');

($code, $out, $err) = ctl('apply', '-f', $file, '--dry-run');
is($code, 0, 'apply --dry-run: exit 0');
like($out, qr/^3 changes against revision 0$/m, 'apply --dry-run is diff');

($code, $out, $err) = ctl('apply', '-f', $file);
is($code, 0, 'apply: exit 0') or diag $err;
is($out, "applied as revision 1: 3 created, 0 updated, 0 deleted\n",
   'apply: one revision');
is(entity('/v1/routes/r2')->{upstream}, 'u1', 'the route is there');

($code, $out) = ctl('apply', '-f', $file);
is($out, "no changes: revision 1\n", 'apply again: no changes');

($code, $out, $err) = ctl('export');
is($code, 0, 'export: exit 0') or diag $err;
my $exported = JSON::PP::decode_json($out);
is($exported->{expected_revision}, 1, 'export: the revision to expect');
is_deeply([ map { [ sort keys %$_ ] } @{ $exported->{entities}{routes} } ],
          [ ([ qw(id paths upstream) ]) x 2 ],
          'export: the documents without their meta members');
is_deeply($exported->{entities}{upstreams}, $doc->{entities}{upstreams},
          'export: the upstream as applied');

# the export, changed, applies back as one update

$exported->{entities}{routes}[1]{paths} = [ '/bb' ];
my $efile = spew('export.json', $exported);
($code, $out) = ctl('diff', '-f', $efile);
is($out, "update routes/r2\n    replace /paths/0 \"/bb\"\n"
         . "1 change against revision 1\n", 'diff of the edited export');
($code, $out) = ctl('apply', '-f', $efile);
is($out, "applied as revision 2: 0 created, 1 updated, 0 deleted\n",
   'apply of the edited export');

# the same file again: it expects revision 1, now 2

($code, $out, $err) = ctl('apply', '-f', $efile);
is($code, 2, 'a stale export: exit 2');
like($err, qr/^gwctl: apply: 409 revision-conflict: /m, 'saying why');

# from stdin, through $TOLLGATE_ADMIN_URL

($code, $out, $err) = gwctl({ TOLLGATE_ADMIN_URL => $api, STDIN => $file },
                            'apply', '-f', '-');
is($code, 0, 'apply -f - with $TOLLGATE_ADMIN_URL: exit 0') or diag $err;
is($out, "applied as revision 3: 0 created, 1 updated, 0 deleted\n",
   'back to /b');

# an invalid document: every error listed, nothing changed

my $bad = { entities => { routes => [
    { id => 'r1', paths => 'nope', upstream => 'u1' },
    { id => 'r2', paths => [ '/b' ], upstream => 'u1', priority => -1 } ] } };
($code, $out, $err) = ctl('apply', '-f', spew('bad.json', $bad));
is($code, 2, 'an invalid document: exit 2');
like($err, qr{^  /entities/routes/0/paths: }m, 'the first error listed');
like($err, qr{^  /entities/routes/1/priority: }m, 'the second error listed');
like($err, qr/^gwctl: apply: 422 validation-failed: /m, 'then the problem');
my ($st, $snap) = Metadata::call($svc, 'GET', '/v1/snapshot');
is($snap->{revision}, 3, 'nothing changed');

($code, $out, $err) = ctl('apply', '-f', spew('broken.json', '{"x":'));
is($code, 1, 'a file that is not JSON: exit 1');
like($err, qr/^gwctl: apply: .*line 1/m, 'naming the line');
($code, $out, $err) = ctl('apply', '-f', "$tmp/missing.json");
is($code, 1, 'a missing file: exit 1');
($code, $out, $err) = ctl('apply', '-f', spew('arr.json', '[]'));
is($code, 1, 'a file that is no object: exit 1');
($code, $out, $err) = ctl('apply');
is($code, 1, 'apply without -f: exit 1');
($code, $out, $err) = ctl('diff', '-f', $file, '--dry-run');
is($code, 1, 'diff takes no --dry-run: exit 1');
($code, $out, $err) = gwctl({}, 'export');
is($code, 1, 'export without --api: exit 1');
like($err, qr/needs --api/, 'saying so');

# ---- consumers through the API -------------------------------------------

($code, $out, $err) = ctl('consumer', 'add', 'acme', '--name', 'Acme Corp',
                          '--tags', 'eu,internal');
is($code, 0, 'consumer add: exit 0') or diag $err;
is($out, "consumer acme added\n", 'consumer add: the message');
my $c = entity('/v1/consumers/acme');
is_deeply([ @$c{qw(name status tags)} ],
          [ 'Acme Corp', 'active', [ 'eu', 'internal' ] ],
          'the consumer entity');

($code, $out, $err) = ctl('consumer', 'add', 'acme');
is($code, 2, 'consumer add of an existing one: exit 2');
like($err, qr/^gwctl: consumer acme already exists$/m, 'as without --api');

($code, $out) = ctl('consumer', 'show', 'acme');
my $show = qr/^id: {7}acme\nname: {5}Acme Corp\nstatus: {3}active\n/;
$show = qr/${show}tags: {5}eu,internal\nplan: {5}-\ncreated: {2}\S+Z\n/;
like($out, qr/${show}keys: {5}0\n\z/, 'consumer show: the same text');
($code, $out) = ctl('consumer', 'show', 'acme', '--json');
my $shown = JSON::PP::decode_json($out);
is_deeply([ @$shown{qw(id name status tags plan keys)} ],
          [ 'acme', 'Acme Corp', 'active', [ 'eu', 'internal' ], undef, 0 ],
          'consumer show --json: the same members');

ctl('consumer', 'add', $_) for qw(beta gamma);
($code, $out) = ctl('consumer', 'list', '--limit', '2');
my $list = qr/^ID {4}STATUS  PLAN  CREATED {15}KEYS  NAME\n/;
$list = qr/${list}acme  active  - {5}\S+Z {5}0  Acme Corp\n/;
$list = qr/${list}beta  active  - {5}\S+Z {5}0  beta\nnext cursor: beta\n\z/;
like($out, $list,
     'consumer list: a page and its cursor');
($code, $out) = ctl('consumer', 'list', '--cursor', 'beta', '--json');
is_deeply([ map { $_->{id} } @{ JSON::PP::decode_json($out)->{consumers} } ],
          [ 'gamma' ], 'consumer list --cursor: the next page');

($code, $out) = ctl('consumer', 'disable', 'acme');
is($out, "consumer acme disabled\n", 'consumer disable');
is(entity('/v1/consumers/acme')->{status}, 'disabled', 'the entity');
($code, $out, $err) = ctl('consumer', 'disable', 'acme');
is($code, 2, 'disable twice: exit 2');
like($err, qr/already disabled/, 'already disabled');
($code, $out) = ctl('consumer', 'enable', 'acme');
is($out, "consumer acme enabled\n", 'consumer enable');

Metadata::call($svc, 'POST', '/v1/plans', { id => 'gold', limits => [] });
($code, $out, $err) = ctl('consumer', 'plan', 'acme', 'gold');
is($code, 0, 'consumer plan: exit 0') or diag $err;
is(entity('/v1/consumers/acme')->{plan}, 'gold', 'the plan is set');
($code, $out, $err) = ctl('consumer', 'plan', 'acme', 'silver');
is($code, 2, 'a plan that does not exist: exit 2');
like($err, qr/409 conflict/, 'the service refused it');
($code, $out) = ctl('consumer', 'plan', 'acme', '--none');
is($out, "consumer acme plan cleared\n", 'consumer plan --none');
ok(!exists entity('/v1/consumers/acme')->{plan}, 'the plan is gone');

($code, $out, $err) = ctl('consumer', 'show', 'nobody');
is($code, 2, 'an unknown consumer: exit 2');
like($err, qr/^gwctl: consumer nobody not found$/m, 'not found');
($code, $out, $err) = ctl('consumer', 'enable', 'nobody');
is($code, 2, 'enable of an unknown consumer: exit 2');

# ---- keys through the API ------------------------------------------------

($code, $out, $err) = ctl('key', 'create', 'acme', '--expires', '30d');
is($code, 0, 'key create: exit 0') or diag $err;
my ($key) = $out =~ /^(tg_[A-Za-z0-9_-]{43})\n\z/;
ok($key, 'the key, alone on one line');
$key //= 'tg_' . 'x' x 43;
my $hash = sha256_hex($key);
my $prefix = substr($key, 0, 8);
my $k = entity("/v1/keys/$hash");
ok($k, 'its SHA-256 is the key entity\'s id');
is($k->{consumer}, 'acme', 'of consumer acme');
ok($k->{expires} > time + 29 * 86400, 'expiring in 30 days');
ok(index($json->encode($k), substr($key, 3)) < 0,
   'the entity does not hold the key');

($code, $out) = ctl('key', 'list', 'acme');
my $short = substr($hash, 0, 12);
like($out, qr/^HASH\s+PREFIX\s+STATUS\s+CREATED\s+EXPIRES\n
              \Q$short\E\s+\Q$prefix\E\s+active\s/x,
     'key list: the hash, the prefix, active');
($code, $out) = ctl('key', 'show', 'acme');
is($code, 1, 'key show is no command: exit 1');

($code, $out, $err) = ctl('key', 'create', 'nobody');
is($code, 2, 'key create for an unknown consumer: exit 2');
like($err, qr/consumer nobody not found/, 'not found');

($code, $out, $err) = ctl('key', 'revoke', 'acme', $prefix);
is($code, 0, 'key revoke by prefix: exit 0') or diag $err;
is($out, "key $prefix (hash $short) of consumer acme revoked\n",
   'key revoke: the message');
is(entity("/v1/keys/$hash")->{status}, 'revoked',
   'the entity is revoked');
($code, $out, $err) = ctl('key', 'revoke', 'acme', $key);
is($code, 2, 'revoked twice: exit 2');
like($err, qr/already revoked/, 'already revoked');
my $rest = substr($key, 8);
unlike($err, qr/\Q$rest\E/, 'the key is never echoed');
($code, $out, $err) = ctl('key', 'list', 'nobody');
is($code, 2, 'key list of an unknown consumer: exit 2');

# ---- credentials ------------------------------------------------------------

# a one-shot server that records the request and answers a snapshot
sub fake {
    my ($answer) = @_;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 1, ReuseAddr => 1) or die $!;
    my $pid = fork // die;
    if ($pid == 0) {
        my $c = $srv->accept or POSIX::_exit(1);
        my $req = '';
        sysread($c, $req, 65536, length $req) until $req =~ /\r\n\r\n/;
        open my $fh, '>', "$tmp/req" or POSIX::_exit(1);
        print $fh $req;
        close $fh;
        if (defined $answer) {
            print $c $answer;
        } else {
            sleep 5;
        }
        close $c;
        POSIX::_exit(0);
    }
    my $port = $srv->sockport;
    close $srv;
    return ($port, $pid);
}

my $snapshot = '{"revision":0,"entities":{}}';
my $ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
         . "Content-Length: " . length($snapshot) . "\r\n\r\n$snapshot";

my ($port, $pid) = fake($ok);
($code, $out, $err) = gwctl({ TOKEN => 'eyJ.abc.def' }, '--api',
    "http://127.0.0.1:$port/admin", '--token-env', 'TOKEN', 'export');
waitpid($pid, 0);
is($code, 0, '--token-env: exit 0') or diag $err;
my $req = Metadata::slurp("$tmp/req");
like($req, qr{^GET /admin/v1/snapshot HTTP/1\.1\r\n}, 'the base path kept');
like($req, qr{\r\nAuthorization: Bearer eyJ\.abc\.def\r\n}, 'a bearer token');

($port, $pid) = fake($ok);
($code, $out, $err) = gwctl({ KEY => 'tg_k' }, '--api',
    "http://127.0.0.1:$port", '--key-env', 'KEY', 'export');
waitpid($pid, 0);
like(Metadata::slurp("$tmp/req"), qr{\r\nX-API-Key: tg_k\r\n},
     '--key-env: an X-API-Key');

($code, $out, $err) = gwctl({ A => 'x', B => 'y' }, '--api', $api,
                            '--token-env', 'A', '--key-env', 'B', 'export');
is($code, 1, 'both credentials: exit 1');
($code, $out, $err) = gwctl({}, '--api', $api, '--token-env', 'UNSET_VAR',
                            'export');
is($code, 1, 'an unset variable: exit 1');
($code, $out, $err) = gwctl({}, '--api', 'https://x:1', 'export');
is($code, 1, 'https: exit 1 (http only)');

# ---- unreachable, silent, not HTTP: exit 3 ------------------------------------

($code, $out, $err) = gwctl({}, '--api',
                            'http://127.0.0.1:' . Metadata::free_port(),
                            'consumer', 'show', 'acme');
is($code, 3, 'nobody listening: exit 3');
like($err, qr/cannot connect: Connection refused/, 'cannot connect');

($port, $pid) = fake(undef);
($code, $out, $err) = gwctl({ GWCTL_TIMEOUT => 1 }, '--api',
                            "http://127.0.0.1:$port", 'export');
kill 'KILL', $pid;
waitpid($pid, 0);
is($code, 3, 'no answer within GWCTL_TIMEOUT: exit 3');
like($err, qr/no answer within the timeout/, 'timed out');

($port, $pid) = fake("SSH-2.0-nope\r\n\r\n");
($code, $out, $err) = gwctl({}, '--api', "http://127.0.0.1:$port", 'export');
waitpid($pid, 0);
is($code, 3, 'not HTTP: exit 3');

($port, $pid) = fake("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}");
($code, $out, $err) = gwctl({}, '--api', "http://127.0.0.1:$port", 'export');
waitpid($pid, 0);
is($code, 3, 'an answer cut short: exit 3');
like($err, qr/cut short/, 'cut short');

# ---- client commands through the API ---------------------------------------

{
    my $pepper_file = Identity::secret_file('pepper', 32);
    my $pepper = do { open my $f, '<:raw', $pepper_file or die; local $/;
                      <$f> };
    my $psvc = Metadata::start(redis => $redis->address,
                               env => { ANONYMOUS_ROLE => 'write',
                                        IDENTITY_PEPPER_FILE =>
                                            $pepper_file });
    my $papi = "http://127.0.0.1:$psvc->{port}";
    my $capi = sub { gwctl({}, '--api', $papi, 'client', @_) };
    my $credis = sub { gwctl({}, '--redis', $redis->address, 'client', @_) };

    ($code, $out, $err) = $capi->('add', 'svc-a', '--name', 'Service A',
        '--scopes', 'read write', '--default-scopes', 'read',
        '--audiences', 'https://a.test', '--default-audience',
        'https://a.test');
    is($code, 0, 'client add through the API: exit 0') or diag $err;
    like($out, qr/^client_id: svc-a\nclient_secret: tgs_[A-Za-z0-9_-]{43}\n\z/,
         '... the id and the secret, as the Redis command prints them');
    like($err, qr/the secret is shown once/, '... shown once');
    my ($secret) = $out =~ /client_secret: (\S+)/;
    my (undef, $ent) = Metadata::call($psvc, 'GET', '/v1/clients/svc-a');
    is($ent->{secret_hash}, hmac_sha256_hex($secret // '', $pepper),
       '... the entity holds its HMAC under the pepper');
    is_deeply($ent->{scopes}, [ 'read', 'write' ], '... its scopes');
    is($redis->cli('HGET', 'gw:client:svc-a', 'status'), 'active',
       '... projected into gw:client:svc-a');

    ($code, $out, $err) = $capi->('add', 'svc-a');
    is($code, 2, 'an existing client: exit 2');
    like($err, qr/client svc-a already exists/, '... as the Redis command');

    for my $args ([ 'show', 'svc-a', '--json' ], [ 'show', 'svc-a' ],
                  [ 'list' ], [ 'list', '--json' ])
    {
        my ($c1, $o1) = $capi->(@$args);
        my ($c2, $o2) = $credis->(@$args);
        is($c1, 0, "client @$args through the API: exit 0");
        is($o1, $o2, "client @$args: the Redis command's output");
    }

    ($code, $out) = $capi->('disable', 'svc-a');
    is($code, 0, 'client disable: exit 0');
    is($out, "client svc-a disabled\n", '... as the Redis command prints');
    is($redis->cli('HGET', 'gw:client:svc-a', 'status'), 'disabled',
       '... projected');
    ($code, $out, $err) = $capi->('disable', 'svc-a');
    is($code, 2, 'disabled again: exit 2');
    like($err, qr/client svc-a is already disabled/, '... already disabled');
    ($code, $out) = $capi->('enable', 'svc-a');
    is($out, "client svc-a enabled\n", 'client enable');

    my $jwk = spew('jwk.json', { kty => 'OKP', crv => 'Ed25519',
        x => '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' });
    ($code, $out, $err) = $capi->('set-key', 'svc-a', $jwk);
    is($code, 0, 'client set-key: exit 0') or diag $err;
    is($out, "client svc-a key set\n", '... as the Redis command prints');
    (undef, $ent) = Metadata::call($psvc, 'GET', '/v1/clients/svc-a');
    is($ent->{jwk}{x}, '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
       '... the JWK in the entity');
    is_deeply($ent->{auth}, [ 'client_secret_basic', 'private_key_jwt' ],
              '... private_key_jwt added to its methods');

    ($code, $out, $err) = $capi->('show', 'nope');
    is($code, 2, 'an unknown client: exit 2');
    like($err, qr/client nope not found/, '... not found');
    ($code, $out, $err) = $capi->('rotate-secret', 'svc-a');
    is($code, 1, 'rotate-secret through the API: exit 1');
    like($err, qr/without --api/, '... saying how');

    ($code, $out, $err) = gwctl({}, '--api', $api, 'client', 'add', 'svc-z');
    is($code, 2, 'a service without a pepper: exit 2');
    like($err, qr/identity_pepper_file/, '... naming identity_pepper_file');
    ($code, $out) = gwctl({}, '--api', $api, 'client', 'add', 'svc-k',
                          '--auth', 'private_key_jwt');
    is($code, 0, '... a private_key_jwt client needs none');
    is($out, "client_id: svc-k\n", '... and gets no secret');

    ok(!grep({ ($_->{level} // '') =~ /^(error|fatal)$/ }
             Metadata::log_lines($psvc)), 'that service logged no error');
    Metadata::stop($psvc);
}

ok(!grep({ ($_->{level} // '') =~ /^(error|fatal)$/ }
         Metadata::log_lines($svc)), 'the service logged nothing at error');

Metadata::stop($svc);

done_testing();
