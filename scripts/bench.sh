#!/bin/bash
# `make bench`: requests/s of Tollgate's locations against bare nginx
# proxying to the same local upstream, all in one nginx and one run, with
# a private redis-server for API keys and global rate limits.  The
# variants alternate over ROUNDS rounds and the median of each is quoted,
# with its ratio to bare.  wrk runs on loopback only.
#
# Rate limits: /limit-req is nginx's own limit_req, /limit-local the same
# load through gw_limit in its shared-memory zone, /limit-global through
# gw_limit in Redis (the worker's concurrent requests of the key decided
# by one script run: gw_limit_batch 64), /limit-global-1 the same one
# script per request (gw_limit_batch 1), /limit-lease through a
# global quota in lease mode (admissions leased to the gateway); each
# limit is high enough that no request is refused (the non-2xx column
# counts any that were).  For the Redis modes and /chain-global, the
# Redis scripts run per request (INFO commandstats' EVAL and EVALSHA calls around each
# run).  gw_limit is also quoted against limit_req.  Then, when
# scripts/limit-accuracy.pl exists, its verdict on two gateways sharing
# one global limit, in global and in lease mode.
#
# /obs-on and /obs-off are the same proxied route with Prometheus
# metrics and the JSON access log (buffered) on, and with both off; their
# ratio is printed last (/obs-metrics and /obs-log, each alone, and
# /obs-combined, nginx's own "combined" log for reference, can be added
# to LOCS).
#
# Remote keys: /rs256-jwks and /es256-jwks verify the same tokens (with
# a kid) as /rs256 and /es256 with keys from a JWKS URL the upstream
# server serves (gw_jwt_jwks_url), verified-token cache on; add them to
# LOCS, e.g. LOCS="/rs256 /rs256-jwks /es256 /es256-jwks".
#
# Validation: /validate POSTs a 1 KiB JSON order through gw_validate_body,
# quoted against /bare-post, bare proxying of the same POST.  Every POST
# location gets the same request, byte for byte: the order, its
# Content-Type, the chain's API key and its RS256 token (where nothing
# checks them, nginx still reads them and proxies them upstream), so
# that a ratio measures what a location does, not the size of what it
# was sent.  /bare-post-min is the order without the two credentials,
# for reference.
#
# The chain a real API runs, on one route: /chain POSTs the same order
# through an API key, an RS256 JWT (verified-token cache on), a global
# quota in lease mode, the body's schema check, metrics and the JSON
# access log; /chain-global is the same with a global rate decided in
# Redis for every request.  Both are quoted against /bare-post.  Then
# PAIRS (5) paired rounds of /bare-post, /chain and /chain-global, in
# turn and in alternating order (a, b, c then c, b, a), give the median
# of the pairs' ratios, the figure the target is quoted by: each pair ran
# within seconds, under the same load, where medians over a whole run
# follow whatever else the machine did meanwhile.
#
# Environment: ROUNDS (5), DUR (5s), PAIRS (5; 0 skips them), CONNS (32), PORT (18180),
# NGINX (/usr/sbin/nginx), LOCS (the locations to measure), ACCURACY (1;
# 0 skips limit-accuracy.pl).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5} DUR=${DUR:-5s} PAIRS=${PAIRS:-5} CONNS=${CONNS:-32} PORT=${PORT:-18180}
nginx=${NGINX:-/usr/sbin/nginx}
all="/bare /rs256-nocache /rs256 /hs256-nocache /hs256 /key /key-nocache"
all="$all /limit-req /limit-local /limit-global /limit-global-1"
all="$all /limit-lease /obs-off"
all="$all /obs-on"
all="$all /bare-post /bare-post-min /validate /chain /chain-global"
LOCS=${LOCS:-$all}
# every ratio is to bare: measure it whatever LOCS says
case " $LOCS " in *" /bare "*) ;; *) LOCS="/bare $LOCS" ;; esac
ACCURACY=${ACCURACY:-1}
redis_server=${REDIS_SERVER:-redis-server}

d=$(mktemp -d "$top/build/bench.XXXXXX")
trap 'kill $(cat "$d/nginx.pid" "$d/redis.pid" 2>/dev/null) 2>/dev/null; rm -rf "$d"' EXIT
mkdir -p "$d/logs"
# run as root, the nginx worker is nobody and re-reads the key files
chmod 755 "$d"

"$redis_server" --port $((PORT + 2)) --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$d" --pidfile "$d/redis.pid" --daemonize yes \
    --logfile "$d/logs/redis.log"
gwctl="$top/build/gwctl --redis 127.0.0.1:$((PORT + 2))"
for i in $(seq 50); do $gwctl consumer list >/dev/null 2>&1 && break; sleep 0.1; done
$gwctl consumer add bench >/dev/null
KEY=$($gwctl key create bench)

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$d/rsa.key" 2>/dev/null
openssl pkey -in "$d/rsa.key" -pubout -out "$d/rsa.pem"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/hmac.secret"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$d/ec.key" 2>/dev/null
openssl pkey -in "$d/ec.key" -pubout -out "$d/ec.pem"

# the same public keys as a JWKS the upstream server serves, for the
# locations that take their keys from a JWKS URL (gw_jwt_jwks_url)
perl -I"$top/t/lib" -MTollgate::JWT=public_jwk -MJSON::PP -e '
    print JSON::PP->new->canonical->encode({ keys => [
        public_jwk($ARGV[0], kid => "rsa-1", use => "sig"),
        public_jwk($ARGV[1], kid => "ec-1", use => "sig") ] })' \
    "$d/rsa.pem" "$d/ec.pem" > "$d/jwks.json"

now=$(date +%s)
claims="{\"iss\":\"https://issuer.test\",\"aud\":\"tollgate\",\"sub\":\"u1\",\"iat\":$now,\"exp\":$((now + 86400))}"
RS=$("$top/scripts/mint.sh" RS256 "$d/rsa.key" "$claims")
HS=$("$top/scripts/mint.sh" HS256 "$d/hmac.secret" "$claims")
RSK=$("$top/scripts/mint.sh" RS256 "$d/rsa.key" "$claims" rsa-1)
ESK=$(perl -I"$top/t/lib" -MTollgate::JWT=jwt -e '
    print jwt(alg => "ES256", kid => "ec-1", key => $ARGV[0],
              payload => $ARGV[1])' "$d/ec.key" "$claims")

# a JSON order of about 1 KiB, its schema, and wrk's script to POST it
items=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    items="$items${items:+,}{\"sku\":\"SKU-00$i\",\"qty\":$i,\"price\":$i.25,"
    items="$items\"tags\":[\"a\",\"b\"],\"gift\":false}"
done
printf '{"id":"ord-2026-000123","customer":{"id":"c-42","email":"%s",%s},%s}' \
    'ada@example.test' '"name":"Ada Lovelace","tier":"gold"' \
    "\"currency\":\"EUR\",\"items\":[$items],\"note\":\"leave at the door, ring twice, thanks!\"" \
    > "$d/order.json"
cat > "$d/order.schema.json" <<'EOF'
{"type": "object", "required": ["id", "customer", "items"],
 "properties": {
   "id": {"type": "string", "pattern": "^ord-[0-9]{4}-[0-9]{6}$"},
   "customer": {"type": "object", "required": ["id", "email"],
     "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                    "name": {"type": "string", "maxLength": 200},
                    "tier": {"enum": ["free", "silver", "gold"]}}},
   "currency": {"type": "string", "minLength": 3, "maxLength": 3},
   "items": {"type": "array", "minItems": 1, "maxItems": 100,
     "items": {"type": "object", "required": ["sku", "qty", "price"],
       "additionalProperties": false,
       "properties": {"sku": {"type": "string"},
                      "qty": {"type": "integer", "minimum": 1},
                      "price": {"type": "number", "minimum": 0},
                      "tags": {"type": "array", "items": {"type": "string"}},
                      "gift": {"type": "boolean"}}}},
   "note": {"type": "string"}}}
EOF
cat > "$d/post.lua" <<EOF
local f = io.open("$d/order.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
{ cat "$d/post.lua"; echo "wrk.headers[\"X-API-Key\"] = \"$KEY\""; } \
    > "$d/chain.lua"

jwt_loc() {
    cat <<EOF
        location = $1 {
            gw_jwt           bench;
            gw_jwt_key_file  $2;
            gw_jwt_issuer    https://issuer.test;
            gw_jwt_audience  tollgate;
            gw_jwt_cache     $3;
            proxy_pass       http://up;
        }
EOF
}

# the same with keys from the JWKS URL of the upstream server
jwks_loc() {
    cat <<EOF
        location = $1 {
            gw_jwt           bench;
            gw_jwt_jwks_url  http://127.0.0.1:$((PORT + 1))/jwks.json;
            gw_jwt_issuer    https://issuer.test;
            gw_jwt_audience  tollgate;
            gw_jwt_cache     $2;
            proxy_pass       http://up;
        }
EOF
}

cat > "$d/nginx.conf" <<EOF
load_module $top/build/ngx_http_gw_module.so;
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
    gw_jwt_cache_zone 10m;
    gw_redis 127.0.0.1:$((PORT + 2));
    # rates no load here reaches: every request passes each limit, so
    # these figures are the cost of deciding, not of refusing.  limit_req
    # has no ceiling of its own below this; gw_limit's is 100000r/s
    limit_req_zone \$binary_remote_addr zone=bench:10m rate=1000000r/s;
    gw_metrics_zone 4m;
    gw_metrics off;
    include $top/conf/log-json.conf;
    upstream up { server 127.0.0.1:$((PORT + 1)); keepalive 64; }
    server {
        listen 127.0.0.1:$((PORT + 1));
        location / { return 200 "ok\n"; }
        location = /jwks.json { alias $d/jwks.json; }
    }
    server {
        listen 127.0.0.1:$PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /bare { proxy_pass http://up; }
$(jwt_loc /rs256-nocache "$d/rsa.pem" off)
$(jwt_loc /rs256 "$d/rsa.pem" on)
$(jwt_loc /hs256-nocache "$d/hmac.secret format=hmac" off)
$(jwt_loc /hs256 "$d/hmac.secret format=hmac" on)
$(jwt_loc /es256 "$d/ec.pem" on)
$(jwks_loc /rs256-jwks on)
$(jwks_loc /es256-jwks on)
        location = /key { gw_key_auth bench; proxy_pass http://up; }
        location = /key-nocache {
            gw_key_auth bench;
            gw_key_auth_cache_ttl 0;
            proxy_pass http://up;
        }
        location = /limit-req {
            limit_req zone=bench burst=100000 nodelay;
            proxy_pass http://up;
        }
        location = /limit-local {
            gw_limit bench key=\$binary_remote_addr rate=100000r/s
                     burst=100000;
            proxy_pass http://up;
        }
        location = /bare-post { proxy_pass http://up; }
        location = /bare-post-min { proxy_pass http://up; }
        location = /validate {
            gw_validate_body $d/order.schema.json;
            proxy_pass http://up;
        }
        location = /limit-global {
            gw_limit gbench key=\$binary_remote_addr rate=100000r/s
                     burst=100000 mode=global;
            proxy_pass http://up;
        }
        location = /limit-global-1 {
            gw_limit_batch 1;
            gw_limit gbench1 key=\$binary_remote_addr rate=100000r/s
                     burst=100000 mode=global;
            proxy_pass http://up;
        }
        location = /limit-lease {
            gw_limit lbench key=\$binary_remote_addr quota=1000000000/h
                     mode=lease;
            proxy_pass http://up;
        }
        location = /chain {
            gw_key_auth      bench;
            gw_jwt           bench;
            gw_jwt_key_file  $d/rsa.pem;
            gw_jwt_issuer    https://issuer.test;
            gw_jwt_audience  tollgate;
            gw_limit cbench key=\$binary_remote_addr quota=1000000000/h
                     mode=lease;
            gw_validate_body $d/order.schema.json;
            gw_route chain;
            gw_metrics on;
            access_log $d/logs/access-chain.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /chain-global {
            gw_key_auth      bench;
            gw_jwt           bench;
            gw_jwt_key_file  $d/rsa.pem;
            gw_jwt_issuer    https://issuer.test;
            gw_jwt_audience  tollgate;
            gw_limit cgbench key=\$binary_remote_addr rate=100000r/s
                     burst=100000 mode=global;
            gw_validate_body $d/order.schema.json;
            gw_route chain-global;
            gw_metrics on;
            access_log $d/logs/access-chain.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /obs-off { proxy_pass http://up; }
        location = /obs-on {
            gw_route bench;
            gw_metrics on;
            access_log $d/logs/access.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /obs-metrics { gw_route bench-m; gw_metrics on; proxy_pass http://up; }
        location = /obs-log {
            access_log $d/logs/access-only.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /obs-combined {
            access_log $d/logs/access-combined.log combined buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /metrics { gw_metrics_endpoint; }
    }
}
EOF

"$nginx" -p "$d" -c "$d/nginx.conf" || { cat "$d/logs/error.log"; exit 1; }
sleep 0.5

# the credential header a location needs
auth_for() {
    case $1 in
    /rs256-jwks) echo "Authorization: Bearer $RSK" ;;
    /es256*) echo "Authorization: Bearer $ESK" ;;
    /rs256*) echo "Authorization: Bearer $RS" ;;
    /hs256*) echo "Authorization: Bearer $HS" ;;
    /key*) echo "X-API-Key: $KEY" ;;
    /chain*|/bare-post|/validate) echo "Authorization: Bearer $RS" ;;
    *) echo "X-None: none" ;;
    esac
}

# wrk's options for a location: the POST script for the POST ones
wrk_opts() {
    case $1 in
    /bare-post-min) echo "-s $d/post.lua" ;;
    /chain*|/bare-post|/validate) echo "-s $d/chain.lua" ;;
    esac
}

for loc in $LOCS; do
    post=
    [ -z "$(wrk_opts "$loc")" ] \
        || post="-H Content-Type:application/json --data-binary @$d/order.json"
    key=X-None:none
    case $loc in /chain*|/bare-post|/validate) key="X-API-Key:$KEY" ;; esac
    # shellcheck disable=SC2086
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$(auth_for "$loc")" \
           -H "$key" $post "http://127.0.0.1:$PORT$loc")
    if [ "$code" != 200 ]; then
        echo "bench: $loc answers $code, not 200" >&2
        exit 1
    fi
done

echo "bench: wrk -t1 -c$CONNS -d$DUR, $ROUNDS rounds, one nginx worker"

# the scripts Redis ran without an error (key auth runs some too)
scripts_run() {
    redis-cli -p $((PORT + 2)) INFO commandstats | tr -d '\r' \
        | awk -F'[:=,]' '/^cmdstat_eval(sha)?:/ { n += $3 - $11 }
                         END { print n + 0 }'
}

# the worker's CPU time in clock ticks (user and system): a second view
# of the cost, which does not count the time the worker waited for a CPU
master=$(cat "$d/nginx.pid")
worker=$(cat "/proc/$master/task/$master/children" 2>/dev/null \
         || pgrep -P "$master")
worker=${worker%% *}
tick=$(getconf CLK_TCK)
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$worker/stat"
}

# the error log's lines before the rounds (the checks' requests may
# find Redis not yet connected)
logstart=$(wc -l < "$d/logs/error.log")

# wrk prints "Non-2xx or 3xx responses: N" only when N > 0
declare -A res one cpu bad total runs

# one wrk run of location $1 in round $2: its req/s, CPU, answers
measure() {
    local loc=$1 i=$2 t0 t1 out rps n reqs
    case $loc in /limit-global*|/limit-lease|/chain-global)
        runs[$loc]=$((${runs[$loc]:-0} - $(scripts_run))) ;;
    esac
    t0=$(cpu_ticks)
    # shellcheck disable=SC2046
    out=$(wrk -t1 -c"$CONNS" -d"$DUR" -H "$(auth_for "$loc")" \
          $(wrk_opts "$loc") "http://127.0.0.1:$PORT$loc")
    t1=$(cpu_ticks)
    case $loc in /limit-global*|/limit-lease|/chain-global)
        runs[$loc]=$((${runs[$loc]} + $(scripts_run))) ;;
    esac
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    n=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    reqs=$(echo "$out" | awk '/ requests in / {print $1}')
    res[$loc]="${res[$loc]:-} $rps"
    one[$loc,$i]=$rps
    cpu[$loc]="${cpu[$loc]:-} $(awk -v t=$((t1 - t0)) -v n="$reqs" \
        -v hz="$tick" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
    bad[$loc]=$((${bad[$loc]:-0} + ${n:-0}))
    total[$loc]=$((${total[$loc]:-0} + ${reqs:-0}))
}

for ((i = 1; i <= ROUNDS; i++)); do
    for loc in $LOCS; do
        measure "$loc" "$i"
    done
done

median() {
    tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'
}

# req/s and its ratio to bare; the worker's CPU microseconds per request
# (the upstream's share included) and bare's divided by it, a ratio of
# the same sense (1.000: as cheap as bare)
declare -A med mcpu
base=$(echo "${res[/bare]}" | median)
cbase=$(echo "${cpu[/bare]}" | median)
printf '%-14s %8s %6s %7s %6s %8s   %s\n' location 'req/s' ratio \
    'cpu-us' ratio non-2xx 'req/s by round'
for loc in $LOCS; do
    med[$loc]=$(echo "${res[$loc]}" | median)
    mcpu[$loc]=$(echo "${cpu[$loc]}" | median)
    printf '%-14s %8.0f %6.3f %7.2f %6.3f %8d  %s\n' "$loc" "${med[$loc]}" \
        "$(ratio "${med[$loc]}" "$base")" "${mcpu[$loc]}" \
        "$(ratio "$cbase" "${mcpu[$loc]}")" "${bad[$loc]}" "${res[$loc]}"
done

# gw_limit against limit_req: the ratio of the medians, the median of
# each round's ratio (the two ran seconds apart, under the same load),
# and by CPU per request (limit_req's divided by gw_limit's)
if [ -n "${med[/limit-local]:-}" ] && [ -n "${med[/limit-req]:-}" ]; then
    per=
    for ((i = 1; i <= ROUNDS; i++)); do
        per="$per $(ratio "${one[/limit-local,$i]}" "${one[/limit-req,$i]}")"
    done
    printf 'gw_limit local / limit_req (target >= 0.95): req/s %.3f, ' \
        "$(ratio "${med[/limit-local]}" "${med[/limit-req]}")"
    printf 'by round %.3f, cpu %.3f\n' "$(echo "$per" | median)" \
        "$(ratio "${mcpu[/limit-req]}" "${mcpu[/limit-local]}")"
fi

# validation of a 1 KiB body against proxying the same POST bare
if [ -n "${med[/validate]:-}" ] && [ -n "${med[/bare-post]:-}" ]; then
    per=
    for ((i = 1; i <= ROUNDS; i++)); do
        per="$per $(ratio "${one[/validate,$i]}" "${one[/bare-post,$i]}")"
    done
    printf 'gw_validate_body 1 KiB / bare POST (target >= 0.85): req/s %.3f, ' \
        "$(ratio "${med[/validate]}" "${med[/bare-post]}")"
    printf 'by round %.3f, cpu %.3f\n' "$(echo "$per" | median)" \
        "$(ratio "${mcpu[/bare-post]}" "${mcpu[/validate]}")"
fi

# the whole chain against proxying the same POST bare
for loc in /chain /chain-global; do
    [ -n "${med[$loc]:-}" ] && [ -n "${med[/bare-post]:-}" ] || continue
    per=
    for ((i = 1; i <= ROUNDS; i++)); do
        per="$per $(ratio "${one[$loc,$i]}" "${one[/bare-post,$i]}")"
    done
    printf '%s (key + RS256 + limit + schema + metrics + log) / bare POST' \
        "$loc"
    printf ' (target >= 0.80): req/s %.3f, by round %.3f, cpu %.3f\n' \
        "$(ratio "${med[$loc]}" "${med[/bare-post]}")" \
        "$(echo "$per" | median)" \
        "$(ratio "${mcpu[/bare-post]}" "${mcpu[$loc]}")"
done

# the paired rounds: /bare-post, /chain and /chain-global in turn, the
# order reversed every other pair, each pair's ratios kept; their median
# (and range) is the figure the target is quoted by
case " $LOCS " in *" /bare-post "*) ;; *) PAIRS=0 ;; esac
case " $LOCS " in *" /chain "*) ;; *) PAIRS=0 ;; esac
if [ "$PAIRS" -gt 0 ]; then
    plocs="/bare-post /chain"
    case " $LOCS " in *" /chain-global "*) plocs="$plocs /chain-global" ;; esac
    declare -A pr
    for ((p = 1; p <= PAIRS; p++)); do
        order=$plocs
        [ $((p % 2)) = 0 ] && order=$(echo "$plocs" | tr ' ' '\n' | tac | xargs)
        for loc in $order; do
            measure "$loc" "p$p"
        done
        for loc in $plocs; do
            [ "$loc" = /bare-post ] && continue
            pr[$loc]="${pr[$loc]:-} $(ratio "${one[$loc,p$p]}" \
                                         "${one[/bare-post,p$p]}")"
        done
    done
    for loc in $plocs; do
        [ "$loc" = /bare-post ] && continue
        printf '%s / bare POST, %d paired rounds (target >= 0.80): ' \
            "$loc" "$PAIRS"
        printf 'median %.3f, range %s..%s, pairs:%s\n' \
            "$(echo "${pr[$loc]}" | median)" \
            "$(echo "${pr[$loc]}" | tr ' ' '\n' | grep . | sort -n | head -1)" \
            "$(echo "${pr[$loc]}" | tr ' ' '\n' | grep . | sort -n | tail -1)" \
            "$(echo "${pr[$loc]}" | awk '{ for (i = 1; i <= NF; i++)
                                            printf " %.3f", $i }')"
    done
fi

# the chain against the same order sent without its credentials (what
# bare POST meant before every POST location got the same request)
for loc in /chain /chain-global; do
    [ -n "${med[$loc]:-}" ] && [ -n "${med[/bare-post-min]:-}" ] || continue
    printf '%s / bare POST without the credential headers: req/s %.3f\n' \
        "$loc" "$(ratio "${med[$loc]}" "${med[/bare-post-min]}")"
done

# a global limit must be decided in Redis, not by the local fallback:
# one script run per request without batching (its state expires within
# microseconds at this rate, so Redis keeps no key to look at), and with
# it, script runs and no fallback (which logs that it took over)
for loc in /limit-global /limit-global-1 /chain-global; do
    [ -n "${med[$loc]:-}" ] || continue
    echo "$loc: ${total[$loc]} requests measured," \
         "${runs[$loc]} limit scripts run by Redis"
    if [ "${runs[$loc]}" -eq 0 ] \
       || { [ "$loc" = /limit-global-1 ] \
            && [ "${runs[$loc]}" -lt "${total[$loc]}" ]; } \
       || tail -n +$((logstart + 1)) "$d/logs/error.log" \
          | grep 'global limits fall back' >&2
    then
        echo "bench: $loc was not decided in Redis" >&2
        exit 1
    fi
done

# the Redis scripts per request and req/s against bare of each mode
for loc in /limit-global /limit-global-1 /limit-lease /chain-global; do
    [ -n "${med[$loc]:-}" ] || continue
    printf '%s: Redis scripts per request %.4f (%d for %d), ' "$loc" \
        "$(ratio "${runs[$loc]}" "${total[$loc]}")" "${runs[$loc]}" \
        "${total[$loc]}"
    printf 'req/s %.3f of bare\n' "$(ratio "${med[$loc]}" "$base")"
done

# anything logged at warn or above: a global limit falling back, errors
if grep -E '\[(warn|error|crit|alert|emerg)\]' "$d/logs/error.log" >&2; then
    echo "bench: the lines above are from nginx's error log" >&2
fi

if [ "$ACCURACY" != 0 ] && [ -f "$top/scripts/limit-accuracy.pl" ]; then
    for mode in global lease; do
        if acc=$(perl "$top/scripts/limit-accuracy.pl" --mode $mode 2>&1)
        then
            echo "$acc" | tail -n 1
        else
            echo "bench: limit-accuracy.pl --mode $mode failed:" >&2
            echo "$acc" | tail -n 5 >&2
            exit 1
        fi
    done
fi

for loc in $LOCS; do
    if [ "${bad[$loc]}" != 0 ]; then
        echo "bench: $loc had ${bad[$loc]} non-2xx answers" >&2
        exit 1
    fi
done

# metrics and logging: on against off, round by round and as medians
if [ -n "${res[/obs-on]:-}" ] && [ -n "${res[/obs-off]:-}" ]; then
    on=$(echo "${res[/obs-on]}" | median)
    off=$(echo "${res[/obs-off]}" | median)
    ratios=$(paste -d' ' <(echo "${res[/obs-on]}" | tr ' ' '\n' | grep .) \
                         <(echo "${res[/obs-off]}" | tr ' ' '\n' | grep .) \
             | awk '{ printf "%.3f ", $1 / $2 }')
    printf 'metrics+log on/off: %.3f (medians), per round: %s\n' \
        "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "$ratios"
    printf 'per-round median: %s\n' "$(echo "$ratios" | median)"
    con=$(echo "${cpu[/obs-on]}" | median)
    coff=$(echo "${cpu[/obs-off]}" | median)
    printf 'worker CPU per request on %s us, off %s us: off/on %.3f\n' \
        "$con" "$coff" "$(awk -v a="$coff" -v b="$con" 'BEGIN { print a / b }')"
    curl -s "http://127.0.0.1:$PORT/metrics" \
        | grep -E '^gw_http_requests_total\{route="bench"' || :
fi
