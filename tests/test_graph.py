"""tasknb.graph: DOT text asserted without a layout engine; one test renders with each engine."""

from __future__ import annotations

import ast
import html
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import graphviz
import pytest

from tasknb.dag import GraphModel
from tasknb.graph import (
    MAX_TASKS,
    RenderError,
    TaskGraph,
    draw_dependents,
    draw_graph,
    focus_tasks,
    graph_from_tasks,
    node_id,
    render_svg,
    responsive_svg,
)
from tasknb.graph._big import GROUP_BUDGET
from tasknb.graph._dot import COMPACT_ABOVE, LEGEND_ID, NODE_STYLES, quote
from tasknb.graph._render import ENGINE_ENV, available_engines, find_engine
from tasknb.graph._svg import FIT_WIDTH_PX, svg_size_px
from tasknb.identifiers import display_name, name_key
from tasknb.models import CronSchedule, MinutesSchedule, Task, TaskRun

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
ODD_NAME = '"my ""odd"" task \\ <b>x</b>"'  # a quoted identifier: quotes, backslash, <...>


def _tasks() -> list[Task]:
    return [
        Task(
            "ROOT",
            "select 1",
            schedule=MinutesSchedule(10),
            warehouse="WH_XS",
            state="started",
            task_relations='{"Predecessors":[],"FinalizerTask":"DB.S.CLEANUP"}',
        ),
        Task("EXTRACT", "select 2", predecessors=["ROOT"], state="started"),
        Task("LOAD", "select 3", predecessors=["DB.S.EXTRACT"], state="started"),
        Task("AUDIT", "select 4", predecessors=["ROOT"], state="suspended", condition="n > 0"),
        Task("REPORT", "select 5", predecessors=["LOAD", "AUDIT"], state="started"),
        Task("CLEANUP", "call cleanup()", finalize="ROOT", state="started"),
    ]


def _node_line(source: str, name: str) -> str:
    for line in source.splitlines():
        if line.strip().startswith(f"{quote(name)} ["):
            return line
    raise AssertionError(f"no node line for {name!r} in:\n{source}")


def _failed_run(**overrides) -> TaskRun:
    values = {
        "state": "FAILED",
        "first_error_task_name": "LOAD",
        "first_error_code": 100038,
        "first_error_message": "Numeric value 'abc' is not recognized",
        "query_start_time": T0,
        "completed_time": T0 + timedelta(seconds=40),
        "run_id": 1,
    }
    values.update(overrides)
    return TaskRun("ROOT", **values)


# ------------------------------------------------------------------------------ names


def test_names_match_qualified_quoted_and_case_insensitively():
    assert name_key("db.sch.load") == name_key("LOAD") == name_key('"LOAD"')
    assert name_key('"Load"') != name_key("LOAD")
    assert name_key('DB."a.b".T') == "T"
    assert display_name('DB.S."my ""x"" task"') == 'my "x" task'


def test_graph_model_links_fully_qualified_predecessors_and_the_finalizer():
    model = GraphModel.from_tasks(_tasks())

    assert model.predecessors["LOAD"] == ["EXTRACT"]
    assert model.children["ROOT"] == ["EXTRACT", "AUDIT"]
    assert model.finalizers == {"ROOT": "CLEANUP"}
    assert model.upstream("REPORT") == {"REPORT", "LOAD", "EXTRACT", "AUDIT", "ROOT"}
    assert model.downstream("EXTRACT") == {"EXTRACT", "LOAD", "REPORT", "CLEANUP"}


# ------------------------------------------------------------------------------ DOT text


def test_dot_is_left_to_right_with_every_task_and_edge():
    source = graph_from_tasks(_tasks()).source

    assert "rankdir=LR" in source
    for name in ("ROOT", "EXTRACT", "LOAD", "AUDIT", "REPORT", "CLEANUP"):
        assert _node_line(source, name)
    edges = set(re.findall(r'^\t"(\w+)" -> "(\w+)"', source, flags=re.MULTILINE))
    assert edges == {
        ("ROOT", "EXTRACT"),
        ("EXTRACT", "LOAD"),
        ("ROOT", "AUDIT"),
        ("LOAD", "REPORT"),
        ("AUDIT", "REPORT"),
        ("ROOT", "CLEANUP"),
    }


def test_finalizer_is_drawn_apart_with_a_dashed_edge():
    source = graph_from_tasks(_tasks()).source

    edge = next(line for line in source.splitlines() if '"ROOT" -> "CLEANUP"' in line)
    assert 'style="dashed"' in edge and 'arrowhead="odiamond"' in edge
    assert '{rank=sink; "CLEANUP"}' in source
    assert 'peripheries="2"' in _node_line(source, "CLEANUP")
    assert "finalizer" in _node_line(source, "CLEANUP")


def test_states_are_styled_and_root_shows_schedule_and_warehouse():
    source = graph_from_tasks(_tasks()).source

    audit = _node_line(source, "AUDIT")
    assert 'style="rounded,filled,dashed"' in audit
    assert "when n > 0" in audit
    assert 'fillcolor="#e8f1fb"' in _node_line(source, "EXTRACT")
    root = _node_line(source, "ROOT")
    assert "every 10 MINUTE" in root and "wh: WH_XS" in root
    cron = graph_from_tasks([Task("C", "x", schedule=CronSchedule("0 2 * * *", "UTC"))]).source
    assert "cron 0 2 * * * UTC" in _node_line(cron, "C")
    assert "serverless" in _node_line(cron, "C")


def test_latest_failed_run_marks_failing_task_blocked_and_earlier_tasks():
    source = graph_from_tasks(_tasks(), runs=[_failed_run()]).source

    load = _node_line(source, "LOAD")
    assert 'fillcolor="#fde2e1"' in load and 'color="#c53030"' in load
    assert "error 100038: Numeric value 'abc' is not recognized" in load  # tooltip, untruncated
    report = _node_line(source, "REPORT")
    assert 'fillcolor="#eeeeee"' in report and "not run" in report
    assert 'color="#2f855a"' in _node_line(source, "EXTRACT")  # ran before the failure
    root = _node_line(source, "ROOT")
    assert 'color="#c53030"' in root and "last run: FAILED" in root
    assert "#eeeeee" not in _node_line(source, "CLEANUP")  # the finalizer always runs
    assert "#eeeeee" not in _node_line(source, "AUDIT")  # another branch: nothing claimed
    blocked = next(line for line in source.splitlines() if '"LOAD" -> "REPORT"' in line)
    assert 'style="dotted"' in blocked


def test_no_success_is_claimed_for_suspended_tasks_or_before_a_failing_finalizer():
    tasks = _tasks()
    tasks[1].state = "suspended"  # EXTRACT: skipped "as though it succeeded"
    source = graph_from_tasks(tasks, runs=[_failed_run()]).source
    assert "#2f855a" not in _node_line(source, "EXTRACT")
    assert "ran before the failing task" not in _node_line(source, "EXTRACT")

    finalizer_failed = graph_from_tasks(_tasks(), runs=[_failed_run(first_error_task_name="CLEANUP")])
    assert 'fillcolor="#fde2e1"' in _node_line(finalizer_failed.source, "CLEANUP")
    for name in ("EXTRACT", "LOAD", "AUDIT", "REPORT"):
        line = _node_line(finalizer_failed.source, name)
        assert "#2f855a" not in line and "#eeeeee" not in line, name


def test_executing_run_wins_and_scheduled_runs_are_ignored():
    runs = [
        _failed_run(completed_time=T0),
        TaskRun("ROOT", state="EXECUTING", query_start_time=T0 + timedelta(minutes=10)),
        TaskRun("ROOT", state="SCHEDULED", scheduled_time=T0 + timedelta(minutes=20)),
    ]
    graph = graph_from_tasks(_tasks(), runs=runs)

    assert graph.latest_runs["ROOT"].state == "EXECUTING"
    assert 'color="#d69e2e"' in _node_line(graph.source, "ROOT")
    assert "#fde2e1" not in graph.source.split("subgraph cluster_legend")[0]


def test_latest_complete_run_is_the_most_recent_one():
    older = _failed_run(completed_time=T0)
    newer = TaskRun("ROOT", state="SUCCEEDED", completed_time=T0 + timedelta(hours=1))
    graph = graph_from_tasks(_tasks(), runs=[newer, older])

    assert graph.latest_runs["ROOT"] is newer
    assert 'color="#2f855a"' in _node_line(graph.source, "ROOT")
    assert "#fde2e1" not in _node_line(graph.source, "LOAD")


def test_odd_names_are_escaped_in_dot():
    tasks = [
        Task("ROOT", "select '\\d+'"),
        Task(ODD_NAME, "select 2", predecessors=["ROOT"], condition='a = "x"'),
        Task("ÜBER_Ä", "select 3", predecessors=[ODD_NAME]),
    ]
    source = graph_from_tasks(tasks).source

    assert quote('my "odd" task \\ <b>x</b>') == '"my \\"odd\\" task \\\\ <b>x</b>"'
    assert '"my \\"odd\\" task \\\\ <b>x</b>" -> "ÜBER_Ä"' in source
    assert "select '\\\\d+'" in _node_line(source, "ROOT")  # backslash stays literal
    assert 'when a = \\"x\\"' in source


def test_focus_keeps_upstream_downstream_or_both():
    upstream = graph_from_tasks(_tasks(), focus="LOAD", direction="upstream")
    downstream = graph_from_tasks(_tasks(), focus="load", direction="downstream")
    both = graph_from_tasks(_tasks(), focus="LOAD")

    assert upstream.task_names == ["ROOT", "EXTRACT", "LOAD"]
    assert downstream.task_names == ["LOAD", "REPORT", "CLEANUP"]
    assert both.task_names == ["ROOT", "EXTRACT", "LOAD", "REPORT", "CLEANUP"]
    assert 'penwidth="3.5"' in _node_line(both.source, "LOAD")
    assert '"ROOT" -> "AUDIT"' not in both.source


def test_focus_and_direction_errors_say_what_to_do():
    with pytest.raises(ValueError, match="focus task 'NOPE' is not in this graph.*ROOT"):
        graph_from_tasks(_tasks(), focus="NOPE")
    with pytest.raises(ValueError, match="direction must be one of upstream, downstream, both"):
        graph_from_tasks(_tasks(), focus="LOAD", direction="sideways")


def test_legend_is_a_cluster_that_explains_what_is_drawn_and_can_be_hidden():
    plain = graph_from_tasks(_tasks()[1:5]).source  # no finalizer, no run
    with_run = graph_from_tasks(_tasks(), runs=[_failed_run()]).source
    hidden = graph_from_tasks(_tasks(), show_legend=False).source

    assert "subgraph cluster_legend" in plain and LEGEND_ID in plain
    assert "task suspended" in plain
    assert "finalizer" not in plain and "first failing task" not in plain
    for row in ("first failing task", "not run: after the failure", "root: latest run failed"):
        assert row in with_run
    assert "finalizer link (dashed)" in with_run
    assert "latest run executing" not in with_run
    assert "cluster_legend" not in hidden


def test_big_graphs_use_compact_labels_and_cycles_still_draw():
    tasks = [Task("R", "x", schedule=MinutesSchedule(5))]
    tasks += [Task(f"T{i}", "x", predecessors=["R"]) for i in range(COMPACT_ABOVE)]
    compact = _node_line(graph_from_tasks(tasks, max_tasks=None).source, "R")
    assert 'label="R"' in compact and "schedule: 5 MINUTE" in compact  # details in tooltip

    cycle = [Task("A", "x", predecessors=["B"]), Task("B", "x", predecessors=["A"])]
    assert '"A" -> "B"' in graph_from_tasks(cycle).source


def test_title_and_digraph_type():
    graph = graph_from_tasks(_tasks(), title='Graph "nightly"')

    assert isinstance(graph, graphviz.Digraph) and isinstance(graph, TaskGraph)
    assert 'label="Graph \\"nightly\\""' in graph.source
    assert isinstance(graph.copy(), TaskGraph)


# ------------------------------------------------------------------------------ with a client


class FakeClient:
    def __init__(self, tasks, runs=(), fail_runs=False):
        self.tasks = tasks
        self.runs = list(runs)
        self.fail_runs = fail_runs
        self.calls = []

    def fetch_task_dependents(self, name, **kwargs):
        self.calls.append(("fetch_task_dependents", name, kwargs))
        start = next(i for i, t in enumerate(self.tasks) if name_key(t.name) == name_key(name))
        return self.tasks[start:]

    def get_current_graphs(self, name, **kwargs):
        self.calls.append(("get_current_graphs", name, kwargs))
        if self.fail_runs:
            raise RuntimeError("No active warehouse selected in the current session.\nmore")
        return [r for r in self.runs if r.state in ("SCHEDULED", "EXECUTING")]

    def get_complete_graphs(self, name, **kwargs):
        self.calls.append(("get_complete_graphs", name, kwargs))
        return [r for r in self.runs if r.state not in ("SCHEDULED", "EXECUTING")]


def test_draw_graph_fetches_dependents_and_runs_of_a_root():
    client = FakeClient(_tasks(), runs=[_failed_run()])

    graph = draw_graph(client, "ROOT", schema="S")

    assert client.calls[0] == ("fetch_task_dependents", "ROOT", {"recursive": True, "schema": "S"})
    assert ("get_complete_graphs", "ROOT", {"result_limit": 10, "error_only": False, "schema": "S"}) in (
        client.calls
    )
    assert 'fillcolor="#fde2e1"' in _node_line(graph.source, "LOAD")
    assert "Task graph of ROOT" in graph.source


def test_draw_graph_with_given_runs_or_none_makes_no_run_requests():
    client = FakeClient(_tasks())

    draw_graph(client, Task("ROOT", "x", database_name="DB", schema_name="S"), runs=[])

    assert [c[0] for c in client.calls] == ["fetch_task_dependents"]
    assert client.calls[0][2] == {"recursive": True, "database": "DB", "schema": "S"}


def test_draw_graph_notes_unavailable_runs_and_still_draws():
    graph = draw_graph(FakeClient(_tasks(), fail_runs=True), "ROOT")

    assert graph.notes == [
        ("graph runs unavailable (RuntimeError: No active warehouse selected in the current "
        "session.)")
    ]
    assert "graph runs unavailable" in graph.source
    assert len(graph.task_names) == 6


def test_draw_dependents_of_a_child_fetches_no_runs():
    client = FakeClient(_tasks())

    graph = draw_dependents(client, "LOAD", recursive=False)

    assert client.calls == [("fetch_task_dependents", "LOAD", {"recursive": False})]
    assert graph.task_names == ["LOAD", "AUDIT", "REPORT", "CLEANUP"]


def test_draw_graph_from_models_and_argument_errors():
    assert draw_graph(_tasks(), focus="AUDIT", direction="upstream").task_names == [
        "ROOT",
        "AUDIT",
    ]
    with pytest.raises(TypeError, match="name the root task"):
        draw_graph(FakeClient(_tasks()))
    with pytest.raises(TypeError, match="a client and a task name"):
        draw_graph("ROOT")


# ------------------------------------------------------------------------------ rendering


def test_notebook_display_without_a_working_engine_is_one_readable_line(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "/nonexistent/dot")

    bundle = graph_from_tasks(_tasks())._repr_mimebundle_()

    assert list(bundle) == ["text/plain"]
    assert bundle["text/plain"].startswith("tasknb could not draw this graph: layout engine")
    assert "\n" not in bundle["text/plain"]
    with pytest.raises(RenderError, match="pip install graphviz-pure"):
        find_engine()


def test_a_failing_engine_is_reported_with_its_exit_status():
    failing = shutil.which("false")
    assert failing, "coreutils `false` is part of every CI image"

    with pytest.raises(RenderError, match=r"failed to lay out the graph \(exit 1\)"):
        render_svg("digraph { a -> b }", engine=failing)


@pytest.mark.engine
def test_svg_renders_with_each_available_engine():
    engines = available_engines()
    assert "graphviz-pure" in engines, "the graphviz-pure wheel is a runtime dependency"
    tasks = _tasks() + [Task(ODD_NAME, "select 9", predecessors=["ROOT"], state="suspended")]
    graph = graph_from_tasks(tasks, runs=[_failed_run()], title="Task graph of ROOT")

    for name in engines:
        svg = render_svg(graph, engine=name)
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, name
        assert "<title>ROOT</title>" in svg, name
        assert html.escape('my "odd" task \\ <b>x</b>', quote=True) in svg, name
        assert "Numeric value" in svg, name  # the error made it into label/tooltip
    assert find_engine()[0] == next(iter(engines))
    bundle = graph._repr_mimebundle_()
    assert bundle["image/svg+xml"].count("<svg") == 1


def test_graph_modules_keep_their_import_boundaries():
    allowed = {
        "graph/__init__.py": {"graphviz", "tasknb"},
        "graph/_dot.py": {"tasknb"},
        "graph/_render.py": {"tasknb"},
        "graph/_states.py": {"tasknb"},
        "graph/_big.py": {"tasknb"},
        "graph/_details.py": {"tasknb"},
        "graph/_svg.py": set(),
        "texts.py": set(),
        "dag.py": {"tasknb"},
        "runs.py": {"tasknb"},
        "durations.py": set(),
    }
    tasknb_allowed = {"tasknb.models", "tasknb.dag", "tasknb.graph._dot"}
    tasknb_allowed |= {"tasknb.graph._render", "tasknb.errors", "tasknb.identifiers", "tasknb.runs"}
    tasknb_allowed |= {"tasknb.durations", "tasknb.texts", "tasknb._extras"}
    tasknb_allowed |= {f"tasknb.graph.{name}" for name in ("_states", "_big", "_details", "_svg")}
    tasknb_allowed |= {"tasknb.widgets._graphview"}  # only inside TaskGraph.interactive()
    package = Path(__file__).resolve().parents[1] / "tasknb"
    for filename, third_party in allowed.items():
        tree = ast.parse((package / filename).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for module in names:
                top = module.split(".")[0]
                if top == "tasknb":
                    assert module in tasknb_allowed, (filename, module)
                elif top not in third_party:
                    assert top in _stdlib(), (filename, module)


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names) | {"__future__"}


# ------------------------------------------------------------------------------ per-task states


@dataclass
class HistoryRow:
    """Shaped like models.TaskHistoryRow (what client.task_history returns): duck-typed."""

    name: str
    state: str
    run_id: int = 1764640800000
    attempt_number: int = 1
    scheduled_time: datetime | None = T0
    query_start_time: datetime | None = None
    completed_time: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None


class HistoryClient(FakeClient):
    def __init__(self, tasks, rows, **kwargs):
        super().__init__(tasks, **kwargs)
        self.rows = rows

    def task_history(self, name, *, run=None, result_limit=None, **kwargs):
        self.calls.append(("task_history", name, {"run": run, "result_limit": result_limit,
                                                  **kwargs}))
        if isinstance(self.rows, Exception):
            raise self.rows
        wanted = getattr(run, "run_id", run)  # a run id or a TaskRun, as the client takes
        rows = [row for row in self.rows if run is None or row.run_id == wanted]
        return rows[:result_limit] if result_limit else rows


def _fill(source: str, name: str) -> str:
    return re.search(r'fillcolor="([^"]+)"', _node_line(source, name)).group(1)


def test_every_task_is_coloured_by_its_own_state_in_the_run():
    states = {
        "ROOT": "SUCCEEDED", "EXTRACT": "SUCCEEDED", "LOAD": "FAILED",
        "AUDIT": "SKIPPED", "CLEANUP": "EXECUTING",
    }  # fmt: skip  (REPORT has no row: it did not run)
    source = graph_from_tasks(_tasks(), states=states).source
    fills = {name: _fill(source, name) for name in ("ROOT", "EXTRACT", "LOAD", "AUDIT", "REPORT")}

    assert fills["ROOT"] == fills["EXTRACT"] == NODE_STYLES["task_succeeded"]["fillcolor"]
    assert fills["LOAD"] == NODE_STYLES["failed"]["fillcolor"]
    assert fills["AUDIT"] == NODE_STYLES["skipped"]["fillcolor"]
    assert fills["REPORT"] == NODE_STYLES["not_run"]["fillcolor"]
    assert len(set(fills.values())) == 4
    assert "skipped: condition false" in _node_line(source, "AUDIT")  # in words too
    assert "not run" in _node_line(source, "REPORT")
    assert "dashed" in _node_line(source, "AUDIT")  # still visibly suspended
    for row in ("succeeded in this run", "failed in this run", "skipped: its condition was false",
                "not run (after a failure", "executing now"):
        assert row in source
    assert "first failing task of the latest run" not in source  # the inferred rows give way


def test_states_from_history_rows_take_the_latest_attempt_errors_and_durations():
    rows = [
        HistoryRow("DB.S.ROOT", "SUCCEEDED", query_start_time=T0,
                   completed_time=T0 + timedelta(seconds=2)),
        HistoryRow("LOAD", "FAILED", error_code="002003", error_message="Table 'X' does not exist"),
        HistoryRow("LOAD", "SUCCEEDED", attempt_number=2, query_start_time=T0,
                   completed_time=T0 + timedelta(milliseconds=35)),
        HistoryRow("AUDIT", "FAILED_AND_AUTO_SUSPENDED", error_code="100051",
                   error_message="Division by zero"),
    ]
    graph = graph_from_tasks(_tasks(), states=rows)

    assert graph.run.states == {"ROOT": "SUCCEEDED", "LOAD": "SUCCEEDED", "AUDIT": "FAILED"}
    assert "succeeded in 35 ms (attempt 2)" in _node_line(graph.source, "LOAD")
    assert "error 100051: Division by zero" in _node_line(graph.source, "AUDIT")
    assert "succeeded in 2" in _node_line(graph.source, "ROOT")
    assert graph.details["AUDIT"]["error"] == "error 100051: Division by zero"
    assert graph.details["REPORT"]["state"] == "NOT_RUN"


def test_an_unknown_state_is_refused_with_the_states_that_exist():
    with pytest.raises(ValueError, match="unknown task state 'DONE': expected one of FAILED"):
        graph_from_tasks(_tasks(), states={"ROOT": "DONE"})


def test_draw_graph_reads_the_run_through_task_history_and_names_it_in_the_title():
    rows = [HistoryRow("ROOT", "SUCCEEDED"), HistoryRow("EXTRACT", "SUCCEEDED"),
            HistoryRow("LOAD", "FAILED", error_code="002003", error_message="no table")]
    client = HistoryClient(_tasks(), rows, runs=[_failed_run(run_id=1764640800000)])

    graph = draw_graph(client, "ROOT", run=1764640800000, schema="S")

    assert ("task_history", "ROOT", {"run": 1764640800000, "result_limit": None, "schema": "S"}) in (
        client.calls)
    title = "ROOT: run 1764640800000, scheduled 2026-03-01 02:00:00 UTC, FAILED"
    assert f'label="{title}"' in graph.source
    assert _fill(graph.source, "REPORT") == NODE_STYLES["not_run"]["fillcolor"]
    assert "error 002003: no table" in _node_line(graph.source, "LOAD")

    older = [HistoryRow("ROOT", "SUCCEEDED", run_id=5, scheduled_time=T0 - timedelta(days=1))]
    newest_by_rest = HistoryClient(_tasks(), rows + older, runs=[
        _failed_run(run_id=1764640800000),
        TaskRun("ROOT", state="SCHEDULED", run_id=1764727200000,  # the next run: not started
                scheduled_time=T0 + timedelta(days=1)),
    ])
    latest = draw_graph(newest_by_rest, "ROOT")  # the default: the latest run that started
    assert latest.run.run_id == 1764640800000 and latest.run.state_of("LOAD") == "FAILED"
    assert [c[2]["run"] for c in newest_by_rest.calls if c[0] == "task_history"] == [1764640800000]

    no_rest = HistoryClient(_tasks(), older + rows, runs=[])  # REST's window is empty
    latest = draw_graph(no_rest, "ROOT")
    assert latest.run.run_id == 1764640800000  # the newest row's run, then all of that run
    assert [c[2]["run"] for c in no_rest.calls if c[0] == "task_history"] == [None, 1764640800000]

    picked = draw_graph(HistoryClient(_tasks(), older), "ROOT", run=_failed_run(run_id=5))
    assert picked.run.run_id == 5 and picked.run.state_of("LOAD") == "NOT_RUN"
    with pytest.raises(ValueError, match='run must be a run id .an integer., "latest"'):
        draw_graph(client, "ROOT", run="lastest")
    with pytest.raises(TypeError, match="got 1.5"):
        draw_graph(client, "ROOT", run=1.5)


def test_draw_graph_without_per_task_states_still_draws_and_says_why():
    failing = HistoryClient(_tasks(), RuntimeError("No active warehouse selected."),
                            runs=[_failed_run()])
    graph = draw_graph(failing, "ROOT")

    assert graph.run is None
    assert graph.notes == [
        ("per-task states unavailable (RuntimeError: No active warehouse selected.): colours "
        "inferred from the graph runs")
    ]
    assert _fill(graph.source, "LOAD") == NODE_STYLES["failed"]["fillcolor"]  # REST inference

    empty = draw_graph(HistoryClient(_tasks(), []), "ROOT")
    assert empty.run is None and "no graph run yet in the task history" in empty.notes[0]

    rest_only = HistoryClient(_tasks(), [HistoryRow("ROOT", "SUCCEEDED")])
    draw_graph(rest_only, "ROOT", run=None)
    assert "task_history" not in [call[0] for call in rest_only.calls]


# ------------------------------------------------------------------------------ fitting, texts


def _nightly_elt() -> list[Task]:
    """The demo's NIGHTLY_ELT graph, as tasknb.local.seed builds it (7 tasks)."""
    return [
        Task("NIGHTLY_ELT", "insert into raw.orders select 1", warehouse="DEMO_WH",
             schedule=CronSchedule("0 2 * * *", "America/Los_Angeles"), state="started",
             task_relations='{"Predecessors":[],"FinalizerTask":"DEMO_DB.PIPELINES.NIGHTLY_FINALIZER"}'),
        Task("LOAD_CUSTOMERS", "create or replace table d as select 1", predecessors=["NIGHTLY_ELT"],
             state="started"),
        Task("CLEAN_ORDERS", "insert into clean select 2", predecessors=["NIGHTLY_ELT"],
             condition="SYSTEM$GET_PREDECESSOR_RETURN_VALUE('NIGHTLY_ELT')::INT > 0", state="started"),
        Task("AGGREGATE_DAILY", "insert into agg select 3",
             predecessors=["CLEAN_ORDERS", "LOAD_CUSTOMERS"], state="started"),
        Task("PUBLISH_REPORT", "select 4", predecessors=["AGGREGATE_DAILY"], state="started"),
        Task("EXPORT_TO_PARTNER", "select 5", predecessors=["PUBLISH_REPORT"], state="suspended"),
        Task("NIGHTLY_FINALIZER", "insert into audit select 6", finalize="NIGHTLY_ELT",
             state="started"),
    ]


def test_a_deep_narrow_graph_is_drawn_top_to_bottom_and_a_shallow_one_left_to_right():
    assert "rankdir=TB" in graph_from_tasks(_nightly_elt()).source
    shallow = [Task("R", "x")] + [Task(f"C{i}", "x", predecessors=["R"]) for i in range(3)]
    assert "rankdir=LR" in graph_from_tasks(shallow).source
    assert "rankdir=LR" in graph_from_tasks(_nightly_elt(), rankdir="LR").source
    with pytest.raises(ValueError, match="rankdir must be LR, TB"):
        graph_from_tasks(shallow, rankdir="UP")


def test_wide_svg_becomes_responsive_and_a_small_one_keeps_its_size():
    wide = '<?xml version="1.0"?>\n<svg width="1200pt" height="300pt"\n viewBox="0.00 0.00 1200.00 300.00" xmlns="http://www.w3.org/2000/svg"><g/></svg>'
    fitted = responsive_svg(wide)

    assert 'width="100%"' in fitted and "max-width: 1600px" in fitted
    assert 'viewBox="0.00 0.00 1200.00 300.00"' in fitted and 'height="300pt"' not in fitted
    assert fitted.endswith("<g/></svg>") and fitted.startswith('<?xml version="1.0"?>')
    small = '<svg width="300pt" height="100pt" viewBox="0 0 300 100"></svg>'
    assert responsive_svg(small) == small


@pytest.mark.engine
def test_nightly_elt_fits_a_jupyterlab_output_at_its_natural_size():
    graph = graph_from_tasks(_nightly_elt(), runs=[])
    width, _ = svg_size_px(graph.svg())

    assert width <= 1_000  # a JupyterLab output at 1440x900: shown at about its natural size
    assert graph._repr_mimebundle_()["image/svg+xml"].count("<svg") == 1
    wide = graph_from_tasks(_nightly_elt(), rankdir="LR")
    assert svg_size_px(wide.svg())[0] > FIT_WIDTH_PX  # what it was: 1,500+ px
    assert 'width="100%"' in wide._repr_mimebundle_()["image/svg+xml"]


def test_the_two_teaching_conditions_read_differently_in_labels_and_fully_in_tooltips():
    rows = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"
    tasks = [
        Task("TEACH_EXTRACT", "select 1"),
        Task("TEACH_TRANSFORM", "select 1", predecessors=["TEACH_EXTRACT"], condition=f"{rows} > 0"),
        Task("TEACH_ALERT", "select 2", predecessors=["TEACH_EXTRACT"], condition=f"{rows} = 0"),
    ]
    graph = graph_from_tasks(tasks)
    labels = {
        name: re.search(r'label="([^"]*)"', _node_line(graph.source, name)).group(1)
        for name in ("TEACH_TRANSFORM", "TEACH_ALERT")
    }

    assert labels["TEACH_TRANSFORM"].endswith("::INT > 0")
    assert labels["TEACH_ALERT"].endswith("::INT = 0")
    assert f"when: {rows} = 0" in _node_line(graph.source, "TEACH_ALERT")  # tooltip: in full
    assert graph.details["TEACH_ALERT"]["condition"] == f"{rows} = 0"
    assert graph.details["TEACH_TRANSFORM"]["condition"] == f"{rows} > 0"


def test_long_definitions_keep_their_end_in_tooltips_and_in_full_in_details():
    definition = "insert into marts.daily select " + ", ".join(f"c{i}" for i in range(2000))
    graph = graph_from_tasks([Task("R", definition)])

    assert graph.details["R"]["definition"] == definition
    assert "c1999" in _node_line(graph.source, "R")  # the tooltip keeps the end


def test_every_task_node_carries_an_id_the_interactive_view_can_read():
    graph = graph_from_tasks(_tasks() + [Task(ODD_NAME, "x", predecessors=["ROOT"])])
    for key, entry in graph.details.items():
        assert f'id="{node_id(key)}"' in graph.source
        assert bytes.fromhex(entry["node_id"][len("tasknb_task_"):]).decode() == key


# ------------------------------------------------------------------------------ big graphs


def _layered(count: int, width: int = 25, prefix: str = "TASK_") -> list[Task]:
    tasks = [Task("ROOT", "select 1", schedule=MinutesSchedule(60), state="started")]
    layer, made = ["ROOT"], 1
    while made < count - 1:
        nxt = []
        for _ in range(min(width, count - 1 - made)):
            name = f"{prefix}{made:04d}"
            tasks.append(Task(name, "select 1", predecessors=layer[:2], state="started"))
            nxt.append(name)
            made += 1
        layer = nxt
    tasks.append(Task("CLEANUP", "select 1", finalize="ROOT", state="started"))
    return tasks


def test_three_thousand_tasks_collapse_into_groups_with_a_line_saying_how_to_see_the_rest():
    tasks = _layered(3000)
    states = {t.name: "SUCCEEDED" for t in tasks}
    states["TASK_1234"] = "FAILED"
    graph = graph_from_tasks(tasks, states=states)
    nodes = [line for line in graph.source.splitlines() if re.match(r'\t"[^"]+" \[', line)]
    groups = [line for line in nodes if "tasknb_group_" in line]

    assert 10 <= len(groups) <= GROUP_BUDGET
    assert len(nodes) <= GROUP_BUDGET + 10
    for alone in ("ROOT", "CLEANUP", "TASK_1234"):  # roots, finalizers, failures by themselves
        assert f'id="{node_id(alone)}"' in graph.source
    assert "3,000 tasks drawn as" in graph.notes[0] and "max_tasks=None" in graph.notes[0]
    assert "focus=" in graph.source  # the line is in the drawing too
    grouped = sum(int(m) for m in re.findall(r'\\n([0-9,]+) tasks', graph.source.replace(",", "")))
    assert grouped == 3000 - 3
    assert len(graph.task_names) == 3000


def test_expand_draws_one_prefix_by_itself_and_refuses_what_matches_nothing():
    tasks = _layered(400)
    graph = graph_from_tasks(tasks, expand="TASK_01")

    assert all(f'id="{node_id(f"TASK_01{i:02d}")}"' in graph.source for i in range(100))
    with pytest.raises(ValueError, match="no drawn task's name starts with it"):
        graph_from_tasks(tasks, expand="NOPE_")
    with pytest.raises(ValueError, match="matches 398 tasks, more than max_tasks=150"):
        graph_from_tasks(tasks, expand="TASK_")


def test_tasks_from_several_schemas_group_by_schema_first():
    tasks = [Task("DB.RAW.ROOT", "x", schedule=MinutesSchedule(5))]
    tasks += [Task(f"DB.RAW.LOAD_{i}", "x", predecessors=["DB.RAW.ROOT"]) for i in range(100)]
    tasks += [Task(f"DB.MARTS.BUILD_{i}", "x", predecessors=[f"DB.RAW.LOAD_{i}"]) for i in range(100)]
    graph = graph_from_tasks(tasks)

    labels = re.findall(r'label="([A-Z]+\.[A-Z_0-9]+)…', graph.source)
    assert {label.split("_")[0] for label in labels} == {"RAW.LOAD", "MARTS.BUILD"}
    assert "groups by schema and name prefix" in graph.notes[0]


def test_focus_on_a_deep_chain_draws_its_neighbourhood_and_says_what_was_left_out():
    chain = [Task("T0", "x")] + [Task(f"T{i}", "x", predecessors=[f"T{i - 1}"]) for i in range(1, 1000)]
    near = focus_tasks(chain, "T500")

    assert len(near.keys) <= MAX_TASKS and "T500" in near.keys
    assert near.upstream_left + near.downstream_left + len(near.keys) == 1000
    assert near.note.startswith("showing T500 and ") and "further upstream" in near.note
    graph = draw_graph(chain, focus="T500")
    assert near.note in graph.notes
    assert "more before" in graph.source and "more after" in graph.source  # the cut ends
    two = focus_tasks(chain, "db.sch.t500", steps=2)
    assert two.keys == ["T498", "T499", "T500", "T501", "T502"]
    with pytest.raises(ValueError, match="steps must be a whole number"):
        focus_tasks(chain, "T500", steps=-1)


def test_an_svg_over_the_notebook_limit_is_not_written_unless_asked(monkeypatch):
    import tasknb.graph as graph_module

    monkeypatch.setattr(graph_module, "MAX_SVG_BYTES", 2_000)
    graph = graph_from_tasks(_tasks())
    bundle = graph._repr_mimebundle_()

    assert list(bundle) == ["text/plain"]
    assert "tasknb did not draw this graph" in bundle["text/plain"]
    assert "max_tasks=None" in bundle["text/plain"]
    asked = graph_from_tasks(_tasks(), max_tasks=None)._repr_mimebundle_()
    assert "image/svg+xml" in asked
