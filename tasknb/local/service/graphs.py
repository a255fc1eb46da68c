"""Graph rules that read the stored tasks: links (predecessors, finalizers, sizes), the
suspended-root rule of a started graph, and graph versions.

    >>> started = {"A": {"definition": "select 1", "state": "started"}}
    >>> suspended = {"A": {"definition": "select 1", "state": "suspended"}}
    >>> fingerprint(["A"], started) == fingerprint(["A"], suspended)
    True

A root's graph version goes up when anything that a run would see (definitions, links,
schedule, config...) changed since the last version was fixed: :func:`fingerprint` hashes a
graph's members without their run-time bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import qualified, rule_error
from tasknb.local.service.bodies import to_db
from tasknb.local.service.state import ServiceState

# properties that change without making a new graph version
_FINGERPRINT_EXCLUDE = {"state", "id", "created_on", "last_committed_on", "last_suspended_on",
                        "last_suspended_reason", "graph_version", "committed_fingerprint",
                        "schedule_anchor", "failure_streak"}


def fingerprint(members: list[str], tasks: dict[str, dict[str, Any]]) -> str:
    """A hash of what a run of the graph ``members`` would see (see the module docstring)."""
    payload = [[m, {k: v for k, v in tasks[m].items() if k not in _FINGERPRINT_EXCLUDE}]
               for m in sorted(members)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class Graphs:
    """The graph rules of one service (they read and write its store under its lock)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def check_links(self, db: str, sc: str, name: str, tasks: dict[str, dict[str, Any]],
                    children: dict[str, list[str]], finalizers: dict[str, str]) -> None:
        """Predecessor and finalizer rules for ``name`` in the state ``tasks``."""
        rec = tasks[name]
        fqn = qualified(db, sc, name)
        for pred in rec.get("predecessors") or ():
            if pred not in tasks:
                raise rule_error(f"Invalid predecessor {qualified(db, sc, pred)} was specified.")
            if tasks[pred].get("finalize"):
                raise rule_error(f"Task {qualified(db, sc, pred)} cannot have children as a "
                                 "finalizer task.")
        for pred in rec.get("predecessors") or ():
            if len(children.get(pred, ())) > rules.MAX_CHILDREN:
                raise rule_error(f"Task {qualified(db, sc, pred)} would have more than "
                                 f"{rules.MAX_CHILDREN} child tasks.")
        target = rec.get("finalize")
        if target:
            if target not in tasks:
                raise rule_error(f"Invalid finalized root task {qualified(db, sc, target)} was "
                                 "specified.")
            if not rules.is_root(tasks[target]):
                raise rule_error(f"Task {fqn} cannot finalize a non-root task "
                                 f"{qualified(db, sc, target)}.")
            other = finalizers.get(target)
            if other is not None and other != name:
                raise rule_error(f"Finalize target {qualified(db, sc, target)} already have "
                                 f"finalizer {qualified(db, sc, other)}.")
            if children.get(name):
                raise rule_error(f"Task {fqn} cannot have children as a finalizer task.")
        if rec.get("predecessors"):
            fin = finalizers.get(name)
            if fin:
                raise rule_error(f"Task {fqn} cannot have predecessors because it has a "
                                 f"finalizer task {qualified(db, sc, fin)}.")
        for root in rules.roots_of(name, tasks) or {name}:
            size = len(rules.graph_members(root, tasks, children, finalizers))
            if size > rules.MAX_GRAPH_TASKS:
                raise rule_error(f"The graph of root task {qualified(db, sc, root)} would have "
                                 f"{size} tasks; at most {rules.MAX_GRAPH_TASKS} are allowed.")

    def require_suspended_roots(self, db: str, sc: str, names: set[str],
                                tasks: dict[str, dict[str, Any]], *,
                                skip_self_started: bool = False) -> None:
        """091421 unless every root of the graphs touching ``names`` is suspended."""
        for name in sorted(names):
            for root in sorted(rules.roots_of(name, tasks)):
                if skip_self_started and root == name:
                    continue
                if tasks[root]["state"] == "started":
                    raise rules.root_not_suspended(qualified(db, sc, root))

    def commit_version(self, db: str, sc: str, root: str, members: list[str],
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fix a new graph version if anything changed since the last one; return the root."""
        tasks = self.state.store.tasks_in(db, sc)
        rec = dict(tasks[root])
        digest = fingerprint(members, tasks)
        now = to_db(self.state.clock.now())
        if digest == rec.get("committed_fingerprint") and not extra:
            return rec
        with self.state.unlinked_write(db, sc), self.state.store.transaction() as tx:
            if digest != rec.get("committed_fingerprint"):
                rec["graph_version"] = int(rec.get("graph_version") or 0) + 1
                rec["committed_fingerprint"] = digest
                rec["last_committed_on"] = now
                for member in members:
                    if member != root:
                        tx.put_task({**tasks[member], "last_committed_on": now})
            rec.update(extra or {})
            tx.put_task(rec)
        return rec
