"""SHOW <objects>, DESCRIBE TASK, and RESULT_SCAN(LAST_QUERY_ID()) after them.

    >>> parse("SHOW TERSE TASKS LIKE 'load%' IN SCHEMA raw STARTS WITH 'LOAD' LIMIT 5")
    Show(kind='TASKS', terse=True, like='load%', scope='SCHEMA', where=['RAW'], starts_with='LOAD', root_only=False, limit=5, from_name=None, describe=False)
    >>> parse("DESC TASK raw.load").where
    ['RAW', 'LOAD']

Commands: ``SHOW [TERSE] TASKS | TABLES | VIEWS | SCHEMAS | DATABASES | STREAMS | SEQUENCES |
[USER] PROCEDURES | COLUMNS`` with ``LIKE '<pattern>'`` (case-insensitive, ``%`` and ``_``,
matched in linear time by :class:`tasknb.local.query.LikePattern`), ``IN ACCOUNT | DATABASE
[<db>] | SCHEMA [<db>.]<schema> | <db>.<schema>`` (SHOW COLUMNS also ``IN [TABLE | VIEW]
<name>``), ``STARTS WITH '<text>'`` (case-sensitive), ``ROOT ONLY`` (tasks) and ``LIMIT <n>
[FROM '<name>']``; and ``DESC[RIBE] TASK <name>``, which answers SHOW TASKS' columns for one
task (docs.snowflake.com/en/sql-reference/sql/desc-task). Rows come ordered by database,
schema and name, with Snowflake's lower-case column names in its documented order
(:data:`COLUMNS`). Without ``IN`` the scope is the current database (Snowflake's default when
a database is in use); SHOW SCHEMAS lists the current database's schemas, SHOW DATABASES the
account's.

Where the rows come from: tasks, databases and schemas from the server's own store through
:class:`Source` (the same records the REST API answers with); tables, views, sequences and
columns from DuckDB's catalog; streams from :mod:`.streams`; procedures from the procedure
catalog of :mod:`.scripting`. The engine's bookkeeping (stream offsets, the procedure catalog,
stream views) is never listed. What a local single-user account cannot know is filled as
Snowflake fills it for an account with one role: ``owner`` ACCOUNTADMIN, ``owner_role_type``
ROLE, ``retention_time`` 1, ``budget`` NULL; ``created_on`` of tables, views, sequences and
procedures is NULL (DuckDB keeps no creation time), as are ``bytes`` and
``search_optimization_*``.

A SHOW's rows are also kept, for the rest of the run, in a temporary table of the run's cursor
(:data:`LAST_RESULT`): ``TABLE(RESULT_SCAN(LAST_QUERY_ID()))`` in the very next statement of
the same task, block or SQL API request reads them (with Snowflake's quoted lower-case column
names, ``SELECT "name" FROM ...``). After any other statement it is refused with 000002: the
local engine keeps the result of SHOW and DESCRIBE only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import duckdb
from sqlglot import exp

from tasknb.local.query import LikePattern
from tasknb.local.sql.context import TaskContext
from tasknb.local.sql.errors import (
    CODE_DOES_NOT_EXIST,
    CODE_SYNTAX,
    TaskSqlError,
    UnsupportedSqlError,
)
from tasknb.local.sql.names import fold, quote_identifier, sql_string

COMMAND = "SHOW"
#: The temporary table that keeps the last SHOW / DESCRIBE result of a run's cursor.
LAST_RESULT = "__tasknb_last_result"
OWNER, OWNER_ROLE_TYPE = "ACCOUNTADMIN", "ROLE"
#: Schemas and name prefixes of the engine's own bookkeeping (never listed).
INTERNAL_SCHEMAS = ("tasknb$catalog", "information_schema", "pg_catalog")
INTERNAL_PREFIX = "__TASKNB"
_TS, _TEXT, _NUMBER = "TIMESTAMPTZ", "VARCHAR", "BIGINT"

#: Each kind's columns and their DuckDB types, in Snowflake's documented order
#: (docs.snowflake.com/en/sql-reference/sql/show-<kind>, "Output").
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "TASKS": (("created_on", _TS), ("name", _TEXT), ("id", _TEXT), ("database_name", _TEXT),
              ("schema_name", _TEXT), ("owner", _TEXT), ("comment", _TEXT),
              ("warehouse", _TEXT), ("schedule", _TEXT), ("predecessors", _TEXT),
              ("state", _TEXT), ("definition", _TEXT), ("condition", _TEXT),
              ("allow_overlapping_execution", _TEXT), ("error_integration", _TEXT),
              ("last_committed_on", _TS), ("last_suspended_on", _TS),
              ("owner_role_type", _TEXT), ("config", _TEXT), ("budget", _TEXT),
              ("task_relations", _TEXT), ("last_suspended_reason", _TEXT)),
    "TABLES": (("created_on", _TS), ("name", _TEXT), ("database_name", _TEXT),
               ("schema_name", _TEXT), ("kind", _TEXT), ("comment", _TEXT),
               ("cluster_by", _TEXT), ("rows", _NUMBER), ("bytes", _NUMBER), ("owner", _TEXT),
               ("retention_time", _TEXT), ("automatic_clustering", _TEXT),
               ("change_tracking", _TEXT), ("search_optimization", _TEXT),
               ("search_optimization_progress", _TEXT), ("search_optimization_bytes", _NUMBER),
               ("is_external", _TEXT), ("enable_schema_evolution", _TEXT),
               ("owner_role_type", _TEXT), ("is_event", _TEXT), ("budget", _TEXT),
               ("is_hybrid", _TEXT), ("is_iceberg", _TEXT), ("is_dynamic", _TEXT),
               ("is_immutable", _TEXT)),
    "VIEWS": (("created_on", _TS), ("name", _TEXT), ("reserved", _TEXT),
              ("database_name", _TEXT), ("schema_name", _TEXT), ("owner", _TEXT),
              ("comment", _TEXT), ("text", _TEXT), ("is_secure", _TEXT),
              ("is_materialized", _TEXT), ("owner_role_type", _TEXT), ("change_tracking", _TEXT)),
    "SCHEMAS": (("created_on", _TS), ("name", _TEXT), ("is_default", _TEXT),
                ("is_current", _TEXT), ("database_name", _TEXT), ("owner", _TEXT),
                ("comment", _TEXT), ("options", _TEXT), ("retention_time", _TEXT),
                ("owner_role_type", _TEXT), ("budget", _TEXT)),
    "DATABASES": (("created_on", _TS), ("name", _TEXT), ("is_default", _TEXT),
                  ("is_current", _TEXT), ("origin", _TEXT), ("owner", _TEXT),
                  ("comment", _TEXT), ("options", _TEXT), ("retention_time", _TEXT),
                  ("kind", _TEXT), ("budget", _TEXT), ("owner_role_type", _TEXT)),
    "STREAMS": (("created_on", _TS), ("name", _TEXT), ("database_name", _TEXT),
                ("schema_name", _TEXT), ("owner", _TEXT), ("comment", _TEXT),
                ("table_name", _TEXT), ("source_type", _TEXT), ("base_tables", _TEXT),
                ("type", _TEXT), ("stale", _TEXT), ("mode", _TEXT), ("stale_after", _TS),
                ("invalid_reason", _TEXT), ("owner_role_type", _TEXT)),
    "SEQUENCES": (("created_on", _TS), ("name", _TEXT), ("schema_name", _TEXT),
                  ("database_name", _TEXT), ("next_value", _NUMBER), ("interval", _NUMBER),
                  ("owner", _TEXT), ("owner_role_type", _TEXT), ("comment", _TEXT),
                  ("ordered", _TEXT)),
    "PROCEDURES": (("created_on", _TS), ("name", _TEXT), ("schema_name", _TEXT),
                   ("is_builtin", _TEXT), ("is_aggregate", _TEXT), ("is_ansi", _TEXT),
                   ("min_num_arguments", _NUMBER), ("max_num_arguments", _NUMBER),
                   ("arguments", _TEXT), ("description", _TEXT), ("catalog_name", _TEXT),
                   ("is_table_function", _TEXT), ("valid_for_clustering", _TEXT),
                   ("is_secure", _TEXT), ("secrets", _TEXT),
                   ("external_access_integrations", _TEXT)),
    "COLUMNS": (("table_name", _TEXT), ("schema_name", _TEXT), ("column_name", _TEXT),
                ("data_type", _TEXT), ("null?", _TEXT), ("default", _TEXT), ("kind", _TEXT),
                ("expression", _TEXT), ("comment", _TEXT), ("database_name", _TEXT),
                ("autoincrement", _TEXT)),
}
_TERSE = (("created_on", _TS), ("name", _TEXT), ("kind", _TEXT), ("database_name", _TEXT),
          ("schema_name", _TEXT))
#: SHOW TERSE's columns (the kinds whose SHOW takes TERSE).
TERSE_COLUMNS = {"TASKS": (*_TERSE, ("schedule", _TEXT)), "TABLES": _TERSE, "VIEWS": _TERSE,
                 "SCHEMAS": _TERSE, "DATABASES": _TERSE, "STREAMS": _TERSE}
#: Snowflake's other SHOW objects: refused by name (000002); any other word is 001003.
_OTHER_KINDS = {
    "ALERTS", "APPLICATIONS", "CHANNELS", "CONNECTIONS", "DYNAMIC", "EVENT", "EXTERNAL",
    "FAILOVER", "FILE", "FUNCTIONS", "GRANTS", "HYBRID", "ICEBERG", "INTEGRATIONS", "LOCKS",
    "MANAGED", "MASKING", "MATERIALIZED", "NETWORK", "NOTIFICATION", "OBJECTS", "ORGANIZATION",
    "PARAMETERS", "PASSWORD", "PIPES", "PRIMARY", "REGIONS", "REPLICATION", "RESOURCE", "ROLES",
    "ROW", "SECRETS", "SECURITY", "SERVICES", "SESSION", "SHARES", "STAGES", "STORAGE",
    "STREAMLITS", "TAGS", "TRANSACTIONS", "USER", "USERS", "VARIABLES", "WAREHOUSES",
    "IMPORTED", "UNIQUE", "CORTEX", "CLASSES", "COMPUTE", "IMAGE", "SNAPSHOTS", "DATASETS",
    "MODELS", "NOTEBOOKS", "BUDGETS", "CONTACTS", "CATALOG", "SEMANTIC", "AGGREGATION",
    "PROJECTION", "JOIN", "AUTHENTICATION", "PACKAGES", "RELEASE", "VERSIONS", "SCHEDULED",
}
_DESCRIBE_OTHERS = {"TABLE", "VIEW", "SCHEMA", "DATABASE", "STREAM", "SEQUENCE", "PROCEDURE",
                    "FUNCTION", "STAGE", "WAREHOUSE", "USER", "RESULT", "FILE", "EXTERNAL",
                    "DYNAMIC", "INTEGRATION", "MATERIALIZED", "PIPE", "SEARCH", "SESSION",
                    "ALERT", "SHARE", "NETWORK", "ROW", "MASKING", "TAG", "SECRET", "SERVICE"}
_IS_COMMAND = re.compile(r"\s*(SHOW|DESC|DESCRIBE)\b", re.IGNORECASE)
_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART}){{0,2}}"
_STRING = r"'(?:[^'\\]|''|\\.)*'"


@dataclass
class Show:
    """One SHOW (or DESCRIBE TASK: ``describe``) as written, names folded."""

    kind: str
    terse: bool = False
    like: str | None = None
    scope: str | None = None  # ACCOUNT, DATABASE, SCHEMA, TABLE (SHOW COLUMNS); None: default
    where: list[str] | None = None
    starts_with: str | None = None
    root_only: bool = False
    limit: int | None = None
    from_name: str | None = None
    describe: bool = False


class Source(Protocol):
    """What the server shows of its own store: REST bodies (``Database``, ``Schema``,
    ``Task`` with its ``last_suspended_reason`` and ``schedule_text``, the schedule as SQL
    writes it), names rendered as REST renders them."""

    def databases(self) -> list[dict[str, Any]]: ...

    def schemas(self, database: str) -> list[dict[str, Any]]: ...

    def tasks(self, database: str, schema: str) -> list[dict[str, Any]]: ...


def is_command(text: str) -> bool:
    """Whether a statement is a SHOW or DESCRIBE (run by this module)."""
    return _IS_COMMAND.match(text) is not None


def _syntax(text: str, token: str) -> TaskSqlError:
    at = text.upper().find(token.upper()) if token else -1
    where = f" at position {max(at, 0)} unexpected '{token}'" if token else ""
    return TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error line 1{where}.",
                        "42000")


def _names(text: str) -> list[str]:
    return [fold(p) for p in re.findall(_PART, text)]


def _unquote(literal: str) -> str:
    return re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", literal[1:-1])


def parse(text: str) -> Show:
    """The SHOW or DESCRIBE TASK a statement is: 001003 for what Snowflake cannot read
    either, 000002 for Snowflake objects the local engine does not list."""
    text = text.strip().rstrip(";").strip()
    words = text.split()
    if words[0].upper() in ("DESC", "DESCRIBE"):
        return _describe(text, words)
    rest = text[len(words[0]):]
    match = re.match(r"\s+(TERSE\s+)?(USER\s+PROCEDURES|[A-Za-z_]+)\b", rest, re.IGNORECASE)
    if match is None:
        raise _syntax(text, words[1] if len(words) > 1 else "")
    kind = " ".join(match[2].upper().split())
    kind = "PROCEDURES" if kind == "USER PROCEDURES" else kind
    if kind not in COLUMNS:
        if kind in _OTHER_KINDS:
            raise UnsupportedSqlError(f"SHOW {kind} is not supported by the local engine (it "
                                      "lists tasks, tables, views, schemas, databases, streams, "
                                      "sequences, procedures and columns).")
        raise _syntax(text, match[2].split()[0])
    terse = bool(match[1])
    if terse and kind not in TERSE_COLUMNS:
        raise _syntax(text, "TERSE")
    show = Show(kind, terse)
    return _clauses(show, text, rest[match.end():])


def _clauses(show: Show, text: str, rest: str) -> Show:
    patterns: list[tuple[str, str]] = [
        ("like", rf"\s+LIKE\s+(?P<v>{_STRING})"),
        ("in", rf"\s+IN\s+(?P<v>ACCOUNT|(?:DATABASE|SCHEMA|TABLE|VIEW)(?:\s+{_NAME})?|{_NAME})"),
        ("starts", rf"\s+STARTS\s+WITH\s+(?P<v>{_STRING})"),
        ("root", r"\s+ROOT\s+ONLY(?P<v>)"),
        ("limit", rf"\s+LIMIT\s+(?P<v>\d+)(?:\s+FROM\s+(?P<f>{_STRING}))?"),
    ]
    for key, pattern in patterns:
        found = re.match(pattern, rest, re.IGNORECASE)
        if found is None:
            continue
        value = found["v"]
        if key == "like":
            show.like = _unquote(value)
        elif key == "in":
            _scope(show, text, value)
        elif key == "starts":
            show.starts_with = _unquote(value)
        elif key == "root":
            if show.kind != "TASKS":
                raise _syntax(text, "ROOT")
            show.root_only = True
        else:
            show.limit = int(value)
            show.from_name = _unquote(found["f"]) if found["f"] else None
        rest = rest[found.end():]
    if rest.strip():
        raise _syntax(text, rest.split()[0])
    if show.kind == "DATABASES" and show.scope is not None:
        raise _syntax(text, "IN")
    return show


def _scope(show: Show, text: str, value: str) -> None:
    head = value.split()[0].upper() if value.split() else ""
    if head == "ACCOUNT":
        show.scope, show.where = "ACCOUNT", []
        return
    if head in ("DATABASE", "SCHEMA", "TABLE", "VIEW") and (len(value.split()) == 1 or
                                                            value[len(head)].isspace()):
        show.scope, show.where = head, _names(value[len(head):])
    else:  # IN <name>: a schema ([db.]schema), or SHOW COLUMNS' table
        show.scope, show.where = ("TABLE" if show.kind == "COLUMNS" else "SCHEMA"), _names(value)
    limits = {"DATABASE": 1, "SCHEMA": 2, "TABLE": 3, "VIEW": 3}
    if show.scope in ("TABLE", "VIEW") and show.kind != "COLUMNS":
        raise _syntax(text, head)
    if len(show.where) > limits[show.scope]:
        raise _syntax(text, value.split()[-1])
    if show.scope == "VIEW":
        show.scope = "TABLE"
    if show.kind == "SCHEMAS" and show.scope == "SCHEMA":
        raise _syntax(text, "SCHEMA")


def _describe(text: str, words: list[str]) -> Show:
    kind = words[1].upper() if len(words) > 1 else ""
    if kind == "TASK" and len(words) >= 3:
        match = re.fullmatch(rf"\S+\s+TASK\s+(?P<n>{_NAME})", text, re.IGNORECASE | re.DOTALL)
        if match is None:
            raise _syntax(text, words[-1])
        return Show("TASKS", where=_names(match["n"]), describe=True)
    if kind in _DESCRIBE_OTHERS:
        raise UnsupportedSqlError(f"DESCRIBE {kind} is not supported by the local engine (only "
                                  "DESCRIBE TASK); query INFORMATION_SCHEMA.COLUMNS or SHOW "
                                  "COLUMNS instead.")
    raise _syntax(text, words[1] if len(words) > 1 else words[0])


# --------------------------------------------------------------------------------- rows
@dataclass
class Catalog:
    """Where SHOW reads: the run's cursor, the streams, the server's store (if any)."""

    cursor: duckdb.DuckDBPyConnection
    streams: Iterable[Any]  # tasknb.local.sql.streams.StreamInfo
    source: Source | None
    databases: Callable[[], list[str]]  # the engine's attached databases


def _missing(kind: str, name: str) -> TaskSqlError:
    return TaskSqlError(CODE_DOES_NOT_EXIST, f"SQL compilation error:\n{kind} '{name}' does "
                        "not exist or not authorized.", "02000")


def _database_names(catalog: Catalog) -> list[str]:
    if catalog.source is not None:
        return [fold(d["name"]) for d in catalog.source.databases()]
    return catalog.databases()


def _schema_names(catalog: Catalog, database: str) -> list[str]:
    if catalog.source is not None:
        return [fold(s["name"]) for s in catalog.source.schemas(database)]
    rows = catalog.cursor.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [database]).fetchall()
    return [r[0] for r in rows if r[0] not in INTERNAL_SCHEMAS and r[0] != "main"]


def _find(names: list[str], wanted: str) -> str | None:
    return next((n for n in names if n == wanted), None) or next(
        (n for n in names if n.upper() == wanted.upper()), None)


def scope_of(show: Show, ctx: TaskContext, catalog: Catalog) -> list[tuple[str, str | None]]:
    """The (database, schema or None for all) pairs the SHOW looks in; 002003 when the
    database or schema named is not there."""
    where = show.where or []
    if show.describe:
        where = where[:-1]
        scope = "SCHEMA"
    else:
        scope = show.scope or ("ACCOUNT" if show.kind == "DATABASES" else "DATABASE")
    if scope == "ACCOUNT":
        return [(d, None) for d in sorted(_database_names(catalog))]
    if scope == "TABLE":
        where = where[:-1]
        scope = "SCHEMA"
    if scope == "DATABASE":
        name = where[0] if where else ctx.database
        database = _find(_database_names(catalog), name)
        if database is None:
            raise _missing("Database", name)
        return [(database, None)]
    parts = [ctx.database, ctx.schema][: 2 - len(where)] + where if len(where) < 2 else where
    database = _find(_database_names(catalog), parts[0])
    schema = _find(_schema_names(catalog, database), parts[1]) if database else None
    if database is None or schema is None:
        raise _missing("Schema", f"{parts[0]}.{parts[1]}")
    return [(database, schema)]


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _task_row(body: dict[str, Any]) -> dict[str, Any]:
    database, schema = fold(body["database_name"]), fold(body["schema_name"])
    root = "allow_overlapping_execution" in body
    predecessors = [f"{body['database_name']}.{body['schema_name']}.{p}"
                    for p in body.get("predecessors") or []]
    return {
        "created_on": _timestamp(body.get("created_on")), "name": fold(body["name"]),
        "id": body.get("id"), "database_name": database, "schema_name": schema,
        "owner": body.get("owner"), "comment": body.get("comment"),
        "warehouse": fold(body["warehouse"]) if body.get("warehouse") else None,
        "schedule": body.get("schedule_text"),
        "predecessors": json.dumps(predecessors, indent=2),
        "state": body.get("state"), "definition": body.get("definition"),
        "condition": body.get("condition"),
        "allow_overlapping_execution": (str(body["allow_overlapping_execution"]).lower()
                                        if root else None),
        "error_integration": body.get("error_integration"),
        "last_committed_on": _timestamp(body.get("last_committed_on")),
        "last_suspended_on": _timestamp(body.get("last_suspended_on")),
        "owner_role_type": body.get("owner_role_type"),
        "config": json.dumps(body["config"]) if root and body.get("config") else None,
        "budget": None, "task_relations": body.get("task_relations"),
        "last_suspended_reason": body.get("last_suspended_reason"), "kind": None,
    }


def _tasks(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    if catalog.source is None:
        raise UnsupportedSqlError("SHOW TASKS needs the local server's task store (this SQL "
                                  "engine runs without one).")
    rows = []
    for database, schema in scope_of(show, ctx, catalog):
        schemas = [schema] if schema else sorted(_schema_names(catalog, database))
        for name in schemas:
            rows.extend(_task_row(b) for b in catalog.source.tasks(database, name))
    if show.describe:
        wanted = (show.where or [""])[-1]
        rows = [r for r in rows if r["name"] == wanted]
        if not rows:
            database, schema = scope_of(show, ctx, catalog)[0]
            raise _missing("Task", f"{database}.{schema}.{wanted}")
    if show.root_only:
        rows = [r for r in rows if r["allow_overlapping_execution"] is not None]
    return rows


def _container_row(body: dict[str, Any], database: str | None) -> dict[str, Any]:
    return {
        "created_on": _timestamp(body.get("created_on")), "name": fold(body["name"]),
        "is_default": "N", "is_current": "N", "origin": "", "owner": body.get("owner") or OWNER,
        "comment": body.get("comment") or "", "options": body.get("options") or "",
        "retention_time": str(body.get("retention_time", 1)), "budget": None,
        "kind": None,
        "database_name": database, "schema_name": None,
        "owner_role_type": body.get("owner_role_type") or OWNER_ROLE_TYPE,
    }


def _databases(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    if catalog.source is not None:
        bodies = catalog.source.databases()
    else:
        bodies = [{"name": d} for d in catalog.databases()]
    rows = []
    for body in bodies:
        row = _container_row(body, None)
        row["is_current"] = "Y" if row["name"] == ctx.database else "N"
        row["options"] = "TRANSIENT" if body.get("kind") == "TRANSIENT" else ""
        row["kind"] = None if show.terse else "STANDARD"
        rows.append(row)
    return rows


def _schemas(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    rows = []
    for database, _ in scope_of(show, ctx, catalog):
        if catalog.source is not None:
            bodies = catalog.source.schemas(database)
        else:
            bodies = [{"name": s} for s in _schema_names(catalog, database)]
        for body in bodies:
            row = _container_row(body, database)
            current = (database, row["name"]) == (ctx.database, ctx.schema)
            row["is_current"] = "Y" if current else "N"
            row["options"] = "MANAGED ACCESS" if body.get("managed_access") else (
                "TRANSIENT" if body.get("kind") == "TRANSIENT" else "")
            row["schema_name"] = None
            rows.append(row)
    return rows


def _where_sql(pairs: list[tuple[str, str | None]], db_column: str, schema_column: str
               ) -> tuple[str, list[Any]]:
    clauses, values = [], []
    for database, schema in pairs:
        if schema is None:
            clauses.append(f"{db_column} = ?")
            values.append(database)
        else:
            clauses.append(f"({db_column} = ? AND {schema_column} = ?)")
            values.extend([database, schema])
    hidden = ", ".join("?" for _ in INTERNAL_SCHEMAS)
    return (f"({' OR '.join(clauses) or 'FALSE'}) AND {schema_column} NOT IN ({hidden})",
            values + list(INTERNAL_SCHEMAS))


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _folded(name: str) -> str:
    """A DuckDB object's name as Snowflake shows it: the engine keeps names as written and
    matches them case-insensitively, so a name that reads as unquoted is upper-cased."""
    return name.upper() if _PLAIN.fullmatch(name) else name


def _stream_views(catalog: Catalog) -> set[tuple[str, str, str]]:
    return {tuple(p.upper() for p in info.key) for info in catalog.streams}


def _relations(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    pairs = scope_of(show, ctx, catalog)
    cursor = catalog.cursor
    if show.kind == "TABLES":
        where, values = _where_sql(pairs, "database_name", "schema_name")
        found = cursor.execute(
            f"SELECT database_name, schema_name, table_name, comment, temporary FROM "
            f"duckdb_tables() WHERE {where} AND NOT starts_with(upper(table_name), ?)",
            [*values, INTERNAL_PREFIX]).fetchall()
        rows = []
        for database, schema, name, comment, temporary in found:
            count = cursor.execute(f"SELECT count(*) FROM {quote_identifier(database)}."
                                   f"{quote_identifier(schema)}.{quote_identifier(name)}"
                                   ).fetchone()
            rows.append({
                "created_on": None, "name": _folded(name), "database_name": database,
                "schema_name": schema, "kind": "TEMPORARY" if temporary else "TABLE",
                "comment": comment or "", "cluster_by": "", "rows": count[0] if count else 0,
                "bytes": None, "owner": OWNER, "retention_time": "1",
                "automatic_clustering": "OFF", "change_tracking": "OFF",
                "search_optimization": "OFF", "search_optimization_progress": None,
                "search_optimization_bytes": None, "is_external": "N",
                "enable_schema_evolution": "N", "owner_role_type": OWNER_ROLE_TYPE,
                "is_event": "N", "budget": None, "is_hybrid": "N", "is_iceberg": "N",
                "is_dynamic": "N", "is_immutable": "N"})
        if show.terse:
            for row in rows:
                row["kind"] = "TABLE"
        return rows
    where, values = _where_sql(pairs, "database_name", "schema_name")
    found = cursor.execute(
        f"SELECT database_name, schema_name, view_name, comment, sql FROM duckdb_views() "
        f"WHERE {where} AND NOT internal AND NOT starts_with(upper(view_name), ?)",
        [*values, INTERNAL_PREFIX]).fetchall()
    streams = _stream_views(catalog)
    return [{"created_on": None, "name": _folded(name), "reserved": "", "database_name": database,
             "schema_name": schema, "owner": OWNER, "comment": comment or "", "text": text,
             "is_secure": "false", "is_materialized": "false",
             "owner_role_type": OWNER_ROLE_TYPE, "change_tracking": "OFF", "kind": "VIEW"}
            for database, schema, name, comment, text in found
            if (database.upper(), schema.upper(), name.upper()) not in streams]


def _streams(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    pairs = scope_of(show, ctx, catalog)

    def wanted(key: tuple[str, str, str]) -> bool:
        return any(key[0].upper() == d.upper() and (s is None or key[1].upper() == s.upper())
                   for d, s in pairs)

    return [{"created_on": _timestamp(i.created_on), "name": i.key[2], "database_name": i.key[0],
             "schema_name": i.key[1], "owner": OWNER, "comment": i.comment or "",
             "table_name": ".".join(i.source), "source_type": "Table",
             "base_tables": ".".join(i.source), "type": "DELTA", "stale": "false",
             "mode": "APPEND_ONLY" if i.append_only else "DEFAULT", "stale_after": None,
             "invalid_reason": "N/A", "owner_role_type": OWNER_ROLE_TYPE, "kind": "STREAM"}
            for i in catalog.streams if wanted(i.key)]


def _sequences(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    where, values = _where_sql(scope_of(show, ctx, catalog), "database_name", "schema_name")
    found = catalog.cursor.execute(
        "SELECT database_name, schema_name, sequence_name, start_value, increment_by, "
        f"last_value, comment FROM duckdb_sequences() WHERE {where} AND NOT "
        "starts_with(upper(sequence_name), ?)", [*values, INTERNAL_PREFIX]).fetchall()
    return [{"created_on": None, "name": _folded(name), "schema_name": schema,
             "database_name": database, "next_value": start if last is None else last + step, "interval": step,
             "owner": OWNER, "owner_role_type": OWNER_ROLE_TYPE, "comment": comment or "",
             "ordered": "N"}
            for database, schema, name, start, step, last, comment in found]


def _procedures(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    from tasknb.local.sql.scripting.procedures import listed  # (scripting imports the engine)

    rows = []
    for database, schema in scope_of(show, ctx, catalog):
        for proc in listed(catalog.cursor, database, schema):
            types = ", ".join(a.type for a in proc.arguments)
            required = sum(1 for a in proc.arguments if a.default is None)
            rows.append({
                "created_on": None, "name": proc.name, "schema_name": proc.schema,
                "is_builtin": "N", "is_aggregate": "N", "is_ansi": "N",
                "min_num_arguments": required, "max_num_arguments": len(proc.arguments),
                "arguments": f"{proc.name}({types}) RETURN {proc.returns or 'VARCHAR'}",
                "description": "user-defined procedure", "catalog_name": proc.database,
                "is_table_function": "N", "valid_for_clustering": "N", "is_secure": "N",
                "secrets": None, "external_access_integrations": None,
                "database_name": proc.database})
    return rows


def _data_type(duck_type: str, nullable: bool) -> str:
    """A column's Snowflake data_type JSON (SHOW COLUMNS) from its DuckDB type."""
    text = duck_type.upper()
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", text)
    if decimal or text in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT",
                           "UINTEGER", "USMALLINT", "UTINYINT"):
        precision, scale = (int(decimal[1]), int(decimal[2])) if decimal else (38, 0)
        value: dict[str, Any] = {"type": "FIXED", "precision": precision, "scale": scale}
    elif text in ("DOUBLE", "FLOAT", "REAL"):
        value = {"type": "REAL"}
    elif text == "BOOLEAN":
        value = {"type": "BOOLEAN"}
    elif text == "DATE":
        value = {"type": "DATE"}
    elif text.startswith("TIMESTAMP WITH TIME ZONE"):
        value = {"type": "TIMESTAMP_LTZ", "precision": 0, "scale": 9}
    elif text.startswith("TIMESTAMP"):
        value = {"type": "TIMESTAMP_NTZ", "precision": 0, "scale": 9}
    elif text.startswith("TIME"):
        value = {"type": "TIME", "precision": 0, "scale": 9}
    elif text == "JSON":
        value = {"type": "VARIANT"}
    elif text == "BLOB":
        value = {"type": "BINARY", "length": 8388608, "byteLength": 8388608, "fixed": False}
    else:
        value = {"type": "TEXT", "length": 16777216, "byteLength": 16777216, "fixed": False}
    value["nullable"] = nullable
    return json.dumps(value, separators=(",", ":"))


def _columns(show: Show, ctx: TaskContext, catalog: Catalog) -> list[dict[str, Any]]:
    pairs = scope_of(show, ctx, catalog)
    where, values = _where_sql(pairs, "c.database_name", "c.schema_name")
    table = None
    if show.scope == "TABLE":
        table = (show.where or [""])[-1]
        where += " AND upper(c.table_name) = upper(?)"
        values.append(table)
    found = catalog.cursor.execute(
        "SELECT c.database_name, c.schema_name, c.table_name, c.column_name, c.data_type, "
        "c.is_nullable, c.column_default, c.comment FROM duckdb_columns() c WHERE "
        f"{where} AND NOT starts_with(upper(c.table_name), ?) ORDER BY c.database_name, "
        "c.schema_name, c.table_name, c.column_index", [*values, INTERNAL_PREFIX]).fetchall()
    streams = _stream_views(catalog)
    rows = [{"table_name": _folded(t), "schema_name": s, "column_name": _folded(name),
             "data_type": _data_type(kind, bool(nullable)),
             "null?": "true" if nullable else "false", "default": default or "",
             "kind": "COLUMN", "expression": "", "comment": comment or "",
             "database_name": d, "autoincrement": "", "name": _folded(name)}
            for d, s, t, name, kind, nullable, default, comment in found
            if (d.upper(), s.upper(), t.upper()) not in streams]
    if table is not None and not rows:
        database, schema = pairs[0]
        raise _missing("Table", f"{database}.{schema}.{table}")
    return rows


_ROWS: dict[str, Callable[[Show, TaskContext, Catalog], list[dict[str, Any]]]] = {
    "TASKS": _tasks, "DATABASES": _databases, "SCHEMAS": _schemas, "TABLES": _relations,
    "VIEWS": _relations, "STREAMS": _streams, "SEQUENCES": _sequences,
    "PROCEDURES": _procedures, "COLUMNS": _columns,
}


def _filtered(show: Show, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    name = "column_name" if show.kind == "COLUMNS" else "name"
    if show.kind != "COLUMNS":
        rows = sorted(rows, key=lambda r: (r.get("database_name") or r.get("catalog_name") or "",
                                           r.get("schema_name") or "", r[name]))
    if show.like is not None:
        matcher = LikePattern(show.like)
        rows = [r for r in rows if matcher.matches(r[name])]
    if show.starts_with is not None:
        rows = [r for r in rows if r[name].startswith(show.starts_with)]
    if show.from_name is not None:
        rows = [r for r in rows if r[name] >= show.from_name]
    return rows if show.limit is None else rows[:show.limit]


def columns_of(show: Show) -> tuple[tuple[str, str], ...]:
    """The output columns of a SHOW (TERSE, or the kind's full list)."""
    return TERSE_COLUMNS[show.kind] if show.terse else COLUMNS[show.kind]


def run(show: Show, ctx: TaskContext, catalog: Catalog,
        execute: Callable[[str, list[Any]], None]) -> None:
    """Run a SHOW: its rows become the cursor's result and the run's :data:`LAST_RESULT`."""
    rows = _filtered(show, _ROWS[show.kind](show, ctx, catalog))
    columns = columns_of(show)
    select = ", ".join(f"CAST(UNNEST(?) AS {kind}) AS {quote_identifier(name)}"
                       for name, kind in columns)
    values = [[row.get(name) for row in rows] for name, _ in columns]
    execute(f"CREATE OR REPLACE TEMP TABLE {LAST_RESULT} AS SELECT {select}", values)
    execute(f"SELECT * FROM temp.main.{LAST_RESULT}", [])


class ShowSql(str):
    """A SHOW / DESCRIBE statement, parsed (``command``), for :func:`run`."""

    command: Show


def command_sql(text: str) -> ShowSql:
    """A SHOW / DESCRIBE statement ready for the engine (001003 / 000002 when it cannot be)."""
    marked = ShowSql(text)
    marked.command = parse(text)
    return marked


# ----------------------------------------------------------------------------- RESULT_SCAN
def reads_last_result(duck_sql: str) -> bool:
    """Whether translated SQL reads the last SHOW result (RESULT_SCAN(LAST_QUERY_ID()))."""
    return LAST_RESULT in duck_sql


def result_scan(node: exp.Expression) -> exp.Expression:
    """``TABLE(RESULT_SCAN(LAST_QUERY_ID()))`` as the run's :data:`LAST_RESULT` table; a query
    id or another argument is refused by name (a sqlglot transform)."""
    if not isinstance(node, exp.TableFromRows):
        return node
    call = node.this
    if not (isinstance(call, exp.Anonymous) and str(call.name).upper() == "RESULT_SCAN"):
        return node
    argument = call.expressions[0] if len(call.expressions) == 1 else None
    if not (isinstance(argument, exp.Anonymous) and str(argument.name).upper() ==
            "LAST_QUERY_ID" and not argument.expressions):
        raise UnsupportedSqlError("RESULT_SCAN runs locally only as TABLE(RESULT_SCAN("
                                  "LAST_QUERY_ID())) right after a SHOW or DESCRIBE; a query id "
                                  "or LAST_QUERY_ID(<n>) is not supported.")
    table = exp.Table(this=exp.to_identifier(LAST_RESULT), db=exp.to_identifier("main"),
                      catalog=exp.to_identifier("temp"))
    alias = node.args.get("alias")
    if alias is not None:
        table.set("alias", alias.copy())
    return table


def stale_result_error() -> UnsupportedSqlError:
    """RESULT_SCAN(LAST_QUERY_ID()) when the statement before was not a SHOW / DESCRIBE."""
    return UnsupportedSqlError("RESULT_SCAN(LAST_QUERY_ID()) reads locally only the result of "
                               "a SHOW or DESCRIBE run just before it in the same task, block "
                               "or request.")


# ---------------------------------------------------------------------- INFORMATION_SCHEMA
_FOLD_SQL = ("CASE WHEN regexp_full_match({c}, '[A-Za-z_][A-Za-z0-9_$]*') THEN upper({c}) "
             "ELSE {c} END")
#: The INFORMATION_SCHEMA views the engine's bookkeeping would show in: view -> name column.
_LISTINGS = {"TABLES": "table_name", "VIEWS": "table_name", "COLUMNS": "table_name"}


def information_schema(node: exp.Expression) -> exp.Expression:
    """``[db.]INFORMATION_SCHEMA.TABLES / VIEWS / COLUMNS`` as DuckDB's, restricted to that
    database (the current one when unqualified, as on Snowflake), without the engine's
    bookkeeping (stream offsets and views, the procedure catalog), and with names that read as
    unquoted upper-cased as Snowflake folds them (a sqlglot transform)."""
    if not (isinstance(node, exp.Table) and str(node.db).upper() == "INFORMATION_SCHEMA"
            and str(node.name).upper() in _LISTINGS and not node.args.get("joins")):
        return node
    import sqlglot

    view = str(node.name).lower()
    catalog = node.args.get("catalog")
    database = ("current_database()" if not isinstance(catalog, exp.Identifier) else
                sql_string(catalog.this if catalog.quoted else catalog.this.upper()))
    folded = [f"{_FOLD_SQL.format(c='t.table_name')} AS table_name"]
    if view == "columns":
        folded.append(f"{_FOLD_SQL.format(c='t.column_name')} AS column_name")
    hidden = ", ".join(f"'{s}'" for s in INTERNAL_SCHEMAS)
    query = (f"SELECT * REPLACE ({', '.join(folded)}) FROM information_schema.{view} AS t "
             f"WHERE t.table_catalog = {database} AND t.table_schema NOT IN ({hidden}) AND NOT "
             f"starts_with(upper(t.table_name), '{INTERNAL_PREFIX}') AND NOT EXISTS (SELECT 1 "
             "FROM duckdb_tables() AS d WHERE d.database_name = t.table_catalog AND "
             "d.schema_name = t.table_schema AND upper(d.table_name) = "
             f"upper('{INTERNAL_PREFIX}_STREAM$' || t.table_name))")
    subquery = sqlglot.parse_one(query, read="duckdb").subquery(
        node.alias or str(node.name).upper())
    return subquery
