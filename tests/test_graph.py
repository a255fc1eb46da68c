"""tasknb.graph: DOT text asserted without a layout engine; one test renders with each engine."""

from __future__ import annotations

import ast
import html
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import graphviz
import pytest

from tasknb.dag import GraphModel
from tasknb.graph import (
    RenderError,
    TaskGraph,
    draw_dependents,
    draw_graph,
    graph_from_tasks,
    render_svg,
)
from tasknb.graph._dot import COMPACT_ABOVE, LEGEND_ID, quote
from tasknb.graph._render import ENGINE_ENV, available_engines, find_engine
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
    compact = _node_line(graph_from_tasks(tasks).source, "R")
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
        "dag.py": {"tasknb"},
        "runs.py": {"tasknb"},
        "durations.py": set(),
    }
    tasknb_allowed = {"tasknb.models", "tasknb.dag", "tasknb.graph._dot"}
    tasknb_allowed |= {"tasknb.graph._render", "tasknb.errors", "tasknb.identifiers", "tasknb.runs"}
    tasknb_allowed |= {"tasknb.durations"}
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
