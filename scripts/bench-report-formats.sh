#!/bin/bash
# The report writers' benchmark (docs/reporting-formats.md, "Figures"),
# for `make bench-report-formats` (part of `make bench`): rows/s and the
# peak RSS (/usr/bin/time -v) of build/report-render writing synthetic
# rows of t/report/demo.spec.json (eight columns of every type and a bar
# chart) straight into each writer, no input parsing:
#
#   csv     1,000,000 rows
#   ndjson  1,000,000 rows
#   xlsx    1,000,000 rows (constant memory; target: flat, <= 64 MiB)
#   pdf        10,000 rows (and the chart page)
#
# XLSX_SHEETS=1 adds an XLSX of 1,048,577 rows (Excel's cap and one
# more: a second sheet).  Environment: REPORT_RENDER (the driver), OUT
# (the folder for the files, default a temporary one, removed after).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${REPORT_RENDER:-$top/build/report-render}
spec=$top/t/report/demo.spec.json

[ -x "$bin" ] || { echo "bench-report-formats: no $bin (make report-render)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-report-formats: no /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ -n "${OUT:-}" ]; then
    out=$OUT
    mkdir -p "$out"
else
    out=$(mktemp -d "${TMPDIR:-/tmp}/bench-report-XXXXXX")
    trap 'rm -rf "$out"' EXIT
fi

runs="csv:1000000 ndjson:1000000 xlsx:1000000 pdf:10000"
[ "${XLSX_SHEETS:-0}" = 1 ] && runs="$runs xlsx:1048577"

printf '%-7s %10s %10s %12s %12s %10s\n' format rows seconds rows/s \
    peak-RSS-MiB file-MiB

for run in $runs; do
    fmt=${run%%:*}
    rows=${run#*:}
    file=$out/bench-$rows.$fmt
    log=$out/time-$fmt.log

    /usr/bin/time -v "$bin" -f "$fmt" -s "$spec" -o "$file" -g "$rows" \
        2> "$log"

    line=$(grep '^report-render:' "$log")
    secs=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
    rps=$(echo "$line" | sed -n 's/.*: \([0-9]*\) rows\/s/\1/p')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    size=$(stat -c %s "$file")

    awk -v f="$fmt" -v n="$rows" -v s="$secs" -v r="$rps" -v m="$rss" \
        -v z="$size" 'BEGIN { printf "%-7s %10s %10s %12s %12.1f %10.1f\n",
                              f, n, s, r, m / 1024, z / 1048576 }'
done
