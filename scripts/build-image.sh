#!/usr/bin/env bash
# Builds the gateway's container image offline with buildah (no registry: FROM scratch
# with the binary and the glibc files it links, copied from this machine), from the
# `dist` profile (fat LTO, as `host bench` and the load test measure it).
#
#   scripts/build-image.sh            build IMAGE (default runai-secrets-gateway:0.1.0)
#   scripts/build-image.sh --check    and then export it (OCI archive), unpack it, and run
#                                     `host --version` and `host serve --insecure-http`
#                                     from its root file system, mounted read-only, as
#                                     65532, answering /healthz
#
# HOST=path/to/host uses that binary (no build). Needs root (buildah with the vfs driver
# and chroot isolation; installed from the OS packages when missing), strip, and for
# --check: unshare, mount, curl.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-runai-secrets-gateway:0.1.0}
CHECK=${1:-}
if ! command -v buildah >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq buildah >/dev/null; fi
fi
command -v buildah >/dev/null || { echo "buildah is needed: apt-get install -y buildah" >&2; exit 2; }
BUILDAH=(buildah --storage-driver vfs)

if [ -z "${HOST:-}" ]; then
  cargo build --profile dist -p host --locked >&2
  HOST=target/dist/host
fi

WORK=$(mktemp -d)
cleanup() {
  [ -n "${GATEWAY:-}" ] && kill "$GATEWAY" 2>/dev/null
  [ -n "${MOUNTED:-}" ] && umount -R "$MOUNTED" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# The context: the Containerfile and rootfs/ (the binary, stripped; the shared libraries
# it links, by the paths the loader looks them up at; a passwd entry for 65532; the cache
# directory and /tmp).
ROOT=$WORK/context/rootfs
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/var/cache/runai-secrets-gateway"
chmod 1777 "$ROOT/tmp"
chown 65532:65532 "$ROOT/var/cache/runai-secrets-gateway"
strip -o "$ROOT/usr/local/bin/host" "$HOST"
for lib in $(ldd "$HOST" | awk '/=>/ {print $3} /^[ \t]*\// {print $1}'); do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$ROOT/etc/group"
printf 'hosts: files dns\n' > "$ROOT/etc/nsswitch.conf"
cp Containerfile "$WORK/context/"

"${BUILDAH[@]}" bud --isolation chroot --layers=false -q -t "$IMAGE" -f "$WORK/context/Containerfile" "$WORK/context" >/dev/null
echo "built $IMAGE: binary $(du -b "$ROOT/usr/local/bin/host" | cut -f1) bytes, root file system $(du -sb "$ROOT" | cut -f1) bytes"

[ "$CHECK" = --check ] || exit 0

# Export as an OCI archive and unpack it as a container runtime would: the layers in
# order onto one root file system.
"${BUILDAH[@]}" push -q "$IMAGE" "oci-archive:$WORK/image.tar"
echo "OCI archive: $(du -b "$WORK/image.tar" | cut -f1) bytes"
mkdir -p "$WORK/oci" "$WORK/unpacked"
tar -xf "$WORK/image.tar" -C "$WORK/oci"
manifest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$WORK/oci/index.json")
for layer in $(python3 -c 'import json,sys; print(" ".join(l["digest"].split(":")[1] for l in json.load(open(sys.argv[1]))["layers"]))' "$WORK/oci/blobs/sha256/$manifest"); do
  tar -xf "$WORK/oci/blobs/sha256/$layer" -C "$WORK/unpacked"
done
config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"].split(":")[1])' "$WORK/oci/blobs/sha256/$manifest")
python3 - "$WORK/oci/blobs/sha256/$config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
assert c.get("User") == "65532:65532", c
assert c.get("Entrypoint") == ["/usr/local/bin/host"], c
print("image config: user", c["User"], "entrypoint", c["Entrypoint"], "env", c.get("Env"))
PY

# Run it from the unpacked root, read-only, as 65532, in a mount namespace of its own
# with /proc, /dev and an empty cache directory (the Deployment's emptyDir) mounted, as
# a container runtime would.
RUN=$WORK/unpacked
mkdir -p "$RUN/proc" "$RUN/dev"
run() { # run ARGS... in the image's root
  exec unshare --mount --fork --kill-child=SIGTERM sh -c '
    set -e; root=$1; shift
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o uid=65532,gid=65532,mode=0700 tmpfs "$root/var/cache/runai-secrets-gateway"
    mount -o remount,bind,ro "$root"
    exec env -i RUNAI_SIM_CACHE=/var/cache/runai-secrets-gateway "$(command -v chroot)" --userspec=65532:65532 "$root" /usr/local/bin/host "$@"
  ' sh "$RUN" "$@"
}
(run --version)
PORT=${PORT:-18480}
run serve --insecure-http --listen "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
GATEWAY=$!
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; then break; fi
  kill -0 "$GATEWAY" 2>/dev/null || { cat "$WORK/serve.log" >&2; echo "the gateway exited" >&2; exit 1; }
  sleep 0.1
done
echo "/healthz: $(curl -sf "http://127.0.0.1:$PORT/healthz")"
echo "/readyz: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")"
kill "$GATEWAY" 2>/dev/null || true; wait "$GATEWAY" 2>/dev/null || true; GATEWAY=
echo "check passed: $IMAGE runs from its own root file system, read-only, as 65532"
