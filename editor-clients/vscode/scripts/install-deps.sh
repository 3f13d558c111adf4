#!/usr/bin/env bash
# Installs what the VS Code extension's checks and end-to-end test need, on a
# fresh machine; a quick no-op when everything is there already.
#   - Debian's chromium (the e2e drives it with playwright-core)
#   - the npm packages of editor-clients/vscode, exactly as in package-lock.json
#   - code-server (a real VS Code), with ../shared/tools/install-code-server.sh
# Progress goes to stderr; the only line on stdout is the code-server binary's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)          # editor-clients/vscode
repo=$(cd "$here/../.." && pwd)
installer=${SMARTCACHE_CODE_SERVER_INSTALLER:-"$repo/../shared/tools/install-code-server.sh"}

if [ ! -x /usr/bin/chromium ]; then
  echo "install-deps: installing Debian's chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi

# npm ci only when node_modules does not match the lock file.
stamp="$here/node_modules/.smartcache-lock.sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-deps: npm ci in $here" >&2
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$want" > "$stamp"
fi

if [ ! -f "$installer" ]; then
  echo "install-deps: $installer is missing (shared/ should sit beside the repository)" >&2
  exit 1
fi
bash "$installer" | tail -n 1
