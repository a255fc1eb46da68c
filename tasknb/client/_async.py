"""``AsyncResult``: a request the server is still running, polled through the request core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import TasknbError
from ._http import HttpSession, Pending


class AsyncResult:
    """A request the server is still running (``execute_task(..., async_exec=True)``).

    ``wait(timeout=None)`` polls until the final answer and returns it (or raises its
    error); ``done()`` polls once; ``handle`` is Snowflake's result handle. Build one with
    ``AsyncResult.running(session, pending, parse)`` or ``AsyncResult.finished(result)``.
    """

    def __init__(
        self,
        session: HttpSession | None,
        pending: Pending | None,
        parse: Callable[[Any], Any],
        *,
        result: Any = None,
        describe: str = "",
    ) -> None:
        if pending is not None and session is None:
            raise TypeError("a running AsyncResult needs the session that polls it")
        self._session = session
        self._pending = pending
        self._parse = parse
        self._result = result
        self._done = pending is None
        self._describe = describe

    @classmethod
    def running(
        cls,
        session: HttpSession,
        pending: Pending,
        parse: Callable[[Any], Any],
        *,
        describe: str = "",
    ) -> AsyncResult:
        """The result of a request answered ``202``: ``parse`` reads its final body."""
        return cls(session, pending, parse, describe=describe)

    @classmethod
    def finished(cls, result: Any, *, describe: str = "") -> AsyncResult:
        """A result that arrived at once (the server answered without a 202).

            >>> AsyncResult.finished("done", describe="execute DB.S.T").wait()
            'done'
        """
        return cls(None, None, lambda body: body, result=result, describe=describe)

    @property
    def handle(self) -> str | None:
        return self._pending.handle if self._pending else None

    @property
    def location(self) -> str | None:
        return self._pending.location if self._pending else None

    def done(self) -> bool:
        """Poll once; ``True`` when the final answer arrived (``result`` is then set)."""
        if self._done:
            return True
        assert self._session is not None and self._pending is not None
        finished, body = self._session.check(self._pending)
        if finished:
            self._set(body)
        return finished

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the request finished and return its result (``timeout`` in s)."""
        if not self._done:
            assert self._session is not None and self._pending is not None
            self._set(self._session.result_of(self._pending, timeout=timeout))
        return self._result

    @property
    def result(self) -> Any:
        if not self._done:
            raise TasknbError("the request is still running: call wait() first")
        return self._result

    def _set(self, body: Any) -> None:
        self._result = self._parse(body)
        self._done = True

    def __repr__(self) -> str:
        state = "done" if self._done else "running"
        return f"AsyncResult({self._describe}, handle={self.handle!r}, {state})"
