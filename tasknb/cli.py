"""The ``tasknb`` command: a thin layer over the client.

    $ tasknb tasks --connection dev --database ELT --schema PUBLIC
    $ tasknb runs NIGHTLY --complete --json | jq '.[0].state'

Commands: ``tasks``, ``show NAME``, ``execute NAME [--retry-last] [--wait|--async]``,
``suspend NAME``, ``resume NAME``, ``runs NAME [--current|--complete] [--tasks [--run ID]]``,
``dependents NAME``, ``sql STATEMENT``; ``server`` (the local Task server in the foreground)
and ``demo`` (local server + notebooks). Each parses, makes one library call and prints: a
readable table by default, JSON with ``--json``. On failure it prints one line to stderr and
exits 1.

Connection: ``--connection`` names one from connections.toml (default as the ``snow`` CLI
picks it); ``--base-url`` targets a server directly, with the token taken from
``SNOWFLAKE_TOKEN`` (never from the command line, where it would land in shell history).
With neither, ``$TASKNB_URL``/``$TASKNB_TOKEN`` (what ``tasknb demo`` writes to its env
file) reach that local server, with the demo's database and schema as defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from .client import AsyncResult, TaskClient, connect
from .durations import format_duration
from .errors import TasknbError
from .models import CronSchedule, MinutesSchedule, Task, TaskRun
from .runs import ATTEMPT_FIELD, RETRYABLE_STATES, WAIT_TIMEOUT_S, error_code_text

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_CELL = 60  # characters per table cell before it is cut with an ellipsis

TASK_COLUMNS = ("name", "state", "schedule", "predecessors", "warehouse", "comment")
RUN_COLUMNS = (
    "root_task_name",
    "state",
    "scheduled_time",
    "query_start_time",
    "completed_time",
    "duration",
    "run_id",
    "attempt",
    "first_error_task_name",
    "first_error_message",
)
TASK_RUN_COLUMNS = (
    "name",
    "state",
    "run_id",
    "attempt_number",
    "scheduled_time",
    "query_start_time",
    "duration",
    "error_code",
    "error_message",
    "query_id",
)


# -- terminal safety ----------------------------------------------------------------------

# C0/C1 control characters (ESC starts terminal escape sequences, CR overwrites a line, BEL,
# backspace ...), DEL, and the Unicode format characters that reorder or hide text (bidi
# overrides and isolates, zero-width characters, line/paragraph separators, BOM).
_FORMAT_CHARACTERS = r"\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_UNSAFE_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f" + _FORMAT_CHARACTERS + "]")
_UNSAFE_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f" + _FORMAT_CHARACTERS + "]")  # \t \n kept


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: object, *, multiline: bool = False) -> str:
    r"""``value`` as text that is safe to print: control characters are shown, never sent.

        >>> print(terminal_text("nightly\x1b]0;pwned\x07\x1b[2J"))
        nightly\x1b]0;pwned\x07\x1b[2J

    An escape sequence, a carriage return or a bidi override in a name, a comment, a
    definition or an error message (which may quote table values) reaches the terminal as
    visible ``\x1b``/``\u202e`` text. ``multiline=True`` keeps line breaks and tabs.
    """
    pattern = _UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE
    return pattern.sub(_escape, str(value))


class TerminalWriter:
    """A text stream that writes only terminal-safe text (line breaks and tabs kept).

    Every human-readable output of the command line goes through one, so nothing the
    server sent can drive the terminal; ``--json`` output is written unchanged.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(terminal_text(text, multiline=True))

    def flush(self) -> None:
        self.stream.flush()


# -- rendering ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready version of a model value (or of a frame's cell)."""
    if _is_missing(value):
        return None
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()  # numpy scalars from a frame
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (MinutesSchedule, CronSchedule)):
        return value.to_api()
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name != "extra"}
        out.update({k: _plain(v) for k, v in getattr(value, "extra", {}).items()})
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    """One table cell: one line, terminal-safe, at most ``MAX_CELL`` characters."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, timedelta):
        return format_duration(value.total_seconds())  # "35 ms", "3 min 5 s": the panels' units
    if _is_missing(value):
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = terminal_text(" ".join(str(value).split()))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _is_missing(value: Any) -> bool:
    """pandas' NA/NaT or a float NaN (a frame's empty cell), without importing pandas."""
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _value(obj: Any, column: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(column)
    if column == "attempt" and isinstance(obj, TaskRun):
        return obj.extra.get(ATTEMPT_FIELD)
    return getattr(obj, column, None)


def _row(obj: Any, columns: Sequence[str]) -> list[str]:
    return [_cell(_value(obj, c)) for c in columns]


def render_table(rows: Sequence[Any], columns: Sequence[str], out: TextIO) -> None:
    """Print ``rows`` (models or dicts) as an aligned text table with upper-case headers."""
    if not rows:
        print("(none)", file=out)
        return
    cells = [_row(r, columns) for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip(), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip(), file=out)


def render_task(task: Task, out: TextIO) -> None:
    """Print one task as ``key: value`` lines (empty properties left out)."""
    values = {terminal_text(k): v for k, v in _plain(task).items()}  # extra keys: the server's
    width = max(len(k) for k in values)
    for key, value in values.items():
        if key == "schedule":
            value = str(task.schedule)
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        lines = terminal_text(value, multiline=True).split("\n")
        indent = "\n" + " " * (width + 2)  # multi-line SQL stays in the value column
        print(f"{key.ljust(width)}  {indent.join(lines)}", file=out)


def _emit(args: argparse.Namespace, out: TextIO, value: Any, show: Callable[[], None]) -> None:
    if args.json:
        json.dump(_plain(value), out, indent=2, sort_keys=False, ensure_ascii=False)
        out.write("\n")
    else:
        show()


# -- commands -----------------------------------------------------------------------------


WIDE_TASK_COLUMNS = ("database_name", "schema_name", *TASK_COLUMNS)


def _cmd_tasks(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.all or (args.database and not args.schema):
        return _wide_tasks(client, args, out)
    tasks = client.list_tasks(
        root_only=True if args.root_only else None, like=args.like, show_limit=args.limit
    )
    _emit(args, out, tasks, lambda: render_table(tasks, TASK_COLUMNS, out))
    return EXIT_OK


def _wide_tasks(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    """``--database X`` alone: every schema of X; ``--all``: every database the role sees."""
    from .frames import tasks_df  # lazy: pandas loads only here

    scope: dict[str, Any] = {"account": True} if args.all else {"database": args.database}
    frame = tasks_df(client, like=args.like, root_only=bool(args.root_only), progress=False,
                     **scope)
    if args.limit:
        frame = frame.head(args.limit)
    rows = [{k: v for k, v in row.items() if not _is_missing(v)}
            for row in frame.to_dict("records")]
    _emit(args, out, rows, lambda: render_table(rows, WIDE_TASK_COLUMNS, out))
    for where, problem in sorted(frame.attrs.get("errors", {}).items()):
        print(f"tasknb: {where}: {problem}", file=args.err)  # the others' rows are above
    return EXIT_ERROR if frame.attrs.get("errors") else EXIT_OK


def _cmd_show(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    task = client.fetch_task(args.name)
    _emit(args, out, task, lambda: render_task(task, out))
    return EXIT_OK


def _cmd_execute(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    retry_last = True if args.retry_last else None
    if args.wait:
        from .runs import execute_and_wait

        print(f"tasknb: following the graph run of {args.name} to its end (Ctrl-C stops "
              "following; the run goes on)", file=args.err, flush=True)
        run = execute_and_wait(client, args.name, retry_last=bool(args.retry_last),
                               timeout=args.timeout)
        _emit(args, out, run, lambda: _print_finished_run(run, out))
        return EXIT_ERROR if run.state in RETRYABLE_STATES else EXIT_OK  # failed or cancelled
    result = client.execute_task(args.name, retry_last=retry_last, async_exec=args.async_exec)
    if isinstance(result, AsyncResult):
        value = {"status": "accepted", "result_handle": result.handle}
        text = (f"accepted: not waiting for the server's answer (result handle {result.handle}); "
                f"`tasknb runs {args.name}` shows the run")
        if result.handle is None:
            value = {"status": result.result}
            text = result.result
    else:
        value = {"status": result}
        text = f"{result} (`--wait` follows the run to its end)"
    _emit(args, out, value, lambda: print(text, file=out))
    return EXIT_OK


def _print_finished_run(run: TaskRun, out: TextIO) -> None:
    attempt = run.extra.get(ATTEMPT_FIELD)
    took = format_duration(run.duration.total_seconds()) if run.duration is not None else "?"
    line = f"{run.root_task_name}: {run.state} in {took} (run {run.run_id}"
    line += f", attempt {attempt})" if attempt is not None else ")"
    print(line, file=out)
    if run.first_error_task_name:
        code_text = error_code_text(run.first_error_code) or "no code"
        message = " ".join(str(run.first_error_message).split())
        print(f"first error: {run.first_error_task_name} ({code_text}): {message}", file=out)
        print(f"every task's run: tasknb runs {run.root_task_name} --tasks --run {run.run_id}",
              file=out)


def _cmd_state(verb: str) -> Callable[[TaskClient, argparse.Namespace, TextIO], int]:
    def run(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
        status = getattr(client, f"{verb}_task")(args.name)
        _emit(args, out, {"status": status}, lambda: print(status, file=out))
        return EXIT_OK

    return run


def _cmd_runs(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.tasks:
        return _task_runs(client, args, out)
    if args.run_id is not None:
        raise ValueError("--run picks one graph run's task runs: use it with --tasks")
    runs: list[TaskRun] = []
    if not args.complete_only:
        runs += client.get_current_graphs(args.name, result_limit=args.limit)
    if not args.current_only:
        runs += client.get_complete_graphs(
            args.name, result_limit=args.limit, error_only=True if args.error_only else None
        )
    _emit(args, out, runs, lambda: render_table(runs, RUN_COLUMNS, out))
    if not runs and not args.json:
        hint = _child_hint(client, args.name)
        if hint:
            print(hint, file=out)
    return EXIT_OK


def _task_runs(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    from .frames import task_runs_df  # lazy: pandas loads only here

    frame = task_runs_df(client, args.name, run=args.run_id, error_only=bool(args.error_only))
    if args.limit:
        frame = frame.head(args.limit)
    rows = frame.to_dict("records")
    _emit(args, out, rows, lambda: render_table(rows, TASK_RUN_COLUMNS, out))
    return EXIT_OK


def _child_hint(client: TaskClient, name: str) -> str | None:
    """Only roots have graph runs: name the root of a child (or finalizer), if it is one."""
    task = client.fetch_task(name)
    if not task.predecessors and not task.finalize:
        return None
    root, seen = task, set()
    while root.predecessors and root.name not in seen:  # up the first predecessor to the root
        seen.add(root.name)
        root = client.fetch_task(root.predecessors[0])
    root_name = task.finalize or root.name
    return (f"{task.name} is not a root task: graph runs belong to the root of its graph. Try "
            f"`tasknb runs {root_name}`, or `tasknb runs {root_name} --tasks` for every "
            "task's runs (this one's included).")


def _cmd_sql(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    frame = client.sql(args.statement, warehouse=args.warehouse)
    rows = frame.to_dict("records")
    columns = [str(c) for c in frame.columns]
    _emit(args, out, rows, lambda: _render_frame(rows, columns, out))
    return EXIT_OK


def _render_frame(rows: list[dict[str, Any]], columns: list[str], out: TextIO) -> None:
    if not columns:
        print("(statement ran; no result set)", file=out)
        return
    render_table(rows, columns, out)
    if rows:
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def _cmd_dependents(client: TaskClient, args: argparse.Namespace, out: TextIO) -> int:
    tasks = client.fetch_task_dependents(args.name, recursive=False if args.direct else None)
    _emit(args, out, tasks, lambda: render_table(tasks, TASK_COLUMNS, out))
    return EXIT_OK


def _cmd_server(args: argparse.Namespace) -> int:
    """``tasknb server``: the local server in the foreground. A start that cannot succeed (a
    damaged state file, a port in use, a data dir in use) is one line on stderr and exit 1."""
    from .local import serve  # lazy: the server and its dependencies load only here
    from .local.errors import StartupError

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "data_dir": args.data_dir,
        "token": args.token,
        "token_file": args.token_file,
        "seed": args.seed,
    }
    if args.clock:
        options["clock"] = args.clock
    if args.token is not None:
        print(
            "tasknb server: WARNING: --token puts the token in the process list (ps) and your "
            "shell history; set TASKNB_SERVER_TOKEN or use --token-file instead.",
            file=sys.stderr,
        )
    try:
        serve(**{k: v for k, v in options.items() if v is not None})
    except (StartupError, RuntimeError, OSError) as exc:
        message = str(exc).replace("port=0 for a free one", "--port 0 for a free one")
        print(f"tasknb server: {terminal_text(' '.join(message.split()))}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _cmd_demo(argv: list[str]) -> int:
    from .demo import main as demo_main  # lazy: notebooks and JupyterLab load only here

    code = demo_main(argv)
    return EXIT_OK if code is None else int(code)


# -- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    conn = common.add_argument_group("connection")
    conn.add_argument("-c", "--connection", help="connection name from connections.toml")
    conn.add_argument("--database", help="database (default: the connection's)")
    conn.add_argument("--schema", help="schema (default: the connection's)")
    conn.add_argument(
        "--base-url",
        help="target a server directly, e.g. http://127.0.0.1:8765 (token from SNOWFLAKE_TOKEN)",
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")

    parser = argparse.ArgumentParser(
        prog="tasknb",
        description="See and steer Snowflake Tasks (REST API v2) from the command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "tasks", parents=[common], help="list the tasks of a schema, a database or the account",
        description="The tasks of the connection's schema; --database X alone: of every "
        "schema of X; --all: of every database the role can see.",
    )
    p.add_argument("--all", action="store_true",
                   help="every schema of every database (the whole account)")
    p.add_argument("--like", help="case-insensitive name pattern with %% and _")
    p.add_argument("--root-only", action="store_true", help="only root tasks")
    p.add_argument("--limit", type=int, help="at most this many (1-10000)")
    p.set_defaults(run=_cmd_tasks)

    p = sub.add_parser("show", parents=[common], help="show one task")
    p.add_argument("name", help="task name (DB.SCHEMA.NAME allowed; quote case-sensitive names)")
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser(
        "execute", parents=[common], help="run a task's graph once, now",
        description="Start one graph run. By default it returns once the server has accepted "
        "the run; --wait follows it to its end (exit 1 when it failed or was cancelled); "
        "--async does not wait for the server's answer either.",
    )
    p.add_argument("name")
    p.add_argument("--retry-last", action="store_true", help="retry the last failed run")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--wait", action="store_true",
                     help="follow the run to its end and print its state")
    how.add_argument("--async", dest="async_exec", action="store_true",
                     help="return at once, without waiting for the server's answer")
    p.add_argument("--timeout", type=float, default=WAIT_TIMEOUT_S,
                   help=f"with --wait: give up following after this many seconds "
                   f"(default {WAIT_TIMEOUT_S:g})")
    p.set_defaults(run=_cmd_execute)

    for verb in ("suspend", "resume"):
        p = sub.add_parser(verb, parents=[common], help=f"{verb} a task")
        p.add_argument("name")
        p.set_defaults(run=_cmd_state(verb))

    p = sub.add_parser("runs", parents=[common], help="graph runs of a root task")
    p.add_argument("name")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--current", dest="current_only", action="store_true", help="executing/scheduled only"
    )
    which.add_argument(
        "--complete", dest="complete_only", action="store_true", help="finished runs only"
    )
    p.add_argument("--error-only", action="store_true", help="finished runs that failed")
    p.add_argument("--limit", type=int, help="at most this many of each (1-10000)")
    p.add_argument("--tasks", action="store_true",
                   help="every task's runs of the graph (TASK_HISTORY through SQL), one per line")
    p.add_argument("--run", dest="run_id", type=int, metavar="RUN_ID",
                   help="with --tasks: one graph run only")
    p.set_defaults(run=_cmd_runs)

    p = sub.add_parser("sql", parents=[common], help="run one SQL statement (the SQL API)")
    p.add_argument("statement", help='for example "SELECT * FROM DEMO_DB.ANALYTICS.FUNNEL"')
    p.add_argument("--warehouse", help="warehouse (default: the connection's)")
    p.set_defaults(run=_cmd_sql)

    p = sub.add_parser("dependents", parents=[common], help="a task and the tasks after it")
    p.add_argument("name")
    p.add_argument("--direct", action="store_true", help="only direct children")
    p.set_defaults(run=_cmd_dependents)

    p = sub.add_parser("server", help="run the local Task server in the foreground")
    p.add_argument("--host", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--data-dir", help="keep state here (default: a temporary directory)")
    p.add_argument("--token", help="the token clients must send, 32+ characters (default: "
                   "generated; ps shows it: prefer TASKNB_SERVER_TOKEN or --token-file)")
    p.add_argument("--token-file", help="read the token from this file (chmod 600)")
    p.add_argument("--seed", choices=["demo"], help="load demo data")
    p.add_argument("--clock", choices=["real", "manual"], help="server clock (default real)")
    p.set_defaults(run=None)

    p = sub.add_parser(
        "demo", help="start the local server with demo data and open the notebooks", add_help=False
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed to tasknb.demo unchanged")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    client_options: dict[str, Any] | None = None,
) -> int:
    """Run the command line; return the exit code (``client_options`` go to ``connect``).

        >>> import io
        >>> err = io.StringIO()
        >>> main(["show", "NIGHTLY", "--base-url", "ftp://nowhere"], err=err)
        1
        >>> err.getvalue().startswith("tasknb: error: TasknbError: base_url must look like")
        True
    """
    out = out or sys.stdout
    err = err or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        return _guard(lambda: _cmd_demo(argv[1:]), err)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "server":
        return _guard(lambda: _cmd_server(args), err)

    args.err = err  # progress lines go there, the answer to out

    def run() -> int:
        overrides: dict[str, Any] = dict(client_options or {})
        database, schema = args.database, args.schema
        if args.base_url:
            overrides["base_url"] = args.base_url
        elif args.connection is None:
            overrides, database, schema = _local_server_from_env(overrides, database, schema)
        with connect(args.connection, database=database, schema=schema, **overrides) as client:
            # --json stays exact (JSON escapes control characters itself); text is made safe
            return args.run(client, args, out if args.json else TerminalWriter(out))

    return _guard(run, err)


def _local_server_from_env(
    overrides: dict[str, Any], database: str | None, schema: str | None
) -> tuple[dict[str, Any], str | None, str | None]:
    """``$TASKNB_URL``/``$TASKNB_TOKEN`` (``tasknb demo``'s env file): that local server, with
    the demo's database and schema as defaults, as ``tasknb.notebook.client()`` does."""
    from . import notebook

    url = os.environ.get(notebook.URL_ENV)
    if not url or os.environ.get(notebook.CONNECTION_ENV):
        return overrides, database, schema
    token = os.environ.get(notebook.TOKEN_ENV)
    if not token:
        raise TasknbError(f"${notebook.URL_ENV} is set but ${notebook.TOKEN_ENV} is empty: "
                          "source the env file `tasknb demo` printed, or unset "
                          f"{notebook.URL_ENV} to use your connections")
    overrides = {**overrides, "base_url": url, "token": token}
    if database or schema:  # a place given on the command line is taken as given
        return overrides, database, schema
    return overrides, notebook.DEMO_DATABASE, notebook.DEMO_SCHEMA


# the library speaks of keyword arguments; on the command line they are flags
_NO_SCOPE = re.compile(r"^no (database|schema) given: pass \1= to the call or the client")


def _in_flags(message: str) -> str:
    """A library message with the command line's words: ``database=`` is ``--database``.

        >>> _in_flags("no schema given: pass schema= to the call or the client (or a ...)")
        'no schema given: pass --schema, or a --connection that sets one (or a ...)'
    """
    return _NO_SCOPE.sub(lambda m: f"no {m[1]} given: pass --{m[1]}, or a --connection that "
                         "sets one", message)


def _guard(run: Callable[[], int], err: TextIO) -> int:
    try:
        return run()
    except TasknbError as exc:
        _fail(f"{type(exc).__name__}: {_in_flags(str(exc))}", err)
        return EXIT_ERROR
    except (ValueError, TypeError) as exc:
        _fail(str(exc), err)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        _fail(f"{exc.name} is not available ({exc})", err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tasknb: interrupted", file=err)
        return EXIT_INTERRUPTED


def _fail(message: str, err: TextIO) -> None:
    """One line on stderr; error messages quote names and table values, so made safe."""
    print(f"tasknb: error: {terminal_text(' '.join(message.split()))}", file=err)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
