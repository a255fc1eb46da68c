"""The engine's functions that DuckDB calls while a statement runs.

    >>> import duckdb
    >>> from tasknb.local.sql.interrupts import RunningCalls, RunState
    >>> calls = RunningCalls(); calls.add("c1", RunState("DB", "S"))
    >>> functions = EngineFunctions(calls, lambda: lambda db, schema, task: f"{db}.{schema}.{task}")
    >>> con = duckdb.connect(); functions.register(con)
    >>> con.execute("SELECT tasknb_cancel_ongoing('c1', 'raw.\\"Load\\"')").fetchone()
    ('DB.RAW.Load',)

SYSTEM$SET_RETURN_VALUE keeps the value per call (at most 10 kB), SYSTEM$WAIT sleeps in short
steps so an interrupted statement stops at once, and
SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS resolves the task's name against the running task's
database and schema and calls the cancel hook. An error of the hook is kept on the call
(``RunState.hook_error``) so the statement fails with it, not with DuckDB's wrapping.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import duckdb

from tasknb.local.sql.errors import (
    CODE_FUNCTION_ARGUMENT,
    CODE_INTERNAL,
    CODE_UNSUPPORTED,
    TaskSqlError,
)
from tasknb.local.sql.interrupts import RunningCalls, RunState
from tasknb.local.sql.system_functions import (
    CANCEL_FUNCTION,
    CANCEL_UDF,
    MAX_RETURN_VALUE_BYTES,
    SET_RETURN_UDF,
    WAIT_UDF,
)

#: ``cancel_ongoing(database, schema, task) -> Snowflake's answer text``: what
#: SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('<task>') calls (the service's cancel).
CancelHook = Callable[[str, str, str], str]

#: How often SYSTEM$WAIT looks whether its statement was interrupted.
WAIT_POLL_SECONDS = 0.01

_NAME_PART = r'(?:"(?:[^"]|"")+"|[^".\s]+)'
_TASK_NAME = re.compile(
    rf"\s*({_NAME_PART})(?:\s*\.\s*({_NAME_PART}))?(?:\s*\.\s*({_NAME_PART}))?\s*")


def _fold(part: str) -> str:
    if part.startswith('"') and part.endswith('"') and len(part) > 1:
        return part[1:-1].replace('""', '"')
    return part.upper()


class EngineFunctions:
    """The functions registered on the engine's DuckDB connection, for the running calls."""

    def __init__(self, calls: RunningCalls, hook: Callable[[], CancelHook | None]) -> None:
        self._calls = calls
        self._hook = hook
        self._return_values: dict[str, str | None] = {}

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the functions callable by the statements that run on ``con``."""
        con.create_function(SET_RETURN_UDF, self.set_return_value, ["VARCHAR", "VARCHAR"],
                            "VARCHAR", null_handling="special", side_effects=True)
        con.create_function(WAIT_UDF, self.wait, ["VARCHAR", "DOUBLE", "VARCHAR"], "VARCHAR",
                            side_effects=True)
        con.create_function(CANCEL_UDF, self.cancel_ongoing, ["VARCHAR", "VARCHAR"], "VARCHAR",
                            side_effects=True)

    def has_return_value(self, call_id: str) -> bool:
        """Whether the call set a return value."""
        return call_id in self._return_values

    def pop_return_value(self, call_id: str) -> str | None:
        """The call's return value, forgotten here."""
        return self._return_values.pop(call_id, None)

    def set_return_value(self, call_id: str | None, value: str | None) -> str | None:
        if call_id is not None:
            self._return_values[call_id] = value
        return value

    def check_return_value(self, call_id: str) -> None:
        value = self._return_values.get(call_id)
        if value is not None and len(value.encode("utf-8")) > MAX_RETURN_VALUE_BYTES:
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"SYSTEM$SET_RETURN_VALUE: the value is {len(value.encode('utf-8')):,} bytes; "
                f"the maximum is {MAX_RETURN_VALUE_BYTES:,} bytes (10 kB).",
            )

    def wait(self, call_id: str, amount: float, unit: str) -> str:
        factors = {"SECONDS": 1.0, "MILLISECONDS": 0.001, "MINUTES": 60.0, "HOURS": 3600.0}
        factor = factors.get(unit.upper())
        if factor is None:
            raise ValueError(f"SYSTEM$WAIT: unit must be one of {', '.join(factors)}")
        end = time.monotonic() + amount * factor
        while time.monotonic() < end:
            state = self._calls.get(call_id)
            if state is None or state.stopped:
                raise InterruptedError("interrupted")
            time.sleep(min(WAIT_POLL_SECONDS, max(0.0, end - time.monotonic())))
        return f"waited {amount:g} {unit.lower()}"

    def cancel_ongoing(self, call_id: str, task: str) -> str:
        """SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS('<task>') inside a statement."""
        state = self._calls.get(call_id)
        if state is None:
            raise InterruptedError("not running")
        try:
            return self._call_cancel_hook(state, task)
        except TaskSqlError as error:
            state.hook_error = error
            raise

    def _call_cancel_hook(self, state: RunState, task: str) -> str:
        match = _TASK_NAME.fullmatch(task)
        if match is None:
            raise TaskSqlError(
                CODE_FUNCTION_ARGUMENT,
                f"{CANCEL_FUNCTION}: '{task}' is not a task name (use 'TASK', 'SCHEMA.TASK' or "
                "'DATABASE.SCHEMA.TASK').",
            )
        parts = [_fold(p) for p in match.groups() if p is not None]
        database, schema = state.database, state.schema
        if len(parts) == 3:
            database, schema = parts[0], parts[1]
        elif len(parts) == 2:
            schema = parts[0]
        hook = self._hook()
        if hook is None:
            raise TaskSqlError(
                CODE_UNSUPPORTED,
                f"Unsupported feature in the local task server: {CANCEL_FUNCTION} is not "
                "available in this SQL engine (it was created without a cancel_ongoing hook).",
                "0A000",
            )
        try:
            return str(hook(database, schema, parts[-1]))
        except TaskSqlError:
            raise
        except Exception as error:  # the hook failing fails this statement
            message = getattr(error, "message", None) or str(error)
            code = getattr(error, "code", None)
            raise TaskSqlError(
                int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit())
                else CODE_INTERNAL,
                f"{CANCEL_FUNCTION}: {message}",
            ) from error
