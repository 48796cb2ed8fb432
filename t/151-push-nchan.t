# Push at the edge (docs/push.md): nchan's subscriber location behind
# gw_key_auth / gw_jwt and gw_push_authorize, its publisher location
# internal, messages kept in and fanned out through Redis.  Two nginx
# instances share one private Redis:
#
#   - an EventSource subscriber on instance A gets a message published
#     on instance B (and B's subscriber A's): the fan-out goes through
#     Redis, not through a shared memory;
#   - a WebSocket subscriber (a client written here: handshake, then
#     frames parsed by hand) gets its message as a text frame;
#   - Last-Event-ID: three messages published, a subscriber that gives
#     the first one's id gets the second and the third, and only them,
#     from the history buffered in Redis (on the other instance);
#   - the denials through the real subscriber location: another
#     consumer's channel 403, no key 401, a group outside the token's
#     claim 403 and inside it allowed, a bad name 400; and the publisher
#     refuses a client that is not 127.0.0.1.
#
# Plain Test::More: Test::Nginx runs one nginx.  nchan's module
# (TEST_NGINX_NCHAN_MODULE, else Debian's libnginx-mod-nchan path) is
# loaded after TEST_NGINX_LOAD_MODULES; the file skips without it.

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
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Gwctl qw(gwctl_binary);
use Tollgate::JWT qw(jwt keys_dir now);
use Tollgate::Redis;

my $NCHAN = $ENV{TEST_NGINX_NCHAN_MODULE}
            || '/usr/lib/nginx/modules/ngx_nchan_module.so';

my @modules = Tollgate::Gateway::modules();
plan skip_all => "the module is not built (run make)"
    unless -f $modules[0];
plan skip_all => "nchan is not installed ($NCHAN: apt-get install "
                 . 'libnginx-mod-nchan)' unless -f $NCHAN;
plan skip_all => gwctl_binary() . ' is not built (run make)'
    unless -x gwctl_binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

$ENV{TEST_NGINX_LOAD_MODULES} = join ' ', @modules, $NCHAN;

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

    upstream push_redis {
        nchan_redis_server redis://127.0.0.1:$rport;
    }

    server {
        listen 127.0.0.1:\$PORT;

        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_jwt api;
            gw_jwt_key_file $keys/rsa.pem;
            gw_auth_satisfy any;
            gw_push_authorize \$push_channel consumer;
            gw_push_authorize \$push_channel claim=groups;
            gw_push_authorize \$push_channel any;

            nchan_subscriber eventsource websocket;
            nchan_channel_id \$push_channel;
            nchan_redis_pass push_redis;
        }

        location ~ ^/pub/(?<pub_channel>[^/]*)\$ {
            allow 127.0.0.1;
            deny all;
            nchan_publisher;
            nchan_channel_id \$pub_channel;
            nchan_redis_pass push_redis;
            nchan_message_buffer_length 100;
            nchan_message_timeout 1h;
        }
    }
_EOC_

my %gw;
$gw{$_} = Tollgate::Gateway->start(http => $http) for qw(A B);

# publish($gw, $channel, $body, %headers): the publisher's answer, JSON
sub publish {
    my ($gw, $channel, $body, %h) = @_;
    my $head = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return $gw->request("POST /pub/$channel HTTP/1.1\r\nHost: t\r\n"
                        . "Accept: application/json\r\n$head"
                        . "Content-Length: " . length($body) . "\r\n"
                        . "Connection: close\r\n\r\n$body");
}

# nchan answers 503 until its Redis connection is up
for my $name (sort keys %gw) {
    my $st = 0;
    my $until = time + $WAIT;
    while (time < $until) {
        $st = $gw{$name}->get('/pub/p.ready')->{status};
        last if $st != 503 && $st != 0;
        sleep 0.1;
    }
    is($st, 404, "instance $name: nchan's Redis is up (no channel yet)");
}

# subscribe($gw, $path, @headers): a connected socket whose request went
# out (EventSource unless the headers say otherwise)
sub subscribe {
    my ($gw, $path, @h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $gw->port, Proto => 'tcp')
        or die "connect: $!";
    my @accept = (grep { /^Upgrade:/i } @h) ? ()
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

# --- EventSource, fanned out across instances --------------------------------

{
    my $sa = subscribe($gw{A}, '/push/c.alice', "X-API-Key: $key{alice}");
    my $sb = subscribe($gw{B}, '/push/c.alice', "X-API-Key: $key{alice}");
    my ($ba, $bb) = ('', '');
    ok(read_until($sa, qr/\r\n\r\n/, \$ba)
       && $ba =~ m{\AHTTP/1\.1 200 }
       && $ba =~ m{^Content-Type: text/event-stream}mi,
       'A: the key\'s own channel opens as an event stream')
        or diag $ba;
    ok(read_until($sb, qr/\r\n\r\n/, \$bb) && $bb =~ m{\AHTTP/1\.1 200 },
       'B: the same channel opens');

    my $res = publish($gw{B}, 'c.alice', 'from B',
                      'X-EventSource-Event' => 'invoice.paid');
    like($res->{status}, qr/^20[12]$/, 'B: the publisher accepts')
        or diag explain $res;

    ok(read_until($sa, qr/data: from B\n\n/, \$ba),
       'A\'s subscriber gets the message published on B') or diag $ba;
    my ($ev) = events($ba);
    is($ev->{event}, 'invoice.paid', 'with its event type');
    ok(defined $ev->{id} && length $ev->{id}, 'and an id');
    ok(read_until($sb, qr/data: from B\n\n/, \$bb),
       'B\'s own subscriber gets it too');

    publish($gw{A}, 'c.alice', 'from A');
    ok(read_until($sb, qr/data: from A\n\n/, \$bb),
       'B\'s subscriber gets a message published on A') or diag $bb;
    close $_ for $sa, $sb;
}

# --- WebSocket ---------------------------------------------------------------

# ws_frame($s, \$buf): the next frame the server sent: [opcode, payload],
# or undef after $WAIT
sub ws_frame {
    my ($s, $buf) = @_;
    while (1) {
        if (length $$buf >= 2) {
            my ($b0, $b1) = unpack 'CC', $$buf;
            my ($len, $off) = ($b1 & 0x7f, 2);
            if ($len == 126) {
                return ws_more($s, $buf) ? ws_frame($s, $buf) : undef
                    if length $$buf < 4;
                ($len, $off) = (unpack('x2n', $$buf), 4);
            } elsif ($len == 127) {
                return ws_more($s, $buf) ? ws_frame($s, $buf) : undef
                    if length $$buf < 10;
                ($len, $off) = (unpack('x2Q>', $$buf), 10);
            }
            $off += 4 if $b1 & 0x80;            # a server never masks
            if (length $$buf >= $off + $len) {
                my $payload = substr $$buf, $off, $len;
                substr($$buf, 0, $off + $len) = '';
                return [$b0 & 0x0f, $payload];
            }
        }
        return undef unless ws_more($s, $buf);
    }
}

sub ws_more {
    my ($s, $buf) = @_;
    return 0 unless IO::Select->new($s)->can_read($WAIT);
    my $n = sysread($s, my $chunk, 65536);
    return 0 unless $n;
    $$buf .= $chunk;
    return 1;
}

# ws_text($s, \$buf): the next text frame's payload (pings skipped)
sub ws_text {
    my ($s, $buf) = @_;
    while (my $f = ws_frame($s, $buf)) {
        return $f->[1] if $f->[0] == 1;
        return undef if $f->[0] == 8;
    }
    return undef;
}

{
    my $wskey = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $s = subscribe($gw{B}, '/push/g.ops', 'Upgrade: websocket',
                      'Connection: Upgrade', "Sec-WebSocket-Key: $wskey",
                      'Sec-WebSocket-Version: 13',
                      "Authorization: Bearer $token");
    my $buf = '';
    ok(read_until($s, qr/\r\n\r\n/, \$buf), 'B: the WebSocket handshake ends');
    my ($head) = $buf =~ /\A(.*?\r\n\r\n)/s;
    $buf = substr $buf, length($head // '');
    like($head // '', qr{\AHTTP/1\.1 101 }, 'a group of the token: 101')
        or diag $head, $buf;
    my $want = sha1_base64($wskey . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
               . '=';
    like($head // '', qr/^Sec-WebSocket-Accept: \Q$want\E\r$/mi,
         'with the right Sec-WebSocket-Accept');

    publish($gw{A}, 'g.ops', '{"id":"n1.0","type":"t","data":{"x":1}}');
    is(ws_text($s, \$buf), '{"id":"n1.0","type":"t","data":{"x":1}}',
       'the WebSocket subscriber gets the message published on A');
    close $s;
}

# --- Last-Event-ID -----------------------------------------------------------

{
    my @ids;
    for my $n (1 .. 3) {
        my $res = publish($gw{A}, 'p.history', "message $n");
        my $j = eval { JSON::PP->new->decode($res->{body}) } || {};
        push @ids, $j->{last_message_id};
    }
    ok(3 == grep({ defined && length } @ids), 'three messages published')
        or diag explain \@ids;

    my $s = subscribe($gw{B}, '/push/p.history', "X-API-Key: $key{bob}",
                      "Last-Event-ID: $ids[0]");
    my $buf = '';
    ok(read_until($s, qr/data: message 3\n\n/, \$buf),
       'a subscriber on B resuming after the first gets the third')
        or diag $buf;
    my @ev = events($buf);
    is_deeply([map { $_->{data} } @ev], ['message 2', 'message 3'],
              'the second and the third, and only them, in order');
    is_deeply([map { $_->{id} } @ev], [@ids[1, 2]],
              'each with the id the publisher gave it');
    close $s;
}

# --- denials through the subscriber location ---------------------------------

my $sub_n = 0;
for my $c (
    ['another consumer\'s channel', 'c.bob', ["X-API-Key: $key{alice}"],
     403, 'push-channel-forbidden'],
    ['no key', 'c.alice', [], 401, 'key-missing'],
    ['a group outside the claim', 'g.sales', ["Authorization: Bearer $token"],
     403, 'push-channel-forbidden'],
    ['a bad name', 'c.al%20ice', ["X-API-Key: $key{alice}"],
     400, 'push-channel-invalid'],
    ['a consumer channel by token sub', 'c.alice',
     ["Authorization: Bearer $token"], 403, 'push-channel-forbidden'],
) {
    my ($what, $ch, $h, $status, $type) = @$c;
    my $res = $gw{A}->request(join("\r\n", "GET /push/$ch HTTP/1.1",
                              'Host: t', 'Accept: text/event-stream', @$h,
                              'Connection: close') . "\r\n\r\n");
    is($res->{status}, $status, "$what: $status");
    like($res->{body}, qr/"urn:tollgate:problem:\Q$type\E"/,
         "$what: problem $type");
}

# the group in the claim opens (the EventSource transport this time)
{
    my $s = subscribe($gw{A}, '/push/g.dev', "Authorization: Bearer $token");
    my $buf = '';
    ok(read_until($s, qr/\r\n\r\n/, \$buf) && $buf =~ m{\AHTTP/1\.1 200 },
       'a group in the claim: 200');
    close $s;
}

# the publisher answers only 127.0.0.1
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $gw{A}->port,
                                  LocalAddr => '127.0.0.2', Proto => 'tcp');
    SKIP: {
        skip 'cannot bind 127.0.0.2', 1 unless $s;
        print $s "POST /pub/p.x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                 . "Connection: close\r\n\r\nx";
        my $buf = '';
        read_until($s, qr/\r\n\r\n/, \$buf);
        like($buf, qr{\AHTTP/1\.1 403 }, 'the publisher refuses 127.0.0.2');
    }
}

# (but nginx's own access module, which logs its deny at [error])
for my $name (sort keys %gw) {
    my @bad = grep { /\[(error|crit|alert|emerg)\]/
                     && !/access forbidden by rule, client: 127\.0\.0\.2,/ }
              $gw{$name}->error_log;
    is(scalar @bad, 0, "instance $name: nothing at [error] or above")
        or diag @bad;
}

$_->stop for values %gw;

done_testing();
