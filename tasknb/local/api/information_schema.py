"""``TABLE(INFORMATION_SCHEMA.TASK_HISTORY(...))`` answered from the server's own run records.

    >>> uses_task_history("SELECT * FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY())")
    True

A statement that calls the table function is rewritten before the engine runs it: the call
becomes a subquery of one ``CAST(UNNEST(?) AS <type>)`` per column, each ``?`` bound to that
column of the matching per-task runs as a list (stored names and messages are parameters,
never SQL text), with Snowflake's columns (:data:`COLUMNS`) and types. Anything around it (``WHERE``, ``ORDER BY``, joins with the
tables tasks wrote) runs in the engine as usual.

Arguments, as Snowflake takes them: ``SCHEDULED_TIME_RANGE_START`` / ``_END`` (timestamps;
the window is the last 7 days of the server's clock at most), ``RESULT_LIMIT`` (1 to 10,000,
default 100), ``TASK_NAME`` (unqualified, case-insensitive), ``ERROR_ONLY`` (FAILED runs,
including FAILED_AND_AUTO_SUSPENDED), ``ROOT_TASK_ID``. Each is a literal, a ``?`` binding
or a constant expression such as ``DATEADD('hour', -1, CURRENT_TIMESTAMP())``. Rows come
newest first; ``INFORMATION_SCHEMA`` of ``DB.INFORMATION_SCHEMA`` names the database whose
tasks are listed (else the statement's database). ``QUERY_ID`` is the run record's id (the
ids SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS reports); ``BACKFILL_INFO`` is always NULL.
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
from tasknb.local.rules import ApiError
from tasknb.local.service import Service

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


def uses_task_history(sql: str) -> bool:
    """Whether a statement may call TASK_HISTORY (a cheap test before parsing)."""
    return FUNCTION in sql.upper()


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
    if isinstance(target, exp.Anonymous) and str(target.name).upper() == FUNCTION:
        return parts, target
    return None


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
        values: dict[str, Any] = {}
        for arg in call.expressions:
            if not isinstance(arg, exp.Kwarg):
                raise _argument_error(f"{FUNCTION} takes named arguments (NAME => value), "
                                      f"got {arg.sql('snowflake')}.")
            name = str(arg.this.name).upper()
            if name not in _ARGUMENTS:
                raise _argument_error(f"{FUNCTION}: unknown argument {name}; known: "
                                      f"{', '.join(_ARGUMENTS)}.")
            values[name] = self.value(arg.expression)
        return values

    def rows(self, database: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
        now = self.service.now()
        start = _moment(args.get("SCHEDULED_TIME_RANGE_START"), "SCHEDULED_TIME_RANGE_START")
        end = _moment(args.get("SCHEDULED_TIME_RANGE_END"), "SCHEDULED_TIME_RANGE_END")
        start = max(start or now - WINDOW, now - WINDOW)
        limit = args.get("RESULT_LIMIT", DEFAULT_RESULT_LIMIT)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _argument_error(f"{FUNCTION}: RESULT_LIMIT must be a whole number from 1 to "
                                  f"{MAX_RESULT_LIMIT:,}, got {limit!r}.")
        if limit > MAX_RESULT_LIMIT:
            raise _argument_error("Value for parameter RESULT_LIMIT exceeds maximum allowable "
                                  f"value ({MAX_RESULT_LIMIT:,}).")
        where = ["database = ?", "scheduled_time >= ?"]
        params: list[Any] = [database, _db_time(start)]
        if end is not None:
            where.append("scheduled_time <= ?")
            params.append(_db_time(end))
        task = args.get("TASK_NAME")
        if task is not None:
            where.append("UPPER(name) = ?")
            params.append(str(task).upper())
        error_only = args.get("ERROR_ONLY")
        if error_only not in (None, True, False):
            raise _argument_error(f"{FUNCTION}: ERROR_ONLY must be TRUE or FALSE.")
        if error_only:
            where.append("state IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED')")
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
            graphs = {g["id"]: g for g in store.graph_runs(f"id IN ({marks})", tuple(graph_ids))}
        return [_row(run, graphs.get(run.get("graph_run_id")) or {}) for run in runs]


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
            str(run["id"]) if run.get("query_start_time") else None, run.get("query_text"),
            run.get("condition_text"), run.get("state"), run.get("error_code"),
            run.get("error_message"), run.get("scheduled_time"), run.get("query_start_time"),
            run.get("completed_time"), graph.get("next_scheduled_time"), graph.get("root_id"),
            run.get("graph_version"), run.get("run_id"), run.get("return_value"),
            run.get("scheduled_from"), int(run.get("attempt") or 1), graph.get("config"),
            run.get("group_id"), None)


def _table(rows: list[tuple[Any, ...]], markers: list[list[Any]]) -> exp.Expression:
    """TASK_HISTORY's rows as a typed subquery: one ``UNNEST(?)`` per column, whose value (the
    column as a list) is appended to ``markers`` and bound as a parameter, never SQL text."""
    columns = list(zip(*rows)) if rows else [()] * len(COLUMNS)
    projections = []
    for (name, kind), values in zip(COLUMNS, columns, strict=True):
        marker = exp.Placeholder(this=f"tasknb_q{len(markers)}")
        markers.append(list(values))
        unnest = exp.Anonymous(this="UNNEST", expressions=[marker])  # as written, not FLATTEN
        projections.append(exp.cast(unnest, kind).as_(name))
    return exp.Subquery(this=exp.select(*projections),
                        alias=exp.TableAlias(this=exp.to_identifier(FUNCTION)))


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
    if not calls:
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
        node.replace(_table(job.rows(target, job.arguments(call)), columns))
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
