# `make run`'s script: it starts the platform from conf/tollgate.conf in a
# private run folder, prints a demo token that works, answers as it says,
# and stops everything on SIGINT.  The identity part runs the printed curl
# commands themselves (a token, introspection, revocation) and sends the
# token to the printed gateway route; a second start on the same folder
# gives the demo client a new secret that works.  The admin API part runs
# the printed commands too: an admin token, a list, a create with
# If-None-Match: * and an update with If-Match, all through the gateway.
# The workflow part runs the printed start, token, success, describe and
# history commands (SUCCEEDED, ExecutionSucceeded) and the invalid input
# (Demo.InvalidOrder); the reporting part puts per_minute rows in the
# demo pipeline's SQLite file, runs the printed download loop (CSV with
# the rows, XLSX, PDF) and the email command (delivery sent, the mail
# with its PDF).  Plain Test::More with real HTTP.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG);

my $top = "$FindBin::Bin/..";
my $module = "$top/build/ngx_http_gw_module.so";

plan skip_all => 'the module is not built (run make)' unless -f $module;

# twelve free ports in a row on loopback (gateway, upstream, Redis, admin,
# audit, identity, metadata, processing, notification, SMTP, workflow,
# reporting)
sub free_port {
    for (1 .. 50) {
        my $p = 20000 + int(rand(20000));
        my $ok = 1;
        for my $q ($p .. $p + 11) {
            my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                          LocalPort => $q, Proto => 'tcp',
                                          ReuseAddr => 1, Listen => 1);
            if ($s) { close $s } else { $ok = 0 }
        }
        return $p if $ok;
    }
    die "no free port";
}

sub get {
    my ($port, $path, $token, $key) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or return '';
    my $auth = defined $token ? "Authorization: Bearer $token\r\n" : '';
    $auth .= "X-API-Key: $key\r\n" if defined $key;
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n$auth\r\n";
    local $/;
    my $r = <$s>;
    close $s;
    return $r // '';
}

my $port = free_port();
my $run = tempdir(CLEANUP => 1);
my $has_identity = -x "$top/build/backends/identity";
my $has_metadata = -x "$top/build/backends/metadata";

# starts scripts/run.sh in its own process group; returns its pid and what
# it printed up to "Press Ctrl-C"
sub start_run {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        close $rd;
        open STDOUT, '>&', $wr or die;
        open STDERR, '>&', $wr or die;
        setpgrp(0, 0);
        $ENV{TOLLGATE_PORT} = $port;
        $ENV{TOLLGATE_RUN} = $run;
        exec 'sh', "$top/scripts/run.sh" or die "exec: $!";
    }

    close $wr;

    my $out = '';
    my $deadline = time + 60;

    while (time < $deadline) {
        my $line = <$rd>;
        last unless defined $line;
        $out .= $line;
        last if $line =~ /Press Ctrl-C/;
    }

    return ($pid, $out);
}

# Ctrl-C to the script's process group; true when the script ended
sub stop_run {
    my ($pid) = @_;
    kill 'INT', -$pid;
    for (1 .. 100) {
        return 1 if waitpid($pid, WNOHANG) == $pid;
        select(undef, undef, undef, 0.1);
    }
    return 0;
}

# the identity section's shell commands, continuation lines joined
sub commands {
    my ($out) = @_;
    my ($text) = $out =~ /^(Identity service on .*)/ms or return ();
    my (@cmds, $cur);
    $cur = '';
    for my $l (split /\n/, $text) {
        $l =~ s/^\s+//;
        next unless $cur ne '' || $l =~ /^(?:curl |AT=)/;
        $cur .= $l;
        next if $cur =~ s/\\$/ /;
        push @cmds, $cur;
        $cur = '';
    }
    return @cmds;
}

# the admin API section's shell commands, continuation lines joined
sub admin_commands {
    my ($out) = @_;
    my ($text) = $out =~ /^(Admin API on .*?)(?:^Press Ctrl-C|\z)/ms
        or return ();
    my (@cmds, $cur);
    $cur = '';
    for my $l (split /\n/, $text) {
        $l =~ s/^\s+//;
        next unless $cur ne '' || $l =~ /^(?:curl |ADMIN=|ETAG=)/;
        $cur .= $l;
        next if $cur =~ s/\\$/ /;
        push @cmds, $cur;
        $cur = '';
    }
    return @cmds;
}

# the notification part's shell commands, continuation lines joined
sub ntf_commands {
    my ($out) = @_;
    my ($text) = $out =~ /^(Notifications \(.*?)(?:^Press Ctrl-C|\z)/ms
        or return ();
    my (@cmds, $cur);
    $cur = '';
    for my $l (split /\n/, $text) {
        $l =~ s/^\s+//;
        $l =~ s/\s+#.*$//;
        next unless $cur ne '' || $l =~ /^(?:curl |ID=)/;
        $cur .= $l;
        next if $cur =~ s/\\$/ /;
        push @cmds, $cur;
        $cur = '';
    }
    return @cmds;
}

# a part's shell commands: the lines from one starting with $first,
# continuation lines joined, comments after the command dropped
sub part_commands {
    my ($text, $first) = @_;
    my (@cmds, $cur);
    $cur = '';
    for my $l (split /\n/, $text // '') {
        $l =~ s/^\s+//;
        $l =~ s/\s+#.*$//;
        next unless $cur ne '' || $l =~ $first;
        $cur .= $l;
        next if $cur =~ s/\\$/ /;
        push @cmds, $cur;
        $cur = '';
    }
    return @cmds;
}

# waits up to $n tenths of a second for $try to return something true
sub poll {
    my ($n, $try) = @_;
    my $v;
    for (1 .. $n) {
        $v = $try->();
        return $v if $v;
        select(undef, undef, undef, 0.1);
    }
    return $v;
}

# runs a printed command with sh, these variables set; its stdout
sub sh {
    my ($cmd, %env) = @_;
    local @ENV{keys %env} = values %env;
    my $o = `$cmd`;
    return $? == 0 ? $o : "(exit $?) $o";
}

my ($pid, $out) = start_run();
my ($token) = $out =~ /^\s*TOKEN=(\S+)/m;
my ($key) = $out =~ /^\s*KEY=(\S+)/m;

like($out, qr/Tollgate is running on http:\/\/127\.0\.0\.1:$port/,
     'prints where it listens');
ok(defined $token, 'prints a demo token');
like($out, qr/curl -i .*\/api\/hello/, 'prints curl commands');

like(get($port, '/'), qr/^HTTP\/1\.1 200/, 'public route answers');

my $r = get($port, '/api/hello');
like($r, qr/^HTTP\/1\.1 401/, 'no token: 401');
like($r, qr/WWW-Authenticate: Bearer realm="demo"/, 'challenge');
like($r, qr/Content-Type: application\/problem\+json/, 'problem body');

$r = get($port, '/api/hello', $token);
like($r, qr/^HTTP\/1\.1 200/, 'demo token: 200');
like($r, qr/"user":"demo-user"/, 'claim forwarded to the upstream');

like(get($port, '/api/admin', $token), qr/^HTTP\/1\.1 403/,
     'missing scope: 403');
like(get($port, '/api/hello', "${token}x"), qr/^HTTP\/1\.1 401/,
     'tampered token: 401');

ok(defined $key, 'prints a demo API key');
$r = get($port, '/keyed/hello', undef, $key);
like($r, qr/^HTTP\/1\.1 200/, 'demo key: 200');
like($r, qr/"consumer":"demo"/, 'the consumer reaches the upstream');
like(get($port, '/keyed/hello', undef, 'tg_nope'), qr/^HTTP\/1\.1 401/,
     'unknown key: 401');
like($r, qr/^RateLimit-Policy: "burst";q=5;w=1, "hourly";q=1000;w=3600\r$/m,
     'the demo route announces its limits');
my @codes = map { get($port, '/keyed/hello', undef, $key) =~ m{^HTTP/1\.1 (\d+)}
                  ? $1 : 0 } 1 .. 15;
ok((grep { $_ == 429 } @codes) && $codes[0] == 200,
   "a burst of 15 meets the demo's rate limit (@codes)");
ok(-f "$run/redis/redis.pid", 'Redis keeps its files in the run folder');

like($r, qr/^X-Request-ID: [0-9a-f]{32}\r$/m, 'a request id comes back');

# metrics on the admin port, by route
my $m = get($port + 3, '/metrics');
like($m, qr/^HTTP\/1\.1 200/, 'the admin port serves /metrics');
like($m, qr/^gw_http_requests_total\{route="api",method="GET",status="2xx"\} 1\r?$/m,
     'requests counted by route');
like($m, qr/^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="ok"\} 16\r?$/m,
     'key decisions counted');
like($m, qr/^gw_limit_decisions_total\{route="keyed",decision="passed"\} \d+\r?$/m,
     'rate-limit decisions counted: passed');
like($m, qr/^gw_limit_decisions_total\{route="keyed",decision="rejected"\} \d+\r?$/m,
     'and rejected');
like($m, qr/^gw_redis_connected\{worker="\d"\} [01]\r?$/m,
     'the Redis client is reported');

# the JSON access log
my @log;
for (1 .. 20) {
    open my $in, '<', "$run/logs/access.log" or last;
    @log = <$in>;
    last if @log >= 7;
    select(undef, undef, undef, 0.1);
}
my @json = grep { defined } map { eval { JSON::PP::decode_json($_) } } @log;
is(scalar @json, scalar @log, 'every access log line is a JSON object');
my ($keyed) = grep { $_->{route} eq 'keyed' && $_->{status} == 200 } @json;
ok($keyed, 'the keyed request is logged');
is($keyed && $keyed->{consumer}, 'demo', 'with its consumer');
is($keyed && $keyed->{auth_outcome}, 'ok', 'and its auth outcome');
like($keyed && $keyed->{request_id}, qr/^[0-9a-f]{32}$/, 'and its request id');
like($keyed && $keyed->{trace_id}, qr/^[0-9a-f]{32}$/, 'and its trace id');
like($keyed && $keyed->{upstream_time}, qr/^\d+\.\d{3}$/,
     'and its upstream time');

ok(-f "$run/logs/error.log", 'logs are in the run folder');
ok(-f "$run/logs/nginx.pid", 'the pid file is in the run folder');

SKIP: {
    skip 'the audit service is not built (make backends)', 3
        unless -x "$top/build/backends/audit";
    my $h;
    for (1 .. 50) {
        $h = get($port + 4, '/healthz');
        last if $h =~ /^HTTP\/1\.[01] 200/;
        select(undef, undef, undef, 0.1);
    }
    like($h, qr/^HTTP\/1\.[01] 200.*"alive"/s,
         'the audit service answers /healthz');
    ok(-f "$run/audit/audit.key", 'its signer key is in the run folder');

    # the gateway's audit events reach the service through Redis
    my $recs = '';
    for (1 .. 50) {
        $recs = get($port + 4, '/v1/audit/records?actor=demo');
        last if $recs =~ /"actor":"demo"/;
        select(undef, undef, undef, 0.1);
    }
    like($recs, qr/"actor":"demo".*"resource":"\/keyed\/hello"/s,
         'the demo key\'s requests are in the audit trail');
}

# the identity service, through what the script printed
my ($id_url, $client, $secret, $at);

SKIP: {
    skip 'the identity service is not built (make backends)', 22
        unless $has_identity;

    ($id_url) = $out =~ m{^Identity service on (http://127\.0\.0\.1:\d+) }m;
    is($id_url, 'http://127.0.0.1:' . ($port + 5),
       'the identity service is on port + 5');
    ($client) = $out =~ /^\s*CLIENT_ID=(\S+)/m;
    ($secret) = $out =~ /^\s*CLIENT_SECRET=(\S+)/m;
    is($client, 'demo-client', 'prints the demo client id');
    like($secret // '', qr/^tgs_[A-Za-z0-9_-]{43}$/, 'and its secret');

    my @cmds = commands($out);
    my ($tok) = grep { m{^curl .*/oauth2/token} } @cmds;
    my ($set) = grep { /^AT=/ } @cmds;
    my ($intro) = grep { m{/oauth2/introspect} } @cmds;
    my ($revoke) = grep { m{/oauth2/revoke} } @cmds;
    ok($tok && $set && $intro && $revoke,
       'prints the token, introspection and revocation commands');
    like($tok // '', qr/ -u "\$CLIENT_ID:\$CLIENT_SECRET" /,
         'client_secret_basic');
    unlike(join("\n", @cmds), qr/\bjq\b/, 'without jq');
    my %env = (CLIENT_ID => $client, CLIENT_SECRET => $secret);

    my $r = sh($tok // 'false', %env);
    like($r, qr/^\{"access_token":"[\w-]+\.[\w-]+\.[\w-]+",
                 "token_type":"Bearer",/x,
         'the printed curl gets a token');
    $at = sh(($set // 'false') . '; printf %s "$AT"', %env);
    like($at, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'the printed one-liner keeps it');
    my ($h) = split /\./, $at;
    $h =~ tr/-_/+\//;
    $h .= "=" x (-length($h) % 4);
    like(decode_base64($h), qr/"typ":"at\+jwt"/, 'an RFC 9068 access token');

    like($out, qr{Bearer \$AT" http://127\.0\.0\.1:$port/svc/hello\s+# 200},
         'prints the gateway route');
    $r = get($port, '/svc/hello', $at);
    like($r, qr/^HTTP\/1\.1 200/, 'the gateway takes it: 200');
    like($r, qr/"user":"demo-client","scope":"svc.read"/,
         'the client and scope reach the upstream');
    $r = get($port, '/svc/hello');
    like($r, qr/^HTTP\/1\.1 401/, 'no token: 401');
    like($r, qr/WWW-Authenticate: Bearer realm="identity"/, 'challenge');
    like(get($port, '/svc/hello', $token), qr/^HTTP\/1\.1 401/,
         'the file-key demo token is not taken there');

    like(sh($intro // 'false', %env, AT => $at), qr/^\{"active":true,/,
         'introspection: active');
    is(sh($revoke // 'false', %env, AT => $at), '', 'the revoke command');
    for (1 .. 50) {
        $r = get($port, '/svc/hello', $at);
        last if $r =~ /^HTTP\/1\.1 401/;
        select(undef, undef, undef, 0.1);
    }
    like($r, qr/^HTTP\/1\.1 401.*token revoked/s,
         'a revoked token is refused');
    is(sh($intro // 'false', %env, AT => $at), '{"active":false}',
       'introspection: not active');

    like(get($port + 5, '/.well-known/jwks.json'), qr/"kid":/,
         'the printed JWKS URL');
    like($out, qr{\Q$id_url\E/\.well-known/oauth-authorization-server},
         'and the metadata URL');
    my @modes = map { (stat "$run/identity/$_")[2] & 0777 } qw(pepper kek);
    is("@modes", '384 384', 'pepper and KEK in the run folder, mode 0600');
}

# the admin API through the gateway, with what the script printed
SKIP: {
    skip 'the identity and metadata services are not built (make backends)',
        11 unless $has_identity && $has_metadata;

    like($out, qr{^Admin API on http://127\.0\.0\.1:$port/admin/ }m,
         'prints the admin API');
    my ($aid) = $out =~ /^\s*ADMIN_ID=(\S+)/m;
    my ($asecret) = $out =~ /^\s*ADMIN_SECRET=(\S+)/m;
    is($aid, 'demo-admin', 'the demo admin client');
    like($asecret // '', qr/^tgs_[A-Za-z0-9_-]{43}$/, 'and its secret');

    my @cmds = admin_commands($out);
    my ($set) = grep { /^ADMIN=/ } @cmds;
    my ($list) = grep { m{^curl .*/admin/routes$} } @cmds;
    my ($create) = grep { /^ETAG=/ } @cmds;
    my ($update) = grep { /-X PATCH/ } @cmds;
    ok($set && $list && $create && $update,
       'prints the token, list, create and update commands')
        or diag explain \@cmds;
    like($create // '', qr/If-None-Match: \*/, 'create: If-None-Match: *');
    like($update // '', qr/If-Match: \$ETAG/, 'update: If-Match');

    my %env = (ADMIN_ID => $aid, ADMIN_SECRET => $asecret);
    my $admin = sh(($set // 'false') . '; printf %s "$ADMIN"', %env);
    like($admin, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'an admin token');
    $env{ADMIN} = $admin;
    like(sh($list // 'false', %env), qr/^\{"items":\[/,
         'the printed list answers through the gateway');
    my $etag = sh(($create // 'false') . ' >/dev/null; printf %s "$ETAG"',
                  %env);
    like($etag, qr/^"\d+"$/, 'the printed create makes the consumer');
    my $u = sh($update // 'false', %env, ETAG => $etag);
    like($u, qr/"tags":\s*\[\s*"partner"\s*\]/,
         'the printed update changes it');
    like(sh($update // 'false', %env, ETAG => $etag),
         qr/precondition-failed/, 'and again with the old ETag: 412');
}

# notifications, with what the script printed: a webhook to the demo
# receiver (its log), a push to an EventSource subscriber, an email to the
# demo's SMTP receiver
SKIP: {
    skip 'the notification service is not built (make backends)', 9
        unless -x "$top/build/backends/notification";

    like($out, qr/^Notifications \(docs\/notification\.md\)/m,
         'prints the notification part');
    my @cmds = ntf_commands($out);
    my ($send) = grep { /^ID=/ } @cmds;
    my ($watch) = grep { /^curl -N / } @cmds;
    my ($push) = grep { /"channel":"push"/ } @cmds;
    my ($mail) = grep { /"channel":"email"/ } @cmds;
    ok($send && $watch && $push && $mail, 'prints the commands')
        or diag explain \@cmds;

    my $id = sh(($send // 'false') . ' >/dev/null; printf %s "$ID"',
                KEY => $key);
    like($id, qr/^ntf_[0-9A-Z]{26}$/, 'the printed webhook command: an id');
    my $log = '';
    for (1 .. 100) {
        $log = -f "$run/logs/webhooks.log"
               ? do { local (@ARGV, $/) = "$run/logs/webhooks.log"; <> }
               : '';
        last if $log =~ /"webhook_id":"\Q$id\E\.0"/;
        select(undef, undef, undef, 0.1);
    }
    like($log, qr/"webhook_id":"\Q$id\E\.0".*"webhook_signature":"v1,/,
         'the demo receiver logged the signed delivery');

    my $sse = "$run/sse.out";
    my $w = fork() // die "fork: $!";
    if ($w == 0) {
        $ENV{KEY} = $key;
        open STDOUT, '>', $sse or die;
        open STDERR, '>', '/dev/null' or die;   # curl -N's progress meter
        exec 'sh', '-c', "timeout 10 $watch" or die;
    }
    select(undef, undef, undef, 1);
    like(sh($push // 'false', KEY => $key), qr/"id":\s*"ntf_/,
         'the printed push command is accepted');
    my $got = '';
    for (1 .. 100) {
        $got = do { local (@ARGV, $/) = $sse; <> } // '';
        last if $got =~ /"text":"hi"/;
        select(undef, undef, undef, 0.1);
    }
    kill 'TERM', $w;
    waitpid($w, 0);
    like($got, qr/^event: hello\n.*"text":"hi"/ms,
         'the EventSource subscriber got it');

    like(sh($mail // 'false', KEY => $key), qr/"id":\s*"ntf_/,
         'the printed email command is accepted');
    my $msg = '';
    for (1 .. 100) {
        my @f = glob "$run/mail/new/*";
        $msg = @f ? do { local (@ARGV, $/) = $f[0]; <> } : '';
        last if $msg ne '';
        select(undef, undef, undef, 0.1);
    }
    like($msg, qr/^Subject: =\?UTF-8\?/m, 'the SMTP receiver got the email');
    like($msg, qr/^To: Ann <ann\@example\.com>/m, '... to Ann');
}

# workflows, with what the script printed: the demo definition "order"
# started, its task token read from the history, approved; it ends
# SUCCEEDED (its notify task's webhook in the receiver's log); an input
# its Choice refuses fails with Demo.InvalidOrder
SKIP: {
    skip 'the workflow service is not built (make backends)', 11
        unless -x "$top/build/backends/workflow";

    my ($text) = $out =~ /^(Workflows \(.*?)(?=^Reports \(|^Press Ctrl-C|\z)/ms;
    ok($text, 'prints the workflow part') or diag $out;
    my @cmds = part_commands($text, qr/^(?:curl |WX=|TT=)/);
    my ($start) = grep { /^WX=/ } @cmds;
    my ($get_tt) = grep { /^TT=/ } @cmds;
    my ($success) = grep { m{/workflow/tasks/success$} } @cmds;
    my ($describe) = grep { m{/workflow/executions/\$WX$} } @cmds;
    my ($history) = grep { m{/workflow/executions/\$WX/history$} } @cmds;
    my ($invalid) = grep { /"seven"/ } @cmds;
    ok($start && $get_tt && $success && $describe && $history && $invalid,
       'prints the start, token, success, describe, history and invalid'
       . ' input commands') or diag explain \@cmds;

    my $wx = sh(($start // 'false') . ' >/dev/null; printf %s "$WX"',
                KEY => $key);
    like($wx, qr/^wx_[0-9A-Z]{26}$/, 'the printed start: an execution id');

    # the token is in the history once the execution reaches its
    # callback task, after the http task's GET of the demo backend
    my $tt = poll(50, sub {
        sh(($get_tt // 'false') . ' >/dev/null; printf %s "$TT"',
           KEY => $key, WX => $wx) =~ /^([\w-]{20,})$/ ? $1 : '';
    });
    like($tt, qr/^[\w-]{20,}$/, 'the printed one-liner reads its task token');
    is(sh($success // 'false', KEY => $key, TT => $tt), '{}',
       'the printed success command takes it');

    my $d = poll(50, sub {
        my $r = sh($describe // 'false', KEY => $key, WX => $wx);
        $r =~ /"status":\s*"(?:SUCCEEDED|FAILED|TIMED_OUT|ABORTED)"/ ? $r : '';
    });
    like($d, qr/"status":\s*"SUCCEEDED"/, 'the execution ends SUCCEEDED')
        or diag $d;
    like($d, qr/"approval":\s*\{\s*"approved":\s*true\s*\}/,
         'with the approval in its output');
    my $h = sh($history // 'false', KEY => $key, WX => $wx);
    like($h, qr/"type":\s*"ExecutionSucceeded"/,
         'its history ends with ExecutionSucceeded');
    my $log = poll(50, sub {
        my $l = -f "$run/logs/webhooks.log"
                ? do { local (@ARGV, $/) = "$run/logs/webhooks.log"; <> }
                : '';
        $l =~ /order\.approved/ ? $l : '';
    });
    like($log, qr/\\"type\\":\\"order\.approved\\".*\\"order\\":7/,
         'its notify task reached the demo receiver');

    my ($bad) = sh($invalid // 'false', KEY => $key)
        =~ /"id":\s*"(wx_[0-9A-Z]{26})"/;
    ok($bad, 'the printed invalid input starts an execution');
    $d = poll(50, sub {
        my $r = sh($describe // 'false', KEY => $key, WX => $bad // 'none');
        $r =~ /"status":\s*"FAILED"/ ? $r : '';
    });
    like($d, qr/"error":\s*"Demo\.InvalidOrder"/,
         'which fails with Demo.InvalidOrder') or diag $d;
}

# reports, with what the script printed: the demo report "per-minute"
# run as CSV, XLSX and PDF, each downloaded with its signed link, and
# emailed to the SMTP receiver
SKIP: {
    skip 'the reporting service is not built (make backends)', 12
        unless -x "$top/build/backends/reporting" && $has_metadata;

    my ($text) = $out =~ /^(Reports \(.*?)(?=^Press Ctrl-C|\z)/ms;
    ok($text, 'prints the reporting part') or diag $out;
    my ($loop) = ($text // '')
        =~ /^[ \t]*(for f in csv xlsx pdf; do\n.*?^[ \t]*done)$/ms;
    my ($mail) = grep { /"channel":"email"/ }
                      part_commands($text, qr/^curl /);
    ok($loop && $mail, 'prints the download loop and the email command')
        or diag $text;

    # A pipeline row comes only once its minute is over and a later event
    # came, a minute or more: too long for this test, so the rows go
    # straight into the pipeline's table (it makes the table when it
    # starts) with the sqlite3 CLI, as its SQLite sink writes them
    # (minute: the window's start in milliseconds); a row of another
    # consumer must not show
    my $db = "$run/processing/demo.db";
    my @sql = ('sqlite3', '-cmd', '.timeout 5000', $db);
    my $made = poll(50, sub {
        return 0 unless -f $db;
        open my $q, '-|', @sql, 'select count(*) from per_minute' or return 0;
        return (<$q> // '') =~ /^\d/;
    });
    ok($made && system(@sql, "insert into per_minute"
                      . " (consumer, minute, events, amount) values"
                      . " ('demo', 1767225600000, 3, 37.5),"
                      . " ('demo', 1767225660000, 1, 4.25),"
                      . " ('other', 1767225600000, 9, 99)") == 0,
       'two minutes of the demo consumer in run/processing/demo.db');

    my $dl = "$run/downloads";
    mkdir $dl;
    my $ls = sh("cd '$dl' && " . ($loop // 'false'), KEY => $key);
    like($ls, qr/per-minute\.csv\n.*per-minute\.xlsx\n.*per-minute\.pdf\n/s,
         'the printed loop downloads the three') or diag $ls;
    my %f = map { $_ => -f "$dl/per-minute.$_"
                        ? do { local (@ARGV, $/) = "$dl/per-minute.$_"; <> }
                        : '' } qw(csv xlsx pdf);
    like($f{csv}, qr/\AMinute,Events,Amount\r?\n
                     2026-01-01T00:00:00Z,3,37\.50\r?\n
                     2026-01-01T00:01:00Z,1,4\.25\r?\n\z/x,
         'the CSV has the demo consumer\'s rows') or diag $f{csv};
    # binary: ok(), not like(), so that a failure prints no file
    ok($f{xlsx} =~ /\APK\x03\x04/, 'the XLSX is a zip');
    ok($f{xlsx} =~ m{xl/charts/chart\d+\.xml}, 'with a chart');
    ok($f{pdf} =~ /\A%PDF-1\.\d/, 'the PDF is a PDF');
    ok($f{pdf} =~ /%%EOF\s*\z/, 'a whole one');

    my $r = sh($mail // 'false', KEY => $key);
    my ($id) = $r =~ /"run":\s*"([0-9a-f]+)"/;
    like($r, qr/"status":\s*"done".*"rows":\s*2\b/s,
         'the printed email command runs it') or diag $r;
    # the run is done before its email is sent: "delivery" shows on the
    # run afterwards
    $r = poll(50, sub {
        my $g = get($port, "/reports/v1/reports/per-minute/runs/"
                           . ($id // 'none'), undef, $key);
        $g =~ /"delivery":\s*"(?!pending)/ ? $g : '';
    });
    like($r, qr/"delivery":\s*"sent"/, 'its delivery: sent') or diag $r;
    my $msg = poll(50, sub {
        for my $m (glob "$run/mail/new/*") {
            my $t = do { local (@ARGV, $/) = $m; <> };
            return $t if $t =~ /^Subject: Events per minute\r?$/m;
        }
        '';
    });
    like($msg, qr{^Content-Type: application/pdf}m,
         'the SMTP receiver got it, the PDF attached');
}

ok(stop_run($pid), 'Ctrl-C stops the script');

my $stopped = 1;
for (1 .. 50) {
    $stopped = get($port, '/') eq '';
    last if $stopped;
    select(undef, undef, undef, 0.1);
}
ok($stopped, 'and nginx with it');

my $redis_gone = 1;
for (1 .. 50) {
    $redis_gone = !-f "$run/redis/redis.pid";
    last if $redis_gone;
    select(undef, undef, undef, 0.1);
}
ok($redis_gone, 'and redis-server');
my $id_gone = 1;
for (1 .. 50) {
    $id_gone = get($port + 5, '/healthz') eq '';
    last if $id_gone;
    select(undef, undef, undef, 0.1);
}
ok($id_gone, 'and the identity service');
my $md_gone = 1;
for (1 .. 50) {
    $md_gone = get($port + 6, '/healthz') eq '';
    last if $md_gone;
    select(undef, undef, undef, 0.1);
}
ok($md_gone, 'and the metadata service');
SKIP: {
    skip 'the workflow service is not built (make backends)', 1
        unless -x "$top/build/backends/workflow";
    ok(poll(50, sub { get($port + 10, '/healthz') eq '' }),
       'and the workflow service');
}
SKIP: {
    skip 'the reporting service is not built (make backends)', 1
        unless -x "$top/build/backends/reporting";
    ok(poll(50, sub { get($port + 11, '/healthz') eq '' }),
       'and the reporting service');
}

# a second start on the same run folder: the client exists, so it gets a
# new secret, which works, and the old one no longer does
SKIP: {
    skip 'the identity service is not built (make backends)', 7
        unless $has_identity && defined $secret;

    ($pid, $out) = start_run();
    like($out, qr/Tollgate is running/, 'a second start on the same folder');
    my ($again) = $out =~ /^\s*CLIENT_SECRET=(\S+)/m;
    like($again // '', qr/^tgs_/, 'prints a secret again');
    isnt($again, $secret, 'a new one');
    my ($set) = grep { /^AT=/ } commands($out);
    my $t = sh(($set // 'false') . '; printf %s "$AT"',
               CLIENT_ID => $client, CLIENT_SECRET => $again);
    like(get($port, '/svc/hello', $t), qr/^HTTP\/1\.1 200/,
         'it gets a token the gateway takes');
    is(sh(($set // 'false') . '; printf %s "$AT"',
          CLIENT_ID => $client, CLIENT_SECRET => $secret), '',
       'the previous secret gets none');
    like(get($port, '/svc/hello', $at), qr/^HTTP\/1\.1 401/,
         'the token revoked before stays revoked');
    ok(stop_run($pid), 'Ctrl-C stops it again');
}

done_testing();
