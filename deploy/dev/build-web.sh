#!/usr/bin/env bash
# Builds the web apps of the npm workspace in web/: the admin console
# (web/admin/dist, served by rustbill-edge at [server].admin_path; release
# binaries embed it, debug binaries read it from disk) and the customer
# portal (web/consumer/dist, a static site). An app whose dist is newer than
# all its sources is not rebuilt.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${CARGO_TARGET_DIR:-$root/target}/tools"
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
cd "$root/web"

# A newer Node.js from ensure-deps.sh when the system one is too old.
if [ -x "$tools/node/node_modules/node/bin/node" ]; then
  export PATH="$tools/node/node_modules/node/bin:$PATH"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci (web/)"
  npm ci --no-audit --no-fund --loglevel=error
fi

for app in admin consumer; do
  [ -f "$app/index.html" ] || continue
  sources=("$app"/src "$app"/index.html "$app"/package.json package-lock.json "$app"/vite.config.ts "$app"/tsconfig.json ui/src ../proto)
  for optional in ui/proto "$app"/public "$app"/brand.yaml "$app"/buf.gen.yaml; do
    [ -e "$optional" ] && sources+=("$optional")
  done
  if [ -f "$app/dist/index.html" ] && [ -z "$(find "${sources[@]}" -newer "$app/dist/index.html" -print -quit)" ]; then
    continue
  fi
  echo "==> building web/$app"
  npm run --silent build --workspace "$app"
done
