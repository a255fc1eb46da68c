"""Demo data: real tables, three graphs, and history with real failures."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tasknb.local.schedule.clock import ManualClock, RealClock
from tasknb.local.seed import (
    DEMO_DATABASE,
    FAILING_ROOT,
    NIGHTLY_ROOT,
    STANDALONE_TASK,
    TASK_SCHEMA,
    demo_tasks,
    seed_demo,
)
from tasknb.local.service import Service

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    service = Service(tmp_path_factory.mktemp("seed"), clock=ManualClock(START))
    runs = seed_demo(service)
    yield service, runs
    service.close()


def history(service: Service, name: str) -> list[dict]:
    return service.task_history(DEMO_DATABASE, TASK_SCHEMA, name)


def test_three_days_of_history(seeded) -> None:
    service, runs = seeded
    counts = Counter((r["root_task_name"], r["state"]) for r in runs)
    assert counts == {
        (NIGHTLY_ROOT, "SUCCEEDED"): 3,  # 02:00 America/Los_Angeles on three nights
        (FAILING_ROOT, "FAILED"): 7,  # 06:00 and 18:00 UTC for three days, and a manual rerun
        (STANDALONE_TASK, "SUCCEEDED"): 72,  # every 60 minutes
    }
    assert service.now() == START.replace(day=5)
    assert runs[-1]["root_task_name"] == FAILING_ROOT
    recent = service.complete_graphs(DEMO_DATABASE, TASK_SCHEMA, FAILING_ROOT)
    assert [r["state"] for r in recent] == ["FAILED"]  # the rerun, inside the 60-minute window


def test_failures_have_real_reasons(seeded) -> None:
    service, runs = seeded
    failed = [r for r in runs if r["state"] == "FAILED"]
    reasons = Counter((r["first_error_task_name"], r["first_error_code"]) for r in failed)
    assert reasons[("LOAD_AD_SPEND", 2003)] >= 1
    ad_spend = next(r for r in failed if r["first_error_task_name"] == "LOAD_AD_SPEND")
    assert ad_spend["first_error_message"] == (
        "SQL compilation error:\nObject 'DEMO_DB.RAW.AD_SPEND' does not exist or not authorized."
    )
    conversion = history(service, "COMPUTE_CONVERSION")
    states = Counter(r["state"] for r in conversion)
    assert states["FAILED"] >= 1 and states["SUCCEEDED"] >= 1  # zero sessions every third day
    assert {r["error_message"] for r in conversion if r["state"] == "FAILED"} == {
        "Division by zero"
    }
    assert history(service, "BUILD_FUNNEL") == []  # blocked by its failed predecessors


def test_nightly_graph_really_moves_data(seeded) -> None:
    service, _ = seeded
    engine = service.engine()
    ingest = history(service, NIGHTLY_ROOT)
    assert [r["return_value"] for r in ingest] == ["120", "120", "120"]
    assert engine.query("SELECT COUNT(*) FROM ORDERS_STAGE", DEMO_DATABASE, TASK_SCHEMA) == [(360,)]
    ((clean, rejected),) = engine.query(
        "SELECT (SELECT COUNT(*) FROM ORDERS_CLEAN), (SELECT COUNT(*) FROM ORDERS_REJECTED)",
        DEMO_DATABASE,
        TASK_SCHEMA,
    )
    assert 0 < rejected < clean < 360
    reasons = engine.query(
        "SELECT DISTINCT SPLIT_PART(reason, ':', 1) FROM ORDERS_REJECTED ORDER BY 1",
        DEMO_DATABASE,
        TASK_SCHEMA,
    )
    assert [r[0] for r in reasons] == [
        "missing customer_id",
        "quantity is not a number",
        "quantity must be positive",
    ]
    audit = engine.query("SELECT COUNT(*) FROM RUN_AUDIT", DEMO_DATABASE, TASK_SCHEMA)
    assert audit == [(3,)]  # the finalizer ran after every nightly run
    published = history(service, "PUBLISH_REPORT")[0]["return_value"]
    assert published.startswith("published ") and "revenue" in published
    assert history(service, "EXPORT_TO_PARTNER") == []  # left suspended: skipped


def test_graph_shapes(seeded) -> None:
    service, _ = seeded
    roots = {t["name"] for t in service.list_tasks(DEMO_DATABASE, TASK_SCHEMA, root_only=True)}
    assert {NIGHTLY_ROOT, FAILING_ROOT, STANDALONE_TASK} <= roots
    nightly = service.fetch_task(DEMO_DATABASE, TASK_SCHEMA, NIGHTLY_ROOT)
    assert nightly["config"]["batch_size"] == 120
    assert nightly["schedule"]["timezone"] == "America/Los_Angeles"
    assert (
        service.fetch_task(DEMO_DATABASE, TASK_SCHEMA, STANDALONE_TASK)["schedule"]["minutes"] == 60
    )
    children = service.dependents(DEMO_DATABASE, TASK_SCHEMA, NIGHTLY_ROOT, recursive=True)
    names = {t["name"] for t in children}
    assert {"CLEAN_ORDERS", "AGGREGATE_DAILY", "PUBLISH_REPORT", "LOAD_CUSTOMERS"} <= names
    assert service.fetch_task(DEMO_DATABASE, TASK_SCHEMA, "EXPORT_TO_PARTNER")["state"] == (
        "suspended"
    )


def test_seeding_again_changes_nothing(seeded) -> None:
    service, _ = seeded
    before = len(service.list_tasks(DEMO_DATABASE, TASK_SCHEMA))
    assert seed_demo(service) == []
    assert len(service.list_tasks(DEMO_DATABASE, TASK_SCHEMA)) == before == len(demo_tasks())


def test_real_clock_executes_each_root_once(tmp_path: Path) -> None:
    service = Service(tmp_path, clock=RealClock())
    try:
        runs = seed_demo(service)
        assert [(r["root_task_name"], r["state"]) for r in runs] == [
            (NIGHTLY_ROOT, "SUCCEEDED"),
            (FAILING_ROOT, "FAILED"),
            (STANDALONE_TASK, "SUCCEEDED"),
        ]
    finally:
        service.close()
