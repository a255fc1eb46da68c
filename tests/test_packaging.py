"""tasknb installs like a library: the sdist and the wheel, their contents, and the base install.

The sdist and the wheel are built with ``python -m build`` (the wheel from the sdist, as pip
does). The base install is a fresh venv holding only the wheel (``pip install --no-deps``) and
the base requirements its metadata names: it must run the client against a real local server
(run by this environment) with no pandas, DuckDB or connector present, and every optional part
must answer with the one command that installs it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tasknb import _extras
from tasknb.testing import local_server

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tasknb"
BASE_REQUIREMENTS = {"httpx", "orjson", "pyjwt", "tomli", "tzdata"}
EXTRAS = {"notebook", "local", "connector", "all", "dev"}
HEAVY = ("pandas", "numpy", "duckdb", "sqlglot", "starlette", "uvicorn", "graphviz",
         "ipywidgets", "snowflake")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=240)
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("tasknb-*.whl")
    return wheel


def _metadata(dist: Path):
    with zipfile.ZipFile(_wheel(dist)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def _requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")


def _package_files() -> set[str]:
    """Every file of tasknb/ in git's view of the tree (no caches, no build leftovers)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "tasknb"], cwd=ROOT, capture_output=True, text=True, check=True)
    return {line for line in listed.stdout.splitlines() if (ROOT / line).is_file()}


def test_the_wheel_holds_the_package_its_data_and_no_tests(dist):
    with zipfile.ZipFile(_wheel(dist)) as archive:
        names = set(archive.namelist())
    shipped = {n for n in names if not n.startswith("tasknb-")}
    assert "tasknb/py.typed" in shipped
    missing = _package_files() - shipped
    assert not missing, f"files of tasknb/ not in the wheel: {sorted(missing)}"
    data = {n for n in _package_files() if not n.endswith(".py")}
    assert data <= shipped  # package data (py.typed, any widget JavaScript/CSS) travels
    stray = sorted(n for n in shipped if not n.startswith("tasknb/") or "__pycache__" in n
                   or n.split("/")[1] in {"tests", "notebooks", "benchmarks", "docs"})
    assert not stray, f"the wheel carries more than the package: {stray}"
    entry_points = [n for n in names if n.endswith("entry_points.txt")]
    with zipfile.ZipFile(_wheel(dist)) as archive:
        assert "tasknb = tasknb.cli:main" in archive.read(entry_points[0]).decode()


def test_the_sdist_can_rebuild_the_wheel(dist):
    (sdist,) = dist.glob("tasknb-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.partition("/")[2] for n in archive.getnames()}
    assert {"pyproject.toml", "README.md", "tasknb/py.typed", "tasknb/__init__.py"} <= names
    assert {n for n in _package_files() if not n.endswith(".py")} <= names


def test_the_base_install_is_the_client_and_each_product_is_an_extra(dist):
    meta = _metadata(dist)
    requirements = meta.get_all("Requires-Dist")
    base = {_requirement_name(r) for r in requirements if "extra ==" not in r}
    assert base == BASE_REQUIREMENTS
    assert set(meta.get_all("Provides-Extra")) == EXTRAS
    by_extra: dict[str, set[str]] = {}
    for requirement in requirements:
        found = re.search(r'extra == "([^"]+)"', requirement)
        if found:
            by_extra.setdefault(found.group(1), set()).add(_requirement_name(requirement))
    assert {"pandas", "graphviz", "ipywidgets", "tqdm", "jupyterlab"} <= by_extra["notebook"]
    assert by_extra["local"] >= {"duckdb", "sqlglot", "starlette", "uvicorn"}
    assert "pandas" not in by_extra["local"]  # the server encodes DuckDB rows itself
    assert by_extra["connector"] == {"snowflake-connector-python"}
    assert "tasknb" in by_extra["all"] and {"tasknb", "build"} <= by_extra["dev"]


def test_the_extras_table_matches_the_requirements(dist):
    """What _extras says an extra brings is what pyproject puts in that extra."""
    from importlib.metadata import packages_distributions

    meta = _metadata(dist)
    by_extra: dict[str, set[str]] = {}
    for requirement in meta.get_all("Requires-Dist"):
        found = re.search(r'extra == "([^"]+)"', requirement)
        if found:
            by_extra.setdefault(found.group(1), set()).add(_requirement_name(requirement))
    owners = packages_distributions()
    for extra, modules in _extras._CORE.items():
        for module in modules:
            distributions = {d.lower() for d in owners[module.partition(".")[0]]}
            assert distributions & by_extra[extra], (module, extra, distributions)


# what the fresh venv runs: the client against the local server, then every missing extra
_BASE_SCRIPT = textwrap.dedent("""
    import importlib.util, json, os, sys
    import tasknb
    from tasknb import MissingExtra
    report = {"absent": [m for m in %(heavy)r if importlib.util.find_spec(m) is None]}
    with tasknb.connect(base_url=os.environ["URL"], token=os.environ["TOKEN"],
                        database="BASE_DB", schema="PUBLIC") as client:
        report["tasks"] = [t.name for t in client.list_tasks()]
        try:
            client.sql("INSERT INTO t VALUES (1)")
        except MissingExtra as exc:
            report["sql"] = str(exc)
    try:
        tasknb.connect(base_url=os.environ["URL"], authenticator="externalbrowser", user="me")
    except MissingExtra as exc:
        report["externalbrowser"] = str(exc)
    for name in ("tasks_df", "draw_graph", "TaskPanel"):
        try:
            getattr(tasknb, name)
        except MissingExtra as exc:
            report[name] = str(exc)
    for module in ("tasknb.local", "tasknb.frames", "tasknb.widgets"):
        try:
            __import__(module)
        except MissingExtra as exc:
            report[module] = str(exc)
    report["loaded"] = [m for m in %(heavy)r if m in sys.modules]
    print(json.dumps(report))
""")


@pytest.fixture(scope="module")
def tasknb_server():
    with local_server(clock="manual") as server:
        yield server


@pytest.fixture(scope="module")
def base_venv(dist, tmp_path_factory) -> Path:
    """A venv with the wheel and its base requirements only (from the registry or pip's cache)."""
    where = tmp_path_factory.mktemp("base-venv")
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", str(_wheel(dist))], check=True, timeout=240,
                   capture_output=True)
    base = [r for r in _metadata(dist).get_all("Requires-Dist") if "extra ==" not in r]
    subprocess.run([*pip, *base], check=True, timeout=400, capture_output=True)
    return where


def test_the_base_install_runs_the_client_and_names_every_missing_extra(base_venv, tasknb_server):
    tasknb_server.service.ensure_schema("BASE_DB", "PUBLIC")
    env = {"URL": tasknb_server.url, "TOKEN": tasknb_server.token, "PATH": "/usr/bin:/bin"}
    ran = subprocess.run([str(base_venv / "bin" / "python"), "-c",
                          _BASE_SCRIPT % {"heavy": HEAVY}],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["absent"] == list(HEAVY)  # nothing optional came with the base install
    assert report["tasks"] == []  # a real answer from the local server, over HTTP
    assert report["loaded"] == []
    notebook = 'the "notebook" extra installs: pip install "tasknb[notebook]"'
    assert report["sql"] == f"client.sql() needs pandas, which {notebook}"
    everything = "pandas, graphviz, ipywidgets, tqdm"
    assert report["tasks_df"] == f"tasknb.frames needs {everything}, which {notebook}"
    assert report["draw_graph"] == f"tasknb.graph needs {everything}, which {notebook}"
    assert report["TaskPanel"].endswith(f"needs {everything}, which {notebook}")
    assert report["tasknb.frames"] == report["tasks_df"]
    assert report["tasknb.widgets"].endswith(notebook)
    assert report["externalbrowser"] == (
        "authenticator EXTERNALBROWSER needs snowflake-connector-python, which the "
        '"connector" extra installs: pip install "tasknb[connector]"')
    assert report["tasknb.local"] == (
        "the local server (tasknb.local) needs duckdb, sqlglot, starlette, uvicorn, which the "
        '"local" extra installs: pip install "tasknb[local]"')


def test_the_base_install_cli_lists_tasks_and_refuses_the_server_in_one_line(
        base_venv, tasknb_server):
    tasknb_server.service.ensure_schema("BASE_DB", "PUBLIC")
    cli = str(base_venv / "bin" / "tasknb")
    env = {"SNOWFLAKE_TOKEN": tasknb_server.token, "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    listed = subprocess.run([cli, "tasks", "--base-url", tasknb_server.url, "--database",
                             "BASE_DB", "--schema", "PUBLIC", "--json"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    served = subprocess.run([cli, "server"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [(
        "tasknb: error: MissingExtra: the local server (tasknb.local) needs duckdb, sqlglot, "
        'starlette, uvicorn, which the "local" extra installs: pip install "tasknb[local]"')]
