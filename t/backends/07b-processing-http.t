# The processing service's "http" sink (docs/processing-http.md): a
# receiver written here (a forked server, one child per connection)
# logs every request it gets and answers as the test asks: 2xx, 500s
# then recovery, 429 with Retry-After, 400 for a record marked bad, a
# hang, a huge body.  Checked: every record arrives at least once, all
# requests for one record carry one Idempotency-Key (its id), distinct
# keys = records; the headers (X-Request-ID, traceparent, the
# configured ones); a batch request; a record the receiver refuses goes
# to the DLQ and the pipeline goes on; the http_sink_allow list (empty:
# refused at start; an address or a port outside it refused at start; a
# host name that resolves outside it refused at connect); https and
# header injection refused at start; a huge answer read up to its cap;
# /healthz answers while the receiver hangs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

my $JSON = JSON::PP->new->canonical;

# ---- the receiver ----------------------------------------------------------

my $RDIR = tempdir('tollgate-hook-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $LOG = "$RDIR/requests";
my $CTL = "$RDIR/control";
my $CONC = "$RDIR/concurrent";
my @receivers;

# control('500 3'): the next 3 requests get 500; 'hang', 'huge', 'ok'
sub control {
    my ($what) = @_;
    open my $fh, '>', "$CTL.tmp" or die $!;
    print $fh $what;
    close $fh;
    rename "$CTL.tmp", $CTL or die $!;
}

# the mode for one request, taking one of a counted mode's requests
sub take_mode {
    open my $fh, '+<', $CTL or return 'ok';
    flock $fh, LOCK_EX;
    my $line = <$fh> // 'ok';
    my ($mode, $n) = split ' ', $line;
    if (defined $n) {
        if ($n <= 0) {
            $mode = 'ok';
        } else {
            seek $fh, 0, 0;
            truncate $fh, 0;
            print $fh "$mode " . ($n - 1);
        }
    }
    close $fh;
    return $mode;
}

sub mode_now {
    open my $fh, '<', $CTL or return 'ok';
    my $line = <$fh> // 'ok';
    return (split ' ', $line)[0];
}

# requests being answered now, and the most at once: ($cur, $max)
sub concurrent {
    my ($add) = @_;
    open my $fh, '+>>', $CONC or die $!;
    flock $fh, LOCK_EX;
    seek $fh, 0, 0;
    my ($cur, $max) = split ' ', (<$fh> // '0 0');
    $cur += $add // 0;
    $max = $cur if $cur > $max;
    if ($add) {
        truncate $fh, 0;
        print $fh "$cur $max";
    }
    close $fh;
    return ($cur, $max);
}

sub serve {
    my ($c) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $path) = split ' ', $line;
    my %h;
    while (defined(my $l = <$c>)) {
        $l =~ s/\r\n\z//;
        last if $l eq '';
        my ($k, $v) = split /:\s*/, $l, 2;
        $h{ lc $k } = $v;
    }
    my $body = '';
    read($c, $body, $h{'content-length'} // 0);

    my $mode = take_mode();
    my ($status, $extra, $answer) = (200, '', '{"ok":true}');
    if ($body =~ /"bad":true/ || ($mode eq 'arr400' && $body =~ /^\[/)) {
        $status = 400;
    } elsif ($mode eq '500') {
        $status = 500;
    } elsif ($mode eq '429') {
        ($status, $extra) = (429, "Retry-After: 1\r\n");
    } elsif ($mode eq '409') {
        $status = 409;
    }

    my $rec = { method => $method, path => $path, headers => \%h,
                body => $body, time => time, mode => $mode,
                status => $mode eq 'hang' ? 0 : $status };
    open my $log, '>>', $LOG or die $!;
    flock $log, LOCK_EX;
    print $log $JSON->encode($rec), "\n";
    close $log;

    if ($mode eq 'hang') {
        my $until = time + 20;
        sleep 0.05 while mode_now() eq 'hang' && time < $until;
        return;
    }

    if ($mode eq 'slow') {
        concurrent(1);
        sleep 0.2;
        concurrent(-1);
    }

    if ($mode eq 'huge') {
        my $size = 8 * 1024 * 1024;
        print $c "HTTP/1.1 200 OK\r\nContent-Length: $size\r\n"
                 . "Connection: close\r\n\r\n";
        my $chunk = 'x' x 65536;
        print $c $chunk or last for 1 .. $size / 65536;
        return;
    }

    print $c "HTTP/1.1 $status X\r\n${extra}Content-Type: application/json"
             . "\r\nContent-Length: " . length($answer)
             . "\r\nConnection: close\r\n\r\n$answer";
}

sub receiver {
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 64,
                                       Proto => 'tcp', ReuseAddr => 1)
        or die "receiver: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        $SIG{PIPE} = 'IGNORE';
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            next unless defined $child;
            if ($child == 0) {
                serve($c);
                close $c;
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    push @receivers, $pid;
    return $listen->sockport;
}

END { kill 'KILL', @receivers if @receivers }

sub requests {
    open my $fh, '<', $LOG or return ();
    flock $fh, LOCK_SH;
    my @r = map { $JSON->decode($_) } <$fh>;
    close $fh;
    return @r;
}

# ---- refused at start ------------------------------------------------------

my $rport = receiver();
control('ok');

sub hook {
    my (%over) = @_;
    my $sink = { type => 'http', url => "http://127.0.0.1:$rport/hook",
                 %{ delete $over{sink} || {} } };
    return { name => 'hook', source => { topic => 'hk', partitions => 2 },
             sinks => [ $sink ], %over };
}

sub check {
    my ($doc, $allow) = @_;
    my $dir = Processing::pipelines($doc);
    return Processing::run(env => { PIPELINES => $dir,
                                    defined $allow
                                    ? (HTTP_SINK_ALLOW => $allow) : () },
                           args => [ '-t' ]);
}

my @refused = (
    [ hook(), undef,
      qr{00\.json: /sinks/0/url: no outbound address is allowed: .*_allow},
      'no http_sink_allow: refused, naming the key' ],
    [ hook(sink => { url => 'http://10.1.2.3:8080/x' }), '127.0.0.1',
      qr{/sinks/0/url: 10\.1\.2\.3 port 8080 is not allowed by the service},
      'an address outside the list' ],
    [ hook(), "127.0.0.1:1", qr{/sinks/0/url: 127\.0\.0\.1 port $rport },
      'a port outside the list' ],
    [ hook(sink => { url => 'http://[::1]:80/' }), '127.0.0.0/8',
      qr{/sinks/0/url: \[::1\] port 80 is not allowed}, 'IPv6 outside' ],
    [ hook(sink => { url => "https://127.0.0.1:$rport/" }), '127.0.0.1',
      qr{/sinks/0/url: https is not supported}, 'https' ],
    [ hook(sink => { url => "http://u:p\@127.0.0.1:$rport/" }),
      '127.0.0.1', qr{/sinks/0/url: no user info}, 'user info' ],
    [ hook(sink => { url => "ftp://127.0.0.1/" }), '127.0.0.1',
      qr{/sinks/0/url: only http://}, 'another scheme' ],
    [ hook(sink => { headers => { 'X-A' => "a\r\nX-Injected: 1" } }),
      '127.0.0.1', qr{/sinks/0/headers/X-A: a control character},
      'CR LF in a header value' ],
    [ hook(sink => { headers => { 'X-A' => "a\nb" } }), '127.0.0.1',
      qr{/sinks/0/headers/X-A: a control}, 'LF in a header value' ],
    [ hook(sink => { headers => { 'X-A' => "a\0b" } }), '127.0.0.1',
      qr{00\.json: : not JSON: \\u0000 is not allowed},
      'NUL in a header value (the document loader)' ],
    [ hook(sink => { headers => { "X-A\r\nX-B" => 'v' } }), '127.0.0.1',
      qr{/sinks/0/headers/X-A\?\?X-B: not a header name},
      'CR LF in a header name' ],
    [ hook(sink => { headers => { 'Host' => 'evil' } }), '127.0.0.1',
      qr{/sinks/0/headers/Host: the sink sets}, 'Host' ],
    [ hook(sink => { headers => { 'content-length' => '0' } }), '127.0.0.1',
      qr{/sinks/0/headers/content-length: }, 'Content-Length' ],
    [ hook(sink => { headers => { 'Transfer-Encoding' => 'chunked' } }),
      '127.0.0.1', qr{/sinks/0/headers/Transfer-Encoding: },
      'Transfer-Encoding (hop-by-hop)' ],
    [ hook(sink => { headers => { 'Connection' => 'x' } }), '127.0.0.1',
      qr{/sinks/0/headers/Connection: }, 'Connection (hop-by-hop)' ],
    [ hook(sink => { headers => { 'Idempotency-Key' => 'x' } }),
      '127.0.0.1', qr{/sinks/0/headers/Idempotency-Key: }, 'its own key' ],
    [ hook(sink => { method => 'GET' }), '127.0.0.1',
      qr{/sinks/0/method: }, 'GET' ],
    [ hook(), '127.0.0.1/33', qr{http_sink_allow: not }, 'a bad list' ],
);

for my $case (@refused) {
    my ($doc, $allow, $re, $what) = @$case;
    my ($out, $rc) = check($doc, $allow);
    is($rc, 2, "-t refuses $what");
    like($out, $re, '... with its reason') or diag $out;
}

for my $allow ("127.0.0.1", "127.0.0.0/8:$rport", "10.0.0.0/8, 127.0.0.1/32",
               "[::1/128]:80 127.0.0.1:$rport")
{
    my ($out, $rc) = check(hook(sink => { headers => { 'X-Ok' => 'a b' } }),
                           $allow);
    is($rc, 0, "-t accepts http_sink_allow = $allow") or diag $out;
}

# ---- running ---------------------------------------------------------------

my $redis = Tollgate::Redis->start;
my $port = $redis->port;

# a host name, pinned to the address it resolved to (localhost)
my $one = hook(sink => { url => "http://localhost:$rport/hook?x=1",
                         headers => { Authorization => 'Bearer t0k' },
                         timeout => 1000, concurrency => 4 });
my $batch = { name => 'hookb', source => { topic => 'hb' },
              sinks => [ { type => 'http', batch => JSON::PP::true,
                           method => 'PUT',
                           url => "http://127.0.0.1:$rport/batch" } ] };

# one request at a time: a failure skips the ones queued behind it
my $serial = { name => 'hook1', source => { topic => 'h1' },
               sinks => [ { type => 'http', concurrency => 1,
                            url => "http://127.0.0.1:$rport/serial" } ] };

my $dir = Processing::pipelines($one, $batch, $serial);
my $svc = Processing::start(env => { REDIS => $redis->address,
                                     PIPELINES => $dir,
                                     HTTP_SINK_ALLOW =>
                                         "127.0.0.1/32:$rport" });

# the requests of one pipeline, by key
sub by_key {
    my ($path) = @_;
    my %k;
    for my $r (grep { $_->{path} =~ /^\Q$path\E/ } requests()) {
        push @{ $k{ $r->{headers}{'idempotency-key'} // '' } }, $r;
    }
    return \%k;
}

# the records (n) delivered with a 2xx, and each key's bodies
sub delivered {
    my ($path) = @_;
    my $k = by_key($path);
    my %n;
    for my $key (keys %$k) {
        for my $r (grep { $_->{status} >= 200 && $_->{status} < 300 }
                   @{ $k->{$key} })
        {
            my $b = $JSON->decode($r->{body});
            $n{ $_->{n} }++ for ref $b eq 'ARRAY' ? @$b : ($b);
        }
    }
    return \%n;
}

sub all_pending {
    my ($topic, $parts, $group) = @_;
    my $n = 0;
    $n += Processing::pending($port, "gw:topic:$topic:$_", $group)
        for 0 .. $parts - 1;
    return $n;
}

my @ids = Processing::publish($port, 'hk', 2,
                              map { [ "k$_", { n => $_ } ] } 1 .. 40);

ok(Processing::eventually(sub { keys %{ delivered('/hook') } == 40
                                && all_pending('hk', 2, 'hook') == 0 }, 20),
   'every record arrived, and every entry was acknowledged');

{
    my $k = by_key('/hook');
    is(scalar(keys %$k), 40, 'distinct keys = records');
    my ($same, $form, $hdr) = (1, 1, 1);
    for my $key (keys %$k) {
        my %bodies = map { $_->{body} => 1 } @{ $k->{$key} };
        $same = 0 if keys %bodies != 1;
        $form = 0 unless $key =~ m{^hook/[01]/\d+-\d+/0$};
        for my $r (@{ $k->{$key} }) {
            my $h = $r->{headers};
            $hdr = 0 unless $r->{method} eq 'POST'
                && $r->{path} eq '/hook?x=1'
                && ($h->{authorization} // '') eq 'Bearer t0k'
                && ($h->{'content-type'} // '') eq 'application/json'
                && ($h->{'x-request-id'} // '') =~ /^[0-9a-f]{32}$/
                && ($h->{traceparent} // '')
                   =~ /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/
                && ($h->{host} // '') eq "localhost:$rport";
        }
    }
    ok($same, 'all requests for a key carry one record');
    ok($form, 'keys are <pipeline>/<partition>/<entry id>/<k>');
    ok($hdr, 'method, path, Host, X-Request-ID, traceparent, configured '
             . 'headers');
    my %want = map { $_ => 1 } @ids;
    my $ids_ok = 1;
    for my $key (keys %$k) {
        my ($id) = $key =~ m{^hook/\d+/(\d+-\d+)/0$};
        $ids_ok = 0 unless $id && $want{$id};
    }
    ok($ids_ok, 'each key names its source entry');
}

# ---- 5xx, then recovery ----------------------------------------------------

control('500 6');
Processing::publish($port, 'hk', 2, map { [ "k$_", { n => $_ } ] } 41 .. 50);

ok(Processing::eventually(sub { keys %{ delivered('/hook') } == 50
                                && all_pending('hk', 2, 'hook') == 0 }, 20),
   'after six 500s every record arrived');

{
    my $k = by_key('/hook');
    is(scalar(keys %$k), 50, 'distinct keys = records');
    my @again = grep { @{ $k->{$_} } > 1 } keys %$k;
    ok(@again > 0, 'the records refused with 500 were sent again');
    my $same = 1;
    for my $key (@again) {
        my %bodies = map { $_->{body} => 1 } @{ $k->{$key} };
        $same = 0 if keys %bodies != 1;
        $same = 0 unless grep { $_->{status} == 200 } @{ $k->{$key} };
    }
    ok($same, '... with the same key and record, until a 200');
    is(scalar(grep { $_->{status} == 500 } map { @$_ } values %$k), 6,
       'six 500s answered');
}

# ---- 429 with Retry-After --------------------------------------------------

control('429 1');
Processing::publish($port, 'hk', 2, [ 'k51', { n => 51 } ]);

ok(Processing::eventually(sub { delivered('/hook')->{51} }, 20),
   'a record answered 429 arrived');

{
    my $k = by_key('/hook');
    my ($key) = grep { $k->{$_}[0]{body} =~ /"n":51\b/ } keys %$k;
    my @r = @{ $k->{$key} };
    is($r[0]{status}, 429, 'first 429');
    ok(@r >= 2 && $r[1]{time} - $r[0]{time} >= 0.9,
       '... sent again only after Retry-After: 1');
}

# ---- 409: applied already --------------------------------------------------

control('409 1');
Processing::publish($port, 'hk', 2, [ 'k52', { n => 52 } ]);

ok(Processing::eventually(sub {
       my $k = by_key('/hook');
       (grep { $k->{$_}[0]{body} =~ /"n":52\b/ } keys %$k)
       && all_pending('hk', 2, 'hook') == 0 }, 20),
   'a 409 counts as delivered');
{
    my $k = by_key('/hook');
    my ($key) = grep { $k->{$_}[0]{body} =~ /"n":52\b/ } keys %$k;
    is(scalar(@{ $k->{$key} }), 1, '... and is not sent again');
}

# ---- 400: the record to the DLQ, the pipeline goes on ----------------------

control('ok');
my ($bad) = Processing::publish($port, 'hk', 2,
                                [ 'k1', { n => 60, bad => JSON::PP::true } ]);
Processing::publish($port, 'hk', 2, [ 'k1', { n => 61 } ]);

ok(Processing::eventually(sub { delivered('/hook')->{61}
                                && all_pending('hk', 2, 'hook') == 0
                                && Processing::cmd($port, 'XLEN',
                                                   'gw:proc:hook:dlq') >= 1 },
                          20),
   'the record refused with 400 is dead-lettered, the next one arrives');

{
    my $dlq = Processing::cmd($port, 'XRANGE', 'gw:proc:hook:dlq', '-', '+');
    my %f = @{ $dlq->[0][1] };
    is($f{source_id}, $bad, 'the DLQ holds the refused entry');
    is($f{step}, '/sinks/0', '... from the sink');
    like($f{error}, qr/^record \d+: the receiver answered 400/,
         '... with the answer');
    is(scalar(@$dlq), 1, 'one dead letter');
    ok(!delivered('/hook')->{60}, 'the refused record was not delivered');
}

# ---- a batch per request ---------------------------------------------------

my @bids = Processing::publish($port, 'hb', 1,
                               map { [ "b$_", { n => $_ } ] } 1 .. 5);

ok(Processing::eventually(sub { keys %{ delivered('/batch') } == 5
                                && all_pending('hb', 1, 'hookb') == 0 }, 20),
   'a batch arrives as one JSON array');
{
    my $k = by_key('/batch');
    my $ok = 1;
    for my $key (keys %$k) {
        my $r = $k->{$key}[0];
        my $b = $JSON->decode($r->{body});
        my ($first, $last)
            = $key =~ m{^hookb/0/(\d+-\d+/\d+)\.\.(\d+-\d+/\d+)$};
        $ok = 0 unless ref $b eq 'ARRAY' && $r->{method} eq 'PUT'
                       && defined $last;
    }
    ok($ok, 'PUT, an array, key <pipeline>/<partition>/<first>..<last>')
        or diag explain [ keys %$k ];
}

# a refused batch is sent again record by record
my ($bbad) = Processing::publish($port, 'hb', 1,
                                 [ 'b6', { n => 6 } ],
                                 [ 'b7', { n => 7, bad => JSON::PP::true } ],
                                 [ 'b8', { n => 8 } ]);
ok(Processing::eventually(sub { my $d = delivered('/batch');
                                $d->{6} && $d->{8}
                                && all_pending('hb', 1, 'hookb') == 0 }, 20),
   'a refused batch: the other records arrive');
{
    my $dlq = Processing::cmd($port, 'XRANGE', 'gw:proc:hookb:dlq', '-', '+');
    is(scalar(@$dlq), 1, '... the refused one is dead-lettered');
    my %f = @{ $dlq->[0][1] || [] };
    like($f{data} // '', qr/"n":7/, '... the right one');
}

# a batch refused as a whole, whose records are taken one by one
my $before = Processing::cmd($port, 'XLEN', 'gw:proc:hookb:dlq');
control('arr400 1');
Processing::publish($port, 'hb', 1, map { [ "b$_", { n => $_ } ] } 9 .. 11);
ok(Processing::eventually(sub { my $d = delivered('/batch');
                                $d->{9} && $d->{10} && $d->{11}
                                && all_pending('hb', 1, 'hookb') == 0 }, 20),
   'a batch refused whole is delivered record by record');
is(Processing::cmd($port, 'XLEN', 'gw:proc:hookb:dlq'), $before,
   '... and nothing is dead-lettered');

# ---- one request at a time, a 500 on the first -----------------------------

control('500 1');
Processing::publish($port, 'h1', 1, map { [ "s$_", { n => $_ } ] } 1 .. 6);
ok(Processing::eventually(sub { keys %{ delivered('/serial') } == 6
                                && all_pending('h1', 1, 'hook1') == 0 }, 20),
   'concurrency 1: after a 500 every record arrives');
{
    my $k = by_key('/serial');
    is(scalar(keys %$k), 6, '... distinct keys = records');
    is(scalar(grep { $_->{status} == 500 } map { @$_ } values %$k), 1,
       '... one 500 answered');
}

# ---- in flight per sink: at most "concurrency" -----------------------------

control('slow');
Processing::publish($port, 'hk', 2, map { [ "k$_", { n => $_ } ] } 100 .. 115);
ok(Processing::eventually(sub { my $d = delivered('/hook');
                                !(grep { !$d->{$_} } 100 .. 115)
                                && all_pending('hk', 2, 'hook') == 0 }, 30),
   'slow answers: every record arrived');
{
    my ($cur, $max) = concurrent();
    ok($max >= 1 && $max <= 4, "at most 4 requests at once (saw $max)");
}
unlink $CONC;
Processing::publish($port, 'h1', 1, map { [ "s$_", { n => $_ } ] } 20 .. 25);
ok(Processing::eventually(sub { my $d = delivered('/serial');
                                !(grep { !$d->{$_} } 20 .. 25)
                                && all_pending('h1', 1, 'hook1') == 0 }, 30),
   'concurrency 1: every record arrived');
is((concurrent())[1], 1, '... one request at a time');
control('ok');

# ---- a huge answer is read up to its cap -----------------------------------

control('huge 1');
Processing::publish($port, 'hk', 2, [ 'k70', { n => 70 } ]);
ok(Processing::eventually(sub { delivered('/hook')->{70}
                                && all_pending('hk', 2, 'hook') == 0 }, 20),
   'a 200 with an 8 MiB body counts as delivered');
{
    my $k = by_key('/hook');
    my ($key) = grep { $k->{$_}[0]{body} =~ /"n":70\b/ } keys %$k;
    is(scalar(@{ $k->{$key} }), 1, '... once: the status decided');
    ok(Processing::rss_kb($svc) < 60 * 1024, '... not held in memory')
        or diag Processing::rss_kb($svc);
}

# ---- the loop runs while the receiver hangs --------------------------------

control('hang');
Processing::publish($port, 'hk', 2, [ 'k80', { n => 80 } ]);
ok(Processing::eventually(sub {
       grep { $_->{mode} eq 'hang' } requests() }, 20),
   'the receiver holds a request');
my ($st) = Processing::get($svc, '/healthz');
is($st, 200, '/healthz answers meanwhile');
($st) = Processing::get($svc, '/metrics');
is($st, 200, '/metrics too');
ok(Processing::eventually(sub {
       (grep { $_->{mode} eq 'hang' } requests()) >= 2 }, 20),
   'the request timed out and was sent again');
control('ok');
ok(Processing::eventually(sub { delivered('/hook')->{80}
                                && all_pending('hk', 2, 'hook') == 0 }, 20),
   'then it arrived');

my @errors = Processing::errors($svc);
is(scalar(@errors), 0, 'nothing logged at error') or diag explain \@errors;

# stopped with a request in flight: the sink frees it after the loop
control('hang');
Processing::publish($port, 'hk', 2, [ 'k90', { n => 90 } ]);
ok(Processing::eventually(sub {
       grep { $_->{body} =~ /"n":90\b/ } requests() }, 20),
   'a request in flight');
is(Processing::stop($svc), 0, 'the service stops with exit status 0');
control('ok');

# ---- a host name resolving outside the list: refused at connect ------------

{
    my $doc = { name => 'hookn', source => { topic => 'hn' },
                sinks => [ { type => 'http',
                             url => "http://localhost:$rport/never" } ] };
    my $dir = Processing::pipelines($doc);
    my $svc = Processing::start(env => { REDIS => $redis->address,
                                         PIPELINES => $dir,
                                         HTTP_SINK_ALLOW => '127.0.0.2' });
    Processing::publish($port, 'hn', 1, [ 'x', { n => 1 } ]);
    ok(Processing::eventually(sub {
           grep { ($_->{message} // '') eq 'http sink: address not allowed'
                  && ($_->{fields}{address} // '') =~ /^(127\.0\.0\.1|::1)$/ }
           Processing::log_lines($svc) }, 20),
       'localhost resolving to 127.0.0.1 is refused at connect');
    is(scalar(keys %{ by_key('/never') }), 0, '... nothing was sent');
    is(all_pending('hn', 1, 'hookn'), 1, '... the entry stays pending');
    is(scalar(Processing::errors($svc)), 0, 'nothing logged at error');
    Processing::stop($svc);
}

done_testing();
