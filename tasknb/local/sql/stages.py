"""Internal stages and file formats of the local engine: what exists, where staged files live,
and the commands that manage them (CREATE / DROP / SHOW, PUT, LIST, REMOVE; COPY INTO is
:mod:`tasknb.local.sql.copy_into`).

    >>> safe_path("in/2024/a.csv"), stage_dir_name("LANDING").startswith("LANDING-h")
    ('in/2024/a.csv', True)

Where things are kept: stages and file formats are rows of tables in their database's DuckDB
file (schema ``tasknb$catalog``, like stored procedures), so they survive restarts and go with
their schema or database. Staged files are plain files under ``<data dir>/engine.duckdb.databases
/stages/<database>/<schema>/<stage>/<path>``, 0600 in 0700 folders; every path a statement
names is checked to stay inside its stage's folder (no ``..``, no absolute parts). The user
stage ``@~`` is one folder for the data dir; a table stage ``@%t`` is a folder of the table.

PUT reads a file of the machine the server runs on, as the server's user: on Snowflake PUT is
the client's command and the local server runs on the user's machine, behind its token. Only
regular files are read (not devices, FIFOs or folders), at most :data:`MAX_PUT_BYTES`, never
files inside the server's own data dir; a server bound to an address other than loopback
refuses PUT (``SqlEngine.local_files``).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from tasknb.local.sql import stage_commands as sc
from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import (
    CODE_ALREADY_EXISTS,
    CODE_DOES_NOT_EXIST,
    CODE_INTERNAL,
    CODE_SYNTAX,
    SQLSTATE_DISK_FULL,
    TaskSqlError,
    UnsupportedSqlError,
)
from tasknb.local.sql.file_formats import FileFormat, detect_compression
from tasknb.local.sql.names import quote_identifier, sql_string

CATALOG_SCHEMA = "tasknb$catalog"
COMMAND = sc.COMMAND
#: The largest file PUT takes (Snowflake recommends files of 100-250 MB compressed).
MAX_PUT_BYTES = 2 * 2**30
#: The longest PATTERN regular expression (it runs on RE2, linear in the name's length).
MAX_PATTERN_CHARS = 2000
CODE_FILE_MISSING = 253006  # the Snowflake client's "File doesn't exist"
CODE_BAD_REGEX = 100048  # Invalid regular expression
USER_STAGE_DIR = "~user"

_CREATE_LOCK = threading.Lock()
_REGEX_LOCK = threading.Lock()
_REGEX_CON: duckdb.DuckDBPyConnection | None = None

Key = tuple[str, str, str]


def stage_dir_name(name: str) -> str:
    """A folder name for an object name: a readable prefix and a hash of the whole name."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:20]
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', name)[:40]}-h{digest}"


def bad_path(path: str, why: str) -> TaskSqlError:
    return TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\ninvalid stage path '{path[:200]}': "
                        f"{why}.", "42000")


def safe_path(path: str) -> str:
    """A stage-relative path, checked: no ``.`` or ``..`` parts, no backslashes or NULs."""
    parts = [p for p in path.split("/") if p]
    for part in parts:
        if part in (".", "..") or "\\" in part or "\0" in part:
            raise bad_path(path, "'.', '..', backslashes and NUL are not allowed in stage paths")
    return "/".join(parts)


def matches(names: list[str], pattern: str | None) -> list[str]:
    """The names a PATTERN regular expression matches whole (RE2 through DuckDB: linear time,
    so a hostile pattern cannot hang the server; 100048 for an invalid one)."""
    if pattern is None:
        return names
    if len(pattern) > MAX_PATTERN_CHARS:
        raise TaskSqlError(CODE_BAD_REGEX, f"Invalid regular expression: the PATTERN has "
                           f"{len(pattern)} characters, more than the local server takes "
                           f"({MAX_PATTERN_CHARS}).", "2201B")
    if not names:
        return []
    global _REGEX_CON
    with _REGEX_LOCK:
        if _REGEX_CON is None:
            _REGEX_CON = duckdb.connect(":memory:", config={"enable_external_access": False})
        try:
            rows = _REGEX_CON.execute(
                f"SELECT name FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(name, n) WHERE "
                f"regexp_full_match(name, {sql_string(pattern)}) ORDER BY n", [names]).fetchall()
        except duckdb.Error as error:
            raise TaskSqlError(CODE_BAD_REGEX, "Invalid regular expression: "
                               f"'{pattern[:80]}' ({str(error).splitlines()[0][:160]}).",
                               "2201B") from error
    return [row[0] for row in rows]


@dataclass
class Stage:
    """A stage a statement names, resolved: where its files are and what it reads them as."""

    label: str            # how LIST and COPY name its files (``landing``, ``%t``, ``~``)
    folder: Path
    key: Key | None       # a named stage's (database, schema, name)
    url: str | None = None
    format_options: dict[str, Any] | None = None
    copy_options: dict[str, Any] | None = None

    @property
    def display(self) -> str:
        return ".".join(self.key) if self.key else "@" + self.label

    def check_internal(self) -> None:
        if self.url:
            raise UnsupportedSqlError(f"stage {self.display} is an external stage ({self.url[:80]}):"
                                      " external stages are not reachable from the local server.")

    def file(self, relative: str) -> Path:
        """The file of a stage-relative path, checked to stay inside the stage's folder."""
        relative = safe_path(relative)
        target = self.folder.joinpath(*relative.split("/")) if relative else self.folder
        root = os.path.realpath(self.folder)
        real = os.path.realpath(target)
        if real != root and not real.startswith(root + os.sep):
            raise bad_path(relative, "it leaves the stage")
        return target

    def files(self, prefix: str = "") -> list[str]:
        """The stage's files whose path starts with ``prefix``, sorted (as LIST shows them)."""
        prefix = safe_path(prefix)
        found: list[str] = []
        if not self.folder.is_dir():
            return found
        for directory, folders, names in os.walk(self.folder):
            folders[:] = sorted(f for f in folders if not f.startswith(".tasknb-"))
            for name in names:
                if name.startswith(".tasknb-"):
                    continue
                full = Path(directory, name)
                if full.is_symlink() or not full.is_file():
                    continue
                relative = full.relative_to(self.folder).as_posix()
                if relative.startswith(prefix):
                    found.append(relative)
        return sorted(found)

    def name_of(self, relative: str) -> str:
        """A file as LIST and COPY name it (``landing/in/a.csv.gz``)."""
        return f"{self.label}/{relative}" if self.label not in ("~",) else relative


def _write_private(target: Path, data: bytes) -> None:
    """Write a staged file atomically, 0600 in 0700 folders (a full disk is 000603)."""
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tasknb-", dir=target.parent)
    except OSError as error:
        raise _write_error(target, error) from error
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _write_error(target, error) from error
        raise


def _write_error(target: Path, error: OSError) -> TaskSqlError:
    if error.errno == errno.ENOSPC:
        return TaskSqlError(CODE_INTERNAL, f"PUT could not store '{target.name}': the disk is "
                            "full. Free some space and PUT the file again.", SQLSTATE_DISK_FULL)
    return TaskSqlError(CODE_INTERNAL, f"PUT could not store '{target.name}' in the data dir "
                        f"({error.strerror}).", "58030")


def _answer(cursor: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]],
            rows: list[list[Any]]) -> None:
    """Make ``rows`` the cursor's result (what the SQL API returns)."""
    names = ", ".join(quote_identifier(name) for name, _ in columns)
    cells = "(" + ", ".join(f"CAST(? AS {kind})" for _, kind in columns) + ")"
    values = ", ".join(cells for _ in rows) or cells
    query = f"SELECT * FROM (VALUES {values}) AS t({names})"
    cursor.execute(query + ("" if rows else " WHERE FALSE"),
                   [v for row in rows for v in row] or [None] * len(columns))


def _status(cursor: duckdb.DuckDBPyConnection, message: str) -> None:
    cursor.execute(f"SELECT {sql_string(message)} AS status")


def _missing(kind: str, key: tuple[str, ...]) -> TaskSqlError:
    return TaskSqlError(CODE_DOES_NOT_EXIST, f"SQL compilation error:\n{kind} "
                        f"'{'.'.join(key)}' does not exist or not authorized.", "02000")


def _qualify(parts: list[str], ctx: TaskContext) -> Key:
    full = [ctx.database, ctx.schema][: 3 - len(parts)] + parts
    if len(full) != 3:
        raise sc.syntax_error(".".join(parts), "an object name")
    return (full[0], full[1], full[2])


def _http_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%a, %-d %b %Y %H:%M:%S GMT")


def _table_key(table: Any, ctx: TaskContext) -> Key | None:
    parts = [p.this if p.quoted else p.this.upper()
             for p in (table.args.get("catalog"), table.args.get("db"), table.this)
             if isinstance(p, exp.Identifier)]
    return _qualify(parts, ctx) if 1 <= len(parts) <= 3 else None


def reset_tables(tree: exp.Expression, ctx: TaskContext) -> tuple[Key, ...]:
    """The tables whose load metadata a statement ends: CREATE OR REPLACE TABLE and DROP TABLE
    (a new table has none) and TRUNCATE TABLE (docs.snowflake.com/en/sql-reference/sql/
    truncate-table: it "also deletes the load metadata for the table")."""
    tables: list[Any] = []
    if isinstance(tree, exp.TruncateTable):
        tables = list(tree.expressions)
    elif isinstance(tree, exp.Drop) and str(tree.args.get("kind") or "").upper() == "TABLE":
        tables = list(tree.args.get("tables") or ([tree.this] if tree.this else []))
    elif isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper() == "TABLE" \
            and tree.args.get("replace"):
        tables = [tree.this.this if isinstance(tree.this, exp.Schema) else tree.this]
    keys = [_table_key(t, ctx) for t in tables if isinstance(t, exp.Table)]
    return tuple(k for k in keys if k is not None)


class ResetsLoads(str):
    """The DuckDB text of a statement after which its tables' load metadata goes."""

    resets_loads: tuple[Key, ...] = ()


def mark_resets(tree: exp.Expression, duck_sql: str, ctx: TaskContext) -> str:
    """``duck_sql``, carrying the tables whose load metadata it ends (``resets_loads``)."""
    keys = reset_tables(tree, ctx)
    if not keys:
        return duck_sql
    marked = duck_sql if type(duck_sql) is not str else ResetsLoads(duck_sql)
    marked.resets_loads = keys  # type: ignore[attr-defined]
    return marked


class StageSql(str):
    """The text of a stage command, parsed (for :meth:`Stages.run`)."""

    command: sc.Command
    in_transaction = False


def command_sql(text: str, in_transaction: bool = False) -> StageSql:
    marked = StageSql(text)
    marked.command = sc.parse(text)
    marked.in_transaction = in_transaction
    return marked


@dataclass
class StageRun:
    """What the engine lends a stage command: the run's cursor, a way to run DuckDB SQL on it
    (timeouts, cancels and error mapping), and the run's SELECT translation."""

    cursor: duckdb.DuckDBPyConnection
    execute: Callable[[str, list[Any] | None], None]
    translate: Callable[[str], str]
    ctx: TaskContext
    in_transaction: bool = False


class Stages:
    """The stages of one engine: the catalog tables, the files, and the commands."""

    def __init__(self, root: Path | None, data_dir: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="tasknb-stages-")) if root is None else root
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self.data_dir = data_dir
        #: False on a server other processes' machines can reach: PUT is refused there
        self.local_files = True

    def close(self) -> None:
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------------ the catalog
    @staticmethod
    def _table(database: str, table: str) -> str:
        return f"{quote_identifier(database)}.{quote_identifier(CATALOG_SCHEMA)}.{table}"

    def _ensure(self, cursor: duckdb.DuckDBPyConnection, database: str) -> None:
        with _CREATE_LOCK:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(database)}."
                           f"{quote_identifier(CATALOG_SCHEMA)}")
            for table, columns in (
                    ("stages", "url VARCHAR, options VARCHAR, comment VARCHAR, created_on VARCHAR"),
                    ("file_formats", "options VARCHAR, comment VARCHAR, created_on VARCHAR")):
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {self._table(database, table)} "
                               f"(schema_name VARCHAR, name VARCHAR, {columns}, "
                               "PRIMARY KEY (schema_name, name))")
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table(database, 'load_history')} "
                "(schema_name VARCHAR, table_name VARCHAR, stage VARCHAR, file VARCHAR, "
                "md5 VARCHAR, loaded_at TIMESTAMPTZ, rows_loaded BIGINT, status VARCHAR)")

    @staticmethod
    def _has(cursor: duckdb.DuckDBPyConnection, database: str, table: str) -> bool:
        """Whether a catalog table exists (asked without an error, which would end the task's
        own open transaction)."""
        return cursor.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ?", [database, CATALOG_SCHEMA, table]).fetchone() != (0,)

    def _row(self, cursor: duckdb.DuckDBPyConnection, table: str, key: Key) -> tuple[Any, ...] | None:
        if not self._has(cursor, key[0], table):
            return None
        return cursor.execute(
            f"SELECT * FROM {self._table(key[0], table)} WHERE upper(schema_name) = upper(?) "
            "AND name = ?", [key[1], key[2]]).fetchone()

    def file_format(self, cursor: duckdb.DuckDBPyConnection, name: str,
                    ctx: TaskContext) -> FileFormat:
        """A named file format (002003 when there is none)."""
        parts = [p for p in sc._parts(name)]
        key = _qualify(parts, ctx)
        row = self._row(cursor, "file_formats", key)
        if row is None:
            raise _missing("File format", key)
        return FileFormat.from_options(json.loads(row[2]))

    def format_of(self, cursor: duckdb.DuckDBPyConnection, value: Any, ctx: TaskContext,
                  base: FileFormat | None = None) -> FileFormat:
        """FILE_FORMAT = (TYPE = ...) | (FORMAT_NAME = 'f') | f, over ``base``."""
        if isinstance(value, str):
            return self.file_format(cursor, value, ctx)
        if not isinstance(value, dict):
            raise sc.syntax_error(str(value), "a FILE_FORMAT")
        if "FORMAT_NAME" in value:
            return self.file_format(cursor, str(value["FORMAT_NAME"]), ctx)
        return FileFormat.from_options(value, base)

    def resolve(self, cursor: duckdb.DuckDBPyConnection, ref: sc.StageRef,
                ctx: TaskContext) -> Stage:
        """The stage a reference names (002003 when it does not exist)."""
        if ref.kind == "user":
            return Stage("~", self.root / USER_STAGE_DIR, None)
        key = _qualify(ref.name, ctx)
        base = self.root / stage_dir_name(key[0]) / stage_dir_name(key[1])
        if ref.kind == "table":
            found = cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE lower(database_name) = lower(?) "
                "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)",
                list(key)).fetchone()
            if found is None:
                raise _missing("Table", key)
            return Stage("%" + key[2].lower(), base / ("%" + stage_dir_name(key[2])), None)
        row = self._row(cursor, "stages", key)
        if row is None:
            raise _missing("Stage", key)
        options = json.loads(row[3] or "{}")
        return Stage(key[2].lower(), base / stage_dir_name(key[2]), key, url=row[2],
                     format_options=options.get("FILE_FORMAT"),
                     copy_options=options.get("COPY_OPTIONS"))

    def forget_loads(self, cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
        """After a statement that ends load metadata (:func:`mark_resets`) ran: end it."""
        for database, schema, table in getattr(sql, "resets_loads", ()):
            if self._has(cursor, database, "load_history"):
                cursor.execute(f"DELETE FROM {self._table(database, 'load_history')} WHERE "
                               "upper(schema_name) = upper(?) AND upper(table_name) = upper(?)",
                               [schema, table])

    def forget(self, database: str, schema: str | None = None) -> None:
        """A database or schema went: its staged files go with it."""
        folder = self.root / stage_dir_name(database)
        if schema is not None:
            folder = folder / stage_dir_name(schema)
        shutil.rmtree(folder, ignore_errors=True)

    def forget_schema_rows(self, con: duckdb.DuckDBPyConnection, database: str,
                           schema: str) -> None:
        """Drop the catalog rows of a dropped schema (nothing if the catalog is not there)."""
        for table in ("stages", "file_formats", "load_history"):
            with contextlib.suppress(duckdb.CatalogException):
                con.execute(f"DELETE FROM {self._table(database, table)} WHERE schema_name = ?",
                            [schema])
        self.forget(database, schema)

    # ------------------------------------------------------------------------ the commands
    def run(self, sql: StageSql, run: StageRun) -> None:
        """Run a stage command; its answer becomes the cursor's result."""
        command = sql.command
        cursor, ctx = run.cursor, run.ctx
        if isinstance(command, sc.CreateStage):
            _status(cursor, self._create_stage(cursor, command, ctx))
        elif isinstance(command, sc.CreateFileFormat):
            _status(cursor, self._create_format(cursor, command, ctx))
        elif isinstance(command, sc.DropObject):
            _status(cursor, self._drop(cursor, command, ctx))
        elif isinstance(command, sc.ShowObjects):
            self._show(cursor, command, ctx)
        elif isinstance(command, sc.PutFiles):
            self._put(cursor, command, ctx)
        elif isinstance(command, sc.ListFiles):
            self._list(cursor, command, ctx)
        elif isinstance(command, sc.RemoveFiles):
            self._remove(cursor, command, ctx)
        elif isinstance(command, sc.QueryStage):
            from tasknb.local.sql.copy_into import query_stage

            query_stage(self, command, run)
        else:
            from tasknb.local.sql.copy_into import copy_into

            copy_into(self, command, run)

    def _create_stage(self, cursor: duckdb.DuckDBPyConnection, command: sc.CreateStage,
                      ctx: TaskContext) -> str:
        key = _qualify(command.name, ctx)
        options = dict(command.options)
        url = options.pop("URL", None)
        if url is not None and not isinstance(url, str):
            raise sc.syntax_error(str(url), "a stage URL")
        comment = options.pop("COMMENT", None)
        file_format = options.get("FILE_FORMAT")
        if file_format is not None and not isinstance(file_format, (dict, str)):
            raise sc.syntax_error(str(file_format), "a FILE_FORMAT")
        if isinstance(file_format, dict) and "FORMAT_NAME" not in file_format:
            FileFormat.from_options(file_format)  # checked now, as Snowflake does
        created = self._claim_name(cursor, "stages", key, command, ctx)
        if created is None:
            return f"{key[2]} already exists, statement succeeded."
        cursor.execute(f"INSERT OR REPLACE INTO {self._table(key[0], 'stages')} VALUES "
                       "(?, ?, ?, ?, ?, ?)", [key[1], key[2], url, json.dumps(options),
                                              comment, created])
        folder = self.root / stage_dir_name(key[0]) / stage_dir_name(key[1]) / \
            stage_dir_name(key[2])
        shutil.rmtree(folder, ignore_errors=True)  # a replaced stage starts empty
        return f"Stage area {key[2]} successfully created."

    def _create_format(self, cursor: duckdb.DuckDBPyConnection, command: sc.CreateFileFormat,
                       ctx: TaskContext) -> str:
        key = _qualify(command.name, ctx)
        options = dict(command.options)
        comment = options.pop("COMMENT", None)
        FileFormat.from_options(options)  # refused now when it cannot be read
        created = self._claim_name(cursor, "file_formats", key, command, ctx)
        if created is None:
            return f"{key[2]} already exists, statement succeeded."
        cursor.execute(f"INSERT OR REPLACE INTO {self._table(key[0], 'file_formats')} VALUES "
                       "(?, ?, ?, ?, ?)", [key[1], key[2], json.dumps(options), comment,
                                           created])
        return f"File format {key[2]} successfully created."

    def _claim_name(self, cursor: duckdb.DuckDBPyConnection, table: str,
                    key: Key, command: sc.CreateStage | sc.CreateFileFormat,
                    ctx: TaskContext) -> str | None:
        """The creation time to record for ``key`` in ``table``, or None when it exists and
        the command said IF NOT EXISTS; an existing name without OR REPLACE is 002002."""
        self._ensure(cursor, key[0])
        if self._row(cursor, table, key) is not None:
            if command.if_not_exists:
                return None
            if not command.replace:
                raise TaskSqlError(CODE_ALREADY_EXISTS, f"SQL compilation error:\nObject "
                                   f"'{key[2]}' already exists.", "42710")
        created = (ctx.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        return created.isoformat(timespec="milliseconds")

    def _drop(self, cursor: duckdb.DuckDBPyConnection, command: sc.DropObject,
              ctx: TaskContext) -> str:
        key = _qualify(command.name, ctx)
        table = "stages" if command.kind == "STAGE" else "file_formats"
        if self._row(cursor, table, key) is None:
            if command.if_exists:
                return "Drop statement executed successfully " \
                       f"({command.kind.lower()} already dropped)."
            raise _missing("Stage" if command.kind == "STAGE" else "File format", key)
        cursor.execute(f"DELETE FROM {self._table(key[0], table)} WHERE upper(schema_name) = "
                       "upper(?) AND name = ?", [key[1], key[2]])
        if command.kind == "STAGE":
            shutil.rmtree(self.root / stage_dir_name(key[0]) / stage_dir_name(key[1]) /
                          stage_dir_name(key[2]), ignore_errors=True)
        return f"{key[2]} successfully dropped."

    def _show(self, cursor: duckdb.DuckDBPyConnection, command: sc.ShowObjects,
              ctx: TaskContext) -> None:
        table = "stages" if command.kind == "STAGES" else "file_formats"
        where = command.where
        if command.scope == "ACCOUNT":
            databases = [r[0] for r in cursor.execute(
                "SELECT DISTINCT database_name FROM duckdb_schemas() WHERE schema_name = ?",
                [CATALOG_SCHEMA]).fetchall()]
            schema = None
        elif command.scope == "DATABASE":
            databases, schema = [where[0] if where else ctx.database], None
        else:
            database, schema = ([ctx.database, *where] if len(where) == 1 else
                                where if where else [ctx.database, ctx.schema])[:2]
            databases = [database]
        found: list[tuple[str, tuple[Any, ...]]] = []
        for database in sorted(databases):
            if not self._has(cursor, database, table):
                continue
            rows = cursor.execute(f"SELECT * FROM {self._table(database, table)} ORDER BY "
                                  "schema_name, name").fetchall()
            found += [(database, r) for r in rows
                      if schema is None or r[0].upper() == schema.upper()]
        if command.like is not None:
            pattern = command.like.upper().replace("%", "*").replace("_", "?")
            found = [f for f in found if fnmatch.fnmatchcase(f[1][1].upper(), pattern)]
        if table == "stages":
            columns = ["created_on", "name", "database_name", "schema_name", "url",
                       "has_credentials", "has_encryption_key", "owner", "comment", "region",
                       "type", "cloud", "notification_channel", "storage_integration",
                       "endpoint", "owner_role_type", "directory_enabled"]
            rows = [[r[5], r[1], db, r[0], r[2] or "", "N", "N", "ACCOUNTADMIN", r[4] or "",
                     None, "EXTERNAL" if r[2] else "INTERNAL", None, None,
                     json.loads(r[3] or "{}").get("STORAGE_INTEGRATION"), None, "ROLE", "N"]
                    for db, r in found]
        else:
            columns = ["created_on", "name", "database_name", "schema_name", "type", "owner",
                       "comment", "format_options", "owner_role_type"]
            rows = [[r[4], r[1], db, r[0], FileFormat.from_options(json.loads(r[2])).type,
                     "ACCOUNTADMIN", r[3] or "", r[2], "ROLE"] for db, r in found]
        _answer(cursor, [(c, "VARCHAR") for c in columns], rows)

    # ------------------------------------------------------------------------ files
    def _put(self, cursor: duckdb.DuckDBPyConnection, command: sc.PutFiles,
             ctx: TaskContext) -> None:
        if ctx.task_name:
            raise UnsupportedSqlError("PUT in a task: PUT is a client command (the client "
                                      "uploads the file), so a task cannot run it, on Snowflake "
                                      "either; PUT the files through the SQL API first.")
        if not self.local_files:
            raise UnsupportedSqlError("PUT reads files of the server's machine; a local server "
                                      "bound to an address other than loopback refuses it.")
        stage = self.resolve(cursor, command.stage, ctx)
        stage.check_internal()
        options = command.options
        unknown = set(options) - {"AUTO_COMPRESS", "OVERWRITE", "PARALLEL", "SOURCE_COMPRESSION"}
        if unknown:
            raise sc.syntax_error(min(unknown), "a PUT option")
        auto_compress = str(options.get("AUTO_COMPRESS", "TRUE")).upper() == "TRUE"
        overwrite = str(options.get("OVERWRITE", "FALSE")).upper() == "TRUE"
        sources = self._local_files(command.source)
        prefix = safe_path(command.stage.path)
        rows: list[list[Any]] = []
        for source in sources:
            data = _read_local(source)
            compression = detect_compression(data)
            target_name = source.name
            target_data, target_compression = data, compression
            if auto_compress and compression == "NONE":
                target_name += ".gz"
                target_data = gzip.compress(data, compresslevel=6, mtime=0)
                target_compression = "GZIP"
            relative = f"{prefix}/{target_name}" if prefix else target_name
            target = stage.file(relative)
            if target.exists() and not overwrite:
                rows.append([source.name, target_name, len(data), target.stat().st_size,
                             compression, target_compression, "SKIPPED", ""])
                continue
            _write_private(target, target_data)
            rows.append([source.name, target_name, len(data), len(target_data), compression,
                         target_compression, "UPLOADED", ""])
        columns = [("source", "VARCHAR"), ("target", "VARCHAR"), ("source_size", "BIGINT"),
                   ("target_size", "BIGINT"), ("source_compression", "VARCHAR"),
                   ("target_compression", "VARCHAR"), ("status", "VARCHAR"),
                   ("message", "VARCHAR")]
        _answer(cursor, columns, rows)

    def _local_files(self, source: str) -> list[Path]:
        """The local files a PUT names (``*`` and ``?`` in the file name match several)."""
        if "\0" in source:
            raise TaskSqlError(CODE_FILE_MISSING, "File doesn't exist: the path holds a NUL "
                               "character.", "58030")
        path = Path(source)
        if not path.is_absolute():
            raise TaskSqlError(CODE_FILE_MISSING, f"File doesn't exist: ['{source}'] (PUT on the"
                               " local server needs an absolute path: file:///abs/path).",
                               "58030")
        if any(c in str(path.parent) for c in "*?["):
            raise TaskSqlError(CODE_FILE_MISSING, f"File doesn't exist: ['{source}'] (wildcards "
                               "are allowed in the file name only).", "58030")
        if any(c in path.name for c in "*?"):
            try:
                names = sorted(os.listdir(path.parent))
            except OSError:
                names = []
            found = [path.parent / n for n in names if fnmatch.fnmatchcase(n, path.name)
                     and (path.parent / n).is_file()]
        else:
            found = [path]
        if not found or (len(found) == 1 and not os.path.lexists(found[0])):
            raise TaskSqlError(CODE_FILE_MISSING, f"File doesn't exist: ['{source}']", "58030")
        if self.data_dir is not None:
            own = os.path.realpath(self.data_dir) + os.sep
            for each in found:
                if os.path.realpath(each).startswith(own):
                    raise TaskSqlError(CODE_FILE_MISSING, f"File '{each}' is inside the local "
                                       "server's data directory; PUT does not read it.", "58030")
        return found

    def _list(self, cursor: duckdb.DuckDBPyConnection, command: sc.ListFiles,
              ctx: TaskContext) -> None:
        stage = self.resolve(cursor, command.stage, ctx)
        stage.check_internal()
        rows = []
        for relative in matches(stage.files(command.stage.path), command.pattern):
            path = stage.file(relative)
            info = path.stat()
            rows.append([stage.name_of(relative), info.st_size, file_md5(path),
                         _http_date(datetime.fromtimestamp(info.st_mtime, timezone.utc))])
        _answer(cursor, [("name", "VARCHAR"), ("size", "BIGINT"), ("md5", "VARCHAR"),
                         ("last_modified", "VARCHAR")], rows)

    def _remove(self, cursor: duckdb.DuckDBPyConnection, command: sc.RemoveFiles,
                ctx: TaskContext) -> None:
        stage = self.resolve(cursor, command.stage, ctx)
        stage.check_internal()
        rows = []
        for relative in matches(stage.files(command.stage.path), command.pattern):
            with contextlib.suppress(FileNotFoundError):
                stage.file(relative).unlink()
            rows.append([stage.name_of(relative), "removed"])
        _answer(cursor, [("name", "VARCHAR"), ("result", "VARCHAR")], rows)


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_local(path: Path) -> bytes:
    """A local regular file's bytes; one-line errors for anything else."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError as error:
        raise TaskSqlError(CODE_FILE_MISSING, f"File '{path}' cannot be read by the local "
                           "server (permission denied).", "58030") from error
    except OSError as error:
        raise TaskSqlError(CODE_FILE_MISSING, f"File '{path}' cannot be read by the local "
                           f"server ({error.strerror}).", "58030") from error
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise TaskSqlError(CODE_FILE_MISSING, f"'{path}' is not a regular file; PUT uploads "
                               "files only.", "58030")
        if info.st_size > MAX_PUT_BYTES:
            raise TaskSqlError(CODE_FILE_MISSING, f"File '{path}' has {info.st_size} bytes, more "
                               f"than the local server's PUT takes ({MAX_PUT_BYTES}).", "58030")
        chunks = []
        total = 0
        while chunk := os.read(handle, 1 << 20):
            total += len(chunk)
            if total > MAX_PUT_BYTES:
                raise TaskSqlError(CODE_FILE_MISSING, f"File '{path}' is larger than the local "
                                   f"server's PUT takes ({MAX_PUT_BYTES} bytes).", "58030")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise TaskSqlError(CODE_FILE_MISSING, f"File '{path}' cannot be read by the local "
                           f"server ({error.strerror}).", "58030") from error
    finally:
        os.close(handle)
