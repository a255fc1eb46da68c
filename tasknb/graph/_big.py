"""Big graphs stay drawable: a task's neighbourhood, and groups of tasks by schema or name prefix.

    >>> from tasknb.models import Task
    >>> chain = [Task("T0", "x")] + [Task(f"T{i}", "x", predecessors=[f"T{i-1}"]) for i in range(1, 9)]
    >>> near = neighbourhood(GraphModel.from_tasks(chain), "T4", steps=1)
    >>> near.keys, near.note
    (['T3', 'T4', 'T5'], 'showing T4 and 1 step around it (3 of 9 tasks): 3 further upstream and 3 further downstream left out; pass steps= to see more')

Pure functions of a ``GraphModel``: no layout, no network. ``neighbourhood`` is what child
panels draw; ``group_keys`` is how ``draw_graph`` collapses a graph of thousands of tasks
into a few dozen nodes that a layout engine draws in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tasknb.dag import GraphModel
from tasknb.identifiers import display_name, split_parts

MAX_TASKS = 150
"""Above this many tasks a drawing is collapsed (or focused): layout and SVG stay small."""
FOCUS_MAX_TASKS = 40
"""A neighbourhood found on its own (no ``steps``) stays this small: readable at a cell's width."""
GROUP_BUDGET = 40
"""At most this many groups in a collapsed drawing."""
KEEP_ALONE_MAX = 20
"""At most this many tasks drawn on their own in a collapsed drawing (roots, failures...)."""
_SEPARATORS = "_.-$ "


@dataclass
class Neighbourhood:
    """The tasks within ``steps`` of one task, and what was left out (counts and a line)."""

    focus: str
    keys: list[str]
    steps: int | None
    upstream_left: int = 0
    downstream_left: int = 0
    note: str = ""
    # kept task -> how many of its predecessors / children were left out
    cut_above: dict[str, int] = field(default_factory=dict)
    cut_below: dict[str, int] = field(default_factory=dict)


def _within(start: str, links: dict[str, list[str]], steps: int | None) -> set[str]:
    seen, frontier, step = {start}, [start], 0
    while frontier and (steps is None or step < steps):
        step += 1
        nxt = []
        for key in frontier:
            for other in links.get(key, ()):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
    return seen


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def neighbourhood(
    model: GraphModel,
    focus: str,
    *,
    steps: int | None = None,
    direction: str = "both",
    max_tasks: int | None = MAX_TASKS,
) -> Neighbourhood:
    """What is within ``steps`` links up- and/or downstream of ``focus`` (a name key).

    ``steps=None``: everything upstream/downstream, unless that is more than ``max_tasks``;
    then the most steps that stay within ``max_tasks`` (at least 1). The note says what was
    left out and how to see it.
    """
    up_all = model.upstream(focus) if direction in ("upstream", "both") else {focus}
    down_all = model.downstream(focus) if direction in ("downstream", "both") else {focus}
    wanted = up_all | down_all
    related_finalizers = wanted & model.finalizer_keys

    def kept_for(limit: int | None) -> set[str]:
        up = _within(focus, model.predecessors, limit) if direction != "downstream" else set()
        down = _within(focus, model.children, limit) if direction != "upstream" else set()
        if limit is None:
            return wanted
        # a finalizer runs after the whole graph: one task, always kept when related
        kept = up | down | {focus} | related_finalizers
        return kept & wanted | {focus}

    chosen_steps = steps
    kept = kept_for(steps)
    if steps is None and max_tasks is not None and len(kept) > max_tasks:
        chosen_steps = 1
        kept = kept_for(1)
        while True:
            wider = kept_for(chosen_steps + 1)
            if len(wider) > max_tasks or wider == kept:
                break
            chosen_steps, kept = chosen_steps + 1, wider
    keys = [key for key in model.tasks if key in kept]
    result = Neighbourhood(focus, keys, chosen_steps if kept != wanted else None)
    result.upstream_left = len(up_all - kept)
    result.downstream_left = len(down_all - kept)
    for key in keys:
        above = sum(1 for p in model.predecessors[key] if p in wanted and p not in kept)
        below = sum(1 for c in model.children[key] if c in wanted and c not in kept)
        if above:
            result.cut_above[key] = above
        if below:
            result.cut_below[key] = below
    if result.upstream_left or result.downstream_left:
        left = []
        if result.upstream_left:
            left.append(f"{result.upstream_left:,} further upstream")
        if result.downstream_left:
            left.append(f"{result.downstream_left:,} further downstream")
        result.note = (
            f"showing {display_name(model.tasks[focus].name)} and "
            f"{_plural(chosen_steps or 0, 'step')} around it "
            f"({len(keys):,} of {len(model.tasks):,} tasks): {' and '.join(left)} left out; "
            "pass steps= to see more"
        )
    return result


def _schema_of(model: GraphModel, key: str) -> str | None:
    task = model.tasks[key]
    parts = split_parts(task.name)
    if len(parts) >= 2:
        return display_name(parts[-2])
    return task.schema_name


def _next_prefix(name: str, start: int, by_char: bool) -> str:
    if start >= len(name):
        return name
    if by_char:
        return name[: start + 1]
    end = start
    while end < len(name) and name[end] in _SEPARATORS:
        end += 1
    while end < len(name) and name[end] not in _SEPARATORS:
        end += 1
    while end < len(name) and name[end] in _SEPARATORS:
        end += 1  # keep the separator: "LOAD_" reads as a prefix
    return name[:end]


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _split(prefix: str, names: list[str], by_char: bool) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for name in names:
        children.setdefault(_next_prefix(name, len(prefix), by_char), []).append(name)
    return children


def group_keys(
    model: GraphModel,
    keys: Iterable[str],
    *,
    alone: Iterable[str] = (),
    budget: int = GROUP_BUDGET,
) -> tuple[dict[str, str], str]:
    """``({task key: group label}, how)``: tasks gathered by schema, then by name prefix.

    Tasks in ``alone`` are not grouped. Groups split (largest first) at the next word of
    their names (``LOAD_`` -> ``LOAD_ORDERS_``), or at the next character when the words
    are too many (numbered tasks: ``TASK_0`` -> ``TASK_01``), while there are at most
    ``budget`` groups. ``how`` says what the groups are ("schema", "name prefix").
    """
    alone = set(alone)
    members = [key for key in keys if key not in alone]
    names = {key: display_name(model.tasks[key].name) for key in members}
    schemas = {key: _schema_of(model, key) for key in members}
    how = "name prefix"
    # group id -> (prefix, names); label -> keys via names
    by_name: dict[str, list[str]] = {}
    for key in members:
        by_name.setdefault(names[key], []).append(key)
    groups: list[tuple[str, str, list[str]]] = []  # (schema label, prefix, names)
    distinct_schemas = {s for s in schemas.values() if s}
    if len(distinct_schemas) > 1:
        how = "schema and name prefix"
        per_schema: dict[str, list[str]] = {}
        for key in members:
            per_schema.setdefault(schemas[key] or "?", []).append(names[key])
        for schema, group_names in per_schema.items():
            unique = sorted(set(group_names))
            groups.append((schema, _common_prefix(unique), unique))
    elif members:
        unique = sorted(set(names.values()))
        groups.append(("", _common_prefix(unique), unique))
    stuck: set[int] = set()
    while len(groups) < budget:
        candidates = [
            i for i, (_, _, group_names) in enumerate(groups) if len(group_names) > 1 and i not in stuck
        ]
        if not candidates:
            break
        index = max(candidates, key=lambda i: len(groups[i][2]))
        schema, prefix, group_names = groups[index]
        room = budget - len(groups) + 1
        children = _split(prefix, group_names, by_char=False)
        if len(children) == 1 or len(children) > room:
            children = _split(prefix, group_names, by_char=True)
        if len(children) > room:
            stuck.add(index)
            continue
        if len(children) == 1:
            only = next(iter(children))
            longer = _common_prefix(group_names)
            if only == prefix or len(longer) <= len(prefix):
                stuck.add(index)
                continue
            groups[index] = (schema, longer, group_names)
            continue
        replaced = [
            (schema, _common_prefix(child) if len(child) > 1 else child[0], child)
            for child in children.values()
        ]
        groups[index : index + 1] = replaced
        stuck = {i if i < index else i + len(replaced) - 1 for i in stuck}
    labels: dict[str, str] = {}
    for schema, prefix, group_names in groups:
        if len(group_names) == 1:
            label = ""  # drawn on its own
        else:
            label = (f"{schema}." if schema else "") + (prefix or "") + "…"
        for name in group_names:
            for key in by_name[name]:
                if label:
                    labels[key] = label
    if len(distinct_schemas) <= 1 and not labels:
        how = "name prefix"
    return labels, how
