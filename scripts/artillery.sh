# Makes Artillery available for the load harness's CI smoke, installing it from npm into a cache
# outside the clone on first use, and exports ARTILLERY. Sourced by scripts/test.

ensure_artillery() {
    local home="${ARTILLERY_HOME:-$HOME/.cache/switchboard/artillery}"
    local bin="$home/node_modules/.bin/artillery"
    if [ ! -x "$bin" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "artillery: npm is not installed" >&2
            return 1
        fi
        echo "artillery: installing into $home" >&2
        mkdir -p "$home"
        # Its post-install step would download a browser, which this project never uses.
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$home" --no-audit --no-fund \
            --loglevel=error artillery@2 >&2 || return 1
    fi
    export ARTILLERY="$bin"
}
