#!/usr/bin/env bash
# Runs the outside clients in clients/ against a server started here on a fresh SQLite store.
# Usage: clients/check.sh path/to/switchboard   (PYTHON: the venv's python, scripts/python.sh)
set -euo pipefail
BIN=$1
PYTHON=${PYTHON:-python3}
directory=$(mktemp -d)
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SWITCHBOARD_URL="http://127.0.0.1:$port" SWITCHBOARD_ADMIN_PASSWORD="clients-$RANDOM$RANDOM"
SWITCHBOARD_LOG_LEVEL=warn "$BIN" serve --listen "127.0.0.1:$port" \
  --database-url "sqlite://$directory/clients.db" 2> "$directory/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$directory"' EXIT
for _ in $(seq 100); do
  curl -fs "$SWITCHBOARD_URL/health" > /dev/null && break
  sleep 0.1
done
here=$(dirname "$0")
echo "== gql (GraphQL)"
"$PYTHON" "$here/graphql_client.py" || { tail -20 "$directory/server.log" >&2; exit 1; }
