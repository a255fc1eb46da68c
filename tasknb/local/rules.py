"""Snowflake's rules for the local server: identifiers, error codes, request values, graph shape.

    >>> fold_identifier("my_task"), fold_identifier('"My Task"'), render_identifier("My Task")
    ('MY_TASK', 'My Task', '"My Task"')

Everything here is pure: no I/O, no locks. Refusals raise :class:`ApiError`, which app.py turns
into Snowflake's error body ``{"code", "error_code", "message", "request_id"}``.

Error codes: Snowflake's own numbers where the reference (docs/task-semantics.md) gives them.
Where it gives a message but no number, the code is :data:`TASK_RULE` (``091000``), a tasknb
local choice for "a task statement was refused"; it is documented as local, not Snowflake's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# --- error codes -----------------------------------------------------------------------------
DOES_NOT_EXIST = "002003"
ALREADY_EXISTS = "002002"
ROOT_NOT_SUSPENDED = "091421"
RETRY_NO_FAILURES = "091456"
RETRY_NOTHING_SUITABLE = "091457"
SERVERLESS_ONLY = "091857"
BAD_REQUEST = "390400"
RESULT_NOT_FOUND = "390404"
UNAUTHORIZED = "390101"
TASK_RULE = "091000"  # local: Snowflake's number for these refusals is not documented
REQUEST_IN_PROGRESS = "392604"
# local: Snowflake's gateway answers an unknown route or method with an empty body and a wrong
# Content-Type without a documented number; tasknb sends a 6-digit code ending in the status
NO_SUCH_ENDPOINT = "390404"
METHOD_NOT_ALLOWED = "390405"
UNSUPPORTED_MEDIA_TYPE = "390415"

# --- limits ------------------------------------------------------------------------------------
MAX_IDENTIFIER_LENGTH = 255
MAX_GRAPH_TASKS = 1000
MAX_PREDECESSORS = 100
MAX_CHILDREN = 100
MAX_AUTO_RETRY_ATTEMPTS = 30
MAX_TASK_TIMEOUT_MS = 604_800_000
DEFAULT_TASK_TIMEOUT_MS = 3_600_000
DEFAULT_SUSPEND_AFTER_FAILURES = 10
MAX_RESULT_LIMIT = 10_000
DEFAULT_RESULT_LIMIT = 1000
MAX_SHOW_LIMIT = 10_000
MAX_RETURN_VALUE_BYTES = 10 * 1024

OVERLAP_POLICIES = ("NO_OVERLAP", "ALLOW_CHILD_OVERLAP", "ALLOW_ALL_OVERLAP")
CREATE_MODES = ("errorIfExists", "orReplace", "ifNotExists")
WAREHOUSE_SIZES = (
    "XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE", "XXXLARGE",
    "X4LARGE", "X5LARGE", "X6LARGE",
)
_SIZE_ALIASES = {"X-SMALL": "XSMALL", "X-LARGE": "XLARGE", "2X-LARGE": "XXLARGE",
                 "3X-LARGE": "XXXLARGE", "4X-LARGE": "X4LARGE", "5X-LARGE": "X5LARGE",
                 "6X-LARGE": "X6LARGE", "2XLARGE": "XXLARGE", "3XLARGE": "XXXLARGE"}


class ApiError(Exception):
    """A refusal the server answers with Snowflake's error body.

        >>> ApiError(404, DOES_NOT_EXIST, "Task 'DB.S.T' does not exist or not authorized.").status
        404
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = BAD_REQUEST) -> ApiError:
    """A 400 with a clear message.

        >>> bad_request("showLimit must be an integer").status
        400
    """
    return ApiError(400, code, message)


def rule_error(message: str, code: str = TASK_RULE) -> ApiError:
    """A 400 for a statement Snowflake refuses (graph or lifecycle rule)."""
    return ApiError(400, code, message)


def not_found(kind: str, qualified: str) -> ApiError:
    """Snowflake's 002003 ``<Kind> '<NAME>' does not exist or not authorized.``

        >>> not_found("Task", "DB.S.T").message
        "Task 'DB.S.T' does not exist or not authorized."
    """
    return ApiError(404, DOES_NOT_EXIST, f"{kind} '{qualified}' does not exist or not authorized.")


def already_exists(name: str) -> ApiError:
    """Snowflake's 002002 ``Object '<NAME>' already exists.``"""
    return ApiError(409, ALREADY_EXISTS, f"Object '{name}' already exists.")


def root_not_suspended(root_fqn: str) -> ApiError:
    """Snowflake's 091421 suspended-root rule."""
    return rule_error(
        f"Unable to update graph with root task {root_fqn} since that root task is not "
        "suspended.", ROOT_NOT_SUSPENDED)


# --- identifiers -------------------------------------------------------------------------------
_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PLAIN_UPPER = re.compile(r"[A-Z_][A-Z0-9_$]*")


def fold_identifier(text: Any, what: str = "name") -> str:
    """Return the stored form of an identifier: unquoted -> uppercase, quoted -> exact text.

        >>> fold_identifier('"a""b"')
        'a"b'

    Raises a 400 :class:`ApiError` for anything that is not an identifier.
    """
    if not isinstance(text, str):
        raise bad_request(f"Invalid SQL Identifier found in the request: {what} must be a "
                          f"string, got {type(text).__name__}.")
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        inner = text[1:-1]
        if inner and '"' not in inner.replace('""', ""):
            name = inner.replace('""', '"')
            if len(name) <= MAX_IDENTIFIER_LENGTH:
                return name
    elif _UNQUOTED.fullmatch(text) and len(text) <= MAX_IDENTIFIER_LENGTH:
        return text.upper()
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise bad_request(
        f"Invalid SQL Identifier found in the request: {shown!r} (in {what}). Use letters, "
        "digits, _ and $ starting with a letter or _, or enclose the name in double quotes "
        f"(at most {MAX_IDENTIFIER_LENGTH} characters).")


def render_identifier(name: str) -> str:
    """Spell a stored name so that sending it back addresses the same object.

        >>> render_identifier("T1"), render_identifier("t1")
        ('T1', '"t1"')
    """
    if _PLAIN_UPPER.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(*names: str) -> str:
    """``DB.SCHEMA.NAME`` with each part rendered as an identifier.

        >>> qualified("DB", "s", "T")
        'DB."s".T'
    """
    return ".".join(render_identifier(n) for n in names)


def split_qualified(text: Any, what: str) -> list[str]:
    """Split ``a.b."c.d"`` into folded parts (dots inside quotes do not split).

        >>> split_qualified('DB.S."t.x"', "predecessors")
        ['DB', 'S', 't.x']
    """
    if not isinstance(text, str):
        raise bad_request(f"{what} must hold strings, got {type(text).__name__}.")
    parts: list[str] = []
    current = ""
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if len(parts) > 3:
        raise bad_request(f"Invalid SQL Identifier found in the request: {text!r} (in {what}).")
    return [fold_identifier(p, what) for p in parts]


def local_name(text: Any, database: str, schema: str, what: str,
               cross_schema_message: str) -> str:
    """Fold a possibly qualified task name that must live in ``database.schema``."""
    parts = split_qualified(text, what)
    if len(parts) == 3 and (parts[0], parts[1]) != (database, schema):
        raise rule_error(cross_schema_message.format(name=text))
    if len(parts) == 2 and parts[0] != schema:
        raise rule_error(cross_schema_message.format(name=text))
    return parts[-1]


# --- query parameters --------------------------------------------------------------------------
def parse_bool(value: str | None, name: str, default: bool) -> bool:
    """Query booleans, case-insensitive (snowflake-core sends ``True``/``False``).

        >>> parse_bool("True", "rootOnly", False), parse_bool(None, "x", True)
        (True, True)
    """
    if value is None:  # absent; an empty value is not a default
        return default
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise bad_request(f"Query parameter {name} must be true or false, got {value!r}.")


def parse_int(value: str | None, name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter within ``[low, high]``.

        >>> parse_int("10", "showLimit", None, 1, 10000)
        10
    """
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"Query parameter {name} must be an integer, got {value!r}.") from None
    if not low <= number <= high:
        raise bad_request(f"Query parameter {name} must be between {low:,} and {high:,}, "
                          f"got {number}.")
    return number


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%``, ``_``, backslash escape) as a case-insensitive regex.

        >>> bool(like_to_regex("t\\\\_%").fullmatch("T_1"))
        True
    """
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    if escaped:
        out.append(re.escape("\\"))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def filter_names(names: Iterable[str], *, like: str | None = None, starts_with: str | None = None,
                 from_name: str | None = None, limit: int | None = None) -> list[str]:
    """SHOW ... LIKE / STARTS WITH / LIMIT n FROM, over names in lexicographic order.

        >>> filter_names(["B", "A", "C"], from_name="B", limit=1)
        ['B']
    """
    result = sorted(names)
    if like is not None:
        regex = like_to_regex(like)
        result = [n for n in result if regex.fullmatch(n)]
    if starts_with is not None:
        result = [n for n in result if n.startswith(starts_with)]
    if from_name is not None:
        result = [n for n in result if n >= from_name]
    if limit is not None:
        result = result[:limit]
    return result


def check_create_mode(value: str | None) -> str:
    """``createMode`` with Snowflake's refusal text for unknown values."""
    if value is None:
        return "errorIfExists"
    if value not in CREATE_MODES:
        raise bad_request(f"Not a valid createMode: {value}. Allowed values are: "
                          + ",".join(CREATE_MODES))
    return value


# --- graph shape -------------------------------------------------------------------------------
def children_index(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Map each task name to the tasks that list it as a predecessor (sorted)."""
    children: dict[str, list[str]] = {}
    for name, rec in sorted(tasks.items()):  # a snapshot: readers do not hold a lock
        for pred in rec.get("predecessors") or ():
            children.setdefault(pred, []).append(name)
    return children


def finalizer_index(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Map each finalized root name to its finalizer's name."""
    return {rec["finalize"]: name for name, rec in list(tasks.items()) if rec.get("finalize")}


def is_root(rec: Mapping[str, Any]) -> bool:
    """A root or standalone task: no predecessor and not a finalizer."""
    return not rec.get("predecessors") and not rec.get("finalize")


def roots_of(name: str, tasks: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The roots above ``name`` (itself for a root; a finalizer's root for a finalizer)."""
    roots: set[str] = set()
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        rec = tasks.get(current)
        if rec is None:
            continue
        if rec.get("finalize"):
            stack.append(rec["finalize"])
        elif rec.get("predecessors"):
            stack.extend(rec["predecessors"])
        else:
            roots.add(current)
    return roots


def descendants(name: str, children: Mapping[str, list[str]]) -> list[str]:
    """Every task below ``name`` (breadth-first, each once, ``name`` excluded)."""
    order: list[str] = []
    seen = {name}
    queue = [name]
    while queue:
        current = queue.pop(0)
        for child in children.get(current, ()):
            if child not in seen:
                seen.add(child)
                order.append(child)
                queue.append(child)
    return order


def graph_members(root: str, tasks: Mapping[str, Mapping[str, Any]],
                  children: Mapping[str, list[str]] | None = None,
                  finalizers: Mapping[str, str] | None = None) -> list[str]:
    """The root, everything below it, and its finalizer."""
    children = children if children is not None else children_index(tasks)
    members = [root, *descendants(root, children)]
    fin = (finalizers if finalizers is not None else finalizer_index(tasks)).get(root)
    if fin and fin not in members:
        members.append(fin)
    return members


def in_graph(name: str, tasks: Mapping[str, Mapping[str, Any]],
             children: Mapping[str, list[str]], finalizers: Mapping[str, str]) -> bool:
    """Whether a task takes part in a graph (has links in any direction)."""
    rec = tasks[name]
    return bool(rec.get("predecessors") or rec.get("finalize") or children.get(name)
                or finalizers.get(name))


def find_cycle(start: str, tasks: Mapping[str, Mapping[str, Any]],
               children: Mapping[str, list[str]]) -> str | None:
    """A task on a cycle reachable downward from ``start``, or None."""
    state: dict[str, int] = {}
    stack: list[tuple[str, int]] = [(start, 0)]
    while stack:
        node, index = stack.pop()
        if index == 0:
            if state.get(node) == 2:
                continue
            state[node] = 1
        kids = children.get(node, [])
        if index < len(kids):
            stack.append((node, index + 1))
            child = kids[index]
            if state.get(child) == 1:
                return child
            if state.get(child) is None:
                stack.append((child, 0))
        else:
            state[node] = 2
    return None


def topological_order(members: Iterable[str], tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Members in dependency order, level by level (ties by name); assumes no cycle."""
    member_set = set(members)
    indegree = {m: sum(1 for p in tasks[m].get("predecessors") or () if p in member_set)
                for m in member_set}
    children = children_index({m: tasks[m] for m in member_set})
    ready = sorted(m for m, d in indegree.items() if d == 0)
    order: list[str] = []
    while ready:  # FIFO: level by level, each level's newcomers by name
        node = ready.pop(0)
        order.append(node)
        for child in children.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order + sorted(member_set - set(order))


def check_graph_runnable(root: str, database: str, schema: str,
                         tasks: Mapping[str, Mapping[str, Any]],
                         children: Mapping[str, list[str]] | None = None,
                         finalizers: Mapping[str, str] | None = None) -> list[str]:
    """Validate a graph when its root is resumed or executed; return its members.

    Refuses cycles, a second root reachable through shared children, and graphs over 1000.
    """
    children = children if children is not None else children_index(tasks)
    cyclic = find_cycle(root, tasks, children)
    if cyclic is not None:
        raise rule_error("Graph has at least one cycle containing task "
                         f"{qualified(database, schema, cyclic)}.")
    members = graph_members(root, tasks, children, finalizers)
    for member in members:
        other_roots = roots_of(member, tasks) - {root}
        if other_roots:
            raise rule_error(
                "The graph has more than one root task (one without predecessors): "
                f"{qualified(database, schema, root)} and "
                f"{qualified(database, schema, min(other_roots))}.")
    if len(members) > MAX_GRAPH_TASKS:
        raise rule_error(f"The graph of root task {qualified(database, schema, root)} has "
                         f"{len(members)} tasks; at most {MAX_GRAPH_TASKS} are allowed.")
    return members
