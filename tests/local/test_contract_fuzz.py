"""Contract fuzzing: schemathesis drives the official task.yaml against the local server.

    pytest tests/local/test_contract_fuzz.py -q

This module holds the fuzzing engine (:func:`fuzz`, one :class:`FuzzTarget` per spec file) and
the task target; ``test_contract_fuzz_containers.py`` aims the same engine at database.yaml,
schema.yaml and result.yaml. For every operation of a spec the engine sends positive and
negative cases (derandomised) over loopback and records the requests sent, their status codes
and any check failure. The tests then assert: enough requests, no 5xx, every response
conforming to the spec (status code documented, content type, headers, body schema, and a body
that strict JSON decoders accept: no lone surrogate), negative data refused with a 4xx, and
every refused request leaving the server's state exactly as it was (objects in memory and on
disk, run counts; plus, on a sample, what the API lists).

Most generated cases are steered into the seeded database/schema and onto existing task names
with runnable SQL, predecessors, schedules and finalizers, so the fuzzing reaches the graph
rules (091421, 091000, 091456/7, 002002) and real runs rather than only 404s. Comments include
a lone surrogate (``"\\ud800"``), which must be refused at the door (issue 7, item 3). Requests
alternate between ``Bearer`` and ``Snowflake Token="…"`` auth; every 25th carries a wrong
token (401, nothing changed); booleans are sent capitalised as snowflake-core does; 202s from
``asyncExec`` are followed to ``/api/v2/results/{handle}``. The figures go to stdout with
``pytest -s``. At the end, plain examples pin the bugs the fuzzing found (all fixed).
"""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import hypothesis.strategies as st
import orjson
import pytest
import requests
import schemathesis
from _support import TASK_SPEC, snapshot_diff, state_snapshot
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

import tasknb.local

if TYPE_CHECKING:
    from tasknb.local import LocalServer

POSITIVE_EXAMPLES = 60          # per operation
NEGATIVE_EXAMPLES = 12          # per operation
REQUEST_TIMEOUT_S = 30
HTTP_SAMPLE_EVERY = 7           # every 7th case also compares what the API lists
STEER_PERCENT = 75
MIN_SUCCESSES_PER_OPERATION = 3  # steering reaches real objects, not only 400/404
WRONG_TOKEN_EVERY = 25          # every 25th case goes with a wrong token and must get a 401
SAMPLES_KEPT = 10               # refusals kept per operation, for the failure messages
DERANDOMIZE = True              # fixed inputs in CI; exploratory runs may flip it
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]
BOOLEAN_QUERY = ("rootOnly", "recursive", "errorOnly", "ifExists", "retryLast", "asyncExec",
                 "withLineage", "history", "restrict")
# Comments the steering sends: plain, non-ASCII, empty, and a lone surrogate (invalid Unicode:
# the server must refuse it with a 400, issue 7 item 3).
COMMENTS = ["fuzzed", "ünïcödé ✓ 日本語", "", "lone surrogate \ud800 here"]


# --- The engine: one spec file at a time ------------------------------------------------------
@dataclass
class OperationReport:
    """What fuzzing one operation produced."""

    sent: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    by_mode: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)  # a few refusals, as sent and answered
    failures: list[str] = field(default_factory=list)
    refused_checked: int = 0
    wrong_token: int = 0
    changed_by_refusal: list[str] = field(default_factory=list)


@dataclass
class FuzzReport:
    operations: dict[str, OperationReport]
    seconds: float
    http_samples: int

    @property
    def total(self) -> int:
        return sum(r.sent for r in self.operations.values())

    def print_figures(self, title: str) -> None:
        """The per-operation figures (shown with ``pytest -s``)."""
        print(f"--- {title}")
        for operation_id, report in self.operations.items():
            statuses = dict(sorted(report.statuses.items()))
            print(f"{operation_id:34} sent={report.sent:4} statuses={statuses} "
                  f"codes={dict(report.codes)}")
        print(f"total={self.total} in {self.seconds:.1f} s, http samples={self.http_samples}")


class Loopback:
    """requests over loopback to one local server, with its token (never through a proxy)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False
        self.headers = {"Authorization": f"Bearer {server.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; any answer but a 5xx is fine (setup steps that may meet a rule)."""
        reply = self.session.request(method, self.server.url + path, headers=self.headers,
                                     timeout=REQUEST_TIMEOUT_S, **kwargs)
        assert reply.status_code < 500, f"{method} {path} -> {reply.status_code} {reply.text}"
        return reply

    def get_json(self, path: str) -> Any:
        reply = self.call("GET", path)
        assert reply.status_code == 200, f"GET {path} -> {reply.status_code} {reply.text}"
        return reply.json()


@dataclass(frozen=True)
class FuzzTarget:
    """One spec file and how to aim its cases.

    ``steer(case, data, operation_id)`` rewrites a positive case towards the seeded objects;
    ``prepare(http, operation_id)`` runs before each operation (recreates what the previous one
    deleted); ``listing(http)`` is what the API shows, compared around a sample of refusals.
    ``light`` operations (those the local server does not implement) get fewer examples.
    """

    spec: Path
    operations: tuple[str, ...]
    steer: Callable[[Any, st.DataObject, str], None]
    prepare: Callable[[Loopback, str], None]
    listing: Callable[[Loopback], Any]
    light: frozenset[str] = frozenset()
    examples: tuple[int, int] = (POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES)
    light_examples: tuple[int, int] = (15, 5)


@dataclass
class _Context:
    http: Loopback
    target: FuzzTarget
    cases: int = 0
    http_samples: int = 0


def strict_json_failure(response: Any) -> str | None:
    """Why a JSON answer would fail a strict decoder (orjson, which the client uses), or None.

        >>> strict_json_failure(type("R", (), {"content": b'{"a": "\\\\ud800"}',
        ...                                    "headers": {"content-type": "application/json"}}))
        'not strict JSON: no low surrogate in string: line 1 column 8 (char 7)'
    """
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):  # schemathesis keeps header values as lists
        content_type = content_type[0] if content_type else ""
    if "json" not in content_type or not response.content:
        return None
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        return f"not strict JSON: {exc}"
    return None


def holds_lone_surrogate(value: Any) -> bool:
    """Whether any string in a JSON-like value (keys included) holds a lone surrogate.

        >>> holds_lone_surrogate({"comment": ["ok", "bad \\ud800"]}), holds_lone_surrogate("😀")
        (True, False)
    """
    if isinstance(value, str):
        return any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return any(holds_lone_surrogate(k) or holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_lone_surrogate(v) for v in value)
    return False


def _only_a_missing_user_agent(exc: FailureGroup) -> bool:
    """A negative case whose one invalid part is a missing User-Agent (sqlapi.yaml requires it):
    the HTTP stack under schemathesis adds a User-Agent of its own to every request, so such a
    case cannot be sent as meant. test_api_statements sends one truly without it (a 400)."""
    text = str(exc)
    return ("`User-Agent` in header - violates `required`" in text
            and text.count("Invalid component:") == 1)


def _wait_for_statement(http: Loopback, handle: str, headers: dict[str, str]) -> None:
    """A SQL API 202 (sqlapi.yaml): poll its status until the statement ends."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = http.session.get(f"{http.server.url}/api/v2/statements/{handle}",
                                 headers=headers, timeout=REQUEST_TIMEOUT_S)
        assert reply.status_code < 500, reply.text
        if reply.status_code != 202:
            assert reply.json()["statementHandle"] == handle, reply.text
            return
        time.sleep(0.02)
    raise AssertionError(f"statement {handle} still running after 30 s")


def _wait_for_result(http: Loopback, response: Any, headers: dict[str, str]) -> None:
    """A 202 (asyncExec) keeps working in the background: wait until its handle is done."""
    location = (response.headers.get("location") or [None])[0]  # schemathesis: lists
    if location is None and "statementHandle" in (response.json() or {}):
        _wait_for_statement(http, response.json()["statementHandle"], headers)
        return
    assert location and location.startswith("/api/v2/results/"), response.headers
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = http.session.get(http.server.url + location, headers=headers,
                                 timeout=REQUEST_TIMEOUT_S)
        assert reply.status_code < 500, reply.text
        if reply.status_code == 200:  # the original operation's answer: a SuccessResponse
            assert isinstance(reply.json().get("status"), str), reply.text
            return
        if reply.status_code != 202:  # an error body, as the synchronous call would give
            assert {"code", "message", "request_id"} <= set(reply.json()), reply.text
            return
        time.sleep(0.02)
    raise AssertionError(f"result {location} still running after 30 s")


def _fuzz_operation(ctx: _Context, operation_id: str, operation: Any, mode: GenerationMode,
                    examples: int, report: OperationReport) -> None:
    http, target = ctx.http, ctx.target
    server, svc = http.server, http.server.service

    @settings(max_examples=examples, derandomize=DERANDOMIZE, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def fuzz_one(case: Any, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            target.steer(case, data, operation_id)
        ctx.cases += 1
        wrong_token = ctx.cases % WRONG_TOKEN_EVERY == 0
        sent_headers = {"Authorization": "Bearer not-the-token"} if wrong_token else http.headers
        if not wrong_token and ctx.cases % 3 == 1:  # the form snowflake-core sends (§12.1)
            sent_headers = {"Authorization": f'Snowflake Token="{server.token}"'}
        sample_http = ctx.cases % HTTP_SAMPLE_EVERY == 0
        assert svc.wait_idle(30), "a graph run did not finish within 30 s"
        before = state_snapshot(svc)
        listed_before = target.listing(http) if sample_http else None
        response = case.call(base_url=server.url, headers=dict(sent_headers),
                             session=http.session, timeout=REQUEST_TIMEOUT_S)
        report.sent += 1
        report.statuses[response.status_code] += 1
        report.by_mode[mode.value][response.status_code] += 1
        if response.status_code >= 400 and len(report.samples) < SAMPLES_KEPT:
            report.samples.append(f"[{mode.value}] {case.method} {case.formatted_path} "
                                  f"{case.query} -> {response.status_code} "
                                  f"{response.text[:200]}")
        if response.status_code >= 400:
            try:
                report.codes[str(response.json().get("code"))] += 1
            except ValueError:
                report.codes["(not JSON)"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=dict(sent_headers))
        except FailureGroup as exc:  # keep going, report them all
            if not _only_a_missing_user_agent(exc):
                report.failures.append(f"[{mode.value}] {str(exc)[:1500]}")
        if holds_lone_surrogate(case.body) and response.status_code < 400:
            report.failures.append(f"[{mode.value}] invalid Unicode accepted: {case.method} "
                                   f"{case.formatted_path} {case.body!r} -> "
                                   f"{response.status_code} {response.text[:200]}")
        strict = strict_json_failure(response)
        if strict:
            report.failures.append(f"[{mode.value}] {case.method} {case.formatted_path} "
                                   f"{case.query} -> {response.status_code}: {strict}; body "
                                   f"{response.content[:300]!r}")
        if wrong_token:
            report.wrong_token += 1
            if response.status_code != 401:
                report.failures.append(f"wrong token answered {response.status_code}: "
                                       f"{case.method} {case.formatted_path}")
        if response.status_code == 202:
            _wait_for_result(http, response, http.headers)
        if response.status_code >= 400:
            assert svc.wait_idle(30), "a graph run did not finish within 30 s"
            report.refused_checked += 1
            diff = snapshot_diff(before, state_snapshot(svc))
            if listed_before is not None:
                ctx.http_samples += 1
                if target.listing(http) != listed_before:
                    diff.append("what the API lists changed")
            if diff:
                report.changed_by_refusal.append(
                    f"{case.method} {case.formatted_path} {case.query} -> "
                    f"{response.status_code} {response.text[:300]}: {diff}")

    fuzz_one()


def fuzz(server: LocalServer, target: FuzzTarget) -> FuzzReport:
    """Fuzz every operation of ``target.spec`` against ``server``, in the spec's order."""
    assert target.spec.is_file(), f"the official spec is expected at {target.spec}"
    schema = schemathesis.openapi.from_path(target.spec)
    operations = {r.ok().definition.raw["operationId"]: r.ok()
                  for r in schema.get_all_operations()}
    assert tuple(operations) == target.operations, \
        f"{target.spec.name}'s operations changed: update the target's operations"
    http = Loopback(server)
    ctx = _Context(http, target)
    reports = {op: OperationReport() for op in target.operations}
    started = time.monotonic()
    for operation_id, operation in operations.items():
        target.prepare(http, operation_id)
        positive, negative = (target.light_examples if operation_id in target.light
                              else target.examples)
        for mode, examples in ((GenerationMode.POSITIVE, positive),
                               (GenerationMode.NEGATIVE, negative)):
            _fuzz_operation(ctx, operation_id, operation, mode, examples, reports[operation_id])
    http.session.close()
    return FuzzReport(reports, time.monotonic() - started, ctx.http_samples)


def steer_query(case: Any, data: st.DataObject) -> dict[str, Any]:
    """The case's query as a dict, booleans capitalised as snowflake-core sends them."""
    if not isinstance(case.query, dict):
        case.query = {}
    query = case.query
    for key in [k for k in BOOLEAN_QUERY if k in query]:
        query[key] = data.draw(st.sampled_from(["True", "False", "true", "false"]), label=key)
    return query


# --- The task target --------------------------------------------------------------------------
DATABASE = "FUZZ_DB"
SCHEMA = "FUZZ_SCHEMA"
OPERATIONS = (
    "listTasks", "createTask", "fetchTask", "createOrAlterTask", "deleteTask", "executeTask",
    "resumeTask", "suspendTask", "fetchTaskDependents", "getCurrentGraphsDeprecated",
    "getCurrentGraphs", "getCompleteGraphsDeprecated", "getCompleteGraphs", "setTags",
    "unsetTags", "getTags",
)
MIN_TOTAL_REQUESTS = 1000
MIN_PER_OPERATION = 50          # Hypothesis may stop early only when it runs out of inputs
# Operations fuzzed while the FZ_ROOT graph is started (the others see it suspended).
STARTED_FOR = {"deleteTask", "suspendTask", "fetchTaskDependents", "getCurrentGraphsDeprecated",
               "getCurrentGraphs", "setTags"}
# Names the fuzzer aims at: plain, lower case (folds), quoted with a space, with a $.
POOL = ["FZ_ROOT", "FZ_CHILD", "FZ_LEAF", "FZ_FIN", "FZ_SOLO", "fz_lower", '"fz Quoted"',
        "FZ$DOLLAR"]
SQLS = ["select 1", "select 1/0", "select * from no_such_table",
        "select system$set_return_value('ok')", "create or replace table t_fz as select 1 as x",
        "insert into t_fz select 2", "select count(*) from t_fz",
        "select length(repeat('x', 2000000000))"]  # fails the statement, not the process
SCHEDULES = [{"schedule_type": "MINUTES_TYPE", "minutes": 30},
             {"schedule_type": "MINUTES_TYPE", "minutes": 1, "seconds": 30},
             {"schedule_type": "CRON_TYPE", "cron_expr": "0 2 * * *", "timezone": "UTC"},
             {"schedule_type": "CRON_TYPE", "cron_expr": "*/5 * * * *",
              "timezone": "America/Los_Angeles"}]
_TASKS = f"/api/v2/databases/{DATABASE}/schemas/{SCHEMA}/tasks"

_POOL_TASKS = [
    {"name": "FZ_ROOT", "definition": "select 1", "schedule": SCHEDULES[0]},
    {"name": "FZ_CHILD", "definition": "select 1", "predecessors": ["FZ_ROOT"]},
    {"name": "FZ_LEAF", "definition": "select 1/0", "predecessors": ["FZ_CHILD"]},
    {"name": "FZ_FIN", "definition": "select 1", "finalize": "FZ_ROOT"},
    {"name": "FZ_SOLO", "definition": "select 1"},
    {"name": "fz_lower", "definition": "select 1"},
    {"name": '"fz Quoted"', "definition": "select 1"},
    {"name": "FZ$DOLLAR", "definition": "select 1"},
]


def _replenish(http: Loopback, operation_id: str) -> None:
    """Recreate the pool tasks the previous operation deleted (so lookups keep succeeding), and
    start or suspend the FZ_ROOT graph (started, edits meet the 091421 suspended-root rule).
    Refusals are fine here: the fuzzer may have rewired the graph (e.g. started its root)."""
    http.call("POST", "/api/v2/databases", params={"createMode": "ifNotExists"},
              json={"name": DATABASE})
    http.call("POST", f"/api/v2/databases/{DATABASE}/schemas",
              params={"createMode": "ifNotExists"}, json={"name": SCHEMA})
    for body in _POOL_TASKS:
        http.call("POST", _TASKS, params={"createMode": "ifNotExists"}, json=body)
    steps = ([("suspend", "FZ_ROOT"), ("resume", "FZ_CHILD"), ("resume", "FZ_LEAF"),
              ("resume", "FZ_FIN"), ("resume", "FZ_ROOT")] if operation_id in STARTED_FOR
             else [("suspend", "FZ_ROOT")])
    for verb, name in steps:
        http.call("POST", f"{_TASKS}/{name}:{verb}")


def _seed(server: LocalServer) -> None:
    http = Loopback(server)
    _replenish(http, "")
    http.call("POST", f"{_TASKS}/FZ_SOLO:set-tags",
              json=[{"tag_name": "COST_CENTER", "tag_value": "42"}])
    assert http.call("POST", f"{_TASKS}/FZ_ROOT:execute").status_code == 200
    assert server.service.wait_idle(30)
    http.session.close()


def _steer(case: Any, data: st.DataObject, operation_id: str) -> None:
    """Aim a positive case at the seeded schema and pool names, with runnable bodies."""
    if data.draw(st.integers(0, 99), label="steer") >= STEER_PERCENT:  # (draws favour 0)
        return
    params = case.path_parameters
    params["database"], params["schema"] = DATABASE, SCHEMA
    query = steer_query(case, data)
    if operation_id == "executeTask":
        query["asyncExec"] = data.draw(st.sampled_from([False, False, True]), label="async")
    if "name" in params:
        params["name"] = data.draw(st.sampled_from(POOL), label="name")
    body = case.body
    if operation_id in ("createTask", "createOrAlterTask") and isinstance(body, dict):
        if data.draw(st.booleans(), label="drop generated fields"):
            for key in [k for k in body if k not in ("comment", "config", "condition")]:
                del body[key]
        body["name"] = params.get("name") or data.draw(st.sampled_from(POOL), label="new")
        body["definition"] = data.draw(st.sampled_from(SQLS), label="sql")
        body["comment"] = data.draw(st.sampled_from(COMMENTS), label="comment")
        shape = data.draw(st.sampled_from(["standalone", "scheduled", "child", "finalizer"]),
                          label="shape")
        for key in ("predecessors", "schedule", "finalize"):
            body.pop(key, None)
        if shape == "scheduled":
            body["schedule"] = data.draw(st.sampled_from(SCHEDULES), label="schedule")
        elif shape == "child":
            body["predecessors"] = data.draw(st.lists(st.sampled_from(POOL[:5]), min_size=1,
                                                      max_size=2, unique=True), label="preds")
        elif shape == "finalizer":
            body["finalize"] = data.draw(st.sampled_from(POOL[:2]), label="finalize")
        if "condition" in body:
            body["condition"] = data.draw(st.sampled_from(["1 = 1", "1 = 0"]), label="when")
    elif operation_id in ("setTags", "unsetTags") and isinstance(body, list):
        tags = data.draw(st.lists(st.sampled_from(["COST_CENTER", "OWNER", "tier"]),
                                  min_size=1, max_size=3, unique=True), label="tags")
        case.body = [{"tag_name": t, **({"tag_value": f"v-{t}"} if operation_id == "setTags"
                                        else {})} for t in tags]


def _task_list(http: Loopback) -> list[dict[str, Any]]:
    return http.get_json(_TASKS)


TASK_TARGET = FuzzTarget(spec=TASK_SPEC, operations=OPERATIONS, steer=_steer,
                         prepare=_replenish, listing=_task_list)


@pytest.fixture(scope="module")
def fuzz_report() -> Iterator[FuzzReport]:
    with tasknb.local.start(clock="manual") as server:
        _seed(server)
        yield fuzz(server, TASK_TARGET)


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_conforms_to_spec(fuzz_report: FuzzReport, operation_id: str) -> None:
    report = fuzz_report.operations[operation_id]
    assert report.sent >= MIN_PER_OPERATION, (operation_id, report.sent)
    assert not [s for s in report.statuses if s >= 500], (operation_id, report.statuses)
    assert not report.failures, "\n\n".join(report.failures[:5])


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_refused_requests_change_nothing(fuzz_report: FuzzReport, operation_id: str) -> None:
    report = fuzz_report.operations[operation_id]
    refused = sum(n for s, n in report.statuses.items() if s >= 400)
    assert report.refused_checked == refused > 0, (operation_id, report.statuses)
    assert not report.changed_by_refusal, "\n".join(report.changed_by_refusal[:5])


def test_at_least_1000_requests_sent(fuzz_report: FuzzReport) -> None:
    fuzz_report.print_figures("task.yaml")
    assert fuzz_report.total >= MIN_TOTAL_REQUESTS, fuzz_report.total
    assert fuzz_report.http_samples >= 50, fuzz_report.http_samples


def test_fuzzing_reaches_past_lookups(fuzz_report: FuzzReport) -> None:
    """Steering works: every operation gets successful answers, not only 400/404."""
    ops = fuzz_report.operations
    for operation_id, report in ops.items():
        ok = report.statuses[200] + report.statuses[202]
        # inputs are fixed (derandomized), outcomes depend on what earlier cases left behind
        # (a steered delete finds its task only if no case dropped it first): 4 or 5 seen
        assert ok >= MIN_SUCCESSES_PER_OPERATION, (operation_id, dict(report.statuses))
    codes: collections.Counter[str] = collections.Counter()
    for report in ops.values():
        codes.update(report.codes)
    # Snowflake's rules answer, not only lookups: already exists, does not exist, bad request,
    # the suspended-root rule, schedule-vs-predecessor; and some cases tried a wrong token
    for code in ("002002", "002003", "390400", "091421", "091000"):
        assert codes[code] > 0, (code, dict(codes))
    assert ops["executeTask"].statuses[202] > 0  # asyncExec, answered through /results
    assert sum(r.wrong_token for r in ops.values()) >= fuzz_report.total // WRONG_TOKEN_EVERY
    assert sum(r.statuses[401] for r in ops.values()) == sum(r.wrong_token for r in ops.values())


# --- Regressions found by the fuzzer (kept as plain, fast examples) ----------------------------
@pytest.fixture(scope="module")
def plain_server() -> Iterator[LocalServer]:
    with tasknb.local.start(clock="manual") as server:
        server.service.ensure_schema("DB", "S")
        yield server


@pytest.mark.parametrize(("method", "path", "body"), [
    ("DELETE", "/api/v2/databases/NO_SUCH_DB/schemas/%C3%A9%0B/tasks/T?ifExists=true", None),
    ("DELETE", "/api/v2/databases/NO_SUCH_DB/schemas/S/tasks/a-b?ifExists=true", None),
    ("POST", "/api/v2/databases/NO_SUCH_DB/schemas/S/tasks/a-b:set-tags?ifExists=true",
     [{"tag_name": "X", "tag_value": "v"}]),
    ("POST", "/api/v2/databases/NO_SUCH_DB/schemas/S/tasks/a-b:unset-tags?ifExists=true",
     [{"tag_name": "X"}]),
])
def test_if_exists_does_not_excuse_an_invalid_identifier(
        plain_server: LocalServer, method: str, path: str, body: Any) -> None:
    """ifExists=true forgives a missing object, not a malformed name (spec pattern → 400)."""
    with httpx.Client(base_url=plain_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {plain_server.token}"}) as http:
        reply = http.request(method, path, json=body)
    assert reply.status_code == 400, reply.text
    assert "Invalid SQL Identifier" in reply.json()["message"]


@pytest.mark.parametrize("path", [
    "/api/v2/databases/a-b/schemas/S/tasks/T:execute?asyncExec=true",
    "/api/v2/databases/DB/schemas/S/tasks/%C3%A9%0B:execute?asyncExec=true",
])
def test_async_execute_refuses_an_invalid_identifier_at_once(
        plain_server: LocalServer, path: str) -> None:
    """asyncExec defers the run, not the request's validation: a malformed name is a 400 now."""
    with httpx.Client(base_url=plain_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {plain_server.token}"}) as http:
        reply = http.post(path)
    assert reply.status_code == 400, reply.text
    assert "Location" not in reply.headers


_T = "/api/v2/databases/DB/schemas/S/tasks"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{_T}?showLimit="),
    ("GET", f"{_T}?rootOnly="),
    ("GET", f"{_T}/EMPTY_T/dependents?recursive="),
    ("GET", f"{_T}/EMPTY_T/complete-graphs?resultLimit="),
    ("GET", f"{_T}/EMPTY_T/complete-graphs?errorOnly="),
    ("GET", f"{_T}/EMPTY_T/current-graphs?resultLimit="),
    ("DELETE", f"{_T}/EMPTY_T?ifExists="),
    ("POST", f"{_T}/EMPTY_T:execute?retryLast="),
    ("POST", f"{_T}?createMode="),
    ("GET", "/api/v2/databases?showLimit="),
])
def test_an_empty_query_value_is_not_a_default(plain_server: LocalServer, method: str,
                                               path: str) -> None:
    """``?showLimit=`` is neither an integer nor absent: 400, and nothing happens (found by
    fuzzing database.yaml: ``GET /api/v2/databases?showLimit=`` answered 200)."""
    plain_server.service.create_task("DB", "S", {"name": "EMPTY_T", "definition": "select 1"},
                                     create_mode="orReplace")
    assert plain_server.service.wait_idle(30)
    before = state_snapshot(plain_server.service)
    body = {"name": "EMPTY_NEW", "definition": "select 1"} if path.endswith("createMode=") \
        else None
    with httpx.Client(base_url=plain_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {plain_server.token}"}) as http:
        reply = http.request(method, path, json=body)
    assert reply.status_code == 400, reply.text
    assert plain_server.service.wait_idle(30)
    assert snapshot_diff(before, state_snapshot(plain_server.service)) == []


# --- Every kind of refusal, deterministically: the right code, and nothing changed -----------
_RF = "/api/v2/databases/RF/schemas/S/tasks"
_MINUTES = {"schedule_type": "MINUTES_TYPE", "minutes": 10}
REFUSALS = [
    ("PUT", f"{_RF}/CHILD", None, {"name": "CHILD", "definition": "select 2",
                                   "predecessors": ["ROOT"]}, 400, "091421"),
    ("POST", _RF, {"createMode": "orReplace"}, {"name": "CHILD", "definition": "select 2",
                                                "predecessors": ["ROOT"]}, 400, "091421"),
    ("DELETE", f"{_RF}/CHILD", None, None, 400, "091421"),
    ("POST", f"{_RF}/CHILD:suspend", None, None, 400, "091421"),
    ("POST", f"{_RF}/CHILD:execute", None, None, 400, "091000"),
    ("POST", f"{_RF}/ROOT:execute", {"retryLast": "true"}, None, 400, "091457"),
    ("POST", _RF, None, {"name": "X", "definition": "select 1", "predecessors": ["SOLO"],
                         "schedule": _MINUTES}, 400, "091000"),
    ("POST", _RF, None, {"name": "Y", "definition": "select 1", "predecessors": ["NOPE"]},
     400, "091000"),
    ("POST", _RF, None, {"name": "Z", "definition": "select 1", "predecessors": ["SOLO"],
                         "task_auto_retry_attempts": 3}, 400, "091000"),
    ("POST", _RF, None, {"name": "W", "definition": "select 1", "schedule": {
        "schedule_type": "MINUTES_TYPE", "minutes": 0}}, 400, "091000"),
    ("POST", _RF, None, {"name": "V", "definition": "select 1", "schedule": {
        "schedule_type": "CRON_TYPE", "cron_expr": "61 * * * *", "timezone": "UTC"}},
     400, "091000"),
    ("POST", _RF, None, {"name": "U", "definition": "select 1", "schedule": {
        "schedule_type": "CRON_TYPE", "cron_expr": "0 * * * *", "timezone": "Mars/Olympus"}},
     400, "091000"),
    ("POST", _RF, None, {"name": "SELF", "definition": "select 1", "predecessors": ["SELF"]},
     400, "091000"),
    ("POST", _RF, None, {"name": "FIN2", "definition": "select 1", "finalize": "ROOT"},
     400, "091000"),
    ("POST", _RF, None, {"name": "CHILD", "definition": "select 1"}, 409, "002002"),
    ("POST", f"{_RF}/NOPE:unset-tags", None, [{"tag_name": "X"}], 404, "002003"),
    ("PUT", f"{_RF}/SOLO", None, {"name": "OTHER", "definition": "select 1"}, 400, "390400"),
    ("POST", _RF, {"createMode": "bogus"}, {"name": "Q", "definition": "select 1"},
     400, "390400"),
]


@pytest.fixture(scope="module")
def refusal_server(plain_server: LocalServer) -> LocalServer:
    """RF.S: a started graph ROOT -> CHILD with finalizer FIN, and a standalone SOLO."""
    svc = plain_server.service
    svc.ensure_schema("RF", "S")
    for body in ({"name": "ROOT", "definition": "select 1", "schedule": _MINUTES},
                 {"name": "CHILD", "definition": "select 1", "predecessors": ["ROOT"]},
                 {"name": "FIN", "definition": "select 1", "finalize": "ROOT"},
                 {"name": "SOLO", "definition": "select 1"}):
        svc.create_task("RF", "S", body)
    for name in ("CHILD", "FIN", "ROOT"):
        svc.resume_task("RF", "S", name)
    return plain_server


@pytest.mark.parametrize(("method", "path", "params", "body", "status", "code"), REFUSALS,
                         ids=[f"{r[0]} {r[1].split('/tasks')[1] or '/'} {r[5]}"
                              for r in REFUSALS])
def test_each_refusal_changes_nothing(refusal_server: LocalServer, method: str, path: str,
                                      params: Any, body: Any, status: int, code: str) -> None:
    svc = refusal_server.service
    assert svc.wait_idle(30)
    before = state_snapshot(svc)
    with httpx.Client(base_url=refusal_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {refusal_server.token}"}) as http:
        reply = http.request(method, path, params=params, json=body)
    assert (reply.status_code, reply.json()["code"]) == (status, code), reply.text
    assert reply.json()["error_code"] == code and reply.json()["request_id"]
    assert reply.headers["X-Snowflake-Request-ID"] == reply.json()["request_id"]
    assert svc.wait_idle(30)
    assert snapshot_diff(before, state_snapshot(svc)) == []


def _documented_statuses(path: str, method: str) -> set[int]:
    import yaml

    spec = yaml.safe_load(TASK_SPEC.read_text())
    return {int(code) for code in spec["paths"][path][method]["responses"]}


def test_an_oversized_body_gets_a_documented_status(plain_server: LocalServer) -> None:
    """Bodies are size-limited; task.yaml documents no 413, so the refusal is a 400 with a
    Snowflake-shaped code, and nothing is created."""
    documented = _documented_statuses("/api/v2/databases/{database}/schemas/{schema}/tasks",
                                      "post")
    before = state_snapshot(plain_server.service)
    with httpx.Client(base_url=plain_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {plain_server.token}"}) as http:
        reply = http.post("/api/v2/databases/DB/schemas/S/tasks",
                          json={"name": "HUGE", "definition": "select 1",
                                "comment": "x" * 2_000_000})
    assert reply.status_code in documented, (reply.status_code, sorted(documented))
    assert reply.status_code == 400, reply.text
    assert re.fullmatch(r"\d{6}", reply.json()["code"]), reply.text
    assert "bytes" in reply.json()["message"]
    assert snapshot_diff(before, state_snapshot(plain_server.service)) == []


def test_a_wrong_content_type_carries_a_snowflake_code(plain_server: LocalServer) -> None:
    """415 comes from common.yaml (§8.1); its body is an ErrorResponse with a 6-digit code."""
    with httpx.Client(base_url=plain_server.url, trust_env=False,
                      headers={"Authorization": f"Bearer {plain_server.token}"}) as http:
        reply = http.post("/api/v2/databases/DB/schemas/S/tasks",
                          content=b'{"name": "T_TEXT", "definition": "select 1"}',
                          headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415, reply.text
    assert re.fullmatch(r"\d{6}", reply.json()["code"]), reply.text
    assert reply.json()["error_code"] == reply.json()["code"]


def test_the_snapshot_check_is_not_blind(plain_server: LocalServer) -> None:
    """The 'nothing changed' check above would notice a change: memory, disk and run counts."""
    svc = plain_server.service
    before = state_snapshot(svc)
    svc.create_task("DB", "S", {"name": "SEEN", "definition": "select 1"})
    diff = snapshot_diff(before, state_snapshot(svc))
    assert any(d.startswith("memory.tasks") for d in diff), diff
    assert any(d.startswith("disk.tasks") for d in diff), diff
    before = state_snapshot(svc)
    svc.execute_task("DB", "S", "SEEN", wait=True)
    diff = snapshot_diff(before, state_snapshot(svc))
    assert any(d.startswith("disk.graph_runs") for d in diff), diff
    before = state_snapshot(svc)
    svc.set_tags("DB", "S", "SEEN", [{"tag_name": "T", "tag_value": "v"}])
    assert snapshot_diff(before, state_snapshot(svc)) != []
