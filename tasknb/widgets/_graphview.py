"""GraphView: an interactive task-graph drawing for a live kernel (anywidget, no build step).

    >>> view = GraphView('<svg viewBox="0 0 10 10"></svg>', {"LOAD": {"name": "LOAD", "condition": "n > 0"}})
    >>> view.details["LOAD"]["condition"], view.selected
    ('n > 0', '')

The drawing fits the cell's width; the wheel zooms, dragging pans, "Fit" shows it all again.
Hovering a task shows its full definition, condition, schedule, warehouse and its state in
the selected run; clicking it shows its details beside the drawing (definition, condition,
config, last runs, error) and sets ``selected`` (observable from Python). Only what the
browser needs is synced: the SVG, plain-text details per task, the run's states, a title.

``GraphView.from_graph(tasknb.draw_graph(...))`` (or ``draw_graph(..., interactive=True)``)
builds one from a drawing; panels pass their own SVG and details. Where no widget frontend
runs (nbval, GitHub), the view shows the same drawing as a static SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasknb._extras import needs

with needs("tasknb.widgets.GraphView"):  # anywidget comes with the notebook extra
    import anywidget
    import traitlets

from tasknb.graph import MAX_SVG_BYTES, TaskGraph, responsive_svg

_HERE = Path(__file__).parent

#: The tallest the drawing gets before it is scaled to fit in height too (CSS length).
MAX_HEIGHT = "75vh"


def _svg_element(svg: str) -> str:
    """The ``<svg>`` element alone (no XML prolog or DOCTYPE), as the browser inlines it."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


class GraphView(anywidget.AnyWidget):
    """A zoomable, pannable drawing with full texts on hover and a details pane on click.

    ``svg``: a Graphviz SVG whose task nodes carry ``tasknb.graph.node_id`` ids.
    ``details``: ``{name key: {field: text}}`` (see ``tasknb.graph`` ``TaskGraph.details``:
    ``name``, ``state in run``, ``condition``, ``definition``, ``config``, ``schedule``,
    ``warehouse``, ``error``, ``last runs`` ...). ``states``: ``{name key: state}`` of the
    selected run (shown on hover; may be updated alone). ``selected``: the clicked task's key.
    """

    _esm = _HERE / "_graphview.js"
    _css = _HERE / "_graphview.css"

    svg = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    states = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    max_height = traitlets.Unicode(MAX_HEIGHT).tag(sync=True)

    def __init__(
        self,
        svg: str = "",
        details: dict[str, dict[str, Any]] | None = None,
        states: dict[str, str] | None = None,
        *,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            svg=_svg_element(svg),
            details=dict(details or {}),
            states=dict(states or {}),
            title=title,
            **kwargs,
        )

    @traitlets.validate("selected")
    def _known_task(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value and value not in self.details:
            known = ", ".join(sorted(self.details)[:10])
            raise traitlets.TraitError(
                f"selected={value!r} is not a drawn task; drawn tasks are: {known}"
            )
        return value

    @classmethod
    def from_graph(cls, graph: TaskGraph, *, engine: str | None = None, **kwargs: Any) -> GraphView:
        """The view of a ``TaskGraph`` (laid out now; raises ``RenderError`` if it cannot be)."""
        states = {}
        if graph.run is not None:
            states = {key: graph.run.state_of(key) for key in graph.details}
        return cls(graph.svg(engine=engine), graph.details, states, **kwargs)

    def show(
        self,
        svg: str | None = None,
        details: dict[str, dict[str, Any]] | None = None,
        states: dict[str, str] | None = None,
    ) -> None:
        """Replace what the view shows in one update (a panel's refresh); keeps the selection."""
        with self.hold_sync():
            if details is not None:
                self.details = dict(details)
                if self.selected and self.selected not in self.details:
                    self.selected = ""
            if svg is not None:
                self.svg = _svg_element(svg)
            if states is not None:
                self.states = dict(states)

    @property
    def selected_details(self) -> dict[str, Any]:
        """The details of the clicked task (empty when none is selected)."""
        return dict(self.details.get(self.selected, {}))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # (data, metadata) as ipywidgets returns it
            data, metadata = bundle
        else:
            data, metadata = bundle, {}
        if self.svg and len(self.svg.encode("utf-8")) <= MAX_SVG_BYTES:
            data = {**data, "image/svg+xml": responsive_svg(self.svg)}  # no frontend: static
        return (data, metadata) if isinstance(bundle, tuple) else data
