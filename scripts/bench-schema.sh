#!/bin/bash
# lib/jsonschema against ajv (the reference JSON Schema validator of
# node.js), parse + validate throughput on the same schemas and
# instances: a small object, a 1 KiB order with nested arrays, a 64 KiB
# array of objects.  Each side parses the text and validates it (ajv:
# JSON.parse() and its compiled function) in a loop for DUR seconds; the
# variants alternate over ROUNDS rounds and the median is quoted, with
# the ratio C / ajv (target >= 1.0).
#
# Three C figures, without error details as the gateway first asks:
# "one-pass", gw_schema_check(), how the gateway takes a valid body
# (ngx_modules/validate/ngx_http_gw_validate_body.c); "values",
# gw_schema_parse() into a doc then gw_schema_validate_value(), its
# second look at a body the first pass did not take; "jansson",
# gw_schema_json_loadb() then gw_schema_validate() on jansson values,
# the library's jansson interface.
#
# ajv is installed with npm into build/bench-schema/ on first use; the C
# driver is written there and compiled against lib/jsonschema.
#
# Environment: ROUNDS (3), DUR (2, seconds), CC (cc), NODE (node),
# NPM (npm).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3} DUR=${DUR:-2}
cc=${CC:-cc} node=${NODE:-node} npm=${NPM:-npm}
b="$top/build/bench-schema"
mkdir -p "$b/cases"

if [ ! -f "$b/node_modules/ajv/package.json" ]; then
    echo "bench-schema: installing ajv into $b" >&2
    (cd "$b" && "$npm" install --no-save --no-audit --no-fund --silent \
        ajv@8 >/dev/null)
fi

# --- the cases ---------------------------------------------------------------

cat > "$b/cases/small.schema.json" <<'EOF'
{"type": "object", "required": ["id", "name"],
 "additionalProperties": false,
 "properties": {"id": {"type": "integer", "minimum": 1},
                "name": {"type": "string", "maxLength": 64},
                "active": {"type": "boolean"}}}
EOF
printf '{"id":42,"name":"widget","active":true}' > "$b/cases/small.json"

cat > "$b/cases/order.schema.json" <<'EOF'
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
items=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    items="$items${items:+,}{\"sku\":\"SKU-00$i\",\"qty\":$i,\"price\":$i.25,"
    items="$items\"tags\":[\"a\",\"b\"],\"gift\":false}"
done
printf '{"id":"ord-2026-000123","customer":{"id":"c-42","email":"%s",%s},%s}' \
    'ada@example.test' '"name":"Ada Lovelace","tier":"gold"' \
    "\"currency\":\"EUR\",\"items\":[$items],\"note\":\"leave at the door, ring twice, thanks!\"" \
    > "$b/cases/order.json"

cat > "$b/cases/array.schema.json" <<'EOF'
{"type": "array", "maxItems": 10000,
 "items": {"type": "object", "required": ["id", "tag", "score"],
           "properties": {"id": {"type": "integer", "minimum": 0},
                          "tag": {"type": "string", "pattern": "^t-[0-9]+$"},
                          "score": {"type": "number"},
                          "ok": {"type": "boolean"}}}}
EOF
"$node" -e '
let a = [], s = "";
for (let i = 0; s.length < 65536 - 64; i++) {
    a.push({id: i, tag: "t-" + i, score: i * 0.5, ok: i % 2 == 0});
    s = JSON.stringify(a);
}
process.stdout.write(s);' > "$b/cases/array.json"

# --- the two drivers ---------------------------------------------------------

cat > "$b/driver.c" <<'EOF'
/* parse + validate in a loop for argv[3] seconds; prints runs per second.
 * argv[4] "check": gw_schema_check(), one pass, as the gateway does for
 * a valid body; "value": gw_schema_parse() into a doc and
 * gw_schema_validate_value(), the gateway's second look at a body the
 * first did not pass; "jansson": gw_schema_json_loadb() and
 * gw_schema_validate() on jansson values */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gw_schema.h"

static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    int                       ok, mode;
    FILE                     *f;
    char                     *buf;
    long                      len;
    double                    t0, t, dur;
    json_t                   *schema, *inst;
    unsigned long             n, i;
    gw_schema_t              *s;
    json_error_t              jerr;
    gw_schema_doc_t           doc;
    gw_schema_cerr_t          cerr;
    const gw_schema_value_t  *v;

    if (argc != 5) {
        return 2;
    }

    mode = argv[4][0];

    schema = json_load_file(argv[1], JSON_DECODE_ANY, &jerr);
    s = gw_schema_new(NULL);
    if (schema == NULL || s == NULL || gw_schema_compile(s, schema, &cerr)) {
        fprintf(stderr, "driver: %s: cannot compile\n", argv[1]);
        return 1;
    }

    f = fopen(argv[2], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
        return 1;
    }
    rewind(f);
    buf = malloc(len + 1);
    if (buf == NULL || fread(buf, 1, len, f) != (size_t) len) {
        return 1;
    }
    fclose(f);

    gw_schema_doc_init(&doc);
    dur = atof(argv[3]);
    n = 0;
    t0 = now();

    do {
        for (i = 0; i < 64; i++) {
            if (mode == 'c') {
                ok = (gw_schema_check(s, &doc, buf, len,
                                      JSON_DECODE_ANY|JSON_REJECT_DUPLICATES,
                                      128) == 1);

            } else if (mode == 'v') {
                v = gw_schema_parse(&doc, buf, len,
                                    JSON_DECODE_ANY|JSON_REJECT_DUPLICATES,
                                    128, &jerr);
                ok = (v != NULL && gw_schema_validate_value(s, v, NULL) == 1);

            } else {
                inst = gw_schema_json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
                ok = (inst != NULL && gw_schema_validate(s, inst, NULL) == 1);
                json_decref(inst);
            }

            if (!ok) {
                fprintf(stderr, "driver: %s: invalid\n", argv[2]);
                return 1;
            }
        }
        n += 64;
        t = now() - t0;
    } while (t < dur);

    printf("%.0f\n", n / t);
    return 0;
}
EOF

cat > "$b/ajv.js" <<'EOF'
// parse + validate in a loop for argv[4] seconds; prints runs per second
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020").default;
const schema = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const text = fs.readFileSync(process.argv[3], "utf8");
const dur = parseFloat(process.argv[4]) * 1e9;
const validate = new Ajv2020({allErrors: false}).compile(schema);
let n = 0;
const t0 = process.hrtime.bigint();
let t;
do {
    for (let i = 0; i < 64; i++) {
        if (!validate(JSON.parse(text))) {
            console.error("ajv: invalid");
            process.exit(1);
        }
    }
    n += 64;
    t = Number(process.hrtime.bigint() - t0);
} while (t < dur);
console.log(Math.round(n / (t / 1e9)));
EOF

# shellcheck disable=SC2046
"$cc" -O2 -DPCRE2_CODE_UNIT_WIDTH=8 -I"$top/lib/jsonschema" -o "$b/driver" \
    "$b/driver.c" $(ls "$top"/lib/jsonschema/*.c) -ljansson -lpcre2-8 -lm

# --- the rounds ----------------------------------------------------------------

median() {
    tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

cases="small order array"
declare -A cres xres kres ares
for ((i = 1; i <= ROUNDS; i++)); do
    for c in $cases; do
        cres[$c]="${cres[$c]:-} $("$b/driver" "$b/cases/$c.schema.json" \
                                  "$b/cases/$c.json" "$DUR" jansson)"
        xres[$c]="${xres[$c]:-} $("$b/driver" "$b/cases/$c.schema.json" \
                                  "$b/cases/$c.json" "$DUR" value)"
        kres[$c]="${kres[$c]:-} $("$b/driver" "$b/cases/$c.schema.json" \
                                  "$b/cases/$c.json" "$DUR" check)"
        ares[$c]="${ares[$c]:-} $("$node" "$b/ajv.js" \
                                  "$b/cases/$c.schema.json" \
                                  "$b/cases/$c.json" "$DUR")"
    done
done

echo "bench-schema: parse + validate, runs/s, median of $ROUNDS rounds" \
     "of ${DUR}s each"
printf '%-8s %8s %10s %10s %10s %10s %7s %7s\n' case bytes 'jansson' \
    'values' 'one-pass' 'ajv' 'val/ajv' 'C/ajv'
for c in $cases; do
    cm=$(echo "${cres[$c]}" | median)
    xm=$(echo "${xres[$c]}" | median)
    km=$(echo "${kres[$c]}" | median)
    am=$(echo "${ares[$c]}" | median)
    printf '%-8s %8d %10.0f %10.0f %10.0f %10.0f %7.2f %7.2f\n' "$c" \
        "$(wc -c < "$b/cases/$c.json")" "$cm" "$xm" "$km" "$am" \
        "$(awk -v a="$xm" -v b="$am" 'BEGIN { print a / b }')" \
        "$(awk -v a="$km" -v b="$am" 'BEGIN { print a / b }')"
done
echo "C/ajv: one-pass (gw_schema_check(), the gateway's way for a valid" \
     "body) / ajv; target >= 1.0"
