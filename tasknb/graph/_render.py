"""Lay out DOT text to SVG with whichever engine this machine has: system ``dot`` or the wheel.

    >>> find_engine()[0] in available_engines()
    True

Order of preference: the engine named by ``$TASKNB_DOT`` (a path or a name on PATH), the
system Graphviz ``dot`` on PATH, then the ``graphviz-pure`` binary installed from PyPI (a
Rust port of Graphviz with a dot-compatible command line), looked up on PATH and next to
the running interpreter (a kernel's PATH often lacks the virtualenv's ``bin``).
Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from collections import OrderedDict
from pathlib import Path

from tasknb.durations import format_duration
from tasknb.errors import TasknbError

ENGINE_ENV = "TASKNB_DOT"
"""Environment variable naming the layout binary to use (path or name on PATH)."""

RENDER_TIMEOUT_S = 120.0
"""How long one layout may take before it is abandoned."""

SYSTEM_DOT = "dot"
PURE_DOT = "graphviz-pure"
_CACHE_SIZE = 32
_svg_cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()
_cache_lock = threading.Lock()  # panels render from background threads


class RenderError(TasknbError, RuntimeError):
    """The graph could not be laid out: no engine, a failing engine or a timeout.

    Part of the one exception tree (``except tasknb.TasknbError`` catches it); still a
    ``RuntimeError`` for code written against earlier versions.
    """


def _script_dirs() -> list[str]:
    dirs = [str(Path(sys.executable).parent)]
    try:
        scripts = sysconfig.get_path("scripts")
    except KeyError:  # pragma: no cover - exotic installs
        scripts = None
    if scripts and scripts not in dirs:
        dirs.append(scripts)
    return dirs


def _find_pure() -> str | None:
    found = shutil.which(PURE_DOT)
    if found:
        return found
    for directory in _script_dirs():
        found = shutil.which(PURE_DOT, path=directory)
        if found:
            return found
    return None


def available_engines() -> dict[str, str]:
    """Every usable layout engine as ``{name: executable}``, most preferred first.

        >>> "graphviz-pure" in available_engines()  # a runtime dependency of tasknb
        True
    """
    engines: dict[str, str] = {}
    system = shutil.which(SYSTEM_DOT)
    if system:
        engines[SYSTEM_DOT] = system
    pure = _find_pure()
    if pure:
        engines[PURE_DOT] = pure
    return engines


def find_engine(engine: str | None = None) -> tuple[str, str]:
    """The ``(name, executable)`` to lay out with; ``engine`` picks one by name or path.

        >>> find_engine("graphviz-pure")[0]
        'graphviz-pure'

    Raises ``RenderError`` saying how to get an engine when none is found.
    """
    chosen = engine or os.environ.get(ENGINE_ENV) or None
    engines = available_engines()
    if chosen:
        if chosen in engines:
            return chosen, engines[chosen]
        path = shutil.which(chosen)
        if path:
            return Path(path).name, path
        raise RenderError(
            f"layout engine {chosen!r} was not found (available: "
            f"{', '.join(engines) or 'none'}); install Graphviz or `pip install graphviz-pure`"
        )
    if not engines:
        raise RenderError(
            "no Graphviz layout engine found: install Graphviz (the `dot` command) or "
            "`pip install graphviz-pure` into this environment"
        )
    name = next(iter(engines))
    return name, engines[name]


def _first_error_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    errors = [line for line in lines if line and not line.lower().startswith("warning")]
    return (errors or lines or ["no message"])[0]


def render_dot_svg(
    source: str,
    *,
    engine: str | None = None,
    layout: str = "dot",
    timeout: float = RENDER_TIMEOUT_S,
) -> str:
    """SVG text of DOT ``source``; results are cached per engine and source.

        >>> "<title>b</title>" in render_dot_svg("digraph { a -> b }")
        True

    ``layout`` is the Graphviz layout (``-K``), ``engine`` the binary (see ``find_engine``).
    """
    name, executable = find_engine(engine)
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()
    key = (executable, layout, digest)
    with _cache_lock:
        cached = _svg_cache.get(key)
        if cached is not None:
            _svg_cache.move_to_end(key)
            return cached
    command = [executable, "-Tsvg"]
    if layout and layout != "dot":
        command.append(f"-K{layout}")
    try:
        done = subprocess.run(
            command,
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RenderError(
            f"{name} did not finish laying out the graph within {format_duration(timeout)}; "
            "draw less of it (focus=...) or raise the timeout"
        ) from error
    except OSError as error:
        raise RenderError(f"could not run the layout engine {executable}: {error}") from error
    if done.returncode != 0:
        raise RenderError(
            f"{name} failed to lay out the graph (exit {done.returncode}): "
            f"{_first_error_line(done.stderr)}"
        )
    svg = done.stdout.decode("utf-8", "replace")
    if "<svg" not in svg:
        raise RenderError(f"{name} produced no SVG: {_first_error_line(done.stderr)}")
    with _cache_lock:
        _svg_cache[key] = svg
        while len(_svg_cache) > _CACHE_SIZE:
            _svg_cache.popitem(last=False)
    return svg
