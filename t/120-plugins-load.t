# vi:ft=perl
#
# Lua plugins: loading, checked by "nginx -t" (docs/plugins.md, "Plugin
# files" and "Directives").  A gw_plugin configuration that fails its
# schema names the schema file, the JSON pointer of the bad value and the
# line of the directive; a plugin without its schema, a chunk that does
# not compile, raises, returns no table or a table with members of the
# wrong types, a schema that does not compile: each fails naming the
# file; a broken plugin nobody enables is logged and skipped; bad
# directive values.  Plain Test::More, as t/102-validate-config.t.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use File::Temp qw(tempdir);
use Test::More;
use Tollgate::JWT qw(nginx_t);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $dir = tempdir(CLEANUP => 1);

my $schema = '{"type": "object", "properties": {"origins": {"type": '
             . '"array", "items": {"type": "string"}}, "n": {"type": '
             . '"integer", "minimum": 1}}, "additionalProperties": false}';

my %files = (
    'good.lua' => "local P = { priority = 10 }\n"
                  . "function P.access(conf, ctx) end\nreturn P\n",
    'good.schema.json' => $schema,
    'noschema.lua' => "return {}\n",
    'syntax.lua' => "local P = {\nreturn P\n",
    'syntax.schema.json' => '{}',
    'raises.lua' => "error('at load')\n",
    'raises.schema.json' => '{}',
    'notable.lua' => "return 42\n",
    'notable.schema.json' => '{}',
    'badprio.lua' => "return { priority = 1.5 }\n",
    'badprio.schema.json' => '{}',
    'badearly.lua' => "return { early = 'yes' }\n",
    'badearly.schema.json' => '{}',
    'badmethods.lua' => "return { access_methods = { 'GET', 'BREW' } }\n",
    'badmethods.schema.json' => '{}',
    'nomethods.lua' => "return { access_methods = {} }\n",
    'nomethods.schema.json' => '{}',
    'badfn.lua' => "return { access = 'not a function' }\n",
    'badfn.schema.json' => '{}',
    'badschema.lua' => "return {}\n",
    'badschema.schema.json' => '{"properties": {"a": {"type": 5}}}',
    'notjson.lua' => "return {}\n",
    'notjson.schema.json' => '{"type": ',
    'osexec.lua' => "os.execute('true')\nreturn {}\n",
    'osexec.schema.json' => '{}',
    'Upper.lua' => "error('never loaded: not a plugin name')\n",
    'Upper.schema.json' => '{}',
);

for my $f (keys %files) {
    open my $fh, '>', "$dir/$f" or die "$dir/$f: $!";
    print $fh $files{$f};
    close $fh;
}

sub loc {
    my ($d, $http) = @_;
    return "gw_plugin_path $dir;\n" . ($http // '')
           . "server {\nlocation / {\n$d\nproxy_pass http://127.0.0.1:1;\n"
           . "}\n}";
}

my @bad = (
    ['a configuration past the schema: the pointer and the line',
     loc(q!gw_plugin good '{"origins": ["a", 5]}';!),
     qr/gw_plugin "good": \S*good\.schema\.json: \/origins\/1: .* in \S*nginx\.conf:\d+/],
    ['a member the schema does not allow',
     loc(q!gw_plugin good '{"nope": 1}';!),
     qr/gw_plugin "good": \S*good\.schema\.json: \S*: .* in \S*nginx\.conf:\d+/],
    ['a value under the minimum',
     loc(q!gw_plugin good '{"n": 0}';!),
     qr/good\.schema\.json: \/n: /],
    ['a configuration that is not JSON', loc(q!gw_plugin good '{"n": ';!),
     qr/plugin "good": its configuration is not JSON/],
    ['a configuration that is not an object', loc(q!gw_plugin good '[1]';!),
     qr/plugin "good": its configuration is not a JSON object/],
    ['an unknown plugin', loc('gw_plugin nothere;'),
     qr/gw_plugin "nothere": no nothere\.lua with its nothere\.schema\.json .* in \S*nginx\.conf:\d+/],
    ['a plugin without its schema', loc('gw_plugin noschema;'),
     qr/plugin "noschema": no \S*noschema\.schema\.json beside \S*noschema\.lua/],
    ['a chunk that does not compile', loc('gw_plugin syntax;'),
     qr/plugin "syntax": \S*syntax\.lua: error: .*syntax/],
    ['a chunk that raises', loc('gw_plugin raises;'),
     qr/plugin "raises": \S*raises\.lua: error: .*at load/],
    ['a chunk that returns no table', loc('gw_plugin notable;'),
     qr/plugin "notable": \S*notable\.lua: error: the chunk returns a number, not a table/],
    ['a priority that is not an integer', loc('gw_plugin badprio;'),
     qr/plugin "badprio": \S*badprio\.lua: error: priority is not an integer/],
    ['early that is not a boolean', loc('gw_plugin badearly;'),
     qr/plugin "badearly": \S*\.lua: error: early is not a boolean/],
    ['access_methods with a method nginx does not know',
     loc('gw_plugin badmethods;'),
     qr/plugin "badmethods": \S*\.lua: error: access_methods\[2\] is not a method name/],
    ['access_methods empty', loc('gw_plugin nomethods;'),
     qr/plugin "nomethods": \S*\.lua: error: access_methods is not an array/],
    ['access that is not a function', loc('gw_plugin badfn;'),
     qr/plugin "badfn": \S*\.lua: error: access is a string, not a function/],
    ['a schema that does not compile', loc('gw_plugin badschema;'),
     qr/plugin "badschema": \S*badschema\.schema\.json: \/properties\/a\/type: /],
    ['a schema that is not JSON', loc('gw_plugin notjson;'),
     qr/plugin "notjson": \S*notjson\.schema\.json: not JSON: /],
    ['os.execute at load (the sandbox has no os.execute)',
     loc('gw_plugin osexec;'),
     qr/plugin "osexec": \S*osexec\.lua: error: /],
    ['a bad plugin name', loc('gw_plugin Good;'),
     qr/invalid plugin name "Good"/],
    ['a plugin enabled twice in a block',
     loc("gw_plugin good;\ngw_plugin good;"),
     qr/plugin "good" is enabled twice here/],
    ['gw_plugin without gw_plugin_path',
     "server { location / { gw_plugin good; proxy_pass http://127.0.0.1:1; } }",
     qr/gw_plugin "good": no gw_plugin_path is set in \S*nginx\.conf:\d+/],
    ['a gw_plugin_path that does not exist',
     "gw_plugin_path $dir/nowhere;",
     qr/gw_plugin_path "\S*nowhere": opendir\(\) failed/],
    ['gw_plugin_path with a bad parameter', "gw_plugin_path $dir fast;",
     qr/invalid parameter "fast"/],
    ['gw_plugin_failure 200', loc('gw_plugin_failure 200;'),
     qr/invalid status "200" \(400 to 599\)/],
    ['gw_plugin_reload 1ms', loc('', 'gw_plugin_reload 1ms;'),
     qr/invalid interval "1ms"/],
    ['gw_plugin_budget nonsense', loc('', 'gw_plugin_budget fast=1;'),
     qr/invalid parameter "fast=1"/],
    ['gw_plugin_budget instructions=5', loc('', 'gw_plugin_budget '
                                            . 'instructions=5;'),
     qr/invalid instructions "5"/],
    ['gw_plugin_memory 64k', loc('', 'gw_plugin_memory 64k;'),
     qr/gw_plugin_memory must be at least 1m/],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name");
    like($out, qr/\[emerg\].*$re/, "  and says why: $name") or diag $out;
}

my @good = (
    ['a good plugin, broken ones nobody enables skipped',
     loc(q!gw_plugin good '{"origins": ["https://a.example"], "n": 2}';!),
     [qr/\[error\].*plugin "syntax" skipped: /,
      qr/\[error\].*plugin "badschema" skipped: /]],
    ['every directive; gw_plugin_path after the servers',
     <<"EOC", []],
        server {
            gw_plugin good;
            gw_plugin_failure 503;
            location / {
                gw_plugin good '{"n": 5}';
                proxy_pass http://127.0.0.1:1;
            }
        }
        gw_plugin_path $dir trusted;
        gw_plugin_reload off;
        gw_plugin_memory 16m;
        gw_plugin_budget instructions=100000 time=200ms;
        gw_plugin_body_max 64k;
EOC
    ['gw_plugin at http level, inherited', "gw_plugin good;\n" . loc(''),
     []],
);

for my $case (@good) {
    my ($name, $http, $logs) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok($ok, "nginx -t passes: $name") or diag $out;
    like($out, $_, "  and logs $_") for @$logs;
    unlike($out, qr/Upper/, '  a file whose name is no plugin name is '
                            . 'not read');
}

# Shared modules (docs/plugins.md, "Shared modules"): lib/<name>.lua of a
# trusted directory is a module every plugin may require; of an untrusted
# one it is not; a module that does not compile fails naming its file.

sub spew_all {
    my ($base, %f) = @_;
    for my $f (keys %f) {
        my $path = "$base/$f";
        (my $d = $path) =~ s{/[^/]+$}{};
        mkdir $d unless -d $d;
        open my $fh, '>', $path or die "$path: $!";
        print $fh $f{$f};
        close $fh;
    }
}

my $tdir = tempdir(CLEANUP => 1);     # trusted
my $udir = tempdir(CLEANUP => 1);     # untrusted
my $bdir = tempdir(CLEANUP => 1);     # trusted, a broken module

spew_all($tdir,
    'lib/shared.lua' => "loads = (loads or 0) + 1\n"
                        . "return { answer = function () return 42 end }\n",
    'lib/raising.lua' => "error('module raised at require')\n",
    'lib/Skipped.lua' => "error('never read: not a module name')\n",
    'uses.lua' => "local s = require('shared')\n"
                  . "assert(s.answer() == 42, 'the module works')\n"
                  . "assert(require('shared') == s, 'one table')\n"
                  . "assert(loads == 1, 'run once')\n"
                  . "return { access = function () return s.answer() end }\n",
    'uses.schema.json' => '{}',
    'raiser.lua' => "require('raising')\nreturn {}\n",
    'raiser.schema.json' => '{}',
);

spew_all($udir,
    'lib/mine.lua' => "return { untrusted = true }\n",
    'usesmine.lua' => "local m = require('mine')\nreturn {}\n",
    'usesmine.schema.json' => '{}',
    'usesshared.lua' => "assert(require('shared').answer() == 42)\n"
                        . "return {}\n",
    'usesshared.schema.json' => '{}',
);

spew_all($bdir,
    'lib/broken.lua' => "local M = {\nreturn M\n",
);

sub with {
    my ($paths, $d) = @_;
    return join('', map { "gw_plugin_path $_;\n" } @$paths)
           . "server {\nlocation / {\n$d\nproxy_pass http://127.0.0.1:1;\n"
           . "}\n}";
}

my ($ok, $out);

($ok, $out) = nginx_t(with(["$tdir trusted"], 'gw_plugin uses;'));
ok($ok, 'nginx -t passes: a plugin requiring a trusted lib/ module')
    or diag $out;
unlike($out, qr/\[emerg\]|\[error\].*"uses"/, '  nothing logged about it');
like($out, qr/\[error\].*plugin "raiser" skipped: /,
     '  (one nobody enables whose module raises is skipped)');
unlike($out, qr/Skipped/, '  a file whose name is no module name is not '
                          . 'read');
unlike($out, qr/plugin "lib"/, '  lib/ is no plugin');

($ok, $out) = nginx_t(with(["$tdir trusted", $udir],
                           "gw_plugin uses;\ngw_plugin usesshared;"));
ok($ok, 'nginx -t passes: an untrusted plugin requiring a trusted module')
    or diag $out;

($ok, $out) = nginx_t(with(["$tdir trusted"], 'gw_plugin lib;'));
ok(!$ok, 'nginx -t fails: gw_plugin lib');
like($out, qr/\[emerg\].*gw_plugin "lib": no lib\.lua/,
     '  lib/ is not a plugin') or diag $out;

($ok, $out) = nginx_t(with(["$tdir trusted"], 'gw_plugin raiser;'));
ok(!$ok, 'nginx -t fails: a module raising at require');
like($out, qr/\[emerg\].*plugin "raiser": \S*raiser\.lua: error: .*module raised at require/,
     '  the plugin named, the module\'s error') or diag $out;

($ok, $out) = nginx_t(with(["$tdir trusted", "$bdir trusted"],
                           'gw_plugin uses;'));
ok(!$ok, 'nginx -t fails: a lib/ module that does not compile');
like($out, qr/\[emerg\].*plugin module "broken": \S*\/lib\/broken\.lua: error: broken:\d+: /,
     '  naming the file and the line') or diag $out;

($ok, $out) = nginx_t(with([$udir], 'gw_plugin usesmine;'));
ok(!$ok, 'nginx -t fails: an untrusted directory\'s lib/ is not vetted');
like($out, qr/\[emerg\].*plugin "usesmine": \S*usesmine\.lua: error: .*module 'mine' is not available in the sandbox/,
     '  the plugin named, require fails') or diag $out;
like($out, qr/\[warn\].*gw_plugin_path "\S*" is not trusted: the modules of \S*\/lib are not vetted/,
     '  and a warning says why') or diag $out;

($ok, $out) = nginx_t(with(["$udir trusted"], 'gw_plugin usesmine;'));
ok($ok, 'nginx -t passes: the same directory marked trusted') or diag $out;

spew_all($bdir, 'lib/broken.lua' => "return {}\n",
         'lib/json.lua' => "return {}\n");
($ok, $out) = nginx_t(with(["$bdir trusted"], ''));
ok(!$ok, 'nginx -t fails: a lib/json.lua');
like($out, qr/\[emerg\].*plugin module "json": \S*\/lib\/json\.lua: error: a built-in module's name/,
     '  json cannot be replaced') or diag $out;

done_testing();
