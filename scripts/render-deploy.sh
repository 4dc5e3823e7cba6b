#!/usr/bin/env bash
# Renders deploy/ and each overlay with `kubectl kustomize` (offline: no API server) into
# deploy/rendered/, which host/tests/deploy.rs checks object by object (and, where kubectl
# is installed, checks against a fresh render: CI machines may not have kubectl).
#
#   scripts/render-deploy.sh          write the renders
#   scripts/render-deploy.sh --check  exit 1 when a render differs from the file
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kubectl >/dev/null || { echo "kubectl is needed (kubectl kustomize)" >&2; exit 2; }
status=0
for pair in default:deploy file-view:deploy/overlays/file-view cert-manager:deploy/overlays/cert-manager; do
  name=${pair%%:*} dir=${pair#*:}
  out=deploy/rendered/$name.yaml
  rendered=$( { echo "# Rendered from $dir by scripts/render-deploy.sh: do not edit."; kubectl kustomize "$dir"; } )
  if [ "${1:-}" = --check ]; then
    if ! diff -q <(printf '%s\n' "$rendered") "$out" >/dev/null; then
      echo "$out differs from kubectl kustomize $dir: run scripts/render-deploy.sh" >&2
      status=1
    fi
  else
    printf '%s\n' "$rendered" > "$out"
  fi
done
exit $status
