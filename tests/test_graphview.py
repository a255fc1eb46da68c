"""GraphView (anywidget): what is synced to the browser, selection, updates, the static fallback."""

from __future__ import annotations

import json

import pytest
import traitlets

from tasknb.graph import draw_graph, graph_from_tasks, node_id
from tasknb.models import Task
from tasknb.widgets import GraphView

ROWS = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"
SYNCED = {"svg", "details", "states", "title", "selected", "max_height"}


def _teaching() -> list[Task]:
    return [
        Task("TEACH_EXTRACT", "select 1", warehouse="DEMO_WH", config={"batch": 5}),
        Task("TEACH_TRANSFORM", "select 1", predecessors=["TEACH_EXTRACT"], condition=f"{ROWS} > 0"),
        Task("TEACH_ALERT", "select to_number('no new rows')", predecessors=["TEACH_EXTRACT"],
             condition=f"{ROWS} = 0"),
        Task("TEACH_CLEANUP", "select 3", finalize="TEACH_EXTRACT"),
    ]


@pytest.fixture
def view() -> GraphView:
    states = {"TEACH_EXTRACT": "SUCCEEDED", "TEACH_ALERT": "FAILED", "TEACH_TRANSFORM": "SKIPPED"}
    return GraphView.from_graph(graph_from_tasks(_teaching(), states=states))


@pytest.mark.engine
def test_only_what_the_browser_needs_is_synced(view):
    synced = {name for name in view.trait_names(sync=True) if not name.startswith("_")}
    own = synced - set(traitlets.HasTraits.class_trait_names()) - set(
        GraphView.__mro__[1].class_trait_names(sync=True))

    assert own == SYNCED
    json.dumps({name: getattr(view, name) for name in SYNCED})  # plain JSON: no models, no client
    assert view.svg.startswith("<svg") and "<?xml" not in view.svg
    for key in ("TEACH_EXTRACT", "TEACH_TRANSFORM", "TEACH_ALERT", "TEACH_CLEANUP"):
        assert f'id="{node_id(key)}"' in view.svg


@pytest.mark.engine
def test_hover_and_details_carry_the_full_texts_and_the_run_state(view):
    assert view.details["TEACH_ALERT"]["condition"] == f"{ROWS} = 0"
    assert view.details["TEACH_TRANSFORM"]["condition"] == f"{ROWS} > 0"
    assert view.details["TEACH_EXTRACT"]["warehouse"] == "DEMO_WH"
    assert json.loads(view.details["TEACH_EXTRACT"]["config"]) == {"batch": 5}
    assert view.states == {
        "TEACH_EXTRACT": "SUCCEEDED", "TEACH_TRANSFORM": "SKIPPED", "TEACH_ALERT": "FAILED",
        "TEACH_CLEANUP": "NOT_RUN",
    }  # fmt: skip
    assert view.details["TEACH_TRANSFORM"]["state in run"] == "skipped: condition false"


@pytest.mark.engine
def test_selecting_a_task_gives_its_details_and_an_unknown_one_is_refused(view):
    view.selected = "TEACH_ALERT"
    assert view.selected_details["definition"] == "select to_number('no new rows')"

    with pytest.raises(traitlets.TraitError, match="'NOPE' is not a drawn task; drawn tasks are"):
        view.selected = "NOPE"
    assert view.selected == "TEACH_ALERT"  # unchanged by the refusal
    view.selected = ""
    assert view.selected_details == {}


@pytest.mark.engine
def test_show_replaces_what_is_drawn_in_one_update_and_drops_a_vanished_selection(view):
    view.selected = "TEACH_ALERT"
    changes = []
    view.observe(lambda change: changes.append(change["name"]), names=["svg", "details", "states"])
    smaller = graph_from_tasks(_teaching()[:2])

    view.show(smaller.svg(), smaller.details, {"TEACH_EXTRACT": "EXECUTING"})

    assert sorted(changes) == ["details", "states", "svg"]
    assert view.selected == ""  # TEACH_ALERT is no longer drawn
    assert set(view.details) == {"TEACH_EXTRACT", "TEACH_TRANSFORM"}
    view.show(states={"TEACH_EXTRACT": "SUCCEEDED"})  # states alone: the drawing stays
    assert view.states == {"TEACH_EXTRACT": "SUCCEEDED"} and view.svg.startswith("<svg")


@pytest.mark.engine
def test_without_a_widget_frontend_the_view_shows_the_static_drawing(view):
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle

    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["image/svg+xml"].startswith("<svg") and "TEACH_ALERT" in data["image/svg+xml"]


@pytest.mark.engine
def test_draw_graph_interactive_outside_a_kernel_returns_the_static_drawing():
    graph = draw_graph(_teaching(), interactive=True)  # no kernel in pytest

    assert not isinstance(graph, GraphView) and graph.task_names[0] == "TEACH_EXTRACT"
    assert isinstance(graph.interactive(), GraphView)


def test_the_view_ships_its_front_end_as_package_data():
    from pathlib import Path

    import tasknb.widgets._graphview as module

    here = Path(module.__file__).parent
    script = (here / "_graphview.js").read_text()
    assert "export default { render }" in script and (here / "_graphview.css").exists()
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"**/*.js", "**/*.css"' in pyproject  # package data: the view's script and style
