#!/usr/bin/env bash
# Admission while an audit runs (issue 22's last target): the gateway with a live view of
# a fake API server (the test suite's, run as a harness at nice 19 so that it takes only
# idle CPU) holding LOAD_PODS pods, driven by wrk as loadtest/run.sh drives it, during its
# first full audit of those pods, side by side with the same gateway run with --no-audit.
# The audit's evaluations during the window are read from the gateway's metrics.
#
#   loadtest/audit.sh [SECONDS] [CONNECTIONS]   (defaults 10 and 16; HOST=... to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_POINT=${1:-10}
CONNECTIONS=${2:-16}
PORT=${PORT:-18444}
export LOAD_PODS=${LOAD_PODS:-10000}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 2; }
if [ -z "${HOST:-}" ]; then
  cargo build --profile dist -p host --locked >&2
  HOST=target/dist/host
fi
cargo test -p host --test audit_live --no-run --locked >&2

WORK=$(mktemp -d)
export LOAD_DIR=$WORK
HARNESS= GATEWAY=
trap 'touch "$WORK/stop"; kill $GATEWAY 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
nice -n 19 cargo test -q -p host --test audit_live --locked -- --ignored --exact load_harness >/dev/null 2>&1 &
HARNESS=$!
for _ in $(seq 600); do [ -f "$WORK/ready" ] && break; sleep 0.5; done
[ -f "$WORK/ready" ] || { echo "the fake API server did not start" >&2; exit 1; }
KUBECONFIG_FILE=$(cat "$WORK/ready")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
export REVIEW=loadtest/review.json

evaluations() {
  curl -sk "https://127.0.0.1:$PORT/metrics" | awk '/^secrets_gateway_audit_evaluations_total/ {s += $2} END {print s + 0}'
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); $LOAD_PODS pods; $CONNECTIONS connections, ${SECONDS_PER_POINT} s"
echo
echo "| gateway | AdmissionReviews/s | p50 µs | p99 µs | errors | audit evaluations in the window |"
echo "|---|---:|---:|---:|---:|---:|"
for mode in "audit off (--no-audit)|--no-audit" "audit on, its first full audit running|"; do
  IFS='|' read -r label flags <<<"$mode"
  # shellcheck disable=SC2086
  "$HOST" serve --kubeconfig "$KUBECONFIG_FILE" --listen "127.0.0.1:$PORT" \
    --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" --policy policies/bench/policies.yaml \
    --log-format json $flags >/dev/null 2>"$WORK/stderr" &
  GATEWAY=$!
  for _ in $(seq 300); do
    curl -sfk "https://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
  done
  curl -sfk -X POST --data-binary @"$REVIEW" "https://127.0.0.1:$PORT/validate" | grep -q '"uid":"7f0c3d3e' \
    || { echo "the gateway gave no decision" >&2; cat "$WORK/stderr" >&2; exit 1; }
  before=$(evaluations)
  result=$(wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_PER_POINT}s" --timeout 5s -s loadtest/post.lua \
    "https://127.0.0.1:$PORT/validate" | grep '^RESULT')
  after=$(evaluations)
  requests=$(echo "$result" | field requests); seconds=$(echo "$result" | field seconds)
  printf '| %s | %.0f | %s | %s | %s | %s |\n' "$label" "$(awk "BEGIN {print $requests / $seconds}")" \
    "$(echo "$result" | field p50_us)" "$(echo "$result" | field p99_us)" "$(echo "$result" | field errors)" \
    "$((after - before))"
  kill -TERM "$GATEWAY"; wait "$GATEWAY" || true; GATEWAY=
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
