#!/usr/bin/env bash
# The load benchmark of `snop serve` from a second process: oha (a Rust HTTP load generator,
# installed here by cargo on first use) as REVIEWERS concurrent reviewers browsing every draft's
# page of a workspace (its first and second table page and the framed artifact), the cycle
# board, and each cycle's executive decisions and commitment log, for SECONDS, on loopback.
# `snop bench web` measures the same pages from inside the process; this is the second opinion.
#
#   bench/web-load.sh WORKSPACE [REVIEWERS] [SECONDS]
#
# A workspace at scale: `target/release/snop bench cycle --skus 50000 --customers 3400 --dir W`.
# SNOP (default target/release/snop) is the binary served; SNOP_TOOLS (default
# ~/.cache/snop-tools) is where oha is installed. Figures, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."

ws="${1:?usage: bench/web-load.sh WORKSPACE [REVIEWERS] [SECONDS]}"
reviewers="${2:-50}"
seconds="${3:-30}"
snop="${SNOP:-target/release/snop}"
tools="${SNOP_TOOLS:-$HOME/.cache/snop-tools}"
oha="$tools/bin/oha"
if ! [ -x "$oha" ]; then
    echo "installing oha 1.16.0 into $tools (once; a few minutes)"
    cargo install oha --version 1.16.0 --locked --root "$tools" --quiet
fi

# One reviewer's login: the demand lead of the demo's people, with a password set for the bench.
person="${SNOP_BENCH_PERSON:-dana.whitfield}"
password="bench-only-password-$RANDOM$RANDOM"
if "$snop" users list -w "$ws" --json | python3 -c 'import json,sys; sys.exit(0 if any(u["person"] == sys.argv[1] for u in json.load(sys.stdin)) else 1)' "$person"; then
    printf '%s\n' "$password" | "$snop" users reset-password "$person" --password-stdin -w "$ws" >/dev/null
else
    printf '%s\n' "$password" | "$snop" users add "$person" --password-stdin -w "$ws" >/dev/null
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
"$snop" serve -w "$ws" --bind "127.0.0.1:$port" --quiet &
server=$!
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
done

curl -s -o /dev/null -c "$work/cookies" --data-urlencode "user=$person" --data-urlencode "password=$password" "$base/login"
cookie="$(awk '$6 == "snop_session" {print $6 "=" $7}' "$work/cookies")"
test -n "$cookie" || { echo "the bench login as $person failed"; exit 1; }

"$snop" drafts list --json -w "$ws" | python3 -c '
import json, sys
base = sys.argv[1]
print(base + "/")
drafts = json.load(sys.stdin)
for d in drafts:
    for path in ("", "?page=2", "/page"):
        print(base + "/drafts/" + str(d["id"]) + path)
for cycle in sorted({d["cycle"] for d in drafts}):
    print(base + "/cycles/" + cycle + "/decisions")
    print(base + "/cycles/" + cycle + "/commitments")
' "$base" >"$work/urls"
pages="$(wc -l <"$work/urls")"

# Each page once first, as a reviewer opening it would (the first view of a draft reads its
# tables); then the timed run.
while read -r url; do curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -H "cookie: $cookie" "$url"; done <"$work/urls" >"$work/first"
sort -n "$work/first" | tail -1 | awk '{printf "first view of each page, one at a time: slowest %.1f ms (HTTP %s)\n", $1 * 1000, $2}'
echo "oha against snop serve on loopback: $reviewers reviewers for ${seconds}s over $pages pages ($ws)"
"$oha" --no-tui --urls-from-file -c "$reviewers" -z "${seconds}s" -H "cookie: $cookie" \
    --output-format json -o "$work/oha.json" "$work/urls"
python3 - "$work/oha.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
ms = lambda v: f"{v * 1000:.1f} ms"
print(f"  {s['requestsPerSec']:.0f} requests/s; latency p50 {ms(p['p50'])}, p90 {ms(p['p90'])}, p99 {ms(p['p99'])}, max {ms(s['slowest'])}")
print(f"  status codes: {codes}; success rate {s['successRate'] * 100:.2f}%")
EOF
