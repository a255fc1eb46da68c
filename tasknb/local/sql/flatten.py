"""FLATTEN as DuckDB rows: ``LATERAL FLATTEN(...)`` and ``TABLE(FLATTEN(...))``.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT f.value FROM t, TABLE(FLATTEN(input => t.v, "
    ...                          "path => 'a.b', outer => TRUE)) f", read="snowflake")
    >>> "JSON_EACH(CAST(t.v AS JSON), '$.a.b')" in tree.transform(flatten).sql("duckdb")
    True

docs.snowflake.com/en/sql-reference/functions/flatten: ``FLATTEN( INPUT => <expr> [, PATH =>
'<path>'] [, OUTER => TRUE | FALSE] [, RECURSIVE => TRUE | FALSE] [, MODE => 'OBJECT' |
'ARRAY' | 'BOTH'])`` gives one row per element of the array or object (at PATH inside the
input) with SEQ, KEY (NULL for array elements), PATH, INDEX (NULL for object members), VALUE
and THIS (the element flattened); RECURSIVE goes down into every nested element; MODE keeps
only objects or arrays; OUTER gives one row (KEY, INDEX and VALUE NULL) when there is
nothing to expand. Built from DuckDB's json_each / json_tree. Differences: SEQ is always 1;
a scalar input gives no rows; RECURSIVE with a MODE other than BOTH is refused.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from tasknb.local.sql.errors import UnsupportedSqlError

_MODES = {"BOTH": "'ARRAY', 'OBJECT'", "ARRAY": "'ARRAY'", "OBJECT": "'OBJECT'"}

# __in: the input as JSON, __path: the DuckDB JSON path of PATH ('$' without one)
_ELEMENTS = (
    "SELECT n.key, n.fullkey, n.id, n.value, json_extract(__in, __path) AS this, "
    "json_type(json_extract(__in, __path)) AS container FROM json_each(__in, __path) AS n "
    "WHERE json_type(json_extract(__in, __path)) IN ({types})"
)
_NESTED = (
    "SELECT n.key, n.fullkey, n.id, n.value, p.value AS this, p.type AS container "
    "FROM json_tree(__in, __path) AS n JOIN json_tree(__in, __path) AS p ON n.parent = p.id"
)
_ROWS = (
    "SELECT 1 AS seq, CASE WHEN e.container = 'ARRAY' THEN NULL ELSE e.key END AS key, "
    "ltrim(substr(e.fullkey, 2), '.') AS path, "
    "CASE WHEN e.container = 'ARRAY' THEN CAST(e.key AS INT) END AS index, e.value AS value, "
    "e.this AS this FROM ({elements}) AS e ORDER BY e.id"
)
_OUTER = (
    "SELECT 1 AS seq, r.key AS key, coalesce(r.path, ltrim(substr(__path, 2), '.')) AS path, "
    "r.index AS index, r.value AS value, coalesce(r.this, json_extract(__in, __path)) AS this "
    "FROM (SELECT 1) AS one LEFT JOIN ({rows}) AS r ON TRUE"
)


def _arguments(call: exp.Explode) -> dict[str, exp.Expression]:
    """FLATTEN's arguments by upper-case name (the first may be positional: INPUT)."""
    found: dict[str, exp.Expression] = {}
    for position, argument in enumerate([call.this, *call.expressions]):
        if isinstance(argument, exp.Kwarg):
            found[argument.this.name.upper()] = argument.expression
        elif position == 0:
            found["INPUT"] = argument
        else:
            raise UnsupportedSqlError("FLATTEN's arguments after INPUT must be named "
                                      "(PATH => ..., OUTER => ..., RECURSIVE => ..., MODE => ...).")
    unknown = set(found) - {"INPUT", "PATH", "OUTER", "RECURSIVE", "MODE"}
    if unknown:
        raise UnsupportedSqlError(f"FLATTEN has no argument {min(unknown)} (it takes INPUT, "
                                  "PATH, OUTER, RECURSIVE and MODE).")
    if "INPUT" not in found:
        raise UnsupportedSqlError("FLATTEN needs INPUT => <expression>.")
    return found


def _constant(arguments: dict[str, exp.Expression], name: str) -> str | bool | None:
    value = arguments.get(name)
    if value is None:
        return None
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    if isinstance(value, exp.Literal) and value.is_string:
        return value.this
    raise UnsupportedSqlError(f"FLATTEN's {name} must be a constant here "
                              f"(got {value.sql('snowflake')}).")


def _json_path(path: str) -> str:
    """Snowflake's PATH (``a.b``, ``a[0].b``, ``['a b']``) as a DuckDB JSON path.

        >>> _json_path("a.b"), _json_path("[1].c"), _json_path("")
        ('$.a.b', '$[1].c', '$')
    """
    if not path:
        return "$"
    return "$" + (path if path.startswith("[") else "." + path)


def rows_query(call: exp.Explode) -> exp.Expression:
    """The (SELECT ...) giving FLATTEN's rows (SEQ, KEY, PATH, INDEX, VALUE, THIS) for one call."""
    arguments = _arguments(call)
    path = _constant(arguments, "PATH") or ""
    mode = str(_constant(arguments, "MODE") or "BOTH").upper()
    if mode not in _MODES:
        raise UnsupportedSqlError(f"FLATTEN's MODE must be 'OBJECT', 'ARRAY' or 'BOTH' (got "
                                  f"'{mode}').")
    recursive = bool(_constant(arguments, "RECURSIVE"))
    if recursive and mode != "BOTH":
        raise UnsupportedSqlError("FLATTEN with RECURSIVE => TRUE and a MODE other than 'BOTH' "
                                  "is not supported locally.")
    elements = _NESTED if recursive else _ELEMENTS.format(types=_MODES[mode])
    text = _ROWS.format(elements=elements)
    if _constant(arguments, "OUTER"):
        text = _OUTER.format(rows=text)
    source = exp.cast(arguments["INPUT"].copy(), exp.DataType.build("JSON"))
    json_path = exp.Literal.string(_json_path(str(path)))

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in ("__in", "__path"):
            return source.copy() if node.name == "__in" else json_path.copy()
        return node
    return sqlglot.parse_one(f"({text})", read="duckdb").transform(fill)


def aliases(tree: exp.Expression) -> set[str]:
    """The aliases of the FLATTENs in a tree (their VALUE column is a VARIANT)."""
    return {node.alias.upper() for node in tree.find_all(exp.Lateral, exp.TableFromRows)
            if isinstance(node.this, exp.Explode) and node.alias}


def flatten(node: exp.Expression) -> exp.Expression:
    """LATERAL FLATTEN(...) [alias] and TABLE(FLATTEN(...)) [alias] as DuckDB subqueries."""
    if not (isinstance(node, (exp.Lateral, exp.TableFromRows))
            and isinstance(node.this, exp.Explode)):
        return node
    if node.args.get("outer"):
        raise UnsupportedSqlError("OUTER APPLY / LEFT LATERAL FLATTEN is not supported locally; "
                                  "write FLATTEN(..., OUTER => TRUE).")
    alias = node.args.get("alias")
    name = alias.this.copy() if alias is not None and alias.this else exp.to_identifier("F")
    return exp.Lateral(this=rows_query(node.this), alias=exp.TableAlias(this=name))
