# vi:ft=perl
#
# gw.shared and gw_plugin_dict (docs/plugins-shared.md): get, set, incr,
# delete of strings, numbers and booleans across the workers of one
# nginx; TTLs; keys namespaced by plugin; the key and value caps at and
# past their bounds; a plugin flooding the zone evicts only its own keys,
# never another plugin's; a zone with no room gives nil, "no memory"; use
# in the header filter and log phases; the directive's checks.
#
# The plugins dict_a, dict_b and dict_c are one driver under three names
# (so three namespaces): each request's arguments say what it does, and
# the access handler answers what it got back as "<type> <value>" (or
# "nil <error>").

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(nginx_t);

no_shuffle();
master_on();
workers(2);

our $driver = <<'_EOL_';
local P = { priority = 100 }

local function show(v, err)
    if v == nil and err ~= nil then
        return "nil " .. err
    end
    return type(v) .. " " .. tostring(v)
end

function P.access(conf, ctx)
    local a = gw.req.args()
    local k, out = a.k, "?"
    if a.klen then
        k = string.rep("k", tonumber(a.klen))
    end
    if a.op == "get" then
        out = show(gw.shared.get(k))
    elseif a.op == "getlen" then
        out = tostring(#gw.shared.get(k))
    elseif a.op == "set" then
        local v = a.v
        if a.vlen then
            v = string.rep("v", tonumber(a.vlen))
        end
        if a.t == "n" then
            v = tonumber(v)
        elseif a.t == "b" then
            v = (v == "true")
        elseif a.t == "nil" then
            v = nil
        elseif a.t == "table" then
            v = {}
        end
        out = show(gw.shared.set(k, v, tonumber(a.ttl) or a.ttl))
    elseif a.op == "incr" then
        out = show(gw.shared.incr(k, tonumber(a.by), tonumber(a.ttl)))
    elseif a.op == "delete" then
        out = show(gw.shared.delete(k))
    elseif a.op == "fill" then
        local v = string.rep("f", tonumber(a.size))
        local set, last = 0, "none"
        for i = 1, tonumber(a.n) do
            local ok, err = gw.shared.set(a.prefix .. i, v)
            if ok then
                set = set + 1
            else
                last = err
            end
        end
        out = set .. " " .. last
    elseif a.op == "count" then
        local c = 0
        for i = 1, tonumber(a.n) do
            if gw.shared.get(a.prefix .. i) ~= nil then
                c = c + 1
            end
        end
        out = tostring(c)
    end
    gw.exit(200, out .. "\n")
end

function P.header_filter(conf, ctx)
    if conf.count then
        gw.shared.incr("hf")
    end
end

function P.log(conf, ctx)
    if conf.count then
        gw.shared.incr("log")
    end
end

return P
_EOL_

our $schema = <<'_EOS_';
{"type": "object", "properties": {"count": {"type": "boolean"}},
 "additionalProperties": false}
_EOS_

our $files = join '', map { ">>> plugins/$_.lua\n$driver"
                            . ">>> plugins/$_.schema.json\n$schema" }
             qw(dict_a dict_b dict_c);

our $locations = <<'_EOC_';
    location /a { gw_plugin dict_a '{}'; }
    location /b { gw_plugin dict_b '{}'; }
    location /c { gw_plugin dict_c '{}'; }
    location /p { gw_plugin dict_a '{"count": true}'; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $files) unless $block->user_files;
    $block->set_value('http_config', "    gw_plugin_path html/plugins;\n"
                      . "    gw_plugin_dict zone=plugins:1m;\n")
        unless defined $block->http_config;
    $block->set_value('config', $locations) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->error_log;
});


# --- the directive, checked by nginx -t -----------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['no zone=', 'gw_plugin_dict share=10%;',
         qr/"gw_plugin_dict" needs zone=name:size/],
        ['a zone below 64 pages', 'gw_plugin_dict zone=d:16k;',
         qr/gw_plugin_dict zone "d" is too small/],
        ['share=0%', 'gw_plugin_dict zone=d:1m share=0%;',
         qr/invalid parameter "share=0%"/],
        ['share=101%', 'gw_plugin_dict zone=d:1m share=101%;',
         qr/invalid parameter "share=101%"/],
        ['share without %', 'gw_plugin_dict zone=d:1m share=50;',
         qr/invalid parameter "share=50"/],
        ['twice', 'gw_plugin_dict zone=d:1m; gw_plugin_dict zone=e:1m;',
         qr/"gw_plugin_dict" directive is duplicate/],
        ['in a server', 'server { gw_plugin_dict zone=d:1m; }',
         qr/"gw_plugin_dict" directive is not allowed here/],
    );

    for my $case (@bad) {
        my ($name, $http, $re) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*$re/, "the [emerg] line names it: $name");
    }

    my ($ok, $out) = nginx_t('gw_plugin_dict zone=d:1m share=10%;');
    ok($ok, 'nginx -t passes: zone= and share=') or diag($out);
}

run_tests();

__DATA__

=== TEST 1: set, get and delete strings, numbers and booleans; nil deletes
--- request eval
["GET /a?op=get&k=x",
 "GET /a?op=set&k=x&v=hello", "GET /a?op=get&k=x",
 "GET /a?op=set&k=n&v=42.5&t=n", "GET /a?op=get&k=n",
 "GET /a?op=set&k=b&v=true&t=b", "GET /a?op=get&k=b",
 "GET /a?op=set&k=b&v=false&t=b", "GET /a?op=get&k=b",
 "GET /a?op=set&k=x&v=again", "GET /a?op=get&k=x",
 "GET /a?op=delete&k=x", "GET /a?op=get&k=x", "GET /a?op=delete&k=x",
 "GET /a?op=set&k=n&t=nil", "GET /a?op=get&k=n"]
--- response_body eval
["nil nil\n",
 "boolean true\n", "string hello\n",
 "boolean true\n", "number 42.5\n",
 "boolean true\n", "boolean true\n",
 "boolean true\n", "boolean false\n",
 "boolean true\n", "string again\n",
 "boolean true\n", "nil nil\n", "boolean true\n",
 "boolean true\n", "nil nil\n"]



=== TEST 2: keys are namespaced by plugin
--- request eval
["GET /a?op=set&k=x&v=from-a", "GET /b?op=get&k=x",
 "GET /b?op=set&k=x&v=from-b", "GET /a?op=get&k=x", "GET /b?op=get&k=x",
 "GET /b?op=delete&k=x", "GET /a?op=get&k=x", "GET /b?op=incr&k=x",
 "GET /a?op=get&k=x"]
--- response_body eval
["boolean true\n", "nil nil\n",
 "boolean true\n", "string from-a\n", "string from-b\n",
 "boolean true\n", "string from-a\n", "number 1\n",
 "string from-a\n"]



=== TEST 3: incr makes an absent key at 0, adds by (1 by default), refuses a string
--- request eval
["GET /a?op=incr&k=c", "GET /a?op=incr&k=c&by=5",
 "GET /a?op=incr&k=c&by=-2.5", "GET /a?op=get&k=c",
 "GET /a?op=set&k=s&v=text", "GET /a?op=incr&k=s", "GET /a?op=get&k=s",
 "GET /a?op=set&k=t&v=true&t=b", "GET /a?op=incr&k=t"]
--- response_body eval
["number 1\n", "number 6\n", "number 3.5\n", "number 3.5\n",
 "boolean true\n", "nil not a number\n", "string text\n",
 "boolean true\n", "nil not a number\n"]



=== TEST 4: one counter for both workers: 30 increments, then 30
--- request eval
[(map { "GET /a?op=incr&k=hits" } 1 .. 30), "GET /a?op=get&k=hits"]
--- response_body eval
[(map { "number $_\n" } 1 .. 30), "number 30\n"]



=== TEST 5: TTLs: entries past theirs are gone, the others stay (incr's TTL applies on creation)
--- wait: 0.6
--- request eval
["GET /a?op=set&k=short&v=1&ttl=0.2", "GET /a?op=set&k=long&v=2&ttl=600",
 "GET /a?op=incr&k=ishort&ttl=0.2", "GET /a?op=incr&k=ilong&ttl=600",
 "GET /a?op=set&k=none&v=3&ttl=0",
 "GET /a?op=get&k=short", "GET /a?op=get&k=long",
 "GET /a?op=get&k=ishort", "GET /a?op=incr&k=ilong&by=1&ttl=0.2",
 "GET /a?op=get&k=ilong", "GET /a?op=get&k=none",
 "GET /a?op=incr&k=ishort"]
--- response_body eval
["boolean true\n", "boolean true\n", "number 1\n", "number 1\n",
 "boolean true\n",
 "nil nil\n", "string 2\n", "nil nil\n", "number 2\n",
 "number 2\n", "string 3\n", "number 1\n"]



=== TEST 6: keys of 1 and 256 bytes are kept, 0 and 257 are refused
--- request eval
["GET /a?op=set&klen=256&v=max", "GET /a?op=get&klen=256",
 "GET /a?op=set&klen=1&v=one", "GET /a?op=get&klen=1",
 "GET /a?op=set&klen=257&v=over", "GET /a?op=get&klen=257",
 "GET /a?op=incr&klen=257", "GET /a?op=delete&klen=257",
 "GET /a?op=set&klen=0&v=empty", "GET /a?op=get&klen=0"]
--- response_body eval
["boolean true\n", "string max\n",
 "boolean true\n", "string one\n",
 "nil bad key\n", "nil bad key\n", "nil bad key\n", "nil bad key\n",
 "nil bad key\n", "nil bad key\n"]



=== TEST 7: values of 64 KiB are kept, one byte more is refused (the old value stays)
--- request eval
["GET /a?op=set&k=big&vlen=65536", "GET /a?op=getlen&k=big",
 "GET /a?op=set&k=big&vlen=65537", "GET /a?op=getlen&k=big",
 "GET /a?op=set&k=e&vlen=0", "GET /a?op=get&k=e"]
--- response_body eval
["boolean true\n", "65536\n",
 "nil value too large\n", "65536\n",
 "boolean true\n", "string \n"]



=== TEST 8: a table value fails the plugin (a Lua error, logged)
--- request
GET /a?op=set&k=x&t=table
--- error_code: 500
--- error_log
gw.shared.set: the value must be a string, a number or a boolean



=== TEST 9: a negative TTL fails the plugin
--- request
GET /a?op=set&k=x&v=1&ttl=-1
--- error_code: 500
--- error_log
gw.shared.set: bad ttl



=== TEST 10: a flood of plugin A (4 MiB into its 512 KiB share) evicts its own keys, never B's
--- request eval
["GET /b?op=set&k=keep&v=precious", "GET /b?op=fill&prefix=b&n=50&size=1000",
 "GET /a?op=fill&prefix=f&n=2000&size=1000",
 "GET /b?op=get&k=keep", "GET /b?op=count&prefix=b&n=50",
 "GET /a?op=get&k=f2000", "GET /a?op=count&prefix=f&n=2000",
 "GET /a?op=set&k=again&v=1", "GET /b?op=set&k=more&v=2"]
--- response_body_like eval
["^boolean true\n\\z", "^50 none\n\\z",
 "^2000 none\n\\z",
 "^string precious\n\\z", "^50\n\\z",
 "^string f+\n\\z", "^(?:[1-9]\\d?|[12]\\d\\d)\n\\z",
 "^boolean true\n\\z", "^boolean true\n\\z"]



=== TEST 11: a full zone: a plugin with nothing to evict gets nil, "no memory"; the worker goes on
--- http_config
    gw_plugin_path html/plugins;
    gw_plugin_dict zone=plugins:256k share=100%;
--- request eval
["GET /a?op=fill&prefix=f&n=400&size=1000",
 "GET /c?op=set&k=x&v=1", "GET /c?op=incr&k=y", "GET /c?op=get&k=x",
 "GET /a?op=get&k=f400", "GET /a?op=set&k=f400&v=2",
 "GET /a?op=get&k=f400"]
--- response_body_like eval
["^400 none\n\\z",
 "^nil no memory\n\\z", "^nil no memory\n\\z", "^nil nil\n\\z",
 "^string f{1000}\n\\z", "^boolean true\n\\z",
 "^string 2\n\\z"]



=== TEST 12: usable in the header filter and log phases
--- wait: 0.2
--- request eval
["GET /p?op=get&k=hf", "GET /p?op=get&k=hf", "GET /p?op=get&k=log",
 "GET /b?op=get&k=hf"]
--- response_body eval
["nil nil\n", "number 1\n", "number 2\n", "nil nil\n"]



=== TEST 13: without gw_plugin_dict a call fails the plugin, naming the directive
--- http_config
    gw_plugin_path html/plugins;
--- request
GET /a?op=get&k=x
--- error_code: 500
--- error_log
gw.shared.get: no gw_plugin_dict is configured
