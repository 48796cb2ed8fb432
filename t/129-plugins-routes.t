# Route plugins end to end (docs/plugins.md, "Route plugins"): Redis, the
# metadata service and a gateway whose gw_router locations load test
# plugins (written here into a folder of their own, untrusted) and the
# shipped ones of the checkout (trusted).  Plugin configurations are
# entities of the admin API that routes refer to: they run on their
# routes' requests; a changed configuration, "enabled": false and a
# route without the reference take effect without a reload; a route's
# plugin and a location's gw_plugin of the same name run once with the
# route's configuration, of different names both run by priority; a
# route plugin naming no loaded plugin, or whose configuration fails the
# plugin's schema, gets the failure answer and is logged once, other
# routes unaffected; an early plugin of a route answers before the
# route's key_auth.  Attacks: control bytes in a configuration meant for
# a header, a configuration at and past the router's 64 KiB, 32 plugins
# on a route and 33.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;

use Tollgate::Plugins qw(plugins_dir);
use Tollgate::Routing qw(:all);

skip_unless_built();

# ---- the test plugins: each adds its value to the X-Trail request header

my $dir = tempdir('tollgate-plugins-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub plugin {
    my ($name, $priority) = @_;
    open my $lua, '>', "$dir/$name.lua" or die "$dir/$name.lua: $!";
    print $lua <<"_EOL_";
local gw = gw
local P = { priority = $priority }
function P.access(conf, ctx)
    local t = gw.req.header("X-Trail")
    gw.req.set_header("X-Trail", t and (t .. "," .. conf.value) or conf.value)
end
return P
_EOL_
    close $lua;
    open my $js, '>', "$dir/$name.schema.json" or die "$!";
    print $js '{"type": "object", "required": ["value"],'
              . ' "additionalProperties": false,'
              . ' "properties": {"value": {"type": "string"},'
              . ' "pad": {"type": "string"}}}';
    close $js;
}

plugin('stamp', 500);
plugin('trail', 100);
plugin(sprintf('p%02d', $_), 3000 - $_) for 1 .. 33;

my $shipped = plugins_dir();

# DOC_MAX: plugin entities past the router's 64 KiB configuration cap
my ($redis, $md) = start(env => { DOC_MAX => '256k' });

my $gw = gateway(workers => 1, http => <<"_EOC_");
    gw_plugin_path $dir;
    gw_plugin_path $shipped trusted;
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            add_header X-Route \$gw_route_id always;
            proxy_pass http://127.0.0.1:\$PORT/up/;
        }
        location /mix1/ {
            gw_router;
            gw_plugin trail '{"value": "loc-trail"}';
            proxy_pass http://127.0.0.1:\$PORT/up/;
        }
        location /mix2/ {
            gw_router;
            gw_plugin stamp '{"value": "loc-stamp"}';
            proxy_pass http://127.0.0.1:\$PORT/up/;
        }
        location ^~ /up/ {
            return 200 "trail=\$http_x_trail from=\$http_x_from evil=\$http_x_evil inj=\$http_x_injected\\n";
        }
    }
_EOC_

my @workers = $gw->workers;

sub get { ask($gw, @_) }
sub body_of { get(@_)->{body} // '' }

sub failed_ok {
    my ($r, $name, $what) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is($r->{status}, 500, "$what: 500");
    is_deeply([ @{ problem($r) }{qw(type detail)} ],
              [ 'urn:tollgate:problem:plugin-failed',
                "the plugin \"$name\" failed" ],
              "$what: the plugin-failed problem naming \"$name\"");
}

create('upstreams', 'u1', { targets => [ { address => '127.0.0.1:1' } ] });

# ---- a plugin entity referred to by a route runs on its requests ----------

create('plugins', 'st', { name => 'stamp', config => { value => 'one' } });
create('plugins', 'rt', { name => 'request-transformer',
                          config => { add => { headers => {
                              'X-From' => 'edge' } } } });
create('routes', 'plain', { paths => ['/plain'], upstream => 'u1' });
create('routes', 'r1', { paths => ['/r1'], upstream => 'u1',
                         plugins => ['st', 'rt'] });

ok(until_true(sub { body_of('/r1') =~ /^trail=one from=edge / }),
   'a route\'s plugins run: the test plugin and request-transformer');
like(body_of('/plain'), qr/^trail= from= /, 'a route without them: none');

my $r = get('/r1', 'X-Trail' => 'client');
like($r->{body}, qr/^trail=client,one /, 'the plugin sees the request');

# ---- changed through the admin API, no reload -----------------------------

update('plugins', 'st', { name => 'stamp', config => { value => 'two' } });
update('plugins', 'rt', { name => 'request-transformer',
                          config => { add => { headers => {
                              'X-From' => 'api' } } } });
ok(until_true(sub { body_of('/r1') =~ /^trail=two from=api / }),
   'a changed configuration is applied');

update('plugins', 'st', { name => 'stamp', config => { value => 'two' },
                          enabled => JSON::PP::false });
ok(until_true(sub { body_of('/r1') =~ /^trail= from=api / }),
   '"enabled": false: the plugin stops, the other runs');

update('plugins', 'st', { name => 'stamp', config => { value => 'three' },
                          enabled => JSON::PP::true });
ok(until_true(sub { body_of('/r1') =~ /^trail=three from=api / }),
   'enabled again');

update('routes', 'r1', { paths => ['/r1'], upstream => 'u1',
                         plugins => ['rt'] });
ok(until_true(sub { body_of('/r1') =~ /^trail= from=api / }),
   'removed from the route: it stops');

update('routes', 'r1', { paths => ['/r1'], upstream => 'u1' });
ok(until_true(sub { body_of('/r1') =~ /^trail= from= / }),
   'a route without plugins: none runs');

is_deeply([ $gw->workers ], \@workers, 'the same worker: no reload');

# ---- route and location: precedence and order -----------------------------

create('plugins', 'rs', { name => 'stamp', config => { value => 'route-stamp' } });
create('plugins', 'rtr', { name => 'trail',
                           config => { value => 'route-trail' } });
create('routes', 'm1', { paths => ['/mix1/a'], upstream => 'u1',
                         plugins => ['rs'] });
create('routes', 'm1t', { paths => ['/mix1/t'], upstream => 'u1',
                          plugins => ['rtr'] });
create('routes', 'm2', { paths => ['/mix2/a'], upstream => 'u1',
                         plugins => ['rtr'] });
create('routes', 'm2s', { paths => ['/mix2/s'], upstream => 'u1',
                          plugins => ['rs'] });
create('routes', 'm2n', { paths => ['/mix2/n'], upstream => 'u1' });

ok(until_true(sub { body_of('/mix2/n') =~ /^trail=loc-stamp / }),
   'the routes are served');

like(body_of('/mix1/a'), qr/^trail=route-stamp,loc-trail /,
     'a route\'s stamp (500) before the location\'s trail (100)');
like(body_of('/mix2/a'), qr/^trail=loc-stamp,route-trail /,
     'the location\'s stamp (500) before the route\'s trail (100)');
like(body_of('/mix1/t'), qr/^trail=route-trail /,
     'the same name: the route\'s configuration only');
like(body_of('/mix2/s'), qr/^trail=route-stamp /,
     'the same name again: the route\'s configuration wins');

create('plugins', 'rs-off', { name => 'stamp', config => { value => 'off' },
                              enabled => JSON::PP::false });
create('routes', 'm2o', { paths => ['/mix2/o'], upstream => 'u1',
                          plugins => ['rs-off'] });
create('routes', 'twice', { paths => ['/twice'], upstream => 'u1',
                            plugins => ['rs', 'st'] });
ok(until_true(sub { get('/twice')->{status} == 200 }), 'served');
like(body_of('/mix2/o'), qr/^trail=loc-stamp /,
     'the route\'s disabled: the location\'s configuration runs');
like(body_of('/twice'), qr/^trail=route-stamp /,
     'two of one name on a route: the first in the route\'s order, once');

# ---- a name no gw_plugin_path has -----------------------------------------

create('plugins', 'ghost', { name => 'nosuch', config => {} });
create('routes', 'ghost', { paths => ['/ghost'], upstream => 'u1',
                            plugins => ['ghost', 'st'] });
ok(until_true(sub { get('/ghost')->{status} == 500 }),
   'a route naming no loaded plugin');
failed_ok(get('/ghost'), 'nosuch', 'no such plugin') for 1 .. 2;
is(log_count($gw, qr/\[error\].*route plugin "ghost" names no loaded plugin: "nosuch"/),
   1, 'logged once, not per request');

# ---- a configuration that fails the plugin's schema -----------------------

create('plugins', 'bad', { name => 'stamp', config => { value => 7 } });
create('routes', 'bad', { paths => ['/bad'], upstream => 'u1',
                          plugins => ['bad'] });
create('routes', 'good', { paths => ['/good'], upstream => 'u1',
                           plugins => ['rs'] });
ok(until_true(sub { get('/good')->{status} == 200
                    && get('/bad')->{status} == 500 }),
   'a configuration the schema refuses');
failed_ok(get('/bad'), 'stamp', 'a bad configuration') for 1 .. 2;
like(body_of('/good'), qr/^trail=route-stamp /,
     'another route of the same plugin is served');
like(body_of('/plain'), qr/^trail= /, 'and a route without plugins');
is(scalar(grep { /stamp/ } errors($gw)), 1,
   'logged once, not per request')
    or diag(explain([ grep { /stamp/ } errors($gw) ]));
like((grep { /stamp/ } errors($gw))[0] // '',
     qr/plugin "stamp" \(route plugin "bad"\): .*\/value/,
     'naming the plugin, the route plugin and the value');

# ---- early plugins run before the route's key_auth -------------------------

create('plugins', 'maint', { name => 'request-termination',
                             config => { status => 503,
                                         message => 'back soon' } });
create('routes', 'keyed', { paths => ['/keyed'], upstream => 'u1',
                            key_auth => JSON::PP::true });
create('routes', 'maint', { paths => ['/maint'], upstream => 'u1',
                            key_auth => JSON::PP::true,
                            plugins => ['maint', 'st'] });
ok(until_true(sub { get('/maint')->{status} == 503 }),
   'a route with key_auth and request-termination');
$r = get('/keyed');
is($r->{status}, 401, 'key_auth alone: no key, 401');
$r = get('/maint');
is($r->{status}, 503, 'with request-termination: its answer, no key asked');
is(problem($r)->{detail}, 'back soon', 'the termination\'s problem');

# ---- attack: control bytes for a header ------------------------------------

create('plugins', 'evil-rt', { name => 'request-transformer',
                               config => { add => { headers => {
                                   'X-Evil' => "a\r\nX-Injected: 1" } } } });
create('routes', 'evil-rt', { paths => ['/evil-rt'], upstream => 'u1',
                              plugins => ['evil-rt'] });
ok(until_true(sub { get('/evil-rt')->{status} == 500 }),
   'CR LF in request-transformer\'s header value: its schema refuses it');
failed_ok(get('/evil-rt'), 'request-transformer', 'CR LF');
is(log_count($gw, qr/\[error\].*route plugin "evil-rt"/), 1,
   'logged once');

# the test plugin's schema takes any string: gw.req.set_header refuses it
create('plugins', 'evil-st', { name => 'stamp',
                               config => { value => "a\r\nX-Injected: 1" } });
create('routes', 'evil-st', { paths => ['/evil-st'], upstream => 'u1',
                              plugins => ['evil-st'] });
ok(until_true(sub { get('/evil-st')->{status} == 500 }),
   'CR LF reaching gw.req.set_header');
failed_ok(get('/evil-st'), 'stamp', 'set_header refuses');
unlike(get('/evil-st')->{body}, qr/inj=1/, 'nothing injected');

# ---- attack: a configuration at and past the router's cap ------------------

my $json = JSON::PP->new->canonical;
my $base = length $json->encode({ pad => '', value => 'huge' });
my %at = (pad => 'x' x (65536 - $base), value => 'huge');
my %past = (pad => 'x' x (65537 - $base), value => 'huge');
is(length $json->encode(\%at), 65536, 'a configuration of 65536 bytes');

create('plugins', 'at', { name => 'stamp', config => \%at });
create('plugins', 'past', { name => 'stamp', config => \%past });
create('routes', 'at', { paths => ['/at'], upstream => 'u1',
                         plugins => ['at'] });
create('routes', 'past', { paths => ['/past'], upstream => 'u1',
                           plugins => ['past'] });
ok(until_true(sub { body_of('/at') =~ /^trail=huge / }),
   'at the cap: the plugin runs');
ok(until_true(sub { get('/past')->{status} == 500 }), 'past the cap');
$r = get('/past');
is(problem($r)->{type}, 'urn:tollgate:problem:route-policy-invalid',
   'past the cap: the route\'s policy is refused');
my @refused = grep { /route "past"/ } errors($gw);
is(scalar @refused, 1, 'logged once');
like($refused[0] // '', qr/"config" is over 65536 bytes/, 'saying why');
like(body_of('/good'), qr/^trail=route-stamp /, 'other routes unaffected');

# ---- attack: 32 plugins on a route, 33 -------------------------------------

for my $i (1 .. 33) {
    my $n = sprintf '%02d', $i;
    create('plugins', "pe$n", { name => "p$n", config => { value => $n } });
}
my @refs = map { sprintf 'pe%02d', $_ } 1 .. 33;
create('routes', 'many', { paths => ['/many'], upstream => 'u1',
                           plugins => [ @refs[0 .. 31] ] });
my ($st, undef, $j) = put('routes', 'more', { paths => ['/more'],
                                              upstream => 'u1',
                                              plugins => \@refs }, 1);
is($st, 422, '33 plugins on a route: 422');
is($j->{errors}[0]{pointer}, '/plugins', 'at /plugins')
    or diag(explain($j));
my $all = join ',', map { sprintf '%02d', $_ } 1 .. 32;
ok(until_true(sub { body_of('/many') =~ /^trail=\Q$all\E / }),
   '32 plugins: all run, in priority order');

# ---- the log ---------------------------------------------------------------

my @other = grep {
    !/route plugin "(?:ghost|bad|evil-rt)"/
    && !/plugin "stamp" failed in access: .*set_header/
    && !/route "past"/
} errors($gw);
is_deeply(\@other, [], 'no other error logged');

done_testing();
