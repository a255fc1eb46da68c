"""What the run records say: current graph runs (plus the next scheduled one), completed
graph runs in the window, every graph run of a root, and per-task history.

Reads only: nothing here takes the service's lock.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import fold_identifier, qualified
from tasknb.local.schedule.ticker import Ticker
from tasknb.local.service import bodies
from tasknb.local.service.bodies import to_db
from tasknb.local.service.state import ServiceState
from tasknb.local.store import RUN_SUMMARY_COLUMNS

CURRENT_WINDOW = timedelta(days=8)  # CURRENT_TASK_GRAPHS looks 8 days ahead
DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 10_000
MAX_CACHED_RUNS = 20_000  # completed runs whose REST body is kept as JSON text (~0.5 KB each)


class RunHistory:
    """The run queries of one service (``ticker`` tells the next scheduled run)."""

    def __init__(self, state: ServiceState, ticker: Ticker) -> None:
        self.state = state
        self.ticker = ticker
        self._run_json: OrderedDict[int, str] = OrderedDict()  # completed run id -> its JSON

    def current_graphs(self, database: str, schema: str, name: str,
                       result_limit: int = rules.DEFAULT_RESULT_LIMIT) -> list[dict[str, Any]]:
        """GET .../current-graphs: executing runs, plus the next scheduled one (8 days)."""
        db, sc, folded, rec = self.state.task(database, schema, name)
        rows = self.state.store.graph_runs(
            "database = ? AND schema = ? AND root_name = ? AND state = 'EXECUTING'",
            (db, sc, folded), order="scheduled_time DESC", columns=RUN_SUMMARY_COLUMNS)
        out = [bodies.run_to_api(r) for r in rows]
        key = (db, sc, folded)
        nxt = self.ticker.next_fire(key)
        now = self.state.clock.now()
        if rec["state"] == "started" and nxt is not None and nxt - now <= CURRENT_WINDOW:
            after = self.ticker.fire_after(key, nxt) or nxt
            out.append(bodies.run_to_api({
                "root_name": folded, "database": db, "schema": sc, "state": "SCHEDULED",
                "scheduled_time": to_db(nxt), "next_scheduled_time": to_db(after),
                "root_id": rec["id"], "graph_version": int(rec.get("graph_version") or 1),
                "run_id": bodies.epoch_ms(nxt), "attempt": 1, "scheduled_from": "SCHEDULE"}))
        out.sort(key=lambda r: r["scheduled_time"], reverse=True)
        return out[:result_limit]

    def complete_graphs(self, database: str, schema: str, name: str,
                        result_limit: int = rules.DEFAULT_RESULT_LIMIT,
                        error_only: bool = False) -> list[dict[str, Any]]:
        """GET .../complete-graphs: runs completed within the window, newest first."""
        return [json.loads(text) for text in self.complete_graphs_json(
            database, schema, name, result_limit, error_only)]

    def complete_graphs_json(self, database: str, schema: str, name: str,
                             result_limit: int = rules.DEFAULT_RESULT_LIMIT,
                             error_only: bool = False) -> list[str]:
        """:meth:`complete_graphs` with each run as its JSON text. A completed run never
        changes, so its text is made once (:data:`MAX_CACHED_RUNS` kept, the newest); the
        query itself reads only ids, through the (root, completed_time) index."""
        db, sc, folded, _ = self.state.task(database, schema, name)
        since = to_db(self.state.clock.now() - self.state.complete_window)
        states = "('FAILED', 'CANCELLED')" if error_only else "('SUCCEEDED', 'FAILED', 'CANCELLED')"
        store = self.state.store
        ids = [row["id"] for row in store.graph_runs(
            f"database = ? AND schema = ? AND root_name = ? AND state IN {states} "
            "AND completed_time >= ?", (db, sc, folded, since),
            order="completed_time DESC, id DESC", limit=result_limit, columns=("id",))]
        cache = self._run_json
        found = {pk: cache.get(pk) for pk in ids}  # one read each: other threads may evict
        missing = [pk for pk, text in found.items() if text is None]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in store.graph_runs(f"id IN ({marks})", tuple(chunk),
                                        columns=RUN_SUMMARY_COLUMNS):
                found[row["id"]] = cache[row["id"]] = bodies.encode_json(bodies.run_to_api(row))
        while len(cache) > MAX_CACHED_RUNS:
            try:
                cache.popitem(last=False)  # the oldest made first
            except KeyError:  # emptied by another thread meanwhile
                break
        return [text for pk in ids if (text := found.get(pk)) is not None]

    def graph_runs(self, database: str, schema: str, name: str,
                   limit: int = DEFAULT_HISTORY_LIMIT) -> list[dict[str, Any]]:
        """Every recorded graph run of a root, newest first (no time window)."""
        db, sc, folded, _ = self.state.task(database, schema, name)
        rows = self.state.store.graph_runs("database = ? AND schema = ? AND root_name = ?",
                                     (db, sc, folded), order="id DESC", limit=limit,
                                     columns=RUN_SUMMARY_COLUMNS)
        return [bodies.run_to_api(r) for r in rows]

    def task_history(self, database: str, schema: str, name: str,
                     limit: int = DEFAULT_HISTORY_LIMIT) -> list[dict[str, Any]]:
        """Per-task runs (TASK_HISTORY-like), newest first."""
        folded = fold_identifier(name, "name")
        db, sc = self.state.schema(database, schema)
        if folded not in self.state.store.tasks_in(db, sc):
            has_rows = self.state.store.task_runs("database = ? AND schema = ? AND name = ?",
                                            (db, sc, folded), limit=1)
            if not has_rows:
                raise rules.not_found("Task", qualified(db, sc, folded))
        rows = self.state.store.task_runs("database = ? AND schema = ? AND name = ?",
                                    (db, sc, folded), order="id DESC", limit=limit)
        return [bodies.task_run_to_api(r) for r in rows]
