# vi:ft=perl
#
# JWT keys from a JWKS URL or an issuer's discovery document
# (gw_jwt_jwks_url, gw_jwt_discovery).  The key server is a second nginx
# (Tollgate::JWKS) whose access log tells how many fetches the gateway
# made and with which If-None-Match; its files are rewritten by the test
# to rotate keys.  Plain Test::More, since a block cannot change a file
# between two requests of the same nginx nor count requests elsewhere.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep);
use Tollgate::Gateway;
use Tollgate::JWKS;
use Tollgate::JWT qw(:all);

my %claims = (exp => now() + 3600, sub => 'alice');

my $rs1 = jwt(alg => 'RS256', kid => 'rsa-1', payload => { %claims });
my $rs2 = jwt(alg => 'RS256', kid => 'rsa-2', key => data_file('rsa2.key'),
              payload => { %claims, sub => 'bob' });
my $es1 = jwt(alg => 'ES256', kid => 'ec-1', key => key_file('ec256.key'),
              payload => { %claims, sub => 'carol' });

my $set_a = Tollgate::JWKS::jwks_text([key_file('rsa.pem'), 'rsa-1'],
                                      [key_file('ec256.pem'), 'ec-1']);
my $set_ab = Tollgate::JWKS::jwks_text([key_file('rsa.pem'), 'rsa-1'],
                                       [data_file('rsa2.pem'), 'rsa-2']);

sub gateway {
    my ($keys, %opt) = @_;
    my $more = $opt{http} // '';
    return Tollgate::Gateway->start(workers => $opt{workers} // 1, http => <<"_EOC_");
    gw_jwt_jwks_timeout 3s;
    $more
    server {
        listen 127.0.0.1:\$PORT;
        location = /api {
            gw_jwt api;
            $keys
            proxy_set_header X-Sub \$gw_jwt_sub;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
        location = /up { return 200 "sub=\$http_x_sub\\n"; }
    }
_EOC_
}

sub bearer { ('Authorization' => "Bearer $_[0]") }

sub no_errors {
    my ($gw, $name) = @_;
    my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;
    is(scalar @bad, 0, "$name: nothing at [error] or above")
        or diag(@bad);
}

# --- over HTTP, then ETag revalidation --------------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=1');
    $idp->put('jwks.json', $set_a);

    my $gw = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';',
                     http => 'gw_jwt_jwks_refresh_min 1s;');

    my $res = $gw->get('/api', bearer($rs1));
    is($res->{status}, 200, 'http: RS256 token verified with a fetched key');
    is($res->{body}, "sub=alice\n", 'http: claims of the token');

    $res = $gw->get('/api', bearer($es1));
    is($res->{status}, 200, 'http: ES256 token too');

    # max-age=1 (and refresh_min 1s): a refresh within about a second,
    # sent with the ETag, answered 304

    my $f = Tollgate::JWKS::wait_for(sub {
        my $all = $idp->fetches('/jwks.json');
        (grep { $_->[0] == 304 } @$all) ? $all : undef;
    }, 10);
    ok($f, 'http: a refresh came with If-None-Match and got 304');
    is($f->[0][0], 200, 'http: the first fetch got the document');
    is($f->[0][1], '-', 'http: the first fetch had no If-None-Match');
    # (the access log writes a quote as \x22)
    like($f->[1][1], qr/^\\x22[0-9a-f]+-[0-9a-f]+\\x22$/,
         'http: the refresh sent the ETag it got');

    $res = $gw->get('/api', bearer($rs1));
    is($res->{status}, 200, 'http: keys kept after a 304');

    no_errors($gw, 'http');
}

# --- Cache-Control bounds -------------------------------------------------

{
    # max-age=0 is raised to gw_jwt_jwks_refresh_min (30s here): no
    # second fetch while the test looks

    my $idp = Tollgate::JWKS->idp(cache => 'no-cache, max-age=0');
    $idp->put('jwks.json', $set_a);

    my $gw = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';',
                     http => 'gw_jwt_jwks_refresh_min 30s;');

    for (1 .. 5) {
        is($gw->get('/api', bearer($rs1))->{status}, 200,
           "bounds: request $_ verified");
        sleep 0.4;
    }

    is(scalar @{ $idp->fetches('/jwks.json') }, 1,
       'bounds: max-age=0 is bounded by gw_jwt_jwks_refresh_min');
}

# --- an unknown kid: one fetch, then success -----------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=3600');
    $idp->put('jwks.json', $set_a);

    my $gw = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';');

    is($gw->get('/api', bearer($rs1))->{status}, 200, 'rotation: rsa-1');
    is($gw->get('/api', bearer($rs2))->{status}, 401,
       'rotation: rsa-2 before the server has it: 401');

    $idp->put('jwks.json', $set_ab);

    # the cooldown (30 s) has not passed since the fetch rsa-2 caused, so
    # a gateway that is up to date comes with a fresh one

    my $gw2 = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';');
    is($gw2->get('/api', bearer($rs1))->{status}, 200,
       'rotation: another gateway, rsa-1');
    my $before = scalar @{ $idp->fetches('/jwks.json') };

    $idp->put('jwks.json',
              Tollgate::JWKS::jwks_text([data_file('rsa2.pem'), 'rsa-2'],
                                        [key_file('rsa.pem'), 'rsa-1'],
                                        [key_file('ec256.pem'), 'ec-1']));
    my $res = $gw2->get('/api', bearer($es1));
    is($res->{status}, 200,
       'rotation: a kid the gateway lacks makes it fetch and wait');
    is($res->{body}, "sub=carol\n", 'rotation: verified with the new key');
    is(scalar @{ $idp->fetches('/jwks.json') }, $before + 1,
       'rotation: exactly one fetch for it');

    no_errors($gw2, 'rotation');
}

# --- HTTPS: the right CA, a wrong CA ------------------------------------------

{
    my $idp = Tollgate::JWKS->idp(tls => 1, cache => 'max-age=3600');
    $idp->put('jwks.json', $set_a);

    my $ca = $idp->ca_file;
    my $gw = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';',
                     http => "gw_jwt_jwks_trusted_certificate $ca;");

    my $res = $gw->get('/api', bearer($rs1));
    is($res->{status}, 200, 'https: verified with a key fetched over TLS');
    no_errors($gw, 'https');

    my $other = $idp->other_ca;
    my $bad = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';',
                      http => "gw_jwt_jwks_trusted_certificate $other;");

    $res = $bad->get('/api', bearer($rs1));
    is($res->{status}, 503, 'https: a certificate of another CA is refused');
    like(join('', $bad->error_log), qr/\[warn\].*certificate verify failed/,
         'https: the warning says why');
    no_errors($bad, 'https, wrong CA');

    my ($ok, $out) = nginx_t('gw_jwt_jwks_url ' . $idp->url('/jwks.json')
                             . ';');
    ok(!$ok, 'https: no CA file configured fails "nginx -t"');
    like($out, qr/needs "gw_jwt_jwks_trusted_certificate"/,
         'https: and says why');
}

# --- discovery --------------------------------------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=3600');
    my $iss = $idp->url('/tenant');
    $idp->put('jwks.json', $set_a);
    mkdir $idp->dir . '/docs/tenant';
    mkdir $idp->dir . '/docs/tenant/.well-known';
    $idp->put('tenant/.well-known/openid-configuration',
              JSON::PP->new->encode({ issuer => $iss,
                                      jwks_uri => $idp->url('/jwks.json') }));

    my $gw = gateway("gw_jwt_discovery $iss;");
    my $res = $gw->get('/api', bearer($rs1));
    is($res->{status}, 200, 'discovery: keys through jwks_uri');
    no_errors($gw, 'discovery');

    # the document's issuer differs (by control bytes): refused

    $idp->put('tenant/.well-known/openid-configuration',
              JSON::PP->new->encode({ issuer => "$iss\x{1b}[31m",
                                      jwks_uri => $idp->url('/jwks.json') }));
    my $gw3 = gateway("gw_jwt_discovery $iss;");
    $res = $gw3->get('/api', bearer($rs1));
    is($res->{status}, 503, 'discovery: another issuer is refused');
    like(join('', $gw3->error_log),
         qr/\[warn\].*"issuer" is not the configured issuer/,
         'discovery: the warning says why');
    unlike(join('', $gw3->error_log), qr/\x1b/,
           'discovery: no control byte of the document in the log');

    # jwks_uri on another origin, not allowed

    $idp->put('tenant/.well-known/openid-configuration',
              JSON::PP->new->encode({
                  issuer => $iss,
                  jwks_uri => 'http://127.0.0.2:' . $idp->port
                              . '/jwks.json' }));
    my $before = scalar @{ $idp->fetches('/jwks.json') };
    my $gw4 = gateway("gw_jwt_discovery $iss;");
    $res = $gw4->get('/api', bearer($rs1));
    is($res->{status}, 503, 'discovery: a jwks_uri elsewhere is refused');
    like(join('', $gw4->error_log), qr/neither the issuer's nor allowed/,
         'discovery: the warning says why');
    is(scalar @{ $idp->fetches('/jwks.json') }, $before,
       'discovery: and never fetched');

    # ... unless gw_jwt_jwks_allow names it (same server, other name)

    $idp->put('tenant/.well-known/openid-configuration',
              JSON::PP->new->encode({
                  issuer => $iss,
                  jwks_uri => 'http://127.0.0.1:' . $idp->port
                              . '/jwks.json' }));
    my $gw5 = gateway("gw_jwt_discovery $iss;",
                      http => 'gw_jwt_jwks_allow http://127.0.0.1:'
                              . $idp->port . ';');
    is($gw5->get('/api', bearer($rs1))->{status}, 200,
       'discovery: an allowed jwks_uri origin is used');
    no_errors($gw5, 'discovery, allowed');
}

# --- several workers, one fetch ------------------------------------------------

{
    my $idp = Tollgate::JWKS->idp(cache => 'max-age=3600');
    $idp->put('jwks.json', $set_a);

    my $gw = gateway('gw_jwt_jwks_url ' . $idp->url('/jwks.json') . ';',
                     workers => 2);
    my %seen;
    for (1 .. 40) {
        my $res = $gw->get('/api', bearer($rs1));
        $seen{$res->{status}}++;
    }
    is_deeply(\%seen, { 200 => 40 }, 'workers: every request verified');
    is(scalar @{ $idp->fetches('/jwks.json') }, 1,
       'workers: two workers, one fetch');
    no_errors($gw, 'workers');
}

done_testing();
