# WebSocket subscribers of the push transport (docs/push.md, "WebSocket"):
# the same gw_push_subscribe location as EventSource, behind gw_key_auth /
# gw_jwt and gw_push_authorize, with a client written here (handshake,
# then frames built and parsed by hand):
#
#   - the handshake: 101 with Upgrade: websocket, Connection: upgrade
#     and the Sec-WebSocket-Accept of the key; refusals as problems: no
#     key, a key that is not 16 bytes, no Connection: upgrade, a POST
#     (400), version 8 (426 with Sec-WebSocket-Version: 13), a key,
#     version or Upgrade given twice (400);
#   - a message published arrives as one text frame,
#     {"id":"<id>","type":"<type>","data":<data>}, the same id the
#     EventSource subscriber of the channel gets; data that is not JSON
#     as a JSON string;
#   - the client's frames: ping -> pong with its payload, pong ignored,
#     close -> close with the same code and the end, an unmasked frame ->
#     close 1002, a text frame -> 1003, a frame over 4 KiB -> 1009;
#   - resume: ?last_event_id=<the first id> gives the second and the
#     third messages from the history, and only them;
#   - gw_push_authorize in front: another consumer's channel 403, no key
#     401, before any handshake;
#   - gw_push_ping: a WebSocket subscriber gets an empty ping frame;
#   - a reload: the old worker's WebSocket subscribers get close 1001.
#
# Plain Test::More: the client holds several connections at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_base64);
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);
use Tollgate::Gateway;
use Tollgate::Gwctl qw(gwctl_binary);
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

my $rport = $redis->port;
our $gw = Tollgate::Gateway->start(http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;

    server {
        listen 127.0.0.1:\$PORT;

        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_key_auth_query api_key;          # a browser sets no header
            gw_push_authorize \$push_channel consumer;
            gw_push_authorize \$push_channel any;
            gw_push_subscribe \$push_channel;
        }

        location ~ ^/pub/(?<pub_channel>[^/]*)\$ {
            allow 127.0.0.1;
            deny all;
            client_body_buffer_size 128k;       # in memory, not a file
            gw_push_publish \$pub_channel;
        }
    }
_EOC_

my $json = JSON::PP->new->canonical;

# publish($channel, $data, $type): the publisher's answer
sub publish {
    my ($channel, $body, $type) = @_;
    my $h = defined $type ? "X-EventSource-Event: $type\r\n" : '';
    return $gw->request("POST /pub/$channel HTTP/1.1\r\nHost: t\r\n$h"
                        . "Content-Type: application/json\r\n"
                        . "Content-Length: " . length($body) . "\r\n"
                        . "Connection: close\r\n\r\n$body");
}

sub connect_gw {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $gw->port, Proto => 'tcp');
    die "connect: $!" unless $s;
    return $s;
}

sub new_key {
    return encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
}

sub accept_of {
    return sha1_base64($_[0] . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
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

# handshake($path, @headers): [socket, head, rest]: the request sent with
# @headers as they are (the defaults unless given), the answer's head read
sub handshake {
    my ($path, @h) = @_;
    my $s = connect_gw();
    print $s join("\r\n", "GET $path HTTP/1.1", 'Host: t', @h) . "\r\n\r\n";
    my $buf = '';
    read_until($s, qr/\r\n\r\n/, \$buf);
    my ($head) = $buf =~ /\A(.*?\r\n\r\n)/s;
    $head //= '';
    return [$s, $head, substr($buf, length $head)];
}

# ws_open($path, $key, @more): a handshake with the usual headers
sub ws_open {
    my ($path, $wskey, @more) = @_;
    return handshake($path, 'Upgrade: websocket', 'Connection: Upgrade',
                     "Sec-WebSocket-Key: $wskey",
                     'Sec-WebSocket-Version: 13', @more);
}

# the body of a refused handshake (Content-Length of it read)
sub body_of {
    my ($hs) = @_;
    my ($len) = $hs->[1] =~ /^Content-Length: (\d+)\r$/mi;
    my $buf = $hs->[2];
    read_until($hs->[0], qr/\A.{$len}/s, \$buf) if defined $len;
    return $buf;
}

# ws_frame($s, \$buf): the next frame the server sent: [opcode, payload,
# masked], or undef after $WAIT or at the connection's end
sub ws_frame {
    my ($s, $buf) = @_;
    while (1) {
        if (length $$buf >= 2) {
            my ($b0, $b1) = unpack 'CC', $$buf;
            my ($len, $off) = ($b1 & 0x7f, 2);
            if ($len == 126 && length $$buf >= 4) {
                ($len, $off) = (unpack('x2n', $$buf), 4);
            } elsif ($len == 127 && length $$buf >= 10) {
                ($len, $off) = (unpack('x2Q>', $$buf), 10);
            }
            $off += 4 if $b1 & 0x80;
            if (($b1 & 0x7f) < 126 || $off > 2) {
                if (length $$buf >= $off + $len) {
                    my $payload = substr $$buf, $off, $len;
                    substr($$buf, 0, $off + $len) = '';
                    return [$b0 & 0x0f, $payload, $b1 & 0x80, $b0];
                }
            }
        }
        return undef unless IO::Select->new($s)->can_read($WAIT);
        my $n = sysread($s, my $chunk, 65536);
        return undef unless $n;
        $$buf .= $chunk;
    }
}

# client_frame($opcode, $payload, %o): a client frame, masked unless
# o{unmasked}, FIN unless o{fragment}
sub client_frame {
    my ($op, $payload, %o) = @_;
    my $b0 = ($o{fragment} ? 0 : 0x80) | $op;
    my $len = length $payload;
    my $m = $o{unmasked} ? 0 : 0x80;
    my $head = $len < 126 ? pack('CC', $b0, $m | $len)
             : $len < 65536 ? pack('CCn', $b0, $m | 126, $len)
             : pack('CCQ>', $b0, $m | 127, $len);
    return $head . $payload if $o{unmasked};
    my $mask = pack 'N', int rand 2**32;
    my $masked = $payload ^ substr($mask x (int($len / 4) + 1), 0, $len);
    return $head . $mask . $masked;
}

# the connection's end (EOF) within $WAIT
sub ends {
    my ($s, $buf) = @_;
    return 0 unless IO::Select->new($s)->can_read($WAIT);
    my $n = sysread($s, my $chunk, 65536);
    $$buf .= $chunk if $n;
    return !defined $n || $n == 0;
}

# ready(@headers): waits until the gateway's workers hear Redis' pub/sub
# (a subscriber opened before is closed when the subscription is
# confirmed, to resume): a message published reaches a WebSocket
# subscriber
sub ready {
    my @h = @_;
    my $until = time + $WAIT;
    while (time < $until) {
        my ($t, $h, $b) = @{ ws_open('/push/p.ready', new_key(), @h) };
        publish('p.ready', '{}', 'ready');
        my $f = ws_frame($t, \$b);
        close $t;
        return 1 if $f && $f->[0] == 1;
        select undef, undef, undef, 0.1;
    }
    return 0;
}

ok(ready("X-API-Key: $key{bob}"), 'the gateway hears Redis\' pub/sub');

# --- the handshake -----------------------------------------------------------

my $wskey = new_key();
my $ws = ws_open('/push/c.alice', $wskey, "X-API-Key: $key{alice}");
my ($s, $head, $buf) = @$ws;

like($head, qr{\AHTTP/1\.1 101 Switching Protocols\r\n},
     'the own channel: 101') or diag $head;
like($head, qr/^Upgrade: websocket\r$/mi, 'Upgrade: websocket');
like($head, qr/^Connection: upgrade\r$/mi, 'Connection: upgrade');
my $want = accept_of($wskey);
like($head, qr/^Sec-WebSocket-Accept: \Q$want\E\r$/m,
     'the Sec-WebSocket-Accept of the key');
unlike($head, qr/^(Content-Length|Transfer-Encoding|Content-Type):/mi,
       'no body headers');

# an EventSource subscriber of the same channel, for the ids
my $es = connect_gw();
print $es "GET /push/c.alice HTTP/1.1\r\nHost: t\r\n"
          . "Accept: text/event-stream\r\nX-API-Key: $key{alice}\r\n\r\n";
my $esbuf = '';
ok(read_until($es, qr/: hi\n\n/, \$esbuf), 'an EventSource subscriber too');

my @refused = (
    ['no key', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Version: 13']],
    ['a key of 15 bytes', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: ' . encode_base64('x' x 15, ''),
      'Sec-WebSocket-Version: 13']],
    ['no Connection: upgrade', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: keep-alive',
      "Sec-WebSocket-Key: $wskey", 'Sec-WebSocket-Version: 13']],
    ['no version', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: Upgrade',
      "Sec-WebSocket-Key: $wskey"]],
    ['version 8', 426, 'push-websocket-version',
     ['Upgrade: websocket', 'Connection: Upgrade',
      "Sec-WebSocket-Key: $wskey", 'Sec-WebSocket-Version: 8']],
    ['two keys', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: Upgrade',
      "Sec-WebSocket-Key: $wskey", 'Sec-WebSocket-Key: ' . new_key(),
      'Sec-WebSocket-Version: 13']],
    ['two versions', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Connection: Upgrade',
      "Sec-WebSocket-Key: $wskey", 'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Version: 13']],
    ['two Upgrade headers', 400, 'push-websocket-handshake',
     ['Upgrade: websocket', 'Upgrade: websocket', 'Connection: Upgrade',
      "Sec-WebSocket-Key: $wskey", 'Sec-WebSocket-Version: 13']],
);

for my $c (@refused) {
    my ($what, $status, $type, $h) = @$c;
    my $r = handshake('/push/c.alice', @$h, "X-API-Key: $key{alice}");
    like($r->[1], qr{\AHTTP/1\.1 $status }, "$what: $status")
        or diag $r->[1];
    like(body_of($r), qr/"urn:tollgate:problem:\Q$type\E"/,
         "$what: problem $type");
    if ($status == 426) {
        like($r->[1], qr/^Sec-WebSocket-Version: 13\r$/mi,
             "$what: Sec-WebSocket-Version: 13");
    }
    close $r->[0];
}

{
    my $r = connect_gw();
    print $r "POST /push/c.alice HTTP/1.1\r\nHost: t\r\n"
             . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             . "Sec-WebSocket-Key: $wskey\r\nSec-WebSocket-Version: 13\r\n"
             . "X-API-Key: $key{alice}\r\nContent-Length: 0\r\n\r\n";
    my $b = '';
    read_until($r, qr/\r\n\r\n/, \$b);
    like($b, qr{\AHTTP/1\.1 400 }, 'a POST: 400') or diag $b;
    close $r;
}

# --- messages ----------------------------------------------------------------

my @ids;
{
    my $res = publish('c.alice', '{"invoice":"in_1"}', 'invoice.paid');
    like($res->{status}, qr/^20\d$/, 'published') or diag explain $res;

    my $f = ws_frame($s, \$buf);
    ok($f && $f->[0] == 1, 'a text frame') or diag explain $f;
    ok($f && $f->[3] & 0x80, 'FIN');
    ok($f && !$f->[2], 'unmasked');
    my $m = $f && eval { $json->decode($f->[1]) };
    ok($m, 'holding JSON') or diag $f && $f->[1];
    ok(read_until($es, qr/data: .*\n\n/, \$esbuf), 'EventSource got it');
    my ($id) = $esbuf =~ /^id: (.*)$/m;
    is($m && $m->{id}, $id, 'the id the EventSource subscriber got');
    is($m && $m->{type}, 'invoice.paid', 'the type');
    is_deeply($m && $m->{data}, { invoice => 'in_1' }, 'the data');
    push @ids, $id;

    # 16-bit and 64-bit lengths
    for my $n (200, 70000) {
        my $data = $json->encode({ x => 'y' x $n });
        publish('c.alice', $data, 't');
        my $g = ws_frame($s, \$buf);
        my $gm = $g && eval { $json->decode($g->[1]) };
        is($gm && length($gm->{data}{x}), $n, "a message of $n bytes");
    }
}

# text that is not JSON: a JSON string
{
    my $res = publish('c.alice', "caf\xc3\xa9 \"ok\"\t\\", 'note');
    like($res->{status}, qr/^20\d$/, 'not JSON: published')
        or diag explain $res;
    my $f = ws_frame($s, \$buf);
    my $m = $f && eval { JSON::PP->new->utf8->decode($f->[1]) };
    is($m && $m->{data}, "caf\x{e9} \"ok\"\t\\",
       'not JSON: data as a string') or diag explain $f;
}

# --- the client's frames -----------------------------------------------------

{
    print $s client_frame(9, 'hello?');
    my $f = ws_frame($s, \$buf);
    is_deeply($f && [@$f[0, 1]], [10, 'hello?'], 'ping: pong, same payload');

    print $s client_frame(10, 'unasked');
    print $s client_frame(9, '');
    $f = ws_frame($s, \$buf);
    is_deeply($f && [@$f[0, 1]], [10, ''],
              'a pong is ignored, the next ping answered');

    # a ping cut in two writes
    my $ping = client_frame(9, 'abc');
    print $s substr($ping, 0, 3);
    select undef, undef, undef, 0.2;
    print $s substr($ping, 3);
    $f = ws_frame($s, \$buf);
    is_deeply($f && [@$f[0, 1]], [10, 'abc'], 'a ping in two pieces');

    print $s client_frame(8, pack('n', 1000) . 'bye');
    $f = ws_frame($s, \$buf);
    is_deeply($f && [@$f[0, 1]], [8, pack('n', 1000)],
              'close: close 1000');
    ok(ends($s, \$buf), 'and the end');
    close $s;
}

for my $c (
    ['an unmasked frame', [9, 'x', unmasked => 1], 1002],
    ['a text frame', [1, 'hello'], 1003],
    ['a binary frame', [2, 'hello'], 1003],
    ['a fragmented ping', [9, 'x', fragment => 1], 1002],
    ['a reserved opcode', [3, 'x'], 1002],
    ['a 126-byte ping', [9, 'p' x 126], 1002],
    ['a frame over 4 KiB', [2, 'b' x 5000], 1009],
    ['a 64-bit length', [2, 'b' x 70000], 1009],
    ['close 1005', [8, pack('n', 1005)], 1002],
) {
    my ($what, $frame, $code) = @$c;
    my $k = new_key();
    my ($t, $h, $b) = @{ ws_open('/push/p.frames', $k,
                                 "X-API-Key: $key{bob}") };
    like($h, qr{\AHTTP/1\.1 101 }, "$what: opened");
    print $t client_frame(@$frame);
    my $f = ws_frame($t, \$b);
    is_deeply($f && [@$f[0, 1]], [8, pack('n', $code)], "$what: close $code")
        or diag explain $f;
    ok(ends($t, \$b), "$what: the end");
    close $t;
}

# --- resume with ?last_event_id= ---------------------------------------------

{
    my @hist;
    for my $n (1 .. 3) {
        publish('p.history', qq({"n":$n}), 'count');
    }
    my $e = connect_gw();
    print $e "GET /push/p.history?last_event_id=0-0 HTTP/1.1\r\nHost: t\r\n"
             . "Accept: text/event-stream\r\nX-API-Key: $key{bob}\r\n\r\n";
    my $eb = '';
    ok(read_until($e, qr/"n":3/, \$eb), 'the history (EventSource, from 0-0)')
        or diag $eb;
    @hist = $eb =~ /^id: (.*)$/mg;
    is(scalar @hist, 3, 'three ids');
    close $e;

    my ($t, $h, $b) = @{ ws_open("/push/p.history?last_event_id=$hist[0]",
                                 new_key(), "X-API-Key: $key{bob}") };
    like($h, qr{\AHTTP/1\.1 101 }, 'resuming: 101') or diag $h;
    my @got;
    for (1 .. 2) {
        my $f = ws_frame($t, \$b);
        push @got, $f && $f->[0] == 1 ? $json->decode($f->[1]) : undef;
    }
    is_deeply([map { $_ && $_->{data}{n} } @got], [2, 3],
              'after the first: the second and the third');
    is_deeply([map { $_ && $_->{id} } @got], [@hist[1, 2]], 'with their ids');

    # as a browser: the key in the query too, no header at all
    my ($u, $uh, $ub) = @{ ws_open("/push/p.history?api_key=$key{bob}"
                                   . "&last_event_id=$hist[1]", new_key()) };
    like($uh, qr{\AHTTP/1\.1 101 }, 'key and last id in the query: 101')
        or diag $uh;
    my $uf = ws_frame($u, \$ub);
    my $um = $uf && $uf->[0] == 1 && $json->decode($uf->[1]);
    is($um && $um->{id}, $hist[2], 'and the message after that id');
    close $u;

    publish('p.history', '{"n":4}', 'count');
    my $f = ws_frame($t, \$b);
    my $m = $f && $json->decode($f->[1]);
    is($m && $m->{data}{n}, 4, 'then the live ones') or diag explain $f;
    close $t;
}

# --- gw_push_authorize in front ----------------------------------------------

for my $c (
    ['another consumer\'s channel', 'c.bob', ["X-API-Key: $key{alice}"],
     403, 'push-channel-forbidden'],
    ['no key', 'c.alice', [], 401, 'key-missing'],
) {
    my ($what, $ch, $h, $status, $type) = @$c;
    my $r = ws_open("/push/$ch", new_key(), @$h);
    like($r->[1], qr{\AHTTP/1\.1 $status }, "$what: $status, no 101")
        or diag $r->[1];
    like(body_of($r), qr/"urn:tollgate:problem:\Q$type\E"/,
         "$what: problem $type");
    close $r->[0];
}

close $es;

my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;
is(scalar @bad, 0, 'nothing at [error] or above') or diag @bad;

$gw->stop;

# --- gw_push_ping: a WebSocket subscriber gets a ping frame ------------------

{
    my $pg = Tollgate::Gateway->start(http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    gw_push_ping 200ms;

    server {
        listen 127.0.0.1:\$PORT;

        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_push_subscribe \$push_channel;
        }

        location ~ ^/pub/(?<pub_channel>[^/]*)\$ {
            gw_push_publish \$pub_channel;
        }
    }
_EOC_
    local $gw = $pg;
    ok(ready(), 'gw_push_ping: the gateway hears Redis\' pub/sub');
    my ($t, $h, $b) = @{ ws_open('/push/p.ping', new_key()) };
    like($h, qr{\AHTTP/1\.1 101 }, 'gw_push_ping: opened');
    my $f = ws_frame($t, \$b);
    is_deeply($f && [@$f[0, 1]], [9, ''], 'an empty ping frame, no comment');
    print $t client_frame(10, '');
    print $t client_frame(8, '');
    $f = ws_frame($t, \$b);
    $f = ws_frame($t, \$b) while $f && $f->[0] == 9;
    is_deeply($f && [@$f[0, 1]], [8, ''], 'an empty close: an empty close');
    close $t;

    # a reload: the old worker's WebSocket subscribers hear 1001
    ($t, $h, $b) = @{ ws_open('/push/p.reload', new_key()) };
    like($h, qr{\AHTTP/1\.1 101 }, 'reload: opened');
    kill 'HUP', $pg->pid;
    $f = ws_frame($t, \$b);
    $f = ws_frame($t, \$b) while $f && $f->[0] == 9;
    is_deeply($f && [@$f[0, 1]], [8, pack('n', 1001)],
              'a reload: close 1001 (going away)') or diag explain $f;
    ok(ends($t, \$b), 'a reload: the end');
    close $t;
    my @pbad = grep { /\[(error|crit|alert|emerg)\]/ } $pg->error_log;
    is(scalar @pbad, 0, 'gw_push_ping: nothing at [error] or above')
        or diag @pbad;
    $pg->stop;
}

done_testing();
