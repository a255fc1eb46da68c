"""Demo data: real tables, three graphs, and history with real failures."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tasknb.local import seed
from tasknb.local.schedule.clock import ManualClock, RealClock
from tasknb.local.seed import (
    DEMO_DATABASE,
    FAILING_ROOT,
    HISTORY,
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


def test_a_week_of_history_ending_at_the_clock(seeded) -> None:
    service, runs = seeded
    counts = Counter((r["root_task_name"], r["state"]) for r in runs)
    assert counts == {
        (NIGHTLY_ROOT, "SUCCEEDED"): 7,  # 02:00 America/Los_Angeles on seven nights
        (FAILING_ROOT, "SUCCEEDED"): 10,  # 06:00 and 18:00 UTC until the source was renamed
        (FAILING_ROOT, "FAILED"): 5,  # the last two days, and a manual rerun
        (STANDALONE_TASK, "SUCCEEDED"): 168,  # every 60 minutes
    }
    assert service.now() == START + HISTORY
    assert runs[-1]["root_task_name"] == FAILING_ROOT
    recent = service.complete_graphs(DEMO_DATABASE, TASK_SCHEMA, FAILING_ROOT)
    assert [r["state"] for r in recent] == ["FAILED"]  # the rerun, inside the 60-minute window


def test_failures_have_real_reasons(seeded) -> None:
    service, runs = seeded
    failed = [r for r in runs if r["state"] == "FAILED"]
    # the two failing tasks run in parallel: whichever fails first is the run's first error
    # (on Snowflake too), so either reason may head a run where both fail
    reasons = {
        ("LOAD_AD_SPEND", 2003,
         "SQL compilation error:\nObject 'DEMO_DB.RAW.AD_SPEND' does not exist or not authorized."),
        ("COMPUTE_CONVERSION", 100051, "Division by zero"),
    }
    firsts = {(r["first_error_task_name"], r["first_error_code"], r["first_error_message"])
              for r in failed}
    assert firsts and firsts <= reasons
    oldest = min(failed, key=lambda r: r["scheduled_time"])  # before the zero sessions
    assert oldest["first_error_task_name"] == "LOAD_AD_SPEND"
    # newest first: the source was renamed two days before the end, the affiliate pixel went
    # down (zero sessions) a day later, so the last four runs also divide by zero
    conversion = "".join(r["state"][0] for r in history(service, "COMPUTE_CONVERSION"))
    assert conversion == "FFFF" + "S" * 11
    assert "".join(r["state"][0] for r in history(service, "LOAD_AD_SPEND")) == "F" * 5 + "S" * 10
    assert {r["error_message"] for r in history(service, "COMPUTE_CONVERSION")} == {
        "Division by zero",
        None,
    }
    funnel = history(service, "BUILD_FUNNEL")  # blocked by its failed predecessors since
    assert len(funnel) == 10 and {r["state"] for r in funnel} == {"SUCCEEDED"}


def test_the_latest_failing_run_fails_in_two_tasks(seeded) -> None:
    service, runs = seeded
    latest = runs[-1]["run_id"]
    failed = {
        (r["name"], r["error_code"])
        for name in ("LOAD_AD_SPEND", "COMPUTE_CONVERSION", "BUILD_FUNNEL")
        for r in history(service, name)
        if r["run_id"] == latest and r["state"] == "FAILED"
    }
    assert failed == {("LOAD_AD_SPEND", 2003), ("COMPUTE_CONVERSION", 100051)}


def test_nightly_graph_really_moves_data(seeded) -> None:
    service, _ = seeded
    engine = service.engine()
    ingest = history(service, NIGHTLY_ROOT)
    assert [r["return_value"] for r in ingest] == ["120"] * 7
    assert engine.query("SELECT COUNT(*) FROM ORDERS_STAGE", DEMO_DATABASE, TASK_SCHEMA) == [(840,)]
    ((clean, rejected),) = engine.query(
        "SELECT (SELECT COUNT(*) FROM ORDERS_CLEAN), (SELECT COUNT(*) FROM ORDERS_REJECTED)",
        DEMO_DATABASE,
        TASK_SCHEMA,
    )
    assert 0 < rejected < clean < 840
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
    assert audit == [(7,)]  # the finalizer ran after every nightly run
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
            (FAILING_ROOT, "FAILED"),  # the source is renamed before the run
            (STANDALONE_TASK, "SUCCEEDED"),
        ]
    finally:
        service.close()


# -- built once: a fresh data dir gets a copy of a cached build, its clock at the present -----


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv(seed.CACHE_ENV, str(path))
    return path


def test_a_fresh_demo_server_ends_at_the_present_and_fails_twice_in_one_run(cache, tmp_path):
    from tasknb.local import start

    before = datetime.now(timezone.utc)
    with start(seed="demo", clock="manual", data_dir=tmp_path / "one") as server:
        assert before <= server.now() <= datetime.now(timezone.utc)  # not days ahead
        # the last hour's runs: the one made at the present, and a scheduled one when the
        # start falls just after a schedule's time (06:00 and 18:00 for this root)
        recent = server.service.complete_graphs(DEMO_DATABASE, TASK_SCHEMA, FAILING_ROOT)
        assert 1 <= len(recent) <= 2
        latest = max(recent, key=lambda run: run["scheduled_time"])
        failed = {
            r["name"]: r["error_code"]
            for name in ("LOAD_AD_SPEND", "COMPUTE_CONVERSION")
            for r in history(server.service, name)
            if r["run_id"] == latest["run_id"] and r["state"] == "FAILED"
        }
        assert failed == {"LOAD_AD_SPEND": 2003, "COMPUTE_CONVERSION": 100051}
        hourly = server.service.task_history(DEMO_DATABASE, TASK_SCHEMA, STANDALONE_TASK, 1000)
        oldest = min(r["scheduled_time"] for r in hourly)
        assert oldest < (before - HISTORY + timedelta(hours=2)).isoformat()  # a week back
    (build,) = cache.glob("demo-*")
    with start(seed="demo", clock="manual", data_dir=tmp_path / "two") as server:
        assert before <= server.now() <= datetime.now(timezone.utc)
        assert len(server.service.list_tasks(DEMO_DATABASE, TASK_SCHEMA)) == len(demo_tasks())
        assert server.advance("1 hour")  # its schedules go on from the present
    assert list(cache.glob("demo-*")) == [build]  # copied, not simulated again


def test_a_build_is_copied_only_into_an_empty_data_dir(cache, tmp_path):
    from tasknb.local import start

    with start(clock="manual", data_dir=tmp_path / "used") as server:
        server.service.ensure_schema("MINE", "PUBLIC")
    assert seed.copy_demo_build(tmp_path / "used") is False
    assert not cache.exists()  # nothing is built for a directory that has its own state


def test_a_stale_build_is_replaced(cache, tmp_path):
    assert seed.copy_demo_build(tmp_path / "first") is True
    (build,) = cache.glob("demo-*")
    prefix, stamp = build.name.rsplit("-", 1)
    stale = build.with_name(f"{prefix}-{int(stamp) - 3 * int(seed.BUILD_MAX_AGE.total_seconds())}")
    build.rename(stale)
    assert seed.copy_demo_build(tmp_path / "second") is True
    builds = list(cache.glob("demo-*"))
    assert len(builds) == 1 and builds[0] != stale  # rebuilt, and the stale one removed


def test_an_unwritable_cache_leaves_the_data_dir_to_seed_in_place(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache would go")
    monkeypatch.setenv(seed.CACHE_ENV, str(blocker / "cache"))
    assert seed.copy_demo_build(tmp_path / "data") is False
    assert not (tmp_path / "data").exists()
