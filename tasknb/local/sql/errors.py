"""The engine's exceptions and the Snowflake error codes it answers with.

    >>> e = TaskSqlError(CODE_DIVISION_BY_ZERO, "Division by zero"); (e.code_text, str(e))
    ('100051', 'Division by zero')

Codes are Snowflake's where Snowflake has one; engine-specific failures without a Snowflake
counterpart use 100000 (runtime) or 000002 (unsupported).
"""

from __future__ import annotations

# Snowflake error codes (as integers; shown zero-padded to six digits)
CODE_UNSUPPORTED = 2  # 000002 (0A000) Unsupported feature
CODE_INTERNAL = 603  # 000603 SQL execution internal error
CODE_CANCELED = 604  # 000604 SQL execution canceled
CODE_TIMEOUT = 630  # 000630 Statement reached its statement or warehouse timeout
CODE_INVALID_IDENTIFIER = 904  # 000904 invalid identifier
CODE_SYNTAX = 1003  # 001003 syntax error
CODE_ALREADY_EXISTS = 2002  # 002002 Object already exists
CODE_DOES_NOT_EXIST = 2003  # 002003 Object does not exist or not authorized
CODE_UNKNOWN_FUNCTION = 2140  # 002140 Unknown function
CODE_ACCESS = 3001  # 003001 Insufficient privileges
CODE_RUNTIME = 100000  # a generic runtime error of the local engine (no closer Snowflake code)
CODE_TIMESTAMP_FORMAT = 100035  # Timestamp '...' is not recognized
CODE_BOOLEAN_FORMAT = 100037  # Boolean value '...' is not recognized
CODE_NUMERIC_FORMAT = 100038  # Numeric value '...' is not recognized
CODE_DATE_FORMAT = 100040  # Date '...' is not recognized
CODE_OUT_OF_RANGE = 100046  # Number out of representable range
CODE_DIVISION_BY_ZERO = 100051  # Division by zero
CODE_NOT_NULL = 100072  # NULL result in a non-nullable column
CODE_MAX_LOB_SIZE = 100082  # Max LOB size (16777216) exceeded
CODE_FUNCTION_ARGUMENT = 100357  # a SYSTEM$ function called with an argument it cannot use

#: SQLSTATE of a full disk (PostgreSQL's ``disk_full``; Snowflake documents none).
SQLSTATE_DISK_FULL = "53100"
#: SQLSTATE of a memory ceiling reached (PostgreSQL's ``out_of_memory``).
SQLSTATE_OUT_OF_MEMORY = "53200"

REAL_SNOWFLAKE_HINT = "The same definition runs on a real Snowflake account."


class TaskSqlError(Exception):
    """A task's SQL failed; ``code`` and ``message`` are Snowflake-style.

    >>> TaskSqlError(100051, "Division by zero")
    TaskSqlError(100051, 'Division by zero')
    """

    def __init__(self, code: int, message: str, sql_state: str | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.sql_state = sql_state

    @property
    def code_text(self) -> str:
        """The code as Snowflake prints it (six digits, zero-padded)."""
        return f"{self.code:06d}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code_text}, {self.message!r})"


class UnsupportedSqlError(TaskSqlError):
    """SQL that the local engine cannot run (it may well run on Snowflake).

    >>> str(UnsupportedSqlError("Stored procedures (CALL) are not supported.")).endswith("account.")
    True
    """

    def __init__(self, what: str, code: int = CODE_UNSUPPORTED) -> None:
        super().__init__(
            code,
            f"Unsupported feature in the local task server: {what} {REAL_SNOWFLAKE_HINT}",
            "0A000",
        )


def missing_database(database: str) -> TaskSqlError:
    """002003 for a database that is not there, in Snowflake's words.

    >>> missing_database("NODB").message
    "SQL compilation error:\\nDatabase 'NODB' does not exist or not authorized."
    """
    return TaskSqlError(
        CODE_DOES_NOT_EXIST,
        f"SQL compilation error:\nDatabase '{database}' does not exist or not authorized.",
        "02000",
    )
