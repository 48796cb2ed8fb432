# vi:ft=perl
#
# Per-plugin metrics on gw_metrics_endpoint (docs/plugins-shared.md):
# gw_plugin_calls_total{plugin,phase,result} after calls that went well
# (returning, answering with gw.exit, yielding for Redis: counted once),
# and after a Lua error, a spent instruction budget and the memory cap;
# gw_plugin_seconds_total{plugin,phase}; gw_plugin_memory_bytes{plugin};
# nothing without plugins.  gw_plugin_allocated_bytes_total{plugin,phase}
# (a plugin that allocates a 2 MiB string in access and nothing in its
# header filter), the histogram gw_plugin_call_seconds{plugin,phase} and
# gw_plugin_memory_max_bytes{plugin}; between two scrapes no counter goes
# down (checked on every scrape by the body check below).
#
# Each block's last request is the scrape.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;

our %lua = (
    m_ok => <<'_EOL_',
local P = { priority = 10 }
function P.access(conf, ctx) ctx.n = 1 end
function P.header_filter(conf, ctx) end
function P.log(conf, ctx) end
return P
_EOL_
    m_exit => <<'_EOL_',
local P = {}
function P.access(conf, ctx) gw.exit(200, "exit\n") end
return P
_EOL_
    m_redis => <<'_EOL_',
local P = {}
function P.access(conf, ctx)
    local v, err = gw.redis("PING")
    gw.exit(200, tostring(v) .. "\n")
end
return P
_EOL_
    m_err => <<'_EOL_',
local P = {}
function P.access(conf, ctx) error("boom") end
return P
_EOL_
    m_budget => <<'_EOL_',
local P = {}
function P.access(conf, ctx) while true do end end
return P
_EOL_
    m_alloc => <<'_EOL_',
local P = {}
local n = 0
function P.access(conf, ctx)
    -- a new string each time: an equal one would be interned, not made
    n = n + 1
    local s = string.rep("a", 2 * 1024 * 1024 + n)
    ctx.n = #s
end
function P.header_filter(conf, ctx) end
return P
_EOL_
    m_mem => <<'_EOL_',
local P = {}
function P.access(conf, ctx)
    local s = string.rep("x", 64 * 1024 * 1024)
    gw.exit(200, #s .. "\n")
end
return P
_EOL_
);

our $files = join '', map { ">>> plugins/$_.lua\n$lua{$_}"
                            . ">>> plugins/$_.schema.json\n"
                            . "{\"type\": \"object\"}\n" } sort keys %lua;

our $http = <<'_EOC_';
    gw_metrics_zone 1m;
    gw_plugin_path html/plugins;
    gw_plugin_memory 16m;
    gw_plugin_budget instructions=100000;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
_EOC_

our $config = <<'_EOC_';
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location = /up { gw_metrics off; return 200 "up\n"; }
    location = /ok {
        gw_plugin m_ok '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /exit { gw_plugin m_exit '{}'; }
    location = /redis { gw_plugin m_redis '{}'; }
    location = /err { gw_plugin m_err '{}'; }
    location = /budget { gw_plugin m_budget '{}'; }
    location = /mem { gw_plugin m_mem '{}'; }
    location = /alloc {
        gw_plugin m_alloc '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $files) unless $block->user_files;
    $block->set_value('http_config', $http)
        unless defined $block->http_config;
    $block->set_value('config', $config) unless defined $block->config;
});

# the counters of a scrape: "name{labels}" => value
sub counters {
    my $body = shift;
    my %c;
    while ($body =~ /^(gw_plugin_\w+(?:_total|_bucket|_count|_sum)
                      \{[^}]*\})\ (\d+(?:\.\d+)?)$/gmx)
    {
        $c{$1} = $2;
    }
    return \%c;
}

# every scrape of a block: no counter of the previous one went down or
# disappeared; in TEST 4 the last one has the figures of m_alloc
our ($last_block, $last) = ('', undef);

add_response_body_check(sub {
    my ($block, $body, $idx, $rep, $dry_run) = @_;
    return if $dry_run || $body !~ /^# TYPE gw_plugin_calls_total /m;
    my $now = counters($body);
    if ($last_block eq $block->name && defined $last) {
        my @down = grep { !defined $now->{$_} || $now->{$_} < $last->{$_} }
                   sort keys %$last;
        is("@down", '', $block->name . " - no counter went down");
    }
    ($last_block, $last) = ($block->name, $now);

    return unless $block->name =~ /\bTEST 4:/ && $idx == 4;
    my $l = 'plugin="m_alloc",phase=';
    cmp_ok($now->{"gw_plugin_allocated_bytes_total{$l\"access\"}"} // 0,
           '>=', 3 * 2 * 1024 * 1024,
           $block->name . " - access: at least the three strings");
    cmp_ok($now->{"gw_plugin_allocated_bytes_total{$l\"header_filter\"}"}
           // -1, '<', 4096, $block->name . " - header_filter: about 0");
});

run_tests();

__DATA__

=== TEST 1: calls that went well: returned, answered with gw.exit, yielded for Redis (once each)
--- request eval
["GET /ok", "GET /ok", "GET /ok", "GET /exit", "GET /exit", "GET /redis",
 "GET /redis", "GET /metrics"]
--- response_body_like eval
["up", "up", "up", "exit", "exit", "PONG", "PONG",
 qr/\A(?=.*^\#\ TYPE\ gw_plugin_calls_total\ counter$)
     (?=.*^\#\ TYPE\ gw_plugin_seconds_total\ counter$)
     (?=.*^\#\ TYPE\ gw_plugin_memory_bytes\ gauge$)
     (?=.*^gw_plugin_calls_total\{plugin="m_ok",phase="access",result="ok"\}\ 3$)
     (?=.*^gw_plugin_calls_total\{plugin="m_ok",phase="header_filter",result="ok"\}\ 3$)
     (?=.*^gw_plugin_calls_total\{plugin="m_ok",phase="log",result="ok"\}\ 3$)
     (?=.*^gw_plugin_calls_total\{plugin="m_exit",phase="access",result="ok"\}\ 2$)
     (?=.*^gw_plugin_calls_total\{plugin="m_redis",phase="access",result="ok"\}\ 2$)
     (?=.*^gw_plugin_seconds_total\{plugin="m_ok",phase="access"\}\ \d+\.\d{6}$)
     (?=.*^gw_plugin_seconds_total\{plugin="m_redis",phase="access"\}\ \d+\.\d{6}$)
     (?=.*^gw_plugin_memory_bytes\{plugin="m_ok"\}\ [1-9]\d*$)
     (?=.*^gw_plugin_memory_bytes\{plugin="m_redis"\}\ [1-9]\d*$)
     (?!.*result="(?:error|budget|memory|timeout)")
     (?!.*plugin="m_err",phase)/msx]
--- no_error_log
[error]



=== TEST 2: a Lua error, a spent budget, the memory cap: each counted under its result
--- request eval
["GET /err", "GET /budget", "GET /mem", "GET /err", "GET /ok", "GET /metrics"]
--- error_code eval
[500, 500, 500, 500, 200, 200]
--- response_body_like eval
["plugin-failed", "plugin-failed", "plugin-failed", "plugin-failed", "up",
 qr/\A(?=.*^gw_plugin_calls_total\{plugin="m_err",phase="access",result="error"\}\ 2$)
     (?=.*^gw_plugin_calls_total\{plugin="m_budget",phase="access",result="budget"\}\ 1$)
     (?=.*^gw_plugin_calls_total\{plugin="m_mem",phase="access",result="memory"\}\ 1$)
     (?=.*^gw_plugin_calls_total\{plugin="m_ok",phase="access",result="ok"\}\ 1$)
     (?=.*^gw_plugin_seconds_total\{plugin="m_budget",phase="access"\}\ \d+\.\d{6}$)
     (?!.*plugin="m_err",phase="access",result="ok")
     (?!.*plugin="m_budget",phase="access",result="(?:ok|error)")/msx]
--- no_error_log
[crit]
[emerg]



=== TEST 3: no plugins, no plugin metrics
--- user_files
>>> plugins/README
none
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
--- request
GET /metrics
--- response_body_unlike
gw_plugin_
--- no_error_log
[error]



=== TEST 4: bytes allocated per phase, the time histogram, the cap; counters only grow
--- request eval
["GET /alloc", "GET /metrics", "GET /alloc", "GET /alloc", "GET /metrics"]
--- response_body_like eval
["up", qr/gw_plugin_allocated_bytes_total/, "up", "up",
 qr/\A(?=.*^\#\ TYPE\ gw_plugin_allocated_bytes_total\ counter$)
     (?=.*^\#\ TYPE\ gw_plugin_call_seconds\ histogram$)
     (?=.*^\#\ TYPE\ gw_plugin_memory_max_bytes\ gauge$)
     (?=.*^gw_plugin_calls_total\{plugin="m_alloc",phase="access",result="ok"\}\ 3$)
     (?=.*^gw_plugin_allocated_bytes_total\{plugin="m_alloc",phase="access"\}\ \d{7,}$)
     (?=.*^gw_plugin_allocated_bytes_total\{plugin="m_alloc",phase="header_filter"\}\ \d{1,4}$)
     (?=.*^gw_plugin_call_seconds_bucket\{plugin="m_alloc",phase="access",le="0.00001"\}\ [0-3]$)
     (?=.*^gw_plugin_call_seconds_bucket\{plugin="m_alloc",phase="access",le="\+Inf"\}\ 3$)
     (?=.*^gw_plugin_call_seconds_sum\{plugin="m_alloc",phase="access"\}\ \d+\.\d{6}$)
     (?=.*^gw_plugin_call_seconds_count\{plugin="m_alloc",phase="access"\}\ 3$)
     (?=.*^gw_plugin_call_seconds_count\{plugin="m_alloc",phase="header_filter"\}\ 3$)
     (?=.*^gw_plugin_memory_bytes\{plugin="m_alloc"\}\ [1-9]\d*$)
     (?=.*^gw_plugin_memory_max_bytes\{plugin="m_alloc"\}\ 16777216$)
     (?!.*plugin="m_alloc",phase="log")/msx]
--- no_error_log
[error]
