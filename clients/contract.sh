#!/usr/bin/env bash
# The contract check: schemathesis (clients/requirements.txt) generates requests for every
# operation of /openapi.json, as a logged-in platform admin, against a server started here on a
# fresh SQLite store, and fails on any 5xx, any status the document does not list for the
# operation, and any response body or content type that does not match the document.
# Usage: clients/contract.sh path/to/switchboard   (PYTHON: the venv's python, scripts/python.sh)
# CONTRACT_EXAMPLES bounds the generated cases per operation and phase (default 8).
set -euo pipefail
PYTHON=${PYTHON:-python3}
here=$(dirname "$0")
source "$here/../scripts/test-server.sh"
start_test_server "$1" contract
token=$(curl -fs "$SWITCHBOARD_URL/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$SWITCHBOARD_ADMIN_PASSWORD\"}" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["tokens"]["accessToken"])')
report=$(mktemp -d)
status=0
# One worker: with two threads, CPython 3.11's `ast.parse` (which hypothesis calls to describe a
# filtered strategy) can fail with "AST constructor recursion depth mismatch" (CPython issue
# 106905), a crash of the generator rather than a finding.
"$(dirname "$PYTHON")/schemathesis" run "$SWITCHBOARD_URL/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${CONTRACT_EXAMPLES:-8}" \
    --workers 1 --seed 29 --no-shrink --generation-database none \
    --suppress-health-check all --request-timeout 20 --no-color \
    --report junit --report-dir "$report" || status=$?
if [ "$status" -ne 0 ]; then
    grep -E 'status=5|ERROR' "$TEST_SERVER_LOG" | tail -20 >&2 || true
fi
rm -rf "$report"
exit "$status"
