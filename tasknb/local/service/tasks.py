"""Tasks: list, fetch, dependents, create/alter/drop, resume/suspend, enable dependents, tags.

Every refusal raises :class:`~tasknb.local.rules.ApiError` and changes nothing; a write is
checked against the graph rules (:mod:`.graphs`) under the service's lock and committed before
the call returns. Resuming a root fixes a new graph version and arms its schedule; suspending
it disarms the schedule (a running graph run is left to finish).
"""

from __future__ import annotations

import uuid
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import ApiError, fold_identifier
from tasknb.local.service import bodies, triggers
from tasknb.local.service.bodies import to_db
from tasknb.local.service.graphruns import GraphRuns
from tasknb.local.service.graphs import Graphs
from tasknb.local.service.state import ServiceState


class Tasks:
    """The task operations of one service (``runs`` holds the schedules and queued runs)."""

    def __init__(self, state: ServiceState, graphs: Graphs, runs: GraphRuns) -> None:
        self.state = state
        self.graphs = graphs
        self.runs = runs
        # (database, schema) -> task name -> (record, finalizer, JSON text of its Task body)
        self._json_rows: dict[tuple[str, str], dict[str, tuple[Any, str | None, str]]] = {}

    def list_tasks(self, database: str, schema: str, *, root_only: bool = False,
                   like: str | None = None, starts_with: str | None = None,
                   show_limit: int | None = None, from_name: str | None = None
                   ) -> list[dict[str, Any]]:
        """GET .../tasks: SHOW TASKS in lexicographic order."""
        tasks, names, finalizers = self._listed(database, schema, root_only, like, starts_with,
                                                show_limit, from_name)
        return [bodies.task_to_api(tasks[n], finalizers.get(n)) for n in names]

    def list_tasks_json(self, database: str, schema: str, *, root_only: bool = False,
                        like: str | None = None, starts_with: str | None = None,
                        show_limit: int | None = None, from_name: str | None = None
                        ) -> list[str]:
        """:meth:`list_tasks` with each row as its JSON text, built once per stored record
        (a record is replaced, never changed, when its task changes), so that a long listing
        costs little more than joining the texts."""
        tasks, names, finalizers = self._listed(database, schema, root_only, like, starts_with,
                                                show_limit, from_name)
        return self._json_of(tasks, names, finalizers)

    def _json_of(self, tasks: dict[str, dict[str, Any]], names: list[str],
                 finalizers: dict[str, str]) -> list[str]:
        """The JSON text of each named task's body, from the cache while its record stands."""
        key = (tasks[names[0]]["database_name"], tasks[names[0]]["schema_name"]) if names else None
        cache = self._json_rows.setdefault(key, {}) if key else {}
        if key and len(cache) > 2 * len(tasks) + 100:  # dropped tasks: start the cache again
            cache = self._json_rows[key] = {}
        out = []
        for name in names:
            rec, finalizer = tasks[name], finalizers.get(name)
            hit = cache.get(name)
            if hit is None or hit[0] is not rec or hit[1] != finalizer:
                hit = cache[name] = (rec, finalizer, bodies.encode_json(
                    bodies.task_to_api(rec, finalizer)))
            out.append(hit[2])
        return out

    def _listed(self, database: str, schema: str, root_only: bool, like: str | None,
                starts_with: str | None, show_limit: int | None, from_name: str | None
                ) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, str]]:
        db, sc = self.state.schema(database, schema)
        tasks = dict(self.state.store.tasks_in(db, sc))
        candidates = [n for n, r in tasks.items() if not root_only or rules.is_root(r)]
        names = rules.filter_names(candidates, like=like, starts_with=starts_with,
                                   from_name=from_name, limit=show_limit)
        finalizers = rules.finalizer_index(tasks)  # from this snapshot, not the cache
        return tasks, names, finalizers

    def fetch_task(self, database: str, schema: str, name: str) -> dict[str, Any]:
        """GET .../tasks/{name}."""
        db, sc, folded, rec = self.state.task(database, schema, name)
        return bodies.task_to_api(rec, self._finalizer_of(db, sc, folded))

    def _finalizer_of(self, database: str, schema: str, name: str) -> str | None:
        return self.state.index(database, schema)[1].get(name)

    def dependents(self, database: str, schema: str, name: str,
                   recursive: bool = True) -> list[dict[str, Any]]:
        """GET .../tasks/{name}/dependents: the task first, then dependents in topological order."""
        tasks, names, finalizers = self._dependents(database, schema, name, recursive)
        return [bodies.task_to_api(tasks[n], finalizers.get(n)) for n in names]

    def dependents_json(self, database: str, schema: str, name: str,
                        recursive: bool = True) -> list[str]:
        """:meth:`dependents` with each row as its JSON text (see :meth:`list_tasks_json`)."""
        return self._json_of(*self._dependents(database, schema, name, recursive))

    def _dependents(self, database: str, schema: str, name: str, recursive: bool
                    ) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, str]]:
        db, sc, folded, _ = self.state.task(database, schema, name)
        tasks = dict(self.state.store.tasks_in(db, sc))
        children = rules.children_index(tasks)
        finalizers = rules.finalizer_index(tasks)
        if recursive:
            below = rules.descendants(folded, children)
            ordered = [n for n in rules.topological_order([folded, *below], tasks)
                       if n != folded]
        else:
            ordered = list(children.get(folded, ()))
        fin = finalizers.get(folded)
        if fin and fin not in ordered:
            ordered.append(fin)
        return tasks, [folded, *ordered], finalizers

    def create_task(self, database: str, schema: str, body: Any,
                    create_mode: str | None = None) -> str:
        """POST .../tasks with createMode errorIfExists | orReplace | ifNotExists."""
        mode = rules.check_create_mode(create_mode)
        with self.state.lock:
            db, sc = self.state.schema(database, schema)
            spec = bodies.parse_task_body(body, db, sc)
            name = spec["name"]
            old = self.state.store.tasks_in(db, sc).get(name)
            if old is not None and mode == "errorIfExists":
                raise rules.already_exists(rules.render_identifier(name))
            if old is not None and mode == "ifNotExists":
                return f"{rules.render_identifier(name)} already exists, statement succeeded."
            self._write_task(db, sc, spec, old, replace=True)
        return f"Task {rules.render_identifier(name)} successfully created."

    def create_or_alter_task(self, database: str, schema: str, name: str, body: Any) -> str:
        """PUT .../tasks/{name}: create, or replace every property (keeps id and created_on)."""
        with self.state.lock:
            db, sc = self.state.schema(database, schema)
            path_name = fold_identifier(name, "name")
            spec = bodies.parse_task_body(body, db, sc, path_name=path_name)
            old = self.state.store.tasks_in(db, sc).get(path_name)
            self._write_task(db, sc, spec, old, replace=False)
        if old is None:
            return f"Task {rules.render_identifier(path_name)} successfully created."
        return "Statement executed successfully."

    def _write_task(self, db: str, sc: str, spec: dict[str, Any], old: dict[str, Any] | None,
                    *, replace: bool) -> None:
        """Create (old None), replace (new object) or alter (keep identity) one task."""
        name = spec["name"]
        now = to_db(self.state.clock.now())
        if old is None or replace:
            rec: dict[str, Any] = {
                "database_name": db, "schema_name": sc, "name": name,
                "id": str(uuid.uuid4()), "created_on": now, "state": "suspended",
                "last_committed_on": None, "last_suspended_on": None,
                "last_suspended_reason": None, "graph_version": 0,
                "committed_fingerprint": None, "schedule_anchor": None, "failure_streak": 0,
            }
        else:
            rec = {k: v for k, v in old.items() if k not in bodies.TASK_PROPERTIES}
        for key in bodies.TASK_PROPERTIES:
            rec[key] = spec.get(key)
        tasks = self.state.store.tasks_in(db, sc)
        after = dict(tasks)
        after[name] = rec
        children, finalizers = self.state.index(db, sc)
        children = dict(children)
        for pred in set((old or {}).get("predecessors") or ()) | set(rec["predecessors"]):
            kids = [c for c in children.get(pred, ()) if c != name]
            if pred in rec["predecessors"]:
                kids = sorted([*kids, name])
            children[pred] = kids
        finalizers = {t: f for t, f in finalizers.items() if f != name}
        if rec.get("finalize") and rec["finalize"] not in finalizers:
            finalizers[rec["finalize"]] = name
        self.graphs.check_links(db, sc, name, after, children, finalizers)
        affected = {name}
        if old is not None:
            self.graphs.require_suspended_roots(db, sc, affected, tasks)
        self.graphs.require_suspended_roots(db, sc, affected, after, skip_self_started=old is None)
        with self.state.store.transaction() as tx:
            if old is not None and replace:
                tx.delete_task(db, sc, name)
            tx.put_task(rec)
        self.state.index_cache[(db, sc)] = (self.state.store.versions.get((db, sc), 0), children, finalizers)
        if old is not None and replace:
            self.runs.ticker.disarm((db, sc, name))

    def delete_task(self, database: str, schema: str, name: str, if_exists: bool = False) -> str:
        """DELETE .../tasks/{name}; former children without predecessors become suspended roots."""
        with self.state.lock:
            try:
                db, sc, folded, _rec = self.state.task(database, schema, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    return "Drop statement executed successfully (object does not exist)."
                raise
            tasks = self.state.store.tasks_in(db, sc)
            children, finalizers = self.state.index(db, sc)
            if rules.in_graph(folded, tasks, children, finalizers):
                self.graphs.require_suspended_roots(db, sc, {folded}, tasks)
            now = to_db(self.state.clock.now())
            with self.state.store.transaction() as tx:
                tx.delete_task(db, sc, folded)
                for child in children.get(folded, ()):
                    crec = dict(tasks[child])
                    crec["predecessors"] = [p for p in crec["predecessors"] if p != folded]
                    if not crec["predecessors"] and crec["state"] == "started":
                        crec.update(state="suspended", last_suspended_on=now,
                                    last_suspended_reason="CHILD_BECAME_ROOT")
                    tx.put_task(crec)
                fin = finalizers.get(folded)
                if fin:
                    frec = dict(tasks[fin])
                    frec["finalize"] = None
                    if frec["state"] == "started":
                        frec.update(state="suspended", last_suspended_on=now,
                                    last_suspended_reason="FINALIZER_BECAME_ROOT")
                    tx.put_task(frec)
            self.runs.ticker.disarm((db, sc, folded))
            self.runs.forget_pending((db, sc, folded))
        return f"{rules.render_identifier(folded)} successfully dropped."

    def resume_task(self, database: str, schema: str, name: str) -> str:
        """POST .../tasks/{name}:resume; a root is validated, versioned and scheduled."""
        with self.state.lock:
            db, sc, folded, rec = self.state.task(database, schema, name)
            tasks = self.state.store.tasks_in(db, sc)
            if not rules.is_root(rec):
                self.graphs.require_suspended_roots(db, sc, {folded}, tasks)
                if rec["state"] != "started":
                    with self.state.unlinked_write(db, sc), self.state.store.transaction() as tx:
                        tx.put_task({**rec, "state": "started"})
                return "Statement executed successfully."
            if rec["state"] == "started":
                return "Statement executed successfully."
            members = rules.check_graph_runnable(folded, db, sc, tasks, *self.state.index(db, sc))
            rec = self.graphs.commit_version(db, sc, folded, members, extra={
                "state": "started", "schedule_anchor": to_db(self.state.clock.now()),
                "failure_streak": 0})
            if rec.get("schedule"):
                self.runs.ticker.arm((db, sc, folded), rec["schedule"], self.state.clock.now())
            elif triggers.is_triggered(rec):  # polls its stream (service/triggers.py)
                self.runs.ticker.arm((db, sc, folded), triggers.poll_schedule(rec),
                                     self.state.clock.now())
        return "Statement executed successfully."

    def enable_dependents(self, database: str, schema: str, name: str) -> list[str]:
        """SYSTEM$TASK_DEPENDENTS_ENABLE: resume a task and everything below it (and a root's
        finalizer), children first; return the names resumed. All-or-nothing: a refusal (graph
        started, cycle, second root) resumes nothing."""
        with self.state.lock:
            db, sc, folded, rec = self.state.task(database, schema, name)
            tasks = self.state.store.tasks_in(db, sc)
            children, finalizers = self.state.index(db, sc)
            self.graphs.require_suspended_roots(db, sc, {folded}, tasks)
            below = rules.descendants(folded, children)
            fin = finalizers.get(folded)
            if fin and fin not in below:
                below.append(fin)
            if rules.is_root(rec):
                rules.check_graph_runnable(folded, db, sc, tasks, children, finalizers)
            resumed = [n for n in below if tasks[n]["state"] != "started"]
            with self.state.unlinked_write(db, sc), self.state.store.transaction() as tx:
                for child in resumed:
                    tx.put_task({**tasks[child], "state": "started"})
            if rec["state"] != "started":
                self.resume_task(database, schema, name)
                resumed.append(folded)
        return resumed

    def suspend_task(self, database: str, schema: str, name: str) -> str:
        """POST .../tasks/{name}:suspend; a running graph run is left to finish."""
        with self.state.lock:
            db, sc, folded, rec = self.state.task(database, schema, name)
            if not rules.is_root(rec):
                self.graphs.require_suspended_roots(db, sc, {folded}, self.state.store.tasks_in(db, sc))
            if rec["state"] == "started":
                self.runs.suspend(db, sc, folded, rec, "USER_SUSPENDED")
        return "Statement executed successfully."

    def set_tags(self, database: str, schema: str, name: str, body: Any,
                 if_exists: bool = False) -> str:
        """POST .../tasks/{name}:set-tags."""
        return self._change_tags(database, schema, name, body, if_exists, with_values=True)

    def unset_tags(self, database: str, schema: str, name: str, body: Any,
                   if_exists: bool = False) -> str:
        """POST .../tasks/{name}:unset-tags."""
        return self._change_tags(database, schema, name, body, if_exists, with_values=False)

    def _change_tags(self, database: str, schema: str, name: str, body: Any,
                     if_exists: bool, *, with_values: bool) -> str:
        """Set (``with_values``) or unset tags; the body is checked even when skipped."""
        with self.state.lock:
            try:
                db, sc, folded, _ = self.state.task(database, schema, name)
            except ApiError as exc:
                if if_exists and exc.status == 404:
                    bodies.parse_tags_body(body, "DB", "S", with_values=with_values)
                    return "Statement executed successfully."
                raise
            tags = bodies.parse_tags_body(body, db, sc, with_values=with_values)
            with self.state.store.transaction() as tx:
                for tag_db, tag_sc, tag_name, value in tags:
                    if with_values:
                        tx.set_tag((db, sc, folded), (tag_db, tag_sc, tag_name), value or "")
                    else:
                        tx.unset_tag((db, sc, folded), (tag_db, tag_sc, tag_name))
        return "Statement executed successfully."

    def get_tags(self, database: str, schema: str, name: str) -> list[dict[str, Any]]:
        """GET .../tasks/{name}:get-tags."""
        db, sc, folded, _ = self.state.task(database, schema, name)
        assigned = self.state.store.tags.get((db, sc, folded), {})
        return [bodies.tag_to_api(*tag, value) for tag, value in sorted(assigned.items())]
