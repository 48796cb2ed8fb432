# The service kit's JSON log under hostile input (docs/development.md,
# "Log escaping"): a request whose decoded path holds CR, LF, ESC, DEL, a
# byte that is not UTF-8 and a well-formed "é", with a hostile X-Request-ID
# and traceparent, still gives exactly one parseable JSON object per line,
# with nothing but printable ASCII in it: control bytes and DEL as \u00XX,
# the byte that is not UTF-8 as the text \xNN, the "é" kept (as \u00e9).
# The same under valgrind when it is installed.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Socket::INET ();
use JSON::PP qw(decode_json);
use Test::More;

use Kit;
use Tollgate::Redis;

plan skip_all => Kit::binary() . ' is not built (run make backends)'
    unless -x Kit::binary();

my $redis = Tollgate::Redis->start;

my $FORGED = '{"level":"error","message":"FORGED"}';
(my $forged_enc = $FORGED) =~ s/([^A-Za-z0-9])/sprintf '%%%02X', ord $1/ge;

# the path as sent (percent-encoded) and as the service decodes it
my $sent = "/v1/x%0d%0a${forged_enc}%0a%1b[31m%7f%ff%c3%a9";
my $decoded = "/v1/x\r\n$FORGED\n\e[31m\x7f\\xff\x{e9}";

# one raw HTTP/1.1 request, so that no client library cleans it up
sub raw_get {
    my ($svc, $path, @headers) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $svc->{port}, Proto => 'tcp',
                                  Timeout => 10)
        or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
             . join('', map { "$_\r\n" } @headers)
             . "Connection: close\r\n\r\n";
    local $/;
    my $answer = <$s> // '';
    close $s;
    return $answer;
}

sub check {
    my ($svc, $name) = @_;

    my $answer = raw_get($svc, $sent, "X-Request-ID: id\e[31m\x7f\xff-$name",
                         "traceparent: 00-\e[2J");
    like($answer, qr{^HTTP/1\.1 \d{3} }, "$name: answered");

    my ($access);
    ok(Kit::eventually(sub {
           ($access) = grep { ($_->{fields}{path} // '') =~ m{^/v1/x} }
                       Kit::log_lines($svc);
           $access;
       }), "$name: the request was logged");

    my @raw = Kit::raw_lines($svc);
    is(scalar(grep { !eval { ref decode_json($_) eq 'HASH' } } @raw), 0,
       "$name: every line is one JSON object");
    is(scalar(grep { /[^\x20-\x7e]/ } @raw), 0,
       "$name: every line is printable ASCII only");
    ok(!grep({ /^\{"level":"error","message":"FORGED"/ } @raw),
       "$name: the forged line never starts a line");
    is(scalar(grep { /FORGED/ } @raw), 1,
       "$name: the event is one line");

    is($access->{fields}{path}, $decoded,
       "$name: the path, control bytes kept as characters, \\xff as text");
    like($access->{request_id}, qr/^[0-9a-f]{32}$/,
         "$name: the hostile X-Request-ID was replaced");
    like($access->{trace_id}, qr/^[0-9a-f]{32}$/,
         "$name: the hostile traceparent started a new trace");
}

my $svc = Kit::start(env => { REDIS => $redis->address });
check($svc, 'plain');
is(Kit::stop($svc), 0, 'plain: exit 0');

SKIP: {
    skip 'valgrind is not installed', 10 unless Kit::have_valgrind();
    my $vg = Kit::start(valgrind => 1, env => { REDIS => $redis->address });
    check($vg, 'valgrind');
    is(Kit::stop($vg, 60), 0, 'valgrind: exit 0, no error, no leak')
        or diag(Kit::slurp($vg->{log}));
}

done_testing();
