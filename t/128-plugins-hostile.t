# vi:ft=perl
#
# Hostile Lua plugins (docs/plugins-sandbox.md, issue 17's corpus): each
# request that runs one gets the failure answer (500 problem+json, the
# detail naming the plugin), the failure is logged at error with its kind
# (error, memory, budget, timeout), and the worker neither dies nor hangs:
# the next request on the same server, through a good plugin, is 200, and
# error.log has no "exited on signal" nor anything at alert or above.
# Untrusted plugins (html/plugins) run with the JIT off under the
# instruction budget; the trusted directory (html/trusted) runs with the
# JIT on, where only the watchdog stops a loop.  Time budgets are small
# (300 ms) so that the suite is fast; nothing asserts on timing.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

our $Plugins = <<'_EOP_';
>>> plugins/good.lua
return { access = function (conf, ctx) end }
>>> plugins/good.schema.json
{}
>>> plugins/hostile.lua
local P = { priority = 10 }
local attacks = {}
attacks.loop = function () while true do end end
attacks.pcall_loop = function ()
    while true do pcall(function () while true do end end) end
end
attacks.rep = function () local s = string.rep("x", 2^30) end
attacks.concat = function () local s = "x" while true do s = s .. s end end
attacks.recursion = function ()
    local function f() return 1 + f() end
    return f()
end
attacks.gsub_recursion = function ()
    local function f(s) return (s:gsub(".", f)) end
    return f("ab")
end
attacks.coroutines = function ()
    local t = {}
    while true do t[#t + 1] = coroutine.create(function () end) end
end
attacks.nested_coroutines = function ()
    local function f() return coroutine.wrap(f)() end
    return f()
end
attacks.os_execute = function () os.execute("touch /tmp/pwned") end
attacks.io_open = function () io.open("/etc/passwd") end
attacks.ffi = function () require("ffi") end
attacks.dump = function () return string.dump(function () end) end
attacks.bytecode = function ()
    local f, e = load("\27LJ\2\0")
    if not f then error(e) end
    f()
end
attacks.sethook = function () debug.sethook(function () end, "", 1) end
attacks.string_mt = function ()
    getmetatable("").__index.rep = function () return "pwned" end
end
attacks.setfenv = function () setfenv(1, {}) end
attacks.getfenv = function () return getfenv(0) end
attacks.collect = function () collectgarbage("stop") end
attacks.yield = function () coroutine.yield() end
attacks.find = function ()
    return string.find(string.rep("a", 5000), string.rep("a*", 30) .. "b")
end
attacks.header = function ()
    gw.req.set_header("X-Big", string.rep("a", 2^26))
end
function P.access(conf, ctx)
    local a = gw.req.arg("a")
    if a then
        attacks[a]()
    end
end
return P
>>> plugins/hostile.schema.json
{}
>>> plugins/phases.lua
local P = {}
local function boom(phase)
    if gw.req.arg("in") == phase then
        error("thrown in " .. phase)
    end
end
function P.access(conf, ctx) boom("access") end
function P.header_filter(conf, ctx) boom("header_filter") end
function P.body_filter(conf, ctx, chunk, eof)
    boom("body_filter")
    return chunk
end
function P.log(conf, ctx) boom("log") end
return P
>>> plugins/phases.schema.json
{}
>>> plugins/yielder.lua
local P = {}
function P.header_filter(conf, ctx) coroutine.yield() end
return P
>>> plugins/yielder.schema.json
{}
>>> trusted/jitloop.lua
local P = {}
function P.access(conf, ctx)
    if gw.req.arg("a") == "loop" then
        local i = 0
        while true do i = i + 1 end
    end
end
return P
>>> trusted/jitloop.schema.json
{}
_EOP_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $Plugins)
        unless defined $block->user_files;
    $block->set_value('http_config', <<'_EOC_')
    gw_plugin_path html/plugins;
    gw_plugin_path html/trusted trusted;
    gw_plugin_memory 16m;
    gw_plugin_budget instructions=1000000 time=300ms;
_EOC_
        unless defined $block->http_config;
    $block->set_value('no_error_log', ['exited on signal', '[alert]',
                                       '[crit]', '[emerg]'])
        unless defined $block->no_error_log;
});

# each attack: the query, the kind logged, a part of its message
my @attacks = (
    ['loop', 'budget', 'budget exhausted'],
    ['pcall_loop', 'budget', 'budget exhausted'],
    ['rep', 'memory', 'not enough memory'],
    ['concat', 'memory', 'not enough memory'],
    ['recursion', 'error', 'stack overflow'],
    ['gsub_recursion', 'error', 'C stack overflow'],
    ['coroutines', 'memory', 'not enough memory'],
    ['nested_coroutines', 'error', 'C stack overflow'],
    ['os_execute', 'error', "field 'execute'"],
    ['io_open', 'error', "global 'io'"],
    ['ffi', 'error', "module 'ffi' is not available"],
    ['dump', 'error', "field 'dump'"],
    ['bytecode', 'error', 'bytecode is refused'],
    ['sethook', 'error', "global 'debug'"],
    ['string_mt', 'error', 'attempt to index a boolean value'],
    ['setfenv', 'error', "global 'setfenv'"],
    ['getfenv', 'error', "global 'getfenv'"],
    ['collect', 'error', 'is allowed'],
    ['yield', 'error', 'yielded outside gw.redis'],
    ['find', 'timeout', 'time limit exceeded'],
);

my @blocks;
my $n = 1;

my $locations = <<'_EOC_';
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin hostile;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /ok {
        gw_plugin good;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
_EOC_

# error_log is checked after each request (each must log its own lines):
# one block for the answer and the log line, one for what follows
for my $a (@attacks) {
    my ($q, $kind, $msg) = @$a;
    push @blocks, <<"_EOB_";
=== TEST $n: $q: the failure answer, logged as $kind
--- config
$locations
--- request
GET /t?a=$q
--- error_code: 500
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
qr{"type":"urn:tollgate:problem:plugin-failed".*the plugin \\\\"hostile\\\\" failed}s
--- response_body_unlike eval
qr{\Q$msg\E}
--- error_log eval
[qr{plugin "hostile" failed in access: $kind: .*\Q$msg\E}]

_EOB_
    $n++;

    push @blocks, <<"_EOB_";
=== TEST $n: $q: the worker goes on, other requests unaffected
--- config
$locations
--- request eval
["GET /t?a=$q", "GET /ok", "GET /t", "GET /t?a=$q", "GET /ok"]
--- error_code eval
[500, 200, 200, 500, 200]
--- response_body_like eval
[qr{plugin-failed}, qr{^up\\n\\z}, qr{^up\\n\\z}, qr{plugin-failed},
 qr{^up\\n\\z}]

_EOB_
    $n++;
}

# a failure logged by its first request, then (another block) the same
# request followed by others: the worker goes on
sub failure_then {
    my (%a) = @_;
    my $extra = $a{extra} // '';
    push @blocks, <<"_EOB_";
=== TEST $n: $a{title}
--- config
$a{config}
--- request
$a{request}
--- error_code eval
$a{code}
$extra--- error_log eval
[qr{$a{log}}]

_EOB_
    $n++;

    my $reqs = join ', ', map { qq{"$_"} } $a{request}, @{ $a{then} };
    my $codes = join ', ', $a{code}, @{ $a{then_codes} };
    push @blocks, <<"_EOB_";
=== TEST $n: $a{title}: the worker goes on
--- config
$a{config}
--- request eval
[$reqs]
--- error_code eval
[$codes]

_EOB_
    $n++;
}

my $phases = <<'_EOC_';
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin phases;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
_EOC_

failure_then(
    title => 'trusted, JIT on: a compiled loop stopped by the watchdog',
    config => <<'_EOC_',
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin jitloop;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
_EOC_
    request => 'GET /t?a=loop', code => 500,
    log => 'plugin "jitloop" failed in access: timeout: time limit exceeded',
    then => ['GET /t', 'GET /t?a=loop', 'GET /t'],
    then_codes => [200, 500, 200]);

for my $phase (qw(access header_filter)) {
    failure_then(
        title => "an error thrown in $phase: the failure answer",
        config => $phases, request => "GET /t?in=$phase", code => 500,
        extra => "--- response_body_like chomp\nplugin-failed\n",
        log => "plugin \"phases\" failed in $phase: error: .*thrown in $phase",
        then => ['GET /t'], then_codes => [200]);
}

failure_then(
    title => 'an error thrown in body_filter: the response is cut',
    config => $phases, request => 'GET /t?in=body_filter', code => '""',
    extra => "--- response_body\n",
    log => 'plugin "phases" failed in body_filter: error: .*thrown in'
           . ' body_filter',
    then => ['GET /t'], then_codes => [200]);

failure_then(
    title => 'an error thrown in log: logged, the answer untouched',
    config => $phases, request => 'GET /t?in=log', code => 200,
    extra => "--- response_body\nup\n",
    log => 'plugin "phases" failed in log: error: .*thrown in log',
    then => ['GET /t'], then_codes => [200]);

failure_then(
    title => 'a yield in header_filter (not a coroutine)',
    config => <<'_EOC_',
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin yielder;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
_EOC_
    request => 'GET /t', code => 500,
    log => 'plugin "yielder" failed in header_filter: error: .*yield',
    then => ['GET /t'], then_codes => [500]);

failure_then(
    title => 'a gigantic header value set by a plugin',
    config => $locations, request => 'GET /t?a=header', code => 500,
    log => 'plugin "hostile" failed in access: memory',
    then => ['GET /ok'], then_codes => [200]);

# memory back where it was, and the failures counted per plugin: after
# a coroutine bomb (16 MiB) the next call finds the state small again
push @blocks, <<"_EOB_";
=== TEST $n: after a memory bomb the state's memory is back; failures counted
--- http_config
    gw_metrics_zone 1m;
    gw_plugin_path html/plugins;
    gw_plugin_memory 16m;
    gw_plugin_budget instructions=1000000 time=300ms;
--- config
$locations
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
--- request eval
["GET /t?a=coroutines", "GET /t", "GET /t?a=loop", "GET /t?a=rep", "GET /t",
 "GET /metrics"]
--- error_code eval
[500, 200, 500, 500, 200, 200]
--- response_body_like eval
[qr{plugin-failed}, qr{^up\\n\\z}, qr{plugin-failed}, qr{plugin-failed},
 qr{^up\\n\\z},
 qr/\\A(?=.*^gw_plugin_calls_total\\{plugin="hostile",phase="access",result="memory"\\}\\ 2\$)
     (?=.*^gw_plugin_calls_total\\{plugin="hostile",phase="access",result="budget"\\}\\ 1\$)
     (?=.*^gw_plugin_calls_total\\{plugin="hostile",phase="access",result="ok"\\}\\ 2\$)
     (?=.*^gw_plugin_memory_bytes\\{plugin="hostile"\\}\\ [1-9]\\d{0,5}\$)/msx]
--- no_error_log
[alert]
exited on signal

_EOB_
$n++;

Test::Base::spec_string(join '', @blocks);

no_shuffle();
run_tests();
