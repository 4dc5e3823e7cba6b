#!/usr/bin/env bash
# Kill soak of the persisted state (host/tests/kill_soak.rs): KILLS (default 1000)
# SIGKILLs at random moments of `project create`, `apply -f` and `adm set` commands run
# by WRITERS (default 4) writers at once against one state directory; after every kill
# the state must load and hold every change whose command had exited 0. Takes several
# minutes, so it is not part of `cargo test` or CI.
#
#   scripts/kill-soak.sh [KILLS] [WRITERS]
#   PROFILE=release scripts/kill-soak.sh     # a release host (the first build is slow)
set -euo pipefail
cd "$(dirname "$0")/.."
export KILL_SOAK_KILLS=${1:-1000} KILL_SOAK_WRITERS=${2:-4}
profile=()
[[ ${PROFILE:-dev} == release ]] && profile=(--release)
nice -n 19 cargo test "${profile[@]}" --locked -p host --test kill_soak -- --ignored --nocapture
