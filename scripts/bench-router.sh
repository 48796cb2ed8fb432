#!/bin/sh
# lib/router's unit benchmark (docs/routing.md, "Cost"): ns per match at
# 1k, 10k and 100k routes of each kind, regex at 10 to 1000, and the
# build time; then the gateway's own build of a snapshot of 10k routes
# (scripts/bench-config-build.pl: needs the module and redis-server).
# Wall time on a shared machine: read it as an order of
# magnitude, not a score.
set -e
BUILD=${BUILD:-build}
echo "== router: $BUILD/unit/test_router bench ${ROUTER_BENCH_MAX:-100000}"
"$BUILD/unit/test_router" bench "${ROUTER_BENCH_MAX:-100000}"
if [ -f "$BUILD/ngx_http_gw_module.so" ] && command -v redis-server >/dev/null
then
    perl "$(dirname "$0")/bench-config-build.pl"
else
    echo "== gateway: skipped (make module; redis-server)"
fi
