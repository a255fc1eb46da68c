"""Snowflake Scripting and stored procedures on the local engine.

    >>> from tasknb.local.sql.engine import SqlEngine, TaskContext
    >>> engine = SqlEngine(); engine.ensure_schema("D", "S")
    >>> ctx = TaskContext("D", "S", "T", "T")
    >>> engine.run("DECLARE total INT DEFAULT 0; BEGIN FOR i IN 1 TO 4 DO total := total + i; END FOR; "
    ...            "CALL SYSTEM$SET_RETURN_VALUE(:total); END", ctx); ctx.return_value
    '10'

The modules, one job each: :mod:`.parser` (block structure -> :mod:`.nodes`), :mod:`.binds`
(where variables appear; bound values), :mod:`.kinds` (what a statement is),
:mod:`.calls` (CALL), :mod:`.procedures` (CREATE/DROP PROCEDURE, the catalog in each
database), :mod:`.values` (what names hold), :mod:`.session` (what the engine provides) and
:mod:`.interpreter` (running it all). The engine hands a unit to :func:`run_script` at one
place (:meth:`tasknb.local.sql.engine.SqlEngine.run`).
"""

from __future__ import annotations

from tasknb.local.sql.scripting.interpreter import Interpreter
from tasknb.local.sql.scripting.procedures import Catalog, forget_schema
from tasknb.local.sql.scripting.session import Session
from tasknb.local.sql.scripting.values import Result
from tasknb.local.sql.statements import Statement

__all__ = ["Catalog", "Result", "Session", "forget_schema", "run_script"]


def run_script(statement: Statement, session: Session) -> Result:
    """Run one scripting unit of a definition (block, CALL, EXECUTE IMMEDIATE, procedure DDL)."""
    return Interpreter(session, session.ctx.bindings).run_unit(statement.text, statement.line)
