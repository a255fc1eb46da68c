"""Task graphs drawn with Graphviz: state colours, the latest run, the finalizer, a legend.

    >>> from tasknb.models import Task
    >>> graph_from_tasks([Task("ROOT", "select 1"), Task("CHILD", "select 2", predecessors=["ROOT"])]).source.count("->")
    1

``draw_graph(client, "ROOT")`` fetches the root's dependents (and its recent graph runs) and
returns a ``TaskGraph``: a ``graphviz.Digraph`` that displays itself as SVG in JupyterLab,
classic Notebook and VS Code. Layout happens only at display (or ``render_svg``), with the
system ``dot`` when it is on PATH and otherwise the ``graphviz-pure`` wheel's binary, so a
fresh machine without Graphviz still draws. Building the DOT text needs no layout engine.

Tier: REST only. Graph runs are graph-level records, so per-task colours are inferred: the
first failing task is red (its error in the tooltip and label), tasks after it did not run
(grey, dotted), tasks before it ran and succeeded (green border); the root shows the latest
run's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasknb._extras import needs
from tasknb.dag import GraphModel
from tasknb.graph._dot import (
    EDGE_ATTRS,
    GRAPH_ATTRS,
    NODE_ATTRS,
    RunMarks,
    graph_body,
    mark_runs,
)
from tasknb.graph._render import (
    RenderError,
    available_engines,
    find_engine,
    render_dot_svg,
)
from tasknb.identifiers import display_name, name_key
from tasknb.models import Task, TaskRun, call_scope

with needs("tasknb.graph"):  # the notebook extra
    import graphviz

__all__ = [
    "DIRECTIONS",
    "RUNS_FOR_DRAWING",
    "RenderError",
    "TaskGraph",
    "available_engines",
    "draw_dependents",
    "draw_graph",
    "find_engine",
    "graph_from_tasks",
    "render_svg",
]

DIRECTIONS = ("upstream", "downstream", "both")
RUNS_FOR_DRAWING = 10
"""How many complete and current graph runs ``draw_graph`` asks for to find the latest."""


def render_svg(graph: graphviz.Digraph | str, *, engine: str | None = None) -> str:
    """Lay out a Digraph (or DOT text) and return the SVG text.

        >>> "<title>A</title>" in render_svg(graph_from_tasks([Task("A", "select 1")]))
        True

    ``engine``: ``"dot"``, ``"graphviz-pure"`` or a path; by default the system ``dot`` if on
    PATH, else ``graphviz-pure``. Raises ``RenderError`` (one readable line) on failure.
    """
    if isinstance(graph, str):
        return render_dot_svg(graph, engine=engine)
    layout = getattr(graph, "engine", "dot") or "dot"
    return render_dot_svg(graph.source, engine=engine, layout=layout)


class TaskGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that lays itself out with the engine this machine has.

        >>> isinstance(graph_from_tasks([]), graphviz.Digraph)
        True

    Notebook display goes through ``render_svg``; if no engine works, the cell shows one
    readable line instead of a traceback. ``task_names`` lists the drawn tasks,
    ``latest_runs`` the run shown per root, ``notes`` anything left out on the way.
    """

    task_names: list[str]
    latest_runs: dict[str, TaskRun]
    notes: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_names = []
        self.latest_runs = {}
        self.notes = []

    def svg(self, *, engine: str | None = None) -> str:
        """The laid-out drawing as SVG text (see ``render_svg``)."""
        return render_svg(self, engine=engine)

    def _repr_image_svg_xml(self) -> str:
        return self.svg()

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str]:
        try:
            svg = self.svg()
        except RenderError as error:
            return {"text/plain": f"tasknb could not draw this graph: {error}"}
        return {"image/svg+xml": svg}


def _keys_to_draw(
    model: GraphModel, focus: str | None, direction: str
) -> tuple[list[str], str | None]:
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    if focus is None:
        return list(model.tasks), None
    focus_key = name_key(focus)
    if focus_key not in model.tasks:
        known = ", ".join(display_name(t.name) for t in list(model.tasks.values())[:10])
        more = " ..." if len(model.tasks) > 10 else ""
        raise ValueError(
            f"focus task {focus!r} is not in this graph; drawn tasks are: {known}{more}"
        )
    keep: set[str] = set()
    if direction in ("upstream", "both"):
        keep |= model.upstream(focus_key)
    if direction in ("downstream", "both"):
        keep |= model.downstream(focus_key)
    return [key for key in model.tasks if key in keep], focus_key


def graph_from_tasks(
    tasks: Iterable[Task],
    *,
    runs: Iterable[TaskRun] | None = None,
    focus: str | None = None,
    direction: str = "both",
    show_legend: bool = True,
    title: str | None = None,
) -> TaskGraph:
    """Draw tasks (and what their latest graph runs say) as a left-to-right ``TaskGraph``.

        >>> g = graph_from_tasks([Task("R", "x"), Task("F", "y", finalize="R")], show_legend=False)
        >>> "arrowhead=\\"odiamond\\"" in g.source
        True

    ``focus`` keeps only what is ``upstream``/``downstream`` (or ``both``) of one task and
    outlines it. ``runs`` are graph runs of the drawn roots (``TaskRun`` models); the latest
    per root colours the drawing. No network, no layout engine.
    """
    model = GraphModel.from_tasks(tasks)
    keys, focus_key = _keys_to_draw(model, focus, direction)
    marks = mark_runs(model, runs) if runs is not None else RunMarks()
    graph = TaskGraph(
        name="tasks",
        graph_attr=dict(GRAPH_ATTRS),
        node_attr=dict(NODE_ATTRS),
        edge_attr=dict(EDGE_ATTRS),
    )
    if title:
        graph.attr(label=title)
    graph.body.extend(
        line + "\n"
        for line in graph_body(model, keys, marks=marks, focus=focus_key, show_legend=show_legend)
    )
    graph.task_names = [model.tasks[key].name for key in keys]
    graph.latest_runs = {model.tasks[key].name: run for key, run in marks.root_runs.items()}
    return graph


def _is_client(candidate: Any) -> bool:
    return hasattr(candidate, "fetch_task_dependents")


def _fetch_runs(client: Any, root: str, scope: dict[str, str]) -> list[TaskRun]:
    runs = list(client.get_current_graphs(root, result_limit=RUNS_FOR_DRAWING, **scope))
    runs += client.get_complete_graphs(
        root, result_limit=RUNS_FOR_DRAWING, error_only=False, **scope
    )
    return runs


def draw_graph(
    client_or_tasks: Any,
    task: str | Task | None = None,
    *,
    runs: Iterable[TaskRun] | None = None,
    focus: str | None = None,
    direction: str = "both",
    show_legend: bool = True,
    recursive: bool = True,
    title: str | None = None,
    database: str | None = None,
    schema: str | None = None,
) -> TaskGraph:
    """Draw a task graph from a client (``task`` names the root) or from ``Task`` models.

        >>> tasks = [Task("R", "x"), Task("A", "y", predecessors=["R"]), Task("B", "z", predecessors=["R"])]
        >>> draw_graph(tasks, focus="A", direction="upstream").task_names
        ['R', 'A']

    With a client (``draw_graph(client, "NIGHTLY_ROOT")``): the dependents of ``task`` (itself first) are fetched; when ``task`` is a
    root and ``runs`` is ``None`` its recent current and complete graph runs are fetched
    too, to colour the latest one (pass ``runs=[]`` to skip that). A failure to fetch runs
    does not lose the drawing: it is noted in the title and in ``graph.notes``.
    With models: ``client_or_tasks`` is an iterable of ``Task`` and ``runs`` optional.
    """
    notes: list[str] = []
    if _is_client(client_or_tasks):
        if task is None:
            raise TypeError("draw_graph(client, task): name the root task to draw")
        name = task.name if isinstance(task, Task) else task
        scope = call_scope(database, schema, task=task if isinstance(task, Task) else None)
        tasks = list(
            client_or_tasks.fetch_task_dependents(name, recursive=recursive, **scope)
        )
        is_root = bool(tasks) and tasks[0].role == "root"
        if runs is None and is_root:
            try:
                runs = _fetch_runs(client_or_tasks, tasks[0].name, scope)
            except Exception as error:  # noqa: BLE001 - the drawing is still worth showing
                first = (str(error).splitlines() or [""])[0]
                notes.append(f"graph runs unavailable ({type(error).__name__}: {first})")
        title = title if title is not None else f"Task graph of {display_name(name)}"
    else:
        if isinstance(client_or_tasks, (str, bytes)):
            raise TypeError("draw_graph needs a client and a task name, or Task models")
        tasks = list(client_or_tasks)
    if notes:
        title = "\n".join([title] + notes) if title else "\n".join(notes)
    graph = graph_from_tasks(
        tasks,
        runs=runs,
        focus=focus,
        direction=direction,
        show_legend=show_legend,
        title=title,
    )
    graph.notes = notes
    return graph


def draw_dependents(
    client: Any,
    task: str | Task,
    *,
    recursive: bool = True,
    **options: Any,
) -> TaskGraph:
    """Draw ``task`` and the tasks after it (``recursive=False``: direct children only).

    ``draw_dependents(client, "LOAD_ORDERS", recursive=False)``: the same drawing as ``draw_graph`` for a subtree: any task, not only a root, with the
    ``draw_graph`` options (``focus``, ``show_legend``, ``runs`` ...).
    """
    return draw_graph(client, task, recursive=recursive, **options)
