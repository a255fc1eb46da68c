"""The SQL API (``/api/v2/statements``): a statement in, a typed pandas DataFrame out.

    >>> to_bindings([1, "x", None, True])["1"], to_bindings([1, "x", None, True])["3"]
    ({'type': 'FIXED', 'value': '1'}, {'type': 'TEXT', 'value': None})

:func:`run_statement` submits the statement (``POST /api/v2/statements`` with a fresh
``requestId``, so a resend after a lost answer cannot run it twice), follows a ``202`` by
polling ``GET /api/v2/statements/{handle}``, fetches partitions 1.. concurrently
(:data:`MAX_PARTITION_FETCHES` at a time) and builds the frame column by column from
``resultSetMetaData.rowType`` (see :func:`decode_column`). A failed statement (``422``, or
``408`` on a timeout) raises :class:`~tasknb.errors.SqlError`; when the wait outlives the
timeout, or on KeyboardInterrupt, the statement is cancelled through ``/cancel`` before the
error propagates. Values are always sent as bindings (``?`` placeholders), never spliced into
the SQL text.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._extras import require
from ..errors import InvalidResponse, RequestMayHaveBeenApplied, ResultTimeout, SqlError
from ._http import API_PREFIX, HttpSession

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("tasknb.http")

STATEMENTS_PATH = f"{API_PREFIX}/statements"
DEFAULT_SQL_TIMEOUT = 600.0  # seconds a statement may run (sent as the body's timeout)
CANCEL_GRACE_SECONDS = 10.0  # the client waits this much longer than the server's timeout
MAX_PARTITION_FETCHES = 4  # partitions fetched at once
SUBMIT_RESENDS = 2  # resends of a submission lost after sending (same requestId: run once)
TZ_OFFSET_BIAS = 1440  # Snowflake's TIMESTAMP_TZ offsets are minutes + 1440
_NAT = -(2**63)  # numpy's NaT as int64
NO_WAREHOUSE = "000606"  # Snowflake: no active warehouse selected in the current session
HINTS = {
    NO_WAREHOUSE: "SQL statements need a warehouse on Snowflake: pass warehouse= to sql() or "
    "set warehouse on the connection (warehouse = ... in the connection file)",
}


# -- bindings -------------------------------------------------------------------------------


def _binding(position: int, value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "TEXT", "value": None}
    if isinstance(value, bool):
        return {"type": "BOOLEAN", "value": "true" if value else "false"}
    if isinstance(value, int):
        return {"type": "FIXED", "value": str(value)}
    if isinstance(value, Decimal):
        return {"type": "FIXED", "value": format(value, "f")}
    if isinstance(value, float):
        return {"type": "REAL", "value": repr(value)}
    if isinstance(value, str):
        return {"type": "TEXT", "value": value}
    if isinstance(value, datetime):
        kind = "TIMESTAMP_TZ" if value.tzinfo is not None else "TIMESTAMP_NTZ"
        return {"type": kind, "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "DATE", "value": value.isoformat()}
    if isinstance(value, time):
        return {"type": "TIME", "value": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"type": "BINARY", "value": bytes(value).hex()}
    if isinstance(value, (dict, list)):
        return {"type": "TEXT", "value": json.dumps(value)}  # use PARSE_JSON(?) in the SQL
    raise TypeError(
        f"binding {position} ({type(value).__name__}) cannot be sent: use None, bool, int, "
        "float, Decimal, str, date, time, datetime, bytes, or a dict/list (as JSON text)"
    )


def to_bindings(values: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The SQL API's ``bindings`` object for the ``?`` placeholders, in order."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError("bindings must be a list or tuple of values, one per ? placeholder")
    return {str(i): _binding(i, v) for i, v in enumerate(values, start=1)}


# -- decoding -------------------------------------------------------------------------------


def _epoch_nanos(text: str) -> int:
    """``"1577836800.5"`` -> nanoseconds since the epoch, exactly."""
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("+-").partition(".")
    nanos = int(whole) * 1_000_000_000 + int((fraction + "000000000")[:9])
    return -nanos if negative else nanos


def _timestamps(values: Sequence[str | None], *, with_offset: bool) -> Any:
    import numpy as np
    import pandas as pd

    nanos = []
    offsets = set()
    for value in values:
        if value is None:
            nanos.append(_NAT)
            continue
        if with_offset:
            value, _, offset = value.partition(" ")
            if offset:
                offsets.add(int(offset) - TZ_OFFSET_BIAS)
        nanos.append(_epoch_nanos(value))
    utc = pd.DatetimeIndex(np.array(nanos, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")
    if len(offsets) == 1:  # one offset for the whole column: show it
        (minutes,) = offsets
        from datetime import timedelta

        return utc.tz_convert(timezone(timedelta(minutes=minutes)))
    return utc


def decode_column(kind: str, scale: int, values: Sequence[str | None]) -> Any:
    """One column of ``jsonv2`` strings as a pandas array of the matching dtype.

        >>> decode_column("fixed", 0, ["1", None]).dtype
        Int64Dtype()
        >>> str(decode_column("timestamp_tz", 9, ["0.5 1500"])[0])
        '1970-01-01 01:00:00.500000+01:00'

    fixed (scale 0) -> ``Int64``; fixed with a scale and real -> ``float64``; text ->
    ``string``; boolean -> ``boolean``; date -> ``datetime64``; time -> ``timedelta64``;
    timestamp_ntz/ltz/tz -> tz-aware timestamps (UTC; TIMESTAMP_TZ in its offset when the
    column has one); variant/object/array -> parsed JSON; binary -> bytes.
    """
    import numpy as np
    import pandas as pd

    kind = kind.lower()
    if kind == "fixed" and scale == 0:
        try:
            return pd.array(values, dtype="string").astype("Int64")
        except (OverflowError, TypeError, ValueError):  # beyond int64: exact Python ints
            return pd.array([None if v is None else int(v) for v in values], dtype=object)
    if kind in ("fixed", "real", "float", "double", "number"):
        return pd.array(values, dtype="string").astype("float64")
    if kind == "boolean":
        return pd.array([None if v is None else v.lower() == "true" for v in values],
                        dtype="boolean")
    if kind == "date":
        days = np.array([_NAT if v is None else int(v) for v in values], dtype=np.int64)
        mask = days == _NAT
        stamps = (days * 86_400_000_000_000)
        stamps[mask] = _NAT
        return pd.DatetimeIndex(stamps.view("M8[ns]"))
    if kind == "time":
        nanos = np.array([_NAT if v is None else _epoch_nanos(v) for v in values],
                         dtype=np.int64)
        return pd.TimedeltaIndex(nanos.view("m8[ns]"))
    if kind in ("timestamp_ntz", "timestamp_ltz", "timestamp_tz"):
        return _timestamps(values, with_offset=kind == "timestamp_tz")
    if kind in ("variant", "object", "array"):
        return pd.array([None if v is None else json.loads(v) for v in values], dtype=object)
    if kind == "binary":
        return pd.array([None if v is None else bytes.fromhex(v) for v in values], dtype=object)
    return pd.array(values, dtype="string")


def to_frame(row_type: list[dict[str, Any]], rows: list[list[str | None]]) -> pd.DataFrame:
    """The DataFrame of a result: one column per ``rowType`` entry, typed by it."""
    import pandas as pd

    columns = list(zip(*rows)) if rows else [()] * len(row_type)
    if len(columns) != len(row_type):
        raise InvalidResponse(
            f"the result has {len(row_type)} columns in rowType but rows of {len(columns)}"
        )
    arrays = {}
    for index, (meta, values) in enumerate(zip(row_type, columns)):
        arrays[index] = decode_column(
            str(meta.get("type", "text")), int(meta.get("scale") or 0), values
        )
    frame = pd.DataFrame(arrays)
    frame.columns = [str(meta.get("name", f"C{i}")) for i, meta in enumerate(row_type)]
    return frame


# -- the exchange ---------------------------------------------------------------------------


class StatementCall:
    """One statement through the SQL API on an ``HttpSession`` (see the module docstring)."""

    def __init__(self, session: HttpSession, body: dict[str, Any], timeout: float) -> None:
        self.session = session
        self.body = body
        self.timeout = timeout
        self.handle: str | None = None

    def run(self) -> pd.DataFrame:
        deadline = self.session.clock() + self.timeout + CANCEL_GRACE_SECONDS
        try:
            first = self._submit()
            while first is None:
                first = self._poll(deadline)
            return self._frame(first)
        except KeyboardInterrupt:
            self.cancel()
            raise

    def _check(self, response: Any, method: str, path: str) -> dict[str, Any] | None:
        """The body of a final answer; None while running (202); the error raised."""
        status = response.status_code
        if status in (200, 202, 408, 422):
            body = self.session.decode(response, f"{method} {path}")
            if not isinstance(body, dict):
                raise InvalidResponse(f"{method} {path}: expected a JSON object")
            handle = body.get("statementHandle")
            if isinstance(handle, str):
                try:
                    self.handle = str(uuid.UUID(handle))
                except ValueError:
                    raise InvalidResponse(
                        f"{method} {path}: statementHandle {handle[:80]!r} is not a UUID"
                    ) from None
            if status in (408, 422):
                code = str(body.get("code")) if body.get("code") is not None else None
                raise SqlError(
                    status,
                    code,
                    str(body.get("message") or "the statement failed"),
                    response.headers.get("X-Snowflake-Request-ID"),
                    sql_state=body.get("sqlState"),
                    statement_handle=self.handle,
                    method=method,
                    path=path,
                    hint=HINTS.get(code or ""),
                    body=body,
                )
            if status == 202:
                if self.handle is None:
                    raise InvalidResponse(f"{method} {path}: 202 without a statementHandle")
                return None
            return body
        raise self.session.error(response, method, path)

    def _submit(self) -> dict[str, Any] | None:
        params = {"requestId": str(uuid.uuid4())}
        for resend in range(SUBMIT_RESENDS + 1):
            try:
                # not "idempotent" for the request core: a 408 here is the statement's own
                # timeout (an answer, not a reason to retry)
                response = self.session.send(
                    "POST",
                    STATEMENTS_PATH,
                    params=params,
                    json_body=self.body,
                    idempotent=False,
                    describe=f"POST {STATEMENTS_PATH}",
                )
                break
            except RequestMayHaveBeenApplied:
                if resend == SUBMIT_RESENDS:
                    raise
                # the same requestId answers for the first submission: resending is safe
                logger.debug("resending statement (requestId %s)", params["requestId"])
        return self._check(response, "POST", STATEMENTS_PATH)

    def _status_path(self) -> str:
        return f"{STATEMENTS_PATH}/{self.handle}"

    def _get(self, partition: int | None = None) -> Any:
        path = self._status_path()
        params = None if partition is None else {"partition": str(partition)}
        return self.session.send(
            "GET", path, params=params, idempotent=True, describe=f"GET {path}"
        )

    def _poll(self, deadline: float) -> dict[str, Any] | None:
        wait = self.session.retry.poll_initial
        while True:
            remaining = deadline - self.session.clock()
            if remaining <= 0:
                self.cancel()
                raise ResultTimeout(
                    f"statement {self.handle} had not finished after {self.timeout:g} s; it "
                    "was cancelled (pass a longer timeout= to wait longer)"
                )
            self.session.sleep(min(wait, remaining))
            wait = min(wait * self.session.retry.poll_factor, self.session.retry.poll_cap)
            body = self._check(self._get(), "GET", self._status_path())
            if body is not None:
                return body

    def cancel(self) -> None:
        """Ask the server to stop the statement (quietly: the caller is already failing)."""
        if self.handle is None:
            return
        path = f"{self._status_path()}/cancel"
        try:
            self.session.send("POST", path, idempotent=True, describe=f"POST {path}")
        except Exception:  # a failed cancel must not hide the error that led to it
            logger.debug("cancelling statement %s failed", self.handle, exc_info=True)

    def _frame(self, first: dict[str, Any]) -> pd.DataFrame:
        meta = first.get("resultSetMetaData")
        if not isinstance(meta, dict) or not isinstance(meta.get("rowType"), list):
            raise InvalidResponse(f"statement {self.handle}: the answer has no rowType")
        rows = list(first.get("data") or [])
        partitions = meta.get("partitionInfo") or []
        if len(partitions) > 1:
            workers = min(MAX_PARTITION_FETCHES, len(partitions) - 1)
            with ThreadPoolExecutor(workers, thread_name_prefix="tasknb-sql") as pool:
                for data in pool.map(self._partition, range(1, len(partitions))):
                    rows.extend(data)
        expected = meta.get("numRows")
        if isinstance(expected, int) and expected != len(rows):
            raise InvalidResponse(
                f"statement {self.handle}: numRows is {expected} but {len(rows)} rows arrived "
                f"in {max(1, len(partitions))} partition(s); refusing a partial result"
            )
        frame = to_frame(meta["rowType"], rows)
        frame.attrs["statement_handle"] = self.handle
        return frame

    def _partition(self, number: int) -> list[list[str | None]]:
        response = self._get(number)
        body = self._check(response, "GET", self._status_path())
        data = body.get("data") if body else None
        if not isinstance(data, list):
            raise InvalidResponse(f"statement {self.handle}: partition {number} has no data")
        return data


def run_statement(
    session: HttpSession,
    statement: str,
    *,
    bindings: Sequence[Any] | None = None,
    database: str | None = None,
    schema: str | None = None,
    warehouse: str | None = None,
    role: str | None = None,
    timeout: float = DEFAULT_SQL_TIMEOUT,
) -> pd.DataFrame:
    """Run one statement through the SQL API and return its result as a DataFrame."""
    require("notebook", "client.sql()", ["pandas"])  # before sending: the answer needs pandas
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement must be a non-empty string of SQL")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    body: dict[str, Any] = {"statement": statement, "timeout": max(1, math.ceil(timeout))}
    for key, value in (("database", database), ("schema", schema), ("warehouse", warehouse),
                       ("role", role)):
        if value:
            body[key] = value
    if bindings is not None:
        body["bindings"] = to_bindings(bindings)
    return StatementCall(session, body, float(timeout)).run()
