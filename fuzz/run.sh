#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 300) each, one after the other, at the
# lowest priority, and prints the executions and findings per target. Not part of CI.
#
#   fuzz/run.sh [SECONDS]            all targets
#   TARGETS="workload state" fuzz/run.sh 60
#
# Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly --profile minimal && cargo install cargo-fuzz --locked
#
# The corpora start from the repository's fixtures (fuzz/seeds.txt) and grow in
# fuzz/corpus/TARGET across runs; crashes, timeouts and out-of-memory inputs land in
# fuzz/artifacts/TARGET/. Minimize one with `cargo +nightly fuzz tmin -s none TARGET FILE`,
# then add it to fuzz/regressions/TARGET/ so `cargo test` replays it
# (host/tests/fuzz_regressions.rs), with a named test and a fix.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
targets=${TARGETS:-"secret_ref workload policies manifest secrets suite state"}
# The code under test is safe Rust (the arena allocator is WebAssembly-only), so
# AddressSanitizer finds nothing a panic would not: without it a run executes ~3x more
# inputs. Debug assertions stay on (integer overflow panics).
flags=(--sanitizer none --debug-assertions)
# libFuzzer: a 10 s timeout per input and a 2 GiB memory cap (an input that needs more
# is a finding), and the final statistics.
libfuzzer=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -dict=fuzz/dict/manifests.dict)

nice -n 19 cargo +nightly fuzz build "${flags[@]}"

seed() {
    local target=$1 corpus=$2 path
    while read -r t path; do
        [[ -z ${t} || ${t} == \#* || ${t} != "${target}" ]] && continue
        local files=("${path}")
        [[ -d ${path} ]] && mapfile -t files < <(find "${path}" -maxdepth 1 -type f)
        for f in "${files[@]}"; do
            cp "${f}" "${corpus}/seed-${f//\//_}"
        done
    done < fuzz/seeds.txt
}

summary=()
for target in ${targets}; do
    corpus=fuzz/corpus/${target}
    mkdir -p "${corpus}" "fuzz/artifacts/${target}"
    seed "${target}" "${corpus}"
    log=fuzz/artifacts/${target}.log
    echo "== ${target}: ${seconds} s (log: ${log})"
    start=$(date +%s)
    status=0
    # Inputs up to 16 KiB (deep nesting, long names), a SECRET: string up to 512 bytes.
    max_len=16384
    [[ ${target} == secret_ref ]] && max_len=512
    nice -n 19 cargo +nightly fuzz run "${flags[@]}" "${target}" "${corpus}" -- \
        -max_total_time="${seconds}" -max_len="${max_len}" "${libfuzzer[@]}" >"${log}" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "${log}" | tail -1 || true)
    inputs=$(find "${corpus}" -type f | wc -l)
    finding="none"
    if [[ ${status} -ne 0 ]]; then
        finding="FOUND (exit ${status}): $(grep -o 'Test unit written to .*' "${log}" | tail -1 || true)"
    fi
    line="${target}: ${execs:-?} executions in ${elapsed} s (${rate:-?}/s), ${cov:-cov ?}, corpus ${inputs}; finding: ${finding}"
    echo "${line}"
    summary+=("${line}")
done

echo
echo "== summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
