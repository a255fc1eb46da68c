"""The notebooks: jupytext pairs in sync, nbval wiring, a sanitize file that works.

    .venv/bin/pytest notebooks/          # every notebook, every cell, under nbval-lax

Each notebook is a jupytext percent file (``notebooks/0N_*.py``, linted by ruff) paired with
its ``.ipynb`` (what JupyterLab opens and nbval runs). Edit either one in JupyterLab with
jupytext installed, or edit the ``.py`` and run ``jupytext --sync notebooks/0*.py``.
The notebooks themselves run as nbval items (pyproject's addopts); this file checks what
would otherwise fail silently: a pair out of sync, a notebook missing or not collected, a
sanitize rule that does not match the volatile values the notebooks print, a stored output
that leaks a token.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"
EXPECTED_NOTEBOOKS = (
    "01_explore.ipynb",
    "02_investigate_failures.ipynb",
    "03_teaching_task_graphs.ipynb",
)


PAIRED_FORMATS = "ipynb,py:percent"
SYNC_HINT = "run .venv/bin/jupytext --sync notebooks/0*.py (the newer file of the pair wins)"


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_is_a_jupytext_pair_and_nothing_else_is():
    sources = sorted(path.stem for path in NOTEBOOKS.glob("0*.py"))
    notebooks = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
    assert notebooks == sorted(Path(name).stem for name in EXPECTED_NOTEBOOKS)
    assert sources == notebooks, "each notebook needs its percent .py (and each .py a notebook)"


@pytest.mark.parametrize("name", EXPECTED_NOTEBOOKS)
def test_the_percent_file_and_the_notebook_hold_the_same_cells(name):
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    source = jupytext.read(NOTEBOOKS / name.replace(".ipynb", ".py"))
    assert stored.metadata.get("jupytext", {}).get("formats") == PAIRED_FORMATS, name
    assert source.metadata.get("jupytext", {}).get("formats") == PAIRED_FORMATS, name
    assert _cells(source) == _cells(stored), f"{name} and its .py differ: {SYNC_HINT}"


def test_the_sync_check_sees_a_changed_cell():
    name = EXPECTED_NOTEBOOKS[0]
    source = jupytext.read(NOTEBOOKS / name.replace(".ipynb", ".py"))
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    edited = jupytext.reads(
        jupytext.writes(source, fmt="py:percent").replace("CONNECTION = None", "CONNECTION = 1"),
        fmt="py:percent",
    )
    assert _cells(edited) != _cells(stored)


@pytest.mark.parametrize("name", EXPECTED_NOTEBOOKS)
def test_stored_notebooks_carry_no_outputs_and_start_with_the_connection_cell(name):
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert code[0].source.startswith("CONNECTION = None  # set to a connection name")
    assert all(not c.outputs and c.execution_count is None for c in code), name


def sanitize(text: str) -> str:
    """Apply notebooks/sanitize.cfg the way nbval does: re.sub per pair, in file order."""
    for regex, replace in get_sanitize_patterns(SANITIZE.read_text()):
        text = re.sub(regex, replace, text)
    return text


def pytest_options() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    return shlex.split(config["ini_options"]["addopts"]), config["ini_options"]["testpaths"]


def test_the_test_command_runs_the_notebooks_with_the_sanitize_file():
    addopts, testpaths = pytest_options()
    assert "notebooks" in testpaths
    assert "--nbval-lax" in addopts and "--nbval-current-env" in addopts
    sanitize_file = addopts[addopts.index("--nbval-sanitize-with") + 1]
    assert (ROOT / sanitize_file).resolve() == SANITIZE


def test_every_sanitize_rule_is_a_pair_that_compiles():
    text = SANITIZE.read_text()
    pairs = get_sanitize_patterns(text)
    regex_lines = [line for line in text.splitlines() if line.startswith("regex:")]
    assert len(pairs) == len(regex_lines) >= 5  # a regex without its replace is ignored
    for regex, _ in pairs:
        re.compile(regex)


@pytest.mark.parametrize(
    ("volatile", "stable"),
    [
        ("open http://127.0.0.1:54321/lab", "open http://127.0.0.1:PORT/lab"),
        ("<graphviz.graphs.Digraph at 0x7f3a2c1b9d50>", "<graphviz.graphs.Digraph at 0xADDR>"),
        (
            "(code 091421, request 0b9e5a2c-3f1d-4c55-9d7e-2a61f0c3b8e4)",
            "(code 091421, request UUID)",
        ),
        ("refreshed 2026-11-29 12:34:56", "refreshed TIMESTAMP"),
        ("2026-11-29 12:34:56.123456+00:00", "TIMESTAMP"),
        ("2026-11-29T12:34:56Z", "TIMESTAMP"),
        ("retrying run 1764412345678", "retrying run RUN_ID"),
        ("run_id=1764412345678", "run_id=RUN_ID"),
        ("took 12.3 s", "took DURATION"),
        ("finished in 850 ms", "finished in DURATION"),
        ("last refreshed 3 seconds ago", "last refreshed AGO"),
        ("<!-- Generated by graphviz version 2.43.0 (0) -->", "<!-- Generated by graphviz -->"),
    ],
)
def test_sanitize_rules_make_volatile_values_stable(volatile, stable):
    assert sanitize(volatile) == stable


def test_sanitize_leaves_stable_values_alone():
    text = "LOAD_ORDERS FAILED (code 100038): Numeric value 'abc' is not recognized; 3 tasks"
    assert sanitize(text) == text


@pytest.mark.parametrize("name", EXPECTED_NOTEBOOKS)
def test_the_three_notebooks_are_there_with_a_python3_kernel(name):
    path = NOTEBOOKS / name
    assert path.exists(), f"notebooks/{name} is part of issue 4 and runs under nbval"
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert sum(cell["cell_type"] == "code" for cell in notebook["cells"]) >= 3


@pytest.mark.parametrize("name", EXPECTED_NOTEBOOKS)
def test_stored_notebooks_hold_no_errors_or_tokens(name):
    path = NOTEBOOKS / name
    assert path.exists(), f"notebooks/{name} is missing"
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{name} was saved with a traceback"
            text = json.dumps(output)
            assert "TASKNB_TOKEN=" not in text and "?token=" not in text, f"{name} leaks a token"
