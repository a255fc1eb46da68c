"""SYSTEM$ functions and clock functions, rewritten for one task run.

    >>> import sqlglot
    >>> ctx = TaskContext("DB", "S", "CHILD", "ROOT", predecessor_return_values={"ROOT": "7"})
    >>> tree = sqlglot.parse_one("SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE('ROOT')", read="snowflake")
    >>> tree.transform(Rewriter(ctx, "call-1", condition=False)).sql("snowflake")
    "SELECT '7'"

Values the run already knows (predecessor return values, the graph config, runtime info,
predecessor states) become literals. Calls that act while the statement runs become calls
of engine functions registered on the DuckDB connection: SYSTEM$SET_RETURN_VALUE,
SYSTEM$WAIT and SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS (each carries the run's call id).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import timezone
from typing import Any

from sqlglot import exp

from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import CODE_FUNCTION_ARGUMENT, TaskSqlError, UnsupportedSqlError

#: SYSTEM$SET_RETURN_VALUE accepts at most 10 kB of UTF-8 (task-semantics §7.2).
MAX_RETURN_VALUE_BYTES = 10 * 1024

SET_RETURN_UDF = "tasknb_set_return_value"
WAIT_UDF = "tasknb_wait"
CANCEL_UDF = "tasknb_cancel_ongoing"
CANCEL_FUNCTION = "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS"
SEND_EMAIL_FUNCTION = "SYSTEM$SEND_EMAIL"
#: where SYSTEM$SEND_EMAIL's messages are recorded (the local server never sends them)
email_log = logging.getLogger("tasknb.local.sql.email")

#: Snowflake's logging and tracing calls: accepted (their text is the value), recorded nowhere.
LOGGING_FUNCTIONS = frozenset({
    "SYSTEM$LOG", "SYSTEM$LOG_TRACE", "SYSTEM$LOG_DEBUG", "SYSTEM$LOG_INFO", "SYSTEM$LOG_WARN",
    "SYSTEM$LOG_ERROR", "SYSTEM$LOG_FATAL", "SYSTEM$ADD_EVENT", "SYSTEM$SET_SPAN_ATTRIBUTES",
})

PREDECESSOR_CONDITIONS: dict[str, Callable[[list[str]], bool]] = {
    "ALL_SUCCEEDED": lambda s: all(x == "SUCCEEDED" for x in s),
    "ALL_FAILED": lambda s: all(x == "FAILED" for x in s),
    "ALL_DONE": lambda s: all(x in ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED") for x in s),
    "ALL_SKIPPED": lambda s: all(x == "SKIPPED" for x in s),
    "AT_LEAST_ONE_FAILED": lambda s: any(x == "FAILED" for x in s),
    "AT_LEAST_ONE_SUCCEEDED": lambda s: any(x == "SUCCEEDED" for x in s),
    "NONE_FAILED": lambda s: not any(x == "FAILED" for x in s),
    "NONE_FAILED_MIN_ONE_SUCCEEDED": lambda s: (
        not any(x == "FAILED" for x in s) and any(x == "SUCCEEDED" for x in s)
    ),
    "NONE_SKIPPED": lambda s: not any(x == "SKIPPED" for x in s),
}


def _string_args(node: exp.Anonymous, name: str, most: int) -> list[str]:
    args = list(node.expressions)
    if len(args) > most:
        raise TaskSqlError(
            CODE_FUNCTION_ARGUMENT,
            f"SQL compilation error:\n{name} takes at most {most} argument(s), got {len(args)}.",
        )
    values = []
    for arg in args:
        if not (isinstance(arg, exp.Literal) and arg.is_string):
            raise UnsupportedSqlError(
                f"{name} needs a string literal argument here (got {arg.sql('snowflake')})."
            )
        values.append(arg.this)
    return values


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    return exp.Literal.string(str(value))


def _config_value(config: dict[str, Any] | None, path: str | None) -> str | None:
    if config is None:
        return None
    value: Any = config
    if path:
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            if part.startswith("["):
                position = int(part[1:-1])
                if not isinstance(value, list) or position >= len(value):
                    return None
                value = value[position]
            else:
                key = part.strip('"')
                if not isinstance(value, dict) or key not in value:
                    return None
                value = value[key]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class Rewriter:
    """Replaces SYSTEM$ calls and the clock functions for one run."""

    def __init__(self, ctx: TaskContext, call_id: str, *, condition: bool,
                 streams: Any = None) -> None:
        self.ctx = ctx
        self.call_id = call_id
        self.condition = condition
        self.streams = streams  # tasknb.local.sql.streams.Streams: SYSTEM$STREAM_HAS_DATA

    def __call__(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.name).upper().startswith("SYSTEM$"):
            return self.system_function(node, str(node.name).upper())
        if isinstance(node, (exp.CurrentWarehouse, exp.CurrentRole)):
            return self.session_name(node)
        if self.ctx.now is not None:
            now = self.ctx.now.astimezone(timezone.utc)
            instant = exp.cast(exp.Literal.string(now.isoformat()), exp.DataType.Type.TIMESTAMPTZ)
            if isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate"):
                # SYSDATE(): the UTC wall clock as TIMESTAMP_NTZ, whatever the session's zone
                return exp.cast(exp.Literal.string(now.replace(tzinfo=None).isoformat()),
                                exp.DataType.Type.TIMESTAMP)
            if isinstance(node, exp.CurrentTimestamp):
                return instant
            if isinstance(node, exp.CurrentDate):  # the date in the session's time zone
                return exp.cast(instant, exp.DataType.Type.DATE)
        return node

    def session_name(self, node: exp.Expression) -> exp.Expression:
        """CURRENT_WAREHOUSE() (the task's warehouse, NULL when serverless), CURRENT_ROLE()
        (the role the task runs as: its owner); refused by name outside a task run."""
        warehouse = isinstance(node, exp.CurrentWarehouse)
        if self.ctx.role is None:
            name = "CURRENT_WAREHOUSE" if warehouse else "CURRENT_ROLE"
            raise UnsupportedSqlError(f"{name}() is not available in a statement: the local "
                                      "server has a warehouse and a role only in a task run.")
        value = self.ctx.warehouse if warehouse else self.ctx.role
        return exp.Null() if value is None else exp.Literal.string(value)

    def system_function(self, node: exp.Anonymous, name: str) -> exp.Expression:
        ctx = self.ctx
        if name == "SYSTEM$SET_RETURN_VALUE":
            if self.condition:
                raise UnsupportedSqlError(
                    "SYSTEM$SET_RETURN_VALUE cannot be used in a WHEN condition."
                )
            if len(node.expressions) != 1:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$SET_RETURN_VALUE takes exactly one argument.",
                )
            value = exp.cast(node.expressions[0].copy().transform(self),
                             exp.DataType.Type.VARCHAR)
            return exp.Anonymous(
                this=SET_RETURN_UDF, expressions=[exp.Literal.string(self.call_id), value]
            )
        if name == "SYSTEM$WAIT":
            if self.condition:
                raise UnsupportedSqlError("SYSTEM$WAIT cannot be used in a WHEN condition.")
            args = list(node.expressions)
            if not 1 <= len(args) <= 2:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$WAIT(amount [, unit]) takes 1 or 2 arguments.",
                )
            unit = args[1] if len(args) == 2 else exp.Literal.string("SECONDS")
            return exp.Anonymous(
                this=WAIT_UDF,
                expressions=[
                    exp.Literal.string(self.call_id),
                    exp.cast(args[0].copy().transform(self), exp.DataType.Type.DOUBLE),
                    exp.cast(unit.copy().transform(self), exp.DataType.Type.VARCHAR),
                ],
            )
        if name == "SYSTEM$GET_PREDECESSOR_RETURN_VALUE":
            return _literal(self.predecessor_value(_string_args(node, name, 1)))
        if name == "SYSTEM$GET_TASK_GRAPH_CONFIG":
            args = _string_args(node, name, 1)
            return _literal(_config_value(ctx.graph_config, args[0] if args else None))
        if name == "SYSTEM$TASK_RUNTIME_INFO":
            args = _string_args(node, name, 1)
            return _literal(self.runtime_info(args[0] if args else ""))
        if name == "SYSTEM$CURRENT_USER_TASK_NAME":
            return _literal(ctx.task_name)
        if name == "SYSTEM$TASK_COMPLETION_STATE":
            args = _string_args(node, name, 1)
            if not args:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    "SQL compilation error:\nSYSTEM$TASK_COMPLETION_STATE needs a task name.",
                )
            return _literal(ctx.predecessor_states.get(args[0], "NOT_EXECUTED"))
        if name == "SYSTEM$PREDECESSORS_STATE":
            args = _string_args(node, name, 1)
            condition = (args[0] if args else "ALL_SUCCEEDED").upper()
            check = PREDECESSOR_CONDITIONS.get(condition)
            if check is None:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    f"SQL compilation error:\nSYSTEM$PREDECESSORS_STATE: unknown condition "
                    f"'{args[0]}'; use one of {', '.join(PREDECESSOR_CONDITIONS)}.",
                )
            return _literal(check(list(ctx.predecessor_states.values())))
        if name == CANCEL_FUNCTION:
            if self.condition:
                raise UnsupportedSqlError(f"{CANCEL_FUNCTION} cannot be used in a WHEN condition.")
            bound = list(node.expressions)
            if len(bound) == 1 and isinstance(bound[0], exp.Placeholder):  # a SQL API binding
                return exp.Anonymous(this=CANCEL_UDF,
                                     expressions=[exp.Literal.string(self.call_id), bound[0]])
            (task,) = _string_args(node, name, 1) or [""]
            if not task:
                raise TaskSqlError(
                    CODE_FUNCTION_ARGUMENT,
                    f"SQL compilation error:\n{CANCEL_FUNCTION} needs the name of a task.",
                )
            return exp.Anonymous(
                this=CANCEL_UDF,
                expressions=[exp.Literal.string(self.call_id), exp.Literal.string(task)],
            )
        if name == "SYSTEM$STREAM_HAS_DATA":
            args = _string_args(node, name, 1)
            if not args:
                raise TaskSqlError(CODE_FUNCTION_ARGUMENT,
                                   f"SQL compilation error:\n{name} needs a stream name.")
            if self.streams is None:
                raise UnsupportedSqlError(f"{name} is not available here.")
            return self.streams.has_data(args[0], ctx)
        if name in LOGGING_FUNCTIONS:  # accepted; the local server keeps no event table
            parts = [exp.cast(arg.copy().transform(self), exp.DataType.Type.VARCHAR)
                     for arg in node.expressions]
            return exp.Anonymous(this="CONCAT_WS", expressions=[exp.Literal.string(" "), *parts])
        if name == SEND_EMAIL_FUNCTION:  # accepted and recorded in the log, never sent
            args = _string_args(node, name, len(node.expressions)) or []
            if len(args) < 4:
                raise TaskSqlError(CODE_FUNCTION_ARGUMENT, f"SQL compilation error:\n{name} "
                                   "needs integration, recipients, subject and body strings.")
            email_log.info("%s not sent by the local server (task %s.%s.%s): integration=%s "
                           "recipients=%s subject=%r", name, ctx.database, ctx.schema,
                           ctx.task_name, args[0], args[1], args[2])
            return exp.true()
        raise UnsupportedSqlError(f"{name} is not available.")

    def predecessor_value(self, args: list[str]) -> str | None:
        ctx = self.ctx
        known = ctx.predecessor_return_values
        if not args:
            if len(known) == 1:
                return next(iter(known.values()))
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE needs a task name: task {ctx.task_name} has "
                f"{len(known)} enabled predecessors"
                + (f" ({', '.join(sorted(known))})." if known else "."),
            )
        wanted = args[0]
        if wanted in known:
            return known[wanted]
        if wanted in ctx.ancestor_return_values:
            return ctx.ancestor_return_values[wanted]
        hint = ""
        candidates = [
            n for n in (*known, *ctx.ancestor_return_values) if n.upper() == wanted.upper()
        ]
        if candidates:
            hint = f" Names are case-sensitive: did you mean '{candidates[0]}'?"
        raise TaskSqlError(
            CODE_FUNCTION_ARGUMENT,
            f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE: '{wanted}' is not an enabled predecessor or "
            f"ancestor of task {ctx.task_name}.{hint}",
        )

    def runtime_info(self, key: str) -> str | None:
        ctx = self.ctx
        key = key.upper()
        qualified = f"{ctx.database}.{ctx.schema}"
        known: dict[str, Any] = {
            "CURRENT_TASK_NAME": f"{qualified}.{ctx.task_name}",
            "CURRENT_ROOT_TASK_NAME": f"{qualified}.{ctx.root_task_name}",
        }
        known.update({k.upper(): v for k, v in ctx.runtime_info.items()})
        if key not in known:
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$TASK_RUNTIME_INFO: '{key}' is not known here; use one of "
                f"{', '.join(sorted(known))}.",
            )
        value = known[key]
        return None if value is None else str(value)

