"""The import lines of docs/design.md ("What may import what"), enforced by reading the source.

tasknb.local never imports the client, the models or the frames: it is a second, independent
implementation of the contract, so one misreading cannot hide on both sides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tasknb"

ANY = None  # a part that combines everything (the notebook bridge, the CLI, the demo)
# part of tasknb (a module, or a package with everything under it) -> the parts it may import
ALLOWED: dict[str, set[str] | None] = {
    "errors": set(),
    "_secret": set(),
    "_version": set(),
    "_gc": set(),  # stdlib only: pausing the cyclic GC while big listings are built
    "_extras": {"errors"},  # stdlib only: which extra brings which module, and its error
    "durations": set(),
    "texts": set(),
    "identifiers": {"errors"},
    "runs": {"errors", "identifiers", "durations"},  # models only in type hints
    "models": {"errors", "identifiers", "durations", "runs"},  # run states: one definition
    "dag": {"errors", "identifiers", "models"},
    "auth": {"errors", "_secret", "_extras"},
    "config": {"errors", "_secret", "_extras", "auth", "sessions"},
    "sessions": {"errors", "_secret", "_extras"},
    "client": {"errors", "_secret", "_version", "_extras", "_gc", "auth", "config", "identifiers",
               "models", "runs", "durations"},
    "frames": {"errors", "_extras", "_gc", "identifiers", "models", "dag", "runs", "durations",
               "texts"},
    "graph": {"errors", "_extras", "identifiers", "models", "dag", "runs", "durations", "texts"},
    "timeline": {"errors", "_extras", "identifiers", "models", "runs", "durations", "frames"},
    "widgets": {"errors", "_extras", "identifiers", "models", "dag", "runs", "durations",
                "texts", "client", "frames", "graph", "timeline"},
    # the local server: its own modules, the stdlib-only duration text and the missing-extra
    # check; never the client
    "local": {"durations", "_extras"},
    "notebook": ANY,
    "cli": ANY,
    "demo": ANY,
    "testing": ANY,
    "__init__": ANY,
}
# third-party packages a part must not import at all (the heavy ones stay behind their part)
THIRD_PARTY_FORBIDDEN = {
    "errors": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "models": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "identifiers": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "durations": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "texts": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "runs": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "dag": {"httpx", "pandas", "graphviz", "ipywidgets", "duckdb"},
    "frames": {"ipywidgets", "httpx", "duckdb"},
    "graph": {"ipywidgets", "httpx", "pandas", "duckdb"},
    "timeline": {"ipywidgets", "httpx", "duckdb", "graphviz"},
    "client": {"graphviz", "ipywidgets", "duckdb", "starlette", "uvicorn"},
    "local": {"pandas", "graphviz", "ipywidgets"},
}
# imported only inside functions (so `import tasknb` and the client stay light)
LAZY_ONLY = {"client": {"pandas"}}


def _tasknb_imports(tree: ast.AST, *, top_level_only: bool, module_parts: list[str]):
    """Yield (imported tasknb submodule, node) pairs; relative imports are resolved."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module_parts[:-1]
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
                if node.module is None:
                    for alias in node.names:
                        yield f"{target}.{alias.name}", node
                else:
                    yield target, node
            else:
                yield node.module or "", node
                for alias in node.names:
                    yield f"{node.module}.{alias.name}", node


def _inside_function(tree: ast.AST, target: ast.AST) -> str | None:
    for node in ast.walk(tree):
        is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if is_function and any(child is target for child in ast.walk(node)):
            return node.name
    return None


def _for_type_checking(tree: ast.AST, target: ast.AST) -> bool:
    """Whether ``target`` sits under ``if TYPE_CHECKING:`` (never run)."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"
                and any(child is target for stmt in node.body for child in ast.walk(stmt))):
            return True
    return False


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield path, list(rel.parts)


def _part(parts: list[str]) -> str:
    return parts[0]


def test_every_part_of_the_package_is_in_the_design() -> None:
    unknown = sorted({_part(parts) for _, parts in _modules()} - set(ALLOWED))
    assert not unknown, f"add these to docs/design.md and ALLOWED: {unknown}"


@pytest.mark.parametrize("part", sorted(name for name, allowed in ALLOWED.items()
                                        if allowed is not ANY))
def test_each_part_keeps_its_lines(part: str) -> None:
    checked = 0
    for path, parts in _modules():
        if _part(parts) != part:
            continue
        checked += 1
        tree = ast.parse(path.read_text())
        where = f"tasknb/{'/'.join(parts)}.py"
        for imported, node in _tasknb_imports(tree, top_level_only=False,
                                              module_parts=["tasknb", *parts]):
            bits = imported.split(".")
            if bits[0] == "tasknb" and len(bits) > 1 and bits[1] != part:
                if _for_type_checking(tree, node):
                    continue  # named in type hints only, never imported at run time
                if part == "local" and _inside_function(tree, node) == "connect":
                    continue  # the one bridge: LocalServer.connect builds a client lazily
                if (part, bits[1]) == ("graph", "widgets") and (
                    _inside_function(tree, node) == "interactive"
                ):
                    continue  # the other: TaskGraph.interactive() wraps itself in a GraphView
                assert bits[1] in ALLOWED[part], f"{where} imports {imported}"
            assert bits[0] not in THIRD_PARTY_FORBIDDEN.get(part, set()), (
                f"{where} imports {imported}")
            if bits[0] in LAZY_ONLY.get(part, set()):
                lazy = _inside_function(tree, node) or _for_type_checking(tree, node)
                assert lazy, f"{where} imports {imported} at import time"
    assert checked, f"tasknb/{part} is part of the design and must exist"


def test_local_server_never_imports_the_client() -> None:
    forbidden = {"client", "models", "frames", "graph", "widgets", "cli", "auth", "config",
                 "testing", "notebook", "runs", "dag", "identifiers"}
    for path, parts in _modules():
        if parts[0] != "local":
            continue
        tree = ast.parse(path.read_text())
        for imported, node in _tasknb_imports(
            tree, top_level_only=False, module_parts=["tasknb", *parts]
        ):
            bits = imported.split(".")
            if bits[0] == "tasknb" and len(bits) > 1 and bits[1] in forbidden:
                assert _inside_function(tree, node) == "connect", (
                    f"tasknb/{'/'.join(parts)}.py imports {imported} outside LocalServer.connect"
                )


def test_importing_tasknb_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tasknb;"
        "heavy = [m for m in ('pandas', 'graphviz', 'ipywidgets', 'duckdb', 'starlette', 'uvicorn')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import tasknb pulled in: {out.stdout.strip()}"
