"""Run Snowflake Scripting: blocks, variables, loops, handlers, CALL and procedures.

The engine hands over a whole unit (a block, ``CALL``, ``EXECUTE IMMEDIATE``, ``CREATE`` or
``DROP PROCEDURE``) with a :class:`.Session`; every SQL statement and expression inside runs
through that session on the run's cursor, with the variables it uses bound as values.

Errors follow Snowflake's rules: a failing statement raises STATEMENT_ERROR, a failing
expression EXPRESSION_ERROR, ``RAISE`` a declared exception; a handler of the block or of an
enclosing block catches it (``OTHER`` catches all) and sees SQLCODE, SQLERRM and SQLSTATE.
Uncaught, it fails the statement with its own code and ``Uncaught exception of type '<TYPE>'
on line <L> at position <P> : <message>``. What the local engine cannot run (000002),
cancels and timeouts are never caught: they end the run as they would outside a block.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from sqlglot.tokens import TokenType

from tasknb.local.sql.errors import (
    CODE_CANCELED,
    CODE_INVALID_IDENTIFIER,
    CODE_RUNTIME,
    CODE_SYNTAX,
    CODE_TIMEOUT,
    CODE_UNKNOWN_FUNCTION,
    TaskSqlError,
    UnsupportedSqlError,
)
from tasknb.local.sql.scripting import nodes as n
from tasknb.local.sql.scripting.binds import (
    Ref,
    bare_names,
    expression_template,
    render,
    sql_template,
)
from tasknb.local.sql.scripting.calls import CallSpec, parse_call
from tasknb.local.sql.scripting.kinds import split_into, statement_kind
from tasknb.local.sql.scripting.parser import parse_block, parse_statement
from tasknb.local.sql.scripting.procedures import Procedure, parse_create, parse_drop
from tasknb.local.sql.scripting.session import MAX_CALL_DEPTH, Session
from tasknb.local.sql.scripting.values import (
    Cursor,
    Frame,
    Record,
    Result,
    ResultSet,
    UserException,
    Variable,
)
from tasknb.local.sql.statements import Statement, tokenize

CODE_BIND_NOT_SET = 2049  # 002049 Bind variable not set
CODE_INVALID_ARGUMENTS = 1044  # 001044 Invalid argument types for function
SQLSTATE_RAISED = "P0001"
_DML = {"INSERT", "UPDATE", "DELETE", "MERGE"}
_UNCATCHABLE = {CODE_CANCELED, CODE_TIMEOUT}
_HANDLING = "$handling"  # the name a handler's frame keeps its exception under
_DML_VARIABLES = ("SQLROWCOUNT", "SQLFOUND", "SQLNOTFOUND")


class ScriptError(Exception):
    """An exception raised inside a block: its type (STATEMENT_ERROR, ..., or a declared
    exception's name), Snowflake code, message and SQLSTATE, and where it was raised."""

    def __init__(self, kind: str, code: int, message: str, sql_state: str | None,
                 where: n.Where) -> None:
        super().__init__(message)
        self.kind, self.code, self.message = kind, code, message
        self.sql_state, self.where = sql_state, where

    def uncaught(self) -> TaskSqlError:
        return TaskSqlError(
            self.code,
            f"Uncaught exception of type '{self.kind}' on line {self.where.line} at position "
            f"{self.where.column} : {self.message}",
            self.sql_state,
        )


class _Break(Exception):
    def __init__(self, label: str | None) -> None:
        self.label = label


class _Continue(_Break):
    pass


class _Return(Exception):
    def __init__(self, value: Any, table: Result | None = None) -> None:
        self.value, self.table = value, table


class CallDepthError(TaskSqlError):
    """Procedures nested deeper than the local limit (a runaway recursion): ends the run."""


def catchable(error: TaskSqlError) -> bool:
    """Whether a handler may catch the error (not a refusal, a cancel, a timeout or a
    runaway recursion)."""
    return not isinstance(error, (UnsupportedSqlError, CallDepthError)) and \
        error.code not in _UNCATCHABLE


def type_of(value: Any) -> str:
    """The DuckDB type name of a Python value (for a scalar result's column)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return f"DECIMAL(38,{min(scale, 37)})"
    return "VARCHAR"


def scalar_result(column: str, value: Any) -> Result:
    return Result([(column, type_of(value))], [(value,)])


def _unparenthesised(text: str) -> str:
    tokens = tokenize(text)
    if (len(tokens) >= 2 and tokens[0].token_type == TokenType.L_PAREN
            and tokens[-1].token_type == TokenType.R_PAREN):
        depth = 0
        for index, token in enumerate(tokens):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
            if depth == 0 and index < len(tokens) - 1:
                return text
        return text[tokens[0].end + 1 : tokens[-1].start]
    return text


class Interpreter:
    """Runs one block, procedure body or statement of a run (one per block or CALL)."""

    def __init__(self, session: Session, positional: list[Any] | None = None) -> None:
        self.session = session
        self.dml: dict[str, Any] = dict.fromkeys(_DML_VARIABLES)
        self.positional = positional  # a SQL API request's ? bindings (top level only)

    # ------------------------------------------------------------------ entry points
    def run_unit(self, text: str, line: int = 1) -> Result:
        """A top-level unit of a definition: its result (the last statement's)."""
        kind = statement_kind(text)
        if kind == "block":
            value, table = self.run_block(parse_block(text), None)
            return table if table is not None else scalar_result("anonymous block", value)
        if kind == "plain":  # LET, IF, ... outside a block
            token = tokenize(text)[0]
            raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error line {line} "
                               f"at position 0 unexpected '{token.text}'; Snowflake Scripting "
                               "statements run inside BEGIN ... END.", "42000")
        node = parse_statement(text)
        try:
            if isinstance(node, n.ExecuteImmediate):
                return self.execute_immediate(node, Frame(None))
            if not isinstance(node, n.Statement):  # `CALL := 0` reads as an assignment
                token = tokenize(text)[0]
                raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error line "
                                   f"{line} at position 0 unexpected '{token.text}'.", "42000")
            return self.run_sql(node.sql, Frame(None))
        except ScriptError as error:  # an uncaught exception inside a procedure it called
            raise error.uncaught() from error

    def run_block(self, block: n.Block, frame: Frame | None) -> tuple[Any, Result | None]:
        """Run a block; (RETURN value, RETURN TABLE result)."""
        try:
            self.block(block, frame)
        except _Return as done:
            return done.value, done.table
        except ScriptError as error:
            raise error.uncaught() from error
        except _Break as loose:
            word = "CONTINUE" if isinstance(loose, _Continue) else "BREAK"
            raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\n{word} outside of a loop"
                               + (f" (label {loose.label})" if loose.label else "") + ".",
                               "42000") from loose
        return None, None

    # ---------------------------------------------------------------------- blocks
    def block(self, block: n.Block, parent: Frame | None) -> None:
        frame = Frame(parent)
        try:
            for declaration in block.declarations:
                self.declare(declaration, frame)
            self.body(block.body, frame)
        except ScriptError as error:
            handler = self._handler(block, error)
            if handler is None:
                raise
            handling = Frame(frame)
            handling.declare("SQLCODE", Variable(error.code))
            handling.declare("SQLERRM", Variable(error.message))
            handling.declare("SQLSTATE", Variable(error.sql_state))
            handling.declare(_HANDLING, error)
            self.body(handler.body, handling)

    @staticmethod
    def _handler(block: n.Block, error: ScriptError) -> n.Handler | None:
        for handler in block.handlers:
            if error.kind in handler.names or "OTHER" in handler.names:
                return handler
        return None

    def body(self, statements: tuple[n.Node, ...], frame: Frame) -> None:
        for node in statements:
            self.session.check()
            self.execute(node, frame)

    def execute(self, node: n.Node, frame: Frame) -> None:
        getattr(self, "_" + type(node).__name__)(node, frame)

    # ---------------------------------------------------------------- declarations
    def declare(self, node: n.Node, frame: Frame) -> None:
        if isinstance(node, n.VarDecl):
            value = None if node.default is None else self.evaluate(node.default, frame,
                                                                    node.type)
            frame.declare(node.name, Variable(value, node.type))
        elif isinstance(node, n.CursorDecl):
            frame.declare(node.name, Cursor(node))
        elif isinstance(node, n.ResultsetDecl):
            result = None if node.query is None else self.query(node.query, frame)
            frame.declare(node.name, ResultSet(result))
        elif isinstance(node, n.ExceptionDecl):
            frame.declare(node.name, UserException(node.name, node.code, node.message))

    _VarDecl = _CursorDecl = _ResultsetDecl = _ExceptionDecl = declare  # LET ...

    # ------------------------------------------------------------------ statements
    def _Block(self, node: n.Block, frame: Frame) -> None:
        self.block(node, frame)

    def _Null(self, node: n.Null, frame: Frame) -> None:
        return None

    def _Statement(self, node: n.Statement, frame: Frame) -> None:
        self.statement(node.sql, frame)

    def statement(self, sql: n.Sql, frame: Frame, positional: list[Any] | None = None) -> Result:
        try:
            return self.run_sql(sql, frame, positional)
        except TaskSqlError as error:
            if not catchable(error):
                raise
            raise ScriptError("STATEMENT_ERROR", error.code, error.message, error.sql_state,
                              sql.where) from error

    def _Assign(self, node: n.Assign, frame: Frame) -> None:
        target = frame.find(node.name)
        if isinstance(target, ResultSet):
            target.result = self.query(n.Sql(node.value.where, node.value.text), frame)
        elif isinstance(target, Variable):
            target.value = self.evaluate(node.value, frame, target.type)
        else:
            raise self._undeclared(node.name, node.where)

    def _If(self, node: n.If, frame: Frame) -> None:
        for condition, body in node.branches:
            if _true(self.evaluate(condition, frame)):
                self.body(body, frame)
                return
        self.body(node.otherwise, frame)

    def _Case(self, node: n.Case, frame: Frame) -> None:
        operand = None if node.operand is None else self.evaluate(node.operand, frame)
        for value, body in node.branches:
            found = self.evaluate(value, frame)
            if (node.operand is None and _true(found)) or (
                    node.operand is not None and operand is not None and found == operand):
                self.body(body, frame)
                return
        if node.otherwise is None:
            raise ScriptError("CASE_NOT_FOUND", CODE_RUNTIME, "CASE statement found no "
                              "matching WHEN and has no ELSE.", "20000", node.where)
        self.body(node.otherwise, frame)

    def _loop_once(self, body: tuple[n.Node, ...], frame: Frame, label: str | None) -> bool:
        """Run a loop body once; False when BREAK ends the loop."""
        self.session.check()
        try:
            self.body(body, frame)
        except _Continue as jump:
            if jump.label not in (None, label):
                raise
        except _Break as jump:
            if jump.label not in (None, label):
                raise
            return False
        return True

    def _ForRange(self, node: n.ForRange, frame: Frame) -> None:
        start = self.evaluate(node.start, frame)
        stop = self.evaluate(node.stop, frame)
        if start is None or stop is None:
            return
        first, last = int(start), int(stop)
        steps = range(last, first - 1, -1) if node.reverse else range(first, last + 1)
        counter = Variable()
        loop = Frame(frame, {node.variable: counter})
        for value in steps:
            counter.value = value
            if not self._loop_once(node.body, loop, node.label):
                break

    def _ForCursor(self, node: n.ForCursor, frame: Frame) -> None:
        source = frame.find(node.source)
        if isinstance(source, Cursor):
            result = self._open(source, frame, [])
        elif isinstance(source, ResultSet):
            result = source.result or Result([], [])
        else:
            raise self._undeclared(node.source, node.where, "a cursor or RESULTSET")
        columns = {name.upper(): index for index, (name, _) in enumerate(result.columns)}
        columns.update({name: index for index, (name, _) in enumerate(result.columns)})
        record = Record(columns, ())
        loop = Frame(frame, {node.variable: record})
        try:
            for row in result.rows:
                record.row = row
                if not self._loop_once(node.body, loop, node.label):
                    break
        finally:
            if isinstance(source, Cursor):
                source.open = False

    def _While(self, node: n.While, frame: Frame) -> None:
        while _true(self.evaluate(node.condition, frame)):
            if not self._loop_once(node.body, frame, node.label):
                break

    def _Repeat(self, node: n.Repeat, frame: Frame) -> None:
        while True:
            if not self._loop_once(node.body, frame, node.label):
                break
            if _true(self.evaluate(node.until, frame)):
                break

    def _Loop(self, node: n.Loop, frame: Frame) -> None:
        while self._loop_once(node.body, frame, node.label):
            pass

    def _Break(self, node: n.Break, frame: Frame) -> None:
        raise _Break(node.label)

    def _Continue(self, node: n.Continue, frame: Frame) -> None:
        raise _Continue(node.label)

    def _Return(self, node: n.Return, frame: Frame) -> None:
        raise _Return(None if node.value is None else self.evaluate(node.value, frame))

    def _ReturnTable(self, node: n.ReturnTable, frame: Frame) -> None:
        source = frame.find(node.source)
        if isinstance(source, ResultSet):
            raise _Return(None, source.result or Result([], []))
        if isinstance(source, Cursor):
            result = source.result if source.open and source.result else self._open(
                source, frame, [])
            raise _Return(None, Result(result.columns, result.rows[source.position:]))
        raise self._undeclared(node.source, node.where, "a RESULTSET")

    def _Raise(self, node: n.Raise, frame: Frame) -> None:
        if node.name is None:
            current = frame.find(_HANDLING)
            if not isinstance(current, ScriptError):
                raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nRAISE without an "
                                   "exception name is only allowed in an exception handler.",
                                   "42000")
            raise current
        declared = frame.find(node.name)
        if not isinstance(declared, UserException):
            raise self._undeclared(node.name, node.where, "an exception")
        raise ScriptError(declared.name, declared.code, declared.message, SQLSTATE_RAISED,
                          node.where)

    def _Open(self, node: n.Open, frame: Frame) -> None:
        cursor = frame.find(node.name)
        if not isinstance(cursor, Cursor):
            raise self._undeclared(node.name, node.where, "a cursor")
        self._open(cursor, frame, [self.evaluate(value, frame) for value in node.using])

    def _open(self, cursor: Cursor, frame: Frame, values: list[Any]) -> Result:
        declaration = cursor.declaration
        if declaration.resultset is not None:
            source = frame.find(declaration.resultset)
            if not isinstance(source, ResultSet):
                raise self._undeclared(declaration.resultset, declaration.where, "a RESULTSET")
            result = source.result or Result([], [])
        else:
            assert declaration.query is not None
            result = self.statement(declaration.query, frame, values)
        cursor.result, cursor.position, cursor.open = result, 0, True
        return result

    def _Fetch(self, node: n.Fetch, frame: Frame) -> None:
        cursor = frame.find(node.name)
        if not isinstance(cursor, Cursor):
            raise self._undeclared(node.name, node.where, "a cursor")
        if not cursor.open or cursor.result is None:
            raise ScriptError("STATEMENT_ERROR", CODE_RUNTIME, f"Cursor '{node.name}' is not "
                              "open.", "24000", node.where)
        rows = cursor.result.rows
        row = rows[cursor.position] if cursor.position < len(rows) else None
        cursor.position += 1
        for index, name in enumerate(node.targets):
            target = frame.find(name)
            if not isinstance(target, Variable):
                raise self._undeclared(name, node.where)
            target.value = None if row is None or index >= len(row) else row[index]

    def _Close(self, node: n.Close, frame: Frame) -> None:
        cursor = frame.find(node.name)
        if not isinstance(cursor, Cursor):
            raise self._undeclared(node.name, node.where, "a cursor")
        cursor.open = False

    def _ExecuteImmediate(self, node: n.ExecuteImmediate, frame: Frame) -> None:
        self.execute_immediate(node, frame)

    def execute_immediate(self, node: n.ExecuteImmediate, frame: Frame) -> Result:
        text = self.evaluate(node.source, frame)
        if not isinstance(text, str) or not text.strip():
            raise ScriptError("STATEMENT_ERROR", CODE_SYNTAX, "SQL compilation error:\n"
                              "EXECUTE IMMEDIATE needs a SQL text.", "42000", node.where)
        values = [self.evaluate(value, frame) for value in node.using]
        if statement_kind(text) == "block":  # its own scope: outer variables are not seen
            value, table = Interpreter(self.session).run_block(parse_block(text), None)
            return table if table is not None else scalar_result("anonymous block", value)
        return self.statement(n.Sql(node.where, text.strip().rstrip(";")), Frame(None), values)

    # --------------------------------------------------------------- SQL and values
    def query(self, sql: n.Sql, frame: Frame) -> Result:
        """The rows of ``(SELECT ...)`` or ``(EXECUTE IMMEDIATE ...)`` for a RESULTSET."""
        text = _unparenthesised(sql.text)
        inner = n.Sql(sql.where, text)
        if statement_kind(text) == "execute_immediate":
            node = parse_statement(text)
            assert isinstance(node, n.ExecuteImmediate)
            return self.execute_immediate(node, frame)
        return self.statement(inner, frame)

    def run_sql(self, sql: n.Sql, frame: Frame, positional: list[Any] | None = None) -> Result:
        kind = statement_kind(sql.text)
        ctx = self.session.ctx
        if kind == "call":
            return self.call(sql, frame)
        if kind == "create_procedure":
            proc = parse_create(sql.text, ctx.database, ctx.schema)
            if proc.language == "SQL":
                parse_block(proc.body)  # a syntax error fails CREATE, as on Snowflake
            message = self.session.catalog.create(proc)
            return scalar_result("status", message)
        if kind == "drop_procedure":
            message = self.session.catalog.drop(*parse_drop(sql.text, ctx.database, ctx.schema))
            return scalar_result("status", message)
        if kind == "execute_immediate":
            node = parse_statement(sql.text)
            assert isinstance(node, n.ExecuteImmediate)
            return self.execute_immediate(node, frame)
        if _is_function_call(sql.text):  # SYSTEM$LOG('info', 'x'); as a statement
            return self.run_sql(n.Sql(sql.where, "SELECT " + sql.text), frame, positional)
        text, targets = split_into(sql.text)
        rendered, values = render(sql_template(text),
                                  lambda ref: self.value_of(ref, frame, sql.where, positional))
        result = self.session.execute(Statement(rendered, sql.where.line), values)
        first = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
        if first in _DML:
            count = int(result.rows[0][0]) if result.rows and result.rows[0] else 0
            result.rowcount = count
            self.dml.update(SQLROWCOUNT=count, SQLFOUND=count > 0, SQLNOTFOUND=count == 0)
        else:  # Snowflake's 2025_01 behaviour: NULL after a statement that is not DML
            self.dml = dict.fromkeys(_DML_VARIABLES)
        if targets:
            row = result.rows[0] if result.rows else ()
            for index, name in enumerate(targets):
                target = frame.find(name)
                if not isinstance(target, Variable):
                    raise self._undeclared(name, sql.where)
                target.value = row[index] if index < len(row) else None
        return result

    def value_of(self, ref: Ref, frame: Frame, where: n.Where,
                 positional: list[Any] | None = None) -> Any:
        if ref.position is not None:
            positional = self.positional if positional is None else positional
            if positional is None or ref.position >= len(positional):
                raise TaskSqlError(CODE_BIND_NOT_SET, "SQL compilation error:\nBind variable ? "
                                   f"(position {ref.position + 1}) not set.", "42601")
            return positional[ref.position]
        found = frame.find(ref.name)
        if found is None and ref.name in self.dml:
            return self.dml[ref.name]
        if isinstance(found, Variable) and ref.field is None:
            return found.value
        if isinstance(found, Record) and ref.field is not None:
            index = found.columns.get(ref.field, found.columns.get(ref.field.upper()))
            if index is None:
                raise TaskSqlError(CODE_INVALID_IDENTIFIER, "SQL compilation error: error line "
                                   f"{where.line} at position {where.column}\ninvalid "
                                   f"identifier '{ref.name}.{ref.field}'", "42000")
            return found.row[index]
        if found is None:
            raise TaskSqlError(CODE_BIND_NOT_SET, "SQL compilation error: error line "
                               f"{where.line} at position {where.column}\nBind variable "
                               f":{ref.name} not set.", "42601")
        raise TaskSqlError(CODE_INVALID_IDENTIFIER, "SQL compilation error: error line "
                           f"{where.line} at position {where.column}\ninvalid identifier "
                           f"'{ref.name}{'.' + ref.field if ref.field else ''}' (a "
                           f"{type(found).__name__.lower()} is not a value here)", "42000")

    def evaluate(self, expr: n.Expr, frame: Frame, cast: str | None = None,
                 positional: list[Any] | None = None) -> Any:
        """The value of an expression, variables bound (cast to a declared type)."""
        text = expr.text
        if cast is None:
            simple = self._simple(text, frame, expr.where)
            if simple is not _NOT_SIMPLE:
                return simple
        names = bare_names(text) & (frame.visible() | self.dml.keys())
        rendered, values = render(expression_template(text, frozenset(names)),
                                  lambda ref: self.value_of(ref, frame, expr.where, positional))
        select = f"SELECT {rendered}" if cast is None else \
            f"SELECT CAST(({rendered}) AS {_plain_type(cast)})"
        try:
            result = self.session.execute(Statement(select, expr.where.line), values)
        except TaskSqlError as error:
            if not catchable(error):
                raise
            kind = "STATEMENT_ERROR" if "SELECT" in text.upper() else "EXPRESSION_ERROR"
            raise ScriptError(kind, error.code, error.message, error.sql_state,
                              expr.where) from error
        return result.rows[0][0] if result.rows and result.rows[0] else None

    def _simple(self, text: str, frame: Frame, where: n.Where) -> Any:
        """Literals and lone variables, without a round trip to the engine."""
        tokens = tokenize(text)
        if len(tokens) == 2 and tokens[0].token_type == TokenType.COLON:
            tokens = tokens[1:]
        if len(tokens) != 1:
            return _NOT_SIMPLE
        token = tokens[0]
        kind = token.token_type
        if kind in (TokenType.STRING, TokenType.RAW_STRING):
            return token.text
        if kind == TokenType.NUMBER and token.text.isdigit():
            return int(token.text)
        if kind == TokenType.TRUE:
            return True
        if kind == TokenType.FALSE:
            return False
        if kind == TokenType.NULL:
            return None
        name = token.text if kind == TokenType.IDENTIFIER else token.text.upper()
        found = frame.find(name)
        if isinstance(found, Variable):
            return found.value
        if found is None and name in self.dml:
            return self.dml[name]
        return _NOT_SIMPLE

    @staticmethod
    def _undeclared(name: str, where: n.Where, what: str = "a variable") -> TaskSqlError:
        return TaskSqlError(CODE_INVALID_IDENTIFIER, "SQL compilation error: error line "
                            f"{where.line} at position {where.column}\ninvalid identifier "
                            f"'{name}' (not declared as {what})", "42000")

    # ------------------------------------------------------------------------ CALL
    def call(self, sql: n.Sql, frame: Frame) -> Result:
        ctx = self.session.ctx
        spec = parse_call(sql.text, ctx.database, ctx.schema)
        if spec.system_function is not None:  # CALL SYSTEM$SET_RETURN_VALUE(...) and friends
            function = spec.name[2].upper()
            result = self.run_sql(n.Sql(sql.where, f'SELECT {spec.system_function} AS '
                                        f'"{function}"'), frame)
            return self._into(spec, result, frame, sql.where)
        database, schema, name = spec.name
        candidates = self.session.catalog.find(database, schema, name)
        if not candidates:
            raise TaskSqlError(CODE_UNKNOWN_FUNCTION, "SQL compilation error:\nUnknown "
                               f"function {database}.{schema}.{name}", "42601")
        proc = next((p for p in candidates if p.accepts(len(spec.arguments))), None)
        if proc is None:
            raise TaskSqlError(
                CODE_INVALID_ARGUMENTS, f"SQL compilation error:\nInvalid argument types for "
                f"function '{name}': {len(spec.arguments)} argument(s) given; "
                f"{' or '.join(p.signature() for p in candidates)} expected.", "42P13")
        values = self._arguments(proc, spec, frame, sql.where)
        return self._into(spec, self.invoke(proc, values), frame, sql.where)

    def _into(self, spec: CallSpec, result: Result, frame: Frame, where: n.Where) -> Result:
        if spec.into is not None:
            target = frame.find(spec.into)
            if not isinstance(target, Variable):
                raise self._undeclared(spec.into, where)
            target.value = result.rows[0][0] if result.rows and result.rows[0] else None
        return result

    def _arguments(self, proc: Procedure, spec: CallSpec, frame: Frame,
                   where: n.Where) -> list[Any]:
        given: dict[str, n.Expr] = {}
        bound: dict[str, list[Any] | None] = {}  # each argument's share of the ? bindings
        marks = 0
        for index, (keyword, text) in enumerate(spec.arguments):
            name = keyword if keyword is not None else proc.arguments[index].name
            bound[name] = None if self.positional is None else self.positional[marks:]
            marks += sum(1 for t in tokenize(text) if t.token_type == TokenType.PLACEHOLDER)
            if keyword is None:
                given[proc.arguments[index].name] = n.Expr(text, where)
            elif keyword not in {a.name for a in proc.arguments}:
                raise TaskSqlError(CODE_INVALID_ARGUMENTS, "SQL compilation error:\n"
                                   f"{proc.signature()} has no argument named {keyword}.",
                                   "42P13")
            else:
                given[keyword] = n.Expr(text, where)
        values = []
        for argument in proc.arguments:
            if argument.name in given:
                values.append(self.evaluate(given[argument.name], frame, argument.type,
                                            bound.get(argument.name)))
            elif argument.default is not None:
                values.append(self.evaluate(n.Expr(argument.default, where), Frame(None),
                                            argument.type))
            else:
                raise TaskSqlError(CODE_INVALID_ARGUMENTS, "SQL compilation error:\n"
                                   f"{proc.signature()}: argument {argument.name} is missing.",
                                   "42P13")
        return values

    def invoke(self, proc: Procedure, values: list[Any]) -> Result:
        """Run a procedure with its arguments' values: one row (its value) or its table."""
        if proc.language != "SQL":
            language = _LANGUAGES.get(proc.language, proc.language.title())
            raise UnsupportedSqlError(
                f"{language} stored procedures cannot run locally: procedure "
                f"{proc.signature()} is LANGUAGE {proc.language}; only LANGUAGE SQL "
                "procedures run on the local server.")
        if self.session.depth >= MAX_CALL_DEPTH:
            raise CallDepthError(CODE_RUNTIME, f"CALL {proc.qualified}: procedures nested more "
                               f"than {MAX_CALL_DEPTH} calls deep (the local server's limit).",
                               "54001")
        frame = Frame(None, {argument.name: Variable(value, argument.type)
                             for argument, value in zip(proc.arguments, values, strict=True)})
        inner = Interpreter(dataclasses.replace(self.session, depth=self.session.depth + 1))
        value, table = inner.run_block(parse_block(proc.body), frame)
        if table is not None:
            return table
        returns = (proc.returns or "").strip()
        if returns and not returns.upper().startswith("TABLE") and value is not None:
            value = self.evaluate(n.Expr(":value", n.Where(1, 0)),
                                  Frame(None, {"VALUE": Variable(value)}), returns)
        return scalar_result(proc.name, value)


_NOT_SIMPLE = object()
_LANGUAGES = {"JAVASCRIPT": "JavaScript", "PYTHON": "Python", "JAVA": "Java", "SCALA": "Scala"}


def _is_function_call(text: str) -> bool:
    tokens = tokenize(text)
    return (len(tokens) >= 3 and tokens[0].text.upper().startswith("SYSTEM$")
            and tokens[1].token_type == TokenType.L_PAREN
            and tokens[-1].token_type == TokenType.R_PAREN)


def _true(value: Any) -> bool:
    return value is True or (not isinstance(value, (bool, str)) and value is not None
                             and value == 1)


def _plain_type(declared: str) -> str:
    """A declared type without NOT NULL (not part of a CAST)."""
    text = declared.strip()
    upper = text.upper()
    for suffix in (" NOT NULL", " NULL"):
        if upper.endswith(suffix):
            return text[: -len(suffix)].strip()
    return text

