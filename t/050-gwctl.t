# gwctl end to end: a private redis-server on a free loopback port (and a
# unix socket) in a temporary folder, the built build/gwctl driven through
# every command and every error path, and Redis inspected behind it with a
# small RESP client: the records and indexes written, the invalidations
# published on gw:events (read by a subscriber), and that a key is never
# stored.  Plain Test::More.
#
# TEST_GWCTL_BINARY runs another binary; TEST_GWCTL_VALGRIND=1 runs every
# gwctl under valgrind, any memory error or leak failing its test.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use FindBin;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);

my $top = "$FindBin::Bin/..";
my $gwctl = $ENV{TEST_GWCTL_BINARY} // "$top/build/gwctl";

plan skip_all => "$gwctl is not built (run make)" unless -x $gwctl;

my ($redis_server) = grep { -x } map { "$_/redis-server" }
                     split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/sbin';

plan skip_all => 'redis-server is not installed (apt-get install '
                 . 'redis-server)' unless $redis_server;

my @valgrind = $ENV{TEST_GWCTL_VALGRIND}
    ? qw(valgrind -q --leak-check=full --error-exitcode=99) : ();

my $tmp = tempdir(CLEANUP => 1);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# ---- the private redis-server ---------------------------------------------

my $port = free_port();
my $sock = "$tmp/redis.sock";
my $redis_pid = fork() // die "fork: $!";

if ($redis_pid == 0) {
    open STDOUT, '>', "$tmp/redis.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $redis_server, '--port', $port, '--bind', '127.0.0.1',
         '--save', '', '--appendonly', 'no', '--dir', $tmp,
         '--unixsocket', $sock, '--daemonize', 'no'
        or die "exec: $!";
}

END {
    if ($redis_pid) {
        kill 'TERM', $redis_pid;
        for (1 .. 50) {
            last if waitpid($redis_pid, WNOHANG) == $redis_pid;
            select(undef, undef, undef, 0.1);
        }
    }
}

# ---- a small RESP client --------------------------------------------------

sub rconnect {
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        return { s => $s, buf => '' } if $s;
        select(undef, undef, undef, 0.1);
    }
    die "redis-server did not start:\n" . `cat $tmp/redis.log`;
}

sub rsend {
    my ($c, @args) = @_;
    my $m = '*' . @args . "\r\n";
    $m .= '$' . length($_) . "\r\n$_\r\n" for @args;
    syswrite($c->{s}, $m) == length($m) or die "write: $!";
}

sub rfill {
    my ($c, $need) = @_;
    my $sel = IO::Select->new($c->{s});
    while (length($c->{buf}) < $need) {
        $sel->can_read(5) or die 'redis: no reply';
        sysread($c->{s}, $c->{buf}, 65536, length $c->{buf}) or die 'eof';
    }
}

sub rline {
    my ($c) = @_;
    my $i;
    while (($i = index($c->{buf}, "\r\n")) < 0) {
        rfill($c, length($c->{buf}) + 1);
    }
    my $l = substr($c->{buf}, 0, $i);
    substr($c->{buf}, 0, $i + 2) = '';
    return $l;
}

# errors come back as { err => '...' }
sub rread {
    my ($c) = @_;
    my $l = rline($c);
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
    return $v if $t eq '+' || $t eq ':';
    return { err => $v } if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        rfill($c, $v + 2);
        my $s = substr($c->{buf}, 0, $v);
        substr($c->{buf}, 0, $v + 2) = '';
        return $s;
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { rread($c) } 1 .. $v ];
    }
    die "redis: bad reply line '$l'";
}

my $db = rconnect();

sub r {
    rsend($db, @_);
    return rread($db);
}

# many commands in one round trip; returns their replies
sub rpipe {
    rsend($db, @$_) for @_;
    return map { rread($db) } @_;
}

sub rhash {
    my %h = @{ r('HGETALL', @_) };
    return \%h;
}

# the subscriber: PING on a subscribed connection answers after every
# message published before it, so events() returns exactly those
my $sub = rconnect();
rsend($sub, 'SUBSCRIBE', 'gw:events');
rread($sub);

sub events {
    my @m;
    rsend($sub, 'PING');
    while (1) {
        my $r = rread($sub);
        last if $r->[0] eq 'pong';
        push @m, $r->[2] if $r->[0] eq 'message';
    }
    return \@m;
}

# ---- running gwctl --------------------------------------------------------

my $addr = "127.0.0.1:$port";
$ENV{TOLLGATE_REDIS} = $addr;
delete $ENV{GWCTL_TEST_PASSWORD};

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# returns (exit code, stdout, stderr)
sub gwctl {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$tmp/out" or die;
        open STDERR, '>', "$tmp/err" or die;
        exec @valgrind, $gwctl, @_ or die "exec: $!";
    }
    waitpid($pid, 0);
    return ($? >> 8, slurp("$tmp/out"), slurp("$tmp/err"));
}

# runs gwctl, checks the exit code, stdout (exact string or regex) and
# stderr (regex; undef: empty); returns stdout
sub run_ok {
    my ($name, $args, $code, $out, $err) = @_;
    my ($rc, $o, $e) = gwctl(@$args);
    is($rc, $code, "$name: exit $code");
    if (ref $out) {
        like($o, $out, "$name: stdout");
    } elsif (defined $out) {
        is($o, $out, "$name: stdout");
    }
    if (defined $err) {
        like($e, $err, "$name: stderr");
    } else {
        is($e, '', "$name: stderr empty");
    }
    return $o;
}

# one line of message, then the usage
sub usage_error {
    my ($name, $args, $msg) = @_;
    run_ok($name, $args, 1, '', qr/\Agwctl: \Q$msg\E[^\n]*\nusage: gwctl /);
}

sub no_events {
    my ($name) = @_;
    is_deeply(events(), [], "$name: nothing published");
}

# ---- help and usage errors ------------------------------------------------

run_ok('--help', ['--help'], 0, qr/\Ausage: gwctl .*key revoke/s);
run_ok('help', ['help'], 0, qr/\Ausage: gwctl /);
usage_error('no arguments', [], 'no command');
usage_error('unknown command', ['frob'], 'unknown command "frob"');
usage_error('unknown global option', ['--frob', 'consumer', 'list'],
            'unknown option "--frob"');
usage_error('consumer alone', ['consumer'],
            'consumer: expects add, list, show');
usage_error('unknown consumer command', ['consumer', 'frob'],
            'consumer: unknown command "frob"');
usage_error('key alone', ['key'], 'key: expects create, list or revoke');
usage_error('unknown key command', ['key', 'frob'],
            'key: unknown command "frob"');

usage_error('--redis without value', ['--redis'], '--redis needs a value');
usage_error('--redis without port', ['--redis', 'localhost', 'consumer',
            'list'], '--redis: expects HOST:PORT or unix:/path, got '
            . '"localhost"');
for my $bad ('h:0', 'h:65536', 'h:12a', 'h:-1', ':6379', 'h:', 'a b:1',
             '[::1:6379', 'h:06379') {
    usage_error("--redis $bad", ['--redis', $bad, 'consumer', 'list'],
                '--redis: expects HOST:PORT or unix:/path');
}
usage_error('--redis too long', ['--redis', ('a' x 300) . ':1', 'consumer',
            'list'], '--redis: longer than 300 bytes');
usage_error('unix: relative', ['--redis', 'unix:tmp/s', 'consumer', 'list'],
            '--redis: unix: needs an absolute path');
usage_error('unix: too long', ['--redis', 'unix:/' . ('a' x 120), 'consumer',
            'list'], '--redis: unix: needs an absolute path of at most 107');
{
    local $ENV{TOLLGATE_REDIS} = 'nowhere';
    usage_error('bad TOLLGATE_REDIS', ['consumer', 'list'],
                'TOLLGATE_REDIS: expects HOST:PORT or unix:/path, got '
                . '"nowhere"');
}

for my $bad ('x', '-1', '65536', '01', '', '1x') {
    usage_error("--db '$bad'", ['--db', $bad, 'consumer', 'list'],
                '--db: expects 0 to 65535');
}
usage_error('--db without value', ['--db'], '--db needs a value');
usage_error('--db twice', [qw(--db 1 --db=2 consumer list)],
            '--db given twice');
usage_error('--redis twice', ['--redis', $addr, "--redis=$addr", 'consumer',
            'list'], '--redis given twice');
usage_error('--password-env twice', [qw(--password-env A --password-env B
            consumer list)], '--password-env given twice');

usage_error('--password-env without value', ['--password-env'],
            '--password-env needs a value');
usage_error('--password-env bad name', ['--password-env', '1X', 'consumer',
            'list'], '--password-env: expects a variable name, got "1X"');
usage_error('--password-env unset', ['--password-env', 'GWCTL_TEST_PASSWORD',
            'consumer', 'list'],
            '--password-env: GWCTL_TEST_PASSWORD is not set or empty');
{
    local $ENV{GWCTL_TEST_PASSWORD} = 'x' x 513;
    usage_error('--password-env too long', ['--password-env',
                'GWCTL_TEST_PASSWORD', 'consumer', 'list'],
                '--password-env: GWCTL_TEST_PASSWORD is longer than 512');
}

usage_error('consumer add without id', [qw(consumer add)],
            'consumer add: expects ID');
usage_error('consumer add with two ids', [qw(consumer add a b)],
            'consumer add: unexpected argument "b"');
for my $bad ('a b', 'a/b', 'a:b', 'é', 'x' x 65, '') {
    usage_error("consumer add '$bad'", ['consumer', 'add', $bad],
                $bad eq '' ? 'consumer add: invalid consumer id ""'
                           : 'consumer add: invalid consumer id');
}
usage_error('an id is quoted safely', ['consumer', 'add', "a\e[31m"],
            'consumer add: invalid consumer id "a?[31m"');
usage_error('a long argument is cut', ['consumer', 'add', 'y' x 100],
            'consumer add: invalid consumer id "' . ('y' x 48) . '..."');
usage_error('--name empty', [qw(consumer add a --name), ''],
            'consumer add: --name: expects 1 to 256 bytes of printable');
usage_error('--name control', ['consumer', 'add', 'a', '--name', "a\tb"],
            'consumer add: --name: expects');
usage_error('--name bad UTF-8', ['consumer', 'add', 'a', '--name', "a\xff"],
            'consumer add: --name: expects');
usage_error('--name 257 bytes', ['consumer', 'add', 'a', '--name', 'n' x 257],
            'consumer add: --name: expects');
usage_error('--name twice', [qw(consumer add a --name x --name y)],
            'consumer add: --name given twice');
usage_error('--name without value', [qw(consumer add a --name)],
            'consumer add: --name needs a value');
for my $bad ('a,,b', 'a,a', ',', 'a b', join(',', map { "t$_" } 1 .. 33)) {
    usage_error("--tags '" . substr($bad, 0, 20) . "'",
                ['consumer', 'add', 'a', '--tags', $bad],
                'consumer add: --tags: expects up to 32 distinct');
}
usage_error('--plan empty', [qw(consumer add a --plan), ''],
            'consumer add: --plan: expects 1 to 64 bytes');
usage_error('--plan space', [qw(consumer add a --plan), 'a b'],
            'consumer add: --plan: expects 1 to 64 bytes');
usage_error('unknown option', [qw(consumer add a --frob)],
            'consumer add: unknown option "--frob"');
usage_error('consumer list extra', [qw(consumer list x)],
            'consumer list: unexpected argument "x"');
usage_error('--json with value', [qw(consumer list --json=1)],
            'consumer list: --json takes no value');
for my $bad ('0', '1001', '-1', '01', '1e3', '', '99999999999') {
    usage_error("consumer list --limit '$bad'", ['consumer', 'list',
                '--limit', $bad], 'consumer list: --limit: expects 1 to 1000');
    usage_error("key list --limit '$bad'", ['key', 'list', 'a', '--limit',
                $bad], 'key list: --limit: expects 1 to 1000');
}
usage_error('consumer list --cursor bad', [qw(consumer list --cursor a/b)],
            'consumer list: --cursor: expects a consumer id, got "a/b"');
usage_error('key list --cursor bad', [qw(key list a --cursor abc)],
            'key list: --cursor: expects a key hash (64 lower-case hex');
usage_error('key list --cursor upper case', ['key', 'list', 'a', '--cursor',
            'A' x 64], 'key list: --cursor: expects a key hash');
usage_error('consumer list --limit twice', [qw(consumer list --limit 1
            --limit=2)], 'consumer list: --limit given twice');
usage_error('consumer show without id', [qw(consumer show)],
            'consumer show: expects ID');
usage_error('consumer show bad id', [qw(consumer show a/b)],
            'consumer show: invalid consumer id "a/b"');
usage_error('consumer disable without id', [qw(consumer disable)],
            'consumer disable: expects ID');
usage_error('consumer enable bad id', [qw(consumer enable .. x)],
            'consumer enable: unexpected argument "x"');
usage_error('consumer plan without id', [qw(consumer plan)],
            'consumer plan: expects ID PLAN or ID --none');
usage_error('consumer plan without plan', [qw(consumer plan a)],
            'consumer plan: expects ID PLAN or ID --none');
usage_error('consumer plan bad id', [qw(consumer plan a/b gold)],
            'consumer plan: invalid consumer id "a/b"');
usage_error('consumer plan --none bad id', [qw(consumer plan --none a:b)],
            'consumer plan: invalid consumer id "a:b"');
for my $bad (['a b', '"a b"'], ['gold/1', '"gold/1"'], ["\xc3\xa9", '"??"'],
             ['p' x 65, '"' . ('p' x 48) . '..."'], ['', '""']) {
    usage_error("consumer plan '" . substr($bad->[0], 0, 20) . "'",
                ['consumer', 'plan', 'a', $bad->[0]],
                "consumer plan: invalid plan $bad->[1] (1 to 64 bytes");
}
usage_error('consumer plan, plan quoted safely', ['consumer', 'plan', 'a',
            "g\e[31m"], 'consumer plan: invalid plan "g?[31m" (1 to 64 '
            . 'bytes of A-Z a-z 0-9 . _ -; --none clears the plan)');
usage_error('consumer plan, a plan and --none', [qw(consumer plan a gold
            --none)], 'consumer plan: unexpected argument "gold" (expects '
            . 'ID PLAN or ID --none)');
usage_error('consumer plan, three arguments', [qw(consumer plan a b c)],
            'consumer plan: unexpected argument "c"');
usage_error('consumer plan --none=x', [qw(consumer plan a --none=x)],
            'consumer plan: --none takes no value');
usage_error('consumer plan --none twice', [qw(consumer plan a --none
            --none)], 'consumer plan: --none given twice');
usage_error('consumer plan unknown option', [qw(consumer plan a gold
            --frob)], 'consumer plan: unknown option "--frob"');
usage_error('key create without consumer', [qw(key create)],
            'key create: expects CONSUMER');
usage_error('key create bad consumer', [qw(key create a:b)],
            'key create: invalid consumer id');
for my $bad ('0', '-5', '3651d', '5x', '', '1.5h', '007', '99999999999999999999') {
    usage_error("--expires '$bad'", ['key', 'create', 'a', '--expires', $bad],
                'key create: --expires: expects seconds');
}
usage_error('key list without consumer', [qw(key list)],
            'key list: expects CONSUMER');
usage_error('key revoke without key', [qw(key revoke a)],
            'key revoke: expects CONSUMER KEY_PREFIX_OR_HASH');
for my $bad ('xyz', 'tg_', 'tg_abcdef', 'tg_a+b', 'abc1234', 'g' x 8,
             'a' x 65) {
    usage_error("key revoke '$bad'", ['key', 'revoke', 'a', $bad],
                'key revoke: expects a key prefix');
}

# usage errors never reach Redis: the same with Redis down
{
    local $ENV{TOLLGATE_REDIS} = '127.0.0.1:' . free_port();
    usage_error('usage error without Redis', [qw(consumer add a/b)],
                'consumer add: invalid consumer id');
}

no_events('usage errors');

# ---- Redis unreachable and Redis errors -----------------------------------

my $dead = free_port();
run_ok('connection refused', ['--redis', "127.0.0.1:$dead", qw(consumer list)],
       3, '', qr/\Agwctl: redis 127\.0\.0\.1:$dead: cannot connect: (?i:connection refused)\n\z/);
run_ok('no socket', ['--redis', "unix:$tmp/none.sock", qw(consumer list)],
       3, '', qr/\Agwctl: redis unix:\Q$tmp\E\/none\.sock: cannot connect: /);
{
    local $ENV{TOLLGATE_REDIS} = "127.0.0.1:$dead";
    run_ok('TOLLGATE_REDIS is used', [qw(consumer show a)], 3, '',
           qr/\Agwctl: redis 127\.0\.0\.1:$dead: cannot connect/);
}
SKIP: {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 6379,
                                  Proto => 'tcp');
    skip 'something listens on 127.0.0.1:6379', 3 if $s;
    local $ENV{TOLLGATE_REDIS};
    delete $ENV{TOLLGATE_REDIS};
    run_ok('default address', [qw(consumer list)], 3, '',
           qr/\Agwctl: redis 127\.0\.0\.1:6379: cannot connect/);
}

# a server that accepts connections and never answers
{
    my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Proto => 'tcp',
                                     Listen => 5) or die;
    my $mp = $mute->sockport;
    my $t0 = time;
    run_ok('no reply', ['--redis', "127.0.0.1:$mp", qw(consumer list)], 3, '',
           qr/\Agwctl: redis 127\.0\.0\.1:$mp: ZRANGEBYLEX: no reply within 2 seconds\n\z/);
    cmp_ok(time - $t0, '<=', 10, 'no reply: gives up after the timeout');
    close $mute;
}

run_ok('--db out of range', ['--db', '100', qw(consumer list)], 3, '',
       qr/\Agwctl: redis 127\.0\.0\.1:$port: SELECT: ERR DB index is out of range\n\z/);

r('SET', 'gw:consumers', 'oops');
run_ok('wrong type', [qw(consumer list)], 3, '',
       qr/\Agwctl: redis \Q$addr\E: ZRANGEBYLEX: WRONGTYPE /);
r('DEL', 'gw:consumers');

# ---- consumers ------------------------------------------------------------

run_ok('empty list', [qw(consumer list)], 0, '', undef);
run_ok('empty list, JSON', [qw(consumer list --json)], 0,
       qq({"consumers":[],"next":null}\n), undef);

my $t0 = time;
run_ok('consumer add', ['consumer', 'add', 'acme', '--name', 'Acme Corp',
       '--tags', 'eu,internal', '--plan', 'gold'], 0,
       "consumer acme added\n", undef);
my $c = rhash('gw:consumer:acme');
is_deeply([ map { $c->{$_} } qw(id name status tags plan) ],
          [ 'acme', 'Acme Corp', 'active', 'eu,internal', 'gold' ],
          'the consumer record');
ok($c->{created} >= $t0 && $c->{created} <= time, 'created is now');
is(r('ZSCORE', 'gw:consumers', 'acme'), 0, 'indexed in gw:consumers');
is_deeply(events(), ['consumer acme'], 'add publishes "consumer acme"');

run_ok('consumer add, defaults, --opt=value', ['consumer', 'add', 'b-2.x_',
       '--name=Büro ☕'], 0, "consumer b-2.x_ added\n", undef);
$c = rhash('gw:consumer:b-2.x_');
is_deeply([ map { $c->{$_} } qw(name tags plan status) ],
          [ "B\xc3\xbcro \xe2\x98\x95", '', '', 'active' ],
          'UTF-8 name, no tags, no plan');
run_ok('consumer add, name defaults to the id', [qw(consumer add zed --)],
       0, "consumer zed added\n", undef);
is(rhash('gw:consumer:zed')->{name}, 'zed', 'name is the id');
is_deeply(events(), ['consumer b-2.x_', 'consumer zed'], 'published');

run_ok('consumer add, exists', [qw(consumer add acme --name Other)], 2, '',
       qr/\Agwctl: consumer acme already exists\n\z/);
is(rhash('gw:consumer:acme')->{name}, 'Acme Corp', 'the record is kept');
no_events('add of an existing consumer');

my $list = run_ok('consumer list', [qw(consumer list)], 0, qr/^ID /, undef);
my @lines = split /\n/, $list;
is(scalar @lines, 4, 'a header and three consumers');
like($lines[0], qr/^ID\s+STATUS\s+PLAN\s+CREATED\s+KEYS\s+NAME$/, 'header');
like($lines[1], qr/^acme\s+active\s+gold\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+0\s+Acme Corp$/,
     'acme row');
like($lines[2], qr/^b-2\.x_\s+active\s+-\s+\S+\s+0\s+Büro ☕$/, 'b-2.x_ row');
like($lines[3], qr/^zed\s+/, 'sorted by id');

my $json = run_ok('consumer list --json', [qw(consumer list --json)], 0,
                  qr/^\{"consumers":\[/, undef);
my $j = decode_json($json);
is($j->{next}, undef, 'JSON: no next page');
$j = $j->{consumers};
is_deeply([ map { $_->{id} } @$j ], [qw(acme b-2.x_ zed)], 'JSON ids');
is_deeply($j->[0]{tags}, ['eu', 'internal'], 'JSON tags');
is($j->[0]{plan}, 'gold', 'JSON plan');
is($j->[1]{plan}, undef, 'JSON plan null when none');
is_deeply($j->[1]{tags}, [], 'JSON tags empty');
is($j->[1]{name}, "B\x{fc}ro \x{2615}", 'JSON UTF-8 name');
is($j->[0]{keys}, 0, 'JSON key count');

run_ok('consumer show', [qw(consumer show acme)], 0,
       qr/\Aid:       acme\nname:     Acme Corp\nstatus:   active\ntags:     eu,internal\nplan:     gold\ncreated:  \S+Z\nkeys:     0\n\z/,
       undef);
run_ok('consumer show, none', [qw(consumer show zed)], 0,
       qr/\ntags:     -\nplan:     -\n/, undef);
$j = decode_json(run_ok('consumer show --json', [qw(consumer show --json
                        acme)], 0, qr/^\{/, undef));
is_deeply([ @$j{qw(id name status plan keys)} ],
          [ 'acme', 'Acme Corp', 'active', 'gold', 0 ], 'show JSON');
is($j->{created}, rhash('gw:consumer:acme')->{created}, 'show JSON created');
run_ok('consumer show, missing', [qw(consumer show nobody)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);

run_ok('consumer disable', [qw(consumer disable acme)], 0,
       "consumer acme disabled\n", undef);
is(rhash('gw:consumer:acme')->{status}, 'disabled', 'status disabled');
is_deeply(events(), ['consumer acme'], 'disable publishes');
run_ok('consumer disable, again', [qw(consumer disable acme)], 2, '',
       qr/\Agwctl: consumer acme is already disabled\n\z/);
run_ok('consumer list shows it', [qw(consumer list)], 0,
       qr/^acme\s+disabled\s+gold/m, undef);
run_ok('consumer enable', [qw(consumer enable acme)], 0,
       "consumer acme enabled\n", undef);
is(rhash('gw:consumer:acme')->{status}, 'active', 'status active');
is_deeply(events(), ['consumer acme'], 'enable publishes');
run_ok('consumer enable, again', [qw(consumer enable acme)], 2, '',
       qr/\Agwctl: consumer acme is already enabled\n\z/);
run_ok('consumer disable, missing', [qw(consumer disable nobody)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);
run_ok('consumer enable, missing', [qw(consumer enable nobody)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);
no_events('failed state changes');

# plans: set, the same again, cleared; the record and its invalidation
run_ok('consumer plan', [qw(consumer plan acme silver)], 0,
       "consumer acme plan set to silver\n", undef);
$c = rhash('gw:consumer:acme');
is_deeply([ map { $c->{$_} } qw(id name status tags plan) ],
          [ 'acme', 'Acme Corp', 'active', 'eu,internal', 'silver' ],
          'plan set, the rest of the record kept');
is_deeply(events(), ['consumer acme'], 'plan publishes "consumer acme"');
run_ok('consumer show, new plan', [qw(consumer show acme)], 0,
       qr/\nstatus:   active\ntags:     eu,internal\nplan:     silver\n/,
       undef);
$j = decode_json(run_ok('consumer show --json, new plan', [qw(consumer show
                        acme --json)], 0, qr/^\{/, undef));
is($j->{plan}, 'silver', 'show JSON: new plan');
run_ok('consumer list, new plan', [qw(consumer list)], 0,
       qr/^acme\s+active\s+silver\s/m, undef);
run_ok('consumer plan, the same again', [qw(consumer plan acme silver)], 0,
       "consumer acme plan set to silver\n", undef);
is_deeply(events(), ['consumer acme'], 'the same plan publishes again');

run_ok('consumer plan --none', [qw(consumer plan acme --none)], 0,
       "consumer acme plan cleared\n", undef);
$c = rhash('gw:consumer:acme');
is($c->{plan}, '', 'plan cleared to ""');
is($c->{status}, 'active', 'status kept');
is_deeply(events(), ['consumer acme'], 'clearing publishes');
run_ok('consumer show, plan cleared', [qw(consumer show acme)], 0,
       qr/\ntags:     eu,internal\nplan:     -\n/, undef);
$j = decode_json(run_ok('consumer show --json, plan cleared',
                        [qw(consumer show acme --json)], 0, qr/^\{/,
                        undef));
is($j->{plan}, undef, 'show JSON: plan null once cleared');

run_ok('consumer plan, --none first, the same again', [qw(consumer plan
       --none acme)], 0, "consumer acme plan cleared\n", undef);
run_ok('consumer plan, -- before a plan', [qw(consumer plan acme --
       -gold)], 0, "consumer acme plan set to -gold\n", undef);
run_ok('consumer plan back to gold', [qw(consumer plan acme gold)], 0,
       "consumer acme plan set to gold\n", undef);
is(rhash('gw:consumer:acme')->{plan}, 'gold', 'plan gold again');
is_deeply(events(), ['consumer acme', 'consumer acme', 'consumer acme'],
          'each change published');

run_ok('consumer disable zed', [qw(consumer disable zed)], 0,
       "consumer zed disabled\n", undef);
run_ok('consumer plan, disabled', [qw(consumer plan zed free)], 0,
       "consumer zed plan set to free\n", undef);
$c = rhash('gw:consumer:zed');
is_deeply([ @$c{qw(status plan)} ], [ 'disabled', 'free' ],
          'a disabled consumer keeps its status');
run_ok('consumer enable zed', [qw(consumer enable zed)], 0,
       "consumer zed enabled\n", undef);
is_deeply(events(), ['consumer zed', 'consumer zed', 'consumer zed'],
          'published');

usage_error('consumer plan, invalid plan', ['consumer', 'plan', 'acme',
            'gold plus'], 'consumer plan: invalid plan "gold plus"');
is(rhash('gw:consumer:acme')->{plan}, 'gold', 'invalid plan: record kept');
run_ok('consumer plan, missing', [qw(consumer plan nobody gold)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);
run_ok('consumer plan --none, missing', [qw(consumer plan nobody --none)], 2,
       '', qr/\Agwctl: consumer nobody not found\n\z/);
is_deeply(r('KEYS', 'gw:consumer:nobody*'), [], 'nothing written for it');
no_events('failed plan changes');

# ---- keys -----------------------------------------------------------------

my $k1 = run_ok('key create', [qw(key create acme)], 0,
                qr/\Atg_[A-Za-z0-9_-]{43}\n\z/, undef);
chomp $k1;
my $h1 = sha256_hex($k1);
my $k = rhash("gw:key:$h1");
is_deeply([ @$k{qw(consumer status expires prefix)} ],
          [ 'acme', 'active', 0, substr($k1, 0, 8) ],
          'the key record, stored under the SHA-256 of the key');
ok($k->{created} >= $t0 && $k->{created} <= time, 'key created is now');
is_deeply(r('ZRANGE', 'gw:consumer:acme:keys', 0, -1, 'WITHSCORES'),
          [$h1, $k->{created}], 'indexed in gw:consumer:acme:keys, '
          . 'scored by its creation');
is_deeply(events(), ["key $h1"], 'create publishes "key <hash>"');

my $k2 = run_ok('key create --expires 30d', [qw(key create acme --expires
                30d)], 0, qr/\Atg_\S{43}\n\z/, undef);
chomp $k2;
my $h2 = sha256_hex($k2);
$k = rhash("gw:key:$h2");
is($k->{expires} - $k->{created}, 30 * 86400, 'expires 30 days later');
isnt($k2, $k1, 'keys differ');
events();

for my $e (['12h', 43200], ['3600', 3600], ['90s', 90], ['15m', 900],
           ['3650d', 3650 * 86400]) {
    my $o = run_ok("key create --expires $e->[0]", ['key', 'create', 'zed',
                   "--expires=$e->[0]"], 0, qr/\Atg_\S{43}\n\z/, undef);
    chomp $o;
    $k = rhash('gw:key:' . sha256_hex($o));
    is($k->{expires} - $k->{created}, $e->[1], "$e->[0] is $e->[1] s");
}
events();

# a key that cannot be shown is revoked at once
SKIP: {
    skip 'no /dev/full', 6 unless -c '/dev/full';
    my %before = map { $_ => 1 }
                 @{ r('ZRANGE', 'gw:consumer:zed:keys', 0, -1) };
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/full' or die;
        open STDERR, '>', "$tmp/err" or die;
        exec @valgrind, $gwctl, qw(key create zed) or die "exec: $!";
    }
    waitpid($pid, 0);
    is($? >> 8, 3, 'key create, stdout full: exit 3');
    like(slurp("$tmp/err"), qr/\Agwctl: key create: cannot write the key: .+\ngwctl: key create: key tg_\S{5} of consumer zed was revoked, as it could not be shown\n\z/,
         'key create, stdout full: says so');
    my @new = grep { !$before{$_} }
              @{ r('ZRANGE', 'gw:consumer:zed:keys', 0, -1) };
    is(scalar @new, 1, 'the key was stored');
    $k = rhash("gw:key:$new[0]");
    is($k->{status}, 'revoked', 'and revoked');
    ok($k->{revoked} >= $t0, 'with its time');
    is_deeply(events(), ["key $new[0]", "key $new[0]"],
              'both changes published');
}

run_ok('key create, missing consumer', [qw(key create nobody)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);
is_deeply(r('KEYS', 'gw:consumer:nobody*'), [], 'nothing written for it');
no_events('key create for a missing consumer');

# the key itself is nowhere in Redis
my $all = '';
for my $rk (@{ r('KEYS', '*') }) {
    my $t = r('TYPE', $rk);
    my $v = $t eq 'hash' ? r('HGETALL', $rk)
          : $t eq 'zset' ? r('ZRANGE', $rk, 0, -1) : [ r('GET', $rk) ];
    $all .= join("\n", $rk, @$v) . "\n";
}
ok(index($all, $k1) < 0 && index($all, $k2) < 0, 'no key is stored');
ok(index($all, substr($k1, 0, 9)) < 0, 'not even 9 of its characters');

$list = run_ok('key list', [qw(key list acme)], 0, qr/^HASH /, undef);
@lines = split /\n/, $list;
is(scalar @lines, 3, 'a header and two keys');
like($lines[0], qr/^HASH\s+PREFIX\s+STATUS\s+CREATED\s+EXPIRES$/, 'header');
my ($row1) = grep { /^\Q${\ substr($h1, 0, 12)}\E / } @lines;
like($row1 // '', qr/^\w{12}  \Q${\ substr($k1, 0, 8)}\E  active\s+\S+Z  never$/,
     'first key row: hash prefix, key prefix, never expires');
my ($row2) = grep { /^\Q${\ substr($h2, 0, 12)}\E / } @lines;
like($row2 // '', qr/active\s+\S+Z  \d{4}-\S+Z$/, 'second key row expires');
ok(index($list, $k1) < 0 && index($list, $k2) < 0, 'no key in the list');
ok(index($list, $h1) < 0, 'nor a whole hash');

$json = run_ok('key list --json', [qw(key list acme --json)], 0,
               qr/^\{"keys":\[/, undef);
$j = decode_json($json);
is($j->{next}, undef, 'key list JSON: no next page');
$j = $j->{keys};
my %byhash = map { $_->{hash} => $_ } @$j;
is_deeply([ sort keys %byhash ], [ sort $h1, $h2 ], 'JSON hashes');
is_deeply([ @{ $byhash{$h1} }{qw(prefix status state expires)} ],
          [ substr($k1, 0, 8), 'active', 'active', 0 ], 'JSON key');
ok($json !~ /tg_[A-Za-z0-9_-]{43}/ && index($json, $k1) < 0,
   'no key in the JSON list');
run_ok('key list, none', [qw(key list b-2.x_)], 0, '', undef);
run_ok('key list --json, none', [qw(key list b-2.x_ --json)], 0,
       qq({"keys":[],"next":null}\n), undef);
run_ok('key list, missing consumer', [qw(key list nobody)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);

# revoking, by each kind of name
my $p1 = substr($k1, 0, 8);
run_ok('key revoke by prefix', ['key', 'revoke', 'acme', $p1], 0,
       "key $p1 (hash ${\ substr($h1, 0, 12)}) of consumer acme revoked\n",
       undef);
$k = rhash("gw:key:$h1");
is($k->{status}, 'revoked', 'status revoked');
ok($k->{revoked} >= $t0 && $k->{revoked} <= time, 'revoked is now');
is_deeply(events(), ["key $h1"], 'revoke publishes "key <hash>"');
run_ok('key revoke, again', ['key', 'revoke', 'acme', $p1], 2, '',
       qr/\Agwctl: key "\Q$p1\E" of consumer acme is already revoked\n\z/);
run_ok('key list shows it', [qw(key list acme)], 0,
       qr/^\Q${\ substr($h1, 0, 12)}\E  \Q$p1\E  revoked /m, undef);
run_ok('key revoke by the key, of another consumer', ['key', 'revoke', 'zed',
       $k2], 2, '', qr/\Agwctl: consumer zed has no key matching "\Q${\ substr($h2, 0, 48)}\E\.\.\."\n\z/);
run_ok('key revoke, no match', [qw(key revoke acme tg_____)], 2, '',
       qr/\Agwctl: consumer acme has no key matching "tg_____"\n\z/);
run_ok('key revoke, missing consumer', [qw(key revoke nobody tg_a)], 2, '',
       qr/\Agwctl: consumer nobody not found\n\z/);
no_events('failed revocations');
run_ok('key revoke by upper-case hash prefix', ['key', 'revoke', 'acme',
       uc substr($h2, 0, 10)], 0, qr/\Akey tg_\S{5} \(hash \Q${\ substr($h2, 0, 12)}\E\) of consumer acme revoked\n\z/,
       undef);
is(rhash("gw:key:$h2")->{status}, 'revoked', 'revoked by hash prefix');
is_deeply(events(), ["key $h2"], 'published');

my $k3 = run_ok('key create', [qw(key create b-2.x_)], 0, qr/^tg_/, undef);
chomp $k3;
my $h3 = sha256_hex($k3);
run_ok('key revoke by the whole key', ['key', 'revoke', 'b-2.x_', $k3], 0,
       qr/\Akey \Q${\ substr($k3, 0, 8)}\E \(hash/, undef);
my $k4 = run_ok('key create', [qw(key create b-2.x_)], 0, qr/^tg_/, undef);
chomp $k4;
my $h4 = sha256_hex($k4);
run_ok('key revoke by the whole hash', ['key', 'revoke', 'b-2.x_', $h4], 0,
       qr/\Akey \Q${\ substr($k4, 0, 8)}\E \(hash/, undef);
is_deeply(events(), ["key $h3", "key $h3", "key $h4", "key $h4"],
          'create and revoke each publish');

# records made by hand: ambiguous names, an expired key, bad data
my $now = time;
my ($ha, $hb) = ('abcdef01' . ('0' x 56), 'abcdef01' . ('1' x 56));
for my $h ($ha, $hb) {
    r('HSET', "gw:key:$h", 'consumer', 'zed', 'status', 'active',
      'expires', 0, 'created', $now, 'prefix', 'tg_ZZZZZ');
    r('ZADD', 'gw:consumer:zed:keys', $now, $h);
}
run_ok('key revoke, ambiguous prefix', [qw(key revoke zed tg_ZZZ)], 2, '',
       qr/\Agwctl: 2 keys of consumer zed match "tg_ZZZ": give more of the hash\n\z/);
run_ok('key revoke, ambiguous hash prefix', [qw(key revoke zed abcdef01)], 2,
       '', qr/\Agwctl: 2 keys of consumer zed match "abcdef01"/);
no_events('ambiguous revocations');
run_ok('key revoke, longer hash prefix', [qw(key revoke zed abcdef010)], 0,
       "key tg_ZZZZZ (hash abcdef010000) of consumer zed revoked\n", undef);
run_ok('key revoke, the one left of two', [qw(key revoke zed tg_ZZZZZ)], 0,
       "key tg_ZZZZZ (hash abcdef011111) of consumer zed revoked\n", undef);
run_ok('key revoke, both revoked', [qw(key revoke zed tg_ZZZZZ)], 2, '',
       qr/already revoked/);
is_deeply(events(), ["key $ha", "key $hb"], 'published');

my $hx = 'e' x 64;
r('HSET', "gw:key:$hx", 'consumer', 'b-2.x_', 'status', 'active',
  'expires', $now - 10, 'created', $now - 100, 'prefix', 'tg_EEEEE');
r('ZADD', 'gw:consumer:b-2.x_:keys', $now - 100, $hx);
run_ok('key list, expired', [qw(key list b-2.x_)], 0,
       qr/^eeeeeeeeeeee  tg_EEEEE  expired /m, undef);
$j = decode_json(run_ok('key list --json, expired', [qw(key list b-2.x_
                        --json)], 0, qr/^\{/, undef))->{keys};
is_deeply([ map { "$_->{status}/$_->{state}" } @$j ],
          [ 'active/expired', 'revoked/revoked', 'revoked/revoked' ],
          'JSON status and state, oldest first');

r('ZADD', 'gw:consumer:b-2.x_:keys', $now, 'not-a-hash', $now, 'f' x 64,
  $now, $ha);
my ($rc, $o, $e) = gwctl(qw(key list b-2.x_));
is($rc, 0, 'key list, bad entries: exit 0');
is(scalar(() = $o =~ /^\w{12}  /mg), 3, 'key list, bad entries: 3 keys');
like($e, qr/^gwctl: consumer b-2\.x_: skipping an invalid hash in its key set$/m,
     'warns of a hash that is not one');
like($e, qr/^gwctl: consumer b-2\.x_: key ffffffffffff has no record$/m,
     'warns of a hash without a record');
like($e, qr/^gwctl: consumer b-2\.x_: key abcdef010000 belongs to another consumer$/m,
     'warns of a key of another consumer');
is(scalar(() = $e =~ /\n/g), 3, 'three warnings');
run_ok('key revoke ignores them', [qw(key revoke b-2.x_ abcdef01)], 2, '',
       qr/no key matching/s);

r('ZADD', 'gw:consumers', 0, 'ghost', 0, 'bad id');
r('HSET', 'gw:consumer:zed', 'name', "Evil\e[2J\x07", 'tags', "a,\x01");
$list = run_ok('consumer list, bad entries', [qw(consumer list)], 0,
               qr/^zed .* Evil\?\[2J\?$/m,
               qr/\Agwctl: skipping an invalid id in gw:consumers\ngwctl: consumer ghost is in gw:consumers but has no record\n\z/);
ok($list !~ /[\x00-\x09\x0b-\x1f\x7f]/, 'no control character printed');
($rc, $o, $e) = gwctl(qw(consumer list --json));
$j = eval { decode_json($o) };
ok($j, 'JSON stays valid') or diag($o);
my ($zed) = grep { $_->{id} eq 'zed' } @{ $j ? $j->{consumers} : [] };
is($zed->{name}, "Evil\e[2J\x07", 'control characters escaped in JSON');
is_deeply($zed->{tags}, ['a', "\x01"], 'tags split as stored');
r('HSET', 'gw:consumer:zed', 'name', "Bad\xff\xfe");
($rc, $o) = gwctl(qw(consumer show zed --json));
$j = eval { JSON::PP->new->utf8->decode($o) };
is($j && $j->{name}, "Bad\x{fffd}\x{fffd}", 'ill-formed UTF-8 as U+FFFD');
run_ok('consumer show, bad UTF-8 as text', [qw(consumer show zed)], 0,
       qr/^name:     Bad\?\?$/m, undef);
r('ZREM', 'gw:consumers', 'ghost', 'bad id');
no_events('reads');

# ---- paging ---------------------------------------------------------------

# pages(@args): every page of a listing, --json, --limit 100, following the
# cursors; returns the entries in order and the size of each page
sub pages {
    my ($what, @args) = @_;
    my (@all, @sizes, $cursor);
    for (1 .. 50) {
        my @c = defined $cursor ? ('--cursor', $cursor) : ();
        my ($rc, $o, $e) = gwctl(@args, qw(--json --limit 100), @c);
        is($rc, 0, "@args page $_: exit 0") or diag($e);
        my $j = decode_json($o);
        push @all, @{ $j->{$what} };
        push @sizes, scalar @{ $j->{$what} };
        $cursor = $j->{next};
        last unless defined $cursor;
    }
    ok(!defined $cursor, "@args: the cursors end");
    return (\@all, \@sizes);
}

{
    my @ids = map { sprintf 'page-%03d', $_ } 1 .. 250;
    rpipe(map { (['HSET', "gw:consumer:$_", 'id', $_, 'name', $_, 'status',
                  'active', 'tags', '', 'plan', '', 'created', $now],
                 ['ZADD', 'gw:consumers', 0, $_]) } @ids);
    my @want = sort @{ r('ZRANGE', 'gw:consumers', 0, -1) };
    is(scalar @want, 253, '250 consumers more');

    my ($got, $sizes) = pages('consumers', qw(consumer list));
    is_deeply($sizes, [100, 100, 53], 'consumer list: pages of 100');
    is_deeply([ map { $_->{id} } @$got ], \@want,
              'consumer list: every consumer once, sorted by id');

    my $o = run_ok('consumer list --limit 2, text', [qw(consumer list
                   --limit 2)], 0, qr/^ID /, undef);
    like($o, qr/\n(acme|b-2\.x_) .*\nnext cursor: b-2\.x_\n\z/,
         'text: two rows, then the next cursor');
    $o = run_ok('consumer list --cursor', [qw(consumer list --limit=2
                --cursor page-248)], 0, qr/^ID /, undef);
    like($o, qr/\npage-249 .*\npage-250 .*\nnext cursor: page-250\n\z/,
         'from after the cursor');
    $o = run_ok('consumer list, last page', [qw(consumer list --cursor
                page-250)], 0, qr/^zed /m, undef);
    ok($o !~ /next cursor/, 'the last page has no next cursor');
    run_ok('consumer list, past the end', [qw(consumer list --cursor zzz
           --json)], 0, qq({"consumers":[],"next":null}\n), undef);

    # a consumer added before the cursor is not shown, one after it is
    my $j = decode_json(run_ok('first page', [qw(consumer list --json
                               --limit 100)], 0, qr/^\{/, undef));
    r('ZADD', 'gw:consumers', 0, 'page-000', 0, 'page-999');
    r('HSET', "gw:consumer:$_", 'id', $_, 'status', 'active', 'created',
      $now) for qw(page-000 page-999);
    my $j2 = decode_json(run_ok('next page', ['consumer', 'list', '--json',
                                '--limit', 1000, '--cursor', $j->{next}],
                                0, qr/^\{/, undef));
    my @seen = map { $_->{id} } @{ $j->{consumers} }, @{ $j2->{consumers} };
    my %n;
    $n{$_}++ for @seen;
    ok(!grep({ $_ > 1 } values %n), 'nobody twice across a change');
    ok($n{'page-999'} && !$n{'page-000'}, 'the new id after the cursor '
       . 'shows, the one before it does not');
    r('ZREM', 'gw:consumers', 'page-000', 'page-999');

    # keys: 1100 of one consumer, some created in the same second
    run_ok('consumer add many', [qw(consumer add many)], 0, undef, undef);
    my @keys = map { sha256_hex("many $_") } 1 .. 1100;
    rpipe(map { my $i = $_;
                (['HSET', "gw:key:$keys[$i]", 'consumer', 'many', 'status',
                  'active', 'expires', 0, 'created', $now - 2000 + int($i / 2),
                  'prefix', sprintf('tg_%05d', $i)],
                 ['ZADD', 'gw:consumer:many:keys', $now - 2000 + int($i / 2),
                  $keys[$i]]) } 0 .. $#keys);
    my @order = @{ r('ZRANGE', 'gw:consumer:many:keys', 0, -1) };
    ($got, $sizes) = pages('keys', qw(key list many));
    is_deeply($sizes, [ (100) x 11 ], 'key list: pages of 100');
    is_deeply([ map { $_->{hash} } @$got ], \@order,
              'key list: every key once, oldest first');
    is_deeply([ map { $_->{created} } @$got ],
              [ sort { $a <=> $b } map { $_->{created} } @$got ],
              'creation times never go back');

    $o = run_ok('key list --limit 1000', [qw(key list many --limit 1000)],
                0, qr/^HASH /, undef);
    is(scalar(() = $o =~ /^[0-9a-f]{12}  /mg), 1000, '1000 rows');
    like($o, qr/\nnext cursor: \Q$order[999]\E\n\z/, 'then the cursor');
    $o = run_ok('key list, second page', ['key', 'list', 'many',
                '--cursor', $order[999]], 0, qr/^HASH /, undef);
    is(scalar(() = $o =~ /^[0-9a-f]{12}  /mg), 100, 'the 100 left');
    ok($o !~ /next cursor/, 'and no cursor');
    run_ok('key list, cursor of another consumer', ['key', 'list', 'many',
           '--cursor', $h1], 2, '',
           qr/\Agwctl: consumer many has no key \Q${\ substr($h1, 0, 12)}\E: not a cursor/);

    # revoke finds a key on the second page of 1000
    my $last = $keys[-1];
    run_ok('key revoke past the first 1000', [qw(key revoke many),
           substr($last, 0, 16)], 0,
           "key tg_01099 (hash ${\ substr($last, 0, 12)}) of consumer many "
           . "revoked\n", undef);
    run_ok('key revoke by a prefix on both pages', [qw(key revoke many
           tg_0)], 2, '', qr/\Agwctl: 1099 keys of consumer many match/);
    events();
}

# ---- address forms, databases and passwords -------------------------------

run_ok('unix socket', ['--redis', "unix:$sock", qw(consumer show acme)], 0,
       qr/^id:       acme$/m, undef);
run_ok('--redis=', ["--redis=$addr", qw(consumer show acme)], 0,
       qr/^id:       acme$/m, undef);
run_ok('[::1] form parses', ['--redis', "[::1]:$dead", qw(consumer list)], 3,
       '', qr/\Agwctl: redis \[::1\]:$dead: cannot connect/);

run_ok('--db 1: another database', [qw(--db 1 consumer add only1)], 0,
       "consumer only1 added\n", undef);
run_ok('--db=1 show', [qw(--db=1 consumer show only1)], 0, qr/^id: /, undef);
run_ok('not in database 0', [qw(consumer show only1)], 2, '',
       qr/not found/);
is_deeply(events(), ['consumer only1'], 'published from database 1 too');

r('CONFIG', 'SET', 'requirepass', 's3cret');
run_ok('no password', [qw(consumer list)], 3, '',
       qr/\Agwctl: redis \Q$addr\E: ZRANGEBYLEX: NOAUTH /);
{
    local $ENV{GWCTL_TEST_PASSWORD} = 'wrong';
    run_ok('wrong password', [qw(--password-env GWCTL_TEST_PASSWORD consumer
           list)], 3, '', qr/\Agwctl: redis \Q$addr\E: AUTH: WRONGPASS /);
    $ENV{GWCTL_TEST_PASSWORD} = 's3cret';
    run_ok('password', [qw(--password-env GWCTL_TEST_PASSWORD consumer show
           acme)], 0, qr/^id:       acme$/m, undef);
    run_ok('password and --db', [qw(--password-env=GWCTL_TEST_PASSWORD --db 1
           consumer show only1)], 0, qr/^id: /, undef);
}
r('CONFIG', 'SET', 'requirepass', '');

# the server goes away
kill 'TERM', $redis_pid;
waitpid($redis_pid, 0);
$redis_pid = 0;
run_ok('server gone', [qw(consumer list)], 3, '',
       qr/\Agwctl: redis \Q$addr\E: cannot connect/);

done_testing();
