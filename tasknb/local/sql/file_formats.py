"""File formats (CSV, JSON, PARQUET) and reading staged files into rows, as Snowflake does.

    >>> fmt = FileFormat.from_options({"TYPE": "CSV", "SKIP_HEADER": "1"})
    >>> [r.values for r in read_rows(b"id,name\\n1,Ada\\n2,\\n", fmt, "a.csv")]
    [['1', 'Ada'], ['2', None]]
    >>> [r.values for r in read_rows(b'[{"a": 1}, {"a": 2}]', FileFormat.from_options(
    ...     {"TYPE": "JSON", "STRIP_OUTER_ARRAY": "TRUE"}), "a.json")]
    [['{"a": 1}'], ['{"a": 2}']]

CSV fields are strings (an unenclosed empty field and a NULL_IF string are NULL, an enclosed
``""`` the empty string); a JSON file holds one or more documents (newline-delimited or
concatenated), each one row whose one column is the document; PARQUET rows are objects of
their columns. Files are decompressed first (COMPRESSION = AUTO detects gzip by its magic
bytes, as Snowflake does, and bz2). A record that cannot be read becomes a
:class:`Row` with an ``error``, so that ON_ERROR decides what happens to it.

Not interpreted (refused by name when set): backslash escapes in unenclosed fields
(ESCAPE / ESCAPE_UNENCLOSED_FIELD other than NONE), record delimiters other than newlines,
DATE/TIME/TIMESTAMP formats other than AUTO, encodings other than UTF-8.
"""

from __future__ import annotations

import bz2
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tasknb.local.sql.errors import CODE_SYNTAX, TaskSqlError, UnsupportedSqlError

#: Snowflake's CSV default NULL_IF (the two characters backslash and N).
DEFAULT_NULL_IF = ("\\N",)
TYPES = ("CSV", "JSON", "PARQUET")
_COMPRESSIONS = ("AUTO", "NONE", "GZIP", "BZ2", "DEFLATE", "RAW_DEFLATE")
_DEFAULTS_ONLY = {  # options accepted only with the value that changes nothing locally
    "DATE_FORMAT": "AUTO", "TIME_FORMAT": "AUTO", "TIMESTAMP_FORMAT": "AUTO",
    "ENCODING": "UTF8", "ESCAPE": "NONE", "ESCAPE_UNENCLOSED_FIELD": "NONE",
    "BINARY_FORMAT": "HEX",
}
_ACCEPTED = {"TYPE", "FIELD_DELIMITER", "SKIP_HEADER", "FIELD_OPTIONALLY_ENCLOSED_BY", "NULL_IF",
             "EMPTY_FIELD_AS_NULL", "TRIM_SPACE", "ERROR_ON_COLUMN_COUNT_MISMATCH", "COMPRESSION",
             "STRIP_OUTER_ARRAY", "STRIP_NULL_VALUES", "RECORD_DELIMITER", "SKIP_BLANK_LINES",
             "COMMENT", "FORMAT_NAME", "PARSE_HEADER", "ALLOW_DUPLICATE", "FILE_EXTENSION",
             "REPLACE_INVALID_CHARACTERS", "MULTI_LINE", *_DEFAULTS_ONLY}


def _flag(value: Any, name: str) -> bool:
    text = str(value).upper()
    if text not in ("TRUE", "FALSE"):
        raise TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\ninvalid value '{value}' for "
                           f"file format option {name}; use TRUE or FALSE.", "42000")
    return text == "TRUE"


@dataclass
class FileFormat:
    """One file format (the options Snowflake documents for CREATE FILE FORMAT)."""

    type: str = "CSV"
    field_delimiter: str | None = ","
    skip_header: int = 0
    enclosed_by: str | None = None
    null_if: tuple[str, ...] = DEFAULT_NULL_IF
    empty_field_as_null: bool = True
    trim_space: bool = False
    error_on_column_count_mismatch: bool = True
    compression: str = "AUTO"
    strip_outer_array: bool = False
    strip_null_values: bool = False
    skip_blank_lines: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # as written (SHOW FILE FORMATS)

    @classmethod
    def from_options(cls, options: dict[str, Any],
                     base: FileFormat | None = None) -> FileFormat:
        """A format from ``TYPE = ... FIELD_DELIMITER = ...`` options (over ``base``'s)."""
        written = dict(base.options if base is not None else {})
        if "TYPE" in options and base is not None and options["TYPE"] != base.type:
            written = {}
        written.update(options)
        fmt = cls(options=written)
        unknown = sorted(set(written) - _ACCEPTED)
        if unknown:
            raise UnsupportedSqlError(f"the file format option {unknown[0]} is not supported "
                                      "locally.")
        for name, default in _DEFAULTS_ONLY.items():
            value = str(written.get(name, default)).upper().replace("-", "")
            if value != default:
                raise UnsupportedSqlError(f"the file format option {name} = '{written[name]}' "
                                          f"is not supported locally (only {default}).")
        fmt.type = str(written.get("TYPE", "CSV")).upper()
        if fmt.type not in TYPES:
            raise UnsupportedSqlError(f"{fmt.type} files are not supported locally (CSV, JSON "
                                      "and PARQUET are).")
        delimiter = written.get("FIELD_DELIMITER", ",")
        fmt.field_delimiter = None if str(delimiter).upper() == "NONE" else str(delimiter)
        if fmt.field_delimiter is not None and len(fmt.field_delimiter) != 1:
            raise UnsupportedSqlError("FIELD_DELIMITER of more than one character is not "
                                      "supported locally.")
        record = str(written.get("RECORD_DELIMITER", "\n"))
        if record not in ("\n", "\r\n", "\\n") and record.upper() != "NONE":
            raise UnsupportedSqlError("RECORD_DELIMITER other than a newline is not supported "
                                      "locally.")
        try:
            fmt.skip_header = int(str(written.get("SKIP_HEADER", "0")))
        except ValueError as error:
            raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nSKIP_HEADER must be a "
                               "whole number.", "42000") from error
        enclosed = written.get("FIELD_OPTIONALLY_ENCLOSED_BY")
        fmt.enclosed_by = None if enclosed is None or str(enclosed).upper() == "NONE" else \
            str(enclosed)
        if fmt.enclosed_by is not None and fmt.enclosed_by not in ("'", '"'):
            raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nFIELD_OPTIONALLY_ENCLOSED_BY"
                               " must be NONE, a single quote or a double quote.", "42000")
        null_if = written.get("NULL_IF", list(DEFAULT_NULL_IF) if fmt.type == "CSV" else [])
        fmt.null_if = tuple(null_if if isinstance(null_if, list) else [str(null_if)])
        fmt.empty_field_as_null = _flag(written.get("EMPTY_FIELD_AS_NULL", "TRUE"),
                                        "EMPTY_FIELD_AS_NULL")
        fmt.trim_space = _flag(written.get("TRIM_SPACE", "FALSE"), "TRIM_SPACE")
        fmt.error_on_column_count_mismatch = _flag(
            written.get("ERROR_ON_COLUMN_COUNT_MISMATCH", "TRUE"), "ERROR_ON_COLUMN_COUNT_MISMATCH")
        fmt.strip_outer_array = _flag(written.get("STRIP_OUTER_ARRAY", "FALSE"),
                                      "STRIP_OUTER_ARRAY")
        fmt.strip_null_values = _flag(written.get("STRIP_NULL_VALUES", "FALSE"),
                                      "STRIP_NULL_VALUES")
        fmt.skip_blank_lines = _flag(written.get("SKIP_BLANK_LINES", "FALSE"), "SKIP_BLANK_LINES")
        fmt.compression = str(written.get("COMPRESSION", "AUTO")).upper()
        if fmt.compression not in _COMPRESSIONS:
            raise UnsupportedSqlError(f"COMPRESSION = {fmt.compression} is not supported "
                                      f"locally ({', '.join(_COMPRESSIONS)} are).")
        if _flag(written.get("PARSE_HEADER", "FALSE"), "PARSE_HEADER"):
            raise UnsupportedSqlError("PARSE_HEADER = TRUE (MATCH_BY_COLUMN_NAME) is not "
                                      "supported locally; use SKIP_HEADER.")
        return fmt


@dataclass
class Row:
    """One record of a file: its line (1-based, for errors) and values, or why it is bad."""

    line: int
    values: list[Any]
    error: str | None = None


def detect_compression(data: bytes) -> str:
    """GZIP, BZ2, PARQUET (compressed inside) or NONE, from the file's first bytes (what
    COMPRESSION = AUTO and PUT's detection do).

        >>> detect_compression(gzip.compress(b"x")), detect_compression(b"a,b")
        ('GZIP', 'NONE')
    """
    if data[:4] == b"PAR1":
        return "PARQUET"
    if data[:2] == b"\x1f\x8b":
        return "GZIP"
    if data[:3] == b"BZh":
        return "BZ2"
    return "NONE"


def decompress(data: bytes, compression: str, file: str) -> bytes:
    """The file's bytes uncompressed; 100000-class error naming the file when they are not."""
    kind = detect_compression(data) if compression == "AUTO" else compression
    try:
        if kind == "GZIP":
            return gzip.decompress(data)
        if kind == "BZ2":
            return bz2.decompress(data)
        if kind == "DEFLATE":
            return zlib.decompress(data)
        if kind == "RAW_DEFLATE":
            return zlib.decompress(data, -15)
    except (OSError, EOFError, ValueError, zlib.error) as error:
        raise TaskSqlError(100000, f"File '{file}' is not valid {kind} data ({error}); check "
                           "the file format's COMPRESSION.", "22000") from error
    return data


def read_rows(data: bytes, fmt: FileFormat, file: str) -> Iterator[Row]:
    """The records of a staged file (already read from disk), decompressed and parsed."""
    raw = decompress(data, fmt.compression, file)
    if fmt.type == "PARQUET":
        yield from _parquet_rows(raw)
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        yield Row(1, [], f"Invalid UTF8 detected in string '{error.object[error.start:error.start + 8]!r}'"
                  f" in file '{file}'")
        return
    text = text.removeprefix("\ufeff")
    if fmt.type == "JSON":
        yield from _json_rows(text, fmt)
    else:
        yield from _csv_rows(text, fmt)


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _json_rows(text: str, fmt: FileFormat) -> Iterator[Row]:
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            return
        line = text.count("\n", 0, position) + 1
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            yield Row(line, [], f"Error parsing JSON: {error.msg}, line {error.lineno}, "
                      f"column {error.colno}")
            return  # the rest of the file cannot be told apart
        documents = document if fmt.strip_outer_array and isinstance(document, list) else \
            [document]
        for each in documents:
            if fmt.strip_null_values:
                each = _strip_nulls(each)
            yield Row(line, [json.dumps(each)])


def _split_enclosed(record: str, delimiter: str | None, quote: str) -> list[tuple[str, bool]]:
    """A record's fields as (text, was enclosed); a doubled quote inside is one quote."""
    fields: list[tuple[str, bool]] = []
    index, size = 0, len(record)
    while True:
        if index < size and record[index] == quote:
            index += 1
            value: list[str] = []
            while True:
                end = record.find(quote, index)
                if end < 0:
                    raise ValueError("Found an enclosing quote without its closing one")
                value.append(record[index:end])
                if record[end + 1: end + 2] == quote:
                    value.append(quote)
                    index = end + 2
                    continue
                index = end + 1
                break
            fields.append(("".join(value), True))
            if index >= size:
                return fields
            if delimiter is None or record[index] != delimiter:
                raise ValueError(f"Found character '{record[index]}' instead of field delimiter "
                                 f"'{delimiter}'")
            index += 1
            if index == size:
                fields.append(("", False))
                return fields
            continue
        end = record.find(delimiter, index) if delimiter is not None else -1
        if end < 0:
            fields.append((record[index:], False))
            return fields
        fields.append((record[index:end], False))
        index = end + 1


def _records(text: str, quote: str | None) -> Iterator[tuple[int, str]]:
    """(first line, text) of each record: lines, joined while an enclosed field spans them."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        start = index
        record = lines[index].rstrip("\r")
        index += 1
        if quote is not None and quote in record:
            while record.count(quote) % 2 and index < len(lines):
                record += "\n" + lines[index].rstrip("\r")
                index += 1
        yield start + 1, record


def _csv_rows(text: str, fmt: FileFormat) -> Iterator[Row]:
    skipped = 0
    for line, record in _records(text, fmt.enclosed_by):
        if skipped < fmt.skip_header:
            skipped += 1
            continue
        if not record and fmt.skip_blank_lines:
            continue
        try:
            if fmt.enclosed_by is not None and fmt.enclosed_by in record:
                parts = _split_enclosed(record, fmt.field_delimiter, fmt.enclosed_by)
            elif fmt.field_delimiter is None:
                parts = [(record, False)]
            else:
                parts = [(part, False) for part in record.split(fmt.field_delimiter)]
        except ValueError as error:
            yield Row(line, [], str(error))
            continue
        values: list[str | None] = []
        for value, enclosed in parts:
            if fmt.trim_space and not enclosed:
                value = value.strip()
            if not enclosed and value in fmt.null_if or not enclosed and value == "" and fmt.empty_field_as_null:
                values.append(None)
            else:
                values.append(value)
        yield Row(line, values)


def _parquet_rows(raw: bytes) -> Iterator[Row]:
    """PARQUET rows as JSON objects, read by a private in-memory DuckDB (the bytes are copied
    to a temporary file: DuckDB reads Parquet from files)."""
    import os
    import tempfile

    import duckdb

    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as handle:
        handle.write(raw)
        name = handle.name
    try:
        con = duckdb.connect(":memory:")
        try:
            rows = con.execute("SELECT CAST(to_json(p) AS VARCHAR) FROM read_parquet(?) p",
                               [name]).fetchall()
        except duckdb.Error as error:
            yield Row(1, [], f"Invalid Parquet file: {str(error).splitlines()[0]}")
            return
        finally:
            con.close()
    finally:
        os.unlink(name)
    for number, (document,) in enumerate(rows, start=1):
        yield Row(number, [document])
