"""Graphviz SVG that fits its cell: width 100% (viewBox kept) once it is wider than a cell.

    >>> svg = '<svg width="1200pt" height="300pt" viewBox="0.00 0.00 1200.00 300.00" x="1">'
    >>> responsive_svg(svg)
    '<svg width="100%" style="max-width: 1600px; height: auto" viewBox="0.00 0.00 1200.00 300.00" x="1">'
    >>> responsive_svg('<svg width="200pt" height="50pt" viewBox="0 0 200 50">') == '<svg width="200pt" height="50pt" viewBox="0 0 200 50">'
    True

JupyterLab shows ``image/svg+xml`` as an ``<img>`` sized by the SVG's own width: a drawing
1,600 px wide needs sideways scrolling in a 1,000 px output. With ``width="100%"`` and no
height, the image takes the output's width and its height follows the viewBox. A drawing
that already fits (at most ``FIT_WIDTH_PX``) keeps its size, so a small graph is not blown
up to the full width. Inline (the interactive view, exported HTML) ``max-width`` also keeps
a wide drawing from growing past its natural size. Standard library only.
"""

from __future__ import annotations

import re

FIT_WIDTH_PX = 900.0
"""Drawings up to this wide keep their natural size (a JupyterLab output is ~1,000 px)."""
_PT_TO_PX = 96.0 / 72.0
_ROOT = re.compile(r"<svg\b[^>]*>", re.DOTALL)
_LENGTH = re.compile(r'\s(width|height)="([0-9.]+)(pt|px)?"')


def svg_size_px(svg: str) -> tuple[float, float] | None:
    """The ``(width, height)`` in CSS pixels the root ``<svg>`` asks for, if absolute.

        >>> svg_size_px('<svg width="72pt" height="36pt">')
        (96.0, 48.0)
    """
    root = _ROOT.search(svg)
    if root is None:
        return None
    sizes = {}
    for name, value, unit in _LENGTH.findall(root.group(0)):
        sizes[name] = float(value) * (_PT_TO_PX if unit in ("pt", "") else 1.0)
    if "width" not in sizes or "height" not in sizes:
        return None
    return sizes["width"], sizes["height"]


def responsive_svg(svg: str, *, fit_width_px: float = FIT_WIDTH_PX) -> str:
    """``svg`` with a root that scales to its container when wider than ``fit_width_px``."""
    root = _ROOT.search(svg)
    size = svg_size_px(svg)
    if root is None or size is None or size[0] <= fit_width_px or "viewBox" not in root.group(0):
        return svg
    width = size[0]
    tag = _LENGTH.sub("", root.group(0))
    tag = tag.replace(
        "<svg", f'<svg width="100%" style="max-width: {width:.0f}px; height: auto"', 1
    )
    return svg[: root.start()] + tag + svg[root.end():]
