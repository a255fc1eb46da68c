"""draw_graph against the local server over real HTTP: per-task states of real demo runs."""

from __future__ import annotations

import re

import pytest

from tasknb.graph import draw_graph, node_id
from tasknb.graph._dot import NODE_STYLES
from tasknb.graph._svg import svg_size_px
from tasknb.testing import local_client, local_server

DEMO_DB, PIPELINES = "DEMO_DB", "PIPELINES"
NIGHTLY = ["NIGHTLY_ELT", "LOAD_CUSTOMERS", "CLEAN_ORDERS", "AGGREGATE_DAILY", "PUBLISH_REPORT",
           "EXPORT_TO_PARTNER", "NIGHTLY_FINALIZER"]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    with local_server(seed="demo", clock="manual", data_dir=tmp_path_factory.mktemp("demo")) as server:
        yield server


@pytest.fixture(scope="module")
def demo_client(demo_server):
    with local_client(demo_server, database=DEMO_DB, schema=PIPELINES) as client:
        yield client


def _fill(source: str, key: str) -> str:
    line = next(line for line in source.splitlines() if f'id="{node_id(key)}"' in line)
    return re.search(r'fillcolor="([^"]+)"', line).group(1)


def test_the_failing_demo_graph_shows_both_failures_of_its_latest_run(demo_client):
    graph = draw_graph(demo_client, "MARKETING_METRICS")
    history = demo_client.task_history("MARKETING_METRICS", run=graph.run.run_id)
    failed = {row.name for row in history if row.failed}

    assert graph.notes == []
    assert failed == {"LOAD_AD_SPEND", "COMPUTE_CONVERSION"}  # two failures in one run
    for key in failed:
        assert _fill(graph.source, key) == NODE_STYLES["failed"]["fillcolor"]
        assert "error " in graph.details[key]["error"]
    assert graph.run.state_of("BUILD_FUNNEL") == "NOT_RUN"
    assert _fill(graph.source, "BUILD_FUNNEL") == NODE_STYLES["not_run"]["fillcolor"]
    title = re.search(r'\tlabel="([^"]*)"', graph.source).group(1)
    assert re.fullmatch(rf"MARKETING_METRICS: run {graph.run.run_id}, scheduled "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, FAILED", title), title


def test_nightly_elt_every_task_coloured_and_the_drawing_fits(demo_client):
    graph = draw_graph(demo_client, "NIGHTLY_ELT")

    assert sorted(name.split(".")[-1] for name in graph.task_names) == sorted(NIGHTLY)
    assert graph.run is not None and graph.run.run_id is not None
    styles = {key: _fill(graph.source, key) for key in NIGHTLY}
    succeeded = NODE_STYLES["task_succeeded"]["fillcolor"]
    assert styles["NIGHTLY_ELT"] == styles["AGGREGATE_DAILY"] == succeeded
    assert styles["EXPORT_TO_PARTNER"] == NODE_STYLES["not_run"]["fillcolor"]  # suspended
    assert "not run: suspended" in graph.source  # why, in words
    assert all(style != NODE_STYLES["started"]["fillcolor"] for style in styles.values())
    width, _ = svg_size_px(graph.svg())
    assert width <= 1_000  # a JupyterLab output at 1440x900


def test_an_older_run_and_the_rest_tier_on_request(demo_client):
    run_ids = {row.run_id for row in demo_client.task_history("NIGHTLY_ELT")}
    oldest = min(run_ids)
    assert len(run_ids) > 1  # a week of nightly runs

    graph = draw_graph(demo_client, "NIGHTLY_ELT", run=oldest)
    assert graph.run.run_id == oldest
    assert f"NIGHTLY_ELT: run {oldest}, scheduled " in graph.source
    rest = draw_graph(demo_client, "NIGHTLY_ELT", run=None)
    assert rest.run is None and "Task graph of NIGHTLY_ELT" in rest.source


def test_a_qualified_root_from_another_schema_is_drawn_with_its_states(demo_server):
    with local_client(demo_server, database="OTHER_DB", schema="PUBLIC") as other:
        graph = draw_graph(other, "DEMO_DB.PIPELINES.MARKETING_METRICS")

    assert graph.notes == []
    assert graph.run is not None and graph.run.state_of("LOAD_AD_SPEND") == "FAILED"
    assert "MARKETING_METRICS: run " in graph.source
