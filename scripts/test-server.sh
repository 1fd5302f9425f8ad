# Starts `switchboard serve` on a free loopback port over a fresh SQLite store, for the script
# checks (the Artillery smoke, the outside clients), and stops it when the calling script exits.
# Sourced; `start_test_server BIN NAME` exports SWITCHBOARD_URL and SWITCHBOARD_ADMIN_PASSWORD and
# sets TEST_SERVER_LOG (the server's standard error).

start_test_server() {
    local bin=$1 name=$2
    test_server_directory=$(mktemp -d)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export SWITCHBOARD_URL="http://127.0.0.1:$port" SWITCHBOARD_ADMIN_PASSWORD="$name-$RANDOM$RANDOM"
    TEST_SERVER_LOG="$test_server_directory/server.log"
    SWITCHBOARD_LOG_LEVEL=warn "$bin" serve --listen "127.0.0.1:$port" \
        --database-url "sqlite://$test_server_directory/$name.db" 2> "$TEST_SERVER_LOG" &
    test_server=$!
    trap 'kill "$test_server" 2>/dev/null; wait "$test_server" 2>/dev/null; rm -rf "$test_server_directory"' EXIT
    for _ in $(seq 100); do
        curl -fs "$SWITCHBOARD_URL/health" > /dev/null && return 0
        sleep 0.1
    done
    echo "the test server did not answer /health:" >&2
    tail -20 "$TEST_SERVER_LOG" >&2
    return 1
}
