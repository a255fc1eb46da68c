"""``TaskPanel``: one task (or its whole graph) with its state, drawing, runs and actions.

``TaskPanel(client, "NIGHTLY_ROOT")`` as a cell's last line shows the task's state, drawing
(``_drawing``), the per-task states of the latest run, recent runs and buttons. The panel is a
view over the plain-Python state in ``tasknb.widgets._state`` (which calls the client).
Buttons are enabled only when the action is valid and say why when not (tooltip and hint
line). Costly or destructive actions take two steps: the first shows what will be affected,
the second (``Confirm …``) acts. After Execute or Retry the panel follows the graph run in a
background thread (never blocking the kernel) and redraws when it ends. **Cancel run** is
enabled only while the graph's latest run is EXECUTING. Every widget on the same root graph
(other panels, a ``RunExplorer``) refreshes after an action from any of them
(``tasknb.widgets._hub``). Any error shows as one wrapped line, never a traceback; a panel
that cannot load is that one line and nothing else. Times are the server's clock.

REST tier: run history is the recent history that ``current-graphs`` and ``complete-graphs``
return.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from tasknb.frames import runs_frame
from tasknb.models import Task
from tasknb.runs import ATTEMPT_FIELD
from tasknb.widgets._drawing import Drawing
from tasknb.widgets._follow import (
    FOLLOW_TIMEOUT_S,
    MAX_POLL_INTERVAL_S,
    POLL_INTERVAL_S,
    FollowStatus,
)
from tasknb.widgets._html import (
    error_html,
    format_time,
    message_html,
    run_strip_svg,
    runs_table_html,
    state_badge,
    task_details_html,
)
from tasknb.widgets._parts import (
    BUTTON_ICONS,
    BUTTON_LABELS,
    BUTTON_STYLES,
    HIDDEN,
    FollowLine,
    show,
    wide_html,
)
from tasknb.widgets._state import ACTIONS, DEFAULT_RUN_LIMIT, TaskPanelState, latest_attempts
from tasknb.widgets._task_table import task_runs_html
from tasknb.widgets._text import error_line


def _drawing_widget(*, visible: bool) -> widgets.Widget:
    """The interactive ``GraphView`` (zoom, pan, hover, click) when anywidget is installed,
    else an HTML widget holding the SVG."""
    layout = widgets.Layout(width="100%", display=None if visible else HIDDEN)
    try:
        from tasknb.widgets._graphview import GraphView
    except ImportError:
        return widgets.HTML(layout=layout)
    return GraphView(layout=layout)


class TaskPanel(widgets.VBox):
    """A task (or its whole graph) with its state, drawing, recent runs and action buttons.

    ``panel.buttons["suspend"].click()`` shows what suspending affects;
    ``panel.confirm_button.click()`` then suspends. ``confirm=False`` acts on the first click (for scripts). ``poll_interval`` (seconds) sets
    how often a followed run is polled (default :data:`POLL_INTERVAL_S`); ``draw=False``
    leaves the drawing out. The state object is ``panel.state``.
    """

    def __init__(
        self,
        client: Any,
        task: str | Task,
        *,
        database: str | None = None,
        schema: str | None = None,
        confirm: bool = True,
        draw: bool = True,
        poll_interval: float = POLL_INTERVAL_S,
        max_poll_interval: float = MAX_POLL_INTERVAL_S,
        follow_timeout: float = FOLLOW_TIMEOUT_S,
        run_limit: int = DEFAULT_RUN_LIMIT,
        state: TaskPanelState | None = None,
    ) -> None:
        super().__init__(layout=widgets.Layout(width="100%"))
        self.add_class("tasknb-panel")
        self.state = state or TaskPanelState(
            client,
            task,
            database=database,
            schema=schema,
            run_limit=run_limit,
            poll_interval=poll_interval,
            max_poll_interval=max(poll_interval, max_poll_interval),
            follow_timeout=follow_timeout,
        )
        self.confirm = confirm
        self.pending: str | None = None
        self._render_lock = threading.RLock()
        self._drawing = Drawing(draw)
        self._task_runs_shown: Any = None

        self.header = widgets.HTML()
        self.buttons = {
            action: widgets.Button(
                description=BUTTON_LABELS[action],
                button_style=BUTTON_STYLES[action],
                icon=BUTTON_ICONS[action],
                disabled=True,
                layout=widgets.Layout(width="auto"),
            )
            for action in ACTIONS
        }
        for action, button in self.buttons.items():
            button.on_click(lambda _b, a=action: self.request(a))
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Fetch the task and its runs again",
            layout=widgets.Layout(width="auto"),
        )
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.watch_button = widgets.Button(
            description="Watch the running run", icon="eye",
            tooltip="A graph run is executing: follow it live until it ends",
            layout=widgets.Layout(width="auto", display=HIDDEN),
        )
        self.watch_button.on_click(lambda _b: self.state.start_following())
        self.hint = widgets.HTML()
        self.hint.add_class("tasknb-hint")

        self.preview = widgets.HTML()
        self.confirm_button = widgets.Button(
            description="Confirm", button_style="danger", icon="check",
            layout=widgets.Layout(width="auto"),
        )
        self.cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self.confirm_button.on_click(lambda _b: self.confirm_pending())
        self.cancel_button.on_click(lambda _b: self.cancel_pending())
        self.confirm_box = widgets.VBox(
            [self.preview, widgets.HBox([self.confirm_button, self.cancel_button])],
            layout=widgets.Layout(border="1px solid #ef6c00", padding="4px", display=HIDDEN),
        )

        self.follow_box = FollowLine()
        self.progress, self.follow_label = self.follow_box.progress, self.follow_box.label
        self.stop_button = self.follow_box.stop_button
        self.stop_button.on_click(lambda _b: self.state.stop_following())

        self.error_html = wide_html(visible=False)
        self.notice = wide_html()
        self.drawing_note = wide_html(visible=draw)
        self.drawing = _drawing_widget(visible=draw)
        if hasattr(self.drawing, "selected"):  # a click on a task picks it in the details
            self.drawing.observe(self._on_drawing_click, names="selected")
        self.task_runs_title = widgets.HTML()
        self.task_runs_html = wide_html()
        self.strip = widgets.HTML()
        self.runs_html = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.task_picker = widgets.Dropdown(description="Task", options=[])
        self.details = widgets.HTML()
        self.task_picker.observe(self._on_pick, names="value")
        self.details_box = widgets.Accordion(
            children=[widgets.VBox([self.task_picker, self.details])],
            titles=("Task details: definition, schedule, condition, config",),
            selected_index=None,
        )

        self._full_children = (
            self.header,
            widgets.HBox([*self.buttons.values(), self.refresh_button, self.watch_button]),
            self.hint,
            self.confirm_box,
            self.follow_box,
            self.error_html,
            self.notice,
            self.drawing_note,
            self.drawing,
            self.task_runs_title,
            self.task_runs_html,
            widgets.HTML("<b>Recent graph runs</b> <small>(newest first; REST history)</small>"),
            self.strip,
            self.runs_html,
            self.details_box,
        )
        self.children = self._full_children
        self.state.observe(
            self._on_state,
            names=["task", "root", "graph_tasks", "runs", "availability", "error", "notice",
                   "follow", "last_refreshed", "task_runs", "task_runs_note", "generation"],
        )
        if self.state.task is None:
            self.state.refresh()
        self.render()

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fetch everything again and redraw."""
        self.state.refresh()

    def close(self) -> None:
        """Stop following any run, leave the graph's group, then close the widgets."""
        self.state.stop_following()
        self.state.leave()
        super().close()

    def request(self, action: str) -> None:
        """First step of an action: show its preview and the confirm button (or act)."""
        check = self.state.availability.get(action)
        if check is not None and not check.enabled:
            self.state.error = f"{BUTTON_LABELS[action]} is not possible: {check.reason}"
            return
        preview = self.state.preview(action)
        if not self.confirm or not preview.needs_confirm:
            self._run(action)
            return
        self.pending = action
        items = "".join(f"<li>{html.escape(line)}</li>" for line in preview.effects)
        self.preview.value = (
            f'<div class="tasknb-preview"><b>{html.escape(preview.title)}?</b>'
            f"<ul>{items}</ul></div>"
        )
        self.confirm_button.description = f"Confirm {BUTTON_LABELS[action].lower()}"
        self.confirm_button.tooltip = preview.title
        show(self.confirm_box, True)

    def confirm_pending(self) -> None:
        """Second step: take the pending action."""
        action, self.pending = self.pending, None
        show(self.confirm_box, False)
        if action is not None:
            self._run(action)

    def cancel_pending(self) -> None:
        self.pending = None
        show(self.confirm_box, False)

    def _run(self, action: str) -> None:
        try:
            self.state.run(action)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a panel
            self.state.error = error_line(exc, doing=f"{action} {self.state.name}")

    # -- rendering --------------------------------------------------------------------------
    def _on_state(self, change: dict[str, Any]) -> None:
        if change["name"] == "follow":
            self._render_follow(change["new"])
            return
        if self.state.refreshing and change["name"] != "generation":
            return  # one redraw when the refresh ends
        self.render()

    def render(self) -> None:
        """Bring every widget in line with the state (called on each state change)."""
        with self._render_lock:
            state = self.state
            # a panel that never loaded is its error line and nothing else
            failed = state.task is None and bool(state.error)
            wanted = (self.error_html,) if failed else self._full_children
            if tuple(self.children) != wanted:
                self.children = wanted
            self._render_header()
            reasons = []
            for action, button in self.buttons.items():
                check = state.availability.get(action)
                enabled = bool(check and check.enabled)
                button.disabled = not enabled
                if enabled:
                    button.tooltip = state.preview(action).title if state.task else ""
                else:
                    reason = check.reason if check else "not available"
                    button.tooltip = reason
                    reasons.append(f"<b>{BUTTON_LABELS[action]}</b>: {html.escape(reason)}")
            self.hint.value = (
                '<small class="tasknb-hint" style="color:#616161">' + " · ".join(reasons) + "</small>"
                if reasons
                else ""
            )
            self.error_html.value = error_html(state.error)
            show(self.error_html, bool(state.error))
            self.notice.value = message_html(state.notice)
            self._render_task_runs()
            self.strip.value = run_strip_svg(state.runs)
            self.runs_html.value = runs_table_html(
                runs_frame(state.runs), attempts=[r.extra.get(ATTEMPT_FIELD) for r in state.runs])
            self._render_picker()
            if self._drawing.update(state):
                drawing = self._drawing
                self.drawing_note.value = drawing.note
                if hasattr(self.drawing, "show"):
                    self.drawing.show(drawing.svg, drawing.details, drawing.states)
                else:
                    self.drawing.value = drawing.svg[drawing.svg.find("<svg"):]
                show(self.drawing, bool(drawing.svg))
            self._render_follow(state.follow)

    def _render_header(self) -> None:
        state, task = self.state, self.state.task
        if task is None:
            self.header.value = f"<h4>{html.escape(state.name)}</h4>"
            return
        bits = [f"<b style='font-size:120%'>{html.escape(task.name)}</b>", state_badge(task.state)]
        if task.state == "suspended" and task.last_suspended_on is not None:
            bits[-1] += f" since {format_time(task.last_suspended_on)} UTC"
        role = task.role
        if role == "root" and len(state.graph_tasks) <= 1:
            role = "standalone task"
        elif role == "root":
            role = f"root of a graph of {len(state.graph_tasks)} tasks"
        else:
            role = f"{role} in the graph of {state.root_name}"
        bits.append(html.escape(role))
        if task.schedule is not None:
            bits.append(f"schedule <code>{html.escape(str(task.schedule))}</code>")
        bits.append(f"warehouse {html.escape(task.warehouse)}" if task.warehouse else "serverless")
        latest = state.latest
        if latest is not None:
            last = f"latest run {state_badge(latest.state)}"
            attempt = latest.extra.get(ATTEMPT_FIELD)
            if attempt and int(attempt) > 1:
                last += f" (attempt {int(attempt)})"
            if latest.first_error_task_name:
                last += f" at <b>{html.escape(latest.first_error_task_name)}</b>"
            bits.append(last)
        if state.last_refreshed is not None:
            bits.append(
                f"<small>refreshed {format_time(state.last_refreshed)} UTC"
                f"{'' if state.clock.source == 'the server' else ' (this machine)'}</small>"
            )
        self.header.value = '<div class="tasknb-header">' + " · ".join(bits) + "</div>"

    @property
    def drawing_svg(self) -> str:
        """What the drawing shows: its note line(s), then the SVG (empty without a drawing)."""
        return self._drawing.note + self._drawing.svg

    def _on_drawing_click(self, change: dict[str, Any]) -> None:
        name = self._drawing.details.get(change["new"] or "", {}).get("name")
        if name and name in self.task_picker.options:
            self.task_picker.value = name
            self.details_box.selected_index = 0

    def _render_task_runs(self) -> None:
        state, latest = self.state, self.state.latest
        if latest is None:
            self.task_runs_title.value = ""
            self.task_runs_html.value = ""
            return
        attempt = latest.extra.get(ATTEMPT_FIELD)
        which = f"run {latest.run_id}" + (f", attempt {attempt}" if attempt and attempt > 1 else "")
        self.task_runs_title.value = (
            f"<b>Tasks in the latest run</b> <small>({html.escape(which)}; each task's latest "
            "attempt; TASK_HISTORY through SQL)</small>"
        )
        key = (id(state.task_runs), state.task_runs_note, len(state.graph_tasks))
        if key == self._task_runs_shown:
            return
        self._task_runs_shown = key
        if state.task_runs is None:
            self.task_runs_html.value = message_html(state.task_runs_note)
            return
        self.task_runs_html.value = task_runs_html(
            latest_attempts(state.task_runs),
            graph_order=[t.name for t in state.graph_tasks],
            show_attempts=False,
        )

    def _render_picker(self) -> None:
        names = [t.name for t in self.state.graph_tasks] or (
            [self.state.task.name] if self.state.task else []
        )
        if list(self.task_picker.options) != names:
            current = self.task_picker.value
            self.task_picker.options = names
            if current in names:
                self.task_picker.value = current
            elif self.state.task is not None and self.state.task.name in names:
                self.task_picker.value = self.state.task.name
        self._on_pick({"new": self.task_picker.value})

    def _on_pick(self, change: dict[str, Any]) -> None:
        name = change.get("new")
        found = [t for t in self.state.graph_tasks if t.name == name]
        if not found and self.state.task is not None and self.state.task.name == name:
            found = [self.state.task]
        self.details.value = task_details_html(found[0]) if found else ""

    def _render_follow(self, follow: FollowStatus) -> None:
        show(self.watch_button, not follow.active and self.state.active_run is not None)
        self.follow_box.render(follow)
