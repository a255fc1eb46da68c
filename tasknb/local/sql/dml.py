"""Snowflake DML and DDL forms DuckDB spells differently: qualified SET targets, sequences'
``NEXTVAL`` and AUTOINCREMENT / IDENTITY columns (context-free rewrites of a parsed statement).

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("UPDATE t SET t.v = s.v FROM s WHERE t.id = s.id", read="snowflake")
    >>> rewrite(tree)[0].sql("duckdb")
    'UPDATE t SET v = s.v FROM s WHERE t.id = s.id'
    >>> rewrite(sqlglot.parse_one("SELECT seq1.NEXTVAL", read="snowflake"))[0].sql("duckdb")
    "SELECT NEXTVAL('seq1')"

* ``UPDATE t SET t.col = ...`` and ``MERGE ... WHEN MATCHED THEN UPDATE SET t.col = ...``: the
  target's qualifier is dropped (DuckDB takes bare column names there; the column is the
  target's either way).
* ``seq.NEXTVAL`` (also ``db.schema.seq.NEXTVAL``) becomes ``nextval('db.schema.seq')``.
* A column ``AUTOINCREMENT`` / ``IDENTITY [(start, step)]`` / ``[START n] [INCREMENT m]``
  (``ORDER`` / ``NOORDER`` accepted) is backed by a sequence of its own, named
  ``__TASKNB_IDENTITY$<table>$<column>`` in the table's schema, and defaults to its next value.
  Values are unique and increasing (locally always ORDER).
"""

from __future__ import annotations

from sqlglot import exp

#: The prefix of the sequences that back identity columns (hidden engine objects).
IDENTITY_PREFIX = "__TASKNB_IDENTITY$"


def rewrite(tree: exp.Expression) -> list[exp.Expression]:
    """The DuckDB-ready statements for one Snowflake statement (one, or several in order)."""
    if isinstance(tree, exp.Update):
        _unqualify_set(tree)
    elif isinstance(tree, exp.Merge):
        for when in tree.find_all(exp.When):
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                _unqualify_set(then)
    tree = tree.transform(_nextval)
    if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
        return _identity_columns(tree)
    return [tree]


def _unqualify_set(update: exp.Update) -> None:
    for assignment in update.expressions:
        target = assignment.this if isinstance(assignment, exp.EQ) else None
        if isinstance(target, exp.Column) and target.table:
            target.replace(exp.column(target.this.copy()))


def _nextval(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Column) and node.name.upper() == "NEXTVAL" and node.table:
        parts = [p for p in (node.args.get("catalog"), node.args.get("db"), node.args.get("table"))
                 if p is not None]
        name = ".".join(_name_text(p) for p in parts)
        return exp.Anonymous(this="NEXTVAL", expressions=[exp.Literal.string(name)])
    return node


def _name_text(identifier: exp.Expression) -> str:
    """An identifier as DuckDB reads it inside nextval('...') (quoted keeps its case)."""
    if isinstance(identifier, exp.Identifier) and identifier.quoted:
        return '"' + identifier.this.replace('"', '""') + '"'
    return identifier.name


def _identity(constraint: exp.ColumnConstraint) -> tuple[int, int] | None:
    kind = constraint.args.get("kind")
    if isinstance(kind, exp.AutoIncrementColumnConstraint):
        return 1, 1
    if isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        start, step = kind.args.get("start"), kind.args.get("increment")
        return (int(start.name) if start is not None else 1,
                int(step.name) if step is not None else 1)
    return None


def _identity_columns(create: exp.Create) -> list[exp.Expression]:
    schema = create.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return [create]
    table = schema.this
    sequences: list[tuple[exp.Table, int, int]] = []
    defaults: list[tuple[exp.ColumnDef, exp.Expression]] = []
    for column in schema.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        for constraint in list(column.args.get("constraints") or ()):
            numbers = _identity(constraint)
            if numbers is None:
                continue
            sequence = exp.Table(
                this=exp.to_identifier(f"{IDENTITY_PREFIX}{table.name.upper()}$"
                                       f"{column.name.upper()}", quoted=True),
                db=table.args.get("db") and table.args["db"].copy(),
                catalog=table.args.get("catalog") and table.args["catalog"].copy())
            sequences.append((sequence, *numbers))
            default = exp.Anonymous(this="NEXTVAL", expressions=[exp.Literal.string(".".join(
                _name_text(p) for p in (sequence.args.get("catalog"), sequence.args.get("db"),
                                        sequence.this) if p is not None))])
            constraint.pop()
            defaults.append((column, default))
    if not sequences:
        return [create]
    replace, if_not_exists = bool(create.args.get("replace")), bool(create.args.get("exists"))

    def make_sequence(sequence: exp.Table, start: int, step: int, *, replace: bool,
                      exists: bool) -> exp.Create:
        return exp.Create(this=sequence.copy(), kind="SEQUENCE", replace=replace, exists=exists,
                          properties=exp.Properties(expressions=[
                              exp.SequenceProperties(start=exp.Literal.number(start),
                                                     increment=exp.Literal.number(step))]))

    if if_not_exists and not replace:  # nothing changes when the table is there already
        for column, default in defaults:
            column.append("constraints", exp.ColumnConstraint(
                kind=exp.DefaultColumnConstraint(this=default)))
        return [*(make_sequence(s, a, b, replace=False, exists=True) for s, a, b in sequences),
                create]
    # the table first (a plain CREATE of an existing table fails with its own error), then the
    # sequences, then the defaults that use them: one transaction
    create.set("replace", False)
    statements: list[exp.Expression] = [exp.Transaction()]
    if replace:
        statements.append(exp.Drop(tables=[table.copy()], kind="TABLE", exists=True))
    statements.append(create)
    statements.extend(make_sequence(s, a, b, replace=True, exists=False) for s, a, b in sequences)
    statements.extend(
        exp.Alter(this=table.copy(), kind="TABLE", actions=[exp.AlterColumn(
            this=column.this.copy(), default=default)]) for column, default in defaults)
    statements.append(exp.Commit())
    return statements
