"""The repository tests itself from any clone: nothing reads ``../shared`` or any path outside.

The whole suite depends on the official specifications, which live in ``tests/specs/``. Here the
repository's files (what ``git clone`` would give, plus this checkout's uncommitted edits) are
copied into an empty temporary folder with nothing beside it, and the spec-validated client
tests run there, from that copy's own tests and package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTSIDE, OUTSIDE_PATH = "../shared", '"shared" / "specs"'
SPEC_FILES = {"task.yaml", "common.yaml", "database.yaml", "schema.yaml", "result.yaml",
              "sqlapi.yaml", "task-api.postman_collection.json", "LICENSE", "README.md"}


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def test_the_specifications_and_their_licence_are_in_the_repository() -> None:
    files = set(_repository_files())
    missing = {f"tests/specs/snowflake-rest-api/{name}" for name in SPEC_FILES} - files
    assert not missing, f"not in the repository: {sorted(missing)}"
    licence = (REPO / "tests/specs/snowflake-rest-api/LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for name in _repository_files():
        if not name.endswith((".py", ".sh", ".toml", ".cfg", ".ipynb", ".yml", ".yaml")):
            continue
        text = (REPO / name).read_text(errors="replace")
        if name != "tests/test_self_contained.py" and (OUTSIDE in text or OUTSIDE_PATH in text):
            offenders.append(name)
    assert not offenders, f"these files read ../shared: {offenders}"


def test_a_copy_with_nothing_beside_it_passes_the_spec_tests(tmp_path: Path) -> None:
    clone = tmp_path / "empty" / "tasknb"
    for name in _repository_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    assert not (clone.parent / "shared").exists()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env["PYTHONPATH"] = str(clone)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_client_spec.py", "tests/test_client_faults.py"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import tasknb, spec_validation as s; print(tasknb.__file__, s.SPEC_DIR)"],
        cwd=clone / "tests", env=env, capture_output=True, text=True, check=True,
    )
    assert str(clone) in probe.stdout.split()[0] and str(clone) in probe.stdout.split()[1]
