"""Snowflake's ``jsonv2`` result format: a ``rowType`` per column and every cell as a string.

    >>> from datetime import date, datetime, timezone
    >>> columns = [("n", "DECIMAL(10,2)"), ("d", "DATE"), ("ts", "TIMESTAMP WITH TIME ZONE")]
    >>> [(t["name"], t["type"], t["scale"]) for t in row_types(columns)]
    [('N', 'fixed', 2), ('D', 'date', 0), ('TS', 'timestamp_ltz', 9)]
    >>> encode_rows(columns, [(1.5, date(1970, 1, 2), datetime(1970, 1, 1, 0, 0, 1, 500000,
    ...                                                           tzinfo=timezone.utc))])
    [('1.5', '1', '1.500000000')]

Encodings, as Snowflake's SQL API sends them: FIXED and REAL as decimal text, BOOLEAN as
``true``/``false``, DATE as days since 1970-01-01, TIME as seconds since midnight,
TIMESTAMP_NTZ and TIMESTAMP_LTZ as seconds since the epoch with nine fraction digits,
TIMESTAMP_TZ as those seconds, a space and the offset in minutes plus 1440, VARIANT, OBJECT
and ARRAY as JSON text, BINARY as hex. NULL stays ``None`` (or the string ``"null"`` when the
request asked for ``nullable=false``).

DuckDB cannot tell Snowflake's TIMESTAMP_LTZ from TIMESTAMP_TZ (both are TIMESTAMPTZ there):
such columns are typed ``timestamp_ltz``, the type of CURRENT_TIMESTAMP and of the time
columns of TASK_HISTORY, unless the query casts them to TIMESTAMP_TZ (:data:`DECLARED_TZ`,
set by the SQL API; the offset is then the UTC one, DuckDB keeps no other). Column names that read as unquoted identifiers are upper-cased, as
Snowflake folds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

TEXT_LENGTH = 16_777_216  # Snowflake's VARCHAR length (16 MiB)
FIXED_PRECISION = 38
TIME_SCALE = 9  # fraction digits of TIME and TIMESTAMP values
TZ_OFFSET_BIAS = 1440  # Snowflake adds this to a TIMESTAMP_TZ offset in minutes
NULL_TEXT = "null"  # what NULL becomes with nullable=false
DECLARED_TZ = "TIMESTAMP_TZ"  # a TIMESTAMPTZ column the statement casts to TIMESTAMP_TZ

_EPOCH_DATE = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1)
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}
_REALS = {"FLOAT", "DOUBLE", "REAL"}
_NTZ = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATETIME"}
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def snowflake_type(duck_type: str) -> tuple[str, int, int, int]:
    """Snowflake's (type, precision, scale, length) for a DuckDB type.

        >>> snowflake_type("BIGINT"), snowflake_type("VARCHAR")[0], snowflake_type("INTEGER[]")[0]
        (('fixed', 38, 0, 0), 'text', 'array')
    """
    text = duck_type.upper().strip()
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        return "fixed", int(decimal.group(1)), int(decimal.group(2)), 0
    if text in _INTEGERS:
        return "fixed", FIXED_PRECISION, 0, 0
    if text in _REALS:
        return "real", 0, 0, 0
    if text == "BOOLEAN":
        return "boolean", 0, 0, 0
    if text == "DATE":
        return "date", 0, 0, 0
    if text in ("TIME", "TIME WITH TIME ZONE"):
        return "time", 0, TIME_SCALE, 0
    if text in _NTZ:
        return "timestamp_ntz", 0, TIME_SCALE, 0
    if text == "TIMESTAMP WITH TIME ZONE":
        return "timestamp_ltz", 0, TIME_SCALE, 0
    if text == DECLARED_TZ:
        return "timestamp_tz", 0, TIME_SCALE, 0
    if text == "JSON":
        return "variant", 0, 0, 0
    if text.endswith("]"):
        return "array", 0, 0, 0
    if text.startswith(("STRUCT", "MAP")):
        return "object", 0, 0, 0
    if text == "BLOB":
        return "binary", 0, 0, 8_388_608
    return "text", 0, 0, TEXT_LENGTH


def column_name(name: str) -> str:
    """A result column's name as Snowflake shows it (unquoted-style names upper-cased).

        >>> column_name("total_amount"), column_name("Mixed Case")
        ('TOTAL_AMOUNT', 'Mixed Case')
    """
    return name.upper() if _PLAIN_NAME.fullmatch(name) else name


def row_types(columns: Sequence[tuple[str, str]], *,
              keep_names: bool = False) -> list[dict[str, Any]]:
    """The ``resultSetMetaData.rowType`` of ``(name, DuckDB type)`` columns (``keep_names``:
    named as given, as Snowflake names the lower-case columns of PUT, LIST, COPY, SHOW and
    DESCRIBE)."""
    out = []
    for name, duck_type in columns:
        kind, precision, scale, length = snowflake_type(duck_type)
        out.append({"name": name if keep_names else column_name(name), "database": "", "schema": "", "table": "",
                    "type": kind, "precision": precision, "scale": scale, "length": length,
                    "nullable": True})
    return out


def _epoch_text(nanos: int) -> str:
    sign = "-" if nanos < 0 else ""
    seconds, fraction = divmod(abs(nanos), 1_000_000_000)
    return f"{sign}{seconds}.{fraction:09d}"


def _nanos(value: datetime) -> int:
    naive = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    delta = naive - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _fixed(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(int(value))


def _real(value: Any) -> str:
    return repr(float(value))


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return str((value - _EPOCH_DATE).days)


def _time(value: time) -> str:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return f"{seconds}.{value.microsecond * 1000:09d}"


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        delta = value - _EPOCH
        if delta.days >= 0:  # the common case, without a detour through nanoseconds
            return f"{delta.days * 86_400 + delta.seconds}.{delta.microseconds:06d}000"
    return _epoch_text(_nanos(value))


def _timestamp_tz(value: datetime) -> str:
    offset = value.utcoffset() if value.tzinfo else None
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return f"{_epoch_text(_nanos(value))} {minutes + TZ_OFFSET_BIAS}"


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value  # DuckDB JSON values arrive as their text
    return json.dumps(value, default=str, ensure_ascii=False)


def _binary(value: Any) -> str:
    return bytes(value).hex().upper()


_ENCODERS: dict[str, Callable[[Any], str]] = {
    "fixed": _fixed, "real": _real, "boolean": _boolean, "date": _date, "time": _time,
    "timestamp_ntz": _timestamp, "timestamp_ltz": _timestamp, "timestamp_tz": _timestamp_tz,
    "variant": _json, "object": _json, "array": _json, "binary": _binary, "text": str,
}


def _encoder(duck_type: str) -> Callable[[Any], str]:
    kind = snowflake_type(duck_type)[0]
    if kind == "fixed" and duck_type.upper().strip() in _INTEGERS:
        return str  # DuckDB hands integers over as int
    return _ENCODERS[kind]


def encode_rows(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], *,
                nullable: bool = True) -> list[tuple[str | None, ...]]:
    """The ``data`` of a result: every cell as Snowflake's string (NULL as None or "null")."""
    if not rows:
        return []
    null = None if nullable else NULL_TEXT
    encoded = []
    for (_, duck_type), values in zip(columns, zip(*rows), strict=True):
        encode = _encoder(duck_type)
        if None in values:
            encoded.append([null if v is None else encode(v) for v in values])
        else:
            encoded.append(list(map(encode, values)))
    return list(zip(*encoded))  # rows as tuples: JSON arrays all the same
