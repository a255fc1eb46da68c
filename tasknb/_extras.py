"""The optional parts of tasknb, the extra that installs each, and the error when one is missing.

    >>> EXTRA_OF["duckdb"], EXTRA_OF["pandas"], EXTRA_OF["snowflake"]
    ('local', 'notebook', 'connector')
    >>> print(MissingExtra("local", "tasknb.local", ["duckdb"]))
    tasknb.local needs duckdb, which the "local" extra installs: pip install "tasknb[local]"

The base install is the client. ``require(extra, feature)`` checks (without importing) that
an extra's modules are importable; ``needs(feature)`` turns a ``ModuleNotFoundError`` for one
of them, raised by the imports in its block, into :class:`MissingExtra`. Standard library only
(the local server uses it too).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from .errors import MissingExtra

__all__ = ["EXTRA_OF", "MODULES", "MissingExtra", "needs", "require"]

#: extra -> the top-level modules it brings that tasknb imports (distribution names differ)
MODULES: dict[str, tuple[str, ...]] = {
    "notebook": ("pandas", "numpy", "graphviz", "ipywidgets", "traitlets", "IPython", "tqdm",
                 "anywidget", "altair"),
    "local": ("duckdb", "sqlglot", "starlette", "uvicorn"),
    "connector": ("snowflake",),
}
#: top-level module -> the extra that installs it
EXTRA_OF: dict[str, str] = {module: extra for extra, names in MODULES.items() for module in names}
#: what to name when a module is missing (its distribution, where that differs)
DISTRIBUTION: dict[str, str] = {
    "snowflake": "snowflake-connector-python",
    "snowflake.connector": "snowflake-connector-python",
}


def _missing(modules: Iterable[str]) -> list[str]:
    absent = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(DISTRIBUTION.get(module, module))
    return absent


def require(extra: str, feature: str, modules: Sequence[str] | None = None) -> None:
    """Raise :class:`MissingExtra` unless ``modules`` (default: the core of ``extra``) import.

        >>> require("local", "tasknb.local", ["json"])
        >>> require("local", "tasknb.local", ["no_such_module_here"])
        Traceback (most recent call last):
        tasknb.errors.MissingExtra: tasknb.local needs no_such_module_here, which the "local" extra installs: pip install "tasknb[local]"

    Only the modules are looked for, none is imported.
    """
    wanted = modules if modules is not None else _CORE[extra]
    absent = _missing(wanted)
    if absent:
        raise MissingExtra(extra, feature, absent)


@contextmanager
def needs(feature: str) -> Iterator[None]:
    """Turn a missing optional module, imported in the block, into :class:`MissingExtra`.

    The message names the extra's own packages that are missing (the first one raised wins
    when blocks nest).

        >>> with needs("tasknb.frames"):
        ...     import json
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        root = (exc.name or "").partition(".")[0]
        extra = EXTRA_OF.get(root)
        if extra is None:
            raise
        # name what the user installs (pandas), not what came with it (numpy)
        missing = _missing(_CORE[extra]) or [DISTRIBUTION.get(root, root)]
        raise MissingExtra(extra, feature, missing) from None


#: the modules whose absence means the extra is not installed (the rest come with them)
_CORE: dict[str, tuple[str, ...]] = {
    "notebook": ("pandas", "graphviz", "ipywidgets", "tqdm"),
    "local": MODULES["local"],
    "connector": ("snowflake.connector",),
}
