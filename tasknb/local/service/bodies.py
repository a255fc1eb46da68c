"""Request bodies in, Snowflake-shaped bodies out (Task, Database, Schema, tags, TaskRun).

    >>> spec = parse_task_body({"name": "t1", "definition": "select 1"}, "DB", "S")
    >>> spec["name"], spec["predecessors"]
    ('T1', [])

Parsing first refuses text that is not valid Unicode anywhere in a body (naming the field), then
validates types and Snowflake's per-task rules (root-only properties, finalizer shape,
schedule grammar through scheduler.py) and returns the stored form. Unknown and read-only fields
are ignored. Rendering leaves out absent values instead of sending nulls the spec does not allow.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from tasknb.local import rules
from tasknb.local.rules import (
    bad_request,
    check_text,
    fold_identifier,
    qualified,
    render_identifier,
    rule_error,
)
from tasknb.local.service import triggers

OWNER = "ACCOUNTADMIN"
OWNER_ROLE_TYPE = "ROLE"

# Stored task fields set from the body (everything else is server-managed).
TASK_PROPERTIES = (
    "definition", "warehouse", "schedule", "comment", "finalize", "task_auto_retry_attempts",
    "config", "session_parameters", "predecessors", "user_task_managed_initial_warehouse_size",
    "target_completion_interval", "serverless_task_min_statement_size",
    "serverless_task_max_statement_size", "user_task_timeout_ms",
    "suspend_task_after_num_failures", "condition", "overlap_policy", "error_integration",
    "success_integration", "execute_as_user",
)


# --- timestamps --------------------------------------------------------------------------------
def to_db(moment: datetime) -> str:
    """UTC, fixed width, so stored timestamps sort as text.

        >>> to_db(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
        '2024-01-02T03:04:05.000000+00:00'
    """
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_db(text: str | None) -> datetime | None:
    """Inverse of :func:`to_db`."""
    return datetime.fromisoformat(text) if text else None


def encode_json(body: Any) -> str:
    """A body as the server sends JSON (compact).

        >>> encode_json({"a": [1, None]})
        '{"a":[1,null]}'
    """
    return json.dumps(body, separators=(",", ":"))


def to_api_time(value: datetime | str | None) -> str | None:
    """ISO-8601 with a ``Z``, millisecond precision.

        >>> to_api_time("2024-01-02T03:04:05.123456+00:00")
        '2024-01-02T03:04:05.123Z'
    """
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 32 and value.endswith("+00:00"):
        return value[:23] + "Z"  # as to_db writes it: no need to parse (long listings)
    moment = from_db(value) if isinstance(value, str) else value
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds (Snowflake's RUN_ID)."""
    return int(moment.timestamp() * 1000)


# --- small validators --------------------------------------------------------------------------
def _require_object(body: Any, what: str) -> dict[str, Any]:
    """The body as a dict whose every string is valid Unicode (a lone surrogate is refused)."""
    if not isinstance(body, dict):
        raise bad_request(f"The request body must be a JSON object describing the {what}, "
                          f"got {type(body).__name__}.")
    check_text(body)
    return body


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Field {key} must be a string, got {type(value).__name__}.")
    return value


def _opt_int(body: dict[str, Any], key: str, low: int, high: int | None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Field {key} must be an integer, got {json.dumps(value)}.")
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f"at least {low}"
        raise bad_request(f"Field {key} must be {bound}, got {value}.")
    return value


def _opt_size(body: dict[str, Any], key: str) -> str | None:
    value = _opt_str(body, key)
    if value is None:
        return None
    size = value.upper().replace("_", "-")
    size = rules.WAREHOUSE_SIZE_ALIASES.get(size, size.replace("-", ""))
    if size not in rules.WAREHOUSE_SIZES:
        raise bad_request(f"Field {key} must be a warehouse size such as XSMALL, SMALL, MEDIUM "
                          f"or XXLARGE, got {value!r}.")
    return size


def _parse_minutes_interval(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"Field {key} must be an object like "
                          '{"schedule_type": "MINUTES_TYPE", "minutes": 5}.')
    minutes = _opt_int(value, "minutes", 0, None)
    seconds = _opt_int(value, "seconds", 0, 59) or 0
    if minutes is None:
        raise bad_request(f"Field {key}.minutes is required.")
    total = minutes * 60 + seconds
    if not 10 <= total <= 86_400:
        raise rule_error(f"{key.upper()} must be between 10 seconds and 1 day, got {total} "
                         "seconds.")
    return {"schedule_type": "MINUTES_TYPE", "minutes": minutes, "seconds": seconds}


def parse_schedule_field(value: Any) -> dict[str, Any]:
    """Validate a ``schedule`` object through scheduler.py; return its API form."""
    from tasknb.local.schedule import schedules as scheduler

    if not isinstance(value, dict):
        raise bad_request('Field schedule must be an object such as {"schedule_type": '
                          '"MINUTES_TYPE", "minutes": 10} or {"schedule_type": "CRON_TYPE", '
                          '"cron_expr": "0 2 * * *", "timezone": "UTC"}.')
    try:
        parsed = scheduler.parse_schedule(value)
    except scheduler.ScheduleError as exc:
        raise rule_error(str(exc)) from exc
    return scheduler.schedule_to_api(parsed)


# --- Task --------------------------------------------------------------------------------------
def parse_task_body(body: Any, database: str, schema: str,
                    path_name: str | None = None) -> dict[str, Any]:
    """Validate a Task request body; return the stored properties plus ``name``.

    Checks each field's type and range, then the rules that depend on the task alone:
    root-only properties, finalizer shape, self-reference, the 100-predecessor limit.
    """
    body = _require_object(body, "task")
    if "name" not in body or body["name"] is None:
        if path_name is None:
            raise bad_request("Field name is required: the task's identifier, e.g. "
                              '{"name": "MY_TASK", "definition": "select 1"}.')
        name = path_name
    else:
        name = fold_identifier(body["name"], "name")
        if path_name is not None and name != path_name:
            raise bad_request(f"The body names task {render_identifier(name)!r} but the path "
                              f"names {render_identifier(path_name)!r}; they must match.")
    definition = body.get("definition")
    if not isinstance(definition, str) or not definition.strip():
        raise bad_request("Field definition is required: the task's SQL, e.g. "
                          '"definition": "insert into t select 1".')
    fqn = qualified(database, schema, name)
    spec: dict[str, Any] = {"name": name, "definition": definition}

    warehouse = body.get("warehouse")
    spec["warehouse"] = fold_identifier(warehouse, "warehouse") if warehouse is not None else None
    spec["comment"] = _opt_str(body, "comment")
    spec["condition"] = _opt_str(body, "condition")
    for key in ("error_integration", "success_integration", "execute_as_user"):
        spec[key] = _opt_str(body, key)
    spec["task_auto_retry_attempts"] = _opt_int(body, "task_auto_retry_attempts", 0,
                                                rules.MAX_AUTO_RETRY_ATTEMPTS)
    spec["user_task_timeout_ms"] = _opt_int(body, "user_task_timeout_ms", 0,
                                            rules.MAX_TASK_TIMEOUT_MS)
    spec["suspend_task_after_num_failures"] = _opt_int(body, "suspend_task_after_num_failures",
                                                       0, None)
    spec["user_task_managed_initial_warehouse_size"] = _opt_size(
        body, "user_task_managed_initial_warehouse_size")
    spec["serverless_task_min_statement_size"] = _opt_size(body, "serverless_task_min_statement_size")
    spec["serverless_task_max_statement_size"] = _opt_size(body, "serverless_task_max_statement_size")
    sizes = rules.WAREHOUSE_SIZES
    low = spec["serverless_task_min_statement_size"]
    high = spec["serverless_task_max_statement_size"]
    if low and high and sizes.index(low) > sizes.index(high):
        raise rule_error("SERVERLESS_TASK_MIN_STATEMENT_SIZE must not be larger than "
                         "SERVERLESS_TASK_MAX_STATEMENT_SIZE.")
    if spec["warehouse"] and spec["user_task_managed_initial_warehouse_size"]:
        raise rule_error("Cannot set USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE on a "
                         "non-serverless task.")
    tci = body.get("target_completion_interval")
    spec["target_completion_interval"] = (
        _parse_minutes_interval(tci, "target_completion_interval") if tci is not None else None)
    if spec["target_completion_interval"] and spec["warehouse"]:
        raise rule_error("TARGET_COMPLETION_INTERVAL is only allowed for serverless Tasks.",
                         rules.SERVERLESS_ONLY)

    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise rule_error("Invalid config. Must be a string representation of a valid JSON "
                         "Object.")
    spec["config"] = config or None
    params = body.get("session_parameters")
    if params is not None and not isinstance(params, dict):
        raise bad_request("Field session_parameters must be an object of parameter names to "
                          "values.")
    params = dict(params or {})
    for key, value in params.items():
        if isinstance(value, (dict, list)):
            raise bad_request(f"Session parameter {key} must be a string, number or boolean.")
        if key.upper() == "SEARCH_PATH":
            raise rule_error("The parameter SEARCH_PATH is not supported with Tasks.")
        if key.upper() == "AUTOCOMMIT" and str(value).lower() in ("false", "0"):
            raise rule_error("The parameter AUTOCOMMIT = false is not supported with Tasks. "
                             "Remove it from session_parameters.")
    spec["session_parameters"] = params or None

    overlap = _opt_str(body, "overlap_policy")
    if overlap is not None and overlap.upper() not in rules.OVERLAP_POLICIES:
        raise bad_request(f"Field overlap_policy must be one of {', '.join(rules.OVERLAP_POLICIES)}"
                          f", got {overlap!r}.")
    overlap = overlap.upper() if overlap else None
    allow = body.get("allow_overlapping_execution")
    if allow is not None and not isinstance(allow, bool):
        raise bad_request("Field allow_overlapping_execution must be true or false.")
    if allow is not None:
        twin = "ALLOW_CHILD_OVERLAP" if allow else "NO_OVERLAP"
        if overlap is not None and overlap != twin:
            raise rule_error("Cannot specify ALLOW_OVERLAPPING_EXECUTION and OVERLAP_POLICY to "
                             "different values in the same command.")
        overlap = twin
    spec["overlap_policy"] = overlap

    preds_raw = body.get("predecessors")
    if preds_raw is not None and not isinstance(preds_raw, list):
        raise bad_request("Field predecessors must be an array of task names.")
    preds: list[str] = []
    cross = "Cannot have predecessor {name} from a different schema."
    for item in preds_raw or ():
        pred = rules.local_name(item, database, schema, "predecessors", cross)
        if pred == name:
            raise rule_error(f"Task {fqn} cannot use itself as its predecessor.")
        if pred not in preds:
            preds.append(pred)
    if len(preds) > rules.MAX_PREDECESSORS:
        raise rule_error(f"Task {fqn} has {len(preds)} predecessors; at most "
                         f"{rules.MAX_PREDECESSORS} are allowed.")
    spec["predecessors"] = preds
    finalize = body.get("finalize")
    spec["finalize"] = (rules.local_name(finalize, database, schema, "finalize",
                                         "Cannot finalize task {name} from a different schema.")
                        if finalize is not None else None)
    if spec["finalize"] == name:
        raise rule_error(f"Task {fqn} cannot finalize itself.")

    schedule = body.get("schedule")
    spec["schedule"] = parse_schedule_field(schedule) if schedule is not None else None

    # Rules that depend on this task alone.
    if spec["finalize"]:
        if preds:
            raise rule_error(f"Task {fqn} cannot have predecessors as a finalizer task.")
        if spec["schedule"]:
            raise rule_error(f"Task {name} cannot have a schedule and be a finalizer task.")
    if preds and spec["schedule"]:
        raise rule_error(f"Task {name} cannot have both a schedule and a predecessor.")
    if not rules.is_root(spec):
        if spec["config"]:
            raise rule_error(f"Task {fqn} cannot both be a non-root task and have a config.")
        if spec["task_auto_retry_attempts"]:
            raise rule_error(f"Cannot set parameter TASK_AUTO_RETRY_ATTEMPTS on non-root task "
                             f"{name}. Non-root tasks use the parameter setting from their root "
                             "task. Set it on the root task instead.")
        if allow is True:
            raise rule_error(f"Cannot set allow_overlapping_execution on non-root task {fqn}.")
        if overlap not in (None, "NO_OVERLAP"):
            raise rule_error(f"Cannot set overlap policy on non-root task {fqn}.")
        spec["overlap_policy"] = None
        spec["task_auto_retry_attempts"] = None
    triggers.check_task(spec, fqn)
    return spec


def task_relations(name: str, rec: dict[str, Any], database: str, schema: str,
                   finalizer: str | None) -> str:
    """The ``task_relations`` JSON string SHOW TASKS carries."""
    relations: dict[str, Any] = {
        "Predecessors": [qualified(database, schema, p) for p in rec.get("predecessors") or ()]}
    if finalizer:
        relations["FinalizerTask"] = qualified(database, schema, finalizer)
    if rec.get("finalize"):
        relations["FinalizedRootTask"] = qualified(database, schema, rec["finalize"])
    return json.dumps(relations, separators=(",", ":"))


def task_to_api(rec: dict[str, Any], finalizer: str | None) -> dict[str, Any]:
    """A stored task as the REST ``Task`` body (absent values left out)."""
    database, schema, name = rec["database_name"], rec["schema_name"], rec["name"]
    root = rules.is_root(rec)
    out: dict[str, Any] = {
        "name": render_identifier(name),
        "definition": rec["definition"],
        "predecessors": [render_identifier(p) for p in rec.get("predecessors") or ()],
        "task_relations": task_relations(name, rec, database, schema, finalizer),
        "user_task_timeout_ms": (rec["user_task_timeout_ms"]
                                 if rec.get("user_task_timeout_ms") is not None
                                 else rules.DEFAULT_TASK_TIMEOUT_MS),
        "suspend_task_after_num_failures": (
            rec["suspend_task_after_num_failures"]
            if rec.get("suspend_task_after_num_failures") is not None
            else rules.DEFAULT_SUSPEND_AFTER_FAILURES),
        "session_parameters": rec.get("session_parameters") or {},
        "created_on": to_api_time(rec["created_on"]),
        "id": rec["id"],
        "owner": OWNER,
        "owner_role_type": OWNER_ROLE_TYPE,
        "state": rec["state"],
        "database_name": render_identifier(database),
        "schema_name": render_identifier(schema),
    }
    if root:
        policy = rec.get("overlap_policy") or "NO_OVERLAP"
        out["overlap_policy"] = policy
        out["allow_overlapping_execution"] = policy != "NO_OVERLAP"
        out["task_auto_retry_attempts"] = rec.get("task_auto_retry_attempts") or 0
        out["config"] = rec.get("config") or {}
    for key in ("warehouse",):
        if rec.get(key):
            out[key] = render_identifier(rec[key])
    if rec.get("finalize"):
        out["finalize"] = render_identifier(rec["finalize"])
    for key in ("schedule", "comment", "condition", "error_integration", "success_integration",
                "execute_as_user", "user_task_managed_initial_warehouse_size",
                "target_completion_interval", "serverless_task_min_statement_size",
                "serverless_task_max_statement_size"):
        if rec.get(key) is not None:
            out[key] = rec[key]
    for key in ("last_committed_on", "last_suspended_on"):
        if rec.get(key):
            out[key] = to_api_time(rec[key])
    return out


# --- databases and schemas ---------------------------------------------------------------------
_CONTAINER_INTS = ("data_retention_time_in_days", "max_data_extension_time_in_days",
                   "suspend_task_after_num_failures", "user_task_timeout_ms")
_CONTAINER_STRINGS = ("default_ddl_collation", "log_level", "trace_level",
                      "user_task_managed_initial_warehouse_size",
                      "serverless_task_min_statement_size", "serverless_task_max_statement_size")


def parse_container_body(body: Any, what: str, path_name: str | None = None) -> dict[str, Any]:
    """A Database or Schema body: ``name`` (required), ``comment``, ``kind``."""
    body = _require_object(body, what)
    if body.get("name") is None:
        raise bad_request(f'Field name is required: the {what}\'s identifier, e.g. '
                          '{"name": "MY_DB"}.')
    name = fold_identifier(body["name"], "name")
    if path_name is not None and name != path_name:
        raise bad_request(f"The body names {what} {render_identifier(name)!r} but the path "
                          f"names {render_identifier(path_name)!r}.")
    kind = _opt_str(body, "kind") or "PERMANENT"
    if kind.upper() not in ("PERMANENT", "TRANSIENT"):
        raise bad_request(f"Field kind must be PERMANENT or TRANSIENT, got {kind!r}.")
    managed = body.get("managed_access")
    if managed is not None and not isinstance(managed, bool):
        raise bad_request("Field managed_access must be true or false.")
    # typed properties the spec defines: refused when of the wrong type, otherwise not kept
    for key in _CONTAINER_INTS:
        _opt_int(body, key, 0, None)
    for key in _CONTAINER_STRINGS:
        _opt_str(body, key)
    for key in ("pipe_execution_paused", "is_default", "is_current"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise bad_request(f"Field {key} must be true or false.")
    return {"name": name, "comment": _opt_str(body, "comment"), "kind": kind.upper(),
            "managed_access": bool(managed)}


def database_to_api(rec: dict[str, Any]) -> dict[str, Any]:
    """A stored database as the REST ``Database`` body."""
    out = {"name": render_identifier(rec["name"]), "created_on": to_api_time(rec["created_on"]),
           "kind": rec.get("kind") or "PERMANENT", "is_default": False, "is_current": False,
           "origin": "", "owner": OWNER, "options": "", "retention_time": 1,
           "owner_role_type": OWNER_ROLE_TYPE}
    if rec.get("comment") is not None:
        out["comment"] = rec["comment"]
    return out


def schema_to_api(rec: dict[str, Any]) -> dict[str, Any]:
    """A stored schema as the REST ``Schema`` body."""
    out = {"name": render_identifier(rec["name"]), "created_on": to_api_time(rec["created_on"]),
           "kind": rec.get("kind") or "PERMANENT", "is_default": False, "is_current": False,
           "database_name": render_identifier(rec["database"]), "owner": OWNER, "options": "",
           "managed_access": bool(rec.get("managed_access")), "retention_time": 1,
           "owner_role_type": OWNER_ROLE_TYPE}
    if rec.get("comment") is not None:
        out["comment"] = rec["comment"]
    return out


# --- tags --------------------------------------------------------------------------------------
def parse_tags_body(body: Any, database: str, schema: str, *,
                    with_values: bool) -> list[tuple[str, str, str, str | None]]:
    """``[TagAssignment]`` (set) or ``[TagReference]`` (unset) as (db, schema, name, value)."""
    if not isinstance(body, list):
        raise bad_request("The request body must be a JSON array of tags, e.g. "
                          '[{"tag_name": "OWNER_TEAM", "tag_value": "data"}].')
    check_text(body, "tags")
    out = []
    for item in body:
        if not isinstance(item, dict) or item.get("tag_name") is None:
            raise bad_request("Each tag must be an object with tag_name"
                              + (" and tag_value." if with_values else "."))
        tag_db = (fold_identifier(item["tag_database"], "tag_database")
                  if item.get("tag_database") is not None else database)
        tag_schema = (fold_identifier(item["tag_schema"], "tag_schema")
                      if item.get("tag_schema") is not None else schema)
        tag_name = fold_identifier(item["tag_name"], "tag_name")
        value = None
        if with_values:
            value = item.get("tag_value")
            if not isinstance(value, str):
                raise bad_request(f"Tag {tag_name}: tag_value is required and must be a string.")
        out.append((tag_db, tag_schema, tag_name, value))
    return out


def tag_to_api(tag_db: str, tag_schema: str, tag_name: str, value: str) -> dict[str, Any]:
    """A tag assignment as the REST ``TagAssignment`` body."""
    return {"tag_database": render_identifier(tag_db), "tag_schema": render_identifier(tag_schema),
            "tag_name": render_identifier(tag_name), "tag_value": value, "level": "TASK"}


# --- graph runs --------------------------------------------------------------------------------
def run_to_api(row: dict[str, Any]) -> dict[str, Any]:
    """A stored graph run as the REST ``TaskRun`` body (strict types per snowflake-core)."""
    out: dict[str, Any] = {
        "root_task_name": render_identifier(row["root_name"]),
        "database_name": render_identifier(row["database"]),
        "schema_name": render_identifier(row["schema"]),
        "state": row["state"],
        "scheduled_time": to_api_time(row["scheduled_time"]),
        "next_scheduled_time": to_api_time(row.get("next_scheduled_time")
                                           or row["scheduled_time"]),
        "root_task_id": str(row["root_id"]),
        "graph_version": int(row["graph_version"]),
        "run_id": int(row["run_id"]),
    }
    if row.get("query_start_time"):
        out["query_start_time"] = to_api_time(row["query_start_time"])
    if row.get("completed_time"):
        out["completed_time"] = to_api_time(row["completed_time"])
    if row.get("first_error_task_name"):
        out["first_error_task_name"] = render_identifier(row["first_error_task_name"])
        out["first_error_code"] = int(row.get("first_error_code") or 0)
        out["first_error_message"] = row.get("first_error_message") or ""
    # Extras snowflake-core ignores; useful for investigation.
    out["attempt_number"] = int(row.get("attempt") or 1)
    out["scheduled_from"] = row.get("scheduled_from")
    if row.get("group_id"):
        out["graph_run_group_id"] = row["group_id"]
    return out


def task_run_to_api(row: dict[str, Any]) -> dict[str, Any]:
    """A per-task history row (TASK_HISTORY-shaped, lowercase keys) for the extension API."""
    return {
        "name": render_identifier(row["name"]),
        "database_name": render_identifier(row["database"]),
        "schema_name": render_identifier(row["schema"]),
        "root_task_name": render_identifier(row["root_name"]),
        "state": row["state"],
        "scheduled_time": to_api_time(row["scheduled_time"]),
        "query_start_time": to_api_time(row.get("query_start_time")),
        "completed_time": to_api_time(row.get("completed_time")),
        "error_code": row.get("error_code"),
        "error_message": row.get("error_message"),
        "return_value": row.get("return_value"),
        "attempt_number": int(row.get("attempt") or 1),
        "run_id": int(row["run_id"]),
        "graph_version": int(row["graph_version"]),
        "graph_run_group_id": row.get("group_id"),
        "scheduled_from": row.get("scheduled_from"),
        "query_text": row.get("query_text"),
        "condition_text": row.get("condition_text"),
    }
