#!/usr/bin/env bash
# Runs a command with Node >= 22.12 first on PATH: the system's when new enough, else Node 24
# installed from the npm registry's `node` package into .ci/node (see .ci/node-env.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../.ci/node-env.sh
source "$here/../.ci/node-env.sh"
exec "$@"
