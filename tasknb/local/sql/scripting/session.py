"""What the interpreter needs from the engine for one run: run a statement, check for a
cancel or a timeout, the procedure catalog and the task's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.scripting.procedures import Catalog
from tasknb.local.sql.scripting.values import Result
from tasknb.local.sql.statements import Statement

#: How deep procedures may call procedures locally (a runaway recursion fails, clearly).
MAX_CALL_DEPTH = 50


@dataclass(frozen=True)
class Session:
    """``execute(statement, values)`` runs one plain Snowflake statement with its named
    parameters bound to ``values`` on the run's cursor; ``check()`` raises if the run was cancelled or timed out;
    ``depth`` counts nested CALLs."""

    ctx: TaskContext
    execute: Callable[[Statement, dict[str, Any]], Result]
    check: Callable[[], None]
    catalog: Catalog
    depth: int = 0
