"""docs/local-server.md is kept true: every ``sql`` block it shows runs on the local server.

Issue 10: the page "lists what the engine runs and what it refuses, and is kept true by a test
that runs every example it shows". A block is cut into statements: blank lines separate
chunks; a chunk holding ``$$`` is one statement, any other ends a statement at each line whose
code ends with ``;``. A statement's last line may say what it gives:

* ``-- returns <JSON rows>``: the SQL API's ``data``;
* ``-- refused: <phrase>``: a 422 with code 000002 whose message holds the phrase;
* ``-- fails: <code> <phrase>``: a 422 with that (Snowflake) code and phrase.

A block whose first line is ``-- shown, not run: <why>`` only shows a syntax (PUT of files
on the user's machine) and is left out. Each statement is one SQL API request (``multi_statement_count`` 0, so a line of two statements
is one session); each block runs in a schema of its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from local_api import Api

PAGE = Path(__file__).resolve().parents[2] / "docs" / "local-server.md"
_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)
_OUTCOME = re.compile(r";\s*--\s*(?P<kind>returns|refused:|fails:)\s*(?P<what>.*)$")


@dataclass(frozen=True)
class Example:
    statement: str
    kind: str = ""  # "", "returns", "refused:", "fails:"
    what: str = ""


def _statement(lines: list[str]) -> Example:
    """One statement from its lines (the last may carry the outcome comment)."""
    last = lines[-1]
    found = _OUTCOME.search(last)
    if found is not None:
        lines = [*lines[:-1], last[:found.start()]]
    text = "\n".join(lines).strip().removesuffix(";").strip()
    return Example(text, found["kind"], found["what"].strip()) if found else Example(text)


def examples(block: str) -> list[Example]:
    """The statements of one ``sql`` block, in order.

        >>> [e.statement for e in examples("SELECT 1; -- returns [[\\"1\\"]]\\nSELECT\\n 2;\\n")]
        ['SELECT 1', 'SELECT\\n 2']
        >>> examples("selec 1; -- fails: 001003 syntax error")[0].kind
        'fails:'
    """
    found: list[Example] = []
    for chunk in re.split(r"\n\s*\n", block.strip()):
        lines = chunk.splitlines()
        if "$$" in chunk:
            found.append(_statement(lines))
            continue
        pending: list[str] = []
        for line in lines:
            pending.append(line)
            code = _OUTCOME.split(line)[0] if _OUTCOME.search(line) else line
            if _OUTCOME.search(line) or code.rstrip().endswith(";"):
                found.append(_statement(pending))
                pending = []
        assert not pending, f"a statement without its closing ';': {pending}"
    return found


#: the first line of a block that only shows a syntax (it needs files of the client machine)
SHOWN_ONLY = "-- shown, not run:"


def blocks() -> list[str]:
    """The page's sql blocks that run (a block opening with :data:`SHOWN_ONLY` is left out)."""
    return [block for block in _BLOCK.findall(PAGE.read_text())
            if not block.lstrip().startswith(SHOWN_ONLY)]


def _run(api: Api, statement: str) -> tuple[int, dict[str, Any]]:
    response = api.http.post("/api/v2/statements", json={
        "statement": statement, "database": api.database, "schema": api.schema,
        "parameters": {"multi_statement_count": 0}})
    return response.status_code, response.json()


def test_the_page_shows_sql_examples_with_outcomes() -> None:
    """The page has its sql blocks, and most statements say what they give."""
    found = [example for block in blocks() for example in examples(block)]
    assert len(blocks()) >= 3
    assert sum(1 for e in found if e.kind) >= 25
    assert {e.kind for e in found} >= {"returns", "refused:", "fails:"}


@pytest.mark.parametrize("index", range(len(blocks())))
def test_every_example_of_the_page_runs_as_it_says(api: Api, index: int) -> None:
    """docs/local-server.md: each statement of sql block ``index`` answers what its comment
    says (and a statement without one succeeds)."""
    for example in examples(blocks()[index]):
        status, body = _run(api, example.statement)
        where = f"block {index}: {example.statement[:80]!r}"
        if example.kind in ("", "returns"):
            assert status == 200, f"{where}: {body}"
            if example.kind == "returns":
                assert body["data"] == json.loads(example.what), where
            continue
        assert status == 422, f"{where}: {status} {body}"
        message = body["message"]
        if example.kind == "refused:":
            assert body["code"] == "000002", f"{where}: {body}"
            assert example.what in message, f"{where}: {message}"
        else:
            code, _, phrase = example.what.partition(" ")
            assert body["code"] == code, f"{where}: {body}"
            assert phrase in message, f"{where}: {message}"
