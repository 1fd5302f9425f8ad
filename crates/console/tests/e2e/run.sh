#!/usr/bin/env bash
# Runs the console's browser tests against a server started here on a fresh SQLite store.
# Usage: crates/console/tests/e2e/run.sh path/to/switchboard
# Needs CHROMIUM and BROWSER_MODULES (scripts/browser.sh). Screenshots, the trace and the
# figures go to CONSOLE_ARTIFACTS (default: console-e2e/ beside the binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export CONSOLE_ARTIFACTS=${CONSOLE_ARTIFACTS:-$(dirname "$binary")/console-e2e}
rm -rf "$CONSOLE_ARTIFACTS"
mkdir -p "$CONSOLE_ARTIFACTS"
# Failing replies reach the dead letters after two quick attempts.
export SWITCHBOARD_QUEUE_MAX_ATTEMPTS=2 SWITCHBOARD_QUEUE_RETRY_BASE_MS=100
source "$here/../../../../scripts/test-server.sh"
start_test_server "$binary" console
node --test --test-concurrency=1 "$here/console.test.cjs" || { tail -30 "$TEST_SERVER_LOG" >&2; exit 1; }
