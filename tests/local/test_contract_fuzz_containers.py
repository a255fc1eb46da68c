"""Contract fuzzing of database.yaml, schema.yaml and result.yaml against the local server.

    pytest tests/local/test_contract_fuzz_containers.py -q

The engine of ``test_contract_fuzz.py`` (same checks: no 5xx, responses conforming to the
spec, strict JSON, negative data refused, refusals change nothing, wrong tokens get a 401)
aimed at the container and result operations. Positive cases are steered onto a pool of
database and schema names (plain, lower case, quoted with a space, with a ``$``), with
``createMode``, ``like``/``startsWith``/``showLimit``/``fromName`` values that select something
and comments that include a lone surrogate. The result operation is steered onto real handles:
the 2nd page of a 1,001-task listing and the answer of an ``asyncExec`` execute, besides
unknown and malformed ones.

Operations the local server does not implement (shares, clones, undrop, replication, failover,
container tags) get fewer examples; they must never pretend to succeed (no 2xx) and never call
the documented method not allowed (405). The figures go to stdout with ``pytest -s``.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st
import pytest
from _support import SPEC_DIR
from test_contract_fuzz import (
    COMMENTS,
    STEER_PERCENT,
    WRONG_TOKEN_EVERY,
    FuzzReport,
    FuzzTarget,
    Loopback,
    fuzz,
    steer_query,
)

import tasknb.local

if TYPE_CHECKING:
    from tasknb.local import LocalServer

DATABASE = "FZC_DB"
SCHEMA = "FZC_SCHEMA"
OTHER_DATABASE = "FZC_OTHER_DB"
OTHER_SCHEMA = "FZC_OTHER"
PAGED_SCHEMA = "FZC_PAGED"       # 1,001 tasks: a listing of two pages, the 2nd behind a handle
PAGED_TASKS = 1001
TASK = "FZC_TASK"
DATABASE_POOL = [DATABASE, OTHER_DATABASE, "fzc_lower_db", '"fzc Quoted DB"', "FZC$DB"]
SCHEMA_POOL = [SCHEMA, OTHER_SCHEMA, "fzc_lower_schema", '"fzc Quoted S"', "FZC$S", "PUBLIC"]
# New names first: derandomised draws favour the first element, and a create should mostly
# succeed (then meet 002002 on the next errorIfExists).
NEW_DATABASES = ["FZC_NEW_DB", "fzc_new_lower_db", '"fzc New DB"', "FZC$NEW"]
NEW_SCHEMAS = ["FZC_NEW_S", "fzc_new_lower_s", '"fzc New S"', "FZC$NEW_S"]
CREATE_MODES = ["ifNotExists", "orReplace", "errorIfExists"]
LIKES = ["FZC%", "fzc\\_%", "%DB", "%_S%", "%%%%%%%%!", "F_C%", "%", ""]
STARTS = ["FZC", "fzc_", "F", "\"fzc", "Z"]
SHOW_LIMITS = [1, 2, 3, 10_000]
DATABASE_OPERATIONS = (
    "listDatabases", "createDatabase", "createDatabaseFromShare",
    "createDatabaseFromShareDeprecated", "cloneDatabase", "fetchDatabase",
    "createOrAlterDatabase", "deleteDatabase", "undropDatabase", "enableDatabaseReplication",
    "disableDatabaseReplication", "refreshDatabaseReplication", "enableDatabaseFailover",
    "disableDatabaseFailover", "primaryDatabaseFailover", "setTags", "unsetTags", "getTags",
)
DATABASE_IMPLEMENTED = {"listDatabases", "createDatabase", "fetchDatabase",
                        "createOrAlterDatabase", "deleteDatabase"}
SCHEMA_OPERATIONS = ("listSchemas", "createSchema", "cloneSchema", "undropSchema", "fetchSchema",
                     "createOrAlterSchema", "deleteSchema", "setTags", "unsetTags", "getTags")
SCHEMA_IMPLEMENTED = {"listSchemas", "createSchema", "fetchSchema", "createOrAlterSchema",
                      "deleteSchema"}
RESULT_OPERATIONS = ("fetchResult",)
EXAMPLES = (50, 10)             # positive, negative per implemented operation
LIGHT_EXAMPLES = (8, 4)         # per operation the local server does not implement
RESULT_EXAMPLES = (50, 12)
MIN_PER_OPERATION = 50          # Hypothesis may stop early only when it runs out of inputs
MIN_PER_LIGHT_OPERATION = 10
MIN_TOTAL_REQUESTS = 800        # over the three specs


# --- What the steering aims at ------------------------------------------------------------------
def _ensure_fixtures(http: Loopback) -> None:
    """The seeded databases, schemas and a task (recreated after a fuzzed delete or replace)."""
    for database in (DATABASE, OTHER_DATABASE):
        http.call("POST", "/api/v2/databases", params={"createMode": "ifNotExists"},
                  json={"name": database, "comment": "seeded"})
    for schema in (SCHEMA, OTHER_SCHEMA):
        http.call("POST", f"/api/v2/databases/{DATABASE}/schemas",
                  params={"createMode": "ifNotExists"}, json={"name": schema})
    http.call("POST", f"/api/v2/databases/{DATABASE}/schemas/{SCHEMA}/tasks",
              params={"createMode": "ifNotExists"},
              json={"name": TASK, "definition": "select 1", "comment": "seeded"})


def _container_listing(http: Loopback) -> Any:
    databases = http.get_json("/api/v2/databases")
    schemas = http.call("GET", f"/api/v2/databases/{DATABASE}/schemas")
    if schemas.status_code != 200:  # an error body carries a fresh request_id
        return databases, schemas.status_code, schemas.json()["code"]
    return databases, schemas.status_code, schemas.json()


def _steer_listing(query: dict[str, Any], data: st.DataObject, pool: list[str]) -> None:
    for key, values in (("like", LIKES), ("startsWith", STARTS), ("showLimit", SHOW_LIMITS),
                        ("fromName", pool)):
        if data.draw(st.booleans(), label=f"set {key}"):
            query[key] = data.draw(st.sampled_from(values), label=key)
        elif key in query and data.draw(st.booleans(), label=f"drop {key}"):
            del query[key]


def _steer_body(case: Any, data: st.DataObject, name: str, operation_id: str) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if data.draw(st.booleans(), label="drop generated fields"):
        for key in [k for k in body if k not in ("kind", "comment", "managed_access")]:
            del body[key]
    body["name"] = name
    body["comment"] = data.draw(st.sampled_from(COMMENTS), label="comment")
    if "kind" in body:
        body["kind"] = data.draw(st.sampled_from(["PERMANENT", "TRANSIENT"]), label="kind")
    if operation_id.startswith("clone"):
        body.pop("point_of_time", None)


def _steer_database(case: Any, data: st.DataObject, operation_id: str) -> None:
    if data.draw(st.integers(0, 99), label="steer") >= STEER_PERCENT:
        return
    query = steer_query(case, data)
    if "createMode" in query or operation_id in ("createDatabase", "cloneDatabase"):
        query["createMode"] = data.draw(st.sampled_from(CREATE_MODES), label="createMode")
    if operation_id == "listDatabases":
        _steer_listing(query, data, DATABASE_POOL)
    params = case.path_parameters
    if "name" in params:
        params["name"] = data.draw(st.sampled_from(DATABASE_POOL), label="name")
    new_name = params.get("name") if operation_id == "createOrAlterDatabase" else None
    _steer_body(case, data, new_name or data.draw(st.sampled_from(NEW_DATABASES + DATABASE_POOL),
                                                  label="new"), operation_id)


def _steer_schema(case: Any, data: st.DataObject, operation_id: str) -> None:
    if data.draw(st.integers(0, 99), label="steer") >= STEER_PERCENT:
        return
    query = steer_query(case, data)
    if "createMode" in query or operation_id in ("createSchema", "cloneSchema"):
        query["createMode"] = data.draw(st.sampled_from(CREATE_MODES), label="createMode")
    if operation_id == "listSchemas":
        _steer_listing(query, data, SCHEMA_POOL)
    params = case.path_parameters
    params["database"] = data.draw(st.sampled_from([DATABASE] * 4 + DATABASE_POOL[1:]),
                                   label="database")
    if "name" in params:
        params["name"] = data.draw(st.sampled_from(SCHEMA_POOL), label="name")
    new_name = params.get("name") if operation_id == "createOrAlterSchema" else None
    _steer_body(case, data, new_name or data.draw(st.sampled_from(NEW_SCHEMAS + SCHEMA_POOL),
                                                  label="new"), operation_id)


def _prepare_containers(http: Loopback, operation_id: str) -> None:
    _ensure_fixtures(http)


# --- Results: real handles ------------------------------------------------------------------------
class ResultHandles:
    """Handles the server gave out: a listing's 2nd page and an asyncExec answer."""

    def __init__(self) -> None:
        self.paged: str = ""
        self.accepted: str = ""

    def prepare(self, http: Loopback, operation_id: str) -> None:
        _ensure_fixtures(http)
        tasks = f"/api/v2/databases/{DATABASE}/schemas/{PAGED_SCHEMA}/tasks"
        http.call("POST", f"/api/v2/databases/{DATABASE}/schemas", json={"name": PAGED_SCHEMA})
        for i in range(PAGED_TASKS):
            http.server.service.create_task(DATABASE, PAGED_SCHEMA,
                                            {"name": f"P{i:04d}", "definition": "select 1"})
        first = http.call("GET", tasks)
        assert first.status_code == 200 and 'rel="last"' in first.headers["Link"], first.headers
        self.paged = first.headers["Link"].split("/api/v2/results/")[1].split("?")[0]
        accepted = http.call("POST", f"/api/v2/databases/{DATABASE}/schemas/{SCHEMA}/tasks/"
                             f"{TASK}:execute", params={"asyncExec": "true"})
        assert accepted.status_code == 202, accepted.text
        self.accepted = accepted.json()["result_handler"]
        assert http.server.service.wait_idle(30)

    def steer(self, case: Any, data: st.DataObject, operation_id: str) -> None:
        if data.draw(st.integers(0, 99), label="steer") >= STEER_PERCENT:
            return
        handle = data.draw(st.sampled_from(["paged", "paged", "accepted", "unknown", "bad"]),
                           label="handle")
        case.path_parameters["result_handler"] = {
            "paged": self.paged, "accepted": self.accepted, "unknown": str(uuid.uuid4()),
            "bad": "not-a-handle"}[handle]
        query = steer_query(case, data)
        if data.draw(st.booleans(), label="set page"):
            query["page"] = data.draw(st.sampled_from([0, 1, 1, 2, 10**12]), label="page")
        else:
            query.pop("page", None)


def _result_listing(http: Loopback) -> Any:
    return http.get_json("/api/v2/databases")


# --- The fuzzing run --------------------------------------------------------------------------
def _light(operations: tuple[str, ...], implemented: set[str]) -> frozenset[str]:
    return frozenset(op for op in operations if op not in implemented)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual") as server:
        yield server


@pytest.fixture(scope="module")
def reports(fuzz_server: LocalServer) -> Iterator[dict[str, FuzzReport]]:
    handles = ResultHandles()
    targets = {
        "database.yaml": FuzzTarget(
            spec=SPEC_DIR / "database.yaml", operations=DATABASE_OPERATIONS,
            steer=_steer_database, prepare=_prepare_containers, listing=_container_listing,
            light=_light(DATABASE_OPERATIONS, DATABASE_IMPLEMENTED), examples=EXAMPLES,
            light_examples=LIGHT_EXAMPLES),
        "schema.yaml": FuzzTarget(
            spec=SPEC_DIR / "schema.yaml", operations=SCHEMA_OPERATIONS,
            steer=_steer_schema, prepare=_prepare_containers, listing=_container_listing,
            light=_light(SCHEMA_OPERATIONS, SCHEMA_IMPLEMENTED), examples=EXAMPLES,
            light_examples=LIGHT_EXAMPLES),
        "result.yaml": FuzzTarget(
            spec=SPEC_DIR / "result.yaml", operations=RESULT_OPERATIONS,
            steer=handles.steer, prepare=handles.prepare, listing=_result_listing,
            examples=RESULT_EXAMPLES),
    }
    yield {name: fuzz(fuzz_server, target) for name, target in targets.items()}


_ALL = ([("database.yaml", op) for op in DATABASE_OPERATIONS]
        + [("schema.yaml", op) for op in SCHEMA_OPERATIONS]
        + [("result.yaml", op) for op in RESULT_OPERATIONS])
_IMPLEMENTED = {("database.yaml", op) for op in DATABASE_IMPLEMENTED} | {
    ("schema.yaml", op) for op in SCHEMA_IMPLEMENTED} | {("result.yaml", "fetchResult")}


@pytest.mark.parametrize(("spec", "operation_id"), _ALL, ids=[f"{s[:-5]}-{o}" for s, o in _ALL])
def test_operation_conforms_to_spec(reports: dict[str, FuzzReport], spec: str,
                                    operation_id: str) -> None:
    report = reports[spec].operations[operation_id]
    least = (MIN_PER_OPERATION if (spec, operation_id) in _IMPLEMENTED
             else MIN_PER_LIGHT_OPERATION)
    assert report.sent >= least, (operation_id, report.sent)
    assert not [s for s in report.statuses if s >= 500], (operation_id, report.statuses)
    assert not report.failures, "\n\n".join(report.failures[:5])


@pytest.mark.parametrize(("spec", "operation_id"), _ALL, ids=[f"{s[:-5]}-{o}" for s, o in _ALL])
def test_refused_requests_change_nothing(reports: dict[str, FuzzReport], spec: str,
                                         operation_id: str) -> None:
    report = reports[spec].operations[operation_id]
    refused = sum(n for s, n in report.statuses.items() if s >= 400)
    assert report.refused_checked == refused > 0, (operation_id, report.statuses)
    assert not report.changed_by_refusal, "\n".join(report.changed_by_refusal[:5])


@pytest.mark.parametrize(("spec", "operation_id"),
                         [k for k in _ALL if k not in _IMPLEMENTED],
                         ids=[f"{s[:-5]}-{o}" for s, o in _ALL if (s, o) not in _IMPLEMENTED])
def test_an_operation_not_implemented_never_pretends(reports: dict[str, FuzzReport], spec: str,
                                                     operation_id: str) -> None:
    """What the local server does not do is a 404 saying so (``390404``, as for any path it
    does not implement) to every valid request: never a silent success, never a 405 for the
    method the spec documents, never a 400 that calls a valid name invalid."""
    report = reports[spec].operations[operation_id]
    positive = report.by_mode["positive"]
    assert not [s for s in report.statuses if 200 <= s < 300], (operation_id, report.statuses)
    assert report.statuses[405] == 0, (operation_id, dict(report.statuses))
    assert set(positive) <= {401, 404}, (operation_id, dict(positive), report.samples[:3])
    assert report.codes["390404"] == report.statuses[404] >= positive[404] > 0, (
        operation_id, dict(report.codes))


def test_enough_requests_sent(reports: dict[str, FuzzReport]) -> None:
    for name, report in reports.items():
        report.print_figures(name)
    total = sum(r.total for r in reports.values())
    assert total >= MIN_TOTAL_REQUESTS, total
    assert sum(r.http_samples for r in reports.values()) >= 50


def test_fuzzing_reaches_past_lookups(reports: dict[str, FuzzReport]) -> None:
    """Steering works: implemented operations succeed often, and the rules answer."""
    codes: collections.Counter[str] = collections.Counter()
    for spec, operation_id in _IMPLEMENTED:
        report = reports[spec].operations[operation_id]
        assert report.statuses[200] >= 5, (spec, operation_id, dict(report.statuses))
        codes.update(report.codes)
    for code in ("002002", "002003", "390400", "390101", "390404"):
        assert codes[code] > 0, (code, dict(codes))
    result = reports["result.yaml"].operations["fetchResult"].statuses
    assert result[200] >= 10 and result[404] > 0 and result[400] > 0, dict(result)
    wrong = sum(r.wrong_token for rep in reports.values() for r in rep.operations.values())
    total = sum(rep.total for rep in reports.values())
    assert wrong >= total // WRONG_TOKEN_EVERY - len(reports), (wrong, total)


# --- Plain examples ----------------------------------------------------------------------------
def test_the_pages_behind_a_handle_hold_every_row_once(reports: dict[str, FuzzReport],
                                                       fuzz_server: LocalServer) -> None:
    """The fuzzed 1,001-task listing: page 0 inline, page 1 through the handle in ``Link``;
    together every task once; a page past the last is a 400 that says so."""
    http = Loopback(fuzz_server)
    first = http.call("GET", f"/api/v2/databases/{DATABASE}/schemas/{PAGED_SCHEMA}/tasks")
    links = {rel: url for url, rel in _links(first.headers["Link"])}
    assert set(links) == {"first", "next", "last"}, first.headers["Link"]
    pages = [first.json(), http.get_json(links["last"])]
    assert http.get_json(links["first"]) == pages[0]
    names = [t["name"] for page in pages for t in page]
    assert sorted(names) == [f"P{i:04d}" for i in range(PAGED_TASKS)]
    past = http.call("GET", links["last"].replace("page=1", "page=2"))
    assert past.status_code == 400, past.text
    assert "page" in past.json()["message"]
    http.session.close()


def _links(header: str) -> list[tuple[str, str]]:
    out = []
    for part in header.split(","):
        url, rel = part.split(";")
        out.append((url.strip()[1:-1], rel.split("=")[1].strip('"')))
    return out
