"""Task graphs drawn with Graphviz: every task coloured by its state in a run, a legend, the finalizer.

    >>> from tasknb.models import Task
    >>> graph_from_tasks([Task("ROOT", "select 1"), Task("CHILD", "select 2", predecessors=["ROOT"])]).source.count("->")
    1

``draw_graph(client, "ROOT")`` fetches the root's dependents and the per-task states of its
latest graph run (``client.task_history``, the SQL tier), and returns a ``TaskGraph``: a
``graphviz.Digraph`` that displays itself as an SVG that fits the cell width (JupyterLab,
classic Notebook, VS Code, exported HTML, GitHub). ``run=`` picks another run, ``run=None``
stays on the REST tier (graph runs only: the first failing task is red, what comes after it
did not run, what came before it succeeded). ``interactive=True`` returns a ``GraphView``
widget in a live kernel (zoom, pan, full texts on hover, details on click).

Big graphs: above ``MAX_TASKS`` tasks the drawing gathers tasks into groups by schema and
name prefix (``focus=`` draws a task's neighbourhood instead), and says how to see the rest;
``max_tasks=None`` draws everything. Layout happens only at display (or ``render_svg``),
cached per DOT text, with the system ``dot`` when it is on PATH and otherwise the
``graphviz-pure`` wheel's binary. Building the DOT text needs no layout engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tasknb._extras import needs
from tasknb.dag import GraphModel
from tasknb.graph._big import (
    FOCUS_MAX_TASKS,
    GROUP_BUDGET,
    KEEP_ALONE_MAX,
    MAX_TASKS,
    Neighbourhood,
    group_keys,
    neighbourhood,
)
from tasknb.graph._details import task_details
from tasknb.graph._dot import (
    EDGE_ATTRS,
    GRAPH_ATTRS,
    NODE_ATTRS,
    RunMarks,
    collapsed_body,
    graph_body,
    mark_runs,
    mark_states,
    node_id,
    stub_lines,
)
from tasknb.graph._render import (
    RenderError,
    available_engines,
    find_engine,
    render_dot_svg,
)
from tasknb.graph._states import NOT_RUN, TASK_STATES, RunView, run_view, task_state
from tasknb.graph._svg import FIT_WIDTH_PX, responsive_svg
from tasknb.identifiers import display_name, name_key
from tasknb.models import Task, TaskRun, call_scope
from tasknb.runs import latest_run

with needs("tasknb.graph"):  # the notebook extra
    import graphviz

__all__ = [
    "DIRECTIONS",
    "MAX_SVG_BYTES",
    "MAX_TASKS",
    "NOT_RUN",
    "RUNS_FOR_DRAWING",
    "TASK_STATES",
    "Neighbourhood",
    "RenderError",
    "RunView",
    "TaskGraph",
    "available_engines",
    "draw_dependents",
    "draw_graph",
    "find_engine",
    "focus_tasks",
    "graph_from_tasks",
    "node_id",
    "render_svg",
    "responsive_svg",
    "run_view",
    "task_state",
]

DIRECTIONS = ("upstream", "downstream", "both")
RUNS_FOR_DRAWING = 10
"""How many complete and current graph runs ``draw_graph`` asks for to find the latest."""
MAX_SVG_BYTES = 1_000_000
"""A drawing bigger than this is not written into a notebook unless asked (``max_tasks=None``)."""
LATEST = "latest"
_RANK_PX, _NODE_PX = 200.0, 175.0  # rough size of one rank / one node across, for the direction


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

    Notebook display goes through ``render_svg`` and ``responsive_svg`` (fits the cell);
    if no engine works, or the SVG would be over ``MAX_SVG_BYTES`` without being asked for,
    the cell shows one readable line instead. ``task_names`` lists the drawn tasks,
    ``latest_runs`` the run shown per root, ``notes`` anything left out on the way,
    ``details`` the full texts per task (what ``interactive()`` shows), ``run`` the run
    whose per-task states colour the drawing (``None``: graph runs only).
    """

    task_names: list[str]
    latest_runs: dict[str, TaskRun]
    notes: list[str]
    run: RunView | None
    allow_large: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_names = []
        self.latest_runs = {}
        self.notes = []
        self.run = None
        self.allow_large = False
        self._details: dict[str, dict[str, object]] | None = {}
        self._details_from: Any = None

    @property
    def details(self) -> dict[str, dict[str, object]]:
        """``{name key: {field: full text}}`` of the drawn tasks (built on first use)."""
        if self._details is None:
            self._details = task_details(*self._details_from[:3], runs=self._details_from[3])
        return self._details

    def svg(self, *, engine: str | None = None) -> str:
        """The laid-out drawing as SVG text (see ``render_svg``), at its natural size."""
        return render_svg(self, engine=engine)

    def fitted_svg(self, *, engine: str | None = None) -> str:
        """The drawing as SVG that fits its container's width (see ``responsive_svg``)."""
        return responsive_svg(self.svg(engine=engine))

    def interactive(self) -> Any:
        """This drawing as a ``GraphView`` widget: zoom, pan, hover and click for details."""
        from tasknb.widgets._graphview import GraphView  # the one bridge to the widget layer

        return GraphView.from_graph(self)

    def _repr_image_svg_xml(self) -> str:
        return self.fitted_svg()

    def _repr_svg_(self) -> str:
        return self.fitted_svg()

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str]:
        try:
            svg = self.fitted_svg()
        except RenderError as error:
            return {"text/plain": f"tasknb could not draw this graph: {error}"}
        if len(svg.encode("utf-8")) > MAX_SVG_BYTES and not self.allow_large:
            return {
                "text/plain": (
                    f"tasknb did not draw this graph: its SVG is {len(svg) / 1e6:.1f} MB, more "
                    f"than the {MAX_SVG_BYTES / 1e6:.0f} MB a notebook should hold; draw part of "
                    "it (focus=...) or pass max_tasks=None to draw it all"
                )
            }
        return {"image/svg+xml": svg}


def _keys_to_draw(
    model: GraphModel, focus: str | None, direction: str, steps: int | None, max_tasks: int | None
) -> tuple[list[str], str | None, Neighbourhood | None]:
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    if steps is not None and (not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be a whole number of links (0 or more), got {steps!r}")
    if focus is None:
        return list(model.tasks), None, None
    focus_key = name_key(focus)
    if focus_key not in model.tasks:
        known = ", ".join(display_name(t.name) for t in list(model.tasks.values())[:10])
        more = " ..." if len(model.tasks) > 10 else ""
        raise ValueError(
            f"focus task {focus!r} is not in this graph; drawn tasks are: {known}{more}"
        )
    if steps is None and max_tasks == MAX_TASKS:
        max_tasks = FOCUS_MAX_TASKS  # the default: a neighbourhood small enough to read
    near = neighbourhood(model, focus_key, steps=steps, direction=direction, max_tasks=max_tasks)
    return near.keys, focus_key, near


def focus_tasks(
    tasks: Iterable[Task],
    focus: str,
    *,
    steps: int | None = None,
    direction: str = "both",
    max_tasks: int | None = MAX_TASKS,
) -> Neighbourhood:
    """A task's neighbourhood: the tasks within ``steps`` links of ``focus``, and a note.

        >>> chain = [Task("A", "x"), Task("B", "x", predecessors=["A"]), Task("C", "x", predecessors=["B"])]
        >>> near = focus_tasks(chain, "C", steps=1)
        >>> near.keys, near.note
        (['B', 'C'], 'showing C and 1 step around it (2 of 3 tasks): 1 further upstream left out; pass steps= to see more')

    ``steps=None``: all that is up- and downstream, cut to the most steps that stay within
    ``max_tasks`` (``FOCUS_MAX_TASKS`` unless given). What child panels draw; ``draw_graph(..., focus=...)`` uses it too.
    """
    model = GraphModel.from_tasks(tasks)
    return _keys_to_draw(model, focus, direction, steps, max_tasks)[2]  # type: ignore[return-value]


def _choose_rankdir(model: GraphModel, keys: list[str], groups: dict[str, str]) -> str:
    """``LR`` when the graph's ranks fit a cell side by side, else ``TB`` if that is narrower."""
    node_of = {key: groups.get(key, key) for key in keys}
    nodes = set(node_of.values())
    preds: dict[str, set[str]] = {node: set() for node in nodes}
    for key in keys:
        for pred in model.predecessors[key]:
            if pred in node_of and node_of[pred] != node_of[key]:
                preds[node_of[key]].add(node_of[pred])
    for root, finalizer in model.finalizers.items():
        if root in node_of and finalizer in node_of:
            preds[node_of[finalizer]].add(node_of[root])
    # longest path from the starts, in topological order (nodes on a cycle stay at 0)
    children: dict[str, list[str]] = {node: [] for node in nodes}
    waiting = {node: len(preds[node]) for node in nodes}
    for node, before in preds.items():
        for pred in before:
            children[pred].append(node)
    depth = dict.fromkeys(nodes, 0)
    ready = [node for node, count in waiting.items() if count == 0]
    while ready:
        node = ready.pop()
        for child in children[node]:
            depth[child] = max(depth[child], depth[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    ranks = max(depth.values(), default=0) + 1
    per_rank: dict[int, int] = {}
    for value in depth.values():
        per_rank[value] = per_rank.get(value, 0) + 1
    breadth = max(per_rank.values(), default=1)
    wide, tall = ranks * _RANK_PX, breadth * _NODE_PX
    return "LR" if wide <= FIT_WIDTH_PX or wide <= tall else "TB"


def _marks(
    model: GraphModel, runs: Iterable[TaskRun] | None, states: Any
) -> RunMarks:
    if states is not None:
        view = states if isinstance(states, RunView) else run_view(states)
        marks = mark_states(model, view)
        if runs is not None:
            marks.root_runs = mark_runs(model, runs).root_runs
        return marks
    return mark_runs(model, runs) if runs is not None else RunMarks()


def graph_from_tasks(
    tasks: Iterable[Task],
    *,
    runs: Iterable[TaskRun] | None = None,
    states: Mapping[str, str] | Iterable[Any] | RunView | None = None,
    focus: str | None = None,
    direction: str = "both",
    steps: int | None = None,
    max_tasks: int | None = MAX_TASKS,
    expand: str | None = None,
    rankdir: str | None = None,
    show_legend: bool = True,
    title: str | None = None,
) -> TaskGraph:
    """Draw tasks (and the state of each in one run) as a ``TaskGraph``.

        >>> g = graph_from_tasks([Task("R", "x"), Task("F", "y", finalize="R")], show_legend=False)
        >>> "arrowhead=\\"odiamond\\"" in g.source
        True
        >>> g = graph_from_tasks([Task("R", "x"), Task("C", "y", predecessors=["R"])], states={"R": "SUCCEEDED"})
        >>> g.run.state_of("C")
        'NOT_RUN'

    ``states``: each task's state in one run, as ``{task name: state}``, TASK_HISTORY rows
    or a ``RunView``; every drawn task is coloured by it (no row: not run). ``runs``: graph
    runs (``TaskRun``); without ``states`` the latest per root colours what REST allows.
    ``focus`` keeps the neighbourhood of one task (``steps`` links ``upstream``/
    ``downstream``/``both``). Above ``max_tasks`` tasks (``None``: no limit) tasks gather into
    groups by schema and name prefix; ``expand="LOAD_"`` draws the tasks with that prefix
    on their own. ``rankdir``: ``"LR"``/``"TB"``, by default whichever fits a cell.
    """
    model = GraphModel.from_tasks(tasks)
    runs = None if runs is None else list(runs)  # read twice: marks and details
    keys, focus_key, near = _keys_to_draw(model, focus, direction, steps, max_tasks)
    marks = _marks(model, runs, states)
    notes = [near.note] if near is not None and near.note else []
    groups: dict[str, str] = {}
    if max_tasks is not None and len(keys) > max_tasks:
        groups, how = _collapse(model, keys, marks, focus_key, expand, max_tasks)
        count, single = len(set(groups.values())), len(keys) - len(groups)
        hint = (
            f"{len(keys):,} tasks drawn as {count + single:,} nodes: {count:,} groups by {how}"
            f" and {single:,} task{'' if single == 1 else 's'} by themselves.\n"
            "See the rest: focus=\"TASK\" for one task's neighbourhood, expand=\"PREFIX\" "
            "for one group's tasks, max_tasks=None for every task (slow, large SVG)"
        )
        notes.append(hint)
    chosen = rankdir or _choose_rankdir(model, keys, groups)
    if chosen not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    graph = TaskGraph(
        name="tasks",
        graph_attr={**GRAPH_ATTRS, "rankdir": chosen},
        node_attr=dict(NODE_ATTRS),
        edge_attr=dict(EDGE_ATTRS),
    )
    label = "\n".join([title] + notes if title else notes)
    if label:
        graph.attr(label=label)
    if groups:
        body = collapsed_body(
            model, keys, groups, marks=marks, focus=focus_key, show_legend=show_legend
        )
    else:
        body = graph_body(model, keys, marks=marks, focus=focus_key, show_legend=show_legend)
        if near is not None:
            body += stub_lines(near.cut_above, near.cut_below)
    graph.body.extend(line + "\n" for line in body)
    graph.task_names = [model.tasks[key].name for key in keys]
    graph.latest_runs = {model.tasks[key].name: run for key, run in marks.root_runs.items()}
    graph.notes = notes
    graph.run = marks.view
    graph._details, graph._details_from = None, (model, keys, marks, list(runs or ()))
    graph.allow_large = max_tasks is None
    return graph


def _collapse(
    model: GraphModel,
    keys: list[str],
    marks: RunMarks,
    focus: str | None,
    expand: str | None,
    max_tasks: int,
) -> tuple[dict[str, str], str]:
    starts = [key for key in keys if not model.predecessors[key]]
    alone = [key for key in starts if model.tasks[key].role == "root"][:KEEP_ALONE_MAX]
    finalizers = model.finalizer_keys  # a property that walks every task: read it once
    alone += [key for key in keys if key in finalizers]
    alone += [key for key in keys if marks.by_task.get(key) == "failed"][:KEEP_ALONE_MAX]
    if focus:
        alone.append(focus)
    if expand:
        wanted = [key for key in keys if display_name(model.tasks[key].name).startswith(expand)]
        if not wanted:
            raise ValueError(f"expand={expand!r}: no drawn task's name starts with it")
        if len(wanted) > max_tasks:
            raise ValueError(
                f"expand={expand!r} matches {len(wanted):,} tasks, more than max_tasks="
                f"{max_tasks}; give a longer prefix, or raise max_tasks"
            )
        alone += wanted
    alone = list(dict.fromkeys(alone))
    return group_keys(model, keys, alone=alone, budget=GROUP_BUDGET)


def _is_client(candidate: Any) -> bool:
    return hasattr(candidate, "fetch_task_dependents")


def _fetch_runs(client: Any, root: str, scope: dict[str, str]) -> list[TaskRun]:
    runs = list(client.get_current_graphs(root, result_limit=RUNS_FOR_DRAWING, **scope))
    runs += client.get_complete_graphs(
        root, result_limit=RUNS_FOR_DRAWING, error_only=False, **scope
    )
    return runs


def _first_line(error: BaseException) -> str:
    first = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _run_state(view: RunView, runs: Iterable[TaskRun]) -> str:
    for run in runs:
        if run.run_id is not None and run.run_id == view.run_id:
            return run.state or ""
    states = set(view.states.values())
    for state in ("EXECUTING", "FAILED", "CANCELLED"):
        if state in states:
            return state
    return "SUCCEEDED" if "SUCCEEDED" in states else ""


def run_title(root: str, view: RunView, runs: Iterable[TaskRun] = ()) -> str:
    """``"NIGHTLY_ELT: run 1764640800000, scheduled 2026-12-02 02:00:00 UTC, SUCCEEDED"``."""
    parts = [f"{display_name(root)}: run {view.run_id}"]
    if view.scheduled_time is not None:
        parts.append(f"scheduled {_when(view.scheduled_time)}")
    state = _run_state(view, list(runs))
    if state:
        parts.append(state)
    return ", ".join(parts)


LATEST_PROBE_ROWS = 200
"""Rows of recent task history read to find the latest run when no graph run names it."""


def _check_run(run: Any) -> None:
    if run is None or run == LATEST or isinstance(run, TaskRun):
        return
    expected = f'run must be a run id (an integer), "latest", a TaskRun or None, got {run!r}'
    if isinstance(run, str):
        raise ValueError(expected)  # noqa: TRY004 - a wrong word, not a wrong type
    if isinstance(run, bool) or not isinstance(run, int):
        raise TypeError(expected)


def _latest_run_id(client: Any, root: str, runs: Iterable[TaskRun], scope: dict[str, str]) -> Any:
    """The newest run that started (graph runs first; else the newest TASK_HISTORY row)."""
    started = [
        r for r in runs if r.run_id is not None and (r.state or "").upper() != "SCHEDULED"
    ]
    chosen = latest_run(started)
    if chosen is not None:
        return chosen.run_id
    recent = list(client.task_history(root, result_limit=LATEST_PROBE_ROWS, **scope))
    if not recent:
        return None
    newest = max(recent, key=lambda row: (row.scheduled_time is not None, row.scheduled_time
                                          or 0, row.run_id or 0))
    return newest.run_id


def _history(
    client: Any, root: str, run: Any, runs: Iterable[TaskRun], scope: dict[str, str]
) -> list[Any]:
    wanted = run
    if run == LATEST:
        wanted = _latest_run_id(client, root, runs, scope)
        if wanted is None:
            return []
    return list(client.task_history(root, run=wanted, **scope))


def draw_graph(
    client_or_tasks: Any,
    task: str | Task | None = None,
    *,
    run: Any = LATEST,
    runs: Iterable[TaskRun] | None = None,
    states: Mapping[str, str] | Iterable[Any] | RunView | None = None,
    focus: str | None = None,
    direction: str = "both",
    steps: int | None = None,
    max_tasks: int | None = MAX_TASKS,
    expand: str | None = None,
    rankdir: str | None = None,
    show_legend: bool = True,
    recursive: bool = True,
    interactive: bool = False,
    title: str | None = None,
    database: str | None = None,
    schema: str | None = None,
) -> Any:
    """Draw a task graph from a client (``task`` names the root) or from ``Task`` models.

        >>> tasks = [Task("R", "x"), Task("A", "y", predecessors=["R"]), Task("B", "z", predecessors=["R"])]
        >>> draw_graph(tasks, focus="A", direction="upstream").task_names
        ['R', 'A']

    With a client (``draw_graph(client, "NIGHTLY_ELT", run="latest")``): the dependents of
    ``task`` (itself first) are fetched; for a root, its recent graph runs and the per-task
    states of ``run`` (a run id, ``"latest"`` or a ``TaskRun``) through
    ``client.task_history`` (SQL tier: on Snowflake it needs a warehouse). The title names
    the run, its time and state. ``run=None``: REST tier only (graph runs; per-task colours
    inferred from the first error). A failure to fetch runs or states does not lose the
    drawing: it is said in the title and in ``graph.notes``.
    With models: ``client_or_tasks`` is an iterable of ``Task``, ``runs``/``states`` optional.
    ``interactive=True``: a ``GraphView`` widget in a live kernel (the static drawing otherwise).
    The other options are ``graph_from_tasks``'s.
    """
    notes: list[str] = []
    _check_run(run)
    if _is_client(client_or_tasks):
        if task is None:
            raise TypeError("draw_graph(client, task): name the root task to draw")
        client = client_or_tasks
        name = task.name if isinstance(task, Task) else task
        scope = call_scope(database, schema, task=task if isinstance(task, Task) else None)
        tasks = list(client.fetch_task_dependents(name, recursive=recursive, **scope))
        is_root = bool(tasks) and tasks[0].role == "root"
        if runs is None and is_root:
            try:
                runs = _fetch_runs(client, name, scope)  # as given: qualified names keep their schema
            except Exception as error:  # noqa: BLE001 - the drawing is still worth showing
                notes.append(f"graph runs unavailable ({_first_line(error)})")
        heading = f"Task graph of {display_name(name)}"
        # the SQL tier: per-task states of the run; a REST-only client infers from graph runs
        if states is None and run is not None and is_root and hasattr(client, "task_history"):
            try:
                rows = _history(client, name, run, runs or (), scope)
            except Exception as error:  # noqa: BLE001 - fall back to REST colours
                notes.append(
                    f"per-task states unavailable ({_first_line(error)}): colours "
                    "inferred from the graph runs"
                )
            else:
                if rows:
                    states = run_view(rows)
                    heading = run_title(tasks[0].name, states, runs or ())
                else:
                    which = "yet" if run == LATEST else repr(run)
                    notes.append(f"no graph run {which} in the task history: colours "
                                 "show the graph runs only")
        title = title if title is not None else heading
        drawn = tasks
    else:
        if isinstance(client_or_tasks, (str, bytes)):
            raise TypeError("draw_graph needs a client and a task name, or Task models")
        drawn = list(client_or_tasks)
    graph = graph_from_tasks(
        drawn,
        runs=runs,
        states=states,
        focus=focus,
        direction=direction,
        steps=steps,
        max_tasks=max_tasks,
        expand=expand,
        rankdir=rankdir,
        show_legend=show_legend,
        title="\n".join([title] + notes) if title else ("\n".join(notes) or None),
    )
    graph.notes = notes + graph.notes
    if interactive:
        return graph.interactive() if _live_kernel() else graph
    return graph


def _live_kernel() -> bool:
    """True inside a running IPython kernel (a notebook or console with a frontend)."""
    import sys

    shell_module = sys.modules.get("IPython")
    if shell_module is None:
        return False
    shell = shell_module.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def draw_dependents(
    client: Any,
    task: str | Task,
    *,
    recursive: bool = True,
    **options: Any,
) -> Any:
    """Draw ``task`` and the tasks after it (``recursive=False``: direct children only).

    ``draw_dependents(client, "LOAD_ORDERS", recursive=False)``: the same drawing as ``draw_graph`` for a subtree: any task, not only a root, with the
    ``draw_graph`` options (``focus``, ``show_legend``, ``runs`` ...).
    """
    return draw_graph(client, task, recursive=recursive, **options)
