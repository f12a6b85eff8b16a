#!/usr/bin/env bash
# Measures the token path of Tessera (on SQLite and on PostgreSQL) and of node oidc-provider 9.x,
# the same way in one run, and prints each one's table and Tessera / oidc-provider ratios.
#
#   scripts/bench-oauth.sh [--duration 10s] [--warmup 2s] [--connections 16,64]
#                          [--scenarios LIST] [--quick] [--out DIR] [--skip-postgres]
#                          [--tessera-bin PATH --driver-bin PATH] [--tessera-log-level LEVEL]
#
# Each server runs pinned to CPU 0 (taskset -c 0), the load driver
# (crates/tessera-testkit/src/bin/oauth-bench.rs) to CPU 1. PostgreSQL is the local server at
# $BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); the script creates a scratch
# database tessera_bench on it and drops it again. --quick is a smoke run (1 s per cell, 0.5 s
# warm-up). --tessera-bin and --driver-bin use binaries built elsewhere instead of building
# this checkout. --tessera-log-level sets Tessera's log_level (default: Tessera's own, info, which
# logs no line per request; `info,tower_http::trace=debug` adds the access log). The refresh scenario logs in as a user on both sides: on Tessera
# one created through the Core API, on oidc-provider its development login pages. Needs: cargo, taskset, curl, jq, psql, node and npm. Everything it starts is
# stopped on exit, also on Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=10s
WARMUP=2s
CONNECTIONS=16,64
SCENARIOS=client_credentials,refresh,introspection,jwks,discovery
OUT=
SKIP_POSTGRES=0
TESSERA_BIN=
DRIVER_BIN=
# The user each refresh chain logs in as, and the redirect URI its client registers.
LOGIN_USER=bench@example.com
LOGIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
REDIRECT_URI=http://127.0.0.1:9999/callback
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=tessera_bench

while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --quick) DURATION=1s; WARMUP=500ms; shift ;;
    --out) OUT=$2; shift 2 ;;
    --skip-postgres) SKIP_POSTGRES=1; shift ;;
    --tessera-bin) TESSERA_BIN=$2; shift 2 ;;
    --driver-bin) DRIVER_BIN=$2; shift 2 ;;
    --tessera-log-level) TESSERA_LOG_LEVEL=$2; export TESSERA_LOG_LEVEL; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench-oauth: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in cargo taskset curl jq node npm; do
  command -v "$tool" >/dev/null || { echo "bench-oauth: $tool is needed" >&2; exit 2; }
done
[[ $SKIP_POSTGRES == 1 ]] || command -v psql >/dev/null \
  || { echo "bench-oauth: psql is needed (or --skip-postgres)" >&2; exit 2; }
if [[ $(nproc --all) -lt 2 ]]; then
  echo "bench-oauth: needs 2 CPUs, one for the server and one for the driver" >&2; exit 2
fi

WORK=$(mktemp -d -t tessera-bench-oauth.XXXXXX)
SERVER_PID=
DB_CREATED=0

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}

cleanup() {
  local status=$?
  stop_server
  if [[ $DB_CREATED == 1 ]]; then
    psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL LOG: polls URL until it answers 2xx, for up to 30 s.
wait_for() {
  for _ in $(seq 300); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "bench-oauth: the server exited; its log:" >&2; cat "$2" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "bench-oauth: $1 did not answer in 30 s; the server's log:" >&2; cat "$2" >&2; exit 1
}

if [[ -z $TESSERA_BIN || -z $DRIVER_BIN ]]; then
  echo "== building (release)" >&2
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
  (cd "$ROOT" && cargo build --release --quiet -p tessera-server --bin tessera \
    -p tessera-testkit --bin oauth-bench)
  TESSERA_BIN=${TESSERA_BIN:-$CARGO_TARGET_DIR/release/tessera}
  DRIVER_BIN=${DRIVER_BIN:-$CARGO_TARGET_DIR/release/oauth-bench}
fi
# Copies, so that a build in a shared target folder cannot replace them mid-run.
cp "$TESSERA_BIN" "$WORK/tessera"
cp "$DRIVER_BIN" "$WORK/oauth-bench"
TESSERA=$WORK/tessera
DRIVER=$WORK/oauth-bench

# Progress goes to stderr as it is measured; the tables are printed together at the end.
driver() {
  taskset -c 1 "$DRIVER" run --scenarios "$SCENARIOS" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" "$@" >/dev/null
}

# bench_tessera BACKEND DATABASE_URL
bench_tessera() {
  local backend=$1 database_url=$2
  local dir=$WORK/tessera-$backend port
  mkdir -p "$dir"
  port=$(free_port)
  local base=http://127.0.0.1:$port
  echo "== tessera on $backend at $base (CPU 0), log_level ${TESSERA_LOG_LEVEL:-default}" >&2
  taskset -c 0 "$TESSERA" serve --listen "127.0.0.1:$port" --public-url "$base" \
    --data-dir "$dir" --database-url "$database_url" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for "$base/readyz" "$dir/server.log"

  # The admin command does not know the server's port, so the token endpoint it prints is
  # not used.
  local admin admin_token client user
  admin=$("$TESSERA" admin create-credential --name bench --json \
    --data-dir "$dir" --database-url "$database_url" 2>>"$dir/server.log")
  admin_token=$(curl -sf -u "$(jq -r .client_id <<<"$admin"):$(jq -r .client_secret <<<"$admin")" \
    -d grant_type=client_credentials "$base/system/oauth/token" | jq -r .access_token)
  # A first-party client (no consent page) that may also log users in and refresh.
  client=$(jq -n --arg redirect "$REDIRECT_URI" '{name: "oauth-bench", client_type: "confidential",
      first_party: true, grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      redirect_uris: [$redirect], token_endpoint_auth_method: "client_secret_basic"}' \
    | curl -sf -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
      --data-binary @- "$base/core/v1/issuers/default/clients")
  user=$(jq -n --arg email "$LOGIN_USER" --arg password "$LOGIN_PASSWORD" \
      '{email: $email, password: $password, email_verified: true}' \
    | curl -sf -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
      --data-binary @- "$base/core/v1/issuers/default/users")
  [[ -n $(jq -r '.id // empty' <<<"$user") ]] \
    || { echo "bench-oauth: could not create the user: $user" >&2; exit 1; }

  OAUTH_BENCH_CLIENT_SECRET=$(jq -r .client_secret <<<"$client") \
    OAUTH_BENCH_LOGIN_PASSWORD=$LOGIN_PASSWORD driver \
    --name "tessera-$backend" --issuer "$base/default" \
    --client-id "$(jq -r .client_id <<<"$client")" --json-out "$WORK/tessera-$backend.json" \
    --login-username "$LOGIN_USER" --redirect-uri "$REDIRECT_URI"
  stop_server
}

echo "== machine: $(nproc --all) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

bench_tessera sqlite "sqlite://$WORK/tessera-sqlite/tessera.db"

if [[ $SKIP_POSTGRES == 0 ]]; then
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
  psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
  DB_CREATED=1
  bench_tessera postgres "$PG_SERVER/$PG_DB"
fi

echo "== oidc-provider (npm ci)" >&2
(cd "$ROOT/bench/oidc-provider" && npm ci --silent --no-audit --no-fund >/dev/null)
PORT=$(free_port)
ISSUER=http://127.0.0.1:$PORT
SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
echo "== oidc-provider $(jq -r .version "$ROOT/bench/oidc-provider/node_modules/oidc-provider/package.json") on node $(node --version) at $ISSUER (CPU 0)" >&2
(cd "$ROOT/bench/oidc-provider" && NODE_ENV=production PORT=$PORT ISSUER=$ISSUER CLIENT_ID=bench \
  CLIENT_SECRET=$SECRET exec taskset -c 0 node server.js) >"$WORK/oidc-provider.log" 2>&1 &
SERVER_PID=$!
wait_for "$ISSUER/.well-known/openid-configuration" "$WORK/oidc-provider.log"
# Its development login accepts any user name and password; prompt=consent is what makes it
# grant offline_access, and the api scope makes the access token a JWT for the default resource.
OAUTH_BENCH_CLIENT_SECRET=$SECRET OAUTH_BENCH_LOGIN_PASSWORD=$LOGIN_PASSWORD driver \
  --name oidc-provider --issuer "$ISSUER" \
  --client-id bench --introspection-resource urn:tessera:bench:opaque \
  --login-username "$LOGIN_USER" --redirect-uri "$REDIRECT_URI" \
  --login-scope 'openid offline_access api' --authorize-param prompt=consent \
  --json-out "$WORK/oidc-provider.json"
stop_server

echo "== report" >&2
REPORTS=("$WORK/tessera-sqlite.json")
[[ $SKIP_POSTGRES == 1 ]] || REPORTS+=("$WORK/tessera-postgres.json")
REPORTS+=("$WORK/oidc-provider.json")
"$DRIVER" report --baseline oidc-provider "${REPORTS[@]}"
if [[ -n $OUT ]]; then
  mkdir -p "$OUT"
  cp "${REPORTS[@]}" "$OUT/"
fi
