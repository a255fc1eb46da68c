"""Snowflake names and text as the local server takes them: folding, rendering, qualifying, and
refusing text that is not valid Unicode.

    >>> fold_identifier("my_task"), fold_identifier('"My Task"'), render_identifier("My Task")
    ('MY_TASK', 'My Task', '"My Task"')

Unquoted names fold to uppercase, quoted ones keep their exact text; a stored name is rendered
so that sending it back addresses the same object. Text must be valid Unicode: a lone surrogate
(JSON's ``"\\ud800"``) cannot be written as UTF-8, so a listing holding one could not be read
back; a name or filter holding U+FFFD is what a path or query with bytes that are not UTF-8
decodes to. Both are refused with a 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from tasknb.local.errors import bad_request, rule_error
from tasknb.local.limits import MAX_IDENTIFIER_LENGTH

_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PLAIN_UPPER = re.compile(r"[A-Z_][A-Z0-9_$]*")
REPLACEMENT_CHARACTER = "\ufffd"
_HOW_TO_SEND = ("Send text as UTF-8; in JSON a \\uD800-\\uDBFF escape must be followed by a "
                "\\uDC00-\\uDFFF one.")


def unicode_problem(text: str) -> str | None:
    """What makes ``text`` invalid Unicode (a lone surrogate), or None.

        >>> unicode_problem("caf\\u00e9 \\U0001F600"), unicode_problem("a\\ud800")
        (None, 'a lone surrogate U+D800 at character 2')
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start + 1}"
    return None


def check_text(value: Any, where: str = "") -> None:
    """Refuse a lone surrogate anywhere in a decoded JSON value (keys too), naming the field.

        >>> check_text({"comment": "ok", "config": {"k": ["fine"]}})
        >>> try:
        ...     check_text({"config": {"k": ["ok", "\\udc00"]}})
        ... except Exception as exc:
        ...     print(exc.status, exc.message.split(":")[0])
        400 Field config.k[1] holds invalid Unicode
    """
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = unicode_problem(item)
            if problem:
                raise bad_request(f"Field {path} holds invalid Unicode: {problem}. {_HOW_TO_SEND}")
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = unicode_problem(key) if isinstance(key, str) else None
                if problem:
                    raise bad_request(f"A key in {'field ' + path if path else 'the body'} holds "
                                      f"invalid Unicode: {problem}. {_HOW_TO_SEND}")
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))


def check_request_text(text: str, what: str) -> None:
    """Refuse a name or filter (from a path, a query or a body) that is not valid Unicode.

        >>> check_request_text("caf\\u00e9", "like")
        >>> try:
        ...     check_request_text("T\\ufffd", "like")
        ... except Exception as exc:
        ...     print(exc.status, exc.message.split(",")[0])
        400 The like value 'T�' holds U+FFFD
    """
    problem = unicode_problem(text)
    if problem:
        raise bad_request(f"The {what} value holds invalid Unicode: {problem}. {_HOW_TO_SEND}")
    if REPLACEMENT_CHARACTER in text:
        raise bad_request(f"The {what} value {_shown(text)} holds U+FFFD, which stands for bytes "
                          "that are not valid UTF-8 (invalid Unicode). Percent-encode names and "
                          "values as UTF-8.")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def fold_identifier(text: Any, what: str = "name") -> str:
    """Return the stored form of an identifier: unquoted -> uppercase, quoted -> exact text.

        >>> fold_identifier('"a""b"')
        'a"b'

    Raises a 400 :class:`~tasknb.local.errors.ApiError` for anything that is not an identifier.
    """
    if not isinstance(text, str):
        raise bad_request(f"Invalid SQL Identifier found in the request: {what} must be a "
                          f"string, got {type(text).__name__}.")
    check_request_text(text, what)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        inner = text[1:-1]
        if inner and '"' not in inner.replace('""', ""):
            name = inner.replace('""', '"')
            if len(name) <= MAX_IDENTIFIER_LENGTH:
                return name
    elif _UNQUOTED.fullmatch(text) and len(text) <= MAX_IDENTIFIER_LENGTH:
        return text.upper()
    raise bad_request(
        f"Invalid SQL Identifier found in the request: {_shown(text)} (in {what}). Use letters, "
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
