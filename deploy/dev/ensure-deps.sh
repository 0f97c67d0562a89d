#!/usr/bin/env bash
# Installs what `make run` / `make test` need on a fresh Debian or Ubuntu
# machine, and nothing that is already there. Works as root or through sudo.
#   ensure-deps.sh            PostgreSQL server binaries, C toolchain, Node.js
#                             (builds the admin web app)
#   ensure-deps.sh --test     also buf (proto lint), redis-server, Chromium
#                             (browser tests of the web apps) and Caddy (the
#                             portal is tested behind deploy/caddy/Caddyfile)
#                             and tmux (the terminal UI's test)
set -euo pipefail

want_test=false
for argument in "$@"; do
  case "$argument" in
    --test) want_test=true ;;
    *) echo "ensure-deps: unknown option $argument" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "ensure-deps: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

apt_updated=false
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: apt-get not found; install these yourself: $*" >&2
    exit 1
  fi
  if [ "$apt_updated" = false ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=true
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
# The server binaries (initdb, pg_ctl, postgres), not just the client.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# runuser runs PostgreSQL as an unprivileged user when we are root.
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# Node.js and npm build the admin web app (web/admin).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "$want_test" = true ]; then
  # `make test`: a real Redis for the edge's shared rate limits, Debian's
  # Chromium for the admin app's browser tests.
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # CJK glyphs for the zh-CN screenshots.
  fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-microhei)
  # The customer portal's browser test serves it as production does.
  command -v caddy >/dev/null 2>&1 || missing+=(caddy)
  # The terminal UI's test drives rustbill-cli tui in a real terminal.
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "ensure-deps: cargo is in ~/.cargo/bin but not on PATH; run: source \"\$HOME/.cargo/env\"" >&2
  else
    echo "ensure-deps: Rust is not installed; install it from https://rustup.rs (rustup), then rerun" >&2
  fi
  exit 1
fi

tools="${CARGO_TARGET_DIR:-target}/tools"

# The admin app's build (Vite 7) needs Node.js 20.19 or newer; Debian 12
# ships 18. An older system Node gets a newer one from the npm registry
# (the `node` package), used only for the build (see build-web.sh).
node_ok() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
if ! node_ok node && ! node_ok "$tools/node/node_modules/node/bin/node"; then
  say "Node.js $(node --version 2>/dev/null || echo none) is too old for the admin app: npm install node@22 (into $tools/node)"
  mkdir -p "$tools/node"
  npm install --silent --no-audit --no-fund --prefix "$tools/node" node@22 >/dev/null
fi
if [ "$want_test" = true ] && [ ! -x "$tools/node_modules/.bin/buf" ]; then
  say "npm install @bufbuild/buf (into $tools)"
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" @bufbuild/buf@1 >/dev/null
fi
