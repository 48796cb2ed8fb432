#!/bin/bash
# The metadata service's benchmark (docs/admin-api.md, "Figures"), for
# `make bench`: one build/backends/metadata with a private redis-server,
# both on loopback in a temporary folder, the service's access log off
# (log_level error), the requests anonymous with write access (no gateway
# in front: anonymous_role write).
#
#   1. entity writes: wrk PUTs upstreams (ENTITIES of them, each request
#      the next one, so that writers do not race on one entity) over
#      keep-alive, each with If-Match: * and a changed weight, so that
#      every request is a real change: one revision, its log entry and
#      its audit event;
#   2. entity reads: wrk GETs the same upstreams;
#   3. a declarative apply (gwctl apply) of ROUTES routes and 10
#      upstreams into an empty store, then a second one changing 100 of
#      the routes: the wall time of each, as gwctl sees it.
#
# Writes and reads run ROUNDS times, alternating, and the median req/s
# and p99 latency are quoted; the applies run once per round, from an
# emptied Redis, and the median is quoted.  Environment: ROUNDS (3), DUR
# (10s), CONNS (16), THREADS (1), PORT (18295), ENTITIES (1000), ROUTES
# (10000).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
metadata="$top/build/backends/metadata"
gwctl="$top/build/gwctl"
ROUNDS=${ROUNDS:-3} DUR=${DUR:-10s} CONNS=${CONNS:-16} THREADS=${THREADS:-1}
PORT=${PORT:-18295} ENTITIES=${ENTITIES:-1000} ROUTES=${ROUTES:-10000}
RPORT=$((PORT + 1))

for b in "$metadata" "$gwctl"; do
    [ -x "$b" ] || { echo "bench-metadata: $b is missing: run make backends build/gwctl" >&2; exit 1; }
done
for c in wrk redis-server redis-cli curl perl; do
    command -v $c >/dev/null || { echo "bench-metadata: $c is missing" >&2; exit 1; }
done

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-metadata.XXXXXX")
svc= rds=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ -n "$rds" ] && kill "$rds" 2>/dev/null && wait "$rds" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$d" >"$d/redis.log" 2>&1 &
rds=$!
for i in $(seq 50); do
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

api="http://127.0.0.1:$PORT"

TOLLGATE_METADATA_LISTEN="127.0.0.1:$PORT" \
TOLLGATE_METADATA_REDIS="127.0.0.1:$RPORT" \
TOLLGATE_METADATA_ANONYMOUS_ROLE=write TOLLGATE_METADATA_LOG_LEVEL=error \
TOLLGATE_METADATA_BODY_MAX=64m \
    "$metadata" 2>"$d/metadata.log" &
svc=$!
for i in $(seq 100); do
    curl -sf "$api/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

ctl() { GWCTL_TIMEOUT=600 "$gwctl" --api "$api" "$@"; }

# the documents: ENTITIES upstreams; ROUTES routes and 10 upstreams, and
# the same with 100 routes sent to another upstream
perl -e '
    my ($n) = @ARGV;
    print "{\"entities\":{\"upstreams\":[",
          join(",", map { "{\"id\":\"u$_\",\"targets\":[{\"address\":"
                          . "\"10.1.0.1:" . (1000 + $_) . "\",\"weight\":1}]}" }
                        1 .. $n),
          "]}}";
' "$ENTITIES" > "$d/upstreams.json"

routes() {
    perl -e '
        my ($n, $changed) = @ARGV;
        print "{\"entities\":{\"upstreams\":[",
              join(",", map { "{\"id\":\"up$_\",\"targets\":[{\"address\":"
                              . "\"10.2.0.$_:80\"}]}" } 0 .. 9),
              "],\"routes\":[",
              join(",", map { my $u = $_ < $changed ? ($_ + 1) % 10 : $_ % 10;
                              "{\"id\":\"r$_\",\"paths\":[\"/api/r$_/*\"],"
                              . "\"methods\":[\"GET\",\"POST\"],"
                              . "\"upstream\":\"up$u\"}" } 0 .. $n - 1),
              "]}}";
    ' "$ROUTES" "$1"
}
routes 0 > "$d/routes.json"
routes 100 > "$d/routes2.json"

cat > "$d/write.lua" <<'LUA'
-- PUT /v1/upstreams/u<i>, i the next of ENTITIES (per thread, from a
-- different start), If-Match: *, the weight changed each time
local n = tonumber(os.getenv("ENTITIES"))
local threads = {}
function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end
function init(args)
    i = id * 7919
    w = 1
end
function request()
    i = i + 1
    w = w % 1000 + 1
    local u = "u" .. (i % n + 1)
    return wrk.format("PUT", "/v1/upstreams/" .. u,
        { ["Content-Type"] = "application/json", ["If-Match"] = "*" },
        '{"targets":[{"address":"10.1.0.1:' .. (i % n + 1001) .. '","weight":' .. w
        .. '}]}')
end
LUA

cat > "$d/read.lua" <<'LUA'
-- GET /v1/upstreams/u<i>, i the next of ENTITIES
local n = tonumber(os.getenv("ENTITIES"))
i = 0
function request()
    i = i + 1
    return wrk.format("GET", "/v1/upstreams/u" .. (i % n + 1))
end
LUA

# run NAME: wrk with the variant's script; one "rps p99_ms non2xx" line
run() {
    ENTITIES=$ENTITIES wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency \
        -s "$d/$1.lua" "$api" \
    | awk '
        /^Requests\/sec:/ { rps = $2 }
        /^ +99%/ { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
                   p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
        /Non-2xx/ { bad = $NF }
        END { printf "%d %.2f %d\n", rps, p99, bad }'
}

# apply FILE: the wall time of gwctl apply, in seconds
apply() {
    local t0 t1
    t0=$(date +%s.%N)
    ctl apply -f "$1" > "$d/apply.out" || { cat "$d/apply.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A rps p99 bad
a1= a2=
for r in $(seq "$ROUNDS"); do
    redis-cli -p "$RPORT" flushall >/dev/null
    a1="$a1 $(apply "$d/routes.json")"
    a2="$a2 $(apply "$d/routes2.json")"
    grep -q '0 created, 100 updated, 0 deleted' "$d/apply.out" \
        || { echo "bench-metadata: the second apply: $(cat "$d/apply.out")" >&2; exit 1; }

    redis-cli -p "$RPORT" flushall >/dev/null
    ctl apply -f "$d/upstreams.json" >/dev/null
    for v in write read; do
        set -- $(run $v)
        rps[$v]="${rps[$v]:-} $1"; p99[$v]="${p99[$v]:-} $2"
        bad[$v]=$(( ${bad[$v]:-0} + $3 ))
    done
done

for v in write read; do
    case $v in
    write) what="entity writes (PUT, If-Match, $ENTITIES upstreams)" ;;
    read) what="entity reads (GET, $ENTITIES upstreams)" ;;
    esac
    echo "metadata $what, $CONNS connections: $(echo ${rps[$v]} | median) req/s, p99 $(echo ${p99[$v]} | median) ms (rounds:${rps[$v]}; non-2xx: ${bad[$v]})"
    echo "    wrk -t$THREADS -c$CONNS -d$DUR --latency -s $v.lua $api"
done
echo "metadata declarative apply of $ROUTES routes and 10 upstreams into an empty store: $(echo $a1 | median) s (rounds: $a1)"
echo "metadata declarative apply changing 100 of the $ROUTES routes: $(echo $a2 | median) s (rounds: $a2)"
echo "    gwctl --api $api apply -f routes.json ($(wc -c < "$d/routes.json") bytes)"
