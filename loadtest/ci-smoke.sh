#!/usr/bin/env bash
# CI smoke for the load harness and the k6/Artillery scripts (see docs/loadtest.md):
#   1. `webhook`, `e2e` and `ws` smoke runs against a spawned server, with thresholds loose on latency
#      (a noisy CI machine) and strict on loss, duplicates and order, and the GraphQL mix with
#      GraphQL against REST for the same work (an answer with GraphQL errors fails the run), and
#      MCP's `echo` and mix (a JSON-RPC error or an `isError` result fails the run);
#   2. the checker's self-test: a reply dropped, duplicated or reordered at the fake provider
#      must fail the run with exit status 99;
#   3. the Artillery scripts' smoke profile against a spawned `switchboard serve`, if
#      Artillery is installed (ARTILLERY=path/to/artillery, or `artillery` on PATH).
# Usage: loadtest/ci-smoke.sh [path/to/switchboard]   (default target/release/switchboard)
set -euo pipefail

BIN=${1:-target/release/switchboard}
DURATION=${SMOKE_DURATION:-10s}

echo "== webhook smoke"
"$BIN" loadtest --spawn --scenario webhook --profile smoke --vus 4 --duration "$DURATION" \
  --threshold 'p95<1s' --threshold 'errors<1%'

# End to end at a fixed arrival rate: webhooks are acknowledged ahead of the pipeline, so a closed
# model (each user sending again as soon as it is acknowledged) outruns a debug build's pipeline
# and would time the backlog it piles up rather than a reply's way through.
echo "== e2e smoke"
"$BIN" loadtest --spawn --scenario e2e --profile smoke --rate 200/s --duration "$DURATION" \
  --threshold 'p95<5s' --threshold 'webhook_ack.errors<1%' \
  --threshold 'lost==0' --threshold 'duplicates==0' --threshold 'order_violations==0'

echo "== ws smoke"
"$BIN" loadtest --spawn --scenario ws --profile smoke --vus 4 --duration "$DURATION" \
  --threshold 'p95<1s' --threshold 'errors<1%'

echo "== graphql smoke: the mix, then GraphQL against REST for the same work"
"$BIN" loadtest --spawn --scenario graphql,graphql-me,rest-me,graphql-list,rest-list --profile smoke \
  --vus 4 --duration "$DURATION" --threshold 'p95<1s' --threshold 'errors<1%'

echo "== mcp smoke: tools/call of echo, then the mix"
"$BIN" loadtest --spawn --scenario mcp,mcp-mix --profile smoke \
  --vus 4 --duration "$DURATION" --threshold 'p95<1s' --threshold 'errors<1%'

echo "== analytics smoke: a dashboard's summaries and series, then the full mix that reads them"
"$BIN" loadtest --spawn --scenario analytics,full --profile smoke \
  --vus 4 --duration "$DURATION" --threshold 'p95<2s' --threshold 'errors<1%'

for fault in drop duplicate reorder; do
  echo "== self-test: a $fault at the fake provider must fail the run"
  status=0
  "$BIN" loadtest --spawn --scenario e2e --vus 2 --duration 3s --quiet --inject-fault "$fault" \
    > /dev/null || status=$?
  if [ "$status" -ne 99 ]; then
    echo "expected exit status 99 for --inject-fault $fault, got $status" >&2
    exit 1
  fi
done

ARTILLERY=${ARTILLERY:-$(command -v artillery || true)}
if [ -z "$ARTILLERY" ]; then
  echo "== Artillery not installed: skipping its smoke (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install artillery@2)"
  exit 0
fi
here=$(dirname "$0")
source "$here/../scripts/test-server.sh"
start_test_server "$BIN" ci-smoke
for script in health webhook rest graphql mcp full ws; do
  echo "== artillery $script (smoke)"
  "$ARTILLERY" run --config "$here/artillery/profiles.yml" --environment smoke "$here/artillery/$script.yml"
done
