"""Snowflake identifiers: folding, validation, qualified names and path encoding.

    >>> normalize("nightly"), normalize('"My Task"'), path_segment('"My Task"')
    ('NIGHTLY', '"My Task"', '%22My%20Task%22')

Unquoted identifiers (``[A-Za-z_][A-Za-z0-9_$]*``) fold to upper case. Quoted identifiers
keep their exact text, with ``""`` standing for one ``"``. Anything else is refused with
``InvalidIdentifier`` before a request is sent. Path segments are percent-encoded with
``quote(..., safe="")``; the ``:verb`` suffix of an action is added by the caller, unencoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .errors import InvalidIdentifier

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "display",
    "display_name",
    "is_valid",
    "name_key",
    "normalize",
    "path_segment",
    "quote_identifier",
    "same_name",
    "split_parts",
    "split_qualified",
]

MAX_IDENTIFIER_LENGTH = 255
_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_QUOTED = re.compile(r'"(?:[^"]|"")+"', re.DOTALL)
_UNQUOTED_UPPER = re.compile(r"[A-Z_][A-Z0-9_$]*")


def _refuse(name: object, kind: str, why: str) -> InvalidIdentifier:
    return InvalidIdentifier(f"invalid {kind} name {name!r}: {why}")


def normalize(name: str, *, kind: str = "task") -> str:
    """The canonical form of one identifier, as the server resolves it.

        >>> normalize("dag$child"), normalize('"ABC"'), normalize('"a""b"')
        ('DAG$CHILD', 'ABC', '"a""b"')

    Unquoted names fold to upper case; a quoted name that is a plain upper-case name
    (``"ABC"``) is the same object as ``ABC`` and is returned unquoted; other quoted names
    keep their quotes and exact text. ``kind`` only words the error message.
    """
    if not isinstance(name, str):
        raise _refuse(name, kind, f"expected a string, got {type(name).__name__}")
    if not name:
        raise _refuse(name, kind, "it is empty")
    if len(name) > MAX_IDENTIFIER_LENGTH + 2:
        raise _refuse(name, kind, f"longer than {MAX_IDENTIFIER_LENGTH} characters")
    if name.startswith('"'):
        if not _QUOTED.fullmatch(name):
            raise _refuse(
                name,
                kind,
                'a quoted name must end with " and write an inner " as "" (e.g. \'"say ""hi"""\')',
            )
        inner = name[1:-1].replace('""', '"')
        if len(inner) > MAX_IDENTIFIER_LENGTH:
            raise _refuse(name, kind, f"longer than {MAX_IDENTIFIER_LENGTH} characters")
        if _UNQUOTED_UPPER.fullmatch(inner):
            return inner
        return name
    if _UNQUOTED.fullmatch(name):
        if len(name) > MAX_IDENTIFIER_LENGTH:
            raise _refuse(name, kind, f"longer than {MAX_IDENTIFIER_LENGTH} characters")
        return name.upper()
    escaped = name.replace('"', '""')
    raise _refuse(
        name,
        kind,
        "an unquoted name may contain only letters, digits, _ and $ and must not start "
        f"with a digit; to use it exactly as written, quote it: '\"{escaped}\"'",
    )


def is_valid(name: str) -> bool:
    """Whether ``name`` is a valid single identifier.

    >>> is_valid("my-task"), is_valid('"my-task"')
    (False, True)
    """
    try:
        normalize(name)
    except InvalidIdentifier:
        return False
    return True


def quote_identifier(text: str) -> str:
    """The identifier that names exactly ``text`` (quoted only when needed).

    >>> quote_identifier("My Task"), quote_identifier("NIGHTLY")
    ('"My Task"', 'NIGHTLY')
    """
    if _UNQUOTED_UPPER.fullmatch(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def path_segment(name: str, *, kind: str = "task") -> str:
    """The percent-encoded URL path segment for an identifier (validated and folded).

    >>> path_segment("t$a"), path_segment('"a/b:c"')
    ('T%24A', '%22a%2Fb%3Ac%22')
    """
    return quote(normalize(name, kind=kind), safe="")


def split_parts(name: str) -> list[str]:
    """Split a dotted name at the dots outside double quotes, as written (no checks).

        >>> split_parts('DB."my.schema".t')
        ['DB', '"my.schema"', 't']

    For display and matching; :func:`split_qualified` also validates and folds.
    """
    return _split_dotted(name)[0]


def _last_part(name: str) -> str:
    return split_parts(name.strip())[-1].strip()


def _unquoted(part: str) -> str | None:
    if len(part) >= 2 and part.startswith('"') and part.endswith('"'):
        return part[1:-1].replace('""', '"')
    return None


def name_key(name: str) -> str:
    """The identity of an object name, for matching: its last part, unquoted, folded.

        >>> name_key("db.sch.load_orders"), name_key('"My Task"'), name_key('"LOAD"')
        ('LOAD_ORDERS', 'My Task', 'LOAD')

    Unquoted names fold to upper case (``my_task`` is ``MY_TASK``); quoted names are
    case-sensitive (``"my task"`` is not ``"MY TASK"``). Lenient: no validation, since
    names read back from a server are matched as they come.
    """
    part = _last_part(name)
    inner = _unquoted(part)
    return part.upper() if inner is None else inner


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two (possibly qualified) names name the same object, as Snowflake resolves them.

        >>> same_name("my_task", "MY_TASK"), same_name('"my task"', '"MY TASK"')
        (True, False)
    """
    if not a or not b:
        return False
    return name_key(a) == name_key(b)


def display_name(name: str) -> str:
    """The name as a reader expects it: unqualified and without identifier quotes.

        >>> display_name('DB.S."my ""x"" task"')
        'my "x" task'
    """
    part = _last_part(name)
    inner = _unquoted(part)
    return part if inner is None else inner


def _split_dotted(name: str) -> tuple[list[str], bool]:
    """The parts of ``name`` split at unquoted dots, and whether every quote was closed."""
    if '"' not in name:
        return name.split("."), True
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    i = 0
    while i < len(name):
        char = name[i]
        if char == '"':
            if in_quotes and i + 1 < len(name) and name[i + 1] == '"':
                current.append('""')
                i += 2
                continue
            in_quotes = not in_quotes
            current.append(char)
        elif char == "." and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts, not in_quotes


def split_qualified(name: str, *, kind: str = "task") -> list[str]:
    """Split ``DB.SCHEMA.NAME`` (any part may be quoted) into normalized parts.

        >>> split_qualified('db."My Schema".nightly')
        ['DB', '"My Schema"', 'NIGHTLY']

    Dots inside quotes belong to the name. At most three parts are allowed.
    """
    if not isinstance(name, str) or not name:
        raise _refuse(name, kind, "it is empty")
    parts, closed = _split_dotted(name)
    if not closed:
        raise _refuse(name, kind, "a quote is not closed")
    if len(parts) > 3:
        raise _refuse(
            name, kind, "expected NAME, SCHEMA.NAME or DATABASE.SCHEMA.NAME (quote dots in names)"
        )
    return [normalize(part, kind=kind) for part in parts]


def display(*parts: str | None) -> str:
    """A dotted name for messages, skipping empty parts.

    >>> display("DB", None, "T1")
    'DB.T1'
    """
    return ".".join(p for p in parts if p)
