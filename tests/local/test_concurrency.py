"""Concurrency: several clients create, alter, execute, suspend and resume at once.

    pytest tests/local/test_concurrency.py -q

Each test starts threads that wait on a barrier and then hit one local server over loopback
(plain httpx, and tasknb's own client for the create race). Checked: no lost update (every
acknowledged PUT is what the server holds, and a PUT is never torn between two writers), a name
created by many clients at once answers exactly one 200 and 409 for the rest, one ``:execute``
starts exactly one graph run (NO_OVERLAP: one starts, the others queue into a single pending
run; ALLOW_ALL_OVERLAP: one run per call), and a mixed storm leaves a consistent state with no
5xx.
"""

from __future__ import annotations

import collections
import random
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import tasknb.local
from tasknb.errors import Conflict
from tasknb.local.server import LocalServer

THREADS = 8
DB, SC = "CONC_DB", "S"
BASE = f"/api/v2/databases/{DB}/schemas/{SC}/tasks"
STARTED = re.compile(r"started \(run_id (\d+)\)")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with tasknb.local.start(max_workers=8) as srv:
        srv.service.ensure_schema(DB, SC)
        yield srv


def _client(server: LocalServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60.0, trust_env=False,
                        headers={"Authorization": f"Bearer {server.token}"})


def _in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; return results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


def _create(http: httpx.Client, body: dict[str, Any]) -> None:
    reply = http.post(BASE, json=body)
    assert reply.status_code == 200, reply.text


def test_concurrent_puts_on_distinct_tasks_lose_nothing(server: LocalServer) -> None:
    rounds, per_thread = 15, 3
    with _client(server) as http:
        for i in range(THREADS):
            for j in range(per_thread):
                _create(http, {"name": f"PUT_{i}_{j}", "definition": "select 0"})

    def writer(i: int) -> dict[str, str]:
        last: dict[str, str] = {}
        with _client(server) as http:
            for k in range(rounds):
                for j in range(per_thread):
                    name, comment = f"PUT_{i}_{j}", f"thread {i} round {k}"
                    reply = http.put(f"{BASE}/{name}", json={
                        "name": name, "definition": f"select {k}", "comment": comment})
                    assert reply.status_code == 200, reply.text
                    last[name] = comment
        return last

    acknowledged: dict[str, str] = {}
    for last in _in_parallel(THREADS, writer):
        acknowledged.update(last)
    with _client(server) as http:
        listed = {t["name"]: t for t in http.get(BASE, params={"startsWith": "PUT_"}).json()}
    assert len(acknowledged) == THREADS * per_thread
    for name, comment in acknowledged.items():
        assert listed[name]["comment"] == comment, (name, listed[name])
        assert listed[name]["definition"] == f"select {rounds - 1}"


def test_concurrent_puts_on_one_task_are_never_torn(server: LocalServer) -> None:
    with _client(server) as http:
        _create(http, {"name": "TORN", "definition": "select 0"})

    def writer(i: int) -> list[tuple[str, str]]:
        sent = []
        with _client(server) as http:
            for k in range(10):
                comment, definition = f"w{i}-{k}", f"select {i * 100 + k}"
                reply = http.put(f"{BASE}/TORN", json={
                    "name": "TORN", "definition": definition, "comment": comment,
                    "config": {"writer": i, "round": k}})
                assert reply.status_code == 200, reply.text
                sent.append((comment, definition))
        return sent

    pairs = {pair for sent in _in_parallel(THREADS, writer) for pair in sent}
    with _client(server) as http:
        task = http.get(f"{BASE}/TORN").json()
    assert (task["comment"], task["definition"]) in pairs, task
    writer_index, round_index = (int(x) for x in task["comment"][1:].split("-"))
    assert task["config"] == {"writer": writer_index, "round": round_index}, task


def test_concurrent_creates_of_one_name_one_wins(server: LocalServer) -> None:
    names = [f"RACE_{n}" for n in range(10)]

    def creator(i: int) -> list[str]:
        client = server.connect(database=DB, schema=SC)
        outcomes = []
        try:
            for name in names:
                try:
                    client.create_task({"name": name, "definition": f"select {i}",
                                        "comment": f"by {i}"})
                    outcomes.append("created")
                except Conflict as exc:
                    assert exc.status == 409 and exc.code == "002002", exc
                    outcomes.append("conflict")
        finally:
            client.close()
        return outcomes

    results = _in_parallel(THREADS, creator)
    with _client(server) as http:
        for index, name in enumerate(names):
            column = [outcomes[index] for outcomes in results]
            assert column.count("created") == 1, (name, column)
            assert column.count("conflict") == THREADS - 1, (name, column)
            winner = column.index("created")
            task = http.get(f"{BASE}/{name}").json()
            assert task["comment"] == f"by {winner}", task  # the winner's body, not a loser's


def _graph_runs(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    reply = http.get(f"/tasknb/v1/databases/{DB}/schemas/{SC}/tasks/{name}/graph-runs")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_concurrent_executes_on_a_no_overlap_root(server: LocalServer) -> None:
    """One call starts the run; the others queue into one pending run (they replace each
    other), which starts only after the first finished."""
    with _client(server) as http:
        _create(http, {"name": "NO_OVERLAP_ROOT", "definition": "select system$wait(2.5)"})
        _create(http, {"name": "NO_OVERLAP_CHILD", "definition": "select 1",
                       "predecessors": ["NO_OVERLAP_ROOT"]})
        assert http.post(f"{BASE}/NO_OVERLAP_CHILD:resume").status_code == 200

    def execute(_: int) -> str:
        with _client(server) as http:
            reply = http.post(f"{BASE}/NO_OVERLAP_ROOT:execute")
        assert reply.status_code == 200, reply.text
        return reply.json()["status"]

    answers = _in_parallel(THREADS, execute)
    started = [m.group(1) for a in answers if (m := STARTED.search(a))]
    queued = [a for a in answers if "queued" in a]
    assert len(started) == 1 and len(queued) == THREADS - 1, answers
    assert server.service.wait_idle(60)
    with _client(server) as http:
        runs = sorted(_graph_runs(http, "NO_OVERLAP_ROOT"), key=lambda r: r["run_id"])
    assert len(runs) == 2, runs
    first, second = runs
    assert str(first["run_id"]) == started[0]
    assert [r["state"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"], runs
    assert second["query_start_time"] >= first["completed_time"], runs  # never overlapped
    with _client(server) as http:
        child = http.get(f"/tasknb/v1/databases/{DB}/schemas/{SC}/tasks/NO_OVERLAP_CHILD"
                         "/history").json()
    assert sorted(r["run_id"] for r in child) == [r["run_id"] for r in runs]


def test_concurrent_executes_on_an_allow_all_overlap_root(server: LocalServer) -> None:
    """Each call starts exactly one graph run of its own."""
    with _client(server) as http:
        _create(http, {"name": "ALL_OVERLAP_ROOT", "definition": "select system$wait(0.3)",
                       "overlap_policy": "ALLOW_ALL_OVERLAP"})
        _create(http, {"name": "ALL_OVERLAP_CHILD", "definition": "select 1",
                       "predecessors": ["ALL_OVERLAP_ROOT"]})

    def execute(_: int) -> str:
        with _client(server) as http:
            reply = http.post(f"{BASE}/ALL_OVERLAP_ROOT:execute")
        assert reply.status_code == 200, reply.text
        match = STARTED.search(reply.json()["status"])
        assert match, reply.text
        return match.group(1)

    run_ids = _in_parallel(THREADS, execute)
    assert len(set(run_ids)) == THREADS, run_ids
    assert server.service.wait_idle(60)
    with _client(server) as http:
        runs = _graph_runs(http, "ALL_OVERLAP_ROOT")
    assert sorted(str(r["run_id"]) for r in runs) == sorted(run_ids)
    assert {r["state"] for r in runs} == {"SUCCEEDED"}, runs


def test_mixed_storm_keeps_a_consistent_state(server: LocalServer) -> None:
    """Creates, PUTs, executes, resumes, suspends and deletes on a shared set of tasks."""
    names = [f"STORM_{n}" for n in range(6)]
    with _client(server) as http:
        for name in names:
            _create(http, {"name": name, "definition": "select 1"})
        _create(http, {"name": "STORM_CHILD", "definition": "select 2",
                       "predecessors": [names[0]]})

    def storm(i: int) -> collections.Counter[tuple[str, int]]:
        rng = random.Random(i)
        seen: collections.Counter[tuple[str, int]] = collections.Counter()
        with _client(server) as http:
            for _ in range(40):
                name = rng.choice(names)
                verb = rng.choice(["put", "execute", "resume", "suspend", "create", "delete",
                                   "fetch", "list"])
                if verb == "put":
                    reply = http.put(f"{BASE}/{name}", json={
                        "name": name, "definition": "select 1", "comment": f"storm {i}"})
                elif verb in ("execute", "resume", "suspend"):
                    reply = http.post(f"{BASE}/{name}:{verb}")
                elif verb == "create":
                    reply = http.post(BASE, params={"createMode": "ifNotExists"},
                                      json={"name": name, "definition": "select 1"})
                elif verb == "delete":
                    reply = http.delete(f"{BASE}/{name}", params={"ifExists": "true"})
                elif verb == "fetch":
                    reply = http.get(f"{BASE}/{name}")
                else:
                    reply = http.get(BASE)
                seen[(verb, reply.status_code)] += 1
                assert reply.status_code in (200, 400, 404, 409), (verb, name, reply.text)
                if reply.status_code >= 400:
                    assert set(reply.json()) >= {"code", "message", "request_id"}
        return seen

    totals: collections.Counter[tuple[str, int]] = collections.Counter()
    for seen in _in_parallel(THREADS, storm):
        totals.update(seen)
    assert sum(totals.values()) == THREADS * 40
    for verb in ("put", "execute", "resume", "suspend", "create", "delete"):
        assert totals[(verb, 200)] > 0, sorted(totals.items())  # each kind really raced
    assert server.service.wait_idle(60)
    with _client(server) as http:
        reply = http.get(BASE, params={"startsWith": "STORM_"})
        listed = {t["name"]: t for t in reply.json()}
        for name, task in listed.items():
            assert http.get(f"{BASE}/{name}").json() == task  # list and fetch agree
            for run in _graph_runs(http, name):
                assert run["state"] in ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"), run
        # a suspended graph can still be edited and resumed: no lock or state was left behind
        for name, task in listed.items():
            if not task.get("predecessors"):
                assert http.post(f"{BASE}/{name}:suspend").status_code == 200
        for name, task in listed.items():
            body = {"name": name, "definition": "select 3"}
            if task.get("predecessors"):
                body["predecessors"] = task["predecessors"]
            reply = http.put(f"{BASE}/{name}", json=body)
            assert reply.status_code == 200, reply.text
