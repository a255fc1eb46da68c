"""The route table: every path the local server answers, and the handler of each method.

    >>> route, params = match(ROUTES, ["api", "v2", "databases", "DB", "schemas", "S", "tasks",
    ...                                "T%24A:resume"])
    >>> route.path, params, sorted(route.handlers)
    ('/api/v2/databases/{database}/schemas/{schema}/tasks/{name}:resume', {'database': 'DB', 'schema': 'S', 'name': 'T$A'}, ['POST'])

Paths are matched on the raw (still percent-encoded) segments, so that an encoded ``/`` or
``:`` stays inside a name: ``{param}`` takes one segment, decoded, that has no unencoded
``:verb`` suffix; ``{param}:verb`` takes a segment whose suffix is exactly ``:verb``.
A path that matches no route gets a 404 saying what exists there (:func:`unmatched`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from tasknb.local.api import containers, extensions, results, session, statements, tasks
from tasknb.local.api.http import Call, Reply, no_endpoint, no_method
from tasknb.local.rules import ApiError

Handler = Callable[[Call], Awaitable[Reply]]

API = "/api/v2"
SCHEMA = f"{API}/databases/{{database}}/schemas/{{schema}}"
TASK = f"{SCHEMA}/tasks/{{name}}"
EXT = "/tasknb/v1"
EXT_TASK = f"{EXT}/databases/{{database}}/schemas/{{schema}}/tasks/{{name}}"
SESSION_PREFIXES = (("session",), ("queries",), ("telemetry",), ("oauth",))


@dataclass(frozen=True)
class Route:
    """A path pattern, its handler per method, and whether it needs the token."""

    path: str
    handlers: dict[str, Handler]
    public: bool = False

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/")


def route(path: str, *, public: bool = False, **handlers: Handler) -> Route:
    """``route("/api/v2/databases", GET=list_databases, POST=create_database)``."""
    return Route(path, handlers, public)


ROUTES: tuple[Route, ...] = (
    route(f"{API}/databases", GET=containers.list_databases, POST=containers.create_database),
    route(f"{API}/databases/{{database}}", GET=containers.fetch_database,
          PUT=containers.create_or_alter_database, DELETE=containers.delete_database),
    route(f"{API}/databases/{{database}}/schemas", GET=containers.list_schemas,
          POST=containers.create_schema),
    route(SCHEMA, GET=containers.fetch_schema, PUT=containers.create_or_alter_schema,
          DELETE=containers.delete_schema),
    route(f"{SCHEMA}/tasks", GET=tasks.list_tasks, POST=tasks.create_task),
    route(TASK, GET=tasks.fetch_task, PUT=tasks.create_or_alter_task, DELETE=tasks.delete_task),
    route(f"{TASK}:execute", POST=tasks.execute_task),
    route(f"{TASK}:resume", POST=tasks.resume_task),
    route(f"{TASK}:suspend", POST=tasks.suspend_task),
    route(f"{TASK}:set-tags", POST=tasks.set_tags),
    route(f"{TASK}:unset-tags", POST=tasks.unset_tags),
    route(f"{TASK}:get-tags", GET=tasks.get_tags),
    route(f"{TASK}/dependents", GET=tasks.dependents),
    route(f"{TASK}/current-graphs", GET=tasks.current_graphs),
    route(f"{TASK}/current_graphs", GET=tasks.current_graphs),  # the deprecated spelling
    route(f"{TASK}/complete-graphs", GET=tasks.complete_graphs),
    route(f"{TASK}/complete_graphs", GET=tasks.complete_graphs),  # the deprecated spelling
    route(f"{API}/results/{{handle}}", GET=results.fetch_result),
    route(f"{API}/statements", POST=statements.submit_statement),
    route(f"{API}/statements/{{statementHandle}}", GET=statements.get_statement_status),
    route(f"{API}/statements/{{statementHandle}}/cancel", POST=statements.cancel_statement),
    route(f"{EXT}/ping", GET=extensions.ping),
    route(f"{EXT}/clock", GET=extensions.clock),
    route(f"{EXT}/clock:advance", POST=extensions.advance),
    route(f"{EXT_TASK}:enable-dependents", POST=extensions.enable_dependents),
    route(f"{EXT_TASK}:cancel-ongoing", POST=extensions.cancel_ongoing),
    route(f"{EXT_TASK}/history", GET=extensions.task_history),
    route(f"{EXT_TASK}/graph-runs", GET=extensions.graph_runs),
    route(f"{EXT}/sessions:expire", POST=session.expire),
    route(f"{EXT}/sso/{{request}}:confirm", POST=session.confirm_sso),
    route("/session/v1/login-request", public=True, POST=session.login),
    route("/oauth/token-request", public=True, POST=session.oauth_token),
    route("/session/authenticator-request", public=True, POST=session.authenticator_request),
    # the master token (not a session token) authorizes a renewal; a logout may present an
    # expired session token: both handlers check what they are given
    route("/session/token-request", public=True, POST=session.token_request),
    route("/session", public=True, POST=session.logout),
    route("/telemetry/send", POST=session.acknowledge),
    route("/queries/v1/query-request", POST=session.query_request),
)
TASK_VERBS = tuple(r.path.rpartition(":")[2] for r in ROUTES
                   if r.path.startswith(f"{TASK}:"))


def split_verb(segment: str) -> tuple[str, str | None]:
    """``T%24A:resume`` -> (``T$A``, ``resume``); an encoded colon stays in the name.

        >>> split_verb("T%24A:resume"), split_verb("A%3AB"), split_verb(":x")
        (('T$A', 'resume'), ('A:B', None), (':x', None))
    """
    if ":" in segment:
        head, _, verb = segment.rpartition(":")
        if head:
            return unquote(head), verb
    return unquote(segment), None


def _match_segment(pattern: str, segment: str, params: dict[str, str]) -> bool:
    if not pattern.startswith("{"):
        return pattern == segment
    name, _, verb = pattern[1:].partition("}")
    value, given_verb = split_verb(segment)
    if given_verb != (verb[1:] or None):
        return False
    params[name] = value
    return True


def match(routes: tuple[Route, ...], parts: list[str]) -> tuple[Route, dict[str, str]] | None:
    """The route of a path (its raw segments) and its decoded parameters, or None."""
    for candidate in routes:
        pattern = candidate.segments
        if len(pattern) != len(parts):
            continue
        params: dict[str, str] = {}
        if all(_match_segment(p, s, params) for p, s in zip(pattern, parts, strict=True)):
            return candidate, params
    return None


def is_session_path(parts: list[str]) -> bool:
    """The connector's session endpoints (``/session/...``, ``/queries/...``, ...)."""
    return tuple(parts[:1]) in SESSION_PREFIXES


def unmatched(method: str, parts: list[str]) -> ApiError:
    """The answer for a path no route takes: a 404 saying what exists at that level."""
    if is_session_path(parts):
        return no_endpoint("No such session endpoint on the local server.")
    if parts[:2] == ["tasknb", "v1"]:
        known = ", ".join(f"{m} {r.path}" for r in ROUTES if r.path.startswith(EXT)
                          for m in r.handlers)
        return no_endpoint(f"Unknown tasknb extension endpoint. Known: {known}.")
    if parts[:2] != ["api", "v2"]:
        return no_endpoint(f"No endpoint at /{'/'.join(parts)}. The local server answers "
                           "/api/v2/... (Snowflake REST API) and /tasknb/v1/... .")
    rest = parts[2:]
    if rest[:1] == ["results"]:
        return no_method(method)
    if rest[:1] != ["databases"]:
        return no_endpoint("The local server implements databases, schemas, tasks and "
                           "results under /api/v2.")
    if len(rest) > 2 and rest[2] != "schemas":
        return no_endpoint("Unknown path under /api/v2/databases/{database}.")
    if len(rest) > 4 and rest[4] != "tasks":
        return no_endpoint("The local server implements tasks only inside a schema.")
    verb = split_verb(rest[5])[1] if len(rest) == 6 else None
    if verb is not None:
        return no_endpoint(f"Unknown task action :{verb}. Known: "
                           + ", ".join(":" + v for v in TASK_VERBS) + ".")
    return no_endpoint("Unknown task endpoint.")
