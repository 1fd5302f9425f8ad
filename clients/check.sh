#!/usr/bin/env bash
# Runs the outside clients in clients/ against a server started here on a fresh SQLite store.
# Usage: clients/check.sh path/to/switchboard   (PYTHON: the venv's python, scripts/python.sh)
set -euo pipefail
PYTHON=${PYTHON:-python3}
here=$(dirname "$0")
source "$here/../scripts/test-server.sh"
start_test_server "$1" clients
echo "== gql (GraphQL)"
"$PYTHON" "$here/graphql_client.py" || { tail -20 "$TEST_SERVER_LOG" >&2; exit 1; }
echo "== gql (GraphQL subscriptions over graphql-transport-ws)"
"$PYTHON" "$here/graphql_subscription.py" || { tail -20 "$TEST_SERVER_LOG" >&2; exit 1; }
echo "== mcp (the official Python SDK, auto and legacy modes)"
"$PYTHON" "$here/mcp_client.py" || { tail -20 "$TEST_SERVER_LOG" >&2; exit 1; }
echo "== openai (the official Python SDK against an agent's chat completions)"
"$PYTHON" "$here/openai_client.py" || { tail -20 "$TEST_SERVER_LOG" >&2; exit 1; }
