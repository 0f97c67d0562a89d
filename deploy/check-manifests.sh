#!/usr/bin/env bash
# Validates the deployment files with the tools this machine has (make test
# runs it): the Caddyfile with caddy, the Kubernetes manifests rendered by
# kubectl kustomize (and kubeconform when installed), the compose file with
# docker compose, the systemd units with systemd-analyze. A missing tool is
# reported and skipped; a present tool that rejects a file fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checked=()
skipped=()

if command -v caddy >/dev/null 2>&1; then
  sed 's/^your-domain.com {/http:\/\/127.0.0.1:18080 {/' deploy/caddy/Caddyfile > "$work/Caddyfile"
  HOME="$work" caddy validate --adapter caddyfile --config "$work/Caddyfile" >"$work/caddy.log" 2>&1 \
    || { cat "$work/caddy.log"; exit 1; }
  checked+=(Caddyfile)
else
  skipped+=("Caddyfile (no caddy)")
fi

if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize deploy/k8s > "$work/k8s.yaml"
  kinds=$(grep -c '^kind:' "$work/k8s.yaml")
  [ "$kinds" -ge 16 ] || { echo "deploy/k8s renders only $kinds objects"; exit 1; }
  if command -v kubeconform >/dev/null 2>&1; then
    kubeconform -strict -summary "$work/k8s.yaml"
  fi
  checked+=("k8s ($kinds objects)")
else
  skipped+=("k8s (no kubectl)")
fi

if docker compose version >/dev/null 2>&1; then
  RUSTBILL_JWT__SECRET=check-only-0123456789abcdef0123456789 \
    docker compose -f deploy/compose/docker-compose.yml config -q
  checked+=(compose)
else
  skipped+=("compose (no docker compose)")
fi

if command -v systemd-analyze >/dev/null 2>&1 && [ -x "$target/debug/rustbill-server" ]; then
  for unit in deploy/systemd/*; do
    sed "s#/usr/local/bin/#$(realpath "$target")/debug/#" "$unit" > "$work/$(basename "$unit")"
  done
  (cd "$work" && systemd-analyze verify --man=no ./rustbill-server.service ./rustbill@identity.service ./rustbill@edge.service ./rustbill.target)
  checked+=(systemd)
else
  skipped+=("systemd (no systemd-analyze or no build)")
fi

echo "deployment files: checked ${checked[*]:-nothing}${skipped:+; skipped ${skipped[*]}}"
