#!/usr/bin/env bash
# Builds the admin web app (web/admin → web/admin/dist), which rustbill-edge
# serves at [server].admin_path: release binaries embed it, debug binaries
# read it from disk. Does nothing when dist is newer than every source.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${CARGO_TARGET_DIR:-$root/target}/tools"
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
cd "$root/web/admin"

# A newer Node.js from ensure-deps.sh when the system one is too old.
if [ -x "$tools/node/node_modules/node/bin/node" ]; then
  export PATH="$tools/node/node_modules/node/bin:$PATH"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci (web/admin)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -f dist/index.html ] && [ -z "$(find src proto index.html package.json package-lock.json vite.config.ts tsconfig.json buf.gen.yaml ../../proto -newer dist/index.html -print -quit)" ]; then
  exit 0
fi
echo "==> building the admin web app (web/admin)"
npm run --silent build
