"""COPY INTO <table> FROM an internal stage, with Snowflake's load metadata and ON_ERROR.

How one COPY runs: the stage's files under the FROM path are picked (FILES, PATTERN), those
already loaded into the table with the same contents (name and MD5, within 64 days of the
server clock) are passed over unless FORCE = TRUE, each remaining file is parsed
(:mod:`.file_formats`) into a temporary table of its records (``$1`` ... ``$n`` are columns
``__TASKNB_C1`` ..., next to ``METADATA$FILENAME`` and ``METADATA$FILE_ROW_NUMBER``), and the
table's columns are computed from it (the plain form: ``$1`` ... in order; the transform form:
the SELECT's expressions, translated like any statement) and cast to the table's types. A
record that fails is found by bisection (a failing statement in autocommit changes nothing),
so ON_ERROR = CONTINUE loads the others and SKIP_FILE drops its file; ABORT_STATEMENT (the
default) fails the statement with the first error. The rows and the load records are then
written in one transaction, so a file is never loaded twice by a task that COPYs every minute;
PURGE = TRUE removes the loaded files afterwards.

The answer is Snowflake's: one row per file (``file``, ``status``, ``rows_parsed``,
``rows_loaded``, ``error_limit``, ``errors_seen``, ``first_error``, ``first_error_line``,
``first_error_character``, ``first_error_column_name``), or ``Copy executed with 0 files
processed.`` when nothing was new.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tasknb.local.sql import stage_commands as sc
from tasknb.local.sql.errors import CODE_DOES_NOT_EXIST, TaskSqlError, UnsupportedSqlError
from tasknb.local.sql.file_formats import FileFormat, Row, read_rows
from tasknb.local.sql.names import quote_identifier
from tasknb.local.sql.stages import (
    CODE_FILE_MISSING,
    Stage,
    StageRun,
    Stages,
    _answer,
    _qualify,
    _status,
    matches,
    safe_path,
)

#: How long a file's load is remembered (Snowflake: "load metadata expires after 64 days").
LOAD_METADATA_DAYS = 64
ROWS_TABLE = "__TASKNB_STAGE_ROWS"
OUT_TABLE = "__TASKNB_COPY_OUT"
ROW = "__TASKNB_ROW"
INSERT_CHUNK_ROWS = 500
CODE_COLUMN_COUNT = 100080
CODE_JSON = 100069
CODE_PARSE = 100065
_COPY_OPTIONS = {"FILES", "PATTERN", "FILE_FORMAT", "ON_ERROR", "PURGE", "FORCE", "SIZE_LIMIT",
                 "RETURN_FAILED_ONLY", "MATCH_BY_COLUMN_NAME", "ENFORCE_LENGTH",
                 "TRUNCATECOLUMNS", "LOAD_UNCERTAIN_FILES"}
_METADATA = (("METADATA$FILENAME", "VARCHAR"), ("METADATA$FILE_ROW_NUMBER", "BIGINT"),
             ("METADATA$FILE_CONTENT_KEY", "VARCHAR"),
             ("METADATA$FILE_LAST_MODIFIED", "TIMESTAMP"),
             ("METADATA$START_SCAN_TIME", "TIMESTAMPTZ"))
_POSITIONAL = re.compile(r"'(?:[^'\\]|''|\\.)*'|(?<![\w$])\$(\d+)\b")


@dataclass
class FileResult:
    name: str
    relative: str
    md5: str
    parsed: int = 0
    loaded: int = 0
    errors: int = 0
    first_error: str | None = None
    first_line: int | None = None
    first_code: int = 0
    status: str = "LOADED"
    bad_rows: set[int] = field(default_factory=set)
    data: bytes = b""           # the file's bytes until it is parsed
    stage: str = ""             # the stage, as the load records name it
    modified: datetime | None = None


def positional_columns(select: str) -> tuple[str, int]:
    """The SELECT with ``$n`` as ``__TASKNB_Cn`` (never inside strings), and the largest n.

        >>> positional_columns("SELECT $1, $2:a, '$3' FROM x")
        ("SELECT __TASKNB_C1, __TASKNB_C2:a, '$3' FROM x", 2)
    """
    largest = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal largest
        if match.group(1) is None:
            return match.group(0)
        largest = max(largest, int(match.group(1)))
        return f"__TASKNB_C{int(match.group(1))}"

    return _POSITIONAL.sub(swap, select), largest


def _flag(options: dict[str, Any], name: str) -> bool:
    return str(options.get(name, "FALSE")).upper() == "TRUE"


def _table_columns(run: StageRun, key: tuple[str, str, str]) -> list[tuple[str, str]]:
    rows = run.cursor.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE lower(database_name) = "
        "lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) AND NOT "
        "internal ORDER BY column_index", list(key)).fetchall()
    if not rows:
        raise TaskSqlError(CODE_DOES_NOT_EXIST, f"SQL compilation error:\nTable "
                           f"'{'.'.join(key)}' does not exist or not authorized.", "02000")
    return [(str(name), str(kind)) for name, kind in rows]


def _options(stage: Stage, command: sc.CopyInto) -> dict[str, Any]:
    options = {**(stage.copy_options or {}), **command.options}
    unknown = sorted(set(options) - _COPY_OPTIONS)
    if "VALIDATION_MODE" in options:
        raise UnsupportedSqlError("COPY INTO with VALIDATION_MODE is not supported locally.")
    if unknown:
        raise UnsupportedSqlError(f"the COPY INTO option {unknown[0]} is not supported "
                                  "locally.")
    if str(options.get("MATCH_BY_COLUMN_NAME", "NONE")).upper() != "NONE":
        raise UnsupportedSqlError("COPY INTO with MATCH_BY_COLUMN_NAME is not supported "
                                  "locally; list the columns in a transform SELECT.")
    on_error = str(options.get("ON_ERROR", "ABORT_STATEMENT")).upper()
    if on_error not in ("ABORT_STATEMENT", "CONTINUE", "SKIP_FILE"):
        raise UnsupportedSqlError(f"ON_ERROR = {on_error} is not supported locally "
                                  "(ABORT_STATEMENT, CONTINUE and SKIP_FILE are).")
    options["ON_ERROR"] = on_error
    return options


def _file_format(stages: Stages, stage: Stage, command: sc.CopyInto, run: StageRun,
                 options: dict[str, Any]) -> FileFormat:
    fmt = FileFormat.from_options({})
    if stage.format_options is not None:
        fmt = stages.format_of(run.cursor, stage.format_options, run.ctx)
    for value in (command.source_options.get("FILE_FORMAT"), options.get("FILE_FORMAT")):
        if value is not None:
            fmt = stages.format_of(run.cursor, value, run.ctx, fmt)
    return fmt


def _candidates(stage: Stage, command: sc.CopyInto, options: dict[str, Any]) -> list[str]:
    prefix = safe_path(command.stage.path)
    files = options.get("FILES")
    if files is not None:
        wanted = [files] if isinstance(files, str) else list(files)
        picked = []
        for name in wanted:
            relative = safe_path(f"{prefix}/{name}" if prefix else name)
            if not stage.file(relative).is_file():
                raise TaskSqlError(CODE_FILE_MISSING, f"Remote file '{stage.name_of(relative)}' "
                                   "was not found; check the FILES list and the stage path.",
                                   "58030")
            picked.append(relative)
        return picked
    found = stage.files(prefix)
    pattern = options.get("PATTERN", command.source_options.get("PATTERN"))
    if pattern is not None and not isinstance(pattern, str):
        raise sc.syntax_error(str(pattern), "a PATTERN string")
    return matches(found, pattern)


def copy_into(stages: Stages, command: sc.CopyInto, run: StageRun) -> None:
    """Run COPY INTO <table> FROM @stage; the per-file answer becomes the cursor's result."""
    cursor, ctx = run.cursor, run.ctx
    table = _qualify(command.table, ctx)
    table_columns = _table_columns(run, table)
    stage = stages.resolve(cursor, command.stage, ctx)
    stage.check_internal()
    options = _options(stage, command)
    fmt = _file_format(stages, stage, command, run, options)
    if command.columns:
        by_name = {name.upper(): (name, kind) for name, kind in table_columns}
        missing = [c for c in command.columns if c.upper() not in by_name]
        if missing:
            raise TaskSqlError(904, f"SQL compilation error:\ninvalid identifier '{missing[0]}'",
                               "42000")
        targets = [by_name[c.upper()] for c in command.columns]
    else:
        targets = table_columns
    now = (ctx.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    force = _flag(options, "FORCE")
    stages._ensure(cursor, table[0])
    results: list[FileResult] = []
    for relative in _candidates(stage, command, options):
        path = stage.file(relative)
        data = path.read_bytes()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if not force and _loaded_before(run, stages, table, stage, relative, md5, now):
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        results.append(FileResult(stage.name_of(relative), relative, md5, data=data,
                                  stage=stage.display, modified=modified.replace(tzinfo=None)))
    if not results:
        _status(cursor, "Copy executed with 0 files processed.")
        return
    select, largest = (positional_columns(command.select) if command.select is not None
                       else (None, 0))
    try:
        _load(stages, run, command, table, targets, fmt, options, results, select, largest, now)
    finally:
        for name in (ROWS_TABLE, OUT_TABLE):
            run.cursor.execute(f"DROP TABLE IF EXISTS temp.main.{quote_identifier(name)}")
    if _flag(options, "PURGE"):
        for result in results:
            if result.status != "LOAD_FAILED":
                stage.file(result.relative).unlink(missing_ok=True)
    limit = 1 if options["ON_ERROR"] != "CONTINUE" else None
    columns = [("file", "VARCHAR"), ("status", "VARCHAR"), ("rows_parsed", "BIGINT"),
               ("rows_loaded", "BIGINT"), ("error_limit", "BIGINT"), ("errors_seen", "BIGINT"),
               ("first_error", "VARCHAR"), ("first_error_line", "BIGINT"),
               ("first_error_character", "BIGINT"), ("first_error_column_name", "VARCHAR")]
    shown = [r for r in results if not _flag(options, "RETURN_FAILED_ONLY") or r.errors]
    _answer(cursor, columns, [[r.name, r.status, r.parsed, r.loaded,
                               limit if limit is not None else r.parsed, r.errors,
                               r.first_error, r.first_line, None, None] for r in shown])


def _loaded_before(run: StageRun, stages: Stages, table: tuple[str, str, str], stage: Stage,
                   relative: str, md5: str, now: datetime) -> bool:
    row = run.cursor.execute(
        f"SELECT count(*) FROM {stages._table(table[0], 'load_history')} "
        "WHERE upper(schema_name) = upper(?) AND upper(table_name) = upper(?) AND stage = ? AND "
        "file = ? AND md5 = ? AND loaded_at >= ?",
        [table[1], table[2], stage.display, relative, md5,
         now - timedelta(days=LOAD_METADATA_DAYS)]).fetchone()
    return bool(row and row[0])


def _rows_table(run: StageRun, fmt: FileFormat, width: int) -> None:
    kind = "VARCHAR" if fmt.type == "CSV" else "JSON"
    columns = ", ".join([f"{quote_identifier(ROW)} BIGINT", "__TASKNB_LINE BIGINT",
                         *(f"__TASKNB_C{i} {kind}" for i in range(1, width + 1)),
                         *(f"{quote_identifier(n)} {t}" for n, t in _METADATA)])
    run.execute(f"CREATE OR REPLACE TEMP TABLE {quote_identifier(ROWS_TABLE)} ({columns})", [])


def _fill(run: StageRun, rows: list[tuple[int, Row]], width: int, result: FileResult,
          now: datetime, offset: int = 0) -> None:
    cells = "(" + ", ".join("?" for _ in range(2 + width + len(_METADATA))) + ")"
    for start in range(0, len(rows), INSERT_CHUNK_ROWS):
        chunk = rows[start:start + INSERT_CHUNK_ROWS]
        values: list[Any] = []
        for number, row in chunk:
            padded = (row.values + [None] * width)[:width]
            values += [offset + number, row.line, *padded, result.relative, number, result.md5,
                       result.modified, now]
        run.execute(f"INSERT INTO temp.main.{quote_identifier(ROWS_TABLE)} VALUES "
                    + ", ".join(cells for _ in chunk), values)


def _cast(expression: str, kind: str) -> str:
    if kind.upper() == "JSON":
        return f"to_json({expression})"
    return f"CAST({expression} AS {kind})"


def _load(stages: Stages, run: StageRun, command: sc.CopyInto, table: tuple[str, str, str],
          targets: list[tuple[str, str]], fmt: FileFormat, options: dict[str, Any],
          results: list[FileResult], select: str | None, largest: int, now: datetime) -> None:
    on_error = options["ON_ERROR"]
    out_columns = ", ".join([*(f"c{i} {kind}" for i, (_, kind) in enumerate(targets, 1)),
                             f"{quote_identifier(ROW)} BIGINT", "file_index INTEGER"])
    run.execute(f"CREATE OR REPLACE TEMP TABLE {quote_identifier(OUT_TABLE)} ({out_columns})",
                [])
    for index, result in enumerate(results):
        parsed = list(read_rows(result.data, fmt, result.name))
        result.data = b""
        result.parsed = len(parsed)
        good: list[tuple[int, Row]] = []
        for number, row in enumerate(parsed, start=1):
            error = row.error
            if error is None and select is None and fmt.type == "CSV" \
                    and fmt.error_on_column_count_mismatch and len(row.values) != len(targets):
                error = (f"Number of columns in file ({len(row.values)}) does not match that of "
                         f"the corresponding table ({len(targets)}), use file format option "
                         "error_on_column_count_mismatch=false to ignore this error")
            if error is not None:
                _record_error(result, row.line, error,
                              CODE_COLUMN_COUNT if error.startswith("Number of columns") else
                              CODE_JSON if fmt.type == "JSON" else CODE_PARSE)
                continue
            good.append((number, row))
        if select is None and fmt.type != "CSV" and len(targets) != 1:
            raise TaskSqlError(2023, "SQL compilation error:\nJSON file format can produce one "
                               "and only one column of type variant, object, or array. Use CSV "
                               "file format if you want to load more than one column.", "22000")
        width = max([largest, 1 if fmt.type != "CSV" else len(targets) if select is None else 1,
                     *(len(r.values) for _, r in good)])
        _rows_table(run, fmt, width)
        _fill(run, good, width, result, now)
        inner = _inner_select(run, command, select, targets)
        casts = ", ".join(_cast(f"o{i}", kind) for i, (_, kind) in enumerate(targets, 1))
        names = ", ".join([*(f"o{i}" for i in range(1, len(targets) + 1)), "o_row"])
        insert = (f"INSERT INTO temp.main.{quote_identifier(OUT_TABLE)} SELECT {casts}, o_row, "
                  f"{index} FROM ({inner}) AS __src({names})")
        _evaluate(run, insert, result, good, on_error)
        if result.errors and on_error == "ABORT_STATEMENT":
            raise _abort(result)
        result.loaded = len(good) - len(result.bad_rows)
        if result.errors and on_error == "SKIP_FILE":
            run.execute(f"DELETE FROM temp.main.{quote_identifier(OUT_TABLE)} WHERE "
                        "file_index = ?", [index])
            result.loaded = 0
        result.status = ("LOADED" if not result.errors else
                         "PARTIALLY_LOADED" if result.loaded else "LOAD_FAILED")
    _commit(stages, run, table, targets, results, now)


def _record_error(result: FileResult, line: int, message: str, code: int) -> None:
    """Count a record's error; the first one (by line) is the one reported."""
    result.errors += 1
    if result.first_line is None or line < result.first_line:
        result.first_error, result.first_line, result.first_code = message, line, code


def _abort(result: FileResult) -> TaskSqlError:
    """ON_ERROR = ABORT_STATEMENT: the statement fails with the file's first error."""
    return TaskSqlError(result.first_code, f"{result.first_error} (file '{result.name}', line "
                        f"{result.first_line}); use ON_ERROR = CONTINUE or SKIP_FILE to load "
                        "the other rows.", "22000")


def _inner_select(run: StageRun, command: sc.CopyInto, select: str | None,
                  targets: list[tuple[str, str]]) -> str:
    rows = f"temp.main.{ROWS_TABLE}"
    if select is None:
        columns = ", ".join(f"__TASKNB_C{i}" for i in range(1, len(targets) + 1))
        return f"SELECT {columns}, {quote_identifier(ROW)} FROM {rows}"
    alias = f" AS {quote_identifier(command.alias)}" if command.alias else ""
    translated = run.translate(f"{select.rstrip()}, {ROW} FROM {rows}{alias}")
    run.cursor.execute(f"SELECT * FROM ({translated}) LIMIT 0")
    produced = len(run.cursor.description or []) - 1
    if produced != len(targets):
        raise TaskSqlError(2020, "SQL compilation error:\nInsert value list does not match "
                           f"column list expecting {len(targets)} but got {produced}", "21S01")
    return translated


def _evaluate(run: StageRun, insert: str, result: FileResult, good: list[tuple[int, Row]],
              on_error: str) -> None:
    """Run the file's INSERT; when a record fails, find the failing ones by bisection."""
    lines = {number: row.line for number, row in good}
    if not good:
        return
    pending = [(good[0][0], good[-1][0])]
    while pending:
        low, high = pending.pop()
        try:
            run.execute(f"{insert} WHERE o_row BETWEEN ? AND ?", [low, high])
            continue
        except TaskSqlError as error:
            if run.in_transaction:  # a failed probe would end the task's own transaction
                raise TaskSqlError(error.code, f"{error.message.splitlines()[-1]} (file "
                                   f"'{result.name}'); use ON_ERROR = CONTINUE or SKIP_FILE to "
                                   "load the other rows.", error.sql_state) from error
            numbers = [n for n in lines if low <= n <= high]
            if len(numbers) == 1:
                result.bad_rows.add(numbers[0])
                _record_error(result, lines[numbers[0]], error.message.splitlines()[-1],
                              error.code)
                if on_error == "ABORT_STATEMENT":
                    return  # the first failing record is all the answer needs
                continue
            middle = numbers[len(numbers) // 2 - 1]
            pending += [(middle + 1, high), (low, middle)]


def _commit(stages: Stages, run: StageRun, table: tuple[str, str, str],
            targets: list[tuple[str, str]], results: list[FileResult], now: datetime) -> None:
    """The loaded rows and the load records, in one transaction."""
    names = ", ".join(quote_identifier(name) for name, _ in targets)
    columns = ", ".join(f"c{i}" for i in range(1, len(targets) + 1))
    target = ".".join(quote_identifier(p) for p in table)
    history = stages._table(table[0], "load_history")
    own = not run.in_transaction
    if own:
        run.execute("BEGIN TRANSACTION", [])
    try:
        run.execute(f"INSERT INTO {target} ({names}) SELECT {columns} FROM "
                    f"temp.main.{quote_identifier(OUT_TABLE)} ORDER BY file_index, "
                    f"{quote_identifier(ROW)}", [])
        for result in results:
            if result.status != "LOAD_FAILED":
                run.execute(f"INSERT INTO {history} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [table[1], table[2], result.stage,
                             result.relative, result.md5, now, result.loaded, result.status])
    except BaseException:
        if own:
            run.cursor.execute("ROLLBACK")
        raise
    if own:
        run.execute("COMMIT", [])


def query_stage(stages: Stages, command: sc.QueryStage, run: StageRun) -> None:
    """SELECT ... FROM @stage (also in INSERT ... SELECT, CREATE TABLE ... AS): the stage's
    files (PATTERN =>, FILE_FORMAT => a named format) are read into the rows table, the
    statement runs over it, and its answer becomes the cursor's result."""
    cursor, ctx = run.cursor, run.ctx
    stage = stages.resolve(cursor, command.stage, ctx)
    stage.check_internal()
    fmt = FileFormat.from_options({})
    if stage.format_options is not None:
        fmt = stages.format_of(cursor, stage.format_options, ctx)
    if command.source_options.get("FILE_FORMAT") is not None:
        fmt = stages.format_of(cursor, command.source_options["FILE_FORMAT"], ctx, fmt)
    pattern = command.source_options.get("PATTERN")
    if pattern is not None and not isinstance(pattern, str):
        raise sc.syntax_error(str(pattern), "a PATTERN string")
    alias = f" AS {quote_identifier(command.alias)}" if command.alias else ""
    text, largest = positional_columns(f"{command.before}temp.main.{ROWS_TABLE}{alias}"
                                       f"{command.after}")
    now = (ctx.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    files: list[tuple[FileResult, list[tuple[int, Row]]]] = []
    for relative in matches(stage.files(command.stage.path), pattern):
        path = stage.file(relative)
        data = path.read_bytes()
        result = FileResult(stage.name_of(relative), relative,
                            hashlib.md5(data, usedforsecurity=False).hexdigest(),
                            modified=datetime.fromtimestamp(path.stat().st_mtime, timezone.utc
                                                            ).replace(tzinfo=None))
        records = list(enumerate(read_rows(data, fmt, result.name), start=1))
        for _, row in records:
            if row.error is not None:
                _record_error(result, row.line, row.error,
                              CODE_JSON if fmt.type == "JSON" else CODE_PARSE)
                raise _abort(result)
        files.append((result, records))
    width = max([largest, 1, *(len(r.values) for _, rs in files for _, r in rs)])
    _rows_table(run, fmt, width)
    try:
        offset = 0
        for result, records in files:
            _fill(run, records, width, result, now, offset)
            offset += len(records)
        run.execute(run.translate(text), [])
        columns = [(re.sub(r"^__TASKNB_C(\d+)$", r"$\1", str(d[0])), str(d[1]))
                   for d in cursor.description or []]  # an unnamed $2 is named "$2"
        answer = (cursor.fetchmany(ctx.max_result_rows + 1) if ctx.max_result_rows
                  else cursor.fetchall())
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS temp.main.{quote_identifier(ROWS_TABLE)}")
    if columns:
        _answer(cursor, columns, [list(row) for row in answer])
