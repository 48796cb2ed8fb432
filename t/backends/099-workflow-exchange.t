# The workflow service's tollgate:http "auth": {"exchange": ...}
# (docs/workflow.md, "Task resources"): a start's "Authorization: Bearer"
# token is kept sealed with the execution (never in clear in Redis, never
# in the log); a task exchanges it at the real identity service (RFC
# 8693) as the workflow's own client and calls with the new token, whose
# sub is the caller, aud the task's audience and act.sub the workflow's
# client; a Map's iterations and a child workflow carry it too.  Without
# a token the task fails with States.TaskFailed "no caller token to
# exchange"; a revoked subject token is Tollgate.TokenExchangeFailed
# (invalid_grant), which a Catch names; a sealed token copied into
# another execution does not open; the identity service's 503 is
# States.TaskFailed, retried; an Authorization of the payload's
# own beside auth.exchange is refused; two Authorization headers at the
# start are 400.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin";
use lib "$FindBin::Bin/../lib";

use Test::More;
use MIME::Base64 ();
use Time::HiRes qw(sleep time);

use Identity;
use Tollgate::Gwctl;
use Tollgate::Redis;
use WfReceiver;
use Workflow;

Workflow::skip_unless_built();
plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => Tollgate::Gwctl::gwctl_binary() . ' is not built (make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
my $AUD = 'https://orders.example';

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);

# the workflow's client exchanges; the caller's gets a token to hand in
my $wf_secret = Identity::client_add($ctl, 'wf-engine',
    scopes => 'orders:read orders:write', audiences => $AUD,
    grants => "client_credentials $TE");
my $caller_secret = Identity::client_add($ctl, 'app-caller',
    scopes => 'orders:read orders:write', audiences => 'https://wf.example',
    default_audience => 'https://wf.example',
    grants => 'client_credentials');
ok($wf_secret && $caller_secret, 'two clients made');

my $idsvc = Identity::start(redis => $redis->address);

sub caller_token {
    my ($st, $json) = Identity::form($idsvc, '/oauth2/token',
        [ grant_type => 'client_credentials',
          scope => 'orders:read orders:write' ],
        auth => [ 'app-caller', $caller_secret ]);
    is($st, 200, 'the caller gets an access token') or diag explain $json;
    return $json->{access_token};
}

my $secret_file = Workflow::tmp() . '/wf-client.secret';
open my $fh, '>', $secret_file or die "$secret_file: $!";
print {$fh} "$wf_secret\n";
close $fh;
chmod 0600, $secret_file;

my $rx = WfReceiver->new(default => 200);
my $svc = Workflow::start(env => {
    REDIS => $redis->address,
    IDENTITY_URL => Identity::url($idsvc, ''),
    IDENTITY_CLIENT_ID => 'wf-engine',
    IDENTITY_CLIENT_SECRET_FILE => $secret_file });

sub exchanged_call {
    my (%more) = @_;
    return { Type => 'Task', Resource => 'tollgate:http',
             Parameters => { method => 'POST', url => $rx->url('/orders'),
                             auth => { exchange => {
                                 audience => $AUD, scope => 'orders:read',
                                 %more } },
                             body => { 'x.$' => '$$.Execution.Id' } },
             ResultSelector => { 'status.$' => '$.StatusCode' },
             End => JSON::PP::true() };
}

my ($st) = Workflow::define($svc, 'exch', {
    StartAt => 'Call', States => { Call => exchanged_call() } });
ok($st == 201 || $st == 200, 'a definition with auth.exchange');

# ---- the exchange, end to end ------------------------------------------

my $tok = caller_token();
my (undef, $claims) = Identity::token_claims($tok);

my $id = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => "Bearer $tok" });
my $x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{status}, 'SUCCEEDED', 'the exchanged call succeeded')
    or diag explain [ Workflow::history($svc, $id) ];

my @req = grep { $_->{path} eq '/orders' } $rx->requests;
is(scalar @req, 1, 'one call');
my ($bearer) = ($req[0]{headers}{authorization} // '') =~ /^Bearer (\S+)$/;
ok($bearer, 'the call carries a bearer token');
isnt($bearer, $tok, 'not the caller\'s own');
my (undef, $new) = Identity::token_claims($bearer // '');
is($new->{sub}, $claims->{sub}, 'sub: the caller');
is(ref $new->{aud} ? $new->{aud}[0] : $new->{aud}, $AUD, 'aud: the audience');
is($new->{act}{sub}, 'wf-engine', 'act.sub: the workflow\'s client');
is($new->{scope}, 'orders:read', 'the scope narrowed as asked');

my $hash = $redis->cli('HGETALL', "gw:wf:x:$id");
like($hash, qr/^stok$/m, 'the execution keeps a stok');
unlike($hash, qr/\Q$tok\E/, 'never the caller\'s token in clear');
my $sig = (split /\./, $tok)[2];
unlike($hash, qr/\Q$sig\E/, 'nor its signature alone');

my (undef, $desc) = Workflow::call($svc, 'GET', "/v1/executions/$id");
ok(!exists $desc->{stok}, 'describe does not answer stok');

# ---- a Map's iterations and a child workflow carry it ------------------

Workflow::define($svc, 'exch-child', {
    StartAt => 'Call', States => { Call => exchanged_call() } });
Workflow::define($svc, 'exch-fan', {
    StartAt => 'Each', States => {
        Each => { Type => 'Map', ItemsPath => '$.items',
                  ItemProcessor => { StartAt => 'Call',
                                     States => { Call => exchanged_call() } },
                  Next => 'Child' },
        Child => { Type => 'Task', Resource => 'tollgate:workflow:exch-child',
                   Parameters => {}, End => JSON::PP::true() } } });
$rx->reset;
$id = Workflow::start_execution($svc, 'exch-fan', input => { items => [1, 2] },
    headers => { Authorization => "Bearer $tok" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{status}, 'SUCCEEDED', 'a Map and a child workflow, exchanged')
    or diag explain [ Workflow::history($svc, $id) ];
@req = grep { $_->{path} eq '/orders' } $rx->requests;
is(scalar @req, 3, 'three calls: two items and the child');
is(scalar(grep { ($_->{headers}{authorization} // '') =~ /^Bearer \S+$/
                 && $_->{headers}{authorization} ne "Bearer $tok" } @req),
   3, 'each with an exchanged token');
my $keys = $redis->cli('KEYS', 'gw:wf:x:*');
for my $k (split /\n/, $keys) {
    unlike($redis->cli('HGETALL', $k), qr/\Q$sig\E/, "$k: no clear token");
}

# ---- a sealed token opens only in its own execution ---------------------

my $first = (grep { /^wx_/ } split /\n/, $redis->cli('ZRANGE', 'gw:wf:all',
                                                       0, 0))[0];
my $sealed = $redis->cli('HGET', "gw:wf:x:$first", 'stok');
like($sealed, qr/^v1:[0-9a-f]+$/, 'stok: sealed text');
Workflow::define($svc, 'exch-wait', {
    StartAt => 'Wait', States => {
        Wait => { Type => 'Wait', Seconds => 2, Next => 'Call' },
        Call => exchanged_call() } });
$id = Workflow::start_execution($svc, 'exch-wait', input => {});
$redis->cli('HSET', "gw:wf:x:$id", 'stok', $sealed);
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{error}, 'States.TaskFailed', 'another execution\'s stok: failed');
like($x->{cause}, qr/cannot be opened/, 'it does not open there');

# ---- without a token: States.TaskFailed --------------------------------

$id = Workflow::start_execution($svc, 'exch', input => {});
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{status}, 'FAILED', 'no token: failed');
is($x->{error}, 'States.TaskFailed', 'States.TaskFailed');
like($x->{cause}, qr/no caller token to exchange/, 'the cause says why');

# ---- a revoked subject token: Tollgate.TokenExchangeFailed -------------

my $tok2 = caller_token();
my ($rst) = Identity::form($idsvc, '/oauth2/revoke', [ token => $tok2 ],
                           auth => [ 'app-caller', $caller_secret ]);
is($rst, 200, 'the caller\'s second token revoked');
sleep 0.2;

$id = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => "Bearer $tok2" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{status}, 'FAILED', 'revoked: failed');
is($x->{error}, 'Tollgate.TokenExchangeFailed', 'Tollgate.TokenExchangeFailed');
is($x->{cause}, 'invalid_grant', 'the identity\'s error code as cause');

Workflow::define($svc, 'exch-catch', {
    StartAt => 'Call', States => {
        Call => { %{ exchanged_call() },
                  Catch => [ { ErrorEquals => ['Tollgate.TokenExchangeFailed'],
                               Next => 'Denied' } ] },
        Denied => { Type => 'Pass', Result => 'denied',
                    End => JSON::PP::true() } } });
$id = Workflow::start_execution($svc, 'exch-catch', input => {},
    headers => { Authorization => "Bearer $tok2" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{status}, 'SUCCEEDED', 'a Catch names Tollgate.TokenExchangeFailed');

# an audience the workflow's client may not ask for
Workflow::define($svc, 'exch-other', {
    StartAt => 'Call', States => {
        Call => exchanged_call(audience => 'https://payroll.example') } });
$id = Workflow::start_execution($svc, 'exch-other', input => {},
    headers => { Authorization => "Bearer $tok" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{error}, 'Tollgate.TokenExchangeFailed', 'another audience: refused');
is($x->{cause}, 'invalid_target', 'invalid_target');

# ---- refused shapes ------------------------------------------------------

my $both = exchanged_call();
$both->{Parameters}{headers} = { authorization => 'Bearer mine' };
Workflow::define($svc, 'exch-both', { StartAt => 'Call',
                                      States => { Call => $both } });
$id = Workflow::start_execution($svc, 'exch-both', input => {},
    headers => { Authorization => "Bearer $tok" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{error}, 'States.TaskFailed', 'Authorization and auth.exchange');
like($x->{cause}, qr/auth\.exchange together/, 'refused, saying why');

($st) = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => [ "Bearer $tok", "Bearer $tok" ] });
is($st, 400, 'two Authorization headers: 400');
($st) = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => 'Bearer ' . ('a' x 8193) });
is($st, 413, 'a bearer token past 8 KiB: 413');
($st) = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => 'Bearer a b' });
is($st, 400, 'a malformed bearer token: 400');

# ---- never in the log ------------------------------------------------------

my $log = Workflow::slurp($svc->{log});
unlike($log, qr/\Q$sig\E/, 'the service log never holds a caller token');
unlike($log, qr/\Q$wf_secret\E/, 'nor the client secret');
is(scalar(Workflow::errors($svc)), 0, 'no error logged');

# ---- the identity service unavailable: TaskFailed, retried -------------

Workflow::stop($svc);
my $idp = WfReceiver->new(default => 503);
$svc = Workflow::start(env => {
    REDIS => $redis->address,
    IDENTITY_URL => $idp->url('/id/'),
    IDENTITY_CLIENT_ID => 'wf-engine',
    IDENTITY_CLIENT_SECRET_FILE => $secret_file });
Workflow::define($svc, 'exch-retry', {
    StartAt => 'Call', States => {
        Call => { %{ exchanged_call() },
                  Retry => [ { ErrorEquals => ['States.TaskFailed'],
                               IntervalSeconds => 1, MaxAttempts => 2,
                               BackoffRate => 1 } ] } } });
$rx->reset;
$id = Workflow::start_execution($svc, 'exch-retry', input => {},
    headers => { Authorization => "Bearer $tok" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{error}, 'States.TaskFailed', 'identity 503: States.TaskFailed');
like($x->{cause}, qr/answered 503/, 'the cause says 503');
my @ex = $idp->requests;
is(scalar @ex, 3, 'retried by the Retry: three exchanges');
is($ex[0]{path}, '/id/oauth2/token', 'POST identity_url + /oauth2/token');
my ($basic) = ($ex[0]{headers}{authorization} // '') =~ /^Basic (\S+)$/;
is(MIME::Base64::decode_base64($basic // ''), "wf-engine:$wf_secret",
   'as the workflow\'s client (client_secret_basic)');
like($ex[0]{body}, qr/(^|&)grant_type=urn%3Aietf%3Aparams%3Aoauth%3A
                      grant-type%3Atoken-exchange(&|$)/x, 'the grant');
is(scalar(grep { $_->{path} eq '/orders' } $rx->requests), 0,
   'no call without a token');

# ---- a service without identity_url: the task says so ------------------

Workflow::stop($svc);
$svc = Workflow::start(env => { REDIS => $redis->address });
$id = Workflow::start_execution($svc, 'exch', input => {},
    headers => { Authorization => "Bearer $tok" });
$x = Workflow::wait_status($svc, $id, undef, 20);
is($x->{error}, 'States.TaskFailed', 'no identity_url: TaskFailed');
like($x->{cause}, qr/identity_url/, 'the cause names identity_url');
Workflow::stop($svc);

done_testing;
