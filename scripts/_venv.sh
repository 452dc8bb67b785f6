# Sourced by the scripts in this folder: create or reuse .venv and install scsctl into it.
# Re-installs only when pyproject.toml changed since the last install, so a second run is quick.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "scsctl needs Python 3.11 or newer; none was found on PATH (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {  # $1: the extra to install, e.g. "test" ("" for none)
    local extra="$1" spec="." stamp=".venv/.scsctl-installed"
    [ -n "$extra" ] && spec=".[$extra]"
    if [ ! -x .venv/bin/python ]; then
        "$(pick_python)" -m venv .venv
    fi
    local hash want
    hash="$(sha256sum < pyproject.toml | cut -c1-16)"
    want="$hash $extra"
    # The test install includes everything the plain one has: either satisfies a plain install.
    if [ ! -f "$stamp" ] || { ! grep -qxF "$want" "$stamp" && { [ -n "$extra" ] || ! grep -q "^$hash " "$stamp"; }; }; then
        echo "Installing scsctl into .venv ..." >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
        echo "$want" >> "$stamp"
    fi
}
