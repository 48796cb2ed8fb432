# vi:ft=perl
#
# Remote key sets when the key server fails: down after a good fetch (the
# last good keys stay in use, one warning per incident, a notice when it
# is back, keys dropped after gw_jwt_jwks_max_stale), never reached (503
# with Retry-After, never 401 or 500), garbage or oversized documents
# (refused, the old keys kept, nothing unescaped in the log), and a flood
# of tokens with made-up kids (at most one fetch per cooldown).

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::JWKS;
use Tollgate::JWT qw(:all);

my %claims = (exp => now() + 3600, sub => 'alice');
my $rs1 = jwt(alg => 'RS256', kid => 'rsa-1', payload => { %claims });
my $set_a = Tollgate::JWKS::jwks_text([key_file('rsa.pem'), 'rsa-1']);

sub gateway {
    my ($url, %opt) = @_;
    my $more = $opt{http} // '';
    return Tollgate::Gateway->start(workers => $opt{workers} // 1,
                                    http => <<"_EOC_");
    gw_jwt_jwks_timeout 2s;
    $more
    server {
        listen 127.0.0.1:\$PORT;
        location = /api {
            gw_jwt api;
            gw_jwt_jwks_url $url;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
        location = /up { return 200 "ok\\n"; }
    }
_EOC_
}

sub bearer { ('Authorization' => "Bearer $_[0]") }

# a token whose kid nobody has (its signature is never looked at)
sub bogus {
    my $kid = join '', map { ('a' .. 'z')[rand 26] } 1 .. 12;
    my $h = b64url(qq({"alg":"RS256","kid":"$kid","typ":"JWT"}));
    my $p = b64url(qq({"sub":"x","exp":) . (now() + 3600) . '}');
    return "$h.$p." . b64url('x' x 256);
}

sub log_count {
    my ($gw, $re) = @_;
    return scalar grep { /$re/ } $gw->error_log;
}

sub no_errors {
    my ($gw, $name) = @_;
    my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;
    is(scalar @bad, 0, "$name: nothing at [error] or above")
        or diag(@bad);
}

# --- down after a good fetch: stale keys, one warning, a notice ------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=1');
    $idp->put('jwks.json', $set_a);
    my $gw = gateway($idp->url('/jwks.json'),
                     http => 'gw_jwt_jwks_refresh_min 1s;');

    is($gw->get('/api', bearer($rs1))->{status}, 200, 'down: keys fetched');

    $idp->down;

    # scheduled refreshes fail (every second or so), and so does the one
    # a bogus kid forces

    is($gw->get('/api', bearer(bogus()))->{status}, 401,
       'down: an unknown kid is still 401 while keys exist');
    ok(Tollgate::JWKS::wait_for(sub {
           log_count($gw, qr/still cannot be fetched/) >= 2 }, 15),
       'down: several failed fetches');

    is($gw->get('/api', bearer($rs1))->{status}, 200,
       'down: the last good keys stay in use');
    is(log_count($gw, qr/\[warn\].*cannot be fetched.*last good keys/), 1,
       'down: one warning for the incident');

    $idp->up;

    ok(Tollgate::JWKS::wait_for(sub {
           log_count($gw, qr/\[notice\].*fetched again after/) }, 15),
       'down: a notice when the server is back');
    is($gw->get('/api', bearer($rs1))->{status}, 200, 'down: and verified');
    no_errors($gw, 'down');
}

# --- beyond gw_jwt_jwks_max_stale ---------------------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=1');
    $idp->put('jwks.json', $set_a);
    my $gw = gateway($idp->url('/jwks.json'),
                     http => "gw_jwt_jwks_refresh_min 1s;\n"
                             . "gw_jwt_jwks_max_stale 1s;");

    is($gw->get('/api', bearer($rs1))->{status}, 200, 'stale: keys fetched');
    $idp->down;

    my $res = Tollgate::JWKS::wait_for(sub {
        my $r = $gw->get('/api', bearer($rs1));
        $r->{status} == 503 ? $r : undef;
    }, 15);
    ok($res, 'stale: keys older than max_stale are no longer used: 503');
    like(join('', $gw->error_log), qr/older than gw_jwt_jwks_max_stale/,
         'stale: and the log says so');
    no_errors($gw, 'stale');
}

# --- never fetched: 503 problem+json with Retry-After ----------------------

{
    my $port = Tollgate::Gateway::free_port();      # nobody listens there
    my $gw = gateway("http://127.0.0.1:$port/jwks.json");

    my $res = $gw->get('/api', bearer($rs1));
    is($res->{status}, 503, 'never: 503, not 401');
    like($res->{headers}{'retry-after'} // '', qr/^[1-9][0-9]*$/,
         'never: with Retry-After');
    like($res->{headers}{'content-type'} // '',
         qr{^application/problem\+json}, 'never: a problem+json body');
    my $body = eval { JSON::PP->new->decode($res->{body}) } // {};
    is($body->{status}, 503, 'never: status in the body');
    is($body->{type}, 'urn:tollgate:problem:keys-unavailable',
       'never: its type');

    $res = $gw->get('/api', bearer(bogus()));
    is($res->{status}, 503, 'never: a token without a known kid too');
    $res = $gw->get('/api');
    is($res->{status}, 401, 'never: no token at all is still 401');

    is(log_count($gw, qr/\[warn\].*cannot be fetched.*503/), 1,
       'never: one warning');
    no_errors($gw, 'never');
}

# --- garbage and oversized documents ------------------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=3600');
    $idp->put('jwks.json', $set_a);
    my $gw = gateway($idp->url('/jwks.json'),
                     http => "gw_jwt_jwks_max_size 4k;\n"
                             . "gw_jwt_jwks_cooldown 1s;");

    is($gw->get('/api', bearer($rs1))->{status}, 200, 'garbage: keys fetched');

    $idp->put('jwks.json', "{\"keys\": [\x1b[2J\x00\x07 {\"kty\": \"\x1b]0;x\x07\"}]");
    is($gw->get('/api', bearer(bogus()))->{status}, 401,
       'garbage: the unknown kid made a fetch, and is refused');
    is($gw->get('/api', bearer($rs1))->{status}, 200,
       'garbage: the old keys are kept');
    like(join('', $gw->error_log), qr/\[warn\].*invalid JWKS/,
         'garbage: a warning says why');
    unlike(join('', $gw->error_log), qr/[\x00-\x08\x0b-\x1f\x7f]/,
           'garbage: no control byte of the document in the log');

    sleep 1.1;                      # the cooldown
    my $big = JSON::PP->new->decode($set_a);
    $big->{pad} = 'x' x 8192;
    $idp->put('jwks.json', JSON::PP->new->encode($big));
    is($gw->get('/api', bearer(bogus()))->{status}, 401,
       'oversized: refused');
    is($gw->get('/api', bearer($rs1))->{status}, 200,
       'oversized: the old keys are kept');
    # (after a failure the schedule retries too, within a second)
    ok(scalar @{ $idp->fetches('/jwks.json') } >= 3,
       'oversized: it was fetched');
    like(join('', $gw->error_log), qr/still cannot be fetched: response too large/,
         'oversized: the log says why');
    no_errors($gw, 'garbage');
}

# --- a flood of made-up kids: at most one fetch per cooldown --------------------

# n requests, each on its own connection, 50 connections at a time (a 401
# closes the connection); the statuses
sub flood {
    my ($port, $n) = @_;
    my %st;
    my $sel = IO::Select->new;
    my %buf;
    my $sent = 0;
    while ($sent < $n || $sel->count) {
        while ($sent < $n && $sel->count < 50) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port, Proto => 'tcp')
                or die "connect: $!";
            print $s "GET /api HTTP/1.1\r\nHost: localhost\r\n"
                     . 'Authorization: Bearer ' . bogus() . "\r\n"
                     . "Connection: close\r\n\r\n";
            $sel->add($s);
            $buf{$s} = '';
            $sent++;
        }
        my @ready = $sel->can_read(30) or last;
        for my $s (@ready) {
            my $r = sysread($s, my $b, 65536);
            if ($r) {
                $buf{$s} .= $b;
                next;
            }
            $st{$1}++ if $buf{$s} =~ m{^HTTP/1\.1 (\d{3}) };
            delete $buf{$s};
            $sel->remove($s);
            close $s;
        }
    }
    return \%st;
}

for my $workers (1, 2) {
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=3600');
    $idp->put('jwks.json', $set_a);
    my $gw = gateway($idp->url('/jwks.json'), workers => $workers);

    is($gw->get('/api', bearer($rs1))->{status}, 200,
       "flood ($workers): keys fetched");

    my $t0 = time;
    my %all;
    my $st = flood($gw->port, 10000);
    $all{$_} += $st->{$_} for keys %$st;
    my $elapsed = time - $t0;

    is_deeply(\%all, { 401 => 10000 },
              "flood ($workers): 10,000 made-up kids, 10,000 401s");
    my $fetches = scalar @{ $idp->fetches('/jwks.json') };
    my $allowed = 1 + 1 + int($elapsed / 30);
    ok($fetches >= 2 && $fetches <= $allowed,
       "flood ($workers): $fetches fetches in ${\ int $elapsed} s "
       . "(at most one per 30 s cooldown, beside the first)");
    no_errors($gw, "flood ($workers)");
}

done_testing();
