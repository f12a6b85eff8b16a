#!/usr/bin/env bash
# Runs schemathesis against a live Tessera with a valid Core API token: no 5xx, and every
# response matches the OpenAPI document the server publishes. Needs the `tessera` binary
# built (the test suite builds it) and Python 3; installs schemathesis into a venv under
# $HOME/.cache so later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
BIN="$TARGET/debug/tessera"
VENV="$HOME/.cache/tessera-venv"
SCHEMATHESIS_VERSION=4.32.5

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$BIN" ] || cargo build -p tessera-server --bin tessera

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
flags=(--data-dir "$work/data" --listen "127.0.0.1:$port")
# Private targets allowed: otherwise every generated webhook host name would be looked up
# in DNS, sending fuzzed names to the machine's resolver. The SSRF guard itself is covered by
# the test suite with IP literals.
TESSERA_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true "$BIN" serve "${flags[@]}" 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
# Python rather than curl: one fewer tool a fresh machine must have.
http() { python3 - "$@" <<'PY'
import base64, sys, urllib.parse, urllib.request
url, user, password = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, sys.argv[3] if len(sys.argv) > 3 else None
request = urllib.request.Request(url)
if user:
    request.data = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
print(urllib.request.urlopen(request, timeout=5).read().decode())
PY
}
for _ in $(seq 1 100); do
  http "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

credential=$("$BIN" admin create-credential --name schemathesis --json "${flags[@]}")
client_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$credential")
client_secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$credential")
token=$(http "http://127.0.0.1:$port/system/oauth/token" "$client_id" "$client_secret" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cd "$work" # schemathesis writes its example database into the working folder
"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/core/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed 1 \
  --request-timeout 10 \
  --generation-database none && status=0 || status=$?
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked during schemathesis:" >&2
  grep -A5 panicked "$work/server.log" >&2
  exit 1
fi
exit $status
