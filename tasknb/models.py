"""Typed models of the Task API's bodies: ``Task``, schedules, ``TaskRun``, ``Tag``.

    >>> Task.from_api({"name": "T1", "definition": "select 1", "state": "started"}).state
    'started'

Pure data, no I/O, standard library only. ``from_api`` accepts what the server sends
(unknown fields are kept in ``extra``, never dropped); ``to_api`` produces what a request
body may carry (read-only fields are left out).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

from tasknb.runs import FINISHED_STATES, TASK_FAILED_STATES

__all__ = [
    "CronSchedule",
    "Database",
    "MinutesSchedule",
    "Schedule",
    "Schema",
    "Tag",
    "Task",
    "TaskHistoryRow",
    "TaskRun",
    "call_scope",
    "finalizer_of",
    "parse_timestamp",
    "relations_of",
    "task_history_source",
    "task_role",
]


_M = TypeVar("_M")


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp into a timezone-aware datetime (naive means UTC).

        >>> parse_timestamp("2024-06-18T01:01:01Z").isoformat()
        '2024-06-18T01:01:01+00:00'

    Accepts ISO-8601 (with ``Z``, an offset or none) and epoch seconds or milliseconds.
    """
    if type(value) is str and value and not value.isdigit():
        # fast path: ISO-8601 (3.11+ reads "Z" itself; 3.10 needs the rewrite below)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            if not value.endswith(("Z", "z")):
                raise
            parsed = datetime.fromisoformat(value[:-1] + "+00:00")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 1e11:  # epoch milliseconds
            number /= 1000.0
        return datetime.fromtimestamp(number, tz=timezone.utc)
    raise ValueError(f"not a timestamp: {value!r}")


@dataclass(frozen=True)
class MinutesSchedule:
    """Run every N minutes.

        >>> MinutesSchedule(10).to_api()
        {'schedule_type': 'MINUTES_TYPE', 'minutes': 10}

    ``seconds`` is not in the spec but snowflake-core sends it; it is tolerated and sent
    only when non-zero.
    """

    minutes: int
    seconds: int = 0

    schedule_type: ClassVar[str] = "MINUTES_TYPE"

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes, seconds=self.seconds)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schedule_type": self.schedule_type, "minutes": self.minutes}
        if self.seconds:
            body["seconds"] = self.seconds
        return body

    def __str__(self) -> str:
        if self.seconds and not self.minutes:
            return f"{self.seconds} SECONDS"
        if self.seconds:
            return f"{self.minutes} MINUTE {self.seconds} SECONDS"
        return f"{self.minutes} MINUTE"


@dataclass(frozen=True)
class CronSchedule:
    """Run on a 5-field cron expression in an IANA time zone.

    >>> str(CronSchedule("0 2 * * *", "UTC"))
    'USING CRON 0 2 * * * UTC'
    """

    cron_expr: str
    timezone: str

    schedule_type: ClassVar[str] = "CRON_TYPE"

    def to_api(self) -> dict[str, Any]:
        return {
            "schedule_type": self.schedule_type,
            "cron_expr": self.cron_expr,
            "timezone": self.timezone,
        }

    def __str__(self) -> str:
        return f"USING CRON {self.cron_expr} {self.timezone}"


Schedule = MinutesSchedule | CronSchedule


def parse_schedule(body: Any) -> Schedule | None:
    """Build a schedule from its API body (``None`` stays ``None``)."""
    if body is None:
        return None
    if isinstance(body, (MinutesSchedule, CronSchedule)):
        return body
    kind = body.get("schedule_type")
    if kind == "CRON_TYPE" or (kind is None and "cron_expr" in body):
        return CronSchedule(body["cron_expr"], body.get("timezone") or "UTC")
    if kind == "MINUTES_TYPE" or (kind is None and "minutes" in body):
        return MinutesSchedule(int(body.get("minutes") or 0), int(body.get("seconds") or 0))
    raise ValueError(f"unknown schedule_type {kind!r}: expected MINUTES_TYPE or CRON_TYPE")


_TASK_TIMESTAMPS = ("created_on", "last_committed_on", "last_suspended_on")
_TASK_REQUIRED = ("name", "definition")
_TASK_SCHEDULES = ("schedule", "target_completion_interval")
_TASK_READ_ONLY = frozenset(
    {
        "task_relations",
        "created_on",
        "id",
        "owner",
        "owner_role_type",
        "state",
        "last_committed_on",
        "last_suspended_on",
        "database_name",
        "schema_name",
    }
)


@dataclass(frozen=True)
class _BodyShape:
    """How the API body of one model class is read: which fields it has, which are required,
    which hold timestamps or schedules, and every field's value when the body leaves it out."""

    known: frozenset[str]
    required: tuple[str, ...]
    timestamps: tuple[str, ...]
    schedules: tuple[str, ...]
    defaults: dict[str, Any]
    has_predecessors: bool

    @classmethod
    def of(
        cls,
        model: type,
        *,
        required: tuple[str, ...],
        timestamps: tuple[str, ...] = (),
        schedules: tuple[str, ...] = (),
    ) -> _BodyShape:
        every = [f for f in fields(model) if f.name != "extra"]
        return cls(
            known=frozenset(f.name for f in every),
            required=required,
            timestamps=timestamps,
            schedules=schedules,
            # a list default (predecessors) is filled in per instance by _from_body
            defaults={f.name: None if f.default is MISSING else f.default for f in every},
            has_predecessors=any(f.name == "predecessors" for f in every),
        )


_SHAPES: dict[type, _BodyShape] = {}  # Task and TaskRun below; subclasses when first read


def _shape_of(cls: type) -> _BodyShape:
    """The shape of ``cls``; a subclass is read like its model, with its own fields."""
    shape = _SHAPES.get(cls)
    if shape is None:
        base = next(_SHAPES[c] for c in cls.__mro__ if c in _SHAPES)
        shape = _SHAPES[cls] = _BodyShape.of(
            cls, required=base.required, timestamps=base.timestamps, schedules=base.schedules
        )
    return shape


def _checked(cls: type, body: Any) -> dict[str, Any]:
    """``body`` itself if ``cls`` can be read from it: a JSON object with the required fields."""
    if not isinstance(body, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}, got {type(body).__name__}")
    get = body.get
    for key in _shape_of(cls).required:
        if get(key) is None:
            raise TypeError(f"{cls.__name__} body lacks the required field {key!r}")
    return body


def _from_body(cls: type[_M], body: dict[str, Any], *, owned: bool = False) -> _M:
    """The instance ``cls(**fields, extra=unknown)`` would build from an API body.

    Hot path (listing 10,000 tasks), so no 34-argument ``__init__`` call per row (several
    times slower): the instance dict is one copy of the defaults updated with the body, and
    only the values present are converted. The body is not changed.

    ``owned=True`` is for a body nobody else holds (the client's freshly decoded rows): the
    instance is built on the body itself, converted in place with unknown keys moved out to
    ``extra``, so it holds only the fields the server sent; the others read as the dataclass
    defaults, which are class attributes. Attributes, ``==``, ``repr``, ``asdict``,
    ``replace`` and pickling are the same either way.
    """
    _checked(cls, body)
    shape = _shape_of(cls)
    known = shape.known
    if owned:
        values = body
        unknown = () if known.issuperset(body) else [k for k in body if k not in known]
        extra = {k: body.pop(k) for k in unknown}
    else:
        values = shape.defaults.copy()
        if known.issuperset(body):
            values.update(body)
            extra = {}
        else:
            values.update({k: v for k, v in body.items() if k in known})
            extra = {k: v for k, v in body.items() if k not in known}
    get = values.get
    for key in shape.timestamps:
        value = get(key)
        if value is not None:
            values[key] = parse_timestamp(value)
    for key in shape.schedules:
        value = get(key)
        if value is not None:
            values[key] = parse_schedule(value)
    if shape.has_predecessors and get("predecessors") is None:
        values["predecessors"] = []
    values["extra"] = extra
    instance = object.__new__(cls)
    instance.__dict__ = values
    return instance


@dataclass
class Task:
    """A Snowflake task, as the REST API describes it.

    >>> Task("NIGHTLY", "select 1", schedule=MinutesSchedule(60)).to_api()["schedule"]
    {'schedule_type': 'MINUTES_TYPE', 'minutes': 60}
    """

    name: str
    definition: str
    warehouse: str | None = None
    schedule: Schedule | None = None
    comment: str | None = None
    finalize: str | None = None
    task_auto_retry_attempts: int | None = None
    config: dict[str, Any] | None = None
    session_parameters: dict[str, Any] | None = None
    predecessors: list[str] = field(default_factory=list)
    user_task_managed_initial_warehouse_size: str | None = None
    target_completion_interval: MinutesSchedule | None = None
    serverless_task_min_statement_size: str | None = None
    serverless_task_max_statement_size: str | None = None
    user_task_timeout_ms: int | None = None
    suspend_task_after_num_failures: int | None = None
    condition: str | None = None
    allow_overlapping_execution: bool | None = None
    error_integration: str | None = None
    success_integration: str | None = None
    overlap_policy: str | None = None
    execute_as_user: str | None = None
    # read-only, filled in by the server
    task_relations: str | None = None
    created_on: datetime | None = None
    id: str | None = None
    owner: str | None = None
    owner_role_type: str | None = None
    state: str | None = None
    last_committed_on: datetime | None = None
    last_suspended_on: datetime | None = None
    database_name: str | None = None
    schema_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Task:
        """Build a task from a response body; unknown fields land in ``extra``.

        The body is not changed; timestamps and schedules are converted (see ``_from_body``).
        """
        return _from_body(cls, body)

    @classmethod
    def _from_owned(cls, body: dict[str, Any]) -> Task:
        """Like ``from_api``, built on ``body`` itself (which it changes): the client's rows."""
        return _from_body(cls, body, owned=True)

    @classmethod
    def _checked_row(cls, body: Any) -> dict[str, Any]:
        """``body`` unchanged once ``from_api`` could read it (an object with name and
        definition): a listing's row kept as the server sent it (``tasks_df`` builds its
        columns from those; its values are converted column by column there)."""
        if type(body) is dict and None not in map(body.get, _TASK_REQUIRED):  # the common case
            return body
        return _checked(cls, body)

    def to_api(self) -> dict[str, Any]:
        """The request body for create/create-or-alter: writable fields, ``None`` left out."""
        body: dict[str, Any] = {}
        for name in _WRITABLE_TASK_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, (MinutesSchedule, CronSchedule)):
                value = value.to_api()
            elif name == "predecessors":
                value = list(value)
            body[name] = value
        return body

    @property
    def relations(self) -> dict[str, Any]:
        """``task_relations`` decoded (``{}`` when absent or unreadable)."""
        return relations_of(self.task_relations)

    @property
    def finalizer_task(self) -> str | None:
        """The finalizer attached to this root, if any (from ``task_relations``)."""
        return finalizer_of(self.task_relations)

    @property
    def role(self) -> str:
        """``"finalizer"``, ``"child"`` or ``"root"`` (a standalone task is a root)."""
        return task_role(self.finalize, self.predecessors)

    @property
    def fully_qualified_name(self) -> str:
        parts = [p for p in (self.database_name, self.schema_name) if p]
        return ".".join([*parts, self.name])


def task_role(finalize: str | None, predecessors: Any) -> str:
    """A task's place in its graph: ``"finalizer"``, ``"child"`` or ``"root"``.

        >>> task_role(None, []), task_role(None, ["ROOT"]), task_role("ROOT", None)
        ('root', 'child', 'finalizer')

    A finalizer names the root it finalizes; a child has predecessors; every other task
    (a standalone one too) is a root.
    """
    if finalize:
        return "finalizer"
    if predecessors:
        return "child"
    return "root"


def relations_of(task_relations: str | None) -> dict[str, Any]:
    """A task's ``task_relations`` text decoded (``{}`` when absent or unreadable).

        >>> relations_of('{"Predecessors": [], "FinalizerTask": "DB.S.CLEANUP"}')["FinalizerTask"]
        'DB.S.CLEANUP'
    """
    if not task_relations:
        return {}
    try:
        decoded = json.loads(task_relations)
    except (TypeError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def finalizer_of(task_relations: str | None) -> str | None:
    """The finalizer a root's ``task_relations`` names, if any.

        >>> finalizer_of('{"FinalizerTask": "DB.S.CLEANUP"}'), finalizer_of(None)
        ('DB.S.CLEANUP', None)
    """
    if not isinstance(task_relations, str) or "FinalizerTask" not in task_relations:
        return None  # most tasks: nothing to decode
    return relations_of(task_relations).get("FinalizerTask")


def call_scope(
    database: str | None = None, schema: str | None = None, *, task: Task | None = None
) -> dict[str, str]:
    """The ``database=``/``schema=`` keywords of a client call: only the parts given.

        >>> call_scope("DB", None), call_scope("", "S"), call_scope()
        ({'database': 'DB'}, {'schema': 'S'}, {})

    ``None`` and ``""`` both mean "not given" (the client's defaults apply), which is how
    ``TaskClient`` reads them. With a ``task``, a part not given is the task's own
    ``database_name``/``schema_name`` (a task fetched elsewhere keeps its place).
    """
    if task is not None:
        database = database or task.database_name
        schema = schema or task.schema_name
    scope: dict[str, str] = {}
    if database:
        scope["database"] = database
    if schema:
        scope["schema"] = schema
    return scope


_SHAPES[Task] = _BodyShape.of(
    Task,
    required=_TASK_REQUIRED,
    timestamps=_TASK_TIMESTAMPS,
    schedules=_TASK_SCHEDULES,
)
_WRITABLE_TASK_FIELDS = tuple(
    f.name for f in fields(Task) if f.name not in _TASK_READ_ONLY and f.name != "extra"
)
_RUN_TIMESTAMPS = ("scheduled_time", "query_start_time", "next_scheduled_time", "completed_time")


@dataclass
class TaskRun:
    """One graph run of a root task (a row of current or complete graphs).

    >>> TaskRun.from_api({"root_task_name": "R", "state": "FAILED", "run_id": 7}).failed
    True
    """

    root_task_name: str
    database_name: str | None = None
    schema_name: str | None = None
    state: str | None = None
    first_error_task_name: str | None = None
    first_error_code: int | None = None
    first_error_message: str | None = None
    scheduled_time: datetime | None = None
    query_start_time: datetime | None = None
    next_scheduled_time: datetime | None = None
    completed_time: datetime | None = None
    root_task_id: str | None = None
    graph_version: int | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> TaskRun:
        """Build a run from a response body; unknown fields land in ``extra``."""
        return _from_body(cls, body)

    @classmethod
    def _from_owned(cls, body: dict[str, Any]) -> TaskRun:
        """Like ``from_api``, built on ``body`` itself (which it changes): the client's rows."""
        return _from_body(cls, body, owned=True)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name in _RUN_FIELDS:
            value = getattr(self, name)
            if value is not None:
                body[name] = value.isoformat() if isinstance(value, datetime) else value
        body.update(self.extra)
        return body

    @property
    def failed(self) -> bool:
        return self.state == "FAILED"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def duration(self) -> timedelta | None:
        """Time from query start to completion (``None`` while running or never started)."""
        if self.query_start_time is None or self.completed_time is None:
            return None
        return self.completed_time - self.query_start_time


_RUN_FIELDS = tuple(f.name for f in fields(TaskRun) if f.name != "extra")
_SHAPES[TaskRun] = _BodyShape.of(
    TaskRun, required=("root_task_name",), timestamps=_RUN_TIMESTAMPS
)


@dataclass
class Database:
    """A database, as the REST API lists it (``GET /api/v2/databases``).

    >>> Database.from_api({"name": "RAW", "kind": "PERMANENT", "budget": None}).extra
    {'budget': None}

    The fields tasknb reads; every other field of the answer is kept in ``extra``.
    """

    name: str
    kind: str | None = None
    created_on: datetime | None = None
    dropped_on: datetime | None = None
    owner: str | None = None
    owner_role_type: str | None = None
    comment: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Database:
        """Build a database from a response body; unknown fields land in ``extra``."""
        return _from_body(cls, body)

    @classmethod
    def _from_owned(cls, body: dict[str, Any]) -> Database:
        return _from_body(cls, body, owned=True)


@dataclass
class Schema:
    """A schema of a database, as the REST API lists it (``GET .../{database}/schemas``).

    >>> Schema.from_api({"name": "STAGING", "database_name": "RAW"}).fully_qualified_name
    'RAW.STAGING'
    """

    name: str
    database_name: str | None = None
    kind: str | None = None
    created_on: datetime | None = None
    dropped_on: datetime | None = None
    owner: str | None = None
    owner_role_type: str | None = None
    comment: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Schema:
        """Build a schema from a response body; unknown fields land in ``extra``."""
        return _from_body(cls, body)

    @classmethod
    def _from_owned(cls, body: dict[str, Any]) -> Schema:
        return _from_body(cls, body, owned=True)

    @property
    def fully_qualified_name(self) -> str:
        return ".".join(p for p in (self.database_name, self.name) if p)


for _container in (Database, Schema):
    _SHAPES[_container] = _BodyShape.of(
        _container, required=("name",), timestamps=("created_on", "dropped_on")
    )


@dataclass(frozen=True)
class Tag:
    """A tag reference on a task.

    >>> Tag("GOV", "TAGS", "COST_CENTER", "finance").to_api()["tag_value"]
    'finance'
    """

    tag_database: str
    tag_schema: str
    tag_name: str
    tag_value: str | None = None
    level: str | None = None  # read-only: the object domain the tag is set on
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Tag:
        """Build a tag from a response body; unknown fields land in ``extra``."""
        extra = {k: v for k, v in body.items() if k not in _TAG_FIELDS}
        return cls(
            tag_database=body.get("tag_database") or "",
            tag_schema=body.get("tag_schema") or "",
            tag_name=body.get("tag_name") or "",
            tag_value=body.get("tag_value"),
            level=body.get("level"),
            extra=extra,
        )

    def to_api(self, *, with_value: bool = True) -> dict[str, Any]:
        """The request body (empty database/schema and the read-only ``level`` left out)."""
        body: dict[str, Any] = {}
        if self.tag_database:
            body["tag_database"] = self.tag_database
        if self.tag_schema:
            body["tag_schema"] = self.tag_schema
        body["tag_name"] = self.tag_name
        if with_value and self.tag_value is not None:
            body["tag_value"] = self.tag_value
        return body

    @property
    def fully_qualified_name(self) -> str:
        return ".".join(p for p in (self.tag_database, self.tag_schema, self.tag_name) if p)


_TAG_FIELDS = frozenset({"tag_database", "tag_schema", "tag_name", "tag_value", "level"})


@dataclass(frozen=True)
class TaskHistoryRow:
    """One run of one task in one graph run: a row of Snowflake's ``TASK_HISTORY``.

        >>> from datetime import datetime, timezone
        >>> started = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
        >>> row = TaskHistoryRow("LOAD", state="FAILED", error_code="002003",
        ...                      query_start_time=started,
        ...                      completed_time=started + timedelta(seconds=2.5))
        >>> row.duration_s, row.failed
        (2.5, True)

    ``error_code`` is Snowflake's code as text, zero-padded to six digits (``"002003"``:
    the form ``SqlError.code`` and the documentation use; TASK_HISTORY itself says NUMBER).
    ``run_id`` is shared by every task and every attempt (retry) of one graph run;
    ``attempt_number`` and ``graph_run_group_id`` tell the attempts apart. Timestamps are
    timezone-aware. Pure data: built by ``TaskClient.task_history``.
    """

    name: str
    database_name: str | None = None
    schema_name: str | None = None
    query_id: str | None = None
    query_text: str | None = None
    condition_text: str | None = None
    state: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    scheduled_time: datetime | None = None
    query_start_time: datetime | None = None
    completed_time: datetime | None = None
    next_scheduled_time: datetime | None = None
    root_task_id: str | None = None
    graph_version: int | None = None
    run_id: int | None = None
    return_value: str | None = None
    scheduled_from: str | None = None
    attempt_number: int | None = None
    config: str | None = None
    graph_run_group_id: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds from query start to completion (``None`` while running or never started)."""
        if self.query_start_time is None or self.completed_time is None:
            return None
        return (self.completed_time - self.query_start_time).total_seconds()

    @property
    def failed(self) -> bool:
        """FAILED or FAILED_AND_AUTO_SUSPENDED."""
        return self.state in TASK_FAILED_STATES

    @property
    def fully_qualified_name(self) -> str:
        parts = [p for p in (self.database_name, self.schema_name) if p]
        return ".".join([*parts, self.name])


#: How far back INFORMATION_SCHEMA.TASK_HISTORY reaches (older runs: ACCOUNT_USAGE, a year).
TASK_HISTORY_WINDOW = timedelta(days=7)
#: Where task runs were read: the table function or the ACCOUNT_USAGE view.
TASK_HISTORY_SOURCES = ("task_history", "account_usage")


def task_history_source(since: timedelta | None) -> str:
    """Which source answers for runs ``since`` back: ``task_history`` or ``account_usage``.

        >>> task_history_source(None), task_history_source(timedelta(days=8))
        ('task_history', 'account_usage')
    """
    return "account_usage" if since is not None and since > TASK_HISTORY_WINDOW else "task_history"


#: TaskHistoryRow's fields in TASK_HISTORY's column order (lower case).
TASK_HISTORY_FIELDS = tuple(f.name for f in fields(TaskHistoryRow))
