"""``RunExplorer``: a root task's graph runs, filtered and picked, and the picked run's story.

``RunExplorer(client, "NIGHTLY_ROOT")`` lists the runs (state checkboxes and a time window
measured back from the server's *now*), shows the picked run's failing task and error, and
offers Retry (RETRY LAST) for the latest run when it failed. The picked run's tasks show as a
table (every attempt) and as a timeline (``tasknb.timeline``; TASK_HISTORY through SQL). It is a view over
``tasknb.widgets._explorer.RunExplorerState``; it refreshes together with every other widget
on the same root (``tasknb.widgets._hub``).
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from tasknb.models import Task
from tasknb.runs import ATTEMPT_FIELD
from tasknb.timeline import timeline
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
    message_html,
    state_badge,
    task_details_html,
)
from tasknb.widgets._parts import HIDDEN, CheckboxGroup, FollowLine, show, wide_html
from tasknb.widgets._task_table import task_runs_html
from tasknb.widgets._text import error_code_text, error_line


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
        self.state_filter = CheckboxGroup(RUN_STATES, description="States")
        self.window = widgets.Dropdown(options=list(TIME_WINDOWS), value="all", description="Time")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.count = widgets.Label()
        self.picker = widgets.Select(options=[], description="Runs", rows=8,
                                     layout=widgets.Layout(width="560px"))
        self.run_details = widgets.HTML()
        self.task_details = widgets.HTML()
        self.task_runs_html = wide_html()
        self.timeline = widgets.Output(layout=widgets.Layout(width="100%"))
        self._timeline_key: Any = None
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
            layout=widgets.Layout(border="1px solid #ef6c00", padding="4px", display=HIDDEN),
        )
        self.follow_box = FollowLine()
        self.progress, self.follow_label = self.follow_box.progress, self.follow_box.label
        self.stop_button = self.follow_box.stop_button
        self.error_html = wide_html(visible=False)

        self.state_filter.observe(self._on_filter, names="value")
        self.window.observe(self._on_filter, names="value")
        self.picker.observe(self._on_pick, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.retry_button.on_click(lambda _b: self.request_retry())
        self.confirm_button.on_click(lambda _b: self.confirm_retry())
        self.cancel_button.on_click(lambda _b: show(self.confirm_box, False))
        self.stop_button.on_click(lambda _b: self.state.panel.stop_following())
        self.state.panel.observe(self._on_panel, names=["runs", "error", "follow"])
        self.state.observe(self._on_explorer, names=["selected", "failing_task", "error",
                                                     "task_runs", "task_runs_note"])

        self.children = [
            self.title,
            self.state_filter,
            widgets.HBox([self.window, self.refresh_button, self.count]),
            self.picker,
            self.run_details,
            widgets.HBox([self.retry_button]),
            self.hint,
            self.confirm_box,
            self.follow_box,
            self.error_html,
            self.task_runs_html,
            self.timeline,
            self.task_details,
        ]
        self.state.refresh()
        self.render()

    def close(self) -> None:
        """Stop following any run, leave the graph's group, then close the widgets."""
        self.state.panel.stop_following()
        self.state.panel.leave()
        super().close()

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
            elif self.state.selected is not None:  # the picked run may have a new attempt
                self.state.load_task_runs()
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
        show(self.confirm_box, True)

    def confirm_retry(self) -> None:
        show(self.confirm_box, False)
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
                    ("attempt", html.escape(str(run.extra.get(ATTEMPT_FIELD) or ""))),
                    ("graph version", html.escape(str(run.graph_version))),
                    ("scheduled", format_time(run.scheduled_time)),
                    ("started", format_time(run.query_start_time)),
                    ("completed", format_time(run.completed_time)),
                    ("failing task", f"<b>{html.escape(run.first_error_task_name or '')}</b>"),
                    ("error code", html.escape(error_code_text(run.first_error_code))),
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
            self._render_task_runs()
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
            show(self.error_html, bool(self.state.error))

    def _render_task_runs(self) -> None:
        run, frame = self.state.selected, self.state.task_runs
        if run is None or frame is None:
            self.task_runs_html.value = message_html(self.state.task_runs_note) if run else ""
            self._show_timeline(None, None)
            return
        panel = self.state.panel
        self.task_runs_html.value = (
            f"<b>Tasks of run {html.escape(str(run.run_id))}</b> <small>(every attempt; "
            "TASK_HISTORY through SQL)</small>"
            + task_runs_html(frame, graph_order=[t.name for t in panel.graph_tasks])
        )
        self._show_timeline(run, frame)

    def _show_timeline(self, run: Any, frame: Any) -> None:
        """The picked run's timeline (one bar per task, ``tasknb.timeline``), redrawn only
        when its rows changed; a chart that cannot be drawn is one line."""
        key = None if frame is None else (run.run_id, id(frame))
        if key == self._timeline_key:
            return
        self._timeline_key = key
        self.timeline.outputs = ()
        if frame is None:
            return
        panel = self.state.panel
        try:
            chart = timeline(frame, panel.root_name, run=run.run_id,
                             tasks=[t.name for t in panel.graph_tasks])
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self.timeline.append_display_data(
                widgets.HTML(error_html(error_line(exc, doing="draw the timeline"))))
            return
        self.timeline.append_display_data(chart)

    def _render_follow(self, follow: FollowStatus) -> None:
        self.follow_box.render(follow)
