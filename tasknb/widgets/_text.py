"""One-line texts for panels: short names, collapsed messages, any error as one line.

    >>> error_line(KeyError("T1"), doing="fetch T1")
    "fetch T1 failed: KeyError: 'T1'"
"""

from __future__ import annotations

from tasknb import runs
from tasknb.errors import TasknbError
from tasknb.identifiers import split_parts


def short_name(name: str | None) -> str:
    """The last part of a possibly qualified task name (``DB.SC.T`` -> ``T``).

        >>> short_name('DB.SC."my.task"'), short_name("T1")
        ('"my.task"', 'T1')
    """
    return split_parts(name)[-1] if name else ""


def one_line(text: str | None, limit: int | None = None) -> str:
    """Collapse a (multi-line) message into one line; cut at ``limit`` characters only when
    asked (panels wrap long lines instead: a message is never cut off).

        >>> one_line("SQL compilation error:\\nObject 'T' does not exist.")
        "SQL compilation error: Object 'T' does not exist."
        >>> one_line("abcdef", limit=4)
        'abc…'
    """
    flat = " ".join((text or "").split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def sentence(text: str) -> str:
    """End ``text`` with one full stop (never "..", nor ".").

        >>> sentence("Run 7 failed: Object 'X' does not exist."), sentence("Run 7 succeeded")
        ("Run 7 failed: Object 'X' does not exist.", 'Run 7 succeeded.')
    """
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def error_code_text(code: object) -> str:
    """An error code as Snowflake writes it (``2003`` -> ``'002003'``), blank when there is none.

        >>> error_code_text(2003), error_code_text(None)
        ('002003', '')
    """
    return runs.error_code_text(code) or ""


def error_line(error: BaseException, *, doing: str = "") -> str:
    """One readable line for any exception, with the request id when the API gave one.

        >>> error_line(ValueError("bad\\nsecond line"), doing="resume T1")
        'resume T1 failed: ValueError: bad second line'
    """
    prefix = f"{doing} failed: " if doing else ""
    text = one_line(str(error))
    if isinstance(error, TasknbError):
        request_id = getattr(error, "request_id", None)
        line = text or type(error).__name__
        if request_id and str(request_id) not in line:
            line = f"{line} (request id {request_id})"
        return prefix + line
    return f"{prefix}{type(error).__name__}: {text}" if text else f"{prefix}{type(error).__name__}"
