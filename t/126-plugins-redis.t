# vi:ft=perl
#
# gw.redis (docs/plugins-shared.md): a plugin's access handler runs Redis
# commands through the worker's asynchronous client, its coroutine
# yielding until the reply: strings, integers, nil, arrays (a nil element
# as false), error replies as nil, "<message>"; numbers as arguments; the
# keys in the plugin's own namespace gw:plugin:<name>:; commands outside
# the allowed list refused; the caps on arguments at and past their
# bounds; Redis paused or down -> nil, "redis unavailable"; gw.redis where
# it cannot yield (another phase, a coroutine of the plugin's own) fails
# the plugin; pcall around it works.
#
# The plugin "rd" sends the command its arguments spell (a1=GET&a2=k...,
# n= a number appended, many=N that many "x", big=N one string of N
# bytes) and answers "<reply> <err>", the reply written as JSON-ish text:
# strings quoted, tables in brackets.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;
$ENV{TEST_NGINX_DEAD_PORT} = Tollgate::Redis::free_port();

our $rd = <<'_EOL_';
local P = { priority = 100 }

local function show(v)
    if type(v) == "table" then
        local parts = {}
        for i = 1, #v do
            parts[#parts + 1] = show(v[i])
        end
        return "[" .. table.concat(parts, ",") .. "]"
    end
    if type(v) == "string" then
        return '"' .. v .. '"'
    end
    return tostring(v)
end

local function command()
    local a, cmd = gw.req.args(), {}
    for i = 1, 70 do
        if a["a" .. i] == nil then
            break
        end
        cmd[#cmd + 1] = a["a" .. i]
    end
    if a.n then
        cmd[#cmd + 1] = tonumber(a.n)
    end
    for i = 1, tonumber(a.many or 0) do
        cmd[#cmd + 1] = "x"
    end
    if a.big then
        cmd[#cmd + 1] = string.rep("b", tonumber(a.big))
    end
    return cmd
end

function P.access(conf, ctx)
    local v, err
    if conf.mode == "coroutine" then
        v, err = coroutine.wrap(function () return gw.redis("PING") end)()
    elseif conf.mode == "pcall" then
        local ok
        ok, v, err = pcall(gw.redis, unpack(command()))
    elseif conf.mode == "header_filter" then
        return
    else
        v, err = gw.redis(unpack(command()))
    end
    gw.exit(200, show(v) .. " " .. tostring(err) .. "\n")
end

function P.header_filter(conf, ctx)
    if conf.mode == "header_filter" then
        gw.redis("PING")
    end
end

return P
_EOL_

our $files = ">>> plugins/rd.lua\n$rd>>> plugins/rd.schema.json\n"
             . '{"type": "object", "properties": {"mode": {"type": "string"}}}'
             . "\n";

our $http = <<'_EOC_';
    gw_plugin_path html/plugins;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 300ms;
_EOC_

our $config = <<'_EOC_';
    location /r { gw_plugin rd '{}'; }
    location /pc { gw_plugin rd '{"mode": "pcall"}'; }
    location /co { gw_plugin rd '{"mode": "coroutine"}'; }
    location /hf {
        gw_plugin rd '{"mode": "header_filter"}';
        return 200 "hf\n";
    }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
_EOC_

# every block starts with Redis up and empty
add_block_preprocessor(sub {
    my $block = shift;
    $redis->resume;
    $redis->restart unless $redis->running;
    $redis->wait_ready(10) or die "redis did not come back";
    $redis->cli('FLUSHALL');
    $block->set_value('user_files', $files) unless $block->user_files;
    $block->set_value('http_config', $http)
        unless defined $block->http_config;
    $block->set_value('config', $config) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->error_log;
});

run_tests();

__DATA__

=== TEST 1: INCR, GET, SET; a missing key is nil with no error; the keys are the plugin's own
--- request eval
["GET /r?a1=INCR&a2=counter", "GET /r?a1=incr&a2=counter",
 "GET /r?a1=GET&a2=counter", "GET /r?a1=SET&a2=k&a3=v",
 "GET /r?a1=GET&a2=missing",
 "GET /ctl/cli?GET&gw:plugin:rd:counter", "GET /ctl/cli?EXISTS&counter",
 "GET /ctl/cli?GET&gw:plugin:rd:k"]
--- response_body eval
["1 nil\n", "2 nil\n", "\"2\" nil\n", "\"OK\" nil\n", "nil nil\n",
 "2\n", "0\n", "v\n"]



=== TEST 2: arrays: HGETALL, LRANGE, MGET with a missing key as false, EXISTS over several keys
--- request eval
["GET /r?a1=HSET&a2=h&a3=f1&a4=v1&a5=f2&a6=v2", "GET /r?a1=HGETALL&a2=h",
 "GET /r?a1=RPUSH&a2=l&a3=x&a4=y", "GET /r?a1=LRANGE&a2=l&a3=0&a4=-1",
 "GET /r?a1=SET&a2=a&a3=1", "GET /r?a1=MGET&a2=a&a3=b&a4=a",
 "GET /r?a1=EXISTS&a2=a&a3=b&a4=h", "GET /r?a1=LRANGE&a2=none&a3=0&a4=-1",
 "GET /ctl/cli?HGET&gw:plugin:rd:h&f2"]
--- response_body eval
["2 nil\n", "[\"f1\",\"v1\",\"f2\",\"v2\"] nil\n",
 "2 nil\n", "[\"x\",\"y\"] nil\n",
 "\"OK\" nil\n", "[\"1\",false,\"1\"] nil\n",
 "2 nil\n", "[] nil\n",
 "v2\n"]



=== TEST 3: error replies come back as nil, "<message>"
--- request eval
["GET /r?a1=SET&a2=s&a3=text", "GET /r?a1=INCR&a2=s", "GET /r?a1=HGET&a2=s&a3=f",
 "GET /r?a1=GET"]
--- response_body_like eval
["^\"OK\" nil\n\\z", "^nil ERR value is not an integer or out of range\n\\z",
 "^nil WRONGTYPE Operation against a key holding the wrong kind of value\n\\z",
 "^nil ERR wrong number of arguments for 'get' command\n\\z"]



=== TEST 4: numbers as arguments: integers as integers, others with 17 digits
--- request eval
["GET /r?a1=INCRBY&a2=c&n=5", "GET /r?a1=INCRBY&a2=c&n=1e15",
 "GET /ctl/cli?GET&gw:plugin:rd:c",
 "GET /r?a1=INCRBYFLOAT&a2=f&n=0.5", "GET /r?a1=SET&a2=neg&n=-42",
 "GET /ctl/cli?GET&gw:plugin:rd:neg"]
--- response_body eval
["5 nil\n", "1e+15 nil\n", "1000000000000005\n", "\"0.5\" nil\n",
 "\"OK\" nil\n", "-42\n"]



=== TEST 5: commands outside the list are refused, whatever their case; gw:key:* stays out of reach
--- request eval
["GET /ctl/cli?SET&gw:key:abc&real",
 "GET /r?a1=FLUSHALL", "GET /r?a1=flushdb", "GET /r?a1=CONFIG&a2=GET&a3=*",
 "GET /r?a1=EVAL&a2=return%201&a3=0", "GET /r?a1=KEYS&a2=*",
 "GET /r?a1=SCAN&a2=0", "GET /r?a1=SELECT&a2=1", "GET /r?a1=BLPOP&a2=q&a3=0",
 "GET /r?a1=SUBSCRIBE&a2=gw:events", "GET /r?a1=SORT&a2=l&a3=BY&a4=x",
 "GET /r?a1=SHUTDOWN", "GET /r?a1=MULTI", "GET /r?a1=DEBUG&a2=SLEEP&a3=1",
 "GET /r?a1=SETRANGE&a2=k&a3=536870000&a4=x",
 "GET /r?a1=SETBIT&a2=k&a3=4294967000&a4=1",
 "GET /r?a1=SRANDMEMBER&a2=s&a3=-100000000",
 "GET /r?a1=GET&a2=gw:key:abc",
 "GET /ctl/cli?GET&gw:key:abc"]
--- response_body eval
["OK\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil command not allowed\n", "nil command not allowed\n",
 "nil nil\n",
 "real\n"]



=== TEST 6: 64 arguments pass, 65 do not; 512 KiB of them pass, one byte more does not
--- request eval
["GET /r?a1=SADD&a2=s&many=62", "GET /r?a1=SADD&a2=s&many=63",
 "GET /r?a1=SET&a2=k&big=524284", "GET /r?a1=STRLEN&a2=k",
 "GET /r?a1=SET&a2=k&big=524285", "GET /r?a1=STRLEN&a2=k"]
--- response_body eval
["1 nil\n", "nil too many arguments\n",
 "\"OK\" nil\n", "524284 nil\n",
 "nil arguments too large\n", "524284 nil\n"]



=== TEST 7: Redis paused: nil, "redis unavailable" after gw_redis_timeout; resumed, it answers again
--- request eval
["GET /r?a1=SET&a2=k&a3=before", "GET /ctl/pause", "GET /r?a1=GET&a2=k",
 "GET /ctl/resume", "GET /r?a1=GET&a2=k"]
--- response_body eval
["\"OK\" nil\n", "paused\n", "nil redis unavailable\n", "resumed\n",
 "\"before\" nil\n"]



=== TEST 8: Redis down (nothing listens): nil, "redis unavailable" at once (the client logs the outage)
--- http_config
    gw_plugin_path html/plugins;
    gw_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    gw_redis_timeout 300ms;
--- request
GET /r?a1=INCR&a2=k
--- response_body
nil redis unavailable
--- error_log
gw_redis: cannot connect to



=== TEST 9: pcall(gw.redis, ...) yields through the pcall
--- request eval
["GET /pc?a1=INCR&a2=p", "GET /pc?a1=INCR&a2=p", "GET /pc?a1=NOPE"]
--- response_body eval
["1 nil\n", "2 nil\n", "nil command not allowed\n"]



=== TEST 10: gw.redis in a coroutine of the plugin's own fails the plugin
--- request
GET /co
--- error_code: 500
--- error_log
gw.redis: not allowed in a coroutine of the plugin's own



=== TEST 11: gw.redis in the header filter fails the plugin
--- request
GET /hf
--- error_code: 500
--- error_log
gw.redis: not allowed in the header_filter phase
