"""Contract fuzzing of sqlapi.yaml (the SQL API) against the local server.

    pytest tests/local/test_contract_fuzz_sqlapi.py -q

The engine of ``test_contract_fuzz.py`` (no 5xx, responses conforming to the spec, strict
JSON, negative data refused, refusals change nothing, wrong tokens get a 401) aimed at
``SubmitStatement``, ``GetStatementStatus`` and ``CancelStatement``. Positive submissions are
steered onto the seeded database and schema with statements from a pool: queries of a seeded
table, bindings (``?::INT`` too), TASK_HISTORY, DML into a scratch table, and statements the
server must refuse (unknown table 002003, syntax error 001003, SHOW/COPY, a failing INSERT into
the seeded table, a statement over its timeout 000630, a statement count that does not match);
status and cancel requests onto real handles (finished, failed, unknown, malformed). Besides the
store snapshot of every refusal, a sample compares the seeded table's rows through the API: a
refused statement must not change them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st
import pytest
from _support import SPEC_DIR
from test_contract_fuzz import STEER_PERCENT, FuzzReport, FuzzTarget, Loopback, fuzz, steer_query

import tasknb.local

if TYPE_CHECKING:
    from tasknb.local import LocalServer

DATABASE, SCHEMA = "FZS_DB", "FZS"
OPERATIONS = ("SubmitStatement", "GetStatementStatus", "CancelStatement")
EXAMPLES = (60, 15)
MIN_PER_OPERATION = 50
STATEMENTS: list[tuple[str, dict[str, Any]]] = [
    ("SELECT n, s FROM fzs_kept ORDER BY n", {}),
    ("SELECT ?::INT + 1 AS n", {"bindings": {"1": {"type": "TEXT", "value": "41"}}}),
    ("SELECT ? AS s, ? AS n", {"bindings": {"1": {"type": "TEXT", "value": "x"},
                                            "2": {"type": "FIXED", "value": "7"}}}),
    ("INSERT INTO fzs_scratch VALUES (1)", {}),
    ("SELECT * FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(RESULT_LIMIT => 5))", {}),
    ("SELECT 1; SELECT 2", {"parameters": {"multi_statement_count": 2}}),
    # refused: each must change nothing
    ("SELECT * FROM fzs_no_such_table", {}),
    ("SELEC 1", {}),
    ("SHOW WAREHOUSES", {}),
    ("COPY INTO @stage FROM fzs_kept", {}),  # unloading: refused (000002)
    ("GET @stage file:///tmp/", {}),  # refused by name (000002)
    ("INSERT INTO fzs_kept SELECT 1 / 0, 'never'", {}),
    ("INSERT INTO fzs_kept SELECT COUNT(*), 'late' FROM range(100000000000) t(x)",
     {"timeout": 1}),
    ("SELECT 1; DELETE FROM fzs_kept", {}),
    ("SELECT ? AS missing", {}),
]


class Handles:
    """Statement handles the server gave out, for the status and cancel operations."""

    def __init__(self) -> None:
        self.done = ""
        self.failed = ""

    def prepare(self, http: Loopback, operation_id: str) -> None:
        service = http.server.service
        service.ensure_schema(DATABASE, SCHEMA)
        for statement in ("CREATE TABLE IF NOT EXISTS fzs_kept (n INTEGER, s VARCHAR)",
                          "CREATE TABLE IF NOT EXISTS fzs_scratch (n INTEGER)"):
            _submit(http, statement)
        if _submit(http, "SELECT COUNT(*) FROM fzs_kept").json()["data"][0][0] == "0":
            _submit(http, "INSERT INTO fzs_kept VALUES (1, 'one'), (2, 'two')")
        self.done = _submit(http, "SELECT 1").json()["statementHandle"]
        self.failed = _submit(http, "SELECT * FROM fzs_missing").json()["statementHandle"]

    def steer(self, case: Any, data: st.DataObject, operation_id: str) -> None:
        if data.draw(st.integers(0, 99), label="steer") >= STEER_PERCENT:
            return
        query = steer_query(case, data)
        for key in ("async", "nullable"):
            if key in query:
                query[key] = data.draw(st.sampled_from(["true", "false"]), label=key)
        if "requestId" in query:
            query["requestId"] = str(uuid.uuid4())
        if operation_id == "SubmitStatement":
            statement, extra = data.draw(st.sampled_from(STATEMENTS), label="statement")
            body = case.body if isinstance(case.body, dict) else {}
            if data.draw(st.booleans(), label="drop generated fields"):
                body = {}
            body.update({"statement": statement, "database": DATABASE, "schema": SCHEMA,
                         **extra})
            body.pop("bindings", None) if "bindings" not in extra else None
            if "timeout" in body and "timeout" not in extra:
                body["timeout"] = data.draw(st.sampled_from([0, 5, 30]), label="timeout")
            for key in ("warehouse", "role"):
                body.pop(key, None)
            if "parameters" not in extra:
                body.pop("parameters", None)
            case.body = body
            return
        handle = data.draw(st.sampled_from(["done", "done", "failed", "unknown", "bad"]),
                           label="handle")
        case.path_parameters["statementHandle"] = {
            "done": self.done, "failed": self.failed, "unknown": str(uuid.uuid4()),
            "bad": "not-a-handle"}[handle]
        if operation_id == "GetStatementStatus" and data.draw(st.booleans(), label="partition"):
            query["partition"] = data.draw(st.sampled_from([0, 0, 1, 2**31]), label="n")


def _submit(http: Loopback, statement: str) -> Any:
    return http.call("POST", "/api/v2/statements",
                     json={"statement": statement, "database": DATABASE, "schema": SCHEMA})


def _kept_rows(http: Loopback) -> Any:
    """The seeded table as the API shows it (a refused statement must not change it)."""
    answer = _submit(http, "SELECT n, s FROM fzs_kept ORDER BY n, s")
    return answer.status_code, answer.json().get("data")


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual") as server:
        yield server


@pytest.fixture(scope="module")
def report(fuzz_server: LocalServer) -> FuzzReport:
    handles = Handles()
    return fuzz(fuzz_server, FuzzTarget(
        spec=SPEC_DIR / "sqlapi.yaml", operations=OPERATIONS, steer=handles.steer,
        prepare=handles.prepare, listing=_kept_rows, examples=EXAMPLES))


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_conforms_to_spec(report: FuzzReport, operation_id: str) -> None:
    found = report.operations[operation_id]
    assert found.sent >= MIN_PER_OPERATION, (operation_id, found.sent)
    assert not [s for s in found.statuses if s >= 500], (operation_id, found.statuses)
    assert not found.failures, "\n\n".join(found.failures[:5])


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_refused_requests_change_nothing(report: FuzzReport, operation_id: str) -> None:
    found = report.operations[operation_id]
    refused = sum(n for s, n in found.statuses.items() if s >= 400)
    assert found.refused_checked == refused > 0, (operation_id, found.statuses)
    assert not found.changed_by_refusal, "\n".join(found.changed_by_refusal[:5])


def test_fuzzing_reaches_the_engine(report: FuzzReport, fuzz_server: LocalServer) -> None:
    report.print_figures("sqlapi.yaml")
    submit = report.operations["SubmitStatement"]
    assert submit.statuses[200] >= 10, dict(submit.statuses)
    engine_codes = {"002003", "001003", "000002", "000630", "100051", "002049", "000008"}
    assert len(engine_codes & set(submit.codes)) >= 4, dict(submit.codes)  # the engine answered
    assert submit.codes["390400"] > 0 and submit.codes["390101"] > 0, dict(submit.codes)
    assert report.http_samples >= 5
    status = report.operations["GetStatementStatus"].statuses
    assert status[200] > 0 and status[404] > 0 and status[422] > 0, dict(status)
    assert _kept_rows(Loopback(fuzz_server)) == (200, [["1", "one"], ["2", "two"]])
