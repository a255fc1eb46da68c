"""Control panels for a notebook: ``TaskPanel`` (one task or graph) and ``RunExplorer``.

    >>> BUTTON_LABELS["retry"]
    'Retry last failed run'

``TaskPanel(client, "NIGHTLY_ROOT")`` as a cell's last line shows the task's state, drawing
(``_drawing``), recent runs and buttons. The panels are views over the plain-Python states in
``tasknb.widgets._state`` and ``tasknb.widgets._explorer`` (which call the client). Buttons
are enabled only when the action is valid and say why when not (tooltip and hint line). Costly or destructive actions take two
steps: the first shows what will be affected, the second (``Confirm …``) acts. After Execute
or Retry the panel follows the graph run in a background thread (never blocking the kernel)
and redraws when it ends. **Cancel run** is enabled only while the graph's latest run is
EXECUTING; confirmed, it calls ``client.cancel_graph_runs(root)`` (every task's current run)
and follows the run until it ends CANCELLED. Any error shows as one line, never a traceback.

REST tier: everything here uses the REST API only; run history is the recent history that
``current-graphs`` and ``complete-graphs`` return.
"""

from __future__ import annotations

import html
import threading
from datetime import timezone
from typing import Any

import ipywidgets as widgets

from tasknb.durations import format_duration
from tasknb.frames import runs_frame
from tasknb.models import Task
from tasknb.widgets._drawing import Drawing
from tasknb.widgets._explorer import (
    RUN_STATES,
    TIME_WINDOWS,
    RunExplorerState,
    run_key,
    run_label,
)
from tasknb.widgets._follow import (
    FOLLOW_TIMEOUT_S,
    MAX_POLL_INTERVAL_S,
    POLL_INTERVAL_S,
    FollowStatus,
)
from tasknb.widgets._html import (
    error_html,
    format_time,
    run_strip_svg,
    runs_table_html,
    state_badge,
    task_details_html,
)
from tasknb.widgets._state import ACTIONS, DEFAULT_RUN_LIMIT, TaskPanelState
from tasknb.widgets._text import error_line

#: Button captions, by action.
BUTTON_LABELS = {
    "execute": "Execute",
    "suspend": "Suspend",
    "resume": "Resume",
    "retry": "Retry last failed run",
    "cancel": "Cancel run",
}
_BUTTON_STYLES = {"execute": "primary", "suspend": "warning", "resume": "success", "retry": "info",
                  "cancel": "danger"}
_BUTTON_ICONS = {"execute": "play", "suspend": "pause", "resume": "play-circle", "retry": "redo",
                 "cancel": "ban"}
_HIDDEN = "none"
_SHOWN = None


def _show(widget: widgets.Widget, visible: bool) -> None:
    widget.layout.display = _SHOWN if visible else _HIDDEN


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

        self.header = widgets.HTML()
        self.buttons = {
            action: widgets.Button(
                description=BUTTON_LABELS[action],
                button_style=_BUTTON_STYLES[action],
                icon=_BUTTON_ICONS[action],
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
            layout=widgets.Layout(width="auto", display=_HIDDEN),
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
            layout=widgets.Layout(border="1px solid #ef6c00", padding="4px", display=_HIDDEN),
        )

        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=widgets.Layout(width="200px")
        )
        self.follow_label = widgets.Label(layout=widgets.Layout(width="auto"))
        self.stop_button = widgets.Button(
            description="Stop watching", icon="stop", layout=widgets.Layout(width="auto"),
            tooltip="Stop polling; the run itself goes on",
        )
        self.stop_button.on_click(lambda _b: self.state.stop_following())
        self.follow_box = widgets.HBox(
            [self.progress, self.follow_label, self.stop_button],
            layout=widgets.Layout(display=_HIDDEN),
        )

        self.error_html = widgets.HTML(layout=widgets.Layout(display=_HIDDEN))
        self.notice = widgets.Label()
        self.drawing = widgets.HTML(layout=widgets.Layout(display=_SHOWN if draw else _HIDDEN))
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

        self.children = [
            self.header,
            widgets.HBox([*self.buttons.values(), self.refresh_button, self.watch_button]),
            self.hint,
            self.confirm_box,
            self.follow_box,
            self.error_html,
            self.notice,
            self.drawing,
            widgets.HTML("<b>Recent graph runs</b> <small>(newest first; REST history)</small>"),
            self.strip,
            self.runs_html,
            self.details_box,
        ]
        self.state.observe(
            self._on_state,
            names=["task", "root", "graph_tasks", "runs", "availability", "error", "notice",
                   "follow", "last_refreshed"],
        )
        if self.state.task is None:
            self.state.refresh()
        self.render()

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fetch everything again and redraw."""
        self.state.refresh()

    def close(self) -> None:
        """Stop following any run, then close the widgets."""
        self.state.stop_following()
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
        _show(self.confirm_box, True)

    def confirm_pending(self) -> None:
        """Second step: take the pending action."""
        action, self.pending = self.pending, None
        _show(self.confirm_box, False)
        if action is not None:
            self._run(action)

    def cancel_pending(self) -> None:
        self.pending = None
        _show(self.confirm_box, False)

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
        self.render()

    def render(self) -> None:
        """Bring every widget in line with the state (called on each state change)."""
        with self._render_lock:
            state = self.state
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
            _show(self.error_html, bool(state.error))
            self.notice.value = state.notice
            self.strip.value = run_strip_svg(state.runs)
            self.runs_html.value = runs_table_html(runs_frame(state.runs))
            self._render_picker()
            svg = self._drawing.update(state)
            if svg is not None:
                self.drawing.value = svg
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
            if latest.first_error_task_name:
                last += f" at <b>{html.escape(latest.first_error_task_name)}</b>"
            bits.append(last)
        if state.last_refreshed is not None:
            bits.append(
                f"<small>refreshed {format_time(state.last_refreshed.astimezone(timezone.utc))}"
                " UTC</small>"
            )
        self.header.value = '<div class="tasknb-header">' + " · ".join(bits) + "</div>"

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
        _show(self.watch_button, not follow.active and self.state.active_run is not None)
        if not follow.active and not follow.state:
            _show(self.follow_box, False)
            return
        _show(self.follow_box, True)
        _show(self.stop_button, follow.active)
        if follow.fraction is not None:
            self.progress.value = follow.fraction
        elif follow.active:
            self.progress.value = 0.0
        colour = {"SUCCEEDED": "success", "FAILED": "danger", "CANCELLED": "warning"}
        self.progress.bar_style = colour.get(follow.state, "info")
        bits = [follow.state]
        if follow.message:
            bits.append(follow.message)
        elapsed = follow.elapsed_s
        if follow.active and elapsed is not None:
            bits.append(format_duration(elapsed))
        if follow.last_refreshed is not None:
            bits.append(f"last refreshed {format_time(follow.last_refreshed)} UTC")
        self.follow_label.value = " · ".join(bits)


class RunExplorer(widgets.VBox):
    """Investigate a root task's graph runs: filter, pick a failed run, see why, retry.

    ``RunExplorer(client, "NIGHTLY_ROOT")``, then ``explorer.state_filter.value = ("FAILED",)``
    keeps the failed runs. The picked run shows its failing task, the error and the task's definition. Retry (RETRY
    LAST) is offered for the latest run only, when it failed; it takes two steps and then
    follows the new run live, like ``TaskPanel``.
    """

    def __init__(
        self,
        client: Any,
        root: str | Task,
        *,
        database: str | None = None,
        schema: str | None = None,
        confirm: bool = True,
        poll_interval: float = POLL_INTERVAL_S,
        max_poll_interval: float = MAX_POLL_INTERVAL_S,
        follow_timeout: float = FOLLOW_TIMEOUT_S,
    ) -> None:
        super().__init__(layout=widgets.Layout(width="100%"))
        self.add_class("tasknb-explorer")
        self.state = RunExplorerState(
            client,
            root,
            database=database,
            schema=schema,
            poll_interval=poll_interval,
            max_poll_interval=max(poll_interval, max_poll_interval),
            follow_timeout=follow_timeout,
        )
        self.confirm = confirm
        self._render_lock = threading.RLock()
        self.title = widgets.HTML()
        self.state_filter = widgets.SelectMultiple(
            options=list(RUN_STATES), value=(), description="States", rows=len(RUN_STATES)
        )
        self.window = widgets.Dropdown(options=list(TIME_WINDOWS), value="all", description="Time")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.count = widgets.Label()
        self.picker = widgets.Select(options=[], description="Runs", rows=8,
                                     layout=widgets.Layout(width="560px"))
        self.run_details = widgets.HTML()
        self.task_details = widgets.HTML()
        self.retry_button = widgets.Button(
            description="Retry this run", button_style="info", icon="redo", disabled=True,
            layout=widgets.Layout(width="auto"),
        )
        self.hint = widgets.HTML()
        self.preview = widgets.HTML()
        self.confirm_button = widgets.Button(description="Confirm retry", button_style="danger",
                                             icon="check", layout=widgets.Layout(width="auto"))
        self.cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self.confirm_box = widgets.VBox(
            [self.preview, widgets.HBox([self.confirm_button, self.cancel_button])],
            layout=widgets.Layout(border="1px solid #ef6c00", padding="4px", display=_HIDDEN),
        )
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                              layout=widgets.Layout(width="200px"))
        self.follow_label = widgets.Label(layout=widgets.Layout(width="auto"))
        self.stop_button = widgets.Button(description="Stop watching", icon="stop")
        self.follow_box = widgets.HBox([self.progress, self.follow_label, self.stop_button],
                                       layout=widgets.Layout(display=_HIDDEN))
        self.error_html = widgets.HTML(layout=widgets.Layout(display=_HIDDEN))

        self.state_filter.observe(self._on_filter, names="value")
        self.window.observe(self._on_filter, names="value")
        self.picker.observe(self._on_pick, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.retry_button.on_click(lambda _b: self.request_retry())
        self.confirm_button.on_click(lambda _b: self.confirm_retry())
        self.cancel_button.on_click(lambda _b: _show(self.confirm_box, False))
        self.stop_button.on_click(lambda _b: self.state.panel.stop_following())
        self.state.panel.observe(self._on_panel, names=["runs", "error", "follow"])
        self.state.observe(self._on_explorer, names=["selected", "failing_task", "error"])

        self.children = [
            self.title,
            widgets.HBox([self.state_filter, widgets.VBox([self.window, self.refresh_button,
                                                           self.count])]),
            self.picker,
            self.run_details,
            widgets.HBox([self.retry_button]),
            self.hint,
            self.confirm_box,
            self.follow_box,
            self.error_html,
            self.task_details,
        ]
        self.state.refresh()
        self.render()

    # -- events -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.state.refresh()
        self.render()

    def _on_filter(self, _change: dict[str, Any]) -> None:
        self.state.states = tuple(self.state_filter.value)
        self.state.window = self.window.value
        self.render()

    def _on_pick(self, change: dict[str, Any]) -> None:
        run = change["new"]
        if run is not self.state.selected:
            self.state.select(run)

    def _on_panel(self, change: dict[str, Any]) -> None:
        if change["name"] == "follow":
            self._render_follow(change["new"])
        else:
            if change["name"] == "error":
                self.state.error = change["new"]
            self.render()

    def _on_explorer(self, _change: dict[str, Any]) -> None:
        self._render_selection()

    def request_retry(self) -> None:
        """First step: show which run is retried and what reruns."""
        check = self.state.retry_availability
        if not check.enabled:
            self.state.error = f"retry is not possible: {check.reason}"
            return
        preview = self.state.panel.preview("retry")
        if not self.confirm:
            self.confirm_retry()
            return
        items = "".join(f"<li>{html.escape(line)}</li>" for line in preview.effects)
        self.preview.value = f"<b>{html.escape(preview.title)}?</b><ul>{items}</ul>"
        _show(self.confirm_box, True)

    def confirm_retry(self) -> None:
        _show(self.confirm_box, False)
        try:
            self.state.retry()
        except Exception as exc:  # noqa: BLE001 - never a traceback in a panel
            self.state.error = error_line(exc, doing="retry")

    # -- rendering --------------------------------------------------------------------------
    def render(self) -> None:
        with self._render_lock:
            panel = self.state.panel
            root = panel.root_name
            self.title.value = (
                f"<b style='font-size:120%'>Runs of {html.escape(root)}</b> "
                "<small>(recent history from complete-graphs and current-graphs)</small>"
            )
            runs = self.state.filtered()
            self.count.value = f"{len(runs)} of {len(panel.runs)} runs"
            options = [(run_label(r), r) for r in runs]
            shown = [o[0] if isinstance(o, tuple) else o for o in self.picker.options]
            if [o[0] for o in options] != shown:
                selected = self.state.selected
                self.picker.options = options
                keep = [r for r in runs if selected is not None and run_key(r) == run_key(selected)]
                if keep:
                    self.state.selected = keep[0]  # the same run, as fetched just now
                self.picker.value = keep[0] if keep else None
            self._render_selection()

    def _render_selection(self) -> None:
        with self._render_lock:
            run = self.state.selected
            if run is None:
                self.run_details.value = "<i>pick a run to see its details</i>"
            else:
                rows = [
                    ("state", state_badge(run.state)),
                    ("run id", html.escape(str(run.run_id))),
                    ("graph version", html.escape(str(run.graph_version))),
                    ("scheduled", format_time(run.scheduled_time)),
                    ("started", format_time(run.query_start_time)),
                    ("completed", format_time(run.completed_time)),
                    ("failing task", f"<b>{html.escape(run.first_error_task_name or '')}</b>"),
                    ("error code", html.escape(str(run.first_error_code or ""))),
                    ("error", (f"<pre style='white-space:pre-wrap;margin:0'>"
                              f"{html.escape(run.first_error_message or '')}</pre>")),
                ]
                self.run_details.value = (
                    '<table class="tasknb-run" style="font-size:90%">'
                    + "".join(
                        f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                        for k, v in rows
                        if v and v != "<b></b>"
                    )
                    + "</table>"
                )
            task = self.state.failing_task
            self.task_details.value = (
                "<b>Definition of the failing task</b>" + task_details_html(task) if task else ""
            )
            check = self.state.retry_availability
            self.retry_button.disabled = not check.enabled
            self.retry_button.tooltip = check.reason or "Retry this run (RETRY LAST)"
            self.hint.value = (
                f'<small class="tasknb-hint" style="color:#616161">{html.escape(check.reason)}</small>'
                if check.reason
                else ""
            )
            self.error_html.value = error_html(self.state.error)
            _show(self.error_html, bool(self.state.error))

    def _render_follow(self, follow: FollowStatus) -> None:
        if not follow.active and not follow.state:
            _show(self.follow_box, False)
            return
        _show(self.follow_box, True)
        _show(self.stop_button, follow.active)
        self.progress.value = follow.fraction or 0.0
        colour = {"SUCCEEDED": "success", "FAILED": "danger", "CANCELLED": "warning"}
        self.progress.bar_style = colour.get(follow.state, "info")
        bits = [follow.state, follow.message]
        if follow.last_refreshed is not None:
            bits.append(f"last refreshed {format_time(follow.last_refreshed)} UTC")
        self.follow_label.value = " · ".join(b for b in bits if b)
