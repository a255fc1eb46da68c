"""Table streams: CREATE / DROP STREAM, reading the change set, and consuming it (SHOW STREAMS:
:mod:`.show`).

    >>> parse_command("CREATE OR REPLACE STREAM raw.orders_s ON TABLE raw.orders APPEND_ONLY = TRUE")
    CreateStream(name=['RAW', 'ORDERS_S'], source=['RAW', 'ORDERS'], replace=True, if_not_exists=False, append_only=True, show_initial_rows=False, comment=None)

How a stream is kept in DuckDB, next to its source and durable like it: in the stream's
schema, a table ``"__TASKNB_STREAM$<name>"`` holds the source's rows as they were at the
stream's offset (with each row's DuckDB ``rowid``; its table comment records the stream's
source and mode as JSON), and a view ``"<name>"`` is the change set: the rows that differ
between the source now and that copy (multiset difference, so the net change), with
``METADATA$ACTION`` ('INSERT' / 'DELETE'), ``METADATA$ISUPDATE`` (an INSERT and a DELETE of
the same row: an update) and ``METADATA$ROW_ID``. An append-only stream shows every row
inserted since the offset, also one deleted again since: before a DELETE, UPDATE, MERGE or
TRUNCATE of its source, the rows inserted since the offset are copied to
``"__TASKNB_STREAM$<name>$INSERTS"`` (docs.snowflake.com/en/user-guide/streams-intro, "Types of
streams": "Append-only streams track row inserts only"; "if 10 rows are inserted into a table
and then 5 of those rows are deleted before the offset for an append-only stream is advanced,
the stream records 10 rows"). ``SHOW_INITIAL_ROWS = TRUE`` starts with an empty copy, so the
first read returns every row as an INSERT.

Offsets advance as Snowflake documents: when an INSERT, UPDATE, DELETE or MERGE that reads the
stream commits, in the same transaction as the statement (an explicit BEGIN ... COMMIT in the
definition keeps it until COMMIT; ROLLBACK keeps the old offset). A SELECT never advances it.

Known differences: an append-only stream shows an inserted row that was updated since with
the values it had before the first DELETE / UPDATE after its insert; streams on views, external tables and
stages, and AT / BEFORE, are refused; the copy makes consuming a stream cost a pass over its
source.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
from sqlglot import exp

from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import (
    CODE_ALREADY_EXISTS,
    CODE_DOES_NOT_EXIST,
    CODE_SYNTAX,
    TaskSqlError,
    UnsupportedSqlError,
)
from tasknb.local.sql.names import fold, quote_identifier, sql_string

#: The prefix of the table that keeps a stream's offset (the source's rows at the offset).
SNAPSHOT_PREFIX = "__TASKNB_STREAM$"
ROWID = "__TASKNB_ROWID"
#: The suffix of an append-only stream's table of inserted rows kept past a DELETE / UPDATE.
KEPT_SUFFIX = "$INSERTS"
METADATA_COLUMNS = ("METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID")

Key = tuple[str, str, str]  # (database, schema, name), folded as Snowflake folds

_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART}){{0,2}}"
_CREATE = re.compile(
    rf"\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?STREAM\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{_NAME})\s+(?:COPY\s+GRANTS\s+)?ON\s+(?P<kind>EXTERNAL\s+TABLE|DYNAMIC\s+TABLE|"
    rf"TABLE|VIEW|STAGE)\s+(?P<source>{_NAME})(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(rf"\s*DROP\s+STREAM\s+(?P<ie>IF\s+EXISTS\s+)?(?P<name>{_NAME})\s*",
                   re.IGNORECASE)
_OPTION = re.compile(r"\s*(?P<key>[A-Z_]+)\s*=\s*(?P<value>'(?:[^']|'')*'|\w+)", re.IGNORECASE)
_IS_COMMAND = re.compile(r"\s*(CREATE\s+(OR\s+REPLACE\s+)?STREAM\b|DROP\s+STREAM\b)",
                         re.IGNORECASE)


@dataclass
class CreateStream:
    name: list[str]
    source: list[str]
    replace: bool
    if_not_exists: bool
    append_only: bool
    show_initial_rows: bool
    comment: str | None


@dataclass
class DropStream:
    name: list[str]
    if_exists: bool


Command = CreateStream | DropStream


def is_command(text: str) -> bool:
    """Whether a statement is CREATE STREAM or DROP STREAM."""
    return _IS_COMMAND.match(text) is not None


def _parts(name: str) -> list[str]:
    return [fold(p) for p in re.findall(_PART, name)]


def _syntax(text: str) -> TaskSqlError:
    return TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error: cannot read "
                                     f"{text.strip()[:80]!r} as a stream command.", "42000")


def parse_command(text: str) -> Command:
    """The stream command a statement is (raises 001003 when it cannot be read)."""
    text = text.strip().rstrip(";")
    if match := _CREATE.fullmatch(text):
        kind = " ".join(match["kind"].upper().split())
        if kind != "TABLE":
            raise UnsupportedSqlError(f"streams on {kind.lower()}s are not supported (only "
                                      "streams ON TABLE run locally).")
        options: dict[str, str] = {}
        rest = match["rest"]
        while rest.strip():
            if re.match(r"\s*(AT|BEFORE)\s*\(", rest, re.IGNORECASE):
                raise UnsupportedSqlError("streams with AT / BEFORE (time travel) are not "
                                          "supported.")
            option = _OPTION.match(rest)
            if option is None:
                raise _syntax(text)
            options[option["key"].upper()] = option["value"]
            rest = rest[option.end():]
        unknown = set(options) - {"APPEND_ONLY", "SHOW_INITIAL_ROWS", "COMMENT", "INSERT_ONLY"}
        if unknown:
            raise _syntax(text)
        if options.get("INSERT_ONLY", "FALSE").upper() == "TRUE":
            raise UnsupportedSqlError("INSERT_ONLY streams (external tables) are not supported.")
        comment = options.get("COMMENT")
        return CreateStream(
            name=_parts(match["name"]), source=_parts(match["source"]),
            replace=bool(match["replace"]), if_not_exists=bool(match["ine"]),
            append_only=options.get("APPEND_ONLY", "FALSE").upper() == "TRUE",
            show_initial_rows=options.get("SHOW_INITIAL_ROWS", "FALSE").upper() == "TRUE",
            comment=comment[1:-1].replace("''", "'") if comment else None)
    if match := _DROP.fullmatch(text):
        return DropStream(name=_parts(match["name"]), if_exists=bool(match["ie"]))
    raise _syntax(text)


class StreamSql(str):
    """The DuckDB text of a statement that the streams handle: a stream command
    (``command``), or DML that consumes the streams ``consumes``."""

    command: Command | None = None
    consumes: tuple[Key, ...] = ()
    reshapes: tuple[Key, ...] = ()  # streams whose source this ALTER / CREATE OR REPLACE changes
    keeps: tuple[Key, ...] = ()  # append-only streams whose inserts this statement may remove
    in_transaction = False  # inside the definition's own BEGIN ... COMMIT


def _qualify(parts: list[str], ctx: TaskContext) -> Key:
    full = [ctx.database, ctx.schema][: 3 - len(parts)] + parts
    return (full[0], full[1], full[2])


def _q(*parts: str) -> str:
    return ".".join(quote_identifier(p) for p in parts)


def _missing(kind: str, key: Key) -> TaskSqlError:
    return TaskSqlError(CODE_DOES_NOT_EXIST, f"SQL compilation error:\n{kind} "
                        f"'{'.'.join(key)}' does not exist or not authorized.", "02000")


@dataclass
class StreamInfo:
    key: Key
    source: Key
    append_only: bool
    created_on: str
    comment: str | None

    @property
    def snapshot(self) -> str:
        return _q(self.key[0], self.key[1], SNAPSHOT_PREFIX + self.key[2])

    @property
    def view(self) -> str:
        return _q(*self.key)

    @property
    def kept(self) -> str:
        """An append-only stream's inserted rows kept before a statement could remove them."""
        return _q(self.key[0], self.key[1], f"{SNAPSHOT_PREFIX}{self.key[2]}{KEPT_SUFFIX}")

    @property
    def check(self) -> Key:
        """The view of one boolean: whether the stream has data (SYSTEM$STREAM_HAS_DATA)."""
        return (self.key[0], self.key[1], f"{SNAPSHOT_PREFIX}{self.key[2]}$HAS_DATA")

    def meta(self) -> str:
        return json.dumps({"source": list(self.source), "append_only": self.append_only,
                           "created_on": self.created_on, "comment": self.comment})


def _change_set(info: StreamInfo) -> str:
    """The SELECT of a stream's change set (its view's text)."""
    source = _q(*info.source)
    row_id = (f"md5({sql_string('.'.join(info.source) + ':')} || CAST({quote_identifier(ROWID)} "
              "AS VARCHAR))")
    rid = quote_identifier(ROWID)
    head = (f"WITH cur AS (SELECT rowid AS {rid}, * FROM {source}), "
            f"old AS (SELECT * FROM {info.snapshot}), "
            "ins AS MATERIALIZED (SELECT * FROM cur EXCEPT ALL SELECT * FROM old)")
    if info.append_only:  # inserts only: those kept before a DELETE / UPDATE, and the rest
        return (f"WITH cur AS (SELECT rowid AS {rid}, * FROM {source}), "
                f"ins AS (SELECT * FROM {info.kept} UNION ALL SELECT * FROM cur WHERE {rid} NOT "
                f"IN (SELECT {rid} FROM {info.snapshot}) AND {rid} NOT IN (SELECT {rid} FROM "
                f"{info.kept})) SELECT * EXCLUDE ({rid}), 'INSERT' AS \"METADATA$ACTION\", "
                f"FALSE AS \"METADATA$ISUPDATE\", {row_id} AS \"METADATA$ROW_ID\" FROM ins")
    return (f"{head}, del AS MATERIALIZED (SELECT * FROM old EXCEPT ALL SELECT * FROM cur) "
            f"SELECT * EXCLUDE ({rid}), 'INSERT' AS \"METADATA$ACTION\", {rid} IN (SELECT {rid} "
            f"FROM del) AS \"METADATA$ISUPDATE\", {row_id} AS \"METADATA$ROW_ID\" FROM ins "
            f"UNION ALL SELECT * EXCLUDE ({rid}), 'DELETE', {rid} IN (SELECT {rid} FROM ins), "
            f"{row_id} FROM del")


def _has_data(info: StreamInfo) -> str:
    """The SELECT of whether the change set is not empty, without building it: the source's
    rows and the offset's differ in count or in the sum of their hashes (a collision, 2^-64,
    would read as no data; Snowflake's function may err the other way only)."""
    source, rid = _q(*info.source), quote_identifier(ROWID)
    if info.append_only:
        return (f"SELECT EXISTS (SELECT 1 FROM {info.kept}) OR EXISTS (SELECT 1 FROM {source} "
                f"WHERE rowid NOT IN (SELECT {rid} FROM {info.snapshot})) AS has_data")
    return (f"SELECT (SELECT (count(*), sum(hash(c)::HUGEINT)) FROM (SELECT rowid AS {rid}, * "
            f"FROM {source}) c) IS DISTINCT FROM (SELECT (count(*), sum(hash(o)::HUGEINT)) "
            f"FROM {info.snapshot} o) AS has_data")


def _refresh(info: StreamInfo) -> list[str]:
    """Move a stream's offset to now (run inside the consuming statement's transaction)."""
    return [f"DELETE FROM {info.snapshot}",
            f"INSERT INTO {info.snapshot} SELECT rowid, * FROM {_q(*info.source)}",
            *([f"DELETE FROM {info.kept}"] if info.append_only else [])]


def _keep_inserts(info: StreamInfo) -> str:
    """Keep an append-only stream's rows inserted since its offset before a statement that may
    delete or change them: such a stream "tracks row inserts only" (see the module)."""
    rid = quote_identifier(ROWID)
    return (f"INSERT INTO {info.kept} SELECT rowid AS {rid}, * FROM {_q(*info.source)} WHERE "
            f"rowid NOT IN (SELECT {rid} FROM {info.snapshot}) AND rowid NOT IN (SELECT {rid} "
            f"FROM {info.kept})")


def _make_views(info: StreamInfo, cursor: duckdb.DuckDBPyConnection) -> None:
    """(Re)create a stream's views (and an append-only stream's table of kept inserts)."""
    if info.append_only:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {info.kept} AS SELECT * FROM "
                       f"{info.snapshot} WHERE FALSE")
    cursor.execute(f"CREATE OR REPLACE VIEW {info.view} AS {_change_set(info)}")
    cursor.execute(f"CREATE OR REPLACE VIEW {_q(*info.check)} AS {_has_data(info)}")


@contextmanager
def _own_transaction(cursor: duckdb.DuckDBPyConnection, in_transaction: bool) -> Iterator[None]:
    """Run the block in a transaction of its own, unless the task's own is already open (then
    its COMMIT or ROLLBACK decides); rolled back when the block raises."""
    if in_transaction:
        yield
        return
    cursor.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        try:
            cursor.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    cursor.execute("COMMIT")


class Streams:
    """The streams of one engine: what exists, and the statements that read or manage them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[Key, StreamInfo] = {}
        self.changed: Callable[[], None] | None = None  # called after data may have changed

    def __bool__(self) -> bool:
        return bool(self._streams)

    def load(self, con: duckdb.DuckDBPyConnection, databases: Iterable[str] | None = None) -> None:
        """Read the streams kept in the attached databases (at start-up, after an attach)."""
        wanted = None if databases is None else set(databases)
        rows = con.execute(
            "SELECT database_name, schema_name, table_name, comment FROM duckdb_tables() "
            "WHERE starts_with(table_name, ?)", [SNAPSHOT_PREFIX]).fetchall()
        with self._lock:
            for database, schema, table, comment in rows:
                if wanted is not None and database not in wanted:
                    continue
                try:
                    meta = json.loads(comment or "")
                    info = StreamInfo((database, schema, table[len(SNAPSHOT_PREFIX):]),
                                      tuple(meta["source"]), bool(meta["append_only"]),  # type: ignore[arg-type]
                                      str(meta.get("created_on") or ""), meta.get("comment"))
                except (ValueError, KeyError, TypeError):
                    continue
                self._streams[info.key] = info

    def forget(self, database: str, schema: str | None = None) -> None:
        """A database or schema went (dropped or replaced): its streams went with it."""
        with self._lock:
            for key in [k for k in self._streams if k[0] == database
                        and (schema is None or k[1] == schema)]:
                del self._streams[key]

    def find(self, key: Key) -> StreamInfo | None:
        with self._lock:
            found = self._streams.get(key)
            if found is None:  # DuckDB matches names case-insensitively
                upper = tuple(p.upper() for p in key)
                found = next((i for k, i in self._streams.items()
                              if tuple(p.upper() for p in k) == upper), None)
            return found

    def listed(self) -> list[StreamInfo]:
        """The streams there are, in no particular order."""
        with self._lock:
            return list(self._streams.values())

    def sources(self) -> set[Key]:
        with self._lock:
            return {info.source for info in self._streams.values()}

    # -------------------------------------------------------------- statements that read them
    def mark(self, tree: exp.Expression, duck_sql: str, ctx: TaskContext, *,
             in_transaction: bool = False) -> str:
        """``duck_sql``, or a :class:`StreamSql` when the DML statement consumes streams (or
        the statement changes the columns of a stream's source)."""
        if not self._streams:
            return duck_sql
        if isinstance(tree, (exp.Alter, exp.Create)) and str(tree.args.get("kind", "")).upper() \
                == "TABLE" and (isinstance(tree, exp.Alter) or tree.args.get("replace")):
            return self._reshaping(tree, duck_sql, ctx, in_transaction)
        keeps = self._append_only_targets(tree, ctx)
        if not isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            return self._keeping(duck_sql, keeps, in_transaction)
        consumed: list[Key] = []
        for table in tree.find_all(exp.Table):
            parts = [p.this if p.quoted else p.this.upper()
                     for p in (table.args.get("catalog"), table.args.get("db"), table.this)
                     if isinstance(p, exp.Identifier)]
            if not parts:
                continue
            info = self.find(_qualify(parts, ctx))
            if info is not None and info.key not in consumed:
                consumed.append(info.key)
        if not consumed:
            return self._keeping(duck_sql, keeps, in_transaction)
        marked = StreamSql(duck_sql)
        marked.consumes = tuple(consumed)
        marked.keeps = keeps
        marked.in_transaction = in_transaction
        return marked

    def _append_only_targets(self, tree: exp.Expression, ctx: TaskContext) -> tuple[Key, ...]:
        """The append-only streams on the table a DELETE, UPDATE, MERGE or TRUNCATE changes."""
        if isinstance(tree, exp.TruncateTable):
            targets = list(tree.expressions)
        elif isinstance(tree, (exp.Update, exp.Delete, exp.Merge)):
            targets = [tree.this]
        else:
            return ()
        sources = set()
        for table in targets:
            if not isinstance(table, exp.Table):
                continue
            parts = [p.this if p.quoted else p.this.upper()
                     for p in (table.args.get("catalog"), table.args.get("db"), table.this)
                     if isinstance(p, exp.Identifier)]
            sources.add(tuple(p.upper() for p in _qualify(parts, ctx)))
        with self._lock:
            return tuple(k for k, i in self._streams.items()
                         if i.append_only and tuple(p.upper() for p in i.source) in sources)

    @staticmethod
    def _keeping(duck_sql: str, keeps: tuple[Key, ...], in_transaction: bool) -> str:
        if not keeps:
            return duck_sql
        marked = StreamSql(duck_sql)
        marked.keeps = keeps
        marked.in_transaction = in_transaction
        return marked

    def _reshaping(self, tree: exp.Expression, duck_sql: str, ctx: TaskContext,
                   in_transaction: bool) -> str:
        table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if not isinstance(table, exp.Table):
            return duck_sql
        parts = [p.this if p.quoted else p.this.upper()
                 for p in (table.args.get("catalog"), table.args.get("db"), table.this)
                 if isinstance(p, exp.Identifier)]
        source = tuple(p.upper() for p in _qualify(parts, ctx))
        with self._lock:
            keys = tuple(k for k, i in self._streams.items()
                         if tuple(p.upper() for p in i.source) == source)
        if not keys:
            return duck_sql
        marked = StreamSql(duck_sql)
        marked.reshapes = keys
        marked.in_transaction = in_transaction
        return marked

    def _reshape(self, info: StreamInfo, cursor: duckdb.DuckDBPyConnection) -> None:
        """The source's columns changed: the copy at the offset takes the new shape (a new
        column is NULL in it, a dropped one goes), and the views are made again."""
        columns = cursor.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE lower(database_name) = "
            "lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) "
            "ORDER BY column_index", list(info.source)).fetchall()
        if not columns:
            return  # the source is gone: reading the stream says so
        kept = {str(name).lower() for (name,) in cursor.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ?", [info.key[0], info.key[1], SNAPSHOT_PREFIX + info.key[2]]
        ).fetchall()}
        select = ", ".join(
            [quote_identifier(ROWID)] + [quote_identifier(str(name)) if str(name).lower() in kept
                                         else f"CAST(NULL AS {kind}) AS {quote_identifier(str(name))}"
                                         for name, kind in columns])
        cursor.execute(f"CREATE OR REPLACE TABLE {info.snapshot} AS SELECT {select} FROM "
                       f"{info.snapshot}")
        cursor.execute(f"COMMENT ON TABLE {info.snapshot} IS {sql_string(info.meta())}")
        if info.append_only and _object_kind(cursor, _unquoted_kept(info)) is not None:
            cursor.execute(f"CREATE OR REPLACE TABLE {info.kept} AS SELECT {select} FROM "
                           f"{info.kept}")
        _make_views(info, cursor)

    def has_data(self, name: str, ctx: TaskContext) -> exp.Expression:
        """SYSTEM$STREAM_HAS_DATA('<name>') as a subquery of the stream's check view."""
        parts = _parts(name)
        if not 1 <= len(parts) <= 3:
            raise _missing("Stream", (ctx.database, ctx.schema, name))
        key = _qualify(parts, ctx)
        info = self.find(key)
        if info is None:
            raise _missing("Stream", key)
        database, schema, view = info.check
        return exp.select("has_data").from_(exp.Table(
            this=exp.to_identifier(view, quoted=True), db=exp.to_identifier(schema, quoted=True),
            catalog=exp.to_identifier(database, quoted=True))).subquery()

    def run(self, sql: StreamSql, cursor: duckdb.DuckDBPyConnection, execute: Callable[[], None],
            ctx: TaskContext) -> None:
        """Run a stream command, or a consuming DML statement with its offsets' advance."""
        if sql.command is not None:
            self._command(sql.command, cursor, ctx, sql.in_transaction)
            return
        infos = [info for info in (self.find(key) for key in sql.consumes) if info is not None]
        reshaped = [info for info in (self.find(key) for key in sql.reshapes) if info is not None]
        kept = [info for info in (self.find(key) for key in sql.keeps) if info is not None]
        with _own_transaction(cursor, sql.in_transaction):
            for info in kept:
                if _object_kind(cursor, _unquoted_kept(info)) is None:  # made before $INSERTS
                    _make_views(info, cursor)
                cursor.execute(_keep_inserts(info))
            execute()
            for info in reshaped:
                self._reshape(info, cursor)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall() if columns else []
            for info in infos:
                for statement in _refresh(info):
                    cursor.execute(statement)
        if columns:  # the statement's own answer stays the cursor's result
            cells = ", ".join("?" for _ in columns)
            values = ", ".join(f"({cells})" for _ in rows) or f"({cells})"
            names = ", ".join(quote_identifier(c) for c in columns)
            query = f"SELECT * FROM (VALUES {values}) AS t({names})"
            cursor.execute(query + ("" if rows else " WHERE FALSE"),
                           [v for row in rows for v in row] or [None] * len(columns))

    # ------------------------------------------------------------------------------ commands
    def _command(self, command: Command, cursor: duckdb.DuckDBPyConnection,
                 ctx: TaskContext, in_transaction: bool) -> None:
        if isinstance(command, CreateStream):
            message = self._create(command, cursor, ctx, in_transaction)
        else:
            message = self._drop(command, cursor, ctx, in_transaction)
        cursor.execute(f"SELECT {sql_string(message)} AS status")

    def _create(self, command: CreateStream, cursor: duckdb.DuckDBPyConnection,
                ctx: TaskContext, in_transaction: bool) -> str:
        if len(command.name) > 3 or len(command.source) > 3:
            raise _syntax(".".join(command.name))
        key = _qualify(command.name, ctx)
        source = _qualify(command.source, ctx)
        done = f"Stream {key[2]} successfully created."
        existing = self.find(key)
        if existing is not None and command.if_not_exists:
            return done
        if existing is None and _object_kind(cursor, key) is not None:
            raise TaskSqlError(CODE_ALREADY_EXISTS, f"SQL compilation error:\nObject "
                               f"'{key[2]}' already exists.", "42710")
        if existing is not None and not command.replace:
            raise TaskSqlError(CODE_ALREADY_EXISTS, f"SQL compilation error:\nObject "
                               f"'{key[2]}' already exists.", "42710")
        kind = _object_kind(cursor, source)
        if kind is None:
            raise _missing("Table", source)
        if kind != "TABLE":
            raise UnsupportedSqlError("streams on views are not supported (only streams ON "
                                      "TABLE run locally).")
        created = (ctx.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        info = StreamInfo(key, source, command.append_only,
                          created.isoformat(timespec="milliseconds"), command.comment)
        with _own_transaction(cursor, in_transaction):
            where = " WHERE FALSE" if command.show_initial_rows else ""
            cursor.execute(f"CREATE OR REPLACE TABLE {info.snapshot} AS SELECT rowid AS "
                           f"{quote_identifier(ROWID)}, * FROM {_q(*source)}{where}")
            cursor.execute(f"COMMENT ON TABLE {info.snapshot} IS {sql_string(info.meta())}")
            cursor.execute(f"DROP TABLE IF EXISTS {info.kept}")
            _make_views(info, cursor)
        with self._lock:
            if existing is not None:
                self._streams.pop(existing.key, None)
            self._streams[key] = info
        return done

    def _drop(self, command: DropStream, cursor: duckdb.DuckDBPyConnection,
              ctx: TaskContext, in_transaction: bool) -> str:
        key = _qualify(command.name, ctx)
        info = self.find(key)
        if info is None:
            if command.if_exists:
                return "Drop statement executed successfully (stream already dropped)."
            raise _missing("Stream", key)
        with _own_transaction(cursor, in_transaction):
            cursor.execute(f"DROP VIEW IF EXISTS {info.view}")
            cursor.execute(f"DROP VIEW IF EXISTS {_q(*info.check)}")
            cursor.execute(f"DROP TABLE IF EXISTS {info.snapshot}")
            cursor.execute(f"DROP TABLE IF EXISTS {info.kept}")
        with self._lock:
            self._streams.pop(info.key, None)
        return f"{info.key[2]} successfully dropped."


def _unquoted_kept(info: StreamInfo) -> Key:
    return (info.key[0], info.key[1], f"{SNAPSHOT_PREFIX}{info.key[2]}{KEPT_SUFFIX}")


def _object_kind(cursor: duckdb.DuckDBPyConnection, key: Key) -> str | None:
    """'TABLE' or 'VIEW' when ``key`` names one (case-insensitively, as DuckDB matches)."""
    row = cursor.execute(
        "SELECT 'TABLE' FROM duckdb_tables() WHERE lower(database_name) = lower(?) AND "
        "lower(schema_name) = lower(?) AND lower(table_name) = lower(?) UNION ALL "
        "SELECT 'VIEW' FROM duckdb_views() WHERE lower(database_name) = lower(?) AND "
        "lower(schema_name) = lower(?) AND lower(view_name) = lower(?) LIMIT 1",
        [*key, *key]).fetchone()
    return None if row is None else str(row[0])


def command_sql(text: str, in_transaction: bool = False) -> StreamSql:
    """A stream command, parsed, ready for :meth:`Streams.run`."""
    marked = StreamSql(text)
    marked.command = parse_command(text)
    marked.in_transaction = in_transaction
    return marked

