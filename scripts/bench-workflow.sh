#!/bin/bash
# The workflow service's benchmark (docs/workflow.md, "The service"), for
# `make bench`: one build/backends/workflow and a private redis-server
# with AOF on and appendfsync everysec (as in production), both on
# loopback on free ports, in a temporary folder; every process on the
# same cores.  Printed, never asserted.
#
#   1. transitions/s: EXECS executions (about: wrk is stopped once the
#      service counts that many) of a 20-state loop (18 Pass, a Pass counting
#      with States.MathAdd, a Choice back to the first) run LOOPS times
#      each, all in flight at once; the rate is the service's
#      workflow_transitions_total over the time from the first start to
#      the last end (workflow_executions_ended_total, polled every
#      50 ms).  In the same run, Redis' own limit: redis-benchmark
#      EVALSHA of a script that does what one transition does (a check
#      and a write of the execution's hash, a history entry, gw:wf:due),
#      and SET, at 4 connections pipelining 50 (200 in flight, as the
#      executions were), and the ratio of the two.  Target: 4,000
#      transitions/s.
#   2. StartExecution: wrk POSTs /v1/executions of a two-state
#      definition for SECS s at each of CONNS connections (a closed loop:
#      the rate is what that concurrency gets), with p50 and p99; the
#      platform's promise is p99 < 50 ms for internal calls: the highest
#      rate that keeps it is reported, and the highest rate.
#   3. memory per parked execution: on a restarted service and an
#      emptied Redis, PARK executions started by wrk at 64 connections
#      (about PARK: wrk is stopped once the service counts them) into a Wait
#      of 86400 s, then PARK more into a tollgate:callback.waitForTaskToken
#      task (TimeoutSeconds 86400); each group counted RUNNING
#      (gw:wf:ls:<def>:RUNNING) and due (gw:wf:due, ZCARD; and how many
#      within the hour: none should be) once each has stored its one
#      transition and none is worked, a sample of 100 checked for its
#      phase;
#      Redis' used_memory delta / N and the service's RSS before and
#      after.
#
# Environment: EXECS (200), LOOPS (25), SECS (10), CONNS ("1 4 16 64 256"),
# PARK (100000), WORKFLOW (build/backends/workflow: the binary), REDIS_SERVER
# (redis-server).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
EXECS=${EXECS:-200} LOOPS=${LOOPS:-25} SECS=${SECS:-10}
CONNS=${CONNS:-1 4 16 64 256} PARK=${PARK:-100000}
redis_server=${REDIS_SERVER:-redis-server}
svc_bin=${WORKFLOW:-$top/build/backends/workflow}

[ -x "$svc_bin" ] || { echo "bench-workflow: $svc_bin is missing: run make backends" >&2; exit 1; }
for c in wrk curl perl redis-cli redis-benchmark openssl "$redis_server"; do
    command -v "$c" >/dev/null || { echo "bench-workflow: $c is missing (auto/deps bench)" >&2; exit 1; }
done

# two free ports on the loopback
ports=$(perl -MIO::Socket::INET -e '
    my @s = map { IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                  LocalPort => 0, Listen => 1) or die } 1 .. 2;
    print join(" ", map { $_->sockport } @s), "\n";')
set -- $ports
RPORT=$1 SPORT=$2
svc_url="http://127.0.0.1:$SPORT"

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-workflow.XXXXXX")
svc= rds=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ -n "$rds" ] && kill "$rds" 2>/dev/null && wait "$rds" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

"$redis_server" --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync everysec --dir "$d" \
    >"$d/redis.log" 2>&1 &
rds=$!
for i in $(seq 50); do
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done
rcli() { redis-cli -p "$RPORT" "$@"; }

openssl rand -hex 32 > "$d/secret.key"
chmod 600 "$d/secret.key"

start_svc() {
    TOLLGATE_WORKFLOW_LISTEN="127.0.0.1:$SPORT" \
    TOLLGATE_WORKFLOW_REDIS="127.0.0.1:$RPORT" \
    TOLLGATE_WORKFLOW_SECRET_KEY_FILE="$d/secret.key" \
    TOLLGATE_WORKFLOW_LOG_LEVEL=warn \
        "$svc_bin" 2>>"$d/svc.log" &
    svc=$!
    for i in $(seq 100); do
        curl -sf -o /dev/null "$svc_url/readyz" && return 0
        sleep 0.1
    done
    echo "bench-workflow: the service did not start:" >&2
    tail -5 "$d/svc.log" >&2
    exit 1
}

stop_svc() {
    kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    svc=
}

# the sum of a metric's series
metric() {
    curl -s "$svc_url/metrics" \
        | awk -v m="$1" '{ k = $1; sub(/\{.*/, "", k) }
                         k == m { v += $2 }
                         END { printf "%d\n", v }'
}

# one series' value: series 'name{label="v",...}'
series() {
    curl -s "$svc_url/metrics" \
        | awk -v m="$1" '$1 == m { v = $2 } END { printf "%d\n", v }'
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$svc/status"; }
used_memory() { rcli info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
now_ms() { date +%s%3N; }

H_ID='X-Consumer-ID: bench'
H_ADMIN='X-Consumer-Scope: workflow:admin'

# define NAME FILE: the definition in FILE put as NAME
define() {
    code=$(curl -s -o "$d/define.out" -w '%{http_code}' -X POST \
               -H "$H_ID" -H "$H_ADMIN" -H 'Content-Type: application/json' \
               --data-binary "{\"name\":\"$1\",\"definition\":$(cat "$2")}" \
               "$svc_url/v1/definitions")
    case $code in
    200|201) ;;
    *) echo "bench-workflow: definition $1: $code $(cat "$d/define.out")" >&2
       exit 1 ;;
    esac
}

# wrk_script FILE BODY: a wrk script POSTing BODY to /v1/executions
wrk_script() {
    {
        echo 'wrk.method = "POST"'
        printf "wrk.body = '%s'\n" "$2"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo 'wrk.headers["X-Consumer-ID"] = "bench"'
    } > "$1"
}

# post_n N CONC BODY: about N starts of BODY from CONC connections (wrk,
# two threads, stopped once the service counts N more starts: wrk's own
# thread stop still sleeps its whole duration)
post_n() {
    local s0 w
    s0=$(metric workflow_executions_started_total)
    wrk_script "$d/n.lua" "$3"
    wrk -t2 -c"$2" -d600s -s "$d/n.lua" "$svc_url/v1/executions" \
        >/dev/null 2>&1 &
    w=$!
    for i in $(seq 60000); do
        [ $(( $(metric workflow_executions_started_total) - s0 )) -ge "$1" ] \
            && break
        kill -0 "$w" 2>/dev/null || break
        sleep 0.01
    done
    kill "$w" 2>/dev/null
    wait "$w" 2>/dev/null || :
}

# ---- the definitions ------------------------------------------------------

# the loop: Init, S01..S18, Inc, Loop (a Choice back to S01), Done
perl -e '
    my %s = (Init => { Type => "Pass", Next => "S01",
                       Parameters => { n => 0, "max.\$" => "\$.max" } },
             Inc => { Type => "Pass", Next => "Loop",
                      Parameters => { "n.\$" => "States.MathAdd(\$.n, 1)",
                                      "max.\$" => "\$.max" } },
             Loop => { Type => "Choice", Default => "Done",
                       Choices => [ { Variable => "\$.n",
                                      NumericLessThanPath => "\$.max",
                                      Next => "S01" } ] },
             Done => { Type => "Succeed" });
    for my $i (1 .. 18) {
        $s{sprintf "S%02d", $i} = { Type => "Pass",
            Next => $i < 18 ? sprintf("S%02d", $i + 1) : "Inc" };
    }
    print "{\"StartAt\":\"Init\",\"States\":{",
          join(",", map { my $v = $s{$_}; "\"$_\":" . enc($v) } sort keys %s),
          "}}\n";
    sub enc {
        my ($v) = @_;
        return "[" . join(",", map { enc($_) } @$v) . "]" if ref $v eq "ARRAY";
        return "{" . join(",", map { "\"$_\":" . enc($v->{$_}) }
                                   sort keys %$v) . "}" if ref $v eq "HASH";
        return $v =~ /^\d+$/ ? $v : "\"$v\"";
    }' > "$d/loop.json"

echo '{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}' \
    > "$d/tiny.json"
echo '{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"Next":"E"},"E":{"Type":"Succeed"}}}' \
    > "$d/park-wait.json"
echo '{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"tollgate:callback.waitForTaskToken","TimeoutSeconds":86400,"Parameters":{"token.$":"$$.Task.Token"},"End":true}}}' \
    > "$d/park-callback.json"

# the script one transition is measured against: what the service's step
# does to Redis, in size (a seq check, six fields of the execution's hash,
# one history event, its entry in gw:wf:due)
cat > "$d/step.lua" <<'LUA'
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
redis.call('HSET', KEYS[1], 'seq', seq + 1, 'state', ARGV[1],
           'sin', ARGV[2], 'phase', 'enter', 'entered', ARGV[3],
           'retries', '')
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('LTRIM', KEYS[2], -1000, -1)
redis.call('ZADD', 'gw:wf:due', ARGV[3], KEYS[1])
return seq + 1
LUA

start_svc
define loop "$d/loop.json"
define tiny "$d/tiny.json"

echo "== workflow: the service and its Redis (AOF on, appendfsync everysec), loopback, $(nproc) cores"

# ---- 1. transitions/s ------------------------------------------------------

tr0=$(metric workflow_transitions_total)
en0=$(metric workflow_executions_ended_total)
t0=$(now_ms)
post_n "$EXECS" 64 "{\"definition\":\"loop\",\"input\":{\"max\":$LOOPS}}"
started=$(metric workflow_executions_started_total)
ended=0
for i in $(seq 12000); do
    ended=$(( $(metric workflow_executions_ended_total) - en0 ))
    [ "$ended" -ge "$started" ] && break
    sleep 0.05
done
t1=$(now_ms)
trans=$(( $(metric workflow_transitions_total) - tr0 ))
ms=$(( t1 - t0 > 0 ? t1 - t0 : 1 ))
trate=$(( trans * 1000 / ms ))
ok=$(rcli zcard gw:wf:ls:loop:SUCCEEDED)

sha=$(rcli script load "$(cat "$d/step.lua")")
ev='{"type":"PassStateExited","state":"S07","output":{"n":3,"max":25},"at":1796600000000}'
eval_rate=$(redis-benchmark -p "$RPORT" -n 200000 -c 4 -P 50 -r 100000 -q \
                EVALSHA "$sha" 2 bench:x:__rand_int__ bench:h:__rand_int__ \
                S07 '{"n":3,"max":25}' 1796600000000 "$ev" 2>/dev/null \
            | tr '\r' '\n' | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") v = $(i - 1) } END { print int(v) }')
set_rate=$(redis-benchmark -p "$RPORT" -n 500000 -c 4 -P 50 -r 100000 -q \
               -t set 2>/dev/null \
           | tr '\r' '\n' | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") v = $(i - 1) } END { print int(v) }')
rcli --scan --pattern 'bench:*' | xargs -r -n 1000 redis-cli -p "$RPORT" del >/dev/null
rcli zremrangebyscore gw:wf:due 1796600000000 1796600000000 >/dev/null

printf '1. Pass/Choice loop (20 states x %d loops), %d executions started at once:\n' \
    "$LOOPS" "$started"
printf '  transitions          %8d /s  (%d in %d ms; %d of %d SUCCEEDED)\n' \
    "$trate" "$trans" "$ms" "$ok" "$started"
printf '  Redis EVALSHA step   %8d /s  (redis-benchmark, 4 connections x pipeline 50)  ratio %s\n' \
    "$eval_rate" "$(awk -v a="$trate" -v b="$eval_rate" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
printf '  Redis SET            %8d /s  (the same)  ratio %s\n' \
    "$set_rate" "$(awk -v a="$trate" -v b="$set_rate" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
printf '  target 4000 transitions/s\n'

# ---- 2. StartExecution -----------------------------------------------------

wrk_script "$d/start.lua" '{"definition":"tiny","input":{"order":7}}'
printf '2. POST /v1/executions (a two-state definition), %ss each:\n' "$SECS"
best= max=0
for c in $CONNS; do
    out=$(wrk -t1 -c"$c" -d"${SECS}s" --latency -s "$d/start.lua" \
              "$svc_url/v1/executions")
    rps=$(echo "$out" | awk '/^Requests\/sec/ { print int($2) }')
    p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    non=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    p99ms=$(echo "$p99" | awk '/us$/ { print $1 / 1000; next }
                               /ms$/ { print $1 + 0; next }
                               /s$/ { print $1 * 1000 }')
    printf '  %3d connections  %7d starts/s  p50 %8s  p99 %8s%s\n' \
        "$c" "$rps" "$p50" "$p99" "${non:+  ($non non-2xx)}"
    [ "$rps" -gt "$max" ] && max=$rps
    if awk -v p="$p99ms" 'BEGIN { exit !(p < 50) }'; then
        best="$rps starts/s at $c connections (p99 $p99)"
    fi
done
printf '  p99 < 50 ms up to    %s\n' "${best:-none of the loads}"
printf '  highest rate         %d starts/s\n' "$max"

# ---- 3. memory per parked execution ----------------------------------------

stop_svc
rcli flushall >/dev/null
start_svc
define park-wait "$d/park-wait.json"
define park-callback "$d/park-callback.json"
sleep 1

# park DEF: about PARK executions of DEF, waited for until each has
# stored its one transition (into the Wait, or the task's dispatch) and
# none is being worked; prints "N running due soon ms memory_delta rss0
# rss1 sample" (soon: entries of gw:wf:due due within the hour)
park() {
    local m0 r0 t0 t1 n running due soon i sample
    m0=$(used_memory)
    r0=$(rss_kb)
    t0=$(now_ms)
    s0=$(metric workflow_executions_started_total)
    post_n "$PARK" 64 "{\"definition\":\"$1\",\"input\":{\"order\":7}}"
    n=$(( $(metric workflow_executions_started_total) - s0 ))
    for i in $(seq 6000); do
        [ "$(series "workflow_transitions_total{definition=\"$1\"}")" \
              -ge "$n" ] \
            && [ "$(metric workflow_executions_worked)" -eq 0 ] && break
        sleep 0.1
    done
    t1=$(now_ms)
    running=$(rcli zcard "gw:wf:ls:$1:RUNNING")
    due=$(rcli zcard gw:wf:due)
    soon=$(rcli zcount gw:wf:due -inf $(( $(now_ms) + 3600000 )))
    sample=$(rcli zrange "gw:wf:ls:$1:RUNNING" 0 99 \
             | while read -r id; do rcli hget "gw:wf:x:$id" phase; done \
             | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')
    echo "$n $running $due $soon $((t1 - t0)) $(( $(used_memory) - m0 )) $r0 $(rss_kb) $sample"
}

printf '3. parked executions (about %d each, wrk at 64 connections):\n' "$PARK"
for def in park-wait park-callback; do
    set -- $(park "$def")
    n=$1 running=$2 due=$3 soon=$4 ms=$5 mem=$6 r0=$7 r1=$8
    shift 8
    printf '  %-14s %7d started in %6d ms (%d/s); RUNNING %d, gw:wf:due %d (%d due within the hour); sample of 100: %s\n' \
        "$def" "$n" "$ms" $(( n * 1000 / (ms > 0 ? ms : 1) )) "$running" "$due" "$soon" "$*"
    printf '  %-14s Redis %6d bytes per execution; service RSS %d -> %d KiB (%s bytes per execution)\n' \
        '' $(( mem / (n > 0 ? n : 1) )) "$r0" "$r1" \
        "$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN { printf "%.1f", n ? (b - a) * 1024 / n : 0 }')"
done
