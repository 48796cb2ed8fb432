#!/bin/bash
# The Lua plugin runtime's benchmark (docs/plugins.md, "Cost"), for
# `make bench`: requests/s through one nginx with one worker of
#
#   /bare          proxy_pass to the upstream (the baseline)
#   /empty         the same with a plugin whose access handler does
#                  nothing (target >= 0.97 of /bare)
#   /header        a plugin setting one request header in access and one
#                  response header in the header filter (>= 0.95)
#   /header-nginx  the same two headers with proxy_set_header and
#                  add_header (a reference: what nginx's own directives
#                  cost for that rewrite)
#   /cors-nginx    the answers of the cors plugin written with add_header
#   /cors          the shipped cors plugin (>= 0.95 of /cors-nginx)
#   /lua-empty     lua-nginx-module's access_by_lua_block { return }
#   /lua-header    the same header rewrite in lua-nginx-module
#
# (the last two when Debian's libnginx-mod-http-lua is installed: the
# OpenResty-class peers, as ../shared/tools/peer-bench measures them).
# Every location gets the same request (GET with an Origin header) and
# proxies to the same upstream, a server block of the same nginx.  Before
# measuring, the answers are checked: the header plugin's header reaches
# the upstream and the client, and /cors and /cors-nginx give the same
# CORS headers.  Rounds rotate the order of the locations; each round's
# ratio to its baseline is kept and the median of those ratios is the
# figure, by req/s and by the worker's CPU time per request (user and
# system, /proc; steadier on a shared machine), with each location's
# median req/s and CPU microseconds a request.
#
# Environment: ROUNDS (12), DUR (2s: short rounds, so that a noisy
# neighbour weighs on the locations alike), CONNS (32), PORT (18480; PORT to
# PORT+1 are used), NGINX (/usr/sbin/nginx), LOCS (the locations to
# measure; a ratio needs its baseline measured too).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-12} DUR=${DUR:-2s} CONNS=${CONNS:-32} PORT=${PORT:-18480}
nginx=${NGINX:-/usr/sbin/nginx}
module="$top/build/ngx_http_gw_module.so"
UPORT=$((PORT + 1))
mods=/usr/lib/nginx/modules

[ -e "$module" ] || { echo "bench-plugins: $module is missing: run make module" >&2; exit 1; }
for c in wrk curl perl; do
    command -v $c >/dev/null || { echo "bench-plugins: $c is missing" >&2; exit 1; }
done

lua=
if [ -f $mods/ngx_http_lua_module.so ] && [ -f $mods/ndk_http_module.so ]; then
    lua=1
fi

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-plugins.XXXXXX")
cleanup() {
    [ -f "$d/nginx.pid" ] && kill "$(cat "$d/nginx.pid")" 2>/dev/null
    sleep 0.2
    rm -rf "$d"
}
trap cleanup EXIT
mkdir -p "$d/logs" "$d/plugins"
chmod 755 "$d"

# the two measured plugins, and their schemas (no configuration)
cat > "$d/plugins/empty.lua" <<'EOF'
local P = { priority = 1 }
function P.access(conf, ctx) end
return P
EOF
cat > "$d/plugins/header.lua" <<'EOF'
local P = { priority = 1 }
function P.access(conf, ctx)
    gw.req.set_header("X-Consumer-Id", "u1")
end
function P.header_filter(conf, ctx)
    gw.resp.set_header("X-Plugin", "1")
end
return P
EOF
for p in empty header; do
    echo '{"type": "object", "additionalProperties": false}' \
        > "$d/plugins/$p.schema.json"
done

cors='{"origins": ["https://app.example"], "credentials": true,
       "exposed_headers": ["X-Request-Id"], "max_age": 600}'
cors=$(echo $cors)

lua_main= lua_locs=
if [ -n "$lua" ]; then
    lua_main="load_module $mods/ndk_http_module.so;
load_module $mods/ngx_http_lua_module.so;"
    lua_locs='
        location = /lua-empty {
            access_by_lua_block { return }
            proxy_pass http://up;
        }
        location = /lua-header {
            access_by_lua_block { ngx.req.set_header("X-Consumer-Id", "u1") }
            header_filter_by_lua_block { ngx.header["X-Plugin"] = "1" }
            proxy_pass http://up;
        }'
fi

cat > "$d/nginx.conf" <<EOF
$lua_main
load_module $module;
worker_processes 1;
error_log $d/logs/error.log warn;
pid $d/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    gw_plugin_path $top/plugins trusted;
    gw_plugin_path $d/plugins trusted;
    upstream up { server 127.0.0.1:$UPORT; keepalive 64; }
    # the upstream echoes the rewritten request header only to the
    # checks (X-Bench-Check): an echo on every measured request would
    # add a response header to /header's answers alone, the upstream's
    # cost and the proxy's, not the plugin's
    map \$http_x_bench_check \$seen_consumer {
        ""       "";
        default  \$http_x_consumer_id;
    }
    server {
        listen 127.0.0.1:$UPORT;
        location / {
            add_header X-Seen-Consumer \$seen_consumer;
            return 200 "ok\n";
        }
    }
    server {
        listen 127.0.0.1:$PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /bare { proxy_pass http://up; }
        location = /empty { gw_plugin empty '{}'; proxy_pass http://up; }
        location = /header { gw_plugin header '{}'; proxy_pass http://up; }
        location = /header-nginx {
            proxy_set_header Connection "";
            proxy_set_header X-Consumer-Id u1;
            add_header X-Plugin 1;
            proxy_pass http://up;
        }
        location = /cors { gw_plugin cors '$cors'; proxy_pass http://up; }
        location = /cors-nginx {
            add_header Access-Control-Allow-Origin https://app.example always;
            add_header Access-Control-Allow-Credentials true always;
            add_header Access-Control-Expose-Headers X-Request-Id always;
            add_header Vary Origin always;
            proxy_pass http://up;
        }
$lua_locs
    }
}
EOF

"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
for i in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/bare" && break
    sleep 0.1
done

origin='Origin: https://app.example'
base="http://127.0.0.1:$PORT"

# the checks: every location answers 200, the rewrites happened, the two
# CORS locations agree
locs="/bare /empty /header /header-nginx /cors-nginx /cors"
[ -n "$lua" ] && locs="$locs /lua-empty /lua-header"
for l in $locs; do
    st=$(curl -s -o /dev/null -w '%{http_code}' -H "$origin" "$base$l")
    [ "$st" = 200 ] || { echo "bench-plugins: $l answered $st" >&2; cat "$d/logs/error.log" >&2; exit 1; }
done
for l in /header /header-nginx ${lua:+/lua-header}; do
    h=$(curl -s -D - -o /dev/null -H "$origin" -H 'X-Bench-Check: 1' \
        "$base$l" | tr -d '\r')
    echo "$h" | grep -qi '^X-Seen-Consumer: u1$' \
        || { echo "bench-plugins: $l: the request header did not reach the upstream" >&2; exit 1; }
    echo "$h" | grep -qi '^X-Plugin: 1$' \
        || { echo "bench-plugins: $l: no response header" >&2; exit 1; }
done
cors_of() {
    curl -s -D - -o /dev/null -H "$origin" "$base$1" | tr -d '\r' \
        | grep -i '^\(access-control-\|vary:\)' | tr 'A-Z' 'a-z' | sort
}
a=$(cors_of /cors) b=$(cors_of /cors-nginx)
if [ "$a" != "$b" ] || [ -z "$a" ]; then
    echo "bench-plugins: /cors and /cors-nginx differ:" >&2
    echo "$a" >&2; echo "--" >&2; echo "$b" >&2
    exit 1
fi

# "req/s:cpu": wrk's requests/s, and the worker's CPU time (user and
# system, from /proc) per request in microseconds: the second is steadier
# on a shared machine, whose neighbours change the first from round to
# round
worker=$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)
ticks() {
    awk '{ print $14 + $15 }' "/proc/$worker/stat"
}
hz=$(getconf CLK_TCK)
rps() {
    local t0 t1 out
    t0=$(ticks)
    out=$(wrk -t1 -c"$CONNS" -d"$DUR" -H "$origin" "$base$1")
    t1=$(ticks)
    echo "$out" | awk -v t="$((t1 - t0))" -v hz="$hz" '
        /requests in/ { n = $1 }
        /^Requests\/sec/ { r = $2 }
        END { printf "%d:%.2f", r, n ? t * 1e6 / hz / n : 0 }'
}

# LOCS: measure only these (the checks above ran on all)
locs=${LOCS:-$locs}
set -- $locs
n=$#
declare -A all
for round in $(seq "$ROUNDS"); do
    # rotate the order so no location always runs first or last
    order=
    k=$(( (round - 1) % n ))
    i=0
    for l in "$@"; do
        [ $i -ge $k ] && order="$order $l"
        i=$((i + 1))
    done
    i=0
    for l in "$@"; do
        [ $i -lt $k ] && order="$order $l"
        i=$((i + 1))
    done
    for l in $order; do
        all[$l]="${all[$l]:-} $(rps "$l")"
    done
done

if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$d/logs/error.log"; then
    echo "bench-plugins: errors in the log:" >&2
    grep '\[\(error\|crit\|alert\|emerg\)\]' "$d/logs/error.log" | head >&2
    exit 1
fi

{
    for l in $locs; do echo "$l ${all[$l]}"; done
} | perl -e '
    my (%r, @order);
    while (<STDIN>) {
        my ($l, @v) = split;
        $r{$l} = [@v];
        push @order, $l;
    }
    sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }
    my %base = ("/cors" => "/cors-nginx");
    my (%rps, %cpu);
    for my $l (@order) {
        $rps{$l} = [map { (split /:/)[0] } @{ $r{$l} }];
        $cpu{$l} = [map { (split /:/)[1] } @{ $r{$l} }];
    }
    printf "%-12s %8s %6s %8s %6s   %s\n", "location", "req/s", "ratio",
        "cpu_us", "ratio", "req/s by round";
    for my $l (@order) {
        my $b = $base{$l} // "/bare";
        my @rr = map { $rps{$l}[$_] / $rps{$b}[$_] } 0 .. $#{ $rps{$l} };
        my @cr = map { $cpu{$l}[$_] ? $cpu{$b}[$_] / $cpu{$l}[$_] : 0 }
                 0 .. $#{ $cpu{$l} };
        printf "%-12s %8d %6.3f %8.2f %6.3f   %s (to %s)\n",
            $l, median(@{ $rps{$l} }), median(@rr), median(@{ $cpu{$l} }),
            median(@cr), "@{ $rps{$l} }", $b;
    }
'
echo "(one nginx worker, wrk -t1 -c$CONNS, $ROUNDS rounds x $DUR; medians of"
echo " each round's ratio, by req/s and by the worker's CPU time a request;"
echo " targets: /empty >= 0.97, /header >= 0.95, /cors >= 0.95 of /cors-nginx)"
