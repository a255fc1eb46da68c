#!/usr/bin/env bash
# The two Quickstart commands:
#   ./dev.sh demo   set up, start the local Task server with demo data, open JupyterLab on notebooks/
#   ./dev.sh test   set up and run every check (lint, tests, notebooks, browser test)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
}

setup_browser() {
    # The browser test drives Debian's chromium (never a browser download).
    if command -v chromium >/dev/null 2>&1; then
        return
    fi
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing and apt-get is not available: install Chromium to run the browser test" >&2
        exit 1
    fi
}

case "${1:-}" in
    demo)
        setup_python
        exec "$VENV/bin/tasknb" demo "${@:2}"
        ;;
    test)
        setup_python
        setup_browser
        "$VENV/bin/ruff" check tasknb tests benchmarks
        exec "$VENV/bin/python" -m pytest "${@:2}"
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
