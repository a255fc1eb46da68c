"""Task history tables answered from the server's own run records.

    >>> uses_task_history("SELECT * FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY())")
    True

* ``TABLE([DB.]INFORMATION_SCHEMA.TASK_HISTORY(...))``: one row per task per graph run
  (:data:`COLUMNS`). Arguments, as Snowflake takes them: ``SCHEDULED_TIME_RANGE_START`` /
  ``_END`` (timestamps; the window is the last 7 days of the server's clock at most),
  ``RESULT_LIMIT`` (1 to 10,000, default 100), ``TASK_NAME`` (unqualified, case-insensitive),
  ``ERROR_ONLY`` (failed or cancelled runs: FAILED, FAILED_AND_AUTO_SUSPENDED, CANCELLED),
  ``ROOT_TASK_ID``.
* ``TABLE([DB.]INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS(...))``: graph runs completed in the
  last 60 minutes, newest completion first (:data:`GRAPH_COLUMNS`); ``RESULT_LIMIT`` (default
  1,000), ``ROOT_TASK_NAME``, ``ERROR_ONLY`` (FAILED or CANCELLED).
  ``CURRENT_TASK_GRAPHS(RESULT_LIMIT, ROOT_TASK_NAME)``: the runs scheduled or executing now
  (the same columns without COMPLETED_TIME).
* The views ``SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY`` and ``.COMPLETE_TASK_GRAPHS``: every
  database, 365 days (no ingestion lag locally; Snowflake's lags by up to 45 minutes).

Each argument is a literal, a ``?`` binding or a constant expression such as
``DATEADD('hour', -1, CURRENT_TIMESTAMP())``. ``INFORMATION_SCHEMA`` of
``DB.INFORMATION_SCHEMA`` names the database whose runs are listed (else the statement's).
A statement that reads them is rewritten before the engine runs it: each call or view becomes
a subquery of one ``CAST(UNNEST(?) AS <type>)`` per column, each ``?`` bound to that column of
the matching records as a list (names and messages are parameters, never SQL text), so
``WHERE``, ``ORDER BY`` and joins with the tables tasks wrote run in the engine as usual.
``QUERY_ID`` is the run record's id in Snowflake's query-id form (the ids SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS
reports); ``BACKFILL_INFO`` is always NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from tasknb.local import rules
from tasknb.local.query_ids import task_query_id
from tasknb.local.rules import ApiError
from tasknb.local.service import Service
from tasknb.local.store import RUN_SUMMARY_COLUMNS

FUNCTION = "TASK_HISTORY"
WINDOW = timedelta(days=7)
DEFAULT_RESULT_LIMIT = 100
MAX_RESULT_LIMIT = 10_000
ARGUMENT_ERROR = "001044"  # Snowflake: invalid argument types / values for a function
_MARKER = re.compile(r":tasknb_p(\d+)")
_ANY_MARKER = re.compile(r":tasknb_([pq])(\d+)")

#: TASK_HISTORY's columns and their Snowflake types, in Snowflake's order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("NAME", "TEXT"), ("DATABASE_NAME", "TEXT"), ("SCHEMA_NAME", "TEXT"),
    ("QUERY_ID", "TEXT"), ("QUERY_TEXT", "TEXT"), ("CONDITION_TEXT", "TEXT"),
    ("STATE", "TEXT"), ("ERROR_CODE", "NUMBER"), ("ERROR_MESSAGE", "TEXT"),
    ("SCHEDULED_TIME", "TIMESTAMP_LTZ"), ("QUERY_START_TIME", "TIMESTAMP_LTZ"),
    ("COMPLETED_TIME", "TIMESTAMP_LTZ"), ("NEXT_SCHEDULED_TIME", "TIMESTAMP_LTZ"),
    ("ROOT_TASK_ID", "TEXT"), ("GRAPH_VERSION", "NUMBER"), ("RUN_ID", "NUMBER"),
    ("RETURN_VALUE", "TEXT"), ("SCHEDULED_FROM", "TEXT"), ("ATTEMPT_NUMBER", "NUMBER"),
    ("CONFIG", "TEXT"), ("GRAPH_RUN_GROUP_ID", "TEXT"), ("BACKFILL_INFO", "VARIANT"),
)
_ARGUMENTS = ("SCHEDULED_TIME_RANGE_START", "SCHEDULED_TIME_RANGE_END", "RESULT_LIMIT",
              "TASK_NAME", "ERROR_ONLY", "ROOT_TASK_ID")
COMPLETE_GRAPHS, CURRENT_GRAPHS = "COMPLETE_TASK_GRAPHS", "CURRENT_TASK_GRAPHS"
GRAPHS_DEFAULT_LIMIT = 1000
COMPLETE_WINDOW = timedelta(minutes=60)  # COMPLETE_TASK_GRAPHS: runs completed this recently
ACCOUNT_USAGE_WINDOW = timedelta(days=365)  # SNOWFLAKE.ACCOUNT_USAGE keeps a year
MAX_VIEW_ROWS = 1_000_000
#: COMPLETE_TASK_GRAPHS' columns (CURRENT_TASK_GRAPHS has them all but COMPLETED_TIME).
GRAPH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ROOT_TASK_NAME", "TEXT"), ("DATABASE_NAME", "TEXT"), ("SCHEMA_NAME", "TEXT"),
    ("STATE", "TEXT"), ("SCHEDULED_FROM", "TEXT"), ("FIRST_ERROR_TASK_NAME", "TEXT"),
    ("FIRST_ERROR_CODE", "NUMBER"), ("FIRST_ERROR_MESSAGE", "TEXT"),
    ("SCHEDULED_TIME", "TIMESTAMP_LTZ"), ("QUERY_START_TIME", "TIMESTAMP_LTZ"),
    ("NEXT_SCHEDULED_TIME", "TIMESTAMP_LTZ"), ("COMPLETED_TIME", "TIMESTAMP_LTZ"),
    ("ROOT_TASK_ID", "TEXT"), ("GRAPH_VERSION", "NUMBER"), ("RUN_ID", "NUMBER"),
    ("ATTEMPT_NUMBER", "NUMBER"), ("CONFIG", "TEXT"), ("GRAPH_RUN_GROUP_ID", "TEXT"),
    ("BACKFILL_INFO", "VARIANT"),
)
_CURRENT_COLUMNS = tuple(c for c in GRAPH_COLUMNS if c[0] != "COMPLETED_TIME")
_GRAPH_ARGUMENTS = ("RESULT_LIMIT", "ROOT_TASK_NAME", "ERROR_ONLY")
_FUNCTIONS = (FUNCTION, COMPLETE_GRAPHS, CURRENT_GRAPHS)


def uses_task_history(sql: str) -> bool:
    """Whether a statement may read run records (a cheap test before parsing)."""
    text = sql.upper()
    return any(name in text for name in _FUNCTIONS)


def _argument_error(message: str) -> ApiError:
    return ApiError(422, ARGUMENT_ERROR, message)


def _call_of(node: exp.Expression) -> tuple[list[str], exp.Anonymous] | None:
    """(qualifier parts, the call) when ``node`` is TABLE([DB.]INFORMATION_SCHEMA.TASK_HISTORY(...))."""
    target = node.this if isinstance(node, exp.TableFromRows) else None
    parts: list[str] = []
    while isinstance(target, exp.Dot):
        qualifier = target.this
        while isinstance(qualifier, exp.Dot):
            parts.insert(0, qualifier.expression.name)
            qualifier = qualifier.this
        parts.insert(0, qualifier.name)
        target = target.expression
    if isinstance(target, exp.Anonymous) and str(target.name).upper() in _FUNCTIONS:
        return parts, target
    return None


def _view_of(node: exp.Table) -> str | None:
    """TASK_HISTORY or COMPLETE_TASK_GRAPHS when ``node`` is SNOWFLAKE.ACCOUNT_USAGE.<that>."""
    if (str(node.catalog).upper(), str(node.db).upper()) != ("SNOWFLAKE", "ACCOUNT_USAGE"):
        return None
    name = str(node.name).upper()
    return name if name in (FUNCTION, COMPLETE_GRAPHS) else None


class _Rewrite:
    """One statement's rewrite (see :func:`rewrite`)."""

    def __init__(self, service: Service, database: str, schema: str,
                 bindings: list[Any], evaluate: Callable[[str], Any]) -> None:
        self.service = service
        self.database = database
        self.schema = schema
        self.bindings = bindings
        self.evaluate = evaluate
        self.used: set[int] = set()  # binding positions (0-based) consumed by arguments
        self.order: dict[int, int] = {}  # placeholder marker -> binding position

    def value(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Placeholder):
            position = self.order[int(str(node.this).removeprefix("tasknb_p"))]
            if position >= len(self.bindings):
                raise _argument_error(f"Bind variable ? (position {position + 1}) not set.")
            self.used.add(position)
            return self.bindings[position]
        if isinstance(node, exp.Literal):
            return node.this if node.is_string else float(node.this) if "." in node.this \
                else int(node.this)
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Null):
            return None
        if any(isinstance(n, exp.Placeholder) for n in node.walk()):
            raise _argument_error(f"{FUNCTION}: an argument may be a literal, a ? binding or a "
                                  "constant expression, not an expression of bindings.")
        return self.evaluate(node.sql("snowflake"))

    def arguments(self, call: exp.Anonymous) -> dict[str, Any]:
        function = str(call.name).upper()
        known = _ARGUMENTS if function == FUNCTION else _GRAPH_ARGUMENTS
        if function == CURRENT_GRAPHS:
            known = known[:2]
        values: dict[str, Any] = {}
        for arg in call.expressions:
            if not isinstance(arg, exp.Kwarg):
                raise _argument_error(f"{function} takes named arguments (NAME => value), "
                                      f"got {arg.sql('snowflake')}.")
            name = str(arg.this.name).upper()
            if name not in known:
                raise _argument_error(f"{function}: unknown argument {name}; known: "
                                      f"{', '.join(known)}.")
            values[name] = self.value(arg.expression)
        return values

    @staticmethod
    def limit(function: str, args: dict[str, Any], default: int) -> int:
        limit = args.get("RESULT_LIMIT", default)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _argument_error(f"{function}: RESULT_LIMIT must be a whole number from 1 to "
                                  f"{MAX_RESULT_LIMIT:,}, got {limit!r}.")
        if limit > MAX_RESULT_LIMIT:
            raise _argument_error("Value for parameter RESULT_LIMIT exceeds maximum allowable "
                                  f"value ({MAX_RESULT_LIMIT:,}).")
        return limit

    @staticmethod
    def error_only(function: str, args: dict[str, Any]) -> bool:
        value = args.get("ERROR_ONLY")
        if value not in (None, True, False):
            raise _argument_error(f"{function}: ERROR_ONLY must be TRUE or FALSE.")
        return bool(value)

    def graphs(self, function: str, database: str | None, args: dict[str, Any],
               since: timedelta, limit: int | None) -> list[tuple[Any, ...]]:
        """COMPLETE_TASK_GRAPHS / CURRENT_TASK_GRAPHS rows (``database`` None: every one)."""
        complete = function == COMPLETE_GRAPHS
        where = ["1"] if database is None else ["database = ?"]
        params: list[Any] = [] if database is None else [database]
        if complete:
            where += ["state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')", "completed_time >= ?"]
            params.append(_db_time(self.service.now() - since))
            if self.error_only(function, args):
                where.append("state IN ('FAILED', 'CANCELLED')")
        else:
            where.append("state IN ('SCHEDULED', 'EXECUTING')")
        root = args.get("ROOT_TASK_NAME")
        if root is not None:
            where.append("UPPER(root_name) = ?")
            params.append(str(root).upper())
        order = "completed_time DESC, id DESC" if complete else "scheduled_time DESC, id DESC"
        runs = self.service.store.graph_runs(" AND ".join(where), tuple(params), order=order,
                                             limit=limit,
                                             columns=(*RUN_SUMMARY_COLUMNS, "config"))
        return [_graph_row(run, complete) for run in runs]

    def rows(self, database: str | None, args: dict[str, Any], since: timedelta = WINDOW,
             limit: int | None = None) -> list[tuple[Any, ...]]:
        """TASK_HISTORY rows (``database`` None: every database, for the ACCOUNT_USAGE view)."""
        now = self.service.now()
        start = _moment(args.get("SCHEDULED_TIME_RANGE_START"), "SCHEDULED_TIME_RANGE_START")
        end = _moment(args.get("SCHEDULED_TIME_RANGE_END"), "SCHEDULED_TIME_RANGE_END")
        start = max(start or now - since, now - since)
        if limit is None:
            limit = self.limit(FUNCTION, args, DEFAULT_RESULT_LIMIT)
        where = ["1" if database is None else "database = ?", "scheduled_time >= ?"]
        params: list[Any] = ([] if database is None else [database]) + [_db_time(start)]
        if end is not None:
            where.append("scheduled_time <= ?")
            params.append(_db_time(end))
        task = args.get("TASK_NAME")
        if task is not None:
            where.append("UPPER(name) = ?")
            params.append(str(task).upper())
        if self.error_only(FUNCTION, args):
            where.append("state IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED')")
        root_id = args.get("ROOT_TASK_ID")
        if root_id is not None:
            where.append("graph_run_id IN (SELECT id FROM graph_runs WHERE root_id = ?)")
            params.append(str(root_id))
        store = self.service.store
        runs = store.task_runs(" AND ".join(where), tuple(params),
                               order="scheduled_time DESC, id DESC", limit=limit)
        graph_ids = sorted({r["graph_run_id"] for r in runs if r.get("graph_run_id") is not None})
        graphs = {}
        if graph_ids:
            marks = ", ".join("?" for _ in graph_ids)
            graphs = {g["id"]: g for g in store.graph_runs(
                f"id IN ({marks})", tuple(graph_ids),
                columns=("id", "next_scheduled_time", "root_id", "config"))}
        return [_row(run, graphs.get(run.get("graph_run_id")) or {}) for run in runs]


def _graph_row(run: dict[str, Any], complete: bool) -> tuple[Any, ...]:
    render = rules.render_identifier
    row = (render(run["root_name"]), render(run["database"]), render(run["schema"]),
           run.get("state"), run.get("scheduled_from"),
           render(run["first_error_task_name"]) if run.get("first_error_task_name") else None,
           run.get("first_error_code"), run.get("first_error_message"), run.get("scheduled_time"),
           run.get("query_start_time"), run.get("next_scheduled_time"), run.get("completed_time"),
           run.get("root_id"), run.get("graph_version"), run.get("run_id"),
           int(run.get("attempt") or 1), run.get("config"), run.get("group_id"), None)
    return row if complete else row[:11] + row[12:]


def _moment(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
        except ValueError:
            raise _argument_error(f"{FUNCTION}: {name} must be a timestamp, got "
                                  f"{str(value)[:80]!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _db_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _row(run: dict[str, Any], graph: dict[str, Any]) -> tuple[Any, ...]:
    render = rules.render_identifier
    return (render(run["name"]), render(run["database"]), render(run["schema"]),
            task_query_id(run["id"]) if run.get("query_start_time") else None, run.get("query_text"),
            run.get("condition_text"), run.get("state"), run.get("error_code"),
            run.get("error_message"), run.get("scheduled_time"), run.get("query_start_time"),
            run.get("completed_time"), graph.get("next_scheduled_time"), graph.get("root_id"),
            run.get("graph_version"), run.get("run_id"), run.get("return_value"),
            run.get("scheduled_from"), int(run.get("attempt") or 1), graph.get("config"),
            run.get("group_id"), None)


def _table(rows: list[tuple[Any, ...]], markers: list[list[Any]],
           columns_of: tuple[tuple[str, str], ...] = COLUMNS,
           alias: str = FUNCTION) -> exp.Expression:
    """TASK_HISTORY's rows as a typed subquery: one ``UNNEST(?)`` per column, whose value (the
    column as a list) is appended to ``markers`` and bound as a parameter, never SQL text."""
    columns = list(zip(*rows)) if rows else [()] * len(columns_of)
    projections = []
    for (name, kind), values in zip(columns_of, columns, strict=True):
        marker = exp.Placeholder(this=f"tasknb_q{len(markers)}")
        markers.append(list(values))
        unnest = exp.Anonymous(this="UNNEST", expressions=[marker])  # as written, not FLATTEN
        projections.append(exp.cast(unnest, kind).as_(name))
    return exp.Subquery(this=exp.select(*projections),
                        alias=exp.TableAlias(this=exp.to_identifier(alias)))


def rewrite(sql: str, *, service: Service, database: str, schema: str,
            bindings: list[Any] | None, evaluate: Callable[[str], Any]) -> tuple[str, list[Any]]:
    """The statement with every TASK_HISTORY call replaced by its rows, and the bindings left.

    ``evaluate`` runs ``SELECT <expression>`` for a constant argument (the server's clock).
    """
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except (ParseError, TokenError):
        return sql, list(bindings or [])  # the engine reports the syntax error
    calls = [(node, found) for node in tree.find_all(exp.TableFromRows)
             if (found := _call_of(node)) is not None]
    views = [(node, view) for node in tree.find_all(exp.Table)
             if (view := _view_of(node)) is not None]
    if not calls and not views:
        return sql, list(bindings or [])
    job = _Rewrite(service, database, schema, list(bindings or []), evaluate)
    for index, node in enumerate(tree.find_all(exp.Placeholder)):
        node.set("this", f"tasknb_p{index}")
    textual = [int(m.group(1)) for m in _MARKER.finditer(tree.sql("snowflake"))]
    job.order = {marker: position for position, marker in enumerate(textual)}
    columns: list[list[Any]] = []
    for node, (parts, call) in calls:
        if not parts or parts[-1].upper() != "INFORMATION_SCHEMA" or len(parts) > 2:
            continue
        target = rules.fold_identifier(parts[0], "database") if len(parts) == 2 else database
        function = str(call.name).upper()
        args = job.arguments(call)
        if function == FUNCTION:
            node.replace(_table(job.rows(target, args), columns))
        else:
            limit = job.limit(function, args, GRAPHS_DEFAULT_LIMIT)
            rows = job.graphs(function, target, args, COMPLETE_WINDOW, limit)
            shape = GRAPH_COLUMNS if function == COMPLETE_GRAPHS else _CURRENT_COLUMNS
            node.replace(_table(rows, columns, shape, function))
    for node, view in views:
        alias = node.alias or view
        if view == FUNCTION:
            rows = job.rows(None, {}, ACCOUNT_USAGE_WINDOW, MAX_VIEW_ROWS)
            node.replace(_table(rows, columns, COLUMNS, alias))
        else:
            rows = job.graphs(COMPLETE_GRAPHS, None, {}, ACCOUNT_USAGE_WINDOW, MAX_VIEW_ROWS)
            node.replace(_table(rows, columns, GRAPH_COLUMNS, alias))
    # the parameters in the order their ? stand in the final text: the caller's that are
    # left, and one list per TASK_HISTORY column
    left = []
    for match in _ANY_MARKER.finditer(tree.sql("snowflake")):
        kind, number = match.group(1), int(match.group(2))
        if kind == "q":
            left.append(columns[number])
        elif job.order[number] not in job.used and job.order[number] < len(job.bindings):
            left.append(job.bindings[job.order[number]])
    for node in tree.find_all(exp.Placeholder):
        node.set("this", None)
    return tree.sql("snowflake"), left
