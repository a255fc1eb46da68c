"""Read the stage commands: CREATE / DROP / SHOW STAGE(S) and FILE FORMAT(S), PUT, GET, LIST,
REMOVE and COPY INTO <table>, into plain records for :mod:`tasknb.local.sql.stages`.

    >>> parse("LIST @raw.landing/2024 PATTERN = '.*[.]csv'")
    ListFiles(stage=StageRef(kind='named', name=['RAW', 'LANDING'], path='2024'), pattern='.*[.]csv')
    >>> parse("CREATE STAGE s FILE_FORMAT = (TYPE = JSON STRIP_OUTER_ARRAY = TRUE)").options
    {'FILE_FORMAT': {'TYPE': 'JSON', 'STRIP_OUTER_ARRAY': 'TRUE'}}
    >>> parse("PUT file:///tmp/a.csv @~/in AUTO_COMPRESS = FALSE").options
    {'AUTO_COMPRESS': 'FALSE'}

Options are ``KEY = value`` pairs (Snowflake writes them with or without commas); a value is
a word (upper-cased), a string (its escapes decoded), a list ``('a', 'b')`` or nested options
``(TYPE = CSV ...)``. Stage references are ``@[db.][schema.]name[/path]``, ``@~[/path]``
(the user stage) and ``@%table[/path]`` (a table stage), bare or in single quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasknb.local.sql.errors import CODE_SYNTAX, TaskSqlError, UnsupportedSqlError
from tasknb.local.sql.names import fold

#: The marker the translation gives a stage command (run by tasknb.local.sql.stages).
COMMAND = "STAGE"

OptionValue = str | list[str] | dict[str, "OptionValue"]
Options = dict[str, OptionValue]

_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART}){{0,2}}"
_STAGE = re.compile(rf"@(?P<target>~|%{_NAME}|{_NAME})(?P<path>/[^\s;),']*)?")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|''|\\.)*')|(?P<open>\()|(?P<close>\))|(?P<arrow>=>)|(?P<eq>=)"
    r"|(?P<comma>,)|(?P<word>[^\s=(),']+))", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}
_IS_COMMAND = re.compile(
    r"\s*(?:(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMPORARY|TEMP)\s+)?(?:STAGE|FILE\s+FORMAT)\b)"
    r"|(?:DROP\s+(?:STAGE|FILE\s+FORMAT)\b)|(?:SHOW\s+(?:TERSE\s+)?(?:STAGES|FILE\s+FORMATS)\b)"
    r"|(?:(?:PUT|GET|LIST|LS|REMOVE|RM)\s)|(?:COPY\s+INTO\b))", re.IGNORECASE)


_STRINGS = re.compile(r"'(?:[^'\\]|''|\\.)*'|\$\$.*?\$\$", re.DOTALL)
_READS_STAGE = re.compile(r"\b(?:FROM|JOIN)\s+(?:'@|@)", re.IGNORECASE)
_QUERY_WORDS = re.compile(r"\s*(?:\(|SELECT\b|WITH\b|INSERT\b|CREATE\b|MERGE\b)", re.IGNORECASE)


def _reads_stage(text: str) -> bool:
    """Whether a query or DML statement reads staged files (``FROM @stage``, not in a string)."""
    return bool(_QUERY_WORDS.match(text)) and "@" in text and bool(
        _READS_STAGE.search(_STRINGS.sub("''", text)))


def is_command(text: str) -> bool:
    """Whether a statement is one of the stage commands this module reads, or a statement
    that queries staged files.

        >>> is_command("copy into t from @s"), is_command("SELECT 1"), is_command("select $1 from @s")
        (True, False, True)
    """
    return _IS_COMMAND.match(text) is not None or _reads_stage(text)


_PUT_SOURCE = re.compile(r"(?P<head>\s*PUT\s+)(?P<uri>file://[^\s;']+)", re.IGNORECASE)


def quote_put_source(sql: str) -> str:
    """A leading ``PUT file://...`` with its URI quoted, so that ``/*.csv`` in it is not read
    as the start of a comment (the Snowflake client reads PUT itself, before any SQL parser).

        >>> quote_put_source("PUT file:///data/*.csv @s")
        "PUT 'file:///data/*.csv' @s"
    """
    match = _PUT_SOURCE.match(sql)
    if match is None:
        return sql
    return f"{match['head']}'{match['uri']}'{sql[match.end():]}"


def syntax_error(text: str, what: str = "a stage command") -> TaskSqlError:
    return TaskSqlError(CODE_SYNTAX, f"SQL compilation error:\nsyntax error: cannot read "
                                     f"{text.strip()[:80]!r} as {what}.", "42000")


def unquote(literal: str) -> str:
    """The text of a Snowflake string literal (``''`` and backslash escapes decoded).

        >>> unquote("'it''s'"), unquote(r"'\\\\N'"), unquote(r"'\\t'")
        ("it's", '\\\\N', '\\t')
    """
    body = literal[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            out.append(_ESCAPES.get(following, following))
            index += 2
            continue
        if char == "'" and body[index + 1 : index + 2] == "'":
            index += 1
        out.append(char)
        index += 1
    return "".join(out)


@dataclass
class StageRef:
    """``@name/path``: kind ``named`` (name: folded parts), ``user`` (``@~``) or ``table``
    (``@%t``, name: the table's parts); ``path`` without leading or trailing slashes."""

    kind: str
    name: list[str]
    path: str

    @property
    def text(self) -> str:
        head = {"user": "~", "table": "%" + ".".join(self.name)}.get(self.kind,
                                                                     ".".join(self.name))
        return "@" + head + (f"/{self.path}" if self.path else "")


def _parts(name: str) -> list[str]:
    return [fold(p) for p in re.findall(_PART, name)]


def stage_ref(text: str) -> StageRef:
    """A stage reference (``'@s/p'`` quoted or bare); 001003 when it is not one."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = unquote(text)
    match = _STAGE.fullmatch(text)
    if match is None:
        raise syntax_error(text, "a stage reference (@stage/path)")
    target = match["target"]
    path = (match["path"] or "").strip("/")
    if target == "~":
        return StageRef("user", [], path)
    if target.startswith("%"):
        return StageRef("table", _parts(target[1:]), path)
    return StageRef("named", _parts(target), path)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise syntax_error(text)
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


def parse_options(text: str) -> Options:
    """``KEY = value ...`` pairs (see the module's docstring).

        >>> parse_options("TYPE = 'csv' NULL_IF = ('\\\\\\\\N', '') SKIP_HEADER=1")
        {'TYPE': 'CSV', 'NULL_IF': ['\\\\N', ''], 'SKIP_HEADER': '1'}
    """
    tokens = _tokens(text)
    options, end = _options(tokens, 0, text)
    if end != len(tokens):
        raise syntax_error(text)
    return options


def _options(tokens: list[tuple[str, str]], index: int, text: str) -> tuple[Options, int]:
    options: Options = {}
    while index < len(tokens) and tokens[index][0] != "close":
        if tokens[index][0] == "comma":
            index += 1
            continue
        kind, key = tokens[index]
        if kind != "word" or index + 2 > len(tokens) or tokens[index + 1][0] not in ("eq",
                                                                                      "arrow"):
            raise syntax_error(text)
        value, index = _value(tokens, index + 2, text)
        options[key.upper()] = value
    return options, index


def _value(tokens: list[tuple[str, str]], index: int, text: str) -> tuple[OptionValue, int]:
    if index >= len(tokens):
        raise syntax_error(text)
    kind, token = tokens[index]
    if kind == "string":
        value = unquote(token)
        return value.upper() if value.upper() in _UPPER_WORDS else value, index + 1
    if kind == "word":
        return token.upper(), index + 1
    if kind != "open":
        raise syntax_error(text)
    index += 1
    nested = (index + 1 < len(tokens) and tokens[index][0] == "word"
              and tokens[index + 1][0] in ("eq", "arrow"))
    if nested:
        inner, index = _options(tokens, index, text)
        if index >= len(tokens):
            raise syntax_error(text)
        return inner, index + 1
    items: list[str] = []
    while index < len(tokens) and tokens[index][0] != "close":
        kind, token = tokens[index]
        if kind == "string":
            items.append(unquote(token))
        elif kind == "word":
            items.append(token)
        elif kind != "comma":
            raise syntax_error(text)
        index += 1
    if index >= len(tokens):
        raise syntax_error(text)
    return items, index + 1


# values that Snowflake reads case-insensitively even when quoted (TYPE = 'csv')
_UPPER_WORDS = {"CSV", "JSON", "PARQUET", "AVRO", "ORC", "XML", "AUTO", "NONE", "GZIP", "TRUE",
                "FALSE", "CONTINUE", "SKIP_FILE", "ABORT_STATEMENT"}


# ------------------------------------------------------------------------------ the commands
@dataclass
class CreateStage:
    name: list[str]
    replace: bool
    if_not_exists: bool
    temporary: bool
    options: Options


@dataclass
class CreateFileFormat:
    name: list[str]
    replace: bool
    if_not_exists: bool
    options: Options


@dataclass
class DropObject:
    kind: str  # STAGE or FILE FORMAT
    name: list[str]
    if_exists: bool


@dataclass
class ShowObjects:
    kind: str  # STAGES or FILE FORMATS
    like: str | None
    where: list[str]
    scope: str  # SCHEMA, DATABASE or ACCOUNT


@dataclass
class PutFiles:
    source: str  # the local path after file://
    stage: StageRef
    options: Options


@dataclass
class ListFiles:
    stage: StageRef
    pattern: str | None


@dataclass
class RemoveFiles:
    stage: StageRef
    pattern: str | None


@dataclass
class CopyInto:
    """COPY INTO <table>: from a stage, or the transform form ``FROM (SELECT ... FROM @s)``
    (``select`` is the SELECT's text with the stage reference cut out at ``stage_span``)."""

    table: list[str]
    columns: list[str]
    stage: StageRef
    options: Options
    select: str | None = None
    stage_span: tuple[int, int] = (0, 0)
    source_options: Options = field(default_factory=dict)
    alias: str | None = None


@dataclass
class QueryStage:
    """A statement reading staged files (``SELECT $1 FROM @s (FILE_FORMAT => 'f') t``, also
    inside INSERT ... SELECT or CREATE TABLE ... AS): ``before`` + the rows table + ``after``."""

    stage: StageRef
    before: str
    after: str
    source_options: Options
    alias: str | None


Command = (QueryStage | CreateStage | CreateFileFormat | DropObject | ShowObjects | PutFiles | ListFiles
           | RemoveFiles | CopyInto)

_CREATE = re.compile(
    rf"\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?P<temp>(?:TEMPORARY|TEMP)\s+)?"
    rf"(?P<kind>STAGE|FILE\s+FORMAT)\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_NAME})"
    rf"(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(rf"\s*DROP\s+(?P<kind>STAGE|FILE\s+FORMAT)\s+(?P<ie>IF\s+EXISTS\s+)?"
                   rf"(?P<name>{_NAME})\s*", re.IGNORECASE)
_SHOW = re.compile(
    rf"\s*SHOW\s+(?:TERSE\s+)?(?P<kind>STAGES|FILE\s+FORMATS)(?:\s+LIKE\s+'(?P<like>(?:[^']|'')*)')?"
    rf"(?:\s+IN\s+(?:(?P<account>ACCOUNT)|(?P<scope>DATABASE|SCHEMA)?\s*(?P<where>{_NAME})?))?\s*",
    re.IGNORECASE)
_PUT = re.compile(r"\s*PUT\s+(?P<source>'[^']*'|\S+)\s+(?P<stage>'[^']*'|@\S+)(?P<rest>.*)",
                  re.IGNORECASE | re.DOTALL)
_LIST = re.compile(r"\s*(?P<verb>LIST|LS|REMOVE|RM)\s+(?P<stage>'[^']*'|@\S+)(?P<rest>.*)",
                   re.IGNORECASE | re.DOTALL)
_COPY = re.compile(rf"\s*COPY\s+INTO\s+(?P<table>@\S+|'[^']*'|{_NAME})\s*(?P<rest>.*)",
                   re.IGNORECASE | re.DOTALL)
_FROM_STAGE = re.compile(r"\bFROM\s+(?P<stage>'@[^']*'|@[^\s;),]+)", re.IGNORECASE)
_ALIAS = re.compile(rf"\s*(?:AS\s+)?(?P<alias>{_PART})\s*$", re.IGNORECASE)


def parse(text: str) -> Command:
    """The command a statement is; 001003 when it cannot be read, 000002 for what the
    local server refuses by name (GET, unloading, external locations)."""
    text = text.strip().rstrip(";").strip()
    head = text.split(None, 1)[0].upper()
    if head == "GET":
        raise UnsupportedSqlError("GET (downloading staged files to the client) is not "
                                  "supported; the files of an internal stage are read with "
                                  "COPY INTO <table> or SELECT ... FROM @stage.")
    if match := _CREATE.fullmatch(text):
        kind = " ".join(match["kind"].upper().split())
        options = parse_options(match["rest"])
        if kind == "STAGE":
            return CreateStage(_parts(match["name"]), bool(match["replace"]), bool(match["ine"]),
                               bool(match["temp"]), options)
        return CreateFileFormat(_parts(match["name"]), bool(match["replace"]),
                                bool(match["ine"]), options)
    if match := _DROP.fullmatch(text):
        return DropObject(" ".join(match["kind"].upper().split()), _parts(match["name"]),
                          bool(match["ie"]))
    if match := _SHOW.fullmatch(text):
        where = _parts(match["where"]) if match["where"] else []
        scope = "ACCOUNT" if match["account"] else (match["scope"] or "SCHEMA").upper()
        like = match["like"].replace("''", "'") if match["like"] is not None else None
        return ShowObjects(" ".join(match["kind"].upper().split()), like, where, scope)
    if match := _PUT.fullmatch(text):
        source = match["source"]
        source = unquote(source) if source.startswith("'") else source
        if not source.lower().startswith("file://"):
            raise syntax_error(text, "PUT file://<path> @<stage>")
        return PutFiles(source[len("file://"):], stage_ref(match["stage"]),
                        parse_options(match["rest"]))
    if match := _LIST.fullmatch(text):
        options = parse_options(match["rest"])
        pattern = options.pop("PATTERN", None)
        if options or not (pattern is None or isinstance(pattern, str)):
            raise syntax_error(text)
        verb = match["verb"].upper()
        ref = stage_ref(match["stage"])
        return (ListFiles if verb in ("LIST", "LS") else RemoveFiles)(ref, pattern)
    if match := _COPY.fullmatch(text):
        return _copy(match["table"], match["rest"], text)
    if _reads_stage(text):
        return _query(text)
    raise syntax_error(text)


def _query(text: str) -> QueryStage:
    """A statement that reads one stage: where the reference, its options and alias are."""
    masked = _STRINGS.sub(lambda m: "'" + "x" * (len(m.group(0)) - 2) + "'", text)
    found = [m for m in re.finditer(r"\b(?:FROM|JOIN)\s+(?P<stage>'@[^']*'|@[^\s;),(]+)",
                                    masked, re.IGNORECASE)]
    if len(found) != 1:
        raise UnsupportedSqlError("a statement reading more than one stage is not supported "
                                  "locally; read each stage into a table with COPY INTO.")
    match = found[0]
    ref = stage_ref(text[match.start("stage"):match.end("stage")])
    position = match.end()
    rest = text[position:]
    stripped = rest.lstrip()
    options: Options = {}
    if stripped.startswith("("):
        offset = position + len(rest) - len(stripped)
        end = _closing(text, offset)
        options = parse_options(text[offset + 1:end])
        position = end + 1
    alias = None
    alias_match = re.match(rf"\s+(?:AS\s+)?(?P<alias>{_PART})", text[position:], re.IGNORECASE)
    if alias_match and alias_match["alias"].upper() not in _CLAUSE_WORDS:
        alias = fold(alias_match["alias"])
        position += alias_match.end()
    return QueryStage(ref, text[:match.start("stage")], text[position:], options, alias)


_CLAUSE_WORDS = {"WHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "QUALIFY", "UNION", "EXCEPT",
                 "MINUS", "INTERSECT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS",
                 "NATURAL", "ON", "USING", "WINDOW", "LATERAL"}


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at ``start`` (strings skipped)."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "'":
            index += 1
            while index < len(text) and not (text[index] == "'" and text[index + 1: index + 2]
                                             != "'"):
                index += 2 if text[index] in "\\'" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise syntax_error(text, "COPY INTO <table> FROM (SELECT ...)")


def _copy(table: str, rest: str, text: str) -> CopyInto:
    if table.startswith(("@", "'")):
        raise UnsupportedSqlError("COPY INTO <location> (unloading rows into stage files) is "
                                  "not supported; only COPY INTO <table> runs locally.")
    columns: list[str] = []
    rest = rest.lstrip()
    if rest.startswith("("):
        end = _closing(rest, 0)
        columns = [fold(c.strip()) for c in rest[1:end].split(",") if c.strip()]
        rest = rest[end + 1:].lstrip()
    if not rest.upper().startswith("FROM"):
        raise syntax_error(text, "COPY INTO <table> FROM @<stage>")
    rest = rest[4:].lstrip()
    if rest.startswith("("):
        end = _closing(rest, 0)
        inner = rest[1:end].strip()
        copy = _transform(inner, text)
        copy.table, copy.columns = _parts(table), columns
        copy.options = parse_options(rest[end + 1:])
        return copy
    source = re.match(r"('[^']*'|\S+)", rest)
    if source is None:
        raise syntax_error(text, "COPY INTO <table> FROM @<stage>")
    location = source.group(1)
    if not location.lstrip("'").startswith("@"):
        raise UnsupportedSqlError("COPY INTO <table> FROM an external location "
                                  f"({location[:60]}) is not supported: cloud storage is not "
                                  "reachable from the local server; load from an internal "
                                  "stage instead.")
    return CopyInto(_parts(table), columns, stage_ref(location),
                    parse_options(rest[source.end():]))


def _transform(select: str, text: str) -> CopyInto:
    """The transform form's SELECT: the stage it reads, its (FILE_FORMAT => ...) and alias."""
    if not re.match(r"SELECT\b", select, re.IGNORECASE):
        raise syntax_error(text, "COPY INTO <table> FROM (SELECT ... FROM @<stage>)")
    found = list(_FROM_STAGE.finditer(select))
    if not found:
        raise syntax_error(text, "COPY INTO <table> FROM (SELECT ... FROM @<stage>)")
    match = found[-1]
    ref = stage_ref(match["stage"])
    tail = select[match.end():]
    source_options: Options = {}
    stripped = tail.lstrip()
    if stripped.startswith("("):
        offset = len(tail) - len(stripped)
        end = _closing(tail, offset)
        source_options = parse_options(tail[offset + 1:end])
        tail = tail[end + 1:]
    alias = None
    if tail.strip():
        alias_match = _ALIAS.fullmatch(tail)
        if alias_match is None:
            raise UnsupportedSqlError("COPY INTO <table> FROM (SELECT ...) with WHERE, JOIN, "
                                      "GROUP BY or ORDER BY is not supported (Snowflake "
                                      "allows only a column list over one stage).")
        alias = fold(alias_match["alias"])
    return CopyInto([], [], ref, {}, select=select[:match.start()],
                    stage_span=(match.start(), len(select)), source_options=source_options,
                    alias=alias)
