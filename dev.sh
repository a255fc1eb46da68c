#!/usr/bin/env bash
# The two Quickstart commands:
#   ./dev.sh demo   set up, start the local Task server with demo data, open JupyterLab on notebooks/
#   ./dev.sh test   set up and run every check (lint, tests, notebooks, browser test, and the
#                   sdist and wheel built and checked by tests/test_packaging.py)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"

# setup_python EXTRAS: the venv with tasknb (editable) and those extras; the demo needs only
# the notebook layer and the local server, the tests everything ([dev] = [all] + test tools)
setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
}

setup_browser() {
    # The browser test drives Debian's chromium through Playwright (never `playwright install`,
    # never a browser download). Idempotent: nothing to do when chromium is already there.
    if [ -n "${TASKNB_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "chromium is missing and apt-get is not available: install Chromium," \
             "or set TASKNB_CHROMIUM=/path/to/chromium, to run the browser test" >&2
        exit 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    echo "installing Debian's chromium for the browser test (apt-get)..." >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # fonts-dejavu-core: readable screenshots on images that ship no fonts at all
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium fonts-dejavu-core >/dev/null
    chromium --version >&2
}

case "${1:-}" in
    demo)
        setup_python notebook,local
        exec "$VENV/bin/python" -m tasknb.demo "${@:2}"
        ;;
    test)
        setup_python dev
        setup_browser
        "$VENV/bin/ruff" check tasknb tests benchmarks notebooks
        # every docstring example of the package runs (README and docs/design.md: no example
        # that does not); then the tests, the notebooks under nbval and the browser test
        "$VENV/bin/python" -m pytest -q -p no:cacheprovider -o addopts="" --doctest-modules tasknb
        exec "$VENV/bin/python" -m pytest "${@:2}"
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
