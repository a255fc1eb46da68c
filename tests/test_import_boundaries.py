"""The import lines of docs/design.md, enforced by reading the source.

    tasknb.local never imports the client, the models or the frames: it is a second,
    independent implementation of the contract, so one misreading cannot hide on both sides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tasknb"

# module (relative to tasknb/) -> tasknb modules it must never import
FORBIDDEN = {
    "errors": {"client", "config", "auth", "frames", "graph", "widgets", "cli", "local"},
    "models": {"client", "config", "auth", "frames", "graph", "widgets", "cli", "local"},
    "config": {"client", "frames", "graph", "widgets", "local"},
    "auth": {"client", "frames", "graph", "widgets", "local"},
    "client": {"frames", "graph", "widgets", "cli", "local"},
    "frames": {"client", "graph", "widgets", "cli", "local"},
    "graph": {"client", "frames", "widgets", "cli", "local"},
}
LOCAL_FORBIDDEN = {"client", "models", "frames", "graph", "widgets", "cli", "auth", "config"}
THIRD_PARTY_FORBIDDEN = {
    "errors": {"httpx", "pandas", "graphviz", "ipywidgets"},
    "models": {"httpx", "pandas", "graphviz", "ipywidgets"},
    "frames": {"ipywidgets", "httpx"},
    "graph": {"ipywidgets", "httpx", "pandas"},
}


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


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield path, list(rel.parts)


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_core_modules_keep_their_lines(name: str) -> None:
    path = PACKAGE / f"{name}.py"
    if not path.exists():
        # a module that is split into a package keeps the same rule under its folder
        path = PACKAGE / name / "__init__.py"
    assert path.exists(), f"tasknb/{name}.py is part of the design and must exist"
    tree = ast.parse(path.read_text())
    for imported, _ in _tasknb_imports(tree, top_level_only=False, module_parts=["tasknb", name]):
        parts = imported.split(".")
        if parts[0] == "tasknb" and len(parts) > 1:
            assert parts[1] not in FORBIDDEN[name], f"tasknb/{name}.py imports {imported}"
        assert parts[0] not in THIRD_PARTY_FORBIDDEN.get(name, set()), (
            f"tasknb/{name}.py imports {imported}"
        )


def test_local_server_never_imports_the_client() -> None:
    checked = 0
    for path, parts in _modules():
        if parts[0] != "local":
            continue
        checked += 1
        tree = ast.parse(path.read_text())
        for imported, node in _tasknb_imports(
            tree, top_level_only=False, module_parts=["tasknb", *parts]
        ):
            bits = imported.split(".")
            if bits[0] != "tasknb" or len(bits) < 2 or bits[1] == "local":
                continue
            if bits[1] in LOCAL_FORBIDDEN or bits[1] in {"testing", "notebook"}:
                # the one allowed bridge: LocalServer.connect builds a client lazily
                assert _inside_function(tree, node) == "connect", (
                    f"tasknb/{'/'.join(parts)}.py imports {imported} outside LocalServer.connect"
                )
    assert checked >= 3, "the local server package is expected under tasknb/local/"


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
