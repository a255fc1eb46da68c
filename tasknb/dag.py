"""The shape of a task graph, shared by ``frames``, ``graph`` and ``widgets``: who precedes whom.

    >>> model = GraphModel.from_tasks([Task("R", "select 1"), Task("C", "select 2", predecessors=["R"])])
    >>> model.depths()
    {'R': 0, 'C': 1}

Pure standard library over ``tasknb.models``: no pandas, no graphviz. Tasks are keyed by
``tasknb.identifiers.name_key``: the last part of a qualified name counts (``DB.SCH.T`` is
``T``), unquoted names fold to upper case, quoted names (``"my task"``) are exact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from tasknb.identifiers import name_key
from tasknb.models import Task


@dataclass
class GraphModel:
    """Tasks keyed by ``name_key`` with in-graph edges and finalizer links.

        >>> GraphModel.from_tasks([Task("R", "x"), Task("F", "y", finalize="R")]).finalizers
        {'R': 'F'}

    ``predecessors``/``children`` only hold edges between tasks that are present; a task
    whose predecessors are all absent counts as a start of the drawing.
    """

    tasks: dict[str, Task] = field(default_factory=dict)
    predecessors: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    finalizers: dict[str, str] = field(default_factory=dict)  # root key -> finalizer key

    @classmethod
    def from_tasks(cls, tasks: Iterable[Task]) -> GraphModel:
        model = cls()
        for task in tasks:
            key = name_key(task.name)
            if key not in model.tasks:
                model.tasks[key] = task
        for key in model.tasks:
            model.predecessors[key] = []
            model.children[key] = []
        for key, task in model.tasks.items():
            seen: set[str] = set()
            for predecessor in task.predecessors or ():
                pred_key = name_key(predecessor)
                if pred_key in model.tasks and pred_key not in seen and pred_key != key:
                    seen.add(pred_key)
                    model.predecessors[key].append(pred_key)
                    model.children[pred_key].append(key)
            if task.finalize:
                root_key = name_key(task.finalize)
                if root_key in model.tasks:
                    model.finalizers.setdefault(root_key, key)
            elif '"FinalizerTask"' in (task.task_relations or ""):
                finalizer = task.finalizer_task
                if finalizer and name_key(finalizer) in model.tasks:
                    model.finalizers.setdefault(key, name_key(finalizer))
        return model

    @property
    def finalizer_keys(self) -> set[str]:
        return set(self.finalizers.values()) | {
            key for key, task in self.tasks.items() if task.finalize
        }

    def root_of(self, key: str) -> str | None:
        """The root a finalizer finalizes, if present."""
        for root, finalizer in self.finalizers.items():
            if finalizer == key:
                return root
        return None

    def depths(self) -> dict[str, int | None]:
        """Longest-path depth from the starts (0); a finalizer sits one past its graph's end.

        Tasks on a cycle (possible while a graph is suspended) get ``None``.
        """
        finalizers = self.finalizer_keys
        indegree = {key: len(preds) for key, preds in self.predecessors.items()}
        depth: dict[str, int | None] = dict.fromkeys(self.tasks)
        queue = deque(key for key, count in indegree.items() if count == 0)
        for key in queue:
            depth[key] = 0
        while queue:
            key = queue.popleft()
            for child in self.children[key]:
                candidate = (depth[key] or 0) + 1
                if depth[child] is None or candidate > (depth[child] or 0):
                    depth[child] = candidate
                indegree[child] -= 1
                if indegree[child] == 0:
                    queue.append(child)
        for key, count in indegree.items():
            if count > 0:
                depth[key] = None
        for root, finalizer in self.finalizers.items():
            members = self.downstream(root) - {finalizer}
            deepest = max((depth[m] for m in members if depth[m] is not None), default=0)
            depth[finalizer] = deepest + 1
        for key in finalizers - set(self.finalizers.values()):
            depth[key] = 0 if depth[key] is None else depth[key]
        return depth

    def _walk(self, start: str, links: dict[str, list[str]]) -> set[str]:
        seen = {start}
        stack = [start]
        while stack:
            for nxt in links.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def upstream(self, key: str) -> set[str]:
        """``key`` and every task it (transitively) waits for; a finalizer waits for its graph."""
        root = self.root_of(key)
        if root is not None:
            return self.downstream(root) | {key}
        return self._walk(key, self.predecessors)

    def downstream(self, key: str) -> set[str]:
        """``key`` and every task that (transitively) waits for it, finalizers included."""
        reached = self._walk(key, self.children)
        ancestors = self._walk(key, self.predecessors)
        for root, finalizer in self.finalizers.items():
            if root in reached or root in ancestors:
                reached.add(finalizer)
        return reached
