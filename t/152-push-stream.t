# Push at the edge with our own transport (docs/push.md): gw_push_subscribe
# (EventSource subscribers, written to by the worker's fan-out) and
# gw_push_publish (one script: the channel's history stream and the
# gw:push pub/sub), behind gw_key_auth / gw_jwt and gw_push_authorize.
# Two nginx instances share one private Redis:
#
#   - a subscriber on each instance gets a message published on the
#     other, framed "id: / event: / data:", with the header an
#     EventSource needs (not chunked), ": hi" first, ": " pings after;
#   - Last-Event-ID: three published, a resume after the first gets the
#     second and the third, then the live ones; a malformed one is 400;
#     no Accept: text/event-stream is 406;
#   - the authorization denials still answer 401/403/400 in front;
#   - the publisher: 405 on GET, 400 for a bad event type or a text body
#     over several lines, a JSON one re-serialized on one line, 503 with
#     Redis paused;
#   - a subscriber that never reads is closed past the queue's cap while
#     a fast one gets everything; 500 subscribers all get a message; a
#     client that goes away is removed ($gw_push_subscribers);
#   - a restarted Redis (messages may have been lost) closes subscribers,
#     so EventSource reconnects and resumes.
#
# Plain Test::More: Test::Nginx runs one nginx.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Gwctl qw(gwctl_binary);
use Tollgate::JWT qw(jwt keys_dir now);
use Tollgate::Redis;

my @modules = Tollgate::Gateway::modules();
plan skip_all => "the module is not built (run make)"
    unless -f $modules[0];
plan skip_all => gwctl_binary() . ' is not built (run make)'
    unless -x gwctl_binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $WAIT = 10;              # seconds: at most, for anything to arrive

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);

$ctl->consumer_add('alice', name => 'Alice');
$ctl->consumer_add('bob', name => 'Bob');
my %key = (alice => $ctl->key_create('alice'), bob => $ctl->key_create('bob'));
my $token = jwt(alg => 'RS256',
                payload => { sub => 'carol', groups => ['ops', 'dev'],
                             exp => now() + 3600 });

my $rport = $redis->port;
my $keys = keys_dir();
my $http = <<"_EOC_";
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 500ms;
    gw_push_ping 1s;

    server {
        listen 127.0.0.1:\$PORT;

        location = /status { gw_redis_status; }
        location = /count {
            return 200 "\$gw_push_subscribers \$gw_push_overflowed\\n";
        }

        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_jwt api;
            gw_jwt_key_file $keys/rsa.pem;
            gw_auth_satisfy any;
            gw_push_authorize \$push_channel consumer;
            gw_push_authorize \$push_channel claim=groups;
            gw_push_authorize \$push_channel any;
            gw_push_subscribe \$push_channel;
        }

        location ~ ^/open/(?<open_channel>[^/]*)\$ {
            gw_push_subscribe \$open_channel history=50;
        }

        location ~ ^/pub/(?<pub_channel>[^/]+)\$ {
            allow 127.0.0.1;
            deny all;
            client_body_buffer_size 64k;
            gw_push_publish \$pub_channel history=100 ttl=1h;
        }
    }
_EOC_

my %gw;
$gw{$_} = Tollgate::Gateway->start(http => $http,
                                   worker_connections => 2048) for qw(A B);

# publish($gw, $channel, $body, %headers): the publisher's answer
sub publish {
    my ($gw, $channel, $body, %h) = @_;
    my $head = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return $gw->request("POST /pub/$channel HTTP/1.1\r\nHost: t\r\n$head"
                        . "Content-Length: " . length($body) . "\r\n"
                        . "Connection: close\r\n\r\n$body");
}

# the id of a 201
sub id_of {
    my ($res) = @_;
    my $j = eval { JSON::PP->new->decode($res->{body}) } || {};
    return $j->{id};
}

# the worker's subscription to gw:push is up (and its first resync done)
for my $name (sort keys %gw) {
    my $up = 0;
    my $until = time + $WAIT;
    while (time < $until) {
        $up = $gw{$name}->get('/status')->{body}
              =~ /"subscriber":\{"connected":true/;
        last if $up;
        sleep 0.1;
    }
    ok($up, "instance $name: subscribed to Redis");
}
sleep 0.5;

# subscribe($gw, $path, @headers): a connected socket whose request went
# out (Accept: text/event-stream unless @headers has an Accept)
sub subscribe {
    my ($gw, $path, @h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $gw->port, Proto => 'tcp')
        or die "connect: $!";
    my @accept = (grep { /^Accept:/i } @h) ? ()
                 : ('Accept: text/event-stream');
    print $s join("\r\n", "GET $path HTTP/1.1", 'Host: t', @accept, @h)
             . "\r\n\r\n";
    return $s;
}

# read_until($s, $re, \$buf): reads into $buf until it matches $re or
# $WAIT passes; true when it matched
sub read_until {
    my ($s, $re, $buf) = @_;
    my $sel = IO::Select->new($s);
    my $until = time + $WAIT;
    while ($$buf !~ $re) {
        my $left = $until - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        return 0 unless $n;
        $$buf .= $chunk;
    }
    return 1;
}

# read_eof($s, \$buf): reads until the server closes; true when it did
sub read_eof {
    my ($s, $buf) = @_;
    my $sel = IO::Select->new($s);
    my $until = time + $WAIT;
    while (1) {
        my $left = $until - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        return 1 if !defined $n || $n == 0;
        $$buf .= $chunk;
    }
}

# the SSE events in a stream's text: [{id, event, data}, ...]
sub events {
    my ($text) = @_;
    $text =~ s/\A.*?\r\n\r\n//s;
    my @ev;
    for my $block (split /\n\n/, $text) {
        my %e;
        for (split /\n/, $block) {
            $e{$1} = defined $e{$1} ? "$e{$1}\n$2" : $2
                if /^(id|event|data): ?(.*)\z/;
        }
        push @ev, \%e if exists $e{data};
    }
    return @ev;
}

# count($gw): [subscribers, closed past the cap] of its worker
sub count {
    my ($gw) = @_;
    return [split ' ', $gw->get('/count')->{body} // ''];
}

# --- EventSource, fanned out across instances --------------------------------

{
    my $sa = subscribe($gw{A}, '/push/c.alice', "X-API-Key: $key{alice}");
    my $sb = subscribe($gw{B}, '/push/c.alice', "X-API-Key: $key{alice}");
    my ($ba, $bb) = ('', '');
    ok(read_until($sa, qr/\r\n\r\n: hi\n\n/, \$ba),
       'A: the stream opens with ": hi"') or diag $ba;
    like($ba, qr{\AHTTP/1\.1 200 }, 'A: 200');
    like($ba, qr{^Content-Type: text/event-stream; charset=utf-8\r$}mi,
         'as an event stream');
    like($ba, qr{^Cache-Control: no-cache\r$}mi, 'not cached');
    like($ba, qr{^X-Accel-Buffering: no\r$}mi, 'not buffered by proxies');
    unlike($ba, qr{^Transfer-Encoding:}mi, 'not chunked');
    ok(read_until($sb, qr/: hi\n\n/, \$bb) && $bb =~ m{\AHTTP/1\.1 200 },
       'B: the same channel opens');

    my $res = publish($gw{B}, 'c.alice', '{"id":"n1","data":{"x":1}}',
                      'X-EventSource-Event' => 'invoice.paid');
    is($res->{status}, 201, 'B: the publisher answers 201')
        or diag explain $res;
    my $id = id_of($res);
    like($id // '', qr/^\d+-\d+\z/, 'with the message\'s stream id');

    ok(read_until($sa, qr/data: .*\n\n/, \$ba),
       'A\'s subscriber gets the message published on B') or diag $ba;
    my $frame = "\n\nid: $id\nevent: invoice.paid\n"
                . qq(data: {"id":"n1","data":{"x":1}}\n\n);
    like($ba, qr/\Q$frame\E\z/,
         'framed as id, event, data, blank line');
    ok(read_until($sb, qr/data: .*\n\n/, \$bb),
       'B\'s own subscriber gets it too');

    $res = publish($gw{A}, 'c.alice', 'from A');
    ok(read_until($sb, qr/event: message\ndata: from A\n\n/, \$bb),
       'B gets a message published on A, type "message" by default')
        or diag $bb;

    $ba = '';
    ok(read_until($sa, qr/^: \n\n/m, \$ba), 'an idle subscriber gets pings')
        or diag $ba;
    close $_ for $sa, $sb;
}

# --- Last-Event-ID -----------------------------------------------------------

{
    my @ids;
    for my $n (1 .. 3) {
        push @ids, id_of(publish($gw{A}, 'p.history', "message $n",
                                 'X-EventSource-Event' => 'n'));
    }
    ok(3 == grep({ defined && length } @ids), 'three messages published')
        or diag explain \@ids;

    my $s = subscribe($gw{B}, '/push/p.history', "X-API-Key: $key{bob}",
                      "Last-Event-ID: $ids[0]");
    my $buf = '';
    ok(read_until($s, qr/data: message 3\n\n/, \$buf),
       'a subscriber on B resuming after the first gets the third')
        or diag $buf;
    my $live = id_of(publish($gw{A}, 'p.history', 'message 4'));
    ok(read_until($s, qr/data: message 4\n\n/, \$buf), 'then the live ones');
    my @ev = events($buf);
    is_deeply([map { $_->{data} } @ev],
              ['message 2', 'message 3', 'message 4'],
              'the second, the third, then the fourth, once each, in order');
    is_deeply([map { $_->{id} } @ev], [@ids[1, 2], $live],
              'each with the id the publisher gave it');
    close $s;

    $s = subscribe($gw{A}, "/open/p.history?last_event_id=$ids[1]");
    $buf = '';
    ok(read_until($s, qr/data: message 4\n\n/, \$buf),
       '?last_event_id= resumes too') or diag $buf;
    is_deeply([map { $_->{data} } events($buf)], ['message 3', 'message 4'],
              'from the history after that id');
    close $s;

    for my $bad ('1-', 'abc', '1-2-3', '-1', '1 -2', '9' x 49) {
        my $res = $gw{A}->get('/open/p.history',
                              Accept => 'text/event-stream',
                              'Last-Event-ID' => $bad);
        is($res->{status}, 400, "Last-Event-ID \"$bad\": 400");
        like($res->{body},
             qr/"urn:tollgate:problem:push-last-event-id-invalid"/,
             'a problem');
    }

    my $res = $gw{A}->get('/open/p.history');
    is($res->{status}, 406, 'no Accept: text/event-stream: 406');
    like($res->{headers}{'content-type'} // '', qr{^application/problem\+json},
         'as a problem');
    is($gw{A}->get('/open/p.history', Accept => 'text/html')->{status}, 406,
       'Accept: text/html: 406');
}

# --- denials in front of the subscriber --------------------------------------

for my $c (
    ['another consumer\'s channel', 'c.bob', ["X-API-Key: $key{alice}"],
     403, 'push-channel-forbidden'],
    ['no key', 'c.alice', [], 401, 'key-missing'],
    ['a group outside the claim', 'g.sales', ["Authorization: Bearer $token"],
     403, 'push-channel-forbidden'],
    ['a bad name', 'c.al%20ice', ["X-API-Key: $key{alice}"],
     400, 'push-channel-invalid'],
) {
    my ($what, $ch, $h, $status, $type) = @$c;
    my $res = $gw{A}->request(join("\r\n", "GET /push/$ch HTTP/1.1",
                              'Host: t', 'Accept: text/event-stream', @$h,
                              'Connection: close') . "\r\n\r\n");
    is($res->{status}, $status, "$what: $status");
    like($res->{body}, qr/"urn:tollgate:problem:\Q$type\E"/,
         "$what: problem $type");
}

{
    my $s = subscribe($gw{A}, '/push/g.ops', "Authorization: Bearer $token");
    my $buf = '';
    ok(read_until($s, qr/: hi\n\n/, \$buf) && $buf =~ m{\AHTTP/1\.1 200 },
       'a group in the token\'s claim opens');
    close $s;
}

# --- the publisher -----------------------------------------------------------

{
    my $res = $gw{A}->get('/pub/p.x');
    is($res->{status}, 405, 'GET on the publisher: 405');
    is($res->{headers}{allow}, 'POST', 'Allow: POST');

    for my $t ('Invoice', 'a b', 'x' x 129, '') {
        $res = publish($gw{A}, 'p.x', '{}', 'X-EventSource-Event' => $t);
        is($res->{status}, 400, "event type \"$t\": 400");
        like($res->{body}, qr/"urn:tollgate:problem:push-type-invalid"/,
             'a problem');
    }

    $res = publish($gw{A}, 'p.x', "two\nlines");
    is($res->{status}, 400, 'a text body over two lines: 400');
    like($res->{body}, qr/"urn:tollgate:problem:push-data-invalid"/,
         'a problem');
    is(publish($gw{A}, 'p.x', "a\x01b")->{status}, 400,
       'a control byte: 400');
    is(publish($gw{A}, 'p.x', '')->{status}, 400, 'an empty body: 400');
    is(publish($gw{A}, 'p.x', "caf\xe9")->{status}, 400,
       'a body that is not UTF-8: 400');
    is(publish($gw{A}, 'p.x', "caf\xc3\xa9\tok")->{status}, 201,
       'UTF-8 and a tab: 201');
    is(publish($gw{A}, 'p.bad%20name', 'x')->{status}, 400,
       'a bad channel name: 400');

    my $s = subscribe($gw{B}, '/open/p.json');
    my $buf = '';
    read_until($s, qr/: hi\n\n/, \$buf);
    $res = publish($gw{A}, 'p.json', qq({\n  "a": "x\\ny",\n  "b": [1, 2]\n}\n));
    is($res->{status}, 201, 'a JSON body over several lines: 201');
    ok(read_until($s, qr/data: .*\n\n/, \$buf), 'delivered');
    like($buf, qr/\ndata: \{"a":"x\\ny","b":\[1,2\]\}\n\n\z/,
         'as the same JSON, compact, on one line');
    close $s;
}

# --- a slow subscriber and a fast one ----------------------------------------

{
    my $slow = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($slow, SOL_SOCKET, SO_RCVBUF, 4096);
    my $addr = Socket::pack_sockaddr_in($gw{A}->port,
                                        Socket::inet_aton('127.0.0.1'));
    connect($slow, $addr) or die "connect: $!";
    print $slow "GET /open/p.flood HTTP/1.1\r\nHost: t\r\n"
                . "Accept: text/event-stream\r\n\r\n";
    my $fast = subscribe($gw{A}, '/open/p.flood');
    my ($fbuf, $sbuf) = ('', '');
    ok(read_until($fast, qr/: hi\n\n/, \$fbuf), 'the fast one opens');

    my $before = count($gw{A})->[1];
    my $n = 300;
    my $body = 'x' x 32768;
    my $published = 0;
    for my $i (1 .. $n) {
        $published++
            if publish($gw{A}, 'p.flood', "$i $body")->{status} == 201;
        # the fast one reads what came
        while (IO::Select->new($fast)->can_read(0)) {
            my $r = sysread($fast, my $chunk, 1 << 20);
            last unless $r;
            $fbuf .= $chunk;
        }
    }
    is($published, $n, "$n messages of 32 KiB published");
    ok(read_until($fast, qr/data: $n x+\n\n/, \$fbuf),
       'the fast subscriber gets the last');
    is(scalar(() = $fbuf =~ /^data: /mg), $n, 'and every one of them');

    ok(read_eof($slow, \$sbuf), 'the one that does not read is closed');
    my $got = () = $sbuf =~ /^data: /mg;
    cmp_ok($got, '<', $n, "after $got messages");
    is(count($gw{A})->[1], $before + 1, 'counted as closed past the cap');
    ok(grep({ /\[info\].*does not read: \d+ messages/ } $gw{A}->error_log),
       'logged at info');
    close $_ for $slow, $fast;
}

# --- many subscribers, and removal on disconnect -----------------------------

{
    my $base = count($gw{B})->[0];
    my $m = 500;
    my @s = map { subscribe($gw{B}, '/open/p.many') } 1 .. $m;
    my @buf = ('') x $m;
    my $open = grep { read_until($s[$_], qr/: hi\n\n/, \$buf[$_]) } 0 .. $#s;
    is($open, $m, "$m subscribers open");
    is(count($gw{B})->[0], $base + $m, 'and are counted');

    my $res = publish($gw{A}, 'p.many', 'to all', 'X-EventSource-Event' => 'b');
    is($res->{status}, 201, 'a message to them, published on the other');
    my $got = grep {
        read_until($s[$_], qr/event: b\ndata: to all\n\n/, \$buf[$_])
    } 0 .. $#s;
    is($got, $m, 'all of them get it');

    close $_ for @s;
    my $left;
    my $until = time + $WAIT;
    while (time < $until) {
        $left = count($gw{B})->[0];
        last if $left == $base;
        sleep 0.1;
    }
    is($left, $base, 'closed by their clients, they are removed');
}

# --- the worker exits (a reload): its subscribers are closed ----------------

{
    my $s = subscribe($gw{B}, '/open/p.reload');
    my $buf = '';
    ok(read_until($s, qr/: hi\n\n/, \$buf), 'a subscriber on B');
    kill 'HUP', $gw{B}->pid;
    ok(read_eof($s, \$buf), 'a reload closes it (the old worker exits)');
    close $s;
}

my @errors = grep { /\[(error|crit|alert|emerg)\]/ }
             map { $gw{$_}->error_log } sort keys %gw;
is_deeply(\@errors, [], 'no error logged so far') or diag @errors;

# --- Redis paused, then restarted --------------------------------------------

{
    $redis->pause;
    my $res = publish($gw{A}, 'p.x', 'while paused');
    $redis->resume;
    is($res->{status}, 503, 'Redis paused: the publisher answers 503');
    like($res->{body}, qr/"urn:tollgate:problem:push-unavailable"/,
         'a problem');

    my $s = subscribe($gw{A}, '/open/p.restart');
    my $buf = '';
    ok(read_until($s, qr/: hi\n\n/, \$buf), 'a subscriber opens');
    $redis->restart;
    ok(read_eof($s, \$buf),
       'Redis restarted (messages may be lost): the subscriber is closed, '
       . 'to resume with Last-Event-ID');
    close $s;
}

@errors = grep { /\[(crit|alert|emerg)\]/ }
          map { $gw{$_}->error_log } sort keys %gw;
is_deeply(\@errors, [], 'nothing worse than an error') or diag @errors;

done_testing();
