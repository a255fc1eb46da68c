"""Pieces the panel and the explorer share: button captions, show/hide, the follow line and
a multi-choice group of checkboxes.

    >>> BUTTON_LABELS["retry"]
    'Retry last failed run'
    >>> checks = CheckboxGroup(["FAILED", "SUCCEEDED"], description="States")
    >>> checks.value = ("FAILED",)
    >>> [box.value for box in checks.boxes]
    [True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import traitlets

from tasknb.durations import format_duration
from tasknb.widgets._follow import FollowStatus
from tasknb.widgets._html import format_time

#: Button captions, by action.
BUTTON_LABELS = {
    "execute": "Execute",
    "suspend": "Suspend",
    "resume": "Resume",
    "retry": "Retry last failed run",
    "cancel": "Cancel run",
}
BUTTON_STYLES = {"execute": "primary", "suspend": "warning", "resume": "success", "retry": "info",
                 "cancel": "danger"}
BUTTON_ICONS = {"execute": "play", "suspend": "pause", "resume": "play-circle", "retry": "redo",
                "cancel": "ban"}
HIDDEN = "none"
_PROGRESS_STYLES = {"SUCCEEDED": "success", "FAILED": "danger", "CANCELLED": "warning"}


def show(widget: widgets.Widget, visible: bool) -> None:
    """Show or hide a widget (its layout's ``display``)."""
    widget.layout.display = None if visible else HIDDEN


def wide_html(value: str = "", *, visible: bool = True) -> widgets.HTML:
    """An HTML widget as wide as the panel, so that what it holds wraps instead of being cut."""
    return widgets.HTML(value, layout=widgets.Layout(width="100%",
                                                     display=None if visible else HIDDEN))


class FollowLine(widgets.HBox):
    """Progress bar, state line and Stop button of a followed run."""

    def __init__(self) -> None:
        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=widgets.Layout(width="200px")
        )
        self.label = widgets.Label(layout=widgets.Layout(width="auto"))
        self.stop_button = widgets.Button(
            description="Stop watching", icon="stop", layout=widgets.Layout(width="auto"),
            tooltip="Stop polling; the run itself goes on",
        )
        super().__init__([self.progress, self.label, self.stop_button],
                         layout=widgets.Layout(display=HIDDEN))

    def render(self, follow: FollowStatus) -> None:
        if not follow.active and not follow.state:
            show(self, False)
            return
        show(self, True)
        show(self.stop_button, follow.active)
        if follow.fraction is not None:
            self.progress.value = follow.fraction
        elif follow.active:
            self.progress.value = 0.0
        self.progress.bar_style = _PROGRESS_STYLES.get(follow.state, "info")
        bits = [follow.state]
        if follow.message:
            bits.append(follow.message)
        elapsed = follow.elapsed_s
        if follow.active and elapsed is not None:
            bits.append(format_duration(elapsed))
        if follow.last_refreshed is not None:
            bits.append(f"last refreshed {format_time(follow.last_refreshed)} UTC")
        self.label.value = " · ".join(bits)


class CheckboxGroup(widgets.VBox):
    """Several choices at once, each a visible checkbox (no hidden Ctrl-click).

    ``value`` is the tuple of the checked options, in option order; empty means none picked.
    """

    value = traitlets.Tuple()

    def __init__(self, options: Sequence[str], *, description: str = "",
                 hint: str = "none ticked: all") -> None:
        self.options = tuple(options)
        self.boxes = [
            widgets.Checkbox(value=False, description=option, indent=False,
                             layout=widgets.Layout(width="auto"))
            for option in self.options
        ]
        title = widgets.HTML(f"<b>{description}</b> <small style='color:#616161'>({hint})</small>")
        super().__init__([title, widgets.HBox(self.boxes, layout=widgets.Layout(flex_flow="row wrap"))])
        self._syncing = False
        for box in self.boxes:
            box.observe(self._on_box, names="value")

    @traitlets.validate("value")
    def _check(self, proposal: traitlets.Bunch) -> tuple[str, ...]:
        picked = {str(v) for v in proposal["value"]}
        unknown = sorted(picked - set(self.options))
        if unknown:
            raise traitlets.TraitError(
                f"unknown choice {unknown[0]!r}: expected some of {', '.join(self.options)}"
            )
        return tuple(o for o in self.options if o in picked)

    @traitlets.observe("value")
    def _on_value(self, change: traitlets.Bunch) -> None:
        self._syncing = True
        try:
            for option, box in zip(self.options, self.boxes):
                box.value = option in change["new"]
        finally:
            self._syncing = False

    def _on_box(self, _change: traitlets.Bunch) -> None:
        if not self._syncing:
            self.value = tuple(o for o, box in zip(self.options, self.boxes) if box.value)
