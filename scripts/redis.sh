# Makes sure a Redis server answers on 127.0.0.1:6379 for the test suites, starting (or, on a
# machine without one, installing) it, and exports SWITCHBOARD_TEST_REDIS_URL.
# Sourced by scripts/test.

ensure_redis() {
    local url="${SWITCHBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "redis: not installed; installing the Debian package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "redis: starting a server on 127.0.0.1:6379" >&2
        redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
        for _ in $(seq 1 30); do
            redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
            sleep 0.2
        done
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "redis: cannot reach 127.0.0.1:6379" >&2; return 1; }
    fi
    export SWITCHBOARD_TEST_REDIS_URL="$url"
}
