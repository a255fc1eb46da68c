"""MERGE and UPDATE with qualified targets, identity columns and sequences, over REST.

Each test asserts the outcome Snowflake documents (the page is named in the docstring) on the
local server, through the SQL API and through task runs.
"""

from __future__ import annotations

from _sql import error, rows, submit
from local_api import Api


def test_merge_with_qualified_set_and_delete_and_insert_branches(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/merge: "WHEN MATCHED ... THEN { UPDATE SET ... |
    DELETE }" and "WHEN NOT MATCHED ... THEN INSERT"; "Specifies the column within the target
    table to be updated or inserted" (written ``t.col`` in the corpus of real tasks)."""
    submit(api, "CREATE TABLE target (id INT, v VARCHAR)")
    submit(api, "CREATE TABLE changes (id INT, v VARCHAR, op VARCHAR)")
    submit(api, "INSERT INTO target VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    submit(api, "INSERT INTO changes VALUES (1, 'uno', 'U'), (2, NULL, 'D'), (4, 'four', 'I')")
    api.create("merger", """
        MERGE INTO target t USING changes c ON t.id = c.id
        WHEN MATCHED AND c.op = 'D' THEN DELETE
        WHEN MATCHED THEN UPDATE SET t.v = c.v
        WHEN NOT MATCHED THEN INSERT (id, v) VALUES (c.id, c.v)""")
    assert api.execute("merger")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT id, v FROM target ORDER BY id") == [
        ["1", "uno"], ["3", "three"], ["4", "four"]]


def test_update_from_with_a_qualified_target_column(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/update: ``UPDATE <target_table> [[AS] alias] SET
    <col_name> = <value> ... [FROM <additional_tables>] [WHERE <condition>]``; the corpus
    writes ``SET t.col``, which Snowflake accepts."""
    submit(api, "CREATE TABLE stock (sku INT, on_hand INT)")
    submit(api, "CREATE TABLE delivered (sku INT, qty INT)")
    submit(api, "INSERT INTO stock VALUES (1, 10), (2, 5)")
    submit(api, "INSERT INTO delivered VALUES (2, 7)")
    answer = submit(api, "UPDATE stock s SET s.on_hand = s.on_hand + d.qty FROM delivered d "
                         "WHERE s.sku = d.sku")
    assert answer["stats"] == {"numRowsUpdated": 1}
    assert rows(api, "SELECT sku, on_hand FROM stock ORDER BY sku") == [["1", "10"], ["2", "12"]]


def test_identity_and_autoincrement_columns_number_new_rows(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-table: "AUTOINCREMENT | IDENTITY [ (
    start_num , step_num ) | START num INCREMENT num ] [ ORDER | NOORDER ]" — "the default
    value for the column starts with a specified number and each successive value
    automatically increments by the specified amount"; both default to 1."""
    submit(api, "CREATE TABLE events (id INT IDENTITY(100, 10) ORDER, seq INT AUTOINCREMENT "
                "START 1 INCREMENT 1 NOORDER, what VARCHAR)")
    api.create("logger", "INSERT INTO events (what) VALUES ('a'), ('b')")
    assert api.execute("logger")["state"] == "SUCCEEDED"
    submit(api, "INSERT INTO events (what) VALUES ('c')")
    assert rows(api, "SELECT id, seq, what FROM events ORDER BY id") == [
        ["100", "1", "a"], ["110", "2", "b"], ["120", "3", "c"]]


def test_create_or_replace_restarts_an_identity_column(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-table: CREATE OR REPLACE drops the table
    and creates a new one, so its identity column starts again at its start value."""
    definition = "CREATE OR REPLACE TABLE runs (id INT AUTOINCREMENT, at INT)"
    for _ in range(2):
        submit(api, definition)
        submit(api, "INSERT INTO runs (at) VALUES (1), (2)")
    assert rows(api, "SELECT id FROM runs ORDER BY id") == [["1"], ["2"]]
    code, message = error(api, "CREATE TABLE runs (id INT AUTOINCREMENT)")
    assert code == "002002" and "RUNS" in message.upper()
    assert rows(api, "SELECT count(*) FROM runs") == [["2"]]  # the failed CREATE changed nothing


def test_sequences_nextval_in_values_selects_and_defaults(api: Api) -> None:
    """docs.snowflake.com/en/sql-reference/sql/create-sequence: ``CREATE [ OR REPLACE ]
    SEQUENCE <name> [ START [ WITH ] [ = ] <initial_value> ] [ INCREMENT [ BY ] [ = ]
    <sequence_interval> ]``; docs.snowflake.com/en/user-guide/querying-sequences: "seq.nextval"
    in a query, in INSERT and as a column default; DROP SEQUENCE removes it."""
    submit(api, "CREATE OR REPLACE SEQUENCE order_ids START = 1000 INCREMENT = 5")
    submit(api, "CREATE TABLE orders (id INT DEFAULT order_ids.nextval, item VARCHAR)")
    api.create("orderer", f"INSERT INTO orders (item) VALUES ('pen'); "
                          f"INSERT INTO orders VALUES ({api.schema}.order_ids.NEXTVAL, 'ink')")
    assert api.execute("orderer")["state"] == "SUCCEEDED"
    assert rows(api, "SELECT id, item FROM orders ORDER BY id") == [
        ["1000", "pen"], ["1005", "ink"]]
    assert rows(api, "SELECT order_ids.nextval") == [["1010"]]
    submit(api, "DROP TABLE orders")
    submit(api, "DROP SEQUENCE order_ids")
    code, _ = error(api, "SELECT order_ids.nextval")
    assert code == "002003"
