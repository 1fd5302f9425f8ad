# Makes the console's browser tests runnable: Debian's Chromium (installed with apt-get when
# missing and we are root) and playwright-core with axe-core from npm, at the versions locked in
# crates/console/tests/e2e/package-lock.json, in a cache outside the clone. Exports CHROMIUM and
# BROWSER_MODULES (the node_modules the tests load from). Sourced by scripts/test.

ensure_browser() {
    local home="${BROWSER_HOME:-$HOME/.cache/switchboard/browser}"
    local source
    source="$(cd "$(dirname "${BASH_SOURCE[0]}")/../crates/console/tests/e2e" && pwd)"
    if ! command -v chromium >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
            echo "browser: chromium is not installed (apt-get install chromium)" >&2
            return 1
        fi
        echo "browser: installing Debian's chromium" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
            || return 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "browser: npm is not installed" >&2
        return 1
    fi
    if [ ! -d "$home/node_modules/playwright-core" ] \
        || ! cmp -s "$source/package-lock.json" "$home/package-lock.json"; then
        echo "browser: installing playwright-core and axe-core into $home" >&2
        mkdir -p "$home"
        cp "$source/package.json" "$source/package-lock.json" "$home/"
        # playwright-core downloads no browser; the tests drive Debian's.
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$home" --no-audit --no-fund \
            --loglevel=error >&2 || return 1
    fi
    export CHROMIUM
    CHROMIUM="$(command -v chromium)"
    export BROWSER_MODULES="$home/node_modules"
}
