#!/usr/bin/env bash
# Interoperability suite: runs Tessera and drives it with two independent client libraries,
# Python Authlib (interop/python) and Node openid-client v6 (interop/node), and checks its
# webhook deliveries with the Standard Webhooks Python library (interop/python/test_webhooks.py).
#
#   interop/run.sh                      # SQLite only
#   interop/run.sh --postgres URL       # SQLite, then PostgreSQL (a fresh database on URL's server)
#   TESSERA_BIN=/path/to/tessera interop/run.sh   # skip the cargo build
#
# Needs only the toolchains: cargo (unless TESSERA_BIN is given), python3 (3.9+ with venv),
# node 20+ with npm, and psql for --postgres. Python packages go into a venv under
# $HOME/.cache/tessera-interop-venv (reused while requirements.txt is unchanged); Node packages
# come from `npm ci` with the committed lockfile. Exits non-zero when anything fails; the
# server is stopped and its temporary data removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")"
INTEROP=$(pwd)

postgres_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) postgres_url="${2:?--postgres needs a URL}"; shift 2 ;;
    --postgres=*) postgres_url="${1#--postgres=}"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

# --- the binary -------------------------------------------------------------------------------
if [ -n "${TESSERA_BIN:-}" ]; then
  BIN="$TESSERA_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
  step "building tessera (release)"
  (cd .. && cargo build --release -p tessera-server --bin tessera)
  BIN="$CARGO_TARGET_DIR/release/tessera"
fi
[ -x "$BIN" ] || { echo "no tessera binary at $BIN" >&2; exit 1; }

# Tessera reads every TESSERA_* variable as configuration and refuses unknown keys (so even
# TESSERA_BIN would stop it). The suite configures it with flags only: run it without them,
# save one setting that has no flag: the webhook suite's receiver listens on loopback, which
# Tessera refuses as a webhook target unless private targets are allowed.
# (`env` execs the binary, so a background server's $! is Tessera's own pid.)
tessera=(env)
for name in $(compgen -e); do
  case "$name" in TESSERA_*) tessera+=(-u "$name") ;; esac
done
tessera+=(TESSERA_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true "$BIN")

# --- the client libraries ---------------------------------------------------------------------
VENV="$HOME/.cache/tessera-interop-venv"
step "python venv ($VENV)"
requirements="$INTEROP/python/requirements.txt"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$requirements" "$VENV/.interop-requirements"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$VENV/.interop-requirements"
fi

step "npm ci"
(cd node && npm ci --no-audit --no-fund --loglevel=error)

# --- one run against one database -------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-interop.XXXXXX")
server=""
pg_admin_url=""
pg_database=""

stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
cleanup() {
  stop_server
  if [ -n "$pg_database" ]; then
    psql "$pg_admin_url" -qc "DROP DATABASE IF EXISTS \"$pg_database\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=()

# run_suites LABEL [tessera flags...]
run_suites() {
  local label="$1"; shift
  local dir="$work/$label"
  mkdir -p "$dir"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # The public URL is left at its default, http://localhost:PORT, so the issuer the clients
  # discover is http://localhost:PORT/default.
  local flags=(--data-dir "$dir/data" --listen "127.0.0.1:$port" "$@")
  local base="http://localhost:$port"

  step "[$label] starting tessera on $base"
  "${tessera[@]}" serve "${flags[@]}" 2>"$dir/server.log" &
  server=$!
  local ready=""
  for _ in $(seq 1 150); do
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    if python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$port/readyz" 2>/dev/null; then ready=1; break; fi
    sleep 0.2
  done
  if [ -z "$ready" ]; then
    echo "tessera did not become ready; its log:" >&2
    cat "$dir/server.log" >&2
    stop_server
    failures+=("$label: server start")
    return
  fi

  step "[$label] provisioning clients and a user"
  if ! "${tessera[@]}" admin create-credential --name interop --json "${flags[@]}" 2>>"$dir/server.log" |
    python3 provision.py "$base" >"$dir/fixtures.env"; then
    echo "provisioning failed; server log:" >&2
    tail -n 50 "$dir/server.log" >&2
    stop_server
    failures+=("$label: provisioning")
    return
  fi
  set -a
  # shellcheck disable=SC1091
  . "$dir/fixtures.env"
  set +a

  local failed_before=${#failures[@]}
  step "[$label] authlib (python)"
  (cd python && "$VENV/bin/python" -m pytest -q -p no:cacheprovider test_authlib.py) ||
    failures+=("$label: authlib")

  step "[$label] standard webhooks (python)"
  (cd python && "$VENV/bin/python" -m pytest -q -p no:cacheprovider test_webhooks.py) ||
    failures+=("$label: webhooks")

  step "[$label] openid-client (node)"
  (cd node && node --test --test-reporter=spec test.mjs) || failures+=("$label: openid-client")

  stop_server
  if [ ${#failures[@]} -gt "$failed_before" ]; then
    # The temporary folder goes away on exit: show what the server said while it can.
    echo "[$label] server errors (last 40):" >&2
    grep -E "ERROR|WARN|panicked" "$dir/server.log" | tail -n 40 >&2 || true
  fi
  if grep -q "panicked" "$dir/server.log"; then
    echo "the server panicked:" >&2
    grep -A5 panicked "$dir/server.log" >&2
    failures+=("$label: server panic")
  fi
}

run_suites sqlite

if [ -n "$postgres_url" ]; then
  command -v psql >/dev/null || { echo "--postgres needs psql" >&2; exit 2; }
  # A fresh database per run: a database remembers the master key it was first used with,
  # and this run's key lives in its temporary data folder.
  pg_database="tessera_interop_$$_$(date +%s)"
  pg_admin_url="$postgres_url"
  pg_run_url=$(python3 - "$postgres_url" "$pg_database" <<'PY'
import sys, urllib.parse
url, name = sys.argv[1], sys.argv[2]
print(urllib.parse.urlsplit(url)._replace(path="/" + name).geturl())
PY
)
  psql "$pg_admin_url" -qc "CREATE DATABASE \"$pg_database\"" >/dev/null
  run_suites postgres --database-url "$pg_run_url"
fi

step "done"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "all interop suites passed"
