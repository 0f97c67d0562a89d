#!/usr/bin/env bash
# Makes sure `make run` has the two secrets RustBill refuses to start
# without. When neither config.toml, config.local.toml nor the environment
# sets them, writes config.local.toml (mode 600) with a random JWT secret and
# a random bootstrap admin password, and remembers the password in it.
set -euo pipefail

local_file="${LOCAL_CONFIG_FILE:-config.local.toml}"
main_file="${CONFIG_FILE:-config.toml}"

has_key() { # file section key
  [ -f "$1" ] && awk -v section="[$2]" -v key="$3" '
    /^\[/ { current = $0 }
    current == section && $1 == key { found = 1 }
    END { exit found ? 0 : 1 }' "$1"
}

random() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

umask 077
if [ -z "${RUSTBILL_JWT__SECRET:-}" ] && ! has_key "$main_file" jwt secret && ! has_key "$local_file" jwt secret; then
  printf '\n[jwt]\nsecret = "%s"\n' "$(random 48)" >> "$local_file"
  echo "==> wrote a random [jwt].secret to $local_file"
fi
if [ -z "${RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD:-}" ] && ! has_key "$main_file" bootstrap admin_password \
   && ! has_key "$local_file" bootstrap admin_password; then
  printf '\n[bootstrap]\nadmin_password = "%s"\n' "$(random 20)" >> "$local_file"
  echo "==> wrote a random [bootstrap].admin_password to $local_file"
fi

# The banner: where to log in and with what.
value_of() { # file section key
  [ -f "$1" ] && awk -v section="[$2]" -v key="$3" '
    /^\[/ { current = $0 }
    current == section && $1 == key { sub(/^[^=]*=[ \t]*/, ""); gsub(/^"|"$/, ""); print; exit }' "$1"
}
first_of() { for candidate in "$@"; do [ -n "$candidate" ] && { echo "$candidate"; return; }; done; }
host=$(first_of "${RUSTBILL_SERVER__HOST:-}" "$(value_of "$local_file" server host)" "$(value_of "$main_file" server host)" 127.0.0.1)
port=$(first_of "${RUSTBILL_SERVER__PORT:-}" "$(value_of "$local_file" server port)" "$(value_of "$main_file" server port)" 50051)
path=$(first_of "${RUSTBILL_SERVER__ADMIN_PATH:-}" "$(value_of "$local_file" server admin_path)" "$(value_of "$main_file" server admin_path)" /admin)
user=$(first_of "${RUSTBILL_BOOTSTRAP__ADMIN_USERNAME:-}" "$(value_of "$local_file" bootstrap admin_username)" "$(value_of "$main_file" bootstrap admin_username)" admin)
password=$(first_of "${RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD:-}" "$(value_of "$local_file" bootstrap admin_password)" "$(value_of "$main_file" bootstrap admin_password)")
cat <<BANNER

  RustBill — starting on http://$host:$port
  Customer portal / 客户门户: http://$host:$port/
  Admin UI / 管理后台:   http://$host:$port$path
  Admin login / 管理员:  $user
  Password / 密码:       ${password:-(set in your config)}
  (the bootstrap password only applies while no admin exists; change it after the first login)
  Health: curl http://$host:$port/health

BANNER
