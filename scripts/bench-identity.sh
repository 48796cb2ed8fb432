#!/bin/bash
# The identity service's benchmark (docs/identity.md), for `make bench`:
# wrk on loopback, keep-alive, against one build/backends/identity with a
# private redis-server, its access log off (log_level error):
#
#   1. POST /oauth2/token, client credentials, client_secret_basic;
#   2. POST /oauth2/token, client credentials, private_key_jwt: each
#      request carries its own assertion (a fresh jti, ES256), made
#      beforehand by a small generator linked with lib/jose, so that wrk
#      spends nothing on signing;
#   3. POST /oauth2/introspect of one token by a resource server that
#      authenticates with client_secret_basic.
#
# Each is run ROUNDS times, alternating, and the median req/s and p99
# latency are quoted.  Targets: >= 10,000 tokens/s (client_secret_basic)
# and >= 20,000 introspections/s.  Environment: ROUNDS (3), DUR (10s),
# CONNS (32), THREADS (1), PORT (18195), ASSERTIONS (300000),
# VERIFY_THREADS (the service's verify_threads; unset: its default).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
identity="$top/build/backends/identity"
gwctl="$top/build/gwctl"
ROUNDS=${ROUNDS:-3} DUR=${DUR:-10s} CONNS=${CONNS:-32} THREADS=${THREADS:-1}
PORT=${PORT:-18195} ASSERTIONS=${ASSERTIONS:-300000}
VERIFY_THREADS=${VERIFY_THREADS:-}
RPORT=$((PORT + 1))

for b in "$identity" "$gwctl" "$top/build/libgw.a"; do
    [ -e "$b" ] || { echo "bench-identity: $b is missing: run make backends build/gwctl" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench-identity: wrk is missing" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "bench-identity: redis-server is missing" >&2; exit 1; }

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-identity.XXXXXX")
svc= rds=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ -n "$rds" ] && kill "$rds" 2>/dev/null && wait "$rds" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

head -c 32 /dev/urandom > "$d/pepper"
head -c 32 /dev/urandom > "$d/kek"

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$d" >"$d/redis.log" 2>&1 &
rds=$!

ctl() { "$gwctl" --redis "127.0.0.1:$RPORT" "$@"; }
for i in $(seq 50); do
    ctl client list >/dev/null 2>&1 && break
    sleep 0.1
done

iss="http://127.0.0.1:$PORT"
api="https://api.bench"

secret=$(ctl client add bench --pepper "$d/pepper" --scopes "read write" \
             --default-scopes read --audiences "$api" \
             --default-audience "$api" 2>/dev/null \
         | sed -n 's/^client_secret: //p')
rs=$(ctl client add rs --pepper "$d/pepper" --scopes read 2>/dev/null \
         | sed -n 's/^client_secret: //p')
ctl client add jwt --scopes read --audiences "$api" \
    --default-audience "$api" --auth private_key_jwt >/dev/null 2>&1

# the assertions: one ES256 key, ASSERTIONS assertions with distinct jtis
cat > "$d/gen.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gw_jws_sign.h"

int
main(int argc, char **argv)
{
    long              i, n;
    char             *jws, payload[512], err[128];
    FILE             *f;
    size_t            len;
    json_t           *jwk;
    gw_jws_signer_t  *s;

    n = atol(argv[3]);
    s = gw_jws_signer_generate(GW_ALG_ES256, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "gen: %s\n", err);
        return 1;
    }

    jwk = gw_jws_signer_jwk(s);
    json_object_del(jwk, "use");
    f = fopen(argv[2], "w");
    json_dumpf(jwk, f, JSON_COMPACT);
    fclose(f);

    for (i = 0; i < n; i++) {
        len = snprintf(payload, sizeof(payload),
                       "{\"iss\":\"jwt\",\"sub\":\"jwt\",\"aud\":\"%s\","
                       "\"exp\":%ld,\"jti\":\"b-%ld-%ld\"}", argv[1],
                       (long) time(NULL) + 280, (long) time(NULL), i);
        jws = gw_jws_sign(s, "JWT", (unsigned char *) payload, len, &len);
        if (jws == NULL) {
            return 1;
        }
        puts(jws);
        free(jws);
    }

    return 0;
}
C
cc -O2 -I"$top/lib/jose" -o "$d/gen" "$d/gen.c" "$top/build/libgw.a" \
    -ljansson -lcrypto
"$d/gen" "$iss" "$d/jwt.jwk" "$ASSERTIONS" > "$d/assertions"
ctl client set-key jwt "$d/jwt.jwk" >/dev/null

if [ -n "$VERIFY_THREADS" ]; then
    export TOLLGATE_IDENTITY_VERIFY_THREADS="$VERIFY_THREADS"
fi
TOLLGATE_IDENTITY_LISTEN="127.0.0.1:$PORT" TOLLGATE_IDENTITY_ISSUER="$iss" \
TOLLGATE_IDENTITY_REDIS="127.0.0.1:$RPORT" \
TOLLGATE_IDENTITY_PEPPER_FILE="$d/pepper" TOLLGATE_IDENTITY_KEK_FILE="$d/kek" \
TOLLGATE_IDENTITY_LOG_LEVEL=error TOLLGATE_IDENTITY_CLIENT_CACHE_TTL=60s \
    "$identity" 2>"$d/identity.log" &
svc=$!
for i in $(seq 100); do
    curl -sf "$iss/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

basic=$(printf '%s:%s' bench "$secret" | base64 -w0)
rsbasic=$(printf '%s:%s' rs "$rs" | base64 -w0)
token=$(curl -s -H "Authorization: Basic $basic" \
            -d grant_type=client_credentials "$iss/oauth2/token" \
        | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

cat > "$d/form.lua" <<'LUA'
-- a POST of a fixed form with fixed headers (BODY, AUTH)
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
LUA

cat > "$d/jwt.lua" <<'LUA'
-- each thread takes every n-th assertion of the file, once each
local threads = {}
function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end
function init(args)
    local n = tonumber(os.getenv("THREADS") or "1")
    list, i = {}, 0
    local k = 0
    for line in io.lines(os.getenv("ASSERTIONS_FILE")) do
        if k % n == id then list[#list + 1] = line end
        k = k + 1
    end
end
function request()
    i = i + 1
    return wrk.format("POST", "/oauth2/token",
        { ["Content-Type"] = "application/x-www-form-urlencoded" },
        "grant_type=client_credentials&client_assertion_type="
        .. "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
        .. "%3Ajwt-bearer&client_assertion=" .. (list[i] or "spent"))
end
LUA

# run NAME: wrk with the variant's script; one "rps p99_ms non2xx" line
run() {
    local out
    case $1 in
    basic)
        out=$(BODY="grant_type=client_credentials" AUTH="Basic $basic" \
              wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency \
                  -s "$d/form.lua" "$iss/oauth2/token") ;;
    jwt)
        out=$(THREADS=$THREADS ASSERTIONS_FILE="$d/assertions" \
              wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency \
                  -s "$d/jwt.lua" "$iss/oauth2/token") ;;
    introspect)
        out=$(BODY="token=$token" AUTH="Basic $rsbasic" \
              wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency \
                  -s "$d/form.lua" "$iss/oauth2/introspect") ;;
    esac
    echo "$out" | awk '
        /^Requests\/sec:/ { rps = $2 }
        /^ +99%/ { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
                   p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
        /Non-2xx/ { bad = $NF }
        END { printf "%d %.2f %d\n", rps, p99, bad }'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A rps p99 bad
for r in $(seq "$ROUNDS"); do
    for v in basic jwt introspect; do
        # the assertions are spent once: the jwt variant runs in round 1
        [ "$v" = jwt ] && [ "$r" -gt 1 ] && continue
        set -- $(run $v)
        rps[$v]="${rps[$v]:-} $1"; p99[$v]="${p99[$v]:-} $2"
        bad[$v]=$(( ${bad[$v]:-0} + $3 ))
    done
done

for v in basic jwt introspect; do
    case $v in
    basic) what="token, client_secret_basic" ;;
    jwt) what="token, private_key_jwt (one round)" ;;
    introspect) what="introspection" ;;
    esac
    echo "identity $what, $CONNS connections${VERIFY_THREADS:+, verify_threads $VERIFY_THREADS}: $(echo ${rps[$v]} | median) req/s, p99 $(echo ${p99[$v]} | median) ms (rounds:${rps[$v]}; non-2xx: ${bad[$v]})"
done

t=$(echo ${rps[basic]} | median); i=$(echo ${rps[introspect]} | median)
echo "identity targets: tokens >= 10000/s: $([ "$t" -ge 10000 ] && echo ok || echo below target);" \
     "introspections >= 20000/s: $([ "$i" -ge 20000 ] && echo ok || echo below target)"
