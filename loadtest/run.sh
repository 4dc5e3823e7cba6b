#!/usr/bin/env bash
# Load test of `host serve` (issue 15): the gateway over HTTPS keep-alive on loopback,
# driven by wrk with the benchmark workload wrapped in an AdmissionReview, at 1, 16 and
# 64 connections, side by side with the same gateway answering without evaluating (the
# HTTP+TLS+JSON floor) and with the plugin's logic called natively; then the gateway's
# RSS before and after 1,000,000 requests. Not run by `cargo test`.
#
#   loadtest/run.sh [SECONDS_PER_POINT]        (default 10; HOST=... to skip the build)
#
# Needs wrk (Debian: apt-get install -y wrk; installed here when run as root), openssl,
# curl and awk. The gateway and wrk share this machine's cores, as the targets assume.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_POINT=${1:-10}
SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
PORT=${PORT:-18443}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; fi
fi
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 2; }

# HOST=path/to/host uses that binary as it is (no build).
if [ -z "${HOST:-}" ]; then
  cargo build --profile dist -p host --locked >&2
  HOST=target/dist/host
fi
WORK=$(mktemp -d)
trap 'kill $GATEWAY 2>/dev/null || true; rm -rf "$WORK"' EXIT
GATEWAY=

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
export REVIEW=loadtest/review.json

start() { # start EVALUATOR [global flags...]
  local evaluator=$1; shift
  "$HOST" "$@" serve --listen "127.0.0.1:$PORT" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" \
    --cluster policies/demo/cluster.yaml --policy policies/bench/policies.yaml \
    --evaluator "$evaluator" --log-format json >/dev/null 2>"$WORK/stderr" &
  GATEWAY=$!
  for _ in $(seq 100); do
    curl -sfk "https://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
  done
  # Check the answer once: a decision on the benchmark workload (the plugin rejects it
  # for one sensitive-literal finding, as `host bench` sees it; `none` admits it).
  curl -sfk -X POST --data-binary @"$REVIEW" "https://127.0.0.1:$PORT/validate" | grep -q '"uid":"7f0c3d3e' \
    || { echo "the gateway ($evaluator) gave no decision on the benchmark workload" >&2; cat "$WORK/stderr" >&2; exit 1; }
}

stop() { kill -TERM "$GATEWAY"; wait "$GATEWAY" || true; GATEWAY=; }

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$GATEWAY/status"; }

load() { # load CONNECTIONS SECONDS -> RESULT line
  local c=$1 d=$2 t=2
  [ "$c" -lt 2 ] && t=1
  wrk -t "$t" -c "$c" -d "${d}s" --timeout 5s -s loadtest/post.lua "https://127.0.0.1:$PORT/validate" | grep '^RESULT'
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

row() { # row LABEL CONNECTIONS RESULT
  local requests seconds
  requests=$(echo "$3" | field requests); seconds=$(echo "$3" | field seconds)
  printf '| %s | %s | %.0f | %s | %s | %s |\n' "$1" "$2" "$(awk "BEGIN {print $requests / $seconds}")" \
    "$(echo "$3" | field p50_us)" "$(echo "$3" | field p99_us)" "$(echo "$3" | field errors)"
}

echo "load average at the start (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| gateway | connections | AdmissionReviews/s | p50 µs | p99 µs | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for mode in "plugin|plugin, deadline only (the default)|" "plugin|plugin, fuel + deadline|--fuel 1000000000" "native|native logic, no sandbox|" "none|no evaluation (HTTP+TLS+JSON floor)|"; do
  IFS='|' read -r evaluator label flags <<<"$mode"
  # shellcheck disable=SC2086
  start "$evaluator" $flags
  load 16 2 >/dev/null   # warm-up
  for c in 1 16 64; do
    row "$label" "$c" "$(load "$c" "$SECONDS_PER_POINT")"
  done
  stop
done

# RSS over 1M requests at 64 connections, with the default limits (the deadline alone).
start plugin
load 64 5 >/dev/null
before=$(rss_kib)
total=0 errors=0
while [ "$total" -lt "$SOAK_REQUESTS" ]; do
  chunk=$(load 64 20)
  total=$(( total + $(echo "$chunk" | field requests) ))
  errors=$(( errors + $(echo "$chunk" | field errors) ))
done
after=$(rss_kib)
stop
echo
echo "| RSS before | RSS after | requests | growth | errors |"
echo "|---:|---:|---:|---:|---:|"
printf '| %s MiB | %s MiB | %s | %+.1f%% | %s |\n' "$((before / 1024))" "$((after / 1024))" \
  "$total" "$(awk "BEGIN {print ($after - $before) * 100 / $before}")" "$errors"
echo
echo "load average at the end (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)"
