# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the test suites, starting (or, on
# a machine without one, installing) the local cluster, and exports SWITCHBOARD_TEST_POSTGRES_URL.
# Sourced by scripts/test.

ensure_postgres() {
    local url="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "postgres: not installed; installing the Debian package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        echo "postgres: starting the local cluster" >&2
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
    fi
    if ! psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
        # A fresh install asks for a password over TCP: give the postgres role one.
        su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
        url="postgres://postgres:postgres@127.0.0.1:5432/postgres"
        psql "$url" -qtAc 'SELECT 1' >/dev/null || { echo "postgres: cannot connect to $url" >&2; return 1; }
    fi
    export SWITCHBOARD_TEST_POSTGRES_URL="$url"
}
