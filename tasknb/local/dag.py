"""Task graphs as the local server stores them: children and finalizer indexes, roots, members,
cycles, dependency order and the checks a graph must pass before it runs.

    >>> tasks = {"R": {}, "A": {"predecessors": ["R"]}, "B": {"predecessors": ["R", "A"]}}
    >>> topological_order(graph_members("R", tasks), tasks)
    ['R', 'A', 'B']

Tasks are ``{name: record}`` of one schema; a record's ``predecessors`` and ``finalize`` name
other tasks of that schema. Everything here is pure and linear in the graph's size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from tasknb.local.errors import rule_error
from tasknb.local.limits import MAX_GRAPH_TASKS
from tasknb.local.names import qualified


def children_index(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Map each task name to the tasks that list it as a predecessor (sorted)."""
    children: dict[str, list[str]] = {}
    for name, rec in sorted(tasks.items()):  # a snapshot: readers do not hold a lock
        for pred in rec.get("predecessors") or ():
            children.setdefault(pred, []).append(name)
    return children


def finalizer_index(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Map each finalized root name to its finalizer's name."""
    return {rec["finalize"]: name for name, rec in list(tasks.items()) if rec.get("finalize")}


def is_root(rec: Mapping[str, Any]) -> bool:
    """A root or standalone task: no predecessor and not a finalizer."""
    return not rec.get("predecessors") and not rec.get("finalize")


def roots_of(name: str, tasks: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The roots above ``name`` (itself for a root; a finalizer's root for a finalizer)."""
    roots: set[str] = set()
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        rec = tasks.get(current)
        if rec is None:
            continue
        if rec.get("finalize"):
            stack.append(rec["finalize"])
        elif rec.get("predecessors"):
            stack.extend(rec["predecessors"])
        else:
            roots.add(current)
    return roots


def descendants(name: str, children: Mapping[str, list[str]]) -> list[str]:
    """Every task below ``name`` (breadth-first, each once, ``name`` excluded)."""
    order: list[str] = []
    seen = {name}
    queue = deque([name])
    while queue:
        current = queue.popleft()
        for child in children.get(current, ()):
            if child not in seen:
                seen.add(child)
                order.append(child)
                queue.append(child)
    return order


def graph_members(root: str, tasks: Mapping[str, Mapping[str, Any]],
                  children: Mapping[str, list[str]] | None = None,
                  finalizers: Mapping[str, str] | None = None) -> list[str]:
    """The root, everything below it, and its finalizer."""
    children = children if children is not None else children_index(tasks)
    members = [root, *descendants(root, children)]
    fin = (finalizers if finalizers is not None else finalizer_index(tasks)).get(root)
    if fin and fin not in members:
        members.append(fin)
    return members


def in_graph(name: str, tasks: Mapping[str, Mapping[str, Any]],
             children: Mapping[str, list[str]], finalizers: Mapping[str, str]) -> bool:
    """Whether a task takes part in a graph (has links in any direction)."""
    rec = tasks[name]
    return bool(rec.get("predecessors") or rec.get("finalize") or children.get(name)
                or finalizers.get(name))


def find_cycle(start: str, tasks: Mapping[str, Mapping[str, Any]],
               children: Mapping[str, list[str]]) -> str | None:
    """A task on a cycle reachable downward from ``start``, or None."""
    state: dict[str, int] = {}
    stack: list[tuple[str, int]] = [(start, 0)]
    while stack:
        node, index = stack.pop()
        if index == 0:
            if state.get(node) == 2:
                continue
            state[node] = 1
        kids = children.get(node, [])
        if index < len(kids):
            stack.append((node, index + 1))
            child = kids[index]
            if state.get(child) == 1:
                return child
            if state.get(child) is None:
                stack.append((child, 0))
        else:
            state[node] = 2
    return None


def topological_order(members: Iterable[str], tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Members in dependency order, level by level (ties by name); assumes no cycle."""
    member_set = set(members)
    indegree = {m: sum(1 for p in tasks[m].get("predecessors") or () if p in member_set)
                for m in member_set}
    children = children_index({m: tasks[m] for m in member_set})
    ready = deque(sorted(m for m, d in indegree.items() if d == 0))
    order: list[str] = []
    while ready:  # FIFO: level by level, each level's newcomers by name
        node = ready.popleft()
        order.append(node)
        for child in children.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order + sorted(member_set - set(order))


def check_graph_runnable(root: str, database: str, schema: str,
                         tasks: Mapping[str, Mapping[str, Any]],
                         children: Mapping[str, list[str]] | None = None,
                         finalizers: Mapping[str, str] | None = None) -> list[str]:
    """Validate a graph when its root is resumed or executed; return its members.

    Refuses cycles, a second root reachable through shared children, and graphs over 1000.
    """
    children = children if children is not None else children_index(tasks)
    cyclic = find_cycle(root, tasks, children)
    if cyclic is not None:
        raise rule_error("Graph has at least one cycle containing task "
                         f"{qualified(database, schema, cyclic)}.")
    members = graph_members(root, tasks, children, finalizers)
    for member in members:
        other_roots = roots_of(member, tasks) - {root}
        if other_roots:
            raise rule_error(
                "The graph has more than one root task (one without predecessors): "
                f"{qualified(database, schema, root)} and "
                f"{qualified(database, schema, min(other_roots))}.")
    if len(members) > MAX_GRAPH_TASKS:
        raise rule_error(f"The graph of root task {qualified(database, schema, root)} has "
                         f"{len(members)} tasks; at most {MAX_GRAPH_TASKS} are allowed.")
    return members
