"""The embedded SQL engine: Snowflake SQL run on DuckDB (translation by sqlglot)."""
