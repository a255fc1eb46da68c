"""Crash tests: SIGKILL the server process mid-run and mid-burst, restart it, lose nothing.

    pytest tests/local/test_crash.py -q

The server is ``tasknb server --data-dir D --port P`` (token in ``TASKNB_SERVER_TOKEN``) in a
child process (real clock unless a test needs the manual one). After ``kill -9`` it restarts on the same directory and
port, and the tests check that:

* a graph run that was executing is recorded as CANCELLED (graph run and per-task rows) with a
  message saying the server stopped, the embedded SQL engine's file still opens and runs SQL,
  and the interrupted run can be retried with ``retryLast``;
* every write acknowledged with a 200 before the kill (creates, PUTs, deletes and schema
  drops that cascade, from five threads at once; a resume made before) is present after the
  restart; a write in
  flight at the kill is either wholly there or wholly absent; no orphan rows on disk;
* the manual clock: an acknowledged advance survives, and a kill mid-advance never makes a
  schedule tick fire twice;
* dropped or replaced databases and schemas do not bring their tables back (after a restart
  either).
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from _support import STATE_FILE, ServerProcess, wait_until

DB, SC = "CRASH_DB", "S"
BASE = f"/api/v2/databases/{DB}/schemas/{SC}/tasks"
TOKEN = "crash-test-token-0123456789abcdefgh"
WRITER_THREADS = 4
ACKS_BEFORE_KILL = 200
SLOW_SECONDS = 120  # the slow task would take this long; it is killed long before


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", token=TOKEN)
    proc.start()
    yield proc
    proc.stop()


def _restart(proc: ServerProcess) -> ServerProcess:
    again = ServerProcess(proc.data_dir, token=TOKEN, port=proc.port)
    return again.start()


def _setup_schema(http: httpx.Client) -> None:
    assert http.post("/api/v2/databases", json={"name": DB}).status_code == 200
    assert http.post(f"/api/v2/databases/{DB}/schemas", json={"name": SC}).status_code == 200


def _create(http: httpx.Client, body: dict[str, Any]) -> None:
    reply = http.post(BASE, json=body)
    assert reply.status_code == 200, reply.text


def _history(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    reply = http.get(f"/tasknb/v1/databases/{DB}/schemas/{SC}/tasks/{name}/history")
    assert reply.status_code == 200, reply.text
    return reply.json()


def _graph_runs(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    reply = http.get(f"/tasknb/v1/databases/{DB}/schemas/{SC}/tasks/{name}/graph-runs")
    assert reply.status_code == 200, reply.text
    return reply.json()


# --- (a) kill during a graph run ---------------------------------------------------------------
def test_kill_during_a_graph_run_records_it_cancelled(server: ServerProcess) -> None:
    with server.http() as http:
        _setup_schema(http)
        _create(http, {"name": "ROOT", "definition":
                       "create or replace table facts as select range as x from range(1000)"})
        _create(http, {"name": "SLOW", "definition": f"select system$wait({SLOW_SECONDS})",
                       "predecessors": ["ROOT"]})
        _create(http, {"name": "HEAVY", "predecessors": ["ROOT"], "definition":  # CPU-bound
                       "create or replace table heavy as select count(*) as n "
                       "from range(1000000) a, range(1000000) b"})
        _create(http, {"name": "AFTER", "definition": "select 1",
                       "predecessors": ["SLOW", "HEAVY"]})
        for child in ("SLOW", "HEAVY", "AFTER"):  # new tasks are suspended; children skip
            assert http.post(f"{BASE}/{child}:resume").status_code == 200
        reply = http.post(f"{BASE}/ROOT:execute", params={"asyncExec": "true"})
        assert reply.status_code == 202, reply.text
        location = reply.headers["Location"]
        answered = http.get(location)
        assert answered.status_code == 200, answered.text
        for name in ("SLOW", "HEAVY"):
            wait_until(lambda name=name: any(r["state"] == "EXECUTING"
                                              for r in _history(http, name)),
                        30, f"{name} to be executing")
        current = http.get(f"{BASE}/ROOT/current-graphs").json()
        assert [r["state"] for r in current] == ["EXECUTING"], current
        run_id = current[0]["run_id"]
    server.kill()

    again = _restart(server)
    try:
        with again.http() as http:
            runs = _graph_runs(http, "ROOT")
            assert len(runs) == 1, runs
            [run] = runs
            assert run["run_id"] == run_id
            assert run["state"] == "CANCELLED", run
            # the acknowledged 202's result handle survived too, with the same answer
            assert http.get(location).json() == answered.json()
            assert str(run_id) in answered.json()["status"]
            assert "stopped" in run["first_error_message"], run
            assert "killed" in run["first_error_message"] or "exited" in \
                run["first_error_message"], run
            assert run["completed_time"] >= run["scheduled_time"]
            # nothing is left executing: not in current graphs, visible in complete graphs
            assert http.get(f"{BASE}/ROOT/current-graphs").json() == []
            complete = http.get(f"{BASE}/ROOT/complete-graphs").json()
            assert [r["run_id"] for r in complete] == [run_id], complete
            # per-task records: the finished root kept its success, the running task says why
            [root_row] = _history(http, "ROOT")
            assert root_row["state"] == "SUCCEEDED", root_row
            for name in ("SLOW", "HEAVY"):
                [row] = _history(http, name)
                assert row["state"] == "CANCELLED", row
                assert "stopped" in row["error_message"], row
            assert all(r["state"] != "EXECUTING" for r in _history(http, "AFTER"))

            # the engine's database file survived the kill: the table ROOT wrote is readable
            _create(http, {"name": "CHECK", "definition":
                           "select system$set_return_value((select count(*) from facts)::text)"})
            assert http.post(f"{BASE}/CHECK:execute").status_code == 200
            check = wait_until(lambda: [r for r in _history(http, "CHECK")
                                         if r["state"] not in ("EXECUTING", "SCHEDULED")],
                                30, "CHECK to finish")
            assert check[0]["state"] == "SUCCEEDED", check
            assert check[0]["return_value"] == "1000", check
            # the statement killed half-way left nothing behind: its table was never created
            _create(http, {"name": "PEEK", "definition": "select n from heavy"})
            assert http.post(f"{BASE}/PEEK:execute").status_code == 200
            peek = wait_until(lambda: [r for r in _history(http, "PEEK")
                                        if r["state"] not in ("EXECUTING", "SCHEDULED")],
                               30, "PEEK to finish")
            assert peek[0]["state"] == "FAILED" and peek[0]["error_code"] == 2003, peek

            # the interrupted run can be retried (same run_id, attempt 2)
            retry = http.post(f"{BASE}/ROOT:execute", params={"retryLast": "true"})
            assert retry.status_code == 200, retry.text
            newest = _graph_runs(http, "ROOT")[0]
            assert newest["run_id"] == run_id and newest["attempt_number"] == 2, newest
    finally:
        again.stop()


# --- (b) kill during a burst of writes ---------------------------------------------------------
@dataclass
class Op:
    kind: str                       # create | put | delete
    name: str
    comment: str | None = None
    outcome: str = "pending"        # acked | refused | unknown (in flight at the kill)
    detail: str = ""


@dataclass
class Writer:
    """One thread's planned writes, run in order until the server dies."""

    index: int
    ops: list[Op] = field(default_factory=list)

    def plan(self, count: int) -> None:
        rng = random.Random(self.index)
        live: list[str] = []
        serial = 0
        for _ in range(count):
            choice = rng.random()
            if not live or choice < 0.45:
                serial += 1
                name = f"W{self.index}_{serial}"
                self.ops.append(Op("create", name, f"c{serial}"))
                live.append(name)
            elif choice < 0.85:
                name = rng.choice(live)
                self.ops.append(Op("put", name, f"p{len(self.ops)}"))
            else:
                name = live.pop(rng.randrange(len(live)))
                self.ops.append(Op("delete", name))

    def run(self, url: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=url, timeout=10.0, trust_env=False,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            for op in self.ops:
                if stop.is_set():
                    return
                try:
                    if op.kind == "create":
                        reply = http.post(BASE, json={"name": op.name, "definition": "select 1",
                                                      "comment": op.comment})
                    elif op.kind == "put":
                        reply = http.put(f"{BASE}/{op.name}", json={
                            "name": op.name, "definition": "select 2", "comment": op.comment})
                    else:
                        reply = http.delete(f"{BASE}/{op.name}")
                except httpx.TransportError as exc:
                    op.outcome, op.detail = "unknown", type(exc).__name__
                    return
                if reply.status_code == 200:
                    op.outcome = "acked"
                else:
                    op.outcome, op.detail = "refused", f"{reply.status_code} {reply.text[:200]}"
                    return

    @property
    def acked(self) -> int:
        return sum(op.outcome == "acked" for op in self.ops)


@dataclass
class SchemaWriter:
    """Creates schemas, fills them with tasks, drops every other one (a cascading delete)."""

    ops: list[Op] = field(default_factory=list)

    def plan(self, schemas: int) -> None:
        for k in range(schemas):
            self.ops.append(Op("schema+", f"SCH_{k}"))
            self.ops.extend(Op("task+", f"SCH_{k}.T{j}") for j in range(3))
            if k % 2:
                self.ops.append(Op("schema-", f"SCH_{k}"))

    def run(self, url: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=url, timeout=10.0, trust_env=False,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            for op in self.ops:
                if stop.is_set():
                    return
                schemas = f"/api/v2/databases/{DB}/schemas"
                try:
                    if op.kind == "schema+":
                        reply = http.post(schemas, json={"name": op.name})
                    elif op.kind == "schema-":
                        reply = http.delete(f"{schemas}/{op.name}")
                    else:
                        schema, task = op.name.split(".")
                        reply = http.post(f"{schemas}/{schema}/tasks",
                                          json={"name": task, "definition": "select 1"})
                except httpx.TransportError as exc:
                    op.outcome, op.detail = "unknown", type(exc).__name__
                    return
                op.outcome = "acked" if reply.status_code == 200 else "refused"
                op.detail = f"{reply.status_code} {reply.text[:200]}"
                if op.outcome == "refused":
                    return

    def expected(self) -> tuple[dict[str, set[bool]], dict[str, set[bool]]]:
        """Possible presence of each schema and each task (two options around the cut)."""
        schemas: dict[str, set[bool]] = {}
        tasks: dict[str, set[bool]] = {}
        for op in self.ops:
            if op.outcome == "pending":
                break
            schema = op.name.split(".")[0]
            if op.kind == "task+":
                now = {True} if schemas.get(schema) == {True} else {False}
                tasks[op.name] = now if op.outcome == "acked" else {False} | now
                continue
            present = op.kind == "schema+"
            old = schemas.get(schema, {False})
            schemas[schema] = {present} if op.outcome == "acked" else old | {present}
            for name in [t for t in tasks if t.startswith(schema + ".")]:
                tasks[name] = ({False} if op.outcome == "acked" else tasks[name] | {False}) \
                    if not present else tasks[name]
        return schemas, tasks


def _expected_states(writers: list[Writer]) -> dict[str, set[str | None]]:
    """Per task: the comments it may have now (None = absent); two options only for the task
    a write was in flight on when the server died."""
    allowed: dict[str, set[str | None]] = {}
    for writer in writers:
        state: dict[str, str | None] = {}
        for op in writer.ops:
            if op.outcome == "pending":
                break
            after = None if op.kind == "delete" else op.comment
            if op.outcome == "acked":
                state[op.name] = after
                allowed[op.name] = {after}
            elif op.outcome == "unknown":
                allowed[op.name] = {state.get(op.name), after}
                break
    return allowed


def test_kill_during_a_burst_of_writes_loses_nothing_acknowledged(server: ServerProcess) -> None:
    with server.http() as http:
        _setup_schema(http)
        # a started graph, resumed before the burst: the resume must survive too
        _create(http, {"name": "KEEP_ROOT", "definition": "select 1",
                       "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 600}})
        assert http.post(f"{BASE}/KEEP_ROOT:resume").status_code == 200
    writers = [Writer(i) for i in range(WRITER_THREADS)]
    for writer in writers:
        writer.plan(5_000)
    cascade = SchemaWriter()
    cascade.plan(2_000)
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(server.url, stop), daemon=True)
               for w in [*writers, cascade]]
    for thread in threads:
        thread.start()
    def dropped() -> int:
        return sum(op.kind == "schema-" and op.outcome == "acked" for op in cascade.ops)

    wait_until(lambda: sum(w.acked for w in writers) >= ACKS_BEFORE_KILL and dropped() >= 3,
                60, f"{ACKS_BEFORE_KILL} acknowledged writes and 3 schema drops")
    server.kill()  # while the writers are still sending
    for thread in threads:
        thread.join(timeout=30)
    stop.set()
    assert all(not t.is_alive() for t in threads)
    refused = [op for w in [*writers, cascade] for op in w.ops if op.outcome == "refused"]
    assert not refused, [(op.kind, op.name, op.detail) for op in refused]
    in_flight = [op for w in [*writers, cascade] for op in w.ops if op.outcome == "unknown"]
    assert len(in_flight) == WRITER_THREADS + 1, "every writer was cut off mid-burst"
    assert dropped() >= 3
    acked = sum(w.acked for w in writers)
    assert acked >= ACKS_BEFORE_KILL

    again = _restart(server)
    try:
        with again.http() as http:
            listed = http.get(BASE).json()
            actual = {t["name"]: t.get("comment") for t in listed}
            assert actual.pop("KEEP_ROOT", "missing") is None
            keep = http.get(f"{BASE}/KEEP_ROOT").json()
            assert keep["state"] == "started", keep
            allowed = _expected_states(writers)  # None = absent; every comment is set
            wrong = {name: (actual.get(name), options) for name, options in allowed.items()
                     if actual.get(name) not in options}
            assert not wrong, wrong
            extra = set(actual) - set(allowed)
            assert not extra, extra
            # whole bodies, never torn (the in-flight write included): a create's comment goes
            # with its definition, a PUT's with its own
            for task in listed:
                if task["name"] != "KEEP_ROOT":
                    expected = "select 1" if task["comment"].startswith("c") else "select 2"
                    assert task["definition"] == expected, task
            # cascading schema drops are all-or-nothing
            schemas_now = {s["name"] for s in
                           http.get(f"/api/v2/databases/{DB}/schemas").json()}
            want_schemas, want_tasks = cascade.expected()
            for schema, options in want_schemas.items():
                assert (schema in schemas_now) in options, (schema, options)
            for name, options in want_tasks.items():
                schema, task = name.split(".")
                reply = http.get(f"/api/v2/databases/{DB}/schemas/{schema}/tasks/{task}")
                assert (reply.status_code == 200) in options, (name, options, reply.text)
    finally:
        again.stop()
    conn = sqlite3.connect(again.data_dir / STATE_FILE)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = conn.execute("SELECT database, schema, name FROM tasks WHERE (database, schema)"
                               " NOT IN (SELECT database, name FROM schemas)").fetchall()
        assert orphans == []
    finally:
        conn.close()


# --- (c) the manual clock is an acknowledged write too ----------------------------------------
def test_kill_after_a_clock_advance_keeps_the_clock_and_its_runs(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", token=TOKEN, clock="manual").start()
    with proc.http() as http:
        _setup_schema(http)
        _create(http, {"name": "HOURLY", "definition": "select 1",
                       "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60}})
        assert http.post(f"{BASE}/HOURLY:resume").status_code == 200
        reply = http.post("/tasknb/v1/clock:advance", json={"seconds": 86_400})
        assert reply.status_code == 200, reply.text
        advanced_to = reply.json()["now"]
        assert len(reply.json()["runs"]) == 24
    proc.kill()

    again = ServerProcess(proc.data_dir, token=TOKEN, clock="manual", port=proc.port).start()
    try:
        with again.http() as http:
            assert http.get("/tasknb/v1/clock").json()["now"] == advanced_to
            runs = _graph_runs(http, "HOURLY")
            assert len(runs) == 24 and {r["state"] for r in runs} == {"SUCCEEDED"}
            reply = http.post("/tasknb/v1/clock:advance", json={"seconds": 3_600})
            [run] = reply.json()["runs"]  # the next hour only: nothing fires twice
            assert run["scheduled_time"] > advanced_to
            assert len({r["scheduled_time"] for r in _graph_runs(http, "HOURLY")}) == 25
    finally:
        again.stop()


def test_kill_during_a_clock_advance_never_fires_a_tick_twice(tmp_path: Path) -> None:
    """An advance cut by kill -9 was not acknowledged, but the runs it recorded were: after the
    restart the clock must not stand before them, or the next advance fires those ticks again."""
    proc = ServerProcess(tmp_path / "data", token=TOKEN, clock="manual").start()
    with proc.http() as http:
        _setup_schema(http)
        _create(http, {"name": "HOURLY", "definition": "select system$wait(50, 'MILLISECONDS')",
                       "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60}})
        assert http.post(f"{BASE}/HOURLY:resume").status_code == 200

        def advance() -> None:
            with proc.http(timeout=120) as own, pytest.raises(httpx.TransportError):
                own.post("/tasknb/v1/clock:advance", json={"seconds": 3 * 86_400})

        cut = threading.Thread(target=advance)
        cut.start()
        wait_until(lambda: len(_graph_runs(http, "HOURLY")) >= 5, 60, "five hourly runs")
    proc.kill()
    cut.join(timeout=30)

    again = ServerProcess(proc.data_dir, token=TOKEN, clock="manual", port=proc.port).start()
    try:
        with again.http(timeout=120) as http:
            recorded = _graph_runs(http, "HOURLY")
            now = http.get("/tasknb/v1/clock").json()["now"]
            latest = max(r["scheduled_time"] for r in recorded)
            assert now >= latest, f"clock {now} stands before a recorded run at {latest}"
            assert http.post("/tasknb/v1/clock:advance",
                             json={"seconds": 6 * 3_600}).status_code == 200
            times = [r["scheduled_time"] for r in _graph_runs(http, "HOURLY")]
            assert len(times) == len(set(times)), "a schedule tick fired twice"
    finally:
        again.stop()


# --- (d) dropped or replaced containers take their tables with them ---------------------------
def _run_sql_task(server: Any, database: str, schema: str, sql: str) -> dict[str, Any]:
    """Execute a one-task graph running ``sql``; return its per-task history row."""
    with httpx.Client(base_url=server.url, timeout=30.0, trust_env=False,
                      headers={"Authorization": f"Bearer {server.token}"}) as http:
        base = f"/api/v2/databases/{database}/schemas/{schema}/tasks"
        reply = http.post(base, params={"createMode": "orReplace"},
                          json={"name": "PROBE", "definition": sql})
        assert reply.status_code == 200, reply.text
        assert http.post(f"{base}/PROBE:execute").status_code == 200
        assert server.service.wait_idle(30)
        history = http.get(f"/tasknb/v1/databases/{database}/schemas/{schema}/tasks/PROBE"
                           "/history").json()
    return history[0]


@pytest.mark.parametrize("replace", ["database", "schema"])
def test_create_or_replace_starts_an_empty_container(tmp_path: Path, replace: str) -> None:
    """CREATE OR REPLACE DATABASE/SCHEMA gives an empty one: the old tables are gone."""
    import tasknb.local

    with tasknb.local.start(clock="manual", data_dir=tmp_path / "data") as srv:
        srv.service.ensure_schema("REPL", "S")
        made = _run_sql_task(srv, "REPL", "S", "create table old_rows as select 1 as a")
        assert made["state"] == "SUCCEEDED", made
        if replace == "database":
            srv.service.create_database({"name": "REPL"}, create_mode="orReplace")
            srv.service.create_schema("REPL", {"name": "S"})
        else:
            srv.service.create_schema("REPL", {"name": "S"}, create_mode="orReplace")
        probe = _run_sql_task(srv, "REPL", "S", "select * from old_rows")
        assert probe["state"] == "FAILED", probe
        assert probe["error_code"] == 2003, probe


def test_a_database_dropped_after_a_restart_does_not_come_back(tmp_path: Path) -> None:
    """Drop a database first thing after a restart, create it again: it is empty."""
    import tasknb.local

    with tasknb.local.start(clock="manual", data_dir=tmp_path / "data") as srv:
        srv.service.ensure_schema("AGAIN", "PUBLIC")
        made = _run_sql_task(srv, "AGAIN", "PUBLIC", "create table old_rows as select 1 as a")
        assert made["state"] == "SUCCEEDED", made
    with tasknb.local.start(clock="manual", data_dir=tmp_path / "data") as srv:
        srv.service.delete_database("AGAIN")
        srv.service.ensure_schema("AGAIN", "PUBLIC")
        probe = _run_sql_task(srv, "AGAIN", "PUBLIC", "select * from old_rows")
        assert probe["state"] == "FAILED", probe
        assert probe["error_code"] == 2003, probe
