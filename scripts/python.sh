# Makes a Python virtual environment with the outside clients the tests check our adapters with
# (`clients/requirements.txt`), in a cache outside the clone, and exports PYTHON. Sourced by
# scripts/test.

ensure_python_clients() {
    local home="${CLIENTS_VENV:-$HOME/.cache/switchboard/clients-venv}"
    local requirements
    requirements="$(dirname "${BASH_SOURCE[0]}")/../clients/requirements.txt"
    local stamp="$home/requirements.txt"
    if [ ! -x "$home/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
        echo "python clients: installing into $home" >&2
        python3 -m venv "$home" >&2 || return 1
        "$home/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2 || return 1
        cp "$requirements" "$stamp"
    fi
    export PYTHON="$home/bin/python"
}
